/*
 * postag: an embeddable LSTM part-of-speech tagger. For C99 (and later) and C++11
 * (and later).
 *
 * Link libpostag.a (and, on a hosted target, the libraries that
 * `cargo rustc -p postag-ffi --release --lib --crate-type staticlib -- --print native-static-libs`
 * names). See the "C API" section of README.md for an example.
 *
 * Conventions:
 * - Every function except postag_version, postag_simd_level and postag_status_str
 *   returns a postag_status; POSTAG_STATUS_OK (0) is success.
 * - Inputs come first, then buffers the call both reads and writes (state, scratch),
 *   then outputs, last. Every pointer to a buffer is followed by its length, in
 *   elements (a pointer to one value, a `*_out` result or the model, has none).
 * - Outputs (and a state) are written only when the call returns POSTAG_STATUS_OK
 *   (one exception: postag_segment's tokens_out on POSTAG_STATUS_NON_FINITE_SCORE,
 *   a check that no valid blob fails).
 * - A `const` pointer is never written through.
 * - The caller owns all memory: the model object, the blob, the scratch buffer, the
 *   outputs. The library never allocates (but once, in a host build: the first
 *   kernel call reads the environment variable POSTAG_SIMD, and when it is set the
 *   Rust standard library allocates a copy of its value) and keeps no pointer past a
 *   call, except that a postag_model points into its blob.
 * - A NULL pointer is accepted only with a length of 0, or where a parameter says it
 *   may be NULL (POSTAG_STATUS_NULL_POINTER otherwise). A buffer a call writes must
 *   not overlap any other argument (POSTAG_STATUS_INVALID_ARGUMENT).
 * - Nothing panics or aborts across this interface: every input, including any
 *   blob and any token bytes, gives a status code.
 * - Functions are reentrant: calls on the same model may run on several threads at
 *   once, each with its own scratch, state and outputs.
 */

#ifndef POSTAG_H
#define POSTAG_H

/* Generated from ffi/src by cbindgen (pinned version, see scripts/test); do not edit. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if UINTPTR_MAX > 0xFFFFFFFFu
/**
 * Defined on targets with 64-bit pointers: selects the POSTAG_MODEL_SIZE of such targets.
 */
#define POSTAG_POINTER_64
#else
/**
 * Defined on targets with 32-bit pointers: selects the POSTAG_MODEL_SIZE of such targets.
 */
#define POSTAG_POINTER_32
#endif

/* Before C23, postag_status is a typedef of uint32_t beside the tag of its values'
 * enum, valid C that GCC's -Wc++-compat reports; the pragma keeps it to this header. */
#if defined(__GNUC__) && !defined(__cplusplus)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wc++-compat"
/**
 * Internal: defined while this header's diagnostic state is pushed, popped at its end.
 */
#define POSTAG_H_DIAGNOSTIC_PUSHED
#endif

/**
 * Major version of the library (semantic versioning).
 */
#define POSTAG_VERSION_MAJOR 0

/**
 * Minor version of the library.
 */
#define POSTAG_VERSION_MINOR 1

/**
 * Patch version of the library.
 */
#define POSTAG_VERSION_PATCH 0

/**
 * The newest model blob format version this library reads: it reads versions 1 to 3
 * (version 2 adds the panel layout of f32 weights, version 3 that of int8 weights);
 * built for a bare-metal target (Cortex-M), version 1 only.
 */
#define POSTAG_FORMAT_VERSION 3

#if defined(POSTAG_POINTER_64)
/**
 * Bytes of a `postag_model` on a target with 64-bit pointers: exactly what the model
 * view takes there (checked at compile time).
 */
#define POSTAG_MODEL_SIZE 2536
#endif

#if defined(POSTAG_POINTER_32)
/**
 * Bytes of a `postag_model` on a target with 32-bit pointers (Cortex-M, wasm32): exactly
 * what the model view takes there (checked at compile time).
 */
#define POSTAG_MODEL_SIZE 1320
#endif

/**
 * Number of 8-byte words in a `postag_model`.
 */
#define POSTAG_MODEL_WORDS (POSTAG_MODEL_SIZE / 8)

/**
 * `postag_segment_token` flag: the token ends a sentence.
 */
#define POSTAG_TOKEN_SENTENCE_END 1

/**
 * `postag_segment_token` flag: the token is a multiword token (`postag_expand` gives
 * its words).
 */
#define POSTAG_TOKEN_MULTIWORD 2

/**
 * `postag_segment_token` flag: the end of a window ended the token, the text running on
 * without whitespace (a token that ran past the window from its first half: the rest
 * is the next token).
 */
#define POSTAG_TOKEN_CUT 4

/**
 * The window, in characters, that `postag tag --format raw` segments with: pass it to
 * get the same tokens as the command line.
 */
#define POSTAG_SEGMENT_WINDOW 2048

/**
 * The largest window, in characters.
 */
#define POSTAG_MAX_WINDOW 65536

/**
 * Bytes a buffer needs for any status message, including its NUL.
 */
#define POSTAG_STATUS_MESSAGE_MAX 128

/**
 * Most tokens one call accepts.
 */
#define POSTAG_MAX_TOKENS 4096

/**
 * Most tokens, summed over its sentences, one `postag_tag_batch` call accepts (and
 * most sentences: more is `POSTAG_STATUS_TOO_MANY_TOKENS`).
 */
#define POSTAG_MAX_BATCH_TOKENS (1 << 20)

