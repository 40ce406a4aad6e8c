/*
 * cbody.c - the statements of one generated C function, once canalyse.c
 * has decided which values are variables and where arrays live
 * (cg_body):
 *
 *  - Expressions at the least parentheses C needs; integer powers as
 *    products; relu, sign, min and max as conditionals; sigmoid and
 *    softplus through the file's stable helpers.
 *  - Loops stay loops: GEN is a loop nest storing each element, RED a loop
 *    updating an accumulator, LOOP a loop nest of statements, named after
 *    the source's index variables.  Elements are addressed row-major,
 *    W[i, j] as W[i * N + j], with constant indices folded.
 *  - Source lines as block headers: a comment line "/ * line N: text * /"
 *    above the consecutive statements line N gives, written once; a
 *    trailing comment only where a statement says more (what a tape row
 *    holds, a loop that runs backwards).  Every statement starts with
 *    begin_stmt(), which writes the header first where one is due (and,
 *    with --line-directives, the mark clines.c makes a #line of).
 *  - <math.h> through the maths hooks (DX_EXP(x), cmaths.c).
 *
 * max and min reductions start at -HUGE_VAL (HUGE_VAL) and keep an element
 * only if it compares greater (less), as the interpreter does: NaN
 * elements are skipped, and a reduction over NaNs only is -HUGE_VAL
 * (HUGE_VAL).
 *
 * Nothing depends on addresses or hash order: output is byte-identical
 * from run to run.
 */
#include "cgen.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- index expressions ---------------- */

static int aff_terms(Aff x)
{
    int n = x.c != 0;
    for (int i = 0; i < x.n; i++)
        n += x.a[i] != 0;
    for (int k = 0; k < x.nq; k++)
        n += x.q[k].b != 0;
    return n;
}

static void aff_put(const Cg *c, Str *s, Aff x, int first);

/* An operand of a non-affine term: bare when it is an index variable or
 * a constant (or, on the left, a term itself: C's * / % associate
 * left), else in parentheses. */
static void q_operand(const Cg *c, Str *s, Aff x, int left)
{
    int bare = (x.nq == 0 && x.n == 0 && x.c >= 0) ||
               (x.nq == 0 && x.n == 1 && x.a[0] == 1 && !x.c) ||
               (left && x.nq == 1 && x.n == 0 && !x.c && x.q[0].b == 1);
    cg_puts(s, bare ? "" : "(");
    aff_put(c, s, x, 1);
    cg_puts(s, bare ? "" : ")");
}

/* b * (x OP y) as C, signed like aff_term: `i * (i - 1) / 2`, `2 * (i % 3)`
 * (C's / and % are floor division and remainder on the non-negative
 * operands the compiler proved). */
static void q_term_put(const Cg *c, Str *s, const AffQ *q, int *any)
{
    long long m = q->b < 0 ? -(long long)q->b : q->b;
    if (*any)
        cg_puts(s, q->b < 0 ? " - " : " + ");
    else if (q->b < 0)
        cg_puts(s, "-");
    if (m != 1)
        cg_putf(s, "%lld * (", m);
    q_operand(c, s, q->x, 1);
    cg_puts(s, q->op == AQ_MUL ? " * " : q->op == AQ_DIV ? " / " : " % ");
    q_operand(c, s, q->y, 0);
    cg_puts(s, m != 1 ? ")" : "");
    *any = 1;
}

static void aff_term(const Cg *c, Str *s, long long a, Ref iv, int *any)
{
    long long m = a < 0 ? -a : a;
    if (*any)
        cg_puts(s, a < 0 ? " - " : " + ");
    else if (a < 0)
        cg_puts(s, "-");
    if (m != 1)
        cg_putf(s, "%lld * ", m);
    cg_puts(s, c->cname[iv]);
    *any = 1;
}

/* x as C: `i + 1`, `9 - i`, `2 * i + 3 - j` (positive terms first).
 * first == 0 continues an expression already written (every term then
 * starts with + or -, and x == 0 writes nothing). */
static void aff_put(const Cg *c, Str *s, Aff x, int first)
{
    int any = !first, wrote_c = 0;
    for (int i = 0; i < x.n; i++)
        if (x.a[i] > 0)
            aff_term(c, s, x.a[i], x.iv[i], &any);
    for (int k = 0; k < x.nq; k++)
        if (x.q[k].b > 0)
            q_term_put(c, s, &x.q[k], &any);
    if (x.c > 0 || (x.c && !any)) {
        long long k = x.c;
        if (any)
            cg_putf(s, " %c %lld", k < 0 ? '-' : '+', k < 0 ? -k : k);
        else
            cg_putf(s, "%lld", k);
        any = wrote_c = 1;
    }
    for (int i = 0; i < x.n; i++)
        if (x.a[i] < 0)
            aff_term(c, s, x.a[i], x.iv[i], &any);
    for (int k = 0; k < x.nq; k++)
        if (x.q[k].b < 0)
            q_term_put(c, s, &x.q[k], &any);
    if (x.c && !wrote_c) {
        cg_putf(s, " - %lld", -(long long)x.c);
        any = 1;
    }
    if (!any)
        cg_puts(s, "0");
}

/* The row-major offset of element ix[0..n) of an array of type t, in
 * Horner form: W[i, j] is i * N + j, T[k, i, j] is (k * D + i) * D + j; a
 * constant prefix of indices is folded (X[2, j] is 2 * N + j).  A prefix
 * that is a sum is parenthesised before it is multiplied: how many open
 * at the start is counted before anything is written. */
static void index_put(const Cg *c, Str *s, Type t, const Aff *ix, int n)
{
    long long k = 0;
    int d = 0;
    if (ty_size(t) > INT_MAX)
        cg_puts(s, "(long long)"); /* a tape past INT_MAX elements: 64-bit offsets */
    for (; d < n && aff_terms(ix[d]) == (ix[d].c != 0); d++)
        k = k * ty_dim(t, d) + ix[d].c;
    if (d == n) {
        cg_putf(s, "%lld", k);
        return;
    }
    /* compound: the offset so far is a sum (after dimension e) */
    int compound = k ? aff_terms(ix[d]) > 0 : aff_terms(ix[d]) > 1, open = 0;
    for (int e = d + 1; e < n; e++) {
        open += compound;
        compound = aff_terms(ix[e]) > 0;
    }
    for (int i = 0; i < open; i++)
        cg_puts(s, "(");
    if (k)
        cg_putf(s, "%lld * %d", k, (int)ty_dim(t, d));
    aff_put(c, s, ix[d], !k);
    compound = k ? aff_terms(ix[d]) > 0 : aff_terms(ix[d]) > 1;
    for (int e = d + 1; e < n; e++) {
        if (compound)
            cg_puts(s, ")");
        cg_putf(s, " * %d", (int)ty_dim(t, e));
        aff_put(c, s, ix[e], 0);
        compound = aff_terms(ix[e]) > 0;
    }
}

/* The index of the element the loop nest of GEN g is at. */
static void gen_index_put(const Cg *c, Str *s, Ref g)
{
    const Fn *f = c->f;
    Type t = f->v.p[g].ty;
    Aff ix[DX_MAXRANK];
    Ref iv[DX_MAXRANK];
    int32_t one = 1;
    for (int d = 0; d < t.rank; d++) {
        iv[d] = ir_ivar(f, g, d);
        ix[d] = (Aff){0, 1, &iv[d], &one, 0, NULL};
    }
    index_put(c, s, t, ix, t.rank);
}

/* ---------------- expressions ---------------- */

/*
 * Expressions are written at the least parentheses C needs, with the
 * precedences of ops.def: an operand is parenthesised when its expression
 * binds less tightly than its place asks (the op's lhs for the first
 * operand, rhs for the last).  Every spelling is decided before it is
 * written.
 */

static void expr(Cg *c, Str *s, Ref v, CPrec minprec);

/* How x^n is written: x * x (* x), 1 / x, 1 / (x * x), or pow(x, n). */
typedef enum { PW_PRODUCT, PW_QUOTIENT, PW_CALL } PowForm;

static PowForm pow_form(double n)
{
    if (n == 2 || n == 3)
        return PW_PRODUCT;
    return n == -1 || n == -2 ? PW_QUOTIENT : PW_CALL;
}

/* The C precedence of the expression that computes v: its op's, but a
 * negative constant is a unary minus and an integer power may be a
 * product or a quotient. */
static CPrec op_prec(const Inst *in)
{
    if (in->op == OP_CONST && in->x->num < 0)
        return op_info[OP_NEG].prec;
    if (in->op == OP_POWI && pow_form(in->n) == PW_PRODUCT)
        return op_info[OP_MUL].prec;
    if (in->op == OP_POWI && pow_form(in->n) == PW_QUOTIENT)
        return op_info[OP_DIV].prec;
    return op_info[in->op].prec;
}

/* ... and of v as an operand: a variable is a primary expression, an
 * output pointer *x a unary one. */
static CPrec prec_of(const Cg *c, Ref v)
{
    if (cg_inlined(c, v))
        return op_prec(&c->f->v.p[v]);
    return c->cname[cg_var_of(c, v)][0] == '*' ? P_UNARY : P_PRIMARY;
}

/* v as an affine index expression: an inlined IREAL, or an integral
 * constant. */
static int as_index(const Cg *c, Ref v, Aff *x)
{
    v = cg_resolve(c, v);
    const Inst *in = &c->f->v.p[v];
    if (in->op == OP_IREAL) {
        *x = in->x->ix[0];
        return 1;
    }
    int32_t k;
    if (!ir_index_const(in, &k))
        return 0;
    *x = (Aff){k, 0, NULL, NULL, 0, NULL};
    return 1;
}

/* A comparison of index values (k == j rather than (double)k ==
 * (double)j): both convert to real exactly, so the result is the same. */
static int index_compare(const Cg *c, Str *s, const Inst *in)
{
    Aff x, y;
    if (!as_index(c, in->arg[0], &x) || !as_index(c, in->arg[1], &y) ||
        (aff_terms(x) == (x.c != 0) && aff_terms(y) == (y.c != 0)))
        return 0;
    if (aff_eq(x, y)) { /* i >= i: known, and C compilers warn about it */
        cg_puts(s, in->op == OP_EQ || in->op == OP_LE || in->op == OP_GE ? "1" : "0");
        return 1;
    }
    aff_put(c, s, x, 1);
    cg_put3(s, " ", op_info[in->op].cname, " ");
    aff_put(c, s, y, 1);
    return 1;
}

static void zero(Cg *c, Str *s)
{
    cg_literal(c, 0, s);
}

/* Whether the literal C writes for v starts with a minus sign. */
static int literal_negative(const Cg *c, double v)
{
    Str t = {0};
    cg_literal(c, v, &t);
    int neg = t.p[0] == '-';
    free(t.p);
    return neg;
}

/* Whether v, written as the operand of a prefix operator, starts with
 * '-' (so that "-" before it would make "--").  At that place every
 * expression looser than a unary one is parenthesised, and the unary and
 * primary ones start with their own text: a name, a call, a cast, a
 * literal, or the operator. */
static int starts_with_minus(const Cg *c, Ref v)
{
    v = cg_resolve(c, v);
    if (prec_of(c, v) < P_UNARY)
        return 0; /* "(" */
    if (!cg_inlined(c, v))
        return c->cname[cg_var_of(c, v)][0] == '-';
    const Inst *in = &c->f->v.p[v];
    Aff x = in->op == OP_IREAL ? in->x->ix[0] : (Aff){0, 0, NULL, NULL, 0, NULL};
    switch (in->op) {
    case OP_CONST:
        return in->ty.kind != TY_BOOL && literal_negative(c, in->x->num);
    case OP_IREAL: /* (double)i, or a constant's literal */
        return aff_terms(x) == (x.c != 0) && literal_negative(c, x.c);
    default: /* prefix operators: theirs; the rest start with a name */
        return op_info[in->op].prec == P_UNARY && op_info[in->op].cname[0] == '-';
    }
}

/* -a, !a; a that starts with '-' in parentheses: "--x" would be a
 * decrement. */
static void prefix_put(Cg *c, Str *s, const Inst *in)
{
    const OpInfo *o = &op_info[in->op];
    int paren = starts_with_minus(c, in->arg[0]);
    cg_puts(s, o->cname);
    cg_puts(s, paren ? "(" : "");
    expr(c, s, in->arg[0], o->rhs);
    cg_puts(s, paren ? ")" : "");
}

/* a op b. */
static void infix_put(Cg *c, Str *s, Op op, Ref a, Ref b)
{
    expr(c, s, a, op_info[op].lhs);
    cg_put3(s, " ", op_info[op].cname, " ");
    expr(c, s, b, op_info[op].rhs);
}

