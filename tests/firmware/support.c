/*
 * Output through semihosting, SysTick ticks and stack high-water marks for the firmware
 * programs (see support.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "support.h"

#ifndef LINE_BYTES
#define LINE_BYTES 256
#endif

extern uint32_t STACK_PAINT[]; /* a linker symbol: its address is the paint value */

/* ---- semihosting ---- */

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* Called by the reset handler with main's return value. */
void semihost_exit(int status) {
    /* SYS_EXIT: ADP_Stopped_ApplicationExit is status 0, RunTimeErrorUnknown 1. */
    semihost(0x18, (const void *)(uintptr_t)(status == 0 ? 0x20026 : 0x20023));
    for (;;) {
    }
}

static char line[LINE_BYTES];
static size_t line_len;

static void flush(void) {
    line[line_len] = '\0';
    semihost(0x04, line); /* SYS_WRITE0 */
    line_len = 0;
}

void put(const char *s) {
    while (*s != '\0') {
        if (line_len + 2 >= sizeof line) {
            flush();
        }
        line[line_len++] = *s++;
    }
}

void put_dec(uint32_t v) {
    char digits[11];
    int i = 10;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(&digits[i]);
}

void put_hex(uint32_t v) {
    static const char hex[] = "0123456789abcdef";
    char digits[9];
    int i;
    for (i = 7; i >= 0; i--) {
        digits[i] = hex[v & 0xF];
        v >>= 4;
    }
    digits[8] = '\0';
    put(digits);
}

void end_line(void) {
    line[line_len++] = '\n';
    flush();
}

/* ---- SysTick on the CPU clock: one tick per 1e9 / clock instructions under -icount shift=0 ---- */

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) {
    systick_wraps++;
}

void systick_start(void) {
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7; /* enable, interrupt on wrap, processor clock */
    while (SYST_CVR == 0) {
        /* until the first tick reloads the counter from SYST_RVR */
    }
}

uint64_t ticks(void) {
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return ((uint64_t)wraps << 24) + (0xFFFFFFu - value);
}

uint32_t calibration_ticks(void) {
    uint32_t n = CALIBRATION_LOOPS;
    uint64_t start = ticks();
#if __ARM_ARCH_ISA_THUMB == 1
    /* GCC reads Thumb-1 inline assembly in divided syntax. */
    __asm__ volatile(".syntax unified\n1: subs %0, #1\n\tbne 1b\n.syntax divided"
                     : "+l"(n)
                     :
                     : "cc");
#else
    __asm__ volatile("1: subs %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
#endif
    return (uint32_t)(ticks() - start);
}

/* ---- stack high-water marks ---- */

/* Bytes of stack used since the paint: from the top down to the lowest word that lost
 * the paint the reset handler (or repaint_stack) put on it. */
uint32_t stack_used(void) {
    uint32_t *p;
    for (p = _stack_bottom; p < _stack_top && *p == (uint32_t)(uintptr_t)STACK_PAINT; p++) {
    }
    return (uint32_t)((uintptr_t)_stack_top - (uintptr_t)p);
}

/* Paints the stack below this function's frame again, for the next high-water mark. */
void __attribute__((noinline)) repaint_stack(void) {
    uint32_t *p, *sp;
    __asm__ volatile("mov %0, sp" : "=l"(sp));
    for (p = _stack_bottom; p + 16 < sp; p++) {
        *(volatile uint32_t *)p = (uint32_t)(uintptr_t)STACK_PAINT;
    }
}

int fail(const char *what, postag_status status) {
    put("error ");
    put(what);
    put(": ");
    put(postag_status_str(status));
    end_line();
    return 1;
}
