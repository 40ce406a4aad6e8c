/*
 * onepass.c - one loop instead of two: the backward loop of a reduction
 * whose adjoint is known before the reduction runs joins the reduction's
 * forward loop (opt_join).
 *
 * In f_grad of  y = sum(g(x[i]) for i in 0..n)  the adjoint of y is the
 * seed, 1, known before the sum runs, so the backward loop (a LOOP over
 * the same i adding g'(x[i]) into x_bar) can run inside the forward loop,
 * each iteration's adjoint right after its value.  CSE then merges what
 * the backward loop recomputed (g's intermediate values) with what the
 * forward loop computed, and a tape row written in an iteration and read
 * back in the same one becomes the value itself, so the tape goes.  This
 * is loop fusion (Allen & Kennedy, "Optimizing Compilers for Modern
 * Architectures", 2001, section 8.6) of a forward-sweep loop with the
 * reverse-sweep loop that transposes it: legal because the reverse loop's
 * iterations are independent (the transpose of a reduction or GEN is a
 * parallel loop) and what they read from the forward loop is only the
 * tape rows of their own iteration.
 *
 * The conditions, for a sum RED R (f_hvp's derivative of a max, min or
 * prod reduction copies its body twice: its effects too) and a later
 * LOOP L over the same constant range in one region, at most JOIN_WINDOW
 * instructions apart, L running forwards and part of the reverse sweep,
 * both from the same source line (L is R's transpose: unrelated loops
 * are left apart, as a reader of the code expects them):
 *   - L reads no result of R, even through the instructions between them
 *     (those it reads are hoisted above R, and must hold no effect, read
 *     no buffer written after them and no value inside another
 *     instruction's region);
 *   - no instruction between them adds into a buffer L reads, or stores
 *     into one L adds to (adds into the same buffer may change order: the
 *     gradient then differs from the two-loop one in rounding only);
 *   - every buffer R's body writes and L reads is a tape row of the same
 *     iteration: one store of a value, or a loop copying an array.
 *
 * The second half of the file keeps, in the same spirit, the reductions a
 * backward loop would compute again (reuse), and forwards the row copies
 * that leaves (forward_copies).
 */
#include "ir.h"

#include <string.h>

typedef IrRefs RefList;

typedef void (*Visit)(void *arg, Fn *f, Ref user, Ref used, int is_acc_buffer);

/* Calls v on every operand of every instruction in r and the regions it
 * holds (yields included): user is the instruction (NOREF for a yield). */
static void each_operand(Fn *f, Region *r, Visit v, void *arg)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        Inst *in = &f->v.p[id];
        for (int k = 0; k < op_info[in->op].nargs; k++)
            if (in->arg[k] != NOREF)
                v(arg, f, id, in->arg[k], in->op == OP_ACC && k == 0);
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int k = 0; k < in->nix; k++)
                v(arg, f, id, in->x->list[k], 0);
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s])
                each_operand(f, in->x->reg[s], v, arg);
    }
    for (int i = 0; i < r->yield.n; i++)
        v(arg, f, NOREF, r->yield.p[i], 0);
}

/* The tables of opt_join, made once for the function (a join adds no
 * instruction, so they keep their size): a mark is set when it holds the
 * current stamp, and each attempt takes a new stamp instead of clearing
 * them, so trying a pair costs what the pair holds, not the function. */
typedef struct {
    unsigned st;
    unsigned *hoist, *read, *t_read, *t_added, *t_stored, *tape;
    Ref *acc_of, *map, *repl;
    int *pos;
    RefList *writes; /* a top-level instruction of the region: its ACCs */
} Scratch;

typedef struct {
    Region *r;       /* the region holding R and L */
    const int *pos;  /* an instruction's position in r, or -1 */
    int at_r, at_l;
    unsigned *hoist; /* the instructions between R and L that L reads */
    unsigned *read;  /* buffers the hoisted instructions read */
    unsigned st;     /* the stamp that sets a mark */
    Ref self;        /* whose operands are being visited: L or a hoisted one */
    RefList work;
    int bad;
} Join;

/* The instruction at the top of region r that holds v (v itself when it
 * is there). */
static Ref top_of(const Fn *f, Ref v, const Region *r)
{
    while (f->v.p[v].parent != r && f->v.p[v].parent->owner != NOREF)
        v = f->v.p[v].parent->owner;
    return v;
}

/* An operand of L or of an instruction hoisted with it: one between R and
 * L is hoisted too (with what it reads); one inside another instruction's
 * region (an if's value read from a later if) or R itself stop the join. */
static void want(void *arg, Fn *f, Ref user, Ref used, int is_acc_buffer)
{
    Join *J = arg;
    (void)user;
    Ref top = top_of(f, used, J->r);
    if (top != used) {
        if (top != J->self)
            J->bad = 1;
        return;
    }
    if (J->self != J->r->ids.p[J->at_l] && !is_acc_buffer && f->v.p[used].op == OP_ZEROS)
        J->read[used] = J->st;
    int p = J->pos[used];
    if (p <= J->at_r || p >= J->at_l) {
        if (p == J->at_r)
            J->bad = 1;
        return;
    }
    if (J->hoist[used] == J->st)
        return;
    J->hoist[used] = J->st;
    vec_push(f->arena, &J->work, used);
}

/* Marks every instruction between R and L that L needs, with what it
 * needs in turn; fails (J->bad) if that includes R or an effect. */
