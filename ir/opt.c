/*
 * opt.c - the clean-up passes that run after lowering and after each AD
 * pass: constant folding with algebraic identities, common-subexpression
 * elimination, and dead-code removal.  Each is `void pass(Fn *)`.
 *
 * Folding and CSE record replacements (repl[v] = w) and then rewrite
 * every use; the replaced instruction stays in its region until
 * opt_dce() drops it with everything else that no output needs.
 * Tangent (ROLE_TANGENT) instructions are left alone by folding: the transpose
 * pass relies on their exact form.
 */
#include "ir.h"

#include <math.h>
#include <string.h>

typedef IrRefs RefList;

/* GEN, RED, LOOP and FOR own one region, reg[0]. */
static int has_body(const Inst *in)
{
    return ir_is_loop(in) || in->op == OP_FOR;
}

static Ref resolve(Ref *repl, Ref r)
{
    while (r != NOREF && repl[r] != NOREF)
        r = repl[r];
    return r;
}

void opt_rewrite_region(Fn *f, Region *r, Ref *repl)
{
    for (int i = 0; i < r->ids.n; i++) {
        Inst *in = &f->v.p[r->ids.p[i]];
        for (int k = 0; k < 3; k++)
            in->arg[k] = resolve(repl, in->arg[k]);
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int k = 0; k < in->nix; k++)
                in->x->list[k] = resolve(repl, in->x->list[k]);
        if (in->op == OP_IF) {
            opt_rewrite_region(f, in->x->reg[0], repl);
            opt_rewrite_region(f, in->x->reg[1], repl);
        }
        if (has_body(in))
            opt_rewrite_region(f, in->x->reg[0], repl);
    }
    for (int i = 0; i < r->yield.n; i++)
        r->yield.p[i] = resolve(repl, r->yield.p[i]);
}

static void rewrite(Fn *f, Ref *repl)
{
    opt_rewrite_region(f, f->body, repl);
    for (int i = 0; i < f->out.n; i++)
        f->out.p[i].ref = resolve(repl, f->out.p[i].ref);
}

/* A replacement table for f as it is now (no instruction is added while
 * it is in use); drop_repl hands it back. */
static Ref *new_repl(Fn *f)
{
    Ref *repl = arena_alloc(f->arena, sizeof(Ref) * (size_t)(f->v.n + 1));
    for (int i = 0; i < f->v.n; i++)
        repl[i] = NOREF;
    return repl;
}

static void drop_repl(Fn *f, Ref *repl)
{
    arena_drop(f->arena, repl, sizeof(Ref) * (size_t)(f->v.n + 1));
}

/* ---------------- constant folding ---------------- */

static int is_k(Fn *f, Ref r, double k)
{
    return ir_is_const(f, r, k) && f->v.p[r].role != ROLE_TANGENT;
}

/* Whether a and b are index values (IREALs) whose difference a - b is a
 * known constant *d: the same index variables with the same coefficients
 * (x[i] read right after x[i] = e compares i with i). */
static int index_diff(const Fn *f, Ref a, Ref b, double *d)
{
    const Inst *x = &f->v.p[a], *y = &f->v.p[b];
    if (x->op != OP_IREAL || y->op != OP_IREAL)
        return 0;
    Aff u = x->x->ix[0], v = y->x->ix[0];
    u.c = v.c = 0;
    if (!aff_eq(u, v))
        return 0;
    *d = (double)x->x->ix[0].c - (double)y->x->ix[0].c;
    return 1;
}

/* The interval of index variable iv over the iterations of its loop
 * (aff_interval's range): a GEN's dimension from 0, a RED's, LOOP's or
 * FOR's bounds (which may read outer index variables: their intervals,
 * the inner one's hull). */
static int iv_range(void *ctx, Ref iv, long long *lo, long long *hi)
{
    const Fn *f = ctx;
    const Inst *v = &f->v.p[iv];
    if (v->op != OP_IVAR || !v->parent || v->parent->owner == NOREF)
        return 0;
    const Inst *l = &f->v.p[v->parent->owner];
    int k = v->n;
    long long a, b, c, d;
    switch (l->op) {
    case OP_GEN:
        if (k >= l->ty.rank)
            return 0;
        *lo = 0;
        *hi = (long long)ty_dim(l->ty, k) - 1;
        break;
    case OP_RED: case OP_FOR: case OP_LOOP: {
        int nlo = l->op == OP_LOOP ? k : 0, nhi = l->op == OP_LOOP ? l->nix + k : 1;
        if (l->op != OP_LOOP && k != 0)
            return 0;
        if (!aff_interval(l->x->ix[nlo], iv_range, ctx, &a, &b) ||
            !aff_interval(l->x->ix[nhi], iv_range, ctx, &c, &d))
            return 0;
        *lo = a;
        *hi = d - 1; /* the upper bound excluded */
        break;
    }
    default:
        return 0;
    }
    return *lo <= *hi;
}

/* An index value's interval: an IREAL's over its loops, or an integral
 * constant. */
static int index_interval(const Fn *f, Ref r, long long *lo, long long *hi)
{
    const Inst *in = &f->v.p[r];
    if (in->op == OP_IREAL)
        return aff_interval(in->x->ix[0], iv_range, (void *)f, lo, hi);
    int32_t k;
    if (in->role == ROLE_TANGENT || !ir_index_const(in, &k))
        return 0;
    *lo = *hi = k;
    return 1;
}

/* Whether comparison `in` of index values a and b has the same answer
 * (*v) at every iteration of the loops around it: a known difference
 * decides it (index_diff), or else the intervals of a and b (a row
 * store's element read at rows it never writes: z[1] = e, then
 * z[i // 3 + 2, ...] for i in 0..3, compares i // 3 + 2 with 1, never
 * equal; left in the C, gcc -O1 warned that the unread row's array "may
 * be used uninitialized"). */
static int index_decided(const Fn *f, const Inst *in, Ref a, Ref b, double *v)
{
    double d;
    if (index_diff(f, a, b, &d)) {
        double z[2] = {d, 0};
        *v = ir_eval_scalar((Op)in->op, z, 0);
        return 1;
    }
    long long alo, ahi, blo, bhi;
    if ((f->v.p[a].op != OP_IREAL && f->v.p[b].op != OP_IREAL) || !index_interval(f, a, &alo, &ahi) ||
        !index_interval(f, b, &blo, &bhi))
        return 0;
    int below = ahi < blo, above = alo > bhi, same = alo == ahi && blo == bhi && alo == blo;
    int at_most = ahi <= blo, at_least = alo >= bhi;
    switch (in->op) {
    case OP_EQ: case OP_NE:
        if (!below && !above && !same)
            return 0;
        *v = (in->op == OP_EQ) == same;
        return 1;
    case OP_LT: case OP_GE:
        if (!below && !at_least)
            return 0;
        *v = (in->op == OP_LT) == below;
        return 1;
    case OP_LE: case OP_GT:
        if (!at_most && !above)
            return 0;
        *v = (in->op == OP_LE) == at_most;
        return 1;
    default:
        return 0;
    }
}

