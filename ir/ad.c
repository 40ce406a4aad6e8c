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
 *                 Tangent instructions (ROLE_TANGENT, "lin" below) are
 *                 linear in the input tangents and use only ADD, SUB,
 *                 NEG, MUL and DIV by a primal value (and MULZ, DIVZ:
 *                 the same with a strong zero).  This is f_jvp.
 *   ad_transpose  keeps the primal (non-lin) instructions as the forward
 *                 sweep, then walks the lin instructions backwards and
 *                 emits the transpose of each: the reverse sweep
 *                 (ROLE_ADJOINT, each instruction with the rule facts of
 *                 the one it transposes), with adjoints ("cotangents")
 *                 accumulated by adds.  This is f_grad (or f_vjp).
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
 * bodies (Replay), everything else being recomputed.  tape.c decides,
 * records and reads rows back (this file calls it; it calls no function
 * of this file).
 *
 * Every function that emits takes the region it emits into; the line,
 * role and rule of what it emits go in an IrAt built where they are
 * known (prim_at, adj_at, rule_at).  The lines some statements take are
 * those of the statement before them (rev_region returns the line it
 * ends at, Fwd carries the line the forward copy is at): the generated
 * code's line comments rest on them.
 */
#include "adjoint.h"

#include <string.h>

/* ---------------- transposition ---------------- */

enum { STEP = 2 }; /* accum's `fresh`: the accumulation is a rule's step */

static Ref carry_store(const Tr *T, Ref id, int j);
static void elem_tape(Tr *T, Ref id, int j, Region *dst);
static void elem_move(Tr *T, Ref c, Region *b, Ref iv, int32_t lo, int restore);
static void elem_buffer(Tr *T, Ref c, Ref fin, Region *dst, int line);

static int is_array(const Fn *f, Ref x)
{
    return f->v.p[x].ty.rank > 0;
}

static int is_lin(const Fn *g, Ref x)
{
    return g->v.p[x].role == ROLE_TANGENT;
}

static int has_ct(const Tr *T, Ref x)
{
    return is_array(T->g, x) ? T->live[x] : T->ct[x] != NOREF;
}

/* Where the forward copy (primal) and the reverse sweep (adjoint) emit:
 * region r of h, from source line `line`. */
static IrAt prim_at(const Tr *T, Region *r, int line)
{
    IrAt at = ir_at(T->h, r);
    at.line = line;
    return at;
}

static IrAt adj_at(const Tr *T, Region *r, int line)
{
    IrAt at = prim_at(T, r, line);
    at.role = ROLE_ADJOINT;
    return at;
}

/* The transpose of g's tangent instruction `in`: adjoint, from in's line,
 * with in's rule facts. */
static IrAt rule_at(const Tr *T, Region *r, const Inst *in)
{
    IrAt at = adj_at(T, r, in->line);
    at.rule_op = in->rule_op;
    at.rule_arg = in->rule_arg;
    at.rule_src = in->rule_src != NOREF ? T->map[in->rule_src] : NOREF;
    return at;
}

/* A zeroed adjoint buffer at `at` (adjoint whatever at says), named. */
static Ref zeros(IrAt at, Type ty, const char *name)
{
    at.role = ROLE_ADJOINT;
    Ref z = ir_add(at, OP_ZEROS, ty, NOREF, NOREF, NOREF);
    at.f->v.p[z].name = name;
    return z;
}

/* What the forward copy being made is part of.  At the top, nothing
 * (NOREF, NOREF).  In the body of a reverse loop it recomputes: `active`
 * is the GEN whose element tapes it reads back, `replay` the FOR or sum
 * whose recorded rows its loops read instead of running.  `line` is the
 * line what it reads back takes: that reverse loop's, then that of the
 * last tape it wrote or read rows of (the copying updates it). */
typedef struct {
    Ref active, replay;
    int line;
} Fwd;

/* Taped value id of a GEN body, re-read inside its reverse loop. */
static int tape_load(Tr *T, Ref id, Region *dst, Fwd *w)
{
    if (T->tape[id] == NOREF || T->tape_gen[id] != w->active)
        return 0;
    Ref gen = T->tape_gen[id];
    int nv = ir_nivars(T->g, gen);
    Aff *ix = arena_alloc(T->h->arena, sizeof(Aff) * (size_t)(nv + 1));
    for (int d = 0; d < nv; d++)
        ix[d] = aff_var(T->h->arena, T->map[ir_ivar(T->g, gen, d)]);
    IrAt at = prim_at(T, dst, w->line);
    T->map[id] = ir_idx(at, T->tape[id], ix, nv);
    if (T->g->v.p[id].ty.kind == TY_BOOL) /* a branch decision, kept as 0 or 1 */
        T->map[id] = ir_op(at, OP_NE, T->map[id], ir_num(at, 0), NOREF);
    return 1;
}

/* The RESULTs of g's src[at] that are read back from tapes, after every
 * RESULT: they must follow their IF or loop. */
static void load_results(Tr *T, const Region *src, int at, Region *dst, Fwd *w)
{
    for (int q = 0; q < ir_nresults(T->g, src, at); q++)
        tape_load(T, src->ids.p[at + 1 + q], dst, w);
}

static void fwd_region(Tr *T, const Region *src, Region *dst, Fwd *w);

static void fwd_if(Tr *T, const Region *src, int at, Region *dst, Fwd *w)
{
    const Fn *g = T->g;
    Ref id = src->ids.p[at];
    int nr = ir_nresults(g, src, at);
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    Ref nif = ir_add(prim_at(T, dst, in->line), OP_IF, in->ty, T->map[in->arg[0]], NOREF, NOREF);
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(h, nif, s);
        h->v.p[nif].x->reg[s] = r;
        fwd_region(T, in->x->reg[s], r, w);
    }
    int n = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (is_lin(g, r))
            continue;
        int j = g->v.p[r].n;
        for (int s = 0; s < 2; s++)
            vec_push(h->arena, &h->v.p[nif].x->reg[s]->yield, T->map[in->x->reg[s]->yield.p[j]]);
        T->map[r] = ad_result(ir_at(h, dst), nif, n++, &g->v.p[r]);
    }
    load_results(T, src, at, dst, w);
}

/* Is v a function of index values and constants alone: a comparison of
 * indices (j < 2, the piece of a concatenation an element comes from),
 * and what combines them, a few operations deep? */
static int of_indices(const Fn *g, Ref v, int depth)
{
    const Inst *in = &g->v.p[v];
    Op op = (Op)in->op;
    if (op == OP_CONST || op == OP_IREAL || op == OP_IVAR)
        return 1;
    if (depth == 0 || op_info[op].kind != K_BOOL)
        return 0;
    for (int k = 0; k < op_info[op].nargs; k++)
        if (!of_indices(g, in->arg[k], depth - 1))
            return 0;
    return 1;
}

/* Is v cheap to recompute in a reverse loop (a load, an index, a
 * comparison of indices)? */
static int cheap(const Fn *g, Ref v)
{
    Op op = (Op)g->v.p[v].op;
    return op == OP_IDX || of_indices(g, v, 3);
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
            mark_needed(g, b, in->x->reg[0], need);
            mark_needed(g, b, in->x->reg[1], need);
        } else if (ir_is_loop(in)) {
            mark_needed(g, b, in->x->reg[0], need);
            continue;
        } else if (in->role != ROLE_TANGENT || in->op == OP_RESULT) {
            continue;
        }
        for (int k = 0; k < 3; k++)
            if (ops[k] != NOREF && !is_lin(g, ops[k]) && g->v.p[ops[k]].parent == b)
                need[ops[k]] = 1;
        if (in->op == OP_LIT)
            for (int k = 0; k < in->nix; k++)
                if (!is_lin(g, in->x->list[k]) && g->v.p[in->x->list[k]].parent == b)
                    need[in->x->list[k]] = 1;
    }
}

