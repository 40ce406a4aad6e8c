/*
 * vlayout.c - a layered graph drawing in the manner of Sugiyama, Tagawa
 * and Toda ("Methods for visual understanding of hierarchical system
 * structures", 1981), small enough to run inside the compiler so that
 * the page of --emit=html needs no Graphviz:
 *
 *   1. layers by longest path from the sources, over the edges that run
 *      forwards in the given topological numbering; a source is then
 *      pulled down to just above its first user (a constant sits next to
 *      the operation that reads it, not at the top);
 *   2. an ordering within each layer by the barycentre heuristic, sweeping
 *      down (the mean position of a node's predecessors) and up (of its
 *      successors) a few times; the sort compares groups before nodes, so
 *      the nodes of one loop stay side by side and its box can be drawn
 *      around them;
 *   3. coordinates: each layer centred, a wider gap where a group begins
 *      or ends (room for the box's edge).
 *
 * No dummy nodes are added for edges that span layers: the graphs are a
 * function's operations, mostly short edges, drawn as curves.
 */
#include "vlayout.h"

#include <stdlib.h>
#include <string.h>

enum { SWEEPS = 6 };

#define GAP_X 24.0
#define GAP_Y 46.0
#define GROUP_GAP 14.0

typedef struct {
    VLayout *g;
    int depth;          /* the deepest group nesting */
    int *chain;         /* node i's groups, outermost first: depth per node */
    int *nchain;
    double *bc;         /* each node's barycentre in the current sweep */
    double *gsum;       /* per group: the sum and count of its nodes' bc */
    int *gcnt;
} Ord;

/* 1: longest-path layers, then sources pulled down to their first user. */
static void layers(VLayout *g)
{
    for (int i = 0; i < g->n; i++)
        g->layer[i] = 0;
    for (int i = 0; i < g->n; i++)
        for (int e = 0; e < g->ne; e++)
            if (g->to[e] == i && g->from[e] < i && g->layer[g->from[e]] + 1 > g->layer[i])
                g->layer[i] = g->layer[g->from[e]] + 1;
    for (int i = g->n - 1; i >= 0; i--) {
        int in = 0, low = -1;
        for (int e = 0; e < g->ne; e++) {
            if (g->to[e] == i && g->from[e] < i)
                in = 1;
            if (g->from[e] == i && g->to[e] > i && (low < 0 || g->layer[g->to[e]] < low))
                low = g->layer[g->to[e]];
        }
        if (!in && low > 0)
            g->layer[i] = low - 1;
    }
}

/* The group of node i at nesting level d, or -1 past its innermost. */
static int group_at(const Ord *o, int i, int d)
{
    return d < o->nchain[i] ? o->chain[i * o->depth + d] : -1;
}

/* Whether node a goes left of node b in their layer: at the first level
 * where their groups differ, the group (or node) of lower barycentre. */
static int before(const Ord *o, int a, int b)
{
    for (int d = 0; d <= o->depth; d++) {
        int ga = group_at(o, a, d), gb = group_at(o, b, d);
        if (ga == gb && ga >= 0)
            continue;
        double ka = ga >= 0 ? o->gsum[ga] / o->gcnt[ga] : o->bc[a];
        double kb = gb >= 0 ? o->gsum[gb] / o->gcnt[gb] : o->bc[b];
        if (ka != kb)
            return ka < kb;
        int ia = ga >= 0 ? o->g->n + ga : a, ib = gb >= 0 ? o->g->n + gb : b;
        return ia < ib;
    }
    return a < b;
}

/* Sorts the nodes of one layer (row[0..k)) by `before`: insertion sort,
 * stable and deterministic (layers are short). */
static void sort_row(Ord *o, int *row, int k)
{
    VLayout *g = o->g;
    memset(o->gsum, 0, sizeof *o->gsum * (size_t)(g->ncl + 1));
    memset(o->gcnt, 0, sizeof *o->gcnt * (size_t)(g->ncl + 1));
    for (int j = 0; j < k; j++)
        for (int d = 0; d < o->nchain[row[j]]; d++) {
            o->gsum[group_at(o, row[j], d)] += o->bc[row[j]];
            o->gcnt[group_at(o, row[j], d)]++;
        }
    for (int j = 1; j < k; j++) {
        int x = row[j], m = j;
        while (m > 0 && before(o, x, row[m - 1])) {
            row[m] = row[m - 1];
            m--;
        }
        row[m] = x;
    }
}

