/*
 * progen.c - random valid .dx programs (see progen.h for the guarantees).
 *
 * The generator walks down from a requested shape: gen(shape, depth)
 * picks a production that yields that shape (an elementwise op, a
 * product with @, a reduction, a comprehension, a call, ...) and
 * generates its operands.  Alongside each expression it keeps an upper
 * bound on the size of its value for inputs in [-1.5, 1.5]; an operand
 * whose bound is too large for its op (exp of a big value, a long prod)
 * is first squashed into range by a bounded function.  A positive operand
 * (for log, sqrt, division, real powers) is built as such (1 + x^2,
 * 2 + sin x, sigmoid x + 0.5, ...), with a lower bound too.
 *
 * Index variables carry the least and greatest value they take, so an
 * index built from them (i, i + c, c - i, 2i + c, i + j, p - j in a
 * triangular range) is chosen only when it lies inside its dimension.
 *
 * Loops: a variable assigned inside a for loop that was defined outside
 * it is carried; its new value is squashed to the bound it had before the
 * loop, so that no iteration can grow it.  While loops (while_loop) and
 * break and continue at the end of an if's then block (with_jump) stop
 * loops after a number of iterations that depends on the inputs.
 */
#include "progen.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t pg_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double pg_uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(pg_next(s) >> 11) * 0x1.0p-53;
}

PgOpts pg_defaults(void)
{
    PgOpts o = {4, 1, 20, 3, 0};
    return o;
}

/* ---- generator state ---- */

typedef struct {
    int rank, dim[3];
} Shape;

/* An expression: its node, a bound on |value|, and for a positive one a
 * lower bound (0: not known to be positive). */
typedef struct {
    PgNode *n;
    double b, lo;
} E;

typedef struct {
    const char *name;
    Shape s;
    double b;
    int loop;   /* the for-loop depth it was defined at */
    int block;  /* the block depth it was defined at */
} Var;

/* An index variable: values lo..hi (inclusive).  tri 1: it runs over
 * 0..p+1 (so p - it is in 0..p.hi), tri 2: over p..hi+1 (it - p >= 0). */
typedef struct {
    const char *name;
    int lo, hi;
    int par, tri;
    int real_ok;  /* usable as a real value */
} IVar;

typedef struct {
    const char *name;
    int np;
    Shape ps[8];
    Shape ret;
    double rb;
} Sig;

enum { MAXV = 512, MAXIV = 32, MAXFN = 8 };
#define CAP 50.0
#define PI 3.14159265358979323846

typedef struct {
    uint64_t s;
    Arena *a;
    PgOpts o;
    Var v[MAXV];
    int nv;
    IVar iv[MAXIV];
    int niv;
    Sig fn[MAXFN];
    int nfn;
    int loop, block;
    int fresh;
    int size;             /* nodes of the current function */
    const char *ci_name[3];
    int ci_val[3], nci;   /* integer constants */
    const char *cr_name[3];
    double cr_val[3];
    int ncr;              /* real constants */
} G;

static uint64_t nx(G *g) { return pg_next(&g->s); }
static int rn(G *g, int n) { return n <= 1 ? 0 : (int)(nx(g) % (uint64_t)n); }
static int chance(G *g, double p) { return pg_uniform(&g->s, 0, 1) < p; }
static int between(G *g, int lo, int hi) { return lo + rn(g, hi - lo + 1); }

static Shape sh(int rank, int d0, int d1, int d2)
{
    Shape s = {rank, {d0, d1, d2}};
    return s;
}
static Shape scal(void) { return sh(0, 0, 0, 0); }
static int sh_eq(Shape a, Shape b)
{
    if (a.rank != b.rank)
        return 0;
    for (int i = 0; i < a.rank; i++)
        if (a.dim[i] != b.dim[i])
            return 0;
    return 1;
}
static int sh_size(Shape s)
{
    int n = 1;
    for (int i = 0; i < s.rank; i++)
        n *= s.dim[i];
    return n;
}

