/* The model blob, placed in flash as it is. POSTAG_MODEL_PATH (a quoted path) is the one
 * parameter that chooses the model. */
    .section .model, "a"
    .globl postag_blob
    .globl postag_blob_end
postag_blob:
    .incbin POSTAG_MODEL_PATH
postag_blob_end:
