/*
 * Contacts (docs/DEVICE.md §5): per handle, the account key pinned at first
 * use (or marked verified), the device list at its highest verified
 * version, each device's certificate and bundle, and what changed.
 */
#include "device/device_int.h"

#include <stdlib.h>
#include <string.h>

pq3_err pq3_dev_contact_key(pq3_device *d, const uint8_t *handle, size_t handle_len,
                            uint8_t account_pub[PQ3_ECDSA_PUB_BYTES], int *pending)
{
    sqlite3_stmt *s;
    int rc;
    pq3_err err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT account_pub, pending_pub IS NOT NULL FROM contacts "
                                 "WHERE handle = ?")) != PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, handle, (int)handle_len, SQLITE_STATIC);
    rc = pq3_store_step(&d->st, s);
    if (rc == 1) {
        err = pq3_store_col_fixed(s, 0, account_pub, PQ3_ECDSA_PUB_BYTES);
        *pending = sqlite3_column_int(s, 1);
    } else {
        err = rc < 0 ? rc : PQ3_ERR_UNKNOWN;
    }
    sqlite3_finalize(s);
    if (err == PQ3_ERR_UNKNOWN)
        pq3_dev_seterr(d->err, "unknown contact %.*s: look it up first", (int)handle_len,
                       (const char *)handle);
    else if (err == PQ3_ERR_DECODE)
        pq3_dev_seterr(d->err, "the store's contact row of %.*s is damaged", (int)handle_len,
                       (const char *)handle);
    return err;
}

/* The stored list of a contact: its blob and version (0 when none). */
static pq3_err stored_list(pq3_device *d, const uint8_t *h, size_t hl, uint8_t *blob,
                           size_t *len, uint64_t *version, int *verified)
{
    sqlite3_stmt *s;
    int rc;
    pq3_err err;
    *version = 0;
    *len = 0;
    *verified = 0;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT list, list_version, verified FROM contacts WHERE handle = ?")) !=
        PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
    rc = pq3_store_step(&d->st, s);
    err = rc < 0 ? rc : PQ3_OK;
    if (rc == 1) {
        err = pq3_store_col_blob(s, 0, blob, PQ3_DEVICE_LIST_MAX_BYTES, len);
        *version = (uint64_t)sqlite3_column_int64(s, 1);
        *verified = sqlite3_column_int(s, 2);
    }
    sqlite3_finalize(s);
    return err;
}

/*
 * Everything in a directory entry checked against one account key (§5):
 * the list, for this handle; a valid certificate for every listed device
 * but our own, with the listed key; each bundle under its certificate (a
 * bad one is dropped). cert_of[i] / bundle_ok[i]: the entry's index of the
 * certificate of list device i (-1 for our own device).
 */
static pq3_err check_entry(pq3_device *d, const uint8_t *h, size_t hl,
                           const pq3_directory_entry *e, uint64_t now, pq3_device_list *list,
                           int cert_of[PQ3_ACCOUNT_MAX_DEVICES],
                           int bundle_ok[PQ3_ACCOUNT_MAX_DEVICES], int is_self)
{
    pq3_device_cert c;
    pq3_prekey_bundle b;
    pq3_err err;

    if (e->n_devices > PQ3_ACCOUNT_MAX_DEVICES) {
        pq3_dev_seterr(d->err, "the directory entry lists too many devices");
        return PQ3_ERR_LIMIT;
    }
    if ((err = pq3_device_list_verify(list, e->device_list, e->device_list_len,
                                      e->account_pub)) != PQ3_OK) {
        pq3_dev_seterr(d->err, "the device list of %.*s does not verify under its account key: %s",
                       (int)hl, (const char *)h, pq3_strerror(err));
        return err;
    }
    if (list->handle_len != hl || memcmp(list->handle, h, hl) != 0) {
        pq3_dev_seterr(d->err, "the directory served the device list of another handle");
        return PQ3_ERR_VERIFY;
    }
    for (uint32_t i = 0; i < list->count; i++) {
        cert_of[i] = -2;
        bundle_ok[i] = 0;
        if (is_self && memcmp(list->devices[i].device_id, d->self.device_id,
                              PQ3_DEVICE_ID_BYTES) == 0) {
            cert_of[i] = -1;
            if (memcmp(list->devices[i].auth_pub, d->signer.pub, PQ3_ECDSA_PUB_BYTES) != 0) {
                pq3_dev_seterr(d->err, "our account's device list names another key for this device");
                return PQ3_ERR_VERIFY;
            }
        }
    }
    for (uint32_t j = 0; j < e->n_devices; j++) {
        uint32_t i;
        /* A certificate signed by another account key fails here. */
        if ((err = pq3_cert_verify(&c, e->certs[j], e->cert_lens[j], e->account_pub, now)) !=
            PQ3_OK) {
            pq3_dev_seterr(d->err, "a device certificate of %.*s does not verify under its "
                                   "account key: %s",
                           (int)hl, (const char *)h, pq3_strerror(err));
            return err;
        }
        if (c.handle_len != hl || memcmp(c.handle, h, hl) != 0 ||
            pq3_device_list_find(list, c.device_id, &i) != PQ3_OK ||
            memcmp(list->devices[i].auth_pub, c.auth_pub, PQ3_ECDSA_PUB_BYTES) != 0) {
            pq3_dev_seterr(d->err, "a device certificate of %.*s is not for a device its signed "
                                   "list names",
                           (int)hl, (const char *)h);
            return PQ3_ERR_VERIFY;
        }
        if (cert_of[i] == -1)
            continue; /* our own device: we know ourselves */
        cert_of[i] = (int)j;
        if (e->bundles[j] != NULL &&
            pq3_prekey_verify(&b, e->bundles[j], e->bundle_lens[j], &c, now) == PQ3_OK)
            bundle_ok[i] = 1;
    }
    for (uint32_t i = 0; i < list->count; i++) {
        if (cert_of[i] == -2) {
            pq3_dev_seterr(d->err, "the directory gave no certificate for a listed device of %.*s",
                           (int)hl, (const char *)h);
            return PQ3_ERR_DECODE;
        }
    }
    return PQ3_OK;
}

