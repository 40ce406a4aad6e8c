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
 *
 * What the reverse sweep reads it either recomputes or reads back from
 * tapes the forward sweep wrote (the to-be-recorded analysis of Hascoet,
 * Naumann and Pascual, TOMS 2005): a GEN keeps its expensive element
 * values; a for loop keeps the carried values its derivatives need, one
 * row per iteration; with --tape=fast a for loop, and a sum with fixed
 * bounds, also keep the rows of the reductions and matvecs of their
 * bodies (Replay), everything else being recomputed.
 */
#include "adjoint.h"

#include <ctype.h>

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
static Ref copy_inst(Fn *g, Region *dst, const Inst *in, const Ref *map);

/* IDX, LIT, ZEROS, ACC: the primal copy and the same op on tangents. */
static void lin_array_op(Lin *L, const Inst *in, Ref id, Region *dst)
{
    Fn *g = L->g;
    Ref y = copy_inst(g, dst, in, L->map);
    Ref t = NOREF;
    switch (in->op) {
    case OP_IDX:
        if (L->tan[in->arg[0]] != NOREF) {
            t = copy_inst(g, dst, in, L->map);
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
        t = copy_inst(g, dst, in, L->map);
        g->v.p[t].list = el;
        break;
    }
    case OP_ZEROS:
        t = copy_inst(g, dst, in, L->map);
        g->v.p[t].k = 0;
        break;
    case OP_ACC:
        if (L->tan[in->arg[0]] != NOREF && L->tan[in->arg[1]] != NOREF) {
            t = copy_inst(g, dst, in, L->map);
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
    x->tape = in->tape;
    copy_index_data(g, x, in, map);
    return n;
}

/* A new GEN/RED/LOOP in g like f's `id`, its bounds remapped and its
 * IVARs mapped to the new ones. */
static Ref clone_loop_head(const Fn *f, Ref id, Fn *g, Region *dst, Ref *map)
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
static Aff *flat_index(Arena *a, Type t, long flat)
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
            Ref nr_ = ir_emit(g, g->v.p[n].parent, OP_RESULT, f->v.p[r].ty, n, NOREF, NOREF);
            g->v.p[nr_].k = pass ? tslot[j] : j;
            g->v.p[nr_].name = f->v.p[r].name;
            g->v.p[nr_].line = f->v.p[r].line;
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
    Ref n = clone_loop_head(L->f, id, L->g, dst, L->map);
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
        if (t == NOREF && o.ty.rank) {
            t = ir_emit(L.g, L.g->body, OP_ZEROS, o.ty, NOREF, NOREF, NOREF);
            L.g->v.p[t].lin = 1;
        }
        o.ref = t != NOREF ? t : lin_zero(&L, L.g->body);
        o.role = o.ty.rank ? OUT_ARRAY : OUT_BAR;
        o.name = suffixed(A, o.name, "_dot");
        vec_push(A, &L.g->out, o);
    }
    return L.g;
}

/* ---------------- transposition ---------------- */

static int is_array(const Fn *f, Ref x)
{
    return f->v.p[x].ty.rank > 0;
}

static int has_ct(const Tr *T, Ref x)
{
    return is_array(T->g, x) ? T->live[x] : T->ct[x] != NOREF;
}

/* Taped value id of a GEN body, re-read inside its reverse loop. */
static int tape_load(Tr *T, Ref id)
{
    if (T->tape[id] == NOREF || T->tape_gen[id] != T->tape_active)
        return 0;
    Ref gen = T->tape_gen[id];
    int nv = ir_nivars(T->g, gen);
    Aff *ix = arena_alloc(T->h->arena, sizeof(Aff) * (size_t)(nv + 1));
    for (int d = 0; d < nv; d++)
        ix[d] = aff_var(T->h->arena, T->map[ir_ivar(T->g, gen, d)]);
    T->map[id] = ad_idx(&T->e, T->tape[id], ix, nv);
    if (T->g->v.p[id].ty.kind == TY_BOOL) /* a branch decision, kept as 0 or 1 */
        T->map[id] = em(&T->e, OP_NE, T->map[id], em_const(&T->e, 0), NOREF);
    return 1;
}

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
    /* after every RESULT: they must follow their IF */
    for (int q = 0; q < nr; q++) {
        T->e.r = dst;
        tape_load(T, src->ids.p[at + 1 + q]);
    }
}

