/*
 * test_pipeline.c - the pipeline of ir/pipeline.c seen from the command
 * line: --emit=ir=PASS for every pass, in order, each changing the IR of
 * a program chosen so that every pass has work to do; the list of passes
 * in the error for an unknown one, in --help and in the documents; and
 * the DX_DUMP variable of old, which does nothing now.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgrun.h"
#include "codegen.h"
#include "testutil.h"

/* The passes, in order, and the entry points that exist after each. */
static const struct {
    const char *name;
    const char *fns; /* of f in t.dx, space-separated */
} passes[] = {
    {"lower", "f"},
    {"opt-primal", "f"},
    {"linearize", "f f_jvp"},
    {"opt-jvp", "f f_jvp"},
    {"transpose", "f f_jvp f_grad"},
    {"opt-grad", "f f_jvp f_grad"},
    {"join-grad", "f f_jvp f_grad"},
    {"interchange-grad", "f f_jvp f_grad"},
    {"store-grad", "f f_jvp f_grad"},
    {"linearize-grad", "f f_jvp f_grad f_hvp"},
    {"opt-hvp", "f f_jvp f_grad f_hvp"},
    {"store-hvp", "f f_jvp f_grad f_hvp"},
    {"hoist", "f f_jvp f_grad f_hvp"},
    {"lanes", "f f_jvp f_grad f_hvp"},
    {"signs", "f f_jvp f_grad f_hvp"},
};
enum { NPASSES = sizeof passes / sizeof passes[0] };

/* Every pass but store-hvp has work here: opt-primal removes `unused`
 * and merges the two h * h, the clean-ups fold what the AD passes leave,
 * join-grad runs sum(x * x) and its backward loop as one,
 * interchange-grad turns v's triangular backward nest inside out, and store-grad
 * turns the first accumulation into W_bar and h_bar into stores, which
 * linearize-grad carries to their tangents (as it leaves f_hvp's tangent
 * tapes unzeroed), so store-hvp finds nothing left; hoist sums the
 * tangent of W[0, i] * x[i] once, before the loop over j; lanes gives the
 * tangent of the sum of 16 terms two lanes in f_jvp and f_hvp; signs writes
 * x_bar -= ... for the adjoint of - x[0] * sum(x * x).  v has an array
 * result: f_vjp, no f_hvp. */
static void setup(void)
{
    tu_tmpdir();
    ck_assert_int_eq(tu_write(tu_path("t.dx"),
                              "fn f(W[2, 3], x[3]) {\n"
                              "    unused = sum(x * x)\n"
                              "    h = tanh(W @ x)\n"
                              "    v = [sum(W[i, 1] * x[i] for i in 0..j) for j in 0..3]\n"
                              "    return log(sum(h * h) + sum(h * h)) - x[0] * sum(x * x) + log(1 + sum(v * v)) +\n"
                              "        sum(x[i % 3] * x[(i + 1) % 3] for i in 0..16) +\n"
                              "        sum(sum(W[0, i] * x[i] + W[1, i] * x[j] for i in 0..3) for j in 0..2)\n"
                              "}\n",
                              (size_t)-1),
                     0);
    ck_assert_int_eq(tu_write(tu_path("v.dx"), "fn v(x[2]) = x * sin(x)\n", (size_t)-1), 0);
}

static void teardown(void)
{
    tu_cleanup();
}


/* The IR dxc prints after pass k of t.dx. */
static char *ir_after(int k)
{
    char args[256], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "--emit=ir=%s t.dx", passes[k].name);
    int st = cr_dxc(args, &out, &err);
    ck_assert_msg(st == 0 && out && (!err || !*err), "dxc %s: status %d, stderr: %s", args, st, err);
    free(err);
    return out;
}

