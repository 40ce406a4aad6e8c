/*
 * irread.c - the IR's text read back: `dxc f.ir` compiles the Program a
 * `dxc f.dx --emit=ir -o f.ir` wrote, with no pass run on it.
 *
 * The format (docs/ir.md shows it on an example).  A file is lines; `#`
 * starts a comment to the end of the line (outside strings); blank lines
 * do not count.  At the top level:
 *
 *   source "PATH"            the .dx file the IR comes from
 *   line N "TEXT"            its line N, as the C generator quotes it in
 *                            its comments (only the lines the functions
 *                            refer to are written)
 *   unit NAME : TYPE [small_tape]
 *                            a .dx function's entry points: the `fn`s up
 *                            to the next `unit` (a primal, and maybe a
 *                            jvp, a grad or vjp, and an hvp)
 *   fn NAME KIND [line=N] [col=N]   KIND: primal jvp grad vjp hvp
 *     in [data] NAME : TYPE [tangent N | seed]
 *     out NAME : TYPE (return | array | bar N) = %REF
 *   {
 *     INSTRUCTIONS
 *   }
 *
 * An instruction is one line, its regions indented in braces:
 *
 *   %N = OP FACTS OPERANDS [: TYPE] [name=NAME] [line=N] [nix=N] [{ ... }]
 *
 *   %N      the instruction's Ref: its index in Fn.v, kept exactly; the
 *           numbers of the dead instructions the passes leave in Fn.v are
 *           missing, and their slots are left empty
 *   OP      the operation, lower-case (ops.def)
 *   FACTS   what parse_facts reads (print_facts in irprint.c writes): a
 *           number for const (its value), powi (the exponent), param,
 *           result, ivar and carry (an index); sum prod max min for red;
 *           the role (tangent, adjoint or tape; none: primal); the flags
 *           acc backwards store noinit rev taped; n=INT, num=NUMBER and
 *           red=INT where the operation gives them no meaning;
 *           rule=OP arg=K [of=%S], the rule a derivative instruction came
 *           from (K: the operand, -1 for none; %S: the primal instruction
 *           whose rule it is, when known and live)
 *   OPERANDS  by operation:
 *           idx %A[AFF, ...]          acc %A[AFF, ...], %V
 *           ireal AFF                 lit %E, ...
 *           red LO..HI                loop LO..HI, ...   (one per dimension)
 *           for LO..HI, %INIT, ...    gen (none)
 *           others: their ops.def operands, %A, %B, %C
 *   AFF     an affine index: terms [-][C*]%IVAR joined by + and -, then a
 *           constant (alone: just the constant)
 *   TYPE    real bool index or none, maybe with dimensions: real[3,4];
 *           no type means none
 *   nix=    written only where the operands do not give Inst.nix (ireal)
 *
 * A region ends with `yield %A, ...` when it yields values; an `if` has
 * `} else {` between its two regions.  The body of a gen, red or loop
 * starts with its ivars (`%N = ivar 0 : index`, ...), a for's with its
 * ivar and then its carries; the results of an if, gen, red or for follow
 * it (`%N = result 0 %IF : TYPE`).  Names are bare words or strings;
 * strings escape \\ \" \t \r and \xHH.  Numbers are written in their
 * shortest exact decimal form (inf, nan).
 *
 * Checking.  The text is read in one pass; the first error stops it and
 * is reported at its place, FILE:LINE:COL with the line and a caret.  Past
 * the syntax, the reader checks what every stage after it relies on, so
 * that no text makes dxc fail an assertion or crash: values used only
 * where they are visible (ir.h, "Visibility"), operand and result types,
 * the structure of regions (ivars, carries, results, yields), indices in
 * range.  ir_verify then runs on each function as a last guard.
 */
#include "ir.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Source lines are below MAX_LINE; regions nest at most MAX_DEPTH deep
 * (deeper than the .dx parser's stack allows, within the reader's). */
enum { MAX_LINE = 1 << 24, MAX_DEPTH = 10000 };

typedef enum { T_EOF, T_EOL, T_WORD, T_NUM, T_REF, T_STR, T_PUNCT } TokKind;

typedef struct {
    TokKind kind;
    Loc loc;
    const char *s; /* T_WORD, T_NUM: the text; T_STR: the bytes */
    size_t len;    /* T_STR */
    long long ref; /* T_REF */
    int punct;     /* T_PUNCT: the character; '.' for ".." */
} Tok;

typedef struct {
    int n;
    const char *text;
    size_t len;
} SrcLine;

/* The body being read: which Refs are defined, which visible, and which
 * are being defined (their line or regions not read to the end). */
enum { DEFINED = 1, SEEN = 2, OPEN = 4 };

typedef struct {
    Arena *a;
    Diag *d;
    const Source *src;
    size_t pos, bol; /* the lexer: next byte, start of its line */
    int line;
    Tok t;
    jmp_buf fail;
    Program *p;
    Unit *unit;
    Loc unit_at;
    const char *unit_name;
    const char *path; /* source "PATH" */
    VEC(SrcLine) lines;
    Fn *f;
    unsigned char *state; /* per Ref: DEFINED | SEEN */
    int cap;
    long long maxref;
    int depth; /* of the region being read */
} Reader;

/* ---- errors ---- */

static _Noreturn void fail(Reader *R, Loc at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static _Noreturn void fail(Reader *R, Loc at, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(R->d, at, "%s", msg);
    longjmp(R->fail, 1);
}

/* The current token, for "expected X, found Y". */
static const char *found(Reader *R)
{
    const Tok *t = &R->t;
    switch (t->kind) {
    case T_EOF: return "the end of the file";
    case T_EOL: return "the end of the line";
    case T_STR: return "a string";
    case T_REF: return arena_printf(R->a, "'%%%lld'", t->ref);
    case T_PUNCT: return t->punct == '.' ? "'..'" : arena_printf(R->a, "'%c'", t->punct);
    default: return arena_printf(R->a, "'%s'", diag_name(R->a, t->s));
    }
}

static _Noreturn void expected(Reader *R, const char *what)
{
    fail(R, R->t.loc, "expected %s, found %s", what, found(R));
}

/* ---- tokens ---- */

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hex(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int peekc(Reader *R, size_t k)
{
    return R->pos + k < R->src->len ? (unsigned char)R->src->text[R->pos + k] : -1;
}

/* A string after its opening quote; escapes as put_str writes them. */
static void lex_string(Reader *R)
{
    VEC(char) b = {0};
    for (;;) {
        int c = peekc(R, 0);
        Loc at = {R->line, (int)(R->pos - R->bol) + 1};
        if (c < 0 || c == '\n')
            fail(R, R->t.loc, "this string has no closing '\"'");
        R->pos++;
        if (c == '"')
            break;
        if (c == '\\') {
            int e = peekc(R, 0);
            R->pos++;
            if (e == 'x' && hex(peekc(R, 0)) >= 0 && hex(peekc(R, 1)) >= 0) {
                c = hex(peekc(R, 0)) * 16 + hex(peekc(R, 1));
                R->pos += 2;
            } else if (e == '\\' || e == '"') {
                c = e;
            } else if (e == 't' || e == 'r') {
                c = e == 't' ? '\t' : '\r';
            } else {
                fail(R, at, "unknown escape in a string "
                            "(\\\\, \\\", \\t, \\r and \\xHH are known)");
            }
        }
        vec_push(R->a, &b, (char)c);
    }
    vec_push(R->a, &b, 0);
    R->t.kind = T_STR;
    R->t.s = b.p;
    R->t.len = (size_t)b.n - 1;
}

/* A number: digits, maybe a fraction, maybe an exponent. */
static void lex_number(Reader *R)
{
    size_t start = R->pos;
    while (is_digit(peekc(R, 0)))
        R->pos++;
    if (peekc(R, 0) == '.' && is_digit(peekc(R, 1)))
        for (R->pos++; is_digit(peekc(R, 0));)
            R->pos++;
    if (peekc(R, 0) == 'e' || peekc(R, 0) == 'E') {
        size_t k = peekc(R, 1) == '+' || peekc(R, 1) == '-' ? 2 : 1;
        if (is_digit(peekc(R, k)))
            for (R->pos += k; is_digit(peekc(R, 0));)
                R->pos++;
    }
    if (is_alpha(peekc(R, 0)) || is_digit(peekc(R, 0)))
        fail(R, R->t.loc, "malformed number");
    R->t.kind = T_NUM;
    R->t.s = arena_strndup(R->a, R->src->text + start, R->pos - start);
}

static void lex_ref(Reader *R)
{
    R->pos++;
    if (!is_digit(peekc(R, 0)))
        fail(R, R->t.loc, "expected a number after '%%'");
    long long v = 0;
    while (is_digit(peekc(R, 0))) {
        v = v * 10 + (peekc(R, 0) - '0');
        if (v > R->maxref)
            fail(R, R->t.loc, "this value number is too large for the file (at most %lld)",
                 R->maxref);
        R->pos++;
    }
    R->t.kind = T_REF;
    R->t.ref = v;
}

static void next(Reader *R)
{
    int c;
    while ((c = peekc(R, 0)) == ' ' || c == '\t' || c == '\r')
        R->pos++;
    if (c == '#')
        while ((c = peekc(R, 0)) >= 0 && c != '\n')
            R->pos++;
    R->t.loc = (Loc){R->line, (int)(R->pos - R->bol) + 1};
    if (c < 0) {
        R->t.kind = T_EOF;
    } else if (c == '\n') {
        R->t.kind = T_EOL;
        R->pos++;
        R->bol = R->pos;
        R->line++;
    } else if (is_alpha(c)) {
        size_t start = R->pos;
        while (is_alpha(peekc(R, 0)) || is_digit(peekc(R, 0)))
            R->pos++;
        R->t.kind = T_WORD;
        R->t.s = arena_strndup(R->a, R->src->text + start, R->pos - start);
    } else if (is_digit(c)) {
        lex_number(R);
    } else if (c == '%') {
        lex_ref(R);
    } else if (c == '"') {
        R->pos++;
        lex_string(R);
    } else if (c == '.' && peekc(R, 1) == '.') {
        R->pos += 2;
        R->t.kind = T_PUNCT;
        R->t.punct = '.';
    } else if (c && strchr("=:,[]{}*+-", c)) {
        R->pos++;
        R->t.kind = T_PUNCT;
        R->t.punct = c;
    } else if (c >= 32 && c < 127) {
        fail(R, R->t.loc, "unexpected character '%c'", c);
    } else {
        fail(R, R->t.loc, "unexpected byte 0x%02x", c);
    }
}

static int is_punct(Reader *R, int c)
{
    return R->t.kind == T_PUNCT && R->t.punct == c;
}

static int is_word(Reader *R, const char *w)
{
    return R->t.kind == T_WORD && !strcmp(R->t.s, w);
}

static void expect_punct(Reader *R, int c)
{
    if (!is_punct(R, c))
        expected(R, c == '.' ? "'..'" : arena_printf(R->a, "'%c'", c));
    next(R);
}

static void expect_word(Reader *R, const char *w)
{
    if (!is_word(R, w))
        expected(R, arena_printf(R->a, "'%s'", w));
    next(R);
}

static void expect_eol(Reader *R)
{
    if (R->t.kind != T_EOL && R->t.kind != T_EOF)
        expected(R, "the end of the line");
    next(R);
}

static void skip_blank(Reader *R)
{
    while (R->t.kind == T_EOL)
        next(R);
}

/* ---- names, numbers, types ---- */

static const char *read_name(Reader *R, const char *what)
{
    const char *s = R->t.s;
    if (R->t.kind == T_STR && strlen(s) != R->t.len)
        fail(R, R->t.loc, "a name may not hold a NUL byte");
    if (R->t.kind != T_WORD && R->t.kind != T_STR)
        expected(R, what);
    next(R);
    return s;
}

/* An integer in [lo, hi], maybe negative. */
static long long read_int(Reader *R, long long lo, long long hi, const char *what)
{
    Loc at = R->t.loc;
    int neg = is_punct(R, '-');
    if (neg)
        next(R);
    if (R->t.kind != T_NUM)
        expected(R, what);
    long long v = 0;
    for (const char *s = R->t.s; *s; s++) {
        if (!is_digit(*s))
            fail(R, R->t.loc, "expected %s, found '%s'", what, R->t.s);
        v = v * 10 + (*s - '0');
        if (v > (1LL << 40))
            break;
    }
    v = neg ? -v : v;
    if (v < lo || v > hi)
        fail(R, at, "%s must be from %lld to %lld", what, lo, hi);
    next(R);
    return v;
}

/* A real number: decimal, inf or nan, maybe negative. */
static double read_num(Reader *R)
{
    int neg = is_punct(R, '-');
    if (neg)
        next(R);
    double v;
    if (is_word(R, "inf") || is_word(R, "nan")) {
        v = R->t.s[0] == 'i' ? HUGE_VAL : NAN;
    } else if (R->t.kind == T_NUM) {
        char *end;
        v = strtod(R->t.s, &end);
        if (*end)
            fail(R, R->t.loc, "malformed number");
    } else {
        expected(R, "a number");
    }
    next(R);
    return neg ? -v : v;
}

static Type read_type(Reader *R)
{
    static const char *const names[] = {"real", "bool", "index", "none"};
    Type t = {0};
    int k = 0;
    while (k < 4 && !is_word(R, names[k]))
        k++;
    if (k == 4)
        expected(R, "a type (real, bool, index or none)");
    t.kind = (uint8_t)k;
    next(R);
    if (!is_punct(R, '['))
        return t;
    Loc at = R->t.loc;
    long long size = 1;
    int32_t dim[DX_MAXRANK];
    int rank = 0;
    do {
        next(R);
        if (rank == DX_MAXRANK)
            fail(R, R->t.loc, "an array has at most %d dimensions", DX_MAXRANK);
        dim[rank] = (int32_t)read_int(R, 0, INT32_MAX, "a dimension");
        size *= dim[rank++];
        if (size > (1LL << 48))
            fail(R, at, "this array is too large");
    } while (is_punct(R, ','));
    expect_punct(R, ']');
    Type a = ty_array(rank, dim);
    a.kind = t.kind;
    return a;
}

/* ---- values and their visibility ---- */

static Inst *inst(Reader *R, Ref r)
{
    return &R->f->v.p[r];
}

static int has_results(Op op)
{
    return op == OP_IF || op == OP_GEN || op == OP_RED || op == OP_FOR;
}

/* Instructions that are values: not an if, gen, red, loop or for (their
 * results are), an acc, nor an ivar (an index, used in affs). */
static int is_value(const Inst *in)
{
    switch (in->op) {
    case OP_IF: case OP_GEN: case OP_RED: case OP_LOOP: case OP_FOR: case OP_ACC: case OP_IVAR:
        return 0;
    default: return 1;
    }
}

/* A Ref defined before, and visible here. */
static Ref read_seen(Reader *R)
{
    if (R->t.kind != T_REF)
        expected(R, "a value (%N)");
    Ref r = (Ref)R->t.ref;
    if (r >= R->f->v.n || !(R->state[r] & DEFINED))
        fail(R, R->t.loc, "%%%d is not defined before this use", r);
    if (R->state[r] & OPEN)
        fail(R, R->t.loc, "%%%d is used in its own definition", r);
    if (!(R->state[r] & SEEN))
        fail(R, R->t.loc,
             "%%%d is not visible here (it is defined in a loop body that has ended)", r);
    next(R);
    return r;
}

/* A Ref used as an operand: a value, defined before and visible here. */
static Ref read_use(Reader *R)
{
    Loc at = R->t.loc;
    Ref r = read_seen(R);
    if (!is_value(inst(R, r)))
        fail(R, at, "%%%d is %s %s, not a value%s", r, inst(R, r)->op == OP_IF ? "an" : "a",
             ir_op_name(inst(R, r)->op),
             inst(R, r)->op == OP_IVAR ? " (ivars are used in indices)"
             : has_results(inst(R, r)->op) ? " (its results are)" : "");
    return r;
}

/* n values, separated by commas. */
static void read_uses(Reader *R, Ref *out, int n)
{
    for (int k = 0; k < n; k++) {
        if (k)
            expect_punct(R, ',');
        out[k] = read_use(R);
    }
}

/* Values separated by commas, as many as there are (maybe none). */
static Ref *read_list(Reader *R, int *n)
{
    VEC(Ref) v = {0};
    while (R->t.kind == T_REF) {
        Ref r = read_use(R);
        vec_push(R->a, &v, r);
        if (!is_punct(R, ','))
            break;
        next(R);
    }
    *n = v.n;
    return v.n ? v.p : arena_alloc(R->a, sizeof(Ref));
}

static Aff read_aff(Reader *R);

typedef VEC(AffQ) AffQVec;

/* {X mul|div|mod Y}, a non-affine term with coefficient b. */
static void read_q(Reader *R, AffQVec *q, int32_t b)
{
    AffQ t = {0};
    t.b = b;
    next(R);
    t.x = read_aff(R);
    Loc at = R->t.loc;
    if (is_word(R, "mul"))
        t.op = AQ_MUL;
    else if (is_word(R, "div"))
        t.op = AQ_DIV;
    else if (is_word(R, "mod"))
        t.op = AQ_MOD;
    else
        fail(R, at, "expected mul, div or mod in an index term");
    next(R);
    at = R->t.loc;
    t.y = read_aff(R);
    if (t.op != AQ_MUL && !t.y.n && !t.y.nq && t.y.c <= 0)
        fail(R, at, "the divisor of an index term must be positive");
    expect_punct(R, '}');
    vec_push(R->a, q, t);
}

/* [-][C*]%IVAR or [-][C*]{X OP Y} joined by + and -, then a constant;
 * alone, a constant. */
static Aff read_aff(Reader *R)
{
    VEC(Ref) iv = {0};
    VEC(int32_t) co = {0};
    AffQVec q = {0};
    Aff x = {0};
    for (int first = 1;; first = 0) {
        int neg = 0;
        if (is_punct(R, '-') || (!first && is_punct(R, '+'))) {
            neg = is_punct(R, '-');
            next(R);
        } else if (!first) {
            break;
        }
        long long c = 1;
        int has_c = R->t.kind == T_NUM;
        if (has_c)
            c = read_int(R, 0, neg ? -(long long)INT32_MIN : INT32_MAX,
                         "an index coefficient or constant");
        if (has_c && !is_punct(R, '*')) {
            x.c = (int32_t)(neg ? -c : c);
            break; /* the constant ends the expression */
        }
        if (has_c)
            next(R);
        if (is_punct(R, '{')) { /* a non-affine term */
            read_q(R, &q, (int32_t)(neg ? -c : c));
            continue;
        }
        Loc at = R->t.loc;
        Ref r = read_seen(R);
        if (inst(R, r)->op != OP_IVAR)
            fail(R, at, "%%%d is not an index variable (an ivar)", r);
        vec_push(R->a, &iv, r);
        vec_push(R->a, &co, (int32_t)(neg ? -c : c));
    }
    x.n = iv.n;
    x.iv = iv.p;
    x.a = co.p;
    x.nq = q.n;
    x.q = q.p;
    return x;
}

static Aff *read_affs(Reader *R, int *n)
{
    VEC(Aff) v = {0};
    expect_punct(R, '[');
    while (!is_punct(R, ']')) {
        if (v.n)
            expect_punct(R, ',');
        vec_push(R->a, &v, read_aff(R));
    }
    next(R);
    *n = v.n;
    return v.n ? v.p : arena_alloc(R->a, sizeof(Aff));
}

static void read_range(Reader *R, Aff *lo, Aff *hi)
{
    *lo = read_aff(R);
    expect_punct(R, '.');
    *hi = read_aff(R);
}

/* ---- facts ---- */

/* Inst.k where it is an index (param, result, ivar, carry): the one
 * place the checks below read it. */
static int index_of(const Inst *in)
{
    return in->n;
}

static void set_flag(Reader *R, uint8_t *flag)
{
    if (*flag)
        fail(R, R->t.loc, "'%s' is written twice", R->t.s);
    *flag = 1;
    next(R);
}

/* The number of a word of a fact in words[0..n), or -1. */
static int fact_word(Reader *R, const char *const *words, int n)
{
    for (int i = 0; i < n; i++)
        if (is_word(R, words[i]))
            return i;
    return -1;
}

/* NAME=, the '=' after a fact's name: once per instruction (seen). */
static void fact_eq(Reader *R, uint8_t *seen)
{
    set_flag(R, seen);
    expect_punct(R, '=');
}

/* rule=OP arg=K (after the '='). */
static void parse_rule(Reader *R, Inst *in)
{
    if (R->t.kind != T_WORD)
        expected(R, "an operation");
    int op = 0;
    while (op < OP_COUNT && strcmp(R->t.s, ir_op_name((Op)op)))
        op++;
    if (op == OP_COUNT)
        fail(R, R->t.loc, "'%s' is not an operation", R->t.s);
    in->rule_op = (uint16_t)op;
    next(R);
    expect_word(R, "arg");
    expect_punct(R, '=');
    in->rule_arg = (int8_t)read_int(R, -1, 2, "an operand number (-1 to 2)");
    if (!is_word(R, "of"))
        return;
    next(R);
    expect_punct(R, '=');
    if (R->t.kind != T_REF)
        expected(R, "the instruction whose rule it is (%N)");
    Ref r = (Ref)R->t.ref;
    if (r >= R->f->v.n || !(R->state[r] & DEFINED) || (R->state[r] & OPEN))
        fail(R, R->t.loc, "%%%d is not an instruction defined before this one", r);
    in->rule_src = r;
    next(R);
}

/* The number an operation reads right after its name (print_facts). */
static void parse_own(Reader *R, Inst *in)
{
    static const char *const red[] = {"sum", "prod", "max", "min"};
    switch (in->op) {
    case OP_CONST: in->x->num = read_num(R); break;
    case OP_POWI: in->n = (int32_t)read_int(R, INT32_MIN, INT32_MAX, "an integer exponent"); break;
    case OP_PARAM: case OP_RESULT: case OP_IVAR: case OP_CARRY:
        in->n = (int32_t)read_int(R, 0, INT32_MAX, "an index");
        break;
    case OP_RED: {
        int k = fact_word(R, red, 4);
        if (k < 0)
            expected(R, "sum, prod, max or min");
        in->red = (uint8_t)k;
        next(R);
        break;
    }
    default: break;
    }
}

/* backwards, store, noinit, setelem and checkpoint belong to the
 * operations that read them. */
static void check_flag(Reader *R, const Inst *in, uint16_t flag)
{
    const char *w = R->t.s;
    if ((flag == IF_BACKWARDS && in->op != OP_LOOP && in->op != OP_FOR) ||
        (flag == IF_CKPT && in->op != OP_FOR) ||
        ((flag == IF_STORE || flag == IF_SUB) && in->op != OP_ACC) ||
        (flag == IF_NOINIT && in->op != OP_ZEROS) ||
        (flag == IF_SETELEM && in->op != OP_GEN && in->op != OP_ACC))
        fail(R, R->t.loc, "a %s is not '%s' (%s)", ir_op_name(in->op), w,
             w[0] == 'b' ? "a loop or a for is" : flag == IF_SETELEM ? "a gen or an acc is"
             : flag == IF_CKPT ? "a for is"
             : w[0] == 's' ? "an acc is" : "a zeros is");
    if (flag == IF_SUB && (in->flags & IF_STORE))
        fail(R, R->t.loc, "an acc that stores does not subtract");
}

/* n= and red= are for the operations that do not read that field as
 * their own number; num= is for none (a const's number comes right
 * after it, and no other operation has one). */
static void check_own(Reader *R, const Inst *in, const char *field)
{
    if (field[1] == 'u' && in->op != OP_CONST) /* where the others keep InstExt */
        fail(R, R->t.loc, "only a const has a num=");
    int own = field[1] == 'u' ? in->op == OP_CONST
              : field[0] == 'r' ? in->op == OP_RED
                                : (in->op == OP_POWI || in->op == OP_PARAM || in->op == OP_RESULT ||
                                   in->op == OP_IVAR || in->op == OP_CARRY);
    if (own)
        fail(R, R->t.loc, "a %s has no %s= (its number comes right after it)", ir_op_name(in->op),
             field);
}

/*
 * The facts of *in, right after its operation's name, as print_facts
 * (irprint.c) writes them: the operation's own number, then its role,
 * flags, n=, num=, red= and rule=, each at most once.
 */
static void parse_facts(Reader *R, Inst *in)
{
    in->rule_arg = -1;
    in->rule_src = NOREF;
    parse_own(R, in);
    uint8_t role = 0, seen[4] = {0};
    uint16_t flags = 0;
    for (;;) {
        int w;
        if ((w = fact_word(R, ir_role_words + 1, 3)) >= 0) {
            set_flag(R, &role);
            in->role = (uint8_t)(w + 1);
        } else if (is_word(R, "n")) {
            check_own(R, in, "n");
            fact_eq(R, &seen[0]);
            in->n = (int32_t)read_int(R, INT32_MIN, INT32_MAX, "an integer");
        } else if (is_word(R, "num")) {
            check_own(R, in, "num");
            fact_eq(R, &seen[1]);
            in->x->num = read_num(R);
        } else if (is_word(R, "red")) {
            check_own(R, in, "red");
            fact_eq(R, &seen[2]);
            in->red = (uint8_t)read_int(R, 0, 255, "a reduction kind");
        } else if (is_word(R, "rule")) {
            fact_eq(R, &seen[3]);
            parse_rule(R, in);
        } else {
            int f = -1;
            for (int i = 0; i < IR_NFLAG_WORDS && f < 0; i++)
                if (is_word(R, ir_flag_words[i].word))
                    f = i;
            if (f < 0)
                return;
            check_flag(R, in, ir_flag_words[f].flag);
            if (flags & ir_flag_words[f].flag)
                fail(R, R->t.loc, "'%s' is written twice", R->t.s);
            flags |= ir_flag_words[f].flag;
            in->flags = flags;
            next(R);
        }
    }
}

/* ---- instructions ---- */

static const char *type_text(Reader *R, Type t)
{
    static const char *const names[] = {"real", "bool", "index", "none"};
    const char *s = names[t.kind];
    for (int d = 0; d < t.rank; d++)
        s = arena_printf(R->a, "%s%s%d%s", s, d ? "," : "[", (int)ty_dim(t, d),
                         d + 1 == t.rank ? "]" : "");
    return s;
}

/* Operand v of instruction id (what: "the condition", ...) has type t. */
static void want_type(Reader *R, Loc at, Ref id, Ref v, Type t, const char *what)
{
    Type got = inst(R, v)->ty;
    if (!ty_eq(got, t))
        fail(R, at, "%s of %%%d must be %s, but %%%d is %s", what, id, type_text(R, t), v,
             type_text(R, got));
}

/* Instruction id itself has type t. */
static void want_self(Reader *R, Loc at, Ref id, Type t)
{
    Type got = inst(R, id)->ty;
    if (!ty_eq(got, t))
        fail(R, at, "%%%d must be %s (%s), not %s", id, type_text(R, t),
             ir_op_name(inst(R, id)->op), type_text(R, got));
}

static Op read_op(Reader *R)
{
    if (R->t.kind != T_WORD)
        expected(R, "an operation");
    for (int op = 0; op < OP_COUNT; op++)
        if (!strcmp(R->t.s, ir_op_name((Op)op))) {
            next(R);
            return (Op)op;
        }
    Near n;
    near_init(&n, R->t.s);
    for (int op = 0; op < OP_COUNT; op++)
        near_offer(&n, ir_op_name((Op)op));
    fail(R, R->t.loc, "unknown operation '%s'%s", diag_name(R->a, R->t.s), near_hint(R->a, &n));
}

static void read_operands(Reader *R, Ref id)
{
    Inst *in = inst(R, id);
    switch (in->op) {
    case OP_IDX:
    case OP_ACC:
        in->arg[0] = read_use(R);
        in->x->ix = read_affs(R, &in->nix);
        if (in->op == OP_ACC) {
            expect_punct(R, ',');
            in->arg[1] = read_use(R);
        }
        break;
    case OP_IREAL:
        in->x->ix = arena_alloc(R->a, sizeof(Aff));
        in->x->ix[0] = read_aff(R);
        in->nix = 1;
        break;
    case OP_LIT: in->x->list = read_list(R, &in->nix); break;
    case OP_RED:
    case OP_FOR:
        in->x->ix = arena_alloc(R->a, sizeof(Aff) * 2);
        read_range(R, &in->x->ix[0], &in->x->ix[1]);
        if (in->op == OP_FOR && is_punct(R, ',')) {
            next(R);
            in->x->list = read_list(R, &in->nix);
        } else if (in->op == OP_FOR) {
            in->x->list = arena_alloc(R->a, sizeof(Ref));
        }
        break;
    case OP_LOOP: {
        VEC(Aff) lo = {0}, hi = {0};
        do {
            if (lo.n)
                next(R);
            Aff l, h;
            read_range(R, &l, &h);
            vec_push(R->a, &lo, l);
            vec_push(R->a, &hi, h);
        } while (is_punct(R, ','));
        in->nix = lo.n;
        in->x->ix = arena_alloc(R->a, sizeof(Aff) * (size_t)(2 * lo.n + 1));
        memcpy(in->x->ix, lo.p, sizeof(Aff) * (size_t)lo.n);
        memcpy(in->x->ix + lo.n, hi.p, sizeof(Aff) * (size_t)lo.n);
        break;
    }
    case OP_RESULT: in->arg[0] = read_seen(R); break;
    default: read_uses(R, in->arg, op_info[in->op].nargs); break;
    }
}

static void read_attrs(Reader *R, Inst *in)
{
    int seen_name = 0, seen_line = 0, seen_nix = 0;
    while (R->t.kind == T_WORD) {
        Loc at = R->t.loc;
        const char *w = R->t.s;
        int *once = !strcmp(w, "name") ? &seen_name : !strcmp(w, "line") ? &seen_line
                  : !strcmp(w, "nix") ? &seen_nix : NULL;
        if (!once)
            fail(R, at, "unknown attribute '%s' (name=, line= or nix=; facts such as tangent come "
                        "right after the operation)", diag_name(R->a, w));
        if (*once)
            fail(R, at, "'%s=' is written twice", w);
        *once = 1;
        next(R);
        expect_punct(R, '=');
        if (once == &seen_name) {
            in->name = read_name(R, "a name");
        } else if (once == &seen_line) {
            in->line = (int)read_int(R, 0, MAX_LINE, "a line number");
        } else {
            if (in->op != OP_IREAL)
                fail(R, at, "only an ireal has nix= (the operands of %s give it)",
                     ir_op_name(in->op));
            in->nix = (int)read_int(R, 0, 1, "an ireal's nix");
        }
    }
}

/* ---- the rules of ir.h, one instruction at a time ---- */

static int has_regions(Op op)
{
    return op == OP_IF || op == OP_GEN || op == OP_RED || op == OP_LOOP || op == OP_FOR;
}

/* How many ivars and carries start a body of owner. */
static int prologue(Reader *R, Ref owner)
{
    if (owner == NOREF)
        return 0;
    const Inst *o = inst(R, owner);
    switch (o->op) {
    case OP_GEN: return o->ty.rank;
    case OP_RED: return 1;
    case OP_LOOP: return o->nix;
    case OP_FOR: return 1 + o->nix;
    default: return 0;
    }
}

/* Ivars and carries start loop bodies, in order, and only there. */
static void check_position(Reader *R, Ref id, Loc at, const Region *r)
{
    const Inst *in = inst(R, id);
    int pos = r->ids.n, np = prologue(R, r->owner);
    int carry = pos > 0 && r->owner != NOREF && inst(R, r->owner)->op == OP_FOR;
    Op want = carry ? OP_CARRY : OP_IVAR;
    int k = carry ? pos - 1 : pos;
    if (pos < np && (in->op != want || index_of(in) != k))
        fail(R, at, "expected '%s %d' here: the body of %%%d starts with %s", ir_op_name(want), k,
             r->owner, inst(R, r->owner)->op == OP_FOR ? "its ivar, then its carries"
                                                       : "one ivar per dimension");
    if (pos >= np && (in->op == OP_IVAR || in->op == OP_CARRY))
        fail(R, at, "%s %d has no place here: a body's ivars and carries come first, one each",
             ir_op_name(in->op), index_of(in));
}

/* A result follows its if, gen, red or for (or that one's results). */
static void check_result(Reader *R, Ref id, Loc at, const Region *r)
{
    const Inst *in = inst(R, id);
    Ref o = in->arg[0], prev = r->ids.n ? r->ids.p[r->ids.n - 1] : NOREF;
    const Inst *x = inst(R, o);
    if (!has_results(x->op))
        fail(R, at, "%%%d is a %s: results are those of an if, gen, red or for", o,
             ir_op_name(x->op));
    int sibling = prev != NOREF && inst(R, prev)->op == OP_RESULT && inst(R, prev)->arg[0] == o;
    if (prev != o && !sibling)
        fail(R, at, "a result of %%%d must come right after it (or after its other results)", o);
    int k = index_of(in), n = x->x->reg[0]->yield.n, want = sibling ? index_of(inst(R, prev)) + 1 : 0;
    if (k != want && x->op != OP_FOR)
        fail(R, at, "the results of %%%d come in order, one per value it yields: this one must be result %d", o,
             want);
    if (k >= n)
        fail(R, at, "%%%d yields %d value%s: it has no result %d", o, n, n == 1 ? "" : "s", k);
    Type t = x->op == OP_GEN ? x->ty : x->op == OP_FOR ? inst(R, x->x->list[k])->ty
                                                       : inst(R, x->x->reg[0]->yield.p[k])->ty;
    want_self(R, at, id, t);
}

/* Every operand of a scalar operation (ops.def) is real, or bool for
 * and, or, not and select's condition; comparisons are bool. */
static void check_scalar(Reader *R, Ref id, Loc at)
{
    const Inst *in = inst(R, id);
    int logic = in->op == OP_AND || in->op == OP_OR || in->op == OP_NOT;
    Type arg = logic ? ty_bool() : ty_scalar();
    for (int k = 0; k < op_info[in->op].nargs; k++)
        want_type(R, at, id, in->arg[k], k == 0 && in->op == OP_SELECT ? ty_bool() : arg,
                  arena_printf(R->a, "operand %d", k + 1));
    want_self(R, at, id, op_info[in->op].kind == K_BOOL ? ty_bool() : ty_scalar());
}

static void check_array_op(Reader *R, Ref id, Loc at)
{
    const Inst *in = inst(R, id);
    switch (in->op) {
    case OP_GEN:
        if (in->ty.kind != TY_REAL || !in->ty.rank)
            fail(R, at, "a gen's type is its index space, a real array");
        break;
    case OP_LIT:
        if (in->ty.kind != TY_REAL || !in->ty.rank || ty_size(in->ty) != in->nix)
            fail(R, at, "a lit of %d elements must be a real array of %d elements", in->nix,
                 in->nix);
        for (int k = 0; k < in->nix; k++)
            want_type(R, at, id, in->x->list[k], ty_scalar(), arena_printf(R->a, "element %d", k));
        break;
    case OP_IDX:
    case OP_ACC: {
        const Inst *a = inst(R, in->arg[0]);
        if (in->op == OP_ACC && a->op != OP_ZEROS)
            fail(R, at, "an acc accumulates into a zeros buffer, and %%%d is a %s", in->arg[0],
                 ir_op_name(a->op));
        if (a->ty.kind != TY_REAL || a->ty.rank != in->nix)
            fail(R, at, "%%%d is %s: it takes %d ind%s, not %d", in->arg[0], type_text(R, a->ty),
                 a->ty.rank, a->ty.rank == 1 ? "ex" : "ices", in->nix);
        if (in->op == OP_ACC)
            want_type(R, at, id, in->arg[1], ty_scalar(), "the value");
        want_self(R, at, id, in->op == OP_ACC ? ty_none() : ty_scalar());
        break;
    }
    case OP_ZEROS:
        if (in->ty.kind != TY_REAL)
            fail(R, at, "a zeros buffer is real");
        break;
    default: break;
    }
}

static void check_inst(Reader *R, Ref id, Loc at, const Region *r)
{
    const Inst *in = inst(R, id);
    const Fn *f = R->f;
    switch (in->op) {
    case OP_CONST:
        if (in->ty.rank || (in->ty.kind != TY_REAL && in->ty.kind != TY_BOOL))
            fail(R, at, "a const is a real or a bool");
        break;
    case OP_PARAM: {
        int k = index_of(in);
        if (r != f->body)
            fail(R, at, "a param belongs to the function's body, not to a region in it");
        if (k >= f->in.n)
            fail(R, at, "param %d: the function has %d input%s", k, f->in.n,
                 f->in.n == 1 ? "" : "s");
        want_self(R, at, id, f->in.p[k].ty);
        break;
    }
    case OP_IF: want_type(R, at, id, in->arg[0], ty_bool(), "the condition"); break;
    case OP_RESULT: check_result(R, id, at, r); break;
    case OP_IVAR: want_self(R, at, id, ty_index()); break;
    case OP_CARRY: want_self(R, at, id, inst(R, inst(R, r->owner)->x->list[index_of(in)])->ty); break;
    case OP_RED: case OP_IREAL: case OP_NODIFF: want_self(R, at, id, ty_scalar()); break;
    case OP_LOOP: want_self(R, at, id, ty_none()); break;
    case OP_FOR:
        want_self(R, at, id, ty_none());
        if (in->x->ix[0].n || in->x->ix[1].n)
            fail(R, at, "a for runs between constants");
        break;
    case OP_GEN: case OP_LIT: case OP_IDX: case OP_ACC: case OP_ZEROS:
        check_array_op(R, id, at);
        break;
    default: check_scalar(R, id, at); break;
    }
    if (in->op == OP_NODIFF)
        want_type(R, at, id, in->arg[0], ty_scalar(), "the operand");
}

/* After the regions of id: what they yield fits it. */
static void check_yields(Reader *R, Ref id, Loc at)
{
    const Inst *in = inst(R, id);
    const Region *b = in->x->reg[0];
    int n = b->yield.n;
    if (in->op == OP_IF && in->x->reg[1]->yield.n != n)
        fail(R, at, "the branches of %%%d yield %d and %d values", id, n, in->x->reg[1]->yield.n);
    if (in->op == OP_LOOP && n)
        fail(R, at, "a loop yields nothing (it runs for its accs)");
    if (in->op == OP_FOR && n != in->nix)
        fail(R, at, "%%%d carries %d value%s and yields %d", id, in->nix,
             in->nix == 1 ? "" : "s", n);
    for (int k = 0; k < n; k++) {
        Type t = inst(R, b->yield.p[k])->ty, want = t;
        if (in->op == OP_IF)
            want = inst(R, in->x->reg[1]->yield.p[k])->ty;
        else if (in->op == OP_FOR)
            want = inst(R, in->x->list[k])->ty;
        else if (in->op != OP_LOOP)
            want = ty_scalar();
        if (!ty_eq(t, want))
            fail(R, at, "value %d yielded by %%%d is %s, not %s", k, id, type_text(R, t),
                 type_text(R, want));
    }
}

/* ---- regions ---- */

static void read_region(Reader *R, Region *r);

/* Everything r defines, nested regions included, out of sight. */
static void unsee(Reader *R, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = inst(R, r->ids.p[i]);
        R->state[r->ids.p[i]] &= (unsigned char)~SEEN;
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s])
                unsee(R, in->x->reg[s]);
    }
}