/**
 * What a call did: `POSTAG_STATUS_OK` (0) or why it failed.
 *
 * The numbers are stable: a code keeps its meaning in every later version and a
 * retired code is never reused. New codes may be added, so treat an unknown code as a
 * failure (`postag_status_str` names it "unknown status code").
 */
enum postag_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Success.
     */
    POSTAG_STATUS_OK = 0,
    /**
     * A required pointer is NULL, or a NULL pointer came with a non-zero length.
     */
    POSTAG_STATUS_NULL_POINTER = 1,
    /**
     * An argument is out of range: a tag index past the last tag, a buffer that
     * overlaps another argument, a misaligned pointer, a length past the address space.
     */
    POSTAG_STATUS_INVALID_ARGUMENT = 2,
    /**
     * The `postag_model` was not filled by a successful `postag_model_load`.
     */
    POSTAG_STATUS_MODEL_NOT_LOADED = 3,
    /**
     * The bytes do not start with the postag magic: this is not a model blob.
     */
    POSTAG_STATUS_BAD_MAGIC = 4,
    /**
     * The blob's format version is not one this library reads: it reads versions 1
     * to 3, built for a bare-metal target (Cortex-M) version 1 only, to which
     * `postag convert --layout rows` rewrites a version 2 or 3 model, f32 or int8
     * (`postag_blob_format_version` tells which version a blob has).
     */
    POSTAG_STATUS_UNSUPPORTED_VERSION = 5,
    /**
     * The blob is shorter than its preamble, or than the header (and CRC) its preamble
     * declares; a blob cut inside its payload is POSTAG_STATUS_CHECKSUM_MISMATCH.
     */
    POSTAG_STATUS_TRUNCATED = 6,
    /**
     * The CRC-32 at the end of the blob does not match its contents: a damaged blob,
     * or one whose length is not the blob's own (cut short, or passed with bytes after
     * its end: its last four bytes are then not its checksum).
     */
    POSTAG_STATUS_CHECKSUM_MISMATCH = 7,
    /**
     * The blob's header cannot be decoded.
     */
    POSTAG_STATUS_MALFORMED_HEADER = 8,
    /**
     * The header decodes but describes an inconsistent model.
     */
    POSTAG_STATUS_INVALID_MODEL = 9,
    /**
     * The scratch buffer is smaller than the call needs. The size queries give sizes that
     * always suffice: for tagging, `postag_min_scratch_size` (the least for any
     * alignment of the buffer: an aligned one may take up to 3 bytes less;
     * `postag_scratch_size` is the size of the default, faster schedule); for
     * `postag_tag_batch`, `postag_batch_scratch_size` (for any sentences of those
     * totals: particular sentences may need less); for raw text (`postag_segment`,
     * `postag_tag_text`), `postag_text_size`.
     */
    POSTAG_STATUS_SCRATCH_TOO_SMALL = 10,
    /**
     * Too many tokens in one call: more than `POSTAG_MAX_TOKENS` in a sentence, or, in
     * a batch (`postag_tag_batch`, `postag_batch_scratch_size`), more than
     * `POSTAG_MAX_BATCH_TOKENS` tokens or sentences.
     */
    POSTAG_STATUS_TOO_MANY_TOKENS = 11,
    /**
     * An output buffer is too short (tags: one per token; scores: tokens x tags;
     * strings: their length plus the NUL).
     */
    POSTAG_STATUS_OUTPUT_TOO_SMALL = 12,
    /**
     * A token, or a raw text, is not valid UTF-8.
     */
    POSTAG_STATUS_INVALID_UTF8 = 13,
    /**
     * A word is not in the vocabulary and the model has no unknown-word row.
     */
    POSTAG_STATUS_UNKNOWN_WORD = 14,
    /**
     * A character is not in the vocabulary and the model has no unknown-char row.
     */
    POSTAG_STATUS_UNKNOWN_CHAR = 15,
    /**
     * A caller-held state needs a unidirectional model; one-token steps also need
     * a model without CRF transitions.
     */
    POSTAG_STATUS_NOT_STREAMABLE = 16,
    /**
     * The state buffer's length is not `postag_state_len`.
     */
    POSTAG_STATUS_STATE_SIZE = 17,
    /**
     * A bug in postag: a caught panic, or an error this version cannot name.
     */
    POSTAG_STATUS_INTERNAL_ERROR = 18,
    /**
     * The blob holds an f32 weight, bias, int8 row scale or CRF score that is NaN,
     * infinite, or beyond 2^48 in magnitude (where f32 arithmetic could overflow).
     */
    POSTAG_STATUS_NON_FINITE_WEIGHT = 19,
    /**
     * A token is empty (zero bytes); checked before anything is written.
     */
    POSTAG_STATUS_EMPTY_TOKEN = 20,
    /**
     * A score became NaN, or the best CRF path's score infinite: no tag is trusted.
     * From a streaming state (`postag_tag_from_state`, `postag_step`) that holds a NaN
     * (an infinity may give it too); otherwise a check only: a blob's values are within
     * 2^48, where no sum overflows.
     */
    POSTAG_STATUS_NON_FINITE_SCORE = 21,
    /**
     * Raw text was given to a model without a segmenter (it tags tokens only).
     */
    POSTAG_STATUS_NO_SEGMENTER = 22,
    /**
     * A segmenter window of 0 characters or more than `POSTAG_MAX_WINDOW`.
     */
    POSTAG_STATUS_INVALID_WINDOW = 23,
    /**
     * Raw text of 4 GiB or more (token offsets are 32-bit).
     */
    POSTAG_STATUS_TEXT_TOO_LONG = 24,
    /**
     * The blob's segmenter has a tensor twice, or one that does not belong to it.
     */
    POSTAG_STATUS_UNEXPECTED_TENSOR = 25,
    /**
     * The sentences changed between the passes over them (the Rust core's
     * `tag_batch_iter` with an iterator whose clones differ; no C call returns it).
     */
    POSTAG_STATUS_SENTENCES_CHANGED = 26,
    /**
     * A tag name in the blob is empty, holds whitespace or a control character, or
     * repeats another.
     */
    POSTAG_STATUS_BAD_TAG_NAME = 27,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum postag_status postag_status;
