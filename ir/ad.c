/*
 * ad.c - automatic differentiation as IR-to-IR passes.
 *
 * Reverse mode is linearise-then-transpose, as in JAX (Frostig, Johnson,
 * Leary, Maclaurin, "Decomposing reverse-mode automatic differentiation",
 * 2021):
 *
 *   ad_linearize  copies the primal program and, after every instruction,
 *                 emits its tangent: the sum over operands of
 *                 partial_k * tangent_k, with the partials from rules.c.
 *                 Tangent instructions are marked `lin`; they are linear
 *                 in the input tangents and use only ADD, SUB, NEG, MUL
 *                 and DIV by a primal value.  This is f_jvp.
 *   ad_transpose  keeps the primal (non-lin) instructions as the forward
 *                 sweep, then walks the lin instructions backwards and
 *                 emits the transpose of each: the reverse sweep, with
 *                 adjoints ("cotangents") accumulated by adds.  This is
 *                 f_grad (or f_vjp).
 *
 * The adjoint code is ordinary primal IR, so linearising it again gives
 * forward-over-reverse Hessian-vector products (f_hvp), with the same
 * rules (Baydin et al., JMLR 2018, section 3.3).
 *
 * Zero tangents are symbolic (NOREF): a value that does not depend on an
 * active input has none, and no code is emitted for it.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* ---------------- linearisation ---------------- */

typedef struct {
    const Fn *f;
    Fn *g;
    Ref *map;  /* f value -> g value */
    Ref *tan;  /* f value -> g tangent, NOREF for zero */
    Emit e;
} Lin;

static Ref lin_inst(Lin *L, Region *r, Op op, Ref a, Ref b)
{
    L->e.r = r;
    Ref t = em(&L->e, op, a, b, NOREF);
    L->g->v.p[t].lin = 1;
    return t;
}

/* t * p, with p = 1 and p = -1 simplified. */
static Ref lin_scale(Lin *L, Region *r, Ref p, Ref t)
{
    if (p == NOREF || t == NOREF)
        return NOREF;
    if (ir_is_const(L->g, p, 1))
        return t;
    if (ir_is_const(L->g, p, -1))
        return lin_inst(L, r, OP_NEG, t, NOREF);
    return lin_inst(L, r, OP_MUL, t, p);
}

static Ref lin_add(Lin *L, Region *r, Ref a, Ref b)
{
    if (a == NOREF)
        return b;
    if (b == NOREF)
        return a;
    return lin_inst(L, r, OP_ADD, a, b);
}

static Ref lin_zero(Lin *L, Region *r)
{
    L->e.r = r;
    Ref z = em_const(&L->e, 0);
    L->g->v.p[z].lin = 1;
    return z;
}

static void lin_region(Lin *L, const Region *src, Region *dst);

static Ref copy_inst(Fn *g, Region *dst, const Inst *in, const Ref *map)
{
    Ref n = ir_emit(g, dst, (Op)in->op, in->ty, NOREF, NOREF, NOREF);
    Inst *x = &g->v.p[n];
    for (int k = 0; k < 3; k++)
        x->arg[k] = in->arg[k] == NOREF ? NOREF : map[in->arg[k]];
    x->k = in->k;
    x->name = in->name;
    x->line = in->line;
    x->acc = in->acc;
    x->rev = in->rev;
    return n;
}

/* if c { A } else { B }: the tangent program branches the same way; its
 * results are the primal results followed by the tangents of those
 * results that are nonzero on some side. */
