/*
 * cfor.c - the carried variables of for loops, decided with the rest of
 * canalyse.c's analysis (cg_share_carries) and written by cbody.c.
 *
 * A carried variable is one C variable: the FOR's RESULT (or, when the
 * loop's value is not used, its CARRY) is the representative, and the
 * CARRY shares it; the RESULT after the loop reads it, with no copy.
 * Other values join it where that saves a copy and nothing can tell:
 *
 *  - The initial value, when nothing reads that value's variable once
 *    the loop starts: x = x0 * 2 before the loop, the carried variable of
 *    an enclosing loop (nested loops carrying s share one s, and so do
 *    loops one after another), a scalar parameter of the same name.
 *  - The versions of the variable the body assigns, the new value last,
 *    when nothing reads the old value from where the version starts being
 *    written: x = x + dt * v (a scalar statement may read it itself);
 *    h = og * tanh(c) computed element by element when the body of that
 *    element alone reads the old h[j]; an if whose branches each write it
 *    after their last read of the old value, or leave it as it is.
 *
 * Every other new value is assigned at the end of the iteration, in an
 * order that reads each old value before it is overwritten (cbody.c).
 * All of it rests on c->last_read[v], the position of the last statement
 * that reads v (an inlined value is read where its user is written), and
 * on one invariant: a value joins a variable only if no value of that
 * variable is read after the joining value's first write, so a variable
 * holds each of its values wherever that value is read.
 */
#include "cgen.h"

#include <limits.h>
#include <string.h>

int cg_is_tape(const Inst *in)
{
    return ir_is_tape(in);
}

static void find_last_reads(Cg *c)
{
    const Fn *f = c->f;
    for (int i = c->order.n - 1; i >= 0; i--) {
        Ref u = c->order.p[i];
        const Inst *in = &f->v.p[u];
        int at = cg_inlined(c, u) ? c->last_read[u] : c->pos[u];
        Ref a[3] = {NOREF, NOREF, NOREF};
        for (int k = 0; k < op_info[in->op].nargs && in->op != OP_RESULT; k++)
            a[k] = in->arg[k]; /* an ACC's buffer too: it is written there */
        for (int k = 0; k < 3; k++) {
            Ref v = cg_resolve(c, a[k]);
            if (v != NOREF && at > c->last_read[v])
                c->last_read[v] = at;
        }
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int k = 0; k < in->nix; k++) {
                Ref v = cg_resolve(c, in->x->list[k]);
                if (at > c->last_read[v])
                    c->last_read[v] = at;
            }
    }
}

/* The instruction that first writes v's storage: its IF, GEN, RED or FOR
 * for a RESULT, its FOR for a CARRY, v itself otherwise. */
static Ref first_write(const Cg *c, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    if (in->op == OP_RESULT)
        return in->arg[0];
    if (in->op == OP_CARRY)
        return in->parent->owner;
    return v;
}

/* The last read of any value held in variable `root` among the
 * instructions of order[from..) before position `end`. */
static int class_last_read(const Cg *c, Ref root, int from, int end)
{
    int last = 0;
    for (int k = from; k < c->order.n && c->pos[c->order.p[k]] < end; k++) {
        Ref v = c->order.p[k];
        if (cg_var_of(c, v) == root && c->last_read[v] > last)
            last = c->last_read[v];
    }
    return last;
}

int cg_owns(const Cg *c, Ref id, Ref root)
{
    const Inst *in = &c->f->v.p[root];
    return (in->op == OP_RESULT && in->arg[0] == id) ||
           (in->op == OP_CARRY && in->parent->owner == id);
}

/* v's source name as the carried variables spell it (x, x_dot, x_tape):
 * a tangent's takes _dot, unless the user's name has one already (a
 * variable named x_dot: its tangent is spelled x_dot too, as the output
 * always was; the role, not the name, says it is a tangent). */
static const char *spelled(const Cg *c, Ref v)
{
    const Inst *in = &c->f->v.p[v];
    const char *n = ir_shown_name(c->A, in);
    if (!n || in->role != ROLE_TANGENT || strstr(n, "_dot"))
        return n;
    return arena_name(c->A, n, "_dot", -1);
}

/* The source name of carried variable j of FOR id (x, x_dot), or NULL:
 * the loop's result's, the CARRY's, the new value's or the initial
 * value's.  In a reverse sweep the new value's comes first: the adjoint
 * carried backwards is x_bar inside the loop, whatever it ends as. */