/* The element tapes of GEN src[at] of g, whose forward copy n (in dst)
 * yields ny values so far: the expensive values of its body its reverse
 * loop needs become extra yields and RESULTs (ROLE_TAPE), or are found
 * among its results, so that loop reads them instead of recomputing
 * them (the to-be-recorded values of Hascoet et al.); cheap ones (loads,
 * constants) are recomputed there. */
static void element_tapes(Tr *T, const Region *src, int at, Ref n, Region *dst, int ny, Fwd *w)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nr = ir_nresults(g, src, at);
    Region *b = h->v.p[n].x->reg[0];
    unsigned char *need = arena_alloc(h->arena, (size_t)g->v.n + 1);
    mark_needed(g, in->x->reg[0], in->x->reg[0], need);
    for (int i = 0; i < in->x->reg[0]->ids.n; i++) {
        Ref v = in->x->reg[0]->ids.p[i];
        if (!need[v] || cheap(g, v) || is_array(g, v))
            continue; /* recomputed in the reverse loop */
        Ref arr = NOREF;
        for (int q = 0; q < nr && arr == NOREF; q++) {
            Ref r = src->ids.p[at + 1 + q];
            if (!is_lin(g, r) && in->x->reg[0]->yield.p[g->v.p[r].n] == v)
                arr = T->map[r];
        }
        if (arr == NOREF) {
            Ref tv = T->map[v];
            if (g->v.p[v].ty.kind == TY_BOOL) {
                IrAt sat = prim_at(T, b, w->line = g->v.p[v].line);
                Ref one = ir_num(sat, 1); /* in this order, whatever the compiler */
                tv = ir_op(sat, OP_SELECT, tv, one, ir_num(sat, 0));
            }
            vec_push(h->arena, &b->yield, tv);
            IrAt tat = prim_at(T, dst, g->v.p[v].line);
            tat.role = ROLE_TAPE;
            arr = ir_result(tat, h->v.p[n].ty, n, ny++);
            const char *base = g->v.p[v].name;
            for (int q = 0; q < nr && !base; q++)
                base = g->v.p[src->ids.p[at + 1 + q]].name;
            h->v.p[arr].name = base ? base : "t";
        }
        T->tape[v] = arr;
        T->tape_gen[v] = id;
    }
}

/* The forward copy of a GEN or RED: its non-lin part.  A GEN with
 * tangent results also yields its element tapes (element_tapes). */
static void fwd_loop(Tr *T, const Region *src, int at, Region *dst, Fwd *w)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    ASSERT(in->op != OP_LOOP);
    int nr = ir_nresults(g, src, at);
    Ref n = ad_clone_loop_head(g, id, h, dst, (RedKind)in->red, T->map);
    Region *b = h->v.p[n].x->reg[0];
    fwd_region(T, in->x->reg[0], b, w);
    if (ad_store_gen(g, id) && !is_lin(g, src->ids.p[at + 1]))
        h->v.p[n].flags |= IF_SETELEM; /* the same store: f_hvp's tangent stores too */
    int ny = 0, has_lin = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (is_lin(g, r)) {
            has_lin = 1;
            continue;
        }
        vec_push(h->arena, &b->yield, T->map[in->x->reg[0]->yield.p[g->v.p[r].n]]);
        T->map[r] = ad_result(ir_at(h, dst), n, ny++, &g->v.p[r]);
    }
    if (in->op == OP_RED && has_lin && !T->small_tape) {
        unsigned char *need = tape_needs(g, id, NULL);
        unsigned char *rep = tape_replayed(g, id, need, 0);
        tape_needs_drop(g, need);
        for (int i = 0; i < in->x->reg[0]->ids.n; i++)
            if (rep[i])
                w->line = tape_record_loop(T, in->x->reg[0], i, b, n, in->x->ix[0].c, in->x->ix[1].c, w->line);
    }
    if (in->op == OP_GEN && has_lin)
        element_tapes(T, src, at, n, dst, ny, w);
    /* after every RESULT, tapes included: they must follow their GEN */
    load_results(T, src, at, dst, w);
}

/* The tapes of FOR id's carried values its reverse loop reads (stored),
 * made in dst before the loop, one row per iteration.  A carried value
 * whose new value is the result of a replayed loop (h = tanh(W @ h))
 * shares one tape with it (shared[j]): row i - lo holds the value
 * iteration i starts from, row 0 the initial value, and the result of
 * iteration i fills row i - lo + 1. */
static void for_tapes(Tr *T, Ref id, Region *dst, const unsigned char *stored,
                      const unsigned char *rep, unsigned char *shared)
{
    const Fn *g = T->g;
    const Inst *in = &g->v.p[id];
    int32_t lo = in->x->ix[0].c, hi = in->x->ix[1].c;
    IrAt at = prim_at(T, dst, in->line);
    for (int j = 0; j < in->nix; j++) {
        if (!stored[j])
            continue;
        T->egen[ir_carry(g, id, j)] = carry_store(T, id, j);
        if (T->egen[ir_carry(g, id, j)] != NOREF) {
            elem_tape(T, id, j, dst); /* the overwritten elements only */
            continue;
        }
        Ref c = ir_carry(g, id, j), y = in->x->reg[0]->yield.p[j];
        const Inst *yi = &g->v.p[y];
        int first = 1; /* one tape per result: the first carried value's */
        for (int q = 0; q < j; q++)
            first &= !(shared[q] && in->x->reg[0]->yield.p[q] == y);
        if (yi->op == OP_RESULT && !is_lin(g, y) && g->v.p[yi->arg[0]].parent == in->x->reg[0] && first)
            for (int i = 0; i < in->x->reg[0]->ids.n; i++)
                if (in->x->reg[0]->ids.p[i] == yi->arg[0])
                    shared[j] = rep[i];
        T->ftape[c] = tape_new(at, g->v.p[c].ty, lo, hi + shared[j], g->v.p[c].name);
        if (shared[j])
            tape_record_row(at, T->ftape[c], NOREF, 0, T->map[in->x->list[j]], g->v.p[c].ty);
    }
}

/* The CARRYs of h's FOR l, the forward copy of g's FOR id (carried value
 * j is l's to[j], or not carried if -1), and the recording of the values
 * each iteration starts from in their tapes. */
static void for_carries(Tr *T, Ref id, Ref l, const int *to, const unsigned char *stored,
                        const unsigned char *shared)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    Region *b = h->v.p[l].x->reg[0];
    Ref iv = b->ids.p[0];
    for (int j = 0; j < in->nix; j++) {
        if (to[j] < 0)
            continue;
        Ref c = ir_carry(g, id, j), nc = ir_carry(h, l, to[j]);
        T->map[c] = nc;
        h->v.p[nc].name = g->v.p[c].name;
        h->v.p[nc].line = g->v.p[c].line;
        if (!stored[j] || shared[j])
            continue;
        if (T->egen[c] != NOREF) {
            elem_move(T, c, b, iv, in->x->ix[0].c, 0);
            continue;
        }
        tape_record_row(prim_at(T, b, in->line), T->ftape[c], iv, in->x->ix[0].c, nc, g->v.p[c].ty);
    }
}

/* After h's FOR l, the forward copy of g's FOR src[at] (its carried
 * value j l's to[j]): the buffers its reverse loop rebuilds the stored
 * carries (carry_store) in, copies of their final values (a RESULT made
 * here, after the others, where g has none). */
static void elem_buffers(Tr *T, const Region *src, int at, Ref l, const int *to,
                         const unsigned char *stored, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nix = in->nix, nr = ir_nresults(g, src, at);
    Ref *fin = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < nix; j++) {
            Ref c = ir_carry(g, id, j);
            if (!stored[j] || T->egen[c] == NOREF)
                continue;
            if (pass) {
                elem_buffer(T, c, fin[j], dst, in->line);
                continue;
            }
            fin[j] = NOREF;
            for (int q = 0; q < nr; q++)
                if (g->v.p[src->ids.p[at + 1 + q]].n == j)
                    fin[j] = T->map[src->ids.p[at + 1 + q]];
            if (fin[j] == NOREF)
                fin[j] = ir_result(ir_at(h, dst), g->v.p[c].ty, l, to[j]);
        }
}