/* Is v cheap to recompute in a reverse loop (a load, an index)? */
static int cheap(const Fn *g, Ref v)
{
    Op op = (Op)g->v.p[v].op;
    return op == OP_CONST || op == OP_IDX || op == OP_IREAL || op == OP_IVAR;
}

/* Marks the non-lin values of GEN body b (top level) that lin code in
 * region r (b or nested in it) reads: the reverse loop needs them. */
static void mark_needed(const Fn *g, const Region *b, const Region *r, unsigned char *need)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &g->v.p[r->ids.p[i]];
        Ref ops[4] = {in->arg[0], in->arg[1], in->arg[2], NOREF};
        if (in->op == OP_IF) {
            /* an adjoint if needs its condition */
            ops[0] = in->arg[0];
            mark_needed(g, b, in->reg[0], need);
            mark_needed(g, b, in->reg[1], need);
        } else if (ir_is_loop(in)) {
            mark_needed(g, b, in->reg[0], need);
            continue;
        } else if (!in->lin || in->op == OP_RESULT) {
            continue;
        }
        for (int k = 0; k < 3; k++)
            if (ops[k] != NOREF && !g->v.p[ops[k]].lin && g->v.p[ops[k]].parent == b)
                need[ops[k]] = 1;
        if (in->op == OP_LIT)
            for (int k = 0; k < in->nix; k++)
                if (!g->v.p[in->list[k]].lin && g->v.p[in->list[k]].parent == b)
                    need[in->list[k]] = 1;
    }
}

/* The forward copy of a GEN or RED: its non-lin part.  A GEN with
 * tangent results also yields, as extra arrays (tapes), the expensive
 * values its reverse loop needs, so that loop reads them instead of
 * recomputing them (the to-be-recorded values of Hascoet et al.); cheap
 * ones (loads, constants) are recomputed there. */
static void fwd_loop(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    ASSERT(in->op != OP_LOOP);
    int nr = ir_nresults(g, src, at);
    Ref n = clone_loop_head(g, id, h, dst, T->map);
    Region *b = h->v.p[n].reg[0];
    fwd_region(T, in->reg[0], b);
    int ny = 0, has_lin = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (g->v.p[r].lin) {
            has_lin = 1;
            continue;
        }
        vec_push(h->arena, &b->yield, T->map[in->reg[0]->yield.p[(int)g->v.p[r].k]]);
        Ref pr = ir_emit(h, dst, OP_RESULT, g->v.p[r].ty, n, NOREF, NOREF);
        h->v.p[pr].k = ny++;
        h->v.p[pr].name = g->v.p[r].name;
        h->v.p[pr].line = g->v.p[r].line;
        T->map[r] = pr;
    }
    if (in->op == OP_RED && has_lin && !T->small_tape) {
        unsigned char *stored = NULL;
        unsigned char *rep = tape_replayed(g, id, tape_needs(g, id, stored));
        for (int i = 0; i < in->reg[0]->ids.n; i++)
            if (rep[i])
                tape_record_loop(T, in->reg[0], i, b, n, in->ix[0].c, in->ix[1].c);
    }
    if (in->op != OP_GEN || !has_lin) {
        for (int q = 0; q < nr; q++) {
            T->e.r = dst;
            tape_load(T, src->ids.p[at + 1 + q]);
        }
        return;
    }
    unsigned char *need = arena_alloc(h->arena, (size_t)g->v.n + 1);
    mark_needed(g, in->reg[0], in->reg[0], need);
    for (int i = 0; i < in->reg[0]->ids.n; i++) {
        Ref v = in->reg[0]->ids.p[i];
        if (!need[v] || cheap(g, v) || is_array(g, v))
            continue; /* recomputed in the reverse loop */
        Ref arr = NOREF;
        for (int q = 0; q < nr && arr == NOREF; q++) {
            Ref r = src->ids.p[at + 1 + q];
            if (!g->v.p[r].lin && in->reg[0]->yield.p[(int)g->v.p[r].k] == v)
                arr = T->map[r];
        }
        if (arr == NOREF) {
            Ref tv = T->map[v];
            if (g->v.p[v].ty.kind == TY_BOOL) {
                T->e.r = b;
                T->e.line = g->v.p[v].line;
                tv = em(&T->e, OP_SELECT, tv, em_const(&T->e, 1), em_const(&T->e, 0));
            }
            vec_push(h->arena, &b->yield, tv);
            arr = ir_emit(h, dst, OP_RESULT, h->v.p[n].ty, n, NOREF, NOREF);
            h->v.p[arr].k = ny++;
            h->v.p[arr].line = g->v.p[v].line;
            const char *base = g->v.p[v].name;
            for (int q = 0; q < nr && !base; q++)
                base = g->v.p[src->ids.p[at + 1 + q]].name;
            h->v.p[arr].name = arena_printf(h->arena, "%s_tape", base ? base : "t");
            h->v.p[arr].tape = 1;
        }
        T->tape[v] = arr;
        T->tape_gen[v] = id;
    }
    /* after every RESULT, tapes included: they must follow their GEN */
    for (int q = 0; q < nr; q++) {
        T->e.r = dst;
        tape_load(T, src->ids.p[at + 1 + q]);
    }
}

