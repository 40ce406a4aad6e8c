/*
 * test_adarr.c - the AD passes on array IR, stated as IR text (docs/ir.md)
 * so that they are tested apart from the front end, then on array
 * programs from source: every derivative entry point is run by the
 * interpreter and compared with central finite differences of the primal
 * (f_grad, f_jvp) or of f_grad (f_hvp), and f_grad with f_jvp by the dot
 * product.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/ir.h"
#include "testutil.h"

/* ---- checking ---- */

enum { MAXX = 64 };

typedef struct {
    Unit u;
    int nin;            /* primal inputs */
    int off[16], len[16];
    int total;          /* doubles over all inputs */
    int active[16];
} Ctx;

static void layout(Ctx *c)
{
    const Fn *f = c->u.primal;
    c->nin = f->in.n;
    c->total = 0;
    for (int i = 0; i < f->in.n; i++) {
        c->off[i] = c->total;
        c->len[i] = (int)ty_size(f->in.p[i].ty);
        c->total += c->len[i];
        c->active[i] = !f->in.p[i].is_data;
    }
    ck_assert_int_le(c->total, MAXX);
}

static double prim(Ctx *c, const double *x)
{
    const double *in[16];
    double y;
    double *out[1] = {&y};
    for (int i = 0; i < c->nin; i++)
        in[i] = x + c->off[i];
    ir_interp(c->u.primal, in, out);
    return y;
}

/* f_grad: the gradient over all inputs (data entries left 0). */
static double grad(Ctx *c, const double *x, double *g)
{
    const Fn *h = c->u.grad;
    const double *in[16];
    double *out[17], y;
    for (int i = 0; i < c->nin; i++)
        in[i] = x + c->off[i];
    memset(g, 0, sizeof(double) * (size_t)c->total);
    out[0] = &y;
    for (int k = 1; k < h->out.n; k++)
        out[k] = g + c->off[h->out.p[k].of];
    ir_interp(h, in, out);
    return y;
}

static double jvp(Ctx *c, const double *x, const double *v)
{
    const Fn *h = c->u.jvp;
    const double *in[32];
    double y, yd;
    double *out[2] = {&y, &yd};
    for (int i = 0; i < h->in.n; i++) {
        const Input *p = &h->in.p[i];
        in[i] = p->role == IN_TANGENT ? v + c->off[p->of] : x + c->off[i];
    }
    ir_interp(h, in, out);
    return yd;
}

static void hvp(Ctx *c, const double *x, const double *v, double *hv)
{
    const Fn *h = c->u.hvp;
    const double *in[32];
    double *out[17], y;
    for (int i = 0; i < h->in.n; i++) {
        const Input *p = &h->in.p[i];
        in[i] = p->role == IN_TANGENT ? v + c->off[p->of] : x + c->off[i];
    }
    memset(hv, 0, sizeof(double) * (size_t)c->total);
    out[0] = &y;
    for (int k = 1; k < h->out.n; k++)
        out[k] = hv + c->off[h->out.p[k].of];
    ir_interp(h, in, out);
}

static int is_active_entry(const Ctx *c, int j)
{
    for (int i = 0; i < c->nin; i++)
        if (j >= c->off[i] && j < c->off[i] + c->len[i])
            return c->active[i];
    return 0;
}

static void close_to(double got, double want, double tol, const char *what, int j)
{
    ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "%s[%d]: got %.15g, want %.15g",
                  what, j, got, want);
}

