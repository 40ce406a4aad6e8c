/*
 * opt.c - the clean-up passes that run after lowering and after each AD
 * pass: constant folding with algebraic identities, common-subexpression
 * elimination, and dead-code removal.  Each is `void pass(Fn *)`.
 *
 * Folding and CSE record replacements (repl[v] = w) and then rewrite
 * every use; the replaced instruction stays in its region until
 * opt_dce() drops it with everything else that no output needs.
 * Tangent (lin) instructions are left alone by folding: the transpose
 * pass relies on their exact form.
 */
#include "ir.h"

#include <math.h>
#include <string.h>

static int is_loop(const Inst *in)
{
    return in->op == OP_GEN || in->op == OP_RED || in->op == OP_LOOP;
}

static Ref resolve(Ref *repl, Ref r)
{
    while (r != NOREF && repl[r] != NOREF)
        r = repl[r];
    return r;
}

static void rewrite_region(Fn *f, Region *r, Ref *repl)
{
    for (int i = 0; i < r->ids.n; i++) {
        Inst *in = &f->v.p[r->ids.p[i]];
        for (int k = 0; k < 3; k++)
            in->arg[k] = resolve(repl, in->arg[k]);
        if (in->op == OP_LIT)
            for (int k = 0; k < in->nix; k++)
                in->list[k] = resolve(repl, in->list[k]);
        if (in->op == OP_IF) {
            rewrite_region(f, in->reg[0], repl);
            rewrite_region(f, in->reg[1], repl);
        }
        if (is_loop(in))
            rewrite_region(f, in->reg[0], repl);
    }
    for (int i = 0; i < r->yield.n; i++)
        r->yield.p[i] = resolve(repl, r->yield.p[i]);
}

static void rewrite(Fn *f, Ref *repl)
{
    rewrite_region(f, f->body, repl);
    for (int i = 0; i < f->out.n; i++)
        f->out.p[i].ref = resolve(repl, f->out.p[i].ref);
}

static Ref *new_repl(Fn *f)
{
    Ref *repl = arena_alloc(f->arena, sizeof(Ref) * (size_t)(f->v.n + 1));
    for (int i = 0; i < f->v.n; i++)
        repl[i] = NOREF;
    return repl;
}

/* ---------------- constant folding ---------------- */

static int is_k(Fn *f, Ref r, double k)
{
    return ir_is_const(f, r, k) && !f->v.p[r].lin;
}

/* The value `id` simplifies to (itself if none), folding in place. */
static Ref fold_one(Fn *f, Ref id, Ref *repl)
{
    Inst *in = &f->v.p[id];
    int n = op_info[in->op].nargs;
    if (in->lin || op_info[in->op].kind == K_CTL)
        return id;
    for (int k = 0; k < n; k++)
        in->arg[k] = resolve(repl, in->arg[k]);
    Ref a = in->arg[0], b = in->arg[1];
    int allk = 1;
    double x[3];
    for (int k = 0; k < n; k++) {
        Inst *ak = &f->v.p[in->arg[k]];
        allk &= ak->op == OP_CONST && !ak->lin;
        x[k] = ak->k;
    }
    if (allk) {
        double v = ir_eval_scalar((Op)in->op, x, in->k);
        if (isfinite(v)) {
            in->op = OP_CONST;
            in->k = v;
            in->arg[0] = in->arg[1] = in->arg[2] = NOREF;
            return id;
        }
    }
    switch (in->op) {
    case OP_ADD:
        if (is_k(f, b, 0))
            return a;
        if (is_k(f, a, 0))
            return b;
        break;
    case OP_SUB:
        if (is_k(f, b, 0))
            return a;
        break;
    case OP_MUL:
        if (is_k(f, b, 1))
            return a;
        if (is_k(f, a, 1))
            return b;
        break;
    case OP_DIV:
        if (is_k(f, b, 1))
            return a;
        break;
    case OP_NEG:
        if (f->v.p[a].op == OP_NEG && !f->v.p[a].lin)
            return f->v.p[a].arg[0];
        break;
    case OP_POWI:
        if (in->k == 1)
            return a;
        break;
    case OP_SELECT:
        if (f->v.p[a].op == OP_CONST)
            return f->v.p[a].k != 0 ? b : in->arg[2];
        if (b == in->arg[2])
            return b;
        break;
    default:
        break;
    }
    return id;
}

