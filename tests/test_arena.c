/*
 * test_arena.c - the allocator every pass uses (common/arena.c): small
 * allocations, many blocks of them; large ones on their own, from the
 * small-page heap and from huge mappings alike; each zeroed where the
 * interface says so, its contents kept through arena_grow and
 * arena_shrink, and all of it given back (the sanitizer build checks
 * that nothing leaks or is read out of bounds); and the pool of huge
 * pages that its blocks from 32 KB to 1 MB come from (off under the
 * sanitizers: those tests then check only that it says so).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/ctext.h"
#include "testutil.h"

/* A byte that depends on where it is and on a seed, so that a copy to
 * the wrong place or from the wrong block is seen. */
static unsigned char mark(size_t i, unsigned seed)
{
    return (unsigned char)((i * 2654435761u) >> 13 ^ seed);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = mark(i, seed);
}

/* The first index in [from, to) where p does not hold its marks (or
 * zeros when zero), or `to`. */
static size_t first_bad(const unsigned char *p, size_t from, size_t to, unsigned seed, int zero)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != (zero ? 0 : mark(i, seed)))
            return i;
    return to;
}

/* Sizes on both sides of the huge-mapping threshold (2 MB) and of the
 * small/large one (16 KB), not all multiples of a page. */
static const size_t sizes[] = {100, 16384, 16400, 300000, (1u << 20) - 40, (2u << 20) - 64, (2u << 20) - 32, 2u << 20, (5u << 20) + 12345};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

/* Each size zeroed, filled, grown to three times its size (the copy
 * holds its marks, the rest is zero), then shrunk to a third and to
 * nothing smaller than a large block (its marks kept); the old copies
 * collected, the tables dropped. */
static void grow_and_shrink(Arena *a)
{
    for (int k = 0; k < NSIZES; k++) {
        size_t n = sizes[k];
        unsigned char *p = arena_alloc(a, n);
        ck_assert_msg(((uintptr_t)p & 15) == 0, "%zu bytes: not 16-aligned", n);
        ck_assert_msg(first_bad(p, 0, n, 0, 1) == n, "%zu bytes: not zeroed", n);
        fill(p, n, (unsigned)k);
        unsigned char *q = arena_grow(a, p, n, 3 * n);
        ck_assert_msg(first_bad(q, 0, n, (unsigned)k, 0) == n, "%zu bytes grown: copy differs", n);
        ck_assert_msg(first_bad(q, n, 3 * n, 0, 1) == 3 * n, "%zu bytes grown: new part not zero", n);
        ck_assert_msg(first_bad(p, 0, n, (unsigned)k, 0) == n, "%zu bytes: the old copy changed before arena_collect", n);
        arena_collect(a);
        fill(q, 3 * n, (unsigned)k + 7);
        unsigned char *r = arena_shrink(a, q, 3 * n, n);
        ck_assert_msg(first_bad(r, 0, n, (unsigned)k + 7, 0) == n, "%zu bytes shrunk: contents lost", n);
        r[n - 1] ^= 1; /* still writable to its end */
        arena_drop(a, r, n);
    }
}

/* check on a plain arena and on one whose large blocks are written */
static void in_both(void (*check)(Arena *))
{
    Arena *a = arena_new();
    check(a);
    arena_free(a);
    Arena *w = arena_new_written();
    check(w);
    arena_free(w);
}

START_TEST(test_large_blocks)
{
    in_both(grow_and_shrink);
}
END_TEST

/* An array that grows past half a huge page moves into a mapping with
 * room to grow, and from there grows in place (on Linux: the same
 * address): its contents kept and every new byte zero, the bytes it once
 * had and gave up included (grown down, written, grown up again);
 * shrunk, it has no room left, and moves again with its contents. */
