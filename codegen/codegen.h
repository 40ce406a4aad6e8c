/*
 * codegen.h - writing a compiled Program: C source, a C header, the IR
 * as text (ir_print_program), and the learning views of view.h.
 */
#ifndef CODEGEN_H
#define CODEGEN_H

#include <stdio.h>

#include "../ir/ir.h"

/* The default stack budget: bytes of local arrays one entry point may
 * keep on the stack (--stack-budget). */
#define CG_STACK_BUDGET (1LL << 20)

typedef struct CgOpts {
    int use_float;          /* --real=float */
    const char *src_path;   /* shown in the banner */
    const char *header;     /* --header: its file name, for the guard */
    long long stack_budget; /* bytes; CG_STACK_BUDGET unless told */
    int workspace;          /* --workspace: add the f_ws variants */
    int explain;            /* --explain: chain-rule comments (only comments change) */
    const char *prefix;     /* --prefix: starts every function's name (the
                               pipeline adds it) and the header's macros; or NULL */
    int line_directives;    /* --line-directives: #line into the .dx file */
    int no_hooks;           /* maths called by <math.h>'s names, not through the
                               DX_EXP hooks (the HTML view, read by learners) */
    const char *c_path;     /* the C file's name the #lines return to */
    int entries;            /* --entries: ENTRY_* bits of the entry points the C
                               file, the header, --stats and the IR hold (0: all) */
    const char *helper_prefix; /* starts the names of the static helpers
                               (dx_sigmoid, ...): "dx_" unless told (a second
                               copy of a model in one file takes another) */
    /* Called by cg_c once it has written a function, which it reads no
     * more (the pipeline frees its instructions when nothing else will
     * read them, and first calls the one its caller set); NULL: none. */
    void (*written)(const struct Fn *f, void *arg);
    void *written_arg;
    int jobs;               /* --jobs: threads cg_c writes functions on (0, 1:
                               the calling thread alone); the C is the same */
    size_t spill_bytes;     /* the C text of written functions cg_c holds in
                               memory before it moves it to a temporary file
                               (0: it never does); the C is the same */
    int *spilled;           /* if not NULL, cg_c adds to it how many functions
                               went through the temporary file (the tests ask) */
    int split_min;          /* the top-level items a function's body needs to
                               be written in two halves on two threads, once
                               every function is given and o->jobs > 1 (0: a
                               default for large programs; the tests set it
                               low); the C is the same */
    int *split;             /* if not NULL, cg_c adds to it how many functions
                               were written in two halves (the tests ask) */
    int cut_misjudged;      /* the tests: the state the second half of a body
                               assumes is wrong, so that it is written again
                               after the first; the C is the same */
    size_t text_mapped;     /* the bytes of a function's C text from which it
                               grows in a mapping of its own (cnames.c; 0: a
                               default for large programs; the tests set it
                               low); the C is the same */
    DxTimes *times;         /* --time-report: each function's analysis and C
                               recorded (common/timing.c), or NULL; ir_pipeline
                               sets it from its Job's */
    int *verified;          /* if not NULL, the C file's writers add to it
                               how many functions they checked for the
                               pipeline (Fn.verify_pending) */
    int *mapped;            /* if not NULL, cg_c adds to it how many functions'
                               text was mapped (the tests ask) */
    /* Appends len bytes from offset `at` of the temporary file to
     * append_to when cg_c writes to that stream (the driver's output,
     * which copies them in the kernel); returns 0 or an errno value.
     * NULL: cg_c reads them back and writes them itself. */
    int (*append)(void *arg, FILE *from, long long at, long long len);
    void *append_arg;
    FILE *append_to;
} CgOpts;

/* Errors that stop cg_c before it writes anything: an entry point whose
 * local arrays exceed the stack budget (without --workspace), a function
 * named like a workspace macro.  Returns their number. */
