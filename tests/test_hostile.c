/*
 * test_hostile.c - dxc on hostile and invalid input.
 *
 * Whatever the input, dxc must exit with status 0 or 1 (never crash, never
 * hang: every run is under `timeout 60`), and on status 1 print only
 * diagnostics of the contract's form: `FILE:LINE:COL: error: MESSAGE`
 * followed by the source line and a caret line, or `dxc: error: MESSAGE`;
 * an error may be followed by notes in its form (`note:` for `error:`).
 * Errors are checked for their exact line and column, and a failed
 * compilation leaves an existing output file untouched.
 *
 * Rows marked 1 in the last column were bugs (crash, minutes of runtime)
 * that these tests found; they are regressions now.
 */
#include <check.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* A growable byte buffer. */
typedef struct {
    char *s;
    size_t n, cap;
} Bytes;

static void put(Bytes *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        ck_assert_ptr_nonnull(b->s);
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void puts_(Bytes *b, const char *s)
{
    put(b, s, strlen(s));
}

static void rep(Bytes *b, const char *s, size_t times)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < times; i++)
        put(b, s, n);
}

static int match(const char *re, const char *s)
{
    regex_t r;
    ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    int m = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return m;
}

/*
 * Check that err (stderr of a run that exited with status 1) holds only
 * well-formed diagnostics, at least one.  file is the input's name as
 * given on the command line.
 */
static void check_diagnostics(const char *err, const char *file)
{
    char re[512], note_re[512];
    snprintf(re, sizeof re, "^%s:[1-9][0-9]*:[1-9][0-9]*: error: .+$", file);
    snprintf(note_re, sizeof note_re, "^%s:[1-9][0-9]*:[1-9][0-9]*: note: .+$", file);
    ck_assert_msg(err && *err, "status 1 but nothing on stderr");
    char *copy = strdup(err), *save = NULL;
    ck_assert_ptr_nonnull(copy);
    /* split into lines, keeping empty ones */
    char **lines = NULL;
    size_t n = 0;
    char *p = copy;
    while (*p) {
        char *e = strchr(p, '\n');
        if (e)
            *e = 0;
        lines = realloc(lines, (n + 1) * sizeof *lines);
        lines[n++] = p;
        if (!e)
            break;
        p = e + 1;
    }
    (void)save;
    size_t nerr = 0;
    for (size_t i = 0; i < n; i++) {
        int note = nerr > 0 && match(note_re, lines[i]);
        if (note || match(re, lines[i])) {
            nerr += !note;
            ck_assert_msg(i + 2 < n, "located error without source and caret lines:\n%s", err);
            ck_assert_msg(match("^[ \t]*\\^", lines[i + 2]), "no caret line after the source line:\n%.2000s",
                          err);
            i += 2;
        } else if (match("^dxc: error: .+$", lines[i])) {
            nerr++;
        } else {
            ck_assert_msg(0, "unexpected line %zu on stderr: '%.200s'\nin:\n%.2000s", i + 1, lines[i],
                          err);
        }
    }
    ck_assert_msg(nerr > 0, "no error line on stderr");
    free(lines);
    free(copy);
}

/* Run dxc on in.dx (n bytes of text) with output out.c; prefix goes before
 * the command (ulimit...).  Returns the status, asserting it is 0 or 1 and
 * that the diagnostics are well-formed. */
static int run_in(const char *text, size_t n, const char *prefix, char **errp)
{
    ck_assert_int_eq(tu_write(tu_path("in.dx"), text, n), 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && rm -f out.c && %s timeout %d '%s' in.dx -o out.c",
             tu_tmpdir(), prefix ? prefix : "", getenv("DX_SANITIZED") ? 600 : 60, tu_dxc());
    char *err = NULL;
    int st = tu_run(cmd, NULL, &err);
    ck_assert_msg(st != -1, "dxc crashed (signal):\n%.2000s", err ? err : "");
    ck_assert_msg(st != 124, "dxc did not finish within 60 s");
    ck_assert_msg(st == 0 || st == 1, "dxc exited with status %d:\n%.2000s", st, err ? err : "");
    if (st == 1)
        check_diagnostics(err, "in.dx");
    if (errp)
        *errp = err;
    else
        free(err);
    return st;
}

/* Compile out.c with gcc under the contract's flags. */
static void cc_out(void)
{
    char cmd[1024];
    char *err = NULL;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -O0 -c out.c -o out.o",
             tu_tmpdir());
    int st = tu_run(cmd, NULL, &err);
    ck_assert_msg(st == 0, "the generated C does not compile:\n%.3000s", err ? err : "");
    free(err);
}

/* ---- the table of hostile inputs ---- */

enum { ANY, OK, ERR };

typedef struct {
    const char *name;
    void (*gen)(Bytes *b);  /* or NULL: text */
    const char *text;
    size_t len;             /* for text with NULs; 0: strlen */
    int expect;             /* ANY, OK (status 0), ERR (status 1) */
    int compile;            /* on success, compile out.c with gcc */
    const char *where;      /* on ERR, the first diagnostic starts so, or NULL */
    const char *prefix;     /* command prefix (ulimit) */
    int was_bug;            /* a regression test for a fixed bug */
} Hostile;

static void g_parens(Bytes *b)
{
    puts_(b, "fn f(x) = ");
    rep(b, "(", 100000);
    puts_(b, "x");
    rep(b, ")", 100000);
    puts_(b, "\n");
}

static void g_minus(Bytes *b)
{
    puts_(b, "fn f(x) = ");
    rep(b, "-", 100000);
    puts_(b, "x\n");
}

static void g_minus_sp(Bytes *b)
{
    puts_(b, "fn f(x) = ");
    rep(b, "- ", 100000);
    puts_(b, "x\n");
}

static void g_pow_chain(Bytes *b)
{
    puts_(b, "fn f(x) = x");
    rep(b, " ^ x", 100000);
    puts_(b, "\n");
}

static void ident(Bytes *b, size_t n)
{
    puts_(b, "fn f(");
    rep(b, "a", n);
    puts_(b, ") = ");
    rep(b, "a", n);
    puts_(b, " * 2 + sigmoid(");
    rep(b, "a", n);
    puts_(b, ")\n");
}

static void g_ident_300(Bytes *b)
{
    ident(b, 300);
}

static void g_ident_1k(Bytes *b)
{
    ident(b, 1000);
}

static void g_ident_1m(Bytes *b)
{
    ident(b, 1000000);
}

static void g_fn_name_1k(Bytes *b)
{
    puts_(b, "fn ");
    rep(b, "g", 1000);
    puts_(b, "(x) = x * 2\n");
}

static void g_chain(Bytes *b)
{
    char line[128];
    puts_(b, "fn f0(x) = x * 1.5\n");
    for (int i = 1; i < 10000; i++) {
        snprintf(line, sizeof line, "fn f%d(x) = f%d(x) + f%d(x)\n", i, i - 1, i - 1);
        puts_(b, line);
    }
}

