/* The protocol under real networks (docs/PROTOCOL.md §10.4, §11.4, §13.1,
 * §16.1, §18): out-of-order delivery, replay, header repetition with loss,
 * receipts, limits, expiry, simultaneous starts. */
#include <stdlib.h>
#include <string.h>

#include "protocol/message.h"
#include "protocol/session.h"
#include "protocol_fixture.h"

/* Whether the store holds a key of (rk, index), for any session. */
static int stored(const pq3_skipped *sk, const uint8_t rk[32], uint32_t index)
{
    for (uint32_t i = 0; i < sk->count; i++)
        if (sk->keys[i].index == index && memcmp(sk->keys[i].ratchet_key, rk, 32) == 0)
            return 1;
    return 0;
}

static uint32_t expire_n(pq3_skipped *sk, uint64_t now)
{
    uint32_t n = UINT32_MAX;
    if (pq3_skipped_expire(sk, now, &n) != PQ3_OK)
        return UINT32_MAX;
    return n;
}

#define MAXMSG 8192

typedef struct {
    uint8_t m[MAXMSG];
    size_t len;
} wire;

static pq3_skipped *new_store(void)
{
    pq3_skipped *sk = malloc(sizeof *sk);
    if (sk != NULL)
        pq3_skipped_init_default(sk);
    return sk;
}

static int seal_n(fx_party *p, pq3_session *s, const pq3_rekey_policy *pol, uint64_t now,
                  wire *w, int n)
{
    for (int i = 0; i < n; i++) {
        char t[32];
        int tl = snprintf(t, sizeof t, "m%d", i);
        if (pq3_session_seal(s, &p->device_signer, pol, now, &p->rng, PQ3_CONTENT_MESSAGE,
                             (const uint8_t *)t, (size_t)tl, NULL, 0, w[i].m, sizeof w[i].m,
                             &w[i].len) != PQ3_OK)
            return 0;
    }
    return 1;
}

static pq3_err open_w(pq3_session *s, pq3_skipped *sk, uint64_t now, const wire *w,
                      pq3_opened *info)
{
    uint8_t body[MAXMSG];
    return pq3_session_open_ex(s, sk, now, w->m, w->len, body, sizeof body, info);
}

/* Re-signs a (modified) message as its sender would (§7). */
static void resign(uint8_t *m, size_t len, const pq3_session *sender, fx_party *p)
{
    uint8_t tbs[28 + 48 + 48];
    memcpy(tbs, "OpenPQ3 v1 message signature", 28);
    memcpy(tbs + 28, sender->sidd_send, 48);
    CHECK_OK(pq3_sha384(tbs + 76, m, len - 64));
    CHECK_OK(p->device_signer.sign(p->device_signer.ctx, m + len - 64, tbs, sizeof tbs));
}

/* A state snapshot for "unchanged" checks. */
typedef struct {
    pq3_session s;
    pq3_skipped *sk;
} snap;

static void take(snap *d, const pq3_session *s, const pq3_skipped *sk)
{
    d->s = *s;
    d->sk = malloc(sizeof *d->sk);
    memcpy(d->sk, sk, sizeof *sk);
}

static int same(snap *d, const pq3_session *s, const pq3_skipped *sk)
{
    int r = memcmp(&d->s, s, sizeof *s) == 0 && memcmp(d->sk, sk, sizeof *sk) == 0;
    free(d->sk);
    return r;
}

/* Reordering within a chain, replays of in-order and skipped-key messages. */
static void test_reorder_chain(void)
{
    fx_pair x;
    wire w[6];
    pq3_opened info;
    pq3_skipped *sk = new_store();
    static const int order[6] = { 5, 0, 3, 1, 4, 2 };

    CHECK(fx_pair_init(&x, 41));
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, w, 6));
    for (int i = 0; i < 6; i++) {
        CHECK_OK(open_w(&x.b, sk, FX_T0, &w[order[i]], &info));
        CHECK(info.late == (i > 0));
        if (i == 0)
            CHECK(info.keys_stored == 5 && sk->count == 5);
    }
    CHECK(sk->count == 0);
    for (int i = 0; i < 6; i++) {
        snap d;
        take(&d, &x.b, sk);
        CHECK_ERR(open_w(&x.b, sk, FX_T0, &w[i], &info), PQ3_ERR_REPLAY);
        CHECK(same(&d, &x.b, sk));
    }
    /* Without a store: a gap is a limit, the rest in order still works. */
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, w, 2));
    CHECK_ERR(open_w(&x.b, NULL, FX_T0, &w[1], &info), PQ3_ERR_LIMIT);
    CHECK_OK(open_w(&x.b, NULL, FX_T0, &w[0], &info));
    CHECK_OK(open_w(&x.b, NULL, FX_T0, &w[1], &info));
    free(sk);
}

