/*
 * ad.c - reverse mode (ad_transpose).  Automatic differentiation is a set
 * of IR-to-IR passes (pipeline.c runs them in order); reverse mode is
 * linearise-then-transpose, as in JAX (Frostig, Johnson, Leary,
 * Maclaurin, "Decomposing reverse-mode automatic differentiation", 2021):
 *
 *   ad_linearize  (linearize.c) copies the primal program and, after
 *                 every instruction, emits its tangent: the sum over
 *                 operands of
 *                 partial_k * tangent_k, with the partials from rules.c.
 *                 Tangent instructions are marked `lin`; they are linear
 *                 in the input tangents and use only ADD, SUB, NEG, MUL
 *                 and DIV by a primal value.  This is f_jvp.
 *   ad_transpose  keeps the primal (non-lin) instructions as the forward
 *                 sweep, then walks the lin instructions backwards and
 *                 emits the transpose of each: the reverse sweep, with
 *                 adjoints ("cotangents") accumulated by adds.  This is
 *                 f_grad (or f_vjp).
 *
 * The adjoint code is ordinary primal IR, so linearising it again gives
 * forward-over-reverse Hessian-vector products (f_hvp), with the same
 * rules (Baydin et al., JMLR 2018, section 3.3).
 *
 * Zero tangents are symbolic (NOREF): a value that does not depend on an
 * active input has none, and no code is emitted for it.
 *
 * What the reverse sweep reads it either recomputes or reads back from
 * tapes the forward sweep wrote (the to-be-recorded analysis of Hascoet,
 * Naumann and Pascual, TOMS 2005): a GEN keeps its expensive element
 * values; a for loop keeps the carried values its derivatives need, one
 * row per iteration; with --tape=fast a for loop, and a sum with fixed
 * bounds, also keep the rows of the reductions and matvecs of their
 * bodies (Replay), everything else being recomputed.  tape.c decides and
 * records; this file reads back.
 */
#include "adjoint.h"

#include <string.h>

/* ---------------- transposition ---------------- */

static int is_array(const Fn *f, Ref x)
{
    return f->v.p[x].ty.rank > 0;
}

static int has_ct(const Tr *T, Ref x)
{
    return is_array(T->g, x) ? T->live[x] : T->ct[x] != NOREF;
}

/* Taped value id of a GEN body, re-read inside its reverse loop. */
static int tape_load(Tr *T, Ref id)
{
    if (T->tape[id] == NOREF || T->tape_gen[id] != T->tape_active)
        return 0;
    Ref gen = T->tape_gen[id];
    int nv = ir_nivars(T->g, gen);
    Aff *ix = arena_alloc(T->h->arena, sizeof(Aff) * (size_t)(nv + 1));
    for (int d = 0; d < nv; d++)
        ix[d] = aff_var(T->h->arena, T->map[ir_ivar(T->g, gen, d)]);
    T->map[id] = ad_idx(&T->e, T->tape[id], ix, nv);
    if (T->g->v.p[id].ty.kind == TY_BOOL) /* a branch decision, kept as 0 or 1 */
        T->map[id] = em(&T->e, OP_NE, T->map[id], em_const(&T->e, 0), NOREF);
    return 1;
}

static void fwd_region(Tr *T, const Region *src, Region *dst);

static void fwd_if(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Ref id = src->ids.p[at];
    int nr = ir_nresults(g, src, at);
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    Ref nif = ir_emit(h, dst, OP_IF, in->ty, T->map[in->arg[0]], NOREF, NOREF);
    h->v.p[nif].line = in->line;
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(h, nif, s);
        h->v.p[nif].reg[s] = r;
        fwd_region(T, in->reg[s], r);
    }
    int n = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (g->v.p[r].lin)
            continue;
        int j = (int)g->v.p[r].k;
        for (int s = 0; s < 2; s++)
            vec_push(h->arena, &h->v.p[nif].reg[s]->yield, T->map[in->reg[s]->yield.p[j]]);
        T->map[r] = ad_result(h, dst, nif, n++, &g->v.p[r]);
    }
    /* after every RESULT: they must follow their IF */
    for (int q = 0; q < nr; q++) {
        T->e.r = dst;
        tape_load(T, src->ids.p[at + 1 + q]);
    }
}

/* Is v cheap to recompute in a reverse loop (a load, an index)? */
static int cheap(const Fn *g, Ref v)
{
    Op op = (Op)g->v.p[v].op;
    return op == OP_CONST || op == OP_IDX || op == OP_IREAL || op == OP_IVAR;
}

/* Marks the non-lin values of GEN body b (top level) that lin code in
 * region r (b or nested in it) reads: the reverse loop needs them. */
