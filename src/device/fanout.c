/*
 * Sessions and fan-out (docs/DEVICE.md §6): one pq3_peer container per
 * peer device, kept as records (PROTOCOL.md §10.7); sending to every device
 * of a handle and of our own account; receiving batches; the outbox and
 * the inbox. Each call is one transaction: the sessions change together
 * with the envelopes and texts they produced, or not at all.
 */
#include "device/device_int.h"

#include <stdlib.h>
#include <string.h>

#include "device/payload.h"

/* ---- a peer device's container as records --------------------------------- */

static pq3_err peer_load(pq3_device *d, const uint8_t *h, size_t hl,
                         const uint8_t id[PQ3_DEVICE_ID_BYTES])
{
    uint8_t header[PQ3_PEER_RECORD_MAX_BYTES];
    const uint8_t *ptrs[PQ3_PEER_MAX_SESSIONS];
    size_t lens[PQ3_PEER_MAX_SESSIONS], header_len, store_len;
    sqlite3_stmt *s;
    uint32_t n = 0;
    int rc;
    pq3_err err;

    d->loaded_exists = 0;
    d->loaded_n = 0;
    d->loaded_store_gen = UINT64_MAX;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT header, store FROM peers WHERE handle = ? AND "
                                 "device_id = ?")) != PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    rc = pq3_store_step(&d->st, s);
    if (rc <= 0) {
        sqlite3_finalize(s);
        if (rc == 0)
            pq3_peer_init_default(d->peer); /* no session with that device yet */
        return rc;
    }
    err = pq3_store_col_blob(s, 0, header, sizeof header, &header_len);
    if (err == PQ3_OK)
        err = pq3_store_col_blob(s, 1, d->buf, PQ3_SKIPPED_MAX_BYTES, &store_len);
    sqlite3_finalize(s);
    if (err != PQ3_OK)
        goto damaged;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT state FROM peer_sessions WHERE handle = ? AND "
                                 "device_id = ?")) != PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    while ((rc = pq3_store_step(&d->st, s)) == 1) {
        if (n == PQ3_PEER_MAX_SESSIONS ||
            pq3_store_col_blob(s, 0, d->states[n], PQ3_STATE_MAX_BYTES, &lens[n]) != PQ3_OK) {
            rc = PQ3_ERR_DECODE;
            break;
        }
        ptrs[n] = d->states[n];
        n++;
    }
    sqlite3_finalize(s);
    if (rc < 0) {
        err = rc;
        if (err == PQ3_ERR_IO)
            return err;
        goto damaged;
    }
    /* Strict: every record re-validated, each the generation the header
     * names (a stale or altered row is refused, never used). */
    if ((err = pq3_peer_load(d->peer, header, header_len, ptrs, lens, n, d->buf, store_len)) !=
        PQ3_OK)
        goto damaged;
    d->loaded_exists = 1;
    d->loaded_n = d->peer->count;
    for (uint32_t i = 0; i < d->peer->count; i++) {
        memcpy(d->loaded_ids[i], d->peer->slots[i].session.session_id, 32);
        d->loaded_gens[i] = d->peer->slots[i].session.generation;
    }
    d->loaded_store_gen = d->peer->store.generation;
    return PQ3_OK;
damaged:
    pq3_dev_seterr(d->err, "the stored sessions with a device of %.*s are damaged (%s)", (int)hl,
                   (const char *)h, pq3_strerror(err));
    return err;
}

