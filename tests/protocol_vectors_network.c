/*
 * The network protocol vectors (docs/PROTOCOL.md Appendix B): a scripted,
 * deterministic conversation in which messages are delivered out of order,
 * late, or not at all, so that what the first vector file never exercises
 * is recorded byte for byte: skipped keys stored and used (§13.1), late
 * messages of the current and of older chains, START repeated until
 * acknowledged, an unanswered offer carried again by a later chain, a chain
 * that answers and offers at once, a new chain keeping only max_jump keys,
 * delivery receipts (§16.1), and refusals that change nothing.
 *
 * Both parties keep a skipped-key store; bob keeps the replay cache of his
 * prekey. The generator checks itself as it goes: every open returns the
 * body that was sealed, reports what the script expects (late or not, keys
 * stored), every refusal leaves state, store and cache byte for byte
 * unchanged, and each direction change is recomputed from the recorded
 * draws (pq3tv_recompute_step).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/kdf.h"
#include "protocol/session.h"
#include "protocol/skipped.h"
#include "protocol_vectors.h"

#define NET_K 2
#define NET_MAX_JUMP 4
#define NET_MAX_KEYS 8
#define NET_MAX_AGE (30 * FX_DAY)
#define NET_CACHE 16
#define NET_MSG 8192

/*
 * The script. op: 's' seal, 'r' receipt (pq3_session_seal_receipt), 'o'
 * open (bob's first: pq3_session_accept_ex), 'x' open refused, 'X' accept
 * refused (the replay cache). who: the sender of a seal, the receiver
 * otherwise. For opens: whether the message is late (a stored key) and how
 * many keys the open stores.
 */
typedef struct {
    char op, who;
    const char *id;
    uint32_t max_messages;
    int late, stored;
} net_step;

static const net_step steps[] = {
    /* alice's first chain: START on every message, none acknowledged yet */
    { 's', 'a', "a0", 50, 0, 0 },
    { 's', 'a', "a1", 50, 0, 0 },
    { 's', 'a', "a2", 50, 0, 0 },
    { 'o', 'b', "a1", 0, 0, 1 },  /* the start arrives at index 1: a0's key kept */
    { 'o', 'b', "a0", 0, 1, 0 },  /* a0 late */
    { 'X', 'b', "a2", 0, 0, 0 },  /* another message of that start offered to accept */
    /* bob's chain offers an ek on its first message only */
    { 's', 'b', "b0", 0, 0, 0 },
    { 's', 'b', "b1", 50, 0, 0 },
    { 's', 'b', "b2", 50, 0, 0 },
    { 's', 'b', "b3", 50, 0, 0 },
    { 'o', 'a', "b2", 0, 0, 2 },  /* a new chain at index 2: b0, b1 kept */
    { 'o', 'b', "a2", 0, 0, 0 },  /* START repeated, in order */
    /* alice never saw bob's ek: her chain answers nothing and offers */
    { 's', 'a', "a3", 0, 0, 0 },
    { 's', 'a', "a4", 50, 0, 0 },
    { 's', 'a', "a5", 50, 0, 0 },
    { 's', 'a', "a6", 50, 0, 0 },
    { 'o', 'a', "b1", 0, 1, 0 },  /* late on the current chain */
    { 'o', 'b', "a4", 0, 0, 1 },  /* a new chain at index 1: a3 kept */
    { 'o', 'b', "a3", 0, 1, 0 },  /* late first message: its ek is taken */
    { 'o', 'b', "a6", 0, 0, 1 },  /* a gap: a5 kept */
    /* bob's receipt answers alice's offer and carries his own again */
    { 'r', 'b', "b4", 50, 0, 0 },
    { 's', 'b', "b5", 50, 0, 0 },
    { 'o', 'a', "b5", 0, 0, 2 },  /* new chain at 1: b3 (ending chain) and b4 kept */
    { 'o', 'a', "b0", 0, 1, 0 },  /* late, of an older chain: its ek is not taken */
    { 'o', 'a', "b4", 0, 1, 0 },  /* the receipt, late: bob's repeated ek is taken */
    { 'o', 'a', "b3", 0, 1, 0 },  /* late, of an older chain */
    { 'x', 'a', "b3", 0, 0, 0 },  /* a copy: replay */
    /* alice's receipt answers bob's offer */
    { 'r', 'a', "a7", 50, 0, 0 },
    { 's', 'a', "a8", 50, 0, 0 },
    { 'o', 'b', "a8", 0, 0, 1 },  /* new chain at 1: a7 kept */
    { 'o', 'b', "a5", 0, 1, 0 },  /* late, of an older chain */
    { 'o', 'b', "a7", 0, 1, 0 },  /* the receipt, late */
    /* a new chain first seen at index 5 keeps only max_jump = 4 keys */
    { 's', 'b', "b6", 50, 0, 0 },
    { 's', 'b', "b7", 50, 0, 0 },
    { 's', 'b', "b8", 50, 0, 0 },
    { 's', 'b', "b9", 50, 0, 0 },
    { 's', 'b', "b10", 50, 0, 0 },
    { 's', 'b', "b11", 50, 0, 0 },
    { 'o', 'a', "b11", 0, 0, 4 },
    { 'o', 'a', "b8", 0, 1, 0 },
    { 'o', 'a', "b7", 0, 1, 0 },
    { 'x', 'a', "b6", 0, 0, 0 },  /* its key was not kept */
    { 'o', 'a', "b10", 0, 1, 0 },
    { 'o', 'a', "b9", 0, 1, 0 },
};
#define N_STEPS ((int)(sizeof steps / sizeof steps[0]))
#define N_MSGS 24

