/*
 * What both firmware programs (main.c, raw.c) need besides the library: output through
 * semihosting, SysTick ticks, stack high-water marks. Defined in support.c, which is
 * built with each program (parameter: LINE_BYTES, the print buffer, default 256; a
 * longer line goes out in pieces).
 */
#ifndef POSTAG_FIRMWARE_SUPPORT_H
#define POSTAG_FIRMWARE_SUPPORT_H

#include <stdint.h>

#include "postag.h"

/* The blob (model.S) and the stack (link.ld, painted by startup.S). */
extern const uint8_t postag_blob[];
extern const uint8_t postag_blob_end[];
extern uint32_t _stack_bottom[];
extern uint32_t _stack_top[];

/* Appends to the current output line; end_line prints it. */
void put(const char *s);
void put_dec(uint32_t v);
void put_hex(uint32_t v);
void end_line(void);

/* Prints "error WHAT: MESSAGE" and returns 1 (main's failure status). */
int fail(const char *what, postag_status status);

/* SysTick on the processor clock, counting down from 0xFFFFFF with wraps counted:
 * under `-icount shift=0` one instruction takes 1 ns. */
void systick_start(void);
uint64_t ticks(void);
/* Ticks of a loop of CALIBRATION_LOOPS x 2 instructions: instructions per tick. */
#define CALIBRATION_LOOPS 1000000u
uint32_t calibration_ticks(void);

/* Bytes of stack used since the paint (the reset handler's, or repaint_stack's). */
uint32_t stack_used(void);
/* Paints the stack below the caller's frame again, for the next high-water mark. */
void repaint_stack(void);

#endif /* POSTAG_FIRMWARE_SUPPORT_H */