/* Writes the records whose generation grew since the load (§10.7). */
static pq3_err peer_save(pq3_device *d, const uint8_t *h, size_t hl,
                         const uint8_t id[PQ3_DEVICE_ID_BYTES])
{
    uint8_t header[PQ3_PEER_RECORD_MAX_BYTES];
    size_t header_len, len;
    sqlite3_stmt *s;
    const pq3_peer *p = d->peer;
    int store_changed = p->store.generation != d->loaded_store_gen;
    pq3_err err;

    if ((err = pq3_peer_header_serialize(p, header, sizeof header, &header_len)) != PQ3_OK)
        return err;
    if (store_changed || !d->loaded_exists) {
        if ((err = pq3_skipped_serialize(&p->store, d->buf, PQ3_SKIPPED_MAX_BYTES, &len)) != PQ3_OK)
            return err;
        if ((err = pq3_store_prepare(&d->st, &s,
                                     "INSERT INTO peers (handle, device_id, header, store) "
                                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (handle, device_id) "
                                     "DO UPDATE SET header = ?3, store = ?4")) != PQ3_OK)
            return err;
        sqlite3_bind_blob(s, 4, d->buf, (int)len, SQLITE_STATIC);
    } else if ((err = pq3_store_prepare(&d->st, &s,
                                        "UPDATE peers SET header = ?3 WHERE handle = ?1 AND "
                                        "device_id = ?2")) != PQ3_OK) {
        return err;
    }
    sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, header, (int)header_len, SQLITE_STATIC);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
        return err;

    for (uint32_t i = 0; i < p->count; i++) {
        const pq3_session *ss = &p->slots[i].session;
        uint32_t k = 0;
        while (k < d->loaded_n && memcmp(d->loaded_ids[k], ss->session_id, 32) != 0)
            k++;
        if (k < d->loaded_n && d->loaded_gens[k] == ss->generation)
            continue; /* unchanged */
        if ((err = pq3_session_serialize(ss, d->states[0], PQ3_STATE_MAX_BYTES, &len)) != PQ3_OK)
            return err;
        if ((err = pq3_store_prepare(&d->st, &s,
                                     "INSERT OR REPLACE INTO peer_sessions (handle, device_id, "
                                     "session_id, state) VALUES (?, ?, ?, ?)")) != PQ3_OK)
            return err;
        sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, ss->session_id, 32, SQLITE_STATIC);
        sqlite3_bind_blob(s, 4, d->states[0], (int)len, SQLITE_STATIC);
        err = pq3_store_run(&d->st, s);
        pq3_wipe(d->states[0], len);
        if (err != PQ3_OK)
            return err;
    }
    /* Sessions the container dropped or evicted. */
    for (uint32_t k = 0; k < d->loaded_n; k++) {
        uint32_t i;
        if (pq3_peer_find(p, d->loaded_ids[k], &i) == PQ3_OK)
            continue;
        if ((err = pq3_store_prepare(&d->st, &s,
                                     "DELETE FROM peer_sessions WHERE handle = ? AND device_id = ? "
                                     "AND session_id = ?")) != PQ3_OK)
            return err;
        sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, d->loaded_ids[k], 32, SQLITE_STATIC);
        if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
            return err;
    }
    /* What is stored now is what the container holds. */
    d->loaded_exists = 1;
    d->loaded_n = p->count;
    for (uint32_t i = 0; i < p->count; i++) {
        memcpy(d->loaded_ids[i], p->slots[i].session.session_id, 32);
        d->loaded_gens[i] = p->slots[i].session.generation;
    }
    d->loaded_store_gen = p->store.generation;
    return PQ3_OK;
}

static pq3_err outbox_add(pq3_device *d, const uint8_t *h, size_t hl,
                          const uint8_t id[PQ3_DEVICE_ID_BYTES], const uint8_t *msg, size_t len,
                          uint64_t now)
{
    sqlite3_stmt *s;
    pq3_err err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "INSERT INTO outbox (to_handle, to_device, msg, created) "
                                 "VALUES (?, ?, ?, ?)")) != PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, msg, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
    return pq3_store_run(&d->st, s);
}

/* ---- sending --------------------------------------------------------------- */

typedef struct target {
    uint8_t handle[PQ3_HANDLE_MAX];
    size_t handle_len;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t cert[PQ3_CERT_MAX_BYTES];
    size_t cert_len;
    uint8_t bundle[PQ3_PREKEY_BUNDLE_BYTES];
    size_t bundle_len;
    int is_self;
} target;

#define MAX_TARGETS (2 * PQ3_ACCOUNT_MAX_DEVICES)

