/*
 * The device handle, its identity and its account (docs/DEVICE.md §3;
 * include/pq3/device.h): creating an account, linking a device without
 * moving the account key, removing one, and what the device publishes.
 */
#include "device/device_int.h"

#include <stdlib.h>
#include <string.h>

#include "device/payload.h"

static _Thread_local char open_err[PQ3_ERRBUF_BYTES];

pq3_device_config pq3_device_config_default(void)
{
    pq3_device_config c;
    memset(&c, 0, sizeof c);
    c.policy = pq3_rekey_policy_default();
    c.prekey_interval = 7 * 86400;
    c.prekey_overlap = 86400;
    c.cert_lifetime = 2 * 365 * 86400ull;
    c.seen_lifetime = 30 * 86400;
    c.busy_timeout_ms = 5000;
    return c;
}

const char *pq3_device_open_error(void) { return open_err; }

const char *pq3_device_error(const pq3_device *d) { return d == NULL ? "" : d->err; }

void pq3_dev_arena_reset(pq3_device *d) { d->arena_len = 0; }

const uint8_t *pq3_dev_arena_put(pq3_device *d, const void *p, size_t n)
{
    uint8_t *q;
    /* Pointers handed out earlier in this call must stay valid, so the
     * arena never moves once a call has started using it: it is sized for
     * the largest answer up front (pq3_device_open) and refuses beyond. */
    if (d->arena_cap - d->arena_len < n + 1)
        return NULL;
    q = d->arena + d->arena_len;
    if (n > 0)
        memcpy(q, p, n);
    q[n] = 0; /* handles are returned as C strings */
    d->arena_len += n + 1;
    if (d->arena_len > d->arena_high)
        d->arena_high = d->arena_len;
    return q;
}

/* The arena holds one call's answer: up to 64 envelopes or inbox items of
 * the largest size. */
#define ARENA_BYTES (64u * (PQ3_DEVICE_MAX_TEXT + 1024u))

void pq3_device_free(pq3_device *d)
{
    if (d == NULL)
        return;
    pq3_store_close(&d->st);
    if (d->peer != NULL) {
        pq3_peer_wipe(d->peer);
        free(d->peer);
    }
    if (d->buf != NULL) {
        pq3_wipe(d->buf, PQ3_SKIPPED_MAX_BYTES);
        free(d->buf);
    }
    if (d->states != NULL) {
        pq3_wipe(d->states, PQ3_PEER_MAX_SESSIONS * sizeof *d->states);
        free(d->states);
    }
    if (d->arena != NULL) {
        pq3_wipe(d->arena, d->arena_high);
        free(d->arena);
    }
    pq3_wipe(d, sizeof *d);
    free(d);
}