static void deep_if(Bytes *b, int depth)
{
    char line[64];
    puts_(b, "fn f(x) {\n    y = x\n");
    for (int i = 0; i < depth; i++) {
        snprintf(line, sizeof line, "if x > %d {\n", i);
        puts_(b, line);
    }
    puts_(b, "y = y * 2\n");
    rep(b, "}\n", (size_t)depth);
    puts_(b, "    return y\n}\n");
}

static void g_if_100(Bytes *b)
{
    deep_if(b, 100);
}

static void g_if_2000(Bytes *b)
{
    deep_if(b, 2000);
}

static void g_if_else_chain(Bytes *b)
{
    char line[64];
    puts_(b, "fn f(x) {\n    y = 0\n    if x < 0 { y = -x }");
    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof line, " else if x < %d { y = x * %d }", i, i);
        puts_(b, line);
    }
    puts_(b, " else { y = x }\n    return y\n}\n");
}

static void g_if_expr_deep(Bytes *b)
{
    puts_(b, "fn f(x) = ");
    rep(b, "if x > 0 then x else ", 100000);
    puts_(b, "x\n");
}

static void g_long_line(Bytes *b)
{
    puts_(b, "fn f(x) = x");
    rep(b, " ", 2000000);
    puts_(b, "+ 1\n");
}

static void g_many_fns(Bytes *b)
{
    char line[128];
    for (int i = 0; i < 5000; i++) {
        snprintf(line, sizeof line, "fn f%d(x, y) = x * y + %d\n", i, i);
        puts_(b, line);
    }
}

static void g_many_params(Bytes *b)
{
    char p[32];
    puts_(b, "fn f(");
    for (int i = 0; i < 3000; i++) {
        snprintf(p, sizeof p, "%sp%d", i ? ", " : "", i);
        puts_(b, p);
    }
    puts_(b, ") = p0 * p2999\n");
}

static void g_many_errors(Bytes *b)
{
    char line[64];
    puts_(b, "fn f(x) {\n");
    for (int i = 0; i < 10000; i++) {
        snprintf(line, sizeof line, "    y%d = q%d\n", i, i);
        puts_(b, line);
    }
    puts_(b, "    return x\n}\n");
}

static void reassign(Bytes *b, size_t n)
{
    puts_(b, "fn f(x) {\n    y = x\n");
    rep(b, "    y = y * 1.0001 + sin(y)\n", n);
    puts_(b, "    return y\n}\n");
}

static void g_reassign_1k(Bytes *b)
{
    reassign(b, 1000);
}

/* Known bug: C emission takes time superlinear in the number of
 * statements (4000: 62 s, 1.6 GB), so this does not finish in 60 s. */
static void g_many_reassign(Bytes *b)
{
    reassign(b, 20000);
}


/* ---- version 2: while, break, continue, stores, % and //, inf ---- */

/* n nested loops and ifs, alternately: `while y > i max 2` holding an
 * `if y < 0 { break }`, and `if y > i`. */
static void nest_while(Bytes *b, int n)
{
    char line[96];
    puts_(b, "fn f(x) {\n    y = x\n");
    for (int i = 0; i < n; i++) {
        snprintf(line, sizeof line, i % 2 ? "if y > %d {\n" : "while y > %d max 2 {\nif y < 0 { break }\n",
                 i);
        puts_(b, line);
    }
    puts_(b, "y = y * 0.5\n");
    rep(b, "}\n", (size_t)n);
    puts_(b, "    return y\n}\n");
}

static void g_while_60(Bytes *b)
{
    nest_while(b, 60);
}

static void g_while_600(Bytes *b)
{
    nest_while(b, 600);
}

static void g_while_10k(Bytes *b)
{
    nest_while(b, 10000);
}

/* A constant continued over 100 000 lines (each ends with +). */
static void g_continued(Bytes *b)
{
    puts_(b, "const C =\n");
    rep(b, "1 +\n", 100000);
    puts_(b, "1\nfn f(x) = x * (\n    C +\n    1)\n");
}

static void g_continued_commas(Bytes *b)
{
    puts_(b, "fn f(x) = max(\n");
    rep(b, "x,\n", 100000);
    puts_(b, "x)\n");
}

/* A while loop inside a for loop, both of 2e9 iterations: the tapes of
 * the gradient are over any stack budget (an error), and dxc allocates
 * nothing of their size. */
static const char while_in_huge_for[] =
    "fn f(x) {\n    y = x\n    for i in 0..2000000000 {\n"
    "        while y > 1 max 2000000000 { y = y / 2 }\n        y = y + 1\n    }\n"
    "    return y\n}\n";