static const char *fmt(G *g, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(G *g, const char *f, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return arena_strdup(g->a, buf);
}

static PgNode *node(G *g, PgKind k, const char *f, int nkid)
{
    PgNode *n = arena_alloc(g->a, sizeof *n);
    n->kind = k;
    n->fmt = f;
    n->nkid = nkid;
    n->kid = nkid ? arena_alloc(g->a, sizeof(PgNode *) * (size_t)nkid) : NULL;
    g->size++;
    return n;
}

/* An expression node of shape s from a template and its children. */
static E mk(G *g, Shape s, double b, const char *f, int nkid, ...)
{
    E e;
    e.n = node(g, PG_EXPR, f, nkid);
    e.n->rank = s.rank;
    memcpy(e.n->dim, s.dim, sizeof s.dim);
    va_list ap;
    va_start(ap, nkid);
    for (int i = 0; i < nkid; i++)
        e.n->kid[i] = va_arg(ap, PgNode *);
    va_end(ap);
    e.b = b;
    e.lo = 0;
    return e;
}

static Shape shape_of(const E *e) { return sh(e->n->rank, e->n->dim[0], e->n->dim[1], e->n->dim[2]); }

/* A dimension or range bound as text: a number or an integer constant. */
static const char *num(G *g, int v)
{
    for (int i = 0; i < g->nci; i++)
        if (g->ci_val[i] == v && chance(g, 0.5))
            return g->ci_name[i];
    return fmt(g, "%d", v);
}

static const char *real_lit(G *g, double *v)
{
    static const double pool[] = {0.5, 2, 1.5, 0.25, 3, 0.1, 1, 0.75, 0.3, 1.25, 0.9, 2.5};
    double x = chance(g, 0.6) ? pool[rn(g, 12)] : (double)between(g, 5, 200) / 100;
    *v = x;
    return x == floor(x) ? fmt(g, "%d", (int)x) : fmt(g, "%g", x);
}

/* ---- bounded and positive forms ---- */

/* e, squashed elementwise so that its bound is at most t. */
static E squash(G *g, E e, double t)
{
    if (e.b <= t)
        return e;
    static const char *const w[] = {"tanh($)", "sin($)", "erf($)", "sigmoid($)", "atan($)", "cos($)"};
    int k = rn(g, 6);
    Shape s = shape_of(&e);
    E r = mk(g, s, k == 4 ? PI / 2 : 1, w[k], 1, e.n);
    if (k == 3)
        r.lo = 1 / (1 + exp(e.b));
    if (r.b > t) {
        double c = floor(t / r.b * 100) / 100;
        if (c < 0.01)
            c = 0.01;
        r = mk(g, s, c * r.b, fmt(g, "(%g * $)", c), 1, r.n);
    }
    return r;
}

/* A positive expression built on a: its lower bound in lo. */
static E pos(G *g, E a)
{
    Shape s = shape_of(&a);
    E r;
    switch (rn(g, 10)) {
    case 0:
        a = squash(g, a, 4);
        r = mk(g, s, 1 + a.b * a.b, "(1 + ($) ^ 2)", 1, a.n);
        r.lo = 1;
        break;
    case 1:
        r = mk(g, s, 3, chance(g, 0.5) ? "(2 + sin($))" : "(2 + cos($))", 1, a.n);
        r.lo = 1;
        break;
    case 2:
        r = mk(g, s, 1.5, "(sigmoid($) + 0.5)", 1, a.n);
        r.lo = 0.5;
        break;
    case 3:
        a = squash(g, a, 2);
        r = mk(g, s, exp(a.b), "exp($)", 1, a.n);
        r.lo = exp(-a.b);
        break;
    case 4:
        r = mk(g, s, a.b + 1, "(softplus($) + 0.25)", 1, a.n);
        r.lo = 0.25;
        break;
    case 5:
        a = squash(g, a, 4);
        r = mk(g, s, sqrt(1 + a.b * a.b), "sqrt(1 + ($) ^ 2)", 1, a.n);
        r.lo = 1;
        break;
    case 6:
        a = squash(g, a, 2);
        r = mk(g, s, cosh(a.b), "cosh($)", 1, a.n);
        r.lo = 1;
        break;
    case 7:
        r = mk(g, s, a.b + 0.5, "hypot($, 0.5)", 1, a.n);
        r.lo = 0.5;
        break;
    case 8:
        r = mk(g, s, a.b + 0.5, "(abs($) + 0.5)", 1, a.n);
        r.lo = 0.5;
        break;
    default:
        r = mk(g, s, 2.5, "(1.5 + tanh($))", 1, a.n);
        r.lo = 0.5;
        break;
    }
    return r;
}

static E gen(G *g, Shape s, int d);
static PgNode *cond(G *g, int d);

/* ---- index expressions ---- */

/* An index into a dimension of size dim: from the index variables in
 * scope when one fits, else a constant. */
static const char *index_text(G *g, int dim)
{
    if (g->niv && chance(g, 0.8)) {
        for (int tries = 0; tries < 6; tries++) {
            IVar *v = &g->iv[rn(g, g->niv)];
            int lo = v->lo, hi = v->hi;
            switch (rn(g, 10)) {
            case 0:
            case 1:
                if (lo >= 0 && hi <= dim - 1)
                    return v->name;
                break;
            case 2: { /* i + c or i - c, c >= 1 */
                int cl = lo < 0 ? -lo : 1, ch = dim - 1 - hi;
                if (cl < 1)
                    cl = 1;
                if (cl <= ch && chance(g, 0.7))
                    return fmt(g, "%s + %d", v->name, between(g, cl, ch));
                cl = hi - dim + 1 > 1 ? hi - dim + 1 : 1;
                if (cl <= lo)
                    return fmt(g, "%s - %d", v->name, between(g, cl, lo));
                break;
            }
            case 3: { /* c - i */
                int cl = hi, ch = dim - 1 + lo;
                if (cl <= ch)
                    return fmt(g, "%s - %s", num(g, between(g, cl, ch)), v->name);
                break;
            }
            case 4: { /* 2 * i + c */
                int cl = -2 * lo, ch = dim - 1 - 2 * hi;
                if (cl <= ch) {
                    int c = between(g, cl, ch);
                    return c ? fmt(g, "2 * %s + %d", v->name, c) : fmt(g, "2 * %s", v->name);
                }
                break;
            }
            case 5: { /* i + j */
                IVar *w = &g->iv[rn(g, g->niv)];
                if (w != v && lo + w->lo >= 0 && hi + w->hi <= dim - 1)
                    return fmt(g, "%s + %s", v->name, w->name);
                break;
            }
            case 7: /* (i + c) % dim: always in range */
                if (lo + 3 >= 0)
                    return fmt(g, "(%s + %d) %% %s", v->name, between(g, lo < 0 ? -lo : 0, 3),
                               num(g, dim));
                break;
            case 8: { /* i // k + c */
                int k = between(g, 2, 3), cl = -(lo / k), ch = dim - 1 - hi / k;
                if (lo >= 0 && cl <= ch) {
                    int c = between(g, cl, ch);
                    return c ? fmt(g, "%s // %d + %d", v->name, k, c) : fmt(g, "%s // %d", v->name, k);
                }
                break;
            }
            case 9: { /* a packed triangle, i * (i + 1) // 2 + j (j <= i), or i * j */
                IVar *w = &g->iv[rn(g, g->niv)];
                for (int k = g->niv - 1; k >= 0; k--) { /* the innermost triangular level */
                    const IVar *t = &g->iv[k], *p = t->tri == 1 ? &g->iv[t->par] : NULL;
                    if (p && p->lo >= 0 && t->lo >= 0 && p->hi * (p->hi + 1) / 2 + p->hi <= dim - 1)
                        return fmt(g, "%s * (%s + 1) // 2 + %s", p->name, p->name, t->name);
                }
                if (w != v && lo >= 0 && w->lo >= 0 && hi * w->hi <= dim - 1)
                    return fmt(g, "%s * %s", v->name, w->name);
                if (lo >= 0 && hi * (hi + 1) / 2 <= dim - 1) /* a triangular number */
                    return fmt(g, "%s * (%s + 1) // 2", v->name, v->name);
                break;
            }
            default: /* triangular differences */
                if (v->tri == 1 && g->iv[v->par].hi <= dim - 1)
                    return fmt(g, "%s - %s", g->iv[v->par].name, v->name);
                if (v->tri == 2 && hi - g->iv[v->par].lo <= dim - 1)
                    return fmt(g, "%s - %s", v->name, g->iv[v->par].name);
                break;
            }
        }
    }
    return num(g, rn(g, dim));
}

/* "[i, j]" for the first k dimensions of s. */
static const char *indices(G *g, Shape s, int k)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "[");
    for (int d = 0; d < k; d++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s", d ? ", " : "", index_text(g, s.dim[d]));
    snprintf(buf + n, sizeof buf - (size_t)n, "]");
    return arena_strdup(g->a, buf);
}

/* ---- leaves ---- */

static Var *pick_var(G *g, int want_rank, Shape s, int exact)
{
    int cand[MAXV], n = 0;
    for (int i = 0; i < g->nv; i++) {
        if (exact ? sh_eq(g->v[i].s, s) : g->v[i].s.rank >= want_rank)
            cand[n++] = i;
    }
    return n ? &g->v[cand[rn(g, n)]] : NULL;
}

