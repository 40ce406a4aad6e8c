/*
 * view.h - what the learning views show of one function: its graph,
 * and with --at its values and adjoints at a point.
 *
 * view_build turns a unit's primal function (after opt-primal, the
 * function the C file's f computes) into nodes and edges:
 *
 *   - a node per instruction a reader can name: parameters, constants,
 *     every operation, the results of GENs, reductions, FORs and IFs and
 *     a FOR's carried values (index variables are not nodes);
 *   - an edge per operand, from the operand's node to its user's, with
 *     the local derivative d user / d operand written in the source's
 *     names ("c", "p*(1 - p)"), NULL where nothing is differentiated (a
 *     condition, an index);
 *   - a cluster per loop and per branch, drawn once (never unrolled):
 *     "for t in 0..9" with its carried values, "sum over i in 0..n",
 *     "gen [3, 4]", "then"/"else" of an "if".
 *
 * With a point (--at), the recording interpreter (ir_record) runs the
 * function once: every node gets the values it took, in the order it
 * took them (a node in a loop body once per iteration, an array ty_size
 * values a time, row-major), and for a scalar result every active node
 * the adjoint d result / d value of each (seed 1), as the reverse sweep
 * of f_grad accumulates it.  Edges between nodes that ran once get the
 * value of their local derivative.
 *
 * The backward graph of a picture is the forward one mirrored: an
 * adjoint node x_bar for every active node x, and for every forward
 * edge x -> y with a derivative, an edge y_bar -> x_bar carrying
 * "y_bar * d".
 */
#ifndef DX_VIEW_H
#define DX_VIEW_H

#include "codegen.h"

typedef struct {
    int from, to;       /* node indices */
    int k;              /* which operand of `to` (-1: a structural edge) */
    const char *kind;   /* NULL for an operand; "each" (a GEN's elements),
                           "sum", "prod", "max", "min" (a reduction's
                           terms), "last" (a FOR's result), "then",
                           "else" (an IF's results), "init", "next" (a
                           carried value's first and later values),
                           "cond" (a condition) */
    const char *d;      /* d to / d from, symbolic, source names; NULL:
                           not differentiated */
    int has_dval;       /* dval holds d's value at the point */
    double dval;
} VEdge;

typedef struct {
    Ref id;             /* the primal instruction */
    const char *op;     /* lower-case op: "param", "const", "mul",
                           "sigmoid", "result", "carry", "idx", "lit" */
    const char *name;   /* the source's name for it, or NULL */
    const char *label;  /* how a picture names it: its name, a constant's
                           value, else its expression ("a + b", shortened
                           with "..." past 40 characters) */
    const char *expr;   /* its expression in its operands' labels ("a +
                           b", "sigmoid(z)"), or its label */
    const char *var;    /* what the adjoint texts call it (var_bar): its
                           name; the function's name for an unnamed
                           result; t<node index> for other temporaries */
    int line;           /* its source line (0: none) */
    int cluster;        /* the innermost cluster holding it, or -1 */
    Type ty;
    int param;          /* parameter index, or -1 */
    int active;         /* it has an adjoint: a differentiated parameter
                           reaches it and it reaches the result */
    long nval;          /* --at: values recorded (0: never ran) */
    const double *val;  /* nval values, in the order computed */
    const double *adj;  /* nval adjoints, or NULL (not active, or the
                           result is not a scalar) */
} VNode;

typedef struct {
    const char *kind;   /* "for", "gen", "sum", "prod", "max", "min",
                           "then", "else" */
    const char *label;  /* "for t in 0..9", "sum over i in 0..n",
                           "gen [3, 4]", "then (x > 0)", "else" */
    int parent;         /* the enclosing cluster, or -1 */
    int line;
    int head;           /* node index of what the loop or branch makes
                           (its first result), or -1 */
    long runs;          /* --at: how many times its body ran */
} VCluster;

typedef struct {
    const char *name;
    Type ty;
    int data;           /* marked data: no gradient */
    int node;           /* its node */
    const double *val;  /* --at: its value, ty_size elements */
    const double *grad; /* --at, scalar result, not data: d result / d it */
} VParam;

typedef struct {
    const Fn *f;        /* the primal function */
    VNode *nodes;
    int nnodes;
    VEdge *edges;
    int nedges;
    VCluster *clusters;
    int nclusters;
    VParam *params;
    int nparams;
    int result;         /* the node of the (first) result */
    int at;             /* values present (--at) */
    int too_big;        /* --at: the run computes too many values to
                           record (ir_record): no values */
    int scalar;         /* the result is a scalar: adjoints present */
    const double *value;/* --at: the result, ty_size(result type) values */
} View;

/* The view of u's primal function; at: one array of ty_size values per
 * parameter (row-major), or NULL for the graph alone. */
View *view_build(Arena *A, const Unit *u, const double *const *at);

/* Number formatting shared by the views a person reads: %.6g, 0 for
 * -0, "nan", "inf", "-inf" (JSON writes every digit). */
const char *view_num(Arena *A, double x);
/* A value for a label: a scalar as view_num; an array (n values of type
 * ty) as "[3, 4]: 1, 2, 3, ... (|v| = 5.477)" with at most `first`
 * elements. */
const char *view_summary(Arena *A, const double *v, long n, Type ty, int first);

/* A derivative d as a factor: parenthesised if it has a space outside
 * parentheses ("y_bar * (1 - h^2)", "y_bar * 2*x"). */
const char *view_factor(Arena *A, const char *d);

/* Node n's values (v: n->val) or adjoints (v: n->adj) for a sentence:
 * one number, an array's summary, or a value in a loop body by run ("by
 * run (30): 1, 0.73, 0.67, ..., 0.66"); a node that never ran says so. */
const char *view_values(Arena *A, const VNode *n, const double *v);
/* The chain-rule step of edge e in the backward pass, "x_bar += y_bar *
 * d" (a carried value's: "of the step after", "of the first step", "at
 * the last step"), with " = adjoint * derivative" where both are known. */
const char *view_step(Arena *A, const View *v, const VEdge *e);

/* The emitters, each of n views (vs[0..n)), to out. */
void cg_json(Arena *A, View *const *vs, int n, FILE *out);     /* vjson.c */
void cg_values(Arena *A, View *const *vs, int n, FILE *out);   /* vtext.c: --at alone */
void cg_dot(Arena *A, View *const *vs, int n, FILE *out);      /* vgraph.c */
void cg_mermaid(Arena *A, View *const *vs, int n, FILE *out);  /* vgraph.c */
/* vhtml.c: the page also shows p's C code (forward and adjoint). */
void cg_html(Arena *A, const Program *p, const CgOpts *o, View *const *vs, int n, FILE *out);

#endif
