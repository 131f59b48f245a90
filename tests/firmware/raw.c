/*
 * Firmware for the MPS2 AN386 board (Cortex-M4F) under QEMU: raw text to tagged words
 * with the model blob in flash. Segments the paragraph of raw_text.h with
 * postag_segment, then segments and tags it with postag_tag_text, and prints through
 * semihosting every token (byte span, flags, words) and every word (where it points:
 * the text or the blob, its length, its tag), then the figures (SysTick ticks under
 * `-icount shift=0`, stack high-water mark).
 *
 * Build parameters (-D): WINDOW (characters per segmenter window), SCRATCH_BYTES,
 * MAX_TOKENS and MAX_WORDS (from the host's postag_text_size for the text), and a
 * generated raw_text.h with RAW_TEXT and RAW_TEXT_LEN. Shares startup.S, link.ld,
 * model.S and support.c with main.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "postag.h"
#include "raw_text.h"
#include "support.h"


static postag_model model;
static uint8_t scratch[SCRATCH_BYTES];
static postag_segment_token seg_tokens[MAX_TOKENS];
static postag_text_token tokens[MAX_TOKENS];
static postag_token words[MAX_WORDS];
static uint16_t tags[MAX_WORDS];

int main(void) {
    size_t blob_len = (size_t)(postag_blob_end - postag_blob);
    size_t i, n_seg = 0, consumed = 0;
    uint64_t start, load_ticks, segment_ticks, tag_text_ticks;
    postag_text_sizes sizes;
    postag_text_counts counts;
    postag_status status;
    uint32_t stack;

    systick_start();

    start = ticks();
    status = postag_model_load(postag_blob, blob_len, &model);
    load_ticks = ticks() - start;
    if (status != POSTAG_STATUS_OK) {
        return fail("load", status);
    }
    status = postag_text_size(&model, RAW_TEXT, RAW_TEXT_LEN, WINDOW, &sizes);
    if (status != POSTAG_STATUS_OK) {
        return fail("text size", status);
    }
    if (sizes.max_tokens > MAX_TOKENS || sizes.max_words > MAX_WORDS ||
        sizes.tag_text_scratch > SCRATCH_BYTES) {
        return fail("buffers", POSTAG_STATUS_OUTPUT_TOO_SMALL);
    }

    start = ticks();
    status = postag_segment(&model, RAW_TEXT, RAW_TEXT_LEN, WINDOW, scratch, sizeof scratch,
                            seg_tokens, MAX_TOKENS, &n_seg, &consumed);
    segment_ticks = ticks() - start;
    if (status != POSTAG_STATUS_OK || consumed != RAW_TEXT_LEN) {
        return fail("segment", status);
    }

    start = ticks();
    status = postag_tag_text(&model, RAW_TEXT, RAW_TEXT_LEN, WINDOW, scratch, sizeof scratch,
                             tokens, MAX_TOKENS, words, MAX_WORDS, tags, MAX_WORDS, &counts);
    tag_text_ticks = ticks() - start;
    if (status != POSTAG_STATUS_OK) {
        return fail("tag text", status);
    }

    put("model bytes ");
    put_dec((uint32_t)blob_len);
    put(" load_ticks ");
    put_dec((uint32_t)load_ticks);
    put(" text_bytes ");
    put_dec((uint32_t)RAW_TEXT_LEN);
    put(" scratch_bytes ");
    put_dec((uint32_t)sizes.tag_text_scratch);
    put(" segment_scratch ");
    put_dec((uint32_t)sizes.segment_scratch);
    end_line();
    for (i = 0; i < n_seg; i++) {
        put("segment ");
        put_dec(seg_tokens[i].start);
        put(" ");
        put_dec(seg_tokens[i].end);
        put(" ");
        put_dec(seg_tokens[i].flags);
        end_line();
    }
    for (i = 0; i < counts.n_tokens; i++) {
        put("token ");
        put_dec(tokens[i].start);
        put(" ");
        put_dec(tokens[i].end);
        put(" ");
        put_dec(tokens[i].flags);
        put(" ");
        put_dec(tokens[i].first_word);
        put(" ");
        put_dec(tokens[i].n_words);
        end_line();
    }
    for (i = 0; i < counts.n_words; i++) {
        const uint8_t *w = words[i].ptr;
        int in_text = w >= RAW_TEXT && w < RAW_TEXT + RAW_TEXT_LEN;
        put("word ");
        put(in_text ? "t " : "b ");
        put_dec((uint32_t)(in_text ? (size_t)(w - RAW_TEXT) : (size_t)(w - postag_blob)));
        put(" ");
        put_dec((uint32_t)words[i].len);
        put(" ");
        put_dec(tags[i]);
        end_line();
    }
    stack = stack_used();
    put("figures tokens ");
    put_dec((uint32_t)counts.n_tokens);
    put(" words ");
    put_dec((uint32_t)counts.n_words);
    put(" segment_ticks ");
    put_dec((uint32_t)segment_ticks);
    put(" tag_text_ticks ");
    put_dec((uint32_t)tag_text_ticks);
    put(" stack_used ");
    put_dec(stack);
    end_line();
    put("done");
    end_line();
    return 0;
}
