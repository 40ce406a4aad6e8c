/*
 * lower.c - from the syntax tree to the SSA computational graph, with the
 * checks local to a function body.
 *
 * SSA is built while walking the tree, as in Braun et al., "Simple and
 * Efficient Construction of Static Single Assignment Form" (CC 2013); the
 * language's control flow is structured, so no CFG is needed: a variable
 * maps to its current value, an `if` merges its branches' values into the
 * IF's results (the phi nodes), and reassignment just rebinds the name.
 *
 * A branch is lowered, its changes to the environment (lower_state.c)
 * are read off the undo log, and the log is unwound before the other
 * branch.
 *
 * Calls to user functions are inlined (recursion was rejected by
 * sema_check), so derivatives flow through every argument that depends
 * on an active value; arrays pass through whole, after their shapes are
 * checked against the callee's parameters.  Errors inside a callee are
 * reported once, when the callee itself is lowered, not at every call.
 *
 * Every value's shape is its IR type; a variable keeps its shape for its
 * whole life, on every path.  After an error, the expression's value is
 * a "bad" constant that silences the shape errors of everything computed
 * from it, so one mistake gives one message.  Array operations are in
 * lower_array.c, index expressions and their range proofs in index.c, and
 * what all of them use (errors, the environment, emitting instructions)
 * in lower_state.c.
 */
#include "lower.h"

#include <math.h>
#include <string.h>

/* ---- expressions ---- */

static Ref lower_body(Lower *L, const Ast *fn);

typedef struct {
    const char *name;
    Op op;
    int nargs;
} Builtin;

static const Builtin scalar_builtins[] = {
    {"exp", OP_EXP, 1}, {"log", OP_LOG, 1}, {"log1p", OP_LOG1P, 1}, {"expm1", OP_EXPM1, 1},
    {"sqrt", OP_SQRT, 1}, {"sin", OP_SIN, 1}, {"cos", OP_COS, 1}, {"tan", OP_TAN, 1},
    {"asin", OP_ASIN, 1}, {"acos", OP_ACOS, 1}, {"atan", OP_ATAN, 1}, {"sinh", OP_SINH, 1},
    {"cosh", OP_COSH, 1}, {"tanh", OP_TANH, 1}, {"erf", OP_ERF, 1}, {"abs", OP_ABS, 1},
    {"sigmoid", OP_SIGMOID, 1}, {"relu", OP_RELU, 1}, {"softplus", OP_SOFTPLUS, 1},
    {"pow", OP_POW, 2}, {"atan2", OP_ATAN2, 2}, {"hypot", OP_HYPOT, 2}, {"min", OP_MIN, 2},
    {"max", OP_MAX, 2},
    {"lgamma", OP_LGAMMA, 1}, {"digamma", OP_DIGAMMA, 1},
};

int lw_int_exponent(Lower *L, const Ast *e, double *n)
{
    if (e->kind == AST_NEG) {
        if (!lw_int_exponent(L, e->a, n))
            return 0;
        *n = -*n;
        return 1;
    }
    if (e->kind == AST_NUM && e->is_int && e->num <= 2147483647.0) {
        *n = e->num;
        return 1;
    }
    int is_int;
    double v;
    if (e->kind == AST_NAME && sema_const(L->s, e->name, &is_int, &v) == 1 && is_int) {
        *n = v;
        return 1;
    }
    return 0;
}

