/*
 * Golden blobs of every serialized format (tests/vectors/golden/README.md):
 * each loader reads the current and the previous format. The blobs of the
 * current formats are regenerated (tests/golden.c) and must equal the
 * committed files byte for byte; every golden file is loaded and the loaded
 * values must be exactly those the scenario produced (for a previous
 * format: those of its twin of the current format).
 */
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "protocol_fixture.h"

/* The bytes of tests/vectors/golden/<name>; NULL (a failed check) when the
 * file is missing or not hex. */
static uint8_t *golden(const char *name, size_t *len)
{
    char path[4096];
    const char *src = getenv("PQ3_SOURCE_DIR");
    char *text;
    uint8_t *b;
    CHECKF(src != NULL, "PQ3_SOURCE_DIR is not set");
    if (src == NULL)
        return NULL;
    snprintf(path, sizeof path, "%s/tests/vectors/golden/%s", src, name);
    text = pq3t_read_file(path, NULL);
    CHECKF(text != NULL, "cannot read %s", path);
    if (text == NULL)
        return NULL;
    b = pq3tg_unhex_lines(text, len);
    CHECKF(b != NULL, "%s is not hex", path);
    free(text);
    return b;
}

/* What each session blob holds (tests/golden.h), independent of the
 * format: flags, extensions, counters. */
static const struct {
    uint8_t flags, send_ext, recv_ext, prev_peer_count;
    uint32_t ns, nr;
    int receipt;
} expect[PQ3TG_SESSIONS] = {
    { PQ3_ST_SEND | PQ3_ST_RECV | PQ3_ST_MY_OFFER | PQ3_ST_RECV2 | PQ3_ST_PEER_APP,
      PQ3_MSG_CT | PQ3_MSG_EK, 0, 1, 2, 7, 1 },
    { PQ3_ST_RECV | PQ3_ST_MY_OFFER | PQ3_ST_PEER_OFFER | PQ3_ST_RECV2 | PQ3_ST_PEER_APP, 0, 0,
      1, 0, 7, 0 },
    { PQ3_ST_SEND | PQ3_ST_INITIATOR, PQ3_MSG_START, 0, 0, 3, 0, 0 },
    { PQ3_ST_RECV | PQ3_ST_PEER_OFFER | PQ3_ST_INITIATOR | PQ3_ST_RECV2 | PQ3_ST_PEER_APP, 0,
      PQ3_MSG_CT, 1, 0, 2, 0 },
};

static void check_session_values(const char *name, int i, const pq3_session *s)
{
    CHECKF(s->flags == expect[i].flags && s->send_ext == expect[i].send_ext &&
               s->recv_ext == expect[i].recv_ext,
           "%s: flags %02x/%02x/%02x", name, s->flags, s->send_ext, s->recv_ext);
    CHECKF(s->prev_peer_count == expect[i].prev_peer_count && s->ns == expect[i].ns &&
               s->nr == expect[i].nr,
           "%s: counters", name);
    CHECKF((s->last_receipt != 0) == expect[i].receipt, "%s: last receipt", name);
    CHECKF(s->version == PQ3_PROTOCOL_VERSION && s->self.handle_len > 0 &&
               s->peer.handle_len > 0,
           "%s: identities", name);
}

/* A blob of the current format: it is what the code writes now, it loads to
 * exactly the scenario's value, and it serializes back to itself. */