static E scalar_leaf(G *g)
{
    int r = rn(g, 20);
    if (r < 6) {
        Var *v = pick_var(g, 0, scal(), 1);
        if (v)
            return mk(g, scal(), v->b, v->name, 0);
    }
    if (r < 13) {
        Var *v = pick_var(g, 1, scal(), 0);
        if (v)
            return mk(g, scal(), v->b, fmt(g, "%s%s", v->name, indices(g, v->s, v->s.rank)), 0);
    }
    if (r < 15 && g->niv) {
        IVar *v = &g->iv[rn(g, g->niv)];
        double b = fmax(abs(v->lo), abs(v->hi));
        if (v->lo >= 0 && chance(g, 0.2)) { /* an integer operator's value */
            int k = between(g, 2, 3);
            return chance(g, 0.5) ? mk(g, scal(), k - 1, fmt(g, "(%s %% %d)", v->name, k), 0)
                                  : mk(g, scal(), b / k, fmt(g, "(%s // %d)", v->name, k), 0);
        }
        if (b < CAP)
            return mk(g, scal(), b, v->name, 0);
    }
    if (r < 16 && g->ncr) {
        int k = rn(g, g->ncr);
        return mk(g, scal(), fabs(g->cr_val[k]), g->cr_name[k], 0);
    }
    if (r < 16 && g->nci) {
        int k = rn(g, g->nci);
        return mk(g, scal(), g->ci_val[k], g->ci_name[k], 0);
    }
    if (r == 16 && chance(g, 0.3))
        return mk(g, scal(), PI, "pi", 0);
    double x;
    const char *t = real_lit(g, &x);
    if (chance(g, 0.2)) {
        E e = mk(g, scal(), x, fmt(g, "(-%s)", t), 0);
        return e;
    }
    E e = mk(g, scal(), x, t, 0);
    e.lo = x;
    return e;
}

/* A comprehension over s whose element is generated at depth d. */
static E comprehension(G *g, Shape s, int d)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "[$ for ");
    int base = g->niv;
    for (int k = 0; k < s.rank; k++) {
        int lo = chance(g, 0.8) ? 0 : between(g, 1, 2);
        IVar *v = &g->iv[g->niv++];
        v->name = fmt(g, "%c%d", "ijk"[k], ++g->fresh);
        v->lo = lo;
        v->hi = lo + s.dim[k] - 1;
        v->par = -1;
        v->tri = 0;
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s in %s..%s", k ? ", " : "", v->name,
                      num(g, lo), num(g, lo + s.dim[k]));
    }
    snprintf(buf + n, sizeof buf - (size_t)n, "]");
    E body = gen(g, scal(), d);
    g->niv = base;
    return mk(g, s, body.b, arena_strdup(g->a, buf), 1, body.n);
}

