/*
 * test_idx.c - the integer operators % and // and polynomial indices.
 *
 * errors     misuse, each at its position: % or // on a real value, a
 *            divisor 0, a negative operand in a constant expression or
 *            in an index, an index out of range (the message names the
 *            iteration), a real expression as an index, and a bound the
 *            exact check could not make exact.
 * accepted   indices in range only because the check is exact (packed
 *            triangles over triangular domains, products of index
 *            variables), and constants computed with % and //.
 * tri        examples/tri.dx compiled by $DXC with gcc and clang: the
 *            quadratic form of a packed triangular matrix and the ring
 *            stencil, their gradients against values derived by hand and
 *            against central differences, f_jvp against f_grad.
 * diff       programs through the differential tester's checks
 *            (tests/diffcheck.h): the interpreter, every entry point
 *            against central differences, the compiled C in double and
 *            float, --workspace and --tape=small.
 * ir, views  --emit=ir read back gives the same C; --at, --emit=json,
 *            dot and html, --stats.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/ir.h"
#include "cgrun.h"
#include "diffcheck.h"
#include "testutil.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

/* ---------------- errors ---------------- */

static const TuBad bad[] = {
    /* % and // on reals */
    {"fn f(x) = x % 2", 1, 11, "'%' and '//' are integer operators"},
    {"fn f(x[3]) = x[0] // 2", 1, 15, "'%' and '//' are integer operators"},
    {"const A = 2.5 // 2\nfn f(x) = x", 1, 11, "'//' is an integer operator, but this operand"},
    {"const A = 5 % pi\nfn f(x) = x", 1, 15, "'%' is an integer operator"},
    /* a divisor 0 */
    {"const A = 5 % 0\nfn f(x) = x", 1, 15, "the divisor of '%' is 0"},
    {"const Z = 0\nconst A = 5 // Z\nfn f(x) = x", 2, 16, "the divisor of '//' is 0"},
    {"fn f(x[3]) = sum(x[i % 0] for i in 0..3)", 1, 24, "the divisor of '%' is 0"},
    {"fn f(x[3]) = sum(x[2 % (i - 1)] for i in 1..3)", 1, 27,
     "the divisor of '%' can be 0: i-1 is 0 at i = 1"},
    /* negative operands */
    {"const N = 3\nconst A = (N - 5) // 2\nfn f(x) = x", 2, 14,
     "'//' needs non-negative operands, but this one is -2"},
    {"const A = 7 % (0 - 2)\nfn f(x) = x * A", 1, 18, "'%' needs non-negative operands"},
    {"fn f(x[3]) = sum(x[(i - 1) // 2] for i in 0..3)", 1, 23,
     "'//' needs non-negative operands, but i-1 is -1 at i = 0"},
    {"fn f(x[3]) = x[(1 - 2) % 2]", 1, 19, "'%' needs non-negative operands, but 1-2 is -1"},
    /* out of range, with the iteration */
    {"fn f(x[4]) = sum(x[i * i] for i in 0..3)", 1, 22,
     "index i*i of x ranges over 0..4, but dimension 0 of x has size 4"},
    {"fn f(x[4]) = sum(x[i * i] for i in 0..3)", 1, 22, "it is 4 at i = 2"},
    {"fn f(l[5], x[4]) = sum(sum(l[i * (i - 1) // 2 + j] * x[j] for j in 0..i) for i in 0..4)",
     1, 47, "index i*(i-1)//2+j of l ranges over 0..5, but dimension 0 of l has size 5 (valid "
     "0..4); it is 5 at i = 3, j = 2"},
    {"fn f(x[3]) = sum(x[(i + 1) % 4] for i in 0..3)", 1, 28, "it is 3 at i = 2"},
    {"fn f(x[3]) = x[7 // 2]", 1, 18, "index 7//2 of x is 3, but dimension 0"},
    /* an index that is a real expression */
    {"fn f(x[3], y) = x[y % 2]", 1, 19, "an index must be an integer expression"},
    {"fn f(x[3]) = sum(x[i / 2] for i in 0..3)", 1, 22, "'//' divides integers, rounding down"},
    {"fn f(x[3]) = x[0.5 // 1]", 1, 16, "0.5 is a real number"},
    /* limits */
    {"fn f(x[99]) = sum(x[i*i%2 + i*i%3 + i*i%4 + i*i%5 + i*i%6 + i*i%7 + i*i%8 + i*i%9 + "
     "i*i%10] for i in 0..3)", 1, 83, "has too many non-affine terms (the limit is 8)"},
    /* bounds stay affine */
    {"fn f(x[9]) = sum(sum(x[j] for j in 0..i % 3) for i in 0..9)", 1, 41,
     "a range bound must be an integer affine expression"},
    /* C's int would overflow in a product, though the index fits */
    {"fn f(x[3]) = sum(x[(i * i) % 3] for i in 0..50000)", 1, 23,
     "overflows the 32-bit range in some iteration"},
    /* too many points to enumerate, and the bound does not prove it */
    {"fn f(x[2]) = sum(sum(x[i * j - j * i] for j in 0..5000) for i in 0..5000)", 1, 30,
     "cannot be proved in range"},
};

