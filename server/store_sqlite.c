/* pq3d's SQLite store (server/store.h): one file, WAL, synchronous=FULL,
 * foreign keys, prepared statements; the default backend. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define SCHEMA_VERSION 2


static pq3_err fail(pq3d_store *s, const char *what)
{
    snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
    return PQ3_ERR_IO;
}

static pq3_err exec(pq3d_store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(s->err, sizeof s->err, "%s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return PQ3_ERR_IO;
    }
    return PQ3_OK;
}

/* A prepared statement from the connection's cache, keyed by the address
 * of its SQL text (every statement here is a string literal): parsing and
 * planning each statement once, not on every request, is most of what
 * separates a relay that keeps up from one that does not. Given back with
 * done(), which resets it for the next use. */
static sqlite3_stmt *stmt(pq3d_store *s, const char *sql)
{
    for (unsigned i = 0; i < s->sq_n; i++)
        if (s->sq_cache[i].sql == sql)
            return s->sq_cache[i].st;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    if (s->sq_n < PQ3D_SQ_CACHE) {
        s->sq_cache[s->sq_n].sql = sql;
        s->sq_cache[s->sq_n].st = st;
        s->sq_n++;
    }
    return st;
}

/* Gives a statement back: reset and unbound if cached, finalized if not. */
static void done(pq3d_store *s, sqlite3_stmt *st)
{
    if (st == NULL)
        return;
    for (unsigned i = 0; i < s->sq_n; i++)
        if (s->sq_cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    sqlite3_finalize(st);
}

/* Closes the connection; the cached statements go first, or close fails. */
static void close_db(pq3d_store *s)
{
    for (unsigned i = 0; i < s->sq_n; i++)
        sqlite3_finalize(s->sq_cache[i].st);
    s->sq_n = 0;
    sqlite3_close(s->db);
}

static const char schema_kt[] =
    "CREATE TABLE kt_pending(id INTEGER PRIMARY KEY AUTOINCREMENT, handle BLOB NOT NULL,"
    " v INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, accepted INTEGER NOT NULL,"
    " UNIQUE(handle, v));"
    "CREATE TABLE kt_epochs(e INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " map_root BLOB NOT NULL, checkpoint BLOB NOT NULL);"
    "CREATE TABLE kt_entries(key BLOB PRIMARY KEY, value BLOB NOT NULL, e INTEGER NOT NULL);"
    "CREATE INDEX kt_entries_e ON kt_entries(e);"
    ;

static const char schema[] =
    "CREATE TABLE accounts(handle BLOB PRIMARY KEY, account_pub BLOB NOT NULL,"
    " list BLOB NOT NULL, version INTEGER NOT NULL);"
    "CREATE TABLE devices(id INTEGER PRIMARY KEY, handle BLOB NOT NULL"
    " REFERENCES accounts(handle) ON DELETE CASCADE, device_id BLOB NOT NULL,"
    " listed INTEGER NOT NULL, cert BLOB NOT NULL, bundle BLOB, bundle_created INTEGER,"
    " queued_count INTEGER NOT NULL DEFAULT 0, queued_bytes INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(handle, device_id));"
    "CREATE TABLE queue(id INTEGER PRIMARY KEY AUTOINCREMENT, dev INTEGER NOT NULL"
    " REFERENCES devices(id) ON DELETE CASCADE, msg_id BLOB NOT NULL, from_handle BLOB NOT NULL,"
    " from_device BLOB NOT NULL, stored_at INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " body BLOB NOT NULL, UNIQUE(dev, msg_id));"
    "CREATE INDEX queue_dev ON queue(dev, id);"
    "CREATE INDEX queue_expires ON queue(expires);"
    "CREATE TABLE invites(hash BLOB PRIMARY KEY, created INTEGER NOT NULL, used_by BLOB,"
    " used_at INTEGER);"
    "CREATE TABLE presence(dev INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
    " node TEXT NOT NULL, since INTEGER NOT NULL);";

static const struct pq3d_store_ops sq_ops;

