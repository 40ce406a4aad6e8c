/*
 * test_ir.c - the IR stages on their own, through the interpreter:
 * lowering, every clean-up pass, linearisation (f_jvp), transposition
 * (f_grad) and forward-over-reverse (f_hvp).  Each stage's results must
 * agree with the previous stage's, and derivatives must agree with
 * central finite differences of the primal and with each other.  What
 * each pass makes of a given IR, exactly, is stated as IR text in the
 * files of tests/ir/ (the irtext suite): cleanup.ir for the clean-up
 * passes, graph.ir for the adjoint of (a + b) * c, and others.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../ir/ir.h"
#include "testutil.h"

static Fn *find(TuLowered *c, const char *name)
{
    for (int i = 0; i < c->prog.units.n; i++)
        if (!strcmp(c->prog.units.p[i].primal->name, name))
            return c->prog.units.p[i].primal;
    return NULL;
}

/* Runs a scalar-valued f with k inputs (primal params, then the rest). */
static double run(const Fn *f, const double *x, double *outs)
{
    const double *in[32];
    double tmp[32], *out[32];
    for (int i = 0; i < f->in.n; i++)
        in[i] = &x[i];
    for (int i = 0; i < f->out.n; i++)
        out[i] = outs ? &outs[i] : &tmp[i];
    ir_interp(f, in, out);
    return outs ? outs[0] : tmp[0];
}

static int active(const Fn *f, int *idx)
{
    int n = 0;
    for (int i = 0; i < f->in.n; i++)
        if (f->in.p[i].role == IN_PARAM && !f->in.p[i].is_data)
            idx[n++] = i;
    return n;
}

static double fd(const Fn *f, const double *x, int i)
{
    double xp[32], xm[32];
    int n = f->in.n;
    memcpy(xp, x, sizeof(double) * (size_t)n);
    memcpy(xm, x, sizeof(double) * (size_t)n);
    double h = cbrt(2.2e-16) * fmax(1, fabs(x[i]));
    xp[i] += h;
    xm[i] -= h;
    return (run(f, xp, NULL) - run(f, xm, NULL)) / (2 * h);
}

static void near(double got, double want, double tol, const char *what)
{
    double scale = fmax(1, fmax(fabs(got), fabs(want)));
    ck_assert_msg(fabs(got - want) <= tol * scale, "%s: got %.17g, want %.17g", what, got, want);
}

typedef struct {
    const char *src, *fn;
    int n;
    double x[4];
} Case;

static const Case cases[] = {
    {"fn f(x) = x ^ 2", "f", 1, {3}},
    {"fn f(a, b, c) = (a + b) * c", "f", 3, {2, 3, 4}},
    {"fn f(w, b, data x) = relu(x * w + b)", "f", 3, {0.5, 0.2, 1.5}},
    {"fn f(w, b, data x) = relu(x * w + b)", "f", 3, {-0.5, 0.2, 1.5}},
    {"fn f(x, y) {\n z = x * y\n if z > 1 {\n z = sin(z) * x\n } else if z < -1 {\n"
     " z = z ^ 3\n } else {\n q = exp(x)\n z = q + y\n }\n return z * y\n}",
     "f", 2, {1.5, 1.2}},
    {"fn f(x, y) {\n z = x * y\n if z > 1 {\n z = sin(z) * x\n } else if z < -1 {\n"
     " z = z ^ 3\n } else {\n q = exp(x)\n z = q + y\n }\n return z * y\n}",
     "f", 2, {-1.5, 1.2}},
    {"fn f(x, y) {\n z = x * y\n if z > 1 {\n z = sin(z) * x\n } else if z < -1 {\n"
     " z = z ^ 3\n } else {\n q = exp(x)\n z = q + y\n }\n return z * y\n}",
     "f", 2, {0.3, 0.2}},
    {"fn f(x) = if x > 0 then log(x) else x * x", "f", 1, {2}},
    {"fn f(x) = if x > 0 then log(x) else x * x", "f", 1, {-2}},
    {"fn f(x, y) = exp(x) * log(y) + log1p(x) - expm1(y) + sqrt(y) / tan(x)", "f", 2, {0.3, 1.7}},
    {"fn f(x, y) = asin(x) * acos(x) + atan(y) + sinh(x) * cosh(y) - tanh(x * y) + erf(y)", "f", 2,
     {0.3, 0.7}},
    {"fn f(x, y) = abs(x) * sigmoid(y) + softplus(x - y) + hypot(x, y) + atan2(y, x)", "f", 2,
     {-0.4, 1.3}},
    {"fn f(x, y) = min(x, y) * max(x, y) + pow(x, y) + x ^ y + pow(x, 3)", "f", 2, {1.3, 0.7}},
    {"const N = 3\nfn f(x) = x ^ N + x ^ -2 + x ^ 0 + x ^ 1", "f", 1, {-1.7}},
    {"fn g(a, data b) = a * sin(b)\nfn f(x, y) = g(x, y) * g(y, x)", "f", 2, {0.4, 1.1}},
    {"fn f(x, y) {\n x = x * y\n x = x + sin(x)\n y = x * y\n return x + y\n}", "f", 2, {0.7, 1.3}},
    {"fn f(x, y) {\n if x > 0 and not (y > 2 or y < -2) {\n r = x * y\n } else {\n r = x - y\n"
     " }\n return r ^ 2\n}",
     "f", 2, {0.5, 1}},
    {"fn f(x, y) {\n if x > 0 and not (y > 2 or y < -2) {\n r = x * y\n } else {\n r = x - y\n"
     " }\n return r ^ 2\n}",
     "f", 2, {0.5, 3}},
    {"fn f(x, y) {\n a = x\n if x > y {\n if x > 2 * y {\n a = a * x\n }\n a = a + y\n }\n"
     " return a * x\n}",
     "f", 2, {3, 1}},
    {"fn f(x, y) {\n a = x\n if x > y {\n if x > 2 * y {\n a = a * x\n }\n a = a + y\n }\n"
     " return a * x\n}",
     "f", 2, {1.5, 1}},
};

