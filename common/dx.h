/*
 * dx.h - what every stage of dxc shares: the arena, source files and
 * diagnostics.
 *
 * Allocation policy: one arena per compilation (arena_new/arena_free).
 * Everything the front end, the IR and the code generator build lives in
 * it and dies with it in one call.  Growable arrays (vec_*) live in the
 * arena too and abandon their old block; a large one's old block is freed
 * by the next arena_collect (between passes), and a pass may hand back a
 * large table it is done with (arena_drop), so memory stays proportional
 * to the program, not to the number of passes run over it.
 *
 * Two failure channels: user errors go through diag_error() and print
 * "FILE:LINE:COL: error: MESSAGE", the source line and a caret (maybe
 * followed by diag_note()s in the same form, "note:" for "error:"); internal
 * bugs go through BUG(), which names the C file and line and aborts.
 */
#ifndef DX_H
#define DX_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

#define DX_VERSION "0.1.0"

/* ---- the time report (common/timing.c): dxc --time-report ---- */
typedef struct DxTimes DxTimes;
DxTimes *dx_times_new(void);              /* the clock starts; NULL if no memory */
double dx_times_now(void);                /* seconds, monotonic */
/* The step `what` (and, unless NULL, `of`: "C of" "f_grad") began at
 * start and ends now; t may be NULL (no report), and any thread may add. */
void dx_times_add(DxTimes *t, const char *what, const char *of, double start);
void dx_times_print(DxTimes *t, FILE *out); /* the steps in the order they began */
void dx_times_free(DxTimes *t);

/* ---- arena (common/arena.c) ---- */
typedef struct Arena Arena;
Arena *arena_new(void);
/* An arena whose large blocks are written (zeroed) as they are allocated,
 * for a thread that shares its address space with others: memory the
 * system hands over untouched maps a shared zero page on the first read,
 * and the write after it must flush that mapping from every processor
 * running one of the threads (an interrupt each), where a first write
 * costs the faulting processor alone.  Its tables are filled anyway. */
Arena *arena_new_written(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n);            /* zeroed, 16-aligned */
void *arena_grow(Arena *a, void *p, size_t old, size_t n);
/* As arena_alloc, for an array that fills from its start and may never
 * fill: a large one is address space whose pages cost nothing until
 * written (not a block of the warm region, whose thread would fault all
 * of it in), and arena_grow grows it in place. */
void *arena_alloc_room(Arena *a, size_t n);
/* Frees p (n bytes, as allocated) now if it is large; else nothing.  No
 * pointer into it may be used again. */
void arena_drop(Arena *a, void *p, size_t n);
/* p (old bytes, as allocated) cut to n bytes, maybe moved (a large one
 * gives its end back; a small one stays as it is).  No pointer into the
 * old p may be used again. */
void *arena_shrink(Arena *a, void *p, size_t old, size_t n);
/* Frees the old copies of large arrays arena_grow moved; no pointer into
 * an old copy may be used again. */
void arena_collect(Arena *a);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s then tail then, when k >= 0, k in decimal: a name such as "t12",
 * "x_dot" or "a_2" without vsnprintf's cost. */
char *arena_name(Arena *a, const char *s, const char *tail, long k);

/* A buffer that grows (the C of a function, the source and the
 * scanner's copy of it): from malloc, or, when map_from is set, from the
 * pool of huge pages (below) from 32 KB and from map_from on in a mapping
 * of its own offered to transparent huge pages, grown by mremap without
 * a copy (Linux; elsewhere malloc).  In pieces from malloc, a large
 * buffer was faulted in 4 KB at a time: half of all the page faults of a
 * large program.  dx_buf_resize returns p's first `used` bytes in a
 * buffer of `want` bytes or more, *cap (its size) and *kind (DX_BUF_*,
 * where it lives) saying what p was and then what the new one is; NULL,
 * p untouched, when out of memory.  dx_buf_free frees one. */
enum { DX_BUF_MALLOC, DX_BUF_MAPPED, DX_BUF_POOLED };
void *dx_buf_resize(void *p, size_t used, size_t *cap, size_t want, unsigned char *kind, size_t map_from);
void dx_buf_free(void *p, size_t cap, unsigned char kind);
/* Offers the calling thread's stack to transparent huge pages (Linux;
 * elsewhere nothing): the writers recurse deep into the expressions of
 * a large function, and their stacks were faulted in 4 KB at a time. */
void dx_stack_huge(void);

/* A block of n bytes or more, up to 2 MB, from a pool of huge pages kept
 * for the whole run (arena.c says why): *size is what it holds (a power
 * of two from 32 KB), *fresh whether it was never used (it reads as
 * zero).  NULL when the pool is off (elsewhere than Linux, and under
 * AddressSanitizer) or out of memory.  dx_pool_put gives it back, with
 * that size. */
enum { DX_POOL_MIN = 32 << 10 }; /* the pool's smallest block */
void *dx_pool_get(size_t n, size_t *size, int *fresh);
void dx_pool_put(void *p, size_t size);
/* The huge pages the pool holds now (the tests ask). */
long dx_pool_pages(void);

