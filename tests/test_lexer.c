/*
 * test_lexer.c - the tokens of spec section 2, through lex_dump(): every
 * token kind, numbers, newlines inside and outside brackets, comments,
 * locations, and every lexical error with its place.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

static Arena *arena;

static void setup(void)
{
    arena = arena_new();
}

static void teardown(void)
{
    arena_free(arena);
}

/* Tokens of n bytes of text (strlen when n is 0), into buf; d gets the
 * errors.  Returns lex_dump's result. */
static int dump(const char *text, size_t n, int flags, Diag *d, char *buf, size_t cap)
{
    static Source src;
    src.path = "test.dx";
    src.text = text;
    src.len = n ? n : strlen(text);
    memset(d, 0, sizeof *d);
    d->src = &src;
    d->quiet = 1;
    return lex_dump(arena, d, &src, flags, buf, cap);
}

/* ---- token streams ---- */

static const struct {
    const char *src;
    const char *tokens;
} streams[] = {
    {"", "EOF"},
    {"fn const data real return for in if then else and or not",
     "FN CONST DATA REAL RETURN FOR IN IF THEN ELSE AND OR NOT EOF"},
    {"+ - * / ^ @ = == != < <= > >= .. ->", "+ - * / ^ @ = == != < <= > >= .. -> EOF"},
    {"( ) [ ] { } , ;", "( ) [ ] { } , ; EOF"},
    {"+-*/^@===!=<<=>>=..->", "+ - * / ^ @ == = != < <= > >= .. -> EOF"},
    {"a->b--c", "IDENT(a) -> IDENT(b) - - IDENT(c) EOF"},
    {"x _y A_b9 fnx iff notx If", "IDENT(x) IDENT(_y) IDENT(A_b9) IDENT(fnx) IDENT(iff) "
                                  "IDENT(notx) IDENT(If) EOF"},
    {"3 2.5 .5 1e-3 6.02E23 1E+2 007", "NUM(3) REAL(2.5) REAL(0.5) REAL(0.001) "
                                       "REAL(6.02e+23) REAL(100) NUM(7) EOF"},
    {"0..N", "NUM(0) .. IDENT(N) EOF"},
    {"1..2", "NUM(1) .. NUM(2) EOF"},
    {"0..N-1", "NUM(0) .. IDENT(N) - NUM(1) EOF"},
    {"3x 2e", "NUM(3) IDENT(x) NUM(2) IDENT(e) EOF"},
    {"1e-400", "REAL(0) EOF"},
    {"x.5", "IDENT(x) REAL(0.5) EOF"},
    {"a # comment = ( [\nb", "IDENT(a) NL IDENT(b) EOF"},
    {"#only a comment", "EOF"},
    {"# bytes \xff\xc3\x28 $ ` are fine here\nx", "NL IDENT(x) EOF"},
    {"a\n\n b\n", "IDENT(a) NL NL IDENT(b) NL EOF"},
    {"a\r\nb\r\n", "IDENT(a) NL IDENT(b) NL EOF"},
    {"f(a,\n  b\n)\n", "IDENT(f) ( IDENT(a) , IDENT(b) ) NL EOF"},
    {"[1,\n 2]\n", "[ NUM(1) , NUM(2) ] NL EOF"},
    {"((a)\n[b\n])\nc", "( ( IDENT(a) ) [ IDENT(b) ] ) NL IDENT(c) EOF"},
    {"{\n}", "{ NL } EOF"},
    /* a line ending with a binary operator, a comma, = or ( [ continues */
    {"x = a +\n b", "IDENT(x) = IDENT(a) + IDENT(b) EOF"},
    {"a -\nb *\nc /\nd ^\ne @\nf\n", "IDENT(a) - IDENT(b) * IDENT(c) / IDENT(d) ^ IDENT(e) @ "
                                       "IDENT(f) NL EOF"},
    {"a ==\nb !=\nc <\nd <=\ne >\nf >=\ng\n", "IDENT(a) == IDENT(b) != IDENT(c) < IDENT(d) <= "
                                            "IDENT(e) > IDENT(f) >= IDENT(g) NL EOF"},
    {"a and\nb or\nc\n", "IDENT(a) AND IDENT(b) OR IDENT(c) NL EOF"},
    {"x =\n 1 ..\n 2 ,\n3\n", "IDENT(x) = NUM(1) .. NUM(2) , NUM(3) NL EOF"},
    {"a + # note\n\n  # more\n\n b\nc", "IDENT(a) + IDENT(b) NL IDENT(c) EOF"},
    {"a +\r\n b", "IDENT(a) + IDENT(b) EOF"},
    {"not\nx", "NOT NL IDENT(x) EOF"},
    {"{\nx }\n", "{ NL IDENT(x) } NL EOF"},
    {"a ->\nb", "IDENT(a) -> NL IDENT(b) EOF"},
    {"a ;\nb", "IDENT(a) ; NL IDENT(b) EOF"},
    {"a +\n", "IDENT(a) + EOF"},
    {")\nx", ") NL IDENT(x) EOF"},
    {"\t a\t;b", "IDENT(a) ; IDENT(b) EOF"},
};

