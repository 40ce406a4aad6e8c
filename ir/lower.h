/*
 * lower.h - private to the lowering of the syntax tree into IR:
 *
 *   lower.c        scalar expressions, statements, functions (ir_lower)
 *   lower_array.c  array operations: elementwise arithmetic and built-ins,
 *                  @, literals, comprehensions, reductions, indexing
 *   index.c        index expressions as affine forms, the iteration domain
 *                  of the index variables in scope, and the compile-time
 *                  proofs that every index stays in range
 *   lower_state.c  what they all do with Lower: errors, the environment,
 *                  emitting instructions
 *
 * Each file calls only those listed after it, except that lower.c and
 * lower_array.c call each other (an array expression holds scalar ones
 * and the other way round).
 *
 * Shapes are static: every value's shape is its IR Type, so lowering
 * never looks at array sizes (a [784, 128] matrix-vector product is a GEN
 * holding a RED, a handful of instructions), and never unrolls.
 */
#ifndef LOWER_H
#define LOWER_H

#include "ir.h"

enum { UNDEF, DEF, PARTIAL };
enum {
    /* Inlining can multiply code exponentially (f1 calls f0 twice, f2
     * calls f1 twice, ...): a function that would exceed this many
     * syntax-tree nodes once its calls are inlined is rejected. */
    MAX_NODES = 1000000,
    MAX_INSTS = 8000000,
    /* index variables in scope at once (nested comprehensions and
     * reductions, each generator one) */
    MAX_DEPTH = 64,
};

typedef struct {
    const char *name;
    Ref val;
    Ref shape;     /* PARTIAL: a value with the variable's shape (or NOREF) */
    int state;
    int if_line;   /* PARTIAL: the if that left it undefined on a path */
    unsigned stamp;
} Slot;

typedef struct {
    int slot;
    Ref val, shape;
    int state, if_line;
} Undo;

typedef struct {
    Slot *slot;
    int cap, n;
    VEC(Undo) log;
} Env;

/* An affine form over the levels of the iteration domain, in 64 bits:
 * c + a[0] * v_0 + ... (v_l the index variable of level l). */
typedef struct {
    int64_t c;
    int64_t a[MAX_DEPTH];
} Form;

/* One level of the iteration domain: the IVAR iv runs over lo..last, forms
 * of the outer levels.  An iteration runs when every level's range is
 * non-empty at the values of the levels outside it. */
typedef struct {
    Ref iv;
    Form lo, last;
    uint8_t full;  /* non-empty at every outer point that runs */
    uint8_t dead;  /* no point of this level runs */
} Level;

/* An index variable in scope (or, in Lower.gone, whose scope has ended). */
typedef struct {
    const char *name;
    Aff val;          /* its value: an affine form of IVARs */
    int line;
    const char *what; /* what it belongs to: "comprehension", "sum", ... */
} IndexVar;

typedef VEC(IndexVar) IndexVec;
typedef VEC(Level) LevelVec;

typedef struct {
    Arena *a;
    Diag *d;
    Sema *s;
    Fn *f;
    Region *r;
    Env *env;
    int inlining;  /* > 0 while lowering a callee's body into a caller */
    int stop;
    unsigned stamp;
    const char *fn_name;
    IndexVec ix;        /* index variables in scope, innermost last */
    LevelVec dom;       /* the iteration domain: one level per index variable */
    IndexVec gone;      /* index variables whose scope has ended, for messages */
    VEC(uint8_t) bad;   /* bad.p[r]: value r stands for an expression in error */
    long enum_left;     /* index.c: enumeration steps left for this function */
} Lower;

