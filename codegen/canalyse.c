/*
 * canalyse.c - how one generated C function will read, decided before a
 * line of it is written (cg_prepare):
 *
 *  - An unnamed value used once, in its own region, is written inline in
 *    its user's expression; a value with a source name (z, p_bar) gets a
 *    statement of its own, so the code reads like the model.  A value is
 *    never inlined into another region: one defined outside a loop is a
 *    variable, not recomputed at every iteration.  (cvars.c answers the
 *    question, cg_inlined, from the counts and marks made here.)
 *  - Adjoint accumulations (an ADD marked acc whose left operand is the
 *    running sum) become `x_bar += ...` on one variable.
 *  - A gradient output computed at the top level and used nowhere else is
 *    accumulated in place through its pointer (`*x_bar = ...`); an array
 *    output is computed straight into the caller's array.
 *  - A value computed in a branch only to be yielded is computed into the
 *    if's result variable (for arrays: its array, with no copy).
 *  - Names come from the source, made unique against each other, C
 *    keywords, the C library and the file's function names, in the order
 *    a reader meets them.
 *  - A for loop's carried variable is one variable, which its initial and
 *    new values share where nothing can tell (cfor.c).
 *  - Every other array is a local array, with its place in the workspace
 *    (its offset is used only by the _ws variants).
 *
 * Arrays are mutable only as ZEROS buffers (ACC adds to an element).  A
 * read of such a buffer (IDX) is inlined only if no ACC to the buffer
 * comes between the read and the statement it is written into, so no
 * read moves across an accumulation; a read of a rank-0 cell after its
 * last ACC is the cell's variable itself.
 */
#include "cgen.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- analysis ---------------- */


int cg_is_loop(const Inst *in)
{
    return in->op == OP_GEN || in->op == OP_RED || in->op == OP_LOOP || in->op == OP_FOR;
}

static int within(const Fn *f, const Region *inner, const Region *outer)
{
    for (const Region *r = inner; r;) {
        if (r == outer)
            return 1;
        if (r->owner == NOREF)
            return 0;
        r = f->v.p[r->owner].parent;
    }
    return 0;
}

/* f's body is its only region (no branch, no loop): every value is in
 * it, so no table need say where a value is read or its region ends. */
static int one_region(const Cg *c)
{
    return !c->has_loops && !c->has_ifs;
}

/* The position after the region of v. */
static int region_end(const Cg *c, Ref v)
{
    return c->region_end ? c->region_end[v] : c->body_end;
}

/* A read of v by `user` (NOREF: a yield or an output) at position pos;
 * read == 0 only notes where v must be visible (an ACC's buffer). */
static void count_use(Cg *c, Ref v, const Region *where, Ref user, int pos, int read)
{
    v = cg_resolve(c, v);
    if (v == NOREF)
        return;
    if (read) {
        c->uses[v]++;
        if (c->use_reg)
            c->use_reg[v] = where;
        c->user[v] = user;
        c->use_pos[v] = pos;
        if (user == NOREF && c->last_read && pos > c->last_read[v])
            c->last_read[v] = pos; /* a yield or an output: where it is read */
    }
    /* (in one region the operand's instruction, seldom in the cache,
     * need not be read) */
    if (!one_region(c) && !within(c->f, where, c->f->v.p[v].parent)) {
        c->hoist[v] = 1;
        if (!c->has_loops)
            return; /* the check below walks the region chain: O(depth) */
        /* only an if's regions share their values with later ifs; a loop's
         * body is gone when the loop ends (a tape must carry its values) */
        for (const Region *r = c->f->v.p[v].parent; r && !within(c->f, where, r);
             r = c->f->v.p[r->owner].parent)
            if (cg_is_loop(&c->f->v.p[r->owner]))
                BUG("cgen: a value is read outside the loop that computes it");
    }
}

/* A max's or min's element (its ties are found by computing it again
 * and comparing it with the extremum), and an operand of == or !=, is a
 * variable, and so is every operation of its region that it reads, each
 * term of a sum (or branch of an if) it is the result of, each element
 * of an array it reads that a GEN computes in the same place, and each
 * value stored in a tape it reads back (guard_buffer_reads, tie_tape):
 * each is rounded to its type where it is assigned, whichever function
 * and loop computes it.  Where C computes in a wider type
 * (FLT_EVAL_METHOD 2: the x87), an expression keeps the wider precision
 * until it is assigned, and an element written in one expression in the
 * loop that finds the maximum, and in two (a part kept in a tape, or
 * read by a tangent) in the loop that counts the ties, would differ in
 * its last bits. */
