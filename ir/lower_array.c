/*
 * lower_array.c - array operations, lowered to operations over index
 * spaces ("Arrays" in ir.h).  Each array operation becomes one GEN whose
 * body computes one element from IDX reads of its operands (a later pass
 * fuses a GEN into the IDX that reads it), and each reduction one RED per
 * dimension or generator:
 *
 *   a + b          gen i<N { yield a[i] + b[i] }     (a scalar: a itself)
 *   A @ x          gen i<M { red.sum k in 0..N { yield A[i, k] * x[k] } }
 *   X[t]           gen j<N { yield X[t, j] }
 *   [e for i ...]  gen i<len { yield e }
 *   sum(e for j in lo..hi)   red.sum j in lo..hi { yield e }
 *   [1, x, 3]      lit 1, x, 3
 *
 * Sizes live in the types, so nothing here grows with them.  Shapes are
 * checked as operations are lowered; errors point at the operator, the
 * call or the argument at fault.
 */
#include "lower.h"

#include <string.h>

/* ---- shapes ---- */

static const char *dims_text(Lower *L, int rank, const int32_t *dim)
{
    char buf[160] = "[";
    for (int d = 0; d < rank && strlen(buf) < sizeof buf - 16; d++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%d", d ? ", " : "", (int)dim[d]);
    }
    strcat(buf, "]");
    return arena_strdup(L->a, buf);
}

const char *lw_shape_text(Lower *L, Type t)
{
    return dims_text(L, t.rank, ty_dims(t));
}

const char *lw_describe(Lower *L, Type t)
{
    if (!t.rank)
        return "a scalar";
    return arena_printf(L->a, "an array of shape %s", lw_shape_text(L, t));
}

int lw_array_type(Lower *L, Loc loc, int rank, const int32_t *dim, Type *out)
{
    if (rank > DX_MAXRANK) {
        lw_errf(L, loc, "an array has at most %d dimensions", DX_MAXRANK);
        return 0;
    }
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        n *= dim[d];
        if (n > INT32_MAX) {
            lw_errf(L, loc, "an array of shape %s has more than 2147483647 elements",
                    dims_text(L, rank, dim));
            return 0;
        }
    }
    *out = ty_array(rank, dim);
    return 1;
}

int lw_declared_type(Lower *L, const AstList *dims, Loc loc, Type *out)
{
    if (dims->n > DX_MAXRANK) {
        lw_errf(L, dims->p[DX_MAXRANK]->loc, "an array has at most %d dimensions", DX_MAXRANK);
        return 0;
    }
    int32_t dim[DX_MAXRANK];
    int ok = 1;
    for (int d = 0; d < dims->n; d++) {
        Aff a;
        if (!lower_affine(L, dims->p[d], AK_DIM, &a)) {
            ok = 0;
        } else if (a.c <= 0) {
            const char *t = lw_text(L, dims->p[d]);
            if (strcmp(t, arena_printf(L->a, "%d", (int)a.c)))
                lw_errf(L, dims->p[d]->loc, "a dimension must be positive, but %s is %d", t,
                        (int)a.c);
            else
                lw_errf(L, dims->p[d]->loc, "a dimension must be positive, but this one is %s", t);
            ok = 0;
        } else {
            dim[d] = a.c;
        }
    }
    return ok && lw_array_type(L, loc, dims->n, dim, out);
}

static int compatible(Type a, Type b)
{
    return !a.rank || !b.rank || ty_eq(a, b);
}

/* ---- building blocks ---- */

typedef struct {
    Ref loop;
    Region *outer;
} Open;

/* A GEN or RED in the current region, which becomes its body. */
static Open open_loop(Lower *L, Loc loc, Op op, Type ty, int nivars)
{
    Fn *f = L->f;
    Ref g = ir_loop_new(f, L->r, op, ty, nivars);
    f->v.p[g].line = loc.line;
    Region *body = f->v.p[g].x->reg[0];
    for (int d = 0; d < nivars; d++)
        f->v.p[body->ids.p[d]].line = loc.line;
    Open o = {g, L->r};
    L->r = body;
    return o;
}

