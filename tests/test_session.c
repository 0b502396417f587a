/* Session start, the three ratchets and the rekey policy
 * (docs/PROTOCOL.md §10-§13). */
#include <stdlib.h>
#include <string.h>

#include "protocol_fixture.h"

static pq3_err send_msg(fx_party *from, pq3_session *s, const pq3_rekey_policy *pol, uint64_t now,
                        const char *text, uint8_t *out, size_t cap, size_t *len)
{
    return pq3_session_seal(s, &from->device_signer, pol, now, &from->rng, PQ3_CONTENT_MESSAGE,
                            (const uint8_t *)text, strlen(text), NULL, 0, out, cap, len);
}

static void test_start_and_reply(void)
{
    fx_pair x;
    uint8_t msg[8192], body[8192];
    size_t len;
    pq3_opened info;

    CHECK(fx_pair_init(&x, 1));
    /* First message carries START: ratchet key, prekey hash, ct0. */
    CHECK(x.first_len == PQ3_MSG_FIXED_BYTES + 48 + PQ3_MLKEM1024_CT_BYTES +
                             pq3_padme_padded_size(6));
    CHECK(x.first[2] == PQ3_MSG_START);
    CHECK(memcmp(x.a.rk, x.b.rk, 32) == 0);
    CHECK(memcmp(x.a.cks, x.b.ckr, 32) == 0);

    /* Second message of alice's first chain: START repeated until bob's
     * answer acknowledges it (§11.4). */
    CHECK_OK(send_msg(&x.alice, &x.a, NULL, FX_T0 + 1, "second", msg, sizeof msg, &len));
    CHECK(msg[2] == PQ3_MSG_START);
    CHECK(len == PQ3_MSG_FIXED_BYTES + 48 + PQ3_MLKEM1024_CT_BYTES + pq3_padme_padded_size(7));
    CHECK_OK(pq3_session_open(&x.b, FX_T0 + 1, msg, len, body, sizeof body, &info));
    CHECK(info.body_len == 6 && memcmp(body, "second", 6) == 0);
    CHECK(!info.new_chain);

    /* Bob replies: direction change. */
    CHECK_OK(send_msg(&x.bob, &x.b, NULL, FX_T0 + 2, "reply", msg, sizeof msg, &len));
    CHECK(msg[2] == 0);
    CHECK_OK(pq3_session_open(&x.a, FX_T0 + 2, msg, len, body, sizeof body, &info));
    CHECK(info.new_chain);
    CHECK(info.body_len == 5 && memcmp(body, "reply", 5) == 0);
    CHECK(memcmp(x.a.rk, x.b.rk, 32) == 0);

    /* Replaying it is rejected and changes nothing. */
    CHECK_ERR(pq3_session_open(&x.a, FX_T0 + 2, msg, len, body, sizeof body, &info),
              PQ3_ERR_REPLAY);
    pq3_session_wipe(&x.a);
    pq3_session_wipe(&x.b);
}

/* A long conversation with the default policy: ML-KEM steps happen, both
 * sides stay in agreement, and state survives serialization. */
