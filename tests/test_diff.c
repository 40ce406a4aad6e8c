/*
 * test_diff.c - the differential tester in `make check`: a
 * fixed-seed sample of random programs (tests/progen.c) through every
 * interpreter check and a few through compiled C (tests/diffcheck.c), the
 * regression programs of tests/regress/, a sample of the edge campaign
 * (make fuzz-edge), and the pieces on their own: the
 * decision trace of the interpreter, the generator's determinism, the
 * reducer.  `make fuzz-diff` runs many more (tools/fuzz_diff.c).
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/ir.h"
#include "diffcheck.h"
#include "progen.h"
#include "testutil.h"

enum { SAMPLE = 1000, CHUNK = 100, COMPILED = 24, EDGE_SAMPLE = 100 };
static const uint64_t run_seed = 2024;

static DcOpts opts(int compiled)
{
    DcOpts o = {0};
    o.compiled = compiled;
    o.dxc = tu_dxc();
    o.cc = "gcc";
    o.workdir = tu_tmpdir();
    return o;
}

/* Program i of the sample: generated, checked; a failure shows the
 * program and what failed (make fuzz-diff reduces it). */
static void sample(long i, int compiled, int loops_compile, int workspace, const char *cc)
{
    uint64_t ps = dc_program_seed(run_seed, i);
    PgOpts po = pg_defaults();
    if (compiled && !loops_compile)
        po.loops = 0;
    PgProg p = pg_generate(ps, &po);
    char *text = pg_print(p.root);
    DcOpts o = opts(compiled);
    o.seed = dc_input_seed(ps);
    o.workspace = workspace;
    o.small_tape = dc_small_tape(ps);
    o.sum_lanes = dc_sum_lanes(ps);
    if (cc)
        o.cc = cc;
    DcResult r = dc_check(text, &o);
    ck_assert_msg(r.status == DC_OK, "program %ld (seed %llu, fuzz_diff -p %llu%s%s%s%s): %s: %s\n%s", i,
                  (unsigned long long)ps, (unsigned long long)ps, compiled ? " --compiled" : "",
                  workspace ? " --workspace" : "", cc ? " --cc " : "", cc ? cc : "", r.what, r.msg, text);
    ck_assert_int_gt(r.checks, 0);
    ck_assert(!compiled || r.compiled);
    free(text);
    pg_free(&p);
}

START_TEST(test_sample_interp)
{
    tu_tmpdir();
    for (long i = _i * CHUNK; i < (_i + 1) * CHUNK; i++)
        sample(i, 0, 0, 0, NULL);
    tu_cleanup();
}
END_TEST

START_TEST(test_sample_compiled)
{
    /* gcc and clang in turn, every other pair with --workspace */
    const char *cc = _i % 2 ? "clang" : "gcc";
    DcOpts o = opts(1);
    int loops = dc_loops_compile(o.dxc, cc, o.workdir);
    sample(SAMPLE + _i, 1, loops, _i / 2 % 2, cc);
    tu_cleanup();
}
END_TEST

/* The edge campaign (make fuzz-edge) on a small sample: guarded singular
 * constructs (PgOpts.edge) checked at edge inputs (DcOpts.edge): no
 * derivative is NaN where the function is finite and differentiable. */
START_TEST(test_sample_edge)
{
    tu_tmpdir();
    PgOpts po = pg_defaults();
    po.edge = 1;
    for (long i = _i * CHUNK; i < (_i + 1) * CHUNK; i++) {
        uint64_t ps = dc_program_seed(run_seed + 1, i);
        PgProg p = pg_generate(ps, &po);
        char *text = pg_print(p.root);
        DcOpts o = opts(0);
        o.seed = dc_input_seed(ps);
        o.small_tape = dc_small_tape(ps);
        o.sum_lanes = dc_sum_lanes(ps);
        o.edge = 1;
        DcResult r = dc_check(text, &o);
        ck_assert_msg(r.status == DC_OK, "edge program %ld (seed %llu, fuzz_diff --edge -p %llu): %s: %s\n%s", i,
                      (unsigned long long)ps, (unsigned long long)ps, r.what, r.msg, text);
        ck_assert_int_gt(r.edge_clean, 0);
        free(text);
        pg_free(&p);
    }
    tu_cleanup();
}
END_TEST

