/*
 * The device's SQLite store (docs/DEVICE.md §5; src/device/store.h).
 *
 * Durability: WAL with synchronous=FULL, so a commit that returned is on
 * disk (WAL with NORMAL may lose the last commits on power loss). Every
 * write is one BEGIN IMMEDIATE transaction: it takes the write lock at the
 * start, so two processes on one store never interleave a read-modify-write
 * of a session, and the second waits (busy_timeout) instead of failing
 * half-way.
 */
#include "device/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Schema version 1 (docs/DEVICE.md §5). Each later version appends one
 * migration; a store is brought up one step at a time, each step in its
 * own transaction with the user_version bump. */
static const char *const MIGRATIONS[] = {
    /* 0 -> 1 */
    "CREATE TABLE identity ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  handle BLOB NOT NULL, device_id BLOB NOT NULL, auth_pub BLOB NOT NULL,"
    "  account_pub BLOB, cert BLOB, active INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE prekeys ("
    "  id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, secret BLOB NOT NULL,"
    "  cache BLOB NOT NULL, bundle BLOB NOT NULL,"
    "  created INTEGER NOT NULL, expires INTEGER NOT NULL);"
    "CREATE TABLE contacts ("
    "  handle BLOB PRIMARY KEY, is_self INTEGER NOT NULL, account_pub BLOB NOT NULL,"
    "  verified INTEGER NOT NULL, list BLOB NOT NULL, list_version INTEGER NOT NULL,"
    "  pending_pub BLOB, pending_list BLOB) WITHOUT ROWID;"
    "CREATE TABLE devices ("
    "  handle BLOB NOT NULL REFERENCES contacts(handle) ON DELETE CASCADE,"
    "  device_id BLOB NOT NULL, cert BLOB NOT NULL, bundle BLOB,"
    "  PRIMARY KEY (handle, device_id)) WITHOUT ROWID;"
    "CREATE TABLE peers ("
    "  handle BLOB NOT NULL, device_id BLOB NOT NULL, header BLOB NOT NULL, store BLOB NOT NULL,"
    "  PRIMARY KEY (handle, device_id),"
    "  FOREIGN KEY (handle, device_id) REFERENCES devices(handle, device_id) ON DELETE CASCADE"
    ") WITHOUT ROWID;"
    "CREATE TABLE peer_sessions ("
    "  handle BLOB NOT NULL, device_id BLOB NOT NULL, session_id BLOB NOT NULL,"
    "  state BLOB NOT NULL, PRIMARY KEY (handle, device_id, session_id),"
    "  FOREIGN KEY (handle, device_id) REFERENCES peers(handle, device_id) ON DELETE CASCADE"
    ") WITHOUT ROWID;"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, to_handle BLOB NOT NULL, to_device BLOB NOT NULL,"
    "  msg BLOB NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE inbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, from_handle BLOB NOT NULL,"
    "  from_device BLOB NOT NULL, peer_handle BLOB NOT NULL, msg_id BLOB NOT NULL,"
    "  sent INTEGER NOT NULL, received INTEGER NOT NULL, text BLOB NOT NULL);"
    "CREATE TABLE seen (digest BLOB PRIMARY KEY, received INTEGER NOT NULL) WITHOUT ROWID;",
};
#define N_MIGRATIONS (sizeof MIGRATIONS / sizeof MIGRATIONS[0])

pq3_err pq3_store_fail(pq3_store *st, const char *what)
{
    int rc = sqlite3_errcode(st->db);
    pq3_dev_seterr(st->errbuf, "store: %s: %s%s", what, sqlite3_errmsg(st->db),
                   rc == SQLITE_FULL ? " (disk full)" : "");
    return PQ3_ERR_IO;
}

static pq3_err exec(pq3_store *st, const char *sql, const char *what)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return pq3_store_fail(st, what);
    return PQ3_OK;
}

static pq3_err pragma_int(pq3_store *st, const char *sql, int64_t *out)
{
    sqlite3_stmt *s;
    int rc;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return pq3_store_fail(st, sql);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return pq3_store_fail(st, sql);
    return PQ3_OK;
}