const char *cg_carried_name(const Cg *c, Ref id, int j)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    int back = (in->flags & IF_BACKWARDS) || ir_is_rev(in);
    Ref from[4] = {NOREF, ir_carry(f, id, j), cg_resolve(c, in->x->reg[0]->yield.p[j]),
                   cg_resolve(c, in->x->list[j])};
    if (back) {
        from[0] = from[2];
        from[2] = NOREF;
    }
    Ref res = c->carry_result[from[1]];
    if (res != NOREF)
        from[back ? 2 : 0] = res;
    for (int q = 0; q < 4; q++)
        if (from[q] != NOREF && f->v.p[from[q]].name)
            return spelled(c, from[q]);
    return NULL;
}

/* The initial value init of carried variable j of FOR id becomes the
 * carried variable itself, if no read of its variable follows the loop's
 * start within the loop's region. */
static void share_init(Cg *c, Ref id, int j)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    Ref cy = ir_carry(f, id, j), rep = cg_var_of(c, cy);
    Ref init = cg_resolve(c, in->x->list[j]);
    if (c->frozen[init]) /* a cell's final value: the cell */
        init = cg_resolve(c, f->v.p[init].arg[0]);
    Ref R = cg_var_of(c, init);
    const Inst *ri = &f->v.p[R];
    const Region *r = in->parent;
    if (R == rep || cg_inlined(c, init) || cg_inlined(c, R) || c->hoist[R] || c->hoist[rep] ||
        ri->op == OP_CONST || ri->op == OP_IREAL || !ty_eq(ri->ty, f->v.p[cy].ty))
        return;
    /* a scalar parameter passed by value may become the variable of the
     * same name (for ... { a = b }), never an array (const) */
    if (ri->op == OP_PARAM && (ri->ty.rank || !ri->name || !cg_carried_name(c, id, j) ||
                               strcmp(ri->name, cg_carried_name(c, id, j)) || !cg_owns(c, id, rep)))
        return;
    /* R defined in the loop's region, or the variable that the loop whose
     * body holds this one carries */
    int enclosing = 0;
    if (r->owner != NOREF && f->v.p[r->owner].op == OP_FOR)
        for (int k = 0; k < f->v.p[r->owner].nix; k++)
            enclosing |= cg_var_of(c, ir_carry(f, r->owner, k)) == R;
    if (ri->parent != r && !enclosing)
        return;
    /* (a loop at the top: its region is the function, whose classes'
     * last reads class_last keeps, rather than a scan for each loop) */
    int from = c->order_at[r->ids.p[0]];
    int end = r == f->body ? INT_MAX : c->region_end[id];
    if ((r == f->body ? c->class_last[R] : class_last_read(c, R, from, end)) > c->pos[id])
        return;
    if (cg_owns(c, id, rep)) {
        c->var[rep] = R;
        if (c->class_last[rep] > c->class_last[R])
            c->class_last[R] = c->class_last[rep];
    } else {
        c->var[R] = rep; /* rep is an if's result, declared before it */
        if (c->class_last[R] > c->class_last[rep])
            c->class_last[rep] = c->class_last[R];
    }
    Ref root = cg_var_of(c, R);
    c->carried[root] = 1;
    if (!f->v.p[root].name && !c->hint[root])
        c->hint[root] = cg_carried_name(c, id, j); /* named after the variable */
}

/* in is an IDX of element (i, j, ...) of GEN g's index space. */
static int own_element(const Fn *f, Ref g, const Inst *in)
{
    if (in->nix != f->v.p[g].ty.rank)
        return 0;
    for (int d = 0; d < in->nix; d++) {
        Aff x = in->x->ix[d];
        int32_t coef = 0, other = 0;
        for (int t = 0; t < x.n; t++) {
            if (x.iv[t] == ir_ivar(f, g, d))
                coef += x.a[t];
            else
                other |= x.a[t] != 0;
        }
        if (x.c || other || coef != 1 || x.nq)
            return 0;
    }
    return 1;
}

static int reads_class(const Cg *c, Ref a, Ref root)
{
    return a != NOREF && cg_var_of(c, cg_resolve(c, a)) == root;
}

/* GEN g, the only writer of its one result, computes carried array root
 * element by element in place (h = og * tanh(c), elementwise), if from
 * g's start (up to position hi) root's old value is read only at g's own
 * element, by the body computing that element.  b: the FOR body. */