/* Every .dx file of tests/regress behaves as its comments say (diffcheck.h):
 * a fixed bug passes every check, an open one still fails its way. */
START_TEST(test_regress)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/regress", tu_root());
    DIR *d = opendir(dir);
    if (!d)
        return; /* none yet */
    DcOpts o = opts(1);
    int loops = dc_loops_compile(o.dxc, o.cc, o.workdir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".dx"))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = tu_read(path, NULL);
        ck_assert_ptr_nonnull(text);
        DcResult r;
        char why[2048];
        int bad = dc_check_file(text, &o, loops, &r, why, sizeof why);
        ck_assert_msg(!bad, "tests/regress/%s: %s", e->d_name, why);
        free(text);
        n++;
    }
    closedir(d);
    tu_cleanup();
}
END_TEST

/* The interpreter's decision trace: IF sides, max/min winners, relu
 * signs, reduction arg-max steps; equal on one smooth piece, different
 * across a kink. */
static size_t trace_at(const Fn *f, double x, double y, unsigned char *buf)
{
    double out;
    const double *in[2] = {&x, &y};
    double *outs[1] = {&out};
    size_t n = 0;
    ir_interp_trace(buf, 64, &n);
    ir_interp(f, in, outs);
    return n;
}

START_TEST(test_trace)
{
    TuLowered c;
    const char *text = "fn f(x, y) {\n"
                       "    if x > y { x = x * 2 } else { x = sin(x) }\n"
                       "    return relu(x) + max(x, y) + max([x, y, 0.25])\n"
                       "}\n";
    ck_assert_int_eq(tu_lower(&c, text), 0);
    const Fn *f = c.prog.units.p[0].primal;
    unsigned char a[64], b[64], d[64];
    size_t na = trace_at(f, 1.0, 0.5, a), nb = trace_at(f, 1.1, 0.6, b), nd = trace_at(f, 0.4, 0.5, d);
    /* if, relu, max, and the max reduction's step (two bytes) */
    ck_assert_uint_eq(na, 5);
    ck_assert_uint_eq(a[0], 0); /* then */
    ck_assert_uint_eq(a[1], 1); /* relu of 2: positive */
    ck_assert_uint_eq(a[2], 1); /* max(2, 0.5): the first */
    ck_assert_uint_eq(a[3], 1); /* the reduction's winner is element 1 */
    ck_assert_uint_eq(a[4], 0);
    ck_assert(na == nb && !memcmp(a, b, na));
    ck_assert(nd == na && memcmp(a, d, na)); /* x < y: the else side */
    ck_assert_uint_eq(d[0], 1);
    /* one call only: the next run records nothing */
    double x[2] = {1, 0.5}, out;
    const double *in[2] = {&x[0], &x[1]};
    double *outs[1] = {&out};
    size_t n = 99;
    ir_interp_trace(a, 0, &n); /* a zero capacity still counts */
    ir_interp(f, in, outs);
    ck_assert_uint_eq(n, 5);
    n = 99;
    ir_interp(f, in, outs);
    ck_assert_uint_eq(n, 99);
    arena_free(c.a);
}
END_TEST

/* The generator: deterministic, varied, valid. */
START_TEST(test_progen)
{
    PgOpts po = pg_defaults();
    int loops = 0, ifs = 0, calls = 0, comps = 0, reds = 0, mats = 0;
    for (uint64_t s = 1; s <= 40; s++) {
        PgProg p = pg_generate(s, &po), q = pg_generate(s, &po);
        char *a = pg_print(p.root), *b = pg_print(q.root);
        ck_assert_str_eq(a, b);
        TuLowered c;
        ck_assert_msg(tu_lower(&c, a) == 0, "seed %llu does not compile: %s\n%s", (unsigned long long)s, c.d.last,
                      a);
        arena_free(c.a);
        loops += strstr(a, "for t") != NULL;
        ifs += strstr(a, "if ") != NULL;
        calls += strstr(a, " g1(") != NULL || strstr(a, "(g1(") != NULL;
        comps += strstr(a, "[") != NULL && strstr(a, " for i") != NULL;
        reds += strstr(a, "sum(") != NULL || strstr(a, "prod(") != NULL;
        mats += strstr(a, " @ ") != NULL;
        free(a);
        free(b);
        pg_free(&p);
        pg_free(&q);
    }
    ck_assert_int_gt(loops, 5);
    ck_assert_int_gt(ifs, 10);
    ck_assert_int_gt(calls, 3);
    ck_assert_int_gt(comps, 10);
    ck_assert_int_gt(reds, 10);
    ck_assert_int_gt(mats, 5);
}
END_TEST

