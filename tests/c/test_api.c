/*
 * The C API against the Rust core's outputs and every bad input.
 *
 * Usage: test_api MANIFEST [RAW_CASE...]. The Rust test (tests/rust/c_api.rs) writes the manifest,
 * the blobs and the case files (see tests/src/cases.rs), and compiles this file with
 * -DEXPECTED_VERSION="..." -DEXPECTED_FORMAT_VERSION=N. Each RAW_CASE is a raw-text case
 * (tests/src/raw.rs): a model with a segmenter, a text, and the core's tokens, words
 * and tags for it.
 *
 * One file of about 900 lines: each check is a function returning pass/fail, listed in
 * main's table, so that one program runs them all plain, under the sanitizers and under
 * valgrind.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "ctest.h"
#include "postag.h"

/* Models the bad-input checks use, by role. */
#define STREAM_MODEL "uni1_word_00"        /* unidirectional, no CRF, no unknown-word row */
#define BIDI_MODEL "bi1_char_bi1_25"       /* bidirectional, char features */
#define CRF_STREAM_MODEL "uni1_word_crf_08" /* unidirectional with CRF transitions */
#define NO_UNKNOWN_CHAR "no_unknown_char"  /* unknown-word row, no unknown-char row */
#define MALFORMED_HEADER "malformed_header" /* a header that does not decode, valid CRC */
#define INVALID_MODEL "invalid_model"      /* a header that decodes, one tag too many */

#define LAST_STATUS POSTAG_STATUS_BAD_TAG_NAME

static model_case *g_cases;
static size_t g_count;

static const model_case *need(const char *name) {
    const model_case *c = find_case(g_cases, g_count, name);
    if (c == NULL) {
        fprintf(stderr, "the manifest has no case %s\n", name);
    }
    return c;
}

static postag_token token(const char *text) {
    postag_token t;
    t.ptr = (const uint8_t *)text;
    t.len = strlen(text);
    return t;
}

/* Whether n floats agree: bit for bit when tolerance is 0, else within it. */
static int close_enough(const float *got, const float *want, size_t n, float tolerance,
                        float *worst) {
    size_t i;
    for (i = 0; i < n; i++) {
        float d = fabsf(got[i] - want[i]);
        if (d > *worst) {
            *worst = d;
        }
        if (tolerance == 0.0f ? memcmp(&got[i], &want[i], sizeof(float)) != 0 : !(d <= tolerance)) {
            fprintf(stderr, "  element %u: got %.9g, want %.9g\n", (unsigned)i, got[i], want[i]);
            return 0;
        }
    }
    return 1;
}

static int check_version(void) {
    char joined[64];
    snprintf(joined, sizeof joined, "%d.%d.%d", POSTAG_VERSION_MAJOR, POSTAG_VERSION_MINOR,
             POSTAG_VERSION_PATCH);
    CHECK(strcmp(postag_version(), joined) == 0);
    CHECK(strcmp(postag_version(), EXPECTED_VERSION) == 0);
    CHECK(POSTAG_FORMAT_VERSION == EXPECTED_FORMAT_VERSION);
    return 1;
}

/* postag_simd_level names a level; the one the test harness expects (it sets
 * POSTAG_EXPECTED_SIMD to the level this process runs at), when given. */
static int check_simd_level(void) {
    static const char *const names[] = {"scalar", "sse2", "avx2", "avx512", "neon"};
    const char *level = postag_simd_level();
    const char *expected = getenv("POSTAG_EXPECTED_SIMD");
    size_t k;
    int known = 0;
    CHECK(level != NULL);
    for (k = 0; k < sizeof names / sizeof names[0]; k++) {
        known |= strcmp(level, names[k]) == 0;
    }
    CHECK(known);
    CHECK(postag_simd_level() == level);
    if (expected != NULL) {
        CHECK(strcmp(level, expected) == 0);
    }
    return 1;
}

static int check_status_strings(void) {
    unsigned code, other;
    char buf[POSTAG_STATUS_MESSAGE_MAX];
    size_t len = 12345, words[8];
    const char *want = postag_status_str(POSTAG_STATUS_UNKNOWN_WORD);
    for (code = 0; code <= LAST_STATUS; code++) {
        const char *s = postag_status_str(code);
        CHECK(s != NULL && s[0] != '\0' && strlen(s) < POSTAG_STATUS_MESSAGE_MAX);
        CHECK(strcmp(s, "unknown status code") != 0);
        for (other = 0; other < code; other++) {
            CHECK(strcmp(s, postag_status_str(other)) != 0);
        }
        CHECK_OK(postag_status_message(code, buf, sizeof buf, &len));
        CHECK(strcmp(buf, s) == 0 && len == strlen(s));
    }
    CHECK(strcmp(postag_status_str(LAST_STATUS + 1), "unknown status code") == 0);
    CHECK(strcmp(postag_status_str(0xFFFFFFFFu), "unknown status code") == 0);
    /* Exactly the length plus the NUL fits; one byte less writes nothing. */
    CHECK_OK(postag_status_message(POSTAG_STATUS_UNKNOWN_WORD, buf, strlen(want) + 1, NULL));
    CHECK(strcmp(buf, want) == 0);
    memset(buf, '#', sizeof buf);
    len = 12345;
    CHECK_STATUS(postag_status_message(POSTAG_STATUS_UNKNOWN_WORD, buf, strlen(want), &len),
                 POSTAG_STATUS_OUTPUT_TOO_SMALL);
    CHECK(buf[0] == '#' && len == 12345);
    CHECK_STATUS(postag_status_message(0, NULL, 0, &len), POSTAG_STATUS_OUTPUT_TOO_SMALL);
    CHECK_STATUS(postag_status_message(0, NULL, 10, &len), POSTAG_STATUS_NULL_POINTER);
    /* The length output inside the message buffer. */
    CHECK_STATUS(postag_status_message(0, (char *)words, sizeof words, &words[1]),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    return 1;
}

struct alignment_probe {
    char c;
    postag_model model;
};

static int check_model_object(void) {
    CHECK(sizeof(postag_model) == POSTAG_MODEL_SIZE);
    CHECK(offsetof(struct alignment_probe, model) >= sizeof(void *));
    return 1;
}

/* Loads `c` and checks postag_model_info against the case. */
static int load_and_describe(const model_case *c, postag_model *m, postag_model_info *info) {
    size_t count = 0, state_len = 0;
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, m));
    CHECK_OK(postag_model_get_info(m, info));
    CHECK(info->blob_len == c->blob.len);
    CHECK(info->num_tags == c->num_tags);
    CHECK(info->layers == c->layers && info->hidden == c->hidden);
    CHECK(info->bidirectional == (c->bidirectional != 0));
    CHECK(info->crf == (c->crf != 0));
    CHECK(info->chars == (c->chars != 0));
    CHECK(info->unknown_word == (c->unknown_word != 0));
    CHECK(info->unknown_char == (c->unknown_char != 0));
    CHECK(info->state_len == c->state_len);
    CHECK(info->can_tag_from_state == !c->bidirectional);
    CHECK(info->can_step == (!c->bidirectional && !c->crf));
    CHECK(info->chars || (info->char_dim == 0 && info->vocab_chars == 0));
    CHECK_OK(postag_num_tags(m, &count));
    CHECK(count == c->num_tags);
    if (c->bidirectional) {
        CHECK_STATUS(postag_state_len(m, &state_len), POSTAG_STATUS_NOT_STREAMABLE);
    } else {
        CHECK_OK(postag_state_len(m, &state_len));
        CHECK(state_len == c->state_len && state_len == 2 * c->layers * c->hidden);
    }
    return 1;
}

