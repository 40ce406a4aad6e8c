/*
 * diffcheck.c - see diffcheck.h.
 *
 * Layout: every primal input of a function is stored flat, one after the
 * other (off[i], len[i] doubles); tangents v and gradients g use the same
 * layout, with 0 in the entries of data parameters.
 *
 * Finite differences: a central difference with step h = 1e-6 (1 + |x|)
 * is compared with 1e-6 relative and 1e-7 of the function's size
 * absolute; when it disagrees, steps 10 h, h / 10 and 100 h are tried as
 * well (a large third derivative wants a smaller step, rounding a larger
 * one): a derivative is wrong only if no step agrees.  A step whose
 * decision trace (ir_interp_trace) differs from the one at x is not
 * compared.
 */
#include "diffcheck.h"

#include "../codegen/codegen.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "../ir/ir.h"
#include "testutil.h"

enum { TRCAP = 1 << 16 };

typedef struct {
    Unit *u;
    int nin;              /* primal inputs */
    int *off, *len;
    int total;            /* doubles over all inputs */
    unsigned char *act;   /* per entry: active */
    int m;                /* doubles of the result */
    double *x, *v, *ub;   /* the point, a tangent, a seed (array results) */
    double *yraw;         /* the primal before the clean-up passes */
    DcResult *r;
    unsigned char *t0, *g0, *tr; /* traces: primal at x, grad at x, scratch */
    size_t t0n, g0n;
    double *scratch;      /* total doubles */
} Ctx;

static void fail(DcResult *r, const char *what, const char *sig, const char *f, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(DcResult *r, const char *what, const char *sig, const char *f, ...)
{
    if (r->status != DC_OK)
        return;
    r->status = DC_FAIL;
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->sig, sizeof r->sig, "%s", sig ? sig : what);
    va_list ap;
    va_start(ap, f);
    vsnprintf(r->msg, sizeof r->msg, f, ap);
    va_end(ap);
}

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s);
    if (!p)
        abort();
    return p;
}

/* Where input i of entry point h comes from: the point x, the tangent v
 * or the seed ub. */
static const double *input_src(const Ctx *c, const Fn *h, int i, const double *x, const double *v,
                               const double *ub)
{
    const Input *p = &h->in.p[i];
    if (p->role == IN_TANGENT)
        return v + c->off[p->of];
    if (p->role == IN_SEED)
        return ub;
    int k = 0;
    for (int j = 0; j < i; j++)
        k += h->in.p[j].role == IN_PARAM;
    return x + c->off[k];
}

/* Runs entry point h: primal inputs from x, tangents from v, the seed
 * from ub; the primal result to y, a jvp's tangent to od, bars to bars
 * (zeroed first).  With tr, records the trace (length in *trn). */
static void run(Ctx *c, const Fn *h, const double *x, const double *v, const double *ub, double *y,
                double *od, double *bars, unsigned char *tr, size_t *trn)
{
    const double **in = xcalloc((size_t)h->in.n, sizeof *in);
    double **out = xcalloc((size_t)h->out.n, sizeof *out);
    for (int i = 0; i < h->in.n; i++)
        in[i] = input_src(c, h, i, x, v, ub);
    if (bars)
        memset(bars, 0, sizeof(double) * (size_t)c->total);
    for (int j = 0; j < h->out.n; j++)
        out[j] = j == 0 ? y : h->kind == FN_JVP ? od : bars + c->off[h->out.p[j].of];
    if (tr)
        ir_interp_trace(tr, TRCAP, trn);
    ir_interp(h, (const double *const *)in, out);
    free(in);
    free(out);
}

static int same_trace(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    if (an != bn)
        return 0;
    return memcmp(a, b, an < TRCAP ? an : TRCAP) == 0;
}

static double dotp(const double *a, const double *b, int n, double *mag)
{
    double s = 0, m = 0;
    for (int i = 0; i < n; i++) {
        s += a[i] * b[i];
        m += fabs(a[i] * b[i]);
    }
    if (mag)
        *mag = m;
    return s;
}

static int close_to(double got, double want, double rtol, double atol)
{
    return fabs(got - want) <= rtol * (fabs(got) + fabs(want)) + atol;
}

/* got and want are the same number (NaN as NaN): printed with %.17g and
 * read back, a double keeps its value, and -0 its sign. */
static int same_bits(double got, double want)
{
    return got == want ? signbit(got) == signbit(want) : got != got && want != want;
}

/* ---- finite differences ---- */

typedef enum { EV_PRIM_W, EV_PRIM, EV_GRAD } Eval;

/* out = (w . f, f, or the gradient) at x + t d; 1 if the decisions are
 * those at x. */
static int eval_at(Ctx *c, Eval ev, const double *d, double t, double *out)
{
    double *xt = c->scratch;
    for (int i = 0; i < c->total; i++)
        xt[i] = c->x[i] + t * d[i];
    size_t n;
    if (ev == EV_GRAD) {
        double y;
        run(c, c->u->grad, xt, NULL, NULL, &y, NULL, out, c->tr, &n);
        return same_trace(c->tr, n, c->g0, c->g0n);
    }
    double *y = xcalloc((size_t)c->m, sizeof *y);
    run(c, c->u->primal, xt, NULL, NULL, y, NULL, NULL, c->tr, &n);
    if (ev == EV_PRIM_W)
        out[0] = c->m == 1 && !c->u->primal->out.p[0].ty.rank ? y[0] : dotp(c->ub, y, c->m, NULL);
    else
        memcpy(out, y, sizeof(double) * (size_t)c->m);
    free(y);
    return same_trace(c->tr, n, c->t0, c->t0n);
}

static double *nudged_by(Ctx *c, int t);

/* The derivative being checked (D_GRAD: f_grad/f_vjp; D_JVP, D_HVP along
 * v), entry i, recomputed at nudged point t (see nudged). */
typedef enum { D_GRAD, D_JVP, D_HVP } Deriv;

static double nudged_entry(Ctx *c, Deriv which, int i, int t)
{
    double *xp = nudged_by(c, t), *y = xcalloc((size_t)c->m, sizeof *y);
    double *out = xcalloc((size_t)(c->total > c->m ? c->total : c->m), sizeof *out);
    if (which == D_GRAD)
        run(c, c->u->grad, xp, NULL, c->ub, y, NULL, out, NULL, NULL);
    else if (which == D_JVP)
        run(c, c->u->jvp, xp, c->v, NULL, y, out, NULL, NULL, NULL);
    else
        run(c, c->u->hvp, xp, c->v, NULL, y, NULL, out, NULL, NULL);
    double r = out[i];
    free(xp);
    free(y);
    free(out);
    return r;
}

/* How far entry i (value got) moves at three points within 1e-11 of x. */
static double rounding_noise(Ctx *c, Deriv which, int i, double got)
{
    double n = 0;
    for (int t = 0; t < 3; t++)
        n = fmax(n, fabs(nudged_entry(c, which, i, t) - got));
    return n;
}

/* Compares got[0..k) (entries with mask 0 skipped) with central
 * differences of ev along d, at steps h0 times 1, 10, 1/10 and 100.  An
 * entry passes if one step agrees.  Otherwise it is wrong if at least two
 * steps keep the decisions and agree with each other (the differences
 * are trustworthy), and skipped as ill-conditioned if not (a large third
 * derivative against rounding, an iterated map, say).  A wrong-looking
 * entry that moves by a tenth of its error or more when x moves by 1e-12
 * to 7e-12 of itself is rounding noise (a derivative that is 0 computed as the
 * difference of terms of 1e13): counted, not failed.  The entry checked
 * is got[i] = which's entry base + i. */