static Ref lower_name(Lower *L, const Ast *e)
{
    const IndexVar *iv = lw_index_find(L, e->name);
    if (iv) {
        /* an index variable as a real value (t * dt) */
        Ref r = lw_put(L, e->loc, OP_IREAL, ty_scalar(), NOREF, NOREF);
        L->f->v.p[r].nix = 1;
        L->f->v.p[r].x->ix = arena_alloc(L->a, sizeof(Aff));
        L->f->v.p[r].x->ix[0] = aff_copy(L->a, iv->val);
        return r;
    }
    int slot = lw_env_find(L, L->env, e->name, 0);
    if (slot >= 0) {
        Slot *s = &L->env->slot[slot];
        if (s->state == DEF)
            return s->val;
        if (s->state == PARTIAL) {
            if (!L->inlining &&
                diag_error(L->d, e->loc,
                           "'%s' is not defined on every path to here (see the if on line %d)",
                           diag_name(L->a, e->name), s->if_line))
                L->stop = 1;
            return lw_bad(L, e->loc);
        }
    }
    int is_int;
    double v;
    int c = sema_const(L->s, e->name, &is_int, &v);
    if (c == 1)
        return lw_const(L, e->loc, v);
    if (c == -1)
        return lw_bad(L, e->loc); /* its definition was reported */
    if (!strcmp(e->name, "pi"))
        return lw_const(L, e->loc, 3.14159265358979323846);
    if (!strcmp(e->name, "inf"))
        return lw_const(L, e->loc, INFINITY);
    const IndexVar *g = lw_index_gone(L, e->name);
    if (sema_fn(L->s, e->name))
        lw_err(L, e->loc, "'%s' is a function, not a value", e->name);
    else if (sema_is_builtin(e->name))
        lw_err(L, e->loc, "'%s' is a built-in function, not a value", e->name);
    else if (g)
        lw_errf(L, e->loc, "'%s' is not defined here (the index variable '%s' of the %s on line %d "
                "exists only inside it)", diag_name(L->a, e->name), diag_name(L->a, e->name),
                g->what, g->line);
    else
        lw_errf(L, e->loc, "'%s' is not defined%s", diag_name(L->a, e->name),
                lw_near_value(L, e->name));
    return lw_bad(L, e->loc);
}

Ref lw_arity_error(Lower *L, const Ast *e, int want)
{
    if (!L->inlining &&
        diag_error(L->d, e->loc, "'%s' takes %d argument%s, but %d %s given",
                   diag_name(L->a, e->name), want, want == 1 ? "" : "s", e->args.n,
                   e->args.n == 1 ? "was" : "were"))
        L->stop = 1;
    return lw_bad(L, e->loc);
}

/* The types g's parameters declare (an entry is NULL-typed, kind
 * TY_NONE, where its declaration has an error, reported with g). */
static Type *param_types(Lower *L, const Ast *g)
{
    Type *t = arena_alloc(L->a, sizeof(Type) * (size_t)(g->params.n + 1));
    L->inlining++;
    for (int i = 0; i < g->params.n; i++) {
        const Ast *p = g->params.p[i];
        t[i] = ty_scalar();
        if (p->dims.n && !lw_declared_type(L, &p->dims, p->name_loc, &t[i]))
            t[i] = ty_none();
    }
    L->inlining--;
    return t;
}

/* A call of a user function: its body, inlined with the parameters bound
 * to the arguments (arrays pass through whole). */
static Ref lower_user_call(Lower *L, const Ast *e, const Ast *g)
{
    if (e->args.n != g->params.n) {
        return lw_arity_error(L, e, g->params.n);
    }
    Ref *args = arena_alloc(L->a, sizeof(Ref) * (size_t)(e->args.n + 1));
    int ok = 1;
    for (int i = 0; i < e->args.n; i++) {
        args[i] = lower_expr(L, e->args.p[i]);
        ok &= !lw_is_bad(L, args[i]);
    }
    /* the callee sees none of the caller's names, index variables included */
    Env callee, *saved = L->env;
    IndexVec saved_ix = L->ix;
    LevelVec saved_dom = L->dom;
    memset(&L->ix, 0, sizeof L->ix);
    memset(&L->dom, 0, sizeof L->dom);
    lw_env_init(L, &callee);
    L->env = &callee;
    Type *pt = param_types(L, g);
    for (int i = 0; ok && i < g->params.n; i++) {
        Type at = lw_type_of(L, args[i]);
        if (pt[i].kind == TY_NONE || ty_eq(at, pt[i]))
            continue;
        lw_errf(L, e->args.p[i]->loc, "argument %d of '%s' is %s, but parameter '%s' is %s", i + 1,
                diag_name(L->a, g->name), lw_describe(L, at),
                diag_name(L->a, g->params.p[i]->name), lw_describe(L, pt[i]));
        ok = 0;
    }
    Ref v;
    if (ok) {
        for (int i = 0; i < g->params.n; i++)
            lw_env_set(L, lw_env_find(L, &callee, g->params.p[i]->name, 1), args[i], DEF, 0, NOREF);
        L->inlining++;
        v = lower_body(L, g);
        L->inlining--;
    }
    lw_env_free(L, &callee);
    L->env = saved;
    L->ix = saved_ix;
    L->dom = saved_dom;
    return ok ? v : lw_bad(L, e->loc);
}