/* A finite constant (not a tangent's). */
static int is_finite_k(Fn *f, Ref r)
{
    return f->v.p[r].op == OP_CONST && f->v.p[r].role != ROLE_TANGENT && isfinite(f->v.p[r].x->num);
}

static Ref fold_rule(Fn *f, Ref id);

/* in, folded in place, becomes the constant v, with a record of its own
 * (the one it had, if any, may hold what a constant does not read). */
static void become_const(Fn *f, Inst *in, double v)
{
    in->op = OP_CONST;
    in->x = ir_ext_new(f->arena, OP_CONST);
    in->x->num = v;
    in->n = 0;
    in->arg[0] = in->arg[1] = in->arg[2] = NOREF;
}

/* The value `id` simplifies to (itself if none), folding in place. */
static Ref fold_one(Fn *f, Ref id, Ref *repl)
{
    Inst *in = &f->v.p[id];
    int n = op_info[in->op].nargs;
    if (in->op == OP_RESULT && f->v.p[in->arg[0]].op == OP_IF) {
        /* if c { yield x } else { yield x }: x, whichever way (the
         * branches were folded first, their yields resolved) */
        const Inst *fi = &f->v.p[in->arg[0]];
        Ref y0 = fi->x->reg[0]->yield.p[in->n], y1 = fi->x->reg[1]->yield.p[in->n];
        return y0 == y1 ? y0 : id;
    }
    if (in->role == ROLE_TANGENT || op_info[in->op].kind == K_CTL)
        return id;
    for (int k = 0; k < n; k++)
        in->arg[k] = resolve(repl, in->arg[k]);
    Ref a = in->arg[0], b = in->arg[1];
    int allk = 1;
    double x[3];
    for (int k = 0; k < n; k++) {
        Inst *ak = &f->v.p[in->arg[k]];
        allk &= ak->op == OP_CONST && ak->role != ROLE_TANGENT;
        x[k] = ak->x->num;
    }
    if (allk) {
        double v = ir_eval_scalar((Op)in->op, x, in->n);
        if (isfinite(v)) {
            become_const(f, in, v);
            return id;
        }
    }
    double d;
    if (op_info[in->op].kind == K_BOOL && n == 2 && index_decided(f, in, a, b, &d)) {
        become_const(f, in, d);
        return id;
    }
    /* a rule that changes the op in place (MULZ to MUL, MUL by -1 to NEG)
     * leaves the new op's rules to apply: one call leaves nothing to fold */
    Ref to;
    for (Op op = (Op)in->op;; op = (Op)in->op)
        if ((to = fold_rule(f, id)) != id || in->op == op)
            return to;
}

/* fold_one's rules of one op: the value in simplifies to, or id (in
 * may have changed in place). */
static Ref fold_rule(Fn *f, Ref id)
{
    Inst *in = &f->v.p[id];
    Ref a = in->arg[0], b = in->arg[1];
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
        if (is_k(f, a, -1) || is_k(f, b, -1)) { /* -x reads better than -1.0 * x */
            in->op = OP_NEG;
            in->arg[0] = is_k(f, a, -1) ? b : a;
            in->arg[1] = NOREF;
        }
        break;
    case OP_DIV:
        if (is_k(f, b, 1))
            return a;
        break;
    case OP_MULZ: /* strong zero: by a constant it is a plain product */
        if (is_k(f, a, 0) || is_k(f, b, 0))
            return is_k(f, a, 0) ? a : b;
        if (is_finite_k(f, a) || is_finite_k(f, b))
            in->op = OP_MUL;
        break;
    case OP_DIVZ:
        if (is_k(f, a, 0))
            return a;
        if ((is_finite_k(f, b) && f->v.p[b].x->num != 0) || is_finite_k(f, a))
            in->op = OP_DIV; /* a nonzero constant numerator too */
        break;
    case OP_NEG:
        if (f->v.p[a].op == OP_NEG && f->v.p[a].role != ROLE_TANGENT)
            return f->v.p[a].arg[0];
        break;
    case OP_POWI:
        if (in->n == 1)
            return a;
        break;
    case OP_AND: /* a condition and a constant one (1 or 0) */
    case OP_OR:
        for (int k = 0; k < 2; k++) {
            Ref c = in->arg[k], other = in->arg[!k];
            if (is_k(f, c, in->op == OP_AND)) /* true and x, false or x: x */
                return other;
            if (is_k(f, c, in->op == OP_OR)) /* false and x, true or x: c */
                return c;
        }
        break;
    case OP_SELECT:
        if (f->v.p[a].op == OP_CONST)
            return f->v.p[a].x->num != 0 ? b : in->arg[2];
        if (b == in->arg[2])
            return b;
        break;
    default:
        break;
    }
    return id;
}

/* Every operand of in through repl (its list's too), as rewrite does;
 * an operand that stays is not written again (a walk over a large
 * function then leaves most of its cache lines clean). */
/* Returns whether it changed an operand. */
static inline int resolve_operands(Inst *in, Ref *repl)
{
    int changed = 0;
    for (int k = 0; k < 3; k++)
        if (in->arg[k] != NOREF && repl[in->arg[k]] != NOREF) {
            in->arg[k] = resolve(repl, in->arg[k]);
            changed = 1;
        }
    if (in->op == OP_LIT || in->op == OP_FOR)
        for (int k = 0; k < in->nix; k++) {
            Ref to = resolve(repl, in->x->list[k]);
            changed |= to != in->x->list[k];
            in->x->list[k] = to;
        }
    return changed;
}

/* The outputs through repl. */
static void resolve_outputs(Fn *f, Ref *repl)
{
    for (int i = 0; i < f->out.n; i++)
        f->out.p[i].ref = resolve(repl, f->out.p[i].ref);
}

/* The operands fold_one reads of in (ir_prefetch). */
static void prefetch_args(const Fn *f, const Inst *in)
{
    if (in->role != ROLE_TANGENT && op_info[in->op].kind != K_CTL)
        ir_prefetch_args(f, in);
}

