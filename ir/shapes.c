/*
 * shapes.c - the dimensions of array types, interned.  A Type holds the
 * number of its shape in this table rather than its dimensions, so that
 * it takes 4 bytes and an instruction 96 (ir.h): a large function's
 * instructions are most of the memory a compilation holds.  Shape 0 is
 * a scalar's, with no dimension; a program has few distinct shapes.
 *
 * Shapes are added while a program is lowered and differentiated, and
 * read by every stage after it; the C generator reads them on several
 * threads (cg_c), so adding one takes a lock, and a shape once added
 * never moves: the rows live in chunks that are never reallocated, and a
 * reader finds a row from its number with two loads and no lock.
 */
#include "ir.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
    CHUNK_BITS = 10,
    CHUNK = 1 << CHUNK_BITS,     /* rows per chunk */
    MAX_SHAPES = 1 << TY_SHAPE_BITS,
    NCHUNKS = MAX_SHAPES / CHUNK,
};

typedef struct {
    int32_t dim[DX_MAXRANK]; /* zero past the rank */
    int rank;
} Row;

static Row *chunks[NCHUNKS];
static int nshapes = 1;       /* shape 0, the scalar's, needs no row */
static int *slots;            /* open addressing over shape numbers, 0: empty */
static int nslots;            /* a power of two, at least twice nshapes */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const Row *row_of(unsigned shape)
{
    return &chunks[shape >> CHUNK_BITS][shape & (CHUNK - 1)];
}

const int32_t *ty_dims(Type t)
{
    static const int32_t none[DX_MAXRANK];
    return t.shape ? row_of(t.shape)->dim : none;
}

static unsigned row_hash(int rank, const int32_t *dim)
{
    unsigned h = 2166136261u ^ (unsigned)rank;
    for (int i = 0; i < rank; i++)
        h = (h ^ (unsigned)dim[i]) * 16777619u;
    return h;
}

static int row_is(const Row *r, int rank, const int32_t *dim)
{
    return r->rank == rank && !memcmp(r->dim, dim, sizeof(int32_t) * (size_t)rank);
}

static void put_slot(int shape)
{
    const Row *r = row_of((unsigned)shape);
    unsigned h = row_hash(r->rank, r->dim) & (unsigned)(nslots - 1);
    while (slots[h])
        h = (h + 1) & (unsigned)(nslots - 1);
    slots[h] = shape;
}

/* The number of the shape of `rank` dimensions dim, added if new; the
 * caller holds the lock. */
static int intern(int rank, const int32_t *dim)
{
    if (nslots) {
        unsigned h = row_hash(rank, dim) & (unsigned)(nslots - 1);
        for (; slots[h]; h = (h + 1) & (unsigned)(nslots - 1))
            if (row_is(row_of((unsigned)slots[h]), rank, dim))
                return slots[h];
    }
    if (nshapes == MAX_SHAPES)
        BUG("shapes: more distinct array shapes than a Type can number");
    if (2 * (nshapes + 1) > nslots) { /* rehash into twice the slots */
        int old = nslots;
        int *was = slots;
        nslots = nslots ? 2 * nslots : 256;
        slots = calloc((size_t)nslots, sizeof *slots);
        if (!slots)
            BUG("shapes: out of memory");
        for (int i = 0; i < old; i++)
            if (was[i])
                put_slot(was[i]);
        free(was);
    }
    int shape = nshapes;
    if (!chunks[shape >> CHUNK_BITS] && !(chunks[shape >> CHUNK_BITS] = calloc(CHUNK, sizeof(Row))))
        BUG("shapes: out of memory");
    Row *r = &chunks[shape >> CHUNK_BITS][shape & (CHUNK - 1)];
    memcpy(r->dim, dim, sizeof(int32_t) * (size_t)rank);
    r->rank = rank;
    nshapes++;
    put_slot(shape);
    return shape;
}

Type ty_array(int rank, const int32_t *dim)
{
    Type t = {0};
    t.kind = TY_REAL;
    t.rank = (unsigned)rank;
    if (rank > 0) {
        pthread_mutex_lock(&lock);
        t.shape = (unsigned)intern(rank, dim);
        pthread_mutex_unlock(&lock);
    }
    return t;
}

/* Shapes are interned and only ty_array gives a type its rank, so equal
 * dimensions are one shape number. */
int ty_eq(Type a, Type b)
{
    return a.kind == b.kind && a.rank == b.rank && a.shape == b.shape;
}

long long ty_size(Type t)
{
    const int32_t *d = ty_dims(t);
    long long n = 1;
    for (unsigned i = 0; i < t.rank; i++)
        n *= d[i];
    return n;
}