static void close_hoisted(Join *J, Fn *f, Ref L)
{
    J->self = L;
    each_operand(f, f->v.p[L].x->reg[0], want, J);
    while (J->work.n && !J->bad) {
        Ref m = J->work.p[--J->work.n];
        Inst *in = &f->v.p[m];
        J->self = m;
        if (in->op == OP_RESULT && in->arg[0] != NOREF && J->pos[in->arg[0]] == J->at_r) {
            J->bad = 1;
            break;
        }
        /* a structured instruction moves with its results */
        int p = J->pos[m];
        for (int q = p + 1; q < J->at_l; q++) {
            Ref x = J->r->ids.p[q];
            if (x == NOREF || f->v.p[x].op != OP_RESULT || f->v.p[x].arg[0] != m)
                break;
            if (J->hoist[x] != J->st) {
                J->hoist[x] = J->st;
                vec_push(f->arena, &J->work, x);
            }
        }
        RefList accs = {0};
        if (in->op == OP_ACC)
            J->bad = 1;
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s]) {
                ir_accs(f, in->x->reg[s], &accs);
                each_operand(f, in->x->reg[s], want, J);
            }
        for (int k = 0; k < op_info[in->op].nargs; k++)
            if (in->arg[k] != NOREF)
                want(J, f, m, in->arg[k], 0);
        if ((in->op == OP_LIT || in->op == OP_FOR))
            for (int k = 0; k < in->nix; k++)
                want(J, f, m, in->x->list[k], 0);
        if (accs.n)
            J->bad = 1;
    }
}

/* What L does with buffers: reads (any use but as an ACC's target) and
 * adds or stores. */
typedef struct {
    unsigned *read, *added, *stored;
    unsigned st;
} Touch;

static void touch(void *arg, Fn *f, Ref user, Ref used, int is_acc_buffer)
{
    Touch *T = arg;
    if (f->v.p[used].op != OP_ZEROS)
        return;
    if (!is_acc_buffer)
        T->read[used] = T->st;
    else if (f->v.p[user].flags & IF_STORE)
        T->stored[used] = T->st;
    else
        T->added[used] = T->st;
}

/* Whether ACC acc is the store of a loop that only copies a row: its loop
 * (a LOOP running forwards, or a RED that reduces nothing) over the index
 * variables j... from 0 holds just  v = IDX A[pre..., j...]  and
 *   ACC T[row..., j...] = v,  each j running over the whole trailing
 * dimensions of A and T, A made outside the loop.  Gives A and how many
 * leading indices T (trow) and A (srow) have.  Tapes of arrays are
 * written so (tape_record_row), and so are the kept rows reuse reads. */
static int copy_loop(const Fn *f, Ref acc, Ref *src, int *trow, int *srow)
{
    const Inst *a = &f->v.p[acc];
    const Region *p = a->parent;
    if (!(a->flags & IF_STORE) || p->owner == NOREF)
        return 0;
    const Inst *lp = &f->v.p[p->owner], *v = &f->v.p[a->arg[1]];
    int red = lp->op == OP_RED && !p->yield.n, m = red ? 1 : lp->nix;
    if ((lp->op != OP_LOOP && !red) || (lp->flags & IF_BACKWARDS) || p->ids.n != m + 2 ||
        v->op != OP_IDX || v->parent != p || a->nix < m || v->nix < m ||
        f->v.p[v->arg[0]].parent == p)
        return 0;
    int tr = a->nix - m, sr = v->nix - m;
    const Type *at = &f->v.p[a->arg[0]].ty, *vt = &f->v.p[v->arg[0]].ty;
    for (int d = 0; d < m; d++) {
        Aff one = aff_var(f->arena, ir_ivar(f, p->owner, d));
        Aff lo = lp->x->ix[red ? 0 : d], hi = lp->x->ix[red ? 1 : m + d];
        if (!aff_eq(a->x->ix[tr + d], one) || !aff_eq(v->x->ix[sr + d], one) || !aff_is_const(lo) ||
            lo.c != 0 || !aff_is_const(hi) || hi.c != ty_dim(*vt, sr + d) || hi.c != ty_dim(*at, tr + d))
            return 0;
    }
    *src = v->arg[0];
    *trow = tr;
    *srow = sr;
    return 1;
}

/* How R's body stored what the tape read rd of L's body reads back in
 * the same iteration, ix being rd's indices in R's IVAR: 0 not so (or
 * not known), 1 as a value (*val), 2 as a row its loop copied from array
 * *val, read at rd's last indices from *row on. */
static int tape_match(Fn *f, Ref R, const Inst *rd, const Aff *ix, Ref acc, Ref *val, int *row)
{
    const Inst *a = &f->v.p[acc];
    Region *p = a->parent, *body = f->v.p[R].x->reg[0];
    if (rd->op != OP_IDX || rd->nix != a->nix || !(a->flags & IF_STORE))
        return 0;
    if (p == body) {
        for (int k = 0; k < a->nix; k++)
            if (!aff_eq(ix[k], a->x->ix[k]))
                return 0;
        *val = a->arg[1];
        return 1;
    }
    /* a loop in R's body copying array A (whole) into a row of the tape */
    int r0, sr;
    if (p->owner == NOREF || f->v.p[p->owner].parent != body || !copy_loop(f, acc, val, &r0, &sr) ||
        sr != 0)
        return 0;
    for (int k = 0; k < r0; k++)
        if (!aff_eq(ix[k], a->x->ix[k]))
            return 0;
    *row = r0;
    return 2;
}

/* Every Aff in r and its regions through map. */
static void remap_region(Fn *f, Region *r, const Ref *map)
{
    for (int i = 0; i < r->ids.n; i++) {
        Inst *in = &f->v.p[r->ids.p[i]];
        for (int k = 0; k < ir_naffs(in); k++)
            in->x->ix[k] = aff_remap(f->arena, in->x->ix[k], map);
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s])
                remap_region(f, in->x->reg[s], map);
    }
}

