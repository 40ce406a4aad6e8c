/*
 * csource.c - a primal value as the source writes it (cg_source_text),
 * for the comments of --explain.
 *
 * The C generator names values as C needs them: temporaries t1, t2 for
 * unnamed ones, h_2 for the second assignment to h, x_2 for x read back
 * from a tape.  A learner reads the source, so the comments name values
 * from the IR alone: a named value by its source name (h, whatever its
 * version), a tape read by the value it recorded, an unnamed value by its
 * expression in its operands' source texts (relu(x * w + b)), a sum of
 * products as the source wrote it (Wh @ h, dot(v, h)) where it has that
 * shape.  Nothing here needs the value to be live: the rule of an
 * adjoint statement may be that of a primal copy the optimiser removed,
 * whose operands are still in the function.  A long expression is
 * written less deep, its inner parts as "...", to stay near 40
 * characters.
 */
#include "cgen.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LONG_TEXT = 60 };

/* The function, and the C names of its index variables (an index the
 * source does not name is written as the C loop writes it). */
typedef struct {
    const Fn *f;
    const char *const *cname;
} Src;

static void put_value(Str *s, const Src *S, Ref v, int depth, int top);

static const char *iv_name(const Src *S, Ref iv)
{
    const Fn *f = S->f;
    if (f->v.p[iv].name)
        return f->v.p[iv].name;
    if (S->cname && S->cname[iv])
        return S->cname[iv];
    static const char *const by_depth[] = {"i", "j", "k", "l", "m", "n"};
    int depth = 0; /* the loops around it */
    for (const Region *r = f->v.p[iv].parent; r && r->owner != NOREF; r = f->v.p[r->owner].parent)
        depth++;
    return by_depth[depth < 6 ? depth - (depth > 0) : 5];
}

static const char *iv_name_cb(const void *ctx, Ref iv)
{
    return iv_name(ctx, iv);
}

/* Affine index x, by its index variables' names ("t + 1"). */
static void put_aff(Str *s, const Src *S, Aff x)
{
    if (x.nq) { /* a polynomial index, in dx's syntax */
        Arena *A = arena_new();
        cg_puts(s, aff_src_text(A, x, iv_name_cb, S));
        arena_free(A);
        return;
    }
    for (int i = 0; i < x.n; i++) {
        if (x.a[i] == 1)
            cg_putf(s, "%s%s", i ? " + " : "", iv_name(S, x.iv[i]));
        else
            cg_putf(s, "%s%d*%s", i ? " + " : "", (int)x.a[i], iv_name(S, x.iv[i]));
    }
    if (x.c && x.n)
        cg_putf(s, " %c %d", x.c < 0 ? '-' : '+', (int)(x.c < 0 ? -x.c : x.c));
    else if (!x.n)
        cg_putf(s, "%d", (int)x.c);
}

/* The name of the array an element is read from: a tape's is the value
 * it recorded. */
static const char *array_name(const Src *S, Ref arr)
{
    const Fn *f = S->f;
    const Inst *a = &f->v.p[arr];
    return a->name ? a->name : "array";
}

/* An element a[ix[from], ...]: indices before `from` (a tape's step)
 * left out. */
static void put_elem(Str *s, const Src *S, const Inst *in, int from)
{
    cg_puts(s, array_name(S, in->arg[0]));
    for (int d = from; d < in->nix; d++) {
        cg_puts(s, d > from ? ", " : "[");
        put_aff(s, S, in->x->ix[d]);
    }
    if (in->nix > from)
        cg_puts(s, "]");
}

/* An element read, as the source names it: a row of a loop's tape
 * without its step index (h[k]), an element tape of a GEN as the value
 * (dtanh), else the array's element (Wh[j, k]). */
static void put_idx(Str *s, const Src *S, const Inst *in)
{
    const Fn *f = S->f;
    const Inst *a = &f->v.p[in->arg[0]];
    if (ir_is_tape(a) && a->op == OP_ZEROS)
        put_elem(s, S, in, 1);
    else if (ir_is_tape(a))
        cg_puts(s, array_name(S, in->arg[0]));
    else
        put_elem(s, S, in, 0);
}

/* Element x of an array read at index variable k last: its text without
 * that index ("X[t]" for X[t, k], "h" for h[k]); 0 if it is not one. */