static void check_current(const pq3tg_world *w, const pq3tg_blob *regen, int i)
{
    size_t len = 0, l2 = 0;
    uint8_t *b = golden(regen->name, &len), *again = malloc(PQ3_PEER_MAX_BYTES);
    pq3_err err;

    if (b == NULL || again == NULL) {
        free(b);
        free(again);
        return;
    }
    CHECKF(len == regen->len && memcmp(b, regen->bytes, len) == 0,
           "%s differs from what the code writes now: a format changed without a new "
           "format version (README.md)", regen->name);
    if (i < PQ3TG_SESSIONS) {
        pq3_session s;
        memset(&s, 0xA5, sizeof s);
        CHECK_OK(err = pq3_session_deserialize(&s, b, len));
        if (err == PQ3_OK) {
            CHECKF(memcmp(&s, &w->sess[i], sizeof s) == 0, "%s loads to another state",
                   regen->name);
            check_session_values(regen->name, i, &s);
            CHECK_OK(pq3_session_serialize(&s, again, PQ3_PEER_MAX_BYTES, &l2));
        }
        pq3_session_wipe(&s);
        /* one format version on either side of the two read */
        b[0] = PQ3_STATE_FORMAT_VERSION + 1;
        CHECK_ERR(pq3_session_deserialize(&s, b, len), PQ3_ERR_VERSION);
        b[0] = PQ3_STATE_FORMAT_VERSION - 2;
        CHECK_ERR(pq3_session_deserialize(&s, b, len), PQ3_ERR_VERSION);
        b[0] = PQ3_STATE_FORMAT_VERSION;
    } else if (i == PQ3TG_SESSIONS) {
        pq3_skipped *sk = malloc(sizeof *sk);
        memset(sk, 0xA5, sizeof *sk);
        CHECK_OK(err = pq3_skipped_deserialize(sk, b, len));
        if (err == PQ3_OK) {
            CHECKF(memcmp(sk, w->store, sizeof *sk) == 0, "%s loads to another store",
                   regen->name);
            CHECK(sk->count == 4 && sk->max_jump == 64 && sk->max_keys == 256);
            CHECK_OK(pq3_skipped_serialize(sk, again, PQ3_PEER_MAX_BYTES, &l2));
        }
        b[0] = PQ3_SKIPPED_FORMAT_VERSION + 1;
        CHECK_ERR(pq3_skipped_deserialize(sk, b, len), PQ3_ERR_VERSION);
        b[0] = PQ3_SKIPPED_FORMAT_VERSION - 2;
        CHECK_ERR(pq3_skipped_deserialize(sk, b, len), PQ3_ERR_VERSION);
        b[0] = PQ3_SKIPPED_FORMAT_VERSION;
        pq3_skipped_wipe(sk);
        free(sk);
    } else if (i == PQ3TG_SESSIONS + 1) {
        pq3_start_cache *c = malloc(sizeof *c);
        memset(c, 0xA5, sizeof *c);
        CHECK_OK(err = pq3_start_cache_deserialize(c, b, len));
        if (err == PQ3_OK) {
            CHECKF(memcmp(c, w->cache, sizeof *c) == 0, "%s loads to another cache",
                   regen->name);
            CHECK(c->count == 3 && c->max == 64);
            CHECK_OK(pq3_start_cache_serialize(c, again, PQ3_PEER_MAX_BYTES, &l2));
        }
        b[0] = 2;
        CHECK_ERR(pq3_start_cache_deserialize(c, b, len), PQ3_ERR_VERSION);
        b[0] = 1;
        free(c);
    } else {
        pq3_peer *p = malloc(sizeof *p);
        /* a load writes over a container, not over arbitrary memory */
        memset(p, 0xA5, sizeof *p);
        CHECK_ERR(pq3_peer_deserialize(p, b, len), PQ3_ERR_ARG);
        pq3_peer_init_default(p);
        CHECK_OK(err = pq3_peer_deserialize(p, b, len));
        if (err == PQ3_OK) {
            CHECKF(memcmp(p, w->peer, sizeof *p) == 0, "%s loads to another container",
                   regen->name);
            CHECK(p->count == 2 && p->store.count == 1);
            CHECK_OK(pq3_peer_serialize(p, again, PQ3_PEER_MAX_BYTES, &l2));
        }
        b[0] = PQ3_PEER_FORMAT_VERSION + 1;
        CHECK_ERR(pq3_peer_deserialize(p, b, len), PQ3_ERR_VERSION);
        b[0] = PQ3_PEER_FORMAT_VERSION - 2;
        CHECK_ERR(pq3_peer_deserialize(p, b, len), PQ3_ERR_VERSION);
        b[0] = PQ3_PEER_FORMAT_VERSION;
        pq3_peer_wipe(p);
        free(p);
    }
    if (err == PQ3_OK)
        CHECKF(l2 == len && memcmp(again, b, len) == 0, "%s does not serialize back to itself",
               regen->name);
    pq3_wipe(b, len);
    free(b);
    free(again);
}

