/*
 * index.c - index expressions: affine forms of index variables built from
 * the syntax tree, the iteration domain of the index variables in scope,
 * and the compile-time proofs that every index stays in range (spec §5:
 * "An index that can be out of range in an iteration that runs, whatever
 * conditions guard it, is a compile-time error").
 *
 * The domain.  Each generator of a comprehension or reduction pushes one
 * level: an IVAR v_l running over lo_l..hi_l-1, lo_l and hi_l affine in
 * the variables of the levels outside it (a comprehension's level runs
 * over 0..len-1; a reduction's bounds may depend on enclosing variables,
 * as in sum(L[i,j] * x[j] for j in 0..i+1)).  An iteration runs when every
 * level's range is non-empty at the values of the levels outside it.
 * Conditions do not narrow the domain: the spec checks an index in every
 * iteration that runs, whatever guards it.
 *
 * The proof computes the exact extremes of an affine index over the
 * points that run, eliminating variables innermost first: over
 * v_l in lo_l..hi_l-1 an affine form is extreme at an endpoint, chosen by
 * the sign of v_l's coefficient, and substituting that endpoint (affine in
 * the outer variables) leaves a form in the outer variables.  This is
 * exact when every level is "full", non-empty at every outer point that
 * runs: the points that run then project onto exactly the outer points
 * that run.  Whether a level is full is itself such a question (the least
 * value of hi_l - lo_l over the levels outside it), answered once, when
 * the level is pushed.
 *
 * A level that is not full removes the outer points where it is empty
 * (j in 0..i at i = 0).  When its non-emptiness is a condition on one
 * outer variable whose range is constant (i >= 1 for i in 0..N), narrowing
 * that variable's range makes the level full, and the above applies.
 * Otherwise the points of the levels outside the deepest such level are
 * enumerated (skipping full levels nothing depends on), and the levels
 * inside it eliminated by substitution as before.  Enumeration stops after
 * ENUM_BUDGET steps, or when the function's FN_ENUM_BUDGET is spent, and
 * the substitution is used over every outer point instead: a conservative
 * bound, which may include values of iterations that do not run but never
 * misses one that does; the message then says the index "cannot be
 * proved" in range.  (Exact in general would be integer programming; the
 * programs dx is for have one or two such levels over small ranges.)
 *
 * Arithmetic is in 64 bits with overflow checks; the affine forms the IR
 * holds (Aff) have 32-bit coefficients, checked as they are built.
 *
 * Non-affine indices (i * (i - 1) // 2 + j, (i + 1) % N: Aff terms, see
 * aff.c) have no endpoint rule.  Their range is found by evaluating them
 * at every point that runs (levels they do not use, full and not depended
 * on, take one value), which is exact, up to POLY_BUDGET points; past it,
 * by interval arithmetic over each variable's extreme range, a sound
 * bound whose failure the message calls a bound.  The operands of // and
 * % are proved non-negative (the divisor positive) the same way when the
 * term is built, so the C code's / and % are floor division and
 * remainder; constant operands are folded, and a negative one or a zero
 * divisor is reported where it is written.
 */
#include "index.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Enumeration steps: per range question, and per function in all (so
 * that compile time stays bounded however many indices there are). */
enum { ENUM_BUDGET = 2000000 };
#define FN_ENUM_BUDGET 20000000L

/* ---- source text of small expressions, for messages ---- */

static int prec(const Ast *e)
{
    switch (e->kind) {
    case AST_BIN:
        return e->op == '+' || e->op == '-' ? 1 : e->op == '^' ? 4 : 2; /* * / % // @: 2 */
    case AST_NEG:
        return 3;
    default:
        return 5;
    }
}

static void app(char *buf, size_t cap, const char *s)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s", s);
}

static void text(Lower *L, const Ast *e, char *buf, size_t cap, int need)
{
    char tmp[48];
    int paren = prec(e) < need;
    if (strlen(buf) + 1 >= cap)
        return;
    if (paren)
        app(buf, cap, "(");
    switch (e->kind) {
    case AST_NUM:
        snprintf(tmp, sizeof tmp, "%.10g", e->num);
        if (!e->is_int && !strpbrk(tmp, ".en"))
            strcat(tmp, ".0");
        app(buf, cap, tmp);
        break;
    case AST_NAME:
        app(buf, cap, diag_name(L->a, e->name));
        break;
    case AST_NEG:
        app(buf, cap, "-");
        text(L, e->a, buf, cap, 3);
        break;
    case AST_BIN: {
        int q = prec(e);
        text(L, e->a, buf, cap, e->op == '^' ? q + 1 : q);
        snprintf(tmp, sizeof tmp, "%s", ast_op_text(e->op));
        app(buf, cap, e->op == '@' ? " @ " : tmp);
        text(L, e->b, buf, cap, e->op == '^' ? q : q + 1);
        break;
    }
    case AST_CALL:
    case AST_REDUCE:
        app(buf, cap, diag_name(L->a, e->name));
        app(buf, cap, "(...)");
        break;
    case AST_INDEX:
        text(L, e->a, buf, cap, 5);
        app(buf, cap, "[...]");
        break;
    default:
        app(buf, cap, "...");
        break;
    }
    if (paren)
        app(buf, cap, ")");
}

const char *lw_text(Lower *L, const Ast *e)
{
    char buf[120] = "";
    text(L, e, buf, sizeof buf, 0);
    return arena_strdup(L->a, buf);
}