static void mark_needed(const Fn *g, const Region *b, const Region *r, unsigned char *need)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &g->v.p[r->ids.p[i]];
        Ref ops[4] = {in->arg[0], in->arg[1], in->arg[2], NOREF};
        if (in->op == OP_IF) {
            /* an adjoint if needs its condition */
            ops[0] = in->arg[0];
            mark_needed(g, b, in->reg[0], need);
            mark_needed(g, b, in->reg[1], need);
        } else if (ir_is_loop(in)) {
            mark_needed(g, b, in->reg[0], need);
            continue;
        } else if (!in->lin || in->op == OP_RESULT) {
            continue;
        }
        for (int k = 0; k < 3; k++)
            if (ops[k] != NOREF && !g->v.p[ops[k]].lin && g->v.p[ops[k]].parent == b)
                need[ops[k]] = 1;
        if (in->op == OP_LIT)
            for (int k = 0; k < in->nix; k++)
                if (!g->v.p[in->list[k]].lin && g->v.p[in->list[k]].parent == b)
                    need[in->list[k]] = 1;
    }
}

/* The forward copy of a GEN or RED: its non-lin part.  A GEN with
 * tangent results also yields, as extra arrays (tapes), the expensive
 * values its reverse loop needs, so that loop reads them instead of
 * recomputing them (the to-be-recorded values of Hascoet et al.); cheap
 * ones (loads, constants) are recomputed there. */
static void fwd_loop(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    ASSERT(in->op != OP_LOOP);
    int nr = ir_nresults(g, src, at);
    Ref n = ad_clone_loop_head(g, id, h, dst, T->map);
    Region *b = h->v.p[n].reg[0];
    fwd_region(T, in->reg[0], b);
    int ny = 0, has_lin = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (g->v.p[r].lin) {
            has_lin = 1;
            continue;
        }
        vec_push(h->arena, &b->yield, T->map[in->reg[0]->yield.p[(int)g->v.p[r].k]]);
        T->map[r] = ad_result(h, dst, n, ny++, &g->v.p[r]);
    }
    if (in->op == OP_RED && has_lin && !T->small_tape) {
        unsigned char *rep = tape_replayed(g, id, tape_needs(g, id, NULL));
        for (int i = 0; i < in->reg[0]->ids.n; i++)
            if (rep[i])
                tape_record_loop(T, in->reg[0], i, b, n, in->ix[0].c, in->ix[1].c);
    }
    if (in->op != OP_GEN || !has_lin) {
        for (int q = 0; q < nr; q++) {
            T->e.r = dst;
            tape_load(T, src->ids.p[at + 1 + q]);
        }
        return;
    }
    unsigned char *need = arena_alloc(h->arena, (size_t)g->v.n + 1);
    mark_needed(g, in->reg[0], in->reg[0], need);
    for (int i = 0; i < in->reg[0]->ids.n; i++) {
        Ref v = in->reg[0]->ids.p[i];
        if (!need[v] || cheap(g, v) || is_array(g, v))
            continue; /* recomputed in the reverse loop */
        Ref arr = NOREF;
        for (int q = 0; q < nr && arr == NOREF; q++) {
            Ref r = src->ids.p[at + 1 + q];
            if (!g->v.p[r].lin && in->reg[0]->yield.p[(int)g->v.p[r].k] == v)
                arr = T->map[r];
        }
        if (arr == NOREF) {
            Ref tv = T->map[v];
            if (g->v.p[v].ty.kind == TY_BOOL) {
                T->e.r = b;
                T->e.line = g->v.p[v].line;
                tv = em(&T->e, OP_SELECT, tv, em_const(&T->e, 1), em_const(&T->e, 0));
            }
            vec_push(h->arena, &b->yield, tv);
            arr = ir_emit(h, dst, OP_RESULT, h->v.p[n].ty, n, NOREF, NOREF);
            h->v.p[arr].k = ny++;
            h->v.p[arr].line = g->v.p[v].line;
            const char *base = g->v.p[v].name;
            for (int q = 0; q < nr && !base; q++)
                base = g->v.p[src->ids.p[at + 1 + q]].name;
            h->v.p[arr].name = arena_printf(h->arena, "%s_tape", base ? base : "t");
            h->v.p[arr].tape = 1;
        }
        T->tape[v] = arr;
        T->tape_gen[v] = id;
    }
    /* after every RESULT, tapes included: they must follow their GEN */
    for (int q = 0; q < nr; q++) {
        T->e.r = dst;
        tape_load(T, src->ids.p[at + 1 + q]);
    }
}

/* The forward copy of a for loop: its primal carried values, and the
 * recording of those its reverse loop needs, one row per iteration, in
 * tapes (static buffers of the trip count's size: no allocation). */
