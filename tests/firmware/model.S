/* The model blob, placed in flash as it is. POSTAG_MODEL_PATH (a quoted path) is the one
 * parameter that chooses the model. */
    .section .model, "a"
    .globl postag_blob
    .globl postag_blob_end
    /* Word-aligned, as a blob placed by a linker usually is (the load's word loops take
     * aligned values; loads.c places some blobs off it on purpose). */
    .balign 4
postag_blob:
    .incbin POSTAG_MODEL_PATH
postag_blob_end:
