/*
 * vgraph.c - --emit=dot and --emit=mermaid: the forward and the backward
 * graph of every function in one picture, for Graphviz and for Mermaid.
 *
 * Both notations draw the same picture, built first as a list of boxes
 * and arrows (Pic) from the View:
 *
 *   - a box per node: "s = a + b", its op, and with --at its value;
 *     parameters, data parameters, constants and the result each in
 *     their own colour and shape;
 *   - an adjoint box x_bar (dashed, red) beside every active node x,
 *     with --at its adjoint;
 *   - an arrow x -> y per edge, labelled with the local derivative
 *     ("dsquare/dx = 2*x = 6"), or with its kind ("init", "next",
 *     "sum") for the edges a loop or branch makes;
 *   - for every such arrow with a derivative between active nodes, a
 *     red dashed arrow y_bar -> x_bar labelled with what it carries
 *     ("square_bar * 2*x = 6");
 *   - a box around each function, and one around each loop and branch
 *     (nested as they are), drawn once: a loop's body values are listed
 *     run by run, never unrolled.
 *
 * The forward graph flows left to right; Graphviz draws the backward
 * arrows with dir=back so that each x_bar stays level with x and the
 * adjoints flow right to left beneath.  Labels are escaped for each
 * notation (DOT strings; Mermaid's "..." labels with #code; entities),
 * so no name or value can break the syntax.
 */
#include "view.h"
#include "cgen.h"

#include <stdlib.h>
#include <string.h>

enum { FIRST = 4 };

enum { G_OP, G_CONST, G_PARAM, G_DATA, G_RESULT, G_CARRY, G_ADJ };

typedef struct {
    const char *id, *label;
    int kind, cluster, array;
} GNode;

typedef struct {
    const char *from, *to, *label;
    int back;   /* an adjoint's arrow (drawn against the layout's flow) */
    int loose;  /* a carried value's "next": no rank constraint */
} GEdge;

typedef struct {
    const View *v;
    const char *pre, *title;
    GNode *n;
    int nn;
    GEdge *e;
    int ne;
} Pic;

/* ---------------- the picture, notation aside ---------------- */

/* What node n (or its adjoint, adj) held: "= 3", "20 runs: 1, 2, ...". */
static const char *shown(Arena *A, const VNode *n, const double *v)
{
    long size = (long)ty_size(n->ty);
    if (!v || n->nval == 0)
        return "(not computed)";
    if (n->nval == size)
        return arena_printf(A, "= %s", view_summary(A, v, n->nval, n->ty, FIRST));
    const char *s = view_summary(A, v, n->nval, (Type){0}, FIRST);
    const char *c = strchr(s, ':');
    return arena_printf(A, "%ld runs:%s", n->nval / size, c ? c + 1 : s);
}

static const char *shorten(Arena *A, const char *s)
{
    return strlen(s) <= 40 ? s : arena_printf(A, "%.37s...", s);
}

static int node_kind(const View *v, int i)
{
    const VNode *n = &v->nodes[i];
    if (i == v->result)
        return G_RESULT;
    if (n->param >= 0)
        return v->params[n->param].data ? G_DATA : G_PARAM;
    if (!strcmp(n->op, "const"))
        return G_CONST;
    return !strcmp(n->op, "carry") ? G_CARRY : G_OP;
}

/* "s = a + b\nadd\n= 5": the node's name and expression, what it is
 * ("carried: 0, then h of the step before" for a loop's h[t]), and with
 * --at its value. */
static const char *node_label(Arena *A, const View *v, int i)
{
    const VNode *n = &v->nodes[i];
    int kind = node_kind(v, i);
    const char *head = n->label, *what = n->op;
    if (kind == G_PARAM || kind == G_DATA)
        what = kind == G_DATA ? "data" : "parameter";
    else if (kind == G_CARRY)
        what = arena_printf(A, "carried: %s", shorten(A, n->expr));
    else if (kind != G_CONST && strcmp(n->expr, n->var))
        head = arena_printf(A, "%s = %s", n->var, shorten(A, n->expr));
    if (kind == G_RESULT)
        what = arena_printf(A, "%s, the result", what);
    const char *s = kind == G_CONST ? head : arena_printf(A, "%s\n%s", head, what);
    return v->at && kind != G_CONST ? arena_printf(A, "%s\n%s", s, shown(A, n, n->val)) : s;
}

