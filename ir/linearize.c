/*
 * linearize.c - forward mode as an IR-to-IR pass (ad_linearize): after
 * every primal instruction, its tangent, the sum over operands of
 * partial_k * tangent_k with the partials of rules.c.  Tangent
 * instructions have ROLE_TANGENT and the rule facts of the op they come
 * from (see Inst); they are linear in the input tangents and use only
 * ADD, SUB, NEG, MUL and DIV by a primal value, and the strong-zero
 * MULZ and DIVZ by one (lin_term, lin_quot).  Every instruction is
 * built at an explicit IrAt, its facts set as it is emitted.  The result
 * is f_jvp, the input of the transposition (ad.c) that gives f_grad, and,
 * applied to f_grad, f_hvp.  Also the copying helpers both passes share.
 */
#include "adjoint.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

typedef struct {
    const Fn *f;
    Fn *g;
    Ref *map;  /* f value -> g value */
    Ref *tan;  /* f value -> g tangent, NOREF for zero */
    int rule_line; /* the line of the last op whose rule was applied: a
                      zero tangent made after it takes it */
    void (*poll)(void *); /* ad_linearize_polled's */
    void *poll_arg;
} Lin;

/* Where a tangent goes: region r of g, from source line `line`, by the
 * rule of op (operand k; -1: not one operand's; op 0: no rule). */
static IrAt tan_at(Lin *L, Region *r, int line, Op op, int k)
{
    IrAt at = ir_at(L->g, r);
    at.line = line;
    at.role = ROLE_TANGENT;
    at.rule_op = (uint16_t)op;
    at.rule_arg = (int8_t)k;
    return at;
}

/* Is partial k of op one whose product with a tangent needs a strong
 * zero (lin_term)?  The infinite ones (rule_strong) and the selecting
 * ones, whose partial is 0 for the operand not selected. */
static int lin_strong(Op op, int k)
{
    switch (op) {
    case OP_SELECT: case OP_MAX: case OP_MIN: case OP_RELU: case OP_ABS:
        return 1;
    default:
        return rule_strong(op, k);
    }
}

/* t * p, with p = 1 and p = -1 simplified. */
static Ref lin_scale(Lin *L, IrAt at, Ref p, Ref t)
{
    if (p == NOREF || t == NOREF)
        return NOREF;
    if (ir_is_const(L->g, p, 1))
        return t;
    if (ir_is_const(L->g, p, -1))
        return ir_op(at, OP_NEG, t, NOREF, NOREF);
    return ir_op(at, OP_MUL, t, p, NOREF);
}

static Ref lin_add(IrAt at, Ref a, Ref b)
{
    if (a == NOREF)
        return b;
    if (b == NOREF)
        return a;
    return ir_op(at, OP_ADD, a, b, NOREF);
}

/* A zero tangent at `at` (its line: rule_line's). */
static Ref lin_zero(Lin *L, IrAt at)
{
    at.line = L->rule_line;
    return ir_num(at, 0);
}

/* A zero tangent shaped like f's value x (an array's with no line). */
static Ref lin_zero_like(Lin *L, IrAt at, Ref x)
{
    Type t = L->f->v.p[x].ty;
    if (!t.rank)
        return lin_zero(L, at);
    at.line = 0;
    return ir_add(at, OP_ZEROS, t, NOREF, NOREF, NOREF);
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
    /* "d" and the op's name in lower case, made without a format (a
     * tenth of linearising a gradient went to formatting it) */
    const char *n = op_info[in->op == OP_SQRTZ ? OP_SQRT : in->op].name;
    size_t len = strlen(n);
    char *s = arena_alloc(g->arena, len + 2);
    s[0] = 'd';
    for (size_t i = 0; i < len; i++)
        s[i + 1] = (char)tolower((unsigned char)n[i]);
    g->v.p[p].name = s;
}

static void lin_region(Lin *L, const Region *src, Region *dst);

