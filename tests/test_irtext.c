/*
 * test_irtext.c - the IR as text (ir/irprint.c, ir/irread.c, docs/ir.md).
 *
 *  - Every .dx program of the tree (tests/, examples/, bench/) through
 *    $DXC under four option sets: `--emit=ir` read back and written again
 *    is the same text, byte for byte, and the C, the header and any error
 *    dxc writes from the .ir are those it writes from the .dx (but for the
 *    input's name in the first comment).  The same in process for 200
 *    random programs of tests/progen.c.
 *  - The passes on IR stated as text: each tests/ir/NAME.ir holds a
 *    `# pass: P ...` line, the input program, a `# expect:` line and the
 *    functions the passes must make, exactly (DX_IR_UPDATE=1 rewrites the
 *    expected part with what they make, for reviewing with git diff).
 *  - The reader's errors: a table of malformed texts and the exact place
 *    and message of each; and mutated and truncated texts, which must be
 *    read or refused, never crash, and when read, print and read back as
 *    a fixed point and compile to C.
 */
#include <check.h>
#include <math.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
#include "progen.h"
#include "testutil.h"

/* ---- the files of the tree ---- */

enum { MAX_FILES = 512 };

typedef struct {
    char *p[MAX_FILES];
    int n;
} Files;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file under dir (relative to the tree's root) whose name ends in
 * ext, into f, recursively. */
static void find_files(Files *f, const char *dir, const char *ext)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tu_root(), dir);
    DIR *d = opendir(path);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        size_t n = strlen(e->d_name), k = strlen(ext);
        if (n > k && !strcmp(e->d_name + n - k, ext)) {
            if (f->n < MAX_FILES)
                f->p[f->n++] = strdup(sub);
        } else if (!strchr(e->d_name, '.')) {
            find_files(f, sub, ext);
        }
    }
    closedir(d);
}

static Files programs, passes;

static void find_all(void)
{
    if (programs.n || passes.n)
        return;
    find_files(&programs, "tests", ".dx");
    find_files(&programs, "examples", ".dx");
    find_files(&programs, "bench", ".dx");
    qsort(programs.p, (size_t)programs.n, sizeof(char *), by_name);
    find_files(&passes, "tests/ir", ".ir");
    qsort(passes.p, (size_t)passes.n, sizeof(char *), by_name);
}

/* ---- round trip through dxc ---- */

static int run_dxc(const char *opts, const char *in, const char *args, char **err)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' %s", tu_dxc(), opts, in, args);
    return tu_run(cmd, NULL, err);
}

/* The text after the first line. */
static const char *after_first(const char *s)
{
    const char *p = s ? strchr(s, '\n') : NULL;
    return p ? p + 1 : "";
}

/* tmp/NAME from the .dx (dir "d") and from the .ir (dir "i") agree. */
static void same_output(const char *name, const char *prog, const char *opts, int first_line)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/d/%s", tu_tmpdir(), name);
    snprintf(b, sizeof b, "%s/i/%s", tu_tmpdir(), name);
    char *x = tu_read(a, NULL), *y = tu_read(b, NULL);
    ck_assert_msg(x && y, "%s [%s]: no %s", prog, opts, name);
    ck_assert_msg(!strcmp(first_line ? x : after_first(x), first_line ? y : after_first(y)),
                  "%s [%s]: the %s from the .ir differs from the one from the .dx", prog, opts, name);
    free(x);
    free(y);
}

static void roundtrip(const char *prog, const char *opts)
{
    char src[1024], ir[512], ir2[512], args[1024];
    snprintf(src, sizeof src, "%s/%s", tu_root(), prog);
    snprintf(ir, sizeof ir, "%s/a.ir", tu_tmpdir());
    snprintf(ir2, sizeof ir2, "%s/b.ir", tu_tmpdir());
    snprintf(args, sizeof args, "--emit=ir -o '%s'", ir);
    if (run_dxc(opts, src, args, NULL) != 0)
        return; /* a program dxc refuses (tests of errors) */
    char *err = NULL;
    snprintf(args, sizeof args, "--emit=ir -o '%s'", ir2);
    ck_assert_msg(run_dxc(opts, ir, args, &err) == 0, "%s [%s]: %s", prog, opts, err);
    free(err);
    char *x = tu_read(ir, NULL), *y = tu_read(ir2, NULL);
    ck_assert_msg(x && y && !strcmp(x, y), "%s [%s]: the IR read back prints differently", prog, opts);
    free(x);
    free(y);
    int st[2];
    for (int k = 0; k < 2; k++) {
        const char *dir = k ? "i" : "d";
        snprintf(args, sizeof args, "-o '%s/%s/x.c' --header '%s/%s/x.h' 2>'%s/%s/err'", tu_tmpdir(),
                 dir, tu_tmpdir(), dir, tu_tmpdir(), dir);
        st[k] = run_dxc(opts, k ? ir : src, args, NULL);
    }
    ck_assert_msg(st[0] == st[1], "%s [%s]: status %d from the .dx, %d from the .ir", prog, opts,
                  st[0], st[1]);
    same_output("err", prog, opts, 1);
    if (st[0] == 0) {
        same_output("x.c", prog, opts, 0);
        same_output("x.h", prog, opts, 0);
    }
}