pq3_err pq3_dev_load_identity(pq3_device *d)
{
    sqlite3_stmt *s;
    size_t hl = 0;
    int rc;
    pq3_err err;

    d->have_identity = 0;
    memset(&d->self, 0, sizeof d->self);
    d->cert_len = 0;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT handle, device_id, auth_pub, account_pub, cert, active "
                                 "FROM identity WHERE id = 1")) != PQ3_OK)
        return err;
    rc = pq3_store_step(&d->st, s);
    if (rc <= 0) {
        sqlite3_finalize(s);
        return rc;
    }
    err = PQ3_ERR_DECODE;
    if (pq3_store_col_blob(s, 0, d->self.handle, PQ3_HANDLE_MAX, &hl) != PQ3_OK || hl == 0 ||
        pq3_store_col_fixed(s, 1, d->self.device_id, PQ3_DEVICE_ID_BYTES) != PQ3_OK)
        goto bad;
    d->self.handle_len = (uint8_t)hl;
    {
        uint8_t auth_pub[PQ3_ECDSA_PUB_BYTES];
        if (pq3_store_col_fixed(s, 2, auth_pub, sizeof auth_pub) != PQ3_OK)
            goto bad;
        if (memcmp(auth_pub, d->signer.pub, sizeof auth_pub) != 0) {
            sqlite3_finalize(s);
            pq3_dev_seterr(d->err, "the store belongs to another device key");
            return PQ3_ERR_KEY;
        }
    }
    d->self.active = sqlite3_column_int(s, 5) != 0;
    if (d->self.active) {
        if (pq3_store_col_fixed(s, 3, d->self.account_pub, PQ3_ECDSA_PUB_BYTES) != PQ3_OK ||
            pq3_store_col_blob(s, 4, d->cert_blob, sizeof d->cert_blob, &d->cert_len) != PQ3_OK)
            goto bad;
        /* Our own certificate, checked against our account key once per
         * load: a stored row that was altered is caught here. Its expiry
         * is not checked (a device renews it; peers check it). */
        if (pq3_cert_decode(&d->cert, d->cert_blob, d->cert_len) != PQ3_OK ||
            pq3_cert_verify(&d->cert, d->cert_blob, d->cert_len, d->self.account_pub,
                            d->cert.created) != PQ3_OK ||
            memcmp(d->cert.auth_pub, d->signer.pub, PQ3_ECDSA_PUB_BYTES) != 0 ||
            memcmp(d->cert.device_id, d->self.device_id, PQ3_DEVICE_ID_BYTES) != 0)
            goto bad;
    }
    sqlite3_finalize(s);
    /* The version of our account's list, from our own contact row. */
    if (d->self.active) {
        if ((err = pq3_store_prepare(&d->st, &s,
                                     "SELECT list_version FROM contacts WHERE is_self = 1")) !=
            PQ3_OK)
            return err;
        if ((rc = pq3_store_step(&d->st, s)) == 1)
            d->self.list_version = (uint64_t)sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        if (rc < 0)
            return rc;
    }
    d->have_identity = 1;
    return PQ3_OK;
bad:
    sqlite3_finalize(s);
    pq3_dev_seterr(d->err, "the store's identity row is damaged");
    return err;
}

pq3_err pq3_device_open(pq3_device **out, const char *path, const pq3_signer *auth,
                        const pq3_device_config *cfg)
{
    pq3_device *d;
    pq3_err err;

    open_err[0] = 0;
    if (out == NULL || path == NULL || auth == NULL) {
        pq3_dev_seterr(open_err, "pq3_device_open: missing argument");
        return PQ3_ERR_ARG;
    }
    *out = NULL;
    d = calloc(1, sizeof *d);
    if (d == NULL) {
        pq3_dev_seterr(open_err, "out of memory");
        return PQ3_ERR_NOMEM;
    }
    d->cfg = cfg != NULL ? *cfg : pq3_device_config_default();
    d->peer = malloc(sizeof *d->peer);
    d->buf = malloc(PQ3_SKIPPED_MAX_BYTES);
    d->states = malloc(PQ3_PEER_MAX_SESSIONS * sizeof *d->states);
    d->arena_cap = ARENA_BYTES;
    d->arena = malloc(d->arena_cap);
    if (d->peer == NULL || d->buf == NULL || d->states == NULL || d->arena == NULL) {
        pq3_dev_seterr(open_err, "out of memory");
        err = PQ3_ERR_NOMEM;
        goto fail;
    }
    pq3_peer_init_default(d->peer);
    if (auth->sign == NULL) {
        pq3_dev_seterr(open_err, "pq3_device_open: the signer has no sign function");
        err = PQ3_ERR_ARG;
        goto fail;
    }
    d->signer = *auth;
    if ((err = pq3_store_open(&d->st, path, d->cfg.busy_timeout_ms, d->cfg.max_pages, d->err)) != PQ3_OK) {
        memcpy(open_err, d->err, sizeof open_err);
        goto fail;
    }
    if ((err = pq3_dev_load_identity(d)) != PQ3_OK) {
        memcpy(open_err, d->err, sizeof open_err);
        goto fail;
    }
    *out = d;
    return PQ3_OK;
fail:
    pq3_device_free(d);
    return err;
}

pq3_err pq3_device_whoami(pq3_device *d, pq3_device_self *self)
{
    if (d == NULL || self == NULL)
        return PQ3_ERR_ARG;
    if (!d->have_identity) {
        pq3_dev_seterr(d->err, "this device has no identity yet");
        return PQ3_ERR_STATE;
    }
    *self = d->self;
    return PQ3_OK;
}

