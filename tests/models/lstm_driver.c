/*
 * lstm_driver.c - checks the code dxc generates from lstm.dx, an LSTM
 * with an elementwise-weight cell over T = 10 steps, H = 4, and a
 * sequence loss with logsumexp against one-hot labels.
 *
 * Build: dxc lstm.dx -o lstm.c --header lstm.h, then compile this file
 * with -I runtime -I <dir of lstm.h>, link lstm.c, the runtime (libdxrt.a)
 * and -lm.
 *
 * The reference gradient is backpropagation through time written by hand.
 * Forward, with x = X[t], gates z_k = W[k] x + U[k] h' + B[k] (k = 0..3,
 * elementwise; h', c' the previous state):
 *     i, f, o = sigmoid(z_0, z_1, z_2),  g = tanh(z_3),
 *     c = f c' + i g,  h = o tanh(c),  loss += logsumexp(h) - Y[t].h
 * Backward, with hb and cb carried from step t+1 (zero after the last):
 *     hb += softmax(h) - Y[t]
 *     cb += hb o (1 - tanh(c)^2)
 *     zb_0 = cb g i (1 - i),  zb_1 = cb c' f (1 - f),
 *     zb_2 = hb tanh(c) o (1 - o),  zb_3 = cb i (1 - g^2)
 *     W_bar[k] += zb_k x,  U_bar[k] += zb_k h',  B_bar[k] += zb_k
 *     hb = sum_k zb_k U[k],  cb = cb f.
 * At three random points it checks:
 *   - lstm against the network written in C;
 *   - lstm_grad's value against lstm, and its gradient against the hand
 *     one, with the outputs pre-filled with garbage (they must be
 *     overwritten);
 *   - the gradient against central differences computed here and against
 *     dxrt_check_grad;
 *   - lstm_jvp along a random direction against the hand gradient;
 *   - lstm_hvp against dxrt_check_hvp (differences of lstm_grad), and the
 *     symmetry of the Hessian: u.(H w) == w.(H u) for random u, w.
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dxrt.h"
#include "lstm.h"

enum { T = 10, H = 4 };         /* as in lstm.dx */

/* The active parameters packed in theta = (W, U, B), each [4, H]. */
enum { OW = 0, OU = OW + 4 * H, OB = OU + 4 * H, NP = OB + 4 * H };

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

static double X[T * H], Y[T * H];       /* the data; Y one-hot */