/* An if at r->ids.p[at] whose condition is a constant: the branch it
 * takes (side) moves into r before it, its instructions' region r, and
 * both branches are left empty, each yielding the taken one's values, so
 * that its results fold to those (fold_one) and dead-code removal drops
 * the if; what the other branch computed is dropped with it (its values
 * were read only there).  Returns how many instructions moved. */
static int splice_branch(Fn *f, Region *r, int at, int side)
{
    const Inst *in = &f->v.p[r->ids.p[at]];
    Region *t = in->x->reg[side], *u = in->x->reg[!side];
    int n = t->ids.n, tail = r->ids.n - at;
    for (int k = 0; k < n; k++)
        vec_push(f->arena, &r->ids, NOREF);
    memmove(&r->ids.p[at + n], &r->ids.p[at], sizeof(Ref) * (size_t)tail);
    for (int k = 0; k < n; k++) {
        r->ids.p[at + k] = t->ids.p[k];
        f->v.p[t->ids.p[k]].parent = r;
    }
    t->ids.n = u->ids.n = 0;
    for (int k = 0; k < u->yield.n; k++)
        u->yield.p[k] = t->yield.p[k];
    return n;
}

/* Returns 1 if it changed anything; *nrepl counts the replacements.
 * Every operand is resolved when its instruction is visited: a value is
 * visited before any instruction that reads it (SSA order), and so is
 * what it is replaced by, so no rewrite of the whole function is needed
 * afterwards (but for the outputs). */