static const char *adj_label(Arena *A, const View *v, int i)
{
    const VNode *n = &v->nodes[i];
    const char *s = arena_printf(A, "%s_bar", n->var);
    if (n->param >= 0)
        s = arena_printf(A, "%s = d%s/d%s", s, v->nodes[v->result].var, n->var);
    if (v->at && v->scalar)
        s = arena_printf(A, "%s\n%s", s, shown(A, n, n->adj));
    return s;
}

/* "dy/dx = 2*x = 6" for an operand; its kind ("init", "max: 1 where h
 * wins") for the edges loops and branches make. */
static const char *fwd_label(Arena *A, const View *v, const VEdge *e)
{
    const VNode *x = &v->nodes[e->from], *y = &v->nodes[e->to];
    if (e->kind)
        return e->d && strcmp(e->d, "1") ? arena_printf(A, "%s: %s", e->kind, e->d) : e->kind;
    if (!e->d)
        return "";
    const char *s = arena_printf(A, "d%s/d%s = %s", y->var, x->var, e->d);
    if (e->has_dval && strcmp(e->d, view_num(A, e->dval)))
        s = arena_printf(A, "%s = %s", s, view_num(A, e->dval));
    return s;
}

/* "y_bar * 2*x = 6": what the adjoint arrow of e carries. */
static const char *back_label(Arena *A, const View *v, const VEdge *e)
{
    const VNode *y = &v->nodes[e->to];
    const char *d = e->d;
    d = view_factor(A, d); /* "h_bar * (1 - h^2)" */
    const char *s = strcmp(d, "1") ? arena_printf(A, "%s_bar * %s", y->var, d)
                                   : arena_printf(A, "%s_bar", y->var);
    if (e->has_dval && y->adj && y->nval == 1)
        s = arena_printf(A, "%s = %s", s, view_num(A, y->adj[0] * e->dval));
    if (e->kind)
        s = arena_printf(A, "%s: %s", e->kind, s);
    return s;
}

static void add_node(Pic *p, Arena *A, const char *tag, int i, const char *label, int kind)
{
    const VNode *n = &p->v->nodes[i];
    GNode *g = &p->n[p->nn++];
    g->id = arena_printf(A, "%s%s%d", p->pre, tag, i);
    g->label = label;
    g->kind = kind;
    g->cluster = n->cluster;
    g->array = n->ty.rank > 0;
}

static void add_edge(Pic *p, Arena *A, const char *a, int from, const char *b, int to,
                     const char *label, int back, int loose)
{
    GEdge *g = &p->e[p->ne++];
    g->from = arena_printf(A, "%s%s%d", p->pre, a, from);
    g->to = arena_printf(A, "%s%s%d", p->pre, b, to);
    g->label = label;
    g->back = back;
    g->loose = loose;
}

/* "f(a = 2, b = 3, c = 4) = 20", or "f(a, b, c)" without a point. */
static const char *title(Arena *A, const View *v)
{
    Str s = {0};
    cg_putf(&s, "%s(", v->f->src_name ? v->f->src_name : v->f->name);
    for (int i = 0; i < v->nparams; i++) {
        const VParam *q = &v->params[i];
        cg_putf(&s, "%s%s", i ? ", " : "", q->name);
        if (v->at)
            cg_putf(&s, " = %s", view_summary(A, q->val, (long)ty_size(q->ty), q->ty, FIRST));
    }
    cg_puts(&s, ")");
    if (v->at)
        cg_putf(&s, " = %s", view_summary(A, v->value, (long)ty_size(v->f->out.p[0].ty),
                                         v->f->out.p[0].ty, FIRST));
    const char *t = arena_strdup(A, s.p);
    free(s.p);
    return t;
}

/* The picture of view v; its ids start with pre. */
static Pic picture(Arena *A, const View *v, const char *pre)
{
    Pic p = {v, pre, title(A, v), NULL, 0, NULL, 0};
    p.n = arena_alloc(A, sizeof *p.n * (size_t)(2 * v->nnodes + 1));
    p.e = arena_alloc(A, sizeof *p.e * (size_t)(2 * v->nedges + 1));
    for (int i = 0; i < v->nnodes; i++)
        add_node(&p, A, "n", i, node_label(A, v, i), node_kind(v, i));
    for (int i = 0; i < v->nnodes; i++)
        if (v->nodes[i].active)
            add_node(&p, A, "b", i, adj_label(A, v, i), G_ADJ);
    for (int k = 0; k < v->nedges; k++) {
        const VEdge *e = &v->edges[k];
        int loose = e->kind && !strcmp(e->kind, "next");
        add_edge(&p, A, "n", e->from, "n", e->to, fwd_label(A, v, e), 0, loose);
    }
    for (int k = v->nedges - 1; k >= 0; k--) {
        const VEdge *e = &v->edges[k];
        if (!e->d || !v->nodes[e->from].active || !v->nodes[e->to].active)
            continue;
        int loose = e->kind && !strcmp(e->kind, "next");
        add_edge(&p, A, "b", e->to, "b", e->from, back_label(A, v, e), 1, loose);
    }
    return p;
}