/* The forward copy of a for loop: its primal carried values, and the
 * recording of those its reverse loop needs, one row per iteration, in
 * tapes (static buffers of the trip count's size: no allocation). */
static void fwd_for(Tr *T, const Region *src, int at, Region *dst, Fwd *w)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nix = in->nix, nr = ir_nresults(g, src, at);
    int32_t lo = in->x->ix[0].c, hi = in->x->ix[1].c;
    unsigned char *stored = arena_alloc(h->arena, (size_t)nix + 1);
    unsigned char *need = tape_needs(g, id, stored);
    unsigned char *rep = T->small_tape ? arena_alloc(h->arena, (size_t)in->x->reg[0]->ids.n + 1)
                                       : tape_replayed(g, id, need, T->keep_bytes);
    tape_needs_drop(g, need);
    for (int j = 0; j < nix && hi <= lo; j++)
        stored[j] = 0; /* no iteration, nothing to record */
    int one = ir_while_flag(g, id);
    if (one >= 0) { /* read as 1 (rev_for_restore) */
        stored[one] = 0;
        if (!T->one)
            T->one = arena_alloc(g->arena, (size_t)g->v.n + 1);
        T->one[ir_carry(g, id, one)] = 1;
    }
    int *to = arena_alloc(h->arena, sizeof(int) * (size_t)(nix + 1));
    Ref *init = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    int n = 0;
    for (int j = 0; j < nix; j++) {
        to[j] = -1;
        if (is_lin(g, ir_carry(g, id, j)))
            continue;
        to[j] = n;
        init[n++] = T->map[in->x->list[j]];
    }
    unsigned char *shared = arena_alloc(h->arena, (size_t)nix + 1);
    for (int j = 0; j < nix; j++)
        if (stored[j])
            w->line = in->line; /* the line of its tapes */
    for_tapes(T, id, dst, stored, rep, shared);
    IrAt fat = prim_at(T, dst, in->line);
    fat.flags = in->flags & (IF_BACKWARDS | IF_CKPT);
    Ref l = ir_for(fat, lo, hi, n, init, NULL);
    Region *b = h->v.p[l].x->reg[0];
    T->map[in->x->reg[0]->ids.p[0]] = b->ids.p[0];
    h->v.p[b->ids.p[0]].name = g->v.p[in->x->reg[0]->ids.p[0]].name;
    for_carries(T, id, l, to, stored, shared);
    fwd_region(T, in->x->reg[0], b, w);
    for (int i = 0; i < in->x->reg[0]->ids.n; i++)
        if (rep[i])
            w->line = tape_record_loop(T, in->x->reg[0], i, b, l, lo, hi, w->line);
    for (int j = 0; j < nix; j++)
        if (to[j] >= 0)
            vec_push(h->arena, &b->yield, T->map[in->x->reg[0]->yield.p[j]]);
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        int j = g->v.p[r].n;
        if (to[j] < 0)
            continue;
        T->map[r] = ad_result(ir_at(h, dst), l, to[j], &g->v.p[r]);
    }
    elem_buffers(T, src, at, l, to, stored, dst);
}

/* Copies the non-lin instructions of g's src to h's dst (the forward
 * sweep, or its recomputation in a reverse loop: see Fwd). */
static void fwd_region(Tr *T, const Region *src, Region *dst, Fwd *w)
{
    for (int i = 0; i < src->ids.n; i++) {
        Ref id = src->ids.p[i];
        const Inst *in = &T->g->v.p[id];
        if (in->role == ROLE_TANGENT || in->op == OP_RESULT || in->op == OP_IVAR || in->op == OP_CARRY)
            continue;
        if (tape_load(T, id, dst, w))
            continue;
        if (w->replay != NOREF && T->replay[id] && src == T->g->v.p[w->replay].x->reg[0]) {
            if (T->replay[id]->n)
                w->line = in->line; /* the line of the rows it reads */
            tape_replay_loop(T, id, T->map[src->ids.p[0]], T->g->v.p[w->replay].x->ix[0].c, dst);
            continue;
        }
        if (in->op == OP_IF)
            fwd_if(T, src, i, dst, w);
        else if (in->op == OP_FOR)
            fwd_for(T, src, i, dst, w);
        else if (ir_is_loop(in))
            fwd_loop(T, src, i, dst, w);
        else
            T->map[id] = ir_copy_inst(T->h, dst, in, T->map);
    }
}

static const char *bar_name(Tr *T, Ref x)
{
    const char *n = T->g->v.p[x].name;
    return n ? arena_name(T->h->arena, n, "_bar", -1) : NULL;
}

static int inside(const Fn *g, Ref x, const Region *r);

/* ct[x][ix] += v for an array x of g (ix already in h's IVARs). */
static void acc_elem(Tr *T, IrAt at, Ref x, Aff *ix, Ref v)
{
    ASSERT(T->ct[x] != NOREF && T->h->v.p[T->ct[x]].op == OP_ZEROS);
    ir_acc(at, T->ct[x], ix, T->g->v.p[x].ty.rank, v);
    T->live[x] = 1;
}

/* ct[x] += arr, elementwise, for an array x of g. */
static void acc_whole(Tr *T, IrAt at, Ref x, Ref arr)
{
    Type t = T->g->v.p[x].ty;
    Ref l = ir_loop(at, OP_LOOP, ty_none(), t.rank, RK_SUM);
    for (int d = 0; d < t.rank; d++) {
        T->h->v.p[l].x->ix[d] = aff_const(T->h->arena, 0);
        T->h->v.p[l].x->ix[t.rank + d] = aff_const(T->h->arena, ty_dim(t, d));
    }
    IrAt body = at;
    body.r = T->h->v.p[l].x->reg[0];
    Ref v = ir_idx(body, arr, ad_ivar_index(T->h, l), t.rank);
    acc_elem(T, body, x, ad_ivar_index(T->h, l), v);
}

/* Moves the last instruction of region d to just before `loop`. */
static void before_loop(Region *d, Ref loop)
{
    Ref last = d->ids.p[d->ids.n - 1];
    int k = d->ids.n - 1;
    while (d->ids.p[k - 1] != loop)
        k--;
    for (int q = d->ids.n - 1; q >= k; q--)
        d->ids.p[q] = d->ids.p[q - 1];
    d->ids.p[k - 1] = last;
}

/* A scalar x of g defined outside a reverse loop being built: its
 * cotangent goes into a cell of the outermost such loop.  The cell of a
 * for loop starts from x's cotangent so far, which it then replaces:
 * the iterations add to it one by one, in the order one loop would, so
 * a loop split in two (ckpt.c) sums to the same bits. */
static int acc_cell(Tr *T, IrAt at, Ref x, Ref v)
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
            IrAt cat = at;
            cat.r = fr->dst;
            cat.rule_op = 0; /* the cell is no rule's step */
            cell = zeros(cat, ty_scalar(), bar_name(T, x));
            before_loop(fr->dst, fr->loop); /* it belongs before the loop */
            char chain = T->g->v.p[fr->src->owner].op == OP_FOR && T->ct[x] != NOREF;
            if (chain) {
                ir_acc(cat, cell, NULL, 0, T->ct[x]);
                before_loop(fr->dst, fr->loop);
            }
            vec_push(h->arena, &fr->xs, x);
            vec_push(h->arena, &fr->cells, cell);
            vec_push(h->arena, &fr->chained, chain);
        }
        ir_acc(at, cell, NULL, 0, v);
        return 1;
    }
    return 0;
}

/* ct[x] += v, at `at` (an accumulation: no rule's, unless fresh is
 * STEP: see accum_step).  `fresh` 1: v was made for x alone and may take
 * its name. */