static void lin_if(Lin *L, const Region *src, int at, Region *dst)
{
    const Fn *f = L->f;
    Ref id = src->ids.p[at];
    int nr = ir_nresults(f, src, at);
    const Inst *in = &f->v.p[id];
    Fn *g = L->g;
    Ref nif = ir_emit(g, dst, OP_IF, in->ty, L->map[in->arg[0]], NOREF, NOREF);
    g->v.p[nif].line = in->line;
    Region *side[2];
    for (int s = 0; s < 2; s++) {
        side[s] = ir_region_new(g, nif, s);
        g->v.p[nif].reg[s] = side[s];
        lin_region(L, in->reg[s], side[s]);
        for (int j = 0; j < in->reg[s]->yield.n; j++)
            vec_push(g->arena, &side[s]->yield, L->map[in->reg[s]->yield.p[j]]);
    }
    int nres = in->reg[0]->yield.n;
    int *tslot = arena_alloc(g->arena, sizeof(int) * (size_t)(nres + 1));
    int nt = 0;
    for (int j = 0; j < nres; j++) {
        Ref t0 = L->tan[in->reg[0]->yield.p[j]], t1 = L->tan[in->reg[1]->yield.p[j]];
        tslot[j] = -1;
        if (t0 == NOREF && t1 == NOREF)
            continue;
        tslot[j] = nres + nt++;
        vec_push(g->arena, &side[0]->yield, t0 != NOREF ? t0 : lin_zero(L, side[0]));
        vec_push(g->arena, &side[1]->yield, t1 != NOREF ? t1 : lin_zero(L, side[1]));
    }
    /* results: the old RESULTs follow the IF in its region */
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = (int)f->v.p[r].k;
        Ref pr = ir_emit(g, dst, OP_RESULT, f->v.p[r].ty, nif, NOREF, NOREF);
        g->v.p[pr].k = j;
        g->v.p[pr].name = f->v.p[r].name;
        g->v.p[pr].line = f->v.p[r].line;
        g->v.p[pr].lin = f->v.p[r].lin;
        L->map[r] = pr;
    }
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = (int)f->v.p[r].k;
        if (tslot[j] < 0)
            continue;
        Ref tr = ir_emit(g, dst, OP_RESULT, f->v.p[r].ty, nif, NOREF, NOREF);
        g->v.p[tr].k = tslot[j];
        g->v.p[tr].name = f->v.p[r].name;
        g->v.p[tr].line = f->v.p[r].line;
        g->v.p[tr].lin = 1;
        L->tan[r] = tr;
    }
}

static void lin_region(Lin *L, const Region *src, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    for (int i = 0; i < src->ids.n; i++) {
        Ref id = src->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_RESULT)
            continue; /* made by lin_if */
        if (in->op == OP_IF) {
            lin_if(L, src, i, dst);
            continue;
        }
        if (in->op == OP_PARAM) {
            L->map[id] = ir_param(g, dst, (int)in->k);
            L->tan[id] = NOREF;
            continue;
        }
        Ref y = copy_inst(g, dst, in, L->map);
        Ref t = NOREF;
        if (rule_has((Op)in->op)) {
            L->e.r = dst;
            L->e.line = in->line;
            Ref args[3] = {NOREF, NOREF, NOREF};
            for (int k = 0; k < op_info[in->op].nargs; k++)
                args[k] = L->map[in->arg[k]];
            for (int k = 0; k < op_info[in->op].nargs; k++) {
                Ref tk = L->tan[in->arg[k]];
                if (tk == NOREF)
                    continue;
                L->e.r = dst;
                Ref p = rule_partial(&L->e, in, args, y, k);
                t = lin_add(L, dst, t, lin_scale(L, dst, p, tk));
            }
        }
        if (t != NOREF && !g->v.p[t].name)
            g->v.p[t].name = in->name;
        L->map[id] = y;
        L->tan[id] = t;
    }
}

static const char *suffixed(Arena *a, const char *name, const char *suffix)
{
    return arena_printf(a, "%s%s", name ? name : "out", suffix);
}

/* A new entry point derived from f, and a value map over f filled with
 * NOREF. */
static Fn *derived(const Fn *f, const char *name, FnKind kind)
{
    Fn *g = ir_fn_new(f->arena, name, kind);
    g->src_name = f->src_name;
    g->src = f->src;
    g->line = f->line;
    return g;
}