START_TEST(test_roundtrip)
{
    static const char *const opts[] = {"", "--real=float", "--workspace", "--tape=small"};
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/d' '%s/i'", tu_tmpdir(), tu_tmpdir());
    ck_assert_int_eq(tu_run(cmd, NULL, NULL), 0);
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
        roundtrip(programs.p[_i], opts[k]);
    tu_cleanup();
}
END_TEST

/* The options on a .ir: --only, --stats, and the C generator's errors,
 * which point into the .dx lines the file carries. */
START_TEST(test_ir_options)
{
    static const char dx[] = "fn f(x[300]) = sum(x * x)\n"
                             "# g's array: 2400 bytes\n"
                             "fn g(x[300], y) = sum(exp(x) * y) * sum(exp(x))\n";
    const char *d = tu_tmpdir();
    char path[512], *e1 = NULL, *e2 = NULL;
    snprintf(path, sizeof path, "%s/m.dx", d);
    ck_assert_int_eq(tu_write(path, dx, (size_t)-1), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' m.dx --emit=ir -o m.ir", d, tu_dxc());
    ck_assert_int_eq(tu_run(cmd, NULL, NULL), 0);
    static const char *const opts[] = {"--only=g", "--stats --workspace", "--stack-budget=2K",
                                       "--only=h", "--only=g --real=float --header m.h"};
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) {
        char *o1 = NULL, *o2 = NULL;
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s m.dx", d, tu_dxc(), opts[k]);
        int s1 = tu_run(cmd, &o1, &e1);
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s m.ir", d, tu_dxc(), opts[k]);
        int s2 = tu_run(cmd, &o2, &e2);
        ck_assert_msg(s1 == s2, "%s: status %d from the .dx, %d from the .ir", opts[k], s1, s2);
        if (k == 3) /* --only names the input */
            ck_assert_msg(e2 && strstr(e2, "dxc: error: --only: no function 'h' in 'm.ir'"), "%s", e2);
        else
            ck_assert_msg(!strcmp(e1, e2), "%s: from the .dx:\n%s\nfrom the .ir:\n%s", opts[k], e1, e2);
        ck_assert_msg(!strcmp(after_first(o1), after_first(o2)), "%s: other output", opts[k]);
        if (k == 2)
            ck_assert_msg(strstr(e2, "m.dx:3:4: error: 'g' needs ") && strstr(e2, "    fn g(x[300]"),
                          "%s", e2);
        free(o1);
        free(o2);
        free(e1);
        free(e2);
    }
    tu_cleanup();
}
END_TEST

/* ---- round trip in process: random programs (tests/progen.c) ---- */

static char *print_program(const Program *p)
{
    char *s = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&s, &n);
    ir_print_program(p, m);
    fclose(m);
    return s;
}

static char *c_of(const Program *p, const CgOpts *o)
{
    char *s = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&s, &n);
    Diag d = {0};
    d.quiet = 1;
    if (cg_check(p, o, &d) == 0)
        cg_c(p, o, m);
    else
        fprintf(m, "%d:%d: %s\n", d.last_loc.line, d.last_loc.col, d.last);
    fclose(m);
    return s;
}

/* 25 random programs per run (every tape mode and option): the IR read
 * back prints the same and compiles to the same C, or the same error. */
START_TEST(test_random_programs)
{
    PgOpts po = pg_defaults();
    for (int k = 0; k < 25; k++) {
        uint64_t seed = 1000 + 25 * (uint64_t)_i + (uint64_t)k;
        PgProg pg = pg_generate(seed, &po);
        char *dx = pg_print(pg.root);
        TuLowered c, r;
        ck_assert_msg(tu_lower(&c, dx) == 0, "seed %llu: %s", (unsigned long long)seed, c.d.last);
        for (int u = 0; u < c.prog.units.n; u++) {
            c.prog.units.p[u].small_tape = (int)(seed & 1);
            ad_unit(&c.prog.units.p[u]);
        }
        char *t1 = print_program(&c.prog);
        ck_assert_msg(tu_read_ir(&r, "p.ir", t1) == 0, "seed %llu: %d:%d: %s",
                      (unsigned long long)seed, r.d.last_loc.line, r.d.last_loc.col, r.d.last);
        char *t2 = print_program(&r.prog);
        ck_assert_msg(!strcmp(t1, t2), "seed %llu: the IR read back prints differently",
                      (unsigned long long)seed);
        CgOpts o = {.use_float = (int)(seed >> 1 & 1),
                    .src_path = "p.dx",
                    .header = NULL,
                    .stack_budget = CG_STACK_BUDGET,
                    .workspace = (int)(seed >> 2 & 1)};
        char *c1 = c_of(&c.prog, &o), *c2 = c_of(&r.prog, &o);
        ck_assert_msg(!strcmp(c1, c2), "seed %llu: the IR read back compiles to other C",
                      (unsigned long long)seed);
        free(c1);
        free(c2);
        free(t1);
        free(t2);
        free(dx);
        arena_free(c.a);
        arena_free(r.a);
        pg_free(&pg);
    }
}
END_TEST

