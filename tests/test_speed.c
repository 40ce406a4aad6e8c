/*
 * test_speed.c - what makes the generated gradients fast, checked on the
 * code's text and on its values:
 *   - a sum whose adjoint is known before it runs is differentiated in
 *     one loop (ir/onepass.c): the toy sum of (exp(sin x_i) x_{i+1})^2
 *     calls sin, cos and exp once per element in f_grad, and the GMM's
 *     per-point tapes are gone; a sum whose adjoint depends on it (log of
 *     a sum) keeps two loops; the GMM's inner row sums, computed
 *     forwards, are kept for its backward loop over the components
 *     instead of computed again.  Each gradient, f_jvp and f_hvp agree with
 *     central differences, with each other and, compiled by gcc, with the
 *     interpreter (the differential tester's checks, dc_check), and the
 *     toy's gradient with its hand-derived formula;
 *   - a for loop's elementwise steps that call exp, tanh, ... are kept on
 *     the tape, not recomputed backwards, within a share of the stack
 *     budget (the LSTM's gates), and f_hvp's tangent tapes are not
 *     zeroed when the forward loop writes them in full;
 *   - sigmoid' is e / (1 + e)^2, e = exp(-|x|), the exp sigmoid computes
 *     too (accurate in both tails: checked against s(x) s(-x));
 *   - definitions take restrict pointers where they write memory and
 *     touch arrays, while the header keeps the plain prototypes: both in
 *     one translation unit compile cleanly with gcc and clang.
 * (How fast they are is measured by `make bench`, never here.)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrun.h"
#include "diffcheck.h"
#include "testutil.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Runs cmd (malloc'ed, freed here) in the temp dir; the test fails with
 * what it printed if it fails. */
static void run_ok(char *cmd)
{
    char *out = NULL, *err = NULL;
    ck_assert_msg(tu_run(cmd, &out, &err) == 0, "%s\n%s%s", cmd, out, err);
    free(cmd);
    free(out);
    free(err);
}

/* text without its comments (malloc'ed): the code alone. */
static char *code_only(const char *text)
{
    char *s = malloc(strlen(text) + 1), *o = s;
    ck_assert_ptr_nonnull(s);
    while (*text) {
        if (text[0] == '/' && text[1] == '*') {
            const char *e = strstr(text + 2, "*/");
            text = e ? e + 2 : text + strlen(text);
        } else {
            *o++ = *text++;
        }
    }
    *o = 0;
    return s;
}

/* The differential tester's checks, compiled too, on one program. */
static void checks_pass(const char *text)
{
    DcOpts o = {0};
    o.compiled = 1;
    o.dxc = tu_dxc();
    o.cc = "gcc";
    o.workdir = tu_tmpdir();
    o.seed = 15;
    DcResult r = dc_check(text, &o);
    ck_assert_msg(r.status == DC_OK, "%s: %s\n%s", r.what, r.msg, text);
    ck_assert_int_gt(r.checks, 0);
    ck_assert(r.compiled);
}

/* The C of text for function fn's entry point sig (dxc in the temp dir). */
static char *entry_text(const char *text, const char *sig)
{
    ck_assert_int_eq(tu_write(tu_path("m.dx"), text, (size_t)-1), 0);
    char *code = cr_dxc_ok("m.dx -o -");
    char *fn = cr_fn_text(code, sig);
    free(code);
    return fn;
}

static const char toy_dx[] =
    "const n = 12\n"
    "fn toy(x[n]) = sum((exp(sin(x[i])) * x[i + 1]) ^ 2 for i in 0..n-1)\n";

