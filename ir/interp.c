/*
 * interp.c - evaluates an IR function directly.  The tests run it after
 * lowering, after each AD pass and after each clean-up pass: all must
 * agree with each other and with the compiled C.
 *
 * Every value gets ty_size() doubles of storage, so the same loop serves
 * scalars now and arrays later.  Values of a branch not taken are never
 * read (the IR's visibility rule guarantees it).
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const Fn *f;
    double **val;
    const double *const *in;
} Interp;

static void run_region(Interp *I, const Region *r)
{
    const Fn *f = I->f;
    for (int i = 0; i < r->ids.n; i++) {
        Ref id = r->ids.p[i];
        const Inst *in = &f->v.p[id];
        double *y = I->val[id];
        switch (in->op) {
        case OP_PARAM:
            memcpy(y, I->in[(int)in->k], sizeof(double) * (size_t)ty_size(in->ty));
            break;
        case OP_IF: {
            int side = I->val[in->arg[0]][0] != 0 ? 0 : 1;
            const Region *b = in->reg[side];
            run_region(I, b);
            /* the results follow the IF */
            for (int j = i + 1; j < r->ids.n; j++) {
                const Inst *res = &f->v.p[r->ids.p[j]];
                if (res->op != OP_RESULT || res->arg[0] != id)
                    break;
                Ref src = b->yield.p[(int)res->k];
                memcpy(I->val[r->ids.p[j]], I->val[src],
                       sizeof(double) * (size_t)ty_size(res->ty));
            }
            break;
        }
        case OP_RESULT:
            break; /* set by its IF */
        default: {
            double x[3] = {0, 0, 0};
            for (int k = 0; k < op_info[in->op].nargs; k++)
                x[k] = I->val[in->arg[k]][0];
            y[0] = ir_eval_scalar((Op)in->op, x, in->k);
            break;
        }
        }
    }
}

int ir_interp(const Fn *f, const double *const *in, double *const *out)
{
    Interp I = {f, NULL, in};
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
    for (int i = 0; i < f->out.n; i++)
        memcpy(out[i], I.val[f->out.p[i].ref],
               sizeof(double) * (size_t)ty_size(f->out.p[i].ty));
    free(store);
    free(I.val);
    return 0;
}
