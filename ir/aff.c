/*
 * aff.c - index expressions: affine forms c + sum a_k * iv_k of index
 * variables, and their non-affine terms: products of index variables,
 * floor division `//` and remainder `%` (i * (i - 1) // 2 + j reads a
 * packed triangle, (i + 1) % N wraps a stencil around).
 *
 * Design.  An index stays an Aff: c + sum a_k * iv_k, plus nq terms
 * b * (X op Y) whose operands X and Y are Affs themselves (so nested terms
 * such as (i * (i - 1)) // 2 are trees).  The leaves are still IVARs and
 * constants only.  This was chosen over a new index-valued instruction
 * that an Aff term would reference: such an instruction would have to be
 * placed in a region, kept alive by dead-code elimination, recomputed in
 * every reverse loop (transposition moves an IDX's index into a LOOP as
 * an ACC's) and substituted by GEN fusion, each of which reasons about
 * values through instruction operands.  A self-contained tree needs none
 * of that: every pass that moves an index already moves its Aff through
 * aff_copy / aff_remap (and opt.c's substitution), which copy the terms
 * too, so the transposed ACC, the tangent copy and the fused loop get the
 * same polynomial index with their own IVARs.  Programs without such an
 * index have nq == 0 everywhere: the affine code paths, and so their
 * generated C, are unchanged.  Code that reasons about an index's shape
 * (the C generator's loop analysis, fusion, stores) treats an Aff with
 * terms as "not a plain index variable", which is always safe.
 *
 * The operands of // and % are non-negative and the divisor positive in
 * every iteration that runs (index.c proves it when it builds the term),
 * so C's / and % compute them, and aff_value here is exact.
 */
#include "ir.h"

#include <string.h>

/* ---- affine forms ---- */

Aff aff_const(Arena *a, int32_t c)
{
    (void)a;
    Aff x = {0};
    x.c = c;
    return x;
}

Aff aff_var(Arena *a, Ref iv)
{
    Aff x = {0};
    x.n = 1;
    x.iv = arena_alloc(a, sizeof *x.iv);
    x.a = arena_alloc(a, sizeof *x.a);
    x.iv[0] = iv;
    x.a[0] = 1;
    return x;
}

Aff aff_copy(Arena *a, Aff x)
{
    Aff y = x;
    if (x.n) {
        y.iv = arena_alloc(a, sizeof *y.iv * (size_t)x.n);
        y.a = arena_alloc(a, sizeof *y.a * (size_t)x.n);
        memcpy(y.iv, x.iv, sizeof *y.iv * (size_t)x.n);
        memcpy(y.a, x.a, sizeof *y.a * (size_t)x.n);
    }
    if (x.nq)
        y.q = aff_q_copy(a, x.q, x.nq, NULL);
    return y;
}

Aff aff_remap(Arena *a, Aff x, const Ref *map)
{
    Aff y = aff_copy(a, x);
    for (int i = 0; i < y.n; i++) {
        ASSERT(map[x.iv[i]] != NOREF);
        y.iv[i] = map[x.iv[i]];
    }
    if (x.nq)
        y.q = aff_q_copy(a, x.q, x.nq, map);
    return y;
}

Aff aff_subst(Arena *a, Aff x, Ref iv, Aff by)
{
    ASSERT(!by.nq);
    int k = -1;
    for (int i = 0; i < x.n; i++)
        if (x.iv[i] == iv)
            k = i;
    Aff y = {0};
    y.c = x.c;
    y.iv = arena_alloc(a, sizeof *y.iv * (size_t)(x.n + by.n + 1));
    y.a = arena_alloc(a, sizeof *y.a * (size_t)(x.n + by.n + 1));
    for (int i = 0; i < x.n; i++)
        if (i != k) {
            y.iv[y.n] = x.iv[i];
            y.a[y.n++] = x.a[i];
        }
    if (k >= 0) {
        y.c += x.a[k] * by.c;
        for (int t = 0; t < by.n; t++) {
            int j = 0;
            while (j < y.n && y.iv[j] != by.iv[t])
                j++;
            if (j == y.n) {
                y.iv[y.n] = by.iv[t];
                y.a[y.n++] = 0;
            }
            y.a[j] += x.a[k] * by.a[t];
        }
    }
    y.nq = x.nq;
    if (x.nq) {
        y.q = arena_alloc(a, sizeof *y.q * (size_t)x.nq);
        for (int t = 0; t < x.nq; t++) {
            y.q[t] = x.q[t];
            y.q[t].x = aff_subst(a, x.q[t].x, iv, by);
            y.q[t].y = aff_subst(a, x.q[t].y, iv, by);
        }
    }
    return y;
}

