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
    for (int i = 0; i < L->env->cap; i++) {
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
    e->cap = 64;
    e->slot = arena_alloc(L->a, sizeof(Slot) * (size_t)e->cap);
}

int lw_env_find(Lower *L, Env *e, const char *name, int create)
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
    e->slot[h].shape = NOREF;
    e->slot[h].state = UNDEF;
    e->n++;
    return (int)h;
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
    /* MAX_NODES bounds the syntax trees; array built-ins lower to a few
     * operations per dimension, so a tree under it can still get here */
    if (L->f->v.n > MAX_INSTS && !L->stop) {
        diag_error(L->d, loc, "function '%s' is too large once its calls are inlined "
                   "(more than %d operations)", diag_name(L->a, L->fn_name), MAX_INSTS);
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