static void fd_check(Ctx *c, const char *what, const char *entry, const double *got, int k,
                     const unsigned char *mask, Eval ev, const double *d, double h0, double rtol,
                     double atol, Deriv which, int base)
{
    enum { NSTEP = 4 };
    static const double steps[NSTEP] = {1, 10, 0.1, 100};
    unsigned char *done = xcalloc((size_t)k, 1);
    double *fp = xcalloc((size_t)k, sizeof *fp), *fm = xcalloc((size_t)k, sizeof *fm);
    double *fd = xcalloc((size_t)k * NSTEP, sizeof *fd);
    int left = 0, valid[NSTEP] = {0}, nvalid = 0;
    for (int i = 0; i < k; i++) {
        done[i] = mask && !mask[i];
        left += !done[i];
    }
    for (int s = 0; s < NSTEP && left; s++) {
        double h = h0 * steps[s];
        if (!eval_at(c, ev, d, h, fp) || !eval_at(c, ev, d, -h, fm))
            continue;
        valid[s] = 1;
        nvalid++;
        for (int i = 0; i < k; i++) {
            fd[i * NSTEP + s] = (fp[i] - fm[i]) / (2 * h);
            if (!done[i] && close_to(got[i], fd[i * NSTEP + s], rtol, atol)) {
                done[i] = 1;
                left--;
                c->r->checks++;
            }
        }
    }
    for (int i = 0; i < k && left; i++) {
        if (done[i])
            continue;
        double lo = HUGE_VAL, hi = -HUGE_VAL, near = 0, err = HUGE_VAL;
        for (int s = 0; s < NSTEP; s++) {
            if (!valid[s])
                continue;
            double v = fd[i * NSTEP + s];
            lo = fmin(lo, v);
            hi = fmax(hi, v);
            if (fabs(v - got[i]) < err || isnan(v)) {
                err = fabs(v - got[i]);
                near = v;
            }
        }
        if (nvalid == 0) {
            c->r->skips++; /* every step changes a decision */
        } else if (nvalid < 2 || !(hi - lo <= rtol * (fabs(hi) + fabs(lo)) + atol)) {
            c->r->unstable++; /* near a decision, or the differences do not converge */
        } else if (rounding_noise(c, which, base + i, got[i]) >= 0.1 * fabs(got[i] - near)) {
            c->r->noisy++;
        } else {
            fail(c->r, what, what,
                 "%s %s[%d]: got %.17g, central differences give %.17g (steps %g to %g agree: %.17g to %.17g; "
                 "%d inputs)",
                 c->u->primal->name, entry, i, got[i], near, h0 * 0.1, h0 * 100, lo, hi, c->total);
            break;
        }
    }
    free(done);
    free(fp);
    free(fm);
    free(fd);
}

/* ---- the interpreter checks of one function ---- */