static const Hostile hostile[] = {
    {"nul in code", NULL, "fn f(x) = x\0 + 1\n", 17, ERR, 0, "in.dx:1:12:", NULL, 0},
    {"nul in comment", NULL, "fn f(x) = x # c\0mm\nfn g(x) = x\n", 30, ANY, 1, NULL, NULL, 0},
    {"nul alone", NULL, "\0", 1, ANY, 0, NULL, NULL, 0},
    {"invalid utf-8 in code", NULL, "fn f(x) = x \xff\xfe + 1\n", 0, ERR, 0, "in.dx:1:13:", NULL, 0},
    {"invalid utf-8 in comment", NULL, "fn f(x) = x # \xff\xfe\xc0\n", 0, ANY, 1, NULL, NULL, 0},
    {"utf-8 identifier", NULL, "fn f(\xc3\xa9t\xc3\xa9) = 1\n", 0, ERR, 0, "in.dx:1:6:", NULL, 0},
    {"utf-8 function name", NULL, "fn \xce\xbb(x) = x\n", 0, ERR, 0, "in.dx:1:4:", NULL, 0},
    {"utf-8 BOM", NULL, "\xef\xbb\xbf" "fn f(x) = x\n", 0, ANY, 1, NULL, NULL, 0},
    {"100000 nested parentheses", g_parens, NULL, 0, ANY, 1, NULL, NULL, 0},
    {"100000 unary minuses", g_minus, NULL, 0, ANY, 1, NULL, NULL, 0},
    {"100000 spaced unary minuses", g_minus_sp, NULL, 0, ANY, 1, NULL, NULL, 0},
    {"100000 right-associative powers", g_pow_chain, NULL, 0, ANY, 0, NULL, NULL, 0},
    {"100000 nested if-expressions", g_if_expr_deep, NULL, 0, ANY, 1, NULL, NULL, 0},
    {"300-byte identifier", g_ident_300, NULL, 0, OK, 1, NULL, NULL, 0},
    {"1000-byte identifier", g_ident_1k, NULL, 0, OK, 1, NULL, NULL, 1},
    {"1000-byte function name", g_fn_name_1k, NULL, 0, OK, 1, NULL, NULL, 1},
    {"1 MB identifier", g_ident_1m, NULL, 0, OK, 1, NULL, NULL, 1},
    {"10000 functions, exponential inlining", g_chain, NULL, 0, ERR, 0, NULL,
     "ulimit -v 4000000;", 0},
    /* the default --max-ops: f17 (1.3e6 operations once inlined) is under
     * it, f18 over it */
    {"inlined size just over the default limit",
     NULL,
     "fn f0(x) = x * x\n"
     "fn f1(x) = f0(x) + f0(x)\n"
     "fn f2(x) = f1(x) + f1(x)\n"
     "fn f3(x) = f2(x) + f2(x)\n"
     "fn f4(x) = f3(x) + f3(x)\n"
     "fn f5(x) = f4(x) + f4(x)\n"
     "fn f6(x) = f5(x) + f5(x)\n"
     "fn f7(x) = f6(x) + f6(x)\n"
     "fn f8(x) = f7(x) + f7(x)\n"
     "fn f9(x) = f8(x) + f8(x)\n"
     "fn f10(x) = f9(x) + f9(x)\n"
     "fn f11(x) = f10(x) + f10(x)\n"
     "fn f12(x) = f11(x) + f11(x)\n"
     "fn f13(x) = f12(x) + f12(x)\n"
     "fn f14(x) = f13(x) + f13(x)\n"
     "fn f15(x) = f14(x) + f14(x)\n"
     "fn f16(x) = f15(x) + f15(x)\n"
     "fn f17(x) = f16(x) + f16(x)\n"
     "fn f18(x) = f17(x) + f17(x)\n",
     0, ERR, 0,
     "in.dx:19:4: error: function 'f18' is too large once its calls are inlined "
     "(2.62e+06 operations; the limit is 2000000, which --max-ops raises)",
     "ulimit -v 4000000;", 0},
    {"100 nested ifs", g_if_100, NULL, 0, OK, 1, NULL, NULL, 0},
    {"2000 nested ifs", g_if_2000, NULL, 0, ANY, 0, NULL, NULL, 1},
    {"3000-way else-if chain", g_if_else_chain, NULL, 0, ANY, 0, NULL, NULL, 0},
    /* the stack budget's check of each derivative made a table of every
     * function's name: 6 GB, and 30 s */
    {"5000 functions", g_many_fns, NULL, 0, OK, 0, NULL, "ulimit -v 4000000;", 1},
    {"3000 parameters", g_many_params, NULL, 0, ANY, 0, NULL, NULL, 0},
    {"10000 errors", g_many_errors, NULL, 0, ERR, 0, "in.dx:2:10:", NULL, 0},
    {"1000 reassignments", g_reassign_1k, NULL, 0, OK, 0, NULL, NULL, 0},
    {"20000 reassignments", g_many_reassign, NULL, 0, ANY, 0, NULL, NULL, 1},
    {"1e400", NULL, "fn f(x) = x * 1e400\n", 0, ERR, 0, "in.dx:1:15:", NULL, 0},
    {"1e400 constant", NULL, "const C = 1e400\nfn f(x) = x * C\n", 0, ERR, 0, "in.dx:1:11:", NULL, 0},
    {"1e-400", NULL, "fn f(x) = x * 1e-400 + x\n", 0, ANY, 1, NULL, NULL, 0},
    {"integer literal 99999999999 in an expression", NULL, "fn f(x) = x * 99999999999\n", 0, ANY,
     1, NULL, NULL, 0},
    {"integer constant 99999999999", NULL, "const N = 99999999999\nfn f(x) = x * N\n", 0, ERR, 0,
     "in.dx:1:11:", NULL, 0},
    {"integer constant overflow by arithmetic", NULL,
     "const A = 65536\nconst B = A * A\nfn f(x) = x * B\n", 0, ERR, 0, NULL, NULL, 0},
    {"huge exponent digits", NULL, "fn f(x) = x * 1e999999999999999999999\n", 0, ERR, 0,
     "in.dx:1:15:", NULL, 0},
    {"long mantissa", NULL,
     "fn f(x) = x * 1.00000000000000000000000000000000000000000000000000000000000000000000001\n",
     0, OK, 1, NULL, NULL, 0},
    {"x ^ 99999999999", NULL, "fn f(x) = x ^ 99999999999\n", 0, ANY, 1, NULL, NULL, 0},
    {"x ^ 1000000", NULL, "fn f(x) = x ^ 1000000\n", 0, ANY, 1, NULL, NULL, 0},
    {"empty file", NULL, "", 0, ANY, 1, NULL, NULL, 0},
    {"only comments", NULL, "# one\n# two\n   # three", 0, ANY, 1, NULL, NULL, 0},
    {"only newlines", NULL, "\n\n\n\r\n;;;\n", 0, ANY, 1, NULL, NULL, 0},
    {"CRLF line endings", NULL,
     "# crlf\r\nconst N = 2\r\nfn f(x) {\r\n    y = x * N\r\n    if y > 1 {\r\n        y = y ^ 2\r\n"
     "    } else {\r\n        y = -y\r\n    }\r\n    return y\r\n}\r\n",
     0, OK, 1, NULL, NULL, 0},
    {"CR only", NULL, "fn f(x) = x\rfn g(x) = x\r", 0, ANY, 1, NULL, NULL, 0},
    {"very long line", g_long_line, NULL, 0, OK, 1, NULL, NULL, 0},
    {"no newline at the end", NULL, "fn f(x) = x", 0, OK, 1, NULL, NULL, 0},
    {"tabs and form feeds", NULL, "fn\tf(x)\t=\tx\f\v\n", 0, ANY, 1, NULL, NULL, 0},
    {"unterminated block", NULL, "fn f(x) {\n    y = x\n", 0, ERR, 0, NULL, NULL, 0},
    {"stray closing brace", NULL, "}\n", 0, ERR, 0, "in.dx:1:1:", NULL, 0},
    {"keywords only", NULL, "fn const data real return for in if then else and or not\n", 0, ERR,
     0, "in.dx:1:4:", NULL, 0},
    {"operators only", NULL, "+ - * / ^ @ = == != < <= > >= .. ( ) [ ] { } , ->\n", 0, ERR, 0,
     "in.dx:1:1:", NULL, 0},
    {"lone dot", NULL, "fn f(x) = x * .\n", 0, ERR, 0, NULL, NULL, 0},
    {"bad exponent", NULL, "fn f(x) = x * 1e\n", 0, ERR, 0, NULL, NULL, 0},
    {"control bytes", NULL, "fn f(x) = x \x01\x02\x1b[31m\n", 0, ERR, 0, "in.dx:1:13:", NULL, 0},
    {"high bytes in a name", NULL, "fn f\x80\x81(x) = x\n", 0, ERR, 0, NULL, NULL, 0},
    {"while max 2147483647: its tapes checkpointed", NULL,
     "fn f(x) {\n    y = x\n    while y > 1 max 2147483647 { y = y / 2 }\n    return y\n}\n", 0, OK,
     0, NULL, "ulimit -v 4000000;", 0},
    {"while max 2147483648", NULL,
     "fn f(x) {\n    y = x\n    while y > 1 max 2147483648 { y = y / 2 }\n    return y\n}\n", 0, ERR,
     0, "in.dx:3:21:", NULL, 0},
    {"while max inf", NULL, "fn f(x) {\n    y = x\n    while y > 1 max inf { y = y / 2 }\n    return y\n}\n",
     0, ERR, 0, "in.dx:3:21:", NULL, 0},
    {"while inside a for, 2e9 iterations each", NULL, while_in_huge_for, 0, OK, 0, NULL,
     "ulimit -v 4000000;", 0},
    {"60 nested whiles and ifs with break", g_while_60, NULL, 0, OK, 1, NULL, NULL, 0},
    {"10000 nested whiles and ifs with break", g_while_10k, NULL, 0, ERR, 0, NULL, NULL, 0},
    {"600 nested whiles and ifs with break", g_while_600, NULL, 0, ERR, 0,
     "in.dx:195:1: error: loops are nested too deeply", NULL, 0},
    {"i*i*i*i overflows 32 bits", NULL,
     "fn f(x[10]) = sum(x[i * i * i * i % 10] for i in 0..100000)\n", 0, ERR, 0,
     "in.dx:1:31: error: i*i*i*i (an operand of '%') overflows", NULL, 0},
    {"i*i*i*i as an index overflows 32 bits", NULL,
     "fn f(x[10]) = sum(x[i * i * i * i] for i in 0..100000)\n", 0, ERR, 0, "in.dx:1:31:", NULL, 0},
    {"10^12 index points, in range", NULL,
     "fn f(x[10]) = sum(x[(i * j) % 10] for i in 0..1000000, j in 0..1000000)\n", 0, OK, 1, NULL,
     NULL, 0},
    {"10^12 index points, not provably in range", NULL,
     "fn f(x[10]) = sum(x[(i * j) % 11] for i in 0..1000000, j in 0..1000000)\n", 0, ERR, 0,
     "in.dx:1:29:", NULL, 0},
    {"% by 0 in an index", NULL, "fn f(x[10]) = sum(x[i % 0] for i in 0..3)\n", 0, ERR, 0,
     "in.dx:1:25: error: the divisor of '%' is 0", NULL, 0},
    {"% by a negative constant in an index", NULL, "fn f(x[10]) = sum(x[i % -3] for i in 0..3)\n", 0,
     ERR, 0, "in.dx:1:25: error: '%' needs non-negative operands, but this one is -3", NULL, 0},
    {"% by 0 in a constant", NULL, "const N = 5 % 0\nfn f(x) = x * N\n", 0, ERR, 0, "in.dx:1:15:",
     NULL, 0},
    {"// by 0 in a constant", NULL, "const N = 5 // 0\nfn f(x) = x * N\n", 0, ERR, 0, "in.dx:1:16:",
     NULL, 0},
    {"% of a negative constant", NULL, "const N = -5 % 2\nfn f(x) = x * N\n", 0, ERR, 0,
     "in.dx:1:11:", NULL, 0},
    {"// in a real expression", NULL, "fn f(x) = x // 2\n", 0, ERR, 0, "in.dx:1:11:", NULL, 0},
    {"% in a real expression", NULL, "fn f(x) = x % 2\n", 0, ERR, 0, "in.dx:1:11:", NULL, 0},
    {"a store out of range in one iteration", NULL,
     "fn f(x[5]) {\n    y = x\n    for i in 0..5 {\n        if x[0] > 0 { y[i + 1] = x[i] }\n    }\n"
     "    return sum(y)\n}\n",
     0, ERR, 0, "in.dx:4:27:", NULL, 0},
    {"a store out of range in the first iterations", NULL,
     "fn f(x[5]) {\n    y = x\n    for i in 0..5 {\n        y[2 * i - 4] = x[i]\n    }\n"
     "    return sum(y)\n}\n",
     0, ERR, 0, "in.dx:4:17:", NULL, 0},
    {"end of file after +", NULL, "fn f(x) = x +", 0, ERR, 0, "in.dx:1:14:", NULL, 0},
    {"end of file after a comma", NULL, "fn f(x) = max(x,", 0, ERR, 0, "in.dx:1:17:", NULL, 0},
    {"end of file after a comma in parameters", NULL, "fn f(x, ", 0, ERR, 0, "in.dx:1:9:", NULL, 0},
    {"end of file after = and newlines", NULL, "fn f(x) =\n\n", 0, ERR, 0, NULL, NULL, 0},
    {"a line continued 100000 times", g_continued, NULL, 0, OK, 1, NULL, NULL, 0},
    {"a call continued over 100000 commas", g_continued_commas, NULL, 0, ERR, 0, "in.dx:1:11:", NULL,
     0},
    {"inf as a dimension", NULL, "fn f(x[inf]) = sum(x)\n", 0, ERR, 0, "in.dx:1:8:", NULL, 0},
    {"inf as a range bound", NULL, "fn f(x) = sum(x for i in 0..inf)\n", 0, ERR, 0, "in.dx:1:29:",
     NULL, 0},
    {"a constant inf as a dimension", NULL, "const N = inf\nfn f(x[N]) = sum(x)\n", 0, ERR, 0,
     "in.dx:2:8:", NULL, 0},
    {"inf as an index", NULL, "fn f(x[3]) = x[inf]\n", 0, ERR, 0, "in.dx:1:16:", NULL, 0},
    {"inf assigned", NULL, "fn f(x) {\n    inf = x\n    return x\n}\n", 0, ERR, 0, "in.dx:2:5:", NULL,
     0},
    {"lgamma at a pole in a constant", NULL, "const C = lgamma(0)\nfn f(x) = x * C\n", 0, ERR, 0,
     "in.dx:1:11:", NULL, 0},
    {"digamma at a pole in a constant", NULL, "const C = digamma(-1)\nfn f(x) = x * C\n", 0, ERR, 0,
     "in.dx:1:11:", NULL, 0},
    {"lgamma and digamma at poles", NULL, "fn f(x) = lgamma(0) * x + digamma(-2) * x + lgamma(-inf)\n",
     0, OK, 1, NULL, NULL, 0},
    {"break outside a loop", NULL, "fn f(x) {\n    break\n    return x\n}\n", 0, ERR, 0, "in.dx:2:5:",
     NULL, 0},
    {"continue in a comprehension", NULL, "fn f(x) = sum(continue for i in 0..3)\n", 0, ERR, 0, NULL,
     NULL, 0},
};

