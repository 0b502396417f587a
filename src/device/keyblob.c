/*
 * Key blobs (docs/DEVICE.md §2.1): a P-256 private key as bytes, in the
 * clear or under a passphrase (scrypt, AES-256-GCM). The encoder and the
 * decoder read like the layout:
 *
 *   mode 0 (clear):     01 0C 00 || key[32]                          35 bytes
 *   mode 1 (scrypt+GCM): 01 0C 01 || log2_n r p || salt[16] || nonce[12]
 *                        || ciphertext[32] || tag[16]                82 bytes
 *
 * In mode 1 the 34 header bytes (everything before the ciphertext) are the
 * GCM additional data, so the cost, salt and nonce cannot be changed
 * without the tag failing.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "pq3/keystore.h"

#define KB_VERSION 1
#define KB_MODE_CLEAR 0
#define KB_MODE_SCRYPT_GCM 1
#define KB_SALT 16
#define KB_NONCE 12
#define KB_TAG 16
#define KB_CLEAR_BYTES (3 + PQ3_ECDSA_PRIV_BYTES)
#define KB_HEADER_BYTES (3 + 3 + KB_SALT + KB_NONCE)
#define KB_ENC_BYTES (KB_HEADER_BYTES + PQ3_ECDSA_PRIV_BYTES + KB_TAG)

/* Bounds of docs/DEVICE.md §2.1. The lower ones make a blob that a
 * decoder would accept but that protects nothing malformed; the upper ones
 * bound what a crafted file can cost: time (N, r, p) and memory, which
 * scrypt needs 128·r·N bytes of. */
#define KB_LOG2_N_MIN 10
#define KB_LOG2_N_MAX 20
#define KB_R_MAX 16
#define KB_P_MAX 4
#define KB_MEM_MAX ((uint64_t)1 << 30)

_Static_assert(KB_ENC_BYTES <= PQ3_KEYBLOB_MAX_BYTES, "PQ3_KEYBLOB_MAX_BYTES too small");

pq3_scrypt_cost pq3_scrypt_cost_default(void)
{
    pq3_scrypt_cost c = { 15, 8, 1 };
    return c;
}

static uint64_t cost_mem(const pq3_scrypt_cost *c)
{
    return (uint64_t)128 * c->r * ((uint64_t)1 << c->log2_n);
}

/* PQ3_OK, PQ3_ERR_DECODE (below the floor) or PQ3_ERR_LIMIT (above the
 * ceiling); the floor first, so a zero field is malformed, not "too big". */
static pq3_err cost_check(const pq3_scrypt_cost *c)
{
    if (c->log2_n < KB_LOG2_N_MIN || c->r < 1 || c->p < 1)
        return PQ3_ERR_DECODE;
    if (c->log2_n > KB_LOG2_N_MAX || c->r > KB_R_MAX || c->p > KB_P_MAX ||
        cost_mem(c) > KB_MEM_MAX)
        return PQ3_ERR_LIMIT;
    return PQ3_OK;
}

static pq3_err scrypt_key(uint8_t key[32], const char *passphrase, const uint8_t salt[KB_SALT],
                          const pq3_scrypt_cost *c)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[7];
    uint64_t n = (uint64_t)1 << c->log2_n;
    uint32_t r = c->r, p = c->p;
    /* OpenSSL counts 128·r·(N + 2) + 128·r·p bytes against maxmem; twice
     * the bound covers that with room. */
    uint64_t maxmem = 2 * KB_MEM_MAX;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (kdf == NULL || (kctx = EVP_KDF_CTX_new(kdf)) == NULL)
        goto out;
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)passphrase,
                                                  strlen(passphrase));
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, KB_SALT);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    params[6] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, key, 32, params) != 1) {
        /* scrypt fails mostly for want of memory */
        pq3_wipe(key, 32);
        goto out;
    }
    err = PQ3_OK;
out:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return err;
}

/* AES-256-GCM, one call each way: encrypt when `enc`, else decrypt and
 * check the tag (OpenSSL compares it in constant time). Returns PQ3_OK,
 * PQ3_ERR_VERIFY (tag) or PQ3_ERR_CRYPTO. */
static pq3_err gcm(int enc, uint8_t out[32], const uint8_t in[32], const uint8_t key[32],
                   const uint8_t nonce[KB_NONCE], const uint8_t *aad, size_t aad_len,
                   uint8_t tag[KB_TAG])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (ctx == NULL ||
        EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, KB_NONCE, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
        EVP_CipherUpdate(ctx, out, &n, in, 32) != 1 || n != 32)
        goto out;
    if (enc) {
        if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, KB_TAG, tag) != 1)
            goto out;
    } else {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KB_TAG, tag) != 1)
            goto out;
        if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) {
            err = PQ3_ERR_VERIFY;
            goto out;
        }
    }
    err = PQ3_OK;
out:
    if (err != PQ3_OK)
        pq3_wipe(out, 32);
    EVP_CIPHER_CTX_free(ctx);
    return err;
}