START_TEST(test_join_toy)
{
    char *g = entry_text(toy_dx, "double toy_grad(");
    char *gc = code_only(g);
    /* one loop over the elements besides the zeroing of x_bar */
    ck_assert_msg(count(gc, "for (int") == 2, "%s", g);
    ck_assert_msg(count(gc, "DX_SIN(") == 1 && count(gc, "DX_COS(") == 1 && count(gc, "DX_EXP(") == 1, "%s", g);
    ck_assert_msg(!strstr(g, "backward pass: adjoints"), "no backward pass of its own:\n%s", g);
    free(gc);
    ck_assert_msg(strstr(g, "/* forward and backward pass in one loop:"), "%s", g);
    ck_assert_msg(!strstr(g, "_tape"), "%s", g);
    free(g);
    char *h = entry_text(toy_dx, "double toy_hvp(");
    char *hc = code_only(h);
    ck_assert_msg(count(hc, "DX_EXP(") == 1 && count(hc, "for (int") == 2, "the Hessian product in one loop too:\n%s", h);
    free(h);
    free(hc);
    checks_pass(toy_dx);

    /* against the hand-derived gradient: with t_i = exp(sin x_i) x_{i+1},
     * d/dx_i = 2 t_i cos(x_i) t_i and d/dx_{i+1} = 2 t_i exp(sin x_i) */
    ck_assert_int_eq(tu_write(tu_path("toy.dx"), toy_dx, (size_t)-1), 0);
    free(cr_dxc_ok("toy.dx -o toy.c --header toy.h"));
    static const char main_c[] =
        "#include <math.h>\n#include <stdio.h>\n#include \"toy.h\"\n"
        "int main(void)\n{\n"
        "    double x[12], g[12], want[12] = {0};\n"
        "    for (int i = 0; i < 12; i++) x[i] = 0.3 * i - 1.4;\n"
        "    double y = toy_grad(x, g), f = 0;\n"
        "    for (int i = 0; i < 11; i++) {\n"
        "        double e = exp(sin(x[i])), t = e * x[i + 1];\n"
        "        f += t * t;\n"
        "        want[i] += 2 * t * t * cos(x[i]);\n"
        "        want[i + 1] += 2 * t * e;\n"
        "    }\n"
        "    int bad = fabs(y - f) > 1e-12 * fabs(f);\n"
        "    for (int i = 0; i < 12; i++)\n"
        "        if (fabs(g[i] - want[i]) > 1e-12 * (1 + fabs(want[i]))) {\n"
        "            printf(\"x_bar[%d] = %.17g, by hand %.17g\\n\", i, g[i], want[i]);\n"
        "            bad = 1;\n"
        "        }\n"
        "    return bad;\n}\n";
    ck_assert_int_eq(tu_write(tu_path("main.c"), main_c, (size_t)-1), 0);
    run_ok(tu_printf("cd '%s' && gcc " STRICT " main.c toy.c -lm -o toy && ./toy", tu_tmpdir()));
}
END_TEST

/* The adjoint of the sum is 1 / sum: it needs the sum first. */
static const char lse_dx[] = "fn lse(x[6]) = log(sum(exp(x[i]) for i in 0..6))\n";

START_TEST(test_join_refused)
{
    char *g = entry_text(lse_dx, "double lse_grad(");
    ck_assert_msg(!strstr(g, "in one loop"), "%s", g);
    char *gc = code_only(g);
    ck_assert_msg(count(gc, "for (int") == 2, "a forward and a backward loop:\n%s", g);
    free(gc);
    free(g);
    checks_pass(lse_dx);
}
END_TEST

/* A Gaussian mixture as ADBench writes it (log-diagonal Ld, strictly
 * lower part Lo), small: each point's scores, their max and their sum
 * are used in the same iteration that computes them. */
static const char gmm_dx[] =
    "const K = 3\n"
    "const D = 3\n"
    "const N = 4\n"
    "fn gmm(alpha[K], mu[K, D], Ld[K, D], Lo[K, D, D], data x[N, D]) {\n"
    "    total = sum(logsumexp([alpha[k] + sum(Ld[k, i] for i in 0..D)\n"
    "        - 0.5 * sum((exp(Ld[k, i]) * (x[n, i] - mu[k, i])\n"
    "                     + sum(Lo[k, i, j] * (x[n, j] - mu[k, j]) for j in 0..i)) ^ 2\n"
    "                    for i in 0..D)\n"
    "        for k in 0..K]) for n in 0..N)\n"
    "    return total - N * logsumexp(alpha)\n"
    "}\n";