typedef struct {
    const char *id;
    uint8_t m[NET_MSG];
    size_t len;
    uint8_t body[64 + PQ3_RECEIPT_BODY_BYTES];
    size_t body_len;
    uint8_t content_type;
} net_msg;

typedef struct {
    pq3tv_conv c;
    net_msg msgs[N_MSGS];
    int n;
    pq3_skipped sk_a, sk_b;
    pq3_start_cache cache;
    uint8_t body[NET_MSG];
    uint8_t buf[PQ3_STATE_MAX_BYTES];
} net_world;

static net_msg *find_msg(net_world *w, const char *id)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->msgs[i].id, id) == 0)
            return &w->msgs[i];
    return NULL;
}

static const char *err_name(pq3_err e)
{
    switch (e) {
    case PQ3_ERR_REPLAY: return "REPLAY";
    case PQ3_ERR_LIMIT: return "LIMIT";
    case PQ3_ERR_UNKNOWN: return "UNKNOWN";
    case PQ3_ERR_VERIFY: return "VERIFY";
    default: return "OTHER";
    }
}

/* SHA-384 of a serialized state (§14), and the serialized store (§13.2). */
static int add_state_digest(net_world *w, cJSON *o, const char *key, const pq3_session *s)
{
    uint8_t d[48];
    size_t len;
    if (pq3_session_serialize(s, w->buf, sizeof w->buf, &len) != PQ3_OK ||
        pq3_sha384(d, w->buf, len) != PQ3_OK)
        return 0;
    pq3tv_add_hex(o, key, d, 48);
    return 1;
}

static int add_store(net_world *w, cJSON *o, const char *key, const pq3_skipped *sk)
{
    size_t len;
    if (pq3_skipped_serialize(sk, w->buf, sizeof w->buf, &len) != PQ3_OK)
        return 0;
    pq3tv_add_hex(o, key, w->buf, len);
    return 1;
}

static void add_policy(cJSON *o, const pq3_rekey_policy *pol)
{
    cJSON *p = cJSON_CreateObject();
    pq3tv_add_u64(p, "max_messages", pol->max_messages);
    pq3tv_add_u64(p, "max_age", pol->max_age);
    cJSON_AddBoolToObject(p, "constrained", pol->constrained);
    cJSON_AddItemToObject(o, "policy", p);
}

