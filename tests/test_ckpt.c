/*
 * test_ckpt.c - gradients of long loops within a fixed memory budget
 * (checkpointing, ir/ckpt.c and ir/pipeline.c):
 *   - the spring model with 10^5 and 10^6 Euler steps at budgets of
 *     1.6 MB, 16 KiB and 2 KiB: f_grad and f_hvp are bit-for-bit those
 *     of the fully taped code (printed with %a), the local arrays fit
 *     the budget as --stats says, and the C compiles with gcc and clang
 *     under the strict flags;
 *   - the same for an RNN (matvec steps), the LSTM (elementwise gates
 *     kept on the tape), a while loop (whose segments stop with it) and a
 *     for loop inside a for loop;
 *   - with --workspace the budget bounds f_WS_BYTES, and f_ws on a buffer
 *     of exactly that size gives the same bits;
 *   - a trip count with no factors (a prime): right to central
 *     differences, and the taped bits;
 *   - --stats' stack estimate is within 10% of gcc -O0's -fstack-usage
 *     and never below gcc -O2's;
 *   - too small a budget is an error that names the budget which fits
 *     (and that budget then compiles), the old output left untouched.
 */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrun.h"
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

/* Runs cmd in the temp dir (with an unlimited stack, for the fully
 * taped references); fails the test with what it printed if it fails;
 * returns its standard output (malloc'ed). */
static char *run_ok(const char *cmd)
{
    char *full = tu_printf("cd '%s' && ulimit -s unlimited && %s", tu_tmpdir(), cmd);
    char *out = NULL, *err = NULL;
    int st = tu_run(full, &out, &err);
    ck_assert_msg(st == 0, "%s\n%s%s", cmd, out ? out : "", err ? err : "");
    free(full);
    free(err);
    return out;
}

/* m.dx: the spring of tests/models/spring.dx (its loop on line 14, the
 * function on line 11) over `steps` steps instead of 10 000. */
static void write_spring(int steps)
{
    char *path = tu_printf("%s/tests/models/spring.dx", tu_root());
    char *src = tu_read(path, NULL);
    ck_assert_ptr_nonnull(src);
    char *loop = strstr(src, "for i in 0..10000 {");
    ck_assert_ptr_nonnull(loop);
    *loop = 0;
    char *text = tu_printf("%sfor i in 0..%d {%s", src, steps, loop + strlen("for i in 0..10000 {"));
    ck_assert_int_eq(tu_write(tu_path("m.dx"), text, (size_t)-1), 0);
    free(text);
    free(src);
    free(path);
}

static const char spring_drv[] =
    "#include <stdio.h>\n"
    "#include \"m.h\"\n"
    "int main(void)\n"
    "{\n"
    "    double kb, cb, kh, ch;\n"
    "    double y = spring_grad(2.0, 0.05, 1.0, 0.5, &kb, &cb);\n"
    "    double z = spring_hvp(2.0, 0.05, 1.0, 0.5, 0.3, -0.7, &kh, &ch);\n"
    "    printf(\"%a %a %a %a %a %a\\n\", y, kb, cb, z, kh, ch);\n"
    "    return 0;\n"
    "}\n";

