/*
 * parser.y - the grammar of dx (spec sections 3-5), a pure bison parser
 * that builds the AST of ast.h.  parse.c wraps it in parse_file().
 *
 * Precedence is written into the grammar, one nonterminal per level,
 * lowest first: expr (if-then-else), cond (or), and_cond, not_cond,
 * cmp (non-associative), arith (+ -), term (* / @), unary (-),
 * power (^, right-associative, its right operand a unary), postfix
 * (indexing), primary.  Conditions form their own sub-grammar so that
 * they can only appear after `if`; a '(' after `if` may open either a
 * condition or an arithmetic expression, and the parser tells them apart
 * by what follows (a comparison, `and`, `or` or `not` make a condition).
 *
 * Every node's location is the token that names it: the operator of a
 * binary operation or comparison, the name of a call, assignment,
 * definition, parameter or generator, the keyword of a statement, the
 * '[' of an index, array or comprehension.
 *
 * The parser stops at the first syntax error (there is no error
 * recovery); yyreport_syntax_error below words it for people, with a hint
 * where the mistake looks like a habit of another language (`def`,
 * `elif`, `x += 1`, `if x = 0`, `for i in range(n)`), and parse_file()
 * then adds a note at a bracket that is never closed.  Bison's
 * stack is bounded (YYMAXDEPTH); input nested deeper comes out as
 * "expression is nested too deeply".
 */
%code requires {
#include "dx.h"
#include "ast.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* Deepest nesting of ( and [ the scanner accepts. */
enum { LEX_MAX_DEPTH = 256 };

/* The value of a number token. */
typedef struct {
    double v;
    int is_int; /* written without '.' and exponent */
} NumLit;

/* The scanner's extra data (lexer/lexer.l). */
typedef struct {
    Arena *arena;
    Diag *diag;
    const Source *src;
    int line, col;          /* position of the next byte */
    size_t off;             /* its offset in src */
    size_t tok_off, tok_len; /* the last token, for messages */
    int depth;              /* open ( and [ */
    int cont;               /* the last token continues its line (lexer.l) */
    /* What the parser has read, for the hints of its messages (kept by
     * next_token below; kinds are token numbers, -1 for none): */
    int cur, prev;          /* the last token (the lookahead at an error), the one before */
    size_t cur_off, cur_len, prev_off, prev_len;
    int solid;              /* the last token before cur that is no NEWLINE */
    int nl;                 /* a NEWLINE came between solid and cur */
    int range_seen;         /* an identifier `range` came right after `in`: */
    size_t range_off;       /*   its offset */
    Loc range_loc;          /*   and place */
    int syntax_error;       /* yyreport_syntax_error reported one, at: */
    size_t syntax_off;      /*   the offset of its token */
    char *scan;             /* the scanner's copy of the text (parse.c), */
    size_t scan_cap;        /*   its size */
    unsigned char scan_kind; /*  and where it lives (dx_buf_resize) */
} LexState;

/* parse.c: if the text at st->range_off is `range(...)` ending right
 * before end (blanks and a comment aside), reports "dx writes ranges as
 * a..b" at `range` and returns 1; else returns 0. */
int parse_range_error(LexState *st, size_t end);
}

%code {
#include <string.h>

#include "lexer.h"

/* A rule's location is that of its first symbol (Loc has no end). */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                          \
    do {                                                                    \
        (Cur) = (N) ? YYRHSLOC(Rhs, 1) : YYRHSLOC(Rhs, 0);                  \
    } while (0)

static void yyerror(const Loc *loc, yyscan_t scanner, Arena *arena, Diag *diag,
                    AstFile *out, const char *msg);

/* The parser reads its tokens through next_token, which remembers the
 * last few for the hints of syntax errors.  (The macro is function-like
 * so that next_token can still call the scanner's yylex.) */
static int next_token(YYSTYPE *val, Loc *loc, yyscan_t scanner);
#define yylex(val, loc, scanner) next_token(val, loc, scanner)
}

%define api.pure full
%define api.location.type {Loc}
%define api.value.type union
%define parse.error custom
%define parse.lac full
%locations
%expect 0

%param {yyscan_t scanner}
%parse-param {Arena *arena} {Diag *diag} {AstFile *out}

