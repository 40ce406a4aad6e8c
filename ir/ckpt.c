/*
 * ckpt.c - checkpointing: the gradient of a long for loop within a fixed
 * memory budget.
 *
 * A reverse sweep reads, for every iteration of a for loop, the values
 * the iteration started from (tape.c): a tape of one row per iteration.
 * When a loop's tapes would not fit the stack budget, the loop is run as
 * nested loops instead, `for i in 0..N` becoming
 *
 *     for i_cp1 in 0..b1 { for i_cp2 in 0..b2 { ... for i in 0..bL {
 *         body, with i read as i_cp1 * b2 * ... * bL + ... + i } } }
 *
 * (b1 * ... * bL = N).  The function is unchanged: the same operations
 * in the same order.  Reverse mode does the rest with no new machinery:
 * the outer loop records its carried values once per segment (b1 rows:
 * the snapshots), and its reverse loop runs each segment's inner loop
 * forward again from its snapshot, recording b2 rows, and so on down to
 * the innermost loop, which records bL rows and is reversed as before.
 * So L levels need b1 + ... + bL rows instead of N, at the cost of L - 1
 * extra forward sweeps, and the gradient is bit-identical to the fully
 * taped one (the derivative code is the same, in the same order).  The
 * schedule is fixed at compile time and runs as plain nested loops over
 * fixed arrays: no recursion, no allocation.
 *
 * This is the multi-level (nested) form of checkpointing in Griewank and
 * Walther, "Evaluating Derivatives", 2nd ed., SIAM 2008, ch. 12, and
 * Griewank, "Achieving logarithmic growth of temporal and spatial
 * complexity in reverse automatic differentiation" (1992): with L levels
 * of b = N^(1/L) snapshots each, memory grows as L N^(1/L) and time as L.
 * Binomial checkpointing (revolve: Griewank and Walther, ACM TOMS 26(1),
 * 2000) reaches N = C(s + t, t) steps with s snapshots and t sweeps,
 * against (s / t)^t here; its schedule has segments of unequal length,
 * which static loops cannot express without one copy of the body per
 * segment length.
 *
 * A trip count with no factors near N^(1/L) (a prime, say) is split as
 * N = r + q * b^(L-1): a head loop of r < b^(L-1) iterations, itself
 * split one level less, then the q * b^(L-1) others nested exactly.  The
 * bits stay those of one loop because the reverse loop of a for starts
 * its parameters' adjoint sums from what the loops after it left (ad.c,
 * acc_cell) rather than from zero.
 *
 * ir/pipeline.c decides when: the C generator measures the gradient's
 * frame, and while it exceeds the budget the loop owning the largest
 * tapes gets one more level (ckpt_split on a fresh f_jvp, before
 * transposition, so f and f_jvp stay as written).
 */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- copying a for loop ---------------- */

static void clone_region(Fn *f, const Region *src, Region *dst, Ref *map);

/* map[x] for a value of the copied loop, else x itself. */
static Ref mapped(const Ref *map, Ref x)
{
    return x == NOREF ? NOREF : map[x];
}

