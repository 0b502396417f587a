/* Several sessions with one peer device (docs/PROTOCOL.md §10.5, §10.6):
 * simultaneous starts and convergence, routing, eviction, dropping, limits,
 * negative cases and the container's serialization. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq3/crypto.h"
#include "pq3/peer.h"
#include "protocol_fixture.h"

#define MAXMSG 8192

typedef struct {
    uint8_t m[MAXMSG];
    size_t len;
} wire;

/* One device's side: its party, its prekey, and its container for the other
 * device. */
typedef struct {
    fx_party *me;
    const pq3_device_cert *other;
    pq3_prekey_secret *prekey;
    pq3_start_cache *cache;
    pq3_peer *p;
} side;

typedef struct {
    fx_party alice, bob;
    pq3_prekey_secret apre, bpre;
    pq3_prekey_bundle abundle, bbundle; /* as the other side verified them */
    pq3_start_cache acache, bcache;
    pq3_peer *ap, *bp;                  /* alice's container for bob, bob's for alice */
    side a, b;
} world;

static int world_init(world *w, uint64_t k)
{
    uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES];
    memset(w, 0, sizeof *w);
    if (!fx_party_init(&w->alice, "mailto:alice@example.org", "alice", k) ||
        !fx_party_init(&w->bob, "tel:+15555550123", "bob", k))
        return 0;
    if (pq3_prekey_generate(&w->apre, 1, FX_T0, FX_T0 + 7 * FX_DAY, &w->alice.device_signer,
                            &w->alice.rng) != PQ3_OK ||
        pq3_prekey_encode(enc, &w->apre.bundle) != PQ3_OK ||
        pq3_prekey_verify(&w->abundle, enc, sizeof enc, &w->alice.cert, FX_T0) != PQ3_OK)
        return 0;
    if (pq3_prekey_generate(&w->bpre, 2, FX_T0, FX_T0 + 7 * FX_DAY, &w->bob.device_signer,
                            &w->bob.rng) != PQ3_OK ||
        pq3_prekey_encode(enc, &w->bpre.bundle) != PQ3_OK ||
        pq3_prekey_verify(&w->bbundle, enc, sizeof enc, &w->bob.cert, FX_T0) != PQ3_OK)
        return 0;
    if (pq3_start_cache_init(&w->acache, w->apre.bundle.hash, 16) != PQ3_OK ||
        pq3_start_cache_init(&w->bcache, w->bpre.bundle.hash, 16) != PQ3_OK)
        return 0;
    w->ap = malloc(sizeof *w->ap);
    w->bp = malloc(sizeof *w->bp);
    if (w->ap == NULL || w->bp == NULL)
        return 0;
    pq3_peer_init_default(w->ap);
    pq3_peer_init_default(w->bp);
    w->a = (side){&w->alice, &w->bob.cert, &w->apre, &w->acache, w->ap};
    w->b = (side){&w->bob, &w->alice.cert, &w->bpre, &w->bcache, w->bp};
    return 1;
}

static void world_free(world *w)
{
    pq3_peer_wipe(w->ap);
    pq3_peer_wipe(w->bp);
    free(w->ap);
    free(w->bp);
}

static pq3_err seal(side *s, uint64_t now, const char *text, wire *out, uint8_t id[32])
{
    return pq3_peer_seal(s->p, &s->me->device_signer, NULL, now, &s->me->rng,
                         PQ3_CONTENT_MESSAGE, (const uint8_t *)text, strlen(text), NULL, 0,
                         out->m, sizeof out->m, &out->len, id);
}

/* Seals on one given slot (not the current one). */
static pq3_err seal_on(side *s, int slot, uint64_t now, const char *text, wire *out)
{
    return pq3_session_seal(&s->p->slots[slot].session, &s->me->device_signer, NULL, now,
                            &s->me->rng, PQ3_CONTENT_MESSAGE, (const uint8_t *)text,
                            strlen(text), NULL, 0, out->m, sizeof out->m, &out->len);
}

static pq3_err open_w(side *s, uint64_t now, const wire *in, const char *expect, uint8_t id[32])
{
    uint8_t body[MAXMSG];
    pq3_opened info;
    pq3_err err = pq3_peer_open(s->p, &s->me->cert, s->other, s->prekey, s->cache, now, in->m,
                                in->len, body, sizeof body, &info, id);
    if (err == PQ3_OK && expect != NULL)
        CHECK(info.body_len == strlen(expect) && memcmp(body, expect, info.body_len) == 0);
    return err;
}

/* The slot of the session to send on, or -1 (PQ3_ERR_STATE: empty). */
static int cur_slot(const pq3_peer *p)
{
    uint32_t slot;
    pq3_err err = pq3_peer_current(p, &slot);
    if (err != PQ3_OK) {
        CHECK(err == PQ3_ERR_STATE);
        return -1;
    }
    return (int)slot;
}

/* The slot of a session by id, or -1 (PQ3_ERR_UNKNOWN: absent). */
static int find_slot(const pq3_peer *p, const uint8_t id[32])
{
    uint32_t slot;
    pq3_err err = pq3_peer_find(p, id, &slot);
    if (err != PQ3_OK) {
        CHECK(err == PQ3_ERR_UNKNOWN);
        return -1;
    }
    return (int)slot;
}

static const uint8_t *current_id(const pq3_peer *p)
{
    int c = cur_slot(p);
    return c < 0 ? NULL : p->slots[c].session.session_id;
}

static int agree(const world *w)
{
    const uint8_t *x = current_id(w->ap), *y = current_id(w->bp);
    return x != NULL && y != NULL && memcmp(x, y, 32) == 0;
}

/* A copy of a container for "unchanged" checks. */
static pq3_peer *snapshot(const pq3_peer *p)
{
    pq3_peer *c = malloc(sizeof *c);
    if (c != NULL)
        memcpy(c, p, sizeof *c);
    return c;
}

