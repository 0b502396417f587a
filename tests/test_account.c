/* Accounts: the device list and the link request (docs/PROTOCOL.md §19;
 * src/protocol/account.c), and the device layer's payload and link
 * response (src/device/payload.c). */
#include <string.h>

#include "crypto/p256.h"
#include "device/payload.h"
#include "pq3/account.h"
#include "protocol_fixture.h"

#define HANDLE "mailto:acct@example.org"
#define NDEV 3

static pq3_soft_key dev_keys[PQ3_ACCOUNT_MAX_DEVICES + 1];
static fx_party acct, other;

static void keys_init(void)
{
    pq3t_drbg d;
    pq3_rng rng;
    pq3t_drbg_init(&d, "account devices", 0);
    rng = pq3t_drbg_rng(&d);
    for (unsigned i = 0; i < PQ3_ACCOUNT_MAX_DEVICES + 1; i++)
        CHECK_OK(pq3_soft_key_generate(&dev_keys[i], &rng));
    CHECK(fx_party_init(&acct, HANDLE, "acct", 1));
    CHECK(fx_party_init(&other, HANDLE, "other", 1));
}

/* n devices, given in decreasing id order so that signing must sort them. */
static void make_list(pq3_device_list *l, unsigned n, uint64_t version)
{
    memset(l, 0, sizeof *l);
    l->handle_len = (uint8_t)strlen(HANDLE);
    memcpy(l->handle, HANDLE, l->handle_len);
    l->version = version;
    l->created = FX_T0;
    l->count = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        memset(l->devices[i].device_id, 0x10 + (int)(n - i), PQ3_DEVICE_ID_BYTES);
        memcpy(l->devices[i].auth_pub, dev_keys[n - 1 - i].pub, PQ3_ECDSA_PUB_BYTES);
    }
}

/* ---- a signer that returns the high-s twin (§5) --------------------------- */

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

static unsigned high_calls;

static pq3_err high_sign(void *ctx, uint8_t sig[PQ3_ECDSA_SIG_BYTES], const uint8_t *msg,
                         size_t len)
{
    const pq3_soft_key *k = ctx;
    pq3_err err = pq3_ecdsa_sign(sig, k->priv, msg, len);
    if (err == PQ3_OK) {
        negate_s(sig + 32);
        high_calls += (unsigned)is_high(sig);
    }
    return err;
}

static pq3_signer high_signer(pq3_soft_key *k)
{
    pq3_signer s;
    s.ctx = k;
    s.sign = high_sign;
    memcpy(s.pub, k->pub, PQ3_ECDSA_PUB_BYTES);
    return s;
}

/* ---- device list (§19.1) ------------------------------------------------- */