static void force_rounded(Cg *c, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    if (c->force[v] || in->ty.kind != TY_REAL || in->ty.rank != 0)
        return;
    if (in->op == OP_IDX) { /* an element of an array a GEN computes here */
        Ref b = cg_resolve(c, in->arg[0]);
        const Inst *a = &c->f->v.p[b];
        const Inst *own = a->op == OP_RESULT && a->parent == in->parent ? &c->f->v.p[a->arg[0]] : NULL;
        if (own && own->op == OP_GEN && a->n < own->x->reg[0]->yield.n)
            force_rounded(c, cg_resolve(c, own->x->reg[0]->yield.p[a->n]));
        if (a->op == OP_ZEROS) { /* or read back from a tape: what its stores write */
            if (!c->tie_tape)
                c->tie_tape = arena_alloc(c->A, c->ntab);
            c->ntie_tape += !c->tie_tape[b];
            c->tie_tape[b] = 1;
        }
        return;
    }
    if (in->op == OP_RESULT) {
        const Inst *own = &c->f->v.p[in->arg[0]];
        if (own->op == OP_RED || own->op == OP_IF)
            for (int side = 0; side < (own->op == OP_IF ? 2 : 1); side++) {
                const Region *r = own->x->reg[side];
                if (in->n < r->yield.n)
                    force_rounded(c, cg_resolve(c, r->yield.p[in->n]));
            }
        return;
    }
    if (op_info[in->op].kind != K_ARITH && op_info[in->op].kind != K_MATH)
        return;
    c->force[v] = 1;
    for (int k = 0; k < op_info[in->op].nargs; k++) {
        Ref a = cg_resolve(c, in->arg[k]);
        if (c->f->v.p[a].parent == in->parent)
            force_rounded(c, a);
    }
}

static void analyse_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (i + IR_AHEAD < r->ids.n && !one_region(c))
            ir_prefetch_args(f, &f->v.p[r->ids.p[i + IR_AHEAD]]); /* count_use's */
        int at = c->pos[id] = ++c->npos;
        for (int k = 0; k < op_info[in->op].nargs && in->op != OP_RESULT; k++)
            count_use(c, in->arg[k], r, id, at, !(in->op == OP_ACC && k == 0));
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int k = 0; k < in->nix; k++)
                count_use(c, in->x->list[k], r, id, at, 1);
        vec_push(c->A, &c->order, id);
        switch (in->op) {
        case OP_IF:
            analyse_region(c, in->x->reg[0]);
            analyse_region(c, in->x->reg[1]);
            break;
        case OP_GEN:
        case OP_RED:
        case OP_LOOP:
        case OP_FOR:
            analyse_region(c, in->x->reg[0]);
            /* `if (t > m) m = t;` reads t twice */
            if (in->op == OP_RED && (in->red == RK_MAX || in->red == RK_MIN))
                for (int k = 0; k < in->x->reg[0]->yield.n; k++)
                    force_rounded(c, cg_resolve(c, in->x->reg[0]->yield.p[k]));
            break;
        case OP_RELU:
        case OP_SIGN:
        case OP_MIN:
        case OP_MAX:
            for (int k = 0; k < op_info[in->op].nargs; k++)
                c->force[cg_resolve(c, in->arg[k])] = 1;
            break;
        case OP_POWI:
            if (in->n == 2 || in->n == 3 || in->n == -2)
                c->force[cg_resolve(c, in->arg[0])] = 1;
            break;
        case OP_EQ:
        case OP_NE:
            for (int k = 0; k < 2; k++)
                force_rounded(c, cg_resolve(c, in->arg[k]));
            break;
        default:
            break;
        }
    }
    int end = ++c->npos;
    if (c->region_end)
        for (int i = 0; i < r->ids.n; i++)
            c->region_end[r->ids.p[i]] = end;
    else
        c->body_end = end; /* the one region */
    if (r->owner != NOREF && c->has_loops)
        c->branch_end[r->side ? 1 : 0][r->owner] = end;
    int loop = r->owner != NOREF && f->v.p[r->owner].op != OP_IF;
    for (int i = 0; i < r->yield.n; i++) {
        count_use(c, r->yield.p[i], r, NOREF, end, 1);
        if (loop)
            c->loop_yield[cg_resolve(c, r->yield.p[i])] = 1;
    }
}

static int is_bool(const Cg *c, Ref v)
{
    return c->f->v.p[v].ty.kind == TY_BOOL;
}

/* The operands of a condition written in several places are variables,
 * so that writing it again does not compute them again (nested
 * conditions' operands are cheap and stay inline, unless they read a
 * buffer).  A condition written in another region than its own has all
 * its operands as variables: it must read the values of its own place. */
static void force_operands(Cg *c, Ref b, int top, int all, const Region *where)
{
    const Inst *in = &c->f->v.p[b];
    for (int k = 0; k < op_info[in->op].nargs; k++) {
        Ref a = cg_resolve(c, in->arg[k]);
        const Inst *ia = &c->f->v.p[a];
        if (is_bool(c, a)) {
            force_operands(c, a, 0, all, where);
        } else if (all || top ||
                   (ia->op == OP_IDX && c->f->v.p[cg_resolve(c, ia->arg[0])].op == OP_ZEROS)) {
            c->force[a] = 1;
            /* written again where the condition is read, in another
             * region: declared where that region sees it */
            if (all && ia->op != OP_PARAM && !within(c->f, where, ia->parent))
                c->hoist[a] = 1;
        }
    }
}

