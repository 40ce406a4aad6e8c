/* main.c - the tiny project that shows dx.mk and DxGenerate.cmake: calls
 * the function dxc generates from ball.dx and its gradient. */
#include <stdio.h>

#include "ball.h"

int main(void)
{
    double v_bar, a_bar, d_bar;
    double x = ball_grad(20, 0.5, 0.1, &v_bar, &a_bar, &d_bar);
    printf("ball %.6f\n", x);
    printf("d ball / d v %.6f, d a %.6f, d d %.6f\n", v_bar, a_bar, d_bar);
    return 0;
}
