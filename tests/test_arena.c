/*
 * test_arena.c - the allocator every pass uses (common/arena.c): small
 * allocations, many blocks of them; large ones on their own, from the
 * small-page heap and from huge mappings alike; each zeroed where the
 * interface says so, its contents kept through arena_grow and
 * arena_shrink, and all of it given back (the sanitizer build checks
 * that nothing leaks or is read out of bounds).
 */
#include <check.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
static const size_t sizes[] = {100, 16384, 16400, 300000, (2u << 20) - 64, 2u << 20, (5u << 20) + 12345};
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

START_TEST(test_large_blocks)
{
    Arena *a = arena_new();
    grow_and_shrink(a);
    arena_free(a);
    Arena *w = arena_new_written();
    grow_and_shrink(w);
    arena_free(w);
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

Suite *suite_arena(void);

Suite *suite_arena(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("arena");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_large_blocks);
    tcase_add_test(tc, test_many_small);
    tcase_add_test(tc, test_hash_on);
    suite_add_tcase(s, tc);
    return s;
}
