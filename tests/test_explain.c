/*
 * test_explain.c - dxc --explain: the chain-rule comments of the
 * gradients.  The exact comments of the seed examples and of a sigmoid;
 * only comments change (every model and example, compared with comments
 * stripped by the preprocessor); comments stay ASCII C whatever the
 * names, and the code compiles under gcc and clang with -Werror.
 */
#include <check.h>
#include <ctype.h>
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

/* The C of dxc --explain FILE (under the source tree) holds want. */
static void says(const char *file, const char *want)
{
    char args[1024];
    snprintf(args, sizeof args, "--explain '%s/%s'", tu_root(), file);
    char *out = cr_dxc_ok(args);
    ck_assert_msg(out && strstr(out, want), "%s: no\n%s\nin:\n%.3000s", file, want, out);
    free(out);
}

START_TEST(test_explain_seeds)
{
    says("examples/square.dx",
         "    *x_bar = 2.0 * x;  /* line 2: square = x^2; dsquare/dx = 2*x, so x_bar += square_bar * 2*x */\n");
    /* an unnamed operand (the C temporary t1) as the source writes it */
    says("examples/neuron.dx", "    double drelu = t1 > 0.0 ? 1.0 : 0.0;  /* line 2: y = relu(x * w + b); "
                               "dy/d(x * w + b) = ((x * w + b) > 0 ? 1 : 0) */\n");
    says("examples/neuron.dx",
         "    *w_bar = t2 * x;  /* line 2: d(x * w)/dw = x, so w_bar += adj(x * w) * x */\n");
    says("examples/neuron.dx", "    double t2 = dx_mulz(y_bar, drelu);  /* line 2: y = relu(x * w + b); dy/d(x * w + b) = "
                               "((x * w + b) > 0 ? 1 : 0), so adj(x * w + b) += y_bar * ((x * w + b) > 0 ? 1 : 0) */\n");
    /* a copy of t2: the step that makes b's adjoint */
    says("examples/neuron.dx", "    *b_bar = t2;  /* line 2: d(x * w + b)/db = 1, so b_bar += adj(x * w + b) */\n");
    /* y_bar (the C name) holds err's adjoint too: the comment says both, in source names */
    says("examples/neuron.dx", "    double y_bar = 0.5 * (2.0 * err);  /* line 7: d(err^2)/derr = 2*err, "
                               "so err_bar += adj(err^2) * 2*err; line 6: err = y - target; derr/dy = 1, "
                               "so y_bar += err_bar */\n");
    /* (a + b) * c: the optimiser folds the adjoints to copies of c and s;
     * each still says its step */
    says("examples/graph.dx", "    *a_bar = c;  /* line 4: s = a + b; ds/da = 1, so a_bar += s_bar */\n");
    says("examples/graph.dx", "    *b_bar = c;  /* line 4: s = a + b; ds/db = 1, so b_bar += s_bar */\n");
    /* the value returned, unnamed in the source: named after the function */
    says("examples/graph.dx", "    *c_bar = s;  /* line 5: f = s * c; df/dc = s, so c_bar += f_bar * s */\n");
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
    char *out = cr_dxc_ok("--explain s.dx");
    const char *want[] = {
        "    double dsigmoid = dx_dsigmoid(z);  /* line 3: p = sigmoid(z); dp/dz = p*(1 - p) */\n",
        "    double dlog = 1.0 / p;  /* line 4: d(log(p))/dp = 1/p */\n",
        ("    double z_bar = 1.0 + dlog * dsigmoid;  /* line 3: p = sigmoid(z); dp/dz = p*(1 - p), "
         "so z_bar += p_bar * p*(1 - p) */\n"),
        "    *w_bar = z_bar * x;  /* line 2: d(w * x)/dw = x, so w_bar += adj(w * x) * x */\n",
        "    *b_bar = z_bar;  /* line 2: z = w * x + b; dz/db = 1, so b_bar += z_bar */\n",
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

static void same_code_each(const char *f, void *arg)
{
    (void)arg;
    same_code(f);
}

START_TEST(test_explain_only_comments)
{
    /* every model, example and benchmark */
    ck_assert_int_gt(tu_each_model(same_code_each, NULL), 15);
    /* and a sample of random programs (the notes of negations taken into
     * sums once read a rule with no operand: a crash) */
    PgOpts po = pg_defaults();
    for (uint64_t seed = 1; seed <= 80; seed++) {
        char *p = pg_save(seed, &po, tu_tmpdir());
        same_code(p);
        free(p);
    }
}
END_TEST

/* A random program whose gradient takes a negation made by a rule with
 * no operand (a sum's "-" as a whole) into an accumulation: --explain
 * once read that rule's operand (there is none) and crashed; now it
 * writes the same code as without --explain. */
START_TEST(test_explain_negation_without_operand)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/neg.dx", tu_tmpdir());
    ck_assert_int_eq(tu_write(p,
        "const c1 = 0.25\n"
        "const c2 = 0.1\n"
        "fn g1(z, x) {\n"
        "    if not (acos(c1) > min([(-1.18) for i1 in 0..2, j2 in 0..1])) {\n"
        "        z = c1\n"
        "        v3 = asin(asin(c2))\n"
        "    } else {\n"
        "        z = logsumexp(sinh(cos([1.5 for i4 in 0..2])))\n"
        "        v5 = [c2, (-0.25), z]\n"
        "    }\n"
        "    v6 = exp(asin((0.9 * sin([z, z]))))\n"
        "    for t7 in 0..5 {\n"
        "        z = 0.39\n"
        "        v9 = prod(erf(v6[0]) for j8 in t7..5)\n"
        "        v9 = norm([v9])\n"
        "    }\n"
        "    v12 = sum(norm(hypot([0.5, x, v6[0], z], cosh([z for i11 in 0..4]))) for j10 in 0..3)\n"
        "    return (0.63 * atan(((if min([c2, (-0.9), z]) > z then [[v6[1], v6[1], c2, (-2.5)], [c1, v12, c2, c1]] else (if v12 > c1 then [[(-0.9) for i13 in 0..4], [0.81 for i14 in 0..4]] else [[v12 for i15 in 0..4], [v6[1] for i16 in 0..4]])) @ [[v6[i17] for i17 in 0..1], [x for i18 in 0..1], [c1], [v6[0] for i19 in 2..3]])))\n"
        "}\n"
        "fn g2(A[1, 3], data u[3, 3], c, data W[1, 1]) {\n"
        "    v21 = sum(A[2 * j20, 0 - j20] for j20 in 0..1)\n"
        "    return [([u[0, 0] for i22 in 0..4] * [0.75, c, A[0, 1], 0.25]), [u[1, 0], c, 1.06, c]]\n"
        "}\n"
        "fn g3(A[3, 3]) -> real {\n"
        "    A = [A[2], [A[0, 2], 0.25, A[0, 0]], A[0]]\n"
        "    v31 = [sin((([A[i23, 0 - i23] for i25 in 0..4] @ [A[i23, 0] for i26 in 0..4, j27 in 0..3]) @ ([A[2, i28] for i28 in 0..3, j29 in 0..1] @ [A[i30, i30] for i30 in 1..2]))) for i23 in 0..1, j24 in 0..4]\n"
        "    return max(((-v31[0, 2]) / exp(sin(dot([v31[0, 3], v31[0, 0]], [(-2) for i32 in 0..2])))), hypot(([[c1, A[1, 0]]])[0, 0], (abs(tan(c1)) + 0.5)))\n"
        "}\n"
        "fn f(z) {\n"
        "    v35 = (sqrt(hypot([(-0.5) for i33 in 0..4, j34 in 0..4], 0.5)) @ hypot(asin((0.9 * sin([c1, c1, c1, 1.8]))), (abs([z, c2, 0.98, 0.3]) + 0.5)))\n"
        "    if (-1.25) > mean([v35[3 - j37] for i36 in 2..5, j37 in 0..3]) {\n"
        "        v35 = (if min(0.1 for j38 in 1..4) >= v35[3] then sin([0.9 for i39 in 1..5]) else [mean([j42 for i41 in 0..3, j42 in 0..1]) for i40 in 0..4])\n"
        "        v44 = asin((0.9 * tanh(min(sin(pi) for j43 in 0..3))))\n"
        "    }\n"
        "    v48 = [[z for i45 in 1..2, j46 in 0..2], cos(outer([v35[i47] for i47 in 0..1], [(-0.35), v35[1]]))]\n"
        "    v48 = [[1 for i49 in 0..1, j50 in 0..2], [1.64 for i51 in 2..3, j52 in 2..4]]\n"
        "    return (cosh(g3([z for i53 in 0..3, j54 in 0..3])) - v48[1, 0, 1])\n"
        "}\n",
                              (size_t)-1),
                     0);
    same_code(p);
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
    free(cr_dxc_ok("--explain odd.dx -o odd.c"));
    char *out = tu_read(tu_path("odd.c"), NULL);
    ck_assert_ptr_nonnull(out);
    /* the source's name (double), not the C one (double_) */
    ck_assert_msg(strstr(out, "dp/ddouble = p*(1 - p), so double_bar += p_bar * p*(1 - p) */"), "%s", out);
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
    char *out = cr_dxc_ok(args);
    const char *want[] = {
        /* the tape says which derivatives need it */
        "h_tape[(t + 1) * 4 + j] = h_2[j];  /* the tape keeps h at the end of iteration t: the backward "
        "pass needs it for d(exp(h[j] - max))/d(h[j] - max) = exp(h[j] - max) (line 24); "
        "d(U[2, j] * h[j])/dU[2, j] = h[j] (line 20); and 3 more */\n",
        "for (int t = 9; t >= 0; t--) {  /* backwards: undo step t of the forward loop, the last step first, "
        "each adjoint taking the local derivatives of that step */\n",
        "double t16 = h_tape[t * 4 + j];  /* h at the start of iteration t, recorded by the forward pass */\n",
        /* adjoint accumulations inside the reverse loop, in the source's names */
        "B_bar[2 * 4 + j] += t14;  /* line 20 reads B[2, j]: the adjoint of that read accumulates into "
        "B_bar[2, j] */\n",
        "U_bar[j] += t19 * t16;  /* line 18: d(U[0, j] * h[j])/dU[0, j] = h[j], so U_bar[0, j] += "
        "adj(U[0, j] * h[j]) * h[j] */\n",
        /* a negation taken into an accumulation says its step, then the
         * product's */
        "h_bar_3[j] -= loss_bar * Y[t * 4 + j];  /* line 24: loss = z - (Y @ h)[t]; dloss/d((Y @ h)[t]) = -1, "
        "so adj((Y @ h)[t]) -= loss_bar, where z = 0 + (max + log(sum)); d(Y[t, j] * h[j])/dh[j] = Y[t, j], "
        "so h_bar[j] += adj(Y[t, j] * h[j]) * Y[t, j] */\n",
        /* a tape row of h and t11 (a tape read of a max) in the source's names */
        "h_bar_3[j] += t12 * DX_EXP(h_tape[(t + 1) * 4 + j] - t11);  /* line 24: d(exp(h[j] - max))/d(h[j] - max) = "
        "exp(h[j] - max)",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(out, want[i]), "no\n%s\nin:\n%s", want[i], out);
    free(out);
    /* without the option, the plain words */
    snprintf(args, sizeof args, "'%s/tests/models/lstm.dx'", tu_root());
    out = cr_dxc_ok(args);
    ck_assert_ptr_nonnull(strstr(out, "for (int t = 9; t >= 0; t--) {  /* backwards */\n"));
    ck_assert_ptr_null(strstr(out, "reads it back"));
    ck_assert_ptr_null(strstr(out, "needs it for"));
    free(out);
}
END_TEST

/* Is s (length n) a name, maybe an element: x, h_bar_2[j], B[2 * 4 + j]? */
static int is_ref(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
        i++;
    if (i == 0 || i == n)
        return i == n && i > 0;
    if (s[i] != '[' || s[n - 1] != ']')
        return 0;
    for (size_t k = i + 1; k < n - 1; k++)
        if (s[k] == '[' || s[k] == ']')
            return 0;
    return 1;
}

/* The adjoint statements of function fn's backward pass (from its
 * "backward pass" comment to its closing brace) in the C text c that
 * have no comment, appended to *miss, and how many there are.  An
 * adjoint statement is an assignment (=, +=, -=) whose target's name
 * holds "_bar" (x_bar, h_bar_2[j], *k_bar), or to a temporary t<N> whose
 * right side reads such a name; not counted, as no rule makes them: a
 * fill with 0.0, a plain copy (x_bar = x_bar_2, h_bar[j] = h_bar_2[j])
 * and a loop header before a statement is skipped. */
static int uncommented(const char *c, const char *fn, char **miss)
{
    char head[256];
    snprintf(head, sizeof head, " %s(", fn);
    const char *p = strstr(c, head);
    while (p && (strchr(p, '\n') ? strchr(p, '\n')[-1] == ';' : 1))
        p = strstr(p + 1, head);
    ck_assert_msg(p, "no definition of %s", fn);
    const char *end = strstr(p, "\n}\n"), *back = strstr(p, "backward pass");
    ck_assert_msg(end && back && back < end, "%s: no backward pass", fn);
    int n = 0;
    for (const char *l = strchr(back, '\n') + 1; l < end; l = strchr(l, '\n') + 1) {
        const char *eol = strchr(l, '\n'), *com = strstr(l, "/*");
        const char *stop = com && com < eol ? com : eol;
        while (*l == ' ')
            l++;
        const char *line = l;
        if (!strncmp(l, "for (", 5)) { /* for (...) x[i] = y; */
            int depth = 0;
            const char *q = l;
            for (; q < stop; q++) {
                depth += *q == '(' ? 1 : *q == ')' ? -1 : 0;
                if (*q == ')' && !depth)
                    break;
            }
            l = q < stop ? q + 1 : stop;
            while (*l == ' ')
                l++;
        }
        if (!strncmp(l, "double ", 7))
            l += 7;
        const char *semi = stop;
        while (semi > l && semi[-1] == ' ')
            semi--;
        if (semi == l || semi[-1] != ';')
            continue;
        semi--;
        const char *eq = strstr(l, " = "), *pe = strstr(l, " += "), *me = strstr(l, " -= ");
        const char *op = pe && pe < semi ? pe : me && me < semi ? me : eq && eq < semi ? eq : NULL;
        if (!op)
            continue;
        const char *rhs = op + (op == eq ? 3 : 4);
        char lhs[256], right[512];
        snprintf(lhs, sizeof lhs, "%.*s", (int)(op - l), l);
        snprintf(right, sizeof right, "%.*s", (int)(semi - rhs), rhs);
        int temp = lhs[0] == 't' && isdigit((unsigned char)lhs[1]);
        if (!strstr(lhs, "_bar") && !(temp && strstr(right, "_bar")))
            continue;
        if (!strcmp(right, "0.0") || (op == eq && is_ref(right, strlen(right))))
            continue;
        n++;
        if (!(com && com < eol)) {
            size_t k = *miss ? strlen(*miss) : 0, m = (size_t)(eol - line);
            *miss = realloc(*miss, k + m + 64);
            snprintf(*miss + k, m + 64, "%s: %.*s\n", fn, (int)m, line);
        }
    }
    return n;
}

/* Every adjoint statement a rule made has its comment, in the backward
 * passes of loop models (the reverse loop recomputes or reads back the
 * values the rules name) and of the MLP; a sample says what it says. */
START_TEST(test_explain_every_statement)
{
    static const char *const models[][2] = {
        {"tests/models/spring.dx", "spring_grad"}, {"tests/models/rnn.dx", "rnn_grad"},
        {"tests/models/lstm.dx", "lstm_grad"},     {"tests/models/mlp.dx", "mlp_grad"},
        {"tests/models/flip.dx", "flip_grad"},     {"tests/models/nested.dx", "sweep_grad"},
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char args[1024];
        snprintf(args, sizeof args, "--explain '%s/%s'", tu_root(), models[i][0]);
        char *out = cr_dxc_ok(args), *miss = NULL;
        int n = uncommented(out, models[i][1], &miss);
        ck_assert_msg(n >= 4, "%s: only %d adjoint statements found", models[i][1], n);
        ck_assert_msg(!miss, "adjoint statements without a comment:\n%s", miss);
        free(out);
    }
    /* in the reverse loop: the rule of a product the loop did not
     * recompute, the carried adjoint's update, the seed, the tapes */
    says("tests/models/spring.dx", "        v_bar += x_bar * 0.001;  /* line 16: d(0.001 * v)/dv = 0.001, "
                                   "so v_bar += adj(0.001 * v) * 0.001 */\n");
    says("tests/models/spring.dx", "        x_bar = x_bar - a_bar * k;  /* line 15: d(-k * x)/dx = (-k), "
                                   "so x_bar += adj(-k * x) * (-k) */\n");
    /* a negation taken into an accumulation: both its step and the
     * product's */
    says("tests/models/spring.dx", "        c_bar_2 -= a_bar * v_2;  /* line 15: a = -k * x - c * v; da/d(c * v) "
                                   "= -1, so adj(c * v) -= a_bar; d(c * v)/dc = v, so c_bar += adj(c * v) * v */\n");
    says("tests/models/spring.dx", "        k_bar_2 -= a_bar * x_2;  /* line 15: d(-k)/dk = -1, so k_bar -= adj(-k); "
                                   "d(-k * x)/d(-k) = x, so adj(-k) += adj(-k * x) * x */\n");
    says("tests/models/spring.dx", "    double x_bar = 1.0;  /* the seed: the function returns x, and dx/dx = 1 */\n");
    says("tests/models/spring.dx", "        v_tape[i] = v;  /* the tape keeps v at the start of iteration i: the "
                                   "backward pass needs it for d(c * v)/dc = v (line 15) */\n");
    /* a sum seen as the source wrote it; h of the line that assigns h:
     * which one */
    says("tests/models/rnn.dx", "where z = (Wh @ h)[j] + (Wx @ X[t])[j] + b[j] */\n");
    says("tests/models/rnn.dx", "                Wh_bar[j * 4 + k] += t2 * h_tape[t * 4 + k];  /* line 14: "
                                "d(Wh[j, k] * h[k])/dWh[j, k] = h[k], so Wh_bar[j, k] += adj(Wh[j, k] * h[k]) "
                                "* h[k]; h is the value at the start of iteration t */\n");
    says("tests/models/rnn.dx", "        sum_tape[t] = s_3;  /* the tape keeps sum of iteration t: the backward "
                                "pass needs it for d(e * e)/de = e (line 16) */\n");
    /* a sum's operand accumulated as it is: a_bar += x_bar */
    says("tests/models/flip.dx", "            a_bar_2 += x_bar;  /* line 12: x = x * 0.5 + a; dx/da = 1, "
                                 "so a_bar += x_bar */\n");
    /* x * x in a while loop: which x it is, said once */
    says("examples/newton_sqrt.dx", "        x_bar += (t7 + t7) * x_2;  /* line 7: d(x * x)/dx = x, so x_bar "
                                    "+= adj(x * x) * x; x is the value at the start of iteration iter */\n");
}
END_TEST

/* The counter itself: a statement without its comment is found, a copy
 * and a fill are not counted. */
START_TEST(test_explain_counter)
{
    const char *c = "double f_grad(double x)\n{\n    /* backward pass: adjoints */\n"
                    "    double x_bar = 0.0;\n    x_bar = x_bar_2;\n"
                    "    for (int i = 0; i < 4; i++) h_bar[i] = h_bar_2[i];\n"
                    "    x_bar += t1 * 2.0;  /* line 2: ... */\n"
                    "    double t3 = -a_bar;\n    *k_bar = k_bar_2;\n    w_bar[j] += t3 * h[j];\n}\n";
    char *miss = NULL;
    ck_assert_int_eq(uncommented(c, "f_grad", &miss), 3);
    ck_assert_ptr_nonnull(miss);
    ck_assert_ptr_nonnull(strstr(miss, "double t3 = -a_bar;"));
    ck_assert_ptr_nonnull(strstr(miss, "w_bar[j] += t3 * h[j];"));
    free(miss);
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
    free(cr_dxc_ok("--explain q.dx -o q.c"));
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
    tcase_add_test(tc, test_explain_every_statement);
    tcase_add_test(tc, test_explain_negation_without_operand);
    tcase_add_test(tc, test_explain_counter);
    suite_add_tcase(s, tc);
    return s;
}