static int fold_region(Fn *f, Region *r, Ref *repl)
{
    int changed = 0;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        if (in->op == OP_IF) {
            in->arg[0] = resolve(repl, in->arg[0]);
            changed |= fold_region(f, in->reg[0], repl);
            changed |= fold_region(f, in->reg[1], repl);
            continue;
        }
        if (is_loop(in)) {
            changed |= fold_region(f, in->reg[0], repl);
            continue;
        }
        Op before = (Op)in->op;
        Ref to = fold_one(f, id, repl);
        if (to != id) {
            repl[id] = to;
            if (!f->v.p[to].name && in->name && f->v.p[to].op != OP_CONST &&
                f->v.p[to].rev == in->rev)
                f->v.p[to].name = in->name;
            changed = 1;
        } else if (f->v.p[id].op != before) {
            changed = 1;
        }
    }
    for (int i = 0; i < r->yield.n; i++)
        r->yield.p[i] = resolve(repl, r->yield.p[i]);
    return changed;
}

void opt_fold(Fn *f)
{
    Ref *repl = new_repl(f);
    fold_region(f, f->body, repl);
    rewrite(f, repl);
}

/* ---------------- common subexpressions ---------------- */

/* A scoped hash table of pure instructions: entering a region marks the
 * undo stack, leaving it removes what the region added, so a value is
 * only reused where it dominates. */
typedef struct {
    Fn *f;
    Ref *slot;
    int cap;
    VEC(int) undo;
} Cse;

static unsigned hash_inst(const Inst *in)
{
    unsigned h = in->op * 2654435761u ^ in->lin * 97u;
    for (int k = 0; k < 3; k++)
        h = (h ^ (unsigned)(in->arg[k] + 1)) * 16777619u;
    uint64_t bits;
    memcpy(&bits, &in->k, sizeof bits);
    h ^= (unsigned)(bits ^ (bits >> 32)) * 40503u;
    return h;
}

static int same_inst(const Inst *a, const Inst *b)
{
    return a->op == b->op && a->lin == b->lin && a->arg[0] == b->arg[0] &&
           a->arg[1] == b->arg[1] && a->arg[2] == b->arg[2] &&
           memcmp(&a->k, &b->k, sizeof a->k) == 0 && ty_eq(a->ty, b->ty);
}

static void cse_region(Cse *C, Region *r, Ref *repl)
{
    Fn *f = C->f;
    int mark = C->undo.n;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        for (int k = 0; k < 3; k++)
            in->arg[k] = resolve(repl, in->arg[k]);
        if (in->op == OP_IF) {
            cse_region(C, in->reg[0], repl);
            cse_region(C, in->reg[1], repl);
            continue;
        }
        if (is_loop(in)) {
            cse_region(C, in->reg[0], repl);
            continue;
        }
        if (op_info[in->op].kind == K_CTL && in->op != OP_CONST)
            continue;
        unsigned h = hash_inst(in) & (unsigned)(C->cap - 1);
        for (;;) {
            Ref s = C->slot[h];
            if (s == NOREF) {
                C->slot[h] = id;
                vec_push(f->arena, &C->undo, (int)h);
                break;
            }
            if (same_inst(&f->v.p[s], in)) {
                repl[id] = s;
                if (!f->v.p[s].name && in->name && f->v.p[s].op != OP_CONST &&
                    f->v.p[s].rev == in->rev)
                    f->v.p[s].name = in->name;
                break;
            }
            h = (h + 1) & (unsigned)(C->cap - 1);
        }
    }
    for (int i = 0; i < r->yield.n; i++)
        r->yield.p[i] = resolve(repl, r->yield.p[i]);
    /* Linear probing: removing in reverse order of insertion keeps every
     * remaining probe chain intact. */
    while (C->undo.n > mark)
        C->slot[C->undo.p[--C->undo.n]] = NOREF;
}

void opt_cse(Fn *f)
{
    Cse C = {0};
    C.f = f;
    C.cap = 16;
    while (C.cap < 2 * f->v.n + 2)
        C.cap *= 2;
    C.slot = arena_alloc(f->arena, sizeof(Ref) * (size_t)C.cap);
    for (int i = 0; i < C.cap; i++)
        C.slot[i] = NOREF;
    Ref *repl = new_repl(f);
    cse_region(&C, f->body, repl);
    rewrite(f, repl);
}