/* ---- passes on IR text: tests/ir/NAME.ir ---- */

typedef struct {
    const char *name;
    void (*run)(Fn *);
} OptPass;

/* opt_lanes with sums of 4 terms or more, so that a test's sums are short */
static void opt_lanes4(Fn *f)
{
    opt_lanes(f, 4);
}

/* opt_hoist with tables of 1 KiB at most */
static void opt_hoist1k(Fn *f)
{
    opt_hoist(f, 1024, 1 << 20);
}

static const OptPass opt_passes[] = {
    {"opt_fold", opt_fold}, {"opt_cse", opt_cse},     {"opt_dce", opt_dce},
    {"opt_fuse", opt_fuse}, {"opt_store", opt_store}, {"opt_all", opt_all},
    {"opt_lanes4", opt_lanes4}, {"opt_hoist1k", opt_hoist1k},
};

typedef VEC(Fn *) FnList;

/* One pass on the functions in hand, *cur: an opt_ pass on each in
 * place; ad_linearize makes the jvp of each primal (the hvp of each
 * grad), ad_transpose the grad (or vjp) of each jvp, ad_unit the entry
 * points of each unit, and those are then the functions in hand. */
static void run_pass(Program *p, FnList *cur, const char *pass, const char *file)
{
    Arena *A = p->arena;
    for (size_t k = 0; k < sizeof opt_passes / sizeof *opt_passes; k++)
        if (!strcmp(pass, opt_passes[k].name)) {
            for (int i = 0; i < cur->n; i++) {
                opt_passes[k].run(cur->p[i]);
                ir_verify(cur->p[i]);
            }
            return;
        }
    FnList out = {0};
    for (int i = 0; i < (strcmp(pass, "ad_unit") ? cur->n : p->units.n); i++) {
        Fn *f = strcmp(pass, "ad_unit") ? cur->p[i] : NULL, *g = NULL;
        if (!strcmp(pass, "ad_linearize") && f->kind != FN_PRIMAL && f->kind != FN_GRAD)
            continue;
        if (!strcmp(pass, "ad_transpose") && f->kind != FN_JVP)
            continue;
        if (!strcmp(pass, "ad_linearize")) {
            int jvp = f->kind == FN_PRIMAL;
            g = ad_linearize(f, arena_printf(A, "%s_%s", f->src_name, jvp ? "jvp" : "hvp"),
                             jvp ? FN_JVP : FN_HVP);
        } else if (!strcmp(pass, "ad_transpose")) {
            int array = f->out.p[0].ty.rank > 0;
            g = ad_transpose(f, arena_printf(A, "%s_%s", f->src_name, array ? "vjp" : "grad"),
                             array ? FN_VJP : FN_GRAD, p->units.p[0].small_tape, 0);
        } else if (!strcmp(pass, "ad_unit")) {
            Unit *u = &p->units.p[i];
            ad_unit(u);
            Fn *fs[4];
            for (int k = 0, n = ir_unit_fns(u, fs); k < n; k++)
                vec_push(A, &out, fs[k]);
            continue;
        } else {
            ck_abort_msg("%s: unknown pass '%s'", file, pass);
        }
        ir_verify(g);
        vec_push(A, &out, g);
    }
    *cur = out;
}

/* The functions as ir_print writes them, separated by blank lines. */
static char *print_fns(const FnList *fs)
{
    char *s = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&s, &n);
    for (int i = 0; i < fs->n; i++) {
        if (i)
            fputc('\n', m);
        ir_print(fs->p[i], m);
    }
    fclose(m);
    return s;
}

/* `diff -u` of want and got, for the failure message. */
static char *diff(const char *want, const char *got)
{
    char a[512], b[512], cmd[1200], *out = NULL;
    snprintf(a, sizeof a, "%s/want", tu_tmpdir());
    snprintf(b, sizeof b, "%s/got", tu_tmpdir());
    tu_write(a, want, (size_t)-1);
    tu_write(b, got, (size_t)-1);
    snprintf(cmd, sizeof cmd, "cd '%s' && diff -u want got", tu_tmpdir());
    tu_run(cmd, &out, NULL);
    return out;
}

static const char expect_mark[] = "# expect:\n";

/* The interpreter's outputs of f at inputs from seed (malloc'ed, one
 * array per output, all in one block: free the first). */