pq3_err pq3_dev_cert_verify(pq3_device *d, pq3_device_cert *cert, const uint8_t *blob,
                            size_t len, const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES],
                            uint64_t now)
{
    struct cert_cache *c;
    pq3_err err;
    for (uint32_t i = 0; i < d->n_certs; i++) {
        c = &d->certs[i];
        /* Public bytes: plain comparisons. */
        if (c->len != len || memcmp(c->blob, blob, len) != 0 ||
            memcmp(c->account_pub, account_pub, PQ3_ECDSA_PUB_BYTES) != 0)
            continue;
        /* PROTOCOL.md §4 step 4, as pq3_cert_verify checks it. */
        if (now >= c->cert.expires ||
            (c->cert.created > now && c->cert.created - now > PQ3_CLOCK_SKEW))
            return PQ3_ERR_EXPIRED;
        *cert = c->cert;
        return PQ3_OK;
    }
    if (len > PQ3_CERT_MAX_BYTES)
        return PQ3_ERR_DECODE;
    if ((err = pq3_cert_verify(cert, blob, len, account_pub, now)) != PQ3_OK)
        return err;
    c = &d->certs[d->next_cert];
    d->next_cert = (d->next_cert + 1) % 64;
    if (d->n_certs < 64)
        d->n_certs++;
    memcpy(c->blob, blob, len);
    c->len = len;
    memcpy(c->account_pub, account_pub, PQ3_ECDSA_PUB_BYTES);
    c->cert = *cert;
    return PQ3_OK;
}

pq3_err pq3_dev_require_active(pq3_device *d)
{
    if (!d->have_identity || !d->self.active) {
        pq3_dev_seterr(d->err, d->have_identity ? "this device's link is not finished"
                                                : "this device has no account yet");
        return PQ3_ERR_STATE;
    }
    return PQ3_OK;
}

static pq3_err check_handle(pq3_device *d, const char *handle, size_t *len)
{
    size_t n = handle == NULL ? 0 : strlen(handle);
    if (n == 0 || n > PQ3_HANDLE_MAX) {
        pq3_dev_seterr(d->err, "a handle has 1 to %d bytes", PQ3_HANDLE_MAX);
        return PQ3_ERR_ARG;
    }
    *len = n;
    return PQ3_OK;
}

/* Writes our own contact row (our account's device list) inside a
 * transaction. */
static pq3_err put_self_contact(pq3_device *d, const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES],
                                const uint8_t *list, size_t list_len, uint64_t version)
{
    sqlite3_stmt *s;
    pq3_err err;
    if ((err = pq3_store_prepare(
             &d->st, &s,
             "INSERT INTO contacts (handle, is_self, account_pub, verified, list, list_version) "
             "VALUES (?1, 1, ?2, 1, ?3, ?4) ON CONFLICT (handle) DO UPDATE SET "
             "account_pub = ?2, list = ?3, list_version = ?4")) != PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, d->self.handle, d->self.handle_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, account_pub, PQ3_ECDSA_PUB_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, list, (int)list_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)version);
    return pq3_store_run(&d->st, s);
}

/* Our account's current device list, verified under our account key. */
static pq3_err load_self_list(pq3_device *d, pq3_device_list *list)
{
    uint8_t blob[PQ3_DEVICE_LIST_MAX_BYTES];
    sqlite3_stmt *s;
    size_t len;
    int rc;
    pq3_err err;
    if ((err = pq3_store_prepare(&d->st, &s, "SELECT list FROM contacts WHERE is_self = 1")) !=
        PQ3_OK)
        return err;
    rc = pq3_store_step(&d->st, s);
    err = rc < 0 ? rc : rc == 0 ? PQ3_ERR_DECODE : pq3_store_col_blob(s, 0, blob, sizeof blob, &len);
    sqlite3_finalize(s);
    if (err == PQ3_OK)
        err = pq3_device_list_verify(list, blob, len, d->self.account_pub);
    if (err != PQ3_OK && err != PQ3_ERR_IO)
        pq3_dev_seterr(d->err, "the store's copy of our device list is damaged");
    return err;
}

