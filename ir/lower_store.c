/*
 * lower_store.c - element and row stores: x[i] = e, W[i, j] = e, X[t] = v.
 *
 * A store is an assignment of a whole new value to the array variable,
 * so the rest of the compiler never sees a mutation: `x[i] = e` becomes
 * a GEN over x's index space whose element at k is
 *
 *     k == i ? e : x[k]           (a SELECT on index comparisons)
 *
 * and x is rebound to the GEN's result, exactly as `x = [...]` would be.
 * SSA form then gives the rest for free: a parameter's caller-side array
 * is never changed, a store inside a for loop makes x a carried value
 * (lower.c's assigned_names sees an AST_ASSIGN), a store inside an if
 * makes x one of the IF's results, and reverse mode cuts the adjoint of
 * the overwritten element because SELECT passes its adjoint only to the
 * operand it selected.  A row store X[t] = v (fewer indices than the
 * rank) compares the leading indices and takes v's element at the rest.
 *
 * The indices go through the same entry point as reading (lw_indices),
 * so they obey the same rules and the same compile-time range check over
 * the iterations that run.
 *
 * The GEN is flagged IF_SETELEM, so that the passes after it know the
 * pattern without re-deriving it: ad_linearize stores the tangent
 * (lin_store), ad_transpose reads and clears one element of the adjoint
 * (rev_store) and tapes only the overwritten elements of a carried array
 * (carry_store), and the C generator writes only the stored element when
 * x's old value is dead (cbody.c's in_place_store): O(1) per element
 * store in f, f_jvp, f_grad and f_hvp.
 */
#include <string.h>

#include "lower.h"

/* The variable a store writes, or -1 after an error at st's name: it
 * must be an array variable defined here (not an index variable, a
 * constant, a function, a built-in, a scalar, or undefined). */
static int store_slot(Lower *L, const Ast *st)
{
    const char *nm = diag_name(L->a, st->name);
    int is_int;
    double v;
    const char *what = lw_index_find(L, st->name) ? "an index variable"
                     : sema_const(L->s, st->name, &is_int, &v) ? "a constant"
                     : sema_is_builtin(st->name) ? "a built-in function"
                     : sema_fn(L->s, st->name) ? "a function" : NULL;
    if (what) {
        lw_errf(L, st->name_loc, "'%s' is %s, not an array variable; no element of it can be "
                "assigned", nm, what);
        return -1;
    }
    int slot = lw_env_find(L, L->env, st->name, 0);
    int state = slot < 0 ? UNDEF : L->env->slot[slot].state;
    if (state == PARTIAL) {
        lw_errf(L, st->name_loc, "'%s' is not defined on every path to here (see the if on "
                "line %d)", nm, L->env->slot[slot].if_line);
        return -1;
    }
    if (state == UNDEF) {
        lw_errf(L, st->name_loc, "'%s' is not defined; only an element of an array variable that "
                "already exists can be assigned%s", nm, lw_near_value(L, st->name));
        return -1;
    }
    Ref old = L->env->slot[slot].val;
    if (lw_is_bad(L, old))
        return -1;
    if (!lw_type_of(L, old).rank) {
        lw_errf(L, st->name_loc, "'%s' is a scalar, not an array variable; no element of it can "
                "be assigned", nm);
        return -1;
    }
    return slot;
}

/* An affine index expression as a real value (an IREAL). */
static Ref ireal(Lower *L, Loc loc, Aff x)
{
    Ref r = lw_put(L, loc, OP_IREAL, ty_scalar(), NOREF, NOREF);
    L->f->v.p[r].nix = 1;
    L->f->v.p[r].x->ix = arena_alloc(L->a, sizeof(Aff));
    L->f->v.p[r].x->ix[0] = aff_copy(L->a, x);
    return r;
}

/* arr[iv[0], ..., iv[rank-1]] (arr itself if it is a scalar). */
static Ref element(Lower *L, Loc loc, Ref arr, const Ref *iv)
{
    int n = lw_type_of(L, arr).rank;
    if (!n)
        return arr;
    Ref r = lw_put(L, loc, OP_IDX, ty_scalar(), arr, NOREF);
    L->f->v.p[r].nix = n;
    L->f->v.p[r].x->ix = arena_alloc(L->a, sizeof(Aff) * (size_t)n);
    for (int d = 0; d < n; d++)
        L->f->v.p[r].x->ix[d] = aff_var(L->a, iv[d]);
    return r;
}

/* The new value of old (type t) after storing v at the n leading
 * indices ix: GEN k. (k[0] == ix[0] and ...) ? v[k[n..]] : old[k]. */
static Ref stored(Lower *L, Loc loc, Ref old, Type t, const Aff *ix, int n, Ref v)
{
    Fn *f = L->f;
    Ref g = ir_loop_new(f, L->r, OP_GEN, t, t.rank);
    f->v.p[g].line = loc.line;
    f->v.p[g].flags |= IF_SETELEM;
    Region *outer = L->r, *body = f->v.p[g].x->reg[0];
    L->r = body;
    Ref iv[DX_MAXRANK];
    for (int d = 0; d < t.rank; d++) {
        iv[d] = ir_ivar(f, g, d);
        f->v.p[iv[d]].line = loc.line;
    }
    Ref cond = NOREF;
    for (int d = 0; d < n; d++) {
        Ref eq = lw_emit(L, loc, OP_EQ, ireal(L, loc, aff_var(L->a, iv[d])), ireal(L, loc, ix[d]));
        cond = cond == NOREF ? eq : lw_emit(L, loc, OP_AND, cond, eq);
    }
    Ref a = element(L, loc, v, iv + n), b = element(L, loc, old, iv);
    Ref x = ir_emit(f, body, OP_SELECT, ty_scalar(), cond, a, b);
    f->v.p[x].line = loc.line;
    vec_push(L->a, &body->yield, x);
    L->r = outer;
    return lw_put(L, loc, OP_RESULT, t, g, NOREF);
}

/* "x[i, j + 1]", for messages. */
static const char *target_text(Lower *L, const Ast *st)
{
    const char *s = arena_printf(L->a, "%s[", diag_name(L->a, st->name));
    for (int d = 0; d < st->args.n; d++)
        s = arena_printf(L->a, "%s%s%s", s, d ? ", " : "", lw_text(L, st->args.p[d]));
    return arena_printf(L->a, "%s]", s);
}

/* The target, its indices, then the value: errors come in the order of
 * the source. */
void lw_lower_store(Lower *L, const Ast *st)
{
    int slot = store_slot(L, st);
    if (slot < 0) {
        lower_expr(L, st->a); /* for its own errors */
        return;
    }
    Type t = lw_type_of(L, L->env->slot[slot].val);
    Aff ix[DX_MAXRANK];
    int n = lw_indices(L, &st->args, t, diag_name(L->a, st->name), ix);
    Ref v = lower_expr(L, st->a);
    Ref old = L->env->slot[slot].val;
    if (n < 0 || lw_is_bad(L, v))
        return;
    Type want = n == t.rank ? ty_scalar() : ty_array(t.rank - n, ty_dims(t) + n);
    if (!ty_eq(want, lw_type_of(L, v))) {
        lw_errf(L, st->a->loc, "%s is %s; it cannot be assigned %s", target_text(L, st),
                lw_describe(L, want), lw_describe(L, lw_type_of(L, v)));
        return;
    }
    Ref r = stored(L, st->loc, old, t, ix, n, v);
    L->f->v.p[r].name = st->name;
    lw_env_set(L, slot, r, DEF, 0, NOREF);
}
