/*
 * test_explain.c - dxc --explain: the chain-rule comments of the
 * gradients.  The exact comments of the seed examples and of a sigmoid;
 * only comments change (every model and example, compared with comments
 * stripped by the preprocessor); comments stay ASCII C whatever the
 * names, and the code compiles under gcc and clang with -Werror.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrun.h"
#include "progen.h"
#include "testutil.h"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* dxc ARGS in the temporary directory; its standard output. */
static char *dxc_out(const char *args)
{
    char *out = NULL, *err = NULL;
    ck_assert_msg(cr_dxc(args, &out, &err) == 0, "dxc %s: %s", args, err ? err : "");
    free(err);
    return out;
}

/* The C of dxc --explain FILE (under the source tree) holds want. */
static void says(const char *file, const char *want)
{
    char args[1024];
    snprintf(args, sizeof args, "--explain '%s/%s'", tu_root(), file);
    char *out = dxc_out(args);
    ck_assert_msg(out && strstr(out, want), "%s: no\n%s\nin:\n%s", file, want, out);
    free(out);
}

START_TEST(test_explain_seeds)
{
    says("examples/square.dx",
         "    *x_bar = 2.0 * x;  /* line 2: y = x^2; dy/dx = 2*x, so x_bar += y_bar * 2*x */\n");
    says("examples/neuron.dx",
         "    double drelu = t1 > 0.0 ? 1.0 : 0.0;  /* line 2: y = relu(t1); dy/dt1 = (t1 > 0 ? 1 : 0) */\n");
    says("examples/neuron.dx",
         "    *w_bar = t2 * x;  /* line 2: d(x * w)/dw = x, so w_bar += adj(x * w) * x */\n");
    says("examples/neuron.dx", "    double t2 = y_bar * drelu;  /* line 2: y = relu(t1); dy/dt1 = (t1 > 0 ? 1 : 0), "
                               "so t1_bar += y_bar * (t1 > 0 ? 1 : 0) */\n");
    /* a copy of t2, whose statement said its step: the step that makes b's adjoint */
    says("examples/neuron.dx", "    *b_bar = t2;  /* line 2: t1 = (x * w) + b; dt1/db = 1, so b_bar += t1_bar */\n");
    /* y_bar (the C name) holds err's adjoint too: the comment says both, in source names */
    says("examples/neuron.dx", "    double y_bar = 0.5 * (2.0 * err);  /* line 7: d(err^2)/derr = 2*err, "
                               "so err_bar += adj(err^2) * 2*err; line 6: err = y - target; derr/dy = 1, "
                               "so y_bar += err_bar */\n");
    /* (a + b) * c: the optimiser folds the adjoints to copies of c and s;
     * each still says its step */
    says("examples/graph.dx", "    *a_bar = c;  /* line 4: s = a + b; ds/da = 1, so a_bar += s_bar */\n");
    says("examples/graph.dx", "    *b_bar = c;  /* line 4: s = a + b; ds/db = 1, so b_bar += s_bar */\n");
    says("examples/graph.dx", "    *c_bar = s;  /* line 5: y = s * c; dy/dc = s, so c_bar += y_bar * s */\n");
}
END_TEST

START_TEST(test_explain_sigmoid)
{
    ck_assert_int_eq(tu_write(tu_path("s.dx"),
                              "fn logit(w, b, data x) {\n"
                              "    z = w * x + b\n"
                              "    p = sigmoid(z)\n"
                              "    return log(p) + z\n"
                              "}\n",
                              (size_t)-1),
                     0);
    char *out = dxc_out("--explain s.dx");
    const char *want[] = {
        "    double dsigmoid = p * dx_sigmoid(-z);  /* line 3: p = sigmoid(z); dp/dz = p*(1 - p) */\n",
        "    double dlog = 1.0 / p;  /* line 4: d(log(p))/dp = 1/p */\n",
        ("    double z_bar = 1.0 + dlog * dsigmoid;  /* line 3: p = sigmoid(z); dp/dz = p*(1 - p), "
         "so z_bar += p_bar * p*(1 - p) */\n"),
        "    *w_bar = z_bar * x;  /* line 2: d(w * x)/dw = x, so w_bar += adj(w * x) * x */\n",
        "    *b_bar = z_bar;  /* line 2: z = (w * x) + b; dz/db = 1, so b_bar += z_bar */\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(out, want[i]), "no\n%s\nin:\n%s", want[i], out);
    free(out);
}
END_TEST

/* With and without --explain, file f compiles to the same C once the
 * preprocessor strips the comments (gcc -fpreprocessed). */
static void same_code(const char *f)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' '%s' -o a.c && '%s' --explain '%s' -o b.c && "
             "gcc -fpreprocessed -dD -E -P a.c > a.i && gcc -fpreprocessed -dD -E -P b.c > b.i && "
             "cmp -s a.i b.i",
             tu_tmpdir(), tu_dxc(), f, tu_dxc(), f);
    char *err = NULL;
    int st = tu_run(cmd, NULL, &err);
    ck_assert_msg(st == 0, "%s: the code differs with --explain: %s", f, err ? err : "");
    free(err);
}

START_TEST(test_explain_only_comments)
{
    /* every model, example and benchmark */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && ls tests/models/*.dx examples/*.dx bench/*.dx", tu_root());
    char *list = NULL;
    ck_assert_int_eq(tu_run(cmd, &list, NULL), 0);
    int n = 0;
    for (char *save = NULL, *f = strtok_r(list, "\n", &save); f; f = strtok_r(NULL, "\n", &save), n++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", tu_root(), f);
        same_code(p);
    }
    ck_assert_int_gt(n, 15);
    free(list);
    /* and a sample of random programs */
    PgOpts po = pg_defaults();
    for (uint64_t seed = 1; seed <= 12; seed++) {
        PgProg g = pg_generate(seed, &po);
        char *text = pg_print(g.root), p[1024];
        snprintf(p, sizeof p, "%s/rand%llu.dx", tu_tmpdir(), (unsigned long long)seed);
        ck_assert_int_eq(tu_write(p, text, (size_t)-1), 0);
        same_code(p);
        free(text);
        pg_free(&g);
    }
}
END_TEST