/* A literal of shape s: scalars, or stacked rows. */
static E literal(G *g, Shape s, int d)
{
    int m = s.dim[0];
    Shape row = sh(s.rank - 1, s.dim[1], s.dim[2], 0);
    char buf[256];
    int n = snprintf(buf, sizeof buf, "[");
    for (int i = 0; i < m; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s$", i ? ", " : "");
    snprintf(buf + n, sizeof buf - (size_t)n, "]");
    E r = mk(g, s, 0, arena_strdup(g->a, buf), 0);
    r.n->nkid = m;
    r.n->kid = arena_alloc(g->a, sizeof(PgNode *) * (size_t)m);
    for (int i = 0; i < m; i++) {
        E e = s.rank == 1 ? (d > 0 && chance(g, 0.5) ? gen(g, scal(), d - 1) : scalar_leaf(g))
                          : gen(g, row, d > 0 ? d - 1 : 0);
        r.n->kid[i] = e.n;
        r.b = fmax(r.b, e.b);
    }
    return r;
}

static E array_leaf(G *g, Shape s, int d)
{
    Var *v = pick_var(g, 0, s, 1);
    if (v && chance(g, 0.8))
        return mk(g, s, v->b, v->name, 0);
    /* a row or a plane of a larger array: X[t], T[t], T[t, u] */
    for (int i = 0; i < g->nv && chance(g, 0.7); i++) {
        Var *w = &g->v[rn(g, g->nv)];
        int k = w->s.rank - s.rank;
        if (k < 1)
            continue;
        int ok = 1;
        for (int j = 0; j < s.rank; j++)
            ok &= w->s.dim[k + j] == s.dim[j];
        if (ok)
            return mk(g, s, w->b, fmt(g, "%s%s", w->name, indices(g, w->s, k)), 0);
    }
    if (chance(g, 0.5) && sh_size(s) <= 12)
        return literal(g, s, 0);
    return comprehension(g, s, d > 0 ? d - 1 : 0);
}

static E leaf(G *g, Shape s, int d)
{
    return s.rank ? array_leaf(g, s, d) : scalar_leaf(g);
}

/* ---- productions ---- */

static E unary(G *g, Shape s, int d)
{
    E a = gen(g, s, d - 1), r;
    switch (rn(g, 20)) {
    case 0:
        a = squash(g, a, 3);
        r = mk(g, s, exp(a.b), "exp($)", 1, a.n);
        r.lo = exp(-a.b);
        return r;
    case 1: {
        E p = pos(g, a);
        if (chance(g, 0.25)) { /* away from the poles 0, -1, ...: p >= lo > 0 */
            if (rn(g, 2)) /* lgamma's least value is -0.1215 (at 1.4616) */
                return mk(g, s, fmax(fmax(fabs(lgamma(p.lo)), fabs(lgamma(p.b))), 0.13), "lgamma($)", 1,
                          p.n);
            /* digamma is increasing, above -1/x - 0.5773 and below log x */
            return mk(g, s, fmax(1 / p.lo + 0.58, fabs(log(p.b))), "digamma($)", 1, p.n);
        }
        return mk(g, s, fmax(fabs(log(p.lo)), fabs(log(p.b))), "log($)", 1, p.n);
    }
    case 2:
        switch (rn(g, 3)) {
        case 0:
            a = squash(g, a, 4);
            return mk(g, s, log1p(a.b * a.b), "log1p(($) ^ 2)", 1, a.n);
        case 1:
            return mk(g, s, 2.31, "log1p(0.9 * tanh($))", 1, a.n);
        default:
            return mk(g, s, 0.7, "log1p(sigmoid($))", 1, a.n);
        }
    case 3:
        a = squash(g, a, 3);
        return mk(g, s, expm1(a.b), "expm1($)", 1, a.n);
    case 4: {
        E p = pos(g, a);
        r = mk(g, s, sqrt(p.b), "sqrt($)", 1, p.n);
        r.lo = sqrt(p.lo);
        return r;
    }
    case 5:
        return mk(g, s, fmin(1, a.b), "sin($)", 1, a.n);
    case 6:
        return mk(g, s, 1, "cos($)", 1, a.n);
    case 7:
        a = squash(g, a, 1.2);
        return mk(g, s, tan(a.b), "tan($)", 1, a.n);
    case 8:
    case 9:
        if (a.b > 0.9)
            a = mk(g, s, 0.9, chance(g, 0.5) ? "(0.9 * tanh($))" : "(0.9 * sin($))", 1, a.n);
        if (rn(g, 2))
            return mk(g, s, asin(a.b), "asin($)", 1, a.n);
        r = mk(g, s, PI, "acos($)", 1, a.n);
        r.lo = acos(a.b);
        return r;
    case 10:
        return mk(g, s, fmin(a.b, PI / 2), "atan($)", 1, a.n);
    case 11:
        a = squash(g, a, 3);
        if (rn(g, 2))
            return mk(g, s, sinh(a.b), "sinh($)", 1, a.n);
        r = mk(g, s, cosh(a.b), "cosh($)", 1, a.n);
        r.lo = 1;
        return r;
    case 12:
        return mk(g, s, fmin(1, a.b), rn(g, 2) ? "tanh($)" : "erf($)", 1, a.n);
    case 13:
        r = mk(g, s, 1, "sigmoid($)", 1, a.n);
        r.lo = 1 / (1 + exp(a.b));
        return r;
    case 14:
        return mk(g, s, a.b, "abs($)", 1, a.n);
    case 15:
        return mk(g, s, a.b, "relu($)", 1, a.n);
    case 16:
        r = mk(g, s, a.b + 0.7, "softplus($)", 1, a.n);
        r.lo = log1p(exp(-a.b));
        return r;
    case 17:
        return mk(g, s, a.b, "(-$)", 1, a.n);
    default: { /* integer powers */
        int k = rn(g, 7);
        if (k >= 5) { /* of a value bounded away from 0, maybe negative */
            E p = pos(g, a);
            int n = k == 5 ? -1 : -2, neg = chance(g, 0.3);
            const char *f = chance(g, 0.5) ? (neg ? "(-$) ^ %d" : "($) ^ %d") : (neg ? "pow(-$, %d)" : "pow($, %d)");
            return mk(g, s, pow(p.lo, n), fmt(g, f, n), 1, p.n);
        }
        int n = k < 2 ? 2 : k == 2 ? 3 : k == 3 ? 1 : 0;
        if (n >= 2)
            a = squash(g, a, pow(CAP, 1.0 / n));
        for (int i = 0; n == 2 && i < g->nci; i++)
            if (g->ci_val[i] == 2 && chance(g, 0.5))
                return mk(g, s, a.b * a.b, fmt(g, "($) ^ %s", g->ci_name[i]), 1, a.n);
        return mk(g, s, n ? pow(a.b, n) : 1, fmt(g, chance(g, 0.7) ? "($) ^ %d" : "pow($, %d)", n), 1, a.n);
    }
    }
}

/* The second operand of an elementwise op on shape s: s, or a scalar. */
static Shape other(G *g, Shape s)
{
    return s.rank && chance(g, 0.3) ? scal() : s;
}

static E binary(G *g, Shape s, int d)
{
    Shape t = other(g, s);
    int swap = chance(g, 0.5);
    E a = gen(g, s, d - 1), b = gen(g, t, d - 1), r;
    PgNode *x = swap ? b.n : a.n, *y = swap ? a.n : b.n;
    switch (rn(g, 12)) {
    case 0:
    case 1:
        return mk(g, s, a.b + b.b, "($ + $)", 2, x, y);
    case 2:
    case 3:
        return mk(g, s, a.b + b.b, "($ - $)", 2, x, y);
    case 4:
    case 5:
        return mk(g, s, a.b * b.b, "($ * $)", 2, x, y);
    case 6: {
        E p = pos(g, b);
        if (chance(g, 0.15))
            return mk(g, s, a.b / p.lo, "($ / (-$))", 2, a.n, p.n);
        return mk(g, s, a.b / p.lo, "($ / $)", 2, a.n, p.n);
    }
    case 7: { /* real powers of a positive base */
        E p = pos(g, a);
        double eb;
        const char *f;
        E e = b;
        if (chance(g, 0.3)) {
            static const char *const lit[] = {"0.5", "1.5", "2.5", "-0.5", "0.3"};
            static const double val[] = {0.5, 1.5, 2.5, 0.5, 0.3};
            int k = rn(g, 5);
            f = fmt(g, chance(g, 0.5) ? "($) ^ %s" : "pow($, %s)", lit[k]);
            eb = val[k];
            r = mk(g, s, fmax(pow(p.b, eb), pow(p.lo, -eb)), f, 1, p.n);
        } else {
            e = squash(g, b, 2);
            eb = e.b;
            f = chance(g, 0.5) ? "pow($, $)" : "($) ^ ($)";
            r = mk(g, s, fmax(pow(fmax(p.b, 1), eb), pow(fmin(p.lo, 1), -eb)), f, 2, p.n, e.n);
        }
        r.lo = fmin(pow(fmin(p.lo, 1), eb), pow(fmax(p.b, 1), -eb));
        return r;
    }
    case 8: {
        E p = pos(g, b);
        if (chance(g, 0.5))
            return mk(g, s, PI / 2, "atan2($, $)", 2, a.n, p.n);
        r = mk(g, s, PI, "atan2($, $)", 2, p.n, a.n);
        return r;
    }
    case 9: {
        E p = pos(g, b);
        r = mk(g, s, a.b + p.b, swap ? "hypot($, $)" : "hypot($, $)", 2, swap ? p.n : a.n, swap ? a.n : p.n);
        r.lo = p.lo;
        return r;
    }
    case 10:
        return mk(g, s, fmax(a.b, b.b), "max($, $)", 2, x, y);
    default:
        return mk(g, s, fmax(a.b, b.b), "min($, $)", 2, x, y);
    }
}

static E if_expr(G *g, Shape s, int d)
{
    PgNode *c = cond(g, d - 1);
    E a = gen(g, s, d - 1), b = gen(g, s, d - 1);
    return mk(g, s, fmax(a.b, b.b), "(if $ then $ else $)", 3, c, a.n, b.n);
}

/* A call to an earlier function returning s, or a dummy with n NULL. */
static E call(G *g, Shape s, int d)
{
    int cand[MAXFN], n = 0;
    for (int i = 0; i < g->nfn; i++)
        if (sh_eq(g->fn[i].ret, s))
            cand[n++] = i;
    E r = {NULL, 0, 0};
    if (!n)
        return r;
    Sig *f = &g->fn[cand[rn(g, n)]];
    char buf[256];
    int k = snprintf(buf, sizeof buf, "%s(", f->name);
    for (int i = 0; i < f->np; i++)
        k += snprintf(buf + k, sizeof buf - (size_t)k, "%s$", i ? ", " : "");
    snprintf(buf + k, sizeof buf - (size_t)k, ")");
    r = mk(g, s, f->rb, arena_strdup(g->a, buf), 0);
    r.n->nkid = f->np;
    r.n->kid = arena_alloc(g->a, sizeof(PgNode *) * (size_t)f->np);
    for (int i = 0; i < f->np; i++)
        r.n->kid[i] = squash(g, gen(g, f->ps[i], d - 1), 1.5).n;
    return r;
}

static Shape rand_array(G *g)
{
    switch (rn(g, 10)) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4: return sh(1, between(g, 1, 4), 0, 0);
    case 5:
    case 6:
    case 7:
    case 8: return sh(2, between(g, 1, 3), between(g, 1, 4), 0);
    default: return sh(3, between(g, 1, 2), between(g, 1, 2), between(g, 1, 3));
    }
}

/* A reduction over a range: sum/prod/max/min(body for j in ...), the
 * bounds maybe tied to an enclosing index variable. */
