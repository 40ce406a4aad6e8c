/*
 * test_e2e.c - end-to-end tests: .dx source -> dxc -> C compiled with gcc
 * and clang under -std=c99 -Wall -Wextra -Wpedantic -Werror -> a driver
 * that checks values and derivatives.
 *
 * Every test writes a .dx program and a C driver (with main) to the
 * temporary directory, runs `$DXC prog.dx -o prog.c --header prog.h`,
 * compiles the generated file and the driver with both compilers, links
 * the generated object with -lm (the driver also links the dx runtime,
 * $DXRT_LIB, for its gradient checks) and runs the result.  Drivers print
 * "FAIL ..." for each failed check and end with "done N" (N failures).
 *
 * Reference values are derived by hand (seed examples, kinks, integer
 * powers, Hessians) or come from central finite differences through
 * dxrt_check_grad / dxrt_check_hvp, and forward mode is checked against
 * reverse mode by the dot product grad . v == jvp(v).
 *
 * Regression tests for the bugs these suites found are at the end (test_bug_*).
 */
#include <check.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrun.h"
#include "testutil.h"

/* ---- small helpers ---- */

static const char *rt_dir(void)
{
    const char *d = getenv("DXRT_DIR");
    return d && *d ? d : "runtime";
}

static const char *rt_lib(void)
{
    const char *d = getenv("DXRT_LIB");
    return d && *d ? d : "build/libdxrt.a";
}

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

/* Run dxc on TAG.dx (written from dx) with extra options; -o TAG.c and
 * --header TAG.h.  Fails the test if dxc does not succeed. */
static void run_dxc(const char *tag, const char *dx, const char *opts)
{
    char name[128], cmd[4096];
    snprintf(name, sizeof name, "%s.dx", tag);
    ck_assert_int_eq(tu_write(tu_path(name), dx, (size_t)-1), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' %s.dx -o %s.c --header %s.h %s",
             tu_tmpdir(), tu_dxc(), tag, tag, tag, opts ? opts : "");
    char *err = NULL;
    int st = tu_run(cmd, NULL, &err);
    ck_assert_msg(st == 0, "dxc failed on %s.dx (status %d):\n%s\n--- source ---\n%s",
                  tag, st, err ? err : "", dx);
    free(err);
}

/*
 * Compile TAG.c (generated) with CC under STRICT plus genflags, the driver
 * TAG_drv.c (written from driver) with drvflags, link with the runtime and
 * -lm, run it.  Asserts that every step succeeded and that the driver
 * reported no failure; returns its output (malloc'ed).
 */
static char *build_run_cc(const char *cc, const char *tag, const char *driver,
                          const char *genflags, const char *drvflags)
{
    char name[128], cmd[8192];
    snprintf(name, sizeof name, "%s_drv.c", tag);
    ck_assert_int_eq(tu_write(tu_path(name), driver, (size_t)-1), 0);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s " STRICT " -O2 %s -c %s.c -o %s_%s.o && "
             "%s -std=c99 -O2 -Wall -Wextra -Werror -I'%s' -I. %s -c %s_drv.c -o %s_drv_%s.o && "
             "%s -o %s_%s %s_%s.o %s_drv_%s.o '%s' -lm",
             tu_tmpdir(), cc, genflags ? genflags : "", tag, tag, cc,
             cc, rt_dir(), drvflags ? drvflags : "", tag, tag, cc,
             cc, tag, cc, tag, cc, tag, cc, rt_lib());
    char *out = NULL, *err = NULL;
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "%s could not build %s (status %d):\n%s%s", cc, tag, st,
                  out ? out : "", err ? err : "");
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 ./%s_%s", tu_tmpdir(), tag, cc);
    st = tu_run(cmd, &out, &err);
    ck_assert_msg(st != -1, "%s driver built by %s crashed:\n%s", tag, cc, out ? out : "");
    ck_assert_msg(st == 0 && out && strstr(out, "done 0\n"),
                  "%s driver built by %s failed (status %d):\n%s%s", tag, cc, st,
                  out ? out : "", err ? err : "");
    free(err);
    return out;
}

/* Both compilers; returns nothing, asserts everything. */
static void build_run(const char *tag, const char *driver)
{
    free(build_run_cc("gcc", tag, driver, NULL, NULL));
    free(build_run_cc("clang", tag, driver, NULL, NULL));
}

/* Common beginning of every driver: exact and approximate expectations. */
static const char prelude[] =
    "#include <math.h>\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "#include \"dxrt.h\"\n"
    "static int fails;\n"
    "static void expect(const char *what, int line, double got, double want, double rtol)\n"
    "{\n"
    "    int ok;\n"
    "    if (isnan(want)) ok = isnan(got);\n"
    "    else if (isinf(want)) ok = got == want;\n"
    "    else ok = got == want || fabs(got - want) <= rtol * fabs(want) + 1e-300;\n"
    "    if (!ok) {\n"
    "        printf(\"FAIL line %d: %s: got %.17g, want %.17g\\n\", line, what, got, want);\n"
    "        fails++;\n"
    "    }\n"
    "}\n"
    "#define EQ(got, want) expect(#got, __LINE__, (got), (want), 0)\n"
    "#define NEAR(got, want) expect(#got, __LINE__, (got), (want), 1e-13)\n"
    "#define CLOSE(got, want, rtol) expect(#got, __LINE__, (got), (want), (rtol))\n"
    "#define TRUE(c) do { if (!(c)) { printf(\"FAIL line %d: %s\\n\", __LINE__, #c); fails++; } } while (0)\n"
    "static int finish(void) { (void)expect; printf(\"done %d\\n\", fails); return fails != 0; }\n";

/* ---- seed examples, hand-derived ---- */

static const char seed_dx[] =
    "fn square(x) = x ^ 2\n"
    "fn f(a, b, c) = (a + b) * c\n"
    "# a neuron: data x is an input, not differentiated\n"
    "fn neuron(w, b, data x) = relu(x * w + b)\n"
    "fn scale_by(w, data s) = w * s ^ 2\n";

static const char seed_drv[] =
    "#include \"seed.h\"\n"
    "int main(void)\n"
    "{\n"
    "    double g, ga, gb, gc, d, hv;\n"
    "    EQ(square(3), 9);\n"
    "    g = NAN;\n"
    "    EQ(square_grad(3, &g), 9);\n"
    "    EQ(g, 6);\n"
    "    EQ(square_jvp(3, 1, &d), 9);\n"
    "    EQ(d, 6);\n"
    "    EQ(square_jvp(3, -0.5, &d), 9);\n"
    "    EQ(d, -3);\n"
    "    EQ(square_hvp(3, 1, &hv), 9);\n"
    "    EQ(hv, 2);\n"
    "    EQ(square_hvp(3, 2.5, &hv), 9);\n"
    "    EQ(hv, 5);\n"
    "    EQ(square_grad(-1.5, &g), 2.25);\n"
    "    EQ(g, -3);\n"
    "\n"
    "    EQ(f(2, 3, 4), 20);\n"
    "    ga = gb = gc = NAN;\n"
    "    EQ(f_grad(2, 3, 4, &ga, &gb, &gc), 20);\n"
    "    EQ(ga, 4); EQ(gb, 4); EQ(gc, 5);\n"
    "    /* outputs are overwritten, not accumulated */\n"
    "    ga = gb = gc = 100;\n"
    "    EQ(f_grad(2, 3, 4, &ga, &gb, &gc), 20);\n"
    "    EQ(ga, 4); EQ(gb, 4); EQ(gc, 5);\n"
    "    EQ(f_jvp(2, 3, 4, 1, 0, 0, &d), 20); EQ(d, 4);\n"
    "    EQ(f_jvp(2, 3, 4, 1, 1, 1, &d), 20); EQ(d, 13);\n"
    "    /* Hessian of (a+b)c: d2/dadc = d2/dbdc = 1 */\n"
    "    ga = gb = gc = NAN;\n"
    "    EQ(f_hvp(2, 3, 4, 1, 0, 0, &ga, &gb, &gc), 20);\n"
    "    EQ(ga, 0); EQ(gb, 0); EQ(gc, 1);\n"
    "    EQ(f_hvp(2, 3, 4, 0, 0, 1, &ga, &gb, &gc), 20);\n"
    "    EQ(ga, 1); EQ(gb, 1); EQ(gc, 0);\n"
    "\n"
    "    /* neuron, active side: x*w+b = 2*1.5-1 = 2 > 0 */\n"
    "    EQ(neuron(1.5, -1, 2), 2);\n"
    "    ga = gb = NAN;\n"
    "    EQ(neuron_grad(1.5, -1, 2, &ga, &gb), 2);\n"
    "    EQ(ga, 2); EQ(gb, 1);\n"
    "    EQ(neuron_jvp(1.5, -1, 2, 1, 1, &d), 2); EQ(d, 3);\n"
    "    /* inactive side: 2*1.5-4 = -1 < 0 */\n"
    "    EQ(neuron(1.5, -4, 2), 0);\n"
    "    ga = gb = NAN;\n"
    "    EQ(neuron_grad(1.5, -4, 2, &ga, &gb), 0);\n"
    "    EQ(ga, 0); EQ(gb, 0);\n"
    "    EQ(neuron_jvp(1.5, -4, 2, 1, 1, &d), 0); EQ(d, 0);\n"
    "    /* at the kink: relu'(0) = 0 */\n"
    "    EQ(neuron(1.5, -3, 2), 0);\n"
    "    ga = gb = NAN;\n"
    "    EQ(neuron_grad(1.5, -3, 2, &ga, &gb), 0);\n"
    "    EQ(ga, 0); EQ(gb, 0);\n"
    "    EQ(neuron_jvp(1.5, -3, 2, 1, 1, &d), 0); EQ(d, 0);\n"
    "    ga = gb = NAN;\n"
    "    EQ(neuron_hvp(1.5, -3, 2, 1, 1, &ga, &gb), 0);\n"
    "    EQ(ga, 0); EQ(gb, 0);\n"
    "\n"
    "    /* data s: one bar only */\n"
    "    ga = NAN;\n"
    "    EQ(scale_by_grad(2, 3, &ga), 18);\n"
    "    EQ(ga, 9);\n"
    "    EQ(scale_by_jvp(2, 3, 1, &d), 18); EQ(d, 9);\n"
    "    ga = NAN;\n"
    "    EQ(scale_by_hvp(2, 3, 1, &ga), 18); EQ(ga, 0);\n"
    "    return finish();\n"
    "}\n";

START_TEST(test_seed)
{
    run_dxc("seed", seed_dx, NULL);
    TuBuf d = {0};
    tu_bprintf(&d, "%s%s", prelude, seed_drv);
    build_run("seed", d.s);
    free(d.s);
}
END_TEST

/* ---- exact derivatives at kinks, integer powers, Hessians ---- */

static const char kink_dx[] =
    "const N = 3\n"
    "fn k_abs(a) = abs(a)\n"
    "fn k_relu(a) = relu(a)\n"
    "fn k_min(a, b) = min(a, b)\n"
    "fn k_max(a, b) = max(a, b)\n"
    "fn k_hypot(a, b) = hypot(a, b)\n"
    "fn k_atan2(a, b) = atan2(a, b)\n"
    "fn k_cube(a) = a ^ 3\n"
    "fn k_inv2(a) = a ^ -2\n"
    "fn k_pow2(a) = pow(a, 2)\n"
    "fn k_powN(a) = pow(a, N)\n"
    "fn k_N(a) = a ^ N\n"
    "fn k_mN(a) = a ^ -N\n"
    "fn k_zero(a) = a ^ 0\n"
    "fn k_one(a) = a ^ 1\n"
    "fn k_neg_sq(a) = -a ^ 2\n"
    "fn k_tower(a) = a ^ 2 ^ 2\n"
    "fn k_sqrt(a) = sqrt(a)\n"
    "fn k_x2y(x, y) = x ^ 2 * y\n"
    "fn k_sinxy(x, y) = sin(x) * y\n"
    "fn k_eq(a, b) = if a == b then a * b else a + b\n"
    "fn k_ne(a, b) {\n"
    "    y = a\n"
    "    if a != b and not (a != 1) { y = a * b }\n"
    "    return y\n"
    "}\n";

static const char kink_drv[] =
    "#include \"kink.h\"\n"
    "int main(void)\n"
    "{\n"
    "    double g, ga, gb, d, h1, h2;\n"
    "    /* abs'(0) = 0, relu'(0) = 0 */\n"
    "    g = NAN; EQ(k_abs_grad(0, &g), 0); EQ(g, 0);\n"
    "    EQ(k_abs_jvp(0, 1, &d), 0); EQ(d, 0);\n"
    "    g = NAN; EQ(k_abs_grad(-2, &g), 2); EQ(g, -1);\n"
    "    g = NAN; EQ(k_relu_grad(0, &g), 0); EQ(g, 0);\n"
    "    EQ(k_relu_jvp(0, 1, &d), 0); EQ(d, 0);\n"
    "    g = NAN; EQ(k_relu_grad(0.5, &g), 0.5); EQ(g, 1);\n"
    "    /* min/max ties share the gradient; jvp is the mean tangent */\n"
    "    ga = gb = NAN; EQ(k_min_grad(2, 2, &ga, &gb), 2); EQ(ga, 0.5); EQ(gb, 0.5);\n"
    "    ga = gb = NAN; EQ(k_max_grad(2, 2, &ga, &gb), 2); EQ(ga, 0.5); EQ(gb, 0.5);\n"
    "    EQ(k_min_jvp(2, 2, 1, 3, &d), 2); EQ(d, 2);\n"
    "    EQ(k_max_jvp(2, 2, 1, 3, &d), 2); EQ(d, 2);\n"
    "    ga = gb = NAN; EQ(k_min_grad(1, 2, &ga, &gb), 1); EQ(ga, 1); EQ(gb, 0);\n"
    "    ga = gb = NAN; EQ(k_max_grad(1, 2, &ga, &gb), 2); EQ(ga, 0); EQ(gb, 1);\n"
    "    ga = gb = NAN; EQ(k_max_grad(-3, -5, &ga, &gb), -3); EQ(ga, 1); EQ(gb, 0);\n"
    "    /* hypot and atan2: derivative 0 at the origin */\n"
    "    ga = gb = NAN; EQ(k_hypot_grad(0, 0, &ga, &gb), 0); EQ(ga, 0); EQ(gb, 0);\n"
    "    EQ(k_hypot_jvp(0, 0, 1, 1, &d), 0); EQ(d, 0);\n"
    "    ga = gb = NAN; EQ(k_atan2_grad(0, 0, &ga, &gb), 0); EQ(ga, 0); EQ(gb, 0);\n"
    "    EQ(k_atan2_jvp(0, 0, 1, 1, &d), 0); EQ(d, 0);\n"
    "    ga = gb = NAN; EQ(k_hypot_grad(3, 4, &ga, &gb), 5); NEAR(ga, 0.6); NEAR(gb, 0.8);\n"
    "    /* atan2(y, x): d/dy = x/(x^2+y^2), d/dx = -y/(x^2+y^2) */\n"
    "    ga = gb = NAN; NEAR(k_atan2_grad(1, 1, &ga, &gb), atan(1.0)); NEAR(ga, 0.5); NEAR(gb, -0.5);\n"
    "    /* integer powers: exact at negative x */\n"
    "    g = NAN; EQ(k_cube_grad(-2, &g), -8); EQ(g, 12);\n"
    "    EQ(k_cube_jvp(-2, 1, &d), -8); EQ(d, 12);\n"
    "    g = NAN; EQ(k_cube_hvp(-2, 1, &g), -8); EQ(g, -12);\n"
    "    g = NAN; EQ(k_inv2_grad(-2, &g), 0.25); EQ(g, 0.25);\n"
    "    g = NAN; EQ(k_inv2_hvp(-2, 1, &g), 0.25); NEAR(g, 0.375);\n"
    "    g = NAN; EQ(k_pow2_grad(-3, &g), 9); EQ(g, -6);\n"
    "    g = NAN; EQ(k_pow2_hvp(-3, 1, &g), 9); EQ(g, 2);\n"
    "    g = NAN; EQ(k_powN_grad(-2, &g), -8); EQ(g, 12);\n"
    "    g = NAN; EQ(k_N_grad(-2, &g), -8); EQ(g, 12);\n"
    "    g = NAN; EQ(k_N_hvp(-2, 1, &g), -8); EQ(g, -12);\n"
    "    g = NAN; EQ(k_mN_grad(-2, &g), -0.125); EQ(g, -0.1875);\n"
    "    g = NAN; EQ(k_zero_grad(-2, &g), 1); EQ(g, 0);\n"
    "    g = NAN; EQ(k_zero_grad(0, &g), 1); EQ(g, 0);\n"
    "    g = NAN; EQ(k_zero_grad(3.5, &g), 1); EQ(g, 0);\n"
    "    EQ(k_zero_jvp(-2, 1, &d), 1); EQ(d, 0);\n"
    "    g = NAN; EQ(k_zero_hvp(-2, 1, &g), 1); EQ(g, 0);\n"
    "    g = NAN; EQ(k_one_grad(-2, &g), -2); EQ(g, 1);\n"
    "    /* -a^2 is -(a^2); a^2^2 is a^(2^2) */\n"
    "    g = NAN; EQ(k_neg_sq_grad(3, &g), -9); EQ(g, -6);\n"
    "    g = NAN; EQ(k_tower_grad(-2, &g), 16); EQ(g, -32);\n"
    "    /* sqrt'(0) is +infinity (IEEE) */\n"
    "    g = NAN; EQ(k_sqrt_grad(0, &g), 0); TRUE(isinf(g) && g > 0);\n"
    "    g = NAN; EQ(k_sqrt_grad(4, &g), 2); EQ(g, 0.25);\n"
    "    /* analytic Hessians: x^2 y -> [[2y, 2x], [2x, 0]] */\n"
    "    h1 = h2 = NAN; NEAR(k_x2y_hvp(1.5, -2, 1, 0, &h1, &h2), -4.5); NEAR(h1, -4); NEAR(h2, 3);\n"
    "    h1 = h2 = NAN; NEAR(k_x2y_hvp(1.5, -2, 0, 1, &h1, &h2), -4.5); NEAR(h1, 3); NEAR(h2, 0);\n"
    "    h1 = h2 = NAN; k_x2y_hvp(1.5, -2, 0.5, -1, &h1, &h2); NEAR(h1, -2 - 3); NEAR(h2, 1.5);\n"
    "    /* sin(x) y -> [[-sin(x) y, cos(x)], [cos(x), 0]] */\n"
    "    h1 = h2 = NAN; NEAR(k_sinxy_hvp(0.7, 3, 1, 0, &h1, &h2), sin(0.7) * 3); NEAR(h1, -sin(0.7) * 3); NEAR(h2, cos(0.7));\n"
    "    h1 = h2 = NAN; k_sinxy_hvp(0.7, 3, 0, 1, &h1, &h2); NEAR(h1, cos(0.7)); NEAR(h2, 0);\n"
    "    h1 = h2 = NAN; k_sinxy_hvp(-1.2, 0.5, 2, -1, &h1, &h2);\n"
    "    NEAR(h1, -sin(-1.2) * 0.5 * 2 - cos(-1.2)); NEAR(h2, 2 * cos(-1.2));\n"
    "    /* == and != select exactly */\n"
    "    ga = gb = NAN; EQ(k_eq_grad(2, 2, &ga, &gb), 4); EQ(ga, 2); EQ(gb, 2);\n"
    "    ga = gb = NAN; EQ(k_eq_grad(2, 3, &ga, &gb), 5); EQ(ga, 1); EQ(gb, 1);\n"
    "    ga = gb = NAN; EQ(k_ne_grad(1, 3, &ga, &gb), 3); EQ(ga, 3); EQ(gb, 1);\n"
    "    ga = gb = NAN; EQ(k_ne_grad(1, 1, &ga, &gb), 1); EQ(ga, 1); EQ(gb, 0);\n"
    "    ga = gb = NAN; EQ(k_ne_grad(2, 3, &ga, &gb), 2); EQ(ga, 1); EQ(gb, 0);\n"
    "    return finish();\n"
    "}\n";