/* Across chains: the older chain's rest is kept when the new chain opens,
 * from the new message's previous chain length (§13.1). */
static void test_reorder_across(void)
{
    fx_pair x;
    wire a1[4], b1[1], a2[3];
    pq3_opened info;
    pq3_skipped *sk = new_store();
    snap d;

    CHECK(fx_pair_init(&x, 42));
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, a1, 4)); /* a1[0] is index 1 (first is x.first) */
    CHECK_OK(open_w(&x.b, sk, FX_T0, &a1[0], &info));
    CHECK(seal_n(&x.bob, &x.b, NULL, FX_T0, b1, 1));
    CHECK_OK(open_w(&x.a, NULL, FX_T0, &b1[0], &info));
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, a2, 3));
    /* a2[2] first: keeps a1 indices 2..4 and a2 indices 0..1. */
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 5, &a2[2], &info));
    CHECK(info.new_chain && info.keys_stored == 5 && sk->count == 5);
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 6, &a1[2], &info));
    CHECK(info.late);
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 6, &a2[0], &info));
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 6, &a1[1], &info));
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 6, &a1[3], &info));
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 6, &a2[1], &info));
    CHECK(sk->count == 0);
    /* Replays of the older chain, the first message, the newest. */
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 7, &a1[1], &info), PQ3_ERR_REPLAY);
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 7, &a2[2], &info), PQ3_ERR_REPLAY);
    CHECK_ERR(pq3_session_open_ex(&x.b, sk, FX_T0, x.first, x.first_len, (uint8_t[MAXMSG]){ 0 },
                                  MAXMSG, &info),
              PQ3_ERR_REPLAY);
    CHECK(same(&d, &x.b, sk));
    CHECK(memcmp(x.a.rk, x.b.rk, 32) == 0);
    free(sk);
}

/* A failed open after keys were derived into the store leaves everything
 * byte-identical (§13: commit only after mki and decryption). */
static void test_atomic(void)
{
    fx_pair x;
    wire w[4];
    pq3_opened info;
    pq3_skipped *sk = new_store();
    snap d;
    pq3_msg_view v;

    CHECK(fx_pair_init(&x, 43));
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, w, 4));
    CHECK_OK(open_w(&x.b, sk, FX_T0, &w[1], &info)); /* keeps index 1 */
    /* index 4 with a wrong mki, re-signed: fails after deriving 2..3 */
    CHECK_OK(pq3_msg_decode(&v, w[3].m, w[3].len));
    w[3].m[v.mki - w[3].m] ^= 1;
    resign(w[3].m, w[3].len, &x.a, &x.alice);
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0, &w[3], &info), PQ3_ERR_VERIFY);
    CHECK(same(&d, &x.b, sk));
    /* A late message with a wrong mki: the stored key stays. */
    CHECK_OK(pq3_msg_decode(&v, w[0].m, w[0].len));
    w[0].m[v.mki - w[0].m] ^= 1;
    resign(w[0].m, w[0].len, &x.a, &x.alice);
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0, &w[0], &info), PQ3_ERR_VERIFY);
    CHECK(same(&d, &x.b, sk));
    CHECK_OK(open_w(&x.b, sk, FX_T0, &w[2], &info));
    free(sk);
}

/* Limits (§13.1, §18): a gap over max_jump on the current chain is
 * rejected with PQ3_ERR_LIMIT and changes nothing; keys over max_keys evict
 * the oldest; a new chain keeps the max_jump most recent keys of the ending
 * chain; an index beyond the walk bound is rejected; a failed open that
 * would have evicted changes nothing. */
