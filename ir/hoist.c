/*
 * hoist.c - the part of a tangent sum that a loop around it does not
 * change, summed once before that loop (opt_hoist), in f_jvp and f_hvp.
 *
 * The tangent of a product is two products, and often one of them does
 * not depend on an outer loop.  ADBench's Gaussian mixture sums, for
 * every point n, component k and row j,
 *
 *     s = sum(icf[k, tri(i, j)] * (x[n, i] - means[k, i]) for i in 0..j)
 *
 * and its tangent is the sum of icf_dot[k, tri(i, j)] * (x[n, i] -
 * means[k, i]) - means_dot[k, i] * icf[k, tri(i, j)]: the second term is
 * the same for every point.  This pass splits such a tangent sum, sum(a_i
 * + b_i) = sum(a_i) + sum(b_i), where b is free of an enclosing loop L,
 * and computes sum(b_i) before L, once for every iteration of the loops
 * between L and the sum, into a table those loops index:
 *
 *     T = [sum(b(k, j, i) for i in 0..j) for k in 0..K, j in 0..D]
 *     for n ... for k ... for j ... { s_dot = sum(a(n, k, j, i) for i in 0..j) + T[k, j] }
 *
 * (the GMM's f_jvp: 1.54 -> 1.4 times its function in instructions).
 * This is loop-invariant code motion (Aho, Lam, Sethi and Ullman,
 * "Compilers", 2nd ed., 9.5), of a reduction, with the loops it leaves
 * becoming the table's dimensions (scalar expansion).  Like the two
 * lanes of lanes.c, it changes the order in which a tangent sum adds its
 * terms, which is dxc's to choose; no primal value changes.
 *
 * When: a RED sum in f_jvp or f_hvp whose tangent yield is a + b or a - b
 * (either operand may be the free one) where b and the instructions it is
 * computed from inside L are arithmetic, constants and array reads (no
 * loop, branch, carried value or result of one), reading no index
 * variable of L and no buffer that an ACC inside L writes; the loops
 * between L and the sum are GEN or RED with constant bounds from 0 (a
 * branch between stops the search); L runs twice or more; and the table
 * fits in max_bytes (a sixteenth of the stack budget) and in what the
 * budget leaves beside every array the function already holds (all
 * counted, as the C generator's frame counts them, so a function that fit
 * still fits). The outermost such L is taken.
 */
#include "ir.h"

#include <string.h>

enum { MAX_DIMS = DX_MAXRANK };

typedef struct {
    Fn *f;
    long long max_bytes;
    long long room;  /* the budget less every array of f and the tables */
    int n0;
    Ref *map;      /* identity but while a table is built */
    int *stamp;    /* stamp[v] == visit: v seen in this cone */
    int visit;
    IrRefs cone;   /* the instructions inside L to copy, operands first */
} Hoist;

/* The loop owning region r, or NOREF (the function's body, or an IF). */
static Ref loop_of(const Fn *f, const Region *r)
{
    if (r->owner == NOREF)
        return NOREF;
    const Inst *o = &f->v.p[r->owner];
    return o->op == OP_IF ? NOREF : r->owner;
}

/* The index variables of loop l (a GEN may have several). */
static int is_ivar_of(const Fn *f, Ref iv, Ref l)
{
    const Inst *in = &f->v.p[iv];
    return in->op == OP_IVAR && in->parent->owner == l;
}

/* The chain of loops from the sum's region outwards: chain[0] owns the
 * region holding the sum, up to the first region owned by an IF or the
 * function's body.  Returns its length. */
static int chain_of(const Fn *f, Ref red, Ref *chain, int max)
{
    int n = 0;
    for (const Region *r = f->v.p[red].parent; n < max;) {
        Ref l = loop_of(f, r);
        if (l == NOREF)
            break;
        chain[n++] = l;
        r = f->v.p[l].parent;
    }
    return n;
}

typedef struct {
    Ref red;
    const Ref *inner; /* the loops between the sum and L: inner[0..m) */
    int m;
    Ref L;
} Where;

/* Whether instruction x is in loop L's body or in a region inside it. */
static int within(const Fn *f, Ref x, Ref L)
{
    for (const Region *r = f->v.p[x].parent; r; r = r->owner == NOREF ? NULL : f->v.p[r->owner].parent)
        if (r->owner == L)
            return 1;
    return 0;
}

/* Whether index variable iv may be read by the table: an index variable
 * of the sum, of an inner loop, or outside L. */
