/*
 * lanes.c - the tangent of a long sum accumulated in two lanes
 * (opt_lanes), in f_jvp and f_hvp.
 *
 * A sum of f is a chain of additions in the order the model writes it,
 * and C compilers keep that order (without -ffast-math): the loop
 *
 *     for (int j = 0; j < 784; j++) { s += W[i, j] * x[j]; s_dot += W_dot[i, j] * x[j]; }
 *
 * multiplies two elements at once in a vector register, then adds them
 * to s one at a time, and does the same for s_dot.  The order of s is
 * the model's: f_jvp returns f's value to the bit.  The order of s_dot
 * is not the model's to choose: the tangent of a sum is the sum of the
 * tangents, in any order (reverse mode adds the same terms backwards),
 * so this pass gives it two partial sums, one over the even and one over
 * the odd iterations, added at the end:
 *
 *     for (int j = 0; j < 392; j++) {
 *         s = s + W[i, 2j] * x[2j] + W[i, 2j + 1] * x[2j + 1];
 *         s_dot_even = s_dot_even + W_dot[i, 2j] * x[2j];
 *         s_dot_odd = s_dot_odd + W_dot[i, 2j + 1] * x[2j + 1];
 *     }
 *     s_dot = s_dot_even + s_dot_odd;
 *
 * The two lanes are independent, so a compiler keeps them in one vector
 * register and adds two products with one instruction (the MLP's f_jvp:
 * 1.56 -> 1.34 times f in instructions with gcc -O2).  This is the
 * reassociation that vectorising compilers do for sums under
 * -ffast-math (-fassociative-math), applied to the tangents only, where
 * any order is as exact as another; f's own sums, and the primal sums
 * of f_jvp and f_hvp, keep the model's order.  The tangent then agrees
 * with the in-order sum to rounding (two interleaved partial sums:
 * Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed.,
 * SIAM 2002, ch. 4, on the error of summation orders; its bound is
 * smaller than the in-order sum's).
 *
 * Which sums: a RED sum over constant bounds of at least `min`
 * iterations (dxc --sum-lanes, 16 by default: a shorter sum gains little
 * and reads better as one loop) whose body holds no region, no ACC and no call of exp,
 * sin, ... (the loops of a matrix-vector product, a dot product), with
 * at least one tangent result.  The RED becomes a FOR over the pairs, its body twice
 * (the index read as lo + 2j, then lo + 2j + 1), carrying each primal
 * sum once and each tangent sum as two lanes; an odd count runs its
 * last iteration after the loop.  Every use of a result reads the new
 * value (the primal result, or the lanes' sum).
 */
#include "ir.h"

#include <string.h>

/* One RED being split: f, the map from each value to its copy (the
 * identity but for the body being copied), the RED's index variable and
 * the one the copy reads. */
typedef struct {
    Fn *f;
    Ref *map;
    Ref iv, newiv;
} Split;

/* A region with no nested region, no ACC and no call of exp, sin, ...
 * (ir_costly_op): a loop that calls a function is not vectorised, and
 * its body twice would be twice the code for nothing. */
static int flat(const Fn *f, const Region *r)
{
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *in = &f->v.p[r->ids.p[i]];
        if (ir_has_regions(in) || in->op == OP_ACC || in->op == OP_CARRY || ir_costly_op(in->op))
            return 0;
    }
    return 1;
}

/* One copy of the RED's body at the end of dst, its index variable read
 * as `by` (affine in the FOR's index variable, or a constant); s->map
 * holds each body value's copy after it. */
static void copy_body(Split *s, const Region *body, Region *dst, Aff by)
{
    Fn *f = s->f;
    s->map[s->iv] = s->newiv;
    for (int i = 0; i < body->ids.n; i++) {
        Ref id = body->ids.p[i];
        Inst in = f->v.p[id]; /* by value: adding may move f->v */
        if (in.op == OP_IVAR)
            continue;
        Ref n = ir_copy_inst(f, dst, &in, s->map);
        Inst *x = &f->v.p[n];
        for (int k = 0, na = ir_naffs(x); k < na; k++)
            x->x->ix[k] = aff_subst(f->arena, x->x->ix[k], s->newiv, by);
        s->map[id] = n;
    }
}

/* by = c + a * newiv */
static Aff lane_index(Arena *A, Ref newiv, int32_t a, int32_t c)
{
    Aff by = aff_const(A, c);
    if (a) {
        by.iv = arena_alloc(A, sizeof(Ref));
        by.a = arena_alloc(A, sizeof(int32_t));
        by.iv[0] = newiv;
        by.a[0] = a;
        by.n = 1;
    }
    return by;
}