/* The devices of `handle` (or of our own account when `self`). */
static pq3_err collect(pq3_device *d, const uint8_t *h, size_t hl, int self, target *t,
                       uint32_t *n)
{
    sqlite3_stmt *s;
    int rc;
    pq3_err err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 self ? "SELECT v.handle, v.device_id, c.account_pub, v.cert, "
                                        "v.bundle FROM devices v JOIN contacts c ON c.handle = "
                                        "v.handle WHERE c.is_self = 1 ORDER BY v.device_id"
                                      : "SELECT v.handle, v.device_id, c.account_pub, v.cert, "
                                        "v.bundle FROM devices v JOIN contacts c ON c.handle = "
                                        "v.handle WHERE v.handle = ? ORDER BY v.device_id")) != PQ3_OK)
        return err;
    if (!self)
        sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
    while ((rc = pq3_store_step(&d->st, s)) == 1) {
        target *x = &t[*n];
        if (*n == MAX_TARGETS) {
            rc = PQ3_ERR_LIMIT;
            break;
        }
        x->is_self = self;
        x->bundle_len = 0;
        if (pq3_store_col_blob(s, 0, x->handle, PQ3_HANDLE_MAX, &x->handle_len) != PQ3_OK ||
            pq3_store_col_fixed(s, 1, x->device_id, PQ3_DEVICE_ID_BYTES) != PQ3_OK ||
            pq3_store_col_fixed(s, 2, x->account_pub, PQ3_ECDSA_PUB_BYTES) != PQ3_OK ||
            pq3_store_col_blob(s, 3, x->cert, PQ3_CERT_MAX_BYTES, &x->cert_len) != PQ3_OK ||
            (sqlite3_column_type(s, 4) != SQLITE_NULL &&
             pq3_store_col_blob(s, 4, x->bundle, PQ3_PREKEY_BUNDLE_BYTES, &x->bundle_len) !=
                 PQ3_OK)) {
            rc = PQ3_ERR_DECODE;
            pq3_dev_seterr(d->err, "the store's device rows are damaged");
            break;
        }
        (*n)++;
    }
    sqlite3_finalize(s);
    return rc < 0 ? rc : PQ3_OK;
}

/* Seals one payload for one device and queues it, inside the transaction. */
static pq3_err seal_to(pq3_device *d, const target *t, const uint8_t *payload, size_t plen,
                       uint64_t now, uint8_t *out, size_t cap)
{
    pq3_device_cert pc;
    pq3_prekey_bundle b;
    size_t len;
    pq3_err err;

    if ((err = pq3_dev_cert_verify(d, &pc, t->cert, t->cert_len, t->account_pub, now)) != PQ3_OK) {
        pq3_dev_seterr(d->err, "the certificate of a device of %.*s is not valid now (%s): look "
                               "it up again",
                       (int)t->handle_len, (const char *)t->handle, pq3_strerror(err));
        return err;
    }
    if ((err = peer_load(d, t->handle, t->handle_len, t->device_id)) != PQ3_OK)
        return err;
    if (d->peer->count == 0) {
        if (t->bundle_len == 0) {
            pq3_dev_seterr(d->err, "a device of %.*s has no prekey bundle: look it up again",
                           (int)t->handle_len, (const char *)t->handle);
            return PQ3_ERR_EXPIRED;
        }
        if ((err = pq3_prekey_verify(&b, t->bundle, t->bundle_len, &pc, now)) != PQ3_OK ||
            (err = pq3_peer_start(d->peer, &d->cert, &pc, &b, now, d->cfg.rng)) != PQ3_OK) {
            pq3_dev_seterr(d->err, "starting a session with a device of %.*s failed (%s): look "
                                   "it up again",
                           (int)t->handle_len, (const char *)t->handle, pq3_strerror(err));
            return err;
        }
    }
    if ((err = pq3_peer_seal(d->peer, &d->signer, &d->cfg.policy, now, d->cfg.rng,
                             PQ3_CONTENT_MESSAGE, payload, plen, NULL, 0, out, cap, &len,
                             NULL)) != PQ3_OK) {
        pq3_dev_seterr(d->err, "sealing for a device of %.*s failed: %s", (int)t->handle_len,
                       (const char *)t->handle, pq3_strerror(err));
        return err;
    }
    if ((err = peer_save(d, t->handle, t->handle_len, t->device_id)) != PQ3_OK)
        return err;
    return outbox_add(d, t->handle, t->handle_len, t->device_id, out, len, now);
}