static int put_row(Str *s, const Src *S, Ref x, Ref k)
{
    const Fn *f = S->f;
    const Inst *in = &f->v.p[x];
    if (in->op != OP_IDX || !in->nix)
        return 0;
    const Inst *a = &f->v.p[in->arg[0]];
    int from = ir_is_tape(a) && a->op == OP_ZEROS; /* a row of a loop's tape: its step left out */
    if ((ir_is_tape(a) && !from) || in->nix <= from)
        return 0;
    const Aff *last = &in->x->ix[in->nix - 1];
    if (last->n != 1 || last->iv[0] != k || last->a[0] != 1 || last->c || last->nq)
        return 0;
    for (int d = 0; d < in->nix - 1; d++)
        if (aff_uses(in->x->ix[d], k))
            return 0;
    cg_puts(s, array_name(S, in->arg[0]));
    for (int d = from; d < in->nix - 1; d++) {
        cg_puts(s, d > from ? ", " : "[");
        put_aff(s, S, in->x->ix[d]);
    }
    if (in->nix - 1 > from)
        cg_puts(s, "]");
    return 1;
}

/* A sum over k of a[k] * b[k] as dot(a, b), of A[j, k] * x[k] as
 * (A @ x)[j]; 0 if the RED `red` is no such sum. */
static int put_product(Str *s, const Src *S, const Inst *red)
{
    const Fn *f = S->f;
    const Region *b = red->x->reg[0];
    if (red->red != RK_SUM || b->yield.n != 1)
        return 0;
    Ref k = b->ids.p[0], m = b->yield.p[0];
    const Inst *mul = &f->v.p[m];
    if (mul->op != OP_MUL)
        return 0;
    const Inst *x = &f->v.p[mul->arg[0]], *y = &f->v.p[mul->arg[1]];
    if (x->op != OP_IDX || y->op != OP_IDX)
        return 0;
    Str a = {0}, c = {0};
    int ok = put_row(&a, S, mul->arg[0], k) && put_row(&c, S, mul->arg[1], k);
    int xr = x->nix - (ir_is_tape(&f->v.p[x->arg[0]]) ? 1 : 0);
    int yr = y->nix - (ir_is_tape(&f->v.p[y->arg[0]]) ? 1 : 0);
    if (ok && xr == 1 && yr == 1) {
        cg_putf(s, "dot(%s, %s)", a.p, c.p);
    } else if (ok && xr == 2 && x->nix == 2) {
        cg_putf(s, "(%s @ %s)", array_name(S, x->arg[0]), c.p);
        cg_puts(s, "[");
        put_aff(s, S, x->x->ix[0]);
        cg_puts(s, "]");
    } else {
        ok = 0;
    }
    free(a.p);
    free(c.p);
    return ok;
}

/* An unnamed RESULT: its loop's expression (a sum of products as the
 * source writes it, else "sum(...)"). */
static void put_result(Str *s, const Src *S, const Inst *in, int depth)
{
    const Fn *f = S->f;
    const Inst *l = &f->v.p[in->arg[0]];
    if (l->op == OP_RED && put_product(s, S, l))
        return;
    static const char *const red[] = {"sum", "prod", "max", "min"};
    if (l->op == OP_RED && l->red < 4) { /* a removed copy may have lost its yield */
        const Region *b = l->x->reg[0];
        cg_putf(s, "%s_%s(", red[l->red], b->ids.n ? iv_name(S, b->ids.p[0]) : "i");
        if (b->yield.n == 1)
            put_value(s, S, b->yield.p[0], depth - 1, 0);
        else
            cg_puts(s, "...");
        cg_puts(s, ")");
        return;
    }
    cg_puts(s, "...");
}

/* How tightly v's text binds: an unnamed operator's C precedence, a
 * negative number a unary minus's, anything else a primary's. */
static CPrec binding(const Src *S, Ref v)
{
    const Fn *f = S->f;
    const Inst *in = &f->v.p[v];
    if (in->op == OP_CONST)
        return in->x->num < 0 ? P_UNARY : P_PRIMARY;
    if (in->name || op_info[in->op].kind == K_CTL || op_info[in->op].kind == K_MATH)
        return P_PRIMARY;
    return op_info[in->op].prec;
}