START_TEST(test_explain_odd_names)
{
    ck_assert_int_eq(tu_write(tu_path("odd.dx"),
                              "fn f(int, _, x__bar, data y_bar) {\n"
                              "    double = int * _ / x__bar  # a */ comment /* \xc3\xa9\n"
                              "    p = sigmoid(double)\n"
                              "    return p ^ 3 / y_bar + max(_, int) - abs(x__bar) + atan2(int, _)"
                              " + hypot(_, x__bar) + min(p, 2) + tanh(_) * exp(int) / sqrt(x__bar)\n"
                              "}\n",
                              (size_t)-1),
                     0);
    free(dxc_out("--explain odd.dx -o odd.c"));
    char *out = tu_read(tu_path("odd.c"), NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_msg(strstr(out, "dp/ddouble_ = p*(1 - p), so double_bar += p_bar * p*(1 - p) */"), "%s", out);
    for (const char *q = out; *q; q++)
        ck_assert_msg((unsigned char)*q < 0x80, "non-ASCII output:\n%s", out);
    free(out);
    const char *cc[] = {"gcc", "clang"};
    for (int i = 0; i < 2; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -c odd.c -o odd.o", tu_tmpdir(),
                 cc[i]);
        char *err = NULL;
        ck_assert_msg(tu_run(cmd, NULL, &err) == 0, "%s: %s", cc[i], err ? err : "");
        free(err);
    }
}
END_TEST

/* A loop model: the tape writes say what they keep and why, the reverse
 * loop says it undoes the steps, the accumulations in it their step. */
START_TEST(test_explain_loop)
{
    char args[1024];
    snprintf(args, sizeof args, "--explain '%s/tests/models/lstm.dx'", tu_root());
    char *out = dxc_out(args);
    const char *want[] = {
        "h_tape[t * 4 + j] = h[j];  /* the tape keeps h at the start of iteration t: the backward pass reads "
        "it back for the local derivatives of that step instead of recomputing it */\n",
        "for (int t = 9; t >= 0; t--) {  /* backwards: undo step t of the forward loop, the last step first, "
        "each adjoint taking the local derivatives of that step */\n",
        "double t4 = h_tape[t * 4 + j];  /* h at the start of iteration t, recorded by the forward pass */\n",
        /* adjoint accumulations inside the reverse loop, in the source's names */
        "B_bar[2 * 4 + j] += t17;  /* line 20 reads B[2, j]: the adjoint of that read accumulates into "
        "B_bar[2, j] */\n",
        "U_bar[j] += t22 * t19;  /* line 18 reads U[0, j]: the adjoint of that read accumulates into U_bar[0, j] */\n",
        "h_bar_3[j] += t15 * exp(h_2[j] - t13);  /* line 24: d(exp(h_2[j] - t13))/d(h_2[j] - t13) = exp(h_2[j] - t13)",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(out, want[i]), "no\n%s\nin:\n%s", want[i], out);
    free(out);
    /* without the option, the plain words */
    snprintf(args, sizeof args, "'%s/tests/models/lstm.dx'", tu_root());
    out = dxc_out(args);
    ck_assert_ptr_nonnull(strstr(out, "for (int t = 9; t >= 0; t--) {  /* backwards */\n"));
    ck_assert_ptr_null(strstr(out, "reads it back"));
    free(out);
}
END_TEST

/* x / y * z and a division by a product: rule texts with '/' and '*'
 * side by side; every comment ends its line, and gcc -Werror takes it. */
START_TEST(test_explain_slash_star)
{
    ck_assert_int_eq(tu_write(tu_path("q.dx"),
                              "fn q(x, y, z) {\n    u = sin(x / y * z)\n    return u / y * z / (x*z)\n}\n",
                              (size_t)-1),
                     0);
    free(dxc_out("--explain q.dx -o q.c"));
    char *c = tu_read(tu_path("q.c"), NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_msg(strstr(c, "/* line 2: "), "no comment in:\n%s", c);
    /* a comment closed on its line closes at its end: nothing closed it early */
    for (char *l = c; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char *open = strstr(l, "/*"), *eol = strchr(l, '\n');
        if (!open || (eol && open > eol))
            continue;
        char *close = strstr(open + 2, "*/");
        if (!close || (eol && close > eol))
            continue; /* the file's head comment, over several lines */
        ck_assert_msg(close + 2 == (eol ? eol : close + 2),
                      "a comment that does not end its line:\n%.*s", (int)(eol ? eol - l : 80), l);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -Wcomment -c q.c -o q.o",
             tu_tmpdir());
    char *e2 = NULL;
    ck_assert_msg(tu_run(cmd, NULL, &e2) == 0, "gcc: %s", e2 ? e2 : "");
    free(e2);
    free(c);
}
END_TEST

Suite *suite_explain(void);

Suite *suite_explain(void)
{
    Suite *s = suite_create("explain");
    TCase *tc = tcase_create("explain");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_explain_seeds);
    tcase_add_test(tc, test_explain_sigmoid);
    tcase_add_test(tc, test_explain_only_comments);
    tcase_add_test(tc, test_explain_odd_names);
    tcase_add_test(tc, test_explain_loop);
    tcase_add_test(tc, test_explain_slash_star);
    suite_add_tcase(s, tc);
    return s;
}