/* ---- index variables in scope ---- */

IndexVar *lw_index_find(Lower *L, const char *name)
{
    for (int i = L->ix.n - 1; i >= 0; i--)
        if (!strcmp(L->ix.p[i].name, name))
            return &L->ix.p[i];
    return NULL;
}

IndexVar *lw_index_gone(Lower *L, const char *name)
{
    for (int i = L->gone.n - 1; i >= 0; i--)
        if (!strcmp(L->gone.p[i].name, name))
            return &L->gone.p[i];
    return NULL;
}

void lw_index_bind(Lower *L, const char *name, Loc loc, Aff val, const char *what)
{
    IndexVar v = {name, val, loc.line, what};
    vec_push(L->a, &L->ix, v);
}

void lw_index_unbind(Lower *L, int n)
{
    for (int i = 0; i < n; i++) {
        IndexVar v = L->ix.p[--L->ix.n];
        IndexVar *g = lw_index_gone(L, v.name);
        if (L->inlining)
            continue;
        if (g)
            *g = v; /* messages name the latest */
        else
            vec_push(L->a, &L->gone, v);
    }
}

/* ---- affine forms from the syntax tree ---- */

/* c + sum a[t] * iv[t] + sum qb[k] * q[k], in 64 bits while it is
 * built; q[k] are non-affine terms (their b unused until lin_aff). */
enum { MAX_Q = 8 };
typedef struct {
    int64_t c;
    int n;
    Ref iv[MAX_DEPTH];
    int64_t a[MAX_DEPTH];
    int nq;
    AffQ q[MAX_Q];
    int64_t qb[MAX_Q];
} Lin;

static const char *const aff_what[] = {
    [AK_INDEX] = "an index must be an integer expression of index variables and integer "
                 "constants",
    [AK_BOUND] = "a range bound must be an integer affine expression of enclosing index "
                 "variables and integer constants",
    [AK_STATIC] = "the range of a comprehension must be an integer constant expression",
    [AK_LOOP] = "the range of a for loop must be an integer constant expression",
    [AK_DIM] = "a dimension must be an integer constant expression",
    [AK_VALUE] = "'%' and '//' are integer operators: their operands must be integer "
                 "expressions of index variables and integer constants",
    [AK_WHILE] = "the bound of a while loop (max N) must be an integer constant expression",
};

static int aff_err(Lower *L, Loc loc, AffKind kind, const char *why)
{
    lw_errf(L, loc, "%s (%s)", aff_what[kind], why);
    return 0;
}

static int fits32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

static int lin_check(Lower *L, Loc loc, const Lin *x)
{
    int ok = fits32(x->c);
    for (int t = 0; t < x->n; t++)
        ok = ok && fits32(x->a[t]);
    for (int k = 0; k < x->nq; k++)
        ok = ok && fits32(x->qb[k]);
    if (!ok)
        lw_errf(L, loc, "integer expression overflows the 32-bit range");
    return ok;
}

/* x += k * y; coefficients stay within 32 bits, so no 64-bit overflow.
 * 0 if x would hold more than MAX_DEPTH variables (only possible past
 * the nesting limit, which was reported). */
static int lin_add(Lin *x, const Lin *y, int64_t k)
{
    x->c += k * y->c;
    for (int t = 0; t < y->n; t++) {
        int s = 0;
        while (s < x->n && x->iv[s] != y->iv[t])
            s++;
        if (s == MAX_DEPTH)
            return 0;
        if (s == x->n) {
            x->iv[s] = y->iv[t];
            x->a[s] = 0;
            x->n++;
        }
        x->a[s] += k * y->a[t];
    }
    for (int t = 0; t < y->nq; t++) {
        int s = 0;
        while (s < x->nq && !(x->q[s].op == y->q[t].op && aff_eq(x->q[s].x, y->q[t].x) &&
                              aff_eq(x->q[s].y, y->q[t].y)))
            s++;
        if (s == MAX_Q)
            return 0;
        if (s == x->nq) {
            x->q[s] = y->q[t];
            x->qb[s] = 0;
            x->nq++;
        }
        x->qb[s] += k * y->qb[t];
    }
    return 1;
}

static int is_const(const Lin *x)
{
    if (x->nq)
        return 0;
    for (int t = 0; t < x->n; t++)
        if (x->a[t])
            return 0;
    return 1;
}

/* x as an Aff (zero terms dropped). */
static Aff lin_aff(Lower *L, const Lin *x)
{
    int n = 0, nq = 0;
    for (int t = 0; t < x->n; t++)
        n += x->a[t] != 0;
    for (int k = 0; k < x->nq; k++)
        nq += x->qb[k] != 0;
    Aff y = aff_const(L->a, (int32_t)x->c);
    y.iv = arena_alloc(L->a, sizeof *y.iv * (size_t)(n + 1));
    y.a = arena_alloc(L->a, sizeof *y.a * (size_t)(n + 1));
    for (int t = 0; t < x->n; t++)
        if (x->a[t]) {
            y.iv[y.n] = x->iv[t];
            y.a[y.n++] = (int32_t)x->a[t];
        }
    if (nq)
        y.q = arena_alloc(L->a, sizeof *y.q * (size_t)nq);
    for (int k = 0; k < x->nq; k++)
        if (x->qb[k]) {
            y.q[y.nq] = x->q[k];
            y.q[y.nq++].b = (int32_t)x->qb[k];
        }
    return y;
}