static void force_bool_operands(Cg *c, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &c->f->v.p[id];
        if (in->op == OP_IF) {
            force_bool_operands(c, in->x->reg[0]);
            force_bool_operands(c, in->x->reg[1]);
        } else if (cg_is_loop(in)) {
            force_bool_operands(c, in->x->reg[0]);
        }
        if (!is_bool(c, id) || !c->uses[id])
            continue;
        if (cg_use_reg(c, id) != in->parent)
            force_operands(c, id, 1, 1, cg_use_reg(c, id));
        else if (c->uses[id] > 1)
            force_operands(c, id, 1, 0, in->parent);
    }
}

/* The position of the statement an inlined value is written into. */
static int written_at(const Cg *c, Ref v)
{
    for (;;) {
        Ref u = c->user[v];
        if (u == NOREF || !cg_inlined(c, u))
            return c->use_pos[v];
        v = u;
    }
}

/* The position of the first ACC to buffer b after position pos (INT_MAX
 * if none). */
static int first_acc_after(const Cg *c, Ref b, int pos)
{
    int lo = c->acc_start[b], hi = c->acc_start[b + 1], end = hi;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (c->acc_pos[mid] <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end ? c->acc_pos[lo] : INT_MAX;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* p[0..n) in increasing order.  A buffer's ACCs are mostly made in the
 * order they run (x_bar's in a large gradient: hundreds of thousands),
 * so a look first spares the sort. */
static void sort_ints(int *p, int n)
{
    for (int i = 1; i < n; i++)
        if (p[i] < p[i - 1]) {
            qsort(p, (size_t)n, sizeof(int), cmp_int);
            return;
        }
}

/* An inlined read of a ZEROS buffer must not pass an ACC to it.  One walk
 * over the instructions lists the ACCs and the reads of buffers; the
 * rest looks at those alone (in a large function most values are
 * neither, and each walk over its instructions costs a cache line per
 * instruction). */
static void guard_buffer_reads(Cg *c)
{
    const Fn *f = c->f;
    int n = f->v.n;
    VEC(Ref) accs = {0}, reads = {0};
    for (Ref v = 0; v < n; v++) {
        const Inst *in = &f->v.p[v];
        if (in->op == OP_ACC)
            vec_push(c->A, &accs, v);
        else if (in->op == OP_IDX && f->v.p[cg_resolve(c, in->arg[0])].op == OP_ZEROS)
            vec_push(c->A, &reads, v);
    }
    int nacc = accs.n;
    /* the values stored in a tape that a rounded value reads back, until
     * rounding them meets no other tape */
    for (int seen = -1; c->tie_tape && seen != c->ntie_tape;) {
        seen = c->ntie_tape;
        for (int i = 0; i < nacc; i++)
            if (c->tie_tape[cg_resolve(c, f->v.p[accs.p[i]].arg[0])])
                force_rounded(c, cg_resolve(c, f->v.p[accs.p[i]].arg[1]));
    }
    if (c->tie_tape)
        arena_drop(c->A, c->tie_tape, c->ntab);
    c->tie_tape = NULL;
    /* each buffer's ACC positions, in program order: counted, then placed */
    c->acc_start = arena_alloc(c->A, sizeof(int) * (size_t)(n + 2));
    c->acc_pos = arena_alloc(c->A, sizeof(int) * (size_t)(nacc + 1));
    for (int i = 0; i < nacc; i++)
        c->acc_start[f->v.p[accs.p[i]].arg[0] + 1]++;
    for (Ref v = 0; nacc && v < n; v++)
        c->acc_start[v + 1] += c->acc_start[v];
    int *fill = nacc ? arena_alloc(c->A, sizeof(int) * (size_t)(n + 1)) : NULL;
    for (int i = 0; i < nacc; i++) {
        Ref b = f->v.p[accs.p[i]].arg[0];
        int at = c->acc_start[b], count = c->acc_start[b + 1] - at;
        c->acc_pos[at + fill[b]++] = c->pos[accs.p[i]];
        if (fill[b] == count && count > 1) /* the buffer's last: its positions in order */
            sort_ints(c->acc_pos + at, count);
    }
    for (int i = 0; i < reads.n; i++) {
        Ref v = reads.p[i];
        const Inst *in = &f->v.p[v];
        Ref b = cg_resolve(c, in->arg[0]);
        /* a read of a rank-0 cell after its last ACC is the cell itself */
        if (!in->nix && first_acc_after(c, b, c->pos[v]) >= region_end(c, v)) {
            c->frozen[v] = 1;
            continue;
        }
        if (!cg_inlined(c, v))
            continue;
        if (first_acc_after(c, b, c->pos[v]) < written_at(c, v))
            c->force[v] = 1;
    }
    /* nothing asks about ACCs again: hand the tables back */
    arena_drop(c->A, c->acc_start, sizeof(int) * (size_t)(n + 2));
    if (fill)
        arena_drop(c->A, fill, sizeof(int) * (size_t)(n + 1));
    arena_drop(c->A, c->acc_pos, sizeof(int) * (size_t)(nacc + 1));
    c->acc_start = c->acc_pos = NULL;
    arena_drop(c->A, accs.p, sizeof(Ref) * (size_t)accs.cap);
    arena_drop(c->A, reads.p, sizeof(Ref) * (size_t)reads.cap);
}

/* x_bar = ...; x_bar += ...: an accumulating ADD whose running sum is
 * used only here shares its variable. */
static void chain_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_IF) {
            chain_region(c, in->x->reg[0]);
            chain_region(c, in->x->reg[1]);
            continue;
        }
        if (cg_is_loop(in)) {
            chain_region(c, in->x->reg[0]);
            continue;
        }
        if (!ir_is_acc(in) || cg_inlined(c, id))
            continue;
        Ref a = cg_resolve(c, in->arg[0]);
        const Inst *ia = &f->v.p[a];
        if (cg_inlined(c, a) || ia->op == OP_PARAM || ia->op == OP_ZEROS ||
            c->uses[a] != 1 || ia->parent != in->parent || !ia->name || !in->name ||
            strcmp(ia->name, in->name))
            continue;
        c->var[id] = cg_var_of(c, a);
        if (c->hoist[id])
            c->hoist[cg_var_of(c, a)] = 1;
    }
}

