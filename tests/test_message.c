/* Messages on the wire (docs/PROTOCOL.md §9, §13): strict decoding, and
 * tampering with any byte or field of representative messages is rejected
 * with the state left byte-identical. */
#include <stdlib.h>
#include <string.h>

#include "protocol/message.h"
#include "protocol_fixture.h"

typedef struct {
    uint8_t msg[8192];
    size_t len;
    pq3_session *receiver;   /* NULL: a session start (accept) */
} sample;

static fx_pair x;
static uint8_t body[16384];

/* Opens `m` on a copy of the receiver's state (or accepts it) and returns
 * the error; checks that a failure leaves the serialized state unchanged. */
static pq3_err try_open(pq3_session *rs, const uint8_t *m, size_t len)
{
    pq3_opened info;
    pq3_err err;
    if (rs == NULL) {
        pq3_session fresh;
        memset(&fresh, 0xAB, sizeof fresh);
        err = pq3_session_accept(&fresh, &x.bob.cert, &x.alice.cert, &x.prekey, FX_T0, m, len,
                                 body, sizeof body, &info);
        pq3_session_wipe(&fresh);
        return err;
    } else {
        size_t l1, l2;
        uint8_t *s1 = fx_state(rs, &l1), *s2;
        pq3_session copy = *rs;
        err = pq3_session_open(&copy, FX_T0 + 10, m, len, body, sizeof body, &info);
        if (err != PQ3_OK) {
            s2 = fx_state(&copy, &l2);
            CHECK(s1 != NULL && s2 != NULL && l1 == l2 && memcmp(s1, s2, l1) == 0);
            CHECK(memcmp(&copy, rs, sizeof copy) == 0);
            free(s2);
        }
        free(s1);
        pq3_session_wipe(&copy);
        return err;
    }
}

static void tamper_every_byte(const char *name, sample *s)
{
    unsigned long rejected = 0, bad_code = 0;
    uint8_t *m = malloc(s->len);
    CHECK_OK(try_open(s->receiver, s->msg, s->len)); /* the original opens */
    for (size_t i = 0; i < s->len; i++) {
        memcpy(m, s->msg, s->len);
        m[i] ^= (uint8_t)(1u << (i % 8));
        pq3_err err = try_open(s->receiver, m, s->len);
        if (err != PQ3_OK)
            rejected++;
        if (err != PQ3_ERR_VERIFY && err != PQ3_ERR_DECODE && err != PQ3_ERR_VERSION)
            bad_code++;
    }
    CHECKF(rejected == s->len, "%s: %lu of %zu flips rejected", name, rejected, s->len);
    CHECKF(bad_code == 0, "%s: %lu flips gave an unexpected code", name, bad_code);
    /* Truncations and one extra byte. */
    for (size_t l = 0; l < s->len; l += (l < 64 ? 1 : 97))
        CHECK(try_open(s->receiver, s->msg, l) != PQ3_OK);
    memcpy(m, s->msg, s->len);
    m = realloc(m, s->len + 1);
    m[s->len] = 0;
    CHECK_ERR(try_open(s->receiver, m, s->len + 1), PQ3_ERR_DECODE);
    free(m);
}

/* Re-signs a modified message as its real sender would, so that the checks
 * behind the signature are reached. */
static void resign(uint8_t *m, size_t len, const pq3_session *sender_state, fx_party *sender)
{
    uint8_t tbs[124], h[48];
    memcpy(tbs, "OpenPQ3 v1 message signature", 28);
    memcpy(tbs + 28, sender_state->sidd_send, 48);
    CHECK_OK(pq3_sha384(h, m, len - 64));
    memcpy(tbs + 76, h, 48);
    CHECK_OK(pq3_ecdsa_sign(m + len - 64, sender->device.priv, tbs, sizeof tbs));
}