#else
typedef uint32_t postag_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A loaded model: a validated view of a blob, a few KB that the caller owns (a static,
 * a global, the stack). Opaque: fill it with `postag_model_load`.
 *
 * It holds pointers into the blob, never copies of it: the blob must stay where it is,
 * unchanged, for as long as the model is used. The object may be copied (`memcpy`,
 * assignment) to another place; the copy works the same. It owns nothing, so there is
 * nothing to free. A zeroed object is recognized as not loaded
 * (`POSTAG_STATUS_MODEL_NOT_LOADED`).
 */
typedef struct postag_model {
    /**
     * Opaque storage, 8-byte aligned.
     */
    uint64_t opaque[POSTAG_MODEL_WORDS];
} postag_model;

/**
 * Dimensions and options of a loaded model.
 */
typedef struct postag_model_info {
    /**
     * Size of the blob in bytes.
     */
    size_t blob_len;
    /**
     * Floats of a caller-held state (`postag_state_len`); 0 for a bidirectional model.
     */
    size_t state_len;
    /**
     * Number of tags T: tag indices are 0..T-1.
     */
    uint32_t num_tags;
    /**
     * Words in the vocabulary (not counting an unknown-word row).
     */
    uint32_t vocab_words;
    /**
     * Rows of the word embedding.
     */
    uint32_t word_rows;
    /**
     * Word embedding size.
     */
    uint32_t word_dim;
    /**
     * Hidden size of each direction of the word LSTM.
     */
    uint32_t hidden;
    /**
     * Layers of the word LSTM (1 to 4).
     */
    uint32_t layers;
    /**
     * Characters in the char vocabulary; 0 without char features.
     */
    uint32_t vocab_chars;
    /**
     * Char embedding size; 0 without char features.
     */
    uint32_t char_dim;
    /**
     * Hidden size of each direction of the char LSTM; 0 without char features.
     */
    uint32_t char_hidden;
    /**
     * Layers of the char LSTM; 0 without char features.
     */
    uint32_t char_layers;
    /**
     * Characters of a word the char LSTM reads whole (longer words: the first and
     * last halves); 0 without char features.
     */
    uint32_t max_word_chars;
    /**
     * Whether the word LSTM is bidirectional (then no caller-held state).
     */
    bool bidirectional;
    /**
     * Whether the model decodes with Viterbi over CRF transitions (then no `postag_step`).
     */
    bool crf;
    /**
     * Whether words missing from the vocabulary use an unknown-word row.
     */
    bool unknown_word;
    /**
     * Whether words are lowercased before lookup.
     */
    bool lowercase;
    /**
     * Whether ASCII digits are replaced by `0` before lookup.
     */
    bool fold_digits;
    /**
     * Whether the model has char features.
     */
    bool chars;
    /**
     * Whether the char LSTM is bidirectional.
     */
    bool char_bidirectional;
    /**
     * Whether characters missing from the char vocabulary use an unknown-char row.
     */
    bool unknown_char;
    /**
     * Whether `postag_tag_from_state` works (a unidirectional model).
     */
    bool can_tag_from_state;
    /**
     * Whether `postag_step` works (a unidirectional model without CRF).
     */
    bool can_step;
} postag_model_info;

/**
 * Upper bounds for one text, from `postag_text_size`.
 */
typedef struct postag_text_sizes {
    /**
     * Most tokens the text can have: its characters that are not whitespace.
     */
    size_t max_tokens;
    /**
     * Most words one token can expand into (the longest entry of the multiword table).
     */
    size_t max_token_words;
    /**
     * Most words the text can have: `max_tokens * max_token_words` (saturated at
     * `SIZE_MAX`).
     */
    size_t max_words;
    /**
     * Scratch bytes `postag_segment` needs for this text and window: a text shorter
     * than the window needs less (the figure for a text of `window` characters or
     * more suffices for any text).
     */
    size_t segment_scratch;
    /**
     * Scratch bytes `postag_tag_text` needs for this text and window (`SIZE_MAX` if
     * that is more than the address space: split the text).
     */
    size_t tag_text_scratch;
} postag_text_sizes;

/**
 * A token of raw text: bytes `[start, end)` of the text, and `POSTAG_TOKEN_*` flags.
 * The tokens plus the whitespace between them are the text, byte for byte.
 */
typedef struct postag_segment_token {
    /**
     * First byte.
     */
    uint32_t start;
    /**
     * One past the last byte.
     */
    uint32_t end;
    /**
     * `POSTAG_TOKEN_SENTENCE_END`, `POSTAG_TOKEN_MULTIWORD`, `POSTAG_TOKEN_CUT`.
     */
    uint32_t flags;
} postag_segment_token;