/* a op 0, for the conditionals that relu and sign are written as. */
static void compare_zero(Cg *c, Str *s, Op op, Ref a)
{
    expr(c, s, a, op_info[op].lhs);
    cg_put3(s, " ", op_info[op].cname, " ");
    zero(c, s);
}

/* cond ? a : b, both values given as Refs. */
static void select_put(Cg *c, Str *s, Ref cond, Ref a, Ref b)
{
    expr(c, s, cond, op_info[OP_SELECT].lhs);
    cg_puts(s, " ? ");
    expr(c, s, a, op_info[OP_SELECT].lhs);
    cg_puts(s, " : ");
    expr(c, s, b, op_info[OP_SELECT].rhs);
}

/* relu(a): a > 0 ? a : 0; sign(a): a > 0 ? 1 : (a < 0 ? -1 : 0). */
static void kink_put(Cg *c, Str *s, const Inst *in)
{
    Ref a = in->arg[0];
    compare_zero(c, s, OP_GT, a);
    cg_puts(s, " ? ");
    if (in->op == OP_RELU) {
        expr(c, s, a, op_info[OP_SELECT].lhs);
        cg_puts(s, " : ");
        zero(c, s);
        return;
    }
    cg_literal(c, 1, s);
    cg_puts(s, " : (");
    compare_zero(c, s, OP_LT, a);
    cg_puts(s, " ? ");
    cg_literal(c, -1, s);
    cg_puts(s, " : ");
    zero(c, s);
    cg_puts(s, ")");
}

/* min(a, b): a < b ? a : b; max(a, b): a > b ? a : b. */
static void extremum_put(Cg *c, Str *s, const Inst *in)
{
    Op cmp = in->op == OP_MIN ? OP_LT : OP_GT;
    infix_put(c, s, cmp, in->arg[0], in->arg[1]);
    cg_puts(s, " ? ");
    expr(c, s, in->arg[0], op_info[OP_SELECT].lhs);
    cg_puts(s, " : ");
    expr(c, s, in->arg[1], op_info[OP_SELECT].rhs);
}

/* a * a (* a): n factors. */
static void product_put(Cg *c, Str *s, Ref a, int n)
{
    expr(c, s, a, op_info[OP_MUL].lhs);
    for (int i = 1; i < n; i++) {
        cg_puts(s, " * ");
        expr(c, s, a, op_info[OP_MUL].rhs);
    }
}

/* a^n, n an integer, as pow_form says. */
static void powi_put(Cg *c, Str *s, Ref a, double n)
{
    switch (pow_form(n)) {
    case PW_PRODUCT:
        product_put(c, s, a, (int)n);
        return;
    case PW_QUOTIENT:
        cg_literal(c, 1, s);
        cg_puts(s, " / ");
        if (n == -1) {
            expr(c, s, a, op_info[OP_DIV].rhs);
        } else { /* a product is looser than a divisor */
            cg_puts(s, "(");
            product_put(c, s, a, (int)-n);
            cg_puts(s, ")");
        }
        return;
    case PW_CALL:
        cg_put3(s, cg_maths(c, "pow", c->o->use_float), "(", "");
        expr(c, s, a, P_ANY);
        cg_puts(s, ", ");
        cg_literal(c, n, s);
        cg_puts(s, ")");
        return;
    }
}

/* name(a, b, ...): a libm function through its hook (DX_EXP, DX_EXPF) or
 * one of the file's helpers (sigmoid, softplus, the strong-zero mulz and
 * divz). */
static void call_put(Cg *c, Str *s, const Inst *in)
{
    if (in->op == OP_SIGMOID || in->op == OP_DSIGMOID || in->op == OP_SOFTPLUS ||
        in->op == OP_DIGAMMA || in->op == OP_TRIGAMMA || in->op == OP_TETRAGAMMA ||
        in->op == OP_MULZ || in->op == OP_DIVZ) {
        int h = in->op == OP_SIGMOID    ? H_SIGMOID
                : in->op == OP_DSIGMOID ? H_DSIGMOID
                : in->op == OP_SOFTPLUS ? H_SOFTPLUS
                : in->op == OP_MULZ     ? H_MULZ
                : in->op == OP_DIVZ     ? H_DIVZ
                                        : H_DIGAMMA + (in->op - OP_DIGAMMA);
        c->helper_used[h] = 1;
        cg_put3(s, c->helper[h], "(", "");
    } else {
        if (op_info[in->op].kind != K_MATH || !op_info[in->op].cname[0])
            BUG("cgen: no C form for this op");
        cg_put3(s, cg_maths(c, op_info[in->op].cname, c->o->use_float), "(", "");
    }
    for (int k = 0; k < op_info[in->op].nargs; k++) {
        cg_puts(s, k ? ", " : "");
        expr(c, s, in->arg[k], P_ANY);
    }
    cg_puts(s, ")");
}

/* An element x[i * N + j], or a rank-0 cell x. */
static void element_put(Cg *c, Str *s, const Inst *in)
{
    Ref arr = cg_var_of(c, in->arg[0]);
    cg_puts(s, c->cname[arr]);
    if (in->nix) {
        cg_puts(s, "[");
        index_put(c, s, c->f->v.p[arr].ty, in->x->ix, in->nix);
        cg_puts(s, "]");
    }
}

/* An index expression as a real: (double)i, (double)(i + 1), or a
 * constant's literal. */
static void ireal_put(Cg *c, Str *s, Aff x)
{
    int n = aff_terms(x), bare = n == 1 && !x.c;
    if (n == (x.c != 0)) {
        cg_literal(c, x.c, s);
        return;
    }
    for (int i = 0; i < x.n; i++)
        bare &= x.a[i] == 0 || x.a[i] == 1;
    bare &= !x.nq; /* (double)(i % 3): a cast binds tighter than % */
    cg_putf(s, "(%s)%s", cg_real_t(c), bare ? "" : "(");
    aff_put(c, s, x, 1);
    cg_puts(s, bare ? "" : ")");
}

/* Whether v, inlined, tests a flag of a loop around for nonzero, past
 * the exit test that left the loop where it was 0: true there. */
static int stopped_true(const Cg *c, Ref v)
{
    const Fn *f = c->f;
    v = cg_resolve(c, v);
    const Inst *in = &f->v.p[v];
    if (!cg_inlined(c, v) || in->op != OP_NE)
        return 0;
    for (int k = 0; k < 2; k++) {
        const Inst *z = &f->v.p[cg_resolve(c, in->arg[1 - k])];
        Ref flag = cg_resolve(c, in->arg[k]);
        if (z->op != OP_CONST || z->x->num != 0)
            continue;
        for (int i = 0; i < c->stopped.n; i++)
            if (c->stopped.p[i] == flag)
                return 1;
    }
    return 0;
}

/* The expression that computes v, without parentheses around it. */
static void expr_inner(Cg *c, Str *s, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    const OpInfo *o = &op_info[in->op];
    switch (in->op) {
    case OP_AND: /* running != 0.0 && cond, past the exit test: cond */
        for (int k = 0; k < 2; k++)
            if (stopped_true(c, in->arg[k])) {
                expr(c, s, in->arg[1 - k], k ? o->lhs : o->rhs);
                return;
            }
        break;
    case OP_CONST:
        if (in->ty.kind == TY_BOOL)
            cg_puts(s, in->x->num != 0 ? "1" : "0");
        else
            cg_literal(c, in->x->num, s);
        return;
    case OP_IDX: element_put(c, s, in); return;
    case OP_IREAL: ireal_put(c, s, in->x->ix[0]); return;
    case OP_SELECT: select_put(c, s, in->arg[0], in->arg[1], in->arg[2]); return;
    case OP_RELU: case OP_SIGN: kink_put(c, s, in); return;
    case OP_MIN: case OP_MAX: extremum_put(c, s, in); return;
    case OP_POWI: powi_put(c, s, in->arg[0], in->n); return;
    default: break;
    }
    if (o->kind == K_BOOL && (o->prec == P_REL || o->prec == P_EQ) && index_compare(c, s, in))
        return; /* a comparison of index values */
    if ((o->kind == K_ARITH || o->kind == K_BOOL) && o->nargs == 1)
        prefix_put(c, s, in);
    else if (o->kind == K_ARITH || o->kind == K_BOOL)
        infix_put(c, s, (Op)in->op, in->arg[0], in->arg[1]);
    else
        call_put(c, s, in);
}

static void expr(Cg *c, Str *s, Ref v, CPrec minprec)
{
    v = cg_resolve(c, v);
    int paren = prec_of(c, v) < minprec;
    if (paren)
        cg_puts(s, "(");
    if (cg_inlined(c, v))
        expr_inner(c, s, v);
    else
        cg_puts(s, c->cname[cg_var_of(c, v)]);
    if (paren)
        cg_puts(s, ")");
}

/* ---------------- statements ---------------- */

static inline void indent(Cg *c)
{
    for (int i = 0; i < c->indent; i++)
        cg_puts(&c->body, "    ");
}

/* The comment that heads the statements of source line `line`, which
 * starts at offset i of src: the line's text as a comment may show it
 * (ASCII, tabs and runs of blanks as one space, never a comment's end,
 * cut at 48 characters, " ..." following, or at a # comment). */
static const char *line_comment(Arena *A, const Source *src, int line, size_t i)
{
    while (i < src->len && (src->text[i] == ' ' || src->text[i] == '\t'))
        i++;
    char text[64];
    size_t n = 0;
    for (; i < src->len && src->text[i] != '\n' && src->text[i] != '#' && n < 48; i++) {
        unsigned char ch = (unsigned char)src->text[i];
        if (ch == '\t')
            ch = ' ';
        if (ch < 32 || ch > 126)
            ch = '?';
        if (ch == '/' && n && text[n - 1] == '*')
            ch = ' '; /* never close the comment */
        if (ch == ' ' && n && text[n - 1] == ' ')
            continue;
        text[n++] = (char)ch;
    }
    int cut = i < src->len && src->text[i] != '\n' && src->text[i] != '#';
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\r'))
        n--;
    if (n && text[n - 1] == '/' && n > 1 && text[n - 2] == '*')
        n--;
    /* "/\* line N: TEXT[ ...] *\/\n", made without a format (a line's
     * comment cost more than a thousand instructions through one) */
    char num[16], *d = num + sizeof num;
    unsigned k = (unsigned)line;
    do
        *--d = (char)('0' + k % 10);
    while (k /= 10);
    size_t nd = (size_t)(num + sizeof num - d), nc = cut ? 4 : 0;
    char *out = arena_alloc(A, 8 + nd + 2 + n + nc + 4 + 1), *o = out;
    memcpy(o, "/* line ", 8), o += 8;
    memcpy(o, d, nd), o += nd;
    memcpy(o, ": ", 2), o += 2;
    memcpy(o, text, n), o += n;
    memcpy(o, " ...", nc), o += nc;
    memcpy(o, " */\n", 4), o += 4;
    *o = 0;
    return out;
}

void cg_source_lines(Cg *c, const Source *src)
{
    if (c->line_comments || !src)
        return;
    VEC(size_t) ls = {0};
    vec_push(c->A, &ls, 0);
    for (size_t k = 0; k < src->len; k++)
        if (src->text[k] == '\n')
            vec_push(c->A, &ls, k + 1);
    c->nlines = ls.n;
    c->line_comments = arena_alloc(c->A, sizeof(char *) * (size_t)(ls.n + 1));
    for (int l = 0; l < ls.n; l++)
        c->line_comments[l] = line_comment(c->A, src, l + 1, ls.p[l]);
}

/* Whether the statements of c's function have source lines to announce. */
static int has_comments(const Cg *c)
{
    return c->f->src && c->line_comments;
}

/* The comment that announces source line `line` (cg_c made them before
 * writing); NULL for no line. */
static const char *comment_of_line(const Cg *c, int line)
{
    if (line <= 0 || !has_comments(c) || line > c->nlines)
        return NULL;
    return c->line_comments[line - 1];
}

/* The source line last announced at nesting depth d (0: none yet). */
static inline int *said(Cg *c, int d)
{
    while (c->said.n <= d)
        vec_push(c->A, &c->said, 0);
    return &c->said.p[d];
}

/* Opens a block one level deeper: its statements start under the line
 * announced around it (a loop body from the loop's own line says
 * nothing more). */
static void enter_block(Cg *c)
{
    int outer = *said(c, c->indent);
    c->indent++;
    *said(c, c->indent) = outer;
}

/*
 * The statement about to be written comes from source line `line`.
 * Unless that line is the one last announced at this depth or inherited
 * from an enclosing block, a comment line "/ * line N: text * /" goes
 * first, at the statement's indentation; at the top level of the function
 * it is set off by a blank line from statements of another line (not at
 * the start of the body or of a pass).
 */
static void announce(Cg *c, int line)
{
    int *s = said(c, c->indent);
    if (c->body.n && c->body.p[c->body.n - 1] != '\n')
        BUG("cgen: a statement announced in the middle of a line");
    const char *comment = *s != line ? comment_of_line(c, line) : NULL;
    if (comment) {
        if (c->indent == 1 && !c->fresh && c->last_line != line)
            cg_puts(&c->body, "\n");
        indent(c);
        cg_puts(&c->body, comment);
        *s = line;
    }
    c->last_line = line;
    c->fresh = 0;
}

/* With --line-directives, the mark that the next line, a statement,
 * comes from source line `line` (clines.c). */
static void mark_line(Cg *c, int line)
{
    if (c->o->line_directives && line > 0)
        cg_putf(&c->body, "%c%d\n", CG_LINE_MARK, line);
}

/* Starts a statement, or the first line of a block (for, if), that comes
 * from source line `line`: its header if it needs one, its indentation. */
static inline void begin_stmt(Cg *c, int line)
{
    announce(c, line);
    mark_line(c, line);
    indent(c);
}

static void stmt_end(Cg *c)
{
    cg_puts(&c->body, ";\n");
}

/* ";  / * note * /": a statement that says more than its source line. */
static void stmt_end_note(Cg *c, const char *note)
{
    cg_putf(&c->body, ";  /* %s */\n", note);
}

enum { ROWS_CARRIED = 1, ROWS_ELEM = 2 };

/* What the rows of every buffer hold, for tape_what, in one pass over
 * f's ACCs (a pass for each tape statement took time quadratic in the
 * program's size): ROWS_CARRIED, a row holds a carried value (at the
 * start of an iteration); ROWS_ELEM, the elements a store overwrites. */
static void note_tape_rows(Cg *c)
{
    const Fn *f = c->f;
    if (!c->has_loops)
        return; /* no tape */
    c->tape_rows = arena_alloc(c->A, c->ntab);
    for (Ref v = 0; v < f->v.n; v++)
        if (f->v.p[v].op == OP_ACC) {
            Ref buf = f->v.p[v].arg[0];
            const Inst *x = &f->v.p[cg_resolve(c, f->v.p[v].arg[1])];
            if (x->op == OP_IDX)
                x = &f->v.p[cg_resolve(c, x->arg[0])];
            if (x->op == OP_CARRY)
                c->tape_rows[buf] |= ROWS_CARRIED;
            if (x->op == OP_CARRY && x->ty.rank >= f->v.p[buf].ty.rank)
                c->tape_rows[buf] |= ROWS_ELEM;
        }
}

/* What tape buf holds, read or written at index ix[0] (Aff of the loop's
 * index): "x at the start of iteration i" (a carried value), "a of
 * iteration i" (a value of the body), "the element of x that iteration i
 * overwrites" (a tape of a store's old elements, ad.c's elem_tape). */
static const char *tape_what(const Cg *c, Ref buf, Aff at)
{
    const Fn *f = c->f;
    const Inst *b = &f->v.p[buf];
    Arena *A = c->A;
    const char *what = ir_is_tape(b) && b->name
                           ? arena_printf(A, "%s%s", b->name, b->role == ROLE_TANGENT ? "_dot" : "")
                           : "the value";
    int rows = c->tape_rows ? c->tape_rows[buf] : 0; /* none without loops */
    int carried = rows & ROWS_CARRIED, elem = rows & ROWS_ELEM;
    Ref iv = NOREF;
    for (int k = 0; k < at.n && iv == NOREF; k++)
        if (at.a[k])
            iv = at.iv[k];
    if (iv == NOREF)
        return arena_printf(A, "%s before the loop", what);
    const Inst *loop = &f->v.p[f->v.p[iv].parent->owner];
    long long off = at.c + (loop->op == OP_FOR ? loop->x->ix[0].c : 0);
    /* shared: one row more than the loop has iterations, the value before
     * the loop in row 0, and iteration i's new value one row after its
     * start (at the end of the iteration) */
    int shared = loop->op == OP_FOR && b->ty.rank && ty_dim(b->ty, 0) == loop->x->ix[1].c - loop->x->ix[0].c + 1;
    const char *when = off == 1 && shared ? "at the end of"
                       : carried || shared ? "at the start of"
                                           : "of";
    if (elem)
        return arena_printf(A, "the %s of %s that iteration %s overwrites", b->ty.rank > 1 ? "row" : "element",
                            what, c->cname[iv]);
    return arena_printf(A, "%s %s iteration %s", what, when, c->cname[iv]);
}

static void emit_region(Cg *c, const Region *r);

/* A variable declared before its first assignment: at function scope
 * (hoisted), an output, or an if-result (before the if). */
static int declared_before(const Cg *c, Ref v)
{
    Ref root = cg_var_of(c, v);
    return v != root || c->hoist[root] || c->store[root] == ST_OUT ||
           (c->cname[root] && c->cname[root][0] == '*');
}

/* Computed in the pointer of a gradient output (x_bar, not out). */
static int is_bar_output(const Cg *c, Ref v)
{
    return c->bar[cg_var_of(c, v)];
}

/* Do the index variables of ix[0..n) have C names here? */
static int named_ix(const Cg *c, const Aff *ix, int n)
{
    for (int d = 0; d < n; d++) {
        for (int t = 0; t < ix[d].n; t++)
            if (!c->cname[ix[d].iv[t]])
                return 0;
        for (int k = 0; k < ix[d].nq; k++)
            if (!named_ix(c, &ix[d].q[k].x, 1) || !named_ix(c, &ix[d].q[k].y, 1))
                return 0;
    }
    return 1;
}

/* An element of array arr at ix[0..n) as the source would name it, with
 * suffix after the name: "B[2, j]", "B_bar[2, j]"; a tape's element is
 * the value it recorded ("h").  NULL where an index has no C name. */
static const char *element_text(Cg *c, Ref arr, const Aff *ix, int n, const char *suffix)
{
    arr = cg_var_of(c, arr);
    const Inst *a = &c->f->v.p[arr];
    const char *name = a->name ? a->name : c->cname[arr];
    if (!name || !named_ix(c, ix, n))
        return NULL;
    size_t k = strlen(name);
    if (k > 4 && !strcmp(name + k - 4, "_bar") && a->role == ROLE_ADJOINT) /* its value's name */
        name = arena_printf(c->A, "%.*s", (int)(k - 4), name);
    if (cg_is_tape(a))
        return arena_printf(c->A, "%s%s", name, suffix);
    Str s = {0};
    cg_putf(&s, "%s%s", name, suffix);
    for (int d = 0; d < n; d++) {
        cg_puts(&s, d ? ", " : "[");
        aff_put(c, &s, ix[d], 1);
    }
    cg_puts(&s, n ? "]" : "");
    const char *t = arena_printf(c->A, "%s", s.p);
    free(s.p);
    return t;
}

/* The adjoint of a value the source writes t: x_bar for a name x,
 * h_bar[k] for an element h[k], else adj(t). */
static const char *bar_of(Cg *c, const char *t)
{
    const char *q = t;
    while (isalnum((unsigned char)*q) || *q == '_')
        q++;
    if (q == t || (*q && (*q != '[' || t[strlen(t) - 1] != ']' || strchr(q + 1, '['))))
        return arena_printf(c->A, "adj(%s)", t);
    return arena_printf(c->A, "%.*s_bar%s", (int)(q - t), t, q);
}

/* Is --explain on, and f a gradient (f_grad, f_vjp)? */
static int explaining(const Cg *c)
{
    return c->o->explain && (c->f->kind == FN_GRAD || c->f->kind == FN_VJP);
}

/* For an operand x of a rule on source line `line` that is a row of a
 * loop's tape (h, read back) where that line assigns the same name (h =
 * tanh(Wh @ h ...)): which h it is, "h at the start of iteration t";
 * else NULL. */
static const char *step_of(const Cg *c, Ref x, int line)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[x];
    if (in->op != OP_IDX || !in->nix)
        return NULL;
    const Inst *b = &f->v.p[in->arg[0]];
    if (!ir_is_tape(b) || b->op != OP_ZEROS || !b->name)
        return NULL;
    for (Ref u = 0; u < f->v.n; u++) {
        const Inst *p = &f->v.p[u];
        if (p->line == line && p->name && !strcmp(p->name, b->name) && p->role == ROLE_PRIMAL &&
            p->op != OP_IDX && p->op != OP_CARRY && p->op != OP_ZEROS)
            return tape_what(c, in->arg[0], in->x->ix[0]);
    }
    return NULL;
}

/* The .dx function's name (square, of square_grad) if p is the value it
 * returns, unnamed in the source (fn square(x) = x ^ 2); else NULL. */
static const char *result_name(const Cg *c, Ref p)
{
    const Fn *f = c->f;
    if (!f->out.n || f->out.p[0].role != OUT_RETURN || cg_resolve(c, f->out.p[0].ref) != cg_resolve(c, p))
        return NULL;
    return f->src_name;
}

enum { ALIAS_AT = 16 }; /* an operand longer is called by a short name */

/* Does word w occur in s as a whole name? */
static int has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (const char *q = s; s && (q = strstr(q, w)); q++)
        if ((q == s || !(isalnum((unsigned char)q[-1]) || q[-1] == '_')) &&
            !(isalnum((unsigned char)q[n]) || q[n] == '_'))
            return 1;
    return 0;
}

/* A short name for a long operand of e, used by none of its texts. */
static const char *alias_for(const CgExplain *e)
{
    static const char *const names[] = {"z", "u", "q", "r", "z1", "z2"};
    for (int i = 0; i < 5; i++) {
        int used = e->y && has_word(e->y, names[i]);
        for (int k = 0; k < 3; k++)
            used |= e->arg[k] && has_word(e->arg[k], names[i]);
        if (!used)
            return names[i];
    }
    return names[5];
}

/* The chain-rule step of primal p's rule (operand k) as cg_explain_text
 * writes it; acc: say where the adjoint accumulates (-1: neither, and
 * name the indices as if no loop had C names yet: the forward pass).  NULL where an
 * operand or p itself has no C text here. */
static const char *rule_step(Cg *c, Ref p, int k, int line, int acc)
{
    const Inst *src = &c->f->v.p[p];
    Arena *A = c->A;
    const char *const *cn = acc >= 0 ? (const char *const *)c->cname : NULL;
    CgExplain e = {(Op)src->op, k, src->n, line, NULL, {NULL, NULL, NULL}, NULL, NULL, NULL};
    for (int i = 0; i < op_info[src->op].nargs; i++)
        e.arg[i] = cg_source_text(A, c->f, cn, src->arg[i], 1);
    e.y = src->name && src->role != ROLE_ADJOINT ? src->name : result_name(c, p);
    e.form = cg_source_text(A, c->f, cn, p, 0);
    const char *alias = NULL, *meant = NULL;
    for (int i = 0; i < op_info[src->op].nargs && !alias; i++)
        if (strlen(e.arg[i]) > ALIAS_AT) {
            alias = alias_for(&e);
            meant = e.arg[i];
            e.arg[i] = alias;
            e.form = NULL; /* the op's form of the short names */
        }
    if (acc > 0 && k < op_info[src->op].nargs) {
        e.xbar = e.arg[k] == alias ? arena_printf(A, "adj(%s)", alias) : bar_of(c, e.arg[k]);
        e.ybar = e.y ? bar_of(c, e.y) : NULL;
    }
    const char *t = cg_explain_text(A, &e);
    if (t && alias)
        t = cg_comment_safe(A, arena_printf(A, "%s, where %s = %s", t, alias, meant));
    for (int i = 0; t && cn && i < op_info[src->op].nargs; i++) {
        const char *when = step_of(c, src->arg[i], src->line);
        for (int j = 0; j < i && when; j++) /* x * x: say it once */
            if (src->arg[j] == src->arg[i])
                when = NULL;
        if (!when)
            continue;
        /* a tape's row (step_of): its buffer has the name */
        const char *n = c->f->v.p[c->f->v.p[src->arg[i]].arg[0]].name;
        t = cg_comment_safe(A, arena_printf(A, "%s; %s is the value %s", t, n, when + strlen(n) + 1));
    }
    return t;
}

/* The steps that make the adjoint of primal x: one per operand slot of
 * a primal instruction with a rule that reads x ("line 4: s = a + b;
 * ds/da = 1, so a_bar += s_bar"), joined by "; ", in x's region or at
 * the top; NULL if none has C text here. */