START_TEST(test_join_gmm)
{
    char *g = entry_text(gmm_dx, "double gmm_grad(");
    ck_assert_msg(strstr(g, "/* forward and backward pass in one loop:"), "%s", g);
    ck_assert_msg(!strstr(g, "arr_tape") && !strstr(g, "max_tape"), "%s", g);
    /* each row sum of Lo_k (x_n - mu_k) is computed once, forwards, and
     * kept for the backward loop over the components */
    char *gc = code_only(g);
    ck_assert_msg(count(gc, "+= Lo[") == 1, "%s", g);
    ck_assert_msg(strstr(gc, "sum_tape[k * 3 + i] = "), "%s", g);
    free(gc);
    free(g);
    checks_pass(gmm_dx);
}
END_TEST

/* More sums of log-sum-exps over components of nested reductions, whose
 * inner reductions are kept (the first two) or, where the sum's adjoint
 * needs the sum, taped per point as before (the last two). */
static const char *const kept_dx[] = {
    "fn f(W[3, 4, 2], x[5, 2]) = sum(logsumexp([sum(tanh(sum(W[k, i, j] * x[n, j] for j in 0..2)) ^ 2 "
    "for i in 0..4) for k in 0..3]) for n in 0..5)\n",
    "fn f(W[3, 4, 4], x[2, 4]) = sum(log(sum([exp(-sum(sum(W[k, i, j] * x[n, j] for j in 0..i+1) ^ 2 "
    "for i in 0..4)) for k in 0..3])) for n in 0..2)\n",
    "fn f(A[2, 3, 3], m[2, 3], x[4, 3]) {\n"
    "    s = sum(logsumexp([sum(sum(A[k, i, j] * (x[n, j] - m[k, j]) for j in 0..3) ^ 2 for i in 0..3) "
    "* -0.5 for k in 0..2]) for n in 0..4)\n"
    "    return s * s\n"
    "}\n",
    "fn f(A[2, 3, 3], m[2, 3], x[4, 3]) {\n"
    "    s = 0\n"
    "    for n in 0..4 {\n"
    "        s = s + logsumexp([sum(sum(A[k, i, j] * (x[n, j] - m[k, j]) for j in 0..3) ^ 2 for i in "
    "0..3) * -0.5 for k in 0..2])\n"
    "    }\n"
    "    return s\n"
    "}\n",
};

START_TEST(test_kept_programs)
{
    char *g = entry_text(kept_dx[_i], "double f_grad(");
    char *gc = code_only(g);
    ck_assert_msg((strstr(gc, "_tape[k * 4 + i] = ") != NULL) == (_i < 2), "%s", g);
    free(g);
    free(gc);
    checks_pass(kept_dx[_i]);
}
END_TEST

/* The LSTM of tests/models/lstm.dx: its gates call sigmoid and tanh. */
static char *lstm_text(void)
{
    char *path = tu_printf("%s/tests/models/lstm.dx", tu_root());
    char *text = tu_read(path, NULL);
    ck_assert_ptr_nonnull(text);
    free(path);
    return text;
}

/* The tape bytes dxc --stats reports for entry point fn with options. */
static long tape_bytes(const char *opts, const char *fn)
{
    char *args = tu_printf("m.dx --stats %s -o m.c", opts), *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc(args, &out, &err), 0);
    char *key = tu_printf("%s: tape ", fn);
    const char *at = strstr(err, key);
    ck_assert_msg(at, "%s", err);
    long n = strtol(at + strlen(key), NULL, 10);
    free(args);
    free(key);
    free(out);
    free(err);
    return n;
}

START_TEST(test_keep_gates)
{
    char *text = lstm_text();
    char *g = entry_text(text, "double lstm_grad(");
    char *gc = code_only(g);
    /* the forward pass calls tanh twice per element; the backward pass
     * reads the gates from the tape instead of calling them again */
    ck_assert_msg(count(gc, "DX_TANH(") == 2, "%s", g);
    free(g);
    free(gc);
    long keep = tape_bytes("", "lstm_grad"), small = tape_bytes("--tape=small", "lstm_grad");
    /* a quarter of 12K keeps one of the two steps, of 4K neither */
    long tight = tape_bytes("--stack-budget=12K", "lstm_grad");
    long none = tape_bytes("--stack-budget=4K", "lstm_grad");
    ck_assert_msg(keep > tight && tight > none && none > small, "%ld %ld %ld %ld", keep, tight, none,
                  small);
    /* with a budget too small to keep the gates, they are recomputed */
    free(cr_dxc_ok("m.dx --stack-budget=4K -o m.c"));
    char *c = tu_read(tu_path("m.c"), NULL);
    char *g2 = cr_fn_text(c, "double lstm_grad(");
    char *gc2 = code_only(g2);
    ck_assert_msg(count(gc2, "DX_TANH(") == 4, "%s", g2);
    free(c);
    free(g2);
    free(gc2);
    checks_pass(text);
    free(text);
}
END_TEST