static pq3_err issue_cert(pq3_device *d, const uint8_t *handle, size_t hl,
                          const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                          const uint8_t auth_pub[PQ3_ECDSA_PUB_BYTES], const uint8_t *versions,
                          uint8_t n_versions, const pq3_signer *account, uint64_t now,
                          uint8_t *out, size_t *out_len)
{
    pq3_device_cert c;
    pq3_err err;
    memset(&c, 0, sizeof c);
    memcpy(c.handle, handle, hl);
    c.handle_len = (uint8_t)hl;
    memcpy(c.device_id, device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(c.auth_pub, auth_pub, PQ3_ECDSA_PUB_BYTES);
    memcpy(c.versions, versions, n_versions);
    c.n_versions = n_versions;
    c.created = now;
    c.expires = now + d->cfg.cert_lifetime;
    err = pq3_cert_issue(out, PQ3_CERT_MAX_BYTES, out_len, &c, account);
    if (err != PQ3_OK)
        pq3_dev_seterr(d->err, "signing the device certificate failed: %s", pq3_strerror(err));
    return err;
}

pq3_err pq3_device_create_account(pq3_device *d, const char *handle, const pq3_signer *account,
                                  uint64_t now)
{
    static const uint8_t versions[1] = {PQ3_PROTOCOL_VERSION};
    uint8_t cert[PQ3_CERT_MAX_BYTES], list_blob[PQ3_DEVICE_LIST_MAX_BYTES];
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    pq3_device_list list;
    sqlite3_stmt *s;
    size_t hl, cert_len, list_len;
    pq3_err err;

    if (d == NULL || account == NULL)
        return PQ3_ERR_ARG;
    if ((err = check_handle(d, handle, &hl)) != PQ3_OK)
        return err;
    if (d->have_identity) {
        pq3_dev_seterr(d->err, "this store already holds an identity");
        return PQ3_ERR_STATE;
    }
    if ((err = pq3_random(d->cfg.rng, device_id, sizeof device_id)) != PQ3_OK)
        return err;
    if ((err = issue_cert(d, (const uint8_t *)handle, hl, device_id, d->signer.pub, versions, 1,
                          account, now, cert, &cert_len)) != PQ3_OK)
        return err;
    memset(&list, 0, sizeof list);
    memcpy(list.handle, handle, hl);
    list.handle_len = (uint8_t)hl;
    list.version = 1;
    list.created = now;
    list.count = 1;
    memcpy(list.devices[0].device_id, device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(list.devices[0].auth_pub, d->signer.pub, PQ3_ECDSA_PUB_BYTES);
    if ((err = pq3_device_list_sign(list_blob, sizeof list_blob, &list_len, &list, account)) !=
        PQ3_OK) {
        pq3_dev_seterr(d->err, "signing the device list failed: %s", pq3_strerror(err));
        return err;
    }

    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "INSERT INTO identity (id, handle, device_id, auth_pub, "
                                 "account_pub, cert, active, created) "
                                 "VALUES (1, ?, ?, ?, ?, ?, 1, ?)")) != PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, handle, (int)hl, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, device_id, sizeof device_id, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, d->signer.pub, PQ3_ECDSA_PUB_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, account->pub, PQ3_ECDSA_PUB_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 5, cert, (int)cert_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)now);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
        goto fail;
    memcpy(d->self.handle, handle, hl);
    d->self.handle_len = (uint8_t)hl;
    if ((err = put_self_contact(d, account->pub, list_blob, list_len, 1)) != PQ3_OK ||
        (err = pq3_dev_load_identity(d)) != PQ3_OK ||
        (err = pq3_dev_make_prekey(d, now)) != PQ3_OK ||
        (err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    return PQ3_OK;
fail:
    pq3_store_rollback(&d->st);
    (void)pq3_dev_load_identity(d);
    return err;
}

pq3_err pq3_device_link_request(pq3_device *d, const char *handle, uint64_t now, uint8_t *out,
                                size_t cap, size_t *out_len)
{
    pq3_link_request q;
    sqlite3_stmt *s;
    size_t hl, len;
    uint8_t blob[PQ3_LINK_REQUEST_MAX_BYTES];
    pq3_err err;

    if (d == NULL || out_len == NULL)
        return PQ3_ERR_ARG;
    if ((err = check_handle(d, handle, &hl)) != PQ3_OK)
        return err;
    if (d->have_identity && d->self.active) {
        pq3_dev_seterr(d->err, "this device already belongs to an account");
        return PQ3_ERR_STATE;
    }
    memset(&q, 0, sizeof q);
    memcpy(q.handle, handle, hl);
    q.handle_len = (uint8_t)hl;
    q.versions[0] = PQ3_PROTOCOL_VERSION;
    q.n_versions = 1;
    q.created = now;
    /* A pending link keeps its device id: asking again (the first request
     * got lost) names the same device. */
    if (d->have_identity)
        memcpy(q.device_id, d->self.device_id, PQ3_DEVICE_ID_BYTES);
    else if ((err = pq3_random(d->cfg.rng, q.device_id, sizeof q.device_id)) != PQ3_OK)
        return err;
    if ((err = pq3_link_request_sign(blob, sizeof blob, &len, &q, &d->signer)) != PQ3_OK) {
        pq3_dev_seterr(d->err, "signing the link request failed: %s", pq3_strerror(err));
        return err;
    }
    if (out == NULL || cap < len) {
        *out_len = len;
        return PQ3_ERR_BUFFER;
    }
    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "INSERT OR REPLACE INTO identity (id, handle, device_id, "
                                 "auth_pub, active, created) VALUES (1, ?, ?, ?, 0, ?)")) != PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, handle, (int)hl, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, q.device_id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, d->signer.pub, PQ3_ECDSA_PUB_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK || (err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    (void)pq3_dev_load_identity(d);
    memcpy(out, blob, len);
    *out_len = len;
    return PQ3_OK;
fail:
    pq3_store_rollback(&d->st);
    return err;
}

