/* P-256 (SEC 2 §2.4.2, FIPS 186-5 curve P-256) helpers; see p256.h. */
#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include "crypto/ct.h"
#include "crypto/p256.h"

const uint8_t pq3_p256_p[PQ3_P256_BYTES] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
const uint8_t pq3_p256_n[PQ3_P256_BYTES] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};
const uint8_t pq3_p256_half_n[PQ3_P256_BYTES] = {
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
};

static pthread_once_t curve_once = PTHREAD_ONCE_INIT;
static pq3_p256 curve;
static int curve_ok;

static void curve_init(void)
{
    BN_CTX *bn = BN_CTX_new();
    uint8_t order[PQ3_P256_BYTES];

    curve.group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    curve.n = BN_new();
    curve.n_minus_2 = BN_new();
    curve.mont_n = BN_MONT_CTX_new();
    curve.p = BN_new();
    curve.b = BN_new();
    curve.sqrt_exp = BN_new();
    curve.mont_p = BN_MONT_CTX_new();
    if (bn == NULL || curve.group == NULL || curve.n == NULL || curve.n_minus_2 == NULL ||
        curve.mont_n == NULL || curve.p == NULL || curve.b == NULL || curve.sqrt_exp == NULL ||
        curve.mont_p == NULL)
        goto out;
    /* p and b from OpenSSL's curve, cross-checked against our p. */
    if (EC_GROUP_get_curve(curve.group, curve.p, NULL, curve.b, bn) != 1 ||
        BN_bn2binpad(curve.p, order, sizeof order) != (int)sizeof order ||
        memcmp(order, pq3_p256_p, sizeof order) != 0 ||
        BN_copy(curve.sqrt_exp, curve.p) == NULL || !BN_add_word(curve.sqrt_exp, 1) ||
        !BN_rshift(curve.sqrt_exp, curve.sqrt_exp, 2) ||
        !BN_MONT_CTX_set(curve.mont_p, curve.p, bn))
        goto out;
    /* Cross-check the constants above against OpenSSL's curve. */
    if (BN_copy(curve.n, EC_GROUP_get0_order(curve.group)) == NULL ||
        BN_bn2binpad(curve.n, order, sizeof order) != (int)sizeof order ||
        memcmp(order, pq3_p256_n, sizeof order) != 0)
        goto out;
    if (BN_copy(curve.n_minus_2, curve.n) == NULL || !BN_sub_word(curve.n_minus_2, 2) ||
        !BN_MONT_CTX_set(curve.mont_n, curve.n, bn))
        goto out;
    curve_ok = 1;
out:
    BN_CTX_free(bn);
    /* Whatever failed here is reported as PQ3_ERR_CRYPTO by every caller. */
    ERR_clear_error();
}

const pq3_p256 *pq3_p256_get(void)
{
    if (pthread_once(&curve_once, curve_init) != 0 || !curve_ok)
        return NULL;
    return &curve;
}

uint8_t pq3_p256_lt(const uint8_t a[PQ3_P256_BYTES], const uint8_t b[PQ3_P256_BYTES])
{
    /* a - b from the least significant byte up; the final borrow is 1 exactly
     * when a < b. Each step's difference lies in [-256, 255], so bit 31 of
     * its 32-bit wrap is the borrow. No branch on the bytes. */
    uint32_t borrow = 0;
    for (size_t i = PQ3_P256_BYTES; i-- > 0;)
        borrow = ((uint32_t)a[i] - (uint32_t)b[i] - borrow) >> 31;
    return (uint8_t)pq3_ct_barrier32(0u - borrow);
}

uint8_t pq3_p256_scalar_ok(const uint8_t s[PQ3_P256_BYTES])
{
    uint32_t acc = 0;
    for (size_t i = 0; i < PQ3_P256_BYTES; i++)
        acc |= s[i];
    return (uint8_t)(pq3_ct_nonzero_mask32(acc) & pq3_p256_lt(s, pq3_p256_n));
}

pq3_err pq3_p256_random_scalar(uint8_t s[PQ3_P256_BYTES], const pq3_rng *rng)
{
    /* FIPS 186-5 A.4.2 (rejection sampling): draw 256 bits until the value is
     * in [1, n-1]. A draw fails with probability about 2^-32, so 32 failures
     * in a row mean a broken generator, reported as such. Branching on the
     * verdict reveals only rejected values. */
    for (int tries = 0; tries < 32; tries++) {
        pq3_err err = pq3_random(rng, s, PQ3_P256_BYTES);
        if (err != PQ3_OK)
            return err; /* pq3_random wiped s */
        if (pq3_p256_public_verdict(pq3_p256_scalar_ok(s)))
            return PQ3_OK;
    }
    pq3_wipe(s, PQ3_P256_BYTES);
    return PQ3_ERR_RNG;
}