static int iv_ok(const Fn *f, Ref iv, const Where *w)
{
    if (is_ivar_of(f, iv, w->red))
        return 1;
    for (int k = 0; k < w->m; k++)
        if (is_ivar_of(f, iv, w->inner[k]))
            return 1;
    return !within(f, iv, w->L);
}

static int aff_ok(const Fn *f, Aff x, const Where *w)
{
    for (int i = 0; i < x.n; i++)
        if (x.a[i] && !iv_ok(f, x.iv[i], w))
            return 0;
    for (int q = 0; q < x.nq; q++)
        if (!aff_ok(f, x.q[q].x, w) || !aff_ok(f, x.q[q].y, w))
            return 0;
    return 1;
}

/* Collects into h->cone, operands first, the instructions inside L that
 * v is computed from; 0 if one cannot be copied before L. */
static int cone(Hoist *h, Ref v, const Where *w)
{
    Fn *f = h->f;
    if (v == NOREF || h->stamp[v] == h->visit)
        return 1;
    h->stamp[v] = h->visit;
    const Inst *in = &f->v.p[v];
    if (!within(f, v, w->L))
        return 1; /* outside L: read as it is */
    if (in->op == OP_IVAR)
        return iv_ok(f, v, w);
    if (ir_has_regions(in) || in->op == OP_RESULT || in->op == OP_CARRY || in->op == OP_ACC ||
        in->op == OP_ZEROS || in->op == OP_LIT || in->op == OP_PARAM || in->ty.rank)
        return 0;
    for (int k = 0, na = ir_naffs(in); k < na; k++)
        if (!aff_ok(f, in->x->ix[k], w))
            return 0;
    for (int k = 0; k < 3; k++)
        if (!cone(h, in->arg[k], w))
            return 0;
    vec_push(f->arena, &h->cone, v);
    return 1;
}

/* Whether an instruction of the cone reads an element of a buffer that
 * an ACC inside L adds to or stores into: its value may change from one
 * iteration of L to the next (f_hvp's adjoint buffers). */
static int reads_written(Hoist *h, Ref L)
{
    Fn *f = h->f;
    IrRefs accs = {0};
    ir_accs(f, f->v.p[L].x->reg[0], &accs);
    for (int i = 0; i < h->cone.n; i++) {
        const Inst *in = &f->v.p[h->cone.p[i]];
        for (int a = 0; in->op == OP_IDX && a < accs.n; a++)
            if (f->v.p[accs.p[a]].arg[0] == in->arg[0])
                return 1;
    }
    return 0;
}

/* The trips of loop l, or -1 if its bounds are not constant. */
static long long trips(const Fn *f, Ref l)
{
    const Inst *in = &f->v.p[l];
    if (in->op == OP_GEN) {
        long long n = 1;
        for (int d = 0; d < in->ty.rank; d++)
            n *= ty_dim(in->ty, d);
        return n;
    }
    int nd = in->op == OP_LOOP ? in->nix : 1;
    long long n = 1;
    for (int d = 0; d < nd; d++) {
        Aff lo = in->x->ix[d], hi = in->x->ix[nd + d];
        if (in->op != OP_LOOP) {
            lo = in->x->ix[0];
            hi = in->x->ix[1];
        }
        if (!aff_is_const(lo) || !aff_is_const(hi))
            return -1;
        n *= hi.c > lo.c ? hi.c - lo.c : 0;
    }
    return n;
}

/* The table's dimensions: every index variable of inner[m-1] .. inner[0]
 * (outermost first) and the extent of each; 0 if a loop is not a GEN or
 * a RED with constant bounds from 0. */
static int dims_of(const Fn *f, const Where *w, Ref *iv, int32_t *ext)
{
    int nd = 0;
    for (int k = w->m - 1; k >= 0; k--) {
        const Inst *in = &f->v.p[w->inner[k]];
        if (in->op == OP_GEN) {
            for (int d = 0; d < in->ty.rank; d++) {
                if (nd == MAX_DIMS)
                    return 0;
                iv[nd] = ir_ivar(f, w->inner[k], d);
                ext[nd++] = ty_dim(in->ty, d);
            }
        } else if (in->op == OP_RED && aff_is_const(in->x->ix[0]) && aff_is_const(in->x->ix[1]) &&
                   in->x->ix[0].c == 0 && in->x->ix[1].c > 0 && nd < MAX_DIMS) {
            iv[nd] = ir_ivar(f, w->inner[k], 0);
            ext[nd++] = in->x->ix[1].c;
        } else {
            return 0;
        }
    }
    return nd;
}

