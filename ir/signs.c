/*
 * signs.c - negations absorbed into the sums that use them (opt_signs),
 * the last pass over each derivative.
 *
 * The derivative rules of subtraction and negation put minus signs on
 * cotangents and tangents: the adjoint of a = -k x - c v is
 *
 *     t1 = -a_bar;  v_bar += t1 * c;  c_bar += t1 * v;  k_bar += -(a_bar * x)
 *
 * where a hand-written gradient says  v_bar -= a_bar * c;  c_bar -= a_bar
 * * v;  k_bar -= a_bar * x.  Each negation of a loop-variant value costs an
 * instruction per iteration (and a register copy with it, as x86's SSE
 * negates in place), so this pass moves every sign it can into the
 * addition or subtraction that consumes it:
 *
 *     x + m  ->  x - m'     m + x  ->  x - m'     x - m  ->  x + m'
 *     x_bar[i] += m  ->  x_bar[i] -= m'   (an ACC, which then has IF_SUB)
 *
 * where m is "negatable", m = -m' for an m' built from m's own
 * instructions:
 *
 *     -p          m' = p
 *     p * q, p / q (one operand negatable, the other not):  m' the same
 *                 product with that operand's m'
 *     p + q       (both negatable): m' = p' + q'
 *     p - q       (p negatable): m' = p' + q, or p' - q' if q is too
 *
 * and a product of two negatables, (-p)(-q), becomes p q.  A product or
 * sum is rewritten in place, so it must have no other use, and no name (a
 * variable a_dot holding -a_dot would mislead its reader); a negation is
 * only bypassed, so it may (its other uses keep it, and the pass drops it
 * when none is left: sweep).
 *
 * --explain says the step of each negation a rule made in a gradient
 * ("da/d(c * v) = -1, so adj(c * v) -= a_bar") on its statement.  When the negation goes,
 * the accumulation that takes it in says that step instead (its rule
 * fields take the negation's: keep_step), so a negation with a step is
 * taken in only by an accumulation with no rule of its own, one at a
 * time; the C generator then says both steps (cbody.c, negation_note).
 *
 * Every rewrite is exact in IEEE arithmetic: x + (-y) is x - y by
 * definition, (-p) q = -(p q) and (-p) / q = -(p / q) because rounding is
 * symmetric, and (-p) + (-q) = -(p + q) but for the sign of an exact zero
 * (IEEE 754-2008, 6.3: an exact zero sum is +0).  So the derivatives'
 * values do not change (but for that sign); only the instructions that
 * compute them do.  Strong products (MULZ, DIVZ) are left alone: their
 * zero is a choice, not an IEEE result.
 *
 * Only derivative code is rewritten (a consumer or a rewritten product
 * that is not ROLE_PRIMAL): f and the forward sweep of each derivative
 * stay as the model writes them, so f_grad's forward pass still reads as
 * f does.  It runs after every other pass, when nothing reads the tangent
 * forms ad_transpose needs.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    Fn *f;
    int *uses;           /* the number of uses of each value */
    signed char *known;  /* negatable(v): -1 not yet asked, else 0 or 1 */
    Ref said;            /* the first negation absorb bypassed that a rule
                            made (--explain says its step), or NOREF */
    int dead;            /* some negation has no use left */
} Signs;

static void count_uses(Signs *S, const Region *r)
{
    const Fn *f = S->f;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        for (int k = 0; k < 3; k++)
            if (in->arg[k] != NOREF)
                S->uses[in->arg[k]]++;
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int k = 0; k < in->nix; k++)
                S->uses[in->x->list[k]]++;
        for (int k = 0; k < 2 && ir_has_regions(in); k++)
            if (in->x->reg[k])
                count_uses(S, in->x->reg[k]);
    }
    for (int i = 0; i < r->yield.n; i++)
        S->uses[r->yield.p[i]]++;
}

static int real_scalar(const Inst *in)
{
    return in->ty.kind == TY_REAL && in->ty.rank == 0;
}

/* Derivative code, a real scalar: what this pass may rewrite. */
static int derivative(const Inst *in)
{
    return in->role != ROLE_PRIMAL && real_scalar(in);
}

