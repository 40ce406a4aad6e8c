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
 * The environment is a hash table of slots with an undo log: a branch is
 * lowered, its changes are read off the log, and the log is unwound
 * before the other branch.
 *
 * Calls to user functions are inlined (recursion was rejected by
 * sema_check), so derivatives flow through every argument that depends
 * on an active value.  Errors inside a callee are reported once, when
 * the callee itself is lowered, not at every call.
 */
#include "ir.h"

#include <math.h>
#include <string.h>

enum { UNDEF, DEF, PARTIAL };
/* Inlining can multiply code exponentially (f1 calls f0 twice, f2 calls
 * f1 twice, ...): a function that would exceed this many syntax-tree
 * nodes once its calls are inlined is rejected before lowering. */
enum { MAX_NODES = 1000000, MAX_INSTS = 8000000 };

typedef struct {
    const char *name;
    Ref val;
    int state;
    int if_line;   /* PARTIAL: the if that left it undefined on a path */
    unsigned stamp;
} Slot;

typedef struct {
    int slot;
    Ref val;
    int state, if_line;
} Undo;

typedef struct {
    Slot *slot;
    int cap, n;
    VEC(Undo) log;
} Env;

typedef struct {
    Arena *a;
    Diag *d;
    Sema *s;
    Fn *f;
    Region *r;
    Env *env;
    int inlining;  /* > 0 while lowering a callee's body into a caller */
    int stop;
    unsigned stamp;
    const char *fn_name;
} Lower;

/* ---- errors ---- */

static void lerr(Lower *L, Loc loc, const char *fmt, const char *name)
{
    if (L->inlining)
        return;
    if (diag_error(L->d, loc, fmt, name ? diag_name(L->a, name) : ""))
        L->stop = 1;
}

/* ---- environment ---- */

static void env_init(Lower *L, Env *e)
{
    memset(e, 0, sizeof *e);
    e->cap = 64;
    e->slot = arena_alloc(L->a, sizeof(Slot) * (size_t)e->cap);
}

static int env_find(Lower *L, Env *e, const char *name, int create)
{
    if (create && 2 * (e->n + 1) > e->cap) {
        Slot *old = e->slot;
        int oc = e->cap;
        e->cap *= 2;
        e->slot = arena_alloc(L->a, sizeof(Slot) * (size_t)e->cap);
        /* slot numbers are kept in the undo log: rehash by remapping */
        int *remap = arena_alloc(L->a, sizeof(int) * (size_t)oc);
        for (int i = 0; i < oc; i++) {
            if (!old[i].name)
                continue;
            unsigned h = dx_hash(old[i].name) & (unsigned)(e->cap - 1);
            while (e->slot[h].name)
                h = (h + 1) & (unsigned)(e->cap - 1);
            e->slot[h] = old[i];
            remap[i] = (int)h;
        }
        for (int i = 0; i < e->log.n; i++)
            e->log.p[i].slot = remap[e->log.p[i].slot];
    }
    unsigned h = dx_hash(name) & (unsigned)(e->cap - 1);
    while (e->slot[h].name) {
        if (!strcmp(e->slot[h].name, name))
            return (int)h;
        h = (h + 1) & (unsigned)(e->cap - 1);
    }
    if (!create)
        return -1;
    e->slot[h].name = name;
    e->slot[h].val = NOREF;
    e->slot[h].state = UNDEF;
    e->n++;
    return (int)h;
}

static void env_set(Lower *L, int slot, Ref val, int state, int if_line)
{
    Env *e = L->env;
    Undo u = {slot, e->slot[slot].val, e->slot[slot].state, e->slot[slot].if_line};
    vec_push(L->a, &e->log, u);
    e->slot[slot].val = val;
    e->slot[slot].state = state;
    e->slot[slot].if_line = if_line;
}

static void env_undo(Env *e, int mark)
{
    while (e->log.n > mark) {
        Undo u = e->log.p[--e->log.n];
        e->slot[u.slot].val = u.val;
        e->slot[u.slot].state = u.state;
        e->slot[u.slot].if_line = u.if_line;
    }
}