pq3_err pq3d_sqlite_open(pq3d_store **out, const char *path, const char *node, char *err,
                         size_t errlen)
{
    pq3d_store *s;
    int fd, version = -1;
    sqlite3_stmt *st;

    *out = NULL;
    /* Created 0600 before SQLite opens it: envelopes and metadata are not
     * for other local users. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return PQ3_ERR_IO;
    }
    close(fd);
    s = calloc(1, sizeof *s);
    if (s != NULL)
        s->ops = &sq_ops;
    if (s == NULL)
        return PQ3_ERR_NOMEM;
    snprintf(s->node, sizeof s->node, "%s", node);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, sqlite3_errmsg(s->db));
        close_db(s);
        free(s);
        return PQ3_ERR_IO;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* Switching a new file to WAL needs it alone for a moment, and SQLite
     * does not wait for that through the busy handler: retry for up to 5 s
     * when another process opens it at the same time. */
    for (int tries = 0;; tries++) {
        if (exec(s, "PRAGMA journal_mode=WAL") == PQ3_OK)
            break;
        if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY || tries == 250)
            goto bad;
        usleep(20000);
    }
    if (exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;") != PQ3_OK)
        goto bad;
    /* The version is read inside the write transaction: two processes
     * opening a new file at once must not both create the schema. */
    if (exec(s, "BEGIN IMMEDIATE") != PQ3_OK)
        goto bad;
    st = stmt(s, "PRAGMA user_version");
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    done(s, st);
    if (version > SCHEMA_VERSION) {
        (void)exec(s, "ROLLBACK");
        snprintf(err, errlen, "%s has schema %d, newer than this pq3d (%d)", path, version,
                 SCHEMA_VERSION);
        close_db(s);
        free(s);
        return PQ3_ERR_VERSION;
    }
    if (version < 0 ||
        (version == 0 && exec(s, schema) != PQ3_OK) ||
        /* version 2 added key transparency's tables */
        (version < 2 && (exec(s, schema_kt) != PQ3_OK ||
                         exec(s, "PRAGMA user_version=2") != PQ3_OK)) ||
        exec(s, "COMMIT") != PQ3_OK) {
        if (version < 0)
            snprintf(s->err, sizeof s->err, "cannot read the schema version");
        (void)exec(s, "ROLLBACK");
        goto bad;
    }
    *out = s;
    return PQ3_OK;
bad:
    snprintf(err, errlen, "%s: %s", path, s->err);
    close_db(s);
    free(s);
    return PQ3_ERR_IO;
}

static void sq_close(pq3d_store *s)
{
    close_db(s);
    free(s);
}

static pq3_err sq_begin(pq3d_store *s) { return exec(s, "BEGIN IMMEDIATE"); }
static pq3_err sq_commit(pq3d_store *s) { return exec(s, "COMMIT"); }
static pq3_err sq_rollback(pq3d_store *s) { return exec(s, "ROLLBACK"); }
static pq3_err sq_savepoint(pq3d_store *s) { return exec(s, "SAVEPOINT j"); }
static pq3_err sq_release(pq3d_store *s) { return exec(s, "RELEASE j"); }
static pq3_err sq_undo(pq3d_store *s) { return exec(s, "ROLLBACK TO j; RELEASE j"); }

/* Runs a prepared statement to completion; returns the step result. */
static int run(pq3d_store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    done(s, st);
    return rc;
}

static void bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

static pq3_err sq_account_get(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               pq3d_account *out)
{
    sqlite3_stmt *st = stmt(s, "SELECT account_pub, list, version FROM accounts WHERE handle=?");
    int rc;
    if (st == NULL)
        return fail(s, "account");
    bind_blob(st, 1, handle, handle_len);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t pl = (size_t)sqlite3_column_bytes(st, 0), ll = (size_t)sqlite3_column_bytes(st, 1);
        if (pl != PQ3_ECDSA_PUB_BYTES || ll > sizeof out->list) {
            done(s, st);
            snprintf(s->err, sizeof s->err, "account row malformed");
            return PQ3_ERR_IO;
        }
        memcpy(out->account_pub, sqlite3_column_blob(st, 0), pl);
        memcpy(out->list, sqlite3_column_blob(st, 1), ll);
        out->list_len = ll;
        out->version = (uint64_t)sqlite3_column_int64(st, 2);
    }
    done(s, st);
    if (rc == SQLITE_DONE)
        return PQ3_ERR_UNKNOWN;
    return rc == SQLITE_ROW ? PQ3_OK : fail(s, "account");
}

static pq3_err sq_account_create(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                  const pq3d_account *a)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO accounts(handle, account_pub, list, version) "
                               "VALUES(?,?,?,?)");
    int rc;
    if (st == NULL)
        return fail(s, "register");
    bind_blob(st, 1, handle, handle_len);
    bind_blob(st, 2, a->account_pub, PQ3_ECDSA_PUB_BYTES);
    bind_blob(st, 3, a->list, a->list_len);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)a->version);
    rc = run(s, st);
    if (rc == SQLITE_CONSTRAINT)
        return PQ3_ERR_STATE;
    return rc == SQLITE_DONE ? PQ3_OK : fail(s, "register");
}

static pq3_err sq_account_set_list(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                    const uint8_t *list, size_t list_len, uint64_t version,
                                    uint64_t old_version)
{
    sqlite3_stmt *st = stmt(s, "UPDATE accounts SET list=?, version=? WHERE handle=? AND version=?");
    if (st == NULL)
        return fail(s, "set list");
    bind_blob(st, 1, list, list_len);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)version);
    bind_blob(st, 3, handle, handle_len);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)old_version);
    if (run(s, st) != SQLITE_DONE)
        return fail(s, "set list");
    if (sqlite3_changes(s->db) == 1)
        return PQ3_OK;
    /* Which failure: the account is gone, or its version moved on. */
    {
        pq3d_account a;
        pq3_err e = sq_account_get(s, handle, handle_len, &a);
        return e == PQ3_OK ? PQ3_ERR_STATE : e;
    }
}