/* The tangent of array op `in` (IDX, LIT, ZEROS, ACC): the same op on
 * tangents, with in's facts as a tangent's (in f_hvp, a tangent of the
 * reverse sweep or of a tape says so: IF_REV, IF_TAPE). */
static IrAt array_tan_at(Lin *L, Region *dst, const Inst *in, Ref y)
{
    IrAt at = tan_at(L, dst, in->line, (Op)in->op, in->op == OP_IDX ? 0 : -1);
    at.rule_src = y;
    at.flags = (uint16_t)(in->flags & (in->op == OP_ZEROS ? ~IF_NOINIT : 0xffff));
    at.flags |= (uint8_t)((ir_is_rev(in) ? IF_REV : 0) | (ir_is_tape(in) ? IF_TAPE : 0));
    return at;
}

/* IDX, LIT, ZEROS, ACC: the primal copy and the same op on tangents. */
static void lin_array_op(Lin *L, const Inst *in, Ref id, Region *dst)
{
    Fn *g = L->g;
    Ref y = ir_copy_inst(g, dst, in, L->map);
    Ref t = NOREF;
    IrAt at = array_tan_at(L, dst, in, y);
    switch (in->op) {
    case OP_IDX:
        if (L->tan[in->arg[0]] != NOREF) {
            t = ir_copy_at(at, in, L->map);
            g->v.p[t].arg[0] = L->tan[in->arg[0]];
        }
        break;
    case OP_LIT: {
        int any = 0;
        for (int j = 0; j < in->nix; j++)
            any |= L->tan[in->x->list[j]] != NOREF;
        if (!any)
            break;
        Ref *el = arena_alloc(g->arena, sizeof(Ref) * (size_t)(in->nix + 1));
        for (int j = 0; j < in->nix; j++) {
            Ref tj = L->tan[in->x->list[j]];
            el[j] = tj != NOREF ? tj : lin_zero(L, tan_at(L, dst, 0, OP_LIT, -1));
        }
        t = ir_copy_at(at, in, L->map);
        g->v.p[t].x->list = el;
        break;
    }
    case OP_ZEROS:
        t = ir_copy_at(at, in, L->map);
        break;
    case OP_ACC: {
        Ref tv = L->tan[in->arg[1]];
        if (tv == NOREF && (in->flags & IF_SETELEM) && L->tan[in->arg[0]] != NOREF) {
            IrAt zat = at; /* a store's zeroing (rev_store): the tangent's too */
            zat.flags = 0;
            tv = lin_zero(L, zat);
        }
        if (L->tan[in->arg[0]] != NOREF && tv != NOREF) {
            t = ir_copy_at(at, in, L->map);
            g->v.p[t].arg[0] = L->tan[in->arg[0]];
            g->v.p[t].arg[1] = tv;
        }
        break;
    }
    default:
        BUG("lin_array_op");
    }
    L->map[id] = y;
    L->tan[id] = t;
}

/* A new GEN/RED/LOOP in g like f's `id`, its bounds remapped and its
 * IVARs mapped to the new ones. */
