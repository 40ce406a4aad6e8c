/*
 * test_gamma.c - lgamma and digamma (with trigamma and tetragamma, their
 * derivatives, which the generated code computes itself), and the
 * constant inf.
 *
 * Values are checked against independent ones: digamma(1) = -gamma
 * (Euler-Mascheroni), trigamma(1) = pi^2/6, digamma(1/2) = -gamma - 2 ln 2,
 * trigamma(1/2) = pi^2/2, and a table computed with mpmath at 30 digits,
 * large, small and negative arguments included (reflection).  The
 * generated C (double: 1e-14 relative; float: 1e-6) and the interpreter's
 * ir_eval_scalar both; f_grad, f_jvp and f_hvp against those values and
 * central differences; the interpreter against the compiled C on arrays
 * (cr_check); `inf` in constants, min and max, its errors, and the IR
 * text round trip.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
#include "cgrun.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* x, log|Gamma(x)|, digamma, trigamma, tetragamma (mpmath, 30 digits). */
static const double known[][5] = {
    {1, 0.0, -0.57721566490153286061, 1.6449340668482264365, -2.4041138063191885708},
    {0.5, 0.57236494292470008707, -1.9635100260214234794, 4.9348022005446793094, -16.828796644234319996},
    {2.5, 0.28468287047291915963, 0.70315664064524318723, 0.49035775610023486497, -0.236204051641727403},
    {0.001, 6.9071788853838536825, -1000.5755719318103005, 1000001.642533195869, -2000000002.3976322897},
    {30, 71.25703896716800901, 3.3844381326855248766, 0.033895060357739944214, -0.001148765203728599844},
    {1e6, 12815504.56914761166, 13.815510057964190771, 1.0000005000001666667e-6, -1.0000010000005e-12},
    {-0.5, 1.2655121234846453965, 0.036489973978576520559, 8.9348022005446793094, -0.8287966442343199956},
    {-2.25, 0.55550154502064747059, 4.1585835646579722748, 19.379410511869137363, 123.89694977406016558},
    {-7.3, -7.7791016298268524418, 4.3373073055100474863, 14.951383181433908928, 68.821174063590198811},
    {1e-8, 18.420680738180208905, -100000000.57721564845, 10000000000000001.645, -2.0e+24},
    {123.456, 469.60554712992946873, 4.8118293238289853873, 0.0081329458342781980101,
     -0.000066144443363940409576},
};
enum { NKNOWN = sizeof known / sizeof known[0] };

static void near(double got, double want, double tol, const char *what, double x)
{
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (want == 0)
        err = fabs(got);
    ck_assert_msg(err <= tol, "%s(%.17g) = %.17g, want %.17g (relative error %.3g)", what, x, got, want,
                  err);
}

/* The closed forms the table must agree with (so the table is right). */
START_TEST(test_closed_forms)
{
    const double g = 0.57721566490153286061, pi = 3.14159265358979323846;
    near(known[0][2], -g, 1e-16, "digamma", 1);
    near(known[0][3], pi * pi / 6, 1e-16, "trigamma", 1);
    near(known[1][2], -g - 2 * log(2.0), 1e-15, "digamma", 0.5);
    near(known[1][3], pi * pi / 2, 1e-16, "trigamma", 0.5);
    /* trigamma(-1/2) = pi^2 / sin^2(pi/2) - trigamma(3/2) = pi^2/2 + 4 (reflection) */
    near(known[6][3], pi * pi / 2 + 4, 1e-15, "trigamma", -0.5);
}
END_TEST

/* The interpreter's (and constant folder's) values. */
START_TEST(test_interpreter_values)
{
    for (int i = 0; i < NKNOWN; i++) {
        double x = known[i][0];
        near(ir_eval_scalar(OP_DIGAMMA, &x, 0), known[i][2], 1e-14, "digamma", x);
        near(ir_eval_scalar(OP_TRIGAMMA, &x, 0), known[i][3], 1e-14, "trigamma", x);
        near(ir_eval_scalar(OP_TETRAGAMMA, &x, 0), known[i][4], 1e-14, "tetragamma", x);
        if (known[i][1] != 0)
            near(ir_eval_scalar(OP_LGAMMA, &x, 0), known[i][1], 1e-14, "lgamma", x);
    }
    double pole[] = {0, -1, -7, -INFINITY};
    for (int i = 0; i < 4; i++) {
        ck_assert(isnan(ir_eval_scalar(OP_DIGAMMA, &pole[i], 0)));
        ck_assert(isinf(ir_eval_scalar(OP_TRIGAMMA, &pole[i], 0)));
        ck_assert(isnan(ir_eval_scalar(OP_TETRAGAMMA, &pole[i], 0)));
    }
    double big = INFINITY;
    ck_assert(ir_eval_scalar(OP_DIGAMMA, &big, 0) == INFINITY);
    ck_assert(ir_eval_scalar(OP_TRIGAMMA, &big, (size_t)-1) == 0);
}
END_TEST