static void test_list_roundtrip(void)
{
    pq3_device_list l, v, before;
    uint8_t enc[PQ3_DEVICE_LIST_MAX_BYTES], m[PQ3_DEVICE_LIST_MAX_BYTES + 1];
    size_t len, need;
    uint32_t idx;

    make_list(&l, NDEV, 7);
    CHECK_OK(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer));
    CHECK(len == 2 + 2 + strlen(HANDLE) + 8 + 8 + 1 + NDEV * (16 + 33) + 64);
    /* Sorted by id, strictly increasing (§19.1). */
    for (unsigned i = 1; i < l.count; i++)
        CHECK(memcmp(l.devices[i - 1].device_id, l.devices[i].device_id, 16) < 0);
    CHECK(l.devices[0].device_id[0] == 0x11 && memcmp(l.devices[0].auth_pub, dev_keys[0].pub, 33) == 0);

    CHECK_OK(pq3_device_list_verify(&v, enc, len, acct.account.pub));
    CHECK(v.verified == 1 && v.version == 7 && v.created == FX_T0 && v.count == NDEV);
    CHECK(v.handle_len == strlen(HANDLE) && memcmp(v.handle, HANDLE, v.handle_len) == 0);
    CHECK(memcmp(v.devices, l.devices, sizeof l.devices[0] * NDEV) == 0);
    CHECK(memcmp(v.signature, l.signature, 64) == 0);
    CHECK_OK(pq3_device_list_decode(&v, enc, len));
    CHECK(v.verified == 0);

    /* Deterministic; buffer too small reports the size. */
    CHECK_OK(pq3_device_list_sign(m, sizeof m, &need, &l, &acct.account_signer));
    CHECK(need == len && memcmp(m, enc, len) == 0);
    CHECK_ERR(pq3_device_list_sign(m, len - 1, &need, &l, &acct.account_signer), PQ3_ERR_BUFFER);
    CHECK(need == len);
    CHECK_ERR(pq3_device_list_sign(NULL, 0, &need, &l, &acct.account_signer), PQ3_ERR_BUFFER);
    CHECK(need == len);

    /* Find. */
    {
        uint8_t id[16];
        memset(id, 0x12, 16);
        CHECK_OK(pq3_device_list_find(&v, id, &idx));
        CHECK(idx == 1);
        memset(id, 0x11, 16);
        CHECK_OK(pq3_device_list_find(&v, id, &idx));
        CHECK(idx == 0);
        memset(id, 0x14, 16);
        CHECK_ERR(pq3_device_list_find(&v, id, &idx), PQ3_ERR_UNKNOWN);
        CHECK_ERR(pq3_device_list_find(NULL, id, &idx), PQ3_ERR_ARG);
        CHECK_ERR(pq3_device_list_find(&v, NULL, &idx), PQ3_ERR_ARG);
        CHECK_ERR(pq3_device_list_find(&v, id, NULL), PQ3_ERR_ARG);
    }

    /* Another account's key. */
    CHECK_ERR(pq3_device_list_verify(&v, enc, len, other.account.pub), PQ3_ERR_VERIFY);
    {
        uint8_t bad[33];
        memset(bad, 0xFF, sizeof bad);
        bad[0] = 0x02;
        CHECK_ERR(pq3_device_list_verify(&v, enc, len, bad), PQ3_ERR_KEY);
    }

    /* Every single-byte change fails, *list untouched. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            memcpy(m, enc, len);
            m[i] ^= (uint8_t)(1u << bit);
            memset(&v, 0x5A, sizeof v);
            before = v;
            CHECKF(pq3_device_list_verify(&v, m, len, acct.account.pub) != PQ3_OK, "byte %zu", i);
            CHECK(memcmp(&v, &before, sizeof v) == 0);
        }
    }
    /* Truncation at every length, a trailing byte. */
    for (size_t n = 0; n < len; n++) {
        CHECKF(pq3_device_list_decode(&v, enc, n) == PQ3_ERR_DECODE, "length %zu", n);
        CHECKF(pq3_device_list_verify(&v, enc, n, acct.account.pub) == PQ3_ERR_DECODE,
               "length %zu", n);
    }
    memcpy(m, enc, len);
    m[len] = 0;
    CHECK_ERR(pq3_device_list_decode(&v, m, len + 1), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_device_list_verify(&v, m, len + 1, acct.account.pub), PQ3_ERR_DECODE);
    /* Version and type bytes. */
    memcpy(m, enc, len);
    m[0] = 2;
    CHECK_ERR(pq3_device_list_decode(&v, m, len), PQ3_ERR_VERSION);
    m[0] = 1;
    m[1] = PQ3_TYPE_LINK_REQUEST;
    CHECK_ERR(pq3_device_list_decode(&v, m, len), PQ3_ERR_VERSION);
    CHECK_ERR(pq3_device_list_verify(&v, m, len, acct.account.pub), PQ3_ERR_VERSION);

    /* Arguments. */
    CHECK_ERR(pq3_device_list_decode(NULL, enc, len), PQ3_ERR_ARG);
    CHECK_ERR(pq3_device_list_decode(&v, NULL, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_device_list_verify(&v, enc, len, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_device_list_sign(enc, sizeof enc, &len, NULL, &acct.account_signer), PQ3_ERR_ARG);
    CHECK_ERR(pq3_device_list_sign(enc, sizeof enc, &len, &l, NULL), PQ3_ERR_ARG);
}

/* The largest list: 16 devices, a 255-byte handle: exactly the maximum. */
static void test_list_max(void)
{
    pq3_device_list l, v;
    uint8_t enc[PQ3_DEVICE_LIST_MAX_BYTES];
    size_t len;

    make_list(&l, PQ3_ACCOUNT_MAX_DEVICES, 1);
    l.handle_len = PQ3_HANDLE_MAX;
    memset(l.handle, 'h', PQ3_HANDLE_MAX);
    CHECK_OK(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer));
    CHECK(len == PQ3_DEVICE_LIST_MAX_BYTES);
    CHECK_OK(pq3_device_list_verify(&v, enc, len, acct.account.pub));
    CHECK(v.count == PQ3_ACCOUNT_MAX_DEVICES);
}