static int name_lin(Lower *L, const Ast *e, AffKind kind, Lin *out)
{
    const IndexVar *iv = lw_index_find(L, e->name);
    if (iv) {
        if (kind == AK_STATIC || kind == AK_LOOP || kind == AK_DIM || kind == AK_WHILE)
            return aff_err(L, e->loc, kind,
                           arena_printf(L->a, "'%s' is an index variable",
                                        diag_name(L->a, e->name)));
        out->c = iv->val.c;
        out->n = iv->val.n;
        for (int t = 0; t < iv->val.n; t++) {
            out->iv[t] = iv->val.iv[t];
            out->a[t] = iv->val.a[t];
        }
        return 1;
    }
    const char *n = diag_name(L->a, e->name);
    int is_int;
    double v;
    switch (sema_const(L->s, e->name, &is_int, &v)) {
    case 1:
        if (!is_int)
            return aff_err(L, e->loc, kind, arena_printf(L->a, "'%s' is a real constant", n));
        out->c = (int64_t)v;
        return 1;
    case -1:
        return 0; /* its definition was reported */
    }
    if (!strcmp(e->name, "pi"))
        return aff_err(L, e->loc, kind, "'pi' is a real constant");
    if (!strcmp(e->name, "inf"))
        return aff_err(L, e->loc, kind, "'inf' is a real constant");
    if (lw_env_find(L, L->env, e->name, 0) >= 0)
        return aff_err(L, e->loc, kind, arena_printf(L->a, "'%s' is a variable", n));
    if (sema_fn(L->s, e->name) || sema_is_builtin(e->name))
        return aff_err(L, e->loc, kind, arena_printf(L->a, "'%s' is a function", n));
    const IndexVar *g = lw_index_gone(L, e->name);
    if (g)
        lw_errf(L, e->loc, "'%s' is not defined here (the index variable '%s' of the %s on line %d "
                "exists only inside it)", n, n, g->what, g->line);
    else
        lw_errf(L, e->loc, "'%s' is not defined%s", n, lw_near_value(L, e->name));
    return 0;
}

/* ---- non-affine terms (defined with the domain, below) ---- */

/* Terms may be non-affine in indices (and values), not in bounds. */
static int poly_ok(AffKind kind)
{
    return kind == AK_INDEX || kind == AK_VALUE;
}

static int q_term(Lower *L, const Ast *e, int op, const Lin *x, const Lin *y, Lin *out);

/* How a message names the operand a of value v: its text, or "this one"
 * when the text is the number itself ("but -3 is -3" says nothing). */
static const char *operand_name(Lower *L, const Ast *a, int64_t v)
{
    const char *t = lw_text(L, a);
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, v);
    return strcmp(t, num) ? t : "this one";
}

/* x % y or x // y (e): folded when both are constants (a >= 0, b > 0,
 * reported at the operand that is not), else a non-affine term. */
static int int_op(Lower *L, const Ast *e, AffKind kind, const Lin *x, const Lin *y, Lin *out)
{
    const char *op = ast_op_text(e->op);
    if (is_const(x) && is_const(y)) {
        if (x->c < 0 || y->c < 0) {
            lw_errf(L, (x->c < 0 ? e->a : e->b)->loc,
                    "'%s' needs non-negative operands, but %s is %" PRId64, op,
                    operand_name(L, x->c < 0 ? e->a : e->b, x->c < 0 ? x->c : y->c),
                    x->c < 0 ? x->c : y->c);
            return 0;
        }
        if (y->c == 0) {
            lw_errf(L, e->b->loc, "the divisor of '%s' is 0", op);
            return 0;
        }
        out->c = e->op == '%' ? x->c % y->c : x->c / y->c;
        return 1;
    }
    if (is_const(y) && y->c <= 0) {
        lw_errf(L, e->b->loc, y->c ? "'%s' needs non-negative operands, but %s is %" PRId64
                                   : "the divisor of '%s' is 0", op, operand_name(L, e->b, y->c), y->c);
        return 0;
    }
    if (is_const(x) && x->c < 0) {
        lw_errf(L, e->a->loc, "'%s' needs non-negative operands, but %s is %" PRId64, op,
                operand_name(L, e->a, x->c), x->c);
        return 0;
    }
    if (!poly_ok(kind))
        return aff_err(L, e->loc, kind,
                       arena_printf(L->a, "%s uses '%s' on an index variable", lw_text(L, e), op));
    return q_term(L, e, e->op == '%' ? AQ_MOD : AQ_DIV, x, y, out);
}