static int fold_region(Fn *f, Region *r, Ref *repl, int *nrepl)
{
    int changed = 0;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        if (i + IR_AHEAD < r->ids.n)
            prefetch_args(f, &f->v.p[r->ids.p[i + IR_AHEAD]]);
        resolve_operands(in, repl);
        if (in->op == OP_IF && is_finite_k(f, in->arg[0])) {
            int side = f->v.p[in->arg[0]].x->num == 0;
            fold_region(f, in->x->reg[side], repl, nrepl);
            i += splice_branch(f, r, i, side); /* the if again, its branches empty */
            changed = 1;
            continue;
        }
        if (in->op == OP_IF) {
            changed |= fold_region(f, in->x->reg[0], repl, nrepl);
            changed |= fold_region(f, in->x->reg[1], repl, nrepl);
            continue;
        }
        if (has_body(in)) {
            changed |= fold_region(f, in->x->reg[0], repl, nrepl);
            continue;
        }
        Op before = (Op)in->op;
        Ref to = fold_one(f, id, repl);
        if (to != id) {
            repl[id] = to;
            ++*nrepl;
            if (!f->v.p[to].name && in->name && f->v.p[to].op != OP_CONST &&
                ir_is_rev(&f->v.p[to]) == ir_is_rev(in))
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

/* Folds f; returns 1 if anything changed. */
static int fold(Fn *f)
{
    Ref *repl = new_repl(f);
    int nrepl = 0;
    int changed = fold_region(f, f->body, repl, &nrepl);
    if (nrepl)
        resolve_outputs(f, repl);
    drop_repl(f, repl);
    return changed;
}

void opt_fold(Fn *f)
{
    fold(f);
}

/* ---------------- common subexpressions ---------------- */

/* A scoped hash table of pure instructions: entering a region marks the
 * undo stack, leaving it removes what the region added, so a value is
 * only reused where it dominates. */
typedef struct {
    Ref id;        /* NOREF: empty */
    unsigned hash; /* hash_inst of id: a probe compares it before reading id */
} CseSlot;
typedef struct {
    Fn *f;
    CseSlot *slot;
    int cap;
    int nrepl;    /* replacements made */
    int refold;   /* a replacement folding reads by identity (see cse) */
    VEC(int) undo;
} Cse;

static inline unsigned hash_inst(const Inst *in)
{
    unsigned h = in->op * 2654435761u ^ (in->role == ROLE_TANGENT) * 97u;
    for (int k = 0; k < 3; k++)
        h = (h ^ (unsigned)(in->arg[k] + 1)) * 16777619u;
    uint64_t bits;
    double k = in->op == OP_CONST ? in->x->num : in->n; /* the old k of a pure op */
    memcpy(&bits, &k, sizeof bits);
    h ^= (unsigned)(bits ^ (bits >> 32)) * 40503u;
    int n = in->op == OP_IDX ? in->nix : in->op == OP_IREAL ? 1 : 0;
    for (int i = 0; i < n; i++) {
        h = (h ^ (unsigned)in->x->ix[i].c) * 16777619u;
        for (int t = 0; t < in->x->ix[i].n; t++)
            h = (h ^ (unsigned)(in->x->ix[i].iv[t] * 31 + in->x->ix[i].a[t])) * 16777619u;
    }
    return h;
}

static int same_inst(const Inst *a, const Inst *b)
{
    if (!(a->op == b->op && (a->role == ROLE_TANGENT) == (b->role == ROLE_TANGENT) &&
          a->arg[0] == b->arg[0] && a->arg[1] == b->arg[1] && a->arg[2] == b->arg[2] &&
          /* (only a constant's record holds a number: no other is read) */
          (a->op != OP_CONST || memcmp(&a->x->num, &b->x->num, sizeof a->x->num) == 0) && a->n == b->n &&
          a->red == b->red &&
          ty_eq(a->ty, b->ty)))
        return 0;
    int n = a->op == OP_IDX ? a->nix : a->op == OP_IREAL ? 1 : 0;
    for (int i = 0; i < n; i++)
        if (!aff_eq(a->x->ix[i], b->x->ix[i]))
            return 0;
    return a->nix == b->nix;
}

/* Loads of arrays that never change (not adjoint buffers, which ACCs
 * write) and index values are pure too. */
static inline int cse_ok(const Fn *f, const Inst *in)
{
    if (in->op == OP_IDX)
        return f->v.p[in->arg[0]].op != OP_ZEROS;
    return in->op == OP_IREAL || in->op == OP_CONST || in->op == OP_NODIFF ||
           op_info[in->op].kind != K_CTL;
}

/* The slot cse_region looks in for in (ir_prefetch; an IDX's hash reads
 * its indices: not asked for). */
/* Asks for the slot of in, id, IR_AHEAD instructions ahead (a large
 * function's table is far larger than the cache), and keeps its hash in
 * *ahead for when in's turn comes: unless an operand of in is replaced
 * in between, it is the same. */
typedef struct {
    Ref id;
    unsigned hash;
} Ahead;
enum { AHEAD_RING = 16 }; /* a power of two above IR_AHEAD */
_Static_assert((int)AHEAD_RING > (int)IR_AHEAD && (AHEAD_RING & (AHEAD_RING - 1)) == 0, "AHEAD_RING");

static void prefetch_slot(const Cse *C, const Inst *in, Ref id, Ahead *ahead)
{
    ahead->id = NOREF;
    if (in->op != OP_IDX && cse_ok(C->f, in)) {
        ahead->id = id;
        ahead->hash = hash_inst(in);
        ir_prefetch(&C->slot[ahead->hash & (unsigned)(C->cap - 1)]);
    }
}

static void cse_region(Cse *C, Region *r, Ref *repl)
{
    Fn *f = C->f;
    int mark = C->undo.n;
    Ahead ahead[AHEAD_RING];
    for (int i = 0; i < AHEAD_RING; i++)
        ahead[i].id = NOREF;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        if (i + IR_AHEAD < r->ids.n)
            prefetch_slot(C, &f->v.p[r->ids.p[i + IR_AHEAD]], r->ids.p[i + IR_AHEAD],
                          &ahead[(i + IR_AHEAD) & (AHEAD_RING - 1)]);
        if (in->op == OP_SELECT && (repl[in->arg[1]] != NOREF || repl[in->arg[2]] != NOREF))
            C->refold = 1;
        /* as in fold_region: no rewrite after */
        int known = !resolve_operands(in, repl) && ahead[i & (AHEAD_RING - 1)].id == id;
        if (in->op == OP_IF) {
            cse_region(C, in->x->reg[0], repl);
            cse_region(C, in->x->reg[1], repl);
            continue;
        }
        if (has_body(in)) {
            cse_region(C, in->x->reg[0], repl);
            continue;
        }
        if (!cse_ok(f, in))
            continue;
        unsigned hash = known ? ahead[i & (AHEAD_RING - 1)].hash : hash_inst(in);
        unsigned h = hash & (unsigned)(C->cap - 1);
        for (;;) {
            Ref s = C->slot[h].id;
            if (s == NOREF) {
                C->slot[h].id = id;
                C->slot[h].hash = hash;
                if (r != f->body) /* the body's entries are never taken back */
                    vec_push(f->arena, &C->undo, (int)h);
                break;
            }
            if (C->slot[h].hash == hash && same_inst(&f->v.p[s], in)) {
                repl[id] = s;
                C->nrepl++;
                if (!f->v.p[s].name && in->name && f->v.p[s].op != OP_CONST &&
                    ir_is_rev(&f->v.p[s]) == ir_is_rev(in))
                    f->v.p[s].name = in->name;
                break;
            }
            h = (h + 1) & (unsigned)(C->cap - 1);
        }
    }
    int of_if = r->owner != NOREF && f->v.p[r->owner].op == OP_IF;
    for (int i = 0; i < r->yield.n; i++) {
        C->refold |= of_if && repl[r->yield.p[i]] != NOREF;
        r->yield.p[i] = resolve(repl, r->yield.p[i]);
    }
    /* Linear probing: removing in reverse order of insertion keeps every
     * remaining probe chain intact. */
    while (C->undo.n > mark)
        C->slot[C->undo.p[--C->undo.n]].id = NOREF;
}

/* CSE over f.  Returns whether folding may find more to do after it:
 * whether it replaced an operand that a rule of fold_one compares with
 * another by identity (a SELECT's two values, the yields of an if's
 * branches).  Every other rule reads only its operands' ops and
 * constants, which a replacement by an equal instruction keeps, so a
 * fold after a CSE that returns 0 changes nothing (fold itself leaves
 * nothing to fold in one walk: operands are folded before their users,
 * a region's yields before the instruction after it). */
static int cse(Fn *f)
{
    Cse C = {0};
    C.f = f;
    C.cap = 16; /* at most two thirds full */
    while (C.cap < f->v.n + f->v.n / 2 + 2)
        C.cap *= 2;
    C.slot = arena_alloc(f->arena, sizeof(CseSlot) * (size_t)C.cap);
    for (int i = 0; i < C.cap; i++)
        C.slot[i].id = NOREF;
    Ref *repl = new_repl(f);
    cse_region(&C, f->body, repl);
    if (C.nrepl)
        resolve_outputs(f, repl);
    drop_repl(f, repl);
    arena_drop(f->arena, C.slot, sizeof(CseSlot) * (size_t)C.cap);
    arena_drop(f->arena, C.undo.p, sizeof(int) * (size_t)C.undo.cap);
    return C.refold;
}

void opt_cse(Fn *f)
{
    cse(f);
}

/* ---------------- dead code ---------------- */

/* Marking sweeps the instruction array from its end: a value is visited
 * (its operands marked) when the sweep reaches it, or at once if it lies
 * above the sweep (a value marked above `below` goes on the work list).
 * The live set is the same in any order; the sweep's is the one that
 * reads memory in sequence.  An ACC is live when its buffer is read; the
 * sweep takes one whose buffer it has found live when it reaches it (in
 * a gradient the buffers are read at the end, after every ACC into them,
 * so almost all are), and the rounds after it the rest.  Left to those
 * rounds, a gradient's whole backward pass was marked from its ACCs in
 * depth-first order, a cache miss an instruction. */
typedef struct {
    Fn *f;
    unsigned char *live;
    Ref below;       /* values under it are left to the sweep */
    VEC(Ref) work;
    int kept;        /* instructions the regions hold after pruning */
} Dce;

static inline void mark(Dce *D, Ref r)
{
    if (r == NOREF || D->live[r])
        return;
    D->live[r] = 1;
    if (r >= D->below)
        vec_push(D->f->arena, &D->work, r);
}

static void prune_region(Dce *D, Region *r);
static void prune_for(Dce *D, Region *parent, int at);

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
        int j = res->n;
        for (int s = 0; s < nreg; s++)
            in->x->reg[s]->yield.p[n] = in->x->reg[s]->yield.p[j];
        res->n = n++;
    }
    for (int s = 0; s < nreg; s++) {
        in->x->reg[s]->yield.n = n;
        prune_region(D, in->x->reg[s]);
    }
}

/* Drop the carried values of a live FOR that neither its body nor what
 * follows it reads, renumbering the rest. */