/* Primal after lowering and after each clean-up pass: identical. */
START_TEST(test_passes_keep_values)
{
    const Case *t = &cases[_i];
    TuLowered c;
    ck_assert_int_eq(tu_lower(&c, t->src), 0);
    Fn *f = find(&c, t->fn);
    ck_assert_ptr_nonnull(f);
    double v0 = run(f, t->x, NULL);
    void (*passes[])(Fn *) = {opt_fold, opt_cse, opt_dce, opt_all};
    for (size_t p = 0; p < 4; p++) {
        passes[p](f);
        ir_verify(f);
        ck_assert_msg(run(f, t->x, NULL) == v0, "pass %zu changed the value", p);
    }
    arena_free(c.a);
}
END_TEST

/* f_grad against finite differences; every stage of it against the raw
 * transpose; f_jvp against f_grad; f_hvp against differences of f_grad. */
START_TEST(test_derivatives)
{
    const Case *t = &cases[_i];
    TuLowered c;
    ck_assert_int_eq(tu_lower(&c, t->src), 0);
    Fn *f = find(&c, t->fn);
    opt_all(f);
    Fn *lin = ad_linearize(f, "f_jvp", FN_JVP);
    ir_verify(lin);
    Fn *grad = ad_transpose(lin, "f_grad", FN_GRAD, 0, 0);
    ir_verify(grad);
    int idx[8], n = active(f, idx);
    double g[16], v0 = run(f, t->x, NULL);

    run(grad, t->x, g);
    near(g[0], v0, 1e-15, "f_grad's value");
    for (int k = 0; k < n; k++)
        near(g[1 + k], fd(f, t->x, idx[k]), 1e-7, "gradient vs central difference");

    void (*passes[])(Fn *) = {opt_fold, opt_cse, opt_dce, opt_all};
    for (size_t p = 0; p < 4; p++) {
        double g2[16];
        passes[p](grad);
        ir_verify(grad);
        run(grad, t->x, g2);
        for (int k = 0; k <= n; k++)
            near(g2[k], g[k], 1e-14, "gradient after a clean-up pass");
    }

    /* forward mode: jvp(v) == grad . v */
    double xin[32], outs[4];
    memcpy(xin, t->x, sizeof(double) * (size_t)f->in.n);
    double v[8] = {0.3, -0.7, 1.1, 0.5, -0.2, 0.9, 0.4, -1.3}, dot = 0;
    for (int k = 0; k < n; k++) {
        xin[f->in.n + k] = v[k];
        dot += g[1 + k] * v[k];
    }
    opt_all(lin);
    run(lin, xin, outs);
    near(outs[0], v0, 1e-15, "f_jvp's value");
    near(outs[1], dot, 1e-12, "jvp(v) vs grad . v");

    /* forward over reverse: H v against differences of the gradient */
    Fn *hvp = ad_linearize(grad, "f_hvp", FN_HVP);
    ir_verify(hvp);
    opt_all(hvp);
    double hout[16];
    run(hvp, xin, hout);
    int nb = grad->out.n; /* value, bars...; then value_dot, bar_dots... */
    double h = 1e-5, xp[32], xm[32], gp[16], gm[16];
    memcpy(xp, t->x, sizeof(double) * (size_t)f->in.n);
    memcpy(xm, t->x, sizeof(double) * (size_t)f->in.n);
    for (int k = 0; k < n; k++) {
        xp[idx[k]] += h * v[k];
        xm[idx[k]] -= h * v[k];
    }
    run(grad, xp, gp);
    run(grad, xm, gm);
    for (int k = 0; k < n; k++)
        near(hout[nb + 1 + k], (gp[1 + k] - gm[1 + k]) / (2 * h), 1e-5, "H v vs differences");
    arena_free(c.a);
}
END_TEST