/* cr_dxc with a formatted argument list. */
static int dxc_f(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int dxc_f(char **out, char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args = tu_vprintf(fmt, ap);
    va_end(ap);
    int st = cr_dxc(args, out, err);
    free(args);
    return st;
}

/* dxc ARGS m.dx into TAG.c and TAG.h, then TAG (linked with drv.c, which
 * includes m.h) built with gcc -O2 and clang, strict; returns what TAG
 * prints (malloc'ed), the same under both compilers. */
static char *build_run(const char *tag, const char *args)
{
    char *err = NULL;
    int st = dxc_f(NULL, &err, "%s m.dx -o %s.c --header %s.h", args, tag, tag);
    ck_assert_msg(st == 0, "dxc %s: %s", args, err);
    free(err);
    char *out = NULL;
    const char *ccs[] = {"gcc", "clang"};
    for (int k = 0; k < 2; k++) {
        char *cmd = tu_printf("mkdir -p %s.d && cp %s.h %s.d/m.h && %s " STRICT
                              " -O2 -I%s.d -o %s drv.c %s.c -lm && ./%s",
                              tag, tag, tag, ccs[k], tag, tag, tag, tag);
        char *o = run_ok(cmd);
        free(cmd);
        if (out) {
            ck_assert_msg(!strcmp(out, o), "%s: gcc and clang differ:\n%s%s", tag, out, o);
            free(o);
        } else {
            out = o;
        }
    }
    return out;
}

/* The local arrays --stats reports for each entry point fit budget. */
static void check_stats_fit(const char *args, long long budget)
{
    char *err = NULL;
    ck_assert_int_eq(dxc_f(NULL, &err, "%s --stats m.dx -o stats.c", args), 0);
    for (const char *p = err; (p = strstr(p, "tape ")); p++) {
        long long tape = atoll(p + 5);
        ck_assert_msg(tape <= budget, "a tape of %lld bytes over %lld:\n%s", tape, budget, err);
    }
    free(err);
}

START_TEST(test_spring_bits)
{
    static const int steps[] = {100000, 1000000};
    static const long long budgets[] = {1600000, 16384, 2048};
    ck_assert_int_eq(tu_write(tu_path("drv.c"), spring_drv, (size_t)-1), 0);
    for (int s = 0; s < 2; s++) {
        write_spring(steps[s]);
        char *ref = build_run("ref", "--stack-budget=1G");
        for (int b = 0; b < 3; b++) {
            char *args = tu_printf("--stack-budget=%lld", budgets[b]);
            char *got = build_run("ck", args);
            ck_assert_msg(!strcmp(ref, got), "%d steps, budget %lld: %s vs taped %s", steps[s], budgets[b],
                          got, ref);
            check_stats_fit(args, budgets[b]);
            free(got);
            free(args);
        }
        free(ref);
    }
}
END_TEST

/* The 10^6-step spring in 16 KiB: three levels of 100, three forward
 * sweeps, the loops and their comments in the C. */
START_TEST(test_spring_levels)
{
    write_spring(1000000);
    char *err = NULL;
    ck_assert_int_eq(cr_dxc("--stats --stack-budget=16K m.dx -o m.c", NULL, &err), 0);
    ck_assert_msg(strstr(err, "spring_grad: tape 4800 bytes, stack ~4936 bytes, the loop on line 14 "
                              "checkpointed as 100 x 100 x 100 steps (200 snapshots), run forward 3.00 times\n"),
                  "%s", err);
    ck_assert_msg(strstr(err, "spring: tape 0 bytes"), "%s", err);
    free(err);
    char *code = tu_read(tu_path("m.c"), NULL);
    char *grad = cr_fn_text(code, "double spring_grad(");
    ck_assert_msg(strstr(grad, "for (int i_cp1 = 0; i_cp1 < 100; i_cp1++) {  /* checkpointing: 10000 "
                               "steps per iteration */"),
                  "%s", grad);
    ck_assert_msg(strstr(grad, "for (int i_cp1 = 99; i_cp1 >= 0; i_cp1--) {  /* backwards, a segment of "
                               "10000 steps at a time: run it forward again from its snapshot, then "
                               "back */"),
                  "%s", grad);
    ck_assert_msg(strstr(grad, "double x_tape[100];"), "%s", grad);
    /* f and f_jvp are as written */
    char *f = cr_fn_text(code, "double spring(");
    ck_assert_msg(!strstr(f, "i_cp") && strstr(f, "i < 1000000"), "%s", f);
    char *jvp = cr_fn_text(code, "double spring_jvp(");
    ck_assert_msg(!strstr(jvp, "i_cp"), "%s", jvp);
    free(f);
    free(jvp);
    free(grad);
    free(code);
}
END_TEST

static const char rnn_drv[] =
    "#include <math.h>\n"
    "#include <stdio.h>\n"
    "#include \"m.h\"\n"
    "#define T 50\n#define H 32\n#define D 16\n"
    "static double Wh[H * H], Wx[H * D], b[H], v[H], X[T * D], y[T], h0[H];\n"
    "static double d1[H * H], d2[H * D], d3[H], d4[H], o1[H * H], o2[H * D], o3[H], o4[H];\n"
    "static void fill(double *p, int n, double s) { for (int i = 0; i < n; i++) p[i] = s * sin(0.7 * i + s); }\n"
    "static void show(const double *p, int n) { for (int i = 0; i < n; i++) printf(\"%a \", p[i]); }\n"
    "int main(void)\n"
    "{\n"
    "    fill(Wh, H * H, 0.1); fill(Wx, H * D, 0.2); fill(b, H, 0.3); fill(v, H, 0.4);\n"
    "    fill(X, T * D, 1.0); fill(y, T, 0.5); fill(h0, H, 0.6);\n"
    "    fill(d1, H * H, 0.7); fill(d2, H * D, 0.8); fill(d3, H, 0.9); fill(d4, H, 1.1);\n"
    "    printf(\"%a \", rnn_grad(Wh, Wx, b, v, X, y, h0, o1, o2, o3, o4));\n"
    "    show(o1, H * H); show(o2, H * D); show(o3, H); show(o4, H);\n"
    "    printf(\"%a \", rnn_hvp(Wh, Wx, b, v, X, y, h0, d1, d2, d3, d4, o1, o2, o3, o4));\n"
    "    show(o1, H * H); show(o2, H * D); show(o3, H); show(o4, H);\n"
    "    printf(\"\\n\");\n"
    "    return 0;\n"
    "}\n";

static const char lstm_drv[] =
    "#include <math.h>\n"
    "#include <stdio.h>\n"
    "#include \"m.h\"\n"
    "#define T 40\n#define H 32\n"
    "static double W[4 * H], U[4 * H], B[4 * H], X[T * H], Y[T * H];\n"
    "static double d1[4 * H], d2[4 * H], d3[4 * H], o1[4 * H], o2[4 * H], o3[4 * H];\n"
    "static void fill(double *p, int n, double s) { for (int i = 0; i < n; i++) p[i] = s * sin(0.7 * i + s); }\n"
    "static void show(const double *p, int n) { for (int i = 0; i < n; i++) printf(\"%a \", p[i]); }\n"
    "int main(void)\n"
    "{\n"
    "    fill(W, 4 * H, 0.5); fill(U, 4 * H, 0.4); fill(B, 4 * H, 0.3); fill(X, T * H, 1.0);\n"
    "    for (int i = 0; i < T * H; i++) Y[i] = i % H == (i / H) % H;\n"
    "    fill(d1, 4 * H, 0.7); fill(d2, 4 * H, 0.8); fill(d3, 4 * H, 0.9);\n"
    "    printf(\"%a \", lstm_grad(W, U, B, X, Y, o1, o2, o3));\n"
    "    show(o1, 4 * H); show(o2, 4 * H); show(o3, 4 * H);\n"
    "    printf(\"%a \", lstm_hvp(W, U, B, X, Y, d1, d2, d3, o1, o2, o3));\n"
    "    show(o1, 4 * H); show(o2, 4 * H); show(o3, 4 * H);\n"
    "    printf(\"\\n\");\n"
    "    return 0;\n"
    "}\n";

/* A model of bench/ at a budget that makes its loop checkpointed: the
 * same bits as with its full tapes. */
static void model_bits(const char *path, const char *drv, const char *budget)
{
    char *full = tu_printf("%s/%s", tu_root(), path);
    char *src = tu_read(full, NULL);
    free(full);
    ck_assert_ptr_nonnull(src);
    ck_assert_int_eq(tu_write(tu_path("m.dx"), src, (size_t)-1), 0);
    ck_assert_int_eq(tu_write(tu_path("drv.c"), drv, (size_t)-1), 0);
    free(src);
    char *err = NULL;
    ck_assert_int_eq(dxc_f(NULL, &err, "--stats --stack-budget=%s m.dx -o s.c", budget), 0);
    ck_assert_msg(strstr(err, "checkpointed as"), "%s: not checkpointed at %s:\n%s", path, budget, err);
    free(err);
    char *ref = build_run("ref", "--stack-budget=1G");
    char *args = tu_printf("--stack-budget=%s", budget);
    char *got = build_run("ck", args);
    ck_assert_msg(!strcmp(ref, got), "%s at %s: not the taped bits", path, budget);
    free(args);
    free(ref);
    free(got);
}

START_TEST(test_rnn_bits)
{
    model_bits("bench/rnn.dx", rnn_drv, "20000");
}
END_TEST

START_TEST(test_lstm_bits)
{
    model_bits("bench/lstm.dx", lstm_drv, "32K");
}
END_TEST

static const char fall_src[] =
    "const dt = 0.001\n"
    "\n"
    "fn spring(k, c, data x0, data v0) {\n"
    "    x = x0\n"
    "    v = v0\n"
    "    t = 0\n"
    "    while x > 0 max 100000 {\n"
    "        a = -k - c * v\n"
    "        x = x + dt * v\n"
    "        v = v + dt * a\n"
    "        t = t + dt\n"
    "    }\n"
    "    return t + x * v\n"
    "}\n";

static const char nested_src[] =
    "fn spring(k, c, data x0, data v0) {\n"
    "    x = x0\n"
    "    v = v0\n"
    "    for j in 0..20 {\n"
    "        for i in 0..5000 {\n"
    "            a = -k * x - c * v\n"
    "            x = x + 0.0001 * v\n"
    "            v = v + 0.0001 * a\n"
    "        }\n"
    "        v = v * 0.99 + 0.001 * j\n"
    "    }\n"
    "    return x * x + v\n"
    "}\n";

/* 10 007 steps (a prime: a head loop, then the others nested), with
 * the parameters read after the loop too: their adjoints start from the
 * return's. */
static const char after_src[] =
    "fn spring(k, c, data x0, data v0) {\n"
    "    x = x0\n"
    "    v = v0\n"
    "    for i in 0..10007 {\n"
    "        a = -k * x - c * v\n"
    "        x = x + 0.001 * v\n"
    "        v = v + 0.001 * a\n"
    "    }\n"
    "    return x * k + c * v + k * c\n"
    "}\n";

/* A while loop (stopping at about 4 500 of its 100 000), a for loop
 * inside another, and a prime trip count with parameters read after the
 * loop, checkpointed: the taped bits. */
START_TEST(test_while_nested_bits)
{
    const char *srcs[] = {fall_src, nested_src, after_src};
    ck_assert_int_eq(tu_write(tu_path("drv.c"), spring_drv, (size_t)-1), 0);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(tu_write(tu_path("m.dx"), srcs[k], (size_t)-1), 0);
        char *ref = build_run("ref", "--stack-budget=1G");
        char *got = build_run("ck", "--stack-budget=8K");
        ck_assert_msg(!strcmp(ref, got), "%s: %s vs taped %s", srcs[k], got, ref);
        check_stats_fit("--stack-budget=8K", 8192);
        if (k == 0) { /* the while loop's segments stop with it, and so does the backward pass */
            char *code = tu_read(tu_path("ck.c"), NULL);
            char *grad = cr_fn_text(code, "double spring_grad(");
            ck_assert_msg(strstr(grad, "ran = iter_cp1;") && strstr(grad, "for (int iter_cp1 = ran - 1; iter_cp1 >= 0;"),
                          "%s", grad);
            free(grad);
            free(code);
        }
        free(ref);
        free(got);
    }
}
END_TEST