%token YYEOF 0 "end of file"
%token NEWLINE "end of line"
%token <const char *> IDENT "identifier"
%token <NumLit> NUM "number"
%token FN "'fn'" CONST "'const'" DATA "'data'" REAL "'real'"
%token RETURN "'return'" FOR "'for'" IN "'in'" IF "'if'" THEN "'then'"
%token ELSE "'else'" AND "'and'" OR "'or'" NOT "'not'"
%token WHILE "'while'" BREAK "'break'" CONTINUE "'continue'"
%token EQ "'=='" NE "'!='" LE "'<='" GE "'>='" DOTDOT "'..'" ARROW "'->'"
%token IDIV "'//'"

%type <Ast *> item ret_opt param stmt if_stmt gen while_stmt
%type <Ast *> expr cond and_cond not_cond cmp arith term unary power postfix primary
%type <AstList> params_opt params dims_opt block stmts args_opt args gens
%type <int> cmpop

%%

/* file: items separated by newlines or ';', blank lines anywhere */
file
    : seps_opt
    | seps_opt items seps_opt
    ;

items
    : item              { ast_append(arena, &out->items, $1); }
    | items seps item   { ast_append(arena, &out->items, $3); }
    ;

seps_opt
    : %empty
    | seps
    ;

seps
    : sep
    | seps sep
    ;

sep
    : NEWLINE
    | ';'
    ;

/* const NAME = expr
 * fn NAME(params) [-> real[dims]] = expr
 * fn NAME(params) [-> real[dims]] { stmts } */
item
    : CONST IDENT '=' expr
        { $$ = ast_const(arena, @2, $2, $4); }
    | FN IDENT '(' params_opt ')' ret_opt '=' expr
        { $$ = ast_fn(arena, @2, $2, $4, $6, $8, ast_list0()); }
    | FN IDENT '(' params_opt ')' ret_opt block
        { $$ = ast_fn(arena, @2, $2, $4, $6, NULL, $7); }
    ;

ret_opt
    : %empty                    { $$ = NULL; }
    | ARROW REAL                { $$ = ast_type(arena, @2, ast_list0()); }
    | ARROW REAL '[' args ']'   { $$ = ast_type(arena, @2, $4); }
    ;

params_opt
    : %empty                    { $$ = ast_list0(); }
    | params
    ;

params
    : param                     { $$ = ast_list1(arena, $1); }
    | params ',' param          { $$ = ast_list_add(arena, $1, $3); }
    ;

/* [data] NAME [dims] */
param
    : IDENT dims_opt            { $$ = ast_param(arena, @1, $1, $2, 0); }
    | DATA IDENT dims_opt       { $$ = ast_param(arena, @2, $2, $3, 1); }
    ;

dims_opt
    : %empty                    { $$ = ast_list0(); }
    | '[' args ']'              { $$ = $2; }
    ;

/* { stmts }: newlines may follow '{' and precede '}' */
block
    : '{' seps_opt '}'                  { $$ = ast_list0(); }
    | '{' seps_opt stmts seps_opt '}'   { $$ = $3; }
    ;

stmts
    : stmt                      { $$ = ast_list1(arena, $1); }
    | stmts seps stmt           { $$ = ast_list_add(arena, $1, $3); }
    ;

stmt
    : IDENT '=' expr            { $$ = ast_assign(arena, @1, $1, $3); }
    | IDENT '[' args ']' '=' expr { $$ = ast_store(arena, @1, $1, $3, $6); }
    | RETURN expr               { $$ = ast_unary(arena, AST_RETURN, @1, $2); }
    | FOR gen block             { $$ = ast_for(arena, @1, $2, $3); }
    | if_stmt
    | while_stmt
    | BREAK                     { $$ = ast_new(arena, AST_BREAK, @1); }
    | CONTINUE                  { $$ = ast_new(arena, AST_CONTINUE, @1); }
    ;

/* while cond max N { stmts }: `max` is a word here, not a keyword (it
 * names a built-in too); the checker reports another word, and a loop
 * written without a bound (at its '{'). */
while_stmt
    : WHILE cond IDENT expr block
        { $$ = ast_while(arena, @1, $2, $3, @3, $4, $5); }
    | WHILE cond block
        { $$ = ast_while(arena, @1, $2, NULL, @3, NULL, $3); }
    ;