BIGNUM *pq3_p256_secret_bn(const uint8_t s[PQ3_P256_BYTES], BN_CTX *bn)
{
    BIGNUM *x = BN_CTX_get(bn);
    if (x == NULL)
        return NULL;
    BN_set_flags(x, BN_FLG_CONSTTIME);
    if (BN_bin2bn(s, PQ3_P256_BYTES, x) == NULL)
        return NULL;
    return x;
}

int pq3_p256_load(const pq3_p256 *c, EC_POINT *pt, const uint8_t point[PQ3_P256_POINT_BYTES],
                  BN_CTX *bn)
{
    return point[0] == POINT_CONVERSION_UNCOMPRESSED &&
           EC_POINT_oct2point(c->group, pt, point, PQ3_P256_POINT_BYTES, bn) == 1;
}

pq3_err pq3_p256_base_mul(uint8_t point[PQ3_P256_POINT_BYTES], const uint8_t d[PQ3_P256_BYTES])
{
    const pq3_p256 *c = pq3_p256_get();
    BN_CTX *bn = NULL;
    EC_POINT *p = NULL;
    BIGNUM *k;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (c == NULL)
        return PQ3_ERR_CRYPTO;
    if (!pq3_p256_public_verdict(pq3_p256_scalar_ok(d)))
        return PQ3_ERR_KEY;
    ERR_set_mark();
    if ((bn = BN_CTX_secure_new()) == NULL)
        goto cleanup;
    BN_CTX_start(bn);
    if ((p = EC_POINT_new(c->group)) == NULL)
        goto cleanup;
    /* EC_POINT_mul by the generator on P-256 runs in constant time in the
     * scalar (a fixed-window table walk with masked lookups in OpenSSL's P-256
     * code, or its Montgomery ladder on other builds). */
    if ((k = pq3_p256_secret_bn(d, bn)) == NULL ||
        EC_POINT_mul(c->group, p, k, NULL, NULL, bn) != 1 ||
        EC_POINT_point2oct(c->group, p, POINT_CONVERSION_UNCOMPRESSED, point,
                           PQ3_P256_POINT_BYTES, bn) != PQ3_P256_POINT_BYTES)
        goto cleanup;
    err = PQ3_OK;

cleanup:
    if (err != PQ3_OK)
        pq3_wipe(point, PQ3_P256_POINT_BYTES);
    if (bn != NULL)
        BN_CTX_end(bn);
    BN_CTX_free(bn); /* secure: wipes k */
    EC_POINT_clear_free(p);
    ERR_pop_to_mark();
    return err;
}

/* Decodes `len` bytes of SEC1 encoding (SEC 1 §2.3.4), already checked for
 * its leading byte and coordinate range by the caller; OpenSSL checks that
 * the point is on the curve. */
static pq3_err import_octets(uint8_t point[PQ3_P256_POINT_BYTES], const uint8_t *enc, size_t len)
{
    const pq3_p256 *c = pq3_p256_get();
    uint8_t tmp[PQ3_P256_POINT_BYTES];
    BN_CTX *bn = NULL;
    EC_POINT *p = NULL;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (c == NULL)
        return PQ3_ERR_CRYPTO;
    ERR_set_mark(); /* a rejected key must not leave errors in the queue */
    if ((bn = BN_CTX_new()) == NULL || (p = EC_POINT_new(c->group)) == NULL)
        goto cleanup;
    /* OpenSSL's decoder solves for y (compressed) or checks y^2 = x^3 - 3x +
     * b (uncompressed); no finite point's encoding can decode to infinity. */
    if (EC_POINT_oct2point(c->group, p, enc, len, bn) != 1 ||
        EC_POINT_is_at_infinity(c->group, p)) {
        err = PQ3_ERR_KEY;
        goto cleanup;
    }
    if (EC_POINT_point2oct(c->group, p, POINT_CONVERSION_UNCOMPRESSED, tmp, sizeof tmp, bn) !=
        sizeof tmp)
        goto cleanup;
    memcpy(point, tmp, sizeof tmp);
    err = PQ3_OK;

cleanup:
    BN_CTX_free(bn);
    EC_POINT_free(p);
    ERR_pop_to_mark();
    return err;
}

