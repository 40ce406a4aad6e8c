/*
 * test_cli.c - dxc's command line: options, where the output goes, the
 * header, the IR and Graphviz dumps.
 */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgrun.h"
#include "codegen.h"
#include "progen.h"
#include "testutil.h"

static void setup(void)
{
    tu_tmpdir();
    ck_assert_int_eq(tu_write(tu_path("m.dx"),
                              "const N = 2\n"
                              "fn f(x, y) = x ^ N * sin(y)\n"
                              "fn g(a, data k) = f(a, k) + sigmoid(a)\n",
                              (size_t)-1),
                     0);
}

static void teardown(void)
{
    tu_cleanup();
}


static int sh(const char *fmt, const char *a)
{
    char cmd[2048], full[2300];
    snprintf(cmd, sizeof cmd, fmt, a);
    snprintf(full, sizeof full, "cd '%s' && %s", tu_tmpdir(), cmd);
    char *err = NULL;
    int st = tu_run(full, NULL, &err);
    if (st != 0)
        fprintf(stderr, "%s:\n%s\n", cmd, err ? err : "");
    free(err);
    return st;
}

static int match(const char *re, const char *s)
{
    regex_t r;
    ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
    int m = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return m;
}

START_TEST(test_help_version)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("--help", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "usage") && strstr(out, "-o") && strstr(out, "--header") &&
                      strstr(out, "--emit") && strstr(out, "--real"),
                  "--help: %s", out);
    free(out);
    free(err);
    ck_assert_int_eq(cr_dxc("--version", &out, &err), 0);
    ck_assert_msg(out && match("^dxc [0-9]+\\.[0-9]+\\.[0-9]+", out), "--version: %s", out);
    free(out);
    free(err);
    /* --help wins over an input file and does not compile it */
    ck_assert_int_eq(cr_dxc("m.dx --help", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "usage"), "m.dx --help: %s", out);
    free(out);
    free(err);
}
END_TEST

/* --help's --stats example is what dxc --stats prints for that model. */
START_TEST(test_help_stats_example)
{
    char *help = NULL, *stats = NULL;
    ck_assert_int_eq(cr_dxc("--help", &help, NULL), 0);
    const char *line = help ? strstr(help, "spring_grad: tape") : NULL;
    ck_assert_msg(line, "--help has no --stats example:\n%s", help);
    char want[256];
    snprintf(want, sizeof want, "%.*s", (int)strcspn(line, "\n"), line);
    const char *ws = strstr(line, "(workspace variant spring_grad_ws");
    ck_assert_ptr_nonnull(ws);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/models/spring.dx' --stats --workspace -o /dev/null 2>&1",
             tu_dxc(), tu_root());
    ck_assert_int_eq(tu_run(cmd, &stats, NULL), 0);
    ck_assert_msg(stats && strstr(stats, want), "--help says '%s'; dxc --stats says:\n%s", want, stats);
    char ws_want[256];
    snprintf(ws_want, sizeof ws_want, "%.*s", (int)strcspn(ws, "\n"), ws);
    ck_assert_msg(strstr(stats, ws_want), "--help says '%s'; dxc --stats says:\n%s", ws_want, stats);
    /* and the man page's example lines are dxc's too */
    snprintf(cmd, sizeof cmd, "%s/docs/dxc.1", tu_root());
    char *man = tu_read(cmd, NULL);
    ck_assert_ptr_nonnull(man);
    int seen = 0;
    for (const char *m = strstr(man, "\nspring"); m; m = strstr(m + 1, "\nspring")) {
        char shown[256];
        snprintf(shown, sizeof shown, "%.*s", (int)strcspn(m + 1, "\n("), m + 1);
        while (*shown && shown[strlen(shown) - 1] == ' ')
            shown[strlen(shown) - 1] = 0;
        ck_assert_msg(strstr(stats, shown), "the man page says '%s'; dxc --stats says:\n%s", shown,
                      stats);
        seen++;
    }
    ck_assert_msg(seen >= 1, "the man page shows no --stats line");
    free(man);
    free(help);
    free(stats);
}
END_TEST

static const char *bad_args[] = {
    "--bogus m.dx", "m.dx --bogus", "-x m.dx", "--emit=bogus m.dx", "--real=long m.dx",
    "m.dx -o",      "",             "-o out.c", "m.dx m.dx",        "m.dx --header",
    "--max-ops=0 m.dx", "--max-ops=1e6 m.dx", "--jobs=0 m.dx", "--jobs=65 m.dx", "--jobs=two m.dx",
};

START_TEST(test_bad_options)
{
    char *out = NULL, *err = NULL;
    int st = cr_dxc(bad_args[_i], &out, &err);
    ck_assert_msg(st == 1, "dxc %s: status %d", bad_args[_i], st);
    ck_assert_msg(err && match("^dxc: error: .+", err), "dxc %s: stderr '%s'", bad_args[_i], err);
    ck_assert_msg(!out || !strstr(out, "#include"), "dxc %s printed C", bad_args[_i]);
    free(out);
    free(err);
}
END_TEST

/* The C is the same whatever the number of threads writing it: every
 * model, example and benchmark under four option sets, random programs,
 * and a file of several functions, with one thread and with three. */
static void same_for_jobs(const char *f, const char *opts)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir -p j1 j3 && (cd j1 && '%s' --jobs=1 %s '%s' -o m.c --header m.h) && "
             "(cd j3 && '%s' --jobs=3 %s '%s' -o m.c --header m.h) && cmp j1/m.c j3/m.c && "
             "cmp j1/m.h j3/m.h",
             tu_tmpdir(), tu_dxc(), opts, f, tu_dxc(), opts, f);
    char *err = NULL;
    int st = tu_run(cmd, NULL, &err);
    ck_assert_msg(st == 0, "dxc %s %s: the C differs with --jobs=3: %s", opts, f, err ? err : "");
    free(err);
}