/* The IDXs of r and its regions that read a buffer in `tape`. */
typedef struct {
    const unsigned *tape;
    unsigned st;
    RefList reads;
    int other; /* a use that is not an IDX */
} TapeUse;

static void tape_use(void *arg, Fn *f, Ref user, Ref used, int is_acc_buffer)
{
    TapeUse *U = arg;
    if (U->tape[used] != U->st)
        return;
    if (user != NOREF && f->v.p[user].op == OP_IDX && !is_acc_buffer)
        vec_push(f->arena, &U->reads, user);
    else
        U->other = 1;
}

/* The rule_src of the instructions in region rg (and its regions) that
 * move above the instructions between R and L: one that names an
 * instruction staying there is forgotten (NOREF: --explain alone reads
 * it), so every name still comes before its reader. */
static void forget_later(Fn *f, Region *rg, const Join *J)
{
    for (int q = 0; q < rg->ids.n; q++) {
        Inst *in = &f->v.p[rg->ids.p[q]];
        if (in->rule_src != NOREF) {
            int p = J->pos[top_of(f, in->rule_src, J->r)];
            if (p >= J->at_r && p < J->at_l && J->hoist[top_of(f, in->rule_src, J->r)] != J->st)
                in->rule_src = NOREF;
        }
        for (int s = 0; s < 2; s++)
            if (in->x->reg[s])
                forget_later(f, in->x->reg[s], J);
    }
}

/* Joins L (at j) into R (at i) of region r if the conditions at the top
 * hold; returns whether it did. */
static int join_pair(Fn *f, Region *r, Scratch *S, int i, int j)
{
    Ref R = r->ids.p[i], L = r->ids.p[j];
    Inst *red = &f->v.p[R], *loop = &f->v.p[L];
    Arena *A = f->arena;
    unsigned st = ++S->st;
    Join J = {r, S->pos, i, j, S->hoist, S->read, st, NOREF, {0}, 0};
    close_hoisted(&J, f, L);
    if (J.bad)
        return 0;

    Touch T = {S->t_read, S->t_added, S->t_stored, st};
    each_operand(f, loop->x->reg[0], touch, &T);
    /* what stays between them writes nothing L or the hoisted read */
    for (int q = i + 1; q < j; q++) {
        Ref x = r->ids.p[q];
        if (x == NOREF || J.hoist[x] == st)
            continue;
        const RefList *w = &S->writes[x];
        for (int k = 0; k < w->n; k++) {
            const Inst *a = &f->v.p[w->p[k]];
            Ref b = a->arg[0];
            if (T.read[b] == st || J.read[b] == st || T.stored[b] == st ||
                (T.added[b] == st && (a->flags & IF_STORE)))
                return 0;
        }
    }

    /* tapes R's body writes: L may only read their rows of its iteration */
    RefList raccs = S->writes[R];
    unsigned *tape = S->tape;
    Ref *acc_of = S->acc_of;
    for (int k = 0; k < raccs.n; k++) {
        Ref b = f->v.p[raccs.p[k]].arg[0];
        if (J.read[b] == st || T.added[b] == st || T.stored[b] == st)
            return 0; /* read above R once hoisted, or written by both */
        acc_of[b] = tape[b] == st ? NOREF : raccs.p[k]; /* one store per buffer */
        tape[b] = st;
    }
    TapeUse U = {tape, st, {0}, 0};
    each_operand(f, loop->x->reg[0], tape_use, &U);
    if (U.other)
        return 0;

    /* every read matches a store of R's body, or nothing changes */
    Ref *map = S->map, liv = ir_ivar(f, L, 0); /* the identity, but for L's IVAR */
    map[liv] = ir_ivar(f, R, 0);
    Ref *val = arena_alloc(A, sizeof(Ref) * (size_t)(U.reads.n + 1));
    int *kind = arena_alloc(A, sizeof(int) * (size_t)(U.reads.n + 1));
    int *row = arena_alloc(A, sizeof(int) * (size_t)(U.reads.n + 1));
    for (int k = 0; k < U.reads.n; k++) {
        const Inst *rd = &f->v.p[U.reads.p[k]];
        Ref acc = acc_of[rd->arg[0]];
        Aff *ix = arena_alloc(A, sizeof(Aff) * (size_t)(rd->nix + 1));
        for (int d = 0; d < rd->nix; d++)
            ix[d] = aff_remap(A, rd->x->ix[d], map);
        kind[k] = acc == NOREF ? 0 : tape_match(f, R, rd, ix, acc, &val[k], &row[k]);
        if (!kind[k]) {
            map[liv] = liv;
            return 0;
        }
    }

    remap_region(f, loop->x->reg[0], map);
    map[liv] = liv;
    Ref *repl = S->repl; /* all NOREF between joins */
    for (int k = 0; k < U.reads.n; k++) {
        Inst *rd = &f->v.p[U.reads.p[k]];
        if (kind[k] == 1) {
            repl[U.reads.p[k]] = val[k];
        } else { /* read the copied array where the row was read */
            rd->arg[0] = val[k];
            rd->x->ix += row[k];
            rd->nix -= row[k];
        }
    }
    opt_rewrite_region(f, loop->x->reg[0], repl);
    for (int k = 0; k < U.reads.n; k++)
        repl[U.reads.p[k]] = NOREF;

    for (int q = i + 1; q < j; q++) {
        Ref x = r->ids.p[q];
        if (x == NOREF || J.hoist[x] != st)
            continue;
        Region one = {{&r->ids.p[q], 1, 1}, {0}, NOREF, 0};
        forget_later(f, &one, &J);
    }
    forget_later(f, loop->x->reg[0], &J);

    /* the new order of positions i..j: the hoisted, R and its results, the
     * rest, and a hole where L was (join_region closes the holes) */
    RefList order = {0};
    for (int q = i + 1; q < j; q++)
        if (r->ids.p[q] != NOREF && J.hoist[r->ids.p[q]] == st)
            vec_push(A, &order, r->ids.p[q]);
    vec_push(A, &order, R);
    for (int q = i + 1; q < j; q++)
        if (r->ids.p[q] == NOREF || J.hoist[r->ids.p[q]] != st)
            vec_push(A, &order, r->ids.p[q]);
    vec_push(A, &order, NOREF);
    ASSERT(order.n == j - i + 1);
    for (int q = 0; q < order.n; q++) {
        r->ids.p[i + q] = order.p[q];
        if (order.p[q] != NOREF)
            S->pos[order.p[q]] = i + q;
    }

    /* L's body, but for its IVAR, at the end of R's, and its writes R's */
    for (int k = 0; k < S->writes[L].n; k++)
        vec_push(A, &S->writes[R], S->writes[L].p[k]);
    S->writes[L].n = 0;
    Region *b = red->x->reg[0], *lb = loop->x->reg[0];
    for (int q = 1; q < lb->ids.n; q++) {
        vec_push(A, &b->ids, lb->ids.p[q]);
        f->v.p[lb->ids.p[q]].parent = b;
    }
    lb->ids.n = 1;
    return 1;
}

