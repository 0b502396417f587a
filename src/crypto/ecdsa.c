/*
 * ECDSA over P-256 with SHA-256 (FIPS 186-5 §6.4; SEC 1 §4.1), signatures as
 * 64-byte r || s, public keys as 33-byte compressed SEC1 points.
 *
 * Signing takes its nonce from RFC 6979 §3.2 (HMAC-SHA256 DRBG seeded with
 * the key and the message hash), written here: OpenSSL 3.0 cannot take a
 * caller's nonce. The protocol's test vectors therefore reproduce, and no
 * random-generator failure can ever reuse or bias a nonce. Signatures are
 * normalised to low s (s <= n/2); verification rejects high s, so each
 * (key, message) has exactly one valid signature encoding.
 *
 * Constant time, for the secrets d, k and k^-1:
 *  - k·G: EC_POINT_mul on P-256 (fixed-window, masked table lookups);
 *  - k^-1 = k^(n-2) mod n with BN_mod_exp_mont_consttime (Fermat), not the
 *    variable-time BN_mod_inverse, as OpenSSL's own ECDSA does on curves
 *    without a dedicated order inversion (its P-256 one is not exported;
 *    blinding k and inverting with BN_mod_inverse measured no faster);
 *  - r·d and (e + r·d)·k^-1 with BN_mod_mul_montgomery on full-width operands
 *    (OpenSSL's word-serial Montgomery multiplication, no data-dependent
 *    branch) and BN_mod_add_quick (masked final subtraction);
 *  - all secret BIGNUMs carry BN_FLG_CONSTTIME and live in a secure BN_CTX,
 *    which wipes them when freed.
 * r, s, e and everything in verification are public and handled with plain
 * (variable-time) BIGNUM code, which is faster.
 */
#include <string.h>

#include <openssl/err.h>

#include "crypto/ecdsa.h"
#include "crypto/md.h"
#include "crypto/p256.h"
#include "pq3/crypto.h"

#define B PQ3_P256_BYTES

/* out = a - b for 256-bit big-endian numbers with a >= b. Used on public
 * values only (hash reduction, low-s). */
static void sub256(uint8_t out[B], const uint8_t a[B], const uint8_t b[B])
{
    uint32_t borrow = 0;
    for (size_t i = B; i-- > 0;) {
        uint32_t d = (uint32_t)a[i] - (uint32_t)b[i] - borrow;
        out[i] = (uint8_t)d;
        borrow = d >> 31;
    }
}

/* RFC 6979 §2.3.4 bits2octets for qlen = hlen = 256: the hash as an integer,
 * reduced once mod n (the hash is below 2^256 < 2n). The same value is e, the
 * integer form of the hash in FIPS 186-5 §6.4.1 step 4-5. */
static pq3_err hash_to_e(uint8_t e[B], const uint8_t *msg, size_t len)
{
    pq3_err err = pq3_sha256(e, msg, len);
    /* The signed message and so its hash are public (every verifier computes
     * it), even when the caller built the message from secret-derived bytes
     * such as a ciphertext. */
    pq3_ct_declassify(e, B);
    if (err == PQ3_OK && !pq3_p256_lt(e, pq3_p256_n))
        sub256(e, e, pq3_p256_n);
    return err;
}

/* ---- RFC 6979 §3.2 HMAC-DRBG (K, V) ------------------------------------- */

typedef struct {
    uint8_t k[32], v[32]; /* secret */
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
} rfc6979;

/* K = HMAC_K(V || sep || x || h) (x and h may be absent); V = HMAC_K(V).
 * Steps d-g of §3.2, and the retry step of h.3. */
static pq3_err rfc6979_update(rfc6979 *g, uint8_t sep, const uint8_t *x, const uint8_t *h)
{
    pq3_iov parts[4] = { { g->v, 32 }, { &sep, 1 }, { x, x ? B : 0 }, { h, h ? B : 0 } };
    pq3_iov vpart = { g->v, 32 };
    pq3_err err = pq3_hmac(g->ctx, g->md, g->k, g->k, 32, parts, 4);
    if (err == PQ3_OK)
        err = pq3_hmac(g->ctx, g->md, g->v, g->k, 32, &vpart, 1);
    return err;
}

/* §3.2 h.2: V = HMAC_K(V); with qlen = hlen, T = V. */
static pq3_err rfc6979_next(rfc6979 *g)
{
    pq3_iov vpart = { g->v, 32 };
    return pq3_hmac(g->ctx, g->md, g->v, g->k, 32, &vpart, 1);
}

/* ---- keys ----------------------------------------------------------------- */

