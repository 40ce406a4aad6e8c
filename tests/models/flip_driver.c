/*
 * flip_driver.c - checks the code dxc generates from flip.dx, a loop of
 * 50 steps whose branch flips between iterations:
 *     x > 1:  x <- 0.5 x + a        otherwise:  x <- x^2 + b
 *
 * Build: dxc flip.dx -o flip.c --header flip.h, then compile this file
 * with -I runtime -I <dir of flip.h>, link flip.c, the runtime (libdxrt.a)
 * and -lm.
 *
 * The reference replays the loop in C, recording which branch every step
 * takes and carrying the first and second derivatives of x with respect
 * to theta = (x0, a, b) (exact for the branch pattern taken):
 *     x > 1:  d <- 0.5 d + e_a,    D2 <- 0.5 D2
 *     else:   d <- 2 x d + e_b,    D2 <- 2 x D2 + 2 d d^T   (old x, d)
 * Points are drawn at random (x0 in [0.2, 1.8), a in [0.25, 0.35), b in
 * [0.5, 0.7)) and kept only if the branch flips at least 20 times, no
 * iterate comes within 1e-3 of the threshold 1, and the branch pattern is
 * the same at theta +- 2h along every axis and at the 8 corners of the
 * box theta +- 2h (h the difference step of each coordinate): so every
 * difference below (this file's and the runtime's) differentiates one
 * branch pattern, not a jump.  At four such points it checks:
 *   - flip against the replay;
 *   - flip_grad's value against flip, and its gradient against the
 *     replay's, with the outputs pre-filled with garbage (they must be
 *     overwritten);
 *   - the gradient against central differences computed here and against
 *     dxrt_check_grad;
 *   - flip_jvp and flip_hvp along a random direction against the replay,
 *     and dxrt_check_hvp.
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dxrt.h"
#include "flip.h"

enum { N = 50 };                /* as in flip.dx */
enum { NP = 3 };                /* active parameters, packed: x0, a, b */

static const double step = 6.0555e-6;  /* cbrt(DBL_EPSILON), as dxrt.h */

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

/* The replay: returns x_N; writes the branch pattern (1: x > 1) to pat,
 * the smallest |x_n - 1| to *margin, and when d, d2 are not NULL the
 * gradient and the Hessian of x_N. */
static double flip_ref(const double *theta, char *pat, double *margin,
                       double *d, double (*d2)[NP])
{
    double x = theta[0], g[NP] = { 1, 0, 0 }, h[NP][NP] = { { 0 } };
    double m = INFINITY;
    for (int n = 0; n < N; n++) {
        m = fmin(m, fabs(x - 1));
        if (x > 1) {
            for (int i = 0; i < NP; i++)
                for (int j = 0; j < NP; j++)
                    h[i][j] *= 0.5;
            for (int i = 0; i < NP; i++)
                g[i] *= 0.5;
            g[1] += 1;
            x = x * 0.5 + theta[1];
            pat[n] = '1';
        } else {
            for (int i = 0; i < NP; i++)
                for (int j = 0; j < NP; j++)
                    h[i][j] = 2 * x * h[i][j] + 2 * g[i] * g[j];
            for (int i = 0; i < NP; i++)
                g[i] *= 2 * x;
            g[2] += 1;
            x = x * x + theta[2];
            pat[n] = '0';
        }
    }
    pat[N] = '\0';
    *margin = m;
    if (d)
        memcpy(d, g, sizeof g);
    if (d2)
        memcpy(d2, h, sizeof h);
    return x;
}

/* Whether theta is a point to test (see the top). */
static int good_point(const double *theta)
{
    char pat[N + 1], p2[N + 1];
    double margin, m2, t[NP];
    flip_ref(theta, pat, &margin, NULL, NULL);
    int flips = 0;
    for (int n = 1; n < N; n++)
        flips += pat[n] != pat[n - 1];
    if (flips < 20 || margin < 1e-3)
        return 0;
    /* the axes: 6 points */
    for (int i = 0; i < NP; i++) {
        for (int s = -1; s <= 1; s += 2) {
            memcpy(t, theta, sizeof t);
            t[i] += s * 2 * step * fmax(1, fabs(theta[i]));
            flip_ref(t, p2, &m2, NULL, NULL);
            if (strcmp(pat, p2) != 0)
                return 0;
        }
    }
    /* the corners: 8 points */
    for (int c = 0; c < 1 << NP; c++) {
        for (int i = 0; i < NP; i++)
            t[i] = theta[i] + (c >> i & 1 ? 2 : -2) * step * fmax(1, fabs(theta[i]));
        flip_ref(t, p2, &m2, NULL, NULL);
        if (strcmp(pat, p2) != 0)
            return 0;
    }
    return 1;
}