static const char gamma_dx[] = "fn lg(x) = lgamma(x)\n"
                               "fn dg(x) = digamma(x)\n";

/* A driver printing, for each known x: lg, lg_grad, lg_jvp, lg_hvp,
 * dg, dg_grad, dg_hvp and central differences of lg and dg. */
static const char driver[] =
    "#include <stdio.h>\n"
    "#include \"gamma.c\"\n"
    "int main(void)\n{\n"
    "    double x;\n"
    "    while (scanf(\"%lf\", &x) == 1) {\n"
    "        real g, d, h, j, t;\n"
    "        double q, e = 1e-6 * (x < 0 ? -x : x);\n"
    "        lg_grad((real)x, &g);\n"
    "        lg_jvp((real)x, 1, &j);\n"
    "        lg_hvp((real)x, 1, &h);\n"
    "        dg_grad((real)x, &d);\n"
    "        dg_hvp((real)x, 1, &t);\n"
    "        q = (dg(x + e) - dg(x - e)) / (2 * e);\n"
    "        printf(\"%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\\n\", (double)lg(x),\n"
    "               (double)g, (double)j, (double)h, (double)dg(x), (double)d, (double)t,\n"
    "               (lg(x + e) - lg(x - e)) / (2 * e), q);\n"
    "    }\n"
    "    return 0;\n}\n";

/* Runs the driver over the known x, --real=FLOAT or double; fills
 * v[i][0..8]. */
static void run_driver(int use_float, double v[][9])
{
    char *args = tu_printf("--real=%s gamma.dx -o gamma.c", use_float ? "float" : "double");
    ck_assert(tu_write(tu_path("gamma.dx"), gamma_dx, (size_t)-1) == 0);
    free(cr_dxc_ok(args));
    free(args);
    char *d = tu_printf("typedef %s real;\n%s", use_float ? "float" : "double", driver);
    ck_assert(tu_write(tu_path("drv.c"), d, (size_t)-1) == 0);
    free(d);
    TuBuf in = {0};
    for (int i = 0; i < NKNOWN; i++)
        tu_bprintf(&in, "%.17g\n", known[i][0]);
    ck_assert(tu_write(tu_path("x.txt"), in.s, (size_t)-1) == 0);
    free(in.s);
    char *cmd = tu_printf("cd '%s' && gcc " STRICT " -c gamma.c -o g1.o && clang " STRICT
                          " -c gamma.c -o g2.o && gcc " STRICT " -o drv drv.c -lm && ./drv < x.txt",
                          tu_tmpdir());
    char *out = NULL, *err = NULL;
    ck_assert_msg(tu_run(cmd, &out, &err) == 0, "%s", err);
    char *p = out;
    for (int i = 0; i < NKNOWN; i++)
        for (int k = 0; k < 9; k++)
            v[i][k] = strtod(p, &p);
    free(cmd);
    free(out);
    free(err);
}

/* f, f_grad, f_jvp, f_hvp of lgamma and digamma in the generated C. */
START_TEST(test_generated_values)
{
    double v[NKNOWN][9];
    run_driver(0, v);
    for (int i = 0; i < NKNOWN; i++) {
        double x = known[i][0];
        if (known[i][1] != 0)
            near(v[i][0], known[i][1], 1e-14, "lgamma", x);
        near(v[i][1], known[i][2], 1e-14, "lg_grad = digamma", x);
        near(v[i][2], known[i][2], 1e-14, "lg_jvp = digamma", x);
        near(v[i][3], known[i][3], 1e-14, "lg_hvp = trigamma", x);
        near(v[i][4], known[i][2], 1e-14, "digamma", x);
        near(v[i][5], known[i][3], 1e-14, "dg_grad = trigamma", x);
        near(v[i][6], known[i][4], 1e-14, "dg_hvp = tetragamma", x);
        /* the interpreter computes the same operations */
        near(v[i][4], ir_eval_scalar(OP_DIGAMMA, &x, 0), 1e-15, "C vs interpreter digamma", x);
        if (fabs(x) >= 1e-3 && fabs(x) <= 1e3) { /* central differences, step 1e-6 |x| */
            near(v[i][7], known[i][2], 1e-6, "lgamma central difference", x);
            near(v[i][8], known[i][3], 1e-6, "digamma central difference", x);
        }
    }
}
END_TEST