static int lin(Lower *L, const Ast *e, AffKind kind, Lin *out)
{
    out->c = 0;
    out->n = 0;
    out->nq = 0;
    switch (e->kind) {
    case AST_NUM:
        if (!e->is_int)
            return aff_err(L, e->loc, kind,
                           arena_printf(L->a, "%s is a real number", lw_text(L, e)));
        if (e->num > INT32_MAX) {
            lw_errf(L, e->loc, "integer %.0f is out of the 32-bit range", e->num);
            return 0;
        }
        out->c = (int64_t)e->num;
        return 1;
    case AST_NAME:
        return name_lin(L, e, kind, out);
    case AST_NEG: {
        Lin x;
        if (!lin(L, e->a, kind, &x))
            return 0;
        return lin_add(out, &x, -1) && lin_check(L, e->loc, out);
    }
    case AST_BIN: {
        if (e->op != '+' && e->op != '-' && e->op != '*' && e->op != '%' && e->op != AST_IDIV) {
            char why[96];
            snprintf(why, sizeof why, "'%s' is not allowed%s", ast_op_text(e->op),
                     e->op == '/' ? "; '//' divides integers, rounding down" : "");
            return aff_err(L, e->loc, kind, why);
        }
        Lin x, y;
        if (!lin(L, e->a, kind, &x) || !lin(L, e->b, kind, &y))
            return 0;
        if (e->op == '%' || e->op == AST_IDIV)
            return int_op(L, e, kind, &x, &y, out);
        if (e->op == '*' && !is_const(&x) && !is_const(&y) && poly_ok(kind))
            return q_term(L, e, AQ_MUL, &x, &y, out);
        if (e->op == '*') {
            if (!is_const(&x) && !is_const(&y))
                return aff_err(L, e->loc, kind,
                               arena_printf(L->a, "%s multiplies index variables",
                                            lw_text(L, e)));
            if (!lin_add(out, !is_const(&x) ? &x : &y, !is_const(&x) ? y.c : x.c))
                return 0;
        } else if (!lin_add(out, &x, 1) || !lin_add(out, &y, e->op == '-' ? -1 : 1)) {
            if (out->nq == MAX_Q) /* else the nesting limit, reported */
                lw_errf(L, e->loc, "%s has too many non-affine terms (the limit is %d)",
                        lw_text(L, e), MAX_Q);
            return 0;
        }
        return lin_check(L, e->loc, out);
    }
    default: {
        static const char *const what[] = {
            [AST_CALL] = "a function call", [AST_REDUCE] = "a reduction",
            [AST_INDEX] = "an array element", [AST_ARRAY] = "an array",
            [AST_COMP] = "an array", [AST_IFEXPR] = "if-then-else",
        };
        const char *w = (size_t)e->kind < sizeof what / sizeof what[0] && what[e->kind]
                            ? what[e->kind]
                            : "a condition";
        return aff_err(L, e->loc, kind, arena_printf(L->a, "%s is not allowed", w));
    }
    }
}

int lower_affine(Lower *L, const Ast *e, AffKind kind, Aff *out)
{
    Lin x;
    if (!lin(L, e, kind, &x))
        return 0;
    *out = lin_aff(L, &x);
    return 1;
}

/* ---- forms over the domain's levels ---- */

/* Aff x as a form over the levels; 0 if one of its IVARs has no level
 * (the nesting limit was exceeded and reported). */
static int to_form(const Lower *L, Aff x, Form *f)
{
    if (L->dom.n > MAX_DEPTH)
        return 0;
    memset(f, 0, sizeof *f);
    f->c = x.c;
    for (int t = 0; t < x.n; t++) {
        int l = L->dom.n - 1;
        while (l >= 0 && L->dom.p[l].iv != x.iv[t])
            l--;
        if (l < 0)
            return 0;
        f->a[l] += x.a[t];
    }
    return 1;
}

/* f += k * g, over levels < n; 0 on overflow. */
static int form_add(Form *f, const Form *g, int64_t k, int n)
{
    int64_t t;
    if (__builtin_mul_overflow(k, g->c, &t) || __builtin_add_overflow(f->c, t, &f->c))
        return 0;
    for (int l = 0; l < n; l++)
        if (g->a[l] && (__builtin_mul_overflow(k, g->a[l], &t) ||
                        __builtin_add_overflow(f->a[l], t, &f->a[l])))
            return 0;
    return 1;
}

/* The value of f (over levels < n) at the points vals; 0 on overflow. */
static int form_eval(const Form *f, int n, const int64_t *vals, int64_t *out)
{
    int64_t v = f->c, t;
    for (int l = 0; l < n; l++)
        if (f->a[l] && (__builtin_mul_overflow(f->a[l], vals[l], &t) ||
                        __builtin_add_overflow(v, t, &v)))
            return 0;
    *out = v;
    return 1;
}

/* Eliminates levels n-1 down to stop from f, substituting for each the
 * endpoint where f is largest (sign > 0) or smallest; 0 on overflow. */
static int subst(const Level *dom, int n, int stop, Form *f, int sign)
{
    for (int l = n - 1; l >= stop; l--) {
        int64_t a = f->a[l];
        if (!a)
            continue;
        f->a[l] = 0;
        if (!form_add(f, (a > 0) == (sign > 0) ? &dom[l].last : &dom[l].lo, a, l))
            return 0;
    }
    return 1;
}

typedef enum { R_EMPTY, R_EXACT, R_BOUND, R_OVERFLOW } RangeKind;

/* Enumerates the points of levels 0..p-1 that run; at each, level p's
 * concrete range gives the extremes of hi and lo (e with the levels
 * inside p eliminated). */
typedef struct {
    const Level *dom;
    int p;
    const Form *hi, *lo;
    int64_t vals[MAX_DEPTH];
    uint8_t skip[MAX_DEPTH]; /* a full level nothing depends on: one value will do */
    long steps, budget;
    int found, overflow;
    int64_t mn, mx;
} Walk;