static E range_reduction(G *g, int d)
{
    static const char *const kind[] = {"sum", "prod", "max", "min"};
    int k = rn(g, 10) < 5 ? 0 : rn(g, 4);
    int base = g->niv;
    int nvars = chance(g, 0.2) ? 2 : 1;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s($ for ", kind[k]);
    int count = 1;
    for (int q = 0; q < nvars; q++) {
        IVar *v = &g->iv[g->niv];
        v->name = fmt(g, "%c%d", "jkl"[q], ++g->fresh);
        v->par = -1;
        v->tri = 0;
        /* a parent to tie the bounds to: an index variable >= 0 */
        int par = -1;
        if (g->niv && chance(g, 0.5)) {
            int p = rn(g, g->niv);
            if (g->iv[p].lo >= 0 && g->iv[p].hi < 12)
                par = p;
        }
        const char *range;
        if (par >= 0 && chance(g, 0.5)) {
            v->lo = 0;
            v->hi = g->iv[par].hi;
            v->par = par;
            v->tri = 1;
            range = fmt(g, "0..%s+1", g->iv[par].name);
        } else if (par >= 0) {
            v->lo = g->iv[par].lo;
            v->hi = g->iv[par].hi;
            v->par = par;
            v->tri = 2;
            range = fmt(g, "%s..%s", g->iv[par].name, num(g, g->iv[par].hi + 1));
        } else if (k == 0 && chance(g, 0.1)) { /* maybe empty: sum only */
            v->lo = 0;
            v->hi = between(g, 0, 3);
            range = fmt(g, "%s..%s", num(g, 0), num(g, v->hi + 1));
            if (g->niv && g->iv[0].lo >= 0 && g->iv[0].hi < 5 && chance(g, 0.5)) {
                v->hi = g->iv[0].hi - 1;
                v->par = 0;
                range = fmt(g, "0..%s", g->iv[0].name);
                if (v->hi < 0)
                    v->hi = 0;
            }
        } else {
            v->lo = chance(g, 0.8) ? 0 : between(g, 1, 2);
            v->hi = v->lo + between(g, 0, 3);
            range = fmt(g, "%s..%s", num(g, v->lo), num(g, v->hi + 1));
        }
        count *= v->hi - v->lo + 1;
        g->niv++;
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s in %s", q ? ", " : "", v->name, range);
    }
    snprintf(buf + n, sizeof buf - (size_t)n, ")");
    E body = gen(g, scal(), d - 1);
    g->niv = base;
    if (k == 1)
        body = squash(g, body, pow(CAP, 1.0 / count));
    double b = k == 0 ? body.b * count : k == 1 ? pow(body.b, count) : body.b;
    return mk(g, scal(), b, arena_strdup(g->a, buf), 1, body.n);
}

static E to_scalar(G *g, int d)
{
    switch (rn(g, 12)) {
    case 0:
    case 1:
    case 2: {
        static const char *const f[] = {"sum($)", "mean($)", "prod($)", "norm($)", "max($)", "min($)"};
        int k = rn(g, 6);
        Shape t = rand_array(g);
        int size = sh_size(t);
        E a = gen(g, t, d - 1);
        if (k == 2)
            a = squash(g, a, pow(CAP, 1.0 / size));
        double b = k == 0 ? a.b * size : k == 2 ? pow(a.b, size) : k == 3 ? a.b * sqrt(size) : a.b;
        return mk(g, scal(), b, f[k], 1, a.n);
    }
    case 3: {
        int n = between(g, 1, 4);
        E a = gen(g, sh(1, n, 0, 0), d - 1), b = gen(g, sh(1, n, 0, 0), d - 1);
        return mk(g, scal(), n * a.b * b.b, rn(g, 2) ? "dot($, $)" : "($ @ $)", 2, a.n, b.n);
    }
    case 4: {
        int n = between(g, 1, 4);
        E a = gen(g, sh(1, n, 0, 0), d - 1);
        return mk(g, scal(), a.b + log(n), "logsumexp($)", 1, a.n);
    }
    case 5:
    case 6:
    case 7:
        return range_reduction(g, d);
    case 8: { /* an element of an array expression */
        Shape t = rand_array(g);
        E a = gen(g, t, d - 1);
        return mk(g, scal(), a.b, fmt(g, "($)%s", indices(g, t, t.rank)), 1, a.n);
    }
    case 9: { /* softmax, then an element */
        int n = between(g, 1, 4);
        E a = gen(g, sh(1, n, 0, 0), d - 1);
        return mk(g, scal(), 1, fmt(g, "softmax($)%s", indices(g, sh(1, n, 0, 0), 1)), 1, a.n);
    }
    default:
        return scalar_leaf(g);
    }
}

static E to_vector(G *g, Shape s, int d)
{
    int n = s.dim[0];
    switch (rn(g, 8)) {
    case 0: {
        int k = between(g, 1, 4);
        E a = gen(g, sh(2, n, k, 0), d - 1), b = gen(g, sh(1, k, 0, 0), d - 1);
        return mk(g, s, k * a.b * b.b, "($ @ $)", 2, a.n, b.n);
    }
    case 1: {
        int k = between(g, 1, 4);
        E a = gen(g, sh(1, k, 0, 0), d - 1), b = gen(g, sh(2, k, n, 0), d - 1);
        return mk(g, s, k * a.b * b.b, "($ @ $)", 2, a.n, b.n);
    }
    case 2: {
        E a = gen(g, s, d - 1);
        E r = mk(g, s, 1, "softmax($)", 1, a.n);
        r.lo = 1e-30;
        return r;
    }
    case 3: { /* a row of a matrix expression */
        int m = between(g, 1, 3);
        E a = gen(g, sh(2, m, n, 0), d - 1);
        return mk(g, s, a.b, fmt(g, "($)%s", indices(g, sh(2, m, n, 0), 1)), 1, a.n);
    }
    case 4:
    case 5:
        return comprehension(g, s, d - 1);
    default:
        return literal(g, s, d - 1);
    }
}

static E to_matrix(G *g, Shape s, int d)
{
    int m = s.dim[0], n = s.dim[1];
    switch (rn(g, 7)) {
    case 0: {
        int k = between(g, 1, 4);
        E a = gen(g, sh(2, m, k, 0), d - 1), b = gen(g, sh(2, k, n, 0), d - 1);
        return mk(g, s, k * a.b * b.b, "($ @ $)", 2, a.n, b.n);
    }
    case 1: {
        E a = gen(g, sh(2, n, m, 0), d - 1);
        return mk(g, s, a.b, "transpose($)", 1, a.n);
    }
    case 2: {
        E a = gen(g, sh(1, m, 0, 0), d - 1), b = gen(g, sh(1, n, 0, 0), d - 1);
        return mk(g, s, a.b * b.b, "outer($, $)", 2, a.n, b.n);
    }
    case 3:
    case 4:
        return comprehension(g, s, d - 1);
    default:
        return literal(g, s, d - 1);
    }
}

/* The text of a scalar leaf (a name, an element, a literal) to be read
 * twice, or NULL. */
static const char *twice(G *g)
{
    E v = scalar_leaf(g);
    return v.n->nkid ? NULL : v.n->fmt;
}

/* Edge mode (PgOpts.edge): the guarded constructs "Derivatives never
 * invent a NaN" is about, whose unguarded part has an infinite partial
 * derivative (or an overflowing quotient) at the edge inputs the tester
 * tries: 0, +-1e-300, +-1e-160, +-1e150, ties. */
static E edge_expr(G *g, Shape s, int d)
{
    E a = gen(g, s, d - 1), u = leaf(g, s, 0), w = leaf(g, s, 0), r;
    const char *t = twice(g);
    switch (rn(g, 7)) {
    case 0:
        return mk(g, s, a.b * 1e12, "($ / max(sqrt(($) ^ 2 + ($) ^ 2), 1e-12))", 3, a.n, u.n, w.n);
    case 1:
        return mk(g, s, a.b * 1e6, "($ * min(1 / sqrt(($) ^ 2 + ($) ^ 2), 1e6))", 3, a.n, u.n, w.n);
    case 2:
        w = squash(g, w, 1);
        return mk(g, s, fmax(a.b, 1) * fmax(a.b, 1), "pow(abs($), 1 + ($) ^ 2)", 2, a.n, w.n);
    case 3:
        if (t)
            return mk(g, s, fmax(a.b, 10), fmt(g, "(if %s > 0 then %s(%s) else $)", t,
                                              chance(g, 0.5) ? "sqrt" : "log", t), 1, a.n);
        /* fall through */
    case 4:
        if (t)
            return mk(g, s, a.b * 1e12, fmt(g, "($ / (if abs(%s) > 0 then %s else 1))", t, t), 1, a.n);
        /* fall through */
    case 5:
        r = mk(g, s, sqrt(a.b), chance(g, 0.5) ? "sqrt(relu($))" : "relu(-sqrt(abs($)))", 1, a.n);
        return r;
    default:
        return mk(g, s, fmax(a.b, u.b), chance(g, 0.5) ? "max($, $)" : "min($, $)", 2, a.n, u.n);
    }
}

static E gen(G *g, Shape s, int d)
{
    if (d <= 0 || g->size > 300 || chance(g, 0.15))
        return leaf(g, s, d);
    E r;
    int k = rn(g, 100);
    if (g->o.edge && s.rank == 0 && k < 12)
        r = edge_expr(g, s, d);
    else if (k < 22)
        r = unary(g, s, d);
    else if (k < 44)
        r = binary(g, s, d);
    else if (k < 49)
        r = if_expr(g, s, d);
    else if (k < 57 && (r = call(g, s, d)).n)
        ;
    else if (s.rank == 0)
        r = to_scalar(g, d);
    else if (s.rank == 1)
        r = to_vector(g, s, d);
    else if (s.rank == 2)
        r = to_matrix(g, s, d);
    else
        r = chance(g, 0.5) ? comprehension(g, s, d - 1) : literal(g, s, d - 1);
    if (r.b > CAP)
        r = squash(g, r, chance(g, 0.5) ? 1 : 2);
    return r;
}

static PgNode *cond(G *g, int d)
{
    int k = rn(g, 10);
    if (d <= 0 || k < 6) {
        static const char *const op[] = {"$ < $", "$ <= $", "$ > $", "$ >= $", "$ == $", "$ != $"};
        int o = rn(g, 20);
        o = o < 18 ? o % 4 : o - 14;
        PgNode *c = node(g, PG_COND, op[o], 2);
        c->kid[0] = gen(g, scal(), d > 1 ? 1 : d).n;
        c->kid[1] = chance(g, 0.5) ? scalar_leaf(g).n : gen(g, scal(), 1).n;
        return c;
    }
    PgNode *c;
    if (k < 8) {
        c = node(g, PG_COND, k == 6 ? "($) and ($)" : "($) or ($)", 2);
        c->kid[0] = cond(g, d - 1);
        c->kid[1] = cond(g, d - 1);
    } else {
        c = node(g, PG_COND, k == 8 ? "not ($)" : "($)", 1);
        c->kid[0] = cond(g, d - 1);
    }
    return c;
}

/* ---- statements ---- */

static PgNode *block(G *g, int n, int carried_first);

static Shape rand_shape(G *g)
{
    return chance(g, 0.5) ? scal() : rand_array(g);
}

/* v[i] = e or v[t] = row (v an existing array): an element or a row,
 * squashed when v is carried by a loop; the rest of v keeps its bound. */
static PgNode *store(G *g, Var *v)
{
    int k = between(g, 1, v->s.rank);
    Shape rest = scal();
    rest.rank = v->s.rank - k;
    for (int d = 0; d < rest.rank; d++)
        rest.dim[d] = v->s.dim[k + d];
    const char *ix = indices(g, v->s, k);
    E e = gen(g, rest, g->o.depth);
    if (v->loop < g->loop)
        e = squash(g, e, v->b);
    PgNode *st = node(g, PG_STMT, fmt(g, "%s%s = $", v->name, ix), 1);
    st->kid[0] = e.n;
    v->b = fmax(v->b, e.b);
    return st;
}

/* v = e (v existing): squashed when v is carried by a loop. */
static PgNode *reassign(G *g, Var *v)
{
    if (v->s.rank && chance(g, 0.3))
        return store(g, v);
    E e = gen(g, v->s, g->o.depth);
    PgNode *st;
    if (v->loop < g->loop) {
        if (chance(g, 0.4)) {
            e = squash(g, e, v->b);
            st = node(g, PG_STMT, fmt(g, "%s = 0.5 * %s + 0.5 * $", v->name, v->name), 1);
        } else {
            e = squash(g, e, v->b);
            st = node(g, PG_STMT, fmt(g, "%s = $", v->name), 1);
        }
    } else {
        st = node(g, PG_STMT, fmt(g, "%s = $", v->name), 1);
    }
    st->kid[0] = e.n;
    if (v->block == g->block && v->loop == g->loop)
        v->b = e.b;
    else
        v->b = fmax(v->b, e.b);
    return st;
}

/* blk with `break` or `continue` after its statements (for the then
 * block of an if inside a loop: the else block never gets one, so that
 * statements after the if always run on some path). */
static PgNode *with_jump(G *g, PgNode *blk)
{
    PgNode *b = node(g, PG_BLOCK, NULL, blk->nkid + 1);
    for (int i = 0; i < blk->nkid; i++)
        b->kid[i] = blk->kid[i];
    b->kid[blk->nkid] = node(g, PG_STMT, chance(g, 0.5) ? "break" : "continue", 0);
    return b;
}

/* blk with, at a random place and at times, `if COND { break }` (or
 * continue), so that loops often stop early or skip the rest of an
 * iteration. */
static PgNode *jump_if(G *g, PgNode *blk)
{
    if (!chance(g, 0.35))
        return blk;
    PgNode *st = node(g, PG_STMT, "if $ $", 2);
    st->kid[0] = cond(g, 1);
    st->kid[1] = with_jump(g, node(g, PG_BLOCK, NULL, 0));
    PgNode *b = node(g, PG_BLOCK, NULL, blk->nkid + 1);
    int at = rn(g, blk->nkid + 1);
    for (int i = 0, k = 0; i <= blk->nkid; i++)
        b->kid[i] = i == at ? st : blk->kid[k++];
    return b;
}

/* while COND max N { ... }: half the time a scalar from outside counts
 * up to a literal by data-dependent steps, so that the loop stops after
 * a number of iterations that depends on the inputs; otherwise any
 * condition. */
static PgNode *while_loop(G *g)
{
    Var *v = NULL;
    for (int t = 0; t < 4 && !v && g->nv && chance(g, 0.5); t++) {
        Var *c = &g->v[rn(g, g->nv)];
        v = c->s.rank ? NULL : c;
    }
    PgNode *st = node(g, PG_STMT, "while $ max $ $", 3);
    PgNode *n = node(g, PG_NUM, NULL, 0);
    n->num = between(g, 0, g->loop ? 5 : 15);
    n->num_min = 0;
    st->kid[1] = n;
    g->loop++;
    if (v) {
        int lim = between(g, 1, 4);
        st->kid[0] = node(g, PG_COND, fmt(g, "%s < %d", v->name, lim), 0);
        v->b = fmax(v->b, lim + 0.5);
        PgNode *step = node(g, PG_STMT, fmt(g, "%s = %s + 0.2 + 0.3 * sigmoid($)", v->name, v->name), 1);
        step->kid[0] = gen(g, scal(), 1).n;
        PgNode *rest = block(g, between(g, 1, 2), 0);
        PgNode *b = node(g, PG_BLOCK, NULL, rest->nkid + 1);
        b->kid[0] = step;
        for (int i = 0; i < rest->nkid; i++)
            b->kid[i + 1] = rest->kid[i];
        st->kid[2] = b;
    } else {
        st->kid[0] = cond(g, 1);
        st->kid[2] = block(g, between(g, 1, 3), 1);
    }
    st->kid[2] = jump_if(g, st->kid[2]);
    g->loop--;
    return st;
}

static PgNode *stmt(G *g)
{
    int k = rn(g, 100);
    if (k < 28 && g->nv) {
        return reassign(g, &g->v[rn(g, g->nv)]);
    }
    if (k < 43) { /* if / else if / else */
        PgNode *c = cond(g, 2);
        int nb = chance(g, 0.6) ? (chance(g, 0.25) ? 3 : 2) : 1;
        PgNode *st = node(g, PG_STMT, nb == 1 ? "if $ $" : "if $ $ else $", nb == 1 ? 2 : 3);
        st->kid[0] = c;
        st->kid[1] = block(g, between(g, 1, 2), 1);
        if (g->loop && chance(g, 0.3))
            st->kid[1] = with_jump(g, st->kid[1]);
        if (nb == 3) {
            PgNode *inner = node(g, PG_STMT, "if $ $ else $", 3);
            inner->kid[0] = cond(g, 1);
            inner->kid[1] = block(g, 1, 1);
            inner->kid[2] = block(g, 1, 1);
            st->kid[2] = inner;
        } else if (nb == 2) {
            st->kid[2] = block(g, between(g, 1, 2), 1);
        }
        return st;
    }
    if (k < 58 && g->o.loops && g->loop < 2 && chance(g, 0.3))
        return while_loop(g);
    if (k < 58 && g->o.loops && g->loop < 2) {
        int lo = chance(g, 0.75) ? 0 : between(g, 1, 3);
        int trips = chance(g, 0.03) ? 0 : between(g, 1, g->loop ? 4 : 12);
        IVar *v = &g->iv[g->niv++];
        v->name = fmt(g, "t%d", ++g->fresh);
        v->lo = lo;
        v->hi = lo + (trips ? trips - 1 : 0);
        v->par = -1;
        v->tri = 0;
        PgNode *st = node(g, PG_STMT, fmt(g, "for %s in %s..$ $", v->name, num(g, lo)), 2);
        PgNode *hi = node(g, PG_NUM, NULL, 0);
        hi->num = lo + trips;
        hi->num_min = lo;
        st->kid[0] = hi;
        g->loop++;
        st->kid[1] = jump_if(g, block(g, between(g, 1, 3), 1));
        g->loop--;
        g->niv--;
        return st;
    }
    /* a new variable */
    Shape s = rand_shape(g);
    E e = gen(g, s, g->o.depth);
    if (g->nv >= MAXV)
        return reassign(g, &g->v[0]);
    Var *v = &g->v[g->nv++];
    v->name = fmt(g, "v%d", ++g->fresh);
    v->s = s;
    v->b = e.b;
    v->loop = g->loop;
    v->block = g->block;
    PgNode *st = node(g, PG_STMT, fmt(g, "%s = $", v->name), 1);
    st->kid[0] = e.n;
    return st;
}

/* A block of n statements; carried_first: start by assigning a variable
 * from outside (the loop's carried state, or the branch's effect). */
static PgNode *block(G *g, int n, int carried_first)
{
    int nv = g->nv;
    g->block++;
    PgNode *b = node(g, PG_BLOCK, NULL, n);
    for (int i = 0; i < n; i++)
        b->kid[i] = i == 0 && carried_first && nv ? reassign(g, &g->v[rn(g, nv)]) : stmt(g);
    g->block--;
    g->nv = nv;
    return b;
}

/* ---- functions and programs ---- */

static const char *const pnames[] = {"x", "w", "a", "b", "u", "z", "s", "W", "A", "B", "q", "r", "c", "h"};
static const char *const tricky[] = {"int", "out", "y0", "x_bar", "double", "j0", "float", "out_bar", "x_dot",
                                     "work", "i", "main_"};

static PgNode *function(G *g, int last)
{
    g->size = 0;
    g->nv = 0;
    g->niv = 0;
    g->loop = 0;
    g->block = 1;
    Sig *sig = &g->fn[g->nfn];
    sig->name = last ? "f" : fmt(g, "g%d", g->nfn + 1);
    int np = between(g, 1, 4), total = 0, nactive = 0;
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "fn %s(", sig->name);
    PgNode *fnode = node(g, PG_FN, NULL, 1);
    fnode->pname = arena_alloc(g->a, sizeof(char *) * (size_t)np);
    fnode->pshape = arena_alloc(g->a, sizeof(int[4]) * (size_t)np);
    int used = 0;
    for (int i = 0; i < np; i++) {
        Shape s = chance(g, 0.4) ? scal() : rand_array(g);
        if (total + sh_size(s) > g->o.max_inputs)
            s = scal();
        total += sh_size(s);
        const char *name;
        for (;;) {
            int t = chance(g, 0.15);
            int k = rn(g, t ? 12 : 14);
            int bit = t ? 14 + k : k;
            if (used & (1 << bit))
                continue;
            used |= 1 << bit;
            name = t ? tricky[k] : pnames[k];
            break;
        }
        int data = chance(g, 0.25) && (nactive || i < np - 1);
        nactive += !data;
        Var *v = &g->v[g->nv++];
        v->name = name;
        v->s = s;
        v->b = 1.5;
        v->loop = 0;
        v->block = 1;
        sig->ps[i] = s;
        fnode->pname[i] = name;
        fnode->pshape[i][0] = s.rank;
        for (int d = 0; d < 3; d++)
            fnode->pshape[i][d + 1] = s.dim[d];
        char dims[64] = "";
        if (s.rank) {
            int m = snprintf(dims, sizeof dims, "[");
            for (int d = 0; d < s.rank; d++)
                m += snprintf(dims + m, sizeof dims - (size_t)m, "%s%s", d ? ", " : "", num(g, s.dim[d]));
            snprintf(dims + m, sizeof dims - (size_t)m, "]");
        }
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s%s%s", i ? ", " : "", data ? "data " : "",
                      name, dims);
    }
    fnode->nparam = np;
    sig->np = np;
    Shape ret = last ? scal() : rand_shape(g);
    sig->ret = ret;
    n += snprintf(buf + n, sizeof buf - (size_t)n, ")");
    if (chance(g, 0.25)) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, " -> real");
        if (ret.rank) {
            n += snprintf(buf + n, sizeof buf - (size_t)n, "[");
            for (int d = 0; d < ret.rank; d++)
                n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s", d ? ", " : "", num(g, ret.dim[d]));
            n += snprintf(buf + n, sizeof buf - (size_t)n, "]");
        }
    }
    if (chance(g, 0.25)) { /* fn f(...) = expr */
        snprintf(buf + n, sizeof buf - (size_t)n, " = $");
        E e = gen(g, ret, g->o.depth + 1);
        fnode->kid[0] = e.n;
        sig->rb = e.b;
    } else {
        snprintf(buf + n, sizeof buf - (size_t)n, " $");
        int ns = between(g, 1, 5);
        PgNode *b = node(g, PG_BLOCK, NULL, ns + 1);
        for (int i = 0; i < ns; i++)
            b->kid[i] = stmt(g);
        E e = gen(g, ret, g->o.depth);
        PgNode *r = node(g, PG_STMT, "return $", 1);
        r->kid[0] = e.n;
        r->keep = 1;
        b->kid[ns] = r;
        fnode->kid[0] = b;
        sig->rb = e.b;
    }
    fnode->fmt = arena_strdup(g->a, buf);
    fnode->keep = last;
    g->nfn++;
    return fnode;
}