/* The generated entry points on the packed parameters. */
static double f_packed(const double *theta, void *ctx)
{
    (void)ctx;
    return flip(theta[0], theta[1], theta[2]);
}

static void g_packed(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    flip_grad(theta[0], theta[1], theta[2], &g[0], &g[1], &g[2]);
}

static void h_packed(const double *theta, const double *v, double *hv, void *ctx)
{
    (void)ctx;
    flip_hvp(theta[0], theta[1], theta[2], v[0], v[1], v[2], &hv[0], &hv[1], &hv[2]);
}

/* Central differences of flip at theta, coordinate by coordinate, against
 * g; the step and the rounding allowance follow dxrt.h. */
static void check_fd(double *theta, const double *g)
{
    for (int i = 0; i < NP; i++) {
        double t = theta[i], h = step * fmax(1, fabs(t));
        theta[i] = t + h;
        double fp = f_packed(theta, NULL);
        double xp = theta[i];
        theta[i] = t - h;
        double fm = f_packed(theta, NULL);
        double xm = theta[i];
        theta[i] = t;
        double noise = 16 * 2.2205e-16 * (fabs(fp) + fabs(fm)) / (xp - xm);
        expect("finite differences", i, g[i], (fp - fm) / (xp - xm), 1e-6, 1e-8 + noise);
    }
}

static void check_point(double *theta, uint64_t *rng)
{
    char pat[N + 1];
    double margin, ref[NP], ref2[NP][NP], g[NP];
    double xn = flip_ref(theta, pat, &margin, ref, ref2);

    double f = f_packed(theta, NULL);
    expect("flip vs C", 0, f, xn, 1e-12, 0);

    for (int i = 0; i < NP; i++)
        g[i] = 12345.0;         /* the gradient must overwrite this */
    double fg = flip_grad(theta[0], theta[1], theta[2], &g[0], &g[1], &g[2]);
    expect("flip_grad value vs flip", 0, fg, f, 1e-14, 0);
    for (int i = 0; i < NP; i++)
        expect("gradient vs replay", i, g[i], ref[i], 1e-10, 1e-14);

    check_fd(theta, g);

    dxrt_report rep;
    if (dxrt_check_grad(f_packed, g_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_grad: ");
        fflush(stdout);
        dxrt_report_print(stdout, "flip_grad", &rep);
        nfail++;
    }

    /* forward mode and the Hessian along a random direction */
    double d[NP], hv[NP], out_dot = 12345.0, want = 0, scale = 0;
    for (int i = 0; i < NP; i++) {
        d[i] = dxrt_uniform(rng);
        want += ref[i] * d[i];
        scale += fabs(ref[i] * d[i]);
        hv[i] = 12345.0;
    }
    double fj = flip_jvp(theta[0], theta[1], theta[2], d[0], d[1], d[2], &out_dot);
    expect("flip_jvp value vs flip", 0, fj, f, 1e-14, 0);
    expect("flip_jvp vs replay", 0, out_dot, want, 0, 1e-10 * scale + 1e-14);

    double fh = flip_hvp(theta[0], theta[1], theta[2], d[0], d[1], d[2], &hv[0], &hv[1], &hv[2]);
    expect("flip_hvp value vs flip", 0, fh, f, 1e-14, 0);
    for (int i = 0; i < NP; i++) {
        want = scale = 0;
        for (int j = 0; j < NP; j++) {
            want += ref2[i][j] * d[j];
            scale += fabs(ref2[i][j] * d[j]);
        }
        expect("flip_hvp vs replay", i, hv[i], want, 0, 1e-10 * scale + 1e-14);
    }
    if (dxrt_check_hvp(g_packed, h_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_hvp: ");
        fflush(stdout);
        dxrt_report_print(stdout, "flip_hvp", &rep);
        nfail++;
    }
}

int main(void)
{
    uint64_t rng = 50;
    int found = 0;
    for (int tries = 0; tries < 1000 && found < 4; tries++) {
        double theta[NP] = {
            1.0 + 0.8 * dxrt_uniform(&rng),
            0.3 + 0.05 * dxrt_uniform(&rng),
            0.6 + 0.1 * dxrt_uniform(&rng),
        };
        if (good_point(theta)) {
            check_point(theta, &rng);
            found++;
        }
    }
    if (found < 4) {
        printf("FAIL only %d points with a stable branch pattern\n", found);
        nfail++;
    }

    printf("done %d\n", nfail);
    return nfail > 0;
}
