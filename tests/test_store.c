/*
 * test_store.c - element and row stores, x[i] = e and X[t] = v.
 *
 * Misuse gives an error at the right place (a store to a constant, an
 * index variable, a function, an undefined or scalar name, a real
 * index, too many indices, a value of the wrong shape, an index out of
 * range).  Programs that store inside loops and branches, in every rank,
 * go through the differential tester's checks (tests/diffcheck.c: every
 * entry point against central differences and the other mode, in the
 * interpreter and compiled, with --workspace and --tape=small), and
 * through the compiled C against the interpreter in double and float
 * (cr_check).  Hand-derived values check f, f_grad/f_vjp, f_jvp and
 * f_hvp of small programs, in double and --real=float; the heat-equation
 * example is checked against its closed form.  The views (--at, json,
 * dot, html) and --stats run on a program with stores.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
#include "cgrun.h"
#include "diffcheck.h"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* ---------------- errors ---------------- */

static const TuBad bad[] = {
    {"const N = 3\nfn f(x[3]) {\n N[0] = 1\n return sum(x)\n}", 3, 2,
     "'N' is a constant, not an array variable; no element of it can be assigned"},
    {"fn f(x[3]) {\n for i in 0..3 {\n  i[0] = 1\n }\n return sum(x)\n}", 3, 3,
     "'i' is an index variable, not an array variable"},
    {"fn f(x[3]) {\n y[0] = 1\n return sum(x)\n}", 2, 2,
     "'y' is not defined; only an element of an array variable that already exists can be "
     "assigned"},
    {"fn f(x[3]) {\n for i in 0..3 {\n  y[i] = 1\n  y = x\n }\n return sum(x)\n}", 3, 3,
     "'y' is not defined"},
    {"fn f(x[3], s) {\n s[0] = 1\n return sum(x)\n}", 2, 2,
     "'s' is a scalar, not an array variable; no element of it can be assigned"},
    {"fn f(x[3]) {\n sin[0] = 1\n return sum(x)\n}", 2, 2, "'sin' is a built-in function"},
    {"fn g(a) = a\nfn f(x[3]) {\n g[0] = 1\n return sum(x)\n}", 3, 2, "'g' is a function"},
    {"fn f(x[3]) {\n x[0.5] = 1\n return sum(x)\n}", 2, 4, "0.5 is a real number"},
    {"fn f(x[3], a) {\n x[a] = 1\n return sum(x)\n}", 2, 4, "index"},
    {"fn f(x[3]) {\n x[0, 1] = 1\n return sum(x)\n}", 2, 7, "too many indices: x has 1 dimension"},
    {"fn f(x[3]) {\n x[1] = x\n return sum(x)\n}", 2, 9,
     "x[1] is a scalar; it cannot be assigned an array of shape [3]"},
    {"fn f(W[2, 3]) {\n W[1] = [1, 2]\n return sum(W)\n}", 2, 9,
     "W[1] is an array of shape [3]; it cannot be assigned an array of shape [2]"},
    {"fn f(W[2, 3]) {\n W[1] = 0\n return sum(W)\n}", 2, 9,
     "W[1] is an array of shape [3]; it cannot be assigned a scalar"},
    {"fn f(x[3]) {\n for i in 0..4 {\n  x[i] = 1\n }\n return sum(x)\n}", 3, 5,
     "dimension 0 of x has size 3"},
    {"fn f(x[3]) {\n for i in 0..3 {\n  x[i + 1] = x[i]\n }\n return sum(x)\n}", 3, 7,
     "index i+1 of x ranges over 1..3, but dimension 0 of x has size 3 (valid 0..2)"},
    {"fn f(x[3], a) {\n if a > 0 {\n  y = x\n }\n y[0] = 1\n return sum(x)\n}", 5, 2,
     "not defined on every path"},
};

START_TEST(test_errors)
{
    char *why = tu_bad_mismatch(&bad[_i], 0);
    ck_assert_msg(!why, "%s", why);
}
END_TEST

/* dxc reports with the file, line and column, the caret, exit 1, and
 * leaves the output untouched. */
START_TEST(test_error_cli)
{
    tu_write(tu_path("bad.dx"), "fn f(x[3]) {\n  x[1, 2] = 1\n  return sum(x)\n}\n", -1);
    tu_write(tu_path("bad.c"), "keep", -1);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("bad.dx -o bad.c", &out, &err), 1);
    ck_assert_msg(strstr(err, "bad.dx:2:8: error: too many indices: x has 1 dimension\n"
                              "      x[1, 2] = 1\n"
                              "           ^\n"),
                  "%s", err);
    char *kept = tu_read(tu_path("bad.c"), NULL);
    ck_assert_str_eq(kept, "keep");
    free(kept);
    free(out);
    free(err);
}
END_TEST

/* ---------------- against differences ---------------- */

static const char *const programs[] = {
    /* a recurrence: each element from the one before */
    "const N = 5\n"
    "fn f(x[N], a) {\n"
    "    y = x\n"
    "    for i in 1..N {\n"
    "        y[i] = y[i-1] * a + sin(y[i])\n"
    "    }\n"
    "    return sum(y * y)\n"
    "}\n",
    /* rows and elements of a matrix parameter, in a loop and a branch */
    "fn f(W[3, 4], v[4], c) {\n"
    "    for t in 0..3 {\n"
    "        if c > 0.2 {\n"
    "            W[t] = tanh(W[t] * v + c)\n"
    "        } else {\n"
    "            W[t, 3 - t] = W[t, t] * c\n"
    "        }\n"
    "        W[2 - t, t + 1] = W[2 - t, t] * W[t, t + 1]\n"
    "    }\n"
    "    return W\n"
    "}\n",
    /* a callee's stores leave the caller's array alone; overwrites */
    "fn g(x[3]) {\n"
    "    x[0] = 5 * x[1]\n"
    "    return sum(x * x)\n"
    "}\n"
    "fn f(x[3], b) {\n"
    "    x[2] = x[2] * b\n"
    "    s = g(x) + sum(x)\n"
    "    x[1] = exp(x[0])\n"
    "    x[1] = x[1] * x[2]\n"
    "    return s + x[1]\n"
    "}\n",
    /* rank 3: a row of a row, and elements, in nested loops */
    "fn f(T[2, 3, 4], u[4]) {\n"
    "    for i in 0..2 {\n"
    "        for j in 0..3 {\n"
    "            T[i, j] = T[i, j] * u + T[i, 2 - j, j]\n"
    "            T[1 - i, j, i + 1] = sin(T[i, j, i])\n"
    "        }\n"
    "    }\n"
    "    return sum(T * T)\n"
    "}\n",
    /* a tridiagonal (Thomas) solve: forward sweep, then x[i] backwards;
     * the diagonal is shifted to keep it dominant at the tester's inputs
     * in [-1.5, 1.5] */
    "const N = 5\n"
    "fn f(a[N], b[N], c[N], d[N]) {\n"
    "    b = b + 8\n"
    "    cp = c\n"
    "    dp = d\n"
    "    cp[0] = c[0] / b[0]\n"
    "    dp[0] = d[0] / b[0]\n"
    "    for i in 1..N {\n"
    "        m = b[i] - a[i] * cp[i-1]\n"
    "        cp[i] = c[i] / m\n"
    "        dp[i] = (d[i] - a[i] * dp[i-1]) / m\n"
    "    }\n"
    "    x = dp\n"
    "    for k in 1..N {\n"
    "        x[N-1-k] = dp[N-1-k] - cp[N-1-k] * x[N-k]\n"
    "    }\n"
    "    return x\n"
    "}\n",
    /* one row store per iteration, reading the row it overwrites: the
     * gradient tapes those rows only */
    "fn f(X[4, 3], v[3]) {\n"
    "    for t in 1..4 {\n"
    "        X[t] = X[t-1] * v + sin(X[t])\n"
    "    }\n"
    "    return sum(X * X)\n"
    "}\n",
    /* element stores in a nested loop, the inner loop's tape of
     * overwritten elements made again in each outer reverse iteration */
    "fn f(A[3, 4], c) {\n"
    "    s = 0\n"
    "    for i in 0..3 {\n"
    "        for j in 1..4 {\n"
    "            A[i, j] = A[i, j-1] * c + cos(A[i, j])\n"
    "        }\n"
    "        s = s + A[i, 3] * A[i, 1]\n"
    "    }\n"
    "    return s\n"
    "}\n",
};