static void fwd_for(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nix = in->nix, nr = ir_nresults(g, src, at);
    int32_t lo = in->ix[0].c, hi = in->ix[1].c;
    unsigned char *stored = arena_alloc(h->arena, (size_t)nix + 1);
    unsigned char *need = tape_needs(g, id, stored);
    unsigned char *rep = T->small_tape ? arena_alloc(h->arena, (size_t)in->reg[0]->ids.n + 1)
                                       : tape_replayed(g, id, need);
    for (int j = 0; j < nix && hi <= lo; j++)
        stored[j] = 0; /* no iteration, nothing to record */
    int *to = arena_alloc(h->arena, sizeof(int) * (size_t)(nix + 1));
    Ref *init = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    int n = 0;
    for (int j = 0; j < nix; j++) {
        to[j] = -1;
        if (g->v.p[ir_carry(g, id, j)].lin)
            continue;
        to[j] = n;
        init[n++] = T->map[in->list[j]];
    }
    /* the tapes, before the loop.  A carried value whose new value is
     * the result of a replayed loop (h = tanh(W @ h)) shares one tape with
     * it: row i - lo holds the value iteration i starts from, row 0 the
     * initial value, and the result of iteration i fills row i - lo + 1. */
    unsigned char *shared = arena_alloc(h->arena, (size_t)nix + 1);
    for (int j = 0; j < nix; j++) {
        if (!stored[j])
            continue;
        Ref c = ir_carry(g, id, j), y = in->reg[0]->yield.p[j];
        const Inst *yi = &g->v.p[y];
        int first = 1; /* one tape per result: the first carried value's */
        for (int q = 0; q < j; q++)
            first &= !(shared[q] && in->reg[0]->yield.p[q] == y);
        if (yi->op == OP_RESULT && !yi->lin && g->v.p[yi->arg[0]].parent == in->reg[0] && first)
            for (int i = 0; i < in->reg[0]->ids.n; i++)
                if (in->reg[0]->ids.p[i] == yi->arg[0])
                    shared[j] = rep[i];
        T->e.line = in->line;
        T->ftape[c] = tape_new(T, dst, g->v.p[c].ty, lo, hi + shared[j], g->v.p[c].name);
        if (shared[j])
            tape_record_row(T, dst, T->ftape[c], NOREF, 0, T->map[in->list[j]], g->v.p[c].ty);
    }
    int saved_rev = T->e.rev;
    Ref l = ir_for_new(h, dst, lo, hi, n, init);
    h->v.p[l].line = in->line;
    h->v.p[l].k = in->k;
    Region *b = h->v.p[l].reg[0];
    Ref iv = b->ids.p[0];
    T->map[in->reg[0]->ids.p[0]] = iv;
    h->v.p[iv].name = g->v.p[in->reg[0]->ids.p[0]].name;
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        Ref c = ir_carry(g, id, j), nc = ir_carry(h, l, to[j]);
        T->map[c] = nc;
        h->v.p[nc].name = g->v.p[c].name;
        h->v.p[nc].line = g->v.p[c].line;
        if (!stored[j] || shared[j])
            continue;
        /* record the value at the start of the iteration */
        T->e.line = in->line;
        tape_record_row(T, b, T->ftape[c], iv, lo, nc, g->v.p[c].ty);
    }
    T->e.rev = saved_rev;
    fwd_region(T, in->reg[0], b);
    for (int i = 0; i < in->reg[0]->ids.n; i++)
        if (rep[i])
            tape_record_loop(T, in->reg[0], i, b, l, lo, hi);
    for (int j = 0; j < nix; j++)
        if (to[j] >= 0)
            vec_push(h->arena, &b->yield, T->map[in->reg[0]->yield.p[j]]);
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = (int)g->v.p[r].k;
        if (to[j] < 0)
            continue;
        T->map[r] = ad_result(h, dst, l, to[j], &g->v.p[r]);
    }
}

static void fwd_region(Tr *T, const Region *src, Region *dst)
{
    for (int i = 0; i < src->ids.n; i++) {
        Ref id = src->ids.p[i];
        const Inst *in = &T->g->v.p[id];
        if (in->lin || in->op == OP_RESULT || in->op == OP_IVAR || in->op == OP_CARRY)
            continue;
        T->e.r = dst;
        if (tape_load(T, id))
            continue;
        if (T->replay_for != NOREF && T->replay[id] && src == T->g->v.p[T->replay_for].reg[0]) {
            tape_replay_loop(T, id, T->map[src->ids.p[0]], T->g->v.p[T->replay_for].ix[0].c, dst);
            continue;
        }
        if (in->op == OP_IF)
            fwd_if(T, src, i, dst);
        else if (in->op == OP_FOR)
            fwd_for(T, src, i, dst);
        else if (ir_is_loop(in))
            fwd_loop(T, src, i, dst);
        else
            T->map[id] = ad_copy_inst(T->h, dst, in, T->map);
    }
}

