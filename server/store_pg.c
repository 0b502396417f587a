/*
 * pq3d's PostgreSQL store (server/store.h, docs/SERVER.md §10, §11): libpq,
 * prepared statements with binary parameters and results, several pq3d
 * nodes on one database.
 *
 * Why the SQL looks the way it does:
 * - Inside a transaction an error aborts everything up to the last
 *   savepoint, so expected outcomes (a handle taken, a device unknown, a
 *   full queue) are never errors here: ON CONFLICT DO NOTHING, WHERE EXISTS
 *   and row counts report them instead.
 * - queue_put and queue_ack are one statement each (data-modifying CTEs):
 *   one round trip on the hot path. The device row is locked (FOR UPDATE)
 *   so two nodes queueing for one device keep its counters exact; the
 *   unique (device, msg_id) key with ON CONFLICT DO NOTHING catches the
 *   same envelope queued through another node meanwhile (the statement's
 *   snapshot predates the lock), and a second look finds its id. A full
 *   queue first drops the device's expired envelopes, then looks again.
 * - The writer takes a savepoint per job. RELEASE is deferred and sent with
 *   the next SAVEPOINT in one round trip; COMMIT releases what is left.
 * - The schema is created under an advisory lock: nodes may start together.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define SCHEMA_VERSION 2
#define KT_LOCK 0x7071336b     /* "pq3k": the sequencer's session advisory lock */
#define SCHEMA_LOCK 0x70713364  /* "pq3d": pg_advisory_xact_lock key */
#define NOTIFY_MAX 7000         /* under PostgreSQL's 8000-byte payload limit */

/* ---- statements ------------------------------------------------------------- */

enum {
    Q_ACCOUNT_GET,
    Q_ACCOUNT_CREATE,
    Q_ACCOUNT_SET_LIST,
    Q_DEVICE_GET,
    Q_DEVICE_PUT_CERT,
    Q_DEVICE_SET_LISTED,
    Q_DEVICE_PUT_BUNDLE,
    Q_DEVICE_DELETE,
    Q_DEVICES,
    Q_QUEUE_PUT,
    Q_QUEUE_DUP,
    Q_QUEUE_EXPIRE_DEV,
    Q_QUEUE_FETCH,
    Q_QUEUE_ACK,
    Q_QUEUE_COUNT,
    Q_QUEUE_EXPIRE,
    Q_QUEUE_RECOUNT,
    Q_QUEUE_TOTAL,
    Q_INVITE_ADD,
    Q_INVITE_USE,
    Q_PRESENCE_SET,
    Q_PRESENCE_CLEAR,
    Q_PRESENCE_RESET,
    Q_NOTIFY,
    Q_KT_PENDING_ADD,
    Q_KT_PENDING_ACCEPTED,
    Q_KT_PENDING_LIST,
    Q_KT_SIZE,
    Q_KT_EPOCHS,
    Q_KT_ENTRIES,
    Q_KT_CHECKPOINT,
    Q_KT_EPOCH_ADD,
    Q_KT_ENTRY_ADD,
    Q_KT_PENDING_DEL,
    Q_KT_LOCK,
    Q_COUNT
};

