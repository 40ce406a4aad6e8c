/*
 * test_emitcheck.c - dxc --emit=check, the C file with a main program
 * that checks every entry point:
 *   - on every model of examples/ and tests/models (double, gcc; some in
 *     float and with clang, all strict, -lm alone) it passes, with a row
 *     for each check of each entry point;
 *   - it fails, exit status 1, with the rows of the checks a wrong
 *     derivative breaks (and only those), when the value an entry point
 *     hands the harness is off by 0.1% (the gradient, the tangent, the
 *     Hessian-vector product) or NaN;
 *   - the counts: data parameters are never perturbed, -c bounds the
 *     inputs checked one by one, -n the points, -s the seed changes the
 *     points; a bad argument is exit status 2 with the usage;
 *   - where f is not smooth at the points drawn (chaos, a branch that
 *     flips at the point itself) values are skipped, not failed; where derivatives overflow, they are skipped
 *     as overflows; where f is nowhere finite it fails;
 *   - --prefix, --entries and --only; a model function named like the
 *     harness's prefix; functions without parameters, with data only,
 *     of rank-3 arrays; a function named printf and --at are errors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

/* loss: 4 active inputs (w, b) and 4 data ones (x, y); layer: an array
 * result (f_vjp). */
static const char sq_dx[] = "fn loss(w[3], b, data x[3], data y) {\n"
                            "    p = sigmoid(dot(w, x) + b)\n"
                            "    return (p - y) ^ 2 + 0.01 * sum(w * w)\n"
                            "}\n"
                            "fn layer(W[2, 3], x[3]) -> real[2] {\n"
                            "    return tanh(W @ x)\n"
                            "}\n";

static void setup(void)
{
    ck_assert_int_eq(tu_write(tu_path("sq.dx"), sq_dx, (size_t)-1), 0);
}

static void teardown(void)
{
    tu_cleanup();
}

/* Runs cmd (malloc'ed, freed here) in the temp dir; its standard output
 * (malloc'ed) and *status its exit status. */
static char *run(char *cmd, int *status)
{
    char *full = tu_printf("cd '%s' && %s", tu_tmpdir(), cmd), *out = NULL, *err = NULL;
    *status = tu_run(full, &out, &err);
    if (err && *err)
        fprintf(stderr, "%s: %s", cmd, err);
    free(full);
    free(cmd);
    free(err);
    return out ? out : calloc(1, 1);
}

/* dxc ARGS --emit=check -o NAME.c, then CC strict into NAME. */
static void build(const char *cc, const char *args, const char *name)
{
    int st;
    char *out = run(tu_printf("'%s' %s --emit=check -o %s.c && %s " STRICT " %s.c -lm -o %s",
                              tu_dxc(), args, name, cc, name, name),
                    &st);
    ck_assert_msg(st == 0, "dxc %s, %s: status %d\n%s", args, cc, st, out);
    free(out);
}

/* ./NAME ARGS: its output; *status its exit status. */
static char *check_run(const char *name, const char *args, int *status)
{
    return run(tu_printf("./%s %s", name, args), status);
}

/* The row of out whose entry is `entry` and check starts with `check`
 * (malloc'ed, one line), or NULL. */
static char *row(const char *out, const char *entry, const char *check)
{
    size_t ne = strlen(entry);
    for (const char *l = out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        const char *c = l + ne;
        if (strncmp(l, entry, ne) || *c != ' ')
            continue;
        while (*c == ' ')
            c++;
        if (!strncmp(c, check, strlen(check))) {
            size_t n = strcspn(l, "\n");
            char *r = malloc(n + 1);
            memcpy(r, l, n);
            r[n] = 0;
            return r;
        }
    }
    return NULL;
}

/* The row's "compared" count and result word ("ok", "FAIL", "skipped"). */
static long row_count(const char *r, char *result)
{
    /* the last four fields: compared, worst rel err, err/tol, result */
    const char *f[8];
    int n = 0;
    for (const char *s = r + strlen(r); s > r && n < 4; s--)
        if (s[-1] == ' ' && s[0] != ' ')
            f[n++] = s;
    ck_assert_msg(n == 4, "row '%s'", r);
    sscanf(f[0], "%15s", result);
    return strtol(f[3], NULL, 10);
}