static void same_for_jobs_all(const char *f, void *arg)
{
    (void)arg;
    static const char *const opts[] = {"", "--real=float --workspace", "--explain --tape=small",
                                       "--entries=grad,hvp --line-directives"};
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
        same_for_jobs(f, opts[k]);
}

/* cg_c's C of the program in `path` (every unit through ad_unit) with
 * options o. */
static char *c_with(const char *path, const CgOpts *o)
{
    char *text = tu_read(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    TuLowered c;
    ck_assert_msg(tu_lower(&c, text) == 0, "%s: %s", path, c.d.last);
    for (int i = 0; i < c.prog.units.n; i++)
        ad_unit(&c.prog.units.p[i]);
    char *code = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&code, &n);
    ck_assert_ptr_nonnull(m);
    cg_c(&c.prog, o, m);
    fclose(m);
    arena_free(c.a);
    free(text);
    return code;
}

/* The C with the functions written on `jobs` threads, spilled to a
 * temporary file beyond `spill` bytes of text (0: never); *spilled
 * counts the functions that went through the file. */
static char *c_of(const char *path, int jobs, size_t spill, int *spilled)
{
    CgOpts o = {.src_path = "t.dx", .stack_budget = CG_STACK_BUDGET, .jobs = jobs, .spill_bytes = spill,
                .spilled = spilled};
    return c_with(path, &o);
}

/* What same_in_halves counts: functions written in halves, and
 * functions whose text was mapped. */
typedef struct {
    int split, mapped;
} Halves;

/* The C is the same when the body of the last function written is cut in
 * two halves written on two threads (wherever a cut is allowed: a body
 * of two items is enough here), with every entry point and each kind
 * alone, with --explain, float and --workspace, --line-directives; when
 * the bodies' text grows in mappings of its own (cnames.c), from the
 * first byte or from 512 (after a start from malloc); and when the
 * state the second half assumes is wrong, so that it is written again
 * (no body is then kept in halves).  arg: a Halves that counts the
 * functions written in halves and those mapped. */
static void same_in_halves(const char *path, void *arg)
{
    Halves *n = arg;
    static const int kinds[] = {0, ENTRY_F, ENTRY_GRAD, ENTRY_JVP, ENTRY_HVP};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int v = 0; v < 3; v++) {
            CgOpts o = {.src_path = "t.dx", .stack_budget = CG_STACK_BUDGET, .jobs = 1,
                        .entries = kinds[k], .explain = v == 1, .use_float = v == 2, .workspace = v == 2,
                        .line_directives = v == 0 && k == 0};
            char *want = c_with(path, &o);
            o.jobs = 2;
            o.split_min = 2;
            o.split = &n->split;
            o.text_mapped = v == 1 ? 1 : 512;
            o.mapped = &n->mapped;
            char *got = c_with(path, &o);
            ck_assert_msg(!strcmp(want, got), "%s: another C when written in halves (entries %d, variant %d)",
                          path, kinds[k], v);
            free(got);
            int split = 0;
            o.split = &split;
            o.cut_misjudged = 1;
            got = c_with(path, &o);
            ck_assert_msg(!strcmp(want, got), "%s: another C after a misjudged cut (entries %d, variant %d)",
                          path, kinds[k], v);
            ck_assert_msg(split == 0, "%s: a body cut on a misjudged state was kept in halves", path);
            free(want);
            free(got);
        }
}

/* The C is the same when the written functions wait in a temporary file
 * (after every function: a limit of one byte), on one thread or three,
 * and when no temporary file can be made; functions do go through the
 * file (but not where it cannot be made), and none is left behind. */
static void same_when_spilled(const char *path, void *arg)
{
    (void)arg;
    int none = 0;
    char *want = c_of(path, 1, 0, &none);
    ck_assert_int_eq(none, 0);
    const struct {
        int jobs;
        size_t spill;
        const char *tmp;
    } runs[] = {{1, 1, "spill"}, {3, 1, "spill"}, {3, 100, "spill"}, {1, 1, "no/such/dir"}};
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        ck_assert_int_eq(setenv("TMPDIR", tu_path(runs[k].tmp), 1), 0);
        int spilled = 0;
        char *got = c_of(path, runs[k].jobs, runs[k].spill, &spilled);
        ck_assert_msg(!strcmp(want, got), "%s: another C with --jobs=%d, spilled beyond %zu bytes into %s",
                      path, runs[k].jobs, runs[k].spill, runs[k].tmp);
        if (k == 0) /* one thread and a limit of a byte: every function */
            ck_assert_msg(spilled > 0, "%s: nothing went through the temporary file", path);
        if (k == 3)
            ck_assert_msg(spilled == 0, "%s: %d functions spilled with no temporary directory", path, spilled);
        free(got);
    }
    unsetenv("TMPDIR");
    char *left = NULL;
    char *cmd = tu_printf("ls -A '%s'", tu_path("spill"));
    ck_assert_int_eq(tu_run(cmd, &left, NULL), 0);
    ck_assert_msg(!left || !*left, "left in the temporary directory: %s", left);
    free(cmd);
    free(left);
    free(want);
}

START_TEST(test_spill_same_code)
{
    ck_assert_int_eq(mkdir(tu_path("spill"), 0700), 0);
    ck_assert_int_gt(tu_each_model(same_when_spilled, NULL), 15);
    same_when_spilled(tu_path("m.dx"), NULL);
}
END_TEST

/* A counting o->written: which functions the stream handed back. */
typedef struct {
    const Fn *f[64];
    int n;
} Handed;

static void hand_back(const Fn *f, void *arg)
{
    Handed *h = arg;
    for (int i = 0; i < h->n; i++)
        ck_assert_msg(h->f[i] != f, "'%s' handed back twice", f->name);
    ck_assert_int_lt(h->n, 64);
    h->f[h->n++] = f;
}

static int handed(const Handed *h, const Fn *f)
{
    for (int i = 0; i < h->n; i++)
        if (h->f[i] == f)
            return 1;
    return 0;
}

/* The C file and header of cg_stream with the functions given last
 * first, each as if it had just become final, on `jobs` writers: the
 * same as cg_c's and cg_header's.  With one job, a function is written
 * as it is given, so that the next cg_stream_drop_done hands it back at
 * once (but for the one kept: the first unit's f); every function is
 * handed back exactly once by the end. */
static void same_when_streamed(const char *path, void *arg)
{
    (void)arg;
    char *text = tu_read(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    TuLowered c;
    ck_assert_msg(tu_lower(&c, text) == 0, "%s: %s", path, c.d.last);
    Fn *all[64];
    CgPlanned planned[64];
    int n = 0;
    for (int i = 0; i < c.prog.units.n; i++) {
        ad_unit(&c.prog.units.p[i]);
        Fn *fs[4];
        for (int k = 0, m = ir_unit_fns(&c.prog.units.p[i], fs); k < m && n < 64; k++, n++) {
            all[n] = fs[k];
            planned[n] = (CgPlanned){fs[k]->name, fs[k]->kind};
        }
    }
    CgOpts o = {.src_path = "t.dx", .stack_budget = CG_STACK_BUDGET, .header = "t.h", .jobs = 1};
    char *want = NULL, *want_h = NULL;
    size_t nw = 0, nwh = 0;
    FILE *m = open_memstream(&want, &nw), *mh = open_memstream(&want_h, &nwh);
    cg_c(&c.prog, &o, m);
    cg_header(&c.prog, &o, mh);
    fclose(m);
    fclose(mh);
    for (int jobs = 1; jobs <= 3; jobs += 2) {
        Handed h = {.n = 0};
        o.jobs = jobs;
        o.written = hand_back;
        o.written_arg = &h;
        const Fn *keep = all[0];
        char *got = NULL, *got_h = NULL;
        size_t ng = 0, ngh = 0;
        m = open_memstream(&got, &ng);
        mh = open_memstream(&got_h, &ngh);
        CgStream *st = cg_stream_start(&c.prog, &o, planned, n, 1, 1);
        for (int i = n - 1; i >= 0; i--) {
            cg_stream_give(st, i, all[i]);
            cg_stream_drop_done(st, keep);
            ck_assert_msg(!handed(&h, keep), "%s: the function kept was handed back", path);
            if (jobs == 1 && all[i] != keep)
                ck_assert_msg(handed(&h, all[i]), "%s: '%s' not written when given", path, all[i]->name);
        }
        cg_stream_finish(st, m, mh);
        fclose(m);
        fclose(mh);
        ck_assert_int_eq(h.n, n);
        ck_assert_msg(!strcmp(want, got), "%s: another C when streamed on %d writers", path, jobs);
        ck_assert_msg(!strcmp(want_h, got_h), "%s: another header when streamed on %d writers", path, jobs);
        free(got);
        free(got_h);
    }
    free(want);
    free(want_h);
    arena_free(c.a);
    free(text);
}

START_TEST(test_stream_same_code)
{
    ck_assert_int_gt(tu_each_model(same_when_streamed, NULL), 15);
    same_when_streamed(tu_path("m.dx"), NULL);
}
END_TEST

/* dxc collects an output past its first megabyte in a scratch file in
 * $TMPDIR until it is put in place, and in memory when no scratch file
 * can be made: the C file, the header and --stats' text are the same
 * either way, to a file and to standard output, for a small file (held
 * in memory) and one of 3 000 statements (3.5 MB of C, in the file);
 * a failed compilation leaves the existing output as it was; nothing is
 * left in the directory. */
START_TEST(test_scratch_output)
{
    ck_assert_int_eq(mkdir(tu_path("scratch"), 0700), 0);
    char *big = tu_printf("python3 '%s/bench/bigprog.py' 3000 > big.dx", tu_root());
    ck_assert_int_eq(sh("%s", big), 0);
    free(big);
    static const char *const inputs[] = {"m.dx", "big.dx"};
    for (size_t k = 0; k < 2; k++) {
        const char *dxc = tu_dxc(), *in = inputs[k];
        char *run = tu_printf("TMPDIR=scratch '%s' %s -o a.c --header a.h --stats 2>a.err && "
                              "mv a.c b.c && mv a.h b.h && "
                              "TMPDIR=no/such/dir '%s' %s -o a.c --header a.h --stats 2>b.err && "
                              "TMPDIR=scratch '%s' %s --header a.h --stats >c.c 2>c.err && "
                              "cmp a.c b.c && cmp a.c c.c && cmp a.h b.h && cmp a.err b.err && "
                              "cmp a.err c.err && test -s a.err && grep -q 'f_grad(' a.c",
                              dxc, in, dxc, in, dxc, in);
        ck_assert_msg(sh("%s", run) == 0, "%s: another output through memory or standard output", in);
        free(run);
    }
    char *bad = tu_printf("printf 'fn f(x) = y\n' > bad.dx && cp a.c keep.c && "
                          "! TMPDIR=scratch '%s' bad.dx -o a.c --header a.h 2>/dev/null && cmp a.c keep.c",
                          tu_dxc());
    ck_assert_msg(sh("%s", bad) == 0, "a failed compilation changed its output");
    free(bad);
    char *left = NULL, *cmd = tu_printf("ls -A '%s'", tu_path("scratch"));
    ck_assert_int_eq(tu_run(cmd, &left, NULL), 0);
    ck_assert_msg(!left || !*left, "left in the scratch directory: %s", left);
    free(cmd);
    free(left);
}
END_TEST

START_TEST(test_halves_same_code)
{
    Halves h = {0, 0};
    ck_assert_int_gt(tu_each_model(same_in_halves, &h), 15);
    same_in_halves(tu_path("m.dx"), &h);
    PgOpts po = pg_defaults();
    for (uint64_t seed = 1; seed <= 30; seed++) {
        char *p = pg_save(seed, &po, tu_tmpdir());
        same_in_halves(p, &h);
        free(p);
    }
    ck_assert_msg(h.mapped > 200, "only %d functions' text mapped", h.mapped);
    int n = h.split;
    /* and a straight-line program large enough for the default */
    char *big = tu_printf("python3 '%s/bench/bigprog.py' 1500 > big.dx", tu_root());
    ck_assert_int_eq(sh("%s", big), 0);
    free(big);
    int before = n;
    CgOpts o = {.src_path = "t.dx", .stack_budget = CG_STACK_BUDGET, .jobs = 1};
    char *want = c_with(tu_path("big.dx"), &o);
    o.jobs = 2;
    o.split = &n;
    char *got = c_with(tu_path("big.dx"), &o);
    ck_assert_msg(!strcmp(want, got), "big.dx: another C when written in halves");
    ck_assert_msg(n > before, "big.dx: f_hvp not written in halves");
    free(want);
    free(got);
    ck_assert_msg(n > 200, "only %d functions written in halves", n);
}
END_TEST

START_TEST(test_jobs_same_code)
{
    ck_assert_int_gt(tu_each_model(same_for_jobs_all, NULL), 15);
    PgOpts po = pg_defaults();
    for (uint64_t seed = 1; seed <= 40; seed++) {
        char *p = pg_save(seed, &po, tu_tmpdir());
        same_for_jobs(p, seed % 2 ? "" : "--real=float");
        free(p);
    }
    same_for_jobs(tu_path("m.dx"), ""); /* f, g and their derivatives: 8 functions */
}
END_TEST

START_TEST(test_missing_input)
{
    char *err = NULL;
    ck_assert_int_eq(cr_dxc("nothere.dx -o out.c", NULL, &err), 1);
    ck_assert_msg(err && match("^dxc: error: .*nothere\\.dx", err), "%s", err);
    free(err);
    ck_assert_ptr_null(tu_read(tu_path("out.c"), NULL));
}
END_TEST

START_TEST(test_output_places)
{
    char *out = NULL, *err = NULL;
    /* without -o: stdout */
    ck_assert_int_eq(cr_dxc("m.dx", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "#include <math.h>") && strstr(out, "f_grad("), "stdout: %s", out);
    char *stdout_c = out;
    free(err);
    /* -o writes the file, prints nothing */
    ck_assert_int_eq(cr_dxc("m.dx -o a.c", &out, &err), 0);
    ck_assert_msg(!out || !*out, "-o also printed: %s", out);
    free(out);
    free(err);
    char *a = tu_read(tu_path("a.c"), NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a, stdout_c);
    /* options after the input file, and before */
    ck_assert_int_eq(cr_dxc("-o b.c m.dx", NULL, NULL), 0);
    ck_assert_int_eq(cr_dxc("m.dx --real=double -o c.c --emit=c", NULL, NULL), 0);
    char *b = tu_read(tu_path("b.c"), NULL), *c = tu_read(tu_path("c.c"), NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, c);
    /* an existing output is overwritten on success */
    ck_assert_int_eq(tu_write(tu_path("d.c"), "old\n", (size_t)-1), 0);
    ck_assert_int_eq(cr_dxc("m.dx -o d.c", NULL, NULL), 0);
    char *d = tu_read(tu_path("d.c"), NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(a, d);
    /* --real=float after the input */
    ck_assert_int_eq(cr_dxc("m.dx -o fl.c --real=float", NULL, NULL), 0);
    char *fl = tu_read(tu_path("fl.c"), NULL);
    ck_assert_ptr_nonnull(fl);
    ck_assert_msg(strstr(fl, "float f(float x, float y)"), "no float API:\n%s", fl);
    free(fl);
    free(a);
    free(b);
    free(c);
    free(d);
    free(stdout_c);
}
END_TEST

START_TEST(test_header)
{
    ck_assert_int_eq(cr_dxc("m.dx -o m.c --header m.h", NULL, NULL), 0);
    char *h = tu_read(tu_path("m.h"), NULL), *c = tu_read(tu_path("m.c"), NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(c);
    /* include guard */
    ck_assert_msg(match("^#ifndef [A-Za-z_][A-Za-z0-9_]*$", h) && match("^#define [A-Za-z_]", h) &&
                      match("^#endif", h),
                  "no include guard:\n%s", h);
    /* every prototype is the C file's definition line + ';' */
    const char *protos[] = {"double f(double x, double y);",
                            "double f_grad(double x, double y, double *x_bar, double *y_bar);",
                            "double f_jvp(double x, double y, double x_dot, double y_dot, double *out_dot);",
                            "double f_hvp(double x, double y, double x_dot, double y_dot, double *x_hv, double *y_hv);",
                            "double g(double a, double k);",
                            "double g_grad(double a, double k, double *a_bar);",
                            "double g_jvp(double a, double k, double a_dot, double *out_dot);",
                            "double g_hvp(double a, double k, double a_dot, double *a_hv);"};
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        ck_assert_msg(strstr(h, protos[i]), "header lacks %s:\n%s", protos[i], h);
        char def[512];
        snprintf(def, sizeof def, "%.*s\n", (int)strlen(protos[i]) - 1, protos[i]);
        ck_assert_msg(strstr(c, def), "C file lacks the definition %s", def);
    }
    /* the header included twice, then the C file, in one unit: prototypes match */
    ck_assert_int_eq(tu_write(tu_path("use.c"),
                              "#include \"m.h\"\n#include \"m.h\"\n#include \"m.c\"\n"
                              "int main(void) { double gx, gy; return f_grad(1, 2, &gx, &gy) > 0 ? 0 : 1; }\n",
                              (size_t)-1),
                     0);
    ck_assert_int_eq(sh("gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -Wstrict-prototypes "
                        "-Wmissing-prototypes -Wredundant-decls -o use%s use.c -lm && ./use",
                        ""),
                     0);
    ck_assert_int_eq(sh("clang -std=c99 -Wall -Wextra -Wpedantic -Werror -Wstrict-prototypes "
                        "-Wmissing-prototypes -o use%s use.c -lm && ./use",
                        ""),
                     0);
    /* the header alone is valid C */
    ck_assert_int_eq(tu_write(tu_path("sep.c"), "#include \"m.h\"\n", (size_t)-1), 0);
    ck_assert_int_eq(sh("gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -c sep.c -o sep.o%s", ""), 0);
    /* float header */
    ck_assert_int_eq(cr_dxc("--real=float --header mf.h m.dx -o mf.c", NULL, NULL), 0);
    char *hf = tu_read(tu_path("mf.h"), NULL);
    ck_assert_ptr_nonnull(hf);
    ck_assert_msg(strstr(hf, "float f_grad(float x, float y, float *x_bar, float *y_bar);"), "%s", hf);
    free(hf);
    free(h);
    free(c);
}
END_TEST

START_TEST(test_emit_ir)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("m.dx --emit=ir", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "fn f_grad grad") && strstr(out, "fn f primal") &&
                      strstr(out, "fn g_grad grad"),
                  "IR: %s", out);
    ck_assert_msg(!strstr(out, "#include"), "--emit=ir printed C");
    free(out);
    free(err);
    ck_assert_int_eq(cr_dxc("--emit=ir -o m.ir m.dx", NULL, NULL), 0);
    char *ir = tu_read(tu_path("m.ir"), NULL);
    ck_assert_ptr_nonnull(ir);
    ck_assert_msg(strstr(ir, "fn f_grad"), "%s", ir);
    free(ir);
}
END_TEST