pq3_err pq3_device_send(pq3_device *d, const char *handle, const uint8_t *text, size_t text_len,
                        uint64_t now, uint32_t *envelopes, uint8_t msg_id[PQ3_MSG_ID_BYTES])
{
    uint8_t pinned[PQ3_ECDSA_PUB_BYTES], id[PQ3_MSG_ID_BYTES];
    uint8_t *msg = NULL, *pl_to = NULL, *pl_self = NULL;
    size_t hl, len_to = 0, len_self = 0, cap;
    target *t = NULL;
    uint32_t n_to = 0, n = 0;
    pq3_payload pl;
    int pending, to_self;
    pq3_err err;

    if (envelopes != NULL)
        *envelopes = 0;
    if (d == NULL || handle == NULL || (text == NULL && text_len > 0))
        return PQ3_ERR_ARG;
    if ((hl = strlen(handle)) == 0 || hl > PQ3_HANDLE_MAX || text_len > PQ3_DEVICE_MAX_TEXT) {
        pq3_dev_seterr(d->err, "a text has at most %d bytes", PQ3_DEVICE_MAX_TEXT);
        return PQ3_ERR_ARG;
    }
    if ((err = pq3_dev_require_active(d)) != PQ3_OK)
        return err;
    to_self = hl == d->self.handle_len && memcmp(handle, d->self.handle, hl) == 0;
    if ((err = pq3_random(d->cfg.rng, id, sizeof id)) != PQ3_OK)
        return err;
    t = malloc(MAX_TARGETS * sizeof *t);
    pl_to = malloc(PQ3_PAYLOAD_MAX_BYTES);
    pl_self = malloc(PQ3_PAYLOAD_MAX_BYTES);
    cap = pq3_message_max_size(PQ3_PAYLOAD_MAX_BYTES, 0);
    msg = malloc(cap);
    if (t == NULL || pl_to == NULL || pl_self == NULL || msg == NULL) {
        err = PQ3_ERR_NOMEM;
        goto cleanup;
    }
    memset(&pl, 0, sizeof pl);
    memcpy(pl.msg_id, id, sizeof id);
    pl.sent = now;
    pl.text = text;
    pl.text_len = text_len;
    pl.kind = to_self ? PQ3_PAYLOAD_SENT : PQ3_PAYLOAD_MESSAGE;
    pl.peer_handle = (const uint8_t *)handle;
    pl.peer_handle_len = hl;
    if ((err = pq3_payload_encode(pl_to, &len_to, &pl)) != PQ3_OK)
        goto cleanup;
    pl.kind = PQ3_PAYLOAD_SENT;
    if ((err = pq3_payload_encode(pl_self, &len_self, &pl)) != PQ3_OK)
        goto cleanup;

    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_dev_contact_key(d, (const uint8_t *)handle, hl, pinned, &pending)) != PQ3_OK)
        goto fail;
    if (pending) {
        pq3_dev_seterr(d->err, "the account key of %s changed: nothing is sent until the change "
                               "is accepted",
                       handle);
        err = PQ3_ERR_STATE;
        goto fail;
    }
    if ((err = collect(d, (const uint8_t *)handle, hl, to_self, t, &n)) != PQ3_OK)
        goto fail;
    n_to = n;
    if (n_to == 0 && !to_self) {
        pq3_dev_seterr(d->err, "no device of %s is known: look it up again", handle);
        err = PQ3_ERR_UNKNOWN;
        goto fail;
    }
    if (!to_self && (err = collect(d, NULL, 0, 1, t, &n)) != PQ3_OK)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        int copy = i >= n_to || to_self;
        if ((err = seal_to(d, &t[i], copy ? pl_self : pl_to, copy ? len_self : len_to, now, msg,
                           cap)) != PQ3_OK)
            goto fail;
    }
    /* The one durable commit of this send: sessions and envelopes. */
    if ((err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto cleanup;
    if (envelopes != NULL)
        *envelopes = n;
    if (msg_id != NULL)
        memcpy(msg_id, id, sizeof id);
    goto cleanup;
fail:
    pq3_store_rollback(&d->st);
cleanup:
    if (pl_to != NULL) {
        pq3_wipe(pl_to, PQ3_PAYLOAD_MAX_BYTES);
        free(pl_to);
    }
    if (pl_self != NULL) {
        pq3_wipe(pl_self, PQ3_PAYLOAD_MAX_BYTES);
        free(pl_self);
    }
    free(msg);
    free(t);
    return err;
}

/* ---- receiving ------------------------------------------------------------- */

static pq3_err exec_sql(pq3_device *d, const char *sql)
{
    if (sqlite3_exec(d->st.db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return pq3_store_fail(&d->st, sql);
    return PQ3_OK;
}

static pq3_err seen_has(pq3_device *d, const uint8_t digest[48], int *seen)
{
    sqlite3_stmt *s;
    int rc;
    pq3_err err;
    if ((err = pq3_store_prepare(&d->st, &s, "SELECT 1 FROM seen WHERE digest = ?")) != PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, digest, 48, SQLITE_STATIC);
    rc = pq3_store_step(&d->st, s);
    sqlite3_finalize(s);
    if (rc < 0)
        return rc;
    *seen = rc;
    return PQ3_OK;
}

typedef struct prekey_slot {
    int64_t id;
    pq3_prekey_secret secret;
    pq3_start_cache cache;
} prekey_slot;

static pq3_err load_prekey(pq3_device *d, const uint8_t hash[PQ3_PREKEY_HASH_BYTES],
                           prekey_slot *pk, int *found)
{
    sqlite3_stmt *s;
    size_t len;
    int rc;
    pq3_err err;
    *found = 0;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT id, secret, cache FROM prekeys WHERE hash = ?")) != PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, hash, PQ3_PREKEY_HASH_BYTES, SQLITE_STATIC);
    rc = pq3_store_step(&d->st, s);
    err = rc < 0 ? rc : PQ3_OK;
    if (rc == 1) {
        pk->id = sqlite3_column_int64(s, 0);
        err = pq3_store_col_blob(s, 1, d->buf, PQ3_SKIPPED_MAX_BYTES, &len);
        if (err == PQ3_OK)
            err = pq3_prekey_secret_deserialize(&pk->secret, d->buf, len);
        pq3_wipe(d->buf, PQ3_PREKEY_SECRET_BYTES);
        if (err == PQ3_OK)
            err = pq3_store_col_blob(s, 2, d->buf, PQ3_SKIPPED_MAX_BYTES, &len);
        if (err == PQ3_OK)
            err = pq3_start_cache_deserialize(&pk->cache, d->buf, len);
        if (err != PQ3_OK)
            pq3_dev_seterr(d->err, "the stored prekey %lld is damaged (%s)", (long long)pk->id,
                           pq3_strerror(err));
        *found = err == PQ3_OK;
    }
    sqlite3_finalize(s);
    return err;
}

static pq3_err inbox_add(pq3_device *d, int kind, const uint8_t *from, size_t from_len,
                         const uint8_t dev[PQ3_DEVICE_ID_BYTES], const uint8_t *peer,
                         size_t peer_len, const uint8_t msg_id[PQ3_MSG_ID_BYTES], uint64_t sent,
                         uint64_t now, const uint8_t *text, size_t text_len, int64_t *row)
{
    sqlite3_stmt *s;
    pq3_err err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "INSERT INTO inbox (kind, from_handle, from_device, peer_handle, "
                                 "msg_id, sent, received, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) !=
        PQ3_OK)
        return err;
    sqlite3_bind_int(s, 1, kind);
    sqlite3_bind_blob(s, 2, from, (int)from_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, dev, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, peer, (int)peer_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 5, msg_id, PQ3_MSG_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)sent);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)now);
    sqlite3_bind_blob(s, 8, text_len ? (const void *)text : "", (int)text_len, SQLITE_STATIC);
    if ((err = pq3_store_run(&d->st, s)) == PQ3_OK)
        *row = sqlite3_last_insert_rowid(d->st.db);
    return err;
}