/* Tags and scores of every fixture sentence equal the Rust core's, bit for bit. */
static int check_tags_and_scores_equal_the_core(void) {
    size_t ci, si, models = 0, sentences = 0;
    for (ci = 0; ci < g_count; ci++) {
        const model_case *c = &g_cases[ci];
        postag_model m;
        postag_model_info info;
        float worst = 0.0f;
        if (c->file.data == NULL) {
            continue;
        }
        if (!load_and_describe(c, &m, &info)) {
            fprintf(stderr, "  model %s\n", c->name);
            return 0;
        }
        for (si = 0; si < c->n_sentences; si++) {
            const sentence *s = &c->sentences[si];
            size_t n = s->n, t = c->num_tags, need_bytes;
            uint8_t *scratch;
            uint16_t *tags;
            float *scores;
            if (!s->has_plain) {
                continue;
            }
            CHECK_OK(postag_scratch_size(&m, n, &need_bytes));
            /* Exact sizes on the heap, so that the sanitizers see any overrun. The
             * scratch starts at an odd address: any alignment must work. */
            scratch = (uint8_t *)malloc(need_bytes + 1);
            tags = (uint16_t *)malloc(n * sizeof *tags + 1);
            scores = (float *)malloc(n * t * sizeof *scores + 1);
            CHECK(scratch && tags && scores);
            CHECK_OK(postag_tag(&m, s->tokens, n, scratch + 1, need_bytes, tags, n, scores, n * t));
            CHECK(memcmp(tags, s->tags, n * sizeof *tags) == 0);
            if (!close_enough(scores, s->scores, n * t, c->tolerance, &worst)) {
                fprintf(stderr, "  %s sentence %u: scores differ\n", c->name, (unsigned)si);
                return 0;
            }
            /* Without scores: the same tags. */
            memset(tags, 0xAB, n * sizeof *tags);
            CHECK_OK(postag_tag(&m, s->tokens, n, scratch, need_bytes, tags, n, NULL, 0));
            CHECK(memcmp(tags, s->tags, n * sizeof *tags) == 0);
            /* The low-memory schedule: less scratch, the same tags. */
            {
                size_t least;
                CHECK_OK(postag_min_scratch_size(&m, n, &least));
                CHECK(least <= need_bytes);
                memset(tags, 0xAB, n * sizeof *tags);
                CHECK_OK(postag_tag(&m, s->tokens, n, scratch + 1, least, tags, n, NULL, 0));
                CHECK(memcmp(tags, s->tags, n * sizeof *tags) == 0);
            }
            /* The char projection cache: more scratch (garbage on entry), the same tags
             * and score bits. */
            {
                size_t cached;
                uint8_t *more;
                float *again;
                CHECK_OK(postag_cached_scratch_size(&m, n, &cached));
                CHECK(cached >= need_bytes);
                more = (uint8_t *)malloc(cached + 1);
                again = (float *)malloc(n * t * sizeof *again + 1);
                CHECK(more && again);
                memset(more, 0xA5, cached + 1);
                memset(tags, 0xAB, n * sizeof *tags);
                CHECK_OK(postag_tag(&m, s->tokens, n, more + 1, cached, tags, n, again, n * t));
                CHECK(memcmp(tags, s->tags, n * sizeof *tags) == 0);
                CHECK(memcmp(again, scores, n * t * sizeof *again) == 0);
                free(more);
                free(again);
            }
            free(scratch);
            free(tags);
            free(scores);
            sentences++;
        }
        models++;
    }
    printf("  %u models, %u sentences: tags and scores equal the Rust core's\n",
           (unsigned)models, (unsigned)sentences);
    CHECK(models >= 5);
    return 1;
}

/* postag_tag_batch: every model's sentences in one call give postag_tag's tags, and its
 * scores up to the summation order of the recurrent product; bad lengths are refused. */
