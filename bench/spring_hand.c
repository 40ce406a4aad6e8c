/*
 * spring_hand.c - the baseline of bench/run.sh for tests/models/spring.dx,
 * 10 000 explicit Euler steps of x'' = -k x - c x',
 *
 *     a = -k x - c v;   x += dt v;   v += dt a,
 *
 * and its gradient with respect to k and c as a careful C programmer
 * writes them by hand.  The forward loop keeps x and v of every step (the
 * backward one needs both); the backward loop runs the adjoint recurrence
 * of one step, with a_bar = dt v_bar:
 *
 *     x_bar -= k a_bar       v_bar += dt x_bar - c a_bar
 *     k_bar -= a_bar x       c_bar -= a_bar v
 *
 * and, unlike a compiler, it uses algebra: dt is taken out of the two
 * sums (k_bar = -dt sum(v_bar x), c_bar = -dt sum(v_bar v)) and out of
 * the recurrence (x_bar -= (dt k) v_bar, v_bar = (1 - dt c) v_bar + dt
 * x_bar), which saves a product per step.  That reassociates: the results
 * agree with dxc's to rounding, not to the bit.  dxc does not reassociate
 * (a product of constants may overflow where the program as written does
 * not), so this is a bound that its gradient does not aim to reach.
 */
#include "spring_hand.h"

enum { STEPS = 10000 };
static const double dt = 0.001;

double spring_hand(double k, double c, double x0, double v0)
{
    double x = x0, v = v0;
    for (int i = 0; i < STEPS; i++) {
        double a = -k * x - c * v;
        x = x + dt * v;
        v = v + dt * a;
    }
    return x;
}

double spring_hand_grad(double k, double c, double x0, double v0, double *k_bar, double *c_bar)
{
    double xs[STEPS], vs[STEPS];
    double x = x0, v = v0;
    for (int i = 0; i < STEPS; i++) {
        xs[i] = x;
        vs[i] = v;
        double a = -k * x - c * v;
        x = x + dt * v;
        v = v + dt * a;
    }
    double x_bar = 1.0, v_bar = 0.0, kx = 0.0, cv = 0.0;
    double dk = dt * k, keep = 1.0 - dt * c;
    for (int i = STEPS - 1; i >= 0; i--) {
        double vb = v_bar;
        kx += vb * xs[i];
        cv += vb * vs[i];
        v_bar = vb * keep + dt * x_bar;
        x_bar -= dk * vb;
    }
    *k_bar = -dt * kx;
    *c_bar = -dt * cv;
    return x;
}