START_TEST(test_generated_float)
{
    double v[NKNOWN][9];
    run_driver(1, v);
    for (int i = 0; i < NKNOWN; i++) {
        double x = (float)known[i][0];
        if (x != known[i][0] || fabs(x) < 1e-3)
            continue; /* the float argument differs */
        near(v[i][1], known[i][2], 2e-6, "float lg_grad", x);
        near(v[i][4], known[i][2], 2e-6, "float digamma", x);
        near(v[i][5], known[i][3], 2e-6, "float trigamma", x);
        near(v[i][6], known[i][4], 2e-6, "float tetragamma", x);
    }
}
END_TEST

/* Elementwise on arrays, negative arguments by reflection, in a log
 * multivariate gamma: the interpreter against the compiled C, every
 * entry point, double and float. */
static const char arrays_dx[] =
    "const D = 3\n"
    "fn lmvgamma(a) = sum(lgamma(a + 2 - j / 2) for j in 0..D)\n"
    "fn f(x[4], w[4]) {\n"
    "    a = lgamma(x + 2) * w\n"
    "    b = digamma(0.4 * x - 2.5)\n"
    "    return sum(a) + dot(b, w) + digamma(x[0] + 1.5) * lmvgamma(x[1])\n"
    "}\n"
    "fn g(x[3]) = digamma(x * x + 0.5)\n";

START_TEST(test_interp_vs_c)
{
    TuLowered L;
    ck_assert_msg(tu_lower(&L, arrays_dx) == 0, "does not compile: %s", L.d.last);
    for (int u = 0; u < L.prog.units.n; u++)
        ad_unit(&L.prog.units.p[u]);
    free(cr_check(&L.prog, "gamma_f", "gamma.dx", 1, 1, CG_STACK_BUDGET, 1e-4));
    char *code = cr_check(&L.prog, "gamma_d", "gamma.dx", 0, 0, CG_STACK_BUDGET, 1e-12);
    ck_assert_msg(strstr(code, "static double dx_digamma(double x)") &&
                      strstr(code, "static double dx_trigamma(double x)") &&
                      strstr(code, "static double dx_tetragamma(double x)"),
                  "the helpers are written");
    free(code);
    arena_free(L.a);
}
END_TEST

/* Only what is called is written. */
START_TEST(test_helpers_on_demand)
{
    ck_assert(tu_write(tu_path("a.dx"), "fn f(x) = lgamma(x) * 2\nfn g(x) = exp(x)\n", (size_t)-1) == 0);
    char *c = cr_dxc_ok("a.dx");
    ck_assert_msg(strstr(c, "static double dx_digamma(") && strstr(c, "static double dx_trigamma(") &&
                      !strstr(c, "dx_tetragamma"),
                  "lgamma needs digamma (f_grad) and trigamma (f_hvp):\n%s", c);
    free(c);
    ck_assert(tu_write(tu_path("b.dx"), "fn g(x) = exp(x)\n", (size_t)-1) == 0);
    c = cr_dxc_ok("b.dx");
    ck_assert(!strstr(c, "gamma"));
    free(c);
}
END_TEST

/* ---------------- inf ---------------- */

static const char inf_dx[] = "const big = inf\n"
                             "const small = -inf\n"
                             "const twice = 2 * big\n"
                             "fn f(x, y) = min(x, inf) * max(y, -inf) + min(x, big) - max(small, y) + "
                             "(if x < twice then x else 0)\n";

START_TEST(test_inf)
{
    ck_assert(tu_write(tu_path("inf.dx"), inf_dx, (size_t)-1) == 0);
    ck_assert(tu_write(tu_path("at.txt"), "", (size_t)-1) == 0);
    /* f = x y + x - y + x: df/dx = y + 2, df/dy = x - 1, at (3, 5): 7 and 2 */
    char *out = cr_dxc_ok("inf.dx --at x=3 --at y=5");
    ck_assert_msg(strstr(out, "x_bar = 7") && strstr(out, "y_bar = 2"), "%s", out);
    free(out);
    for (int fl = 0; fl < 2; fl++) {
        char *args = tu_printf("inf.dx --real=%s -o inf%d.c", fl ? "float" : "double", fl);
        free(cr_dxc_ok(args));
        free(args);
        char *drv = tu_printf("#include <stdio.h>\n#include \"inf%d.c\"\nint main(void)\n{\n"
                              "    %s xb, yb, v = f_grad(3, 5, &xb, &yb);\n"
                              "    printf(\"%%g %%g %%g\\n\", (double)v, (double)xb, (double)yb);\n"
                              "    return 0;\n}\n",
                              fl, fl ? "float" : "double");
        ck_assert(tu_write(tu_path("drv.c"), drv, (size_t)-1) == 0);
        free(drv);
        char *cmd = tu_printf("cd '%s' && gcc " STRICT " -c inf%d.c -o i1.o && clang " STRICT
                              " -c inf%d.c -o i2.o && gcc -std=c99 -o drv drv.c -lm && ./drv",
                              tu_tmpdir(), fl, fl);
        char *err = NULL;
        ck_assert_msg(tu_run(cmd, &out, &err) == 0, "%s", err);
        ck_assert_str_eq(out, "16 7 2\n");
        free(cmd);
        free(out);
        free(err);
    }
}
END_TEST