static void test_conversation(void)
{
    fx_pair x;
    uint8_t msg[8192], body[8192];
    size_t len;
    pq3_opened info;
    int kem_steps = 0, offers = 0, ok = 1;
    uint64_t now = FX_T0;
    pq3t_drbg script;
    pq3_rng srng;
    uint8_t r;
    int alice_turn = 1;

    CHECK(fx_pair_init(&x, 2));
    pq3t_drbg_init(&script, "script", 2);
    srng = pq3t_drbg_rng(&script);
    for (int i = 0; i < 400 && ok; i++) {
        fx_party *from = alice_turn ? &x.alice : &x.bob;
        pq3_session *ss = alice_turn ? &x.a : &x.b, *rs = alice_turn ? &x.b : &x.a;
        char text[64];
        snprintf(text, sizeof text, "message %d", i);
        now += 60;
        if (send_msg(from, ss, NULL, now, text, msg, sizeof msg, &len) != PQ3_OK) {
            ok = 0;
            break;
        }
        if (pq3_session_open(rs, now, msg, len, body, sizeof body, &info) != PQ3_OK ||
            info.body_len != strlen(text) || memcmp(body, text, info.body_len) != 0) {
            ok = 0;
            break;
        }
        kem_steps += info.kem_completed;
        offers += info.kem_offered;
        /* Every 37th message: round-trip both states through bytes. */
        if (i % 37 == 0) {
            size_t l1, l2;
            uint8_t *s1 = fx_state(ss, &l1);
            pq3_session copy;
            CHECK(s1 != NULL);
            CHECK_OK(pq3_session_deserialize(&copy, s1, l1));
            uint8_t *s2 = fx_state(&copy, &l2);
            CHECK(s2 != NULL && l1 == l2 && memcmp(s1, s2, l1) == 0);
            CHECK(memcmp(&copy, ss, sizeof copy) == 0);
            free(s1);
            free(s2);
        }
        CHECK_OK(pq3_random(&srng, &r, 1));
        if (r < 100)
            alice_turn = !alice_turn;
    }
    CHECK(ok);
    CHECKF(kem_steps >= 4, "kem steps %d", kem_steps);
    CHECK(offers >= kem_steps - 1);
}

/* The policy: 50 messages in a ping-pong; age; constrained defers the count
 * but not the age. */
static void test_policy(void)
{
    fx_pair x;
    uint8_t msg[8192], body[8192];
    size_t len;
    pq3_opened info;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    uint64_t now = FX_T0;
    int first_offer = -1;

    CHECK(pol.max_messages == 50 && pol.max_age == 604800 && !pol.constrained &&
          pol.receipt_interval == 0);
    CHECK(fx_pair_init(&x, 3));
    /* Ping-pong: bob, alice, bob, ... The start message counted as a PQ step. */
    for (int i = 0; i < 60; i++) {
        int bob = (i % 2) == 0;
        CHECK_OK(send_msg(bob ? &x.bob : &x.alice, bob ? &x.b : &x.a, &pol, now, "x", msg,
                          sizeof msg, &len));
        if ((msg[2] & PQ3_MSG_EK) && first_offer < 0)
            first_offer = i;
        CHECK_OK(pq3_session_open(bob ? &x.a : &x.b, now, msg, len, body, sizeof body, &info));
    }
    /* The start message is count 0 and every later message counts once on
     * each side, so the first seal at count >= 50 is message 50. */
    CHECKF(first_offer == 50, "first offer at %d", first_offer);

    /* Constrained: no offer by count, but one once 7 days passed. */
    CHECK(fx_pair_init(&x, 4));
    pol.constrained = 1;
    for (int i = 0; i < 120; i++) {
        int bob = (i % 2) == 0;
        CHECK_OK(send_msg(bob ? &x.bob : &x.alice, bob ? &x.b : &x.a, &pol, now, "x", msg,
                          sizeof msg, &len));
        CHECK(!(msg[2] & PQ3_MSG_EK));
        CHECK_OK(pq3_session_open(bob ? &x.a : &x.b, now, msg, len, body, sizeof body, &info));
    }
    now += 7 * FX_DAY;
    CHECK_OK(send_msg(&x.bob, &x.b, &pol, now, "x", msg, sizeof msg, &len));
    CHECK(msg[2] & PQ3_MSG_EK);
    CHECK_OK(pq3_session_open(&x.a, now, msg, len, body, sizeof body, &info));
    CHECK(info.kem_offered);
    CHECK_OK(send_msg(&x.alice, &x.a, &pol, now, "x", msg, sizeof msg, &len));
    CHECK(msg[2] & PQ3_MSG_CT);
    CHECK_OK(pq3_session_open(&x.b, now, msg, len, body, sizeof body, &info));
    CHECK(info.kem_completed);
    CHECK(x.a.pq_count == 0 && x.b.pq_count == 0);
    CHECK(!(x.b.flags & PQ3_ST_MY_OFFER) && !(x.a.flags & PQ3_ST_PEER_OFFER));
}