START_TEST(test_emit_dot)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("m.dx --emit=dot -o m.gv", NULL, NULL), 0);
    char *gv = tu_read(tu_path("m.gv"), NULL);
    ck_assert_ptr_nonnull(gv);
    ck_assert_msg(match("^(strict )?digraph", gv), "not a digraph: %.200s", gv);
    /* balanced braces */
    int depth = 0;
    for (const char *p = gv; *p; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (!*p)
                break;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}') {
            depth--;
            ck_assert_int_ge(depth, 0);
        }
    }
    ck_assert_int_eq(depth, 0);
    /* both functions, forward and backward: a derivative on each arrow,
     * an adjoint for every parameter but the data k */
    ck_assert_msg(strstr(gv, "label=\"f(x, y)\"") && strstr(gv, "label=\"g(a, k)\"") &&
                      strstr(gv, "[label=\"dt2/dx = 2*x\"]") && strstr(gv, "label=\"a_bar = dg/da\"") &&
                      strstr(gv, "label=\"y_bar = df/dy\"") && !strstr(gv, "k_bar"),
                  "%s", gv);
    free(gv);
    if (tu_run("command -v dot", NULL, NULL) == 0) {
        ck_assert_int_eq(sh("dot -Tsvg m.gv -o m.svg%s", ""), 0);
        char *svg = tu_read(tu_path("m.svg"), NULL);
        ck_assert_msg(svg && strstr(svg, "<svg"), "dot produced no SVG");
        free(svg);
    } else {
        fprintf(stderr, "test_emit_dot: graphviz's dot not installed; dot -Tsvg skipped\n");
    }
    ck_assert_int_eq(cr_dxc("m.dx --emit=dot", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "digraph"), "%s", out);
    free(out);
    free(err);
}
END_TEST


