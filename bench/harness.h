/*
 * harness.h - the driver every benchmark model of bench/run.sh shares.
 *
 * A model's driver (bench/drv_MODEL.c) defines NP, the number of its
 * active parameters, includes this file, and then defines the hooks
 * declared below: they call the functions dxc generated for the model (in
 * another translation unit, so every call is a real out-of-line call that
 * the C compiler can neither inline nor drop) with the active parameters
 * taken, in order, from one flat vector p[NP], and the data the driver
 * keeps itself.  The driver then is
 *
 *     drv check          every entry point against the others and against
 *                        central differences (below); exit 1 if one is wrong
 *     drv count MODE N   N calls of MODE (f, grad, jvp, hvp, and hand_f,
 *                        hand_grad for a model with a hand-written
 *                        gradient): what callgrind counts
 *     drv time RUNS      wall time of one call of each MODE, the median of
 *                        RUNS timed runs (below); prints "MODE ns calls
 *                        ratio" lines
 *     drv dump FILE      the inputs (p, then each data array), f and the
 *                        gradient as text, for bench/torch_bench.py
 *
 * The checks.  The gradient g (the grad entry point, its outputs filled
 * with NaN first so one it does not write shows): its value is f's; its
 * dot product with a random direction v agrees with the central difference
 * (f(p + h v) - f(p - h v)) / 2h, and so do 12 of its components spread
 * over p with the differences along those axes.  jvp: its value is f's and
 * its tangent is g . v.  hvp: its value is f's and its output agrees with
 * the central difference of the gradient (g(p + h v) - g(p - h v)) / 2h,
 * every component.  A hand-written gradient agrees with g to 1e-9.  The
 * tolerances allow the differences' truncation (h^2 times the third
 * derivative) and rounding (eps |f| / h) and nothing more: 1e-6 of the
 * scale of the terms (sum of |g_i v_i|) plus 1e3 eps (|f| + 1) / h.
 *
 * The timing.  clock_gettime(CLOCK_MONOTONIC) around a loop of calls; the
 * number of calls in the loop is chosen first for each entry point so one
 * loop takes about 20 ms.  Then RUNS rounds each time one loop of every
 * entry point in turn (interleaved, so a change of load on the machine
 * hits them all alike).  Each entry point's time is the median over the
 * rounds of its time per call, and its ratio the median over the rounds
 * of its time divided by f's in the same round (hand_grad's by hand_f's):
 * on a loaded machine that pairing keeps a slow round from skewing the
 * ratio.
 *
 * Inputs come from splitmix64 (Steele, Lea & Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014) with a fixed seed: the
 * same on every run.
 */
#define _POSIX_C_SOURCE 199309L
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef NP
#error "define NP, the number of active parameters, before including harness.h"
#endif

/* The hooks a model's driver defines. */
static void model_init(double *p);       /* p and the driver's data */
static void model_dump(FILE *fp);        /* the data, with dump_array */
static double model_f(const double *p);
static double model_grad(const double *p, double *g);
static double model_jvp(const double *p, const double *v, double *dot);
static double model_hvp(const double *p, const double *v, double *hv);
#ifdef HAVE_HAND
static double model_hand_f(const double *p);
static double model_hand_grad(const double *p, double *g);
#endif

static double p[NP], g[NP], v[NP], hv[NP], tmp[NP], tmp2[NP], q[NP];
static uint64_t seed = 20240601;

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi), from the top 53 bits. */
static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(splitmix64(&seed) >> 11) * 0x1.0p-53);
}

static void fill(double *a, int n, double lo, double hi)
{
    for (int i = 0; i < n; i++)
        a[i] = uniform(lo, hi);
}

/* A one-hot row: a[k] = 1 for one random k, the rest 0. */
static inline void one_hot(double *a, int n)
{
    memset(a, 0, n * sizeof *a);
    a[splitmix64(&seed) % (uint64_t)n] = 1.0;
}