/* "{" at the end of id's line, its regions, and the closing "}". */
static void read_bodies(Reader *R, Ref id, Loc at)
{
    int nreg = inst(R, id)->op == OP_IF ? 2 : 1;
    for (int s = 0; s < nreg; s++) {
        if (s) {
            expect_word(R, "else");
            if (!is_punct(R, '{'))
                expected(R, "'{'");
        } else if (!is_punct(R, '{')) {
            expected(R, arena_printf(R->a, "'{' (a %s has a region)", ir_op_name(inst(R, id)->op)));
        }
        if (R->depth == MAX_DEPTH)
            fail(R, R->t.loc, "regions nested too deeply (the limit is %d)", MAX_DEPTH);
        next(R);
        expect_eol(R);
        Region *b = ir_region_new(R->f, id, s);
        inst(R, id)->x->reg[s] = b;
        R->depth++;
        read_region(R, b);
        R->depth--;
        expect_punct(R, '}');
    }
    check_yields(R, id, at);
    if (inst(R, id)->op != OP_IF)
        unsee(R, inst(R, id)->x->reg[0]);
}

/* The next Ref, defined here: unique, its slot in Fn.v made. */
static Ref define(Reader *R)
{
    if (R->t.kind != T_REF)
        expected(R, "an instruction ('%N = ...'), 'yield' or '}'");
    Ref id = (Ref)R->t.ref;
    Fn *f = R->f;
    while (f->v.n <= id) {
        Inst hole = {.x = (InstExt *)&ir_no_ext};
        vec_push(R->a, &f->v, hole);
    }
    if (R->cap < f->v.n) {
        int cap = f->v.cap;
        R->state = arena_grow(R->a, R->state, (size_t)R->cap, (size_t)cap);
        R->cap = cap;
    }
    if (R->state[id] & DEFINED)
        fail(R, R->t.loc, "%%%d is defined twice", id);
    R->state[id] = DEFINED | OPEN;
    next(R);
    return id;
}

static void read_inst(Reader *R, Region *r)
{
    Loc at = R->t.loc;
    Ref id = define(R);
    expect_punct(R, '=');
    Inst *in = inst(R, id);
    in->op = (uint16_t)read_op(R);
    R->f->has_red |= in->op == OP_RED;
    in->x = ir_ext_new(R->a, in->op);
    in->arg[0] = in->arg[1] = in->arg[2] = NOREF;
    in->parent = r;
    parse_facts(R, in);
    check_position(R, id, at, r);
    read_operands(R, id);
    in->ty = ty_none();
    if (is_punct(R, ':')) {
        next(R);
        in->ty = read_type(R);
    }
    read_attrs(R, in);
    check_inst(R, id, at, r);
    if (has_regions(in->op))
        read_bodies(R, id, at);
    else if (is_punct(R, '{'))
        fail(R, R->t.loc, "a %s has no region", ir_op_name(in->op));
    expect_eol(R);
    vec_push(R->a, &r->ids, id);
    R->state[id] = DEFINED | SEEN;
}

/* Instructions up to the "}" that closes r (not read), maybe a yield
 * last. */
static void read_region(Reader *R, Region *r)
{
    for (;;) {
        skip_blank(R);
        if (is_punct(R, '}'))
            break;
        if (!is_word(R, "yield")) {
            read_inst(R, r);
            continue;
        }
        next(R);
        do {
            if (r->yield.n)
                next(R);
            Ref y = read_use(R);
            vec_push(R->a, &r->yield, y);
        } while (is_punct(R, ','));
        expect_eol(R);
        skip_blank(R);
        if (!is_punct(R, '}'))
            expected(R, "'}' (a yield ends its region)");
        break;
    }
    int np = prologue(R, r->owner);
    if (r->ids.n < np)
        fail(R, R->t.loc, "the body of %%%d ends before its %d %s", r->owner, np,
             inst(R, r->owner)->op == OP_FOR ? "ivar and carries" : "ivars");
}