static double **outputs(const Fn *f, unsigned seed)
{
    double **in = calloc((size_t)f->in.n + 1, sizeof *in), **out = calloc((size_t)f->out.n + 1, sizeof *out);
    ck_assert(in && out);
    for (int i = 0; i < f->in.n; i++) {
        long long n = ty_size(f->in.p[i].ty);
        in[i] = malloc(sizeof(double) * (size_t)(n + 1));
        for (long long k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            in[i][k] = (double)(seed >> 8 & 0xffff) / 32768.0 - 1.0;
        }
    }
    for (int i = 0; i < f->out.n; i++)
        out[i] = calloc((size_t)ty_size(f->out.p[i].ty) + 1, sizeof(double));
    ir_interp(f, (const double *const *)in, out);
    for (int i = 0; i < f->in.n; i++)
        free(in[i]);
    free(in);
    return out;
}

/* A pass that rewrites functions in place computes the same values: the
 * functions in hand, cur, against those of the file as read, at three
 * points, to rounding (lanes and hoist add tangent terms in another
 * order). */
static void same_values(const FnList *cur, const char *file, const char *text)
{
    TuLowered c0;
    ck_assert_int_eq(tu_read_ir(&c0, file, text), 0);
    FnList before = {0};
    for (int i = 0; i < c0.prog.units.n; i++) {
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(&c0.prog.units.p[i], fs); k < n; k++)
            vec_push(c0.a, &before, fs[k]);
    }
    ck_assert_int_eq(before.n, cur->n);
    for (int i = 0; i < cur->n; i++) {
        const Fn *a = before.p[i], *b = cur->p[i];
        ck_assert_int_eq(a->out.n, b->out.n);
        for (unsigned seed = 1; seed <= 3; seed++) {
            double **x = outputs(a, seed), **y = outputs(b, seed);
            for (int o = 0; o < a->out.n; o++)
                for (long long k = 0; k < ty_size(a->out.p[o].ty); k++) {
                    double u = x[o][k], v = y[o][k];
                    ck_assert_msg((u != u && v != v) || fabs(u - v) <= 1e-12 * (1 + fabs(u)),
                                  "%s: %s output %d[%lld] is %.17g after the passes, %.17g before", file,
                                  b->name, o, k, v, u);
                }
            for (int o = 0; o < a->out.n; o++) {
                free(x[o]);
                free(y[o]);
            }
            free(x);
            free(y);
        }
    }
    arena_free(c0.a);
}

START_TEST(test_pass_file)
{
    const char *file = passes.p[_i];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tu_root(), file);
    char *text = tu_read(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    char *mark = strstr(text, expect_mark), *list = strstr(text, "# pass:");
    ck_assert_msg(mark && list && list < mark, "%s: no '# pass:' line before a '# expect:' line", file);
    const char *want = mark + strlen(expect_mark);
    *mark = 0;
    TuLowered c;
    ck_assert_msg(tu_read_ir(&c, file, text) == 0, "%s:%d:%d: %s", file, c.d.last_loc.line,
                  c.d.last_loc.col, c.d.last);
    FnList cur = {0};
    for (int i = 0; i < c.prog.units.n; i++) {
        Unit *u = &c.prog.units.p[i];
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(u, fs); k < n; k++)
            vec_push(c.a, &cur, fs[k]);
    }
    char *line = strndup(list + 7, strcspn(list + 7, "\n"));
    for (char *save = NULL, *p = strtok_r(line, " ", &save); p; p = strtok_r(NULL, " ", &save))
        run_pass(&c.prog, &cur, p, file);
    char *got = print_fns(&cur);
    if (!strncmp(list + 7, " opt_", 5))
        same_values(&cur, file, text);
    if (getenv("DX_IR_UPDATE")) {
        TuBuf b = {0};
        tu_bprintf(&b, "%s%s%s", text, expect_mark, got);
        ck_assert_int_eq(tu_write(path, b.s, (size_t)-1), 0);
        free(b.s);
    } else if (strcmp(want, got)) {
        ck_abort_msg("%s: the passes made another IR (- expected, + made):\n%s", file, diff(want, got));
    }
    free(line);
    free(got);
    free(text);
    arena_free(c.a);
    tu_cleanup();
}
END_TEST

/* ---- the reader's errors ---- */

#define HEAD "unit f : real\nfn f primal\n  in x : real\n  out y : real return = %1\n{\n"

