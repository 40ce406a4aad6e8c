/*
 * linearize.c - forward mode as an IR-to-IR pass (ad_linearize): after
 * every primal instruction, its tangent, the sum over operands of
 * partial_k * tangent_k with the partials of rules.c.  Tangent
 * instructions are marked `lin`; they are linear in the input tangents
 * and use only ADD, SUB, NEG, MUL and DIV by a primal value.  The result
 * is f_jvp, the input of the transposition (ad.c) that gives f_grad, and,
 * applied to f_grad, f_hvp.  Also the copying helpers both passes share.
 */
#include "adjoint.h"

#include <ctype.h>
#include <string.h>

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

/* A zero tangent shaped like f's value x. */
static Ref lin_zero_like(Lin *L, Region *r, Ref x)
{
    Type t = L->f->v.p[x].ty;
    if (!t.rank)
        return lin_zero(L, r);
    Ref z = ir_emit(L->g, r, OP_ZEROS, t, NOREF, NOREF, NOREF);
    L->g->v.p[z].lin = 1;
    return z;
}

/* A partial derivative that a rule built for a one-argument function
 * (tanh, relu, ...) is named after it, d<f> ("drelu"): the generated code
 * then reads h_bar[i] * drelu[i], relu's slope kept by the forward pass. */
static void name_partial(Fn *g, const Inst *in, Ref p, int before)
{
    if (p == NOREF || p < before || g->v.p[p].name || g->v.p[p].op == OP_CONST ||
        op_info[in->op].kind != K_MATH || op_info[in->op].nargs != 1 || in->op == OP_POWI ||
        in->op == OP_SIGN)
        return;
    const char *n = op_info[in->op == OP_SQRTZ ? OP_SQRT : in->op].name;
    char *s = arena_printf(g->arena, "d%s", n);
    for (char *c = s; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    g->v.p[p].name = s;
}

static void lin_region(Lin *L, const Region *src, Region *dst);
Ref ad_copy_inst(Fn *g, Region *dst, const Inst *in, const Ref *map);

/* IDX, LIT, ZEROS, ACC: the primal copy and the same op on tangents. */
static void lin_array_op(Lin *L, const Inst *in, Ref id, Region *dst)
{
    Fn *g = L->g;
    Ref y = ad_copy_inst(g, dst, in, L->map);
    Ref t = NOREF;
    switch (in->op) {
    case OP_IDX:
        if (L->tan[in->arg[0]] != NOREF) {
            t = ad_copy_inst(g, dst, in, L->map);
            g->v.p[t].arg[0] = L->tan[in->arg[0]];
        }
        break;
    case OP_LIT: {
        int any = 0;
        for (int j = 0; j < in->nix; j++)
            any |= L->tan[in->list[j]] != NOREF;
        if (!any)
            break;
        Ref *el = arena_alloc(g->arena, sizeof(Ref) * (size_t)(in->nix + 1));
        for (int j = 0; j < in->nix; j++) {
            Ref tj = L->tan[in->list[j]];
            el[j] = tj != NOREF ? tj : lin_zero(L, dst);
        }
        t = ad_copy_inst(g, dst, in, L->map);
        g->v.p[t].list = el;
        break;
    }
    case OP_ZEROS:
        t = ad_copy_inst(g, dst, in, L->map);
        g->v.p[t].k = 0;
        break;
    case OP_ACC:
        if (L->tan[in->arg[0]] != NOREF && L->tan[in->arg[1]] != NOREF) {
            t = ad_copy_inst(g, dst, in, L->map);
            g->v.p[t].arg[0] = L->tan[in->arg[0]];
            g->v.p[t].arg[1] = L->tan[in->arg[1]];
        }
        break;
    default:
        BUG("lin_array_op");
    }
    if (t != NOREF)
        g->v.p[t].lin = 1;
    L->map[id] = y;
    L->tan[id] = t;
}

/* Copies the index data of `in` to the new instruction x, through map. */
static void copy_index_data(Fn *g, Inst *x, const Inst *in, const Ref *map)
{
    x->nix = in->nix;
    int na = ir_naffs(in);
    if (na) {
        x->ix = arena_alloc(g->arena, sizeof(Aff) * (size_t)na);
        for (int j = 0; j < na; j++)
            x->ix[j] = aff_remap(g->arena, in->ix[j], map);
    }
    if (in->op == OP_LIT) {
        x->list = arena_alloc(g->arena, sizeof(Ref) * (size_t)(in->nix + 1));
        for (int j = 0; j < in->nix; j++)
            x->list[j] = map[in->list[j]];
    }
}

Ref ad_copy_inst(Fn *g, Region *dst, const Inst *in, const Ref *map)
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
    x->tape = in->tape;
    copy_index_data(g, x, in, map);
    return n;
}