/* Is m = -m' for an m' made of m's instructions (see the top)?  A
 * product, quotient, sum or difference is rewritten in place, so its one
 * use must be the one being rewritten, and it must have no name: a_dot
 * holding -a_dot would mislead its reader. */
static int negatable(Signs *S, Ref m)
{
    if (S->known[m] >= 0)
        return S->known[m];
    const Inst *in = &S->f->v.p[m];
    int yes = 0;
    if (in->op == OP_NEG)
        yes = real_scalar(in);
    else if (derivative(in) && S->uses[m] == 1 && !in->name) {
        switch (in->op) {
        case OP_MUL:
        case OP_DIV: /* (-p) q = -(p q): one operand negatable, not both */
            yes = negatable(S, in->arg[0]) != negatable(S, in->arg[1]);
            break;
        case OP_ADD: /* (-p) + (-q) = -(p + q) */
            yes = negatable(S, in->arg[0]) && negatable(S, in->arg[1]);
            break;
        case OP_SUB: /* (-p) - q = -(p + q), (-p) - (-q) = -(p - q) */
            yes = negatable(S, in->arg[0]);
            break;
        default:
            break;
        }
    }
    S->known[m] = (signed char)yes;
    return yes;
}

/* A negation made by a rule, in a gradient (--explain says its step,
 * "da/d(c * v) = -1, so adj(c * v) -= a_bar"; it comments no other
 * function).  Not whether its rule_src is known: that depends on whether
 * the function was compacted (ir_compact), and the C must not. */
static int has_step(const Signs *S, const Inst *in)
{
    return (S->f->kind == FN_GRAD || S->f->kind == FN_VJP) && in->op == OP_NEG && in->rule_op &&
           in->rule_arg >= 0;
}

/* m' for a negatable m: the operand of a negation, or m rewritten in
 * place. */
static Ref absorb(Signs *S, Ref m)
{
    Inst *in = &S->f->v.p[m];
    Ref a = in->arg[0], b = in->arg[1];
    switch (in->op) {
    case OP_NEG:
        if (has_step(S, in))
            S->said = m;
        /* the consumer reads p itself now: one use more, so a product p
         * is no longer rewritten in place if the negation stays */
        S->uses[a]++;
        S->known[a] = -1;
        if (--S->uses[m] == 0)
            S->dead = 1; /* swept at the end */
        return a;
    case OP_MUL:
    case OP_DIV:
        if (negatable(S, a))
            in->arg[0] = absorb(S, a);
        else
            in->arg[1] = absorb(S, b);
        break;
    case OP_ADD:
        in->arg[0] = absorb(S, a);
        in->arg[1] = absorb(S, b);
        break;
    default: /* OP_SUB */
        in->arg[0] = absorb(S, a);
        if (negatable(S, b))
            in->arg[1] = absorb(S, b);
        else
            in->op = OP_ADD;
        break;
    }
    S->known[m] = 0; /* m is m' now */
    return m;
}

/* How many negations made by a rule absorb(m) would bypass. */
static int steps_in(Signs *S, Ref m)
{
    const Inst *in = &S->f->v.p[m];
    Ref a = in->arg[0], b = in->arg[1];
    switch (in->op) {
    case OP_NEG:
        return has_step(S, in);
    case OP_MUL:
    case OP_DIV:
        return steps_in(S, negatable(S, a) ? a : b);
    case OP_ADD:
        return steps_in(S, a) + steps_in(S, b);
    default: /* OP_SUB */
        return steps_in(S, a) + (negatable(S, b) ? steps_in(S, b) : 0);
    }
}

/* An adjoint accumulation: x_bar + t (IF_ACC), or x_bar[i] += t (ACC). */
static int accumulates(const Inst *in)
{
    return ir_is_acc(in) || (in->op == OP_ACC && !(in->flags & IF_STORE));
}

/* May the consumer `id` take negatable m in?  Only if the steps --explain
 * says stay said: a negation made by a rule that m holds is said by the
 * consumer instead (keep_step), which has room for one, and only when
 * no rule of its own says its step (an ACC's IDX rule, the transpose of
 * a read, only says where the adjoint goes when nothing else is said). */