static const char *bar_name(Tr *T, Ref x)
{
    const char *n = T->g->v.p[x].name;
    return n ? arena_printf(T->h->arena, "%s_bar", n) : NULL;
}

static int inside(const Fn *g, Ref x, const Region *r);

Ref ad_zeros(Tr *T, Region *r, Type ty, const char *name)
{
    Ref z = ir_emit(T->h, r, OP_ZEROS, ty, NOREF, NOREF, NOREF);
    T->h->v.p[z].name = name;
    T->h->v.p[z].rev = 1;
    T->h->v.p[z].line = T->e.line;
    return z;
}

void ad_acc(Tr *T, Region *r, Ref buf, Aff *ix, int nix, Ref v)
{
    Ref a = ir_emit(T->h, r, OP_ACC, ty_none(), buf, v, NOREF);
    Inst *x = &T->h->v.p[a];
    x->nix = nix;
    x->ix = ix;
    x->rev = (uint8_t)T->e.rev;
    x->line = T->e.line;
}

/* ct[x][ix] += v for an array x of g (ix already in h's IVARs). */
static void acc_elem(Tr *T, Region *r, Ref x, Aff *ix, Ref v)
{
    ASSERT(T->ct[x] != NOREF && T->h->v.p[T->ct[x]].op == OP_ZEROS);
    ad_acc(T, r, T->ct[x], ix, T->g->v.p[x].ty.rank, v);
    T->live[x] = 1;
}

/* ct[x] += arr, elementwise, for an array x of g. */
static void acc_whole(Tr *T, Region *r, Ref x, Ref arr)
{
    Type t = T->g->v.p[x].ty;
    Ref l = ir_loop_new(T->h, r, OP_LOOP, ty_none(), t.rank);
    T->h->v.p[l].line = T->e.line;
    T->h->v.p[l].rev = 1;
    for (int d = 0; d < t.rank; d++) {
        T->h->v.p[l].ix[d] = aff_const(T->h->arena, 0);
        T->h->v.p[l].ix[t.rank + d] = aff_const(T->h->arena, t.dim[d]);
    }
    Region *save = T->e.r;
    T->e.r = T->h->v.p[l].reg[0];
    Ref v = ad_idx(&T->e, arr, ad_ivar_index(T->h, l), t.rank);
    acc_elem(T, T->e.r, x, ad_ivar_index(T->h, l), v);
    T->e.r = save;
}

/* A scalar x of g defined outside a reverse loop being built: its
 * cotangent goes into a cell of the outermost such loop. */
static int acc_cell(Tr *T, Region *r, Ref x, Ref v)
{
    Fn *h = T->h;
    for (int i = 0; i < T->frames.n; i++) {
        Frame *fr = &T->frames.p[i];
        if (inside(T->g, x, fr->src))
            continue;
        Ref cell = NOREF;
        for (int k = 0; k < fr->xs.n; k++)
            if (fr->xs.p[k] == x)
                cell = fr->cells.p[k];
        if (cell == NOREF) {
            cell = ad_zeros(T, fr->dst, ty_scalar(), bar_name(T, x));
            /* it belongs before the loop */
            Region *d = fr->dst;
            int at = d->ids.n - 1;
            while (d->ids.p[at - 1] != fr->loop)
                at--;
            for (int k = d->ids.n - 1; k >= at; k--)
                d->ids.p[k] = d->ids.p[k - 1];
            d->ids.p[at - 1] = cell;
            vec_push(h->arena, &fr->xs, x);
            vec_push(h->arena, &fr->cells, cell);
        }
        ad_acc(T, r, cell, NULL, 0, v);
        return 1;
    }
    return 0;
}

/* ct[x] += v.  `fresh`: v was made for x alone and may take its name. */
static void accum(Tr *T, Region *r, Ref x, Ref v, int fresh)
{
    if (v == NOREF)
        return;
    Fn *h = T->h;
    if (is_array(T->g, x)) {
        acc_whole(T, r, x, v);
        return;
    }
    if (acc_cell(T, r, x, v))
        return;
    vec_push(h->arena, &T->touched, x);
    if (T->ct[x] == NOREF) {
        if (fresh && !h->v.p[v].name)
            h->v.p[v].name = bar_name(T, x);
        T->ct[x] = v;
        return;
    }
    T->e.r = r;
    Ref s = em(&T->e, OP_ADD, T->ct[x], v, NOREF);
    h->v.p[s].acc = 1;
    h->v.p[s].name = bar_name(T, x);
    T->ct[x] = s;
}