START_TEST(test_kinks_powers_hessians)
{
    run_dxc("kink", kink_dx, NULL);
    TuBuf d = {0};
    tu_bprintf(&d, "%s%s", prelude, kink_drv);
    build_run("kink", d.s);
    free(d.s);
}
END_TEST

/* ---- the table: every built-in and construct against finite differences ---- */

#define MAXP 6
#define MAXPTS 4

typedef struct {
    const char *name;  /* function name in the .dx text */
    int n;             /* number of (all active) parameters */
    const char *dx;    /* its definition */
    const char *ref;   /* C reference: an expression, or statements with return, in a..f */
    int npts;
    double pts[MAXPTS][MAXP];
} Prog;

/* Helpers the table's functions call; not themselves in the table. */
static const char table_extra[] =
    "const N = 3\n"
    "const H = 2 * N\n"
    "const lr = 0.01\n"
    "const half = 1 / 2\n"
    "fn scale_by(w, data s) = w * s ^ 2\n"
    "fn sq_data(data k, v) = k * v ^ 2\n";

static const Prog progs[] = {
    /* unary built-ins */
    {"b_exp", 1, "fn b_exp(a) = exp(a)", "exp(a)", 3, {{-2}, {0.3}, {5}}},
    {"b_log", 1, "fn b_log(a) = log(a)", "log(a)", 3, {{0.1}, {1}, {50}}},
    {"b_log1p", 1, "fn b_log1p(a) = log1p(a)", "log1p(a)", 3, {{-0.5}, {0}, {3}}},
    {"b_expm1", 1, "fn b_expm1(a) = expm1(a)", "expm1(a)", 3, {{-1}, {1e-3}, {2}}},
    {"b_sqrt", 1, "fn b_sqrt(a) = sqrt(a)", "sqrt(a)", 3, {{0.01}, {2}, {100}}},
    {"b_sin", 1, "fn b_sin(a) = sin(a)", "sin(a)", 3, {{-2}, {0}, {1.3}}},
    {"b_cos", 1, "fn b_cos(a) = cos(a)", "cos(a)", 3, {{-2}, {0}, {1.3}}},
    {"b_tan", 1, "fn b_tan(a) = tan(a)", "tan(a)", 3, {{-1}, {0.4}, {1.2}}},
    {"b_asin", 1, "fn b_asin(a) = asin(a)", "asin(a)", 3, {{-0.9}, {0}, {0.5}}},
    {"b_acos", 1, "fn b_acos(a) = acos(a)", "acos(a)", 3, {{-0.9}, {0}, {0.5}}},
    {"b_atan", 1, "fn b_atan(a) = atan(a)", "atan(a)", 3, {{-3}, {0}, {10}}},
    {"b_sinh", 1, "fn b_sinh(a) = sinh(a)", "sinh(a)", 3, {{-2}, {0.1}, {3}}},
    {"b_cosh", 1, "fn b_cosh(a) = cosh(a)", "cosh(a)", 3, {{-2}, {0.1}, {3}}},
    {"b_tanh", 1, "fn b_tanh(a) = tanh(a)", "tanh(a)", 3, {{-2}, {0.1}, {3}}},
    {"b_erf", 1, "fn b_erf(a) = erf(a)", "erf(a)", 3, {{-1.5}, {0}, {0.7}}},
    {"b_abs", 1, "fn b_abs(a) = abs(a)", "fabs(a)", 3, {{-2}, {1.5}, {1e-3}}},
    {"b_sigmoid", 1, "fn b_sigmoid(a) = sigmoid(a)", "1 / (1 + exp(-a))", 3, {{-3}, {0}, {4}}},
    {"b_relu", 1, "fn b_relu(a) = relu(a)", "a > 0 ? a : 0", 3, {{-1}, {2}, {0.25}}},
    {"b_softplus", 1, "fn b_softplus(a) = softplus(a)", "log1p(exp(a))", 3, {{-5}, {0}, {3}}},
    /* binary built-ins */
    {"b_pow", 2, "fn b_pow(a, b) = pow(a, b)", "pow(a, b)", 3, {{1.5, 2.3}, {0.5, -1.2}, {3, 0.5}}},
    {"b_atan2", 2, "fn b_atan2(a, b) = atan2(a, b)", "atan2(a, b)", 4,
     {{1, 2}, {-1, -0.5}, {0.3, -2}, {-2, 0.1}}},
    {"b_hypot", 2, "fn b_hypot(a, b) = hypot(a, b)", "hypot(a, b)", 3, {{3, 4}, {-1, 0.5}, {0.2, -7}}},
    {"b_min", 2, "fn b_min(a, b) = min(a, b)", "a < b ? a : b", 3, {{1, 2}, {3, -1}, {-2, -1.5}}},
    {"b_max", 2, "fn b_max(a, b) = max(a, b)", "a > b ? a : b", 3, {{1, 2}, {3, -1}, {-2, -1.5}}},
    /* compositions of built-ins */
    {"c_mix", 3, "fn c_mix(a, b, c) = log(1 + exp(a * b)) * tanh(c) / sqrt(1 + a ^ 2)",
     "log(1 + exp(a * b)) * tanh(c) / sqrt(1 + a * a)", 3,
     {{0.5, -1, 2}, {-1.5, 0.3, -0.2}, {2, 2, 0.1}}},
    {"c_trig", 2, "fn c_trig(a, b) = sin(a * b) * cos(a - b) + atan(a / b) - asin(b / 4)",
     "sin(a * b) * cos(a - b) + atan(a / b) - asin(b / 4)", 3, {{0.5, 1}, {-1, 2}, {2, -3}}},
    {"c_hyp", 2, "fn c_hyp(a, b) = sinh(a) * cosh(b) + erf(a * b) * expm1(b) + log1p(a ^ 2)",
     "sinh(a) * cosh(b) + erf(a * b) * expm1(b) + log1p(a * a)", 3, {{0.5, 1}, {-1, 0.2}, {1.5, -0.7}}},
    {"c_nn", 3, "fn c_nn(a, b, c) = softplus(a * b - c) + sigmoid(a + c) * relu(b) + abs(a - c)",
     "log1p(exp(a * b - c)) + 1 / (1 + exp(-(a + c))) * (b > 0 ? b : 0) + fabs(a - c)", 3,
     {{0.5, 1, -0.3}, {-1, 2, 0.4}, {2, -3, 1}}},
    {"c_div", 2, "fn c_div(a, b) = (a + 1) / (b * b + 1) - a / 3", "(a + 1) / (b * b + 1) - a / 3", 3,
     {{0.5, 1}, {-1, 2}, {2, -3}}},
    {"c_unary", 2, "fn c_unary(a, b) = -a * b + -(a - b) - - a + -(-b) + -a ^ 2",
     "-a * b - (a - b) + a + b - a * a", 2, {{0.5, 1}, {-1, 2}}},
    {"c_consts", 1, "fn c_consts(a) = sin(pi * a) * lr + H * a + N * a ^ 2 + half",
     "sin(3.14159265358979323846 * a) * 0.01 + 6 * a + 3 * a * a + 0.5", 3, {{0.3}, {-1.2}, {2}}},
    {"c_minmax", 3, "fn c_minmax(a, b, c) = max(min(a, b), c * a) + min(max(a, 2 * b), c)",
     "fmax(fmin(a, b), c * a) + fmin(fmax(a, 2 * b), c)", 3,
     {{0.5, 1, 0.3}, {-1, 2, 3}, {2, -3, -1}}},
    /* powers */
    {"p_cube", 1, "fn p_cube(a) = a ^ 3", "a * a * a", 3, {{-2}, {-0.5}, {1.5}}},
    {"p_inv2", 1, "fn p_inv2(a) = a ^ -2", "1 / (a * a)", 3, {{-1.5}, {0.7}, {-0.3}}},
    {"p_pow2", 1, "fn p_pow2(a) = pow(a, 2)", "a * a", 2, {{-3}, {2}}},
    {"p_powm3", 1, "fn p_powm3(a) = pow(a, -3)", "1 / (a * a * a)", 2, {{-3}, {2}}},
    {"p_N", 1, "fn p_N(a) = a ^ N", "a * a * a", 2, {{-2}, {1.1}}},
    {"p_H", 1, "fn p_H(a) = a ^ H + a ^ -N", "pow(a, 6) + pow(a, -3)", 2, {{-1.3}, {0.9}}},
    {"p_zero", 1, "fn p_zero(a) = a ^ 0 * 5", "5", 3, {{-2}, {0.1}, {3}}},
    {"p_real", 1, "fn p_real(a) = a ^ 2.5", "pow(a, 2.5)", 3, {{0.5}, {3}, {1}}},
    {"p_realneg", 1, "fn p_realneg(a) = a ^ -0.5", "pow(a, -0.5)", 2, {{0.5}, {3}}},
    {"p_base", 1, "fn p_base(a) = 2 ^ a", "pow(2, a)", 3, {{-1}, {0}, {3.5}}},
    {"p_general", 2, "fn p_general(a, b) = a ^ b + b ^ (a / 2)", "pow(a, b) + pow(b, a / 2)", 2,
     {{1.5, 2.5}, {0.7, 0.4}}},
    {"p_tower", 1, "fn p_tower(a) = 2 ^ 3 ^ a", "pow(2, pow(3, a))", 2, {{0.5}, {-1}}},
    /* control flow */
    {"if_chain", 2,
     "fn if_chain(a, b) {\n"
     "    if a < -1 {\n"
     "        y = a * b\n"
     "    } else if a < 0 {\n"
     "        y = a ^ 2 + b\n"
     "    } else if a < 1 and b > 0 {\n"
     "        y = sin(a) * b\n"
     "    } else {\n"
     "        y = exp(a - b)\n"
     "    }\n"
     "    return y * 2\n"
     "}",
     "return 2 * (a < -1 ? a * b : a < 0 ? a * a + b : (a < 1 && b > 0) ? sin(a) * b : exp(a - b));",
     4, {{-2, 1.5}, {-0.5, 2}, {0.5, 0.7}, {0.5, -0.7}}},
    {"if_noelse", 2,
     "fn if_noelse(a, b) {\n"
     "    y = a * b\n"
     "    if a > b { y = y + a ^ 2 }\n"
     "    if b > 0 {\n"
     "        y = y * b\n"
     "        z = 2\n"
     "    } else {\n"
     "        z = a\n"
     "    }\n"
     "    return y + z * b\n"
     "}",
     "double y = a * b, z; if (a > b) y = y + a * a; if (b > 0) { y = y * b; z = 2; } else z = a;"
     " return y + z * b;",
     4, {{2, 1}, {1, 2}, {-1, -2}, {-3, -2}}},
    {"if_nested", 2,
     "fn if_nested(a, b) {\n"
     "    if a > 0 {\n"
     "        if b > 0 { r = a * b } else { r = a - b }\n"
     "        r = r * 2\n"
     "    } else {\n"
     "        r = b\n"
     "        if b < a { r = r ^ 2 }\n"
     "    }\n"
     "    return r\n"
     "}",
     "double r; if (a > 0) { r = b > 0 ? a * b : a - b; r = r * 2; } else { r = b; if (b < a) r = r * r; }"
     " return r;",
     4, {{1, 2}, {1, -2}, {-1, -2}, {-1, 2}}},
    {"reassign", 2,
     "fn reassign(a, b) {\n"
     "    a = a * b\n"
     "    a = a + sin(a)\n"
     "    b = b * a; t = a\n"
     "    t = t * t + b\n"
     "    return t\n"
     "}",
     "a = a * b; a = a + sin(a); b = b * a; double t = a; t = t * t + b; return t;",
     3, {{0.5, 1}, {-1, 2}, {2, -0.3}}},
    {"reassign_if", 1,
     "fn reassign_if(a) {\n"
     "    x = a\n"
     "    if a > 1 { x = x * a } else if a > 0 { x = x + 1 } else { a = -a }\n"
     "    return x * a\n"
     "}",
     "double x = a; if (a > 1) x = x * a; else if (a > 0) x = x + 1; else a = -a; return x * a;",
     3, {{2}, {0.5}, {-0.5}}},
    {"if_expr", 2, "fn if_expr(a, b) = if a > b then a * b else a - b ^ 2",
     "a > b ? a * b : a - b * b", 2, {{2, 1}, {1, 2}}},
    {"if_expr_chain", 1,
     "fn if_expr_chain(a) = 1 + (if a > 1 then a else if a > 0 then a ^ 2 else -a)",
     "1 + (a > 1 ? a : a > 0 ? a * a : -a)", 3, {{2}, {0.5}, {-0.5}}},
    {"logic", 2,
     "fn logic(a, b) = if (a > 0 and b > 0) or not (a > -1) then a * b else a + b",
     "((a > 0 && b > 0) || !(a > -1)) ? a * b : a + b", 4, {{1, 1}, {1, -1}, {-2, 3}, {-0.5, 2}}},
    {"logic2", 2,
     "fn logic2(a, b) {\n"
     "    y = 0\n"
     "    if not a > 0 and b != 1 { y = a } else { y = b }\n"
     "    if a == b or a <= -b and not (a >= 3) { y = y * a } \n"
     "    return y + a\n"
     "}",
     "double y = 0; if (!(a > 0) && b != 1) y = a; else y = b;"
     " if (a == b || (a <= -b && !(a >= 3))) y = y * a; return y + a;",
     4, {{-1, 2}, {0.5, -0.7}, {-0.5, 0.3}, {2, -3}}},
    {"semi", 1, "fn semi(a) { b = a * a; return b + 1 }", "a * a + 1", 1, {{1.5}}},
    {"unused", 2, "fn unused(a, b) = a * 2", "a * 2", 1, {{1.5, 3}}},
    {"const_fn", 1, "fn const_fn(a) = 7", "7", 1, {{1.5}}},
    /* user functions, defined after and before their callers */
    {"uf_outer", 2, "fn uf_outer(a, b) = uf_mid(a * b, a) + uf_inner(b)",
     "sin(a * b) * (a * b) * a + sin(b) * b", 3, {{0.5, 1}, {-1, 2}, {2, -0.3}}},
    {"uf_mid", 2, "fn uf_mid(p, q) = uf_inner(p) * q", "sin(a) * a * b", 2, {{0.5, 1}, {-1, 2}}},
    {"uf_inner", 1, "fn uf_inner(z) = sin(z) * z", "sin(a) * a", 2, {{0.5}, {-1}}},
    {"uf_block", 2,
     "fn uf_block(a, b) {\n"
     "    u = uf_inner(a)\n"
     "    v = uf_mid(u, b)\n"
     "    return uf_mid(v, u) + uf_inner(uf_inner(b))\n"
     "}",
     "double u = sin(a) * a; double v = sin(u) * u * b; return sin(v) * v * u + sin(sin(b) * b) * (sin(b) * b);",
     2, {{0.5, 1}, {-1, 2}}},
    /* data in the callee, active in the caller: derivatives still flow */
    {"data_flow", 2, "fn data_flow(a, b) = scale_by(a, b) + scale_by(b, a * b)",
     "a * b * b + b * (a * b) * (a * b)", 3, {{0.5, 1}, {-1, 2}, {2, -0.3}}},
    {"data_flow2", 2, "fn data_flow2(a, b) = sq_data(a, b) * sq_data(b, 2)",
     "a * b * b * (b * 4)", 2, {{0.5, 1}, {-1, 2}}},
    /* odd names: C keywords, <math.h> names, names the generator uses */
    {"nm", 6, "fn nm(int, double, x_bar, out, y0, t1) = int * double + sigmoid(x_bar) * out + y0 / t1",
     "a * b + 1 / (1 + exp(-c)) * d + e / f", 2,
     {{0.5, 1, -0.3, 2, 1.5, 3}, {-1, 2, 0.4, -1, 2, -0.5}}},
    {"nm2", 6,
     "fn nm2(dx_softmax, out_dot, float, errno, M_PI, NAN) {\n"
     "    t1 = dx_softmax * out_dot\n"
     "    t2 = float + errno\n"
     "    y_2 = t1 * t2\n"
     "    x_bar = M_PI * NAN\n"
     "    return y_2 + x_bar + softplus(t1)\n"
     "}",
     "return a * b * (c + d) + e * f + log1p(exp(a * b));", 2,
     {{0.5, 1, -0.3, 2, 1.5, 3}, {-1, 2, 0.4, -1, 2, -0.5}}},
    {"nm3", 6,
     "fn nm3(printf, main, isnan, HUGE_VAL, exp2, INFINITY) = printf * main + isnan * HUGE_VAL + exp2 - INFINITY",
     "a * b + c * d + e - f", 1, {{0.5, 1, -0.3, 2, 1.5, 3}}},
    {"nm4", 3,
     "fn nm4(static, do, char) {\n"
     "    void = static * do\n"
     "    register = void + char\n"
     "    return register * keyword_fn(do)\n"
     "}",
     "return (a * b + c) * (b * 3);", 2, {{0.5, 1, -0.3}, {-1, 2, 0.4}}},
    {"keyword_fn", 1, "fn keyword_fn(restrict) = restrict * 3", "a * 3", 1, {{2}}},
    /* the names of temporaries (t1, t2, ...): variables and a function
     * that have them, met before and after the temporaries of that name */
    {"nm5", 2,
     "fn nm5(a, b) {\n"
     "    u = sin(a * b) + exp(a / (1 + b * b))\n"
     "    t3 = u * tanh(u + a) - log(1 + u * u)\n"
     "    t1 = t3 * sqrt(1 + t3 * t3) + u / (2 + a * a)\n"
     "    t12 = t1 * exp(t3 * 0.5) + cos(u * t1)\n"
     "    return t12 * t1 + t7(t3)\n"
     "}",
     "double u = sin(a * b) + exp(a / (1 + b * b)); double t3 = u * tanh(u + a) - log(1 + u * u);"
     " double t1 = t3 * sqrt(1 + t3 * t3) + u / (2 + a * a);"
     " double t12 = t1 * exp(t3 * 0.5) + cos(u * t1); return t12 * t1 + t3 * t3;",
     3, {{0.5, 1}, {-1, 2}, {2, -0.3}}},
    {"t7", 1, "fn t7(z) = z * z", "a * a", 1, {{2}}},
    {"dx_sigmoid", 1, "fn dx_sigmoid(a) = sigmoid(a) * 2", "2 / (1 + exp(-a))", 2, {{0.5}, {-2}}},
    {"dx_softplus", 1, "fn dx_softplus(a) = softplus(a) + dx_sigmoid(a)",
     "log1p(exp(a)) + 2 / (1 + exp(-a))", 2, {{0.5}, {-2}}},
    {"f_grad_user", 2,
     "fn f_grad_user(a_bar, out_dot) {\n"
     "    a_hv = a_bar * out_dot\n"
     "    t = sigmoid(a_hv)\n"
     "    return t * p_cube(a_bar)\n"
     "}",
     "return 1 / (1 + exp(-a * b)) * a * a * a;", 2, {{0.5, 1}, {-1, 2}}},
};

