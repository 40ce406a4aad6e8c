/*
 * interp.c - evaluates an IR function directly.  The tests run it after
 * lowering, after each AD pass and after each clean-up pass: all must
 * agree with each other and with the compiled C.
 *
 * Every value gets ty_size() doubles of storage, so the same loop serves
 * scalars now and arrays later.  Values of a branch not taken are never
 * read (the IR's visibility rule guarantees it).
 *
 * The optional decision trace (ir_interp_trace) records every choice
 * that makes the function piecewise: the side of each IF and SELECT, the
 * winner of each MAX/MIN (elementwise or a reduction), the sign of each
 * RELU/ABS operand.  Two runs with equal traces evaluated the same smooth
 * piece, so a finite difference between them is meaningful (the
 * differential tester, tests/diffcheck.c, skips steps that change it).
 */
#include "wengert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const Fn *f;
    double **val;
    const double *const *in;
    unsigned char *tr;  /* the decision trace, or NULL */
    size_t trcap, trn;
    Rec *rec;           /* ir_record's recorder, or NULL */
} Interp;

/* Recording (wengert.h): instruction id's element j takes a value that
 * flows unchanged from entry `from` (a copy, derivative 1). */
static void rec_copy(Interp *I, Ref id, long j, long from, int shown)
{
    long e = rec_new(I->rec, id, I->val[id][j], shown);
    rec_edge(I->rec, e, from, 1);
    rec_ent(I->rec, id)[j] = e;
}

/* Every element of id copied from the matching element of src. */
static void rec_copies(Interp *I, Ref id, Ref src)
{
    if (!I->rec)
        return;
    long *from = rec_ent(I->rec, src);
    for (long long j = 0; j < ty_size(I->f->v.p[id].ty); j++)
        rec_copy(I, id, (long)j, from[j], 1);
}

/* Set by ir_interp_trace, taken by the next ir_interp. */
static _Thread_local struct {
    unsigned char *buf;
    size_t cap, *n;
} pending;

void ir_interp_trace(unsigned char *buf, size_t cap, size_t *n)
{
    pending.buf = buf;
    pending.cap = cap;
    pending.n = n;
}

/* One decision: stored while there is room, always counted. */
static void decide(Interp *I, unsigned d)
{
    if (!I->tr)
        return;
    if (I->trn < I->trcap)
        I->tr[I->trn] = (unsigned char)d;
    I->trn++;
}

static void run_region(Interp *I, const Region *r);

static long long iv_value(void *ctx, Ref iv)
{
    const Interp *I = ctx;
    return (long long)I->val[iv][0];
}

static long aff_eval(const Interp *I, Aff x)
{
    if (x.nq) {
        long long v;
        if (!aff_value(x, iv_value, (void *)I, &v))
            BUG("interpreter: an index overflows");
        return (long)v;
    }
    long v = x.c;
    for (int i = 0; i < x.n; i++)
        v += (long)x.a[i] * (long)I->val[x.iv[i]][0];
    return v;
}

/* The row-major offset of ix[0..n) in an array of type t. */
static long offset(const Interp *I, Type t, const Aff *ix, int n)
{
    long off = 0;
    for (int d = 0; d < n; d++) {
        long k = aff_eval(I, ix[d]);
        if (k < 0 || k >= ty_dim(t, d))
            BUG("interpreter: index out of range");
        off = off * ty_dim(t, d) + k;
    }
    return off;
}

static double red_init(int kind)
{
    static const double init[] = {0, 1, -HUGE_VAL, HUGE_VAL};
    return init[kind];
}

static double red_step(int kind, double acc, double t)
{
    switch (kind) {
    case RK_SUM: return acc + t;
    case RK_PROD: return acc * t;
    case RK_MAX: return t > acc ? t : acc;
    default: return t < acc ? t : acc;
    }
}

/* The range lo..hi-1 of dimension d of GEN/RED/LOOP `in` (nv dims), at
 * the current values of the IVARs outside it. */
static void bounds(Interp *I, const Inst *in, int d, int nv, long *lo, long *hi)
{
    if (in->op == OP_GEN) {
        *lo = 0;
        *hi = ty_dim(in->ty, d);
    } else if (in->op == OP_RED) {
        *lo = aff_eval(I, in->x->ix[0]);
        *hi = aff_eval(I, in->x->ix[1]);
    } else {
        *lo = aff_eval(I, in->x->ix[d]);
        *hi = aff_eval(I, in->x->ix[nv + d]);
    }
}