/* text through the differential tester, compiled with gcc: every check
 * passes; returns how many there were. */
static int passes_tester(const char *text, uint64_t seed, int workspace, int small_tape)
{
    DcOpts o = {0};
    o.compiled = 1;
    o.dxc = tu_dxc();
    o.cc = "gcc";
    o.workdir = tu_tmpdir();
    o.seed = seed;
    o.workspace = workspace;
    o.small_tape = small_tape;
    DcResult r = dc_check(text, &o);
    ck_assert_msg(r.status == DC_OK, "%s: %s\n%s", r.what, r.msg, text);
    ck_assert(r.compiled);
    return r.checks;
}

START_TEST(test_fd)
{
    ck_assert_int_gt(passes_tester(programs[_i / 3], 7 + (uint64_t)_i, _i % 3 == 1, _i % 3 == 2), 20);
}
END_TEST

/* The compiled C against the interpreter, double and float (with a
 * workspace), and --tape=small. */
START_TEST(test_compiled)
{
    const char *text = programs[_i / 2];
    TuLowered L;
    ck_assert_msg(tu_lower(&L, text) == 0, "does not compile: %s", L.d.last);
    for (int u = 0; u < L.prog.units.n; u++) {
        L.prog.units.p[u].small_tape = _i % 2;
        ad_unit(&L.prog.units.p[u]);
    }
    char tag[32];
    snprintf(tag, sizeof tag, "st%d_fws", _i);
    free(cr_check(&L.prog, tag, "store.dx", 1, 1, CG_STACK_BUDGET, 1e-3));
    snprintf(tag, sizeof tag, "st%d", _i);
    char *code = cr_check(&L.prog, tag, "store.dx", 0, 0, CG_STACK_BUDGET, 1e-10);
    free(code);
    arena_free(L.a);
}
END_TEST

/* ---------------- hand-derived values ---------------- */

/* Compiles text with dxc FLAGS, then a driver that includes the C and
 * runs body (which has R for the real type, and CK(got, want) to
 * compare to tol), with gcc under the strict flags; the driver must
 * print "ok" and nothing failing. */
static void run_driver(const char *text, const char *flags, const char *body, double tol)
{
    tu_write(tu_path("h.dx"), text, -1);
    int fl = strstr(flags, "float") != NULL;
    char *args = tu_printf("h.dx %s -o h.c", flags);
    free(cr_dxc_ok(args));
    free(args);
    char *drv = tu_printf(
        "#include <math.h>\n#include <stdio.h>\n#include \"h.c\"\n"
        "typedef %s R;\n"
        "static int fails;\n"
        "static void ck(const char *what, double got, double want)\n"
        "{\n"
        "    if (!(fabs(got - want) <= %g * (1 + fabs(want)))) {\n"
        "        printf(\"FAIL %%s: got %%.17g, want %%.17g\\n\", what, got, want);\n"
        "        fails++;\n"
        "    }\n"
        "}\n"
        "#define CK(got, want) ck(#got, (got), (want))\n"
        "int main(void)\n{\n%s\n    if (!fails)\n        printf(\"ok\\n\");\n    return fails != 0;\n}\n",
        fl ? "float" : "double", tol, body);
    tu_write(tu_path("d.c"), drv, -1);
    free(drv);
    char *cmd = tu_printf("cd '%s' && gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -o d d.c -lm && ./d",
                          tu_tmpdir());
    char *out = NULL, *err = NULL;
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0 && out && !strcmp(out, "ok\n"), "%s\n%s%s\n%s", flags, out ? out : "",
                  err ? err : "", text);
    free(cmd);
    free(out);
    free(err);
}

typedef struct {
    const char *dx, *body;
} Hand;

