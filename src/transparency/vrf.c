/*
 * ECVRF-P256-SHA256-TAI (RFC 9381 §5 with the suite of §5.5), over the
 * non-deprecated EC_POINT / BIGNUM API and the shared curve of
 * src/crypto/p256.c.
 *
 * Suite parameters (§5.5): suite_string 0x01; points encoded compressed
 * (SEC 1 §2.3.3, ptLen 33); cLen 16, qLen 32; cofactor 1, so every
 * "cofactor * P" of the RFC is P itself; encode_to_curve_salt = PK_string;
 * interpret_hash_value_as_a_point(s) = string_to_point(0x02 || s); nonces by
 * RFC 6979 (§5.4.2.1).
 *
 * Constant time, for the secrets x (the secret key) and k (the nonce):
 *  - x·B and k·B: EC_POINT_mul with the generator only (OpenSSL's P-256
 *    fixed-base table walk with masked lookups);
 *  - x·H and k·H: EC_POINT_mul with one point and no generator term, which
 *    OpenSSL computes with its constant-time windowed multiplication on P-256
 *    (or its Montgomery ladder on generic curves); never combined with a
 *    second term, whose code path is variable-time;
 *  - s = k + c·x mod q: BN_mod_mul_montgomery and BN_mod_add_quick on
 *    full-width operands, as in src/crypto/ecdsa.c;
 *  - x and k are BIGNUMs flagged BN_FLG_CONSTTIME in a secure BN_CTX (wiped
 *    when freed); their byte forms and the RFC 6979 state are wiped here.
 * Y, H, Gamma, U, V, c and s are public (U and V because any verifier
 * recomputes them from the proof), and are declassified as they are made.
 * Verification handles public data only and uses the faster variable-time
 * paths.
 */
#include <string.h>

#include <openssl/err.h>

#include "crypto/ct.h"
#include "crypto/md.h"
#include "crypto/p256.h"
#include "pq3/vrf.h"
#include "transparency/vrf.h"

#define SUITE 0x01
#define PT_LEN 33
#define C_LEN 16
#define Q_LEN 32

/* Domain separators of RFC 9381 (§5.4.1.1, §5.4.3, §5.2). */
#define DST_ENCODE 0x01
#define DST_CHALLENGE 0x02
#define DST_HASH 0x03
#define DST_BACK 0x00

/* ---- helpers ---------------------------------------------------------------- */

/* SEC 1 §2.3.3 compressed form of an uncompressed point 0x04 || X || Y. */
static void compress(uint8_t out[PT_LEN], const uint8_t point[PQ3_P256_POINT_BYTES])
{
    out[0] = (uint8_t)(0x02 | (point[64] & 1));
    memcpy(out + 1, point + 1, 32);
}

/* out = SHA-256(parts[0] || ... || parts[n-1]) through a reused context. */
static pq3_err sha256_parts(EVP_MD_CTX *ctx, uint8_t out[PQ3_SHA256_BYTES], const pq3_iov *parts,
                            size_t n)
{
    const EVP_MD *md = pq3_md_sha256();
    if (md == NULL || EVP_DigestInit_ex2(ctx, md, NULL) != 1)
        return PQ3_ERR_CRYPTO;
    for (size_t i = 0; i < n; i++)
        if (parts[i].len != 0 && EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) != 1)
            return PQ3_ERR_CRYPTO;
    if (EVP_DigestFinal_ex(ctx, out, NULL) != 1) {
        pq3_wipe(out, PQ3_SHA256_BYTES);
        return PQ3_ERR_CRYPTO;
    }
    return PQ3_OK;
}

/* A compressed encoding of pt; infinity (which has no 33-byte encoding) is
 * reported as 0. */
static int encode_point(const pq3_p256 *c, uint8_t out[PT_LEN], const EC_POINT *pt, BN_CTX *bn)
{
    return EC_POINT_point2oct(c->group, pt, POINT_CONVERSION_COMPRESSED, out, PT_LEN, bn) ==
           PT_LEN;
}