static void prune_for(Dce *D, Region *parent, int at)
{
    Fn *f = D->f;
    Ref id = parent->ids.p[at];
    Inst *in = &f->v.p[id];
    Region *b = in->x->reg[0];
    int nr = ir_nresults(f, parent, at);
    int *to = arena_alloc(f->arena, sizeof(int) * (size_t)(in->nix + 1));
    int n = 0;
    for (int j = 0; j < in->nix; j++) {
        int live = D->live[ir_carry(f, id, j)];
        for (int q = 0; q < nr; q++) {
            Ref res = parent->ids.p[at + 1 + q];
            live |= D->live[res] && f->v.p[res].n == j;
        }
        to[j] = live ? n++ : -1;
    }
    for (int j = 0; j < in->nix; j++) {
        if (to[j] < 0)
            continue;
        Ref c = ir_carry(f, id, j);
        in->x->list[to[j]] = in->x->list[j];
        b->yield.p[to[j]] = b->yield.p[j];
        D->live[c] = 1; /* kept even when only RESULT j is read */
        f->v.p[c].n = to[j];
    }
    for (int q = 0; q < nr; q++) {
        Inst *res = &f->v.p[parent->ids.p[at + 1 + q]];
        if (to[res->n] >= 0)
            res->n = to[res->n];
    }
    in->nix = n;
    b->yield.n = n;
    prune_region(D, b);
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
        else if (in->op == OP_FOR)
            prune_for(D, r, i);
        else if (in->op == OP_LOOP)
            prune_region(D, in->x->reg[0]);
        r->ids.p[n++] = id;
    }
    r->ids.n = n;
    D->kept += n;
}

/* Removes f's dead code; returns how many instructions its regions hold
 * then (what count_region would find).  With unless_gen, when f has a
 * GEN (opt_fuse has work then), it stops before it changes anything and
 * returns -1: the sweep that marks the live values reads every
 * instruction anyway. */
static int dce(Fn *f, int unless_gen)
{
    /* the ACCs the regions hold (an ACC no region holds any more is dead,
     * whatever its buffer), flagged in is_acc */
    RefList accs = {0};
    ir_accs(f, f->body, &accs);
    unsigned char *is_acc = accs.n ? arena_alloc(f->arena, (size_t)f->v.n + 1) : NULL;
    for (int k = 0; k < accs.n; k++)
        is_acc[accs.p[k]] = 1;
    Dce D = {0};
    D.f = f;
    D.live = arena_alloc(f->arena, (size_t)f->v.n + 1);
    D.below = f->v.n;
    for (int i = 0; i < f->out.n; i++)
        mark(&D, f->out.p[i].ref);
    for (int sweep = f->v.n - 1;; sweep--) {
        if (sweep >= 0) {
            D.below = sweep;
            const Inst *in = &f->v.p[sweep];
            if (unless_gen && in->op == OP_GEN) {
                arena_drop(f->arena, D.live, (size_t)f->v.n + 1);
                if (is_acc)
                    arena_drop(f->arena, is_acc, (size_t)f->v.n + 1);
                return -1;
            }
            if (in->op == OP_PARAM || (is_acc && is_acc[sweep] && D.live[in->arg[0]]))
                D.live[sweep] = 1;
            if (!D.live[sweep])
                continue;
            vec_push(f->arena, &D.work, sweep);
        } else if (sweep == -1) {
            D.below = 0; /* from here every value marked is visited at once */
        }
        while (D.work.n) {
            Ref id = D.work.p[--D.work.n];
            Inst *in = &f->v.p[id];
            for (int k = 0; k < op_info[in->op].nargs; k++)
                mark(&D, in->arg[k]);
            if (in->op == OP_LIT)
                for (int k = 0; k < in->nix; k++)
                    mark(&D, in->x->list[k]);
            if (in->op == OP_RESULT) {
                Inst *x = &f->v.p[in->arg[0]];
                mark(&D, x->x->reg[0]->yield.p[in->n]);
                if (x->op == OP_IF)
                    mark(&D, x->x->reg[1]->yield.p[in->n]);
                if (x->op == OP_FOR) /* the value when no iteration runs */
                    mark(&D, x->x->list[in->n]);
            }
            if (in->op == OP_CARRY) { /* its initial and next values */
                Inst *x = &f->v.p[in->parent->owner];
                mark(&D, x->x->list[in->n]);
                mark(&D, x->x->reg[0]->yield.p[in->n]);
            }
            /* an instruction inside a branch or loop keeps it alive */
            if (in->parent && in->parent->owner != NOREF)
                mark(&D, in->parent->owner);
        }
        if (sweep >= 0)
            continue;
        /* the ACCs whose buffer was found live only after the sweep passed them */
        int more = 0;
        for (int k = 0; k < accs.n; k++) {
            Ref i = accs.p[k];
            if (!D.live[i] && D.live[f->v.p[i].arg[0]]) {
                mark(&D, i);
                more = 1;
            }
        }
        if (!more)
            break;
    }
    prune_region(&D, f->body);
    arena_drop(f->arena, D.live, (size_t)f->v.n + 1);
    if (is_acc)
        arena_drop(f->arena, is_acc, (size_t)f->v.n + 1);
    return D.kept;
}

void opt_dce(Fn *f)
{
    dce(f, 0);
}

static int count_region(Fn *f, Region *r)
{
    int n = r->ids.n;
    for (int i = 0; i < r->ids.n; i++) {
        Inst *in = &f->v.p[r->ids.p[i]];
        if (in->op == OP_IF)
            n += count_region(f, in->x->reg[0]) + count_region(f, in->x->reg[1]);
        if (has_body(in))
            n += count_region(f, in->x->reg[0]);
    }
    return n;
}

/* Rounds of fold, CSE and dead-code removal until one removes nothing.
 * A round after the first whose folding changes nothing would change
 * nothing at all, and is not run: CSE resolves each operand before it
 * looks an instruction up, so it leaves no common subexpression behind
 * for a second CSE to find, and the dead-code removal after it left none
 * either.  Nor is a round whose folding could change nothing: after a
 * CSE that replaced no operand folding compares by identity (cse), and
 * a dead-code removal, which takes away only what no live value reads.
 * That spares most functions their second walk of folding (a fifth of
 * the rounds' instructions); the pipeline's checks after every pass (the
 * tests') fold once more and require no change (opt_refold). */
void opt_rounds(Fn *f)
{
    int before = -1;
    for (int round = 0; round < 8; round++) {
        if (!fold(f) && round > 0)
            break;
        int refold = cse(f);
        int now = dce(f, 0);
        if (now == before || !refold)
            break;
        before = now;
    }
}

int opt_refold(Fn *f)
{
    return fold(f);
}

void opt_all(Fn *f)
{
    opt_fuse(f);
    opt_rounds(f);
}