/* ---- where output goes: what cc does with -o ---- */

/* The text dxc writes for m.dx, as printed on standard output. */
static char *expected_c(void)
{
    char *out = NULL;
    ck_assert_int_eq(cr_dxc("m.dx", &out, NULL), 0);
    ck_assert_ptr_nonnull(out);
    return out;
}

/* ... with a header named base (whose include guard the C file names). */
static char *expected_c_with(const char *base)
{
    char *out = NULL, *args = tu_printf("m.dx --header want.d/%s", base);
    ck_assert_int_eq(mkdir(tu_path("want.d"), 0700) == 0 || errno == EEXIST, 1);
    ck_assert_int_eq(cr_dxc(args, &out, NULL), 0);
    ck_assert_ptr_nonnull(out);
    free(args);
    return out;
}

static void assert_file(const char *name, const char *want)
{
    char *got = tu_read(tu_path(name), NULL);
    ck_assert_msg(got, "%s was not written", name);
    ck_assert_msg(!strcmp(got, want), "%s holds something else:\n%.300s", name, got);
    free(got);
}

/* No temporary file is left in the directory. */
static void assert_no_temp(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && ls -aR | grep -c dxtmp", tu_tmpdir());
    char *n = NULL;
    tu_run(cmd, &n, NULL);
    ck_assert_msg(n && atoi(n) == 0, "temporary files left behind: %s", n);
    free(n);
}

/* -o or --header naming the input, or each other, is refused before
 * anything is written. */
static const char *clash_args[] = {
    "m.dx -o m.dx",          "m.dx -o ./m.dx",           "m.dx -o x.c --header m.dx",
    "m.dx -o lm.c",          "m.dx -o a.c --header a.c", "m.dx -o a.c --header ./a.c",
    "m.dx --header -",       "m.dx -o - --header -",     "m.dx -o e.c --header e.c",
};