/* Refused at signing (PQ3_ERR_ARG) and, built by hand with a valid
 * signature over the bad body, at decoding (PQ3_ERR_DECODE). */
static size_t hand_list(uint8_t *out, const pq3_device_list *l, unsigned count)
{
    uint8_t tbs[64 + PQ3_DEVICE_LIST_MAX_BYTES + 64];
    size_t n = 0, lab = sizeof "OpenPQ3 v1 device list" - 1;
    out[n++] = 1;
    out[n++] = PQ3_TYPE_DEVICE_LIST;
    out[n++] = 0;
    out[n++] = l->handle_len;
    memcpy(out + n, l->handle, l->handle_len);
    n += l->handle_len;
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t)(l->version >> (8 * i));
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t)(l->created >> (8 * i));
    out[n++] = (uint8_t)count;
    for (unsigned i = 0; i < count; i++) {
        memcpy(out + n, l->devices[i % PQ3_ACCOUNT_MAX_DEVICES].device_id, 16);
        memcpy(out + n + 16, l->devices[i % PQ3_ACCOUNT_MAX_DEVICES].auth_pub, 33);
        n += 49;
    }
    memcpy(tbs, "OpenPQ3 v1 device list", lab);
    memcpy(tbs + lab, acct.account.pub, 33);
    memcpy(tbs + lab + 33, out, n);
    CHECK_OK(pq3_ecdsa_sign(out + n, acct.account.priv, tbs, lab + 33 + n));
    return n + 64;
}

