/*
 * semihost.h - the two ARM semihosting calls the firmware needs: write a
 * string to the debugger's console, and stop with an exit status.
 */
#ifndef SEMIHOST_H
#define SEMIHOST_H

/* SYS_WRITE0: writes the NUL-terminated string s on the host. */
void sh_write0(const char *s);
/* SYS_EXIT_EXTENDED, or SYS_EXIT where the debugger lacks it: ends the
 * program with status (qemu-system-arm exits with it). */
void sh_exit(int status) __attribute__((noreturn));

#endif
