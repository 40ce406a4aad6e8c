/*
 * test_runtime.c - the runtime library's checks (runtime/dxrt.c).
 *
 * Correct hand-written derivatives must pass, and derivatives with one
 * deliberate error must fail with the error located: a check that cannot
 * fail tells a user nothing.  Each function below comes with its exact
 * derivative code; a Bug in the context corrupts one output of it.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dx.h"
#include "dxrt.h"

/* One deliberate error in derivative code: output `index` is scaled by
 * `scale` (1 + 1e-3: off by 1e-3 relative; -1: sign flipped).  With
 * hvp_only set, only the second-order code is wrong. */
typedef struct {
    size_t n;
    size_t index;
    double scale;
    int hvp_only;
    int calls_f, calls_g;
} Bug;

static void corrupt(double *out, const Bug *b)
{
    if (b && b->scale != 1)
        out[b->index] *= b->scale;
}

static Bug no_bug(size_t n)
{
    Bug b = {n, 0, 1, 0, 0, 0};
    return b;
}

/* ---- scalar test functions, each with its gradient ---- */

static double sumsq(const double *x, void *ctx)
{
    Bug *b = ctx;
    double s = 0;
    size_t i;

    b->calls_f++;
    for (i = 0; i < b->n; i++)
        s += x[i] * x[i];
    return s;
}

static void sumsq_grad(const double *x, double *g, void *ctx)
{
    Bug *b = ctx;
    size_t i;

    b->calls_g++;
    for (i = 0; i < b->n; i++)
        g[i] = 2 * x[i];
    corrupt(g, b);
}

/* Rosenbrock: sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2. */
static double rosen(const double *x, void *ctx)
{
    Bug *b = ctx;
    double s = 0;
    size_t i;

    for (i = 0; i + 1 < b->n; i++) {
        double d = x[i + 1] - x[i] * x[i];
        s += 100 * d * d + (1 - x[i]) * (1 - x[i]);
    }
    return s;
}

static void rosen_grad(const double *x, double *g, void *ctx)
{
    Bug *b = ctx;
    size_t i;

    for (i = 0; i < b->n; i++)
        g[i] = 0;
    for (i = 0; i + 1 < b->n; i++) {
        double d = x[i + 1] - x[i] * x[i];
        g[i] += -400 * x[i] * d - 2 * (1 - x[i]);
        g[i + 1] += 200 * d;
    }
    if (!b->hvp_only)
        corrupt(g, b);
}

/* H v for Rosenbrock, from its tridiagonal Hessian. */
static void rosen_hvp(const double *x, const double *v, double *hv, void *ctx)
{
    Bug *b = ctx;
    size_t i;

    for (i = 0; i < b->n; i++)
        hv[i] = 0;
    for (i = 0; i + 1 < b->n; i++) {
        double hii = 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
        double off = -400 * x[i];
        hv[i] += hii * v[i] + off * v[i + 1];
        hv[i + 1] += off * v[i] + 200 * v[i + 1];
    }
    corrupt(hv, b);
}

/* Softmax expectation: f = sum_i w_i p_i, p = softmax(x), w_i = i + 1. */
static void softmax(const double *x, double *p, size_t n)
{
    double mx = x[0], z = 0;
    size_t i;

    for (i = 1; i < n; i++)
        mx = fmax(mx, x[i]);
    for (i = 0; i < n; i++)
        z += p[i] = exp(x[i] - mx);
    for (i = 0; i < n; i++)
        p[i] /= z;
}

static double softexp(const double *x, void *ctx)
{
    Bug *b = ctx;
    double p[16], s = 0;
    size_t i;

    softmax(x, p, b->n);
    for (i = 0; i < b->n; i++)
        s += (double)(i + 1) * p[i];
    return s;
}