static int seal_step(net_world *w, const net_step *st, int i, uint64_t now, cJSON *o)
{
    fx_pair *x = &w->c.x;
    int alice = st->who == 'a';
    fx_party *from = alice ? &x->alice : &x->bob;
    pq3_session *s = alice ? &x->a : &x->b, before = *s;
    pq3_skipped *sk = alice ? &w->sk_a : &w->sk_b;
    pq3tv_rec_rng *rr = alice ? &w->c.rr_a : &w->c.rr_b;
    pq3_rng *rng = alice ? &w->c.rng_a : &w->c.rng_b;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    net_msg *m = &w->msgs[w->n];
    uint8_t ck[32], mk[32], xk[48], mki[16], ss_ecdh[32], ss_kem[32], ad[16];
    size_t adlen = 0;
    int dc = !(s->flags & PQ3_ST_SEND), answered = 0, ok = 0;
    pq3_kdf k;
    const char *kem;

    if (w->n >= N_MSGS || find_msg(w, st->id) != NULL)
        return pq3tv_fail("script: message ids", i);
    memset(m, 0, sizeof *m);
    m->id = st->id;
    pol.max_messages = st->max_messages;
    rr->len = 0;
    if (st->op == 'r') {
        /* §16.1: the peer chain's ratchet key, nr, the keys still missing */
        memcpy(m->body, s->peer_pub, 32);
        for (int b = 0; b < 4; b++) {
            m->body[32 + b] = (uint8_t)(s->nr >> (24 - 8 * b));
            m->body[36 + b] = (uint8_t)(pq3_skipped_count_chain(sk, s->session_id, s->peer_pub) >> (24 - 8 * b));
        }
        m->body_len = PQ3_RECEIPT_BODY_BYTES;
        m->content_type = PQ3_CONTENT_RECEIPT;
        if (!pq3_session_receipt_due(s, &pol, now) ||
            pq3_session_seal_receipt(s, sk, &from->device_signer, &pol, now, rng, m->m,
                                     sizeof m->m, &m->len) != PQ3_OK)
            return pq3tv_fail("receipt", i);
    } else {
        int n = snprintf((char *)m->body, 64, "%s from %s: %.*s", st->id, alice ? "alice" : "bob",
                         (i * 7) % 40, "out of order, late, lost, or just in time");
        m->body_len = (size_t)n;
        m->content_type = PQ3_CONTENT_MESSAGE;
        if (i % 5 == 2)
            adlen = (size_t)snprintf((char *)ad, sizeof ad, "ad:%s", st->id);
        if (pq3_session_seal(s, &from->device_signer, &pol, now, rng, PQ3_CONTENT_MESSAGE,
                             m->body, m->body_len, ad, adlen, m->m, sizeof m->m,
                             &m->len) != PQ3_OK)
            return pq3tv_fail("seal", i);
    }
    w->n++;
    if (dc) {
        if (!pq3tv_recompute_step(&before, s, rr, ck, ss_ecdh, ss_kem, &answered))
            return pq3tv_fail("direction change recomputation", i);
    } else {
        memcpy(ck, before.cks, 32);
    }
    cJSON_AddStringToObject(o, "op", st->op == 'r' ? "receipt" : "seal");
    cJSON_AddStringToObject(o, "sender", alice ? "alice" : "bob");
    cJSON_AddStringToObject(o, "id", st->id);
    pq3tv_add_u64(o, "time", now);
    add_policy(o, &pol);
    cJSON_AddNumberToObject(o, "content_type", m->content_type);
    pq3tv_add_hex(o, "plaintext", m->body, m->body_len);
    pq3tv_add_hex(o, "ad", ad, adlen);
    pq3tv_add_hex(o, "rng", rr->buf, rr->len);
    cJSON_AddBoolToObject(o, "direction_change", dc);
    kem = (m->m[2] & PQ3_MSG_CT) && dc ? ((m->m[2] & PQ3_MSG_EK) ? "answer+offer" : "answer")
          : (m->m[2] & PQ3_MSG_EK) && dc ? "offer"
                                        : "";
    cJSON_AddStringToObject(o, "kem", kem);
    cJSON_AddNumberToObject(o, "flags", m->m[2]);
    pq3tv_add_hex(o, "wire", m->m, m->len);
    pq3tv_add_hex(o, "ss_ecdh", ss_ecdh, dc ? 32 : 0);
    pq3tv_add_hex(o, "ss_kem", ss_kem, dc && answered ? 32 : 0);
    pq3tv_add_hex(o, "root", s->rk, 32);
    pq3tv_add_hex(o, "chain_before", ck, 32);
    if (pq3_kdf_init(&k) != PQ3_OK)
        return pq3tv_fail("kdf", i);
    if (pq3_kdf_chain(&k, mk, ck) == PQ3_OK && pq3_kdf_message(&k, xk, mki, mk) == PQ3_OK &&
        memcmp(ck, s->cks, 32) == 0) {
        pq3tv_add_hex(o, "chain_after", ck, 32);
        pq3tv_add_hex(o, "message_key", mk, 32);
        pq3tv_add_hex(o, "mki", mki, 16);
        pq3tv_add_hex(o, "aes_key", xk + 16, 32);
        pq3tv_add_hex(o, "aes_iv", xk, 16);
        ok = add_state_digest(w, o, "state_sha384", s);
    }
    pq3_kdf_free(&k);
    pq3_wipe(mk, sizeof mk);
    pq3_wipe(xk, sizeof xk);
    if (!ok)
        return pq3tv_fail("chain step", i);
    return 1;
}