static void compress(uint8_t pub[PQ3_ECDSA_PUB_BYTES], const uint8_t point[PQ3_P256_POINT_BYTES])
{
    /* SEC 1 §2.3.3: 0x02 for even y, 0x03 for odd, then x. */
    pub[0] = (uint8_t)(0x02 | (point[64] & 1));
    memcpy(pub + 1, point + 1, B);
}

pq3_err pq3_ecdsa_keypair(uint8_t priv[PQ3_ECDSA_PRIV_BYTES], uint8_t pub[PQ3_ECDSA_PUB_BYTES],
                          const pq3_rng *rng)
{
    uint8_t point[PQ3_P256_POINT_BYTES];
    pq3_err err;

    if (priv == NULL || pub == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_random_scalar(priv, rng)) == PQ3_OK &&
        (err = pq3_p256_base_mul(point, priv)) == PQ3_OK) {
        compress(pub, point);
        return PQ3_OK;
    }
    pq3_wipe(priv, PQ3_ECDSA_PRIV_BYTES);
    pq3_wipe(pub, PQ3_ECDSA_PUB_BYTES);
    return err;
}

pq3_err pq3_ecdsa_public(uint8_t pub[PQ3_ECDSA_PUB_BYTES], const uint8_t priv[PQ3_ECDSA_PRIV_BYTES])
{
    uint8_t point[PQ3_P256_POINT_BYTES];
    pq3_err err;

    if (pub == NULL || priv == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_base_mul(point, priv)) != PQ3_OK) {
        pq3_wipe(pub, PQ3_ECDSA_PUB_BYTES);
        return err;
    }
    compress(pub, point);
    return PQ3_OK;
}

pq3_err pq3_ecdsa_import(pq3_ecdsa_pub *pub, const uint8_t enc[PQ3_ECDSA_PUB_BYTES])
{
    pq3_err err;

    if (pub == NULL || enc == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_import_compressed(pub->point, enc)) != PQ3_OK)
        pq3_wipe(pub, sizeof *pub);
    return err;
}

pq3_err pq3_ecdsa_import_uncompressed(pq3_ecdsa_pub *pub, const uint8_t point[65])
{
    pq3_err err;

    if (pub == NULL || point == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_import_uncompressed(pub->point, point)) != PQ3_OK)
        pq3_wipe(pub, sizeof *pub);
    return err;
}

/* ---- signing ------------------------------------------------------------- */

/*
 * FIPS 186-5 §6.4.1 steps 6-11 for one candidate nonce k: r = x(k·G) mod n,
 * s = k^-1 (e + r·d) mod n. Returns PQ3_OK with *ok = 0 when r or s is zero
 * (RFC 6979 §3.4: then the next k is tried).
 */
static pq3_err sign_with_k(const pq3_p256 *c, BN_CTX *bn, uint8_t sig[PQ3_ECDSA_SIG_BYTES],
                           const BIGNUM *d, const BIGNUM *e, const uint8_t kbytes[B], int *ok)
{
    EC_POINT *pt = NULL;
    BIGNUM *k, *kinv, *r, *t, *s;
    pq3_err err = PQ3_ERR_CRYPTO;

    *ok = 0;
    BN_CTX_start(bn);
    if ((pt = EC_POINT_new(c->group)) == NULL || (k = pq3_p256_secret_bn(kbytes, bn)) == NULL ||
        (kinv = BN_CTX_get(bn)) == NULL || (r = BN_CTX_get(bn)) == NULL ||
        (t = BN_CTX_get(bn)) == NULL || (s = BN_CTX_get(bn)) == NULL)
        goto cleanup;
    BN_set_flags(kinv, BN_FLG_CONSTTIME);
    BN_set_flags(t, BN_FLG_CONSTTIME);

    /* R = k·G, r = x(R) mod n. x < p < 2n, so one subtraction reduces it;
     * r is published, so the branch is harmless. */
    if (EC_POINT_mul(c->group, pt, k, NULL, NULL, bn) != 1 ||
        EC_POINT_get_affine_coordinates(c->group, pt, r, NULL, bn) != 1)
        goto cleanup;
    if (pq3_p256_public_verdict(BN_cmp(r, c->n) >= 0) && !BN_sub(r, r, c->n))
        goto cleanup;
    if (pq3_p256_public_verdict(BN_is_zero(r))) {
        err = PQ3_OK;
        goto cleanup;
    }

    /* k^-1 = k^(n-2) mod n: constant-time exponentiation (n is prime). */
    if (!BN_mod_exp_mont_consttime(kinv, k, c->n_minus_2, c->n, bn, c->mont_n))
        goto cleanup;
    /* t = r·d mod n: to_montgomery(r) = r·R, then Montgomery-multiplying by d
     * divides the R out again. Then t = e + r·d mod n. */
    if (!BN_to_montgomery(s, r, c->mont_n, bn) ||
        !BN_mod_mul_montgomery(t, s, d, c->mont_n, bn) ||
        !BN_mod_add_quick(t, t, e, c->n))
        goto cleanup;
    /* s = t·k^-1 mod n, the same way. */
    if (!BN_to_montgomery(t, t, c->mont_n, bn) ||
        !BN_mod_mul_montgomery(s, t, kinv, c->mont_n, bn))
        goto cleanup;
    if (pq3_p256_public_verdict(BN_is_zero(s))) {
        err = PQ3_OK;
        goto cleanup;
    }
    if (BN_bn2binpad(r, sig, B) != B || BN_bn2binpad(s, sig + B, B) != B)
        goto cleanup;
    pq3_ct_declassify(sig, PQ3_ECDSA_SIG_BYTES); /* the signature is published */
    /* Low s: (r, s) and (r, n - s) both verify; publish only the one with
     * s <= n/2. s is public here. */
    if (pq3_p256_lt(pq3_p256_half_n, sig + B))
        sub256(sig + B, pq3_p256_n, sig + B);
    *ok = 1;
    err = PQ3_OK;

cleanup:
    BN_CTX_end(bn);
    EC_POINT_clear_free(pt);
    return err;
}