/**
 * A token: `len` bytes of UTF-8 at `ptr` (no NUL needed; `ptr` may be NULL only when
 * `len` is 0). The bytes are read during the call only. An empty token (`len` 0) is
 * `POSTAG_STATUS_EMPTY_TOKEN`; any other is a word, whitespace only too.
 */
typedef struct postag_token {
    /**
     * First byte of the token.
     */
    const uint8_t *ptr;
    /**
     * Number of bytes.
     */
    size_t len;
} postag_token;

/**
 * A token of `postag_tag_text`: as `postag_segment_token`, and its syntactic words,
 * `words_out[first_word .. first_word + n_words]` (one word unless it is a multiword
 * token).
 */
typedef struct postag_text_token {
    /**
     * First byte.
     */
    uint32_t start;
    /**
     * One past the last byte.
     */
    uint32_t end;
    /**
     * `POSTAG_TOKEN_SENTENCE_END`, `POSTAG_TOKEN_MULTIWORD`, `POSTAG_TOKEN_CUT`.
     */
    uint32_t flags;
    /**
     * Index of its first word.
     */
    uint32_t first_word;
    /**
     * Number of its words (at least 1).
     */
    uint32_t n_words;
} postag_text_token;

/**
 * What `postag_tag_text` wrote.
 */
typedef struct postag_text_counts {
    /**
     * Tokens written to `tokens_out`.
     */
    size_t n_tokens;
    /**
     * Words written to `words_out`, and tags to `tags_out`.
     */
    size_t n_words;
} postag_text_counts;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library version, `"MAJOR.MINOR.PATCH"` as in `Cargo.toml`: a static,
 * NUL-terminated string.
 */
const char *postag_version(void);

/**
 * The SIMD level the library's kernels run at on the calling thread, as a static,
 * NUL-terminated string: `"scalar"`, `"sse2"`, `"avx2"`, `"avx512"` or `"neon"`. With
 * the default build the fastest level the processor supports, detected at the first
 * call that needs it (the environment variable `POSTAG_SIMD` picks another it
 * supports); without `std` (firmware) fixed by the target's features (`"scalar"` on
 * Cortex-M). Scores may differ between levels in the last bits of f32 models (see
 * `core/README.md`, "SIMD kernels").
 */
const char *postag_simd_level(void);

/**
 * Validates the blob (`blob_len` bytes at `blob`: framing, version, CRC-32, every
 * tensor and index, every f32 weight, bias, int8 row scale and CRF score finite) and
 * fills `*out` with a model that reads its weights in place.
 *
 * A segmenter section, if the blob has one, is validated by the raw-text calls
 * (`postag_text_size` and the others) instead, so that a program that tags tokens only
 * does not carry the segmenter's code.
 *
 * The blob is not copied: keep it where it is (flash, a static array, a mapped file),
 * unchanged, for as long as `*out` is used. It needs no particular alignment; a blob
 * with panels (format version 2 or 3) written by this version's builder tags faster at
 * a 64-byte-aligned address (e.g. `aligned_alloc(64, ...)`, `_Alignas(64)`), where each
 * panel column (int8: each pair of columns) lies within one cache line, read by vector
 * loads that do not straddle lines (same results at any address).
 *
 * Errors: `POSTAG_STATUS_BAD_MAGIC`, `POSTAG_STATUS_UNSUPPORTED_VERSION` (a blob of a
 * newer or older format), `POSTAG_STATUS_TRUNCATED`, `POSTAG_STATUS_CHECKSUM_MISMATCH`,
 * `POSTAG_STATUS_MALFORMED_HEADER`, `POSTAG_STATUS_INVALID_MODEL`,
 * `POSTAG_STATUS_NON_FINITE_WEIGHT` (a NaN, an infinity, or a value beyond 2^48); `*out`
 * is then left as it was.
 *
 * # Safety
 * `blob` must be valid for reads of `blob_len` bytes, unchanged, for as long as the
 * model is used; `out` must be valid for writes of one `postag_model`.
 */
postag_status postag_model_load(const uint8_t *blob, size_t blob_len, struct postag_model *out);

/**
 * The format version that a blob declares, without loading it: to tell a user which
 * version a refused blob has (`POSTAG_STATUS_UNSUPPORTED_VERSION`). Errors:
 * `POSTAG_STATUS_BAD_MAGIC` when the bytes do not start with the magic (or, for fewer
 * than 6, with its start), `POSTAG_STATUS_TRUNCATED` for fewer than 8 bytes that do.
 *
 * # Safety
 * `blob` must be valid for reads of `blob_len` bytes; `version_out` for one write.
 */
postag_status postag_blob_format_version(const uint8_t *blob,
                                         size_t blob_len,
                                         uint16_t *version_out);

/**
 * Writes the dimensions and options of `model` into `*info_out`.
 *
 * # Safety
 * `model` must point to a loaded or zeroed `postag_model` whose blob is still valid;
 * `info_out` must be valid for one write.
 */
postag_status postag_model_get_info(const struct postag_model *model,
                                    struct postag_model_info *info_out);

/**
 * Writes the number of tags T of `model` into `*num_tags_out`.
 *
 * # Safety
 * As `postag_model_get_info`.
 */
postag_status postag_num_tags(const struct postag_model *model, size_t *num_tags_out);

