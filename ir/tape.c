/*
 * tape.c - what the reverse sweep of a for loop or a sum reads back
 * instead of recomputing, and the tapes that hold it.
 *
 * The to-be-recorded analysis (Hascoet, Naumann and Pascual, TOMS 2005)
 * finds the non-lin values the reverse loop's derivatives read (seeded by
 * the lin code, closed over their operands within one iteration): the
 * carried values among them are recorded at the start of each iteration.
 * With --tape=fast, the expensive loops at the top of the body (a
 * reduction, a matvec GEN) are recorded too, one row per iteration
 * (Replay), and the reverse loop reads their rows back.  A tape is a
 * ZEROS buffer of [trip count, shape...] written by ACC stores at row
 * i - lo: static memory, no allocation; tape_read_row reads a row back.
 * Tapes are ROLE_TAPE, their writes and reads primal.
 */
#include "adjoint.h"

#include <stdlib.h>
#include <string.h>

typedef VEC(Ref) RefVec;

/* The non-lin values in region r (any depth) that lin code reads, and the
 * conditions of ifs: the reverse sweep needs them. */
static void seed_needed(const Fn *g, const Region *r, unsigned char *need, RefVec *work, Arena *A)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &g->v.p[r->ids.p[i]];
        if (in->op == OP_IF) {
            if (!need[in->arg[0]]) {
                need[in->arg[0]] = 1;
                vec_push(A, work, in->arg[0]);
            }
            seed_needed(g, in->x->reg[0], need, work, A);
            seed_needed(g, in->x->reg[1], need, work, A);
            continue;
        }
        if (ir_is_loop(in) || in->op == OP_FOR)
            seed_needed(g, in->x->reg[0], need, work, A);
        if (in->role != ROLE_TANGENT || in->op == OP_RESULT || in->op == OP_CARRY)
            continue;
        for (int k = 0; k < 3; k++) {
            Ref a = in->arg[k];
            if (a != NOREF && g->v.p[a].role != ROLE_TANGENT && !need[a]) {
                need[a] = 1;
                vec_push(A, work, a);
            }
        }
    }
}

/* Which non-lin carried values of FOR `id` its reverse loop needs: those
 * that the values lin code reads depend on, within one iteration (the
 * to-be-recorded analysis of Hascoet, Naumann and Pascual, TOMS 2005). */
void tape_needs_drop(const Fn *g, unsigned char *need)
{
    arena_drop(g->arena, need, (size_t)g->v.n + 1);
}

/* Is v inside the body of loop id (at any depth)? */
static int inside(const Fn *g, Ref v, Ref id)
{
    for (const Region *r = g->v.p[v].parent; r && r->owner != NOREF; r = g->v.p[r->owner].parent)
        if (r->owner == id)
            return 1;
    return 0;
}

/* The outermost loop whose body holds loop id, or id.  A value from
 * before it reads only values from before it: no loop around carries
 * one of them back into it. */
static Ref outermost_loop(const Fn *g, Ref id)
{
    Ref top = id;
    for (const Region *r = g->v.p[id].parent; r && r->owner != NOREF; r = g->v.p[r->owner].parent)
        if (g->v.p[r->owner].op != OP_IF)
            top = r->owner;
    return top;
}