static void accum(Tr *T, IrAt at, Ref x, Ref v, int fresh)
{
    if (v == NOREF)
        return;
    Fn *h = T->h;
    if (fresh != STEP)
        at.rule_op = 0;
    if (is_array(T->g, x)) {
        acc_whole(T, at, x, v);
        return;
    }
    if (acc_cell(T, at, x, v))
        return;
    vec_push(h->arena, &T->touched, x);
    if (T->ct[x] == NOREF) {
        if (fresh == 1 && !h->v.p[v].name)
            h->v.p[v].name = bar_name(T, x);
        T->ct[x] = v;
        return;
    }
    IrAt sum = at;
    sum.flags |= IF_ACC;
    Ref s = ir_op(sum, OP_ADD, T->ct[x], v, NOREF);
    h->v.p[s].name = bar_name(T, x);
    T->ct[x] = s;
}

/* The cells of a reverse loop just built (frame fr), accumulated after
 * it at `at`: those that started from their x's cotangent (`chained`:
 * they replace it, so they come first, before anything else the loop's
 * end adds to x), or the others. */
static void acc_cells(Tr *T, const Frame *fr, IrAt at, int chained)
{
    for (int k = 0; k < fr->xs.n; k++) {
        if (fr->chained.p[k] != chained)
            continue;
        Ref v = ir_idx(at, fr->cells.p[k], NULL, 0), x = fr->xs.p[k];
        if (chained) {
            vec_push(T->h->arena, &T->touched, x);
            T->h->v.p[v].name = bar_name(T, x);
            T->ct[x] = v;
        } else {
            accum(T, at, x, v, 1);
        }
    }
}

/* The transpose of g's sum `in` (the tangent of a + b or a - b: rule
 * facts (ADD or SUB, -1)) accumulates its cotangent ct into operand j
 * as it is: that accumulation is then the whole chain-rule step of
 * operand j (a_bar += s_bar), and takes the rule facts (op, j) --explain
 * reads.  An operand the rule made itself (-t) keeps none. */
static void accum_step(Tr *T, IrAt at, const Inst *in, int j, Ref ct)
{
    Ref x = in->arg[j];
    int step = (in->rule_op == OP_ADD || (in->rule_op == OP_SUB && j == 0)) && in->rule_arg < 0 &&
               at.rule_src != NOREF && T->g->v.p[x].rule_src != in->rule_src;
    at.rule_arg = (int8_t)(step ? j : -1);
    accum(T, at, x, ct, step ? STEP : 0);
}

static int rev_region(Tr *T, const Region *src, Region *dst, int line);
static int zeros_for_region(Tr *T, const Region *src, Region *dst, int line);

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

/* After the adjoint nif of g's IF id (in dst): the values defined before
 * the if whose cotangent a branch changed (from saved to after[s] since
 * touched entry `mark`), in the order of their first change, become its
 * RESULTs.  Returns how many. */
static int if_results(Tr *T, Ref id, Ref nif, Region *dst, int mark, const Ref *saved, Ref *const *after)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    VEC(Ref) changed = {0};
    unsigned stamp = ++T->nstamp;
    for (int i = mark; i < T->touched.n; i++) {
        Ref x = T->touched.p[i];
        if (T->stamp[x] == stamp)
            continue;
        T->stamp[x] = stamp;
        if (inside(g, x, in->x->reg[0]) || inside(g, x, in->x->reg[1]) || is_array(g, x))
            continue;
        if (after[0][x] == saved[x] && after[1][x] == saved[x])
            continue;
        vec_push(h->arena, &changed, x);
    }
    IrAt at = adj_at(T, dst, in->line);
    for (int i = 0; i < changed.n; i++) {
        Ref x = changed.p[i];
        for (int s = 0; s < 2; s++) {
            IrAt side = at;
            side.r = h->v.p[nif].x->reg[s];
            Ref v = after[s][x];
            if (v == NOREF)
                v = ir_num(side, 0);
            vec_push(h->arena, &side.r->yield, v);
        }
        Ref res = ir_result(at, ty_scalar(), nif, i);
        h->v.p[res].name = bar_name(T, x);
        T->ct[x] = res;
    }
    return changed.n;
}

/* The adjoint of `if c { A } else { B }` is `if c { A' } else { B' }`,
 * where A' is A's reverse sweep; the cotangents it changes of values
 * defined before the if become the results of the adjoint if.  Returns
 * the line its reverse sweep ends at (see rev_region). */
static int rev_if(Tr *T, const Region *src, int at, Region *dst, int line)
{
    const Fn *g = T->g;
    Ref id = src->ids.p[at];
    int nr = ir_nresults(g, src, at);
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    int any = 0;
    for (int q = 0; q < nr; q++)
        if (is_lin(g, src->ids.p[at + 1 + q]) && has_ct(T, src->ids.p[at + 1 + q]))
            any = 1;
    if (!any)
        return line;
    size_t nb = sizeof(Ref) * (size_t)g->v.n;
    Ref *saved = arena_alloc(h->arena, nb);
    Ref *after[2];
    memcpy(saved, T->ct, nb);
    int mark = T->touched.n;
    Ref nif = ir_add(adj_at(T, dst, in->line), OP_IF, ty_scalar(), T->map[in->arg[0]], NOREF, NOREF);
    for (int s = 0; s < 2; s++) {
        Region *r = ir_region_new(h, nif, s);
        h->v.p[nif].x->reg[s] = r;
        memcpy(T->ct, saved, nb);
        line = zeros_for_region(T, in->x->reg[s], r, line);
        for (int qi = 0; qi < nr; qi++) {
            Ref q = src->ids.p[at + 1 + qi];
            if (!is_lin(g, q) || saved[q] == NOREF || (is_array(g, q) && !T->live[q]))
                continue;
            line = g->v.p[q].line;
            accum(T, adj_at(T, r, line), in->x->reg[s]->yield.p[g->v.p[q].n], saved[q], 0);
        }
        line = rev_region(T, in->x->reg[s], r, line);
        after[s] = arena_alloc(h->arena, nb);
        memcpy(after[s], T->ct, nb);
    }
    memcpy(T->ct, saved, nb);
    int results = if_results(T, id, nif, dst, mark, saved, after);
    /* the three copies of the cotangents are as large as g: handed back
     * (an if in a loop of a long program left three such per if) */
    arena_drop(h->arena, saved, nb);
    arena_drop(h->arena, after[0], nb);
    arena_drop(h->arena, after[1], nb);
    return results ? in->line : line;
}

/* The adjoint of a GEN or sum RED with tangent results: a LOOP over the
 * same index space that recomputes (or reads from tapes) the primal
 * values it needs, seeds each lin yield with the result's cotangent (an
 * element of the adjoint array for a GEN; the adjoint scalar, broadcast,
 * for a reduction) and runs the body's reverse sweep. */
static int rev_loop(Tr *T, const Region *src, int at, Region *dst, int line)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nr = ir_nresults(g, src, at), any = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        any |= is_lin(g, r) && has_ct(T, r);
    }
    if (!any)
        return line;
    ASSERT(in->op == OP_GEN || in->red == RK_SUM);
    int nv = ir_nivars(g, id);
    Ref l = ir_loop(adj_at(T, dst, in->line), OP_LOOP, ty_none(), nv, RK_SUM);
    Inst *li = &h->v.p[l];
    for (int d = 0; d < nv; d++) {
        if (in->op == OP_GEN) {
            li->x->ix[d] = aff_const(h->arena, 0);
            li->x->ix[nv + d] = aff_const(h->arena, ty_dim(in->ty, d));
        } else {
            li->x->ix[0] = aff_remap(h->arena, in->x->ix[0], T->map);
            li->x->ix[1] = aff_remap(h->arena, in->x->ix[1], T->map);
        }
        Ref iv = ir_ivar(h, l, d);
        T->map[ir_ivar(g, id, d)] = iv;
        h->v.p[iv].name = g->v.p[ir_ivar(g, id, d)].name;
    }
    Region *b = li->x->reg[0];
    Frame fr = {0};
    fr.src = in->x->reg[0];
    fr.loop = l;
    fr.dst = dst;
    vec_push(h->arena, &T->frames, fr);
    /* its body's primal values: its element tapes, or the rows a sum's
     * body recorded, or recomputed */
    fwd_region(T, in->x->reg[0], b, &(Fwd){id, id, in->line});
    IrAt bat = adj_at(T, b, in->line);
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        if (!is_lin(g, r) || !has_ct(T, r))
            continue;
        Ref c = T->ct[r];
        if (in->op == OP_GEN)
            c = ir_idx(bat, c, ad_ivar_index(h, l), nv);
        accum(T, bat, in->x->reg[0]->yield.p[g->v.p[r].n], c, 0);
    }
    rev_region(T, in->x->reg[0], b, in->line);
    fr = T->frames.p[--T->frames.n];
    acc_cells(T, &fr, adj_at(T, dst, in->line), 0);
    return in->line;
}