/* Blobs of the previous formats and their twins of the current format:
 * the same scenario, written by the code that introduced the current
 * format. */
static const struct {
    const char *old, *twin;
} previous[] = {
    { "session-v3-a.hex", "session-v4-a.hex" }, { "session-v3-b.hex", "session-v4-b.hex" },
    { "session-v3-c.hex", "session-v4-c.hex" }, { "session-v3-d.hex", "session-v4-d.hex" },
    { "skipped-v1.hex", "skipped-v2.hex" },
    { "peer-v1.hex", "peer-v2.hex" },
};

/* Session state format 3 (§14): loads with generation 0, every other value
 * as its format-4 twin holds it, and the first change makes it 1. */
static void check_state3(int i, fx_party *alice, fx_party *bob)
{
    size_t len = 0, tlen = 0, mlen;
    uint8_t *b = golden(previous[i].old, &len), *t = golden(previous[i].twin, &tlen);
    uint8_t msg[8192];
    pq3_session s, twin;
    fx_party *owner = i < 2 ? bob : alice; /* a, b are bob's; c, d alice's */
    pq3_err err;

    if (b == NULL || t == NULL)
        goto out;
    CHECKF(len > 0 && b[0] == 3, "%s is not of format 3", previous[i].old);
    CHECK_OK(err = pq3_session_deserialize(&s, b, len));
    CHECK_OK(pq3_session_deserialize(&twin, t, tlen));
    if (err != PQ3_OK)
        goto out;
    CHECKF(s.generation == 0, "%s: generation %llu", previous[i].old,
           (unsigned long long)s.generation);
    CHECK(twin.generation > 0);
    s.generation = twin.generation;
    CHECKF(memcmp(&s, &twin, sizeof s) == 0, "%s loads to another state than %s",
           previous[i].old, previous[i].twin);
    check_session_values(previous[i].old, i, &s);
    s.generation = 0;
    CHECK_OK(pq3_session_seal(&s, &owner->device_signer, NULL, FX_T0 + 2 * FX_DAY, &owner->rng,
                              PQ3_CONTENT_MESSAGE, (const uint8_t *)"later", 5, NULL, 0, msg,
                              sizeof msg, &mlen));
    CHECKF(s.generation == 1, "%s: the first change after loading", previous[i].old);
    /* format 2 is no longer read */
    b[0] = 2;
    CHECK_ERR(pq3_session_deserialize(&twin, b, len), PQ3_ERR_VERSION);
out:
    pq3_session_wipe(&s);
    pq3_session_wipe(&twin);
    free(b);
    free(t);
}

/* What format 1 of the skipped-key store did not hold: the session tags of
 * the keys and the store's generation (§13.2). Copies them from the twin. */
static void adopt_store(pq3_skipped *old, const pq3_skipped *twin)
{
    CHECK(old->generation == 0 && old->count == twin->count);
    for (uint32_t k = 0; k < old->count && k < twin->count; k++) {
        static const uint8_t zero[PQ3_SKIPPED_TAG_BYTES];
        CHECK(memcmp(old->keys[k].session, zero, sizeof zero) == 0);
        memcpy(old->keys[k].session, twin->keys[k].session, sizeof zero);
    }
    old->generation = twin->generation;
}

/* Skipped-key store format 1: loads with zero tags and generation 0, every
 * other value as its format-2 twin holds it. */
