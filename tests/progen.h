/*
 * progen.h - random valid .dx programs for the differential tester.
 *
 * pg_generate(seed) builds a program as a tree of PgNodes; pg_print
 * turns it into .dx text.  The tree exists so that a failing program can
 * be reduced (tests/diffcheck.c): every statement, function and
 * subexpression is a node that an edit may delete or replace, and the
 * text is printed again.
 *
 * A node is a template: its fmt is printed with each '$' replaced by the
 * next child.  Blocks print their statements one per line between braces;
 * a program prints its items one per line.
 *
 * Validity by construction (dx-language.md §3-§5): every index is an
 * affine expression whose range lies inside its dimension, every shape
 * matches, every name is fresh, and every call passes arguments of the
 * callee's shapes.  Every function is defined, finite and smooth almost
 * everywhere for inputs in [-1.5, 1.5]: log, sqrt, pow with a real
 * exponent and negative integer powers read an expression bounded away
 * from 0 (1 + x^2, 2 + sin x, ...), asin/acos read 0.9 tanh x, tan reads
 * a value below 1.2 in size, and the generator tracks a bound on the size
 * of every value so that exp, sinh, prod and the like never overflow
 * (arguments are squashed by tanh, sin, erf... when the bound is too
 * large; call arguments are squashed to the callee's [-1.5, 1.5]).
 */
#ifndef PROGEN_H
#define PROGEN_H

#include <stdint.h>

#include "../common/dx.h"

typedef enum {
    PG_EXPR,  /* a value of shape rank/dim */
    PG_COND,  /* a condition */
    PG_STMT,  /* a statement (keep: the return) */
    PG_BLOCK, /* { statements } */
    PG_NUM,   /* an integer printed as is (a trip count): an edit may lower it */
    PG_FN,    /* a function (keep: the last one) */
    PG_ITEM,  /* a constant definition */
    PG_PROG,  /* the program: items and functions */
} PgKind;

typedef struct PgNode PgNode;
struct PgNode {
    PgKind kind;
    int rank, dim[3];   /* PG_EXPR: the shape */
    const char *fmt;    /* '$': the next child */
    int nkid;
    PgNode **kid;
    int num, num_min;   /* PG_NUM: its value and the least it may take */
    int keep;           /* not to be deleted */
    /* PG_FN: its parameters (for edits that replace a value by one) */
    int nparam;
    const char **pname;
    int (*pshape)[4];   /* rank, dims */
};

typedef struct {
    int max_fns;     /* functions per program, the last has a scalar result */
    int loops;       /* generate for loops */
    int max_inputs;  /* scalar inputs per function, at most */
    int depth;       /* expression depth */
    int edge;        /* also guarded singular constructs for the edge
                        inputs of the differential tester (0, tiny, huge,
                        ties): max(sqrt(..), eps), pow(|x|, y), x / y with
                        y maybe tiny, an if with sqrt or log untaken at 0 */
} PgOpts;

/* Defaults: 4 functions, loops, 20 inputs, depth 3. */
PgOpts pg_defaults(void);

typedef struct {
    Arena *a;
    PgNode *root;
} PgProg;

/* The program of this seed (deterministic: splitmix64). */
PgProg pg_generate(uint64_t seed, const PgOpts *o);
/* Its text, malloc'ed. */
char *pg_print(const PgNode *root);
void pg_free(PgProg *p);
/* The program of this seed written to dir/randSEED.dx; returns the path
 * (malloc'ed). */
char *pg_save(uint64_t seed, const PgOpts *o, const char *dir);

/* The splitmix64 generator, also used for the inputs. */
uint64_t pg_next(uint64_t *state);
/* Uniform in [lo, hi). */
double pg_uniform(uint64_t *state, double lo, double hi);

/* ---- edits, for reduction ---- */

/* A constant node of the given shape (0.5 everywhere). */
PgNode *pg_const_like(Arena *a, const PgNode *e);
/* A leaf expression node printing `text` with the shape of e. */
PgNode *pg_leaf_like(Arena *a, const PgNode *e, const char *text);

#endif
