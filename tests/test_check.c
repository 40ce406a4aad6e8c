/*
 * test_check.c - the semantic checks (ir/check.c and the body checks of
 * ir/lower.c): each bad program gives its first error at the right line
 * and column with the right message, and good programs give none.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Compiles text up to lowering; returns the number of errors and leaves
 * the last one's place and text in *at and msg. */
static int check_text(const char *text, Diag *d, Loc *first, char *msg, size_t cap)
{
    Arena *a = arena_new();
    Source src = {"t.dx", text, strlen(text)};
    memset(d, 0, sizeof *d);
    d->src = &src;
    d->quiet = 1;
    AstFile file;
    Program prog;
    msg[0] = 0;
    if (parse_file(a, d, &src, &file) == 0) {
        Sema *s = sema_check(a, d, &file);
        if (s)
            ir_lower(a, d, &src, &file, s, &prog);
    }
    snprintf(msg, cap, "%s", d->last);
    *first = d->last_loc;
    arena_free(a);
    return d->nerrors;
}

static const struct {
    const char *src;
    int line, col;
    const char *msg;
} bad[] = {
    {"fn f(x) = y", 1, 11, "'y' is not defined"},
    {"fn f(x) = x\nfn f(y) = y", 2, 4, "already defined"},
    {"fn f(x, x) = x", 1, 9, "duplicate parameter"},
    {"const N = 3\nfn f(N) = N", 2, 6, "constant"},
    {"fn g(x) = x\nfn f(g) = g", 2, 6, "function"},
    {"fn exp(x) = x", 1, 4, "built-in"},
    {"fn f(x) {\n exp = x\n return exp\n}", 2, 2, "built-in"},
    {"fn f(x) = f(x)", 1, 11, "recursion"},
    {"fn f(x) = g(x)\nfn g(x) = f(x)", 2, 11, "recursion"},
    {"fn g(a, b) = a\nfn f(x) = g(x)", 2, 11, "takes 2 arguments, but 1 was given"},
    {"fn f(x) = sin(x, x)", 1, 11, "takes 1 argument"},
    {"fn f(x) = nosuch(x)", 1, 11, "no function named 'nosuch'"},
    {"const N = 3\nfn f(x) {\n N = x\n return x\n}", 3, 2, "constant"},
    {"fn f(x) {\n if x > 0 {\n y = 1\n }\n return y\n}", 5, 9, "not defined on every path"},
    {"fn f(x) {\n y = x\n}", 1, 4, "does not end with a return"},
    {"fn f(x) {\n if x > 0 {\n return x\n }\n return 1\n}", 3, 2, "return"},
    {"fn int(x) = x", 1, 4, "C keyword"},
    {"fn bool(x) = x", 1, 4, "C keyword"},
    {"fn y0(x) = x", 1, 4, "math.h"},
    {"fn gamma(x) = x", 1, 4, "math.h"},
    {"fn M_PI(x) = x", 1, 4, "math.h"},
    {"fn expf(x) = x", 1, 4, "math.h"},
    {"fn main(x) = x", 1, 4, "entry point of a C program"},
    {"fn printf(x) = x", 1, 4, "function of the C standard library (C reserves it for external"},
    {"fn f(x) = x\nfn f_grad(x) = x", 2, 4, "generated 'f_grad' of function 'f'"},
    {"fn f_hvp(x) = x\nfn f(x) = x", 1, 4, "generated"},
    {"const a = b\nconst b = a\nfn f(x) = x", 2, 11, "defined in terms of itself"},
    {"const N = 3000000000\nfn f(x) = x", 1, 11, "32-bit"},
    {"const N = 65536 * 65536\nfn f(x) = x", 1, 17, "32-bit"},
    {"const c = 1 / 0\nfn f(x) = x", 1, 13, "finite"},
    {"fn f(x) = x + f", 1, 15, "function, not a value"},
    {"fn f(x) = sin", 1, 11, "built-in function, not a value"},
    {"fn f(x[0]) = x", 1, 8, "must be positive"},
    {"fn f(x) {\n for i in 0..3 {\n i = x + 1\n }\n return x\n}", 3, 2, "index variable and cannot be assigned"},
    {"fn f(x) {\n for i in 0..3 {\n for j in 0..i {\n x = x * 2\n }\n }\n return x\n}", 3, 14,
     "range of a for loop must be an integer constant"},
};

/* What a function may not be named in C, each with its reason (exact
 * messages); the names of the standard library's other headers that are
 * not reserved for external linkage (types, macros, variants) are fine. */