/* A value computed in a branch only to be yielded is computed straight
 * into the if's result variable (an array into the result's array). */
static void share_yields(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (cg_is_loop(in))
            share_yields(c, in->x->reg[0]);
        if (in->op != OP_IF)
            continue;
        int nr = ir_nresults(f, r, i);
        for (int j = 0; j < nr; j++) {
            Ref res = r->ids.p[i + 1 + j];
            for (int s = 0; s < 2; s++) {
                const Region *b = in->x->reg[s];
                Ref y = cg_resolve(c, b->yield.p[f->v.p[res].n]);
                if (f->v.p[y].parent != b || c->uses[y] != 1 || cg_inlined(c, y) ||
                    f->v.p[y].op == OP_PARAM || f->v.p[y].ty.rank != f->v.p[res].ty.rank)
                    continue;
                Ref root = cg_var_of(c, y);
                if (f->v.p[root].parent == b && !c->hoist[root] && root != res)
                    c->var[root] = res;
            }
        }
        share_yields(c, in->x->reg[0]);
        share_yields(c, in->x->reg[1]);
    }
}

/* ---------------- names and storage ---------------- */

/* Whether name_one gives v a name: a value with a variable of its own
 * that is read (or a result or a zeroed buffer), not written inline, not
 * named yet. */
static inline int to_name(const Cg *c, Ref v)
{
    if (cg_inlined(c, v) || c->cname[v] || cg_var_of(c, v) != v) /* most values: the first */
        return 0;
    const Inst *in = &c->f->v.p[v];
    return in->op != OP_NODIFF && (c->uses[v] || in->op == OP_RESULT || in->op == OP_ZEROS);
}

/* Whether that name is looked up in the table of local names: all but
 * the temporaries t1, t2, ... (cg_unique_tmp). */
static inline int listed_name(const Cg *c, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    return in->name || in->op == OP_RESULT || (c->hint && c->hint[v]);
}

/* Names variables in the order a reader meets them; an if's or a loop's
 * results first, as they are declared before it. */
static void name_one(Cg *c, Ref v)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[v];
    if (!to_name(c, v))
        return;
    if (!in->name && c->hint && c->hint[v]) { /* named after the loop variable it becomes */
        c->cname[v] = cg_unique(c, &c->locals, c->hint[v]);
        return;
    }
    const char *base = ir_shown_name(c->A, in);
    if (!base && f->out.n && v == cg_resolve(c, f->out.p[0].ref) && f->out.p[0].role == OUT_RETURN)
        base = "y"; /* the value, as in the explainer's y = x^2 */
    if (!base && in->op == OP_RESULT && f->v.p[in->arg[0]].op == OP_RED)
        base = (const char *[]){"s", "p", "m", "m"}[f->v.p[in->arg[0]].red];
    if (!base)
        c->cname[v] = cg_unique_tmp(c);
    else
        c->cname[v] = cg_unique(c, &c->locals, in->role == ROLE_TANGENT ? arena_name(c->A, base, "_dot", -1) : base);
}

/* A carried variable is named after the loop's result, or the CARRY, or
 * its new value, or its initial value, whichever has a source name. */
static void name_carried(Cg *c, Ref id)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    for (int j = 0; j < in->nix; j++) {
        Ref root = cg_var_of(c, ir_carry(f, id, j));
        if (c->cname[root] || !cg_owns(c, id, root))
            continue;
        const char *base = cg_carried_name(c, id, j);
        c->cname[root] = base ? cg_unique(c, &c->locals, base) : cg_unique_tmp(c);
    }
}