/* Recording a reduction's step acc' = step(acc, t): a running total,
 * not shown (the RESULT shows its final value). */
static void rec_red(Interp *I, int kind, Ref res, Ref y, double acc, double t)
{
    long *ent = rec_ent(I->rec, res), from = ent[0];
    long e = rec_new(I->rec, res, I->val[res][0], 0);
    long te = rec_ent(I->rec, y)[0];
    switch (kind) {
    case RK_SUM: rec_edge(I->rec, e, from, 1); rec_edge(I->rec, e, te, 1); break;
    case RK_PROD: rec_edge(I->rec, e, from, t); rec_edge(I->rec, e, te, acc); break;
    default: rec_edge(I->rec, e, I->val[res][0] != acc ? te : from, 1); break;
    }
    ent[0] = e;
}

/* The end of iteration `step` of the GEN or RED at position `at` of r:
 * each result takes its yield, stored at the current index (GEN) or
 * reduced into it (RED; win, if not NULL: win[j] is the step at which
 * result j last changed). */
static void take_yields(Interp *I, const Region *r, int at, long step, long *win)
{
    const Fn *f = I->f;
    Ref id = r->ids.p[at];
    const Inst *in = &f->v.p[id];
    const Region *b = in->x->reg[0];
    int nv = ir_nivars(f, id), nres = ir_nresults(f, r, at);
    for (int j = 0; j < nres; j++) {
        Ref res = r->ids.p[at + 1 + j];
        double t = I->val[b->yield.p[j]][0];
        if (in->op == OP_RED) {
            double was = I->val[res][0];
            I->val[res][0] = red_step(in->red, was, t);
            if (win && I->val[res][0] != was)
                win[j] = step;
            if (I->rec)
                rec_red(I, in->red, res, b->yield.p[j], was, t);
        } else {
            long off = 0;
            for (int e = 0; e < nv; e++)
                off = off * ty_dim(in->ty, e) + (long)I->val[ir_ivar(f, id, e)][0];
            I->val[res][off] = t;
            if (I->rec)
                rec_copy(I, res, off, rec_ent(I->rec, b->yield.p[j])[0], 1);
        }
    }
}

/* Runs the body of a GEN/RED/LOOP at position `at` of r over its index
 * space (row-major, or backwards for a LOOP with IF_BACKWARDS). */
static void run_loop(Interp *I, const Region *r, int at)
{
    const Fn *f = I->f;
    Ref id = r->ids.p[at];
    const Inst *in = &f->v.p[id];
    const Region *b = in->x->reg[0];
    int nv = ir_nivars(f, id), nres = ir_nresults(f, r, at);
    int back = in->op == OP_LOOP && (in->flags & IF_BACKWARDS);
    /* for the trace: the step at which each max/min result last changed */
    int argbest = I->tr && in->op == OP_RED && (in->red == RK_MAX || in->red == RK_MIN);
    long step = 0, *win = argbest ? calloc((size_t)nres + 1, sizeof(long)) : NULL;
    if (argbest && !win)
        BUG("interpreter: out of memory");
    for (int j = 0; j < nres; j++) {
        Ref res = r->ids.p[at + 1 + j];
        if (in->op == OP_RED)
            I->val[res][0] = red_init(in->red);
        if (I->rec && in->op == OP_RED)
            rec_ent(I->rec, res)[0] = -1;
    }
    /* an odometer over the dimensions; bounds of inner dims may depend on
     * outer IVARs, so they are evaluated when a dim (re)starts */
    long lo[DX_MAXRANK], hi[DX_MAXRANK];
    int d = 0;
    for (;;) {
        if (d < nv) { /* start dim d */
            Ref iv = ir_ivar(f, id, d);
            bounds(I, in, d, nv, &lo[d], &hi[d]);
            if (lo[d] >= hi[d]) { /* empty: back up */
                if (d == 0)
                    goto done;
                d--;
                goto next;
            }
            I->val[iv][0] = (double)(back ? hi[d] - 1 : lo[d]);
            d++;
            continue;
        }
        run_region(I, b);
        if (nv == 0 || (I->rec && I->rec->over)) /* a recording past its limit */
            goto done;
        take_yields(I, r, at, ++step, win);
        d = nv - 1;
    next:
        for (;;) {
            double *v = I->val[ir_ivar(f, id, d)];
            v[0] += back ? -1 : 1;
            if (back ? v[0] >= (double)lo[d] : v[0] < (double)hi[d]) {
                d++;
                break;
            }
            if (d == 0)
                goto done;
            d--;
        }
    }
done:
    for (int j = 0; I->rec && in->op == OP_RED && j < nres; j++) {
        Ref res = r->ids.p[at + 1 + j];
        rec_copy(I, res, 0, rec_ent(I->rec, res)[0], 1);
    }
    if (win) {
        for (int j = 0; j < nres; j++) { /* the winner's step, two bytes */
            decide(I, (unsigned)win[j] & 0xff);
            decide(I, (unsigned)(win[j] >> 8) & 0xff);
        }
        free(win);
    }
}