/* A new GEN/RED/LOOP in g like f's `id`, its bounds remapped and its
 * IVARs mapped to the new ones. */
Ref ad_clone_loop_head(const Fn *f, Ref id, Fn *g, Region *dst, Ref *map)
{
    const Inst *in = &f->v.p[id];
    int nv = ir_nivars(f, id);
    Ref n = ir_loop_new(g, dst, (Op)in->op, in->ty, nv);
    Inst *x = &g->v.p[n];
    x->k = in->k;
    x->line = in->line;
    x->name = in->name;
    for (int j = 0; j < ir_naffs(in); j++)
        x->ix[j] = aff_remap(g->arena, in->ix[j], map);
    for (int d = 0; d < nv; d++) {
        Ref old = ir_ivar(f, id, d), nw = ir_ivar(g, n, d);
        map[old] = nw;
        g->v.p[nw].name = f->v.p[old].name;
    }
    return n;
}

/* The affine index list [iv_0, ..., iv_{n-1}] of a loop's IVARs in g. */
Aff *ad_ivar_index(Fn *g, Ref loop)
{
    int nv = ir_nivars(g, loop);
    Aff *ix = arena_alloc(g->arena, sizeof(Aff) * (size_t)(nv + 1));
    for (int d = 0; d < nv; d++)
        ix[d] = aff_var(g->arena, ir_ivar(g, loop, d));
    return ix;
}

Ref ad_idx(Emit *e, Ref arr, Aff *ix, int nix)
{
    Ref r = ir_emit(e->g, e->r, OP_IDX, ty_scalar(), arr, NOREF, NOREF);
    Inst *x = &e->g->v.p[r];
    x->nix = nix;
    x->ix = ix;
    x->line = e->line;
    x->rev = (uint8_t)e->rev;
    return r;
}

/* Element `flat` of an array of type t, as constant indices. */
Aff *ad_flat_index(Arena *a, Type t, long flat)
{
    Aff *ix = arena_alloc(a, sizeof(Aff) * (size_t)(t.rank + 1));
    for (int d = t.rank - 1; d >= 0; d--) {
        ix[d] = aff_const(a, (int32_t)(flat % t.dim[d]));
        flat /= t.dim[d];
    }
    return ix;
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
        vec_push(g->arena, &side[0]->yield, t0 != NOREF ? t0 : lin_zero_like(L, side[0], in->reg[0]->yield.p[j]));
        vec_push(g->arena, &side[1]->yield, t1 != NOREF ? t1 : lin_zero_like(L, side[1], in->reg[1]->yield.p[j]));
    }
    /* results: the old RESULTs follow the IF in its region */
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = (int)f->v.p[r].k;
        Ref pr = ad_result(g, dst, nif, j, &f->v.p[r]);
        g->v.p[pr].lin = f->v.p[r].lin;
        L->map[r] = pr;
    }
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = (int)f->v.p[r].k;
        if (tslot[j] < 0)
            continue;
        Ref tr = ad_result(g, dst, nif, tslot[j], &f->v.p[r]);
        g->v.p[tr].lin = 1;
        L->tan[r] = tr;
    }
}

/* Emits the RESULTs of a linearised loop `n` for f's loop at src[at]:
 * the primal results, then a lin result for each yield j with a tangent
 * (tslot[j] >= 0: its yield index). */