/* ---- lower_state.c ---- */
/* Errors, suppressed while inlining (a callee reports its own once). */
void lw_err(Lower *L, Loc loc, const char *fmt, const char *name);
void lw_errf(Lower *L, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A scalar op (a condition for K_BOOL ops) in the current region. */
Ref lw_emit(Lower *L, Loc loc, Op op, Ref a, Ref b);
/* Any instruction in the current region. */
Ref lw_put(Lower *L, Loc loc, Op op, Type ty, Ref a, Ref b);
Ref lw_const(Lower *L, Loc loc, double k);
/* A stand-in for an expression in error: a constant 0 that silences
 * the shape errors of everything computed from it. */
Ref lw_bad(Lower *L, Loc loc);
Ref lw_mark_bad(Lower *L, Ref r);
int lw_is_bad(const Lower *L, Ref r);
/* "; did you mean 'x'?" for an undefined value name (variables and index
 * variables in scope, constants, pi), or "". */
const char *lw_near_value(Lower *L, const char *name);
void lw_env_init(Lower *L, Env *e);
/* The slot of name in e, or -1; create: a new UNDEF slot if none. */
int lw_env_find(Lower *L, Env *e, const char *name, int create);
/* Sets a slot of L->env, logged for lw_env_undo. */
void lw_env_set(Lower *L, int slot, Ref val, int state, int if_line, Ref shape);
/* Unwinds the log of e back to its length `mark`. */
void lw_env_undo(Env *e, int mark);
static inline Type lw_type_of(const Lower *L, Ref r) { return L->f->v.p[r].ty; }

/* ---- lower.c ---- */
Ref lower_expr(Lower *L, const Ast *e);
int lw_check_name(Lower *L, const char *name, Loc loc, const char *what);
/* An integer exponent: an integer literal or constant, maybe negated. */
int lw_int_exponent(Lower *L, const Ast *e, double *n);
/* "'f' takes 2 arguments, but 1 was given" at the call; returns lw_bad(). */
Ref lw_arity_error(Lower *L, const Ast *e, int want);

/* ---- lower_array.c ---- */
/* op over a and b (b NOREF for a unary op; k the POWI exponent),
 * elementwise when either is an array: the caller checked that the
 * shapes are equal or one is a scalar. */
Ref lw_lift(Lower *L, Loc loc, Op op, Ref a, Ref b, double k);
Ref lower_bin(Lower *L, const Ast *e);
Ref lower_pow_call(Lower *L, const Ast *e);
Ref lower_index(Lower *L, const Ast *e);
Ref lower_literal(Lower *L, const Ast *e);
Ref lower_comp(Lower *L, const Ast *e);
Ref lower_reduce(Lower *L, const Ast *e);
/* A built-in called on arrays or taking arrays (sum, dot, ...; exp of an
 * array), or NOREF if e is not a built-in call lower_array.c handles. */
Ref lower_array_call(Lower *L, const Ast *e);
/* "a scalar", "an array of shape [2, 3]"; lw_shape_text: "[2, 3]" */
const char *lw_describe(Lower *L, Type t);
const char *lw_shape_text(Lower *L, Type t);
/* The type of an array with these dimensions, or 0 after an error at loc
 * (more than DX_MAXRANK dimensions, more than 2^31 - 1 elements). */
int lw_array_type(Lower *L, Loc loc, int rank, const int32_t *dim, Type *out);
/* The type a parameter (or return annotation) declares, or 0 after an
 * error in its dimensions. */
int lw_declared_type(Lower *L, const AstList *dims, Loc loc, Type *out);

/* ---- index.c ---- */
typedef enum {
    AK_INDEX,  /* x[i + 1]: index variables and integer constants */
    AK_BOUND,  /* sum(... for j in 0..i+1): likewise */
    AK_STATIC, /* [... for i in 0..N]: integer constants only */
    AK_LOOP,   /* for i in 0..N { ... }: likewise */
    AK_DIM,    /* w[N]: integer constants only */
} AffKind;
/* e as an affine form of the index variables in scope, or 0 after an
 * error at the offending part of e. */
int lower_affine(Lower *L, const Ast *e, AffKind kind, Aff *out);
/* Brings an index variable into scope, bound to val. */
void lw_index_bind(Lower *L, const char *name, Loc loc, Aff val, const char *what);
/* Ends the scope of the innermost n index variables. */
void lw_index_unbind(Lower *L, int n);
IndexVar *lw_index_find(Lower *L, const char *name);
/* The name of generator g may name an index variable here, or reports. */
void lw_check_index_name(Lower *L, const Ast *g);
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
/* The source text of an expression, for messages ("N-1-i"). */
const char *lw_text(Lower *L, const Ast *e);

#endif