/* "; did you mean 'f'?" for a call of an unknown function name: the
 * closest built-in or function of the file; or "". */
static const char *near_fn(Lower *L, const char *name)
{
    Near n;
    near_init(&n, name);
    sema_offer_fns(L->s, &n);
    return near_hint(L->a, &n);
}

static Ref lower_call(Lower *L, const Ast *e)
{
    const Ast *g = sema_fn(L->s, e->name);
    if (g)
        return lower_user_call(L, e, g);
    for (size_t i = 0; i < sizeof scalar_builtins / sizeof scalar_builtins[0]; i++) {
        const Builtin *b = &scalar_builtins[i];
        if (strcmp(b->name, e->name))
            continue;
        int minmax = b->op == OP_MIN || b->op == OP_MAX;
        if (minmax && e->args.n == 1)
            return lower_array_call(L, e); /* over the elements of an array */
        if (minmax && e->args.n != 2) {
            lw_errf(L, e->loc, "'%s' takes 1 or 2 arguments, but %d were given", b->name,
                    e->args.n);
            return lw_bad(L, e->loc);
        }
        if (e->args.n != b->nargs) {
            return lw_arity_error(L, e, b->nargs);
        }
        if (b->op == OP_POW)
            return lower_pow_call(L, e);
        Ref a = lower_expr(L, e->args.p[0]);
        Ref c = b->nargs > 1 ? lower_expr(L, e->args.p[1]) : NOREF;
        if (c != NOREF && !lw_is_bad(L, a) && !lw_is_bad(L, c)) {
            Type ta = lw_type_of(L, a), tc = lw_type_of(L, c);
            if (ta.rank && tc.rank && !ty_eq(ta, tc)) {
                lw_errf(L, e->loc, "the arguments of '%s' have different shapes %s and %s", b->name,
                        lw_shape_text(L, ta), lw_shape_text(L, tc));
                return lw_bad(L, e->loc);
            }
        }
        return lw_lift(L, e->loc, b->op, a, c, 0);
    }
    Ref r = lower_array_call(L, e);
    if (r != NOREF)
        return r;
    int is_int;
    double v;
    if (sema_const(L->s, e->name, &is_int, &v))
        lw_err(L, e->loc, "'%s' is a constant, not a function", e->name);
    else if (lw_env_find(L, L->env, e->name, 0) >= 0 || lw_index_find(L, e->name))
        lw_err(L, e->loc, "'%s' is a variable, not a function", e->name);
    else
        lw_errf(L, e->loc, "no function named '%s'%s", diag_name(L->a, e->name),
                near_fn(L, e->name));
    return lw_bad(L, e->loc);
}

/* if c then a else b: an IF with one result, so only the branch taken
 * is evaluated (and differentiated).  Both values have one shape. */
static Ref lower_ifexpr(Lower *L, const Ast *e)
{
    Ref c = lower_cond(L, e->cond);
    Ref nif = lw_put(L, e->loc, OP_IF, ty_scalar(), c, NOREF);
    Region *saved = L->r;
    const Ast *arm[2] = {e->a, e->b};
    Ref v[2];
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(L->f, nif, s);
        L->f->v.p[nif].x->reg[s] = r;
        L->r = r;
        v[s] = lower_expr(L, arm[s]);
        vec_push(L->a, &r->yield, v[s]);
    }
    L->r = saved;
    Type t = lw_type_of(L, v[0]);
    if (lw_is_bad(L, v[0]) || lw_is_bad(L, v[1]))
        return lw_bad(L, e->loc);
    if (!ty_eq(t, lw_type_of(L, v[1]))) {
        lw_errf(L, e->loc, "the values of if-then-else differ in shape: %s and %s",
                lw_describe(L, t), lw_describe(L, lw_type_of(L, v[1])));
        return lw_bad(L, e->loc);
    }
    return lw_put(L, e->loc, OP_RESULT, t, nif, NOREF);
}

