/*
 * spring_driver.c - checks the code dxc generates from spring.dx, 10 000
 * explicit Euler steps of a damped spring, differentiated with respect to
 * the stiffness k and the damping c.
 *
 * Build: dxc spring.dx -o spring.c --header spring.h, then compile this
 * file with -I runtime -I <dir of spring.h>, link spring.c, the runtime
 * (libdxrt.a) and -lm.  With dxc --workspace (and -DDX_WS, which then
 * is implied) it also checks spring_grad_ws and asserts the size of the
 * tape (see below and README).
 *
 * The reference is the same integrator written in C, carrying alongside
 * x and v their first and second derivatives with respect to k and c
 * (forward sensitivities of the discrete map, so exact up to rounding):
 *     a = -k x - c v,  x' = x + dt v,  v' = v + dt a
 *     a_k = -x - k x_k - c v_k                a_c = -v - k x_c - c v_c
 *     a_kk = -2 x_k - k x_kk - c v_kk         a_cc = -2 v_c - k x_cc - c v_cc
 *     a_kc = -x_c - v_k - k x_kc - c v_kc
 * and likewise x_p' = x_p + dt v_p, v_p' = v_p + dt a_p for every p.
 *
 * At five random points (k, c, x0, v0) it checks:
 *   - spring against the C integrator;
 *   - spring_grad's value against spring, and (k_bar, c_bar) against the
 *     sensitivities, with the outputs pre-filled with garbage (they must
 *     be overwritten);
 *   - the gradient against central differences computed here and against
 *     dxrt_check_grad;
 *   - spring_jvp against the sensitivities along a random direction;
 *   - spring_hvp against the second-order sensitivities and against
 *     dxrt_check_hvp (differences of spring_grad).
 * With the header from dxc --workspace (-DDX_WS), also:
 *   - spring_grad_WS_BYTES <= 2 * 8 * 10000 + 1024: the tape holds at
 *     most two doubles per step, plus 1 KiB of slack;
 *   - spring_grad_ws on a malloc'ed workspace of exactly
 *     spring_grad_WS_BYTES bytes, followed by a guard that must stay
 *     untouched, filled with different garbage on two calls: both give
 *     the same gradient as the references, bit for bit the same as each
 *     other (nothing is read from the workspace before it is written).
 * Prints "FAIL ..." per failed check and ends with "done N" (N failures);
 * exits nonzero when N > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dxrt.h"
#include "spring.h"

enum { NSTEP = 10000 };         /* as in spring.dx */
static const double dt = 0.001;
enum { NP = 2 };                /* active parameters, packed: k, c */

/* The workspace checks run with -DDX_WS, or whenever the header comes
 * from dxc --workspace. */
#if defined(spring_grad_WS_BYTES) && !defined(DX_WS)
#define DX_WS 1
#endif
#ifdef DX_WS
#ifndef spring_grad_WS_BYTES
#error "-DDX_WS needs the header written by dxc --workspace (spring_grad_WS_BYTES)"
#endif
#endif

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

/* The data of the current point. */
static double x0, v0;

/* What the C integrator computes: the final x, its gradient (x_k, x_c)
 * and its Hessian [[x_kk, x_kc], [x_kc, x_cc]]. */
typedef struct {
    double x, g[NP], h[NP][NP];
} ref_t;

static ref_t spring_ref(double k, double c)
{
    double x = x0, v = v0;
    double xk = 0, vk = 0, xc = 0, vc = 0;
    double xkk = 0, vkk = 0, xkc = 0, vkc = 0, xcc = 0, vcc = 0;
    for (int i = 0; i < NSTEP; i++) {
        double a = -k * x - c * v;
        double ak = -x - k * xk - c * vk;
        double ac = -v - k * xc - c * vc;
        double akk = -2 * xk - k * xkk - c * vkk;
        double akc = -xc - vk - k * xkc - c * vkc;
        double acc = -2 * vc - k * xcc - c * vcc;
        x = x + dt * v;
        v = v + dt * a;
        xk = xk + dt * vk;
        vk = vk + dt * ak;
        xc = xc + dt * vc;
        vc = vc + dt * ac;
        xkk = xkk + dt * vkk;
        vkk = vkk + dt * akk;
        xkc = xkc + dt * vkc;
        vkc = vkc + dt * akc;
        xcc = xcc + dt * vcc;
        vcc = vcc + dt * acc;
    }
    ref_t r = { x, { xk, xc }, { { xkk, xkc }, { xkc, xcc } } };
    return r;
}

/* The generated entry points on the packed parameters theta = (k, c). */
static double f_packed(const double *theta, void *ctx)
{
    (void)ctx;
    return spring(theta[0], theta[1], x0, v0);
}

static void g_packed(const double *theta, double *g, void *ctx)
{
    (void)ctx;
    spring_grad(theta[0], theta[1], x0, v0, &g[0], &g[1]);
}

static void h_packed(const double *theta, const double *v, double *hv, void *ctx)
{
    (void)ctx;
    spring_hvp(theta[0], theta[1], x0, v0, v[0], v[1], &hv[0], &hv[1]);
}

/* Central differences of spring at theta, coordinate by coordinate,
 * against g; the step and the rounding allowance follow dxrt.h. */
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

#ifdef DX_WS
static void fail(const char *msg)
{
    if (++nfail <= 20)
        printf("FAIL %s\n", msg);
}

/* spring_grad_ws on a workspace of exactly spring_grad_WS_BYTES bytes
 * followed by a guard, twice, with different garbage in the workspace. */