static int same_account(pq3_device *d, const pq3_signer *account)
{
    return memcmp(account->pub, d->self.account_pub, PQ3_ECDSA_PUB_BYTES) == 0; /* public */
}

pq3_err pq3_device_link_approve(pq3_device *d, const pq3_signer *account, const uint8_t *req,
                                size_t req_len, uint64_t now, uint8_t *out, size_t cap,
                                size_t *out_len)
{
    uint8_t cert[PQ3_CERT_MAX_BYTES], list_blob[PQ3_DEVICE_LIST_MAX_BYTES];
    pq3_link_request q;
    pq3_device_list list;
    pq3_link_response resp;
    sqlite3_stmt *s;
    size_t cert_len, list_len, need;
    uint32_t idx;
    pq3_err err;

    if (d == NULL || account == NULL || out_len == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_dev_require_active(d)) != PQ3_OK)
        return err;
    if (!same_account(d, account)) {
        pq3_dev_seterr(d->err, "that account key is not this account's");
        return PQ3_ERR_KEY;
    }
    if ((err = pq3_link_request_verify(&q, req, req_len, now)) != PQ3_OK) {
        pq3_dev_seterr(d->err, "the link request is not valid: %s", pq3_strerror(err));
        return err;
    }
    if (q.handle_len != d->self.handle_len ||
        memcmp(q.handle, d->self.handle, q.handle_len) != 0) {
        pq3_dev_seterr(d->err, "the link request is for another handle");
        return PQ3_ERR_VERIFY;
    }
    if ((err = load_self_list(d, &list)) != PQ3_OK)
        return err;
    if (pq3_device_list_find(&list, q.device_id, &idx) == PQ3_OK) {
        pq3_dev_seterr(d->err, "that device is already in the account");
        return PQ3_ERR_STATE;
    }
    if (list.count >= PQ3_ACCOUNT_MAX_DEVICES) {
        pq3_dev_seterr(d->err, "the account has the most devices it can have (%d)",
                       PQ3_ACCOUNT_MAX_DEVICES);
        return PQ3_ERR_LIMIT;
    }
    if ((err = issue_cert(d, q.handle, q.handle_len, q.device_id, q.auth_pub, q.versions,
                          q.n_versions, account, now, cert, &cert_len)) != PQ3_OK)
        return err;
    memcpy(list.devices[list.count].device_id, q.device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(list.devices[list.count].auth_pub, q.auth_pub, PQ3_ECDSA_PUB_BYTES);
    list.count++;
    list.version++;
    list.created = now;
    if ((err = pq3_device_list_sign(list_blob, sizeof list_blob, &list_len, &list, account)) !=
        PQ3_OK) {
        pq3_dev_seterr(d->err, "signing the device list failed: %s", pq3_strerror(err));
        return err;
    }
    resp.account_pub = d->self.account_pub;
    resp.cert = cert;
    resp.cert_len = cert_len;
    resp.list = list_blob;
    resp.list_len = list_len;
    if ((err = pq3_link_response_encode(NULL, 0, &need, &resp)) != PQ3_ERR_BUFFER)
        return err == PQ3_OK ? PQ3_ERR_STATE : err;
    if (out == NULL || cap < need) {
        *out_len = need;
        return PQ3_ERR_BUFFER;
    }
    /* The new list and the new device's certificate are ours before the
     * response leaves: the next send already reaches the new device (once
     * its bundle is learnt from the directory). */
    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    if ((err = put_self_contact(d, d->self.account_pub, list_blob, list_len, list.version)) !=
            PQ3_OK ||
        (err = pq3_store_prepare(&d->st, &s,
                                 "INSERT OR REPLACE INTO devices (handle, device_id, cert, "
                                 "bundle) VALUES (?, ?, ?, NULL)")) != PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, d->self.handle, d->self.handle_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, q.device_id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, cert, (int)cert_len, SQLITE_STATIC);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK ||
        (err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    d->self.list_version = list.version;
    return pq3_link_response_encode(out, cap, out_len, &resp);
fail:
    pq3_store_rollback(&d->st);
    return err;
}

pq3_err pq3_device_link_finish(pq3_device *d, const uint8_t *resp_blob, size_t resp_len,
                               uint64_t now)
{
    pq3_link_response r;
    pq3_device_cert c;
    pq3_device_list list;
    sqlite3_stmt *s;
    uint32_t idx;
    pq3_err err;

    if (d == NULL)
        return PQ3_ERR_ARG;
    if (!d->have_identity || d->self.active) {
        pq3_dev_seterr(d->err, "no link is pending on this device");
        return PQ3_ERR_STATE;
    }
    if ((err = pq3_link_response_decode(&r, resp_blob, resp_len)) != PQ3_OK) {
        pq3_dev_seterr(d->err, "the link response is malformed");
        return err;
    }
    if ((err = pq3_cert_verify(&c, r.cert, r.cert_len, r.account_pub, now)) != PQ3_OK ||
        (err = pq3_device_list_verify(&list, r.list, r.list_len, r.account_pub)) != PQ3_OK) {
        pq3_dev_seterr(d->err, "the link response does not verify: %s", pq3_strerror(err));
        return err;
    }
    if (c.handle_len != d->self.handle_len ||
        memcmp(c.handle, d->self.handle, c.handle_len) != 0 ||
        memcmp(c.device_id, d->self.device_id, PQ3_DEVICE_ID_BYTES) != 0 ||
        memcmp(c.auth_pub, d->signer.pub, PQ3_ECDSA_PUB_BYTES) != 0 ||
        list.handle_len != d->self.handle_len ||
        memcmp(list.handle, d->self.handle, list.handle_len) != 0 ||
        pq3_device_list_find(&list, d->self.device_id, &idx) != PQ3_OK ||
        memcmp(list.devices[idx].auth_pub, d->signer.pub, PQ3_ECDSA_PUB_BYTES) != 0) {
        pq3_dev_seterr(d->err, "the link response is for another device");
        return PQ3_ERR_VERIFY;
    }
    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "UPDATE identity SET account_pub = ?, cert = ?, active = 1 "
                                 "WHERE id = 1")) != PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, r.account_pub, PQ3_ECDSA_PUB_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, r.cert, (int)r.cert_len, SQLITE_STATIC);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK ||
        (err = put_self_contact(d, r.account_pub, r.list, r.list_len, list.version)) != PQ3_OK ||
        (err = pq3_dev_load_identity(d)) != PQ3_OK ||
        (err = pq3_dev_make_prekey(d, now)) != PQ3_OK ||
        (err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    return PQ3_OK;
fail:
    pq3_store_rollback(&d->st);
    (void)pq3_dev_load_identity(d);
    return err;
}