/* The value of body yield k in the latest copy. */
static Ref copied(const Split *s, const Region *body, int k)
{
    return s->map[body->yield.p[k]];
}

static int is_tangent(const Fn *f, Ref res)
{
    return res != NOREF && f->v.p[res].role == ROLE_TANGENT;
}

/* A name for a lane: NAME with TAIL, or s with it. */
static const char *lane_name(Arena *A, const char *name, const char *tail)
{
    return arena_name(A, name ? name : "s", tail, -1);
}

/* The RED at position pos of region r, its results after it (one per
 * yield), split as the comment at the top says: each old result becomes
 * the sum's new value in place, so no reader changes. */
static void split(Fn *f, Region *r, int pos, Ref *map)
{
    Arena *A = f->arena;
    Ref id = r->ids.p[pos];
    Inst red = f->v.p[id];
    const Region *body = red.x->reg[0];
    int ny = body->yield.n;
    int32_t lo = red.x->ix[0].c, n = red.x->ix[1].c - red.x->ix[0].c;
    const Ref *res = &r->ids.p[pos + 1]; /* res[k]: the RESULT of yield k */
    /* carried values: a primal sum once, a tangent one as two lanes;
     * lane[k]: yield k's first carried value */
    int *lane = arena_alloc(A, sizeof(int) * (size_t)ny), *tan = arena_alloc(A, sizeof(int) * (size_t)ny);
    int nc = 0;
    for (int k = 0; k < ny; k++) {
        tan[k] = is_tangent(f, res[k]);
        lane[k] = nc;
        nc += 1 + tan[k];
    }
    Ref *init = arena_alloc(A, sizeof(Ref) * (size_t)(nc + 1));
    uint8_t *crole = arena_alloc(A, (size_t)(nc + 1));
    Region tmp = {0};
    tmp.owner = r->owner;
    tmp.side = r->side;
    Ref zero[2] = {NOREF, NOREF};
    for (int k = 0; k < ny; k++) {
        int t = tan[k];
        if (zero[t] == NOREF) {
            IrAt at = ir_at_of(f, &tmp, &f->v.p[res[k]]);
            at.flags = 0;
            at.rule_op = 0;
            at.rule_arg = -1;
            at.rule_src = NOREF;
            zero[t] = ir_num(at, 0.0);
        }
        for (int q = 0; q <= t; q++) {
            init[lane[k] + q] = zero[t];
            crole[lane[k] + q] = f->v.p[res[k]].role;
        }
    }
    IrAt fat = ir_at_of(f, &tmp, &red);
    Ref loop = ir_for(fat, 0, n / 2, nc, init, crole);
    Region *fb = f->v.p[loop].x->reg[0];
    Split s = {f, map, ir_ivar(f, id, 0), ir_ivar(f, loop, 0)};
    f->v.p[s.newiv].name = f->v.p[s.iv].name;
    for (int k = 0; k < ny; k++) {
        const char *nm = f->v.p[res[k]].name;
        if (tan[k]) {
            f->v.p[ir_carry(f, loop, lane[k])].name = lane_name(A, nm, "_dot_even");
            f->v.p[ir_carry(f, loop, lane[k] + 1)].name = lane_name(A, nm, "_dot_odd");
        } else {
            f->v.p[ir_carry(f, loop, lane[k])].name = nm ? nm : "s";
        }
    }
    /* the body twice: each primal sum adds both terms in order, each
     * tangent sum's lane q adds copy q's */
    Ref *acc = arena_alloc(A, sizeof(Ref) * (size_t)(nc + 1));
    for (int j = 0; j < nc; j++)
        acc[j] = ir_carry(f, loop, j);
    for (int q = 0; q < 2; q++) {
        copy_body(&s, body, fb, lane_index(A, s.newiv, 2, lo + q));
        for (int k = 0; k < ny; k++) {
            int j = lane[k] + (tan[k] ? q : 0);
            IrAt at = ir_at_of(f, fb, &f->v.p[res[k]]);
            acc[j] = ir_op(at, OP_ADD, acc[j], copied(&s, body, k), NOREF);
        }
    }
    for (int j = 0; j < nc; j++)
        vec_push(A, &fb->yield, acc[j]);
    /* its results (a primal sum's old result is one when the count is
     * even), then an odd count's last iteration, then each old result as
     * the sum's value */
    Ref *out = arena_alloc(A, sizeof(Ref) * (size_t)(nc + 1));
    for (int k = 0; k < ny; k++)
        for (int q = 0; q <= tan[k]; q++) {
            int j = lane[k] + q;
            if (!tan[k] && n % 2 == 0) {
                f->v.p[res[k]].arg[0] = loop;
                f->v.p[res[k]].n = j;
                vec_push(A, &tmp.ids, res[k]);
                out[j] = res[k];
                continue;
            }
            IrAt at = ir_at_of(f, &tmp, &f->v.p[res[k]]);
            out[j] = ir_result(at, f->v.p[res[k]].ty, loop, j);
            f->v.p[out[j]].name = f->v.p[ir_carry(f, loop, j)].name;
        }
    Ref *last = arena_alloc(A, sizeof(Ref) * (size_t)(ny + 1));
    if (n % 2) {
        s.newiv = s.iv; /* the copy's index: the constant lo + n - 1 */
        copy_body(&s, body, &tmp, aff_const(A, lo + n - 1));
        for (int k = 0; k < ny; k++)
            last[k] = copied(&s, body, k);
    }
    for (int k = 0; k < ny; k++) {
        Ref v = out[lane[k]];
        if (n % 2 && tan[k]) {
            IrAt at = ir_at_of(f, &tmp, &f->v.p[res[k]]);
            v = ir_op(at, OP_ADD, v, last[k], NOREF);
        }
        if (tan[k])
            ir_become(f, &tmp, res[k], OP_ADD, v, out[lane[k] + 1]);
        else if (n % 2)
            ir_become(f, &tmp, res[k], OP_ADD, v, last[k]);
    }
    /* the RED and its results out of r, tmp's instructions in */
    int nres = ny;
    memmove(&r->ids.p[pos], &r->ids.p[pos + 1 + nres], sizeof(Ref) * (size_t)(r->ids.n - pos - 1 - nres));
    r->ids.n -= 1 + nres;
    ir_splice(f, r, pos, &tmp);
    for (int i = 0; i < body->ids.n; i++)
        map[body->ids.p[i]] = body->ids.p[i];
}