static void grow_in_place(Arena *a)
{
    size_t n = 64 << 10, mb = 1 << 20;
    unsigned char *p = arena_alloc(a, n);
    fill(p, n, 1);
    unsigned char *q = arena_grow(a, p, n, 2 * mb);
    ck_assert_msg(first_bad(q, 0, n, 1, 0) == n, "moved into a mapping: copy differs");
    ck_assert_msg(first_bad(q, n, 2 * mb, 0, 1) == 2 * mb, "moved into a mapping: new part not zero");
    for (size_t m = 2 * mb; m < 16 * mb; m *= 2) {
        fill(q, m, (unsigned)m);
        unsigned char *r = arena_grow(a, q, m, 2 * m);
#if defined(__linux__)
        ck_assert_msg(r == q, "%zu MB grown to %zu MB: moved", m / mb, 2 * m / mb);
#endif
        ck_assert_msg(first_bad(r, 0, m, (unsigned)m, 0) == m, "%zu MB grown: contents lost", m / mb);
        ck_assert_msg(first_bad(r, m, 2 * m, 0, 1) == 2 * m, "%zu MB grown: new part not zero", m / mb);
        q = r;
    }
    fill(q, 16 * mb, 9);
    unsigned char *down = arena_grow(a, q, 16 * mb, 8 * mb);
    ck_assert_msg(first_bad(down, 0, 8 * mb, 9, 0) == 8 * mb, "grown down: contents lost");
    unsigned char *up = arena_grow(a, down, 8 * mb, 16 * mb);
    ck_assert_msg(first_bad(up, 0, 8 * mb, 9, 0) == 8 * mb, "grown down and up: contents lost");
    ck_assert_msg(first_bad(up, 8 * mb, 16 * mb, 0, 1) == 16 * mb, "grown down and up: the part given up not zero");
    unsigned char *s = arena_shrink(a, up, 16 * mb, 4 * mb);
    fill(s, 4 * mb, 11);
    unsigned char *t = arena_grow(a, s, 4 * mb, 8 * mb);
    ck_assert_msg(first_bad(t, 0, 4 * mb, 11, 0) == 4 * mb, "shrunk and grown: contents lost");
    ck_assert_msg(first_bad(t, 4 * mb, 8 * mb, 0, 1) == 8 * mb, "shrunk and grown: new part not zero");
    t[8 * mb - 1] = 1; /* writable to its end */
    arena_collect(a);
    arena_drop(a, t, 8 * mb);
}

START_TEST(test_grow_in_place)
{
    in_both(grow_in_place);
}
END_TEST

/* 40 MB in allocations of 1 to 4 KB: past the first blocks of small
 * allocations, later ones come from huge mappings.  Each is zeroed when
 * made and keeps its own marks while the others are written. */
START_TEST(test_many_small)
{
    Arena *a = arena_new();
    enum { N = 20000 };
    unsigned char **p = malloc(N * sizeof *p);
    size_t *len = malloc(N * sizeof *len);
    for (int i = 0; i < N; i++) {
        len[i] = 1000 + (size_t)(i * 7919) % 3100;
        p[i] = arena_alloc(a, len[i]);
        ck_assert_msg(((uintptr_t)p[i] & 15) == 0, "allocation %d not 16-aligned", i);
        ck_assert_msg(first_bad(p[i], 0, len[i], 0, 1) == len[i], "allocation %d not zeroed", i);
        fill(p[i], len[i], (unsigned)i);
    }
    for (int i = 0; i < N; i++)
        ck_assert_msg(first_bad(p[i], 0, len[i], (unsigned)i, 0) == len[i], "allocation %d overwritten", i);
    free(p);
    free(len);
    arena_free(a);
}
END_TEST

/* dx_hash_on continues dx_hash: naming asks ahead for the slot of a
 * tangent's name hashed that way (canalyse.c: prefetch_name). */
START_TEST(test_hash_on)
{
    const char *names[] = {"", "x", "a10198", "W1"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char whole[32];
        snprintf(whole, sizeof whole, "%s_dot", names[i]);
        ck_assert_uint_eq(dx_hash_on(dx_hash(names[i]), "_dot"), dx_hash(whole));
    }
    ck_assert_uint_eq(dx_hash_on(dx_hash("abc"), ""), dx_hash("abc"));
}
END_TEST

/* ---- the pool of huge pages (dx_pool_get) ---- */