/* How far back from a backward loop its sum is looked for: enough for a
 * model's code between the two, and compile time stays linear. */
enum { JOIN_WINDOW = 512 };

/* Every join in region r; returns how many it made.  A join leaves a hole
 * where L was (so no position after it moves); the holes are closed at
 * the end. */
static int join_region(Fn *f, Region *r, Scratch *S)
{
    int joins = 0;
    for (int q = 0; q < r->ids.n; q++) {
        Ref x = r->ids.p[q];
        Inst *in = &f->v.p[x];
        S->pos[x] = q;
        S->writes[x].n = 0;
        if (in->op == OP_ACC)
            vec_push(f->arena, &S->writes[x], x);
        for (int k = 0; k < 2; k++)
            if (in->x->reg[k])
                ir_accs(f, in->x->reg[k], &S->writes[x]);
    }
    for (int j = 0; j < r->ids.n; j++) {
        Ref L = r->ids.p[j];
        const Inst *l = &f->v.p[L];
        if (!ir_is_rev_loop(l) || !aff_is_const(l->x->ix[0]) || !aff_is_const(l->x->ix[1]))
            continue;
        for (int i = j - 1; i >= 0 && i >= j - JOIN_WINDOW; i--) {
            if (r->ids.p[i] == NOREF)
                continue;
            const Inst *red = &f->v.p[r->ids.p[i]];
            if (red->op != OP_RED || red->red != RK_SUM || ir_is_rev(red) || !aff_is_const(red->x->ix[0]) ||
                !aff_is_const(red->x->ix[1]) || red->x->ix[0].c != l->x->ix[0].c ||
                red->x->ix[1].c != l->x->ix[1].c || red->line != l->line)
                continue;
            if (join_pair(f, r, S, i, j)) {
                joins++;
                S->pos[L] = -1;
                break;
            }
        }
    }
    int n = 0;
    for (int q = 0; q < r->ids.n; q++)
        if (r->ids.p[q] != NOREF) {
            S->pos[r->ids.p[q]] = -1;
            r->ids.p[n++] = r->ids.p[q];
        }
    r->ids.n = n;
    return joins;
}

/* ---------------- reductions the backward loop recomputes ----------------
 *
 * The backward loop over k of a GEN over k recomputes the reductions in
 * the GEN's body that its local derivatives need: a Gaussian mixture's
 * row sums of L_k (x - mu_k), computed once forwards for the quadratic
 * form and again backwards for its gradient.  When the two are the same
 * computation (same_region: the same instructions, operands and bounds,
 * the backward loop's index variables standing for the GEN's), the GEN
 * stores each result in a buffer indexed like the loops around it, and
 * the backward loop reads it there: the recomputation goes (common
 * subexpression elimination across loops, the "store" side of store or
 * recompute; Griewank & Walther, "Evaluating Derivatives", 2008, ch. 12).
 * Only reductions at the top of the two bodies, or one loop down inside
 * a reduction of the same constant bounds, are matched; their bodies may
 * read no mutable buffer. */

/* The map of same_inst: b's values to a's, the identity but where set;
 * each set entry is listed, to be put back after an attempt. */
typedef struct {
    Ref *map;
    int cap;
    RefList set;
} SameMap;

static void map_fit(Fn *f, SameMap *M)
{
    if (f->v.n + 1 <= M->cap)
        return;
    M->cap = 2 * (f->v.n + 1);
    M->map = arena_alloc(f->arena, sizeof(Ref) * (size_t)M->cap);
    for (Ref v = 0; v < M->cap; v++)
        M->map[v] = v;
    M->set.n = 0;
}

static void map_set(Fn *f, SameMap *M, Ref b, Ref a)
{
    M->map[b] = a;
    vec_push(f->arena, &M->set, b);
}

static void map_reset(SameMap *M)
{
    for (int k = 0; k < M->set.n; k++)
        M->map[M->set.p[k]] = M->set.p[k];
    M->set.n = 0;
}

static int same_region(Fn *f, const Region *a, const Region *b, SameMap *M);

/* Is instruction b (of the backward loop) the same computation as a,
 * given map (b's values to a's, identity elsewhere)?  Maps b to a. */