/* ---- emitting ---- */

static Ref emit(Lower *L, Loc loc, Op op, Ref a, Ref b)
{
    Type t = op_info[op].kind == K_BOOL ? ty_bool() : ty_scalar();
    Ref r = ir_emit(L->f, L->r, op, t, a, b, NOREF);
    L->f->v.p[r].line = loc.line;
    if (L->f->v.n > MAX_INSTS)
        BUG("a function grew past the operation limit after its size was checked");
    return r;
}

static Ref konst(Lower *L, Loc loc, double k)
{
    Ref r = ir_const(L->f, L->r, k);
    L->f->v.p[r].line = loc.line;
    return r;
}

/* ---- expressions ---- */

static Ref lower_expr(Lower *L, const Ast *e);
static Ref lower_cond(Lower *L, const Ast *e);
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
};

/* An integer exponent: an integer literal or constant, maybe negated. */
static int int_exponent(Lower *L, const Ast *e, double *n)
{
    if (e->kind == AST_NEG) {
        if (!int_exponent(L, e->a, n))
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

static Ref power(Lower *L, Loc loc, Ref x, const Ast *exponent)
{
    double n;
    if (int_exponent(L, exponent, &n)) {
        Ref r = emit(L, loc, OP_POWI, x, NOREF);
        L->f->v.p[r].k = n;
        return r;
    }
    return emit(L, loc, OP_POW, x, lower_expr(L, exponent));
}

static Ref unsupported(Lower *L, const Ast *e, const char *what)
{
    if (!L->inlining && diag_error(L->d, e->loc, "%s are not supported yet", what))
        L->stop = 1;
    return konst(L, e->loc, 0);
}

static Ref lower_name(Lower *L, const Ast *e)
{
    int slot = env_find(L, L->env, e->name, 0);
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
            return konst(L, e->loc, 0);
        }
    }
    int is_int;
    double v;
    int c = sema_const(L->s, e->name, &is_int, &v);
    if (c == 1)
        return konst(L, e->loc, v);
    if (c == -1)
        return konst(L, e->loc, 0); /* its definition was reported */
    if (!strcmp(e->name, "pi"))
        return konst(L, e->loc, 3.14159265358979323846);
    if (sema_fn(L->s, e->name))
        lerr(L, e->loc, "'%s' is a function, not a value", e->name);
    else if (sema_is_builtin(e->name))
        lerr(L, e->loc, "'%s' is a built-in function, not a value", e->name);
    else
        lerr(L, e->loc, "'%s' is not defined", e->name);
    return konst(L, e->loc, 0);
}

static Ref arity_error(Lower *L, const Ast *e, int want)
{
    if (!L->inlining &&
        diag_error(L->d, e->loc, "'%s' takes %d argument%s, but %d %s given",
                   diag_name(L->a, e->name), want, want == 1 ? "" : "s", e->args.n,
                   e->args.n == 1 ? "was" : "were"))
        L->stop = 1;
    return konst(L, e->loc, 0);
}