static const Hand hand[] = {
    /* the overwritten y[1] contributes nothing: f = 5 x0^2 + x2^2 */
    {"fn f(x[3]) {\n"
     "    y = x\n"
     "    y[1] = 2 * y[0]\n"
     "    return sum(y * y)\n"
     "}\n",
     "    R x[3] = {0.5, -1.25, 2}, v[3] = {0.25, 1, -0.5}, g[3], hv[3], yd;\n"
     "    CK(f(x), 5 * 0.25 + 4);\n"
     "    CK(f_grad(x, g), 5 * 0.25 + 4);\n"
     "    CK(g[0], 10 * 0.5); CK(g[1], 0); CK(g[2], 2 * 2);\n"
     "    CK(f_jvp(x, v, &yd), 5 * 0.25 + 4);\n"
     "    CK(yd, 10 * 0.5 * 0.25 + 2 * 2 * -0.5);\n"
     "    CK(f_hvp(x, v, hv), 5 * 0.25 + 4);\n"
     "    CK(hv[0], 10 * 0.25); CK(hv[1], 0); CK(hv[2], 2 * -0.5);\n"},
    /* g's store leaves f's x alone: f = 5 + x1 + x2 + |x|^2 */
    {"fn g(x[3]) {\n"
     "    x[0] = 5\n"
     "    return sum(x)\n"
     "}\n"
     "fn f(x[3]) = g(x) + dot(x, x)\n",
     "    R x[3] = {0.5, -1.25, 2}, g[3], gg[3];\n"
     "    CK(f(x), 5 - 1.25 + 2 + 0.25 + 1.5625 + 4);\n"
     "    CK(f_grad(x, g), 5 - 1.25 + 2 + 0.25 + 1.5625 + 4);\n"
     "    CK(g[0], 1); CK(g[1], 1 - 2.5); CK(g[2], 1 + 4);\n"
     "    CK(g_grad(x, gg), 5 - 1.25 + 2); CK(gg[0], 0); CK(gg[1], 1); CK(gg[2], 1);\n"
     "    CK(x[0], 0.5);\n"},
    /* a row store, array result: out = [W00, W01, W00 v0, W01 v1] */
    {"fn f(W[2, 2], v[2]) {\n"
     "    W[1] = W[0] * v\n"
     "    return W\n"
     "}\n",
     "    R W[4] = {0.5, -1.5, 3, 4}, v[2] = {2, -0.5}, o[4], u[4] = {1, 2, 3, 4};\n"
     "    R Wb[4], vb[2], Wd[4] = {0.1, 0.2, 0.3, 0.4}, vd[2] = {-1, 1}, od[4];\n"
     "    f(W, v, o);\n"
     "    CK(o[0], 0.5); CK(o[1], -1.5); CK(o[2], 1); CK(o[3], 0.75);\n"
     "    f_vjp(W, v, u, o, Wb, vb);\n"
     "    CK(Wb[0], 1 + 3 * 2); CK(Wb[1], 2 + 4 * -0.5); CK(Wb[2], 0); CK(Wb[3], 0);\n"
     "    CK(vb[0], 3 * 0.5); CK(vb[1], 4 * -1.5);\n"
     "    f_jvp(W, v, Wd, vd, o, od);\n"
     "    CK(od[0], 0.1); CK(od[1], 0.2); CK(od[2], 0.1 * 2 + 0.5 * -1);\n"
     "    CK(od[3], 0.2 * -0.5 + -1.5 * 1);\n"},
    /* in a loop: x becomes its running product; f = x0 x1 x2 x3 */
    {"fn f(x[4]) {\n"
     "    for i in 1..4 {\n"
     "        x[i] = x[i] * x[i-1]\n"
     "    }\n"
     "    return x[3]\n"
     "}\n",
     "    R x[4] = {0.5, -2, 1.5, 3}, g[4], v[4] = {1, 0, 0, 1}, hv[4];\n"
     "    CK(f(x), -4.5);\n"
     "    CK(f_grad(x, g), -4.5);\n"
     "    CK(g[0], -9); CK(g[1], 2.25); CK(g[2], -3); CK(g[3], -1.5);\n"
     "    CK(f_hvp(x, v, hv), -4.5);\n"
     "    CK(hv[0], -2 * 1.5); CK(hv[1], 1.5 * 3 + 0.5 * 1.5);\n"
     "    CK(hv[2], -2 * 3 + 0.5 * -2); CK(hv[3], -2 * 1.5);\n"},
    /* in branches: c > 0 takes the first, f = x0 + x1 c x0 */
    {"fn f(x[3], c) {\n"
     "    if c > 0 {\n"
     "        x[2] = c * x[0]\n"
     "    } else {\n"
     "        x[0] = x[1] ^ 2\n"
     "    }\n"
     "    return x[0] + x[1] * x[2]\n"
     "}\n",
     "    R x[3] = {0.5, -2, 7}, g[3], cb;\n"
     "    CK(f_grad(x, 0.75, g, &cb), 0.5 - 2 * 0.75 * 0.5);\n"
     "    CK(g[0], 1 - 2 * 0.75); CK(g[1], 0.75 * 0.5); CK(g[2], 0); CK(cb, -2 * 0.5);\n"
     "    CK(f_grad(x, -1, g, &cb), 4 - 2 * 7);\n"
     "    CK(g[0], 0); CK(g[1], 2 * -2 + 7); CK(g[2], -2); CK(cb, 0);\n"},
};