/* f_hvp's tangent tapes, written in full by the forward loop, are not
 * zeroed first (the interpreter fills such a buffer with NaN, so the
 * checks would see a row read before it is written). */
START_TEST(test_hvp_tapes)
{
    char *path = tu_printf("%s/tests/models/spring.dx", tu_root());
    char *text = tu_read(path, NULL);
    ck_assert_ptr_nonnull(text);
    char *h = entry_text(text, "double spring_hvp(");
    ck_assert_msg(strstr(h, "x_tape_dot[i] = x_dot;") && !strstr(h, "x_tape_dot[i] = 0.0"), "%s", h);
    free(h);
    checks_pass(text);
    free(text);
    free(path);
}
END_TEST

/* sigmoid' is one helper, e / (1 + e)^2 with e = exp(-|x|), sharing
 * sigmoid's exp; against s(x) s(-x) computed independently, in both tails
 * and at 0, in double and float; the second derivative (f_hvp) against
 * s'(x) (s(-x) - s(x)). */
START_TEST(test_sigmoid)
{
    ck_assert_int_eq(tu_write(tu_path("s.dx"), "fn s(x) = sigmoid(x)\n", (size_t)-1), 0);
    static const char main_c[] =
        "#include <math.h>\n#include <stdio.h>\n#include \"s.h\"\n"
        "static double sg(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }\n"
        "int main(void)\n{\n"
        "    const double xs[] = {-700, -40, -3, -0.5, 0, 0.5, 3, 40, 700};\n"
        "    int bad = 0;\n"
        "    for (int i = 0; i < 9; i++) {\n"
        "        double x = xs[i], d1 = sg(x) * sg(-x), d2 = d1 * (sg(-x) - sg(x));\n"
        "        if (sizeof(real) < sizeof(double) && fabs(x) > 80)\n"
        "            continue; /* float's range ends at about exp(-87) */\n"
        "        real g = 0, h = 0, dir = 1;\n"
        "        s_grad((real)x, &g);\n"
        "        s_hvp((real)x, dir, &h);\n"
        "        if (fabs(g - d1) > TOL * d1 || fabs(h - d2) > TOL * fabs(d2) + 1e-300) {\n"
        "            printf(\"x = %g: s' %.17g (want %.17g), s'' %.17g (want %.17g)\\n\", x, (double)g, d1,\n"
        "                   (double)h, d2);\n"
        "            bad = 1;\n"
        "        }\n"
        "    }\n"
        "    return bad;\n}\n";
    ck_assert_int_eq(tu_write(tu_path("main.c"), main_c, (size_t)-1), 0);
    static const char *const real[] = {"double", "float"};
    for (int r = 0; r < 2; r++) {
        char *args = tu_printf("s.dx --real=%s -o s.c --header s.h", real[r]);
        free(cr_dxc_ok(args));
        free(args);
        char *c = tu_read(tu_path("s.c"), NULL);
        char *g = cr_fn_text(c, r ? "float s_grad(" : "double s_grad(");
        ck_assert_msg(strstr(g, r ? "dx_dsigmoid(x)" : "dx_dsigmoid(x)") && !strstr(g, "(-x)"), "%s", g);
        ck_assert_msg(strstr(c, "__attribute__((const))"), "%s", c);
        free(g);
        free(c);
        /* float: its exp is accurate to a few ulps */
        run_ok(tu_printf("cd '%s' && gcc " STRICT " -Dreal=%s -DTOL=%s main.c s.c -lm -o m && ./m",
                         tu_tmpdir(), real[r], r ? "1e-5" : "1e-14"));
    }
}
END_TEST

static const char mixed_dx[] =
    "fn mv(W[3, 4], x[4]) = W @ x\n"
    "fn sq(x) = x * x\n"
    "fn nrm(x[4]) = sum(x * x)\n";

