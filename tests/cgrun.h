/*
 * cgrun.h - the interpreter against the compiled C.
 */
#ifndef CGRUN_H
#define CGRUN_H

#include "testutil.h"

/* A program stated as IR text (docs/ir.md), read into c as it is
 * (tu_read_ir); a text the reader refuses fails the test. */
Program *cr_read(TuLowered *c, const char *text);

/* The value of element k of input `which` of every call cr_check makes. */
double cr_input(int which, long long k);

/*
 * Writes TAG.c and TAG.h for program p (SRC: the source name the comments
 * give), compiles them with gcc and clang (strict, -Wdouble-promotion for
 * float), runs every entry point on the cr_input values, outputs filled
 * with garbage first (with workspace, the f_ws variant too, on a
 * workspace of exactly f_WS_BYTES followed by a guard that must stay
 * untouched; the plain f when its arrays fit budget), and compares every
 * output with the interpreter's to tol relative.  Returns the generated C
 * (malloc'ed) for the caller's checks on its text.
 */
char *cr_check(Program *p, const char *tag, const char *src, int use_float, int workspace, long long budget,
               double tol);

/* The generated C function whose signature starts with sig, up to its
 * closing brace at column 0 (malloc'ed); fails the test if absent. */
char *cr_fn_text(const char *code, const char *sig);

/* Runs the compiler under test with args (a shell word list) in
 * tu_tmpdir(), capturing what it prints (out, err may be NULL); returns
 * its exit status and fails the test if it crashed (a timeout of 60 s,
 * 600 s under sanitizers: DX_SANITIZED). */
int cr_dxc(const char *args, char **out, char **err);
/* cr_dxc that must succeed: what dxc printed on standard output
 * (malloc'ed); the test fails, showing standard error, otherwise. */
char *cr_dxc_ok(const char *args);

#endif