static Ref *ref_map(const Fn *f)
{
    Ref *m = arena_alloc(f->arena, sizeof(Ref) * (size_t)(f->v.n + 1));
    for (int i = 0; i < f->v.n; i++)
        m[i] = NOREF;
    return m;
}

Fn *ad_linearize(const Fn *f, const char *name, FnKind kind)
{
    Arena *A = f->arena;
    Lin L = {0};
    L.f = f;
    L.g = derived(f, name, kind);
    L.e.g = L.g;
    L.map = ref_map(f);
    L.tan = ref_map(f);
    int nin = f->in.n;
    for (int i = 0; i < nin; i++)
        vec_push(A, &L.g->in, f->in.p[i]);
    /* one tangent input per active parameter */
    Ref *tparam = arena_alloc(A, sizeof(Ref) * (size_t)(nin + 1));
    for (int i = 0; i < nin; i++) {
        tparam[i] = NOREF;
        if (f->in.p[i].role != IN_PARAM || f->in.p[i].is_data)
            continue;
        Input t = f->in.p[i];
        t.role = IN_TANGENT;
        t.of = i;
        t.name = suffixed(A, f->in.p[i].name, "_dot");
        vec_push(A, &L.g->in, t);
        tparam[i] = L.g->in.n - 1;
    }
    /* parameters first, with their tangents */
    for (int i = 0; i < f->body->ids.n; i++) {
        Ref id = f->body->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op != OP_PARAM)
            continue;
        int k = (int)in->k;
        L.map[id] = ir_param(L.g, L.g->body, k);
        L.g->v.p[L.map[id]].line = in->line;
        if (tparam[k] != NOREF) {
            Ref t = ir_param(L.g, L.g->body, tparam[k]);
            L.g->v.p[t].lin = 1;
            L.g->v.p[t].name = f->in.p[k].name;
            L.tan[id] = t;
        }
    }
    Region rest = *f->body;
    Region body = {0};
    for (int i = 0; i < rest.ids.n; i++)
        if (f->v.p[rest.ids.p[i]].op != OP_PARAM)
            vec_push(A, &body.ids, rest.ids.p[i]);
    lin_region(&L, &body, L.g->body);
    /* outputs: the primal outputs, then their tangents */
    for (int i = 0; i < f->out.n; i++) {
        Output o = f->out.p[i];
        o.ref = L.map[o.ref];
        vec_push(A, &L.g->out, o);
    }
    for (int i = 0; i < f->out.n; i++) {
        Output o = f->out.p[i];
        Ref t = L.tan[o.ref];
        o.ref = t != NOREF ? t : lin_zero(&L, L.g->body);
        o.role = o.ty.rank ? OUT_ARRAY : OUT_BAR;
        o.name = suffixed(A, o.name, "_dot");
        vec_push(A, &L.g->out, o);
    }
    return L.g;
}

/* ---------------- transposition ---------------- */

typedef struct {
    const Fn *g;   /* linearized input */
    Fn *h;         /* adjoint output */
    Ref *map;      /* g non-lin value -> h value */
    Ref *ct;       /* g lin value -> h cotangent, NOREF for zero */
    VEC(Ref) touched; /* every x whose ct changed, in order (rev_if reads it) */
    unsigned *stamp;  /* rev_if: dedupes touched entries */
    unsigned nstamp;
    Emit e;
} Tr;

static void fwd_region(Tr *T, const Region *src, Region *dst);