#define NHOSTILE (sizeof hostile / sizeof hostile[0])

START_TEST(test_hostile_table)
{
    const Hostile *h = &hostile[_i];
    Bytes b = {0};
    size_t n;
    if (h->gen) {
        h->gen(&b);
        n = b.n;
    } else {
        put(&b, h->text, h->len ? h->len : strlen(h->text));
        n = b.n;
    }
    char *err = NULL;
    /* ASan reserves terabytes of address space: no ulimit -v under it */
    int st = run_in(b.s, n, getenv("DX_SANITIZED") ? NULL : h->prefix, &err);
    if (h->expect == OK)
        ck_assert_msg(st == 0, "%s: dxc failed:\n%.2000s", h->name, err ? err : "");
    if (h->expect == ERR)
        ck_assert_msg(st == 1, "%s: dxc accepted it", h->name);
    if (st == 1 && h->where)
        ck_assert_msg(err && strncmp(err, h->where, strlen(h->where)) == 0,
                      "%s: first error should start with %s:\n%.2000s", h->name, h->where, err);
    if (st == 0 && h->compile)
        cc_out();
    free(err);
    free(b.s);
}
END_TEST

/* ---- 50 000-term sum: compiles, and the C gives 50000 x and 50000 ---- */

START_TEST(test_long_sum)
{
    Bytes b = {0};
    puts_(&b, "fn f(x) = x");
    rep(&b, " + x", 49999);
    puts_(&b, "\n");
    ck_assert_int_eq(run_in(b.s, b.n, NULL, NULL), 0);
    free(b.s);
    const char *drv =
        "#include <stdio.h>\n"
        "double f(double x);\n"
        "double f_grad(double x, double *x_bar);\n"
        "double f_jvp(double x, double x_dot, double *out_dot);\n"
        "int main(void)\n"
        "{\n"
        "    double g = 0, d = 0;\n"
        "    double v = f_grad(0.5, &g);\n"
        "    double w = f_jvp(0.5, 1, &d);\n"
        "    printf(\"%.17g %.17g %.17g %.17g %.17g\\n\", f(0.5), v, g, w, d);\n"
        "    return !(f(0.5) == 25000 && v == 25000 && g == 50000 && w == 25000 && d == 50000);\n"
        "}\n";
    ck_assert_int_eq(tu_write(tu_path("sum_drv.c"), drv, (size_t)-1), 0);
    char cmd[1024];
    char *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && gcc -std=c99 -O0 -c out.c -o out.o && gcc -std=c99 -O0 sum_drv.c out.o "
             "-o sum -lm && ./sum",
             tu_tmpdir());
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "50000-term sum: status %d\n%s%.2000s", st, out ? out : "",
                  err ? err : "");
    free(out);
    free(err);
}
END_TEST