/* Header repetition (§11.4): the chain's mandatory extension is on every
 * message of the chain until acknowledged, and the receiver accepts exact
 * repeats only. */
static void test_repetition(void)
{
    fx_pair x;
    uint8_t msg[8192], body[8192];
    size_t len;
    pq3_opened info;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    pol.max_messages = 0; /* offer at every direction change */

    CHECK(fx_pair_init(&x, 5));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(send_msg(&x.alice, &x.a, &pol, FX_T0, "rep", msg, sizeof msg, &len));
        CHECK(msg[2] == PQ3_MSG_START);
        CHECK_OK(pq3_session_open(&x.b, FX_T0, msg, len, body, sizeof body, &info));
    }
    for (int i = 0; i < 3; i++) {
        CHECK_OK(send_msg(&x.bob, &x.b, &pol, FX_T0, "rep", msg, sizeof msg, &len));
        CHECK(msg[2] == (i == 0 ? PQ3_MSG_EK : 0)); /* an offer: first message only */
        CHECK_OK(pq3_session_open(&x.a, FX_T0, msg, len, body, sizeof body, &info));
    }
    for (int i = 0; i < 3; i++) {
        CHECK_OK(send_msg(&x.alice, &x.a, &pol, FX_T0, "rep", msg, sizeof msg, &len));
        CHECK(msg[2] == (i == 0 ? (PQ3_MSG_CT | PQ3_MSG_EK) : PQ3_MSG_CT));
        CHECK_OK(pq3_session_open(&x.b, FX_T0, msg, len, body, sizeof body, &info));
        CHECK(info.kem_completed == (i == 0));
    }
    CHECK(memcmp(x.a.rk, x.b.rk, 32) == 0);
}

/* Misuse: a signer of another key, a bad content type, a small buffer. */
static void test_misuse(void)
{
    fx_pair x;
    uint8_t msg[8192];
    size_t len = 0;
    pq3_session before;

    CHECK(fx_pair_init(&x, 6));
    before = x.b;
    CHECK_ERR(pq3_session_seal(&x.b, &x.alice.device_signer, NULL, FX_T0, &x.bob.rng, 1,
                               (const uint8_t *)"x", 1, NULL, 0, msg, sizeof msg, &len),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_session_seal(&x.b, &x.bob.device_signer, NULL, FX_T0, &x.bob.rng, 3,
                               (const uint8_t *)"x", 1, NULL, 0, msg, sizeof msg, &len),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_session_seal(&x.b, &x.bob.device_signer, NULL, FX_T0, &x.bob.rng, 1,
                               (const uint8_t *)"x", 1, NULL, 0, msg, 10, &len),
              PQ3_ERR_BUFFER);
    CHECK(len == PQ3_MSG_FIXED_BYTES + pq3_padme_padded_size(2));
    {
        pq3_rng bad = pq3t_failing_rng();
        CHECK_ERR(pq3_session_seal(&x.b, &x.bob.device_signer, NULL, FX_T0, &bad, 1,
                                   (const uint8_t *)"x", 1, NULL, 0, msg, sizeof msg, &len),
                  PQ3_ERR_RNG);
    }
    CHECK(memcmp(&before, &x.b, sizeof before) == 0);
    CHECK(len <= pq3_message_max_size(1, 0));
}

/* Hardening (§9.1, §10.1, §10.2): a bundle kept past its expiry, a device
 * talking to itself, a sending index at its end, the generation counter. */
