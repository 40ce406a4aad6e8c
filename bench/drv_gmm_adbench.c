/*
 * drv_gmm_adbench.c - bench/run.sh's driver (see harness.h) for ADBench's
 * Gaussian mixture objective, bench/gmm_adbench.dx (D = 10, K = 25,
 * N = 100).  p = alphas, means, icf: alphas uniform in [-0.5, 0.5), means
 * in [0, 1), icf in [-0.5, 0.5) (log-diagonal and strict lower triangle
 * alike); data x uniform in [0, 1), and the Wishart prior of ADBench's data
 * files, gamma = 1 and m = 0.
 */
enum { D = 10, K = 25, N = 100, P = D * (D + 1) / 2 };
#define NP (K + K * D + K * P)
#include "harness.h"

#include "gmm_adbench.h"

static double x[N * D], gamma_ = 1.0, m = 0.0;

#define ARGS(p) p, p + K, p + K + K * D
static void model_init(double *w)
{
    fill(w, K, -0.5, 0.5);
    fill(w + K, K * D, 0.0, 1.0);
    fill(w + K + K * D, K * P, -0.5, 0.5);
    fill(x, N * D, 0.0, 1.0);
}
static void model_dump(FILE *fp)
{
    dump_array(fp, "x", x, N * D);
    dump_array(fp, "gamma", &gamma_, 1);
    dump_array(fp, "m", &m, 1);
}
static double model_f(const double *w) { return gmm_adbench(ARGS(w), x, gamma_, m); }
static double model_grad(const double *w, double *g) { return gmm_adbench_grad(ARGS(w), x, gamma_, m, ARGS(g)); }
static double model_jvp(const double *w, const double *v, double *d)
{
    return gmm_adbench_jvp(ARGS(w), x, gamma_, m, ARGS(v), d);
}
static double model_hvp(const double *w, const double *v, double *h)
{
    return gmm_adbench_hvp(ARGS(w), x, gamma_, m, ARGS(v), ARGS(h));
}
