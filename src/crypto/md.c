/* Message digests fetched once per process (see md.h for why). */
#include <pthread.h>

#include "crypto/md.h"

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256;
static EVP_MD *md_sha384;

/* Runs once. The fetched objects are immutable and live until exit: they are
 * deliberately never freed, since OpenSSL's own atexit cleanup may already have
 * unloaded the provider they point into. */
static void md_init(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    md_sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
}

const EVP_MD *pq3_md_sha256(void)
{
    if (pthread_once(&md_once, md_init) != 0)
        return NULL;
    return md_sha256;
}

const EVP_MD *pq3_md_sha384(void)
{
    if (pthread_once(&md_once, md_init) != 0)
        return NULL;
    return md_sha384;
}

/* One-shot digest with a cached EVP_MD: EVP_Digest makes and frees its own
 * context. */
pq3_err pq3_digest(const EVP_MD *md, uint8_t *out, const uint8_t *msg, size_t len)
{
    static const uint8_t empty[1];
    unsigned int n = 0;
    int size;

    if (md == NULL || (size = EVP_MD_get_size(md)) <= 0)
        return PQ3_ERR_CRYPTO;
    if (EVP_Digest(len == 0 ? empty : msg, len, out, &n, md, NULL) != 1 ||
        n != (unsigned int)size) {
        pq3_wipe(out, (size_t)size);
        return PQ3_ERR_CRYPTO;
    }
    return PQ3_OK;
}

pq3_err pq3_sha256(uint8_t out[PQ3_SHA256_BYTES], const uint8_t *msg, size_t len)
{
    return pq3_digest(pq3_md_sha256(), out, msg, len);
}

pq3_err pq3_sha256_iov(uint8_t out[PQ3_SHA256_BYTES], const pq3_iov *parts, size_t n)
{
    const EVP_MD *md = pq3_md_sha256();
    EVP_MD_CTX *ctx;
    unsigned int len = 0;
    int ok;

    if (md == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
        return PQ3_ERR_CRYPTO;
    ok = EVP_DigestInit_ex2(ctx, md, NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = parts[i].len == 0 || EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == PQ3_SHA256_BYTES;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        pq3_wipe(out, PQ3_SHA256_BYTES);
        return PQ3_ERR_CRYPTO;
    }
    return PQ3_OK;
}
