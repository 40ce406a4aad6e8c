/*
 * test_nonan.c - "derivatives never invent a NaN" (docs/language.md):
 * every entry point (f_jvp, f_grad, f_hvp) at the points where a partial
 * derivative is infinite but the function is finite: pow(0, y), x / y at
 * tiny and huge y, guarded normalisations (max, min, if-then-else, an if
 * statement, norm) at the origin, relu, abs and sqrt at their kinks, a max
 * reduction with ties.
 *
 * Every expected value is derived by hand (in the comments of the driver);
 * where the true derivative is infinite the test asks for that infinity,
 * and a NaN is accepted only where the hand value is itself infinite of
 * both signs at once (said at the check).  The same driver runs on double
 * and on --real=float (TINY and HUGE scaled to float's range), built by
 * gcc and by clang under the strict flags.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrun.h"
#include "testutil.h"

static const char nonan_dx[] =
    "fn p(x, y) = x ^ y\n"
    "fn q(x, y) = x / y\n"
    "fn nmax(v[3]) = sum(v / max(sqrt(sum(v * v)), 1e-12))\n"
    "fn nnorm(v[3]) = sum(v / max(norm(v), 1e-12))\n"
    "fn nmin(v[3]) = sum(v * min(1 / sqrt(sum(v * v)), 1e12))\n"
    "fn nif(v[3]) = sum(v) / (if sum(v * v) > 0 then sqrt(sum(v * v)) else 1)\n"
    "fn nstmt(x) {\n"
    "    if x > 0 {\n"
    "        y = log(x)\n"
    "    } else {\n"
    "        y = x\n"
    "    }\n"
    "    return y\n"
    "}\n"
    "fn rs(x) = relu(sqrt(x)) + x\n"
    "fn sr(x) = sqrt(relu(x)) + x\n"
    "fn as(x) = abs(sqrt(x)) + x\n"
    "fn mn(x, y) = min(x, sqrt(y))\n"
    "fn mx(v[3]) = max(v) + sqrt(max(v))\n";

/* The driver: R is the real type, TINY and HUGE scaled to it. */
static const char nonan_drv[] =
    "#include <math.h>\n"
    "#include <stdio.h>\n"
    "#include \"nonan.h\"\n"
    "static int fails;\n"
    "/* want: a number (rtol relative), inf, -inf; NAN in want means 'not NaN' */\n"
    "static void expect(const char *what, int line, double got, double want)\n"
    "{\n"
    "    int ok = isnan(want) ? !isnan(got) : isinf(want) ? got == want\n"
    "             : fabs(got - want) <= RTOL * fabs(want) + 1e-300;\n"
    "    if (!ok) {\n"
    "        printf(\"FAIL line %d: %s: got %.9g, want %.9g\\n\", line, what, got, want);\n"
    "        fails++;\n"
    "    }\n"
    "}\n"
    "#define EQ(got, want) expect(#got, __LINE__, (got), (want))\n"
    "#define NOTNAN(got) expect(#got, __LINE__, (got), NAN)\n"
    "int main(void)\n"
    "{\n"
    "    R g[3], h[3], d, z[3] = {0, 0, 0};\n"
    "    const R e0[3] = {1, 0, 0}, e2[3] = {0, 0, 1}, one[3] = {1, 1, 1};\n"
    "    const double inf = INFINITY;\n"
    "    /* x^y at x = 0: d/dx = y x^(y-1), d/dy = log(x) x^y = 0 for y > 0.\n"
    "     * (0, 1): H = [[0, -inf], [-inf, 0]] (d/dy of y x^(y-1) = 1 + log x) */\n"
    "    p_grad(0, 1, &g[0], &g[1]); EQ(g[0], 1); EQ(g[1], 0);\n"
    "    p_jvp(0, 1, 1, 0, &d); EQ(d, 1);\n"
    "    p_jvp(0, 1, 0, 1, &d); EQ(d, 0);\n"
    "    p_hvp(0, 1, 1, 0, &h[0], &h[1]); EQ(h[0], 0); EQ(h[1], -inf);\n"
    "    p_hvp(0, 1, 0, 1, &h[0], &h[1]); EQ(h[0], -inf); EQ(h[1], 0);\n"
    "    /* (0, 2): gradient 0, H = [[2, 0], [0, 0]] (x (1 + 2 log x) -> 0) */\n"
    "    p_grad(0, 2, &g[0], &g[1]); EQ(g[0], 0); EQ(g[1], 0);\n"
    "    p_jvp(0, 2, 1, 1, &d); EQ(d, 0);\n"
    "    p_hvp(0, 2, 1, 0, &h[0], &h[1]); EQ(h[0], 2); EQ(h[1], 0);\n"
    "    p_hvp(0, 2, 0, 1, &h[0], &h[1]); EQ(h[0], 0); EQ(h[1], 0);\n"
    "    /* (0, 0.5): sqrt: d/dx = inf (IEEE), d/dy = 0; d2/dx2 = -inf,\n"
    "     * d2/dydx = x^-0.5 (1 + 0.5 log x) -> -inf, d2/dy2 = log^2 x sqrt x -> 0;\n"
    "     * d2/dxdy along y meets inf - inf: any value but the others exact */\n"
    "    p_grad(0, 0.5, &g[0], &g[1]); EQ(g[0], inf); EQ(g[1], 0);\n"
    "    p_jvp(0, 0.5, 1, 0, &d); EQ(d, inf);\n"
    "    p_jvp(0, 0.5, 0, 1, &d); EQ(d, 0);\n"
    "    p_hvp(0, 0.5, 1, 0, &h[0], &h[1]); EQ(h[0], -inf); EQ(h[1], -inf);\n"
    "    p_hvp(0, 0.5, 0, 1, &h[0], &h[1]); EQ(h[1], 0);\n"
    "    /* x / y: d/dx = 1/y, d/dy = -x/y^2, d2/dxdy = -1/y^2, d2/dy2 = 2x/y^3 */\n"
    "    q_jvp(1, TINY, 1, 0, &d); EQ(d, 1 / TINY);\n"
    "    q_jvp(1, TINY, 0, 1, &d); EQ(d, -inf);\n"
    "    q_grad(1, TINY, &g[0], &g[1]); EQ(g[0], 1 / TINY); EQ(g[1], -inf);\n"
    "    q_hvp(1, TINY, 1, 0, &h[0], &h[1]); EQ(h[0], 0); EQ(h[1], -inf);\n"
    "    q_hvp(1, TINY, 0, 1, &h[0], &h[1]); EQ(h[0], -inf); EQ(h[1], inf);\n"
    "    q_jvp(1, HUGE, 1, 0, &d); EQ(d, 1 / HUGE);\n"
    "    q_jvp(1, HUGE, 0, 1, &d); EQ(d, -1 / HUGE / HUGE);\n"
    "    q_jvp(SMALL, TINY, 0, 1, &d); EQ(d, -(double)SMALL / TINY / TINY);\n"
    "    q_grad(SMALL, TINY, &g[0], &g[1]); EQ(g[1], -(double)SMALL / TINY / TINY);\n"
    "";