/* ---- random bytes and truncated programs never crash ---- */

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

START_TEST(test_random_bytes)
{
    uint64_t seed = 20240601;
    static const char *toks[] = {"fn ", "f", "(", ")", "x", "y", ",", " = ", "{", "}", "\n",
                                 "if ", "else ", "then ", "return ", "const ", "data ", "for ",
                                 " in ", "..", "[", "]", "+", "-", "*", "/", "^", "@", "==",
                                 "<", "and ", "or ", "not ", "1", "2.5", "1e3", ".5", "sin(",
                                 "max(", "#", ";", "->", "real", "\t", "\r", "\xff", "\0"};
    for (int round = 0; round < 60; round++) {
        Bytes b = {0};
        size_t len = 1 + rng(&seed) % 300;
        for (size_t i = 0; i < len; i++) {
            if (round % 2) {
                char c = (char)(rng(&seed) & 0xff);
                put(&b, &c, 1);
            } else {
                const char *t = toks[rng(&seed) % (sizeof toks / sizeof toks[0])];
                put(&b, t, *t ? strlen(t) : 1);
            }
        }
        run_in(b.s, b.n, NULL, NULL);
        free(b.s);
    }
}
END_TEST

static const char valid_program[] =
    "# a small valid program\n"
    "const N = 3\n"
    "const lr = 0.5\n"
    "fn g(a, data k) = a * k + sigmoid(a)\n"
    "fn f(x, y) {\n"
    "    z = g(x, 2) * y ^ N; w = max(x, y)\n"
    "    if z > 1 and not (w < 0) {\n"
    "        z = z + pow(x, 2.5)\n"
    "    } else if z < -1 {\n"
    "        z = -z\n"
    "    } else {\n"
    "        z = if x > y then x else y\n"
    "    }\n"
    "    return z * lr + hypot(x, y)\n"
    "}\n";

START_TEST(test_truncated)
{
    size_t n = strlen(valid_program);
    int ok = 0;
    for (size_t k = 0; k <= n; k++)
        ok += run_in(valid_program, k, NULL, NULL) == 0;
    ck_assert_msg(ok > 0, "no prefix compiled (not even the whole program)");
    /* the whole program compiles and the C is valid */
    ck_assert_int_eq(run_in(valid_program, n, NULL, NULL), 0);
    cc_out();
}
END_TEST

/* A program with every construct of version 2: while, break, continue,
 * element stores, % and //, polynomial indices, inf, lgamma, digamma,
 * lines continued after an operator, a comma and `=`. */
static const char v2_program[] =
    "# every construct of version 2\n"
    "const N = 6\n"
    "const H = N // 2 + N % 4\n"
    "fn g(a, b) = lgamma(a * a + 1) + digamma(b * b + 2)\n"
    "fn f(x[N], s) {\n"
    "    y = x\n"
    "    y[0] = s * 2 +\n"
    "        x[1]\n"
    "    t = min(s, inf)\n"
    "    for i in 0..N {\n"
    "        if y[i] > 100 {\n"
    "            break\n"
    "        }\n"
    "        if y[i] < -100 { continue }\n"
    "        y[(i * i + 1) % N] = y[i] * t + g(y[i // 2],\n"
    "            s)\n"
    "    }\n"
    "    while abs(t) > 1e-9 max 40 {\n"
    "        t = t / 2\n"
    "        if t < 1e-6 { break }\n"
    "    }\n"
    "    return sum(y[i * (i + 1) // 2] for i in 0..3) + t + x[H]\n"
    "}\n";

/* Every prefix that ends at the end of a word or an operator (cutting
 * inside a word or a run of blanks tells little more, and takes time). */
START_TEST(test_v2_truncated)
{
    size_t n = strlen(v2_program);
    int runs = 0;
    for (size_t k = 0; k < n; k++) {
        char c = v2_program[k], d = k ? v2_program[k - 1] : ' ';
        int word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        int dword = (d >= 'a' && d <= 'z') || (d >= '0' && d <= '9') || d == '_';
        if ((word && dword) || c == ' ' || (d == ' ' && k > 0 && v2_program[k - 2] == ' '))
            continue;
        run_in(v2_program, k, NULL, NULL);
        runs++;
    }
    ck_assert_int_gt(runs, 200);
    ck_assert_int_eq(run_in(v2_program, n, NULL, NULL), 0);
    cc_out();
}
END_TEST

/* The v2 program cut into tokens (runs of letters and digits, runs of
 * blanks, single other bytes), then each round deletes, duplicates, swaps
 * or replaces a few of them (replacements from the language's tokens). */