static int same_inst(Fn *f, Ref a, Ref b, SameMap *M)
{
    const Ref *map = M->map;
    const Inst *x = &f->v.p[a], *y = &f->v.p[b];
    if (x->op != y->op || !ty_eq(x->ty, y->ty) || x->red != y->red || x->n != y->n ||
        x->nix != y->nix || ((x->flags ^ y->flags) & (IF_SETELEM | IF_BACKWARDS)))
        return 0;
    switch (x->op) {
    case OP_LIT: case OP_FOR: case OP_ACC: case OP_ZEROS: case OP_IF: case OP_LOOP: case OP_PARAM:
        return 0;
    case OP_CONST:
        if (memcmp(&x->x->num, &y->x->num, sizeof x->x->num))
            return 0;
        break;
    case OP_IDX:
        if (f->v.p[x->arg[0]].op == OP_ZEROS)
            return 0; /* a buffer: its contents may differ */
        break;
    default:
        break;
    }
    for (int k = 0; k < op_info[x->op].nargs; k++)
        if ((y->arg[k] == NOREF ? NOREF : map[y->arg[k]]) != x->arg[k])
            return 0;
    for (int k = 0; k < ir_naffs(x); k++)
        if (!aff_eq(aff_remap(f->arena, y->x->ix[k], map), x->x->ix[k]))
            return 0;
    map_set(f, M, b, a);
    return !x->x->reg[0] || same_region(f, x->x->reg[0], y->x->reg[0], M);
}

static int same_region(Fn *f, const Region *a, const Region *b, SameMap *M)
{
    if (a->ids.n != b->ids.n || a->yield.n != b->yield.n)
        return 0;
    for (int i = 0; i < a->ids.n; i++)
        if (!same_inst(f, a->ids.p[i], b->ids.p[i], M))
            return 0;
    for (int i = 0; i < a->yield.n; i++)
        if (M->map[b->yield.p[i]] != a->yield.p[i])
            return 0;
    return 1;
}

/* Puts the last instruction of region r right after position at. */
static void place_after(Region *r, int at)
{
    Ref v = r->ids.p[r->ids.n - 1];
    memmove(&r->ids.p[at + 2], &r->ids.p[at + 1], sizeof(Ref) * (size_t)(r->ids.n - 2 - at));
    r->ids.p[at + 1] = v;
}

/* [iv0, iv1 - lo1]: the buffer index of the loops around a reduction. */
static Aff *buffer_index(Fn *f, Ref iv0, Ref iv1, int32_t lo1)
{
    Aff *ix = arena_alloc(f->arena, sizeof(Aff) * 2);
    ix[0] = aff_var(f->arena, iv0);
    if (iv1 != NOREF) {
        ix[1] = aff_var(f->arena, iv1);
        ix[1].c = -lo1;
    }
    return ix;
}

/* A row buffer of type bt made in region x at position pos (ROLE_TAPE,
 * not zeroed: its filler writes every element), named name: region fill
 * stores v into it at index six right after position fat, and region use
 * reads it at index rix right after position uat.  Returns the read,
 * named rname; line and rline: the source lines of the two. */
static Ref tape_between(Fn *f, Region *x, int pos, Type bt, const char *name, int line,
                        Region *fill, int fat, Ref v, Aff *six, Region *use, int uat, Aff *rix,
                        const char *rname, int rline)
{
    IrAt zat = ir_at(f, x);
    zat.role = ROLE_TAPE;
    zat.flags = IF_NOINIT;
    zat.line = line;
    Ref buf = ir_add(zat, OP_ZEROS, bt, NOREF, NOREF, NOREF);
    f->v.p[buf].name = name;
    x->ids.n--; /* ir_add put it last */
    memmove(&x->ids.p[pos + 1], &x->ids.p[pos], sizeof(Ref) * (size_t)(x->ids.n - pos));
    x->ids.p[pos] = buf;
    x->ids.n++;
    IrAt sat = ir_at(f, fill);
    sat.flags = IF_STORE;
    sat.line = line;
    ir_acc(sat, buf, six, bt.rank, v);
    place_after(fill, fat);
    IrAt rat = ir_at(f, use);
    rat.line = rline;
    Ref rd = ir_idx(rat, buf, rix, bt.rank);
    f->v.p[rd].name = rname;
    place_after(use, uat);
    return rd;
}

/* RED R (at position at of region rb, inside GEN g's body at depth 1 or
 * inside y, a reduction of that body) is the same as R2 (at at2 of rb2,
 * inside the backward loop l): R's results go to a buffer made in region
 * x before g, and R2's readers read them there. */