/* The device's row id, 0 when none (or -1 on error). */
static sqlite3_int64 dev_id(pq3d_store *s, const uint8_t *h, size_t hl, const uint8_t *id,
                            int listed_only)
{
    sqlite3_stmt *st = stmt(s, listed_only ? "SELECT id FROM devices WHERE handle=? AND device_id=? AND listed=1"
                                           : "SELECT id FROM devices WHERE handle=? AND device_id=?");
    sqlite3_int64 v = -1;
    int rc;
    if (st == NULL)
        return -1;
    bind_blob(st, 1, h, hl);
    bind_blob(st, 2, id, PQ3_DEVICE_ID_BYTES);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        v = 0;
    done(s, st);
    return v;
}

static void row_from(sqlite3_stmt *st, pq3d_device_row *out)
{
    size_t cl = (size_t)sqlite3_column_bytes(st, 2), bl = (size_t)sqlite3_column_bytes(st, 3);
    memcpy(out->device_id, sqlite3_column_blob(st, 0), PQ3_DEVICE_ID_BYTES);
    out->listed = (uint8_t)sqlite3_column_int(st, 1);
    out->cert_len = cl <= sizeof out->cert ? cl : 0;
    memcpy(out->cert, sqlite3_column_blob(st, 2), out->cert_len);
    out->bundle_len = bl == PQ3_PREKEY_BUNDLE_BYTES ? bl : 0;
    if (out->bundle_len)
        memcpy(out->bundle, sqlite3_column_blob(st, 3), bl);
    out->bundle_created = (uint64_t)sqlite3_column_int64(st, 4);
}

static pq3_err sq_device_get(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                              const uint8_t device_id[PQ3_DEVICE_ID_BYTES], pq3d_device_row *out)
{
    sqlite3_stmt *st = stmt(s, "SELECT device_id, listed, cert, bundle, bundle_created FROM "
                               "devices WHERE handle=? AND device_id=?");
    int rc;
    if (st == NULL)
        return fail(s, "device");
    bind_blob(st, 1, handle, handle_len);
    bind_blob(st, 2, device_id, PQ3_DEVICE_ID_BYTES);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_from(st, out);
    done(s, st);
    if (rc == SQLITE_DONE)
        return PQ3_ERR_UNKNOWN;
    return rc == SQLITE_ROW ? PQ3_OK : fail(s, "device");
}

static pq3_err sq_device_put_cert(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                   const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                   const uint8_t *cert, size_t cert_len, int listed)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO devices(handle, device_id, listed, cert) "
                               "VALUES(?,?,?,?) ON CONFLICT(handle, device_id) DO UPDATE SET "
                               "cert=excluded.cert, listed=excluded.listed");
    int rc;
    if (st == NULL)
        return fail(s, "device");
    bind_blob(st, 1, handle, handle_len);
    bind_blob(st, 2, device_id, PQ3_DEVICE_ID_BYTES);
    sqlite3_bind_int(st, 3, listed ? 1 : 0);
    bind_blob(st, 4, cert, cert_len);
    rc = run(s, st);
    if (rc == SQLITE_CONSTRAINT)
        return PQ3_ERR_UNKNOWN;
    return rc == SQLITE_DONE ? PQ3_OK : fail(s, "device");
}

static pq3_err sq_device_set_listed(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                     const uint8_t device_id[PQ3_DEVICE_ID_BYTES], int listed)
{
    sqlite3_stmt *st = stmt(s, "UPDATE devices SET listed=? WHERE handle=? AND device_id=?");
    if (st == NULL)
        return fail(s, "device");
    sqlite3_bind_int(st, 1, listed ? 1 : 0);
    bind_blob(st, 2, handle, handle_len);
    bind_blob(st, 3, device_id, PQ3_DEVICE_ID_BYTES);
    if (run(s, st) != SQLITE_DONE)
        return fail(s, "device");
    return sqlite3_changes(s->db) == 1 ? PQ3_OK : PQ3_ERR_UNKNOWN;
}

static pq3_err sq_device_put_bundle(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                     const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                     const uint8_t *bundle, size_t bundle_len, uint64_t created)
{
    sqlite3_stmt *st = stmt(s, "UPDATE devices SET bundle=?, bundle_created=? WHERE handle=? "
                               "AND device_id=?");
    if (st == NULL)
        return fail(s, "bundle");
    bind_blob(st, 1, bundle, bundle_len);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)created);
    bind_blob(st, 3, handle, handle_len);
    bind_blob(st, 4, device_id, PQ3_DEVICE_ID_BYTES);
    if (run(s, st) != SQLITE_DONE)
        return fail(s, "bundle");
    return sqlite3_changes(s->db) == 1 ? PQ3_OK : PQ3_ERR_UNKNOWN;
}

