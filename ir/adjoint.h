/*
 * adjoint.h - what linearize.c (forward mode), ad.c (transposition) and
 * tape.c (what the reverse sweep reads back) share: the transposition's
 * maps and a few helpers.  ad.c calls tape.c and linearize.c, tape.c
 * calls linearize.c, linearize.c neither.
 * Internal to the AD passes; the rest of the compiler includes ir.h.
 */
#ifndef ADJOINT_H
#define ADJOINT_H

#include "ir.h"

/* The reverse loop being built for a GEN/RED of g: the scalars defined
 * outside it that it accumulates into get a cell each, read after it. */
typedef struct {
    const Region *src;  /* the GEN/RED body in g */
    Ref loop;           /* the LOOP in h */
    Region *dst;        /* the region holding the LOOP */
    VEC(Ref) xs, cells;
    VEC(char) chained; /* cells[k] started from x's cotangent so far (a
                          for loop's: ad.c, acc_cell) */
} Frame;

/* The transposition's maps from values of g to values of h.  Where the
 * next instruction goes is never kept here: every function that emits
 * takes its region (and builds its IrAt) as an argument. */
typedef struct {
    const Fn *g;   /* linearized input */
    Fn *h;         /* adjoint output */
    Ref *map;      /* g non-lin value -> h value */
    Ref *ct;       /* g lin value -> h cotangent, NOREF for zero; for an
                      array, a ZEROS buffer (or the out_bar seed) */
    unsigned char *live; /* array x: something was accumulated into ct[x] */
    Ref *tape;     /* g non-lin value in a GEN body -> h array holding it */
    Ref *tape_gen; /* ... and the GEN of g it belongs to */
    Ref *ftape;    /* g non-lin CARRY of a FOR -> h tape (one row per
                      iteration), or NOREF when the reverse loop does not
                      need it */
    Ref *egen;     /* g non-lin CARRY changed by one store per iteration
                      (carry_store) -> that store GEN of g, or NOREF */
    Ref *etape;    /* ... -> h tape of the elements (rows) it overwrote */
    Ref *xbuf;     /* ... -> h buffer the reverse loop rebuilds it in */
    unsigned char *one; /* g CARRY -> a while loop's flag that the reverse
                           loop reads as 1, untaped (ir_while_flag);
                           NULL until fwd_for finds one */
    struct Replay **replay; /* g GEN/RED at the top of a FOR's or a sum's
                               body -> the rows its forward copy recorded,
                               or NULL */
    int small_tape; /* record no loop's rows (dxc --tape=small) */
    long long keep_bytes; /* Unit.keep_bytes (0 with small_tape) */
    VEC(Frame) frames; /* reverse loops being built, outermost first */
    VEC(Ref) touched; /* every x whose ct changed, in order (rev_if reads it) */
    unsigned *stamp;  /* rev_if: dedupes touched entries */
    unsigned nstamp;
} Tr;

/* An expensive GEN or RED at the top of a FOR's or a sum's body (a
 * reduction, or an array whose elements are reductions: a matvec) whose
 * values the reverse loop needs: its forward copy records its results,
 * and the element tapes its own reverse loop reads, one row per
 * iteration, so the reverse loop reads them back instead of recomputing
 * it. */
typedef struct Replay {
    int n;
    Ref *x;          /* the g value of each row: a RESULT, or a taped value
                        of the body (T->tape) */
    Ref *tape;       /* the h tape of each row: [trip count, shape...] */
    int *shift;      /* iteration i's row is i - lo + shift[k] */
} Replay;

/* ---- linearize.c: copying IR from one function to another ---- */
Aff *ad_ivar_index(Fn *g, Ref loop);                   /* [iv_0, ..., iv_n-1] */
/* a GEN/RED/LOOP's head (bounds, IVARs; red: kind) copied to dst of g,
 * primal, its body left empty */
Ref ad_clone_loop_head(const Fn *f, Ref id, Fn *g, Region *dst, RedKind kind, Ref *map);
Aff *ad_flat_index(Arena *a, Type t, long flat);        /* element flat of t */
/* Is f's GEN id an element or row store (IF_SETELEM) still in the form
 * lower_store.c gives it: one yield SELECT(cond, v, old[k...])? */
int ad_store_gen(const Fn *f, Ref id);
const char *ad_suffixed(Arena *a, const char *name, const char *suffix);
Fn *ad_derived(const Fn *f, const char *name, FnKind kind);
Ref *ad_ref_map(const Fn *f);                          /* f's values -> NOREF */
/* Hands back m, a map ad_ref_map(f) made, while f has as many values. */
void ad_ref_map_drop(const Fn *f, Ref *m);
/* RESULT k of owner at `at`, typed, named and placed (line) like `from`,
 * the value of another function it stands for.  Standing for a tape as
 * no tape (f_hvp's copy of f_grad's element tape, which f_hvp does not
 * count as one: --stats), it takes the tape's spelled name (x_tape). */
Ref ad_result(IrAt at, Ref owner, int k, const Inst *from);

/* ---- tape.c (ad.c calls it; it calls only ir.c and linearize.c) ---- */
/* The non-lin values of FOR (or sum) id's body its reverse loop needs;
 * for a FOR, stored[j]: carried value j is recorded (NULL for a sum). */
unsigned char *tape_needs(const Fn *g, Ref id, unsigned char *stored);
/* Hands back a table tape_needs made (as large as g). */
void tape_needs_drop(const Fn *g, unsigned char *need);
/* Which loops at the top of id's body record their rows (see Replay). */
unsigned char *tape_replayed(const Fn *g, Ref id, const unsigned char *need, long long keep);
/* tape[i - lo] = v (iv NOREF: row 0), stored at `at` (a FOR body). */
void tape_record_row(IrAt at, Ref tape, Ref iv, int32_t lo, Ref v, Type ct);
/* The row of iteration iv (row iv - lo) of tape, read at `at`: an IDX,
 * or for a row of arrays a GEN's RESULT. */
Ref tape_read_row(IrAt at, Ref tape, Ref iv, int32_t lo);
/* A tape for a value of type ct (named after it), one row per iteration
 * of lo..hi, at `at`. */
Ref tape_new(IrAt at, Type ct, int32_t lo, int32_t hi, const char *name);
/* After the forward copy of FOR (or sum) body src into b of h's loop l:
 * records the rows of loop src[at] (see Replay) in new tapes made before
 * l.  Returns the line of the last row it records (line if none). */
int tape_record_loop(Tr *T, const Region *src, int at, Region *b, Ref l, int32_t lo, int32_t hi, int line);
void tape_replay_loop(Tr *T, Ref id, Ref iv, int32_t lo, Region *dst);

#endif