/* --workspace: the budget bounds the workspace; f_ws on a buffer of
 * exactly f_WS_BYTES gives the taped bits. */
START_TEST(test_workspace)
{
    write_spring(100000);
    static const char drv[] =
        "#include <stdio.h>\n"
        "#include <stdlib.h>\n"
        "#include \"m.h\"\n"
        "int main(void)\n"
        "{\n"
        "    double kb, cb, kh, ch;\n"
        "    double *wg = malloc(spring_grad_WS_BYTES), *wh = malloc(spring_hvp_WS_BYTES);\n"
        "    if (spring_grad_WS_BYTES > 16384 || spring_hvp_WS_BYTES > 16384) return 2;\n"
        "    double y = spring_grad_ws(2.0, 0.05, 1.0, 0.5, &kb, &cb, wg);\n"
        "    double z = spring_hvp_ws(2.0, 0.05, 1.0, 0.5, 0.3, -0.7, &kh, &ch, wh);\n"
        "    printf(\"%a %a %a %a %a %a\\n\", y, kb, cb, z, kh, ch);\n"
        "    free(wg);\n"
        "    free(wh);\n"
        "    return 0;\n"
        "}\n";
    ck_assert_int_eq(tu_write(tu_path("drv.c"), spring_drv, (size_t)-1), 0);
    char *ref = build_run("ref", "--stack-budget=1G");
    ck_assert_int_eq(tu_write(tu_path("drv.c"), drv, (size_t)-1), 0);
    char *got = build_run("ws", "--workspace --stack-budget=16K");
    ck_assert_msg(!strcmp(ref, got), "%s vs taped %s", got, ref);
    free(ref);
    free(got);
}
END_TEST