static const char *const sql[Q_COUNT] = {
    [Q_ACCOUNT_GET] = "SELECT account_pub, list, version FROM accounts WHERE handle=$1",
    [Q_ACCOUNT_CREATE] = "INSERT INTO accounts(handle, account_pub, list, version) "
                         "VALUES($1,$2,$3,$4::bigint) ON CONFLICT DO NOTHING",
    [Q_ACCOUNT_SET_LIST] = "UPDATE accounts SET list=$1, version=$2::bigint "
                           "WHERE handle=$3 AND version=$4::bigint",
    [Q_DEVICE_GET] = "SELECT device_id, listed, cert, bundle, coalesce(bundle_created,0) "
                     "FROM devices WHERE handle=$1 AND device_id=$2",
    [Q_DEVICE_PUT_CERT] = "INSERT INTO devices(handle, device_id, listed, cert) "
                          "SELECT $1::bytea, $2::bytea, $3::boolean, $4::bytea "
                          "WHERE EXISTS (SELECT 1 FROM accounts WHERE handle=$1) "
                          "ON CONFLICT(handle, device_id) DO UPDATE "
                          "SET cert=excluded.cert, listed=excluded.listed",
    [Q_DEVICE_SET_LISTED] = "UPDATE devices SET listed=$1::boolean "
                            "WHERE handle=$2 AND device_id=$3",
    [Q_DEVICE_PUT_BUNDLE] = "UPDATE devices SET bundle=$1, bundle_created=$2::bigint "
                            "WHERE handle=$3 AND device_id=$4",
    [Q_DEVICE_DELETE] = "DELETE FROM devices WHERE handle=$1 AND device_id=$2",
    [Q_DEVICES] = "SELECT device_id, listed, cert, bundle, coalesce(bundle_created,0) "
                  "FROM devices WHERE handle=$1 ORDER BY device_id LIMIT $2::bigint",
    /* $1 handle $2 device $3 msg_id $4 from_handle $5 from_device
     * $6 stored_at $7 expires $8 body $9 max_count $10 max_bytes.
     * Result: dev, duplicate id, new id, presence node (NULL when none). */
    [Q_QUEUE_PUT] =
        "WITH d AS (SELECT id, queued_count, queued_bytes FROM devices "
        "  WHERE handle=$1::bytea AND device_id=$2::bytea AND listed FOR UPDATE), "
        "dup AS (SELECT q.id FROM queue q JOIN d ON q.dev=d.id WHERE q.msg_id=$3::bytea), "
        "ins AS (INSERT INTO queue(dev, msg_id, from_handle, from_device, stored_at, "
        "  expires, body) SELECT d.id, $3::bytea, $4::bytea, $5::bytea, $6::bigint, $7::bigint, "
        "  $8::bytea FROM d "
        "  WHERE NOT EXISTS (SELECT 1 FROM dup) AND d.queued_count < $9::bigint "
        "  AND d.queued_bytes + length($8::bytea) <= $10::bigint "
        "  ON CONFLICT (dev, msg_id) DO NOTHING RETURNING id, dev), "
        "upd AS (UPDATE devices SET queued_count=queued_count+1, "
        "  queued_bytes=queued_bytes+length($8::bytea) FROM ins WHERE devices.id=ins.dev) "
        "SELECT (SELECT id FROM d), (SELECT id FROM dup), (SELECT id FROM ins), "
        "  (SELECT p.node FROM presence p JOIN d ON p.dev=d.id)",
    /* A fresh snapshot: the row another node committed while this one
     * waited for the device's lock. */
    [Q_QUEUE_DUP] = "SELECT q.id FROM queue q JOIN devices d ON q.dev=d.id "
                    "WHERE d.handle=$1 AND d.device_id=$2 AND q.msg_id=$3",
    /* The device's envelopes whose lifetime ended, with its counters. */
    [Q_QUEUE_EXPIRE_DEV] =
        "WITH d AS (SELECT id FROM devices WHERE handle=$1 AND device_id=$2 FOR UPDATE), "
        "del AS (DELETE FROM queue q USING d WHERE q.dev=d.id AND q.expires<=$3::bigint "
        "  RETURNING q.dev, length(q.body) AS b), "
        "sums AS (SELECT dev, count(*) AS c, sum(b) AS b FROM del GROUP BY dev), "
        "upd AS (UPDATE devices SET queued_count=queued_count-sums.c, "
        "  queued_bytes=queued_bytes-sums.b FROM sums WHERE devices.id=sums.dev) "
        "SELECT coalesce((SELECT c FROM sums), 0)::bigint",
    [Q_QUEUE_FETCH] = "SELECT q.id, q.from_handle, q.from_device, q.msg_id, q.stored_at, q.body "
                      "FROM queue q JOIN devices d ON q.dev=d.id "
                      "WHERE d.handle=$1 AND d.device_id=$2 AND q.expires>$3::bigint "
                      "AND NOT (q.id = ANY($4::bigint[])) ORDER BY q.id LIMIT $5::bigint",
    [Q_QUEUE_ACK] =
        "WITH d AS (SELECT id FROM devices WHERE handle=$1 AND device_id=$2 FOR UPDATE), "
        "del AS (DELETE FROM queue q USING d WHERE q.dev=d.id AND q.id = ANY($3::bigint[]) "
        "  RETURNING q.dev, length(q.body) AS b), "
        "sums AS (SELECT dev, count(*) AS c, sum(b) AS b FROM del GROUP BY dev), "
        "upd AS (UPDATE devices SET queued_count=queued_count-sums.c, "
        "  queued_bytes=queued_bytes-sums.b FROM sums WHERE devices.id=sums.dev) "
        "SELECT coalesce((SELECT c FROM sums), 0)::bigint",
    [Q_QUEUE_COUNT] = "SELECT count(*)::bigint, coalesce(sum(length(q.body)),0)::bigint "
                      "FROM queue q JOIN devices d ON q.dev=d.id "
                      "WHERE d.handle=$1 AND d.device_id=$2 AND q.expires>$3::bigint",
    [Q_QUEUE_EXPIRE] = "DELETE FROM queue WHERE expires<=$1::bigint",
    /* After an expiry, the counters of every device are recomputed. */
    [Q_QUEUE_RECOUNT] = "UPDATE devices SET queued_count=x.c, queued_bytes=x.b FROM "
                        "(SELECT d.id, count(q.id) AS c, coalesce(sum(length(q.body)),0) AS b "
                        " FROM devices d LEFT JOIN queue q ON q.dev=d.id GROUP BY d.id) x "
                        "WHERE devices.id=x.id AND (devices.queued_count<>x.c OR "
                        "devices.queued_bytes<>x.b)",
    [Q_QUEUE_TOTAL] = "SELECT coalesce(sum(queued_count),0)::bigint, "
                      "coalesce(sum(queued_bytes),0)::bigint FROM devices",
    [Q_INVITE_ADD] = "INSERT INTO invites(hash, created) VALUES($1, $2::bigint)",
    [Q_INVITE_USE] = "UPDATE invites SET used_by=$1, used_at=$2::bigint "
                     "WHERE hash=$3 AND used_by IS NULL",
    [Q_PRESENCE_SET] = "INSERT INTO presence(dev, node, since) "
                       "SELECT id, $3::text, extract(epoch from now())::bigint FROM devices "
                       "WHERE handle=$1 AND device_id=$2 "
                       "ON CONFLICT(dev) DO UPDATE SET node=excluded.node, since=excluded.since",
    [Q_PRESENCE_CLEAR] = "DELETE FROM presence WHERE node=$3 AND dev=(SELECT id FROM devices "
                         "WHERE handle=$1 AND device_id=$2)",
    [Q_PRESENCE_RESET] = "DELETE FROM presence WHERE node=$1",
    [Q_NOTIFY] = "SELECT pg_notify($1, $2)",
    [Q_KT_PENDING_ADD] = "INSERT INTO kt_pending(handle, v, key, value, accepted) "
                         "VALUES($1, $2::bigint, $3, $4, $5::bigint)",
    [Q_KT_PENDING_ACCEPTED] = "SELECT accepted, value FROM kt_pending WHERE handle=$1 AND v=$2::bigint",
    [Q_KT_PENDING_LIST] = "SELECT id, handle, v, key, value, accepted FROM kt_pending "
                          "ORDER BY id LIMIT $1::bigint",
    [Q_KT_SIZE] = "SELECT coalesce(max(e)+1, 0)::bigint FROM kt_epochs",
    [Q_KT_EPOCHS] = "SELECT e, time, map_root FROM kt_epochs WHERE e>=$1::bigint "
                    "ORDER BY e LIMIT $2::bigint",
    [Q_KT_ENTRIES] = "SELECT e, key, value FROM kt_entries WHERE e>=$1::bigint ORDER BY e",
    [Q_KT_CHECKPOINT] = "SELECT checkpoint FROM kt_epochs WHERE e=$1::bigint",
    [Q_KT_EPOCH_ADD] = "INSERT INTO kt_epochs(e, time, map_root, checkpoint) "
                       "VALUES($1::bigint, $2::bigint, $3, $4) ON CONFLICT DO NOTHING",
    [Q_KT_ENTRY_ADD] = "INSERT INTO kt_entries(key, value, e) VALUES($1, $2, $3::bigint)",
    [Q_KT_PENDING_DEL] = "DELETE FROM kt_pending WHERE id=$1::bigint",
    [Q_KT_LOCK] = "SELECT pg_try_advisory_lock(1886466923)",
};

static const char schema[] =
    "CREATE TABLE accounts(handle bytea PRIMARY KEY, account_pub bytea NOT NULL,"
    " list bytea NOT NULL, version bigint NOT NULL);"
    "CREATE TABLE devices(id bigserial PRIMARY KEY, handle bytea NOT NULL"
    " REFERENCES accounts(handle) ON DELETE CASCADE, device_id bytea NOT NULL,"
    " listed boolean NOT NULL, cert bytea NOT NULL, bundle bytea, bundle_created bigint,"
    " queued_count bigint NOT NULL DEFAULT 0, queued_bytes bigint NOT NULL DEFAULT 0,"
    " UNIQUE(handle, device_id));"
    "CREATE TABLE queue(id bigserial PRIMARY KEY, dev bigint NOT NULL"
    " REFERENCES devices(id) ON DELETE CASCADE, msg_id bytea NOT NULL,"
    " from_handle bytea NOT NULL, from_device bytea NOT NULL, stored_at bigint NOT NULL,"
    " expires bigint NOT NULL, body bytea NOT NULL, UNIQUE(dev, msg_id));"
    "CREATE INDEX queue_dev ON queue(dev, id);"
    "CREATE INDEX queue_expires ON queue(expires);"
    "CREATE TABLE invites(hash bytea PRIMARY KEY, created bigint NOT NULL, used_by bytea,"
    " used_at bigint);"
    "CREATE TABLE presence(dev bigint PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
    " node text NOT NULL, since bigint NOT NULL);"
    "CREATE INDEX presence_node ON presence(node);";