static void rev_region(Tr *T, const Region *src, Region *dst);
static void zeros_for_region(Tr *T, const Region *src, Region *dst);

/* Is value x defined inside region r (at any depth)? */
static int inside(const Fn *g, Ref x, const Region *r)
{
    for (const Region *p = g->v.p[x].parent; p; ) {
        if (p == r)
            return 1;
        if (p->owner == NOREF)
            return 0;
        p = g->v.p[p->owner].parent;
    }
    return 0;
}

/* The adjoint of `if c { A } else { B }` is `if c { A' } else { B' }`,
 * where A' is A's reverse sweep; the cotangents it changes of values
 * defined before the if become the results of the adjoint if. */
static void rev_if(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Ref id = src->ids.p[at];
    int nr = ir_nresults(g, src, at);
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    int any = 0;
    for (int q = 0; q < nr; q++)
        if (g->v.p[src->ids.p[at + 1 + q]].lin && has_ct(T, src->ids.p[at + 1 + q]))
            any = 1;
    if (!any)
        return;
    size_t nb = sizeof(Ref) * (size_t)g->v.n;
    Ref *saved = arena_alloc(h->arena, nb);
    Ref *after[2];
    memcpy(saved, T->ct, nb);
    int mark = T->touched.n;
    Ref nif = ir_emit(h, dst, OP_IF, ty_scalar(), T->map[in->arg[0]], NOREF, NOREF);
    h->v.p[nif].line = in->line;
    h->v.p[nif].rev = 1;
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(h, nif, s);
        h->v.p[nif].reg[s] = r;
        memcpy(T->ct, saved, nb);
        zeros_for_region(T, in->reg[s], r);
        for (int qi = 0; qi < nr; qi++) {
            Ref q = src->ids.p[at + 1 + qi];
            if (!g->v.p[q].lin || saved[q] == NOREF || (is_array(g, q) && !T->live[q]))
                continue;
            T->e.line = g->v.p[q].line;
            accum(T, r, in->reg[s]->yield.p[(int)g->v.p[q].k], saved[q], 0);
        }
        rev_region(T, in->reg[s], r);
        after[s] = arena_alloc(h->arena, nb);
        memcpy(after[s], T->ct, nb);
    }
    memcpy(T->ct, saved, nb);
    /* the values defined before the if whose cotangent a branch changed,
     * in the order of their first change */
    VEC(Ref) changed = {0};
    unsigned stamp = ++T->nstamp;
    for (int i = mark; i < T->touched.n; i++) {
        Ref x = T->touched.p[i];
        if (T->stamp[x] == stamp)
            continue;
        T->stamp[x] = stamp;
        if (inside(g, x, in->reg[0]) || inside(g, x, in->reg[1]) || is_array(g, x))
            continue;
        if (after[0][x] == saved[x] && after[1][x] == saved[x])
            continue;
        vec_push(h->arena, &changed, x);
    }
    int n = 0;
    for (int i = 0; i < changed.n; i++) {
        Ref x = changed.p[i];
        T->e.line = in->line;
        for (int s = 0; s < 2; s++) {
            Ref v = after[s][x];
            if (v == NOREF) {
                T->e.r = h->v.p[nif].reg[s];
                v = em_const(&T->e, 0);
            }
            vec_push(h->arena, &h->v.p[nif].reg[s]->yield, v);
        }
        Ref res = ir_emit(h, dst, OP_RESULT, ty_scalar(), nif, NOREF, NOREF);
        h->v.p[res].k = n++;
        h->v.p[res].name = bar_name(T, x);
        h->v.p[res].line = in->line;
        h->v.p[res].rev = 1;
        T->ct[x] = res;
    }
}

/* The adjoint of a GEN or sum RED with tangent results: a LOOP over the
 * same index space that recomputes (or reads from tapes) the primal
 * values it needs, seeds each lin yield with the result's cotangent (an
 * element of the adjoint array for a GEN; the adjoint scalar, broadcast,
 * for a reduction) and runs the body's reverse sweep. */