START_TEST(test_streams)
{
    Diag d;
    char buf[512];
    int rc = dump(streams[_i].src, 0, 0, &d, buf, sizeof buf);
    ck_assert_msg(rc == 0 && d.nerrors == 0, "%s: error %s", streams[_i].src, d.last);
    ck_assert_str_eq(buf, streams[_i].tokens);
}
END_TEST

/* ---- locations: line and byte column from 1; a newline is on the line
 * it ends, just after its last character; EOF just after the last byte ---- */

static const struct {
    const char *src;
    const char *tokens;
} located[] = {
    {"", "EOF@1:1"},
    {"a = 1\n  b", "IDENT(a)@1:1 =@1:3 NUM(1)@1:5 NL@1:6 IDENT(b)@2:3 EOF@2:4"},
    {"x\n", "IDENT(x)@1:1 NL@1:2 EOF@2:1"},
    {"\tq # c", "IDENT(q)@1:2 EOF@1:7"},
    {"f(\n\n  y)", "IDENT(f)@1:1 (@1:2 IDENT(y)@3:3 )@3:4 EOF@3:5"},
    {"ab..cd", "IDENT(ab)@1:1 ..@1:3 IDENT(cd)@1:5 EOF@1:7"},
    {"y = a +\n  b\nc", "IDENT(y)@1:1 =@1:3 IDENT(a)@1:5 +@1:7 IDENT(b)@2:3 NL@2:4 IDENT(c)@3:1 EOF@3:2"},
    {"a * # c\n\nb", "IDENT(a)@1:1 *@1:3 IDENT(b)@3:1 EOF@3:2"},
};

START_TEST(test_locations)
{
    Diag d;
    char buf[512];
    int rc = dump(located[_i].src, 0, LEX_LOCS, &d, buf, sizeof buf);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(buf, located[_i].tokens);
}
END_TEST

/* ---- errors: the first bad byte stops the scan ---- */

static const struct {
    const char *src;
    size_t len; /* 0: strlen */
    const char *msg;
    int line, col;
} errors[] = {
    {"$", 0, "unexpected character '$'", 1, 1},
    {"a\n  $ b $", 0, "unexpected character '$'", 2, 3},
    {"a ! b", 0, "'!' is not an operator in dx; write 'not'", 1, 3},
    /* operators of other languages say what dx writes */
    {"x = a ** 2", 0, "'**' is not an operator in dx; write x ^ y for a power", 1, 7},
    {"x = a***2", 0, "'**' is not an operator in dx; write x ^ y for a power", 1, 6},
    {"x = a && b", 0, "'&&' is not an operator in dx; write 'and'", 1, 7},
    {"x = a || b", 0, "'||' is not an operator in dx; write 'or'", 1, 7},
    {"if x > 0:\n", 0, "unexpected character ':'; dx puts a block in braces: if x > 0 { ... }", 1, 9},
    {"if x > 0:  # c\n", 0, "unexpected character ':'; dx puts a block in braces: if x > 0 { ... }",
     1, 9},
    {"x[0:3]", 0, "unexpected character ':'", 1, 4},
    {"a & b", 0, "unexpected character '&'", 1, 3},
    {"x = `", 0, "unexpected character '`'", 1, 5},
    {"x = \"s\"", 0, "unexpected character '\"'", 1, 5},
    {"x = 'c'", 0, "unexpected character '''", 1, 5},
    {"1.", 0, "unexpected character '.'", 1, 2},
    {"a.b", 0, "unexpected character '.'", 1, 2},
    {"a\0b", 3, "unexpected byte 0x00", 1, 2},
    {"x = \xc3\xa9", 0, "unexpected byte 0xC3", 1, 5},
    {"\xff", 0, "unexpected byte 0xFF", 1, 1},
    {"\x01", 0, "unexpected byte 0x01", 1, 1},
    {"a\x0b", 0, "unexpected byte 0x0B", 1, 2},
    {"1e400", 0, "number '1e400' is too large for a double", 1, 1},
    {"x = 2 *\n 1.5E+999", 0, "number '1.5E+999' is too large for a double", 2, 2},
};