static pq3_err sq_device_delete(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                 const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    /* The queue and presence go with it (ON DELETE CASCADE). */
    sqlite3_stmt *st = stmt(s, "DELETE FROM devices WHERE handle=? AND device_id=?");
    if (st == NULL)
        return fail(s, "device");
    bind_blob(st, 1, handle, handle_len);
    bind_blob(st, 2, device_id, PQ3_DEVICE_ID_BYTES);
    return run(s, st) == SQLITE_DONE ? PQ3_OK : fail(s, "device");
}

static pq3_err sq_devices(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                           pq3d_device_row *out, uint32_t max, uint32_t *n)
{
    sqlite3_stmt *st = stmt(s, "SELECT device_id, listed, cert, bundle, bundle_created FROM "
                               "devices WHERE handle=? ORDER BY device_id");
    int rc;
    *n = 0;
    if (st == NULL)
        return fail(s, "devices");
    bind_blob(st, 1, handle, handle_len);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == max) {
            done(s, st);
            return PQ3_ERR_LIMIT;
        }
        row_from(st, &out[(*n)++]);
    }
    done(s, st);
    return rc == SQLITE_DONE ? PQ3_OK : fail(s, "devices");
}

/* Deletes the device's envelopes whose lifetime ended and takes them off
 * its counters; *n = how many (0 or more). */
static pq3_err expire_device(pq3d_store *s, sqlite3_int64 dev, uint64_t now, int *n)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM queue WHERE dev=? AND expires<=? "
                               "RETURNING length(body)");
    sqlite3_int64 bytes = 0;
    int rc, count = 0;
    *n = 0;
    if (st == NULL)
        return fail(s, "expire");
    sqlite3_bind_int64(st, 1, dev);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bytes += sqlite3_column_int64(st, 0);
        count++;
    }
    done(s, st);
    if (rc != SQLITE_DONE)
        return fail(s, "expire");
    if (count == 0)
        return PQ3_OK;
    st = stmt(s, "UPDATE devices SET queued_count=queued_count-?, queued_bytes=queued_bytes-? "
                 "WHERE id=?");
    if (st == NULL)
        return fail(s, "expire");
    sqlite3_bind_int64(st, 1, count);
    sqlite3_bind_int64(st, 2, bytes);
    sqlite3_bind_int64(st, 3, dev);
    if (run(s, st) != SQLITE_DONE)
        return fail(s, "expire");
    *n = count;
    return PQ3_OK;
}

static pq3_err sq_queue_put(pq3d_store *s, pq3d_queued *e, uint64_t now, uint32_t max_count,
                             uint64_t max_bytes)
{
    sqlite3_int64 dev;
    sqlite3_stmt *st;
    int rc;

    e->status = PQ3_ST_OK;
    e->duplicate = 0;
    e->queue_id = 0;
    e->node[0] = 0;
    dev = dev_id(s, e->to_handle, e->to_handle_len, e->to_device, 1);
    if (dev < 0)
        return fail(s, "queue");
    if (dev == 0) {
        e->status = PQ3_ST_NOT_FOUND;
        return PQ3_OK;
    }
    /* Already queued under this msg_id: the same envelope sent again. */
    st = stmt(s, "SELECT id FROM queue WHERE dev=? AND msg_id=?");
    if (st == NULL)
        return fail(s, "queue");
    sqlite3_bind_int64(st, 1, dev);
    bind_blob(st, 2, e->msg_id, sizeof e->msg_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        e->queue_id = (uint64_t)sqlite3_column_int64(st, 0);
        e->duplicate = 1;
    }
    done(s, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, "queue");
    if (!e->duplicate) {
        /* The counters kept in the device row, not COUNT(*): the hot path.
         * They include expired envelopes until housekeeping deletes them,
         * so a queue that looks full first drops its own expired ones. */
        for (int attempt = 0; attempt < 2; attempt++) {
            int full = 0;
            st = stmt(s, "SELECT queued_count, queued_bytes FROM devices WHERE id=?");
            if (st == NULL)
                return fail(s, "queue");
            sqlite3_bind_int64(st, 1, dev);
            if (sqlite3_step(st) == SQLITE_ROW &&
                ((uint64_t)sqlite3_column_int64(st, 0) >= max_count ||
                 (uint64_t)sqlite3_column_int64(st, 1) + e->msg_len > max_bytes))
                full = 1;
            done(s, st);
            if (!full)
                break;
            if (attempt == 1 || expire_device(s, dev, now, &full) != PQ3_OK || full == 0) {
                e->status = PQ3_ST_QUEUE_FULL;
                return PQ3_OK;
            }
        }
        st = stmt(s, "INSERT INTO queue(dev, msg_id, from_handle, from_device, stored_at, "
                     "expires, body) VALUES(?,?,?,?,?,?,?)");
        if (st == NULL)
            return fail(s, "queue");
        sqlite3_bind_int64(st, 1, dev);
        bind_blob(st, 2, e->msg_id, sizeof e->msg_id);
        bind_blob(st, 3, e->from_handle, e->from_handle_len);
        bind_blob(st, 4, e->from_device, PQ3_DEVICE_ID_BYTES);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)e->stored_at);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)e->expires);
        bind_blob(st, 7, e->msg, e->msg_len);
        if (run(s, st) != SQLITE_DONE)
            return fail(s, "queue");
        e->queue_id = (uint64_t)sqlite3_last_insert_rowid(s->db);
        st = stmt(s, "UPDATE devices SET queued_count=queued_count+1, "
                     "queued_bytes=queued_bytes+? WHERE id=?");
        if (st == NULL)
            return fail(s, "queue");
        sqlite3_bind_int64(st, 1, (sqlite3_int64)e->msg_len);
        sqlite3_bind_int64(st, 2, dev);
        if (run(s, st) != SQLITE_DONE)
            return fail(s, "queue");
    }
    st = stmt(s, "SELECT node FROM presence WHERE dev=?");
    if (st == NULL)
        return fail(s, "queue");
    sqlite3_bind_int64(st, 1, dev);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(e->node, sizeof e->node, "%s", (const char *)sqlite3_column_text(st, 0));
    done(s, st);
    return PQ3_OK;
}