/* The forward copy of a for loop: its primal carried values, and the
 * recording of those its reverse loop needs, one row per iteration, in
 * tapes (static buffers of the trip count's size: no allocation). */
static void fwd_for(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nix = in->nix, nr = ir_nresults(g, src, at);
    int32_t lo = in->ix[0].c, hi = in->ix[1].c;
    unsigned char *stored = arena_alloc(h->arena, (size_t)nix + 1);
    unsigned char *need = tape_needs(g, id, stored);
    unsigned char *rep = T->small_tape ? arena_alloc(h->arena, (size_t)in->reg[0]->ids.n + 1)
                                       : tape_replayed(g, id, need);
    for (int j = 0; j < nix && hi <= lo; j++)
        stored[j] = 0; /* no iteration, nothing to record */
    int *to = arena_alloc(h->arena, sizeof(int) * (size_t)(nix + 1));
    Ref *init = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    int n = 0;
    for (int j = 0; j < nix; j++) {
        to[j] = -1;
        if (g->v.p[ir_carry(g, id, j)].lin)
            continue;
        to[j] = n;
        init[n++] = T->map[in->list[j]];
    }
    /* the tapes, before the loop.  A carried value whose new value is
     * the result of a tape_replayed loop (h = tanh(W @ h)) shares one tape with
     * it: row i - lo holds the value iteration i starts from, row 0 the
     * initial value, and the result of iteration i fills row i - lo + 1. */
    unsigned char *shared = arena_alloc(h->arena, (size_t)nix + 1);
    for (int j = 0; j < nix; j++) {
        if (!stored[j])
            continue;
        Ref c = ir_carry(g, id, j), y = in->reg[0]->yield.p[j];
        const Inst *yi = &g->v.p[y];
        if (yi->op == OP_RESULT && !yi->lin && g->v.p[yi->arg[0]].parent == in->reg[0] &&
            T->rowtape[y] == NOREF)
            for (int i = 0; i < in->reg[0]->ids.n; i++)
                if (in->reg[0]->ids.p[i] == yi->arg[0])
                    shared[j] = rep[i];
        T->e.line = in->line;
        T->ftape[c] = tape_new(T, dst, g->v.p[c].ty, lo, hi + shared[j], g->v.p[c].name);
        if (shared[j]) {
            T->rowtape[y] = T->ftape[c];
            tape_record_row(T, dst, T->ftape[c], NOREF, 0, T->map[in->list[j]], g->v.p[c].ty);
        }
    }
    int saved_rev = T->e.rev;
    Ref l = ir_for_new(h, dst, lo, hi, n, init);
    h->v.p[l].line = in->line;
    h->v.p[l].k = in->k;
    Region *b = h->v.p[l].reg[0];
    Ref iv = b->ids.p[0];
    T->map[in->reg[0]->ids.p[0]] = iv;
    h->v.p[iv].name = g->v.p[in->reg[0]->ids.p[0]].name;
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        Ref c = ir_carry(g, id, j), nc = ir_carry(h, l, to[j]);
        T->map[c] = nc;
        h->v.p[nc].name = g->v.p[c].name;
        h->v.p[nc].line = g->v.p[c].line;
        if (!stored[j] || shared[j])
            continue;
        /* record the value at the start of the iteration */
        T->e.line = in->line;
        tape_record_row(T, b, T->ftape[c], iv, lo, nc, g->v.p[c].ty);
    }
    T->e.rev = saved_rev;
    fwd_region(T, in->reg[0], b);
    for (int i = 0; i < in->reg[0]->ids.n; i++)
        if (rep[i])
            tape_record_loop(T, in->reg[0], i, b, l, lo, hi);
    for (int j = 0; j < nix; j++)
        if (shared[j])
            T->rowtape[in->reg[0]->yield.p[j]] = NOREF;
    for (int j = 0; j < nix; j++)
        if (to[j] >= 0)
            vec_push(h->arena, &b->yield, T->map[in->reg[0]->yield.p[j]]);
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = (int)g->v.p[r].k;
        if (to[j] < 0)
            continue;
        Ref pr = ir_emit(h, dst, OP_RESULT, g->v.p[r].ty, l, NOREF, NOREF);
        h->v.p[pr].k = to[j];
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
        if (in->lin || in->op == OP_RESULT || in->op == OP_IVAR || in->op == OP_CARRY)
            continue;
        T->e.r = dst;
        if (tape_load(T, id))
            continue;
        if (T->replay_for != NOREF && T->replay[id] && src == T->g->v.p[T->replay_for].reg[0]) {
            tape_replay_loop(T, id, T->map[src->ids.p[0]], T->g->v.p[T->replay_for].ix[0].c, dst);
            continue;
        }
        if (in->op == OP_IF)
            fwd_if(T, src, i, dst);
        else if (in->op == OP_FOR)
            fwd_for(T, src, i, dst);
        else if (ir_is_loop(in))
            fwd_loop(T, src, i, dst);
        else
            T->map[id] = copy_inst(T->h, dst, in, T->map);
    }
}