static int in_name(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Does the IR text define the function fn (f_jvp, ...): "fn NAME KIND"? */
static int names(const char *ir, const char *fn)
{
    size_t n = strlen(fn);
    for (const char *p = strstr(ir, fn); p; p = strstr(p + 1, fn)) {
        /* "fn NAME KIND" at the start of a line (maybe indented) */
        const char *b = p;
        if (b - ir < 3 || strncmp(b - 3, "fn ", 3) || in_name(p[n]))
            continue;
        for (b -= 3; b > ir && b[-1] == ' ';)
            b--;
        if (b == ir || b[-1] == '\n')
            return 1;
    }
    return 0;
}

/* After each pass: exactly the entry points it has made so far, no C,
 * and an IR that differs from the previous pass's. */
START_TEST(test_each_pass)
{
    char *ir = ir_after(_i);
    ck_assert_msg(!strstr(ir, "#include"), "--emit=ir=%s wrote C", passes[_i].name);
    const char *all[] = {"f_jvp", "f_grad", "f_hvp"};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        int want = strstr(passes[_i].fns, all[k]) != NULL;
        ck_assert_msg(names(ir, all[k]) == want, "after %s, %s is %s:\n%s", passes[_i].name, all[k],
                      want ? "missing" : "there already", ir);
    }
    if (_i > 0 && strcmp(passes[_i].name, "store-hvp")) {
        char *prev = ir_after(_i - 1);
        ck_assert_msg(strcmp(prev, ir), "%s changes nothing in:\n%s", passes[_i].name, ir);
        free(prev);
    }
    free(ir);
}
END_TEST

/* The last pass leaves what --emit=ir prints: the final IR. */
START_TEST(test_last_is_final)
{
    char *last = ir_after(NPASSES - 1), *final = NULL;
    ck_assert_int_eq(cr_dxc("--emit=ir t.dx", &final, NULL), 0);
    ck_assert_str_eq(last, final);
    free(last);
    free(final);
}
END_TEST

/* An array result: transpose makes f_vjp, linearize-grad nothing. */
START_TEST(test_vjp_has_no_hvp)
{
    char *out = NULL;
    ck_assert_int_eq(cr_dxc("--emit=ir=transpose v.dx", &out, NULL), 0);
    ck_assert_msg(out && names(out, "v_vjp") && !names(out, "v_grad"), "%s", out);
    free(out);
    ck_assert_int_eq(cr_dxc("--emit=ir=store-hvp v.dx", &out, NULL), 0);
    ck_assert_msg(out && names(out, "v_vjp") && !names(out, "v_hvp"), "%s", out);
    free(out);
}
END_TEST

/* The error for an unknown pass lists them all, in order. */
START_TEST(test_unknown_pass)
{
    const char *bad[] = {"--emit=ir=bogus", "--emit=ir=", "--emit=ir=Lower", "--emit=ir=opt"};
    TuBuf want = {0};
    for (int k = 0; k < NPASSES; k++)
        tu_bprintf(&want, "%s%s", k ? ", " : "", passes[k].name);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[128], *out = NULL, *err = NULL;
        snprintf(args, sizeof args, "%s t.dx -o t.ir", bad[i]);
        ck_assert_int_eq(cr_dxc(args, &out, &err), 1);
        TuBuf line = {0};
        tu_bprintf(&line, "dxc: error: %s: unknown pass; the passes are %s\n", bad[i], want.s);
        ck_assert_msg(err && !strcmp(err, line.s), "dxc %s:\n%s\nwanted:\n%s", args, err, line.s);
        ck_assert_ptr_null(tu_read(tu_path("t.ir"), NULL));
        free(line.s);
        free(out);
        free(err);
    }
    free(want.s);
}
END_TEST

/* --emit=ir=PASS stops after PASS: no header, no --stats; a later --emit
 * wins; --only selects the functions printed. */
