/* Session state serialization (docs/PROTOCOL.md §14): round trips and a
 * strict decoder. */
#include <stdlib.h>
#include <string.h>

#include "protocol_fixture.h"

static void corrupt_all(const uint8_t *st, size_t len)
{
    uint8_t *m = malloc(len + 1);
    pq3_session s;
    unsigned long accepted = 0;
    /* Every structural byte (the first 150 and the tail) flipped; key bytes
     * inside may legitimately still decode (a changed chain key is just
     * another key), so only structure is required to fail. */
    for (size_t i = 0; i < 8; i++) {
        memcpy(m, st, len);
        m[i] ^= (uint8_t)(i == 3 ? 0x80 : 0x40); /* 0x40 is a state flag (§14) */
        if (pq3_session_deserialize(&s, m, len) == PQ3_OK)
            accepted++;
    }
    CHECKF(accepted == 0, "%lu header flips accepted", accepted);
    for (size_t l = 0; l < len; l += 13)
        CHECK(pq3_session_deserialize(&s, st, l) != PQ3_OK);
    memcpy(m, st, len);
    m[len] = 0;
    CHECK_ERR(pq3_session_deserialize(&s, m, len + 1), PQ3_ERR_DECODE);
    /* Any flip anywhere either fails or gives a state that serializes back
     * to exactly the flipped bytes (canonical). */
    for (size_t i = 0; i < len; i += 3) {
        memcpy(m, st, len);
        m[i] ^= 0x01;
        if (pq3_session_deserialize(&s, m, len) == PQ3_OK) {
            size_t l2;
            uint8_t *again = fx_state(&s, &l2);
            CHECK(again != NULL && l2 == len && memcmp(again, m, len) == 0);
            free(again);
        }
    }
    free(m);
}

/* The generation (§14, format 4): 1 when created, +1 on every successful
 * seal, open and receipt, unchanged by a failure, kept by serialization. */
static void test_generation(void)
{
    fx_pair x;
    uint8_t msg[8192], body[8192], *st;
    size_t len, mlen, slen;
    pq3_session t;
    pq3_opened info;

    CHECK(fx_pair_init(&x, 22));
    CHECK(x.a.generation == 2 && x.b.generation == 1); /* start + seal; accept */
    CHECK_OK(pq3_session_seal(&x.b, &x.bob.device_signer, NULL, FX_T0, &x.bob.rng, 1,
                              (const uint8_t *)"r", 1, NULL, 0, msg, sizeof msg, &mlen));
    CHECK(x.b.generation == 2);
    CHECK_OK(pq3_session_open(&x.a, FX_T0, msg, mlen, body, sizeof body, &info));
    CHECK(x.a.generation == 3);
    /* failures change nothing: a replay, a seal with another signer */
    t = x.a;
    CHECK_ERR(pq3_session_open(&x.a, FX_T0, msg, mlen, body, sizeof body, &info),
              PQ3_ERR_REPLAY);
    CHECK_ERR(pq3_session_seal(&x.a, &x.bob.device_signer, NULL, FX_T0, &x.alice.rng, 1,
                               (const uint8_t *)"x", 1, NULL, 0, msg, sizeof msg, &len),
              PQ3_ERR_ARG);
    CHECK(memcmp(&t, &x.a, sizeof t) == 0);
    /* a receipt is a seal */
    CHECK(pq3_session_receipt_due(&x.a, NULL, FX_T0 + 5));
    CHECK_OK(pq3_session_seal_receipt(&x.a, NULL, &x.alice.device_signer, NULL, FX_T0 + 5,
                                      &x.alice.rng, msg, sizeof msg, &len));
    CHECK(x.a.generation == 4 && x.a.last_receipt == FX_T0 + 5);
    CHECK_OK(pq3_session_open(&x.b, FX_T0 + 6, msg, len, body, sizeof body, &info));
    CHECK(x.b.generation == 3 && info.content_type == PQ3_CONTENT_RECEIPT);
    /* serialized with the state */
    st = fx_state(&x.a, &slen);
    CHECK(st != NULL && st[0] == 4);
    if (st != NULL) {
        CHECK_OK(pq3_session_deserialize(&t, st, slen));
        CHECK(t.generation == 4 && memcmp(&t, &x.a, sizeof t) == 0);
    }
    free(st);
    pq3_session_wipe(&t);
}

