/*
 * rules.c - the derivative rule of every differentiable op, written once.
 *
 * A rule gives the local partial derivative dy/dx_k of an instruction
 * y = op(x_0, x_1, ...) as IR built from the primal values.  Forward mode
 * (ad_linearize) multiplies the operands' tangents by these partials and
 * sums them; reverse mode transposes that linear code (ad_transpose), so
 * the same rule serves f_jvp, f_grad and, applied to the adjoint code
 * again, f_hvp.  A rule returns NOREF for a partial that is identically 0.
 *
 * Kinks follow the language spec (section 5): relu'(0) = abs'(0) = 0;
 * max/min share the derivative equally on ties; hypot and atan2 have
 * derivative 0 at the origin; x^n with integer n is exact.
 *
 * Derivatives never invent a NaN (docs/language.md): the partials that
 * can be infinite at a finite point are listed in rule_strong, and the
 * passes multiply them by tangents with MULZ (0 * inf = 0); x^y at x = 0,
 * y > 0 has d/dy = 0, its partials being strong-zero products too.
 */
#include "ir.h"

#include <math.h>
#include <stdlib.h>

/* 1 / (1 + a*a) and the like: num / den. */
static Ref quot(IrAt at, Ref num, Ref den)
{
    return ir_op(at, OP_DIV, num, den, NOREF);
}

/* den, or 1 where den is 0: a denominator that vanishes only at a point
 * where the numerator vanishes too, giving the spec's 0 there. */
static Ref safe_den(IrAt at, Ref den)
{
    Ref z = ir_op(at, OP_EQ, den, ir_num(at, 0), NOREF);
    return ir_op(at, OP_SELECT, z, ir_num(at, 1), den);
}

/* The derivative of max(a, b) in a (k = 0) or b; for min, less = 1. */
static Ref extremum(IrAt at, Ref a, Ref b, int k, int less)
{
    Ref mine = k == 0 ? a : b, other = k == 0 ? b : a;
    Ref wins = ir_op(at, less ? OP_LT : OP_GT, mine, other, NOREF);
    Ref ties = ir_op(at, OP_EQ, mine, other, NOREF);
    Ref h = ir_num(at, 0.5), zero = ir_num(at, 0);
    Ref half = ir_op(at, OP_SELECT, ties, h, zero);
    return ir_op(at, OP_SELECT, wins, ir_num(at, 1), half);
}

int rule_has(Op op)
{
    switch (op) {
#define OP(name, nargs, kind, cname, prec, lhs, rhs, rule) case OP_##name: return #rule[0] != 'N' || #rule[1] != 'O';
#include "ops.def"
#undef OP
    default: return 0;
    }
}

/* The partials that may be infinite (or NaN) where the function is
 * finite: sqrt, log and friends at the edge of their domain, pow at 0,
 * and the strong-zero ops themselves (whose partials are their operands).
 * One table: a new op with such a partial joins it here. */
int rule_strong(Op op, int k)
{
    (void)k;
    switch (op) {
    case OP_SQRT: case OP_LOG: case OP_LOG1P: case OP_POW: case OP_ASIN: case OP_ACOS:
    case OP_LGAMMA: case OP_DIGAMMA: case OP_TRIGAMMA: /* poles at 0, -1, -2, ... */
    case OP_MULZ: case OP_DIVZ:
        return 1;
    default:
        return 0;
    }
}

/* a * b with a strong zero (MULZ), as a partial: pow's. */
static Ref mulz(IrAt at, Ref a, Ref b)
{
    return ir_op(at, OP_MULZ, a, b, NOREF);
}

/* Every instruction is emitted in the order the code reads (left to
 * right): two emitting calls are never arguments of one call, whose
 * order of evaluation C leaves open, so the IR is the same whatever
 * compiler built dxc. */