static int check_batch_equals_the_core(void) {
    size_t ci, si, models = 0, sentences = 0;
    for (ci = 0; ci < g_count; ci++) {
        const model_case *c = &g_cases[ci];
        postag_model m;
        postag_model_info info;
        float worst = 0.0f, tolerance = c->tolerance > 1e-5f ? c->tolerance : 1e-5f;
        size_t total = 0, longest = 0, count = 0, t = c->num_tags, need_bytes, o;
        postag_token *toks;
        size_t *lens;
        uint8_t *scratch;
        uint16_t *tags;
        float *scores;
        if (c->file.data == NULL) {
            continue;
        }
        if (!load_and_describe(c, &m, &info)) {
            return 0;
        }
        for (si = 0; si < c->n_sentences; si++) {
            if (c->sentences[si].has_plain) {
                total += c->sentences[si].n;
                longest = c->sentences[si].n > longest ? c->sentences[si].n : longest;
                count++;
            }
        }
        toks = (postag_token *)malloc(total * sizeof *toks + 1);
        lens = (size_t *)malloc(count * sizeof *lens + 1);
        CHECK(toks && lens);
        for (si = 0, o = 0, count = 0; si < c->n_sentences; si++) {
            const sentence *s = &c->sentences[si];
            if (s->has_plain) {
                memcpy(toks + o, s->tokens, s->n * sizeof *toks);
                lens[count++] = s->n;
                o += s->n;
            }
        }
        CHECK_OK(postag_batch_scratch_size(&m, total, longest, &need_bytes));
        scratch = (uint8_t *)malloc(need_bytes + 1);
        tags = (uint16_t *)malloc(total * sizeof *tags + 1);
        scores = (float *)malloc(total * t * sizeof *scores + 1);
        CHECK(scratch && tags && scores);
        /* Lengths that do not sum to the tokens: refused, nothing written. */
        if (count > 0 && total > 0) {
            memset(tags, 0xAB, total * sizeof *tags);
            lens[0] += 1;
            CHECK_STATUS(postag_tag_batch(&m, toks, total, lens, count, scratch + 1, need_bytes,
                                          tags, total, scores, total * t),
                         POSTAG_STATUS_INVALID_ARGUMENT);
            CHECK(tags[0] == 0xABAB);
            lens[0] -= 1;
            CHECK_STATUS(postag_tag_batch(&m, toks, total, NULL, count, scratch + 1, need_bytes,
                                          tags, total, scores, total * t),
                         POSTAG_STATUS_NULL_POINTER);
        }
        CHECK_OK(postag_tag_batch(&m, toks, total, lens, count, scratch + 1, need_bytes, tags,
                                  total, scores, total * t));
        for (si = 0, o = 0; si < c->n_sentences; si++) {
            const sentence *s = &c->sentences[si];
            if (!s->has_plain) {
                continue;
            }
            CHECK(memcmp(tags + o, s->tags, s->n * sizeof *tags) == 0);
            if (!close_enough(scores + o * t, s->scores, s->n * t, tolerance, &worst)) {
                fprintf(stderr, "  %s sentence %u: batch scores differ\n", c->name, (unsigned)si);
                return 0;
            }
            o += s->n;
            sentences++;
        }
        free(toks);
        free(lens);
        free(scratch);
        free(tags);
        free(scores);
        models++;
    }
    printf("  %u models, %u sentences: batch tags equal the Rust core's\n", (unsigned)models,
           (unsigned)sentences);
    CHECK(models >= 5);
    {
        /* An empty batch needs no pointers. */
        postag_model m;
        size_t zero = 1;
        CHECK_OK(postag_model_load(g_cases[0].blob.data, g_cases[0].blob.len, &m));
        CHECK_OK(postag_batch_scratch_size(&m, 0, 0, &zero));
        CHECK(zero == 0);
        CHECK_OK(postag_tag_batch(&m, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0));
        CHECK_STATUS(postag_batch_scratch_size(&m, 3, 4, &zero), POSTAG_STATUS_INVALID_ARGUMENT);
        /* Tokens, but no sentence of them: a longest of 0. */
        CHECK_STATUS(postag_batch_scratch_size(&m, 5, 0, &zero), POSTAG_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(postag_batch_scratch_size(&m, POSTAG_MAX_BATCH_TOKENS + 1, 1, &zero),
                     POSTAG_STATUS_TOO_MANY_TOKENS);
    }
    return 1;
}

/* postag_tag_from_state and postag_step from each sentence's initial state. */
static int check_streams(void) {
    size_t ci, si, i, streamed = 0;
    for (ci = 0; ci < g_count; ci++) {
        const model_case *c = &g_cases[ci];
        postag_model m;
        postag_model_info info;
        float whole = 0.0f, stepped = 0.0f;
        size_t t = c->num_tags, sl = c->state_len;
        int any = 0;
        if (c->file.data == NULL) {
            continue;
        }
        CHECK(load_and_describe(c, &m, &info));
        for (si = 0; si < c->n_sentences; si++) {
            const sentence *s = &c->sentences[si];
            size_t n = s->n, need_bytes;
            uint8_t *scratch;
            uint16_t *tags;
            float *scores, *state;
            if (!s->has_stream) {
                continue;
            }
            any = 1;
            CHECK_OK(postag_scratch_size(&m, n, &need_bytes));
            scratch = (uint8_t *)malloc(need_bytes);
            tags = (uint16_t *)malloc(n * sizeof *tags + 1);
            scores = (float *)malloc(n * t * sizeof *scores + 1);
            state = (float *)malloc(sl * sizeof *state);
            CHECK(scratch && tags && scores && state);
            memcpy(state, s->initial, sl * sizeof *state);
            CHECK_OK(postag_tag_from_state(&m, s->tokens, n, state, sl, scratch, need_bytes, tags, n,
                                           scores, n * t));
            CHECK(memcmp(tags, s->stream_tags, n * sizeof *tags) == 0);
            CHECK(close_enough(scores, s->stream_scores, n * t, c->tolerance, &whole));
            CHECK(!s->has_final || close_enough(state, s->final_state, sl, c->tolerance, &whole));
            if (info.can_step) {
                memcpy(state, s->initial, sl * sizeof *state);
                for (i = 0; i < n; i++) {
                    uint16_t tag = 0xFFFF;
                    CHECK_OK(postag_step(&m, s->tokens[i], state, sl, scratch, need_bytes, &tag,
                                         scores + i * t, t));
                    CHECK(tag == s->stream_tags[i]);
                }
                CHECK(close_enough(scores, s->stream_scores, n * t, c->step_tolerance, &stepped));
                CHECK(!s->has_final ||
                      close_enough(state, s->final_state, sl, c->step_tolerance, &stepped));
            } else {
                uint16_t tag = 0xFFFF;
                memcpy(state, s->initial, sl * sizeof *state);
                CHECK_STATUS(postag_step(&m, s->tokens[0], state, sl, scratch, need_bytes, &tag,
                                         NULL, 0),
                             POSTAG_STATUS_NOT_STREAMABLE);
                CHECK(tag == 0xFFFF && memcmp(state, s->initial, sl * sizeof *state) == 0);
            }
            free(scratch);
            free(tags);
            free(scores);
            free(state);
        }
        if (any) {
            streamed++;
            if (c->tolerance > 0.0f) {
                printf("  %s: max |diff| %.2e (whole sentence), %.2e (one token at a time)\n",
                       c->name, whole, stepped);
            }
        }
    }
    printf("  %u models streamed from caller-held states\n", (unsigned)streamed);
    CHECK(streamed >= 3);
    return 1;
}

static int check_tag_names(void) {
    size_t ci, t;
    for (ci = 0; ci < g_count; ci++) {
        const model_case *c = &g_cases[ci];
        postag_model m;
        char buf[256];
        if (c->file.data == NULL) {
            continue;
        }
        CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
        for (t = 0; t < c->num_tags; t++) {
            const uint8_t *name = NULL;
            size_t len = 0, copied = 0;
            CHECK_OK(postag_tag_name(&m, t, &name, &len));
            CHECK(len == c->tag_names[t].len && memcmp(name, c->tag_names[t].ptr, len) == 0);
            /* In place: inside the blob. */
            CHECK(name >= c->blob.data && name + len <= c->blob.data + c->blob.len);
            CHECK(len + 1 <= sizeof buf);
            CHECK_OK(postag_tag_name_copy(&m, t, buf, len + 1, &copied));
            CHECK(copied == len && memcmp(buf, name, len) == 0 && buf[len] == '\0');
            CHECK_OK(postag_tag_name_copy(&m, t, buf, sizeof buf, NULL));
            memset(buf, '#', sizeof buf);
            copied = 777;
            CHECK_STATUS(postag_tag_name_copy(&m, t, buf, len, &copied),
                         POSTAG_STATUS_OUTPUT_TOO_SMALL);
            CHECK(buf[0] == '#' && copied == 777);
        }
        {
            const uint8_t *name = NULL;
            size_t len = 777;
            CHECK_STATUS(postag_tag_name(&m, c->num_tags, &name, &len),
                         POSTAG_STATUS_INVALID_ARGUMENT);
            CHECK(name == NULL && len == 777);
            CHECK_STATUS(postag_tag_name_copy(&m, (size_t)-1, buf, sizeof buf, NULL),
                         POSTAG_STATUS_INVALID_ARGUMENT);
        }
    }
    return 1;
}

/* A copy of the model object, and a blob at an odd address, work the same. */
static int check_copies_and_alignment(void) {
    const model_case *c = need(BIDI_MODEL);
    const sentence *s;
    postag_model m, copy;
    uint8_t *moved, scratch[1 << 16];
    uint16_t tags[64];
    CHECK(c != NULL);
    s = &c->sentences[0];
    CHECK(s->n <= 64);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    memcpy(&copy, &m, sizeof m);
    memset(&m, 0, sizeof m);
    CHECK_OK(postag_tag(&copy, s->tokens, s->n, scratch, sizeof scratch, tags, 64, NULL, 0));
    CHECK(memcmp(tags, s->tags, s->n * sizeof *tags) == 0);
    moved = (uint8_t *)malloc(c->blob.len + 3);
    CHECK(moved != NULL);
    memcpy(moved + 3, c->blob.data, c->blob.len);
    CHECK_OK(postag_model_load(moved + 3, c->blob.len, &m));
    memset(tags, 0, sizeof tags);
    CHECK_OK(postag_tag(&m, s->tokens, s->n, scratch, sizeof scratch, tags, 64, NULL, 0));
    CHECK(memcmp(tags, s->tags, s->n * sizeof *tags) == 0);
    free(moved);
    return 1;
}

static int check_empty_sentence(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m;
    uint16_t tags[2] = {7, 7};
    float state[64];
    size_t sl;
    CHECK(c != NULL);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_OK(postag_tag(&m, NULL, 0, NULL, 0, NULL, 0, NULL, 0));
    CHECK_OK(postag_tag(&m, NULL, 0, NULL, 0, tags, 2, NULL, 0));
    CHECK(tags[0] == 7 && tags[1] == 7);
    CHECK_OK(postag_state_len(&m, &sl));
    CHECK(sl <= 64);
    memset(state, 0, sizeof state);
    state[0] = 0.5f;
    CHECK_OK(postag_tag_from_state(&m, NULL, 0, state, sl, NULL, 0, NULL, 0, NULL, 0));
    CHECK(state[0] == 0.5f);
    return 1;
}

static int check_model_not_loaded(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m, before;
    postag_model_info info;
    postag_token tok = token("x");
    uint8_t scratch[4096];
    uint16_t tags[4];
    size_t out = 0;
    float state[64];
    const uint8_t *name;
    char buf[16];
    CHECK(c != NULL);
    memset(&m, 0, sizeof m);
    CHECK_STATUS(postag_model_get_info(&m, &info), POSTAG_STATUS_MODEL_NOT_LOADED);
    CHECK_STATUS(postag_num_tags(&m, &out), POSTAG_STATUS_MODEL_NOT_LOADED);
    CHECK_STATUS(postag_scratch_size(&m, 1, &out), POSTAG_STATUS_MODEL_NOT_LOADED);
    CHECK_STATUS(postag_state_len(&m, &out), POSTAG_STATUS_MODEL_NOT_LOADED);
    CHECK_STATUS(postag_tag_name(&m, 0, &name, &out), POSTAG_STATUS_MODEL_NOT_LOADED);
    CHECK_STATUS(postag_tag_name_copy(&m, 0, buf, sizeof buf, &out), POSTAG_STATUS_MODEL_NOT_LOADED);
    CHECK_STATUS(postag_tag(&m, &tok, 1, scratch, sizeof scratch, tags, 4, NULL, 0),
                 POSTAG_STATUS_MODEL_NOT_LOADED);
    CHECK_STATUS(postag_tag_from_state(&m, &tok, 1, state, 64, scratch, sizeof scratch, tags, 4,
                                       NULL, 0),
                 POSTAG_STATUS_MODEL_NOT_LOADED);
    CHECK_STATUS(postag_step(&m, tok, state, 64, scratch, sizeof scratch, tags, NULL, 0),
                 POSTAG_STATUS_MODEL_NOT_LOADED);
    /* A failed load leaves the object as it was. */
    memset(&m, 0x5A, sizeof m);
    memcpy(&before, &m, sizeof m);
    CHECK_STATUS(postag_model_load(c->blob.data, c->blob.len - 1, &m),
                 POSTAG_STATUS_CHECKSUM_MISMATCH);
    CHECK(memcmp(&m, &before, sizeof m) == 0);
    return 1;
}

static int check_null_pointers(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m;
    postag_model_info info;
    const sentence *s;
    postag_token bad;
    uint8_t scratch[1 << 14];
    uint16_t tags[64], tag;
    float state[64], scores[1024];
    size_t out, sl;
    const uint8_t *name;
    CHECK(c != NULL);
    s = &c->sentences[0];
    CHECK_STATUS(postag_model_load(NULL, c->blob.len, &m), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_model_load(c->blob.data, c->blob.len, NULL), POSTAG_STATUS_NULL_POINTER);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_OK(postag_state_len(&m, &sl));
    memset(state, 0, sizeof state);
    CHECK_STATUS(postag_model_get_info(NULL, &info), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_model_get_info(&m, NULL), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_num_tags(NULL, &out), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_num_tags(&m, NULL), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_scratch_size(NULL, 1, &out), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_scratch_size(&m, 1, NULL), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_state_len(&m, NULL), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_tag_name(&m, 0, NULL, &out), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_tag_name(&m, 0, &name, NULL), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_tag_name_copy(&m, 0, NULL, 8, NULL), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_blob_format_version(c->blob.data, c->blob.len, NULL),
                 POSTAG_STATUS_NULL_POINTER);
    /* postag_tag: the model, the token array, a token's bytes, scratch, tags, scores. */
    CHECK_STATUS(postag_tag(NULL, s->tokens, s->n, scratch, sizeof scratch, tags, 64, NULL, 0),
                 POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_tag(&m, NULL, s->n, scratch, sizeof scratch, tags, 64, NULL, 0),
                 POSTAG_STATUS_NULL_POINTER);
    bad.ptr = NULL;
    bad.len = 3;
    CHECK_STATUS(postag_tag(&m, &bad, 1, scratch, sizeof scratch, tags, 64, NULL, 0),
                 POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, NULL, sizeof scratch, tags, 64, NULL, 0),
                 POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, sizeof scratch, NULL, 64, NULL, 0),
                 POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, sizeof scratch, tags, 64, NULL, 1024),
                 POSTAG_STATUS_NULL_POINTER);
    /* Streaming: the state, the step's token and tag. */
    CHECK_STATUS(postag_tag_from_state(&m, s->tokens, s->n, NULL, sl, scratch, sizeof scratch,
                                       tags, 64, scores, 1024),
                 POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_step(&m, bad, state, sl, scratch, sizeof scratch, &tag, NULL, 0),
                 POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_step(&m, s->tokens[0], state, sl, scratch, sizeof scratch, NULL, NULL, 0),
                 POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_step(&m, s->tokens[0], NULL, sl, scratch, sizeof scratch, &tag, NULL, 0),
                 POSTAG_STATUS_NULL_POINTER);
    /* A NULL pointer with length 0 is an empty buffer, not a NULL-pointer error: an
       empty token. */
    bad.len = 0;
    CHECK_STATUS(postag_tag(&m, &bad, 1, scratch, sizeof scratch, tags, 64, NULL, 0),
                 POSTAG_STATUS_EMPTY_TOKEN);
    return 1;
}