static const char *bar_name(Tr *T, Ref x)
{
    const char *n = T->g->v.p[x].name;
    return n ? arena_printf(T->h->arena, "%s_bar", n) : NULL;
}

static int inside(const Fn *g, Ref x, const Region *r);

Ref ad_zeros(Tr *T, Region *r, Type ty, const char *name)
{
    Ref z = ir_emit(T->h, r, OP_ZEROS, ty, NOREF, NOREF, NOREF);
    T->h->v.p[z].name = name;
    T->h->v.p[z].rev = 1;
    T->h->v.p[z].line = T->e.line;
    return z;
}

void ad_acc(Tr *T, Region *r, Ref buf, Aff *ix, int nix, Ref v)
{
    Ref a = ir_emit(T->h, r, OP_ACC, ty_none(), buf, v, NOREF);
    Inst *x = &T->h->v.p[a];
    x->nix = nix;
    x->ix = ix;
    x->rev = (uint8_t)T->e.rev;
    x->line = T->e.line;
}

/* ct[x][ix] += v for an array x of g (ix already in h's IVARs). */
static void acc_elem(Tr *T, Region *r, Ref x, Aff *ix, Ref v)
{
    ASSERT(T->ct[x] != NOREF && T->h->v.p[T->ct[x]].op == OP_ZEROS);
    ad_acc(T, r, T->ct[x], ix, T->g->v.p[x].ty.rank, v);
    T->live[x] = 1;
}