/* Asserts that out has the row with the result wanted; its count. */
static long want_row(const char *out, const char *entry, const char *check, const char *result)
{
    char *r = row(out, entry, check), word[16] = "";
    ck_assert_msg(r, "no row '%s ... %s' in\n%s", entry, check, out);
    long n = row_count(r, word);
    ck_assert_msg(!strcmp(word, result), "row '%s': %s, not %s, in\n%s", r, word, result, out);
    free(r);
    return n;
}

static const char *const grad_rows[] = {"central differences, input by input",
                                        "central differences along directions"};

/* Every check of a scalar function f with all its entry points. */
static void scalar_rows(const char *out, const char *f)
{
    char *g = tu_printf("%s_grad", f), *j = tu_printf("%s_jvp", f), *h = tu_printf("%s_hvp", f);
    want_row(out, f, "every entry point computes its value", "ok");
    for (int i = 0; i < 2; i++)
        want_row(out, g, grad_rows[i], "ok");
    want_row(out, j, "central differences along directions", "ok");
    want_row(out, j, "dot-product test with", "ok");
    want_row(out, h, "central differences of", "ok");
    want_row(out, h, "symmetry", "ok");
    free(g);
    free(j);
    free(h);
}

START_TEST(test_passes_on_the_models)
{
    /* every model of the repository, double, gcc -O2 */
    TuBuf list = {0};
    int st;
    char *files = run(tu_printf("cd '%s' && ls examples/*.dx tests/models/*.dx", tu_root()), &st);
    ck_assert_int_eq(st, 0);
    int n = 0;
    for (char *l = strtok(files, "\n"); l; l = strtok(NULL, "\n"), n++) {
        char *args = tu_printf("'%s/%s'", tu_root(), l);
        build("gcc -O2", args, "m");
        char *out = check_run("m", "", &st);
        ck_assert_msg(st == 0 && strstr(out, "checks passed"), "%s: status %d\n%s", l, st, out);
        ck_assert_msg(!strstr(out, "FAIL"), "%s\n%s", l, out);
        tu_bprintf(&list, "%s ", l);
        free(out);
        free(args);
    }
    ck_assert_msg(n >= 15, "only %d models: %s", n, list.s);
    free(files);
    free(list.s);
}
END_TEST

START_TEST(test_rows_and_counts)
{
    int st;
    build("gcc", "sq.dx", "sq");
    build("clang", "sq.dx", "sq2");
    char *out = check_run("sq", "", &st), *out2 = check_run("sq2", "", &st);
    ck_assert_int_eq(st, 0);
    ck_assert_msg(strstr(out, "gradient check of sq.dx (double): seed 1, 3 points per function"), "%s",
                  out);
    ck_assert_msg(strstr(out, "all 12 checks passed"), "%s", out);
    scalar_rows(out, "loss");
    /* w and b are active, x and y data: 4 inputs one by one at 3 points */
    ck_assert_int_eq(want_row(out, "loss_grad", grad_rows[0], "ok"), 12);
    ck_assert_int_eq(want_row(out, "loss_hvp", "central differences of loss_grad", "ok"), 12);
    /* the values: f_grad, f_jvp, f_hvp at 3 points */
    ck_assert_int_eq(want_row(out, "loss", "every entry point", "ok"), 9);
    /* an array result: f_vjp and f_jvp, no f_hvp */
    ck_assert_int_eq(want_row(out, "layer_vjp", grad_rows[0], "ok"), 27);
    ck_assert_int_eq(want_row(out, "layer_jvp", "central differences along", "ok"), 6);
    want_row(out, "layer_jvp", "dot-product test with layer_vjp", "ok");
    ck_assert_ptr_null(row(out, "layer_hvp", ""));
    /* gcc and clang print the same table (the same points, the same sums) */
    ck_assert_str_eq(out, out2);
    free(out2);
    free(out);

    /* -n, -c, -s */
    out = check_run("sq", "-n 1 -c 2", &st);
    ck_assert_int_eq(st, 0);
    ck_assert_int_eq(want_row(out, "loss_grad", grad_rows[0], "ok"), 2);
    ck_assert_int_eq(want_row(out, "layer_vjp", grad_rows[0], "ok"), 2);
    ck_assert_int_eq(want_row(out, "loss", "every entry point", "ok"), 3);
    ck_assert_msg(strstr(out, "seed 1, 1 point per function"), "%s", out);
    free(out);
    char *s1 = check_run("sq", "-s 1", &st), *s7 = check_run("sq", "-s 7", &st);
    ck_assert_int_eq(st, 0);
    ck_assert_msg(strstr(s7, "seed 7,"), "%s", s7);
    ck_assert_msg(strcmp(strstr(s1, "entry"), strstr(s7, "entry")), "-s 7 drew the points of -s 1");
    free(s1);
    free(s7);
    static const char *const bad[] = {"-n 0", "-x 1", "-s", "-c -3", "-r 0", "-n 1.5", "extra"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = check_run("sq", bad[i], &st);
        ck_assert_msg(st == 2 && strstr(out, "usage: ./sq [-s SEED]"), "%s: status %d\n%s", bad[i], st,
                      out);
        free(out);
    }
}
END_TEST