static const struct {
    const char *name, *msg;
} c_clash[] = {
    {"int", "function name 'int' is a C keyword"},
    {"typeof_unqual", "function name 'typeof_unqual' is a C keyword"},
    {"__x", "function name '__x' is reserved in C (names that start with '__', or with '_' and a "
            "capital letter, belong to the C implementation)"},
    {"_Foo", "function name '_Foo' is reserved in C (names that start with '__', or with '_' and "
             "a capital letter, belong to the C implementation)"},
    {"y0", "function name 'y0' clashes with an identifier of <math.h>, which the generated C "
           "includes"},
    {"gamma", "function name 'gamma' clashes with an identifier of <math.h>, which the generated "
              "C includes"},
    {"M_PI", "function name 'M_PI' clashes with an identifier of <math.h>, which the generated C "
             "includes"},
    {"sinf", "function name 'sinf' clashes with an identifier of <math.h>, which the generated C "
             "includes"},
    {"fabsl", "function name 'fabsl' clashes with an identifier of <math.h>, which the generated C "
              "includes"},
    {"rsqrt", "function name 'rsqrt' clashes with an identifier of <math.h>, which the generated C "
              "includes"},
    {"lgammaf16", "function name 'lgammaf16' clashes with an identifier of <math.h>, which the "
                  "generated C includes (the 'f16' variant of 'lgamma')"},
    {"main", "function name 'main' is the entry point of a C program, which the generated C must "
             "not define"},
    {"printf", "function name 'printf' is a function of the C standard library (C reserves it "
               "for external linkage)"},
    {"exit", "function name 'exit' is a function of the C standard library (C reserves it for "
             "external linkage)"},
    {"malloc", "function name 'malloc' is a function of the C standard library (C reserves it for "
               "external linkage)"},
    {"labs", "function name 'labs' is a function of the C standard library (C reserves it for "
             "external linkage)"},
    {"strdup", "function name 'strdup' is a function of the C standard library (C reserves it for "
               "external linkage)"},
    {"stdin", "function name 'stdin' is an object of the C standard library (C reserves it for "
              "external linkage)"},
    {"vfork", "function name 'vfork' is a built-in function of clang, which rejects a function of "
              "that name"},
    {"va_start", "function name 'va_start' is a built-in function of clang, which rejects a "
                 "function of that name"},
};

START_TEST(test_c_clash)
{
    char src[128], msg[512];
    snprintf(src, sizeof src, "fn %s(x) = x", c_clash[_i].name);
    Diag d;
    Loc at = {0, 0};
    ck_assert_int_eq(check_text(src, &d, &at, msg, sizeof msg), 1);
    ck_assert_str_eq(msg, c_clash[_i].msg);
    ck_assert(at.line == 1 && at.col == 4);
}
END_TEST

/* Function names the C rules let through (the old rule refused the first
 * ones as a C library name plus a suffix, or as any identifier of a
 * standard header). */
static const char *const c_fine[] = {
    "absf", "printff", "exitl", "FILE", "size_t", "EOF", "NULL", "errno", "assert",
    "index", "bzero", "rindex", "va_arg", "sigmoidf", "f32", "_setjmp",
};

START_TEST(test_c_fine)
{
    char src[128], msg[512];
    snprintf(src, sizeof src, "fn %s(x) = x * x", c_fine[_i]);
    Diag d;
    Loc at;
    ck_assert_msg(check_text(src, &d, &at, msg, sizeof msg) == 0, "%s: %s", src, msg);
}
END_TEST

/* Compiles dx text into NAME.c (--real=real) and that, or a file
 * including it (incl: the text of such a file), with gcc and clang under
 * the contract's flags. */
static void compile_clean(const char *name, const char *dx, const char *real, const char *incl)
{
    char cmd[2048], file[64];
    char *err = NULL;
    snprintf(file, sizeof file, "%s.dx", name);
    ck_assert_int_eq(tu_write(tu_path(file), dx, (size_t)-1), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s.dx -o %s.c --real=%s", tu_tmpdir(), tu_dxc(),
             name, name, real);
    ck_assert_msg(tu_run(cmd, NULL, &err) == 0, "%s\n%s", cmd, err ? err : "");
    free(err);
    if (incl) {
        snprintf(file, sizeof file, "%s_incl.c", name);
        ck_assert_int_eq(tu_write(tu_path(file), incl, (size_t)-1), 0);
    }
    static const char *const cc[] = {"gcc", "clang"};
    for (int c = 0; c < 2; c++) {
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -c %s%s.c -o %s.o",
                 tu_tmpdir(), cc[c], name, incl ? "_incl" : "", name);
        err = NULL;
        ck_assert_msg(tu_run(cmd, NULL, &err) == 0, "%s (%s):\n%s", cmd, real, err ? err : "");
        free(err);
    }
}

