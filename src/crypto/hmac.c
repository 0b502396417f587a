/*
 * HMAC (RFC 2104, FIPS 198-1) over a cached EVP_MD, and the public
 * HMAC-SHA384.
 *
 * Written over EVP_MD_CTX rather than EVP_MAC: an EVP_MAC context is told its
 * digest by name, which makes the provider fetch the digest again on every
 * key setup, while here the digest is fetched once (md.c) and one digest
 * context serves both the inner and the outer hash. Measured for a 64-byte
 * HMAC-SHA384 with a fresh key per call: EVP_MAC about 1.85 us (1.5 us when
 * duplicating a pre-configured context), this code about 0.75 us, which is
 * the cost of its four SHA-384 compressions plus one context allocation.
 */
#include <string.h>

#include "crypto/md.h"
#include "pq3/crypto.h"

#define HMAC_MAX_BLOCK 128 /* SHA-384 block; SHA-256 has 64 */

/* Hashes (key XOR pad) || parts into ctx's fresh state and finishes into out. */
static int hmac_pass(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *padded_key,
                     size_t block, const pq3_iov *parts, size_t n, uint8_t *out)
{
    if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, padded_key, block) != 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (parts[i].len != 0 && EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) != 1)
            return 0;
    return EVP_DigestFinal_ex(ctx, out, NULL) == 1;
}

pq3_err pq3_hmac(EVP_MD_CTX *ctx, const EVP_MD *md, uint8_t *out,
                 const uint8_t *key, size_t key_len, const pq3_iov *parts, size_t n)
{
    uint8_t k0[HMAC_MAX_BLOCK];       /* secret: the key padded, then XOR pad */
    uint8_t inner[PQ3_MD_MAX_BYTES];  /* secret: the inner hash */
    EVP_MD_CTX *own = NULL;
    pq3_err err = PQ3_ERR_CRYPTO;
    int size, block;
    pq3_iov outer_part;

    if (md == NULL)
        return PQ3_ERR_CRYPTO;
    size = EVP_MD_get_size(md);
    block = EVP_MD_get_block_size(md);
    if (size <= 0 || size > PQ3_MD_MAX_BYTES || block < size || block > HMAC_MAX_BLOCK)
        return PQ3_ERR_CRYPTO;
    if (out == NULL || (key == NULL && key_len != 0) || (parts == NULL && n != 0))
        return PQ3_ERR_ARG;
    for (size_t i = 0; i < n; i++)
        if (parts[i].p == NULL && parts[i].len != 0)
            return PQ3_ERR_ARG;
    if (ctx == NULL && (ctx = own = EVP_MD_CTX_new()) == NULL)
        return PQ3_ERR_CRYPTO;

    /* RFC 2104 §2: a key longer than the block is first hashed; the key is
     * then padded with zeros to one block. */
    memset(k0, 0, sizeof k0);
    if (key_len > (size_t)block) {
        pq3_iov kp = { key, key_len };
        if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
            EVP_DigestUpdate(ctx, kp.p, kp.len) != 1 ||
            EVP_DigestFinal_ex(ctx, k0, NULL) != 1)
            goto cleanup;
    } else if (key_len != 0) {
        memcpy(k0, key, key_len);
    }

    /* inner = H((K0 ^ ipad) || text) */
    for (int i = 0; i < block; i++)
        k0[i] ^= 0x36;
    if (!hmac_pass(ctx, md, k0, (size_t)block, parts, n, inner))
        goto cleanup;
    /* out = H((K0 ^ opad) || inner); 0x36 ^ 0x5c turns ipad into opad. */
    for (int i = 0; i < block; i++)
        k0[i] ^= 0x36 ^ 0x5c;
    outer_part.p = inner;
    outer_part.len = (size_t)size;
    if (!hmac_pass(ctx, md, k0, (size_t)block, &outer_part, 1, out))
        goto cleanup;
    err = PQ3_OK;

cleanup:
    if (err != PQ3_OK)
        pq3_wipe(out, (size_t)size);
    pq3_wipe(k0, sizeof k0);
    pq3_wipe(inner, sizeof inner);
    /* Freeing a digest context wipes its state (the provider's freectx
     * clears it); a caller's reused context holds the final outer state until
     * its next use or its free. */
    EVP_MD_CTX_free(own);
    return err;
}

pq3_err pq3_hmac_sha384(uint8_t out[PQ3_SHA384_BYTES], const uint8_t *key, size_t key_len,
                        const uint8_t *msg, size_t len)
{
    pq3_iov part = { msg, len };
    if (out == NULL || (key == NULL && key_len != 0) || (msg == NULL && len != 0))
        return PQ3_ERR_ARG;
    return pq3_hmac(NULL, pq3_md_sha384(), out, key, key_len, &part, 1);
}
