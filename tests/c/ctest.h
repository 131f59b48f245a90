/*
 * A minimal test harness: each check is a function returning 1 (pass) or 0 (fail),
 * listed in a table that ctest_main runs.
 */
#ifndef POSTAG_CTEST_H
#define POSTAG_CTEST_H

#include <stdio.h>

#include "postag.h"

/* Fails the current check unless `cond` holds. */
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            return 0;                                                                \
        }                                                                            \
    } while (0)

/* Fails the current check unless `call` returns the status `want`. */
#define CHECK_STATUS(call, want)                                                   \
    do {                                                                           \
        postag_status got_ = (call);                                               \
        if (got_ != (want)) {                                                      \
            fprintf(stderr, "%s:%d: %s\n  returned %u (%s), want %s\n", __FILE__,   \
                    __LINE__, #call, (unsigned)got_, postag_status_str(got_), #want); \
            return 0;                                                              \
        }                                                                          \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, POSTAG_STATUS_OK)

typedef struct ctest {
    const char *name;
    int (*run)(void);
} ctest;

/* Runs every check, prints one line each, returns the process exit status. */
static int ctest_main(const ctest *tests, size_t count) {
    size_t i, failed = 0;
    for (i = 0; i < count; i++) {
        int ok = tests[i].run();
        printf("%s %s\n", ok ? "PASS" : "FAIL", tests[i].name);
        fflush(stdout);
        if (!ok) {
            failed++;
        }
    }
    printf("%u of %u checks passed\n", (unsigned)(count - failed), (unsigned)count);
    return failed == 0 ? 0 : 1;
}

#endif /* POSTAG_CTEST_H */