/* Asks for the slot of the local table where in's name will be looked
 * up (cg_unique), when it is its source name or that name's tangent
 * (name_region asks IR_AHEAD values ahead): in a large function the table
 * is far larger than the cache, and each name missed it once. */
static void prefetch_name(const Cg *c, const Inst *in)
{
    if (!in->name || !c->locals.cap || ir_is_tape(in))
        return;
    unsigned h = dx_hash(in->name);
    if (in->role == ROLE_TANGENT)
        h = dx_hash_on(h, "_dot");
    ir_prefetch(&c->locals.slot[h & (unsigned)(c->locals.cap - 1)]);
}

static void name_region(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (i + IR_AHEAD < r->ids.n)
            prefetch_name(c, &f->v.p[r->ids.p[i + IR_AHEAD]]);
        if (in->op == OP_FOR) {
            name_carried(c, id);
            name_region(c, in->x->reg[0]);
        } else if (in->op == OP_IF || cg_is_loop(in)) {
            int nr = ir_nresults(f, r, i);
            for (int j = 0; j < nr; j++)
                name_one(c, r->ids.p[i + 1 + j]);
            name_region(c, in->x->reg[0]);
            if (in->op == OP_IF)
                name_region(c, in->x->reg[1]);
        } else if (in->op != OP_PARAM && in->op != OP_IVAR) {
            name_one(c, id);
        }
    }
}

/* Array outputs are computed in the caller's array when their variable
 * is at the top level and not already another output's; scalar outputs
 * used nowhere else go through their pointer. */
static void place_outputs(Cg *c)
{
    const Fn *f = c->f;
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    for (int i = ret; i < f->out.n; i++) {
        Ref v = cg_resolve(c, f->out.p[i].ref);
        const Inst *in = &f->v.p[v];
        if (f->out.p[i].ty.rank) {
            Ref root = cg_var_of(c, v);
            if (!in->ty.rank || f->v.p[root].op == OP_PARAM || f->v.p[root].parent != f->body ||
                c->store[root] != ST_NONE)
                continue;
            c->store[root] = ST_OUT;
            c->cname[root] = c->out_names[i];
            c->in_place[i] = 1;
            c->bar[root] = f->out.p[i].role == OUT_BAR;
            continue;
        }
        if (cg_inlined(c, v) || in->op == OP_PARAM || c->uses[v] != 1 || in->parent != f->body ||
            c->cname[cg_var_of(c, v)] || c->carried[cg_var_of(c, v)])
            continue;
        c->cname[cg_var_of(c, v)] = arena_printf(c->A, "*%s", c->out_names[i]);
        c->in_place[i] = 1;
        c->bar[cg_var_of(c, v)] = f->out.p[i].role == OUT_BAR;
    }
}

/* An array an if only picks (y = if c then x else z, both computed before
 * it and never changed) is a pointer to one of them, not a copy. */
static int pickable(const Cg *c, Ref y, Ref ifi)
{
    const Fn *f = c->f;
    Ref root = cg_var_of(c, cg_resolve(c, y));
    const Inst *in = &f->v.p[root];
    if (!in->ty.rank || within(f, in->parent, f->v.p[ifi].x->reg[0]) ||
        within(f, in->parent, f->v.p[ifi].x->reg[1]))
        return 0;
    if (c->carried[root])
        return 0; /* a loop writes it */
    return in->op == OP_PARAM || in->op == OP_LIT || c->store[root] == ST_PTR ||
           (in->op == OP_RESULT && f->v.p[in->arg[0]].op == OP_GEN);
}

static void point_results(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (cg_is_loop(in))
            point_results(c, in->x->reg[0]);
        if (in->op != OP_IF)
            continue;
        point_results(c, in->x->reg[0]);
        point_results(c, in->x->reg[1]);
        for (int j = 0; j < ir_nresults(f, r, i); j++) {
            Ref res = r->ids.p[i + 1 + j];
            int k = f->v.p[res].n;
            if (f->v.p[res].ty.rank && cg_var_of(c, res) == res && !c->hoist[res] && !c->carried[res] &&
                c->store[res] == ST_NONE && pickable(c, in->x->reg[0]->yield.p[k], id) &&
                pickable(c, in->x->reg[1]->yield.p[k], id))
                c->store[res] = ST_PTR;
        }
    }
}

/* Every other array variable that is read or written is a local array:
 * its place in the workspace, in program order. */