/* ct[x] += arr, elementwise, for an array x of g. */
static void acc_whole(Tr *T, Region *r, Ref x, Ref arr)
{
    Type t = T->g->v.p[x].ty;
    Ref l = ir_loop_new(T->h, r, OP_LOOP, ty_none(), t.rank);
    T->h->v.p[l].line = T->e.line;
    T->h->v.p[l].rev = 1;
    for (int d = 0; d < t.rank; d++) {
        T->h->v.p[l].ix[d] = aff_const(T->h->arena, 0);
        T->h->v.p[l].ix[t.rank + d] = aff_const(T->h->arena, t.dim[d]);
    }
    Region *save = T->e.r;
    T->e.r = T->h->v.p[l].reg[0];
    Ref v = ad_idx(&T->e, arr, ad_ivar_index(T->h, l), t.rank);
    acc_elem(T, T->e.r, x, ad_ivar_index(T->h, l), v);
    T->e.r = save;
}

/* A scalar x of g defined outside a reverse loop being built: its
 * cotangent goes into a cell of the outermost such loop. */
static int acc_cell(Tr *T, Region *r, Ref x, Ref v)
{
    Fn *h = T->h;
    for (int i = 0; i < T->frames.n; i++) {
        Frame *fr = &T->frames.p[i];
        if (inside(T->g, x, fr->src))
            continue;
        Ref cell = NOREF;
        for (int k = 0; k < fr->xs.n; k++)
            if (fr->xs.p[k] == x)
                cell = fr->cells.p[k];
        if (cell == NOREF) {
            cell = ad_zeros(T, fr->dst, ty_scalar(), bar_name(T, x));
            /* it belongs before the loop */
            Region *d = fr->dst;
            int at = d->ids.n - 1;
            while (d->ids.p[at - 1] != fr->loop)
                at--;
            for (int k = d->ids.n - 1; k >= at; k--)
                d->ids.p[k] = d->ids.p[k - 1];
            d->ids.p[at - 1] = cell;
            vec_push(h->arena, &fr->xs, x);
            vec_push(h->arena, &fr->cells, cell);
        }
        ad_acc(T, r, cell, NULL, 0, v);
        return 1;
    }
    return 0;
}

/* ct[x] += v.  `fresh`: v was made for x alone and may take its name. */
static void accum(Tr *T, Region *r, Ref x, Ref v, int fresh)
{
    if (v == NOREF)
        return;
    Fn *h = T->h;
    if (is_array(T->g, x)) {
        acc_whole(T, r, x, v);
        return;
    }
    if (acc_cell(T, r, x, v))
        return;
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
static void zeros_for_region(Tr *T, const Region *src, Region *dst);

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
        if (g->v.p[src->ids.p[at + 1 + q]].lin && has_ct(T, src->ids.p[at + 1 + q]))
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
        zeros_for_region(T, in->reg[s], r);
        for (int qi = 0; qi < nr; qi++) {
            Ref q = src->ids.p[at + 1 + qi];
            if (!g->v.p[q].lin || saved[q] == NOREF || (is_array(g, q) && !T->live[q]))
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
        if (inside(g, x, in->reg[0]) || inside(g, x, in->reg[1]) || is_array(g, x))
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

/* The adjoint of a GEN or sum RED with tangent results: a LOOP over the
 * same index space that recomputes (or reads from tapes) the primal
 * values it needs, seeds each lin yield with the result's cotangent (an
 * element of the adjoint array for a GEN; the adjoint scalar, broadcast,
 * for a reduction) and runs the body's reverse sweep. */
static void rev_loop(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nr = ir_nresults(g, src, at), any = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        any |= g->v.p[r].lin && has_ct(T, r);
    }
    if (!any)
        return;
    ASSERT(in->op == OP_GEN || in->k == RK_SUM);
    int nv = ir_nivars(g, id);
    T->e.line = in->line;
    Ref l = ir_loop_new(h, dst, OP_LOOP, ty_none(), nv);
    Inst *li = &h->v.p[l];
    li->line = in->line;
    li->rev = 1;
    for (int d = 0; d < nv; d++) {
        if (in->op == OP_GEN) {
            li->ix[d] = aff_const(h->arena, 0);
            li->ix[nv + d] = aff_const(h->arena, in->ty.dim[d]);
        } else {
            li->ix[0] = aff_remap(h->arena, in->ix[0], T->map);
            li->ix[1] = aff_remap(h->arena, in->ix[1], T->map);
        }
        Ref iv = ir_ivar(h, l, d);
        T->map[ir_ivar(g, id, d)] = iv;
        h->v.p[iv].name = g->v.p[ir_ivar(g, id, d)].name;
    }
    Region *b = li->reg[0];
    Frame fr = {0};
    fr.src = in->reg[0];
    fr.loop = l;
    fr.dst = dst;
    vec_push(h->arena, &T->frames, fr);
    int saved_rev = T->e.rev;
    Ref saved_active = T->tape_active;
    T->e.rev = 0;
    T->tape_active = id;
    Ref saved_for = T->replay_for;
    T->replay_for = id; /* a sum's body reads the rows it recorded */
    fwd_region(T, in->reg[0], b);
    T->replay_for = saved_for;
    T->tape_active = saved_active;
    T->e.rev = saved_rev;
    T->e.r = b;
    T->e.line = in->line;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (!g->v.p[r].lin || !has_ct(T, r))
            continue;
        Ref c = T->ct[r];
        T->e.r = b;
        if (in->op == OP_GEN)
            c = ad_idx(&T->e, c, ad_ivar_index(h, l), nv);
        accum(T, b, in->reg[0]->yield.p[(int)g->v.p[r].k], c, 0);
    }
    rev_region(T, in->reg[0], b);
    fr = T->frames.p[--T->frames.n];
    T->e.line = in->line;
    for (int k = 0; k < fr.xs.n; k++) {
        T->e.r = dst;
        Ref v = ad_idx(&T->e, fr.cells.p[k], NULL, 0);
        accum(T, dst, fr.xs.p[k], v, 1);
    }
}