unsigned char *tape_needs(const Fn *g, Ref id, unsigned char *stored)
{
    const Inst *in = &g->v.p[id];
    Arena *A = g->arena;
    unsigned char *need = arena_alloc(A, (size_t)g->v.n + 1);
    RefVec work = {0};
    seed_needed(g, in->x->reg[0], need, &work, A);
    /* a value from before the outermost loop around id is needed, but
     * what it reads is from before that loop too, of which nothing here
     * asks (only the body's values, and the carried values of loops
     * around id lead back into it): following it took time quadratic in
     * the number of loops */
    Ref top = outermost_loop(g, id);
    while (work.n) {
        Ref v = work.p[--work.n];
        if (!inside(g, v, top))
            continue;
        const Inst *x = &g->v.p[v];
        Ref deps[8];
        int nd = 0;
        for (int k = 0; k < 3; k++)
            if (x->arg[k] != NOREF)
                deps[nd++] = x->arg[k];
        if (x->op == OP_RESULT) {
            const Inst *o = &g->v.p[x->arg[0]];
            nd = 0;
            deps[nd++] = o->x->reg[0]->yield.p[x->n];
            if (o->op == OP_IF) {
                deps[nd++] = o->x->reg[1]->yield.p[x->n];
                deps[nd++] = o->arg[0];
            }
            if (o->op == OP_FOR)
                deps[nd++] = o->x->list[x->n];
        }
        if (x->op == OP_CARRY && x->parent->owner != id) {
            const Inst *o = &g->v.p[x->parent->owner];
            deps[nd++] = o->x->list[x->n];
            deps[nd++] = o->x->reg[0]->yield.p[x->n];
        }
        for (int k = 0; k < nd; k++) {
            Ref d = deps[k];
            if (g->v.p[d].role != ROLE_TANGENT && !need[d]) {
                need[d] = 1;
                vec_push(A, &work, d);
            }
        }
        if (x->op == OP_LIT)
            for (int k = 0; k < x->nix; k++)
                if (!need[x->x->list[k]]) {
                    need[x->x->list[k]] = 1;
                    vec_push(A, &work, x->x->list[k]);
                }
        /* a value inside a nested region needs what its region does */
        if (x->parent && x->parent->owner != NOREF && x->parent->owner != id) {
            const Inst *o = &g->v.p[x->parent->owner];
            Ref od = o->op == OP_IF ? o->arg[0] : NOREF;
            if (od != NOREF && !need[od]) {
                need[od] = 1;
                vec_push(A, &work, od);
            }
        }
    }
    for (int j = 0; in->op == OP_FOR && j < in->nix; j++)
        stored[j] = need[ir_carry(g, id, j)] && g->v.p[ir_carry(g, id, j)].role != ROLE_TANGENT;
    return need;
}

/* Is there a loop in region r (at any depth, through ifs)? */
static int has_loop(const Fn *g, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &g->v.p[r->ids.p[i]];
        if (ir_is_loop(in) || in->op == OP_FOR)
            return 1;
        if (in->op == OP_IF && (has_loop(g, in->x->reg[0]) || has_loop(g, in->x->reg[1])))
            return 1;
    }
    return 0;
}

/* Does region r (at any depth) call a transcendental function, which
 * costs tens of additions to recompute? */
static int has_call(const Fn *g, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &g->v.p[r->ids.p[i]];
        if (ir_costly_op(in->op))
            return 1;
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s] && has_call(g, in->x->reg[s]))
                return 1;
    }
    return 0;
}

static int cmp_ref(const void *a, const void *b)
{
    Ref x = *(const Ref *)a, y = *(const Ref *)b;
    return (x > y) - (x < y);
}

/* How many values of region r (at its top) lin code in it reads: the
 * element tapes of a GEN with body r. */
static int lin_reads(const Fn *g, const Region *r)
{
    RefVec v = {0};
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *u = &g->v.p[r->ids.p[i]];
        if (u->role != ROLE_TANGENT)
            continue;
        for (int k = 0; k < 3; k++)
            if (u->arg[k] != NOREF && g->v.p[u->arg[k]].parent == r &&
                g->v.p[u->arg[k]].role != ROLE_TANGENT)
                vec_push(g->arena, &v, u->arg[k]);
    }
    if (v.n)
        qsort(v.p, (size_t)v.n, sizeof(Ref), cmp_ref);
    int n = 0;
    for (int i = 0; i < v.n; i++)
        n += !i || v.p[i] != v.p[i - 1];
    return n;
}

/* Is a value in region r (at any depth) needed? */
static int needed_in(const Fn *g, const Region *r, const unsigned char *need)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &g->v.p[r->ids.p[i]];
        if (need[r->ids.p[i]])
            return 1;
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s] && needed_in(g, in->x->reg[s], need))
                return 1;
    }
    return 0;
}