/* `else` stands on the line of the '}' before it: a newline there ends
 * the if statement, and the `else` is then unexpected. */
if_stmt
    : IF cond block
        { $$ = ast_if(arena, @1, $2, $3, ast_list0(), 0); }
    | IF cond block ELSE block
        { $$ = ast_if(arena, @1, $2, $3, $5, 1); }
    | IF cond block ELSE if_stmt
        { $$ = ast_if(arena, @1, $2, $3, ast_list1(arena, $5), 1); }
    ;

/* NAME in lo..hi: `..` binds loosest */
gen
    : IDENT IN expr DOTDOT expr { $$ = ast_gen(arena, @1, $1, $3, $5); }
    ;

gens
    : gen                       { $$ = ast_list1(arena, $1); }
    | gens ',' gen              { $$ = ast_list_add(arena, $1, $3); }
    ;

expr
    : arith
    | IF cond THEN expr ELSE expr
        { $$ = ast_ifexpr(arena, @1, $2, $4, $6); }
    ;

cond
    : and_cond
    | cond OR and_cond          { $$ = ast_logic(arena, AST_OR, @2, $1, $3); }
    ;

and_cond
    : not_cond
    | and_cond AND not_cond     { $$ = ast_logic(arena, AST_AND, @2, $1, $3); }
    ;

not_cond
    : cmp
    | NOT not_cond              { $$ = ast_logic(arena, AST_NOT, @1, $2, NULL); }
    | '(' cond ')'              { $$ = $2; }
    ;

cmp
    : arith cmpop arith         { $$ = ast_cmp(arena, @2, $2, $1, $3); }
    ;

cmpop
    : '<'                       { $$ = CMP_LT; }
    | LE                        { $$ = CMP_LE; }
    | '>'                       { $$ = CMP_GT; }
    | GE                        { $$ = CMP_GE; }
    | EQ                        { $$ = CMP_EQ; }
    | NE                        { $$ = CMP_NE; }
    ;

arith
    : term
    | arith '+' term            { $$ = ast_bin(arena, @2, '+', $1, $3); }
    | arith '-' term            { $$ = ast_bin(arena, @2, '-', $1, $3); }
    ;

term
    : unary
    | term '*' unary            { $$ = ast_bin(arena, @2, '*', $1, $3); }
    | term '/' unary            { $$ = ast_bin(arena, @2, '/', $1, $3); }
    | term '@' unary            { $$ = ast_bin(arena, @2, '@', $1, $3); }
    | term '%' unary            { $$ = ast_bin(arena, @2, '%', $1, $3); }
    | term IDIV unary           { $$ = ast_bin(arena, @2, AST_IDIV, $1, $3); }
    ;

unary
    : power
    | '-' unary                 { $$ = ast_unary(arena, AST_NEG, @1, $2); }
    ;

/* right-associative; the exponent may start with a minus: y ^ -2 */
power
    : postfix
    | postfix '^' unary         { $$ = ast_bin(arena, @2, '^', $1, $3); }
    ;

postfix
    : primary
    | postfix '[' args ']'      { $$ = ast_index(arena, @2, $1, $3); }
    ;

/* A call whose single argument is followed by `for` is a reduction. */
primary
    : NUM                       { $$ = ast_num(arena, @1, $1.v, $1.is_int); }
    | IDENT                     { $$ = ast_name(arena, @1, $1); }
    | IDENT '(' args_opt ')'    { $$ = ast_call(arena, @1, $1, $3); }
    | IDENT '(' expr FOR gens ')'
        { $$ = ast_reduce(arena, @1, $1, $3, $5); }
    | '(' expr ')'              { $$ = $2; }
    | '[' args ']'              { $$ = ast_array(arena, @1, $2); }
    | '[' expr FOR gens ']'     { $$ = ast_comp(arena, @1, $2, $4); }
    ;

args_opt
    : %empty                    { $$ = ast_list0(); }
    | args
    ;

args
    : expr                      { $$ = ast_list1(arena, $1); }
    | args ',' expr             { $$ = ast_list_add(arena, $1, $3); }
    ;

%%

/* Only "memory exhausted" reaches here (parse.error custom reports syntax
 * errors below): the parser's stack is full. */
