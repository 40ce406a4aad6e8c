/*
 * nested_driver.c - checks the code dxc generates from nested.dx: two
 * nested loops carrying one scalar (nested), the inner loop as a function
 * of its own (sweep), and the outer loop calling it (nested_call).
 *
 * Build: dxc nested.dx -o nested.c --header nested.h, then compile this
 * file with -I runtime -I <dir of nested.h>, link nested.c, the runtime
 * (libdxrt.a) and -lm.
 *
 * The reference runs the loops in C, carrying the first and second
 * derivatives of s with respect to theta = (w[0..K-1], c): with
 * u = c z[i], T = tanh(s + j), T' = 1 - T^2, T'' = -2 T T',
 *     s   <- 0.9 s + w[j] i + u T
 *     ds  <- 0.9 ds + i e_wj + T du + u T' ds               (du = z[i] e_c)
 *     D2s <- 0.9 D2s + T' (du ds^T + ds du^T) + u (T'' ds ds^T + T' D2s)
 * (old s, ds, D2s on the right).  At four random points it checks:
 *   - nested and nested_call against the loops in C;
 *   - the _grad entry points' values against the primal, and their
 *     gradients against the reference, with the outputs pre-filled with
 *     garbage (they must be overwritten);
 *   - nested_grad against central differences computed here and against
 *     dxrt_check_grad (nested_call_grad too);
 *   - nested_jvp and nested_hvp (and the _call ones) along a random
 *     direction against the reference, and dxrt_check_hvp;
 *   - sweep and sweep_grad (a loop with a data argument) on their own,
 *     against the inner loop in C with its forward sensitivities, and
 *     dxrt_check_grad.
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dxrt.h"
#include "nested.h"

enum { M = 5, K = 4 };          /* as in nested.dx */
enum { NP = K + 1 };            /* nested: active parameters w, c */
enum { NS = K + 2 };            /* sweep: active parameters s0, w, u */

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

static double z[M];             /* the data */
static double r_data;           /* sweep's data argument r */

/* The loops in C: returns s, writes its gradient and Hessian in theta. */
static double nested_ref(const double *theta, double *ds, double (*d2)[NP])
{
    double s = 0, g[NP] = { 0 }, h[NP][NP] = { { 0 } };
    const double *w = theta, c = theta[K];
    for (int i = 0; i < M; i++) {
        double u = c * z[i], du[NP] = { 0 };
        du[K] = z[i];
        for (int j = 0; j < K; j++) {
            double T = tanh(s + j), T1 = 1 - T * T, T2 = -2 * T * T1;
            for (int a = 0; a < NP; a++)
                for (int b = 0; b < NP; b++)
                    h[a][b] = 0.9 * h[a][b] + T1 * (du[a] * g[b] + g[a] * du[b])
                              + u * (T2 * g[a] * g[b] + T1 * h[a][b]);
            for (int a = 0; a < NP; a++)
                g[a] = 0.9 * g[a] + T * du[a] + u * T1 * g[a];
            g[j] += i;
            s = s * 0.9 + w[j] * i + u * T;
        }
    }
    memcpy(ds, g, sizeof g);
    memcpy(d2, h, sizeof h);
    return s;
}

/* The inner loop in C, on sp = (s0, w, u): returns s, writes its gradient. */
static double sweep_ref(const double *sp, double r, double *ds)
{
    double s = sp[0], u = sp[K + 1], g[NS] = { 1, 0, 0, 0, 0, 0 };
    const double *w = sp + 1;
    for (int j = 0; j < K; j++) {
        double T = tanh(s + j), T1 = 1 - T * T;
        for (int a = 0; a < NS; a++)
            g[a] = 0.9 * g[a] + u * T1 * g[a];
        g[1 + j] += r;
        g[K + 1] += T;
        s = s * 0.9 + w[j] * r + u * T;
    }
    memcpy(ds, g, sizeof g);
    return s;
}

/* The generated entry points on packed parameters. */
static double f_nested(const double *theta, void *ctx)
{
    (void)ctx;
    return nested(theta, theta[K], z);
}

static void g_nested(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    nested_grad(theta, theta[K], z, g, &g[K]);
}

static void h_nested(const double *theta, const double *v, double *hv, void *ctx)
{
    (void)ctx;
    nested_hvp(theta, theta[K], z, v, v[K], hv, &hv[K]);
}

static double f_call(const double *theta, void *ctx)
{
    (void)ctx;
    return nested_call(theta, theta[K], z);
}

static void g_call(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    nested_call_grad(theta, theta[K], z, g, &g[K]);
}

static double f_sweep(const double *sp, void *ctx)
{
    (void)ctx;
    return sweep(sp[0], sp + 1, sp[K + 1], r_data);
}

static void g_sweep(const double *sp, double *g, void *ctx)
{
    (void)ctx;
    sweep_grad(sp[0], sp + 1, sp[K + 1], r_data, &g[0], g + 1, &g[K + 1]);
}

/* Central differences of f at theta (n parameters), coordinate by
 * coordinate, against g; the step and the rounding allowance follow
 * dxrt.h. */
static void check_fd(dxrt_fn f, double *theta, int n, const double *g)
{
    const double step = 6.0555e-6;      /* cbrt(DBL_EPSILON) */
    for (int i = 0; i < n; i++) {
        double t = theta[i], h = step * fmax(1, fabs(t));
        theta[i] = t + h;
        double fp = f(theta, NULL);
        double xp = theta[i];
        theta[i] = t - h;
        double fm = f(theta, NULL);
        double xm = theta[i];
        theta[i] = t;
        double noise = 16 * 2.2205e-16 * (fabs(fp) + fabs(fm)) / (xp - xm);
        expect("finite differences", i, g[i], (fp - fm) / (xp - xm), 1e-6, 1e-8 + noise);
    }
}