/* The entries of id's value when recording, else NULL. */
static const long *rec_ent_or_null(Interp *I, Ref id)
{
    return I->rec ? rec_ent(I->rec, id) : NULL;
}

/* Recording: carried value cy takes the values of entries from, as a
 * shown entry each at the start of an iteration that runs (`runs`), or
 * else (after the last) as those entries themselves. */
static void rec_carry(Interp *I, Ref cy, const long *from, int runs)
{
    if (!I->rec)
        return;
    long *ent = rec_ent(I->rec, cy);
    for (long long j = 0; j < ty_size(I->f->v.p[cy].ty); j++) {
        if (runs)
            rec_copy(I, cy, (long)j, from[j], 1);
        else
            ent[j] = from[j];
    }
}

/* Whether region r, in the body of a FOR, has no effect (an ACC, a LOOP,
 * a ZEROS) outside the region `then`. */
static int quiet_outside(const Fn *f, const Region *r, const Region *then)
{
    if (!r || r == then)
        return 1;
    for (int i = 0; i < r->ids.n; i++) {
        const Inst *x = &f->v.p[r->ids.p[i]];
        if (x->op == OP_ACC || x->op == OP_LOOP || x->op == OP_ZEROS)
            return 0;
        for (int k = 0; k < 2; k++)
            if ((x->op == OP_IF || x->op == OP_GEN || x->op == OP_RED || x->op == OP_FOR) &&
                !quiet_outside(f, x->x->reg[k], then))
                return 0;
    }
    return 1;
}

/* The carried flag of FOR id when the FOR is a while loop (lower_loop.c):
 * its body holds an IF that ir_stop_if recognises, and nothing outside
 * the IF's then branch has an effect.  Once the flag is 0 no
 * iteration changes anything (values, buffers or, recorded, adjoints:
 * the rest are copies), so the interpreter leaves the loop there, as the
 * generated C does (cfor.c, cg_exit_flag); a while loop of `max
 * 2147483647` runs as many iterations as it needs.  -1 if it is not one. */
static int stop_flag(const Fn *f, Ref id)
{
    const Region *b = f->v.p[id].x->reg[0];
    for (int i = 0; i < b->ids.n; i++) {
        Ref fi = b->ids.p[i];
        int k = ir_stop_if(f, id, fi);
        if (k >= 0 && quiet_outside(f, b, f->v.p[fi].x->reg[0]))
            return k;
    }
    return -1;
}

/* A FOR: the CARRYs start at the initial values; after each iteration
 * they take the yields (all at once); the RESULTs are their final values. */
