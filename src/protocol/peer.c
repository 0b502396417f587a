/*
 * Several sessions with one peer device (docs/PROTOCOL.md §10.5, §10.6):
 * routing, the session to send on, eviction and dropping, and the
 * container's strict serialization (type 0x07).
 *
 * Atomicity: every session operation used here (open_ex, accept_ex, seal)
 * leaves its session and the shared store byte-identical on error, and the
 * container's own bookkeeping (slots, counter, eviction) is changed only
 * after the one fallible call succeeded. A new session is built in a local
 * copy and moved into its slot only then.
 */
#include <string.h>

#include "pq3/peer.h"
#include "protocol/codec.h"
#include "protocol/message.h"
#include "protocol/session.h"
#include "protocol/skipped.h"

/* Structure types (§2). */
#define PQ3_TYPE_PEER 0x07
#define PQ3_TYPE_PEER_HEADER 0x09

/* ---- helpers ------------------------------------------------------------- */

/* Identities, ratchet keys and session ids are public data: plain compares
 * (memcmp) are fine throughout this file. */

static int party_is_cert(const pq3_session_party *s, const pq3_device_cert *c)
{
    return s->handle_len == c->handle_len && memcmp(s->handle, c->handle, c->handle_len) == 0 &&
           memcmp(s->device_id, c->device_id, PQ3_DEVICE_ID_BYTES) == 0 &&
           memcmp(s->auth_pub, c->auth_pub, PQ3_ECDSA_PUB_BYTES) == 0;
}

static int party_eq(const pq3_session_party *a, const pq3_session_party *b)
{
    return a->handle_len == b->handle_len && memcmp(a->handle, b->handle, a->handle_len) == 0 &&
           memcmp(a->device_id, b->device_id, PQ3_DEVICE_ID_BYTES) == 0 &&
           memcmp(a->auth_pub, b->auth_pub, PQ3_ECDSA_PUB_BYTES) == 0;
}

/* §10.6: every session of a container is between the same two devices. */
static int certs_fit(const pq3_peer *p, const pq3_device_cert *self, const pq3_device_cert *peer)
{
    return p->count == 0 || (party_is_cert(&p->slots[0].session.self, self) &&
                             party_is_cert(&p->slots[0].session.peer, peer));
}

/* The peer ratchet keys a session routes to itself (§10.5): the current
 * one and the remembered previous ones. Public values: plain compares. */
static int session_knows(const pq3_session *s, const uint8_t rk[32])
{
    if (memcmp(s->peer_pub, rk, 32) == 0)
        return 1;
    for (uint32_t i = 0; i < s->prev_peer_count && i < PQ3_PREV_PEER_KEYS; i++)
        if (memcmp(s->prev_peer_pubs[i], rk, 32) == 0)
            return 1;
    return 0;
}

static int any_knows(const pq3_peer *p, const uint8_t rk[32])
{
    for (uint32_t i = 0; i < p->count; i++)
        if (session_knows(&p->slots[i].session, rk))
            return 1;
    return 0;
}

/* Whether a stored key still belongs to a held session: by its session tag,
 * or (keys of format 1, without a tag) by a ratchet key a session
 * remembers. */
static int key_held(const void *ctx, const pq3_skipped_key *e)
{
    static const uint8_t zero[PQ3_SKIPPED_TAG_BYTES];
    const pq3_peer *p = ctx;
    if (memcmp(e->session, zero, sizeof zero) == 0)
        return any_knows(p, e->ratchet_key);
    for (uint32_t i = 0; i < p->count; i++)
        if (memcmp(p->slots[i].session.session_id, e->session, PQ3_SKIPPED_TAG_BYTES) == 0)
            return 1;
    return 0;
}

/* §10.6: erases the stored keys no held session can use (the keys of a
 * dropped or evicted session). Order is kept, so the store's "oldest
 * first" rule still holds. */
static void purge_store(pq3_peer *p)
{
    (void)pq3_skipped_filter(&p->store, key_held, p);
}

/* Whether any held session has stored keys of chain rk. */
static int any_stored(const pq3_peer *p, const uint8_t rk[32])
{
    for (uint32_t i = 0; i < p->count; i++)
        if (pq3_skipped_has_chain(&p->store, p->slots[i].session.session_id, rk))
            return 1;
    return 0;
}