static void test_limits(void)
{
    fx_pair x;
    wire *w = malloc(12 * sizeof *w), b1, a2, bad;
    pq3_opened info;
    pq3_skipped *sk = malloc(sizeof *sk);
    pq3_msg_view v;
    snap d;

    CHECK(fx_pair_init(&x, 44));
    CHECK_ERR(pq3_skipped_init(sk, 5, 4, 10), PQ3_ERR_ARG);        /* jump over total */
    CHECK_ERR(pq3_skipped_init(sk, 1, PQ3_SKIPPED_MAX_KEYS + 1, 10), PQ3_ERR_ARG);
    CHECK_ERR(pq3_skipped_init(sk, 1, 4, 0), PQ3_ERR_ARG);
    CHECK_OK(pq3_skipped_init(sk, 3, 4, 1000));
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, w, 12)); /* indices 1..12 */
    /* index 5 needs 4 skipped keys (1..4): over max_jump 3 */
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0, &w[4], &info), PQ3_ERR_LIMIT);
    CHECK(same(&d, &x.b, sk));
    CHECK_OK(open_w(&x.b, sk, FX_T0, &w[3], &info)); /* keeps 1..3 */
    CHECK(sk->count == 3 && info.keys_evicted == 0);
    /* index 7 needs 2 more (5, 6): 5 in all, over max_keys 4: the oldest
     * (index 1) is evicted, its message is lost */
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 1, &w[6], &info));
    CHECK(info.keys_stored == 2 && info.keys_evicted == 1 && sk->count == 4);
    CHECK(!stored(sk, x.a.my_pub, 1));
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 1, &w[0], &info), PQ3_ERR_REPLAY);
    CHECK(same(&d, &x.b, sk));
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 1, &w[5], &info)); /* index 6 */
    CHECK(sk->count == 3); /* 2, 3 (at T0), 5 (at T0 + 1) */
    /* Absurdly far ahead on the current chain: rejected before any key is
     * derived. */
    bad = w[11];
    CHECK_OK(pq3_msg_decode(&v, bad.m, bad.len));
    bad.m[35] = 0x7f; /* §9.1: index, u32 at offset 35 */
    resign(bad.m, bad.len, &x.a, &x.alice);
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 1, &bad, &info), PQ3_ERR_LIMIT);
    CHECK(same(&d, &x.b, sk));
    /* A new chain whose previous chain length leaves 5 keys (8..12) of the
     * ending chain: the 3 most recent (10..12) are kept, 6 in all, so the
     * two oldest (2, 3) are evicted. */
    CHECK(seal_n(&x.bob, &x.b, NULL, FX_T0, &b1, 1));
    CHECK_OK(open_w(&x.a, NULL, FX_T0, &b1, &info));
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, &a2, 1));
    /* the same message with a wrong mki fails and evicts nothing */
    bad = a2;
    CHECK_OK(pq3_msg_decode(&v, bad.m, bad.len));
    bad.m[v.mki - bad.m] ^= 1;
    resign(bad.m, bad.len, &x.a, &x.alice);
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 2, &bad, &info), PQ3_ERR_VERIFY);
    CHECK(same(&d, &x.b, sk));
    /* and with an index beyond the walk bound it is refused */
    bad = a2;
    bad.m[35] = 0x7f;
    resign(bad.m, bad.len, &x.a, &x.alice);
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 2, &bad, &info), PQ3_ERR_LIMIT);
    CHECK(same(&d, &x.b, sk));
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 2, &a2, &info));
    CHECK(info.new_chain && info.keys_stored == 3 && info.keys_evicted == 2 && sk->count == 4);
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 2, &w[8], &info), PQ3_ERR_REPLAY);  /* 9: not kept */
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 2, &w[1], &info), PQ3_ERR_REPLAY);  /* 2: evicted */
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 2, &w[11], &info));                 /* 12: kept */
    CHECK(info.late && sk->count == 3);
    /* Expiry by age: at exactly max_age a key is expired. */
    CHECK_ERR(open_w(&x.b, sk, FX_T0 + 1001, &w[4], &info), PQ3_ERR_EXPIRED);
    CHECK_OK(open_w(&x.b, sk, FX_T0 + 1000, &w[4], &info));
    CHECK(sk->count == 2);
    CHECK(expire_n(sk, FX_T0 + 1001) == 0);
    CHECK(expire_n(sk, FX_T0 + 1002) == 2 && sk->count == 0);
    free(w);
    free(sk);
}

/* §11.4: every message of a chain carrying an ML-KEM step (START, CT) can
 * be lost and the step still completes; each single message dropped in
 * turn. */