static int all_finite(const double *a, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

static double maxabs(const double *a, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

static void check_values(Ctx *c, const char *what, const double *got, const double *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (!same_bits(got[i], want[i])) {
            fail(c->r, what, what, "%s: %s[%d] is %.17g, the primal gives %.17g", c->u->primal->name, what, i,
                 got[i], want[i]);
            return;
        }
        c->r->checks++;
    }
}

/* x moved by about 1e-12 of its size: a point where exact derivatives
 * differ negligibly from those at x unless the function amplifies
 * rounding (an iterated map), in which case computed ones differ by about
 * the rounding noise of the identities checked. */
static double *nudged_by(Ctx *c, int t)
{
    static const double f[3] = {1e-12, -3e-12, 7e-12};
    double *xp = xcalloc((size_t)c->total, sizeof *xp);
    for (int j = 0; j < c->total; j++)
        xp[j] = c->x[j] + (j % 2 ? f[t] : -f[t]) * (1 + fabs(c->x[j]));
    return xp;
}

static double *nudged(Ctx *c)
{
    return nudged_by(c, 0);
}

/* How much <grad, v> and jvp(v) move at the nudged point. */
static double dot_noise(Ctx *c, double gv, double uj)
{
    double *xp = nudged(c), *g = xcalloc((size_t)c->total, sizeof *g);
    double *y = xcalloc((size_t)c->m, sizeof *y), *od = xcalloc((size_t)c->m, sizeof *od);
    int scalar = !c->u->primal->out.p[0].ty.rank;
    run(c, c->u->grad, xp, NULL, c->ub, y, NULL, g, NULL, NULL);
    run(c, c->u->jvp, xp, c->v, NULL, y, od, NULL, NULL, NULL);
    double n = fabs(dotp(g, c->v, c->total, NULL) - gv) +
               fabs((scalar ? od[0] : dotp(c->ub, od, c->m, NULL)) - uj);
    free(xp);
    free(g);
    free(y);
    free(od);
    return n;
}

/* How much <w, H v> and <v, H w> move at the three nudged points (the
 * most: one nudge may leave a cancellation's rounding as it was). */
static double sym_noise(Ctx *c, const double *w, double wHv, double vHw)
{
    double *hv = xcalloc((size_t)c->total, sizeof *hv), y, most = 0;
    for (int t = 0; t < 3; t++) {
        double *xp = nudged_by(c, t);
        run(c, c->u->hvp, xp, c->v, NULL, &y, NULL, hv, NULL, NULL);
        double n = fabs(dotp(w, hv, c->total, NULL) - wHv);
        run(c, c->u->hvp, xp, w, NULL, &y, NULL, hv, NULL, NULL);
        n += fabs(dotp(c->v, hv, c->total, NULL) - vHw);
        most = fmax(most, n);
        free(xp);
    }
    free(hv);
    return most;
}

/* Every value entry point h computes at x (tangents v, seed c->ub), as
 * the recorder keeps them (in A), and with adjoints its gradient. */
static IrRecord *record_entry(Ctx *c, const Fn *h, const double *x, const double *v, int adjoints,
                              Arena *A)
{
    const double **in = xcalloc((size_t)h->in.n + 1, sizeof *in);
    for (int i = 0; i < h->in.n; i++)
        in[i] = input_src(c, h, i, x, v, c->ub);
    IrRecord *rec = ir_record(A, h, in, adjoints);
    free(in);
    return rec;
}

/* record: the recording interpreter behind dxc --at (ir_record, a
 * dynamic reverse mode sharing only the rules with ad.c) gives the
 * primal's value and f_grad's gradient. */
static void record_check(Ctx *c, double y, const double *g)
{
    const Fn *f = c->u->primal;
    Arena *A = arena_new();
    IrRecord *rec = record_entry(c, f, c->x, NULL, 1, A);
    if (rec->too_big) {
        arena_free(A);
        return;
    }
    if (!close_to(rec->out[0][0], y, 1e-12, 1e-14 * (1 + fabs(y))))
        fail(c->r, "record", "record-value", "%s: ir_record's value %.17g, the interpreter's %.17g", f->name,
             rec->out[0][0], y);
    double gmax = maxabs(g, c->total);
    for (int i = 0; i < f->in.n && !c->r->status; i++)
        for (int k = 0; k < c->len[i] && !c->r->status; k++) {
            int j = c->off[i] + k;
            if (!c->act[j])
                continue;
            if (!close_to(rec->grad[i][k], g[j], 1e-9, 1e-12 * (1 + gmax)))
                fail(c->r, "record", "record-grad", "%s: ir_record's gradient [%d] is %.17g, f_grad's %.17g",
                     f->name, j, rec->grad[i][k], g[j]);
            c->r->checks++;
        }
    arena_free(A);
}

/* An operation whose result is infinite only when finite operands
 * overflow (division, which also divides by zero, is looked at apart). */
static int overflow_op(const Inst *in)
{
    switch (in->op) {
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_MULZ: case OP_EXP: case OP_EXPM1: case OP_SINH:
    case OP_COSH:
        return 1;
    case OP_POWI:
        return in->n > 0;
    default:
        return 0;
    }
}

/* Does entry point h (f_grad, f_vjp or f_hvp) overflow at x (along v):
 * does one of those operations of finite values, or a quotient by no
 * zero, come out infinite?  Then a derivative that is not finite there
 * (infinite, or NaN where such an infinity meets a zero or another
 * infinity) is an adjoint or a partial past the range of the doubles on
 * its way to the result, not a wrong one (q * q with q = K / a = 1e168,
 * the adjoint of K / a, and the Hessian terms after it:
 * tests/regress/022.dx), while forward mode, which multiplies the other
 * way, may stay finite.  0 when the run is too big to record. */
static int overflows(Ctx *c, const Fn *h, const double *x, const double *v)
{
    Arena *A = arena_new();
    IrRecord *rec = record_entry(c, h, x, v, 0, A);
    int over = 0;
    for (int i = 0; !rec->too_big && !over && i < h->v.n; i++) {
        const Inst *ins = &h->v.p[i];
        int quot = ins->op == OP_DIV || ins->op == OP_DIVZ;
        if (!overflow_op(ins) && !quot)
            continue;
        const IrTrace *t = &rec->tr[i];
        int inf = 0;
        for (long k = 0; !inf && k < t->n; k++)
            inf = isinf(t->val[k]);
        for (int a = 0; inf && a < op_info[ins->op].nargs; a++) {
            const IrTrace *o = &rec->tr[ins->arg[a]];
            for (long k = 0; inf && k < o->n; k++)
                inf = isfinite(o->val[k]) && !(quot && a == 1 && o->val[k] == 0);
        }
        over = inf;
    }
    arena_free(A);
    return over;
}

static void check_unit(Ctx *c)
{
    const Unit *u = c->u;
    DcResult *r = c->r;
    const char *name = u->primal->name;
    int m = c->m, T = c->total, scalar = !u->primal->out.p[0].ty.rank;
    double *y = xcalloc((size_t)m, sizeof *y), *y2 = xcalloc((size_t)m, sizeof *y2);
    double *od = xcalloc((size_t)m, sizeof *od), *g = xcalloc((size_t)T, sizeof *g);
    double *hv = xcalloc((size_t)T, sizeof *hv), *hv2 = xcalloc((size_t)T, sizeof *hv2);
    double *w = xcalloc((size_t)T, sizeof *w), *e = xcalloc((size_t)T, sizeof *e);

    run(c, u->primal, c->x, NULL, NULL, y, NULL, NULL, c->t0, &c->t0n);
    if (!all_finite(y, m)) {
        fail(r, "nonfinite", "nonfinite", "%s: the primal value is not finite (%g)", name, y[0]);
        goto done;
    }
    for (int i = 0; i < m; i++) {
        if (!close_to(y[i], c->yraw[i], 1e-12, 1e-14 * (1 + maxabs(y, m)))) {
            fail(r, "opt", "opt", "%s: [%d] is %.17g after the clean-up passes, %.17g before", name, i, y[i],
                 c->yraw[i]);
            goto done;
        }
        r->checks++;
    }
    /* reverse mode, forward mode, and the dot product */
    run(c, u->grad, c->x, NULL, c->ub, y2, NULL, g, c->g0, &c->g0n);
    check_values(c, scalar ? "grad-value" : "vjp-value", y2, y, m);
    run(c, u->jvp, c->x, c->v, NULL, y2, od, NULL, NULL, NULL);
    check_values(c, "jvp-value", y2, y, m);
    if (r->status)
        goto done;
    if (!all_finite(g, T) || !all_finite(od, m)) {
        if (all_finite(od, m) && overflows(c, u->grad, c->x, NULL)) {
            r->excused++; /* reverse mode overflowed here: nothing more to compare */
            goto done;
        }
        fail(r, "nonfinite-derivative", "nonfinite-derivative",
             "%s: a derivative is not finite (value %g, x[0] = %g, grad[0] = %g, jvp[0] = %g)", name,
             y[0], c->x[0], g[0], od[0]);
        goto done;
    }
    if (scalar)
        record_check(c, y[0], g);
    if (r->status)
        goto done;
    /* against differences of the primal, then each other */
    double mag1, mag2;
    double xmax = maxabs(c->x, T);
    for (int j = 0; j < T && !r->status; j++) {
        if (!c->act[j])
            continue;
        memset(e, 0, sizeof(double) * (size_t)T);
        e[j] = 1;
        double scale = 1 + fabs(y[0]);
        if (!scalar) {
            dotp(c->ub, y, m, &scale);
            scale += 1;
        }
        char entry[48];
        snprintf(entry, sizeof entry, "%s[%d]", scalar ? "grad" : "vjp", j);
        fd_check(c, scalar ? "grad-fd" : "vjp-fd", entry, &g[j], 1, NULL, EV_PRIM_W, e, 1e-6 * (1 + fabs(c->x[j])),
                 1e-6, 1e-7 * scale, D_GRAD, j);
    }
    if (r->status)
        goto done;
    fd_check(c, "jvp-fd", "jvp", od, m, NULL, EV_PRIM, c->v, 1e-6 * (1 + xmax), 1e-6, 1e-7 * (1 + maxabs(y, m)),
             D_JVP, 0);
    if (r->status)
        goto done;
    double gv = dotp(g, c->v, T, &mag1);
    double uj = scalar ? od[0] : dotp(c->ub, od, m, &mag2);
    if (scalar)
        mag2 = fabs(od[0]);
    if (fabs(gv - uj) > 1e-10 * (mag1 + mag2)) {
        /* beyond that bound: allowed only within the rounding
         * noise of the two sides (measured by moving x by 1e-12), which
         * cancellation inside a derivative can make larger */
        if (fabs(gv - uj) > 1e-9 * (1 + maxabs(y, m)) && fabs(gv - uj) > 10 * dot_noise(c, gv, uj)) {
            fail(r, "dot", "dot", "%s: <%s, v> = %.17g but %s(v) gives %.17g", name, scalar ? "grad" : "vjp(u)",
                 gv, scalar ? "jvp" : "<u, jvp>", uj);
            goto done;
        }
        r->noisy++;
    }
    r->checks++;
    if (r->status || !u->hvp)
        goto done;
    /* Hessian-vector products */
    run(c, u->hvp, c->x, c->v, NULL, y2, NULL, hv, NULL, NULL);
    check_values(c, "hvp-value", y2, y, 1);
    if (r->status)
        goto done;
    if (!all_finite(hv, T)) {
        if (overflows(c, u->hvp, c->x, c->v)) {
            r->excused++; /* second derivatives past the doubles here */
            goto done;
        }
        fail(r, "nonfinite-derivative", "nonfinite-derivative", "%s: f_hvp is not finite", name);
        goto done;
    }
    fd_check(c, "hvp-fd", "hvp", hv, T, c->act, EV_GRAD, c->v, 1e-6 * (1 + xmax), 1e-5,
             1e-6 * (1 + maxabs(g, T)), D_HVP, 0);
    if (r->status)
        goto done;
    for (int j = 0; j < T; j++)
        w[j] = c->act[j] ? sin(1.3 * j + 0.7) : 0;
    run(c, u->hvp, c->x, w, NULL, y2, NULL, hv2, NULL, NULL);
    double wHv = dotp(w, hv, T, &mag1), vHw = dotp(c->v, hv2, T, &mag2);
    if (fabs(wHv - vHw) > 1e-10 * (mag1 + mag2)) {
        if (fabs(wHv - vHw) > 1e-8 * (mag1 + mag2) + 1e-9 * (1 + fabs(y[0])) &&
            fabs(wHv - vHw) > 10 * sym_noise(c, w, wHv, vHw)) {
            fail(r, "hvp-sym", "hvp-sym", "%s: <w, H v> = %.17g but <v, H w> = %.17g", name, wHv, vHw);
            goto done;
        }
        r->noisy++;
    }
    r->checks++;
done:
    free(y);
    free(y2);
    free(od);
    free(g);
    free(hv);
    free(hv2);
    free(w);
    free(e);
}

/* ---- the compiled checks ---- */

typedef struct {
    char *p;
    size_t n, cap;
} Str;

static void sput(Str *s, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void sput(Str *s, const char *f, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, f);
        int k = vsnprintf(s->p ? s->p + s->n : NULL, s->p ? s->cap - s->n : 0, f, ap);
        va_end(ap);
        if (s->p && s->n + (size_t)k < s->cap) {
            s->n += (size_t)k;
            return;
        }
        s->cap = (s->n + (size_t)k + 1) * 2 + 256;
        s->p = realloc(s->p, s->cap);
        if (!s->p)
            abort();
    }
}

static const Fn *entry(const Unit *u, int k)
{
    return k == 0 ? u->primal : k == 1 ? u->grad : k == 2 ? u->jvp : u->hvp;
}

/* A block of the driver calling entry point h of unit c at its point
 * (its _ws variant on a workspace of NaNs with ws) and printing every
 * output, in order.  Outputs start as NaNs: each must be overwritten. */
