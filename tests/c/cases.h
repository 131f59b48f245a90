/*
 * Reads the case files that the Rust tests write (see tests/src/cases.rs for the
 * layout): model blobs, sentences, and the outputs the C API must give for them.
 */
#ifndef POSTAG_CASES_H
#define POSTAG_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "postag.h"

typedef struct bytes {
    uint8_t *data;
    size_t len;
} bytes;

typedef struct sentence {
    size_t n;
    postag_token *tokens; /* point into the case file's bytes: not NUL-terminated */
    int has_plain;
    uint16_t *tags; /* n */
    float *scores;  /* n * num_tags */
    int has_stream;
    float *initial; /* state_len */
    int has_final;
    float *final_state; /* state_len */
    uint16_t *stream_tags;
    float *stream_scores;
} sentence;

typedef struct model_case {
    char name[96];
    bytes blob;
    bytes file; /* the case file; empty (data NULL) for a blob without one */
    float tolerance; /* 0: bit-exact */
    float step_tolerance;
    size_t num_tags, state_len, layers, hidden;
    int bidirectional, crf, chars, unknown_word, unknown_char;
    postag_token *tag_names; /* num_tags */
    size_t n_sentences;
    sentence *sentences;
} model_case;

/* Reads a whole file into malloc'd memory; 0 on failure. */
int read_file(const char *path, bytes *out);

/* Reads the manifest and every case it lists; 0 on failure (after a message). */
int load_cases(const char *manifest, model_case **cases, size_t *count);

/* Frees what load_cases allocated. */
void free_cases(model_case *cases, size_t count);

/* The case called `name`, or NULL. */
const model_case *find_case(const model_case *cases, size_t count, const char *name);

#endif /* POSTAG_CASES_H */
