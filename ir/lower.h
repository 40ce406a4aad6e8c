/*
 * lower.h - private to the lowering of the syntax tree into IR:
 *
 *   lower.c        scalar expressions, statements, functions (ir_lower)
 *   lower_array.c  array operations: elementwise arithmetic and built-ins,
 *                  @, literals, comprehensions, reductions, indexing
 *   lower_loop.c   while loops, break and continue (as flags of a for)
 *   index.c        index expressions as affine forms, the iteration domain
 *                  of the index variables in scope, and the compile-time
 *                  proofs that every index stays in range
 *   lower_store.c  element and row stores x[i] = e (lower.c calls it)
 *   lower_state.c  what they all do with Lower: errors, the environment,
 *                  emitting instructions
 *
 * Each file calls only those listed after it, except that lower.c and
 * lower_array.c call each other (an array expression holds scalar ones
 * and the other way round), and so do lower.c and lower_loop.c (a loop
 * body holds statements).  This header declares the first two; index.h
 * and lower_state.h, which it includes, the others.
 *
 * Shapes are static: every value's shape is its IR Type, so lowering
 * never looks at array sizes (a [784, 128] matrix-vector product is a GEN
 * holding a RED, a handful of instructions), and never unrolls.
 */
#ifndef LOWER_H
#define LOWER_H

#include "index.h"

/* ---- lower.c ---- */
Ref lower_expr(Lower *L, const Ast *e);
Ref lower_cond(Lower *L, const Ast *e);
int lw_check_name(Lower *L, const char *name, Loc loc, const char *what);
/* An integer exponent: an integer literal or constant, maybe negated. */
int lw_int_exponent(Lower *L, const Ast *e, double *n);
/* "'f' takes 2 arguments, but 1 was given" at the call; returns lw_bad(). */
Ref lw_arity_error(Lower *L, const Ast *e, int want);

/* lw_stmts: a block of statements (top: a function's body);
 * lw_branches: an IF on c whose arms are arm[0] and arm[1], with the
 * variables they assign merged after it.  else_jumped: the loop's
 * iteration has already been left on the else path (a break or continue
 * before it), so what the then path defines counts as defined after. */
void lw_stmts(Lower *L, const AstList *body, int top);
void lw_branches(Lower *L, Loc loc, Ref c, const AstList *const arm[2], int else_jumped);

/* ---- lower_loop.c ---- */
typedef VEC(const char *) NameVec;
/* The loop whose body is being lowered: its flags (env slots, -1 when
 * the loop has none; see lower_loop.c) and what its jumps did so far. */
typedef struct LwLoop {
    int run, go;           /* `running` (carried), `go_on` (per iteration) */
    const char *run_name, *go_name; /* their names in the environment */
    int jumped;            /* the block so far leaves the iteration on every path */
    int jumps;             /* breaks and continues lowered so far */
    Ref first;             /* the first instruction of the loop */
    struct LwLoop *outer;
} LwLoop;
/* Starts loop st (a FOR or WHILE) before its FOR instruction is made:
 * adds its `running` flag to the carried names. */
void lw_loop_begin(Lower *L, const Ast *st, LwLoop *lp, NameVec *names);
/* The body of st, in the FOR's region; lw_loop_end after the RESULTs. */
void lw_loop_body(Lower *L, const Ast *st);
void lw_loop_end(Lower *L, LwLoop *lp);
/* The iteration range of a while loop (0..N), or 0 after an error. */
int lw_while_range(Lower *L, const Ast *st, Aff *lo, Aff *hi);
/* A break or continue statement. */
void lw_jump(Lower *L, const Ast *st);
/* After statement i of body (its jumps counted from jumps0): when it may
 * leave the iteration, lowers the statements after it under a guard and
 * returns 1. */
int lw_guard_rest(Lower *L, const AstList *body, int i, int jumps0);
/* A value of type t (zero) in arm k of the IF nif, for a variable that
 * arm leaves undefined because it left the iteration. */
Ref lw_jumped_value(Lower *L, Ref nif, int k, Type t);

/* ---- lower_array.c ---- */
/* op over a and b (b NOREF for a unary op; k the POWI exponent),
 * elementwise when either is an array: the caller checked that the
 * shapes are equal or one is a scalar. */
Ref lw_lift(Lower *L, Loc loc, Op op, Ref a, Ref b, double k);
Ref lower_bin(Lower *L, const Ast *e);
Ref lower_pow_call(Lower *L, const Ast *e);
Ref lower_index(Lower *L, const Ast *e);
/* The affine forms of an indexing's indices (args) into ix, each checked
 * in range of t's dimensions (arr names the array in messages); returns
 * how many index dimensions (at most t.rank), or -1 after an error. */
int lw_indices(Lower *L, const AstList *args, Type t, const char *arr, Aff *ix);
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
/* The name of generator g may name an index variable here, or reports. */
void lw_check_index_name(Lower *L, const Ast *g);

/* ---- lower_store.c ---- */
/* x[i, j] = e or X[t] = v (st an AST_ASSIGN with indices): rebinds x to
 * a copy of its value with that element or row replaced. */
void lw_lower_store(Lower *L, const Ast *st);

#endif