/* The loops of FOR id's body whose rows its forward copy records (see
 * Replay): a reduction whose value the reverse loop needs (one number
 * per iteration instead of O(n) work), or a GEN with a loop inside (a
 * matvec) no larger than the loop's carried state whose values or
 * element tapes it needs (a few rows the size of the state instead of
 * O(n k) work), or, for a FOR, an elementwise GEN no larger than the
 * state that calls a transcendental function, while the rows of such
 * steps fit in keep bytes (recomputing a step costs as much as the
 * forward step; keeping it, a few loads: store or recompute by cost, as
 * in Griewank & Walther, "Evaluating Derivatives", 2008, ch. 12).
 * Every non-lin result of a replayed loop is recorded: the
 * recomputed body may read any of them.  The same for the body of a sum
 * RED id with fixed bounds (a sum over data points), its GENs' rows
 * together no larger than the function's inputs. */
unsigned char *tape_replayed(const Fn *g, Ref id, const unsigned char *need, long long keep)
{
    const Inst *in = &g->v.p[id];
    const Region *b = in->x->reg[0];
    unsigned char *rep = arena_alloc(g->arena, (size_t)b->ids.n + 1);
    long long state = 0, trip = (long long)in->x->ix[1].c - in->x->ix[0].c;
    if (in->op == OP_FOR) {
        for (int j = 0; j < in->nix; j++)
            if (g->v.p[ir_carry(g, id, j)].role != ROLE_TANGENT)
                state += ty_size(g->v.p[ir_carry(g, id, j)].ty);
    } else {
        /* a reduction: all its rows no larger than the inputs */
        for (int j = 0; j < g->in.n; j++)
            if (g->in.p[j].role != IN_TANGENT)
                state += ty_size(g->in.p[j].ty);
        state = trip > 0 ? state / trip : 0;
        if (in->x->ix[0].n || in->x->ix[1].n)
            return rep; /* bounds that move: no fixed number of rows */
    }
    for (int i = 0; i < b->ids.n; i++) {
        Ref v = b->ids.p[i];
        const Inst *x = &g->v.p[v];
        if (x->role == ROLE_TANGENT || (x->op != OP_GEN && x->op != OP_RED) || trip <= 0)
            continue;
        if (x->op == OP_GEN && ty_size(x->ty) > state)
            continue;
        if (x->op == OP_GEN && !has_loop(g, x->x->reg[0])) {
            /* an elementwise step: kept only if it calls exp, tanh, ...
             * and its rows (its results and the values its reverse loop
             * reads, each the GEN's size) fit what is left of keep */
            long long rows = ir_nresults(g, b, i) + lin_reads(g, x->x->reg[0]);
            double bytes = (double)rows * (double)ty_size(x->ty) * (double)trip * 8; /* no overflow */
            if (!has_call(g, x->x->reg[0]) || bytes > (double)keep)
                continue;
            keep -= (long long)bytes;
        }
        /* a GEN's element tapes are needed inside it; a reduction's
         * reverse loop recomputes its elements anyway */
        int nr = ir_nresults(g, b, i), used = x->op == OP_GEN && needed_in(g, x->x->reg[0], need);
        for (int q = 0; q < nr; q++)
            used |= need[b->ids.p[i + 1 + q]] && g->v.p[b->ids.p[i + 1 + q]].role != ROLE_TANGENT;
        rep[i] = (unsigned char)used;
    }
    return rep;
}

/* [i - lo, 0, 1, ...]: row i of a tape, element d of its value. */
static Aff *row_index(Fn *h, Ref iv, int32_t lo, Ref loop, int rank)
{
    Aff *ix = arena_alloc(h->arena, sizeof(Aff) * (size_t)(rank + 2));
    ix[0] = iv == NOREF ? aff_const(h->arena, 0) : aff_var(h->arena, iv); /* NOREF: row -lo */
    ix[0].c = -lo;
    for (int d = 0; d < rank; d++)
        ix[1 + d] = aff_var(h->arena, ir_ivar(h, loop, d));
    return ix;
}

