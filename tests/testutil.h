/*
 * The test harness: checks that count, hex and JSON helpers, the vector
 * directory, and a deterministic random source. Every test program ends with
 * `return pq3t_finish();`. A test that cannot run (vectors absent, npm absent)
 * calls pq3t_skip(), which prints why, loudly, and exits 77 (ctest: skipped).
 */
#ifndef PQ3_TESTUTIL_H
#define PQ3_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "pq3/common.h"

extern unsigned long pq3t_checks, pq3t_failures;

void pq3t_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* CHECK(cond) or CHECKF(cond, fmt, ...): counts, and reports a failure with
 * its location without stopping the test. */
#define CHECK(cond)                                                        \
    do {                                                                   \
        pq3t_checks++;                                                     \
        if (!(cond))                                                       \
            pq3t_fail(__FILE__, __LINE__, #cond, NULL);                    \
    } while (0)
#define CHECKF(cond, ...)                                                  \
    do {                                                                   \
        pq3t_checks++;                                                     \
        if (!(cond))                                                       \
            pq3t_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);             \
    } while (0)
/* CHECK_ERR(call, expected): the call returns exactly `expected`. */
#define CHECK_ERR(call, expected)                                          \
    do {                                                                   \
        pq3_err e_ = (call);                                               \
        pq3t_checks++;                                                     \
        if (e_ != (expected))                                              \
            pq3t_fail(__FILE__, __LINE__, #call, "returned %d (%s), expected %d (%s)", \
                      e_, pq3_strerror(e_), (expected), pq3_strerror(expected)); \
    } while (0)
#define CHECK_OK(call) CHECK_ERR(call, PQ3_OK)

/* Prints "<name>: N passed, N failed" and returns the exit status. */
int pq3t_finish(void);

/* Prints "SKIPPED: <why>" to stdout and stderr and exits 77. */
void pq3t_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* $PQ3_VECTORS_DIR/<rel>, or skips the test when that path is absent. The
 * returned string is static storage, valid until the next call. */
const char *pq3t_vector_path(const char *rel);

/* Reads a whole file; returns NULL when it cannot. *len gets its size. Free
 * with free(). The result is NUL-terminated. */
char *pq3t_read_file(const char *path, size_t *len);

/* Parses a JSON file; fails the test (and returns NULL) on error. */
cJSON *pq3t_load_json(const char *path);

/* Hex string -> newly allocated bytes (free with free()); NULL on bad hex.
 * An empty string gives a non-NULL 1-byte allocation and *len = 0. */
uint8_t *pq3t_unhex(const char *hex, size_t *len);
/* Hex string into a fixed buffer; returns 0 unless the length is exactly n. */
int pq3t_unhex_into(uint8_t *out, size_t n, const char *hex);
/* Bytes -> newly allocated lowercase hex string. */
char *pq3t_hex(const uint8_t *buf, size_t len);

/* String field of a JSON object, or NULL. */
const char *pq3t_json_str(const cJSON *obj, const char *key);

/*
 * Deterministic random source for reproducible runs: SHA-256 in counter mode
 * over a seed. pq3t_drbg_rng() returns a pq3_rng bound to it.
 */
typedef struct {
    uint8_t seed[32];
    uint64_t counter;
    uint8_t buf[32];
    size_t used;
    int fail_after;   /* < 0: never fail; else fail when this many calls made */
    int calls;
} pq3t_drbg;
void pq3t_drbg_init(pq3t_drbg *d, const char *label, uint64_t n);
pq3_rng pq3t_drbg_rng(pq3t_drbg *d);

/* A source that always fails with PQ3_ERR_RNG, for failure-injection tests. */
pq3_rng pq3t_failing_rng(void);

#endif