static Ref lower_user_call(Lower *L, const Ast *e, const Ast *g)
{
    if (e->args.n != g->params.n) {
        return arity_error(L, e, g->params.n);
    }
    Ref *args = arena_alloc(L->a, sizeof(Ref) * (size_t)(e->args.n + 1));
    for (int i = 0; i < e->args.n; i++)
        args[i] = lower_expr(L, e->args.p[i]);
    for (int i = 0; i < g->params.n; i++)
        if (g->params.p[i]->dims.n)
            return unsupported(L, e, "calls with array arguments");
    Env callee, *saved = L->env;
    env_init(L, &callee);
    L->env = &callee;
    for (int i = 0; i < g->params.n; i++)
        env_set(L, env_find(L, &callee, g->params.p[i]->name, 1), args[i], DEF, 0);
    L->inlining++;
    Ref v = lower_body(L, g);
    L->inlining--;
    L->env = saved;
    return v;
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
        if ((b->op == OP_MIN || b->op == OP_MAX) && e->args.n == 1)
            return unsupported(L, e, "arrays");
        if (e->args.n != b->nargs) {
            return arity_error(L, e, b->nargs);
        }
        if (b->op == OP_POW)
            return power(L, e->loc, lower_expr(L, e->args.p[0]), e->args.p[1]);
        Ref a = lower_expr(L, e->args.p[0]);
        Ref c = b->nargs > 1 ? lower_expr(L, e->args.p[1]) : NOREF;
        return emit(L, e->loc, b->op, a, c);
    }
    if (sema_is_builtin(e->name))
        return unsupported(L, e, "array functions");
    int is_int;
    double v;
    if (sema_const(L->s, e->name, &is_int, &v))
        lerr(L, e->loc, "'%s' is a constant, not a function", e->name);
    else if (env_find(L, L->env, e->name, 0) >= 0)
        lerr(L, e->loc, "'%s' is a variable, not a function", e->name);
    else
        lerr(L, e->loc, "no function named '%s'", e->name);
    return konst(L, e->loc, 0);
}

/* if c then a else b: an IF with one result, so only the branch taken
 * is evaluated (and differentiated). */
static Ref lower_ifexpr(Lower *L, const Ast *e)
{
    Ref c = lower_cond(L, e->cond);
    Ref nif = ir_emit(L->f, L->r, OP_IF, ty_scalar(), c, NOREF, NOREF);
    L->f->v.p[nif].line = e->loc.line;
    Region *saved = L->r;
    const Ast *arm[2] = {e->a, e->b};
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(L->f, nif, s);
        L->f->v.p[nif].reg[s] = r;
        L->r = r;
        Ref v = lower_expr(L, arm[s]);
        vec_push(L->a, &r->yield, v);
    }
    L->r = saved;
    Ref res = ir_emit(L->f, L->r, OP_RESULT, ty_scalar(), nif, NOREF, NOREF);
    L->f->v.p[res].line = e->loc.line;
    return res;
}

static Ref lower_expr(Lower *L, const Ast *e)
{
    if (L->stop)
        return konst(L, e->loc, 0);
    switch (e->kind) {
    case AST_NUM:
        return konst(L, e->loc, e->num);
    case AST_NAME:
        return lower_name(L, e);
    case AST_NEG:
        return emit(L, e->loc, OP_NEG, lower_expr(L, e->a), NOREF);
    case AST_BIN: {
        if (e->op == '@')
            return unsupported(L, e, "matrix products");
        Ref a = lower_expr(L, e->a);
        if (e->op == '^')
            return power(L, e->loc, a, e->b);
        Ref b = lower_expr(L, e->b);
        Op op = e->op == '+' ? OP_ADD : e->op == '-' ? OP_SUB : e->op == '*' ? OP_MUL : OP_DIV;
        return emit(L, e->loc, op, a, b);
    }
    case AST_CALL:
        return lower_call(L, e);
    case AST_IFEXPR:
        return lower_ifexpr(L, e);
    case AST_REDUCE:
        return unsupported(L, e, "reductions over index ranges");
    case AST_INDEX:
        return unsupported(L, e, "arrays (indexing)");
    case AST_ARRAY:
        return unsupported(L, e, "array literals");
    case AST_COMP:
        return unsupported(L, e, "array comprehensions");
    default:
        lerr(L, e->loc, "a condition is not a value%s", NULL);
        return konst(L, e->loc, 0);
    }
}

