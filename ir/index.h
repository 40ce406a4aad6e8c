/*
 * index.h - index expressions as affine forms, the iteration domain and
 * the proofs that indices stay in range (index.c), for lower.c and
 * lower_array.c.
 */
#ifndef INDEX_H
#define INDEX_H

#include "lower_state.h"

typedef enum {
    AK_INDEX,  /* x[i + 1]: index variables and integer constants */
    AK_BOUND,  /* sum(... for j in 0..i+1): likewise */
    AK_STATIC, /* [... for i in 0..N]: integer constants only */
    AK_LOOP,   /* for i in 0..N { ... }: likewise */
    AK_DIM,    /* w[N]: integer constants only */
    AK_VALUE,  /* i % 3 used as a real value: like AK_INDEX */
    AK_WHILE,  /* while c max N { ... }: likewise */
} AffKind;
/* e as an affine form of the index variables in scope, or 0 after an
 * error at the offending part of e. */
int lower_affine(Lower *L, const Ast *e, AffKind kind, Aff *out);
/* Brings an index variable into scope, bound to val. */
void lw_index_bind(Lower *L, const char *name, Loc loc, Aff val, const char *what);
/* Ends the scope of the innermost n index variables. */
void lw_index_unbind(Lower *L, int n);
IndexVar *lw_index_find(Lower *L, const char *name);
/* An index variable out of scope with this name (for messages), or NULL. */
IndexVar *lw_index_gone(Lower *L, const char *name);
/* Pushes a level of the iteration domain: iv runs over lo..hi-1.  For a
 * max or min reduction (need_one), proves the range non-empty in every
 * iteration that runs, or reports at gen. */
void lw_domain_push(Lower *L, Ref iv, Aff lo, Aff hi, const Ast *gen, const char *need_one);
void lw_domain_pop(Lower *L, int n);
/* Starts a function: an empty domain and a fresh enumeration budget. */
void lw_domain_reset(Lower *L);
/* Proves that ix, the index of dimension d (of size n) of the array
 * `arr` written at e, lies in 0..n-1 in every iteration that runs, or
 * reports at e. */
void lw_check_index(Lower *L, const Ast *e, Aff ix, int32_t n, const char *arr, int d);
/* e, a % b or a // b used as a real value (an IREAL, or a constant). */
Ref lw_int_value(Lower *L, const Ast *e);
/* The source text of an expression, for messages ("N-1-i"). */
const char *lw_text(Lower *L, const Ast *e);

#endif