static const char *use_steps(Cg *c, Ref x)
{
    const Fn *f = c->f;
    Str s = {0};
    for (Ref u = 0; u < f->v.n; u++) {
        const Inst *p = &f->v.p[u];
        if (p->role != ROLE_PRIMAL || p->rule_op || !rule_has((Op)p->op) ||
            (p->parent != f->v.p[x].parent && p->parent != f->body) || cg_resolve(c, u) != u)
            continue;
        for (int k = 0; k < op_info[p->op].nargs; k++) {
            const char *t = p->arg[k] == x ? rule_step(c, u, k, p->line, 1) : NULL;
            if (t)
                cg_putf(&s, "%s%s", s.n ? "; " : "", t);
        }
    }
    const char *t = s.n ? arena_printf(c->A, "%s", s.p) : NULL;
    free(s.p);
    return t;
}

/* The primal value named `name` that v's adjoint is of: a parameter or a
 * primal instruction so named in v's region or at the top, the last one
 * before v; NOREF if none. */
static Ref primal_named(const Cg *c, Ref v, const char *name)
{
    const Fn *f = c->f;
    Ref best = NOREF;
    for (Ref u = 0; u < f->v.n && (u < v || best == NOREF); u++) {
        const Inst *p = &f->v.p[u];
        if (p->role == ROLE_PRIMAL && !p->rule_op && p->name && !strcmp(p->name, name) &&
            (p->parent == f->v.p[v].parent || p->parent == f->body))
            best = u;
    }
    return best;
}

/* What the source calls the variable of v: x_bar where C says x_bar_2
 * (v's IR name or its variable's, if an adjoint's), else its C name. */
static const char *var_text(const Cg *c, Ref v)
{
    Ref k = cg_var_of(c, v);
    for (int i = 0; i < 2; i++) {
        const char *n = c->f->v.p[i ? k : v].name;
        size_t len = n ? strlen(n) : 0;
        if (len > 4 && !strcmp(n + len - 4, "_bar"))
            return n;
    }
    return c->cname[k];
}

/* The primal whose adjoint the C variable `var` ("y_bar") holds, unless
 * that is the value `said` the step before names ("err_bar"). */
static Ref bar_primal(const Cg *c, Ref v, const char *var, const char *said)
{
    size_t n = var ? strlen(var) : 0;
    if (n <= 4 || strcmp(var + n - 4, "_bar") || (said && !strcmp(said, var)))
        return NOREF;
    return primal_named(c, v, arena_printf(c->A, "%.*s", (int)(n - 4), var));
}

/* Did opt_signs take a negation into accumulation `in` (x_bar -= t), and
 * give it the negation's rule? */
static int took_negation(const Inst *in)
{
    return in->rule_op && in->rule_arg >= 0 && in->rule_src != NOREF &&
           ((in->op == OP_SUB && (in->flags & IF_ACC)) || (in->op == OP_ACC && (in->flags & IF_SUB)));
}

static const char *explain_note(Cg *c, Ref v, int out, const char *var);

/* The steps of x_bar -= t: the negation's ("da/d(c * v) = -1, so adj(c *
 * v) -= a_bar"), then t's when t is written in the statement. */
static const char *negation_note(Cg *c, const Inst *in, const char *var)
{
    const char *neg = rule_step(c, in->rule_src, in->rule_arg, in->line, 1);
    Ref t = in->arg[1];
    const char *rest = cg_inlined(c, t) ? explain_note(c, cg_resolve(c, t), 1, var) : NULL;
    if (!neg || !rest)
        return neg ? neg : rest;
    const char *line = arena_printf(c->A, "line %d: ", in->line);
    if (!strncmp(neg, line, strlen(line)) && !strncmp(rest, line, strlen(line)))
        rest += strlen(line); /* one line: say it once */
    return arena_printf(c->A, "%s; %s", neg, rest);
}

/* With --explain, the chain-rule steps of the gradient's statement that
 * computes v into the C variable var ("line 3: p = sigmoid(z); dp/dz =
 * ..., so z_bar += ..."), or NULL: no --explain, not a gradient, or no
 * step found.  out: v is copied to a gradient output (it accumulates,
 * whatever its role); -1: v is a variable copied there, whose own
 * statement said its step.  A statement the optimiser folded to a copy or a
 * sum (a_bar = s_bar) says the steps of the uses of the value whose
 * adjoint var holds; one whose rule names another value than var's
 * (err_bar, in y_bar) says how var's value's adjoint follows from it. */
static const char *explain_note(Cg *c, Ref v, int out, const char *var)
{
    if (!explaining(c))
        return NULL;
    const Inst *in = &c->f->v.p[v];
    if (out >= 0 && took_negation(in))
        return negation_note(c, in, var);
    if (out >= 0 && ir_is_acc(in) && !in->rule_op && cg_inlined(c, in->arg[1])) {
        v = cg_resolve(c, in->arg[1]); /* x_bar += t: t says the step */
        in = &c->f->v.p[v];
        out = 1;
    }
    const char *note = NULL, *said = NULL;
    if (out >= 0 && in->rule_op && in->rule_arg >= 0 && in->role != ROLE_TANGENT && in->rule_src != NOREF) {
        const Inst *src = &c->f->v.p[in->rule_src];
        int acc = out || in->role == ROLE_ADJOINT || is_bar_output(c, v);
        note = rule_step(c, in->rule_src, in->rule_arg, in->line, acc);
        if (note && acc && in->rule_arg < op_info[src->op].nargs)
            said = bar_of(c, cg_source_text(c->A, c->f, (const char *const *)c->cname, src->arg[in->rule_arg], 1));
        if (!acc)
            return note;
    }
    Ref x = bar_primal(c, v, var, said);
    const char *more = x != NOREF ? use_steps(c, x) : NULL;
    if (!note || !more)
        return note ? note : more;
    return arena_printf(c->A, "%s; %s", note, more);
}

/* The size of an array declaration: `128 * 784`; the product when it
 * passes INT_MAX (a long tape); 1 for an empty one (a tape of a loop that
 * runs no iteration: C has no empty arrays). */
void cg_dims(const Cg *c, Str *s, Type t)
{
    (void)c;
    long long n = ty_size(t);
    if (n == 0 || n > INT_MAX) {
        cg_putf(s, "%lld", n ? n : 1);
        return;
    }
    for (int d = 0; d < t.rank; d++)
        cg_putf(s, "%s%d", d ? " * " : "", (int)ty_dim(t, d));
}

/* What a select-filled array's zeros are for (cg_fills_by_select). */
#define ZEROED_NOTE "zeroed: gcc -O2 cannot tell the loop fills it"

/* `double h[128 * 784];`, or its place in the workspace. */
static void declare_array(Cg *c, Ref v, int line)
{
    Ref root = cg_var_of(c, v);
    if (declared_before(c, v) || c->store[root] != ST_LOCAL)
        return;
    begin_stmt(c, line);
    Type t = c->f->v.p[root].ty;
    if (c->ws) {
        cg_putf(&c->body, "%s *%s = (%s *)%s", cg_real_t(c), c->cname[root], cg_real_t(c), c->work);
        if (c->off[root])
            cg_putf(&c->body, " + %lld", c->off[root]);
    } else {
        cg_putf(&c->body, "%s %s[", cg_real_t(c), c->cname[root]);
        cg_dims(c, &c->body, t);
        cg_puts(&c->body, "]");
        if (c->zeroed && c->zeroed[root]) { /* cg_fills_by_select */
            cg_puts(&c->body, " = {0}");
            stmt_end_note(c, ZEROED_NOTE);
            return;
        }
    }
    stmt_end(c);
}

static int index_taken(const Cg *c, const char *n)
{
    if (cg_local_taken(c, n))
        return 1;
    for (int i = 0; i < c->active.n; i++)
        if (!strcmp(c->active.p[i], n))
            return 1;
    return 0;
}

/* A name for a loop index: the source's, unique against every variable
 * and the enclosing loops' indices (sibling loops reuse i).  An index the
 * source does not name is the first free of i, j, k, l, m, n. */
static const char *open_index(Cg *c, const char *base)
{
    static const char *const deflt[] = {"i", "j", "k", "l", "m", "n"};
    if (!base) {
        for (int k = 0; k < 6 && !base; k++)
            if (!index_taken(c, deflt[(c->active.n + k) % 6]))
                base = deflt[(c->active.n + k) % 6];
        if (!base)
            base = deflt[c->active.n % 6];
    }
    const char *b = base;
    if (sema_c_taken(b) || cg_names_has(&c->globals, b))
        b = arena_printf(c->A, "%s_", b);
    const char *n = b;
    for (int k = 2; index_taken(c, n); k++)
        n = arena_printf(c->A, "%s_%d", b, k);
    vec_push(c->A, &c->active, n);
    return n;
}

/* for (int i = lo; i < hi; i++) {, or backwards from hi - 1 */
static void open_for(Cg *c, const char *iv, Aff lo, Aff hi, int back, int line)
{
    begin_stmt(c, line);
    cg_putf(&c->body, "for (int %s = ", iv);
    if (back) {
        hi.c -= 1;
        aff_put(c, &c->body, hi, 1);
        cg_putf(&c->body, "; %s >= ", iv);
        aff_put(c, &c->body, lo, 1);
        cg_putf(&c->body, "; %s--) {", iv);
    } else {
        aff_put(c, &c->body, lo, 1);
        cg_putf(&c->body, "; %s < ", iv);
        aff_put(c, &c->body, hi, 1);
        cg_putf(&c->body, "; %s++) {", iv);
    }
    cg_puts(&c->body, "\n");
    enter_block(c);
}

static void close_for(Cg *c, int n)
{
    for (int d = 0; d < n; d++) {
        c->indent--;
        indent(c);
        cg_puts(&c->body, "}\n");
        c->active.n--;
    }
}

/* dst[i] = src[i] (src an array) or dst[i] = src (a scalar) over all
 * elements of dst, in one flat loop. */
static void fill(Cg *c, const char *dst, Type t, Ref src, int line)
{
    if (!ty_size(t))
        return;
    const char *iv = open_index(c, NULL);
    begin_stmt(c, line);
    cg_putf(&c->body, "for (%s %s = 0; %s < ", ty_size(t) > INT_MAX ? "long long" : "int", iv, iv);
    cg_dims(c, &c->body, t);
    cg_putf(&c->body, "; %s++) %s[%s] = ", iv, dst, iv);
    if (src == NOREF)
        cg_literal(c, 0, &c->body);
    else if (c->f->v.p[cg_resolve(c, src)].ty.rank)
        cg_putf(&c->body, "%s[%s]", c->cname[cg_var_of(c, src)], iv);
    else
        expr(c, &c->body, src, P_ANY);
    stmt_end(c);
    c->active.n--;
}

static int live(const Cg *c, Ref v)
{
    return c->store[cg_var_of(c, v)] != ST_NONE;
}

/* Side s of the IF at position at of parent writes nothing: no
 * statement, and every result already in its variable (a loop's carried
 * value left as it is). */
static int branch_empty(const Cg *c, const Region *parent, int at, int s)
{
    const Fn *f = c->f;
    const Region *r = f->v.p[parent->ids.p[at]].x->reg[s];
    for (int i = 0; i < r->ids.n; i++)
        if (!cg_inlined(c, r->ids.p[i]) && f->v.p[r->ids.p[i]].op != OP_CONST)
            return 0;
    for (int j = 0; j < ir_nresults(f, parent, at); j++) {
        Ref res = parent->ids.p[at + 1 + j];
        if (cg_var_of(c, r->yield.p[f->v.p[res].n]) != cg_var_of(c, res))
            return 0;
    }
    return 1;
}

/* Branch s of the IF at parent->ids.p[at]: its region, then its yields
 * into the IF's results. */
static void emit_branch(Cg *c, const Region *parent, int at, int s)
{
    const Fn *f = c->f;
    const Region *r = f->v.p[parent->ids.p[at]].x->reg[s];
    int nr = ir_nresults(f, parent, at);
    emit_region(c, r);
    for (int j = 0; j < nr; j++) {
        Ref res = parent->ids.p[at + 1 + j];
        Ref y = r->yield.p[f->v.p[res].n];
        if (cg_var_of(c, y) == cg_var_of(c, res))
            continue; /* computed in place */
        if (c->store[res] == ST_PTR) {
            begin_stmt(c, f->v.p[res].line);
            cg_putf(&c->body, "%s = %s", c->cname[res], c->cname[cg_var_of(c, y)]);
            stmt_end(c);
            continue;
        }
        if (f->v.p[res].ty.rank) {
            if (live(c, res))
                fill(c, c->cname[cg_var_of(c, res)], f->v.p[res].ty, y, f->v.p[res].line);
            continue;
        }
        begin_stmt(c, f->v.p[res].line);
        cg_putf(&c->body, "%s = ", c->cname[cg_var_of(c, res)]);
        expr(c, &c->body, y, P_ANY);
        stmt_end(c);
    }
}