PgProg pg_generate(uint64_t seed, const PgOpts *o)
{
    G *g = calloc(1, sizeof *g);
    if (!g)
        abort();
    g->s = seed;
    pg_next(&g->s);
    g->a = arena_new();
    g->o = o ? *o : pg_defaults();
    PgProg p = {g->a, NULL};
    int nfn = between(g, 1, g->o.max_fns < 1 ? 1 : g->o.max_fns);
    g->nci = rn(g, 3);
    g->ncr = rn(g, 3);
    int nitems = g->nci + g->ncr;
    PgNode *root = node(g, PG_PROG, NULL, nitems + nfn);
    for (int i = 0; i < g->nci; i++) {
        g->ci_name[i] = fmt(g, "K%d", i + 1);
        g->ci_val[i] = between(g, 1, 4);
        int m = between(g, 2, 4), v = g->ci_val[i];
        const char *def = rn(g, 3) ? fmt(g, "%d", v)                                   /* K */
                          : chance(g, 0.5) ? fmt(g, "%d // %d", v * m + rn(g, m), m)   /* K // m */
                                           : fmt(g, "%d %% %d", v + (v + m) * m, v + m); /* K % n */
        root->kid[i] = node(g, PG_ITEM, fmt(g, "const %s = %s", g->ci_name[i], def), 0);
    }
    for (int i = 0; i < g->ncr; i++) {
        double v;
        const char *t = real_lit(g, &v);
        g->cr_name[i] = fmt(g, "c%d", i + 1);
        g->cr_val[i] = v;
        root->kid[g->nci + i] = node(g, PG_ITEM, fmt(g, "const %s = %s", g->cr_name[i], t), 0);
    }
    for (int i = 0; i < nfn; i++)
        root->kid[nitems + i] = function(g, i == nfn - 1);
    /* constants may come after their uses */
    if (nitems && chance(g, 0.2)) {
        PgNode *c = root->kid[0];
        memmove(root->kid, root->kid + 1, sizeof(PgNode *) * (size_t)(root->nkid - 1));
        root->kid[root->nkid - 1] = c;
    }
    p.root = root;
    free(g);
    return p;
}