pq3_err pq3_device_learn(pq3_device *d, const char *handle, const pq3_directory_entry *e,
                         uint64_t now, pq3_contact_report *report)
{
    uint8_t old_blob[PQ3_DEVICE_LIST_MAX_BYTES], pinned[PQ3_ECDSA_PUB_BYTES];
    pq3_device_list list, old;
    pq3_contact_report rep;
    int cert_of[PQ3_ACCOUNT_MAX_DEVICES], bundle_ok[PQ3_ACCOUNT_MAX_DEVICES];
    sqlite3_stmt *s = NULL;
    const uint8_t *h = (const uint8_t *)handle;
    size_t hl, old_len;
    uint64_t old_version;
    int is_self, known, pending = 0, verified;
    pq3_err err;

    if (d == NULL || handle == NULL || e == NULL)
        return PQ3_ERR_ARG;
    memset(&rep, 0, sizeof rep);
    hl = strlen(handle);
    if (hl == 0 || hl > PQ3_HANDLE_MAX)
        return PQ3_ERR_ARG;
    if ((err = pq3_dev_require_active(d)) != PQ3_OK)
        return err;
    is_self = hl == d->self.handle_len && memcmp(h, d->self.handle, hl) == 0;
    if (is_self && memcmp(e->account_pub, d->self.account_pub, PQ3_ECDSA_PUB_BYTES) != 0) {
        pq3_dev_seterr(d->err, "the directory serves another account key for our own handle");
        return PQ3_ERR_KEY;
    }
    if ((err = check_entry(d, h, hl, e, now, &list, cert_of, bundle_ok, is_self)) != PQ3_OK)
        return err;
    if (is_self) {
        uint32_t me;
        if (pq3_device_list_find(&list, d->self.device_id, &me) != PQ3_OK) {
            pq3_dev_seterr(d->err, "this device is not in its account's device list (removed?)");
            return PQ3_ERR_STATE;
        }
    }

    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    err = pq3_dev_contact_key(d, h, hl, pinned, &pending);
    known = err == PQ3_OK;
    if (err != PQ3_OK && err != PQ3_ERR_UNKNOWN)
        goto fail;
    if ((err = stored_list(d, h, hl, old_blob, &old_len, &old_version, &verified)) != PQ3_OK)
        goto fail;
    rep.list_version = old_version;

    if (known && memcmp(pinned, e->account_pub, PQ3_ECDSA_PUB_BYTES) != 0) {
        /* A new account key: recorded, reported, not applied. Sending to
         * this handle stops until the user accepts it. */
        if ((err = pq3_store_prepare(&d->st, &s,
                                     "UPDATE contacts SET pending_pub = ?, pending_list = ? "
                                     "WHERE handle = ?")) != PQ3_OK)
            goto fail;
        sqlite3_bind_blob(s, 1, e->account_pub, PQ3_ECDSA_PUB_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, e->device_list, (int)e->device_list_len, SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, h, (int)hl, SQLITE_STATIC);
        if ((err = pq3_store_run(&d->st, s)) != PQ3_OK ||
            (err = pq3_store_commit(&d->st)) != PQ3_OK)
            goto fail;
        rep.key_changed = 1;
        rep.was_verified = (uint8_t)(verified != 0);
        if (report != NULL)
            *report = rep;
        return PQ3_OK;
    }
    if (known && old_version > 0) {
        if (list.version < old_version) {
            pq3_dev_seterr(d->err, "the directory rolled the device list of %s back from "
                                   "version %llu to %llu",
                           handle, (unsigned long long)old_version,
                           (unsigned long long)list.version);
            err = PQ3_ERR_REPLAY;
            goto fail;
        }
        if (list.version == old_version &&
            (old_len != e->device_list_len || memcmp(old_blob, e->device_list, old_len) != 0)) {
            pq3_dev_seterr(d->err, "the directory serves two different device lists of %s under "
                                   "version %llu",
                           handle, (unsigned long long)list.version);
            err = PQ3_ERR_VERIFY;
            goto fail;
        }
    }
    if (known && old_version > 0 &&
        pq3_device_list_decode(&old, old_blob, old_len) != PQ3_OK) {
        pq3_dev_seterr(d->err, "the store's device list of %s is damaged", handle);
        err = PQ3_ERR_DECODE;
        goto fail;
    }
    if (!known)
        old.count = 0;
    rep.first_seen = (uint8_t)!known;
    rep.list_version = list.version;

    if ((err = pq3_store_prepare(&d->st, &s,
                                 "INSERT INTO contacts (handle, is_self, account_pub, verified, "
                                 "list, list_version) VALUES (?1, ?2, ?3, 0, ?4, ?5) "
                                 "ON CONFLICT (handle) DO UPDATE SET list = ?4, list_version = ?5")) !=
        PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, is_self);
    sqlite3_bind_blob(s, 3, e->account_pub, PQ3_ECDSA_PUB_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, e->device_list, (int)e->device_list_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)list.version);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
        goto fail;
    /* Devices no longer listed: gone, with their sessions (cascade). */
    for (uint32_t i = 0; i < old.count; i++) {
        uint32_t k;
        if (pq3_device_list_find(&list, old.devices[i].device_id, &k) == PQ3_OK)
            continue;
        if ((err = pq3_store_prepare(&d->st, &s,
                                     "DELETE FROM devices WHERE handle = ? AND device_id = ?")) !=
            PQ3_OK)
            goto fail;
        sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, old.devices[i].device_id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
        if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
            goto fail;
        if (!is_self || memcmp(old.devices[i].device_id, d->self.device_id, PQ3_DEVICE_ID_BYTES))
            rep.removed++;
    }
    for (uint32_t i = 0; i < list.count; i++) {
        uint32_t k;
        int j = cert_of[i];
        if (j < 0)
            continue;
        if (old.count == 0 || pq3_device_list_find(&old, list.devices[i].device_id, &k) != PQ3_OK)
            rep.added++;
        /* A bundle that did not verify leaves the one we had. */
        if ((err = pq3_store_prepare(
                 &d->st, &s,
                 bundle_ok[i] ? "INSERT INTO devices (handle, device_id, cert, bundle) "
                                "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (handle, device_id) "
                                "DO UPDATE SET cert = ?3, bundle = ?4"
                              : "INSERT INTO devices (handle, device_id, cert, bundle) "
                                "VALUES (?1, ?2, ?3, NULL) ON CONFLICT (handle, device_id) "
                                "DO UPDATE SET cert = ?3")) != PQ3_OK)
            goto fail;
        sqlite3_bind_blob(s, 1, h, (int)hl, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, list.devices[i].device_id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, e->certs[j], (int)e->cert_lens[j], SQLITE_STATIC);
        if (bundle_ok[i])
            sqlite3_bind_blob(s, 4, e->bundles[j], (int)e->bundle_lens[j], SQLITE_STATIC);
        if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
            goto fail;
    }
    if ((err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    if (is_self)
        d->self.list_version = list.version;
    if (report != NULL)
        *report = rep;
    return PQ3_OK;
fail:
    pq3_store_rollback(&d->st);
    return err;
}

pq3_err pq3_device_accept_key(pq3_device *d, const char *handle, uint64_t now)
{
    uint8_t pinned[PQ3_ECDSA_PUB_BYTES];
    sqlite3_stmt *s;
    size_t hl;
    int pending;
    pq3_err err;

    (void)now;
    if (d == NULL || handle == NULL || (hl = strlen(handle)) == 0 || hl > PQ3_HANDLE_MAX)
        return PQ3_ERR_ARG;
    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    if ((err = pq3_dev_contact_key(d, (const uint8_t *)handle, hl, pinned, &pending)) != PQ3_OK)
        goto fail;
    if (!pending) {
        pq3_dev_seterr(d->err, "no account key change of %s is pending", handle);
        err = PQ3_ERR_STATE;
        goto fail;
    }
    /* The new key replaces the old; every device and session of the old
     * account goes (cascade). The list is learnt again from the directory
     * under the new key: version 0 accepts any. */
    if ((err = pq3_store_prepare(&d->st, &s, "DELETE FROM devices WHERE handle = ?")) != PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, handle, (int)hl, SQLITE_STATIC);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
        goto fail;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "UPDATE contacts SET account_pub = pending_pub, verified = 0, "
                                 "list = pending_list, list_version = 0, pending_pub = NULL, "
                                 "pending_list = NULL WHERE handle = ?")) != PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, handle, (int)hl, SQLITE_STATIC);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK || (err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    return PQ3_OK;
fail:
    pq3_store_rollback(&d->st);
    return err;
}

