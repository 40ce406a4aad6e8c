/*
 * record.c - every value of a function at a point, and the adjoint of
 * each (ir_record): what the learning views show with --at.
 *
 * The interpreter runs the function once with a Rec (wengert.h) and
 * writes a Wengert list: one entry per value computed, in the order
 * computed, with edges to its operands' entries weighted by the local
 * derivatives of rules.c, evaluated at the point (ir_partial_value).
 * Reverse mode is then one backward sweep over the list (Griewank and
 * Walther, "Evaluating Derivatives", 2nd ed., SIAM 2008, section 3.2):
 * the result's entry gets adjoint 1 and each entry, last to first, adds
 * adjoint * derivative into its operands' entries.  An entry whose
 * adjoint is exactly 0 passes nothing on (so an infinite derivative
 * where nothing flows makes no NaN, as the language asks of f_grad).
 *
 * This is a second, dynamic reverse mode beside the compiled one (ad.c),
 * sharing only the rules: the tests compare the two.  It records every
 * value, so it is meant for one point of a model, not for training; a
 * run of more than REC_MAX values is refused.  The list itself is
 * wengert.c's; the interpreter writes it.
 */
#include "wengert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The backward sweep: adj[e] = d result / d entry e; *over: a product or
 * sum of finite numbers on the way overflowed (then a NaN may follow
 * where two infinities of opposite signs meet). */
static double *sweep(const Rec *R, long seed, int *over)
{
    double *adj = calloc((size_t)R->n + 1, sizeof(double));
    if (!adj)
        BUG("recorder: out of memory");
    if (seed < 0)
        return adj;
    adj[seed] = 1;
    for (long i = seed; i >= 0; i--) {
        const Ent *x = &R->e[i];
        if (adj[i] == 0)
            continue;
        for (int k = 0; k < x->nedge; k++)
            if (x->d[k] != 0) {
                double *to = &adj[x->from[k]], sum = *to + adj[i] * x->d[k];
                *over |= isfinite(adj[i]) && isfinite(x->d[k]) && isfinite(*to) && !isfinite(sum);
                *to = sum;
            }
    }
    return adj;
}

/* Each instruction's shown entries, in order, into tr. */
static void histories(Arena *A, const Rec *R, const double *adj, IrTrace *tr)
{
    for (long i = 0; i < R->n; i++)
        if (R->e[i].shown)
            tr[R->e[i].id].n++;
    for (int id = 0; id < R->f->v.n; id++) {
        tr[id].val = arena_alloc(A, sizeof(double) * (size_t)(tr[id].n + 1));
        if (adj)
            tr[id].adj = arena_alloc(A, sizeof(double) * (size_t)(tr[id].n + 1));
        tr[id].n = 0;
    }
    for (long i = 0; i < R->n; i++) {
        const Ent *x = &R->e[i];
        if (!x->shown)
            continue;
        IrTrace *t = &tr[x->id];
        t->val[t->n] = x->val;
        if (adj)
            t->adj[t->n] = adj[i];
        t->n++;
    }
}

/* d out / d parameter, from the entries of the PARAM instructions. */
static double **grads(Arena *A, const Fn *f, const Rec *R, const double *adj)
{
    double **g = arena_alloc(A, sizeof(double *) * (size_t)(f->in.n + 1));
    for (int i = 0; i < f->in.n; i++)
        g[i] = arena_alloc(A, sizeof(double) * (size_t)(ty_size(f->in.p[i].ty) + 1));
    for (int id = 0; id < f->v.n; id++) {
        const Inst *in = &f->v.p[id];
        if (in->op != OP_PARAM)
            continue;
        for (long long j = 0; j < ty_size(in->ty); j++)
            if (R->ent[id][j] >= 0)
                g[in->n][j] += adj[R->ent[id][j]];
    }
    return g;
}

IrRecord *ir_record(Arena *A, const Fn *f, const double *const *in, int adjoints)
{
    Rec R = {f, NULL, 0, 0, 0, NULL};
    size_t total = 0;
    for (int i = 0; i < f->v.n; i++)
        total += (size_t)ty_size(f->v.p[i].ty);
    long *store = malloc(sizeof(long) * (total + 1));
    R.ent = malloc(sizeof(long *) * (size_t)(f->v.n + 1));
    if (!store || !R.ent)
        BUG("recorder: out of memory");
    for (size_t i = 0; i < total; i++)
        store[i] = -1;
    size_t at = 0;
    for (int i = 0; i < f->v.n; i++) {
        R.ent[i] = store + at;
        at += (size_t)ty_size(f->v.p[i].ty);
    }
    IrRecord *rec = arena_alloc(A, sizeof *rec);
    rec->out = arena_alloc(A, sizeof(double *) * (size_t)(f->out.n + 1));
    for (int i = 0; i < f->out.n; i++)
        rec->out[i] = arena_alloc(A, sizeof(double) * (size_t)(ty_size(f->out.p[i].ty) + 1));
    ir_interp_record(f, in, rec->out, &R);
    rec->too_big = R.over;
    if (!R.over) {
        Ref res = f->out.p[0].ref;
        int scalar = adjoints && f->out.p[0].ty.rank == 0;
        double *adj = scalar ? sweep(&R, R.ent[res][0], &rec->adj_over) : NULL;
        rec->tr = arena_alloc(A, sizeof(IrTrace) * (size_t)(f->v.n + 1));
        histories(A, &R, adj, rec->tr);
        rec->grad = adj ? grads(A, f, &R, adj) : NULL;
        free(adj);
    }
    free(R.e);
    free(store);
    free(R.ent);
    return rec;
}
