/*
 * arena.c - bump allocator, one per compilation.  Small allocations share
 * 64 KB blocks, freed together by arena_free().  A large one (over BIG
 * bytes: a function's instruction array, a table sized by it) gets a block
 * of its own, so that memory need not grow with every pass that ran:
 *
 *   - arena_grow moves a large array into a new block and *retires* the
 *     old one, which stays readable until arena_collect frees it (the
 *     pipeline calls that between passes, when no pointer into an old
 *     copy can remain); past half a huge page the new block is a mapping
 *     with room, in which the array then grows in place;
 *   - arena_drop frees at once a large table its pass is done with;
 *   - arena_shrink gives back the unused end of a large array (the
 *     pipeline trims each function's instruction array between passes).
 *
 * Without these, every doubling of an instruction array and every
 * per-pass table lived until dxc ended, and memory grew with the number
 * of passes times the program's size.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE, mremap, pthread_getattr_np */
#endif
#include "dx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <pthread.h>
#include <sys/mman.h>
#endif

typedef struct Block {
    struct Block *next, *prev; /* prev: large blocks only */
    size_t used, size;         /* a large block: its data's bytes asked for (the most
                                  arena_grow ever gave, which wrote none past them) */
    unsigned magic;            /* BIG_MAGIC on a large block */
    int mapped;                /* FROM_MALLOC, FROM_MAP (map_huge) or FROM_POOL */
    _Alignas(16) unsigned char data[];
} Block;

struct Arena {
    int written;    /* arena_new_written: large blocks zeroed by memset */
    Block *head;    /* small allocations: the current block first */
    Block *big;     /* large allocations in use */
    Block *retired; /* large blocks arena_grow replaced */
    int nsmall;     /* blocks of small allocations made */
};

enum { BLOCK_SIZE = 1 << 16, BIG = BLOCK_SIZE / 4, SMALL_BLOCKS = 32 };
#define BIG_MAGIC 0x0d1a7b16u

static void oom(void)
{
    fputs("dxc: error: out of memory\n", stderr);
    exit(1);
}

Arena *arena_new(void)
{
    Arena *a = calloc(1, sizeof *a);
    if (!a)
        oom();
    return a;
}

Arena *arena_new_written(void)
{
    Arena *a = arena_new();
    a->written = 1;
    return a;
}

/* ---- huge blocks ----
 *
 * A block of HUGE_SIZE (2 MB) or more (a large function's instruction
 * array, the tables of a pass over it), and each block of small
 * allocations past an arena's first SMALL_BLOCKS, is mapped on its own,
 * aligned to 2 MB, and offered to the kernel's transparent huge pages
 * (madvise MADV_HUGEPAGE; Documentation/admin-guide/mm/transhuge.rst):
 * its first touch then faults in 2 MB at a time, not 4 KB.  Such tables
 * are written or copied whole as soon as they are made, so the faults of
 * small pages were half the compilation time of a large program on a
 * virtual machine, where a fault is dear.  Only whole 2 MB pages inside
 * a mapping become huge, so every mapping is a whole number of them: its
 * last one, partly used, faulted in 4 KB at a time, was a fifth of the
 * faults left at 200 000 statements (and costs at most 2 MB a block more
 * memory).  Elsewhere, and when mapping fails, malloc. */
#if defined(__linux__) && defined(MADV_HUGEPAGE)
enum { HUGE_PAGES = 1, HUGE_SIZE = 2 << 20 };

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/* The length of the mapping that holds n bytes: whole huge pages. */
static size_t map_len(size_t n)
{
    return round_up(n, HUGE_SIZE);
}

/* A mapping of its own of n bytes (zero) aligned to HUGE_SIZE, or NULL.
 * With room, address space only (MAP_NORESERVE): what it holds is room
 * for a growing array, and no page of it costs memory before it is
 * written. */