static Open open_red(Lower *L, Loc loc, RedKind kind, Aff lo, Aff hi)
{
    Open o = open_loop(L, loc, OP_RED, ty_scalar(), 1);
    Inst *in = &L->f->v.p[o.loop];
    in->red = (uint8_t)kind;
    in->x->ix[0] = lo;
    in->x->ix[1] = hi;
    return o;
}

/* Ends the body with `elem` and returns the loop's result. */
static Ref close_loop(Lower *L, Loc loc, Open o, Ref elem)
{
    Fn *f = L->f;
    vec_push(L->a, &f->v.p[o.loop].x->reg[0]->yield, elem);
    L->r = o.outer;
    Type t = f->v.p[o.loop].op == OP_GEN ? f->v.p[o.loop].ty : ty_scalar();
    return lw_put(L, loc, OP_RESULT, t, o.loop, NOREF);
}

static void ivars_of(Lower *L, Ref loop, Ref *iv)
{
    for (int d = 0; d < ir_nivars(L->f, loop); d++)
        iv[d] = ir_ivar(L->f, loop, d);
}

/* arr[ix[0], ..., ix[rank-1]] */
static Ref idx(Lower *L, Loc loc, Ref arr, const Aff *ix)
{
    int n = lw_type_of(L, arr).rank;
    Aff *p = arena_alloc(L->a, sizeof(Aff) * (size_t)n);
    for (int d = 0; d < n; d++)
        p[d] = aff_copy(L->a, ix[d]);
    Ref r = lw_put(L, loc, OP_IDX, ty_scalar(), arr, NOREF);
    L->f->v.p[r].nix = n;
    L->f->v.p[r].x->ix = p;
    return r;
}

/* The element of arr at the IVARs iv (arr itself if it is a scalar). */
static Ref elem(Lower *L, Loc loc, Ref arr, const Ref *iv)
{
    Type t = lw_type_of(L, arr);
    if (!t.rank)
        return arr;
    Aff ix[DX_MAXRANK];
    for (int d = 0; d < t.rank; d++)
        ix[d] = aff_var(L->a, iv[d]);
    return idx(L, loc, arr, ix);
}

Ref lw_lift(Lower *L, Loc loc, Op op, Ref a, Ref b, double k)
{
    if (lw_is_bad(L, a) || (b != NOREF && lw_is_bad(L, b)))
        return lw_bad(L, loc);
    Type ta = lw_type_of(L, a), tb = b != NOREF ? lw_type_of(L, b) : ty_scalar();
    if (!ta.rank && !tb.rank) {
        Ref r = lw_emit(L, loc, op, a, b);
        L->f->v.p[r].n = (int32_t)k;
        return r;
    }
    Type t = ta.rank ? ta : tb;
    Open g = open_loop(L, loc, OP_GEN, t, t.rank);
    Ref iv[DX_MAXRANK];
    ivars_of(L, g.loop, iv);
    Ref x = elem(L, loc, a, iv);
    Ref y = b != NOREF ? elem(L, loc, b, iv) : NOREF;
    Ref r = lw_emit(L, loc, op, x, y);
    L->f->v.p[r].n = (int32_t)k;
    return close_loop(L, loc, g, r);
}

/* ---- arithmetic ---- */

/* x ^ exponent (or pow(x, exponent)): exact for integer exponents. */
static Ref power(Lower *L, Loc loc, Ref x, const Ast *exponent, const char *what)
{
    double n;
    if (lw_int_exponent(L, exponent, &n))
        return lw_lift(L, loc, OP_POWI, x, NOREF, n);
    Ref y = lower_expr(L, exponent);
    if (!lw_is_bad(L, x) && !lw_is_bad(L, y) && !compatible(lw_type_of(L, x), lw_type_of(L, y))) {
        lw_errf(L, loc, "%s of arrays of different shapes %s and %s", what,
                lw_shape_text(L, lw_type_of(L, x)), lw_shape_text(L, lw_type_of(L, y)));
        return lw_bad(L, loc);
    }
    return lw_lift(L, loc, OP_POW, x, y, 0);
}

Ref lower_pow_call(Lower *L, const Ast *e)
{
    return power(L, e->loc, lower_expr(L, e->args.p[0]), e->args.p[1], "'pow'");
}

/* sum over k in 0..n of a[ai, k] * b[k, bj]; ai, bj NOREF when a, b are
 * vectors. */
static Ref contract(Lower *L, Loc loc, Ref a, Ref ai, Ref b, Ref bj, int32_t n)
{
    Open red = open_red(L, loc, RK_SUM, aff_const(L->a, 0), aff_const(L->a, n));
    Ref k = ir_ivar(L->f, red.loop, 0);
    Aff ia[2], ib[2];
    int na = 0, nb = 0;
    if (ai != NOREF)
        ia[na++] = aff_var(L->a, ai);
    ia[na++] = aff_var(L->a, k);
    ib[nb++] = aff_var(L->a, k);
    if (bj != NOREF)
        ib[nb++] = aff_var(L->a, bj);
    Ref x = idx(L, loc, a, ia);
    Ref y = idx(L, loc, b, ib);
    return close_loop(L, loc, red, lw_emit(L, loc, OP_MUL, x, y));
}

/* A @ B, A @ x, x @ B, x @ y. */
static Ref matmul(Lower *L, const Ast *e, Ref a, Ref b)
{
    if (lw_is_bad(L, a) || lw_is_bad(L, b))
        return lw_bad(L, e->loc);
    Type ta = lw_type_of(L, a), tb = lw_type_of(L, b);
    for (int side = 0; side < 2; side++) {
        Type t = side ? tb : ta;
        if (t.rank < 1 || t.rank > 2) {
            lw_errf(L, e->loc, "'@' multiplies vectors and matrices, but its %s operand is %s",
                    side ? "right" : "left", lw_describe(L, t));
            return lw_bad(L, e->loc);
        }
    }
    int32_t n = ty_dim(ta, ta.rank - 1);
    if (n != ty_dim(tb, 0)) {
        lw_errf(L, e->loc, "'@' of %s and %s: the inner dimensions %d and %d differ",
                lw_shape_text(L, ta), lw_shape_text(L, tb), (int)n, (int)ty_dim(tb, 0));
        return lw_bad(L, e->loc);
    }
    int32_t dim[2];
    int r = 0;
    if (ta.rank == 2)
        dim[r++] = ty_dim(ta, 0);
    if (tb.rank == 2)
        dim[r++] = ty_dim(tb, 1);
    if (r == 0)
        return contract(L, e->loc, a, NOREF, b, NOREF, n);
    Type t;
    if (!lw_array_type(L, e->loc, r, dim, &t))
        return lw_bad(L, e->loc);
    Open g = open_loop(L, e->loc, OP_GEN, t, r);
    Ref iv[2];
    ivars_of(L, g.loop, iv);
    Ref s = contract(L, e->loc, a, ta.rank == 2 ? iv[0] : NOREF, b,
                     tb.rank == 2 ? iv[r - 1] : NOREF, n);
    return close_loop(L, e->loc, g, s);
}

Ref lower_bin(Lower *L, const Ast *e)
{
    if (e->op == '%' || e->op == AST_IDIV)
        return lw_int_value(L, e); /* integer operators: an index value */
    Ref a = lower_expr(L, e->a);
    if (e->op == '^')
        return power(L, e->loc, a, e->b, "'^'");
    Ref b = lower_expr(L, e->b);
    if (e->op == '@')
        return matmul(L, e, a, b);
    Op op = e->op == '+' ? OP_ADD : e->op == '-' ? OP_SUB : e->op == '*' ? OP_MUL : OP_DIV;
    if (!lw_is_bad(L, a) && !lw_is_bad(L, b) && !compatible(lw_type_of(L, a), lw_type_of(L, b))) {
        lw_errf(L, e->loc, "elementwise '%c' of arrays of different shapes %s and %s", e->op,
                lw_shape_text(L, lw_type_of(L, a)), lw_shape_text(L, lw_type_of(L, b)));
        return lw_bad(L, e->loc);
    }
    return lw_lift(L, e->loc, op, a, b, 0);
}