static int check_zero_lengths(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m;
    const sentence *s;
    uint8_t scratch[1 << 14];
    uint16_t tags[64];
    float scores[1024], state[64];
    size_t sl;
    char buf[8];
    CHECK(c != NULL);
    s = &c->sentences[0];
    CHECK_STATUS(postag_model_load(c->blob.data, 0, &m), POSTAG_STATUS_TRUNCATED);
    CHECK_STATUS(postag_model_load(NULL, 0, &m), POSTAG_STATUS_TRUNCATED);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_OK(postag_state_len(&m, &sl));
    memset(state, 0, sizeof state);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, 0, tags, 64, NULL, 0),
                 POSTAG_STATUS_SCRATCH_TOO_SMALL);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, NULL, 0, tags, 64, NULL, 0),
                 POSTAG_STATUS_SCRATCH_TOO_SMALL);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, sizeof scratch, tags, 0, NULL, 0),
                 POSTAG_STATUS_OUTPUT_TOO_SMALL);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, sizeof scratch, tags, 64, scores, 0),
                 POSTAG_STATUS_OUTPUT_TOO_SMALL);
    CHECK_STATUS(postag_tag_from_state(&m, s->tokens, s->n, state, 0, scratch, sizeof scratch,
                                       tags, 64, NULL, 0),
                 POSTAG_STATUS_STATE_SIZE);
    CHECK_STATUS(postag_tag_name_copy(&m, 0, buf, 0, NULL), POSTAG_STATUS_OUTPUT_TOO_SMALL);
    return 1;
}

/* An empty token is refused before anything is written: tags, scores, state. */
static int check_empty_tokens(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m;
    postag_token toks[3];
    uint8_t scratch[1 << 14];
    uint16_t tags[3] = {9, 9, 9}, tag = 9;
    float scores[256], state[64];
    size_t sl, i;
    CHECK(c != NULL);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_OK(postag_state_len(&m, &sl));
    CHECK(sl <= 64);
    for (i = 0; i < 256; i++) {
        scores[i] = 7.0f;
    }
    for (i = 0; i < 64; i++) {
        state[i] = 0.25f;
    }
    toks[0] = c->sentences[0].tokens[0];
    toks[1] = token("");
    toks[2] = c->sentences[0].tokens[0];
    CHECK_STATUS(postag_tag(&m, toks, 3, scratch, sizeof scratch, tags, 3, scores, 256),
                 POSTAG_STATUS_EMPTY_TOKEN);
    CHECK_STATUS(postag_tag_from_state(&m, toks, 3, state, sl, scratch, sizeof scratch, tags, 3,
                                       scores, 256),
                 POSTAG_STATUS_EMPTY_TOKEN);
    CHECK_STATUS(postag_step(&m, toks[1], state, sl, scratch, sizeof scratch, &tag, scores, 256),
                 POSTAG_STATUS_EMPTY_TOKEN);
    CHECK(tags[0] == 9 && tags[1] == 9 && tags[2] == 9 && tag == 9);
    for (i = 0; i < 256; i++) {
        CHECK(scores[i] == 7.0f);
    }
    for (i = 0; i < sl; i++) {
        CHECK(state[i] == 0.25f);
    }
    CHECK(strcmp(postag_status_str(POSTAG_STATUS_EMPTY_TOKEN), "a token is empty (zero bytes)") ==
          0);
    return 1;
}

static int check_invalid_utf8(void) {
    const model_case *c = need(BIDI_MODEL);
    postag_model m;
    postag_token toks[3];
    uint8_t scratch[1 << 16];
    uint16_t tags[3] = {9, 9, 9};
    static const char *bad[] = {"\xff", "\xe1\xbb", "a\xc0\xafz", "\xed\xa0\x80"};
    size_t i;
    CHECK(c != NULL);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    toks[0] = c->sentences[0].tokens[0];
    toks[2] = c->sentences[0].tokens[1];
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        toks[1] = token(bad[i]);
        CHECK_STATUS(postag_tag(&m, toks, 3, scratch, sizeof scratch, tags, 3, NULL, 0),
                     POSTAG_STATUS_INVALID_UTF8);
        CHECK(tags[0] == 9 && tags[1] == 9 && tags[2] == 9);
    }
    return 1;
}

static int check_too_many_tokens(void) {
    const model_case *c = need(BIDI_MODEL);
    postag_model m;
    static postag_token toks[POSTAG_MAX_TOKENS + 1];
    static uint16_t tags[POSTAG_MAX_TOKENS + 1];
    static uint8_t scratch[1 << 16];
    size_t i, bytes;
    CHECK(c != NULL);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    for (i = 0; i <= POSTAG_MAX_TOKENS; i++) {
        toks[i] = c->sentences[0].tokens[0];
    }
    CHECK_OK(postag_scratch_size(&m, POSTAG_MAX_TOKENS, &bytes));
    bytes = 0;
    CHECK_STATUS(postag_scratch_size(&m, POSTAG_MAX_TOKENS + 1, &bytes),
                 POSTAG_STATUS_TOO_MANY_TOKENS);
    CHECK(bytes == 0);
    CHECK_STATUS(postag_tag(&m, toks, POSTAG_MAX_TOKENS + 1, scratch, sizeof scratch, tags,
                            POSTAG_MAX_TOKENS + 1, NULL, 0),
                 POSTAG_STATUS_TOO_MANY_TOKENS);
    return 1;
}