static void loop_results(Lin *L, const Region *src, int at, Ref n, const int *tslot)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    int nr = ir_nresults(f, src, at);
    for (int pass = 0; pass < 2; pass++)
        for (int q = 0; q < nr; q++) {
            Ref r = src->ids.p[at + 1 + q];
            int j = (int)f->v.p[r].k;
            if (pass == 1 && (!tslot || tslot[j] < 0))
                continue;
            Ref nr_ = ad_result(g, g->v.p[n].parent, n, pass ? tslot[j] : j, &f->v.p[r]);
            g->v.p[nr_].lin = (uint8_t)pass;
            if (pass)
                L->tan[r] = nr_;
            else
                L->map[r] = nr_;
        }
}

/* A linearised copy of f's loop `id` in dst with its body; returns it. */
static Ref lin_loop_copy(Lin *L, Ref id, Region *dst, RedKind kind)
{
    Ref n = ad_clone_loop_head(L->f, id, L->g, dst, L->map);
    if (L->f->v.p[id].op == OP_RED)
        L->g->v.p[n].k = kind;
    lin_region(L, L->f->v.p[id].reg[0], L->g->v.p[n].reg[0]);
    return n;
}

/* max/min reductions: the tangent is the mean of the tangents of the
 * elements equal to the extremum (the spec's tie rule), a second pass
 * over the same range: sum(t_j [x_j == m]) / sum([x_j == m]).
 * prod: d(prod x) = sum_j t_j prod_{k != j} x_k, exact with zeros
 * (O(n^2); prod is for short ranges). */
static void lin_red_other(Lin *L, const Region *src, int at, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    Ref id = src->ids.p[at];
    const Inst *in = &f->v.p[id];
    ASSERT(in->reg[0]->yield.n == 1);
    Ref y = in->reg[0]->yield.p[0];
    Ref n1 = lin_loop_copy(L, id, dst, (RedKind)in->k);
    vec_push(g->arena, &g->v.p[n1].reg[0]->yield, L->map[y]);
    loop_results(L, src, at, n1, NULL);
    if (L->tan[y] == NOREF || ir_nresults(f, src, at) == 0)
        return;
    Ref res = src->ids.p[at + 1];
    Ref m = L->map[res];
    Ref n2 = lin_loop_copy(L, id, dst, RK_SUM);
    Region *b2 = g->v.p[n2].reg[0];
    L->e.r = b2;
    L->e.line = in->line;
    Ref x = L->map[y], t = L->tan[y];
    if (in->k == RK_PROD) {
        Ref j2 = ir_ivar(g, n2, 0);
        Ref n3 = lin_loop_copy(L, id, b2, RK_PROD);
        Region *b3 = g->v.p[n3].reg[0];
        L->e.r = b3;
        Ref ik = ir_emit(g, b3, OP_IREAL, ty_scalar(), NOREF, NOREF, NOREF);
        g->v.p[ik].ix = arena_alloc(g->arena, sizeof(Aff));
        g->v.p[ik].ix[0] = aff_var(g->arena, ir_ivar(g, n3, 0));
        Ref ij = ir_emit(g, b3, OP_IREAL, ty_scalar(), NOREF, NOREF, NOREF);
        g->v.p[ij].ix = arena_alloc(g->arena, sizeof(Aff));
        g->v.p[ij].ix[0] = aff_var(g->arena, j2);
        Ref same = em(&L->e, OP_EQ, ik, ij, NOREF);
        vec_push(g->arena, &b3->yield, em(&L->e, OP_SELECT, same, em_const(&L->e, 1), L->map[y]));
        Ref q = ir_emit(g, b2, OP_RESULT, ty_scalar(), n3, NOREF, NOREF);
        vec_push(g->arena, &b2->yield, lin_scale(L, b2, q, t));
        int tslot[1] = {0};
        Ref sr = ir_emit(g, dst, OP_RESULT, ty_scalar(), n2, NOREF, NOREF);
        (void)tslot;
        g->v.p[sr].lin = 1;
        g->v.p[sr].line = in->line;
        L->tan[res] = sr;
        return;
    }
    Ref hit = em(&L->e, OP_EQ, x, m, NOREF);
    Ref mask = em(&L->e, OP_SELECT, hit, em_const(&L->e, 1), em_const(&L->e, 0));
    vec_push(g->arena, &b2->yield, lin_scale(L, b2, mask, t));
    vec_push(g->arena, &b2->yield, mask);
    Ref num = ir_emit(g, dst, OP_RESULT, ty_scalar(), n2, NOREF, NOREF);
    g->v.p[num].lin = 1;
    g->v.p[num].line = in->line;
    Ref cnt = ir_emit(g, dst, OP_RESULT, ty_scalar(), n2, NOREF, NOREF);
    g->v.p[cnt].k = 1;
    g->v.p[cnt].line = in->line;
    L->e.r = dst;
    L->tan[res] = lin_inst(L, dst, OP_DIV, num, cnt);
}