Ref ad_clone_loop_head(const Fn *f, Ref id, Fn *g, Region *dst, RedKind kind, Ref *map)
{
    Inst in = f->v.p[id];
    int nv = ir_nivars(f, id);
    in.red = (uint8_t)kind;
    IrAt at = ir_at(g, dst); /* primal, even for a loop of a reverse sweep */
    at.line = in.line;
    at.flags = in.flags & IF_BACKWARDS;
    Ref n = ir_copy_at(at, &in, map);
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

/* Element `flat` of an array of type t, as constant indices. */
Aff *ad_flat_index(Arena *a, Type t, long flat)
{
    Aff *ix = arena_alloc(a, sizeof(Aff) * (size_t)(t.rank + 1));
    for (int d = t.rank - 1; d >= 0; d--) {
        ix[d] = aff_const(a, (int32_t)(flat % ty_dim(t, d)));
        flat /= ty_dim(t, d);
    }
    return ix;
}

/* Where a RESULT standing for one of f's goes (tangent: for its tangent):
 * primal or tangent, even for a tape of f_grad (see ad_result). */
static IrAt res_at(Lin *L, Region *dst, int tangent)
{
    IrAt at = ir_at(L->g, dst);
    at.role = tangent ? ROLE_TANGENT : ROLE_PRIMAL;
    return at;
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
    IrAt ifat = ir_at(g, dst);
    ifat.line = in->line;
    Ref nif = ir_add(ifat, OP_IF, in->ty, L->map[in->arg[0]], NOREF, NOREF);
    IrAt zat = tan_at(L, dst, in->line, OP_IF, -1);
    Region *side[2];
    for (int s = 0; s < 2; s++) {
        side[s] = ir_region_new(g, nif, s);
        g->v.p[nif].x->reg[s] = side[s];
        lin_region(L, in->x->reg[s], side[s]);
        for (int j = 0; j < in->x->reg[s]->yield.n; j++)
            vec_push(g->arena, &side[s]->yield, L->map[in->x->reg[s]->yield.p[j]]);
    }
    int nres = in->x->reg[0]->yield.n;
    int *tslot = arena_alloc(g->arena, sizeof(int) * (size_t)(nres + 1));
    int nt = 0;
    for (int j = 0; j < nres; j++) {
        Ref t0 = L->tan[in->x->reg[0]->yield.p[j]], t1 = L->tan[in->x->reg[1]->yield.p[j]];
        tslot[j] = -1;
        if (t0 == NOREF && t1 == NOREF)
            continue;
        tslot[j] = nres + nt++;
        zat.r = side[0];
        vec_push(g->arena, &side[0]->yield, t0 != NOREF ? t0 : lin_zero_like(L, zat, in->x->reg[0]->yield.p[j]));
        zat.r = side[1];
        vec_push(g->arena, &side[1]->yield, t1 != NOREF ? t1 : lin_zero_like(L, zat, in->x->reg[1]->yield.p[j]));
    }
    /* results: the old RESULTs follow the IF in its region */
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = f->v.p[r].n;
        L->map[r] = ad_result(res_at(L, dst, 0), nif, j, &f->v.p[r]);
    }
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = f->v.p[r].n;
        if (tslot[j] < 0)
            continue;
        L->tan[r] = ad_result(res_at(L, dst, 1), nif, tslot[j], &f->v.p[r]);
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
            int j = f->v.p[r].n;
            if (pass == 1 && (!tslot || tslot[j] < 0))
                continue;
            IrAt rat = res_at(L, g->v.p[n].parent, pass);
            Ref nr_ = ad_result(rat, n, pass ? tslot[j] : j, &f->v.p[r]);
            if (pass)
                L->tan[r] = nr_;
            else
                L->map[r] = nr_;
        }
}

/* A linearised copy of f's loop `id` in dst with its body; returns it. */
static Ref lin_loop_copy(Lin *L, Ref id, Region *dst, RedKind kind)
{
    Ref n = ad_clone_loop_head(L->f, id, L->g, dst, kind, L->map);
    lin_region(L, L->f->v.p[id].x->reg[0], L->g->v.p[n].x->reg[0]);
    return n;
}

/* max/min reductions: the tangent is the mean of the tangents of the
 * elements equal to the extremum (the spec's tie rule), a second pass
 * over the same range: sum(t_j [x_j == m]) / sum([x_j == m]), the
 * product a strong zero (MULZ), and the quotient (DIVZ).
 * prod: d(prod x) = sum_j t_j prod_{k != j} x_k, exact with zeros
 * (O(n^2); prod is for short ranges). */