Ref lower_expr(Lower *L, const Ast *e)
{
    if (L->stop)
        return lw_bad(L, e->loc);
    switch (e->kind) {
    case AST_NUM:
        return lw_const(L, e->loc, e->num);
    case AST_NAME:
        return lower_name(L, e);
    case AST_NEG:
        return lw_lift(L, e->loc, OP_NEG, lower_expr(L, e->a), NOREF, 0);
    case AST_BIN:
        return lower_bin(L, e);
    case AST_CALL:
        return lower_call(L, e);
    case AST_IFEXPR:
        return lower_ifexpr(L, e);
    case AST_REDUCE:
        return lower_reduce(L, e);
    case AST_INDEX:
        return lower_index(L, e);
    case AST_ARRAY:
        return lower_literal(L, e);
    case AST_COMP:
        return lower_comp(L, e);
    default:
        lw_err(L, e->loc, "a condition is not a value%s", NULL);
        return lw_bad(L, e->loc);
    }
}

/* One side of a comparison: conditions compare scalars. */
static Ref compared(Lower *L, const Ast *e)
{
    Ref r = lower_expr(L, e);
    if (lw_is_bad(L, r) || !lw_type_of(L, r).rank)
        return r;
    lw_errf(L, e->loc, "a condition compares scalars, but this is %s",
            lw_describe(L, lw_type_of(L, r)));
    return lw_bad(L, e->loc);
}

Ref lower_cond(Lower *L, const Ast *e)
{
    static const Op cmp[] = {[CMP_LT] = OP_LT, [CMP_LE] = OP_LE, [CMP_GT] = OP_GT,
                             [CMP_GE] = OP_GE, [CMP_EQ] = OP_EQ, [CMP_NE] = OP_NE};
    switch (e->kind) {
    case AST_CMP: {
        Ref a = compared(L, e->a);
        Ref b = compared(L, e->b);
        return lw_emit(L, e->loc, cmp[e->op], a, b);
    }
    case AST_AND:
    case AST_OR: {
        Ref a = lower_cond(L, e->cond);
        Ref b = lower_cond(L, e->cond2);
        return lw_emit(L, e->loc, e->kind == AST_AND ? OP_AND : OP_OR, a, b);
    }
    case AST_NOT:
        return lw_emit(L, e->loc, OP_NOT, lower_cond(L, e->cond), NOREF);
    default:
        lw_err(L, e->loc, "expected a condition (a comparison such as x > 0)%s", NULL);
        return lw_emit(L, e->loc, OP_NE, lw_const(L, e->loc, 0), lw_const(L, e->loc, 0));
    }
}

/* ---- statements ---- */

/* A name that a variable may take (assignments and parameters). */
int lw_check_name(Lower *L, const char *name, Loc loc, const char *what)
{
    int is_int;
    double v;
    if (sema_is_builtin(name)) {
        if (!L->inlining &&
            diag_error(L->d, loc, "'%s' is the name of a built-in %s; %s cannot take it",
                       diag_name(L->a, name), sema_builtin_noun(name), what))
            L->stop = 1;
        return 0;
    }
    if (sema_const(L->s, name, &is_int, &v)) {
        if (!L->inlining &&
            diag_error(L->d, loc, "'%s' is a constant; %s cannot take its name",
                       diag_name(L->a, name), what))
            L->stop = 1;
        return 0;
    }
    if (sema_fn(L->s, name)) {
        if (!L->inlining &&
            diag_error(L->d, loc, "'%s' is a function; %s cannot take its name",
                       diag_name(L->a, name), what))
            L->stop = 1;
        return 0;
    }
    return 1;
}

/* The value whose shape a variable has: its value, or on a path where
 * it is not defined, the value it has on another path (or NOREF). */
static Ref shape_of(const Slot *s)
{
    return s->state == DEF ? s->val : s->state == PARTIAL ? s->shape : NOREF;
}

