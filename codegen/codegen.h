/*
 * codegen.h - writing a compiled Program: C source, a C header, and the
 * two views for readers (the IR as text is ir_print; the graph for
 * Graphviz is cg_dot).
 */
#ifndef CODEGEN_H
#define CODEGEN_H

#include <stdio.h>

#include "../ir/ir.h"

typedef struct {
    int use_float;          /* --real=float */
    const char *src_path;   /* shown in the banner */
    const char *header;     /* --header: its file name, for the guard */
} CgOpts;

/* The C file: every unit's f, f_grad (or f_vjp), f_jvp and f_hvp. */
void cg_c(const Program *p, const CgOpts *o, FILE *out);
/* The header: guards and the prototypes of cg_c's entry points. */
void cg_header(const Program *p, const CgOpts *o, FILE *out);
/* The forward and adjoint graphs of every function, in Graphviz dot. */
void cg_dot(const Program *p, FILE *out);
/* The IR of every entry point, as text. */
void cg_ir(const Program *p, FILE *out);

#endif