#define NPROGS (sizeof progs / sizeof progs[0])

/* The args "x[0], x[1]", then prefix+i for outputs etc. */
static void args(TuBuf *b, int n, const char *arr, const char *amp)
{
    for (int i = 0; i < n; i++)
        tu_bprintf(b, "%s%s%s[%d]", i ? ", " : "", amp, arr, i);
}

static char *table_source(void)
{
    TuBuf b = {0};
    tu_bprintf(&b, "# generated by test_e2e.c\n%s", table_extra);
    for (size_t i = 0; i < NPROGS; i++)
        tu_bprintf(&b, "%s\n", progs[i].dx);
    return b.s;
}

static char *table_driver(void)
{
    TuBuf b = {0};
    tu_bprintf(&b, "%s#include \"table.h\"\n#include <stdlib.h>\n", prelude);
    tu_bprintf(&b, "typedef struct { const char *name; int n; dxrt_fn f; dxrt_grad g;\n"
                "  double (*jvp)(const double *, const double *, double *);\n"
                "  dxrt_hvp h; double (*ref)(const double *);\n"
                "  double (*gval)(const double *, double *);\n"
                "  double (*hval)(const double *, const double *, double *);\n"
                "  int npts; double pts[%d][%d]; } Entry;\n", MAXPTS, MAXP);
    for (size_t i = 0; i < NPROGS; i++) {
        const Prog *p = &progs[i];
        const char *nm = p->name;
        int n = p->n;
        tu_bprintf(&b, "static double %s_R(const double *xx_)\n{\n"
                    "    double a = xx_[0], b = xx_[1], c = xx_[2], d = xx_[3], e = xx_[4], f = xx_[5];\n"
                    "    (void)a; (void)b; (void)c; (void)d; (void)e; (void)f;\n", nm);
        if (strstr(p->ref, "return"))
            tu_bprintf(&b, "    %s\n}\n", p->ref);
        else
            tu_bprintf(&b, "    return %s;\n}\n", p->ref);
        tu_bprintf(&b, "static double %s_F(const double *x, void *ctx)\n{ (void)ctx; return %s(", nm, nm);
        args(&b, n, "x", "");
        tu_bprintf(&b, "); }\n");
        tu_bprintf(&b, "static double %s_GV(const double *x, double *g)\n{ return %s_grad(", nm, nm);
        args(&b, n, "x", "");
        tu_bprintf(&b, ", ");
        args(&b, n, "g", "&");
        tu_bprintf(&b, "); }\n");
        tu_bprintf(&b, "static void %s_G(const double *x, double *g, void *ctx)\n"
                    "{ (void)ctx; (void)%s_GV(x, g); }\n", nm, nm);
        tu_bprintf(&b, "static double %s_J(const double *x, const double *v, double *d)\n{ return %s_jvp(",
                   nm, nm);
        args(&b, n, "x", "");
        tu_bprintf(&b, ", ");
        args(&b, n, "v", "");
        tu_bprintf(&b, ", d); }\n");
        tu_bprintf(&b, "static double %s_HV(const double *x, const double *v, double *hv)\n"
                    "{ return %s_hvp(", nm, nm);
        args(&b, n, "x", "");
        tu_bprintf(&b, ", ");
        args(&b, n, "v", "");
        tu_bprintf(&b, ", ");
        args(&b, n, "hv", "&");
        tu_bprintf(&b, "); }\n");
        tu_bprintf(&b, "static void %s_H(const double *x, const double *v, double *hv, void *ctx)\n"
                    "{ (void)ctx; (void)%s_HV(x, v, hv); }\n", nm, nm);
    }
    tu_bprintf(&b, "static const Entry entries[] = {\n");
    for (size_t i = 0; i < NPROGS; i++) {
        const Prog *p = &progs[i];
        const char *nm = p->name;
        tu_bprintf(&b, "  {\"%s\", %d, %s_F, %s_G, %s_J, %s_H, %s_R, %s_GV, %s_HV, %d, {", nm, p->n, nm,
                   nm, nm, nm, nm, nm, nm, p->npts);
        for (int k = 0; k < p->npts; k++) {
            tu_bprintf(&b, "{");
            for (int j = 0; j < p->n; j++)
                tu_bprintf(&b, "%s%.17g", j ? ", " : "", p->pts[k][j]);
            tu_bprintf(&b, "}, ");
        }
        tu_bprintf(&b, "}},\n");
    }
    tu_bprintf(&b, "};\n");
    tu_bprintf(&b,
        "int main(void)\n"
        "{\n"
        "    uint64_t seed = 42;\n"
        "    size_t ne = sizeof entries / sizeof entries[0], checks = 0;\n"
        "    for (size_t i = 0; i < ne; i++) {\n"
        "        const Entry *e = &entries[i];\n"
        "        for (int k = 0; k < e->npts; k++) {\n"
        "            double x[%d] = {0}, g[%d], v[%d], hv[%d], val, r, dot, scale, jd;\n"
        "            int j, t;\n"
        "            dxrt_report rep;\n"
        "            char what[128];\n"
        "            memcpy(x, e->pts[k], sizeof x);\n"
        "            snprintf(what, sizeof what, \"%%s at point %%d\", e->name, k);\n"
        "            val = e->f(x, NULL);\n"
        "            r = e->ref(x);\n"
        "            if (!(fabs(val - r) <= 1e-12 * fabs(r) + 1e-14)) {\n"
        "                printf(\"FAIL %%s: value %%.17g, reference %%.17g\\n\", what, val, r); fails++; }\n"
        "            for (j = 0; j < %d; j++) g[j] = NAN;\n"
        "            if (e->gval(x, g) != val) { printf(\"FAIL %%s: f_grad returns another value\\n\", what); fails++; }\n"
        "            for (j = 0; j < e->n; j++) if (!isfinite(g[j])) {\n"
        "                printf(\"FAIL %%s: gradient %%d not finite\\n\", what, j); fails++; }\n"
        "            if (dxrt_check_grad(e->f, e->g, NULL, x, (size_t)e->n, NULL, &rep) != DXRT_PASS) {\n"
        "                dxrt_report_print(stdout, what, &rep); printf(\"FAIL %%s: gradient vs finite differences\\n\", what); fails++; }\n"
        "            if (dxrt_check_hvp(e->g, e->h, NULL, x, (size_t)e->n, NULL, &rep) != DXRT_PASS) {\n"
        "                dxrt_report_print(stdout, what, &rep); printf(\"FAIL %%s: hvp vs finite differences of the gradient\\n\", what); fails++; }\n"
        "            for (t = 0; t < 3; t++) {\n"
        "                for (j = 0; j < e->n; j++) v[j] = dxrt_uniform(&seed);\n"
        "                dot = scale = 0;\n"
        "                for (j = 0; j < e->n; j++) { dot += g[j] * v[j]; scale += fabs(g[j] * v[j]); }\n"
        "                jd = NAN;\n"
        "                if (e->jvp(x, v, &jd) != val) { printf(\"FAIL %%s: f_jvp returns another value\\n\", what); fails++; }\n"
        "                if (!(fabs(jd - dot) <= 1e-12 * scale + 1e-300)) {\n"
        "                    printf(\"FAIL %%s: jvp %%.17g, grad . v %%.17g\\n\", what, jd, dot); fails++; }\n"
        "                for (j = 0; j < %d; j++) hv[j] = NAN;\n"
        "                if (e->hval(x, v, hv) != val) { printf(\"FAIL %%s: f_hvp returns another value\\n\", what); fails++; }\n"
        "                for (j = 0; j < e->n; j++) if (!isfinite(hv[j])) {\n"
        "                    printf(\"FAIL %%s: hvp %%d not written or not finite\\n\", what, j); fails++; }\n"
        "                checks++;\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "    printf(\"%%zu functions, %%zu directions\\n\", ne, checks);\n"
        "    return finish();\n"
        "}\n",
        MAXP, MAXP, MAXP, MAXP, MAXP, MAXP);
    return b.s;
}

START_TEST(test_table)
{
    char *dx = table_source();
    char *drv = table_driver();
    run_dxc("table", dx, NULL);
    build_run("table", drv);
    free(dx);
    free(drv);
}
END_TEST

/* ---- the generated file: self-contained, includable, no state ---- */

static int starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Each line of src: #include only <math.h> (and the maths hooks' header
 * the user may name, DX_MATH_HEADER); no malloc/calloc/realloc/free;
 * `static` only starting a function definition at file scope. */