pq3_err pq3_ecdsa_sign(uint8_t sig[PQ3_ECDSA_SIG_BYTES], const uint8_t priv[PQ3_ECDSA_PRIV_BYTES],
                       const uint8_t *msg, size_t len)
{
    const pq3_p256 *c = pq3_p256_get();
    uint8_t h[B]; /* bits2octets(H(m)) = e, public */
    rfc6979 g;
    BN_CTX *bn = NULL;
    BIGNUM *d, *e;
    int ok = 0;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (sig == NULL || priv == NULL || (msg == NULL && len != 0))
        return PQ3_ERR_ARG;
    if (c == NULL)
        return PQ3_ERR_CRYPTO;
    if (!pq3_p256_public_verdict(pq3_p256_scalar_ok(priv))) {
        pq3_wipe(sig, PQ3_ECDSA_SIG_BYTES);
        return PQ3_ERR_KEY;
    }
    memset(&g, 0, sizeof g);
    ERR_set_mark();
    if ((err = hash_to_e(h, msg, len)) != PQ3_OK)
        goto cleanup;
    err = PQ3_ERR_CRYPTO;
    if ((g.md = pq3_md_sha256()) == NULL || (g.ctx = EVP_MD_CTX_new()) == NULL ||
        (bn = BN_CTX_secure_new()) == NULL)
        goto cleanup;
    BN_CTX_start(bn);
    if ((d = pq3_p256_secret_bn(priv, bn)) == NULL || (e = BN_CTX_get(bn)) == NULL ||
        BN_bin2bn(h, B, e) == NULL)
        goto cleanup;

    /* RFC 6979 §3.2 b-g: V = 0x01..., K = 0x00..., two seeding rounds with
     * int2octets(x) = priv (already 32 bytes, x < n) and bits2octets(h1). */
    memset(g.v, 0x01, sizeof g.v);
    memset(g.k, 0x00, sizeof g.k);
    if ((err = rfc6979_update(&g, 0x00, priv, h)) != PQ3_OK ||
        (err = rfc6979_update(&g, 0x01, priv, h)) != PQ3_OK)
        goto cleanup;
    /* §3.2 h: candidates until one is in [1, n-1] and gives r, s != 0. Each
     * retry happens with probability about 2^-32; the bound only guards
     * against a broken hash. */
    for (int tries = 0; tries < 64; tries++) {
        if ((err = rfc6979_next(&g)) != PQ3_OK)
            goto cleanup;
        if (pq3_p256_public_verdict(pq3_p256_scalar_ok(g.v))) {
            if ((err = sign_with_k(c, bn, sig, d, e, g.v, &ok)) != PQ3_OK)
                goto cleanup;
            if (ok)
                break;
        }
        if ((err = rfc6979_update(&g, 0x00, NULL, NULL)) != PQ3_OK)
            goto cleanup;
    }
    err = ok ? PQ3_OK : PQ3_ERR_CRYPTO;

cleanup:
    if (err != PQ3_OK)
        pq3_wipe(sig, PQ3_ECDSA_SIG_BYTES);
    pq3_wipe(&g, sizeof g.k + sizeof g.v);
    EVP_MD_CTX_free(g.ctx);
    if (bn != NULL)
        BN_CTX_end(bn);
    BN_CTX_free(bn); /* secure: wipes d, k, k^-1 and temporaries */
    ERR_pop_to_mark();
    return err;
}

