/*
 * drv_gmm.c - bench/run.sh's driver (see harness.h) for the Gaussian
 * mixture of bench/gmm.dx (K = 10, D = 8, N = 200), built with --tape=fast
 * or small.  p = alpha, mu, L: alpha uniform in [-0.5, 0.5), mu in
 * [-1, 1), each L[k] with diagonal 1 + 0.1 k plus [0, 0.1) and the rest
 * (read below the diagonal only) in [-0.2, 0.2); data x in [-1, 1).
 */
enum { K = 10, D = 8, N = 200 };
#define NP (K + K * D + K * D * D)
#include "harness.h"

#include "gmm.h"

static double x[N * D];

#define ARGS(p) p, p + K, p + K + K * D
static void model_init(double *w)
{
    double *L = w + K + K * D;
    fill(w, K, -0.5, 0.5);
    fill(w + K, K * D, -1.0, 1.0);
    fill(L, K * D * D, -0.2, 0.2);
    for (int k = 0; k < K; k++)
        for (int i = 0; i < D; i++)
            L[(k * D + i) * D + i] = 1.0 + 0.1 * k + uniform(0.0, 0.1);
    fill(x, N * D, -1.0, 1.0);
}
static void model_dump(FILE *fp) { dump_array(fp, "x", x, N * D); }
static double model_f(const double *w) { return gmm(ARGS(w), x); }
static double model_grad(const double *w, double *g) { return gmm_grad(ARGS(w), x, ARGS(g)); }
static double model_jvp(const double *w, const double *v, double *d) { return gmm_jvp(ARGS(w), x, ARGS(v), d); }
static double model_hvp(const double *w, const double *v, double *h) { return gmm_hvp(ARGS(w), x, ARGS(v), ARGS(h)); }