pq3_err pq3_keyblob_encode(uint8_t *out, size_t cap, size_t *out_len,
                           const uint8_t priv[PQ3_ECDSA_PRIV_BYTES], const char *passphrase,
                           const pq3_scrypt_cost *cost, const pq3_rng *rng)
{
    pq3_scrypt_cost c = cost != NULL ? *cost : pq3_scrypt_cost_default();
    uint8_t pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t blob[KB_ENC_BYTES];
    uint8_t key[32];
    size_t need;
    pq3_err err;

    if (out == NULL || out_len == NULL || priv == NULL ||
        (passphrase != NULL && passphrase[0] == '\0'))
        return PQ3_ERR_ARG;
    if (passphrase != NULL && cost_check(&c) != PQ3_OK)
        return PQ3_ERR_ARG;
    /* A blob only ever holds a usable key. */
    err = pq3_ecdsa_public(pub, priv);
    if (err != PQ3_OK)
        return err == PQ3_ERR_KEY ? PQ3_ERR_ARG : err;
    need = passphrase == NULL ? KB_CLEAR_BYTES : KB_ENC_BYTES;
    if (cap < need) {
        *out_len = need;
        pq3_wipe(out, cap);
        return PQ3_ERR_BUFFER;
    }

    blob[0] = KB_VERSION;
    blob[1] = PQ3_TYPE_KEYBLOB;
    if (passphrase == NULL) {
        blob[2] = KB_MODE_CLEAR;
        memcpy(blob + 3, priv, PQ3_ECDSA_PRIV_BYTES);
    } else {
        blob[2] = KB_MODE_SCRYPT_GCM;
        blob[3] = c.log2_n;
        blob[4] = c.r;
        blob[5] = c.p;
        /* salt and nonce: fresh for every blob, so one passphrase never
         * gives the same key and nonce twice */
        err = pq3_random(rng, blob + 6, KB_SALT + KB_NONCE);
        if (err != PQ3_OK)
            goto cleanup;
        err = scrypt_key(key, passphrase, blob + 6, &c);
        if (err != PQ3_OK)
            goto cleanup;
        err = gcm(1, blob + KB_HEADER_BYTES, priv, key, blob + 6 + KB_SALT, blob,
                  KB_HEADER_BYTES, blob + KB_HEADER_BYTES + 32);
        if (err != PQ3_OK)
            goto cleanup;
    }
    memcpy(out, blob, need);
    *out_len = need;
    err = PQ3_OK;

cleanup:
    if (err != PQ3_OK)
        pq3_wipe(out, cap);
    pq3_wipe(key, sizeof key);
    pq3_wipe(blob, sizeof blob);
    return err;
}

int pq3_keyblob_encrypted(const uint8_t *in, size_t len)
{
    return in != NULL && len >= 3 && in[0] == KB_VERSION && in[1] == PQ3_TYPE_KEYBLOB &&
           in[2] == KB_MODE_SCRYPT_GCM;
}

pq3_err pq3_keyblob_decode(uint8_t priv[PQ3_ECDSA_PRIV_BYTES], const uint8_t *in, size_t len,
                           const char *passphrase)
{
    uint8_t key[32], plain[PQ3_ECDSA_PRIV_BYTES], tag[KB_TAG];
    pq3_soft_key check;
    pq3_scrypt_cost c;
    pq3_err err;

    if (priv == NULL || in == NULL)
        return PQ3_ERR_ARG;
    if (len < 3)
        return len >= 1 && in[0] != KB_VERSION ? PQ3_ERR_VERSION : PQ3_ERR_DECODE;
    if (in[0] != KB_VERSION || in[1] != PQ3_TYPE_KEYBLOB)
        return PQ3_ERR_VERSION;
    memset(&check, 0, sizeof check);

    if (in[2] == KB_MODE_CLEAR) {
        if (len != KB_CLEAR_BYTES)
            return PQ3_ERR_DECODE;
        memcpy(plain, in + 3, sizeof plain);
        /* so that the cleanup's wipe of `key` is of a defined buffer */
        memset(key, 0, sizeof key);
    } else if (in[2] == KB_MODE_SCRYPT_GCM) {
        if (len != KB_ENC_BYTES)
            return PQ3_ERR_DECODE;
        c.log2_n = in[3];
        c.r = in[4];
        c.p = in[5];
        /* The cost is checked before scrypt runs: the point of the bound. */
        err = cost_check(&c);
        if (err != PQ3_OK)
            return err;
        if (passphrase == NULL)
            return PQ3_ERR_STATE;
        memcpy(tag, in + KB_HEADER_BYTES + 32, KB_TAG);
        err = scrypt_key(key, passphrase, in + 6, &c);
        if (err != PQ3_OK)
            return err;
        err = gcm(0, plain, in + KB_HEADER_BYTES, key, in + 6 + KB_SALT, in, KB_HEADER_BYTES,
                  tag);
        if (err != PQ3_OK)
            goto cleanup;
    } else {
        return PQ3_ERR_DECODE;
    }

    /* The key must be a scalar in [1, n-1] (PQ3_ERR_KEY otherwise). */
    err = pq3_soft_key_import(&check, plain);
    if (err != PQ3_OK)
        goto cleanup;
    memcpy(priv, plain, sizeof plain);

cleanup:
    pq3_soft_key_wipe(&check);
    pq3_wipe(plain, sizeof plain);
    pq3_wipe(key, sizeof key);
    return err;
}