/* Removes slot i (wiping its session) without touching the store. */
static void remove_slot(pq3_peer *p, uint32_t i)
{
    uint32_t last = p->count - 1;
    pq3_session_wipe(&p->slots[i].session);
    if (i != last)
        memmove(&p->slots[i], &p->slots[i + 1], (size_t)(last - i) * sizeof p->slots[0]);
    pq3_wipe(&p->slots[last], sizeof p->slots[last]);
    p->count = last;
}

/* §10.6: the least recently active session (smallest activity time, then
 * smallest seq: deterministic, seq values are distinct). */
static uint32_t lru_slot(const pq3_peer *p)
{
    uint32_t o = 0;
    for (uint32_t i = 1; i < p->count; i++) {
        const pq3_peer_slot *a = &p->slots[i], *b = &p->slots[o];
        if (a->active < b->active || (a->active == b->active && a->seq < b->seq))
            o = i;
    }
    return o;
}

/* Adds a session built elsewhere (wiping the source), evicting the least
 * recently active session first when full. Cannot fail. */
static void add_session(pq3_peer *p, pq3_session *s, uint64_t now)
{
    pq3_peer_slot *slot;
    if (p->count == PQ3_PEER_MAX_SESSIONS)
        remove_slot(p, lru_slot(p));
    slot = &p->slots[p->count++];
    memcpy(&slot->session, s, sizeof *s);
    pq3_session_wipe(s);
    slot->active = now;
    slot->seq = ++p->counter;
    purge_store(p);
}

static void touch(pq3_peer *p, uint32_t i, uint64_t now)
{
    p->slots[i].active = now;
    p->slots[i].seq = ++p->counter;
}

/* Slots in the order they are offered a message (§10.6): the current
 * session first, then by most recent activity (seq, descending). */
static uint32_t preference(const pq3_peer *p, uint32_t order[PQ3_PEER_MAX_SESSIONS])
{
    uint32_t cur, n = 0;
    uint8_t taken[PQ3_PEER_MAX_SESSIONS] = {0};
    if (pq3_peer_current(p, &cur) == PQ3_OK) {
        order[n++] = cur;
        taken[cur] = 1;
    }
    while (n < p->count) {
        uint32_t best = p->count;
        for (uint32_t i = 0; i < p->count; i++)
            if (!taken[i] && (best == p->count || p->slots[i].seq > p->slots[best].seq))
                best = i;
        taken[best] = 1;
        order[n++] = best;
    }
    return n;
}

/* ---- lifecycle ----------------------------------------------------------- */

pq3_err pq3_peer_init(pq3_peer *p, uint32_t max_jump, uint32_t max_keys, uint64_t max_age)
{
    /* the store's rules (pq3_skipped_init), checked before *p is wiped */
    if (p == NULL || max_keys < 1 || max_keys > PQ3_SKIPPED_MAX_KEYS || max_jump < 1 ||
        max_jump > max_keys || max_age < 1)
        return PQ3_ERR_ARG;
    pq3_wipe(p, sizeof *p);
    return pq3_skipped_init(&p->store, max_jump, max_keys, max_age);
}

void pq3_peer_init_default(pq3_peer *p)
{
    if (p != NULL && pq3_peer_init(p, PQ3_SKIPPED_DEFAULT_JUMP, PQ3_SKIPPED_DEFAULT_KEYS,
                                   PQ3_SKIPPED_DEFAULT_AGE) != PQ3_OK)
        pq3_wipe(p, sizeof *p); /* unreachable: the defaults are in range */
}

void pq3_peer_wipe(pq3_peer *p)
{
    if (p != NULL)
        pq3_wipe(p, sizeof *p);
}

/* ---- the session to send on (§10.6) --------------------------------------- */

