/*
 * spring_hand.h - the model of tests/models/spring.dx and its gradient,
 * written by hand (spring_hand.c), with the interface dxc generates for it.
 */
#ifndef SPRING_HAND_H
#define SPRING_HAND_H

double spring_hand(double k, double c, double x0, double v0);
double spring_hand_grad(double k, double c, double x0, double v0, double *k_bar, double *c_bar);

#endif