/* Opens one envelope inside the batch's transaction (and its savepoint). */
static pq3_err open_one(pq3_device *d, const pq3_incoming *in, uint64_t now, pq3_received *res,
                        const uint8_t digest[48], prekey_slot *pk, uint8_t *body)
{
    static const uint8_t zero_id[PQ3_MSG_ID_BYTES];
    uint8_t pinned[PQ3_ECDSA_PUB_BYTES], cert[PQ3_CERT_MAX_BYTES];
    const uint8_t *h = (const uint8_t *)in->from_handle;
    pq3_device_cert pc;
    pq3_message_info mi;
    pq3_opened info;
    pq3_payload pl;
    sqlite3_stmt *s;
    size_t hl, cert_len;
    int pending, rc, have_prekey = 0, is_self;
    uint32_t cache_count = 0;
    pq3_err err;

    hl = strlen(in->from_handle);
    if (hl == 0 || hl > PQ3_HANDLE_MAX)
        return PQ3_ERR_ARG;
    is_self = hl == d->self.handle_len && memcmp(h, d->self.handle, hl) == 0;
    if (is_self && memcmp(in->from_device, d->self.device_id, PQ3_DEVICE_ID_BYTES) == 0)
        return PQ3_ERR_UNKNOWN; /* we never send to ourselves */
    if ((err = pq3_dev_contact_key(d, h, hl, pinned, &pending)) != PQ3_OK)
        return err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT cert FROM devices WHERE handle = ? AND device_id = ?")) !=
        PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, in->from_device, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    rc = pq3_store_step(&d->st, s);
    err = rc < 0 ? rc : rc == 0 ? PQ3_ERR_UNKNOWN : pq3_store_col_blob(s, 0, cert, sizeof cert, &cert_len);
    sqlite3_finalize(s);
    if (err == PQ3_ERR_UNKNOWN)
        pq3_dev_seterr(d->err, "a device of %s we do not know sent a message: look %s up again",
                       in->from_handle, in->from_handle);
    if (err != PQ3_OK)
        return err;
    if ((err = pq3_dev_cert_verify(d, &pc, cert, cert_len, pinned, now)) != PQ3_OK)
        return err;
    if ((err = pq3_message_peek(&mi, in->msg, in->msg_len)) != PQ3_OK)
        return err;
    if (mi.flags & PQ3_MSG_START) {
        if ((err = load_prekey(d, mi.prekey_hash, pk, &have_prekey)) != PQ3_OK)
            return err;
        cache_count = pk->cache.count;
    }
    if ((err = peer_load(d, h, hl, in->from_device)) != PQ3_OK)
        return err;
    err = pq3_peer_open(d->peer, &d->cert, &pc, have_prekey ? &pk->secret : NULL,
                        have_prekey ? &pk->cache : NULL, now, in->msg, in->msg_len, body,
                        in->msg_len, &info, NULL);
    if (have_prekey)
        pq3_prekey_secret_wipe(&pk->secret);
    if (err != PQ3_OK)
        return err;
    if ((err = peer_save(d, h, hl, in->from_device)) != PQ3_OK)
        goto cleanup;
    if (have_prekey && pk->cache.count != cache_count) {
        size_t len;
        if ((err = pq3_start_cache_serialize(&pk->cache, d->buf, PQ3_SKIPPED_MAX_BYTES, &len)) !=
                PQ3_OK ||
            (err = pq3_store_prepare(&d->st, &s, "UPDATE prekeys SET cache = ? WHERE id = ?")) !=
                PQ3_OK)
            goto cleanup;
        sqlite3_bind_blob(s, 1, d->buf, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, pk->id);
        if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
            goto cleanup;
    }
    res->kem_completed = info.kem_completed;
    if (info.content_type == PQ3_CONTENT_RECEIPT) {
        res->receipt = 1;
        err = inbox_add(d, PQ3_INBOX_RECEIPT, h, hl, in->from_device, h, hl, zero_id, now, now,
                        body, info.body_len, &res->inbox_id);
    } else {
        /* Authenticated, but not what our devices write: dropped (the
         * savepoint undoes the session step too). */
        if ((err = pq3_payload_decode(&pl, body, info.body_len)) != PQ3_OK ||
            (pl.kind == PQ3_PAYLOAD_SENT && !is_self)) {
            pq3_dev_seterr(d->err, "a message from %s carries a payload we do not read",
                           in->from_handle);
            err = PQ3_ERR_DECODE;
            goto cleanup;
        }
        err = inbox_add(d, pl.kind == PQ3_PAYLOAD_SENT ? PQ3_INBOX_SENT : PQ3_INBOX_MESSAGE, h,
                        hl, in->from_device, pl.kind == PQ3_PAYLOAD_SENT ? pl.peer_handle : h,
                        pl.kind == PQ3_PAYLOAD_SENT ? pl.peer_handle_len : hl, pl.msg_id,
                        pl.sent, now, pl.text, pl.text_len, &res->inbox_id);
    }
    if (err != PQ3_OK)
        goto cleanup;
    if ((err = pq3_store_prepare(&d->st, &s, "INSERT INTO seen (digest, received) VALUES (?, ?)")) !=
        PQ3_OK)
        goto cleanup;
    sqlite3_bind_blob(s, 1, digest, 48, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
    err = pq3_store_run(&d->st, s);
cleanup:
    pq3_wipe(body, info.body_len);
    return err;
}

/* After the batch: a receipt to every device that is owed one (§16.1). */
static pq3_err receipts(pq3_device *d, const pq3_incoming *in, size_t n, const pq3_received *res,
                        uint64_t now)
{
    uint8_t msg[PQ3_MSG_FIXED_BYTES + PQ3_MSG_MAX_EXT + 256];
    size_t len;
    pq3_err err;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *h = (const uint8_t *)in[i].from_handle;
        size_t hl = strlen(in[i].from_handle);
        size_t j;
        if (res[i].err != PQ3_OK || res[i].duplicate)
            continue;
        for (j = 0; j < i; j++) /* once per device */
            if (res[j].err == PQ3_OK && !res[j].duplicate &&
                strcmp(in[j].from_handle, in[i].from_handle) == 0 &&
                memcmp(in[j].from_device, in[i].from_device, PQ3_DEVICE_ID_BYTES) == 0)
                break;
        if (j < i)
            continue;
        if ((err = peer_load(d, h, hl, in[i].from_device)) != PQ3_OK)
            return err;
        if (!pq3_peer_receipt_due(d->peer, &d->cfg.policy, now))
            continue;
        if ((err = pq3_peer_seal_receipt(d->peer, &d->signer, &d->cfg.policy, now, d->cfg.rng,
                                         msg, sizeof msg, &len, NULL)) != PQ3_OK ||
            (err = peer_save(d, h, hl, in[i].from_device)) != PQ3_OK ||
            (err = outbox_add(d, h, hl, in[i].from_device, msg, len, now)) != PQ3_OK)
            return err;
    }
    return PQ3_OK;
}