/**
 * The name of tag `tag` (0..T-1) where it lies in the blob: `*name_out` points to
 * `*name_len_out` bytes of UTF-8, **not** NUL-terminated, valid as long as the blob.
 * `POSTAG_STATUS_INVALID_ARGUMENT` if `tag` is out of range.
 *
 * # Safety
 * As `postag_model_get_info`; `name_out` and `name_len_out` must be valid for one write.
 */
postag_status postag_tag_name(const struct postag_model *model,
                              size_t tag,
                              const uint8_t **name_out,
                              size_t *name_len_out);

/**
 * Copies the name of tag `tag` (0..T-1) into `buf` with a terminating NUL, and its
 * length without the NUL into `*name_len_out` (`name_len_out` may be NULL).
 * `POSTAG_STATUS_OUTPUT_TOO_SMALL` (nothing written) if `buf_len` is not at least
 * the length plus one; `POSTAG_STATUS_INVALID_ARGUMENT` if `tag` is out of range.
 *
 * # Safety
 * As `postag_model_get_info`; `buf` must be valid for writes of `buf_len` bytes.
 */
postag_status postag_tag_name_copy(const struct postag_model *model,
                                   size_t tag,
                                   char *buf,
                                   size_t buf_len,
                                   size_t *name_len_out);

/**
 * Writes into `*sizes_out` upper bounds for `text` (`text_len` bytes of UTF-8, one
 * paragraph) segmented in windows of `window` characters (`POSTAG_SEGMENT_WINDOW` as
 * the command line): the tokens and words it can have, and the scratch bytes
 * `postag_segment` and `postag_tag_text` need. A text shorter than the window is one
 * window of its own length (the same tokens): its scratch follows its length, so a
 * short text needs little (an empty one the least). For `postag_segment`, a buffer
 * sized for a text of `window` characters or more serves any text; `postag_tag_text`
 * holds the whole text's tokens and words, so its scratch grows with the text. It
 * reads the text but does not run the network.
 *
 * Errors: `POSTAG_STATUS_NO_SEGMENTER` (a model without a segmenter),
 * `POSTAG_STATUS_INVALID_WINDOW` (0 or above `POSTAG_MAX_WINDOW`),
 * `POSTAG_STATUS_INVALID_UTF8`, `POSTAG_STATUS_TEXT_TOO_LONG` (4 GiB or more).
 * `postag_model_load` does not look at the segmenter (a program that tags tokens only
 * does not link its code): every raw-text call validates it, and refuses an invalid
 * one with `POSTAG_STATUS_INVALID_MODEL`, `POSTAG_STATUS_UNEXPECTED_TENSOR` or
 * `POSTAG_STATUS_NON_FINITE_WEIGHT`.
 *
 * # Safety
 * `model` as in `postag_scratch_size`; `text` valid for reads of `text_len` bytes;
 * `sizes_out` valid for one write.
 */
postag_status postag_text_size(const struct postag_model *model,
                               const uint8_t *text,
                               size_t text_len,
                               size_t window,
                               struct postag_text_sizes *sizes_out);

/**
 * Splits `text` (`text_len` bytes of UTF-8, one paragraph: any run of whitespace in
 * it, line breaks included, separates words as one space does; its end reads as a
 * line break, whether or not whitespace follows its last character; a leading
 * byte-order mark is a character of the text, which file readers strip first) into
 * tokens and sentences with the model's segmenter, in windows of `window` characters
 * (see `core/README.md`, "Raw text"): the same tokens as the Rust core's
 * `Segmenter::segment`.
 *
 * - `scratch`: at least `postag_text_size(...).segment_scratch` bytes, any alignment.
 * - `tokens_out`: at least `min(max_tokens, window)` tokens (`postag_text_size`),
 *   else `POSTAG_STATUS_OUTPUT_TOO_SMALL`. With `max_tokens` the whole text fits;
 *   with less, the call stops at the end of a window: `*consumed_out` is then less
 *   than `text_len` and the next call continues with the rest of the text (offsets
 *   are relative to the text of each call; the tokens are those of one call).
 * - `*n_tokens_out`: tokens written; `*consumed_out` (may be NULL): bytes of the text
 *   read.
 *
 * The last token of the text ends a sentence. Multiword tokens are flagged
 * (`POSTAG_TOKEN_MULTIWORD`); `postag_expand` gives their words.
 *
 * Errors: those of `postag_text_size`, `POSTAG_STATUS_SCRATCH_TOO_SMALL`,
 * `POSTAG_STATUS_OUTPUT_TOO_SMALL`; nothing is written then.
 * `POSTAG_STATUS_NON_FINITE_SCORE` if a character's scores were NaN or infinite (a
 * check only: a blob's values are within 2^48, where no sum overflows);
 * `*n_tokens_out` and `*consumed_out` are not written then, and `tokens_out` may have
 * been written in part (the one exception to the rule that outputs are written only on
 * success).
 *
 * # Safety
 * `model` as in `postag_scratch_size`; `text` valid for reads of `text_len` bytes;
 * `scratch` and `tokens_out` valid for reads and writes of their lengths;
 * `n_tokens_out` valid for one write, `consumed_out` NULL or valid for one write;
 * no written buffer overlaps another argument.
 */
postag_status postag_segment(const struct postag_model *model,
                             const uint8_t *text,
                             size_t text_len,
                             size_t window,
                             uint8_t *scratch,
                             size_t scratch_len,
                             struct postag_segment_token *tokens_out,
                             size_t tokens_len,
                             size_t *n_tokens_out,
                             size_t *consumed_out);