/* ---- functions ---- */

static void read_input(Reader *R, Fn *f)
{
    Input x = {0};
    if (is_word(R, "data")) {
        x.is_data = 1;
        next(R);
    }
    x.name = read_name(R, "the input's name");
    expect_punct(R, ':');
    Loc at = R->t.loc;
    x.ty = read_type(R);
    if (x.ty.kind != TY_REAL)
        fail(R, at, "an input is real");
    if (is_word(R, "tangent")) {
        next(R);
        x.role = IN_TANGENT;
        at = R->t.loc;
        x.of = (int)read_int(R, 0, INT32_MAX, "an input's index");
        if (x.of >= f->in.n)
            fail(R, at, "a tangent is that of an input before it");
    } else if (is_word(R, "seed")) {
        next(R);
        x.role = IN_SEED;
    }
    vec_push(R->a, &f->in, x);
}

static void read_output(Reader *R, Fn *f, Loc *ref_at)
{
    Output o = {0};
    o.name = read_name(R, "the output's name");
    expect_punct(R, ':');
    o.ty = read_type(R);
    Loc at = R->t.loc;
    if (is_word(R, "return") || is_word(R, "array")) {
        o.role = is_word(R, "return") ? OUT_RETURN : OUT_ARRAY;
        next(R);
    } else if (is_word(R, "bar")) {
        next(R);
        o.role = OUT_BAR;
        at = R->t.loc;
        o.of = (int)read_int(R, 0, INT32_MAX, "an input's index");
        if (o.of >= f->in.n)
            fail(R, at, "bar %d: the function has %d input%s", o.of, f->in.n,
                 f->in.n == 1 ? "" : "s");
    } else {
        expected(R, "return, array or bar");
    }
    if (o.role == OUT_RETURN && (f->out.n || !ty_eq(o.ty, ty_scalar())))
        fail(R, at, "only the first output may be returned, and it is a real");
    expect_punct(R, '=');
    *ref_at = R->t.loc;
    if (R->t.kind != T_REF)
        expected(R, "a value (%N)");
    o.ref = (Ref)R->t.ref;
    next(R);
    vec_push(R->a, &f->out, o);
}