/* Differentiates f and checks every entry point at x. */
static void check_all(Fn *f, const double *x0, double tol)
{
    Ctx c = {0};
    c.u.primal = f;
    ir_verify(f);
    ad_unit(&c.u);
    ck_assert_ptr_nonnull(c.u.grad);
    ck_assert_ptr_nonnull(c.u.jvp);
    ir_verify(c.u.grad);
    ir_verify(c.u.jvp);
    layout(&c);
    double x[MAXX], g[MAXX], v[MAXX], hv[MAXX], gp[MAXX], gm[MAXX];
    memcpy(x, x0, sizeof(double) * (size_t)c.total);
    double y = grad(&c, x, g);
    close_to(y, prim(&c, x), 1e-14, "value", 0);
    for (int j = 0; j < c.total; j++) {
        if (!is_active_entry(&c, j)) {
            v[j] = 0;
            continue;
        }
        double h = 1e-6 * (1 + fabs(x[j])), s = x[j];
        x[j] = s + h;
        double fp = prim(&c, x);
        x[j] = s - h;
        double fm = prim(&c, x);
        x[j] = s;
        close_to(g[j], (fp - fm) / (2 * h), tol, "grad", j);
        v[j] = sin(3.0 * j + 1);
    }
    /* forward mode against reverse mode */
    double dot = 0, mag = 0;
    for (int j = 0; j < c.total; j++) {
        dot += g[j] * v[j];
        mag += fabs(g[j] * v[j]);
    }
    double jv = jvp(&c, x, v);
    ck_assert_msg(fabs(jv - dot) <= 1e-12 * (1 + mag), "jvp %.15g vs grad.v %.15g", jv, dot);
    /* Hessian-vector product against differences of the gradient */
    if (c.u.hvp) {
        ir_verify(c.u.hvp);
        hvp(&c, x, v, hv);
        double h = 1e-6;
        double xp[MAXX], xm[MAXX];
        for (int j = 0; j < c.total; j++) {
            xp[j] = x[j] + h * v[j];
            xm[j] = x[j] - h * v[j];
        }
        grad(&c, xp, gp);
        grad(&c, xm, gm);
        for (int j = 0; j < c.total; j++)
            if (is_active_entry(&c, j))
                close_to(hv[j], (gp[j] - gm[j]) / (2 * h), 1e-5, "hvp", j);
    }
}

static void fill(double *x, int n, double scale)
{
    for (int i = 0; i < n; i++)
        x[i] = scale * sin(1.7 * i + 0.3);
}

/* The primal of IR text (docs/ir.md), read as it is. */
static TuLowered read_ir(const char *name, const char *text)
{
    TuLowered c;
    ck_assert_msg(tu_read_ir(&c, name, text) == 0, "%s:%d:%d: %s", name, c.d.last_loc.line,
                  c.d.last_loc.col, c.d.last);
    return c;
}

/* f(W[3,4], x[4]) = sum_i sigmoid(sum_j W[i,j] x[j]): matvec, a GEN of
 * RED, then a reduction over the GEN's result. */
static const char matvec_sigmoid[] =
    "unit f : real\n"
    "fn f primal\n"
    "  in W : real[3,4]\n"
    "  in x : real[4]\n"
    "  out y : real return = %15\n"
    "{\n"
    "  %0 = param 0 : real[3,4] name=W\n"
    "  %1 = param 1 : real[4] name=x\n"
    "  %2 = gen : real[3] {\n"
    "    %3 = ivar 0 : index\n"
    "    %4 = red sum 0..4 : real {\n"
    "      %5 = ivar 0 : index\n"
    "      %6 = idx %1[%5] : real\n"
    "      %7 = idx %0[%3, %5] : real\n"
    "      %8 = mul %7, %6 : real\n"
    "      yield %8\n"
    "    }\n"
    "    %9 = result 0 %4 : real\n"
    "    %10 = sigmoid %9 : real\n"
    "    yield %10\n"
    "  }\n"
    "  %11 = result 0 %2 : real[3]\n"
    "  %12 = red sum 0..3 : real {\n"
    "    %13 = ivar 0 : index\n"
    "    %14 = idx %11[%13] : real\n"
    "    yield %14\n"
    "  }\n"
    "  %15 = result 0 %12 : real\n"
    "}\n";

START_TEST(test_matvec_sigmoid)
{
    TuLowered c = read_ir("matvec_sigmoid.ir", matvec_sigmoid);
    double x0[16];
    fill(x0, 16, 0.9);
    check_all(c.prog.units.p[0].primal, x0, 1e-7);
    arena_free(c.a);
}
END_TEST