static int elementwise(const Cg *c, Ref g, Ref root, const Region *b, int hi)
{
    const Fn *f = c->f;
    const Inst *gi = &f->v.p[g];
    const Region *gr = gi->parent;
    int at = 0;
    while (at < gr->ids.n && gr->ids.p[at] != g)
        at++;
    if (gi->op != OP_GEN || at == gr->ids.n || ir_nresults(f, gr, at) != 1)
        return 0;
    int gend = c->region_end[gi->x->reg[0]->ids.p[0]], end = c->region_end[b->ids.p[0]];
    for (int i = 0; i < b->yield.n && end < hi; i++)
        if (reads_class(c, b->yield.p[i], root))
            return 0;
    for (int k = c->order_at[b->ids.p[0]]; k < c->order.n && c->pos[c->order.p[k]] < end; k++) {
        Ref u = c->order.p[k];
        const Inst *in = &f->v.p[u];
        if (c->pos[u] >= c->pos[g])
            for (int s = 0; s < 2; s++)
                for (int i = 0; in->x->reg[s] && i < in->x->reg[s]->yield.n; i++)
                    if (c->branch_end[s][u] < hi && reads_class(c, in->x->reg[s]->yield.p[i], root))
                        return 0;
        int when = cg_inlined(c, u) ? c->last_read[u] : c->pos[u];
        if (when < c->pos[g] || when >= hi || in->op == OP_RESULT)
            continue;
        if (in->op == OP_IDX && c->pos[u] > c->pos[g] && c->pos[u] < gend && own_element(f, g, in))
            continue;
        for (int q = 0; q < op_info[in->op].nargs; q++)
            if (reads_class(c, in->arg[q], root))
                return 0;
        if (in->op == OP_LIT || in->op == OP_FOR)
            for (int q = 0; q < in->nix; q++)
                if (reads_class(c, in->x->list[q], root))
                    return 0;
    }
    return 1;
}

/* The last position in [lo, hi) where FOR body b reads a value of
 * variable root (0: none). */
static int reads_in(const Cg *c, Ref root, const Region *b, int lo, int hi)
{
    const Fn *f = c->f;
    int last = 0, end = c->region_end[b->ids.p[0]];
    for (int k = c->order_at[b->ids.p[0]]; k < c->order.n && c->pos[c->order.p[k]] < end; k++) {
        Ref u = c->order.p[k];
        const Inst *in = &f->v.p[u];
        int any = 0;
        for (int q = 0; q < op_info[in->op].nargs && in->op != OP_RESULT; q++)
            any |= reads_class(c, in->arg[q], root);
        for (int q = 0; (in->op == OP_LIT || in->op == OP_FOR) && q < in->nix; q++)
            any |= reads_class(c, in->x->list[q], root);
        if (any) {
            /* an inlined value read in several places (a constant, a
             * cell's final value) is read anywhere up to its last reader */
            int from = cg_inlined(c, u) && c->uses[u] > 1 ? c->pos[u] : 0;
            int at = cg_inlined(c, u) ? c->last_read[u] : c->pos[u];
            if (from && from < hi && at >= lo)
                at = at < hi ? at : hi - 1;
            if (at >= lo && at < hi && at > last)
                last = at;
        }
        for (int s = 0; s < 2; s++) /* a region's yields are read where it ends */
            for (int i = 0; in->x->reg[s] && i < in->x->reg[s]->yield.n; i++) {
                int at = c->branch_end[s][u];
                if (reads_class(c, in->x->reg[s]->yield.p[i], root) && at >= lo && at < hi && at > last)
                    last = at;
            }
    }
    for (int i = 0; i < b->yield.n; i++)
        if (reads_class(c, b->yield.p[i], root) && end >= lo && end < hi && end > last)
            last = end;
    return last;
}

static int plain(const Inst *in)
{
    return !in->ty.rank && (op_info[in->op].kind == K_ARITH || op_info[in->op].kind == K_MATH ||
                            in->op == OP_IDX);
}

/* IF fi in FOR body b yields the new value of carried variable root
 * through its result Y: each branch may compute Y in
 * root itself if it reads root's old value only up to its first write of
 * Y (at that statement, for a plain one; elementwise, for a GEN), or
 * leave root as it is if it yields a value root holds; nothing may read
 * root after the if. */