START_TEST(test_restrict)
{
    ck_assert_int_eq(tu_write(tu_path("m.dx"), mixed_dx, (size_t)-1), 0);
    free(cr_dxc_ok("m.dx -o m.c --header m.h"));
    char *c = tu_read(tu_path("m.c"), NULL), *h = tu_read(tu_path("m.h"), NULL);
    ck_assert_msg(!strstr(h, "restrict"), "the header keeps the plain prototypes:\n%s", h);
    ck_assert_msg(strstr(c, "void mv(const double W[restrict 3 * 4], const double x[restrict 4], "
                            "double out[restrict 3])"),
                  "%s", c);
    ck_assert_msg(strstr(c, "double nrm_grad(const double x[restrict 4], double x_bar[restrict 4])"),
                  "%s", c);
    /* functions of scalars, and those writing nothing, keep them plain */
    ck_assert_msg(strstr(c, "double sq_grad(double x, double *x_bar)"), "%s", c);
    ck_assert_msg(strstr(c, "double nrm(const double x[4])"), "%s", c);
    free(c);
    free(h);
    /* the header's prototypes and the definitions in one unit */
    ck_assert_int_eq(tu_write(tu_path("both.c"), "#include \"m.h\"\n#include \"m.c\"\n", (size_t)-1), 0);
    run_ok(tu_printf("cd '%s' && gcc " STRICT " -c both.c && clang " STRICT " -c both.c",
                          tu_tmpdir()));
}
END_TEST

/* Two lanes for a long sum's tangent (ir/lanes.c).  Sums of 20 terms (in
 * a comprehension and in a for loop), 17 (odd: its last term after the
 * loop) and 17 from index 3 take two lanes in f_jvp and f_hvp; a sum of
 * 13 terms and f's sums stay as written. */
static const char lanes_dx[] =
    "const N = 20\n"
    "fn f(W[4, N], b[4], v[17], data x[N]) {\n"
    "    h = [sum(W[i, j] * x[j] for j in 0..N) + b[i] for i in 0..4]\n"
    "    odd = sum(v[j] * v[j] for j in 0..17)\n"
    "    short = sum(v[j] for j in 2..15)\n"
    "    off = sum(W[0, j] * v[j - 3] for j in 3..20)\n"
    "    acc = 0.5\n"
    "    for t in 0..3 {\n"
    "        acc = acc + sum(W[t, j] * x[j] * acc for j in 0..N) * 0.1\n"
    "    }\n"
    "    return sum(tanh(h[i]) for i in 0..4) + odd * short + off + acc\n"
    "}\n";

/* The declarations in text of a variable whose name holds part. */
static int declared(const char *text, const char *part)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, "double ")); p += 7) {
        size_t len = strcspn(p, "=;\n");
        char *decl = tu_printf("%.*s", (int)len, p);
        n += strstr(decl, part) != NULL;
        free(decl);
    }
    return n;
}

/* A dot product of 33 terms, its sum checked bit for bit: f and f_jvp's
 * value in the model's order, the tangent in two lanes (even terms, the
 * last one included, plus odd terms) by default and in the model's order
 * with --sum-lanes=0 (o_dp_jvp). */
static const char dot_dx[] = "fn dp(w[33], data x[33]) = sum(w[j] * x[j] for j in 0..33)\n";
static const char dot_main[] =
    "#include <math.h>\n#include <stdio.h>\n#include \"d.h\"\n#include \"o.h\"\n"
    "int main(void)\n{\n"
    "    double w[33], x[33], v[33], s = 0, t = 0, even = 0, odd = 0, d, od;\n"
    "    for (int j = 0; j < 33; j++) {\n"
    "        w[j] = sin(1.7 * j + 0.3); x[j] = cos(0.9 * j * j) * 1e3; v[j] = tan(0.37 * j - 1.1);\n"
    "        s += w[j] * x[j];\n"
    "        t += v[j] * x[j];\n"
    "    }\n"
    "    for (int j = 0; j < 32; j += 2) { even += v[j] * x[j]; odd += v[j + 1] * x[j + 1]; }\n"
    "    even += v[32] * x[32];\n"
    "    double y = dp(w, x), yj = dp_jvp(w, x, v, &d), oy = o_dp_jvp(w, x, v, &od);\n"
    "    int bad = 0;\n"
    "    if (y != s || yj != s || oy != s) { printf(\"value %.17g %.17g %.17g, in order %.17g\\n\", y, yj, oy, s); bad = 1; }\n"
    "    if (d != even + odd) { printf(\"tangent %.17g, lanes %.17g\\n\", d, even + odd); bad = 1; }\n"
    "    if (od != t) { printf(\"--sum-lanes=0 tangent %.17g, in order %.17g\\n\", od, t); bad = 1; }\n"
    "    if (fabs(d - t) > 1e-12 * fabs(t)) { printf(\"lanes %.17g far from %.17g\\n\", d, t); bad = 1; }\n"
    "    printf(\"%s\\n\", d == t ? \"same\" : \"differs\");\n"
    "    return bad;\n}\n";