/* df/dx_j = p_j (w_j - f). */
static void softexp_grad(const double *x, double *g, void *ctx)
{
    Bug *b = ctx;
    double p[16], s = 0;
    size_t i;

    softmax(x, p, b->n);
    for (i = 0; i < b->n; i++)
        s += (double)(i + 1) * p[i];
    for (i = 0; i < b->n; i++)
        g[i] = p[i] * ((double)(i + 1) - s);
    corrupt(g, b);
}

static const double X5[5] = {-1.2, 1.0, 0.7, -0.4, 2.1};
static const double X8[8] = {0.3, -1.7, 2.2, 0.01, -0.5, 1.3, -2.4, 0.9};

/* ---- vector test functions: a linear map and a nonlinear one ---- */

/* y = A x with A 3 x 4, a transpose bug in the wrong vjp. */
static const double A34[12] = {
    1, -2, 0.5, 3,
    0, 4, -1, 2,
    -3, 1, 2, -0.5,
};

static void lin(const double *x, double *y, void *ctx)
{
    size_t i, j;

    (void)ctx;
    for (i = 0; i < 3; i++) {
        y[i] = 0;
        for (j = 0; j < 4; j++)
            y[i] += A34[i * 4 + j] * x[j];
    }
}

static void lin_vjp(const double *x, const double *ybar, double *xbar,
                    void *ctx)
{
    size_t i, j;

    (void)x;
    for (j = 0; j < 4; j++) {
        xbar[j] = 0;
        for (i = 0; i < 3; i++)
            xbar[j] += A34[i * 4 + j] * ybar[i];
    }
    corrupt(xbar, ctx);
}

static void lin_jvp(const double *x, const double *xdot, double *ydot,
                    void *ctx)
{
    lin(xdot, ydot, NULL);
    (void)x;
    corrupt(ydot, ctx);
}

/* y0 = sin(x0) x1, y1 = exp(x1 x2), y2 = x0^2 + tanh(x2): R^3 -> R^3. */
static void nl(const double *x, double *y, void *ctx)
{
    (void)ctx;
    y[0] = sin(x[0]) * x[1];
    y[1] = exp(x[1] * x[2]);
    y[2] = x[0] * x[0] + tanh(x[2]);
}

static void nl_jac(const double *x, double J[9])
{
    double e = exp(x[1] * x[2]), t = tanh(x[2]);

    J[0] = cos(x[0]) * x[1]; J[1] = sin(x[0]);  J[2] = 0;
    J[3] = 0;                J[4] = x[2] * e;   J[5] = x[1] * e;
    J[6] = 2 * x[0];         J[7] = 0;          J[8] = 1 - t * t;
}

static void nl_vjp(const double *x, const double *ybar, double *xbar,
                   void *ctx)
{
    double J[9];
    size_t i, j;

    nl_jac(x, J);
    for (j = 0; j < 3; j++) {
        xbar[j] = 0;
        for (i = 0; i < 3; i++)
            xbar[j] += J[i * 3 + j] * ybar[i];
    }
    corrupt(xbar, ctx);
}

/* Applies J instead of J^T: the classic adjoint bug, which only a test
 * with a non-symmetric J can see. */
static void nl_vjp_untransposed(const double *x, const double *ybar,
                                double *xbar, void *ctx)
{
    double J[9];
    size_t i, j;

    (void)ctx;
    nl_jac(x, J);
    for (i = 0; i < 3; i++) {
        xbar[i] = 0;
        for (j = 0; j < 3; j++)
            xbar[i] += J[i * 3 + j] * ybar[j];
    }
}

static void nl_jvp(const double *x, const double *xdot, double *ydot,
                   void *ctx)
{
    double J[9];
    size_t i, j;

    nl_jac(x, J);
    for (i = 0; i < 3; i++) {
        ydot[i] = 0;
        for (j = 0; j < 3; j++)
            ydot[i] += J[i * 3 + j] * xdot[j];
    }
    corrupt(ydot, ctx);
}

static const double X3[3] = {0.8, -0.6, 1.1};

/* ---- options, utilities ---- */