/* ---------------- stores ---------------- */

/* cond, in the body of g's GEN gen, is a conjunction of (IVAR d of
 * gen) == index, each d at most once, the index free of gen's IVARs:
 * ix[d] gets the index, seen bit d is set. */
static int store_cond(const Fn *g, Ref gen, Ref cond, Aff *ix, unsigned *seen)
{
    const Inst *in = &g->v.p[cond];
    if (in->op == OP_AND)
        return store_cond(g, gen, in->arg[0], ix, seen) && store_cond(g, gen, in->arg[1], ix, seen);
    if (in->op != OP_EQ || g->v.p[in->arg[0]].op != OP_IREAL || g->v.p[in->arg[1]].op != OP_IREAL)
        return 0;
    int rank = g->v.p[gen].ty.rank;
    for (int side = 0; side < 2; side++) {
        Aff a = g->v.p[in->arg[side]].x->ix[0], b = g->v.p[in->arg[1 - side]].x->ix[0];
        if (a.c || a.n != 1 || a.a[0] != 1 || a.nq)
            continue;
        int d = 0;
        while (d < rank && a.iv[0] != ir_ivar(g, gen, d))
            d++;
        int free = d < rank && !(*seen >> d & 1);
        for (int e = 0; e < rank && free; e++)
            free = !aff_uses(b, ir_ivar(g, gen, e));
        if (!free)
            continue;
        *seen |= 1u << d;
        ix[d] = b;
        return 1;
    }
    return 0;
}

/* The stored value's tangent tv of g's store GEN gen (n fixed leading
 * indices): 1 if it is a row of a lin array, IDX(v, [iv_n, ...]), 0 if
 * it is a scalar defined before the GEN (or no tangent at all), -1 else. */
static int store_value(const Fn *g, Ref gen, int n, Ref tv)
{
    const Inst *in = &g->v.p[tv];
    int rank = g->v.p[gen].ty.rank;
    if (in->parent != g->v.p[gen].x->reg[0])
        return n == rank ? 0 : -1;
    if (!is_lin(g, tv))
        return in->op == OP_CONST && n == rank ? 0 : -1;
    if (in->op != OP_IDX || in->nix != rank - n || !is_lin(g, in->arg[0]))
        return -1;
    for (int d = 0; d < in->nix; d++) {
        Aff x = in->x->ix[d];
        if (x.c || x.n != 1 || x.a[0] != 1 || x.nq || x.iv[0] != ir_ivar(g, gen, n + d))
            return -1;
    }
    return 1;
}

/* A LOOP over dimensions n.. of type t in `at`: its body's IrAt, and in
 * ix[n..] its IVARs (ix[0..n) are the caller's). */
static IrAt row_loop(Tr *T, IrAt at, Type t, int n, Aff *ix)
{
    if (n == t.rank)
        return at;
    Fn *h = T->h;
    Ref l = ir_loop(at, OP_LOOP, ty_none(), t.rank - n, RK_SUM);
    for (int d = n; d < t.rank; d++) {
        h->v.p[l].x->ix[d - n] = aff_const(h->arena, 0);
        h->v.p[l].x->ix[t.rank - n + d - n] = aff_const(h->arena, ty_dim(t, d));
        ix[d] = aff_var(h->arena, ir_ivar(h, l, d - n));
    }
    at.r = h->v.p[l].x->reg[0];
    return at;
}

/* The adjoint of a store's tangent (lin_store): y_dot = x_dot with
 * y_dot[i] = v_dot.  With B the adjoint buffer of y, it is
 *
 *     v_bar += B[i];  B[i] = 0;  x_bar = B
 *
 * (a loop over the row for a row store): B becomes x's adjoint buffer
 * when nothing was accumulated into x's yet and x is of the store's
 * region, else it is added to x's.  The zeroing ACC is a store marked
 * setelem (f_hvp stores a zero tangent there too).  Returns 0, emitting
 * nothing, where the GEN is not in that form (rev_loop transposes it). */
static int rev_store(Tr *T, const Region *src, int at, Region *dst)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at], r = src->ids.p[at + 1];
    const Inst *in = &g->v.p[id];
    if (!ad_store_gen(g, id) || ir_nresults(g, src, at) != 1 || !is_lin(g, r))
        return 0;
    const Inst *sel = &g->v.p[in->x->reg[0]->yield.p[0]];
    Ref x = g->v.p[sel->arg[2]].arg[0], B = T->ct[r];
    Aff ix[DX_MAXRANK];
    unsigned seen = 0;
    if (!is_lin(g, x) || !has_ct(T, r) || h->v.p[B].op != OP_ZEROS ||
        !store_cond(g, id, sel->arg[0], ix, &seen) || (seen & (seen + 1)))
        return 0;
    int n = 0, rank = in->ty.rank;
    while (seen >> n & 1)
        n++;
    int kind = store_value(g, id, n, sel->arg[1]);
    if (n == 0 || kind < 0)
        return 0;
    if (kind == 1) {
        Ref cv = T->ct[g->v.p[sel->arg[1]].arg[0]];
        if (cv == NOREF || h->v.p[cv].op != OP_ZEROS)
            return 0;
    }
    Aff *ex = arena_alloc(h->arena, sizeof(Aff) * (size_t)rank);
    for (int d = 0; d < n; d++)
        ex[d] = aff_remap(h->arena, ix[d], T->map);
    IrAt sat = adj_at(T, dst, in->line);
    sat.rule_op = OP_SELECT;
    IrAt bat = row_loop(T, sat, in->ty, n, ex);
    Ref e = ir_idx(bat, B, ex, rank);
    if (kind == 1) {
        Aff *vx = arena_alloc(h->arena, sizeof(Aff) * (size_t)(rank - n));
        for (int d = n; d < rank; d++)
            vx[d - n] = aff_copy(h->arena, ex[d]);
        acc_elem(T, bat, g->v.p[sel->arg[1]].arg[0], vx, e);
    }
    else if (is_lin(g, sel->arg[1]))
        accum(T, bat, sel->arg[1], e, 1);
    Aff *zx = arena_alloc(h->arena, sizeof(Aff) * (size_t)rank);
    IrAt zat = row_loop(T, sat, in->ty, n, zx);
    for (int d = 0; d < n; d++)
        zx[d] = aff_copy(h->arena, ex[d]);
    Ref zero = ir_num(zat, 0);
    zat.flags = IF_STORE | IF_SETELEM;
    ir_acc(zat, B, zx, rank, zero);
    if (!T->live[x] && g->v.p[x].parent == in->parent) {
        T->ct[x] = B;
        T->live[x] = 1;
    } else {
        accum(T, sat, x, B, 0);
    }
    return 1;
}

/* Is carried value j of g's FOR id an array that the body changes by
 * stores only, its next value a chain of store GENs' results (in the
 * body) that starts from the value the iteration started from?  Its
 * adjoint is then one buffer the reverse loop updates in place (rev_for);
 * no other carried value's chain passes through it. */
static int stored_carry(const Fn *g, Ref id, int j)
{
    const Region *b = g->v.p[id].x->reg[0];
    Ref c = ir_carry(g, id, j), x = b->yield.p[j];
    if (!is_lin(g, c) || !is_array(g, c) || x == c)
        return 0;
    while (x != c) {
        const Inst *r = &g->v.p[x];
        if (r->op != OP_RESULT || !ad_store_gen(g, r->arg[0]) || g->v.p[r->arg[0]].parent != b)
            return 0;
        const Inst *gen = &g->v.p[r->arg[0]];
        x = g->v.p[g->v.p[gen->x->reg[0]->yield.p[0]].arg[2]].arg[0];
    }
    return 1;
}