static void yyerror(const Loc *loc, yyscan_t scanner, Arena *arena, Diag *diag,
                    AstFile *out, const char *msg)
{
    (void)scanner, (void)arena, (void)out;
    if (strcmp(msg, "memory exhausted") == 0)
        diag_error(diag, *loc, "expression is nested too deeply");
    else
        diag_error(diag, *loc, "%s", msg);
}

/* How a token reads in a message: its alias without bison's quotes. */
static void put_symbol(char *buf, size_t cap, yysymbol_kind_t k)
{
    const char *s = yysymbol_name(k);
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%.*s", (int)n, s);
}

static int is_char(yysymbol_kind_t k, int c)
{
    return k == YYTRANSLATE(c);
}

/* Tokens that can start an expression; listed as one "expression". */
static int starts_expr(yysymbol_kind_t k)
{
    return k == YYSYMBOL_NUM || k == YYSYMBOL_IDENT || k == YYSYMBOL_IF
        || k == YYSYMBOL_NOT || is_char(k, '(') || is_char(k, '[') || is_char(k, '-');
}

/* Tokens that would only continue what came before (an operator after an
 * operand): true but unhelpful in "expected ...", so left out. */
static int continues(yysymbol_kind_t k, int after_operand)
{
    static const char ops[] = "+-*/@^<>";
    for (const char *c = ops; *c; c++)
        if (is_char(k, *c))
            return 1;
    if (is_char(k, '%') || k == YYSYMBOL_IDIV)
        return 1;
    if (after_operand && (is_char(k, '[') || is_char(k, '(')))
        return 1;
    return k == YYSYMBOL_YYEOF || k == YYSYMBOL_LE || k == YYSYMBOL_GE || k == YYSYMBOL_EQ
        || k == YYSYMBOL_NE || k == YYSYMBOL_AND || k == YYSYMBOL_OR;
}

/* The scanner's next token, with the last few kept in the LexState: the
 * kinds and places of the last two, the last one that is no NEWLINE, and
 * where an identifier `range` followed `in`. */
static int next_token(YYSTYPE *val, Loc *loc, yyscan_t scanner)
{
    LexState *st = yyget_extra(scanner);
    int t = (yylex)(val, loc, scanner);
    if (st->cur != NEWLINE) {
        st->solid = st->cur;
        st->nl = 0;
    } else {
        st->nl = 1;
    }
    st->prev = st->cur;
    st->prev_off = st->cur_off;
    st->prev_len = st->cur_len;
    if (t == IN)
        st->range_seen = 0;
    if (t == IDENT && st->prev == IN && !strcmp(val->IDENT, "range")) {
        st->range_seen = 1;
        st->range_off = st->tok_off;
        st->range_loc = *loc;
    }
    st->cur = t;
    st->cur_off = st->tok_off;
    st->cur_len = st->tok_len;
    return t;
}

/* Are the len bytes of source at off one of words (a space-separated
 * list)? */
static int ident_is(const LexState *st, size_t off, size_t len, const char *words)
{
    const char *text = st->src->text + off;
    for (const char *w = words; *w;) {
        size_t n = strcspn(w, " ");
        if (n == len && !memcmp(w, text, n))
            return 1;
        w += n;
        w += *w == ' ';
    }
    return 0;
}

static int expects(yysymbol_kind_t const *exp, int n, yysymbol_kind_t k)
{
    for (int i = 0; i < n; i++)
        if (exp[i] == k)
            return 1;
    return 0;
}

/* A hint for a habit from another language, appended to the syntax error
 * after "; " (tok is the unexpected token, exp the n expected ones), or
 * NULL.  *replaces is set to 1 when the hint stands instead of the list
 * of expected tokens. */