/* The reducer on a program failing on purpose: its primal leaves the
 * domain of log.  Only what the failure needs is left. */
static PgNode *nd(Arena *a, PgKind k, const char *fmt, int nkid, PgNode *k0, PgNode *k1)
{
    PgNode *n = arena_alloc(a, sizeof *n);
    n->kind = k;
    n->fmt = fmt;
    n->nkid = nkid;
    n->kid = arena_alloc(a, sizeof(PgNode *) * 2);
    n->kid[0] = k0;
    n->kid[1] = k1;
    return n;
}

START_TEST(test_reduce)
{
    PgProg p;
    p.a = arena_new();
    Arena *a = p.a;
    PgNode *e1 = nd(a, PG_EXPR, "($ * $)", 2, nd(a, PG_EXPR, "x", 0, 0, 0), nd(a, PG_EXPR, "sin(y)", 0, 0, 0));
    PgNode *s1 = nd(a, PG_STMT, "v1 = $", 1, e1, 0);
    PgNode *s2 = nd(a, PG_STMT, "y = $", 1, nd(a, PG_EXPR, "exp(x)", 0, 0, 0), 0);
    PgNode *bad = nd(a, PG_EXPR, "log($)", 1, nd(a, PG_EXPR, "(-1 - x ^ 2)", 0, 0, 0), 0);
    PgNode *sum = nd(a, PG_EXPR, "($ + $)", 2, nd(a, PG_EXPR, "v1", 0, 0, 0), bad);
    PgNode *ret = nd(a, PG_STMT, "return $", 1, sum, 0);
    ret->keep = 1;
    PgNode *blk = arena_alloc(a, sizeof *blk);
    blk->kind = PG_BLOCK;
    blk->nkid = 3;
    blk->kid = arena_alloc(a, sizeof(PgNode *) * 3);
    blk->kid[0] = s1;
    blk->kid[1] = s2;
    blk->kid[2] = ret;
    PgNode *fn = nd(a, PG_FN, "fn f(x, y) $", 1, blk, 0);
    fn->keep = 1;
    PgNode *g = nd(a, PG_FN, "fn g(z) = z * 2", 0, 0, 0);
    p.root = nd(a, PG_PROG, NULL, 2, g, fn);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < p.root->kid[i]->nkid; k++)
            ck_assert_ptr_nonnull(p.root->kid[i]->kid[k]);
    char *text = pg_print(p.root);
    DcOpts o = opts(0);
    o.seed = 1;
    DcResult r = dc_check(text, &o);
    ck_assert_str_eq(r.what, "nonfinite");
    free(text);
    int tries = dc_reduce(&p, &r, &o, 200);
    ck_assert_int_gt(tries, 0);
    text = pg_print(p.root);
    ck_assert_msg(!strstr(text, "fn g") && !strstr(text, "v1 =") && !strstr(text, "y = exp") &&
                      strstr(text, "log((-1 - x ^ 2))"),
                  "reduced to:\n%s", text);
    DcResult r2 = dc_check(text, &o);
    ck_assert(dc_same(&r, &r2));
    free(text);
    pg_free(&p);
    tu_cleanup();
}
END_TEST

Suite *suite_diff(void);
Suite *suite_diff(void)
{
    Suite *s = suite_create("diff");
    TCase *tc = tcase_create("diff");
    tcase_add_test(tc, test_trace);
    tcase_add_test(tc, test_progen);
    tcase_add_test(tc, test_reduce);
    tcase_add_loop_test(tc, test_sample_interp, 0, SAMPLE / CHUNK);
    tcase_add_loop_test(tc, test_sample_compiled, 0, COMPILED);
    tcase_add_loop_test(tc, test_sample_edge, 0, EDGE_SAMPLE / CHUNK);
    tcase_add_test(tc, test_regress);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}