static void run_for(Interp *I, const Region *r, int at)
{
    const Fn *f = I->f;
    Ref id = r->ids.p[at];
    const Inst *in = &f->v.p[id];
    const Region *b = in->x->reg[0];
    size_t total = 0;
    for (int j = 0; j < in->nix; j++)
        total += (size_t)ty_size(f->v.p[in->x->list[j]].ty);
    double *next = malloc(sizeof(double) * (total + 1));
    long *nextent = I->rec ? malloc(sizeof(long) * (total + 1)) : NULL;
    if (!next || (I->rec && !nextent))
        BUG("interpreter: out of memory");
    long lo = aff_eval(I, in->x->ix[0]), hi = aff_eval(I, in->x->ix[1]);
    for (int j = 0; j < in->nix; j++) {
        memcpy(I->val[ir_carry(f, id, j)], I->val[in->x->list[j]],
               sizeof(double) * (size_t)ty_size(f->v.p[in->x->list[j]].ty));
        rec_carry(I, ir_carry(f, id, j), rec_ent_or_null(I, in->x->list[j]), hi > lo);
    }
    double *iv = I->val[b->ids.p[0]];
    int k = stop_flag(f, id);
    for (long t = 0; t < hi - lo; t++) {
        iv[0] = (double)(in->flags & IF_BACKWARDS ? hi - 1 - t : lo + t);
        run_region(I, b);
        size_t off = 0;
        for (int j = 0; j < in->nix; j++) {
            size_t n = (size_t)ty_size(f->v.p[in->x->list[j]].ty);
            memcpy(next + off, I->val[b->yield.p[j]], sizeof(double) * n);
            if (nextent)
                memcpy(nextent + off, rec_ent(I->rec, b->yield.p[j]), sizeof(long) * n);
            off += n;
        }
        /* a while loop that has stopped, or a recording past its limit */
        int stop = (k >= 0 && I->val[b->yield.p[k]][0] == 0) || (I->rec && I->rec->over);
        off = 0;
        for (int j = 0; j < in->nix; j++) {
            size_t n = (size_t)ty_size(f->v.p[in->x->list[j]].ty);
            memcpy(I->val[ir_carry(f, id, j)], next + off, sizeof(double) * n);
            rec_carry(I, ir_carry(f, id, j), nextent ? nextent + off : NULL,
                      !stop && t + 1 < hi - lo);
            off += n;
        }
        if (stop)
            break;
    }
    for (int q = 0; q < ir_nresults(f, r, at); q++) {
        Ref res = r->ids.p[at + 1 + q];
        memcpy(I->val[res], I->val[ir_carry(f, id, f->v.p[res].n)],
               sizeof(double) * (size_t)ty_size(f->v.p[res].ty));
        rec_copies(I, res, ir_carry(f, id, f->v.p[res].n));
    }
    free(next);
    free(nextent);
}

/* Recording an ACC into element off of its buffer: the element's new
 * entry (not shown) adds, or stores, the operand's. */
static void rec_acc(Interp *I, const Inst *in, long off)
{
    long *ent = rec_ent(I->rec, in->arg[0]);
    long e = rec_new(I->rec, in->arg[0], I->val[in->arg[0]][off], 0);
    if (!(in->flags & IF_STORE))
        rec_edge(I->rec, e, ent[off], 1);
    rec_edge(I->rec, e, rec_ent(I->rec, in->arg[1])[0], 1);
    ent[off] = e;
}

/* The decision of a piecewise scalar op, if it is one. */
static void trace_op(Interp *I, Op op, const double *x)
{
    switch (op) {
    case OP_SELECT: decide(I, x[0] != 0); break;
    case OP_MAX:
    case OP_MIN: decide(I, x[0] < x[1] ? 0 : x[0] > x[1] ? 1 : 2); break;
    case OP_RELU:
    case OP_ABS:
    case OP_SIGN: decide(I, x[0] < 0 ? 0 : x[0] > 0 ? 1 : 2); break;
    default: break;
    }
}

/* The array and index instructions: an element, an index as a real, a
 * literal, a fresh buffer, an accumulation into one. */
static void run_data(Interp *I, Ref id)
{
    const Fn *f = I->f;
    const Inst *in = &f->v.p[id];
    double *y = I->val[id];
    switch (in->op) {
    case OP_IDX: {
        long off = offset(I, f->v.p[in->arg[0]].ty, in->x->ix, in->nix);
        y[0] = I->val[in->arg[0]][off];
        if (I->rec)
            rec_copy(I, id, 0, rec_ent(I->rec, in->arg[0])[off], 1);
        break;
    }
    case OP_IREAL:
        y[0] = (double)aff_eval(I, in->x->ix[0]);
        if (I->rec)
            rec_copy(I, id, 0, -1, 1);
        break;
    case OP_LIT:
        for (int j = 0; j < in->nix; j++) {
            y[j] = I->val[in->x->list[j]][0];
            if (I->rec)
                rec_copy(I, id, j, rec_ent(I->rec, in->x->list[j])[0], 1);
        }
        break;
    case OP_ZEROS:
        /* a buffer left uninitialised (IF_NOINIT: stores write it before
         * anything reads it) starts as NaNs, so a read before its
         * store shows */
        for (long long j = 0; j < ty_size(in->ty); j++) {
            y[j] = in->flags & IF_NOINIT ? NAN : 0.0;
            if (I->rec)
                rec_copy(I, id, (long)j, -1, 1);
        }
        break;
    case OP_ACC: {
        long off = offset(I, f->v.p[in->arg[0]].ty, in->x->ix, in->nix);
        double *b = I->val[in->arg[0]] + off;
        double v = I->val[in->arg[1]][0];
        *b = in->flags & IF_STORE ? v : in->flags & IF_SUB ? *b - v : *b + v;
        if (I->rec)
            rec_acc(I, in, off);
        break;
    }
    default: break;
    }
}