START_TEST(test_output_clash)
{
    const char *src = tu_read(tu_path("m.dx"), NULL);
    ck_assert_int_eq(sh("ln -s m.dx lm.c && echo old > e.c%s", ""), 0);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc(clash_args[_i], &out, &err), 1);
    ck_assert_msg(err && match("^dxc: error: .*(input file|same file|standard output)", err),
                  "dxc %s: %s", clash_args[_i], err);
    ck_assert_msg(!out || !*out, "dxc %s printed: %s", clash_args[_i], out);
    assert_file("m.dx", src);
    assert_file("e.c", "old\n");
    ck_assert_ptr_null(tu_read(tu_path("a.c"), NULL));
    ck_assert_ptr_null(tu_read(tu_path("x.c"), NULL));
    ck_assert_int_eq(sh("test -L lm.c%s", ""), 0);
    assert_no_temp();
    free((void *)src);
    free(out);
    free(err);
}
END_TEST

/* A large output (3.5 MB of C from 3 000 statements) is collected in an
 * unnamed file in its target's directory, which becomes the output by a
 * link and a rename rather than a copy: the same text as on standard
 * output, a new file's mode from the umask, an existing file's mode
 * kept, through a symbolic link into another directory, and no file left
 * behind.  Where strace is installed, it shows the link taking place and
 * no temporary file being written. */
START_TEST(test_output_linked)
{
    char *big = tu_printf("python3 '%s/bench/bigprog.py' 3000 > big.dx && mkdir sub && "
                          "echo old > sub/old.c && chmod 604 sub/old.c && ln -s sub/old.c link.c",
                          tu_root());
    ck_assert_int_eq(sh("%s", big), 0);
    free(big);
    const char *dxc = tu_dxc();
    char *run = tu_printf("'%s' big.dx > want.c && mkdir want.d && '%s' big.dx --header want.d/new.h > want_h.c && "
                          "rm -r want.d && umask 027 && '%s' big.dx -o new.c --header new.h && "
                          "'%s' big.dx -o link.c && cmp want_h.c new.c && cmp want.c sub/old.c && "
                          "test \"$(stat -c %%a new.c)\" = 640 && test \"$(stat -c %%a sub/old.c)\" = 604 && "
                          "test -L link.c && grep -q 'f_hvp(' new.h",
                          dxc, dxc, dxc, dxc);
    ck_assert_msg(sh("%s", run) == 0, "a large output linked into place differs");
    free(run);
    assert_no_temp();
    if (tu_run("command -v strace", NULL, NULL) != 0) {
        fprintf(stderr, "test_output_linked: strace not installed; the link itself not traced\n");
        return;
    }
    if (sh("python3 -c 'import os; os.close(os.open(\"sub\", os.O_TMPFILE | os.O_RDWR))'%s", "") != 0) {
        fprintf(stderr, "test_output_linked: this file system makes no O_TMPFILE; not traced\n");
        return;
    }
    /* LeakSanitizer cannot run under ptrace: a sanitized dxc's leak check is off here */
    /* put in place by exchanging the names and removing the old file, or,
     * where the file system cannot exchange them, by a rename */
    run = tu_printf("ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=linkat,openat,rename,renameat2,unlink "
                    "-o trace.txt '%s' big.dx -o link.c && "
                    "grep -qE 'linkat\\(AT_FDCWD, \"/proc/self/fd/[0-9]+\", AT_FDCWD, \"(\\./)?sub/\\.old\\.c\\.dxtmp\\.[0-9]+\", "
                    "AT_SYMLINK_FOLLOW\\) = 0' trace.txt && "
                    "{ { grep -qE 'renameat2\\(AT_FDCWD, \"(\\./)?sub/\\.old\\.c\\.dxtmp\\.[0-9]+\", AT_FDCWD, "
                    "\"(\\./)?sub/old\\.c\", RENAME_EXCHANGE\\) = 0' trace.txt && "
                    "grep -qE 'unlink\\(\"(\\./)?sub/\\.old\\.c\\.dxtmp\\.[0-9]+\"\\) = 0' trace.txt; } || "
                    "grep -qE 'rename\\(\"(\\./)?sub/\\.old\\.c\\.dxtmp\\.[0-9]+\", "
                    "\"(\\./)?sub/old\\.c\"\\) = 0' trace.txt; } && "
                    "! grep 'openat([^)]*dxtmp' trace.txt && cmp want.c sub/old.c",
                    dxc);
    ck_assert_msg(sh("%s", run) == 0, "the output was not linked into place");
    free(run);
    assert_no_temp();
}
END_TEST

/* A new file gets 0666 minus the umask; an existing one keeps its mode
 * and is replaced atomically by another file (a new inode; a second
 * link to the old one keeps the old text), leaving no temporary file. */
START_TEST(test_output_modes)
{
    char *want = expected_c();
    ck_assert_int_eq(sh("umask 027 && '%s' m.dx -o new.c --header new.h", tu_dxc()), 0);
    ck_assert_int_eq(sh("test \"$(stat -c %%a new.c)\" = 640 && test \"$(stat -c %%a new.h)\" = 640%s", ""),
                     0);
    ck_assert_int_eq(sh("umask 0 && '%s' m.dx -o open.c", tu_dxc()), 0);
    ck_assert_int_eq(sh("test \"$(stat -c %%a open.c)\" = 666%s", ""), 0);
    ck_assert_int_eq(sh("echo old > old.c && chmod 604 old.c && stat -c %%i old.c > ino && ln old.c kept.c%s", ""),
                     0);
    ck_assert_int_eq(sh("umask 077 && '%s' m.dx -o old.c", tu_dxc()), 0);
    ck_assert_int_eq(sh("test \"$(stat -c %%a old.c)\" = 604%s", ""), 0);
    ck_assert_int_eq(sh("test \"$(stat -c %%i old.c)\" != \"$(cat ino)\"%s", ""), 0);
    ck_assert_int_eq(sh("test \"$(cat kept.c)\" = old && test \"$(stat -c %%h kept.c)\" = 1%s", ""), 0);
    char *want_h = expected_c_with("new.h");
    assert_file("new.c", want_h);
    assert_file("old.c", want);
    ck_assert_int_eq(sh("rm -r want.d%s", ""), 0);
    assert_no_temp();
    free(want);
    free(want_h);
}
END_TEST

