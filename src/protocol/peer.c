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
#include "protocol/session.h"

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

/* §10.6: erases the stored keys of chains no held session remembers (the
 * keys of a dropped session, and any a remaining session can no longer
 * route). Order is kept, so the store's "oldest first" rule still holds. */
static void purge_store(pq3_peer *p)
{
    pq3_skipped *sk = &p->store;
    uint32_t kept = 0, old = sk->count;
    for (uint32_t i = 0; i < old; i++) {
        if (!any_knows(p, sk->keys[i].ratchet_key))
            continue;
        if (kept != i)
            memcpy(&sk->keys[kept], &sk->keys[i], sizeof sk->keys[0]);
        kept++;
    }
    if (kept < old)
        pq3_wipe(&sk->keys[kept], (size_t)(old - kept) * sizeof sk->keys[0]);
    sk->count = kept;
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
    int cur = pq3_peer_current(p);
    uint32_t n = 0;
    uint8_t taken[PQ3_PEER_MAX_SESSIONS] = {0};
    if (cur >= 0) {
        order[n++] = (uint32_t)cur;
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

int pq3_peer_current(const pq3_peer *p)
{
    uint64_t newest = 0;
    int best = -1;
    if (p == NULL || p->count == 0 || p->count > PQ3_PEER_MAX_SESSIONS)
        return -1;
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
    return best;
}

int pq3_peer_find(const pq3_peer *p, const uint8_t session_id[32])
{
    if (p == NULL || session_id == NULL || p->count > PQ3_PEER_MAX_SESSIONS)
        return -1;
    for (uint32_t i = 0; i < p->count; i++)
        if (memcmp(p->slots[i].session.session_id, session_id, 32) == 0)
            return (int)i;
    return -1;
}

uint32_t pq3_peer_prune(pq3_peer *p, uint64_t now)
{
    uint32_t dropped = 0, i = 0;
    int cur;
    if (p == NULL || p->count == 0 || p->count > PQ3_PEER_MAX_SESSIONS)
        return 0;
    cur = pq3_peer_current(p);
    /* Dropping sessions other than the current one never changes which one
     * is current: it stays tied with the newest remaining activity and keeps
     * the lowest id among a subset. */
    while (i < p->count) {
        const pq3_peer_slot *s = &p->slots[i];
        int stale = (int)i != cur && p->counter - s->seq >= PQ3_PEER_DROP_MESSAGES &&
                    now >= s->active && now - s->active >= PQ3_PEER_DROP_SECONDS;
        if (stale) {
            remove_slot(p, i);
            if (cur > (int)i)
                cur--;
            dropped++;
        } else {
            i++;
        }
    }
    if (dropped > 0)
        purge_store(p);
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

pq3_err pq3_peer_open(pq3_peer *p, const pq3_device_cert *self, const pq3_device_cert *peer,
                      const pq3_prekey_secret *prekey, pq3_start_cache *cache, uint64_t now,
                      const uint8_t *msg, size_t msg_len, uint8_t *body, size_t body_cap,
                      pq3_opened *info, uint8_t session_id[32])
{
    pq3_message_info mi;
    uint32_t order[PQ3_PEER_MAX_SESSIONS], n, hit = PQ3_PEER_MAX_SESSIONS;
    pq3_err err = PQ3_ERR_UNKNOWN;

    if (p == NULL || self == NULL || peer == NULL || msg == NULL || body == NULL ||
        info == NULL || p->count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_ARG;
    if (!certs_fit(p, self, peer)) {
        pq3_wipe(body, body_cap);
        return PQ3_ERR_ARG;
    }
    if ((err = pq3_message_peek(&mi, msg, msg_len)) != PQ3_OK) {
        pq3_wipe(body, body_cap);
        return err;
    }
    err = PQ3_ERR_UNKNOWN;

    /* 1. A ratchet key a session remembers: that session alone. */
    for (uint32_t i = 0; i < p->count; i++) {
        if (session_knows(&p->slots[i].session, mi.ratchet_key)) {
            err = pq3_session_open_ex(&p->slots[i].session, &p->store, now, msg, msg_len, body,
                                      body_cap, info);
            if (err != PQ3_OK)
                return err;
            hit = i;
            break;
        }
    }

    /* 2. A START naming a session we do not hold: a new session (§10.3). */
    if (hit == PQ3_PEER_MAX_SESSIONS && (mi.flags & PQ3_MSG_START) &&
        !pq3_skipped_has_chain(&p->store, mi.ratchet_key)) {
        pq3_session s;
        if (prekey == NULL) {
            pq3_wipe(body, body_cap);
            return PQ3_ERR_UNKNOWN;
        }
        /* Its id is E: one we hold already (its first chain forgotten) is a
         * copy of that start, never a second session with the same id. */
        if (pq3_peer_find(p, mi.ratchet_key) >= 0) {
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
        return PQ3_OK;
    }

    /* 3. Keys in the store (an older chain no session remembers by key), or
     * an unknown key (a new peer chain): offered to the sessions in order of
     * preference until one opens it (§10.5); a wrong one fails its checks
     * without change. */
    if (hit == PQ3_PEER_MAX_SESSIONS) {
        int stored = pq3_skipped_has_chain(&p->store, mi.ratchet_key);
        n = preference(p, order);
        for (uint32_t k = 0; k < n && hit == PQ3_PEER_MAX_SESSIONS; k++) {
            pq3_session *s = &p->slots[order[k]].session;
            pq3_err e;
            if (!stored && !(s->flags & PQ3_ST_SEND)) /* expects no new chain */
                continue;
            e = pq3_session_open_ex(s, &p->store, now, msg, msg_len, body, body_cap, info);
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
    return PQ3_OK;
}

pq3_err pq3_peer_seal(pq3_peer *p, const pq3_signer *signer, const pq3_rekey_policy *policy,
                      uint64_t now, const pq3_rng *rng, uint8_t content_type, const uint8_t *body,
                      size_t body_len, const uint8_t *ad, size_t ad_len, uint8_t *out, size_t cap,
                      size_t *out_len, uint8_t session_id[32])
{
    int cur;
    pq3_err err;
    if (p == NULL || p->count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_ARG;
    if ((cur = pq3_peer_current(p)) < 0) {
        if (out != NULL)
            pq3_wipe(out, cap);
        return PQ3_ERR_STATE;
    }
    err = pq3_session_seal(&p->slots[cur].session, signer, policy, now, rng, content_type, body,
                           body_len, ad, ad_len, out, cap, out_len);
    if (err == PQ3_OK && session_id != NULL)
        memcpy(session_id, p->slots[cur].session.session_id, 32);
    return err;
}

/* ---- serialization (§10.6, type 0x07) ------------------------------------- */

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

static pq3_err write_peer(const pq3_peer *p, pq3_writer *w)
{
    uint8_t *buf;
    size_t len = 0;
    pq3_err err;
    pq3_write_u8(w, PQ3_PEER_FORMAT_VERSION);
    pq3_write_u8(w, PQ3_TYPE_PEER);
    pq3_write_u16(w, (uint16_t)p->count);
    pq3_write_u32(w, 0);
    pq3_write_u64(w, p->counter);
    for (uint32_t i = 0; i < p->count; i++) {
        const pq3_peer_slot *s = &p->slots[i];
        size_t at;
        pq3_write_u64(w, s->active);
        pq3_write_u64(w, s->seq);
        /* measure, then serialize in place behind the length prefix */
        err = pq3_session_serialize(&s->session, NULL, 0, &len);
        if (err != PQ3_OK && err != PQ3_ERR_BUFFER)
            return err;
        pq3_write_u16(w, (uint16_t)len);
        at = w->len;
        buf = (w->buf != NULL && w->err == PQ3_OK && w->cap - at >= len) ? w->buf + at : NULL;
        if (buf != NULL && (err = pq3_session_serialize(&s->session, buf, len, &len)) != PQ3_OK)
            return err;
        if (buf == NULL && w->err == PQ3_OK && w->buf != NULL)
            w->err = PQ3_ERR_BUFFER;
        w->len = at + len;
    }
    err = pq3_skipped_serialize(&p->store, NULL, 0, &len);
    if (err != PQ3_OK && err != PQ3_ERR_BUFFER)
        return err;
    pq3_write_u32(w, (uint32_t)len);
    {
        size_t at = w->len;
        buf = (w->buf != NULL && w->err == PQ3_OK && w->cap - at >= len) ? w->buf + at : NULL;
        if (buf != NULL && (err = pq3_skipped_serialize(&p->store, buf, len, &len)) != PQ3_OK)
            return err;
        if (buf == NULL && w->err == PQ3_OK && w->buf != NULL)
            w->err = PQ3_ERR_BUFFER;
        w->len = at + len;
    }
    return PQ3_OK;
}

size_t pq3_peer_size(const pq3_peer *p)
{
    pq3_writer w;
    if (p == NULL || !peer_ok(p))
        return 0;
    pq3_writer_init(&w, NULL, 0);
    if (write_peer(p, &w) != PQ3_OK)
        return 0;
    return w.len;
}

pq3_err pq3_peer_serialize(const pq3_peer *p, uint8_t *out, size_t cap, size_t *out_len)
{
    pq3_writer w;
    size_t len = 0;
    pq3_err err;
    if (p == NULL || out_len == NULL || (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    if (!peer_ok(p)) {
        if (out != NULL)
            pq3_wipe(out, cap);
        return PQ3_ERR_STATE;
    }
    pq3_writer_init(&w, out, cap);
    err = write_peer(p, &w);
    if (err == PQ3_OK)
        err = pq3_writer_end(&w, &len);
    else
        err = PQ3_ERR_STATE; /* a session or the store breaks its rules */
    *out_len = len;
    if (err == PQ3_ERR_BUFFER)
        *out_len = w.len;
    if (err != PQ3_OK && out != NULL)
        pq3_wipe(out, cap);
    return err;
}

pq3_err pq3_peer_deserialize(pq3_peer *p, const uint8_t *in, size_t len)
{
    pq3_reader r;
    uint32_t count;
    uint64_t counter;
    const uint8_t *sess[PQ3_PEER_MAX_SESSIONS], *store;
    size_t sess_len[PQ3_PEER_MAX_SESSIONS], store_len;
    uint64_t active[PQ3_PEER_MAX_SESSIONS], seq[PQ3_PEER_MAX_SESSIONS];
    pq3_session tmp;
    pq3_session_party self0 = {0}, peer0 = {0};
    uint8_t ids[PQ3_PEER_MAX_SESSIONS][32];
    pq3_err err;

    if (p == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if (len < 2)
        return PQ3_ERR_DECODE;
    if (in[0] != PQ3_PEER_FORMAT_VERSION || in[1] != PQ3_TYPE_PEER)
        return PQ3_ERR_VERSION;
    pq3_reader_init(&r, in + 2, len - 2);
    count = pq3_read_u16(&r);
    if (pq3_read_u32(&r) != 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    counter = pq3_read_u64(&r);
    if (r.err != PQ3_OK)
        return r.err;
    if (count > PQ3_PEER_MAX_SESSIONS)
        return PQ3_ERR_LIMIT;
    for (uint32_t i = 0; i < count; i++) {
        active[i] = pq3_read_u64(&r);
        seq[i] = pq3_read_u64(&r);
        sess[i] = pq3_read_vec16(&r, &sess_len[i], PQ3_STATE_MAX_BYTES);
        if (r.err == PQ3_OK && (seq[i] == 0 || seq[i] > counter))
            pq3_reader_fail(&r, PQ3_ERR_DECODE);
        for (uint32_t j = 0; j < i && r.err == PQ3_OK; j++)
            if (seq[j] == seq[i])
                pq3_reader_fail(&r, PQ3_ERR_DECODE);
    }
    store = pq3_read_vec32(&r, &store_len,
                           PQ3_SKIPPED_HEADER_BYTES +
                               (size_t)PQ3_SKIPPED_MAX_KEYS * PQ3_SKIPPED_ENTRY_BYTES);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;

    /* Every session decodes, between the same two devices, ids distinct:
     * checked on a local copy before *p is touched. */
    for (uint32_t i = 0; i < count; i++) {
        if ((err = pq3_session_deserialize(&tmp, sess[i], sess_len[i])) != PQ3_OK)
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
        pq3_session_wipe(&tmp);
        if (err != PQ3_OK)
            goto out;
    }
    /* The store is decoded last and straight into *p: its decoder leaves
     * it untouched on error, and nothing else can fail after it. */
    if ((err = pq3_skipped_deserialize(&p->store, store, store_len)) != PQ3_OK)
        goto out;
    for (uint32_t i = 0; i < PQ3_PEER_MAX_SESSIONS; i++)
        pq3_wipe(&p->slots[i], sizeof p->slots[i]);
    for (uint32_t i = 0; i < count; i++) {
        /* decoded once already: cannot fail now */
        if (pq3_session_deserialize(&p->slots[i].session, sess[i], sess_len[i]) != PQ3_OK)
            pq3_wipe(&p->slots[i].session, sizeof p->slots[i].session);
        p->slots[i].active = active[i];
        p->slots[i].seq = seq[i];
    }
    p->count = count;
    p->reserved = 0;
    p->counter = counter;
out:
    pq3_session_wipe(&tmp);
    return err;
}