int cg_check(const Program *p, const CgOpts *o, Diag *d);
/* The bytes of local arrays f's C would keep on the stack (or, with
 * o->workspace, in the workspace), 0 when they surely fit the budget;
 * *tape_line: the
 * source line of the for loop whose tapes are the largest of them, 0
 * when the largest is no loop's tape. */
long long cg_frame(const Program *p, const CgOpts *o, const struct Fn *f, int *tape_line);
/* The C file: every unit's f, f_grad (or f_vjp), f_jvp and f_hvp (those
 * o->entries selects), and with o->workspace their f_ws variants; the
 * maths hooks they call; with o->line_directives, #line directives.
 * Call cg_check first. */
void cg_c(const Program *p, const CgOpts *o, FILE *out);
/* The C file written function by function, each as soon as it is final
 * (the pipeline's plain C output: a function's instructions are freed
 * once written, while the passes build the next).  fns[0..n-1] are the
 * entry points the file will hold, in its order, before they exist (their
 * names are the file's global names); those o->entries selects are
 * written.  Eagerly, o->jobs - 1 threads start at once and write what is
 * given while the caller goes on, and with one job cg_stream_give writes
 * it at once; with `header`, each function's prototypes are kept as it
 * is written, for the header; otherwise everything is written in cg_stream_finish, as
 * cg_c does.  The C is the same whatever the order and the threads. */
typedef struct {
    const char *name;
    FnKind kind;
} CgPlanned;
typedef struct CgStream CgStream;
CgStream *cg_stream_start(const Program *p, const CgOpts *o, const CgPlanned *fns, int n, int eager,
                          int header);
/* f, fns[planned] (the entry point planned), is final: no pass changes
 * it any more (the writers read it). */
void cg_stream_give(CgStream *s, int planned, const struct Fn *f);
/* Whether fns[planned] was given. */
int cg_stream_given(const CgStream *s, int planned);
/* o->written on each function written since the last call but `keep`
 * (only the caller allocates in the program's arena while it passes). */
void cg_stream_drop_done(CgStream *s, const struct Fn *keep);
/* Every function given: the rest written, on o->jobs writers, and the
 * file put out, and with `header` (cg_stream_start) the header, as
 * cg_header writes it, to hdr; s is freed.  Call cg_check first. */
void cg_stream_finish(CgStream *s, FILE *out, FILE *hdr);
/* An error stopped the compilation: nothing more is written; s is freed. */
void cg_stream_abort(CgStream *s);
/* --emit=check: the C file of cg_c, then a main program that checks
 * every entry point it holds against central differences and each other
 * at seeded random points and prints a table (ccheck.c).  Call
 * cg_check and cg_check_program_limits first. */
void cg_check_program(const Program *p, const CgOpts *o, FILE *out);
/* The errors that stop --emit=check: a function named printf, or one
 * too large for the check program.  Returns their number. */
int cg_check_program_limits(const Program *p, Diag *d);
/* The header: guards, the prototypes of cg_c's entry points and (with
 * o->workspace) the f_WS_BYTES macros. */
void cg_header(const Program *p, const CgOpts *o, FILE *out);
/* One line per entry point cg_c writes: the bytes of its tapes and an
 * estimate of its stack (local arrays, one real per scalar variable),
 * and with o->workspace those of its f_ws variant:
 *   f_grad: tape 160000 bytes, stack ~160096 bytes
 *   f_grad: tape 160000 bytes, stack ~160096 bytes (workspace variant
 *     f_grad_ws: 160000 bytes in work, stack ~96 bytes)   (one line) */
void cg_stats(const Program *p, const CgOpts *o, FILE *out);
/* The learning views (view.h): --emit=dot, mermaid, json, html, or the
 * text report of --at, of every unit of p (with --at: of the one
 * function j->only names, or the file's only one, at j->at's point).
 * Returns 0, or 1 after reporting an error (nothing was written). */
int cg_views(const Program *p, const Job *j);
/* The IR of every entry point (with o, of each f and the derivatives
 * o->entries selects), as text that dxc reads back (ir_print_program). */
void cg_ir(const Program *p, const CgOpts *o, FILE *out);

#endif