static void emit_if(Cg *c, const Region *parent, int at)
{
    const Fn *f = c->f;
    Ref id = parent->ids.p[at];
    const Inst *in = &f->v.p[id];
    int nr = ir_nresults(f, parent, at);
    for (int j = 0; j < nr; j++) {
        Ref res = parent->ids.p[at + 1 + j];
        if (c->store[res] == ST_PTR) {
            begin_stmt(c, f->v.p[res].line);
            cg_putf(&c->body, "const %s *%s", cg_real_t(c), c->cname[res]);
            stmt_end(c);
            continue;
        }
        if (f->v.p[res].ty.rank) {
            declare_array(c, res, f->v.p[res].line);
            continue;
        }
        if (declared_before(c, res))
            continue;
        begin_stmt(c, f->v.p[res].line);
        cg_putf(&c->body, "%s %s", cg_real_t(c), c->cname[res]);
        stmt_end(c);
    }
    if (stopped_true(c, in->arg[0])) { /* past the loop's exit test: taken */
        emit_branch(c, parent, at, 0);
        return;
    }
    int empty0 = branch_empty(c, parent, at, 0), empty1 = branch_empty(c, parent, at, 1);
    if (empty0 && empty1)
        return;
    int flip = empty0;
    begin_stmt(c, in->line);
    cg_puts(&c->body, flip ? "if (!(" : "if (");
    expr(c, &c->body, in->arg[0], P_ANY);
    cg_puts(&c->body, flip ? ")) {" : ") {");
    cg_puts(&c->body, "\n");
    for (int s = flip; s < 2; s++) {
        if (s == 1 && !flip) {
            if (empty1)
                break;
            indent(c);
            cg_puts(&c->body, "} else {\n");
        }
        enter_block(c);
        emit_branch(c, parent, at, s);
        c->indent--;
    }
    indent(c);
    cg_puts(&c->body, "}\n");
}

/* ---------------- element and row stores ---------------- */

/*
 * x[i] = e is a GEN over x's space yielding k == i ? e : x[k] (ir/
 * lower_store.c).  When the GEN computes x in place, every element but
 * the stored ones already holds its value, so only those are written:
 * x[i] = e, or a loop over the rest of a row.  A Store holds the pattern.
 */
typedef struct {
    int n;                   /* leading dimensions fixed by the store */
    Aff ix[DX_MAXRANK];      /* their indices, free of the GEN's IVARs */
    Ref part[4 * DX_MAXRANK]; /* the condition's instructions */
    int np;
    Ref value;               /* the element written */
} Store;

/* Is the affine x 1 * (IVAR d of g)?  Returns d, or -1. */
static int gen_ivar_of(const Fn *f, Ref g, Aff x)
{
    if (x.c || x.n != 1 || x.a[0] != 1)
        return -1;
    for (int d = 0; d < f->v.p[g].ty.rank; d++)
        if (x.iv[0] == ir_ivar(f, g, d))
            return d;
    return -1;
}

static int mentions_gen(const Fn *f, Ref g, Aff x)
{
    for (int t = 0; t < x.n; t++)
        for (int d = 0; d < f->v.p[g].ty.rank; d++)
            if (x.a[t] && x.iv[t] == ir_ivar(f, g, d))
                return 1;
    return 0;
}

/* cond, inlined, is a conjunction of (IVAR d of g) == aff, each d once. */
static int store_cond(const Cg *c, Ref g, Ref cond, Store *st, unsigned *seen)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[cond];
    if (!cg_inlined(c, cond) || st->np + 3 > (int)(sizeof st->part / sizeof st->part[0]))
        return 0;
    st->part[st->np++] = cond;
    if (in->op == OP_AND)
        return store_cond(c, g, in->arg[0], st, seen) && store_cond(c, g, in->arg[1], st, seen);
    if (in->op != OP_EQ)
        return 0;
    const Inst *a = &f->v.p[in->arg[0]], *b = &f->v.p[in->arg[1]];
    if (a->op != OP_IREAL || b->op != OP_IREAL)
        return 0;
    int d = gen_ivar_of(f, g, a->x->ix[0]);
    Aff other = b->x->ix[0];
    if (d < 0) {
        d = gen_ivar_of(f, g, b->x->ix[0]);
        other = a->x->ix[0];
    }
    if (d < 0 || (*seen >> d & 1) || mentions_gen(f, g, other))
        return 0;
    *seen |= 1u << d;
    st->ix[d] = other;
    st->part[st->np++] = in->arg[0];
    st->part[st->np++] = in->arg[1];
    return 1;
}

/* Nothing in region r but the store's own instructions (skip) reads
 * IVARs 0..n-1 of g, directly or through the condition. */
static int rest_free(const Cg *c, Ref g, const Region *r, const Store *st, Ref skip)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref u = r->ids.p[i];
        const Inst *in = &f->v.p[u];
        int own = u == skip;
        for (int k = 0; k < st->np; k++)
            own |= u == st->part[k];
        if (own || in->op == OP_IVAR)
            continue;
        for (int q = 0; q < 3; q++)
            for (int k = 0; k < st->np; k++)
                if (in->arg[q] != NOREF && in->arg[q] == st->part[k])
                    return 0;
        int na = in->op == OP_IDX || in->op == OP_ACC ? in->nix : in->op == OP_IREAL ? 1
               : in->op == OP_RED ? 2 : in->op == OP_LOOP ? 2 * in->nix : 0;
        for (int k = 0; k < na; k++)
            for (int t = 0; t < in->x->ix[k].n; t++)
                for (int d = 0; d < st->n; d++)
                    if (in->x->ix[k].iv[t] == ir_ivar(f, g, d) && in->x->ix[k].a[t])
                        return 0;
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s] && !rest_free(c, g, in->x->reg[s], st, skip))
                return 0;
    }
    return 1;
}

/* GEN id (one result res) is a store computed in place. */
static int in_place_store(const Cg *c, Ref id, Ref res, Store *st)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    Ref y = in->x->reg[0]->yield.p[0];
    const Inst *sel = &f->v.p[y];
    if (sel->op != OP_SELECT || !cg_inlined(c, y))
        return 0;
    const Inst *old = &f->v.p[sel->arg[2]];
    if (old->op != OP_IDX || !cg_inlined(c, sel->arg[2]) || old->nix != in->ty.rank ||
        cg_var_of(c, old->arg[0]) != cg_var_of(c, res))
        return 0;
    for (int d = 0; d < old->nix; d++)
        if (gen_ivar_of(f, id, old->x->ix[d]) != d)
            return 0;
    unsigned seen = 0;
    st->np = 0;
    if (!store_cond(c, id, sel->arg[0], st, &seen) || (seen & (seen + 1)))
        return 0;
    for (st->n = 0; seen >> st->n & 1; st->n++)
        ;
    st->part[st->np++] = sel->arg[2];
    st->value = sel->arg[1];
    return rest_free(c, id, in->x->reg[0], st, y);
}

/* x[i, j] = e (or a loop over the rest of a row), for in_place_store. */
static void emit_store(Cg *c, Ref id, Ref res, Store *st)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    int32_t one = 1;
    Ref iv[DX_MAXRANK];
    declare_array(c, res, f->v.p[res].line ? f->v.p[res].line : in->line);
    for (int d = st->n; d < in->ty.rank; d++) {
        iv[d] = ir_ivar(f, id, d);
        c->cname[iv[d]] = open_index(c, f->v.p[iv[d]].name);
        Aff lo = {.c = 0}, hi = {.c = ty_dim(in->ty, d)};
        open_for(c, c->cname[iv[d]], lo, hi, 0, d == st->n ? in->line : 0);
        st->ix[d] = (Aff){.c = 0, .n = 1, .iv = &iv[d], .a = &one};
    }
    emit_region(c, in->x->reg[0]);
    begin_stmt(c, f->v.p[res].line ? f->v.p[res].line : in->line);
    cg_putf(&c->body, "%s[", c->cname[cg_var_of(c, res)]);
    index_put(c, &c->body, in->ty, st->ix, in->ty.rank);
    cg_puts(&c->body, "] = ");
    expr(c, &c->body, st->value, P_ANY);
    stmt_end(c);
    close_for(c, in->ty.rank - st->n);
}

/* cond, inlined, compares an index of GEN g with ==, alone or in a
 * conjunction. */
static int picks_by_index(const Cg *c, Ref g, Ref cond)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[cond];
    if (!cg_inlined(c, cond))
        return 0;
    if (in->op == OP_AND)
        return picks_by_index(c, g, in->arg[0]) || picks_by_index(c, g, in->arg[1]);
    if (in->op != OP_EQ)
        return 0;
    for (int k = 0; k < 2; k++) {
        const Inst *a = &f->v.p[in->arg[k]];
        if (a->op == OP_IREAL && mentions_gen(f, g, a->x->ix[0]))
            return 1;
    }
    return 0;
}

/*
 * An array a loop fills choosing its elements by their index, as an
 * element store not made in place is written (x2[i] = i == 1 ? e : x[i]),
 * is declared zeroed: GCC's -O2 (12.2) threads the loop's jumps on the
 * comparison and then warns that the element it reads after the loop "may
 * be used uninitialized" (-Wmaybe-uninitialized), which breaks a build
 * with -Werror.  The zeros cost one store an element where the loop
 * stores one anyway; where GCC unrolls the loop it drops them.
 */
int cg_fills_by_select(const Cg *c, Ref gen, Ref res)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[gen];
    const Region *b = in->x->reg[0];
    Store st;
    if (b->yield.n == 1 && in_place_store(c, gen, res, &st))
        return 0;
    for (int k = 0; k < b->yield.n; k++) {
        Ref y = cg_resolve(c, b->yield.p[k]);
        if (f->v.p[y].op == OP_SELECT && cg_inlined(c, y) && picks_by_index(c, gen, f->v.p[y].arg[0]))
            return 1;
    }
    return 0;
}

/* The results of GEN: the loop nest over its index space, storing each
 * yield into its result array. */
static void emit_gen(Cg *c, const Region *r, int at)
{
    Store st;
    if (ir_nresults(c->f, r, at) == 1 && live(c, r->ids.p[at + 1]) &&
        in_place_store(c, r->ids.p[at], r->ids.p[at + 1], &st)) {
        emit_store(c, r->ids.p[at], r->ids.p[at + 1], &st);
        return;
    }
    const Fn *f = c->f;
    Ref id = r->ids.p[at];
    const Inst *in = &f->v.p[id];
    int nr = ir_nresults(f, r, at), rank = in->ty.rank;
    for (int j = 0; j < nr; j++) {
        Ref res = r->ids.p[at + 1 + j];
        if (live(c, res))
            declare_array(c, res, f->v.p[res].line ? f->v.p[res].line : in->line);
    }
    for (int d = 0; d < rank; d++) {
        Ref iv = ir_ivar(f, id, d);
        c->cname[iv] = open_index(c, f->v.p[iv].name);
        Aff lo = {0, 0, NULL, NULL, 0, NULL}, hi = {ty_dim(in->ty, d), 0, NULL, NULL, 0, NULL};
        open_for(c, c->cname[iv], lo, hi, 0, d == 0 ? in->line : 0);
    }
    emit_region(c, in->x->reg[0]);
    for (int j = 0; j < nr; j++) {
        Ref res = r->ids.p[at + 1 + j];
        if (!live(c, res))
            continue;
        begin_stmt(c, f->v.p[res].line ? f->v.p[res].line : in->line);
        cg_putf(&c->body, "%s[", c->cname[cg_var_of(c, res)]);
        gen_index_put(c, &c->body, id);
        cg_puts(&c->body, "] = ");
        expr(c, &c->body, in->x->reg[0]->yield.p[f->v.p[res].n], P_ANY);
        stmt_end(c);
    }
    close_for(c, rank);
}