static void lin_red_other(Lin *L, const Region *src, int at, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    Ref id = src->ids.p[at];
    const Inst *in = &f->v.p[id];
    ASSERT(in->x->reg[0]->yield.n == 1);
    Ref y = in->x->reg[0]->yield.p[0];
    Ref n1 = lin_loop_copy(L, id, dst, (RedKind)in->red);
    vec_push(g->arena, &g->v.p[n1].x->reg[0]->yield, L->map[y]);
    loop_results(L, src, at, n1, NULL);
    if (L->tan[y] == NOREF || ir_nresults(f, src, at) == 0)
        return;
    Ref res = src->ids.p[at + 1];
    Ref m = L->map[res];
    Ref n2 = lin_loop_copy(L, id, dst, RK_SUM);
    L->rule_line = in->line;
    Region *b2 = g->v.p[n2].x->reg[0];
    IrAt pat = ir_at(g, b2); /* the mask: a partial of the reduction's rule */
    pat.line = in->line;
    pat.rule_op = in->op;
    IrAt tat = tan_at(L, b2, in->line, (Op)in->op, -1);
    Ref x = L->map[y], t = L->tan[y];
    if (in->red == RK_PROD) {
        Ref j2 = ir_ivar(g, n2, 0);
        Ref n3 = lin_loop_copy(L, id, b2, RK_PROD);
        Region *b3 = g->v.p[n3].x->reg[0];
        Ref ik = ir_add(ir_at(g, b3), OP_IREAL, ty_scalar(), NOREF, NOREF, NOREF);
        g->v.p[ik].x->ix = arena_alloc(g->arena, sizeof(Aff));
        g->v.p[ik].x->ix[0] = aff_var(g->arena, ir_ivar(g, n3, 0));
        Ref ij = ir_add(ir_at(g, b3), OP_IREAL, ty_scalar(), NOREF, NOREF, NOREF);
        g->v.p[ij].x->ix = arena_alloc(g->arena, sizeof(Aff));
        g->v.p[ij].x->ix[0] = aff_var(g->arena, j2);
        IrAt pat3 = pat; /* after n3's body: the line of its last rule */
        pat3.r = b3;
        pat3.line = tat.line = L->rule_line;
        Ref same = ir_op(pat3, OP_EQ, ik, ij, NOREF);
        vec_push(g->arena, &b3->yield, ir_op(pat3, OP_SELECT, same, ir_num(pat3, 1), L->map[y]));
        Ref q = ir_result(ir_at(g, b2), ty_scalar(), n3, 0);
        vec_push(g->arena, &b2->yield, lin_scale(L, tat, q, t));
        tat.r = dst;
        tat.line = in->line;
        L->tan[res] = ir_result(tat, ty_scalar(), n2, 0);
        return;
    }
    Ref hit = ir_op(pat, OP_EQ, x, m, NOREF);
    Ref one = ir_num(pat, 1); /* in this order, whatever the compiler */
    Ref mask = ir_op(pat, OP_SELECT, hit, one, ir_num(pat, 0));
    /* a strong zero: an element not selected contributes nothing */
    vec_push(g->arena, &b2->yield, ir_op(tat, OP_MULZ, t, mask, NOREF));
    vec_push(g->arena, &b2->yield, mask);
    tat.r = pat.r = dst;
    Ref num = ir_result(tat, ty_scalar(), n2, 0);
    Ref cnt = ir_result(pat, ty_scalar(), n2, 1);
    /* A strong quotient: with no element counted, num is 0 and so is the
     * tangent, as the gradient's strong products make it, not 0 / 0.  No
     * element ties only where the elements recomputed by the second pass
     * differ from the first pass's extremum: where the C compiler folds a
     * libm call of a constant (its value correctly rounded) at one place
     * and calls the library at the other, which a value constant along
     * the path taken allows, and whose tangent there is 0. */
    L->tan[res] = ir_op(tat, OP_DIVZ, num, cnt, NOREF);
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
    const Region *sb = in->x->reg[0];
    int nix = in->nix;
    unsigned char *act = arena_alloc(g->arena, (size_t)nix + 1);
    for (int j = 0; j < nix; j++)
        act[j] = L->tan[in->x->list[j]] != NOREF;
    int start = dst->ids.n;
    IrAt zat = tan_at(L, dst, in->line, OP_FOR, -1);
    IrAt at_ = ir_at(g, dst); /* the loop: a copy of in (in f_hvp, maybe adjoint) */
    at_.line = in->line;
    at_.role = ir_is_rev(in) ? ROLE_ADJOINT : ROLE_PRIMAL;
    at_.flags = in->flags & (IF_BACKWARDS | IF_CKPT);
    uint8_t *crole = arena_alloc(g->arena, (size_t)(2 * nix + 1));
    for (int j = 0; j < 2 * nix; j++)
        crole[j] = j < nix ? ROLE_PRIMAL : ROLE_TANGENT;
    for (;;) {
        dst->ids.n = start; /* drop the previous attempt */
        int nact = 0;
        Ref *init = arena_alloc(g->arena, sizeof(Ref) * (size_t)(2 * nix + 1));
        for (int j = 0; j < nix; j++)
            init[j] = L->map[in->x->list[j]];
        for (int j = 0; j < nix; j++)
            if (act[j]) {
                Ref t = L->tan[in->x->list[j]];
                init[nix + nact++] = t != NOREF ? t : lin_zero_like(L, zat, in->x->list[j]);
            }
        Ref n = ir_for(at_, in->x->ix[0].c, in->x->ix[1].c, nix + nact, init, crole);
        Region *b = g->v.p[n].x->reg[0];
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
                zat.r = b;
                vec_push(g->arena, &b->yield, t != NOREF ? t : lin_zero_like(L, zat, sb->yield.p[j]));
            }
        int *tslot = arena_alloc(g->arena, sizeof(int) * (size_t)(nix + 1));
        for (int j = 0, t = 0; j < nix; j++)
            tslot[j] = act[j] ? nix + t++ : -1;
        loop_results(L, src, at, n, tslot);
        return;
    }
}