START_TEST(test_defaults)
{
    dxrt_check_opts o;

    dxrt_check_defaults(&o);
    ck_assert(o.step == cbrt(DBL_EPSILON));
    ck_assert(o.step > 6e-6 && o.step < 6.1e-6);
    ck_assert(o.atol > 0 && o.atol < 1e-6);
    ck_assert(o.rtol > 0 && o.rtol < 1e-4);
    ck_assert_uint_gt(o.ntrials, 0);
}
END_TEST

START_TEST(test_version)
{
    ck_assert_str_eq(dxrt_version(), DXRT_VERSION);
    /* The installed dxrt.pc takes its version from DX_VERSION. */
    ck_assert_str_eq(dxrt_version(), DX_VERSION);
}
END_TEST

START_TEST(test_splitmix64)
{
    uint64_t s = 0, s2 = 0;
    double lo = 1, hi = -1, mean = 0;
    int i;

    /* Reference outputs of splitmix64 seeded with 0. */
    ck_assert(dxrt_splitmix64(&s) == UINT64_C(0xe220a8397b1dcdaf));
    ck_assert(dxrt_splitmix64(&s) == UINT64_C(0x6e789e6aa1b965f4));
    for (i = 0; i < 10000; i++) {
        double u = dxrt_uniform(&s2);
        ck_assert(u >= -1 && u < 1);
        lo = fmin(lo, u);
        hi = fmax(hi, u);
        mean += u / 10000;
    }
    ck_assert(lo < -0.99 && hi > 0.99);
    ck_assert(fabs(mean) < 0.05);
}
END_TEST

/* ---- dxrt_check_grad ---- */

START_TEST(test_grad_sumsq)
{
    Bug b = no_bug(8);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_grad(sumsq, sumsq_grad, &b, X8, 8, NULL, &rep),
                     DXRT_PASS);
    ck_assert_int_eq(rep.status, DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 8);
    ck_assert_uint_eq(rep.nfailed, 0);
    ck_assert(rep.max_abs_err < 1e-8);
    ck_assert(rep.worst_ratio <= 1);
    /* One gradient, two evaluations per component. */
    ck_assert_int_eq(b.calls_g, 1);
    ck_assert_int_eq(b.calls_f, 16);
}
END_TEST

START_TEST(test_grad_rosenbrock)
{
    Bug b = no_bug(5);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_grad(rosen, rosen_grad, &b, X5, 5, NULL, &rep),
                     DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 5);
    ck_assert(rep.max_rel_err < 1e-7);
}
END_TEST

START_TEST(test_grad_softmax)
{
    Bug b = no_bug(8);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_grad(softexp, softexp_grad, &b, X8, 8, NULL,
                                     &rep), DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 8);
}
END_TEST

/* Large inputs: only a step relative to |x_i| keeps the differences
 * accurate (an absolute 6e-6 step would lose every digit at 1e6). */
START_TEST(test_grad_large_inputs)
{
    static const double x[4] = {1e6, -3e5, 2e6, -5e5};
    Bug b = no_bug(4);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_grad(sumsq, sumsq_grad, &b, x, 4, NULL, &rep),
                     DXRT_PASS);
    ck_assert(rep.max_rel_err < 1e-9);
    b.index = 1;
    b.scale = 1 + 1e-3;
    ck_assert_int_eq(dxrt_check_grad(sumsq, sumsq_grad, &b, x, 4, NULL, &rep),
                     DXRT_FAIL);
    ck_assert_uint_eq(rep.worst_index, 1);
}
END_TEST

/* f = 1e6 + sum x_i^2: large values, ordinary gradients.  The differences
 * lose about 1e-5 to rounding, more than atol + rtol |g| allows; the check
 * must widen its tolerance by that noise rather than fail an exact
 * gradient, yet still catch a wrong one. */
static double offset_sumsq(const double *x, void *ctx)
{
    return 1e6 + sumsq(x, ctx);
}