/* A symbolic link is written through, wherever it points, even when what
 * it names does not exist yet; the link stays a link. */
START_TEST(test_output_symlink)
{
    char *want = expected_c_with("dangling.c");
    ck_assert_int_eq(sh("rm -r want.d%s", ""), 0);
    ck_assert_int_eq(sh("mkdir sub && echo old > sub/real.c && ln -s sub/real.c link.c && "
                        "ln -s ../sub/new.c sub/dangling.c && ln -s link.c twice.c%s",
                        ""),
                     0);
    ck_assert_int_eq(cr_dxc("m.dx -o twice.c --header sub/dangling.c", NULL, NULL), 0);
    ck_assert_int_eq(sh("test -L link.c && test -L twice.c && test -L sub/dangling.c%s", ""), 0);
    assert_file("sub/real.c", want);
    char *h = tu_read(tu_path("sub/new.c"), NULL);
    ck_assert_msg(h && strstr(h, "#ifndef"), "the header did not go through the dangling link");
    free(h);
    /* a loop of links is an error, not a hang */
    ck_assert_int_eq(sh("ln -s loop1 loop2 && ln -s loop2 loop1%s", ""), 0);
    char *err = NULL;
    ck_assert_int_eq(cr_dxc("m.dx -o loop1", NULL, &err), 1);
    ck_assert_msg(err && match("^dxc: error: cannot write 'loop1'", err), "%s", err);
    free(err);
    assert_no_temp();
    free(want);
}
END_TEST

/* A FIFO is written into (a reader gets the C), and stays a FIFO; a
 * character device such as /dev/null is written into, not replaced. */
START_TEST(test_output_fifo_device)
{
    char *want = expected_c();
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "mkfifo ff && { cat ff > got.c & pid=$!; timeout 20 '%s' m.dx -o ff; st=$?; "
             "wait $pid; exit $st; }",
             tu_dxc());
    ck_assert_int_eq(sh("%s", cmd), 0);
    ck_assert_int_eq(sh("test -p ff%s", ""), 0);
    assert_file("got.c", want);
    ck_assert_int_eq(cr_dxc("m.dx -o /dev/null --header /dev/null", NULL, NULL), 1); /* the same file */
    ck_assert_int_eq(cr_dxc("m.dx -o /dev/null", NULL, NULL), 0);
    ck_assert_int_eq(sh("test -c /dev/null%s", ""), 0);
    /* /dev/stdout (a link to the caller's pipe) and "-" are standard output */
    char *out = NULL;
    ck_assert_int_eq(cr_dxc("m.dx -o /dev/stdout", &out, NULL), 0);
    ck_assert_msg(out && !strcmp(out, want), "-o /dev/stdout: %.200s", out);
    free(out);
    ck_assert_int_eq(cr_dxc("-o - m.dx", &out, NULL), 0);
    ck_assert_msg(out && !strcmp(out, want), "-o -: %.200s", out);
    free(out);
    /* a directory is an error */
    char *err = NULL;
    ck_assert_int_eq(sh("mkdir dir%s", ""), 0);
    ck_assert_int_eq(cr_dxc("m.dx -o dir", NULL, &err), 1);
    ck_assert_msg(err && match("^dxc: error: cannot write 'dir': it is a directory", err), "%s", err);
    free(err);
    free(want);
}
END_TEST

/* On any error no output is touched: a bad program, or a header that
 * cannot be written while the C file could. */
START_TEST(test_output_untouched_on_error)
{
    ck_assert_int_eq(sh("echo old > a.c && echo old > a.h && printf 'fn f(x) = y\\n' > bad.dx%s", ""),
                     0);
    ck_assert_int_eq(cr_dxc("bad.dx -o a.c --header a.h", NULL, NULL), 1);
    ck_assert_int_eq(cr_dxc("m.dx -o a.c --header no/such/dir/a.h", NULL, NULL), 1);
    assert_file("a.c", "old\n");
    assert_file("a.h", "old\n");
    char *out = NULL;
    ck_assert_int_eq(cr_dxc("bad.dx", &out, NULL), 1);
    ck_assert_msg(!out || !*out, "a failed compilation printed: %s", out);
    free(out);
    assert_no_temp();
}
END_TEST

/* A FIFO that may not be written is found before the C file beside it is
 * replaced.  Root may write anything, so as root the check runs as
 * nobody (skipped, and said so, where su cannot do that). */
START_TEST(test_output_fifo_refused)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir u && cp m.dx u/ && cd u && echo old > keep.c && "
             "mkfifo -m 0444 ro.fifo && chmod 777 . && chmod 666 keep.c",
             tu_tmpdir());
    ck_assert_int_eq(tu_run(cmd, NULL, NULL), 0);
    const char *run = "'%s' m.dx -o keep.c --header ro.fifo";
    char inner[1024];
    snprintf(inner, sizeof inner, run, tu_dxc());
    if (getuid() == 0)
        snprintf(cmd, sizeof cmd, "cd '%s/u' && su nobody -s /bin/sh -c \"%s\"", tu_tmpdir(), inner);
    else
        snprintf(cmd, sizeof cmd, "cd '%s/u' && %s", tu_tmpdir(), inner);
    char *err = NULL;
    int st = tu_run(cmd, NULL, &err);
    if (getuid() == 0 && (!err || !strstr(err, "dxc: error"))) {
        fprintf(stderr, "test_output_fifo_refused: cannot run dxc as nobody here; skipped\n");
    } else {
        ck_assert_msg(st == 1 && match("^dxc: error: cannot write 'ro.fifo'", err), "%d %s", st, err);
        assert_file("u/keep.c", "old\n");
    }
    free(err);
}
END_TEST

