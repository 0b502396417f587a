/*
 * P-256 helpers shared by ecdh.c and ecdsa.c (internal).
 *
 * Why not EVP_PKEY: OpenSSL 3.0's EVP interface cannot decompress an x-only
 * key, cannot take an RFC 6979 nonce, and building an EVP_PKEY per call
 * (EVP_PKEY_fromdata plus its validation) costs more than the scalar
 * multiplication itself. So the primitives use the non-deprecated EC_GROUP,
 * EC_POINT and BIGNUM functions directly, on keys kept as byte arrays.
 *
 * The group, a copy of its order and a Montgomery context modulo the order
 * are built once per process (pthread_once) and never modified afterwards;
 * OpenSSL only reads them during EC_POINT_mul and BN_mod_mul_montgomery, so
 * all threads share them. They are never freed (see md.c).
 */
#ifndef PQ3_CRYPTO_P256_H
#define PQ3_CRYPTO_P256_H

#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "crypto/ct.h"
#include "pq3/common.h"

#define PQ3_P256_BYTES 32
#define PQ3_P256_POINT_BYTES 65 /* 0x04 || X || Y */

typedef struct {
    EC_GROUP *group;
    BIGNUM *n;            /* the group order */
    BIGNUM *n_minus_2;    /* exponent for k^-1 = k^(n-2) mod n (Fermat) */
    BN_MONT_CTX *mont_n;  /* Montgomery arithmetic modulo n */
    BIGNUM *p;            /* the field prime */
    BIGNUM *b;            /* the curve's b (y^2 = x^3 - 3x + b) */
    BIGNUM *sqrt_exp;     /* (p + 1) / 4: since p = 3 mod 4, a square root of
                             a square r is r^((p+1)/4) */
    BN_MONT_CTX *mont_p;  /* Montgomery arithmetic modulo p */
} pq3_p256;

/* The shared curve, or NULL when it could not be built (PQ3_ERR_CRYPTO). */
const pq3_p256 *pq3_p256_get(void);

/* Big-endian field prime p, order n and floor(n/2). */
extern const uint8_t pq3_p256_p[PQ3_P256_BYTES];
extern const uint8_t pq3_p256_n[PQ3_P256_BYTES];
extern const uint8_t pq3_p256_half_n[PQ3_P256_BYTES];

/* 0xFF when a < b as 256-bit big-endian numbers, else 0; constant time. */
uint8_t pq3_p256_lt(const uint8_t a[PQ3_P256_BYTES], const uint8_t b[PQ3_P256_BYTES]);

/* 0xFF when 1 <= s <= n-1, else 0; constant time. */
uint8_t pq3_p256_scalar_ok(const uint8_t s[PQ3_P256_BYTES]);

/* A scalar in [1, n-1] by rejection sampling 32-byte strings from rng
 * (deterministic for a deterministic rng). Errors: PQ3_ERR_RNG (s wiped). */
pq3_err pq3_p256_random_scalar(uint8_t s[PQ3_P256_BYTES], const pq3_rng *rng);

/* point = d·G, uncompressed. d must satisfy pq3_p256_scalar_ok.
 * Errors: PQ3_ERR_KEY (d out of range), PQ3_ERR_CRYPTO (point wiped). */
pq3_err pq3_p256_base_mul(uint8_t point[PQ3_P256_POINT_BYTES],
                          const uint8_t d[PQ3_P256_BYTES]);

/* Validating decoders into the uncompressed form; Errors: PQ3_ERR_KEY (not
 * a canonical encoding of a curve point), PQ3_ERR_CRYPTO. Output untouched on
 * error. x-only: either of the two points with that x (the even y). */
pq3_err pq3_p256_import_x(uint8_t point[PQ3_P256_POINT_BYTES], const uint8_t x[PQ3_P256_BYTES]);
pq3_err pq3_p256_import_compressed(uint8_t point[PQ3_P256_POINT_BYTES], const uint8_t enc[33]);
pq3_err pq3_p256_import_uncompressed(uint8_t point[PQ3_P256_POINT_BYTES],
                                     const uint8_t enc[PQ3_P256_POINT_BYTES]);

/* 1 when (x, y) is a point of the curve: x, y < p and y^2 = x^3 - 3x + b
 * (SEC 1 §3.2.2.1 steps 2-3; the cofactor is 1, so no subgroup check), else
 * 0. For public points only (it branches): checks a stored point without
 * OpenSSL's per-call set-up, in about a tenth of pq3_p256_import_uncompressed
 * (PROTOCOL.md §14: a loaded state's peer keys). */
int pq3_p256_on_curve(const uint8_t x[PQ3_P256_BYTES], const uint8_t y[PQ3_P256_BYTES]);

/* Loads a point produced by the decoders into pt. OpenSSL checks it is on
 * the curve again as it loads (a few field multiplications, no square root),
 * which keeps a corrupted caller struct from becoming an invalid-curve point.
 * Returns 1 on success. */
int pq3_p256_load(const pq3_p256 *c, EC_POINT *pt, const uint8_t point[PQ3_P256_POINT_BYTES],
                  BN_CTX *bn);

/* A BIGNUM from a secret 32-byte scalar, flagged BN_FLG_CONSTTIME so OpenSSL
 * takes its constant-time paths; taken from `bn` (a secure BN_CTX, whose
 * numbers are wiped when it is freed). NULL on failure. */
BIGNUM *pq3_p256_secret_bn(const uint8_t s[PQ3_P256_BYTES], BN_CTX *bn);

/* Declassifies a verdict computed in constant time from secret data that the
 * caller then reveals by branching on it (a key is valid or not; a candidate
 * nonce is rejected and the next one tried; r or s of a signature, which is
 * published). Returns the verdict. See pq3_ct_declassify (src/crypto/ct.h). */
static inline int pq3_p256_public_verdict(int v)
{
    pq3_ct_declassify(&v, sizeof v);
    return v;
}

#endif