static double sigmoid_ref(double z)
{
    return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

/* log(sum(exp(v))), stable; writes softmax(v) to p. */
static double lse(const double *v, double *p)
{
    double m = v[0], s = 0;
    for (int j = 1; j < H; j++)
        m = fmax(m, v[j]);
    for (int j = 0; j < H; j++)
        s += exp(v[j] - m);
    for (int j = 0; j < H; j++)
        p[j] = exp(v[j] - m) / s;
    return m + log(s);
}

/* The network in C: returns the loss; when g is not NULL, writes its
 * gradient in theta (backpropagation through time). */
static double lstm_ref(const double *theta, double *g)
{
    const double *W = theta + OW, *U = theta + OU, *B = theta + OB;
    /* per step: the previous h and c, the gates, tanh(c), softmax(h) */
    double hp[T][H], cp[T][H], gate[T][4][H], tc[T][H], sm[T][H];
    double h[H] = { 0 }, c[H] = { 0 }, loss = 0;
    for (int t = 0; t < T; t++) {
        const double *x = X + t * H;
        for (int j = 0; j < H; j++) {
            hp[t][j] = h[j];
            cp[t][j] = c[j];
            for (int k = 0; k < 4; k++) {
                double z = W[k * H + j] * x[j] + U[k * H + j] * h[j] + B[k * H + j];
                gate[t][k][j] = k < 3 ? sigmoid_ref(z) : tanh(z);
            }
        }
        for (int j = 0; j < H; j++) {
            c[j] = gate[t][1][j] * c[j] + gate[t][0][j] * gate[t][3][j];
            tc[t][j] = tanh(c[j]);
            h[j] = gate[t][2][j] * tc[t][j];
        }
        loss += lse(h, sm[t]);
        for (int j = 0; j < H; j++)
            loss -= Y[t * H + j] * h[j];
    }
    if (g) {
        double hb[H] = { 0 }, cb[H] = { 0 };
        for (int k = 0; k < NP; k++)
            g[k] = 0;
        for (int t = T - 1; t >= 0; t--) {
            const double *x = X + t * H;
            for (int j = 0; j < H; j++) {
                double ig = gate[t][0][j], fg = gate[t][1][j], og = gate[t][2][j];
                double gg = gate[t][3][j], zb[4];
                hb[j] += sm[t][j] - Y[t * H + j];
                cb[j] += hb[j] * og * (1 - tc[t][j] * tc[t][j]);
                zb[0] = cb[j] * gg * ig * (1 - ig);
                zb[1] = cb[j] * cp[t][j] * fg * (1 - fg);
                zb[2] = hb[j] * tc[t][j] * og * (1 - og);
                zb[3] = cb[j] * ig * (1 - gg * gg);
                hb[j] = 0;
                for (int k = 0; k < 4; k++) {
                    g[OW + k * H + j] += zb[k] * x[j];
                    g[OU + k * H + j] += zb[k] * hp[t][j];
                    g[OB + k * H + j] += zb[k];
                    hb[j] += zb[k] * U[k * H + j];
                }
                cb[j] *= fg;
            }
        }
    }
    return loss;
}

/* The generated entry points on the packed parameters. */
static double f_packed(const double *theta, void *ctx)
{
    (void)ctx;
    return lstm(theta + OW, theta + OU, theta + OB, X, Y);
}

static void g_packed(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    lstm_grad(theta + OW, theta + OU, theta + OB, X, Y, g + OW, g + OU, g + OB);
}

static void h_packed(const double *theta, const double *v, double *hv, void *ctx)
{
    (void)ctx;
    lstm_hvp(theta + OW, theta + OU, theta + OB, X, Y, v + OW, v + OU, v + OB,
             hv + OW, hv + OU, hv + OB);
}

/* Central differences of lstm at theta, coordinate by coordinate, against
 * g; the step and the rounding allowance follow dxrt.h. */
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

static void check_point(double *theta, uint64_t *rng)
{
    double g[NP], ref[NP];
    double want_f = lstm_ref(theta, ref);

    double f = f_packed(theta, NULL);
    expect("lstm vs C", 0, f, want_f, 1e-12, 0);

    for (int i = 0; i < NP; i++)
        g[i] = 12345.0;         /* the gradient must overwrite this */
    double fg = lstm_grad(theta + OW, theta + OU, theta + OB, X, Y, g + OW, g + OU, g + OB);
    expect("lstm_grad value vs lstm", 0, fg, f, 1e-14, 0);
    for (int i = 0; i < NP; i++)
        expect("gradient vs BPTT by hand", i, g[i], ref[i], 1e-10, 1e-14);

    check_fd(theta, g);

    dxrt_report rep;
    if (dxrt_check_grad(f_packed, g_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_grad: ");
        fflush(stdout);
        dxrt_report_print(stdout, "lstm_grad", &rep);
        nfail++;
    }

    /* forward mode along a random direction u */
    double u[NP], w[NP], hu[NP], hw[NP], out_dot = 12345.0, want = 0, scale = 0;
    for (int i = 0; i < NP; i++) {
        u[i] = dxrt_uniform(rng);
        w[i] = dxrt_uniform(rng);
        want += ref[i] * u[i];
        scale += fabs(ref[i] * u[i]);
        hu[i] = hw[i] = 12345.0;
    }
    double fj = lstm_jvp(theta + OW, theta + OU, theta + OB, X, Y, u + OW, u + OU, u + OB,
                         &out_dot);
    expect("lstm_jvp value vs lstm", 0, fj, f, 1e-14, 0);
    expect("lstm_jvp vs BPTT by hand", 0, out_dot, want, 0, 1e-10 * scale + 1e-14);

    /* Hessian-vector products: against differences, and symmetric */
    double fh = lstm_hvp(theta + OW, theta + OU, theta + OB, X, Y, u + OW, u + OU, u + OB,
                         hu + OW, hu + OU, hu + OB);
    expect("lstm_hvp value vs lstm", 0, fh, f, 1e-14, 0);
    h_packed(theta, w, hw, NULL);
    double whu = 0, uhw = 0;
    scale = 0;
    for (int i = 0; i < NP; i++) {
        whu += w[i] * hu[i];
        uhw += u[i] * hw[i];
        scale += fabs(w[i] * hu[i]) + fabs(u[i] * hw[i]);
    }
    expect("lstm_hvp symmetry w.(H u) vs u.(H w)", 0, whu, uhw, 0, 1e-10 * scale + 1e-14);
    if (dxrt_check_hvp(g_packed, h_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_hvp: ");
        fflush(stdout);
        dxrt_report_print(stdout, "lstm_hvp", &rep);
        nfail++;
    }
}

int main(void)
{
    uint64_t rng = 1997;
    for (int i = 0; i < T * H; i++)
        X[i] = 1.5 * dxrt_uniform(&rng);
    for (int t = 0; t < T; t++) {
        int label = (int)((dxrt_uniform(&rng) + 1) * 0.5 * H);
        for (int j = 0; j < H; j++)
            Y[t * H + j] = j == label ? 1.0 : 0.0;
    }

    for (int k = 0; k < 3; k++) {
        double theta[NP];
        for (int i = 0; i < NP; i++)
            theta[i] = (i < OB ? 1.0 : 0.5) * dxrt_uniform(&rng);
        check_point(theta, &rng);
    }

    printf("done %d\n", nfail);
    return nfail > 0;
}