static void test_list_refused(void)
{
    pq3_device_list l, v;
    uint8_t enc[PQ3_DEVICE_LIST_MAX_BYTES + 49 + 64], m[sizeof enc];
    size_t len;

    /* The hand encoder agrees with the library on a good list. */
    make_list(&l, NDEV, 3);
    CHECK_OK(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer));
    CHECK(hand_list(m, &l, NDEV) == len && memcmp(m, enc, len) == 0);

    /* Duplicate ids. */
    make_list(&l, NDEV, 3);
    memcpy(l.devices[2].device_id, l.devices[0].device_id, 16);
    CHECK_ERR(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer), PQ3_ERR_ARG);
    make_list(&l, NDEV, 3);
    memcpy(l.devices[1].device_id, l.devices[0].device_id, 16);
    len = hand_list(m, &l, NDEV);
    CHECK_ERR(pq3_device_list_decode(&v, m, len), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_device_list_verify(&v, m, len, acct.account.pub), PQ3_ERR_DECODE);
    /* Decreasing ids (unsorted on the wire). */
    make_list(&l, NDEV, 3);
    len = hand_list(m, &l, NDEV);
    CHECK_ERR(pq3_device_list_decode(&v, m, len), PQ3_ERR_DECODE);

    /* Count 0 and count 17. */
    make_list(&l, NDEV, 3);
    l.count = 0;
    CHECK_ERR(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer), PQ3_ERR_ARG);
    l.count = PQ3_ACCOUNT_MAX_DEVICES + 1;
    CHECK_ERR(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer), PQ3_ERR_ARG);
    make_list(&l, 1, 3);
    len = hand_list(m, &l, 0);
    CHECK_ERR(pq3_device_list_decode(&v, m, len), PQ3_ERR_DECODE);
    make_list(&l, PQ3_ACCOUNT_MAX_DEVICES, 3);
    for (unsigned i = 0; i < PQ3_ACCOUNT_MAX_DEVICES; i++)
        memset(l.devices[i].device_id, 0x20 + (int)i, 16); /* increasing */
    len = hand_list(m, &l, PQ3_ACCOUNT_MAX_DEVICES);
    CHECK_OK(pq3_device_list_verify(&v, m, len, acct.account.pub));
    /* Count 17: the decoder refuses the count before reading entries. */
    len = hand_list(m, &l, PQ3_ACCOUNT_MAX_DEVICES + 1);
    CHECK_ERR(pq3_device_list_decode(&v, m, len), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_device_list_verify(&v, m, len, acct.account.pub), PQ3_ERR_DECODE);

    /* Version 0. */
    make_list(&l, NDEV, 0);
    CHECK_ERR(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer), PQ3_ERR_ARG);
    make_list(&l, 1, 0);
    len = hand_list(m, &l, 1);
    CHECK_ERR(pq3_device_list_decode(&v, m, len), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_device_list_verify(&v, m, len, acct.account.pub), PQ3_ERR_DECODE);

    /* Empty handle. */
    make_list(&l, 1, 1);
    l.handle_len = 0;
    CHECK_ERR(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer), PQ3_ERR_ARG);
    len = hand_list(m, &l, 1);
    CHECK_ERR(pq3_device_list_decode(&v, m, len), PQ3_ERR_DECODE);

    /* An invalid device key: refused by sign, PQ3_ERR_KEY at verify when
     * signed by hand (decoding alone does not look at keys). */
    make_list(&l, NDEV, 3);
    l.devices[1].auth_pub[0] = 0x04;
    CHECK_ERR(pq3_device_list_sign(enc, sizeof enc, &len, &l, &acct.account_signer), PQ3_ERR_ARG);
    make_list(&l, 1, 3);
    l.devices[0].auth_pub[0] = 0x04;
    len = hand_list(m, &l, 1);
    CHECK_OK(pq3_device_list_decode(&v, m, len));
    CHECK_ERR(pq3_device_list_verify(&v, m, len, acct.account.pub), PQ3_ERR_KEY);
}

static void test_list_high_s(void)
{
    pq3_device_list l, v;
    pq3_signer hs = high_signer(&acct.account);
    uint8_t enc[PQ3_DEVICE_LIST_MAX_BYTES], want[PQ3_DEVICE_LIST_MAX_BYTES];
    size_t len, wlen;
    unsigned h0 = high_calls;

    make_list(&l, NDEV, 2);
    CHECK_OK(pq3_device_list_sign(want, sizeof want, &wlen, &l, &acct.account_signer));
    CHECK_OK(pq3_device_list_sign(enc, sizeof enc, &len, &l, &hs));
    CHECK(high_calls == h0 + 1);
    CHECK(!is_high(enc + len - 64) && !is_high(l.signature));
    CHECK(len == wlen && memcmp(enc, want, len) == 0);
    CHECK_OK(pq3_device_list_verify(&v, enc, len, acct.account.pub));
}

/* ---- link request (§19.2) ------------------------------------------------ */

static void make_req(pq3_link_request *q, uint64_t created)
{
    memset(q, 0, sizeof *q);
    q->handle_len = (uint8_t)strlen(HANDLE);
    memcpy(q->handle, HANDLE, q->handle_len);
    memset(q->device_id, 0x77, 16);
    q->versions[0] = 1;
    q->versions[1] = 3;
    q->n_versions = 2;
    q->created = created;
}