static void lower_assign(Lower *L, const Ast *st)
{
    Ref v = lower_expr(L, st->a);
    if (lw_index_find(L, st->name)) {
        lw_errf(L, st->name_loc, "'%s' is an index variable and cannot be assigned",
                diag_name(L->a, st->name));
        return;
    }
    lw_check_name(L, st->name, st->name_loc, "a variable"); /* bound anyway */
    int slot = lw_env_find(L, L->env, st->name, 1);
    Ref old = shape_of(&L->env->slot[slot]);
    if (old != NOREF && !lw_is_bad(L, old) && !lw_is_bad(L, v) &&
        !ty_eq(lw_type_of(L, old), lw_type_of(L, v))) {
        lw_errf(L, st->name_loc,
                "'%s' is %s; it cannot be assigned %s (a variable keeps its shape)",
                diag_name(L->a, st->name), lw_describe(L, lw_type_of(L, old)),
                lw_describe(L, lw_type_of(L, v)));
        v = lw_bad(L, st->loc);
    }
    Inst *in = &L->f->v.p[v];
    if (!in->name && in->op != OP_CONST && in->op != OP_PARAM)
        in->name = st->name;
    lw_env_set(L, slot, v, DEF, 0, NOREF);
}

typedef struct {
    int slot;
    Ref val, shape;
    int state;
} Change;
typedef VEC(Change) ChangeVec;
typedef VEC(int) IntVec;

/* The slots a branch changed (since log position mark), deduplicated. */
static void collect(Lower *L, int mark, ChangeVec *out, IntVec *order)
{
    Env *e = L->env;
    unsigned stamp = ++L->stamp;
    for (int i = mark; i < e->log.n; i++) {
        int s = e->log.p[i].slot;
        if (e->slot[s].stamp == stamp)
            continue;
        e->slot[s].stamp = stamp;
        Change c = {s, e->slot[s].val, shape_of(&e->slot[s]), e->slot[s].state};
        vec_push(L->a, out, c);
        vec_push(L->a, order, s);
    }
}

static const Change *find_change(const Change *c, int n, int slot)
{
    for (int i = 0; i < n; i++)
        if (c[i].slot == slot)
            return &c[i];
    return NULL;
}

/* if c { A } else { B }: the variables either branch assigns become the
 * IF's results where both paths define them (with one shape). */
static void lower_if(Lower *L, const Ast *st)
{
    Ref c = lower_cond(L, st->cond);
    const AstList *arm[2] = {&st->body, &st->els};
    lw_branches(L, st->loc, c, arm, 0);
}

