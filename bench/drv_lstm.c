/*
 * drv_lstm.c - bench/run.sh's driver (see harness.h) for the LSTM of
 * bench/lstm.dx (T = 40, H = 32).  p = W, U, B: uniform in [-0.5, 0.5);
 * X uniform in [-1, 1); Y one-hot rows.
 */
enum { T = 40, H = 32, NW = 4 * H };
#define NP (3 * NW)
#include "harness.h"

#include "lstm.h"

static double X[T * H], Y[T * H];

#define ARGS(p) p, p + NW, p + 2 * NW
static void model_init(double *w)
{
    fill(w, NP, -0.5, 0.5);
    fill(X, T * H, -1.0, 1.0);
    for (int t = 0; t < T; t++)
        one_hot(Y + t * H, H);
}
static void model_dump(FILE *fp)
{
    dump_array(fp, "X", X, T * H);
    dump_array(fp, "Y", Y, T * H);
}
static double model_f(const double *w) { return lstm(ARGS(w), X, Y); }
static double model_grad(const double *w, double *g) { return lstm_grad(ARGS(w), X, Y, ARGS(g)); }
static double model_jvp(const double *w, const double *v, double *d) { return lstm_jvp(ARGS(w), X, Y, ARGS(v), d); }
static double model_hvp(const double *w, const double *v, double *h) { return lstm_hvp(ARGS(w), X, Y, ARGS(v), ARGS(h)); }
