/*
 * ctext.h - the C generator's growable strings, and the writes of its
 * text (ctext.c grows and frees the strings).
 */
#ifndef CTEXT_H
#define CTEXT_H

#include <stddef.h>
#include <string.h>

/* A growable string: from malloc (the caller frees p), or, when map_from
 * is set (0: never), from the pool of huge pages once it holds 32 KB and a
 * mapping of its own once its capacity reaches map_from (dx_buf_resize);
 * `kind` says which (DX_BUF_*), and cg_str_free frees any. */
typedef struct {
    char *p;
    size_t n, cap;
    size_t map_from;
    unsigned char kind;
} Str;

/* Room for n more bytes and the terminating 0. */
void cg_str_reserve(Str *s, size_t n);

/* The writes of text, inline: most of their strings are literals, whose
 * lengths the compiler then knows (no strlen) and whose copies become a
 * few moves (the C of a large program is a few million such pieces). */
static inline void cg_put(Str *s, const char *t, size_t n)
{
    if (s->n + n + 1 > s->cap)
        cg_str_reserve(s, n);
    memcpy(s->p + s->n, t, n);
    s->n += n;
    s->p[s->n] = 0;
}

static inline void cg_puts(Str *s, const char *t)
{
    cg_put(s, t, strlen(t));
}

/* a, b and c, one after the other: what the commonest formats of cg_putf
 * write (" + ", "x = ", "exp("), without parsing a format. */
static inline void cg_put3(Str *s, const char *a, const char *b, const char *c)
{
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
    if (s->n + na + nb + nc + 1 > s->cap)
        cg_str_reserve(s, na + nb + nc);
    memcpy(s->p + s->n, a, na);
    memcpy(s->p + s->n + na, b, nb);
    memcpy(s->p + s->n + na + nb, c, nc);
    s->n += na + nb + nc;
    s->p[s->n] = 0;
}

/* Frees s's text, from malloc or mapped; s is empty after. */
void cg_str_free(Str *s);

#endif
