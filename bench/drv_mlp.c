/*
 * drv_mlp.c - bench/run.sh's driver (see harness.h) for the 784-128-10 MLP
 * of bench/mlp.dx, and for its hand-written gradient bench/mlp_hand.c.
 * p = W1, b1, W2, b2: uniform in [-0.05, 0.05); x uniform in [0, 1); y
 * one-hot.
 */
enum { NI = 784, NH = 128, NO = 10 };
#define NP (NH * NI + NH + NO * NH + NO)
#include "harness.h"

#include "mlp.h"
#include "mlp_hand.h"

static double x[NI], y[NO];

#define ARGS(p) p, p + NH * NI, p + NH * NI + NH, p + NH * NI + NH + NO * NH
static void model_init(double *w)
{
    fill(w, NP, -0.05, 0.05);
    fill(x, NI, 0.0, 1.0);
    one_hot(y, NO);
}
static void model_dump(FILE *fp)
{
    dump_array(fp, "x", x, NI);
    dump_array(fp, "y", y, NO);
}
static double model_f(const double *w) { return mlp(ARGS(w), x, y); }
static double model_grad(const double *w, double *g) { return mlp_grad(ARGS(w), x, y, ARGS(g)); }
static double model_jvp(const double *w, const double *v, double *d) { return mlp_jvp(ARGS(w), x, y, ARGS(v), d); }
static double model_hvp(const double *w, const double *v, double *h) { return mlp_hvp(ARGS(w), x, y, ARGS(v), ARGS(h)); }
static double model_hand_f(const double *w) { return mlp_hand(ARGS(w), x, y); }
static double model_hand_grad(const double *w, double *g) { return mlp_hand_grad(ARGS(w), x, y, ARGS(g)); }