static void test_tamper(void)
{
    static sample start, plain, with_ek, with_ct;
    pq3_session a_before, b_before;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    pq3_opened info;

    CHECK(fx_pair_init(&x, 11));
    memcpy(start.msg, x.first, x.first_len);
    start.len = x.first_len;
    start.receiver = NULL;

    /* plain: alice's second message, with AD */
    CHECK_OK(pq3_session_seal(&x.a, &x.alice.device_signer, NULL, FX_T0, &x.alice.rng, 1,
                              (const uint8_t *)"plain", 5, (const uint8_t *)"ad", 2, plain.msg,
                              sizeof plain.msg, &plain.len));
    plain.receiver = &x.b;
    tamper_every_byte("plain", &plain);

    /* Field changes on the plain message, re-signed by the real sender:
     * each reaches the check behind the signature. */
    {
        uint8_t m[8192];
        pq3_msg_view v;
        CHECK_OK(pq3_msg_decode(&v, plain.msg, plain.len));
        memcpy(m, plain.msg, plain.len);
        m[38] ^= 1; /* index 1 -> 0: already processed */
        resign(m, plain.len, &x.a, &x.alice);
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_REPLAY);
        memcpy(m, plain.msg, plain.len);
        m[38] ^= 2; /* index 1 -> 3: ahead, and no skipped-key store */
        resign(m, plain.len, &x.a, &x.alice);
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_LIMIT);
        memcpy(m, plain.msg, plain.len);
        m[42] ^= 1; /* previous chain length */
        resign(m, plain.len, &x.a, &x.alice);
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_DECODE);
        memcpy(m, plain.msg, plain.len);
        m[43] ^= 1; /* mki */
        resign(m, plain.len, &x.a, &x.alice);
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_VERIFY);
        memcpy(m, plain.msg, plain.len);
        m[3] ^= 1; /* ratchet key: a new chain bob does not expect */
        resign(m, plain.len, &x.a, &x.alice);
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_UNKNOWN);
        memcpy(m, plain.msg, plain.len);
        m[v.ad - plain.msg] ^= 1; /* AD */
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_VERIFY);
        memcpy(m, plain.msg, plain.len);
        m[2] = 0x10; /* unknown flag */
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_DECODE);
        memcpy(m, plain.msg, plain.len);
        m[v.sig - plain.msg + 5] ^= 0x40; /* signature */
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_VERIFY);
        /* Signed by the right key over another SID: rejected. */
        memcpy(m, plain.msg, plain.len);
        resign(m, plain.len, &x.b, &x.alice);
        CHECK_ERR(try_open(&x.b, m, plain.len), PQ3_ERR_VERIFY);
    }
    CHECK_OK(pq3_session_open(&x.b, FX_T0, plain.msg, plain.len, body, sizeof body, &info));

    /* with_ek: bob's reply offering an ek (max_messages 0 forces it) */
    pol.max_messages = 0;
    CHECK_OK(pq3_session_seal(&x.b, &x.bob.device_signer, &pol, FX_T0, &x.bob.rng, 1,
                              (const uint8_t *)"ek", 2, NULL, 0, with_ek.msg, sizeof with_ek.msg,
                              &with_ek.len));
    CHECK(with_ek.msg[2] == PQ3_MSG_EK);
    with_ek.receiver = &x.a;
    tamper_every_byte("with_ek", &with_ek);
    /* An ek that fails the modulus check, re-signed: PQ3_ERR_KEY. */
    {
        uint8_t m[8192];
        memcpy(m, with_ek.msg, with_ek.len);
        memset(m + 43, 0xFF, 2); /* first coefficient 0xFFF >= q */
        resign(m, with_ek.len, &x.b, &x.bob);
        CHECK_ERR(try_open(&x.a, m, with_ek.len), PQ3_ERR_KEY);
        /* a ratchet key that is no curve x-coordinate: x = p - 1 + ... */
        memcpy(m, with_ek.msg, with_ek.len);
        memset(m + 3, 0xFF, 32); /* x >= p */
        resign(m, with_ek.len, &x.b, &x.bob);
        CHECK_ERR(try_open(&x.a, m, with_ek.len), PQ3_ERR_KEY);
        /* a CT the receiver made no offer for */
    }
    CHECK_OK(pq3_session_open(&x.a, FX_T0, with_ek.msg, with_ek.len, body, sizeof body, &info));
    CHECK(info.kem_offered);

    /* with_ct: alice answers */
    a_before = x.a;
    CHECK_OK(pq3_session_seal(&x.a, &x.alice.device_signer, NULL, FX_T0, &x.alice.rng, 1,
                              (const uint8_t *)"ct", 2, NULL, 0, with_ct.msg, sizeof with_ct.msg,
                              &with_ct.len));
    CHECK(with_ct.msg[2] == PQ3_MSG_CT);
    with_ct.receiver = &x.b;
    tamper_every_byte("with_ct", &with_ct);
    {
        /* The KEM ciphertext changed and re-signed: implicit rejection gives
         * another key, so the mki check fails. */
        uint8_t m[8192];
        memcpy(m, with_ct.msg, with_ct.len);
        m[43 + 100] ^= 1;
        resign(m, with_ct.len, &x.a, &x.alice);
        CHECK_ERR(try_open(&x.b, m, with_ct.len), PQ3_ERR_VERIFY);
    }
    b_before = x.b;
    CHECK_OK(pq3_session_open(&x.b, FX_T0, with_ct.msg, with_ct.len, body, sizeof body, &info));
    CHECK(info.kem_completed);
    (void)a_before;
    (void)b_before;

    /* The session start: every byte, and a changed prekey hash. */
    tamper_every_byte("start", &start);
    {
        uint8_t m[8192];
        memcpy(m, start.msg, start.len);
        m[43] ^= 1; /* prekey hash */
        resign(m, start.len, &x.a, &x.alice);
        CHECK_ERR(try_open(NULL, m, start.len), PQ3_ERR_UNKNOWN);
        memcpy(m, start.msg, start.len);
        m[43 + 48 + 10] ^= 1; /* ct0 */
        resign(m, start.len, &x.a, &x.alice);
        CHECK_ERR(try_open(NULL, m, start.len), PQ3_ERR_VERIFY);
    }
    /* The old START message to the established session: index 0 of a chain
     * bob has already read past (§13.1). */
    CHECK_ERR(try_open(&x.b, start.msg, start.len), PQ3_ERR_REPLAY);
}

