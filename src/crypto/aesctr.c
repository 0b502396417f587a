/*
 * AES-256-CTR (NIST SP 800-38A §6.5). OpenSSL's CTR mode increments the whole
 * 16-byte counter block as one 128-bit big-endian number (its 32-bit fast
 * path carries into the upper 96 bits), which is the standard incrementing
 * function of SP 800-38A Appendix B.1 with m = 128; tests/test_aesctr.c checks
 * the carry across 2^32, 2^64 and 2^128.
 */
#include <limits.h>
#include <pthread.h>

#include <openssl/evp.h>

#include "pq3/crypto.h"

static pthread_once_t cipher_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *cipher_aes256ctr;

/* The cipher is fetched once and then only read, from any thread; never freed
 * (see md.c). */
static void cipher_init(void)
{
    cipher_aes256ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
}

pq3_err pq3_aes256ctr(uint8_t *out, const uint8_t *in, size_t len,
                      const uint8_t key[PQ3_AES256_KEY_BYTES],
                      const uint8_t iv[PQ3_AES_CTR_IV_BYTES])
{
    EVP_CIPHER_CTX *ctx = NULL;
    pq3_err err = PQ3_ERR_CRYPTO;
    size_t done = 0;
    int n;

    if (key == NULL || iv == NULL || ((out == NULL || in == NULL) && len != 0))
        return PQ3_ERR_ARG;
    /* In-place is allowed; any other overlap would make OpenSSL read
     * keystream-XORed bytes it has already written. */
    if (len != 0 && in != out && (uintptr_t)in < (uintptr_t)out + len &&
        (uintptr_t)out < (uintptr_t)in + len)
        return PQ3_ERR_ARG;
    if (len == 0)
        return PQ3_OK;
    if (pthread_once(&cipher_once, cipher_init) != 0 || cipher_aes256ctr == NULL)
        return PQ3_ERR_CRYPTO;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        return PQ3_ERR_CRYPTO;
    if (EVP_EncryptInit_ex2(ctx, cipher_aes256ctr, key, iv, NULL) != 1)
        goto cleanup;
    /* EVP takes int lengths; CTR keeps its keystream position across
     * updates, so chunking changes nothing. */
    while (done < len) {
        size_t chunk = len - done > (size_t)INT_MAX - 15 ? (size_t)INT_MAX - 15 : len - done;
        if (EVP_EncryptUpdate(ctx, out + done, &n, in + done, (int)chunk) != 1 ||
            (size_t)n != chunk)
            goto cleanup;
        done += chunk;
    }
    if (EVP_EncryptFinal_ex(ctx, out + done, &n) != 1 || n != 0)
        goto cleanup;
    err = PQ3_OK;

cleanup:
    if (err != PQ3_OK)
        pq3_wipe(out, len);
    /* Frees and wipes the key schedule. */
    EVP_CIPHER_CTX_free(ctx);
    return err;
}