/* The outputs' values, once the body is read: visible at its end, and
 * shaped like the output (or a real filling an array). */
static void check_outputs(Reader *R, const Fn *f, const Loc *at)
{
    if (!f->out.n)
        fail(R, R->t.loc, "%s has no output", f->name);
    for (int i = 0; i < f->out.n; i++) {
        const Output *o = &f->out.p[i];
        if (o->ref >= f->v.n || (R->state[o->ref] & (DEFINED | SEEN)) != (DEFINED | SEEN) ||
            !is_value(inst(R, o->ref)))
            fail(R, at[i], "%%%d is not a value of the function's body", o->ref);
        Type t = inst(R, o->ref)->ty;
        if (!ty_eq(t, o->ty) && !(o->ty.rank && o->ty.kind == TY_REAL && ty_eq(t, ty_scalar())))
            fail(R, at[i], "output '%s' is %s, but %%%d is %s", diag_name(R->a, o->name),
                 type_text(R, o->ty), o->ref, type_text(R, t));
    }
}

/* [line=N] [col=N], the inputs and outputs, and the body of f. */
static void read_fn(Reader *R, Fn *f)
{
    if (is_word(R, "line")) {
        next(R);
        expect_punct(R, '=');
        f->line = (int)read_int(R, 0, MAX_LINE, "a line number");
    }
    if (is_word(R, "col")) {
        next(R);
        expect_punct(R, '=');
        f->col = (int)read_int(R, 0, MAX_LINE, "a column number");
    }
    expect_eol(R);
    VEC(Loc) at = {0};
    for (skip_blank(R); is_word(R, "in") || is_word(R, "out"); skip_blank(R)) {
        int out = is_word(R, "out");
        if (!out && f->out.n)
            fail(R, R->t.loc, "inputs come before outputs");
        next(R);
        Loc l = {0};
        if (out)
            read_output(R, f, &l);
        else
            read_input(R, f);
        vec_push(R->a, &at, l);
        expect_eol(R);
    }
    if (!is_punct(R, '{'))
        expected(R, "'in', 'out' or '{'");
    next(R);
    expect_eol(R);
    R->f = f;
    R->state = NULL;
    R->cap = 0;
    read_region(R, f->body);
    next(R);
    expect_eol(R);
    check_outputs(R, f, at.p + f->in.n);
    ir_verify(f);
}