static void fwd_if(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Ref id = src->ids.p[at];
    int nr = ir_nresults(g, src, at);
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    Ref nif = ir_emit(h, dst, OP_IF, in->ty, T->map[in->arg[0]], NOREF, NOREF);
    h->v.p[nif].line = in->line;
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(h, nif, s);
        h->v.p[nif].reg[s] = r;
        fwd_region(T, in->reg[s], r);
    }
    int n = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (g->v.p[r].lin)
            continue;
        int j = (int)g->v.p[r].k;
        for (int s = 0; s < 2; s++)
            vec_push(h->arena, &h->v.p[nif].reg[s]->yield, T->map[in->reg[s]->yield.p[j]]);
        Ref pr = ir_emit(h, dst, OP_RESULT, g->v.p[r].ty, nif, NOREF, NOREF);
        h->v.p[pr].k = n++;
        h->v.p[pr].name = g->v.p[r].name;
        h->v.p[pr].line = g->v.p[r].line;
        T->map[r] = pr;
    }
}

static void fwd_region(Tr *T, const Region *src, Region *dst)
{
    for (int i = 0; i < src->ids.n; i++) {
        Ref id = src->ids.p[i];
        const Inst *in = &T->g->v.p[id];
        if (in->lin || in->op == OP_RESULT)
            continue;
        if (in->op == OP_IF)
            fwd_if(T, src, i, dst);
        else
            T->map[id] = copy_inst(T->h, dst, in, T->map);
    }
}

static const char *bar_name(Tr *T, Ref x)
{
    const char *n = T->g->v.p[x].name;
    return n ? arena_printf(T->h->arena, "%s_bar", n) : NULL;
}

/* ct[x] += v.  `fresh`: v was made for x alone and may take its name. */
static void accum(Tr *T, Region *r, Ref x, Ref v, int fresh)
{
    if (v == NOREF)
        return;
    Fn *h = T->h;
    vec_push(h->arena, &T->touched, x);
    if (T->ct[x] == NOREF) {
        if (fresh && !h->v.p[v].name)
            h->v.p[v].name = bar_name(T, x);
        T->ct[x] = v;
        return;
    }
    T->e.r = r;
    Ref s = em(&T->e, OP_ADD, T->ct[x], v, NOREF);
    h->v.p[s].acc = 1;
    h->v.p[s].name = bar_name(T, x);
    T->ct[x] = s;
}

static void rev_region(Tr *T, const Region *src, Region *dst);

/* Is value x defined inside region r (at any depth)? */
static int inside(const Fn *g, Ref x, const Region *r)
{
    for (const Region *p = g->v.p[x].parent; p; ) {
        if (p == r)
            return 1;
        if (p->owner == NOREF)
            return 0;
        p = g->v.p[p->owner].parent;
    }
    return 0;
}

/* The adjoint of `if c { A } else { B }` is `if c { A' } else { B' }`,
 * where A' is A's reverse sweep; the cotangents it changes of values
 * defined before the if become the results of the adjoint if. */
