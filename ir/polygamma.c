/*
 * polygamma.c - digamma, trigamma and tetragamma, the derivatives of
 * log Gamma (psi^(n) for n = 0, 1, 2), for the interpreter and the
 * constant folder (ir_eval_scalar).  C99's <math.h> has lgamma but none
 * of these, so the generated C computes them itself: codegen/cpoly.c
 * writes the same algorithm as a static helper, with the coefficients
 * taken from ir_polygamma_coef below, so both print the same numbers.
 *
 * The algorithm, for psi^(n)(x):
 *   - x <= 0: the reflection formulas (DLMF 5.5.4 and its derivatives,
 *     DLMF 5.15.6)
 *       psi(x)   = psi(1 - x) - pi cot(pi x)
 *       psi1(x)  = pi^2 / sin^2(pi x) - psi1(1 - x)
 *       psi2(x)  = psi2(1 - x) - 2 pi^3 cot(pi x) / sin^2(pi x)
 *     with pi x reduced to pi f, f = x - round(x) in [-1/2, 1/2] (exact;
 *     cot and sin^2 have period 1), and cot(pi f) written as
 *     tan(pi (1/2 - f)) for |f| > 1/4, exact at half-integers.  The
 *     poles x = 0, -1, -2, ... give NaN (digamma, tetragamma: the sign
 *     differs on the two sides) and +inf (trigamma).
 *   - the recurrence psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n+1)
 *     (DLMF 5.5.2, 5.15.5) until x >= IR_PSI_SHIFT = 10;
 *   - there, the asymptotic series in z = 1/x^2 with the Bernoulli
 *     numbers B_2k (DLMF 5.11.2, 5.15.8; Abramowitz & Stegun 6.3.18,
 *     6.4.11-12), k = 1..8:
 *       psi(x)  ~ log x - 1/(2x) - sum B_2k/(2k) z^k
 *       psi1(x) ~ (1 + 1/(2x) + sum B_2k z^k) / x
 *       psi2(x) ~ -z (1 + 1/x + sum (2k+1) B_2k z^k)
 *     The first term left out is below 1e-16 of the value for x >= 10
 *     (the terms' size is B_18 / x^18 and the like).
 * Measured against mpmath (700 points over -30..1e12): relative error
 * below 1e-15 for trigamma and tetragamma, below 8e-15 for digamma (the
 * worst on the negative axis), except near digamma's zeros (1.4616...,
 * and one between each two negative poles), where the absolute error
 * stays near 4e-16.
 */
#include "ir.h"

#include <math.h>

#define PI 3.14159265358979323846

/* B_2k = num[k-1] / den[k-1], k = 1..8. */
static const double bern_num[IR_PSI_TERMS] = {1, -1, 1, -1, 5, -691, 7, -3617};
static const double bern_den[IR_PSI_TERMS] = {6, 30, 42, 30, 66, 2730, 6, 510};

double ir_polygamma_coef(int n, int k)
{
    double kk = k + 1; /* the series' k */
    switch (n) {
    case 0: return bern_num[k] / (bern_den[k] * 2 * kk);
    case 1: return bern_num[k] / bern_den[k];
    default: return (2 * kk + 1) * bern_num[k] / bern_den[k];
    }
}

double ir_polygamma_refl(int n)
{
    return n == 0 ? -PI : n == 1 ? PI * PI : -2 * PI * PI * PI;
}

/* The series' polynomial in z, by Horner's rule from the last term. */
static double series(int n, double z)
{
    double p = ir_polygamma_coef(n, IR_PSI_TERMS - 1);
    for (int k = IR_PSI_TERMS - 2; k >= 0; k--)
        p = ir_polygamma_coef(n, k) + z * p;
    return p;
}

double ir_polygamma(int n, double x)
{
    double r = 0, s = 1, a = 0;
    if (x <= 0) {
        double f = x - round(x); /* exact, in [-1/2, 1/2] */
        if (!(f < 0 || f > 0))   /* a pole, or -inf */
            return n == 1 ? HUGE_VAL : NAN;
        double c = f < -0.25 ? -tan(PI * (0.5 + f)) : f > 0.25 ? tan(PI * (0.5 - f))
                                                              : 1 / tan(PI * f);
        double t = sin(PI * f);
        if (n == 0)
            r = ir_polygamma_refl(0) * c;
        else if (n == 1)
            r = ir_polygamma_refl(1) / (t * t);
        else
            r = ir_polygamma_refl(2) * c / (t * t);
        s = n == 1 ? -1 : 1;
        x = 1 - x;
    }
    for (; x < IR_PSI_SHIFT; x += 1)
        a -= n == 0 ? 1 / x : n == 1 ? -1 / (x * x) : 2 / (x * x * x);
    double z = 1 / (x * x), v;
    if (n == 0)
        v = log(x) - 0.5 / x - z * series(0, z);
    else if (n == 1)
        v = (1 + 0.5 / x + z * series(1, z)) / x;
    else
        v = -z * (1 + 1 / x + z * series(2, z));
    return r + s * (a + v);
}