static void test_decode(void)
{
    pq3_msg_view v;
    pq3_message_info info;
    uint8_t m[256];
    memset(m, 0, sizeof m);
    CHECK_ERR(pq3_msg_decode(&v, m, 0), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_msg_decode(&v, m, 1), PQ3_ERR_DECODE);
    m[0] = 1;
    m[1] = 3;
    CHECK_ERR(pq3_msg_decode(&v, m, 2), PQ3_ERR_DECODE);
    m[0] = 2;
    CHECK_ERR(pq3_msg_decode(&v, m, sizeof m), PQ3_ERR_VERSION);
    m[0] = 1;
    m[1] = 2;
    CHECK_ERR(pq3_msg_decode(&v, m, sizeof m), PQ3_ERR_VERSION);
    /* a minimal well-formed message: no extension, 2-byte ciphertext */
    memset(m, 0, sizeof m);
    m[0] = 1;
    m[1] = 3;
    m[62] = 2; /* ciphertext length at 43 + 16 = 59..62 */
    CHECK_OK(pq3_msg_decode(&v, m, PQ3_MSG_FIXED_BYTES + 2));
    CHECK_OK(pq3_message_peek(&info, m, PQ3_MSG_FIXED_BYTES + 2));
    CHECK(info.flags == 0 && info.index == 0);
    m[62] = 1; /* ciphertext below 2 bytes */
    CHECK_ERR(pq3_msg_decode(&v, m, PQ3_MSG_FIXED_BYTES + 1), PQ3_ERR_DECODE);
    m[62] = 2;
    m[2] = PQ3_MSG_AD; /* AD flag: needs a vec16 */
    CHECK_ERR(pq3_msg_decode(&v, m, PQ3_MSG_FIXED_BYTES + 2), PQ3_ERR_DECODE);
    m[2] = PQ3_MSG_START | PQ3_MSG_CT;
    CHECK_ERR(pq3_msg_decode(&v, m, sizeof m), PQ3_ERR_DECODE);
    m[2] = 0x80;
    CHECK_ERR(pq3_msg_decode(&v, m, PQ3_MSG_FIXED_BYTES + 2), PQ3_ERR_DECODE);
    /* oversized ciphertext length */
    m[2] = 0;
    m[59] = 0x7F;
    CHECK_ERR(pq3_msg_decode(&v, m, sizeof m), PQ3_ERR_DECODE);
    CHECK(pq3_message_max_size(0, 0) >= PQ3_MSG_FIXED_BYTES + PQ3_MSG_MAX_EXT + 2);
}

int main(void)
{
    test_decode();
    test_tamper();
    return pq3t_finish();
}