static void reuse(Fn *f, Region *x, Ref g, Ref y, Region *rb, int at, Ref l, Ref y2, Region *rb2,
                  int at2)
{
    Arena *A = f->arena;
    Ref R = rb->ids.p[at], R2 = rb2->ids.p[at2];
    int nr = ir_nresults(f, rb, at), nr2 = ir_nresults(f, rb2, at2);
    Ref *from = arena_alloc(A, sizeof(Ref) * (size_t)(nr2 + 1)), *to = arena_alloc(A, sizeof(Ref) * (size_t)(nr2 + 1));
    int nrepl = 0;
    int32_t lo = y != NOREF ? f->v.p[y].x->ix[0].c : 0;
    for (int q2 = 0; q2 < nr2; q2++) {
        Ref res2 = rb2->ids.p[at2 + 1 + q2], res = NOREF;
        for (int q = 0; q < nr; q++)
            if (f->v.p[rb->ids.p[at + 1 + q]].n == f->v.p[res2].n)
                res = rb->ids.p[at + 1 + q];
        if (res == NOREF)
            continue;
        int32_t bdim[2] = {ty_dim(f->v.p[g].ty, 0), y != NOREF ? f->v.p[y].x->ix[1].c - lo : 0};
        Type bt = ty_array(y != NOREF ? 2 : 1, bdim);
        int gpos = 0; /* the buffer goes just before g */
        while (x->ids.p[gpos] != g)
            gpos++;
        Ref iv1 = y != NOREF ? ir_ivar(f, y, 0) : NOREF, iv2 = y2 != NOREF ? ir_ivar(f, y2, 0) : NOREF;
        Ref rd = tape_between(f, x, gpos, bt, f->v.p[res].name ? f->v.p[res].name : "sum",
                              f->v.p[R].line, rb, at + nr, res,
                              buffer_index(f, ir_ivar(f, g, 0), iv1, lo), rb2, at2 + nr2,
                              buffer_index(f, ir_ivar(f, l, 0), iv2, lo), f->v.p[res2].name,
                              f->v.p[R2].line);
        from[nrepl] = res2;
        to[nrepl++] = rd;
    }
    Ref *repl = arena_alloc(A, sizeof(Ref) * (size_t)(f->v.n + 1));
    for (int v = 0; v < f->v.n; v++)
        repl[v] = NOREF;
    for (int k = 0; k < nrepl; k++)
        repl[from[k]] = to[k];
    opt_rewrite_region(f, rb2, repl);
}

static int red_bounds_const(const Inst *in)
{
    return (in->op == OP_RED || (in->op == OP_LOOP && in->nix == 1)) && aff_is_const(in->x->ix[0]) &&
           aff_is_const(in->x->ix[1]);
}

/* The reductions of backward loop l's body (and of a loop in it) that GEN
 * g's body computes the same way; returns how many it reused. */
static int reuse_pair(Fn *f, Region *x, Ref g, Ref l, SameMap *M)
{
    Region *gb = f->v.p[g].x->reg[0], *lb = f->v.p[l].x->reg[0];
    map_fit(f, M);
    map_set(f, M, ir_ivar(f, l, 0), ir_ivar(f, g, 0));
    for (int i2 = 0; i2 < lb->ids.n; i2++) {
        Ref a2 = lb->ids.p[i2];
        const Inst *in2 = &f->v.p[a2];
        for (int i = 0; i < gb->ids.n; i++) {
            Ref a = gb->ids.p[i];
            const Inst *in = &f->v.p[a];
            if (in2->op == OP_RED && in->op == OP_RED && same_inst(f, a, a2, M)) {
                map_reset(M);
                reuse(f, x, g, NOREF, gb, i, l, NOREF, lb, i2);
                return 1;
            }
            /* one loop down: y2 a loop or reduction over y's range */
            if (!red_bounds_const(in2) || in->op != OP_RED || !red_bounds_const(in) ||
                in->x->ix[0].c != in2->x->ix[0].c || in->x->ix[1].c != in2->x->ix[1].c)
                continue;
            map_set(f, M, ir_ivar(f, a2, 0), ir_ivar(f, a, 0));
            Region *yb = in->x->reg[0], *yb2 = in2->x->reg[0];
            for (int j2 = 0; j2 < yb2->ids.n; j2++) {
                if (f->v.p[yb2->ids.p[j2]].op != OP_RED)
                    continue;
                for (int j = 0; j < yb->ids.n; j++)
                    if (f->v.p[yb->ids.p[j]].op == OP_RED &&
                        same_inst(f, yb->ids.p[j], yb2->ids.p[j2], M)) {
                        map_reset(M);
                        reuse(f, x, g, a, yb, j, l, a2, yb2, j2);
                        return 1;
                    }
            }
        }
    }
    map_reset(M);
    return 0;
}

/* One reuse in region r or the regions below it; returns 1 if it made one. */
static int reuse_region(Fn *f, Region *r, SameMap *M)
{
    for (int j = 0; j < r->ids.n; j++) {
        Ref l = r->ids.p[j];
        const Inst *li = &f->v.p[l];
        for (int s = 0; s < 2; s++)
            if (li->x->reg[s] && reuse_region(f, li->x->reg[s], M))
                return 1;
        if (!ir_is_rev_loop(li) || !aff_is_const(li->x->ix[0]) || li->x->ix[0].c != 0 ||
            !aff_is_const(li->x->ix[1]))
            continue;
        for (int i = j - 1; i >= 0; i--) {
            const Inst *gi = &f->v.p[r->ids.p[i]];
            if (gi->op == OP_GEN && !ir_is_rev(gi) && gi->ty.rank == 1 &&
                ty_dim(gi->ty, 0) == li->x->ix[1].c && reuse_pair(f, r, r->ids.p[i], l, M))
                return 1;
        }
    }
    return 0;
}

/* ---------------- calls a backward loop would make again ----------------
 *
 * The elementwise part of a sum is computed again by the loop that
 * transposes it: in f_grad of logsumexp(v) = m + log(sum(exp(v[i] - m))),
 * the sum's loop calls exp(v[i] - m) and the backward loop
 * v_bar[i] += exp(v[i] - m) * s_bar calls it again.  When a later loop of
 * the reverse sweep over the same range computes a call (exp, log, tanh,
 * ...: ir_costly_op) the same way as a sum's
 * body (same_inst, the later loop's index variable standing for the
 * sum's), the sum stores each value in a buffer indexed by its iteration
 * and the later loop reads it there: store rather than recompute what
 * costs a call (Griewank & Walther, "Evaluating Derivatives", 2008, ch.
 * 12), within the bytes the caller allows. */

/* Is some use of v in region r (not below it) or r's yields not one of
 * the instructions M maps (not part of the common computation)? */
