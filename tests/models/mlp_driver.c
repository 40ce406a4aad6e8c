/*
 * mlp_driver.c - checks the code dxc generates from mlp.dx, the
 * 784-128-10 MLP of the benchmark (bench/mlp.dx).
 *
 * Build: dxc mlp.dx -o mlp.c --header mlp.h, then compile this file with
 * -I runtime -I <dir of mlp.h>, link mlp.c, the runtime (libdxrt.a) and
 * -lm.  It includes ../../bench/mlp_hand.c (the hand-written gradient)
 * by a path relative to itself, so compile it where it stands.
 *
 * At two random points it checks:
 *   - the primal loss against the model written plainly in C here, and
 *     against bench/mlp_hand.c;
 *   - mlp_grad's value against mlp, and every one of its 101,770 gradient
 *     entries against mlp_hand_grad (1e-9 relative), with the outputs
 *     pre-filled with garbage (they must be overwritten);
 *   - by central differences computed here, all of b1, W2 and b2 and 300
 *     random entries of W1 (all 100,352 would take minutes);
 *   - with the runtime: dxrt_check_grad on b2 and 64 random entries each
 *     of W1, b1 and W2, and dxrt_check_directional on all parameters.
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dxrt.h"
#include "mlp.h"
#include "../../bench/mlp_hand.c"

/* As in mlp.dx (mlp_hand.c defines NI, NH, NO as the same values). */
enum {
    OW1 = 0, OB1 = OW1 + NH * NI, OW2 = OB1 + NH, OB2 = OW2 + NO * NH,
    NP = OB2 + NO               /* active parameters, packed W1, b1, W2, b2 */
};

static int nfail;

/* Counts a failure unless got and want are finite and |got - want| <=
 * atol + rtol max(|got|, |want|), or equal; prints the first few. */
static void expect(const char *what, int idx, double got, double want,
                   double rtol, double atol)
{
    double tol = atol + rtol * fmax(fabs(got), fabs(want));
    if (got == want || (isfinite(got) && isfinite(want) && fabs(got - want) <= tol))
        return;
    if (++nfail <= 20)
        printf("FAIL %s[%d]: got %.17g, expected %.17g (|diff| %.3g > %.3g)\n",
               what, idx, got, want, fabs(got - want), tol);
}

/* The parameters theta (packed), the data, and gradient buffers. */
static double theta[NP], x[NI], y[NO];
static double bar[NP], bar_ref[NP], scratch[NP];

/* mlp at the packed parameters p. */
static double f_at(const double *p)
{
    return mlp(p + OW1, p + OB1, p + OW2, p + OB2, x, y);
}

static double grad_at(const double *p, double *g)
{
    return mlp_grad(p + OW1, p + OB1, p + OW2, p + OB2, x, y,
                    g + OW1, g + OB1, g + OW2, g + OB2);
}

/* The model written plainly: relu(W1 x + b1), then W2 h + b2, then
 * log(sum(exp(z))) - y . z with the largest z taken out of the sum. */
static double mlp_ref(const double *p)
{
    double h[NH], z[NO], zmax = -HUGE_VAL, se = 0, yz = 0;
    for (int i = 0; i < NH; i++) {
        double a = p[OB1 + i];
        for (int j = 0; j < NI; j++)
            a += p[OW1 + i * NI + j] * x[j];
        h[i] = a > 0 ? a : 0;
    }
    for (int k = 0; k < NO; k++) {
        z[k] = p[OB2 + k];
        for (int i = 0; i < NH; i++)
            z[k] += p[OW2 + k * NH + i] * h[i];
        zmax = fmax(zmax, z[k]);
    }
    for (int k = 0; k < NO; k++) {
        se += exp(z[k] - zmax);
        yz += y[k] * z[k];
    }
    return zmax + log(se) - yz;
}

/* Central difference of mlp along coordinate i of theta (restored). */
static double fd(int i)
{
    const double step = 6.0555e-6;      /* cbrt(DBL_EPSILON), as dxrt.h */
    double t = theta[i], h = step * fmax(1, fabs(t));
    theta[i] = t + h;
    double fp = f_at(theta), xp = theta[i];
    theta[i] = t - h;
    double fm = f_at(theta), xm = theta[i];
    theta[i] = t;
    return (fp - fm) / (xp - xm);
}

/* ---- the runtime's checks, on a subset of the coordinates ---- */

