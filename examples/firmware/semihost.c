/*
 * semihost.c - ARM semihosting, the debugger's (here qemu's) console and
 * exit, without a C library's stdio.
 *
 * A semihosting call on an M-profile core is the instruction BKPT 0xAB
 * with the operation number in r0 and its argument (a pointer to a
 * parameter block, or a value) in r1; the result comes back in r0.  See
 * Arm's "Semihosting for AArch32 and AArch64" specification (version 2):
 *   SYS_WRITE0        0x04  r1 = the string
 *   SYS_EXIT          0x18  r1 = a reason; on AArch32 only the reason
 *                           ADP_Stopped_ApplicationExit (0x20026) means
 *                           success, there is no status
 *   SYS_EXIT_EXTENDED 0x20  r1 = { reason, status }: a status on AArch32
 *                           too (an optional extension qemu implements)
 * qemu-system-arm answers them with -semihosting-config enable=on.
 */
#include <stdint.h>

#include "io.h"
#include "semihost.h"

enum {
    SYS_WRITE0 = 0x04,
    SYS_EXIT = 0x18,
    SYS_EXIT_EXTENDED = 0x20,
    ADP_Stopped_ApplicationExit = 0x20026,
    ADP_Stopped_RunTimeErrorUnknown = 0x20023,
};

static uintptr_t semihost(uintptr_t op, const void *arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_write0(const char *s)
{
    semihost(SYS_WRITE0, s);
}

void sh_exit(int status)
{
    uintptr_t block[2] = { ADP_Stopped_ApplicationExit, (uintptr_t)status };
    semihost(SYS_EXIT_EXTENDED, block);
    /* still here: the debugger does not know SYS_EXIT_EXTENDED */
    semihost(SYS_EXIT, (const void *)(uintptr_t)(status == 0 ? ADP_Stopped_ApplicationExit
                                                               : ADP_Stopped_RunTimeErrorUnknown));
    for (;;)
        __asm__ volatile("bkpt 0");
}

void put(const char *s)
{
    sh_write0(s);
}