static int branchwise(const Cg *c, Ref fi, Ref Y, Ref root, const Region *b)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[fi];
    int e0 = c->branch_end[0][fi], e1 = c->branch_end[1][fi];
    if (reads_in(c, root, b, e1 + 1, INT_MAX))
        return 0;
    for (int s = 0; s < 2; s++) {
        int lo = s ? e0 + 1 : c->pos[fi] + 1, hi = s ? e1 + 1 : e0 + 1;
        Ref y = cg_resolve(c, in->x->reg[s]->yield.p[f->v.p[Y].n]);
        /* a value root holds, read here: nothing wrote root since (any
         * later write was allowed only if no read of root followed) */
        if (cg_var_of(c, y) == root)
            continue; /* unchanged */
        if (cg_var_of(c, y) != Y)
            return 0; /* assigned at the branch's end, with the others */
        int w = INT_MAX, eq = 0;
        Ref first = NOREF;
        for (int k = c->order_at[fi] + 1; k < c->order.n && c->pos[c->order.p[k]] < hi; k++) {
            Ref m = c->order.p[k];
            if (c->pos[m] >= lo && cg_var_of(c, m) == Y && c->pos[first_write(c, m)] < w) {
                w = c->pos[first_write(c, m)];
                eq = plain(&f->v.p[m]) && first_write(c, m) == m;
                first = first_write(c, m);
            }
        }
        if (w == INT_MAX)
            return 0;
        if (reads_in(c, root, b, lo, hi) >= w + eq &&
            !(f->v.p[first].op == OP_GEN && elementwise(c, first, root, b, hi)))
            return 0;
    }
    return 1;
}

/* The new value y of carried variable j is computed straight into it if
 * no read of the old value comes at or after (for a plain scalar
 * statement: after) the first write of y's variable. */
/* Y, a variable written in FOR body b, may live in carried variable
 * rep (whose CARRY is cy): nothing reads rep's old value from where Y is
 * first written (after that statement, for a plain scalar one; other
 * elements, for a GEN; the other branch, for an if). */
static int share_ok(const Cg *c, Ref rep, Ref cy, Ref Y, const Region *b)
{
    const Fn *f = c->f;
    const Inst *yi = &f->v.p[Y];
    if (Y == rep || cg_inlined(c, Y) || c->hoist[Y] || f->v.p[first_write(c, Y)].parent != b ||
        yi->op == OP_PARAM || yi->op == OP_CONST || !ty_eq(yi->ty, f->v.p[cy].ty))
        return 0;
    int start = c->pos[first_write(c, Y)] + plain(yi);
    return class_last_read(c, rep, c->order_at[b->ids.p[0]], c->region_end[b->ids.p[0]]) < start ||
           (yi->op == OP_RESULT && elementwise(c, yi->arg[0], rep, b, INT_MAX)) ||
           (yi->op == OP_RESULT && f->v.p[yi->arg[0]].op == OP_IF &&
            branchwise(c, yi->arg[0], Y, rep, b));
}

/* The versions of carried variable j that its body assigns (x = x * 1.5
 * in a branch, then x = x - 0.1 * s), and its new value, live in the
 * carried variable itself wherever share_ok allows. */
static void share_next(Cg *c, Ref id, int j)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    const Region *b = in->x->reg[0];
    Ref cy = ir_carry(f, id, j), rep = cg_var_of(c, cy);
    Ref y = cg_resolve(c, b->yield.p[j]), Y = cg_var_of(c, y);
    const char *name = cg_carried_name(c, id, j);
    for (int i = 0; name && i < b->ids.n; i++) {
        Ref v = b->ids.p[i];
        const char *vn = spelled(c, v);
        if (v != y && cg_var_of(c, v) == v && vn && !strcmp(vn, name) && share_ok(c, rep, cy, v, b))
            c->var[v] = rep;
    }
    /* x_bar = ...; x_bar += t, the last term written in the yield: the
     * running sum is x_bar itself, and so is the yield, as a statement */
    Ref chain = NOREF;
    if (cg_inlined(c, y)) {
        const Inst *in_y = &f->v.p[y];
        Ref a = ir_is_acc(in_y) ? cg_resolve(c, in_y->arg[0]) : NOREF;
        if (a == NOREF || cg_inlined(c, a) || c->uses[a] != 1 || f->v.p[a].parent != b ||
            !in_y->name || !f->v.p[a].name || strcmp(in_y->name, f->v.p[a].name))
            return;
        chain = y;
        Y = cg_var_of(c, a);
    }
    if (Y != rep && !share_ok(c, rep, cy, Y, b))
        return;
    c->var[Y] = rep;
    if (chain != NOREF) {
        c->force[chain] = 1;
        c->var[chain] = rep;
    }
}