START_TEST(test_hand)
{
    const Hand *h = &hand[_i / 3];
    static const char *const flags[] = {"", "--real=float --workspace", "--tape=small"};
    /* --workspace keeps the plain entry points (they fit the stack) */
    run_driver(h->dx, flags[_i % 3], h->body, _i % 3 == 1 ? 1e-5 : 1e-12);
}
END_TEST

/* ---------------- the heat equation ---------------- */

/* examples/heat1d.dx from the mode u0 = w = sin(pi i / (N - 1)), an
 * eigenvector of the step with eigenvalue l = 1 - 4 r sin^2(pi / (2 (N -
 * 1))): f = l^T |w|^2, df/dr = T l^(T-1) dl/dr |w|^2, and df/du0 is l^T w
 * inside; at the fixed ends, r w_1 (1 - l^T) / (1 - l) (the end value
 * feeds its neighbour in every step).  Then at other inputs, the
 * gradient against central differences and f_hvp against differences of
 * f_grad. */
static const char heat_body[] =
    "    enum { N = 9, T = 40 };\n"
    "    const double pi = 3.14159265358979323846, r = 0.3;\n"
    "    double s = sin(pi / (2 * (N - 1))), l = 1 - 4 * r * s * s, ww = 0;\n"
    "    R u0[N], w[N], g[N], rb, v[N], hv[N], hr, up[N], gp[N], gm[N], rbp, rbm;\n"
    "    for (int i = 0; i < N; i++) {\n"
    "        u0[i] = w[i] = (R)sin(pi * i / (N - 1));\n"
    "        ww += (double)w[i] * w[i];\n"
    "    }\n"
    "    CK(heat(u0, r, w), pow(l, T) * ww);\n"
    "    CK(heat_grad(u0, r, w, g, &rb), pow(l, T) * ww);\n"
    "    CK(rb, T * pow(l, T - 1) * (-4 * s * s) * ww);\n"
    "    for (int i = 1; i < N - 1; i++)\n"
    "        CK(g[i], pow(l, T) * w[i]);\n"
    "    CK(g[0], r * w[1] * (1 - pow(l, T)) / (1 - l));\n"
    "    CK(g[N - 1], r * w[N - 2] * (1 - pow(l, T)) / (1 - l));\n"
    "    for (int i = 0; i < N; i++) {\n"
    "        u0[i] = (R)(0.5 + 0.4 * cos(1.3 * i));\n"
    "        w[i] = (R)(1 + 0.1 * i);\n"
    "        v[i] = (R)(0.3 * sin(0.7 * i + 1));\n"
    "    }\n"
    "    heat_grad(u0, 0.2, w, g, &rb);\n"
    "    for (int i = 0; i < N; i++) {\n"
    "        double h = sizeof(R) == 8 ? 1e-5 : 1e-3;\n"
    "        for (int k = 0; k < N; k++) up[k] = u0[k];\n"
    "        up[i] = u0[i] + (R)h;\n"
    "        double fp = heat(up, 0.2, w);\n"
    "        up[i] = u0[i] - (R)h;\n"
    "        double fm = heat(up, 0.2, w);\n"
    "        CK(g[i], (fp - fm) / (2 * h));\n"
    "    }\n"
    "    double e = sizeof(R) == 8 ? 1e-5 : 1e-3;\n"
    "    CK(rb, (heat(u0, (R)(0.2 + e), w) - heat(u0, (R)(0.2 - e), w)) / (2 * e));\n"
    "    heat_hvp(u0, 0.2, w, v, 0.5, hv, &hr);\n"
    "    for (int k = 0; k < N; k++) up[k] = u0[k] + (R)e * v[k];\n"
    "    heat_grad(up, 0.2 + (R)(e * 0.5), w, gp, &rbp);\n"
    "    for (int k = 0; k < N; k++) up[k] = u0[k] - (R)e * v[k];\n"
    "    heat_grad(up, 0.2 - (R)(e * 0.5), w, gm, &rbm);\n"
    "    for (int k = 0; k < N; k++)\n"
    "        CK(hv[k], (gp[k] - gm[k]) / (2 * e));\n"
    "    CK(hr, (rbp - rbm) / (2 * e));\n";

START_TEST(test_heat)
{
    char *path = tu_printf("%s/examples/heat1d.dx", tu_root());
    char *text = tu_read(path, NULL);
    ck_assert_ptr_nonnull(text);
    static const char *const flags[] = {"", "--tape=small", "--real=float --workspace"};
    /* differences of floats are good to a few digits only */
    run_driver(text, flags[_i], heat_body, _i == 2 ? 2e-2 : 1e-6);
    free(text);
    free(path);
}
END_TEST

/* The primal writes the stored element only (the array is updated in
 * place), and a row store loops over its row only; the gradient's
 * forward sweep too. */
START_TEST(test_in_place)
{
    char *args = tu_printf("%s/examples/heat1d.dx", tu_root());
    char *code = cr_dxc_ok(args);
    free(args);
    char *s = cr_fn_text(code, "double heat(");
    ck_assert_msg(strstr(s, "            double t2 = t1 + r * (u[i - 1] - 2.0 * t1 + u[i + 1]);\n"
                            "            v[i] = t2;\n") && !strstr(s, "== i") && !strstr(s, "{0}"),
                  "%s", s);
    free(s);
    s = cr_fn_text(code, "double heat_grad(");
    ck_assert_msg(strstr(s, "            v[i] = t2;\n"), "%s", s);
    free(s);
    free(code);
    tu_write(tu_path("row.dx"), programs[1], -1);
    code = cr_dxc_ok("row.dx");
    s = cr_fn_text(code, "void f(");
    ck_assert_msg(strstr(s, "            for (int j = 0; j < 4; j++) {\n"
                            "                out[t * 4 + j] = t1[j];\n"
                            "            }\n") &&
                      strstr(s, "        out[(2 - t) * 4 + t + 1] = t3;\n"),
                  "%s", s);
    free(s);
    free(code);
}
END_TEST

/* ---------------- what the derivatives cost ---------------- */

/* A recurrence whose loop carries x and changes it by one element store
 * per iteration. */
static const char rec_dx[] = "const N = 60\n"
                             "fn f(a[N], c) {\n"
                             "    x = a\n"
                             "    for i in 1..N {\n"
                             "        x[i] = c * x[i-1] + a[i]\n"
                             "    }\n"
                             "    return sum(x)\n"
                             "}\n";

/* f_jvp stores the tangent of the stored element in place, as f stores
 * the element: no pass over the array selecting the index, no product
 * with a mask. */
START_TEST(test_cost_jvp)
{
    tu_write(tu_path("rec.dx"), rec_dx, -1);
    char *code = cr_dxc_ok("rec.dx");
    char *s = cr_fn_text(code, "double f_jvp(");
    ck_assert_msg(strstr(s, "        x[i] = t2;\n") && strstr(s, "        x_dot[i] = t3;\n") &&
                      !strstr(s, "== i") && !strstr(s, "dx_mulz"),
                  "%s", s);
    free(s);
    free(code);
}
END_TEST

/* The body of the first backwards loop of function text s, up to its
 * closing brace (a copy). */
static char *backward_body(const char *s)
{
    const char *b = strstr(s, "/* backwards */");
    ck_assert_ptr_nonnull(b);
    const char *e = strstr(b, "\n    }\n");
    ck_assert_ptr_nonnull(e);
    return tu_printf("%.*s", (int)(e - b), b);
}

