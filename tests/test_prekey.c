/* Prekey bundles (docs/PROTOCOL.md §6). */
#include <string.h>

#include "protocol_fixture.h"

int main(void)
{
    fx_party p, q;
    pq3_prekey_secret sk;
    pq3_prekey_bundle b;
    uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES], m[PQ3_PREKEY_BUNDLE_BYTES + 1];
    pq3_rng bad = pq3t_failing_rng();

    CHECK(fx_party_init(&p, "mailto:p@example.org", "p", 2));
    CHECK(fx_party_init(&q, "mailto:q@example.org", "q", 2));
    CHECK_OK(pq3_prekey_generate(&sk, 42, FX_T0, FX_T0 + 7 * FX_DAY, &p.device_signer, &p.rng));
    CHECK_OK(pq3_prekey_encode(enc, &sk.bundle));
    CHECK_OK(pq3_prekey_verify(&b, enc, sizeof enc, &p.cert, FX_T0));
    CHECK(b.verified && b.id == 42 && memcmp(b.hash, sk.bundle.hash, 48) == 0);
    CHECK(memcmp(b.kem_ek, sk.bundle.kem_ek, sizeof b.kem_ek) == 0);

    /* Expired, not yet valid, signed by another device. */
    CHECK_ERR(pq3_prekey_verify(&b, enc, sizeof enc, &p.cert, FX_T0 + 7 * FX_DAY),
              PQ3_ERR_EXPIRED);
    CHECK_ERR(pq3_prekey_verify(&b, enc, sizeof enc, &p.cert, FX_T0 - PQ3_CLOCK_SKEW - 1),
              PQ3_ERR_EXPIRED);
    CHECK_ERR(pq3_prekey_verify(&b, enc, sizeof enc, &q.cert, FX_T0), PQ3_ERR_VERIFY);
    /* Every byte flipped: rejected, output untouched. */
    for (size_t i = 0; i < sizeof enc; i++) {
        pq3_prekey_bundle before;
        memcpy(m, enc, sizeof enc);
        m[i] ^= (uint8_t)(0x80u >> (i % 8));
        memset(&b, 0x33, sizeof b);
        before = b;
        CHECKF(pq3_prekey_verify(&b, m, sizeof enc, &p.cert, FX_T0) != PQ3_OK, "byte %zu", i);
        CHECK(memcmp(&b, &before, sizeof b) == 0);
    }
    /* Lengths. */
    for (size_t l = 0; l < sizeof enc; l += 7)
        CHECK(pq3_prekey_decode(&b, enc, l) != PQ3_OK);
    memcpy(m, enc, sizeof enc);
    m[sizeof enc] = 0;
    CHECK_ERR(pq3_prekey_decode(&b, m, sizeof m), PQ3_ERR_DECODE);
    m[0] = 9;
    CHECK_ERR(pq3_prekey_decode(&b, m, sizeof enc), PQ3_ERR_VERSION);

    /* Correctly signed but invalid keys: an x that is no curve point, an
     * ML-KEM ek failing the modulus check. */
    {
        pq3_prekey_secret t = sk;
        memset(t.bundle.ecdh_pub, 0xFF, 32);
        CHECK_OK(pq3_prekey_encode(m, &t.bundle));
        {
            uint8_t tbs[17 + 33 + 1622];
            memcpy(tbs, "OpenPQ3 v1 prekey", 17);
            memcpy(tbs + 17, p.device.pub, 33);
            memcpy(tbs + 50, m, 1622);
            CHECK_OK(pq3_ecdsa_sign(m + 1622, p.device.priv, tbs, sizeof tbs));
            CHECK_ERR(pq3_prekey_verify(&b, m, sizeof enc, &p.cert, FX_T0), PQ3_ERR_KEY);
            t = sk;
            memset(t.bundle.kem_ek, 0xFF, 3);
            CHECK_OK(pq3_prekey_encode(m, &t.bundle));
            memcpy(tbs + 50, m, 1622);
            CHECK_OK(pq3_ecdsa_sign(m + 1622, p.device.priv, tbs, sizeof tbs));
            CHECK_ERR(pq3_prekey_verify(&b, m, sizeof enc, &p.cert, FX_T0), PQ3_ERR_KEY);
        }
        pq3_prekey_secret_wipe(&t);
    }

    /* Generation errors. */
    CHECK_ERR(pq3_prekey_generate(&sk, 1, FX_T0, FX_T0, &p.device_signer, &p.rng), PQ3_ERR_ARG);
    CHECK_ERR(pq3_prekey_generate(&sk, 1, FX_T0, FX_T0 + 1, &p.device_signer, &bad),
              PQ3_ERR_RNG);
    {
        pq3_device_cert unverified = p.cert;
        unverified.verified = 0;
        CHECK_ERR(pq3_prekey_verify(&b, enc, sizeof enc, &unverified, FX_T0), PQ3_ERR_ARG);
    }
    pq3_prekey_secret_wipe(&sk);
    return pq3t_finish();
}
