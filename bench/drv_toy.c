/*
 * drv_toy.c - bench/run.sh's driver (see harness.h) for bench/toy.dx, and
 * for its hand-written gradient bench/toy_hand.c.  x uniform in [-1, 1).
 */
#define NP 100
#include "harness.h"

#include "toy.h"
#include "toy_hand.h"

static void model_init(double *x) { fill(x, NP, -1.0, 1.0); }
static void model_dump(FILE *fp) { (void)fp; }
static double model_f(const double *x) { return toy(x); }
static double model_grad(const double *x, double *g) { return toy_grad(x, g); }
static double model_jvp(const double *x, const double *v, double *d) { return toy_jvp(x, v, d); }
static double model_hvp(const double *x, const double *v, double *h) { return toy_hvp(x, v, h); }
static double model_hand_f(const double *x) { return toy_hand(x); }
static double model_hand_grad(const double *x, double *g) { return toy_hand_grad(x, g); }