/* ---- built-ins on arrays ---- */

typedef enum { EL_PLAIN, EL_SQUARE, EL_EXP } ElemMode;

/* The reduction `kind` over every element of x (any rank: one RED per
 * dimension), each element first squared or made exp(x - shift). */
static Ref reduce_all(Lower *L, Loc loc, RedKind kind, Ref x, ElemMode mode, Ref shift)
{
    Type t = lw_type_of(L, x);
    Open o[DX_MAXRANK];
    Ref iv[DX_MAXRANK];
    for (int d = 0; d < t.rank; d++) {
        o[d] = open_red(L, loc, kind, aff_const(L->a, 0), aff_const(L->a, ty_dim(t, d)));
        iv[d] = ir_ivar(L->f, o[d].loop, 0);
    }
    Ref v = elem(L, loc, x, iv);
    if (mode == EL_SQUARE)
        v = lw_emit(L, loc, OP_MUL, v, v);
    else if (mode == EL_EXP)
        v = lw_emit(L, loc, OP_EXP, lw_emit(L, loc, OP_SUB, v, shift), NOREF);
    for (int d = t.rank - 1; d >= 0; d--)
        v = close_loop(L, loc, o[d], v);
    return v;
}

/* softmax(v) = exp(v - m) / sum(exp(v - m)), m = max(v) with derivative 0:
 * stable, and exact (the shift cancels). */
static Ref softmax(Lower *L, Loc loc, Ref v)
{
    Type t = lw_type_of(L, v);
    Ref m = lw_emit(L, loc, OP_NODIFF, reduce_all(L, loc, RK_MAX, v, EL_PLAIN, NOREF), NOREF);
    Open g = open_loop(L, loc, OP_GEN, t, 1);
    Ref iv[1];
    ivars_of(L, g.loop, iv);
    Ref x = lw_emit(L, loc, OP_EXP, lw_emit(L, loc, OP_SUB, elem(L, loc, v, iv), m), NOREF);
    Ref ex = close_loop(L, loc, g, x);
    Ref s = reduce_all(L, loc, RK_SUM, ex, EL_PLAIN, NOREF);
    g = open_loop(L, loc, OP_GEN, t, 1);
    ivars_of(L, g.loop, iv);
    return close_loop(L, loc, g, lw_emit(L, loc, OP_DIV, elem(L, loc, ex, iv), s));
}

static int want_rank(Lower *L, const Ast *e, int k, Ref x, int rank, const char *what)
{
    Type t = lw_type_of(L, x);
    if (rank ? t.rank == rank : t.rank > 0)
        return 1;
    lw_errf(L, e->args.p[k]->loc, "'%s' takes %s, but its %sargument is %s",
            diag_name(L->a, e->name), what, e->args.n > 1 ? (k ? "second " : "first ") : "",
            lw_describe(L, t));
    return 0;
}