/* ---------------- tapes of overwritten elements ---------------- */

/* Does region r (any depth) use c only as the array of an IDX? */
static int read_by_elements(const Fn *g, const Region *r, Ref c)
{
    for (int i = 0; i < r->yield.n; i++)
        if (r->yield.p[i] == c)
            return 0;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &g->v.p[r->ids.p[i]];
        for (int k = in->op == OP_IDX ? 1 : 0; k < 3; k++)
            if (in->arg[k] == c)
                return 0;
        for (int k = 0; (in->op == OP_LIT || in->op == OP_FOR) && k < in->nix; k++)
            if (in->x->list[k] == c)
                return 0;
        for (int q = 0; q < 2; q++)
            if (in->x->reg[q] && (q == 0 || in->op == OP_IF) && !read_by_elements(g, in->x->reg[q], c))
                return 0;
    }
    return 1;
}

/* The store of carried value j of g's FOR id, when the body changes it by
 * that one store and nothing else (its next value is a store GEN's result,
 * at the top of the body, of the value the iteration started from) and
 * reads it only by elements; else NOREF.  Its reverse loop then needs,
 * per iteration, only the elements the store overwrote: the to-be-
 * recorded analysis (Hascoet, Naumann and Pascual, FGCS 2005) applied
 * to the elements of an array. */
static Ref carry_store(const Tr *T, Ref id, int j)
{
    const Fn *g = T->g;
    const Inst *in = &g->v.p[id];
    Ref c = ir_carry(g, id, j), y = in->x->reg[0]->yield.p[j];
    if (is_lin(g, c) || !is_array(g, c) || is_lin(g, y) || g->v.p[y].op != OP_RESULT)
        return NOREF;
    Ref gen = g->v.p[y].arg[0];
    if (!ad_store_gen(g, gen) || g->v.p[gen].parent != in->x->reg[0])
        return NOREF;
    const Inst *sel = &g->v.p[g->v.p[gen].x->reg[0]->yield.p[0]];
    Aff ix[DX_MAXRANK];
    unsigned seen = 0;
    if (g->v.p[sel->arg[2]].arg[0] != c || !store_cond(g, gen, sel->arg[0], ix, &seen) ||
        !seen || (seen & (seen + 1)) || !read_by_elements(g, in->x->reg[0], c))
        return NOREF;
    return gen;
}

/* The store's leading indices in h (T->map; out NULL: none), in an
 * array of rank slots; returns how many. */
static int elem_index(Tr *T, Ref c, Aff *out)
{
    const Fn *g = T->g;
    Ref gen = T->egen[c];
    const Inst *sel = &g->v.p[g->v.p[gen].x->reg[0]->yield.p[0]];
    Aff ix[DX_MAXRANK];
    unsigned seen = 0;
    store_cond(g, gen, sel->arg[0], ix, &seen);
    int n = 0;
    for (; seen >> n & 1; n++)
        if (out)
            out[n] = aff_remap(T->h->arena, ix[n], T->map);
    return n;
}

/* The tape of carried value j's overwritten elements (or rows): one
 * element (row) per iteration, made in dst before the loop. */
static void elem_tape(Tr *T, Ref id, int j, Region *dst)
{
    const Fn *g = T->g;
    const Inst *in = &g->v.p[id];
    Ref c = ir_carry(g, id, j);
    int n = elem_index(T, c, NULL);
    Type t = g->v.p[c].ty, row = ty_array((int)t.rank - n, ty_dims(t) + n);
    T->ftape[c] = NOREF;
    T->etape[c] = tape_new(prim_at(T, dst, in->line), row, in->x->ix[0].c, in->x->ix[1].c,
                           g->v.p[c].name);
}

/* [iv - lo, ix[n..]]: where an element of row iv of an element tape is. */
static Aff *elem_row(Tr *T, Ref iv, int32_t lo, const Aff *ix, int n, int rank)
{
    Aff *tx = arena_alloc(T->h->arena, sizeof(Aff) * (size_t)(rank - n + 1));
    tx[0] = aff_var(T->h->arena, iv);
    tx[0].c = -lo;
    for (int d = n; d < rank; d++)
        tx[1 + d - n] = aff_copy(T->h->arena, ix[d]);
    return tx;
}

/* The elements of c that the store of iteration iv (body b) overwrites,
 * moved between c and row iv - lo of its element tape: at the start of
 * a forward iteration they are recorded (restore 0); at the start of a
 * reverse iteration, when the buffer holds c at the end of iteration iv,
 * they are put back (restore 1), making it c at the iteration's start,
 * the value the iteration's recomputation reads. */
static void elem_move(Tr *T, Ref c, Region *b, Ref iv, int32_t lo, int restore)
{
    Fn *h = T->h;
    Type t = T->g->v.p[c].ty;
    Aff *ix = arena_alloc(h->arena, sizeof(Aff) * (size_t)t.rank);
    int n = elem_index(T, c, ix);
    IrAt at = row_loop(T, prim_at(T, b, T->g->v.p[c].line), t, n, ix);
    Aff *row = elem_row(T, iv, lo, ix, n, t.rank);
    Ref x = restore ? T->xbuf[c] : T->map[c];
    Ref old = restore ? ir_idx(at, T->etape[c], row, t.rank - n + 1) : ir_idx(at, x, ix, t.rank);
    at.flags = IF_STORE;
    if (restore) {
        ir_acc(at, x, ix, t.rank, old);
        T->map[c] = x;
    } else {
        ir_acc(at, T->etape[c], row, t.rank - n + 1, old);
    }
}

/* After the forward loop (in dst): the buffer its reverse loop rebuilds
 * c in, a copy of the final value fin. */
static void elem_buffer(Tr *T, Ref c, Ref fin, Region *dst, int line)
{
    Fn *h = T->h;
    Type t = T->g->v.p[c].ty;
    IrAt at = prim_at(T, dst, line);
    at.flags = IF_NOINIT; /* every element is written below */
    Ref x = ir_add(at, OP_ZEROS, t, NOREF, NOREF, NOREF);
    h->v.p[x].name = T->g->v.p[c].name;
    at.flags = 0;
    Aff *ix = arena_alloc(h->arena, sizeof(Aff) * (size_t)t.rank);
    IrAt b = row_loop(T, at, t, 0, ix);
    Aff *ax = arena_alloc(h->arena, sizeof(Aff) * (size_t)t.rank);
    for (int d = 0; d < t.rank; d++)
        ax[d] = aff_copy(h->arena, ix[d]);
    Ref e = ir_idx(b, fin, ix, t.rank);
    b.flags = IF_STORE;
    ir_acc(b, x, ax, t.rank, e);
    T->xbuf[c] = x;
}

/* The adjoints the reverse loop of g's FOR src[at] carries backwards, one
 * per lin carried value j (to[j] its index, -1 for none), starting from
 * the cotangents of the loop's results or zeros (init).  A stored carry
 * (stored_carry) is no carried value but a buffer xb[j] made before the
 * loop (or the result's adjoint buffer), which every reverse iteration
 * changes in place.  Returns how many carried values. */
static int rev_for_init(Tr *T, const Region *src, int at, Region *dst, int *to, Ref *init, Ref *xb)
{
    const Fn *g = T->g;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    int nr = ir_nresults(g, src, at), n = 0;
    IrAt zat = adj_at(T, dst, in->line);
    for (int j = 0; j < in->nix; j++) {
        to[j] = -1;
        xb[j] = NOREF;
        Ref c = ir_carry(g, id, j);
        if (!is_lin(g, c))
            continue;
        Ref ctj = NOREF;
        for (int q = 0; q < nr; q++) {
            Ref r = src->ids.p[at + 1 + q];
            if (g->v.p[r].n == j && has_ct(T, r))
                ctj = T->ct[r];
        }
        if (stored_carry(g, id, j) && (ctj == NOREF || T->h->v.p[ctj].op == OP_ZEROS)) {
            xb[j] = ctj != NOREF ? ctj : zeros(zat, g->v.p[c].ty, bar_name(T, c));
            continue;
        }
        if (ctj == NOREF)
            ctj = is_array(g, c) ? zeros(zat, g->v.p[c].ty, NULL) : ir_num(zat, 0);
        to[j] = n;
        init[n++] = ctj;
    }
    return n;
}