/* The driver's second half (C99 promises string literals of 4095 bytes). */
static const char nonan_drv2[] =
    "    /* guarded normalisations at the origin: sum(v) / 1e-12 near it, so\n"
    "     * the gradient is 1e12 each and the Hessian 0 */\n"
    "    nmax_grad(z, g); EQ(g[0], 1e12); EQ(g[1], 1e12); EQ(g[2], 1e12);\n"
    "    nmax_jvp(z, e0, &d); EQ(d, 1e12);\n"
    "    nmax_hvp(z, e0, h); EQ(h[0], 0); EQ(h[1], 0); EQ(h[2], 0);\n"
    "    nnorm_grad(z, g); EQ(g[0], 1e12); EQ(g[2], 1e12);\n"
    "    nnorm_jvp(z, one, &d); EQ(d, 3e12);\n"
    "    nnorm_hvp(z, e0, h); EQ(h[0], 0); EQ(h[1], 0);\n"
    "    nmin_grad(z, g); EQ(g[0], 1e12); EQ(g[1], 1e12);\n"
    "    nmin_jvp(z, e2, &d); EQ(d, 1e12);\n"
    "    nmin_hvp(z, one, h); EQ(h[0], 0); EQ(h[2], 0);\n"
    "    /* the else branch at the origin: sum(v) / 1 */\n"
    "    nif_grad(z, g); EQ(g[0], 1); EQ(g[2], 1);\n"
    "    nif_jvp(z, one, &d); EQ(d, 3);\n"
    "    nif_hvp(z, e0, h); EQ(h[0], 0); EQ(h[1], 0);\n"
    "    /* away from the origin, v = (3, 4, 0): 1/5 - 7 v_i / 125 */\n"
    "    { const R v[3] = {3, 4, 0};\n"
    "      nmax_grad(v, g); EQ(g[0], 0.032); EQ(g[1], -0.024); EQ(g[2], 0.2);\n"
    "      nif_grad(v, g); EQ(g[0], 0.032); EQ(g[1], -0.024); EQ(g[2], 0.2); }\n"
    "    /* an if statement: log not taken at 0 */\n"
    "    nstmt_grad(0, &g[0]); EQ(g[0], 1);\n"
    "    nstmt_jvp(0, 1, &d); EQ(d, 1);\n"
    "    nstmt_hvp(0, 1, &h[0]); EQ(h[0], 0);\n"
    "    /* relu'(0) = abs'(0) = 0 whatever multiplies them: d = 0 + 1 */\n"
    "    rs_grad(0, &g[0]); EQ(g[0], 1);\n"
    "    rs_jvp(0, 1, &d); EQ(d, 1);\n"
    "    rs_hvp(0, 1, &h[0]); EQ(h[0], 0);\n"
    "    rs_grad(4, &g[0]); EQ(g[0], 1.25);\n"
    "    rs_hvp(4, 1, &h[0]); EQ(h[0], -1.0 / 32);\n"
    "    as_grad(0, &g[0]); EQ(g[0], 1);\n"
    "    as_jvp(0, 1, &d); EQ(d, 1);\n"
    "    as_hvp(0, 1, &h[0]); EQ(h[0], 0);\n"
    "    /* sqrt(relu(x)): relu = 0 at x <= 0, sqrt'(0) infinite, relu' 0 */\n"
    "    sr_grad(-1, &g[0]); EQ(g[0], 1);\n"
    "    sr_jvp(-1, 1, &d); EQ(d, 1);\n"
    "    sr_hvp(-1, 1, &h[0]); EQ(h[0], 0);\n"
    "    sr_grad(0, &g[0]); EQ(g[0], 1);\n"
    "    /* min(x, sqrt(y)) at (-1, 0) selects x */\n"
    "    mn_grad(-1, 0, &g[0], &g[1]); EQ(g[0], 1); EQ(g[1], 0);\n"
    "    mn_jvp(-1, 0, 0, 1, &d); EQ(d, 0);\n"
    "    mn_hvp(-1, 0, 1, 1, &h[0], &h[1]); EQ(h[0], 0); EQ(h[1], 0);\n"
    "    /* max(v) + sqrt(max(v)) at (0, 0, -1): a tie, sqrt'(0) infinite:\n"
    "     * the tied ones get inf (IEEE), the other exactly 0 */\n"
    "    { const R v[3] = {0, 0, -1};\n"
    "      mx_grad(v, g); EQ(g[0], inf); EQ(g[1], inf); EQ(g[2], 0);\n"
    "      mx_jvp(v, e2, &d); EQ(d, 0);\n"
    "      mx_jvp(v, e0, &d); EQ(d, inf);\n"
    "      mx_hvp(v, e2, h); EQ(h[2], 0); }\n"
    "    /* ties without the sqrt: (1, 2, 2) -> (0, 0.5, 0.5) + 1/(2 sqrt 2) that */\n"
    "    { const R v[3] = {1, 2, 2}; double s = 0.5 + 0.25 / sqrt(2.0);\n"
    "      mx_grad(v, g); EQ(g[0], 0); EQ(g[1], s); EQ(g[2], s);\n"
    "      mx_jvp(v, one, &d); EQ(d, 2 * s); }\n"
    "    printf(\"done %d\\n\", fails);\n"
    "    return fails != 0;\n"
    "}\n";

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* dxc on nonan.dx with opts, then the driver built by cc with the real
 * type's definitions; the driver must report no failure. */
