/*
 * mlp_hand.h - the 784-128-10 MLP of bench/mlp.dx, written by hand.
 *
 * Same interface as the code dxc generates for bench/mlp.dx (see
 * dx-language.md section 6): arrays row-major, W1[i, j] at W1[i * 784 + j];
 * mlp_hand_grad returns the loss and overwrites the four gradients.
 */
#ifndef MLP_HAND_H
#define MLP_HAND_H

double mlp_hand(const double W1[128 * 784], const double b1[128],
                const double W2[10 * 128], const double b2[10],
                const double x[784], const double y[10]);

double mlp_hand_grad(const double W1[128 * 784], const double b1[128],
                     const double W2[10 * 128], const double b2[10],
                     const double x[784], const double y[10],
                     double W1_bar[128 * 784], double b1_bar[128],
                     double W2_bar[10 * 128], double b2_bar[10]);

#endif