/* f(L[3,3], x[3]) = sum_i (sum_{j < i+1} L[i,j] x[j])^2 + x[2-i] x[i]:
 * triangular bounds and reversed indices.  The strict upper triangle of
 * L has gradient exactly 0. */
static const char triangular[] =
    "unit f : real\n"
    "fn f primal\n"
    "  in L : real[3,3]\n"
    "  in x : real[3]\n"
    "  out y : real return = %15\n"
    "{\n"
    "  %0 = param 0 : real[3,3] name=L\n"
    "  %1 = param 1 : real[3] name=x\n"
    "  %2 = red sum 0..3 : real {\n"
    "    %3 = ivar 0 : index\n"
    "    %4 = red sum 0..%3 + 1 : real {\n"
    "      %5 = ivar 0 : index\n"
    "      %6 = idx %1[%5] : real\n"
    "      %7 = idx %0[%3, %5] : real\n"
    "      %8 = mul %7, %6 : real\n"
    "      yield %8\n"
    "    }\n"
    "    %9 = result 0 %4 : real\n"
    "    %10 = mul %9, %9 : real\n"
    "    %11 = idx %1[%3] : real\n"
    "    %12 = idx %1[-%3 + 2] : real\n"
    "    %13 = mul %12, %11 : real\n"
    "    %14 = add %10, %13 : real\n"
    "    yield %14\n"
    "  }\n"
    "  %15 = result 0 %2 : real\n"
    "}\n";

START_TEST(test_triangular)
{
    TuLowered c = read_ir("triangular.ir", triangular);
    double x0[12];
    fill(x0, 12, 1.1);
    check_all(c.prog.units.p[0].primal, x0, 1e-7);
    arena_free(c.a);
}
END_TEST

/* max_x sin(x * w) or prod_x sin(x * w) (%s: the reduction). */
static const char reduce_sin[] =
    "unit f : real\n"
    "fn f primal\n"
    "  in x : real[5]\n"
    "  in w : real\n"
    "  out y : real return = %%7\n"
    "{\n"
    "  %%0 = param 0 : real[5] name=x\n"
    "  %%1 = param 1 : real name=w\n"
    "  %%2 = red %s 0..5 : real {\n"
    "    %%3 = ivar 0 : index\n"
    "    %%4 = idx %%0[%%3] : real\n"
    "    %%5 = mul %%4, %%1 : real\n"
    "    %%6 = sin %%5 : real\n"
    "    yield %%6\n"
    "  }\n"
    "  %%7 = result 0 %%2 : real\n"
    "}\n";

/* max and prod reductions: ties share the gradient, zeros are exact. */
START_TEST(test_max_prod)
{
    for (int kind = 0; kind < 2; kind++) {
        char text[sizeof reduce_sin];
        snprintf(text, sizeof text, reduce_sin, kind ? "prod" : "max");
        TuLowered c = read_ir("reduce_sin.ir", text);
        double x0[6] = {0.3, -0.2, 0.7, 0.1, 0.5, 1.3};
        check_all(c.prog.units.p[0].primal, x0, 1e-7);
        arena_free(c.a);
    }
}
END_TEST

/* max_x x or min_x x (%s: the reduction). */
static const char reduce[] =
    "unit f : real\n"
    "fn f primal\n"
    "  in x : real[4]\n"
    "  out y : real return = %%4\n"
    "{\n"
    "  %%0 = param 0 : real[4] name=x\n"
    "  %%1 = red %s 0..4 : real {\n"
    "    %%2 = ivar 0 : index\n"
    "    %%3 = idx %%0[%%2] : real\n"
    "    yield %%3\n"
    "  }\n"
    "  %%4 = result 0 %%1 : real\n"
    "}\n";

/* max over x with a tie: the gradient is shared equally by the tied
 * elements, and the tangent is the mean of their tangents (spec §5). */