pq3_err pq3_device_receive(pq3_device *d, const pq3_incoming *in, size_t n, uint64_t now,
                           pq3_received *res)
{
    prekey_slot *pk = NULL;
    uint8_t *body = NULL;
    size_t max_len = 0;
    pq3_err err;

    if (d == NULL || (n > 0 && (in == NULL || res == NULL)))
        return PQ3_ERR_ARG;
    for (size_t i = 0; i < n; i++) {
        if (in[i].from_handle == NULL || (in[i].msg == NULL && in[i].msg_len > 0))
            return PQ3_ERR_ARG;
        if (in[i].msg_len > max_len)
            max_len = in[i].msg_len;
    }
    if ((err = pq3_dev_require_active(d)) != PQ3_OK)
        return err;
    pk = malloc(sizeof *pk);
    body = malloc(max_len + 1);
    if (pk == NULL || body == NULL) {
        err = PQ3_ERR_NOMEM;
        goto cleanup;
    }
    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        uint8_t digest[48];
        int seen = 0;
        memset(&res[i], 0, sizeof res[i]);
        /* The same bytes again (a redelivery after a crash): recognised by
         * digest, acknowledged, not shown twice. */
        if ((err = pq3_sha384(digest, in[i].msg, in[i].msg_len)) != PQ3_OK ||
            (err = seen_has(d, digest, &seen)) != PQ3_OK)
            goto fail;
        if (seen) {
            res[i].duplicate = 1;
            continue;
        }
        if ((err = exec_sql(d, "SAVEPOINT envelope")) != PQ3_OK)
            goto fail;
        res[i].err = open_one(d, &in[i], now, &res[i], digest, pk, body);
        if (res[i].err == PQ3_ERR_IO) {
            err = PQ3_ERR_IO; /* the store failed, not the envelope */
            goto fail;
        }
        if (res[i].err != PQ3_OK) {
            res[i].inbox_id = 0;
            if ((err = exec_sql(d, "ROLLBACK TO envelope")) != PQ3_OK)
                goto fail;
        }
        if ((err = exec_sql(d, "RELEASE envelope")) != PQ3_OK)
            goto fail;
    }
    if ((err = receipts(d, in, n, res, now)) != PQ3_OK)
        goto fail;
    /* The one durable commit of this batch. */
    err = pq3_store_commit(&d->st);
    goto cleanup;
