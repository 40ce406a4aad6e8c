/*
 * test_check.c - the semantic checks (ir/check.c and the body checks of
 * ir/lower.c): each bad program gives its first error at the right line
 * and column with the right message, and good programs give none.
 */
#include <check.h>
#include <string.h>

#include "../ir/ir.h"

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
    {"fn main(x) = x", 1, 4, "math.h"},
    {"fn printf(x) = x", 1, 4, "C library"},
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

Suite *suite_check(void);
Suite *suite_check(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_loop_test(tc, test_good, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_test(tc, test_several_errors);
    suite_add_tcase(s, tc);
    return s;
}