static inline void dump_array(FILE *fp, const char *name, const double *a, int n)
{
    fprintf(fp, "%s %d\n", name, n);
    for (int i = 0; i < n; i++)
        fprintf(fp, "%.17g\n", a[i]);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

enum { M_F, M_GRAD, M_JVP, M_HVP, M_HAND_F, M_HAND_GRAD, NMODES };
static const char *mode_name[NMODES] = { "f", "grad", "jvp", "hvp", "hand_f", "hand_grad" };
#ifdef HAVE_HAND
static const int nmodes = NMODES;
#else
static const int nmodes = M_HAND_F;
#endif

static volatile double sink;

/* One call of mode m on p; the result, so nothing is dropped. */
static double call(int m)
{
    double d = 0.0, r;
    switch (m) {
    case M_F: return model_f(p);
    case M_GRAD: return model_grad(p, g);
    case M_JVP: r = model_jvp(p, v, &d); return r + d;
    case M_HVP: return model_hvp(p, v, hv);
#ifdef HAVE_HAND
    case M_HAND_F: return model_hand_f(p);
    case M_HAND_GRAD: return model_hand_grad(p, g);
#endif
    default: return 0.0;
    }
}

/* Seconds taken by n calls of mode m. */
static double loop(int m, long n)
{
    double s = 0.0, t0 = now();
    for (long i = 0; i < n; i++)
        s += call(m);
    double t = now() - t0;
    sink = s;
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int time_all(int runs)
{
    static double per[NMODES][1000], ratio[NMODES][1000];
    long reps[NMODES];
    if (runs < 11)              /* a median of fewer says little */
        runs = 11;
    if (runs > 1000)
        runs = 1000;
    for (int m = 0; m < nmodes; m++) {
        long n = 1;
        double t;
        while ((t = loop(m, n)) < 0.005)
            n *= 2;
        n = (long)ceil(n * 0.020 / t);
        reps[m] = n < 1 ? 1 : n;
    }
    for (int r = 0; r < runs; r++)
        for (int m = 0; m < nmodes; m++)
            per[m][r] = loop(m, reps[m]) / reps[m];
    /* each run's ratio to the function of the same run (hand_grad's to
     * hand_f's) */
    for (int m = 0; m < nmodes; m++) {
        int base = m == M_HAND_GRAD ? M_HAND_F : M_F;
        for (int r = 0; r < runs; r++)
            ratio[m][r] = per[m][r] / per[base][r];
    }
    for (int m = 0; m < nmodes; m++) {
        qsort(per[m], runs, sizeof per[m][0], cmp_double);
        qsort(ratio[m], runs, sizeof ratio[m][0], cmp_double);
        printf("%s %.6g %ld %.6g\n", mode_name[m], 1e9 * per[m][runs / 2], reps[m],
               ratio[m][runs / 2]);
    }
    return 0;
}

static int failures;

static void verdict(const char *what, double err, double tol)
{
    int ok = err <= tol;        /* NaN fails */
    printf("  %-34s error %.3e  tolerance %.3e  %s\n", what, err, tol, ok ? "ok" : "WRONG");
    if (!ok)
        failures++;
}

static double dot(const double *a, const double *b)
{
    double s = 0.0;
    for (int i = 0; i < NP; i++)
        s += a[i] * b[i];
    return s;
}

/* f at p + t d. */
static double f_along(const double *d, double t)
{
    for (int i = 0; i < NP; i++)
        q[i] = p[i] + t * d[i];
    return model_f(q);
}

static int check(void)
{
    const double h = 1e-6;
    double f = model_f(p);
    for (int i = 0; i < NP; i++)
        g[i] = NAN;
    double fg = model_grad(p, g);
    double eps_f = 1e3 * DBL_EPSILON * (fabs(f) + 1.0) / h;
    printf("check: f = %.17g\n", f);
    verdict("grad's value = f", fabs(fg - f), 1e-12 * (fabs(f) + 1.0));

    double scale = 0.0;
    for (int i = 0; i < NP; i++)
        scale += fabs(g[i] * v[i]);
    double gv = dot(g, v);
    double fd = (f_along(v, h) - f_along(v, -h)) / (2 * h);
    verdict("grad . v = central difference", fabs(gv - fd), 1e-6 * scale + eps_f);
    double worst = 0.0, wtol = 0.0;
    for (int k = 0; k < 12 && k < NP; k++) {
        int i = NP < 12 ? k : (int)((long)k * (NP - 1) / 11);
        memset(tmp, 0, sizeof tmp);
        tmp[i] = 1.0;
        double fdi = (f_along(tmp, h) - f_along(tmp, -h)) / (2 * h);
        double e = fabs(fdi - g[i]), t = 1e-6 * fabs(g[i]) + eps_f;
        if (!(e / t <= worst / (wtol > 0 ? wtol : 1))) {
            worst = e;
            wtol = t;
        }
    }
    verdict("12 components = differences", worst, wtol);

    double dj = NAN;
    double fj = model_jvp(p, v, &dj);
    verdict("jvp's value = f", fabs(fj - f), 1e-12 * (fabs(f) + 1.0));
    verdict("jvp = grad . v", fabs(dj - gv), 1e-10 * scale + 1e-300);

    for (int i = 0; i < NP; i++)
        hv[i] = NAN;
    double fh = model_hvp(p, v, hv);
    verdict("hvp's value = f", fabs(fh - f), 1e-12 * (fabs(f) + 1.0));
    for (int i = 0; i < NP; i++)
        q[i] = p[i] + h * v[i];
    model_grad(q, tmp);
    for (int i = 0; i < NP; i++)
        q[i] = p[i] - h * v[i];
    model_grad(q, tmp2);
    double hmax = 0.0, gmax = 0.0, herr = 0.0;
    for (int i = 0; i < NP; i++) {
        double e = fabs(hv[i] - (tmp[i] - tmp2[i]) / (2 * h));
        if (!(e <= herr))
            herr = e;
        hmax = fmax(hmax, fabs(hv[i]));
        gmax = fmax(gmax, fabs(g[i]));
    }
    verdict("hvp = difference of grad", herr,
            1e-5 * hmax + 1e3 * DBL_EPSILON * (gmax + 1.0) / h);
#ifdef HAVE_HAND
    double fhf = model_hand_f(p);
    double fhg = model_hand_grad(p, tmp);
    verdict("hand f = f", fabs(fhf - f), 1e-12 * (fabs(f) + 1.0));
    verdict("hand grad's value = f", fabs(fhg - f), 1e-12 * (fabs(f) + 1.0));
    double hd = 0.0;
    for (int i = 0; i < NP; i++) {
        double e = fabs(tmp[i] - g[i]) / (fmax(fabs(tmp[i]), fabs(g[i])) + 1e-300);
        if (!(e <= hd))
            hd = e;
    }
    verdict("hand grad = grad (relative)", hd, 1e-9);
#endif
    if (failures)
        printf("check: %d WRONG\n", failures);
    else
        printf("check: all ok\n");
    return failures ? 1 : 0;
}

static int dump(const char *file)
{
    FILE *fp = fopen(file, "w");
    if (!fp) {
        perror(file);
        return 1;
    }
    double f = model_grad(p, g);
    dump_array(fp, "p", p, NP);
    model_dump(fp);
    dump_array(fp, "f", &f, 1);
    dump_array(fp, "grad", g, NP);
    return fclose(fp) ? 1 : 0;
}

int main(int argc, char **argv)
{
    model_init(p);
    fill(v, NP, -1.0, 1.0);     /* the tangent of jvp and hvp */
    if (argc == 2 && strcmp(argv[1], "check") == 0)
        return check();
    if (argc == 3 && strcmp(argv[1], "time") == 0)
        return time_all(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "dump") == 0)
        return dump(argv[2]);
    if (argc == 4 && strcmp(argv[1], "count") == 0) {
        long n = strtol(argv[3], NULL, 10);
        for (int m = 0; m < nmodes; m++)
            if (strcmp(argv[2], mode_name[m]) == 0) {
                double s = 0.0;
                for (long i = 0; i < n; i++)
                    s += call(m);
                for (int i = 0; i < NP; i++)
                    s += g[i] + hv[i];
                printf("%s x %ld: checksum %.17g\n", argv[2], n, s);
                return 0;
            }
    }
    fprintf(stderr, "usage: %s check | count MODE N | time RUNS | dump FILE\n", argv[0]);
    return 2;
}