/* The copy of instruction id (not an IVAR or CARRY) at the end of dst. */
static Ref clone_inst(Fn *f, Region *dst, Ref id, Ref *map)
{
    Inst in = f->v.p[id]; /* by value: emitting may move f->v */
    IrAt at = ir_at_of(f, dst, &in);
    at.rule_src = mapped(map, in.rule_src);
    Ref n;
    if (in.op == OP_FOR) {
        Ref *init = arena_alloc(f->arena, sizeof(Ref) * (size_t)(in.nix + 1));
        uint8_t *crole = arena_alloc(f->arena, (size_t)(in.nix + 1));
        for (int j = 0; j < in.nix; j++) {
            init[j] = mapped(map, in.x->list[j]);
            crole[j] = f->v.p[ir_carry(f, id, j)].role;
        }
        n = ir_for(at, in.x->ix[0].c, in.x->ix[1].c, in.nix, init, crole);
        for (int j = 0; j < in.nix; j++) {
            map[ir_carry(f, id, j)] = ir_carry(f, n, j);
            f->v.p[ir_carry(f, n, j)].name = f->v.p[ir_carry(f, id, j)].name;
        }
    } else {
        n = ir_copy_at(at, &in, map);
    }
    Inst *x = &f->v.p[n];
    x->name = in.name;
    x->rule_src = at.rule_src;
    map[id] = n;
    if (in.op == OP_IF) {
        for (int s = 0; s < 2; s++) {
            Region *r = ir_region_new(f, n, s);
            f->v.p[n].x->reg[s] = r;
            clone_region(f, in.x->reg[s], r, map);
        }
    } else if (in.op == OP_FOR || ir_is_loop(&in)) {
        for (int d = 0; d < ir_nivars(f, id); d++) {
            map[ir_ivar(f, id, d)] = ir_ivar(f, n, d);
            f->v.p[ir_ivar(f, n, d)].name = f->v.p[ir_ivar(f, id, d)].name;
        }
        clone_region(f, in.x->reg[0], f->v.p[n].x->reg[0], map);
    }
    return n;
}

/* src's instructions but its IVARs and CARRYs (its owner's copy made
 * them) at the end of dst, then its yields; map: old -> new. */
static void clone_region(Fn *f, const Region *src, Region *dst, Ref *map)
{
    for (int i = 0; i < src->ids.n; i++) {
        Ref id = src->ids.p[i];
        int op = f->v.p[id].op;
        if (op != OP_IVAR && op != OP_CARRY)
            clone_inst(f, dst, id, map);
    }
    for (int i = 0; i < src->yield.n; i++)
        vec_push(f->arena, &dst->yield, mapped(map, src->yield.p[i]));
}

/* ---------------- nesting a for loop ---------------- */

/* i -> by in every index expression of region r (any depth). */
static void subst_region(Fn *f, const Region *r, Ref iv, Aff by)
{
    for (int i = 0; i < r->ids.n; i++) {
        Inst *in = &f->v.p[r->ids.p[i]];
        for (int k = 0, na = ir_naffs(in); k < na; k++)
            in->x->ix[k] = aff_subst(f->arena, in->x->ix[k], iv, by);
        if (in->op == OP_IF) {
            subst_region(f, in->x->reg[0], iv, by);
            subst_region(f, in->x->reg[1], iv, by);
        } else if (in->x->reg[0]) {
            subst_region(f, in->x->reg[0], iv, by);
        }
    }
}

/* The FOR id (constant bounds lo..hi, hi - lo = b[0] * ... * b[L-1]) run
 * as L nested loops, id itself the innermost (0..b[L-1]); its RESULTs
 * become the outermost loop's, so no reader outside changes. */