static void test_loss(void)
{
    for (int drop = 0; drop < 4; drop++) {
        fx_pair x;
        wire b[1], a[4];
        pq3_opened info;
        pq3_skipped *sk = new_store();
        pq3_rekey_policy pol = pq3_rekey_policy_default();
        int completed = 0;

        pol.max_messages = 0; /* bob offers at once */
        CHECK(fx_pair_init(&x, 50 + (uint64_t)drop));
        CHECK(seal_n(&x.bob, &x.b, &pol, FX_T0, b, 1));
        CHECK(b[0].m[2] == PQ3_MSG_EK);
        CHECK_OK(open_w(&x.a, NULL, FX_T0, &b[0], &info));
        CHECK(seal_n(&x.alice, &x.a, &pol, FX_T0, a, 4));
        for (int i = 0; i < 4; i++)
            CHECK(a[i].m[2] & PQ3_MSG_CT);
        for (int i = 3; i >= 0; i--) {
            if (i == drop)
                continue;
            CHECK_OK(open_w(&x.b, sk, FX_T0, &a[i], &info));
            completed += info.kem_completed;
        }
        CHECK(completed == 1);
        CHECK(memcmp(x.a.rk, x.b.rk, 32) == 0);
        CHECK(!(x.b.flags & PQ3_ST_MY_OFFER));
        free(sk);
    }
    /* The session start: alice's first message lost, the second (START
     * repeated) starts the session. */
    {
        fx_pair x;
        wire a[2];
        pq3_opened info;
        pq3_session b2;
        uint8_t body[MAXMSG];
        pq3_skipped *sk = new_store();
        CHECK(fx_pair_init(&x, 60));
        CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, a, 2));
        CHECK(a[1].m[2] == PQ3_MSG_START);
        CHECK_OK(pq3_session_accept_ex(&b2, sk, NULL, &x.bob.cert, &x.alice.cert, &x.prekey,
                                       FX_T0, a[1].m, a[1].len, body, sizeof body, &info));
        CHECK(sk->count == 2 && info.keys_stored == 2);
        CHECK_OK(pq3_session_open_ex(&b2, sk, FX_T0, x.first, x.first_len, body, sizeof body,
                                     &info));
        CHECK(info.late && info.body_len == 5 && memcmp(body, "hello", 5) == 0);
        CHECK_OK(open_w(&b2, sk, FX_T0, &a[0], &info));
        CHECK(sk->count == 0);
        /* without a store: a start at index > 0 is a limit */
        CHECK_ERR(pq3_session_accept(&b2, &x.bob.cert, &x.alice.cert, &x.prekey, FX_T0, a[1].m,
                                     a[1].len, body, sizeof body, &info),
                  PQ3_ERR_LIMIT);
        free(sk);
    }
    /* A lost offer is sent again on the next chain (§11.4). */
    {
        fx_pair x;
        wire b[2], a[1];
        pq3_opened info;
        pq3_skipped *sk = new_store();
        pq3_rekey_policy pol = pq3_rekey_policy_default();
        pol.max_messages = 0;
        CHECK(fx_pair_init(&x, 61));
        CHECK(seal_n(&x.bob, &x.b, &pol, FX_T0, b, 2));
        CHECK(b[0].m[2] == PQ3_MSG_EK && b[1].m[2] == 0);
        CHECK_OK(open_w(&x.a, sk, FX_T0, &b[1], &info)); /* b[0] lost */
        CHECK(!info.kem_offered);
        CHECK(seal_n(&x.alice, &x.a, &pol, FX_T0, a, 1));
        CHECK(!(a[0].m[2] & PQ3_MSG_CT));
        CHECK_OK(open_w(&x.b, NULL, FX_T0, &a[0], &info));
        CHECK(seal_n(&x.bob, &x.b, &pol, FX_T0, b, 1));
        CHECK(b[0].m[2] & PQ3_MSG_EK); /* the same offer again */
        CHECK_OK(open_w(&x.a, sk, FX_T0, &b[0], &info));
        CHECK(info.kem_offered);
        CHECK(seal_n(&x.alice, &x.a, &pol, FX_T0, a, 1));
        CHECK(a[0].m[2] & PQ3_MSG_CT);
        CHECK_OK(open_w(&x.b, NULL, FX_T0, &a[0], &info));
        CHECK(info.kem_completed);
        free(sk);
    }
}

