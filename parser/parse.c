/*
 * parse.c - the front end's entry points: parse_file() runs the flex
 * scanner (lexer/lexer.l) and the bison parser (parser/parser.y) over a
 * source held in memory; lex_dump() shows the token stream for tests.
 * Nothing named yy* leaks out of this file and the two generated ones.
 *
 * It also holds what the messages of syntax errors read off the source
 * text: the "dx writes ranges as a..b" error for `for i in range(n)`, and
 * the note at a bracket that is never closed.
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
    st->cur = st->prev = st->solid = -1;
    if (src->len > (size_t)INT_MAX / 2) {
        Loc start = {1, 1};
        diag_error(d, start, "file is too large (limit %d bytes)", INT_MAX / 2);
        return NULL;
    }
    yyscan_t sc;
    if (yylex_init_extra(st, &sc) != 0)
        BUG("out of memory");
    /* the scanner reads a copy of the text ending in two NULs (it writes
     * into what it reads); a large one in huge pages (dx_buf_resize), not
     * from malloc, which faulted it in 4 KB at a time */
    if (!(st->scan = dx_buf_resize(NULL, 0, &st->scan_cap, src->len + 2, &st->scan_kind, 1 << 20)))
        BUG("out of memory");
    if (src->len)
        memcpy(st->scan, src->text, src->len);
    st->scan[src->len] = st->scan[src->len + 1] = 0;
    if (!yy_scan_buffer(st->scan, src->len + 2, sc))
        BUG("flex refused the scanner's buffer");
    return sc;
}

static void close_scanner(LexState *st, yyscan_t sc)
{
    yylex_destroy(sc);
    dx_buf_free(st->scan, st->scan_cap, st->scan_kind);
    st->scan = NULL;
}

/* ---- hints for syntax errors ---- */

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The offset just past the ')' that closes the '(' at text[i] (brackets
 * of all kinds nest inside; comments are skipped), or 0 if there is none. */
static size_t close_paren(const Source *src, size_t i)
{
    int depth = 0;
    for (; i < src->len; i++) {
        char c = src->text[i];
        if (c == '#') {
            while (i + 1 < src->len && src->text[i + 1] != '\n')
                i++;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if (c == ')' || c == ']' || c == '}') {
            if (--depth == 0)
                return c == ')' ? i + 1 : 0;
        }
    }
    return 0;
}

/* An argument of range() short and plain enough to echo: names, numbers,
 * + - * and blanks.  Returns it without its outer blanks, or NULL. */
static const char *plain_arg(Arena *a, const char *p, size_t n)
{
    while (n > 0 && blank(*p))
        p++, n--;
    while (n > 0 && blank(p[n - 1]))
        n--;
    if (n == 0 || n > 32)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(p[i] == '_' || p[i] == '+' || p[i] == '-' || p[i] == '*' || p[i] == ' ' ||
              (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z') ||
              (p[i] >= 'A' && p[i] <= 'Z')))
            return NULL;
    return arena_strndup(a, p, n);
}

/* How range(ARGS) reads in dx ("0..N", "a..b"), or NULL when its
 * arguments are not one or two plain ones. */
static const char *as_range(Arena *a, const char *args, size_t n)
{
    const char *comma = memchr(args, ',', n);
    if (!comma) {
        const char *hi = plain_arg(a, args, n);
        return hi ? arena_printf(a, "0..%s", hi) : NULL;
    }
    size_t k = (size_t)(comma - args);
    if (memchr(comma + 1, ',', n - k - 1))
        return NULL;
    const char *lo = plain_arg(a, args, k), *hi = plain_arg(a, comma + 1, n - k - 1);
    return lo && hi ? arena_printf(a, "%s..%s", lo, hi) : NULL;
}

int parse_range_error(LexState *st, size_t end)
{
    const Source *src = st->src;
    size_t i = st->range_off + 5;
    while (i < src->len && blank(src->text[i]))
        i++;
    if (i >= src->len || src->text[i] != '(')
        return 0;
    size_t open = i, close = close_paren(src, open);
    if (!close)
        return 0;
    for (i = close; i < src->len && blank(src->text[i]); i++)
        ;
    if (i < src->len && src->text[i] == '#')
        while (i < src->len && src->text[i] != '\n')
            i++;
    if (i != end)
        return 0;
    const char *r = as_range(st->arena, src->text + open + 1, close - open - 2);
    if (r)
        diag_error(st->diag, st->range_loc, "dx writes ranges as a..b: use %s", r);
    else
        diag_error(st->diag, st->range_loc,
                   "dx writes ranges as a..b (a, a + 1, ..., b - 1), not with range()");
    return 1;
}

/* An open bracket while the source is scanned for unclosed ones. */
typedef struct {
    size_t off;
    Loc loc;
    char c;
} Open;

static int bracket_kind(char c)
{
    return c == '(' || c == ')' ? 0 : c == '[' || c == ']' ? 1 : 2;
}

/* A bracket found unclosed: kept in *best if it is the last one opened
 * before offset end (best->c is 0 while there is none). */
static void unclosed(const Open *o, size_t end, Open *best)
{
    if (o->off < end && (!best->c || o->off > best->off))
        *best = *o;
}

/* After a syntax error at offset end: when a bracket opened before end is
 * never closed in the whole file, a note at the last such one.  Brackets
 * pair as they nest; a closer that does not match the innermost open
 * bracket closes the nearest one it matches, leaving those inside it
 * unclosed, or, matching none, is ignored.  Comments are skipped; every
 * other '(' '[' '{' is a token, as dx has no strings. */
static void note_unclosed(Arena *a, Diag *d, const Source *src, size_t end)
{
    VEC(Open) stack = {0};
    int count[3] = {0, 0, 0};
    Open best = {0, {0, 0}, 0};
    Loc at = {1, 1};
    for (size_t i = 0; i < src->len; i++, at.col++) {
        char c = src->text[i];
        if (c == '#') {
            while (i + 1 < src->len && src->text[i + 1] != '\n')
                i++;
        } else if (c == '\n') {
            at.line++;
            at.col = 0;
        } else if (c == '(' || c == '[' || c == '{') {
            Open o = {i, at, c};
            vec_push(a, &stack, o);
            count[bracket_kind(c)]++;
        } else if ((c == ')' || c == ']' || c == '}') && count[bracket_kind(c)] > 0) {
            while (bracket_kind(stack.p[stack.n - 1].c) != bracket_kind(c)) {
                unclosed(&stack.p[stack.n - 1], end, &best);
                count[bracket_kind(stack.p[--stack.n].c)]--;
            }
            count[bracket_kind(stack.p[--stack.n].c)]--;
        }
    }
    for (int k = 0; k < stack.n; k++)
        unclosed(&stack.p[k], end, &best);
    if (best.c)
        diag_note(d, best.loc, "'%c' opened here has no matching '%c'", best.c,
                  best.c == '(' ? ')' : best.c == '[' ? ']' : '}');
}

int parse_file(Arena *a, Diag *d, const Source *src, AstFile *out)
{
    return parse_file_in(a, a, d, src, out);
}

int parse_file_in(Arena *a, Arena *tree, Diag *d, const Source *src, AstFile *out)
{
    memset(out, 0, sizeof *out);
    int before = d->nerrors;
    LexState st;
    yyscan_t sc = open_scanner(&st, a, d, src);
    if (!sc)
        return 1;
    int rc = yyparse(sc, tree, d, out);
    close_scanner(&st, sc);
    if (st.syntax_error)
        note_unclosed(a, d, src, st.syntax_off);
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
        {IDIV, "//"},
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
    close_scanner(&st, sc);
    return rc;
}