static void place_locals(Cg *c, const Region *r)
{
    const Fn *f = c->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_IF) {
            place_locals(c, in->x->reg[0]);
            place_locals(c, in->x->reg[1]);
        } else if (cg_is_loop(in)) {
            place_locals(c, in->x->reg[0]);
        }
        if (in->op == OP_GEN && !c->ws && cg_fills_by_select(c, id, r->ids.p[i + 1]))
            for (int j = 0; j < ir_nresults(f, r, i); j++) {
                if (!c->zeroed)
                    c->zeroed = arena_alloc(c->A, c->ntab);
                c->zeroed[cg_var_of(c, r->ids.p[i + 1 + j])] = 1;
            }
        Ref root = cg_var_of(c, id);
        if (!in->ty.rank || in->op == OP_PARAM || in->op == OP_NODIFF || in->op == OP_IF ||
            cg_is_loop(in) || c->store[root] != ST_NONE ||
            !(in->op == OP_ZEROS || c->read[root] || c->carried[root]))
            continue;
        c->store[root] = ST_LOCAL;
        if (!c->off) /* made by the first: most values own no array */
            c->off = arena_alloc(c->A, sizeof(long long) * c->ntab);
        c->off[root] = c->frame;
        long long n = ty_size(f->v.p[root].ty);
        c->frame += n;
    }
}

/* ---------------- the phases, in order ---------------- */

/* The previous function's tables, handed back: nothing reads them once
 * the next function is prepared, and they are as large as its IR. */
static void drop_tables(Cg *c)
{
    Arena *A = c->A;
    size_t n = c->ntab;
    if (!n)
        return;
    void *one[] = {c->nodiff, c->force, c->frozen, c->hoist, c->loop_yield, c->store,
                   c->bar, c->read, c->carried, c->inlined, c->tape_rows};
    void *four[] = {c->uses, c->user, c->pos, c->use_pos, c->region_end, c->branch_end[0],
                    c->branch_end[1], c->last_read, c->var, c->order_at, c->class_last,
                    c->carry_result};
    void *ptr[] = {(void *)c->use_reg, (void *)c->hint, (void *)c->stop_n, (void *)c->cname};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++)
        arena_drop(A, one[i], n);
    for (size_t i = 0; i < sizeof four / sizeof four[0]; i++)
        arena_drop(A, four[i], 4 * n);
    for (size_t i = 0; i < sizeof ptr / sizeof ptr[0]; i++)
        arena_drop(A, ptr[i], sizeof(void *) * n);
    arena_drop(A, c->off, sizeof(long long) * n);
    if (c->zeroed)
        arena_drop(A, c->zeroed, n);
    arena_drop(A, c->order.p, sizeof(Ref) * (size_t)c->order.cap);
    c->order.p = NULL;
    c->order.n = c->order.cap = 0;
    arena_drop(A, c->locals.slot, sizeof(NameSlot) * (size_t)c->locals.cap);
    arena_collect(A); /* the old copies of the vectors the function grew */
    c->ntab = 0;
    c->nodiff = NULL;
}

void cg_release(Cg *c)
{
    drop_tables(c);
}

/* Every per-value table of the analysis, zeroed (each value its own
 * variable), and the rest of the per-function state reset. */
static void alloc_tables(Cg *c)
{
    const Fn *f = c->f;
    Arena *A = c->A;
    drop_tables(c);
    memset(&c->locals, 0, sizeof c->locals);
    c->locals.a = A;
    c->suffix_key = NULL;
    c->suffix_val = NULL;
    c->suffix_cap = c->nsuffix = 0;
    size_t n = (size_t)f->v.n + 1;
    c->uses = arena_alloc(A, sizeof(int) * n);
    c->user = arena_alloc(A, sizeof(Ref) * n);
    c->pos = arena_alloc(A, sizeof(int) * n);
    c->use_pos = arena_alloc(A, sizeof(int) * n);
    c->npos = 0;
    c->force = arena_alloc(A, n);
    c->frozen = arena_alloc(A, n);
    /* each value its own variable, and whether f has a loop or an if:
     * one pass */
    c->var = arena_alloc(A, sizeof(Ref) * n);
    c->nodiff = arena_alloc(A, n);
    c->has_loops = c->has_ifs = 0;
    for (Ref v = 0; v < f->v.n; v++) {
        c->var[v] = v;
        c->nodiff[v] = f->v.p[v].op == OP_NODIFF;
        c->has_loops |= cg_is_loop(&f->v.p[v]);
        c->has_ifs |= f->v.p[v].op == OP_IF;
    }
    /* in one region every read is in the body (cg_use_reg, region_end) */
    c->use_reg = one_region(c) ? NULL : arena_alloc(A, sizeof(Region *) * n);
    c->region_end = one_region(c) ? NULL : arena_alloc(A, sizeof(int) * n);
    c->body_end = 0;
    /* the tables only for loops (for loops' carried variables, cfor.c),
     * none in a function without: they are a fifth of the memory */
    c->branch_end[0] = c->has_loops ? arena_alloc(A, sizeof(int) * n) : NULL;
    c->branch_end[1] = c->has_loops ? arena_alloc(A, sizeof(int) * n) : NULL;
    c->hoist = arena_alloc(A, n);
    c->loop_yield = arena_alloc(A, n);
    c->store = arena_alloc(A, n);
    c->bar = arena_alloc(A, n);
    c->read = arena_alloc(A, n);
    c->carried = arena_alloc(A, n);
    c->inlined = NULL;
    c->hint = c->has_loops ? arena_alloc(A, sizeof(char *) * n) : NULL;
    c->stop_n = c->has_loops ? arena_alloc(A, sizeof(char *) * n) : NULL;
    c->last_read = c->has_loops ? arena_alloc(A, sizeof(int) * n) : NULL; /* cfor.c's */
    /* room for every instruction at once: grown one doubling at a time,
     * f_hvp's list at 200 000 statements was made and copied 22 times */
    c->order.p = arena_alloc(A, sizeof(Ref) * n);
    c->order.cap = (int)n;
    c->order.n = 0;
    c->order_at = c->class_last = NULL; /* cg_share_carries makes them, if f has a for loop */
    c->carry_result = NULL;
    c->tape_rows = NULL;                  /* cg_body makes it, if f has loops */
    c->off = NULL; /* place_locals makes it */
    c->zeroed = NULL; /* and this */
    c->tie_tape = NULL; /* force_rounded makes it */
    c->ntie_tape = 0;
    c->frame = 0;
    c->acc_pos = NULL;
    c->cname = arena_alloc(A, sizeof(char *) * n);
    c->ntab = n;
    c->tmp = c->tmp_unlisted = c->t_named = 0;
}


