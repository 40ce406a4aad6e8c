/*
 * test_while.c - while loops with a data-dependent trip count, break and
 * continue.
 *
 * Programs that stop at various iterations are lowered in process and
 * differentiated; the interpreter's primal must equal a C reference
 * written by hand, and its f_grad, f_jvp and f_hvp must match central
 * differences (of the primal, and of f_grad for f_hvp) at points where
 * the trip count does not change under the step.  The generated C
 * (double, and float in a workspace) must agree with the interpreter
 * (cr_check).  The two examples are checked against their analytic
 * derivatives; every misuse gives its error at its place; and dxc's
 * options and views (--stats, --tape=small, --at, --emit=json, dot) run
 * on a while loop.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
#include "cgrun.h"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* ---------------- programs against C references ---------------- */

static const char progs_dx[] =
    "fn newton(a) {\n"
    "    x = a\n"
    "    while abs(x * x - a) > 1e-12 * a max 50 {\n"
    "        x = x - (x * x - a) / (2 * x)\n"
    "    }\n"
    "    return x\n"
    "}\n"
    "\n"
    "# for with break: stops once s passes 2\n"
    "fn brk(a, b) {\n"
    "    s = b\n"
    "    for i in 0..10 {\n"
    "        s = s + a * s * 0.5 + 0.1\n"
    "        if s > 2 {\n"
    "            break\n"
    "        }\n"
    "        s = s * 1.1\n"
    "    }\n"
    "    return s\n"
    "}\n"
    "\n"
    "# for with continue: skips odd steps' second update\n"
    "fn cont(a, b) {\n"
    "    s = b\n"
    "    for i in 0..6 {\n"
    "        s = s + a * 0.3\n"
    "        if i == 1 or i == 3 {\n"
    "            continue\n"
    "        }\n"
    "        t = s * b\n"
    "        s = sin(t) + s\n"
    "    }\n"
    "    return s\n"
    "}\n"
    "\n"
    "# while with both, nested ifs, a local defined after the jump\n"
    "fn both(a, b) {\n"
    "    x = a\n"
    "    n = 0\n"
    "    while x < 5 max 20 {\n"
    "        n = n + 1\n"
    "        x = x + b * 0.7\n"
    "        if x > 1 {\n"
    "            if n > 3 {\n"
    "                if x * b > 4 {\n"
    "                    break\n"
    "                }\n"
    "            } else {\n"
    "                x = x * 1.2\n"
    "                continue\n"
    "            }\n"
    "        }\n"
    "        y = x * a\n"
    "        x = x + 0.1 * y\n"
    "    }\n"
    "    return x * n\n"
    "}\n"
    "\n"
    "# break in an inner loop leaves only that loop\n"
    "fn nest(a, b) {\n"
    "    s = 0\n"
    "    for i in 0..4 {\n"
    "        x = b\n"
    "        while x < a max 10 {\n"
    "            x = x * 1.5 + 0.1\n"
    "            if x > 3 {\n"
    "                break\n"
    "            }\n"
    "        }\n"
    "        s = s + x * (i + 1)\n"
    "        b = b + 0.05\n"
    "    }\n"
    "    return s\n"
    "}\n"
    "\n"
    "# a while that never runs, and one that always reaches its bound\n"
    "fn bounds(a, b) {\n"
    "    x = a\n"
    "    while x > 100 max 0 {\n"
    "        x = x * 2\n"
    "    }\n"
    "    while x > -1000 max 7 {\n"
    "        x = x * b + a\n"
    "    }\n"
    "    return x\n"
    "}\n"
    "\n"
    "# Newton's method in each step of a for loop (an implicit step): the\n"
    "# while loop has no break, so backwards its flag reads as 1\n"
    "fn inner(a, b) {\n"
    "    y = b\n"
    "    for s in 0..4 {\n"
    "        z = y\n"
    "        g = z * z - a - y\n"
    "        while abs(g) > 1e-12 max 30 {\n"
    "            z = z - g / (2 * z)\n"
    "            g = z * z - a - y\n"
    "        }\n"
    "        y = z * 0.5\n"
    "    }\n"
    "    return y\n"
    "}\n";

