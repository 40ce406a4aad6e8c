/*
 * prefault.c - the warm region: memory whose pages a thread faults in
 * ahead of the passes that will write them, on a core that would
 * otherwise idle.
 *
 * On a virtual machine the first touch of a page costs the kernel's
 * zeroing and the host's backing of it: about 2 ms a huge page, 1.5 to
 * 1.9 s a gigabyte, where a page the process had and gave back costs a
 * twentieth of that.  Compiling 200 000 statements touches some 800 MB
 * for the first time, and the passes that touch most of it (parsing,
 * lowering, transposing, linearising the gradient) run one at a time,
 * while the other core is idle or waits for the C file's writers.
 *
 * The blocks of fixed size the arena maps (arena.c, map_huge: a block of
 * small allocations, a table sized by a function) come, once
 * dx_warm_start has run, from one range of address space reserved at the
 * start, in order: the next block begins where the last one ended.  A
 * thread of the lowest priority (SCHED_IDLE, sched(7): it runs on a core
 * no other thread wants) faults in the pages past that point, at most
 * WARM_AHEAD bytes of them, so that the next block's pages are there
 * when a pass takes it.  A block given back is unmapped, its pages back
 * to the system, as before; no block reuses the address of one freed.
 * The thread also takes hints (dx_warm_ahead): the next pages of an
 * array growing in a mapping of its own, which it serves first
 * (ir_add asks for the instruction arrays, the largest of them).
 *
 * Faulting a page in writes nothing to it (madvise(2)
 * MADV_POPULATE_WRITE, Linux 5.14: "as if manually writing to each page;
 * however, avoid the actual memory access"), so a hint that comes late,
 * or names pages freed meanwhile (the call fails), changes nothing but
 * the time: what the compiler computes is the same with the region on
 * or off.  Elsewhere, or where the range cannot be reserved, the arena
 * maps each block on its own and the hints are ignored.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* MADV_POPULATE_WRITE, SCHED_IDLE */
#endif
#include "dx.h"

#include <string.h>
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#endif

#if defined(__linux__) && defined(MADV_POPULATE_WRITE)

enum {
    WARM_SPAN_GB = 16,     /* the range reserved: address space only */
    WARM_HUGE = 2 << 20,   /* a huge page: the unit of the thread's work */
    WARM_AHEAD = 16 << 20, /* the most faulted in past the blocks taken
                              (and so the most it adds to the peak), and
                              no more than half of what was taken: a
                              small compilation stays small */
    WARM_HINTS = 4,        /* hints kept; a fifth pushes out the oldest */
};

typedef struct {
    unsigned char *from, *to;
} Range;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t more;     /* work for the thread */
    pthread_cond_t drained;  /* the hints are served (dx_warm_drain) */
    unsigned char *base;
    size_t span;
    size_t taken;            /* bytes given out, from base */
    size_t done;             /* the thread has faulted in up to here */
    int on;                  /* the range is reserved and the thread runs */
    int waiting;             /* the thread waits for work */
    int busy;                /* it is serving a hint */
    Range hint[WARM_HINTS];  /* the newest last */
    int nhint;
    long faulted;            /* huge pages it faulted in (the tests ask) */
} warm = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .more = PTHREAD_COND_INITIALIZER,
          .drained = PTHREAD_COND_INITIALIZER};

/* Under warm.lock: the next range for the thread, newest hint first,
 * else the next huge page ahead of the blocks taken; 0 when none. */
static int next_range(Range *r, int *is_hint)
{
    if (warm.nhint) {
        *r = warm.hint[--warm.nhint];
        *is_hint = 1;
        return 1;
    }
    size_t at = warm.done > warm.taken ? warm.done : warm.taken;
    size_t ahead = warm.taken / 2 < WARM_AHEAD ? warm.taken / 2 : WARM_AHEAD;
    if (at + WARM_HUGE > warm.taken + ahead || at + WARM_HUGE > warm.span)
        return 0;
    r->from = warm.base + at;
    r->to = r->from + WARM_HUGE;
    warm.done = at + WARM_HUGE;
    *is_hint = 0;
    return 1;
}

static void *run(void *arg)
{
    (void)arg;
    struct sched_param sp = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp); /* a hint: errors ignored */
    pthread_mutex_lock(&warm.lock);
    for (;;) {
        Range r;
        int is_hint;
        if (!next_range(&r, &is_hint)) {
            pthread_cond_broadcast(&warm.drained);
            warm.waiting = 1;
            pthread_cond_wait(&warm.more, &warm.lock);
            warm.waiting = 0;
            continue;
        }
        warm.busy = is_hint;
        pthread_mutex_unlock(&warm.lock);
        /* a huge page at a time, so that no call holds the process's
         * memory map long; errors (a range unmapped since) ignored */
        long n = 0;
        for (unsigned char *p = r.from; p < r.to; p += WARM_HUGE, n++)
            madvise(p, (size_t)(r.to - p < WARM_HUGE ? r.to - p : WARM_HUGE), MADV_POPULATE_WRITE);
        pthread_mutex_lock(&warm.lock);
        warm.busy = 0;
        warm.faulted += n;
        if (is_hint && !warm.nhint)
            pthread_cond_broadcast(&warm.drained);
    }
    return NULL;
}