/* The reverse loops of f_grad and f_hvp read the stored element's
 * adjoint and clear it (y_bar[i] = 0), in place: no loop over x. */
START_TEST(test_cost_grad)
{
    tu_write(tu_path("rec.dx"), rec_dx, -1);
    char *code = cr_dxc_ok("rec.dx");
    static const char *const fns[] = {"double f_grad(", "double f_hvp("};
    for (int k = 0; k < 2; k++) {
        char *s = cr_fn_text(code, fns[k]);
        char *b = backward_body(s);
        ck_assert_msg(strstr(b, "        x_bar[i] = 0.0;\n") && !strstr(b, "for (") &&
                          !strstr(b, "== i") && (k == 0 || strstr(b, "x_bar_dot[i] = 0.0;\n")),
                      "%s", s);
        free(b);
        free(s);
    }
    free(code);
}
END_TEST

/* The gradient's tape holds, per iteration, the one element the store
 * overwrites (the backward pass reads it: c_bar += x_bar[i] * x[i-1]),
 * not all of x: N - 1 numbers, O(N), where a row of x per iteration
 * would be O(N^2); f_hvp twice that (the element's tangent too).  The
 * reverse loop puts each element back into a copy of the final x. */
START_TEST(test_cost_tape)
{
    tu_write(tu_path("rec.dx"), rec_dx, -1);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("rec.dx --stats -o rec.c", &out, &err), 0);
    ck_assert_msg(strstr(err, "f_grad: tape 472 bytes") && strstr(err, "f_hvp: tape 944 bytes"), "%s", err);
    free(out);
    free(err);
    char *code = tu_read(tu_path("rec.c"), NULL);
    char *s = cr_fn_text(code, "double f_grad(");
    char *b = backward_body(s);
    ck_assert_msg(strstr(s, "        x_tape[i - 1] = x[i];") && strstr(b, "        x_2[i] = x_tape[i - 1];\n"),
                  "%s", s);
    free(b);
    free(s);
    free(code);
}
END_TEST

/* ---------------- the views and --stats ---------------- */

static const char view_dx[] =
    "fn f(W[2, 3], v[3], c) {\n"
    "    for t in 0..2 {\n"
    "        if c > 0 {\n"
    "            W[t] = W[t] * v\n"
    "        }\n"
    "        W[1 - t, t + 1] = c * W[t, t]\n"
    "    }\n"
    "    return sum(W * W)\n"
    "}\n";

START_TEST(test_views)
{
    tu_write(tu_path("v.dx"), view_dx, -1);
    const char *at = "--at 'W=[[1, 2, 3], [4, 5, 6]]' --at 'v=[0.5, -1, 2]' --at c=0.25";
    char *args = tu_printf("v.dx %s", at);
    char *out = cr_dxc_ok(args);
    ck_assert_msg(strstr(out, "forward pass") && strstr(out, "backward pass") && strstr(out, "gradient"),
                  "%s", out);
    free(out);
    free(args);
    static const char *const emits[] = {"json", "dot", "html", "mermaid"};
    for (int k = 0; k < 4; k++) {
        for (int with = 0; with < 2; with++) {
            args = tu_printf("v.dx %s --emit=%s -o v.%s", with ? at : "", emits[k], emits[k]);
            free(cr_dxc_ok(args));
            free(args);
            size_t n = 0;
            char name[16];
            snprintf(name, sizeof name, "v.%s", emits[k]);
            char *view = tu_read(tu_path(name), &n);
            ck_assert_msg(view && n > 100, "--emit=%s", emits[k]);
            free(view);
        }
    }
    char *err = NULL;
    out = NULL;
    ck_assert_int_eq(cr_dxc("v.dx --stats -o v.c", &out, &err), 0);
    ck_assert_msg(strstr(err, "f_grad: tape 96 bytes") && strstr(err, "f_hvp: tape "), "%s", err);
    free(out);
    free(err);
}
END_TEST

/* ---------------- warning-free at -O2 ---------------- */

/* Element stores not made in place: each new array is filled by a loop
 * that picks the stored element by its index (x2[i] = i == 1 ? e : x[i]),
 * after a loop, in a branch, two stores merged.  GCC 12 -O2 threads that
 * loop's jumps and warned that an element read after it "may be used
 * uninitialized" (in f_jvp, f_grad or f_hvp) until such arrays were
 * declared zeroed. */
