/*
 * diffcheck.h - the differential tester's checks on one .dx program, and
 * the reduction of a failing one.
 *
 * dc_check runs, in a child process (a crash or an internal error of the
 * compiler is a result, not the end of the run):
 *
 *   interpreter checks, on every function of the program (each is a unit
 *   with its own entry points), at inputs drawn from the seed in
 *   [-1.5, 1.5]:
 *     opt       the primal before and after the clean-up passes agree;
 *     value     every entry point returns the primal's value;
 *     dot       <grad, v> = jvp(v) (scalar result), <vjp(u), v> =
 *               <u, jvp(v)> (array result), to 1e-10 of the sum of the
 *               terms' sizes;
 *     grad-fd, vjp-fd, jvp-fd   against central differences of the primal;
 *     hvp-fd    f_hvp against central differences of f_grad;
 *     hvp-sym   <u, H v> = <v, H u>.
 *   A difference whose steps change a branch decision, a max/min winner
 *   or the sign of a relu/abs operand (ir_interp_trace) is skipped, not
 *   compared.  Every derivative must be finite (nonfinite-derivative),
 *   but where f_grad (with f_jvp finite) or f_hvp is not, and recording
 *   that entry point shows an addition, product, integer power, exp or
 *   quotient by no zero of finite values coming out infinite, the point
 *   is excused (DcResult.excused): an adjoint past the doubles.
 *
 *   compiled checks (DcOpts.compiled): dxc writes the C, a driver built
 *   from the entry points' signatures calls every entry point of every
 *   function (outputs filled with NaNs first: every one must be
 *   overwritten), gcc compiles both strictly (-std=c99 -Wall -Wextra
 *   -Wpedantic -Werror) and the printed results must match the
 *   interpreter's to 1e-10 relative.  With DcOpts.workspace, dxc
 *   --workspace, and every f_ws runs too, on a workspace of exactly
 *   f_WS_BYTES filled with NaNs (nothing may be read before it is
 *   written).  Then dxc --real=float, and cc must compile that under the
 *   same flags and -Wdouble-promotion.
 *
 *   edge checks (DcOpts.edge), after the others: at edge points (all
 *   zeros; the random point with entries replaced by 0 or the entry
 *   before it, a tie, and one by +-1e-300, +-1e-160 or +-1e150), where
 *   every value the primal computes is finite, at most 1e200 and not
 *   subnormal:
 *     edge-nan  no entry of f_grad/f_vjp, of f_jvp along a coordinate
 *               axis (not a tiny entry's), of f_hvp along one (at points with no tiny or
 *               huge entry and a gradient of at most 1e100), or of the recorder's gradient is NaN where
 *               central differences (of the primal, or of f_grad for
 *               f_hvp) at three steps agree on a finite value and that
 *               derivative is finite at the nearest of them (f_jvp not
 *               NaN there too, and f_grad finite at the point, with a
 *               huge entry): "derivatives never
 *               invent a NaN".  An infinite entry there is allowed (IEEE:
 *               sqrt'(0) = inf), and so is any value where the
 *               differences do not settle, a NaN of f_jvp where one
 *               of its tangents is infinite (an overflowing tangent met
 *               by an exact zero: inf * 0, which the rule does not
 *               cover), and a NaN of the recorder's gradient where its
 *               sweep overflowed.
 *
 * A failure has a kind (`what`): one of the checks above, "rejected" (the
 * front end refused the program), "crash" (an internal error or a
 * signal, in process), "nonfinite" (a primal value is not finite: the
 * generator left a domain), "dxc", "cc", "run" (the compiled path
 * failed), "compiled" (a compiled result differs), "float-cc" (the float
 * C does not compile cleanly).
 */
#ifndef DIFFCHECK_H
#define DIFFCHECK_H

#include <stdint.h>

#include "progen.h"

