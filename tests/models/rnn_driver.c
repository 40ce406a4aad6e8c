/*
 * rnn_driver.c - checks the code dxc generates from rnn.dx, a recurrent
 * network with a tanh cell carried through T = 20 steps, with a squared
 * error of the readout dot(v, h) at every step.
 *
 * Build: dxc rnn.dx -o rnn.c --header rnn.h, then compile this file with
 * -I runtime -I <dir of rnn.h>, link rnn.c, the runtime (libdxrt.a) and
 * -lm.
 *
 * The reference gradient is backpropagation through time written by hand:
 * with a_t = Wh h_{t-1} + Wx x_t + b, h_t = tanh(a_t), e_t = v.h_t - y_t,
 * going backwards from hb = 0,
 *     hb += e_t v,   ab = hb (1 - h_t^2),   v_bar += e_t h_t,
 *     Wh_bar += ab h_{t-1}^T,  Wx_bar += ab x_t^T,  b_bar += ab,
 *     hb = Wh^T ab.
 * At three random points it checks:
 *   - rnn against the network written in C;
 *   - rnn_grad's value against rnn, and its gradient against the hand
 *     one, with the outputs pre-filled with garbage (they must be
 *     overwritten);
 *   - the gradient against central differences computed here and against
 *     dxrt_check_grad;
 *   - rnn_jvp along a random direction against the hand gradient;
 *   - rnn_hvp against dxrt_check_hvp (differences of rnn_grad), and the
 *     symmetry of the Hessian: u.(H w) == w.(H u) for random u, w.
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dxrt.h"
#include "rnn.h"

enum { T = 20, H = 4, D = 3 };  /* as in rnn.dx */

/* The active parameters packed in theta = (Wh, Wx, b, v). */
enum { OWH = 0, OWX = OWH + H * H, OB = OWX + H * D, OV = OB + H, NP = OV + H };

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

static double X[T * D], y[T], h0[H];    /* the data */

/* The network in C: returns the loss; when g is not NULL, writes its
 * gradient in theta (backpropagation through time). */
static double rnn_ref(const double *theta, double *g)
{
    const double *Wh = theta + OWH, *Wx = theta + OWX, *b = theta + OB, *v = theta + OV;
    double hs[T + 1][H], e[T], loss = 0;
    for (int j = 0; j < H; j++)
        hs[0][j] = h0[j];
    for (int t = 0; t < T; t++) {
        double dot = 0;
        for (int i = 0; i < H; i++) {
            double a = b[i];
            for (int j = 0; j < H; j++)
                a += Wh[i * H + j] * hs[t][j];
            for (int j = 0; j < D; j++)
                a += Wx[i * D + j] * X[t * D + j];
            hs[t + 1][i] = tanh(a);
        }
        for (int i = 0; i < H; i++)
            dot += v[i] * hs[t + 1][i];
        e[t] = dot - y[t];
        loss += e[t] * e[t];
    }
    if (g) {
        double hb[H] = { 0 }, ab[H];
        for (int k = 0; k < NP; k++)
            g[k] = 0;
        for (int t = T - 1; t >= 0; t--) {
            const double *h = hs[t + 1], *hp = hs[t];
            for (int i = 0; i < H; i++) {
                hb[i] += e[t] * v[i];
                g[OV + i] += e[t] * h[i];
                ab[i] = hb[i] * (1 - h[i] * h[i]);
                for (int j = 0; j < H; j++)
                    g[OWH + i * H + j] += ab[i] * hp[j];
                for (int j = 0; j < D; j++)
                    g[OWX + i * D + j] += ab[i] * X[t * D + j];
                g[OB + i] += ab[i];
            }
            for (int j = 0; j < H; j++) {
                hb[j] = 0;
                for (int i = 0; i < H; i++)
                    hb[j] += Wh[i * H + j] * ab[i];
            }
        }
    }
    return 0.5 * loss;
}