START_TEST(test_max_ties)
{
    for (int kind = 0; kind < 2; kind++) {
        char text[sizeof reduce];
        snprintf(text, sizeof text, reduce, kind ? "min" : "max");
        TuLowered t = read_ir("reduce.ir", text);
        Ctx c = {0};
        c.u.primal = t.prog.units.p[0].primal;
        ad_unit(&c.u);
        layout(&c);
        double x0[2][4] = {{1, 3, 3, 2}, {2, -1, 5, -1}};
        double g[4], v[4] = {0.25, 1, 2, 4};
        double y = grad(&c, x0[kind], g);
        ck_assert(y == (kind ? -1 : 3));
        double want[2][4] = {{0, 0.5, 0.5, 0}, {0, 0.5, 0, 0.5}};
        for (int i = 0; i < 4; i++)
            ck_assert_msg(g[i] == want[kind][i], "kind %d: g[%d] = %g", kind, i, g[i]);
        double jv = jvp(&c, x0[kind], v);
        ck_assert(jv == (kind ? 2.5 : 1.5));
        arena_free(t.a);
    }
}
END_TEST

/* ---- array programs from source, through the whole front end ---- */

/* Each program's last function has a scalar result; its gradient, jvp and
 * hvp are checked at a point where every branch is decided firmly. */
static const char *const programs[] = {
    /* elementwise, broadcast, every @ form */
    "fn f(A[2,3], B[3,2], u[3], v[2]) = sum(A @ B) + u @ u + sum(u @ B * v * 0.5) + sum(A @ u * v)",
    "fn f(x[4], s) = sum(exp(x * s) / (1 + x ^ 2)) - s * mean(sin(x))",
    "fn f(x[3], y[3]) = sum(atan2(x, y) + hypot(x, y) + max(x, y) * min(x, 2) + pow(abs(x) + 1, y))",
    "fn f(x[3]) = sum(sigmoid(x) + softplus(x) + relu(x) + tanh(x) + erf(x) + log1p(x * x) + expm1(x))",
    /* builtins on arrays */
    "fn f(x[4], y[4]) = logsumexp(x) + dot(softmax(x), y) + norm(x - y) + prod(x) + max(x * y) - min(x)",
    "fn f(A[2,3], a[2], b[3]) = sum(transpose(A) * outer(b, a)) + sum(A ^ 2)",
    /* comprehensions, offsets, triangular reductions, index as real */
    "fn f(x[5]) = sum([x[i] * x[4 - i] for i in 0..5]) + sum(x[i + 1] - x[i] for i in 0..4) ^ 2",
    "fn f(L[3,3], x[3]) = sum(sum(L[i, j] * x[j] for j in 0..i+1) ^ 2 for i in 0..3)",
    "fn f(x[4]) = sum(x[i] * i * 0.5 for i in 0..4) + sum(sum(x[i] * x[j] for j in i..4) for i in 0..4)",
    "fn f(X[3,2], w[2]) = sum(sigmoid(dot(w, X[t])) for t in 0..3)",
    /* literals, stacking, array-valued branches */
    "fn f(u[3], v[3], a) = sum([u, v * a] ^ 2) + dot([a, 2 * a, a * a], u)",
    "fn f(x[3]) = sum([if x[i] > 0 then x[i] * x[i] else sin(x[i]) for i in 0..3] * [1, 2, 3])",
    "fn f(x[3], c) {\n y = x * 2\n if c > 0 { y = y * x } else { y = exp(y) }\n return sum(y)\n}",
    /* calls with arrays, matrix results inside */
    ("fn g(W[2,2], v[2]) -> real[2] { return tanh(W @ v) }\n"
     "fn f(W[2,2], v[2]) = sum(g(W, g(W, v)) * v)"),
    /* nested comprehension with a reduction inside */
    "fn f(A[3,3]) = sum([sum(A[i, k] * A[k, j] for k in 0..3) for i in 0..3, j in 0..3] ^ 2)",
    /* arrays local to a loop body (softmax of each row), their tapes */
    "fn f(X[3,4], w[3,4]) = sum([softmax(X[i])[j] for i in 0..3, j in 0..4] * w)",
    "fn f(X[2,3]) = sum([logsumexp(X[i] * X[i]) * norm(X[i]) for i in 0..2])",
};

