/*
 * ctext.c - growing and freeing the C generator's strings (ctext.h).
 */
#include "ctext.h"

#include "dx.h"

#include <stdlib.h>

/* Room for n more bytes and the NUL (cg_put checks first: growing is
 * rare, and the check is most of what a short cg_put costs). */
void cg_str_reserve(Str *s, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t c = s->cap ? s->cap : 256;
        while (s->n + n + 1 > c)
            c *= 2;
        char *q = s->map_from && c >= s->map_from ? dx_text_map(s->mapped ? s->p : NULL, s->cap, c) : NULL;
        if (q && !s->mapped && s->p) { /* from malloc to a mapping */
            memcpy(q, s->p, s->n + 1);
            free(s->p);
        }
        if (q)
            s->mapped = 1;
        else if (s->mapped)
            BUG("out of memory");
        else
            q = realloc(s->p, c);
        if (!q)
            BUG("out of memory");
        s->p = q;
        s->cap = c;
    }
}

void cg_str_free(Str *s)
{
    if (s->mapped)
        dx_text_unmap(s->p, s->cap);
    else
        free(s->p);
    s->p = NULL;
    s->n = s->cap = 0;
    s->mapped = 0;
}
