/*
 * drv_spring.c - bench/run.sh's driver (see harness.h) for the 10 000-step
 * spring of tests/models/spring.dx.  p = k, c = 4, 0.5 (stable: c > dt k);
 * x0 = 1, v0 = 0.
 */
#define NP 2
#include "harness.h"

#include "spring.h"
#ifdef HAVE_HAND
#include "spring_hand.h"
#endif

static double x0 = 1.0, v0 = 0.0;

static void model_init(double *kc)
{
    kc[0] = 4.0;
    kc[1] = 0.5;
}
static void model_dump(FILE *fp)
{
    dump_array(fp, "x0", &x0, 1);
    dump_array(fp, "v0", &v0, 1);
}
static double model_f(const double *kc) { return spring(kc[0], kc[1], x0, v0); }
static double model_grad(const double *kc, double *g) { return spring_grad(kc[0], kc[1], x0, v0, &g[0], &g[1]); }
static double model_jvp(const double *kc, const double *v, double *d)
{
    return spring_jvp(kc[0], kc[1], x0, v0, v[0], v[1], d);
}
static double model_hvp(const double *kc, const double *v, double *h)
{
    return spring_hvp(kc[0], kc[1], x0, v0, v[0], v[1], &h[0], &h[1]);
}
#ifdef HAVE_HAND
static double model_hand_f(const double *kc) { return spring_hand(kc[0], kc[1], x0, v0); }
static double model_hand_grad(const double *kc, double *g)
{
    return spring_hand_grad(kc[0], kc[1], x0, v0, &g[0], &g[1]);
}
#endif
