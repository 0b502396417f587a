/*
 * OpenPQ3: common definitions.
 *
 * Every function of the library returns a pq3_err: 0 on success, a negative
 * code on failure. The codes are grouped by where the failure comes from, so a
 * caller can tell a hostile or corrupt peer (expected, drop the input) from a
 * failing system (retry or abort) from its own mistake (fix the caller):
 *
 *   -1  .. -19   bad input from a peer, the network or the disk
 *   -20 .. -39   system failure (randomness, memory, I/O, crypto backend)
 *   -40 .. -59   caller misuse (bad argument, buffer too small, wrong state)
 *
 * On failure a function leaves its outputs untouched or wiped, never
 * half-written.
 */
#ifndef PQ3_COMMON_H
#define PQ3_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PQ3_MUST_USE __attribute__((warn_unused_result))
#define PQ3_API __attribute__((visibility("default")))
#else
#define PQ3_MUST_USE
#define PQ3_API
#endif

typedef int pq3_err;

enum {
    PQ3_OK = 0,

    /* Bad input from a peer, the network or the disk. */
    PQ3_ERR_DECODE = -1,   /* malformed or non-canonical encoding */
    PQ3_ERR_VERIFY = -2,   /* signature, key indicator or check failed */
    PQ3_ERR_KEY = -3,      /* invalid public key (not on curve, bad ML-KEM key) */
    PQ3_ERR_EXPIRED = -4,  /* certificate or prekey outside its validity */
    PQ3_ERR_REPLAY = -5,   /* message already processed */
    PQ3_ERR_UNKNOWN = -6,  /* refers to a key, prekey or session we do not have */
    PQ3_ERR_LIMIT = -7,    /* would exceed a bound (skipped keys, list sizes) */
    PQ3_ERR_VERSION = -8,  /* unsupported version or type */
    PQ3_ERR_REFUSED = -9,  /* the server refused the request (client.h: status) */

    /* System failure. */
    PQ3_ERR_RNG = -20,     /* the random source failed */
    PQ3_ERR_NOMEM = -21,   /* allocation failed */
    PQ3_ERR_IO = -22,      /* file, socket or database error */
    PQ3_ERR_CRYPTO = -23,  /* the crypto backend (OpenSSL) failed unexpectedly */

    /* Caller misuse. */
    PQ3_ERR_ARG = -40,     /* invalid argument (NULL, out of range) */
    PQ3_ERR_BUFFER = -41,  /* output buffer too small */
    PQ3_ERR_STATE = -42    /* operation not valid in the current state */
};

/* A static, human-readable description of `err`; never NULL. */
PQ3_API const char *pq3_strerror(pq3_err err);

/* 1 when `err` came from bad input, a failing system, or caller misuse. */
PQ3_API int pq3_err_is_input(pq3_err err);
PQ3_API int pq3_err_is_system(pq3_err err);
PQ3_API int pq3_err_is_misuse(pq3_err err);

/*
 * Overwrites `len` bytes at `p` with zeros in a way the compiler cannot
 * remove as a dead store. Every secret is wiped through this one function.
 */
PQ3_API void pq3_wipe(void *p, size_t len);

/*
 * The one injectable source of randomness. `fill` writes `len` random bytes
 * to `out` and returns PQ3_OK, or an error (normally PQ3_ERR_RNG) that the
 * library passes up unchanged: randomness fails closed. Functions that take a
 * `const pq3_rng *` use the system generator (OpenSSL's DRBG) when it is NULL.
 * Tests pass a deterministic source to replay a whole conversation.
 */
typedef struct pq3_rng {
    void *ctx;
    pq3_err (*fill)(void *ctx, uint8_t *out, size_t len);
} pq3_rng;

/* Fills `out` from `rng`, or from the system generator when `rng` is NULL.
 * Errors: PQ3_ERR_RNG (or whatever rng->fill returns). On error `out` is
 * wiped. */
PQ3_API PQ3_MUST_USE pq3_err pq3_random(const pq3_rng *rng, uint8_t *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