int aff_is_const(Aff x)
{
    return x.n == 0 && x.nq == 0;
}

int aff_eq(Aff x, Aff y)
{
    if (x.c != y.c || x.n != y.n)
        return 0;
    for (int i = 0; i < x.n; i++)
        if (x.iv[i] != y.iv[i] || x.a[i] != y.a[i])
            return 0;
    return x.nq == y.nq && (!x.nq || aff_q_eq(x.q, y.q, x.nq));
}

/* ---- non-affine terms ---- */

const char *aff_q_op(int op)
{
    return op == AQ_MUL ? "*" : op == AQ_DIV ? "//" : "%";
}

AffQ *aff_q_copy(Arena *a, const AffQ *q, int n, const Ref *map)
{
    AffQ *p = arena_alloc(a, sizeof *p * (size_t)n);
    for (int k = 0; k < n; k++) {
        p[k] = q[k];
        p[k].x = map ? aff_remap(a, q[k].x, map) : aff_copy(a, q[k].x);
        p[k].y = map ? aff_remap(a, q[k].y, map) : aff_copy(a, q[k].y);
    }
    return p;
}

int aff_q_eq(const AffQ *p, const AffQ *q, int n)
{
    for (int k = 0; k < n; k++)
        if (p[k].op != q[k].op || p[k].b != q[k].b || !aff_eq(p[k].x, q[k].x) ||
            !aff_eq(p[k].y, q[k].y))
            return 0;
    return 1;
}

int aff_uses(Aff x, Ref iv)
{
    for (int i = 0; i < x.n; i++)
        if (x.iv[i] == iv && x.a[i])
            return 1;
    for (int k = 0; k < x.nq; k++)
        if (aff_uses(x.q[k].x, iv) || aff_uses(x.q[k].y, iv))
            return 1;
    return 0;
}

/* Does v fit the C int the generated code computes an index in? */
static int fits_int(long long v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

int aff_value(Aff x, long long (*val)(void *ctx, Ref iv), void *ctx, long long *out)
{
    long long v = x.c, t;
    for (int i = 0; i < x.n; i++)
        if (__builtin_mul_overflow((long long)x.a[i], val(ctx, x.iv[i]), &t) ||
            __builtin_add_overflow(v, t, &v))
            return 0;
    for (int k = 0; k < x.nq; k++) {
        long long a, b;
        if (!aff_value(x.q[k].x, val, ctx, &a) || !aff_value(x.q[k].y, val, ctx, &b))
            return 0;
        if (!fits_int(a) || !fits_int(b))
            return 0;
        if (x.q[k].op == AQ_MUL) {
            if (__builtin_mul_overflow(a, b, &t) || !fits_int(t))
                return 0;
        } else {
            if (a < 0 || b <= 0)
                return 0;
            t = x.q[k].op == AQ_DIV ? a / b : a % b;
        }
        if (__builtin_mul_overflow((long long)x.q[k].b, t, &t) || __builtin_add_overflow(v, t, &v))
            return 0;
    }
    *out = v;
    return 1;
}

/* The interval [lo, hi] of four products of bounds, 0 on overflow. */
static int mul_interval(long long alo, long long ahi, long long blo, long long bhi, long long *lo,
                        long long *hi)
{
    long long c[4];
    if (__builtin_mul_overflow(alo, blo, &c[0]) || __builtin_mul_overflow(alo, bhi, &c[1]) ||
        __builtin_mul_overflow(ahi, blo, &c[2]) || __builtin_mul_overflow(ahi, bhi, &c[3]))
        return 0;
    *lo = *hi = c[0];
    for (int k = 1; k < 4; k++) {
        *lo = c[k] < *lo ? c[k] : *lo;
        *hi = c[k] > *hi ? c[k] : *hi;
    }
    return 1;
}

int aff_interval(Aff x, int (*range)(void *ctx, Ref iv, long long *lo, long long *hi), void *ctx,
                 long long *lo, long long *hi)
{
    long long vlo = x.c, vhi = x.c;
    for (int i = 0; i < x.n; i++) {
        long long ilo, ihi, tlo, thi;
        if (!range(ctx, x.iv[i], &ilo, &ihi) || !mul_interval(x.a[i], x.a[i], ilo, ihi, &tlo, &thi) ||
            __builtin_add_overflow(vlo, tlo, &vlo) || __builtin_add_overflow(vhi, thi, &vhi))
            return 0;
    }
    for (int k = 0; k < x.nq; k++) {
        long long alo, ahi, blo, bhi, tlo, thi;
        if (!aff_interval(x.q[k].x, range, ctx, &alo, &ahi) || !aff_interval(x.q[k].y, range, ctx, &blo, &bhi))
            return 0;
        if (x.q[k].op == AQ_MUL) {
            if (!mul_interval(alo, ahi, blo, bhi, &tlo, &thi))
                return 0;
        } else {
            /* x >= 0 and y > 0 wherever it runs (AffQ): floor division is
             * monotone in both there, and x % y stays below y */
            alo = alo < 0 ? 0 : alo;
            blo = blo < 1 ? 1 : blo;
            if (ahi < 0 || bhi < 1)
                return 0;
            if (x.q[k].op == AQ_DIV) {
                tlo = alo / bhi;
                thi = ahi / blo;
            } else if (blo == bhi && alo / blo == ahi / blo) {
                tlo = alo % blo; /* one period: x % y grows with x */
                thi = ahi % blo;
            } else {
                tlo = 0;
                thi = (ahi < bhi - 1 ? ahi : bhi - 1);
            }
        }
        if (!mul_interval(x.q[k].b, x.q[k].b, tlo, thi, &tlo, &thi) || __builtin_add_overflow(vlo, tlo, &vlo) ||
            __builtin_add_overflow(vhi, thi, &vhi))
            return 0;
    }
    *lo = vlo;
    *hi = vhi;
    return 1;
}

static void put(char *buf, size_t cap, const char *s)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s", s);
}

