/*
 * sinx_driver.c - checks the code dxc generates from sinx.dx: a times
 * the result of 200 steps of x <- sin(x) + 0.5 x from x0.
 *
 * Build: dxc sinx.dx -o sinx.c --header sinx.h, then compile this file
 * with -I runtime -I <dir of sinx.h>, link sinx.c, the runtime (libdxrt.a)
 * and -lm.
 *
 * Derived by hand, with x_0 = x0 and x_{n+1} = sin(x_n) + 0.5 x_n:
 *     p = dx_N/dx0   = product over n < N of (cos(x_n) + 0.5)
 *     q = d2x_N/dx02: q_{n+1} = (cos(x_n) + 0.5) q_n - sin(x_n) p_n^2
 *     f = a x_N,  grad f = (a p, x_N),  Hessian [[a q, p], [p, 0]].
 * Points: five random ones (x0 in [-3, 3), where the iterates settle at
 * +-1.895 and p is about 1e-145: reverse mode must not lose it), and
 * four tiny x0, where the iterates first grow by 1.5 per step: +-1e-35
 * (still growing at the end, p about 8e34), 1e-33 and 1e-30 (settled
 * late: p about 5e25 and 1e10).
 * At each it checks:
 *   - sinx against the loop in C;
 *   - sinx_grad's value against sinx, and its gradient against the hand
 *     derivation, with the outputs pre-filled with garbage (they must be
 *     overwritten);
 *   - the gradient against central differences computed here (with a
 *     step relative to x0 at x0 = 1e-35; none at 1e-33 and 1e-30, where
 *     rounding swamps the differences) and dxrt_check_grad (random
 *     points only);
 *   - sinx_jvp and sinx_hvp along a random direction against the hand
 *     derivation, and dxrt_check_hvp (random points only).
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dxrt.h"
#include "sinx.h"

enum { N = 200 };               /* as in sinx.dx */
enum { NP = 2 };                /* active parameters, packed: x0, a */

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

/* The loop in C: returns x_N, with p and q as above. */
static double orbit_ref(double x0, double *p, double *q)
{
    double x = x0, dp = 1, dq = 0;
    for (int n = 0; n < N; n++) {
        double s = sin(x), c = cos(x) + 0.5;
        dq = c * dq - s * dp * dp;
        dp = c * dp;
        x = s + 0.5 * x;
    }
    *p = dp;
    *q = dq;
    return x;
}

/* The generated entry points on the packed parameters theta = (x0, a). */
static double f_packed(const double *theta, void *ctx)
{
    (void)ctx;
    return sinx(theta[0], theta[1]);
}

static void g_packed(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    sinx_grad(theta[0], theta[1], &g[0], &g[1]);
}

static void h_packed(const double *theta, const double *v, double *hv, void *ctx)
{
    (void)ctx;
    sinx_hvp(theta[0], theta[1], v[0], v[1], &hv[0], &hv[1]);
}

/* Central differences of sinx at theta, coordinate by coordinate, against
 * g; the step and the rounding allowance follow dxrt.h, except that with
 * rel the step is relative to |theta_i| (for tiny x0). */
static void check_fd(double *theta, const double *g, int rel)
{
    const double step = 6.0555e-6;      /* cbrt(DBL_EPSILON) */
    for (int i = 0; i < NP; i++) {
        double t = theta[i], h = step * (rel ? fabs(t) : fmax(1, fabs(t)));
        theta[i] = t + h;
        double fp = f_packed(theta, NULL);
        double xp = theta[i];
        theta[i] = t - h;
        double fm = f_packed(theta, NULL);
        double xm = theta[i];
        theta[i] = t;
        double noise = 16 * 2.2205e-16 * (fabs(fp) + fabs(fm)) / (xp - xm);
        expect("finite differences", i, g[i], (fp - fm) / (xp - xm), 1e-6,
               (rel ? 0 : 1e-8) + noise);
    }
}

/* fd: 0 no differences, 1 differences with a relative step, 2 the usual
 * differences and the runtime's checks. */
static void check_point(double x0, double a, int fd, uint64_t *rng)
{
    double theta[NP] = { x0, a }, g[NP], p, q;
    double xn = orbit_ref(x0, &p, &q);
    double ref[NP] = { a * p, xn };

    double f = sinx(x0, a);
    expect("sinx vs C", 0, f, a * xn, 1e-12, 0);

    g[0] = g[1] = 12345.0;      /* the gradient must overwrite this */
    double fg = sinx_grad(x0, a, &g[0], &g[1]);
    expect("sinx_grad value vs sinx", 0, fg, f, 1e-14, 0);
    for (int i = 0; i < NP; i++)
        expect("gradient vs product of (cos x_n + 0.5)", i, g[i], ref[i], 1e-10, 0);

    if (fd)
        check_fd(theta, g, fd == 1);

    dxrt_report rep;
    if (fd == 2 && dxrt_check_grad(f_packed, g_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_grad: ");
        fflush(stdout);
        dxrt_report_print(stdout, "sinx_grad", &rep);
        nfail++;
    }

    /* forward mode and the Hessian along a random direction */
    double d[NP] = { dxrt_uniform(rng), dxrt_uniform(rng) };
    double out_dot = 12345.0;
    double fj = sinx_jvp(x0, a, d[0], d[1], &out_dot);
    expect("sinx_jvp value vs sinx", 0, fj, f, 1e-14, 0);
    double scale = fabs(ref[0] * d[0]) + fabs(ref[1] * d[1]);
    expect("sinx_jvp vs hand", 0, out_dot, ref[0] * d[0] + ref[1] * d[1], 0, 1e-10 * scale);

    double hv[NP] = { 12345.0, 12345.0 };
    double fh = sinx_hvp(x0, a, d[0], d[1], &hv[0], &hv[1]);
    expect("sinx_hvp value vs sinx", 0, fh, f, 1e-14, 0);
    expect("sinx_hvp vs hand", 0, hv[0], a * q * d[0] + p * d[1], 0,
           1e-10 * (fabs(a * q * d[0]) + fabs(p * d[1])));
    expect("sinx_hvp vs hand", 1, hv[1], p * d[0], 1e-10, 0);
    if (fd == 2 && dxrt_check_hvp(g_packed, h_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_hvp: ");
        fflush(stdout);
        dxrt_report_print(stdout, "sinx_hvp", &rep);
        nfail++;
    }
}

int main(void)
{
    uint64_t rng = 200;
    for (int k = 0; k < 5; k++) {
        double x0 = 3 * dxrt_uniform(&rng);
        double a = 1.25 + 0.75 * dxrt_uniform(&rng);
        check_point(x0, a, 2, &rng);
    }
    check_point(1e-35, 1.3, 1, &rng);
    check_point(-1e-35, 0.7, 1, &rng);
    check_point(1e-33, 1.1, 0, &rng);
    check_point(1e-30, 0.9, 0, &rng);

    printf("done %d\n", nfail);
    return nfail > 0;
}