pq3_err pq3_peer_current(const pq3_peer *p, uint32_t *slot)
{
    uint64_t newest = 0;
    int best = -1;
    if (p == NULL || slot == NULL || p->count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_ARG;
    if (p->count == 0)
        return PQ3_ERR_STATE;
    for (uint32_t i = 0; i < p->count; i++)
        if (p->slots[i].active > newest)
            newest = p->slots[i].active;
    for (uint32_t i = 0; i < p->count; i++) {
        const pq3_peer_slot *s = &p->slots[i];
        if (newest - s->active > PQ3_PEER_TIE_SECONDS)
            continue;
        if (best < 0 ||
            memcmp(s->session.session_id, p->slots[best].session.session_id, 32) < 0)
            best = (int)i;
    }
    *slot = (uint32_t)best;
    return PQ3_OK;
}

pq3_err pq3_peer_find(const pq3_peer *p, const uint8_t session_id[32], uint32_t *slot)
{
    if (p == NULL || session_id == NULL || slot == NULL || p->count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_ARG;
    for (uint32_t i = 0; i < p->count; i++)
        if (memcmp(p->slots[i].session.session_id, session_id, 32) == 0) {
            *slot = i;
            return PQ3_OK;
        }
    return PQ3_ERR_UNKNOWN;
}

uint32_t pq3_peer_prune(pq3_peer *p, uint64_t now)
{
    uint32_t dropped = 0, i = 0, cur;
    if (p == NULL || p->count == 0 || p->count > PQ3_PEER_MAX_SESSIONS ||
        pq3_peer_current(p, &cur) != PQ3_OK)
        return 0;
    /* Dropping sessions other than the current one never changes which one
     * is current: it stays tied with the newest remaining activity and keeps
     * the lowest id among a subset. */
    while (i < p->count) {
        const pq3_peer_slot *s = &p->slots[i];
        int stale = i != cur && p->counter - s->seq >= PQ3_PEER_DROP_MESSAGES &&
                    now >= s->active && now - s->active >= PQ3_PEER_DROP_SECONDS;
        if (stale) {
            remove_slot(p, i);
            if (cur > i)
                cur--;
            dropped++;
        } else {
            i++;
        }
    }
    if (dropped > 0) {
        purge_store(p);
        p->generation++;
    }
    return dropped;
}

/* ---- starting, opening, sealing ------------------------------------------ */

pq3_err pq3_peer_start(pq3_peer *p, const pq3_device_cert *self, const pq3_device_cert *peer,
                       const pq3_prekey_bundle *bundle, uint64_t now, const pq3_rng *rng)
{
    pq3_session s;
    pq3_err err;
    if (p == NULL || self == NULL || peer == NULL || bundle == NULL ||
        p->count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_ARG;
    if (!certs_fit(p, self, peer))
        return PQ3_ERR_ARG;
    if ((err = pq3_session_start(&s, self, peer, bundle, now, rng)) != PQ3_OK)
        return err; /* s wiped by pq3_session_start */
    add_session(p, &s, now);
    p->generation++;
    return PQ3_OK;
}

/* The error reported when every session offered a message failed
 * (pq3_peer_open): the first telling error, else PQ3_ERR_UNKNOWN (a wrong
 * session fails the mki check or expects no new chain). */
static pq3_err combine(pq3_err sofar, pq3_err e)
{
    if (sofar != PQ3_ERR_UNKNOWN)
        return sofar;
    return (e == PQ3_ERR_VERIFY || e == PQ3_ERR_UNKNOWN) ? PQ3_ERR_UNKNOWN : e;
}

/* The signature of a message for a held session, checked once for all of
 * them: every session of the container is between the same two devices, so
 * the sender's key and the session identity digest are the same (§10.6). */
static pq3_err verify_once(const pq3_peer *p, const pq3_msg_view *v, const uint8_t *msg,
                           int *verified)
{
    pq3_err err;
    if (*verified)
        return PQ3_OK;
    if ((err = pq3_msg_verify(&p->slots[0].session.peer_auth, p->slots[0].session.sidd_recv, v,
                              msg)) != PQ3_OK)
        return err;
    *verified = 1;
    return PQ3_OK;
}

pq3_err pq3_peer_open(pq3_peer *p, const pq3_device_cert *self, const pq3_device_cert *peer,
                      const pq3_prekey_secret *prekey, pq3_start_cache *cache, uint64_t now,
                      const uint8_t *msg, size_t msg_len, uint8_t *body, size_t body_cap,
                      pq3_opened *info, uint8_t session_id[32])
{
    pq3_msg_view v;
    uint32_t order[PQ3_PEER_MAX_SESSIONS], n, hit = PQ3_PEER_MAX_SESSIONS, slot;
    int verified = 0;
    pq3_err err = PQ3_ERR_UNKNOWN;

    if (p == NULL || self == NULL || peer == NULL || msg == NULL || body == NULL ||
        info == NULL || p->count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_ARG;
    if (!certs_fit(p, self, peer)) {
        pq3_wipe(body, body_cap);
        return PQ3_ERR_ARG;
    }
    if ((err = pq3_msg_decode(&v, msg, msg_len)) != PQ3_OK) {
        pq3_wipe(body, body_cap);
        return err;
    }
    err = PQ3_ERR_UNKNOWN;

    /* 1. A ratchet key a session remembers: that session alone. */
    for (uint32_t i = 0; i < p->count; i++) {
        if (session_knows(&p->slots[i].session, v.ratchet_key)) {
            if ((err = verify_once(p, &v, msg, &verified)) == PQ3_OK)
                err = pq3_session_open_verified(&p->slots[i].session, &p->store, now, &v, body,
                                                body_cap, info);
            if (err != PQ3_OK) {
                pq3_wipe(body, body_cap);
                return err;
            }
            hit = i;
            break;
        }
    }

    /* 2. A START naming a session we do not hold: a new session (§10.3). */
    if (hit == PQ3_PEER_MAX_SESSIONS && (v.flags & PQ3_MSG_START) &&
        !any_stored(p, v.ratchet_key)) {
        pq3_session s;
        if (prekey == NULL) {
            pq3_wipe(body, body_cap);
            return PQ3_ERR_UNKNOWN;
        }
        /* Its id is E: one we hold already (its first chain forgotten) is a
         * copy of that start, never a second session with the same id. */
        if (pq3_peer_find(p, v.ratchet_key, &slot) == PQ3_OK) {
            pq3_wipe(body, body_cap);
            return PQ3_ERR_REPLAY;
        }
        err = pq3_session_accept_ex(&s, &p->store, cache, self, peer, prekey, now, msg, msg_len,
                                    body, body_cap, info);
        if (err != PQ3_OK)
            return err; /* s, body wiped; store and cache unchanged */
        add_session(p, &s, now);
        if (session_id != NULL)
            memcpy(session_id, p->slots[p->count - 1].session.session_id, 32);
        (void)pq3_peer_prune(p, now);
        p->generation++;
        return PQ3_OK;
    }

    /* 3. Keys in the store (an older chain no session remembers by key), or
     * an unknown key (a new peer chain): offered to the sessions in order of
     * preference until one opens it (§10.5); a wrong one fails its checks
     * without change. The signature is checked once, before the first. */
    if (hit == PQ3_PEER_MAX_SESSIONS) {
        int stored = any_stored(p, v.ratchet_key);
        n = preference(p, order);
        for (uint32_t k = 0; k < n && hit == PQ3_PEER_MAX_SESSIONS; k++) {
            pq3_session *s = &p->slots[order[k]].session;
            pq3_err e;
            if (!stored && !(s->flags & PQ3_ST_SEND)) /* expects no new chain */
                continue;
            if ((e = verify_once(p, &v, msg, &verified)) != PQ3_OK) {
                err = e;
                break;
            }
            e = pq3_session_open_verified(s, &p->store, now, &v, body, body_cap, info);
            if (e == PQ3_OK)
                hit = order[k];
            else
                err = combine(err, e);
        }
        if (hit == PQ3_PEER_MAX_SESSIONS) {
            pq3_wipe(body, body_cap);
            return err;
        }
    }

    touch(p, hit, now);
    if (session_id != NULL)
        memcpy(session_id, p->slots[hit].session.session_id, 32);
    (void)pq3_peer_prune(p, now);
    p->generation++;
    return PQ3_OK;
}

pq3_err pq3_peer_seal(pq3_peer *p, const pq3_signer *signer, const pq3_rekey_policy *policy,
                      uint64_t now, const pq3_rng *rng, uint8_t content_type, const uint8_t *body,
                      size_t body_len, const uint8_t *ad, size_t ad_len, uint8_t *out, size_t cap,
                      size_t *out_len, uint8_t session_id[32])
{
    uint32_t cur;
    pq3_err err;
    if (p == NULL || p->count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_ARG;
    if ((err = pq3_peer_current(p, &cur)) != PQ3_OK) {
        if (out != NULL)
            pq3_wipe(out, cap);
        return err;
    }
    err = pq3_session_seal(&p->slots[cur].session, signer, policy, now, rng, content_type, body,
                           body_len, ad, ad_len, out, cap, out_len);
    if (err == PQ3_OK) {
        p->generation++;
        if (session_id != NULL)
            memcpy(session_id, p->slots[cur].session.session_id, 32);
    }
    return err;
}

/* ---- delivery receipts (§16.1) -------------------------------------------- */

int pq3_peer_receipt_due(const pq3_peer *p, const pq3_rekey_policy *policy, uint64_t now)
{
    uint32_t cur;
    if (p == NULL || pq3_peer_current(p, &cur) != PQ3_OK)
        return 0;
    return pq3_session_receipt_due(&p->slots[cur].session, policy, now);
}

pq3_err pq3_peer_seal_receipt(pq3_peer *p, const pq3_signer *signer,
                              const pq3_rekey_policy *policy, uint64_t now, const pq3_rng *rng,
                              uint8_t *out, size_t cap, size_t *out_len, uint8_t session_id[32])
{
    uint32_t cur;
    pq3_err err;
    if (p == NULL || p->count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_ARG;
    if ((err = pq3_peer_current(p, &cur)) != PQ3_OK)
        return err;
    err = pq3_session_seal_receipt(&p->slots[cur].session, &p->store, signer, policy, now, rng,
                                   out, cap, out_len);
    if (err == PQ3_OK) {
        p->generation++;
        if (session_id != NULL)
            memcpy(session_id, p->slots[cur].session.session_id, 32);
    }
    return err;
}

/* ---- serialization (§10.6, type 0x07; §10.7, type 0x09) -------------------- */

/* The container's own rules (the sessions and store are checked by their
 * serializers). */
static int peer_ok(const pq3_peer *p)
{
    if (p->count > PQ3_PEER_MAX_SESSIONS || p->reserved != 0)
        return 0;
    for (uint32_t i = 0; i < p->count; i++) {
        const pq3_peer_slot *a = &p->slots[i];
        if (a->seq == 0 || a->seq > p->counter)
            return 0;
        if (!party_eq(&a->session.self, &p->slots[0].session.self) ||
            !party_eq(&a->session.peer, &p->slots[0].session.peer))
            return 0;
        for (uint32_t j = i + 1; j < p->count; j++)
            if (a->seq == p->slots[j].seq ||
                memcmp(a->session.session_id, p->slots[j].session.session_id, 32) == 0)
                return 0;
    }
    return 1;
}

/* Serializes a nested structure behind its length prefix (written by the
 * caller's vec writer): measure, then serialize in place. */
typedef pq3_err (*ser_fn)(const void *obj, uint8_t *out, size_t cap, size_t *out_len);

static pq3_err ser_session(const void *obj, uint8_t *out, size_t cap, size_t *out_len)
{
    return pq3_session_serialize(obj, out, cap, out_len);
}

static pq3_err ser_store(const void *obj, uint8_t *out, size_t cap, size_t *out_len)
{
    return pq3_skipped_serialize(obj, out, cap, out_len);
}

static pq3_err write_nested(pq3_writer *w, ser_fn fn, const void *obj, int wide)
{
    size_t len = 0, at;
    uint8_t *buf;
    pq3_err err = fn(obj, NULL, 0, &len);
    if (err != PQ3_OK && err != PQ3_ERR_BUFFER)
        return err;
    if (wide)
        pq3_write_u32(w, (uint32_t)len);
    else
        pq3_write_u16(w, (uint16_t)len);
    at = w->len;
    buf = (w->buf != NULL && w->err == PQ3_OK && w->cap - at >= len) ? w->buf + at : NULL;
    if (buf != NULL && (err = fn(obj, buf, len, &len)) != PQ3_OK)
        return err;
    if (buf == NULL && w->err == PQ3_OK && w->buf != NULL)
        w->err = PQ3_ERR_BUFFER;
    w->len = at + len;
    return PQ3_OK;
}

/* Format 2: format, type, count, reserved, counter, generation, then per
 * slot active, seq, vec16 session state; vec32 store. */
static pq3_err write_peer(const pq3_peer *p, pq3_writer *w)
{
    pq3_err err;
    pq3_write_u8(w, PQ3_PEER_FORMAT_VERSION);
    pq3_write_u8(w, PQ3_TYPE_PEER);
    pq3_write_u16(w, (uint16_t)p->count);
    pq3_write_u32(w, 0);
    pq3_write_u64(w, p->counter);
    pq3_write_u64(w, p->generation);
    for (uint32_t i = 0; i < p->count; i++) {
        pq3_write_u64(w, p->slots[i].active);
        pq3_write_u64(w, p->slots[i].seq);
        if ((err = write_nested(w, ser_session, &p->slots[i].session, 0)) != PQ3_OK)
            return err;
    }
    return write_nested(w, ser_store, &p->store, 1);
}

static pq3_err finish(pq3_writer *w, pq3_err err, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t len = 0;
    if (err == PQ3_OK)
        err = pq3_writer_end(w, &len);
    else
        err = PQ3_ERR_STATE; /* a session or the store breaks its rules */
    *out_len = len;
    if (err == PQ3_ERR_BUFFER)
        *out_len = w->len;
    if (err != PQ3_OK && out != NULL)
        pq3_wipe(out, cap);
    return err;
}

pq3_err pq3_peer_size(const pq3_peer *p, size_t *size)
{
    pq3_writer w;
    if (p == NULL || size == NULL)
        return PQ3_ERR_ARG;
    if (!peer_ok(p))
        return PQ3_ERR_STATE;
    pq3_writer_init(&w, NULL, 0);
    if (write_peer(p, &w) != PQ3_OK)
        return PQ3_ERR_STATE;
    *size = w.len;
    return PQ3_OK;
}

/* Checks the container's rules, then writes it with `write` (the whole
 * container or its header record). */
static pq3_err emit(const pq3_peer *p, uint8_t *out, size_t cap, size_t *out_len,
                    pq3_err (*write)(const pq3_peer *, pq3_writer *))
{
    pq3_writer w;
    if (p == NULL || out_len == NULL || (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    if (!peer_ok(p)) {
        if (out != NULL)
            pq3_wipe(out, cap);
        return PQ3_ERR_STATE;
    }
    pq3_writer_init(&w, out, cap);
    return finish(&w, write(p, &w), out, cap, out_len);
}

pq3_err pq3_peer_serialize(const pq3_peer *p, uint8_t *out, size_t cap, size_t *out_len)
{
    return emit(p, out, cap, out_len, write_peer);
}

/* The decoded parts of a container, checked on local copies before *p is
 * touched. */
typedef struct {
    uint32_t count;
    uint64_t counter, generation, store_generation;
    uint64_t active[PQ3_PEER_MAX_SESSIONS], seq[PQ3_PEER_MAX_SESSIONS];
    uint64_t sess_generation[PQ3_PEER_MAX_SESSIONS];  /* header record only */
    uint8_t ids[PQ3_PEER_MAX_SESSIONS][32];           /* header record only */
    const uint8_t *sess[PQ3_PEER_MAX_SESSIONS];
    size_t sess_len[PQ3_PEER_MAX_SESSIONS];
    const uint8_t *store;
    size_t store_len;
} peer_parts;

static pq3_err check_slots(pq3_reader *r, const peer_parts *pp, uint32_t i)
{
    if (r->err == PQ3_OK && (pp->seq[i] == 0 || pp->seq[i] > pp->counter))
        pq3_reader_fail(r, PQ3_ERR_DECODE);
    for (uint32_t j = 0; j < i && r->err == PQ3_OK; j++)
        if (pp->seq[j] == pp->seq[i])
            pq3_reader_fail(r, PQ3_ERR_DECODE);
    return r->err;
}

/* Every session decodes, between the same two devices, ids distinct (and,
 * for records, the id and generation the header names); the store decodes
 * (with the generation the header names); then *p is written. */
static pq3_err assemble(pq3_peer *p, const peer_parts *pp, int records)
{
    pq3_session tmp;
    pq3_session_party self0 = {0}, peer0 = {0};
    uint8_t ids[PQ3_PEER_MAX_SESSIONS][32];
    uint32_t where[PQ3_PEER_MAX_SESSIONS];
    pq3_err err = PQ3_OK;

    memset(&tmp, 0, sizeof tmp);
    for (uint32_t i = 0; i < pp->count; i++) {
        if ((err = pq3_session_deserialize(&tmp, pp->sess[i], pp->sess_len[i])) != PQ3_OK)
            goto out;
        if (i == 0) {
            self0 = tmp.self;
            peer0 = tmp.peer;
        } else if (!party_eq(&tmp.self, &self0) || !party_eq(&tmp.peer, &peer0)) {
            err = PQ3_ERR_DECODE;
        }
        memcpy(ids[i], tmp.session_id, 32);
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(ids[j], ids[i], 32) == 0)
                err = PQ3_ERR_DECODE;
        where[i] = i;
        if (records) {
            /* the slot the header names for this id, at this generation: an
             * older or newer session record is refused */
            uint32_t k = 0;
            while (k < pp->count && memcmp(pp->ids[k], tmp.session_id, 32) != 0)
                k++;
            if (k == pp->count || pp->sess_generation[k] != tmp.generation)
                err = PQ3_ERR_DECODE;
            where[i] = k;
        }
        pq3_session_wipe(&tmp);
        if (err != PQ3_OK)
            goto out;
    }
    /* Its decoder leaves *p->store untouched on error, and nothing else can
     * fail after it. Loading over a container writes only what changes (in a
     * container the store's tail and the slots beyond count are zero). */
    if ((err = pq3_skipped_load_over(&p->store, pp->store, pp->store_len,
                                     records ? &pp->store_generation : NULL)) != PQ3_OK)
        goto out;
    for (uint32_t i = pp->count; i < p->count; i++)
        pq3_wipe(&p->slots[i], sizeof p->slots[i]);
    for (uint32_t i = 0; i < pp->count; i++) {
        pq3_peer_slot *slot = &p->slots[where[i]];
        /* decoded and checked once already: decoded again without the key
         * checks, which cannot fail now */
        if (pq3_session_reload(&slot->session, pp->sess[i], pp->sess_len[i]) != PQ3_OK)
            pq3_wipe(&slot->session, sizeof slot->session);
        slot->active = pp->active[where[i]];
        slot->seq = pp->seq[where[i]];
    }
    p->count = pp->count;
    p->reserved = 0;
    p->counter = pp->counter;
    p->generation = pp->generation;
out:
    pq3_session_wipe(&tmp);
    return err;
}

pq3_err pq3_peer_deserialize(pq3_peer *p, const uint8_t *in, size_t len)
{
    pq3_reader r;
    peer_parts pp;
    pq3_err err;

    if (p == NULL || (in == NULL && len > 0) || p->count > PQ3_PEER_MAX_SESSIONS ||
        p->store.count > PQ3_SKIPPED_CAP)
        return PQ3_ERR_ARG;
    if (len < 2)
        return PQ3_ERR_DECODE;
    /* Formats 2 and 1 (1 has no generation). */
    if ((in[0] != PQ3_PEER_FORMAT_VERSION && in[0] != 1) || in[1] != PQ3_TYPE_PEER)
        return PQ3_ERR_VERSION;
    memset(&pp, 0, sizeof pp);
    pq3_reader_init(&r, in + 2, len - 2);
    pp.count = pq3_read_u16(&r);
    if (pq3_read_u32(&r) != 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    pp.counter = pq3_read_u64(&r);
    if (in[0] == PQ3_PEER_FORMAT_VERSION)
        pp.generation = pq3_read_u64(&r);
    if (r.err != PQ3_OK)
        return r.err;
    if (pp.count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_LIMIT;
    for (uint32_t i = 0; i < pp.count; i++) {
        pp.active[i] = pq3_read_u64(&r);
        pp.seq[i] = pq3_read_u64(&r);
        pp.sess[i] = pq3_read_vec16(&r, &pp.sess_len[i], PQ3_STATE_MAX_BYTES);
        (void)check_slots(&r, &pp, i);
    }
    pp.store = pq3_read_vec32(&r, &pp.store_len, PQ3_SKIPPED_MAX_BYTES);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    return assemble(p, &pp, 0);
}

/* ---- records (§10.7) ------------------------------------------------------ */

/* §10.7: format, type, count, reserved, counter, generation, store
 * generation, then per slot: session id, active, seq, generation. */
static pq3_err write_header(const pq3_peer *p, pq3_writer *w)
{
    pq3_write_u8(w, PQ3_PEER_HEADER_FORMAT_VERSION);
    pq3_write_u8(w, PQ3_TYPE_PEER_HEADER);
    pq3_write_u16(w, (uint16_t)p->count);
    pq3_write_u32(w, 0);
    pq3_write_u64(w, p->counter);
    pq3_write_u64(w, p->generation);
    pq3_write_u64(w, p->store.generation);
    for (uint32_t i = 0; i < p->count; i++) {
        const pq3_peer_slot *s = &p->slots[i];
        pq3_write_bytes(w, s->session.session_id, 32);
        pq3_write_u64(w, s->active);
        pq3_write_u64(w, s->seq);
        pq3_write_u64(w, s->session.generation);
    }
    return PQ3_OK;
}

pq3_err pq3_peer_header_serialize(const pq3_peer *p, uint8_t *out, size_t cap, size_t *out_len)
{
    return emit(p, out, cap, out_len, write_header);
}

pq3_err pq3_peer_load(pq3_peer *p, const uint8_t *header, size_t header_len,
                      const uint8_t *const sessions[], const size_t session_lens[],
                      size_t n_sessions, const uint8_t *store, size_t store_len)
{
    pq3_reader r;
    peer_parts pp;
    pq3_err err;

    if (p == NULL || (header == NULL && header_len > 0) || (store == NULL && store_len > 0) ||
        (n_sessions > 0 && (sessions == NULL || session_lens == NULL)) ||
        p->count > PQ3_PEER_MAX_SESSIONS || p->store.count > PQ3_SKIPPED_CAP)
        return PQ3_ERR_ARG;
    for (size_t i = 0; i < n_sessions; i++)
        if (sessions[i] == NULL && session_lens[i] > 0)
            return PQ3_ERR_ARG;
    if (header_len < 2)
        return PQ3_ERR_DECODE;
    if (header[0] != PQ3_PEER_HEADER_FORMAT_VERSION || header[1] != PQ3_TYPE_PEER_HEADER)
        return PQ3_ERR_VERSION;
    memset(&pp, 0, sizeof pp);
    pq3_reader_init(&r, header + 2, header_len - 2);
    pp.count = pq3_read_u16(&r);
    if (pq3_read_u32(&r) != 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    pp.counter = pq3_read_u64(&r);
    pp.generation = pq3_read_u64(&r);
    pp.store_generation = pq3_read_u64(&r);
    if (r.err != PQ3_OK)
        return r.err;
    if (pp.count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_LIMIT;
    for (uint32_t i = 0; i < pp.count; i++) {
        pq3_read_bytes(&r, pp.ids[i], 32);
        pp.active[i] = pq3_read_u64(&r);
        pp.seq[i] = pq3_read_u64(&r);
        pp.sess_generation[i] = pq3_read_u64(&r);
        (void)check_slots(&r, &pp, i);
    }
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    /* exactly the sessions the header names */
    if (n_sessions != pp.count)
        return PQ3_ERR_DECODE;
    for (uint32_t i = 0; i < pp.count; i++) {
        pp.sess[i] = sessions[i];
        pp.sess_len[i] = session_lens[i];
    }
    pp.store = store;
    pp.store_len = store_len;
    return assemble(p, &pp, 1);
}