/* Accepted function names compile, with their derivatives, warning-free
 * under gcc and clang (the float API too). */
START_TEST(test_c_fine_compiles)
{
    static const char dx[] = "fn absf(x) = x * x\n"
                             "fn FILE(x) = absf(x) + 1\n"
                             "fn size_t(x) = x ^ 3\n"
                             "fn index(x) = sin(x)\n"
                             "fn EOF(x) = x\n"
                             "fn printff(x) = FILE(x) * 2\n"
                             "fn bzero(x) = x\n"
                             "fn labsf(x) = x\n";
    compile_clean("names", dx, "double", NULL);
    compile_clean("names", dx, "float", NULL);
}
END_TEST

/* Locals still step aside from every name of the standard headers, so
 * the generated file can be included after <stdio.h> and the like. */
START_TEST(test_c_locals_compile)
{
    static const char dx[] =
        "fn locals(EOF, NULL, errno, stdin, printf, FILE, exit, assert) {\n"
        "    EXIT_FAILURE = EOF * NULL + errno * stdin\n"
        "    size_t = EXIT_FAILURE * printf\n"
        "    return size_t + FILE * exit * assert\n"
        "}\n";
    static const char incl[] = "#include <stdio.h>\n#include <stdlib.h>\n#include <assert.h>\n"
                               "#include <errno.h>\n#include \"locals.c\"\n";
    compile_clean("locals", dx, "double", incl);
}
END_TEST

/* Names close to a known one: "did you mean" after the message (exact). */
static const struct {
    const char *src;
    int line, col;
    const char *msg;
} near[] = {
    {"fn f(x) = sigmod(x)", 1, 11, "no function named 'sigmod'; did you mean 'sigmoid'?"},
    {"fn f(x) = sigomid(x)", 1, 11, "no function named 'sigomid'; did you mean 'sigmoid'?"},
    {"fn f(x) = Exp(x)", 1, 11, "no function named 'Exp'; did you mean 'exp'?"},
    {"fn f(x) = mix(x, 1)", 1, 11, "no function named 'mix'; did you mean 'max'?"},
    {"fn f(x) = softmaxx(x)", 1, 11, "no function named 'softmaxx'; did you mean 'softmax'?"},
    {"fn helper(x) = x\nfn f(x) = helpr(x)", 2, 11,
     "no function named 'helpr'; did you mean 'helper'?"},
    {"fn f(x) = nosuch(x)", 1, 11, "no function named 'nosuch'"},
    {"fn f(x[3]) = i(2) + sum(x[i] for i in 0..3)", 1, 14, "no function named 'i'"},
    {"fn f(x) = xyzzy(x)", 1, 11, "no function named 'xyzzy'"},
    {"fn f(alpha) = alpah + 1", 1, 15, "'alpah' is not defined; did you mean 'alpha'?"},
    {"fn f(x) {\n  total = x\n  return totl\n}", 3, 10,
     "'totl' is not defined; did you mean 'total'?"},
    {"const rate = 2\nfn f(x) = x * rat", 2, 15, "'rat' is not defined; did you mean 'rate'?"},
    {"fn f(x) = p1 * x", 1, 11, "'p1' is not defined; did you mean 'pi'?"},
    {"fn f(x[3]) = sum(x[i] * ii for i in 0..3)", 1, 25, "'ii' is not defined; did you mean 'i'?"},
    {"fn f(x[3]) = sum(x[idx] for idx in 0..3) + sum(x[ix] for idx in 0..3)", 1, 50,
     "'ix' is not defined; did you mean 'idx'?"},
    {"const N = 3\nconst M = NN + 1\nfn f(x) = x", 2, 11, "'NN' is not defined; did you mean 'N'?"},
    {"fn f(x) = y", 1, 11, "'y' is not defined"},
    {"fn f(ab) = abcd", 1, 12, "'abcd' is not defined"},
    {"fn f(x) = sigmoid", 1, 11, "'sigmoid' is a built-in function, not a value"},
    /* a function's name is no value, and no variable a function */
    {"fn expo(x) = x\nfn f(x) = expo + 1", 2, 11, "'expo' is a function, not a value"},
    {"fn f(x) = x(2)", 1, 11, "'x' is a variable, not a function"},
};

START_TEST(test_near)
{
    Diag d;
    Loc at = {0, 0};
    char msg[512];
    ck_assert_int_ge(check_text(near[_i].src, &d, &at, msg, sizeof msg), 1);
    ck_assert_str_eq(msg, near[_i].msg);
    ck_assert_msg(at.line == near[_i].line && at.col == near[_i].col, "%s\n  at %d:%d, want %d:%d",
                  near[_i].src, at.line, at.col, near[_i].line, near[_i].col);
}
END_TEST

