/*
 * vsvg.c - the computational graph of a view as inline SVG, for the
 * page of --emit=html (cg_html_svg, see vhtml.h).
 *
 * One picture holds both passes: the forward nodes in run order, then
 * an adjoint node x_bar for every active node, in reverse order, joined
 * to the result by the seed edge "1".  That numbering is topological
 * (a forward edge runs from a lower to a higher number, a backward edge
 * y_bar -> x_bar too), except for a loop's "next" edge, which vlayout.c
 * draws against the layers.  A loop or branch is one box around the
 * nodes of its body, once for each pass: the graph is never unrolled.
 */
#include "vhtml.h"
#include "vlayout.h"
#include "cgen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NODE_H 34.0
#define MARGIN 44.0
#define PAD 8.0
#define LABEL_H 14.0
#define CHAR_W 7.2
#define GAP_PASS 80.0
#define WIDE 640.0 /* wider graphs scroll rather than shrink */

typedef struct {
    const View *v;
    int k;
    int n;              /* picture nodes */
    int *vn;            /* picture node -> view node */
    int *bar;           /* picture node is an adjoint */
    int *adj;           /* view node -> its adjoint's picture node, or -1 */
    int ne, *from, *to, *edge; /* picture edges; edge: view edge, -1 the seed */
    double *w;
    int *cl, *cp, ncl;  /* each node's box, each box's parent */
    double *x, *y;      /* each node's top-left corner, from 0 */
    int *layer;
    double width, height;
} Pic;

/* ---------------- text, shared with the page ---------------- */

void cg_html_esc(FILE *out, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; c && *c; c++)
        switch (*c) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            if (*c < 0x20 && *c != '\n' && *c != '\t')
                fputs("\xef\xbf\xbd", out); /* U+FFFD */
            else
                fputc(*c, out);
        }
}