/* 10 007 steps (a prime): a head loop, then the rest nested; right to
 * central differences, and the taped bits. */
START_TEST(test_prime_trip)
{
    write_spring(10007);
    static const char drv[] =
        "#include <math.h>\n"
        "#include <stdio.h>\n"
        "#include \"m.h\"\n"
        "int main(void)\n"
        "{\n"
        "    double kb, cb, kh, ch, h = 1e-5;\n"
        "    double y = spring_grad(2.0, 0.05, 1.0, 0.5, &kb, &cb);\n"
        "    spring_hvp(2.0, 0.05, 1.0, 0.5, 1.0, 0.0, &kh, &ch);\n"
        "    double fk = (spring(2.0 + h, 0.05, 1.0, 0.5) - spring(2.0 - h, 0.05, 1.0, 0.5)) / (2 * h);\n"
        "    double fc = (spring(2.0, 0.05 + h, 1.0, 0.5) - spring(2.0, 0.05 - h, 1.0, 0.5)) / (2 * h);\n"
        "    double gk1, gk2, gc;\n"
        "    spring_grad(2.0 + h, 0.05, 1.0, 0.5, &gk1, &gc);\n"
        "    spring_grad(2.0 - h, 0.05, 1.0, 0.5, &gk2, &gc);\n"
        "    double hk = (gk1 - gk2) / (2 * h);\n"
        "    if (fabs(kb - fk) > 1e-6 * (1 + fabs(fk)) || fabs(cb - fc) > 1e-6 * (1 + fabs(fc)) ||\n"
        "        fabs(kh - hk) > 1e-5 * (1 + fabs(hk)))\n"
        "        return 1;\n"
        "    printf(\"%a %a %a %a\\n\", y, kb, cb, kh);\n"
        "    return 0;\n"
        "}\n";
    ck_assert_int_eq(tu_write(tu_path("drv.c"), drv, (size_t)-1), 0);
    char *ref = build_run("ref", "--stack-budget=1G");
    char *got = build_run("ck", "--stack-budget=4K");
    ck_assert_msg(!strcmp(ref, got), "%s vs taped %s", got, ref);
    check_stats_fit("--stack-budget=4K", 4096);
    free(ref);
    free(got);
}
END_TEST