/* At the start of reverse body b of FOR id (IVAR iv): the carried primal
 * values its iteration started from, read back from their tapes (row i:
 * the value at the start of forward iteration i), or placeholders that
 * stay dead where the reverse loop needs none; a while loop's flag that
 * fwd_for found may read as 1 (T->one) is 1, and has no tape. */
static void rev_for_restore(Tr *T, Ref id, Region *b, Ref iv)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    IrAt at = prim_at(T, b, in->line);
    for (int j = 0; j < in->nix; j++) {
        Ref c = ir_carry(g, id, j);
        if (is_lin(g, c))
            continue;
        Type ct = g->v.p[c].ty;
        Ref tape = T->ftape[c];
        if (T->egen[c] != NOREF && T->xbuf[c] != NOREF) {
            elem_move(T, c, b, iv, in->x->ix[0].c, 1);
            continue;
        }
        if (tape == NOREF) {
            T->map[c] = ct.rank ? zeros(at, ct, NULL) : ir_num(at, T->one && T->one[c]);
            continue;
        }
        T->map[c] = tape_read_row(at, tape, iv, in->x->ix[0].c);
        h->v.p[T->map[c]].name = g->v.p[c].name;
    }
}

/* At the end of a reverse iteration: buffer xb holds v, the adjoint of
 * the carried value the iteration started from (zero if NOREF), unless
 * it is v already: a copy, in a loop of stores. */
static void store_buffer(Tr *T, IrAt at, Ref xb, Ref v)
{
    if (v == xb)
        return;
    Fn *h = T->h;
    Type t = h->v.p[xb].ty;
    Aff *ix = arena_alloc(h->arena, sizeof(Aff) * (size_t)t.rank);
    IrAt b = row_loop(T, at, t, 0, ix);
    Aff *ax = arena_alloc(h->arena, sizeof(Aff) * (size_t)t.rank);
    for (int d = 0; d < t.rank; d++)
        ax[d] = aff_copy(h->arena, ix[d]);
    Ref e = v == NOREF ? ir_num(b, 0) : ir_idx(b, v, ix, t.rank);
    b.flags = IF_STORE | IF_SETELEM;
    ir_acc(b, xb, ax, t.rank, e);
}

/* The reverse sweep of FOR id's body in b, h's reverse loop l: the
 * adjoints carried in (to[j]: l's carried value for j; or the buffer
 * xb[j]) seed the values the body yielded; those of the values it
 * started from are yielded (or left in the buffer).  Returns the line
 * the body's reverse sweep ends at (see rev_region). */
static int rev_for_body(Tr *T, Ref id, Ref l, const int *to, const Ref *xb)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    const Inst *in = &g->v.p[id];
    const Region *sb = in->x->reg[0];
    Region *b = h->v.p[l].x->reg[0];
    IrAt at = adj_at(T, b, in->line);
    for (int j = 0; j < in->nix; j++) {
        Ref y = sb->yield.p[j];
        if (xb[j] != NOREF && !T->live[y]) {
            T->ct[y] = xb[j];
            T->live[y] = 1;
            continue;
        }
        if (xb[j] != NOREF) {
            accum(T, at, y, xb[j], 0);
            continue;
        }
        if (to[j] < 0)
            continue;
        Ref rc = ir_carry(h, l, to[j]);
        h->v.p[rc].name = bar_name(T, ir_carry(g, id, j));
        if (is_array(g, y) && !is_lin(g, y))
            continue;
        accum(T, at, y, rc, 0);
    }
    at.line = rev_region(T, sb, b, in->line);
    for (int j = 0; j < in->nix; j++) {
        Ref c = ir_carry(g, id, j);
        if (xb[j] != NOREF)
            store_buffer(T, at, xb[j], T->live[c] ? T->ct[c] : NOREF);
        if (to[j] < 0)
            continue;
        Ref v = T->ct[c];
        if (v == NOREF || (is_array(g, c) && !T->live[c]))
            v = is_array(g, c) ? zeros(at, g->v.p[c].ty, NULL) : ir_num(at, 0);
        vec_push(h->arena, &b->yield, v);
    }
    return at.line;
}

/* The adjoint of a for loop: the same iterations backwards, carrying the
 * adjoints of the loop's tangent carried values.  Each iteration restores
 * the carried primal values its derivatives need from the tapes,
 * recomputes the rest of the iteration's primal values from them, and
 * runs the body's reverse sweep (rev_for_body).  The adjoints it ends
 * with are those of the initial values; accumulating them takes the line
 * the body's reverse sweep ends at, which it returns (see rev_region). */
static int rev_for(Tr *T, const Region *src, int at, Region *dst, int line)
{
    const Fn *g = T->g;
    Fn *h = T->h;
    Ref id = src->ids.p[at];
    const Inst *in = &g->v.p[id];
    const Region *sb = in->x->reg[0];
    int nix = in->nix, nr = ir_nresults(g, src, at), any = 0;
    for (int q = 0; q < nr; q++) {
        Ref r = src->ids.p[at + 1 + q];
        any |= is_lin(g, r) && has_ct(T, r);
    }
    if (!any)
        return line;
    int *to = arena_alloc(h->arena, sizeof(int) * (size_t)(nix + 1));
    Ref *init = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    Ref *xb = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    int n = rev_for_init(T, src, at, dst, to, init, xb);
    IrAt fat = adj_at(T, dst, in->line);
    fat.flags = IF_BACKWARDS | (in->flags & IF_CKPT);
    uint8_t *crole = arena_alloc(h->arena, (size_t)n + 1);
    memset(crole, ROLE_ADJOINT, (size_t)n);
    Ref l = ir_for(fat, in->x->ix[0].c, in->x->ix[1].c, n, init, crole);
    Region *b = h->v.p[l].x->reg[0];
    Ref iv = b->ids.p[0];
    T->map[sb->ids.p[0]] = iv;
    h->v.p[iv].name = g->v.p[sb->ids.p[0]].name;
    Frame fr = {0};
    fr.src = sb;
    fr.loop = l;
    fr.dst = dst;
    vec_push(h->arena, &T->frames, fr);
    rev_for_restore(T, id, b, iv);
    fwd_region(T, sb, b, &(Fwd){NOREF, id, in->line});
    zeros_for_region(T, sb, b, 0);
    IrAt end = adj_at(T, dst, rev_for_body(T, id, l, to, xb));
    fr = T->frames.p[--T->frames.n];
    /* the adjoints of the initial values (the RESULTs first: they must
     * follow the loop) */
    IrAt rat = adj_at(T, dst, in->line);
    Ref *res = arena_alloc(h->arena, sizeof(Ref) * (size_t)(nix + 1));
    for (int j = 0; j < nix; j++) {
        if (to[j] < 0)
            continue;
        res[j] = ir_result(rat, h->v.p[init[to[j]]].ty, l, to[j]);
        h->v.p[res[j]].name = bar_name(T, in->x->list[j]);
    }
    acc_cells(T, &fr, end, 1);
    for (int j = 0; j < nix; j++) {
        Ref x = in->x->list[j];
        if (to[j] >= 0 && is_lin(g, x))
            accum(T, end, x, res[j], 0);
        if (xb[j] == NOREF || !is_lin(g, x))
            continue;
        if (!T->live[x] && g->v.p[x].parent == in->parent && T->ct[x] != NOREF) {
            T->ct[x] = xb[j]; /* nothing else was accumulated into it: the buffer is it */
            T->live[x] = 1;
        } else {
            accum(T, end, x, xb[j], 0);
        }
    }
    acc_cells(T, &fr, end, 0);
    return end.line;
}