START_TEST(test_bad)
{
    char *why = tu_bad_mismatch(&bad[_i], 1);
    ck_assert_msg(!why, "%s", why);
}
END_TEST

/* ---------------- accepted, and their values ---------------- */

static const struct {
    const char *src;
    double in[16];
    double out; /* f at in */
} good[] = {
    /* constants */
    {"const N = 7\nconst H = N // 2\nconst R = N % 3\nfn f(x[H]) = x[R] + H * R", {2, 5, 9}, 5 + 3},
    {"const P = 4 * (4 - 1) // 2\nfn f(x[P]) = x[P - 1]", {1, 2, 3, 4, 5, 6}, 6},
    /* triangular domains, exactly in range */
    {"fn f(l[6]) = sum(sum(l[i * (i - 1) // 2 + j] for j in 0..i) for i in 0..4)",
     {1, 2, 3, 4, 5, 6}, 21},
    {"fn f(l[10]) = sum(sum(l[i * (i + 1) // 2 + j] * (j + 1) for j in 0..i+1) for i in 0..4)",
     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1 + (1 + 2) + (1 + 2 + 3) + (1 + 2 + 3 + 4)},
    /* products, wrap-around, values */
    {"fn f(x[5]) = sum(x[i * j] for i in 0..3, j in 0..2)", {1, 10, 100, 1000, 10000}, 114},
    {"fn f(x[4]) = sum((x[(i + 1) % 4] - x[i]) ^ 2 for i in 0..4)", {1, 2, 4, 8}, 1 + 4 + 16 + 49},
    {"fn f(x[4]) = sum(x[i] * (i % 2) + (i // 2) for i in 0..4)", {1, 2, 3, 4}, 6 + 2},
    {"fn f(x[3]) = x[(2 * 5) % 7 - 1] + x[8 // 3 - 1]", {1, 2, 4}, 4 + 2},
};

START_TEST(test_good)
{
    TuLowered c;
    ck_assert_msg(tu_lower(&c, good[_i].src) == 0, "%s\n  does not compile: %s", good[_i].src,
                  c.d.last);
    const Fn *f = c.prog.units.p[c.prog.units.n - 1].primal;
    double out[1];
    double *outs[1] = {out};
    const double *ins[1] = {good[_i].in};
    ir_interp(f, ins, outs);
    ck_assert_msg(fabs(out[0] - good[_i].out) <= 1e-12, "%s: %.17g, want %.17g", good[_i].src,
                  out[0], good[_i].out);
    arena_free(c.a);
}
END_TEST

/* Too many points to enumerate (25 million), but the interval bound
 * proves (i * j) % 7 in 0..6. */
START_TEST(test_bound_accepts)
{
    TuLowered c;
    const char *src = "fn f(x[7]) = sum(sum(x[(i * j) % 7] for j in 0..5000) for i in 0..5000)";
    ck_assert_msg(tu_lower(&c, src) == 0, "%s", c.d.last);
    arena_free(c.a);
}
END_TEST