/* The stack --stats estimates, against gcc's -fstack-usage: within 10%
 * of -O0's (every variable in memory), never below -O2's. */
START_TEST(test_stack_usage)
{
    write_spring(1000000);
    static const char *budgets[] = {"16K", "2K"};
    for (int b = 0; b < 2; b++) {
        char *err = NULL;
        ck_assert_int_eq(dxc_f(NULL, &err, "--stats --stack-budget=%s m.dx -o su.c", budgets[b]), 0);
        for (int o = 0; o < 2; o++) {
            char *cmd = tu_printf("gcc -std=c99 -O%d -fstack-usage -c su.c -o su.o", o ? 2 : 0);
            free(run_ok(cmd));
            free(cmd);
            char *su = tu_read(tu_path("su.su"), NULL);
            ck_assert_ptr_nonnull(su);
            static const char *fns[] = {"spring_grad", "spring_hvp"};
            for (int k = 0; k < 2; k++) {
                char *key = tu_printf("%s: tape ", fns[k]);
                const char *line = strstr(err, key);
                ck_assert_msg(line, "%s", err);
                const char *st = strstr(line, "stack ~");
                long long est = atoll(st + 7);
                char *key2 = tu_printf(":%s\t", fns[k]);
                const char *g = strstr(su, key2);
                ck_assert_msg(g, "%s", su);
                long long used = atoll(g + strlen(key2));
                if (o == 0)
                    ck_assert_msg(llabs(est - used) * 10 <= used, "%s at %s: estimate %lld, gcc -O0 %lld",
                                  fns[k], budgets[b], est, used);
                else
                    ck_assert_msg(est >= used, "%s at %s: estimate %lld below gcc -O2's %lld", fns[k],
                                  budgets[b], est, used);
                free(key);
                free(key2);
            }
            free(su);
        }
        free(err);
    }
}
END_TEST