static void test_link_request(void)
{
    pq3_link_request q, v, before;
    pq3_signer sg;
    uint8_t enc[PQ3_LINK_REQUEST_MAX_BYTES], m[PQ3_LINK_REQUEST_MAX_BYTES + 1];
    size_t len, need;
    const uint64_t now = FX_T0;

    CHECK_OK(pq3_soft_signer(&sg, &dev_keys[0]));
    make_req(&q, now);
    memset(q.auth_pub, 0xEE, 33); /* replaced by the signer's key */
    CHECK_OK(pq3_link_request_sign(enc, sizeof enc, &len, &q, &sg));
    CHECK(len == 2 + 2 + strlen(HANDLE) + 16 + 33 + 1 + 2 + 8 + 64);
    CHECK(memcmp(q.auth_pub, dev_keys[0].pub, 33) == 0);
    CHECK_OK(pq3_link_request_verify(&v, enc, len, now));
    CHECK(memcmp(&v, &q, sizeof v) == 0);
    CHECK_OK(pq3_link_request_sign(m, sizeof m, &need, &q, &sg));
    CHECK(need == len && memcmp(m, enc, len) == 0);
    CHECK_ERR(pq3_link_request_sign(m, len - 1, &need, &q, &sg), PQ3_ERR_BUFFER);
    CHECK(need == len);

    /* Age limits: PQ3_LINK_MAX_AGE before now, PQ3_CLOCK_SKEW after. */
    make_req(&q, now - PQ3_LINK_MAX_AGE);
    CHECK_OK(pq3_link_request_sign(m, sizeof m, &need, &q, &sg));
    CHECK_OK(pq3_link_request_verify(&v, m, need, now));
    CHECK_ERR(pq3_link_request_verify(&v, m, need, now + 1), PQ3_ERR_EXPIRED);
    make_req(&q, now - PQ3_LINK_MAX_AGE - 1);
    CHECK_OK(pq3_link_request_sign(m, sizeof m, &need, &q, &sg));
    CHECK_ERR(pq3_link_request_verify(&v, m, need, now), PQ3_ERR_EXPIRED);
    make_req(&q, now + PQ3_CLOCK_SKEW);
    CHECK_OK(pq3_link_request_sign(m, sizeof m, &need, &q, &sg));
    CHECK_OK(pq3_link_request_verify(&v, m, need, now));
    make_req(&q, now + PQ3_CLOCK_SKEW + 1);
    CHECK_OK(pq3_link_request_sign(m, sizeof m, &need, &q, &sg));
    memset(&v, 0x5A, sizeof v);
    before = v;
    CHECK_ERR(pq3_link_request_verify(&v, m, need, now), PQ3_ERR_EXPIRED);
    CHECK(memcmp(&v, &before, sizeof v) == 0);

    /* Every single-byte change fails, *req untouched. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            memcpy(m, enc, len);
            m[i] ^= (uint8_t)(1u << bit);
            memset(&v, 0x5A, sizeof v);
            before = v;
            CHECKF(pq3_link_request_verify(&v, m, len, now) != PQ3_OK, "byte %zu", i);
            CHECK(memcmp(&v, &before, sizeof v) == 0);
        }
    }
    /* Truncation, trailing byte, version and type bytes. */
    for (size_t n = 0; n < len; n++)
        CHECKF(pq3_link_request_verify(&v, enc, n, now) == PQ3_ERR_DECODE, "length %zu", n);
    memcpy(m, enc, len);
    m[len] = 0;
    CHECK_ERR(pq3_link_request_verify(&v, m, len + 1, now), PQ3_ERR_DECODE);
    memcpy(m, enc, len);
    m[0] = 0;
    CHECK_ERR(pq3_link_request_verify(&v, m, len, now), PQ3_ERR_VERSION);
    m[0] = 1;
    m[1] = PQ3_TYPE_DEVICE_LIST;
    CHECK_ERR(pq3_link_request_verify(&v, m, len, now), PQ3_ERR_VERSION);

    /* Bad fields refused at signing. */
    make_req(&q, now);
    q.handle_len = 0;
    CHECK_ERR(pq3_link_request_sign(m, sizeof m, &need, &q, &sg), PQ3_ERR_ARG);
    make_req(&q, now);
    q.n_versions = 0;
    CHECK_ERR(pq3_link_request_sign(m, sizeof m, &need, &q, &sg), PQ3_ERR_ARG);
    make_req(&q, now);
    q.versions[1] = 1;
    CHECK_ERR(pq3_link_request_sign(m, sizeof m, &need, &q, &sg), PQ3_ERR_ARG);
    make_req(&q, now);
    q.n_versions = PQ3_CERT_MAX_VERSIONS + 1;
    CHECK_ERR(pq3_link_request_sign(m, sizeof m, &need, &q, &sg), PQ3_ERR_ARG);
    CHECK_ERR(pq3_link_request_sign(m, sizeof m, &need, NULL, &sg), PQ3_ERR_ARG);
    CHECK_ERR(pq3_link_request_sign(m, sizeof m, &need, &q, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_link_request_verify(NULL, enc, len, now), PQ3_ERR_ARG);

    /* A high-s signer: the published request carries the low twin. */
    {
        pq3_signer hs = high_signer(&dev_keys[0]);
        unsigned h0 = high_calls;
        make_req(&q, now);
        CHECK_OK(pq3_link_request_sign(m, sizeof m, &need, &q, &hs));
        CHECK(high_calls == h0 + 1);
        CHECK(need == len && memcmp(m, enc, len) == 0 && !is_high(q.signature));
        CHECK_OK(pq3_link_request_verify(&v, m, need, now));
    }
}

/* ---- payload and link response (src/device/payload.c) -------------------- */

static void test_payload(void)
{
    static uint8_t enc[PQ3_PAYLOAD_MAX_BYTES + 1], text[PQ3_DEVICE_MAX_TEXT + 1];
    pq3_payload p, v, before;
    size_t len;

    memset(text, 't', sizeof text);
    memset(&p, 0, sizeof p);
    p.kind = PQ3_PAYLOAD_MESSAGE;
    memset(p.msg_id, 0x42, sizeof p.msg_id);
    p.sent = FX_T0;
    p.text = text;
    p.text_len = 5;
    CHECK_OK(pq3_payload_encode(enc, &len, &p));
    CHECK(len == 3 + 16 + 8 + 4 + 5);
    CHECK_OK(pq3_payload_decode(&v, enc, len));
    CHECK(v.kind == p.kind && v.sent == p.sent && memcmp(v.msg_id, p.msg_id, 16) == 0 &&
          v.text_len == 5 && memcmp(v.text, text, 5) == 0 && v.peer_handle == NULL);
    for (size_t n = 0; n < len; n++)
        CHECKF(pq3_payload_decode(&v, enc, n) == PQ3_ERR_DECODE, "length %zu", n);
    enc[len] = 0;
    CHECK_ERR(pq3_payload_decode(&v, enc, len + 1), PQ3_ERR_DECODE);
    enc[0] = 2;
    CHECK_ERR(pq3_payload_decode(&v, enc, len), PQ3_ERR_VERSION);
    enc[0] = 1;
    enc[1] = PQ3_TYPE_LINK_RESPONSE;
    CHECK_ERR(pq3_payload_decode(&v, enc, len), PQ3_ERR_VERSION);
    enc[1] = PQ3_TYPE_PAYLOAD;
    /* Bad kinds, *p untouched. */
    for (unsigned k = 0; k < 256; k++) {
        if (k == PQ3_PAYLOAD_MESSAGE || k == PQ3_PAYLOAD_SENT)
            continue;
        enc[2] = (uint8_t)k;
        memset(&v, 0x5A, sizeof v);
        before = v;
        CHECKF(pq3_payload_decode(&v, enc, len) == PQ3_ERR_DECODE, "kind %u", k);
        CHECK(memcmp(&v, &before, sizeof v) == 0);
        p.kind = (uint8_t)k;
        CHECK_ERR(pq3_payload_encode(enc + 512, &len, &p), PQ3_ERR_ARG);
        p.kind = PQ3_PAYLOAD_MESSAGE;
    }
    CHECK_OK(pq3_payload_encode(enc, &len, &p));

    /* Empty text, the longest text, one byte over. */
    p.text_len = 0;
    CHECK_OK(pq3_payload_encode(enc, &len, &p));
    CHECK_OK(pq3_payload_decode(&v, enc, len));
    CHECK(v.text_len == 0);
    p.text_len = PQ3_DEVICE_MAX_TEXT;
    CHECK_OK(pq3_payload_encode(enc, &len, &p));
    CHECK_OK(pq3_payload_decode(&v, enc, len));
    CHECK(v.text_len == PQ3_DEVICE_MAX_TEXT);
    p.text_len = PQ3_DEVICE_MAX_TEXT + 1;
    CHECK_ERR(pq3_payload_encode(enc, &len, &p), PQ3_ERR_ARG);
    /* Over the limit by hand: length field 60001 and the bytes. */
    p.text_len = PQ3_DEVICE_MAX_TEXT;
    CHECK_OK(pq3_payload_encode(enc, &len, &p));
    enc[len - PQ3_DEVICE_MAX_TEXT - 1] += 1; /* 60000 = 0x0000EA60: low byte */
    enc[len] = 't';
    CHECK_ERR(pq3_payload_decode(&v, enc, len + 1), PQ3_ERR_DECODE);
    p.text = NULL;
    p.text_len = 1;
    CHECK_ERR(pq3_payload_encode(enc, &len, &p), PQ3_ERR_ARG);
    p.text = text;
    p.text_len = 5;

    /* SENT: with the recipient's handle; without one refused both ways. */
    p.kind = PQ3_PAYLOAD_SENT;
    p.peer_handle = (const uint8_t *)HANDLE;
    p.peer_handle_len = strlen(HANDLE);
    CHECK_OK(pq3_payload_encode(enc, &len, &p));
    CHECK(len == 3 + 16 + 8 + 2 + strlen(HANDLE) + 4 + 5);
    CHECK_OK(pq3_payload_decode(&v, enc, len));
    CHECK(v.kind == PQ3_PAYLOAD_SENT && v.peer_handle_len == strlen(HANDLE) &&
          memcmp(v.peer_handle, HANDLE, v.peer_handle_len) == 0 && v.text_len == 5);
    for (size_t n = 0; n < len; n++)
        CHECKF(pq3_payload_decode(&v, enc, n) == PQ3_ERR_DECODE, "length %zu", n);
    p.peer_handle_len = 0;
    CHECK_ERR(pq3_payload_encode(enc, &len, &p), PQ3_ERR_ARG);
    p.peer_handle = NULL;
    p.peer_handle_len = 3;
    CHECK_ERR(pq3_payload_encode(enc, &len, &p), PQ3_ERR_ARG);
    p.peer_handle = text;
    p.peer_handle_len = PQ3_HANDLE_MAX + 1;
    CHECK_ERR(pq3_payload_encode(enc, &len, &p), PQ3_ERR_ARG);
    /* A SENT kind byte over a MESSAGE body: no handle length on the wire. */
    {
        uint8_t hb[3 + 16 + 8 + 2 + 4];
        memset(hb, 0, sizeof hb);
        hb[0] = 1;
        hb[1] = PQ3_TYPE_PAYLOAD;
        hb[2] = PQ3_PAYLOAD_SENT; /* handle length 0, text length 0 */
        CHECK_ERR(pq3_payload_decode(&v, hb, sizeof hb), PQ3_ERR_DECODE);
    }
    CHECK_ERR(pq3_payload_decode(NULL, enc, len), PQ3_ERR_ARG);
    CHECK_ERR(pq3_payload_encode(NULL, &len, &p), PQ3_ERR_ARG);
}

static void test_link_response(void)
{
    pq3_device_list l;
    pq3_link_response r, v;
    uint8_t list[PQ3_DEVICE_LIST_MAX_BYTES], enc[2048], m[2049];
    size_t list_len, len, need;

    make_list(&l, NDEV, 4);
    CHECK_OK(pq3_device_list_sign(list, sizeof list, &list_len, &l, &acct.account_signer));
    r.account_pub = acct.account.pub;
    r.cert = acct.cert_enc;
    r.cert_len = acct.cert_len;
    r.list = list;
    r.list_len = list_len;
    CHECK_ERR(pq3_link_response_encode(NULL, 0, &need, &r), PQ3_ERR_BUFFER);
    CHECK(need == 2 + 33 + 2 + acct.cert_len + 2 + list_len);
    CHECK_ERR(pq3_link_response_encode(enc, need - 1, &len, &r), PQ3_ERR_BUFFER);
    CHECK_OK(pq3_link_response_encode(enc, sizeof enc, &len, &r));
    CHECK(len == need);
    CHECK_OK(pq3_link_response_decode(&v, enc, len));
    CHECK(memcmp(v.account_pub, acct.account.pub, 33) == 0 && v.cert_len == acct.cert_len &&
          memcmp(v.cert, acct.cert_enc, v.cert_len) == 0 && v.list_len == list_len &&
          memcmp(v.list, list, list_len) == 0);
    for (size_t n = 0; n < len; n++)
        CHECKF(pq3_link_response_decode(&v, enc, n) == PQ3_ERR_DECODE, "length %zu", n);
    memcpy(m, enc, len);
    m[len] = 0;
    CHECK_ERR(pq3_link_response_decode(&v, m, len + 1), PQ3_ERR_DECODE);
    m[0] = 2;
    CHECK_ERR(pq3_link_response_decode(&v, m, len), PQ3_ERR_VERSION);
    m[0] = 1;
    m[1] = PQ3_TYPE_PAYLOAD;
    CHECK_ERR(pq3_link_response_decode(&v, m, len), PQ3_ERR_VERSION);

    /* Zero-length certificate or list: refused both ways. */
    r.cert_len = 0;
    CHECK_ERR(pq3_link_response_encode(enc, sizeof enc, &len, &r), PQ3_ERR_ARG);
    r.cert_len = acct.cert_len;
    r.list_len = 0;
    CHECK_ERR(pq3_link_response_encode(enc, sizeof enc, &len, &r), PQ3_ERR_ARG);
    r.list_len = list_len;
    {
        /* 01 0D A 0000 (no cert) 0001 'x', and A 0001 'x' 0000 (no list). */
        uint8_t h[2 + 33 + 2 + 2 + 1];
        h[0] = 1;
        h[1] = PQ3_TYPE_LINK_RESPONSE;
        memcpy(h + 2, acct.account.pub, 33);
        h[35] = 0, h[36] = 0, h[37] = 0, h[38] = 1, h[39] = 'x';
        CHECK_ERR(pq3_link_response_decode(&v, h, sizeof h), PQ3_ERR_DECODE);
        h[35] = 0, h[36] = 1, h[37] = 'x', h[38] = 0, h[39] = 0;
        CHECK_ERR(pq3_link_response_decode(&v, h, sizeof h), PQ3_ERR_DECODE);
    }
    /* Over the maxima. */
    r.cert_len = PQ3_CERT_MAX_BYTES + 1;
    CHECK_ERR(pq3_link_response_encode(enc, sizeof enc, &len, &r), PQ3_ERR_ARG);
    r.cert_len = acct.cert_len;
    r.list_len = PQ3_DEVICE_LIST_MAX_BYTES + 1;
    CHECK_ERR(pq3_link_response_encode(enc, sizeof enc, &len, &r), PQ3_ERR_ARG);
    CHECK_ERR(pq3_link_response_decode(NULL, enc, len), PQ3_ERR_ARG);
}

int main(void)
{
    keys_init();
    test_list_roundtrip();
    test_list_max();
    test_list_refused();
    test_list_high_s();
    test_link_request();
    test_payload();
    test_link_response();
    return pq3t_finish();
}