typedef struct {
    int compiled;          /* also compile with dxc and cc */
    const char *dxc;       /* the compiler (compiled checks) */
    const char *cc;        /* "gcc" by default */
    const char *workdir;   /* for the compiled files; must exist */
    uint64_t seed;         /* the inputs */
    int timeout;           /* seconds per program, 0: 120 */
    int workspace;         /* compiled with --workspace: also call every
                              f_ws on a workspace filled with NaNs */
    int small_tape;        /* differentiated as dxc --tape=small does */
    int sum_lanes;         /* as dxc --sum-lanes=N does (0: the default,
                              16; -1: none) */
    int edge;              /* also the edge checks (see edge-nan above) */
} DcOpts;

typedef enum { DC_OK, DC_FAIL } DcStatus;

typedef struct {
    DcStatus status;
    char what[32];         /* the failed check */
    char sig[160];         /* what identifies the failure (for reduction) */
    char msg[1536];        /* details */
    long checks, skips;    /* comparisons made, and skipped (a branch crossed) */
    long unstable;         /* skipped: differences that do not converge */
    long noisy;            /* identities that held only to their rounding
                              noise, not to 1e-10 of their terms, and
                              entries off their differences by no more
                              than their rounding noise */
    int compiled;          /* 1 if the compiled checks ran */
    int refused;           /* 1 if dxc refused it over the stack budget
                              DX_DIFF_DXFLAGS set (or left a plain entry
                              point out): not a failure */
    long edge_points;      /* edge points tried, and those where f and */
    long edge_clean;       /* every value it computes are finite */
    long excused;          /* derivatives excused as overflows: a NaN at
                              an edge point where a tangent or the
                              recorder's sweep overflowed (edge-nan); a
                              gradient not finite where f_grad overflowed
                              and f_jvp stayed finite, an f_hvp not finite
                              where it overflowed (nonfinite-derivative) */
} DcResult;

/* Every check on one program (in a child process). */
DcResult dc_check(const char *text, const DcOpts *o);

/* Reduces the failing program p in place (deleting functions and
 * statements, replacing subexpressions by their operands, constants or
 * parameters, splicing blocks, lowering trip counts) while dc_check keeps
 * failing the same way.  Returns the number of programs tried. */
int dc_reduce(PgProg *p, const DcResult *fail, const DcOpts *o, int max_tries);

/* The same failure (kind and signature). */
int dc_same(const DcResult *a, const DcResult *b);

/* The seed of program i of a run, and of its inputs: one definition for
 * the Check suite and tools/fuzz_diff.c. */
uint64_t dc_program_seed(uint64_t run_seed, long i);
uint64_t dc_input_seed(uint64_t program_seed);
/* Is a program checked with --tape=small (a quarter of them)? */
int dc_small_tape(uint64_t program_seed);
/* The --sum-lanes a program is checked with: 2 for half of them (the
 * random programs' sums are short: then every one with a tangent takes
 * two lanes), else 0 (the default). */
int dc_sum_lanes(uint64_t program_seed);

/* Does dxc compile a for loop (to C that cc accepts)?  Tried in workdir. */
int dc_loops_compile(const char *dxc, const char *cc, const char *workdir);

/* A regression file (tests/regress/NNN.dx) is a program whose comment
 * lines say how to check it:
 *   # failure: KIND: SIGNATURE   what failed when it was found
 *   # inputs: N                  the seed of its inputs
 *   # compiled                   also run the compiled checks
 *   # tape: small                differentiate as dxc --tape=small
 *   # workspace                  with dxc --workspace and the f_ws
 *   # cc: CC                     with this compiler (gcc by default)
 *   # open                       the bug is not fixed: the checks must
 *                                still fail with KIND and SIGNATURE
 * dc_check_file checks it so; 0 when it behaves as its comments say,
 * else 1 with what went wrong in why. */
int dc_check_file(const char *text, const DcOpts *base, int loops_compile, DcResult *r, char *why,
                  size_t cap);

#endif
