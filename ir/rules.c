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
 */
#include "ir.h"

#include <math.h>

Ref em(Emit *e, Op op, Ref a, Ref b, Ref c)
{
    Type t = op_info[op].kind == K_BOOL ? ty_bool() : ty_scalar();
    Ref r = ir_emit(e->g, e->r, op, t, a, b, c);
    e->g->v.p[r].line = e->line;
    e->g->v.p[r].rev = (uint8_t)e->rev;
    return r;
}

Ref em_const(Emit *e, double k)
{
    Ref r = ir_const(e->g, e->r, k);
    e->g->v.p[r].line = e->line;
    e->g->v.p[r].rev = (uint8_t)e->rev;
    return r;
}

static Ref em_powi(Emit *e, Ref a, double n)
{
    Ref r = em(e, OP_POWI, a, NOREF, NOREF);
    e->g->v.p[r].k = n;
    return r;
}

/* 1 / (1 + a*a) and the like: num / den. */
static Ref quot(Emit *e, Ref num, Ref den)
{
    return em(e, OP_DIV, num, den, NOREF);
}

/* den, or 1 where den is 0: a denominator that vanishes only at a point
 * where the numerator vanishes too, giving the spec's 0 there. */
static Ref safe_den(Emit *e, Ref den)
{
    Ref z = em(e, OP_EQ, den, em_const(e, 0), NOREF);
    return em(e, OP_SELECT, z, em_const(e, 1), den);
}

/* The derivative of max(a, b) in a (k = 0) or b; for min, less = 1. */
static Ref extremum(Emit *e, Ref a, Ref b, int k, int less)
{
    Ref mine = k == 0 ? a : b, other = k == 0 ? b : a;
    Ref wins = em(e, less ? OP_LT : OP_GT, mine, other, NOREF);
    Ref ties = em(e, OP_EQ, mine, other, NOREF);
    Ref half = em(e, OP_SELECT, ties, em_const(e, 0.5), em_const(e, 0));
    return em(e, OP_SELECT, wins, em_const(e, 1), half);
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

Ref rule_partial(Emit *e, const Inst *at, const Ref *x, Ref y, int k)
{
    Ref a = x[0], b = x[1];
    switch ((Op)at->op) {
    case OP_ADD: return em_const(e, 1);
    case OP_SUB: return em_const(e, k == 0 ? 1 : -1);
    case OP_NEG: return em_const(e, -1);
    case OP_MUL: return k == 0 ? b : a;
    case OP_DIV: /* d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b */
        return k == 0 ? quot(e, em_const(e, 1), b) : em(e, OP_NEG, quot(e, y, b), NOREF, NOREF);
    case OP_POW: /* d(a^b)/da = b a^(b-1), d(a^b)/db = log(a) a^b */
        if (k == 0)
            return em(e, OP_MUL, b, em(e, OP_POW, a, em(e, OP_SUB, b, em_const(e, 1), NOREF), NOREF), NOREF);
        return em(e, OP_MUL, em(e, OP_LOG, a, NOREF, NOREF), y, NOREF);
    case OP_POWI: /* d(a^n)/da = n a^(n-1); x^0 has derivative 0 */
        if (at->k == 0)
            return NOREF;
        if (at->k == 1)
            return em_const(e, 1);
        return em(e, OP_MUL, em_const(e, at->k), em_powi(e, a, at->k - 1), NOREF);
    case OP_SELECT:
        if (k == 0)
            return NOREF;
        return em(e, OP_SELECT, a, em_const(e, k == 1), em_const(e, k == 2));
    case OP_EXP: return y;
    case OP_LOG: return quot(e, em_const(e, 1), a);
    case OP_LOG1P: return quot(e, em_const(e, 1), em(e, OP_ADD, em_const(e, 1), a, NOREF));
    case OP_EXPM1: return em(e, OP_ADD, y, em_const(e, 1), NOREF);
    case OP_SQRT: return quot(e, em_const(e, 0.5), y);
    case OP_SQRTZ: /* norm: 0.5 / sqrt(a), but 0 at the origin (spec section 5) */
        return em(e, OP_SELECT, em(e, OP_GT, y, em_const(e, 0), NOREF),
                  quot(e, em_const(e, 0.5), safe_den(e, y)), em_const(e, 0));
    case OP_SIN: return em(e, OP_COS, a, NOREF, NOREF);
    case OP_COS: return em(e, OP_NEG, em(e, OP_SIN, a, NOREF, NOREF), NOREF, NOREF);
    case OP_TAN: return em(e, OP_ADD, em_const(e, 1), em_powi(e, y, 2), NOREF);
    case OP_ASIN:
    case OP_ACOS: { /* +-1 / sqrt(1 - a^2) */
        Ref s = em(e, OP_SQRT, em(e, OP_SUB, em_const(e, 1), em_powi(e, a, 2), NOREF), NOREF, NOREF);
        return quot(e, em_const(e, at->op == OP_ASIN ? 1 : -1), s);
    }
    case OP_ATAN: return quot(e, em_const(e, 1), em(e, OP_ADD, em_const(e, 1), em_powi(e, a, 2), NOREF));
    case OP_SINH: return em(e, OP_COSH, a, NOREF, NOREF);
    case OP_COSH: return em(e, OP_SINH, a, NOREF, NOREF);
    case OP_TANH: return em(e, OP_SUB, em_const(e, 1), em_powi(e, y, 2), NOREF);
    case OP_ERF: /* 2/sqrt(pi) exp(-a^2) */
        return em(e, OP_MUL, em_const(e, 1.12837916709551257390) /* 2/sqrt(pi) */,
                  em(e, OP_EXP, em(e, OP_NEG, em_powi(e, a, 2), NOREF, NOREF), NOREF, NOREF), NOREF);
    case OP_ABS: return em(e, OP_SIGN, a, NOREF, NOREF);
    case OP_SIGMOID: /* s(x) (1 - s(x)) = s(x) s(-x): accurate in both tails */
        return em(e, OP_MUL, y, em(e, OP_SIGMOID, em(e, OP_NEG, a, NOREF, NOREF), NOREF, NOREF),
                  NOREF);
    case OP_RELU:
        return em(e, OP_SELECT, em(e, OP_GT, a, em_const(e, 0), NOREF), em_const(e, 1), em_const(e, 0));
    case OP_SOFTPLUS: return em(e, OP_SIGMOID, a, NOREF, NOREF);
    case OP_ATAN2: { /* atan2(a, b): d/da = b/(a^2+b^2), d/db = -a/(a^2+b^2) */
        Ref den = safe_den(e, em(e, OP_ADD, em_powi(e, a, 2), em_powi(e, b, 2), NOREF));
        return k == 0 ? quot(e, b, den) : quot(e, em(e, OP_NEG, a, NOREF, NOREF), den);
    }
    case OP_HYPOT: /* d/da = a / hypot(a, b) */
        return quot(e, k == 0 ? a : b, safe_den(e, y));
    case OP_MIN: return extremum(e, a, b, k, 1);
    case OP_MAX: return extremum(e, a, b, k, 0);
    default: return NOREF;
    }
}