static void run_region(Interp *I, const Region *r)
{
    const Fn *f = I->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        double *y = I->val[id];
        switch (in->op) {
        case OP_PARAM:
            memcpy(y, I->in[in->n], sizeof(double) * (size_t)ty_size(in->ty));
            for (long long j = 0; I->rec && j < ty_size(in->ty); j++)
                rec_ent(I->rec, id)[j] = rec_new(I->rec, id, y[j], 1);
            break;
        case OP_IF: {
            int side = I->val[in->arg[0]][0] != 0 ? 0 : 1;
            const Region *b = in->x->reg[side];
            decide(I, (unsigned)side);
            run_region(I, b);
            /* the results follow the IF */
            for (int j = i + 1; j < r->ids.n; j++) {
                const Inst *res = &f->v.p[r->ids.p[j]];
                if (res->op != OP_RESULT || res->arg[0] != id)
                    break;
                Ref src = b->yield.p[res->n];
                memcpy(I->val[r->ids.p[j]], I->val[src],
                       sizeof(double) * (size_t)ty_size(res->ty));
                rec_copies(I, r->ids.p[j], src);
            }
            break;
        }
        case OP_RESULT:
        case OP_IVAR:
            break; /* set by their IF, GEN, RED or LOOP */
        case OP_GEN:
        case OP_RED:
        case OP_LOOP:
            run_loop(I, r, i);
            break;
        case OP_FOR:
            run_for(I, r, i);
            break;
        case OP_CARRY:
            break; /* set by its FOR */
        case OP_IDX:
        case OP_IREAL:
        case OP_LIT:
        case OP_ZEROS:
        case OP_ACC:
            run_data(I, id);
            break;
        default: {
            double x[3] = {0, 0, 0};
            for (int k = 0; k < op_info[in->op].nargs; k++)
                x[k] = I->val[in->arg[k]][0];
            y[0] = ir_eval_scalar((Op)in->op, x, in->op == OP_POWI ? in->n : in->x->num);
            if (I->rec)
                rec_scalar(I->rec, f, id, x, y[0]);
            if (I->tr)
                trace_op(I, (Op)in->op, x);
            break;
        }
        }
    }
}

int ir_interp(const Fn *f, const double *const *in, double *const *out)
{
    return ir_interp_record(f, in, out, NULL);
}

int ir_interp_record(const Fn *f, const double *const *in, double *const *out, Rec *R)
{
    Interp I = {f, NULL, in, pending.buf, pending.cap, 0, R};
    size_t *trn = pending.n;
    pending.buf = NULL;
    pending.n = NULL;
    size_t total = 0;
    for (int i = 0; i < f->v.n; i++)
        total += (size_t)ty_size(f->v.p[i].ty);
    double *store = calloc(total + 1, sizeof(double));
    I.val = malloc(sizeof(double *) * (size_t)(f->v.n + 1));
    if (!store || !I.val)
        BUG("interpreter: out of memory");
    size_t at = 0;
    for (int i = 0; i < f->v.n; i++) {
        I.val[i] = store + at;
        at += (size_t)ty_size(f->v.p[i].ty);
    }
    run_region(&I, f->body);
    if (trn)
        *trn = I.trn;
    for (int i = 0; i < f->out.n; i++)
        memcpy(out[i], I.val[f->out.p[i].ref],
               sizeof(double) * (size_t)ty_size(f->out.p[i].ty));
    free(store);
    free(I.val);
    return 0;
}