static void rev_if(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Ref id = src->ids.p[at];
    int nr = ir_nresults(g, src, at);
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    int any = 0;
    for (int q = 0; q < nr; q++)
        if (g->v.p[src->ids.p[at + 1 + q]].lin && T->ct[src->ids.p[at + 1 + q]] != NOREF)
            any = 1;
    if (!any)
        return;
    size_t nb = sizeof(Ref) * (size_t)g->v.n;
    Ref *saved = arena_alloc(h->arena, nb);
    Ref *after[2];
    memcpy(saved, T->ct, nb);
    int mark = T->touched.n;
    Ref nif = ir_emit(h, dst, OP_IF, ty_scalar(), T->map[in->arg[0]], NOREF, NOREF);
    h->v.p[nif].line = in->line;
    h->v.p[nif].rev = 1;
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(h, nif, s);
        h->v.p[nif].reg[s] = r;
        memcpy(T->ct, saved, nb);
        for (int qi = 0; qi < nr; qi++) {
            Ref q = src->ids.p[at + 1 + qi];
            if (!g->v.p[q].lin || saved[q] == NOREF)
                continue;
            T->e.line = g->v.p[q].line;
            accum(T, r, in->reg[s]->yield.p[(int)g->v.p[q].k], saved[q], 0);
        }
        rev_region(T, in->reg[s], r);
        after[s] = arena_alloc(h->arena, nb);
        memcpy(after[s], T->ct, nb);
    }
    memcpy(T->ct, saved, nb);
    /* the values defined before the if whose cotangent a branch changed,
     * in the order of their first change */
    VEC(Ref) changed = {0};
    unsigned stamp = ++T->nstamp;
    for (int i = mark; i < T->touched.n; i++) {
        Ref x = T->touched.p[i];
        if (T->stamp[x] == stamp)
            continue;
        T->stamp[x] = stamp;
        if (inside(g, x, in->reg[0]) || inside(g, x, in->reg[1]))
            continue;
        if (after[0][x] == saved[x] && after[1][x] == saved[x])
            continue;
        vec_push(h->arena, &changed, x);
    }
    int n = 0;
    for (int i = 0; i < changed.n; i++) {
        Ref x = changed.p[i];
        T->e.line = in->line;
        for (int s = 0; s < 2; s++) {
            Ref v = after[s][x];
            if (v == NOREF) {
                T->e.r = h->v.p[nif].reg[s];
                v = em_const(&T->e, 0);
            }
            vec_push(h->arena, &h->v.p[nif].reg[s]->yield, v);
        }
        Ref res = ir_emit(h, dst, OP_RESULT, ty_scalar(), nif, NOREF, NOREF);
        h->v.p[res].k = n++;
        h->v.p[res].name = bar_name(T, x);
        h->v.p[res].line = in->line;
        h->v.p[res].rev = 1;
        T->ct[x] = res;
    }
}

static void rev_region(Tr *T, const Region *src, Region *dst)
{
    const Fn *g = T->g;
    for (int i = src->ids.n - 1; i >= 0; i--) {
        Ref id = src->ids.p[i];
        const Inst *in = &g->v.p[id];
        if (in->op == OP_IF) {
            rev_if(T, src, i, dst);
            continue;
        }
        if (!in->lin || T->ct[id] == NOREF)
            continue;
        Ref ct = T->ct[id];
        Ref a = in->arg[0], b = in->arg[1];
        T->e.r = dst;
        T->e.line = in->line;
        switch ((Op)in->op) {
        case OP_CONST:
        case OP_PARAM:
        case OP_RESULT:
            break;
        case OP_ADD:
            accum(T, dst, a, ct, 0);
            accum(T, dst, b, ct, 0);
            break;
        case OP_SUB:
            accum(T, dst, a, ct, 0);
            accum(T, dst, b, em(&T->e, OP_NEG, ct, NOREF, NOREF), 1);
            break;
        case OP_NEG:
            accum(T, dst, a, em(&T->e, OP_NEG, ct, NOREF, NOREF), 1);
            break;
        case OP_MUL: /* t * p or p * t, with p a primal value */
            if (g->v.p[a].lin)
                accum(T, dst, a, em(&T->e, OP_MUL, ct, T->map[b], NOREF), 1);
            else
                accum(T, dst, b, em(&T->e, OP_MUL, ct, T->map[a], NOREF), 1);
            break;
        case OP_DIV:
            accum(T, dst, a, em(&T->e, OP_DIV, ct, T->map[b], NOREF), 1);
            break;
        default:
            BUG("ad_transpose: a linear instruction without a transpose rule");
        }
    }
}

