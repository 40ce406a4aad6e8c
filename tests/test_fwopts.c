/*
 * test_fwopts.c - the options for firmware: --entries (only the entry
 * points asked for, and only they against the stack budget), --prefix
 * (every symbol and header macro), the maths hooks (DX_EXP, ...,
 * DX_MATH_HEADER) and --line-directives.  Generated files are compiled
 * with gcc and clang under strict C99, linked with -lm alone and run; nm,
 * gcc's warnings, gcc -E and the DWARF line table show where the symbols
 * and the lines go.
 */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrun.h"
#include "testutil.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

/* s: a loop whose f_hvp keeps twice the tape of its f_grad (8000 and
 * 16000 bytes); v: an array result (f_vjp, no f_hvp).  Line numbers
 * matter to test_line_directives. */
static const char s_dx[] =
    "# x <- x - h k sin(x), 1000 steps\n"  /* 1 */
    "fn s(k, data x0) {\n"                  /* 2 */
    "    x = x0\n"                          /* 3 */
    "    for i in 0..1000 {\n"              /* 4 */
    "        x = x - 0.01 * k * sin(x)\n"   /* 5 */
    "    }\n"                               /* 6 */
    "    return x\n"                        /* 7 */
    "}\n"                                   /* 8 */
    "\n"                                    /* 9 */
    "fn v(w[3]) = [exp(w[i]) * w[i] for i in 0..3]\n";

static void setup(void)
{
    ck_assert_int_eq(tu_write(tu_path("s.dx"), s_dx, (size_t)-1), 0);
}

static void teardown(void)
{
    tu_cleanup();
}

/* Runs cmd (malloc'ed, freed here) in the temp dir; what it printed on
 * standard output (malloc'ed).  The test fails, showing it all, if cmd
 * fails. */
static char *run_ok(char *cmd)
{
    char *full = tu_printf("cd '%s' && %s", tu_tmpdir(), cmd), *out = NULL, *err = NULL;
    ck_assert_msg(tu_run(full, &out, &err) == 0, "%s\n%s%s", cmd, out ? out : "", err ? err : "");
    free(full);
    free(cmd);
    free(err);
    return out ? out : calloc(1, 1);
}

/* Compiles the C files `files` with gcc and clang, strict, -lm alone,
 * into program `prog`, and runs it. */
static void build_run(const char *flags, const char *files, const char *prog)
{
    static const char *const ccs[] = {"gcc", "clang"};
    for (int i = 0; i < 2; i++)
        free(run_ok(tu_printf("%s " STRICT " %s %s -lm -o %s && ./%s", ccs[i], flags, files, prog, prog)));
}

/* The names of the external symbols object `obj` defines, one a line,
 * as nm -g --defined-only lists them (types T, D, B, R, ...). */
static char *defined(const char *obj)
{
    return run_ok(tu_printf("nm -g --defined-only %s | awk '{ print $3 }'", obj));
}

