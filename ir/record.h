/*
 * record.h - between the interpreter (interp.c) and the recorder
 * (record.c): what ir_record hooks into a run.
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
#ifndef DX_RECORD_H
#define DX_RECORD_H

#include "ir.h"

typedef struct Rec Rec;

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