/* fork(2) copies no thread: the child maps its blocks on its own. */
static void before_fork(void)
{
    pthread_mutex_lock(&warm.lock);
}

static void after_fork(void)
{
    pthread_mutex_unlock(&warm.lock);
}

static void in_child(void)
{
    warm.on = 0;
    warm.nhint = 0;
    pthread_mutex_unlock(&warm.lock);
}

void dx_warm_start(void)
{
    pthread_mutex_lock(&warm.lock);
    if (warm.on || warm.base) { /* on, or tried */
        pthread_mutex_unlock(&warm.lock);
        return;
    }
    size_t span = (size_t)WARM_SPAN_GB << 30;
    unsigned char *p = mmap(NULL, span + WARM_HUGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
        unsigned char *base = (unsigned char *)(((size_t)p + WARM_HUGE - 1) / WARM_HUGE * WARM_HUGE);
        if (base > p)
            munmap(p, (size_t)(base - p));
        munmap(base + span, (size_t)(p + WARM_HUGE - base));
        madvise(base, span, MADV_HUGEPAGE);
        warm.base = base;
        warm.span = span;
        pthread_attr_t attr;
        pthread_t t;
        if (pthread_attr_init(&attr) == 0) {
            warm.on = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                      pthread_create(&t, &attr, run, NULL) == 0;
            pthread_attr_destroy(&attr);
        }
        if (warm.on)
            pthread_atfork(before_fork, after_fork, in_child);
        else
            munmap(base, span);
    }
    pthread_mutex_unlock(&warm.lock);
}

static void wake(void)
{
    if (warm.waiting)
        pthread_cond_signal(&warm.more);
}

/* Under warm.lock: a hint, the oldest pushed out when they are many. */
static void add_hint(Range r)
{
    if (warm.nhint == WARM_HINTS) {
        memmove(&warm.hint[0], &warm.hint[1], sizeof warm.hint[0] * (WARM_HINTS - 1));
        warm.nhint--;
    }
    warm.hint[warm.nhint++] = r;
    wake();
}

void *dx_warm_take(size_t n)
{
    unsigned char *p = NULL;
    pthread_mutex_lock(&warm.lock);
    if (warm.on && n % WARM_HUGE == 0 && n <= warm.span - warm.taken) {
        p = warm.base + warm.taken;
        /* A table larger than what is faulted in ahead (CSE's of a large
         * function is 64 MB) is written from its start as soon as it is
         * made: the thread takes the back half of what it has not
         * reached, so that the two meet in the middle. */
        size_t from = warm.done > warm.taken ? warm.done : warm.taken, end = warm.taken + n;
        if (end > from + 2 * WARM_HUGE) {
            size_t mid = from + (end - from) / 2 / WARM_HUGE * WARM_HUGE;
            add_hint((Range){warm.base + mid, warm.base + end});
        }
        warm.taken = end;
        wake();
    }
    pthread_mutex_unlock(&warm.lock);
    return p;
}

void dx_warm_ahead(void *p, size_t n)
{
    if (!n)
        return;
    Range r = {(unsigned char *)((size_t)p / WARM_HUGE * WARM_HUGE),
               (unsigned char *)(((size_t)p + n + WARM_HUGE - 1) / WARM_HUGE * WARM_HUGE)};
    pthread_mutex_lock(&warm.lock);
    if (warm.on)
        add_hint(r);
    pthread_mutex_unlock(&warm.lock);
}

long dx_warm_drain(void)
{
    pthread_mutex_lock(&warm.lock);
    while (warm.on && (warm.nhint || warm.busy)) {
        wake();
        pthread_cond_wait(&warm.drained, &warm.lock);
    }
    long n = warm.on ? warm.faulted : -1;
    pthread_mutex_unlock(&warm.lock);
    return n;
}

#else /* each block mapped on its own; no thread */

void dx_warm_start(void)
{
}

void *dx_warm_take(size_t n)
{
    (void)n;
    return NULL;
}

void dx_warm_ahead(void *p, size_t n)
{
    (void)p;
    (void)n;
}

long dx_warm_drain(void)
{
    return -1;
}

#endif