static Ref lower_cond(Lower *L, const Ast *e)
{
    static const Op cmp[] = {[CMP_LT] = OP_LT, [CMP_LE] = OP_LE, [CMP_GT] = OP_GT,
                             [CMP_GE] = OP_GE, [CMP_EQ] = OP_EQ, [CMP_NE] = OP_NE};
    switch (e->kind) {
    case AST_CMP: {
        Ref a = lower_expr(L, e->a);
        Ref b = lower_expr(L, e->b);
        return emit(L, e->loc, cmp[e->op], a, b);
    }
    case AST_AND:
    case AST_OR: {
        Ref a = lower_cond(L, e->cond);
        Ref b = lower_cond(L, e->cond2);
        return emit(L, e->loc, e->kind == AST_AND ? OP_AND : OP_OR, a, b);
    }
    case AST_NOT:
        return emit(L, e->loc, OP_NOT, lower_cond(L, e->cond), NOREF);
    default:
        lerr(L, e->loc, "expected a condition (a comparison such as x > 0)%s", NULL);
        return emit(L, e->loc, OP_NE, konst(L, e->loc, 0), konst(L, e->loc, 0));
    }
}

/* ---- statements ---- */

static void lower_stmts(Lower *L, const AstList *body, int top);

/* A name that a variable may take (assignments and parameters). */
static int check_var_name(Lower *L, const char *name, Loc loc, const char *what)
{
    int is_int;
    double v;
    if (sema_is_builtin(name)) {
        if (!L->inlining &&
            diag_error(L->d, loc, "'%s' is the name of a built-in function; a %s cannot take it",
                       diag_name(L->a, name), what))
            L->stop = 1;
        return 0;
    }
    if (sema_const(L->s, name, &is_int, &v)) {
        if (!L->inlining &&
            diag_error(L->d, loc, "'%s' is a constant; a %s cannot take its name",
                       diag_name(L->a, name), what))
            L->stop = 1;
        return 0;
    }
    if (sema_fn(L->s, name)) {
        if (!L->inlining &&
            diag_error(L->d, loc, "'%s' is a function; a %s cannot take its name",
                       diag_name(L->a, name), what))
            L->stop = 1;
        return 0;
    }
    return 1;
}

static void lower_assign(Lower *L, const Ast *st)
{
    Ref v = lower_expr(L, st->a);
    check_var_name(L, st->name, st->name_loc, "variable"); /* bound anyway */
    Inst *in = &L->f->v.p[v];
    if (!in->name && in->op != OP_CONST && in->op != OP_PARAM)
        in->name = st->name;
    env_set(L, env_find(L, L->env, st->name, 1), v, DEF, 0);
}

typedef struct {
    int slot;
    Ref val;
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
        Change c = {s, e->slot[s].val, e->slot[s].state};
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
 * IF's results where both paths define them. */
static void lower_if(Lower *L, const Ast *st)
{
    Ref c = lower_cond(L, st->cond);
    Fn *f = L->f;
    Ref nif = ir_emit(f, L->r, OP_IF, ty_scalar(), c, NOREF, NOREF);
    f->v.p[nif].line = st->loc.line;
    Region *saved = L->r;
    int mark = L->env->log.n;
    ChangeVec ch[2] = {{0}};
    IntVec order = {0};
    const AstList *arm[2] = {&st->body, &st->els};
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(f, nif, s);
        f->v.p[nif].reg[s] = r;
        L->r = r;
        lower_stmts(L, arm[s], 0);
        collect(L, mark, &ch[s], &order);
        env_undo(L->env, mark);
    }
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
            v[k] = x ? *x : (Change){s, slot->val, slot->state};
        }
        if (v[0].state == DEF && v[1].state == DEF) {
            for (int k = 0; k < 2; k++)
                vec_push(L->a, &f->v.p[nif].reg[k]->yield, v[k].val);
            Ref res = ir_emit(f, L->r, OP_RESULT, ty_scalar(), nif, NOREF, NOREF);
            f->v.p[res].k = nres++;
            f->v.p[res].name = slot->name;
            f->v.p[res].line = st->loc.line;
            env_set(L, s, res, DEF, 0);
        } else if (v[0].state != UNDEF || v[1].state != UNDEF) {
            env_set(L, s, NOREF, PARTIAL, st->loc.line);
        }
    }
}