static int walk(Walk *w, int l)
{
    int64_t lo, last, v;
    if (!form_eval(&w->dom[l].lo, l, w->vals, &lo) ||
        !form_eval(&w->dom[l].last, l, w->vals, &last)) {
        w->overflow = 1;
        return 0;
    }
    if (l == w->p) {
        if (lo > last)
            return 1;
        w->vals[l] = w->hi->a[l] > 0 ? last : lo;
        if (!form_eval(w->hi, l + 1, w->vals, &v))
            return w->overflow = 1, 0;
        w->mx = w->found && w->mx > v ? w->mx : v;
        w->vals[l] = w->lo->a[l] > 0 ? lo : last;
        if (!form_eval(w->lo, l + 1, w->vals, &v))
            return w->overflow = 1, 0;
        w->mn = w->found && w->mn < v ? w->mn : v;
        w->found = 1;
        return 1;
    }
    if (w->skip[l])
        last = lo;
    for (v = lo; v <= last; v++) {
        if (++w->steps > w->budget)
            return 0;
        w->vals[l] = v;
        if (!walk(w, l + 1))
            return 0;
    }
    return 1;
}

/* floor(a / b) and ceil(a / b) for b > 0 */
static int64_t div_floor(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && a < 0);
}

static int64_t div_ceil(int64_t a, int64_t b)
{
    return a / b + (a % b != 0 && a > 0);
}

static int is_constant(const Form *f, int n)
{
    for (int l = 0; l < n; l++)
        if (f->a[l])
            return 0;
    return 1;
}

/* Where a level that is not full is non-empty exactly when one outer
 * variable v_q with a constant range satisfies a * v_q + c >= 0, the
 * level is made full by narrowing v_q's range (j in 0..i under
 * i in 0..N runs only for i >= 1).  Works on a copy of the levels;
 * returns 0 if some range becomes empty (no point runs). */
static int narrow(Level *dom, int n)
{
    for (int l = n - 1; l >= 0; l--) {
        if (dom[l].full)
            continue;
        Form c = dom[l].last;
        if (!form_add(&c, &dom[l].lo, -1, l))
            continue;
        int q = -1, vars = 0;
        for (int k = 0; k < l; k++)
            if (c.a[k]) {
                q = k;
                vars++;
            }
        if (vars == 0) {
            if (c.c < 0)
                return 0;
            dom[l].full = 1;
            continue;
        }
        if (vars > 1 || !is_constant(&dom[q].lo, q) || !is_constant(&dom[q].last, q))
            continue;
        int64_t a = c.a[q];
        if (a > 0) {
            int64_t t = div_ceil(-c.c, a);
            dom[q].lo.c = t > dom[q].lo.c ? t : dom[q].lo.c;
        } else {
            int64_t t = div_floor(c.c, -a);
            dom[q].last.c = t < dom[q].last.c ? t : dom[q].last.c;
        }
        if (dom[q].lo.c > dom[q].last.c)
            return 0;
        dom[l].full = 1;
    }
    return 1;
}

/* The least and greatest values of e over the points of dom[0..n) that
 * run (see the top of the file); *left is the function's budget. */
static RangeKind form_range(const Level *dom0, int n, const Form *e, int64_t *mn, int64_t *mx,
                            long *left)
{
    if (n && dom0[n - 1].dead)
        return R_EMPTY;
    int p = n - 1;
    while (p >= 0 && dom0[p].full)
        p--;
    const Level *dom = dom0;
    Level *copy = NULL;
    if (p >= 0) {
        copy = malloc(sizeof *copy * (size_t)n);
        if (!copy)
            BUG("out of memory");
        memcpy(copy, dom0, sizeof *copy * (size_t)n);
        if (!narrow(copy, n)) {
            free(copy);
            return R_EMPTY;
        }
        dom = copy;
        while (p >= 0 && dom[p].full)
            p--;
    }
    RangeKind k = R_EXACT;
    Form hi = *e, lo = *e;
    if (!subst(dom, n, p + 1, &hi, 1) || !subst(dom, n, p + 1, &lo, -1)) {
        k = R_OVERFLOW;
    } else if (p < 0) {
        *mn = lo.c;
        *mx = hi.c;
    } else {
        Walk w = {.dom = dom, .p = p, .hi = &hi, .lo = &lo};
        for (int l = 0; l < p; l++) {
            int used = hi.a[l] || lo.a[l];
            for (int m = l + 1; m <= p; m++)
                used |= dom[m].lo.a[l] || dom[m].last.a[l];
            w.skip[l] = dom[l].full && !used;
        }
        w.budget = *left < ENUM_BUDGET ? *left : ENUM_BUDGET;
        int ok = walk(&w, 0);
        *left -= w.steps < *left ? w.steps : *left;
        if (ok && !w.found) {
            k = R_EMPTY;
        } else if (ok) {
            *mn = w.mn;
            *mx = w.mx;
        } else if (w.overflow || !subst(dom, p + 1, 0, &hi, 1) ||
                   !subst(dom, p + 1, 0, &lo, -1)) {
            k = R_OVERFLOW;
        } else {
            *mn = lo.c;
            *mx = hi.c;
            k = R_BOUND;
        }
    }
    free(copy);
    return k;
}

/* ---- non-affine indices: their range by enumeration ---- */

/* Enumeration steps for one non-affine range question: below it the
 * check is exact. */
#define POLY_BUDGET 10000000L

/* Walks every point of the levels that runs (levels that x does not use,
 * that are full and that no inner level depends on take one value) and
 * evaluates x there: its least and greatest values and where they are. */
typedef struct {
    const Level *dom;
    int n;
    Aff x;
    int64_t vals[MAX_DEPTH];
    uint8_t skip[MAX_DEPTH];
    long steps, budget;
    int found, overflow;
    int64_t mn, mx;
    int64_t at_mn[MAX_DEPTH], at_mx[MAX_DEPTH];
} PWalk;