static const char schema_kt[] =
    "CREATE TABLE kt_pending(id bigserial PRIMARY KEY, handle bytea NOT NULL,"
    " v bigint NOT NULL, key bytea NOT NULL, value bytea NOT NULL, accepted bigint NOT NULL,"
    " UNIQUE(handle, v));"
    "CREATE TABLE kt_epochs(e bigint PRIMARY KEY, time bigint NOT NULL,"
    " map_root bytea NOT NULL, checkpoint bytea NOT NULL);"
    "CREATE TABLE kt_entries(key bytea PRIMARY KEY, value bytea NOT NULL, e bigint NOT NULL);"
    "CREATE INDEX kt_entries_e ON kt_entries(e);";

/* ---- parameters and results ---------------------------------------------------- */

#define PMAX 10

typedef struct params {
    const char *v[PMAX];
    int len[PMAX];
    int fmt[PMAX];
    char num[PMAX][24];
    int n;
} params;

static void p_blob(params *p, const void *v, size_t n)
{
    /* An empty bytea still needs a non-NULL pointer (NULL means SQL NULL). */
    p->v[p->n] = n > 0 ? (const char *)v : "";
    p->len[p->n] = (int)n;
    p->fmt[p->n] = 1;
    p->n++;
}

static void p_text(params *p, const char *t)
{
    p->v[p->n] = t;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

/* A limit, a time or a count: PostgreSQL's bigint is signed, and anything
 * above INT64_MAX means "no limit" here, so it is clamped. */
static void p_u64(params *p, uint64_t x)
{
    if (x > (uint64_t)INT64_MAX)
        x = (uint64_t)INT64_MAX;
    snprintf(p->num[p->n], sizeof p->num[p->n], "%llu", (unsigned long long)x);
    p_text(p, p->num[p->n]);
}

/* A value stored and compared for equality only (a list version): its 64
 * bits as a signed bigint, read back whole by col_u64 (as SQLite keeps it). */
static void p_bits(params *p, uint64_t x)
{
    int64_t v;
    memcpy(&v, &x, sizeof v);
    snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
    p_text(p, p->num[p->n]);
}

/* A big-endian integer column of 2, 4 or 8 bytes (binary results). */
static uint64_t col_u64(const PGresult *r, int row, int col)
{
    const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, col);
    int n = PQgetlength(r, row, col);
    uint64_t x = 0;
    if (PQgetisnull(r, row, col) || (n != 1 && n != 2 && n != 4 && n != 8))
        return 0;
    for (int i = 0; i < n; i++)
        x = (x << 8) | b[i];
    return x;
}

static pq3_err fail(pq3d_store *s, const char *what, const PGresult *r)
{
    const char *m = r != NULL ? PQresultErrorMessage(r) : "";
    if (m == NULL || *m == 0)
        m = PQerrorMessage(s->pg);
    /* The reason first: a statement's text would crowd it out. */
    snprintf(s->err, sizeof s->err, "%.*s (%.60s)", (int)strcspn(m, "\n"), m, what);
    return PQ3_ERR_IO;
}

/* Prepares statement q on first use (once per connection). */
static int prepare(pq3d_store *s, int q)
{
    char name[8];
    PGresult *r;
    int ok;
    if (s->pg_prepared & (1ull << q))
        return 1;
    snprintf(name, sizeof name, "q%d", q);
    r = PQprepare(s->pg, name, sql[q], 0, NULL);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        (void)fail(s, "prepare", r);
    PQclear(r);
    if (ok)
        s->pg_prepared |= 1ull << q;
    return ok;
}

/* Runs prepared statement q with binary results; NULL (and s->err set)
 * unless the result is `want`. */
static PGresult *run(pq3d_store *s, int q, const params *p, ExecStatusType want)
{
    char name[8];
    PGresult *r;
    if (!prepare(s, q))
        return NULL;
    snprintf(name, sizeof name, "q%d", q);
    r = PQexecPrepared(s->pg, name, p->n, p->v, p->len, p->fmt, 1);
    if (PQresultStatus(r) != want) {
        (void)fail(s, sql[q], r);
        PQclear(r);
        return NULL;
    }
    return r;
}

/* Runs a statement returning no rows; *changed (may be NULL) = rows touched. */
static pq3_err command(pq3d_store *s, int q, const params *p, uint64_t *changed)
{
    PGresult *r = run(s, q, p, PGRES_COMMAND_OK);
    if (r == NULL)
        return PQ3_ERR_IO;
    if (changed != NULL)
        *changed = strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return PQ3_OK;
}

static pq3_err exec(pq3d_store *s, const char *text)
{
    PGresult *r = PQexec(s->pg, text);
    pq3_err err = PQresultStatus(r) == PGRES_COMMAND_OK ? PQ3_OK : fail(s, text, r);
    PQclear(r);
    return err;
}

/* "{1,2,3}": a bigint[] parameter in text form; malloc'd. Ids above
 * INT64_MAX are left out: no row has one (bigserial), and PostgreSQL would
 * refuse the whole array as out of range. */
static char *id_array(const uint64_t *ids, uint32_t n)
{
    size_t cap = 3 + (size_t)n * 21, len = 0;
    char *a = malloc(cap);
    if (a == NULL)
        return NULL;
    a[len++] = '{';
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] <= (uint64_t)INT64_MAX)
            len += (size_t)snprintf(a + len, cap - len, "%s%llu", len > 1 ? "," : "",
                                    (unsigned long long)ids[i]);
    a[len++] = '}';
    a[len] = 0;
    return a;
}

/* ---- opening ------------------------------------------------------------------- */

static const struct pq3d_store_ops pg_ops;

/* libpq would print NOTICEs and some errors on stderr; a store never
 * prints (errors come back through pq3d_store_error). */
