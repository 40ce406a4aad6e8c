/*
 * vpending.c - the page view while it is being written: it says so and
 * writes nothing.  This file goes when it lands.
 */
#include "view.h"

void cg_html(Arena *A, const Program *p, const CgOpts *o, View *const *vs, int n, FILE *out)
{
    (void)A, (void)p, (void)o, (void)vs, (void)n, (void)out;
    diag_plain("--emit=html is not built yet");
}
