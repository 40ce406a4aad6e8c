/*
 * interchange.c - triangular adjoint loops turned inside out, so that an
 * adjoint accumulated by every inner iteration stays in a register
 * (opt_interchange).
 *
 * The transpose of a triangular sum, y[j] = sum(A[j, i] * x[i] for i in
 * 0..j), is a loop nest that runs as the sum did, j outside and i inside:
 *
 *     for j { t = y_bar[j]; for i in 0..j { x_bar[i] += t * A[j, i];
 *                                           A_bar[j, i] += t * x[i] } }
 *
 * Every inner iteration reads, adds to and writes back x_bar[i] in memory,
 * and reads x[i] again for each j.  With the loops interchanged (Allen &
 * Kennedy, "Optimizing Compilers for Modern Architectures", 2001, ch. 5:
 * interchange of a triangular nest; ch. 8.3: scalar replacement),
 *
 *     for j { T[j] = y_bar[j] }
 *     for i { s = 0; for j in i+1.. { s += T[j] * A[j, i];
 *                                     A_bar[j, i] += T[j] * x[i] }
 *             x_bar[i] += s }
 *
 * x_bar[i]'s sum runs in a register (a cell s, a local scalar in C) and
 * x[i] is read once per i.  The values the inner loop took from the outer
 * one (t) go through a small buffer T, one per such value, written by the
 * outer loop, which keeps everything else it did.
 *
 * The conditions, for a LOOP Lj of the reverse sweep over the constant
 * range a..b (index j), running forwards, and a LOOP Li in its body over
 * c..j+e (c constant, index i) with c - e + 1 >= a, so that the pairs
 * (j, i) are those of i in c..b-1+e and j in i+1-e..b:
 *   - Li's body is flat: scalar arithmetic, reads (IDX) and ACCs that add
 *     (no loop, branch or store in it);
 *   - one of its ACCs at least has indices free of j (the one the
 *     interchange puts in a register), and each of its values is made
 *     from Li's own instructions, values from outside Lj, and real scalars
 *     of Lj's body (the T's);
 *   - no buffer an ACC of Li adds to is read or stored into in Lj, and no
 *     buffer Li reads is written in Lj (adds into the same buffer change
 *     order only: the gradient differs in rounding only, as with
 *     opt_join);
 *   - it pays (body_ok), and Li is not a loop the C compiler vectorises
 *     as it stands (unit_stride).
 * Each of Li's instructions that does not depend on j goes to the new
 * outer loop, once per i; the rest to the new inner one.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    Fn *f;
    Ref lj, li;        /* the two loops */
    Ref j, i;          /* their index variables */
    int32_t a, b, c, e;
    unsigned char *inner; /* per value of Li's body: depends on j */
} Nest;

/* Is aff x exactly 1 * iv + e (no other term)? */
static int is_iv_plus(Aff x, Ref iv, int32_t *e)
{
    if (x.n != 1 || x.nq || x.iv[0] != iv || x.a[0] != 1)
        return 0;
    *e = x.c;
    return 1;
}

/* Does some index of in use iv? */
static int ix_uses(const Inst *in, Ref iv)
{
    for (int k = 0; k < in->nix; k++)
        if (aff_uses(in->x->ix[k], iv))
            return 1;
    return 0;
}

/* Is x defined inside loop l's body (at any depth)? */
static int inside(const Fn *f, Ref x, Ref l)
{
    for (const Region *r = f->v.p[x].parent; r && r->owner != NOREF; r = f->v.p[r->owner].parent)
        if (r->owner == l)
            return 1;
    return 0;
}

/* What region r and the regions below it do with buffer buf: BUF_READ
 * (an IDX), BUF_ADD (an ACC that adds), BUF_STORE (an ACC that stores). */
enum { BUF_READ = 1, BUF_ADD = 2, BUF_STORE = 4 };
static int buffer_use(const Fn *f, const Region *r, Ref buf)
{
    int use = 0;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (in->arg[0] == buf && in->op == OP_IDX)
            use |= BUF_READ;
        if (in->arg[0] == buf && in->op == OP_ACC)
            use |= in->flags & IF_STORE ? BUF_STORE : BUF_ADD;
        for (int s = 0; s < 2 && ir_has_regions(in); s++)
            if (in->x->reg[s])
                use |= buffer_use(f, in->x->reg[s], buf);
    }
    return use;
}