static long long pw_val(void *ctx, Ref iv)
{
    const PWalk *w = ctx;
    for (int l = 0; l < w->n; l++)
        if (w->dom[l].iv == iv)
            return w->vals[l];
    return 0; /* not reached: every IVAR of an index has a level */
}

static int pwalk(PWalk *w, int l)
{
    if (l == w->n) {
        long long v;
        if (!aff_value(w->x, pw_val, w, &v))
            return w->overflow = 1, 0;
        if (!w->found || v < w->mn) {
            w->mn = v;
            memcpy(w->at_mn, w->vals, sizeof w->vals);
        }
        if (!w->found || v > w->mx) {
            w->mx = v;
            memcpy(w->at_mx, w->vals, sizeof w->vals);
        }
        w->found = 1;
        return 1;
    }
    int64_t lo, last;
    if (!form_eval(&w->dom[l].lo, l, w->vals, &lo) ||
        !form_eval(&w->dom[l].last, l, w->vals, &last))
        return w->overflow = 1, 0;
    if (w->skip[l])
        last = lo;
    for (int64_t v = lo; v <= last; v++) {
        if (++w->steps > w->budget)
            return 0;
        w->vals[l] = v;
        if (!pwalk(w, l + 1))
            return 0;
    }
    return 1;
}

/* [*mn, *mx] bounds x given each level's IVAR in [lo[l], hi[l]]: sound
 * interval arithmetic; 0 on overflow or when an operand of // or % is
 * not provably non-negative (divisor positive). */
static int interval(const Level *dom, int n, Aff x, const int64_t *lo, const int64_t *hi,
                    int64_t *mn, int64_t *mx)
{
    int64_t a = x.c, b = x.c, s, t;
    for (int i = 0; i < x.n; i++) {
        int l = 0;
        while (l < n && dom[l].iv != x.iv[i])
            l++;
        if (l == n || __builtin_mul_overflow((int64_t)x.a[i], lo[l], &s) ||
            __builtin_mul_overflow((int64_t)x.a[i], hi[l], &t))
            return 0;
        if (__builtin_add_overflow(a, s < t ? s : t, &a) ||
            __builtin_add_overflow(b, s < t ? t : s, &b))
            return 0;
    }
    for (int k = 0; k < x.nq; k++) {
        int64_t p0, p1, q0, q1, r0, r1, c[4];
        if (!interval(dom, n, x.q[k].x, lo, hi, &p0, &p1) ||
            !interval(dom, n, x.q[k].y, lo, hi, &q0, &q1))
            return 0;
        if (x.q[k].op == AQ_MUL) {
            if (__builtin_mul_overflow(p0, q0, &c[0]) || __builtin_mul_overflow(p0, q1, &c[1]) ||
                __builtin_mul_overflow(p1, q0, &c[2]) || __builtin_mul_overflow(p1, q1, &c[3]))
                return 0;
            r0 = r1 = c[0];
            for (int m = 1; m < 4; m++) {
                r0 = c[m] < r0 ? c[m] : r0;
                r1 = c[m] > r1 ? c[m] : r1;
            }
        } else if (p0 < 0 || q0 <= 0) {
            return 0;
        } else if (x.q[k].op == AQ_DIV) {
            r0 = p0 / q1;
            r1 = p1 / q0;
        } else {
            r0 = 0;
            r1 = p1 < q1 - 1 ? p1 : q1 - 1;
        }
        if (__builtin_mul_overflow((int64_t)x.q[k].b, r0, &s) ||
            __builtin_mul_overflow((int64_t)x.q[k].b, r1, &t) ||
            __builtin_add_overflow(a, s < t ? s : t, &a) ||
            __builtin_add_overflow(b, s < t ? t : s, &b))
            return 0;
    }
    *mn = a;
    *mx = b;
    return 1;
}

/* The range of x over the points of dom[0..n) that run; at_mn and at_mx
 * receive the points of the extremes when exact (R_EXACT). */
static RangeKind poly_range(Lower *L, Aff x, int64_t *mn, int64_t *mx, int64_t *at_mn,
                            int64_t *at_mx)
{
    const Level *dom = L->dom.p;
    int n = L->dom.n;
    if (n > MAX_DEPTH)
        return R_EMPTY; /* past the nesting limit, reported */
    if (n && dom[n - 1].dead)
        return R_EMPTY;
    PWalk *w = calloc(1, sizeof *w);
    if (!w)
        BUG("out of memory");
    w->dom = dom;
    w->n = n;
    w->x = x;
    for (int l = 0; l < n; l++) {
        int used = aff_uses(x, dom[l].iv);
        for (int m = l + 1; m < n; m++)
            used |= dom[m].lo.a[l] || dom[m].last.a[l];
        w->skip[l] = dom[l].full && !used;
    }
    w->budget = L->enum_left < POLY_BUDGET ? L->enum_left : POLY_BUDGET;
    int ok = pwalk(w, 0);
    L->enum_left -= w->steps < L->enum_left ? w->steps : L->enum_left;
    RangeKind k = R_EXACT;
    if (ok && !w->found) {
        k = R_EMPTY;
    } else if (ok) {
        *mn = w->mn;
        *mx = w->mx;
        memcpy(at_mn, w->at_mn, sizeof w->at_mn);
        memcpy(at_mx, w->at_mx, sizeof w->at_mx);
    } else if (w->overflow) {
        k = R_OVERFLOW;
    } else {
        /* too many points: bound each IVAR over its level's extremes */
        int64_t lo[MAX_DEPTH], hi[MAX_DEPTH], a, b;
        k = R_BOUND;
        for (int l = 0; l < n && k == R_BOUND; l++) {
            RangeKind r1 = form_range(dom, l, &dom[l].lo, &lo[l], &a, &L->enum_left);
            RangeKind r2 = form_range(dom, l, &dom[l].last, &b, &hi[l], &L->enum_left);
            if (r1 == R_OVERFLOW || r2 == R_OVERFLOW)
                k = R_OVERFLOW;
        }
        if (k == R_BOUND && !interval(dom, n, x, lo, hi, mn, mx))
            k = R_OVERFLOW;
    }
    free(w);
    return k;
}