/* ---- units and the file ---- */

static Fn **slot(Unit *u, FnKind kind)
{
    switch (kind) {
    case FN_PRIMAL: return &u->primal;
    case FN_JVP: return &u->jvp;
    case FN_HVP: return &u->hvp;
    default: return &u->grad;
    }
}

static void end_unit(Reader *R)
{
    if (R->unit && !R->unit->primal)
        fail(R, R->unit_at, "unit '%s' has no primal function", diag_name(R->a, R->unit_name));
}

static void read_unit(Reader *R)
{
    end_unit(R);
    R->unit_at = R->t.loc;
    next(R);
    Unit u = {0};
    R->unit_name = read_name(R, "the unit's name (its .dx function)");
    expect_punct(R, ':');
    u.ret = read_type(R);
    if (is_word(R, "small_tape")) {
        u.small_tape = 1;
        next(R);
    }
    expect_eol(R);
    vec_push(R->a, &R->p->units, u);
    R->unit = &R->p->units.p[R->p->units.n - 1];
}

/* fn NAME KIND ...: a function into its unit's slot, under a C name
 * of its own. */
static void place_fn(Reader *R)
{
    static const char *const kinds[] = {"primal", "jvp", "grad", "vjp", "hvp"};
    Loc at = R->t.loc;
    if (!R->unit)
        fail(R, at, "a function belongs to a unit: a 'unit' line comes first");
    next(R);
    const char *name = read_name(R, "the function's name");
    int kind = 0;
    while (kind < 5 && !is_word(R, kinds[kind]))
        kind++;
    if (kind == 5)
        expected(R, "primal, jvp, grad, vjp or hvp");
    next(R);
    Fn *f = ir_fn_new(R->a, name, (FnKind)kind);
    f->src_name = R->unit_name;
    for (int i = 0; i < R->p->units.n; i++) {
        Unit *u = &R->p->units.p[i];
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(u, fs); k < n; k++)
            if (!strcmp(fs[k]->name, f->name))
                fail(R, at, "a second function '%s'", diag_name(R->a, f->name));
    }
    Fn **s = slot(R->unit, f->kind);
    if (*s)
        fail(R, at, "unit '%s' already has its %s function", diag_name(R->a, R->unit_name),
             f->kind == FN_VJP || f->kind == FN_GRAD ? "grad (or vjp)" : kinds[kind]);
    read_fn(R, f);
    *s = f;
}