/* ---------------- Graphviz ---------------- */

/* A DOT string: quotes and backslashes escaped, a newline as \n. */
static void dot_str(const char *s, FILE *out)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", out);
        else
            fputc(*c < 0x20 ? ' ' : *c, out);
    }
    fputc('"', out);
}

static void dot_node(const GNode *g, FILE *out)
{
    static const char *const style[] = {
        [G_OP] = "shape=ellipse",
        [G_CONST] = "shape=plaintext",
        [G_PARAM] = "shape=box, style=filled, fillcolor=lightblue",
        [G_DATA] = "shape=box, style=\"filled,dotted\", fillcolor=gray92",
        [G_RESULT] = "shape=box, peripheries=2, style=filled, fillcolor=palegreen",
        [G_CARRY] = "shape=cds, style=filled, fillcolor=lightyellow",
        [G_ADJ] = "shape=box, style=\"dashed,rounded,filled\", color=firebrick, "
                  "fontcolor=firebrick, fillcolor=mistyrose",
    };
    fputs("    ", out);
    dot_str(g->id, out);
    fputs(" [label=", out);
    dot_str(g->label, out);
    fprintf(out, ", %s%s];\n", style[g->kind],
            g->array && (g->kind == G_OP || g->kind == G_CARRY) ? ", shape=box3d" : "");
}

/* Cluster c of p (-1: the function) with its nodes and inner clusters. */
static void dot_cluster(Arena *A, const Pic *p, int c, FILE *out)
{
    const View *v = p->v;
    fputs("  subgraph ", out);
    dot_str(c < 0 ? arena_printf(A, "cluster_%sfn", p->pre)
                  : arena_printf(A, "cluster_%sc%d", p->pre, c), out);
    fputs(" {\n    label=", out);
    dot_str(c < 0 ? p->title : v->clusters[c].label, out);
    if (c < 0)
        fputs(";\n    style=rounded; color=gray40;\n", out);
    else if (!strcmp(v->clusters[c].kind, "then") || !strcmp(v->clusters[c].kind, "else"))
        fputs(";\n    style=dashed; color=gray40;\n", out);
    else
        fputs(";\n    style=\"rounded,filled\"; fillcolor=ivory; color=goldenrod;\n", out);
    for (int i = 0; i < p->nn; i++)
        if (p->n[i].cluster == c)
            dot_node(&p->n[i], out);
    for (int k = 0; k < v->nclusters; k++)
        if (v->clusters[k].parent == c)
            dot_cluster(A, p, k, out);
    fputs("  }\n", out);
}

static void dot_edge(const GEdge *g, FILE *out)
{
    fputs("  ", out);
    /* An adjoint's arrow y_bar -> x_bar is laid out as x_bar -> y_bar
     * with its head at x_bar (dir=back), level with x -> y. */
    dot_str(g->back ? g->to : g->from, out);
    fputs(" -> ", out);
    dot_str(g->back ? g->from : g->to, out);
    fputs(" [label=", out);
    dot_str(g->label, out);
    if (g->back)
        fputs(", dir=back, style=dashed, color=firebrick, fontcolor=firebrick", out);
    if (g->loose)
        fputs(", constraint=false", out);
    fputs("];\n", out);
}

void cg_dot(Arena *A, View *const *vs, int n, FILE *out)
{
    fputs("digraph dx {\n  rankdir=LR;\n  newrank=true;\n", out);
    fputs("  node [fontname=\"Helvetica\", fontsize=11];\n", out);
    fputs("  edge [fontname=\"Helvetica\", fontsize=10];\n", out);
    for (int k = 0; k < n; k++) {
        Pic p = picture(A, vs[k], arena_printf(A, "f%d_", k));
        dot_cluster(A, &p, -1, out);
        for (int i = 0; i < p.ne; i++)
            dot_edge(&p.e[i], out);
    }
    fputs("}\n", out);
}