/* §16.1: receipts complete the pending ML-KEM step with no user reply. */
static void test_receipts(void)
{
    fx_pair x;
    wire b[2], r;
    pq3_opened info;
    uint8_t body[MAXMSG], rk[32];
    uint32_t next, missing;
    pq3_skipped *sk = new_store();
    pq3_rekey_policy pol = pq3_rekey_policy_default();

    pol.max_messages = 0;
    CHECK(fx_pair_init(&x, 70));
    CHECK(!pq3_session_receipt_due(&x.a, NULL, FX_T0)); /* nothing received */
    CHECK(pq3_session_receipt_due(&x.b, NULL, FX_T0));
    CHECK(seal_n(&x.bob, &x.b, &pol, FX_T0, b, 2));
    CHECK_OK(open_w(&x.a, sk, FX_T0, &b[1], &info)); /* b[0] still missing */
    CHECK(pq3_session_receipt_due(&x.a, &pol, FX_T0));
    CHECK(!(x.a.flags & PQ3_ST_PEER_OFFER));
    CHECK_OK(open_w(&x.a, sk, FX_T0, &b[0], &info)); /* late, with the offer */
    CHECK(info.late && info.kem_offered && (x.a.flags & PQ3_ST_PEER_OFFER));
    CHECK(seal_n(&x.bob, &x.b, &pol, FX_T0, b, 1));
    CHECK(seal_n(&x.bob, &x.b, &pol, FX_T0, b + 1, 1));
    CHECK_OK(open_w(&x.a, sk, FX_T0, &b[1], &info)); /* index 2 of bob's chain; 3 lost */
    CHECK_OK(pq3_session_seal_receipt(&x.a, sk, &x.alice.device_signer, &pol, FX_T0 + 1,
                                      &x.alice.rng, r.m, sizeof r.m, &r.len));
    CHECK(!pq3_session_receipt_due(&x.a, &pol, FX_T0 + 2)); /* one per received chain */
    CHECK_ERR(pq3_session_seal_receipt(&x.a, sk, &x.alice.device_signer, &pol, FX_T0 + 2,
                                       &x.alice.rng, r.m, sizeof r.m, &r.len),
              PQ3_ERR_LIMIT);
    CHECK_OK(pq3_session_open_ex(&x.b, NULL, FX_T0 + 1, r.m, r.len, body, sizeof body, &info));
    CHECK(info.content_type == PQ3_CONTENT_RECEIPT && info.new_chain);
    CHECK_OK(pq3_receipt_parse(body, info.body_len, rk, &next, &missing));
    CHECK(next == 4 && missing == 1);
    CHECK(memcmp(rk, x.b.my_pub, 32) != 0); /* bob's chain ended with the receipt */
    CHECK_ERR(pq3_receipt_parse(body, 39, rk, &next, &missing), PQ3_ERR_DECODE);
    /* §16.1: a peer chain of receipts only owes no receipt (no receipts
     * answering receipts), though bob's next seal still turns the ratchet */
    CHECK(!pq3_session_receipt_due(&x.b, &pol, FX_T0 + 1));
    CHECK(!(x.b.flags & PQ3_ST_SEND) && !(x.b.flags & PQ3_ST_PEER_APP));
    CHECK_ERR(pq3_session_seal_receipt(&x.b, NULL, &x.bob.device_signer, &pol, FX_T0 + 1,
                                       &x.bob.rng, r.m, sizeof r.m, &r.len),
              PQ3_ERR_LIMIT);
    /* bob's offer was answered by the receipt: an ML-KEM step with no
     * user reply. */
    CHECK(!(x.b.flags & PQ3_ST_MY_OFFER));
    CHECK(x.b.pq_count == 0);
    /* Rate limit by time on the next chain. */
    pol.receipt_interval = 100;
    CHECK(seal_n(&x.bob, &x.b, &pol, FX_T0 + 2, b, 1));
    CHECK_OK(open_w(&x.a, sk, FX_T0 + 2, &b[0], &info));
    CHECK(!pq3_session_receipt_due(&x.a, &pol, FX_T0 + 100));
    CHECK(pq3_session_receipt_due(&x.a, &pol, FX_T0 + 101));
    /* seal with content type receipt requires a receipt body */
    CHECK_ERR(pq3_session_seal(&x.a, &x.alice.device_signer, &pol, FX_T0, &x.alice.rng,
                               PQ3_CONTENT_RECEIPT, (const uint8_t *)"x", 1, NULL, 0, r.m,
                               sizeof r.m, &r.len),
              PQ3_ERR_ARG);
    free(sk);
}

/* Copies from older peer chains (§13 step 3, §14): a copy of a message of
 * any of the last PQ3_PREV_PEER_KEYS ended chains is PQ3_ERR_REPLAY with
 * nothing changed; a key still in the store opens however old its chain;
 * beyond the list an old chain cannot be told from a bogus new one. */
