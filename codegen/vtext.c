/*
 * vtext.c - what `dxc model.dx --at x=3` prints: the function at a
 * point, its forward pass value by value, its backward pass adjoint by
 * adjoint with the chain-rule step each takes, and the gradient.
 *
 *   square(x = 3) = 9
 *
 *   forward pass, in the order it computes:
 *     line 2  y = x^2                          9
 *
 *   backward pass, from dy/dy = 1 (x_bar is dy/dx):
 *     line 2  x_bar += y_bar * 2*x = 1 * 6     6
 *
 *   gradient:
 *     dy/dx = 6
 *
 * An array shows its shape, its first elements and its norm; a value in
 * a loop body, what it held at each iteration.
 */
#include "view.h"
#include "cgen.h"

#include <stdlib.h>
#include <string.h>

enum { FIRST = 6 };

static void header(Arena *A, const View *v, FILE *out)
{
    fprintf(out, "%s(", v->f->src_name);
    for (int i = 0; i < v->nparams; i++) {
        const VParam *p = &v->params[i];
        fprintf(out, "%s%s = %s", i ? ", " : "", p->name,
                view_summary(A, p->val, (long)ty_size(p->ty), p->ty, FIRST));
    }
    fprintf(out, ") = %s\n", view_summary(A, v->value, (long)ty_size(v->f->out.p[0].ty),
                                          v->f->out.p[0].ty, FIRST));
}

static void forward(Arena *A, const View *v, FILE *out)
{
    fputs("\nforward pass, in the order it computes:\n", out);
    for (int i = 0; i < v->nnodes; i++) {
        const VNode *n = &v->nodes[i];
        if (n->param >= 0 || !strcmp(n->op, "const"))
            continue;
        const char *what = arena_printf(A, "%s = %s", n->var, n->expr);
        fprintf(out, "  line %-3d %-30s  %s\n", n->line, what, view_values(A, n, n->val));
    }
}

/* The adjoint of node i: each of its uses adds to it (one line each). */
static void adjoint(Arena *A, const View *v, int i, FILE *out)
{
    const VNode *x = &v->nodes[i];
    for (int e = v->nedges - 1; e >= 0; e--) {
        const VEdge *ed = &v->edges[e];
        const VNode *y = &v->nodes[ed->to];
        if (ed->from != i || !ed->d || !y->active)
            continue;
        const char *step = view_step(A, v, ed);
        fprintf(out, "  line %-3d %s\n", y->line, step);
    }
    fprintf(out, "  %*s %s_bar = %s\n", 8, "", x->var, view_values(A, x, x->adj));
}

static void backward(Arena *A, const View *v, FILE *out)
{
    const char *r = v->nodes[v->result].var;
    fprintf(out, "\nbackward pass, from d%s/d%s = 1 (x_bar is d%s/dx):\n", r, r, r);
    fprintf(out, "  %*s %s_bar = 1\n", 8, "", v->nodes[v->result].var);
    for (int i = v->nnodes - 1; i >= 0; i--) {
        const VNode *n = &v->nodes[i];
        if (!n->active || i == v->result || !strcmp(n->op, "const"))
            continue;
        adjoint(A, v, i, out);
    }
}

static void gradient(Arena *A, const View *v, FILE *out)
{
    const char *r = v->nodes[v->result].var;
    fputs("\ngradient:\n", out);
    for (int i = 0; i < v->nparams; i++) {
        const VParam *p = &v->params[i];
        if (p->data)
            fprintf(out, "  %s is data: no gradient\n", p->name);
        else
            fprintf(out, "  d%s/d%s = %s\n", r, p->name,
                    view_summary(A, p->grad, (long)ty_size(p->ty), p->ty, FIRST));
    }
}

void cg_values(Arena *A, View *const *vs, int n, FILE *out)
{
    for (int k = 0; k < n; k++) {
        const View *v = vs[k];
        header(A, v, out);
        forward(A, v, out);
        if (!v->scalar) {
            fputs("\n(the result is an array: no single backward pass; f_vjp takes a seed)\n", out);
            continue;
        }
        backward(A, v, out);
        gradient(A, v, out);
    }
}