void pg_free(PgProg *p)
{
    if (p->a)
        arena_free(p->a);
    p->a = NULL;
    p->root = NULL;
}

char *pg_save(uint64_t seed, const PgOpts *o, const char *dir)
{
    PgProg g = pg_generate(seed, o);
    char *text = pg_print(g.root);
    size_t n = strlen(dir) + 48;
    char *path = malloc(n);
    if (!path)
        abort();
    snprintf(path, n, "%s/rand%llu.dx", dir, (unsigned long long)seed);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "pg_save: cannot write %s\n", path);
        abort();
    }
    free(text);
    pg_free(&g);
    return path;
}

/* ---- printing ---- */

typedef struct {
    char *p;
    size_t n, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

static void indent(Buf *b, int lvl)
{
    for (int i = 0; i < lvl; i++)
        puts_(b, "    ");
}

static void print(Buf *b, const PgNode *n, int lvl)
{
    switch (n->kind) {
    case PG_NUM: {
        char t[32];
        snprintf(t, sizeof t, "%d", n->num);
        puts_(b, t);
        return;
    }
    case PG_BLOCK:
        puts_(b, "{\n");
        for (int i = 0; i < n->nkid; i++) {
            indent(b, lvl + 1);
            print(b, n->kid[i], lvl + 1);
            puts_(b, "\n");
        }
        indent(b, lvl);
        puts_(b, "}");
        return;
    case PG_PROG:
        for (int i = 0; i < n->nkid; i++) {
            print(b, n->kid[i], 0);
            puts_(b, "\n");
        }
        return;
    default: {
        int k = 0;
        for (const char *s = n->fmt; *s; s++) {
            if (*s == '$' && k < n->nkid)
                print(b, n->kid[k++], lvl);
            else
                put(b, s, 1);
        }
        return;
    }
    }
}

char *pg_print(const PgNode *root)
{
    Buf b = {0};
    put(&b, "", 0);
    print(&b, root, 0);
    return b.p;
}

/* ---- edits ---- */

static const char *const_text(Arena *a, int rank, const int *dim)
{
    if (rank == 0)
        return "0.5";
    const char *row = const_text(a, rank - 1, dim + 1);
    size_t len = strlen(row);
    char *s = arena_alloc(a, (len + 2) * (size_t)dim[0] + 3);
    char *p = s;
    *p++ = '[';
    for (int i = 0; i < dim[0]; i++) {
        if (i) {
            *p++ = ',';
            *p++ = ' ';
        }
        memcpy(p, row, len);
        p += len;
    }
    *p++ = ']';
    *p = 0;
    return s;
}

PgNode *pg_leaf_like(Arena *a, const PgNode *e, const char *text)
{
    PgNode *n = arena_alloc(a, sizeof *n);
    n->kind = PG_EXPR;
    n->rank = e->rank;
    memcpy(n->dim, e->dim, sizeof n->dim);
    n->fmt = arena_strdup(a, text);
    return n;
}

PgNode *pg_const_like(Arena *a, const PgNode *e)
{
    return pg_leaf_like(a, e, const_text(a, e->rank, e->dim));
}