START_TEST(test_grad_large_values)
{
    Bug b = no_bug(8);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_grad(offset_sumsq, sumsq_grad, &b, X8, 8, NULL,
                                     &rep), DXRT_PASS);
    ck_assert_int_eq(dxrt_check_directional(offset_sumsq, sumsq_grad, &b, X8, 8,
                                            NULL, &rep), DXRT_PASS);
    b.index = 5;
    b.scale = 1 + 1e-2;
    ck_assert_int_eq(dxrt_check_grad(offset_sumsq, sumsq_grad, &b, X8, 8, NULL,
                                     &rep), DXRT_FAIL);
    ck_assert_uint_eq(rep.worst_index, 5);
}
END_TEST

/* A gradient with component _i off by 1e-3 relative: caught, located. */
START_TEST(test_grad_catches_small_error)
{
    Bug b = no_bug(5);
    dxrt_report rep;
    double g[5];

    b.index = (size_t)_i;
    b.scale = 1 + 1e-3;
    ck_assert_int_eq(dxrt_check_grad(rosen, rosen_grad, &b, X5, 5, NULL, &rep),
                     DXRT_FAIL);
    ck_assert_int_eq(rep.status, DXRT_FAIL);
    ck_assert_uint_eq(rep.nfailed, 1);
    ck_assert_uint_eq(rep.worst_index, (size_t)_i);
    ck_assert(rep.worst_ratio > 1);
    rosen_grad(X5, g, &b);
    ck_assert(rep.ad_value == g[_i]);
    ck_assert(fabs(rep.ref_value - g[_i] / (1 + 1e-3)) < 1e-6 * fabs(g[_i]));
    ck_assert(rep.max_rel_err > 5e-4 && rep.max_rel_err < 2e-3);
}
END_TEST

START_TEST(test_grad_catches_sign_flip)
{
    Bug b = no_bug(8);
    dxrt_report rep;

    b.index = (size_t)_i;
    b.scale = -1;
    ck_assert_int_eq(dxrt_check_grad(softexp, softexp_grad, &b, X8, 8, NULL,
                                     &rep), DXRT_FAIL);
    ck_assert_uint_eq(rep.nfailed, 1);
    ck_assert_uint_eq(rep.worst_index, (size_t)_i);
    ck_assert(rep.ad_value == -rep.ref_value ||
              fabs(rep.ad_value + rep.ref_value) < 1e-6 * fabs(rep.ad_value));
}
END_TEST

static void nan_grad(const double *x, double *g, void *ctx)
{
    sumsq_grad(x, g, ctx);
    g[2] = NAN;
}

START_TEST(test_grad_catches_nan)
{
    Bug b = no_bug(4);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_grad(sumsq, nan_grad, &b, X8, 4, NULL, &rep),
                     DXRT_FAIL);
    ck_assert_uint_eq(rep.worst_index, 2);
    ck_assert(isnan(rep.max_abs_err));
}
END_TEST

START_TEST(test_grad_tolerances)
{
    Bug b = no_bug(5);
    dxrt_check_opts o;

    /* Off by 1e-3 relative passes when the caller allows 1e-2... */
    b.scale = 1 + 1e-3;
    b.index = 1;
    dxrt_check_defaults(&o);
    o.rtol = 1e-2;
    ck_assert_int_eq(dxrt_check_grad(rosen, rosen_grad, &b, X5, 5, &o, NULL),
                     DXRT_PASS);
    /* ...and fails when it allows 1e-4. */
    o.rtol = 1e-4;
    ck_assert_int_eq(dxrt_check_grad(rosen, rosen_grad, &b, X5, 5, &o, NULL),
                     DXRT_FAIL);
    /* A huge atol hides it too. */
    o.atol = 1;
    ck_assert_int_eq(dxrt_check_grad(rosen, rosen_grad, &b, X5, 5, &o, NULL),
                     DXRT_PASS);
}
END_TEST

