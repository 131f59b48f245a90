#include "cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int read_file(const char *path, bytes *out) {
    FILE *f = fopen(path, "rb");
    long len;
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 0;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return 0;
    }
    out->len = (size_t)len;
    out->data = (uint8_t *)malloc(out->len > 0 ? out->len : 1);
    if (out->data == NULL || fread(out->data, 1, out->len, f) != out->len) {
        free(out->data);
        out->data = NULL;
        fclose(f);
        return 0;
    }
    fclose(f);
    return 1;
}

typedef struct reader {
    uint8_t *p, *end;
    int ok;
} reader;

static uint8_t *take(reader *r, size_t n) {
    uint8_t *at = r->p;
    if (!r->ok || (size_t)(r->end - r->p) < n) {
        r->ok = 0;
        return NULL;
    }
    r->p += n;
    return at;
}

static uint32_t u32(reader *r) {
    uint8_t *b = take(r, 4);
    return b == NULL ? 0 : (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint8_t u8(reader *r) {
    uint8_t *b = take(r, 1);
    return b == NULL ? 0 : b[0];
}

/* The case files are little-endian, like every machine these tests run on. */
static float *f32s(reader *r, size_t n) {
    float *out = (float *)calloc(n > 0 ? n : 1, sizeof(float));
    uint8_t *b = take(r, 4 * n);
    if (out != NULL && b != NULL) {
        memcpy(out, b, 4 * n);
    }
    return out;
}

static uint16_t *u16s(reader *r, size_t n) {
    uint16_t *out = (uint16_t *)calloc(n > 0 ? n : 1, sizeof(uint16_t));
    uint8_t *b = take(r, 2 * n);
    if (out != NULL && b != NULL) {
        memcpy(out, b, 2 * n);
    }
    return out;
}

static void read_strings(reader *r, postag_token *out, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        out[i].len = u32(r);
        out[i].ptr = take(r, out[i].len);
    }
}

static int parse_case(model_case *c) {
    reader r;
    size_t i, t;
    uint8_t *magic;
    r.p = c->file.data;
    r.end = c->file.data + c->file.len;
    r.ok = 1;
    magic = take(&r, 8);
    if (magic == NULL || memcmp(magic, "PTCASE01", 8) != 0) {
        return 0;
    }
    {
        float *tol = f32s(&r, 2);
        c->tolerance = tol[0];
        c->step_tolerance = tol[1];
        free(tol);
    }
    c->num_tags = u32(&r);
    c->state_len = u32(&r);
    c->layers = u32(&r);
    c->hidden = u32(&r);
    c->bidirectional = u8(&r);
    c->crf = u8(&r);
    c->chars = u8(&r);
    c->unknown_word = u8(&r);
    c->unknown_char = u8(&r);
    t = c->num_tags;
    c->tag_names = (postag_token *)calloc(t > 0 ? t : 1, sizeof(postag_token));
    read_strings(&r, c->tag_names, t);
    c->n_sentences = u32(&r);
    c->sentences = (sentence *)calloc(c->n_sentences > 0 ? c->n_sentences : 1, sizeof(sentence));
    for (i = 0; r.ok && i < c->n_sentences; i++) {
        sentence *s = &c->sentences[i];
        s->n = u32(&r);
        s->tokens = (postag_token *)calloc(s->n > 0 ? s->n : 1, sizeof(postag_token));
        read_strings(&r, s->tokens, s->n);
        s->has_plain = u8(&r);
        if (s->has_plain) {
            s->tags = u16s(&r, s->n);
            s->scores = f32s(&r, s->n * t);
        }
        s->has_stream = u8(&r);
        if (s->has_stream) {
            s->initial = f32s(&r, c->state_len);
            s->has_final = u8(&r);
            if (s->has_final) {
                s->final_state = f32s(&r, c->state_len);
            }
            s->stream_tags = u16s(&r, s->n);
            s->stream_scores = f32s(&r, s->n * t);
        }
    }
    return r.ok && r.p == r.end;
}

int load_cases(const char *manifest, model_case **cases, size_t *count) {
    bytes text;
    size_t lines = 0, i, n = 0;
    char *line, *next;
    if (!read_file(manifest, &text)) {
        return 0;
    }
    if (text.len == 0) {
        free(text.data);
        return 0;
    }
    for (i = 0; i < text.len; i++) {
        lines += text.data[i] == '\n';
    }
    *cases = (model_case *)calloc(lines > 0 ? lines : 1, sizeof(model_case));
    /* The manifest is `name TAB blob TAB case NEWLINE` per line. */
    text.data[text.len - 1] = '\0';
    for (line = (char *)text.data; line != NULL && *line != '\0'; line = next) {
        char *blob_path, *case_path;
        model_case *c = &(*cases)[n];
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        blob_path = strchr(line, '\t');
        case_path = blob_path ? strchr(blob_path + 1, '\t') : NULL;
        if (case_path == NULL) {
            fprintf(stderr, "bad manifest line: %s\n", line);
            break;
        }
        *blob_path++ = '\0';
        *case_path++ = '\0';
        strncpy(c->name, line, sizeof c->name - 1);
        n++;
        /* A case path of "-": a blob without sentences (one that must not load). */
        if (!read_file(blob_path, &c->blob) ||
            (strcmp(case_path, "-") != 0 && (!read_file(case_path, &c->file) || !parse_case(c)))) {
            fprintf(stderr, "cannot read case %s\n", c->name);
            break;
        }
    }
    free(text.data);
    *count = n;
    return n == lines;
}

void free_cases(model_case *cases, size_t count) {
    size_t i, j;
    for (i = 0; i < count; i++) {
        model_case *c = &cases[i];
        for (j = 0; c->sentences != NULL && j < c->n_sentences; j++) {
            sentence *s = &c->sentences[j];
            free(s->tokens);
            free(s->tags);
            free(s->scores);
            free(s->initial);
            free(s->final_state);
            free(s->stream_tags);
            free(s->stream_scores);
        }
        free(c->sentences);
        free(c->tag_names);
        free(c->blob.data);
        free(c->file.data);
    }
    free(cases);
}

const model_case *find_case(const model_case *cases, size_t count, const char *name) {
    size_t i;
    for (i = 0; i < count; i++) {
        if (strcmp(cases[i].name, name) == 0) {
            return &cases[i];
        }
    }
    return NULL;
}