/* Too small a budget: the error names the budget that fits, which then
 * compiles; the old output stays. */
START_TEST(test_too_small)
{
    write_spring(1000000);
    ck_assert_int_eq(tu_write(tu_path("m.c"), "old\n", (size_t)-1), 0);
    char *err = NULL;
    ck_assert_int_eq(cr_dxc("--stack-budget=256 m.dx -o m.c", NULL, &err), 1);
    const char *p = strstr(err, "m.dx:11:4: error: 'spring_hvp' needs ");
    ck_assert_msg(p, "%s", err);
    long long need = atoll(p + strlen("m.dx:11:4: error: 'spring_hvp' needs "));
    char *want = tu_printf("bytes of local arrays even with the for loop on line 14 checkpointed, over the "
                           "stack budget of 256 bytes; use --stack-budget=%lld or more\n",
                           need);
    ck_assert_msg(strstr(err, want), "%s", err);
    ck_assert_msg(need > 256 && need < 4096, "%s", err);
    char *old = tu_read(tu_path("m.c"), NULL);
    ck_assert_str_eq(old, "old\n");
    free(old);
    free(want);
    free(err);
    char *args = tu_printf("--stack-budget=%lld", need);
    check_stats_fit(args, need);
    free(args);
}
END_TEST

Suite *suite_ckpt(void);
Suite *suite_ckpt(void)
{
    Suite *s = suite_create("ckpt");
    TCase *tc = tcase_create("ckpt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_spring_bits);
    tcase_add_test(tc, test_spring_levels);
    tcase_add_test(tc, test_rnn_bits);
    tcase_add_test(tc, test_lstm_bits);
    tcase_add_test(tc, test_while_nested_bits);
    tcase_add_test(tc, test_workspace);
    tcase_add_test(tc, test_prime_trip);
    tcase_add_test(tc, test_stack_usage);
    tcase_add_test(tc, test_too_small);
    suite_add_tcase(s, tc);
    return s;
}