static char *strip_comments(const char *src)
{
    char *o = malloc(strlen(src) + 1), *q = o;
    ck_assert_ptr_nonnull(o);
    while (*src) {
        if (src[0] == '/' && src[1] == '*') {
            const char *e = strstr(src + 2, "*/");
            ck_assert_msg(e != NULL, "unterminated comment");
            for (; src < e + 2; src++)
                if (*src == '\n')
                    *q++ = '\n';
        } else {
            *q++ = *src++;
        }
    }
    *q = 0;
    return o;
}

static void check_shape(const char *src0, const char *what)
{
    char *src = strip_comments(src0);
    const char *line = src;
    int nincl = 0;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char l[4096];
        snprintf(l, sizeof l, "%.*s", (int)(len < sizeof l - 1 ? len : sizeof l - 1), line);
        const char *p = l;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#') {
            const char *q = p + 1;
            while (*q == ' ')
                q++;
            if (starts_with(q, "include") && strcmp(q, "include DX_MATH_HEADER")) {
                ck_assert_msg(strstr(q, "<math.h>") != NULL, "%s includes more than <math.h>: %s", what, l);
                nincl++;
            }
        }
        ck_assert_msg(!strstr(l, "malloc") && !strstr(l, "calloc") && !strstr(l, "realloc") &&
                          !strstr(l, "alloca"),
                      "%s allocates memory: %s", what, l);
        char *c = l;
        while ((c = strstr(c, "static")) != NULL &&
               ((c > l && (isalnum((unsigned char)c[-1]) || c[-1] == '_')) ||
                isalnum((unsigned char)c[6]) || c[6] == '_'))
            c += 6;
        if (c) {
            int ok = c == l && (starts_with(l, "static double ") || starts_with(l, "static float ") ||
                                starts_with(l, "static inline ")) &&
                     strchr(l, '(') && !strchr(l, '=');
            ck_assert_msg(ok, "%s: `static` not starting a function: %s", what, l);
        }
        ck_assert_msg(!strstr(l, " main("), "%s defines main: %s", what, l);
        line = end ? end + 1 : line + len;
    }
    ck_assert_int_eq(nincl, 1);
    free(src);
}