/* Whether the pool is on here (not under the sanitizers, on Linux). */
static int pool_on(void)
{
    size_t size;
    int fresh;
    void *p = dx_pool_get(40000, &size, &fresh);
    dx_pool_put(p, size);
    return p != NULL;
}

/* Each size gets the smallest power of two from 32 KB that holds it, at
 * a multiple of that size inside its huge page; a block never used reads
 * as zero; blocks held at once do not overlap; 1 MB is the largest. */
START_TEST(test_pool_sizes)
{
    if (!pool_on()) {
        size_t size;
        int fresh;
        ck_assert_ptr_null(dx_pool_get(40000, &size, &fresh));
        return;
    }
    static const size_t asks[] = {1, 32768, 32769, 65536, 100000, 262144, 600000, 1u << 20};
    enum { N = sizeof asks / sizeof asks[0] };
    unsigned char *p[N];
    size_t size[N];
    for (int k = 0; k < N; k++) {
        int fresh;
        p[k] = dx_pool_get(asks[k], &size[k], &fresh);
        ck_assert_ptr_nonnull(p[k]);
        size_t want = 32768;
        while (want < asks[k])
            want *= 2;
        ck_assert_uint_eq(size[k], want);
        ck_assert_msg((uintptr_t)p[k] % want == 0, "%zu bytes: not at a multiple of %zu", asks[k], want);
        if (fresh)
            ck_assert_msg(first_bad(p[k], 0, size[k], 0, 1) == size[k], "%zu bytes: fresh but not zero", asks[k]);
        fill(p[k], size[k], (unsigned)k);
    }
    for (int k = 0; k < N; k++) {
        ck_assert_msg(first_bad(p[k], 0, size[k], (unsigned)k, 0) == size[k], "block %d overwritten", k);
        dx_pool_put(p[k], size[k]);
    }
    size_t got;
    int fresh;
    ck_assert_ptr_null(dx_pool_get((1u << 20) + 1, &got, &fresh));
}
END_TEST

/* A huge page whose blocks are all given back is carved again for
 * another size; the bytes a block held before read as they were left
 * (the block is not fresh: arena_alloc zeroes it).  Past a few empty
 * huge pages, the pool gives them back to the system. */
START_TEST(test_pool_reuse)
{
    if (!pool_on())
        return;
    enum { SMALL = 64, BIG = 40 };
    unsigned char *s[SMALL];
    size_t size;
    int fresh;
    for (int i = 0; i < SMALL; i++) {
        s[i] = dx_pool_get(32768, &size, &fresh);
        ck_assert_ptr_nonnull(s[i]);
        memset(s[i], 0xab, size);
    }
    for (int i = 0; i < SMALL; i++)
        dx_pool_put(s[i], size);
    /* every 1 MB block now: the 32 KB blocks' pages are empty and serve */
    unsigned char *b[BIG];
    long before = dx_pool_pages();
    int dirty = 0;
    for (int i = 0; i < BIG; i++) {
        b[i] = dx_pool_get(1u << 20, &size, &fresh);
        ck_assert_ptr_nonnull(b[i]);
        ck_assert_uint_eq(size, 1u << 20);
        if (!fresh) {
            dirty = 1;
        } else {
            ck_assert_msg(first_bad(b[i], 0, size, 0, 1) == size, "1 MB block %d: fresh but not zero", i);
        }
        fill(b[i], size, (unsigned)i);
    }
    ck_assert_msg(dirty, "no 1 MB block came from the 32 KB blocks' pages");
    ck_assert_int_ge(dx_pool_pages(), before);
    long held = dx_pool_pages();
    ck_assert_int_ge(held, BIG / 2);
    for (int i = 0; i < BIG; i++) {
        ck_assert_msg(first_bad(b[i], 0, size, (unsigned)i, 0) == size, "1 MB block %d overwritten", i);
        dx_pool_put(b[i], size);
    }
    ck_assert_msg(dx_pool_pages() <= 4, "%ld empty huge pages kept", dx_pool_pages());
}
END_TEST

/* Two threads take and give back blocks of every size at once (the
 * writers of a C file do); each block keeps its own marks while held. */
typedef struct {
    unsigned seed;
    int bad;
} PoolRun;