START_TEST(test_programs)
{
    TuLowered c;
    const char *text = programs[_i];
    ck_assert_msg(tu_lower(&c, text) == 0, "does not compile: %s", text);
    double x0[MAXX];
    for (int k = 0; k < MAXX; k++)
        x0[k] = 0.3 + 0.7 * sin(2.1 * k + 0.5); /* in (-0.4, 1): away from kinks and ties */
    check_all(c.prog.units.p[c.prog.units.n - 1].primal, x0, 2e-6);
    arena_free(c.a);
}
END_TEST

/* The same programs compiled to C by dxc and run: f_grad's value and
 * gradient must match the interpreter's run of the IR. */
static void compiled_matches(Ctx *c, const char *text, const double *x, const char *cc)
{
    const Fn *h = c->u.grad;
    char drv[16384];
    int n = snprintf(drv, sizeof drv, "#include <stdio.h>\n#include \"p.h\"\nint main(void)\n{\n");
    for (int i = 0; i < c->nin; i++) {
        n += snprintf(drv + n, sizeof drv - (size_t)n, "    double in%d[%d] = {", i, c->len[i]);
        for (int k = 0; k < c->len[i]; k++)
            n += snprintf(drv + n, sizeof drv - (size_t)n, "%s%.17g", k ? ", " : "", x[c->off[i] + k]);
        n += snprintf(drv + n, sizeof drv - (size_t)n, "};\n    double g%d[%d];\n", i, c->len[i]);
    }
    n += snprintf(drv + n, sizeof drv - (size_t)n, "    double y = %s(", h->name);
    for (int i = 0; i < c->nin; i++)
        n += snprintf(drv + n, sizeof drv - (size_t)n, "%s%sin%d", i ? ", " : "",
                      c->len[i] == 1 && c->u.primal->in.p[i].ty.rank == 0 ? "*" : "", i);
    for (int k = 1; k < h->out.n; k++)
        n += snprintf(drv + n, sizeof drv - (size_t)n, ", g%d", h->out.p[k].of);
    n += snprintf(drv + n, sizeof drv - (size_t)n, ");\n    printf(\"%%.17g\\n\", y);\n");
    for (int k = 1; k < h->out.n; k++) {
        int i = h->out.p[k].of;
        n += snprintf(drv + n, sizeof drv - (size_t)n,
                      "    for (int k = 0; k < %d; k++) printf(\"%%.17g\\n\", g%d[k]);\n", c->len[i], i);
    }
    snprintf(drv + n, sizeof drv - (size_t)n, "    return 0;\n}\n");
    ck_assert_int_eq(tu_write(tu_path("p.dx"), text, (size_t)-1), 0);
    ck_assert_int_eq(tu_write(tu_path("drv.c"), drv, (size_t)-1), 0);
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' p.dx -o p.c --header p.h && %s -std=c99 -Wall -Wextra -Wpedantic "
             "-Werror -O1 -c p.c && %s -std=c99 -O1 -Wall -Wextra -Werror -c drv.c && "
             "%s -o p p.o drv.o -lm && ./p",
             tu_tmpdir(), tu_dxc(), cc, cc, cc);
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "%s: %s\n%s", text, err ? err : "", drv);
    /* the interpreter's answer */
    double g[MAXX];
    double y = grad(c, x, g);
    char *p = out;
    double got = strtod(p, &p);
    close_to(got, y, 1e-12, "compiled value", 0);
    for (int k = 1; k < h->out.n; k++) {
        int i = h->out.p[k].of;
        for (int j = 0; j < c->len[i]; j++) {
            got = strtod(p, &p);
            close_to(got, g[c->off[i] + j], 1e-10, "compiled gradient", c->off[i] + j);
        }
    }
    free(out);
    free(err);
}

/* for loops: carried scalars and arrays, branches, nesting, calls */
static const char *const loop_programs[] = {
    "fn f(k, c) {\n x = 1\n v = 0\n for i in 0..100 {\n a = -k * x - c * v\n"
    " x = x + 0.01 * v\n v = v + 0.01 * a\n }\n return x\n}",
    "fn f(x0, a) {\n x = x0\n for i in 0..200 { x = sin(x) * a + 0.5 * x }\n return x\n}",
    "fn f(x0, a, b) {\n x = x0\n for i in 0..30 {\n if x > 1 { x = x * 0.5 + a } else { x = x * x + b }\n }\n"
    " return x\n}",
    "fn f(w[3], s0) {\n s = s0\n for i in 0..4 {\n for j in 0..3 { s = s * 0.9 + w[j] * i }\n }\n return s\n}",
    "fn f(W[2,2], U[2,3], X[5,3], b[2]) {\n h = [0, 0]\n for t in 0..5 { h = tanh(W @ h + U @ X[t] + b) }\n"
    " return sum(h ^ 2)\n}",
    ("fn step(x, a) {\n for i in 0..3 { t = x * a\n x = x - 0.1 * sin(t) }\n return x\n}\n"
     "fn f(x, a) = step(step(x, a), a * x)"),
    "fn f(x[4]) {\n s = 0\n p = 1\n for i in 0..4 {\n s = s + x[i] * p\n p = p * x[3 - i]\n }\n return s\n}",
    "fn f(x) {\n y = x * x\n for i in 3..3 { y = sin(y) }\n return y\n}",
    /* regressions: an array carried by an inner loop beside an outer carried
     * scalar (the reverse loop's RESULTs were split by an accumulation) */
    "fn f(a) {\n M = [a, a]\n s = a\n for i in 0..2 {\n for j in 0..2 { M = M * 2 }\n"
    " s = s * 2\n }\n return s + M[0]\n}",
    "fn f(a) {\n M = [a, a]\n s = a\n for i in 0..2 {\n for j in 0..2 { M = M * 2\n s = s * 2 }\n"
    " }\n return s + M[0]\n}",
};

START_TEST(test_loop_programs)
{
    TuLowered c;
    const char *text = loop_programs[_i];
    ck_assert_msg(tu_lower(&c, text) == 0, "does not compile: %s", text);
    double x0[MAXX];
    for (int k = 0; k < MAXX; k++)
        x0[k] = 0.3 + 0.7 * sin(2.1 * k + 0.5);
    check_all(c.prog.units.p[c.prog.units.n - 1].primal, x0, 2e-6);
    arena_free(c.a);
}
END_TEST

START_TEST(test_programs_compiled)
{
    TuLowered cp;
    const char *text = programs[_i];
    ck_assert(tu_lower(&cp, text) == 0);
    Ctx c = {0};
    c.u.primal = cp.prog.units.p[cp.prog.units.n - 1].primal;
    ad_unit(&c.u);
    layout(&c);
    double x0[MAXX];
    for (int k = 0; k < MAXX; k++)
        x0[k] = 0.3 + 0.7 * sin(2.1 * k + 0.5);
    tu_tmpdir();
    compiled_matches(&c, text, x0, "gcc");
    compiled_matches(&c, text, x0, "clang");
    tu_cleanup();
    arena_free(cp.a);
}
END_TEST

Suite *suite_adarr(void);
Suite *suite_adarr(void)
{
    Suite *s = suite_create("adarr");
    TCase *tc = tcase_create("adarr");
    tcase_add_test(tc, test_matvec_sigmoid);
    tcase_add_test(tc, test_triangular);
    tcase_add_test(tc, test_max_prod);
    tcase_add_test(tc, test_max_ties);
    tcase_add_loop_test(tc, test_programs, 0, (int)(sizeof programs / sizeof *programs));
    tcase_add_loop_test(tc, test_programs_compiled, 0, (int)(sizeof programs / sizeof *programs));
    tcase_add_loop_test(tc, test_loop_programs, 0, (int)(sizeof loop_programs / sizeof *loop_programs));
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
