/*
 * wengert.c - the Wengert list of a recorded run (wengert.h): entries,
 * each a value with edges to the entries it was computed from, weighted
 * by local derivatives.  The interpreter appends to it (interp.c, with a
 * Rec); ir_record (record.c) sweeps it.
 */
#include "wengert.h"

#include <stdlib.h>

long *rec_ent(Rec *R, Ref id)
{
    return R->ent[id];
}

long rec_new(Rec *R, Ref id, double v, int shown)
{
    if (R->n == R->cap) {
        if (R->cap >= REC_MAX) {
            R->over = 1;
            return -1;
        }
        R->cap = R->cap ? 2 * R->cap : 1024;
        Ent *p = realloc(R->e, sizeof(Ent) * (size_t)R->cap);
        if (!p)
            BUG("recorder: out of memory");
        R->e = p;
    }
    Ent *x = &R->e[R->n];
    x->id = id;
    x->shown = (uint8_t)shown;
    x->nedge = 0;
    x->val = v;
    return R->n++;
}

void rec_edge(Rec *R, long e, long from, double d)
{
    if (e < 0 || from < 0)
        return;
    Ent *x = &R->e[e];
    if (x->nedge == 3)
        BUG("recorder: more than three operands");
    x->from[x->nedge] = from;
    x->d[x->nedge++] = d;
}

void rec_scalar(Rec *R, const Fn *f, Ref id, const double *x, double y)
{
    const Inst *in = &f->v.p[id];
    long e = rec_new(R, id, y, 1);
    R->ent[id][0] = e;
    if (e < 0 || !rule_has((Op)in->op))
        return;
    for (int k = 0; k < op_info[in->op].nargs; k++) {
        long from = R->ent[in->arg[k]][0];
        if (from >= 0)
            rec_edge(R, e, from, ir_partial_value(in, x, y, k));
    }
}