static pq3_err sq_queue_fetch(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now,
                               const uint64_t *skip, uint32_t n_skip, pq3d_delivery *out,
                               uint32_t max, uint32_t *n)
{
    sqlite3_int64 dev = dev_id(s, handle, handle_len, device_id, 0);
    sqlite3_stmt *st;
    int rc;
    *n = 0;
    if (dev < 0)
        return fail(s, "fetch");
    if (dev == 0)
        return PQ3_OK;
    st = stmt(s, "SELECT id, from_handle, from_device, msg_id, stored_at, body FROM queue "
                 "WHERE dev=? AND expires>? ORDER BY id LIMIT ?");
    if (st == NULL)
        return fail(s, "fetch");
    sqlite3_bind_int64(st, 1, dev);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max + n_skip);
    while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
        pq3d_delivery *d = &out[*n];
        size_t hl = (size_t)sqlite3_column_bytes(st, 1), bl = (size_t)sqlite3_column_bytes(st, 5);
        int skipped = 0;
        for (uint32_t k = 0; k < n_skip; k++)
            if (skip[k] == id)
                skipped = 1;
        if (skipped || hl == 0 || hl > PQ3_HANDLE_MAX || bl == 0)
            continue;
        d->queue_id = id;
        memcpy(d->from_handle, sqlite3_column_blob(st, 1), hl);
        d->from_handle_len = hl;
        memcpy(d->from_device, sqlite3_column_blob(st, 2), PQ3_DEVICE_ID_BYTES);
        memcpy(d->msg_id, sqlite3_column_blob(st, 3), sizeof d->msg_id);
        d->stored_at = (uint64_t)sqlite3_column_int64(st, 4);
        d->msg = malloc(bl);
        if (d->msg == NULL) {
            done(s, st);
            return PQ3_ERR_NOMEM;
        }
        memcpy(d->msg, sqlite3_column_blob(st, 5), bl);
        d->msg_len = bl;
        (*n)++;
    }
    done(s, st);
    return PQ3_OK;
}

static pq3_err sq_queue_ack(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                             const uint8_t device_id[PQ3_DEVICE_ID_BYTES], const uint64_t *ids,
                             uint32_t n, uint32_t *deleted)
{
    sqlite3_int64 dev = dev_id(s, handle, handle_len, device_id, 0);
    uint32_t gone = 0;
    if (deleted != NULL)
        *deleted = 0;
    if (dev < 0)
        return fail(s, "ack");
    if (dev == 0)
        return PQ3_OK;
    for (uint32_t i = 0; i < n; i++) {
        /* dev=? : only this device's own envelopes. */
        sqlite3_stmt *st = stmt(s, "DELETE FROM queue WHERE id=? AND dev=? RETURNING length(body)");
        int rc;
        if (st == NULL)
            return fail(s, "ack");
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ids[i]);
        sqlite3_bind_int64(st, 2, dev);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            sqlite3_int64 bytes = sqlite3_column_int64(st, 0);
            done(s, st);
            st = stmt(s, "UPDATE devices SET queued_count=queued_count-1, "
                         "queued_bytes=queued_bytes-? WHERE id=?");
            if (st == NULL)
                return fail(s, "ack");
            sqlite3_bind_int64(st, 1, bytes);
            sqlite3_bind_int64(st, 2, dev);
            if (run(s, st) != SQLITE_DONE)
                return fail(s, "ack");
            gone++;
        } else {
            done(s, st);
            if (rc != SQLITE_DONE)
                return fail(s, "ack");
        }
    }
    if (deleted != NULL)
        *deleted = gone;
    return PQ3_OK;
}