static void rev_loop(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nr = ir_nresults(g, src, at), any = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        any |= g->v.p[r].lin && has_ct(T, r);
    }
    if (!any)
        return;
    ASSERT(in->op == OP_GEN || in->k == RK_SUM);
    int nv = ir_nivars(g, id);
    T->e.line = in->line;
    Ref l = ir_loop_new(h, dst, OP_LOOP, ty_none(), nv);
    Inst *li = &h->v.p[l];
    li->line = in->line;
    li->rev = 1;
    for (int d = 0; d < nv; d++) {
        if (in->op == OP_GEN) {
            li->ix[d] = aff_const(h->arena, 0);
            li->ix[nv + d] = aff_const(h->arena, in->ty.dim[d]);
        } else {
            li->ix[0] = aff_remap(h->arena, in->ix[0], T->map);
            li->ix[1] = aff_remap(h->arena, in->ix[1], T->map);
        }
        Ref iv = ir_ivar(h, l, d);
        T->map[ir_ivar(g, id, d)] = iv;
        h->v.p[iv].name = g->v.p[ir_ivar(g, id, d)].name;
    }
    Region *b = li->reg[0];
    Frame fr = {0};
    fr.src = in->reg[0];
    fr.loop = l;
    fr.dst = dst;
    vec_push(h->arena, &T->frames, fr);
    int saved_rev = T->e.rev;
    Ref saved_active = T->tape_active;
    T->e.rev = 0;
    T->tape_active = id;
    Ref saved_for = T->replay_for;
    T->replay_for = id; /* a sum's body reads the rows it recorded */
    fwd_region(T, in->reg[0], b);
    T->replay_for = saved_for;
    T->tape_active = saved_active;
    T->e.rev = saved_rev;
    T->e.r = b;
    T->e.line = in->line;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (!g->v.p[r].lin || !has_ct(T, r))
            continue;
        Ref c = T->ct[r];
        T->e.r = b;
        if (in->op == OP_GEN)
            c = ad_idx(&T->e, c, ad_ivar_index(h, l), nv);
        accum(T, b, in->reg[0]->yield.p[(int)g->v.p[r].k], c, 0);
    }
    rev_region(T, in->reg[0], b);
    fr = T->frames.p[--T->frames.n];
    T->e.line = in->line;
    for (int k = 0; k < fr.xs.n; k++) {
        T->e.r = dst;
        Ref v = ad_idx(&T->e, fr.cells.p[k], NULL, 0);
        accum(T, dst, fr.xs.p[k], v, 1);
    }
}

/* The adjoint of a for loop: the same iterations backwards, carrying the
 * adjoints of the loop's tangent carried values.  Each iteration restores
 * the carried primal values its derivatives need from the tapes (row i:
 * their values at the start of forward iteration i), recomputes the rest
 * of the iteration's primal values from them, and runs the body's reverse
 * sweep: the adjoints of the values the body yielded come in, those of the
 * values it started from go out to the previous iteration. */