/* The adjoint of a for loop: the same iterations backwards, carrying the
 * adjoints of the loop's tangent carried values.  Each iteration restores
 * the carried primal values its derivatives need from the tapes (row i:
 * their values at the start of forward iteration i), recomputes the rest
 * of the iteration's primal values from them, and runs the body's reverse
 * sweep: the adjoints of the values the body yielded come in, those of the
 * values it started from go out to the previous iteration. */
static void rev_for(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    const Region *sb = in->reg[0];
    int nix = in->nix, nr = ir_nresults(g, src, at), any = 0;
    int32_t lo = in->ix[0].c, hi = in->ix[1].c;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        any |= g->v.p[r].lin && has_ct(T, r);
    }
    if (!any)
        return;
    /* the adjoints carried backwards: one per lin carried value */
    int *to = arena_alloc(h->arena, sizeof(int) * (size_t)(nix + 1));
    Ref *init = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    int n = 0;
    T->e.r = dst;
    T->e.line = in->line;
    for (int j = 0; j < nix; j++) {
        to[j] = -1;
        Ref c = ir_carry(g, id, j);
        if (!g->v.p[c].lin)
            continue;
        Ref ctj = NOREF;
        for (int q = 0; q < nr; q++) {
            Ref r = src->ids.p[at + 1 + q];
            if ((int)g->v.p[r].k == j && has_ct(T, r))
                ctj = T->ct[r];
        }
        if (ctj == NOREF)
            ctj = is_array(g, c) ? ad_zeros(T, dst, g->v.p[c].ty, NULL) : em_const(&T->e, 0);
        to[j] = n;
        init[n++] = ctj;
    }
    Ref l = ir_for_new(h, dst, lo, hi, n, init);
    Inst *li = &h->v.p[l];
    li->k = 1;
    li->line = in->line;
    li->rev = 1;
    Region *b = li->reg[0];
    Ref iv = b->ids.p[0];
    T->map[sb->ids.p[0]] = iv;
    h->v.p[iv].name = g->v.p[sb->ids.p[0]].name;
    Frame fr = {0};
    fr.src = sb;
    fr.loop = l;
    fr.dst = dst;
    vec_push(h->arena, &T->frames, fr);
    /* the carried primal values this iteration started from */
    int saved_rev = T->e.rev;
    T->e.rev = 0;
    T->e.r = b;
    for (int j = 0; j < nix; j++) {
        Ref c = ir_carry(g, id, j);
        if (g->v.p[c].lin)
            continue;
        Type ct = g->v.p[c].ty;
        Ref tape = T->ftape[c];
        if (tape == NOREF) { /* not needed: a placeholder that stays dead */
            T->map[c] = ct.rank ? ad_zeros(T, b, ct, NULL) : em_const(&T->e, 0);
            continue;
        }
        if (!ct.rank) {
            T->map[c] = ad_idx(&T->e, tape, tape_index(h, iv, lo, NOREF, 0), 1);
        } else {
            Ref gen = ir_loop_new(h, b, OP_GEN, ct, ct.rank);
            h->v.p[gen].line = in->line;
            Region *gb = h->v.p[gen].reg[0];
            T->e.r = gb;
            Ref el = ad_idx(&T->e, tape, tape_index(h, iv, lo, gen, ct.rank), ct.rank + 1);
            vec_push(h->arena, &gb->yield, el);
            T->e.r = b;
            T->map[c] = ir_emit(h, b, OP_RESULT, ct, gen, NOREF, NOREF);
        }
        h->v.p[T->map[c]].name = g->v.p[c].name;
        h->v.p[T->map[c]].line = in->line;
    }
    Ref saved_for = T->replay_for;
    T->replay_for = id;
    fwd_region(T, sb, b);
    T->replay_for = saved_for;
    T->e.rev = saved_rev;
    zeros_for_region(T, sb, b);
    T->e.r = b;
    T->e.line = in->line;
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        Ref rc = ir_carry(h, l, to[j]);
        h->v.p[rc].name = bar_name(T, ir_carry(g, id, j));
        h->v.p[rc].rev = 1;
        Ref y = sb->yield.p[j];
        if (is_array(g, y) && !g->v.p[y].lin)
            continue;
        accum(T, b, y, rc, 0);
    }
    rev_region(T, sb, b);
    T->e.r = b;
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        Ref c = ir_carry(g, id, j);
        Ref v = T->ct[c];
        if (v == NOREF || (is_array(g, c) && !T->live[c]))
            v = is_array(g, c) ? ad_zeros(T, b, g->v.p[c].ty, NULL) : em_const(&T->e, 0);
        vec_push(h->arena, &b->yield, v);
    }
    fr = T->frames.p[--T->frames.n];
    /* the adjoints of the initial values (the RESULTs first: they must
     * follow the loop) */
    Ref *res = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        res[j] = ir_emit(h, dst, OP_RESULT, h->v.p[init[to[j]]].ty, l, NOREF, NOREF);
        h->v.p[res[j]].k = to[j];
        h->v.p[res[j]].rev = 1;
        h->v.p[res[j]].line = in->line;
        h->v.p[res[j]].name = bar_name(T, in->list[j]);
    }
    for (int j = 0; j < nix; j++) {
        T->e.r = dst;
        if (to[j] >= 0 && g->v.p[in->list[j]].lin)
            accum(T, dst, in->list[j], res[j], 0);
    }
    for (int k = 0; k < fr.xs.n; k++) {
        T->e.r = dst;
        Ref v = ad_idx(&T->e, fr.cells.p[k], NULL, 0);
        accum(T, dst, fr.xs.p[k], v, 1);
    }
}