/* x in dx's syntax into buf (see aff_src_text). */
static void src(char *buf, size_t cap, Aff x, AffName name, const void *ctx)
{
    char tmp[32];
    int any = 0;
    for (int i = 0; i < x.n; i++) {
        if (!x.a[i])
            continue;
        if (x.a[i] == 1 || x.a[i] == -1)
            snprintf(tmp, sizeof tmp, "%s", any ? (x.a[i] < 0 ? " - " : " + ") : x.a[i] < 0 ? "-" : "");
        else
            snprintf(tmp, sizeof tmp, "%s%d*", any ? " + " : "", (int)x.a[i]);
        put(buf, cap, tmp);
        put(buf, cap, name(ctx, x.iv[i]));
        any = 1;
    }
    for (int k = 0; k < x.nq; k++) {
        const AffQ *q = &x.q[k];
        if (q->b == 1 || q->b == -1)
            snprintf(tmp, sizeof tmp, "%s", any ? (q->b < 0 ? " - " : " + ") : q->b < 0 ? "-" : "");
        else
            snprintf(tmp, sizeof tmp, "%s%d*", any ? " + " : "", (int)q->b);
        put(buf, cap, tmp);
        int px = q->x.n + q->x.nq + (q->x.c != 0) > 1, py = q->y.n + q->y.nq + (q->y.c != 0) > 1;
        put(buf, cap, px ? "(" : "");
        src(buf, cap, q->x, name, ctx);
        put(buf, cap, px ? ")" : "");
        put(buf, cap, q->op == AQ_MUL ? "*" : q->op == AQ_DIV ? "//" : "%");
        put(buf, cap, py ? "(" : "");
        src(buf, cap, q->y, name, ctx);
        put(buf, cap, py ? ")" : "");
        any = 1;
    }
    if (x.c || !any) {
        snprintf(tmp, sizeof tmp, any ? " %c %d" : "%c%d", x.c < 0 ? '-' : '+',
                 (int)(x.c < 0 ? -(int64_t)x.c : x.c));
        put(buf, cap, any ? tmp : tmp + (x.c >= 0));
    }
}

const char *aff_src_text(Arena *a, Aff x, AffName name, const void *ctx)
{
    char buf[400] = "";
    src(buf, sizeof buf, x, name, ctx);
    return arena_strdup(a, buf);
}