static int has_return(const Fn *f)
{
    return f->out.n && f->out.p[0].role == OUT_RETURN;
}

/* The outputs are read after the body; a scalar filling an array output
 * is computed once. */
static void count_outputs(Cg *c)
{
    const Fn *f = c->f;
    for (int i = 0; i < f->out.n; i++) {
        count_use(c, f->out.p[i].ref, f->body, NOREF, ++c->npos, 1);
        if (i >= has_return(f) && f->out.p[i].ty.rank &&
            !f->v.p[cg_resolve(c, f->out.p[i].ref)].ty.rank)
            c->force[cg_resolve(c, f->out.p[i].ref)] = 1;
    }
}

/* A gradient computes the value in its forward pass, by name. */
static void force_value(Cg *c)
{
    const Fn *f = c->f;
    if ((f->kind == FN_GRAD || f->kind == FN_VJP) && has_return(f) &&
        f->v.p[cg_resolve(c, f->out.p[0].ref)].op != OP_CONST)
        c->force[cg_resolve(c, f->out.p[0].ref)] = 1;
}

/* Parameters, outputs and the workspace are named first: the prototype
 * shows the model's names. */
static void name_interface(Cg *c)
{
    const Fn *f = c->f;
    Arena *A = c->A;
    c->in_names = arena_alloc(A, sizeof(char *) * (size_t)(f->in.n + 1));
    c->out_names = arena_alloc(A, sizeof(char *) * (size_t)(f->out.n + 1));
    c->in_place = arena_alloc(A, (size_t)f->out.n + 1);
    for (int i = 0; i < f->in.n; i++)
        c->in_names[i] = cg_unique(c, &c->locals, f->in.p[i].name);
    for (int i = has_return(f); i < f->out.n; i++)
        c->out_names[i] = cg_unique(c, &c->locals, f->out.p[i].name);
    c->work = c->o->workspace ? cg_unique(c, &c->locals, "work") : NULL;
    c->params.n = 0;
    for (int i = 0; i < f->body->ids.n; i++) {
        Ref id = f->body->ids.p[i];
        if (f->v.p[id].op == OP_PARAM) {
            c->cname[id] = c->in_names[f->v.p[id].n];
            c->store[id] = ST_PARAM;
            vec_push(A, &c->params, id);
        }
    }
}

/* Every value takes its variable's name; a variable is read if any of its
 * values is. */
static void share_names(Cg *c)
{
    const Fn *f = c->f;
    for (Ref v = 0; v < f->v.n; v++) {
        if (!c->cname[v] && f->v.p[v].op != OP_IVAR)
            c->cname[v] = c->cname[cg_var_of(c, v)];
        if (c->uses[v])
            c->read[cg_var_of(c, v)] = 1;
    }
}

/* What cg_inlined says of every value, once nothing it reads changes
 * (naming does not), and room in the table of local names for the values
 * name_region may name: grown one doubling at a time, the table of
 * f_hvp at 200 000 statements was built six times over. */
static void keep_inlined(Cg *c)
{
    unsigned char *t = arena_alloc(c->A, c->ntab);
    long named = 0;
    c->inlined = t; /* each filled before to_name asks it */
    for (Ref v = 0; v < c->f->v.n; v++) {
        t[v] = (unsigned char)cg_inlined_now(c, v);
        named += to_name(c, v) && listed_name(c, v);
    }
    cg_names_reserve(&c->locals, named);
}

/* The tables only the analysis and cg_inlined_now read, freed once the
 * answers are kept and before the text of the function grows (a fifth
 * of the generator's memory); drop_tables skips them then. */