/* The C of fn's f, f_jvp and f_hvp in text. */
static void three_entries(const char *text, const char *fn, char **f, char **j, char **h)
{
    char *sig = tu_printf("double %s(", fn);
    *f = entry_text(text, sig);
    free(sig);
    sig = tu_printf("double %s_jvp(", fn);
    *j = entry_text(text, sig);
    free(sig);
    sig = tu_printf("double %s_hvp(", fn);
    *h = entry_text(text, sig);
    free(sig);
}

START_TEST(test_lanes)
{
    char *f, *j, *h;
    three_entries(lanes_dx, "f", &f, &j, &h);
    ck_assert_msg(!strstr(f, "_even") && !strstr(f, "_odd") && count(f, "+=") == 6, "f as written:\n%.3000s", f);
    ck_assert_msg(declared(j, "_dot_even") == 4 && declared(j, "_dot_odd") == 4, "four sums in lanes:\n%.3000s", j);
    ck_assert_msg(strstr(j, "for (int j = 0; j < 10; j++)") && strstr(j, "for (int j = 0; j < 8; j++)") &&
                      strstr(j, "[2 * j + 1]") && strstr(j, "v[16]"),
                  "pairs of terms, an odd count's last term after the loop:\n%.3000s", j);
    /* f_hvp: those of h, odd and the loop; off's shares its loop with
     * its backward pass, which adds to W_hv and v_hv, and stays */
    ck_assert_msg(declared(h, "_dot_even") == 3, "f_hvp's tangent sums in lanes:\n%.3000s", h);
    free(f);
    free(j);
    free(h);
    checks_pass(lanes_dx);

    /* --sum-lanes: 0 turns them off, 2 splits the sum of 13 terms too */
    ck_assert_int_eq(tu_write(tu_path("m.dx"), lanes_dx, (size_t)-1), 0);
    char *off = cr_dxc_ok("m.dx --sum-lanes=0 -o -"), *two = cr_dxc_ok("m.dx --sum-lanes=2 -o -");
    char *jtwo = cr_fn_text(two, "double f_jvp(");
    ck_assert_msg(!strstr(off, "_even"), "%.3000s", off);
    ck_assert_msg(declared(jtwo, "_dot_even") == 5, "%.3000s", jtwo);
    free(off);
    free(two);
    free(jtwo);

    /* the sums' order, bit for bit, compiled by gcc and clang */
    ck_assert_int_eq(tu_write(tu_path("dot.dx"), dot_dx, (size_t)-1), 0);
    free(cr_dxc_ok("dot.dx -o d.c --header d.h"));
    free(cr_dxc_ok("dot.dx --sum-lanes=0 --prefix=o_ -o o.c --header o.h"));
    ck_assert_int_eq(tu_write(tu_path("main.c"), dot_main, (size_t)-1), 0);
    for (int k = 0; k < 2; k++) {
        char *out = NULL, *err = NULL, *cmd = tu_printf("cd '%s' && %s " STRICT " -O2 main.c d.c o.c -lm -o dot && ./dot",
                                                        tu_tmpdir(), k ? "clang" : "gcc");
        ck_assert_msg(tu_run(cmd, &out, &err) == 0, "%s\n%s%s", cmd, out, err);
        ck_assert_msg(strstr(out, "differs"), "the two orders round apart on these inputs: %s", out);
        free(cmd);
        free(out);
        free(err);
    }
}
END_TEST

