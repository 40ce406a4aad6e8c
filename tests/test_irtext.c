/*
 * test_irtext.c - the IR as text (ir/irprint.c, ir/irread.c, docs/ir.md).
 *
 *  - Every .dx program of the tree (tests/, examples/, bench/) through
 *    $DXC under four option sets: `--emit=ir` read back and written again
 *    is the same text, byte for byte, and the C, the header and any error
 *    dxc writes from the .ir are those it writes from the .dx (but for the
 *    input's name in the first comment).
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
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/codegen.h"
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

/* ---- passes on IR text: tests/ir/NAME.ir ---- */

typedef struct {
    const char *name;
    void (*run)(Fn *);
} OptPass;

static const OptPass opt_passes[] = {
    {"opt_fold", opt_fold}, {"opt_cse", opt_cse},     {"opt_dce", opt_dce},
    {"opt_fuse", opt_fuse}, {"opt_store", opt_store}, {"opt_all", opt_all},
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
                             array ? FN_VJP : FN_GRAD, p->units.p[0].small_tape);
        } else if (!strcmp(pass, "ad_unit")) {
            Unit *u = &p->units.p[i];
            ad_unit(u);
            Fn *fs[] = {u->primal, u->grad, u->jvp, u->hvp};
            for (int k = 0; k < 4; k++)
                if (fs[k])
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
        Fn *fs[] = {u->primal, u->grad, u->jvp, u->hvp};
        for (int k = 0; k < 4; k++)
            if (fs[k])
                vec_push(c.a, &cur, fs[k]);
    }
    char *line = strndup(list + 7, strcspn(list + 7, "\n"));
    for (char *save = NULL, *p = strtok_r(line, " ", &save); p; p = strtok_r(NULL, " ", &save))
        run_pass(&c.prog, &cur, p, file);
    char *got = print_fns(&cur);
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

Suite *suite_irtext(void);
Suite *suite_irtext(void)
{
    find_all();
    Suite *s = suite_create("irtext");
    TCase *tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_roundtrip, 0, programs.n);
    suite_add_tcase(s, tc);
    tc = tcase_create("passes");
    tcase_add_loop_test(tc, test_pass_file, 0, passes.n);
    suite_add_tcase(s, tc);
    return s;
}