/* ---------------- fusion ---------------- */

/*
 * An element of a GEN's result read by an IDX is the GEN's body at that
 * index: opt_fuse copies the body in place of the IDX, with the GEN's
 * index variables replaced by the IDX's affine indices, so that chains of
 * elementwise operations, views (X[t], transpose) and reductions over
 * them become one loop with no temporary array (loop fusion by
 * substitution, as in Halide's inlining of pure stages).
 *
 * It fuses only where no work is repeated: the GEN has one result, read
 * by exactly one IDX that runs once per element (its indices are
 * distinct index variables plus constants, covering every loop between
 * the GEN and the IDX), unless the body is cheap (loads and arithmetic,
 * no libm call or loop), when every reader gets its own copy.
 */

typedef struct {
    Fn *f;
    Ref gen;         /* the GEN being substituted */
    const Aff *ix;   /* its IVAR d -> ix[d] */
    Ref *map;        /* old value -> copy (NOREF: none) */
    RefList *set;    /* the entries of map set, to clear after the copy */
} Subst;

static void aff_add_term(Arena *a, Aff *x, Ref iv, int32_t k, int cap)
{
    (void)a;
    for (int i = 0; i < x->n; i++)
        if (x->iv[i] == iv) {
            x->a[i] += k;
            return;
        }
    ASSERT(x->n < cap);
    x->iv[x->n] = iv;
    x->a[x->n++] = k;
}

static Aff subst_aff(Subst *S, Aff x);

/* y (x substituted, but for non-affine terms) with those terms: x's own,
 * their operands substituted, and those of the indices its GEN's IVARs
 * become, times their coefficients. */
static Aff subst_q(Subst *S, Aff x, Aff y)
{
    int nq = x.nq;
    for (int i = 0; i < x.n; i++)
        if (S->f->v.p[x.iv[i]].parent->owner == S->gen)
            nq += S->ix[S->f->v.p[x.iv[i]].n].nq;
    if (!nq)
        return y;
    y.q = arena_alloc(S->f->arena, sizeof *y.q * (size_t)nq);
    for (int i = 0; i < x.n; i++)
        if (S->f->v.p[x.iv[i]].parent->owner == S->gen) {
            Aff by = S->ix[S->f->v.p[x.iv[i]].n];
            for (int k = 0; k < by.nq; k++) {
                y.q[y.nq] = by.q[k];
                y.q[y.nq].x = aff_copy(S->f->arena, by.q[k].x);
                y.q[y.nq].y = aff_copy(S->f->arena, by.q[k].y);
                y.q[y.nq++].b = by.q[k].b * x.a[i];
            }
        }
    for (int k = 0; k < x.nq; k++) {
        y.q[y.nq] = x.q[k];
        y.q[y.nq].x = subst_aff(S, x.q[k].x);
        y.q[y.nq++].y = subst_aff(S, x.q[k].y);
    }
    return y;
}

static Aff subst_aff(Subst *S, Aff x)
{
    Arena *A = S->f->arena;
    int cap = x.n;
    for (int i = 0; i < x.n; i++)
        if (S->f->v.p[x.iv[i]].parent->owner == S->gen)
            cap += S->ix[S->f->v.p[x.iv[i]].n].n;
    Aff y = {0};
    y.c = x.c;
    y.iv = arena_alloc(A, sizeof(Ref) * (size_t)(cap + 1));
    y.a = arena_alloc(A, sizeof(int32_t) * (size_t)(cap + 1));
    for (int i = 0; i < x.n; i++) {
        Ref iv = x.iv[i];
        if (S->f->v.p[iv].parent->owner == S->gen) {
            Aff by = S->ix[S->f->v.p[iv].n];
            y.c += x.a[i] * by.c;
            for (int t = 0; t < by.n; t++)
                aff_add_term(A, &y, by.iv[t], x.a[i] * by.a[t], cap);
        } else {
            aff_add_term(A, &y, S->map[iv] != NOREF ? S->map[iv] : iv, x.a[i], cap);
        }
    }
    /* drop zero terms */
    int n = 0;
    for (int i = 0; i < y.n; i++)
        if (y.a[i]) {
            y.iv[n] = y.iv[i];
            y.a[n++] = y.a[i];
        }
    y.n = n;
    return subst_q(S, x, y);
}

static Ref mapped(const Subst *S, Ref r)
{
    return r == NOREF ? NOREF : S->map[r] != NOREF ? S->map[r] : r;
}

/* Copies src's instructions (not its IVARs) to the end of dst. */
static void clone_region(Subst *S, const Region *src, Region *dst)
{
    Fn *f = S->f;
    for (int i = 0; i < src->ids.n; i++) {
        Ref id = src->ids.p[i];
        Inst in = f->v.p[id]; /* by value: emitting may move f->v */
        if (in.op == OP_IVAR)
            continue;
        Ref n = ir_copy_inst(f, dst, &in, NULL);
        for (int d = 0; ir_is_loop(&in) && d < ir_nivars(f, id); d++) {
            S->map[ir_ivar(f, id, d)] = ir_ivar(f, n, d);
            vec_push(f->arena, S->set, ir_ivar(f, id, d));
            f->v.p[ir_ivar(f, n, d)].name = f->v.p[ir_ivar(f, id, d)].name;
        }
        /* operands and indices: substituted */
        Inst *x = &f->v.p[n];
        for (int k = 0; k < 3; k++)
            x->arg[k] = mapped(S, in.arg[k]);
        for (int j = 0; j < ir_naffs(&in); j++)
            x->x->ix[j] = subst_aff(S, in.x->ix[j]);
        for (int j = 0; in.op == OP_LIT && j < in.nix; j++)
            x->x->list[j] = mapped(S, in.x->list[j]);
        x->rule_src = mapped(S, in.rule_src);
        S->map[id] = n;
        vec_push(f->arena, S->set, id);
        if (in.op == OP_IF) {
            for (int s = 0; s < 2; s++) {
                Region *r = ir_region_new(f, n, s);
                f->v.p[n].x->reg[s] = r;
                clone_region(S, in.x->reg[s], r);
            }
        } else if (ir_is_loop(&in)) {
            clone_region(S, in.x->reg[0], f->v.p[n].x->reg[0]);
        }
    }
    for (int i = 0; i < src->yield.n; i++)
        vec_push(f->arena, &dst->yield, mapped(S, src->yield.p[i]));
}