/* May an instruction of Li's body be moved into the new nest? */
static int movable(const Inst *in)
{
    if (in->x->reg[0] || in->x->reg[1])
        return 0;
    switch (in->op) {
    case OP_IVAR: case OP_CONST: case OP_IDX: case OP_IREAL: case OP_NODIFF:
        return 1;
    case OP_ACC:
        return !(in->flags & IF_STORE);
    default:
        return op_info[in->op].kind != K_CTL;
    }
}

/* Does every array access of Li's body that moves with i step through
 * memory one element per i (i, with coefficient 1, in its last index
 * only)?  Such an inner loop the C compiler vectorises as it is; turned
 * inside out it would stride, so it is left alone. */
static int unit_stride(const Nest *N)
{
    const Fn *f = N->f;
    const Region *bi = f->v.p[N->li].x->reg[0];
    for (int q = 0; q < bi->ids.n; q++) {
        const Inst *in = &f->v.p[bi->ids.p[q]];
        if ((in->op != OP_IDX && in->op != OP_ACC) || !in->nix || !ix_uses(in, N->i))
            continue;
        const Aff *last = &in->x->ix[in->nix - 1];
        int ok = last->nq == 0;
        for (int t = 0; t < last->n; t++)
            ok &= last->iv[t] != N->i || last->a[t] == 1;
        for (int k = 0; k + 1 < in->nix; k++)
            ok &= !aff_uses(in->x->ix[k], N->i);
        if (!ok || !aff_uses(*last, N->i))
            return 0;
    }
    return 1;
}

/* Checks the conditions on Li's body (see the top) and marks in
 * N->inner what must run for each (j, i): what depends on j, and every
 * ACC (an add that did not depend on j still ran once per j).  Then
 * whether it pays: per (j, i), a row ACC saves a load and a store, and
 * each instruction that depends only on i runs once per i instead; each
 * value of Lj's body costs a load of its T. */
static int body_ok(Nest *N)
{
    Fn *f = N->f;
    const Region *bi = f->v.p[N->li].x->reg[0], *bj = f->v.p[N->lj].x->reg[0];
    int rows = 0, once = 0, ts = 0;
    for (int q = 0; q < bj->ids.n; q++)
        N->inner[bj->ids.p[q]] = 0; /* marks which of Lj's values are counted */
    for (int q = 0; q < bi->ids.n; q++) {
        Ref id = bi->ids.p[q];
        const Inst *in = &f->v.p[id];
        if (!movable(in) || (in->op == OP_IVAR && id != N->i))
            return 0;
        /* an add would come after the nest's reads and stores of its
         * buffer; a read, after all of the nest's writes */
        if (in->op == OP_ACC && (buffer_use(f, bj, in->arg[0]) & (BUF_READ | BUF_STORE)))
            return 0;
        if (in->op == OP_IDX && (buffer_use(f, bj, in->arg[0]) & (BUF_ADD | BUF_STORE)))
            return 0;
        int dep = in->op == OP_ACC || ix_uses(in, N->j);
        for (int k = 0; k < op_info[in->op].nargs; k++) {
            Ref x = in->arg[k];
            const Inst *xi = &f->v.p[x];
            if ((in->op == OP_ACC || in->op == OP_IDX) && k == 0) {
                if (inside(f, x, N->lj))
                    return 0; /* a buffer of Lj's own */
                continue;
            }
            if (xi->op == OP_IVAR && (x == N->j || x == N->i))
                return 0; /* an index variable as a value */
            if (xi->parent == bi)
                dep |= N->inner[x];
            else if (xi->parent == bj && xi->op == OP_CONST) {
                continue; /* copied into the new nest */
            } else if (xi->parent == bj) { /* a value of Lj's body: through a T */
                if (xi->ty.kind != TY_REAL || xi->ty.rank)
                    return 0;
                dep = 1;
                ts += !N->inner[x]; /* each counted once (marked below) */
                N->inner[x] = 1;
            } else if (inside(f, x, N->lj)) {
                return 0; /* deeper in Lj's body (a branch's value) */
            }
        }
        N->inner[id] = (unsigned char)dep;
        rows += in->op == OP_ACC && !ix_uses(in, N->j);
        once += !dep && in->op != OP_IVAR && in->op != OP_CONST;
    }

    return rows > 0 && 2 * rows + once > ts && !unit_stride(N);
}

