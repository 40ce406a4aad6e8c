/*
 * vpending.c - the graph and page views while they are being written:
 * each says so and writes nothing; --emit=dot is still dot.c's
 * (cg_dot_ir).  This file goes when they land.
 */
#include "view.h"

void cg_dot(Arena *A, View *const *vs, int n, FILE *out)
{
    (void)A, (void)vs, (void)n, (void)out;
}

void cg_mermaid(Arena *A, View *const *vs, int n, FILE *out)
{
    (void)A, (void)vs, (void)n, (void)out;
    diag_plain("--emit=mermaid is not built yet");
}