START_TEST(test_v2_mutations)
{
    static const char *toks[] = {"while ", " max ", "break", "continue", "%", "//", "inf", "lgamma(",
                                 "digamma(", "[", "]", "=", "\n", "+", ",", "(", ")", "{", "}",
                                 "0", "-1", "2147483647", "99999999999", "i", "y[i]", " for ",
                                 " in ", "..", "if ", "return ", "max(", "*", "^", "-"};
    enum { NT = sizeof toks / sizeof toks[0], MAXTOK = 1024 };
    const char *tok[MAXTOK];
    size_t len[MAXTOK], nt = 0;
    for (const char *p = v2_program; *p && nt < MAXTOK; nt++) {
        const char *q = p + 1;
        int alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        while (*q && (alnum ? ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                               (*q >= '0' && *q <= '9') || *q == '_')
                            : (*p == ' ' && *q == ' ')))
            q++;
        tok[nt] = p;
        len[nt] = (size_t)(q - p);
        p = q;
    }
    uint64_t seed = 14014;
    for (int round = 0; round < 80; round++) {
        Bytes b = {0};
        size_t at[4];
        int kind[4];
        for (int m = 0; m < 4; m++) {
            at[m] = rng(&seed) % nt;
            kind[m] = (int)(rng(&seed) % 4);
        }
        for (size_t i = 0; i < nt; i++) {
            int done = 0;
            for (int m = 0; m < 1 + round % 4 && !done; m++) {
                if (at[m] != i)
                    continue;
                done = 1;
                if (kind[m] == 1) { /* duplicate */
                    put(&b, tok[i], len[i]);
                    put(&b, tok[i], len[i]);
                } else if (kind[m] == 2 && i + 1 < nt) { /* swap with the next */
                    put(&b, tok[i + 1], len[i + 1]);
                    put(&b, tok[i], len[i]);
                    i++;
                } else if (kind[m] == 3) { /* replace */
                    puts_(&b, toks[rng(&seed) % NT]);
                } /* else delete */
            }
            if (!done)
                put(&b, tok[i], len[i]);
        }
        run_in(b.s, b.n, NULL, NULL);
        free(b.s);
    }
}
END_TEST

/* Run dxc with args on in.dx holding src; status, stdout in *out. */
static int run_args(const char *src, const char *args, char **out, char **err)
{
    ck_assert_int_eq(tu_write(tu_path("in.dx"), src, (size_t)-1), 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout %d '%s' in.dx %s", tu_tmpdir(),
             getenv("DX_SANITIZED") ? 600 : 60, tu_dxc(), args);
    return tu_run(cmd, out, err);
}

/* --at runs a while loop for the iterations it needs, not for its bound
 * (the interpreter leaves a stopped while loop, as the C does): at x = 3,
 * `while y > 1 max 2147483647 { y = y / 2 }` runs twice, y = 0.75 and
 * df/dx = 0.25 (the result, a second value named y, goes by the
 * function's name), at once.  A recording over dxc's limit stops there too:
 * a sum over 2e9 points is refused at once. */
START_TEST(test_at_stops)
{
    const char *w = "fn f(x) {\n    y = x\n    while y > 1 max 2147483647 { y = y / 2 }\n    return y\n}\n";
    char *out = NULL, *err = NULL;
    time_t t0 = time(NULL);
    int st = run_args(w, "--at x=3 -o -", &out, &err);
    ck_assert_msg(st == 0, "status %d: %s", st, err ? err : "");
    ck_assert_msg(out && strstr(out, "df/dx = 0.25"), "output:\n%s", out ? out : "");
    free(out);
    free(err);
    out = err = NULL;
    st = run_args("fn f(x) = sum(x * i for i in 0..2000000000)\n", "--at x=3 -o -", &out, &err);
    ck_assert_msg(st == 1 && err && strstr(err, "too big to show"), "status %d: %s", st,
                  err ? err : "");
    if (!getenv("DX_SANITIZED") && !getenv("DX_VALGRIND"))
        ck_assert_msg(time(NULL) - t0 < 20, "--at took %ld s", (long)(time(NULL) - t0));
    free(out);
    free(err);
}
END_TEST

/* A function with more than 31 variables used to lose assignments: the
 * lowering's table of variables moved its slots when it grew, while a
 * loop or an if being lowered still held their old numbers, so y below
 * kept its value from before the loop (f = x), and 30 nested while loops
 * with break (a flag each) lowered to f = x too.  Values from --at
 * against values worked out by hand. */
static void at_value(const char *src, const char *x, const char *want)
{
    char args[128], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "--at x=%s -o -", x);
    int st = run_args(src, args, &out, &err);
    ck_assert_msg(st == 0, "status %d: %s", st, err ? err : "");
    ck_assert_msg(out && strstr(out, want), "want %s at x = %s, got:\n%.1500s", want, x,
                  out ? out : "");
    free(out);
    free(err);
}

START_TEST(test_many_variables)
{
    Bytes b = {0};
    char line[64];
    puts_(&b, "fn f(x) {\n    y = x\n    for i in 0..3 {\n");
    for (int k = 0; k < 40; k++) {
        snprintf(line, sizeof line, "        a%d = y * %d\n", k, k + 1);
        puts_(&b, line);
    }
    puts_(&b, "        y = y * 0.5 + a1 * 0\n    }\n    return y\n}\n");
    at_value(b.s, "2", "f(x = 2) = 0.25\n"); /* 2 / 2^3 */
    free(b.s);
    b = (Bytes){0};
    puts_(&b, "fn f(x) {\n    y = x\n    if x > 0 {\n        y = x * 2\n    } else {\n");
    for (int k = 0; k < 40; k++) {
        snprintf(line, sizeof line, "        a%d = y * %d\n", k, k + 1);
        puts_(&b, line);
    }
    puts_(&b, "        y = a3\n    }\n    return y\n}\n");
    at_value(b.s, "2", "f(x = 2) = 4\n");
    at_value(b.s, "-2", "f(x = -2) = -8\n");
    free(b.s);
    /* 30 nested whiles, each `while y > 2k max 2 { if y < 0 { break } if y > 2k+1 {`,
     * the innermost y = y * 0.5: at x = 61 every condition holds once and
     * y halves once (30.5); at x = 3 the third while does not start */
    b = (Bytes){0};
    nest_while(&b, 60);
    at_value(b.s, "61", "f(x = 61) = 30.5\n");
    at_value(b.s, "3", "f(x = 3) = 3\n");
    free(b.s);
}
END_TEST

/* ---- files that are not there, directories ---- */

START_TEST(test_missing_and_directory)
{
    char cmd[1024];
    char *err = NULL;
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' does-not-exist.dx -o out.c", tu_tmpdir(),
             tu_dxc());
    int st = tu_run(cmd, NULL, &err);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(err && match("^dxc: error: .*does-not-exist", err), "stderr: %s", err);
    check_diagnostics(err, "does-not-exist.dx");
    free(err);
    snprintf(cmd, sizeof cmd, "cd '%s' && mkdir -p adir.dx && timeout 60 '%s' adir.dx -o out.c",
             tu_tmpdir(), tu_dxc());
    st = tu_run(cmd, NULL, &err);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(err && match("^dxc: error: ", err), "stderr: %s", err);
    check_diagnostics(err, "adir.dx");
    free(err);
    /* /dev/null reads as an empty file: status 0 or 1, no crash */
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' /dev/null -o out.c", tu_tmpdir(), tu_dxc());
    st = tu_run(cmd, NULL, &err);
    ck_assert_msg(st == 0 || st == 1, "/dev/null: status %d", st);
    free(err);
    /* an output path that cannot be written */
    ck_assert_int_eq(tu_write(tu_path("ok.dx"), "fn f(x) = x\n", (size_t)-1), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' ok.dx -o no/such/dir/out.c", tu_tmpdir(),
             tu_dxc());
    st = tu_run(cmd, NULL, &err);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(err && match("^dxc: error: ", err), "stderr: %s", err);
    free(err);
}
END_TEST

