/*
 * wengert.h - the Wengert list ir_record keeps of a run: the interpreter
 * (interp.c) writes it, the recorder (record.c) sweeps it backwards.
 *
 * While the interpreter runs with a Rec, every value it computes becomes
 * an entry of a Wengert list (Wengert, "A simple automatic derivative
 * evaluation program", CACM 1964): the instruction, the value and up to
 * three edges to the entries of its operands, each with the local
 * derivative's value.  ent(R, id) mirrors the interpreter's storage of
 * instruction id, one entry index per element (-1: a constant, nothing
 * to differentiate).  A "shown" entry is a value the instruction takes
 * (its history in the views); a reduction's running totals are not.
 */
#ifndef DX_WENGERT_H
#define DX_WENGERT_H

#include "ir.h"

enum { REC_MAX = 1 << 23 }; /* entries a run may make */

/* One value: the instruction, whether it is shown, the entries it was
 * computed from with the local derivatives. */
typedef struct {
    Ref id;
    uint8_t shown, nedge;
    long from[3];
    double d[3];
    double val;
} Ent;

typedef struct Rec {
    const Fn *f;
    Ent *e;
    long n, cap;
    int over;       /* more than REC_MAX entries were asked for */
    long **ent;     /* per instruction, ty_size entry indices */
} Rec;

/* The entry indices of instruction id's current value (ty_size of them). */
long *rec_ent(Rec *R, Ref id);
/* A new entry of instruction id holding v (shown: part of its history),
 * with no edges yet; -1 once the recording is over its size limit. */
long rec_new(Rec *R, Ref id, double v, int shown);
/* An edge from entry `from` (nothing if -1) into entry e, with the local
 * derivative d e / d from. */
void rec_edge(Rec *R, long e, long from, double d);
/* The scalar instruction id of f computed y from operand values x: its
 * entry, with an edge per differentiated operand (rules.c's partials). */
void rec_scalar(Rec *R, const Fn *f, Ref id, const double *x, double y);

#endif