/* "-" reads the program from standard input; errors name it <stdin>. */
START_TEST(test_stdin_input)
{
    char *want = expected_c(), *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("- < m.dx", &out, NULL), 0);
    ck_assert_ptr_nonnull(out);
    const char *a = strchr(want, '\n'), *b = strchr(out, '\n');
    ck_assert_msg(a && b && !strcmp(a, b), "from stdin:\n%.300s", out);
    ck_assert_msg(strstr(out, "from <stdin>"), "%.200s", out);
    free(out);
    ck_assert_int_eq(sh("printf 'fn f(x) = y\\n' > bad.dx%s", ""), 0);
    ck_assert_int_eq(cr_dxc("-o s.c - < bad.dx", NULL, &err), 1);
    ck_assert_msg(err && match("^<stdin>:1:11: error: ", err), "%s", err);
    ck_assert_ptr_null(tu_read(tu_path("s.c"), NULL));
    free(err);
    free(want);
}
END_TEST

/* ---- the first run: make example, then make has nothing to do ---- */

/* The README's ```text make example block is what make example printed
 * (out): the block, as one piece, appears in it. */
static void assert_readme_shows(const char *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/README.md", tu_root());
    char *readme = tu_read(path, NULL);
    ck_assert_ptr_nonnull(readme);
    const char *open = strstr(readme, "```text make example\n");
    ck_assert_msg(open, "README.md has no ```text make example block");
    open = strchr(open, '\n') + 1;
    const char *close = strstr(open, "```");
    ck_assert_ptr_nonnull(close);
    char *block = strndup(open, (size_t)(close - open));
    ck_assert_msg(strstr(out, block), "README.md shows:\n%s\nmake example prints:\n%s", block, out);
    free(block);
    free(readme);
}

/* In a copy of the source tree: `make example` builds the compiler,
 * compiles the seed examples, runs them and prints each derivative beside
 * its finite difference; afterwards `make` is up to date (the headers
 * make example generates under build/ are nobody's dependency). */
START_TEST(test_make_example)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir src && cd '%s' && cp -R Makefile common lexer parser ir codegen "
             "driver runtime examples '%s/src'",
             tu_tmpdir(), tu_root(), tu_tmpdir());
    ck_assert_int_eq(tu_run(cmd, NULL, NULL), 0);
    /* make's own variables from an enclosing `make check` must not leak in,
     * nor the variables make B=dir CC=... check exports (the copy builds in
     * build/ with the defaults) */
    const char *make = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u B -u CC -u CFLAGS -u LDFLAGS make "
                       "--no-print-directory";
    char *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "cd '%s/src' && %s -j2 example", tu_tmpdir(), make);
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "make example failed (%d):\n%s\n%s", st, out, err);
    const char *want[] = {
        "square(3) = 9, dy/dx = 6 (finite differences: 6.000000)",
        "f = 20, gradient (4, 4, 5) (finite differences: 4.000000, 4.000000, 5.000000)",
        ("y = 1.1, loss = 0.005, dloss/dw = 0.2, dloss/db = 0.1 (finite differences: 0.200000, "
         "0.100000)"),
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(out, want[i]), "make example does not print '%s':\n%s", want[i], out);
    assert_readme_shows(out);
    free(out);
    free(err);
    /* the rest of the build, then nothing left to do, even after another
     * make example and a header written straight into build/ */
    snprintf(cmd, sizeof cmd,
             "cd '%s/src' && %s -j2 >/dev/null && %s example >/dev/null && "
             "build/dxc examples/graph.dx -o build/graph.c --header build/graph.h && %s -q",
             tu_tmpdir(), make, make, make);
    st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "make is not up to date after make example (%d):\n%s\n%s", st, out, err);
    free(out);
    free(err);
    /* and a header change rebuilds what includes it */
    snprintf(cmd, sizeof cmd, "cd '%s/src' && touch ir/ir.h && %s -n | grep -c 'ir/opt.c'",
             tu_tmpdir(), make);
    st = tu_run(cmd, &out, NULL);
    ck_assert_msg(st == 0 && out && atoi(out) >= 1, "touching ir/ir.h rebuilds nothing: %s", out);
    free(out);
}
END_TEST

Suite *suite_cli(void);

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_help_version);
    tcase_add_test(tc, test_help_stats_example);
    tcase_add_loop_test(tc, test_bad_options, 0, (int)(sizeof bad_args / sizeof bad_args[0]));
    tcase_add_test(tc, test_missing_input);
    TCase *jobs = tcase_create("jobs");
    tcase_add_checked_fixture(jobs, setup, teardown);
    tcase_set_timeout(jobs, 300);
    tcase_add_test(jobs, test_jobs_same_code);
    tcase_add_test(jobs, test_spill_same_code);
    suite_add_tcase(s, jobs);
    tcase_add_test(tc, test_output_places);
    tcase_add_test(tc, test_header);
    tcase_add_test(tc, test_emit_ir);
    tcase_add_test(tc, test_emit_dot);
    tcase_add_loop_test(tc, test_output_clash, 0, (int)(sizeof clash_args / sizeof clash_args[0]));
    tcase_add_test(tc, test_output_modes);
    tcase_add_test(tc, test_output_symlink);
    tcase_add_test(tc, test_output_fifo_device);
    tcase_add_test(tc, test_output_untouched_on_error);
    tcase_add_test(tc, test_stream_same_code);
    tcase_add_test(tc, test_halves_same_code);
    tcase_add_test(tc, test_scratch_output);
    tcase_add_test(tc, test_output_linked);
    tcase_add_test(tc, test_output_fifo_refused);
    tcase_add_test(tc, test_stdin_input);
    suite_add_tcase(s, tc);
    TCase *mk = tcase_create("make");
    tcase_add_checked_fixture(mk, setup, teardown);
    tcase_set_timeout(mk, 600);
    tcase_add_test(mk, test_make_example);
    suite_add_tcase(s, mk);
    return s;
}
