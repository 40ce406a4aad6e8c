/*
 * lower_state.h - the state of one lowering (Lower: the function being
 * built, the variables and index variables in scope, the iteration
 * domain) and what lower_state.c does with it.  Every part of the
 * lowering includes it; see lower.h for the parts.
 */
#ifndef LOWER_STATE_H
#define LOWER_STATE_H

#include "ir.h"

enum { UNDEF, DEF, PARTIAL };
enum {
    /* Inlining can multiply code exponentially (f1 calls f0 twice, f2
     * calls f1 twice, ...): a function that would exceed Lower.max_ops
     * syntax-tree nodes once its calls are inlined is rejected (dxc
     * --max-ops, by default IR_MAX_OPS), and so is one whose lowering
     * passes INSTS_PER_OP times that many instructions. */
    INSTS_PER_OP = 8,
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
    Slot *slot;    /* n slots in order of creation (cap allocated) */
    int cap, n;
    int *tab;      /* hash table of tcap entries: slot number + 1, 0 empty */
    int tcap;
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
    long max_ops;       /* the limit on a function's size (see INSTS_PER_OP) */
    IndexVec ix;        /* index variables in scope, innermost last */
    LevelVec dom;       /* the iteration domain: one level per index variable */
    IndexVec gone;      /* index variables whose scope has ended, for messages */
    VEC(uint8_t) bad;   /* bad.p[r]: value r stands for an expression in error */
    long enum_left;     /* index.c: enumeration steps left for this function */
    struct LwLoop *loop; /* lower_loop.c: the innermost loop being lowered, or NULL */
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
void lw_env_free(Lower *L, Env *e);
/* The slot of name in e, or -1; create: a new UNDEF slot if none. */
int lw_env_find(Lower *L, Env *e, const char *name, int create);
/* Sets a slot of L->env, logged for lw_env_undo. */
void lw_env_set(Lower *L, int slot, Ref val, int state, int if_line, Ref shape);
/* Unwinds the log of e back to its length `mark`. */
void lw_env_undo(Env *e, int mark);
static inline Type lw_type_of(const Lower *L, Ref r) { return L->f->v.p[r].ty; }

#endif