/* The groups of every node, outermost first. */
static void chains(Arena *A, Ord *o)
{
    VLayout *g = o->g;
    o->depth = 1;
    for (int c = 0; c < g->ncl; c++) {
        int d = 1;
        for (int p = g->cparent[c]; p >= 0; p = g->cparent[p])
            d++;
        if (d > o->depth)
            o->depth = d;
    }
    o->chain = arena_alloc(A, sizeof(int) * (size_t)(g->n * o->depth + 1));
    o->nchain = arena_alloc(A, sizeof(int) * (size_t)(g->n + 1));
    for (int i = 0; i < g->n; i++) {
        int k = 0;
        for (int c = g->cl[i]; c >= 0; c = g->cparent[c])
            k++;
        o->nchain[i] = k;
        for (int c = g->cl[i]; c >= 0; c = g->cparent[c])
            o->chain[i * o->depth + --k] = c;
    }
}

/* 2: the order within each layer; pos[i] is node i's place, centred on
 * 0 so layers of different widths compare. */
static void order(Ord *o, int nl, int **rows, int *rlen, double *pos)
{
    VLayout *g = o->g;
    for (int s = 0; s < SWEEPS; s++) {
        int down = s % 2 == 0;
        for (int li = 0; li < nl; li++) {
            int l = down ? li : nl - 1 - li;
            for (int j = 0; j < rlen[l]; j++) {
                int i = rows[l][j];
                double sum = 0;
                int cnt = 0;
                for (int e = 0; e < g->ne; e++) {
                    int other = down ? g->from[e] : g->to[e], self = down ? g->to[e] : g->from[e];
                    if (self == i && g->layer[other] != l && (g->layer[other] < l) == down) {
                        sum += pos[other];
                        cnt++;
                    }
                }
                o->bc[i] = cnt ? sum / cnt : pos[i];
            }
            sort_row(o, rows[l], rlen[l]);
            for (int j = 0; j < rlen[l]; j++)
                pos[rows[l][j]] = j - (rlen[l] - 1) / 2.0;
        }
    }
}

/* 3: coordinates, each layer centred on the widest. */
static void place(VLayout *g, int nl, int **rows, int *rlen)
{
    double *lw = calloc((size_t)nl + 1, sizeof *lw);
    if (!lw)
        BUG("layout: out of memory");
    g->width = 0;
    for (int l = 0; l < nl; l++) {
        double x = 0;
        for (int j = 0; j < rlen[l]; j++) {
            int i = rows[l][j];
            if (j)
                x += GAP_X + (g->cl[i] != g->cl[rows[l][j - 1]] ? 2 * GROUP_GAP : 0);
            g->x[i] = x;
            x += g->w[i];
        }
        lw[l] = x;
        if (x > g->width)
            g->width = x;
    }
    for (int i = 0; i < g->n; i++) {
        g->x[i] += (g->width - lw[g->layer[i]]) / 2;
        g->y[i] = g->layer[i] * (g->h + GAP_Y);
    }
    g->height = nl ? nl * (g->h + GAP_Y) - GAP_Y : 0;
    free(lw);
}

void view_layout(Arena *A, VLayout *g)
{
    int n = g->n;
    g->layer = arena_alloc(A, sizeof(int) * (size_t)(n + 1));
    g->x = arena_alloc(A, sizeof(double) * (size_t)(n + 1));
    g->y = arena_alloc(A, sizeof(double) * (size_t)(n + 1));
    layers(g);
    int nl = 0;
    for (int i = 0; i < n; i++)
        if (g->layer[i] + 1 > nl)
            nl = g->layer[i] + 1;
    int **rows = arena_alloc(A, sizeof(int *) * (size_t)(nl + 1));
    int *rlen = arena_alloc(A, sizeof(int) * (size_t)(nl + 1));
    for (int l = 0; l < nl; l++)
        rows[l] = arena_alloc(A, sizeof(int) * (size_t)(n + 1));
    double *pos = arena_alloc(A, sizeof(double) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) { /* first: in numbering order */
        int l = g->layer[i];
        rows[l][rlen[l]++] = i;
    }
    for (int l = 0; l < nl; l++)
        for (int j = 0; j < rlen[l]; j++)
            pos[rows[l][j]] = j - (rlen[l] - 1) / 2.0;
    Ord o = {g, 0, NULL, NULL, arena_alloc(A, sizeof(double) * (size_t)(n + 1)),
             arena_alloc(A, sizeof(double) * (size_t)(g->ncl + 1)),
             arena_alloc(A, sizeof(int) * (size_t)(g->ncl + 1))};
    chains(A, &o);
    order(&o, nl, rows, rlen, pos);
    place(g, nl, rows, rlen);
}
