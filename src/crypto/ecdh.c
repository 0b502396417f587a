/*
 * P-256 ECDH with x-only public keys (PROTOCOL-BRIEF §6; SEC 1 §3.3.1, the
 * shared secret being the x-coordinate of d·Q).
 *
 * Only x travels: x(d·Q) = x(d·(-Q)), so the receiver may decompress to
 * either y. Import validates once (range, on the curve); derive trusts the
 * imported struct apart from OpenSSL's cheap on-curve check as it loads.
 */
#include <string.h>

#include <openssl/err.h>

#include "crypto/ct.h"
#include "crypto/p256.h"
#include "pq3/crypto.h"

pq3_err pq3_ecdh_keypair(uint8_t priv[PQ3_ECDH_PRIV_BYTES], uint8_t pub[PQ3_ECDH_PUB_BYTES],
                         const pq3_rng *rng)
{
    uint8_t point[PQ3_P256_POINT_BYTES];
    pq3_err err;

    if (priv == NULL || pub == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_random_scalar(priv, rng)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_p256_base_mul(point, priv)) != PQ3_OK)
        goto cleanup;
    memcpy(pub, point + 1, PQ3_ECDH_PUB_BYTES);

cleanup:
    if (err != PQ3_OK) {
        pq3_wipe(priv, PQ3_ECDH_PRIV_BYTES);
        pq3_wipe(pub, PQ3_ECDH_PUB_BYTES);
    }
    return err;
}

pq3_err pq3_ecdh_public(uint8_t pub[PQ3_ECDH_PUB_BYTES], const uint8_t priv[PQ3_ECDH_PRIV_BYTES])
{
    uint8_t point[PQ3_P256_POINT_BYTES];
    pq3_err err;

    if (pub == NULL || priv == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_base_mul(point, priv)) != PQ3_OK) {
        pq3_wipe(pub, PQ3_ECDH_PUB_BYTES);
        return err;
    }
    memcpy(pub, point + 1, PQ3_ECDH_PUB_BYTES);
    return PQ3_OK;
}

pq3_err pq3_ecdh_import(pq3_ecdh_peer *peer, const uint8_t their_pub[PQ3_ECDH_PUB_BYTES])
{
    pq3_err err;

    if (peer == NULL || their_pub == NULL)
        return PQ3_ERR_ARG;
    /* Rejects x >= p and any x with no curve point (x^3 - 3x + b not a
     * square mod p). The point at infinity has no x, so it cannot be named. */
    if ((err = pq3_p256_import_x(peer->point, their_pub)) != PQ3_OK)
        pq3_wipe(peer, sizeof *peer);
    return err;
}

pq3_err pq3_ecdh_import_uncompressed(pq3_ecdh_peer *peer, const uint8_t point[65])
{
    pq3_err err;

    if (peer == NULL || point == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_p256_import_uncompressed(peer->point, point)) != PQ3_OK)
        pq3_wipe(peer, sizeof *peer);
    return err;
}

pq3_err pq3_ecdh_derive(uint8_t ss[PQ3_ECDH_SS_BYTES], const uint8_t my_priv[PQ3_ECDH_PRIV_BYTES],
                        const pq3_ecdh_peer *peer)
{
    const pq3_p256 *c = pq3_p256_get();
    BN_CTX *bn = NULL;
    EC_POINT *q = NULL, *r = NULL;
    BIGNUM *d, *x;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (ss == NULL || my_priv == NULL || peer == NULL)
        return PQ3_ERR_ARG;
    if (c == NULL)
        return PQ3_ERR_CRYPTO;
    /* The validity verdict on our own key is not secret. */
    if (!pq3_p256_public_verdict(pq3_p256_scalar_ok(my_priv))) {
        pq3_wipe(ss, PQ3_ECDH_SS_BYTES);
        return PQ3_ERR_KEY;
    }
    ERR_set_mark();
    if ((bn = BN_CTX_secure_new()) == NULL)
        goto cleanup;
    BN_CTX_start(bn);
    if ((q = EC_POINT_new(c->group)) == NULL || (r = EC_POINT_new(c->group)) == NULL ||
        (d = pq3_p256_secret_bn(my_priv, bn)) == NULL || (x = BN_CTX_get(bn)) == NULL)
        goto cleanup;
    if (!pq3_p256_load(c, q, peer->point, bn)) {
        err = PQ3_ERR_KEY; /* not a struct pq3_ecdh_import filled */
        goto cleanup;
    }
    /* Variable-point multiplication: OpenSSL's P-256 code uses a fixed
     * window with constant-time table selection (a Montgomery ladder on
     * other builds), so the time does not depend on d. */
    if (EC_POINT_mul(c->group, r, NULL, q, d, bn) != 1)
        goto cleanup;
    /* SEC 1 §3.3.1 step 2: a result at infinity is an error. On P-256 (prime
     * order, d in [1, n-1], Q a curve point) it cannot happen; checked anyway. */
    if (pq3_p256_public_verdict(EC_POINT_is_at_infinity(c->group, r))) {
        err = PQ3_ERR_KEY;
        goto cleanup;
    }
    /* The affine conversion inverts Z by exponentiation in OpenSSL's P-256
     * code (constant time); bn2binpad writes all 32 bytes whatever the value. */
    BN_set_flags(x, BN_FLG_CONSTTIME);
    if (EC_POINT_get_affine_coordinates(c->group, r, x, NULL, bn) != 1 ||
        BN_bn2binpad(x, ss, PQ3_ECDH_SS_BYTES) != PQ3_ECDH_SS_BYTES)
        goto cleanup;
    err = PQ3_OK;

cleanup:
    if (err != PQ3_OK)
        pq3_wipe(ss, PQ3_ECDH_SS_BYTES);
    if (bn != NULL)
        BN_CTX_end(bn);
    BN_CTX_free(bn); /* secure context: wipes d and x */
    EC_POINT_free(q);
    EC_POINT_clear_free(r);
    ERR_pop_to_mark();
    return err;
}