START_TEST(test_errors)
{
    Diag d;
    char buf[512];
    int rc = dump(errors[_i].src, errors[_i].len, LEX_LOCS, &d, buf, sizeof buf);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(d.nerrors, 1);
    ck_assert_str_eq(d.last, errors[_i].msg);
    ck_assert_int_eq(d.last_loc.line, errors[_i].line);
    ck_assert_int_eq(d.last_loc.col, errors[_i].col);
    size_t n = strlen(buf);
    ck_assert(n >= 5 && strcmp(buf + n - 5, "ERROR") == 0);
}
END_TEST

/* ---- nesting of ( and [: 256 deep is fine, 257 is not ---- */

static char *repeat(const char *unit, int times, const char *tail)
{
    size_t u = strlen(unit), t = strlen(tail);
    char *s = malloc(u * (size_t)times + t + 1);
    for (int i = 0; i < times; i++)
        memcpy(s + u * (size_t)i, unit, u);
    memcpy(s + u * (size_t)times, tail, t + 1);
    return s;
}

START_TEST(test_nesting_limit)
{
    Diag d;
    char buf[64];
    char *ok = repeat("(", 256, "");
    ck_assert_int_eq(dump(ok, 0, 0, &d, buf, sizeof buf), 0);
    free(ok);
    char *mixed = repeat("([", 200, "");
    ck_assert_int_eq(dump(mixed, 0, 0, &d, buf, sizeof buf), 1);
    ck_assert_str_eq(d.last, "too many nested brackets (limit 256)");
    ck_assert_int_eq(d.last_loc.col, 257);
    free(mixed);
    char *closed = repeat("(a)", 1000, "");
    ck_assert_int_eq(dump(closed, 0, 0, &d, buf, sizeof buf), 0);
    free(closed);
}
END_TEST

START_TEST(test_long_identifier)
{
    enum { N = 1 << 20 };
    char *s = repeat("a", N, " 1");
    Diag d;
    char buf[64];
    ck_assert_int_eq(dump(s, 0, LEX_LOCS, &d, buf, sizeof buf), 0);
    ck_assert_int_eq(d.nerrors, 0);
    ck_assert(strncmp(buf, "IDENT(aaaa", 10) == 0); /* cut to fit buf */
    free(s);
}
END_TEST

START_TEST(test_small_buffer)
{
    Diag d;
    char buf[8];
    ck_assert_int_eq(dump("alpha beta gamma", 0, 0, &d, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "IDENT(a");
}
END_TEST

Suite *suite_lexer(void);

Suite *suite_lexer(void)
{
    Suite *s = suite_create("lexer");
    TCase *tc = tcase_create("tokens");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_streams, 0, (int)(sizeof streams / sizeof streams[0]));
    tcase_add_loop_test(tc, test_locations, 0, (int)(sizeof located / sizeof located[0]));
    tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof errors / sizeof errors[0]));
    tcase_add_test(tc, test_nesting_limit);
    tcase_add_test(tc, test_long_identifier);
    tcase_add_test(tc, test_small_buffer);
    suite_add_tcase(s, tc);
    return s;
}