static const struct {
    const char *text;
    int line, col;
    const char *msg;
} bad[] = {
    {"%0 = mul\n",
     1, 1, "expected 'source', 'line', 'unit' or 'fn', found '%0'"},
    {"fn f primal\n",
     1, 1, "a function belongs to a unit: a 'unit' line comes first"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mull %0, %0 : real\n"
     "}\n",
     7, 8, "unknown operation 'mull'; did you mean 'mul'?"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %5 : real\n"
     "}\n",
     7, 16, "%5 is not defined before this use"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %0 = mul %0, %0 : real\n"
     "}\n",
     7, 3, "%0 is defined twice"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0 : real\n"
     "}\n",
     7, 15, "expected ',', found ':'"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : bool\n"
     "}\n",
     7, 3, "%1 must be real (mul), not bool"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = not %0 : bool\n"
     "}\n",
     7, 3, "operand 1 of %1 must be bool, but %0 is real"},
    {HEAD
     "  %0 = param 3 : real\n"
     "}\n",
     6, 3, "param 3: the function has 1 input"},
    {HEAD
     "  %0 = param 0 : real[2]\n"
     "}\n",
     6, 3, "%0 must be real (param), not real[2]"},
    {"source \"abc\n",
     1, 8, "this string has no closing '\"'"},
    {"source \"a\\qb\"\n",
     1, 10, "unknown escape in a string (\\\\, \\\", \\t, \\r and \\xHH are known)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real $\n"
     "}\n",
     7, 26, "unexpected character '$'"},
    {HEAD
     "  %0 = param 0 : real name=x\n",
     7, 1, "expected an instruction ('%N = ...'), 'yield' or '}', found the end of the file"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real\n"
     "  out y : real return = %7\n"
     "{\n"
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     4, 25, "%7 is not a value of the function's body"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real\n"
     "  out y : real[2] array = %1\n"
     "{\n"
     "  %0 = param 0 : real name=x\n"
     "  %1 = lt %0, %0 : bool\n"
     "}\n",
     4, 27, "output 'y' is real[2], but %1 is bool"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gt %0, %0 : bool\n"
     "  %3 = if %2 {\n"
     "    yield %0\n"
     "  } else {\n"
     "    yield %0\n"
     "  }\n"
     "  %4 = exp %0 : real\n"
     "  %1 = result 0 %3 : real\n"
     "}\n",
     14, 3, "a result of %3 must come right after it (or after its other results)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gt %0, %0 : bool\n"
     "  %3 = if %2 {\n"
     "    yield %0\n"
     "  } else {\n"
     "    yield %0\n"
     "  }\n"
     "  %1 = result 0 %3 : real\n"
     "  %4 = result 1 %3 : real\n"
     "}\n",
     14, 3, "%3 yields 1 value: it has no result 1"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gt %0, %0 : bool\n"
     "  %3 = if %2 {\n"
     "    yield %0, %0\n"
     "  } else {\n"
     "    yield %0, %0\n"
     "  }\n"
     "  %1 = result 1 %3 : real\n"
     "}\n",
     13, 3, "the results of %3 come in order, one per value it yields: this one must be result 0"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gt %0, %0 : bool\n"
     "  %3 = if %2 {\n"
     "    yield %0\n"
     "  } else {\n"
     "  }\n"
     "  %1 = result 0 %3 : real\n"
     "}\n",
     8, 3, "the branches of %3 yield 1 and 0 values"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = ivar 0 : index\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     7, 3, "ivar 0 has no place here: a body's ivars and carries come first, one each"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gen : real[3,2] {\n"
     "    %3 = ivar 0 : index\n"
     "    yield %0\n"
     "  }\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     10, 3, "the body of %2 ends before its 2 ivars"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gen : real[3,2] {\n"
     "    %3 = ivar 1 : index\n"
     "    %4 = ivar 0 : index\n"
     "    yield %0\n"
     "  }\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     8, 5, "expected 'ivar 0' here: the body of %2 starts with one ivar per dimension"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = for 0..3, %0 {\n"
     "    %3 = ivar 0 : index\n"
     "    %4 = carry 0 : real\n"
     "  }\n"
     "  %1 = result 0 %2 : real\n"
     "}\n",
     7, 3, "%2 carries 1 value and yields 0"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = for 0..3, %0 {\n"
     "    %3 = ivar 0 : index\n"
     "    %4 = carry 0 : real[2]\n"
     "    yield %0\n"
     "  }\n"
     "  %1 = result 0 %2 : real\n"
     "}\n",
     9, 5, "%4 must be real (carry), not real[2]"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %5 = loop 0..2 {\n"
     "    %6 = ivar 0 : index\n"
     "    %2 = for 0..%6, %0 {\n"
     "      %3 = ivar 0 : index\n"
     "      %4 = carry 0 : real\n"
     "      yield %4\n"
     "    }\n"
     "  }\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     9, 5, "a for runs between constants"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real[3]\n"
     "  out y : real return = %1\n"
     "{\n"
     "  %0 = param 0 : real[3]\n"
     "  %1 = idx %0[1, 2] : real\n"
     "}\n",
     7, 3, "%0 is real[3]: it takes 1 index, not 2"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real[3]\n"
     "  out y : real return = %1\n"
     "{\n"
     "  %0 = param 0 : real[3]\n"
     "  %2 = const 1 : real\n"
     "  %3 = acc %0[1], %2\n"
     "  %1 = idx %0[1] : real\n"
     "}\n",
     8, 3, "an acc accumulates into a zeros buffer, and %0 is a param"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real[3]\n"
     "  out y : real return = %1\n"
     "{\n"
     "  %0 = param 0 : real[3]\n"
     "  %2 = const 1 : real\n"
     "  %1 = idx %0[%2] : real\n"
     "}\n",
     8, 15, "%2 is not an index variable (an ivar)"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real[3]\n"
     "  out y : real return = %1\n"
     "{\n"
     "  %0 = param 0 : real[3]\n"
     "  %2 = red sum 0..3 : real {\n"
     "    %3 = ivar 0 : index\n"
     "    %4 = idx %0[%3] : real\n"
     "    yield %4\n"
     "  }\n"
     "  %1 = exp %4 : real\n"
     "}\n",
     12, 12, "%4 is not visible here (it is defined in a loop body that has ended)"},
    {"unit f : real\n"
     "fn f_jvp jvp\n"
     "  in x : real\n"
     "  out y : real return = %0\n"
     "{\n"
     "  %0 = param 0 : real\n"
     "}\n",
     1, 1, "unit 'f' has no primal function"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n"
     "fn g jvp\n"
     "  in x : real\n"
     "  out y : real return = %0\n"
     "{\n"
     "  %0 = param 0 : real\n"
     "}\n"
     "fn h jvp\n",
     15, 1, "unit 'f' already has its jvp function"},
    {"source \"f.dx\"\n"
     "line 2 \"a\"\n"
     "line 2 \"b\"\n",
     3, 6, "line 2 is given twice"},
    {"line 2 \"a\"\n",
     1, 1, "a 'line' needs the 'source' line before it"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real foo=1\n"
     "}\n",
     7, 26, "unknown attribute 'foo' (name=, line= or nix=; facts such as tangent come right after the operation)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real tangent\n"
     "}\n",
     7, 26, "unknown attribute 'tangent' (name=, line= or nix=; facts such as tangent come right after the operation)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul store %0, %0 : real\n"
     "}\n",
     7, 12, "a mul is not 'store' (an acc is)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = sub sub %0, %0 : real\n"
     "}\n",
     7, 12, "a sub is not 'sub' (an acc is)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = zeros : real[2]\n"
     "  %2 = acc store sub %1[0], %0\n"
     "}\n",
     8, 18, "an acc that stores does not subtract"},
    {HEAD
     "  %0 = param 99999999999 : real\n"
     "}\n",
     6, 14, "an index must be from 0 to 2147483647"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real[-1]\n"
     "  out y : real return = %1\n"
     "{\n",
     3, 15, "a dimension must be from 0 to 2147483647"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real[1,1,1,1,1,1,1,1,1]\n"
     "  out y : real return = %1\n"
     "{\n",
     3, 31, "an array has at most 8 dimensions"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %99999999 = mul %0, %0 : real\n"
     "}\n",
     7, 3, "this value number is too large for the file (at most 4624)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = const 12abc : real\n"
     "}\n",
     7, 14, "malformed number"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = const 1 num=2 : real\n"
     "}\n",
     7, 16, "a const has no num= (its number comes right after it)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = mul num=2 %0, %0 : real\n"
     "}\n",
     7, 12, "only a const has a num="},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gt %0, %0 : bool\n"
     "  %3 = if %2 {\n"
     "    yield %0\n"
     "  }\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     10, 4, "expected 'else', found the end of the line"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real {\n"
     "}\n",
     7, 26, "a mul has no region"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gen : real[3]\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     7, 21, "expected '{' (a gen has a region), found the end of the line"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = gt %0, %0 : bool\n"
     "  %3 = if %2 {\n"
     "    yield %0\n"
     "    %4 = exp %0 : real\n"
     "  } else {\n"
     "    yield %0\n"
     "  }\n"
     "  %1 = result 0 %3 : real\n"
     "}\n",
     10, 5, "expected '}' (a yield ends its region), found '%4'"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real\n"
     "  out z : real bar 0 = %1\n"
     "  out y : real return = %1\n"
     "{\n"
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     5, 16, "only the first output may be returned, and it is a real"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real tangent 1\n",
     3, 23, "a tangent is that of an input before it"},
    {"unit f : real\n"
     "fn f primal\n"
     "  in x : real\n"
     "  out y : real bar 1 = %0\n",
     4, 20, "bar 1: the function has 1 input"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = red mean 0..3 : real {\n"
     "}\n",
     7, 12, "expected sum, prod, max or min, found 'mean'"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = lit %0, %0 : real[3]\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     7, 3, "a lit of 2 elements must be a real array of 2 elements"},
    {HEAD
     "  %0 = param 0 : real name=\"a\\x00b\"\n"
     "}\n",
     6, 28, "a name may not hold a NUL byte"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %2 = loop 0..3 {\n"
     "    %3 = ivar 0 : index\n"
     "    yield %0\n"
     "  }\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n",
     7, 3, "a loop yields nothing (it runs for its accs)"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real nix=1\n"
     "}\n",
     7, 26, "only an ireal has nix= (the operands of mul give it)"},
    {"unit f : real\n"
     "fn f primal\n"
     "  out y : real return = %0\n"
     "  in x : real\n",
     4, 3, "inputs come before outputs"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %3 = if %0 {\n"
     "    yield %0\n"
     "  } else {\n"
     "    yield %0\n"
     "  }\n"
     "  %1 = result 0 %3 : real\n"
     "}\n",
     7, 3, "the condition of %3 must be bool, but %0 is real"},
    {HEAD
     "  %0 = param 0 : real name=x\n"
     "  %1 = mul %0, %0 : real\n"
     "}\n"
     "unit g : real\n"
     "fn f primal\n",
     10, 1, "a second function 'f'"},
};

START_TEST(test_reader_errors)
{
    TuLowered c;
    ck_assert_msg(tu_read_ir(&c, "t.ir", HEAD "  %0 = param 0 : real name=x\n  %1 = mul %0, %0 : real\n}\n") == 0,
                  "the valid text: %s", c.d.last);
    arena_free(c.a);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(tu_read_ir(&c, "t.ir", bad[i].text) == 1, "case %zu: read, or %d errors", i,
                      c.d.nerrors);
        ck_assert_msg(c.d.last_loc.line == bad[i].line && c.d.last_loc.col == bad[i].col &&
                          !strcmp(c.d.last, bad[i].msg),
                      "case %zu: got %d:%d: %s\nwant %d:%d: %s", i, c.d.last_loc.line,
                      c.d.last_loc.col, c.d.last, bad[i].line, bad[i].col, bad[i].msg);
        arena_free(c.a);
    }
}
END_TEST

/* Regions nested n deep: ifs on one condition, each yielding x. */
static char *nested_ifs(int n)
{
    TuBuf b = {0};
    tu_bprintf(&b, "%s  %%0 = param 0 : real\n  %%2 = gt %%0, %%0 : bool\n", HEAD);
    for (int i = 0; i < n; i++)
        tu_bprintf(&b, "%%%d = if %%2 : real {\n", 3 + 2 * i);
    for (int i = n - 1; i >= 0; i--)
        tu_bprintf(&b, "yield %%%d\n} else {\nyield %%0\n}\n%%%d = result 0 %%%d : real\n",
                   i == n - 1 ? 0 : 4 + 2 * (i + 1), 4 + 2 * i, 3 + 2 * i);
    tu_bprintf(&b, "%%1 = mul %%4, %%4 : real\n}\n");
    return b.s;
}

START_TEST(test_nesting)
{
    /* through dxc, which reads on a thread with a large stack */
    for (int k = 0; k < 2; k++) {
        char *t = nested_ifs(k ? 10001 : 2000), *err = NULL;
        ck_assert_int_eq(tu_write(tu_path("deep.ir"), t, (size_t)-1), 0);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' deep.ir --emit=ir -o deep2.ir", tu_tmpdir(),
                 tu_dxc());
        int st = tu_run(cmd, NULL, &err);
        if (k)
            ck_assert_msg(st == 1 && strstr(err, "deep.ir:10008:23: error: regions nested too deeply "
                                                 "(the limit is 10000)"),
                          "%d: %.500s", st, err);
        else
            ck_assert_msg(st == 0, "%.500s", err);
        free(err);
        free(t);
    }
    tu_cleanup();
}
END_TEST

/* ---- mutated and truncated texts ---- */

static const char *const seeds[] = {
    "fn f(x, y) {\n z = x * y\n if z > 1 { z = sin(z) * x } else { z = z ^ 3 }\n return z * y\n}",
    "fn f(W[3,4], x[4], data t[3]) = sum((W @ x - t) ^ 2) + max(x) * prod(x[i] for i in 0..2)",
    ("fn f(X[5,3], w[3], s0) {\n s = s0\n h = [0, 0, 0]\n for t in 0..5 {\n"
     "  h = tanh(h * 0.5 + X[t] * w)\n  s = s + dot(h, w)\n }\n return s\n}"),
    "fn g(a[2]) -> real[2] { return [a[1], a[0] * a[1]] }\nfn f(u[2], c) = sum(g(u) * c)",
};

static char *program_text(const char *dx, int small_tape)
{
    TuLowered c;
    ck_assert_msg(tu_lower(&c, dx) == 0, "%s: %s", dx, c.d.last);
    for (int i = 0; i < c.prog.units.n; i++) {
        c.prog.units.p[i].small_tape = small_tape;
        ad_unit(&c.prog.units.p[i]);
    }
    char *s = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&s, &n);
    ir_print_program(&c.prog, m);
    fclose(m);
    arena_free(c.a);
    return s;
}

static unsigned rnd(unsigned *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* A copy of t with a few random edits: bytes replaced, deleted or
 * inserted, numbers changed, a line repeated, or the end cut off. */
static char *mutate(const char *t, unsigned *st)
{
    static const char alphabet[] = "%0123456789,[]{}:=.-+* \nabdeilnrstxy\"_#";
    size_t n = strlen(t);
    char *s = malloc(2 * n + 64);
    memcpy(s, t, n + 1);
    int edits = 1 + (int)(rnd(st) % 3);
    for (int e = 0; e < edits && n; e++) {
        size_t at = rnd(st) % n;
        switch (rnd(st) % 6) {
        case 0: s[at] = alphabet[rnd(st) % (sizeof alphabet - 1)]; break;
        case 1: memmove(s + at, s + at + 1, n - at); n--; break;
        case 2:
            memmove(s + at + 1, s + at, n - at + 1);
            s[at] = alphabet[rnd(st) % (sizeof alphabet - 1)];
            n++;
            break;
        case 3:
            while (at < n && (s[at] < '0' || s[at] > '9'))
                at++;
            if (at < n)
                s[at] = (char)('0' + (s[at] - '0' + 1 + (int)(rnd(st) % 9)) % 10);
            break;
        case 4: { /* the line at `at` again, after itself */
            size_t b = at, end = at;
            while (b && s[b - 1] != '\n')
                b--;
            while (end < n && s[end] != '\n')
                end++;
            size_t len = end - b + 1;
            if (end < n && n + len < 2 * n + 63) {
                memmove(s + end + 1 + len, s + end + 1, n - end);
                memcpy(s + end + 1, s + b, len);
                n += len;
            }
            break;
        }
        default: s[at] = 0; n = at; break;
        }
    }
    return s;
}

/* A text the reader took: it prints and reads back to the same text, and
 * the C generator takes it. */
static void accepted(TuLowered *c, const char *text)
{
    char *p1 = NULL, *p2 = NULL;
    size_t n1 = 0, n2 = 0;
    FILE *m = open_memstream(&p1, &n1);
    ir_print_program(&c->prog, m);
    fclose(m);
    TuLowered c2;
    ck_assert_msg(tu_read_ir(&c2, "m.ir", p1) == 0, "printed text not read back: %s\n%s\nfrom\n%s",
                  c2.d.last, p1, text);
    m = open_memstream(&p2, &n2);
    ir_print_program(&c2.prog, m);
    fclose(m);
    ck_assert_msg(!strcmp(p1, p2), "print(read(print(read(t)))) differs for\n%s", text);
    FILE *null = fopen("/dev/null", "w");
    for (int fl = 0; fl < 2; fl++) {
        CgOpts o = {.use_float = fl, .src_path = "m.ir", .header = NULL, .stack_budget = CG_STACK_BUDGET, .workspace = fl};
        Diag d = {0};
        d.quiet = 1;
        if (cg_check(&c->prog, &o, &d) == 0)
            cg_c(&c->prog, &o, null);
    }
    fclose(null);
    free(p1);
    free(p2);
    arena_free(c2.a);
}

START_TEST(test_mutations)
{
    unsigned st = 12345u + 7919u * (unsigned)_i;
    char *text = program_text(seeds[_i % 4], _i >= 4);
    int ok = 0, n = 0, want = getenv("DX_MUTANTS") ? atoi(getenv("DX_MUTANTS")) : 300;
    for (; n < want; n++) {
        char *m = mutate(text, &st);
        TuLowered c;
        if (tu_read_ir(&c, "m.ir", m) == 0) {
            ok++;
            if (getenv("DX_DUMP_MUTANT")) tu_write(getenv("DX_DUMP_MUTANT"), m, (size_t)-1);
            accepted(&c, m);
        } else {
            ck_assert_msg(c.d.nerrors == 1 && c.d.last[0], "an error without a message");
        }
        arena_free(c.a);
        free(m);
    }
    /* every cut at a line's end is refused or complete */
    for (size_t k = 0; text[k]; k++) {
        if (text[k] != '\n')
            continue;
        char *cut = strndup(text, k + 1);
        TuLowered c;
        if (tu_read_ir(&c, "m.ir", cut) == 0)
            accepted(&c, cut);
        arena_free(c.a);
        free(cut);
    }
    /* a mutant of a line that states its facts (a rule's operand, say) is
     * often refused: one in 50 read is enough to exercise the reader */
    ck_assert_msg(ok > n / 50, "only %d of %d mutants read: the mutations test little", ok, n);
    free(text);
}
END_TEST

Suite *suite_irtext(void);
Suite *suite_irtext(void)
{
    find_all();
    Suite *s = suite_create("irtext");
    TCase *tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_roundtrip, 0, programs.n);
    tcase_add_loop_test(tc, test_random_programs, 0, 8);
    tcase_add_test(tc, test_ir_options);
    suite_add_tcase(s, tc);
    tc = tcase_create("passes");
    tcase_add_loop_test(tc, test_pass_file, 0, passes.n);
    suite_add_tcase(s, tc);
    tc = tcase_create("reader");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reader_errors);
    tcase_add_test(tc, test_nesting);
    tcase_add_loop_test(tc, test_mutations, 0, 8);
    suite_add_tcase(s, tc);
    return s;
}