/* The results of RED: accumulators, then one loop updating them. */
static void emit_red(Cg *c, const Region *r, int at)
{
    const Fn *f = c->f;
    Ref id = r->ids.p[at];
    const Inst *in = &f->v.p[id];
    int nr = ir_nresults(f, r, at), kind = in->red;
    static const double init[] = {0, 1, -HUGE_VAL, HUGE_VAL};
    for (int j = 0; j < nr; j++) {
        Ref res = r->ids.p[at + 1 + j];
        begin_stmt(c, f->v.p[res].line ? f->v.p[res].line : in->line);
        if (!declared_before(c, res))
            cg_putf(&c->body, "%s ", cg_real_t(c));
        cg_putf(&c->body, "%s = ", c->cname[cg_var_of(c, res)]);
        cg_literal(c, init[kind], &c->body);
        stmt_end(c);
    }
    Ref iv = ir_ivar(f, id, 0);
    c->cname[iv] = open_index(c, f->v.p[iv].name);
    open_for(c, c->cname[iv], in->x->ix[0], in->x->ix[1], 0, in->line);
    emit_region(c, in->x->reg[0]);
    for (int j = 0; j < nr; j++) {
        Ref res = r->ids.p[at + 1 + j];
        const char *acc = c->cname[cg_var_of(c, res)];
        Ref y = in->x->reg[0]->yield.p[f->v.p[res].n];
        begin_stmt(c, f->v.p[res].line ? f->v.p[res].line : in->line);
        if (kind == RK_SUM || kind == RK_PROD) {
            cg_putf(&c->body, "%s %s= ", acc, kind == RK_SUM ? "+" : "*");
            expr(c, &c->body, y, P_ANY);
        } else {
            Op cmp = kind == RK_MAX ? OP_GT : OP_LT;
            c->ties_used |= c->f->kind != FN_PRIMAL; /* f counts no ties */
            cg_puts(&c->body, "if (");
            expr(c, &c->body, y, op_info[cmp].lhs);
            cg_putf(&c->body, " %s %s) %s = ", op_info[cmp].cname, acc, acc);
            expr(c, &c->body, y, P_ANY);
        }
        stmt_end(c);
    }
    close_for(c, 1);
}

static void emit_loop(Cg *c, const Region *r, int at)
{
    const Fn *f = c->f;
    Ref id = r->ids.p[at];
    const Inst *in = &f->v.p[id];
    for (int d = 0; d < in->nix; d++) {
        Ref iv = ir_ivar(f, id, d);
        c->cname[iv] = open_index(c, f->v.p[iv].name);
        open_for(c, c->cname[iv], in->x->ix[d], in->x->ix[in->nix + d], (in->flags & IF_BACKWARDS) != 0,
                 d == 0 ? in->line : 0);
    }
    emit_region(c, in->x->reg[0]);
    close_for(c, in->nix);
}

/* ---------------- for loops ---------------- */

typedef VEC(Ref) Refs;

/* The variables (by representative) that writing v reads. */
static void reads_of(Cg *c, Ref v, Refs *out)
{
    v = cg_resolve(c, v);
    const Inst *in = &c->f->v.p[v];
    if (!cg_inlined(c, v)) {
        vec_push(c->A, out, cg_var_of(c, v));
        return;
    }
    if (in->op == OP_IDX) {
        vec_push(c->A, out, cg_var_of(c, in->arg[0]));
        return;
    }
    for (int k = 0; k < op_info[in->op].nargs; k++)
        reads_of(c, in->arg[k], out);
}

/* The end of an iteration: carried variable var takes the new value y. */
typedef struct {
    Ref y, var;
    const char *tmp;  /* y, saved in a temporary to break a cycle */
    Refs reads;       /* the variables that writing y reads */
    int line, done;
} Update;

/* A pending update other than j that still reads j's variable, or -1. */
static int blocker(const Update *u, int n, int j)
{
    for (int k = 0; k < n; k++) {
        if (k == j || u[k].done)
            continue;
        for (int q = 0; q < u[k].reads.n; q++)
            if (u[k].reads.p[q] == u[j].var)
                return k;
    }
    return -1;
}

static void write_update(Cg *c, Update *u)
{
    Type t = c->f->v.p[u->var].ty;
    u->done = 1;
    if (t.rank) {
        fill(c, c->cname[u->var], t, u->y, u->line);
        return;
    }
    begin_stmt(c, u->line);
    cg_putf(&c->body, "%s = ", c->cname[u->var]);
    const char *note = NULL;
    if (u->tmp) {
        cg_puts(&c->body, u->tmp);
    } else {
        expr(c, &c->body, u->y, P_ANY);
        note = explain_note(c, u->y, 0, var_text(c, u->var));
    }
    if (note)
        stmt_end_note(c, note);
    else
        stmt_end(c);
}

/* Carried arrays that take each other's old values (a, b = b, a): cyc[q]
 * takes cyc[q + 1]'s, the last takes cyc[0]'s; one loop rotates them
 * through a scalar. */
static void rotate(Cg *c, Update *u, const int *cyc, int m)
{
    Type t = c->f->v.p[u[cyc[0]].var].ty;
    const char *iv = open_index(c, NULL), *tmp = cg_unique(c, &c->locals, "old");
    begin_stmt(c, u[cyc[0]].line);
    cg_putf(&c->body, "for (%s %s = 0; %s < ", ty_size(t) > INT_MAX ? "long long" : "int", iv, iv);
    cg_dims(c, &c->body, t);
    cg_putf(&c->body, "; %s++) {", iv);
    cg_puts(&c->body, "  /* the carried arrays exchange their values */\n");
    enter_block(c);
    begin_stmt(c, u[cyc[0]].line);
    cg_putf(&c->body, "%s %s = %s[%s]", cg_real_t(c), tmp, c->cname[u[cyc[0]].var], iv);
    stmt_end(c);
    for (int q = 0; q < m; q++) {
        begin_stmt(c, u[cyc[q]].line);
        if (q + 1 < m)
            cg_putf(&c->body, "%s[%s] = %s[%s]", c->cname[u[cyc[q]].var], iv,
                 c->cname[u[cyc[q + 1]].var], iv);
        else
            cg_putf(&c->body, "%s[%s] = %s", c->cname[u[cyc[q]].var], iv, tmp);
        stmt_end(c);
        u[cyc[q]].done = 1;
    }
    c->indent--;
    indent(c);
    cg_puts(&c->body, "}\n");
    c->active.n--;
}

/*
 * The end of an iteration of FOR id: every carried variable not computed
 * in place takes its new value.  They change all at once, so an update
 * waits until no other pending one reads its variable; a cycle of scalars
 * (x, y = y, x) saves one new value in a temporary first, a cycle of
 * arrays is rotated element by element.
 */
static void emit_updates(Cg *c, Ref id)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    int n = in->nix;
    Update *u = arena_alloc(c->A, sizeof(Update) * (size_t)(n + 1));
    int *seen = arena_alloc(c->A, sizeof(int) * (size_t)(n + 1));
    for (int j = 0; j < n; j++) {
        Ref y = cg_resolve(c, in->x->reg[0]->yield.p[j]);
        u[j].y = y;
        u[j].var = cg_var_of(c, ir_carry(f, id, j));
        u[j].line = f->v.p[y].line ? f->v.p[y].line : in->line;
        /* computed in place, or a read of the scalar cell that is var */
        u[j].done = cg_var_of(c, y) == u[j].var ||
                    (cg_inlined(c, y) && f->v.p[y].op == OP_IDX && !f->v.p[y].nix &&
                     cg_var_of(c, f->v.p[y].arg[0]) == u[j].var);
        if (!u[j].done)
            reads_of(c, y, &u[j].reads);
    }
    for (;;) {
        int pick = -1, left = 0;
        for (int j = 0; j < n && pick < 0; j++)
            if (!u[j].done) {
                left = 1;
                if (blocker(u, n, j) < 0)
                    pick = j;
            }
        if (!left)
            break;
        if (pick >= 0) {
            write_update(c, &u[pick]);
            continue;
        }
        /* every pending update waits for another: a cycle */
        int j = -1;
        for (int k = 0; k < n && j < 0; k++)
            if (!u[k].done && !u[k].tmp && !f->v.p[u[k].var].ty.rank)
                j = k;
        if (j >= 0) {
            /* scalars wait only for scalars: walk back to one on the cycle */
            memset(seen, 0, sizeof(int) * (size_t)n);
            while (!seen[j]) {
                seen[j] = 1;
                j = blocker(u, n, j);
            }
            u[j].tmp = cg_unique(c, &c->locals, arena_printf(c->A, "%s_next", c->cname[u[j].var]));
            begin_stmt(c, u[j].line);
            cg_putf(&c->body, "%s %s = ", cg_real_t(c), u[j].tmp);
            expr(c, &c->body, u[j].y, P_ANY);
            const char *note = explain_note(c, u[j].y, 0, var_text(c, u[j].var));
            if (note)
                stmt_end_note(c, note);
            else
                stmt_end(c);
            u[j].reads.n = 0;
            continue;
        }
        /* arrays, each reading one other's: permutation cycles */
        int m = 0;
        for (int k = 0; k < n && j < 0; k++)
            if (!u[k].done)
                j = k;
        for (int k = j; m <= n;) {
            seen[m++] = k;
            int next = -1;
            for (int q = 0; q < n && next < 0; q++)
                if (!u[q].done && u[q].var == u[k].reads.p[0])
                    next = q;
            if (next < 0)
                BUG("cgen: carried arrays wait for each other without a cycle");
            if (next == j)
                break;
            k = next;
        }
        rotate(c, u, seen, m);
    }
}

/* With --explain, what the first value init of a reverse loop's carried
 * adjoint x_bar says: the steps of x's uses after the loop, or the seed
 * (the function returns x: dx/dx = 1); NULL if neither. */
static const char *seed_note(Cg *c, Ref carry, Ref init)
{
    const Fn *f = c->f;
    if (!explaining(c) || f->v.p[carry].role != ROLE_ADJOINT)
        return NULL;
    const char *var = var_text(c, carry), *note = explain_note(c, init, -1, var);
    const Inst *in = &f->v.p[init], *out = &f->v.p[f->out.p[0].ref];
    size_t n = var ? strlen(var) : 0;
    if (note || in->op != OP_CONST || in->x->num != 1 || n <= 4 || !out->name ||
        strncmp(out->name, var, n - 4) || out->name[n - 4])
        return note;
    return cg_comment_safe(c->A, arena_printf(c->A, "the seed: the function returns %s, "
                                                     "and d%s/d%s = 1", out->name, out->name, out->name));
}

/* `int ran = hi;` before a loop that may stop early, whose backward loop
 * rev then starts from its last iteration: the variable's name. */
static const char *stop_count(Cg *c, Ref rev, int line, long long hi)
{
    const char *n = c->stop_n[rev] = cg_unique(c, &c->locals, "ran");
    begin_stmt(c, line);
    cg_putf(&c->body, "int %s = %lld;  /* iterations run, for the backward pass */\n", n, hi);
    return n;
}

/* if (running == 0) break;, first recording the iterations run in ran
 * (or NULL). */
static void emit_exit(Cg *c, Ref flag, int line, const char *ran, const char *iv)
{
    begin_stmt(c, line);
    cg_puts(&c->body, "if (");
    expr(c, &c->body, flag, P_EQ);
    cg_puts(&c->body, " == ");
    zero(c, &c->body);
    if (ran)
        cg_putf(&c->body, ") {  /* stopped: the iterations left change nothing */\n");
    else
        cg_puts(&c->body, ") break;  /* stopped: the iterations left change nothing */\n");
    if (!ran)
        return;
    c->indent++;
    begin_stmt(c, line);
    cg_putf(&c->body, "%s = %s;\n", ran, iv);
    begin_stmt(c, line);
    cg_puts(&c->body, "break;\n");
    c->indent--;
    begin_stmt(c, line);
    cg_puts(&c->body, "}\n");
}

/* The iterations of the source loop one iteration of the checkpointing
 * loop id (IF_CKPT, ckpt.c) runs: the trip counts of the loops of its
 * line nested in it, down to the innermost. */
static long long segment_len(const Fn *f, Ref id)
{
    const Inst *in = &f->v.p[id];
    for (int i = 0; i < in->x->reg[0]->ids.n; i++) {
        Ref x = in->x->reg[0]->ids.p[i];
        const Inst *l = &f->v.p[x];
        if (l->op == OP_FOR && l->line == in->line) {
            long long n = (long long)l->x->ix[1].c - l->x->ix[0].c;
            return l->flags & IF_CKPT ? n * segment_len(f, x) : n;
        }
    }
    return 1;
}

/* for (int i = lo; i < hi; i++) { body; updates }, backwards from hi - 1
 * for k = 1, after the carried variables take their initial values. */
