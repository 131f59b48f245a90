/* Tags the words given on the command line: example MODEL.postag WORD... */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "postag.h"

#define MAX_WORDS 64

/* The model's bytes: they must outlive the model. Any address works; at a multiple of
   64 the weights of a model in panels lie as its vector loads read them, which is faster. */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
static _Alignas(64) uint8_t blob[8 << 20];
#elif defined(__GNUC__)
static uint8_t blob[8 << 20] __attribute__((aligned(64)));
#else
static uint8_t blob[8 << 20];
#endif
static postag_model model;          /* a few KB, owned by the caller */
static uint8_t scratch[256 << 10];  /* working memory: see postag_scratch_size */

int main(int argc, char **argv) {
    postag_token tokens[MAX_WORDS];
    uint16_t tags[MAX_WORDS];
    size_t n = argc > 2 ? (size_t)argc - 2 : 0, blob_len, i;
    postag_status status;
    FILE *f;

    if (argc < 2 || n > MAX_WORDS || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: %s MODEL WORD... (at most %d words)\n", argv[0], MAX_WORDS);
        return 2;
    }
    blob_len = fread(blob, 1, sizeof blob, f);
    if (ferror(f) || fgetc(f) != EOF) {
        fprintf(stderr, "%s: %s\n", argv[1], ferror(f) ? "read error" : "larger than 8 MiB");
        fclose(f);
        return 1;
    }
    fclose(f);

    /* Validates the blob once; the model then reads the weights where they lie. */
    status = postag_model_load(blob, blob_len, &model);
    if (status != POSTAG_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], postag_status_str(status));
        return 1;
    }
    for (i = 0; i < n; i++) {
        tokens[i].ptr = (const uint8_t *)argv[i + 2]; /* UTF-8, no NUL needed */
        tokens[i].len = strlen(argv[i + 2]);
    }
    status = postag_tag(&model, tokens, n, scratch, sizeof scratch, tags, MAX_WORDS, NULL, 0);
    if (status != POSTAG_STATUS_OK) {
        fprintf(stderr, "tagging: %s\n", postag_status_str(status));
        return 1;
    }
    for (i = 0; i < n; i++) {
        const uint8_t *name;
        size_t len;
        if (postag_tag_name(&model, tags[i], &name, &len) == POSTAG_STATUS_OK) {
            printf("%s\t%.*s\n", argv[i + 2], (int)len, (const char *)name);
        }
    }
    return 0;
}