static int check_scratch_and_outputs_too_small(void) {
    const model_case *c = need(BIDI_MODEL);
    postag_model m;
    const sentence *s;
    size_t need_bytes, t;
    uint8_t *scratch;
    uint16_t tags[64];
    float scores[2048];
    CHECK(c != NULL);
    s = &c->sentences[0];
    t = c->num_tags;
    CHECK(s->n >= 2 && s->n <= 64 && s->n * t <= 2048);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_OK(postag_scratch_size(&m, s->n, &need_bytes));
    /* malloc'd memory is aligned, so the 3 bytes kept for aligning are spare: 4 less is
     * one word short of the low-memory schedule's least, and a word short of
     * postag_scratch_size still runs that schedule. */
    scratch = (uint8_t *)malloc(need_bytes);
    CHECK(scratch != NULL);
    memset(tags, 0x11, sizeof tags);
    CHECK_OK(postag_tag(&m, s->tokens, s->n, scratch, need_bytes - 4, tags, 64, NULL, 0));
    CHECK(memcmp(tags, s->tags, s->n * sizeof *tags) == 0);
    memset(tags, 0x11, sizeof tags);
    {
        size_t least;
        CHECK_OK(postag_min_scratch_size(&m, s->n, &least));
        CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, least - 4, tags, 64, NULL, 0),
                     POSTAG_STATUS_SCRATCH_TOO_SMALL);
    }
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, 1, tags, 64, NULL, 0),
                 POSTAG_STATUS_SCRATCH_TOO_SMALL);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, need_bytes, tags, s->n - 1, NULL, 0),
                 POSTAG_STATUS_OUTPUT_TOO_SMALL);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, scratch, need_bytes, tags, s->n, scores,
                            s->n * t - 1),
                 POSTAG_STATUS_OUTPUT_TOO_SMALL);
    CHECK(tags[0] == 0x1111 && tags[s->n - 1] == 0x1111);
    CHECK_OK(postag_tag(&m, s->tokens, s->n, scratch, need_bytes, tags, s->n, scores, s->n * t));
    free(scratch);
    return 1;
}

static int check_corrupt_blobs(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m;
    uint8_t *blob;
    size_t len;
    uint16_t version = 0;
    CHECK(c != NULL);
    len = c->blob.len;
    blob = (uint8_t *)malloc(len);
    CHECK(blob != NULL);
#define RESET() memcpy(blob, c->blob.data, len)
    RESET();
    CHECK_OK(postag_blob_format_version(blob, len, &version));
    CHECK(version == (uint16_t)(blob[6] | blob[7] << 8));
    CHECK(version >= 1 && version <= POSTAG_FORMAT_VERSION);
    blob[0] ^= 0x20;
    CHECK_STATUS(postag_model_load(blob, len, &m), POSTAG_STATUS_BAD_MAGIC);
    CHECK_STATUS(postag_blob_format_version(blob, len, &version), POSTAG_STATUS_BAD_MAGIC);
    /* A newer format is refused by name, and its version can be read. */
    RESET();
    blob[6] = POSTAG_FORMAT_VERSION + 1;
    blob[7] = 0;
    CHECK_STATUS(postag_model_load(blob, len, &m), POSTAG_STATUS_UNSUPPORTED_VERSION);
    CHECK_OK(postag_blob_format_version(blob, len, &version));
    CHECK(version == POSTAG_FORMAT_VERSION + 1);
    blob[6] = 0;
    CHECK_STATUS(postag_model_load(blob, len, &m), POSTAG_STATUS_UNSUPPORTED_VERSION);
    /* A flipped bit in the payload or in the CRC itself. */
    RESET();
    blob[len / 2] ^= 0x01;
    CHECK_STATUS(postag_model_load(blob, len, &m), POSTAG_STATUS_CHECKSUM_MISMATCH);
    RESET();
    blob[len - 1] ^= 0x80;
    CHECK_STATUS(postag_model_load(blob, len, &m), POSTAG_STATUS_CHECKSUM_MISMATCH);
    /* Too short for its own header, or for the preamble. */
    RESET();
    CHECK_STATUS(postag_model_load(blob, 20, &m), POSTAG_STATUS_TRUNCATED);
    CHECK_STATUS(postag_model_load(blob, 7, &m), POSTAG_STATUS_TRUNCATED);
    CHECK_STATUS(postag_blob_format_version(blob, 7, &version), POSTAG_STATUS_TRUNCATED);
    CHECK_STATUS(postag_model_load((const uint8_t *)"POS", 3, &m), POSTAG_STATUS_TRUNCATED);
    CHECK_STATUS(postag_model_load((const uint8_t *)"XYZ", 3, &m), POSTAG_STATUS_BAD_MAGIC);
    /* A header length past the end. */
    blob[8] = blob[9] = blob[10] = blob[11] = 0xFF;
    CHECK_STATUS(postag_model_load(blob, len, &m), POSTAG_STATUS_TRUNCATED);
#undef RESET
    free(blob);
    /* Blobs with a valid CRC whose header is garbage, or inconsistent. */
    c = need(MALFORMED_HEADER);
    CHECK(c != NULL);
    CHECK_STATUS(postag_model_load(c->blob.data, c->blob.len, &m), POSTAG_STATUS_MALFORMED_HEADER);
    c = need(INVALID_MODEL);
    CHECK(c != NULL);
    CHECK_STATUS(postag_model_load(c->blob.data, c->blob.len, &m), POSTAG_STATUS_INVALID_MODEL);
    return 1;
}

/* No proper prefix of a blob loads, and none crashes. */
static int check_every_prefix_is_refused(void) {
    const model_case *c = need(STREAM_MODEL); /* the smallest blob: this is quadratic */
    postag_model m;
    uint8_t *copy;
    size_t len;
    CHECK(c != NULL);
    for (len = 0; len < c->blob.len; len++) {
        /* Exactly `len` bytes on the heap: reading past them is an error the
         * sanitizers report. */
        copy = (uint8_t *)malloc(len > 0 ? len : 1);
        CHECK(copy != NULL);
        memcpy(copy, c->blob.data, len);
        if (postag_model_load(copy, len, &m) == POSTAG_STATUS_OK) {
            fprintf(stderr, "a %u-byte prefix loaded\n", (unsigned)len);
            return 0;
        }
        free(copy);
    }
    return 1;
}

static int check_unknown_words_and_chars(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m;
    postag_token toks[2];
    uint8_t scratch[1 << 16];
    uint16_t tags[2] = {5, 5};
    CHECK(c != NULL);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    toks[0] = c->sentences[0].tokens[0];
    toks[1] = token("certainly-not-in-the-vocabulary");
    CHECK_STATUS(postag_tag(&m, toks, 2, scratch, sizeof scratch, tags, 2, NULL, 0),
                 POSTAG_STATUS_UNKNOWN_WORD);
    CHECK(tags[0] == 5);
    c = need(NO_UNKNOWN_CHAR);
    CHECK(c != NULL && c->unknown_word && !c->unknown_char && c->chars);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    /* An unknown word (fine: it has a row) spelled with a character not in the vocabulary. */
    toks[1] = token("\xf0\x9f\x90\x88\xe2\x80\x8d\xe2\xac\x9b");
    CHECK_STATUS(postag_tag(&m, toks + 1, 1, scratch, sizeof scratch, tags, 2, NULL, 0),
                 POSTAG_STATUS_UNKNOWN_CHAR);
    CHECK(tags[0] == 5);
    return 1;
}

static int check_streaming_refused(void) {
    const model_case *c = need(BIDI_MODEL);
    postag_model m;
    uint8_t scratch[1 << 16];
    uint16_t tags[64], tag = 3;
    float state[256];
    size_t sl = 99;
    CHECK(c != NULL);
    memset(state, 0, sizeof state);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_STATUS(postag_state_len(&m, &sl), POSTAG_STATUS_NOT_STREAMABLE);
    CHECK(sl == 99);
    /* Whatever the state's length: a bidirectional model has no caller-held state. */
    sl = 2 * c->layers * c->hidden;
    CHECK(sl <= 256);
    CHECK_STATUS(postag_tag_from_state(&m, c->sentences[0].tokens, c->sentences[0].n, state, sl,
                                       scratch, sizeof scratch, tags, 64, NULL, 0),
                 POSTAG_STATUS_NOT_STREAMABLE);
    CHECK_STATUS(postag_step(&m, c->sentences[0].tokens[0], state, sl, scratch, sizeof scratch,
                             &tag, NULL, 0),
                 POSTAG_STATUS_NOT_STREAMABLE);
    CHECK(tag == 3);
    /* With CRF transitions: whole sentences from a state, but no single steps. */
    c = need(CRF_STREAM_MODEL);
    CHECK(c != NULL);
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_OK(postag_state_len(&m, &sl));
    CHECK_OK(postag_tag_from_state(&m, c->sentences[0].tokens, c->sentences[0].n, state, sl,
                                   scratch, sizeof scratch, tags, 64, NULL, 0));
    CHECK_STATUS(postag_step(&m, c->sentences[0].tokens[0], state, sl, scratch, sizeof scratch,
                             &tag, NULL, 0),
                 POSTAG_STATUS_NOT_STREAMABLE);
    return 1;
}