/* The harness with one entry point's result changed: in the wrapper of
 * kind w ('g', 'j' or 'h') of function k, `stmt` runs after the call. */
static void sabotage(const char *w, const char *stmt, const char *name)
{
    int st;
    char *out = run(tu_printf("'%s' sq.dx --emit=check -o %s.c && "
                              "sed -i '/^static void dxchk_%s0(/,/^}/ s/^}/    %s\\n}/' %s.c && "
                              "grep -cF '%s' %s.c && gcc " STRICT " %s.c -lm -o %s",
                              tu_dxc(), name, w, stmt, name, stmt, name, name, name),
                    &st);
    ck_assert_msg(st == 0 && atoi(out) == 1, "sabotage %s: status %d\n%s", name, st, out);
    free(out);
}

START_TEST(test_fails_on_wrong_derivatives)
{
    int st;
    /* the gradient's first input 0.1% off: both gradient checks, the
     * dot-product test and the Hessian's differences (of the gradient)
     * fail, the rest passes */
    sabotage("g", "dxchk_res[0] *= 1.001;", "g");
    char *out = check_run("g", "", &st);
    ck_assert_msg(st == 1, "status %d\n%s", st, out);
    want_row(out, "loss_grad", grad_rows[0], "FAIL");
    want_row(out, "loss_grad", grad_rows[1], "FAIL");
    want_row(out, "loss_jvp", "dot-product test", "FAIL");
    want_row(out, "loss_jvp", "central differences along", "ok");
    want_row(out, "loss_hvp", "central differences of", "FAIL");
    want_row(out, "loss_hvp", "symmetry", "ok");
    want_row(out, "layer_vjp", grad_rows[0], "ok");
    ck_assert_msg(strstr(out, "the worst of w[0] at point"), "%s", out);
    ck_assert_msg(strstr(out, "4 of 12 checks FAILED"), "%s", out);
    free(out);

    /* the tangent off: the jvp's checks fail, the gradient's pass */
    sabotage("j", "dxchk_res[0] *= 1.001;", "j");
    out = check_run("j", "", &st);
    ck_assert_msg(st == 1, "status %d\n%s", st, out);
    want_row(out, "loss_jvp", "central differences along", "FAIL");
    want_row(out, "loss_jvp", "dot-product test", "FAIL");
    want_row(out, "loss_grad", grad_rows[0], "ok");
    want_row(out, "loss_hvp", "central differences of", "ok");
    free(out);

    /* the Hessian-vector product off in one input: its differences and
     * its symmetry fail */
    sabotage("h", "dxchk_res[1] += 1e-3;", "h");
    out = check_run("h", "", &st);
    ck_assert_msg(st == 1, "status %d\n%s", st, out);
    want_row(out, "loss_hvp", "central differences of", "FAIL");
    want_row(out, "loss_hvp", "symmetry", "FAIL");
    want_row(out, "loss_grad", grad_rows[0], "ok");
    ck_assert_msg(strstr(out, "the worst of w[1] at point"), "%s", out);
    free(out);

    /* a NaN fails, and the value an entry point returns is checked */
    sabotage("g", "dxchk_res[3] = NAN;", "nan");
    out = check_run("nan", "", &st);
    ck_assert_msg(st == 1, "status %d\n%s", st, out);
    want_row(out, "loss_grad", grad_rows[0], "FAIL");
    ck_assert_msg(strstr(out, "the worst of b at point"), "%s", out);
    free(out);
    sabotage("j", "dxchk_out[0] += 1e-9;", "val");
    out = check_run("val", "", &st);
    ck_assert_msg(st == 1, "status %d\n%s", st, out);
    want_row(out, "loss", "every entry point computes its value", "FAIL");
    free(out);
}
END_TEST