/*
 * RFC 9381 §5.4.1.1, ECVRF_encode_to_curve_try_and_increment with
 * encode_to_curve_salt = pk (the 33-byte PK_string): for ctr = 0, 1, ...,
 * the candidate x = SHA-256(0x01 || 0x01 || pk || alpha || ctr || 0x00) is
 * decoded as the compressed point 0x02 || x; the first that decodes is H.
 * string_to_point fails when x >= p or x^3 - 3x + b is not a square (SEC 1
 * §2.3.4); half the candidates succeed. ctr is one byte (int_to_string(ctr,
 * 1)), so after 256 failures there is no H: PQ3_ERR_LIMIT. The number of
 * attempts depends on alpha and pk only, both public here.
 */
static pq3_err encode_to_curve(EVP_MD_CTX *ctx, uint8_t h_point[PQ3_P256_POINT_BYTES],
                               unsigned *ctr_out, const uint8_t pk[PT_LEN], const uint8_t *alpha,
                               size_t alpha_len)
{
    static const uint8_t front[2] = { SUITE, DST_ENCODE }, back[1] = { DST_BACK };
    uint8_t ctr_byte, cand[PT_LEN];
    pq3_iov parts[5] = { { front, 2 }, { pk, PT_LEN }, { alpha, alpha_len }, { &ctr_byte, 1 },
                         { back, 1 } };

    for (unsigned ctr = 0; ctr < 256; ctr++) {
        pq3_err err;
        ctr_byte = (uint8_t)ctr;
        cand[0] = 0x02;
        if ((err = sha256_parts(ctx, cand + 1, parts, 5)) != PQ3_OK)
            return err;
        err = pq3_p256_import_compressed(h_point, cand);
        if (err == PQ3_OK) {
            /* No 33-byte string decodes to the identity, so the RFC's
             * "or H is the identity" never applies. */
            *ctr_out = ctr;
            return PQ3_OK;
        }
        if (err != PQ3_ERR_KEY)
            return err;
    }
    return PQ3_ERR_LIMIT;
}

/* ---- RFC 6979 nonce (§5.4.2.1) ---------------------------------------------- */

typedef struct {
    uint8_t k[32], v[32]; /* secret: the HMAC-DRBG state */
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
} drbg;

/* K = HMAC_K(V || sep || x || h1) (x and h1 absent on retries); V = HMAC_K(V).
 * RFC 6979 §3.2 steps d-g and h.3. */
static pq3_err drbg_update(drbg *g, uint8_t sep, const uint8_t *x, const uint8_t *h1)
{
    pq3_iov parts[4] = { { g->v, 32 }, { &sep, 1 }, { x, x ? 32 : 0 }, { h1, h1 ? 32 : 0 } };
    pq3_iov vpart = { g->v, 32 };
    pq3_err err = pq3_hmac(g->ctx, g->md, g->k, g->k, 32, parts, 4);
    if (err == PQ3_OK)
        err = pq3_hmac(g->ctx, g->md, g->v, g->k, 32, &vpart, 1);
    return err;
}

/*
 * RFC 9381 §5.4.2.1: k is RFC 6979 §3.2 for the secret scalar x with m =
 * h_string, SHA-256 as both the message hash and the HMAC hash. With qlen =
 * hlen = 256: h1 = SHA-256(h_string); bits2octets(h1) = h1 mod q (one
 * subtraction, h1 < 2^256 < 2q); int2octets(x) = sk; each candidate T is V
 * itself, accepted when 1 <= T <= q-1 (step h.3). h1 derives from the public
 * H, so only x and the DRBG state are secret; branching on a candidate's
 * verdict reveals only rejected values.
 */