void tape_record_row(IrAt at, Ref tape, Ref iv, int32_t lo, Ref v, Type ct)
{
    Fn *h = at.f;
    IrAt st = at; /* a store: every row is written once */
    st.flags |= IF_STORE;
    if (!ct.rank) {
        ir_acc(st, tape, row_index(h, iv, lo, NOREF, 0), 1, v);
        return;
    }
    Ref cp = ir_loop(at, OP_LOOP, ty_none(), ct.rank, RK_SUM);
    for (int d = 0; d < ct.rank; d++) {
        h->v.p[cp].x->ix[d] = aff_const(h->arena, 0);
        h->v.p[cp].x->ix[ct.rank + d] = aff_const(h->arena, ty_dim(ct, d));
    }
    at.r = st.r = h->v.p[cp].x->reg[0];
    Ref el = ir_idx(at, v, ad_ivar_index(h, cp), ct.rank);
    ir_acc(st, tape, row_index(h, iv, lo, cp, ct.rank), ct.rank + 1, el);
}

Ref tape_read_row(IrAt at, Ref tape, Ref iv, int32_t lo)
{
    Fn *h = at.f;
    Type tape_ty = h->v.p[tape].ty, ct = ty_array((int)tape_ty.rank - 1, ty_dims(tape_ty) + 1);
    ct.kind = tape_ty.kind;
    if (!ct.rank)
        return ir_idx(at, tape, row_index(h, iv, lo, NOREF, 0), 1);
    Ref gen = ir_loop(at, OP_GEN, ct, ct.rank, RK_SUM);
    IrAt in = at;
    in.r = h->v.p[gen].x->reg[0];
    Ref el = ir_idx(in, tape, row_index(h, iv, lo, gen, ct.rank), ct.rank + 1);
    vec_push(h->arena, &in.r->yield, el);
    return ir_result(at, ct, gen, 0);
}

Ref tape_new(IrAt at, Type ct, int32_t lo, int32_t hi, const char *name)
{
    int32_t dim[DX_MAXRANK];
    dim[0] = hi - lo;
    memcpy(dim + 1, ty_dims(ct), sizeof(int32_t) * ct.rank);
    Type tt = ty_array((int)ct.rank + 1, dim);
    at.role = ROLE_TAPE;
    at.flags = IF_NOINIT; /* every row is written before it is read */
    at.rule_op = 0;
    Ref tape = ir_add(at, OP_ZEROS, tt, NOREF, NOREF, NOREF);
    at.f->v.p[tape].name = name ? name : "t";
    return tape;
}

/* Moves the last instruction of r just before `at`. */
static void move_before(Region *r, Ref at)
{
    Ref v = r->ids.p[r->ids.n - 1];
    int k = r->ids.n - 1;
    while (k > 0 && r->ids.p[k - 1] != at)
        k--;
    ASSERT(k > 0);
    memmove(&r->ids.p[k], &r->ids.p[k - 1], sizeof(Ref) * (size_t)(r->ids.n - k));
    r->ids.p[k - 1] = v;
}

/* The tape of the carried value of FOR body src whose new value is x,
 * if it has a row for x (one more than the hi - lo iterations, see
 * fwd_for), or NOREF. */
static Ref shared_tape(const Tr *T, const Region *src, Ref x, int32_t lo, int32_t hi)
{
    const Fn *g = T->g;
    if (src->owner == NOREF || g->v.p[src->owner].op != OP_FOR)
        return NOREF;
    for (int j = 0; j < src->yield.n; j++) {
        Ref t = src->yield.p[j] == x ? T->ftape[ir_carry(g, src->owner, j)] : NOREF;
        if (t != NOREF && ty_dim(T->h->v.p[t].ty, 0) == hi - lo + 1)
            return t;
    }
    return NOREF;
}

/* After the forward copy of FOR body src (in b): records the rows of
 * loop `id` of src (see Replay) in new tapes made before h's FOR l. */
