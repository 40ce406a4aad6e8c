/*
 * timing.c - dxc --time-report: how long each step of a compilation took
 * by the wall clock, and how much memory the process held after it,
 * printed at the end.  The steps are reading the source, the front end's
 * (parse, check, lower), each pass, each entry point's C (its analysis,
 * its second half when two threads write it, and the whole) and putting
 * the output together and in place.  The C of the smaller functions is
 * written on other threads while the passes run, so steps overlap: each
 * line says when its step began and how long it took, in the order they
 * began.  The writers add their steps under the record's lock.  Like
 * GCC's -ftime-report: where a slow compilation spends its time, without
 * a profiler.
 */
#include "dx.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char what[96];
    double start, end;
    long rss_kb; /* resident after it; -1: unknown */
} Step;

struct DxTimes {
    pthread_mutex_t lock;
    double t0;
    Step *p;
    int n, cap;
};

double dx_times_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

DxTimes *dx_times_new(void)
{
    DxTimes *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->t0 = dx_times_now();
    return t;
}

/* The resident set now (Linux: /proc/self/statm's second field, in
 * pages), or -1. */
static long resident_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, pages = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &pages) != 2)
        pages = -1;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return pages < 0 || page <= 0 ? -1 : pages * (page / 1024);
}

void dx_times_add(DxTimes *t, const char *what, const char *of, double start)
{
    if (!t)
        return;
    double end = dx_times_now();
    long kb = resident_kb();
    pthread_mutex_lock(&t->lock);
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        Step *p = realloc(t->p, sizeof *p * (size_t)cap);
        if (!p) {
            pthread_mutex_unlock(&t->lock);
            return; /* the report misses a step */
        }
        t->p = p;
        t->cap = cap;
    }
    Step *s = &t->p[t->n++];
    snprintf(s->what, sizeof s->what, "%s%s%s", what, of ? " " : "", of ? of : "");
    s->start = start;
    s->end = end;
    s->rss_kb = kb;
    pthread_mutex_unlock(&t->lock);
}

/* getrusage's ru_maxrss in kilobytes (Linux counts in kilobytes, macOS in
 * bytes). */
static long peak_kb(const struct rusage *ru)
{
#if defined(__APPLE__)
    return (long)ru->ru_maxrss / 1024;
#else
    return (long)ru->ru_maxrss;
#endif
}

static double seconds(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec * 1e-6;
}

static int by_start(const void *a, const void *b)
{
    const Step *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

void dx_times_print(DxTimes *t, FILE *out)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    qsort(t->p, (size_t)t->n, sizeof *t->p, by_start);
    fprintf(out, "dxc: time report (seconds from the start, by the wall clock; memory resident after "
                 "each step)\n"
                 "   start    took  memory  step\n");
    for (int i = 0; i < t->n; i++) {
        const Step *s = &t->p[i];
        fprintf(out, "%8.3f %7.3f ", s->start - t->t0, s->end - s->start);
        if (s->rss_kb >= 0)
            fprintf(out, "%4ld MB", (s->rss_kb + 512) / 1024);
        else
            fprintf(out, "      -");
        fprintf(out, "  %s\n", s->what);
    }
    struct rusage ru;
    double total = dx_times_now() - t->t0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        fprintf(out, "   total %7.3f s, peak %ld MB, processor time %.3f s\n", total,
                (peak_kb(&ru) + 512) / 1024, seconds(ru.ru_utime) + seconds(ru.ru_stime));
    else
        fprintf(out, "   total %7.3f s\n", total);
    pthread_mutex_unlock(&t->lock);
}

void dx_times_free(DxTimes *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->p);
    free(t);
}
