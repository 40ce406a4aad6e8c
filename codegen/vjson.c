/*
 * vjson.c - --emit=json: the view of every function as JSON, the
 * interface other tools read (docs/json.md describes it; keys are only
 * ever added).
 *
 * Always valid JSON: a number that is not finite is written null, and a
 * string escapes quotes, backslashes, control and non-ASCII bytes.
 * Values, gradients and adjoints appear only with --at.  An array, or a
 * node that ran more than once (in a loop body), has a flat list of
 * values in the order they were computed; a scalar that ran once, a
 * number; a node that never ran (a branch not taken), null.
 */
#include "view.h"

#include <math.h>

static void str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void num(FILE *out, double x)
{
    if (!isfinite(x))
        fputs("null", out);
    else
        fprintf(out, "%.17g", x);
}

/* n values: one number when `one`, else a list; null without values. */
static void values(FILE *out, const double *v, long n, int one)
{
    if (!v || n == 0) {
        fputs("null", out);
        return;
    }
    if (one && n == 1) {
        num(out, v[0]);
        return;
    }
    fputc('[', out);
    for (long i = 0; i < n; i++) {
        if (i)
            fputs(", ", out);
        num(out, v[i]);
    }
    fputc(']', out);
}

static void shape(FILE *out, Type ty)
{
    fputc('[', out);
    for (int d = 0; d < ty.rank; d++)
        fprintf(out, "%s%d", d ? ", " : "", (int)ty_dim(ty, d));
    fputc(']', out);
}

static void params(const View *v, FILE *out)
{
    fputs("      \"params\": [", out);
    for (int i = 0; i < v->nparams; i++) {
        const VParam *p = &v->params[i];
        fputs(i ? ",\n        {\"name\": " : "\n        {\"name\": ", out);
        str(out, p->name);
        fputs(", \"shape\": ", out);
        shape(out, p->ty);
        fprintf(out, ", \"data\": %s, \"node\": %d", p->data ? "true" : "false", p->node);
        if (v->at) {
            fputs(", \"value\": ", out);
            values(out, p->val, (long)ty_size(p->ty), p->ty.rank == 0);
            if (v->scalar && !p->data) {
                fputs(", \"grad\": ", out);
                values(out, p->grad, (long)ty_size(p->ty), p->ty.rank == 0);
            }
        }
        fputc('}', out);
    }
    fputs("\n      ],\n", out);
}

static void node(const View *v, int i, FILE *out)
{
    const VNode *n = &v->nodes[i];
    fprintf(out, "        {\"id\": %d, \"op\": ", i);
    str(out, n->op);
    fputs(", \"name\": ", out);
    str(out, n->name);
    fputs(", \"var\": ", out);
    str(out, n->var);
    fputs(", \"label\": ", out);
    str(out, n->label);
    fputs(", \"expr\": ", out);
    str(out, n->expr);
    fprintf(out, ", \"line\": %d, \"shape\": ", n->line);
    shape(out, n->ty);
    fprintf(out, ", \"cluster\": %d, \"active\": %s, \"inputs\": [", n->cluster,
            n->active ? "true" : "false");
    int first = 1;
    for (int e = 0; e < v->nedges; e++)
        if (v->edges[e].to == i) {
            fprintf(out, "%s%d", first ? "" : ", ", v->edges[e].from);
            first = 0;
        }
    fputc(']', out);
    if (v->at) {
        long size = (long)ty_size(n->ty);
        fprintf(out, ", \"runs\": %ld, \"value\": ", size ? n->nval / size : 0);
        values(out, n->val, n->nval, n->ty.rank == 0);
        if (v->scalar && n->active) {
            fputs(", \"adjoint\": ", out);
            values(out, n->adj, n->nval, n->ty.rank == 0);
        }
    }
    fputc('}', out);
}

static void edges(const View *v, FILE *out)
{
    fputs("      \"edges\": [", out);
    for (int i = 0; i < v->nedges; i++) {
        const VEdge *e = &v->edges[i];
        fprintf(out, "%s\n        {\"from\": %d, \"to\": %d, \"kind\": ", i ? "," : "", e->from, e->to);
        str(out, e->kind ? e->kind : "operand");
        fputs(", \"d\": ", out);
        str(out, e->d);
        if (e->has_dval) {
            fputs(", \"d_value\": ", out);
            num(out, e->dval);
        }
        fputc('}', out);
    }
    fputs(v->nedges ? "\n      ],\n" : "],\n", out);
}

static void clusters(const View *v, FILE *out)
{
    fputs("      \"clusters\": [", out);
    for (int i = 0; i < v->nclusters; i++) {
        const VCluster *c = &v->clusters[i];
        fprintf(out, "%s\n        {\"id\": %d, \"kind\": ", i ? "," : "", i);
        str(out, c->kind);
        fputs(", \"label\": ", out);
        str(out, c->label);
        fprintf(out, ", \"parent\": %d, \"line\": %d", c->parent, c->line);
        if (v->at)
            fprintf(out, ", \"runs\": %ld", c->runs);
        fputc('}', out);
    }
    fputs(v->nclusters ? "\n      ]\n" : "]\n", out);
}

static void function(const View *v, FILE *out)
{
    fputs("    {\n      \"name\": ", out);
    str(out, v->f->src_name ? v->f->src_name : v->f->name);
    fprintf(out, ",\n      \"line\": %d,\n", v->f->line);
    params(v, out);
    fputs("      \"result\": {\"shape\": ", out);
    shape(out, v->f->out.p[0].ty);
    fprintf(out, ", \"node\": %d},\n", v->result);
    if (v->at) {
        fputs("      \"value\": ", out);
        values(out, v->value, (long)ty_size(v->f->out.p[0].ty), v->scalar);
        fputs(",\n", out);
    }
    fputs("      \"nodes\": [\n", out);
    for (int i = 0; i < v->nnodes; i++) {
        node(v, i, out);
        fputs(i + 1 < v->nnodes ? ",\n" : "\n", out);
    }
    fputs("      ],\n", out);
    edges(v, out);
    clusters(v, out);
    fputs("    }", out);
}

void cg_json(Arena *A, View *const *vs, int n, FILE *out)
{
    (void)A;
    fputs("{\n  \"dx\": ", out);
    str(out, DX_VERSION);
    fputs(",\n  \"functions\": [\n", out);
    for (int i = 0; i < n; i++) {
        function(vs[i], out);
        fputs(i + 1 < n ? ",\n" : "\n", out);
    }
    fputs("  ]\n}\n", out);
}
