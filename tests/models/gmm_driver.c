/*
 * gmm_driver.c - checks the code dxc generates from gmm.dx, the
 * log-likelihood of a Gaussian mixture with triangular precision factors.
 *
 * Build: dxc gmm.dx -o gmm.c --header gmm.h, then compile this file with
 * -I runtime -I <dir of gmm.h>, link gmm.c, the runtime (libdxrt.a) and
 * -lm.
 *
 * At three random points (the last with a data point far from every
 * component, where logsumexp must not underflow to -inf) it checks:
 *   - the primal against the model written in C, with the strict upper
 *     triangle of L set to large values (gmm.dx must not read them);
 *   - gmm_grad's value against gmm, and its gradient against one derived
 *     by hand (responsibilities r[n, k] = softmax over k):
 *       d/d alpha[k]   = sum_n r[n, k] - N softmax(alpha)[k]
 *       d/d mu[k]      = sum_n r[n, k] L_k^T z      (z = L_k (x_n - mu_k))
 *       d/d L[k, i, j] = sum_n r[n, k] ([i == j] / L[k, i, i]
 *                                       - z[i] (x_n - mu_k)[j]),  j <= i
 *   - that the gradient outputs are fully overwritten: pre-filled with
 *     12345.0, the strict upper triangle of L_bar must come back exactly
 *     0.0, and the rest matches the references;
 *   - the gradient against central differences computed here, and
 *     against the runtime's dxrt_check_grad.
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dxrt.h"
#include "gmm.h"

enum { K = 3, D = 3, N = 6 };   /* as in gmm.dx */

/* The active parameters packed in theta = (alpha, mu, L). */
enum { OA = 0, OM = OA + K, OL = OM + K * D, NP = OL + K * D * D };

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

static double x[N * D];         /* the data */

/* log(sum(exp(v))), stable; writes softmax(v) to p when p is not NULL. */
static double lse(const double *v, int n, double *p)
{
    double m = v[0], s = 0;
    for (int i = 1; i < n; i++)
        m = fmax(m, v[i]);
    for (int i = 0; i < n; i++)
        s += exp(v[i] - m);
    if (p)
        for (int i = 0; i < n; i++)
            p[i] = exp(v[i] - m) / s;
    return m + log(s);
}

/* e = x_n - mu_k, z = L_k e (lower triangle only); returns
 * alpha[k] + log det L_k - |z|^2 / 2. */
static double component(const double *theta, int n, int k, double *e, double *z)
{
    const double *L = theta + OL + k * D * D;
    double a = theta[OA + k];
    for (int j = 0; j < D; j++)
        e[j] = x[n * D + j] - theta[OM + k * D + j];
    for (int i = 0; i < D; i++) {
        z[i] = 0;
        for (int j = 0; j <= i; j++)
            z[i] += L[i * D + j] * e[j];
        a += log(L[i * D + i]) - 0.5 * z[i] * z[i];
    }
    return a;
}

/* The model written directly in C. */
static double gmm_ref(const double *theta)
{
    const double pi = 3.14159265358979323846;
    double total = 0, a[K], e[D], z[D];
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++)
            a[k] = component(theta, n, k, e, z);
        total += lse(a, K, NULL);
    }
    return total - N * lse(theta + OA, K, NULL) - 0.5 * N * D * log(2 * pi);
}

/* Its gradient, derived by hand (see the top of the file). */
static void grad_ref(const double *theta, double *g)
{
    double a[K], r[K], w[K], e[D], z[D];
    for (int i = 0; i < NP; i++)
        g[i] = 0;
    lse(theta + OA, K, w);
    for (int k = 0; k < K; k++)
        g[OA + k] = -N * w[k];
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++)
            a[k] = component(theta, n, k, e, z);
        lse(a, K, r);
        for (int k = 0; k < K; k++) {
            const double *L = theta + OL + k * D * D;
            double *Lb = g + OL + k * D * D;
            component(theta, n, k, e, z);
            g[OA + k] += r[k];
            for (int i = 0; i < D; i++)
                for (int j = 0; j <= i; j++) {
                    g[OM + k * D + j] += r[k] * L[i * D + j] * z[i];
                    Lb[i * D + j] += r[k] * ((i == j) / L[i * D + i] - z[i] * e[j]);
                }
        }
    }
}

/* The generated entry points on theta. */
static double f_packed(const double *theta, void *ctx)
{
    (void)ctx;
    return gmm(theta + OA, theta + OM, theta + OL, x);
}

static void g_packed(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    gmm_grad(theta + OA, theta + OM, theta + OL, x, g + OA, g + OM, g + OL);
}

/* Central differences of gmm at theta against g; the step and the
 * rounding allowance follow dxrt.h. */
static void check_fd(double *theta, const double *g)
{
    const double step = 6.0555e-6;      /* cbrt(DBL_EPSILON) */
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

static int upper(int i)         /* is theta[i] in a strict upper triangle of L? */
{
    return i >= OL && (i - OL) % D > (i - OL) / D % D;
}

static void check_point(uint64_t *rng, int outlier)
{
    double theta[NP], g[NP], ref[NP];
    for (int k = 0; k < K; k++) {
        theta[OA + k] = dxrt_uniform(rng);
        for (int j = 0; j < D; j++)
            theta[OM + k * D + j] = dxrt_uniform(rng);
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) {
                double *l = &theta[OL + (k * D + i) * D + j];
                double u = dxrt_uniform(rng);
                *l = j < i ? 0.5 * u : j == i ? 1 + 0.5 * u : 777 * u;
            }
    }
    for (int i = 0; i < N * D; i++)
        x[i] = 1.5 * dxrt_uniform(rng);
    if (outlier) {              /* every component's density underflows */
        x[0] = 40;
        x[1] = -35;
        x[2] = 30;
    }

    double f = f_packed(theta, NULL);
    expect("loss vs C", 0, f, gmm_ref(theta), 1e-12, 0);

    for (int i = 0; i < NP; i++)
        g[i] = 12345.0;         /* the gradient must overwrite this */
    double fg = gmm_grad(theta + OA, theta + OM, theta + OL, x, g + OA, g + OM, g + OL);
    expect("gmm_grad value vs gmm", 0, fg, f, 1e-14, 0);
    grad_ref(theta, ref);
    for (int i = 0; i < NP; i++) {
        if (upper(i) && g[i] != 0.0) {
            printf("FAIL gradient outputs are fully overwritten: L_bar[%d] = %.17g, not 0\n",
                   i - OL, g[i]);
            nfail++;
        }
        expect("gradient vs hand-derived", i, g[i], ref[i], 1e-10, 1e-13);
    }

    check_fd(theta, g);

    dxrt_report rep;
    if (dxrt_check_grad(f_packed, g_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_grad: ");
        fflush(stdout);
        dxrt_report_print(stdout, "gmm_grad", &rep);
        nfail++;
    }
}

int main(void)
{
    uint64_t rng = 99;
    check_point(&rng, 0);
    check_point(&rng, 0);
    check_point(&rng, 1);
    printf("done %d\n", nfail);
    return nfail > 0;
}