void lw_branches(Lower *L, Loc loc, Ref c, const AstList *const arm[2], int else_jumped)
{
    Fn *f = L->f;
    Ref nif = lw_put(L, loc, OP_IF, ty_scalar(), c, NOREF);
    Region *saved = L->r;
    int mark = L->env->log.n;
    ChangeVec ch[2] = {{0}};
    IntVec order = {0};
    int jumped[2] = {0, else_jumped};
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(f, nif, s);
        f->v.p[nif].x->reg[s] = r;
        L->r = r;
        if (L->loop)
            L->loop->jumped = 0;
        lw_stmts(L, arm[s], 0);
        jumped[s] |= L->loop && L->loop->jumped;
        collect(L, mark, &ch[s], &order);
        lw_env_undo(L->env, mark);
    }
    if (L->loop)
        L->loop->jumped = jumped[0] && jumped[1];
    L->r = saved;
    int nres = 0;
    unsigned stamp = ++L->stamp;
    for (int i = 0; i < order.n; i++) {
        int s = order.p[i];
        Slot *slot = &L->env->slot[s];
        if (slot->stamp == stamp)
            continue;
        slot->stamp = stamp;
        Change v[2];
        for (int k = 0; k < 2; k++) {
            const Change *x = find_change(ch[k].p, ch[k].n, s);
            v[k] = x ? *x : (Change){s, slot->val, shape_of(slot), slot->state};
        }
        for (int k = 0; k < 2; k++) /* a path that left the iteration needs no value */
            if (jumped[k] && v[k].state != DEF && v[1 - k].state == DEF) {
                v[k].val = lw_jumped_value(L, nif, k, lw_type_of(L, v[1 - k].val));
                v[k].state = DEF;
            }
        if (v[0].state == DEF && v[1].state == DEF) {
            Type t = lw_type_of(L, v[0].val);
            int err = lw_is_bad(L, v[0].val) || lw_is_bad(L, v[1].val);
            if (!err && !ty_eq(t, lw_type_of(L, v[1].val))) {
                lw_errf(L, loc, "'%s' is %s after the then branch but %s after the else "
                        "branch (a variable keeps its shape)", diag_name(L->a, slot->name),
                        lw_describe(L, t), lw_describe(L, lw_type_of(L, v[1].val)));
                lw_env_set(L, s, lw_bad(L, loc), DEF, 0, NOREF);
                continue;
            }
            for (int k = 0; k < 2; k++)
                vec_push(L->a, &f->v.p[nif].x->reg[k]->yield, v[k].val);
            Ref res = lw_put(L, loc, OP_RESULT, t, nif, NOREF);
            f->v.p[res].n = nres++;
            f->v.p[res].name = slot->name;
            lw_env_set(L, s, err ? lw_mark_bad(L, res) : res, DEF, 0, NOREF);
        } else if (v[0].state != UNDEF || v[1].state != UNDEF) {
            Ref shape = v[0].shape != NOREF ? v[0].shape : v[1].shape;
            lw_env_set(L, s, NOREF, PARTIAL, loc.line, shape);
        }
    }
}

/* The names a block assigns, at any depth, each once, in order. */
static void assigned_names(Lower *L, const AstList *body, NameVec *out)
{
    for (int i = 0; i < body->n; i++) {
        const Ast *st = body->p[i];
        if (st->kind == AST_ASSIGN) {
            int seen = 0;
            for (int k = 0; k < out->n && !seen; k++)
                seen = !strcmp(out->p[k], st->name);
            if (!seen)
                vec_push(L->a, out, st->name);
        } else if (st->kind == AST_IF) {
            assigned_names(L, &st->body, out);
            assigned_names(L, &st->els, out);
        } else if (st->kind == AST_FOR || st->kind == AST_WHILE) {
            assigned_names(L, &st->body, out);
        }
    }
}

/* for i in a..b { body }: a FOR.  The variables the body assigns that are
 * defined before the loop are carried: inside, each is a CARRY (its value
 * at the start of an iteration), the body yields its value at the end,
 * and after the loop it is the FOR's RESULT.  Variables first assigned in
 * the body stay local to it.  A while loop is a FOR over 0..N, and a loop
 * holding break or continue carries flags besides (lower_loop.c). */