static double ref_newton(const double *p)
{
    double a = p[0], x = a;
    for (int k = 0; k < 50 && fabs(x * x - a) > 1e-12 * a; k++)
        x = x - (x * x - a) / (2 * x);
    return x;
}

static double ref_brk(const double *p)
{
    double a = p[0], s = p[1];
    for (int i = 0; i < 10; i++) {
        s = s + a * s * 0.5 + 0.1;
        if (s > 2)
            break;
        s = s * 1.1;
    }
    return s;
}

static double ref_cont(const double *p)
{
    double a = p[0], b = p[1], s = b;
    for (int i = 0; i < 6; i++) {
        s = s + a * 0.3;
        if (i == 1 || i == 3)
            continue;
        s = sin(s * b) + s;
    }
    return s;
}

static double ref_both(const double *p)
{
    double a = p[0], b = p[1], x = a, n = 0;
    for (int k = 0; k < 20 && x < 5; k++) {
        n = n + 1;
        x = x + b * 0.7;
        if (x > 1) {
            if (n > 3) {
                if (x * b > 4)
                    break;
            } else {
                x = x * 1.2;
                continue;
            }
        }
        x = x + 0.1 * (x * a);
    }
    return x * n;
}

static double ref_nest(const double *p)
{
    double a = p[0], b = p[1], s = 0;
    for (int i = 0; i < 4; i++) {
        double x = b;
        for (int k = 0; k < 10 && x < a; k++) {
            x = x * 1.5 + 0.1;
            if (x > 3)
                break;
        }
        s = s + x * (i + 1);
        b = b + 0.05;
    }
    return s;
}

static double ref_bounds(const double *p)
{
    double a = p[0], b = p[1], x = a;
    for (int k = 0; k < 7 && x > -1000; k++)
        x = x * b + a;
    return x;
}

static double ref_inner(const double *p)
{
    double a = p[0], y = p[1];
    for (int s = 0; s < 4; s++) {
        double z = y, g = z * z - a - y;
        for (int k = 0; k < 30 && fabs(g) > 1e-12; k++) {
            z = z - g / (2 * z);
            g = z * z - a - y;
        }
        y = z * 0.5;
    }
    return y;
}

typedef double (*RefFn)(const double *);
static const struct {
    const char *name;
    RefFn ref;
    double pts[3][2]; /* points where the trip count is stable under the step */
} fns[] = {
    {"newton", ref_newton, {{2, 0}, {0.37, 0}, {7e3, 0}}},
    {"brk", ref_brk, {{0.3, 0.4}, {0.9, 0.2}, {0.05, 0.1}}},
    {"cont", ref_cont, {{0.3, 0.4}, {-0.7, 1.1}, {0.2, -0.5}}},
    {"both", ref_both, {{0.3, 0.9}, {1.3, 0.6}, {-0.4, 1.7}}},
    {"nest", ref_nest, {{2.5, 0.3}, {5, 0.2}, {0.1, 0.4}}},
    {"bounds", ref_bounds, {{0.5, 0.8}, {2, -1.3}, {-0.3, 1.9}}},
    {"inner", ref_inner, {{2, 0.5}, {0.3, 1.2}, {5, 2}}},
};

/* f's value (interpreter) at x, its n parameters scalars. */
static double primal_at(const Unit *u, const double *x, int n)
{
    const double *in[2] = {&x[0], &x[1]};
    double y, *out[1] = {&y};
    (void)n;
    ck_assert_int_eq(ir_interp(u->primal, in, out), 0);
    return y;
}