/* "i = 0, j = 2": the values at a point of the IVARs that x uses. */
static const char *at_text(Lower *L, Aff x, const int64_t *vals)
{
    char buf[200] = "";
    for (int l = 0; l < L->dom.n && l < MAX_DEPTH; l++) {
        Ref iv = L->dom.p[l].iv;
        if (!aff_uses(x, iv))
            continue;
        const char *name = "?";
        for (int i = 0; i < L->ix.n; i++)
            if (L->ix.p[i].val.n == 1 && L->ix.p[i].val.iv[0] == iv && L->ix.p[i].val.a[0] == 1 &&
                !L->ix.p[i].val.c)
                name = diag_name(L->a, L->ix.p[i].name);
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s = %" PRId64, len ? ", " : "", name, vals[l]);
    }
    return arena_strdup(L->a, buf);
}

/* The operand x of // or % (e) is >= 0 (the divisor, is_div, > 0) in
 * every iteration that runs; else reported at e. */
static int q_operand(Lower *L, const Ast *e, Aff x, const char *op, int is_div)
{
    int64_t mn = 0, mx = 0, at_mn[MAX_DEPTH], at_mx[MAX_DEPTH];
    RangeKind k = poly_range(L, x, &mn, &mx, at_mn, at_mx);
    int64_t least = is_div;
    if (k == R_EMPTY || (k != R_OVERFLOW && mn >= least))
        return 1;
    const char *what = lw_text(L, e);
    if (k == R_OVERFLOW)
        lw_errf(L, e->loc, "%s (an operand of '%s') overflows the 32-bit range in some "
                "iteration", what, op);
    else if (k == R_BOUND)
        lw_errf(L, e->loc, "%s (an operand of '%s') cannot be proved %s: it lies within "
                "%" PRId64 "..%" PRId64 " (a bound; the exact check was too long)", what, op,
                is_div ? "positive" : "non-negative", mn, mx);
    else if (is_div && mn == 0)
        lw_errf(L, e->loc, "the divisor of '%s' can be 0: %s is 0 at %s", op, what,
                at_text(L, x, at_mn));
    else
        lw_errf(L, e->loc, "'%s' needs non-negative operands, but %s is %" PRId64 " at %s", op,
                what, mn, at_text(L, x, at_mn));
    return 0;
}

static int q_term(Lower *L, const Ast *e, int op, const Lin *x, const Lin *y, Lin *out)
{
    Aff ax = lin_aff(L, x), ay = lin_aff(L, y);
    if (op != AQ_MUL && !L->inlining &&
        (!q_operand(L, e->a, ax, aff_q_op(op), 0) | !q_operand(L, e->b, ay, aff_q_op(op), 1)))
        return 0;
    out->c = 0;
    out->n = 0;
    out->nq = 1;
    out->q[0] = (AffQ){op, 0, ax, ay};
    out->qb[0] = 1;
    return 1;
}

Ref lw_int_value(Lower *L, const Ast *e)
{
    Aff x;
    if (!lower_affine(L, e, AK_VALUE, &x))
        return lw_bad(L, e->loc);
    if (!x.n && !x.nq)
        return lw_const(L, e->loc, x.c);
    int64_t mn = 0, mx = 0, at[MAX_DEPTH];
    if (!L->inlining && poly_range(L, x, &mn, &mx, at, at) == R_OVERFLOW) {
        lw_errf(L, e->loc, "%s overflows the 32-bit range in some iteration", lw_text(L, e));
        return lw_bad(L, e->loc);
    }
    Ref r = lw_put(L, e->loc, OP_IREAL, ty_scalar(), NOREF, NOREF);
    L->f->v.p[r].nix = 1;
    L->f->v.p[r].x->ix = arena_alloc(L->a, sizeof(Aff));
    L->f->v.p[r].x->ix[0] = x;
    return r;
}

/* ---- the domain ---- */