/* FNV-1a, for the name tables of the checker, lowering and codegen. */
unsigned dx_hash(const char *s);
/* dx_hash of a string that continues with s, h being the hash of its
 * start: dx_hash_on(dx_hash("x"), "_dot") == dx_hash("x_dot"). */
unsigned dx_hash_on(unsigned h, const char *s);

/* ---- the warm region (common/prefault.c) ---- */
/* Reserves the range the arena's fixed-size huge blocks come from and
 * starts the thread that faults in their pages ahead of the passes, on a
 * core that would otherwise idle (dxc's driver calls it; elsewhere the
 * arena maps each block on its own). */
void dx_warm_start(void);
/* n bytes (a multiple of 2 MB) of zeroed memory aligned to 2 MB, to be
 * given back with munmap; NULL when the region is off or used up. */
void *dx_warm_take(size_t n);
/* A hint: the pages of [p, p + n) will be written soon. */
void dx_warm_ahead(void *p, size_t n);
/* Waits until the thread has served every hint given so far; returns
 * the huge pages it has faulted in, or -1 when the region is off (the
 * tests ask). */
long dx_warm_drain(void);

/* ---- scratch files (common/tmpfile.c) ---- */
/* A new file in $TMPDIR (/tmp when unset), open for reading and writing
 * and already unlinked, so that nothing is left behind however dxc ends;
 * NULL when none can be made. */
FILE *dx_tmpfile(void);
/* The len bytes from offset `at` of scratch file f (len < 0: to its end),
 * handed to put(arg, p, n) a block at a time (put returns 0, or an errno
 * value that stops it); returns 0, or the errno value of the first
 * failure (EIO when the file ends first). */
int dx_tmpfile_read(FILE *f, long long at, long long len, int (*put)(void *arg, const char *p, size_t n),
                    void *arg);
/* A put for dx_tmpfile_read into the stream `file`, whose own error flag
 * reports a failed write. */
int dx_put_stream(void *file, const char *p, size_t n);
/* The same bytes appended to the file open on descriptor `to` (at its
 * offset): in the kernel where it can be (copy_file_range), else read and
 * written.  f's own offset is left as it was.  Returns 0, or an errno
 * value. */
int dx_tmpfile_copy(FILE *f, long long at, long long len, int to);
/* All n bytes at p written to descriptor fd (a write may take fewer);
 * 0, or an errno value. */
int dx_write_all(int fd, const char *p, size_t n);

/* Growable array of T in an arena: fields p, n, cap. */
#define VEC(T) struct { T *p; int n, cap; }
#define vec_push(A, v, x)                                                   \
    do {                                                                    \
        if ((v)->n == (v)->cap) {                                           \
            int nc_ = (v)->cap ? 2 * (v)->cap : 8;                          \
            (v)->p = arena_grow((A), (v)->p, sizeof *(v)->p * (size_t)(v)->cap, \
                                sizeof *(v)->p * (size_t)nc_);              \
            (v)->cap = nc_;                                                 \
        }                                                                   \
        (v)->p[(v)->n++] = (x);                                             \
    } while (0)

/* ---- source files and diagnostics (common/diag.c) ---- */
typedef struct {
    int line, col; /* from 1; col in bytes */
} Loc;

typedef struct {
    const char *path; /* as given on the command line */
    const char *text; /* whole file; may hold NUL bytes */
    size_t len;
} Source;

enum { DIAG_MAX_ERRORS = 20 };

typedef struct {
    const Source *src;
    int nerrors;
    int quiet; /* tests: count errors, print nothing */
    char last[512]; /* text of the most recent message (tests read it) */
    Loc last_loc;   /* and where it was reported */
    int nnotes;
    char last_note[512]; /* likewise for notes */
    Loc last_note_loc;
} Diag;

/* Report a user error at loc.  Returns 1 when the cap is reached and the
 * caller should stop. */
int diag_error(Diag *d, Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A note on the error just reported, at another place:
 * "FILE:LINE:COL: note: MESSAGE", the source line and a caret.  Notes are
 * not errors; once the error cap is reached they are dropped too. */
void diag_note(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error with no place in a file: "dxc: error: MESSAGE". */
void diag_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A name shown in a message: long names are shortened with "...". */
const char *diag_name(Arena *a, const char *name);

/* ---- "did you mean" (common/near.c) ---- */
/* The name closest to `name` among those offered, if close enough (see
 * near.c for the limits). */
typedef struct {
    const char *name;
    const char *best; /* NULL while none is close enough */
    int dist, max;
} Near;
void near_init(Near *n, const char *name);
void near_offer(Near *n, const char *candidate);
/* "; did you mean 'x'?", or "" when no name was close enough. */
const char *near_hint(Arena *a, const Near *n);
/* The edit distance of a and b (insert, delete, substitute, swap two
 * neighbours: 1 each), or max + 1 if it is above max. */
int near_distance(const char *a, const char *b, int max);

/* Internal error: a bug in dxc, never a user error. */
_Noreturn void dx_bug(const char *file, int line, const char *msg);
#define BUG(msg) dx_bug(__FILE__, __LINE__, (msg))
#define ASSERT(c) ((c) ? (void)0 : dx_bug(__FILE__, __LINE__, "assertion failed: " #c))

#endif