int main(void)
{
    fx_pair x;
    uint8_t *sa, *sb, msg[8192], body[8192];
    size_t la, lb, len;
    pq3_session t;
    pq3_opened info;
    pq3_rekey_policy pol = pq3_rekey_policy_default();

    CHECK(fx_pair_init(&x, 21));
    /* Give both sides offers to exercise every optional field. */
    pol.max_messages = 0;
    CHECK_OK(pq3_session_seal(&x.b, &x.bob.device_signer, &pol, FX_T0, &x.bob.rng, 1,
                              (const uint8_t *)"r", 1, NULL, 0, msg, sizeof msg, &len));
    CHECK_OK(pq3_session_open(&x.a, FX_T0, msg, len, body, sizeof body, &info));

    sa = fx_state(&x.a, &la);
    sb = fx_state(&x.b, &lb);
    CHECK(sa != NULL && sb != NULL);
    CHECK(la <= PQ3_STATE_MAX_BYTES && lb <= PQ3_STATE_MAX_BYTES);
    CHECK_OK(pq3_session_deserialize(&t, sa, la));
    CHECK(memcmp(&t, &x.a, sizeof t) == 0);
    CHECK_OK(pq3_session_deserialize(&t, sb, lb));
    CHECK(memcmp(&t, &x.b, sizeof t) == 0);
    corrupt_all(sa, la);
    corrupt_all(sb, lb);

    /* Targeted corruption: version, type, unknown flag, our key pair
     * mismatch, invalid peer ratchet key, bad offered ek. */
    {
        uint8_t *m = malloc(lb);
        memcpy(m, sb, lb);
        m[2] = 2;
        CHECK_ERR(pq3_session_deserialize(&t, m, lb), PQ3_ERR_VERSION);
        memcpy(m, sb, lb);
        m[3] |= 0x80;
        CHECK_ERR(pq3_session_deserialize(&t, m, lb), PQ3_ERR_DECODE);
        free(m);
        m = malloc(la);
        memcpy(m, sa, la);
        /* alice: peer ratchet key after RK (offset: 6 + parties + 32 + 4) */
        {
            size_t off = 6 + (2 + x.a.self.handle_len + 16 + 33) +
                         (2 + x.a.peer.handle_len + 16 + 33) + 32 + 4;
            memset(m + off, 0xFF, 32);
            CHECK_ERR(pq3_session_deserialize(&t, m, la), PQ3_ERR_KEY);
        }
        free(m);
    }
    /* Alice (after opening bob's chain) has a peer offer; answer it and
     * check our-key consistency on bob's side with SEND set. */
    CHECK_OK(pq3_session_seal(&x.a, &x.alice.device_signer, NULL, FX_T0, &x.alice.rng, 1,
                              (const uint8_t *)"a", 1, NULL, 0, msg, sizeof msg, &len));
    free(sa);
    sa = fx_state(&x.a, &la);
    {
        uint8_t *m = malloc(la);
        size_t off = 6 + (2 + x.a.self.handle_len + 16 + 33) +
                     (2 + x.a.peer.handle_len + 16 + 33) + 32 + 4 + 32 + 4 + 8 + 32 + 8 + 8 +
                     32 + 4;
        memcpy(m, sa, la);
        m[off] ^= 1; /* our ratchet scalar no longer matches our public key */
        CHECK_ERR(pq3_session_deserialize(&t, m, la), PQ3_ERR_KEY);
        free(m);
    }
    CHECK_ERR(pq3_session_serialize(&x.a, msg, 10, &len), PQ3_ERR_BUFFER);
    CHECK(len == la);
    memset(&t, 0, sizeof t);
    CHECK_ERR(pq3_session_serialize(&t, msg, sizeof msg, &len), PQ3_ERR_STATE);
    free(sa);
    free(sb);
    test_generation();
    return pq3t_finish();
}