static void lower_for(Lower *L, const Ast *st)
{
    const Ast *g = st->kind == AST_FOR ? st->gens.p[0] : NULL; /* NULL: a while loop */
    Aff lo, hi;
    int ok = g ? lower_affine(L, g->a, AK_LOOP, &lo) : lw_while_range(L, st, &lo, &hi);
    ok = (!g || lower_affine(L, g->b, AK_LOOP, &hi)) && ok;
    if (!ok)
        return;
    int32_t a = lo.c, b = hi.c < lo.c ? lo.c : hi.c;
    NameVec names = {0};
    assigned_names(L, &st->body, &names);
    LwLoop lp;
    lw_loop_begin(L, st, &lp, &names);
    VEC(int) slots = {0};
    VEC(Ref) init = {0};
    for (int k = 0; k < names.n; k++) {
        int s = lw_env_find(L, L->env, names.p[k], 0);
        if (s < 0 || L->env->slot[s].state != DEF)
            continue;
        vec_push(L->a, &slots, s);
        vec_push(L->a, &init, L->env->slot[s].val);
    }
    Fn *f = L->f;
    Ref loop = ir_for_new(f, L->r, a, b, slots.n, init.p);
    f->v.p[loop].line = st->loc.line;
    Region *saved = L->r, *body = f->v.p[loop].x->reg[0];
    int mark = L->env->log.n;
    for (int j = 0; j < slots.n; j++) {
        Ref c = ir_carry(f, loop, j);
        f->v.p[c].line = st->loc.line;
        f->v.p[c].name = L->env->slot[slots.p[j]].name;
        if (lw_is_bad(L, init.p[j]))
            lw_mark_bad(L, c);
        lw_env_set(L, slots.p[j], c, DEF, 0, NOREF);
    }
    if (g)
        lw_check_index_name(L, g);
    Ref iv = body->ids.p[0];
    f->v.p[iv].name = g ? g->name : "iter";
    f->v.p[iv].line = st->loc.line;
    if (g)
        lw_index_bind(L, g->name, g->loc, aff_var(L->a, iv), "for loop");
    lw_domain_push(L, iv, aff_copy(L->a, lo), aff_const(L->a, b), g ? g : st, NULL);
    L->r = body;
    lw_loop_body(L, st);
    Ref *out = arena_alloc(L->a, sizeof(Ref) * (size_t)(slots.n + 1));
    for (int j = 0; j < slots.n; j++) {
        const Slot *sl = &L->env->slot[slots.p[j]];
        out[j] = sl->state == DEF ? sl->val : ir_carry(f, loop, j);
        vec_push(L->a, &body->yield, out[j]);
    }
    L->r = saved;
    lw_domain_pop(L, 1);
    if (g)
        lw_index_unbind(L, 1);
    lw_env_undo(L->env, mark);
    for (int j = 0; j < slots.n; j++) {
        Ref res = lw_put(L, st->loc, OP_RESULT, f->v.p[init.p[j]].ty, loop, NOREF);
        f->v.p[res].n = j;
        f->v.p[res].name = L->env->slot[slots.p[j]].name;
        if (lw_is_bad(L, out[j]) || lw_is_bad(L, init.p[j]))
            lw_mark_bad(L, res);
        lw_env_set(L, slots.p[j], res, DEF, 0, NOREF);
    }
    lw_loop_end(L, &lp);
}

void lw_stmts(Lower *L, const AstList *body, int top)
{
    for (int i = 0; i < body->n && !L->stop; i++) {
        const Ast *st = body->p[i];
        int jumps0 = L->loop ? L->loop->jumps : 0;
        switch (st->kind) {
        case AST_ASSIGN:
            if (st->args.n)
                lw_lower_store(L, st);
            else
                lower_assign(L, st);
            break;
        case AST_IF:
            lower_if(L, st);
            break;
        case AST_FOR:
        case AST_WHILE:
            lower_for(L, st);
            break;
        case AST_BREAK:
        case AST_CONTINUE:
            lw_jump(L, st);
            break;
        case AST_RETURN:
            if (!top)
                lw_err(L, st->loc, "return is allowed only as the last statement of a function%s",
                       NULL);
            else if (i != body->n - 1)
                lw_err(L, body->p[i + 1]->loc, "statement after return%s", NULL);
            break;
        default:
            BUG("lower_stmts: not a statement");
        }
        if (lw_guard_rest(L, body, i, jumps0))
            return;
    }
}

/* The body of fn, in the current environment (parameters bound). */
static Ref lower_body(Lower *L, const Ast *fn)
{
    const char *saved_name = L->fn_name;
    struct LwLoop *saved_loop = L->loop; /* a callee's break is not the caller's */
    L->loop = NULL;
    if (!L->inlining)
        L->fn_name = fn->name;
    Ref v;
    if (fn->a) {
        v = lower_expr(L, fn->a);
    } else {
        lw_stmts(L, &fn->body, 1);
        const Ast *last = fn->body.n ? fn->body.p[fn->body.n - 1] : NULL;
        if (!last || last->kind != AST_RETURN) {
            lw_err(L, fn->name_loc, "function '%s' does not end with a return statement", fn->name);
            v = lw_bad(L, fn->loc);
        } else {
            v = L->stop ? lw_bad(L, last->loc) : lower_expr(L, last->a);
        }
    }
    L->fn_name = saved_name;
    L->loop = saved_loop;
    return v;
}

/* Where a function's result is written: its return statement, or its
 * expression body. */