START_TEST(test_self_contained)
{
    char *dx = table_source();
    run_dxc("shape", dx, NULL);
    char *c = tu_read(tu_path("shape.c"), NULL);
    ck_assert_ptr_nonnull(c);
    check_shape(c, "shape.c (double)");
    free(c);
    run_dxc("shapef", dx, "--real=float");
    c = tu_read(tu_path("shapef.c"), NULL);
    ck_assert_ptr_nonnull(c);
    check_shape(c, "shapef.c (float)");
    free(c);
    /* The generated file #included into a file with main. */
    const char *drv =
        "#include \"shape.c\"\n"
        "#include <stdio.h>\n"
        "int main(void)\n"
        "{\n"
        "    double g, v = b_softplus_grad(1.0, &g);\n"
        "    printf(\"%.17g %.17g\\n\", v, g);\n"
        "    return !(fabs(v - log1p(exp(1.0))) < 1e-15 && fabs(g - 1 / (1 + exp(-1.0))) < 1e-15);\n"
        "}\n";
    ck_assert_int_eq(tu_write(tu_path("incl.c"), drv, (size_t)-1), 0);
    const char *ccs[] = {"gcc", "clang"};
    for (int i = 0; i < 2; i++) {
        char cmd[2048];
        char *out = NULL, *err = NULL;
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && %s " STRICT " -O1 incl.c -o incl_%s -lm && ./incl_%s", tu_tmpdir(),
                 ccs[i], ccs[i], ccs[i]);
        int st = tu_run(cmd, &out, &err);
        ck_assert_msg(st == 0, "%s: #include of the generated file failed (%d):\n%s%s", ccs[i], st,
                      out ? out : "", err ? err : "");
        free(out);
        free(err);
    }
    /* The generated file alone, as a library: defines no main, needs only libm
     * (-nostartfiles is not portable; ask the linker for a shared object
     * instead is not either, so check that it compiles with -c and that an
     * empty main links against it with -lm alone). */
    ck_assert_int_eq(tu_write(tu_path("empty_main.c"), "int main(void) { return 0; }\n", (size_t)-1), 0);
    for (int i = 0; i < 2; i++) {
        char cmd[2048];
        char *err = NULL;
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && %s " STRICT " -c shape.c -o shape_%s.o && %s " STRICT
                 " shape_%s.o empty_main.c -o em_%s -lm && ./em_%s",
                 tu_tmpdir(), ccs[i], ccs[i], ccs[i], ccs[i], ccs[i], ccs[i]);
        int st = tu_run(cmd, NULL, &err);
        ck_assert_msg(st == 0, "%s: the generated file does not link with -lm alone (%d):\n%s",
                      ccs[i], st, err ? err : "");
        free(err);
    }
    free(dx);
}
END_TEST

START_TEST(test_deterministic)
{
    char *dx = table_source();
    const char *opts[] = {"", "--real=float"};
    for (int i = 0; i < 2; i++) {
        run_dxc("det1", dx, opts[i]);
        run_dxc("det2", dx, opts[i]);
        size_t n1, n2, h1, h2;
        char *a = tu_read(tu_path("det1.c"), &n1);
        char *b = tu_read(tu_path("det2.c"), &n2);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        /* the file name may appear in a comment, and the header's in
         * its guard: det2 -> det1, DET2 -> DET1 */
        for (char *p = b; (p = strstr(p, "det2")) != NULL; p += 4)
            p[3] = '1';
        for (char *p = b; (p = strstr(p, "DET2")) != NULL; p += 4)
            p[3] = '1';
        ck_assert_msg(n1 == n2 && memcmp(a, b, n1) == 0, "two runs of dxc %s differ", opts[i]);
        free(a);
        free(b);
        a = tu_read(tu_path("det1.h"), &h1);
        b = tu_read(tu_path("det2.h"), &h2);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        /* the include guard may follow the file name; compare the rest */
        const char *pa = strstr(a, "#endif"), *pb = strstr(b, "#endif");
        ck_assert_ptr_nonnull(pa);
        ck_assert_ptr_nonnull(pb);
        const char *qa = strstr(a, "\n\n"), *qb = strstr(b, "\n\n");
        ck_assert_ptr_nonnull(qa);
        ck_assert_ptr_nonnull(qb);
        ck_assert_msg(pa - qa == pb - qb && memcmp(qa, qb, (size_t)(pa - qa)) == 0,
                      "the prototypes of two runs differ");
        free(a);
        free(b);
    }
    /* Same name, same output, byte for byte. */
    run_dxc("det1", dx, NULL);
    char *c1 = tu_read(tu_path("det1.c"), NULL);
    run_dxc("det1", dx, NULL);
    char *c2 = tu_read(tu_path("det1.c"), NULL);
    ck_assert_ptr_nonnull(c1);
    ck_assert_ptr_nonnull(c2);
    ck_assert_str_eq(c1, c2);
    free(c1);
    free(c2);
    free(dx);
}
END_TEST

/* ---- numerical stability of sigmoid and softplus ---- */

static const char stab_dx[] =
    "fn s(x) = sigmoid(x)\n"
    "fn sp(x) = softplus(x)\n"
    "fn sp2(x, y) = softplus(x * y) + sigmoid(x - y)\n";

static const char stab_drv[] =
    "#include \"stab.h\"\n"
    "/* Derivatives of tails: accurate relative to the true value, which is\n"
    " * tiny but representable (s'(40) = 4.2e-18); without TAILS only to an\n"
    " * absolute 1e-15 (see the known bug sigmoid_tail). */\n"
    "#ifdef TAILS\n"
    "#define ACC(got, want, rtol) CLOSE(got, want, rtol)\n"
    "#else\n"
    "#define ACC(got, want, rtol) do { if (fabs(want) < 1e-15) TRUE(fabs((got) - (want)) <= 1e-15); else CLOSE(got, want, rtol); } while (0)\n"
    "#endif\n"
    "static void one(double x)\n"
    "{\n"
    "    double g = NAN, h = NAN, d = NAN, v;\n"
    "    int f0 = fails;\n"
    "    /* sigmoid, sigmoid' = s (1 - s), sigmoid'' = s (1 - s) (1 - 2 s) */\n"
    "    double sr = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));\n"
    "    double sc = x >= 0 ? exp(-x) / (1 + exp(-x)) : 1 / (1 + exp(x)); /* 1 - s */\n"
    "    v = s_grad(x, &g);\n"
    "    TRUE(isfinite(v) && isfinite(g));\n"
    "    CLOSE(v, sr, 1e-14); CLOSE(s(x), sr, 1e-14);\n"
    "    ACC(g, sr * sc, 1e-13);\n"
    "    TRUE(g >= 0);\n"
    "    v = s_jvp(x, 1, &d); TRUE(isfinite(d)); ACC(d, sr * sc, 1e-13);\n"
    "    v = s_hvp(x, 1, &h); TRUE(isfinite(h)); ACC(h, sr * sc * (sc - sr), 1e-12);\n"
    "    /* softplus = max(x, 0) + log1p(exp(-|x|)), softplus' = sigmoid */\n"
    "    double pr = (x > 0 ? x : 0) + log1p(exp(-fabs(x)));\n"
    "    g = h = d = NAN;\n"
    "    v = sp_grad(x, &g);\n"
    "    TRUE(isfinite(v) && isfinite(g));\n"
    "    CLOSE(v, pr, 1e-14); CLOSE(sp(x), pr, 1e-14);\n"
    "    CLOSE(g, sr, 1e-14);\n"
    "    v = sp_jvp(x, 2, &d); TRUE(isfinite(d)); CLOSE(d, 2 * sr, 1e-14);\n"
    "    v = sp_hvp(x, 1, &h); TRUE(isfinite(h)); ACC(h, sr * sc, 1e-13);\n"
    "    if (fails != f0) printf(\"(failures above at x = %g)\\n\", x);\n"
    "    (void)v;\n"
    "}\n"
    "int main(void)\n"
    "{\n"
    "    double xs[] = {1000, -1000, 1e6, -1e6, 40, -40, 750, -750, 1e300, -1e300, 0, 3, -3};\n"
    "    double g, ga, gb;\n"
    "    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) one(xs[i]);\n"
    "    /* the values the contract names */\n"
    "    g = NAN; EQ(s_grad(-1000, &g), 0); EQ(g, 0);\n"
    "    g = NAN; EQ(s_grad(1000, &g), 1); EQ(g, 0);\n"
    "    g = NAN; EQ(sp_grad(1000, &g), 1000); EQ(g, 1);\n"
    "    g = NAN; EQ(sp_grad(-1000, &g), 0); TRUE(g >= 0 && g < 1e-300);\n"
    "    g = NAN; EQ(sp_grad(1e6, &g), 1e6); EQ(g, 1);\n"
    "    g = NAN; EQ(sp_grad(-1e6, &g), 0); TRUE(g >= 0 && g < 1e-300);\n"
    "    CLOSE(sp(-40), 4.2483542552915889e-18, 1e-14);\n"
    "    EQ(sp(0), log(2.0));\n"
    "    /* two variables, large arguments */\n"
    "    ga = gb = NAN; sp2_grad(1000, 3, &ga, &gb);\n"
    "    TRUE(isfinite(ga) && isfinite(gb)); CLOSE(ga, 3, 1e-14); CLOSE(gb, 1000, 1e-14);\n"
    "    ga = gb = NAN; CLOSE(sp2_grad(-1000, 3, &ga, &gb), 0, 0);\n"
    "    TRUE(isfinite(ga) && isfinite(gb)); TRUE(fabs(ga) < 1e-300 && fabs(gb) < 1e-300);\n"
    "    ga = gb = NAN; sp2_hvp(1000, -3, 1, 1, &ga, &gb);\n"
    "    TRUE(isfinite(ga) && isfinite(gb));\n"
    "    return finish();\n"
    "}\n";