/* Adjoint arrays for the lin arrays defined in src, zeroed at the start
 * of its reverse sweep. */
static void zeros_for_region(Tr *T, const Region *src, Region *dst)
{
    const Fn *g = T->g;
    for (int i = 0; i < src->ids.n; i++) {
        Ref x = src->ids.p[i];
        if (g->v.p[x].lin && is_array(g, x) && T->ct[x] == NOREF) {
            T->e.line = g->v.p[x].line;
            T->ct[x] = ad_zeros(T, dst, g->v.p[x].ty, bar_name(T, x));
        }
    }
}

static void rev_region(Tr *T, const Region *src, Region *dst)
{
    const Fn *g = T->g;
    zeros_for_region(T, src, dst);
    for (int i = src->ids.n - 1; i >= 0; i--) {
        Ref id = src->ids.p[i];
        const Inst *in = &g->v.p[id];
        if (in->op == OP_IF) {
            rev_if(T, src, i, dst);
            continue;
        }
        if (in->op == OP_GEN || in->op == OP_RED) {
            rev_loop(T, src, i, dst);
            continue;
        }
        if (in->op == OP_FOR) {
            rev_for(T, src, i, dst);
            continue;
        }
        if (!in->lin || !has_ct(T, id))
            continue;
        Ref ct = T->ct[id];
        Ref a = in->arg[0], b = in->arg[1];
        T->e.r = dst;
        T->e.line = in->line;
        switch ((Op)in->op) {
        case OP_CONST:
        case OP_PARAM:
        case OP_RESULT:
        case OP_ZEROS:
        case OP_CARRY:
        case OP_IVAR:
            break;
        case OP_IDX: {
            Aff *ix = arena_alloc(T->h->arena, sizeof(Aff) * (size_t)(in->nix + 1));
            for (int j = 0; j < in->nix; j++)
                ix[j] = aff_remap(T->h->arena, in->ix[j], T->map);
            acc_elem(T, dst, a, ix, ct);
            break;
        }
        case OP_LIT:
            for (int j = 0; j < in->nix; j++) {
                if (!g->v.p[in->list[j]].lin)
                    continue;
                T->e.r = dst;
                Ref v = ad_idx(&T->e, ct, flat_index(T->h->arena, in->ty, j), in->ty.rank);
                accum(T, dst, in->list[j], v, 1);
            }
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

Fn *ad_transpose(const Fn *g, const char *name, FnKind kind, int small_tape)
{
    Arena *A = g->arena;
    Tr T = {0};
    T.g = g;
    T.h = derived(g, name, kind);
    T.e.g = T.h;
    T.map = ref_map(g);
    T.ct = ref_map(g);
    T.stamp = arena_alloc(A, sizeof(unsigned) * (size_t)(g->v.n + 1));
    T.live = arena_alloc(A, (size_t)g->v.n + 1);
    T.tape = ref_map(g);
    T.tape_gen = ref_map(g);
    T.tape_active = NOREF;
    T.ftape = ref_map(g);
    T.replay = arena_alloc(A, sizeof(Replay *) * (size_t)(g->v.n + 1));
    T.replay_for = NOREF;
    T.small_tape = small_tape;
    T.rowtape = ref_map(g);
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
    if (g->v.p[tout.ref].lin) {
        T.ct[tout.ref] = seed;
        T.live[tout.ref] = 1;
    }
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
        o.ref = T.ct[id];
        if (o.ref == NOREF)
            o.ref = is_array(g, id) ? ad_zeros(&T, T.h->body, ti->ty, o.name) : em_const(&T.e, 0);
        vec_push(A, &T.h->out, o);
    }
    return T.h;
}

/* ---------------- the pipeline for one function ---------------- */

void ad_unit(Unit *u)
{
    Fn *f = u->primal;
    Arena *A = f->arena;
    int array = f->out.p[0].ty.rank > 0;
    opt_all(f);
    ir_verify(f);

    Fn *lin = ad_linearize(f, arena_printf(A, "%s_jvp", f->name), FN_JVP);
    ir_verify(lin);
    opt_all(lin);
    u->jvp = lin;

    if (getenv("DX_DUMP"))
        ir_print(lin, stderr);
    Fn *grad = ad_transpose(lin, arena_printf(A, "%s_%s", f->name, array ? "vjp" : "grad"),
                            array ? FN_VJP : FN_GRAD, u->small_tape);
    if (getenv("DX_DUMP"))
        ir_print(grad, stderr);
    ir_verify(grad);
    opt_all(grad);
    opt_store(grad);
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
        opt_store(h);
        u->hvp = h;
    }
}
