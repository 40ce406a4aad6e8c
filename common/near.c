/*
 * near.c - "did you mean" for a name that is not defined: the closest of
 * the names offered, by edit distance (insertions, deletions,
 * substitutions and swaps of two neighbouring bytes, each costing 1: the
 * optimal-string-alignment form of the Damerau-Levenshtein distance).
 *
 * A name of 1 byte gets no suggestion (every other 1-byte name is one
 * edit away), names of 2 to 4 bytes one within 1 edit, longer ones one
 * within 2.  The closest wins; among equally close ones, the first in
 * strcmp order, so the message does not depend on the order in which
 * names are offered.  Names longer than NEAR_MAX_LEN bytes are not
 * compared.
 */
#include "dx.h"

#include <string.h>

enum { NEAR_MAX_LEN = 64 };

int near_distance(const char *a, const char *b, int max)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > NEAR_MAX_LEN || lb > NEAR_MAX_LEN || (la > lb ? la - lb : lb - la) > (size_t)max)
        return max + 1;
    /* rows i-2, i-1 and i of the table of distances between prefixes */
    int r0[NEAR_MAX_LEN + 1], r1[NEAR_MAX_LEN + 1], r2[NEAR_MAX_LEN + 1];
    int *pp = r0, *p = r1, *c = r2;
    for (size_t j = 0; j <= lb; j++)
        p[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        c[0] = (int)i;
        int row_min = c[0];
        for (size_t j = 1; j <= lb; j++) {
            int sub = p[j - 1] + (a[i - 1] != b[j - 1]);
            int del = p[j] + 1, ins = c[j - 1] + 1;
            int d = sub < del ? sub : del;
            d = d < ins ? d : ins;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            c[j] = d;
            row_min = d < row_min ? d : row_min;
        }
        if (row_min > max)
            return max + 1;
        int *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[lb] <= max ? p[lb] : max + 1;
}

void near_init(Near *n, const char *name)
{
    size_t len = strlen(name);
    n->name = name;
    n->best = NULL;
    n->max = len <= 1 ? 0 : len <= 4 ? 1 : 2;
    n->dist = n->max + 1;
}

void near_offer(Near *n, const char *cand)
{
    if (n->max == 0 || !strcmp(cand, n->name))
        return;
    int d = near_distance(n->name, cand, n->max);
    if (d < n->dist || (d == n->dist && d <= n->max && strcmp(cand, n->best) < 0)) {
        n->dist = d;
        n->best = cand;
    }
}

const char *near_hint(Arena *a, const Near *n)
{
    if (!n->best)
        return "";
    return arena_printf(a, "; did you mean '%s'?", diag_name(a, n->best));
}