/* ---------------- examples/tri.dx, compiled ---------------- */

static const char tri_drv[] =
    "#include <math.h>\n"
    "#include <stdio.h>\n"
    "#include \"tri.h\"\n"
    "static int fails;\n"
    "static void near(const char *what, int k, double got, double want, double tol)\n"
    "{\n"
    "    if (!(fabs(got - want) <= tol * (1 + fabs(want)))) {\n"
    "        printf(\"FAIL %s[%d]: got %.17g, want %.17g\\n\", what, k, got, want);\n"
    "        fails++;\n"
    "    }\n"
    "}\n"
    "/* L[i][j] from the packed form: d on the diagonal, l below it */\n"
    "static double el(const double *d, const double *l, int i, int j)\n"
    "{\n"
    "    return i == j ? d[i] : j < i ? l[i * (i - 1) / 2 + j] : 0;\n"
    "}\n"
    "static double quad_all(const double *v) { return quad(v, v + 4, v + 8); }\n"
    "int main(void)\n"
    "{\n"
    "    double v[14], g[14], w[4], h = 1e-6;\n"
    "    for (int k = 0; k < 14; k++) v[k] = 0.3 + 0.17 * k - 0.05 * (k % 3);\n"
    "    const double *x = v, *d = v + 4, *l = v + 8;\n"
    "    for (int k = 0; k < 14; k++) g[k] = NAN;\n"
    "    double q = quad_grad(x, d, l, g, g + 4, g + 8), want = 0;\n"
    "    /* by hand: w = L' x, q = |w|^2, dq/dx = 2 L w, dq/dd_j = 2 w_j x_j,\n"
    "       dq/dL[i, j] = 2 w_j x_i */\n"
    "    for (int j = 0; j < 4; j++) {\n"
    "        w[j] = 0;\n"
    "        for (int i = 0; i < 4; i++) w[j] += el(d, l, i, j) * x[i];\n"
    "        want += w[j] * w[j];\n"
    "    }\n"
    "    near(\"q\", 0, q, want, 1e-14);\n"
    "    near(\"quad\", 0, quad(x, d, l), want, 1e-14);\n"
    "    for (int i = 0; i < 4; i++) {\n"
    "        double s = 0;\n"
    "        for (int j = 0; j < 4; j++) s += el(d, l, i, j) * w[j];\n"
    "        near(\"dx\", i, g[i], 2 * s, 1e-13);\n"
    "        near(\"dd\", i, g[4 + i], 2 * w[i] * x[i], 1e-13);\n"
    "        for (int j = 0; j < i; j++)\n"
    "            near(\"dl\", i * (i - 1) / 2 + j, g[8 + i * (i - 1) / 2 + j], 2 * w[j] * x[i], 1e-13);\n"
    "    }\n"
    "    /* central differences, and forward mode against reverse */\n"
    "    double t[14], jv = 0, gv = 0;\n"
    "    for (int k = 0; k < 14; k++) {\n"
    "        double p[14], m[14];\n"
    "        for (int e = 0; e < 14; e++) p[e] = m[e] = v[e];\n"
    "        p[k] += h; m[k] -= h;\n"
    "        near(\"fd\", k, g[k], (quad_all(p) - quad_all(m)) / (2 * h), 1e-7);\n"
    "        t[k] = 1.0 / (k + 1);\n"
    "        gv += g[k] * t[k];\n"
    "    }\n"
    "    quad_jvp(x, d, l, t, t + 4, t + 8, &jv);\n"
    "    near(\"jvp\", 0, jv, gv, 1e-13);\n"
    "    /* the Hessian in x is 2 L L': hvp along e_0 in x only */\n"
    "    double z[14] = {1}, hv[14];\n"
    "    quad_hvp(x, d, l, z, z + 4, z + 8, hv, hv + 4, hv + 8);\n"
    "    for (int i = 0; i < 4; i++) {\n"
    "        double s = 0;\n"
    "        for (int j = 0; j < 4; j++) s += el(d, l, i, j) * el(d, l, 0, j);\n"
    "        near(\"hvp\", i, hv[i], 2 * s, 1e-13);\n"
    "    }\n"
    "    /* the ring: d/dx_i = 2 (2 x_i - x_{i-1} - x_{i+1}), indices mod 5 */\n"
    "    double r[5] = {0.5, -1.25, 2, 0.75, 3}, rg[5];\n"
    "    ring_grad(r, rg);\n"
    "    for (int i = 0; i < 5; i++)\n"
    "        near(\"ring\", i, rg[i], 2 * (2 * r[i] - r[(i + 4) % 5] - r[(i + 1) % 5]), 1e-14);\n"
    "    printf(\"done %d\\n\", fails);\n"
    "    return fails != 0;\n"
    "}\n";