/* grad, jvp along e_k, hvp along v, against central differences. */
static void check_derivatives(const Unit *u, const char *name, const double *x, int n)
{
    double y, g[2], hv[2], v[2] = {0.6, -0.8}, yd;
    const double *in[4] = {&x[0], &x[1]};
    double *gout[3] = {&y, &g[0], &g[1]};
    ck_assert_int_eq(ir_interp(u->grad, in, gout), 0);
    for (int k = 0; k < n; k++) {
        double h = 1e-6 * (1 + fabs(x[k])), xp[2] = {x[0], x[1]}, xm[2] = {x[0], x[1]};
        xp[k] += h, xm[k] -= h;
        double fd = (primal_at(u, xp, n) - primal_at(u, xm, n)) / (2 * h);
        ck_assert_msg(fabs(g[k] - fd) <= 1e-6 * (1 + fabs(fd)), "%s(%g, %g): grad[%d] %.12g, FD %.12g",
                      name, x[0], x[1], k, g[k], fd);
        double e[2] = {k == 0, k == 1};
        in[n] = &e[0], in[n + 1] = &e[1];
        double *jout[2] = {&y, &yd};
        ck_assert_int_eq(ir_interp(u->jvp, in, jout), 0);
        ck_assert_msg(fabs(yd - g[k]) <= 1e-10 * (1 + fabs(g[k])), "%s: jvp %.15g, grad %.15g", name, yd,
                      g[k]);
    }
    in[n] = &v[0], in[n + 1] = &v[1];
    double *hout[3] = {&y, &hv[0], &hv[1]};
    ck_assert_int_eq(ir_interp(u->hvp, in, hout), 0);
    double h = 1e-5, xp[2], xm[2], gp[2], gm[2];
    for (int k = 0; k < 2; k++)
        xp[k] = x[k] + h * v[k], xm[k] = x[k] - h * v[k];
    const double *ip[2] = {&xp[0], &xp[1]}, *im[2] = {&xm[0], &xm[1]};
    double *op[3] = {&y, &gp[0], &gp[1]}, *om[3] = {&y, &gm[0], &gm[1]};
    ir_interp(u->grad, ip, op);
    ir_interp(u->grad, im, om);
    for (int k = 0; k < n; k++) {
        double fd = (gp[k] - gm[k]) / (2 * h);
        ck_assert_msg(fabs(hv[k] - fd) <= 1e-5 * (1 + fabs(fd)), "%s(%g, %g): hvp[%d] %.12g, FD %.12g",
                      name, x[0], x[1], k, hv[k], fd);
    }
}