/* The distance itself: swaps count 1, the limit cuts off early. */
START_TEST(test_edit_distance)
{
    ck_assert_int_eq(near_distance("sigmoid", "sigmod", 2), 1);
    ck_assert_int_eq(near_distance("sigmoid", "sigomid", 2), 1);
    ck_assert_int_eq(near_distance("abc", "abc", 2), 0);
    ck_assert_int_eq(near_distance("kitten", "sitting", 5), 3);
    ck_assert_int_eq(near_distance("kitten", "sitting", 2), 3);
    ck_assert_int_eq(near_distance("a", "abcdef", 2), 3);
    ck_assert_int_eq(near_distance("", "ab", 2), 2);
    /* ties go to the first name in strcmp order, whatever the order offered */
    Near n;
    near_init(&n, "mix");
    near_offer(&n, "min");
    near_offer(&n, "max");
    ck_assert_str_eq(n.best, "max");
    near_init(&n, "mix");
    near_offer(&n, "max");
    near_offer(&n, "min");
    ck_assert_str_eq(n.best, "max");
}
END_TEST

START_TEST(test_bad)
{
    Diag d;
    Loc at = {0, 0};
    char msg[512];
    int n = check_text(bad[_i].src, &d, &at, msg, sizeof msg);
    ck_assert_msg(n >= 1, "no error for: %s", bad[_i].src);
    ck_assert_msg(strstr(msg, bad[_i].msg), "%s\n  gives '%s', want '%s'", bad[_i].src, msg,
                  bad[_i].msg);
    ck_assert_msg(at.line == bad[_i].line && at.col == bad[_i].col, "%s\n  at %d:%d, want %d:%d",
                  bad[_i].src, at.line, at.col, bad[_i].line, bad[_i].col);
}
END_TEST

static const char *const good[] = {
    "const N = 3\nconst H = 2 * N\nconst lr = 0.01\nfn f(x) = x * N * H * lr",
    "fn f(int, double, x_bar, out, y0) = int * double + x_bar * out + y0",
    "fn f(x) {\n if x > 0 {\n y = 1\n } else {\n y = 2\n }\n return y * x\n}",
    "fn f(x) {\n if x > 0 {\n t = 1\n }\n return x\n}", /* t unused after: fine */
    "fn g(a, data b) = a * b\nfn f(x, y) = g(y, x)",
    "fn f(a) { b = a * a; return b + 1 }",
    "fn f(x) = if x > 0 then x else -x",
    "fn f(x) = x ^ -2 + 2 ^ 3 ^ 2 + -x ^ 2",
    "const b = a + 1\nconst a = 2\nfn f(x) = x * b",
};

START_TEST(test_good)
{
    Diag d;
    Loc at;
    char msg[512];
    int n = check_text(good[_i], &d, &at, msg, sizeof msg);
    ck_assert_msg(n == 0, "%s\n  gives %d:%d: %s", good[_i], at.line, at.col, msg);
}
END_TEST

/* Several errors in one function are all reported, up to the cap. */
START_TEST(test_several_errors)
{
    Diag d;
    Loc at;
    char msg[512];
    ck_assert_int_eq(check_text("fn f(x) {\n a = p\n b = q\n return r\n}", &d, &at, msg, sizeof msg),
                     3);
    char big[8192] = "fn f(x) {\n";
    for (int i = 0; i < 40; i++)
        strcat(big, " a = nope\n");
    strcat(big, " return x\n}");
    ck_assert_int_eq(check_text(big, &d, &at, msg, sizeof msg), DIAG_MAX_ERRORS);
}
END_TEST

static void cc_setup(void)
{
    tu_tmpdir();
}

static void cc_teardown(void)
{
    tu_cleanup();
}

Suite *suite_check(void);
Suite *suite_check(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_loop_test(tc, test_good, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_test(tc, test_several_errors);
    tcase_add_loop_test(tc, test_c_clash, 0, (int)(sizeof c_clash / sizeof c_clash[0]));
    tcase_add_loop_test(tc, test_c_fine, 0, (int)(sizeof c_fine / sizeof c_fine[0]));
    tcase_add_loop_test(tc, test_near, 0, (int)(sizeof near / sizeof near[0]));
    tcase_add_test(tc, test_edit_distance);
    suite_add_tcase(s, tc);

    TCase *cc = tcase_create("compiled");
    tcase_add_checked_fixture(cc, cc_setup, cc_teardown);
    tcase_set_timeout(cc, 120);
    tcase_add_test(cc, test_c_fine_compiles);
    tcase_add_test(cc, test_c_locals_compile);
    suite_add_tcase(s, cc);
    return s;
}