static void nest(Fn *f, Ref id, const int32_t *b, int L)
{
    if (L < 2)
        return;
    Inst in = f->v.p[id];
    Arena *A = f->arena;
    Region *r = in.parent;
    int pos = ir_index_in(r, id), nix = in.nix;
    int32_t lo = in.x->ix[0].c;
    Ref iv = ir_ivar(f, id, 0);
    const char *ivname = f->v.p[iv].name ? f->v.p[iv].name : "i";
    int nres = ir_nresults(f, r, pos); /* dead ones are gone */
    Ref *init = arena_alloc(A, sizeof(Ref) * (size_t)(nix + 1));
    Ref *outer = arena_alloc(A, sizeof(Ref) * (size_t)L);
    uint8_t *crole = arena_alloc(A, (size_t)(nix + 1));
    for (int j = 0; j < nix; j++) {
        init[j] = in.x->list[j];
        crole[j] = f->v.p[ir_carry(f, id, j)].role;
    }
    /* the outer loops are built in a scratch region; the outermost takes
     * id's place in r, and id's RESULTs there become its own */
    Region tmp = {0};
    tmp.owner = r->owner;
    Region *at = &tmp;
    Aff by = aff_const(f->arena, lo);
    by.iv = arena_alloc(f->arena, sizeof(Ref) * (size_t)L);
    by.a = arena_alloc(f->arena, sizeof(int32_t) * (size_t)L);
    int32_t stride = 1;
    for (int k = 0; k < L; k++)
        stride *= b[k];
    for (int k = 0; k < L - 1; k++) {
        IrAt a = ir_at_of(f, at, &in);
        a.flags |= IF_CKPT;
        outer[k] = ir_for(a, 0, b[k], nix, init, crole);
        Ref g = ir_ivar(f, outer[k], 0);
        f->v.p[g].name = arena_name(f->arena, ivname, "_cp", k + 1);
        stride /= b[k];
        by.iv[by.n] = g;
        by.a[by.n++] = stride;
        for (int j = 0; j < nix; j++) {
            init[j] = ir_carry(f, outer[k], j);
            f->v.p[init[j]].name = f->v.p[ir_carry(f, id, j)].name;
        }
        at = f->v.p[outer[k]].x->reg[0];
    }
    /* the innermost: id itself, 0..b[L-1], its i read through by */
    by.iv[by.n] = iv;
    by.a[by.n++] = 1;
    Region *body = f->v.p[id].x->reg[0];
    subst_region(f, body, iv, by);
    Inst *x = &f->v.p[id];
    x->x->ix[0] = aff_const(f->arena, 0);
    x->x->ix[1] = aff_const(f->arena, b[L - 1]);
    for (int j = 0; j < nix; j++)
        x->x->list[j] = init[j];
    x->parent = at;
    vec_push(f->arena, &at->ids, id);
    /* results: fresh ones for every loop inside, yielded up */
    Ref inner = id;
    for (int k = L - 2; k >= 0; k--) {
        Region *ob = f->v.p[outer[k]].x->reg[0];
        for (int j = 0; j < nix; j++) {
            Ref c = ir_carry(f, id, j);
            IrAt a = ir_at_of(f, ob, &f->v.p[c]);
            Ref y = ir_result(a, f->v.p[c].ty, inner, j);
            f->v.p[y].name = f->v.p[c].name;
            vec_push(f->arena, &ob->yield, y);
        }
        inner = outer[k];
    }
    for (int j = 0; j < nres; j++)
        f->v.p[r->ids.p[pos + 1 + j]].arg[0] = outer[0];
    /* splice: outer[0] where id was; the results stay after it */
    ASSERT(tmp.ids.n == 1);
    r->ids.p[pos] = outer[0];
    f->v.p[outer[0]].parent = r;
}

/* ---------------- choosing the levels ---------------- */

/* The smallest b with b^L >= n. */
static int32_t root_up(long long n, int L)
{
    int32_t b = (int32_t)floor(pow((double)n, 1.0 / L));
    if (b < 2)
        b = 2;
    for (;;) {
        long long p = 1;
        for (int k = 0; k < L && p < n; k++)
            p *= b;
        if (p >= n)
            break;
        b++;
    }
    while (b > 2) { /* pow may have rounded up */
        long long p = 1;
        for (int k = 0; k < L && p < n; k++)
            p *= b - 1;
        if (p < n)
            break;
        b--;
    }
    return b;
}

/* b[0..L) with product n, each at most 2 * root_up(n, L), the largest
 * first, greedily near n^(1/l) for the l levels left; 0 when there are
 * none (n prime, say). */
static int factor(long long n, int L, int32_t *b)
{
    int32_t cap = 2 * root_up(n, L);
    long long m = n;
    for (int k = 0; k < L; k++) {
        int left = L - k;
        if (left == 1) {
            if (m > cap)
                return 0;
            b[k] = (int32_t)m;
            break;
        }
        int32_t want = root_up(m, left), best = 0;
        for (int32_t d = 1; d <= cap && d <= m; d++)
            if (m % d == 0 && (!best || llabs(d - want) < llabs(best - want)))
                best = d;
        if (!best)
            return 0;
        b[k] = best;
        m /= best;
    }
    return 1;
}

static void split(Fn *f, Ref id, int L);

