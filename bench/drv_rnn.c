/*
 * drv_rnn.c - bench/run.sh's driver (see harness.h) for the tanh RNN of
 * bench/rnn.dx (T = 50, H = 32, D = 16), built with --tape=fast or small.
 * p = Wh, Wx, b, v: the weights uniform in +-1.5 / sqrt(fan-in), so the
 * tanh cells are neither linear nor saturated, b and v in [-0.5, 0.5);
 * X, y and h0 uniform in [-1, 1).
 */
enum { T = 50, H = 32, D = 16 };
#define NP (H * H + H * D + 2 * H)
#include "harness.h"

#include "rnn.h"

static double X[T * D], y[T], h0[H];

#define ARGS(p) p, p + H * H, p + H * H + H * D, p + H * H + H * D + H
static void model_init(double *w)
{
    fill(w, H * H, -1.5 / sqrt(H), 1.5 / sqrt(H));
    fill(w + H * H, H * D, -1.5 / sqrt(D), 1.5 / sqrt(D));
    fill(w + H * H + H * D, 2 * H, -0.5, 0.5);
    fill(X, T * D, -1.0, 1.0);
    fill(y, T, -1.0, 1.0);
    fill(h0, H, -1.0, 1.0);
}
static void model_dump(FILE *fp)
{
    dump_array(fp, "X", X, T * D);
    dump_array(fp, "y", y, T);
    dump_array(fp, "h0", h0, H);
}
static double model_f(const double *w) { return rnn(ARGS(w), X, y, h0); }
static double model_grad(const double *w, double *g) { return rnn_grad(ARGS(w), X, y, h0, ARGS(g)); }
static double model_jvp(const double *w, const double *v, double *d) { return rnn_jvp(ARGS(w), X, y, h0, ARGS(v), d); }
static double model_hvp(const double *w, const double *v, double *h) { return rnn_hvp(ARGS(w), X, y, h0, ARGS(v), ARGS(h)); }