/* ---- normalisation of a signature made elsewhere (crypto/ecdsa.h) -------- */

pq3_err pq3_ecdsa_normalize_s(uint8_t sig[PQ3_ECDSA_SIG_BYTES], int *replaced)
{
    int high;

    if (replaced != NULL)
        *replaced = 0;
    if (!pq3_p256_public_verdict(pq3_p256_scalar_ok(sig) & pq3_p256_scalar_ok(sig + B)))
        return PQ3_ERR_VERIFY;
    /* s in [1, n-1], so n - s is in [1, n-1] too, and below n/2 when s is
     * above it. */
    high = pq3_p256_public_verdict(pq3_p256_lt(pq3_p256_half_n, sig + B) != 0);
    if (high)
        sub256(sig + B, pq3_p256_n, sig + B);
    if (replaced != NULL)
        *replaced = high;
    return PQ3_OK;
}

/* ---- verification ---------------------------------------------------------- */

pq3_err pq3_ecdsa_verify(const pq3_ecdsa_pub *pub, const uint8_t sig[PQ3_ECDSA_SIG_BYTES],
                         const uint8_t *msg, size_t len)
{
    const pq3_p256 *c = pq3_p256_get();
    const uint8_t *rb = sig, *sb = sig + B;
    uint8_t h[B], xb[B];
    BN_CTX *bn = NULL;
    EC_POINT *q = NULL, *pt = NULL;
    BIGNUM *r, *s, *e, *w, *u1, *u2, *x;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (pub == NULL || sig == NULL || (msg == NULL && len != 0))
        return PQ3_ERR_ARG;
    if (c == NULL)
        return PQ3_ERR_CRYPTO;
    /* FIPS 186-5 §6.4.2 step 2: r, s in [1, n-1]; and low s (s <= n/2),
     * the canonical form our signers emit. */
    if (!pq3_p256_scalar_ok(rb) || !pq3_p256_scalar_ok(sb) || pq3_p256_lt(pq3_p256_half_n, sb))
        return PQ3_ERR_VERIFY;
    if ((err = hash_to_e(h, msg, len)) != PQ3_OK)
        return err;

    err = PQ3_ERR_CRYPTO;
    ERR_set_mark();
    if ((bn = BN_CTX_new()) == NULL)
        goto cleanup;
    BN_CTX_start(bn);
    if ((q = EC_POINT_new(c->group)) == NULL || (pt = EC_POINT_new(c->group)) == NULL ||
        (r = BN_CTX_get(bn)) == NULL || (s = BN_CTX_get(bn)) == NULL ||
        (e = BN_CTX_get(bn)) == NULL || (w = BN_CTX_get(bn)) == NULL ||
        (u1 = BN_CTX_get(bn)) == NULL || (u2 = BN_CTX_get(bn)) == NULL ||
        (x = BN_CTX_get(bn)) == NULL)
        goto cleanup;
    if (!pq3_p256_load(c, q, pub->point, bn)) {
        err = PQ3_ERR_ARG; /* not a key pq3_ecdsa_import filled */
        goto cleanup;
    }
    if (BN_bin2bn(rb, B, r) == NULL || BN_bin2bn(sb, B, s) == NULL ||
        BN_bin2bn(h, B, e) == NULL)
        goto cleanup;
    /* Steps 4-6: w = s^-1, u1 = e·w, u2 = r·w (mod n); R = u1·G + u2·Q. All
     * public, so the fast variable-time inverse is fine. */
    if (BN_mod_inverse(w, s, c->n, bn) == NULL || !BN_mod_mul(u1, e, w, c->n, bn) ||
        !BN_mod_mul(u2, r, w, c->n, bn) || EC_POINT_mul(c->group, pt, u1, q, u2, bn) != 1)
        goto cleanup;
    /* Steps 7-8: R at infinity fails; else accept iff x(R) mod n = r. */
    if (EC_POINT_is_at_infinity(c->group, pt)) {
        err = PQ3_ERR_VERIFY;
        goto cleanup;
    }
    if (EC_POINT_get_affine_coordinates(c->group, pt, x, NULL, bn) != 1 ||
        BN_bn2binpad(x, xb, B) != B)
        goto cleanup;
    if (!pq3_p256_lt(xb, pq3_p256_n))
        sub256(xb, xb, pq3_p256_n);
    err = memcmp(xb, rb, B) == 0 ? PQ3_OK : PQ3_ERR_VERIFY;

cleanup:
    if (bn != NULL)
        BN_CTX_end(bn);
    BN_CTX_free(bn);
    EC_POINT_free(q);
    EC_POINT_free(pt);
    ERR_pop_to_mark();
    return err;
}