static Loc result_loc(const Ast *fn)
{
    if (fn->a)
        return fn->a->loc;
    const Ast *last = fn->body.n ? fn->body.p[fn->body.n - 1] : NULL;
    return last && last->kind == AST_RETURN ? last->loc : fn->name_loc;
}

static Fn *lower_fn(Lower *L, const Ast *fn, const Source *src)
{
    Fn *f = ir_fn_new(L->a, fn->name, FN_PRIMAL);
    f->src_name = fn->name;
    f->src = src;
    f->line = fn->loc.line;
    f->col = fn->name_loc.col;
    L->f = f;
    L->r = f->body;
    L->bad.n = 0;
    lw_domain_reset(L);
    Env env;
    lw_env_init(L, &env);
    L->env = &env;
    for (int i = 0; i < fn->params.n; i++) {
        const Ast *p = fn->params.p[i];
        Type ty = ty_scalar();
        int ok = !p->dims.n || lw_declared_type(L, &p->dims, p->name_loc, &ty);
        Input in = {p->name, ok ? ty : ty_scalar(), IN_PARAM, p->is_data, 0};
        vec_push(L->a, &f->in, in);
        Ref r = ir_param(f, f->body, i);
        f->v.p[r].line = p->loc.line;
        if (!ok)
            lw_mark_bad(L, r);
        /* bound even after an error, so its uses do not cascade */
        lw_check_name(L, p->name, p->name_loc, "a parameter");
        int slot = lw_env_find(L, &env, p->name, 1);
        if (env.slot[slot].state != UNDEF) {
            lw_err(L, p->name_loc, "duplicate parameter '%s'", p->name);
            continue;
        }
        lw_env_set(L, slot, r, DEF, 0, NOREF);
    }
    Type want = ty_scalar();
    int declared = fn->ret && (!fn->ret->dims.n || lw_declared_type(L, &fn->ret->dims,
                                                                 fn->ret->loc, &want));
    double size = sema_inline_size(L->s, fn);
    if (size > L->max_ops) {
        if (diag_error(L->d, fn->name_loc,
                       "function '%s' is too large once its calls are inlined "
                       "(%.3g operations; the limit is %ld, which --max-ops raises)",
                       diag_name(L->a, fn->name), size, L->max_ops))
            L->stop = 1;
        Output o = {"out", ty_scalar(), OUT_RETURN, 0, lw_const(L, fn->loc, 0)};
        vec_push(L->a, &f->out, o);
        lw_env_free(L, &env);
        return f;
    }
    Ref v = lower_body(L, fn);
    Type ty = lw_type_of(L, v);
    if (declared && !lw_is_bad(L, v) && !ty_eq(ty, want))
        lw_errf(L, result_loc(fn), "function '%s' returns %s, but its declared result is %s",
                diag_name(L->a, fn->name), lw_describe(L, ty), lw_describe(L, want));
    Output o = {"out", ty, ty.rank ? OUT_ARRAY : OUT_RETURN, 0, v};
    vec_push(L->a, &f->out, o);
    lw_env_free(L, &env);
    return f;
}

int ir_lower(Arena *a, Diag *d, const Source *src, const AstFile *file, Sema *s, Program *out)
{
    return ir_lower_max(a, d, src, file, s, IR_MAX_OPS, out);
}

int ir_lower_max(Arena *a, Diag *d, const Source *src, const AstFile *file, Sema *s,
                 long max_ops, Program *out)
{
    Lower L = {0};
    L.a = a;
    L.d = d;
    L.s = s;
    L.max_ops = max_ops;
    memset(out, 0, sizeof *out);
    out->src = src;
    out->arena = a;
    int before = d->nerrors;
    for (int i = 0; i < file->items.n && !L.stop; i++) {
        const Ast *it = file->items.p[i];
        if (it->kind != AST_FN || sema_fn(s, it->name) != it)
            continue;
        Unit u = {0};
        u.primal = lower_fn(&L, it, src);
        u.ret = u.primal->out.p[0].ty;
        vec_push(a, &out->units, u);
        arena_collect(a); /* the old copies of the arrays it grew */
    }
    return d->nerrors > before ? -1 : 0;
}
