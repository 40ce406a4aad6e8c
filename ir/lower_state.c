/*
 * lower_state.c - what every part of the lowering (lower.c, lower_array.c,
 * index.c) does with its state, Lower: report errors (suppressed while a
 * callee is inlined: it reports its own once), look names up and bind them
 * in the environment, and emit instructions into the current region,
 * standing in a "bad" constant for an expression in error.
 *
 * The environment is a hash table of slots with an undo log: a branch is
 * lowered, its changes are read off the log, and the log is unwound
 * before the other branch.  Nothing here calls back into the lowering.
 */
#include "lower_state.h"

#include <stdarg.h>
#include <string.h>

/* ---- errors ---- */

void lw_err(Lower *L, Loc loc, const char *fmt, const char *name)
{
    if (L->inlining)
        return;
    if (diag_error(L->d, loc, fmt, name ? diag_name(L->a, name) : ""))
        L->stop = 1;
}

void lw_errf(Lower *L, Loc loc, const char *fmt, ...)
{
    if (L->inlining)
        return;
    char msg[sizeof L->d->last];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (diag_error(L->d, loc, "%s", msg))
        L->stop = 1;
}

/* "; did you mean 'x'?" for a value named name that is not defined: the
 * closest of the variables and index variables in scope, the constants
 * and pi; or "". */
const char *lw_near_value(Lower *L, const char *name)
{
    Near n;
    near_init(&n, name);
    for (int i = 0; i < L->ix.n; i++)
        near_offer(&n, L->ix.p[i].name);
    for (int i = 0; i < L->env->n; i++) {
        const Slot *s = &L->env->slot[i];
        if (s->name && (s->state == DEF || s->state == PARTIAL))
            near_offer(&n, s->name);
    }
    sema_offer_consts(L->s, &n);
    return near_hint(L->a, &n);
}

/* ---- environment ---- */

void lw_env_init(Lower *L, Env *e)
{
    memset(e, 0, sizeof *e);
    e->cap = 32;
    e->slot = arena_alloc(L->a, sizeof(Slot) * (size_t)e->cap);
    e->tcap = 64;
    e->tab = arena_alloc(L->a, sizeof(int) * (size_t)e->tcap);
}

/* Hands back e's arrays once the function or call it names is lowered
 * (a large program's are megabytes). */
void lw_env_free(Lower *L, Env *e)
{
    arena_drop(L->a, e->slot, sizeof(Slot) * (size_t)e->cap);
    arena_drop(L->a, e->tab, sizeof(int) * (size_t)e->tcap);
    arena_drop(L->a, e->log.p, sizeof(Undo) * (size_t)e->log.cap);
    memset(e, 0, sizeof *e);
}

/* Slot numbers are kept by the undo log, by the lowering of loops and
 * branches while their bodies are lowered (and those may create slots), so
 * a slot keeps its number for good: the slots are an array in order of
 * creation, and the hash table (open addressing, kept at most half full)
 * holds slot number + 1 (0: empty). */
static void env_grow(Lower *L, Env *e)
{
    if (e->n == e->cap) {
        Slot *old = e->slot;
        e->cap *= 2;
        e->slot = arena_alloc(L->a, sizeof(Slot) * (size_t)e->cap);
        memcpy(e->slot, old, sizeof(Slot) * (size_t)e->n);
        arena_drop(L->a, old, sizeof(Slot) * (size_t)(e->cap / 2));
    }
    if (2 * (e->n + 1) > e->tcap) {
        arena_drop(L->a, e->tab, sizeof(int) * (size_t)e->tcap);
        e->tcap *= 2;
        e->tab = arena_alloc(L->a, sizeof(int) * (size_t)e->tcap);
        for (int i = 0; i < e->n; i++) {
            unsigned h = dx_hash(e->slot[i].name) & (unsigned)(e->tcap - 1);
            while (e->tab[h])
                h = (h + 1) & (unsigned)(e->tcap - 1);
            e->tab[h] = i + 1;
        }
    }
}

int lw_env_find(Lower *L, Env *e, const char *name, int create)
{
    if (create)
        env_grow(L, e);
    unsigned h = dx_hash(name) & (unsigned)(e->tcap - 1);
    while (e->tab[h]) {
        if (!strcmp(e->slot[e->tab[h] - 1].name, name))
            return e->tab[h] - 1;
        h = (h + 1) & (unsigned)(e->tcap - 1);
    }
    if (!create)
        return -1;
    int k = e->n++;
    e->tab[h] = k + 1;
    e->slot[k].name = name;
    e->slot[k].val = NOREF;
    e->slot[k].shape = NOREF;
    e->slot[k].state = UNDEF;
    return k;
}

/* shape: a value with the variable's shape (val itself when DEF). */
void lw_env_set(Lower *L, int slot, Ref val, int state, int if_line, Ref shape)
{
    Env *e = L->env;
    Slot *s = &e->slot[slot];
    Undo u = {slot, s->val, s->shape, s->state, s->if_line};
    vec_push(L->a, &e->log, u);
    s->val = val;
    s->shape = state == DEF ? val : shape;
    s->state = state;
    s->if_line = if_line;
}

void lw_env_undo(Env *e, int mark)
{
    while (e->log.n > mark) {
        Undo u = e->log.p[--e->log.n];
        e->slot[u.slot].val = u.val;
        e->slot[u.slot].shape = u.shape;
        e->slot[u.slot].state = u.state;
        e->slot[u.slot].if_line = u.if_line;
    }
}

/* ---- emitting ---- */

Ref lw_put(Lower *L, Loc loc, Op op, Type ty, Ref a, Ref b)
{
    Ref r = ir_emit(L->f, L->r, op, ty, a, b, NOREF);
    L->f->v.p[r].line = loc.line;
    /* max_ops bounds the syntax trees; array built-ins lower to a few
     * operations per dimension, so a tree under it can still get here */
    if (L->f->v.n > INSTS_PER_OP * L->max_ops && !L->stop) {
        diag_error(L->d, loc, "function '%s' is too large once its calls are inlined "
                   "(more than %ld operations; --max-ops raises the limit)",
                   diag_name(L->a, L->fn_name), INSTS_PER_OP * L->max_ops);
        L->stop = 1;
    }
    return r;
}

Ref lw_emit(Lower *L, Loc loc, Op op, Ref a, Ref b)
{
    return lw_put(L, loc, op, op_info[op].kind == K_BOOL ? ty_bool() : ty_scalar(), a, b);
}

Ref lw_const(Lower *L, Loc loc, double k)
{
    Ref r = ir_const(L->f, L->r, k);
    L->f->v.p[r].line = loc.line;
    return r;
}

Ref lw_mark_bad(Lower *L, Ref r)
{
    while (L->bad.n <= r)
        vec_push(L->a, &L->bad, 0);
    L->bad.p[r] = 1;
    return r;
}

Ref lw_bad(Lower *L, Loc loc)
{
    return lw_mark_bad(L, lw_const(L, loc, 0));
}

int lw_is_bad(const Lower *L, Ref r)
{
    return r < L->bad.n && L->bad.p[r];
}