static int read_beyond(Fn *f, const Region *r, Ref v, const SameMap *M)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref u = r->ids.p[i];
        const Inst *in = &f->v.p[u];
        if (M->map[u] != u)
            continue;
        for (int k = 0; k < op_info[in->op].nargs; k++)
            if (in->arg[k] == v)
                return 1;
        if ((in->op == OP_LIT || in->op == OP_FOR) && in->nix)
            for (int k = 0; k < in->nix; k++)
                if (in->x->list[k] == v)
                    return 1;
        if (in->x->reg[0] || in->x->reg[1])
            return 1; /* read inside a nested region, maybe: keep it */
    }
    for (int i = 0; i < r->yield.n; i++)
        if (r->yield.p[i] == v)
            return 1;
    return 0;
}

/* Sum R (at position at of region r) and later loop l of the reverse
 * sweep: each call of l's body that R's body computes the same way is
 * stored by R and read by l.  Returns the bytes kept. */
static long long keep_pair(Fn *f, Region *r, int at, Ref l, SameMap *M, long long budget)
{
    Ref R = r->ids.p[at];
    Region *rb = f->v.p[R].x->reg[0], *lb = f->v.p[l].x->reg[0];
    long long n = f->v.p[R].x->ix[1].c, bytes = n * (long long)sizeof(double);
    if (bytes > budget)
        return 0;
    map_fit(f, M);
    map_set(f, M, ir_ivar(f, l, 0), ir_ivar(f, R, 0));
    for (int j = 0; j < lb->ids.n; j++)
        for (int i = 0; i < rb->ids.n; i++)
            if (f->v.p[rb->ids.p[i]].op != OP_IVAR && same_inst(f, rb->ids.p[i], lb->ids.p[j], M))
                break;
    /* the calls to keep: matched, and read by what is not matched */
    RefList keep = {0};
    for (int j = 0; j < lb->ids.n; j++) {
        Ref b = lb->ids.p[j];
        if (M->map[b] != b && ir_costly_op(f->v.p[b].op) && read_beyond(f, lb, b, M))
            vec_push(f->arena, &keep, b);
    }
    long long kept = 0;
    for (int q = 0; q < keep.n && kept + bytes <= budget; q++) {
        Ref b = keep.p[q], a = M->map[b];
        int ai = 0, bi = 0;
        while (rb->ids.p[ai] != a)
            ai++;
        while (lb->ids.p[bi] != b)
            bi++;
        /* the buffer just before R, which stores the value; l reads it */
        Ref rd = tape_between(f, r, at++, ty_array(1, (int32_t[]){(int32_t)n}),
                              f->v.p[a].name ? f->v.p[a].name : op_info[f->v.p[a].op].cname,
                              f->v.p[a].line, rb, ai, a, buffer_index(f, ir_ivar(f, R, 0), NOREF, 0),
                              lb, bi, buffer_index(f, ir_ivar(f, l, 0), NOREF, 0), f->v.p[b].name,
                              f->v.p[b].line);
        Ref *repl = arena_alloc(f->arena, sizeof(Ref) * (size_t)(f->v.n + 1));
        for (Ref v = 0; v < f->v.n; v++)
            repl[v] = NOREF;
        repl[b] = rd;
        opt_rewrite_region(f, lb, repl);
        kept += bytes;
    }
    map_reset(M);
    return kept;
}

/* Does region r itself (not below) hold a call keep_pair could keep? */
static int has_call(const Fn *f, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++)
        if (ir_costly_op(f->v.p[r->ids.p[i]].op))
            return 1;
    return 0;
}

/* Every pair of a sum and a later loop of region r (and below), at most
 * JOIN_WINDOW instructions apart, within budget bytes, the loop taking
 * calls from the nearest sum first; returns the bytes kept.  A pair whose
 * sum or loop calls nothing is not compared: each comparison costs the
 * product of their sizes. */
static long long keep_calls(Fn *f, Region *r, SameMap *M, long long budget)
{
    long long kept = 0;
    for (int j = 0; j < r->ids.n; j++) {
        Ref l = r->ids.p[j];
        const Inst *li = &f->v.p[l];
        for (int s = 0; s < 2; s++)
            if (li->x->reg[s])
                kept += keep_calls(f, li->x->reg[s], M, budget - kept);
        li = &f->v.p[l];
        int n;
        if (li->op == OP_GEN && li->ty.rank == 1 && ir_is_rev(li))
            n = ty_dim(li->ty, 0);
        else if (ir_is_rev_loop(li) && aff_is_const(li->x->ix[0]) && li->x->ix[0].c == 0 &&
                 aff_is_const(li->x->ix[1]))
            n = li->x->ix[1].c;
        else
            continue;
        if (!has_call(f, li->x->reg[0]))
            continue;
        for (int i = j - 1; i >= 0 && i >= j - JOIN_WINDOW; i--) {
            const Inst *ri = &f->v.p[r->ids.p[i]];
            if (ri->op != OP_RED || ri->red != RK_SUM || ir_is_rev(ri) || ir_nivars(f, r->ids.p[i]) != 1 ||
                (ri->flags & IF_BACKWARDS) || !aff_is_const(ri->x->ix[0]) || ri->x->ix[0].c != 0 ||
                !aff_is_const(ri->x->ix[1]) || ri->x->ix[1].c != n || !has_call(f, ri->x->reg[0]))
                continue;
            long long k = keep_pair(f, r, i, l, M, budget - kept);
            /* its buffers went before the sum (at i: the older sums below
             * stay where they are), so l moved by as many */
            kept += k;
            j += (int)(k / (n * (long long)sizeof(double)));
        }
    }
    return kept;
}

