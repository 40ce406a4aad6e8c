/*
 * cpoly.c - the generated file's digamma, trigamma and tetragamma
 * helpers (psi^(n), n = 0, 1, 2), written only when the code calls them.
 *
 * <math.h> has lgamma but no polygamma function, so the file carries its
 * own: the algorithm of ir/polygamma.c (reflection for x <= 0, the
 * recurrence up to x >= IR_PSI_SHIFT, the asymptotic series there), with
 * every coefficient printed from ir_polygamma_coef, so the generated code
 * computes what the interpreter computes, operation for operation.  The
 * helper always computes in double; with --real=float it takes and
 * returns float (one rounding at the end), which keeps the series'
 * coefficients exact and costs little next to the loop.  Its maths
 * calls go through the double hooks (DX_LOG, DX_TAN, ...: cmaths.c).
 */
#include "cgen.h"

#include <stdio.h>

static const char *const what[3] = {
    "digamma(x) = d/dx log(Gamma(x)); NaN at the poles 0, -1, -2, ...",
    "trigamma(x) = d/dx digamma(x); +inf at the poles 0, -1, -2, ...",
    "tetragamma(x) = d/dx trigamma(x); NaN at the poles 0, -1, -2, ...",
};

/* The series' polynomial in z by Horner's rule: c0 + z * (c1 + ...). */
static void series(FILE *out, int n)
{
    for (int k = 0; k < IR_PSI_TERMS - 1; k++)
        fprintf(out, "%.17g + z * (", ir_polygamma_coef(n, k));
    fprintf(out, "%.17g", ir_polygamma_coef(n, IR_PSI_TERMS - 1));
    for (int k = 0; k < IR_PSI_TERMS - 1; k++)
        fputc(')', out);
}

/* x <= 0: the reflection term r (and s = -1 for trigamma), x = 1 - x;
 * f = x - round(x) as in ir/polygamma.c, c = cot(pi x), t = sin(pi x). */
static void reflection(Cg *c, FILE *out, int n)
{
    const double pi = 3.14159265358979323846;
    fputs("    if (x <= 0.0) {\n", out);
    fprintf(out, "        double f = x - %s(x);\n", cg_maths(c, "round", 0));
    fprintf(out, "        if (!(f < 0.0 || f > 0.0)) /* a pole, or -inf */\n            return %s;\n",
            n == 1 ? "HUGE_VAL" : "(double)NAN"); /* NAN is a float (C99 7.12p5) */
    if (n != 1) {
        const char *tn = cg_maths(c, "tan", 0);
        fprintf(out, "        c = f < -0.25 ? -%s(%.17g * (0.5 + f)) : f > 0.25 ? %s(%.17g * (0.5 - f))\n"
                     "                                : 1.0 / %s(%.17g * f);\n", tn, pi, tn, pi, tn, pi);
    }
    if (n != 0)
        fprintf(out, "        t = %s(%.17g * f);\n", cg_maths(c, "sin", 0), pi);
    if (n == 0)
        fprintf(out, "        r = %.17g * c;\n", ir_polygamma_refl(0));
    else if (n == 1)
        fprintf(out, "        r = %.17g / (t * t);\n        s = -1.0;\n", ir_polygamma_refl(1));
    else
        fprintf(out, "        r = %.17g * c / (t * t);\n", ir_polygamma_refl(2));
    fputs("        x = 1.0 - x;\n    }\n", out);
}

void cg_polygamma_helper(Cg *c, FILE *out, int n, const char *name)
{
    int use_float = c->o->use_float;
    static const char *const step[3] = {"a -= 1.0 / x", "a += 1.0 / (x * x)",
                                        "a -= 2.0 / (x * x * x)"};
    fprintf(out,
            "\n/* %s\n"
            " * Computed in double: reflection for x <= 0 (DLMF 5.5.4, 5.15.6), the\n"
            " * recurrence up to x >= %g (DLMF 5.5.2), then the asymptotic series in\n"
            " * 1/x^2 with Bernoulli numbers (DLMF 5.11.2, 5.15.8). */\n",
            what[n], IR_PSI_SHIFT);
    if (use_float)
        fprintf(out, "static float %s(float xf)\n{\n    double x = (double)xf;\n", name);
    else
        fprintf(out, "static double %s(double x)\n{\n", name);
    fprintf(out, "    double r = 0.0, a = 0.0, z%s;\n", n == 0 ? ", c" : n == 1 ? ", s = 1.0, t" : ", c, t");
    reflection(c, out, n);
    fprintf(out, "    for (; x < %.1f; x += 1.0)\n        %s;\n    z = 1.0 / (x * x);\n",
            IR_PSI_SHIFT, step[n]);
    fprintf(out, "    return %sr + %s(a + ", use_float ? "(float)(" : "", n == 1 ? "s * " : "");
    if (n == 0)
        fprintf(out, "(%s(x) - 0.5 / x - z * (", cg_maths(c, "log", 0));
    else if (n == 1)
        fputs("((1.0 + 0.5 / x + z * (", out);
    else
        fputs("(-z * (1.0 + 1.0 / x + z * (", out);
    series(out, n);
    static const char *const close[3] = {")))", "))) / x)", "))))"};
    fprintf(out, "%s%s;\n}\n", close[n], use_float ? ")" : "");
}