pq3_err pq3_device_remove(pq3_device *d, const pq3_signer *account,
                          const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now)
{
    uint8_t list_blob[PQ3_DEVICE_LIST_MAX_BYTES];
    pq3_device_list list;
    sqlite3_stmt *s;
    size_t list_len;
    uint32_t idx;
    pq3_err err;

    if (d == NULL || account == NULL || device_id == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_dev_require_active(d)) != PQ3_OK)
        return err;
    if (!same_account(d, account)) {
        pq3_dev_seterr(d->err, "that account key is not this account's");
        return PQ3_ERR_KEY;
    }
    if ((err = load_self_list(d, &list)) != PQ3_OK)
        return err;
    if (pq3_device_list_find(&list, device_id, &idx) != PQ3_OK) {
        pq3_dev_seterr(d->err, "no such device in the account");
        return PQ3_ERR_UNKNOWN;
    }
    if (memcmp(device_id, d->self.device_id, PQ3_DEVICE_ID_BYTES) == 0) {
        pq3_dev_seterr(d->err, "a device does not remove itself; remove it from another device");
        return PQ3_ERR_STATE;
    }
    memmove(&list.devices[idx], &list.devices[idx + 1],
            (list.count - idx - 1) * sizeof list.devices[0]);
    list.count--;
    list.version++;
    list.created = now;
    if ((err = pq3_device_list_sign(list_blob, sizeof list_blob, &list_len, &list, account)) !=
        PQ3_OK) {
        pq3_dev_seterr(d->err, "signing the device list failed: %s", pq3_strerror(err));
        return err;
    }
    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    if ((err = put_self_contact(d, d->self.account_pub, list_blob, list_len, list.version)) !=
            PQ3_OK ||
        (err = pq3_store_prepare(&d->st, &s,
                                 "DELETE FROM devices WHERE handle = ? AND device_id = ?")) != PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, d->self.handle, d->self.handle_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, device_id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK ||
        (err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    d->self.list_version = list.version;
    return PQ3_OK;
fail:
    pq3_store_rollback(&d->st);
    return err;
}

pq3_err pq3_device_publication(pq3_device *d, uint64_t now, pq3_directory_entry *out)
{
    uint8_t blob[PQ3_DEVICE_LIST_MAX_BYTES > PQ3_PREKEY_BUNDLE_BYTES ? PQ3_DEVICE_LIST_MAX_BYTES
                                                                      : PQ3_PREKEY_BUNDLE_BYTES];
    sqlite3_stmt *s;
    size_t len;
    int rc;
    pq3_err err;

    (void)now;
    if (d == NULL || out == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_dev_require_active(d)) != PQ3_OK)
        return err;
    memset(out, 0, sizeof *out);
    pq3_dev_arena_reset(d);
    memcpy(out->account_pub, d->self.account_pub, PQ3_ECDSA_PUB_BYTES);
    if ((err = pq3_store_prepare(&d->st, &s, "SELECT list FROM contacts WHERE is_self = 1")) !=
        PQ3_OK)
        return err;
    rc = pq3_store_step(&d->st, s);
    err = rc < 0 ? rc : rc == 0 ? PQ3_ERR_DECODE : pq3_store_col_blob(s, 0, blob, sizeof blob, &len);
    sqlite3_finalize(s);
    if (err != PQ3_OK)
        return err;
    out->device_list = pq3_dev_arena_put(d, blob, len);
    out->device_list_len = len;
    out->n_devices = 1;
    out->certs[0] = pq3_dev_arena_put(d, d->cert_blob, d->cert_len);
    out->cert_lens[0] = d->cert_len;
    /* The newest bundle. */
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT bundle FROM prekeys ORDER BY created DESC, id DESC "
                                 "LIMIT 1")) != PQ3_OK)
        return err;
    rc = pq3_store_step(&d->st, s);
    err = rc < 0 ? rc : rc == 0 ? PQ3_OK : pq3_store_col_blob(s, 0, blob, sizeof blob, &len);
    sqlite3_finalize(s);
    if (err != PQ3_OK)
        return err;
    if (rc == 1) {
        out->bundles[0] = pq3_dev_arena_put(d, blob, len);
        out->bundle_lens[0] = len;
    }
    return PQ3_OK;
}