double cg_html_norm(const double *v, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

const char *cg_html_short(Arena *A, const VNode *n, const double *v)
{
    long size = (long)ty_size(n->ty);
    if (!v || n->nval == 0)
        return "";
    if (n->nval == 1)
        return view_num(A, v[0]);
    Str s = {0};
    if (n->nval > size)
        cg_putf(&s, "%ld runs, ", size ? n->nval / size : 0);
    if (n->ty.rank) {
        cg_puts(&s, "[");
        for (int d = 0; d < n->ty.rank; d++)
            cg_putf(&s, "%s%d", d ? "," : "", (int)ty_dim(n->ty, d));
        cg_putf(&s, "] |v|=%s", view_num(A, cg_html_norm(v, n->nval)));
    } else
        cg_putf(&s, "last %s", view_num(A, v[n->nval - 1]));
    const char *t = arena_strdup(A, s.p);
    free(s.p);
    return t;
}

static const char *node_id(Arena *A, const Pic *p, int i)
{
    return arena_printf(A, "g%d%c%d", p->k, p->bar[i] ? 'b' : 'n', p->vn[i]);
}

static const char *node_label(Arena *A, const Pic *p, int i)
{
    const VNode *n = &p->v->nodes[p->vn[i]];
    return p->bar[i] ? arena_printf(A, "%s_bar", n->var) : n->label;
}

/* The nodes and edges of both passes, and each node's width. */
static void build(Arena *A, Pic *p)
{
    const View *v = p->v;
    int nn = v->nnodes, cap = 2 * nn + 1, ecap = 2 * v->nedges + 2;
    p->vn = arena_alloc(A, sizeof(int) * (size_t)cap);
    p->bar = arena_alloc(A, sizeof(int) * (size_t)cap);
    p->adj = arena_alloc(A, sizeof(int) * (size_t)cap);
    p->from = arena_alloc(A, sizeof(int) * (size_t)ecap);
    p->to = arena_alloc(A, sizeof(int) * (size_t)ecap);
    p->edge = arena_alloc(A, sizeof(int) * (size_t)ecap);
    for (int i = 0; i < nn; i++) {
        p->vn[p->n++] = i;
        p->adj[i] = -1;
    }
    for (int i = nn - 1; i >= 0; i--)
        if (v->nodes[i].active) {
            p->adj[i] = p->n;
            p->bar[p->n] = 1;
            p->vn[p->n++] = i;
        }
    for (int e = 0; e < v->nedges; e++) {
        p->from[p->ne] = v->edges[e].from, p->to[p->ne] = v->edges[e].to;
        p->edge[p->ne++] = e;
    }
    if (v->result >= 0 && p->adj[v->result] >= 0) {
        p->from[p->ne] = v->result, p->to[p->ne] = p->adj[v->result];
        p->edge[p->ne++] = -1;
    }
    for (int e = 0; e < v->nedges; e++) {
        const VEdge *x = &v->edges[e];
        if (x->d && p->adj[x->from] >= 0 && p->adj[x->to] >= 0) {
            p->from[p->ne] = p->adj[x->to], p->to[p->ne] = p->adj[x->from];
            p->edge[p->ne++] = e;
        }
    }
    p->w = arena_alloc(A, sizeof(double) * (size_t)cap);
    for (int i = 0; i < p->n; i++) {
        const VNode *n = &v->nodes[p->vn[i]];
        size_t len = strlen(node_label(A, p, i));
        size_t vl = strlen(cg_html_short(A, n, p->bar[i] ? n->adj : n->val));
        p->w[i] = (double)(len > vl ? len : vl) * CHAR_W + 16;
        if (p->w[i] < 56)
            p->w[i] = 56;
    }
}

/* Lays the picture out: the forward graph by view_layout, each adjoint
 * beside its node at the same height, in a copy of the forward graph
 * to its right (the backward pass's boxes are groups of their own). */
static void lay(Arena *A, Pic *p)
{
    const View *v = p->v;
    int nc = v->nclusters, nn = v->nnodes, nf = 0;
    p->cl = arena_alloc(A, sizeof(int) * (size_t)(p->n + 1));
    p->cp = arena_alloc(A, sizeof(int) * (size_t)(2 * nc + 1));
    p->ncl = 2 * nc;
    for (int i = 0; i < p->n; i++) {
        int c = v->nodes[p->vn[i]].cluster;
        p->cl[i] = c >= 0 && p->bar[i] ? c + nc : c;
    }
    for (int c = 0; c < nc; c++) {
        p->cp[c] = v->clusters[c].parent;
        p->cp[c + nc] = p->cp[c] >= 0 ? p->cp[c] + nc : -1;
    }
    while (nf < p->ne && !p->bar[p->to[nf]]) /* the forward edges come first */
        nf++;
    VLayout g = {.n = nn, .w = p->w, .h = NODE_H, .cl = p->cl, .cparent = p->cp, .ncl = nc,
                 .ne = nf, .from = p->from, .to = p->to};
    view_layout(A, &g);
    p->x = arena_alloc(A, sizeof(double) * (size_t)(p->n + 1));
    p->y = arena_alloc(A, sizeof(double) * (size_t)(p->n + 1));
    p->layer = arena_alloc(A, sizeof(int) * (size_t)(p->n + 1));
    int back = p->n > nn;
    for (int i = 0; i < p->n; i++) {
        int j = p->vn[i];
        p->x[i] = g.x[j] + (p->bar[i] ? g.width + GAP_PASS : 0);
        p->y[i] = g.y[j];
        p->layer[i] = g.layer[j];
    }
    p->width = back ? 2 * g.width + GAP_PASS : g.width;
    p->height = g.height;
}

/* The boxes of the loops and branches, outer ones first (drawn below). */
static void boxes(Arena *A, const Pic *p, FILE *out)
{
    const View *v = p->v;
    int nc = p->ncl;
    double *b = arena_alloc(A, sizeof(double) * 4 * (size_t)(nc + 1));
    for (int c = 0; c < nc; c++)
        b[4 * c] = b[4 * c + 1] = 1e300, b[4 * c + 2] = b[4 * c + 3] = -1e300;
    for (int i = 0; i < p->n; i++) {
        int k = 0;
        for (int c = p->cl[i]; c >= 0; c = p->cp[c], k++) {
            double m = PAD * (k + 1), top = (PAD + LABEL_H) * (k + 1);
            double x0 = p->x[i] - m, y0 = p->y[i] - top;
            double x1 = p->x[i] + p->w[i] + m, y1 = p->y[i] + NODE_H + m;
            b[4 * c] = x0 < b[4 * c] ? x0 : b[4 * c];
            b[4 * c + 1] = y0 < b[4 * c + 1] ? y0 : b[4 * c + 1];
            b[4 * c + 2] = x1 > b[4 * c + 2] ? x1 : b[4 * c + 2];
            b[4 * c + 3] = y1 > b[4 * c + 3] ? y1 : b[4 * c + 3];
        }
    }
    for (int c = 0; c < nc; c++) {
        if (b[4 * c] > b[4 * c + 2])
            continue; /* an empty body */
        const VCluster *vc = &v->clusters[c % v->nclusters];
        fprintf(out, "<g class=\"box\" data-line=\"%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                     "height=\"%.1f\" rx=\"8\"/><text x=\"%.1f\" y=\"%.1f\">",
                vc->line, b[4 * c] + MARGIN, b[4 * c + 1] + MARGIN, b[4 * c + 2] - b[4 * c],
                b[4 * c + 3] - b[4 * c + 1], b[4 * c] + MARGIN + 6, b[4 * c + 1] + MARGIN + 12);
        cg_html_esc(out, vc->label);
        fputs(c >= v->nclusters ? " (backward)</text></g>\n" : "</text></g>\n", out);
    }
}

/* What an edge says: its derivative, or its kind where that is 1. */
static const char *edge_text(const Pic *p, int e)
{
    if (p->edge[e] < 0)
        return "seed 1";
    const VEdge *x = &p->v->edges[p->edge[e]];
    if (x->kind && (!x->d || !strcmp(x->d, "1")))
        return x->kind;
    return x->d ? x->d : "";
}

/* Point t of the cubic Bezier curve c[0..8) (four x, y pairs). */
static void bezier(const double *c, double t, double *x, double *y)
{
    double u = 1 - t, k[4] = {u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t};
    *x = *y = 0;
    for (int i = 0; i < 4; i++)
        *x += k[i] * c[2 * i], *y += k[i] * c[2 * i + 1];
}

/* The curve of edge e: down or up between layers, across for the seed,
 * else around the side (a loop's "next"; left of the forward graph,
 * right of the backward one). */
static void route(const Pic *p, int e, double *c)
{
    int a = p->from[e], b = p->to[e], la = p->layer[a], lb = p->layer[b];
    double ax = p->x[a] + MARGIN, ay = p->y[a] + MARGIN, bx = p->x[b] + MARGIN, by = p->y[b] + MARGIN;
    double wa = p->w[a], wb = p->w[b];
    if (p->edge[e] < 0) {
        double c0[8] = {ax + wa, ay + NODE_H / 2, 0, 0, 0, 0, bx, by + NODE_H / 2};
        memcpy(c, c0, sizeof c0);
    } else if (lb != la && (lb > la) == !p->bar[b]) {
        double y1 = lb > la ? ay + NODE_H : ay, y2 = lb > la ? by : by + NODE_H;
        double c0[8] = {ax + wa / 2, y1, 0, 0, 0, 0, bx + wb / 2, y2};
        memcpy(c, c0, sizeof c0);
    } else {
        int right = p->bar[b];
        double x1 = right ? ax + wa : ax, x2 = right ? bx + wb : bx;
        double side = right ? (x1 > x2 ? x1 : x2) + 40 : (x1 < x2 ? x1 : x2) - 40;
        double c0[8] = {x1, ay + NODE_H / 2, side, ay + NODE_H / 2, side, by + NODE_H / 2, x2, by + NODE_H / 2};
        memcpy(c, c0, sizeof c0);
        return;
    }
    double dx = (c[6] - c[0]) / 2, dy = (c[7] - c[1]) / 2;
    int across = p->edge[e] < 0;
    c[2] = c[0] + (across ? dx : 0), c[3] = c[1] + (across ? 0 : dy);
    c[4] = c[6] - (across ? dx : 0), c[5] = c[7] - (across ? 0 : dy);
}

static void edge(const Pic *p, int e, FILE *out)
{
    double c[8], lx, ly;
    route(p, e, c);
    int b = p->to[e];
    fprintf(out, "<path class=\"%s\" marker-end=\"url(#ar%d)\" d=\"M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f %.1f\"/>",
            p->bar[b] ? "eb" : "ef", p->k, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
    bezier(c, p->edge[e] < 0 ? 0.5 : 0.4, &lx, &ly);
    const char *t = edge_text(p, e);
    if (*t && (!p->bar[b] || p->edge[e] < 0)) {
        fprintf(out, "<text class=\"el\" x=\"%.1f\" y=\"%.1f\">", lx, ly + (p->edge[e] < 0 ? -5 : 4));
        cg_html_esc(out, t);
        fputs("</text>", out);
    }
    fputc('\n', out);
}

static void node(Arena *A, const Pic *p, int i, FILE *out)
{
    const VNode *n = &p->v->nodes[p->vn[i]];
    const char *id = node_id(A, p, i), *lab = node_label(A, p, i);
    double x = p->x[i] + MARGIN, y = p->y[i] + MARGIN;
    fprintf(out, "<g class=\"nd%s%s\" id=\"%s\" data-line=\"%d\" data-var=\"", p->bar[i] ? " bar" : "",
            n->active ? " act" : "", id, n->line);
    cg_html_esc(out, lab);
    fputs("\" tabindex=\"0\" role=\"button\" aria-label=\"", out);
    cg_html_esc(out, p->bar[i]        ? arena_printf(A, "adjoint %s", lab)
                     : n->param >= 0 ? arena_printf(A, "parameter %s", n->var)
                                     : arena_printf(A, "%s = %s", n->var, n->expr));
    fprintf(out, n->line ? ", line %d\">" : "\">", n->line);
    fputs("<title>", out);
    cg_html_esc(out, p->bar[i]        ? arena_printf(A, "%s_bar: d result / d %s", n->var, n->var)
                     : n->param >= 0 ? arena_printf(A, "parameter %s", n->var)
                                     : arena_printf(A, "%s = %s", n->var, n->expr));
    fprintf(out, "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"%d\"/>", x, y,
            p->w[i], NODE_H, p->bar[i] ? 2 : 10);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + p->w[i] / 2, y + 14);
    cg_html_esc(out, lab);
    fprintf(out, "</text><text class=\"nv\" id=\"%sv\" x=\"%.1f\" y=\"%.1f\"></text></g>\n", id,
            x + p->w[i] / 2, y + 28);
}

void cg_html_svg(Arena *A, const View *v, int k, FILE *out)
{
    Pic p = {.v = v, .k = k};
    build(A, &p);
    lay(A, &p);
    double W = p.width + 2 * MARGIN + 20, H = p.height + 2 * MARGIN;
    fprintf(out, "<svg class=\"graph%s\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
                 "role=\"group\" aria-label=\"computational graph of ",
            W > WIDE ? " wide" : "", W, H, W, H);
    cg_html_esc(out, v->f->src_name);
    fprintf(out, "\">\n<defs><marker id=\"ar%d\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
                 "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\"/>"
                 "</marker></defs>\n",
            k);
    boxes(A, &p, out);
    for (int e = 0; e < p.ne; e++)
        edge(&p, e, out);
    for (int i = 0; i < p.n; i++)
        node(A, &p, i, out);
    fputs("</svg>\n", out);
}
