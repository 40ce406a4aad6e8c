/*
 * toy_hand.c - the baseline of bench/run.sh for bench/toy.dx,
 *
 *     y = sum over i < n - 1 of (exp(sin(x[i])) x[i + 1])^2,
 *
 * and its gradient as a careful C programmer writes them by hand: a
 * forward loop that computes y and keeps e[i] = exp(sin(x[i])), then a
 * backward loop that reads e[i] and computes the one thing it still needs,
 * cos(x[i]).  With t = e[i] x[i + 1], dy/dt = 2 t, so
 *
 *     x_bar[i + 1] += 2 t e[i]      x_bar[i] += 2 t x[i + 1] e[i] cos(x[i])
 *
 * The sums run in the order the model writes them, so the results match
 * dxc's to rounding.
 */
#include <math.h>

#include "toy_hand.h"

enum { N = 100 };

double toy_hand(const double x[N])
{
    double y = 0.0;
    for (int i = 0; i < N - 1; i++) {
        double t = exp(sin(x[i])) * x[i + 1];
        y += t * t;
    }
    return y;
}

double toy_hand_grad(const double x[N], double x_bar[N])
{
    double e[N - 1], y = 0.0;
    for (int i = 0; i < N - 1; i++) {
        e[i] = exp(sin(x[i]));
        double t = e[i] * x[i + 1];
        y += t * t;
    }
    for (int i = 0; i < N; i++)
        x_bar[i] = 0.0;
    for (int i = N - 2; i >= 0; i--) {
        double t2 = 2.0 * e[i] * x[i + 1];
        x_bar[i + 1] += t2 * e[i];
        x_bar[i] += t2 * x[i + 1] * e[i] * cos(x[i]);
    }
    return y;
}