static void runtime_grad(const char *name, dxrt_fn f, dxrt_grad g, double *theta, int n)
{
    dxrt_report rep;
    if (dxrt_check_grad(f, g, NULL, theta, (size_t)n, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_grad: ");
        fflush(stdout);
        dxrt_report_print(stdout, name, &rep);
        nfail++;
    }
}

static void check_point(double *theta, uint64_t *rng)
{
    double ref[NP], ref2[NP][NP], g[NP], gc[NP];
    double s = nested_ref(theta, ref, ref2);

    double f = f_nested(theta, NULL);
    expect("nested vs C", 0, f, s, 1e-12, 1e-14);
    double fc = f_call(theta, NULL);
    expect("nested_call vs C", 0, fc, s, 1e-12, 1e-14);

    for (int i = 0; i < NP; i++)
        g[i] = gc[i] = 12345.0; /* the gradients must overwrite this */
    double fg = nested_grad(theta, theta[K], z, g, &g[K]);
    expect("nested_grad value vs nested", 0, fg, f, 1e-14, 1e-15);
    double fgc = nested_call_grad(theta, theta[K], z, gc, &gc[K]);
    expect("nested_call_grad value vs nested_call", 0, fgc, fc, 1e-14, 1e-15);
    for (int i = 0; i < NP; i++) {
        expect("nested_grad vs C", i, g[i], ref[i], 1e-10, 1e-13);
        expect("nested_call_grad vs C", i, gc[i], ref[i], 1e-10, 1e-13);
    }

    check_fd(f_nested, theta, NP, g);
    runtime_grad("nested_grad", f_nested, g_nested, theta, NP);
    runtime_grad("nested_call_grad", f_call, g_call, theta, NP);

    /* forward mode and the Hessian along a random direction */
    double d[NP], hv[NP], hvc[NP], out_dot = 12345.0, out_dotc = 12345.0, want = 0, scale = 0;
    for (int i = 0; i < NP; i++) {
        d[i] = dxrt_uniform(rng);
        want += ref[i] * d[i];
        scale += fabs(ref[i] * d[i]);
        hv[i] = hvc[i] = 12345.0;
    }
    double fj = nested_jvp(theta, theta[K], z, d, d[K], &out_dot);
    expect("nested_jvp value vs nested", 0, fj, f, 1e-14, 1e-15);
    expect("nested_jvp vs C", 0, out_dot, want, 0, 1e-10 * scale + 1e-13);
    fj = nested_call_jvp(theta, theta[K], z, d, d[K], &out_dotc);
    expect("nested_call_jvp value vs nested_call", 0, fj, fc, 1e-14, 1e-15);
    expect("nested_call_jvp vs C", 0, out_dotc, want, 0, 1e-10 * scale + 1e-13);

    double fh = nested_hvp(theta, theta[K], z, d, d[K], hv, &hv[K]);
    expect("nested_hvp value vs nested", 0, fh, f, 1e-14, 1e-15);
    fh = nested_call_hvp(theta, theta[K], z, d, d[K], hvc, &hvc[K]);
    expect("nested_call_hvp value vs nested_call", 0, fh, fc, 1e-14, 1e-15);
    for (int i = 0; i < NP; i++) {
        want = scale = 0;
        for (int j = 0; j < NP; j++) {
            want += ref2[i][j] * d[j];
            scale += fabs(ref2[i][j] * d[j]);
        }
        expect("nested_hvp vs C", i, hv[i], want, 0, 1e-10 * scale + 1e-13);
        expect("nested_call_hvp vs C", i, hvc[i], want, 0, 1e-10 * scale + 1e-13);
    }
    dxrt_report rep;
    if (dxrt_check_hvp(g_nested, h_nested, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_hvp: ");
        fflush(stdout);
        dxrt_report_print(stdout, "nested_hvp", &rep);
        nfail++;
    }
}

/* sweep on its own, at sp = (s0, w, u) and the data r. */
static void check_sweep(double *sp, double r)
{
    double ref[NS], g[NS];
    r_data = r;
    double s = sweep_ref(sp, r, ref);
    double f = f_sweep(sp, NULL);
    expect("sweep vs C", 0, f, s, 1e-12, 1e-14);
    for (int i = 0; i < NS; i++)
        g[i] = 12345.0;
    double fg = sweep_grad(sp[0], sp + 1, sp[K + 1], r, &g[0], g + 1, &g[K + 1]);
    expect("sweep_grad value vs sweep", 0, fg, f, 1e-14, 1e-15);
    for (int i = 0; i < NS; i++)
        expect("sweep_grad vs C", i, g[i], ref[i], 1e-10, 1e-13);
    check_fd(f_sweep, sp, NS, g);
    runtime_grad("sweep_grad", f_sweep, g_sweep, sp, NS);
}

int main(void)
{
    uint64_t rng = 55;
    for (int k = 0; k < 4; k++) {
        double theta[NP];
        for (int i = 0; i < M; i++)
            z[i] = dxrt_uniform(&rng);
        for (int i = 0; i < K; i++)
            theta[i] = 0.5 * dxrt_uniform(&rng);
        theta[K] = dxrt_uniform(&rng);
        check_point(theta, &rng);

        double sp[NS];
        for (int i = 0; i < NS; i++)
            sp[i] = dxrt_uniform(&rng);
        check_sweep(sp, k + 0.5);
    }

    printf("done %d\n", nfail);
    return nfail > 0;
}
