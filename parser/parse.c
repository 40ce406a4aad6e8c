/*
 * parse.c - the front end's entry points: parse_file() runs the flex
 * scanner (lexer/lexer.l) and the bison parser (parser/parser.y) over a
 * source held in memory; lex_dump() shows the token stream for tests.
 * Nothing named yy* leaks out of this file and the two generated ones.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ast.h"
#include "parser.h"
#include "lexer.h"

/* Set up a scanner over src; returns NULL (after an error) when src is
 * too large for flex, whose buffer sizes are ints. */
static yyscan_t open_scanner(LexState *st, Arena *a, Diag *d, const Source *src)
{
    memset(st, 0, sizeof *st);
    st->arena = a;
    st->diag = d;
    st->src = src;
    st->line = 1;
    st->col = 1;
    if (src->len > (size_t)INT_MAX / 2) {
        Loc start = {1, 1};
        diag_error(d, start, "file is too large (limit %d bytes)", INT_MAX / 2);
        return NULL;
    }
    yyscan_t sc;
    if (yylex_init_extra(st, &sc) != 0)
        BUG("out of memory");
    yy_scan_bytes(src->text ? src->text : "", (int)src->len, sc);
    return sc;
}

int parse_file(Arena *a, Diag *d, const Source *src, AstFile *out)
{
    memset(out, 0, sizeof *out);
    int before = d->nerrors;
    LexState st;
    yyscan_t sc = open_scanner(&st, a, d, src);
    if (!sc)
        return 1;
    int rc = yyparse(sc, a, d, out);
    yylex_destroy(sc);
    return rc != 0 || d->nerrors != before;
}

/* ---- lex_dump ---- */

typedef struct {
    char *p;
    size_t cap, len;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(Buf *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

/* How lex_dump shows a token without a value. */
static const char *token_text(int tok)
{
    static const struct {
        int tok;
        const char *text;
    } names[] = {
        {NEWLINE, "NL"},   {FN, "FN"},     {CONST, "CONST"},   {DATA, "DATA"},
        {REAL, "REAL"},    {RETURN, "RETURN"}, {FOR, "FOR"},   {IN, "IN"},
        {IF, "IF"},        {THEN, "THEN"}, {ELSE, "ELSE"},     {AND, "AND"},
        {OR, "OR"},        {NOT, "NOT"},   {EQ, "=="},         {NE, "!="},
        {LE, "<="},        {GE, ">="},     {DOTDOT, ".."},     {ARROW, "->"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].tok == tok)
            return names[i].text;
    return NULL;
}

int lex_dump(Arena *a, Diag *d, const Source *src, int flags, char *buf, size_t cap)
{
    Buf b = {buf, cap, 0};
    if (cap > 0)
        buf[0] = 0;
    LexState st;
    yyscan_t sc = open_scanner(&st, a, d, src);
    if (!sc) {
        put(&b, "ERROR");
        return 1;
    }
    int rc = 0;
    for (;;) {
        YYSTYPE val;
        Loc loc;
        int tok = yylex(&val, &loc, sc);
        if (b.len > 0)
            put(&b, " ");
        if (tok == YYerror) {
            put(&b, "ERROR");
            rc = 1;
            break;
        }
        if (tok == YYEOF)
            put(&b, "EOF");
        else if (tok == IDENT)
            put(&b, "IDENT(%s)", val.IDENT);
        else if (tok == NUM)
            put(&b, "%s(%g)", val.NUM.is_int ? "NUM" : "REAL", val.NUM.v);
        else if (token_text(tok))
            put(&b, "%s", token_text(tok));
        else
            put(&b, "%c", tok);
        if (flags & LEX_LOCS)
            put(&b, "@%d:%d", loc.line, loc.col);
        if (tok == YYEOF)
            break;
    }
    yylex_destroy(sc);
    return rc;
}
