/*
 * Message digests and the HMAC construction shared by the primitives of
 * src/crypto/ (internal).
 *
 * The EVP_MD objects are fetched from the default provider once per process
 * (pthread_once) and never changed or freed afterwards, so any thread may use
 * them concurrently. Fetching per call would cost a provider lookup under a
 * lock each time; "EVP_sha384()" style implicit fetches do the same lookup
 * inside every EVP_DigestInit.
 */
#ifndef PQ3_CRYPTO_MD_H
#define PQ3_CRYPTO_MD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pq3/common.h"

#define PQ3_SHA256_BYTES 32
#define PQ3_MD_MAX_BYTES 48 /* SHA-384 */

/* The fetched SHA-256 / SHA-384, or NULL when the provider has none (then
 * every caller reports PQ3_ERR_CRYPTO). */
const EVP_MD *pq3_md_sha256(void);
const EVP_MD *pq3_md_sha384(void);

/* One piece of a message given in parts (so callers need not concatenate
 * secrets into temporary buffers). */
typedef struct {
    const uint8_t *p;
    size_t len;
} pq3_iov;

/* out = md(msg), EVP_MD_get_size(md) bytes; md NULL (failed fetch) gives
 * PQ3_ERR_CRYPTO. Errors: PQ3_ERR_CRYPTO (out wiped). */
pq3_err pq3_digest(const EVP_MD *md, uint8_t *out, const uint8_t *msg, size_t len);

/* out = SHA-256(msg). Errors: PQ3_ERR_CRYPTO. */
pq3_err pq3_sha256(uint8_t out[PQ3_SHA256_BYTES], const uint8_t *msg, size_t len);

/* out = SHA-256(parts[0] || ... || parts[n-1]), for a message whose pieces
 * the caller does not want to copy together (a tag before a large input).
 * Errors: PQ3_ERR_CRYPTO (out wiped). */
pq3_err pq3_sha256_iov(uint8_t out[PQ3_SHA256_BYTES], const pq3_iov *parts, size_t n);

/*
 * out = HMAC-md(key, parts[0] || ... || parts[n-1]) (RFC 2104), md being
 * SHA-256 or SHA-384; out receives EVP_MD_get_size(md) bytes. `ctx` is a
 * digest context the caller may reuse across calls to save an allocation; with
 * NULL one is made and freed here. Errors: PQ3_ERR_ARG, PQ3_ERR_CRYPTO (out
 * wiped).
 */
pq3_err pq3_hmac(EVP_MD_CTX *ctx, const EVP_MD *md, uint8_t *out,
                 const uint8_t *key, size_t key_len, const pq3_iov *parts, size_t n);

#endif