static void run(const char *opts, const char *cc, const char *defs)
{
    ck_assert_int_eq(tu_write(tu_path("nonan.dx"), nonan_dx, (size_t)-1), 0);
    char *drv = tu_printf("%s%s", nonan_drv, nonan_drv2);
    ck_assert_int_eq(tu_write(tu_path("drv.c"), drv, (size_t)-1), 0);
    free(drv);
    char *args = tu_printf("nonan.dx -o nonan.c --header nonan.h %s", opts);
    free(cr_dxc_ok(args));
    free(args);
    char *cmd = tu_printf("cd '%s' && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -c nonan.c -o nonan.o && "
                          "%s -std=c99 -O2 %s -c drv.c -o drv.o && %s -o drv nonan.o drv.o -lm && ./drv",
                          tu_tmpdir(), cc, cc, defs, cc);
    char *out = NULL, *err = NULL;
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0 && out && strstr(out, "done 0\n"), "%s %s (status %d):\n%s%s", cc, opts, st,
                  out ? out : "", err ? err : "");
    free(cmd);
    free(out);
    free(err);
}

/* double and float (TINY and HUGE scaled to float's range), each built
 * by gcc and by clang. */
static const struct {
    const char *opts, *cc, *defs;
} builds[] = {
    {"", "gcc", "-DR=double -DTINY=1e-160 -DSMALL=1e-300 -DHUGE=1e150 -DRTOL=1e-13"},
    {"", "clang", "-DR=double -DTINY=1e-160 -DSMALL=1e-300 -DHUGE=1e150 -DRTOL=1e-13"},
    {"--real=float", "gcc", "-DR=float -DTINY=1e-20f -DSMALL=1e-36f -DHUGE=1e18f -DRTOL=1e-5"},
    {"--real=float", "clang", "-DR=float -DTINY=1e-20f -DSMALL=1e-36f -DHUGE=1e18f -DRTOL=1e-5"},
};

START_TEST(test_builds)
{
    run(builds[_i].opts, builds[_i].cc, builds[_i].defs);
}
END_TEST

Suite *suite_nonan(void);
Suite *suite_nonan(void)
{
    Suite *s = suite_create("nonan");
    TCase *tc = tcase_create("nonan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_builds, 0, (int)(sizeof builds / sizeof builds[0]));
    suite_add_tcase(s, tc);
    return s;
}
