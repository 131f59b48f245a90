/*
 * Firmware for the firmware test's model-load checks under QEMU: the blob of model.S is
 * a sequence of records, each 16 bytes (the model's length and the bytes before it, as
 * little-endian u32, then zeros), those bytes (0 to 15: a model at any alignment), the
 * model, and zeros to a multiple of 16. It loads each model in place and prints "load
 * INDEX STATUS" (the postag_status number), then "done".
 */
#include <stddef.h>
#include <stdint.h>

#include "postag.h"
#include "support.h"

static postag_model model;

int main(void) {
    const uint8_t *p = postag_blob;
    uint32_t i = 0;

    while (postag_blob_end - p >= 16) {
        uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                       (uint32_t)p[3] << 24;
        uint32_t skip = p[4] & 15u;
        postag_status status;

        p += 16 + skip;
        if ((size_t)(postag_blob_end - p) < len) {
            put("error record ");
            put_dec(i);
            put(": longer than the blob");
            end_line();
            return 1;
        }
        status = postag_model_load(p, len, &model);
        put("load ");
        put_dec(i);
        put(" ");
        put_dec((uint32_t)status);
        end_line();
        p += ((skip + len + 15u) & ~(uint32_t)15u) - skip;
        i++;
    }
    put("done");
    end_line();
    return 0;
}