START_TEST(test_programs)
{
    TuLowered L;
    ck_assert_msg(tu_lower(&L, progs_dx) == 0, "does not compile: %s", L.d.last);
    ck_assert_int_eq(L.prog.units.n, (int)(sizeof fns / sizeof fns[0]));
    for (int i = 0; i < L.prog.units.n; i++) {
        Unit *u = &L.prog.units.p[i];
        ck_assert_str_eq(u->primal->name, fns[i].name);
        ad_unit(u);
        int n = u->primal->in.n;
        for (int p = 0; p < 3; p++) {
            const double *x = fns[i].pts[p];
            double want = fns[i].ref(x), got = primal_at(u, x, n);
            ck_assert_msg(fabs(got - want) <= 1e-12 * (1 + fabs(want)), "%s(%g, %g) = %.17g, by hand %.17g",
                          fns[i].name, x[0], x[1], got, want);
            check_derivatives(u, fns[i].name, x, n);
        }
    }
    char *code = cr_check(&L.prog, "while", "while.dx", 0, 0, CG_STACK_BUDGET, 1e-10);
    /* What each function's C holds (has) and does not (hasnt). */
    static const struct {
        const char *fn, *has, *hasnt, *why;
    } says[] = {
        {"double newton(", "for (int iter = 0; iter < 50; iter++) {\n        if (running == 0.0) break;", NULL,
         "f leaves the loop once it stopped"},
        /* past that test the flag is not 0: the loop's condition is
         * written alone, and a for loop's body (run while no break has
         * cleared the flag) without a test */
        {"double newton(", "if (DX_FABS(t1) > 1e-12 * a) {", "(running != 0.0", "the condition alone"},
        {"double newton_jvp(", "if (DX_FABS(t2) > 1e-12 * a) {", "(running != 0.0", "the condition alone"},
        {"double newton_grad(", "if (DX_FABS(t1) > 1e-12 * a) {", "(running != 0.0", "the condition alone"},
        {"double both(", "if (x < 5.0) {", "(running != 0.0", "the condition alone"},
        {"double both_grad(", "if (x < 5.0) {", "(running != 0.0", "the condition alone"},
        {"double brk(", "\n        double s_2 = s + a * s * 0.5 + 0.1;", "(running != 0.0", "the body without a test"},
        {"double newton_jvp(", "if (running == 0.0) break;", "running_dot",
         "the flag has no tangent; f_jvp leaves the loop early"},
        {"double newton_grad(", "double x_tape[50];", "running_bar", "the flag has no adjoint, tapes have N rows"},
        {"double newton_grad(", "ran = iter;", NULL, "the forward loop counts the iterations it ran"},
        {"double newton_grad(", "for (int iter = ran - 1; iter >= 0; iter--) {", NULL,
         "the backward loop starts where the forward one stopped"},
        {"double newton_hvp(", "for (int iter = ran - 1; iter >= 0; iter--) {", NULL,
         "the backward loop starts where the forward one stopped"},
        /* a while loop without break reads its flag as 1 backwards: no
         * tape of it (ir_while_flag); one with a break keeps it */
        {"double newton_grad(", NULL, "running_tape[", "no tape of the flag"},
        {"double newton_hvp(", NULL, "running_tape[", "no tape of the flag"},
        {"double inner_grad(", NULL, "running_tape[", "no tape of the flag"},
        {"double inner_hvp(", NULL, "running_tape[", "no tape of the flag"},
        {"double both_grad(", "running_tape[", NULL, "a tape of the flag"},
        {"double nest_grad(", "running_tape[", NULL, "a tape of the flag"},
        {"double brk_grad(", "running_tape[", NULL, "a tape of the flag"},
        /* the while loop in a for loop: recomputed, then reversed from
         * where it stopped, in each backward step of the for loop; the
         * forward pass, which records nothing of it, leaves it early too */
        {"double inner_grad(", "        for (int iter = ran - 1; iter >= 0; iter--) {", NULL,
         "reversed from where it stopped"},
        {"double inner_grad(", "            if (running == 0.0) break;", NULL, "left early"},
    };
    for (size_t i = 0; i < sizeof says / sizeof says[0]; i++) {
        char *s = cr_fn_text(code, says[i].fn);
        ck_assert_msg((!says[i].has || strstr(s, says[i].has)) && (!says[i].hasnt || !strstr(s, says[i].hasnt)),
                      "%s: %s:\n%.3000s", says[i].fn, says[i].why, s);
        free(s);
    }
    free(code);
    free(cr_check(&L.prog, "while_fws", "while.dx", 1, 1, CG_STACK_BUDGET, 1e-3));
    arena_free(L.a);
}
END_TEST

/* ---------------- the examples, against calculus ---------------- */

static Unit *lower_example(TuLowered *L, const char *file)
{
    static char *text; /* the Source keeps pointing at it */
    char *path = tu_printf("%s/examples/%s", tu_root(), file);
    free(text);
    text = tu_read(path, NULL);
    free(path);
    ck_assert_msg(text != NULL, "no examples/%s", file);
    ck_assert_msg(tu_lower(L, text) == 0, "%s does not compile: %s", file, L->d.last);
    Unit *u = &L->prog.units.p[0];
    ad_unit(u);
    return u;
}

