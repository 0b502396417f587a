/*
 * Prekeys of this device (docs/DEVICE.md §4): made, published as bundles,
 * rotated on a schedule, their secrets and replay caches erased after the
 * grace window (PROTOCOL.md §6: starts are accepted until expires +
 * PQ3_PREKEY_GRACE).
 */
#include "device/device_int.h"

#include <stdlib.h>
#include <string.h>

pq3_err pq3_dev_make_prekey(pq3_device *d, uint64_t now)
{
    pq3_prekey_secret *sec = NULL;
    pq3_start_cache *cache = NULL;
    uint8_t *blob = NULL, bundle[PQ3_PREKEY_BUNDLE_BYTES];
    size_t blob_len, cache_len;
    sqlite3_stmt *s = NULL;
    int64_t id = 1;
    int rc;
    pq3_err err;

    sec = malloc(sizeof *sec);
    cache = malloc(sizeof *cache);
    blob = malloc(PQ3_PREKEY_SECRET_BYTES + sizeof *cache);
    if (sec == NULL || cache == NULL || blob == NULL) {
        err = PQ3_ERR_NOMEM;
        goto cleanup;
    }
    if ((err = pq3_store_prepare(&d->st, &s, "SELECT coalesce(max(id), 0) + 1 FROM prekeys")) !=
        PQ3_OK)
        goto cleanup;
    if ((rc = pq3_store_step(&d->st, s)) == 1)
        id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    s = NULL;
    if (rc < 0) {
        err = rc;
        goto cleanup;
    }
    if (id > (int64_t)UINT32_MAX) {
        err = PQ3_ERR_LIMIT;
        goto cleanup;
    }
    /* Valid one interval plus an overlap: a sender who looked the bundle
     * up just before the next one appeared can still start with it. */
    if ((err = pq3_prekey_generate(sec, (uint32_t)id, now,
                                   now + d->cfg.prekey_interval + d->cfg.prekey_overlap,
                                   &d->signer, d->cfg.rng)) != PQ3_OK) {
        pq3_dev_seterr(d->err, "making a prekey failed: %s", pq3_strerror(err));
        goto cleanup;
    }
    if ((err = pq3_prekey_encode(bundle, &sec->bundle)) != PQ3_OK ||
        (err = pq3_prekey_secret_serialize(sec, blob, PQ3_PREKEY_SECRET_BYTES, &blob_len)) !=
            PQ3_OK ||
        (err = pq3_start_cache_init(cache, sec->bundle.hash, PQ3_START_CACHE_DEFAULT)) != PQ3_OK ||
        (err = pq3_start_cache_serialize(cache, blob + blob_len, sizeof *cache, &cache_len)) !=
            PQ3_OK)
        goto cleanup;
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "INSERT INTO prekeys (id, hash, secret, cache, bundle, created, "
                                 "expires) VALUES (?, ?, ?, ?, ?, ?, ?)")) != PQ3_OK)
        goto cleanup;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_blob(s, 2, sec->bundle.hash, PQ3_PREKEY_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, blob, (int)blob_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, blob + blob_len, (int)cache_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 5, bundle, sizeof bundle, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)now);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)sec->bundle.expires);
    err = pq3_store_run(&d->st, s);
cleanup:
    if (sec != NULL) {
        pq3_prekey_secret_wipe(sec);
        free(sec);
    }
    free(cache);
    if (blob != NULL) {
        pq3_wipe(blob, PQ3_PREKEY_SECRET_BYTES);
        free(blob);
    }
    return err;
}

pq3_err pq3_device_rotate_prekeys(pq3_device *d, uint64_t now, int force, int *made,
                                  uint32_t *erased)
{
    sqlite3_stmt *s;
    int64_t newest = -1;
    int rc, make;
    pq3_err err;

    if (made != NULL)
        *made = 0;
    if (erased != NULL)
        *erased = 0;
    if (d == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_dev_require_active(d)) != PQ3_OK)
        return err;
    if ((err = pq3_store_begin(&d->st)) != PQ3_OK)
        return err;
    if ((err = pq3_store_prepare(&d->st, &s, "SELECT max(created) FROM prekeys")) != PQ3_OK)
        goto fail;
    if ((rc = pq3_store_step(&d->st, s)) == 1 && sqlite3_column_type(s, 0) != SQLITE_NULL)
        newest = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc < 0) {
        err = rc;
        goto fail;
    }
    make = force || newest < 0 || (uint64_t)newest + d->cfg.prekey_interval <= now;
    if (make && (err = pq3_dev_make_prekey(d, now)) != PQ3_OK)
        goto fail;
    /* Erase what no start may use any more (§6: expires + grace), but
     * never the newest bundle, even when the device was off for weeks: a
     * sender may hold it still. secure_delete overwrites the rows. */
    if ((err = pq3_store_prepare(&d->st, &s,
                                 "DELETE FROM prekeys WHERE expires + ?1 <= ?2 AND id <> "
                                 "(SELECT id FROM prekeys ORDER BY created DESC, id DESC LIMIT 1)")) !=
        PQ3_OK)
        goto fail;
    sqlite3_bind_int64(s, 1, PQ3_PREKEY_GRACE);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK)
        goto fail;
    if (erased != NULL)
        *erased = (uint32_t)sqlite3_changes(d->st.db);
    /* Digests of received envelopes older than any redelivery. */
    if ((err = pq3_store_prepare(&d->st, &s, "DELETE FROM seen WHERE received + ? < ?")) != PQ3_OK)
        goto fail;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)d->cfg.seen_lifetime);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
    if ((err = pq3_store_run(&d->st, s)) != PQ3_OK || (err = pq3_store_commit(&d->st)) != PQ3_OK)
        goto fail;
    if (made != NULL)
        *made = make;
    return PQ3_OK;
fail:
    pq3_store_rollback(&d->st);
    return err;
}