Ref lower_array_call(Lower *L, const Ast *e)
{
    static const struct {
        const char *name;
        int nargs;
    } tab[] = {
        {"sum", 1}, {"mean", 1}, {"prod", 1}, {"max", 1}, {"min", 1}, {"norm", 1},
        {"dot", 2}, {"logsumexp", 1}, {"softmax", 1}, {"transpose", 1}, {"outer", 2},
    };
    size_t i = 0;
    while (i < sizeof tab / sizeof tab[0] && strcmp(tab[i].name, e->name))
        i++;
    if (i == sizeof tab / sizeof tab[0])
        return NOREF;
    const char *n = tab[i].name;
    if (e->args.n != tab[i].nargs)
        return lw_arity_error(L, e, tab[i].nargs);
    Ref a = lower_expr(L, e->args.p[0]);
    Ref b = tab[i].nargs > 1 ? lower_expr(L, e->args.p[1]) : NOREF;
    if (lw_is_bad(L, a) || (b != NOREF && lw_is_bad(L, b)))
        return lw_bad(L, e->loc);
    Loc loc = e->loc;
    if (!strcmp(n, "dot") || !strcmp(n, "outer")) {
        if (!want_rank(L, e, 0, a, 1, "two vectors") || !want_rank(L, e, 1, b, 1, "two vectors"))
            return lw_bad(L, loc);
        int32_t dim[2] = {ty_dim(lw_type_of(L, a), 0), ty_dim(lw_type_of(L, b), 0)};
        if (n[0] == 'd') {
            if (dim[0] != dim[1]) {
                lw_errf(L, loc, "'dot' of vectors of different lengths %d and %d", (int)dim[0],
                        (int)dim[1]);
                return lw_bad(L, loc);
            }
            return contract(L, loc, a, NOREF, b, NOREF, dim[0]);
        }
        Type t;
        if (!lw_array_type(L, loc, 2, dim, &t))
            return lw_bad(L, loc);
        Open g = open_loop(L, loc, OP_GEN, t, 2);
        Ref iv[2];
        ivars_of(L, g.loop, iv);
        /* b's element first, then a's: one order whatever the compiler
         * (the one the generated code has always had) */
        Ref eb = elem(L, loc, b, iv + 1);
        Ref x = lw_emit(L, loc, OP_MUL, elem(L, loc, a, iv), eb);
        return close_loop(L, loc, g, x);
    }
    if (!strcmp(n, "transpose")) {
        if (!want_rank(L, e, 0, a, 2, "a matrix"))
            return lw_bad(L, loc);
        Type ta = lw_type_of(L, a);
        int32_t dim[2] = {ty_dim(ta, 1), ty_dim(ta, 0)};
        Open g = open_loop(L, loc, OP_GEN, ty_array(2, dim), 2);
        Ref iv[2], vi[2];
        ivars_of(L, g.loop, iv);
        vi[0] = iv[1];
        vi[1] = iv[0];
        return close_loop(L, loc, g, elem(L, loc, a, vi));
    }
    if (!strcmp(n, "logsumexp") || !strcmp(n, "softmax")) {
        if (!want_rank(L, e, 0, a, 1, "a vector"))
            return lw_bad(L, loc);
        if (n[0] == 's')
            return softmax(L, loc, a);
        /* m + log(sum(exp(v - m))), m = max(v) with derivative 0: stable,
         * and the derivative exp(v - m) / sum(...) is the softmax */
        Ref m = lw_emit(L, loc, OP_NODIFF, reduce_all(L, loc, RK_MAX, a, EL_PLAIN, NOREF), NOREF);
        Ref s = reduce_all(L, loc, RK_SUM, a, EL_EXP, m);
        return lw_emit(L, loc, OP_ADD, m, lw_emit(L, loc, OP_LOG, s, NOREF));
    }
    if (!want_rank(L, e, 0, a, 0, "an array"))
        return lw_bad(L, loc);
    if (!strcmp(n, "norm"))
        return lw_emit(L, loc, OP_SQRTZ, reduce_all(L, loc, RK_SUM, a, EL_SQUARE, NOREF), NOREF);
    if (!strcmp(n, "mean")) {
        Ref s = reduce_all(L, loc, RK_SUM, a, EL_PLAIN, NOREF);
        return lw_emit(L, loc, OP_DIV, s, lw_const(L, loc, (double)ty_size(lw_type_of(L, a))));
    }
    RedKind k = !strcmp(n, "sum") ? RK_SUM : !strcmp(n, "prod") ? RK_PROD
              : !strcmp(n, "max") ? RK_MAX : RK_MIN;
    return reduce_all(L, loc, k, a, EL_PLAIN, NOREF);
}

/* ---- indexing ---- */