static pq3_err nonce(EVP_MD_CTX *ctx, uint8_t k[32], const uint8_t sk[32],
                     const uint8_t h_string[PT_LEN])
{
    uint8_t h1[32];
    drbg g;
    pq3_err err;

    if ((err = pq3_sha256(h1, h_string, PT_LEN)) != PQ3_OK)
        return err;
    if (!pq3_p256_lt(h1, pq3_p256_n)) {
        uint32_t borrow = 0;
        for (size_t i = 32; i-- > 0;) {
            uint32_t d = (uint32_t)h1[i] - (uint32_t)pq3_p256_n[i] - borrow;
            h1[i] = (uint8_t)d;
            borrow = d >> 31;
        }
    }
    g.ctx = ctx;
    g.md = pq3_md_sha256();
    memset(g.v, 0x01, sizeof g.v); /* step b */
    memset(g.k, 0x00, sizeof g.k); /* step c */
    if ((err = drbg_update(&g, 0x00, sk, h1)) != PQ3_OK || /* steps d, e */
        (err = drbg_update(&g, 0x01, sk, h1)) != PQ3_OK)   /* steps f, g */
        goto cleanup;
    /* Step h. A candidate is rejected with probability about 2^-32; the
     * bound only guards against a broken HMAC. */
    err = PQ3_ERR_CRYPTO;
    for (int tries = 0; tries < 64; tries++) {
        pq3_iov vpart = { g.v, 32 };
        pq3_err e2 = pq3_hmac(g.ctx, g.md, g.v, g.k, 32, &vpart, 1);
        if (e2 != PQ3_OK) {
            err = e2;
            goto cleanup;
        }
        if (pq3_p256_public_verdict(pq3_p256_scalar_ok(g.v))) {
            memcpy(k, g.v, 32);
            err = PQ3_OK;
            goto cleanup;
        }
        if ((err = drbg_update(&g, 0x00, NULL, NULL)) != PQ3_OK)
            goto cleanup;
        err = PQ3_ERR_CRYPTO;
    }

cleanup:
    pq3_wipe(g.k, sizeof g.k);
    pq3_wipe(g.v, sizeof g.v);
    return err;
}

/* RFC 9381 §5.4.3: c = SHA-256(0x01 || 0x02 || Y || H || Gamma || U || V ||
 * 0x00) truncated to its first cLen = 16 bytes (the final RFC hashes the
 * public key Y too; draft 06 and earlier did not). */
static pq3_err challenge(EVP_MD_CTX *ctx, uint8_t c[C_LEN], const uint8_t y[PT_LEN],
                         const uint8_t h[PT_LEN], const uint8_t gamma[PT_LEN],
                         const uint8_t u[PT_LEN], const uint8_t v[PT_LEN])
{
    static const uint8_t front[2] = { SUITE, DST_CHALLENGE }, back[1] = { DST_BACK };
    const pq3_iov parts[7] = { { front, 2 },     { y, PT_LEN }, { h, PT_LEN }, { gamma, PT_LEN },
                               { u, PT_LEN },    { v, PT_LEN }, { back, 1 } };
    uint8_t full[PQ3_SHA256_BYTES];
    pq3_err err = sha256_parts(ctx, full, parts, 7);
    if (err == PQ3_OK)
        memcpy(c, full, C_LEN);
    return err;
}

/* RFC 9381 §5.2 step 6 (cofactor 1): beta = SHA-256(0x01 || 0x03 ||
 * Gamma || 0x00). */
static pq3_err gamma_to_hash(uint8_t beta[PQ3_VRF_HASH_BYTES], const uint8_t gamma[PT_LEN])
{
    uint8_t buf[2 + PT_LEN + 1];
    buf[0] = SUITE;
    buf[1] = DST_HASH;
    memcpy(buf + 2, gamma, PT_LEN);
    buf[2 + PT_LEN] = DST_BACK;
    return pq3_sha256(beta, buf, sizeof buf);
}