static void rev_for(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    const Region *sb = in->reg[0];
    int nix = in->nix, nr = ir_nresults(g, src, at), any = 0;
    int32_t lo = in->ix[0].c, hi = in->ix[1].c;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        any |= g->v.p[r].lin && has_ct(T, r);
    }
    if (!any)
        return;
    /* the adjoints carried backwards: one per lin carried value */
    int *to = arena_alloc(h->arena, sizeof(int) * (size_t)(nix + 1));
    Ref *init = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    int n = 0;
    T->e.r = dst;
    T->e.line = in->line;
    for (int j = 0; j < nix; j++) {
        to[j] = -1;
        Ref c = ir_carry(g, id, j);
        if (!g->v.p[c].lin)
            continue;
        Ref ctj = NOREF;
        for (int q = 0; q < nr; q++) {
            Ref r = src->ids.p[at + 1 + q];
            if ((int)g->v.p[r].k == j && has_ct(T, r))
                ctj = T->ct[r];
        }
        if (ctj == NOREF)
            ctj = is_array(g, c) ? ad_zeros(T, dst, g->v.p[c].ty, NULL) : em_const(&T->e, 0);
        to[j] = n;
        init[n++] = ctj;
    }
    Ref l = ir_for_new(h, dst, lo, hi, n, init);
    Inst *li = &h->v.p[l];
    li->k = 1;
    li->line = in->line;
    li->rev = 1;
    Region *b = li->reg[0];
    Ref iv = b->ids.p[0];
    T->map[sb->ids.p[0]] = iv;
    h->v.p[iv].name = g->v.p[sb->ids.p[0]].name;
    Frame fr = {0};
    fr.src = sb;
    fr.loop = l;
    fr.dst = dst;
    vec_push(h->arena, &T->frames, fr);
    /* the carried primal values this iteration started from */
    int saved_rev = T->e.rev;
    T->e.rev = 0;
    T->e.r = b;
    for (int j = 0; j < nix; j++) {
        Ref c = ir_carry(g, id, j);
        if (g->v.p[c].lin)
            continue;
        Type ct = g->v.p[c].ty;
        Ref tape = T->ftape[c];
        if (tape == NOREF) { /* not needed: a placeholder that stays dead */
            T->map[c] = ct.rank ? ad_zeros(T, b, ct, NULL) : em_const(&T->e, 0);
            continue;
        }
        if (!ct.rank) {
            T->map[c] = ad_idx(&T->e, tape, tape_index(h, iv, lo, NOREF, 0), 1);
        } else {
            Ref gen = ir_loop_new(h, b, OP_GEN, ct, ct.rank);
            h->v.p[gen].line = in->line;
            Region *gb = h->v.p[gen].reg[0];
            T->e.r = gb;
            Ref el = ad_idx(&T->e, tape, tape_index(h, iv, lo, gen, ct.rank), ct.rank + 1);
            vec_push(h->arena, &gb->yield, el);
            T->e.r = b;
            T->map[c] = ir_emit(h, b, OP_RESULT, ct, gen, NOREF, NOREF);
        }
        h->v.p[T->map[c]].name = g->v.p[c].name;
        h->v.p[T->map[c]].line = in->line;
    }
    Ref saved_for = T->replay_for;
    T->replay_for = id;
    fwd_region(T, sb, b);
    T->replay_for = saved_for;
    T->e.rev = saved_rev;
    zeros_for_region(T, sb, b);
    T->e.r = b;
    T->e.line = in->line;
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        Ref rc = ir_carry(h, l, to[j]);
        h->v.p[rc].name = bar_name(T, ir_carry(g, id, j));
        h->v.p[rc].rev = 1;
        Ref y = sb->yield.p[j];
        if (is_array(g, y) && !g->v.p[y].lin)
            continue;
        accum(T, b, y, rc, 0);
    }
    rev_region(T, sb, b);
    T->e.r = b;
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        Ref c = ir_carry(g, id, j);
        Ref v = T->ct[c];
        if (v == NOREF || (is_array(g, c) && !T->live[c]))
            v = is_array(g, c) ? ad_zeros(T, b, g->v.p[c].ty, NULL) : em_const(&T->e, 0);
        vec_push(h->arena, &b->yield, v);
    }
    fr = T->frames.p[--T->frames.n];
    /* the adjoints of the initial values (the RESULTs first: they must
     * follow the loop) */
    Ref *res = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        res[j] = ir_emit(h, dst, OP_RESULT, h->v.p[init[to[j]]].ty, l, NOREF, NOREF);
        h->v.p[res[j]].k = to[j];
        h->v.p[res[j]].rev = 1;
        h->v.p[res[j]].line = in->line;
        h->v.p[res[j]].name = bar_name(T, in->list[j]);
    }
    for (int j = 0; j < nix; j++) {
        T->e.r = dst;
        if (to[j] >= 0 && g->v.p[in->list[j]].lin)
            accum(T, dst, in->list[j], res[j], 0);
    }
    for (int k = 0; k < fr.xs.n; k++) {
        T->e.r = dst;
        Ref v = ad_idx(&T->e, fr.cells.p[k], NULL, 0);
        accum(T, dst, fr.xs.p[k], v, 1);
    }
}

/* Adjoint arrays for the lin arrays defined in src, zeroed at the start
 * of its reverse sweep. */
static void zeros_for_region(Tr *T, const Region *src, Region *dst)
{
    const Fn *g = T->g;
    for (int i = 0; i < src->ids.n; i++) {
        Ref x = src->ids.p[i];
        if (g->v.p[x].lin && is_array(g, x) && T->ct[x] == NOREF) {
            T->e.line = g->v.p[x].line;
            T->ct[x] = ad_zeros(T, dst, g->v.p[x].ty, bar_name(T, x));
        }
    }
}