static const char *const o2_programs[] = {
    "fn g(w, a[2], r[3]) {\n"
    "    a = [sum(a[i] * r[j] * r[j * i] * w for j in 0..3) for i in 0..2]\n"
    "    a[1] = logsumexp(r)\n"
    "    return sum(abs(a[0]) + sigmoid(a[1]) for i in 0..4)\n"
    "}\n",
    "fn g(w, r[3], u) {\n"
    "    if w * 0.5 == r[2] {\n"
    "        r[0] = r[0] ^ 2\n"
    "    }\n"
    "    r[2] = r[2] * u\n"
    "    r[0] = max(logsumexp(r), u)\n"
    "    v = [erf(u * [r[1 - k] for k in 0..2][j]) for i in 0..2, j in 0..1]\n"
    "    return sum(v)\n"
    "}\n",
    "fn g(B[3]) {\n"
    "    if B[1] < B[2] ^ 3 {\n"
    "        B[2] = B[2]\n"
    "        if B[0] >= -0.79 or not (B[1] <= 1.28) {\n"
    "            B[0] = min(sum([[(-1) for i in 0..4]] @ [0.83 for i in 2..6]) for j in 0..2)\n"
    "        }\n"
    "    } else if B[2] > B[1] {\n"
    "        B[1] = tan(sigmoid(dot([B[0], B[1]] / (abs(B[0]) + 0.5), [B[4 - i] for i in 2..4])))\n"
    "    } else {\n"
    "        B = [max(abs(B[i]), softmax([B[1] for j in 0..4])[3 - i]) for i in 0..3]\n"
    "    }\n"
    "    return B[2] * B[1]\n"
    "}\n",
};

/* Each program, double and float, compiles with gcc and clang at -O2
 * under the strict flags without a warning, its select-filled arrays
 * declared zeroed; and its derivatives pass the differential tester. */
START_TEST(test_o2_clean)
{
    const char *text = o2_programs[_i];
    tu_write(tu_path("o2.dx"), text, -1);
    for (int fl = 0; fl < 2; fl++) {
        char *args = tu_printf("o2.dx %s -o o2.c", fl ? "--real=float" : "");
        free(cr_dxc_ok(args));
        free(args);
        char *code = tu_read(tu_path("o2.c"), NULL);
        ck_assert_msg(code && strstr(code, "] = {0};  /* zeroed: gcc -O2 cannot tell the loop fills it */\n"), "no array declared zeroed (%s):\n%s",
                      fl ? "float" : "double", text);
        free(code);
        static const char *const ccs[] = {"gcc", "clang"};
        for (int k = 0; k < 2; k++) {
            if (!tu_have(ccs[k]))
                continue;
            char *out = NULL, *err = NULL;
            char *cmd = tu_printf("cd '%s' && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -c o2.c -o o2.o",
                                  tu_tmpdir(), ccs[k]);
            int rc = tu_run(cmd, &out, &err);
            ck_assert_msg(rc == 0, "%s (%s):\n%s%s\n%s", ccs[k], fl ? "float" : "double", out, err, text);
            free(cmd);
            free(out);
            free(err);
        }
    }
    ck_assert_int_gt(passes_tester(text, 41 + (uint64_t)_i, 0, 0), 20);
}
END_TEST

Suite *suite_store(void);
Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_error_cli);
    int np = (int)(sizeof programs / sizeof programs[0]);
    tcase_add_loop_test(tc, test_fd, 0, 3 * np);
    tcase_add_loop_test(tc, test_compiled, 0, 2 * np);
    tcase_add_loop_test(tc, test_hand, 0, 3 * (int)(sizeof hand / sizeof hand[0]));
    tcase_add_loop_test(tc, test_heat, 0, 3);
    tcase_add_test(tc, test_in_place);
    tcase_add_test(tc, test_cost_jvp);
    tcase_add_test(tc, test_cost_grad);
    tcase_add_test(tc, test_cost_tape);
    tcase_add_test(tc, test_views);
    tcase_add_loop_test(tc, test_o2_clean, 0, (int)(sizeof o2_programs / sizeof o2_programs[0]));
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}