int tape_record_loop(Tr *T, const Region *src, int at, Region *b, Ref l, int32_t lo, int32_t hi, int line)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    Region *dst = h->v.p[l].parent;
    int nr = ir_nresults(g, src, at), cap = nr + (in->op == OP_GEN ? in->x->reg[0]->ids.n : 0);
    Replay *p = arena_alloc(h->arena, sizeof *p);
    p->x = arena_alloc(h->arena, sizeof(Ref) * (size_t)(cap + 1));
    p->tape = arena_alloc(h->arena, sizeof(Ref) * (size_t)(cap + 1));
    p->shift = arena_alloc(h->arena, sizeof(int) * (size_t)(cap + 1));
    Ref *from = arena_alloc(h->arena, sizeof(Ref) * (size_t)(cap + 1));
    for (int k = 0; k < cap; k++) {
        Ref x = k < nr ? src->ids.p[at + 1 + k] : in->x->reg[0]->ids.p[k - nr];
        Ref hv = k < nr ? T->map[x] : T->tape_gen[x] == id ? T->tape[x] : NOREF;
        if ((k < nr && g->v.p[x].role == ROLE_TANGENT) || hv == NOREF)
            continue;
        IrAt rec = ir_at(h, b);
        rec.line = g->v.p[x].line ? g->v.p[x].line : in->line;
        Ref tape = NOREF;
        int shift = 0;
        for (int q = 0; q < p->n && tape == NOREF; q++)
            if (from[q] == hv) { /* a yielded value taped as the result */
                tape = p->tape[q];
                shift = p->shift[q];
            }
        if (tape == NOREF && k < nr && (tape = shared_tape(T, src, x, lo, hi)) != NOREF) {
            /* the carried value's tape: its next row */
            shift = 1;
            line = rec.line;
            tape_record_row(rec, tape, ir_ivar(h, l, 0), lo - 1, hv, h->v.p[hv].ty);
        }
        if (tape == NOREF) {
            static const char *const red[] = {"sum", "prod", "max", "min"};
            const char *nm = h->v.p[hv].name ? h->v.p[hv].name : in->op == OP_RED ? red[in->red] : "arr";
            IrAt tat = rec;
            tat.r = dst;
            line = rec.line;
            tape = tape_new(tat, h->v.p[hv].ty, lo, hi, nm);
            move_before(dst, l);
            tape_record_row(rec, tape, ir_ivar(h, l, 0), lo, hv, h->v.p[hv].ty);
        }
        from[p->n] = hv;
        p->x[p->n] = x;
        p->shift[p->n] = shift;
        p->tape[p->n++] = tape;
    }
    T->replay[id] = p;
    return line;
}

/* In the reverse body of FOR for (reverse IVAR iv): loop id's values read
 * from the rows its forward copy recorded. */
void tape_replay_loop(Tr *T, Ref id, Ref iv, int32_t lo, Region *dst)
{
    Fn *h = T->h;
    const Replay *p = T->replay[id];
    Ref *got = arena_alloc(h->arena, sizeof(Ref) * (size_t)(p->n + 1));
    for (int k = 0; k < p->n; k++) {
        got[k] = NOREF;
        for (int q = 0; q < k && got[k] == NOREF; q++)
            if (p->tape[q] == p->tape[k] && p->shift[q] == p->shift[k])
                got[k] = got[q];
        if (got[k] == NOREF) {
            IrAt at = ir_at(h, dst);
            at.line = T->g->v.p[id].line;
            got[k] = tape_read_row(at, p->tape[k], iv, lo - p->shift[k]);
            h->v.p[got[k]].name = T->g->v.p[p->x[k]].name;
        }
        if (T->g->v.p[p->x[k]].op == OP_RESULT && T->g->v.p[p->x[k]].arg[0] == id)
            T->map[p->x[k]] = got[k];
        else
            T->tape[p->x[k]] = got[k];
    }
    /* id's own reverse loop (a sum's) recomputes its body with no forward
     * copy of it here: the rows that copy would have recorded do not
     * exist, so its loops run again */
    const Region *b = T->g->v.p[id].x->reg[0];
    for (int i = 0; i < b->ids.n; i++)
        T->replay[b->ids.p[i]] = NULL;
}