static int body_cheap(const Fn *f, const Region *b)
{
    int n = 0;
    for (int i = 0; i < b->ids.n; i++) {
        const Inst *in = &f->v.p[b->ids.p[i]];
        OpKind k = op_info[in->op].kind;
        if (in->op == OP_IVAR)
            continue;
        if (!(k == K_ARITH || k == K_BOOL || in->op == OP_CONST || in->op == OP_IDX ||
              in->op == OP_IREAL || in->op == OP_NODIFF))
            return 0;
        n++;
    }
    return n <= 8;
}

static int contains_for(const Fn *f, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (in->op == OP_FOR)
            return 1;
        if (in->op == OP_IF && (contains_for(f, in->x->reg[0]) || contains_for(f, in->x->reg[1])))
            return 1;
        if (ir_is_loop(in) && contains_for(f, in->x->reg[0]))
            return 1;
    }
    return 0;
}

/* Does the IDX `use` run once per element of `gen`? */
static int runs_once(const Fn *f, Ref gen, Ref use)
{
    const Inst *u = &f->v.p[use];
    const Region *top = f->v.p[gen].parent;
    /* every index is a constant or +1 times an index variable, all distinct */
    for (int d = 0; d < u->nix; d++) {
        if (u->x->ix[d].n > 1 || (u->x->ix[d].n == 1 && u->x->ix[d].a[0] != 1) || u->x->ix[d].nq)
            return 0;
        for (int e = 0; e < d; e++)
            if (u->x->ix[d].n && u->x->ix[e].n && u->x->ix[d].iv[0] == u->x->ix[e].iv[0])
                return 0;
    }
    /* every loop between the GEN and the IDX is indexed by */
    for (const Region *r = u->parent; r != top; ) {
        if (r->owner == NOREF)
            return 0; /* the GEN is not visible from an enclosing region */
        const Inst *o = &f->v.p[r->owner];
        if (o->op == OP_RED)
            return 0; /* a reduction's reverse loop recomputes its body:
                         keep the expensive array as its tape */
        if (has_body(o)) {
            for (int d = 0; d < ir_nivars(f, r->owner); d++) {
                Ref iv = ir_ivar(f, r->owner, d);
                int found = 0;
                for (int e = 0; e < u->nix; e++)
                    found |= u->x->ix[e].n == 1 && u->x->ix[e].iv[0] == iv;
                if (!found)
                    return 0;
            }
        } else if (o->op == OP_IF) {
            return 0; /* it may not run at all: keep the array */
        }
        r = o->parent;
    }
    return 1;
}

typedef struct {
    int *uses;      /* number of uses of each value */
    Ref *user;      /* one user of each value */
} Uses;

static void count_uses(Fn *f, Region *r, Uses *U)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        for (int k = 0; k < 3; k++)
            if (in->arg[k] != NOREF && !(in->op == OP_RESULT && k == 0)) {
                U->uses[in->arg[k]]++;
                U->user[in->arg[k]] = id;
            }
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int k = 0; k < in->nix; k++) {
                U->uses[in->x->list[k]] += in->op == OP_FOR ? 2 : 1; /* FOR: whole value */
                U->user[in->x->list[k]] = id;
            }
        if (in->op == OP_IF) {
            count_uses(f, in->x->reg[0], U);
            count_uses(f, in->x->reg[1], U);
        }
        if (has_body(in))
            count_uses(f, in->x->reg[0], U);
    }
    for (int i = 0; i < r->yield.n; i++) {
        U->uses[r->yield.p[i]] += 2; /* a whole-array use: never fused */
        U->user[r->yield.p[i]] = NOREF;
    }
}

static int count_region(Fn *f, Region *r);

/* Fuses the IDX at position `at` of r; returns the number of
 * instructions inserted before it, or -1.  map (cap entries, all NOREF)
 * is the copy's, cleared again after it, so that a round costs the size
 * of what it copies, not that times the function's. */
static int fuse_one(Fn *f, Region *r, int at, Uses *U, Ref *repl, Ref *map, int cap)
{
    Ref use = r->ids.p[at];
    Inst *u = &f->v.p[use];
    Ref arr = u->arg[0];
    Inst *a = &f->v.p[arr];
    if (a->op != OP_RESULT || f->v.p[a->arg[0]].op != OP_GEN)
        return -1;
    Ref gen = a->arg[0];
    Inst *g = &f->v.p[gen];
    if (g->x->reg[0]->yield.n != 1)
        return -1;
    if (contains_for(f, g->x->reg[0]))
        return -1; /* loops stay where they are */
    RefList accs = {0};
    ir_accs(f, g->x->reg[0], &accs);
    if (accs.n)
        return -1; /* a GEN that keeps values (onepass.c) writes them once */
    int cheap = body_cheap(f, g->x->reg[0]);
    if (!cheap && !(U->uses[arr] == 1 && runs_once(f, gen, use)))
        return -1;
    if (f->v.n + 2 * count_region(f, g->x->reg[0]) + 16 >= cap)
        return -1; /* next round */
    RefList set = {0};
    Subst S = {f, gen, u->x->ix, map, &set};
    Region tmp = {0};
    tmp.owner = r->owner;
    clone_region(&S, g->x->reg[0], &tmp);
    for (int i = 0; i < set.n; i++)
        map[set.p[i]] = NOREF;
    Ref val = tmp.yield.p[0];
    /* splice before the IDX */
    int k = tmp.ids.n;
    ir_splice(f, r, at, &tmp);
    /* regions owned by copies keep their owner; the copies' names stay */
    repl[use] = val;
    if (!f->v.p[val].name)
        f->v.p[val].name = f->v.p[use].name;
    return k;
}

static int fuse_region(Fn *f, Region *r, Uses *U, Ref *repl, Ref *map, int cap)
{
    int n = 0;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        for (int k = 0; k < 3; k++)
            in->arg[k] = resolve(repl, in->arg[k]);
        if (in->op == OP_IF) {
            n += fuse_region(f, in->x->reg[0], U, repl, map, cap);
            n += fuse_region(f, in->x->reg[1], U, repl, map, cap);
        } else if (has_body(in)) {
            for (int k = 0; in->op == OP_FOR && k < in->nix; k++)
                in->x->list[k] = resolve(repl, in->x->list[k]);
            n += fuse_region(f, in->x->reg[0], U, repl, map, cap);
        } else if (in->op == OP_IDX) {
            int k = fuse_one(f, r, i, U, repl, map, cap);
            if (k >= 0) {
                n++;
                i += k; /* the copies are fused in the next round */
            }
        }
    }
    for (int i = 0; i < r->yield.n; i++)
        r->yield.p[i] = resolve(repl, r->yield.p[i]);
    return n;
}