/*
 * SEC 1 §2.3.4 step 2.4 (point decompression), done here rather than with
 * EC_POINT_oct2point: OpenSSL's generic BN_mod_sqrt sets up a Montgomery
 * context and validates on every call, and the EC_POINT round trip adds more;
 * with the cached context this is about half the time (bench_primitives).
 * y^2 = x^3 - 3x + b is solved as y = r^((p+1)/4), which is a root exactly
 * when r is a square, so squaring y back decides whether x is on the curve.
 * All values are public: variable-time BIGNUM code is fine. x < p is
 * checked by the caller.
 */
static pq3_err decompress(uint8_t point[PQ3_P256_POINT_BYTES], const uint8_t x[PQ3_P256_BYTES],
                          int y_odd)
{
    const pq3_p256 *c = pq3_p256_get();
    uint8_t tmp[PQ3_P256_POINT_BYTES];
    BN_CTX *bn = NULL;
    BIGNUM *bx, *r, *y, *t;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (c == NULL)
        return PQ3_ERR_CRYPTO;
    ERR_set_mark();
    if ((bn = BN_CTX_new()) == NULL)
        goto cleanup;
    BN_CTX_start(bn);
    if ((bx = BN_CTX_get(bn)) == NULL || (r = BN_CTX_get(bn)) == NULL ||
        (y = BN_CTX_get(bn)) == NULL || (t = BN_CTX_get(bn)) == NULL ||
        BN_bin2bn(x, PQ3_P256_BYTES, bx) == NULL)
        goto cleanup;
    /* r = (x^2 - 3) x + b mod p */
    if (!BN_mod_sqr(r, bx, c->p, bn) || !BN_set_word(t, 3) || !BN_mod_sub(r, r, t, c->p, bn) ||
        !BN_mod_mul(r, r, bx, c->p, bn) || !BN_mod_add(r, r, c->b, c->p, bn))
        goto cleanup;
    if (!BN_mod_exp_mont(y, r, c->sqrt_exp, c->p, bn, c->mont_p) || !BN_mod_sqr(t, y, c->p, bn))
        goto cleanup;
    if (BN_cmp(t, r) != 0) {
        err = PQ3_ERR_KEY; /* r is not a square: no point has this x */
        goto cleanup;
    }
    /* The other root is p - y (y = 0 would have no twin, but then r = 0,
     * and x^3 - 3x + b has no root mod p: P-256 has odd order). */
    if (BN_is_odd(y) != (y_odd != 0) && !BN_is_zero(y) && !BN_sub(y, c->p, y))
        goto cleanup;
    tmp[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(tmp + 1, x, PQ3_P256_BYTES);
    if (BN_bn2binpad(y, tmp + 1 + PQ3_P256_BYTES, PQ3_P256_BYTES) != PQ3_P256_BYTES)
        goto cleanup;
    memcpy(point, tmp, sizeof tmp);
    err = PQ3_OK;

cleanup:
    if (bn != NULL)
        BN_CTX_end(bn);
    BN_CTX_free(bn);
    ERR_pop_to_mark();
    return err;
}

pq3_err pq3_p256_import_x(uint8_t point[PQ3_P256_POINT_BYTES], const uint8_t x[PQ3_P256_BYTES])
{
    /* PROTOCOL-BRIEF §6: a 32-byte x decompresses to either point; take the
     * even y, as SEC1's 0x02 || x would. */
    if (!pq3_p256_lt(x, pq3_p256_p))
        return PQ3_ERR_KEY;
    return decompress(point, x, 0);
}

pq3_err pq3_p256_import_compressed(uint8_t point[PQ3_P256_POINT_BYTES], const uint8_t enc[33])
{
    /* Canonical only: x < p (a decoder that reduced x mod p would accept
     * x + p as x). */
    if ((enc[0] != 0x02 && enc[0] != 0x03) || !pq3_p256_lt(enc + 1, pq3_p256_p))
        return PQ3_ERR_KEY;
    return decompress(point, enc + 1, enc[0] & 1);
}

pq3_err pq3_p256_import_uncompressed(uint8_t point[PQ3_P256_POINT_BYTES],
                                     const uint8_t enc[PQ3_P256_POINT_BYTES])
{
    /* 0x04 only: OpenSSL also accepts the "hybrid" 0x06/0x07 forms, which
     * SEC1 encodings on our wire never use. */
    if (enc[0] != POINT_CONVERSION_UNCOMPRESSED || !pq3_p256_lt(enc + 1, pq3_p256_p) ||
        !pq3_p256_lt(enc + 33, pq3_p256_p))
        return PQ3_ERR_KEY;
    return import_octets(point, enc, PQ3_P256_POINT_BYTES);
}

/* ---- the curve equation on public points ---------------------------------- */

/* Arithmetic mod p in eight little-endian 32-bit limbs with 64-bit products
 * (portable C), variable time: public data only.
 * p = 2^256 - 2^224 + 2^192 + 2^96 - 1. */
#define NL 8
static const uint32_t P_LIMBS[NL] = { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0, 0, 0, 1,
                                      0xFFFFFFFFu };

static void limbs_from_be(uint32_t r[NL], const uint8_t b[PQ3_P256_BYTES])
{
    for (int i = 0; i < NL; i++) {
        const uint8_t *q = b + PQ3_P256_BYTES - 4 * (i + 1);
        r[i] = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
    }
}

/* r = a mod p for a < 2p given as eight limbs and a carry bit `hi`. */
static void reduce_once(uint32_t r[NL], const uint32_t a[NL], uint32_t hi)
{
    uint32_t t[NL];
    uint64_t borrow = 0;
    for (int i = 0; i < NL; i++) {
        uint64_t d = (uint64_t)a[i] - P_LIMBS[i] - borrow;
        t[i] = (uint32_t)d;
        borrow = (d >> 32) & 1;
    }
    /* a >= p exactly when the subtraction did not borrow past the carry */
    if (hi != 0 || borrow == 0)
        memcpy(r, t, sizeof t);
    else
        memcpy(r, a, NL * sizeof a[0]);
}

/* r = a b R^-1 mod p, R = 2^256 (Montgomery multiplication, CIOS). Because
 * p = -1 mod 2^32, -p^-1 mod 2^32 = 1: the quotient digit is t[0] itself.
 * Inputs < p, output < p. */
static void mont_mul(uint32_t r[NL], const uint32_t a[NL], const uint32_t b[NL])
{
    uint32_t t[NL + 2] = { 0 };
    for (int i = 0; i < NL; i++) {
        uint64_t c = 0;
        uint32_t m;
        for (int j = 0; j < NL; j++) {
            c += (uint64_t)a[j] * b[i] + t[j];
            t[j] = (uint32_t)c;
            c >>= 32;
        }
        c += t[NL];
        t[NL] = (uint32_t)c;
        t[NL + 1] = (uint32_t)(c >> 32);
        m = t[0];
        c = (uint64_t)m * P_LIMBS[0] + t[0];
        c >>= 32;
        for (int j = 1; j < NL; j++) {
            c += (uint64_t)m * P_LIMBS[j] + t[j];
            t[j - 1] = (uint32_t)c;
            c >>= 32;
        }
        c += t[NL];
        t[NL - 1] = (uint32_t)c;
        t[NL] = t[NL + 1] + (uint32_t)(c >> 32);
    }
    reduce_once(r, t, t[NL]);
}

/* r = a + b mod p, inputs < p. */
static void mod_add(uint32_t r[NL], const uint32_t a[NL], const uint32_t b[NL])
{
    uint32_t t[NL];
    uint64_t c = 0;
    for (int i = 0; i < NL; i++) {
        c += (uint64_t)a[i] + b[i];
        t[i] = (uint32_t)c;
        c >>= 32;
    }
    reduce_once(r, t, (uint32_t)c);
}

int pq3_p256_on_curve(const uint8_t x[PQ3_P256_BYTES], const uint8_t y[PQ3_P256_BYTES])
{
    /* b of P-256 (FIPS 186-5 / SEC 2), big-endian */
    static const uint8_t b_be[PQ3_P256_BYTES] = {
        0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55, 0x76, 0x98, 0x86, 0xbc,
        0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b,
    };
    static const uint32_t one[NL] = { 1 }, three[NL] = { 3 };
    uint32_t X[NL], Y[NL], B[NL], y2[NL], x2[NL], x3[NL], tx[NL], bb[NL], lhs[NL], rhs[NL];

    if (!pq3_p256_lt(x, pq3_p256_p) || !pq3_p256_lt(y, pq3_p256_p))
        return 0;
    limbs_from_be(X, x);
    limbs_from_be(Y, y);
    limbs_from_be(B, b_be);
    /* With M(a, b) = a b R^-1, every term below carries R^-2:
     * y^2 R^-2 + 3x R^-2 = x^3 R^-2 + b R^-2  <=>  y^2 = x^3 - 3x + b. */
    mont_mul(y2, Y, Y);
    mont_mul(y2, y2, one);
    mont_mul(x2, X, X);
    mont_mul(x3, x2, X);
    mont_mul(tx, X, three);
    mont_mul(tx, tx, one);
    mont_mul(bb, B, one);
    mont_mul(bb, bb, one);
    mod_add(lhs, y2, tx);
    mod_add(rhs, x3, bb);
    return memcmp(lhs, rhs, sizeof lhs) == 0;
}