/**
 * Writes the syntactic words of a multiword token into `words_out` and their number
 * into `*n_words_out`: `token` is the token's bytes (`token_len`, UTF-8), e.g. a
 * `postag_segment_token`'s span of the text. Each word points either into `token`
 * (a span of its surface, case kept, when the table's words spell it) or into the
 * blob (the table's string). A token not in the table splits in two spans of itself
 * when it ends with, and is longer than, the last word of an entry whose words spell
 * their form (the longest such word, compared lowercased: with an entry `bob's` ->
 * `bob` `'s`, `Arafat's` is `Arafat` + `'s`), and is otherwise its one word, itself. At most `postag_text_size(...).max_token_words`
 * words.
 *
 * Errors: `POSTAG_STATUS_NO_SEGMENTER` (or the model's segmenter error, as
 * `postag_text_size` reports it), `POSTAG_STATUS_EMPTY_TOKEN` (`token_len` 0: no token
 * has zero bytes), `POSTAG_STATUS_INVALID_UTF8`, `POSTAG_STATUS_TEXT_TOO_LONG` (4 GiB
 * or more), `POSTAG_STATUS_OUTPUT_TOO_SMALL` (nothing written).
 *
 * # Safety
 * `model` as in `postag_scratch_size`; `token` valid for reads of `token_len` bytes
 * for as long as the words are used; `words_out` valid for writes of `words_len`
 * words; `n_words_out` for one write.
 */
postag_status postag_expand(const struct postag_model *model,
                            const uint8_t *token,
                            size_t token_len,
                            struct postag_token *words_out,
                            size_t words_len,
                            size_t *n_words_out);

/**
 * Segments and tags a paragraph: `postag_segment` over the whole `text`, each
 * multiword token expanded (`postag_expand`), then each sentence's words tagged as
 * `postag_tag` does. What `postag tag --format raw` does with one paragraph.
 *
 * - `scratch`: at least `postag_text_size(...).tag_text_scratch` bytes, any alignment.
 * - `tokens_out`: the tokens, each with its words' range in `words_out`.
 * - `words_out`: the words, pointing into `text` or into the blob (as
 *   `postag_expand`), or into `scratch`: for a token with whitespace inside (models
 *   whose tokens may hold spaces, e.g. Vietnamese) its word with one space per run, as
 *   a treebank spells it, and for a multiword token the table's first word in the
 *   token's case (`Aux` -> `À les`), as the command line writes them (and as they are
 *   tagged); `tags_out`: one tag per word.
 * - `*counts_out`: how many tokens and words were written.
 *
 * The outputs need only hold the text's actual tokens and words
 * (`POSTAG_STATUS_OUTPUT_TOO_SMALL` otherwise); `max_tokens` and `max_words` of
 * `postag_text_size` always suffice. Sentences of more than `POSTAG_MAX_TOKENS` words
 * are `POSTAG_STATUS_TOO_MANY_TOKENS`. Other errors: those of `postag_text_size` and
 * `postag_tag`. Nothing is written on error.
 *
 * # Safety
 * As `postag_segment`; `words_out`, `tags_out` valid for writes of their lengths and
 * `counts_out` for one write; no written buffer overlaps another argument.
 */
postag_status postag_tag_text(const struct postag_model *model,
                              const uint8_t *text,
                              size_t text_len,
                              size_t window,
                              uint8_t *scratch,
                              size_t scratch_len,
                              struct postag_text_token *tokens_out,
                              size_t tokens_len,
                              struct postag_token *words_out,
                              size_t words_len,
                              uint16_t *tags_out,
                              size_t tags_len,
                              struct postag_text_counts *counts_out);

/**
 * A static, NUL-terminated English description of `status` (any value: codes this
 * version does not know give "unknown status code"). Never NULL.
 */
const char *postag_status_str(uint32_t status);

/**
 * Copies the description of `status` (as `postag_status_str`), with its NUL, into
 * `buf`, and its length without the NUL into `*len_out` (`len_out` may be NULL).
 * A buffer of `POSTAG_STATUS_MESSAGE_MAX` bytes always fits.
 *
 * Returns `POSTAG_STATUS_OUTPUT_TOO_SMALL` (writing nothing) if `buf_len` is less than
 * the length plus one.
 *
 * # Safety
 * `buf` must be valid for writes of `buf_len` bytes; `len_out` NULL or valid for a write.
 */
postag_status postag_status_message(uint32_t status, char *buf, size_t buf_len, size_t *len_out);

/**
 * Writes into `*bytes_out` the scratch bytes that `postag_tag`, `postag_tag_from_state`
 * and `postag_step` need for sentences of up to `max_tokens` tokens with this model.
 * Any buffer of that size works, at any alignment; its contents on entry do not
 * matter. `POSTAG_STATUS_TOO_MANY_TOKENS` above `POSTAG_MAX_TOKENS`.
 *
 * The size is 0 for `max_tokens` 0 (an empty sentence needs no scratch), else
 * `4 * (n * (1 + F + T) + V + S + max(Ww, Wc)) + 3` bytes for `n = max_tokens`: word
 * rows, char features (`F` = char LSTM output width, 0 without chars) and scores (`T`
 * tags) per token; `V = 2T + ceil(n*T/2)` for CRF models (else 0); `S = 2 * layers *
 * hidden` for a unidirectional word LSTM (else 0); `Ww` and `Wc` the word and char
 * LSTMs' working memory, defined in `core/README.md` ("Memory") from the model's
 * dimensions (`postag_model_info`). It grows linearly with `n` from 8 tokens on (below
 * 8, the LSTMs' working memory grows with `n` too: their inputs are projected up to 8
 * tokens at a time).
 *
 * # Safety
 * `model` must point to a loaded or zeroed `postag_model` whose blob is still valid;
 * `bytes_out` must be valid for one write.
 */
