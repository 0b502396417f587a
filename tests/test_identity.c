/* Device certificates and signers (docs/PROTOCOL.md §4, §5). */
#include <string.h>

#include "protocol_fixture.h"

static void test_cert(void)
{
    fx_party p, q;
    pq3_device_cert c, d;
    uint8_t enc[PQ3_CERT_MAX_BYTES], m[PQ3_CERT_MAX_BYTES];
    size_t len, need;
    uint8_t v;

    CHECK(fx_party_init(&p, "mailto:p@example.org", "p", 1));
    CHECK(fx_party_init(&q, "mailto:q@example.org", "q", 1));
    CHECK(p.cert.verified == 1);
    memcpy(enc, p.cert_enc, p.cert_len);
    len = p.cert_len;
    CHECK(len == 2 + 2 + 20 + 16 + 33 + 1 + 1 + 16 + 64);

    /* Deterministic: issuing again gives the same bytes. */
    d = p.cert;
    CHECK_OK(pq3_cert_issue(m, sizeof m, &need, &d, &p.account_signer));
    CHECK(need == len && memcmp(m, enc, len) == 0);
    CHECK_ERR(pq3_cert_issue(m, 10, &need, &d, &p.account_signer), PQ3_ERR_BUFFER);
    CHECK(need == len);

    /* Expired, not yet valid, wrong account key. */
    CHECK_ERR(pq3_cert_verify(&c, enc, len, p.account.pub, p.cert.expires), PQ3_ERR_EXPIRED);
    CHECK_OK(pq3_cert_verify(&c, enc, len, p.account.pub, p.cert.expires - 1));
    CHECK_ERR(pq3_cert_verify(&c, enc, len, p.account.pub, p.cert.created - PQ3_CLOCK_SKEW - 1),
              PQ3_ERR_EXPIRED);
    CHECK_OK(pq3_cert_verify(&c, enc, len, p.account.pub, p.cert.created - PQ3_CLOCK_SKEW));
    CHECK_ERR(pq3_cert_verify(&c, enc, len, q.account.pub, FX_T0), PQ3_ERR_VERIFY);
    /* Every single-byte change is rejected. */
    for (size_t i = 0; i < len; i++) {
        memcpy(m, enc, len);
        m[i] ^= 0x01;
        memset(&c, 0x5A, sizeof c);
        pq3_device_cert before = c;
        pq3_err e = pq3_cert_verify(&c, m, len, p.account.pub, FX_T0);
        CHECKF(e != PQ3_OK, "byte %zu", i);
        CHECK(memcmp(&c, &before, sizeof c) == 0);
    }
    /* Truncated, trailing byte. */
    for (size_t l = 0; l < len; l++)
        CHECK(pq3_cert_decode(&c, enc, l) != PQ3_OK);
    memcpy(m, enc, len);
    m[len] = 0;
    CHECK_ERR(pq3_cert_decode(&c, m, len + 1), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_cert_decode(&c, m, 1), PQ3_ERR_DECODE);
    m[1] = 2;
    CHECK_ERR(pq3_cert_decode(&c, m, len), PQ3_ERR_VERSION);

    /* A signed certificate with an invalid device key: PQ3_ERR_KEY. */
    d = p.cert;
    d.auth_pub[0] = 0x04; /* not a compressed point prefix */
    CHECK_OK(pq3_cert_issue(m, sizeof m, &need, &d, &p.account_signer));
    CHECK_ERR(pq3_cert_verify(&c, m, need, p.account.pub, FX_T0), PQ3_ERR_KEY);
    /* Invalid account key. */
    {
        uint8_t bad[33];
        memset(bad, 0xFF, sizeof bad);
        bad[0] = 0x02;
        CHECK_ERR(pq3_cert_verify(&c, enc, len, bad, FX_T0), PQ3_ERR_KEY);
    }

    /* Bad fields are refused at issue time. */
    d = p.cert;
    d.n_versions = 0;
    CHECK_ERR(pq3_cert_issue(m, sizeof m, &need, &d, &p.account_signer), PQ3_ERR_ARG);
    d = p.cert;
    d.versions[0] = 2;
    d.versions[1] = 1;
    d.n_versions = 2;
    CHECK_ERR(pq3_cert_issue(m, sizeof m, &need, &d, &p.account_signer), PQ3_ERR_ARG);
    d = p.cert;
    d.expires = d.created;
    CHECK_ERR(pq3_cert_issue(m, sizeof m, &need, &d, &p.account_signer), PQ3_ERR_ARG);
    d = p.cert;
    d.handle_len = 0;
    CHECK_ERR(pq3_cert_issue(m, sizeof m, &need, &d, &p.account_signer), PQ3_ERR_ARG);

    /* Version negotiation (anti-downgrade: the versions are signed). */
    CHECK_OK(pq3_cert_common_version(&v, &p.cert, &q.cert));
    CHECK(v == 1);
    d = q.cert;
    d.versions[0] = 2;
    CHECK_ERR(pq3_cert_common_version(&v, &p.cert, &d), PQ3_ERR_VERSION);
    d.versions[0] = 1;
    d.versions[1] = 2;
    d.n_versions = 2;
    CHECK_OK(pq3_cert_common_version(&v, &p.cert, &d)); /* p only has 1 */
    CHECK(v == 1);
    c = p.cert;
    c.versions[1] = 2;
    c.n_versions = 2;
    CHECK_ERR(pq3_cert_common_version(&v, &c, &d), PQ3_ERR_VERSION); /* both 2: not ours */
}

static void test_signer(void)
{
    pq3_soft_key k;
    pq3_signer s;
    pq3_ecdsa_pub pub;
    uint8_t sig[64], sig2[64], zero[32] = { 0 };
    pq3t_drbg d;
    pq3_rng rng;
    pq3_rng bad = pq3t_failing_rng();

    pq3t_drbg_init(&d, "signer", 1);
    rng = pq3t_drbg_rng(&d);
    CHECK_OK(pq3_soft_key_generate(&k, &rng));
    CHECK_OK(pq3_soft_signer(&s, &k));
    CHECK(memcmp(s.pub, k.pub, 33) == 0);
    CHECK_OK(s.sign(s.ctx, sig, (const uint8_t *)"abc", 3));
    CHECK_OK(s.sign(s.ctx, sig2, (const uint8_t *)"abc", 3));
    CHECK(memcmp(sig, sig2, 64) == 0);
    CHECK_OK(pq3_ecdsa_import(&pub, s.pub));
    CHECK_OK(pq3_ecdsa_verify(&pub, sig, (const uint8_t *)"abc", 3));
    CHECK_ERR(pq3_soft_key_import(&k, zero), PQ3_ERR_KEY);
    CHECK_ERR(pq3_soft_key_generate(&k, &bad), PQ3_ERR_RNG);
    CHECK_ERR(pq3_soft_signer(NULL, &k), PQ3_ERR_ARG);
    pq3_soft_key_wipe(&k);
    pq3_soft_key_wipe(NULL);
}

int main(void)
{
    test_cert();
    test_signer();
    return pq3t_finish();
}