/* Moves the last instruction of r to position at. */
static void move_last(Region *r, int at)
{
    Ref v = r->ids.p[r->ids.n - 1];
    memmove(&r->ids.p[at + 1], &r->ids.p[at], sizeof(Ref) * (size_t)(r->ids.n - 1 - at));
    r->ids.p[at] = v;
}

/* A one-dimensional LOOP like `like`, in region r, over lo..hi. */
static Ref new_loop(Fn *f, Region *r, Ref like, Aff lo, Aff hi)
{
    Ref l = ir_loop(ir_at_of(f, r, &f->v.p[like]), OP_LOOP, ty_none(), 1, RK_SUM);
    f->v.p[l].x->ix[0] = lo;
    f->v.p[l].x->ix[1] = hi;
    return l;
}

static Aff iv_plus(Arena *A, Ref iv, int32_t c)
{
    Aff x = aff_var(A, iv);
    x.c = c;
    return x;
}

/* The interchange of the nest N, Lj at position at of region r. */
static void interchange(Nest *N, Region *r, int at)
{
    Fn *f = N->f;
    Arena *A = f->arena;
    int n = f->v.n;
    const Region *bi0 = f->v.p[N->li].x->reg[0];
    ir_reserve(f, n + 4 * bi0->ids.n + 16); /* no copy below moves the array */
    Ref *map = arena_alloc(A, sizeof(Ref) * (size_t)n);
    Ref *tbuf = arena_alloc(A, sizeof(Ref) * (size_t)n);
    for (Ref v = 0; v < n; v++) {
        map[v] = v; /* what the nest does not remap stays (the outer index variables) */
        tbuf[v] = NOREF;
    }
    Region *bj = f->v.p[N->lj].x->reg[0];
    const Region *bi = f->v.p[N->li].x->reg[0];
    int32_t len = N->b - N->a;

    /* the T's: a buffer before Lj for each value of Lj's body Li reads,
     * stored at the end of Lj's body */
    for (int q = 0; q < bi->ids.n; q++) {
        const Inst *in = &f->v.p[bi->ids.p[q]];
        for (int k = 0; k < op_info[in->op].nargs; k++) {
            Ref x = in->arg[k];
            if (x == NOREF || f->v.p[x].parent != bj || tbuf[x] != NOREF ||
                f->v.p[x].op == OP_CONST || ((in->op == OP_ACC || in->op == OP_IDX) && k == 0))
                continue;
            IrAt zat = ir_at_of(f, r, &f->v.p[N->lj]);
            zat.flags = IF_NOINIT; /* Lj writes every element */
            zat.rule_op = 0;
            Ref t = ir_add(zat, OP_ZEROS, ty_array(1, &len), NOREF, NOREF, NOREF);
            f->v.p[t].name = f->v.p[x].name;
            move_last(r, at++);
            IrAt sat = ir_at_of(f, bj, &f->v.p[x]);
            sat.flags = IF_STORE;
            sat.rule_op = 0;
            Aff *six = arena_alloc(A, sizeof(Aff));
            six[0] = iv_plus(A, N->j, -N->a);
            ir_acc(sat, t, six, 1, x);
            tbuf[x] = t;
        }
    }
    /* Li leaves Lj's body */
    int pi = 0;
    while (bj->ids.p[pi] != N->li)
        pi++;
    memmove(&bj->ids.p[pi], &bj->ids.p[pi + 1], sizeof(Ref) * (size_t)(bj->ids.n - pi - 1));
    bj->ids.n--;

    /* the new nest, right after Lj: i outside, its part of Li's body,
     * a cell per row ACC, then j inside */
    Ref li2 = new_loop(f, r, N->li, aff_const(A, N->c), aff_const(A, N->b - 1 + N->e));
    move_last(r, at + 1);
    Region *b2 = f->v.p[li2].x->reg[0];
    Ref i2 = ir_ivar(f, li2, 0);
    f->v.p[i2].name = f->v.p[N->i].name;
    map[N->i] = i2;
    for (int q = 0; q < bi->ids.n; q++) { /* Lj's constants that Li reads */
        const Inst *in = &f->v.p[bi->ids.p[q]];
        for (int k = 0; k < op_info[in->op].nargs; k++) {
            Ref x = in->arg[k];
            if (x != NOREF && f->v.p[x].parent == bj && f->v.p[x].op == OP_CONST && map[x] == x)
                map[x] = ir_copy_inst(f, b2, &f->v.p[x], NULL);
        }
    }
    for (int q = 0; q < bi->ids.n; q++) {
        Ref id = bi->ids.p[q];
        if (id != N->i && !N->inner[id])
            map[id] = ir_copy_inst(f, b2, &f->v.p[id], map);
    }
    Ref *cell = arena_alloc(A, sizeof(Ref) * (size_t)bi->ids.n);
    for (int q = 0; q < bi->ids.n; q++) {
        const Inst *in = &f->v.p[bi->ids.p[q]];
        cell[q] = NOREF;
        if (in->op == OP_ACC && !ix_uses(in, N->j)) {
            IrAt cat = ir_at_of(f, b2, in);
            cat.flags = 0;
            cat.rule_op = 0;
            cell[q] = ir_add(cat, OP_ZEROS, ty_scalar(), NOREF, NOREF, NOREF);
            f->v.p[cell[q]].name = f->v.p[in->arg[0]].name;
        }
    }
    Ref lj2 = new_loop(f, b2, N->lj, iv_plus(A, i2, 1 - N->e), aff_const(A, N->b));
    Region *b3 = f->v.p[lj2].x->reg[0];
    map[N->j] = ir_ivar(f, lj2, 0);
    f->v.p[map[N->j]].name = f->v.p[N->j].name;
    for (Ref v = 0; v < n; v++)
        if (tbuf[v] != NOREF) {
            Aff *rix = arena_alloc(A, sizeof(Aff));
            rix[0] = iv_plus(A, map[N->j], -N->a);
            IrAt rat = ir_at_of(f, b3, &f->v.p[v]);
            rat.flags = 0;
            rat.rule_op = 0;
            map[v] = ir_idx(rat, tbuf[v], rix, 1);
        }
    for (int q = 0; q < bi->ids.n; q++) {
        Ref id = bi->ids.p[q];
        if (!N->inner[id])
            continue;
        if (cell[q] == NOREF) {
            map[id] = ir_copy_inst(f, b3, &f->v.p[id], map);
            continue;
        }
        IrAt aat = ir_at_of(f, b3, &f->v.p[id]);
        ir_acc(aat, cell[q], NULL, 0, map[f->v.p[id].arg[1]]);
    }
    /* each row ACC adds its cell, once per i */
    for (int q = 0; q < bi->ids.n; q++) {
        if (cell[q] == NOREF)
            continue;
        const Inst *in = &f->v.p[bi->ids.p[q]];
        IrAt rat = ir_at_of(f, b2, in);
        rat.flags = 0;
        rat.rule_op = 0;
        Ref z = ir_idx(rat, cell[q], NULL, 0);
        Ref acc = ir_copy_inst(f, b2, &f->v.p[bi->ids.p[q]], map);
        f->v.p[acc].arg[1] = z;
    }
}