static void *pool_worker(void *arg)
{
    PoolRun *r = arg;
    enum { HELD = 12, ROUNDS = 3000 };
    unsigned char *p[HELD] = {0};
    size_t size[HELD] = {0};
    unsigned x = r->seed;
    for (int k = 0; k < ROUNDS; k++) {
        x = x * 1103515245u + 12345u;
        int i = (int)(x >> 16) % HELD;
        if (p[i]) {
            if (p[i][0] != (unsigned char)(r->seed + (unsigned)i) ||
                p[i][size[i] - 1] != (unsigned char)(r->seed + (unsigned)i) || p[i][size[i] / 2] != (unsigned char)i)
                r->bad = 1;
            dx_pool_put(p[i], size[i]);
            p[i] = NULL;
        } else {
            int fresh;
            p[i] = dx_pool_get((size_t)20000 << (x >> 8) % 6, &size[i], &fresh);
            if (!p[i]) {
                r->bad = 1;
                break;
            }
            p[i][0] = p[i][size[i] - 1] = (unsigned char)(r->seed + (unsigned)i);
            p[i][size[i] / 2] = (unsigned char)i;
        }
    }
    for (int i = 0; i < HELD; i++)
        dx_pool_put(p[i], size[i]);
    return NULL;
}

START_TEST(test_pool_threads)
{
    if (!pool_on())
        return;
    PoolRun runs[2] = {{17, 0}, {91, 0}};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, pool_worker, &runs[0]), 0);
    pool_worker(&runs[1]);
    pthread_join(t, NULL);
    ck_assert_msg(!runs[0].bad && !runs[1].bad, "a block changed while held, or none was had");
    ck_assert_msg(dx_pool_pages() <= 4, "%ld empty huge pages kept", dx_pool_pages());
}
END_TEST

/* The C generator's text (codegen/ctext.c): a string that may be mapped
 * (a function's body) grows from malloc into blocks of the pool from
 * 32 KB and into a mapping of its own from map_from; one that may not
 * stays on malloc.  Every byte written is there at every step. */
static void grow_text(size_t map_from, int may_pool)
{
    Str s = {.map_from = map_from};
    size_t total = 5u << 20, step = 1000;
    char piece[1000];
    int seen[3] = {0, 0, 0};
    for (size_t n = 0; n < total; n += step) {
        for (size_t i = 0; i < step; i++)
            piece[i] = (char)('a' + (n + i) % 23);
        cg_put(&s, piece, step);
        ck_assert_uint_eq(s.n, n + step);
        ck_assert_int_eq(s.p[s.n], 0);
        seen[s.kind] = 1;
        if (!map_from)
            ck_assert_int_eq(s.kind, DX_BUF_MALLOC);
        else if (s.cap >= map_from)
            ck_assert_int_eq(s.kind, DX_BUF_MAPPED);
        else if (s.cap >= DX_POOL_MIN && may_pool)
            ck_assert_int_eq(s.kind, DX_BUF_POOLED);
        else if (s.cap < DX_POOL_MIN)
            ck_assert_int_eq(s.kind, DX_BUF_MALLOC);
    }
    for (size_t i = 0; i < total; i++)
        if (s.p[i] != (char)('a' + i % 23))
            ck_abort_msg("byte %zu of the text lost (map_from %zu)", i, map_from);
    if (map_from)
        ck_assert_msg(seen[DX_BUF_MAPPED] && (seen[DX_BUF_POOLED] || !may_pool), "a stage of the text's growth skipped");
    cg_str_free(&s);
    ck_assert_ptr_null(s.p);
}

START_TEST(test_text_growth)
{
    int pool = pool_on();
    grow_text(2u << 20, pool);
    grow_text(300000, pool);
    grow_text(0, pool);
    ck_assert_msg(!pool || dx_pool_pages() <= 4, "%ld empty huge pages kept", dx_pool_pages());
}
END_TEST

/* dx_stack_huge marks the calling thread's stack for huge pages (the
 * "hg" of its mapping in /proc/self/smaps, on Linux), and the thread
 * goes on using it, deep recursion included. */