/* The generated entry points on the packed parameters. */
static double f_packed(const double *theta, void *ctx)
{
    (void)ctx;
    return rnn(theta + OWH, theta + OWX, theta + OB, theta + OV, X, y, h0);
}

static void g_packed(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    rnn_grad(theta + OWH, theta + OWX, theta + OB, theta + OV, X, y, h0,
             g + OWH, g + OWX, g + OB, g + OV);
}

static void h_packed(const double *theta, const double *v, double *hv, void *ctx)
{
    (void)ctx;
    rnn_hvp(theta + OWH, theta + OWX, theta + OB, theta + OV, X, y, h0,
            v + OWH, v + OWX, v + OB, v + OV, hv + OWH, hv + OWX, hv + OB, hv + OV);
}

/* Central differences of rnn at theta, coordinate by coordinate, against
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
    double want_f = rnn_ref(theta, ref);

    double f = f_packed(theta, NULL);
    expect("rnn vs C", 0, f, want_f, 1e-12, 0);

    for (int i = 0; i < NP; i++)
        g[i] = 12345.0;         /* the gradient must overwrite this */
    double fg = rnn_grad(theta + OWH, theta + OWX, theta + OB, theta + OV, X, y, h0,
                         g + OWH, g + OWX, g + OB, g + OV);
    expect("rnn_grad value vs rnn", 0, fg, f, 1e-14, 0);
    for (int i = 0; i < NP; i++)
        expect("gradient vs BPTT by hand", i, g[i], ref[i], 1e-10, 1e-14);

    check_fd(theta, g);

    dxrt_report rep;
    if (dxrt_check_grad(f_packed, g_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_grad: ");
        fflush(stdout);
        dxrt_report_print(stdout, "rnn_grad", &rep);
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
    double fj = rnn_jvp(theta + OWH, theta + OWX, theta + OB, theta + OV, X, y, h0,
                        u + OWH, u + OWX, u + OB, u + OV, &out_dot);
    expect("rnn_jvp value vs rnn", 0, fj, f, 1e-14, 0);
    expect("rnn_jvp vs BPTT by hand", 0, out_dot, want, 0, 1e-10 * scale + 1e-14);

    /* Hessian-vector products: against differences, and symmetric */
    double fh = rnn_hvp(theta + OWH, theta + OWX, theta + OB, theta + OV, X, y, h0,
                        u + OWH, u + OWX, u + OB, u + OV, hu + OWH, hu + OWX, hu + OB, hu + OV);
    expect("rnn_hvp value vs rnn", 0, fh, f, 1e-14, 0);
    h_packed(theta, w, hw, NULL);
    double whu = 0, uhw = 0;
    scale = 0;
    for (int i = 0; i < NP; i++) {
        whu += w[i] * hu[i];
        uhw += u[i] * hw[i];
        scale += fabs(w[i] * hu[i]) + fabs(u[i] * hw[i]);
    }
    expect("rnn_hvp symmetry w.(H u) vs u.(H w)", 0, whu, uhw, 0, 1e-10 * scale + 1e-14);
    if (dxrt_check_hvp(g_packed, h_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_hvp: ");
        fflush(stdout);
        dxrt_report_print(stdout, "rnn_hvp", &rep);
        nfail++;
    }
}

int main(void)
{
    uint64_t rng = 2020;
    for (int i = 0; i < T * D; i++)
        X[i] = dxrt_uniform(&rng);
    for (int t = 0; t < T; t++)
        y[t] = 0.8 * dxrt_uniform(&rng);
    for (int j = 0; j < H; j++)
        h0[j] = 0.5 * dxrt_uniform(&rng);

    for (int k = 0; k < 3; k++) {
        double theta[NP];
        for (int i = 0; i < NP; i++)
            theta[i] = (i < OB ? 0.6 : i < OV ? 0.3 : 1.0) * dxrt_uniform(&rng);
        check_point(theta, &rng);
    }

    printf("done %d\n", nfail);
    return nfail > 0;
}
