/*
 * ctext.c - growing and freeing the C generator's strings (ctext.h).
 */
#include "ctext.h"

#include "dx.h"

#include <stdlib.h>

/* Room for n more bytes and the NUL (cg_put checks first: growing is
 * rare, and the check is most of what a short cg_put costs); a body's
 * text (map_from) grows in the pool's blocks and then a mapping of its
 * own (dx_buf_resize). */
void cg_str_reserve(Str *s, size_t n)
{
    if (s->n + n + 1 <= s->cap)
        return;
    size_t c = s->cap ? s->cap : 256;
    while (s->n + n + 1 > c)
        c *= 2;
    char *q = dx_buf_resize(s->p, s->n + 1, &s->cap, c, &s->kind, s->map_from);
    if (!q)
        BUG("out of memory");
    s->p = q;
}

void cg_str_free(Str *s)
{
    dx_buf_free(s->p, s->cap, s->kind);
    s->p = NULL;
    s->n = s->cap = 0;
    s->kind = DX_BUF_MALLOC;
}
