/* The curve equation check on public points (src/crypto/p256.c,
 * pq3_p256_on_curve) against OpenSSL's EC_POINT_is_on_curve as the oracle:
 * valid points, points with y changed, random pairs, coordinates >= p. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "crypto/p256.h"
#include "pq3/crypto.h"
#include "testutil.h"

static EC_GROUP *group;
static BN_CTX *bn;

/* OpenSSL's verdict for (x, y) with x, y < p; -1 when OpenSSL fails. */
static int oracle(const uint8_t x[32], const uint8_t y[32])
{
    BIGNUM *bx = BN_bin2bn(x, 32, NULL), *by = BN_bin2bn(y, 32, NULL);
    EC_POINT *pt = EC_POINT_new(group);
    int v = -1;
    if (bx != NULL && by != NULL && pt != NULL) {
        /* set_affine_coordinates refuses points off the curve in 3.0 */
        if (EC_POINT_set_affine_coordinates(group, pt, bx, by, bn) == 1)
            v = EC_POINT_is_on_curve(group, pt, bn) == 1;
        else
            v = 0;
    }
    BN_free(bx);
    BN_free(by);
    EC_POINT_free(pt);
    return v;
}

static void inc(uint8_t v[32])
{
    for (int i = 31; i >= 0 && ++v[i] == 0; i--)
        ;
}

int main(void)
{
    pq3t_drbg d;
    pq3_rng rng;
    int agree = 0, valid = 0, invalid = 0;

    group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    bn = BN_CTX_new();
    CHECK(group != NULL && bn != NULL);
    pq3t_drbg_init(&d, "p256 on curve", 1);
    rng = pq3t_drbg_rng(&d);

    /* valid points from key generation, both y, and y + 1 */
    for (int i = 0; i < 2000; i++) {
        uint8_t priv[32], pub[32], point[65], y[32];
        CHECK_OK(pq3_ecdh_keypair(priv, pub, &rng));
        CHECK_OK(pq3_p256_import_x(point, pub));
        CHECK(pq3_p256_on_curve(point + 1, point + 33) == 1);
        CHECK(oracle(point + 1, point + 33) == 1);
        valid++;
        /* the other root, p - y */
        {
            uint8_t neg[32];
            int borrow = 0;
            for (int k = 31; k >= 0; k--) {
                int v = pq3_p256_p[k] - point[33 + k] - borrow;
                borrow = v < 0;
                neg[k] = (uint8_t)v;
            }
            CHECK(pq3_p256_on_curve(point + 1, neg) == 1);
            valid++;
        }
        memcpy(y, point + 33, 32);
        inc(y);
        {
            int o = oracle(point + 1, y);
            CHECK(o == 0 || o == 1);
            CHECK(pq3_p256_on_curve(point + 1, y) == o);
            agree += pq3_p256_on_curve(point + 1, y) == o;
            invalid += o == 0;
        }
    }
    /* random pairs below p: the two verdicts agree (almost all invalid) */
    for (int i = 0; i < 2000; i++) {
        uint8_t x[32], y[32];
        CHECK_OK(pq3_random(&rng, x, 32));
        CHECK_OK(pq3_random(&rng, y, 32));
        if (!pq3_p256_lt(x, pq3_p256_p) || !pq3_p256_lt(y, pq3_p256_p))
            continue;
        CHECK(pq3_p256_on_curve(x, y) == oracle(x, y));
        agree++;
    }
    /* coordinates >= p are refused, even when they are a point mod p */
    {
        uint8_t priv[32], pub[32], point[65], big[32];
        unsigned carry = 0;
        CHECK_OK(pq3_ecdh_keypair(priv, pub, &rng));
        CHECK_OK(pq3_p256_import_x(point, pub));
        for (int k = 31; k >= 0; k--) { /* y + p, when it fits in 32 bytes */
            unsigned v = point[33 + k] + pq3_p256_p[k] + carry;
            big[k] = (uint8_t)v;
            carry = v >> 8;
        }
        if (carry == 0)
            CHECK(pq3_p256_on_curve(point + 1, big) == 0);
        CHECK(pq3_p256_on_curve(pq3_p256_p, point + 33) == 0);
        memset(big, 0xFF, 32);
        CHECK(pq3_p256_on_curve(point + 1, big) == 0);
        memset(big, 0, 32);
        CHECK(pq3_p256_on_curve(big, big) == 0); /* (0, 0): 0 != b */
    }
    printf("p256 on curve: %d valid, %d invalid y, %d agreements with OpenSSL\n", valid, invalid,
           agree);
    BN_CTX_free(bn);
    EC_GROUP_free(group);
    return pq3t_finish();
}
