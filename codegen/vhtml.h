/*
 * vhtml.h - the parts of the page of --emit=html (vhtml.c writes the
 * page; vsvg.c its graphs and the text helpers both use).
 */
#ifndef DX_VHTML_H
#define DX_VHTML_H

#include "view.h"

/* s escaped for HTML text and attribute values (& < > " '). */
void cg_html_esc(FILE *out, const char *s);
/* The 2-norm of v[0..n). */
double cg_html_norm(const double *v, long n);
/* What a graph node shows of its values (v: n's values or adjoints):
 * "9", "[128] |v|=3.2", "10 runs, last 0.5"; "" without values. */
const char *cg_html_short(Arena *A, const VNode *n, const double *v);
/* The graph of view k as inline SVG: forward nodes, an x_bar node for
 * each active one, edges labelled with their local derivatives, and a
 * box per loop or branch (drawn once for the forward and once for the
 * backward pass).  Node k,i has id "gKnI" (its adjoint "gKbI"), its
 * value text the id with "v" added; every element of source line N has
 * data-line="N". */
void cg_html_svg(Arena *A, const View *v, int k, FILE *out);

#endif
