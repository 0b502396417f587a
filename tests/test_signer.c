/* Signing through a key store (docs/PROTOCOL.md §5; src/protocol/sign.c).
 *
 * A signer like a PKCS#11 token (random nonces, high s on every other
 * signature) is used for certificates, prekey bundles, messages and
 * receipts: everything it signs verifies at the peer, and each high s is
 * published as n - s. Signers that misbehave (garbage, another key, r or s
 * out of range, an error of their own) make the operation fail with the
 * right error, outputs wiped, state unchanged. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "crypto/p256.h"
#include "protocol/sign.h"
#include "protocol_fixture.h"

/* s = n - s, for s in [1, n-1]. */
static void negate_s(uint8_t s[32])
{
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = pq3_p256_n[i] - s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)d;
    }
}

static int is_high(const uint8_t sig[64])
{
    return pq3_p256_lt(pq3_p256_half_n, sig + 32) != 0;
}

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* ---- a token-like signer over OpenSSL's EVP ECDSA (random nonces) ------- */

typedef struct {
    EVP_PKEY *pkey;
    unsigned calls; /* signatures returned */
    unsigned high;  /* of which with s > n/2 */
    uint8_t last[64];
} token;

/* Totals over every token, and the high-s signatures seen published as
 * their low twin. */
static unsigned total_calls, total_high, normalised;

static pq3_err token_sign(void *ctx, uint8_t sig[PQ3_ECDSA_SIG_BYTES], const uint8_t *msg,
                          size_t len)
{
    token *t = ctx;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    const unsigned char *p = der;
    size_t der_len = sizeof der;
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *s;
    pq3_err err = PQ3_ERR_IO; /* the token failed */

    if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, t->pkey) != 1 ||
        EVP_DigestSign(md, der, &der_len, msg, len) != 1 ||
        (es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
        goto out;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
        goto out;
    /* OpenSSL returns either half at random; choose by a counter instead,
     * so that both certainly occur: low on even calls, high on odd ones. */
    if (is_high(sig) != (t->calls % 2 == 1))
        negate_s(sig + 32);
    t->high += (unsigned)is_high(sig);
    t->calls++;
    total_calls++;
    total_high += (unsigned)is_high(sig);
    memcpy(t->last, sig, 64);
    err = PQ3_OK;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return err;
}

static int token_init(token *t, pq3_signer *signer)
{
    uint8_t point[65];
    size_t n = 0;

    memset(t, 0, sizeof *t);
    t->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (t->pkey == NULL ||
        EVP_PKEY_get_octet_string_param(t->pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                        &n) != 1 ||
        n != 65 || point[0] != 0x04)
        return 0;
    signer->ctx = t;
    signer->sign = token_sign;
    signer->pub[0] = (uint8_t)(0x02 | (point[64] & 1));
    memcpy(signer->pub + 1, point + 1, 32);
    return 1;
}

static void token_free(token *t)
{
    EVP_PKEY_free(t->pkey);
    t->pkey = NULL;
}

/* The signature the library published for the token's last signature:
 * the token's own when low, r || n - s when high. */
static int published_ok(const token *t, const uint8_t sig[64])
{
    uint8_t want[64];
    memcpy(want, t->last, 64);
    if (is_high(want))
        negate_s(want + 32);
    if (memcmp(want, sig, 64) != 0 || is_high(sig))
        return 0;
    if (is_high(t->last))
        normalised++;
    return 1;
}

/* A party whose account and device keys live in tokens: the fixture's
 * party with both signers replaced and the certificate issued again. */
typedef struct {
    fx_party fx;
    token account, device;
} tk_party;

static int tk_party_init(tk_party *p, const char *handle, const char *label, uint64_t k)
{
    if (!fx_party_init(&p->fx, handle, label, k) ||
        !token_init(&p->account, &p->fx.account_signer) ||
        !token_init(&p->device, &p->fx.device_signer))
        return 0;
    memcpy(p->fx.cert.auth_pub, p->fx.device_signer.pub, 33);
    if (pq3_cert_issue(p->fx.cert_enc, sizeof p->fx.cert_enc, &p->fx.cert_len, &p->fx.cert,
                       &p->fx.account_signer) != PQ3_OK ||
        !published_ok(&p->account, p->fx.cert.signature) ||
        memcmp(p->fx.cert_enc + p->fx.cert_len - 64, p->fx.cert.signature, 64) != 0)
        return 0;
    return pq3_cert_verify(&p->fx.cert, p->fx.cert_enc, p->fx.cert_len,
                           p->fx.account_signer.pub, FX_T0) == PQ3_OK;
}

static void tk_party_free(tk_party *p)
{
    token_free(&p->account);
    token_free(&p->device);
    pq3_soft_key_wipe(&p->fx.account);
    pq3_soft_key_wipe(&p->fx.device);
}

/* ---- a token signer everywhere the library signs ------------------------ */

static void test_token_certs(void)
{
    tk_party p;
    pq3_device_cert c, v;
    uint8_t enc[PQ3_CERT_MAX_BYTES], first[64];
    size_t len;
    unsigned high0;

    CHECK(tk_party_init(&p, "mailto:token@example.org", "token", 1));
    CHECK(p.fx.cert.verified == 1);
    high0 = p.account.high;
    /* The same certificate issued again and again: a new nonce each time,
     * every one verifies, the high ones published as n - s. */
    c = p.fx.cert;
    for (int i = 0; i < 8; i++) {
        CHECK_OK(pq3_cert_issue(enc, sizeof enc, &len, &c, &p.fx.account_signer));
        CHECK(published_ok(&p.account, c.signature));
        CHECK(memcmp(enc + len - 64, c.signature, 64) == 0);
        CHECK_OK(pq3_cert_verify(&v, enc, len, p.fx.account_signer.pub, FX_T0));
        CHECK(v.verified && memcmp(v.auth_pub, p.fx.device_signer.pub, 33) == 0);
        if (i == 0)
            memcpy(first, c.signature, 64);
        else
            CHECKF(memcmp(first, c.signature, 32) != 0, "issue %d: r repeated", i);
    }
    /* Four of the eight came back high from the token. */
    CHECK(p.account.high - high0 == 4);
    /* Under another account the certificate does not verify. */
    CHECK_ERR(pq3_cert_verify(&v, enc, len, p.fx.account.pub, FX_T0), PQ3_ERR_VERIFY);
    tk_party_free(&p);
}

static void test_token_prekeys(void)
{
    tk_party p;
    pq3_prekey_secret sk;
    pq3_prekey_bundle b;
    uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES];
    unsigned high0;

    CHECK(tk_party_init(&p, "tel:+15555550100", "prekeys", 2));
    high0 = p.device.high;
    for (uint32_t id = 1; id <= 6; id++) {
        CHECK_OK(pq3_prekey_generate(&sk, id, FX_T0, FX_T0 + 7 * FX_DAY, &p.fx.device_signer,
                                     &p.fx.rng));
        CHECK(published_ok(&p.device, sk.bundle.signature));
        CHECK_OK(pq3_prekey_encode(enc, &sk.bundle));
        CHECK(memcmp(enc + sizeof enc - 64, sk.bundle.signature, 64) == 0);
        CHECK_OK(pq3_prekey_verify(&b, enc, sizeof enc, &p.fx.cert, FX_T0));
        CHECK(b.verified && b.id == id && memcmp(b.hash, sk.bundle.hash, 48) == 0);
        pq3_prekey_secret_wipe(&sk);
    }
    CHECK(p.device.high - high0 == 3);
    tk_party_free(&p);
}

static pq3_err tk_send(tk_party *from, pq3_session *s, uint64_t now, const char *text,
                       uint8_t *out, size_t cap, size_t *len)
{
    return pq3_session_seal(s, &from->fx.device_signer, NULL, now, &from->fx.rng,
                            PQ3_CONTENT_MESSAGE, (const uint8_t *)text, strlen(text), NULL, 0,
                            out, cap, len);
}