START_TEST(test_newton_sqrt)
{
    TuLowered L;
    Unit *u = lower_example(&L, "newton_sqrt.dx");
    static const double as[] = {2, 0.37, 9, 1e4, 1e-3};
    for (int i = 0; i < 5; i++) {
        double a = as[i], y, g, yd, hv, one = 1;
        const double *in[2] = {&a, &one};
        double *go[2] = {&y, &g}, *jo[2] = {&y, &yd}, *ho[2] = {&y, &hv};
        ir_interp(u->grad, in, go);
        ck_assert_msg(fabs(y - sqrt(a)) <= 1e-12 * sqrt(a), "sqrt(%g): %.17g", a, y);
        ir_interp(u->jvp, in, jo);
        ir_interp(u->hvp, in, ho);
        double d1 = 0.5 / sqrt(a), d2 = -0.25 / pow(a, 1.5);
        ck_assert_msg(fabs(g - d1) <= 1e-12 * d1 && fabs(yd - d1) <= 1e-12 * d1,
                      "a = %g: grad %.17g, jvp %.17g, 1/(2 sqrt a) %.17g", a, g, yd, d1);
        ck_assert_msg(fabs(hv - d2) <= 1e-10 * fabs(d2), "a = %g: hvp %.17g, -1/(4 a^1.5) %.17g", a, hv, d2);
    }
    free(cr_check(&L.prog, "newton_sqrt", "newton_sqrt.dx", 0, 0, CG_STACK_BUDGET, 1e-12));
    arena_free(L.a);
}
END_TEST

START_TEST(test_implicit_euler)
{
    TuLowered L;
    Unit *u = lower_example(&L, "implicit_euler.dx");
    static const double pts[][2] = {{1.5, 2}, {0.2, 0.5}, {-3, 1}, {4, 0.1}};
    const double h = 0.1;
    for (int i = 0; i < 4; i++) {
        double y0 = pts[i][0], k = pts[i][1], y1, g[2];
        const double *in[2] = {&y0, &k};
        double *out[3] = {&y1, &g[0], &g[1]};
        ir_interp(u->grad, in, out);
        ck_assert_msg(fabs(y1 - y0 + h * k * y1 * y1 * y1) <= 1e-13 * (1 + fabs(y0)), "residual at %g", y0);
        /* the implicit function theorem on y1 - y0 + h k y1^3 = 0 */
        double den = 1 + 3 * h * k * y1 * y1, dy0 = 1 / den, dk = -h * y1 * y1 * y1 / den;
        ck_assert_msg(fabs(g[0] - dy0) <= 1e-10 * fabs(dy0) && fabs(g[1] - dk) <= 1e-10 * fabs(dk),
                      "(%g, %g): grad (%.17g, %.17g), theorem (%.17g, %.17g)", y0, k, g[0], g[1], dy0, dk);
    }
    free(cr_check(&L.prog, "implicit_euler", "implicit_euler.dx", 0, 0, CG_STACK_BUDGET, 1e-12));
    arena_free(L.a);
}
END_TEST

/* ---------------- misuse ---------------- */

