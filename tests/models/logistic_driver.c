/*
 * logistic_driver.c - checks the code dxc generates from logistic.dx.
 *
 * Build: dxc logistic.dx -o logistic.c --header logistic.h, then compile
 * this file with -I runtime -I <dir of logistic.h>, link logistic.c, the
 * runtime (libdxrt.a) and -lm.
 *
 * At three random points (w, b) over a random data set it checks:
 *   - the primal loss against the same formula written in C;
 *   - loss_grad's value against loss, and its gradient against the closed
 *     form (1/N) sum_i (sigmoid(w . x_i + b) - y_i) (x_i, 1), with the
 *     outputs pre-filled with garbage (they must be overwritten);
 *   - the gradient against central differences computed here, and
 *     against the runtime's dxrt_check_grad;
 *   - the helper bce and bce_grad against d/dz = sigmoid(z) - t.
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dxrt.h"
#include "logistic.h"

enum { N = 8, D = 3 };          /* as in logistic.dx */
enum { NP = D + 1 };            /* active parameters, packed: w, b */

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

/* The data set, the same for every point. */
static double X[N * D], y[N];

static double sigmoid_ref(double z)
{
    return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

/* The model written directly in C. */
static double loss_ref(const double *w, double b)
{
    double total = 0;
    for (int i = 0; i < N; i++) {
        double z = b;
        for (int j = 0; j < D; j++)
            z += w[j] * X[i * D + j];
        double p = sigmoid_ref(z);
        total += -(y[i] * log(p) + (1 - y[i]) * log(1 - p));
    }
    return total / N;
}

/* Its gradient in closed form: d/dz of the cross-entropy is p - y. */
static void grad_ref(const double *w, double b, double *w_bar, double *b_bar)
{
    for (int j = 0; j < D; j++)
        w_bar[j] = 0;
    *b_bar = 0;
    for (int i = 0; i < N; i++) {
        double z = b;
        for (int j = 0; j < D; j++)
            z += w[j] * X[i * D + j];
        double r = (sigmoid_ref(z) - y[i]) / N;
        for (int j = 0; j < D; j++)
            w_bar[j] += r * X[i * D + j];
        *b_bar += r;
    }
}

/* The generated entry points on the packed parameters theta = (w, b). */
static double f_packed(const double *theta, void *ctx)
{
    (void)ctx;
    return loss(theta, theta[D], X, y);
}

static void g_packed(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    loss_grad(theta, theta[D], X, y, g, &g[D]);
}

/* Central differences of loss at theta, coordinate by coordinate, against
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

static void check_point(uint64_t *rng)
{
    double theta[NP], g[NP], ref[NP];
    for (int i = 0; i < NP; i++)
        theta[i] = 1.5 * dxrt_uniform(rng);
    const double *w = theta;
    double b = theta[D];

    double f = loss(w, b, X, y);
    expect("loss vs C", 0, f, loss_ref(w, b), 1e-12, 0);

    for (int i = 0; i < NP; i++)
        g[i] = 12345.0;         /* the gradient must overwrite this */
    double fg = loss_grad(w, b, X, y, g, &g[D]);
    expect("loss_grad value vs loss", 0, fg, f, 1e-14, 0);
    grad_ref(w, b, ref, &ref[D]);
    for (int i = 0; i < NP; i++)
        expect("gradient vs closed form", i, g[i], ref[i], 1e-10, 1e-14);

    check_fd(theta, g);

    dxrt_report rep;
    if (dxrt_check_grad(f_packed, g_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_grad: ");
        fflush(stdout);
        dxrt_report_print(stdout, "loss_grad", &rep);
        nfail++;
    }
}

/* The helper function has entry points of its own. */
static void check_bce(void)
{
    static const double zs[] = { -4.0, -0.5, 0.0, 0.25, 3.0 };
    for (int k = 0; k < 5; k++) {
        for (int t = 0; t <= 1; t++) {
            double z = zs[k], p = sigmoid_ref(z), z_bar = 12345.0;
            double want = -(t * log(p) + (1 - t) * log(1 - p));
            expect("bce vs C", 2 * k + t, bce(z, t), want, 1e-12, 0);
            expect("bce_grad value", 2 * k + t, bce_grad(z, t, &z_bar), want, 1e-12, 0);
            expect("bce_grad vs p - t", 2 * k + t, z_bar, p - t, 1e-10, 1e-15);
        }
    }
}

int main(void)
{
    uint64_t rng = 42;
    for (int i = 0; i < N * D; i++)
        X[i] = 2 * dxrt_uniform(&rng);
    for (int i = 0; i < N; i++)
        y[i] = dxrt_uniform(&rng) > 0 ? 1.0 : 0.0;

    check_bce();
    for (int k = 0; k < 3; k++)
        check_point(&rng);

    printf("done %d\n", nfail);
    return nfail > 0;
}