START_TEST(test_float)
{
    static const char *const models[] = {"examples/neuron.dx", "examples/mlp.dx", "examples/tri.dx",
                                         "tests/models/spring.dx", "tests/models/lstm.dx"};
    int st;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char *args = tu_printf("--real=float '%s/%s'", tu_root(), models[i]);
        build(i % 2 ? "clang" : "gcc", args, "fl");
        char *out = check_run("fl", "", &st);
        ck_assert_msg(st == 0 && strstr(out, "(float)") && strstr(out, "checks passed"),
                      "%s: status %d\n%s", models[i], st, out);
        free(out);
        free(args);
    }
    /* the float program holds a double copy of the model, whose
     * differences are the references (the definitions counted, not the
     * declarations before them) */
    int st3;
    char *c = run(tu_printf("'%s' --real=float sq.dx --emit=check -o fc.c && grep -c "
                            "'^double dxchk_d_loss_grad(.*)$\\|^float loss_grad(.*)$\\|^void dxchk_d_layer_vjp(.*)$' fc.c",
                            tu_dxc()),
                  &st3);
    ck_assert_msg(st3 == 0 && atoi(c) == 3, "%s", c);
    free(c);
    /* a gradient 2% off fails in float too */
    int st2;
    char *out = run(tu_printf("'%s' --real=float sq.dx --emit=check -o f.c && "
                              "sed -i '/^static void dxchk_g0(/,/^}/ s/^}/    dxchk_res[0] *= 1.02f;\\n}/' f.c && "
                              "gcc " STRICT " f.c -lm -o f && ./f",
                              tu_dxc()),
                    &st2);
    ck_assert_msg(st2 == 1, "status %d\n%s", st2, out);
    want_row(out, "loss_grad", grad_rows[0], "FAIL");
    ck_assert_msg(!strstr(out, "takes another path"), "%s", out);
    free(out);
    /* a branch whose condition float rounds to the other side (three
     * -0.3f sum below -0.9f, three -0.3 do not reach -0.9): the float
     * gradient is 2a, the double references' 2, and the failure says why */
    ck_assert_int_eq(tu_write(tu_path("tie.dx"),
                              "fn f(a) = if sum(-0.3 for j in 0..3) < -0.9 then a * a else 2 * a\n",
                              (size_t)-1),
                     0);
    out = run(tu_printf("'%s' --real=float tie.dx --emit=check -o t.c && gcc " STRICT " t.c -lm -o t && ./t",
                        tu_dxc()),
              &st2);
    ck_assert_msg(st2 == 1 && strstr(out, "takes another path at that point"), "status %d\n%s", st2, out);
    want_row(out, "f_grad", grad_rows[0], "FAIL");
    free(out);
    out = run(tu_printf("'%s' tie.dx --emit=check -o t.c && gcc " STRICT " t.c -lm -o t && ./t", tu_dxc()),
              &st2);
    ck_assert_msg(st2 == 0, "in double: status %d\n%s", st2, out);
    free(out);
}
END_TEST