/* The FOR id of n = r + q * S iterations (S = b^(L-1), r < S, q < b):
 * a head loop, a copy of id, runs the first r (split one level less),
 * then id the rest, nested exactly. */
static void split_digits(Fn *f, Ref id, int L, long long n)
{
    int32_t b = root_up(n, L), lo = f->v.p[id].x->ix[0].c;
    long long S = 1;
    for (int k = 0; k < L - 1; k++)
        S *= b;
    int32_t q = (int32_t)(n / S), r = (int32_t)(n % S);
    if (!q) {
        split(f, id, L - 1);
        return;
    }
    if (r) {
        Inst in = f->v.p[id];
        Region *reg = in.parent;
        int pos = ir_index_in(reg, id), nix = in.nix;
        Ref *map = arena_alloc(f->arena, sizeof(Ref) * (size_t)f->v.n);
        for (Ref v = 0; v < f->v.n; v++)
            map[v] = v;
        Region tmp = {0};
        tmp.owner = reg->owner;
        Ref head = clone_inst(f, &tmp, id, map);
        Inst *h = &f->v.p[head];
        h->x->ix[1] = aff_const(f->arena, lo + r);
        IrAt a = ir_at_of(f, &tmp, &in);
        for (int j = 0; j < nix; j++) {
            Ref c = ir_carry(f, id, j);
            a.role = f->v.p[c].role;
            Ref y = ir_result(a, f->v.p[c].ty, head, j);
            f->v.p[y].name = f->v.p[c].name;
            f->v.p[id].x->list[j] = y;
        }
        f->v.p[id].x->ix[0] = aff_const(f->arena, lo + r);
        ir_splice(f, reg, pos, &tmp); /* head and its results before id */
        split(f, head, L - 1);
    }
    int32_t *bs = arena_alloc(f->arena, sizeof(int32_t) * (size_t)L);
    bs[0] = q;
    for (int k = 1; k < L; k++)
        bs[k] = b;
    if (q > 1)
        nest(f, id, bs, L);
    else
        nest(f, id, bs + 1, L - 1);
}

/* The FOR id as L levels of nested loops (nothing when L < 2 or its trip
 * count is too short to gain). */
static void split(Fn *f, Ref id, int L)
{
    const Inst *in = &f->v.p[id];
    long long n = (long long)in->x->ix[1].c - in->x->ix[0].c;
    while (L > 1 && root_up(n, L) < 2)
        L--;
    if (L < 2 || n < 4)
        return;
    int32_t *b = arena_alloc(f->arena, sizeof(int32_t) * (size_t)L);
    if (factor(n, L, b))
        nest(f, id, b, L);
    else
        split_digits(f, id, L, n);
}

/* The FORs of r (any depth) whose line is `line`, in order. */
static void find_fors(const Fn *f, const Region *r, int line, IrRefs *out, Arena *A)
{
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        if (in->op == OP_FOR && in->line == line && !(in->flags & IF_CKPT))
            vec_push(A, out, id);
        if (in->op == OP_IF) {
            find_fors(f, in->x->reg[0], line, out, A);
            find_fors(f, in->x->reg[1], line, out, A);
        } else if (in->x->reg[0]) {
            find_fors(f, in->x->reg[0], line, out, A);
        }
    }
}

int ckpt_split(Fn *f, int line, int levels)
{
    IrRefs fors = {0};
    find_fors(f, f->body, line, &fors, f->arena);
    for (int i = 0; i < fors.n; i++)
        split(f, fors.p[i], levels);
    return fors.n;
}

int ckpt_max_levels(const Fn *f, int line)
{
    int best = 0;
    for (Ref v = 0; v < f->v.n; v++) {
        const Inst *in = &f->v.p[v];
        if (in->op != OP_FOR || in->line != line)
            continue;
        long long n = (long long)in->x->ix[1].c - in->x->ix[0].c;
        int L = 1;
        while ((1LL << L) < n)
            L++;
        best = L > best ? L : best;
    }
    return best;
}