static int check_wrong_state_length(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m;
    const sentence *s;
    uint8_t scratch[1 << 14];
    uint16_t tags[64], tag = 3;
    float state[64];
    size_t sl;
    CHECK(c != NULL);
    s = &c->sentences[0];
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_OK(postag_state_len(&m, &sl));
    CHECK(sl + 1 <= 64);
    memset(state, 0, sizeof state);
    state[0] = 0.25f;
    CHECK_STATUS(postag_tag_from_state(&m, s->tokens, s->n, state, sl - 1, scratch, sizeof scratch,
                                       tags, 64, NULL, 0),
                 POSTAG_STATUS_STATE_SIZE);
    CHECK_STATUS(postag_tag_from_state(&m, s->tokens, s->n, state, sl + 1, scratch, sizeof scratch,
                                       tags, 64, NULL, 0),
                 POSTAG_STATUS_STATE_SIZE);
    CHECK_STATUS(postag_step(&m, s->tokens[0], state, sl + 1, scratch, sizeof scratch, &tag, NULL,
                             0),
                 POSTAG_STATUS_STATE_SIZE);
    CHECK(state[0] == 0.25f && tag == 3);
    /* The state is written only on success: an unknown word leaves it alone. */
    {
        postag_token unknown = token("certainly-not-in-the-vocabulary");
        CHECK_STATUS(postag_step(&m, unknown, state, sl, scratch, sizeof scratch, &tag, NULL, 0),
                     POSTAG_STATUS_UNKNOWN_WORD);
        CHECK(state[0] == 0.25f && tag == 3);
    }
    return 1;
}

