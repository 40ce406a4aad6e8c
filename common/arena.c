/*
 * arena.c - bump allocator, one per compilation.  Blocks are chained and
 * freed together by arena_free().
 */
#include "dx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Block {
    struct Block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} Block;

struct Arena {
    Block *head;
};

enum { BLOCK_SIZE = 1 << 16 };

Arena *arena_new(void)
{
    Arena *a = calloc(1, sizeof *a);
    if (!a) {
        fputs("dxc: error: out of memory\n", stderr);
        exit(1);
    }
    return a;
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    for (Block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

/* n bytes, n a multiple of 16, not cleared. */
static void *alloc_raw(Arena *a, size_t n)
{
    Block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        b = malloc(sizeof *b + size);
        if (!b) {
            fputs("dxc: error: out of memory\n", stderr);
            exit(1);
        }
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void *arena_alloc(Arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    void *p = alloc_raw(a, n);
    memset(p, 0, n);
    return p;
}

/* The copied part is not cleared first: growing vectors (vec_push) is
 * much of the compiler's allocation. */
void *arena_grow(Arena *a, void *p, size_t old, size_t n)
{
    if (!p || !old)
        return arena_alloc(a, n);
    size_t keep = old < n ? old : n;
    n = (n + 15) & ~(size_t)15;
    char *q = alloc_raw(a, n);
    memcpy(q, p, keep);
    memset(q + keep, 0, n - keep);
    return q;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

unsigned dx_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}