/* Kinks follow the spec: relu'(0) = abs'(0) = 0, ties share, origin 0. */
START_TEST(test_kinks)
{
    static const struct {
        const char *src;
        double x[2], g[2];
    } k[] = {
        {"fn f(x, y) = relu(x) + 0 * y", {0, 1}, {0, 0}},
        {"fn f(x, y) = abs(x) + 0 * y", {0, 1}, {0, 0}},
        {"fn f(x, y) = max(x, y)", {2, 2}, {0.5, 0.5}},
        {"fn f(x, y) = min(x, y)", {-1, -1}, {0.5, 0.5}},
        {"fn f(x, y) = hypot(x, y)", {0, 0}, {0, 0}},
        {"fn f(x, y) = atan2(y, x)", {0, 0}, {0, 0}},
        {"fn f(x, y) = x ^ 0 + y ^ 1", {-3, 5}, {0, 1}},
        {"fn f(x, y) = x ^ 3 * y", {-2, 1}, {12, -8}},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        TuLowered c;
        ck_assert_int_eq(tu_lower(&c, k[i].src), 0);
        Unit *u = &c.prog.units.p[0];
        ad_unit(u);
        double out[3];
        run(u->grad, k[i].x, out);
        ck_assert_msg(out[1] == k[i].g[0] && out[2] == k[i].g[1], "%s: got (%g, %g)", k[i].src,
                      out[1], out[2]);
        arena_free(c.a);
    }
}
END_TEST

/* Whether g is f instruction for instruction (ops, operands, numbers,
 * facts, names, types, lines) with the same top level. */
static int same_fn(const Fn *f, const Fn *g)
{
    if (f->v.n != g->v.n || f->body->ids.n != g->body->ids.n)
        return 0;
    for (int i = 0; i < f->body->ids.n; i++)
        if (f->body->ids.p[i] != g->body->ids.p[i])
            return 0;
    for (Ref v = 0; v < f->v.n; v++) {
        const Inst *a = &f->v.p[v], *b = &g->v.p[v];
        if (a->op != b->op || a->role != b->role || a->flags != b->flags || a->n != b->n ||
            a->nix != b->nix || memcmp(&a->x->num, &b->x->num, sizeof a->x->num) || a->line != b->line ||
            a->rule_op != b->rule_op || a->rule_arg != b->rule_arg || a->rule_src != b->rule_src ||
            memcmp(&a->ty, &b->ty, sizeof a->ty) || (!a->name != !b->name) ||
            (a->name && strcmp(a->name, b->name)))
            return 0;
        for (int k = 0; k < 3; k++)
            if (a->arg[k] != b->arg[k])
                return 0;
    }
    return 1;
}

/* A poll that counts. */
static void count_poll(void *arg)
{
    ++*(int *)arg;
}

/* With the warm region on (dx_warm_start: the arena's fixed-size blocks
 * from one reserved range, a thread faulting in pages ahead of them and
 * where ir_add hints), a large function is linearised instruction for
 * instruction as with it off (f_grad of 6 000 statements, 46 000
 * instructions, an array of 12 MB for f_hvp, for which ir_add hints), and
 * the polls come.  Where the region is on, blocks come from it one after
 * the other, aligned to huge pages and zero, and a hint on pages already
 * written leaves what they hold. */
START_TEST(test_linearize_warm)
{
    enum { N = 6000, HUGE = 2 << 20 };
    size_t cap = 64 * N + 64, len = 0;
    char *src = malloc(cap);
    ck_assert_ptr_nonnull(src);
    len += (size_t)snprintf(src + len, cap - len, "fn f(x[4]) {\n    a1 = x[0] * x[1]\n");
    for (int i = 2; i <= N; i++)
        len += (size_t)snprintf(src + len, cap - len, "    a%d = sin(a%d) * x[%d] + a%d * a%d\n", i, i - 1, i % 4,
                                i / 2, i - 1);
    snprintf(src + len, cap - len, "    return a%d\n}\n", N);
    TuLowered c;
    ck_assert_int_eq(tu_lower(&c, src), 0);
    Unit *u = &c.prog.units.p[0];
    ad_unit(u);
    ck_assert_int_ge(u->grad->v.n, 45000);
    Fn *want = ad_linearize(u->grad, "f_hvp", FN_HVP);
    ck_assert_int_eq(dx_warm_drain(), -1); /* off until started */
    dx_warm_start();
    long before = dx_warm_drain();
    int polls = 0;
    Fn *got = ad_linearize_polled(u->grad, "f_hvp", FN_HVP, count_poll, &polls);
    ck_assert_int_gt(polls, 5);
    ck_assert_msg(same_fn(got, want), "f_hvp made with the warm region on differs");
    long after = dx_warm_drain();
    unsigned char *p = dx_warm_take(HUGE), *q = dx_warm_take(2 * HUGE);
    if (before < 0) { /* no region here (no MADV_POPULATE_WRITE) */
        ck_assert_ptr_null(p);
        ck_assert_int_eq(after, -1);
    } else {
        ck_assert_int_gt(after, before); /* ir_add's hints were served */
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_eq(q, p + HUGE);
        ck_assert_uint_eq((size_t)p % HUGE, 0);
        for (size_t i = 0; i < 2 * HUGE; i += 4096)
            ck_assert_int_eq(q[i], 0);
        memset(q, 7, 2 * HUGE);
        dx_warm_ahead(q + 100, 2 * HUGE);
        ck_assert_int_ge(dx_warm_drain(), after + 2);
        for (size_t i = 0; i < 2 * HUGE; i += 4096)
            ck_assert_int_eq(q[i], 7);
        munmap(p, HUGE);
        munmap(q, 2 * HUGE);
    }
    free(src);
    arena_free(c.a);
}
END_TEST

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (InstExt *const *)a, y = (uintptr_t) * (InstExt *const *)b;
    return x < y ? -1 : x > y;
}

/* Once every pass has run, each instruction of an operation that holds
 * regions, indices, a list or a number has a record of its own (Inst.x),
 * shared with no other instruction of any entry point, and every other
 * points to ir_no_ext, still all zero: a pass that copied an instruction
 * into a new slot would share its record, and a change of one would
 * change the other. */
START_TEST(test_records_owned)
{
    const char *src = "fn f(W[3, 2], x[2], s) {\n"
                      "    h = tanh(W @ x)\n"
                      "    y = [h[0], h[1] * s, 2.5]\n"
                      "    a = s\n"
                      "    for t in 0..5 {\n"
                      "        a = a * 0.5 + sum(y) * x[t % 2]\n"
                      "    }\n"
                      "    if a > 0 {\n"
                      "        r = a * a\n"
                      "    } else {\n"
                      "        r = -a\n"
                      "    }\n"
                      "    return r + sum(h[i] * h[i] for i in 0..3)\n"
                      "}\n";
    TuLowered c;
    ck_assert_int_eq(tu_lower(&c, src), 0);
    Unit *u = &c.prog.units.p[0];
    ad_unit(u);
    Fn *fs[4];
    int nf = ir_unit_fns(u, fs), n = 0, total = 0;
    for (int k = 0; k < nf; k++)
        total += fs[k]->v.n;
    InstExt **own = malloc(sizeof *own * (size_t)total);
    int kinds[OP_COUNT] = {0};
    for (int k = 0; k < nf; k++)
        for (Ref v = 0; v < fs[k]->v.n; v++) {
            const Inst *in = &fs[k]->v.p[v];
            int owns = in->op == OP_CONST || in->op == OP_IF || in->op == OP_GEN || in->op == OP_RED ||
                       in->op == OP_LOOP || in->op == OP_FOR || in->op == OP_IDX || in->op == OP_ACC ||
                       in->op == OP_LIT || in->op == OP_IREAL;
            ck_assert_msg(owns == (in->x != &ir_no_ext), "%s %%%d (%s): record %s", fs[k]->name, v,
                          ir_op_name((Op)in->op), owns ? "shared" : "of its own");
            if (owns)
                own[n++] = in->x;
            kinds[in->op] = 1;
        }
    qsort(own, (size_t)n, sizeof *own, by_address);
    for (int i = 1; i < n; i++)
        ck_assert_msg(own[i] != own[i - 1], "two instructions share a record");
    static const InstExt zero;
    ck_assert(memcmp(&ir_no_ext, &zero, sizeof zero) == 0);
    /* the source reaches each kind of record */
    Op want[] = {OP_CONST, OP_IF, OP_GEN, OP_RED, OP_FOR, OP_IDX, OP_ACC, OP_LIT};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(kinds[want[i]], "no %s met", ir_op_name(want[i]));
    free(own);
    arena_free(c.a);
}
END_TEST

Suite *suite_ir(void);
Suite *suite_ir(void)
{
    Suite *s = suite_create("ir");
    TCase *tc = tcase_create("passes");
    tcase_add_loop_test(tc, test_passes_keep_values, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_linearize_warm);
    tcase_add_test(tc, test_records_owned);
    suite_add_tcase(s, tc);
    return s;
}

Suite *suite_ad(void);
Suite *suite_ad(void)
{
    Suite *s = suite_create("ad");
    TCase *tc = tcase_create("modes");
    tcase_add_loop_test(tc, test_derivatives, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_kinks);
    suite_add_tcase(s, tc);
    return s;
}