static int deep(volatile unsigned char *up, int n)
{
    volatile unsigned char page[4096];
    page[0] = (unsigned char)n;
    page[4095] = up ? up[0] : 0;
    return n ? deep(page, n - 1) + (page[0] != (unsigned char)n) : 0;
}

static void *stack_thread(void *arg)
{
    int *flagged = arg;
    dx_stack_huge();
    unsigned char here = 0;
    uintptr_t at = (uintptr_t)&here;
    *flagged = deep(NULL, 600) == 0 ? 0 : -1; /* 2.4 MB of stack */
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f || *flagged < 0)
        return NULL;
    char line[512];
    int in_stack = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in_stack = at >= lo && at < hi;
        else if (in_stack && !strncmp(line, "VmFlags:", 8))
            *flagged = strstr(line, " hg") != NULL;
    }
    fclose(f);
    return NULL;
}

START_TEST(test_stack_huge)
{
    pthread_attr_t attr;
    pthread_t t;
    int flagged = -2;
    ck_assert_int_eq(pthread_attr_init(&attr), 0);
    ck_assert_int_eq(pthread_attr_setstacksize(&attr, (size_t)64 << 20), 0);
    ck_assert_int_eq(pthread_create(&t, &attr, stack_thread, &flagged), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    ck_assert_int_ne(flagged, -1);
#if defined(__linux__)
    /* where the kernel has transparent huge pages at all */
    FILE *thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (thp) {
        fclose(thp);
        ck_assert_msg(flagged == 1, "the thread's stack is not marked for huge pages (%d)", flagged);
    }
#endif
}
END_TEST

/* Resident memory, in bytes (0 where /proc is not there). */
static size_t resident(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, pages = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &pages) != 2)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * 4096;
}

/* An array reserved for its estimated size (ir_reserve: four times the
 * instructions of the function a pass reads) costs the memory it fills,
 * not the reservation, with the warm region's thread running too: it is
 * address space of its own, where the region's thread faults in only
 * the pages it is told of.  It reads as zero, keeps what is written
 * through arena_grow, and grows in place up to the reservation. */
START_TEST(test_reserve_room)
{
    const size_t mb = 1 << 20;
    dx_warm_start();
    Arena *a = arena_new();
    size_t before = resident();
    unsigned char *p = arena_alloc_room(a, 256 * mb);
    fill(p, 4 * mb, 5);
    dx_warm_drain();
    size_t after = resident();
    if (before)
        ck_assert_msg(after < before + 64 * mb, "256 MB reserved, 4 MB written: %zu MB more resident",
                      (after - before) / mb);
    /* read after the count: some kernels (6.18 here) count the zero
     * pages a read maps as resident */
    for (size_t i = 4 * mb; i < 256 * mb; i += 4096)
        ck_assert_msg(p[i] == 0 && p[i + 4095] == 0, "a reservation does not read as zero at %zu", i);
    ck_assert_ptr_eq(arena_grow(a, p, 256 * mb, 200 * mb), p);
    unsigned char *q = arena_grow(a, p, 200 * mb, 300 * mb);
    ck_assert_msg(first_bad(q, 0, 4 * mb, 5, 0) == 4 * mb, "grown past its reservation: contents lost");
    unsigned char *small = arena_alloc_room(a, 100); /* small: as arena_alloc */
    ck_assert_msg(first_bad(small, 0, 100, 0, 1) == 100, "a small reservation is not zero");
    arena_free(a);
}
END_TEST

Suite *suite_arena(void);

Suite *suite_arena(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("arena");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_large_blocks);
    tcase_add_test(tc, test_grow_in_place);
    tcase_add_test(tc, test_many_small);
    tcase_add_test(tc, test_hash_on);
    tcase_add_test(tc, test_pool_sizes);
    tcase_add_test(tc, test_pool_reuse);
    tcase_add_test(tc, test_pool_threads);
    tcase_add_test(tc, test_text_growth);
    tcase_add_test(tc, test_stack_huge);
    tcase_add_test(tc, test_reserve_room);
    suite_add_tcase(s, tc);
    return s;
}