void opt_fuse(Fn *f)
{
    if (dce(f, 1) >= 0)
        return; /* no GEN, nothing to fuse: a round would only remove dead code */
    for (int round = 0; round < 64; round++) {
        Uses U;
        U.uses = arena_alloc(f->arena, sizeof(int) * (size_t)(f->v.n + 1));
        U.user = arena_alloc(f->arena, sizeof(Ref) * (size_t)(f->v.n + 1));
        count_uses(f, f->body, &U);
        for (int i = 0; i < f->out.n; i++)
            U.uses[f->out.p[i].ref] += 2;
        int nv = f->v.n, cap = 4 * nv + 4096;
        Ref *repl = arena_alloc(f->arena, sizeof(Ref) * (size_t)cap);
        Ref *map = arena_alloc(f->arena, sizeof(Ref) * (size_t)cap);
        for (int i = 0; i < cap; i++)
            repl[i] = map[i] = NOREF;
        int n = fuse_region(f, f->body, &U, repl, map, cap);
        if (n)
            rewrite(f, repl);
        arena_drop(f->arena, repl, sizeof(Ref) * (size_t)cap);
        arena_drop(f->arena, map, sizeof(Ref) * (size_t)cap);
        arena_drop(f->arena, U.uses, sizeof(int) * (size_t)(nv + 1));
        arena_drop(f->arena, U.user, sizeof(Ref) * (size_t)(nv + 1));
        opt_dce(f);
        if (!n)
            break;
    }
}

/* ---------------- stores instead of accumulation ---------------- */

/* nacc[z]: how many ACCs write buffer z; acc[z]: the first of them in
 * program order. */
static void find_accs(Fn *f, Region *r, int *nacc, Ref *acc)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        if (in->op == OP_ACC && !nacc[in->arg[0]]++)
            acc[in->arg[0]] = id;
        if (in->op == OP_IF) {
            find_accs(f, in->x->reg[0], nacc, acc);
            find_accs(f, in->x->reg[1], nacc, acc);
        }
        if (has_body(in))
            find_accs(f, in->x->reg[0], nacc, acc);
    }
}

/* Does instruction id, or anything inside it, use z (other than skip)? */
static int uses(const Fn *f, Ref id, Ref z, Ref skip)
{
    const Inst *in = &f->v.p[id];
    if (id == skip)
        return 0;
    for (int k = 0; k < 3; k++)
        if (in->arg[k] == z)
            return 1;
    if (in->op == OP_LIT || in->op == OP_FOR)
        for (int k = 0; k < in->nix; k++)
            if (in->x->list[k] == z)
                return 1;
    for (int s = 0; s < 2; s++) {
        const Region *r = in->x->reg[s];
        if (!r || (s == 1 && in->op != OP_IF))
            continue;
        for (int i = 0; i < r->yield.n; i++)
            if (r->yield.p[i] == z)
                return 1;
        for (int i = 0; i < r->ids.n; i++)
            if (uses(f, r->ids.p[i], z, skip))
                return 1;
    }
    return 0;
}

/* Is ACC a (writing every element of z once, see writes_each_once) the
 * first thing to touch z: nothing between z and a's outermost loop, and
 * nothing else inside that loop, uses z? */
static int touches_first(const Fn *f, Ref z, Ref a)
{
    const Region *zr = f->v.p[z].parent;
    Ref outer = a;
    while (f->v.p[outer].parent != zr)
        outer = f->v.p[outer].parent->owner;
    int i = 0;
    while (zr->ids.p[i] != z)
        i++;
    for (i++; zr->ids.p[i] != outer; i++)
        if (uses(f, zr->ids.p[i], z, NOREF))
            return 0;
    return !uses(f, outer, z, a);
}

/* Does the ACC write every element of its buffer exactly once?  It must
 * sit in a nest of LOOPs, right inside the buffer's region, that runs
 * each dimension d over 0..dim[d] with index [iv_0, ..., iv_{r-1}]. */
static int writes_each_once(Fn *f, Ref a)
{
    Inst *in = &f->v.p[a];
    Inst *z = &f->v.p[in->arg[0]];
    Ref ivs[DX_MAXRANK];
    int n = 0;
    for (Region *r = in->parent; r != z->parent; ) {
        if (r->owner == NOREF || f->v.p[r->owner].op != OP_LOOP)
            return 0;
        Inst *l = &f->v.p[r->owner];
        int nv = l->nix;
        if (n + nv > z->ty.rank)
            return 0;
        /* prepend this loop's ivars (we walk inner to outer) */
        for (int k = n - 1; k >= 0; k--)
            ivs[k + nv] = ivs[k];
        for (int d = 0; d < nv; d++) {
            if (l->x->ix[d].n || l->x->ix[nv + d].n)
                return 0;
            ivs[d] = ir_ivar(f, r->owner, d);
        }
        n += nv;
        r = l->parent;
    }
    if (n != z->ty.rank)
        return 0;
    for (int d = 0; d < n; d++) {
        Inst *l = &f->v.p[f->v.p[ivs[d]].parent->owner];
        int k = f->v.p[ivs[d]].n;
        if (l->x->ix[k].c != 0 || l->x->ix[l->nix + k].c != ty_dim(z->ty, d))
            return 0;
        Aff x = in->x->ix[d];
        if (x.n != 1 || x.a[0] != 1 || x.c != 0 || x.iv[0] != ivs[d] || x.nq)
            return 0;
    }
    return 1;
}

void opt_store(Fn *f)
{
    int *nacc = arena_alloc(f->arena, sizeof(int) * (size_t)(f->v.n + 1));
    Ref *acc = arena_alloc(f->arena, sizeof(Ref) * (size_t)(f->v.n + 1));
    find_accs(f, f->body, nacc, acc);
    for (int z = 0; z < f->v.n; z++) {
        if (!nacc[z] || f->v.p[z].op != OP_ZEROS)
            continue;
        /* the only write, or the first (x_bar[i] = ...; x_bar[i] +=
         * ...), and nothing reads the zeros before it */
        if (writes_each_once(f, acc[z]) && touches_first(f, z, acc[z])) {
            f->v.p[acc[z]].flags |= IF_STORE;
            f->v.p[z].flags |= IF_NOINIT;
        }
    }
    arena_drop(f->arena, nacc, sizeof(int) * (size_t)(f->v.n + 1));
    arena_drop(f->arena, acc, sizeof(Ref) * (size_t)(f->v.n + 1));
}