static Block *map_own(size_t n, int room)
{
    n = map_len(n);
    size_t span = n + HUGE_SIZE;
    unsigned char *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | (room ? MAP_NORESERVE : 0), -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    unsigned char *start = (unsigned char *)round_up((size_t)p, HUGE_SIZE);
    if (start > p)
        munmap(p, (size_t)(start - p));
    if (p + span > start + n)
        munmap(start + n, (size_t)(p + span - (start + n)));
    madvise(start, n, MADV_HUGEPAGE);
    return (Block *)start;
}

/* A mapping of n bytes, as map_own; one without room (a block of its
 * final size) from the warm region when it is on (dx_warm_take), its
 * pages maybe faulted in already. */
static Block *map_huge_as(size_t n, int room)
{
    Block *b = room ? NULL : dx_warm_take(map_len(n));
    return b ? b : map_own(n, room);
}

static Block *map_huge(size_t n)
{
    return map_huge_as(n, 0);
}

static void unmap_huge(Block *b)
{
    munmap(b, map_len(sizeof *b + b->size));
}

/* A mapping of n bytes from huge pages, or p (a mapping of old bytes)
 * grown to n, maybe moved, without a copy; NULL when it cannot be. */
static void *text_map(void *p, size_t old, size_t n)
{
    if (!p)
        return map_own(n, 0); /* not from the warm region: mremap grows it */
    void *q = mremap(p, map_len(old), map_len(n), MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}

static void text_unmap(void *p, size_t n)
{
    if (p)
        munmap(p, map_len(n));
}

/* Linux 6.1: the small pages already in a range made one huge page */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

void dx_stack_huge(void)
{
    pthread_attr_t attr;
    void *lo;
    size_t n;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &lo, &n) == 0 && n >= 4 * HUGE_SIZE) {
        /* the huge pages of the stack (hints: errors ignored), and the one
         * the thread runs in, whose first pages are in place already: the
         * stack grows into it, and would go on a small page at a time */
        unsigned char *from = (unsigned char *)round_up((size_t)lo, HUGE_SIZE);
        unsigned char *to = (unsigned char *)round_up((size_t)lo + n, HUGE_SIZE);
        unsigned char here, *at = (unsigned char *)((size_t)&here / HUGE_SIZE * HUGE_SIZE);
        madvise(from, (size_t)(to - from), MADV_HUGEPAGE);
        if (at >= from && at + HUGE_SIZE <= to)
            madvise(at, HUGE_SIZE, MADV_COLLAPSE);
    }
    pthread_attr_destroy(&attr);
}

/* Gives back the pages of huge block b past its first n bytes of data. */
static void trim_huge(Block *b, size_t n)
{
    size_t keep = map_len(sizeof *b + n), had = map_len(sizeof *b + b->size);
    if (keep < had)
        munmap((unsigned char *)b + keep, had - keep);
    b->size = b->used = n;
}
#else
enum { HUGE_PAGES = 0, HUGE_SIZE = 2 << 20 };
static Block *map_huge_as(size_t n, int room)
{
    (void)n;
    (void)room;
    return NULL;
}
static Block *map_huge(size_t n)
{
    (void)n;
    return NULL;
}
static void unmap_huge(Block *b)
{
    (void)b;
}
static void *text_map(void *p, size_t old, size_t n)
{
    (void)p;
    (void)old;
    (void)n;
    return NULL;
}
static void text_unmap(void *p, size_t n)
{
    (void)p;
    (void)n;
}
void dx_stack_huge(void)
{
}
static void trim_huge(Block *b, size_t n)
{
    (void)b;
    (void)n;
}
#endif