/* ---- a failed compilation leaves the output untouched ---- */

START_TEST(test_output_untouched)
{
    const char old[] = "/* precious, must survive */\n";
    ck_assert_int_eq(tu_write(tu_path("keep.c"), old, (size_t)-1), 0);
    ck_assert_int_eq(tu_write(tu_path("keep.h"), old, (size_t)-1), 0);
    ck_assert_int_eq(tu_write(tu_path("bad.dx"), "fn f(x) = y\n", (size_t)-1), 0);
    char cmd[1024];
    char *err = NULL;
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' bad.dx -o keep.c --header keep.h",
             tu_tmpdir(), tu_dxc());
    ck_assert_int_eq(tu_run(cmd, NULL, &err), 1);
    check_diagnostics(err, "bad.dx");
    free(err);
    char *c = tu_read(tu_path("keep.c"), NULL), *h = tu_read(tu_path("keep.h"), NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(c, old);
    ck_assert_str_eq(h, old);
    free(c);
    free(h);
    /* a syntax error too */
    ck_assert_int_eq(tu_write(tu_path("bad.dx"), "fn f(x) = (x +\n", (size_t)-1), 0);
    ck_assert_int_eq(tu_run(cmd, NULL, NULL), 1);
    c = tu_read(tu_path("keep.c"), NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c, old);
    free(c);
    /* and no output file is created when there was none */
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' bad.dx -o fresh.c", tu_tmpdir(), tu_dxc());
    ck_assert_int_eq(tu_run(cmd, NULL, NULL), 1);
    c = tu_read(tu_path("fresh.c"), NULL);
    ck_assert_msg(c == NULL || *c == 0, "a failed compilation wrote fresh.c");
    free(c);
}
END_TEST

/* ---- errors at the right place ---- */

typedef struct {
    const char *src;
    const char *where[4];  /* each expected diagnostic prefix, in order: "in.dx:L:C: error: " */
    const char *words;     /* a word the first message must contain */
    const char *alt;       /* an acceptable alternative place of the first error, or NULL */
} ErrCase;

static const ErrCase errcases[] = {
    {"fn f(x) = y + z + w\n", {"in.dx:1:11:", "in.dx:1:15:", "in.dx:1:19:"}, "'y'", NULL},
    {"fn f(x) {\n    a = q\n    b = r + s\n    return a\n}\n",
     {"in.dx:2:9:", "in.dx:3:9:", "in.dx:3:13:"}, "'q'", NULL},
    {"fn f(x) = g(x)\nfn g(x) = f(x)\n", {"in.dx:2:11:"}, "recurs", "in.dx:1:11:"},
    {"fn a(x) = b(x)\nfn b(x) = c(x)\nfn c(x) = a(x) * 2\n", {"in.dx:3:11:"}, "recurs", "in.dx:1:11:"},
    {"fn f(x) = f(x)\n", {"in.dx:1:11:"}, "recurs", NULL},
    {"fn f(x) = x\nfn g(x) = f(x, x)\n", {"in.dx:2:11:"}, "argument", NULL},
    {"fn f(x, y) = x\nfn g(x) = f(x) + 1\n", {"in.dx:2:11:"}, "argument", NULL},
    {"fn f(x) = x\nfn g(x) = h(x)\n", {"in.dx:2:11:"}, "'h'", NULL},
    {"fn f(x) {\n    if x > 0 { y = 1 }\n    return y\n}\n", {"in.dx:3:12:"}, "every path", NULL},
    {"fn f(x) {\n    if x > 0 { z = 1 } else { w = 2 }\n    return x + z\n}\n", {"in.dx:3:16:"},
     "every path", NULL},
    {"const C = 1\nfn f(x) {\n    C = 2\n    return x\n}\n", {"in.dx:3:5:"}, "'C'", NULL},
    {"fn f(x) = x\nfn g(f) = 1\n", {"in.dx:2:6:"}, "'f'", NULL},
    {"const K = 2\nfn g(K) = 1\n", {"in.dx:2:6:"}, "'K'", NULL},
    {"fn f(x) = x\nfn g(x) {\n    f = x\n    return f\n}\n", {"in.dx:3:5:"}, "'f'", NULL},
    {"fn int(x) = x\n", {"in.dx:1:4:"}, "'int'", NULL},
    {"fn y0(x) = x\n", {"in.dx:1:4:"}, "'y0'", NULL},
    {"fn gamma(x) = x\n", {"in.dx:1:4:"}, "'gamma'", NULL},
    {"fn M_PI(x) = x\n", {"in.dx:1:4:"}, "'M_PI'", NULL},
    {"fn main(x) = x\n", {"in.dx:1:4:"}, "'main'", NULL},
    {"fn printf(x) = x\n", {"in.dx:1:4:"}, "'printf'", NULL},
    {"fn bool(x) = x\n", {"in.dx:1:4:"}, "'bool'", NULL},
    {"fn while(x) = x\n", {"in.dx:1:4:"}, "'while'", NULL},
    {"fn _Static_assert(x) = x\n", {"in.dx:1:4:"}, "'_Static_assert'", NULL},
    {"fn f(x) = x\nfn f_grad(x) = x\n", {"in.dx:2:4:"}, "'f_grad'", NULL},
    {"fn f(x) = x\nfn f_jvp(x) = x\n", {"in.dx:2:4:"}, "'f_jvp'", NULL},
    {"fn f(x) = x\nfn f_hvp(x) = x\n", {"in.dx:2:4:"}, "'f_hvp'", NULL},
    {"fn f_grad(x) = x\nfn f(x) = x\n", {"in.dx:2:4:"}, "'f_grad'", "in.dx:1:4:"},
    {"fn exp(x) = x\n", {"in.dx:1:4:"}, "'exp'", NULL},
    {"fn sigmoid(x) = x\n", {"in.dx:1:4:"}, "'sigmoid'", NULL},
    {"fn f(sin) = 1\n", {"in.dx:1:6:"}, "'sin'", NULL},
    {"fn f(x) {\n    pi = 3\n    return x\n}\n", {"in.dx:2:5:"}, "'pi'", NULL},
    {"fn f(x, y, x) = x\n", {"in.dx:1:12:"}, "'x'", NULL},
    {"fn f(x) = x\nfn g(y) = y\nfn f(y) = y\n", {"in.dx:3:4:"}, "'f'", NULL},
    {"const C = 1\nconst C = 2\nfn f(x) = x\n", {"in.dx:2:7:"}, "'C'", NULL},
    {"const f = 1\nfn f(x) = x\n", {"in.dx:2:4:"}, "'f'", NULL},
    {"fn f(x) {\n    return x\n    y = 2\n}\n", {"in.dx:3:5:"}, "return", NULL},
    {"fn f(x) {\n    y = x\n}\n", {"in.dx:1:4:"}, "return", "in.dx:3:1:"},
    {"fn f(x) {\n    if x > 0 { return x }\n    return 1\n}\n", {"in.dx:2:16:"}, "return", NULL},
    {"fn f(x) = x +\n", {"in.dx:2:1:"}, "", NULL},
    {"fn f(x) = x * 1e400\n", {"in.dx:1:15:"}, "1e400", NULL},
    {"const N = 99999999999\nfn f(x) = x\n", {"in.dx:1:11:"}, "99999999999", NULL},
    {"fn f(x) = x\n\n\n    fn g(x) = q\n", {"in.dx:4:15:"}, "'q'", NULL},
    {"fn f(x) = x -> real\n", {"in.dx:1:13:"}, "", NULL},
    /* habits of other languages */
    {"fn f(x) = x ** 2\n", {"in.dx:1:13:"}, "write x ^ y for a power", NULL},
    {"fn f(x) {\n    for i in range(10) {\n        x = x * 2\n    }\n    return x\n}\n",
     {"in.dx:2:14:"}, "use 0..10", NULL},
    {"fn f(x) = sigmod(x)\n", {"in.dx:1:11:"}, "did you mean 'sigmoid'?", NULL},
    {"fn f(x) = (x + 1\n", {"in.dx:2:1:", "in.dx:1:11: note: '(' opened here"}, "')'", NULL},
    /* a store: its target's errors first, then its value's */
    {"fn f(x[3]) {\n    y = x\n    y[5] = x[7]\n    return sum(y)\n}\n", {"in.dx:3:7:", "in.dx:3:14:"},
     "index 5 of y", NULL},
    {"fn f(x[3]) {\n    z[0] = q\n    return sum(x)\n}\n", {"in.dx:2:5:", "in.dx:2:12:"}, "'z'", NULL},
};