/* The partials of arithmetic, powers and select (operands a, b; result y). */
static Ref arith_partial(IrAt at, const Inst *in, Ref a, Ref b, Ref y, int k)
{
    switch ((Op)in->op) {
    case OP_ADD: return ir_num(at, 1);
    case OP_SUB: return ir_num(at, k == 0 ? 1 : -1);
    case OP_NEG: return ir_num(at, -1);
    case OP_MUL: return k == 0 ? b : a;
    case OP_DIV: /* d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b */
    case OP_DIVZ: /* (the tangent code writes them as one quotient: lin_quot) */
        if (k == 0)
            return quot(at, ir_num(at, 1), b);
        return ir_op(at, OP_NEG, quot(at, y, b), NOREF, NOREF);
    case OP_MULZ: return k == 0 ? b : a;
    case OP_POW: /* d(a^b)/da = b a^(b-1), d(a^b)/db = log(a) a^b, both with
                  * a strong zero: d/db is 0 where a^b is (a = 0, b > 0), and
                  * 1^0 a^-1 at a = 0, b = 1 is 1, not NaN (also when f_hvp
                  * differentiates these partials) */
        if (k == 0) {
            Ref bm1 = ir_op(at, OP_SUB, b, ir_num(at, 1), NOREF);
            return mulz(at, b, ir_op(at, OP_POW, a, bm1, NOREF));
        }
        return mulz(at, ir_op(at, OP_LOG, a, NOREF, NOREF), y);
    case OP_POWI: /* d(a^n)/da = n a^(n-1); x^0 has derivative 0 */
        if (in->n == 0)
            return NOREF;
        if (in->n == 1)
            return ir_num(at, 1);
        Ref n = ir_num(at, in->n);
        return ir_op(at, OP_MUL, n, ir_powi(at, a, in->n - 1), NOREF);
    case OP_SELECT:
        if (k == 0)
            return NOREF;
        Ref first = ir_num(at, k == 1);
        return ir_op(at, OP_SELECT, a, first, ir_num(at, k == 2));
    default: return NOREF;
    }
}

/* The partials of the elementwise maths (operands a, b; result y). */
static Ref math_partial(IrAt at, const Inst *in, Ref a, Ref b, Ref y, int k)
{
    switch ((Op)in->op) {
    case OP_EXP: return y;
    case OP_LOG: return quot(at, ir_num(at, 1), a);
    case OP_LOG1P: {
        Ref one = ir_num(at, 1);
        return quot(at, one, ir_op(at, OP_ADD, ir_num(at, 1), a, NOREF));
    }
    case OP_EXPM1: return ir_op(at, OP_ADD, y, ir_num(at, 1), NOREF);
    case OP_SQRT: return quot(at, ir_num(at, 0.5), y);
    case OP_SQRTZ: /* norm: 0.5 / sqrt(a), but 0 at the origin (spec section 5) */
    {
        Ref pos = ir_op(at, OP_GT, y, ir_num(at, 0), NOREF);
        Ref half = ir_num(at, 0.5);
        Ref q = quot(at, half, safe_den(at, y));
        return ir_op(at, OP_SELECT, pos, q, ir_num(at, 0));
    }
    case OP_SIN: return ir_op(at, OP_COS, a, NOREF, NOREF);
    case OP_COS: return ir_op(at, OP_NEG, ir_op(at, OP_SIN, a, NOREF, NOREF), NOREF, NOREF);
    case OP_TAN: {
        Ref one = ir_num(at, 1);
        return ir_op(at, OP_ADD, one, ir_powi(at, y, 2), NOREF);
    }
    case OP_ASIN:
    case OP_ACOS: { /* +-1 / sqrt(1 - a^2) */
        Ref one = ir_num(at, 1);
        Ref s = ir_op(at, OP_SQRT, ir_op(at, OP_SUB, one, ir_powi(at, a, 2), NOREF), NOREF, NOREF);
        return quot(at, ir_num(at, in->op == OP_ASIN ? 1 : -1), s);
    }
    case OP_ATAN: {
        Ref num = ir_num(at, 1), one = ir_num(at, 1);
        return quot(at, num, ir_op(at, OP_ADD, one, ir_powi(at, a, 2), NOREF));
    }
    case OP_SINH: return ir_op(at, OP_COSH, a, NOREF, NOREF);
    case OP_COSH: return ir_op(at, OP_SINH, a, NOREF, NOREF);
    case OP_TANH: {
        Ref one = ir_num(at, 1);
        return ir_op(at, OP_SUB, one, ir_powi(at, y, 2), NOREF);
    }
    case OP_ERF: /* 2/sqrt(pi) exp(-a^2) */
    {
        Ref c = ir_num(at, 1.12837916709551257390); /* 2/sqrt(pi) */
        return ir_op(at, OP_MUL, c,
                     ir_op(at, OP_EXP, ir_op(at, OP_NEG, ir_powi(at, a, 2), NOREF, NOREF), NOREF, NOREF),
                     NOREF);
    }
    case OP_ABS: return ir_op(at, OP_SIGN, a, NOREF, NOREF);
    case OP_SIGMOID: /* s(x) (1 - s(x)) = s(x) s(-x) = e / (1 + e)^2, e = exp(-|x|):
                      * accurate in both tails, and the C helpers compute e
                      * once for s(x) and s'(x) */
        return ir_op(at, OP_DSIGMOID, a, NOREF, NOREF);
    case OP_DSIGMOID: /* s'(x) (1 - 2 s(x)), the sigmoid f_hvp has computed */
        return ir_op(at, OP_MUL, y,
                     ir_op(at, OP_SUB, ir_num(at, 1),
                           ir_op(at, OP_MUL, ir_num(at, 2), ir_op(at, OP_SIGMOID, a, NOREF, NOREF), NOREF),
                           NOREF),
                     NOREF);
    case OP_RELU:
    {
        Ref pos = ir_op(at, OP_GT, a, ir_num(at, 0), NOREF);
        Ref one = ir_num(at, 1);
        return ir_op(at, OP_SELECT, pos, one, ir_num(at, 0));
    }
    case OP_SOFTPLUS: return ir_op(at, OP_SIGMOID, a, NOREF, NOREF);
    /* lgamma' = digamma, digamma' = trigamma, trigamma' = tetragamma: all
     * infinite (or NaN) at the poles 0, -1, -2, ... */
    case OP_LGAMMA: return ir_op(at, OP_DIGAMMA, a, NOREF, NOREF);
    case OP_DIGAMMA: return ir_op(at, OP_TRIGAMMA, a, NOREF, NOREF);
    case OP_TRIGAMMA: return ir_op(at, OP_TETRAGAMMA, a, NOREF, NOREF);
    case OP_ATAN2: { /* atan2(a, b): d/da = b/(a^2+b^2), d/db = -a/(a^2+b^2) */
        Ref a2 = ir_powi(at, a, 2);
        Ref den = safe_den(at, ir_op(at, OP_ADD, a2, ir_powi(at, b, 2), NOREF));
        return k == 0 ? quot(at, b, den) : quot(at, ir_op(at, OP_NEG, a, NOREF, NOREF), den);
    }
    case OP_HYPOT: /* d/da = a / hypot(a, b) */
        return quot(at, k == 0 ? a : b, safe_den(at, y));
    case OP_MIN: return extremum(at, a, b, k, 1);
    case OP_MAX: return extremum(at, a, b, k, 0);
    default: return NOREF;
    }
}