/* Finds a nest in region r (and below) and interchanges it; returns 1 if
 * it did. */
static int interchange_region(Fn *f, Region *r, unsigned char *inner)
{
    for (int at = 0; at < r->ids.n; at++) {
        Ref lj = r->ids.p[at];
        const Inst *in = &f->v.p[lj];
        for (int s = 0; s < 2 && ir_has_regions(in); s++)
            if (in->x->reg[s] && interchange_region(f, in->x->reg[s], inner))
                return 1;
        in = &f->v.p[lj];
        if (!ir_is_rev_loop(in) || !aff_is_const(in->x->ix[0]) || !aff_is_const(in->x->ix[1]))
            continue;
        Nest N = {f, lj, NOREF, ir_ivar(f, lj, 0), NOREF, in->x->ix[0].c, in->x->ix[1].c, 0, 0, inner};
        const Region *bj = in->x->reg[0];
        for (int q = 0; q < bj->ids.n; q++) {
            const Inst *li = &f->v.p[bj->ids.p[q]];
            if (!ir_is_rev_loop(li) || !aff_is_const(li->x->ix[0]) || !is_iv_plus(li->x->ix[1], N.j, &N.e))
                continue;
            N.li = bj->ids.p[q];
            N.i = ir_ivar(f, N.li, 0);
            N.c = li->x->ix[0].c;
            if (N.c - N.e + 1 < N.a || N.c >= N.b - 1 + N.e || !body_ok(&N))
                continue;
            interchange(&N, r, at);
            return 1;
        }
    }
    return 0;
}

void opt_interchange(Fn *f)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        unsigned char *inner = calloc((size_t)f->v.n, 1);
        if (!inner)
            abort();
        int done = interchange_region(f, f->body, inner);
        free(inner);
        if (!done)
            break;
    }
}
