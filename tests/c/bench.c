/*
 * Batch-1 tagging throughput through the C API: bench MODEL SENTENCES SECONDS.
 * SENTENCES holds one token per line, sentences separated by an empty line.
 * Prints "tokens_per_second N".
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "postag.h"

#define MAX_SENTENCE 64

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    bytes blob, text;
    postag_model model;
    postag_token *tokens;
    size_t *starts, n_tokens = 0, n_sentences = 0, i, scratch_len;
    uint8_t *scratch;
    uint16_t tags[MAX_SENTENCE];
    double seconds, start, elapsed;
    unsigned long long tagged = 0;
    postag_status status;

    if (argc != 4 || !read_file(argv[1], &blob) || !read_file(argv[2], &text)) {
        fprintf(stderr, "usage: %s MODEL SENTENCES SECONDS\n", argv[0]);
        return 2;
    }
    seconds = atof(argv[3]);
    status = postag_model_load(blob.data, blob.len, &model);
    if (status == POSTAG_STATUS_OK) {
        status = postag_cached_scratch_size(&model, MAX_SENTENCE, &scratch_len);
    }
    if (status != POSTAG_STATUS_OK) {
        fprintf(stderr, "%s\n", postag_status_str(status));
        return 1;
    }
    scratch = (uint8_t *)malloc(scratch_len);
    tokens = (postag_token *)malloc(text.len * sizeof *tokens);
    starts = (size_t *)malloc((text.len + 2) * sizeof *starts);
    /* Tokens point into the file's bytes; an empty line ends a sentence. */
    starts[0] = 0;
    for (i = 0; i < text.len;) {
        size_t end = i;
        while (end < text.len && text.data[end] != '\n') {
            end++;
        }
        if (end == i) {
            if (n_tokens > starts[n_sentences]) {
                starts[++n_sentences] = n_tokens;
            }
        } else {
            tokens[n_tokens].ptr = text.data + i;
            tokens[n_tokens].len = end - i;
            n_tokens++;
        }
        i = end + 1;
    }
    if (n_tokens > starts[n_sentences]) {
        starts[++n_sentences] = n_tokens;
    }

    start = now();
    do {
        for (i = 0; i < n_sentences; i++) {
            size_t n = starts[i + 1] - starts[i];
            status = postag_tag(&model, tokens + starts[i], n, scratch, scratch_len, tags,
                                MAX_SENTENCE, NULL, 0);
            if (status != POSTAG_STATUS_OK) {
                fprintf(stderr, "%s\n", postag_status_str(status));
                return 1;
            }
            tagged += n;
        }
        elapsed = now() - start;
    } while (elapsed < seconds);
    printf("tokens_per_second %.0f\n", (double)tagged / elapsed);
    free(scratch);
    free(tokens);
    free(starts);
    free(blob.data);
    free(text.data);
    return 0;
}