/* Where a maximum's elements are computed twice (the reduction, then the
 * count of its ties and each element's share of the adjoint), they must
 * round alike.  GCC in its GNU modes contracts a * b + c into a fused
 * multiply-add wherever the processor has one, and fuses where a product
 * has no other use: in peak's count, where exp(x[i] * w) is kept in a
 * tape for the backward pass, it fused otherwise than in the reduction,
 * the tie was missed and the gradient was 0.  The generated file turns
 * contraction off for its functions (a GCC pragma, C99's FP_CONTRACT
 * elsewhere): with -mfma, in gnu99, every check passes with gcc and with
 * clang; with those lines taken out, gcc's gradient fails.  (On a
 * processor without FMA, or not x86, the compilers here cannot show it:
 * the check then only compiles.) */
static const char spread_dx[] =
    "const N = 6\n"
    "fn spread(x[N], w, b) = min(x[i] * x[i] * w - b * x[i] for i in 0..N) + max(x[i] * w + b * x[i] for i in 0..N)\n"
    "fn peak(x[N], w, b) = max(exp(x[i] * w) * b + x[i] * w for i in 0..N)\n";

START_TEST(test_contraction)
{
    ck_assert_int_eq(tu_write(tu_path("spread.dx"), spread_dx, (size_t)-1), 0);
    int st;
    char *fma = run(tu_printf("grep -qw fma /proc/cpuinfo && echo '' | gcc -mfma -E - >/dev/null 2>&1 && echo yes"),
                    &st);
    int have = !strncmp(fma, "yes", 3);
    free(fma);
    const char *flags = have ? "-std=gnu99 -Wall -Wextra -Wpedantic -Werror -O2 -mfma"
                             : "-std=gnu99 -Wall -Wextra -Wpedantic -Werror -O2";
    const char *ccs[] = {"gcc", "clang"};
    for (int i = 0; i < 2; i++) {
        char *out = run(tu_printf("'%s' --emit=check spread.dx -o sp.c && grep -c 'fp-contract=off\\|FP_CONTRACT OFF' sp.c"
                                  " && %s %s sp.c -lm -o sp && ./sp",
                                  tu_dxc(), ccs[i], flags),
                        &st);
        ck_assert_msg(st == 0 && !strncmp(out, "2\n", 2), "%s %s: status %d\n%s", ccs[i], flags, st, out);
        scalar_rows(out, "spread");
        scalar_rows(out, "peak");
        free(out);
    }
    if (have) { /* without the pragmas, gcc fuses, and the tie is missed */
        char *out = run(tu_printf("grep -v 'pragma GCC\\|FP_CONTRACT' sp.c > bare.c && gcc %s bare.c -lm -o bare && "
                                  "./bare",
                                  flags),
                        &st);
        ck_assert_msg(st == 1, "status %d\n%s", st, out);
        want_row(out, "peak_grad", grad_rows[0], "FAIL");
        free(out);
    }
}
END_TEST

/* The x87 computes in long double (FLT_EVAL_METHOD 2): C99 rounds a value
 * to its type where it is assigned, and an expression keeps the wider
 * precision until then.  An element of a max is a variable, and so is
 * every operation of it, in every function (canalyse.c, force_rounded),
 * so that the reduction and the count of its ties compute it alike
 * (before, every gradient of spread was 0 there: the element inline in
 * the count never equalled the one assigned in the reduction).  GCC's
 * GNU modes do not round at assignments unless told (the file's pragma
 * excess-precision=standard: taken out, gnu99 fails), nor does GCC round
 * a library function's result, which it takes for a double where glibc's
 * cosh returns more bits (float-store: taken out, tie's gradient is 0
 * where its cosh is computed and kept in a tape); clang never rounds at
 * assignments, and the file says so with #error where it has a max or
 * min and clang computes in the x87.  Built for i686 with the cross
 * compiler, run under qemu-i386. */
static const char tie_dx[] =
    "fn tie(w, c) {\n"
    "    if w < c {\n"
    "        w = tanh(0.6)\n"
    "    }\n"
    "    return max(2 / cosh(w) for k in 0..2)\n"
    "}\n";

/* A min whose elements all tie, in a GEN the gradient takes apart: its
 * backward pass computes the elements again in a loop that keeps each in
 * a tape, which the count compares with the min.  That loop wrote the
 * element as one expression (s += t[l] * (x * d[l])), wider than the
 * rounded one of the min's loop on the x87, so no element tied and the
 * gradient was wrong; what a tape compared so keeps is rounded too
 * (force_rounded). */