START_TEST(test_tri)
{
    const char *dir = tu_tmpdir();
    ck_assert_int_eq(tu_write(tu_path("tri_drv.c"), tri_drv, (size_t)-1), 0);
    char *args = tu_printf("'%s/examples/tri.dx' -o tri.c --header tri.h", tu_root());
    free(cr_dxc_ok(args));
    free(args);
    const char *ccs[] = {"gcc", "clang"};
    for (int k = 0; k < 2; k++) {
        char *cmd = tu_printf("cd '%s' && %s " STRICT " -O2 -c tri.c -o tri_%s.o && "
                              "%s " STRICT " -O2 -c tri_drv.c -o drv_%s.o && "
                              "%s -o tri_%s tri_%s.o drv_%s.o -lm && ./tri_%s",
                              dir, ccs[k], ccs[k], ccs[k], ccs[k], ccs[k], ccs[k], ccs[k], ccs[k],
                              ccs[k]);
        char *o = NULL, *e = NULL;
        int st = tu_run(cmd, &o, &e);
        ck_assert_msg(st == 0 && o && strstr(o, "done 0"), "%s: status %d\n%s%s", ccs[k], st,
                      o ? o : "", e ? e : "");
        free(o);
        free(e);
        free(cmd);
    }
    tu_cleanup();
}
END_TEST

/* ---------------- through the differential tester ---------------- */

static const char *const progs[] = {
    /* tri.dx's two functions, with data and a result array */
    "const D = 4\nconst P = D * (D - 1) // 2\n"
    "fn quad(x[D], d[D], l[P]) {\n"
    "    w = [d[j] * x[j] + sum(l[i * (i - 1) // 2 + j] * x[i] for i in j+1..D) for j in 0..D]\n"
    "    return sum(w[j] ^ 2 for j in 0..D)\n}\n"
    "fn lower(l[P], data x[D]) -> real[D] {\n"
    "    return [sum(l[i * (i - 1) // 2 + j] * x[j] for j in 0..i) for i in 0..D]\n}\n"
    "fn ring(x[5]) = sum((x[(i + 1) % 5] - x[i]) ^ 2 for i in 0..5)\n",
    /* a for loop (tapes) reading through % and //, carried arrays */
    "const N = 6\n"
    "fn f(x[N], a) {\n"
    "    h = x\n"
    "    for t in 0..4 {\n"
    "        h = [tanh(a * h[(i + t) % N] + h[i // 2] * x[(i * i) % N]) for i in 0..N]\n"
    "    }\n"
    "    return sum(h[i] * (i % 3) for i in 0..N)\n}\n",
    /* polynomial indices into matrices, nested terms, an index used in an if */
    "const K = 3\n"
    "fn f(W[K, 6], v[6]) {\n"
    "    s = sum(sum(W[k, (k * j + 1) % 6] * v[(j * (j + 1) // 2) % 6] for j in 0..4) for k in 0..K)\n"
    "    y = [if v[i % 6] > 0 then v[(i + 3) % 6] ^ 2 else sin(W[i // 2, i]) for i in 0..6]\n"
    "    return s + logsumexp(y)\n}\n",
};