/* name is a whole line of list. */
static int has_line(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p++)
        if ((p == list || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
            return 1;
    return 0;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---------------- --entries ---------------- */

/* f_hvp alone is over a 12K budget (and is checkpointed): --entries
 * leaves it out (neither built nor checked), and its f_grad is right. */
START_TEST(test_entries_budget)
{
    /* all four: s_hvp (16000 bytes of tape) is checkpointed, s_grad
     * (8000) is not; with f,grad only: no s_hvp to build at all */
    char *err = NULL;
    ck_assert_int_eq(cr_dxc("s.dx --stack-budget=12K --stats -o s.c", NULL, &err), 0);
    const char *g = err ? strstr(err, "s_grad: tape 8000 bytes") : NULL;
    const char *h = err ? strstr(err, "s_hvp: tape") : NULL;
    ck_assert_msg(g && h, "%s", err);
    char *gline = strndup(g, strcspn(g, "\n")), *hline = strndup(h, strcspn(h, "\n"));
    ck_assert_msg(!strstr(gline, "checkpointed") && strstr(hline, "checkpointed"), "%s", err);
    free(gline);
    free(hline);
    free(err);
    ck_assert_int_eq(cr_dxc("s.dx --stack-budget=12K --stats --entries=f,grad -o s.c --header s.h", NULL, &err), 0);
    ck_assert_msg(err && !strstr(err, "s_hvp") && !strstr(err, "checkpointed"), "%s", err);
    free(err);
    ck_assert_int_eq(tu_write(tu_path("main.c"),
                              "#include <math.h>\n#include <stdio.h>\n#include \"s.h\"\n"
                              "int main(void)\n{\n"
                              "    double k = 0.7, x0 = 1.2, h = 1e-6, kb = 0;\n"
                              "    double y = s_grad(k, x0, &kb);\n"
                              "    double fd = (s(k + h, x0) - s(k - h, x0)) / (2 * h);\n"
                              "    double w[3] = {0.1, -0.5, 2}, bar[3] = {1, 2, 3}, o[3], wb[3];\n"
                              "    v_vjp(w, bar, o, wb);\n"
                              "    printf(\"%g %g %g\\n\", y, kb, fd);\n"
                              "    return !(y == s(k, x0) && fabs(kb - fd) < 1e-6 * fabs(fd) &&\n"
                              "             fabs(wb[2] - 3 * exp(2.0) * 3) < 1e-12);\n"
                              "}\n",
                              (size_t)-1),
                     0);
    build_run("", "main.c s.c", "budget");
}
END_TEST

/* What each --entries list emits, of s's and v's entry points. */
static const struct {
    const char *list, *have, *lack;
} entry_cases[] = {
    {"f,grad", "s s_grad v v_vjp", "s_jvp s_hvp v_jvp"},
    {"grad", "s_grad v_vjp", "s s_jvp s_hvp v v_jvp"},
    {"jvp,hvp", "s_jvp s_hvp v_jvp", "s s_grad v v_vjp"},
    {"hvp,f", "s s_hvp v", "s_grad s_jvp v_vjp v_jvp"},
    {"f,grad,jvp,hvp", "s s_grad s_jvp s_hvp v v_vjp v_jvp", ""},
};

/* Each name of the space-separated list `names` (and only those, when
 * exact) as a line of got. */
static void expect_names(const char *names, const char *got, int exact, const char *what)
{
    int n = 0;
    char name[64];
    for (const char *p = names; sscanf(p, "%63s", name) == 1; p = strstr(p, name) + strlen(name), n++)
        ck_assert_msg(has_line(got, name), "%s: no %s in:\n%s", what, name, got);
    if (exact)
        ck_assert_msg(lines(got) == n, "%s: more than %s in:\n%s", what, names, got);
}

/* No name of the list `names` appears in text as NAME( or NAME_WS. */
static void expect_absent(const char *names, const char *text, const char *what)
{
    char name[64];
    for (const char *p = names; sscanf(p, "%63s", name) == 1; p = strstr(p, name) + strlen(name)) {
        char *call = tu_printf(" %s(", name), *macro = tu_printf("#define %s_WS", name);
        ck_assert_msg(!strstr(text, call) && !strstr(text, macro), "%s has %s:\n%s", what, name, text);
        free(call);
        free(macro);
    }
}

START_TEST(test_entries_emitted)
{
    const char *list = entry_cases[_i].list, *have = entry_cases[_i].have, *lack = entry_cases[_i].lack;
    char *args = tu_printf("s.dx --entries=%s -o e.c --header e.h", list);
    free(cr_dxc_ok(args));
    free(args);
    /* the object defines the selected functions and nothing else */
    free(run_ok(tu_printf("gcc " STRICT " -c e.c -o e.o && clang " STRICT " -c e.c -o e2.o")));
    char *syms = defined("e.o");
    expect_names(have, syms, 1, "nm e.o");
    free(syms);
    char *h = tu_read(tu_path("e.h"), NULL);
    expect_absent(lack, h, "e.h");
    char name[64];
    for (const char *p = have; sscanf(p, "%63s", name) == 1; p = strstr(p, name) + strlen(name)) {
        char *proto = tu_printf(" %s(", name);
        ck_assert_msg(strstr(h, proto), "e.h lacks %s:\n%s", name, h);
        free(proto);
    }
    free(h);
    /* with --workspace, the size macros too */
    args = tu_printf("s.dx --entries=%s --workspace -o w.c --header w.h", list);
    free(cr_dxc_ok(args));
    free(args);
    h = tu_read(tu_path("w.h"), NULL);
    expect_absent(lack, h, "w.h");
    char *macros = run_ok(tu_printf("sed -n 's/^#define \\(.*\\)_WS_BYTES .*/\\1/p' w.h"));
    expect_names(have, macros, 1, "w.h's macros");
    free(macros);
    free(h);
    /* --stats lists what is emitted */
    char *err = NULL;
    args = tu_printf("s.dx --entries=%s --stats -o /dev/null", list);
    ck_assert_int_eq(cr_dxc(args, NULL, &err), 0);
    free(args);
    ck_assert_int_eq(tu_write(tu_path("stats.txt"), err, (size_t)-1), 0);
    free(err);
    char *stats = run_ok(tu_printf("cut -d: -f1 stats.txt"));
    expect_names(have, stats, 1, "--stats");
    free(stats);
    /* the IR: each unit's f, and the derivatives selected */
    args = tu_printf("s.dx --entries=%s --emit=ir -o e.ir", list);
    free(cr_dxc_ok(args));
    free(args);
    char *fns = run_ok(tu_printf("sed -n 's/^fn \\([a-z_]*\\) .*/\\1/p' e.ir | grep -v '^[sv]$'"));
    char *derived = run_ok(tu_printf("echo '%s' | tr ' ' '\\n' | grep -v '^[sv]$' || true", have));
    ck_assert_str_eq(fns, derived);
    free(fns);
    free(derived);
    /* which compiles back to the same C (under a header of the same
     * name: the C file names its include guard) */
    free(run_ok(tu_printf("mkdir -p back.d && '%s' e.ir --entries=%s -o back.c --header back.d/e.h && "
                          "sed 1d back.c > b && sed 1d e.c > d && cmp b d",
                          tu_dxc(), list)));
}
END_TEST

/* All four is the default: the same file, byte for byte. */
START_TEST(test_entries_default)
{
    free(cr_dxc_ok("s.dx -o a.c --header a.h --workspace"));
    free(cr_dxc_ok("s.dx -o b.c --header a.h --workspace --entries=jvp,f,hvp,grad"));
    char *a = tu_read(tu_path("a.c"), NULL), *b = tu_read(tu_path("b.c"), NULL);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

/* ---------------- --prefix ---------------- */

/* Every #define and #ifndef of header h names something starting with
 * prefix. */
static void macros_prefixed(const char *h, const char *prefix)
{
    char *names = run_ok(tu_printf("sed -n 's/^#\\(define\\|ifndef\\) \\([A-Za-z0-9_]*\\).*/\\2/p' %s", h));
    ck_assert_msg(lines(names) >= 2, "%s: no macros:\n%s", h, names);
    for (const char *p = names; *p; p = strchr(p, '\n') + 1)
        ck_assert_msg(!strncmp(p, prefix, strlen(prefix)), "%s: a macro without %s: %s", h, prefix, names);
    free(names);
}

/* The same model twice, under two prefixes, in one program. */
START_TEST(test_prefix_link)
{
    static const char *const pre[] = {"m1_", "Spring"};
    for (int i = 0; i < 2; i++) {
        char *args = tu_printf("s.dx --prefix=%s --workspace -o p%d.c --header p%d.h", pre[i], i, i);
        free(cr_dxc_ok(args));
        free(args);
        char *h = tu_printf("p%d.h", i), *o = tu_printf("p%d.o", i);
        macros_prefixed(h, pre[i]);
        free(run_ok(tu_printf("gcc " STRICT " -c p%d.c -o %s", i, o)));
        char *syms = defined(o);
        ck_assert_msg(lines(syms) == 14, "f and f_ws of 7 entry points:\n%s", syms);
        for (const char *p = syms; *p; p = strchr(p, '\n') + 1)
            ck_assert_msg(!strncmp(p, pre[i], strlen(pre[i])), "%s defines a symbol without %s:\n%s", o,
                          pre[i], syms);
        free(syms);
        free(h);
        free(o);
    }
    char *c = tu_read(tu_path("p0.c"), NULL);
    ck_assert_msg(strstr(c, "double m1_s_grad(double k, double x0, double *k_bar)\n") &&
                      strstr(c, "m1_s_grad: reverse mode (backpropagation).  Returns s and"),
                  "%s", c);
    free(c);
    ck_assert_int_eq(tu_write(tu_path("main.c"),
                              "#include <stdlib.h>\n#include \"p0.h\"\n#include \"p1.h\"\n"
                              "int main(void)\n{\n"
                              "    double a, b, w[3] = {1, 2, 3}, o1[3], o2[3];\n"
                              "    void *work = malloc(Springs_grad_WS_BYTES);\n"
                              "    double y1 = m1_s_grad(0.7, 1.2, &a), y2 = Springs_grad_ws(0.7, 1.2, &b, work);\n"
                              "    m1_v(w, o1);\n    Springv(w, o2);\n    free(work);\n"
                              "    return !(y1 == y2 && a == b && o1[2] == o2[2] && y1 != 0);\n"
                              "}\n",
                              (size_t)-1),
                     0);
    build_run("", "main.c p0.c p1.c", "both");
    /* without --prefix, the names and the guard are as before */
    free(cr_dxc_ok("s.dx -o plain.c --header plain.h"));
    char *h = tu_read(tu_path("plain.h"), NULL);
    ck_assert_msg(strstr(h, "#ifndef DX_PLAIN_H\n") && strstr(h, "\ndouble s_grad("), "%s", h);
    free(h);
}
END_TEST

/* Bad lists and prefixes: an error in the driver's words, no output. */
static const struct {
    const char *opt, *says;
} bad_opts[] = {
    {"--entries=", "--entries needs entry points separated by commas (f, grad, jvp, hvp), not ''"},
    {"--entries=f,", "--entries needs entry points separated by commas"},
    {"--entries=,f", "--entries needs entry points separated by commas"},
    {"--entries=f,,grad", "--entries needs entry points separated by commas"},
    {"--entries=f,vjp", "--entries: no entry point 'vjp'; they are f, grad, jvp and hvp"},
    {"--entries=F", "--entries: no entry point 'F'"},
    {"--entries=f,f", "--entries: 'f' is listed twice"},
    {"--entries=grad,hvp,grad", "--entries: 'grad' is listed twice"},
    {"--entries=f grad", "more than one input file"},
    {"--prefix=", "bad --prefix '': expected the start of a C identifier"},
    {"--prefix=1x", "bad --prefix '1x'"},
    {"--prefix=a-b", "bad --prefix 'a-b'"},
    {"--prefix=a.b", "bad --prefix 'a.b'"},
    {"--prefix=__", "--prefix=__: '__s' is a name C or its library reserves"},
    {"--prefix=_X", "--prefix=_X: '_Xs' is a name C or its library reserves"},
};

START_TEST(test_bad_options)
{
    char *args = tu_printf("s.dx %s -o out.c", bad_opts[_i].opt), *out = NULL, *err = NULL;
    ck_assert_int_eq(cr_dxc(args, &out, &err), 1);
    char *want = tu_printf("dxc: error: %s", bad_opts[_i].says);
    ck_assert_msg(err && !strncmp(err, want, strlen(want)), "dxc %s: %s", args, err);
    ck_assert_ptr_null(tu_read(tu_path("out.c"), NULL));
    free(want);
    free(args);
    free(out);
    free(err);
}
END_TEST

/* ---------------- the maths hooks ---------------- */

/* Every <math.h> function generated code might call. */
static int libm_name(const char *s, size_t n)
{
    static const char *const fns[] = {"pow",  "exp",   "log",  "log1p", "expm1", "sqrt",  "sin",
                                      "cos",  "tan",   "asin", "acos",  "atan",  "sinh",  "cosh",
                                      "tanh", "erf",   "fabs", "lgamma", "atan2", "hypot", "round",
                                      "fmax", "fmin",  "floor", "ceil", "fmod",  "trunc", "exp2",
                                      "log2", "log10", "cbrt", "erfc",  "tgamma"};
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        size_t m = strlen(fns[k]);
        if ((n == m || (n == m + 1 && s[m] == 'f')) && !strncmp(s, fns[k], m))
            return 1;
    }
    return 0;
}

/* In code (its comments removed), every call of a <math.h> function is
 * through a hook, and every hook called is defined by an #ifndef block. */
static void check_hooks(const char *code, const char *what)
{
    for (const char *p = code; *p;) {
        if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            ck_assert_ptr_nonnull(e);
            p = e + 2;
            continue;
        }
        if (!(isalpha((unsigned char)*p) || *p == '_')) {
            p++;
            continue;
        }
        const char *w = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        size_t n = (size_t)(p - w);
        if (*p != '(')
            continue;
        ck_assert_msg(!libm_name(w, n), "%s calls %.*s directly", what, (int)n, w);
        if (n > 3 && !strncmp(w, "DX_", 3)) {
            char *block = tu_printf("#ifndef %.*s\n#define %.*s ", (int)n, w, (int)n, w);
            ck_assert_msg(strstr(code, block), "%s calls %.*s, which it does not define", what, (int)n, w);
            free(block);
        }
    }
}

/* Every model of tests/models, and one calling the polygamma helpers, in
 * double and float: no maths call but through a hook. */
START_TEST(test_hooks_everywhere)
{
    ck_assert_int_eq(tu_write(tu_path("g.dx"), "fn g(x, y) = lgamma(x) * softplus(y) + pow(x, y) + "
                                               "erf(abs(y)) + sqrt(x) / hypot(x, y)\n",
                              (size_t)-1),
                     0);
    char *models = run_ok(tu_printf("ls '%s'/tests/models/*.dx g.dx", tu_root()));
    int n = 0;
    for (char *m = strtok(models, "\n"); m; m = strtok(NULL, "\n"))
        for (int fl = 0; fl < 2; fl++, n++) {
            char *args = tu_printf("'%s' %s -o -", m, fl ? "--real=float" : "");
            char *c = cr_dxc_ok(args);
            check_hooks(c, args);
            free(args);
            free(c);
        }
    ck_assert_int_ge(n, 20);
    free(models);
    /* a model that calls nothing has no hooks */
    ck_assert_int_eq(tu_write(tu_path("lin.dx"), "fn lin(x, y) = 2 * x + y\n", (size_t)-1), 0);
    char *c = cr_dxc_ok("lin.dx");
    ck_assert_msg(!strstr(c, "DX_"), "%s", c);
    free(c);
}
END_TEST

/* DX_EXP (double, on the command line) and DX_EXPF (float, from the
 * header DX_MATH_HEADER names) put a counting exp in: it is called, and
 * every result is the one plain libm gives, bit for bit. */
START_TEST(test_hooks_override)
{
    ck_assert_int_eq(tu_write(tu_path("h.dx"), "fn h(x, y) = exp(x * y) + sigmoid(x) * log(y) + softplus(y)\n",
                              (size_t)-1),
                     0);
    ck_assert_int_eq(tu_write(tu_path("count.h"),
                              "extern int n_calls;\n"
                              "double count_exp(double x);\n"
                              "float count_expf(float x);\n"
                              "#define DX_EXPF count_expf\n",
                              (size_t)-1),
                     0);
    ck_assert_int_eq(tu_write(tu_path("count.c"),
                              "#include <math.h>\n#include \"count.h\"\n"
                              "int n_calls;\n"
                              "double count_exp(double x) { n_calls++; return exp(x); }\n"
                              "float count_expf(float x) { n_calls++; return expf(x); }\n",
                              (size_t)-1),
                     0);
    ck_assert_int_eq(tu_write(tu_path("main.c"),
                              "#include <stdio.h>\n#include \"count.h\"\n#include \"ref.h\"\n#include \"hk.h\"\n"
                              "int main(void)\n{\n"
                              "    real gx, gy, hx, hy, vx, vy, wx, wy;\n"
                              "    real a = ref_h_grad(0.3f, 1.7f, &gx, &gy), b = hk_h_grad(0.3f, 1.7f, &hx, &hy);\n"
                              "    int before = n_calls;\n"
                              "    real c = ref_h_hvp(0.3f, 1.7f, 1, -1, &vx, &vy), d = hk_h_hvp(0.3f, 1.7f, 1, -1, &wx, &wy);\n"
                              "    printf(\"%g %g, %d calls\\n\", (double)a, (double)b, n_calls);\n"
                              "    return !(a == b && gx == hx && gy == hy && c == d && vx == wx && vy == wy &&\n"
                              "             before >= 3 && n_calls > before);\n"
                              "}\n",
                              (size_t)-1),
                     0);
    static const char *const real[] = {"double", "float"};
    for (int fl = 0; fl < 2; fl++) {
        char *args = tu_printf("h.dx --real=%s --prefix=ref_ -o ref.c --header ref.h", real[fl]);
        free(cr_dxc_ok(args));
        free(args);
        args = tu_printf("h.dx --real=%s --prefix=hk_ -o hk.c --header hk.h", real[fl]);
        free(cr_dxc_ok(args));
        free(args);
        char *c = tu_read(tu_path("hk.c"), NULL);
        ck_assert_msg(strstr(c, fl ? "#ifndef DX_EXPF\n#define DX_EXPF expf\n#endif\n"
                                   : "#ifndef DX_EXP\n#define DX_EXP exp\n#endif\n"),
                      "%s", c);
        free(c);
        /* the hooks: -D for double, the header's own #define for float */
        static const char *const cc[] = {"gcc", "clang"};
        for (int i = 0; i < 2; i++)
            free(run_ok(tu_printf("%s " STRICT " -c hk.c -o hk.o '-DDX_MATH_HEADER=\"count.h\"' %s && "
                                  "%s " STRICT " -Dreal=%s main.c ref.c count.c hk.o -lm -o hooked && ./hooked",
                                  cc[i], fl ? "" : "-DDX_EXP=count_exp", cc[i], real[fl])));
    }
}
END_TEST

/* ---------------- --line-directives ---------------- */

/* Each `#line N "name"` of c (the file out.c) into out.c itself is
 * followed by out.c's line N; returns how many there are into "dx". */
static int check_directives(const char *c, const char *dx)
{
    int physical = 1, into_dx = 0;
    for (const char *p = c; *p; p = strchr(p, '\n') + 1, physical++) {
        long n;
        char name[256];
        if (sscanf(p, "#line %ld \"%255[^\"]\"", &n, name) == 2) {
            if (!strcmp(name, "out.c"))
                ck_assert_msg(n == physical + 1, "'#line %ld \"out.c\"' is on line %d", n, physical);
            else {
                ck_assert_str_eq(name, dx);
                ck_assert_msg(n >= 2 && n <= 10, "#line %ld into s.dx, which has 10 lines", n);
                into_dx++;
            }
        }
        if (!strchr(p, '\n'))
            break;
    }
    return into_dx;
}

START_TEST(test_line_directives)
{
    free(cr_dxc_ok("s.dx --line-directives -o out.c --header out.h"));
    char *c = tu_read(tu_path("out.c"), NULL);
    ck_assert_int_ge(check_directives(c, "s.dx"), 10);
    /* the step on line 5 of s.dx, in f and in the backward loop of f_grad */
    ck_assert_msg(strstr(c, "#line 5 \"s.dx\"\n        x = x - 0.01 * k * DX_SIN(x);\n"), "%s", c);
    free(c);
    free(run_ok(tu_printf("gcc " STRICT " -c out.c && clang " STRICT " -c out.c")));
    /* gcc's messages point into s.dx at its only floating constant, and
     * into out.c at the helpers' */
    char *w = run_ok(tu_printf("gcc -std=c99 -Wunsuffixed-float-constants -c out.c -o out.o 2>&1"));
    ck_assert_msg(strstr(w, "s.dx:5:"), "%s", w);
    c = tu_read(tu_path("out.c"), NULL);
    for (const char *p = strstr(w, "out.c:"); p; p = strstr(p + 1, "out.c:")) {
        int n = atoi(p + 6);
        const char *l = c;
        for (int k = 1; k < n && l; k++)
            l = strchr(l, '\n') + 1;
        ck_assert_msg(l && strstr(l, ".0") && strstr(l, ".0") < strchr(l, '\n'), "out.c:%d: %s", n, w);
    }
    free(c);
    free(w);
    /* so do the preprocessor's line markers and the debugger's line table */
    char *pp = run_ok(tu_printf("gcc -E out.c | grep -A1 '^# 5 \"s.dx\"'"));
    ck_assert_msg(strstr(pp, "DX_SIN") || strstr(pp, "sin"), "%s", pp);
    free(pp);
    char *dwarf = run_ok(tu_printf("gcc -g -O0 -c out.c -o dbg.o && objdump --dwarf=decodedline dbg.o"));
    int at5 = 0;
    for (char *l = strtok(dwarf, "\n"); l; l = strtok(NULL, "\n")) {
        char file[64];
        int line;
        if (sscanf(l, "%63s %d", file, &line) == 2 && !strcmp(file, "s.dx"))
            at5 |= line == 5;
    }
    ck_assert_msg(at5, "no code at s.dx:5 in the line table");
    free(dwarf);
    /* standard output: the .dx input's name with .c; standard input: <stdout> */
    c = cr_dxc_ok("s.dx --line-directives");
    ck_assert_msg(strstr(c, " \"s.c\"\n") && strstr(c, " \"s.dx\"\n"), "%s", c);
    free(c);
    c = cr_dxc_ok("--line-directives - < s.dx");
    ck_assert_msg(strstr(c, " \"<stdout>\"\n") && strstr(c, " \"<stdin>\"\n"), "%s", c);
    free(c);
    /* and none without the option */
    c = cr_dxc_ok("s.dx");
    ck_assert_ptr_null(strstr(c, "#line"));
    free(c);
}
END_TEST

/* ---------------- the warnings firmware builds add ---------------- */

/* Beyond the strict set: what embedded and library builds commonly turn
 * on.  The entry points are declared before their definitions
 * (-Wmissing-prototypes, -Wmissing-declarations), and nothing shadows,
 * converts implicitly or promotes a float to double. */
#define FIRMWARE_WARNINGS                                                                          \
    STRICT " -Wmissing-prototypes -Wmissing-declarations -Wshadow -Wconversion -Wdouble-promotion " \
           "-Wcast-qual -Wstrict-prototypes -Wundef -Wredundant-decls"

static void firmware_clean(const char *path, void *arg)
{
    (void)arg;
    static const char *const opts[] = {"", "--real=float", "--workspace", "--real=float --workspace"};
    static const char *const ccs[] = {"gcc", "clang"};
    for (int k = 0; k < 4; k++) {
        char *args = tu_printf("'%s' %s -o fw.c", path, opts[k]);
        free(cr_dxc_ok(args));
        free(args);
        for (int j = 0; j < 2; j++) {
            char *out = NULL, *err = NULL;
            char *cmd = tu_printf("cd '%s' && %s " FIRMWARE_WARNINGS " -fsyntax-only fw.c", tu_tmpdir(), ccs[j]);
            int rc = tu_run(cmd, &out, &err);
            ck_assert_msg(rc == 0, "%s %s, %s:\n%.2000s", path, opts[k], ccs[j], err ? err : "");
            free(cmd);
            free(out);
            free(err);
        }
    }
}

START_TEST(test_firmware_warnings)
{
    ck_assert_int_gt(tu_each_model(firmware_clean, NULL), 15);
    /* and the polygamma helpers of lgamma's derivatives (NAN is a float:
     * clang's -Wdouble-promotion once flagged returning it as a double) */
    ck_assert_int_eq(tu_write(tu_path("gam.dx"), "fn g(x, w) = lgamma(x * w) * w\n", (size_t)-1), 0);
    firmware_clean(tu_path("gam.dx"), NULL);
}
END_TEST

Suite *suite_fwopts(void);

Suite *suite_fwopts(void)
{
    Suite *s = suite_create("fwopts");
    TCase *tc = tcase_create("fwopts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_entries_budget);
    tcase_add_loop_test(tc, test_entries_emitted, 0, (int)(sizeof entry_cases / sizeof entry_cases[0]));
    tcase_add_test(tc, test_entries_default);
    tcase_add_test(tc, test_prefix_link);
    tcase_add_loop_test(tc, test_bad_options, 0, (int)(sizeof bad_opts / sizeof bad_opts[0]));
    tcase_add_test(tc, test_hooks_everywhere);
    tcase_add_test(tc, test_hooks_override);
    tcase_add_test(tc, test_line_directives);
    tcase_add_test(tc, test_firmware_warnings);
    suite_add_tcase(s, tc);
    return s;
}