/* ---- the pool of mid-size blocks ----
 *
 * A block from 32 KB to 1 MB (a table sized by a function of a few
 * thousand statements, one of an arena's first blocks of small
 * allocations, the text of a function as it grows) is carved from a 2 MB
 * huge page and, when freed, kept for the next block of its size,
 * process-wide.  From malloc, such a block was faulted in 4 KB at a
 * time, and again after glibc gave the memory back: on a virtual machine
 * each of those faults cost some 10 microseconds (2.5 s a gigabyte,
 * where a huge page faulted again costs 0.06 s a gigabyte), and with the
 * partial last pages of mappings (map_len) they were nine in ten of the
 * faults of a program of 20 000 statements.  Sizes are powers of two (at
 * most half of a block unused).  A huge page whose blocks all came back
 * may be carved for any size, and past POOL_EMPTY such pages the rest go
 * back to the system, so that blocks of sizes a compilation no longer
 * asks for do not stay.  Under AddressSanitizer the pool is off, so that
 * a read of a freed table is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define DX_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DX_POOL 0
#endif
#endif
#if !defined(DX_POOL) && defined(__linux__) && defined(MADV_HUGEPAGE)
#define DX_POOL 1
#endif
#ifndef DX_POOL
#define DX_POOL 0
#endif

enum { POOL_MIN = DX_POOL_MIN, POOL_CLASSES = 6 }; /* 32 KB, 64 KB, ... 1 MB */

#if DX_POOL
/* A huge page the pool carves into blocks of one size (its class); when
 * all of them are free again it becomes empty, for any class to carve,
 * and past POOL_EMPTY empty ones it goes back to the system. */
typedef struct {
    unsigned char *base;
    int cls;        /* -1: empty */
    int used;       /* blocks given out */
    uint64_t free;  /* bit i: block i is free (of 64 at most: 32 KB each) */
    uint64_t fresh; /* bit i: the i-th 32 KB was never given out (reads as 0) */
} Chunk;

enum { POOL_CHUNKS = 1024, POOL_EMPTY = 4 };

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static Chunk chunks[POOL_CHUNKS];
static int nchunks;

static int pool_class(size_t n)
{
    int c = 0;
    for (size_t size = POOL_MIN; size < n; size <<= 1)
        c++;
    return c;
}