static void test_token_messages(void)
{
    static tk_party alice, bob;
    pq3_prekey_secret prekey;
    pq3_prekey_bundle bundle;
    pq3_session a, b;
    uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES], msg[8192], body[8192];
    size_t len;
    pq3_opened info;
    uint64_t now = FX_T0;
    unsigned receipts = 0;

    CHECK(tk_party_init(&alice, "mailto:alice@example.org", "alice", 3));
    CHECK(tk_party_init(&bob, "tel:+15555550123", "bob", 3));
    CHECK_OK(pq3_prekey_generate(&prekey, 9, FX_T0, FX_T0 + 7 * FX_DAY, &bob.fx.device_signer,
                                 &bob.fx.rng));
    CHECK(published_ok(&bob.device, prekey.bundle.signature));
    CHECK_OK(pq3_prekey_encode(enc, &prekey.bundle));
    CHECK_OK(pq3_prekey_verify(&bundle, enc, sizeof enc, &bob.fx.cert, FX_T0));

    /* The session start, sealed by alice's token, accepted by bob. */
    CHECK_OK(pq3_session_start(&a, &alice.fx.cert, &bob.fx.cert, &bundle, now, &alice.fx.rng));
    CHECK_OK(tk_send(&alice, &a, now, "hello", msg, sizeof msg, &len));
    CHECK(published_ok(&alice.device, msg + len - 64));
    CHECK_OK(pq3_session_accept(&b, &bob.fx.cert, &alice.fx.cert, &prekey, now, msg, len, body,
                                sizeof body, &info));
    CHECK(info.body_len == 5 && memcmp(body, "hello", 5) == 0);

    /* A conversation in turns, two messages a turn, and a receipt from the
     * receiver before each answer. */
    for (int turn = 0; turn < 8; turn++) {
        tk_party *from = turn % 2 ? &alice : &bob;
        pq3_session *ss = turn % 2 ? &a : &b, *rs = turn % 2 ? &b : &a;
        token *tok = &from->device;
        char text[32];

        now += 60;
        if (pq3_session_receipt_due(ss, NULL, now)) {
            CHECK_OK(pq3_session_seal_receipt(ss, NULL, &from->fx.device_signer, NULL, now,
                                              &from->fx.rng, msg, sizeof msg, &len));
            CHECK(published_ok(tok, msg + len - 64));
            CHECK_OK(pq3_session_open(rs, now, msg, len, body, sizeof body, &info));
            CHECK(info.content_type == PQ3_CONTENT_RECEIPT &&
                  info.body_len == PQ3_RECEIPT_BODY_BYTES);
            receipts++;
        }
        for (int k = 0; k < 2; k++) {
            snprintf(text, sizeof text, "turn %d message %d", turn, k);
            CHECK_OK(tk_send(from, ss, now, text, msg, sizeof msg, &len));
            CHECK(published_ok(tok, msg + len - 64));
            CHECK_OK(pq3_session_open(rs, now, msg, len, body, sizeof body, &info));
            CHECK(info.content_type == PQ3_CONTENT_MESSAGE && info.body_len == strlen(text) &&
                  memcmp(body, text, info.body_len) == 0);
        }
    }
    CHECKF(receipts == 8, "%u receipts", receipts);
    /* Both tokens returned high s, both were accepted by the peer. */
    CHECK(alice.device.high > 0 && alice.device.high < alice.device.calls);
    CHECK(bob.device.high > 0 && bob.device.high < bob.device.calls);

    pq3_session_wipe(&a);
    pq3_session_wipe(&b);
    pq3_prekey_secret_wipe(&prekey);
    tk_party_free(&alice);
    tk_party_free(&bob);
}

/* ---- signers that misbehave ---------------------------------------------- */

enum {
    B_GARBAGE,   /* 64 bytes in range that are no signature */
    B_OTHER_KEY, /* a valid signature under another key */
    B_R_ZERO,
    B_S_ZERO,
    B_S_N,
    B_R_N,
    B_ERROR,    /* writes, then returns an error of its own */
    B_POSITIVE, /* a valid signature, but returns 1 (no pq3_err) */
    B_MODES,
    B_HIGH = B_MODES /* not broken: a valid signature with high s */
};
static const char *const mode_name[B_MODES] = { "garbage", "other key", "r = 0", "s = 0",
                                                "s = n", "r = n", "error", "positive" };

typedef struct {
    int mode;
    unsigned calls;
    const pq3_soft_key *key, *other;
} broken;

