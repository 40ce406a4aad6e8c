/*
 * toy_hand.h - the model of bench/toy.dx and its gradient, written by hand
 * (toy_hand.c), with the interface dxc generates for it.
 */
#ifndef TOY_HAND_H
#define TOY_HAND_H

double toy_hand(const double x[100]);
double toy_hand_grad(const double x[100], double x_bar[100]);

#endif