static const TuBad bad[] = {
    {"fn f(x) {\n break\n return x\n}", 2, 2, "'break' is outside a loop"},
    {"fn f(x) {\n if x > 0 {\n continue\n }\n return x\n}", 3, 2, "'continue' is outside a loop"},
    {"fn f(x) {\n while x > 0 {\n x = x - 1\n }\n return x\n}", 2, 14, "needs a bound"},
    {"fn f(x) {\n while x > 0 upto 5 {\n x = x - 1\n }\n return x\n}", 2, 14, "expected 'max'"},
    {"fn f(x) {\n while x > 0 max 2.5 {\n x = x - 1\n }\n return x\n}", 2, 18, "integer constant"},
    {"fn f(x) {\n while x > 0 max -3 {\n x = x - 1\n }\n return x\n}", 2, 18, "must not be negative"},
    {"fn f(x) {\n while x > 0 max x {\n x = x - 1\n }\n return x\n}", 2, 18, "integer constant"},
    {"fn f(x) {\n for i in 0..3 {\n while x > 0 max i {\n x = x - 1\n }\n }\n return x\n}", 3, 18,
     "index variable"},
    {"fn f(x) {\n while x max 5 {\n x = x - 1\n }\n return x\n}", 2, 10, "unexpected"},
    {"fn f(x) {\n while x > 0 max 5 {\n return x\n }\n return x\n}", 3, 2, "return"},
    {"fn f(x) {\n while x > 0 max 5 {\n if x > 1 {\n break\n }\n y = x\n }\n return y\n}", 8, 9,
     "'y' is not defined"},
    {"fn f(x) {\n for i in 0..3 {\n break\n x = x + 1\n }\n return x\n}", 4, 2, "never runs"},
    {"fn f(x) {\n for i in 0..3 {\n if x > 0 {\n continue\n } else {\n break\n }\n x = 2\n }\n return x\n}",
     8, 2, "never runs"},
    {"fn f(x) {\n for i in 0..3 {\n if x > 0 {\n break\n }\n y = 1\n }\n z = 0\n"
     " for i in 0..3 {\n if x > 1 {\n if x > 2 {\n continue\n }\n w = 2\n } else {\n w = 3\n }\n"
     " z = z + w\n }\n return z + y\n}", 20, 13, "'y' is not defined"},
    {"fn g(x) {\n break\n return x\n}\nfn f(x) {\n for i in 0..2 {\n x = g(x)\n }\n return x\n}", 2, 2,
     "outside a loop"},
};

START_TEST(test_errors)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *why = tu_bad_mismatch(&bad[i], 0);
        ck_assert_msg(!why, "case %zu: %s", i, why);
    }
}
END_TEST

/* ---------------- dxc's options and views ---------------- */

START_TEST(test_dxc_options)
{
    char *path = tu_printf("%s/examples/newton_sqrt.dx", tu_root());
    char *err = NULL, *out;
    char *args = tu_printf("--stats -o n.c %s", path);
    ck_assert_int_eq(cr_dxc(args, NULL, &err), 0);
    free(args);
    /* x for each of the 50 iterations; the flag `running` reads as 1 */
    ck_assert_msg(strstr(err, "newton_sqrt_grad: tape 400 bytes"), "tapes are sized for N:\n%s", err);
    free(err);
    static const char *const opts[] = {
        "--tape=small", "--real=float", "--workspace", "--emit=ir", "--emit=json",
        "--emit=dot", "--at a=2", "--at a=2 --emit=json", "--at a=2 --emit=dot",
        "--at a=2 --emit=html",
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        args = tu_printf("%s %s", opts[i], path);
        out = cr_dxc_ok(args);
        free(args);
        ck_assert_msg(strlen(out) > 0, "%s prints nothing", opts[i]);
        if (!strcmp(opts[i], "--at a=2"))
            ck_assert_msg(strstr(out, "newton_sqrt(a = 2) = 1.41421"), "%s", out);
        free(out);
    }
    free(path);
    /* break and continue in the views */
    ck_assert_int_eq(tu_write(tu_path("progs.dx"), progs_dx, (size_t)-1), 0);
    static const char *const views[] = {"", "--emit=json", "--emit=dot", "--emit=html"};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        args = tu_printf("progs.dx --only=both --at a=0.3 --at b=0.9 %s", views[i]);
        out = cr_dxc_ok(args);
        free(args);
        ck_assert_msg(strlen(out) > 0, "%s prints nothing", views[i]);
        if (!*views[i])
            ck_assert_msg(strstr(out, "both(a = 0.3, b = 0.9) = 31.0508"), "%s", out);
        free(out);
    }
}
END_TEST

Suite *suite_while(void);
Suite *suite_while(void)
{
    Suite *s = suite_create("while");
    TCase *tc = tcase_create("while");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_programs);
    tcase_add_test(tc, test_newton_sqrt);
    tcase_add_test(tc, test_implicit_euler);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_dxc_options);
    suite_add_tcase(s, tc);
    return s;
}