/* RFC 9381 §5.4.4 ECVRF_decode_proof: Gamma must be a canonical compressed
 * curve point (x < p, prefix 0x02/0x03, on the curve; the identity has no
 * 33-byte encoding) and s < q. c is any 16-byte string. */
static pq3_err decode_proof(uint8_t gamma_point[PQ3_P256_POINT_BYTES],
                            const uint8_t pi[PQ3_VRF_PROOF_BYTES])
{
    pq3_err err = pq3_p256_import_compressed(gamma_point, pi);
    if (err == PQ3_ERR_KEY)
        return PQ3_ERR_DECODE;
    if (err != PQ3_OK)
        return err;
    if (!pq3_p256_lt(pi + PT_LEN + C_LEN, pq3_p256_n))
        return PQ3_ERR_DECODE;
    return PQ3_OK;
}

/* ---- keys ------------------------------------------------------------------- */

pq3_err pq3_vrf_public(uint8_t pk[PQ3_VRF_PK_BYTES], const uint8_t sk[PQ3_VRF_SK_BYTES])
{
    uint8_t point[PQ3_P256_POINT_BYTES];
    pq3_err err;

    if (pk == NULL || sk == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_base_mul(point, sk)) != PQ3_OK) {
        pq3_wipe(pk, PQ3_VRF_PK_BYTES);
        return err;
    }
    compress(pk, point);
    pq3_ct_declassify(pk, PQ3_VRF_PK_BYTES); /* the public key */
    return PQ3_OK;
}

pq3_err pq3_vrf_keypair(uint8_t sk[PQ3_VRF_SK_BYTES], uint8_t pk[PQ3_VRF_PK_BYTES],
                        const pq3_rng *rng)
{
    pq3_err err;

    if (sk == NULL || pk == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_random_scalar(sk, rng)) == PQ3_OK &&
        (err = pq3_vrf_public(pk, sk)) == PQ3_OK)
        return PQ3_OK;
    pq3_wipe(sk, PQ3_VRF_SK_BYTES);
    pq3_wipe(pk, PQ3_VRF_PK_BYTES);
    return err;
}

/* ---- prove (§5.1) ------------------------------------------------------------ */