/* for: the tangent loop carries the primal values and the tangents of the
 * active ones.  A carried value is active if its initial value has a
 * tangent or its next value gets one from an active value: found by
 * linearising the body again until the active set stops growing. */
static void lin_for(Lin *L, const Region *src, int at, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    Ref id = src->ids.p[at];
    const Inst *in = &f->v.p[id];
    const Region *sb = in->reg[0];
    int nix = in->nix;
    unsigned char *act = arena_alloc(g->arena, (size_t)nix + 1);
    for (int j = 0; j < nix; j++)
        act[j] = L->tan[in->list[j]] != NOREF;
    int start = dst->ids.n;
    for (;;) {
        dst->ids.n = start; /* drop the previous attempt */
        int nact = 0;
        Ref *init = arena_alloc(g->arena, sizeof(Ref) * (size_t)(2 * nix + 1));
        for (int j = 0; j < nix; j++)
            init[j] = L->map[in->list[j]];
        for (int j = 0; j < nix; j++)
            if (act[j]) {
                Ref t = L->tan[in->list[j]];
                init[nix + nact++] = t != NOREF ? t : lin_zero_like(L, dst, in->list[j]);
            }
        Ref n = ir_for_new(g, dst, in->ix[0].c, in->ix[1].c, nix + nact, init);
        g->v.p[n].line = in->line;
        g->v.p[n].k = in->k;
        g->v.p[n].rev = in->rev;
        Region *b = g->v.p[n].reg[0];
        L->map[sb->ids.p[0]] = b->ids.p[0];
        g->v.p[b->ids.p[0]].name = f->v.p[sb->ids.p[0]].name;
        for (int j = 0, t = 0; j < nix; j++) {
            Ref c = ir_carry(f, id, j);
            L->map[c] = ir_carry(g, n, j);
            g->v.p[L->map[c]].name = f->v.p[c].name;
            g->v.p[L->map[c]].line = f->v.p[c].line;
            L->tan[c] = NOREF;
            if (act[j]) {
                Ref tc = ir_carry(g, n, nix + t++);
                g->v.p[tc].lin = 1;
                g->v.p[tc].name = f->v.p[c].name;
                L->tan[c] = tc;
            }
        }
        lin_region(L, sb, b);
        int grew = 0;
        for (int j = 0; j < nix; j++)
            if (!act[j] && L->tan[sb->yield.p[j]] != NOREF)
                act[j] = grew = 1;
        if (grew)
            continue;
        for (int j = 0; j < nix; j++)
            vec_push(g->arena, &b->yield, L->map[sb->yield.p[j]]);
        for (int j = 0; j < nix; j++)
            if (act[j]) {
                Ref t = L->tan[sb->yield.p[j]];
                vec_push(g->arena, &b->yield, t != NOREF ? t : lin_zero_like(L, b, sb->yield.p[j]));
            }
        int *tslot = arena_alloc(g->arena, sizeof(int) * (size_t)(nix + 1));
        for (int j = 0, t = 0; j < nix; j++)
            tslot[j] = act[j] ? nix + t++ : -1;
        loop_results(L, src, at, n, tslot);
        return;
    }
}

/* GEN, sum RED, LOOP: one loop computing the primal yields and their
 * tangents. */