START_TEST(test_stop_options)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("--emit=ir=lower --header t.h t.dx", &out, &err), 1);
    ck_assert_msg(err && strstr(err, "dxc: error: --emit=ir=lower stops after that pass"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(cr_dxc("--stats --emit=ir=transpose t.dx", &out, &err), 1);
    ck_assert_msg(err && strstr(err, "dxc: error: --emit=ir=transpose"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(cr_dxc("--emit=ir=lower --emit=c t.dx", &out, NULL), 0);
    ck_assert_msg(out && strstr(out, "#include <math.h>"), "%s", out);
    free(out);
    ck_assert_int_eq(tu_write(tu_path("two.dx"), "fn sqr(x) = x * x\nfn plus(x) = sqr(x) + 1\n", (size_t)-1), 0);
    ck_assert_int_eq(cr_dxc("--only=plus --emit=ir=linearize two.dx", &out, NULL), 0);
    ck_assert_msg(out && names(out, "plus_jvp") && !names(out, "sqr") && !names(out, "sqr_jvp"), "%s", out);
    free(out);
}
END_TEST

/* --time-report: after the C, a line for every step in the order they
 * began (reading, parse, check, lower, every pass of each function, each
 * entry point's analysis and C, the file put together and put in place),
 * none of negative length, then the total; the C the same as without it,
 * on one thread and two.  A compilation that fails reports too, after
 * its error. */
START_TEST(test_time_report)
{
    ck_assert_int_eq(tu_write(tu_path("tr.dx"),
                              "fn g(x, y) {\n    a = sin(x) * y\n    return a * a + exp(y)\n}\n"
                              "fn h(w[3], data x0) {\n    s = x0\n    for i in 0..20 {\n"
                              "        s = s - 0.1 * w[0] * sin(s) + w[1] * w[2]\n    }\n    return s\n}\n",
                              (size_t)-1),
                     0);
    for (int jobs = 1; jobs <= 2; jobs++) {
        char args[128], *want, *out = NULL, *err = NULL;
        snprintf(args, sizeof args, "--jobs=%d tr.dx -o -", jobs);
        want = cr_dxc_ok(args);
        snprintf(args, sizeof args, "--time-report --jobs=%d tr.dx -o -", jobs);
        ck_assert_int_eq(cr_dxc(args, &out, &err), 0);
        ck_assert_msg(out && !strcmp(out, want), "another C with --time-report (--jobs=%d)", jobs);
        ck_assert_msg(err && !strncmp(err, "dxc: time report", 16), "no report:\n%s", err);
        const char *fns[] = {"g", "h"}, *kinds[] = {"", "_grad", "_jvp", "_hvp"};
        char want_line[96];
        for (int f = 0; f < 2; f++) {
            for (int k = 1; k < NPASSES; k++) {
                snprintf(want_line, sizeof want_line, "  %s %s\n", passes[k].name, fns[f]);
                ck_assert_msg(strstr(err, want_line), "no step '%s' in:\n%s", want_line, err);
            }
            for (int k = 0; k < 4; k++) {
                snprintf(want_line, sizeof want_line, "  C of %s%s\n", fns[f], kinds[k]);
                ck_assert_msg(strstr(err, want_line), "no step '%s' in:\n%s", want_line, err);
                snprintf(want_line, sizeof want_line, "  analysis for the C of %s%s\n", fns[f], kinds[k]);
                ck_assert_msg(strstr(err, want_line), "no step '%s' in:\n%s", want_line, err);
            }
        }
        const char *steps[] = {"  read tr.dx\n", "  parse\n", "  check\n", "  lower\n",
                               "  the C file put together\n", "  put the output in place\n", "\n   total "};
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
            ck_assert_msg(strstr(err, steps[i]), "no step '%s' in:\n%s", steps[i], err);
        /* the steps in the order they began, none of negative length */
        double last = 0;
        int lines = 0;
        for (const char *l = strchr(err, '\n'); l && (l = strchr(l + 1, '\n')) != NULL;) {
            double start, took;
            if (sscanf(l + 1, "%lf %lf", &start, &took) != 2)
                continue;
            ck_assert_msg(start >= last && took >= 0, "step out of order or negative:\n%s", err);
            last = start;
            lines++;
        }
        ck_assert_msg(lines >= 2 * (NPASSES - 1) + 16 + 7, "%d steps:\n%s", lines, err);
        free(want);
        free(out);
        free(err);
    }
    ck_assert_int_eq(tu_write(tu_path("trbad.dx"), "fn g(x) {\n    return x +\n}\n", (size_t)-1), 0);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("--time-report trbad.dx -o trbad.c", &out, &err), 1);
    ck_assert_msg(err && !strncmp(err, "trbad.dx:3:1: error:", 20) && strstr(err, "dxc: time report") &&
                      strstr(err, "  parse\n"),
                  "%s", err);
    free(out);
    free(err);
}
END_TEST

/* --help, the man page, the language reference and the README's "How it
 * works" name every pass. */
START_TEST(test_documented)
{
    char *help = NULL, path[1024];
    ck_assert_int_eq(cr_dxc("--help", &help, NULL), 0);
    const char *docs[] = {"docs/dxc.1", "docs/language.md", "README.md"};
    char *text[3];
    for (int d = 0; d < 3; d++) {
        snprintf(path, sizeof path, "%s/%s", tu_root(), docs[d]);
        text[d] = tu_read(path, NULL);
        ck_assert_msg(text[d], "cannot read %s", path);
    }
    char *how = strstr(text[2], "## How it works");
    ck_assert_msg(how, "README.md has no How it works");
    for (int k = 0; k < NPASSES; k++) {
        char roff[64], *o = roff; /* the man page writes '-' as '\-' */
        for (const char *s = passes[k].name; *s && o < roff + sizeof roff - 3; s++) {
            if (*s == '-')
                *o++ = '\\';
            *o++ = *s;
        }
        *o = 0;
        ck_assert_msg(strstr(help, passes[k].name), "--help lacks %s", passes[k].name);
        ck_assert_msg(strstr(text[0], roff), "docs/dxc.1 lacks %s", roff);
        ck_assert_msg(strstr(text[1], passes[k].name), "docs/language.md lacks %s", passes[k].name);
        ck_assert_msg(strstr(how, passes[k].name), "README's How it works lacks %s", passes[k].name);
    }
    for (int d = 0; d < 3; d++)
        free(text[d]);
    free(help);
}
END_TEST

/* DX_DUMP once printed the IR to standard error; it does nothing now. */
START_TEST(test_no_dx_dump)
{
    char *plain = NULL, *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc("t.dx", &plain, NULL), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && DX_DUMP=1 '%s' t.dx", tu_tmpdir(), tu_dxc());
    ck_assert_int_eq(tu_run(cmd, &out, &err), 0);
    ck_assert_msg(!err || !*err, "DX_DUMP=1 printed:\n%s", err);
    ck_assert_str_eq(out, plain);
    free(plain);
    free(out);
    free(err);
}
END_TEST

/* dxc writes the C file and its header as the functions become final,
 * each freed once written (f after opt-primal, f_jvp after transpose,
 * f_grad after linearize-grad, on another thread with more than one job);
 * with --stats, which reads every function after the C is written, it
 * writes them all at the end, as before.  The C and the header are the
 * same both ways: for t.dx and v.dx, for a file of three functions (one
 * calling another), and for a loop whose f_grad and f_hvp exceed a small
 * stack budget, so that they are checkpointed and wait for the end while
 * f and f_jvp go early; with one, two and three jobs, --workspace,
 * --entries and float. */
START_TEST(test_written_as_final)
{
    ck_assert_int_eq(tu_write(tu_path("three.dx"),
                              "fn sq(x) = x * x\n"
                              "fn g(x[3], w) = sum(sq(x[i]) * w for i in 0..3) + exp(-w)\n"
                              "fn h(a, b) {\n"
                              "    y = g([a, b, a * b], b)\n"
                              "    return log(1 + sq(y))\n"
                              "}\n",
                              (size_t)-1),
                     0);
    ck_assert_int_eq(tu_write(tu_path("loop.dx"),
                              "fn f(k, c, data x0) {\n"
                              "    x = x0\n"
                              "    v = 0.0\n"
                              "    for i in 0..400 {\n"
                              "        a = -k * x - c * v\n"
                              "        x = x + 0.01 * v\n"
                              "        v = v + 0.01 * a\n"
                              "    }\n"
                              "    return x\n"
                              "}\n",
                              (size_t)-1),
                     0);
    static const char *const inputs[] = {"t.dx", "v.dx", "three.dx", "loop.dx --stack-budget=4096"};
    static const char *const opts[] = {"",          "--jobs=1",           "--jobs=3",
                                       "--workspace", "--entries=grad,hvp", "--real=float --jobs=1"};
    const char *dxc = tu_dxc();
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            char *cmd = tu_printf("cd '%s' && '%s' %s %s -o a.c --header h.h && mv h.h a.h && "
                                  "'%s' %s %s -o b.c --header h.h --stats 2>/dev/null && "
                                  "cmp a.c b.c && cmp a.h h.h && grep -q '(' a.h",
                                  tu_tmpdir(), dxc, inputs[i], opts[k], dxc, inputs[i], opts[k]);
            ck_assert_msg(tu_run(cmd, NULL, NULL) == 0, "%s %s: another C or header when written at the end",
                          inputs[i], opts[k]);
            free(cmd);
        }
    /* the loop's derivatives were checkpointed: they exist, nested */
    char *c = tu_read(tu_path("a.c"), NULL);
    ck_assert_msg(c && strstr(c, "f_hvp(") && strstr(c, "checkpoint"), "loop.dx: no checkpointed f_hvp:\n%.2000s", c);
    free(c);
}
END_TEST

static void written_with(const char *text, int header, int stats, char order[256], int jobs, int entries,
                         int *verified);

/* The order in which ir_pipeline hands the functions of `text` back
 * (CgOpts.written: written and freed), names joined by spaces, with one
 * job, the C file only (with `header`, its header too), or --stats. */
static void record_written(const Fn *f, void *arg)
{
    char *order = arg;
    strcat(strcat(order, *order ? " " : ""), f->name);
}

static void written_order(const char *text, int header, int stats, char order[256])
{
    written_with(text, header, stats, order, 1, 0, NULL);
}

static void written_with(const char *text, int header, int stats, char order[256], int jobs, int entries,
                         int *verified)
{
    Source src = {"w.dx", text, strlen(text)};
    Diag d = {0};
    d.src = &src;
    d.quiet = 1;
    Arena *a = arena_new();
    order[0] = 0;
    CgOpts co = {.src_path = "w.dx", .stack_budget = CG_STACK_BUDGET, .jobs = jobs, .entries = entries,
                 .written = record_written, .written_arg = order, .verified = verified};
    char *c = NULL, *h = NULL, *st = NULL;
    size_t nc = 0, nh = 0, ns = 0;
    FILE *out = open_memstream(&c, &nc), *hdr = open_memstream(&h, &nh), *sf = open_memstream(&st, &ns);
    Job j = {&src, "w.dx", NULL, 0, 0, -1, EMIT_C, &co, out, header ? hdr : NULL, stats ? sf : NULL, NULL, 0, 0, NULL};
    ck_assert_int_eq(ir_pipeline(a, &d, &j), 0);
    fclose(out);
    fclose(hdr);
    fclose(sf);
    ck_assert_msg(c && strstr(c, entries && !(entries & ENTRY_HVP) ? "w_grad(" : "w_hvp("), "no C written:\n%s", c);
    free(c);
    free(h);
    free(st);
    arena_free(a);
}

/* Each function is written, and freed, as soon as no pass changes it
 * and none reads it: f_jvp before f_grad exists (f_grad is written
 * after linearize-grad, f_hvp last), f with it when f has no for loop,
 * and, when it has one (the checkpointing might linearise it again),
 * only once its unit is done; the same with a header.  With --stats,
 * which reads every function after the C, all are written at the end,
 * in the file's order. */
START_TEST(test_written_early)
{
    static const char *straight = "fn w(x, y) {\n    a = sin(x) * y\n    return a * a + exp(y)\n}\n";
    static const char *looped = "fn w(k, data x0) {\n    x = x0\n    for i in 0..10 {\n        x = x - 0.1 * k * sin(x)\n    }\n    return x\n}\n";
    char order[256];
    written_order(straight, 0, 0, order);
    ck_assert_str_eq(order, "w w_jvp w_grad w_hvp");
    written_order(straight, 1, 0, order);
    ck_assert_str_eq(order, "w w_jvp w_grad w_hvp");
    written_order(looped, 0, 0, order);
    ck_assert_str_eq(order, "w_jvp w_grad w w_hvp");
    written_order(straight, 0, 1, order);
    ck_assert_str_eq(order, "w w_grad w_jvp w_hvp");
}
END_TEST

/* Writing the C file as the functions become final, the pipeline leaves
 * each function's last check (ir_verify) to the writer that takes it:
 * every function built is checked once, on one thread or two, and a
 * function the file does not hold (f_jvp, built for f_grad, under
 * --entries=grad) when it is given; with --stats, which writes at the
 * end, the pipeline checks them itself. */
START_TEST(test_verified_by_writers)
{
    static const char *straight = "fn w(x, y) {\n    a = sin(x) * y\n    return a * a + exp(y)\n}\n";
    char order[256];
    for (int jobs = 1; jobs <= 2; jobs++) {
        int n = 0;
        written_with(straight, 0, 0, order, jobs, 0, &n);
        ck_assert_msg(n == 4, "%d of 4 functions checked by the writers (--jobs=%d)", n, jobs);
        n = 0;
        written_with(straight, 0, 0, order, jobs, ENTRY_GRAD, &n);
        ck_assert_msg(n == 3, "%d of w, w_jvp and w_grad checked (--entries=grad, --jobs=%d)", n, jobs);
        ck_assert_str_eq(order, "w_grad");
        n = 0;
        written_with(straight, 0, 1, order, jobs, 0, &n);
        ck_assert_int_eq(n, 0);
    }
}
END_TEST

/* A function whose check is left to its writer and that is broken (an
 * instruction naming the source of a rule it has none of) stops the
 * compilation with an internal error: on one thread, checked before it
 * is written; on two, where a body may be written in halves (here every
 * one may), checked on another thread meanwhile; and f_jvp, which the
 * file does not hold under --entries=grad, when it is given.  kind -1:
 * none broken. */
static int broken_aborts(int kind, int entries, int jobs)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        TuLowered c;
        if (tu_lower(&c, "fn w(x, y) {\n    a = sin(x) * y\n    b = a * a + exp(y)\n"
                         "    return b * x + a\n}\n") != 0)
            _exit(2);
        Unit *u = &c.prog.units.p[0];
        ad_unit(u);
        Fn *fs[4];
        for (int i = 0, n = ir_unit_fns(u, fs); i < n; i++)
            if ((int)fs[i]->kind == kind) {
                Inst *in = &fs[i]->v.p[fs[i]->v.n - 1];
                in->rule_op = 0;
                in->rule_src = 0;
                fs[i]->verify_pending = 1;
            }
        CgOpts o = {.src_path = "w.dx", .stack_budget = CG_STACK_BUDGET, .jobs = jobs, .split_min = 2,
                    .entries = entries};
        FILE *out = fopen("/dev/null", "w");
        if (!out)
            _exit(3);
        cg_c(&c.prog, &o, out);
        fclose(out);
        _exit(0);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

START_TEST(test_writer_checks)
{
    for (int jobs = 1; jobs <= 2; jobs++) {
        ck_assert_msg(broken_aborts(FN_GRAD, 0, jobs), "a broken f_grad was written (--jobs=%d)", jobs);
        ck_assert_msg(broken_aborts(FN_HVP, 0, jobs), "a broken f_hvp was written (--jobs=%d)", jobs);
        ck_assert_msg(broken_aborts(FN_JVP, ENTRY_GRAD, jobs), "a broken f_jvp was not checked (--jobs=%d)", jobs);
        ck_assert_msg(!broken_aborts(-1, 0, jobs), "an intact program stopped (--jobs=%d)", jobs);
    }
}
END_TEST

/* The signs pass changes instructions, not values: the C of the IR as
 * store-hvp leaves it (no signs) and the C dxc writes give the same
 * numbers, compared with ==, for every derivative, with gcc and clang at
 * -O2 (no -ffast-math: each compiler keeps the written operations).  The
 * model subtracts, negates and divides inside a loop, in products and
 * sums, and into array adjoints. */
START_TEST(test_signs_same_values)
{
    ck_assert_int_eq(tu_write(tu_path("m.dx"),
                              "fn f(k, c, w[3], data x0) {\n"
                              "    x = x0\n"
                              "    v = 0.0\n"
                              "    for i in 0..50 {\n"
                              "        a = -k * x - c * v - w[0] * x * v - w[1] * (x - v) / (1 + w[2] * w[2])\n"
                              "        x = x + 0.01 * v\n"
                              "        v = v - 0.01 * a\n"
                              "    }\n"
                              "    return x - sum(w * w) * c - sum(-w * x0)\n"
                              "}\n",
                              (size_t)-1),
                     0);
    ck_assert_int_eq(cr_dxc("--emit=ir=store-hvp m.dx -o m.ir", NULL, NULL), 0);
    ck_assert_int_eq(cr_dxc("m.ir --prefix=b_ -o b.c --header b.h", NULL, NULL), 0);
    ck_assert_int_eq(cr_dxc("m.dx --prefix=a_ -o a.c --header a.h", NULL, NULL), 0);
    char *a = tu_read(tu_path("a.c"), NULL), *b = tu_read(tu_path("b.c"), NULL);
    ck_assert_msg(a && strstr(a, " -= ") && b && !strstr(b, " -= "), "signs had no work:\n%s", a);
    free(a);
    free(b);
    ck_assert_int_eq(tu_write(tu_path("drv.c"),
                              "#include <stdio.h>\n"
                              "#include \"a.h\"\n"
                              "#include \"b.h\"\n"
                              "static int same(double p, double q) { return p == q || (p != p && q != q); }\n"
                              "int main(void)\n"
                              "{\n"
                              "    int bad = 0;\n"
                              "    for (int t = 0; t < 20; t++) {\n"
                              "        double k = 0.3 + 0.2 * t, c = 1.5 - 0.1 * t, x0 = 0.7 - 0.05 * t;\n"
                              "        double w[3] = {0.1 * t - 1, 0.5, -0.3 + 0.02 * t}, wd[3] = {1, -2, 0.5};\n"
                              "        double g[2][5], j[2], h[2][5];\n"
                              "        double ya = a_f_grad(k, c, w, x0, &g[0][0], &g[0][1], &g[0][2]);\n"
                              "        double yb = b_f_grad(k, c, w, x0, &g[1][0], &g[1][1], &g[1][2]);\n"
                              "        a_f_jvp(k, c, w, x0, 0.5, -1, wd, &j[0]);\n"
                              "        b_f_jvp(k, c, w, x0, 0.5, -1, wd, &j[1]);\n"
                              "        a_f_hvp(k, c, w, x0, 0.5, -1, wd, &h[0][0], &h[0][1], &h[0][2]);\n"
                              "        b_f_hvp(k, c, w, x0, 0.5, -1, wd, &h[1][0], &h[1][1], &h[1][2]);\n"
                              "        bad += !same(ya, yb) || !same(j[0], j[1]);\n"
                              "        for (int i = 0; i < 5; i++)\n"
                              "            bad += !same(g[0][i], g[1][i]) || !same(h[0][i], h[1][i]);\n"
                              "    }\n"
                              "    printf(\"%d differ\\n\", bad);\n"
                              "    return bad != 0;\n"
                              "}\n",
                              (size_t)-1),
                     0);
    const char *cc[] = {"gcc", "clang"};
    for (int i = 0; i < 2; i++) {
        char cmd[1024], *out = NULL, *err = NULL;
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 drv.c a.c b.c -o drv -lm && "
                 "./drv",
                 tu_tmpdir(), cc[i]);
        int st = tu_run(cmd, &out, &err);
        ck_assert_msg(st == 0 && out && !strcmp(out, "0 differ\n"), "%s: status %d: %s%s", cc[i], st,
                      out ? out : "", err ? err : "");
        free(out);
        free(err);
    }
}
END_TEST