pq3_err pq3_vrf_prove_traced(uint8_t pi[PQ3_VRF_PROOF_BYTES], const uint8_t sk[PQ3_VRF_SK_BYTES],
                             const uint8_t *alpha, size_t alpha_len, pq3_vrf_trace *trace)
{
    const pq3_p256 *c = pq3_p256_get();
    uint8_t y[PT_LEN], h_point[PQ3_P256_POINT_BYTES], h[PT_LEN], gamma[PT_LEN];
    uint8_t u[PT_LEN], v[PT_LEN], cbytes[C_LEN], k[32], s[Q_LEN];
    unsigned ctr = 0;
    EVP_MD_CTX *md = NULL;
    BN_CTX *bn = NULL;
    EC_POINT *hp = NULL, *r = NULL;
    BIGNUM *x, *kb, *cb, *t, *sb;
    pq3_err err;

    if (pi == NULL || sk == NULL || (alpha == NULL && alpha_len != 0))
        return PQ3_ERR_ARG;
    if (c == NULL)
        return PQ3_ERR_CRYPTO;
    memset(k, 0, sizeof k);
    ERR_set_mark();

    /* Step 1: x = sk, Y = x·B (range of sk checked there: PQ3_ERR_KEY). */
    if ((err = pq3_vrf_public(y, sk)) != PQ3_OK)
        goto cleanup;
    err = PQ3_ERR_CRYPTO;
    if ((md = EVP_MD_CTX_new()) == NULL || (bn = BN_CTX_secure_new()) == NULL)
        goto cleanup;
    BN_CTX_start(bn);
    if ((x = pq3_p256_secret_bn(sk, bn)) == NULL || (hp = EC_POINT_new(c->group)) == NULL ||
        (r = EC_POINT_new(c->group)) == NULL)
        goto cleanup;

    /* Steps 2-3: H = encode_to_curve(Y, alpha), h_string. */
    if ((err = encode_to_curve(md, h_point, &ctr, y, alpha, alpha_len)) != PQ3_OK)
        goto cleanup;
    err = PQ3_ERR_CRYPTO;
    compress(h, h_point);
    if (!pq3_p256_load(c, hp, h_point, bn))
        goto cleanup;

    /* Step 4: Gamma = x·H, published in pi. */
    if (EC_POINT_mul(c->group, r, NULL, hp, x, bn) != 1 || !encode_point(c, gamma, r, bn))
        goto cleanup;
    pq3_ct_declassify(gamma, PT_LEN);

    /* Step 5: k. */
    if ((err = nonce(md, k, sk, h)) != PQ3_OK)
        goto cleanup;
    err = PQ3_ERR_CRYPTO;
    if ((kb = pq3_p256_secret_bn(k, bn)) == NULL)
        goto cleanup;

    /* Step 6: c = challenge(Y, H, Gamma, k·B, k·H). U and V are public: a
     * verifier recomputes them as s·B - c·Y and s·H - c·Gamma. k is in
     * [1, q-1] and B, H have prime order q, so neither is the identity. */
    if (EC_POINT_mul(c->group, r, kb, NULL, NULL, bn) != 1 || !encode_point(c, u, r, bn))
        goto cleanup;
    pq3_ct_declassify(u, PT_LEN);
    if (EC_POINT_mul(c->group, r, NULL, hp, kb, bn) != 1 || !encode_point(c, v, r, bn))
        goto cleanup;
    pq3_ct_declassify(v, PT_LEN);
    if ((err = challenge(md, cbytes, y, h, gamma, u, v)) != PQ3_OK)
        goto cleanup;
    err = PQ3_ERR_CRYPTO;

    /* Step 7: s = k + c·x mod q. to_montgomery(c) = c·R, and a Montgomery
     * multiplication by x divides R out again: t = c·x mod q < q. Then the
     * masked modular addition of k < q. */
    if ((cb = BN_CTX_get(bn)) == NULL || (t = BN_CTX_get(bn)) == NULL ||
        (sb = BN_CTX_get(bn)) == NULL)
        goto cleanup;
    BN_set_flags(t, BN_FLG_CONSTTIME);
    BN_set_flags(sb, BN_FLG_CONSTTIME);
    if (BN_bin2bn(cbytes, C_LEN, cb) == NULL || !BN_to_montgomery(sb, cb, c->mont_n, bn) ||
        !BN_mod_mul_montgomery(t, sb, x, c->mont_n, bn) || !BN_mod_add_quick(sb, t, kb, c->n) ||
        BN_bn2binpad(sb, s, Q_LEN) != Q_LEN)
        goto cleanup;
    pq3_ct_declassify(s, Q_LEN); /* published in pi */

    /* Step 8: pi = Gamma || c || s. */
    memcpy(pi, gamma, PT_LEN);
    memcpy(pi + PT_LEN, cbytes, C_LEN);
    memcpy(pi + PT_LEN + C_LEN, s, Q_LEN);
    if (trace != NULL) {
        memcpy(trace->h, h, PT_LEN);
        trace->ctr = ctr;
        memcpy(trace->k, k, sizeof k);
        memcpy(trace->u, u, PT_LEN);
        memcpy(trace->v, v, PT_LEN);
    }
    err = PQ3_OK;

cleanup:
    if (err != PQ3_OK) {
        pq3_wipe(pi, PQ3_VRF_PROOF_BYTES);
        if (trace != NULL)
            pq3_wipe(trace, sizeof *trace);
    }
    pq3_wipe(k, sizeof k);
    EVP_MD_CTX_free(md); /* wipes the digest state (HMAC over sk and the DRBG) */
    if (bn != NULL)
        BN_CTX_end(bn);
    BN_CTX_free(bn); /* secure: wipes x, k, t, s */
    EC_POINT_clear_free(r);
    EC_POINT_free(hp);
    ERR_pop_to_mark();
    return err;
}