static void driver_call(Str *s, Ctx *c, const Fn *h, int ws)
{
    sput(s, "    {\n");
    for (int i = 0; i < h->in.n; i++) {
        const double *src = input_src(c, h, i, c->x, c->v, c->ub);
        int n = (int)ty_size(h->in.p[i].ty);
        if (h->in.p[i].ty.rank == 0)
            continue;
        sput(s, "        static const double in%d[%d] = {", i, n);
        for (int j = 0; j < n; j++)
            sput(s, "%s%.17g", j ? ", " : "", src[j]);
        sput(s, "};\n");
    }
    int ret = h->out.p[0].role == OUT_RETURN;
    for (int j = ret; j < h->out.n; j++) {
        sput(s, "        double out%d[%lld];\n", j, ty_size(h->out.p[j].ty));
        sput(s, "        memset(out%d, 0xff, sizeof out%d);\n", j, j);
    }
    if (ws) {
        sput(s, "        static double work[%s_WS_BYTES / sizeof(double) + 1];\n", h->name);
        sput(s, "        memset(work, 0xff, sizeof work);\n");
    }
    sput(s, "        %s%s%s(", ret ? "double r = " : "", h->name, ws ? "_ws" : "");
    for (int i = 0; i < h->in.n; i++) {
        if (h->in.p[i].ty.rank == 0)
            sput(s, "%s%.17g", i ? ", " : "", input_src(c, h, i, c->x, c->v, c->ub)[0]);
        else
            sput(s, "%sin%d", i ? ", " : "", i);
    }
    for (int j = ret; j < h->out.n; j++)
        sput(s, "%sout%d", j > ret || h->in.n ? ", " : "", j);
    sput(s, "%s);\n", ws ? ", work" : "");
    if (ret)
        sput(s, "        printf(\"%%.17g\\n\", r);\n");
    for (int j = ret; j < h->out.n; j++)
        sput(s, "        for (int k = 0; k < %lld; k++)\n            printf(\"%%.17g\\n\", out%d[k]);\n",
             ty_size(h->out.p[j].ty), j);
    sput(s, "    }\n");
}

/* The interpreter's outputs of h, in the driver's order. */
/* The numbers h's outputs hold, all together (what the compiled program
 * prints for h). */
static long outputs_size(const Fn *h)
{
    long total = 0;
    for (int j = 0; j < h->out.n; j++)
        total += ty_size(h->out.p[j].ty);
    return total;
}

static double *interp_outputs(Ctx *c, const Fn *h, int *n)
{
    const double **in = xcalloc((size_t)h->in.n, sizeof *in);
    double **out = xcalloc((size_t)h->out.n, sizeof *out);
    long total = outputs_size(h);
    for (int i = 0; i < h->in.n; i++)
        in[i] = input_src(c, h, i, c->x, c->v, c->ub);
    double *vals = xcalloc((size_t)total, sizeof *vals);
    long at = 0;
    for (int j = 0; j < h->out.n; j++) {
        out[j] = vals + at;
        at += ty_size(h->out.p[j].ty);
    }
    ir_interp(h, (const double *const *)in, out);
    free(in);
    free(out);
    *n = (int)total;
    return vals;
}

/* The first error of text (or its first line), without the file and
 * position, names in quotes replaced by _ and cut at a ';' (gcc's "did
 * you mean"): a signature that survives renaming. */
static void first_error(const char *text, char *sig, size_t cap)
{
    const char *p = text ? strstr(text, "error:") : NULL;
    if (!p)
        p = text ? text : "";
    size_t k = 0;
    int quoted = 0;
    for (; *p && *p != '\n' && *p != ';' && k + 1 < cap; p++) {
        /* names in quotes ('x', or gcc's UTF-8 quotes) become "_" */
        int open = *p == '\'' ? !quoted : !strncmp(p, "\xe2\x80\x98", 3);
        int close = *p == '\'' ? quoted : !strncmp(p, "\xe2\x80\x99", 3);
        if (open && !quoted) {
            quoted = 1;
            sig[k++] = '_';
            p += *p == '\'' ? 0 : 2;
        } else if (close && quoted) {
            quoted = 0;
            p += *p == '\'' ? 0 : 2;
        } else if (!quoted) {
            sig[k++] = *p;
        }
    }
    sig[k] = 0;
}

/* `sh -c cmd` in workdir, its output and errors (malloc'ed) kept in
 * files there, so that checks in different directories run side by
 * side.  The exit status, or -1 for a signal. */
static int run_cmd(const char *workdir, const char *cmd, char **out, char **err)
{
    char full[8192], o[1100], e[1100];
    snprintf(o, sizeof o, "%s/cmd.out", workdir);
    snprintf(e, sizeof e, "%s/cmd.err", workdir);
    snprintf(full, sizeof full, "cd '%s' && ( %s ) >'%s' 2>'%s'", workdir, cmd, o, e);
    int st = system(full);
    *out = tu_read(o, NULL);
    *err = tu_read(e, NULL);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st) >= 128 ? -1 : WEXITSTATUS(st);
}

/* In the output `out` of the compiled program, whether every
 * derivative's value (its first output) is f's to the bit; if not, the
 * first that is not, in msg. */
static int values_same(const Ctx *cs, int nu, const DcOpts *o, const char *out, char *msg, size_t cap)
{
    const char *p = out;
    int same = 1;
    for (int un = 0; un < nu && same; un++) {
        double *value = NULL;
        long nvalue = 0;
        for (int kw = 0; kw < 4 * (1 + o->workspace) && same; kw++) {
            int k = kw / (1 + o->workspace), ws = kw % (1 + o->workspace);
            const Fn *h = entry(cs[un].u, k);
            if (!h)
                continue;
            long n = outputs_size(h), nv = ty_size(h->out.p[0].ty);
            if (k == 0 && !ws) {
                value = xcalloc((size_t)nv, sizeof *value);
                nvalue = nv;
            }
            for (long i = 0; i < n && same; i++) {
                char *end;
                double got = strtod(p, &end);
                if (end == p) {
                    snprintf(msg, cap, "the compiled program printed too little");
                    same = 0;
                    break;
                }
                p = end;
                if (i < nv && k == 0 && !ws) {
                    value[i] = got;
                } else if (i < nv && (nv != nvalue || !same_bits(got, value[i]))) {
                    snprintf(msg, cap, "%s%s: its value %ld is %.17g compiled, f's %.17g", h->name, ws ? "_ws" : "",
                             i, got, nv == nvalue ? value[i] : 0.0);
                    same = 0;
                }
            }
        }
        free(value);
    }
    return same;
}