/* Whether the RED at pos in r is one to split (its results one per
 * yield, as the passes leave them). */
static int wanted(const Fn *f, const Region *r, int pos, int min)
{
    const Inst *in = &f->v.p[r->ids.p[pos]];
    int nres = ir_nresults(f, r, pos);
    if (in->op != OP_RED || in->red != RK_SUM || !aff_is_const(in->x->ix[0]) || !aff_is_const(in->x->ix[1]) ||
        (long long)in->x->ix[1].c - in->x->ix[0].c < min || !flat(f, in->x->reg[0]) ||
        nres != in->x->reg[0]->yield.n)
        return 0;
    for (int j = 0; j < nres; j++)
        if (is_tangent(f, r->ids.p[pos + 1 + j]))
            return 1;
    return 0;
}

/* The pass over one function; the map (split's, the identity but while
 * a body is copied) is made at the first split. */
typedef struct {
    Fn *f;
    int min, n0;
    Ref *map;
} Lanes;

static int lanes_region(Lanes *L, Region *r)
{
    Fn *f = L->f;
    int n = 0;
    for (int i = 0; i < r->ids.n; i++) {
        Inst *in = &f->v.p[r->ids.p[i]];
        if (in->op == OP_IF) {
            n += lanes_region(L, in->x->reg[0]);
            n += lanes_region(L, in->x->reg[1]);
            continue;
        }
        if (!ir_has_regions(in))
            continue;
        if (!wanted(f, r, i, L->min)) {
            n += lanes_region(L, in->x->reg[0]);
            continue;
        }
        if (!L->map) {
            L->map = arena_alloc(f->arena, sizeof(Ref) * (size_t)(L->n0 + 1));
            for (int v = 0; v < L->n0; v++)
                L->map[v] = v;
        }
        split(f, r, i, L->map);
        n++;
    }
    return n;
}

int opt_lanes(Fn *f, int min)
{
    if (min < 2 || !f->has_red)
        return 0;
    Lanes L = {f, min, f->v.n, NULL};
    int n = lanes_region(&L, f->body);
    if (!n)
        return 0;
    arena_drop(f->arena, L.map, sizeof(Ref) * (size_t)(L.n0 + 1));
    opt_dce(f); /* copies that fed only a result no one reads */
    return n;
}