void lw_domain_push(Lower *L, Ref iv, Aff lo, Aff hi, const Ast *gen, const char *need_one)
{
    if (L->dom.n >= MAX_DEPTH) {
        if (L->dom.n == MAX_DEPTH)
            lw_errf(L, gen->loc, gen->kind == AST_WHILE
                                     ? "loops are nested too deeply (the limit is %d, loops and "
                                       "index variables together)"
                                     : "index variables are nested too deeply (the limit is %d)",
                    MAX_DEPTH);
        Level none = {0};
        none.iv = NOREF; /* found by no IVAR: indices inside go unchecked */
        none.full = 1;
        vec_push(L->a, &L->dom, none);
        return;
    }
    Level lv = {0};
    lv.iv = iv;
    lv.full = 1;
    int ok = to_form(L, lo, &lv.lo) && to_form(L, hi, &lv.last);
    if (ok) {
        Form one = {0};
        one.c = -1;
        ok = form_add(&lv.last, &one, 1, L->dom.n);
    }
    if (ok && !L->inlining) {
        /* the length hi - lo over the outer points that run */
        Form len = lv.last;
        int64_t mn = 0, mx = 0;
        RangeKind k = form_add(&len, &lv.lo, -1, L->dom.n)
                          ? form_range(L->dom.p, L->dom.n, &len, &mn, &mx, &L->enum_left)
                          : R_OVERFLOW;
        /* lengths are last - lo + 1; no point runs if the outer levels
         * have none (R_EMPTY) or this range is always empty */
        int known = k == R_EXACT || k == R_BOUND;
        lv.dead = k == R_EMPTY || (known && mx < 0);
        lv.full = k == R_EMPTY || (known && mn >= 0);
        if (need_one && !lv.full) {
            const char *range = arena_printf(L->a, "%s in %s..%s", diag_name(L->a, gen->name),
                                             lw_text(L, gen->a), lw_text(L, gen->b));
            if (k == R_EXACT && L->dom.n == 0)
                lw_errf(L, gen->loc, "%s of an empty range: %s has no values", need_one, range);
            else if (k == R_EXACT)
                lw_errf(L, gen->loc, "%s of an empty range: %s has no values in some iteration "
                        "that runs", need_one, range);
            else
                lw_errf(L, gen->loc, "%s of a range that cannot be proved non-empty: %s", need_one,
                        range);
        }
    }
    vec_push(L->a, &L->dom, lv);
}

void lw_domain_pop(Lower *L, int n)
{
    L->dom.n -= n;
}

void lw_domain_reset(Lower *L)
{
    L->dom.n = 0;
    L->ix.n = 0;
    L->gone.n = 0;
    L->enum_left = FN_ENUM_BUDGET;
}

/* The words of an index range error: *what names the index, *dim the
 * dimension it must fit.  Reports the errors that are the same for every
 * index (an overflow, a bound that is not exact) and returns 1 then;
 * returns 0 when the caller says how the index leaves the range. */
static int range_words(Lower *L, const Ast *e, const char *arr, int d, int32_t n, RangeKind k,
                       int64_t mn, int64_t mx, const char *overflow, const char **what,
                       const char **dim)
{
    *what = arena_printf(L->a, "index %s of %s", lw_text(L, e), arr);
    *dim = arena_printf(L->a, "dimension %d of %s has size %d (valid 0..%d)", d, arr, (int)n,
                        (int)n - 1);
    if (k == R_OVERFLOW)
        lw_errf(L, e->loc, "%s overflows %s; %s", *what, overflow, *dim);
    else if (k == R_BOUND)
        lw_errf(L, e->loc, "%s cannot be proved in range: it lies within %" PRId64 "..%" PRId64
                " (a bound; the exact check was too long), but %s", *what, mn, mx, *dim);
    return k == R_OVERFLOW || k == R_BOUND;
}

/* lw_check_index for a non-affine index: exact by enumeration below
 * POLY_BUDGET points, a sound bound otherwise. */
static void check_poly(Lower *L, const Ast *e, Aff ix, int32_t n, const char *arr, int d)
{
    int64_t mn = 0, mx = 0, at_mn[MAX_DEPTH], at_mx[MAX_DEPTH];
    RangeKind k = poly_range(L, ix, &mn, &mx, at_mn, at_mx);
    if (k == R_EMPTY || (k != R_OVERFLOW && mn >= 0 && mx < n))
        return;
    const char *what, *dim;
    if (range_words(L, e, arr, d, n, k, mn, mx, "the 32-bit range in some iteration", &what,
                    &dim))
        return;
    lw_errf(L, e->loc, "%s ranges over %" PRId64 "..%" PRId64 ", but %s; it is %" PRId64
            " at %s", what, mn, mx, dim, mn < 0 ? mn : mx, at_text(L, ix, mn < 0 ? at_mn : at_mx));
}

void lw_check_index(Lower *L, const Ast *e, Aff ix, int32_t n, const char *arr, int d)
{
    if (L->inlining)
        return;
    if (ix.nq) {
        check_poly(L, e, ix, n, arr, d);
        return;
    }
    Form f;
    if (!to_form(L, ix, &f))
        return;
    int64_t mn = 0, mx = 0;
    RangeKind k = form_range(L->dom.p, L->dom.n, &f, &mn, &mx, &L->enum_left);
    if (k == R_EMPTY || (k != R_OVERFLOW && mn >= 0 && mx < n))
        return;
    const char *what, *dim;
    if (range_words(L, e, arr, d, n, k, mn, mx, "64-bit arithmetic", &what, &dim))
        return;
    if (mn == mx && !strcmp(lw_text(L, e), arena_printf(L->a, "%" PRId64, mn)))
        lw_errf(L, e->loc, "%s is out of range: %s", what, dim);
    else if (mn == mx)
        lw_errf(L, e->loc, "%s is %" PRId64 ", but %s", what, mn, dim);
    else
        lw_errf(L, e->loc, "%s ranges over %" PRId64 "..%" PRId64 ", but %s", what, mn, mx, dim);
}