static void emit_for(Cg *c, const Region *r, int at)
{
    const Fn *f = c->f;
    Ref id = r->ids.p[at];
    const Inst *in = &f->v.p[id];
    for (int j = 0; j < in->nix; j++) {
        Ref root = cg_var_of(c, ir_carry(f, id, j)), init = cg_resolve(c, in->x->list[j]);
        if (cg_var_of(c, init) == root ||
            (c->frozen[init] && cg_var_of(c, f->v.p[init].arg[0]) == root))
            continue; /* computed in it */
        Type t = f->v.p[root].ty;
        int decl = cg_owns(c, id, root) && !declared_before(c, root);
        if (t.rank) {
            if (decl)
                declare_array(c, root, in->line);
            fill(c, c->cname[root], t, init, in->line);
            continue;
        }
        begin_stmt(c, in->line);
        if (decl)
            cg_putf(&c->body, "%s ", cg_real_t(c));
        cg_putf(&c->body, "%s = ", c->cname[root]);
        expr(c, &c->body, init, P_ANY);
        const char *note = seed_note(c, ir_carry(f, id, j), init);
        if (note)
            stmt_end_note(c, note);
        else
            stmt_end(c);
    }
    if (in->x->ix[0].n || in->x->ix[1].n)
        BUG("cgen: a for loop with bounds that are not constants");
    long long lo = in->x->ix[0].c, hi = in->x->ix[1].c;
    int back = (in->flags & IF_BACKWARDS) != 0;
    Ref rev, ivr = ir_ivar(f, id, 0);
    int flag = cg_exit_flag(c, id, &rev);
    const char *ran = rev != NOREF ? stop_count(c, rev, in->line, hi) : NULL;
    const char *iv = c->cname[ivr] = open_index(c, f->v.p[ivr].name);
    begin_stmt(c, in->line);
    if (back && c->stop_n[id])
        cg_putf(&c->body, "for (int %s = %s - 1; %s >= %lld; %s--) {", iv, c->stop_n[id], iv, lo, iv);
    else if (back)
        cg_putf(&c->body, "for (%s %s = %lld; %s >= %lld; %s--) {",
             lo == INT_MIN || hi - 1 < INT_MIN ? "long long" : "int", iv, hi - 1, iv, lo, iv);
    else
        cg_putf(&c->body, "for (int %s = %lld; %s < %lld; %s++) {", iv, lo, iv, hi, iv);
    if (in->flags & IF_CKPT)
        cg_putf(&c->body, back ? "  /* backwards, a segment of %lld steps at a time: run it forward "
                                 "again from its snapshot, then back */\n"
                               : "  /* checkpointing: %lld steps per iteration */\n",
                segment_len(f, id));
    else if (back && explaining(c))
        cg_putf(&c->body, "  /* backwards: undo step %s of the forward loop, the last step first, "
                "each adjoint taking the local derivatives of that step */\n", iv);
    else
        cg_puts(&c->body, back ? "  /* backwards */\n" : "\n");
    enter_block(c);
    if (flag >= 0) { /* past the exit test, the flag is known not to be 0 */
        Ref running = ir_carry(f, id, flag);
        emit_exit(c, running, in->line, ran, iv);
        vec_push(c->A, &c->stopped, cg_resolve(c, running));
    }
    emit_region(c, in->x->reg[0]);
    emit_updates(c, id);
    if (flag >= 0)
        c->stopped.n--;
    close_for(c, 1);
}

/* A fresh buffer: an adjoint array, or a rank-0 accumulator cell. */
static void emit_zeros(Cg *c, Ref id)
{
    const Inst *in = &c->f->v.p[id];
    if (!in->ty.rank) {
        begin_stmt(c, in->line);
        if (!declared_before(c, id))
            cg_putf(&c->body, "%s ", cg_real_t(c));
        cg_putf(&c->body, "%s = ", c->cname[cg_var_of(c, id)]);
        zero(c, &c->body);
        stmt_end(c);
        return;
    }
    declare_array(c, id, in->line);
    if (!(in->flags & IF_NOINIT))
        fill(c, c->cname[cg_var_of(c, id)], in->ty, NOREF, in->line);
}

static void emit_lit(Cg *c, Ref id)
{
    const Inst *in = &c->f->v.p[id];
    if (!live(c, id))
        return;
    declare_array(c, id, in->line);
    for (int j = 0; j < in->nix; j++) {
        begin_stmt(c, in->line);
        cg_putf(&c->body, "%s[%d] = ", c->cname[cg_var_of(c, id)], j);
        expr(c, &c->body, in->x->list[j], P_ANY);
        stmt_end(c);
    }
}

/* With --explain, what the backward pass needs tape b for: the local
 * derivatives of the rules whose adjoint statements read b's rows,
 * directly or through primal values recomputed from them ("d(Wh[j, k] *
 * h[k])/dWh[j, k] = h[k] (line 14)"), the first two and how many more,
 * joined by "; "; NULL if none is found. */
static const char *tape_uses(Cg *c, Ref b)
{
    const Fn *f = c->f;
    unsigned char *dep = arena_alloc(c->A, (size_t)f->v.n + 1);
    for (int changed = 1, round = 0; changed && round < 64; round++) {
        changed = 0;
        for (Ref u = 0; u < f->v.n; u++) {
            const Inst *in = &f->v.p[u];
            int d = in->op == OP_IDX && in->arg[0] == b && in->role == ROLE_PRIMAL;
            for (int k = 0; k < 3 && !d && in->role == ROLE_PRIMAL && in->op != OP_ACC; k++)
                d = in->arg[k] != NOREF && dep[in->arg[k]];
            if (d && !dep[u] && c->uses[u] > 0)
                dep[u] = changed = 1;
        }
    }
    const char *said[2] = {NULL, NULL};
    int more = 0;
    for (Ref u = 0; u < f->v.n; u++) {
        const Inst *in = &f->v.p[u];
        if (in->role != ROLE_ADJOINT || !in->rule_op || in->rule_arg < 0 || in->rule_src == NOREF ||
            (c->uses[u] == 0 && in->op != OP_ACC))
            continue;
        int d = 0;
        for (int k = 0; k < 3; k++)
            d |= in->arg[k] != NOREF && dep[in->arg[k]];
        const char *t = d ? rule_step(c, in->rule_src, in->rule_arg, in->line, -1) : NULL;
        const char *colon = t ? strstr(t, ": ") : NULL;
        if (colon) /* "line 14: d..." as "d... (line 14)" */
            t = arena_printf(c->A, "%s (%.*s)", colon + 2, (int)(colon - t), t);
        if (!t || (said[0] && !strcmp(t, said[0])) || (said[1] && !strcmp(t, said[1])))
            continue;
        if (said[0] && said[1])
            more++;
        else
            said[said[0] != NULL] = t;
    }
    if (!said[0])
        return NULL;
    return arena_printf(c->A, "%s%s%s%s", said[0], said[1] ? "; " : "", said[1] ? said[1] : "",
                        more ? arena_printf(c->A, "; and %d more", more) : "");
}

/* b[ix] += v (b not zeroed: b[ix] = v; IF_SUB: b[ix] -= v). */
static void emit_acc(Cg *c, Ref id)
{
    const Inst *in = &c->f->v.p[id];
    Ref b = cg_var_of(c, in->arg[0]);
    begin_stmt(c, in->line);
    cg_puts(&c->body, c->cname[b]);
    if (in->nix) {
        cg_puts(&c->body, "[");
        index_put(c, &c->body, c->f->v.p[b].ty, in->x->ix, in->nix);
        cg_puts(&c->body, "]");
    }
    int store = (in->flags & IF_STORE) != 0;
    cg_puts(&c->body, store ? " = " : in->flags & IF_SUB ? " -= " : " += ");
    expr(c, &c->body, in->arg[1], P_ANY);
    const char *note = NULL;
    const char *needs = NULL;
    if (store && in->nix && cg_is_tape(&c->f->v.p[b]) && c->f->v.p[b].op == OP_ZEROS && explaining(c))
        needs = tape_uses(c, b);
    if (needs)
        note = cg_comment_safe(c->A, arena_printf(c->A, "the tape keeps %s: the backward "
                                                         "pass needs it for %s", tape_what(c, b, in->x->ix[0]), needs));
    else if (store && in->nix && cg_is_tape(&c->f->v.p[b]) && c->f->v.p[b].op == OP_ZEROS)
        note = arena_printf(c->A, "the tape keeps %s%s", tape_what(c, b, in->x->ix[0]),
                            explaining(c) ? ": the backward pass reads it back for the local "
                                            "derivatives of that step instead of recomputing it"
                                          : "");
    else if (!store && explaining(c) && took_negation(in))
        note = negation_note(c, in, var_text(c, b)); /* x_bar -= t */
    else if (!store && explaining(c) && in->rule_op && in->rule_op != OP_IDX && in->rule_src != NOREF)
        note = rule_step(c, in->rule_src, in->rule_arg, in->line, 1); /* a_bar += s_bar */
    else if (!store)
        note = explain_note(c, in->arg[1], cg_inlined(c, in->arg[1]) ? 1 : -1, var_text(c, b));
    if (!note && explaining(c) && in->rule_op == OP_IDX && in->nix) {
        /* the transpose of reading an element: its adjoint goes back there */
        const char *x = element_text(c, b, in->x->ix, in->nix, "");
        const char *xbar = element_text(c, b, in->x->ix, in->nix, "_bar");
        if (x && xbar && strcmp(x, xbar))
            note = cg_comment_safe(c->A, arena_printf(c->A, "line %d reads %s: the adjoint "
                                                             "of that read accumulates into %s",
                                                             in->line, x, xbar));
    }
    if (note)
        stmt_end_note(c, note);
    else
        stmt_end(c);
}

static void output_copy(Cg *c, int i);

/* Where the reverse sweep of a gradient begins: before the statement at
 * position `at` (INT_MAX: after the last). */
static void backward_header(Cg *c, int at)
{
    if (c->backward_started || (c->f->kind != FN_GRAD && c->f->kind != FN_VJP))
        return;
    c->backward_started = 1;
    /* the primal result belongs to the forward pass (out = x) */
    for (int i = 0; i < c->f->out.n; i++)
        if (c->f->out.p[i].role == OUT_ARRAY && !c->in_place[i] &&
            c->pos[cg_resolve(c, c->f->out.p[i].ref)] < at) {
            output_copy(c, i);
            c->in_place[i] = 1;
        }
    cg_puts(&c->body, "\n");
    indent(c);
    cg_puts(&c->body, "/* backward pass: adjoints, from the result back to the inputs */\n");
    *said(c, c->indent) = 0; /* the pass announces its lines anew */
    c->fresh = 1;
}

/* Whether id is a forward loop that holds the backward pass of its
 * iterations (opt_join, ir/onepass.c). */
static inline int joined(const Cg *c, Ref id)
{
    const Inst *in = &c->f->v.p[id];
    if (in->op != OP_RED || ir_is_rev(in))
        return 0;
    const Region *b = in->x->reg[0];
    for (int i = 0; i < b->ids.n; i++)
        if (ir_is_rev(&c->f->v.p[b->ids.p[i]]))
            return 1;
    return 0;
}

/* Whether the statements of r from position i on are zeroed adjoints up
 * to a joined loop: they belong to it, under its comment. */
static int joined_ahead(const Cg *c, const Region *r, int i)
{
    for (; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &c->f->v.p[id];
        if (joined(c, id))
            return 1;
        if (in->op != OP_ZEROS && !cg_inlined(c, id))
            return 0;
    }
    return 0;
}

static void joined_header(Cg *c)
{
    if (c->joined_said)
        return;
    c->joined_said = 1;
    if (!c->body.n)
        c->joined_first = 1;
    else
        cg_puts(&c->body, "\n");
    indent(c);
    cg_puts(&c->body, "/* forward and backward pass in one loop: nothing after this sum feeds\n");
    indent(c);
    cg_puts(&c->body, " * back into it, so its adjoint is known before it runs, and each\n");
    indent(c);
    cg_puts(&c->body, " * iteration adds its adjoints right after computing its value */\n");
    *said(c, c->indent) = 0;
    c->fresh = 1;
}

/* What emit_items does with item i of region r: nothing (ITEM_NONE: a
 * parameter, an index variable, a value written inside its user), one
 * statement (ITEM_STMT: a value, an accumulation), or something else
 * (ITEM_OTHER: a loop, a branch, a buffer, a dead value, which may still
 * head a pass). */
enum { ITEM_NONE, ITEM_STMT, ITEM_OTHER };

static inline int item_kind(const Cg *c, const Region *r, int i)
{
    Ref id = r->ids.p[i];
    switch (c->f->v.p[id].op) {
    case OP_PARAM: case OP_RESULT: case OP_IVAR: case OP_NODIFF: case OP_CARRY:
        return ITEM_NONE;
    case OP_ACC:
        return cg_inlined(c, id) ? ITEM_NONE : ITEM_STMT;
    case OP_IF: case OP_GEN: case OP_RED: case OP_LOOP: case OP_FOR: case OP_ZEROS: case OP_LIT:
        return cg_inlined(c, id) ? ITEM_NONE : ITEM_OTHER;
    default:
        break;
    }
    if (cg_inlined(c, id))
        return ITEM_NONE;
    return c->uses[id] == 0 && !is_bar_output(c, id) ? ITEM_OTHER : ITEM_STMT;
}

/* Whether item i (not ITEM_NONE) of the function's body heads a joined
 * loop (joined_header), or else begins the backward pass if no item
 * before it has (backward_header). */
static inline int heads_joined(const Cg *c, const Region *r, int i)
{
    Ref id = r->ids.p[i];
    return (c->f->v.p[id].op == OP_ZEROS || joined(c, id)) && joined_ahead(c, r, i);
}

