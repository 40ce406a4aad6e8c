/*
 * io.h - what main.c prints with: the same calls on the board (semihost.c,
 * through the debugger's semihosting) and on the host (host.c, stdio).
 */
#ifndef IO_H
#define IO_H

/* Writes the NUL-terminated string s. */
void put(const char *s);
/* Writes x with nine significant digits (enough to tell any two floats
 * apart) as d.dddddddde+XX, or 0, -0, inf, -inf, nan (fmt.c). */
void put_float(float x);

#endif