static pq3_err sq_queue_count(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now,
                               uint32_t *count, uint64_t *bytes)
{
    sqlite3_stmt *st = stmt(s, "SELECT count(*), coalesce(sum(length(body)),0) FROM queue "
                               "WHERE dev=(SELECT id FROM devices WHERE handle=? AND "
                               "device_id=?) AND expires>?");
    int rc;
    if (st == NULL)
        return fail(s, "count");
    bind_blob(st, 1, handle, handle_len);
    bind_blob(st, 2, device_id, PQ3_DEVICE_ID_BYTES);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = (uint32_t)sqlite3_column_int64(st, 0);
        *bytes = (uint64_t)sqlite3_column_int64(st, 1);
    }
    done(s, st);
    return rc == SQLITE_ROW ? PQ3_OK : fail(s, "count");
}

static pq3_err sq_queue_expire(pq3d_store *s, uint64_t now, uint64_t *deleted)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM queue WHERE expires<=?");
    if (st == NULL)
        return fail(s, "expire");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
    if (run(s, st) != SQLITE_DONE)
        return fail(s, "expire");
    *deleted = (uint64_t)sqlite3_changes(s->db);
    if (*deleted == 0)
        return PQ3_OK;
    /* Counters recomputed for exactness after an expiry. */
    return exec(s, "UPDATE devices SET queued_count=(SELECT count(*) FROM queue WHERE dev="
                   "devices.id), queued_bytes=(SELECT coalesce(sum(length(body)),0) FROM queue "
                   "WHERE dev=devices.id)");
}

static pq3_err sq_queue_total(pq3d_store *s, uint64_t *envelopes, uint64_t *bytes)
{
    sqlite3_stmt *st = stmt(s, "SELECT coalesce(sum(queued_count),0), "
                               "coalesce(sum(queued_bytes),0) FROM devices");
    int rc;
    if (st == NULL)
        return fail(s, "total");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *envelopes = (uint64_t)sqlite3_column_int64(st, 0);
        *bytes = (uint64_t)sqlite3_column_int64(st, 1);
    }
    done(s, st);
    return rc == SQLITE_ROW ? PQ3_OK : fail(s, "total");
}

static pq3_err sq_invite_add(pq3d_store *s, const uint8_t hash[32], uint64_t created)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO invites(hash, created) VALUES(?,?)");
    if (st == NULL)
        return fail(s, "invite");
    bind_blob(st, 1, hash, 32);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)created);
    return run(s, st) == SQLITE_DONE ? PQ3_OK : fail(s, "invite");
}

static pq3_err sq_invite_use(pq3d_store *s, const uint8_t hash[32], const uint8_t *handle,
                              size_t handle_len, uint64_t now)
{
    sqlite3_stmt *st = stmt(s, "UPDATE invites SET used_by=?, used_at=? WHERE hash=? AND "
                               "used_by IS NULL");
    if (st == NULL)
        return fail(s, "invite");
    bind_blob(st, 1, handle, handle_len);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    bind_blob(st, 3, hash, 32);
    if (run(s, st) != SQLITE_DONE)
        return fail(s, "invite");
    return sqlite3_changes(s->db) == 1 ? PQ3_OK : PQ3_ERR_UNKNOWN;
}

static pq3_err sq_presence_set(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    sqlite3_stmt *st = stmt(s, "INSERT OR REPLACE INTO presence(dev, node, since) SELECT id, ?, "
                               "strftime('%s','now') FROM devices WHERE handle=? AND device_id=?");
    if (st == NULL)
        return fail(s, "presence");
    sqlite3_bind_text(st, 1, s->node, -1, SQLITE_STATIC);
    bind_blob(st, 2, handle, handle_len);
    bind_blob(st, 3, device_id, PQ3_DEVICE_ID_BYTES);
    return run(s, st) == SQLITE_DONE ? PQ3_OK : fail(s, "presence");
}

static pq3_err sq_presence_clear(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                  const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM presence WHERE node=? AND dev=(SELECT id FROM "
                               "devices WHERE handle=? AND device_id=?)");
    if (st == NULL)
        return fail(s, "presence");
    sqlite3_bind_text(st, 1, s->node, -1, SQLITE_STATIC);
    bind_blob(st, 2, handle, handle_len);
    bind_blob(st, 3, device_id, PQ3_DEVICE_ID_BYTES);
    return run(s, st) == SQLITE_DONE ? PQ3_OK : fail(s, "presence");
}

static pq3_err sq_presence_reset(pq3d_store *s)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM presence WHERE node=?");
    if (st == NULL)
        return fail(s, "presence");
    sqlite3_bind_text(st, 1, s->node, -1, SQLITE_STATIC);
    return run(s, st) == SQLITE_DONE ? PQ3_OK : fail(s, "presence");
}