static pq3_err broken_sign(void *ctx, uint8_t sig[PQ3_ECDSA_SIG_BYTES], const uint8_t *msg,
                           size_t len)
{
    broken *b = ctx;
    pq3_err err;

    b->calls++;
    switch (b->mode) {
    case B_GARBAGE:
        memset(sig, 0x5A, 64);
        return PQ3_OK;
    case B_OTHER_KEY:
        return pq3_ecdsa_sign(sig, b->other->priv, msg, len);
    case B_ERROR:
        memset(sig, 0x77, 64);
        return PQ3_ERR_IO;
    default:
        break;
    }
    if ((err = pq3_ecdsa_sign(sig, b->key->priv, msg, len)) != PQ3_OK)
        return err;
    switch (b->mode) {
    case B_R_ZERO:
        memset(sig, 0, 32);
        break;
    case B_S_ZERO:
        memset(sig + 32, 0, 32);
        break;
    case B_S_N:
        memcpy(sig + 32, pq3_p256_n, 32);
        break;
    case B_R_N:
        memcpy(sig, pq3_p256_n, 32);
        break;
    case B_POSITIVE:
        return 1;
    case B_HIGH:
        negate_s(sig + 32);
        break;
    default:
        break;
    }
    return PQ3_OK;
}

static pq3_err mode_error(int mode)
{
    return mode == B_ERROR ? PQ3_ERR_IO : PQ3_ERR_CRYPTO;
}

static pq3_signer broken_signer(broken *b, int mode, const pq3_soft_key *key,
                                const pq3_soft_key *other)
{
    pq3_signer s;
    b->mode = mode;
    b->calls = 0;
    b->key = key;
    b->other = other;
    s.ctx = b;
    s.sign = broken_sign;
    memcpy(s.pub, key->pub, 33);
    return s;
}

/* pq3_sign_checked itself: the output is written only for a good
 * signature, wiped otherwise. */
static void test_sign_checked(void)
{
    pq3_soft_key key, other;
    pq3_signer soft, sg;
    broken b;
    pq3_ecdsa_pub vk;
    uint8_t sig[64], want[64], msg[40];
    pq3t_drbg d;
    pq3_rng rng;

    pq3t_drbg_init(&d, "sign checked", 0);
    rng = pq3t_drbg_rng(&d);
    CHECK_OK(pq3_soft_key_generate(&key, &rng));
    CHECK_OK(pq3_soft_key_generate(&other, &rng));
    CHECK_OK(pq3_soft_signer(&soft, &key));
    CHECK_OK(pq3_ecdsa_import(&vk, key.pub));
    memset(msg, 0x42, sizeof msg);

    /* The software signer: exactly pq3_ecdsa_sign's signature. */
    CHECK_OK(pq3_ecdsa_sign(want, key.priv, msg, sizeof msg));
    CHECK_OK(pq3_sign_checked(&soft, sig, msg, sizeof msg));
    CHECK(memcmp(sig, want, 64) == 0);
    CHECK(pq3_soft_signer_key(&soft) == &key);

    for (int mode = 0; mode < B_MODES; mode++) {
        sg = broken_signer(&b, mode, &key, &other);
        CHECK(pq3_soft_signer_key(&sg) == NULL);
        memset(sig, 0xA5, sizeof sig);
        CHECK_ERR(pq3_sign_checked(&sg, sig, msg, sizeof msg), mode_error(mode));
        CHECKF(all_bytes(sig, 64, 0), "%s: output not wiped", mode_name[mode]);
        CHECKF(b.calls == 1, "%s: signer called %u times", mode_name[mode], b.calls);
    }

    /* The high-s twin of a good signature, which verifiers reject, from a
     * signer the library does not know: published as the low one. */
    {
        uint8_t hi[64];
        memcpy(hi, want, 64);
        negate_s(hi + 32);
        CHECK(is_high(hi) && !is_high(want));
        CHECK_ERR(pq3_ecdsa_verify(&vk, hi, msg, sizeof msg), PQ3_ERR_VERIFY);
        sg = broken_signer(&b, B_HIGH, &key, &other);
        memset(sig, 0xA5, sizeof sig);
        CHECK_OK(pq3_sign_checked(&sg, sig, msg, sizeof msg));
        CHECK(memcmp(sig, want, 64) == 0 && b.calls == 1);
        CHECK_OK(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg));
    }

    /* The software signer's function with another key behind it, or with
     * another key named: checked like any signer, and caught. */
    sg = soft;
    sg.ctx = &other;
    memset(sig, 0xA5, sizeof sig);
    CHECK_ERR(pq3_sign_checked(&sg, sig, msg, sizeof msg), PQ3_ERR_CRYPTO);
    CHECK(all_bytes(sig, 64, 0));
    sg = soft;
    memcpy(sg.pub, other.pub, 33);
    CHECK_ERR(pq3_sign_checked(&sg, sig, msg, sizeof msg), PQ3_ERR_CRYPTO);
    sg = soft;
    sg.ctx = NULL;
    CHECK_ERR(pq3_sign_checked(&sg, sig, msg, sizeof msg), PQ3_ERR_ARG);

    /* A signer naming no valid key: caller misuse, found before signing. */
    sg = broken_signer(&b, B_GARBAGE, &key, &other);
    sg.pub[0] = 0x05;
    memset(sig, 0xA5, sizeof sig);
    CHECK_ERR(pq3_sign_checked(&sg, sig, msg, sizeof msg), PQ3_ERR_ARG);
    CHECK(b.calls == 0 && all_bytes(sig, 64, 0));

    /* Arguments. */
    CHECK_ERR(pq3_sign_checked(NULL, sig, msg, sizeof msg), PQ3_ERR_ARG);
    CHECK_ERR(pq3_sign_checked(&soft, NULL, msg, sizeof msg), PQ3_ERR_ARG);
    CHECK_ERR(pq3_sign_checked(&soft, sig, NULL, 1), PQ3_ERR_ARG);
    sg = soft;
    sg.sign = NULL;
    CHECK_ERR(pq3_sign_checked(&sg, sig, msg, sizeof msg), PQ3_ERR_ARG);
    CHECK(pq3_soft_signer_key(NULL) == NULL);

    pq3_soft_key_wipe(&key);
    pq3_soft_key_wipe(&other);
}