/* Is region r (or a region inside it) where x is defined? */
static int defined_in(const Fn *f, Ref x, const Region *r)
{
    for (const Region *p = f->v.p[x].parent; p; p = p->owner == NOREF ? NULL : f->v.p[p->owner].parent)
        if (p == r)
            return 1;
    return 0;
}

/* Is f's GEN id a store as lower_store.c makes it (IF_SETELEM, one
 * yield SELECT(cond, v, old[k0, k1, ...]), old defined before the GEN)?
 * Passes may have reshaped a flagged GEN; then it is an ordinary one. */
int ad_store_gen(const Fn *f, Ref id)
{
    const Inst *in = &f->v.p[id];
    if (in->op != OP_GEN || !(in->flags & IF_SETELEM) || in->x->reg[0]->yield.n != 1)
        return 0;
    const Inst *s = &f->v.p[in->x->reg[0]->yield.p[0]];
    if (s->op != OP_SELECT)
        return 0;
    const Inst *o = &f->v.p[s->arg[2]];
    if (o->op != OP_IDX || o->nix != in->ty.rank || defined_in(f, o->arg[0], in->x->reg[0]) ||
        !ty_eq(f->v.p[o->arg[0]].ty, in->ty)) /* fusion may read a larger array */
        return 0;
    for (int d = 0; d < o->nix; d++) {
        Aff x = o->x->ix[d];
        if (x.c || x.n != 1 || x.a[0] != 1 || x.nq || x.iv[0] != ir_ivar(f, id, d))
            return 0;
    }
    return 1;
}

/* A store y = x with y[i] = v (ad_store_gen): its tangent is the same
 * store on tangents, y_dot = x_dot with y_dot[i] = v_dot, a second GEN
 * yielding SELECT(cond, v_dot, x_dot[k]) (a zero for a missing one),
 * also IF_SETELEM: the C generator writes it in place, one element, as
 * it does the primal store, and ad_transpose reads and zeroes one
 * element of its adjoint.  No product with a 0/1 mask, so no NaN. */