/* ---------------- Mermaid ---------------- */

/* A Mermaid "..." label: every character that means something to
 * Mermaid or to the HTML it makes is written as an entity code (#quot;,
 * #35; as its documentation shows), a newline as <br>. */
static void mm_str(const char *s, FILE *out)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '\n')
            fputs("<br>", out);
        else if (*c == '"')
            fputs("#quot;", out);
        else if (strchr("#<>&|`;$", *c))
            fprintf(out, "#%d;", *c);
        else
            fputc(*c < 0x20 ? ' ' : *c, out);
    }
    fputc('"', out);
}

static void mm_node(const GNode *g, FILE *out)
{
    static const char *const cls[] = {
        [G_OP] = "op", [G_CONST] = "const", [G_PARAM] = "param", [G_DATA] = "data",
        [G_RESULT] = "result", [G_CARRY] = "carry", [G_ADJ] = "adj",
    };
    static const char *const open[] = {
        [G_OP] = "(", [G_CONST] = "([", [G_PARAM] = "[", [G_DATA] = "[/",
        [G_RESULT] = "[[", [G_CARRY] = "[\\", [G_ADJ] = "[",
    };
    static const char *const close[] = {
        [G_OP] = ")", [G_CONST] = "])", [G_PARAM] = "]", [G_DATA] = "/]",
        [G_RESULT] = "]]", [G_CARRY] = "\\]", [G_ADJ] = "]",
    };
    fprintf(out, "    %s%s", g->id, open[g->kind]);
    mm_str(g->label, out);
    fprintf(out, "%s:::%s\n", close[g->kind], cls[g->kind]);
}

static void mm_cluster(const Pic *p, int c, FILE *out)
{
    const View *v = p->v;
    fprintf(out, "  subgraph %s%s", p->pre, c < 0 ? "fn" : "");
    if (c >= 0)
        fprintf(out, "c%d", c);
    fputc('[', out);
    mm_str(c < 0 ? p->title : v->clusters[c].label, out);
    fputs("]\n", out);
    for (int i = 0; i < p->nn; i++)
        if (p->n[i].cluster == c)
            mm_node(&p->n[i], out);
    for (int k = 0; k < v->nclusters; k++)
        if (v->clusters[k].parent == c)
            mm_cluster(p, k, out);
    fputs("  end\n", out);
}

/* The edges of p: forward ones solid, adjoint ones dotted; the
 * numbers of the adjoint ones (Mermaid's linkStyle counts every arrow
 * of the chart, from 0) appended to back. */
static int mm_edges(const Pic *p, int first, Str *back, FILE *out)
{
    for (int i = 0; i < p->ne; i++) {
        const GEdge *g = &p->e[i];
        fprintf(out, "  %s %s", g->from, g->back ? "-.->" : "-->");
        if (*g->label) {
            fputc('|', out);
            mm_str(g->label, out);
            fputc('|', out);
        }
        fprintf(out, " %s\n", g->to);
        if (g->back)
            cg_putf(back, "%s%d", back->p && back->p[0] ? "," : "", first + i);
    }
    return first + p->ne;
}

void cg_mermaid(Arena *A, View *const *vs, int n, FILE *out)
{
    fputs("flowchart LR\n", out);
    Str back = {0};
    int nedges = 0;
    for (int k = 0; k < n; k++) {
        Pic p = picture(A, vs[k], arena_printf(A, "f%d_", k));
        mm_cluster(&p, -1, out);
        nedges = mm_edges(&p, nedges, &back, out);
    }
    fputs("  classDef op fill:#ffffff,stroke:#555555\n"
          "  classDef const fill:#f4f4f4,stroke:#999999\n"
          "  classDef param fill:#add8e6,stroke:#2f6f8f\n"
          "  classDef data fill:#ebebeb,stroke:#777777,stroke-dasharray:2 2\n"
          "  classDef result fill:#98fb98,stroke:#2e8b57,stroke-width:2px\n"
          "  classDef carry fill:#ffffe0,stroke:#b8860b\n"
          "  classDef adj fill:#ffe4e1,stroke:#b22222,color:#b22222,stroke-dasharray:5 3\n",
          out);
    if (back.p)
        fprintf(out, "  linkStyle %s stroke:#b22222,color:#b22222\n", back.p);
    free(back.p);
}