enum { NSUB = NO + 3 * 64 };
static int sub[NSUB];           /* indices into theta */

/* x holds the subset's values: put them into a copy of theta. */
static const double *expand(const double *xs)
{
    for (int i = 0; i < NP; i++)
        scratch[i] = theta[i];
    for (int i = 0; i < NSUB; i++)
        scratch[sub[i]] = xs[i];
    return scratch;
}

static double f_sub(const double *xs, void *ctx)
{
    (void)ctx;
    return f_at(expand(xs));
}

static void g_sub(const double *xs, double *g, void *ctx)
{
    (void)ctx;
    grad_at(expand(xs), bar);
    for (int i = 0; i < NSUB; i++)
        g[i] = bar[sub[i]];
}

static double f_all(const double *p, void *ctx)
{
    (void)ctx;
    return f_at(p);
}

static void g_all(const double *p, double *g, void *ctx)
{
    (void)ctx;
    grad_at(p, g);
}

static void report(const char *what, int status, const dxrt_report *rep)
{
    if (status == DXRT_PASS)
        return;
    printf("FAIL %s: ", what);
    fflush(stdout);
    dxrt_report_print(stdout, "mlp_grad", rep);
    nfail++;
}

static void runtime_checks(uint64_t *rng)
{
    static const int base[3] = { OW1, OB1, OW2 };
    static const int size[3] = { NH * NI, NH, NO * NH };
    double xs[NSUB];
    int n = 0;
    for (int k = 0; k < NO; k++)
        sub[n++] = OB2 + k;
    /* One index from each 64th of W1, b1 and W2: distinct, as they must
     * be (expand() would undo a perturbation of a repeated index). */
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 64; k++)
            sub[n++] = base[s] + k * (size[s] / 64)
                       + (int)(dxrt_splitmix64(rng) % (uint64_t)(size[s] / 64));
    for (int i = 0; i < NSUB; i++)
        xs[i] = theta[sub[i]];

    dxrt_report rep;
    report("dxrt_check_grad", dxrt_check_grad(f_sub, g_sub, NULL, xs, NSUB, NULL, &rep), &rep);
    report("dxrt_check_directional",
           dxrt_check_directional(f_all, g_all, NULL, theta, NP, NULL, &rep), &rep);
}

/* ---- one point ---- */

static void check_point(uint64_t *rng, double wscale, int label)
{
    for (int i = 0; i < NP; i++)
        theta[i] = wscale * dxrt_uniform(rng);
    for (int j = 0; j < NI; j++)
        x[j] = 0.5 + 0.5 * dxrt_uniform(rng);
    for (int k = 0; k < NO; k++)
        y[k] = k == label;

    double f = f_at(theta);
    expect("loss vs C", 0, f, mlp_ref(theta), 1e-12, 0);
    double fh = mlp_hand(theta + OW1, theta + OB1, theta + OW2, theta + OB2, x, y);
    expect("loss vs mlp_hand", 0, f, fh, 1e-12, 0);

    for (int i = 0; i < NP; i++)
        bar[i] = 12345.0;       /* the gradient must overwrite this */
    expect("mlp_grad value vs mlp", 0, grad_at(theta, bar), f, 1e-14, 0);
    mlp_hand_grad(theta + OW1, theta + OB1, theta + OW2, theta + OB2, x, y,
                  bar_ref + OW1, bar_ref + OB1, bar_ref + OW2, bar_ref + OB2);
    for (int i = 0; i < NP; i++)
        expect("gradient vs mlp_hand_grad", i, bar[i], bar_ref[i], 1e-9, 1e-15);

    /* Finite differences: all of b1, W2, b2, then 300 entries of W1. */
    for (int i = OB1; i < NP; i++)
        expect("finite differences", i, bar[i], fd(i), 1e-6, 1e-8);
    for (int k = 0; k < 300; k++) {
        int i = OW1 + (int)(dxrt_splitmix64(rng) % (uint64_t)(NH * NI));
        expect("finite differences", i, bar[i], fd(i), 1e-6, 1e-8);
    }

    runtime_checks(rng);
}

int main(void)
{
    uint64_t rng = 2024;
    check_point(&rng, 0.05, 3);         /* as in the benchmark */
    check_point(&rng, 0.2, 7);          /* larger logits */
    printf("done %d\n", nfail);
    return nfail > 0;
}