static void test_stale_replay(void)
{
    enum { ROUNDS = PQ3_PREV_PEER_KEYS + 3 };
    fx_pair x;
    wire *a = malloc(ROUNDS * sizeof *a), first, b1;
    pq3_opened info;
    pq3_skipped *sk = new_store();
    snap d;

    CHECK(fx_pair_init(&x, 45));
    for (int r = 0; r < ROUNDS; r++) {
        CHECK(seal_n(&x.bob, &x.b, NULL, FX_T0, &b1, 1));
        CHECK_OK(open_w(&x.a, NULL, FX_T0, &b1, &info));
        if (r == 0) {
            /* round 0's chain has two messages; the first is kept as a
             * skipped key */
            CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, &first, 1));
        }
        CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, &a[r], 1));
        CHECK_OK(open_w(&x.b, sk, FX_T0, &a[r], &info));
        CHECK(info.new_chain);
    }
    CHECK(x.b.prev_peer_count == PQ3_PREV_PEER_KEYS && (x.b.flags & PQ3_ST_RECV2));
    /* bob has a sending chain again: a new peer chain would be expected */
    CHECK(seal_n(&x.bob, &x.b, NULL, FX_T0, &b1, 1));
    for (int r = ROUNDS - 1 - PQ3_PREV_PEER_KEYS; r < ROUNDS; r++) {
        take(&d, &x.b, sk);
        CHECK_ERR(open_w(&x.b, sk, FX_T0, &a[r], &info), PQ3_ERR_REPLAY);
        CHECK(same(&d, &x.b, sk));
    }
    /* round 1's chain is forgotten and has no stored key: routed as a new
     * chain, it fails the mki check (never decrypts) */
    take(&d, &x.b, sk);
    CHECK_ERR(open_w(&x.b, sk, FX_T0, &a[1], &info), PQ3_ERR_VERIFY);
    CHECK(same(&d, &x.b, sk));
    /* round 0's chain is forgotten too, but its stored key still opens */
    CHECK_OK(open_w(&x.b, sk, FX_T0, &first, &info));
    CHECK(info.late && sk->count == 0);
    /* its last key used, that chain is unknown again: a copy is refused,
     * as a bogus chain (PQ3_ERR_VERIFY), not recognized as a replay */
    CHECK_ERR(open_w(&x.b, sk, FX_T0, &first, &info), PQ3_ERR_VERIFY);
    free(a);
    free(sk);
}

/* §10.4: the replay cache of session starts. */
static void test_start_replay(void)
{
    fx_pair x;
    pq3_opened info;
    pq3_session s2;
    uint8_t body[MAXMSG], *buf;
    size_t len;
    pq3_start_cache *c = malloc(sizeof *c), *c2 = malloc(sizeof *c2), before;
    wire a[1];

    CHECK(fx_pair_init(&x, 80));
    CHECK_OK(pq3_start_cache_init(c, x.prekey.bundle.hash, 2));
    CHECK_OK(pq3_session_accept_ex(&s2, NULL, c, &x.bob.cert, &x.alice.cert, &x.prekey, FX_T0,
                                   x.first, x.first_len, body, sizeof body, &info));
    CHECK(c->count == 1);
    before = *c;
    CHECK_ERR(pq3_session_accept_ex(&s2, NULL, c, &x.bob.cert, &x.alice.cert, &x.prekey, FX_T0,
                                    x.first, x.first_len, body, sizeof body, &info),
              PQ3_ERR_REPLAY);
    /* another message of the same first chain: the same start */
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, a, 1));
    {
        pq3_skipped *sk = new_store();
        CHECK_ERR(pq3_session_accept_ex(&s2, sk, c, &x.bob.cert, &x.alice.cert, &x.prekey,
                                        FX_T0, a[0].m, a[0].len, body, sizeof body, &info),
                  PQ3_ERR_REPLAY);
        CHECK(sk->count == 0);
        free(sk);
    }
    CHECK(memcmp(&before, c, sizeof before) == 0);
    /* Serialization round trip and strictness. */
    len = pq3_start_cache_size(c);
    buf = malloc(len + 1);
    CHECK_OK(pq3_start_cache_serialize(c, buf, len, &len));
    CHECK_OK(pq3_start_cache_deserialize(c2, buf, len));
    CHECK(memcmp(c2->entries, c->entries, 48) == 0 && c2->count == 1 && c2->max == 2);
    buf[len] = 0;
    CHECK_ERR(pq3_start_cache_deserialize(c2, buf, len + 1), PQ3_ERR_DECODE);
    buf[0] = 2;
    CHECK_ERR(pq3_start_cache_deserialize(c2, buf, len), PQ3_ERR_VERSION);
    free(buf);
    /* A cache of another prekey is a caller error. */
    {
        uint8_t other[48] = { 1 };
        CHECK_OK(pq3_start_cache_init(c2, other, 4));
        CHECK_ERR(pq3_session_accept_ex(&s2, NULL, c2, &x.bob.cert, &x.alice.cert, &x.prekey,
                                        FX_T0, x.first, x.first_len, body, sizeof body, &info),
                  PQ3_ERR_ARG);
    }
    /* Full cache: PQ3_ERR_LIMIT. */
    {
        fx_pair z;
        CHECK(fx_pair_init(&z, 81));
        CHECK_OK(pq3_start_cache_init(c2, z.prekey.bundle.hash, 1));
        CHECK_OK(pq3_session_accept_ex(&s2, NULL, c2, &z.bob.cert, &z.alice.cert, &z.prekey,
                                       FX_T0, z.first, z.first_len, body, sizeof body, &info));
        /* a second, different start against the same prekey */
        CHECK_OK(pq3_session_start(&z.a, &z.alice.cert, &z.bob.cert, &z.bundle, FX_T0,
                                   &z.alice.rng));
        CHECK(seal_n(&z.alice, &z.a, NULL, FX_T0, a, 1));
        CHECK_ERR(pq3_session_accept_ex(&s2, NULL, c2, &z.bob.cert, &z.alice.cert, &z.prekey,
                                        FX_T0, a[0].m, a[0].len, body, sizeof body, &info),
                  PQ3_ERR_LIMIT);
    }
    free(c);
    free(c2);
}

