/* Prekey bundles (docs/PROTOCOL.md §6) and the stored prekey secret
 * (§6.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/p256.h"
#include "protocol_fixture.h"

/* ---- the stored secret (§6.1) --------------------------------------------- */

/* Offsets in the 4888-byte record. */
#define SB PQ3_PREKEY_SECRET_BYTES
#define OFF_BUNDLE 2
#define OFF_ID (OFF_BUNDLE + 2)
#define OFF_CREATED (OFF_BUNDLE + 6)
#define OFF_EXPIRES (OFF_BUNDLE + 14)
#define OFF_ECDH_PUB (OFF_BUNDLE + 22)
#define OFF_EK (OFF_BUNDLE + 54)
#define OFF_SIG (OFF_BUNDLE + 1622)
#define OFF_PRIV (OFF_BUNDLE + PQ3_PREKEY_BUNDLE_BYTES)
#define OFF_DK (OFF_PRIV + 32)
#define OFF_DK_EK (OFF_DK + 1536) /* dk = dk_PKE || ek || H(ek) || z */
#define OFF_DK_H (OFF_DK_EK + PQ3_MLKEM1024_EK_BYTES)
#define OFF_Z (OFF_DK_H + 32)

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* What loading does with a record whose byte i was changed (m is the
 * changed record): the error, or PQ3_OK where nothing in the record can
 * tell (§6.1). */
static pq3_err flip_expected(size_t i, const uint8_t *m)
{
    if (i < OFF_BUNDLE + 2)
        return PQ3_ERR_VERSION; /* ours, then the bundle's version and type */
    if (i < OFF_CREATED)
        return PQ3_OK; /* prekey id: any value */
    if (i < OFF_ECDH_PUB)
        return be64(m + OFF_EXPIRES) > be64(m + OFF_CREATED) ? PQ3_OK : PQ3_ERR_DECODE;
    if (i < OFF_SIG)
        return PQ3_ERR_KEY; /* ECDH public key, ek: not the secret keys' */
    if (i < OFF_PRIV)
        return PQ3_OK; /* the signature: not checked */
    if (i < OFF_Z)
        return PQ3_ERR_KEY; /* scalar, dk_PKE, ek, H(ek) */
    return PQ3_OK;      /* z: used only for implicit rejection */
}

/* Accepts alice's new start against the published bundle with `prekey`. */
static pq3_err start_with(fx_pair *x, const pq3_prekey_secret *prekey, uint64_t k)
{
    static uint8_t msg[8192], body[8192];
    pq3_session a, b;
    pq3_opened info;
    size_t len;
    char text[32];
    pq3_err err;

    snprintf(text, sizeof text, "again %llu", (unsigned long long)k);
    if ((err = pq3_session_start(&a, &x->alice.cert, &x->bob.cert, &x->bundle, FX_T0 + k,
                                 &x->alice.rng)) != PQ3_OK ||
        (err = pq3_session_seal(&a, &x->alice.device_signer, NULL, FX_T0 + k, &x->alice.rng,
                                PQ3_CONTENT_MESSAGE, (const uint8_t *)text, strlen(text), NULL,
                                0, msg, sizeof msg, &len)) != PQ3_OK)
        return err;
    err = pq3_session_accept(&b, &x->bob.cert, &x->alice.cert, prekey, FX_T0 + k, msg, len,
                             body, sizeof body, &info);
    if (err == PQ3_OK && (info.body_len != strlen(text) || memcmp(body, text, info.body_len)))
        err = PQ3_ERR_STATE;
    pq3_session_wipe(&a);
    pq3_session_wipe(&b);
    return err;
}

/* The committed seed of fuzz_prekey_secret is this test's record; with
 * PQ3_WRITE_PREKEY_SECRET_SEED=<dir> the test writes it there. */
static void check_seed(const uint8_t *enc)
{
    const char *src = getenv("PQ3_SOURCE_DIR"), *dir = getenv("PQ3_WRITE_PREKEY_SECRET_SEED");
    char path[1024];

    if (dir != NULL) {
        FILE *f;
        snprintf(path, sizeof path, "%s/seed0", dir);
        f = fopen(path, "wb");
        CHECK(f != NULL && fwrite(enc, 1, SB, f) == SB);
        if (f != NULL)
            CHECK(fclose(f) == 0);
    }
    if (src != NULL) {
        size_t n = 0;
        char *seed;
        snprintf(path, sizeof path, "%s/fuzz/corpus/fuzz_prekey_secret/seed0", src);
        seed = pq3t_read_file(path, &n);
        CHECKF(seed != NULL && n == SB && memcmp(seed, enc, SB) == 0,
               "%s is not this test's record", path);
        free(seed);
    }
}