int lw_indices(Lower *L, const AstList *args, Type t, const char *arr, Aff *ix)
{
    int n = args->n < t.rank ? args->n : t.rank, ok = 1;
    for (int d = 0; d < n; d++)
        ok &= lower_affine(L, args->p[d], AK_INDEX, &ix[d]);
    if (args->n > t.rank) {
        lw_errf(L, args->p[t.rank]->loc, "too many indices: %s has %d dimension%s", arr,
                t.rank, t.rank == 1 ? "" : "s");
        return -1;
    }
    if (!ok)
        return -1;
    for (int d = 0; d < n; d++)
        lw_check_index(L, args->p[d], ix[d], ty_dim(t, d), arr, d);
    return n;
}

Ref lower_index(Lower *L, const Ast *e)
{
    Ref base = lower_expr(L, e->a);
    if (lw_is_bad(L, base))
        return lw_bad(L, e->loc);
    const char *arr = e->a->kind == AST_NAME ? diag_name(L->a, e->a->name) : "the array";
    Type t = lw_type_of(L, base);
    if (!t.rank) {
        if (e->a->kind == AST_NAME)
            lw_errf(L, e->loc, "'%s' is a scalar and cannot be indexed", arr);
        else
            lw_errf(L, e->loc, "a scalar cannot be indexed");
        return lw_bad(L, e->loc);
    }
    Aff ix[DX_MAXRANK];
    int n = lw_indices(L, &e->args, t, arr, ix);
    if (n < 0)
        return lw_bad(L, e->loc);
    if (n == t.rank)
        return idx(L, e->loc, base, ix);
    /* a sub-array: the remaining dimensions */
    Open g = open_loop(L, e->loc, OP_GEN, ty_array(t.rank - n, ty_dims(t) + n), t.rank - n);
    Ref iv[DX_MAXRANK];
    ivars_of(L, g.loop, iv);
    for (int d = n; d < t.rank; d++)
        ix[d] = aff_var(L->a, iv[d - n]);
    return close_loop(L, e->loc, g, idx(L, e->loc, base, ix));
}

/* ---- array literals ---- */

/* Element `row` (an IREAL) of el[lo..hi), each an array, at the IVARs iv:
 * a balanced tree of IFs on the row, so the nesting is logarithmic. */
static Ref pick(Lower *L, Loc loc, const Ref *el, int lo, int hi, Ref row, const Ref *iv)
{
    if (hi - lo == 1)
        return elem(L, loc, el[lo], iv);
    int mid = lo + (hi - lo) / 2;
    Ref c = lw_emit(L, loc, OP_LT, row, lw_const(L, loc, mid));
    Ref nif = lw_put(L, loc, OP_IF, ty_scalar(), c, NOREF);
    Region *saved = L->r;
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(L->f, nif, s);
        L->f->v.p[nif].x->reg[s] = r;
        L->r = r;
        Ref v = s ? pick(L, loc, el, mid, hi, row, iv) : pick(L, loc, el, lo, mid, row, iv);
        vec_push(L->a, &r->yield, v);
    }
    L->r = saved;
    return lw_put(L, loc, OP_RESULT, ty_scalar(), nif, NOREF);
}

/* [a, b, c]; [[1, 2], [3, 4]] is a 2 x 2 matrix; [u, v] stacks vectors. */
Ref lower_literal(Lower *L, const Ast *e)
{
    int n = e->args.n, any_bad = 0;
    Ref *el = arena_alloc(L->a, sizeof(Ref) * (size_t)n);
    for (int i = 0; i < n; i++) {
        el[i] = lower_expr(L, e->args.p[i]);
        any_bad |= lw_is_bad(L, el[i]);
    }
    if (any_bad)
        return lw_bad(L, e->loc);
    Type t0 = lw_type_of(L, el[0]);
    for (int i = 1; i < n; i++) {
        Type ti = lw_type_of(L, el[i]);
        if (!ty_eq(ti, t0)) {
            lw_errf(L, e->args.p[i]->loc,
                    "the elements of an array literal differ in shape: element %d is %s, but "
                    "element 1 is %s", i + 1, lw_describe(L, ti), lw_describe(L, t0));
            return lw_bad(L, e->loc);
        }
    }
    int32_t dim[DX_MAXRANK + 1];
    dim[0] = n;
    memcpy(dim + 1, ty_dims(t0), sizeof(int32_t) * t0.rank);
    Type t;
    if (!lw_array_type(L, e->loc, t0.rank + 1, dim, &t))
        return lw_bad(L, e->loc);
    int lits = 1;
    for (int i = 0; i < n; i++)
        lits &= L->f->v.p[el[i]].op == OP_LIT;
    if (!t0.rank || lits) {
        /* scalars, or rows that are literals themselves: one flat LIT */
        long per = (long)ty_size(t0);
        Ref *list = arena_alloc(L->a, sizeof(Ref) * (size_t)(n * per));
        for (int i = 0; i < n; i++) {
            if (!t0.rank)
                list[i] = el[i];
            else
                memcpy(list + i * per, L->f->v.p[el[i]].x->list, sizeof(Ref) * (size_t)per);
        }
        Ref r = lw_put(L, e->loc, OP_LIT, t, NOREF, NOREF);
        L->f->v.p[r].nix = (int)(n * per);
        L->f->v.p[r].x->list = list;
        return r;
    }
    Open g = open_loop(L, e->loc, OP_GEN, t, t.rank);
    Ref iv[DX_MAXRANK];
    ivars_of(L, g.loop, iv);
    Ref row = lw_put(L, e->loc, OP_IREAL, ty_scalar(), NOREF, NOREF);
    L->f->v.p[row].nix = 1;
    L->f->v.p[row].x->ix = arena_alloc(L->a, sizeof(Aff));
    L->f->v.p[row].x->ix[0] = aff_var(L->a, iv[0]);
    return close_loop(L, e->loc, g, pick(L, e->loc, el, 0, n, row, iv + 1));
}

/* ---- comprehensions and reductions ---- */

/* A generator's name: not a built-in, constant, function, variable, or
 * index variable already in scope. */
void lw_check_index_name(Lower *L, const Ast *g)
{
    if (!lw_check_name(L, g->name, g->loc, "an index variable"))
        return;
    const IndexVar *iv = lw_index_find(L, g->name);
    int slot = lw_env_find(L, L->env, g->name, 0);
    if (iv)
        lw_errf(L, g->loc, "'%s' is already an index variable here (line %d); an index variable "
                "cannot reuse the name of an enclosing one", diag_name(L->a, g->name), iv->line);
    else if (slot >= 0 && L->env->slot[slot].state != UNDEF)
        lw_errf(L, g->loc, "'%s' is a variable; an index variable cannot take its name",
                diag_name(L->a, g->name));
}

static Ref name_ivar(Lower *L, Ref loop, int d, const char *name)
{
    Ref iv = ir_ivar(L->f, loop, d);
    L->f->v.p[iv].name = name;
    return iv;
}

/* [e for i in a..b, j in c..d]: a GEN over [b - a, d - c] whose IVARs
 * count from 0 (i is IVAR + a). */