postag_status postag_scratch_size(const struct postag_model *model,
                                  size_t max_tokens,
                                  size_t *bytes_out);

/**
 * Writes into `*bytes_out` the scratch bytes with which `postag_tag`,
 * `postag_tag_from_state` and `postag_step` run fastest on processors with caches:
 * `postag_scratch_size` plus a cache of the char LSTM's input projections (each
 * distinct character projected once per call, or with f32 weights once per group of
 * words run side by side) and, for int8 weights at the x86-64 vector levels, a copy
 * of its recurrent weights laid out for the kernel; on x86-64, room for such a copy of
 * the word LSTM's int8 recurrent weights too, which the `sse2` level makes (in the
 * cache's bytes: the size is the larger of the two). The results are the same bit for
 * bit. It equals `postag_scratch_size` for a model with neither a one-layer char LSTM
 * (int8, or f32 on x86-64 and AArch64) nor (on x86-64) int8 recurrent weights of up to
 * 1024 units in the word LSTM, and in Cortex-M builds (the formulas are
 * `Model::char_cache_bytes` and `Model::cached_scratch_bytes` in the Rust core's
 * documentation).
 * `POSTAG_STATUS_TOO_MANY_TOKENS` above `POSTAG_MAX_TOKENS`.
 *
 * # Safety
 * As `postag_scratch_size`.
 */
postag_status postag_cached_scratch_size(const struct postag_model *model,
                                         size_t max_tokens,
                                         size_t *bytes_out);

/**
 * Writes into `*bytes_out` the least scratch that tags sentences of up to `max_tokens`
 * tokens: the low-memory schedule (the LSTMs project one token's input at a time),
 * for firmware with little RAM. A tagging call given at least this but less than
 * `postag_scratch_size` runs it, with the same results on Cortex-M (bit for bit at
 * the scalar kernel level). The formula is `postag_scratch_size`'s with the
 * projection block 1 (`core/README.md`, "Memory"). `POSTAG_STATUS_TOO_MANY_TOKENS`
 * above `POSTAG_MAX_TOKENS`.
 *
 * # Safety
 * As `postag_scratch_size`.
 */
postag_status postag_min_scratch_size(const struct postag_model *model,
                                      size_t max_tokens,
                                      size_t *bytes_out);

/**
 * Tags a sentence of `n_tokens` tokens (`tokens` may be NULL when `n_tokens` is 0: an
 * empty sentence is tagged successfully).
 *
 * - `scratch`: `scratch_len` bytes of working memory, at least
 *   `postag_scratch_size(model, n_tokens)` (or `postag_min_scratch_size`, for the
 *   low-memory schedule); any alignment.
 * - `tags_out`: one tag index per token (`tags_len >= n_tokens`); names come from
 *   `postag_tag_name`.
 * - `scores_out`: NULL (with `scores_len` 0) or the log-probabilities of every tag for
 *   every token, row per token (`scores_len >= n_tokens * T`).
 *
 * Decodes with Viterbi when the model has CRF transitions, else with the per-token
 * argmax. Starts from a zero state. Outputs are written only on success.
 *
 * Every token must have at least one byte: an empty token is
 * `POSTAG_STATUS_EMPTY_TOKEN`, checked before anything is written. Token errors:
 * `POSTAG_STATUS_INVALID_UTF8`, `POSTAG_STATUS_UNKNOWN_WORD`,
 * `POSTAG_STATUS_UNKNOWN_CHAR`. `POSTAG_STATUS_NON_FINITE_SCORE` if a score were NaN or
 * the best CRF path's score infinite (no tag is given then; a check only: a blob's
 * values are within 2^48, where no sum overflows).
 *
 * # Safety
 * `model` as in `postag_scratch_size`; `tokens` valid for reads of `n_tokens` tokens,
 * each token's `ptr` for its `len` bytes; `scratch`, `tags_out` and `scores_out`
 * valid for reads and writes of their lengths, overlapping nothing else passed.
 */
postag_status postag_tag(const struct postag_model *model,
                         const struct postag_token *tokens,
                         size_t n_tokens,
                         uint8_t *scratch,
                         size_t scratch_len,
                         uint16_t *tags_out,
                         size_t tags_len,
                         float *scores_out,
                         size_t scores_len);

/**
 * Writes into `*bytes_out` the scratch bytes `postag_tag_batch` needs for sentences of
 * `n_tokens` tokens in all, the longest `longest` tokens long. Any buffer of that size
 * works, at any alignment. It holds each token's inputs and gate projections of the
 * word LSTM, for a one-layer int8 char net its projection cache (which serves the
 * whole call), and on x86-64 for int8 word-LSTM weights an i16 copy of one matrix at a
 * time. `POSTAG_STATUS_TOO_MANY_TOKENS` when `longest` exceeds
 * `POSTAG_MAX_TOKENS` or `n_tokens` exceeds `POSTAG_MAX_BATCH_TOKENS`;
 * `POSTAG_STATUS_INVALID_ARGUMENT` when `longest > n_tokens`, or `longest` is 0 while
 * `n_tokens` is not.
 *
 * # Safety
 * As `postag_scratch_size`.
 */