START_TEST(test_grad_bad_arguments)
{
    Bug b = no_bug(4);
    dxrt_check_opts o;
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_grad(NULL, sumsq_grad, &b, X8, 4, NULL, &rep),
                     DXRT_EINVAL);
    ck_assert_int_eq(rep.status, DXRT_EINVAL);
    ck_assert_int_eq(dxrt_check_grad(sumsq, NULL, &b, X8, 4, NULL, NULL),
                     DXRT_EINVAL);
    ck_assert_int_eq(dxrt_check_grad(sumsq, sumsq_grad, &b, NULL, 4, NULL,
                                     NULL), DXRT_EINVAL);
    dxrt_check_defaults(&o);
    o.rtol = -1;
    ck_assert_int_eq(dxrt_check_grad(sumsq, sumsq_grad, &b, X8, 4, &o, NULL),
                     DXRT_EINVAL);
    dxrt_check_defaults(&o);
    o.step = 0;
    ck_assert_int_eq(dxrt_check_grad(sumsq, sumsq_grad, &b, X8, 4, &o, NULL),
                     DXRT_EINVAL);
    dxrt_check_defaults(&o);
    o.atol = NAN;
    ck_assert_int_eq(dxrt_check_grad(sumsq, sumsq_grad, &b, X8, 4, &o, NULL),
                     DXRT_EINVAL);
    ck_assert_int_eq(b.calls_f + b.calls_g, 0);
    /* Nothing to check is not an error. */
    b.n = 0;
    ck_assert_int_eq(dxrt_check_grad(sumsq, sumsq_grad, &b, NULL, 0, NULL,
                                     &rep), DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 0);
}
END_TEST

/* The caller's x is never touched, and no callback sees it. */
static const double *seen_x;

static double spy_f(const double *x, void *ctx)
{
    ck_assert_ptr_ne(x, seen_x);
    return sumsq(x, ctx);
}

START_TEST(test_grad_leaves_x_alone)
{
    double x[4] = {1.5, -2.5, 3.5, 0.25}, keep[4];
    Bug b = no_bug(4);

    memcpy(keep, x, sizeof x);
    seen_x = x;
    ck_assert_int_eq(dxrt_check_grad(spy_f, sumsq_grad, &b, x, 4, NULL, NULL),
                     DXRT_PASS);
    ck_assert(memcmp(keep, x, sizeof x) == 0);
}
END_TEST

/* ---- dxrt_check_directional ---- */

START_TEST(test_directional)
{
    Bug b = no_bug(8);
    dxrt_check_opts o;
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_directional(softexp, softexp_grad, &b, X8, 8,
                                            NULL, &rep), DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 3);
    b.n = 5;
    dxrt_check_defaults(&o);
    o.ntrials = 7;
    ck_assert_int_eq(dxrt_check_directional(rosen, rosen_grad, &b, X5, 5, &o,
                                            &rep), DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 7);
    /* Wrong component: every direction sees it. */
    b.index = 3;
    b.scale = -1;
    ck_assert_int_eq(dxrt_check_directional(rosen, rosen_grad, &b, X5, 5, &o,
                                            &rep), DXRT_FAIL);
    ck_assert_uint_gt(rep.nfailed, 4);
}
END_TEST

/* ---- dxrt_check_vjp ---- */

START_TEST(test_vjp_linear)
{
    static const double x[4] = {0.5, -1, 2, 3};
    Bug b = no_bug(4);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_vjp(lin, lin_vjp, &b, x, 4, 3, NULL, &rep),
                     DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 4 * 3);
    ck_assert(rep.max_abs_err < 1e-8);
    b.index = 2;
    b.scale = 1 + 1e-3;
    ck_assert_int_eq(dxrt_check_vjp(lin, lin_vjp, &b, x, 4, 3, NULL, &rep),
                     DXRT_FAIL);
    ck_assert_uint_eq(rep.worst_index, 2);
    ck_assert_uint_eq(rep.nfailed, 3);
}
END_TEST