static void test_secret_storage(void)
{
    static fx_pair x;
    static pq3_prekey_secret loaded, before, other;
    static uint8_t enc[SB + 1], m[SB + 1], again[SB];
    uint8_t ek2[PQ3_MLKEM1024_EK_BYTES], dk2[PQ3_MLKEM1024_DK_BYTES], seed[64];
    size_t len;
    unsigned loads_ok = 0;

    CHECK(fx_pair_init(&x, 5));

    /* Round trip: the loaded secret is the generated one, byte for byte,
     * and serializes to the same record. */
    CHECK_OK(pq3_prekey_secret_serialize(&x.prekey, enc, sizeof enc, &len));
    CHECK(len == SB && SB == 4888);
    CHECK(enc[0] == 0x01 && enc[1] == 0x08);
    {
        uint8_t b[PQ3_PREKEY_BUNDLE_BYTES];
        CHECK_OK(pq3_prekey_encode(b, &x.prekey.bundle));
        CHECK(memcmp(enc + OFF_BUNDLE, b, sizeof b) == 0);
        CHECK(memcmp(enc + OFF_PRIV, x.prekey.ecdh_priv, 32) == 0);
        CHECK(memcmp(enc + OFF_DK, x.prekey.kem_dk, PQ3_MLKEM1024_DK_BYTES) == 0);
    }
    CHECK_OK(pq3_prekey_secret_deserialize(&loaded, enc, SB));
    CHECK(memcmp(&loaded, &x.prekey, sizeof loaded) == 0);
    CHECK(loaded.bundle.verified == 1 && memcmp(loaded.bundle.hash, x.bundle.hash, 48) == 0);
    CHECK_OK(pq3_prekey_secret_serialize(&loaded, again, sizeof again, &len));
    CHECK(len == SB && memcmp(again, enc, SB) == 0);
    check_seed(enc);

    /* The loaded secret accepts a session start against the published
     * bundle. */
    CHECK_OK(start_with(&x, &loaded, 10));

    /* Every truncation, and a trailing byte: a decoding error, *s
     * untouched. */
    memset(&before, 0x5A, sizeof before);
    for (size_t l = 0; l < SB; l++) {
        memcpy(&loaded, &before, sizeof loaded);
        CHECKF(pq3_prekey_secret_deserialize(&loaded, enc, l) == PQ3_ERR_DECODE, "length %zu",
               l);
        CHECK(memcmp(&loaded, &before, sizeof loaded) == 0);
    }
    enc[SB] = 0;
    CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, enc, SB + 1), PQ3_ERR_DECODE);
    CHECK(memcmp(&loaded, &before, sizeof loaded) == 0);

    /* Every byte changed: the error of the step that catches it, *s
     * untouched; where nothing can tell (id, times, signature, z), the
     * record loads as exactly what it says. */
    for (size_t i = 0; i < SB; i++) {
        pq3_err want, got;
        memcpy(m, enc, SB);
        m[i] ^= (uint8_t)(0x80u >> (i % 8));
        want = flip_expected(i, m);
        memcpy(&loaded, &before, sizeof loaded);
        got = pq3_prekey_secret_deserialize(&loaded, m, SB);
        CHECKF(got == want, "byte %zu: %d, expected %d", i, got, want);
        if (want != PQ3_OK) {
            CHECKF(memcmp(&loaded, &before, sizeof loaded) == 0, "byte %zu: *s changed", i);
            continue;
        }
        if (got != PQ3_OK)
            continue;
        loads_ok++;
        CHECK_OK(pq3_prekey_secret_serialize(&loaded, again, sizeof again, &len));
        CHECKF(memcmp(again, m, SB) == 0, "byte %zu: loaded another record", i);
        /* A changed bundle no longer has the published bundle's hash. */
        CHECKF((memcmp(loaded.bundle.hash, x.bundle.hash, 48) == 0) == (i >= OFF_Z),
               "byte %zu: hash", i);
        /* Once per region: what a start against the published bundle does. */
        if (i == OFF_ID || i == OFF_SIG)
            CHECK_ERR(start_with(&x, &loaded, 20 + i), PQ3_ERR_UNKNOWN);
        if (i == OFF_Z || i == SB - 1)
            CHECK_OK(start_with(&x, &loaded, 20 + i));
    }
    /* id 4 + signature 64 + z 32 bytes, and the times' bits that keep
     * expires > created. */
    CHECKF(loads_ok > 4 + 64 + 32 && loads_ok < 4 + 64 + 32 + 16, "%u records loaded",
           loads_ok);

    /* A scalar that is not the bundle's key; 0; n. */
    memcpy(&loaded, &before, sizeof loaded);
    {
        uint8_t priv[32], pub[32];
        CHECK_OK(pq3_ecdh_keypair(priv, pub, &x.bob.rng));
        memcpy(m, enc, SB);
        memcpy(m + OFF_PRIV, priv, 32);
        CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, m, SB), PQ3_ERR_KEY);
        memset(m + OFF_PRIV, 0, 32);
        CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, m, SB), PQ3_ERR_KEY);
        memcpy(m + OFF_PRIV, pq3_p256_n, 32);
        CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, m, SB), PQ3_ERR_KEY);
        CHECK(memcmp(&loaded, &before, sizeof loaded) == 0);
        pq3_wipe(priv, sizeof priv);
    }
    /* A valid dk of another key (passes §7.3, its ek differs); the bundle's
     * ek and hash around another key's dk_PKE (passes §7.3 and the ek
     * comparison, does not decrypt). */
    CHECK_OK(pq3_random(&x.bob.rng, seed, sizeof seed));
    CHECK_OK(pq3_mlkem1024_keypair_derand(ek2, dk2, seed, seed + 32));
    CHECK_OK(pq3_mlkem1024_check_dk(dk2));
    memcpy(m, enc, SB);
    memcpy(m + OFF_DK, dk2, sizeof dk2);
    CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, m, SB), PQ3_ERR_KEY);
    memcpy(m, enc, SB);
    memcpy(m + OFF_DK, dk2, 1536);
    CHECK_OK(pq3_mlkem1024_check_dk(m + OFF_DK));
    CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, m, SB), PQ3_ERR_KEY);
    /* A bundle ek failing the §7.2 modulus check, the dk built around it
     * (so §7.3 and the comparison pass). */
    memcpy(m, enc, SB);
    memset(m + OFF_EK, 0xFF, 3);
    memset(m + OFF_DK_EK, 0xFF, 3);
    CHECK_ERR(pq3_mlkem1024_check_ek(m + OFF_EK), PQ3_ERR_KEY);
    CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, m, SB), PQ3_ERR_KEY);
    CHECK(memcmp(&loaded, &before, sizeof loaded) == 0);
    /* Version and type. */
    memcpy(m, enc, SB);
    m[1] = PQ3_TYPE_PREKEY;
    CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, m, SB), PQ3_ERR_VERSION);
    m[1] = PQ3_TYPE_PREKEY_SECRET;
    m[0] = 2;
    CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, m, SB), PQ3_ERR_VERSION);
    CHECK(memcmp(&loaded, &before, sizeof loaded) == 0);

    /* Serialize: the size asked for, output wiped; misuse. */
    memset(m, 0xA5, sizeof m);
    len = 0;
    CHECK_ERR(pq3_prekey_secret_serialize(&x.prekey, m, SB - 1, &len), PQ3_ERR_BUFFER);
    CHECK(len == SB);
    {
        size_t z = 0;
        while (z < SB - 1 && m[z] == 0)
            z++;
        CHECK(z == SB - 1 && m[SB - 1] == 0xA5);
    }
    len = 0;
    CHECK_ERR(pq3_prekey_secret_serialize(&x.prekey, NULL, 0, &len), PQ3_ERR_BUFFER);
    CHECK(len == SB);
    memset(&other, 0, sizeof other);
    memset(m, 0xA5, sizeof m);
    CHECK_ERR(pq3_prekey_secret_serialize(&other, m, SB, &len), PQ3_ERR_ARG);
    CHECK(m[0] == 0 && m[SB - 1] == 0 && m[SB] == 0xA5);
    CHECK_ERR(pq3_prekey_secret_serialize(NULL, m, SB, &len), PQ3_ERR_ARG);
    CHECK_ERR(pq3_prekey_secret_serialize(&x.prekey, m, SB, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_prekey_secret_serialize(&x.prekey, NULL, SB, &len), PQ3_ERR_ARG);
    CHECK_ERR(pq3_prekey_secret_deserialize(NULL, enc, SB), PQ3_ERR_ARG);
    CHECK_ERR(pq3_prekey_secret_deserialize(&loaded, NULL, SB), PQ3_ERR_ARG);
    CHECK(memcmp(&loaded, &before, sizeof loaded) == 0);

    pq3_wipe(enc, sizeof enc);
    pq3_wipe(m, sizeof m);
    pq3_wipe(again, sizeof again);
    pq3_wipe(dk2, sizeof dk2);
    pq3_wipe(seed, sizeof seed);
    pq3_prekey_secret_wipe(&loaded);
    pq3_prekey_secret_wipe(&x.prekey);
    pq3_session_wipe(&x.a);
    pq3_session_wipe(&x.b);
}

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
    test_secret_storage();
    return pq3t_finish();
}
