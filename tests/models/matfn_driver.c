/*
 * matfn_driver.c - checks the code dxc generates from matfn.dx, a
 * function with a matrix result (so matfn_vjp, not a gradient).
 *
 * Build: dxc matfn.dx -o matfn.c --header matfn.h, then compile this file
 * with -I runtime -I <dir of matfn.h>, link matfn.c, the runtime
 * (libdxrt.a) and -lm.
 *
 * At three random points it checks:
 *   - the primal out against the same function written in C;
 *   - matfn_vjp's out against matfn's, and its vector-Jacobian products
 *     against ones derived by hand, with every output pre-filled with
 *     garbage (they must be overwritten);
 *   - for random out_bar, each component of the VJP against central
 *     differences of <out_bar, matfn> computed here;
 *   - the runtime's dxrt_check_vjp (the full Jacobian by differences).
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dxrt.h"
#include "matfn.h"

enum { M = 3, K = 4, P = 2 };   /* as in matfn.dx */

/* The active parameters packed in one vector theta = (A, B, E, u). */
enum { OA = 0, OB = OA + M * K, OE = OB + K * P, OU = OE + P * M, NP = OU + M };
enum { NO = M * P };            /* outputs */

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

/* The data parameters, fixed. */
static const double v[P] = { 0.7, -1.3 };
static const double c = 1.7;

static double sigmoid_ref(double z)
{
    return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

/* w = u @ A and s = sum(w ^ 2). */
static double sum_sq_uA(const double *A, const double *u, double *w)
{
    double s = 0;
    for (int k = 0; k < K; k++) {
        w[k] = 0;
        for (int m = 0; m < M; m++)
            w[k] += u[m] * A[m * K + k];
        s += w[k] * w[k];
    }
    return s;
}

/* (A @ B)[m, p] */
static double AB(const double *A, const double *B, int m, int p)
{
    double t = 0;
    for (int k = 0; k < K; k++)
        t += A[m * K + k] * B[k * P + p];
    return t;
}

/* The function written directly in C:
 * out[m, p] = c tanh((A B)[m, p]) + u[m] v[p] sigmoid(E[p, m]) + 0.1 s. */
static void matfn_ref(const double *theta, double *out)
{
    const double *A = theta + OA, *B = theta + OB, *E = theta + OE, *u = theta + OU;
    double w[K], s = sum_sq_uA(A, u, w);
    for (int m = 0; m < M; m++)
        for (int p = 0; p < P; p++)
            out[m * P + p] = c * tanh(AB(A, B, m, p))
                             + u[m] * v[p] * sigmoid_ref(E[p * M + m]) + 0.1 * s;
}

/* Its vector-Jacobian product by hand, with R = out_bar and S = sum(R):
 *   dT     = R c (1 - tanh(A B)^2)
 *   A_bar  = dT B^T + 0.2 S outer(u, w)        (w = u A)
 *   B_bar  = A^T dT
 *   E_bar  = transpose(R u v^T sigmoid'(E^T))
 *   u_bar  = (R sigmoid(E^T)) v + 0.2 S A w                               */
static void vjp_ref(const double *theta, const double *R, double *bar)
{
    const double *A = theta + OA, *B = theta + OB, *E = theta + OE, *u = theta + OU;
    double w[K], dT[M * P], S = 0;
    sum_sq_uA(A, u, w);
    for (int i = 0; i < NO; i++)
        S += R[i];
    for (int m = 0; m < M; m++)
        for (int p = 0; p < P; p++) {
            double t = tanh(AB(A, B, m, p));
            dT[m * P + p] = R[m * P + p] * c * (1 - t * t);
        }
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) {
            double a = 0.2 * S * u[m] * w[k];
            for (int p = 0; p < P; p++)
                a += dT[m * P + p] * B[k * P + p];
            bar[OA + m * K + k] = a;
        }
    for (int k = 0; k < K; k++)
        for (int p = 0; p < P; p++) {
            double b = 0;
            for (int m = 0; m < M; m++)
                b += A[m * K + k] * dT[m * P + p];
            bar[OB + k * P + p] = b;
        }
    for (int m = 0; m < M; m++) {
        double ub = 0;
        for (int p = 0; p < P; p++) {
            double sg = sigmoid_ref(E[p * M + m]);
            bar[OE + p * M + m] = R[m * P + p] * u[m] * v[p] * sg * (1 - sg);
            ub += R[m * P + p] * v[p] * sg;
        }
        for (int k = 0; k < K; k++)
            ub += 0.2 * S * A[m * K + k] * w[k];
        bar[OU + m] = ub;
    }
}