#define NERR (sizeof errcases / sizeof errcases[0])

START_TEST(test_error_places)
{
    const ErrCase *c = &errcases[_i];
    char *err = NULL;
    int st = run_in(c->src, strlen(c->src), NULL, &err);
    ck_assert_msg(st == 1, "accepted:\n%s", c->src);
    const char *p = err;
    for (int k = 0; k < 4 && c->where[k]; k++) {
        size_t wl = strlen(c->where[k]);
        int ok = strncmp(p, c->where[k], wl) == 0 ||
                 (k == 0 && c->alt && strncmp(p, c->alt, strlen(c->alt)) == 0);
        ck_assert_msg(ok, "error %d should be at %s for\n%s\ngot:\n%s", k + 1, c->where[k], c->src,
                      err);
        if (k == 0) {
            const char *eol = strchr(p, '\n');
            size_t ll = eol ? (size_t)(eol - p) : strlen(p);
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)(ll < 1000 ? ll : 1000), p);
            ck_assert_msg(strstr(line, ": error: ") && strstr(line, c->words),
                          "message should mention %s: %s", c->words, line);
        }
        /* skip this diagnostic: its line, source line, caret line */
        for (int l = 0; l < 3 && p && *p; l++) {
            p = strchr(p, '\n');
            if (p)
                p++;
        }
        ck_assert_msg(p != NULL, "fewer diagnostics than expected for\n%s\ngot:\n%s", c->src, err);
    }
    free(err);
}
END_TEST

/* A note follows its error in the same form: place, source line, caret. */
START_TEST(test_note_format)
{
    const char *src = "fn f(x) {\n    y = g((x + 1)\n    return y\n}\n";
    char *err = NULL;
    ck_assert_int_eq(run_in(src, strlen(src), NULL, &err), 1);
    ck_assert_str_eq(err, "in.dx:3:5: error: unexpected 'return', expected 'for', ')' or ','\n"
                          "        return y\n"
                          "        ^\n"
                          "in.dx:2:10: note: '(' opened here has no matching ')'\n"
                          "        y = g((x + 1)\n"
                          "             ^\n");
    free(err);
}
END_TEST

/* --max-ops: a function over the limit is refused at its name, with the
 * usual diagnostic, status 1 and no output; the option raises the limit;
 * a limit that is not a whole number from 1 to 100000000 is refused. */
START_TEST(test_max_ops)
{
    const char *src = "fn f(x) {\n    a = x * x + 1\n    b = a * x - sin(a)\n    return a * b\n}\n";
    char *out = NULL, *err = NULL;
    int st = run_args(src, "--max-ops=10 -o out.c", &out, &err);
    ck_assert_msg(st == 1, "--max-ops=10: status %d", st);
    check_diagnostics(err, "in.dx");
    ck_assert_msg(match("^in\\.dx:1:4: error: function 'f' is too large once its calls are "
                        "inlined \\([0-9.e+]+ operations; the limit is 10, which --max-ops "
                        "raises\\)",
                        err),
                  "%s", err);
    ck_assert_ptr_null(tu_read(tu_path("out.c"), NULL));
    free(out);
    free(err);
    out = err = NULL;
    st = run_args(src, "--max-ops=1000 -o out.c", &out, &err);
    ck_assert_msg(st == 0, "--max-ops=1000: status %d\n%s", st, err ? err : "");
    free(out);
    free(err);
    static const char *const bad[] = {"--max-ops=0", "--max-ops=", "--max-ops=12k",
                                      "--max-ops=100000001", "--max-ops=-5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = err = NULL;
        st = run_args(src, bad[i], &out, &err);
        ck_assert_msg(st == 1 && err && match("^dxc: error: bad --max-ops", err),
                      "%s: status %d\n%s", bad[i], st, err ? err : "");
        free(out);
        free(err);
    }
}
END_TEST

/* The caret stands under the reported column. */
START_TEST(test_caret_column)
{
    const char *src = "fn f(x) {\n    y = x\n    return y + zz\n}\n";
    char *err = NULL;
    ck_assert_int_eq(run_in(src, strlen(src), NULL, &err), 1);
    ck_assert_msg(strncmp(err, "in.dx:3:16: error: ", 19) == 0, "%s", err);
    char *l1 = strchr(err, '\n') + 1;
    char *l2 = strchr(l1, '\n') + 1;
    const char *s = strstr(l1, "return y + zz");
    ck_assert_ptr_nonnull(s);
    /* column 16 of "    return y + zz" is the z of zz; the source line may be indented */
    size_t zcol = (size_t)(s - l1) + (size_t)(strstr(s, "zz") - s);
    ck_assert_msg(l2[zcol] == '^', "caret not under column 16:\n%s", err);
    free(err);
}
END_TEST

Suite *suite_hostile(void);

Suite *suite_hostile(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("inputs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 200);
    tcase_add_loop_test(tc, test_hostile_table, 0, (int)NHOSTILE);
    tcase_add_test(tc, test_long_sum);
    tcase_add_test(tc, test_random_bytes);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_v2_truncated);
    tcase_add_test(tc, test_v2_mutations);
    tcase_add_test(tc, test_at_stops);
    tcase_add_test(tc, test_many_variables);
    tcase_add_test(tc, test_missing_and_directory);
    tcase_add_test(tc, test_output_untouched);
    tcase_add_loop_test(tc, test_error_places, 0, (int)NERR);
    tcase_add_test(tc, test_caret_column);
    tcase_add_test(tc, test_note_format);
    tcase_add_test(tc, test_max_ops);
    suite_add_tcase(s, tc);
    return s;
}
