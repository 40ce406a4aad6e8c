/*
 * mlp_hand.c - the baseline for bench/run.sh: the MLP of bench/mlp.dx and
 * its gradient as a careful C programmer would write them by hand.
 *
 *     a = W1 x + b1,   h = relu(a),   z = W2 h + b2,
 *     loss = logsumexp(z) - y . z
 *
 * The gradient makes one forward pass that keeps a (for relu'), h and
 * exp(z - max z), then one backward pass:
 *
 *     dz = softmax(z) - y          b2_bar = dz    W2_bar = dz h^T
 *     g1 = relu'(a) (W2^T dz)      b1_bar = g1    W1_bar = g1 x^T
 *
 * Every output element is written exactly once, directly (no zeroing
 * followed by accumulation).  logsumexp subtracts max(z), so it cannot
 * overflow; relu'(0) = 0, as dx defines it.  Sums run in the order the
 * model writes them (W1 x, then + b1), so the results match dxc's to
 * rounding.
 */
#include <math.h>

#include "mlp_hand.h"

enum { NI = 784, NH = 128, NO = 10 };

/* The forward pass: a = W1 x + b1, h = relu(a), z = W2 h + b2. */
static void forward(const double *W1, const double *b1, const double *W2,
                    const double *b2, const double *x, double *a, double *h,
                    double *z)
{
    for (int i = 0; i < NH; i++) {
        const double *row = W1 + i * NI;
        double s = 0.0;
        for (int j = 0; j < NI; j++)
            s += row[j] * x[j];
        a[i] = s + b1[i];
        h[i] = a[i] > 0.0 ? a[i] : 0.0;
    }
    for (int k = 0; k < NO; k++) {
        const double *row = W2 + k * NH;
        double s = 0.0;
        for (int i = 0; i < NH; i++)
            s += row[i] * h[i];
        z[k] = s + b2[k];
    }
}

/* logsumexp(z) - y . z.  Leaves e[k] = exp(z[k] - max z) and returns
 * their sum in *se, from which the backward pass forms softmax(z). */
static double loss_of(const double *z, const double *y, double *e, double *se)
{
    double m = z[0];
    for (int k = 1; k < NO; k++)
        m = z[k] > m ? z[k] : m;
    double s = 0.0, yz = 0.0;
    for (int k = 0; k < NO; k++) {
        e[k] = exp(z[k] - m);
        s += e[k];
        yz += y[k] * z[k];
    }
    *se = s;
    return m + log(s) - yz;
}

double mlp_hand(const double W1[128 * 784], const double b1[128],
                const double W2[10 * 128], const double b2[10],
                const double x[784], const double y[10])
{
    double a[NH], h[NH], z[NO], e[NO], se;
    forward(W1, b1, W2, b2, x, a, h, z);
    return loss_of(z, y, e, &se);
}

double mlp_hand_grad(const double W1[128 * 784], const double b1[128],
                     const double W2[10 * 128], const double b2[10],
                     const double x[784], const double y[10],
                     double W1_bar[128 * 784], double b1_bar[128],
                     double W2_bar[10 * 128], double b2_bar[10])
{
    double a[NH], h[NH], z[NO], e[NO], se;
    forward(W1, b1, W2, b2, x, a, h, z);
    double loss = loss_of(z, y, e, &se);

    /* dz = softmax(z) - y; the output layer's gradients. */
    double dz[NO];
    for (int k = 0; k < NO; k++) {
        dz[k] = e[k] / se - y[k];
        b2_bar[k] = dz[k];
        double *row = W2_bar + k * NH;
        for (int i = 0; i < NH; i++)
            row[i] = dz[k] * h[i];
    }

    /* g1 = W2^T dz, row by row of W2 (contiguous), then relu'. */
    double g1[NH];
    for (int i = 0; i < NH; i++)
        g1[i] = W2[i] * dz[0];
    for (int k = 1; k < NO; k++) {
        const double *row = W2 + k * NH;
        for (int i = 0; i < NH; i++)
            g1[i] += row[i] * dz[k];
    }

    /* The hidden layer's gradients. */
    for (int i = 0; i < NH; i++) {
        double g = a[i] > 0.0 ? g1[i] : 0.0;
        b1_bar[i] = g;
        double *row = W1_bar + i * NI;
        for (int j = 0; j < NI; j++)
            row[j] = g * x[j];
    }
    return loss;
}