fail:
    pq3_store_rollback(&d->st);
cleanup:
    if (pk != NULL) {
        pq3_prekey_secret_wipe(&pk->secret);
        free(pk);
    }
    if (body != NULL) {
        pq3_wipe(body, max_len + 1);
        free(body);
    }
    return err;
}

/* ---- outbox and inbox ------------------------------------------------------ */

pq3_err pq3_device_outbox(pq3_device *d, int64_t after, pq3_envelope *out, uint32_t max,
                          uint32_t *n)
{
    sqlite3_stmt *s;
    int rc;
    pq3_err err;
    if (d == NULL || n == NULL || (out == NULL && max > 0))
        return PQ3_ERR_ARG;
    *n = 0;
    pq3_dev_arena_reset(d);
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT id, to_handle, to_device, msg FROM outbox WHERE id > ? "
                                 "ORDER BY id LIMIT ?")) != PQ3_OK)
        return err;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, max);
    while ((rc = pq3_store_step(&d->st, s)) == 1) {
        pq3_envelope *e = &out[*n];
        size_t hl;
        const void *m = sqlite3_column_blob(s, 3);
        int ml = sqlite3_column_bytes(s, 3);
        e->id = sqlite3_column_int64(s, 0);
        if (pq3_store_col_blob(s, 1, e->to_handle, PQ3_HANDLE_MAX, &hl) != PQ3_OK ||
            pq3_store_col_fixed(s, 2, e->to_device, PQ3_DEVICE_ID_BYTES) != PQ3_OK || ml <= 0) {
            rc = PQ3_ERR_DECODE;
            pq3_dev_seterr(d->err, "the store's outbox row %lld is damaged", (long long)e->id);
            break;
        }
        e->to_handle_len = (uint8_t)hl;
        e->msg = pq3_dev_arena_put(d, m, (size_t)ml);
        e->msg_len = (size_t)ml;
        if (e->msg == NULL)
            break; /* the arena is full: the rest comes with the next call */
        (*n)++;
    }
    sqlite3_finalize(s);
    return rc < 0 ? rc : PQ3_OK;
}

