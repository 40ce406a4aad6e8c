/*
 * eval.c - the value of every scalar operation.  The interpreter and the
 * constant folder both call ir_eval_scalar(), so a folded constant is
 * exactly what the interpreter would have computed.  The C generator
 * emits the same formulas (codegen/cgen.c helpers).
 */
#include "ir.h"

#include <math.h>

/* sigmoid by the sign of x: exp never overflows (READING.md, Numerics). */
double ir_sigmoid(double x)
{
    if (x >= 0)
        return 1 / (1 + exp(-x));
    double e = exp(x);
    return e / (1 + e);
}

/* sigmoid'(x) = s(x) s(-x) = e / (1 + e)^2 with e = exp(-|x|), either sign */
double ir_dsigmoid(double x)
{
    double e = exp(-fabs(x));
    return e / ((1 + e) * (1 + e));
}

/* softplus(x) = max(x, 0) + log1p(exp(-|x|)) */
double ir_softplus(double x)
{
    return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}

/* x^n for an integer n: exact for negative x, x^0 = 1. */
static double powi(double x, double k)
{
    int n = (int)k;
    switch (n) {
    case 0: return 1;
    case 1: return x;
    case 2: return x * x;
    case 3: return x * x * x;
    case -1: return 1 / x;
    case -2: return 1 / (x * x);
    default: return pow(x, k);
    }
}

double ir_eval_scalar(Op op, const double *x, double k)
{
    switch (op) {
    case OP_CONST: return k;
    case OP_ADD: return x[0] + x[1];
    case OP_SUB: return x[0] - x[1];
    case OP_MUL: return x[0] * x[1];
    case OP_DIV: return x[0] / x[1];
    case OP_NEG: return -x[0];
    case OP_POW: return pow(x[0], x[1]);
    case OP_POWI: return powi(x[0], k);
    case OP_SELECT: return x[0] != 0 ? x[1] : x[2];
    case OP_EXP: return exp(x[0]);
    case OP_LOG: return log(x[0]);
    case OP_LOG1P: return log1p(x[0]);
    case OP_EXPM1: return expm1(x[0]);
    case OP_SQRT:
    case OP_SQRTZ: return sqrt(x[0]);
    case OP_NODIFF: return x[0];
    case OP_SIN: return sin(x[0]);
    case OP_COS: return cos(x[0]);
    case OP_TAN: return tan(x[0]);
    case OP_ASIN: return asin(x[0]);
    case OP_ACOS: return acos(x[0]);
    case OP_ATAN: return atan(x[0]);
    case OP_SINH: return sinh(x[0]);
    case OP_COSH: return cosh(x[0]);
    case OP_TANH: return tanh(x[0]);
    case OP_ERF: return erf(x[0]);
    case OP_ABS: return fabs(x[0]);
    case OP_SIGN: return x[0] > 0 ? 1 : x[0] < 0 ? -1 : 0;
    case OP_SIGMOID: return ir_sigmoid(x[0]);
    case OP_DSIGMOID: return ir_dsigmoid(x[0]);
    case OP_RELU: return x[0] > 0 ? x[0] : 0;
    case OP_SOFTPLUS: return ir_softplus(x[0]);
    case OP_LGAMMA: return lgamma(x[0]);
    case OP_DIGAMMA: return ir_polygamma(0, x[0]);
    case OP_TRIGAMMA: return ir_polygamma(1, x[0]);
    case OP_TETRAGAMMA: return ir_polygamma(2, x[0]);
    case OP_ATAN2: return atan2(x[0], x[1]);
    case OP_HYPOT: return hypot(x[0], x[1]);
    case OP_MIN: return x[0] < x[1] ? x[0] : x[1];
    case OP_MAX: return x[0] > x[1] ? x[0] : x[1];
    case OP_LT: return x[0] < x[1];
    case OP_LE: return x[0] <= x[1];
    case OP_GT: return x[0] > x[1];
    case OP_GE: return x[0] >= x[1];
    case OP_EQ: return x[0] == x[1];
    case OP_NE: return x[0] != x[1];
    case OP_AND: return x[0] != 0 && x[1] != 0;
    case OP_OR: return x[0] != 0 || x[1] != 0;
    case OP_NOT: return x[0] == 0;
    case OP_MULZ: return x[0] == 0 || x[1] == 0 ? 0 : x[0] * x[1];
    case OP_DIVZ: return x[0] == 0 ? 0 : x[0] / x[1];
    default: BUG("ir_eval_scalar: not a scalar op");
    }
}