pq3_err pq3_device_mark_verified(pq3_device *d, const char *handle)
{
    uint8_t pinned[PQ3_ECDSA_PUB_BYTES];
    sqlite3_stmt *s;
    size_t hl;
    int pending;
    pq3_err err;

    if (d == NULL || handle == NULL || (hl = strlen(handle)) == 0 || hl > PQ3_HANDLE_MAX)
        return PQ3_ERR_ARG;
    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    if ((err = pq3_dev_contact_key(d, (const uint8_t *)handle, hl, pinned, &pending)) != PQ3_OK)
        goto fail;
    if (pending) {
        pq3_dev_seterr(d->err, "the account key of %s changed: accept or refuse the change first",
                       handle);
        err = PQ3_ERR_STATE;
        goto fail;
    }
    if ((err = pq3_store_prepare(&d->st, &s, "UPDATE contacts SET verified = 1 WHERE handle = ?")) !=
        PQ3_OK)
        goto fail;
    sqlite3_bind_blob(s, 1, handle, (int)hl, SQLITE_STATIC);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK || (err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    return PQ3_OK;
fail:
    pq3_store_rollback(&d->st);
    return err;
}

pq3_err pq3_device_contact(pq3_device *d, const char *handle, pq3_contact_info *info)
{
    sqlite3_stmt *s;
    size_t hl;
    int rc;
    pq3_err err;

    if (d == NULL || handle == NULL || info == NULL || (hl = strlen(handle)) == 0 ||
        hl > PQ3_HANDLE_MAX)
        return PQ3_ERR_ARG;
    memset(info, 0, sizeof *info);
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT account_pub, verified, pending_pub IS NOT NULL, "
                                 "list_version FROM contacts WHERE handle = ?")) != PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, handle, (int)hl, SQLITE_STATIC);
    rc = pq3_store_step(&d->st, s);
    if (rc == 1) {
        err = pq3_store_col_fixed(s, 0, info->account_pub, PQ3_ECDSA_PUB_BYTES);
        info->verified = (uint8_t)sqlite3_column_int(s, 1);
        info->key_changed = (uint8_t)sqlite3_column_int(s, 2);
        info->list_version = (uint64_t)sqlite3_column_int64(s, 3);
    } else {
        err = rc < 0 ? rc : PQ3_ERR_UNKNOWN;
        if (rc == 0)
            pq3_dev_seterr(d->err, "unknown contact %s", handle);
    }
    sqlite3_finalize(s);
    if (err != PQ3_OK)
        return err;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "SELECT device_id FROM devices WHERE handle = ? ORDER BY device_id")) !=
        PQ3_OK)
        return err;
    sqlite3_bind_blob(s, 1, handle, (int)hl, SQLITE_STATIC);
    while ((rc = pq3_store_step(&d->st, s)) == 1 && info->n_devices < PQ3_ACCOUNT_MAX_DEVICES) {
        if ((err = pq3_store_col_fixed(s, 0, info->device_ids[info->n_devices],
                                       PQ3_DEVICE_ID_BYTES)) != PQ3_OK)
            break;
        info->n_devices++;
    }
    sqlite3_finalize(s);
    return rc < 0 ? rc : err;
}