/* The part of a tangent sum's term that an enclosing loop does not
 * change, summed once before it (ir/hoist.c): the mixture-like g sums,
 * for each point n and component k, the squares of rows of L_k (x_n -
 * mu_k); the tangent's L_k mu_k_dot part is the same for every point, a
 * table over k and j before the loop over n, in f_jvp and f_hvp, not in
 * f; a table over its share (a sixteenth of --stack-budget), or that
 * would not fit beside the function's arrays, is not made. */
static const char hoist_dx[] =
    "const D = 4\n"
    "const K = 3\n"
    "const N = 6\n"
    "fn g(mu[K, D], L[K, D * D], data x[N, D]) =\n"
    "    sum(logsumexp([-sum(sum(L[k, j * D + i] * (x[n, i] - mu[k, i]) for i in 0..j + 1) ^ 2\n"
    "                        for j in 0..D) for k in 0..K]) for n in 0..N)\n";

/* hoist_dx with an array of 200 kept in f_jvp, with its tangent */
static const char hoist_big_dx[] =
    "const D = 4\n"
    "const K = 3\n"
    "const N = 6\n"
    "fn g(mu[K, D], L[K, D * D], W[200, 4], data x[N, D]) {\n"
    "    h = tanh(W @ mu[0])\n"
    "    return sum(logsumexp([-sum(sum(L[k, j * D + i] * (x[n, i] - mu[k, i]) for i in 0..j + 1) ^ 2\n"
    "                             for j in 0..D) for k in 0..K]) for n in 0..N) + sum(h * h) * h[7]\n"
    "}\n";

START_TEST(test_hoist)
{
    char *f, *j, *h;
    three_entries(hoist_dx, "g", &f, &j, &h);
    ck_assert_msg(!strstr(f, "hoisted"), "f as written:\n%.3000s", f);
    for (int k = 0; k < 2; k++) {
        const char *t = k ? h : j;
        const char *decl = strstr(t, "double s_hoisted_dot[3 * 4];"), *loop = strstr(t, "for (int n = 0;");
        ck_assert_msg(decl && loop && decl < loop && strstr(t, "s_hoisted_dot[k * 4 + j]"),
                      "a table over k and j before the loop over n:\n%.4000s", t);
    }
    free(f);
    free(j);
    free(h);
    checks_pass(hoist_dx);
    ck_assert_int_eq(tu_write(tu_path("m.dx"), hoist_dx, (size_t)-1), 0);
    char *small = cr_dxc_ok("m.dx --stack-budget=1K -o -");
    ck_assert_msg(!strstr(small, "hoisted"), "96 bytes of table over a 64-byte share:\n%.3000s", small);
    free(small);

    /* nor one that would take a function that fits over its budget: g_jvp
     * holds 3 248 bytes of arrays (h and h_dot, two of 3), and the table
     * takes 96 more */
    ck_assert_int_eq(tu_write(tu_path("b.dx"), hoist_big_dx, (size_t)-1), 0);
    char *fits = cr_dxc_ok("b.dx --entries=f,jvp --stack-budget=3344 -o -");
    char *over = cr_dxc_ok("b.dx --entries=f,jvp --stack-budget=3343 -o -");
    ck_assert_msg(strstr(fits, "hoisted") && !strstr(over, "hoisted"), "%.3000s", over);
    free(fits);
    free(over);
}
END_TEST

Suite *suite_speed(void);
Suite *suite_speed(void)
{
    Suite *s = suite_create("speed");
    TCase *tc = tcase_create("speed");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_join_toy);
    tcase_add_test(tc, test_join_refused);
    tcase_add_test(tc, test_join_gmm);
    tcase_add_loop_test(tc, test_kept_programs, 0, (int)(sizeof kept_dx / sizeof kept_dx[0]));
    tcase_add_test(tc, test_keep_gates);
    tcase_add_test(tc, test_hvp_tapes);
    tcase_add_test(tc, test_sigmoid);
    tcase_add_test(tc, test_restrict);
    tcase_add_test(tc, test_lanes);
    tcase_add_test(tc, test_hoist);
    suite_add_tcase(s, tc);
    return s;
}