static const char tape_tie_dx[] =
    "fn h(a[3, 3]) = sum([min(sum(sum(atan(a[1, k]) * 2 for k in 0..2) * (sin(a[i, i]) * atan(a[1, l]))\n"
    "                             for l in 0..2) for j3 in 1..3) for i in 0..3, j in 0..3] @ a)\n";

/* dxc --emit=check MODEL (with ARGS), its C passed through FILTER (a
 * shell command, "cat" for none), built for i686 with STD and run under
 * qemu-i386; the program's output, its status in *st. */
static char *x87_run(const char *model, const char *args, const char *filter, const char *std, int *st)
{
    return run(tu_printf("'%s' %s --emit=check %s -o x.c && %s x.c > x87.c && i686-linux-gnu-gcc %s -Wall -Wextra "
                         "-Wpedantic -Werror -O2 -static x87.c -lm -o x87 && qemu-i386 ./x87",
                         tu_dxc(), args, model, filter, std),
               st);
}

START_TEST(test_x87)
{
    if (!tu_have("i686-linux-gnu-gcc") || !tu_have("qemu-i386")) {
        fprintf(stderr, "test_x87 SKIPPED: i686-linux-gnu-gcc or qemu-i386 is not installed (.ci/run installs "
                        "them: apt-get install gcc-i686-linux-gnu libc6-dev-i386-cross qemu-user)\n");
        return;
    }
    ck_assert_int_eq(tu_write(tu_path("spread.dx"), spread_dx, (size_t)-1), 0);
    ck_assert_int_eq(tu_write(tu_path("tie.dx"), tie_dx, (size_t)-1), 0);
    ck_assert_int_eq(tu_write(tu_path("tapetie.dx"), tape_tie_dx, (size_t)-1), 0);
    int st;
    const char *cases[][3] = {
        {"spread.dx", "", "-std=c99"}, {"spread.dx", "", "-std=gnu99"}, {"spread.dx", "--real=float", "-std=c99"},
        {"tie.dx", "", "-std=c99"},    {"tie.dx", "", "-std=gnu99"},    {"tapetie.dx", "", "-std=c99"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = x87_run(cases[i][0], cases[i][1], "cat", cases[i][2], &st);
        ck_assert_msg(st == 0 && strstr(out, "checks passed"), "%s %s %s: status %d\n%s", cases[i][0], cases[i][1],
                      cases[i][2], st, out);
        free(out);
    }
    /* each half of the pragma taken out, the ties are missed: without
     * excess-precision=standard, GCC's GNU mode keeps the x87's precision
     * past assignments; without float-store, the cosh kept in the tape is
     * rounded and the one the maximum was found with is not */
    const char *sabotage[][4] = {
        {"spread.dx", "grep -v excess-precision", "-std=gnu99", "spread_grad"},
        {"tie.dx", "sed 's/, \"float-store\"//'", "-std=c99", "tie_grad"},
    };
    for (size_t i = 0; i < sizeof sabotage / sizeof sabotage[0]; i++) {
        char *out = x87_run(sabotage[i][0], "", sabotage[i][1], sabotage[i][2], &st);
        ck_assert_msg(st == 1, "%s, %s: status %d\n%s", sabotage[i][0], sabotage[i][1], st, out);
        want_row(out, sabotage[i][3], grad_rows[0], "FAIL");
        free(out);
    }
    char *c = tu_read(tu_path("x.c"), NULL); /* tie.dx's, whole */
    ck_assert_ptr_nonnull(c);
    ck_assert_msg(strstr(c, "\"excess-precision=standard\", \"float-store\""), "no x87 pragma");
    free(c);
    if (tu_have("clang")) {
        /* clang on the x87: refused where a max's ties are counted, with
         * what to do; with SSE2 arithmetic, every check passes; a file
         * without max or min is not refused, nor one with f alone */
        char *out = run(tu_printf("'%s' --emit=check spread.dx -o x.c && clang --target=i686-linux-gnu " STRICT
                                  " -c x.c -o x.o 2>&1; echo status $?",
                                  tu_dxc()),
                        &st);
        ck_assert_msg(strstr(out, "error: \"clang keeps x87 precision past assignments: compile with -msse2 "
                                  "-mfpmath=sse\"") && strstr(out, "status 1"),
                      "%s", out);
        free(out);
        out = run(tu_printf("clang --target=i686-linux-gnu -msse2 -mfpmath=sse " STRICT
                            " -O2 -static x.c -lm -o x 2>&1 && qemu-i386 ./x"),
                  &st);
        ck_assert_msg(st == 0 && strstr(out, "checks passed"), "status %d\n%s", st, out);
        free(out);
        ck_assert_int_eq(tu_write(tu_path("plain.dx"), "fn f(x, w) = tanh(x * w) * w\n", (size_t)-1), 0);
        static const char *const not_refused[] = {"plain.dx", "spread.dx --entries=f"};
        for (size_t i = 0; i < sizeof not_refused / sizeof not_refused[0]; i++) {
            out = run(tu_printf("'%s' %s -o p.c && ! grep -q '#error' p.c && clang --target=i686-linux-gnu " STRICT
                                " -c p.c -o p.o 2>&1",
                                tu_dxc(), not_refused[i]),
                      &st);
            ck_assert_msg(st == 0, "%s: status %d\n%s", not_refused[i], st, out);
            free(out);
        }
    }
}
END_TEST

START_TEST(test_skips)
{
    int st;
    /* a tanh network of 32 units with weights up to 1, over 50 steps, is
     * chaotic: its differences do not settle, and are skipped, not
     * failed; with weights up to 0.3 every value is compared */
    char *args = tu_printf("'%s/bench/rnn.dx'", tu_root());
    build("gcc -O2", args, "rnn");
    char *out = check_run("rnn", "", &st);
    ck_assert_msg(st == 0 && strstr(out, "skipped") && strstr(out, "did not settle") &&
                      !strstr(out, "FAIL"),
                  "status %d\n%s", st, out);
    free(out);
    out = check_run("rnn", "-r 0.3", &st);
    ck_assert_msg(st == 0 && !strstr(out, "skipped") && strstr(out, "all 7 checks passed"),
                  "status %d\n%s", st, out);
    free(out);
    free(args);

    /* 10^6 steps of a spring: at some points its derivatives overflow */
    args = tu_printf("'%s/bench/spring_long.dx'", tu_root());
    build("gcc -O2", args, "spring");
    out = check_run("spring", "-r 0.3", &st);
    ck_assert_msg(st == 0 && strstr(out, "not finite where a derivative overflows"), "status %d\n%s",
                  st, out);
    free(out);
    free(args);

    /* a branch on an equality of reals flips at isolated points: where
     * it flips at x itself f jumps there, and the values are skipped */
    ck_assert_int_eq(tu_write(tu_path("eq.dx"), "fn f(x) = if log(exp(x)) == x then x + 0.9 else 3 * x\n",
                              (size_t)-1),
                     0);
    build("gcc", "eq.dx", "eq");
    out = check_run("eq", "-n 20", &st);
    ck_assert_msg(st == 0 && strstr(out, "more skipped") && strstr(out, "all 7 checks passed"),
                  "status %d\n%s", st, out);
    free(out);

    /* nowhere finite: a failure */
    ck_assert_int_eq(tu_write(tu_path("nan.dx"), "fn f(x) = log(-1 - x * x)\n", (size_t)-1), 0);
    build("gcc", "nan.dx", "nan");
    out = check_run("nan", "", &st);
    ck_assert_msg(st == 1 && strstr(out, "no point where it is finite (3 of 3 points)  FAIL"),
                  "status %d\n%s", st, out);
    free(out);
}
END_TEST

START_TEST(test_options_and_names)
{
    int st;
    build("clang", "--prefix=my_ sq.dx", "p");
    char *out = check_run("p", "", &st);
    ck_assert_msg(st == 0, "%s", out);
    scalar_rows(out, "my_loss");
    free(out);

    build("gcc", "--entries=grad sq.dx", "e");
    out = check_run("e", "", &st);
    ck_assert_msg(st == 0 && strstr(out, "all 6 checks passed"), "%s", out);
    want_row(out, "loss_grad", grad_rows[1], "ok");
    ck_assert_ptr_null(row(out, "loss_jvp", ""));
    ck_assert_ptr_null(row(out, "loss_hvp", ""));
    free(out);

    build("gcc", "--only=layer --real=float sq.dx", "o");
    out = check_run("o", "", &st);
    ck_assert_msg(st == 0 && strstr(out, "all 5 checks passed") && !strstr(out, "loss"), "%s", out);
    free(out);

    /* functions named like the harness's names and the C library's */
    ck_assert_int_eq(tu_write(tu_path("names.dx"),
                              "fn dxchk_f0(x) = x * x\n"
                              "fn fabsx(x) = abs(x) + x\n"
                              "fn inn(dxchk_in, out) = dxchk_in * out\n"
                              "fn res(x) = dxchk_f0(x) + inn(x, x)\n",
                              (size_t)-1),
                     0);
    build("gcc", "names.dx", "names");
    out = check_run("names", "", &st);
    ck_assert_msg(st == 0 && strstr(out, "checks passed"), "%s", out);
    free(out);

    /* shapes: no parameter, data only, a rank-3 parameter and a
     * rank-2 result */
    ck_assert_int_eq(tu_write(tu_path("shapes.dx"),
                              "fn c() = 1.5\n"
                              "fn d(data x, data y[2]) = x * y[0]\n"
                              "fn big(w[3, 4, 5], data t) -> real[2, 3] {\n"
                              "    return [sum(w[i, j, k] for k in 0..5) * t for i in 0..2, j in 0..3]\n"
                              "}\n",
                              (size_t)-1),
                     0);
    build("gcc", "shapes.dx", "shapes");
    build("clang", "shapes.dx", "shapes2");
    out = check_run("shapes", "", &st);
    ck_assert_msg(st == 0 && strstr(out, "all 15 checks passed"), "%s", out);
    ck_assert_int_eq(want_row(out, "big_vjp", grad_rows[0], "ok"), 180);
    ck_assert_int_eq(want_row(out, "big", "every entry point", "ok"), 36);
    want_row(out, "c_hvp", "symmetry", "ok");
    ck_assert_ptr_null(row(out, "d_grad", grad_rows[0]));
    free(out);

    /* errors */
    /* dxc refuses a function named printf in a .dx file, but not in
     * IR text */
    ck_assert_int_eq(tu_write(tu_path("pr.dx"), "fn pr(x) = x * x\n", (size_t)-1), 0);
    out = run(tu_printf("'%s' pr.dx --emit=ir | sed 's/\\bpr\\b/printf/g; s/\\bpr_/printf_/g' > p.ir && "
                        "echo keep > p.c; '%s' p.ir --emit=check -o p.c 2>&1; echo status $?; cat p.c",
                        tu_dxc(), tu_dxc()),
              &st);
    ck_assert_msg(strstr(out, "printf.dx:1:4: error: --emit=check: the check program calls the C "
                              "library's printf") &&
                      strstr(out, "status 1\nkeep\n"),
                  "%s", out);
    free(out);
    out = run(tu_printf("'%s' sq.dx --emit=check --at w=1 2>&1; echo status $?", tu_dxc()), &st);
    ck_assert_msg(strstr(out, "not in --emit=check") && strstr(out, "status 1"), "%s", out);
    free(out);
}
END_TEST

Suite *suite_emitcheck(void);
Suite *suite_emitcheck(void)
{
    Suite *s = suite_create("emitcheck");
    TCase *tc = tcase_create("emitcheck");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_passes_on_the_models);
    tcase_add_test(tc, test_rows_and_counts);
    tcase_add_test(tc, test_fails_on_wrong_derivatives);
    tcase_add_test(tc, test_float);
    tcase_add_test(tc, test_contraction);
    tcase_add_test(tc, test_x87);
    tcase_add_test(tc, test_skips);
    tcase_add_test(tc, test_options_and_names);
    suite_add_tcase(s, tc);
    return s;
}
