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
#include "support.h"


_Static_assert(sizeof(postag_model) == POSTAG_MODEL_SIZE, "postag_model is POSTAG_MODEL_SIZE");

static postag_model model;
static uint8_t scratch[SCRATCH_BYTES];
static float scores[SCORES_LEN];
static uint16_t tags[MAX_SENTENCE_TOKENS];
static postag_token tokens[MAX_SENTENCE_TOKENS];

/* ---- tagging ---- */

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