/* Builds the table of w's sums of b before L, named after name (the
 * sum's tangent, or NULL) and its loops' variables after theirs; returns
 * its value (the GEN's result, or with no dimension the RED's). */
static Ref build(Hoist *h, const Where *w, Ref b, const Ref *iv, const int32_t *ext, int nd, const char *name)
{
    Fn *f = h->f;
    Arena *A = f->arena;
    const Inst *L = &f->v.p[w->L];
    Region *r = L->parent;
    Region tmp = {0};
    tmp.owner = r->owner;
    tmp.side = r->side;
    IrAt at = ir_at_of(f, &tmp, &f->v.p[b]);
    at.rule_op = 0;
    at.rule_arg = -1;
    at.rule_src = NOREF;
    Region *in = &tmp;
    Ref gen = NOREF;
    if (nd) {
        gen = ir_loop(at, OP_GEN, ty_array(nd, ext), nd, RK_SUM);
        for (int d = 0; d < nd; d++) {
            h->map[iv[d]] = ir_ivar(f, gen, d);
            f->v.p[ir_ivar(f, gen, d)].name = f->v.p[iv[d]].name;
        }
        in = f->v.p[gen].x->reg[0];
    }
    IrAt rat = at;
    rat.r = in;
    Ref red = ir_loop(rat, OP_RED, ty_scalar(), 1, RK_SUM);
    h->map[ir_ivar(f, w->red, 0)] = ir_ivar(f, red, 0);
    f->v.p[ir_ivar(f, red, 0)].name = f->v.p[ir_ivar(f, w->red, 0)].name;
    const Inst *R = &f->v.p[w->red];
    Aff lo = aff_remap(A, R->x->ix[0], h->map), hi = aff_remap(A, R->x->ix[1], h->map);
    f->v.p[red].x->ix[0] = lo;
    f->v.p[red].x->ix[1] = hi;
    Region *body = f->v.p[red].x->reg[0];
    for (int i = 0; i < h->cone.n; i++) {
        Inst c = f->v.p[h->cone.p[i]]; /* by value: adding may move f->v */
        IrAt cat = ir_at_of(f, body, &c);
        /* the rule's instruction: its copy, or itself where the table
         * can name it (before L) */
        cat.rule_src = c.rule_src == NOREF                  ? NOREF
                       : h->map[c.rule_src] != c.rule_src   ? h->map[c.rule_src]
                       : within(f, c.rule_src, w->L)        ? NOREF
                                                            : c.rule_src;
        h->map[h->cone.p[i]] = ir_copy_at(cat, &c, h->map);
    }
    vec_push(A, &body->yield, h->map[b]);
    Ref sum = ir_result(rat, ty_scalar(), red, 0);
    Ref out = sum;
    if (nd) {
        vec_push(A, &in->yield, sum);
        out = ir_result(at, ty_array(nd, ext), gen, 0);
    }
    f->v.p[out].name = arena_name(A, name ? name : "s", "_hoisted", -1);
    /* back to the identity */
    for (int i = 0; i < h->cone.n; i++)
        h->map[h->cone.p[i]] = h->cone.p[i];
    for (int d = 0; d < nd; d++)
        h->map[iv[d]] = iv[d];
    h->map[ir_ivar(f, w->red, 0)] = ir_ivar(f, w->red, 0);
    ir_splice(f, r, ir_index_in(r, w->L), &tmp);
    return out;
}

/* Tries the tangent result res (of yield k) of RED red: returns 1 if its
 * free part went before a loop. */
