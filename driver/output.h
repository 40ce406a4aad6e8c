/*
 * output.h - where dxc's output files go, written only when the whole
 * compilation has succeeded.
 *
 * The compiler writes each output into memory, and once it exceeds a
 * megabyte into a scratch file (out_stream): an unnamed file in the
 * directory of a regular target, which becomes the output without being
 * copied, or else one in $TMPDIR (in memory still when no scratch file
 * can be made).  out_commit_all then puts every output in place, the way
 * a C compiler treats -o:
 *
 *   - no name, or "-": standard output;
 *   - a symbolic link is followed, and what it names is written;
 *   - a FIFO or a device is opened and written into directly;
 *   - a regular file, or a name that does not exist yet, is replaced
 *     atomically: a temporary file in the same directory, renamed over it.
 *     An existing file keeps its permission bits (and, where allowed, its
 *     owner); a new one gets 0666 minus the umask.  When the directory is
 *     not writable but the file is, the file is rewritten in place.
 *
 * On any error nothing has been touched: every temporary file is written
 * and closed before the first rename.
 */
#ifndef DX_OUTPUT_H
#define DX_OUTPUT_H

#include <stdio.h>

typedef struct {
    const char *name; /* as given: NULL or "-" for standard output */
    FILE *f;          /* what the compiler writes to (out_stream) */
    FILE *scratch;    /* the scratch file holding the text, once made */
    int no_scratch;   /* none could be made: the text stays in memory */
    char *buf;        /* else the text, in memory */
    size_t len, cap;
    char beside[4096]; /* the directory of the target that holds the
                          scratch file, unnamed, when it is there */
    /* set by out_commit_all */
    char target[4096]; /* the name with every symbolic link followed */
    char tmp[4096];    /* the temporary file beside a regular target */
    int kind;          /* OUT_STDOUT, OUT_DIRECT, OUT_REPLACE, OUT_IN_PLACE */
    int replaces;      /* OUT_REPLACE over a file that exists */
} OutFile;

/* The place each output names must differ from the input and from each
 * other ("-" and no name are all standard output).  Reports the clash as
 * a plain error and returns 1. */
int out_check_names(const char *input, OutFile *const outs[], int n);

/* Starts collecting an output; returns 1 (reported) on failure. */
int out_open(OutFile *o, const char *name);
/* The stream the compiler writes to. */
FILE *out_stream(const OutFile *o);
/* Copies what was collected to `to` (--stats' text to standard error);
 * returns 1 on failure. */
int out_copy(OutFile *o, FILE *to);
/* Appends the len bytes from offset `at` of scratch file `from` to the
 * output `out` (an OutFile), in the kernel where it can be: cg_c's
 * functions put aside while the helpers that precede them were unknown.
 * Returns 0, or an errno value. */
int out_append(void *out, FILE *from, long long at, long long len);
/* Drops what was collected; nothing is written. */
void out_discard(OutFile *o);
/* Puts every output in place, as described above; returns 1 (reported)
 * if any could not be, having touched none when it was found before the
 * first rename. */
int out_commit_all(OutFile *const outs[], int n);

#endif