static int same(const pq3_peer *a, const pq3_peer *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Every stored key belongs to a held session (its tag, §13.1) and to a
 * chain that session received (§10.6). */
static int store_owned(const pq3_peer *p)
{
    for (uint32_t i = 0; i < p->store.count; i++) {
        int owned = 0;
        for (uint32_t s = 0; s < p->count; s++) {
            const pq3_session *ss = &p->slots[s].session;
            int chain = memcmp(ss->peer_pub, p->store.keys[i].ratchet_key, 32) == 0;
            for (uint32_t j = 0; j < ss->prev_peer_count; j++)
                chain |= memcmp(ss->prev_peer_pubs[j], p->store.keys[i].ratchet_key, 32) == 0;
            owned |= chain && memcmp(ss->session_id, p->store.keys[i].session,
                                     PQ3_SKIPPED_TAG_BYTES) == 0;
        }
        if (!owned)
            return 0;
    }
    return 1;
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

/* Both devices start at once; the two starts cross in flight. */
static void cross_starts(world *w, uint64_t ta, uint64_t tb, uint64_t arrive_a,
                         uint64_t arrive_b)
{
    wire sa, sb;
    uint8_t id[32];
    CHECK_OK(pq3_peer_start(w->ap, &w->alice.cert, &w->bob.cert, &w->bbundle, ta,
                            &w->alice.rng));
    CHECK_OK(seal(&w->a, ta, "from alice", &sa, id));
    CHECK(memcmp(id, w->ap->slots[0].session.session_id, 32) == 0);
    CHECK_OK(pq3_peer_start(w->bp, &w->bob.cert, &w->alice.cert, &w->abundle, tb, &w->bob.rng));
    CHECK_OK(seal(&w->b, tb, "from bob", &sb, id));
    /* alice's start reaches bob, bob's reaches alice */
    CHECK_OK(open_w(&w->b, arrive_b, &sa, "from alice", id));
    CHECK(memcmp(id, w->ap->slots[0].session.session_id, 32) == 0);
    CHECK_OK(open_w(&w->a, arrive_a, &sb, "from bob", id));
    CHECK(memcmp(id, w->bp->slots[0].session.session_id, 32) == 0);
    CHECK(w->ap->count == 2 && w->bp->count == 2);
}

/* Rounds in which both sides send at once on their current session and the
 * messages cross; returns the round after which both agree (and stay
 * agreed), or -1. */
static int converge(world *w, uint64_t *now, int rounds)
{
    int agreed_at = -1;
    for (int r = 0; r < rounds; r++) {
        wire ma, mb;
        uint8_t ida[32], idb[32], got[32];
        char ta[32], tb[32];
        *now += 30;
        snprintf(ta, sizeof ta, "a%d", r);
        snprintf(tb, sizeof tb, "b%d", r);
        CHECK_OK(seal(&w->a, *now, ta, &ma, ida));
        CHECK_OK(seal(&w->b, *now, tb, &mb, idb));
        CHECK_OK(open_w(&w->b, *now + 1, &ma, ta, got));
        CHECK(memcmp(got, ida, 32) == 0); /* routed to the session it was sealed on */
        CHECK_OK(open_w(&w->a, *now + 1, &mb, tb, got));
        CHECK(memcmp(got, idb, 32) == 0);
        if (agree(w)) {
            if (agreed_at < 0)
                agreed_at = r;
        } else {
            agreed_at = -1;
        }
    }
    return agreed_at;
}

static void test_simultaneous(uint64_t k, uint64_t da, uint64_t db, uint64_t la, uint64_t lb)
{
    world w;
    uint64_t now = FX_T0;
    wire m;
    uint8_t id[32], low[32], gap_key[2][32], gap_id[2][32];
    int r;

    CHECK(world_init(&w, k));
    cross_starts(&w, FX_T0 + da, FX_T0 + db, FX_T0 + la, FX_T0 + lb);
    now = FX_T0 + (la > lb ? la : lb);
    /* Both sessions live on both sides: a message on either decrypts. */
    for (int s = 0; s < 2; s++) {
        CHECK_OK(seal_on(&w.a, s, now, "either", &m));
        CHECK_OK(open_w(&w.b, now, &m, "either", id));
        CHECK(memcmp(id, w.ap->slots[s].session.session_id, 32) == 0);
        CHECK_OK(seal_on(&w.b, s, now, "either way", &m));
        CHECK_OK(open_w(&w.a, now, &m, "either way", id));
        CHECK(memcmp(id, w.bp->slots[s].session.session_id, 32) == 0);
    }
    CHECK(w.ap->count == 2 && w.bp->count == 2);
    /* a lost message on each session leaves a stored key in bob's store */
    for (int s = 0; s < 2; s++) {
        wire g;
        CHECK_OK(seal_on(&w.a, s, now, "lost", &g));
        CHECK_OK(seal_on(&w.a, s, now, "after", &m));
        CHECK_OK(open_w(&w.b, now, &m, "after", id));
        memcpy(gap_key[s], m.m + 3, 32); /* the ratchet key (§9.1) */
        memcpy(gap_id[s], w.ap->slots[s].session.session_id, 32);
    }
    CHECK(w.bp->store.count == 2);
    /* Converges within a bounded number of crossing rounds, on the same
     * session on both sides (§10.6). */
    r = converge(&w, &now, 6);
    CHECKF(r >= 0 && r <= 2, "converged after round %d", r);
    CHECK(agree(&w));
    /* Within the tie window, both ends pick the lowest id. */
    memcpy(low, w.ap->slots[0].session.session_id, 32);
    if (memcmp(w.ap->slots[1].session.session_id, low, 32) < 0)
        memcpy(low, w.ap->slots[1].session.session_id, 32);
    if (da == db && la == lb)
        CHECK(memcmp(current_id(w.ap), low, 32) == 0);
    /* The other session is dropped once idle long enough (§10.6). */
    now += PQ3_PEER_DROP_SECONDS;
    r = converge(&w, &now, 2);
    CHECK(r == 0);
    CHECK(w.ap->count == 1 && w.bp->count == 1);
    CHECK(store_owned(w.ap) && store_owned(w.bp));
    /* the dropped session's stored key is gone */
    {
        int d = memcmp(gap_id[0], w.ap->slots[0].session.session_id, 32) == 0 ? 1 : 0;
        CHECK(memcmp(gap_id[1 - d], w.ap->slots[0].session.session_id, 32) == 0);
        for (uint32_t i = 0; i < w.bp->store.count; i++)
            CHECK(memcmp(w.bp->store.keys[i].ratchet_key, gap_key[d], 32) != 0);
    }
    CHECK(memcmp(w.ap->slots[0].session.session_id, w.bp->slots[0].session.session_id, 32) ==
          0);
    /* wiped: the freed slot is all zero */
    {
        static const pq3_peer_slot zero;
        CHECK(memcmp(&w.ap->slots[1], &zero, sizeof zero) == 0);
        CHECK(memcmp(&w.bp->slots[1], &zero, sizeof zero) == 0);
    }
    world_free(&w);
}

/* Starts delivered so late that each side first picks a different session;
 * a slow alternating exchange (gaps beyond the tie window) agrees within
 * one round trip and stays agreed (§10.6). */
static void test_pingpong(uint64_t k)
{
    world w;
    uint64_t now;
    int agreed_at = -1;

    CHECK(world_init(&w, k));
    /* both start at T0; alice's start reaches bob at +150, bob's reaches
     * alice at +200: each device's newest activity is the other's session */
    cross_starts(&w, FX_T0, FX_T0, FX_T0 + 200, FX_T0 + 150);
    now = FX_T0 + 200;
    CHECK(!agree(&w));
    for (int r = 0; r < 8; r++) {
        wire m;
        uint8_t id[32], got[32];
        side *from = (r % 2) ? &w.b : &w.a, *to = (r % 2) ? &w.a : &w.b;
        now += 120;
        CHECK_OK(seal(from, now, "pp", &m, id));
        CHECK_OK(open_w(to, now + 1, &m, "pp", got));
        CHECK(memcmp(got, id, 32) == 0);
        if (agree(&w)) {
            if (agreed_at < 0)
                agreed_at = r;
        } else {
            agreed_at = -1;
        }
    }
    CHECKF(agreed_at >= 0 && agreed_at <= 1, "agreed after message %d", agreed_at);
    /* the other session was dropped on both sides */
    CHECK(w.ap->count == 1 && w.bp->count == 1);
    CHECK(agree(&w));
    world_free(&w);
}

/* Starts beyond the limit evict the least recently active session; the
 * evicted session's messages are unknown afterwards. */
static void test_evict(void)
{
    world w;
    uint64_t now = FX_T0;
    wire m, old[PQ3_PEER_MAX_SESSIONS + 1];
    uint8_t id[32], ids[PQ3_PEER_MAX_SESSIONS + 1][32];
    pq3_peer *before;

    CHECK(world_init(&w, 7));
    /* bob starts PQ3_PEER_MAX_SESSIONS + 1 sessions, 100 s apart */
    for (int i = 0; i <= PQ3_PEER_MAX_SESSIONS; i++) {
        now += 100;
        CHECK_OK(pq3_peer_start(w.bp, &w.bob.cert, &w.alice.cert, &w.abundle, now, &w.bob.rng));
        CHECK_OK(seal(&w.b, now, "start", &m, ids[i]));
        /* the newest session is current (most recent activity) */
        CHECK(memcmp(current_id(w.bp), ids[i], 32) == 0);
        CHECK_OK(open_w(&w.a, now, &m, "start", id));
        CHECK(memcmp(id, ids[i], 32) == 0);
        CHECK(memcmp(current_id(w.ap), ids[i], 32) == 0);
        /* a second message on that session's first chain, kept for later */
        CHECK_OK(seal(&w.b, now, "later", &old[i], id));
        CHECK(w.ap->count == (uint32_t)(i < PQ3_PEER_MAX_SESSIONS ? i + 1 : PQ3_PEER_MAX_SESSIONS));
    }
    /* the first (least recently active) was evicted on both sides */
    CHECK(find_slot(w.ap, ids[0]) < 0);
    CHECK(find_slot(w.bp, ids[0]) < 0);
    for (int i = 1; i <= PQ3_PEER_MAX_SESSIONS; i++)
        CHECK(find_slot(w.ap, ids[i]) >= 0);
    /* its late message is a START of a forgotten session: the replay cache
     * refuses it and the container is unchanged */
    before = snapshot(w.ap);
    CHECK_ERR(open_w(&w.a, now, &old[0], NULL, id), PQ3_ERR_REPLAY);
    CHECK(same(w.ap, before));
    /* the others still open */
    for (int i = 1; i <= PQ3_PEER_MAX_SESSIONS; i++) {
        CHECK_OK(open_w(&w.a, now, &old[i], "later", id));
        CHECK(memcmp(id, ids[i], 32) == 0);
    }
    /* receiving on session 1 makes it most recently active: the next
     * eviction takes session 2 */
    now += 100;
    CHECK_OK(seal_on(&w.b, find_slot(w.bp, ids[1]), now, "bump", &m));
    CHECK_OK(open_w(&w.a, now, &m, "bump", id));
    CHECK(memcmp(id, ids[1], 32) == 0);
    now += 100;
    CHECK_OK(pq3_peer_start(w.bp, &w.bob.cert, &w.alice.cert, &w.abundle, now, &w.bob.rng));
    CHECK_OK(seal(&w.b, now, "fifth", &m, id));
    CHECK_OK(open_w(&w.a, now, &m, "fifth", id));
    CHECK(find_slot(w.ap, ids[1]) >= 0);
    CHECK(find_slot(w.ap, ids[2]) < 0);
    CHECK(w.ap->count == PQ3_PEER_MAX_SESSIONS);
    /* no stored key belongs to an evicted session */
    CHECK(store_owned(w.ap) && store_owned(w.bp));
    free(before);
    world_free(&w);
}

/* Routing failures and tampering: each leaves the container byte-identical. */
static void test_negative(void)
{
    world w;
    uint64_t now = FX_T0;
    wire m, m2, t;
    uint8_t id[32];
    pq3_peer *before;
    fx_party carol;

    CHECK(world_init(&w, 11));
    CHECK_OK(pq3_peer_start(w.ap, &w.alice.cert, &w.bob.cert, &w.bbundle, now, &w.alice.rng));
    CHECK_OK(seal(&w.a, now, "one", &m, id));
    CHECK_OK(seal(&w.a, now, "two", &m2, id));

    /* a START without a prekey to accept it: unknown */
    before = snapshot(w.bp);
    {
        uint8_t body[MAXMSG];
        pq3_opened info;
        CHECK_ERR(pq3_peer_open(w.bp, &w.bob.cert, &w.alice.cert, NULL, NULL, now, m.m, m.len,
                                body, sizeof body, &info, id),
                  PQ3_ERR_UNKNOWN);
    }
    CHECK(same(w.bp, before));
    free(before);
    CHECK_OK(open_w(&w.b, now, &m, "one", id));

    /* the same start again: routed to its session, a replay */
    before = snapshot(w.bp);
    CHECK_ERR(open_w(&w.b, now, &m, NULL, id), PQ3_ERR_REPLAY);
    CHECK(same(w.bp, before));

    /* unknown ratchet key (no START, validly signed): no session has it */
    /* unknown ratchet key without START: a later chain of a session bob's
     * container never saw (alice's side of a pair made apart) */
    {
        pq3_session oa, ob;
        wire o;
        uint8_t body[MAXMSG];
        pq3_opened info;
        CHECK_OK(pq3_session_start(&oa, &w.alice.cert, &w.bob.cert, &w.bbundle, now,
                                   &w.alice.rng));
        CHECK_OK(pq3_session_seal(&oa, &w.alice.device_signer, NULL, now, &w.alice.rng,
                                  PQ3_CONTENT_MESSAGE, (const uint8_t *)"x", 1, NULL, 0, o.m,
                                  sizeof o.m, &o.len));
        CHECK_OK(pq3_session_accept(&ob, &w.bob.cert, &w.alice.cert, &w.bpre, now, o.m, o.len,
                                    body, sizeof body, &info));
        CHECK_OK(pq3_session_seal(&ob, &w.bob.device_signer, NULL, now, &w.bob.rng,
                                  PQ3_CONTENT_MESSAGE, (const uint8_t *)"y", 1, NULL, 0, o.m,
                                  sizeof o.m, &o.len));
        CHECK_OK(pq3_session_open(&oa, now, o.m, o.len, body, sizeof body, &info));
        CHECK_OK(pq3_session_seal(&oa, &w.alice.device_signer, NULL, now, &w.alice.rng,
                                  PQ3_CONTENT_MESSAGE, (const uint8_t *)"z", 1, NULL, 0, o.m,
                                  sizeof o.m, &o.len));
        CHECK((o.m[2] & PQ3_MSG_START) == 0);
        /* bob's only session expects no new chain (it has not sent) */
        CHECK_ERR(open_w(&w.b, now, &o, NULL, id), PQ3_ERR_UNKNOWN);
        CHECK(same(w.bp, before));
        /* once it has sent, it expects one: the key is tried on it and
         * fails its checks, still unknown, nothing changed */
        CHECK_OK(seal(&w.b, now, "reply", &t, id));
        free(before);
        before = snapshot(w.bp);
        CHECK_ERR(open_w(&w.b, now, &o, NULL, id), PQ3_ERR_UNKNOWN);
        CHECK(same(w.bp, before));
        pq3_session_wipe(&oa);
        pq3_session_wipe(&ob);
    }

    /* tampered ciphertext byte (signature no longer verifies) */
    t = m2;
    t.m[t.len - 66] ^= 1;
    CHECK_ERR(open_w(&w.b, now, &t, NULL, id), PQ3_ERR_VERIFY);
    CHECK(same(w.bp, before));
    /* tampered mki (after the START extension, §9.1), re-signed: the mki
     * check fails */
    t = m2;
    t.m[43 + 1616] ^= 1;
    resign(t.m, t.len, &w.ap->slots[0].session, &w.alice);
    CHECK_ERR(open_w(&w.b, now, &t, NULL, id), PQ3_ERR_VERIFY);
    CHECK(same(w.bp, before));
    /* truncated, garbage */
    t = m2;
    t.len -= 1;
    CHECK_ERR(open_w(&w.b, now, &t, NULL, id), PQ3_ERR_DECODE);
    CHECK(same(w.bp, before));
    t.m[0] = 9;
    CHECK_ERR(open_w(&w.b, now, &t, NULL, id), PQ3_ERR_VERSION);
    CHECK(same(w.bp, before));
    /* certificates of another pair */
    CHECK(fx_party_init(&carol, "mailto:carol@example.org", "carol", 11));
    {
        uint8_t body[MAXMSG];
        pq3_opened info;
        CHECK_ERR(pq3_peer_open(w.bp, &w.bob.cert, &carol.cert, NULL, NULL, now, m2.m, m2.len,
                                body, sizeof body, &info, id),
                  PQ3_ERR_ARG);
        CHECK_ERR(pq3_peer_start(w.bp, &w.bob.cert, &carol.cert, &w.abundle, now, &w.bob.rng),
                  PQ3_ERR_ARG);
    }
    CHECK(same(w.bp, before));
    /* a failing random source: start fails, nothing changes */
    {
        pq3_rng bad = pq3t_failing_rng();
        CHECK_ERR(pq3_peer_start(w.bp, &w.bob.cert, &w.alice.cert, &w.abundle, now, &bad),
                  PQ3_ERR_RNG);
    }
    CHECK(same(w.bp, before));
    /* the genuine message still opens, then is a replay */
    CHECK_OK(open_w(&w.b, now, &m2, "two", id));
    free(before);
    before = snapshot(w.bp);
    CHECK_ERR(open_w(&w.b, now, &m2, NULL, id), PQ3_ERR_REPLAY);
    CHECK(same(w.bp, before));

    /* empty container: nothing to send on */
    {
        pq3_peer *e = malloc(sizeof *e);
        CHECK(e != NULL);
        pq3_peer_init_default(e);
        CHECK_ERR(seal(&(side){&w.alice, &w.bob.cert, NULL, NULL, e}, now, "x", &t, id),
                  PQ3_ERR_STATE);
        CHECK(cur_slot(e) == -1);
        CHECK_ERR(pq3_peer_init(e, 0, 8, 1), PQ3_ERR_ARG);
        CHECK_ERR(pq3_peer_init(e, 9, 8, 1), PQ3_ERR_ARG);
        free(e);
    }
    free(before);
    world_free(&w);
}

/* Limits: a gap beyond the store's max_jump, a full start cache. */
static void test_limits(void)
{
    world w;
    uint64_t now = FX_T0;
    wire m[8];
    uint8_t id[32];
    pq3_peer *before;

    CHECK(world_init(&w, 13));
    CHECK_OK(pq3_peer_init(w.bp, 2, 4, 3600));
    CHECK_OK(pq3_peer_start(w.ap, &w.alice.cert, &w.bob.cert, &w.bbundle, now, &w.alice.rng));
    for (int i = 0; i < 8; i++)
        CHECK_OK(seal(&w.a, now, "m", &m[i], id));
    CHECK_OK(open_w(&w.b, now, &m[0], "m", id));
    before = snapshot(w.bp);
    CHECK_ERR(open_w(&w.b, now, &m[7], NULL, id), PQ3_ERR_LIMIT); /* gap 6 > max_jump 2 */
    CHECK(same(w.bp, before));
    CHECK_OK(open_w(&w.b, now, &m[3], "m", id)); /* gap 2: kept */
    CHECK(w.bp->store.count == 2);
    CHECK_OK(open_w(&w.b, now, &m[1], "m", id)); /* late, from the store */
    CHECK(w.bp->store.count == 1);
    free(before);

    /* a full start cache refuses a new start, unchanged */
    {
        pq3_start_cache *c = malloc(sizeof *c);
        wire s;
        pq3_peer *a2 = malloc(sizeof *a2);
        CHECK(c != NULL && a2 != NULL);
        CHECK_OK(pq3_start_cache_init(c, w.bpre.bundle.hash, 1));
        memcpy(c->entries[0], "x", 1);
        c->count = 1;
        pq3_peer_init_default(a2);
        CHECK_OK(pq3_peer_start(a2, &w.alice.cert, &w.bob.cert, &w.bbundle, now, &w.alice.rng));
        CHECK_OK(pq3_peer_seal(a2, &w.alice.device_signer, NULL, now, &w.alice.rng,
                               PQ3_CONTENT_MESSAGE, (const uint8_t *)"s", 1, NULL, 0, s.m,
                               sizeof s.m, &s.len, id));
        before = snapshot(w.bp);
        {
            uint8_t body[MAXMSG];
            pq3_opened info;
            CHECK_ERR(pq3_peer_open(w.bp, &w.bob.cert, &w.alice.cert, &w.bpre, c, now, s.m,
                                    s.len, body, sizeof body, &info, id),
                      PQ3_ERR_LIMIT);
        }
        CHECK(same(w.bp, before));
        CHECK(c->count == 1);
        free(before);
        pq3_peer_wipe(a2);
        free(a2);
        free(c);
    }
    world_free(&w);
}

/* Serialization: round trip (and the copy goes on working), strict
 * decoding, the destination untouched on error. */
static void test_serialize(void)
{
    world w;
    uint64_t now = FX_T0;
    uint8_t *buf = malloc(PQ3_PEER_MAX_BYTES), *buf2 = malloc(PQ3_PEER_MAX_BYTES), id[32];
    size_t len = 0, len2 = 0, need = 0;
    pq3_peer *c = malloc(sizeof *c), *before;
    wire m[3];

    CHECK(buf != NULL && buf2 != NULL && c != NULL);
    CHECK(world_init(&w, 17));
    cross_starts(&w, now, now, now, now);
    /* a late message leaves a stored key */
    for (int i = 0; i < 3; i++)
        CHECK_OK(seal(&w.a, now + 1, "k", &m[i], id));
    CHECK_OK(open_w(&w.b, now + 1, &m[2], "k", id));
    CHECK(w.bp->store.count == 2);

    CHECK_OK(pq3_peer_serialize(w.bp, buf, PQ3_PEER_MAX_BYTES, &len));
    {
        size_t sz = 0;
        CHECK_OK(pq3_peer_size(w.bp, &sz));
        CHECK(len == sz);
    }
    CHECK_ERR(pq3_peer_serialize(w.bp, buf2, len - 1, &need), PQ3_ERR_BUFFER);
    CHECK(need == len);
    pq3_peer_init_default(c);
    CHECK_OK(pq3_peer_deserialize(c, buf, len));
    CHECK_OK(pq3_peer_serialize(c, buf2, PQ3_PEER_MAX_BYTES, &len2));
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
    CHECK(cur_slot(c) == cur_slot(w.bp));
    /* the copy opens the late message */
    {
        side s = w.b;
        s.p = c;
        CHECK_OK(open_w(&s, now + 2, &m[0], "k", id));
    }

    /* corruption: header fields */
    before = snapshot(c);
    memcpy(buf2, buf, len);
    buf2[0] = 3;
    CHECK_ERR(pq3_peer_deserialize(c, buf2, len), PQ3_ERR_VERSION);
    buf2[0] = 1; /* format 1 has no generation: the rest is misread */
    CHECK(pq3_peer_deserialize(c, buf2, len) != PQ3_OK);
    buf2[0] = 2;
    buf2[1] = 5;
    CHECK_ERR(pq3_peer_deserialize(c, buf2, len), PQ3_ERR_VERSION);
    buf2[1] = 7;
    buf2[3] = 5; /* count 5 */
    CHECK_ERR(pq3_peer_deserialize(c, buf2, len), PQ3_ERR_LIMIT);
    buf2[3] = 1; /* count 1: the rest does not parse as one session + store */
    CHECK(pq3_peer_deserialize(c, buf2, len) != PQ3_OK);
    buf2[3] = 2;
    buf2[7] = 1; /* reserved */
    CHECK_ERR(pq3_peer_deserialize(c, buf2, len), PQ3_ERR_DECODE);
    buf2[7] = 0;
    memset(buf2 + 8, 0, 8); /* counter 0: below the seqs */
    CHECK_ERR(pq3_peer_deserialize(c, buf2, len), PQ3_ERR_DECODE);
    memcpy(buf2, buf, len);
    memcpy(buf2 + 24 + 8, buf2 + 24 + 8 + 8 + 2 + ((size_t)buf2[40] << 8 | buf2[41]) + 8, 8);
    CHECK_ERR(pq3_peer_deserialize(c, buf2, len), PQ3_ERR_DECODE); /* equal seqs */
    memcpy(buf2, buf, len);
    buf2[len] = 0;
    CHECK_ERR(pq3_peer_deserialize(c, buf2, len + 1), PQ3_ERR_DECODE); /* trailing */
    CHECK(same(c, before));
    /* every truncation fails */
    for (size_t l = 0; l < len; l += (l < 64 ? 1 : 97))
        CHECK(pq3_peer_deserialize(c, buf, l) != PQ3_OK);
    CHECK(same(c, before));
    /* flips across the whole encoding: either an error with the
     * destination untouched, or a container that re-encodes to the input */
    for (size_t pos = 0; pos < len; pos += 37) {
        memcpy(buf2, buf, len);
        buf2[pos] ^= 0x40;
        if (pq3_peer_deserialize(c, buf2, len) == PQ3_OK) {
            size_t l3 = 0;
            uint8_t *b3 = malloc(PQ3_PEER_MAX_BYTES);
            CHECK(b3 != NULL);
            CHECK_OK(pq3_peer_serialize(c, b3, PQ3_PEER_MAX_BYTES, &l3));
            CHECK(l3 == len && memcmp(b3, buf2, len) == 0);
            free(b3);
            memcpy(c, before, sizeof *c);
        } else {
            CHECK(same(c, before));
        }
    }
    /* the same session twice: duplicate ids */
    {
        pq3_peer *d = snapshot(w.bp);
        CHECK(d != NULL);
        memcpy(&d->slots[1].session, &d->slots[0].session, sizeof d->slots[0].session);
        CHECK_ERR(pq3_peer_serialize(d, buf2, PQ3_PEER_MAX_BYTES, &len2), PQ3_ERR_STATE);
        pq3_peer_wipe(d);
        free(d);
    }
    /* wipe leaves nothing */
    {
        static pq3_peer zero;
        pq3_peer_wipe(c);
        CHECK(memcmp(c, &zero, sizeof zero) == 0);
    }
    /* seed corpus for fuzz_peer, when asked */
    {
        const char *dir = getenv("PQ3_WRITE_PEER_SEED");
        if (dir != NULL) {
            char path[512];
            FILE *f;
            snprintf(path, sizeof path, "%s/two_sessions", dir);
            f = fopen(path, "wb");
            if (f != NULL) {
                (void)fwrite(buf, 1, len, f);
                fclose(f);
            }
        }
    }
    free(before);
    free(c);
    free(buf);
    free(buf2);
    world_free(&w);
}

/* Offset just past session record `i` of a serialized container (§10.6:
 * a 24-byte header, then u64 activity || u64 seq || vec16 state each). */
static size_t record_end(const uint8_t *buf, size_t i)
{
    size_t off = PQ3_PEER_HEADER_BYTES;
    for (size_t k = 0; k <= i; k++)
        off += 16 + 2 + ((size_t)buf[off + 16] << 8 | buf[off + 17]);
    return off;
}

/* §10.6: every session of a container is between the same two devices. A
 * container whose second record holds a valid session state of another
 * device pair must not decode, and the destination stays untouched. */
static void test_pair_mismatch(void)
{
    world w1, w2;
    uint8_t *b1 = malloc(PQ3_PEER_MAX_BYTES), *b2 = malloc(PQ3_PEER_MAX_BYTES),
            *b3 = malloc(2 * PQ3_PEER_MAX_BYTES);
    size_t l1 = 0, l2 = 0, r1, r2, y1, n;
    pq3_peer *c = malloc(sizeof *c), *before;

    CHECK(b1 != NULL && b2 != NULL && b3 != NULL && c != NULL);
    CHECK(world_init(&w1, 31));
    CHECK(world_init(&w2, 32)); /* other keys: another pair of devices */
    cross_starts(&w1, FX_T0, FX_T0, FX_T0, FX_T0);
    cross_starts(&w2, FX_T0, FX_T0, FX_T0, FX_T0);
    CHECK_OK(pq3_peer_serialize(w1.bp, b1, PQ3_PEER_MAX_BYTES, &l1));
    CHECK_OK(pq3_peer_serialize(w2.bp, b2, PQ3_PEER_MAX_BYTES, &l2));
    r1 = record_end(b1, 0);
    r2 = record_end(b1, 1);
    y1 = record_end(b2, 0);

    /* The splice itself: w1's header and first record, the activity and seq
     * of w1's second record, then a state; then w1's store. With w1's own
     * second state this rebuilds w1's bytes exactly, so the splicing is
     * right and only the foreign state can make the other one fail. */
    n = 0;
    memcpy(b3, b1, r1 + 16);
    n = r1 + 16;
    memcpy(b3 + n, b1 + r1 + 16, r2 - r1 - 16);
    n += r2 - r1 - 16;
    memcpy(b3 + n, b1 + r2, l1 - r2);
    n += l1 - r2;
    CHECK(n == l1 && memcmp(b3, b1, l1) == 0);
    pq3_peer_init_default(c);
    CHECK_OK(pq3_peer_deserialize(c, b3, n));

    n = r1 + 16;
    memcpy(b3 + n, b2 + PQ3_PEER_HEADER_BYTES + 16, y1 - PQ3_PEER_HEADER_BYTES - 16);
    n += y1 - PQ3_PEER_HEADER_BYTES - 16; /* w2's first state, vec16 */
    memcpy(b3 + n, b1 + r2, l1 - r2);
    n += l1 - r2;
    before = snapshot(c);
    CHECK(before != NULL);
    CHECK(pq3_peer_deserialize(c, b3, n) != PQ3_OK);
    CHECK(same(c, before));
    /* The foreign state alone is a valid container state: w2 decodes. */
    CHECK_OK(pq3_peer_deserialize(c, b2, l2));

    free(before);
    pq3_peer_wipe(c);
    free(c);
    free(b1);
    free(b2);
    free(b3);
    world_free(&w1);
    world_free(&w2);
}

/* ---- records (§10.7) ------------------------------------------------------ */

/* A store that keeps a container as records and writes only what changed,
 * as a device's database would. */
typedef struct {
    uint8_t header[PQ3_PEER_RECORD_MAX_BYTES];
    size_t header_len;
    uint8_t id[PQ3_PEER_MAX_SESSIONS][32];
    uint64_t gen[PQ3_PEER_MAX_SESSIONS];
    uint8_t sess[PQ3_PEER_MAX_SESSIONS][PQ3_STATE_MAX_BYTES];
    size_t sess_len[PQ3_PEER_MAX_SESSIONS];
    uint32_t n;
    uint8_t *store;
    size_t store_len;
    uint64_t store_gen;
    int store_written;
} records;

/* Writes the records whose generation grew; returns the bytes written. */
static size_t save(records *r, const pq3_peer *p)
{
    size_t written = 0;
    uint32_t n = 0;
    uint8_t id[PQ3_PEER_MAX_SESSIONS][32];
    uint64_t gen[PQ3_PEER_MAX_SESSIONS];
    uint8_t (*sess)[PQ3_STATE_MAX_BYTES] = malloc(sizeof r->sess);
    size_t sess_len[PQ3_PEER_MAX_SESSIONS];
    CHECK(sess != NULL);
    CHECK_OK(pq3_peer_header_serialize(p, r->header, sizeof r->header, &r->header_len));
    written += r->header_len;
    for (uint32_t i = 0; i < p->count; i++) {
        const pq3_session *s = &p->slots[i].session;
        uint32_t k = 0;
        while (k < r->n && memcmp(r->id[k], s->session_id, 32) != 0)
            k++;
        memcpy(id[n], s->session_id, 32);
        gen[n] = s->generation;
        if (k < r->n && r->gen[k] == s->generation) {
            memcpy(sess[n], r->sess[k], r->sess_len[k]); /* unchanged: not written */
            sess_len[n] = r->sess_len[k];
        } else {
            CHECK(k == r->n || r->gen[k] < s->generation); /* never older over newer */
            CHECK_OK(pq3_session_serialize(s, sess[n], PQ3_STATE_MAX_BYTES, &sess_len[n]));
            written += sess_len[n];
        }
        n++;
    }
    memcpy(r->id, id, sizeof id);
    memcpy(r->gen, gen, sizeof gen);
    memcpy(r->sess, sess, sizeof r->sess);
    memcpy(r->sess_len, sess_len, sizeof sess_len);
    r->n = n;
    r->store_written = 0;
    if (r->store == NULL || r->store_gen != p->store.generation) {
        if (r->store == NULL)
            r->store = malloc(PQ3_SKIPPED_MAX_BYTES);
        CHECK(r->store != NULL);
        CHECK_OK(pq3_skipped_serialize(&p->store, r->store, PQ3_SKIPPED_MAX_BYTES, &r->store_len));
        r->store_gen = p->store.generation;
        r->store_written = 1;
        written += r->store_len;
    }
    free(sess);
    return written;
}

/* With PQ3_WRITE_SEEDS=DIR, writes the records as a seed of the
 * fuzz_peer_records target: u8(n), n x vec16(session), vec16(header),
 * store. */
static void write_seed(const records *r)
{
    const char *dir = getenv("PQ3_WRITE_SEEDS");
    char path[4096];
    FILE *f;
    if (dir == NULL)
        return;
    snprintf(path, sizeof path, "%s/one_session", dir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputc((int)r->n, f);
    for (uint32_t i = 0; i < r->n; i++) {
        fputc((int)(r->sess_len[i] >> 8), f);
        fputc((int)(r->sess_len[i] & 0xFF), f);
        fwrite(r->sess[i], 1, r->sess_len[i], f);
    }
    fputc((int)(r->header_len >> 8), f);
    fputc((int)(r->header_len & 0xFF), f);
    fwrite(r->header, 1, r->header_len, f);
    fwrite(r->store, 1, r->store_len, f);
    CHECK(fclose(f) == 0);
}

static pq3_err load(pq3_peer *p, const records *r)
{
    const uint8_t *ptr[PQ3_PEER_MAX_SESSIONS];
    for (uint32_t i = 0; i < r->n; i++)
        ptr[i] = r->sess[i];
    return pq3_peer_load(p, r->header, r->header_len, ptr, r->sess_len, r->n, r->store,
                         r->store_len);
}

static void test_records(void)
{
    world w;
    records *r = calloc(1, sizeof *r), *old = malloc(sizeof *old);
    pq3_peer *c = malloc(sizeof *c), *before;
    wire m[4];
    uint8_t id[32];
    uint64_t now = FX_T0;
    size_t worst = 0, total = 0;
    int plain = 0;

    CHECK(r != NULL && old != NULL && c != NULL);
    CHECK(world_init(&w, 40));
    pq3_peer_init_default(c); /* pq3_peer_load writes over a container */
    CHECK_OK(pq3_peer_start(w.ap, &w.alice.cert, &w.bob.cert, &w.bbundle, now, &w.alice.rng));
    CHECK_OK(seal(&w.a, now, "hi", &m[0], id));
    CHECK_OK(open_w(&w.b, now, &m[0], "hi", id));
    (void)save(r, w.bp);
    CHECK(r->store_written);
    /* A conversation in order: each message writes the header and the one
     * session, never the store. */
    for (int i = 0; i < 40; i++) {
        side *from = (i % 3 == 0) ? &w.b : &w.a, *to = (i % 3 == 0) ? &w.a : &w.b;
        size_t n;
        now += 30;
        CHECK_OK(seal(from, now, "in order", &m[0], id));
        if (from == &w.b) {
            n = save(r, w.bp);
            CHECK(!r->store_written);
        }
        CHECK_OK(open_w(to, now, &m[0], "in order", id));
        if (to == &w.b) {
            n = save(r, w.bp);
            CHECK(!r->store_written);
            CHECKF(n <= 12 * 1024, "%zu bytes written for one message", n);
            if (n > worst)
                worst = n;
            total += n;
            plain++;
        }
        (void)n;
    }
    printf("records: a plain message received writes %zu bytes on average, %zu at most\n",
           plain > 0 ? total / (size_t)plain : 0, worst);
    /* the records load into the same container; not into memory that is
     * no container */
    c->count = PQ3_PEER_MAX_SESSIONS + 1;
    CHECK_ERR(load(c, r), PQ3_ERR_ARG);
    pq3_peer_init_default(c);
    CHECK_OK(load(c, r));
    CHECK(same(c, w.bp));
    write_seed(r);
    /* out of order: the store changes and is written */
    CHECK_OK(seal(&w.a, now, "1", &m[1], id));
    CHECK_OK(seal(&w.a, now, "2", &m[2], id));
    memcpy(old, r, sizeof *old);
    old->store = malloc(PQ3_SKIPPED_MAX_BYTES);
    CHECK(old->store != NULL);
    memcpy(old->store, r->store, r->store_len);
    CHECK_OK(open_w(&w.b, now, &m[2], "2", id));
    (void)save(r, w.bp);
    CHECK(r->store_written && w.bp->store.count == 1);
    CHECK_OK(load(c, r));
    CHECK(same(c, w.bp));
    /* loading over a container with more stored keys leaves exactly what a
     * load into a fresh container does (the extra keys wiped) */
    {
        pq3_peer *fresh = malloc(sizeof *fresh), *again = snapshot(c);
        CHECK(fresh != NULL && again != NULL);
        pq3_peer_init_default(fresh);
        CHECK_OK(load(fresh, old));
        CHECK_OK(load(again, old));
        CHECK(again->store.count == 0 && same(again, fresh));
        pq3_peer_wipe(fresh);
        pq3_peer_wipe(again);
        free(fresh);
        free(again);
    }
    /* a stale session record (the one before the last open) is refused,
     * and nothing changes */
    before = snapshot(c);
    CHECK(before != NULL);
    {
        records *mix = malloc(sizeof *mix);
        CHECK(mix != NULL);
        memcpy(mix, r, sizeof *mix);
        memcpy(mix->sess, old->sess, sizeof mix->sess);
        memcpy(mix->sess_len, old->sess_len, sizeof mix->sess_len);
        CHECK_ERR(load(c, mix), PQ3_ERR_DECODE);
        CHECK(same(c, before));
        /* a session missing, or one too many */
        mix->n = 0;
        memcpy(mix->sess, r->sess, sizeof mix->sess);
        CHECK_ERR(load(c, mix), PQ3_ERR_DECODE);
        mix->n = 2;
        mix->sess_len[1] = r->sess_len[0];
        memcpy(mix->sess[1], r->sess[0], r->sess_len[0]);
        CHECK_ERR(load(c, mix), PQ3_ERR_DECODE);
        CHECK(same(c, before));
        /* a stale store record */
        {
            pq3_skipped *st = malloc(sizeof *st);
            uint8_t *sb = malloc(PQ3_SKIPPED_MAX_BYTES);
            size_t sl;
            CHECK(st != NULL && sb != NULL);
            memcpy(st, &w.bp->store, sizeof *st);
            st->generation--;
            CHECK_OK(pq3_skipped_serialize(st, sb, PQ3_SKIPPED_MAX_BYTES, &sl));
            memcpy(mix, r, sizeof *mix);
            mix->store = sb;
            mix->store_len = sl;
            CHECK_ERR(load(c, mix), PQ3_ERR_DECODE);
            CHECK(same(c, before));
            free(sb);
            pq3_skipped_wipe(st);
            free(st);
        }
        /* the header: every truncation and every flip fails or loads
         * something that re-encodes to it; *c untouched on failure */
        for (size_t l = 0; l < r->header_len; l++) {
            memcpy(mix, r, sizeof *mix);
            mix->header_len = l;
            CHECK(load(c, mix) != PQ3_OK);
        }
        for (size_t pos = 0; pos < r->header_len; pos++) {
            memcpy(mix, r, sizeof *mix);
            mix->header[pos] ^= 0x01;
            if (load(c, mix) == PQ3_OK) {
                uint8_t hb[PQ3_PEER_RECORD_MAX_BYTES];
                size_t hl;
                CHECK_OK(pq3_peer_header_serialize(c, hb, sizeof hb, &hl));
                CHECK(hl == mix->header_len && memcmp(hb, mix->header, hl) == 0);
                memcpy(c, before, sizeof *c);
            } else {
                CHECK(same(c, before));
            }
        }
        free(mix);
    }
    /* the late message opens after a reload */
    CHECK_OK(load(c, r));
    {
        side s = w.b;
        s.p = c;
        CHECK_OK(open_w(&s, now, &m[1], "1", id));
    }
    free(before);
    free(r->store);
    free(r);
    free(old->store);
    free(old);
    pq3_peer_wipe(c);
    free(c);
    world_free(&w);
}

/* Receipts through the container (§16.1); a bad signature is VERIFY, found
 * once for all sessions. */
static void test_receipts(void)
{
    world w;
    wire m, rc;
    uint8_t id[32], body[MAXMSG], rk[32];
    uint32_t next, missing;
    pq3_opened info;
    pq3_peer *before;

    CHECK(world_init(&w, 41));
    CHECK(!pq3_peer_receipt_due(w.bp, NULL, FX_T0));
    CHECK_ERR(pq3_peer_seal_receipt(w.bp, &w.bob.device_signer, NULL, FX_T0, &w.bob.rng, rc.m,
                                    sizeof rc.m, &rc.len, id),
              PQ3_ERR_STATE);
    CHECK_OK(pq3_peer_start(w.ap, &w.alice.cert, &w.bob.cert, &w.bbundle, FX_T0, &w.alice.rng));
    CHECK_OK(seal(&w.a, FX_T0, "ack me", &m, id));
    CHECK_OK(open_w(&w.b, FX_T0, &m, "ack me", id));
    CHECK(pq3_peer_receipt_due(w.bp, NULL, FX_T0));
    CHECK_OK(pq3_peer_seal_receipt(w.bp, &w.bob.device_signer, NULL, FX_T0, &w.bob.rng, rc.m,
                                   sizeof rc.m, &rc.len, id));
    CHECK(!pq3_peer_receipt_due(w.bp, NULL, FX_T0));
    CHECK_ERR(pq3_peer_seal_receipt(w.bp, &w.bob.device_signer, NULL, FX_T0, &w.bob.rng, rc.m,
                                    sizeof rc.m, &rc.len, id),
              PQ3_ERR_LIMIT);
    memcpy(rk, w.ap->slots[0].session.my_pub, 32); /* the chain acknowledged */
    CHECK_OK(pq3_peer_open(w.ap, &w.alice.cert, &w.bob.cert, &w.apre, &w.acache, FX_T0, rc.m,
                           rc.len, body, sizeof body, &info, id));
    CHECK(info.content_type == PQ3_CONTENT_RECEIPT);
    {
        uint8_t got[32];
        CHECK_OK(pq3_receipt_parse(body, info.body_len, got, &next, &missing));
        CHECK(next == 1 && missing == 0 && memcmp(rk, got, 32) == 0);
    }
    /* a chain of receipts only owes none */
    CHECK(!pq3_peer_receipt_due(w.ap, NULL, FX_T0));
    /* a new chain with a bad signature: VERIFY, nothing changes */
    CHECK_OK(seal(&w.a, FX_T0 + 1, "x", &m, id));
    m.m[m.len - 1] ^= 1;
    before = snapshot(w.bp);
    CHECK(before != NULL);
    CHECK_ERR(open_w(&w.b, FX_T0 + 1, &m, NULL, id), PQ3_ERR_VERIFY);
    CHECK(same(w.bp, before));
    free(before);
    world_free(&w);
}

int main(void)
{
    /* starts at the same second, crossing */
    test_simultaneous(1, 0, 0, 0, 0);
    test_simultaneous(2, 0, 0, 0, 0);
    test_simultaneous(3, 0, 0, 0, 0);
    /* starts 100 s apart with slow delivery: outside the tie window */
    test_simultaneous(4, 0, 100, 200, 150);
    test_simultaneous(5, 0, 100, 200, 150);
    test_simultaneous(6, 100, 0, 150, 200);
    for (uint64_t k = 20; k < 24; k++)
        test_pingpong(k);
    test_evict();
    test_negative();
    test_limits();
    test_serialize();
    test_pair_mismatch();
    test_records();
    test_receipts();
    return pq3t_finish();
}