/* ---------------- copies of a buffer's row ----------------
 *
 * A local buffer T filled by one loop copying a row of another buffer,
 * LOOP(j...) { T[j...] = B[pre..., j...] }, as a reduction's tape inside
 * a backward loop becomes once it reads kept values: every read T[e...]
 * reads B[pre..., e...] instead, and T goes.  B is read only after its
 * last write (the IR's rule for buffers), so it still holds the row. */

/* Is every index variable of x one of the loops around region r? */
static int in_scope(const Fn *f, Aff x, const Region *r)
{
    for (int k = 0; k < x.n; k++) {
        const Region *p = r;
        while (p && p->owner != NOREF && f->v.p[x.iv[k]].parent != f->v.p[p->owner].x->reg[0])
            p = f->v.p[p->owner].parent;
        if (!p || p->owner == NOREF)
            return 0;
    }
    return x.nq == 0;
}

typedef struct {
    Ref t;        /* the copy */
    int uses;     /* its uses but as the ACC's target */
    int other;    /* a use that is not an IDX */
    RefList reads;
} CopyUse;

static void copy_use(void *arg, Fn *f, Ref user, Ref used, int is_acc_buffer)
{
    CopyUse *U = arg;
    if (used != U->t || is_acc_buffer)
        return;
    if (user != NOREF && f->v.p[user].op == OP_IDX)
        vec_push(f->arena, &U->reads, user);
    else
        U->other = 1;
}

/* Every such copy in f forwarded: its reads read the source instead. */
static void forward_copies(Fn *f)
{
    RefList accs = {0};
    ir_accs(f, f->body, &accs);
    int *stores = arena_alloc(f->arena, sizeof(int) * (size_t)(f->v.n + 1));
    for (int k = 0; k < accs.n; k++)
        stores[f->v.p[accs.p[k]].arg[0]]++;
    for (int k = 0; k < accs.n; k++) {
        Inst *a = &f->v.p[accs.p[k]];
        Ref t = a->arg[0], b;
        const Inst *ti = &f->v.p[t];
        int trow, row;
        /* T, a tape written by this copy alone, whole (trow 0), in the
         * same region as its loop, from a buffer B */
        if (!(ti->flags & IF_NOINIT) || ti->role != ROLE_TAPE || stores[t] != 1 ||
            !copy_loop(f, accs.p[k], &b, &trow, &row) || trow != 0 || f->v.p[b].op != OP_ZEROS ||
            f->v.p[a->parent->owner].parent != ti->parent)
            continue;
        const Inst *v = &f->v.p[a->arg[1]];
        int m = ti->ty.rank, ok = 1;
        for (int d = 0; d < row && ok; d++)
            ok = in_scope(f, v->x->ix[d], ti->parent);
        if (!ok)
            continue;
        CopyUse U = {t, 0, 0, {0}};
        each_operand(f, f->body, copy_use, &U);
        if (U.other)
            continue;
        for (int q = 0; q < U.reads.n; q++) {
            Inst *rd = &f->v.p[U.reads.p[q]];
            Aff *ix = arena_alloc(f->arena, sizeof(Aff) * (size_t)(row + m));
            for (int d = 0; d < row; d++)
                ix[d] = v->x->ix[d];
            for (int d = 0; d < m; d++)
                ix[row + d] = rd->x->ix[d];
            rd->arg[0] = b;
            rd->x->ix = ix;
            rd->nix = row + m;
        }
    }
}

void opt_join(Fn *f, int keep, long long keep_bytes)
{
    Arena *A = f->arena;
    size_t n = (size_t)f->v.n + 1;
    Scratch S = {0};
    S.hoist = arena_alloc(A, sizeof(unsigned) * n);
    S.read = arena_alloc(A, sizeof(unsigned) * n);
    S.t_read = arena_alloc(A, sizeof(unsigned) * n);
    S.t_added = arena_alloc(A, sizeof(unsigned) * n);
    S.t_stored = arena_alloc(A, sizeof(unsigned) * n);
    S.tape = arena_alloc(A, sizeof(unsigned) * n);
    S.acc_of = arena_alloc(A, sizeof(Ref) * n);
    S.map = arena_alloc(A, sizeof(Ref) * n);
    S.repl = arena_alloc(A, sizeof(Ref) * n);
    S.pos = arena_alloc(A, sizeof(int) * n);
    S.writes = arena_alloc(A, sizeof(RefList) * n);
    for (Ref v = 0; v < f->v.n; v++) {
        S.map[v] = v;
        S.repl[v] = NOREF;
        S.pos[v] = -1;
    }
    int joined = 0;
    while (join_region(f, f->body, &S))
        joined = 1;
    if (joined)
        opt_all(f);
    int reused = 0;
    SameMap M = {0};
    while (keep && reuse_region(f, f->body, &M)) {
        opt_dce(f); /* the recomputation, now unread, goes */
        reused = 1;
    }
    if (reused) {
        forward_copies(f);
        opt_all(f); /* the copies, now unread, go; the pipeline verifies f */
    }
    if (keep && keep_bytes > 0 && keep_calls(f, f->body, &M, keep_bytes))
        opt_all(f); /* the calls computed again, now unread, go */
    /* the scratch tables, as large as f was: handed back */
    void *four[] = {S.hoist, S.read, S.t_read, S.t_added, S.t_stored, S.tape, S.acc_of, S.map,
                    S.repl, S.pos};
    for (size_t i = 0; i < sizeof four / sizeof four[0]; i++)
        arena_drop(A, four[i], 4 * n);
    arena_drop(A, S.writes, sizeof(RefList) * n);
}