static int try_sum(Hoist *h, Ref red, int k, Ref res)
{
    Fn *f = h->f;
    Ref y = f->v.p[red].x->reg[0]->yield.p[k];
    const Inst *yi = &f->v.p[y];
    if ((yi->op != OP_ADD && yi->op != OP_SUB) || yi->ty.rank)
        return 0;
    Ref chain[16];
    int nc = chain_of(f, red, chain, 16);
    for (int side = 1; side >= 0; side--) {
        Ref b = f->v.p[y].arg[side], a = f->v.p[y].arg[1 - side];
        for (int m = nc - 1; m >= 0; m--) { /* L = chain[m], outermost first */
            Where w = {red, chain, m, chain[m]};
            Ref iv[MAX_DIMS];
            int32_t ext[MAX_DIMS];
            int nd = dims_of(f, &w, iv, ext);
            if ((m && !nd) || trips(f, w.L) < 2)
                continue;
            long long cells = 1;
            for (int d = 0; d < nd; d++)
                cells *= ext[d];
            long long bytes = cells * (long long)sizeof(double);
            if (bytes > h->max_bytes || bytes > h->room)
                continue;
            const Inst *R = &f->v.p[red];
            if (!aff_ok(f, R->x->ix[0], &w) || !aff_ok(f, R->x->ix[1], &w))
                continue;
            h->visit++;
            h->cone.n = 0;
            if (!cone(h, b, &w) || !h->cone.n || reads_written(h, w.L))
                continue;
            /* b reads an index variable of L (directly or not)? cone
             * refused it: iv_ok.  The table, then the sum of a alone */
            if (!h->map) {
                h->map = arena_alloc(f->arena, sizeof(Ref) * (size_t)(h->n0 + 1));
                for (int v = 0; v < h->n0; v++)
                    h->map[v] = v;
            }
            Ref t = build(h, &w, b, iv, ext, nd, f->v.p[res].name);
            h->room -= bytes;
            /* a fresh RESULT, the sum of a, takes res's place, and res
             * becomes that plus the table's cell after the results (so
             * no reader of res changes); sum(b - a) = T - sum(a) */
            Region *pr = f->v.p[red].parent;
            Region tmp = {0};
            tmp.owner = pr->owner;
            tmp.side = pr->side;
            IrAt at = ir_at_of(f, &tmp, &f->v.p[res]);
            Ref fresh = ir_result(at, f->v.p[res].ty, red, k);
            tmp.ids.n = 0; /* made in tmp, placed in pr below */
            int pos = ir_index_in(pr, red), at_res = ir_index_in(pr, res);
            pr->ids.p[at_res] = fresh;
            f->v.p[fresh].parent = pr;
            f->v.p[fresh].name = f->v.p[res].name;
            f->v.p[res].name = NULL;
            Ref cell = t;
            if (nd) {
                Aff *ix = arena_alloc(f->arena, sizeof(Aff) * (size_t)nd);
                for (int d = 0; d < nd; d++)
                    ix[d] = aff_var(f->arena, iv[d]);
                cell = ir_idx(at, t, ix, nd);
            }
            int sub = f->v.p[y].op == OP_SUB;
            ir_become(f, &tmp, res, sub ? OP_SUB : OP_ADD, sub && !side ? cell : fresh, sub && !side ? fresh : cell);
            f->v.p[red].x->reg[0]->yield.p[k] = a;
            ir_splice(f, pr, pos + ir_nresults(f, pr, pos) + 1, &tmp);
            return 1;
        }
    }
    return 0;
}

/* The RED sums of region r and the regions inside it, and the bytes of
 * its arrays (every array value: an overestimate of the C's frame). */
static void collect(const Fn *f, const Region *r, IrRefs *reds, long long *bytes, Arena *A)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (in->ty.rank && in->op != OP_PARAM && !ir_has_regions(in))
            *bytes += ty_size(in->ty) * (long long)sizeof(double);
        if (in->op == OP_IF) {
            collect(f, in->x->reg[0], reds, bytes, A);
            collect(f, in->x->reg[1], reds, bytes, A);
        } else if (ir_has_regions(in)) {
            if (in->op == OP_RED && in->red == RK_SUM)
                vec_push(A, reds, r->ids.p[i]);
            collect(f, in->x->reg[0], reds, bytes, A);
        }
    }
}

int opt_hoist(Fn *f, long long max_bytes, long long budget)
{
    if (max_bytes < (long long)sizeof(double) || !f->has_red)
        return 0;
    Arena *A = f->arena;
    IrRefs reds = {0};
    long long bytes = 0;
    collect(f, f->body, &reds, &bytes, A);
    if (!reds.n)
        return 0;
    Hoist h = {0};
    h.f = f;
    h.max_bytes = max_bytes;
    h.room = budget - bytes;
    h.n0 = f->v.n;
    h.stamp = arena_alloc(A, sizeof(int) * (size_t)(h.n0 + 1));
    int n = 0;
    for (int i = 0; i < reds.n; i++) {
        Ref red = reds.p[i];
        Region *pr = f->v.p[red].parent;
        int pos = ir_index_in(pr, red), nres = ir_nresults(f, pr, pos);
        for (int j = 0; j < nres; j++) {
            Ref res = pr->ids.p[pos + 1 + j];
            if (f->v.p[res].role != ROLE_TANGENT || f->v.p[res].ty.rank)
                continue;
            n += try_sum(&h, red, f->v.p[res].n, res);
        }
    }
    if (n)
        opt_dce(f); /* the terms the sums no longer add */
    return n;
}