static void check_ws(double k, double c, const ref_t *r)
{
    enum { GUARD = 256 };
    size_t ws = (size_t)spring_grad_WS_BYTES;
    unsigned char *work = malloc(ws + GUARD);
    double got[2][NP + 1];
    if (!work) {
        fail("malloc of the workspace");
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ws; i++)     /* NaNs, then small numbers */
            work[i] = pass == 0 ? 0xff : (unsigned char)(i * 37 + 11);
        for (size_t i = 0; i < GUARD; i++)
            work[ws + i] = (unsigned char)(0x5a ^ i);
        double kb = 12345.0, cb = 12345.0;
        got[pass][0] = spring_grad_ws(k, c, x0, v0, &kb, &cb, work);
        got[pass][1] = kb;
        got[pass][2] = cb;
        expect("spring_grad_ws value vs C", pass, got[pass][0], r->x, 1e-10, 1e-13);
        expect("spring_grad_ws k_bar vs sensitivities", pass, kb, r->g[0], 1e-9, 1e-12);
        expect("spring_grad_ws c_bar vs sensitivities", pass, cb, r->g[1], 1e-9, 1e-12);
        for (size_t i = 0; i < GUARD; i++) {
            if (work[ws + i] != (unsigned char)(0x5a ^ i)) {
                fail("spring_grad_ws wrote past spring_grad_WS_BYTES");
                break;
            }
        }
    }
    for (int j = 0; j <= NP; j++)
        if (got[0][j] != got[1][j])
            fail("spring_grad_ws depends on what the workspace held before the call");
    free(work);
}
#endif

static void check_point(double k, double c, uint64_t *rng)
{
    double theta[NP] = { k, c }, g[NP];
    ref_t r = spring_ref(k, c);

    double f = spring(k, c, x0, v0);
    expect("spring vs C", 0, f, r.x, 1e-10, 1e-13);

    g[0] = g[1] = 12345.0;      /* the gradient must overwrite this */
    double fg = spring_grad(k, c, x0, v0, &g[0], &g[1]);
    expect("spring_grad value vs spring", 0, fg, f, 1e-13, 1e-15);
    for (int i = 0; i < NP; i++)
        expect("gradient vs sensitivities", i, g[i], r.g[i], 1e-9, 1e-12);

    check_fd(theta, g);

    dxrt_report rep;
    if (dxrt_check_grad(f_packed, g_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_grad: ");
        fflush(stdout);
        dxrt_report_print(stdout, "spring_grad", &rep);
        nfail++;
    }

    /* forward mode along a random direction */
    double d[NP] = { dxrt_uniform(rng), dxrt_uniform(rng) };
    double out_dot = 12345.0;
    double fj = spring_jvp(k, c, x0, v0, d[0], d[1], &out_dot);
    expect("spring_jvp value vs spring", 0, fj, f, 1e-13, 1e-15);
    double want = r.g[0] * d[0] + r.g[1] * d[1];
    double scale = fabs(r.g[0] * d[0]) + fabs(r.g[1] * d[1]);
    expect("spring_jvp vs sensitivities", 0, out_dot, want, 0, 1e-9 * scale + 1e-12);

    /* Hessian-vector product */
    double hv[NP] = { 12345.0, 12345.0 };
    double fh = spring_hvp(k, c, x0, v0, d[0], d[1], &hv[0], &hv[1]);
    expect("spring_hvp value vs spring", 0, fh, f, 1e-13, 1e-15);
    for (int i = 0; i < NP; i++) {
        want = r.h[i][0] * d[0] + r.h[i][1] * d[1];
        scale = fabs(r.h[i][0] * d[0]) + fabs(r.h[i][1] * d[1]);
        expect("spring_hvp vs second-order sensitivities", i, hv[i], want, 0,
               1e-9 * scale + 1e-12);
    }
    if (dxrt_check_hvp(g_packed, h_packed, NULL, theta, NP, NULL, &rep) != DXRT_PASS) {
        printf("FAIL dxrt_check_hvp: ");
        fflush(stdout);
        dxrt_report_print(stdout, "spring_hvp", &rep);
        nfail++;
    }

#ifdef DX_WS
    check_ws(k, c, &r);
#endif
}

int main(void)
{
    uint64_t rng = 7;

#ifdef DX_WS
    printf("spring_WS_BYTES %lu, spring_grad_WS_BYTES %lu, spring_jvp_WS_BYTES %lu, "
           "spring_hvp_WS_BYTES %lu\n",
           (unsigned long)spring_WS_BYTES, (unsigned long)spring_grad_WS_BYTES,
           (unsigned long)spring_jvp_WS_BYTES, (unsigned long)spring_hvp_WS_BYTES);
    /* the spring needs no more than two doubles per step */
    if (!((size_t)spring_grad_WS_BYTES <= (size_t)2 * 8 * NSTEP + 1024)) {
        printf("FAIL the tape of spring_grad takes %lu bytes, over two doubles per step (%lu)\n",
               (unsigned long)spring_grad_WS_BYTES, (unsigned long)(2 * 8 * NSTEP + 1024));
        nfail++;
    }
#endif

    for (int p = 0; p < 5; p++) {
        /* stable: |1 + dt lambda|^2 = 1 - dt c + dt^2 k < 1 as c > dt k */
        double k = 5 + 4 * dxrt_uniform(&rng);          /* 1 .. 9 */
        double c = 0.55 + 0.45 * dxrt_uniform(&rng);    /* 0.1 .. 1 */
        x0 = dxrt_uniform(&rng);
        v0 = dxrt_uniform(&rng);
        check_point(k, c, &rng);
    }

    printf("done %d\n", nfail);
    return nfail > 0;
}