static void compiled_checks(Ctx *cs, int nu, const char *text, const DcOpts *o, DcResult *r)
{
    char path[1024], cmd[4096];
    snprintf(path, sizeof path, "%s/p.dx", o->workdir);
    if (tu_write(path, text, (size_t)-1)) {
        fail(r, "dxc", "write", "cannot write %s", path);
        return;
    }
    char *out = NULL, *err = NULL;
    /* DX_DIFF_DXFLAGS adds dxc options: --stack-budget=2K checkpoints
     * the loops of most programs (make fuzz-ckpt) */
    const char *dxflags = getenv("DX_DIFF_DXFLAGS");
    char lanes[32] = "";
    if (o->sum_lanes)
        snprintf(lanes, sizeof lanes, " --sum-lanes=%d", o->sum_lanes < 0 ? 0 : o->sum_lanes);
    snprintf(cmd, sizeof cmd, "'%s' p.dx -o p.c --header p.h%s%s%s %s", o->dxc, o->workspace ? " --workspace" : "",
             o->small_tape ? " --tape=small" : "", lanes, dxflags ? dxflags : "");
    int st = run_cmd(o->workdir, cmd, &out, &err);
    char *hdr = NULL;
    snprintf(path, sizeof path, "%s/p.h", o->workdir);
    if (dxflags && ((st == 1 && err && strstr(err, "over the stack budget")) ||
                    (st == 0 && (hdr = tu_read(path, NULL)) && strstr(hdr, "is not generated")))) {
        r->refused = 1; /* the budget DX_DIFF_DXFLAGS set, not a bug */
        free(hdr);
        goto done;
    }
    free(hdr);
    if (st != 0) {
        char sig[160];
        first_error(err, sig, sizeof sig);
        fail(r, "dxc", sig, "dxc %s: %s", st < 0 ? "crashed" : "failed", err ? err : "");
        goto done;
    }
    free(out);
    free(err);
    out = err = NULL;
    Str s = {0};
    sput(&s, "#include <stdio.h>\n#include <string.h>\n#include \"p.h\"\n\nint main(void)\n{\n");
    for (int un = 0; un < nu; un++)
        for (int k = 0; k < 4; k++)
            for (int ws = 0; ws <= o->workspace; ws++)
                if (entry(cs[un].u, k))
                    driver_call(&s, &cs[un], entry(cs[un].u, k), ws);
    sput(&s, "    return 0;\n}\n");
    snprintf(path, sizeof path, "%s/drv.c", o->workdir);
    int wr = tu_write(path, s.p, (size_t)-1);
    free(s.p);
    if (wr) {
        fail(r, "cc", "write", "cannot write %s", path);
        goto done;
    }
    /* DX_DIFF_CFLAGS adds flags: -fsanitize=address,undefined runs the
     * generated code under the sanitizers (fuzz_diff --sanitize) */
    const char *extra = getenv("DX_DIFF_CFLAGS");
    snprintf(cmd, sizeof cmd, "%s -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror %s -o p p.c drv.c -lm",
             o->cc ? o->cc : "gcc", extra ? extra : "");
    st = run_cmd(o->workdir, cmd, &out, &err);
    if (st != 0) {
        char sig[160];
        first_error(err, sig, sizeof sig);
        fail(r, "cc", sig, "%s", err ? err : "cc failed");
        goto done;
    }
    free(out);
    free(err);
    out = err = NULL;
    st = run_cmd(o->workdir, "./p", &out, &err);
    if (st != 0) {
        fail(r, "run", "run", "the compiled program %s: %s", st < 0 ? "crashed" : "failed", err ? err : "");
        goto done;
    }
    /* f's compiled value: every derivative's (its first output) is the
     * same to the bit, as its forward sweep is f's code.  Where it is
     * not, the C compiler may have evaluated a library call of a value
     * it knew constant along one path (correctly rounded) in one function
     * and called the library (an ulp away) in another: compiled again
     * without built-in functions (-fno-builtin), so that each call is
     * the library's, the values must then be the same to the bit. */
    char vmsg[512];
    if (!values_same(cs, nu, o, out, vmsg, sizeof vmsg)) {
        char *o2 = NULL, *e2 = NULL;
        snprintf(cmd, sizeof cmd, "%s -std=c99 -O1 -fno-builtin %s -o pnb p.c drv.c -lm && ./pnb",
                 o->cc ? o->cc : "gcc", extra ? extra : "");
        int st2 = run_cmd(o->workdir, cmd, &o2, &e2);
        char vmsg2[512];
        if (st2 != 0 || !values_same(cs, nu, o, o2, vmsg2, sizeof vmsg2))
            fail(r, "compiled", "compiled value", "%s (and without built-ins: %s)", vmsg,
                 st2 != 0 ? "it did not compile or run" : vmsg2);
        free(o2);
        free(e2);
        if (r->status)
            goto done;
    }
    r->checks++;
    char *p = out;
    for (int un = 0; un < nu && !r->status; un++) {
        for (int kw = 0; kw < 4 * (1 + o->workspace) && !r->status; kw++) {
            int k = kw / (1 + o->workspace), ws = kw % (1 + o->workspace);
            const Fn *h = entry(cs[un].u, k);
            if (!h)
                continue;
            int n;
            double *want = interp_outputs(&cs[un], h, &n);
            double scale = maxabs(want, n);
            for (int i = 0; i < n; i++) {
                char *end;
                double got = strtod(p, &end);
                if (end == p) {
                    fail(r, "run", "run", "the compiled program printed too little");
                    break;
                }
                p = end;
                if (!close_to(got, want[i], 1e-10, 1e-10 * scale + 1e-14)) {
                    char sig[64];
                    snprintf(sig, sizeof sig, "compiled %s%s", k == 0 ? "f" : k == 1 ? "grad" : k == 2 ? "jvp" : "hvp",
                             ws ? "_ws" : "");
                    fail(r, "compiled", sig, "%s%s: output %d is %.17g compiled, %.17g interpreted", h->name,
                         ws ? "_ws" : "", i, got, want[i]);
                    break;
                }
                r->checks++;
            }
            free(want);
        }
    }
    if (r->status)
        goto done;
    /* the float API of the same program compiles cleanly too, with no
     * float promoted to double behind the user's back */
    free(out);
    free(err);
    out = err = NULL;
    snprintf(cmd, sizeof cmd,
             "'%s' p.dx -o pf.c --real=float%s%s%s && %s -std=c99 -O1 -Wall -Wextra -Wpedantic -Wdouble-promotion "
             "-Werror -c pf.c -o pf.o",
             o->dxc, o->workspace ? " --workspace" : "", o->small_tape ? " --tape=small" : "", lanes,
             o->cc ? o->cc : "gcc");
    st = run_cmd(o->workdir, cmd, &out, &err);
    if (st != 0) {
        char sig[160];
        first_error(err, sig, sizeof sig);
        fail(r, "float-cc", sig, "--real=float: %s", err ? err : "failed");
        goto done;
    }
    r->checks++;
    r->compiled = 1;
done:
    free(out);
    free(err);
}

/* ---- one program, in the child ---- */

/* ---- edge inputs: "derivatives never invent a NaN" ---- */

enum { EDGE_AXES = 6 }; /* coordinate axes tried per edge point */

/* s(x): the scalar result, or <ub, f(x)>; 0 if a value is not finite. */
static int edge_s(Ctx *c, const double *x, double *s)
{
    double *y = xcalloc((size_t)c->m, sizeof *y);
    run(c, c->u->primal, x, NULL, NULL, y, NULL, NULL, NULL, NULL);
    *s = c->u->primal->out.p[0].ty.rank ? dotp(c->ub, y, c->m, NULL) : y[0];
    int ok = all_finite(y, c->m) && isfinite(*s);
    free(y);
    return ok;
}

/* f_grad (f_vjp seeded with ub) at x into g; 0 if an entry is not finite. */
static int edge_grad(Ctx *c, const double *x, double *g)
{
    double *y = xcalloc((size_t)c->m, sizeof *y);
    run(c, c->u->grad, x, NULL, c->ub, y, NULL, g, NULL, NULL);
    int ok = all_finite(g, c->total);
    free(y);
    return ok;
}

/* Is every value the primal computes at x finite, at most 1e200 in size
 * and not subnormal (ir_record)?  At such a point an infinite partial
 * derivative comes from a singular op (sqrt, log, pow, a quotient) at the
 * edge of its domain, not from the product of two huge values or an
 * underflow (whose inf or 0 in derivative code IEEE arithmetic allows:
 * tanh(x * y) with x, y 1e150; norm(x * x) with x 1e-160). */
static int edge_clean(Ctx *c, const double *x)
{
    const Fn *f = c->u->primal;
    Arena *A = arena_new();
    IrRecord *rec = record_entry(c, f, x, NULL, 0, A);
    int ok = !rec->too_big;
    for (int i = 0; ok && i < f->v.n; i++)
        for (long k = 0; ok && k < rec->tr[i].n; k++)
            ok = fabs(rec->tr[i].val[k]) <= 1e200 && fpclassify(rec->tr[i].val[k]) != FP_SUBNORMAL;
    arena_free(A);
    return ok;
}

/* The recorder's gradient at x (malloc'ed, total entries), or NULL if
 * the run is too big to record; *over: its sweep overflowed (an adjoint
 * past the range of the doubles: a NaN of the gradient there is such an
 * infinity meeting one of the other sign, not an invented NaN;
 * tests/regress/013.dx). */
static double *edge_record(Ctx *c, const double *x, int *over)
{
    const Fn *f = c->u->primal;
    Arena *A = arena_new();
    IrRecord *rec = record_entry(c, f, x, NULL, 1, A);
    double *g = NULL;
    *over = 0;
    if (!rec->too_big) {
        g = xcalloc((size_t)c->total, sizeof *g);
        for (int i = 0; i < f->in.n; i++)
            for (int k = 0; k < c->len[i]; k++)
                g[c->off[i] + k] = rec->grad[i] ? rec->grad[i][k] : 0;
        *over = rec->adj_over;
    }
    arena_free(A);
    return g;
}

/* At a point xp next to an edge point: is entry j of f_grad finite, and
 * with a huge entry (huge), f_jvp along axis j not NaN?  (A huge entry
 * multiplies tangents: forward mode may overflow near the point, and
 * then legitimately at it.) */
