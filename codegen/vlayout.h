/*
 * vlayout.h - a layered drawing of a small directed graph (vlayout.c),
 * for the page of --emit=html.
 */
#ifndef DX_VLAYOUT_H
#define DX_VLAYOUT_H

#include "codegen.h"

typedef struct {
    /* in */
    int n;              /* nodes, numbered in a topological order: an edge
                           from a higher to a lower number runs backwards
                           (a loop's "next") and does not set layers */
    const double *w;    /* each node's width; every node is `h` high */
    double h;
    const int *cl;      /* each node's innermost group (a loop's box), or -1 */
    const int *cparent; /* each group's enclosing group, or -1 */
    int ncl;
    int ne;
    const int *from, *to;
    /* out */
    int *layer;
    double *x, *y;      /* each node's top-left corner */
    double width, height;
} VLayout;

/* Lays out g: longest-path layers, a barycentre ordering sweep that keeps
 * each group's nodes side by side within a layer, then coordinates.
 * The outputs are arena_alloc'ed. */
void view_layout(Arena *A, VLayout *g);

#endif
