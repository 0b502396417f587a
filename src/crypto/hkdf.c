/* HKDF-SHA384 (RFC 5869), Extract and Expand as separate calls: the protocol
 * extracts once per root-key step and expands several labelled keys from the
 * result (docs/PROTOCOL.md). */
#include "crypto/md.h"
#include "pq3/crypto.h"

pq3_err pq3_hkdf_sha384_extract(uint8_t prk[PQ3_HKDF_PRK_BYTES],
                                const uint8_t *salt, size_t salt_len,
                                const uint8_t *ikm, size_t ikm_len)
{
    pq3_iov part = { ikm, ikm_len };

    if (prk == NULL || (salt == NULL && salt_len != 0) || (ikm == NULL && ikm_len != 0))
        return PQ3_ERR_ARG;
    /* RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM), salt defaulting to HashLen
     * zeros. HMAC pads its key with zeros to the block size, so an empty key
     * and 48 zero bytes give the same PRK: no special case is needed. */
    return pq3_hmac(NULL, pq3_md_sha384(), prk, salt, salt_len, &part, 1);
}

pq3_err pq3_hkdf_sha384_expand(uint8_t *out, size_t out_len,
                               const uint8_t prk[PQ3_HKDF_PRK_BYTES],
                               const uint8_t *info, size_t info_len)
{
    uint8_t t[PQ3_SHA384_BYTES]; /* secret: T(i) */
    uint8_t counter = 0;
    size_t done = 0;
    EVP_MD_CTX *ctx = NULL;
    const EVP_MD *md = pq3_md_sha384();
    pq3_err err = PQ3_ERR_CRYPTO;

    if (out == NULL || prk == NULL || (info == NULL && info_len != 0))
        return PQ3_ERR_ARG;
    /* RFC 5869 §2.3: L <= 255 * HashLen. A zero length is a caller error,
     * not an empty key. */
    if (out_len == 0 || out_len > PQ3_HKDF_MAX_OUT)
        return PQ3_ERR_ARG;
    if (md == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
        return PQ3_ERR_CRYPTO;

    /* T(i) = HMAC-Hash(PRK, T(i-1) || info || i), T(0) empty; OKM is the
     * first L bytes of T(1) || T(2) || ... */
    while (done < out_len) {
        pq3_iov parts[3];
        size_t take;

        counter++;
        parts[0].p = t;
        parts[0].len = counter == 1 ? 0 : sizeof t;
        parts[1].p = info;
        parts[1].len = info_len;
        parts[2].p = &counter;
        parts[2].len = 1;
        if ((err = pq3_hmac(ctx, md, t, prk, PQ3_HKDF_PRK_BYTES, parts, 3)) != PQ3_OK)
            goto cleanup;
        take = out_len - done < sizeof t ? out_len - done : sizeof t;
        for (size_t i = 0; i < take; i++)
            out[done + i] = t[i];
        done += take;
    }
    err = PQ3_OK;

cleanup:
    if (err != PQ3_OK)
        pq3_wipe(out, out_len);
    pq3_wipe(t, sizeof t);
    EVP_MD_CTX_free(ctx);
    return err;
}