postag_status postag_batch_scratch_size(const struct postag_model *model,
                                        size_t n_tokens,
                                        size_t longest,
                                        size_t *bytes_out);

/**
 * Tags `n_sentences` sentences in one call (server throughput; `postag_tag` is the call
 * for one sentence). `tokens` holds all `n_tokens` tokens, sentence after sentence;
 * `sentence_lens[i]` is sentence `i`'s token count (0 is an empty sentence), and the
 * lengths sum to `n_tokens` (else `POSTAG_STATUS_INVALID_ARGUMENT`). The outputs follow
 * the same order: `tags_out` one tag per token (`tags_len >= n_tokens`), `scores_out`
 * NULL or one row of T log-probabilities per token. `scratch` holds at least
 * `postag_batch_scratch_size(model, n_tokens, longest sentence)` bytes.
 *
 * The word LSTM runs eight sentences side by side. Each sentence gets the tags
 * `postag_tag` gives it, and its scores: bit for bit with int8 weights and with f32
 * LSTMs in panels (as `postag train` and `import-torch` write them), with f32 LSTMs in
 * rows up to the summation order of the recurrent product (within 1e-5 on the tests);
 * a sentence's result never depends on the sentences beside it. Errors are
 * `postag_tag`'s (an empty token anywhere is reported first, then the first token
 * error in order, then an overflow); outputs are written only on success. A batch
 * without tokens needs no scratch.
 *
 * # Safety
 * As `postag_tag`, with `sentence_lens` valid for reads of `n_sentences` values
 * (may be NULL when `n_sentences` is 0), overlapping nothing written.
 */
postag_status postag_tag_batch(const struct postag_model *model,
                               const struct postag_token *tokens,
                               size_t n_tokens,
                               const size_t *sentence_lens,
                               size_t n_sentences,
                               uint8_t *scratch,
                               size_t scratch_len,
                               uint16_t *tags_out,
                               size_t tags_len,
                               float *scores_out,
                               size_t scores_len);

/**
 * Writes into `*state_len_out` the number of floats of a caller-held state:
 * `2 * layers * hidden`, laid out like PyTorch's `(h_0, c_0)`: `h` of layers 0..L-1,
 * then `c` of layers 0..L-1, `hidden` floats each. `POSTAG_STATUS_NOT_STREAMABLE`
 * for a bidirectional model.
 *
 * # Safety
 * As `postag_scratch_size`; `state_len_out` must be valid for one write.
 */
postag_status postag_state_len(const struct postag_model *model, size_t *state_len_out);

/**
 * Like `postag_tag` for a unidirectional model, starting from the `(h, c)` in `state`
 * (`state_len` floats, see `postag_state_len`) and leaving the final state there, so
 * that the next call continues the stream. A zeroed state is the start of a stream;
 * zero it again to reset. What `postag_step` once per token gives (for a model
 * without CRF transitions): bit for bit for int8 weights and at the scalar level
 * (`POSTAG_SIMD=scalar`); with f32 weights at a vector level the input projections of
 * tokens (and of a word's characters) computed together round differently from one's
 * alone, so scores and state may differ in the last bits. The state, too, is written
 * only on success.
 *
 * Errors besides `postag_tag`'s (an empty token among them, leaving the state as it
 * was): `POSTAG_STATUS_NOT_STREAMABLE` (bidirectional model),
 * `POSTAG_STATUS_STATE_SIZE` (`state_len` differs from `postag_state_len`).
 *
 * # Safety
 * As `postag_tag`; `state` valid for reads and writes of `state_len` floats,
 * overlapping nothing else passed.
 */
postag_status postag_tag_from_state(const struct postag_model *model,
                                    const struct postag_token *tokens,
                                    size_t n_tokens,
                                    float *state,
                                    size_t state_len,
                                    uint8_t *scratch,
                                    size_t scratch_len,
                                    uint16_t *tags_out,
                                    size_t tags_len,
                                    float *scores_out,
                                    size_t scores_len);

/**
 * Streams one token through a unidirectional model without CRF transitions: updates
 * `state` (see `postag_tag_from_state`) and writes the token's tag into `*tag_out` and,
 * if `scores_out` is not NULL, its T log-probabilities (`scores_len >= T`).
 * `scratch` as for `postag_tag` with one token.
 *
 * Errors besides `postag_tag`'s (an empty `token` is `POSTAG_STATUS_EMPTY_TOKEN`, state
 * untouched): `POSTAG_STATUS_NOT_STREAMABLE` (bidirectional or CRF model),
 * `POSTAG_STATUS_STATE_SIZE`.
 *
 * # Safety
 * As `postag_tag_from_state`, for the single `token`; `tag_out` valid for reads and
 * writes of one `uint16_t`.
 */
postag_status postag_step(const struct postag_model *model,
                          struct postag_token token,
                          float *state,
                          size_t state_len,
                          uint8_t *scratch,
                          size_t scratch_len,
                          uint16_t *tag_out,
                          float *scores_out,
                          size_t scores_len);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* POSTAG_H */

#ifdef POSTAG_H_DIAGNOSTIC_PUSHED
#undef POSTAG_H_DIAGNOSTIC_PUSHED
#pragma GCC diagnostic pop
#endif