static void lin_loop(Lin *L, const Region *src, int at, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    Ref id = src->ids.p[at];
    const Inst *in = &f->v.p[id];
    if (in->op == OP_RED && in->k != RK_SUM) {
        lin_red_other(L, src, at, dst);
        return;
    }
    Ref n = lin_loop_copy(L, id, dst, RK_SUM);
    Region *b = g->v.p[n].reg[0];
    const Region *sb = in->reg[0];
    int ny = sb->yield.n, nt = 0;
    int *tslot = arena_alloc(g->arena, sizeof(int) * (size_t)(ny + 1));
    for (int j = 0; j < ny; j++)
        vec_push(g->arena, &b->yield, L->map[sb->yield.p[j]]);
    for (int j = 0; j < ny; j++) {
        Ref t = L->tan[sb->yield.p[j]];
        tslot[j] = -1;
        if (t == NOREF)
            continue;
        tslot[j] = ny + nt++;
        vec_push(g->arena, &b->yield, t);
    }
    loop_results(L, src, at, n, tslot);
}

static void lin_region(Lin *L, const Region *src, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    for (int i = 0; i < src->ids.n; i++) {
        Ref id = src->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_RESULT || in->op == OP_IVAR || in->op == OP_CARRY)
            continue; /* made by lin_if, lin_loop, lin_for */
        if (in->op == OP_FOR) {
            lin_for(L, src, i, dst);
            continue;
        }
        if (in->op == OP_IF) {
            lin_if(L, src, i, dst);
            continue;
        }
        if (ir_is_loop(in)) {
            lin_loop(L, src, i, dst);
            continue;
        }
        if (in->op == OP_IDX || in->op == OP_LIT || in->op == OP_ZEROS || in->op == OP_ACC) {
            lin_array_op(L, in, id, dst);
            continue;
        }
        if (in->op == OP_PARAM) {
            L->map[id] = ir_param(g, dst, (int)in->k);
            L->tan[id] = NOREF;
            continue;
        }
        Ref y = ad_copy_inst(g, dst, in, L->map);
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
                int before = g->v.n;
                Ref p = rule_partial(&L->e, in, args, y, k);
                name_partial(g, in, p, before);
                t = lin_add(L, dst, t, lin_scale(L, dst, p, tk));
            }
        }
        if (t != NOREF && !g->v.p[t].name)
            g->v.p[t].name = in->name;
        L->map[id] = y;
        L->tan[id] = t;
    }
}

const char *ad_suffixed(Arena *a, const char *name, const char *suffix)
{
    return arena_printf(a, "%s%s", name ? name : "out", suffix);
}

/* A new entry point derived from f, and a value map over f filled with
 * NOREF. */
Fn *ad_derived(const Fn *f, const char *name, FnKind kind)
{
    Fn *g = ir_fn_new(f->arena, name, kind);
    g->src_name = f->src_name;
    g->src = f->src;
    g->line = f->line;
    return g;
}

Ref *ad_ref_map(const Fn *f)
{
    Ref *m = arena_alloc(f->arena, sizeof(Ref) * (size_t)(f->v.n + 1));
    for (int i = 0; i < f->v.n; i++)
        m[i] = NOREF;
    return m;
}

/* RESULT k of `owner` (in h, appended to dst), typed, named and placed
 * like `from`, the value of another function it stands for. */
Ref ad_result(Fn *h, Region *dst, Ref owner, int k, const Inst *from)
{
    Ref r = ir_emit(h, dst, OP_RESULT, from->ty, owner, NOREF, NOREF);
    h->v.p[r].k = k;
    h->v.p[r].name = from->name;
    h->v.p[r].line = from->line;
    return r;
}

Fn *ad_linearize(const Fn *f, const char *name, FnKind kind)
{
    Arena *A = f->arena;
    Lin L = {0};
    L.f = f;
    L.g = ad_derived(f, name, kind);
    L.e.g = L.g;
    L.map = ad_ref_map(f);
    L.tan = ad_ref_map(f);
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
        t.name = ad_suffixed(A, f->in.p[i].name, "_dot");
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
        if (t == NOREF && o.ty.rank) {
            t = ir_emit(L.g, L.g->body, OP_ZEROS, o.ty, NOREF, NOREF, NOREF);
            L.g->v.p[t].lin = 1;
        }
        o.ref = t != NOREF ? t : lin_zero(&L, L.g->body);
        o.role = o.ty.rank ? OUT_ARRAY : OUT_BAR;
        o.name = ad_suffixed(A, o.name, "_dot");
        vec_push(A, &L.g->out, o);
    }
    return L.g;
}