START_TEST(test_diff)
{
    for (int small = 0; small < 2; small++) {
        DcOpts o = {0};
        o.compiled = 1;
        o.dxc = tu_dxc();
        o.cc = small ? "clang" : "gcc";
        o.workdir = tu_tmpdir();
        o.seed = 17 + (uint64_t)_i;
        o.workspace = !small;
        o.small_tape = small;
        DcResult r = dc_check(progs[_i], &o);
        ck_assert_msg(r.status == DC_OK, "%s: %s\n%s", r.what, r.msg, progs[_i]);
        ck_assert(r.compiled && r.checks > 0);
        tu_cleanup();
    }
}
END_TEST

/* ---------------- the IR text, the views, --stats ---------------- */

START_TEST(test_ir_roundtrip)
{
    tu_tmpdir();
    ck_assert_int_eq(tu_write(tu_path("p.dx"), progs[1], (size_t)-1), 0);
    free(cr_dxc_ok("p.dx -o a.c --emit=ir -o p.ir"));
    free(cr_dxc_ok("p.dx -o a.c"));
    free(cr_dxc_ok("p.ir -o b.c"));
    free(cr_dxc_ok("p.ir --emit=ir -o q.ir"));
    char *ir = tu_read(tu_path("p.ir"), NULL), *ir2 = tu_read(tu_path("q.ir"), NULL);
    char *a = tu_read(tu_path("a.c"), NULL), *b = tu_read(tu_path("b.c"), NULL);
    ck_assert_ptr_nonnull(strstr(ir, " mod 6}"));
    ck_assert_ptr_nonnull(strstr(ir, " div 2}"));
    ck_assert_str_eq(ir, ir2);
    /* the same C, but for the first line, which names the input */
    ck_assert_str_eq(strchr(a, '\n'), strchr(b, '\n'));
    ck_assert_ptr_nonnull(strstr(a, "h[(i + t) % 6]"));
    ck_assert_ptr_nonnull(strstr(a, "x[i * i % 6]"));
    free(ir);
    free(ir2);
    free(a);
    free(b);
    tu_cleanup();
}
END_TEST

START_TEST(test_views)
{
    tu_tmpdir();
    ck_assert_int_eq(tu_write(tu_path("p.dx"), progs[0], (size_t)-1), 0);
    const char *at = "--at x=[1,2,3,4] --at d=[1,1,1,1] --at l=[1,2,3,4,5,6]";
    char *args = tu_printf("p.dx --only=quad %s", at);
    free(cr_dxc_ok(args));
    free(args);
    for (int k = 0; k < 3; k++) {
        static const char *const emit[] = {"json", "dot", "html"};
        args = tu_printf("p.dx --only=quad %s --emit=%s -o v.%s", at, emit[k], emit[k]);
        free(cr_dxc_ok(args));
        free(args);
        char name[16];
        snprintf(name, sizeof name, "v.%s", emit[k]);
        char *v = tu_read(tu_path(name), NULL);
        ck_assert_msg(v && strstr(v, "i*(i - 1)//2"), "--emit=%s", emit[k]);
        free(v);
    }
    char *err = NULL;
    ck_assert_int_eq(cr_dxc("p.dx --only=ring --emit=dot -o r.dot", NULL, NULL), 0);
    ck_assert_int_eq(cr_dxc("p.dx --stats --tape=small --workspace --real=float -o f.c", NULL, &err),
                     0);
    ck_assert_ptr_nonnull(strstr(err, "quad_grad: tape"));
    free(err);
    tu_cleanup();
}
END_TEST

Suite *suite_idx(void);
Suite *suite_idx(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("idx");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_loop_test(tc, test_good, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_test(tc, test_bound_accepts);
    tcase_add_test(tc, test_tri);
    tcase_add_loop_test(tc, test_diff, 0, (int)(sizeof progs / sizeof progs[0]));
    tcase_add_test(tc, test_ir_roundtrip);
    tcase_add_test(tc, test_views);
    suite_add_tcase(s, tc);
    return s;
}