static int edge_near(Ctx *c, const double *xp, int j, double *g, int huge)
{
    double *y = xcalloc((size_t)c->m, sizeof *y), *od = xcalloc((size_t)c->m, sizeof *od);
    double *e = xcalloc((size_t)c->total, sizeof *e);
    run(c, c->u->grad, xp, NULL, c->ub, y, NULL, g, NULL, NULL);
    int ok = isfinite(g[j]);
    if (ok && huge) {
        e[j] = 1;
        run(c, c->u->jvp, xp, e, NULL, y, od, NULL, NULL, NULL);
        for (int i = 0; i < c->m; i++)
            ok &= !isnan(od[i]);
    }
    free(y);
    free(od);
    free(e);
    return ok;
}

/* Central differences along axis j of n values (grad 0: s, n = 1; grad 1:
 * f_grad, n = total) at steps h, h/8 and h/64: settled[i] is 1 where all
 * three are finite, at most 1e200 in size and agree (to 1e-3 of their
 * size, or 1e-9 absolutely), and (grad 0) edge_near holds at the points
 * nearest x: where the derivative is finite near x and computing it
 * overflows nothing there (a derivative that overflows near x may
 * legitimately meet inf - inf or 0 * inf at x). */
static void edge_settled(Ctx *c, int grad, const double *x, int j, unsigned char *settled, int huge)
{
    int n = grad ? c->total : 1;
    double h = 1e-4 * (1 + fabs(x[j])), *v[6], *xp = xcalloc((size_t)c->total, sizeof *xp);
    double *gn = xcalloc((size_t)c->total, sizeof *gn);
    static const double step[6] = {1, -1, 0.125, -0.125, 1.0 / 64, -1.0 / 64};
    int ok = 1;
    memset(settled, 0, (size_t)n);
    for (int k = 0; k < 6; k++) {
        v[k] = xcalloc((size_t)n, sizeof(double));
        memcpy(xp, x, sizeof(double) * (size_t)c->total);
        xp[j] += step[k] * h;
        ok &= grad ? edge_grad(c, xp, v[k]) : edge_s(c, xp, v[k]) && (k < 4 || edge_near(c, xp, j, gn, huge));
    }
    for (int i = 0; ok && i < n; i++) {
        int agree = 1;
        double d[3];
        for (int k = 0; k < 3; k++) {
            d[k] = (v[2 * k][i] - v[2 * k + 1][i]) / (2 * step[2 * k] * h);
            agree &= isfinite(d[k]) && fabs(d[k]) <= 1e200;
        }
        for (int k = 1; k < 3 && agree; k++)
            agree = fabs(d[k] - d[0]) <= 1e-3 * fmax(fabs(d[k]), fabs(d[0])) + 1e-9;
        settled[i] = (unsigned char)agree;
    }
    for (int k = 0; k < 6; k++)
        free(v[k]);
    free(xp);
    free(gn);
}

/* Does a tangent of f_jvp overflow at x along v: does some value it
 * computes as a tangent (ROLE_TANGENT) take an infinite value?  Then a
 * NaN in its result may be that infinity met by an exact zero (inf * 0,
 * inf - inf): not a NaN the derivative code invents, but a tangent past
 * the range of the doubles, which the rule that derivatives never invent
 * a NaN does not cover (tests/regress/021.dx, 026.dx).  0 when
 * the run is too big to record. */
static int tangent_overflows(Ctx *c, const double *x, const double *v)
{
    const Fn *h = c->u->jvp;
    Arena *A = arena_new();
    IrRecord *rec = record_entry(c, h, x, v, 0, A);
    int over = 0;
    for (int i = 0; !rec->too_big && !over && i < h->v.n; i++)
        if (h->v.p[i].role == ROLE_TANGENT)
            for (long k = 0; !over && k < rec->tr[i].n; k++)
                over = isinf(rec->tr[i].val[k]);
    arena_free(A);
    return over;
}

/* A NaN where the differences settled: the edge-nan failure. */
static void edge_nan(Ctx *c, const char *what, int i, double got, int settled, const double *x, int j)
{
    c->r->checks++;
    if (!settled || !isnan(got))
        return;
    char pt[512] = "";
    for (int k = 0, n = 0; k < c->total && n < (int)sizeof pt - 40; k++)
        n += snprintf(pt + n, sizeof pt - (size_t)n, "%s%g", k ? ", " : "", x[k]);
    fail(c->r, "edge-nan", what, "%s: %s[%d] is NaN (along axis %d) at the edge point x = (%s), where f and "
         "every value it computes are finite and its differences settle", c->u->primal->name, what, i, j, pt);
}

/* The edge checks at point x (see diffcheck.h). */
static void edge_point(Ctx *c, const double *x, uint64_t *rng)
{
    const Unit *u = c->u;
    int T = c->total, m = c->m, scalar = !u->primal->out.p[0].ty.rank;
    double s;
    c->r->edge_points++;
    if (!edge_s(c, x, &s) || !edge_clean(c, x))
        return;
    c->r->edge_clean++;
    double *g = xcalloc((size_t)T, sizeof *g), *e = xcalloc((size_t)T, sizeof *e);
    double *y = xcalloc((size_t)m, sizeof *y), *od = xcalloc((size_t)m, sizeof *od);
    double *hv = xcalloc((size_t)T, sizeof *hv);
    unsigned char *st = xcalloc((size_t)T, 1), s1;
    run(c, u->grad, x, NULL, c->ub, y, NULL, g, NULL, NULL);
    int rg_over = 0;
    double *rg = scalar ? edge_record(c, x, &rg_over) : NULL; /* the recorder's (dxc --at) */
    /* second derivatives only where no entry is tiny or huge: they scale
     * as its square or inverse square and overflow legitimately
     * (-1/y^2 at y = 1e-160; (1e150 x)^2 inside atan) */
    int moderate = maxabs(g, T) <= 1e100, huge = 0;
    for (int j = 0; j < T; j++) {
        moderate &= x[j] == 0 || (fabs(x[j]) >= 1e-100 && fabs(x[j]) <= 1e100);
        huge |= fabs(x[j]) > 1e100;
    }
    /* with a huge entry, a gradient that overflows says the tangents it
     * multiplies grow past the range (a loop: 1e150^k) */
    for (int a = 0; a < EDGE_AXES && !c->r->status && (!huge || all_finite(g, T)); a++) {
        int j = (int)(pg_next(rng) % (uint64_t)T);
        /* not along a tiny entry: d(1/y)/dy = -1/y^2 overflows */
        if (!c->act[j] || (x[j] != 0 && fabs(x[j]) < 1e-100))
            continue;
        edge_settled(c, 0, x, j, &s1, huge);
        edge_nan(c, scalar ? "grad" : "vjp", j, g[j], s1, x, j);
        if (rg) {
            int excused = s1 && isnan(rg[j]) && rg_over;
            c->r->excused += excused;
            edge_nan(c, "record-grad", j, rg[j], s1 && !excused, x, j);
        }
        memset(e, 0, sizeof(double) * (size_t)T);
        e[j] = 1;
        run(c, u->jvp, x, e, NULL, y, od, NULL, NULL, NULL);
        double jv = scalar ? od[0] : dotp(c->ub, od, m, NULL);
        int excused = s1 && isnan(jv) && tangent_overflows(c, x, e);
        c->r->excused += excused;
        edge_nan(c, "jvp", j, jv, s1 && !excused, x, j);
        if (!u->hvp || c->r->status || !moderate)
            continue;
        edge_settled(c, 1, x, j, st, 0);
        run(c, u->hvp, x, e, NULL, y, NULL, hv, NULL, NULL);
        for (int i = 0; i < T && !c->r->status; i++)
            if (c->act[i])
                edge_nan(c, "hvp", i, hv[i], st[i], x, j);
    }
    free(g);
    free(e);
    free(y);
    free(od);
    free(hv);
    free(st);
    free(rg);
}

/* The edge points of one function: all zeros, then the random point
 * with entries replaced by edge values or ties. */
static void edge_unit(Ctx *c, uint64_t seed)
{
    static const double ev[] = {0, 1e-300, -1e-300, 1e-160, -1e-160, 1e150, -1e150};
    uint64_t rng = seed ^ 0x6a09e667f3bcc909ULL;
    double *x = xcalloc((size_t)c->total, sizeof *x);
    edge_point(c, x, &rng);
    for (int p = 0; p < 8 && !c->r->status; p++) {
        /* zeros and ties, and one tiny or huge entry: two would make
         * products that underflow or overflow in their own right */
        for (int j = 0; j < c->total; j++) {
            int k = (int)(pg_next(&rng) % 4);
            x[j] = k == 0 ? 0 : k == 1 && j ? x[j - 1] : c->x[j];
        }
        x[pg_next(&rng) % (uint64_t)c->total] = ev[1 + pg_next(&rng) % 6];
        edge_point(c, x, &rng);
    }
    free(x);
}