static void test_hardening(void)
{
    fx_pair x;
    fx_party twin;
    pq3_session s, before;
    uint8_t msg[8192], body[8192];
    size_t len = 0;
    pq3_opened info;

    CHECK(fx_pair_init(&x, 9));
    CHECK(x.a.generation == 2 && x.b.generation == 1); /* start + seal; accept */

    /* A bundle verified once keeps being valid only until it expires. */
    CHECK_ERR(pq3_session_start(&s, &x.alice.cert, &x.bob.cert, &x.bundle,
                                x.bundle.expires, &x.alice.rng),
              PQ3_ERR_EXPIRED);
    CHECK_ERR(pq3_session_start(&s, &x.alice.cert, &x.bob.cert, &x.bundle,
                                x.bundle.created - PQ3_CLOCK_SKEW - 1, &x.alice.rng),
              PQ3_ERR_EXPIRED);
    CHECK_OK(pq3_session_start(&s, &x.alice.cert, &x.bob.cert, &x.bundle,
                               x.bundle.expires - 1, &x.alice.rng));

    /* A session of a device with itself, as initiator or responder. */
    CHECK_ERR(pq3_session_start(&s, &x.bob.cert, &x.bob.cert, &x.bundle, FX_T0, &x.bob.rng),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_session_accept(&s, &x.bob.cert, &x.bob.cert, &x.prekey, FX_T0, x.first,
                                 x.first_len, body, sizeof body, &info),
              PQ3_ERR_ARG);
    /* The same device key under another handle and device id is the same
     * device too. */
    CHECK(fx_party_init(&twin, "mailto:twin@example.org", "twin", 9));
    memcpy(&twin.cert, &x.bob.cert, sizeof twin.cert);
    twin.cert.handle[0] ^= 1;
    twin.cert.device_id[0] ^= 1;
    CHECK_ERR(pq3_session_start(&s, &twin.cert, &x.bob.cert, &x.bundle, FX_T0, &x.bob.rng),
              PQ3_ERR_ARG);

    /* The last index of a chain is 2^32 - 2: beyond it seal refuses and
     * changes nothing, instead of wrapping to index 0. */
    x.a.ns = UINT32_MAX - 1;
    CHECK_OK(send_msg(&x.alice, &x.a, NULL, FX_T0, "last", msg, sizeof msg, &len));
    CHECK(x.a.ns == UINT32_MAX);
    before = x.a;
    CHECK_ERR(send_msg(&x.alice, &x.a, NULL, FX_T0, "wraps", msg, sizeof msg, &len),
              PQ3_ERR_LIMIT);
    CHECK(memcmp(&before, &x.a, sizeof before) == 0);
    /* A message claiming index 2^32 - 1 does not decode. */
    CHECK(fx_pair_init(&x, 9));
    CHECK_OK(send_msg(&x.alice, &x.a, NULL, FX_T0, "m", msg, sizeof msg, &len));
    memset(msg + 35, 0xFF, 4);
    {
        pq3_message_info mi;
        CHECK_ERR(pq3_message_peek(&mi, msg, len), PQ3_ERR_DECODE);
    }

    /* The generation grows with every change, never on a failure. */
    CHECK(fx_pair_init(&x, 10));
    CHECK_OK(send_msg(&x.alice, &x.a, NULL, FX_T0, "one", msg, sizeof msg, &len));
    CHECK(x.a.generation == 3);
    CHECK_OK(pq3_session_open(&x.b, FX_T0, msg, len, body, sizeof body, &info));
    CHECK(x.b.generation == 2);
    CHECK_ERR(pq3_session_open(&x.b, FX_T0, msg, len, body, sizeof body, &info), PQ3_ERR_REPLAY);
    CHECK(x.b.generation == 2);
    pq3_session_wipe(&s);
}

int main(void)
{
    test_start_and_reply();
    test_conversation();
    test_policy();
    test_repetition();
    test_misuse();
    test_hardening();
    return pq3t_finish();
}