/* The skipped-key store's serialization (§13.2). */
static void test_store_codec(void)
{
    fx_pair x;
    wire w[4];
    pq3_opened info;
    pq3_skipped *sk = new_store(), *sk2 = malloc(sizeof *sk2);
    uint8_t *buf;
    size_t len;

    CHECK(fx_pair_init(&x, 90));
    CHECK(seal_n(&x.alice, &x.a, NULL, FX_T0, w, 4));
    CHECK_OK(open_w(&x.b, sk, FX_T0, &w[3], &info));
    len = pq3_skipped_size(sk);
    CHECK(len == PQ3_SKIPPED_HEADER_BYTES + 3 * PQ3_SKIPPED_ENTRY_BYTES);
    buf = malloc(len + 1);
    CHECK_ERR(pq3_skipped_serialize(sk, buf, len - 1, &len), PQ3_ERR_BUFFER);
    CHECK_OK(pq3_skipped_serialize(sk, buf, len, &len));
    CHECK_OK(pq3_skipped_deserialize(sk2, buf, len));
    CHECK(memcmp(sk, sk2, sizeof *sk) == 0);
    CHECK_ERR(pq3_skipped_deserialize(sk2, buf, len - 1), PQ3_ERR_DECODE);
    buf[len] = 0;
    CHECK_ERR(pq3_skipped_deserialize(sk2, buf, len + 1), PQ3_ERR_DECODE);
    /* a duplicate entry */
    memcpy(buf + PQ3_SKIPPED_HEADER_BYTES + PQ3_SKIPPED_ENTRY_BYTES,
           buf + PQ3_SKIPPED_HEADER_BYTES, PQ3_SKIPPED_ENTRY_BYTES);
    CHECK_ERR(pq3_skipped_deserialize(sk2, buf, len), PQ3_ERR_DECODE);
    /* count over max_keys */
    CHECK_OK(pq3_skipped_serialize(sk, buf, len, &len));
    buf[2 + 4 + 3] = 2; /* max_keys = 2 < count 3; max_jump 512 > 2 too */
    CHECK(pq3_skipped_deserialize(sk2, buf, len) != PQ3_OK);
    buf[0] = 9;
    CHECK_ERR(pq3_skipped_deserialize(sk2, buf, len), PQ3_ERR_VERSION);
    /* the loaded store still opens the late messages */
    CHECK_OK(open_w(&x.b, sk2, FX_T0, &w[0], &info));
    free(buf);
    free(sk);
    free(sk2);
}