static void lin_store(Lin *L, const Region *src, int at, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    Ref id = src->ids.p[at];
    const Inst *in = &f->v.p[id];
    Ref y = in->x->reg[0]->yield.p[0];
    Ref n1 = lin_loop_copy(L, id, dst, RK_SUM);
    g->v.p[n1].flags |= IF_SETELEM;
    vec_push(g->arena, &g->v.p[n1].x->reg[0]->yield, L->map[y]);
    loop_results(L, src, at, n1, NULL);
    if (L->tan[y] == NOREF || ir_nresults(f, src, at) == 0)
        return;
    Ref n2 = lin_loop_copy(L, id, dst, RK_SUM); /* maps the body anew */
    g->v.p[n2].flags |= IF_SETELEM;
    Region *b2 = g->v.p[n2].x->reg[0];
    const Inst *s = &f->v.p[y];
    IrAt tat = tan_at(L, b2, in->line, OP_SELECT, -1);
    tat.rule_src = L->map[y];
    Ref tv = L->tan[s->arg[1]], tx = L->tan[s->arg[2]];
    if (tv == NOREF)
        tv = ir_num(tat, 0);
    if (tx == NOREF)
        tx = ir_num(tat, 0);
    vec_push(g->arena, &b2->yield, ir_op(tat, OP_SELECT, L->map[s->arg[0]], tv, tx));
    Ref res = src->ids.p[at + 1];
    L->tan[res] = ad_result(res_at(L, dst, 1), n2, 0, &f->v.p[res]);
}

/* GEN, sum RED, LOOP: one loop computing the primal yields and their
 * tangents. */