Fn *ad_transpose(const Fn *g, const char *name, FnKind kind)
{
    Arena *A = g->arena;
    Tr T = {0};
    T.g = g;
    T.h = derived(g, name, kind);
    T.e.g = T.h;
    T.map = ref_map(g);
    T.ct = ref_map(g);
    T.stamp = arena_alloc(A, sizeof(unsigned) * (size_t)(g->v.n + 1));
    /* inputs: everything but the tangents keeps its index */
    for (int i = 0; i < g->in.n; i++)
        if (g->in.p[i].role != IN_TANGENT)
            vec_push(A, &T.h->in, g->in.p[i]);
    ASSERT(g->out.n == 2);
    Output prim = g->out.p[0], tout = g->out.p[1];
    Ref seed;
    fwd_region(&T, g->body, T.h->body);
    T.e.r = T.h->body;
    T.e.line = 0;
    if (prim.ty.rank == 0) {
        seed = em_const(&T.e, 1);
    } else {
        Input s = {.name = "out_bar", .ty = prim.ty, .role = IN_SEED};
        vec_push(A, &T.h->in, s);
        seed = ir_param(T.h, T.h->body, T.h->in.n - 1);
    }
    if (g->v.p[tout.ref].lin)
        T.ct[tout.ref] = seed;
    T.e.rev = 1;
    rev_region(&T, g->body, T.h->body);
    prim.ref = T.map[prim.ref];
    vec_push(A, &T.h->out, prim);
    for (int i = 0; i < g->body->ids.n; i++) {
        Ref id = g->body->ids.p[i];
        const Inst *in = &g->v.p[id];
        if (in->op != OP_PARAM || g->in.p[(int)in->k].role != IN_TANGENT)
            continue;
        const Input *ti = &g->in.p[(int)in->k];
        Output o = {0};
        o.name = suffixed(A, g->in.p[ti->of].name, "_bar");
        o.ty = ti->ty;
        o.role = OUT_BAR;
        o.of = ti->of;
        T.e.r = T.h->body;
        o.ref = T.ct[id] != NOREF ? T.ct[id] : em_const(&T.e, 0);
        vec_push(A, &T.h->out, o);
    }
    return T.h;
}

/* ---------------- the pipeline for one function ---------------- */

/* Array operations the AD passes do not handle yet (work in progress:
 * until then only the primal is emitted for such functions). */
static int ad_supported(const Fn *f)
{
    for (int i = 0; i < f->v.n; i++)
        if (f->v.p[i].ty.rank || f->v.p[i].op == OP_GEN || f->v.p[i].op == OP_RED ||
            f->v.p[i].op == OP_IDX || f->v.p[i].op == OP_LIT || f->v.p[i].op == OP_IREAL)
            return 0;
    return 1;
}

void ad_unit(Unit *u)
{
    Fn *f = u->primal;
    Arena *A = f->arena;
    int array = f->out.p[0].ty.rank > 0;
    opt_all(f);
    ir_verify(f);
    if (!ad_supported(f))
        return;

    Fn *lin = ad_linearize(f, arena_printf(A, "%s_jvp", f->name), FN_JVP);
    ir_verify(lin);
    opt_all(lin);
    u->jvp = lin;

    if (getenv("DX_DUMP"))
        ir_print(lin, stderr);
    Fn *grad = ad_transpose(lin, arena_printf(A, "%s_%s", f->name, array ? "vjp" : "grad"),
                            array ? FN_VJP : FN_GRAD);
    if (getenv("DX_DUMP"))
        ir_print(grad, stderr);
    ir_verify(grad);
    opt_all(grad);
    u->grad = grad;

    if (!array) {
        /* forward over reverse: the tangents of the gradient outputs */
        Fn *h = ad_linearize(grad, arena_printf(A, "%s_hvp", f->name), FN_HVP);
        int nb = grad->out.n - 1;
        VEC(Output) outs = {0};
        vec_push(A, &outs, h->out.p[0]);
        for (int i = 0; i < nb; i++) {
            Output o = h->out.p[grad->out.n + 1 + i];
            o.name = suffixed(A, f->in.p[o.of].name, "_hv");
            o.role = OUT_BAR;
            vec_push(A, &outs, o);
        }
        h->out.p = outs.p;
        h->out.n = outs.n;
        h->out.cap = outs.cap;
        ir_verify(h);
        opt_all(h);
        u->hvp = h;
    }
}