static int open_step(net_world *w, const net_step *st, int i, uint64_t now, cJSON *o,
                     int *bob_started)
{
    fx_pair *x = &w->c.x;
    int alice = st->who == 'a';
    pq3_session *s = alice ? &x->a : &x->b;
    pq3_skipped *sk = alice ? &w->sk_a : &w->sk_b;
    net_msg *m = find_msg(w, st->id);
    pq3_opened info;
    int accept = !alice && !*bob_started;
    pq3_err err;

    if (m == NULL)
        return pq3tv_fail("script: no such message", i);
    if (accept)
        err = pq3_session_accept_ex(s, sk, &w->cache, &x->bob.cert, &x->alice.cert, &x->prekey,
                                    now, m->m, m->len, w->body, sizeof w->body, &info);
    else
        err = pq3_session_open_ex(s, sk, now, m->m, m->len, w->body, sizeof w->body, &info);
    if (err != PQ3_OK)
        return pq3tv_fail(accept ? "accept" : "open", i);
    *bob_started |= !alice;
    if (info.content_type != m->content_type || info.body_len != m->body_len ||
        memcmp(w->body, m->body, m->body_len) != 0)
        return pq3tv_fail("the body differs from the sealed one", i);
    if (info.late != st->late || info.keys_stored != (uint32_t)st->stored)
        return pq3tv_fail("the open is not what the script expects", i);
    cJSON_AddStringToObject(o, "op", accept ? "accept" : "open");
    cJSON_AddStringToObject(o, "receiver", alice ? "alice" : "bob");
    cJSON_AddStringToObject(o, "id", st->id);
    pq3tv_add_u64(o, "time", now);
    cJSON_AddNumberToObject(o, "content_type", info.content_type);
    pq3tv_add_hex(o, "plaintext", w->body, info.body_len);
    pq3tv_add_hex(o, "ad", info.ad != NULL ? info.ad : w->body, info.ad_len);
    cJSON_AddBoolToObject(o, "late", info.late);
    cJSON_AddBoolToObject(o, "new_chain", info.new_chain);
    cJSON_AddBoolToObject(o, "kem_completed", info.kem_completed);
    cJSON_AddBoolToObject(o, "kem_offered", info.kem_offered);
    pq3tv_add_u64(o, "keys_stored", info.keys_stored);
    pq3tv_add_u64(o, "keys_evicted", info.keys_evicted);
    if (info.content_type == PQ3_CONTENT_RECEIPT) {
        uint8_t rk[32];
        uint32_t next, missing;
        cJSON *r = cJSON_CreateObject();
        if (pq3_receipt_parse(w->body, info.body_len, rk, &next, &missing) != PQ3_OK)
            return pq3tv_fail("receipt body", i);
        pq3tv_add_hex(r, "ratchet_key", rk, 32);
        pq3tv_add_u64(r, "next_index", next);
        pq3tv_add_u64(r, "missing", missing);
        cJSON_AddItemToObject(o, "receipt", r);
    }
    pq3tv_add_hex(o, "root", s->rk, 32);
    if (!add_store(w, o, "store", sk) || !add_state_digest(w, o, "state_sha384", s))
        return pq3tv_fail("store or state", i);
    return 1;
}

/* A refused open or accept changes nothing, byte for byte. */
static int refuse_step(net_world *w, const net_step *st, int i, uint64_t now, cJSON *o)
{
    static pq3_session before, tmp;
    static pq3_skipped sk_before;
    static pq3_start_cache cache_before;
    fx_pair *x = &w->c.x;
    int alice = st->who == 'a';
    pq3_session *s = alice ? &x->a : &x->b;
    pq3_skipped *sk = alice ? &w->sk_a : &w->sk_b;
    net_msg *m = find_msg(w, st->id);
    pq3_opened info;
    pq3_err err;

    if (m == NULL)
        return pq3tv_fail("script: no such message", i);
    before = *s;
    sk_before = *sk;
    cache_before = w->cache;
    if (st->op == 'X')
        err = pq3_session_accept_ex(&tmp, sk, &w->cache, &x->bob.cert, &x->alice.cert,
                                    &x->prekey, now, m->m, m->len, w->body, sizeof w->body,
                                    &info);
    else
        err = pq3_session_open_ex(s, sk, now, m->m, m->len, w->body, sizeof w->body, &info);
    if (err != PQ3_ERR_REPLAY)
        return pq3tv_fail("a replay was not refused as one", i);
    if (memcmp(&before, s, sizeof before) != 0 || memcmp(&sk_before, sk, sizeof *sk) != 0 ||
        memcmp(&cache_before, &w->cache, sizeof w->cache) != 0)
        return pq3tv_fail("a refusal changed something", i);
    cJSON_AddStringToObject(o, "op", st->op == 'X' ? "refuse_accept" : "refuse");
    cJSON_AddStringToObject(o, "receiver", alice ? "alice" : "bob");
    cJSON_AddStringToObject(o, "id", st->id);
    pq3tv_add_u64(o, "time", now);
    cJSON_AddStringToObject(o, "error", err_name(err));
    return 1;
}

