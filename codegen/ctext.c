/*
 * ctext.c - growing and freeing the C generator's strings (ctext.h).
 */
#include "ctext.h"

#include "dx.h"

#include <stdlib.h>

/* Room for n more bytes and the NUL (cg_put checks first: growing is
 * rare, and the check is most of what a short cg_put costs).  A string
 * that may be mapped (map_from, a function's body) takes its room from
 * 32 KB on from the pool of huge pages (dx_pool_get), and from map_from
 * on a mapping of its own; in pieces from malloc, the text of a function
 * below map_from was faulted in 4 KB at a time, a third of the faults of
 * a program of 20 000 statements. */
void cg_str_reserve(Str *s, size_t n)
{
    if (s->n + n + 1 <= s->cap)
        return;
    size_t c = s->cap ? s->cap : 256;
    while (s->n + n + 1 > c)
        c *= 2;
    char *q = NULL;
    int to = TEXT_MALLOC, fresh;
    if (s->map_from && c >= s->map_from) {
        q = dx_text_map(s->mapped == TEXT_MAPPED ? s->p : NULL, s->cap, c);
        to = TEXT_MAPPED;
    } else if (s->map_from && c >= DX_POOL_MIN) {
        size_t got;
        if ((q = dx_pool_get(c, &got, &fresh)) != NULL) {
            c = got;
            to = TEXT_POOLED;
        }
    }
    if (!q && s->mapped == TEXT_MAPPED)
        BUG("out of memory");
    if (!q) {
        if (s->mapped == TEXT_POOLED) { /* the pool ran out: malloc */
            if ((q = malloc(c)) != NULL)
                memcpy(q, s->p, s->n + 1);
            dx_pool_put(s->p, s->cap);
        } else {
            q = realloc(s->p, c);
        }
    } else if (s->p && (to != TEXT_MAPPED || s->mapped != TEXT_MAPPED)) { /* moved */
        memcpy(q, s->p, s->n + 1);
        if (s->mapped == TEXT_POOLED)
            dx_pool_put(s->p, s->cap);
        else
            free(s->p);
    }
    if (!q)
        BUG("out of memory");
    s->p = q;
    s->cap = c;
    s->mapped = (unsigned char)to;
}

void cg_str_free(Str *s)
{
    if (s->mapped == TEXT_MAPPED)
        dx_text_unmap(s->p, s->cap);
    else if (s->mapped == TEXT_POOLED)
        dx_pool_put(s->p, s->cap);
    else
        free(s->p);
    s->p = NULL;
    s->n = s->cap = 0;
    s->mapped = 0;
}