START_TEST(test_stability)
{
    run_dxc("stab", stab_dx, NULL);
    TuBuf d = {0};
    tu_bprintf(&d, "%s%s", prelude, stab_drv);
    build_run("stab", d.s);
    free(d.s);
}
END_TEST

/* Was a bug: sigmoid' in the tails lost all relative accuracy: s (1 - s) with
 * s = sigmoid(40) rounded to 1 gives 0 instead of 4.25e-18. */
START_TEST(test_bug_sigmoid_tail)
{
    run_dxc("stab", stab_dx, NULL);
    TuBuf d = {0};
    tu_bprintf(&d, "%s%s", prelude, stab_drv);
    free(build_run_cc("gcc", "stab", d.s, NULL, "-DTAILS"));
    free(d.s);
}
END_TEST

/* ---- --real=float ---- */

static const char real_dx[] =
    "const N = 3\n"
    "fn r_poly(a, b) = a ^ N * b - a ^ -2 + pow(b, 2) + a / b\n"
    "fn r_trans(a, b) = exp(a * 0.3) * log(b) + sqrt(b) * sin(a) + cos(b) - tan(a / 4)\n"
    "fn r_inv(a, b) = asin(a / 3) + acos(b / 4) + atan(a * b) + atan2(a, b) + hypot(a, b)\n"
    "fn r_hyp(a, b) = sinh(a / 2) + cosh(b / 3) + tanh(a * b) + erf(a) + log1p(b) + expm1(a / 5)\n"
    "fn r_nn(a, b) = sigmoid(a) * softplus(b) + relu(a - b) + abs(b - 2 * a) + min(a, b) + max(a, 2 * b)\n"
    "fn r_ctl(a, b) {\n"
    "    y = a * b\n"
    "    if a > 1 and not (b < 0) { y = y * 2.5 } else if a > 0 { y = y - 1 } else { y = -y }\n"
    "    return (if y > 0 then y ^ 2.5 else y) + r_poly(b, a) + pi * 1e-2\n"
    "}\n";

static const char real_drv[] =
    "#include <stdio.h>\n"
    "#include \"REALTAG.h\"\n"
    "#define R REAL\n"
    "int main(void)\n"
    "{\n"
    "    static const double pts[][2] = {{1.25, 2.5}, {0.5, 1.5}, {-0.75, 0.8}, {1.7, 0.3}};\n"
    "    for (unsigned k = 0; k < sizeof pts / sizeof pts[0]; k++) {\n"
    "        R a = (R)pts[k][0], b = (R)pts[k][1], ga, gb, d, ha, hb, v;\n"
    "#define ONE(f) \\\n"
    "        printf(#f \" %u value %.9g\\n\", k, (double)f(a, b)); \\\n"
    "        v = f##_grad(a, b, &ga, &gb); printf(#f \" %u grad %.9g %.9g %.9g\\n\", k, (double)v, (double)ga, (double)gb); \\\n"
    "        (void)f##_jvp(a, b, (R)0.5, (R)-1, &d); printf(#f \" %u jvp %.9g\\n\", k, (double)d); \\\n"
    "        (void)f##_hvp(a, b, (R)0.5, (R)-1, &ha, &hb); printf(#f \" %u hvp %.9g %.9g\\n\", k, (double)ha, (double)hb);\n"
    "        ONE(r_poly) ONE(r_trans) ONE(r_inv) ONE(r_hyp) ONE(r_nn) ONE(r_ctl)\n"
    "    }\n"
    "    printf(\"done 0\\n\");\n"
    "    return 0;\n"
    "}\n";

/* Compare two outputs of real_drv: same words, numbers within rtol. */
static void compare_outputs(const char *fo, const char *dbl, double rtol)
{
    const char *p = fo, *q = dbl;
    int nnum = 0;
    while (*p && *q) {
        while (*p == ' ' || *p == '\n')
            p++;
        while (*q == ' ' || *q == '\n')
            q++;
        if (!*p || !*q)
            break;
        char *ep, *eq;
        double x = strtod(p, &ep), y = strtod(q, &eq);
        if (ep != p && eq != q && (*p == '-' || (*p >= '0' && *p <= '9'))) {
            double tol = rtol * fabs(y) + 1e-5;
            ck_assert_msg(fabs(x - y) <= tol, "float %.9g vs double %.9g at:\n%.80s", x, y, q);
            nnum++;
            p = ep;
            q = eq;
        } else {
            size_t lp = strcspn(p, " \n"), lq = strcspn(q, " \n");
            ck_assert_msg(lp == lq && memcmp(p, q, lp) == 0, "outputs differ: %.40s vs %.40s", p, q);
            p += lp;
            q += lq;
        }
    }
    ck_assert_msg(nnum > 100, "only %d numbers compared", nnum);
}

START_TEST(test_real_float)
{
    run_dxc("rdbl", real_dx, NULL);
    run_dxc("rflt", real_dx, "--real=float");
    /* float API */
    char *h = tu_read(tu_path("rflt.h"), NULL);
    char *c = tu_read(tu_path("rflt.c"), NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(c);
    ck_assert_msg(strstr(h, "float r_poly(float a, float b);"), "no float prototype:\n%s", h);
    ck_assert_msg(strstr(h, "float r_poly_grad(float a, float b, float *a_bar, float *b_bar);"),
                  "no float grad prototype:\n%s", h);
    ck_assert_msg(strstr(c, "float r_poly(float a, float b)"), "no float definition");
    ck_assert_msg(!strstr(h, "double") && !strstr(c, "double "), "double in the float version");
    free(h);
    free(c);

    TuBuf d = {0};
    tu_bprintf(&d, "%s", real_drv);
    char *drv = d.s;
    const char *ccs[] = {"gcc", "clang"};
    for (int i = 0; i < 2; i++) {
        /* replace REALTAG per build */
        TuBuf f = {0}, g = {0};
        const char *tag = strstr(drv, "REALTAG");
        tu_bprintf(&f, "%.*srflt%s", (int)(tag - drv), drv, tag + 7);
        tu_bprintf(&g, "%.*srdbl%s", (int)(tag - drv), drv, tag + 7);
        char *fo = build_run_cc(ccs[i], "rflt", f.s, "-Wdouble-promotion", "-DREAL=float");
        char *dbo = build_run_cc(ccs[i], "rdbl", g.s, "-Wdouble-promotion", "-DREAL=double");
        compare_outputs(fo, dbo, 1e-5);
        free(fo);
        free(dbo);
        free(f.s);
        free(g.s);
    }
    free(drv);
}
END_TEST

/* ---- source lines: one header comment per run of statements ---- */

/* dxc on PATH of the source tree; the C it writes (malloc'ed). */
static char *dxc_tree(const char *path)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "timeout 60 '%s' '%s/%s'", tu_dxc(), tu_root(), path);
    char *out = NULL, *err = NULL;
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0 && out, "dxc %s failed (status %d):\n%s", path, st, err ? err : "");
    free(err);
    return out;
}

/* How many lines of s hold what ("": every line). */
static int lines_holding(const char *s, const char *what)
{
    int n = 0;
    for (const char *l = s; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        for (size_t i = 0; i + strlen(what) <= len; i++)
            if (!strncmp(l + i, what, strlen(what))) {
                n++;
                break;
            }
        l += len + (e != NULL);
    }
    return n;
}

/*
 * Every source-line comment of code is a header, alone on its line, and
 * announces a line other than the one already announced at its level
 * (at 4 spaces per level) or inherited from the enclosing block: after
 * `{` a block starts under its header's line; a function and its
 * backward pass start under none.
 */
static void check_headers(const char *code, const char *what)
{
    int said[64] = {0};
    for (const char *l = code; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l), sp = 0;
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        l += len + (e != NULL);
        while (line[sp] == ' ')
            sp++;
        int d = (int)(sp / 4), n;
        ck_assert_int_lt(d, 63);
        char *c = strstr(line, "/* line ");
        if (c) {
            ck_assert_msg(c == line + sp && sscanf(c, "/* line %d: ", &n) == 1 &&
                              !strcmp(line + strlen(line) - 2, "*/") && !strstr(c + 2, "/*"),
                          "%s: a source-line comment that is not a header: %s", what, line);
            ck_assert_msg(said[d] != n, "%s: line %d announced again:\n%s", what, n, line);
            said[d] = n;
            continue;
        }
        if (!strcmp(line, "{") || strstr(line, "/* backward pass")) {
            said[1] = 0;
            continue;
        }
        c = strstr(line, "  /* "); /* a trailing note */
        if (c)
            *c = 0;
        if (len && line[strlen(line) - 1] == '{')
            said[d + 1] = said[d];
    }
}