/* Operand v of an operator that takes `need` unparenthesised. */
static void put_operand(Str *s, const Src *S, Ref v, int depth, CPrec need)
{
    int paren = v != NOREF && binding(S, v) < need;
    cg_puts(s, paren ? "(" : "");
    put_value(s, S, v, depth, 0);
    cg_puts(s, paren ? ")" : "");
}

static void put_op(Str *s, const Src *S, const Inst *in, int depth)
{
    const OpInfo *oi = &op_info[in->op];
    int nargs = oi->nargs;
    if (in->op == OP_POW || in->op == OP_POWI) {
        put_operand(s, S, in->arg[0], depth - 1, P_PRIMARY);
        cg_puts(s, "^");
        if (in->op == OP_POW)
            put_operand(s, S, in->arg[1], depth - 1, P_PRIMARY);
        else
            cg_putf(s, "%d", (int)in->n);
    } else if (in->op == OP_SELECT) {
        put_operand(s, S, in->arg[0], depth - 1, P_OR);
        cg_puts(s, " ? ");
        put_operand(s, S, in->arg[1], depth - 1, P_COND);
        cg_puts(s, " : ");
        put_operand(s, S, in->arg[2], depth - 1, P_COND);
    } else if ((oi->kind == K_ARITH || oi->kind == K_BOOL) && *oi->cname && nargs == 1) {
        cg_puts(s, oi->cname);
        put_operand(s, S, in->arg[0], depth - 1, oi->rhs);
    } else if ((oi->kind == K_ARITH || oi->kind == K_BOOL) && *oi->cname && nargs == 2) {
        put_operand(s, S, in->arg[0], depth - 1, oi->lhs);
        cg_put3(s, " ", oi->cname, " ");
        put_operand(s, S, in->arg[1], depth - 1, oi->rhs);
    } else if (nargs >= 1 && nargs <= 2) {
        for (const char *q = in->op == OP_SQRTZ ? "sqrt" : oi->name; *q; q++)
            cg_putf(s, "%c", tolower((unsigned char)*q));
        cg_puts(s, "(");
        put_value(s, S, in->arg[0], depth - 1, 0);
        if (nargs == 2) {
            cg_puts(s, ", ");
            put_value(s, S, in->arg[1], depth - 1, 0);
        }
        cg_puts(s, ")");
    } else {
        cg_puts(s, "...");
    }
}

/* v's text, `depth` operators deep at most ("..." below); top: v is
 * the value being written, whose own name is not its text. */
static void put_value(Str *s, const Src *S, Ref v, int depth, int top)
{
    const Fn *f = S->f;
    if (v == NOREF) {
        cg_puts(s, "?");
        return;
    }
    const Inst *in = &f->v.p[v];
    if (in->name && !top && in->role != ROLE_ADJOINT) {
        cg_puts(s, in->name);
        return;
    }
    switch ((Op)in->op) {
    case OP_CONST: {
        char b[64]; /* the shortest text that reads back as num */
        for (int p = 1; p <= 17; p++) {
            snprintf(b, sizeof b, "%.*g", p, in->x->num);
            if (strtod(b, NULL) == in->x->num)
                break;
        }
        cg_puts(s, b);
        return;
    }
    case OP_IVAR: cg_puts(s, iv_name(S, v)); return;
    case OP_IREAL: put_aff(s, S, in->x->ix[0]); return;
    case OP_IDX: put_idx(s, S, in); return;
    case OP_RESULT: put_result(s, S, in, depth); return;
    case OP_NODIFF: put_value(s, S, in->arg[0], depth, 0); return; /* a shift: the value */
    case OP_PARAM:
    case OP_CARRY: cg_puts(s, in->name ? in->name : "?"); return;
    default: break;
    }
    if (depth <= 0) {
        cg_puts(s, "...");
        return;
    }
    put_op(s, S, in, depth);
}

const char *cg_source_text(Arena *A, const Fn *f, const char *const *cname, Ref v, int named)
{
    Src S = {f, cname};
    const char *t = NULL;
    for (int depth = 4; depth >= 2 && (!t || strlen(t) > LONG_TEXT); depth--) {
        Str s = {0};
        put_value(&s, &S, v, depth, !named);
        t = arena_printf(A, "%s", s.p ? s.p : "?");
        free(s.p);
    }
    return t;
}
