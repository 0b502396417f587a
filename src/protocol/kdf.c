/* The key schedule (docs/PROTOCOL.md §8). */
#include "protocol/kdf.h"

#include <string.h>

#include "pq3/crypto.h"

pq3_err pq3_kdf_init(pq3_kdf *k)
{
    k->ctx = EVP_MD_CTX_new();
    return k->ctx == NULL ? PQ3_ERR_CRYPTO : PQ3_OK;
}

void pq3_kdf_free(pq3_kdf *k)
{
    /* Freeing the context clears the last (secret) digest state. */
    EVP_MD_CTX_free(k->ctx);
    k->ctx = NULL;
}

pq3_err pq3_kdf_expand_short(pq3_kdf *k, uint8_t *out, size_t out_len,
                             const uint8_t *prk, size_t prk_len,
                             const pq3_iov *info, size_t n_info)
{
    static const uint8_t one = 0x01;
    pq3_iov parts[8];
    uint8_t t[PQ3_SHA384_BYTES];
    pq3_err err;

    if (out_len == 0 || out_len > sizeof t || n_info + 1 > 8)
        return PQ3_ERR_ARG;
    memcpy(parts, info, n_info * sizeof *info);
    parts[n_info].p = &one; /* RFC 5869 §2.3: T(1) = HMAC(PRK, info || 0x01) */
    parts[n_info].len = 1;
    err = pq3_hmac(k->ctx, pq3_md_sha384(), t, prk, prk_len, parts, n_info + 1);
    if (err == PQ3_OK)
        memcpy(out, t, out_len);
    else
        pq3_wipe(out, out_len);
    pq3_wipe(t, sizeof t);
    return err;
}

pq3_err pq3_kdf_root(pq3_kdf *k, uint8_t rk_out[32], uint8_t ck_out[32],
                     const uint8_t rk_prev[32], const uint8_t ss_ecdh[32],
                     const uint8_t *ss_kem, const pq3_iov *dst, size_t n_dst)
{
    static const uint8_t zero32[32];
    static const uint8_t one = 0x01, two = 0x02;
    uint8_t t1[48], t2[48], out[96];
    pq3_iov parts[9];
    pq3_iov in;
    size_t n = 0;
    pq3_err err;

    if (n_dst > 6)
        return PQ3_ERR_ARG;
    /* §8.1: t1 = Extract(salt = RK_prev, ikm = ss_ecdh) */
    in.p = ss_ecdh;
    in.len = 32;
    if ((err = pq3_hmac(k->ctx, pq3_md_sha384(), t1, rk_prev, 32, &in, 1)) != PQ3_OK)
        goto cleanup;
    /* t2 = Extract(salt = ss_kem or Z32, ikm = t1) */
    in.p = t1;
    in.len = sizeof t1;
    if ((err = pq3_hmac(k->ctx, pq3_md_sha384(), t2, ss_kem != NULL ? ss_kem : zero32, 32,
                        &in, 1)) != PQ3_OK)
        goto cleanup;
    /* RK || CK = Expand(t2, L_ROOT || dst, 64): T(1) = HMAC(t2, info || 1),
     * T(2) = HMAC(t2, T(1) || info || 2) (RFC 5869 §2.3). */
    parts[n].p = (const uint8_t *)PQ3_L_ROOT;
    parts[n++].len = sizeof PQ3_L_ROOT - 1;
    memcpy(parts + n, dst, n_dst * sizeof *dst);
    n += n_dst;
    parts[n].p = &one;
    parts[n].len = 1;
    if ((err = pq3_hmac(k->ctx, pq3_md_sha384(), out, t2, sizeof t2, parts, n + 1)) != PQ3_OK)
        goto cleanup;
    memmove(parts + 1, parts, n * sizeof *parts);
    parts[0].p = out;
    parts[0].len = 48;
    parts[n + 1].p = &two;
    parts[n + 1].len = 1;
    if ((err = pq3_hmac(k->ctx, pq3_md_sha384(), out + 48, t2, sizeof t2, parts, n + 2)) != PQ3_OK)
        goto cleanup;
    memcpy(rk_out, out, 32);
    memcpy(ck_out, out + 32, 32);

cleanup:
    if (err != PQ3_OK) {
        pq3_wipe(rk_out, 32);
        pq3_wipe(ck_out, 32);
    }
    pq3_wipe(t1, sizeof t1);
    pq3_wipe(t2, sizeof t2);
    pq3_wipe(out, sizeof out);
    return err;
}

pq3_err pq3_kdf_chain(pq3_kdf *k, uint8_t mk[32], uint8_t ck[32])
{
    pq3_iov l_mk = { PQ3_LABEL(PQ3_L_MK) }, l_ck = { PQ3_LABEL(PQ3_L_CK) };
    uint8_t next[32];
    pq3_err err;
    /* §8.2 */
    if ((err = pq3_kdf_expand_short(k, mk, 32, ck, 32, &l_mk, 1)) != PQ3_OK)
        return err;
    if ((err = pq3_kdf_expand_short(k, next, 32, ck, 32, &l_ck, 1)) != PQ3_OK) {
        pq3_wipe(mk, 32);
        return err;
    }
    memcpy(ck, next, 32);
    pq3_wipe(next, sizeof next);
    return PQ3_OK;
}

pq3_err pq3_kdf_message(pq3_kdf *k, uint8_t x[48], uint8_t mki[16], const uint8_t mk[32])
{
    pq3_iov l_aes = { PQ3_LABEL(PQ3_L_AES) }, l_mki = { PQ3_LABEL(PQ3_L_MKI) };
    pq3_err err;
    /* §8.3 */
    if ((err = pq3_kdf_expand_short(k, x, 48, mk, 32, &l_aes, 1)) != PQ3_OK)
        return err;
    if ((err = pq3_kdf_expand_short(k, mki, 16, mk, 32, &l_mki, 1)) != PQ3_OK) {
        pq3_wipe(x, 48);
        return err;
    }
    return PQ3_OK;
}