/* ---- key transparency ---------------------------------------------------- */

/* Copies a blob column of exactly n bytes; 0 when it has another length. */
static int col_fixed(sqlite3_stmt *st, int i, uint8_t *out, size_t n)
{
    if ((size_t)sqlite3_column_bytes(st, i) != n)
        return 0;
    memcpy(out, sqlite3_column_blob(st, i), n);
    return 1;
}

static pq3_err sq_kt_pending_add(pq3d_store *s, const pq3d_kt_pending *p)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO kt_pending(handle, v, key, value, accepted) "
                               "VALUES(?,?,?,?,?)");
    if (st == NULL)
        return fail(s, "kt");
    bind_blob(st, 1, p->handle, p->handle_len);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)p->v);
    bind_blob(st, 3, p->key, 32);
    bind_blob(st, 4, p->value, 32);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)p->accepted);
    return run(s, st) == SQLITE_DONE ? PQ3_OK : fail(s, "kt");
}

static pq3_err sq_kt_pending_accepted(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                      uint64_t v, uint64_t *accepted, uint8_t value[32])
{
    sqlite3_stmt *st = stmt(s, "SELECT accepted, value FROM kt_pending WHERE handle=? AND v=?");
    int rc;
    if (st == NULL)
        return fail(s, "kt");
    bind_blob(st, 1, handle, handle_len);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)v);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *accepted = (uint64_t)sqlite3_column_int64(st, 0);
        if (!col_fixed(st, 1, value, 32)) {
            done(s, st);
            snprintf(s->err, sizeof s->err, "a pending transparency record is malformed");
            return PQ3_ERR_IO;
        }
    }
    done(s, st);
    if (rc == SQLITE_ROW)
        return PQ3_OK;
    return rc == SQLITE_DONE ? PQ3_ERR_UNKNOWN : fail(s, "kt");
}

static pq3_err sq_kt_pending_list(pq3d_store *s, pq3d_kt_pending *out, uint32_t max,
                                  uint32_t *n)
{
    sqlite3_stmt *st = stmt(s, "SELECT id, handle, v, key, value, accepted FROM kt_pending "
                               "ORDER BY id LIMIT ?");
    int rc;
    if (st == NULL)
        return fail(s, "kt");
    sqlite3_bind_int64(st, 1, max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pq3d_kt_pending *p = &out[*n];
        size_t hl = (size_t)sqlite3_column_bytes(st, 1);
        if (hl == 0 || hl > PQ3_HANDLE_MAX || !col_fixed(st, 3, p->key, 32) ||
            !col_fixed(st, 4, p->value, 32)) {
            done(s, st);
            snprintf(s->err, sizeof s->err, "a pending transparency record is malformed");
            return PQ3_ERR_IO;
        }
        p->id = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(p->handle, sqlite3_column_blob(st, 1), hl);
        p->handle_len = hl;
        p->v = (uint64_t)sqlite3_column_int64(st, 2);
        p->accepted = (uint64_t)sqlite3_column_int64(st, 5);
        (*n)++;
    }
    done(s, st);
    return rc == SQLITE_DONE ? PQ3_OK : fail(s, "kt");
}

static pq3_err sq_kt_size(pq3d_store *s, uint64_t *size)
{
    sqlite3_stmt *st = stmt(s, "SELECT coalesce(max(e)+1, 0) FROM kt_epochs");
    int rc;
    if (st == NULL)
        return fail(s, "kt");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *size = (uint64_t)sqlite3_column_int64(st, 0);
    done(s, st);
    return rc == SQLITE_ROW ? PQ3_OK : fail(s, "kt");
}

static pq3_err sq_kt_epochs(pq3d_store *s, uint64_t from, pq3d_kt_epoch *out, uint32_t max,
                            uint32_t *n)
{
    sqlite3_stmt *st = stmt(s, "SELECT e, time, map_root FROM kt_epochs WHERE e>=? "
                               "ORDER BY e LIMIT ?");
    int rc;
    if (st == NULL)
        return fail(s, "kt");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 2, max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pq3d_kt_epoch *ep = &out[*n];
        if (!col_fixed(st, 2, ep->map_root, 32)) {
            done(s, st);
            snprintf(s->err, sizeof s->err, "a stored epoch is malformed");
            return PQ3_ERR_IO;
        }
        ep->e = (uint64_t)sqlite3_column_int64(st, 0);
        ep->time = (uint64_t)sqlite3_column_int64(st, 1);
        (*n)++;
    }
    done(s, st);
    return rc == SQLITE_DONE ? PQ3_OK : fail(s, "kt");
}