START_TEST(test_vjp_nonlinear)
{
    Bug b = no_bug(3);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_vjp(nl, nl_vjp, &b, X3, 3, 3, NULL, &rep),
                     DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 9);
    b.index = (size_t)_i;
    b.scale = -1;
    ck_assert_int_eq(dxrt_check_vjp(nl, nl_vjp, &b, X3, 3, 3, NULL, &rep),
                     DXRT_FAIL);
    ck_assert_uint_eq(rep.worst_index, (size_t)_i);
    ck_assert_int_eq(dxrt_check_vjp(nl, nl_vjp_untransposed, &b, X3, 3, 3,
                                    NULL, &rep), DXRT_FAIL);
}
END_TEST

START_TEST(test_vjp_overflow)
{
    Bug b = no_bug(3);

    ck_assert_int_eq(dxrt_check_vjp(nl, nl_vjp, &b, X3, SIZE_MAX / 4,
                                    SIZE_MAX / 4, NULL, NULL), DXRT_EINVAL);
    ck_assert_int_eq(dxrt_dot_test(nl_vjp, nl_jvp, &b, X3, SIZE_MAX / 2, 3,
                                   NULL, NULL), DXRT_EINVAL);
}
END_TEST

/* ---- dxrt_check_jvp, dxrt_check_hvp ---- */

START_TEST(test_jvp)
{
    Bug b = no_bug(3);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_jvp(nl, nl_jvp, &b, X3, 3, 3, NULL, &rep),
                     DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 9);
    b.index = 1;
    b.scale = 1 + 1e-3;
    ck_assert_int_eq(dxrt_check_jvp(nl, nl_jvp, &b, X3, 3, 3, NULL, &rep),
                     DXRT_FAIL);
    ck_assert_uint_eq(rep.worst_index, 1);
}
END_TEST

START_TEST(test_hvp)
{
    Bug b = no_bug(5);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_check_hvp(rosen_grad, rosen_hvp, &b, X5, 5, NULL,
                                    &rep), DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 15);
    b.index = 4;
    b.scale = 1 + 1e-3;
    b.hvp_only = 1;
    ck_assert_int_eq(dxrt_check_hvp(rosen_grad, rosen_hvp, &b, X5, 5, NULL,
                                    &rep), DXRT_FAIL);
    ck_assert_uint_eq(rep.worst_index, 4);
}
END_TEST

/* ---- dxrt_dot_test ---- */

START_TEST(test_dot_passes)
{
    static const double x[4] = {0.5, -1, 2, 3};
    Bug b = no_bug(3);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_dot_test(nl_vjp, nl_jvp, &b, X3, 3, 3, NULL, &rep),
                     DXRT_PASS);
    ck_assert_uint_eq(rep.nchecked, 3);
    ck_assert(rep.max_rel_err < 1e-14);
    ck_assert_int_eq(dxrt_dot_test(lin_vjp, lin_jvp, &b, x, 4, 3, NULL, &rep),
                     DXRT_PASS);
}
END_TEST

START_TEST(test_dot_fails)
{
    Bug b = no_bug(3);
    dxrt_report rep;

    ck_assert_int_eq(dxrt_dot_test(nl_vjp_untransposed, nl_jvp, &b, X3, 3, 3,
                                   NULL, &rep), DXRT_FAIL);
    ck_assert_uint_gt(rep.nfailed, 0);
    /* A small error in either mode shows too. */
    b.index = 0;
    b.scale = 1 + 1e-3;
    ck_assert_int_eq(dxrt_dot_test(nl_vjp, nl_jvp, &b, X3, 3, 3, NULL, &rep),
                     DXRT_FAIL);
    ck_assert_int_eq(dxrt_dot_test(NULL, nl_jvp, &b, X3, 3, 3, NULL, &rep),
                     DXRT_EINVAL);
}
END_TEST