/* Adjoint arrays for the lin arrays defined in src, zeroed at the start
 * of its reverse sweep.  Returns the line of the last (line if none). */
static int zeros_for_region(Tr *T, const Region *src, Region *dst, int line)
{
    const Fn *g = T->g;
    for (int i = 0; i < src->ids.n; i++) {
        Ref x = src->ids.p[i];
        if (is_lin(g, x) && is_array(g, x) && T->ct[x] == NOREF) {
            line = g->v.p[x].line;
            T->ct[x] = zeros(adj_at(T, dst, line), g->v.p[x].ty, bar_name(T, x));
        }
    }
    return line;
}

/* The transpose of g's scalar or array tangent instruction id, whose
 * cotangent is ct, at `at` (in's rule facts). */
static void transpose(Tr *T, Ref id, Ref ct, IrAt at)
{
    const Fn *g = T->g;
    const Inst *in = &g->v.p[id];
    Ref a = in->arg[0], b = in->arg[1];
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
            ix[j] = aff_remap(T->h->arena, in->x->ix[j], T->map);
        acc_elem(T, at, a, ix, ct);
        break;
    }
    case OP_LIT:
        for (int j = 0; j < in->nix; j++) {
            if (!is_lin(g, in->x->list[j]))
                continue;
            Ref v = ir_idx(at, ct, ad_flat_index(T->h->arena, in->ty, j), in->ty.rank);
            accum(T, at, in->x->list[j], v, 1);
        }
        break;
    case OP_ADD:
        accum_step(T, at, in, 0, ct);
        accum_step(T, at, in, 1, ct);
        break;
    case OP_SUB:
        accum_step(T, at, in, 0, ct);
        accum(T, at, b, ir_op(at, OP_NEG, ct, NOREF, NOREF), 1);
        break;
    case OP_NEG:
        accum(T, at, a, ir_op(at, OP_NEG, ct, NOREF, NOREF), 1);
        break;
    case OP_MUL: /* t * p or p * t, with p a primal value */
        if (is_lin(g, a))
            accum(T, at, a, ir_op(at, OP_MUL, ct, T->map[b], NOREF), 1);
        else
            accum(T, at, b, ir_op(at, OP_MUL, ct, T->map[a], NOREF), 1);
        break;
    case OP_MULZ: /* strong zero: an adjoint 0 stays 0 whatever p is */
        if (is_lin(g, a))
            accum(T, at, a, ir_op(at, OP_MULZ, ct, T->map[b], NOREF), 1);
        else
            accum(T, at, b, ir_op(at, OP_MULZ, ct, T->map[a], NOREF), 1);
        break;
    case OP_DIV:
    case OP_DIVZ:
        accum(T, at, a, ir_op(at, (Op)in->op, ct, T->map[b], NOREF), 1);
        break;
    case OP_SELECT: { /* a store's tangent c ? a : b (lin_store): each side its part */
        Ref c = T->map[in->arg[0]], z = ir_num(at, 0);
        if (is_lin(g, b))
            accum(T, at, b, ir_op(at, OP_SELECT, c, ct, z), 1);
        if (is_lin(g, in->arg[2]))
            accum(T, at, in->arg[2], ir_op(at, OP_SELECT, c, z, ct), 1);
        break;
    }
    default:
        BUG("ad_transpose: a linear instruction without a transpose rule");
    }
}

/* The reverse sweep of src into dst: its instructions backwards, each
 * tangent one with a cotangent transposed.  Returns the source line of
 * the last one transposed (line, the one before, if none): the
 * accumulations that close a reverse loop's iterations take it (0 when
 * that is a tangent CARRY or PARAM, which have no line). */
static int rev_region(Tr *T, const Region *src, Region *dst, int line)
{
    const Fn *g = T->g;
    line = zeros_for_region(T, src, dst, line);
    for (int i = src->ids.n - 1; i >= 0; i--) {
        Ref id = src->ids.p[i];
        const Inst *in = &g->v.p[id];
        if (in->op == OP_IF) {
            line = rev_if(T, src, i, dst, line);
        } else if (in->op == OP_GEN && rev_store(T, src, i, dst)) {
            line = in->line;
        } else if (in->op == OP_GEN || in->op == OP_RED) {
            line = rev_loop(T, src, i, dst, line);
        } else if (in->op == OP_FOR) {
            line = rev_for(T, src, i, dst, line);
        } else if (is_lin(g, id) && has_ct(T, id)) {
            transpose(T, id, T->ct[id], rule_at(T, dst, in));
            line = in->line;
        }
    }
    return line;
}

Fn *ad_transpose(const Fn *g, const char *name, FnKind kind, int small_tape, long long keep_bytes)
{
    Arena *A = g->arena;
    Tr T = {0};
    T.g = g;
    T.h = ad_derived(g, name, kind);
    T.map = ad_ref_map(g);
    T.ct = ad_ref_map(g);
    T.stamp = arena_alloc(A, sizeof(unsigned) * (size_t)(g->v.n + 1));
    T.live = arena_alloc(A, (size_t)g->v.n + 1);
    T.tape = ad_ref_map(g);
    T.tape_gen = ad_ref_map(g);
    T.ftape = ad_ref_map(g);
    T.egen = ad_ref_map(g);
    T.etape = ad_ref_map(g);
    T.xbuf = ad_ref_map(g);
    T.replay = arena_alloc(A, sizeof(Replay *) * (size_t)(g->v.n + 1));
    T.small_tape = small_tape;
    T.keep_bytes = small_tape ? 0 : keep_bytes;
    /* inputs: everything but the tangents keeps its index */
    for (int i = 0; i < g->in.n; i++)
        if (g->in.p[i].role != IN_TANGENT)
            vec_push(A, &T.h->in, g->in.p[i]);
    ASSERT(g->out.n == 2);
    Output prim = g->out.p[0], tout = g->out.p[1];
    Ref seed;
    fwd_region(&T, g->body, T.h->body, &(Fwd){NOREF, NOREF, 0});
    if (prim.ty.rank == 0) {
        seed = ir_num(prim_at(&T, T.h->body, 0), 1);
    } else {
        Input s = {.name = "out_bar", .ty = prim.ty, .role = IN_SEED};
        vec_push(A, &T.h->in, s);
        seed = ir_param(T.h, T.h->body, T.h->in.n - 1);
    }
    if (is_lin(g, tout.ref)) {
        T.ct[tout.ref] = seed;
        T.live[tout.ref] = 1;
    }
    IrAt zat = adj_at(&T, T.h->body, rev_region(&T, g->body, T.h->body, 0));
    prim.ref = T.map[prim.ref];
    vec_push(A, &T.h->out, prim);
    for (int i = 0; i < g->body->ids.n; i++) {
        Ref id = g->body->ids.p[i];
        const Inst *in = &g->v.p[id];
        if (in->op != OP_PARAM || g->in.p[in->n].role != IN_TANGENT)
            continue;
        const Input *ti = &g->in.p[in->n];
        Output o = {0};
        o.name = ad_suffixed(A, g->in.p[ti->of].name, "_bar");
        o.ty = ti->ty;
        o.role = OUT_BAR;
        o.of = ti->of;
        o.ref = T.ct[id];
        if (o.ref == NOREF)
            o.ref = is_array(g, id) ? zeros(zat, ti->ty, o.name) : ir_num(zat, 0);
        vec_push(A, &T.h->out, o);
    }
    /* the tables as large as g, handed back */
    Ref *maps[] = {T.map, T.ct, T.tape, T.tape_gen, T.ftape, T.egen, T.etape, T.xbuf};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        ad_ref_map_drop(g, maps[i]);
    arena_drop(A, T.stamp, sizeof(unsigned) * (size_t)(g->v.n + 1));
    arena_drop(A, T.live, (size_t)g->v.n + 1);
    arena_drop(A, T.replay, sizeof(Replay *) * (size_t)(g->v.n + 1));
    if (T.one)
        arena_drop(A, T.one, (size_t)g->v.n + 1);
    return T.h;
}