static void check_store1(int i)
{
    size_t len = 0, tlen = 0;
    uint8_t *b = golden(previous[i].old, &len), *t = golden(previous[i].twin, &tlen);
    pq3_skipped *sk = malloc(sizeof *sk), *twin = malloc(sizeof *twin);
    pq3_err err;

    if (b == NULL || t == NULL || sk == NULL || twin == NULL)
        goto out;
    CHECKF(b[0] == 1, "%s is not of format 1", previous[i].old);
    CHECK_OK(err = pq3_skipped_deserialize(sk, b, len));
    CHECK_OK(pq3_skipped_deserialize(twin, t, tlen));
    if (err != PQ3_OK)
        goto out;
    CHECK(tlen == len + 8 + 16 * (size_t)twin->count);
    adopt_store(sk, twin);
    CHECKF(memcmp(sk, twin, sizeof *sk) == 0, "%s loads to another store than %s",
           previous[i].old, previous[i].twin);
out:
    if (sk != NULL)
        pq3_skipped_wipe(sk);
    if (twin != NULL)
        pq3_skipped_wipe(twin);
    free(sk);
    free(twin);
    free(b);
    free(t);
}

/* A peer container of format 1 (session states of format 3, a store of
 * format 1): loads with generation 0 for the container, its sessions and
 * its store, and untagged keys, and otherwise as its format-2 twin. */
static void check_peer1(int i)
{
    size_t len = 0, tlen = 0;
    uint8_t *b = golden(previous[i].old, &len), *t = golden(previous[i].twin, &tlen);
    pq3_peer *p = malloc(sizeof *p), *twin = malloc(sizeof *twin);
    pq3_err err;

    if (b == NULL || t == NULL || p == NULL || twin == NULL)
        goto out;
    CHECKF(b[0] == 1, "%s is not of format 1", previous[i].old);
    pq3_peer_init_default(p);
    pq3_peer_init_default(twin);
    CHECK_OK(err = pq3_peer_deserialize(p, b, len));
    CHECK_OK(pq3_peer_deserialize(twin, t, tlen));
    if (err != PQ3_OK)
        goto out;
    CHECK(p->count == 2 && p->generation == 0 && twin->generation > 0);
    p->generation = twin->generation;
    for (uint32_t k = 0; k < p->count; k++) {
        CHECK(p->slots[k].session.generation == 0 && twin->slots[k].session.generation > 0);
        p->slots[k].session.generation = twin->slots[k].session.generation;
    }
    adopt_store(&p->store, &twin->store);
    CHECKF(memcmp(p, twin, sizeof *p) == 0, "%s loads to another container than %s",
           previous[i].old, previous[i].twin);
out:
    if (p != NULL)
        pq3_peer_wipe(p);
    if (twin != NULL)
        pq3_peer_wipe(twin);
    free(p);
    free(twin);
    free(b);
    free(t);
}

int main(void)
{
    pq3tg_world w;
    pq3tg_blob regen[PQ3TG_BLOBS];
    int built = pq3tg_build(&w);

    CHECKF(built, "the golden scenario failed");
    if (!built)
        return pq3t_finish();
    CHECK(pq3tg_blobs(&w, regen));
    for (int i = 0; i < PQ3TG_BLOBS; i++)
        if (regen[i].bytes != NULL)
            check_current(&w, &regen[i], i);
    pq3tg_blobs_free(regen);
    pq3tg_free(&w);

    {
        static fx_party alice, bob;
        CHECK(fx_party_init(&alice, PQ3TG_ALICE, "alice", PQ3TG_K));
        CHECK(fx_party_init(&bob, PQ3TG_BOB, "bob", PQ3TG_K));
        for (int i = 0; i < PQ3TG_SESSIONS; i++)
            check_state3(i, &alice, &bob);
        check_store1(PQ3TG_SESSIONS);
        check_peer1(PQ3TG_SESSIONS + 1);
    }
    return pq3t_finish();
}