/* Same seed, same directions, same report; another seed, other ones. */
START_TEST(test_seeded)
{
    Bug b = no_bug(3);
    dxrt_check_opts o;
    dxrt_report r1, r2, r3;

    dxrt_check_defaults(&o);
    o.seed = 42;
    b.scale = 1.5;
    dxrt_dot_test(nl_vjp, nl_jvp, &b, X3, 3, 3, &o, &r1);
    dxrt_dot_test(nl_vjp, nl_jvp, &b, X3, 3, 3, &o, &r2);
    o.seed = 43;
    dxrt_dot_test(nl_vjp, nl_jvp, &b, X3, 3, 3, &o, &r3);
    ck_assert(r1.ad_value == r2.ad_value && r1.ref_value == r2.ref_value);
    ck_assert(r1.ad_value != r3.ad_value);
}
END_TEST

/* ---- dxrt_report_print ---- */

static char *print_to_string(const char *name, const dxrt_report *rep)
{
    FILE *f = tmpfile();
    char *s = calloc(1, 1024);
    size_t len;

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(s);
    dxrt_report_print(f, name, rep);
    rewind(f);
    len = fread(s, 1, 1023, f);
    s[len] = '\0';
    fclose(f);
    return s;
}

START_TEST(test_report_print)
{
    Bug b = no_bug(5);
    dxrt_report rep;
    char *s;

    dxrt_check_grad(rosen, rosen_grad, &b, X5, 5, NULL, &rep);
    s = print_to_string("rosen", &rep);
    ck_assert_msg(strncmp(s, "rosen: PASS, 5 values checked", 29) == 0, "%s", s);
    free(s);

    b.index = 3;
    b.scale = -1;
    dxrt_check_grad(rosen, rosen_grad, &b, X5, 5, NULL, &rep);
    s = print_to_string(NULL, &rep);
    ck_assert_msg(strncmp(s, "check: FAIL, 1 of 5 values", 26) == 0, "%s", s);
    ck_assert_msg(strstr(s, "worst at index 3, trial 0") != NULL, "%s", s);
    free(s);

    dxrt_check_grad(NULL, rosen_grad, &b, X5, 5, NULL, &rep);
    s = print_to_string("bad", &rep);
    ck_assert_str_eq(s, "bad: ERROR, invalid arguments or options\n");
    free(s);
}
END_TEST

Suite *suite_runtime(void);

Suite *suite_runtime(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("basics");
    TCase *grad = tcase_create("grad");
    TCase *vec = tcase_create("vector");

    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_splitmix64);
    tcase_add_test(tc, test_report_print);
    suite_add_tcase(s, tc);

    tcase_add_test(grad, test_grad_sumsq);
    tcase_add_test(grad, test_grad_rosenbrock);
    tcase_add_test(grad, test_grad_softmax);
    tcase_add_test(grad, test_grad_large_inputs);
    tcase_add_test(grad, test_grad_large_values);
    tcase_add_loop_test(grad, test_grad_catches_small_error, 0, 5);
    tcase_add_loop_test(grad, test_grad_catches_sign_flip, 0, 8);
    tcase_add_test(grad, test_grad_catches_nan);
    tcase_add_test(grad, test_grad_tolerances);
    tcase_add_test(grad, test_grad_bad_arguments);
    tcase_add_test(grad, test_grad_leaves_x_alone);
    tcase_add_test(grad, test_directional);
    suite_add_tcase(s, grad);

    tcase_add_test(vec, test_vjp_linear);
    tcase_add_loop_test(vec, test_vjp_nonlinear, 0, 3);
    tcase_add_test(vec, test_vjp_overflow);
    tcase_add_test(vec, test_jvp);
    tcase_add_test(vec, test_hvp);
    tcase_add_test(vec, test_dot_passes);
    tcase_add_test(vec, test_dot_fails);
    tcase_add_test(vec, test_seeded);
    suite_add_tcase(s, vec);
    return s;
}
