/*
 * seed.c - calls the code dxc generated from square.dx, graph.dx and
 * neuron.dx: each function, its gradient, and beside every derivative
 * the central finite difference (f(x + h) - f(x - h)) / 2h it should agree
 * with.  `make example` builds and runs it.
 */
#include <math.h>
#include <stdio.h>

#include "graph.h"
#include "neuron.h"
#include "square.h"

/* Step of the central differences: about the cube root of the machine
 * epsilon, where truncation and rounding errors balance. */
static const double h = 1e-5;

static void square_example(void)
{
    double x = 3, dx;
    double y = square_grad(x, &dx);
    double fd = (square(x + h) - square(x - h)) / (2 * h);
    printf("y = x^2 at x = 3:\n");
    printf("  square(3) = %g, dy/dx = %g (finite differences: %f)\n\n", y, dx, fd);
}

static void graph_example(void)
{
    double a = 2, b = 3, c = 4, da, db, dc;
    double y = f_grad(a, b, c, &da, &db, &dc);
    printf("y = (a + b) * c at a = 2, b = 3, c = 4:\n");
    printf("  f = %g, gradient (%g, %g, %g) (finite differences: %f, %f, %f)\n\n", y, da, db, dc,
           (f(a + h, b, c) - f(a - h, b, c)) / (2 * h), (f(a, b + h, c) - f(a, b - h, c)) / (2 * h),
           (f(a, b, c + h) - f(a, b, c - h)) / (2 * h));
}

static void neuron_example(void)
{
    double w = 0.5, b = 0.1, x = 2, target = 1, dw, db;
    double l = loss_grad(w, b, x, target, &dw, &db);
    printf("a neuron relu(x*w + b), loss 0.5 * (y - target)^2 at w = 0.5, b = 0.1, x = 2, "
           "target = 1:\n");
    printf("  y = %g, loss = %g, dloss/dw = %g, dloss/db = %g (finite differences: %f, %f)\n",
           neuron(w, b, x), l, dw, db,
           (loss(w + h, b, x, target) - loss(w - h, b, x, target)) / (2 * h),
           (loss(w, b + h, x, target) - loss(w, b - h, x, target)) / (2 * h));
}

int main(void)
{
    square_example();
    graph_example();
    neuron_example();
    return 0;
}