char *pq3tv_generate_network(void)
{
    static net_world w; /* large */
    fx_pair *x = &w.c.x;
    cJSON *root = cJSON_CreateObject(), *o, *events;
    uint64_t now = FX_T0;
    int ok = 1, bob_started = 0;
    char *out = NULL;

    memset(&w, 0, sizeof w);
    cJSON_AddStringToObject(root, "format", "OpenPQ3 network vectors v1");
    o = cJSON_CreateObject();
    pq3tv_add_u64(o, "max_jump", NET_MAX_JUMP);
    pq3tv_add_u64(o, "max_keys", NET_MAX_KEYS);
    pq3tv_add_u64(o, "max_age", NET_MAX_AGE);
    cJSON_AddItemToObject(root, "store", o);
    pq3tv_add_u64(root, "cache_max", NET_CACHE);
    if (!pq3tv_begin(&w.c, NET_K, root) ||
        pq3_skipped_init(&w.sk_a, NET_MAX_JUMP, NET_MAX_KEYS, NET_MAX_AGE) != PQ3_OK ||
        pq3_skipped_init(&w.sk_b, NET_MAX_JUMP, NET_MAX_KEYS, NET_MAX_AGE) != PQ3_OK ||
        pq3_start_cache_init(&w.cache, x->prekey.bundle.hash, NET_CACHE) != PQ3_OK) {
        ok = 0;
        goto out;
    }
    events = cJSON_CreateArray();
    cJSON_AddItemToObject(root, "events", events);
    for (int i = 0; i < N_STEPS && ok; i++) {
        const net_step *st = &steps[i];
        cJSON *e = cJSON_CreateObject();
        now += 3 + (uint64_t)(i * 37 % 50);
        cJSON_AddNumberToObject(e, "event", i);
        cJSON_AddItemToArray(events, e);
        if (st->op == 's' || st->op == 'r')
            ok = seal_step(&w, st, i, now, e);
        else if (st->op == 'o')
            ok = open_step(&w, st, i, now, e, &bob_started);
        else
            ok = refuse_step(&w, st, i, now, e);
    }
    if (!ok)
        goto out;
    {
        size_t len;
        cJSON *f = cJSON_CreateObject(), *g = cJSON_CreateObject();
        if (pq3_session_serialize(&x->a, w.buf, sizeof w.buf, &len) != PQ3_OK)
            ok = 0;
        else
            pq3tv_add_hex(f, "alice", w.buf, len);
        if (pq3_session_serialize(&x->b, w.buf, sizeof w.buf, &len) != PQ3_OK)
            ok = 0;
        else
            pq3tv_add_hex(f, "bob", w.buf, len);
        cJSON_AddItemToObject(root, "final_states", f);
        ok &= add_store(&w, g, "alice", &w.sk_a) && add_store(&w, g, "bob", &w.sk_b);
        cJSON_AddItemToObject(root, "final_stores", g);
        if (pq3_start_cache_serialize(&w.cache, w.buf, sizeof w.buf, &len) != PQ3_OK)
            ok = 0;
        else
            pq3tv_add_hex(root, "final_cache", w.buf, len);
        if (!ok)
            pq3tv_fail("final states", N_STEPS);
    }
    cJSON_AddItemToObject(root, "parties", pq3tv_parties_json(&w.c, NET_K));

out:
    if (ok)
        out = cJSON_Print(root);
    cJSON_Delete(root);
    pq3_session_wipe(&x->a);
    pq3_session_wipe(&x->b);
    pq3_skipped_wipe(&w.sk_a);
    pq3_skipped_wipe(&w.sk_b);
    pq3_wipe(&w, sizeof w);
    return out;
}