/*
 * The MLP's C names each source line once per run of statements, above
 * them, not on every statement (it was 171 comments of 245 lines); the
 * forward pass of mlp_grad announces every line of mlp's body.
 */
START_TEST(test_source_line_headers)
{
    char *code = dxc_tree("examples/mlp.dx");
    check_headers(code, "examples/mlp.dx");
    int total = lines_holding(code, ""), n = lines_holding(code, "/* line ");
    ck_assert_msg(n >= 3 && n < 40, "%d of %d lines name a source line:\n%.1500s", n, total, code);
    char *g = cr_fn_text(code, "double mlp_grad(");
    char *back = strstr(g, "/* backward pass");
    ck_assert_ptr_nonnull(back);
    *back = 0;
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/mlp.dx", tu_root());
    char *src = tu_read(path, NULL);
    ck_assert_ptr_nonnull(src);
    int no = 0, in_fn = 0, checked = 0;
    for (char *l = src, *e; *l; l = e + 1) {
        e = strchr(l, '\n');
        ck_assert_ptr_nonnull(e);
        *e = 0;
        no++;
        if (!strncmp(l, "fn mlp(", 7)) {
            in_fn = 1;
            continue;
        }
        if (!strcmp(l, "}"))
            in_fn = 0;
        if (!in_fn)
            continue;
        char want[256];
        snprintf(want, sizeof want, "\n    /* line %d: %s */\n", no, l + strspn(l, " "));
        ck_assert_msg(strstr(g, want), "no header %s in the forward pass:\n%.1500s", want, g);
        checked++;
    }
    ck_assert_int_eq(checked, 3);
    free(src);
    free(g);
    free(code);
}
END_TEST

/* The comments that say more than the source line stay on their
 * statements: what each tape row holds, where it is read back, a loop
 * that runs backwards; a loop body's own lines are announced inside it. */
START_TEST(test_source_line_notes)
{
    char *code = dxc_tree("tests/models/spring.dx");
    check_headers(code, "spring.dx");
    char *g = cr_fn_text(code, "double spring_grad(");
    const char *want[] = {
        "    /* forward pass: the function, keeping what the backward pass reads */\n"
        "    /* line 14: for i in 0..10000 { */\n"
        "    double x_tape[10000];\n",
        "    for (int i = 0; i < 10000; i++) {\n"
        "        x_tape[i] = x;  /* the tape keeps x at the start of iteration i */\n"
        "        v_tape[i] = v;  /* the tape keeps v at the start of iteration i */\n"
        "        /* line 15: a = -k * x - c * v */\n",
        "    for (int i = 9999; i >= 0; i--) {  /* backwards */\n",
        " = x_tape[i];  /* x at the start of iteration i, recorded by the forward pass */\n",
        " = v_tape[i];  /* v at the start of iteration i, recorded by the forward pass */\n"
        "        /* line 17: v = v + dt * a */\n"
        "        double a_bar = v_bar * 0.001;\n"
        "        /* line 16: x = x + dt * v */\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(g, want[i]), "no\n%s\nin\n%.1500s", want[i], g);
    free(g);
    free(code);
    code = dxc_tree("tests/models/rnn.dx");
    check_headers(code, "rnn.dx");
    g = cr_fn_text(code, "double rnn_grad(");
    const char *notes[] = {
        "h_tape[i] = h0[i];  /* the tape keeps h before the loop */\n",
        " = h_2[j];  /* the tape keeps h at the end of iteration t */\n",
        " = dtanh_tape_2[j];  /* the tape keeps dtanh of iteration t */\n",
        "sum_tape[t] = s_3;  /* the tape keeps sum of iteration t */\n",
        "    for (int t = 19; t >= 0; t--) {  /* backwards */\n",
    };
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
        ck_assert_msg(strstr(g, notes[i]), "no\n%s\nin\n%.1500s", notes[i], g);
    free(g);
    ck_assert_msg(strstr(code, " = dtanh_tape[t * 4 + j];  /* dtanh of iteration t, recorded by the "
                               "forward pass */\n"),
                  "rnn_hvp reads a tape:\n%.1500s", strstr(code, "double rnn_hvp("));
    free(code);
}
END_TEST

/* The format itself, on the README's two smallest examples: a pass
 * starts with its first line's header, a new line at the top level is set
 * off by a blank line, nothing trails a statement that its header says. */
START_TEST(test_source_line_format)
{
    char *code = dxc_tree("examples/square.dx");
    char *g = cr_fn_text(code, "double square_grad(");
    ck_assert_str_eq(g, "double square_grad(double x, double *x_bar)\n"
                        "{\n"
                        "    /* forward pass: the function, keeping what the backward pass reads */\n"
                        "    /* line 2: fn square(x) = x ^ 2 */\n"
                        "    double y = x * x;\n"
                        "\n"
                        "    /* backward pass: adjoints, from the result back to the inputs */\n"
                        "    /* line 2: fn square(x) = x ^ 2 */\n"
                        "    *x_bar = 2.0 * x;\n"
                        "    return y;\n"
                        "}\n");
    free(g);
    free(code);
    code = dxc_tree("examples/graph.dx");
    g = cr_fn_text(code, "double f_grad(");
    ck_assert_str_eq(g, "double f_grad(double a, double b, double c, double *a_bar, double *b_bar, "
                        "double *c_bar)\n"
                        "{\n"
                        "    /* forward pass: the function, keeping what the backward pass reads */\n"
                        "    /* line 4: s = a + b */\n"
                        "    double s = a + b;\n"
                        "\n"
                        "    /* line 5: return s * c */\n"
                        "    double y = s * c;\n"
                        "\n"
                        "    /* backward pass: adjoints, from the result back to the inputs */\n"
                        "    /* line 5: return s * c */\n"
                        "    *a_bar = c;\n"
                        "    *b_bar = c;\n"
                        "\n"
                        "    /* line 4: s = a + b */\n"
                        "    *c_bar = s;\n"
                        "    return y;\n"
                        "}\n");
    free(g);
    free(code);
}
END_TEST

/* ---- regressions: bugs these tests found, now fixed ---- */

/* Was a bug: `b - a / b` made f_hvp contain `--(...)`, which is not C; so
 * did `1 - -a ^ 2` in g_jvp. */
START_TEST(test_bug_double_minus)
{
    run_dxc("bug1", "fn f(a, b) = b - a / b\nfn g(a) = 1 - -a ^ 2\n", NULL);
    const char *drv =
        "#include \"bug1.h\"\n"
        "int main(void)\n"
        "{\n"
        "    double ha = NAN, hb = NAN;\n"
        "    /* f = b - a/b: H = [[0, 1/b^2], [1/b^2, -2a/b^3]] */\n"
        "    EQ(f_hvp(1, 2, 1, 0, &ha, &hb), 1.5); NEAR(ha, 0); NEAR(hb, 0.25);\n"
        "    EQ(f_hvp(1, 2, 0, 1, &ha, &hb), 1.5); NEAR(ha, 0.25); NEAR(hb, -0.25);\n"
        "    double d = NAN;\n"
        "    EQ(g_jvp(3, 1, &d), 10); EQ(d, 6);\n"
        "    return finish();\n"
        "}\n";
    TuBuf d = {0};
    tu_bprintf(&d, "%s%s", prelude, drv);
    build_run("bug1", d.s);
    free(d.s);
}
END_TEST

/* BUG 1b: the same printing fault compiles when the operand is a plain
 * name, and silently computes a wrong Hessian: for `-a * -b + -a`, f_hvp
 * contains `*a_hv = --b_dot;` (a pre-decrement): a_hv = b_dot - 1. */
START_TEST(test_bug_double_minus_silent)
{
    run_dxc("bug1b", "fn f(a, b) = -a * -b + -a\n", NULL);
    const char *drv =
        "#include \"bug1b.h\"\n"
        "int main(void)\n"
        "{\n"
        "    double ha = NAN, hb = NAN;\n"
        "    /* f = ab - a: H = [[0, 1], [1, 0]] */\n"
        "    EQ(f_hvp(3, 2, 1, 0, &ha, &hb), 3); EQ(ha, 0); EQ(hb, 1);\n"
        "    EQ(f_hvp(3, 2, 0, 1, &ha, &hb), 3); EQ(ha, 1); EQ(hb, 0);\n"
        "    EQ(f_hvp(3, 2, 5, 7, &ha, &hb), 3); EQ(ha, 7); EQ(hb, 5);\n"
        "    return finish();\n"
        "}\n";
    TuBuf d = {0};
    tu_bprintf(&d, "%s%s", prelude, drv);
    build_run("bug1b", d.s);
    free(d.s);
}
END_TEST

Suite *suite_e2e(void);

Suite *suite_e2e(void)
{
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("e2e");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_seed);
    tcase_add_test(tc, test_kinks_powers_hessians);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_self_contained);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_stability);
    tcase_add_test(tc, test_real_float);
    tcase_add_test(tc, test_source_line_headers);
    tcase_add_test(tc, test_source_line_notes);
    tcase_add_test(tc, test_source_line_format);
    tcase_add_test(tc, test_bug_double_minus);
    tcase_add_test(tc, test_bug_sigmoid_tail);
    tcase_add_test(tc, test_bug_double_minus_silent);
    suite_add_tcase(s, tc);
    return s;
}