static pq3_err migrate(pq3_store *st)
{
    int64_t version;
    char sql[64];
    pq3_err err;

    if ((err = pq3_store_begin(st)) != PQ3_OK)
        return err;
    if ((err = pragma_int(st, "PRAGMA user_version", &version)) != PQ3_OK)
        goto fail;
    if (version > (int64_t)N_MIGRATIONS) {
        pq3_dev_seterr(st->errbuf,
                       "store: schema version %lld is newer than this program's %u; "
                       "use a newer OpenPQ3",
                       (long long)version, (unsigned)N_MIGRATIONS);
        err = PQ3_ERR_VERSION;
        goto fail;
    }
    for (; version < (int64_t)N_MIGRATIONS; version++) {
        if ((err = exec(st, MIGRATIONS[version], "migrating the schema")) != PQ3_OK)
            goto fail;
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", (long long)version);
    if ((err = exec(st, sql, "setting the schema version")) != PQ3_OK)
        goto fail;
    return pq3_store_commit(st);
fail:
    pq3_store_rollback(st);
    return err;
}

pq3_err pq3_store_open(pq3_store *st, const char *path, int busy_timeout_ms,
                       uint32_t max_pages, char *errbuf)
{
    char sql[64];
    int fd;
    pq3_err err;

    memset(st, 0, sizeof *st);
    st->errbuf = errbuf;
    /* Create the file ourselves, 0600 from the start: SQLite would create
     * it with the umask's mode, readable by others for a moment at least.
     * The WAL and shared-memory files take the main file's mode. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        pq3_dev_seterr(errbuf, "store: cannot open %s: %s", path, strerror(errno));
        return PQ3_ERR_IO;
    }
    close(fd);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        pq3_dev_seterr(errbuf, "store: cannot open %s: %s", path,
                       st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sqlite3_close(st->db);
        st->db = NULL;
        return PQ3_ERR_IO;
    }
    sqlite3_extended_result_codes(st->db, 0);
    sqlite3_busy_timeout(st->db, busy_timeout_ms);
    snprintf(sql, sizeof sql, "PRAGMA busy_timeout = %d", busy_timeout_ms);
    if ((err = exec(st, "PRAGMA journal_mode = WAL", "setting WAL")) != PQ3_OK ||
        (err = exec(st, "PRAGMA synchronous = FULL", "setting synchronous")) != PQ3_OK ||
        (err = exec(st, "PRAGMA foreign_keys = ON", "enabling foreign keys")) != PQ3_OK ||
        (err = exec(st, "PRAGMA secure_delete = ON", "enabling secure delete")) != PQ3_OK ||
        (err = migrate(st)) != PQ3_OK) {
        pq3_store_close(st);
        return err;
    }
    if (max_pages > 0) {
        snprintf(sql, sizeof sql, "PRAGMA max_page_count = %u", max_pages);
        err = exec(st, sql, "setting the page quota");
    }
    if (err != PQ3_OK) {
        pq3_store_close(st);
        return err;
    }
    return PQ3_OK;
}

void pq3_store_close(pq3_store *st)
{
    if (st->db != NULL)
        sqlite3_close(st->db);
    st->db = NULL;
}

pq3_err pq3_store_begin(pq3_store *st)
{
    if (st->in_tx) {
        pq3_dev_seterr(st->errbuf, "store: nested transaction");
        return PQ3_ERR_STATE;
    }
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return pq3_store_fail(st, "locking the store (another process holds it?)");
    st->in_tx = 1;
    return PQ3_OK;
}

pq3_err pq3_store_commit(pq3_store *st)
{
    st->in_tx = 0;
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        pq3_err err = pq3_store_fail(st, "commit");
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return err;
    }
    return PQ3_OK;
}

void pq3_store_rollback(pq3_store *st)
{
    if (st->in_tx)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_tx = 0;
}

pq3_err pq3_store_prepare(pq3_store *st, sqlite3_stmt **stmt, const char *sql)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK) {
        *stmt = NULL;
        return pq3_store_fail(st, "preparing a statement");
    }
    return PQ3_OK;
}

int pq3_store_step(pq3_store *st, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return pq3_store_fail(st, "a statement");
}

pq3_err pq3_store_run(pq3_store *st, sqlite3_stmt *stmt)
{
    int rc = pq3_store_step(st, stmt);
    sqlite3_finalize(stmt);
    return rc < 0 ? rc : PQ3_OK;
}

pq3_err pq3_store_col_blob(sqlite3_stmt *stmt, int col, uint8_t *buf, size_t cap, size_t *len)
{
    const void *p = sqlite3_column_blob(stmt, col);
    int n = sqlite3_column_bytes(stmt, col);
    if (sqlite3_column_type(stmt, col) != SQLITE_BLOB || n < 0 || (size_t)n > cap)
        return PQ3_ERR_DECODE;
    memcpy(buf, p, (size_t)n);
    *len = (size_t)n;
    return PQ3_OK;
}

pq3_err pq3_store_col_fixed(sqlite3_stmt *stmt, int col, uint8_t *buf, size_t n)
{
    size_t len;
    pq3_err err = pq3_store_col_blob(stmt, col, buf, n, &len);
    if (err == PQ3_OK && len != n)
        err = PQ3_ERR_DECODE;
    return err;
}
