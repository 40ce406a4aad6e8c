/*
 * fmt.c - put_float, a float formatter small enough to read, so that the
 * firmware needs no printf.  The board and the host share it, so the two
 * print the same text when their results are the same bits.
 *
 * The float is widened to double (exactly), scaled by powers of ten into
 * [1, 10), and rounded to nine significant digits, which tell any two
 * floats apart (FLT_DECIMAL_DIG, C11 5.2.4.2.2).  The at most 45 scaling
 * steps each round by half an ulp of double, far below the ninth digit.
 * On the Cortex-M4 the double arithmetic is libgcc's software routines:
 * this is the only double code in the image.
 */
#include <stdint.h>

#include "io.h"

void put_float(float x)
{
    union {
        float f;
        uint32_t u;
    } bits = { x };
    char buf[20], *p = buf;
    double v = (double)x;
    int e = 0;

    if (x != x) {
        put("nan");
        return;
    }
    if (bits.u >> 31) {
        *p++ = '-';
        v = -v;
    }
    if (v == 0 || v > 3.5e38) {
        *p = 0;
        put(buf);
        put(v == 0 ? "0" : "inf");
        return;
    }
    while (v >= 10) {
        v /= 10;
        e++;
    }
    while (v < 1) {
        v *= 10;
        e--;
    }
    uint32_t m = (uint32_t)(v * 1e8 + 0.5);     /* nine digits */
    if (m >= 1000000000u) {                     /* 9.999999999 rounded up */
        m /= 10;
        e++;
    }
    char digits[9];
    for (int i = 8; i >= 0; i--) {
        digits[i] = (char)('0' + m % 10);
        m /= 10;
    }
    *p++ = digits[0];
    *p++ = '.';
    for (int i = 1; i < 9; i++)
        *p++ = digits[i];
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    if (e < 0)
        e = -e;
    *p++ = (char)('0' + e / 10);
    *p++ = (char)('0' + e % 10);
    *p = 0;
    put(buf);
}