void cg_share_carries(Cg *c)
{
    const Fn *f = c->f;
    int n = c->order.n, fors = 0;
    if (!c->has_loops)
        return; /* no for loop (the scan below would find none) */
    for (int k = 0; k < n && !fors; k++)
        fors = f->v.p[c->order.p[k]].op == OP_FOR;
    if (!fors)
        return; /* no carried variable: nothing here reads last_read or order_at */
    c->order_at = arena_alloc(c->A, sizeof(int) * (size_t)(f->v.n + 1));
    for (int k = 0; k < n; k++)
        c->order_at[c->order.p[k]] = k;
    /* each carried value's RESULT (the last in its loop's region, if
     * several), for cg_carried_name: one pass, not one for each name */
    c->carry_result = arena_alloc(c->A, sizeof(Ref) * (size_t)(f->v.n + 1));
    for (Ref v = 0; v < f->v.n; v++)
        c->carry_result[v] = NOREF;
    for (int k = 0; k < n; k++) {
        Ref x = c->order.p[k], id = f->v.p[x].arg[0];
        if (f->v.p[x].op == OP_RESULT && f->v.p[id].op == OP_FOR &&
            f->v.p[x].parent == f->v.p[id].parent)
            c->carry_result[ir_carry(f, id, f->v.p[x].n)] = x;
    }
    find_last_reads(c);
    /* the representatives: a FOR's RESULT, or its CARRY */
    for (int k = 0; k < n; k++) {
        Ref v = c->order.p[k];
        const Inst *in = &f->v.p[v];
        if (in->op != OP_RESULT || f->v.p[in->arg[0]].op != OP_FOR)
            continue;
        Ref cy = ir_carry(f, in->arg[0], in->n);
        if (cg_var_of(c, cy) == cy)
            c->var[cy] = cg_var_of(c, v);
        else if (c->var[v] == v)
            c->var[v] = cg_var_of(c, cy);
    }
    for (int k = 0; k < n; k++) {
        Ref v = c->order.p[k];
        if (f->v.p[v].op == OP_CARRY)
            c->carried[cg_var_of(c, v)] = 1;
    }
    /* every class's last read, which share_init keeps as it joins
     * classes (each joined at its root) */
    c->class_last = arena_alloc(c->A, sizeof(int) * (size_t)(f->v.n + 1));
    for (int k = 0; k < n; k++) {
        Ref v = c->order.p[k], root = cg_var_of(c, v);
        if (c->last_read[v] > c->class_last[root])
            c->class_last[root] = c->last_read[v];
    }
    for (int k = 0; k < n; k++)
        if (f->v.p[c->order.p[k]].op == OP_FOR)
            for (int j = 0; j < f->v.p[c->order.p[k]].nix; j++)
                share_init(c, c->order.p[k], j);
    for (int k = n - 1; k >= 0; k--)
        if (f->v.p[c->order.p[k]].op == OP_FOR)
            for (int j = 0; j < f->v.p[c->order.p[k]].nix; j++)
                share_next(c, c->order.p[k], j);
}


/* ---------------- leaving a loop early ---------------- */

enum { MAX_STOP_TAPES = 64 };

typedef struct {
    Ref t[MAX_STOP_TAPES]; /* tape buffers the loop writes */
    int n;
    int tapes_ok;          /* 0: any effect disqualifies (f, f_jvp) */
} Tapes;

/* Whether region r allows leaving early: outside the region `then` (the
 * branch that runs while the loop goes on) it has no effect, except, with
 * tapes_ok, stores into tapes, collected with those of `then` in tp. */
static int effects_ok(const Fn *f, const Region *r, const Region *then, int in_then, Tapes *tp)
{
    if (!r)
        return 1;
    in_then |= r == then;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *x = &f->v.p[r->ids.p[i]];
        int tape = x->op == OP_ACC && tp->tapes_ok && cg_is_tape(&f->v.p[x->arg[0]]);
        if (tape) {
            int seen = 0;
            for (int k = 0; k < tp->n; k++)
                seen |= tp->t[k] == x->arg[0];
            if (!seen && tp->n == MAX_STOP_TAPES)
                return 0;
            if (!seen)
                tp->t[tp->n++] = x->arg[0];
        } else if (!in_then && (x->op == OP_ACC || x->op == OP_LOOP || x->op == OP_ZEROS)) {
            return 0;
        }
        for (int k = 0; k < 2; k++)
            if ((ir_is_loop(x) || x->op == OP_FOR || x->op == OP_IF) &&
                !effects_ok(f, x->x->reg[k], then, in_then, tp))
                return 0;
    }
    return 1;
}