Ref lower_comp(Lower *L, const Ast *e)
{
    int ng = e->gens.n, ok = 1;
    if (ng > DX_MAXRANK) {
        lw_errf(L, e->gens.p[DX_MAXRANK]->loc, "an array has at most %d dimensions", DX_MAXRANK);
        return lw_bad(L, e->loc);
    }
    int32_t dim[DX_MAXRANK] = {0}, lo[DX_MAXRANK] = {0};
    for (int k = 0; k < ng; k++) {
        const Ast *g = e->gens.p[k];
        Aff a, b;
        if (!lower_affine(L, g->a, AK_STATIC, &a) || !lower_affine(L, g->b, AK_STATIC, &b)) {
            ok = 0;
            continue;
        }
        int64_t len = (int64_t)b.c - a.c;
        if (len <= 0) {
            lw_errf(L, g->loc, "empty array: %s in %s..%s has no values", diag_name(L->a, g->name),
                    lw_text(L, g->a), lw_text(L, g->b));
            ok = 0;
        } else if (len > INT32_MAX) {
            lw_errf(L, g->loc, "an array of more than 2147483647 elements");
            ok = 0;
        } else {
            dim[k] = (int32_t)len;
            lo[k] = a.c;
        }
    }
    Type t;
    if (!ok || !lw_array_type(L, e->loc, ng, dim, &t))
        return lw_bad(L, e->loc);
    Open o = open_loop(L, e->loc, OP_GEN, t, ng);
    for (int k = 0; k < ng; k++) {
        const Ast *g = e->gens.p[k];
        lw_check_index_name(L, g);
        Ref iv = name_ivar(L, o.loop, k, g->name);
        Aff v = aff_var(L->a, iv);
        v.c = lo[k];
        lw_index_bind(L, g->name, g->loc, v, "comprehension");
        lw_domain_push(L, iv, aff_const(L->a, 0), aff_const(L->a, dim[k]), g, NULL);
    }
    Ref x = lower_expr(L, e->a);
    lw_domain_pop(L, ng);
    lw_index_unbind(L, ng);
    int err = lw_is_bad(L, x);
    if (!err && lw_type_of(L, x).rank) {
        lw_errf(L, e->a->loc, "the element of a comprehension must be a scalar, but it is %s "
                "(give each dimension an index variable: [e for i in 0..M, j in 0..N])",
                lw_describe(L, lw_type_of(L, x)));
        x = lw_bad(L, e->a->loc);
        err = 1;
    }
    Ref r = close_loop(L, e->loc, o, x);
    return err ? lw_mark_bad(L, r) : r;
}

/* sum(e for i in a..b, j in c..d): nested REDs, the bounds affine in the
 * enclosing index variables. */
Ref lower_reduce(Lower *L, const Ast *e)
{
    static const char *const kinds[] = {[RK_SUM] = "sum", [RK_PROD] = "prod",
                                        [RK_MAX] = "max", [RK_MIN] = "min"};
    int kind = 0;
    while (kind < 4 && strcmp(kinds[kind], e->name))
        kind++;
    if (kind == 4) {
        lw_errf(L, e->loc,
                "'%s' cannot reduce over a range: only sum, prod, max and min take 'for'",
                diag_name(L->a, e->name));
        return lw_bad(L, e->loc);
    }
    int ng = e->gens.n, err = 0;
    Open *o = arena_alloc(L->a, sizeof(Open) * (size_t)ng);
    for (int k = 0; k < ng; k++) {
        const Ast *g = e->gens.p[k];
        Aff lo, hi;
        int ok = lower_affine(L, g->a, AK_BOUND, &lo);
        ok = lower_affine(L, g->b, AK_BOUND, &hi) && ok;
        if (!ok) {
            lo = hi = aff_const(L->a, 0);
            err = 1;
        } else if (!lo.n && !hi.n && hi.c < lo.c) {
            hi = lo; /* empty either way */
        }
        lw_check_index_name(L, g);
        o[k] = open_red(L, e->loc, (RedKind)kind, lo, hi);
        Ref iv = name_ivar(L, o[k].loop, 0, g->name);
        lw_index_bind(L, g->name, g->loc, aff_var(L->a, iv), kinds[kind]);
        lw_domain_push(L, iv, aff_copy(L->a, lo), aff_copy(L->a, hi), g,
                    ok && kind >= RK_MAX ? kinds[kind] : NULL);
    }
    Ref x = lower_expr(L, e->a);
    lw_domain_pop(L, ng);
    lw_index_unbind(L, ng);
    err |= lw_is_bad(L, x);
    if (!lw_is_bad(L, x) && lw_type_of(L, x).rank) {
        lw_errf(L, e->a->loc, "the body of %s must be a scalar, but it is %s", kinds[kind],
                lw_describe(L, lw_type_of(L, x)));
        x = lw_bad(L, e->a->loc);
        err = 1;
    }
    for (int k = ng - 1; k >= 0; k--)
        x = close_loop(L, e->loc, o[k], x);
    return err ? lw_mark_bad(L, x) : x;
}