/* A failing seal on a session: the error, the session byte-identical, the
 * message buffer wiped over the length the message would have had. */
static void check_seal_fails(pq3_session *s, fx_party *from, const pq3_signer *sg, int receipt,
                             pq3_err want, const char *what)
{
    static uint8_t out[8192], ok_out[8192];
    pq3_session before, copy;
    uint8_t *st0, *st1;
    size_t len0, len1, len = 77, need;
    pq3_err err;

    memcpy(&before, s, sizeof before);
    memcpy(&copy, s, sizeof copy);
    st0 = fx_state(s, &len0);
    memset(out, 0xA5, sizeof out);
    if (receipt)
        err = pq3_session_seal_receipt(s, NULL, sg, NULL, FX_T0 + 5, &from->rng, out,
                                       sizeof out, &len);
    else
        err = pq3_session_seal(s, sg, NULL, FX_T0 + 5, &from->rng, PQ3_CONTENT_MESSAGE,
                               (const uint8_t *)"ping", 4, NULL, 0, out, sizeof out, &len);
    CHECKF(err == want, "%s: returned %d, expected %d", what, err, want);
    CHECKF(memcmp(&before, s, sizeof before) == 0, "%s: session changed", what);
    st1 = fx_state(s, &len1);
    CHECK(st0 != NULL && st1 != NULL && len0 == len1 && memcmp(st0, st1, len0) == 0);
    CHECKF(len == 77, "%s: *out_len written", what);
    /* The length the message has: the same seal with the right signer. */
    if (receipt)
        CHECK_OK(pq3_session_seal_receipt(&copy, NULL, &from->device_signer, NULL, FX_T0 + 5,
                                          &from->rng, ok_out, sizeof ok_out, &need));
    else
        CHECK_OK(pq3_session_seal(&copy, &from->device_signer, NULL, FX_T0 + 5, &from->rng,
                                  PQ3_CONTENT_MESSAGE, (const uint8_t *)"ping", 4, NULL, 0,
                                  ok_out, sizeof ok_out, &need));
    CHECKF(all_bytes(out, need, 0), "%s: message not wiped", what);
    CHECKF(all_bytes(out + need, sizeof out - need, 0xA5), "%s: written past the message",
           what);
    pq3_session_wipe(&copy);
    pq3_wipe(&before, sizeof before);
    free(st0);
    free(st1);
}