static void rev_region(Tr *T, const Region *src, Region *dst)
{
    const Fn *g = T->g;
    zeros_for_region(T, src, dst);
    for (int i = src->ids.n - 1; i >= 0; i--) {
        Ref id = src->ids.p[i];
        const Inst *in = &g->v.p[id];
        if (in->op == OP_IF) {
            rev_if(T, src, i, dst);
            continue;
        }
        if (in->op == OP_GEN || in->op == OP_RED) {
            rev_loop(T, src, i, dst);
            continue;
        }
        if (in->op == OP_FOR) {
            rev_for(T, src, i, dst);
            continue;
        }
        if (!in->lin || !has_ct(T, id))
            continue;
        Ref ct = T->ct[id];
        Ref a = in->arg[0], b = in->arg[1];
        T->e.r = dst;
        T->e.line = in->line;
        switch ((Op)in->op) {
        case OP_CONST:
        case OP_PARAM:
        case OP_RESULT:
        case OP_ZEROS:
        case OP_CARRY:
        case OP_IVAR:
            break;
        case OP_IDX: {
            Aff *ix = arena_alloc(T->h->arena, sizeof(Aff) * (size_t)(in->nix + 1));
            for (int j = 0; j < in->nix; j++)
                ix[j] = aff_remap(T->h->arena, in->ix[j], T->map);
            acc_elem(T, dst, a, ix, ct);
            break;
        }
        case OP_LIT:
            for (int j = 0; j < in->nix; j++) {
                if (!g->v.p[in->list[j]].lin)
                    continue;
                T->e.r = dst;
                Ref v = ad_idx(&T->e, ct, ad_flat_index(T->h->arena, in->ty, j), in->ty.rank);
                accum(T, dst, in->list[j], v, 1);
            }
            break;
        case OP_ADD:
            accum(T, dst, a, ct, 0);
            accum(T, dst, b, ct, 0);
            break;
        case OP_SUB:
            accum(T, dst, a, ct, 0);
            accum(T, dst, b, em(&T->e, OP_NEG, ct, NOREF, NOREF), 1);
            break;
        case OP_NEG:
            accum(T, dst, a, em(&T->e, OP_NEG, ct, NOREF, NOREF), 1);
            break;
        case OP_MUL: /* t * p or p * t, with p a primal value */
            if (g->v.p[a].lin)
                accum(T, dst, a, em(&T->e, OP_MUL, ct, T->map[b], NOREF), 1);
            else
                accum(T, dst, b, em(&T->e, OP_MUL, ct, T->map[a], NOREF), 1);
            break;
        case OP_DIV:
            accum(T, dst, a, em(&T->e, OP_DIV, ct, T->map[b], NOREF), 1);
            break;
        default:
            BUG("ad_transpose: a linear instruction without a transpose rule");
        }
    }
}

Fn *ad_transpose(const Fn *g, const char *name, FnKind kind, int small_tape)
{
    Arena *A = g->arena;
    Tr T = {0};
    T.g = g;
    T.h = ad_derived(g, name, kind);
    T.e.g = T.h;
    T.map = ad_ref_map(g);
    T.ct = ad_ref_map(g);
    T.stamp = arena_alloc(A, sizeof(unsigned) * (size_t)(g->v.n + 1));
    T.live = arena_alloc(A, (size_t)g->v.n + 1);
    T.tape = ad_ref_map(g);
    T.tape_gen = ad_ref_map(g);
    T.tape_active = NOREF;
    T.ftape = ad_ref_map(g);
    T.replay = arena_alloc(A, sizeof(Replay *) * (size_t)(g->v.n + 1));
    T.replay_for = NOREF;
    T.small_tape = small_tape;
    /* inputs: everything but the tangents keeps its index */
    for (int i = 0; i < g->in.n; i++)
        if (g->in.p[i].role != IN_TANGENT)
            vec_push(A, &T.h->in, g->in.p[i]);
    ASSERT(g->out.n == 2);
    Output prim = g->out.p[0], tout = g->out.p[1];
    Ref seed;
    fwd_region(&T, g->body, T.h->body);
    T.e.r = T.h->body;
    T.e.line = 0;
    if (prim.ty.rank == 0) {
        seed = em_const(&T.e, 1);
    } else {
        Input s = {.name = "out_bar", .ty = prim.ty, .role = IN_SEED};
        vec_push(A, &T.h->in, s);
        seed = ir_param(T.h, T.h->body, T.h->in.n - 1);
    }
    if (g->v.p[tout.ref].lin) {
        T.ct[tout.ref] = seed;
        T.live[tout.ref] = 1;
    }
    T.e.rev = 1;
    rev_region(&T, g->body, T.h->body);
    prim.ref = T.map[prim.ref];
    vec_push(A, &T.h->out, prim);
    for (int i = 0; i < g->body->ids.n; i++) {
        Ref id = g->body->ids.p[i];
        const Inst *in = &g->v.p[id];
        if (in->op != OP_PARAM || g->in.p[(int)in->k].role != IN_TANGENT)
            continue;
        const Input *ti = &g->in.p[(int)in->k];
        Output o = {0};
        o.name = ad_suffixed(A, g->in.p[ti->of].name, "_bar");
        o.ty = ti->ty;
        o.role = OUT_BAR;
        o.of = ti->of;
        T.e.r = T.h->body;
        o.ref = T.ct[id];
        if (o.ref == NOREF)
            o.ref = is_array(g, id) ? ad_zeros(&T, T.h->body, ti->ty, o.name) : em_const(&T.e, 0);
        vec_push(A, &T.h->out, o);
    }
    return T.h;
}