static const char *syntax_hint(Arena *arena, const LexState *st, yysymbol_kind_t tok,
                               yysymbol_kind_t const *exp, int n, int *replaces)
{
    const char *text = st->src->text;
    *replaces = 1;
    if (tok == YYSYMBOL_IDENT && expects(exp, n, YYSYMBOL_FN) &&
        ident_is(st, st->tok_off, st->tok_len, "def function func fun"))
        return "dx defines a function with 'fn'";
    if (tok == YYSYMBOL_IDENT && expects(exp, n, YYSYMBOL_ELSE) &&
        ident_is(st, st->tok_off, st->tok_len, "elif elsif elseif"))
        return "dx writes 'else if'";
    if (tok == YYSYMBOL_ELSE && st->nl && st->solid == '}')
        return "'else' stands on the line of the '}' before it";
    if (is_char(tok, '=') && expects(exp, n, YYSYMBOL_EQ))
        return "to compare, write '=='";
    *replaces = 0;
    size_t after = st->prev_off + st->prev_len; /* a line after the operator was joined */
    if (tok == YYSYMBOL_YYEOF && st->cont && after < st->src->len &&
        memchr(text + after, '\n', st->src->len - after))
        return "the last line ends with an operator or a comma, so it continues past the end of the file";
    if (st->prev == IDENT && expects(exp, n, YYTRANSLATE('='))) {
        if (ident_is(st, st->prev_off, st->prev_len, "elif elsif elseif"))
            return "dx writes 'else if', on the line of the '}' before it";
        if (tok == YYSYMBOL_IDENT && ident_is(st, st->prev_off, st->prev_len, "let var"))
            return arena_printf(arena, "dx needs no '%.*s': write '%s = ...'",
                                (int)st->prev_len, text + st->prev_off,
                                diag_name(arena, arena_strndup(arena, text + st->tok_off,
                                                               st->tok_len)));
    }
    static const char ops[] = "+-*/^";
    if (st->prev == IDENT && expects(exp, n, YYTRANSLATE('=')) && st->tok_len == 1 &&
        text[st->tok_off] && strchr(ops, text[st->tok_off]) && st->tok_off + 1 < st->src->len &&
        text[st->tok_off + 1] == '=') {
        const char *x = diag_name(arena, arena_strndup(arena, text + st->prev_off, st->prev_len));
        char op = text[st->tok_off];
        return arena_printf(arena, "dx has no '%c=': write %s = %s %c ...", op, x, x, op);
    }
    return NULL;
}

/* "unexpected X[, expected A, B or C][; HINT]", at the offending token. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Arena *arena,
                                 Diag *diag, AstFile *out)
{
    (void)out;
    enum { MAX_SHOWN = 4 };
    LexState *st = yyget_extra(scanner);
    yysymbol_kind_t tok = yypcontext_token(ctx);
    char msg[400] = "syntax error";
    if (tok != YYSYMBOL_YYEMPTY) {
        snprintf(msg, sizeof msg, "unexpected ");
        put_symbol(msg, sizeof msg, tok);
        if (tok == YYSYMBOL_IDENT || tok == YYSYMBOL_NUM) {
            char *text = arena_strndup(arena, st->src->text + st->tok_off, st->tok_len);
            size_t len = strlen(msg);
            snprintf(msg + len, sizeof msg - len, " '%s'", diag_name(arena, text));
        }
    }
    yysymbol_kind_t exp[YYNTOKENS], shown[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS), nshown = 0, any_expr = 0;
    if (st->range_seen && expects(exp, n, YYSYMBOL_DOTDOT) && parse_range_error(st, st->tok_off))
        return 0;
    st->syntax_error = 1;
    st->syntax_off = st->tok_off;
    int replaces;
    const char *hint = syntax_hint(arena, st, tok, exp, n, &replaces);
    if (replaces)
        n = 0;
    for (int i = 0; i < n; i++)
        if (exp[i] == YYSYMBOL_NUM)
            any_expr = 1;
    for (int i = 0; i < n; i++)
        if (!(any_expr && starts_expr(exp[i])) && !continues(exp[i], !any_expr))
            shown[nshown++] = exp[i];
    int items = nshown + any_expr;
    if (items > 0 && items <= MAX_SHOWN) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "%sexpected %s", tok != YYSYMBOL_YYEMPTY ? ", " : "",
                 any_expr ? "expression" : "");
        for (int i = 0; i < nshown; i++) {
            int k = i + any_expr;
            len = strlen(msg);
            snprintf(msg + len, sizeof msg - len, "%s",
                     k == 0 ? "" : k == items - 1 ? " or " : ", ");
            put_symbol(msg, sizeof msg, shown[i]);
        }
    }
    if (hint) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "; %s", hint);
    }
    diag_error(diag, *yypcontext_location(ctx), "%s", msg);
    return 0;
}