static void lin_loop(Lin *L, const Region *src, int at, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    Ref id = src->ids.p[at];
    const Inst *in = &f->v.p[id];
    if (in->op == OP_RED && in->red != RK_SUM) {
        lin_red_other(L, src, at, dst);
        return;
    }
    if (ad_store_gen(f, id)) {
        lin_store(L, src, at, dst);
        return;
    }
    Ref n = lin_loop_copy(L, id, dst, RK_SUM);
    Region *b = g->v.p[n].x->reg[0];
    const Region *sb = in->x->reg[0];
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

/* partial p times tangent t for operand k of `in`: where the partial may
 * be infinite (rule_strong) or selects (a 0/1 mask: select, max, min,
 * relu, abs), a strong-zero product MULZ(t, p), so that a zero tangent,
 * or an unselected operand, contributes exactly 0 (no 0 * inf = NaN:
 * "Derivatives never invent a NaN", docs/language.md); else t * p. */
static Ref lin_term(Lin *L, IrAt at, const Inst *in, int k, Ref p, Ref t)
{
    if (p == NOREF || t == NOREF)
        return NOREF;
    const Inst *pi = &L->g->v.p[p];
    if (!lin_strong((Op)in->op, k))
        return lin_scale(L, at, p, t);
    if (pi->op == OP_CONST) /* 0: nothing; else finite, a plain product */
        return pi->x->num == 0 ? NOREF : lin_scale(L, at, p, t);
    return ir_op(at, OP_MULZ, t, p, NOREF);
}

/* Is `in` a quotient by a finite nonzero constant (a mean)?  Its tangent
 * stays t * (1/b), a product by a constant. */
static int by_constant(Lin *L, const Inst *in)
{
    const Inst *bi = &L->g->v.p[L->map[in->arg[1]]];
    return bi->op == OP_CONST && bi->x->num != 0 && isfinite(bi->x->num);
}

/* The tangent of y = a / b (DIV, DIVZ) as one quotient, so that nothing
 * overflows where y does not and a zero numerator gives 0 even at b = 0:
 * DIVZ(a_dot - MULZ(y, b_dot), b).  The terms have rule facts (op, k),
 * the difference and the quotient (op, -1). */
static Ref lin_quot(Lin *L, const Inst *in, Ref y, Region *dst)
{
    IrAt tat[2], sat = tan_at(L, dst, in->line, (Op)in->op, -1);
    for (int k = 0; k < 2; k++) {
        tat[k] = tan_at(L, dst, in->line, (Op)in->op, k);
        tat[k].rule_src = y;
    }
    sat.rule_src = y;
    Ref ta = L->tan[in->arg[0]], tb = L->tan[in->arg[1]], b = L->map[in->arg[1]];
    if (ta == NOREF && tb == NOREF)
        return NOREF;
    Ref num = ta;
    if (tb != NOREF) {
        Ref q = ir_op(tat[1], OP_MULZ, y, tb, NOREF);
        num = ta == NOREF ? ir_op(sat, OP_NEG, q, NOREF, NOREF) : ir_op(sat, OP_SUB, ta, q, NOREF);
    }
    return ir_op(tb != NOREF ? sat : tat[0], OP_DIVZ, num, b, NOREF);
}

/* The tangent of scalar op `in` (y its copy in dst): the sum over its
 * operands k with a tangent of partial_k * tangent_k (lin_term), each
 * term emitted with rule facts (in->op, k), the sum with (in->op, -1),
 * all with y as their rule_src; quotients by lin_quot. */
static Ref lin_rule(Lin *L, const Inst *in, Ref y, Region *dst)
{
    Fn *g = L->g;
    IrAt at = ir_at(g, dst);
    at.line = L->rule_line = in->line;
    at.rule_src = y;
    if ((in->op == OP_DIV || in->op == OP_DIVZ) && !by_constant(L, in))
        return lin_quot(L, in, y, dst);
    Ref args[3] = {NOREF, NOREF, NOREF}, t = NOREF;
    for (int k = 0; k < op_info[in->op].nargs; k++)
        args[k] = L->map[in->arg[k]];
    for (int k = 0; k < op_info[in->op].nargs; k++) {
        Ref tk = L->tan[in->arg[k]];
        if (tk == NOREF)
            continue;
        IrAt tat = tan_at(L, dst, in->line, (Op)in->op, k), sat = tan_at(L, dst, in->line, (Op)in->op, -1);
        tat.rule_src = sat.rule_src = y;
        Ref term;
        if (in->op == OP_ADD || in->op == OP_SUB || in->op == OP_NEG) {
            /* a partial of +1 or -1: the tangent itself, or its negation,
             * as lin_scale makes them, without the constant (which only
             * dead-code removal would read: a fifth of what linearising
             * a gradient built) */
            term = ir_partial_value(in, NULL, 0, k) > 0 ? tk : ir_op(tat, OP_NEG, tk, NOREF, NOREF);
        } else {
            int before = g->v.n;
            Ref p = rule_partial(at, in, args, y, k);
            name_partial(g, in, p, before);
            term = lin_term(L, tat, in, k, p, tk);
        }
        t = lin_add(sat, t, term);
    }
    return t;
}

enum { POLL_EVERY = 4096 }; /* instructions of f between two polls */

static void lin_region(Lin *L, const Region *src, Region *dst)
{
    const Fn *f = L->f;
    Fn *g = L->g;
    for (int i = 0; i < src->ids.n; i++) {
        Ref id = src->ids.p[i];
        if (L->poll && i % POLL_EVERY == POLL_EVERY - 1)
            L->poll(L->poll_arg);
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
            L->map[id] = ir_param(g, dst, in->n);
            L->tan[id] = NOREF;
            continue;
        }
        Ref y = ir_copy_inst(g, dst, in, L->map);
        Ref t = rule_has((Op)in->op) ? lin_rule(L, in, y, dst) : NOREF;
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
    g->col = f->col;
    ir_reserve(g, 4 * f->v.n);
    return g;
}

Ref *ad_ref_map(const Fn *f)
{
    Ref *m = arena_alloc(f->arena, sizeof(Ref) * (size_t)(f->v.n + 1));
    for (int i = 0; i < f->v.n; i++)
        m[i] = NOREF;
    return m;
}

void ad_ref_map_drop(const Fn *f, Ref *m)
{
    arena_drop(f->arena, m, sizeof(Ref) * (size_t)(f->v.n + 1));
}

/* RESULT k of `owner` (in h, appended to dst), typed, named and placed
 * like `from`, the value of another function it stands for. */
Ref ad_result(IrAt at, Ref owner, int k, const Inst *from)
{
    at.line = from->line;
    Ref r = ir_result(at, from->ty, owner, k);
    int tape = at.role == ROLE_TAPE || (at.flags & IF_TAPE);
    at.f->v.p[r].name = tape ? from->name : ir_shown_name(at.f->arena, from);
    return r;
}

/* A buffer whose elements are all stored before they are read
 * (IF_NOINIT: a tape) has a tangent stored alike when every store into it
 * has a tangent store: then the tangent needs no zeroing either (f_hvp's
 * tangent tapes). */
static void noinit_tangents(Lin *L)
{
    const Fn *f = L->f;
    unsigned char *partial = arena_alloc(L->g->arena, (size_t)f->v.n + 1);
    for (Ref v = 0; v < f->v.n; v++) {
        const Inst *in = &f->v.p[v];
        if (in->op == OP_ACC && L->tan[in->arg[0]] != NOREF && L->tan[v] == NOREF)
            partial[in->arg[0]] = 1;
    }
    for (Ref v = 0; v < f->v.n; v++) {
        const Inst *in = &f->v.p[v];
        if (in->op == OP_ZEROS && (in->flags & IF_NOINIT) && L->tan[v] != NOREF && !partial[v])
            L->g->v.p[L->tan[v]].flags |= IF_NOINIT;
    }
    arena_drop(L->g->arena, partial, (size_t)f->v.n + 1);
}

Fn *ad_linearize(const Fn *f, const char *name, FnKind kind)
{
    return ad_linearize_polled(f, name, kind, NULL, NULL);
}

Fn *ad_linearize_polled(const Fn *f, const char *name, FnKind kind, void (*poll)(void *), void *arg)
{
    Arena *A = f->arena;
    Lin L = {0};
    L.f = f;
    L.poll = poll;
    L.poll_arg = arg;
    L.g = ad_derived(f, name, kind);
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
        int k = in->n;
        L.map[id] = ir_param(L.g, L.g->body, k);
        L.g->v.p[L.map[id]].line = in->line;
        if (tparam[k] != NOREF) {
            IrAt at = tan_at(&L, L.g->body, 0, OP_CONST, -1);
            Ref t = ir_add(at, OP_PARAM, L.g->in.p[tparam[k]].ty, NOREF, NOREF, NOREF);
            L.g->v.p[t].n = tparam[k];
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
    noinit_tangents(&L);
    /* outputs: the primal outputs, then their tangents */
    for (int i = 0; i < f->out.n; i++) {
        Output o = f->out.p[i];
        o.ref = L.map[o.ref];
        vec_push(A, &L.g->out, o);
    }
    for (int i = 0; i < f->out.n; i++) {
        Output o = f->out.p[i];
        Ref t = L.tan[o.ref];
        IrAt at = tan_at(&L, L.g->body, 0, OP_CONST, -1);
        if (t == NOREF && o.ty.rank)
            t = ir_add(at, OP_ZEROS, o.ty, NOREF, NOREF, NOREF);
        o.ref = t != NOREF ? t : lin_zero(&L, at);
        o.role = o.ty.rank ? OUT_ARRAY : OUT_BAR;
        o.name = ad_suffixed(A, o.name, "_dot");
        vec_push(A, &L.g->out, o);
    }
    /* the maps are as large as f: the tables of the functions still to
     * come need the memory more */
    ad_ref_map_drop(f, L.map);
    ad_ref_map_drop(f, L.tan);
    arena_drop(A, body.ids.p, sizeof(Ref) * (size_t)body.ids.cap);
    return L.g;
}
