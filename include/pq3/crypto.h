/*
 * OpenPQ3 classical primitives, over OpenSSL 3.0 libcrypto (src/crypto/).
 *
 * Keys are plain byte arrays owned by the caller; OpenSSL objects live only
 * inside a call. Every function returns PQ3_OK or a negative pq3_err; on error
 * its outputs are wiped (argument errors leave them untouched). Private keys
 * and shared secrets are the caller's to wipe (pq3_wipe) when done.
 *
 * All functions may run concurrently in any number of threads. The only state
 * they share is created once per process on first use (the fetched digests and
 * cipher, the P-256 group) and never modified afterwards.
 *
 *   SHA-384, HMAC-SHA384, HKDF-SHA384 (RFC 5869; Extract and Expand apart)
 *   AES-256-CTR (16-byte IV = initial counter block, 128-bit big-endian
 *                increment)
 *   P-256 ECDH with 32-byte x-only public keys (PROTOCOL-BRIEF §6)
 *   ECDSA P-256 / SHA-256, 33-byte compressed public keys, 64-byte r||s
 *   signatures, deterministic nonces (RFC 6979), low-s on signing, high-s
 *   rejected on verification
 */
#ifndef PQ3_CRYPTO_H
#define PQ3_CRYPTO_H

#include "pq3/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_SHA384_BYTES 48
#define PQ3_HKDF_PRK_BYTES 48
#define PQ3_HKDF_MAX_OUT (255 * 48)
#define PQ3_AES256_KEY_BYTES 32
#define PQ3_AES_CTR_IV_BYTES 16
#define PQ3_ECDH_PRIV_BYTES 32
#define PQ3_ECDH_PUB_BYTES 32
#define PQ3_ECDH_SS_BYTES 32
#define PQ3_ECDSA_PRIV_BYTES 32
#define PQ3_ECDSA_PUB_BYTES 33
#define PQ3_ECDSA_SIG_BYTES 64

/* out = SHA-384(msg). Errors: PQ3_ERR_ARG, PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_sha384(uint8_t out[PQ3_SHA384_BYTES],
                                        const uint8_t *msg, size_t len);

/* out = HMAC-SHA384(key, msg). Errors: PQ3_ERR_ARG, PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_hmac_sha384(uint8_t out[PQ3_SHA384_BYTES],
                                             const uint8_t *key, size_t key_len,
                                             const uint8_t *msg, size_t len);

/* RFC 5869 §2.2: prk = HMAC-SHA384(salt, ikm); an empty salt means 48 zero
 * bytes. Errors: PQ3_ERR_ARG, PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_hkdf_sha384_extract(uint8_t prk[PQ3_HKDF_PRK_BYTES],
                                                     const uint8_t *salt, size_t salt_len,
                                                     const uint8_t *ikm, size_t ikm_len);

/* RFC 5869 §2.3: out_len bytes of T(1)||T(2)||... from prk and info.
 * Errors: PQ3_ERR_ARG (out_len 0 or > PQ3_HKDF_MAX_OUT), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_hkdf_sha384_expand(uint8_t *out, size_t out_len,
                                                    const uint8_t prk[PQ3_HKDF_PRK_BYTES],
                                                    const uint8_t *info, size_t info_len);

/* AES-256-CTR over len bytes (in and out may be the same buffer). The IV is
 * the initial counter block; the whole 16-byte block is incremented as one
 * 128-bit big-endian number. len 0 is a no-op. Errors: PQ3_ERR_ARG (NULL, or
 * in and out overlap without being equal), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_aes256ctr(uint8_t *out, const uint8_t *in, size_t len,
                                           const uint8_t key[PQ3_AES256_KEY_BYTES],
                                           const uint8_t iv[PQ3_AES_CTR_IV_BYTES]);

/* ---- P-256 ECDH, x-only public keys -------------------------------------- */

/* A peer's ECDH public key, validated once by pq3_ecdh_import and then used
 * for any number of derivations without revalidation. Public data. `point`
 * is the uncompressed SEC1 encoding (0x04 || X || Y) of a curve point. */
typedef struct {
    uint8_t point[65];
} pq3_ecdh_peer;

