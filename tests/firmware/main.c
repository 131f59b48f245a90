/*
 * Firmware for the Cortex-M boards of the firmware test under QEMU: tags the sentences of
 * sentences.h with the model blob in flash, and prints through semihosting each token's
 * tag and the bits of its scores, then the figures: instructions (SysTick ticks under
 * `-icount shift=0`, with a calibration loop of known length), stack high-water marks of
 * the load and of tagging, scratch bytes touched.
 *
 * Build parameters (-D): SCRATCH_BYTES (the one static scratch buffer), LOW_MEMORY (1:
 * the buffer is sized by postag_min_scratch_size, the low-memory schedule), SCORES_LEN
 * (floats of the score buffer: longest sentence x tags) and LINE_BYTES (the print
 * buffer; a longer line goes out in pieces).
 */
#include <stddef.h>
#include <stdint.h>

#include "postag.h"
#include "sentences.h"

extern const uint8_t postag_blob[];
extern const uint8_t postag_blob_end[];
extern uint32_t _stack_bottom[];
extern uint32_t _stack_top[];
extern uint32_t STACK_PAINT[]; /* a linker symbol: its address is the paint value */

_Static_assert(sizeof(postag_model) == POSTAG_MODEL_SIZE, "postag_model is POSTAG_MODEL_SIZE");

static postag_model model;
static uint8_t scratch[SCRATCH_BYTES];
static float scores[SCORES_LEN];
static uint16_t tags[MAX_SENTENCE_TOKENS];
static postag_token tokens[MAX_SENTENCE_TOKENS];

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

static void put(const char *s) {
    while (*s != '\0') {
        if (line_len + 2 >= sizeof line) {
            flush();
        }
        line[line_len++] = *s++;
    }
}

static void put_dec(uint32_t v) {
    char digits[11];
    int i = 10;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(&digits[i]);
}

static void put_hex(uint32_t v) {
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

static void end_line(void) {
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

static void systick_start(void) {
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7; /* enable, interrupt on wrap, processor clock */
    while (SYST_CVR == 0) {
        /* until the first tick reloads the counter from SYST_RVR */
    }
}

static uint64_t ticks(void) {
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return ((uint64_t)wraps << 24) + (0xFFFFFFu - value);
}

/* Ticks of a loop of CALIBRATION_LOOPS x 2 instructions: instructions per tick. */
#define CALIBRATION_LOOPS 1000000u

static uint32_t calibration_ticks(void) {
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
static uint32_t stack_used(void) {
    uint32_t *p;
    for (p = _stack_bottom; p < _stack_top && *p == (uint32_t)(uintptr_t)STACK_PAINT; p++) {
    }
    return (uint32_t)((uintptr_t)_stack_top - (uintptr_t)p);
}

/* Paints the stack below this function's frame again, for the next high-water mark. */
static void __attribute__((noinline)) repaint_stack(void) {
    uint32_t *p, *sp;
    __asm__ volatile("mov %0, sp" : "=l"(sp));
    for (p = _stack_bottom; p + 16 < sp; p++) {
        *(volatile uint32_t *)p = (uint32_t)(uintptr_t)STACK_PAINT;
    }
}

/* ---- tagging ---- */

static int fail(const char *what, postag_status status) {
    put("error ");
    put(what);
    put(": ");
    put(postag_status_str(status));
    end_line();
    return 1;
}

int main(void) {
    size_t blob_len = (size_t)(postag_blob_end - postag_blob);
    size_t i, k, num_tags, needed, touched;
    uint64_t start, load_ticks, tag_ticks = 0;
    uint32_t tokens_total = 0, stack_load, calibration;
    postag_status status;
    const uint8_t paint = 0xA5;

    systick_start();
    calibration = calibration_ticks();
    for (i = 0; i < sizeof scratch; i++) {
        scratch[i] = paint;
    }

    start = ticks();
    status = postag_model_load(postag_blob, blob_len, &model);
    load_ticks = ticks() - start;
    if (status != POSTAG_STATUS_OK) {
        return fail("load", status);
    }
    stack_load = stack_used();
    repaint_stack();
    status = postag_num_tags(&model, &num_tags);
    if (status == POSTAG_STATUS_OK) {
#if LOW_MEMORY
        status = postag_min_scratch_size(&model, MAX_SENTENCE_TOKENS, &needed);
#else
        status = postag_scratch_size(&model, MAX_SENTENCE_TOKENS, &needed);
#endif
    }
    if (status != POSTAG_STATUS_OK) {
        return fail("model", status);
    }
    put("model bytes ");
    put_dec((uint32_t)blob_len);
    put(" load_ticks ");
    put_dec((uint32_t)load_ticks);
    put(" tags ");
    put_dec((uint32_t)num_tags);
    put(" scratch_needed ");
    put_dec((uint32_t)needed);
    put(" scratch_buffer ");
    put_dec((uint32_t)sizeof scratch);
    put(" model_object ");
    put_dec((uint32_t)sizeof model);
    end_line();
    if (num_tags * MAX_SENTENCE_TOKENS > SCORES_LEN) {
        return fail("score buffer", POSTAG_STATUS_OUTPUT_TOO_SMALL);
    }

    for (i = 0; i < N_SENTENCES; i++) {
        size_t n = SENTENCE_LEN[i];
        uint64_t spent;
        for (k = 0; k < n; k++) {
            size_t t = SENTENCE_START[i] + k;
            tokens[k].ptr = &TEXT[TOKEN_START[t]];
            tokens[k].len = TOKEN_LEN[t];
        }
        start = ticks();
        status = postag_tag(&model, tokens, n, scratch, sizeof scratch, tags, MAX_SENTENCE_TOKENS,
                            scores, SCORES_LEN);
        spent = ticks() - start;
        if (status != POSTAG_STATUS_OK) {
            return fail("tag", status);
        }
        tag_ticks += spent;
        tokens_total += (uint32_t)n;
        put("sentence index ");
        put_dec((uint32_t)i);
        put(" tokens ");
        put_dec((uint32_t)n);
        put(" ticks ");
        put_dec((uint32_t)spent);
        end_line();
        for (k = 0; k < n; k++) {
            size_t j;
            put_dec(tags[k]);
            for (j = 0; j < num_tags; j++) {
                union {
                    float f;
                    uint32_t u;
                } bits;
                bits.f = scores[k * num_tags + j];
                put(" ");
                put_hex(bits.u);
            }
            end_line();
        }
    }

    /* The scratch bytes tagging wrote: up to the last byte that lost its paint. */
    for (touched = sizeof scratch; touched > 0 && scratch[touched - 1] == paint; touched--) {
    }
    put("figures tokens ");
    put_dec(tokens_total);
    put(" tag_ticks ");
    put_dec((uint32_t)tag_ticks);
    put(" stack_load ");
    put_dec(stack_load);
    put(" stack_tag ");
    put_dec(stack_used());
    put(" stack_size ");
    put_dec((uint32_t)((uintptr_t)_stack_top - (uintptr_t)_stack_bottom));
    put(" scratch_touched ");
    put_dec((uint32_t)touched);
    put(" calibration_ticks ");
    put_dec(calibration);
    put(" calibration_instructions ");
    put_dec(2 * CALIBRATION_LOOPS);
    end_line();
    put("done");
    end_line();
    return 0;
}