/* §10.5: both devices start a session at once; both sessions work. */
static void test_simultaneous(void)
{
    fx_pair x;
    pq3_prekey_secret apre;
    uint8_t aenc[PQ3_PREKEY_BUNDLE_BYTES], body[MAXMSG];
    pq3_prekey_bundle abundle;
    pq3_session ba, ab; /* bob's initiated session, alice's accepted one */
    wire m, r;
    pq3_opened info;

    CHECK(fx_pair_init(&x, 95));
    CHECK_OK(pq3_prekey_generate(&apre, 8, FX_T0, FX_T0 + 7 * FX_DAY, &x.alice.device_signer,
                                 &x.alice.rng));
    CHECK_OK(pq3_prekey_encode(aenc, &apre.bundle));
    CHECK_OK(pq3_prekey_verify(&abundle, aenc, sizeof aenc, &x.alice.cert, FX_T0));
    CHECK_OK(pq3_session_start(&ba, &x.bob.cert, &x.alice.cert, &abundle, FX_T0, &x.bob.rng));
    CHECK(seal_n(&x.bob, &ba, NULL, FX_T0, &m, 1));
    CHECK_OK(pq3_session_accept(&ab, &x.alice.cert, &x.bob.cert, &apre, FX_T0, m.m, m.len, body,
                                sizeof body, &info));
    /* Both sessions carry traffic both ways. */
    CHECK(seal_n(&x.alice, &ab, NULL, FX_T0, &r, 1));
    CHECK_OK(open_w(&ba, NULL, FX_T0, &r, &info));
    CHECK(seal_n(&x.bob, &x.b, NULL, FX_T0, &r, 1));
    CHECK_OK(open_w(&x.a, NULL, FX_T0, &r, &info));
    /* The sessions are told apart by their ids; a message of one does not
     * open in the other. */
    CHECK(memcmp(ab.session_id, x.a.session_id, 32) != 0);
    CHECK(memcmp(ab.session_id, ba.session_id, 32) == 0);
    CHECK(seal_n(&x.alice, &ab, NULL, FX_T0, &r, 1));
    CHECK(open_w(&x.b, NULL, FX_T0, &r, &info) != PQ3_OK);
    pq3_prekey_secret_wipe(&apre);
}

/* Stored keys are bound to their session (§13.1): with one store shared by
 * mistake between sessions with two peers, one peer re-signing the other's
 * late message cannot open it with the other session's stored key. */
static void test_store_binding(void)
{
    fx_pair *x = malloc(sizeof *x), *y = malloc(sizeof *y);
    pq3_skipped *sk = new_store();
    wire w[3], forged;
    pq3_opened info;
    snap d;

    CHECK(x != NULL && y != NULL && sk != NULL);
    CHECK(fx_pair_init(x, 21) && fx_pair_init(y, 22));
    /* y's initiator ("carol") makes her chain known to y.b first */
    CHECK(seal_n(&y->alice, &y->a, NULL, FX_T0, w, 1));
    CHECK_OK(open_w(&y->b, sk, FX_T0, &w[0], &info));
    /* x: message 1 is skipped, its key stored for x.b's session */
    CHECK(seal_n(&x->alice, &x->a, NULL, FX_T0, w, 3)); /* indices 1..3 */
    CHECK_OK(open_w(&x->b, sk, FX_T0, &w[2], &info));
    CHECK(info.keys_stored == 2 && sk->count == 2);
    /* carol takes alice's message 1 and signs it as hers */
    forged = w[0];
    resign(forged.m, forged.len, &y->a, &y->alice);
    take(&d, &y->b, sk);
    CHECK(open_w(&y->b, sk, FX_T0, &forged, &info) != PQ3_OK);
    CHECK(same(&d, &y->b, sk));
    /* it also fails when carol's session expects a new chain */
    CHECK(seal_n(&y->bob, &y->b, NULL, FX_T0, w + 1, 1));
    take(&d, &y->b, sk);
    CHECK(open_w(&y->b, sk, FX_T0, &forged, &info) != PQ3_OK);
    CHECK(same(&d, &y->b, sk));
    /* alice's own message still opens in her session */
    CHECK_OK(open_w(&x->b, sk, FX_T0, &w[0], &info));
    CHECK(info.late && sk->count == 1);
    pq3_skipped_wipe(sk);
    free(sk);
    pq3_session_wipe(&x->a);
    pq3_session_wipe(&x->b);
    pq3_session_wipe(&y->a);
    pq3_session_wipe(&y->b);
    free(x);
    free(y);
}

int main(void)
{
    test_reorder_chain();
    test_reorder_across();
    test_atomic();
    test_limits();
    test_loss();
    test_receipts();
    test_stale_replay();
    test_start_replay();
    test_store_codec();
    test_simultaneous();
    test_store_binding();
    return pq3t_finish();
}