static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_to(const char *conninfo, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(conninfo);
    if (c != NULL)
        PQsetNoticeProcessor(c, no_notices, NULL);
    if (c == NULL) {
        snprintf(err, errlen, "PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c);
        snprintf(err, errlen, "cannot connect to PostgreSQL: %.*s", (int)strcspn(m, "\n"), m);
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Creates the schema when the database has none; refuses a newer one. */
static pq3_err setup(pq3d_store *s, char *err, size_t errlen)
{
    char lock[80];
    PGresult *r;
    int version = 0;

    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d)", SCHEMA_LOCK);
    if (exec(s, "SET client_min_messages=warning") != PQ3_OK || exec(s, "BEGIN") != PQ3_OK)
        goto bad;
    r = PQexec(s->pg, lock);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        (void)fail(s, "schema lock", r);
        PQclear(r);
        goto bad_tx;
    }
    PQclear(r);
    if (exec(s, "CREATE TABLE IF NOT EXISTS pq3_schema(version integer NOT NULL)") != PQ3_OK)
        goto bad_tx;
    r = PQexec(s->pg, "SELECT coalesce(max(version),0) FROM pq3_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        (void)fail(s, "schema", r);
        PQclear(r);
        goto bad_tx;
    }
    version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (version > SCHEMA_VERSION) {
        (void)exec(s, "ROLLBACK");
        snprintf(err, errlen, "the database has schema %d, newer than this pq3d (%d)", version,
                 SCHEMA_VERSION);
        return PQ3_ERR_VERSION;
    }
    if (version == 0 && (exec(s, schema) != PQ3_OK ||
                         exec(s, "INSERT INTO pq3_schema VALUES(1)") != PQ3_OK))
        goto bad_tx;
    /* version 2 added key transparency's tables */
    if (version < 2 && (exec(s, schema_kt) != PQ3_OK ||
                        exec(s, "INSERT INTO pq3_schema VALUES(2)") != PQ3_OK))
        goto bad_tx;
    if (exec(s, "COMMIT") != PQ3_OK)
        goto bad;
    return PQ3_OK;
bad_tx:
    (void)exec(s, "ROLLBACK");
bad:
    snprintf(err, errlen, "PostgreSQL: %s", s->err);
    return PQ3_ERR_IO;
}

pq3_err pq3d_pg_open(pq3d_store **out, const char *conninfo, const char *node, char *err,
                     size_t errlen)
{
    pq3d_store *s = calloc(1, sizeof *s);
    pq3_err e;

    *out = NULL;
    if (s == NULL)
        return PQ3_ERR_NOMEM;
    s->ops = &pg_ops;
    snprintf(s->node, sizeof s->node, "%s", node);
    s->pg = connect_to(conninfo, err, errlen);
    if (s->pg == NULL) {
        free(s);
        return PQ3_ERR_IO;
    }
    e = setup(s, err, errlen);
    if (e != PQ3_OK) {
        PQfinish(s->pg);
        free(s);
        return e;
    }
    *out = s;
    return PQ3_OK;
}

static void pg_close(pq3d_store *s)
{
    PQfinish(s->pg);
    free(s);
}

/* ---- transactions ----------------------------------------------------------------- */

static pq3_err pg_begin(pq3d_store *s)
{
    /* The server went away and came back (restart, failover): reconnect
     * between transactions, never inside one. */
    if (PQstatus(s->pg) != CONNECTION_OK) {
        PQreset(s->pg);
        s->pg_prepared = 0;
        if (PQstatus(s->pg) != CONNECTION_OK)
            return fail(s, "reconnect", NULL);
    }
    s->sp_release = 0;
    return exec(s, "BEGIN");
}

static pq3_err pg_commit(pq3d_store *s)
{
    s->sp_release = 0;          /* COMMIT releases every savepoint */
    return exec(s, "COMMIT");
}

static pq3_err pg_rollback(pq3d_store *s)
{
    s->sp_release = 0;
    return exec(s, "ROLLBACK");
}

static pq3_err pg_savepoint(pq3d_store *s)
{
    int rel = s->sp_release;
    s->sp_release = 0;
    return exec(s, rel ? "RELEASE j; SAVEPOINT j" : "SAVEPOINT j");
}

static pq3_err pg_release(pq3d_store *s)
{
    /* Sent with the next SAVEPOINT (or implied by COMMIT): one round trip
     * fewer per job. */
    s->sp_release = 1;
    return PQ3_OK;
}

static pq3_err pg_undo(pq3d_store *s)
{
    s->sp_release = 0;
    return exec(s, "ROLLBACK TO j; RELEASE j");
}

/* ---- accounts ----------------------------------------------------------------------- */

static pq3_err pg_account_get(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                              pq3d_account *out)
{
    params p = {0};
    PGresult *r;
    pq3_err err = PQ3_OK;
    p_blob(&p, handle, handle_len);
    if ((r = run(s, Q_ACCOUNT_GET, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    if (PQntuples(r) == 0) {
        err = PQ3_ERR_UNKNOWN;
    } else if (PQgetlength(r, 0, 0) != PQ3_ECDSA_PUB_BYTES ||
               (size_t)PQgetlength(r, 0, 1) > sizeof out->list) {
        snprintf(s->err, sizeof s->err, "account row malformed");
        err = PQ3_ERR_IO;
    } else {
        memcpy(out->account_pub, PQgetvalue(r, 0, 0), PQ3_ECDSA_PUB_BYTES);
        out->list_len = (size_t)PQgetlength(r, 0, 1);
        memcpy(out->list, PQgetvalue(r, 0, 1), out->list_len);
        out->version = col_u64(r, 0, 2);
    }
    PQclear(r);
    return err;
}

static pq3_err pg_account_create(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                 const pq3d_account *a)
{
    params p = {0};
    uint64_t n = 0;
    p_blob(&p, handle, handle_len);
    p_blob(&p, a->account_pub, PQ3_ECDSA_PUB_BYTES);
    p_blob(&p, a->list, a->list_len);
    p_bits(&p, a->version);
    if (command(s, Q_ACCOUNT_CREATE, &p, &n) != PQ3_OK)
        return PQ3_ERR_IO;
    return n == 1 ? PQ3_OK : PQ3_ERR_STATE;
}

static pq3_err pg_account_set_list(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                   const uint8_t *list, size_t list_len, uint64_t version,
                                   uint64_t old_version)
{
    params p = {0};
    uint64_t n = 0;
    p_blob(&p, list, list_len);
    p_bits(&p, version);
    p_blob(&p, handle, handle_len);
    p_bits(&p, old_version);
    if (command(s, Q_ACCOUNT_SET_LIST, &p, &n) != PQ3_OK)
        return PQ3_ERR_IO;
    if (n == 1)
        return PQ3_OK;
    /* Which failure: the account is gone, or its version moved on. */
    {
        pq3d_account a;
        pq3_err e = pg_account_get(s, handle, handle_len, &a);
        return e == PQ3_OK ? PQ3_ERR_STATE : e;
    }
}

/* ---- devices ------------------------------------------------------------------------ */

static void row_from(const PGresult *r, int i, pq3d_device_row *out)
{
    size_t cl = (size_t)PQgetlength(r, i, 2), bl = (size_t)PQgetlength(r, i, 3);
    memset(out->device_id, 0, PQ3_DEVICE_ID_BYTES);
    if (PQgetlength(r, i, 0) == PQ3_DEVICE_ID_BYTES)
        memcpy(out->device_id, PQgetvalue(r, i, 0), PQ3_DEVICE_ID_BYTES);
    out->listed = (uint8_t)(col_u64(r, i, 1) != 0);
    out->cert_len = cl <= sizeof out->cert ? cl : 0;
    memcpy(out->cert, PQgetvalue(r, i, 2), out->cert_len);
    out->bundle_len = !PQgetisnull(r, i, 3) && bl == PQ3_PREKEY_BUNDLE_BYTES ? bl : 0;
    if (out->bundle_len)
        memcpy(out->bundle, PQgetvalue(r, i, 3), bl);
    out->bundle_created = col_u64(r, i, 4);
}

static pq3_err pg_device_get(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                             const uint8_t device_id[PQ3_DEVICE_ID_BYTES], pq3d_device_row *out)
{
    params p = {0};
    PGresult *r;
    pq3_err err = PQ3_OK;
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    if ((r = run(s, Q_DEVICE_GET, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    if (PQntuples(r) == 0)
        err = PQ3_ERR_UNKNOWN;
    else
        row_from(r, 0, out);
    PQclear(r);
    return err;
}

static pq3_err pg_device_put_cert(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                  const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                  const uint8_t *cert, size_t cert_len, int listed)
{
    params p = {0};
    uint64_t n = 0;
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    p_text(&p, listed ? "true" : "false");
    p_blob(&p, cert, cert_len);
    if (command(s, Q_DEVICE_PUT_CERT, &p, &n) != PQ3_OK)
        return PQ3_ERR_IO;
    return n == 1 ? PQ3_OK : PQ3_ERR_UNKNOWN;
}

static pq3_err pg_device_set_listed(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                    const uint8_t device_id[PQ3_DEVICE_ID_BYTES], int listed)
{
    params p = {0};
    uint64_t n = 0;
    p_text(&p, listed ? "true" : "false");
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    if (command(s, Q_DEVICE_SET_LISTED, &p, &n) != PQ3_OK)
        return PQ3_ERR_IO;
    return n == 1 ? PQ3_OK : PQ3_ERR_UNKNOWN;
}

static pq3_err pg_device_put_bundle(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                    const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                    const uint8_t *bundle, size_t bundle_len, uint64_t created)
{
    params p = {0};
    uint64_t n = 0;
    p_blob(&p, bundle, bundle_len);
    p_bits(&p, created);
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    if (command(s, Q_DEVICE_PUT_BUNDLE, &p, &n) != PQ3_OK)
        return PQ3_ERR_IO;
    return n == 1 ? PQ3_OK : PQ3_ERR_UNKNOWN;
}

static pq3_err pg_device_delete(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    /* Its queue and presence go with it (ON DELETE CASCADE). */
    params p = {0};
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    return command(s, Q_DEVICE_DELETE, &p, NULL);
}

static pq3_err pg_devices(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                          pq3d_device_row *out, uint32_t max, uint32_t *n)
{
    params p = {0};
    PGresult *r;
    int rows;
    *n = 0;
    p_blob(&p, handle, handle_len);
    p_u64(&p, (uint64_t)max + 1);   /* one more than fits: the LIMIT error */
    if ((r = run(s, Q_DEVICES, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    rows = PQntuples(r);
    if ((uint32_t)rows > max) {
        PQclear(r);
        return PQ3_ERR_LIMIT;
    }
    for (int i = 0; i < rows; i++)
        row_from(r, i, &out[i]);
    *n = (uint32_t)rows;
    PQclear(r);
    return PQ3_OK;
}

/* ---- queues ------------------------------------------------------------------------- */

/* Deletes the device's expired envelopes; *n = how many. */
static pq3_err expire_device(pq3d_store *s, const pq3d_queued *e, uint64_t now, uint64_t *n)
{
    params p = {0};
    PGresult *r;
    p_blob(&p, e->to_handle, e->to_handle_len);
    p_blob(&p, e->to_device, PQ3_DEVICE_ID_BYTES);
    p_u64(&p, now);
    if ((r = run(s, Q_QUEUE_EXPIRE_DEV, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    *n = PQntuples(r) == 1 ? col_u64(r, 0, 0) : 0;
    PQclear(r);
    return PQ3_OK;
}

/* The id queued under (device, msg_id), 0 when none. */
static pq3_err find_duplicate(pq3d_store *s, const pq3d_queued *e, uint64_t *id)
{
    params p = {0};
    PGresult *r;
    p_blob(&p, e->to_handle, e->to_handle_len);
    p_blob(&p, e->to_device, PQ3_DEVICE_ID_BYTES);
    p_blob(&p, e->msg_id, sizeof e->msg_id);
    if ((r = run(s, Q_QUEUE_DUP, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    *id = PQntuples(r) == 1 ? col_u64(r, 0, 0) : 0;
    PQclear(r);
    return PQ3_OK;
}

static pq3_err pg_queue_put(pq3d_store *s, pq3d_queued *e, uint64_t now, uint32_t max_count,
                            uint64_t max_bytes)
{
    e->status = PQ3_ST_OK;
    e->duplicate = 0;
    e->queue_id = 0;
    e->node[0] = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        params p = {0};
        PGresult *r;
        uint64_t dup = 0, expired = 0;
        int inserted;

        p_blob(&p, e->to_handle, e->to_handle_len);
        p_blob(&p, e->to_device, PQ3_DEVICE_ID_BYTES);
        p_blob(&p, e->msg_id, sizeof e->msg_id);
        p_blob(&p, e->from_handle, e->from_handle_len);
        p_blob(&p, e->from_device, PQ3_DEVICE_ID_BYTES);
        p_u64(&p, e->stored_at);
        p_u64(&p, e->expires);
        p_blob(&p, e->msg, e->msg_len);
        p_u64(&p, max_count);
        p_u64(&p, max_bytes);
        if ((r = run(s, Q_QUEUE_PUT, &p, PGRES_TUPLES_OK)) == NULL)
            return PQ3_ERR_IO;
        if (PQntuples(r) != 1) {
            PQclear(r);
            snprintf(s->err, sizeof s->err, "queue: unexpected result");
            return PQ3_ERR_IO;
        }
        if (PQgetisnull(r, 0, 0)) {
            PQclear(r);
            e->status = PQ3_ST_NOT_FOUND;
            return PQ3_OK;
        }
        if (!PQgetisnull(r, 0, 1)) {
            e->duplicate = 1;
            e->queue_id = col_u64(r, 0, 1);
            PQclear(r);
            return PQ3_OK;
        }
        inserted = !PQgetisnull(r, 0, 2);
        if (inserted) {
            e->queue_id = col_u64(r, 0, 2);
            if (!PQgetisnull(r, 0, 3)) {
                int nl = PQgetlength(r, 0, 3);
                if (nl > 0 && nl <= PQ3D_NODE_MAX) {
                    memcpy(e->node, PQgetvalue(r, 0, 3), (size_t)nl);
                    e->node[nl] = 0;
                }
            }
        }
        PQclear(r);
        if (inserted)
            return PQ3_OK;
        /* Not inserted: another node queued the same msg_id meanwhile (ON
         * CONFLICT), or the queue is full, perhaps of expired envelopes. */
        if (find_duplicate(s, e, &dup) != PQ3_OK)
            return PQ3_ERR_IO;
        if (dup != 0) {
            e->duplicate = 1;
            e->queue_id = dup;
            return PQ3_OK;
        }
        if (attempt == 0 && expire_device(s, e, now, &expired) != PQ3_OK)
            return PQ3_ERR_IO;
        if (expired == 0)
            break;
    }
    e->status = PQ3_ST_QUEUE_FULL;
    return PQ3_OK;
}

static pq3_err pg_queue_fetch(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                              const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now,
                              const uint64_t *skip, uint32_t n_skip, pq3d_delivery *out,
                              uint32_t max, uint32_t *n)
{
    params p = {0};
    PGresult *r;
    char *skipped = id_array(skip, n_skip);
    pq3_err err = PQ3_OK;
    int rows;

    *n = 0;
    if (skipped == NULL)
        return PQ3_ERR_NOMEM;
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    p_u64(&p, now);
    p_text(&p, skipped);
    p_u64(&p, max);
    r = run(s, Q_QUEUE_FETCH, &p, PGRES_TUPLES_OK);
    free(skipped);
    if (r == NULL)
        return PQ3_ERR_IO;
    rows = PQntuples(r);
    for (int i = 0; i < rows && *n < max; i++) {
        pq3d_delivery *d = &out[*n];
        size_t hl = (size_t)PQgetlength(r, i, 1), bl = (size_t)PQgetlength(r, i, 5);
        if (hl == 0 || hl > PQ3_HANDLE_MAX || bl == 0 ||
            PQgetlength(r, i, 2) != PQ3_DEVICE_ID_BYTES || PQgetlength(r, i, 3) != 16)
            continue;                   /* not a row we wrote */
        d->queue_id = col_u64(r, i, 0);
        memcpy(d->from_handle, PQgetvalue(r, i, 1), hl);
        d->from_handle_len = hl;
        memcpy(d->from_device, PQgetvalue(r, i, 2), PQ3_DEVICE_ID_BYTES);
        memcpy(d->msg_id, PQgetvalue(r, i, 3), sizeof d->msg_id);
        d->stored_at = col_u64(r, i, 4);
        d->msg = malloc(bl);
        if (d->msg == NULL) {
            err = PQ3_ERR_NOMEM;
            break;
        }
        memcpy(d->msg, PQgetvalue(r, i, 5), bl);
        d->msg_len = bl;
        (*n)++;
    }
    PQclear(r);
    if (err != PQ3_OK) {
        pq3d_delivery_free(out, *n);
        *n = 0;
    }
    return err;
}

static pq3_err pg_queue_ack(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                            const uint8_t device_id[PQ3_DEVICE_ID_BYTES], const uint64_t *ids,
                            uint32_t n, uint32_t *deleted)
{
    params p = {0};
    PGresult *r;
    char *list;

    if (deleted != NULL)
        *deleted = 0;
    if (n == 0)
        return PQ3_OK;
    if ((list = id_array(ids, n)) == NULL)
        return PQ3_ERR_NOMEM;
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    p_text(&p, list);
    r = run(s, Q_QUEUE_ACK, &p, PGRES_TUPLES_OK);
    free(list);
    if (r == NULL)
        return PQ3_ERR_IO;
    if (deleted != NULL && PQntuples(r) == 1)
        *deleted = (uint32_t)col_u64(r, 0, 0);
    PQclear(r);
    return PQ3_OK;
}

static pq3_err pg_queue_count(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                              const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now,
                              uint32_t *count, uint64_t *bytes)
{
    params p = {0};
    PGresult *r;
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    p_u64(&p, now);
    if ((r = run(s, Q_QUEUE_COUNT, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    *count = (uint32_t)col_u64(r, 0, 0);
    *bytes = col_u64(r, 0, 1);
    PQclear(r);
    return PQ3_OK;
}

static pq3_err pg_queue_expire(pq3d_store *s, uint64_t now, uint64_t *deleted)
{
    params p = {0};
    p_u64(&p, now);
    *deleted = 0;
    if (command(s, Q_QUEUE_EXPIRE, &p, deleted) != PQ3_OK)
        return PQ3_ERR_IO;
    if (*deleted == 0)
        return PQ3_OK;
    p.n = 0;
    return command(s, Q_QUEUE_RECOUNT, &p, NULL);
}

static pq3_err pg_queue_total(pq3d_store *s, uint64_t *envelopes, uint64_t *bytes)
{
    params p = {0};
    PGresult *r = run(s, Q_QUEUE_TOTAL, &p, PGRES_TUPLES_OK);
    if (r == NULL)
        return PQ3_ERR_IO;
    *envelopes = col_u64(r, 0, 0);
    *bytes = col_u64(r, 0, 1);
    PQclear(r);
    return PQ3_OK;
}

/* ---- invitations -------------------------------------------------------------------- */

static pq3_err pg_invite_add(pq3d_store *s, const uint8_t hash[32], uint64_t created)
{
    params p = {0};
    p_blob(&p, hash, 32);
    p_u64(&p, created);
    return command(s, Q_INVITE_ADD, &p, NULL);
}

static pq3_err pg_invite_use(pq3d_store *s, const uint8_t hash[32], const uint8_t *handle,
                             size_t handle_len, uint64_t now)
{
    params p = {0};
    uint64_t n = 0;
    p_blob(&p, handle, handle_len);
    p_u64(&p, now);
    p_blob(&p, hash, 32);
    if (command(s, Q_INVITE_USE, &p, &n) != PQ3_OK)
        return PQ3_ERR_IO;
    return n == 1 ? PQ3_OK : PQ3_ERR_UNKNOWN;
}

/* ---- presence and notifications (§11) ------------------------------------------------ */

static pq3_err pg_presence_set(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    params p = {0};
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    p_text(&p, s->node);
    return command(s, Q_PRESENCE_SET, &p, NULL);
}

static pq3_err pg_presence_clear(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                 const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    params p = {0};
    p_blob(&p, handle, handle_len);
    p_blob(&p, device_id, PQ3_DEVICE_ID_BYTES);
    p_text(&p, s->node);
    return command(s, Q_PRESENCE_CLEAR, &p, NULL);
}

static pq3_err pg_presence_reset(pq3d_store *s)
{
    params p = {0};
    p_text(&p, s->node);
    return command(s, Q_PRESENCE_RESET, &p, NULL);
}

static pq3_err notify_one(pq3d_store *s, const char *channel, const char *payload)
{
    params p = {0};
    PGresult *r;
    p_text(&p, channel);
    p_text(&p, payload);
    if ((r = run(s, Q_NOTIFY, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    PQclear(r);
    return PQ3_OK;
}

static pq3_err pg_notify(pq3d_store *s, const char *node, const char *payload)
{
    char channel[PQ3D_NODE_MAX + 8], *chunk;
    size_t len = strlen(payload), off = 0;
    pq3_err err = PQ3_OK;

    snprintf(channel, sizeof channel, "pq3_%s", node);
    if (len <= NOTIFY_MAX)
        return notify_one(s, channel, payload);
    /* Too long for one notification: split at item boundaries (','). */
    if ((chunk = malloc(NOTIFY_MAX + 1)) == NULL)
        return PQ3_ERR_NOMEM;
    while (off < len && err == PQ3_OK) {
        size_t n = len - off;
        if (n > NOTIFY_MAX) {
            n = NOTIFY_MAX;
            while (n > 0 && payload[off + n] != ',')
                n--;
            if (n == 0) {       /* one item longer than a notification: not ours */
                snprintf(s->err, sizeof s->err, "notify: item longer than %d bytes",
                         NOTIFY_MAX);
                err = PQ3_ERR_ARG;
                break;
            }
        }
        memcpy(chunk, payload + off, n);
        chunk[n] = 0;
        err = notify_one(s, channel, chunk);
        off += n;
        if (off < len && payload[off] == ',')
            off++;
    }
    free(chunk);
    return err;
}

/* ---- the LISTEN connection -------------------------------------------------------------- */

struct pq3d_listener {
    PGconn *pg;
};

pq3_err pq3d_pg_listener_open(pq3d_listener **out, const char *conninfo, const char *node,
                              char *err, size_t errlen)
{
    char cmd[PQ3D_NODE_MAX + 32];
    pq3d_listener *l;
    PGresult *r;

    *out = NULL;
    /* The node name is [A-Za-z0-9_-] (checked at open): safe inside a
     * quoted identifier, and quoting keeps its case as pg_notify has it. */
    for (const char *c = node; *c; c++)
        if (*c == '"')
            return PQ3_ERR_ARG;
    if ((l = calloc(1, sizeof *l)) == NULL)
        return PQ3_ERR_NOMEM;
    if ((l->pg = connect_to(conninfo, err, errlen)) == NULL) {
        free(l);
        return PQ3_ERR_IO;
    }
    snprintf(cmd, sizeof cmd, "LISTEN \"pq3_%s\"", node);
    r = PQexec(l->pg, cmd);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *m = PQresultErrorMessage(r);
        snprintf(err, errlen, "LISTEN: %.*s", (int)strcspn(m, "\n"), m);
        PQclear(r);
        PQfinish(l->pg);
        free(l);
        return PQ3_ERR_IO;
    }
    PQclear(r);
    if (PQsetnonblocking(l->pg, 1) != 0) {
        snprintf(err, errlen, "LISTEN: cannot make the connection non-blocking");
        PQfinish(l->pg);
        free(l);
        return PQ3_ERR_IO;
    }
    *out = l;
    return PQ3_OK;
}

int pq3d_pg_listener_fd(const pq3d_listener *l)
{
    return l->pg != NULL ? PQsocket(l->pg) : -1;
}

pq3_err pq3d_pg_listener_drain(pq3d_listener *l, void (*fn)(void *arg, const char *payload),
                               void *arg)
{
    PGnotify *n;
    if (PQconsumeInput(l->pg) == 0 || PQstatus(l->pg) != CONNECTION_OK)
        return PQ3_ERR_IO;
    while ((n = PQnotifies(l->pg)) != NULL) {
        fn(arg, n->extra);
        PQfreemem(n);
    }
    return PQ3_OK;
}

void pq3d_pg_listener_close(pq3d_listener *l)
{
    PQfinish(l->pg);
    free(l);
}

/* ---- key transparency ---------------------------------------------------- */

/* Copies a bytea column of exactly n bytes; 0 when it has another length. */
static int col_fixed(const PGresult *r, int row, int col, uint8_t *out, size_t n)
{
    if ((size_t)PQgetlength(r, row, col) != n)
        return 0;
    memcpy(out, PQgetvalue(r, row, col), n);
    return 1;
}

static pq3_err pg_kt_pending_add(pq3d_store *s, const pq3d_kt_pending *k)
{
    params p = {0};
    p_blob(&p, k->handle, k->handle_len);
    p_bits(&p, k->v);
    p_blob(&p, k->key, 32);
    p_blob(&p, k->value, 32);
    p_u64(&p, k->accepted);
    return command(s, Q_KT_PENDING_ADD, &p, NULL);
}

static pq3_err pg_kt_pending_accepted(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                      uint64_t v, uint64_t *accepted, uint8_t value[32])
{
    params p = {0};
    PGresult *r;
    pq3_err err = PQ3_OK;
    p_blob(&p, handle, handle_len);
    p_bits(&p, v);
    if ((r = run(s, Q_KT_PENDING_ACCEPTED, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    if (PQntuples(r) == 0) {
        err = PQ3_ERR_UNKNOWN;
    } else if (!col_fixed(r, 0, 1, value, 32)) {
        snprintf(s->err, sizeof s->err, "a pending transparency record is malformed");
        err = PQ3_ERR_IO;
    } else {
        *accepted = col_u64(r, 0, 0);
    }
    PQclear(r);
    return err;
}

static pq3_err pg_kt_pending_list(pq3d_store *s, pq3d_kt_pending *out, uint32_t max,
                                  uint32_t *n)
{
    params p = {0};
    PGresult *r;
    p_u64(&p, max);
    if ((r = run(s, Q_KT_PENDING_LIST, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    for (int i = 0; i < PQntuples(r) && *n < max; i++) {
        pq3d_kt_pending *k = &out[*n];
        size_t hl = (size_t)PQgetlength(r, i, 1);
        if (hl == 0 || hl > PQ3_HANDLE_MAX || !col_fixed(r, i, 3, k->key, 32) ||
            !col_fixed(r, i, 4, k->value, 32)) {
            PQclear(r);
            snprintf(s->err, sizeof s->err, "a pending transparency record is malformed");
            return PQ3_ERR_IO;
        }
        k->id = col_u64(r, i, 0);
        memcpy(k->handle, PQgetvalue(r, i, 1), hl);
        k->handle_len = hl;
        k->v = col_u64(r, i, 2);
        k->accepted = col_u64(r, i, 5);
        (*n)++;
    }
    PQclear(r);
    return PQ3_OK;
}

static pq3_err pg_kt_size(pq3d_store *s, uint64_t *size)
{
    params p = {0};
    PGresult *r;
    if ((r = run(s, Q_KT_SIZE, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    *size = col_u64(r, 0, 0);
    PQclear(r);
    return PQ3_OK;
}

static pq3_err pg_kt_epochs(pq3d_store *s, uint64_t from, pq3d_kt_epoch *out, uint32_t max,
                            uint32_t *n)
{
    params p = {0};
    PGresult *r;
    p_u64(&p, from);
    p_u64(&p, max);
    if ((r = run(s, Q_KT_EPOCHS, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    for (int i = 0; i < PQntuples(r) && *n < max; i++) {
        pq3d_kt_epoch *ep = &out[*n];
        if (!col_fixed(r, i, 2, ep->map_root, 32)) {
            PQclear(r);
            snprintf(s->err, sizeof s->err, "a stored epoch is malformed");
            return PQ3_ERR_IO;
        }
        ep->e = col_u64(r, i, 0);
        ep->time = col_u64(r, i, 1);
        (*n)++;
    }
    PQclear(r);
    return PQ3_OK;
}

static pq3_err pg_kt_entries(pq3d_store *s, uint64_t from_e,
                             int (*fn)(void *arg, uint64_t e, const uint8_t key[32],
                                       const uint8_t value[32]),
                             void *arg)
{
    params p = {0};
    PGresult *r;
    uint8_t key[32], value[32];
    pq3_err err = PQ3_OK;
    p_u64(&p, from_e);
    if ((r = run(s, Q_KT_ENTRIES, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    for (int i = 0; i < PQntuples(r) && err == PQ3_OK; i++) {
        if (!col_fixed(r, i, 1, key, 32) || !col_fixed(r, i, 2, value, 32)) {
            snprintf(s->err, sizeof s->err, "a stored map entry is malformed");
            err = PQ3_ERR_IO;
        } else if (fn(arg, col_u64(r, i, 0), key, value) != 0) {
            err = PQ3_ERR_NOMEM;
        }
    }
    PQclear(r);
    return err;
}

static pq3_err pg_kt_checkpoint(pq3d_store *s, uint64_t e, uint8_t **note, size_t *len)
{
    params p = {0};
    PGresult *r;
    pq3_err err = PQ3_OK;
    p_u64(&p, e);
    if ((r = run(s, Q_KT_CHECKPOINT, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    if (PQntuples(r) == 0) {
        err = PQ3_ERR_UNKNOWN;
    } else {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        if ((*note = malloc(n > 0 ? n : 1)) == NULL) {
            err = PQ3_ERR_NOMEM;
        } else {
            memcpy(*note, PQgetvalue(r, 0, 0), n);
            *len = n;
        }
    }
    PQclear(r);
    return err;
}

static pq3_err pg_kt_publish(pq3d_store *s, const pq3d_kt_epoch *ep, const uint8_t *note,
                             size_t note_len, const pq3d_kt_pending *k, uint32_t n)
{
    params p = {0};
    uint64_t changed = 0;
    p_u64(&p, ep->e);
    p_u64(&p, ep->time);
    p_blob(&p, ep->map_root, 32);
    p_blob(&p, note, note_len);
    if (command(s, Q_KT_EPOCH_ADD, &p, &changed) != PQ3_OK)
        return PQ3_ERR_IO;
    if (changed != 1) {
        /* ON CONFLICT DO NOTHING: another sequencer published e (§7). */
        snprintf(s->err, sizeof s->err, "epoch %llu exists already", (unsigned long long)ep->e);
        return PQ3_ERR_STATE;
    }
    for (uint32_t i = 0; i < n; i++) {
        params q = {0}, d = {0};
        p_blob(&q, k[i].key, 32);
        p_blob(&q, k[i].value, 32);
        p_u64(&q, ep->e);
        if (command(s, Q_KT_ENTRY_ADD, &q, NULL) != PQ3_OK)
            return PQ3_ERR_IO;
        p_u64(&d, k[i].id);
        if (command(s, Q_KT_PENDING_DEL, &d, NULL) != PQ3_OK)
            return PQ3_ERR_IO;
    }
    return PQ3_OK;
}

static pq3_err pg_kt_sequencer(pq3d_store *s, int *held)
{
    params p = {0};
    PGresult *r;
    if ((r = run(s, Q_KT_LOCK, &p, PGRES_TUPLES_OK)) == NULL)
        return PQ3_ERR_IO;
    /* boolean, binary: one byte */
    *held = PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0] == 1;
    PQclear(r);
    return PQ3_OK;
}

static const struct pq3d_store_ops pg_ops = {
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .savepoint = pg_savepoint,
    .release = pg_release,
    .undo = pg_undo,
    .account_get = pg_account_get,
    .account_create = pg_account_create,
    .account_set_list = pg_account_set_list,
    .device_get = pg_device_get,
    .device_put_cert = pg_device_put_cert,
    .device_set_listed = pg_device_set_listed,
    .device_put_bundle = pg_device_put_bundle,
    .device_delete = pg_device_delete,
    .devices = pg_devices,
    .queue_put = pg_queue_put,
    .queue_fetch = pg_queue_fetch,
    .queue_ack = pg_queue_ack,
    .queue_count = pg_queue_count,
    .queue_expire = pg_queue_expire,
    .queue_total = pg_queue_total,
    .invite_add = pg_invite_add,
    .invite_use = pg_invite_use,
    .kt_pending_add = pg_kt_pending_add,
    .kt_pending_accepted = pg_kt_pending_accepted,
    .kt_pending_list = pg_kt_pending_list,
    .kt_size = pg_kt_size,
    .kt_epochs = pg_kt_epochs,
    .kt_entries = pg_kt_entries,
    .kt_checkpoint = pg_kt_checkpoint,
    .kt_publish = pg_kt_publish,
    .kt_sequencer = pg_kt_sequencer,
    .presence_set = pg_presence_set,
    .presence_clear = pg_presence_clear,
    .presence_reset = pg_presence_reset,
    .notify = pg_notify,
    .close = pg_close,
    .backend = "postgresql",
};