Ref rule_partial(IrAt at, const Inst *in, const Ref *x, Ref y, int k)
{
    at.rule_op = in->op;
    at.rule_arg = (int8_t)k;
    switch ((Op)in->op) {
    case OP_ADD: case OP_SUB: case OP_NEG: case OP_MUL: case OP_DIV: case OP_POW: case OP_POWI:
    case OP_SELECT: case OP_MULZ: case OP_DIVZ:
        return arith_partial(at, in, x[0], x[1], y, k);
    default:
        return math_partial(at, in, x[0], x[1], y, k);
    }
}

double ir_partial_value(const Inst *in, const double *x, double y, int k)
{
    switch ((Op)in->op) { /* the common ones without building anything */
    case OP_ADD: return 1;
    case OP_SUB: return k == 0 ? 1 : -1;
    case OP_NEG: return -1;
    case OP_MUL: return x[1 - k];
    default: break;
    }
    if (!rule_has((Op)in->op))
        return 0;
    Arena *A = arena_new(); /* the rule is built into a scratch function */
    Fn *f = ir_fn_new(A, "partial", FN_PRIMAL);
    IrAt at = ir_at(f, f->body);
    Ref xs[3] = {NOREF, NOREF, NOREF};
    for (int j = 0; j < op_info[in->op].nargs; j++)
        xs[j] = ir_num(at, x[j]);
    Ref yr = ir_num(at, y);
    Ref d = rule_partial(at, in, xs, yr, k);
    if (d == NOREF) {
        arena_free(A);
        return 0;
    }
    double *v = malloc(sizeof(double) * (size_t)(f->v.n + 1));
    if (!v)
        BUG("rules: out of memory");
    for (int i = 0; i <= d; i++) {
        const Inst *p = &f->v.p[i];
        double a[3] = {0, 0, 0};
        for (int j = 0; j < op_info[p->op].nargs; j++)
            a[j] = v[p->arg[j]];
        v[i] = p->op == OP_CONST ? p->x->num
                                 : ir_eval_scalar((Op)p->op, a, p->op == OP_POWI ? p->n : 0);
    }
    double r = v[d];
    free(v);
    arena_free(A);
    return r;
}