static void checks(const char *text, const DcOpts *o, DcResult *r)
{
    TuLowered L;
    if (tu_lower(&L, text)) {
        char sig[160];
        first_error(L.d.last, sig, sizeof sig);
        snprintf(r->sig, sizeof r->sig, "%s", sig);
        fail(r, "rejected", sig, "%d:%d: %s", L.d.last_loc.line, L.d.last_loc.col, L.d.last);
        if (L.a)
            arena_free(L.a);
        return;
    }
    int nu = L.prog.units.n;
    Ctx *cs = xcalloc((size_t)nu, sizeof *cs);
    uint64_t rng = o->seed;
    for (int un = 0; un < nu; un++) {
        Ctx *c = &cs[un];
        c->u = &L.prog.units.p[un];
        c->r = r;
        const Fn *f = c->u->primal;
        c->nin = f->in.n;
        c->off = xcalloc((size_t)c->nin + 1, sizeof(int));
        c->len = xcalloc((size_t)c->nin + 1, sizeof(int));
        for (int i = 0; i < c->nin; i++) {
            c->off[i] = c->total;
            c->len[i] = (int)ty_size(f->in.p[i].ty);
            c->total += c->len[i];
        }
        c->m = (int)ty_size(f->out.p[0].ty);
        c->act = xcalloc((size_t)c->total, 1);
        c->x = xcalloc((size_t)c->total, sizeof(double));
        c->v = xcalloc((size_t)c->total, sizeof(double));
        c->scratch = xcalloc((size_t)c->total, sizeof(double));
        c->ub = xcalloc((size_t)c->m, sizeof(double));
        c->yraw = xcalloc((size_t)c->m, sizeof(double));
        c->t0 = xcalloc(TRCAP, 1);
        c->g0 = xcalloc(TRCAP, 1);
        c->tr = xcalloc(TRCAP, 1);
        for (int i = 0; i < c->nin; i++)
            for (int j = 0; j < c->len[i]; j++) {
                c->act[c->off[i] + j] = !f->in.p[i].is_data;
                c->x[c->off[i] + j] = pg_uniform(&rng, -1.5, 1.5);
                c->v[c->off[i] + j] = f->in.p[i].is_data ? 0 : pg_uniform(&rng, -1, 1);
            }
        for (int i = 0; i < c->m; i++)
            c->ub[i] = pg_uniform(&rng, -1, 1);
        /* the primal as lowered, before any pass */
        run(c, f, c->x, NULL, NULL, c->yraw, NULL, NULL, NULL, NULL);
    }
    for (int un = 0; un < nu; un++) {
        L.prog.units.p[un].small_tape = o->small_tape;
        ir_unit_sums(&L.prog.units.p[un], o->sum_lanes, CG_STACK_BUDGET); /* as dxc's default budget */
        ad_unit(&L.prog.units.p[un]);
    }
    for (int un = 0; un < nu && !r->status; un++)
        check_unit(&cs[un]);
    for (int un = 0; un < nu && !r->status && o->edge; un++)
        edge_unit(&cs[un], o->seed + (uint64_t)un);
    if (!r->status && o->compiled)
        compiled_checks(cs, nu, text, o, r);
    for (int un = 0; un < nu; un++) {
        Ctx *c = &cs[un];
        free(c->off);
        free(c->len);
        free(c->act);
        free(c->x);
        free(c->v);
        free(c->scratch);
        free(c->ub);
        free(c->yraw);
        free(c->t0);
        free(c->g0);
        free(c->tr);
    }
    free(cs);
    arena_free(L.a);
}

DcResult dc_check(const char *text, const DcOpts *o)
{
    DcResult r;
    memset(&r, 0, sizeof r);
    char errpath[1024];
    snprintf(errpath, sizeof errpath, "%s/child.err", o->workdir);
    int fd[2];
    if (pipe(fd) != 0) {
        fail(&r, "crash", "pipe", "pipe: %s", strerror(errno));
        return r;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fail(&r, "crash", "fork", "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return r;
    }
    if (pid == 0) {
        close(fd[0]);
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (e >= 0) {
            dup2(e, 2);
            close(e);
        }
        alarm((unsigned)(o->timeout ? o->timeout : 120));
        checks(text, o, &r);
        ssize_t w = write(fd[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 3);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t k = read(fd[0], (char *)&r + got, sizeof r - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof r) {
        memset(&r, 0, sizeof r);
        char *err = tu_read(errpath, NULL);
        char sig[160];
        const char *ie = err ? strstr(err, "internal error at ") : NULL;
        if (ie) {
            size_t n = strcspn(ie, "\n");
            snprintf(sig, sizeof sig, "%.*s", (int)(n < 159 ? n : 159), ie);
        } else {
            snprintf(sig, sizeof sig, "signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
        }
        fail(&r, WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? "timeout" : "crash", sig, "%s%s", sig,
             err && !ie ? err : "");
        free(err);
    }
    return r;
}

int dc_same(const DcResult *a, const DcResult *b)
{
    return a->status == b->status && !strcmp(a->what, b->what) && !strcmp(a->sig, b->sig);
}

/* ---- reduction ---- */

typedef struct {
    PgNode *parent;
    int slot;
    PgNode *fn;
} Site;

typedef struct {
    Site *p;
    int n, cap;
} Sites;

static void collect(PgNode *n, PgNode *fn, Sites *s)
{
    for (int i = 0; i < n->nkid; i++) {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 64;
            s->p = realloc(s->p, sizeof(Site) * (size_t)s->cap);
            if (!s->p)
                abort();
        }
        PgNode *k = n->kid[i];
        s->p[s->n++] = (Site){n, i, fn};
        collect(k, k->kind == PG_FN ? k : fn, s);
    }
}

/* parent's children with slot replaced by the m nodes of with[]. */
static void splice(Arena *a, PgNode *parent, int slot, PgNode **with, int m)
{
    int n = parent->nkid - 1 + m;
    PgNode **k = arena_alloc(a, sizeof(PgNode *) * (size_t)(n ? n : 1));
    memcpy(k, parent->kid, sizeof(PgNode *) * (size_t)slot);
    if (m)
        memcpy(k + slot, with, sizeof(PgNode *) * (size_t)m);
    memcpy(k + slot + m, parent->kid + slot + 1, sizeof(PgNode *) * (size_t)(parent->nkid - slot - 1));
    parent->kid = k;
    parent->nkid = n;
}

static int shape_eq(const PgNode *a, const PgNode *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i])
            return 0;
    return 1;
}

/* Applies variant k of the edits of this phase at site s; 0 when there
 * is none, -1 when variant k changes nothing.  Phase 0 deletes functions
 * and statements and splices blocks, phase 1 replaces expressions by
 * their operands or constants, phase 2 by parameters and lowers trip
 * counts. */
static int edit(Arena *a, const Site *s, int phase, int k)
{
    PgNode *n = s->parent->kid[s->slot];
    int v = 0;
    if (phase == 1)
        goto operands;
    if (phase == 2)
        goto params;
    /* delete it */
    if (!n->keep && (s->parent->kind == PG_PROG || s->parent->kind == PG_BLOCK) && v++ == k) {
        splice(a, s->parent, s->slot, NULL, 0);
        return 1;
    }
    /* a statement holding blocks: replaced by one of them */
    if (n->kind == PG_STMT && s->parent->kind == PG_BLOCK)
        for (int i = 0; i < n->nkid; i++)
            if (n->kid[i]->kind == PG_BLOCK && v++ == k) {
                splice(a, s->parent, s->slot, n->kid[i]->kid, n->kid[i]->nkid);
                return 1;
            }
    return 0;
params:
    if (n->kind == PG_NUM) {
        if (n->num > n->num_min && v++ == k) {
            n->num = n->num_min + (n->num - n->num_min) / 2;
            return 1;
        }
        if (n->num > n->num_min && v++ == k) {
            n->num--;
            return 1;
        }
    }
    if (n->kind == PG_EXPR && n->nkid == 0)
        for (int i = 0; s->fn && i < s->fn->nparam; i++) {
            const int *ps = s->fn->pshape[i];
            int ok = ps[0] == n->rank;
            for (int d = 0; ok && d < n->rank; d++)
                ok = ps[d + 1] == n->dim[d];
            if (ok && v++ == k) {
                if (!strcmp(n->fmt, s->fn->pname[i]))
                    return -1;
                PgNode *c = pg_leaf_like(a, n, s->fn->pname[i]);
                splice(a, s->parent, s->slot, &c, 1);
                return 1;
            }
        }
    return 0;
operands:
    if (n->kind == PG_EXPR || n->kind == PG_COND) {
        for (int i = 0; i < n->nkid; i++) {
            PgNode *c = n->kid[i];
            if (c->kind == n->kind && (n->kind == PG_COND || shape_eq(c, n)) && v++ == k) {
                splice(a, s->parent, s->slot, &c, 1);
                return 1;
            }
        }
    }
    if (n->kind == PG_EXPR && !(n->nkid == 0 && !strcmp(n->fmt, "0.5"))) {
        if (v++ == k) {
            PgNode *c = pg_const_like(a, n);
            if (!strcmp(c->fmt, n->fmt))
                return -1;
            splice(a, s->parent, s->slot, &c, 1);
            return 1;
        }
    }
    return 0;
}

/* A set of the texts tried (their 64-bit hashes). */
typedef struct {
    uint64_t *h;
    size_t n, cap;
} Seen;

/* Puts h into the open-addressed table; 0 if it was there. */
static int seen_put(Seen *s, uint64_t h)
{
    for (size_t j = h % s->cap;; j = (j + 1) % s->cap) {
        if (s->h[j] == h)
            return 0;
        if (!s->h[j]) {
            s->h[j] = h;
            s->n++;
            return 1;
        }
    }
}

/* Adds text (its FNV-1a hash); 0 if it was tried before. */
static int seen_add(Seen *s, const char *text)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h |= 1; /* 0 marks a free slot */
    if (2 * (s->n + 1) > s->cap) {
        Seen t = {xcalloc(s->cap ? 2 * s->cap : 1024, sizeof(uint64_t)), 0, s->cap ? 2 * s->cap : 1024};
        for (size_t i = 0; i < s->cap; i++)
            if (s->h[i])
                seen_put(&t, s->h[i]);
        free(s->h);
        *s = t;
    }
    return seen_put(s, h);
}