static void read_line(Reader *R)
{
    Loc at = R->t.loc;
    next(R);
    if (!R->path)
        fail(R, at, "a 'line' needs the 'source' line before it");
    SrcLine l;
    Loc nat = R->t.loc;
    l.n = (int)read_int(R, 1, MAX_LINE, "a line number");
    for (int i = 0; i < R->lines.n; i++)
        if (R->lines.p[i].n == l.n)
            fail(R, nat, "line %d is given twice", l.n);
    if (R->t.kind != T_STR)
        expected(R, "the line's text, in quotes");
    l.text = R->t.s;
    l.len = R->t.len;
    if (memchr(l.text, '\n', l.len))
        fail(R, R->t.loc, "a line's text holds no newline");
    next(R);
    expect_eol(R);
    vec_push(R->a, &R->lines, l);
}

static int by_number(const void *a, const void *b)
{
    return ((const SrcLine *)a)->n - ((const SrcLine *)b)->n;
}

/* The source the lines rebuild: each at its number, the others empty. */
static const Source *rebuild_source(Reader *R)
{
    if (!R->path)
        return NULL;
    if (R->lines.n)
        qsort(R->lines.p, (size_t)R->lines.n, sizeof(SrcLine), by_number);
    size_t len = 0;
    int at = 1;
    for (int i = 0; i < R->lines.n; i++) {
        len += (size_t)(R->lines.p[i].n - at) + R->lines.p[i].len;
        at = R->lines.p[i].n;
    }
    char *text = arena_alloc(R->a, len + 1);
    size_t k = 0;
    at = 1;
    for (int i = 0; i < R->lines.n; i++) {
        for (; at < R->lines.p[i].n; at++)
            text[k++] = '\n';
        memcpy(text + k, R->lines.p[i].text, R->lines.p[i].len);
        k += R->lines.p[i].len;
    }
    Source *s = arena_alloc(R->a, sizeof *s);
    *s = (Source){R->path, text, k};
    return s;
}

static void read_top(Reader *R)
{
    for (skip_blank(R); R->t.kind != T_EOF; skip_blank(R)) {
        if (is_word(R, "source")) {
            Loc at = R->t.loc;
            next(R);
            if (R->path)
                fail(R, at, "a second 'source' line");
            if (R->t.kind != T_STR)
                expected(R, "the source's path, in quotes");
            R->path = read_name(R, "the source's path");
            expect_eol(R);
        } else if (is_word(R, "line")) {
            read_line(R);
        } else if (is_word(R, "unit")) {
            read_unit(R);
        } else if (is_word(R, "fn")) {
            place_fn(R);
        } else {
            expected(R, "'source', 'line', 'unit' or 'fn'");
        }
    }
    end_unit(R);
}

int ir_read(Arena *a, Diag *d, const Source *src, Program *out)
{
    /* in the arena, not on the stack: longjmp leaves locals indeterminate */
    Reader *R = arena_alloc(a, sizeof *R);
    R->a = a;
    R->d = d;
    R->src = src;
    R->line = 1;
    R->p = out;
    /* a bound on Refs, so that %999999999 cannot ask for gigabytes */
    R->maxref = 4 * (long long)src->len + 4096;
    memset(out, 0, sizeof *out);
    out->arena = a;
    if (setjmp(R->fail))
        return 1;
    next(R);
    read_top(R);
    out->src = rebuild_source(R);
    for (int i = 0; i < out->units.n; i++) {
        Unit *u = &out->units.p[i];
        Fn *fs[4];
        for (int k = 0, n = ir_unit_fns(u, fs); k < n; k++)
            fs[k]->src = out->src;
    }
    return 0;
}