static pq3_err sq_kt_entries(pq3d_store *s, uint64_t from_e,
                             int (*fn)(void *arg, uint64_t e, const uint8_t key[32],
                                       const uint8_t value[32]),
                             void *arg)
{
    sqlite3_stmt *st = stmt(s, "SELECT e, key, value FROM kt_entries WHERE e>=? ORDER BY e");
    uint8_t key[32], value[32];
    int rc;
    if (st == NULL)
        return fail(s, "kt");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from_e);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!col_fixed(st, 1, key, 32) || !col_fixed(st, 2, value, 32)) {
            done(s, st);
            snprintf(s->err, sizeof s->err, "a stored map entry is malformed");
            return PQ3_ERR_IO;
        }
        if (fn(arg, (uint64_t)sqlite3_column_int64(st, 0), key, value) != 0) {
            done(s, st);
            return PQ3_ERR_NOMEM;
        }
    }
    done(s, st);
    return rc == SQLITE_DONE ? PQ3_OK : fail(s, "kt");
}

static pq3_err sq_kt_checkpoint(pq3d_store *s, uint64_t e, uint8_t **note, size_t *len)
{
    sqlite3_stmt *st = stmt(s, "SELECT checkpoint FROM kt_epochs WHERE e=?");
    int rc;
    pq3_err err = PQ3_OK;
    if (st == NULL)
        return fail(s, "kt");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)e);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        *note = malloc(n > 0 ? n : 1);
        if (*note == NULL)
            err = PQ3_ERR_NOMEM;
        else {
            memcpy(*note, sqlite3_column_blob(st, 0), n);
            *len = n;
        }
    } else if (rc == SQLITE_DONE)
        err = PQ3_ERR_UNKNOWN;
    else
        err = fail(s, "kt");
    done(s, st);
    return err;
}

static pq3_err sq_kt_publish(pq3d_store *s, const pq3d_kt_epoch *ep, const uint8_t *note,
                             size_t note_len, const pq3d_kt_pending *p, uint32_t n)
{
    sqlite3_stmt *st = stmt(s, "INSERT INTO kt_epochs(e, time, map_root, checkpoint) "
                               "VALUES(?,?,?,?)");
    int rc;
    if (st == NULL)
        return fail(s, "kt");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)ep->e);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)ep->time);
    bind_blob(st, 3, ep->map_root, 32);
    bind_blob(st, 4, note, note_len);
    rc = run(s, st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        snprintf(s->err, sizeof s->err, "epoch %llu exists already", (unsigned long long)ep->e);
        return PQ3_ERR_STATE;
    }
    if (rc != SQLITE_DONE)
        return fail(s, "kt");
    for (uint32_t i = 0; i < n; i++) {
        st = stmt(s, "INSERT INTO kt_entries(key, value, e) VALUES(?,?,?)");
        if (st == NULL)
            return fail(s, "kt");
        bind_blob(st, 1, p[i].key, 32);
        bind_blob(st, 2, p[i].value, 32);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)ep->e);
        if (run(s, st) != SQLITE_DONE)
            return fail(s, "kt");
        st = stmt(s, "DELETE FROM kt_pending WHERE id=?");
        if (st == NULL)
            return fail(s, "kt");
        sqlite3_bind_int64(st, 1, (sqlite3_int64)p[i].id);
        if (run(s, st) != SQLITE_DONE)
            return fail(s, "kt");
    }
    return PQ3_OK;
}

static pq3_err sq_kt_sequencer(pq3d_store *s, int *held)
{
    (void)s;
    *held = 1;
    return PQ3_OK;
}

static const struct pq3d_store_ops sq_ops = {
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .undo = sq_undo,
    .account_get = sq_account_get,
    .account_create = sq_account_create,
    .account_set_list = sq_account_set_list,
    .device_get = sq_device_get,
    .device_put_cert = sq_device_put_cert,
    .device_set_listed = sq_device_set_listed,
    .device_put_bundle = sq_device_put_bundle,
    .device_delete = sq_device_delete,
    .devices = sq_devices,
    .queue_put = sq_queue_put,
    .queue_fetch = sq_queue_fetch,
    .queue_ack = sq_queue_ack,
    .queue_count = sq_queue_count,
    .queue_expire = sq_queue_expire,
    .queue_total = sq_queue_total,
    .invite_add = sq_invite_add,
    .invite_use = sq_invite_use,
    .kt_pending_add = sq_kt_pending_add,
    .kt_pending_accepted = sq_kt_pending_accepted,
    .kt_pending_list = sq_kt_pending_list,
    .kt_size = sq_kt_size,
    .kt_epochs = sq_kt_epochs,
    .kt_entries = sq_kt_entries,
    .kt_checkpoint = sq_kt_checkpoint,
    .kt_publish = sq_kt_publish,
    .kt_sequencer = sq_kt_sequencer,
    .presence_set = sq_presence_set,
    .presence_clear = sq_presence_clear,
    .presence_reset = sq_presence_reset,
    .close = sq_close,
    .backend = "sqlite",
};