/* New key pair from `rng` (NULL: system generator): priv is a scalar in
 * [1, n-1], pub the 32-byte big-endian x-coordinate of priv·G. The scalar is
 * drawn by rejection sampling of 32-byte strings, so a deterministic rng
 * gives a deterministic key. Errors: PQ3_ERR_ARG, PQ3_ERR_RNG (the rng failed,
 * or gave 32 out-of-range strings in a row), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdh_keypair(uint8_t priv[PQ3_ECDH_PRIV_BYTES],
                                              uint8_t pub[PQ3_ECDH_PUB_BYTES],
                                              const pq3_rng *rng);

/* pub = x(priv·G). Errors: PQ3_ERR_ARG, PQ3_ERR_KEY (priv is 0 or >= n),
 * PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdh_public(uint8_t pub[PQ3_ECDH_PUB_BYTES],
                                             const uint8_t priv[PQ3_ECDH_PRIV_BYTES]);

/* Validates a 32-byte x-coordinate and decompresses it (either y serves:
 * x(d·Q) = x(d·(-Q)); the even one is taken). Errors: PQ3_ERR_ARG,
 * PQ3_ERR_KEY (x >= p, or no curve point has this x), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdh_import(pq3_ecdh_peer *peer,
                                             const uint8_t their_pub[PQ3_ECDH_PUB_BYTES]);

/* Validates an uncompressed SEC1 point (65 bytes, 0x04 || X || Y): on the
 * curve, not infinity. For tests and foreign encodings; the wire uses x-only.
 * Errors: PQ3_ERR_ARG, PQ3_ERR_KEY (other prefix, X or Y >= p, not on the
 * curve), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdh_import_uncompressed(pq3_ecdh_peer *peer,
                                                          const uint8_t point[65]);

/* ss = x(my_priv · peer), 32 bytes. Errors: PQ3_ERR_ARG, PQ3_ERR_KEY (bad
 * private key, `peer` not a curve point as an import leaves it, or the result
 * is the point at infinity), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdh_derive(uint8_t ss[PQ3_ECDH_SS_BYTES],
                                             const uint8_t my_priv[PQ3_ECDH_PRIV_BYTES],
                                             const pq3_ecdh_peer *peer);

/* ---- ECDSA P-256 / SHA-256 ----------------------------------------------- */

/* A verification key, validated once by pq3_ecdsa_import. Public data. */
typedef struct {
    uint8_t point[65]; /* uncompressed SEC1 */
} pq3_ecdsa_pub;

/* New signing key from `rng` (NULL: system generator); pub is the 33-byte
 * compressed SEC1 encoding. Rejection sampling as pq3_ecdh_keypair.
 * Errors: PQ3_ERR_ARG, PQ3_ERR_RNG, PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdsa_keypair(uint8_t priv[PQ3_ECDSA_PRIV_BYTES],
                                               uint8_t pub[PQ3_ECDSA_PUB_BYTES],
                                               const pq3_rng *rng);

/* pub = compressed(priv·G). Errors: PQ3_ERR_ARG, PQ3_ERR_KEY (priv is 0 or
 * >= n), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdsa_public(uint8_t pub[PQ3_ECDSA_PUB_BYTES],
                                              const uint8_t priv[PQ3_ECDSA_PRIV_BYTES]);

/* Validates a 33-byte compressed key (0x02/0x03 || X, on the curve).
 * Errors: PQ3_ERR_ARG, PQ3_ERR_KEY (other prefix, X >= p, no curve point
 * with this X), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdsa_import(pq3_ecdsa_pub *pub,
                                              const uint8_t enc[PQ3_ECDSA_PUB_BYTES]);

/* Validates a 65-byte uncompressed key (as pq3_ecdh_import_uncompressed).
 * Errors: PQ3_ERR_ARG, PQ3_ERR_KEY, PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdsa_import_uncompressed(pq3_ecdsa_pub *pub,
                                                           const uint8_t point[65]);

/* sig = r || s over SHA-256(msg), nonce per RFC 6979 (deterministic: the
 * same key and message give the same signature), s normalised to s <= n/2.
 * Uses no randomness. Errors: PQ3_ERR_ARG, PQ3_ERR_KEY (priv 0 or >= n),
 * PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdsa_sign(uint8_t sig[PQ3_ECDSA_SIG_BYTES],
                                            const uint8_t priv[PQ3_ECDSA_PRIV_BYTES],
                                            const uint8_t *msg, size_t len);

/* Checks sig = r || s over SHA-256(msg). Rejects r or s = 0, r or s >= n,
 * and s > n/2 (high-s). Errors: PQ3_ERR_VERIFY (any bad signature),
 * PQ3_ERR_ARG (NULL, or `pub` not a curve point as an import leaves it),
 * PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_ecdsa_verify(const pq3_ecdsa_pub *pub,
                                              const uint8_t sig[PQ3_ECDSA_SIG_BYTES],
                                              const uint8_t *msg, size_t len);

#ifdef __cplusplus
}
#endif
#endif