static inline int heads_backward(const Cg *c, const Region *r, int i)
{
    Ref id = r->ids.p[i];
    return ir_is_rev(&c->f->v.p[id]) || is_bar_output(c, id);
}

/* The items from..to-1 of region r. */
static void emit_items(Cg *c, const Region *r, int from, int to)
{
    const Fn *f = c->f;
    for (int i = from; i < to; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (i + IR_AHEAD < to)
            ir_prefetch_args(f, &f->v.p[r->ids.p[i + IR_AHEAD]]);
        int kind = item_kind(c, r, i);
        if (kind == ITEM_NONE)
            continue;
        if (r == f->body && heads_joined(c, r, i))
            joined_header(c);
        else if (r == f->body && heads_backward(c, r, i))
            backward_header(c, c->pos[id]);
        if (joined(c, id))
            c->joined_said = 0; /* the next joined loop says it again */
        switch (in->op) {
        case OP_IF: emit_if(c, r, i); continue;
        case OP_GEN: emit_gen(c, r, i); continue;
        case OP_RED: emit_red(c, r, i); continue;
        case OP_LOOP: emit_loop(c, r, i); continue;
        case OP_FOR: emit_for(c, r, i); continue;
        case OP_ZEROS: emit_zeros(c, id); continue;
        case OP_LIT: emit_lit(c, id); continue;
        case OP_ACC: emit_acc(c, id); continue;
        default: break;
        }
        if (kind != ITEM_STMT)
            continue; /* dead */
        begin_stmt(c, in->line);
        Ref k = cg_var_of(c, id);
        if (k != id && ir_is_acc(in) && cg_var_of(c, in->arg[0]) == k) {
            cg_put3(&c->body, c->cname[k], " ", op_info[in->op].cname);
            cg_puts(&c->body, "= ");
            expr(c, &c->body, in->arg[1], op_info[in->op].rhs); /* as in x = x + t */
        } else if (k != id) {
            cg_put3(&c->body, c->cname[k], " = ", "");
            expr_inner(c, &c->body, id);
        } else {
            int decl = !declared_before(c, id);
            cg_put3(&c->body, decl ? cg_real_t(c) : "", decl ? " " : "", c->cname[id]);
            cg_puts(&c->body, " = ");
            expr_inner(c, &c->body, id);
        }
        if (in->op == OP_IDX && in->nix && cg_is_tape(&f->v.p[cg_var_of(c, in->arg[0])]) &&
            f->v.p[cg_var_of(c, in->arg[0])].op == OP_ZEROS)
            stmt_end_note(c, arena_printf(c->A, "%s, recorded by the forward pass",
                                          tape_what(c, cg_var_of(c, in->arg[0]), in->x->ix[0])));
        else if (explain_note(c, id, 0, var_text(c, k)))
            stmt_end_note(c, explain_note(c, id, 0, var_text(c, k)));
        else
            stmt_end(c);
    }
}

static void emit_region(Cg *c, const Region *r)
{
    emit_items(c, r, 0, r->ids.n);
}

static void output_copy(Cg *c, int i)
{
    const Fn *f = c->f;
    Ref v = cg_resolve(c, f->out.p[i].ref);
    int line = f->v.p[v].line;
    Ref r0 = cg_resolve(c, f->out.p[0].ref);
    if (f->v.p[v].op == OP_PARAM || f->v.p[v].op == OP_CONST || !line)
        line = f->v.p[r0].line ? f->v.p[r0].line : f->line;
    if (f->out.p[i].ty.rank) {
        fill(c, c->out_names[i], f->out.p[i].ty, v, line);
        return;
    }
    begin_stmt(c, line);
    cg_putf(&c->body, "*%s = ", c->out_names[i]);
    expr(c, &c->body, v, P_ANY);
    const char *note = explain_note(c, v, cg_inlined(c, v) ? 1 : -1, arena_printf(c->A, "%s", c->out_names[i]));
    if (note)
        stmt_end_note(c, note);
    else
        stmt_end(c);
}

/* ---------------- a large body in two halves ----------------
 *
 * The statements of a large function are most of the time the C
 * generator takes, and one depends on those before it only through the
 * headers (announce: the line announced last, whether a pass has just
 * begun; backward_header: whether the backward pass has).  After a
 * statement of a line that has a comment, that state is known without
 * writing anything before it: the line announced, the pass under way,
 * and the backward pass begun if an item before began it.  So where the
 * writer allows it (c->halves: several writers, and no pass running
 * beside them), the body's top level is cut at such a statement, past
 * its middle, where only statements follow; another thread writes the
 * second half with a copy of c (its own arena, cache of literals and
 * text; the analysis, which writing a statement only reads, shared)
 * while this one writes the first, and the two texts joined are what one
 * thread writes.  The first half's state at the cut is checked against
 * the one assumed, and the second half written again here should they
 * differ.
 */

enum { SPLIT_MIN = 20000 }; /* top-level items: fewer are written at once */

/* A function's text from 2 MB on grows in a mapping of its own, offered
 * to transparent huge pages, and from 32 KB to 1 MB takes blocks of the
 * pool of huge pages (dx_buf_resize): written from its
 * start, it faults in 2 MB at a time where memory from malloc faulted
 * 4 KB at a time, half the page faults of a large program. */
static size_t text_mapped(const CgOpts *o)
{
    return o->text_mapped ? o->text_mapped : (size_t)2 << 20;
}

typedef struct {
    Cg c;
    const Region *r;
    int from;
} Half;

int cg_halves_size(const CgOpts *o, const Fn *f)
{
    int min = o->split_min > 0 ? o->split_min : SPLIT_MIN;
    return f->body->ids.n >= min && f->body->ids.n >= 2;
}

/* Where to cut the top level r of c's body (see above), or -1; *line:
 * the line of the statement before the cut; *begun: whether the
 * backward pass has begun before it. */
static int cut_at(const Cg *c, const Region *r, int *line, int *begun)
{
    int n = r->ids.n;
    if (!cg_halves_size(c->o, c->f))
        return -1;
    /* the middle of the work: an item of the backward pass (from its
     * first adjoint on) takes about 1.4 times as long to write as one of
     * the forward pass, as it reads values defined further back, and
     * names longer (f_hvp of 200 000 statements cut at half its items:
     * 0.38 s for the first half, 0.53 s for the second) */
    int back = 0;
    while (back < n && !ir_is_rev(&c->f->v.p[r->ids.p[back]]))
        back++;
    long long total = 5LL * back + 7LL * (n - back);
    int from = 2 * 5LL * back >= total ? (int)(total / 10) : back + (int)((total / 2 - 5LL * back) / 7);
    *begun = 0;
    if (c->f->kind == FN_GRAD || c->f->kind == FN_VJP)
        for (int i = 0; i < n; i++)
            if (item_kind(c, r, i) != ITEM_NONE && !heads_joined(c, r, i) && heads_backward(c, r, i)) {
                *begun = 1; /* its header in the first half */
                from = i + 1 > from ? i + 1 : from;
                break;
            }
    int tail = n; /* items tail..n-1 are statements, or nothing */
    while (tail > 0 && item_kind(c, r, tail - 1) != ITEM_OTHER)
        tail--;
    for (int at = from > tail + 1 ? from : tail + 1; at < n; at++) {
        const Inst *in = &c->f->v.p[r->ids.p[at - 1]];
        if (item_kind(c, r, at - 1) == ITEM_STMT && (!has_comments(c) || comment_of_line(c, in->line))) {
            *line = in->line;
            return at;
        }
    }
    return -1;
}

static void *write_half(void *arg)
{
    Half *h = arg;
    double t = dx_times_now();
    dx_stack_huge();
    emit_items(&h->c, h->r, h->from, h->r->ids.n);
    dx_times_add(h->c.o->times, "second half of the C of", h->c.f->name, t);
    return NULL;
}

/* Whether c, having written the first half, is in the state the second
 * assumed: the line announced, the pass under way, the backward pass
 * begun or not. */
static int at_cut(Cg *c, int line, int begun)
{
    return c->indent == 1 && c->last_line == line && !c->fresh && c->backward_started == begun &&
           (!has_comments(c) || *said(c, 1) == line);
}

/* Whether writing c's body may change c->in_place: the backward pass's
 * header copies an array result not computed in place (backward_header).
 * Such a body is not cut: should the second half be written again, the
 * copy its first writing made would not be. */
static int copies_results(const Cg *c)
{
    for (int i = 0; i < c->f->out.n; i++)
        if (c->f->out.p[i].role == OUT_ARRAY && !c->in_place[i])
            return 1;
    return 0;
}

/* c's top level r, in two halves where it can (see above). */
static void emit_top(Cg *c, const Region *r)
{
    int line = 0, begun = 0;
    int at = c->halves && !copies_results(c) ? cut_at(c, r, &line, &begun) : -1;
    c->halves = 0;
    Half *h = at < 0 ? NULL : malloc(sizeof *h);
    if (!h) {
        emit_region(c, r);
        return;
    }
    line += c->o->cut_misjudged != 0;
    *h = (Half){*c, r, at};
    Cg *d = &h->c;
    d->A = arena_new_written();
    d->lits = arena_alloc(d->A, sizeof *d->lits);
    d->body = (Str){.map_from = text_mapped(c->o)};
    d->said.p = NULL, d->said.n = d->said.cap = 0;
    d->active.p = NULL, d->active.n = d->active.cap = 0;
    d->stopped.p = NULL, d->stopped.n = d->stopped.cap = 0;
    *said(d, 1) = line;
    d->last_line = line;
    d->fresh = 0;
    d->backward_started = begun;
    pthread_t t;
    int two = cg_thread(&t, write_half, h);
    emit_items(c, r, 0, two ? at : r->ids.n);
    if (two) {
        pthread_join(t, NULL);
        if (at_cut(c, line, begun)) {
            /* the second half's text goes on (outputs, return): moved,
             * not copied, as the text of the largest function is the
             * compiler's peak */
            c->first = c->body;
            c->body = d->body;
            d->body = (Str){0};
            *said(c, 1) = *said(d, 1);
            c->last_line = d->last_line;
            c->fresh = d->fresh;
            cg_merge_used(c, d->helper_used, d->maths_used, d->ties_used);
            c->halves = 1;
        } else { /* not the state assumed: the rest written here */
            emit_items(c, r, at, r->ids.n);
        }
    }
    cg_str_free(&d->body);
    arena_free(d->A);
    free(h);
}

void cg_body(Cg *c, Str *decl)
{
    const Fn *f = c->f;
    c->body.n = 0;
    if (c->body.p)
        c->body.p[0] = 0;
    c->body.map_from = text_mapped(c->o); /* the C of a large function: mapped */
    cg_str_free(&c->first);
    c->indent = 1;
    c->backward_started = 0;
    c->joined_said = c->joined_first = 0;
    c->active.n = 0;
    c->stopped.n = 0;
    c->said.n = 0;
    c->last_line = 0;
    c->fresh = 1;
    note_tape_rows(c);
    /* hoisted declarations */
    for (Ref v = 0; v < f->v.n; v++) {
        const Inst *in = &f->v.p[v];
        if (cg_var_of(c, v) != v || !c->hoist[v] || cg_inlined(c, v) || !c->cname[v] ||
            c->cname[v][0] == '*' || in->op == OP_PARAM || c->store[v] == ST_OUT)
            continue;
        if (in->ty.rank) {
            if (c->store[v] != ST_LOCAL)
                continue;
            if (c->ws) {
                cg_putf(decl, "    %s *%s = (%s *)%s", cg_real_t(c), c->cname[v], cg_real_t(c), c->work);
                if (c->off[v])
                    cg_putf(decl, " + %lld", c->off[v]);
            } else {
                cg_putf(decl, "    %s %s[", cg_real_t(c), c->cname[v]);
                cg_dims(c, decl, in->ty);
                cg_puts(decl, "] = {0}"); /* the compiler cannot tell the branches agree */
            }
            cg_puts(decl, ";  /* set in a branch, read in another */\n");
            continue;
        }
        cg_putf(decl, "    %s %s = ", cg_real_t(c), c->cname[v]);
        cg_literal(c, 0, decl);
        cg_puts(decl, ";  /* set in a branch, read in another */\n");
    }

    emit_top(c, f->body);
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    for (int i = ret; i < f->out.n; i++) {
        if (c->in_place[i])
            continue;
        backward_header(c, INT_MAX);
        if (!c->in_place[i])
            output_copy(c, i);
    }
    if (ret) {
        mark_line(c, f->v.p[f->out.p[0].ref].line);
        indent(c);
        cg_puts(&c->body, "return ");
        expr(c, &c->body, f->out.p[0].ref, P_ANY);
        cg_puts(&c->body, ";\n");
    }
}