pq3_err pq3_vrf_prove(uint8_t pi[PQ3_VRF_PROOF_BYTES], const uint8_t sk[PQ3_VRF_SK_BYTES],
                      const uint8_t *alpha, size_t alpha_len)
{
    return pq3_vrf_prove_traced(pi, sk, alpha, alpha_len, NULL);
}

/* ---- verify (§5.3) ------------------------------------------------------------- */

pq3_err pq3_vrf_verify_traced(uint8_t beta[PQ3_VRF_HASH_BYTES], const uint8_t pk[PQ3_VRF_PK_BYTES],
                              const uint8_t *alpha, size_t alpha_len,
                              const uint8_t pi[PQ3_VRF_PROOF_BYTES], pq3_vrf_trace *trace)
{
    const pq3_p256 *c = pq3_p256_get();
    uint8_t y_point[PQ3_P256_POINT_BYTES], gamma_point[PQ3_P256_POINT_BYTES];
    uint8_t h_point[PQ3_P256_POINT_BYTES], h[PT_LEN], u[PT_LEN], v[PT_LEN], cprime[C_LEN];
    unsigned ctr = 0;
    EVP_MD_CTX *md = NULL;
    BN_CTX *bn = NULL;
    EC_POINT *yp = NULL, *gp = NULL, *hp = NULL, *up = NULL, *vp = NULL, *tp = NULL;
    BIGNUM *s, *negc;
    pq3_err err;

    if (beta == NULL || pk == NULL || pi == NULL || (alpha == NULL && alpha_len != 0))
        return PQ3_ERR_ARG;
    if (c == NULL)
        return PQ3_ERR_CRYPTO;
    ERR_set_mark();

    /* Steps 1-3: Y = string_to_point(PK_string), validated (§5.4.5: on the
     * curve; not the identity, which has no 33-byte encoding). */
    if ((err = pq3_p256_import_compressed(y_point, pk)) != PQ3_OK)
        goto cleanup;
    /* Steps 4-6: (Gamma, c, s) = decode_proof(pi). */
    if ((err = decode_proof(gamma_point, pi)) != PQ3_OK)
        goto cleanup;
    err = PQ3_ERR_CRYPTO;
    if ((md = EVP_MD_CTX_new()) == NULL || (bn = BN_CTX_new()) == NULL)
        goto cleanup;
    BN_CTX_start(bn);
    /* Step 7: H. pk passed the strict decoder, so these bytes are the
     * canonical PK_string. */
    if ((err = encode_to_curve(md, h_point, &ctr, pk, alpha, alpha_len)) != PQ3_OK)
        goto cleanup;
    err = PQ3_ERR_CRYPTO;
    compress(h, h_point);
    if ((yp = EC_POINT_new(c->group)) == NULL || (gp = EC_POINT_new(c->group)) == NULL ||
        (hp = EC_POINT_new(c->group)) == NULL || (up = EC_POINT_new(c->group)) == NULL ||
        (vp = EC_POINT_new(c->group)) == NULL || (tp = EC_POINT_new(c->group)) == NULL ||
        (s = BN_CTX_get(bn)) == NULL || (negc = BN_CTX_get(bn)) == NULL ||
        !pq3_p256_load(c, yp, y_point, bn) || !pq3_p256_load(c, gp, gamma_point, bn) ||
        !pq3_p256_load(c, hp, h_point, bn))
        goto cleanup;
    /* -c mod q: c < 2^128 < q, so q - c, except 0 for c = 0. */
    if (BN_bin2bn(pi + PT_LEN + C_LEN, Q_LEN, s) == NULL ||
        BN_bin2bn(pi + PT_LEN, C_LEN, negc) == NULL || !BN_sub(negc, c->n, negc) ||
        !BN_nnmod(negc, negc, c->n, bn))
        goto cleanup;
    /* Step 8: U = s·B - c·Y, one double multiplication. Step 9: V = s·H -
     * c·Gamma, two multiplications and an addition (EC_POINTs_mul, which
     * would do it at once, is deprecated). */
    if (EC_POINT_mul(c->group, up, s, yp, negc, bn) != 1 ||
        EC_POINT_mul(c->group, vp, NULL, hp, s, bn) != 1 ||
        EC_POINT_mul(c->group, tp, NULL, gp, negc, bn) != 1 ||
        EC_POINT_add(c->group, vp, vp, tp, bn) != 1)
        goto cleanup;
    /* An honest U = k·B and V = k·H (k in [1, q-1]) is never the identity,
     * which has no 33-byte point_to_string; a proof that yields one is
     * rejected rather than hashed in some other encoding. */
    if (EC_POINT_is_at_infinity(c->group, up) || EC_POINT_is_at_infinity(c->group, vp)) {
        err = PQ3_ERR_VERIFY;
        goto cleanup;
    }
    if (!encode_point(c, u, up, bn) || !encode_point(c, v, vp, bn))
        goto cleanup;
    /* Steps 10-11: c' = challenge(Y, H, Gamma, U, V); valid iff c' = c.
     * Gamma's bytes in pi are its canonical encoding (strict decoder). */
    if ((err = challenge(md, cprime, pk, h, pi, u, v)) != PQ3_OK)
        goto cleanup;
    if (!pq3_ct_equal(cprime, pi + PT_LEN, C_LEN)) {
        err = PQ3_ERR_VERIFY;
        goto cleanup;
    }
    if ((err = gamma_to_hash(beta, pi)) != PQ3_OK)
        goto cleanup;
    if (trace != NULL) {
        memcpy(trace->h, h, PT_LEN);
        trace->ctr = ctr;
        memset(trace->k, 0, sizeof trace->k);
        memcpy(trace->u, u, PT_LEN);
        memcpy(trace->v, v, PT_LEN);
    }
    err = PQ3_OK;

cleanup:
    if (err != PQ3_OK) {
        pq3_wipe(beta, PQ3_VRF_HASH_BYTES);
        if (trace != NULL)
            pq3_wipe(trace, sizeof *trace);
    }
    EVP_MD_CTX_free(md);
    if (bn != NULL)
        BN_CTX_end(bn);
    BN_CTX_free(bn);
    EC_POINT_free(yp);
    EC_POINT_free(gp);
    EC_POINT_free(hp);
    EC_POINT_free(up);
    EC_POINT_free(vp);
    EC_POINT_free(tp);
    ERR_pop_to_mark();
    return err;
}

pq3_err pq3_vrf_verify(uint8_t beta[PQ3_VRF_HASH_BYTES], const uint8_t pk[PQ3_VRF_PK_BYTES],
                       const uint8_t *alpha, size_t alpha_len,
                       const uint8_t pi[PQ3_VRF_PROOF_BYTES])
{
    return pq3_vrf_verify_traced(beta, pk, alpha, alpha_len, pi, NULL);
}

/* ---- proof_to_hash (§5.2) --------------------------------------------------- */

pq3_err pq3_vrf_proof_to_hash(uint8_t beta[PQ3_VRF_HASH_BYTES],
                              const uint8_t pi[PQ3_VRF_PROOF_BYTES])
{
    uint8_t gamma_point[PQ3_P256_POINT_BYTES];
    pq3_err err;

    if (beta == NULL || pi == NULL)
        return PQ3_ERR_ARG;
    ERR_set_mark();
    if ((err = decode_proof(gamma_point, pi)) == PQ3_OK)
        err = gamma_to_hash(beta, pi);
    ERR_pop_to_mark();
    if (err != PQ3_OK)
        pq3_wipe(beta, PQ3_VRF_HASH_BYTES);
    return err;
}