static pq3_err delete_row(pq3_device *d, const char *sql, int64_t id)
{
    sqlite3_stmt *s;
    pq3_err err;
    if (d == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_store_prepare(&d->st, &s, sql)) != PQ3_OK)
        return err;
    sqlite3_bind_int64(s, 1, id);
    return pq3_store_run(&d->st, s);
}

pq3_err pq3_device_outbox_done(pq3_device *d, int64_t id)
{
    return delete_row(d, "DELETE FROM outbox WHERE id = ?", id);
}

pq3_err pq3_device_inbox_done(pq3_device *d, int64_t id)
{
    return delete_row(d, "DELETE FROM inbox WHERE id = ?", id);
}

pq3_err pq3_device_inbox(pq3_device *d, int64_t after, pq3_inbox_item *out, uint32_t max,
                         uint32_t *n)
{
    sqlite3_stmt *s;
    int rc;
    pq3_err err;
    if (d == NULL || n == NULL || (out == NULL && max > 0))
        return PQ3_ERR_ARG;
    *n = 0;
    pq3_dev_arena_reset(d);
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT id, kind, from_handle, from_device, peer_handle, msg_id, "
                                 "sent, received, text FROM inbox WHERE id > ? ORDER BY id "
                                 "LIMIT ?")) != PQ3_OK)
        return err;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, max);
    while ((rc = pq3_store_step(&d->st, s)) == 1) {
        pq3_inbox_item *it = &out[*n];
        it->id = sqlite3_column_int64(s, 0);
        it->kind = (uint8_t)sqlite3_column_int(s, 1);
        it->from_handle = (const char *)pq3_dev_arena_put(d, sqlite3_column_blob(s, 2),
                                                          (size_t)sqlite3_column_bytes(s, 2));
        it->peer_handle = (const char *)pq3_dev_arena_put(d, sqlite3_column_blob(s, 4),
                                                          (size_t)sqlite3_column_bytes(s, 4));
        it->text_len = (size_t)sqlite3_column_bytes(s, 8);
        it->text = pq3_dev_arena_put(d, sqlite3_column_blob(s, 8), it->text_len);
        it->sent = (uint64_t)sqlite3_column_int64(s, 6);
        it->received = (uint64_t)sqlite3_column_int64(s, 7);
        if (it->from_handle == NULL || it->peer_handle == NULL || it->text == NULL)
            break;
        if (pq3_store_col_fixed(s, 3, it->from_device, PQ3_DEVICE_ID_BYTES) != PQ3_OK ||
            pq3_store_col_fixed(s, 5, it->msg_id, PQ3_MSG_ID_BYTES) != PQ3_OK) {
            rc = PQ3_ERR_DECODE;
            pq3_dev_seterr(d->err, "the store's inbox row %lld is damaged", (long long)it->id);
            break;
        }
        (*n)++;
    }
    sqlite3_finalize(s);
    return rc < 0 ? rc : PQ3_OK;
}
