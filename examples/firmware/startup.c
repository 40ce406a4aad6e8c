/*
 * startup.c - everything that runs before main on the Cortex-M4 of the
 * MPS2 AN386 board: the vector table and the reset handler.
 *
 * On reset an ARMv7-M core loads its stack pointer from the first word of
 * the vector table and jumps to the address in the second (the reset
 * handler); the table sits at address 0, where an386.ld puts it (ARMv7-M
 * Architecture Reference Manual, B1.5.3 "The vector table").  The reset
 * handler then
 *   1. grants full access to the FPU, coprocessors CP10 and CP11, in
 *      CPACR (0xE000ED88, bits 20-23; ARMv7-M ARM B3.2.20): the code is
 *      built for -mfloat-abi=hard, and its first float instruction would
 *      fault without this;
 *   2. copies the initial values of .data from flash (SSRAM1) to RAM
 *      (SSRAM2/3) and zeroes .bss, at the addresses an386.ld defines;
 *   3. fills the unused stack with a pattern, so that main's deepest
 *      stack use can be measured afterwards (stack_used below);
 *   4. calls main and ends the program with its return value through
 *      semihosting (semihost.c).
 * Any fault ends the program with status 3 and a message instead of
 * spinning, so that a crash under qemu is reported, not hung on.
 */
#include <stdint.h>

#include "semihost.h"

/* From an386.ld. */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
static void Fault_Handler(void);

#define STACK_PAINT 0x5afe57acu
#define CPACR (*(volatile uint32_t *)0xE000ED88u)

/* The bytes of the stack main has used: those no longer holding the
 * pattern, counted from the bottom (the stack grows down). */
uint32_t stack_used(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == STACK_PAINT)
        p++;
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

void Reset_Handler(void)
{
    CPACR |= 0xFu << 20;                      /* CP10, CP11: full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;)
        *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;)
        *d++ = 0;

    /* paint up to 64 bytes below this function's own frame */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *d = __stack_limit; d < sp - 16;)
        *d++ = STACK_PAINT;

    sh_exit(main());
}

static void Fault_Handler(void)
{
    sh_write0("fault: the program stopped on an exception\n");
    sh_exit(3);
}

/* The 16 system exceptions of ARMv7-M; the board's interrupts, unused
 * here, would follow.  Entry 0 is the initial stack pointer. */
typedef void (*handler_t)(void);
__attribute__((section(".vectors"), used))
const handler_t vectors[16] = {
    (handler_t)(uintptr_t)__stack_top,
    Reset_Handler,
    Fault_Handler,      /* NMI */
    Fault_Handler,      /* HardFault */
    Fault_Handler,      /* MemManage */
    Fault_Handler,      /* BusFault */
    Fault_Handler,      /* UsageFault */
    0, 0, 0, 0,         /* reserved */
    Fault_Handler,      /* SVCall */
    Fault_Handler,      /* DebugMonitor */
    0,                  /* reserved */
    Fault_Handler,      /* PendSV */
    Fault_Handler,      /* SysTick */
};