/* One phase to a fixed point; returns 1 if anything changed. */
static int reduce_phase(PgProg *p, int phase, const DcResult *fail0, const DcOpts *o, int max_tries,
                        int *tries, Seen *seen)
{
    int start = 0, any = 0;
    char *cur = pg_print(p->root);
    size_t len = strlen(cur);
    free(cur);
    while (*tries < max_tries) {
        Sites ss = {0};
        collect(p->root, NULL, &ss);
        int found = 0;
        for (int si = start; si < ss.n && !found && *tries < max_tries; si++) {
            for (int k = 0; *tries < max_tries; k++) {
                Site s = ss.p[si];
                PgNode **kids = s.parent->kid;
                int nk = s.parent->nkid;
                PgNode *n = kids[s.slot];
                int num = n->num;
                int e = edit(p->a, &s, phase, k);
                if (e == 0)
                    break;
                if (e < 0)
                    continue;
                char *text = pg_print(p->root);
                /* progress: a shorter text, or a lower trip count */
                size_t tl = strlen(text);
                if ((tl < len || (tl == len && n->kind == PG_NUM)) && seen_add(seen, text)) {
                    DcResult r = dc_check(text, o);
                    (*tries)++;
                    if (dc_same(&r, fail0)) {
                        len = tl;
                        free(text);
                        found = any = 1; /* the tree changed: collect the sites again, from here */
                        start = si;
                        break;
                    }
                }
                free(text);
                s.parent->kid = kids;
                s.parent->nkid = nk;
                n->num = num;
            }
        }
        free(ss.p);
        if (!found) {
            if (start == 0)
                break;
            start = 0; /* one more pass over everything */
        }
    }
    return any;
}

int dc_reduce(PgProg *p, const DcResult *fail0, const DcOpts *o, int max_tries)
{
    int tries = 0, changed = 1;
    Seen seen = {0};
    char *text = pg_print(p->root);
    seen_add(&seen, text);
    free(text);
    while (changed && tries < max_tries) {
        changed = 0;
        for (int phase = 0; phase < 3; phase++)
            changed |= reduce_phase(p, phase, fail0, o, max_tries, &tries, &seen);
    }
    free(seen.h);
    return tries;
}

/* ---- seeds, loops, regression files ---- */

uint64_t dc_program_seed(uint64_t run_seed, long i)
{
    uint64_t s = run_seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i;
    return pg_next(&s);
}

uint64_t dc_input_seed(uint64_t program_seed)
{
    return program_seed ^ 0x5bd1e995u;
}

int dc_small_tape(uint64_t program_seed)
{
    return (program_seed >> 17) % 4 == 3;
}

int dc_sum_lanes(uint64_t program_seed)
{
    return (program_seed >> 23) % 2 ? 2 : 0;
}

int dc_loops_compile(const char *dxc, const char *cc, const char *workdir)
{
    char path[1100], cmd[4096], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/loop.dx", workdir);
    if (tu_write(path, "fn f(x) {\n    y = x\n    for i in 0..3 { y = y * x + 1 }\n    return y\n}\n",
                 (size_t)-1))
        return 0;
    snprintf(cmd, sizeof cmd, "'%s' loop.dx -o loop.c && %s -std=c99 -c loop.c -o loop.o", dxc, cc ? cc : "gcc");
    int st = run_cmd(workdir, cmd, &out, &err);
    free(out);
    free(err);
    return st == 0;
}

/* The text after "# KEY" on a comment line of text, or NULL. */
static const char *comment(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (p[0] == '#' && p[1] == ' ' && !strncmp(p + 2, key, n) &&
            (p[2 + n] == ':' || p[2 + n] == '\n' || p[2 + n] == 0))
            return p + 2 + n;
    return NULL;
}

/* Equal but for digits (an internal error's line moves as dxc changes). */
static int same_loosely(const char *a, const char *b)
{
    for (;;) {
        while (*a >= '0' && *a <= '9')
            a++;
        while (*b >= '0' && *b <= '9')
            b++;
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
}

int dc_check_file(const char *text, const DcOpts *base, int loops_compile, DcResult *r, char *why,
                  size_t cap)
{
    DcOpts o = *base;
    const char *in = comment(text, "inputs");
    o.seed = in ? strtoull(in + 1, NULL, 10) : 1;
    o.compiled = comment(text, "compiled") && (loops_compile || !strstr(text, "for "));
    o.workspace = comment(text, "workspace") != NULL;
    o.edge = comment(text, "edge") != NULL;
    const char *tape = comment(text, "tape");
    o.small_tape = tape && !strncmp(tape, ": small", 7);
    const char *lanes = comment(text, "sum-lanes");
    o.sum_lanes = lanes && lanes[0] == ':' ? atoi(lanes + 1) : 0;
    if (lanes && o.sum_lanes == 0)
        o.sum_lanes = -1;
    const char *cc = comment(text, "cc");
    char ccname[64];
    if (cc && cc[0] == ':') {
        snprintf(ccname, sizeof ccname, "%.*s", (int)strcspn(cc + 2, "\n"), cc + 2);
        o.cc = ccname;
    }
    *r = dc_check(text, &o);
    const char *open = comment(text, "open");
    if (!open) {
        if (r->status)
            snprintf(why, cap, "%s: %s", r->what, r->msg);
        return r->status != DC_OK;
    }
    /* an open bug: it must still fail as recorded */
    const char *f = comment(text, "failure");
    char want[256] = "", got[256];
    if (f) {
        size_t n = strcspn(f + 2, "\n");
        snprintf(want, sizeof want, "%.*s", (int)n, f + 2);
    }
    snprintf(got, sizeof got, "%s: %s", r->what, r->sig);
    if (r->status == DC_OK) {
        snprintf(why, cap, "it passes now: remove its '# open' line (it recorded: %s)", want);
        return 1;
    }
    if (!same_loosely(got, want)) {
        snprintf(why, cap, "it fails differently: %s (it recorded: %s)", got, want);
        return 1;
    }
    return 0;
}