static void lower_stmts(Lower *L, const AstList *body, int top)
{
    for (int i = 0; i < body->n && !L->stop; i++) {
        const Ast *st = body->p[i];
        switch (st->kind) {
        case AST_ASSIGN:
            lower_assign(L, st);
            break;
        case AST_IF:
            lower_if(L, st);
            break;
        case AST_FOR:
            unsupported(L, st, "for loops");
            break;
        case AST_RETURN:
            if (!top)
                lerr(L, st->loc, "return is allowed only as the last statement of a function%s",
                     NULL);
            else if (i != body->n - 1)
                lerr(L, body->p[i + 1]->loc, "statement after return%s", NULL);
            break;
        default:
            BUG("lower_stmts: not a statement");
        }
    }
}

/* The body of fn, in the current environment (parameters bound). */
static Ref lower_body(Lower *L, const Ast *fn)
{
    const char *saved_name = L->fn_name;
    if (!L->inlining)
        L->fn_name = fn->name;
    Ref v;
    if (fn->a) {
        v = lower_expr(L, fn->a);
    } else {
        lower_stmts(L, &fn->body, 1);
        const Ast *last = fn->body.n ? fn->body.p[fn->body.n - 1] : NULL;
        if (!last || last->kind != AST_RETURN) {
            lerr(L, fn->name_loc, "function '%s' does not end with a return statement", fn->name);
            v = konst(L, fn->loc, 0);
        } else {
            v = L->stop ? konst(L, last->loc, 0) : lower_expr(L, last->a);
        }
    }
    L->fn_name = saved_name;
    return v;
}

static Fn *lower_fn(Lower *L, const Ast *fn, const Source *src)
{
    Fn *f = ir_fn_new(L->a, fn->name, FN_PRIMAL);
    f->src_name = fn->name;
    f->src = src;
    f->line = fn->loc.line;
    L->f = f;
    L->r = f->body;
    Env env;
    env_init(L, &env);
    L->env = &env;
    for (int i = 0; i < fn->params.n; i++) {
        const Ast *p = fn->params.p[i];
        Input in = {p->name, ty_scalar(), IN_PARAM, p->is_data, 0};
        vec_push(L->a, &f->in, in);
        Ref r = ir_param(f, f->body, i);
        f->v.p[r].line = p->loc.line;
        /* bound even after an error, so its uses do not cascade */
        if (p->dims.n)
            unsupported(L, p, "array parameters");
        else
            check_var_name(L, p->name, p->name_loc, "parameter");
        int slot = env_find(L, &env, p->name, 1);
        if (env.slot[slot].state != UNDEF) {
            lerr(L, p->name_loc, "duplicate parameter '%s'", p->name);
            continue;
        }
        env_set(L, slot, r, DEF, 0);
    }
    if (fn->ret && fn->ret->dims.n)
        unsupported(L, fn->ret, "array results");
    double size = sema_inline_size(L->s, fn);
    if (size > MAX_NODES) {
        if (diag_error(L->d, fn->name_loc,
                       "function '%s' is too large once its calls are inlined "
                       "(%.3g operations; the limit is %d)",
                       diag_name(L->a, fn->name), size, MAX_NODES))
            L->stop = 1;
        Output o = {"out", ty_scalar(), OUT_RETURN, 0, konst(L, fn->loc, 0)};
        vec_push(L->a, &f->out, o);
        return f;
    }
    Ref v = lower_body(L, fn);
    Output o = {"out", ty_scalar(), OUT_RETURN, 0, v};
    vec_push(L->a, &f->out, o);
    return f;
}

int ir_lower(Arena *a, Diag *d, const Source *src, const AstFile *file, Sema *s, Program *out)
{
    Lower L = {0};
    L.a = a;
    L.d = d;
    L.s = s;
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
        u.ret = ty_scalar();
        vec_push(a, &out->units, u);
    }
    return d->nerrors > before ? -1 : 0;
}
