/*
 * testutil.h - helpers shared by the Check suites: temporary files,
 * running commands and capturing what they print.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>

#include "../ir/ir.h"

/* A fresh directory under $TMPDIR (or /tmp); removed by tu_cleanup(). */
const char *tu_tmpdir(void);
void tu_cleanup(void);
/* Path of NAME inside tu_tmpdir(); static storage, rotates over 8 slots. */
const char *tu_path(const char *name);
/* Write n bytes (or strlen if n == (size_t)-1) to path; returns 0 on success. */
int tu_write(const char *path, const char *text, size_t n);
/* Read a whole file (NUL-terminated, malloc'ed); NULL if it does not exist. */
char *tu_read(const char *path, size_t *len);
/* Run `sh -c cmd`; capture stdout and stderr (malloc'ed, may be NULL
 * arguments).  Returns the exit status, or -1 if it did not exit normally
 * (signal), which a test must treat as a crash. */
int tu_run(const char *cmd, char **out, char **err);
/* A growing text buffer; tu_bprintf appends (aborts if out of memory). */
typedef struct {
    char *s;
    size_t n, cap;
} TuBuf;
void tu_bprintf(TuBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The formatted text, malloc'ed (aborts if out of memory). */
char *tu_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *tu_vprintf(const char *fmt, va_list ap);
/* The compiler under test ($DXC, default build/dxc). */
const char *tu_dxc(void);
/* Source tree root ($DX_ROOT, default "."). */
const char *tu_root(void);
/* fn on the path of every model, example and benchmark of the tree
 * (tests/models, examples, bench); returns how many. */
int tu_each_model(void (*fn)(const char *path, void *arg), void *arg);
/* prog is a command on PATH. */
int tu_have(const char *prog);
/* The tools of the emulated Cortex-M4 (arm-none-eabi-gcc, qemu-system-arm)
 * are installed; if not, says that `what` is skipped, and returns 0. */
int tu_have_cortex_m4(const char *what);
/* make without what an enclosing `make check` (or check-asan's B=, CC=,
 * CFLAGS=) passes down to it. */
#define TU_MAKE "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u B -u O -u CC -u CFLAGS -u LDFLAGS " \
                "make --no-print-directory"

/* A .dx text parsed, checked and lowered (the pipeline up to the primal
 * IR, in process).  Errors are counted in d, quietly; the last one is in
 * d.last and d.last_loc. */
typedef struct {
    Arena *a;
    Diag d;
    Source src;
    AstFile file;
    Program prog;
} TuLowered;
/* Returns the number of errors (0: c->prog holds every function). */
int tu_lower(TuLowered *c, const char *text);
/* The same from IR text (ir_read, docs/ir.md): c->prog holds the
 * functions it states, as they are (no pass runs).  PATH names the text
 * in messages. */
int tu_read_ir(TuLowered *c, const char *path, const char *text);

/* A program that must be refused: with an error at line:col whose
 * message contains msg. */
typedef struct {
    const char *src;
    int line, col;
    const char *msg;
} TuBad;
/* Lowers b->src: NULL when it is refused as b says (with exactly one
 * error when `one`, the last error otherwise), else what happened
 * instead, malloc'd, for the test's failure message. */
char *tu_bad_mismatch(const TuBad *b, int one);

#endif