/* ---------------- dead code ---------------- */

typedef struct {
    Fn *f;
    unsigned char *live;
    VEC(Ref) work;
} Dce;

static void mark(Dce *D, Ref r)
{
    if (r == NOREF || D->live[r])
        return;
    D->live[r] = 1;
    vec_push(D->f->arena, &D->work, r);
}

static void prune_region(Dce *D, Region *r);

/* Drop the dead results of a live IF, GEN or RED and the yields that
 * feed them. */
static void prune_if(Dce *D, Region *parent, int at)
{
    Fn *f = D->f;
    Ref id = parent->ids.p[at];
    Inst *in = &f->v.p[id];
    int nreg = in->op == OP_IF ? 2 : 1;
    int n = 0;
    for (int i = at + 1; i < parent->ids.n; i++) {
        Inst *res = &f->v.p[parent->ids.p[i]];
        if (res->op != OP_RESULT || res->arg[0] != id)
            break;
        if (!D->live[parent->ids.p[i]])
            continue;
        int j = (int)res->k;
        for (int s = 0; s < nreg; s++)
            in->reg[s]->yield.p[n] = in->reg[s]->yield.p[j];
        res->k = n++;
    }
    for (int s = 0; s < nreg; s++) {
        in->reg[s]->yield.n = n;
        prune_region(D, in->reg[s]);
    }
}

static void prune_region(Dce *D, Region *r)
{
    int n = 0;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &D->f->v.p[id];
        if (!D->live[id] && in->op != OP_IVAR)
            continue;
        if (in->op == OP_IF || in->op == OP_GEN || in->op == OP_RED)
            prune_if(D, r, i);
        else if (in->op == OP_LOOP)
            prune_region(D, in->reg[0]);
        r->ids.p[n++] = id;
    }
    r->ids.n = n;
}

void opt_dce(Fn *f)
{
    Dce D = {0};
    D.f = f;
    D.live = arena_alloc(f->arena, (size_t)f->v.n + 1);
    for (int i = 0; i < f->out.n; i++)
        mark(&D, f->out.p[i].ref);
    for (int i = 0; i < f->v.n; i++)
        if (f->v.p[i].op == OP_PARAM)
            mark(&D, i);
    for (;;) {
        while (D.work.n) {
            Ref id = D.work.p[--D.work.n];
            Inst *in = &f->v.p[id];
            for (int k = 0; k < op_info[in->op].nargs; k++)
                mark(&D, in->arg[k]);
            if (in->op == OP_LIT)
                for (int k = 0; k < in->nix; k++)
                    mark(&D, in->list[k]);
            if (in->op == OP_RESULT) {
                Inst *x = &f->v.p[in->arg[0]];
                mark(&D, x->reg[0]->yield.p[(int)in->k]);
                if (x->op == OP_IF)
                    mark(&D, x->reg[1]->yield.p[(int)in->k]);
            }
            /* an instruction inside a branch or loop keeps it alive */
            if (in->parent && in->parent->owner != NOREF)
                mark(&D, in->parent->owner);
        }
        /* an ACC is live when its buffer is read */
        int more = 0;
        for (int i = 0; i < f->v.n; i++)
            if (f->v.p[i].op == OP_ACC && !D.live[i] && D.live[f->v.p[i].arg[0]]) {
                mark(&D, i);
                more = 1;
            }
        if (!more)
            break;
    }
    prune_region(&D, f->body);
}

static int count_region(Fn *f, Region *r)
{
    int n = r->ids.n;
    for (int i = 0; i < r->ids.n; i++) {
        Inst *in = &f->v.p[r->ids.p[i]];
        if (in->op == OP_IF)
            n += count_region(f, in->reg[0]) + count_region(f, in->reg[1]);
        if (is_loop(in))
            n += count_region(f, in->reg[0]);
    }
    return n;
}

void opt_all(Fn *f)
{
    int before = -1;
    for (int round = 0; round < 8; round++) {
        opt_fold(f);
        opt_cse(f);
        opt_dce(f);
        int now = count_region(f, f->body);
        if (now == before)
            break;
        before = now;
    }
}