static int check_overlapping_buffers(void) {
    const model_case *c = need(STREAM_MODEL);
    postag_model m, *inside;
    const sentence *s;
    float *words;
    uint8_t *blob_copy;
    uint16_t tags[64], tag;
    float state[64], scores[1024];
    size_t sl, t, big = 1 << 16;
    postag_token in_scratch;
    CHECK(c != NULL);
    s = &c->sentences[0];
    t = c->num_tags;
    CHECK_OK(postag_model_load(c->blob.data, c->blob.len, &m));
    CHECK_OK(postag_state_len(&m, &sl));
    memset(state, 0, sizeof state);
    words = (float *)malloc(big);
    CHECK(words != NULL);
    /* tags inside scratch; scores overlapping tags; scratch over the model object. */
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, (uint8_t *)words, big, (uint16_t *)words + 8, 64,
                            NULL, 0),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, (uint8_t *)(words + 2048), big / 2,
                            (uint16_t *)words, 64, words + 4, s->n * t),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, (uint8_t *)&m, sizeof m, tags, 64, NULL, 0),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    /* A token's bytes, or the token array, inside the scratch buffer. */
    memcpy(words, s->tokens[0].ptr, s->tokens[0].len);
    in_scratch.ptr = (const uint8_t *)words;
    in_scratch.len = s->tokens[0].len;
    CHECK_STATUS(postag_tag(&m, &in_scratch, 1, (uint8_t *)words, big, tags, 64, NULL, 0),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    memcpy(words, s->tokens, s->n * sizeof *s->tokens);
    CHECK_STATUS(postag_tag(&m, (const postag_token *)words, s->n, (uint8_t *)words, big, tags, 64,
                            NULL, 0),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    /* The state overlapping the scores; the step's tag inside the state. */
    CHECK_STATUS(postag_tag_from_state(&m, s->tokens, s->n, scores, sl, (uint8_t *)words, big,
                                       tags, 64, scores + 1, s->n * t),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(postag_step(&m, s->tokens[0], state, sl, (uint8_t *)words, big,
                             (uint16_t *)state, NULL, 0),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    (void)tag;
    /* Scratch over the blob the model reads; a model object written over its blob. */
    blob_copy = (uint8_t *)malloc(c->blob.len + sizeof(postag_model));
    CHECK(blob_copy != NULL);
    memcpy(blob_copy, c->blob.data, c->blob.len);
    CHECK_OK(postag_model_load(blob_copy, c->blob.len, &m));
    CHECK_STATUS(postag_tag(&m, s->tokens, s->n, blob_copy + 16, c->blob.len - 16, tags, 64, NULL,
                            0),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    inside = (postag_model *)blob_copy;
    CHECK_STATUS(postag_model_load(blob_copy, c->blob.len, inside), POSTAG_STATUS_INVALID_ARGUMENT);
    CHECK(memcmp(blob_copy, c->blob.data, c->blob.len) == 0);
    free(blob_copy);
    free(words);
    return 1;
}

/* ---- Raw text: the segmenter and postag_tag_text against the core ---- */

typedef struct raw_token {
    uint32_t start, end, flags, first_word, n_words;
} raw_token;

typedef struct raw_word {
    char where; /* 't': offset into the text, 'b': into the blob */
    size_t offset, len;
    unsigned tag;
} raw_word;

typedef struct raw_case {
    bytes blob, text;
    size_t window, max_tokens, n_tokens, n_words;
    raw_token *tokens;
    raw_word *words;
} raw_case;

#define MAX_RAW_CASES 4
static raw_case g_raw[MAX_RAW_CASES];
static size_t g_raw_count;

static int read_raw_case(const char *path, raw_case *r) {
    char model[4096], text[4096];
    size_t i;
    int ok = 1;
    FILE *f = fopen(path, "r");
    memset(r, 0, sizeof *r);
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 0;
    }
    ok = fscanf(f, "model %4095s text %4095s window %zu max_tokens %zu tokens %zu", model, text,
                &r->window, &r->max_tokens, &r->n_tokens) == 5;
    r->tokens = ok ? (raw_token *)calloc(r->n_tokens + 1, sizeof(raw_token)) : NULL;
    for (i = 0; ok && i < r->n_tokens; i++) {
        raw_token *t = &r->tokens[i];
        ok = r->tokens != NULL && fscanf(f, " %u %u %u %u %u", &t->start, &t->end, &t->flags,
                                         &t->first_word, &t->n_words) == 5;
    }
    ok = ok && fscanf(f, " words %zu", &r->n_words) == 1;
    r->words = ok ? (raw_word *)calloc(r->n_words + 1, sizeof(raw_word)) : NULL;
    for (i = 0; ok && i < r->n_words; i++) {
        raw_word *w = &r->words[i];
        ok = r->words != NULL &&
             fscanf(f, " %c %zu %zu %u", &w->where, &w->offset, &w->len, &w->tag) == 4;
    }
    fclose(f);
    ok = ok && read_file(model, &r->blob) && read_file(text, &r->text);
    if (!ok) {
        fprintf(stderr, "cannot read raw case %s\n", path);
    }
    return ok;
}

static void free_raw_case(raw_case *r) {
    free(r->blob.data);
    free(r->text.data);
    free(r->tokens);
    free(r->words);
}

/* The place a word of the case must point to. */
static const uint8_t *raw_word_ptr(const raw_case *r, const raw_word *w) {
    return (w->where == 'b' ? r->blob.data : r->text.data) + w->offset;
}

static int check_raw_cases_given(void) {
    CHECK(g_raw_count > 0);
    return 1;
}

/* postag_text_size, postag_segment and postag_expand give the core's tokens and words. */
static int check_segment_equals_the_core(void) {
    size_t k, i, j;
    for (k = 0; k < g_raw_count; k++) {
        const raw_case *r = &g_raw[k];
        postag_model m;
        postag_text_sizes sizes;
        postag_segment_token *toks;
        postag_token words[16];
        uint8_t *scratch;
        size_t n = 0, consumed = 0, n_words = 0;
        CHECK_OK(postag_model_load(r->blob.data, r->blob.len, &m));
        CHECK_OK(postag_text_size(&m, r->text.data, r->text.len, r->window, &sizes));
        CHECK(sizes.max_tokens == r->max_tokens);
        CHECK(sizes.max_token_words >= 1 && sizes.max_token_words <= 16);
        CHECK(sizes.max_words == sizes.max_tokens * sizes.max_token_words);
        CHECK(sizes.segment_scratch > 0 && sizes.tag_text_scratch > sizes.segment_scratch);
        toks = (postag_segment_token *)calloc(sizes.max_tokens, sizeof *toks);
        scratch = (uint8_t *)malloc(sizes.segment_scratch);
        CHECK(toks != NULL && scratch != NULL);
        CHECK_OK(postag_segment(&m, r->text.data, r->text.len, r->window, scratch,
                                sizes.segment_scratch, toks, sizes.max_tokens, &n, &consumed));
        CHECK(n == r->n_tokens && consumed == r->text.len);
        for (i = 0; i < n; i++) {
            const raw_token *want = &r->tokens[i];
            const uint8_t *surface = r->text.data + toks[i].start;
            CHECK(toks[i].start == want->start && toks[i].end == want->end);
            CHECK(toks[i].flags == want->flags);
            if (!(toks[i].flags & POSTAG_TOKEN_MULTIWORD)) {
                CHECK(want->n_words == 1);
                continue;
            }
            CHECK_OK(postag_expand(&m, surface, toks[i].end - toks[i].start, words, 16, &n_words));
            CHECK(n_words == want->n_words);
            for (j = 0; j < n_words; j++) {
                const raw_word *w = &r->words[want->first_word + j];
                /* Surface words point into the bytes given to postag_expand. */
                CHECK(words[j].ptr == raw_word_ptr(r, w) && words[j].len == w->len);
            }
        }
        free(toks);
        free(scratch);
    }
    return 1;
}

/* A text shorter than the window is one window of its own length: its scratch follows
 * the text (equal for any longer window), a text longer than the window needs the
 * window's, and an empty text the least, with which it segments into no tokens. */
static int check_short_texts_need_little_scratch(void) {
    size_t k, i;
    for (k = 0; k < g_raw_count; k++) {
        const raw_case *r = &g_raw[k];
        postag_model m;
        postag_text_sizes at_window, at_max, empty;
        size_t chars = 0, n = 7, consumed = 7;
        uint8_t *scratch;
        postag_segment_token tok;
        for (i = 0; i < r->text.len; i++) {
            chars += (r->text.data[i] & 0xC0) != 0x80;
        }
        CHECK_OK(postag_model_load(r->blob.data, r->blob.len, &m));
        CHECK_OK(postag_text_size(&m, r->text.data, r->text.len, r->window, &at_window));
        CHECK_OK(postag_text_size(&m, r->text.data, r->text.len, POSTAG_MAX_WINDOW, &at_max));
        CHECK_OK(postag_text_size(&m, r->text.data, 0, r->window, &empty));
        if (chars <= r->window) {
            CHECK(at_window.segment_scratch == at_max.segment_scratch);
            CHECK(at_window.tag_text_scratch == at_max.tag_text_scratch);
        } else {
            CHECK(at_window.segment_scratch < at_max.segment_scratch);
        }
        if (chars > 1) {
            CHECK(empty.segment_scratch < at_window.segment_scratch);
        }
        scratch = (uint8_t *)malloc(empty.segment_scratch);
        CHECK(scratch != NULL);
        CHECK_OK(postag_segment(&m, r->text.data, 0, r->window, scratch, empty.segment_scratch,
                                &tok, 1, &n, &consumed));
        CHECK(n == 0 && consumed == 0);
        free(scratch);
    }
    return 1;
}

/* With room for a window only, postag_segment stops at window ends and the calls
 * together give the tokens of one call. */
static int check_segment_resumes_at_window_ends(void) {
    size_t k, got = 0;
    for (k = 0; k < g_raw_count; k++) {
        const raw_case *r = &g_raw[k];
        postag_model m;
        postag_text_sizes sizes;
        postag_segment_token *toks;
        uint8_t *scratch;
        size_t at = 0, calls = 0;
        if (r->window >= r->max_tokens) {
            continue; /* one window holds the whole text: nothing to resume */
        }
        got++;
        CHECK_OK(postag_model_load(r->blob.data, r->blob.len, &m));
        CHECK_OK(postag_text_size(&m, r->text.data, r->text.len, r->window, &sizes));
        toks = (postag_segment_token *)calloc(r->window, sizeof *toks);
        scratch = (uint8_t *)malloc(sizes.segment_scratch);
        CHECK(toks != NULL && scratch != NULL);
        /* One token short of a window: refused, nothing written. */
        {
            size_t n = 777, consumed = 777;
            toks[0].start = 12345;
            CHECK_STATUS(postag_segment(&m, r->text.data, r->text.len, r->window, scratch,
                                        sizes.segment_scratch, toks, r->window - 1, &n, &consumed),
                         POSTAG_STATUS_OUTPUT_TOO_SMALL);
            CHECK(n == 777 && consumed == 777 && toks[0].start == 12345);
        }
        {
            size_t i = 0, base = 0;
            while (base < r->text.len) {
                size_t n = 0, consumed = 0, j;
                CHECK_OK(postag_segment(&m, r->text.data + base, r->text.len - base, r->window,
                                        scratch, sizes.segment_scratch, toks, r->window, &n,
                                        &consumed));
                CHECK(consumed > 0 && consumed <= r->text.len - base);
                for (j = 0; j < n; j++, i++) {
                    CHECK(i < r->n_tokens);
                    CHECK(base + toks[j].start == r->tokens[i].start);
                    CHECK(base + toks[j].end == r->tokens[i].end);
                    CHECK(toks[j].flags == r->tokens[i].flags);
                }
                base += consumed;
                calls++;
            }
            CHECK(i == r->n_tokens && calls > 1);
            (void)at;
        }
        free(toks);
        free(scratch);
    }
    CHECK(got > 0);
    return 1;
}

/* postag_tag_text gives the core's tokens, words and tags; exact-size outputs suffice,
 * smaller ones are refused without a write. */
static int check_tag_text_equals_the_core(void) {
    size_t k, i;
    for (k = 0; k < g_raw_count; k++) {
        const raw_case *r = &g_raw[k];
        postag_model m;
        postag_text_sizes sizes;
        postag_text_counts counts = {0, 0};
        postag_text_token *toks;
        postag_token *words;
        uint16_t *tags;
        uint8_t *scratch;
        size_t nt = r->n_tokens, nw = r->n_words;
        CHECK_OK(postag_model_load(r->blob.data, r->blob.len, &m));
        CHECK_OK(postag_text_size(&m, r->text.data, r->text.len, r->window, &sizes));
        CHECK(nt <= sizes.max_tokens && nw <= sizes.max_words);
        toks = (postag_text_token *)calloc(nt, sizeof *toks);
        words = (postag_token *)calloc(nw, sizeof *words);
        tags = (uint16_t *)calloc(nw, sizeof *tags);
        scratch = (uint8_t *)malloc(sizes.tag_text_scratch);
        CHECK(toks != NULL && words != NULL && tags != NULL && scratch != NULL);
        /* Too small by one, each in turn, and a scratch one byte short: nothing written. */
        tags[0] = 4242;
        CHECK_STATUS(postag_tag_text(&m, r->text.data, r->text.len, r->window, scratch,
                                     sizes.tag_text_scratch, toks, nt - 1, words, nw, tags, nw,
                                     &counts),
                     POSTAG_STATUS_OUTPUT_TOO_SMALL);
        CHECK_STATUS(postag_tag_text(&m, r->text.data, r->text.len, r->window, scratch,
                                     sizes.tag_text_scratch, toks, nt, words, nw - 1, tags, nw,
                                     &counts),
                     POSTAG_STATUS_OUTPUT_TOO_SMALL);
        CHECK_STATUS(postag_tag_text(&m, r->text.data, r->text.len, r->window, scratch,
                                     sizes.tag_text_scratch, toks, nt, words, nw, tags, nw - 1,
                                     &counts),
                     POSTAG_STATUS_OUTPUT_TOO_SMALL);
        CHECK_STATUS(postag_tag_text(&m, r->text.data, r->text.len, r->window, scratch,
                                     sizes.tag_text_scratch - 1, toks, nt, words, nw, tags, nw,
                                     &counts),
                     POSTAG_STATUS_SCRATCH_TOO_SMALL);
        CHECK(counts.n_tokens == 0 && counts.n_words == 0 && tags[0] == 4242);
        CHECK(toks[0].end == 0 && words[0].ptr == NULL);
        CHECK_OK(postag_tag_text(&m, r->text.data, r->text.len, r->window, scratch,
                                 sizes.tag_text_scratch, toks, nt, words, nw, tags, nw, &counts));
        CHECK(counts.n_tokens == nt && counts.n_words == nw);
        for (i = 0; i < nt; i++) {
            const raw_token *want = &r->tokens[i];
            CHECK(toks[i].start == want->start && toks[i].end == want->end);
            CHECK(toks[i].flags == want->flags);
            CHECK(toks[i].first_word == want->first_word && toks[i].n_words == want->n_words);
        }
        for (i = 0; i < nw; i++) {
            const raw_word *w = &r->words[i];
            CHECK(words[i].ptr == raw_word_ptr(r, w) && words[i].len == w->len);
            CHECK(tags[i] == w->tag);
        }
        free(toks);
        free(words);
        free(tags);
        free(scratch);
    }
    return 1;
}

/* Bad raw-text input: invalid UTF-8, a bad window, a model without a segmenter. */
static int check_raw_text_errors(void) {
    const raw_case *r = &g_raw[0];
    const model_case *plain = need(STREAM_MODEL);
    static const uint8_t bad[] = {'a', ' ', 0xFF, 'b', '.'};
    static const uint8_t ok_text[] = "It's fine.";
    postag_model m, p;
    postag_text_sizes sizes = {0, 0, 0, 0, 0};
    postag_segment_token toks[16];
    postag_text_token ttoks[16];
    postag_token words[16];
    postag_text_counts counts = {0, 0};
    uint16_t tags[16];
    static uint8_t scratch[1 << 20];
    size_t n = 99, consumed = 99;
    CHECK(plain != NULL);
    CHECK_OK(postag_model_load(r->blob.data, r->blob.len, &m));
    CHECK_OK(postag_model_load(plain->blob.data, plain->blob.len, &p));
    CHECK_STATUS(postag_text_size(&m, bad, sizeof bad, 64, &sizes), POSTAG_STATUS_INVALID_UTF8);
    CHECK_STATUS(postag_segment(&m, bad, sizeof bad, 64, scratch, sizeof scratch, toks, 16, &n,
                                &consumed),
                 POSTAG_STATUS_INVALID_UTF8);
    CHECK_STATUS(postag_expand(&m, bad + 2, 2, words, 16, &n), POSTAG_STATUS_INVALID_UTF8);
    /* No token is empty: an empty one has no words (not one empty word). */
    CHECK_STATUS(postag_expand(&m, ok_text, 0, words, 16, &n), POSTAG_STATUS_EMPTY_TOKEN);
    CHECK_STATUS(postag_expand(&m, NULL, 0, words, 16, &n), POSTAG_STATUS_EMPTY_TOKEN);
    CHECK_STATUS(postag_tag_text(&m, bad, sizeof bad, 64, scratch, sizeof scratch, ttoks, 16,
                                 words, 16, tags, 16, &counts),
                 POSTAG_STATUS_INVALID_UTF8);
    CHECK(n == 99 && consumed == 99 && sizes.max_tokens == 0 && counts.n_tokens == 0);
    /* Windows of 0 and past the largest. */
    CHECK_STATUS(postag_text_size(&m, ok_text, sizeof ok_text - 1, 0, &sizes),
                 POSTAG_STATUS_INVALID_WINDOW);
    CHECK_STATUS(postag_text_size(&m, ok_text, sizeof ok_text - 1, POSTAG_MAX_WINDOW + 1, &sizes),
                 POSTAG_STATUS_INVALID_WINDOW);
    CHECK_STATUS(postag_segment(&m, ok_text, sizeof ok_text - 1, 0, scratch, sizeof scratch, toks,
                                16, &n, &consumed),
                 POSTAG_STATUS_INVALID_WINDOW);
    CHECK_STATUS(postag_tag_text(&m, ok_text, sizeof ok_text - 1, POSTAG_MAX_WINDOW + 1, scratch,
                                 sizeof scratch, ttoks, 16, words, 16, tags, 16, &counts),
                 POSTAG_STATUS_INVALID_WINDOW);
    /* A model without a segmenter. */
    CHECK_STATUS(postag_text_size(&p, ok_text, sizeof ok_text - 1, 64, &sizes),
                 POSTAG_STATUS_NO_SEGMENTER);
    CHECK_STATUS(postag_segment(&p, ok_text, sizeof ok_text - 1, 64, scratch, sizeof scratch,
                                toks, 16, &n, &consumed),
                 POSTAG_STATUS_NO_SEGMENTER);
    CHECK_STATUS(postag_expand(&p, ok_text, 4, words, 16, &n), POSTAG_STATUS_NO_SEGMENTER);
    CHECK_STATUS(postag_tag_text(&p, ok_text, sizeof ok_text - 1, 64, scratch, sizeof scratch,
                                 ttoks, 16, words, 16, tags, 16, &counts),
                 POSTAG_STATUS_NO_SEGMENTER);
    CHECK(n == 99 && consumed == 99 && sizes.max_tokens == 0 && counts.n_tokens == 0);
    /* NULL pointers, a scratch too small, outputs over the text. */
    CHECK_STATUS(postag_text_size(&m, NULL, 3, 64, &sizes), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_text_size(&m, ok_text, 3, 64, NULL), POSTAG_STATUS_NULL_POINTER);
    CHECK_STATUS(postag_segment(&m, ok_text, sizeof ok_text - 1, 64, scratch, 10, toks, 16, &n,
                                &consumed),
                 POSTAG_STATUS_SCRATCH_TOO_SMALL);
    CHECK_STATUS(postag_segment(&m, ok_text, sizeof ok_text - 1, 64, scratch, sizeof scratch,
                                (postag_segment_token *)scratch, 16, &n, &consumed),
                 POSTAG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(postag_expand(&m, ok_text, 4, words, 0, &n), POSTAG_STATUS_OUTPUT_TOO_SMALL);
    CHECK(n == 99 && consumed == 99);
    /* An empty text: no token, success. */
    CHECK_OK(postag_segment(&m, ok_text, 0, 64, scratch, sizeof scratch, toks, 0, &n, &consumed));
    CHECK(n == 0 && consumed == 0);
    CHECK_OK(postag_tag_text(&m, NULL, 0, 64, scratch, sizeof scratch, NULL, 0, NULL, 0, NULL, 0,
                             &counts));
    CHECK(counts.n_tokens == 0 && counts.n_words == 0);
    /* A token not in the multiword table is its one word, itself. */
    CHECK_OK(postag_expand(&m, ok_text + 5, 4, words, 1, &n));
    CHECK(n == 1 && words[0].ptr == ok_text + 5 && words[0].len == 4);
    return 1;
}

int main(int argc, char **argv) {
    static const ctest tests[] = {
        {"version", check_version},
        {"simd_level", check_simd_level},
        {"status_strings", check_status_strings},
        {"model_object", check_model_object},
        {"tags_and_scores_equal_the_core", check_tags_and_scores_equal_the_core},
        {"streams", check_streams},
        {"batch_equals_the_core", check_batch_equals_the_core},
        {"tag_names", check_tag_names},
        {"copies_and_alignment", check_copies_and_alignment},
        {"empty_sentence", check_empty_sentence},
        {"model_not_loaded", check_model_not_loaded},
        {"null_pointers", check_null_pointers},
        {"zero_lengths", check_zero_lengths},
        {"empty_tokens", check_empty_tokens},
        {"invalid_utf8", check_invalid_utf8},
        {"too_many_tokens", check_too_many_tokens},
        {"scratch_and_outputs_too_small", check_scratch_and_outputs_too_small},
        {"corrupt_blobs", check_corrupt_blobs},
        {"every_prefix_is_refused", check_every_prefix_is_refused},
        {"unknown_words_and_chars", check_unknown_words_and_chars},
        {"streaming_refused", check_streaming_refused},
        {"wrong_state_length", check_wrong_state_length},
        {"overlapping_buffers", check_overlapping_buffers},
        {"raw_cases_given", check_raw_cases_given},
        {"segment_equals_the_core", check_segment_equals_the_core},
        {"short_texts_need_little_scratch", check_short_texts_need_little_scratch},
        {"segment_resumes_at_window_ends", check_segment_resumes_at_window_ends},
        {"tag_text_equals_the_core", check_tag_text_equals_the_core},
        {"raw_text_errors", check_raw_text_errors},
    };
    size_t k;
    int status;
    if (argc < 2 || argc - 2 > MAX_RAW_CASES) {
        fprintf(stderr, "usage: %s MANIFEST [RAW_CASE...]\n", argv[0]);
        return 2;
    }
    for (k = 0; k < (size_t)argc - 2; k++) {
        if (!read_raw_case(argv[k + 2], &g_raw[k])) {
            return 2;
        }
        g_raw_count++;
    }
    if (!load_cases(argv[1], &g_cases, &g_count)) {
        free_cases(g_cases, g_count);
        return 2;
    }
    status = ctest_main(tests, sizeof tests / sizeof tests[0]);
    free_cases(g_cases, g_count);
    for (k = 0; k < g_raw_count; k++) {
        free_raw_case(&g_raw[k]);
    }
    return status;
}