/* interchange-grad on triangular sums (inner range 0..j, 0..j+1 and
 * 1..i, a packed triangle, values of the outer loop read inside, rows
 * read down a column, where the inner loop strides): the pass changes
 * each gradient, and the result passes every check of --emit=check
 * (central differences, the dot-product test, f_hvp), with gcc and
 * clang; a unit-stride inner loop, which the C compiler vectorises, is
 * left alone. */
START_TEST(test_interchange)
{
    static const char *const models[] = {
        "fn t1(A[6, 6], x[6]) {\n"
        "    y = [sum(A[i, j] * x[i] for i in 0..j) for j in 0..6]\n"
        "    return sum(tanh(y) ^ 2)\n"
        "}\n",
        "fn t2(A[6, 6], x[6], b[6]) {\n"
        "    y = [sum(A[i, j] * sin(x[i] - b[j]) for i in 0..j+1) * exp(b[j]) for j in 0..6]\n"
        "    return sum(y * y) + sum(sum(x[i] * A[i, j] for j in 1..i) for i in 0..6)\n"
        "}\n",
        "const D = 5\n"
        "fn t3(L[15], x[D], mu[D], data w[D]) {\n"
        "    e = [w[j] * sum(L[j * (j + 1) // 2 + i] * (x[i] - mu[i]) for i in 0..j+1) for j in 0..D]\n"
        "    return logsumexp(-e * e) + sum(mu * mu)\n"
        "}\n",
    };
    ck_assert_int_eq(tu_write(tu_path("u.dx"),
                              "fn u(A[6, 6], x[6]) {\n"
                              "    y = [sum(A[j, i] * x[i] for i in 0..j) for j in 0..6]\n"
                              "    return sum(tanh(y) ^ 2)\n"
                              "}\n",
                              (size_t)-1),
                     0);
    char *before = NULL, *after = NULL;
    ck_assert_int_eq(cr_dxc("--emit=ir=join-grad u.dx", &before, NULL), 0);
    ck_assert_int_eq(cr_dxc("--emit=ir=interchange-grad u.dx", &after, NULL), 0);
    ck_assert_msg(before && after && !strcmp(before, after), "a unit-stride loop interchanged");
    free(before);
    free(after);
    for (size_t m = 0; m <= sizeof models / sizeof models[0]; m++) {
        if (m < sizeof models / sizeof models[0]) {
            ck_assert_int_eq(tu_write(tu_path("m.dx"), models[m], (size_t)-1), 0);
        } else { /* and ADBench's mixture, whose triangle is packed */
            char *path = tu_printf("%s/bench/gmm_adbench.dx", tu_root()), *text = tu_read(path, NULL);
            ck_assert_ptr_nonnull(text);
            free(path);
            ck_assert_int_eq(tu_write(tu_path("m.dx"), text, (size_t)-1), 0);
            free(text);
        }
        ck_assert_int_eq(cr_dxc("--emit=ir=join-grad m.dx", &before, NULL), 0);
        ck_assert_int_eq(cr_dxc("--emit=ir=interchange-grad m.dx", &after, NULL), 0);
        ck_assert_msg(before && after && strcmp(before, after), "no interchange in model %zu", m);
        free(before);
        free(after);
        ck_assert_int_eq(cr_dxc("m.dx --emit=check -o check.c", NULL, NULL), 0);
        const char *cc[] = {"gcc", "clang"};
        for (int i = 0; i < 2; i++) {
            char cmd[1024], *out = NULL;
            snprintf(cmd, sizeof cmd,
                     "cd '%s' && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 check.c -o check -lm && "
                     "./check",
                     tu_tmpdir(), cc[i]);
            int st = tu_run(cmd, &out, NULL);
            ck_assert_msg(st == 0, "%s, model %zu: status %d:\n%s", cc[i], m, st, out ? out : "");
            free(out);
        }
    }
}
END_TEST

Suite *suite_pipeline(void);

Suite *suite_pipeline(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_each_pass, 0, NPASSES);
    tcase_add_test(tc, test_last_is_final);
    tcase_add_test(tc, test_vjp_has_no_hvp);
    tcase_add_test(tc, test_unknown_pass);
    tcase_add_test(tc, test_stop_options);
    tcase_add_test(tc, test_documented);
    tcase_add_test(tc, test_no_dx_dump);
    tcase_add_test(tc, test_written_as_final);
    tcase_add_test(tc, test_written_early);
    tcase_add_test(tc, test_time_report);
    tcase_add_test(tc, test_verified_by_writers);
    tcase_add_test(tc, test_writer_checks);
    tcase_add_test(tc, test_signs_same_values);
    tcase_add_test(tc, test_interchange);
    suite_add_tcase(s, tc);
    return s;
}