static int may_absorb(Signs *S, Ref id, Ref m)
{
    const Inst *in = &S->f->v.p[id];
    int n = steps_in(S, m);
    return n == 0 || (n == 1 && accumulates(in) && (!in->rule_op || in->rule_op == OP_IDX));
}

/* The consumer `id`, an accumulation with no rule of its own that says
 * a step (may_absorb), took a negation in: it takes the rule of the
 * negation absorb bypassed, so that --explain still says the step
 * ("da/d(c * v) = -1, so adj(c * v) -= a_bar") the negation's statement
 * said before. */
static void keep_step(Signs *S, Ref id)
{
    Inst *in = &S->f->v.p[id];
    const Inst *n = &S->f->v.p[S->said];
    in->rule_op = n->rule_op;
    in->rule_arg = n->rule_arg;
    in->rule_src = n->rule_src;
    S->said = NOREF;
}

/* Each instruction after its operands (program order), so an operand has
 * taken its own negations in before it is asked whether it is one. */
static void signs_region(Signs *S, const Region *r)
{
    Fn *f = S->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        for (int k = 0; k < 2 && ir_has_regions(in); k++)
            if (in->x->reg[k])
                signs_region(S, in->x->reg[k]);
        Ref a = in->arg[0], b = in->arg[1];
        if (in->op == OP_ACC) {
            if (in->role != ROLE_PRIMAL && !(in->flags & IF_STORE) && negatable(S, b) &&
                may_absorb(S, id, b)) {
                in->arg[1] = absorb(S, b);     /* x_bar[i] += m */
                in->flags ^= IF_SUB;
                if (S->said != NOREF)
                    keep_step(S, id);
            }
            continue;
        }
        if (!derivative(in))
            continue;
        switch (in->op) {
        case OP_ADD:
        case OP_SUB:
            if (negatable(S, b) && may_absorb(S, id, b)) { /* x + m, x - m */
                in->arg[1] = absorb(S, b);
                in->op = in->op == OP_ADD ? OP_SUB : OP_ADD;
            } else if (in->op == OP_ADD && !(in->flags & IF_ACC) && negatable(S, a) &&
                       may_absorb(S, id, a)) { /* m + x (an accumulator stays first) */
                in->arg[0] = b;
                in->arg[1] = absorb(S, a);
                in->op = OP_SUB;
            }
            break;
        case OP_MUL:
        case OP_DIV:
            if (negatable(S, a) && negatable(S, b) && steps_in(S, a) + steps_in(S, b) == 0) {
                /* (-p) (-q) = p q */
                in->arg[0] = absorb(S, a);
                in->arg[1] = absorb(S, b);
            }
            break;
        default:
            break;
        }
        if (S->said != NOREF)
            keep_step(S, id);
        S->known[id] = -1; /* asked again, as it is now */
    }
}

/* Drops from r and the regions in it the negations left without a use
 * (the only instructions this pass leaves dead: one walk, not opt_dce's
 * marking of the whole function). */
static void sweep(const Signs *S, Region *r)
{
    const Fn *f = S->f;
    int k = 0;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        for (int s = 0; s < 2 && ir_has_regions(in); s++)
            if (in->x->reg[s])
                sweep(S, in->x->reg[s]);
        if (in->op != OP_NEG || S->uses[id] != 0)
            r->ids.p[k++] = id;
    }
    r->ids.n = k;
}

void opt_signs(Fn *f)
{
    size_t n = (size_t)f->v.n + 1;
    Signs S = {f, arena_alloc(f->arena, sizeof(int) * n), arena_alloc(f->arena, n), NOREF, 0};
    memset(S.known, -1, n);
    count_uses(&S, f->body);
    for (int i = 0; i < f->out.n; i++)
        S.uses[f->out.p[i].ref]++;
    signs_region(&S, f->body);
    if (S.dead)
        sweep(&S, f->body);
    arena_drop(f->arena, S.uses, sizeof(int) * n);
    arena_drop(f->arena, S.known, n);
}
