/*
 * prefault.c - a thread that faults in the pages of an array ahead of
 * the pass filling it.
 *
 * A pass that builds a large function (linearize-grad making f_hvp: 4
 * million instructions, 400 MB, at 200 000 statements) writes its
 * instruction array from the front, and each first touch of a fresh
 * page stops it while the kernel zeroes the page (on a virtual machine,
 * where the host backs the page too, up to 1.5 s a gigabyte: most of
 * that pass's time).  When a core is free, this thread asks the kernel
 * to fault in the next pages first (madvise(2) MADV_POPULATE_WRITE,
 * Linux 5.14: the pages read as zero, as untouched ones would), staying
 * at most PF_AHEAD bytes in front of what the pass has filled, so the
 * peak grows by no more than that.  Should the array move (a pass that
 * outgrows it), the thread goes on in the old copy, which the arena
 * keeps until the pass ends: a few wasted faults, nothing worse.
 * Nothing it does changes what the pass computes.  Elsewhere
 * dx_prefault_start returns NULL and the pass faults its pages itself.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* MADV_POPULATE_WRITE */
#endif
#include "dx.h"

#include <stdlib.h>
#if defined(__linux__)
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#endif

#if defined(__linux__) && defined(MADV_POPULATE_WRITE)

enum {
    PF_MIN = 16 << 20,  /* smaller arrays: not worth a thread */
    PF_AHEAD = 8 << 20, /* the most it faults in past the pass */
    PF_STEP = 2 << 20,  /* the pass wakes it every PF_STEP bytes filled */
    PF_PAGE = 4096,
};

struct DxPrefault {
    unsigned char *base;   /* the array's first page */
    size_t lead;           /* from base to the array */
    size_t bytes;          /* from base to the array's end */
    size_t done;           /* faulted in: [base, base + done) (its thread's) */
    size_t next_signal;    /* the pass's: when to wake the thread next */
    _Atomic size_t filled; /* what the pass has written, from base */
    _Atomic int stop;
    pthread_mutex_t lock;
    pthread_cond_t more;
    pthread_t t;
};

static _Atomic long started; /* threads dx_prefault_start made */

static void *run(void *arg)
{
    DxPrefault *p = arg;
    while (!atomic_load(&p->stop) && p->done < p->bytes) {
        size_t want = atomic_load(&p->filled) + PF_AHEAD;
        want = want < p->bytes ? want : p->bytes;
        if (p->done < want) {
            size_t from = p->done / PF_PAGE * PF_PAGE, to = (want + PF_PAGE - 1) / PF_PAGE * PF_PAGE;
            madvise(p->base + from, to - from, MADV_POPULATE_WRITE); /* a hint: errors ignored */
            p->done = want;
            continue;
        }
        pthread_mutex_lock(&p->lock);
        while (!atomic_load(&p->stop) && atomic_load(&p->filled) + PF_AHEAD <= p->done)
            pthread_cond_wait(&p->more, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

static void wake(DxPrefault *p)
{
    pthread_mutex_lock(&p->lock);
    pthread_cond_signal(&p->more);
    pthread_mutex_unlock(&p->lock);
}

DxPrefault *dx_prefault_start(void *array, size_t bytes, size_t filled)
{
    if (!array || bytes < PF_MIN || filled >= bytes)
        return NULL;
    DxPrefault *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    unsigned char *a = array;
    p->base = (unsigned char *)((size_t)a / PF_PAGE * PF_PAGE);
    p->lead = (size_t)(a - p->base);
    p->bytes = p->lead + bytes;
    p->done = p->lead + filled;
    p->next_signal = p->done + PF_STEP;
    atomic_store(&p->filled, p->done);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->more, NULL);
    if (pthread_create(&p->t, NULL, run, p)) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->more);
        free(p);
        return NULL;
    }
    atomic_fetch_add(&started, 1);
    return p;
}

void dx_prefault_progress(DxPrefault *p, size_t filled)
{
    if (!p)
        return;
    size_t at = p->lead + filled;
    atomic_store(&p->filled, at);
    if (at >= p->next_signal) {
        p->next_signal = at + PF_STEP;
        wake(p);
    }
}

void dx_prefault_stop(DxPrefault *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    wake(p);
    pthread_join(p->t, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->more);
    free(p);
}

long dx_prefault_started(void)
{
    return atomic_load(&started);
}

int dx_prefault_supported(void)
{
    return 1;
}

#else /* the pass faults its own pages */

DxPrefault *dx_prefault_start(void *array, size_t bytes, size_t filled)
{
    (void)array;
    (void)bytes;
    (void)filled;
    return NULL;
}

void dx_prefault_progress(DxPrefault *p, size_t filled)
{
    (void)p;
    (void)filled;
}

void dx_prefault_stop(DxPrefault *p)
{
    (void)p;
}

long dx_prefault_started(void)
{
    return 0;
}

int dx_prefault_supported(void)
{
    return 0;
}

#endif