/* The nearest FOR around instruction u, or NOREF. */
static Ref loop_around(const Fn *f, Ref u)
{
    for (const Region *r = f->v.p[u].parent; r && r->owner != NOREF; r = f->v.p[r->owner].parent)
        if (f->v.p[r->owner].op == OP_FOR)
            return r->owner;
    return NOREF;
}

static int is_tape_of(const Tapes *tp, Ref v)
{
    for (int k = 0; k < tp->n; k++)
        if (tp->t[k] == v)
            return 1;
    return 0;
}

/* The backward loop that reads FOR id's tapes, when it alone reads them
 * (the rows of the iterations after the stop are then read nowhere else)
 * and both loops stand in one region (the count of iterations run,
 * declared before the forward loop, is seen by the backward one: a
 * while loop in a for loop is recomputed and reversed in each backward
 * iteration of the for loop); else NOREF. */
static Ref reverse_of(const Cg *c, Ref id, const Tapes *tp)
{
    const Fn *f = c->f;
    Ref R = NOREF;
    for (int i = 0; i < c->order.n; i++) {
        Ref u = c->order.p[i];
        const Inst *x = &f->v.p[u];
        for (int k = 0; k < op_info[x->op].nargs; k++) {
            if (!is_tape_of(tp, x->arg[k]) || (x->op == OP_ACC && k == 0 && loop_around(f, u) == id))
                continue;
            Ref r = x->op == OP_IDX && k == 0 ? loop_around(f, u) : NOREF;
            if (r == NOREF || (R != NOREF && r != R))
                return NOREF;
            R = r;
        }
        if (x->op == OP_LIT || x->op == OP_FOR)
            for (int k = 0; k < x->nix; k++)
                if (is_tape_of(tp, x->x->list[k]))
                    return NOREF;
    }
    const Inst *in = &f->v.p[id], *rv = R != NOREF ? &f->v.p[R] : NULL;
    if (!rv || !(rv->flags & IF_BACKWARDS) || rv->parent != in->parent ||
        rv->x->ix[0].c != in->x->ix[0].c || rv->x->ix[1].c != in->x->ix[1].c)
        return NOREF;
    return R;
}

/* A while loop's body holds the IF on its flag that ir_stop_if
 * recognises: once the flag is 0, no iteration changes anything, and the
 * loop may stop there.  In f and f_jvp, and where the loop records no
 * tape, nothing else needs checking; in a gradient the loop's tapes must
 * be read by one backward loop alone (*rev), which then starts from the
 * last iteration that ran. */
int cg_exit_flag(const Cg *c, Ref id, Ref *rev)
{
    const Fn *f = c->f;
    const Inst *in = &f->v.p[id];
    *rev = NOREF;
    if (in->flags & IF_BACKWARDS)
        return -1;
    const Region *b = in->x->reg[0];
    if (in->flags & IF_CKPT) { /* a checkpointed while loop: its segments */
        int k = ir_stop_carry(f, id);
        Tapes tp = {.n = 0, .tapes_ok = 1};
        if (k < 0 || !effects_ok(f, b, NULL, 0, &tp) || !tp.n)
            return -1;
        *rev = reverse_of(c, id, &tp);
        return *rev != NOREF ? k : -1;
    }
    for (int i = 0; i < b->ids.n; i++) {
        Ref fi = b->ids.p[i];
        int k = ir_stop_if(f, id, fi);
        Tapes tp = {.n = 0, .tapes_ok = f->kind != FN_PRIMAL && f->kind != FN_JVP};
        if (k < 0 || !effects_ok(f, b, f->v.p[fi].x->reg[0], 0, &tp))
            continue;
        if (tp.tapes_ok && tp.n)
            *rev = reverse_of(c, id, &tp);
        if (!tp.tapes_ok || !tp.n || *rev != NOREF)
            return k; /* no tape: as in f, nothing past the stop is read */
    }
    return -1;
}