static void test_broken_signers(void)
{
    static fx_pair x;
    pq3_soft_key other;
    pq3_device_cert cert;
    pq3_prekey_secret sk;
    pq3_signer sg;
    broken b;
    uint8_t out[PQ3_CERT_MAX_BYTES], msg[8192], body[8192];
    size_t len;
    pq3_opened info;
    char what[64];

    CHECK(fx_pair_init(&x, 4));
    CHECK_OK(pq3_soft_key_generate(&other, &x.alice.rng));
    CHECK(pq3_session_receipt_due(&x.b, NULL, FX_T0 + 5));

    for (int mode = 0; mode < B_MODES; mode++) {
        pq3_err want = mode_error(mode);

        /* Certificate: nothing written. */
        sg = broken_signer(&b, mode, &x.alice.account, &other);
        memcpy(&cert, &x.alice.cert, sizeof cert);
        memset(out, 0xA5, sizeof out);
        len = 77;
        CHECK_ERR(pq3_cert_issue(out, sizeof out, &len, &cert, &sg), want);
        CHECKF(all_bytes(out, sizeof out, 0xA5) && len == 77 &&
                   memcmp(&cert, &x.alice.cert, sizeof cert) == 0,
               "cert, %s: output written", mode_name[mode]);
        CHECK(b.calls == 1);

        /* Prekey: the secret wiped. */
        sg = broken_signer(&b, mode, &x.bob.device, &other);
        memset(&sk, 0xA5, sizeof sk);
        CHECK_ERR(pq3_prekey_generate(&sk, 3, FX_T0, FX_T0 + FX_DAY, &sg, &x.bob.rng), want);
        CHECKF(all_bytes((const uint8_t *)&sk, sizeof sk, 0), "prekey, %s: not wiped",
               mode_name[mode]);

        /* Seal within a chain (alice), at a direction change (bob), and a
         * receipt (bob, due since alice's first message). */
        sg = broken_signer(&b, mode, &x.alice.device, &other);
        snprintf(what, sizeof what, "seal in chain, %s", mode_name[mode]);
        check_seal_fails(&x.a, &x.alice, &sg, 0, want, what);
        sg = broken_signer(&b, mode, &x.bob.device, &other);
        snprintf(what, sizeof what, "seal at direction change, %s", mode_name[mode]);
        check_seal_fails(&x.b, &x.bob, &sg, 0, want, what);
        snprintf(what, sizeof what, "receipt, %s", mode_name[mode]);
        check_seal_fails(&x.b, &x.bob, &sg, 1, want, what);
    }

    /* After all that, both sessions still work with their real signers. */
    CHECK_OK(pq3_session_seal(&x.a, &x.alice.device_signer, NULL, FX_T0 + 6, &x.alice.rng,
                              PQ3_CONTENT_MESSAGE, (const uint8_t *)"still", 5, NULL, 0, msg,
                              sizeof msg, &len));
    CHECK_OK(pq3_session_open(&x.b, FX_T0 + 6, msg, len, body, sizeof body, &info));
    CHECK(info.body_len == 5 && memcmp(body, "still", 5) == 0);
    CHECK_OK(pq3_session_seal_receipt(&x.b, NULL, &x.bob.device_signer, NULL, FX_T0 + 7,
                                      &x.bob.rng, msg, sizeof msg, &len));
    CHECK_OK(pq3_session_open(&x.a, FX_T0 + 7, msg, len, body, sizeof body, &info));
    CHECK(info.content_type == PQ3_CONTENT_RECEIPT);

    pq3_session_wipe(&x.a);
    pq3_session_wipe(&x.b);
    pq3_prekey_secret_wipe(&x.prekey);
    pq3_soft_key_wipe(&other);
}

int main(void)
{
    test_sign_checked();
    test_token_certs();
    test_token_prekeys();
    test_token_messages();
    test_broken_signers();
    /* Both halves occurred, and every high s was published as n - s. */
    CHECKF(total_high > 0 && total_calls - total_high > 0, "%u high of %u", total_high,
           total_calls);
    CHECKF(normalised == total_high, "%u of %u high-s signatures normalised", normalised,
           total_high);
    printf("test_signer: %u token signatures, %u high s normalised\n", total_calls, normalised);
    return pq3t_finish();
}
