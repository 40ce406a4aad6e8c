/*
 * cgen.h - the C generator's shared state, internal to codegen/.
 *
 *   cnames.c   strings, sets of names, unique names, literals.
 *   cvars.c    what the analysis says of a value: its variable, whether
 *              it is written inline.
 *   cfor.c     for loops' carried variables: which values share them.
 *   canalyse.c how one function will read: which values become
 *              variables, their names, where arrays live (cg_prepare).
 *   cbody.c    its statements: expressions, loops, the source lines
 *              they come from (cg_body).
 *   cexplain.c the chain-rule comments of --explain.
 *   cpoly.c    the digamma, trigamma and tetragamma helpers.
 *   cmaths.c   the maths hooks: <math.h> called through DX_EXP, ...
 *   clines.c   --line-directives: #line before each statement.
 *   cgen.c     the file around the bodies: entry points and their
 *              signatures, the stack budget and the workspace variants,
 *              helpers, the header (cg_c, cg_header, cg_check).
 */
#ifndef CGEN_H
#define CGEN_H

#include "codegen.h"

#include "ctext.h"

#include <pthread.h>

void cg_putf(Str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a C string literal, quotes included ("a\"b", octal escapes for
 * what is not printable ASCII). */
void cg_fput_quoted(FILE *out, const char *s);

/* A set of names in use, open addressing; each slot keeps its name's
 * hash beside it, so a probe reads one slot (a large program's sets do
 * not fit in the cache), rarely the name, and growing hashes nothing. */
typedef struct {
    const char *name; /* NULL: an empty slot */
    unsigned hash;
} NameSlot;
typedef struct {
    NameSlot *slot;
    int cap, n;
    int tmp_forms; /* a name of the form t<digits> was added */
    Arena *a;
} Names;

int cg_names_has(const Names *ns, const char *s);
void cg_names_add(Names *ns, const char *s);
/* Room for n more names, so that the table need not grow while they are
 * added one by one. */
void cg_names_reserve(Names *ns, long n);

/* One statement a derivative rule made, for --explain: the rule's op, the
 * operand k it differentiates by, POWI's exponent n, the source line, the
 * C text of the result (NULL: write the op's form) and of the operands,
 * and where the adjoint accumulates (xbar += ybar * d; xbar NULL: a local
 * derivative the forward pass computes); form, if not NULL, the
 * primal expression as the source writes it, instead of the op's form
 * of the operands. */
typedef struct {
    Op op;
    int k, n, line;
    const char *y, *arg[3], *xbar, *ybar, *form;
} CgExplain;

/* The comment text for e ("line 3: p = sigmoid(z); dp/dz = ..."), safe
 * inside a C comment, or NULL where the op has no rule for operand k. */
const char *cg_explain_text(Arena *A, const CgExplain *e);
/* Primal value v of f as the source writes it (csource.c): its source
 * name if it has one and `named`, else its expression in its operands'
 * source texts ("relu(x * w + b)", "(Wh @ h)[j]"), inner parts "..."
 * when long; an index the source does not name by its C name in cname
 * (may be NULL).  v need not be live. */
const char *cg_source_text(Arena *A, const Fn *f, const char *const *cname, Ref v, int named);
/* s made safe inside a C comment: printable ASCII, no comment delimiter. */
char *cg_comment_safe(Arena *A, const char *s);
/* The local derivative d y / d operand k of op, symbolic: operands
 * arg[0..2] (parenthesised unless plain names), the result y (NULL: the
 * op's form), POWI's exponent n ("2*x", "p*(1 - p)"); NULL where op has
 * no rule for operand k.  The learning views label edges with it. */
const char *cg_partial_text(Arena *A, Op op, int k, const char *const arg[3], const char *y, int n);

enum { H_SIGMOID, H_DSIGMOID, H_SOFTPLUS, H_DIGAMMA, H_TRIGAMMA, H_TETRAGAMMA, H_MULZ, H_DIVZ,
       H_COUNT };
struct Cg;
/* cpoly.c: the static helper for psi^(n) (n = 0, 1, 2) named name. */
void cg_polygamma_helper(struct Cg *c, FILE *out, int n, const char *name);

/* The <math.h> functions generated code may call (cmaths.c). */
enum { CG_MATHS = 21 };

/* Where an array value lives (by the representative of its variable). */
enum {
    ST_NONE,
    ST_LOCAL,  /* a local array (or its place in the workspace) */
    ST_OUT,    /* the caller's output array */
    ST_PARAM,  /* a parameter */
    ST_PTR,    /* a pointer to one of the arrays an if picks from */
};

/* The texts cg_literal made for values not integers, by the bits of the
 * value: programs repeat their constants (0.5, 1e-3), and finding the
 * shortest digits costs thousands of instructions (snprintf and strtod
 * at each precision).  Open addressing; text NULL: an empty slot. */
struct CgLits {
    uint64_t *key;
    const char **text;
    int cap, n;
};

typedef struct Cg {
    const Program *p;
    const CgOpts *o;
    Arena *A;                  /* where this writer allocates: the program's
                                  arena, or one of its own when functions are
                                  written in parallel (cg_c) */
    Names globals;             /* entry points, helpers, workspace macros */
    struct CgLits *lits;       /* cg_literal's texts of non-integers */
    const char *helper[H_COUNT];
    int helper_used[H_COUNT];
    unsigned char maths_used[2 * CG_MATHS]; /* cmaths.c: the hooks called */
    int ties_used;             /* a max or min reduction written in a
                                  derivative, which counts its ties by
                                  computing its elements again */
    const char *maths_hook[2 * CG_MATHS]; /* their names, once made */
    int nlines;
    const char **line_comments; /* each source line's comment, as it heads
                                  its statements (the line's number and text,
                                  a newline: cg_source_lines), NULL before */
    /* ---- per function (cg_prepare) ---- */
    const Fn *f;
    size_t ntab;               /* the per-value tables' length (0: none yet) */
    int ws;                    /* local arrays live in the caller's workspace */
    Names locals;
    const char **suffix_key;   /* next_suffix's table */
    int *suffix_val, suffix_cap, nsuffix;
    int *uses;                 /* reads (an ACC's buffer is not one) */
    const Region **use_reg;    /* where the last read is (NULL without
                                  branches and loops: cg_use_reg) */
    Ref *user;                 /* the last reader, NOREF for a yield or output */
    int *pos, *use_pos, npos;  /* program order of definitions and reads */
    int has_loops;             /* the function has a GEN, RED, LOOP or FOR */
    int has_ifs;               /* ... an IF (else the phases about branches
                                  have nothing to do) */
    int *region_end;           /* the position after v's region (NULL
                                  without branches and loops: body_end) */
    int body_end;
    int *branch_end[2];        /* where an IF's then/else (a loop's body) ends;
                                  NULL, as hint and stop_n, without loops */
    unsigned char *nodiff;     /* a NODIFF (cg_resolve reads this byte, not
                                  the instruction, whose line is seldom
                                  in the cache); NULL before cg_prepare */
    unsigned char *force;      /* must be a variable */
    unsigned char *tie_tape;   /* a tape that a value force_rounded rounds
                                  reads back (a max's element, an operand
                                  of ==): what is stored in it is rounded
                                  too (guard_buffer_reads; NULL until one) */
    int ntie_tape;             /* tapes marked so */
    unsigned char *frozen;     /* reads a cell no ACC changes afterwards */
    unsigned char *hoist;      /* declared at function scope */
    unsigned char *loop_yield; /* read by the yield of a GEN or RED body */
    unsigned char *store;      /* ST_*: array storage, by representative */
    unsigned char *bar;        /* lives in a gradient output (x_bar) */
    unsigned char *read;       /* some value of the variable is read */
    unsigned char *carried;    /* a for loop's carried variable */
    unsigned char *inlined;    /* cg_inlined's answers, kept once cg_prepare
                                  is done (NULL before): cbody.c asks them
                                  again and again */
    const char **hint;         /* a name for a value the source leaves unnamed */
    int *last_read;            /* position of the last statement reading v
                                  (cfor.c; NULL without loops) */
    Ref *carry_result;         /* by CARRY: the FOR's RESULT for it, NOREF
                                  if none (cg_share_carries; NULL without
                                  for loops) */
    int *class_last;           /* by variable: the last read of any of its
                                  values (cg_share_carries, while it shares
                                  initial values) */
    unsigned char *tape_rows;  /* by tape buffer: what its rows hold
                                  (cbody.c's tape_what; NULL without loops) */
    int *order_at;             /* v's index in order */
    VEC(Ref) order;            /* every instruction, in program order */
    Ref *var;                  /* the value whose variable v is stored in */
    const char **cname;        /* variable (by class representative) */
    const char **in_names, **out_names;
    VEC(Ref) params;           /* the body's PARAMs, in its order */
    unsigned char *in_place;   /* output i is computed in its pointer */
    const char *work;          /* the workspace parameter's name */
    long long *off;            /* local array: its offset in the workspace
                                  (NULL until place_locals meets one) */
    unsigned char *zeroed;     /* local array declared zeroed (cg_fills_by_select;
                                  NULL until place_locals meets one) */
    long long frame;           /* elements of all local arrays */
    int *acc_start, *acc_pos;  /* each buffer's ACC positions, in order */
    const char **stop_n;       /* a backward FOR: the variable holding the
                                  iterations its forward loop ran (cg_exit_flag) */
    /* ---- while writing the body (cg_body) ---- */
    Str first;                 /* the first half of a body written in two
                                  (emit_top), whose text precedes body's */
    Str body;
    int indent;
    int backward_started;
    int joined_said;           /* a joined loop's comment is written */
    int joined_first;          /* ... first of all: no forward pass before it */
    int tmp;                   /* temporaries named: t1 ... t<tmp> (cg_unique_tmp) */
    int tmp_unlisted;          /* t1 ... t<tmp_unlisted> are not in locals */
    int t_named;               /* a name t<digits> not a temporary's is in locals */
    VEC(const char *) active;  /* loop indices in scope */
    VEC(Ref) stopped;          /* the flags of the loops around that leave at
                                  their exit test (emit_exit): nonzero here */
    VEC(int) said;             /* by nesting depth: the source line announced */
    int last_line;             /* the source line of the last statement */
    int fresh;                 /* nothing written since the body or a pass began */
    int halves;                /* cg_body may write the body on two threads
                                  (set by the writer); after it, whether it did */
} Cg;

/* cnames.c */
const char *cg_real_t(const Cg *c);
const char *cg_unique(Cg *c, Names *ns, const char *base);
/* A unique name for the next temporary, t<++c->tmp>: a local that is
 * not in c->locals while no other name of that form is (they are most
 * of a large function's locals, and its table of names is far larger
 * than the cache); every test of c->locals counts t1 ... t<tmp_unlisted>
 * in it (cg_local_taken). */
const char *cg_unique_tmp(Cg *c);
/* Whether the local name s is taken: in c->locals, or an unlisted
 * temporary's. */
int cg_local_taken(const Cg *c, const char *s);
void cg_literal(const Cg *c, double v, Str *s);

/* cmaths.c */
/* The hook through which the code calls <math.h>'s fn ("exp"; with
 * use_float its float form, expf): "DX_EXP", "DX_EXPF"; marked called. */
const char *cg_maths(Cg *c, const char *fn, int use_float);
/* name is one of the hooks' macros. */
int cg_maths_hook(const char *name);
/* Reserves every hook's name in c->globals: no variable takes one. */
void cg_maths_reserve(Cg *c);
/* The hooks the code calls, each defined as its libm function unless
 * defined already, and the DX_MATH_HEADER include; nothing if none. */
void cg_maths_hooks(const Cg *c, FILE *out);

/* clines.c */
/* The line before a statement from source line N, with --line-directives:
 * CG_LINE_MARK, N, newline; cg_line_directives makes it a #line. */
#define CG_LINE_MARK '\001'
/* text (the C file, holding marks) to out, each mark a #line directive
 * into the .dx file dx, and the first line of code after marked
 * statements preceded by a #line back into the C file cfile. */
void cg_line_directives(const char *dx, const char *cfile, const char *text, size_t len, FILE *out);

/* cvars.c; cg_resolve, cg_var_of and cg_inlined, inline, in cvars.h */
int cg_inlined_now(const Cg *c, Ref v); /* cg_inlined before its answers are kept */
#include "cvars.h"

/* canalyse.c */
/* Analyses f and names everything; ws: local arrays go to the
 * workspace (their offsets and c->frame are computed either way). */
void cg_prepare(Cg *c, const Fn *f, int ws);
/* Hands back the last prepared function's tables (as large as its IR)
 * once nothing reads them. */
void cg_release(Cg *c);
int cg_is_loop(const Inst *in);         /* GEN, RED, LOOP or FOR */
/* The prototype of f under `name` (extra: a final parameter, or NULL);
 * def: for the definition, whose pointers are restrict. */
void cg_signature(Cg *c, const Fn *f, const char *name, const char *extra, int def, Str *s);

/* cfor.c */
/* Carried variables: representatives, initial and new values computed
 * in place (after chain_region and share_yields, before naming). */
void cg_share_carries(Cg *c);
/* The source name of carried variable j of FOR id (x, x_dot), or NULL. */
const char *cg_carried_name(const Cg *c, Ref id, int j);
/* The carried flag of a while loop (or of a for loop holding a break)
 * once FOR id may stop early: its index, or -1.  In a gradient, *rev is
 * the backward loop that then starts from the last iteration that ran. */
int cg_exit_flag(const Cg *c, Ref id, Ref *rev);
/* A tape: values the forward pass records for the backward pass, a for
 * loop's (a ZEROS buffer, one row per iteration, line: the loop's) or a
 * comprehension's (the array of a GEN). */
int cg_is_tape(const Inst *in);
/* cbody.c: GEN gen (its first result res) is written as a loop whose
 * element is chosen by an index comparison (an element store not made in
 * place: x2[i] = i == 1 ? e : x[i]). */
int cg_fills_by_select(const Cg *c, Ref gen, Ref res);
/* root is the variable FOR id carries (its RESULT or CARRY), declared
 * with the loop rather than shared with another. */
int cg_owns(const Cg *c, Ref id, Ref root);

/* cbody.c */
/* An array's size in a declaration (`128 * 784`). */
void cg_dims(const Cg *c, Str *s, Type t);
/* Writes the statements of the prepared function to c->body (with
 * c->halves, perhaps on two threads: then its first half to c->first,
 * whose text precedes c->body's) and the declarations that precede them
 * to *decl. */
void cg_body(Cg *c, Str *decl);
/* Whether f's body is large enough for cg_body to write it in halves
 * (when c->halves allows it and a place to cut is found). */
int cg_halves_size(const CgOpts *o, const Fn *f);
/* cthread.c: starts run(arg) on a new thread with a stack as large as the
 * compiler's own (expressions are written recursively); 0 on failure. */
int cg_thread(pthread_t *t, void *(*run)(void *), void *arg);
/* cthread.c: what another writer's text calls (helpers, maths hooks),
 * added to what c's does. */
void cg_merge_used(Cg *c, const int helper_used[H_COUNT], const unsigned char maths_used[2 * CG_MATHS], int ties_used);
/* Makes c->line_comments, the comment of each line of src as it heads
 * the line's statements, once: before functions are written in parallel,
 * which only read it. */
void cg_source_lines(Cg *c, const Source *src);

#endif