static uint64_t all_blocks(int c)
{
    int n = HUGE_SIZE / (POOL_MIN << c);
    return n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

static int lowest_bit(uint64_t x)
{
    int i = 0;
    while (!(x & 1)) {
        x >>= 1;
        i++;
    }
    return i;
}

/* A chunk of class c with a free block: one already carving c, else an
 * empty one, else a new huge page; NULL when none can be had. */
static Chunk *chunk_for(int c)
{
    Chunk *empty = NULL;
    for (int i = 0; i < nchunks; i++) {
        if (chunks[i].cls == c && chunks[i].free)
            return &chunks[i];
        if (chunks[i].cls < 0 && !empty)
            empty = &chunks[i];
    }
    if (!empty && nchunks < POOL_CHUNKS) {
        unsigned char *page = (unsigned char *)map_huge(HUGE_SIZE);
        if (!page)
            return NULL;
        empty = &chunks[nchunks++];
        *empty = (Chunk){page, -1, 0, 0, ~(uint64_t)0};
    }
    if (empty) {
        empty->cls = c;
        empty->free = all_blocks(c);
    }
    return empty;
}

void *dx_pool_get(size_t n, size_t *size, int *fresh)
{
    *size = 0;
    *fresh = 0;
    if (n > (size_t)POOL_MIN << (POOL_CLASSES - 1))
        return NULL;
    int c = pool_class(n);
    size_t sz = (size_t)POOL_MIN << c;
    unsigned char *p = NULL;
    pthread_mutex_lock(&pool_lock);
    Chunk *k = chunk_for(c);
    if (k) {
        int i = lowest_bit(k->free);
        uint64_t bit = (uint64_t)1 << i;
        k->free &= ~bit;
        k->used++;
        /* fresh only if no block of any class ever covered its bytes */
        uint64_t span = (((uint64_t)1 << (1 << c)) - 1) << (i << c); /* its 32 KB pieces */
        *fresh = (k->fresh & span) == span;
        k->fresh &= ~span;
        p = k->base + (size_t)i * sz;
    }
    pthread_mutex_unlock(&pool_lock);
    if (p)
        *size = sz;
    return p;
}

long dx_pool_pages(void)
{
    pthread_mutex_lock(&pool_lock);
    long n = nchunks;
    pthread_mutex_unlock(&pool_lock);
    return n;
}

void dx_pool_put(void *p, size_t size)
{
    if (!p)
        return;
    int c = pool_class(size);
    ASSERT(((size_t)POOL_MIN << c) == size);
    unsigned char *base = (unsigned char *)((size_t)p / HUGE_SIZE * HUGE_SIZE);
    pthread_mutex_lock(&pool_lock);
    int i = 0, empty = 0;
    while (i < nchunks && chunks[i].base != base)
        i++;
    ASSERT(i < nchunks && chunks[i].cls == c);
    chunks[i].free |= (uint64_t)1 << (((unsigned char *)p - base) / size);
    if (--chunks[i].used == 0) {
        chunks[i].cls = -1;
        for (int j = 0; j < nchunks; j++)
            empty += chunks[j].cls < 0;
        if (empty > POOL_EMPTY) { /* enough kept: back to the system */
            munmap(base, HUGE_SIZE);
            chunks[i] = chunks[--nchunks];
        }
    }
    pthread_mutex_unlock(&pool_lock);
}
#else
void *dx_pool_get(size_t n, size_t *size, int *fresh)
{
    (void)n;
    *size = 0;
    *fresh = 0;
    return NULL;
}

void dx_pool_put(void *p, size_t size)
{
    (void)p;
    (void)size;
}

long dx_pool_pages(void)
{
    return 0;
}
#endif

/* ---- buffers that grow (dx.h) ---- */

void *dx_buf_resize(void *p, size_t used, size_t *cap, size_t want, unsigned char *kind, size_t map_from)
{
    size_t size = want;
    int fresh;
    unsigned char to = DX_BUF_MALLOC;
    char *q = NULL;
    if (map_from && want >= map_from) {
        q = text_map(*kind == DX_BUF_MAPPED ? p : NULL, *cap, want);
        if (!q && *kind == DX_BUF_MAPPED)
            return NULL; /* a mapping that cannot grow */
        to = DX_BUF_MAPPED;
    } else if (map_from && want >= DX_POOL_MIN && (q = dx_pool_get(want, &size, &fresh)) != NULL) {
        to = DX_BUF_POOLED;
    }
    if (!q) { /* from malloc */
        size = want;
        to = DX_BUF_MALLOC;
        if (*kind == DX_BUF_MALLOC)
            q = realloc(p, want);
        else if ((q = malloc(want)) != NULL)
            memcpy(q, p, used);
        if (!q)
            return NULL;
        if (*kind != DX_BUF_MALLOC)
            dx_buf_free(p, *cap, *kind);
    } else if (p && !(to == DX_BUF_MAPPED && *kind == DX_BUF_MAPPED)) { /* moved */
        memcpy(q, p, used);
        dx_buf_free(p, *cap, *kind);
    }
    *cap = size;
    *kind = to;
    return q;
}

void dx_buf_free(void *p, size_t cap, unsigned char kind)
{
    if (kind == DX_BUF_MAPPED)
        text_unmap(p, cap);
    else if (kind == DX_BUF_POOLED)
        dx_pool_put(p, cap);
    else
        free(p);
}

/* Block b's memory: Block.mapped says where it came from. */
enum { FROM_MALLOC, FROM_MAP, FROM_POOL };

/* A block of sizeof(Block) + n bytes from the pool (n at least room),
 * its data zero when *fresh, or NULL. */
static Block *pool_block(size_t room, size_t *n, int *fresh)
{
    size_t size;
    Block *b = dx_pool_get(sizeof(Block) + room, &size, fresh);
    if (b) {
        b->mapped = FROM_POOL;
        *n = size - sizeof(Block);
    }
    return b;
}

static void free_block(Block *b)
{
    if (b->mapped == FROM_POOL)
        dx_pool_put(b, sizeof *b + b->size);
    else if (b->mapped == FROM_MAP)
        unmap_huge(b);
    else
        free(b);
}

static void free_list(Block *b)
{
    for (Block *next; b; b = next) {
        next = b->next;
        free_block(b);
    }
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    free_list(a->head);
    free_list(a->big);
    free_list(a->retired);
    free(a);
}

/* Puts large block b first in a's list of them; returns its data. */
static void *link_big(Arena *a, Block *b)
{
    b->prev = NULL;
    b->next = a->big;
    if (a->big)
        a->big->prev = b;
    a->big = b;
    return b->data;
}

/* A mapping for a block of *span bytes of data, or of room bytes (address
 * space only, *span set to it) when that is as much or more and can be
 * had; NULL if neither can. */
static Block *map_room(size_t *span, size_t room)
{
    Block *b = NULL;
    if (room >= *span && (b = map_huge_as(sizeof *b + room, 1)) != NULL)
        *span = room;
    return b ? b : map_huge(sizeof *b + *span);
}

/* A large block of n bytes (a multiple of 16), zeroed when asked: a
 * fresh mapping, or calloc, gets pages from the system already zero,
 * without touching them (but for an arena_new_written).  A mapping
 * spans `room` bytes when that is more (see arena_grow). */
static void *alloc_big(Arena *a, size_t n, int zero, size_t room)
{
    /* up to half a huge page, from the pool; from there, a mapping of
     * its own: a table of a megabyte or two (a byte per value of a large
     * function) a whole huge page */
    size_t span = n > HUGE_SIZE - sizeof(Block) ? n : HUGE_SIZE - sizeof(Block), got;
    int fresh = 0, from = FROM_MALLOC;
    Block *b = pool_block(n, &got, &fresh);
    if (b) {
        from = FROM_POOL;
        span = got;
    } else if (HUGE_PAGES && sizeof *b + n > HUGE_SIZE / 2 && (b = map_room(&span, room)) != NULL) {
        from = FROM_MAP;
        fresh = 1; /* a fresh mapping reads as zero */
    } else {
        span = n;
    }
    if (b)
        zero = zero && (!fresh || a->written);
    else if (zero && !a->written)
        b = calloc(1, sizeof *b + n), zero = 0;
    else
        b = malloc(sizeof *b + n);
    if (!b)
        oom();
    if (zero)
        memset(b->data, 0, n);
    b->mapped = from;
    b->size = span;
    b->used = n;
    b->magic = BIG_MAGIC;
    return link_big(a, b);
}

/* The large block holding p, an allocation of n (rounded) bytes; NULL if
 * p is a small allocation. */
static Block *big_of(void *p, size_t n)
{
    if (!p || n <= BIG)
        return NULL;
    Block *b = (Block *)((unsigned char *)p - offsetof(Block, data));
    return b->magic == BIG_MAGIC ? b : NULL;
}

static void unlink_big(Arena *a, Block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        a->big = b->next;
    if (b->next)
        b->next->prev = b->prev;
}

/* n bytes, n a multiple of 16, not cleared. */
static void *alloc_raw(Arena *a, size_t n)
{
    if (n > BIG)
        return alloc_big(a, n, 0, 0);
    Block *b = a->head;
    if (!b || b->size - b->used < n) {
        /* past the first SMALL_BLOCKS blocks (a syntax tree, the names
         * of a large program), a huge page at a time */
        size_t room;
        int fresh;
        if (HUGE_PAGES && a->nsmall >= SMALL_BLOCKS && (b = map_huge(HUGE_SIZE)) != NULL) {
            b->mapped = FROM_MAP;
            room = HUGE_SIZE - sizeof *b;
        } else if (!(b = pool_block(BLOCK_SIZE - sizeof *b, &room, &fresh))) {
            if (!(b = malloc(sizeof *b + BLOCK_SIZE)))
                oom();
            b->mapped = FROM_MALLOC;
            room = BLOCK_SIZE;
        }
        b->size = room;
        b->used = 0;
        b->magic = 0;
        b->next = a->head;
        a->head = b;
        a->nsmall++;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void *arena_alloc(Arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > BIG)
        return alloc_big(a, n, 1, 0);
    void *p = alloc_raw(a, n);
    memset(p, 0, n);
    return p;
}

void *arena_alloc_room(Arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    return n > BIG ? alloc_big(a, n, 1, n) : arena_alloc(a, n);
}

/* The copied part is not cleared first: growing vectors (vec_push) is
 * much of the compiler's allocation.  A large p is retired, not freed:
 * a caller may still read the old copy until the next arena_collect.
 *
 * An array that grows past half a huge page moves into a mapping of
 * GROW_ROOM times its size, address space that costs nothing until it is
 * written, and then grows in place: no copy, no second set of pages for
 * the kernel to zero, and every pointer into it stays good.  Doubling
 * from a megabyte, an instruction array was copied some ten times, 144
 * MB at 200 000 statements, each copy faulting in fresh pages.  Block.used
 * is the most the array ever had: what lies past it was never written. */
enum { GROW_ROOM = 16 };

void *arena_grow(Arena *a, void *p, size_t old, size_t n)
{
    if (!p || !old)
        return arena_alloc(a, n);
    size_t keep = old < n ? old : n;
    n = (n + 15) & ~(size_t)15;
    char *q;
    Block *b = big_of(p, (old + 15) & ~(size_t)15);
    if (b && b->mapped == FROM_MAP && n <= b->size) { /* in place */
        size_t dirty = a->written ? n : b->used < n ? b->used : n;
        if (dirty > keep)
            memset((char *)p + keep, 0, dirty - keep);
        b->used = b->used > n ? b->used : n;
        return p;
    }
    if (n > BIG) {
        q = alloc_big(a, n, 1, n <= SIZE_MAX / GROW_ROOM ? GROW_ROOM * n : n);
        memcpy(q, p, keep);
    } else {
        q = alloc_raw(a, n);
        memcpy(q, p, keep);
        memset(q + keep, 0, n - keep);
    }
    if (b) {
        unlink_big(a, b);
        b->next = a->retired;
        a->retired = b;
    }
    return q;
}

void arena_drop(Arena *a, void *p, size_t n)
{
    Block *b = big_of(p, (n + 15) & ~(size_t)15);
    if (b) {
        unlink_big(a, b);
        free_block(b);
    }
}

void *arena_shrink(Arena *a, void *p, size_t old, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    Block *b = big_of(p, (old + 15) & ~(size_t)15);
    if (!b || n <= BIG || n >= b->size)
        return p;
    if (b->mapped == FROM_MAP) {
        trim_huge(b, n);
        return p;
    }
    if (b->mapped == FROM_POOL)
        return p; /* its size is its class's */
    unlink_big(a, b);
    Block *q = realloc(b, sizeof *b + n);
    if (q)
        b = q; /* else the larger block stays */
    b->size = b->used = q ? n : b->size;
    return link_big(a, b);
}

void arena_collect(Arena *a)
{
    free_list(a->retired);
    a->retired = NULL;
}

/* Room for a string of n bytes and its NUL, not cleared: every byte of
 * a string is written (the C generator makes a name or more for every
 * variable: 1.3 M instructions of clearing at 5 000 statements). */
static char *string_room(Arena *a, size_t n)
{
    return alloc_raw(a, (n + 1 + 15) & ~(size_t)15);
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = string_room(a, n);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

/* Short results (names, mostly) are formatted once, into a buffer on
 * the stack, and copied; longer ones a second time, in place. */
char *arena_printf(Arena *a, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if ((size_t)n < sizeof buf)
        return arena_strndup(a, buf, (size_t)n);
    char *p = string_room(a, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

char *arena_name(Arena *a, const char *s, const char *tail, long k)
{
    char num[24], *e = num + sizeof num, *d = e;
    if (k >= 0)
        do
            *--d = (char)('0' + k % 10);
        while (k /= 10);
    size_t ls = strlen(s), lt = strlen(tail), ld = (size_t)(e - d);
    char *p = string_room(a, ls + lt + ld);
    memcpy(p, s, ls);
    memcpy(p + ls, tail, lt);
    memcpy(p + ls + lt, d, ld);
    p[ls + lt + ld] = 0;
    return p;
}

unsigned dx_hash_on(unsigned h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

unsigned dx_hash(const char *s)
{
    return dx_hash_on(2166136261u, s);
}