/* The generated entry points on theta. */
static void f_packed(const double *theta, double *out, void *ctx)
{
    (void)ctx;
    matfn(theta + OA, theta + OB, theta + OE, theta + OU, v, c, out);
}

static void vjp_packed(const double *theta, const double *out_bar, double *bar, void *ctx)
{
    double out[NO];
    (void)ctx;
    matfn_vjp(theta + OA, theta + OB, theta + OE, theta + OU, v, c, out_bar, out,
              bar + OA, bar + OB, bar + OE, bar + OU);
}

/* <R, matfn(theta)> */
static double dot_out(const double *theta, const double *R)
{
    double out[NO], s = 0;
    f_packed(theta, out, NULL);
    for (int i = 0; i < NO; i++)
        s += R[i] * out[i];
    return s;
}

/* Central differences of <R, matfn> at theta against the VJP bar; the
 * step and the rounding allowance follow dxrt.h. */
static void check_fd(double *theta, const double *R, const double *bar)
{
    const double step = 6.0555e-6;      /* cbrt(DBL_EPSILON) */
    for (int i = 0; i < NP; i++) {
        double t = theta[i], h = step * fmax(1, fabs(t));
        theta[i] = t + h;
        double fp = dot_out(theta, R);
        double xp = theta[i];
        theta[i] = t - h;
        double fm = dot_out(theta, R);
        double xm = theta[i];
        theta[i] = t;
        double noise = 16 * 2.2205e-16 * (fabs(fp) + fabs(fm)) / (xp - xm);
        expect("finite differences", i, bar[i], (fp - fm) / (xp - xm), 1e-6, 1e-8 + noise);
    }
}

static void check_point(uint64_t *rng)
{
    double theta[NP], out[NO], ref[NO];
    for (int i = 0; i < NP; i++)
        theta[i] = dxrt_uniform(rng);
    const double *A = theta + OA, *B = theta + OB, *E = theta + OE, *u = theta + OU;

    matfn(A, B, E, u, v, c, out);
    matfn_ref(theta, ref);
    for (int i = 0; i < NO; i++)
        expect("out vs C", i, out[i], ref[i], 1e-12, 1e-15);

    for (int trial = 0; trial < 3; trial++) {
        double R[NO], out2[NO], bar[NP], bar_ref[NP];
        for (int i = 0; i < NO; i++)
            R[i] = dxrt_uniform(rng);
        for (int i = 0; i < NP; i++)
            bar[i] = 12345.0;   /* every output must be overwritten */
        for (int i = 0; i < NO; i++)
            out2[i] = 12345.0;
        matfn_vjp(A, B, E, u, v, c, R, out2, bar + OA, bar + OB, bar + OE, bar + OU);
        for (int i = 0; i < NO; i++)
            expect("matfn_vjp out vs matfn", i, out2[i], out[i], 1e-14, 0);
        vjp_ref(theta, R, bar_ref);
        for (int i = 0; i < NP; i++)
            expect("vjp vs hand-derived", i, bar[i], bar_ref[i], 1e-10, 1e-14);
        check_fd(theta, R, bar);
    }

    dxrt_report rep;
    if (dxrt_check_vjp(f_packed, vjp_packed, NULL, theta, NP, NO, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_vjp: ");
        fflush(stdout);
        dxrt_report_print(stdout, "matfn_vjp", &rep);
        nfail++;
    }
}

int main(void)
{
    uint64_t rng = 7;
    for (int k = 0; k < 3; k++)
        check_point(&rng);
    printf("done %d\n", nfail);
    return nfail > 0;
}