static void drop_analysis(Cg *c)
{
    size_t n = c->ntab;
    arena_drop(c->A, c->use_reg, sizeof(Region *) * n);
    arena_drop(c->A, c->user, sizeof(Ref) * n);
    arena_drop(c->A, c->use_pos, sizeof(int) * n);
    arena_drop(c->A, c->region_end, sizeof(int) * n);
    arena_drop(c->A, c->force, n);
    arena_drop(c->A, c->read, n);
    arena_drop(c->A, c->loop_yield, n);
    c->use_reg = NULL;
    c->user = c->use_pos = c->region_end = NULL;
    c->force = c->read = c->loop_yield = NULL;
}

void cg_prepare(Cg *c, const Fn *f, int ws)
{
    c->f = f;
    c->ws = ws;
    alloc_tables(c);                 /* and has_loops: count_use's scope check needs it */
    analyse_region(c, f->body);      /* positions, reads, regions' ends, forced values */
    count_outputs(c);                /* the outputs' reads, after the body */
    force_bool_operands(c, f->body); /* operands of conditions written twice */
    guard_buffer_reads(c);           /* no inlined read of a buffer passes an ACC */
    force_value(c);                  /* a gradient's value is a variable */
    chain_region(c, f->body);        /* x_bar = ...; x_bar += ... share a variable */
    if (c->has_ifs)
        share_yields(c, f->body);    /* a branch's yielded value: the if's variable */
    cg_share_carries(c);             /* for loops' carried variables (cfor.c) */
    name_interface(c);               /* parameters, outputs, the workspace */
    place_outputs(c);                /* outputs computed in the caller's memory */
    if (c->has_ifs)
        point_results(c, f->body);   /* an array an if only picks: a pointer */
    keep_inlined(c);                 /* the analysis is final: cg_inlined's answers */
    name_region(c, f->body);         /* every other variable, as a reader meets it */
    share_names(c);                  /* each value its variable's name; what is read */
    place_locals(c, f->body);        /* local arrays and their workspace offsets */
    drop_analysis(c);                /* and the tables only it read */
}

/* Whether restrict can matter in f's definition: it writes through a
 * pointer (an output that is not the return value, or the workspace) and
 * reads or writes an array.  A function of scalars keeps the plain
 * prototype a reader expects (double *x_bar). */
static int wants_restrict(const Fn *f, const char *extra)
{
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN, arrays = extra != NULL;
    for (int i = 0; i < f->in.n; i++)
        arrays |= f->in.p[i].ty.rank > 0;
    for (int i = ret; i < f->out.n; i++)
        arrays |= f->out.p[i].ty.rank > 0;
    return arrays && (extra || f->out.n > ret);
}

void cg_signature(Cg *c, const Fn *f, const char *name, const char *extra, int def, Str *s)
{
    int ret = f->out.n && f->out.p[0].role == OUT_RETURN;
    /* In a definition that writes memory, every pointer is restrict: the
     * interface promises that outputs overlap neither inputs nor each
     * other (C99 6.7.3.1), which lets the compiler keep an output in a
     * register across a loop and vectorise loops that write one.  The
     * header's prototypes leave it out: qualifiers of a parameter are not
     * part of the function's type (C99 6.7.5.3p15). */
    const char *rs = def && wants_restrict(f, extra) ? "restrict " : "";
    cg_putf(s, "%s %s(", ret ? cg_real_t(c) : "void", name);
    int first = 1;
    for (int i = 0; i < f->in.n; i++) {
        const Input *in = &f->in.p[i];
        cg_putf(s, "%s%s%s %s", first ? "" : ", ", in->ty.rank ? "const " : "", cg_real_t(c),
             c->in_names[i]);
        if (in->ty.rank) {
            cg_putf(s, "[%s", rs);
            for (int d = 0; d < in->ty.rank; d++)
                cg_putf(s, "%s%d", d ? " * " : "", (int)ty_dim(in->ty, d));
            cg_puts(s, "]");
        }
        first = 0;
    }
    for (int i = ret; i < f->out.n; i++) {
        const Output *o = &f->out.p[i];
        cg_putf(s, "%s%s %s%s%s", first ? "" : ", ", cg_real_t(c), o->ty.rank ? "" : "*",
                o->ty.rank ? "" : rs, c->out_names[i]);
        if (o->ty.rank) {
            cg_putf(s, "[%s", rs);
            for (int d = 0; d < o->ty.rank; d++)
                cg_putf(s, "%s%d", d ? " * " : "", (int)ty_dim(o->ty, d));
            cg_puts(s, "]");
        }
        first = 0;
    }
    if (extra) {
        cg_putf(s, "%s%s", first ? "" : ", ", extra);
        first = 0;
    }
    if (first)
        cg_puts(s, "void");
    cg_puts(s, ")");
}

/* out = v, *x_bar = v: output i when it was not computed in place. */