/* --emit=ir writes a constant inf as `inf`, and reads it back. */
START_TEST(test_inf_ir_round_trip)
{
    ck_assert(tu_write(tu_path("inf.dx"), inf_dx, (size_t)-1) == 0);
    char *ir = cr_dxc_ok("inf.dx --emit=ir -o inf.ir");
    free(ir);
    char *text = tu_read(tu_path("inf.ir"), NULL);
    ck_assert_msg(strstr(text, "= const inf : real") && strstr(text, "= const -inf : real"), "%s", text);
    free(text);
    char *a = cr_dxc_ok("inf.dx");
    char *b = cr_dxc_ok("inf.ir");
    /* the same code; only the header comment names its source */
    ck_assert_str_eq(strstr(a, "double f("), strstr(b, "double f("));
    free(a);
    free(b);
}
END_TEST

static const struct {
    const char *src, *msg;
} inf_errors[] = {
    {"fn f(x) {\n  inf = x\n  return inf\n}\n",
     "in.dx:2:3: error: 'inf' is the name of a built-in constant; a variable cannot take it"},
    {"fn f(inf) = 1\n", "in.dx:1:6: error: 'inf' is the name of a built-in constant; a parameter cannot take it"},
    {"fn inf(x) = x\n", "in.dx:1:4: error: 'inf' is the name of a built-in constant and cannot be redefined"},
    {"const inf = 3\n", "in.dx:1:7: error: 'inf' is the name of a built-in constant and cannot be redefined"},
    {"fn f(x[3]) = x[inf]\n", "in.dx:1:16: error: "},
    {"const c = inf - inf\n", "in.dx:1:15: error: constant expression is not a number"},
    {"const c = 0 * inf\n", "in.dx:1:13: error: constant expression is not a number"},
    {"const c = 1e300 * 1e300\n", "in.dx:1:17: error: constant expression is not a finite number"},
    {"fn f(x) = x * inff\n", "in.dx:1:15: error: 'inff' is not defined; did you mean 'inf'?"},
    {"fn lgamma(x) = x\n", "in.dx:1:4: error: 'lgamma' is the name of a built-in function and cannot be "
                           "redefined"},
    {"fn f(x) {\n  digamma = x\n  return x\n}\n",
     "in.dx:2:3: error: 'digamma' is the name of a built-in function; a variable cannot take it"},
    {"fn f(x) = digamma(x, x)\n", "in.dx:1:11: error: "},
    {"fn f(x) = trigamma(x)\n", "in.dx:1:11: error: "},
};

START_TEST(test_inf_errors)
{
    ck_assert(tu_write(tu_path("in.dx"), inf_errors[_i].src, (size_t)-1) == 0);
    char *err = NULL;
    ck_assert_int_eq(cr_dxc("in.dx -o out.c", NULL, &err), 1);
    ck_assert_msg(strstr(err, inf_errors[_i].msg), "%s\nwant: %s", err, inf_errors[_i].msg);
    ck_assert(!tu_read(tu_path("out.c"), NULL));
    free(err);
}
END_TEST

Suite *suite_gamma(void);

Suite *suite_gamma(void)
{
    Suite *s = suite_create("gamma");
    TCase *tc = tcase_create("gamma");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_closed_forms);
    tcase_add_test(tc, test_interpreter_values);
    tcase_add_test(tc, test_generated_values);
    tcase_add_test(tc, test_generated_float);
    tcase_add_test(tc, test_interp_vs_c);
    tcase_add_test(tc, test_helpers_on_demand);
    tcase_add_test(tc, test_inf);
    tcase_add_test(tc, test_inf_ir_round_trip);
    tcase_add_loop_test(tc, test_inf_errors, 0, (int)(sizeof inf_errors / sizeof inf_errors[0]));
    suite_add_tcase(s, tc);
    return s;
}
