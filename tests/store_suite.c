/*
 * pq3d's storage interface (server/store.h; docs/SERVER.md §10, §11): one
 * suite, the same checks over whichever backend it is given, so SQLite
 * (store_sqlite.c) and PostgreSQL (store_pg.c) are held to one contract.
 *
 *   store_suite            SQLite in a fresh temporary directory
 *   store_suite pg         PostgreSQL at $PQ3_PG_CONNINFO (tests/pg_cluster.sh)
 *   store_suite URL        "sqlite:PATH" (a new file) or "pg:CONNINFO"
 *   PQ3_STORE_URL=URL      the same, when no argument is given
 *
 * On PostgreSQL the suite works in a database of its own, pq3_store_suite,
 * dropped (with whatever an earlier run left in it) and created afresh on the
 * server CONNINFO names, and dropped again at the end; the role needs
 * CREATEDB (pg_cluster.sh's is a superuser).
 */
#define _GNU_SOURCE /* nftw, strdup, pthread_barrier */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store.h"
#include "testutil.h"

#define NOW 1700000000u
#define LONG_LIFE (NOW + 1000000u)   /* envelopes that no expiry here touches */
#define SUITE_DB "pq3_store_suite"
#define BIG (1u << 30)               /* a queue limit never reached */

/* A handle from a string literal, embedded zero bytes included. */
#define H(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

static char url[4096];          /* the store under test */
static int is_pg;
static char tmpdir[256];        /* scratch files (SQLite databases) */
static char pg_server[1024];    /* PostgreSQL: CONNINFO as given (its server) */
static PGconn *admin;           /* PostgreSQL: a connection to that server */
static uint64_t max_queue_id;   /* the highest queue id handed out so far */

/* ---- helpers ---------------------------------------------------------------- */

/* An error message as store.h promises it: one non-empty line. */
static int one_line(const char *m)
{
    return m != NULL && m[0] != 0 && strchr(m, '\n') == NULL && strchr(m, '\r') == NULL;
}

static pq3d_store *open_at(const char *u, const char *node)
{
    pq3d_store *s = NULL;
    char err[256] = "";
    pq3_err e = pq3d_store_open(&s, u, node, err, sizeof err);
    CHECKF(e == PQ3_OK && s != NULL, "open %s as %s: %s: %s", u, node, pq3_strerror(e), err);
    return e == PQ3_OK ? s : NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void id_of(uint8_t id[PQ3_DEVICE_ID_BYTES], uint8_t b)
{
    memset(id, b, PQ3_DEVICE_ID_BYTES);
}

static void acct_fill(pq3d_account *a, uint8_t seed, size_t list_len, uint64_t version)
{
    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < sizeof a->account_pub; i++)
        a->account_pub[i] = (uint8_t)(seed + i);
    for (size_t i = 0; i < list_len; i++)
        a->list[i] = (uint8_t)(seed * 3u + i * 11u + (i >> 8));
    a->list_len = list_len;
    a->version = version;
}

static int acct_eq(const pq3d_account *a, const pq3d_account *b)
{
    return memcmp(a->account_pub, b->account_pub, sizeof a->account_pub) == 0 &&
           a->list_len == b->list_len && memcmp(a->list, b->list, a->list_len) == 0 &&
           a->version == b->version;
}

static pq3_err mk_account(pq3d_store *s, const uint8_t *h, size_t hl, uint8_t seed)
{
    pq3d_account a;
    acct_fill(&a, seed, 64, 1);
    return pq3d_store_account_create(s, h, hl, &a);
}

static void cert_fill(uint8_t *c, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        c[i] = (uint8_t)(seed ^ (i * 13u) ^ (i >> 8));
}

static pq3_err mk_device(pq3d_store *s, const uint8_t *h, size_t hl, uint8_t idb, int listed)
{
    uint8_t id[PQ3_DEVICE_ID_BYTES], cert[80];
    id_of(id, idb);
    cert_fill(cert, sizeof cert, idb);
    return pq3d_store_device_put_cert(s, h, hl, id, cert, sizeof cert, listed);
}

/* Envelope k: its body is a pattern of k, its msg_id carries k. */
static uint8_t body_byte(uint32_t k, size_t i)
{
    return (uint8_t)(k * 131u + i * 7u + (i >> 9));
}

static uint8_t body_buf[PQ3_WIRE_MAX_ENVELOPE];
static const uint8_t sender[] = "sender\0with zero";

static void env_fill(pq3d_queued *q, const uint8_t *h, size_t hl, uint8_t devb, uint32_t k,
                     size_t len, uint64_t expires)
{
    memset(q, 0, sizeof *q);
    q->to_handle = h;
    q->to_handle_len = hl;
    id_of(q->to_device, devb);
    q->from_handle = sender;
    q->from_handle_len = sizeof sender - 1;
    memset(q->from_device, 0xee, sizeof q->from_device);
    memset(q->msg_id, 0x42, sizeof q->msg_id);
    q->msg_id[0] = (uint8_t)(k >> 24);
    q->msg_id[1] = (uint8_t)(k >> 16);
    q->msg_id[2] = (uint8_t)(k >> 8);
    q->msg_id[3] = (uint8_t)k;
    for (size_t i = 0; i < len; i++)
        body_buf[i] = body_byte(k, i);
    q->msg = body_buf;
    q->msg_len = len;
    q->stored_at = NOW + k;
    q->expires = expires;
    /* outputs: garbage, queue_put must set them */
    q->status = 0xff;
    q->duplicate = 0xff;
    q->queue_id = 0xdeadbeef;
    memset(q->node, 'x', sizeof q->node - 1);
    q->node[sizeof q->node - 1] = 0;
}

/* Queues envelope k and returns its status (0xff when the call failed). */
static uint8_t put_env(pq3d_store *s, pq3d_queued *q, uint64_t now, uint32_t maxc, uint64_t maxb)
{
    pq3_err e = pq3d_store_queue_put(s, q, now, maxc, maxb);
    CHECKF(e == PQ3_OK, "queue_put: %s: %s", pq3_strerror(e), pq3d_store_error(s));
    if (e != PQ3_OK)
        return 0xff;
    if (q->status == PQ3_ST_OK && q->queue_id > max_queue_id)
        max_queue_id = q->queue_id;
    return q->status;
}

static uint8_t put_simple(pq3d_store *s, const uint8_t *h, size_t hl, uint8_t devb, uint32_t k,
                          size_t len, uint64_t *id)
{
    pq3d_queued q;
    uint8_t st;
    env_fill(&q, h, hl, devb, k, len, LONG_LIFE);
    st = put_env(s, &q, NOW, BIG, BIG);
    if (id != NULL)
        *id = q.queue_id;
    return st;
}

static uint32_t k_of(const pq3d_delivery *d)
{
    return (uint32_t)d->msg_id[0] << 24 | (uint32_t)d->msg_id[1] << 16 |
           (uint32_t)d->msg_id[2] << 8 | d->msg_id[3];
}

/* A delivery is envelope k of env_fill, byte for byte. */
static int delivery_is(const pq3d_delivery *d, uint32_t k, size_t len)
{
    uint8_t mid[16];
    memset(mid, 0x42, sizeof mid);
    memcpy(mid, d->msg_id, 4);
    if (k_of(d) != k || memcmp(mid, d->msg_id, 16) != 0 || d->msg_len != len ||
        d->msg == NULL || d->stored_at != NOW + k ||
        d->from_handle_len != sizeof sender - 1 ||
        memcmp(d->from_handle, sender, sizeof sender - 1) != 0)
        return 0;
    for (size_t i = 0; i < 16; i++)
        if (d->from_device[i] != 0xee)
            return 0;
    for (size_t i = 0; i < len; i++)
        if (d->msg[i] != body_byte(k, i))
            return 0;
    return 1;
}

static pq3d_delivery dl[64];

static uint32_t fetch(pq3d_store *s, const uint8_t *h, size_t hl, uint8_t devb, uint64_t now,
                      const uint64_t *skip, uint32_t n_skip, uint32_t max)
{
    uint8_t id[PQ3_DEVICE_ID_BYTES];
    uint32_t n = 0xffffffffu;
    pq3_err e;
    id_of(id, devb);
    if (max > 64)
        max = 64;
    e = pq3d_store_queue_fetch(s, h, hl, id, now, skip, n_skip, dl, max, &n);
    CHECKF(e == PQ3_OK, "queue_fetch: %s: %s", pq3_strerror(e), pq3d_store_error(s));
    if (e != PQ3_OK)
        return 0;
    CHECKF(n <= max, "fetch returned %u > max %u", n, max);
    return n <= max ? n : 0;
}

static void count_of(pq3d_store *s, const uint8_t *h, size_t hl, uint8_t devb, uint64_t now,
                     uint32_t *count, uint64_t *bytes)
{
    uint8_t id[PQ3_DEVICE_ID_BYTES];
    id_of(id, devb);
    *count = 0xffffffffu;
    *bytes = UINT64_MAX;
    CHECK_OK(pq3d_store_queue_count(s, h, hl, id, now, count, bytes));
}

static uint32_t ack(pq3d_store *s, const uint8_t *h, size_t hl, uint8_t devb, const uint64_t *ids,
                    uint32_t n)
{
    uint8_t id[PQ3_DEVICE_ID_BYTES];
    uint32_t deleted = 0xffffffffu;
    id_of(id, devb);
    CHECK_OK(pq3d_store_queue_ack(s, h, hl, id, ids, n, &deleted));
    return deleted;
}

static void total_of(pq3d_store *s, uint64_t *env, uint64_t *bytes)
{
    *env = *bytes = UINT64_MAX;
    CHECK_OK(pq3d_store_queue_total(s, env, bytes));
}

/* The node queue_put reports for a device: a fresh envelope put and acked. */
static void node_seen(pq3d_store *s, const uint8_t *h, size_t hl, uint8_t devb, uint32_t k,
                      char node[PQ3D_NODE_MAX + 1])
{
    pq3d_queued q;
    env_fill(&q, h, hl, devb, k, 8, LONG_LIFE);
    node[0] = '?';
    node[1] = 0;
    if (put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK) {
        memcpy(node, q.node, sizeof q.node);
        node[PQ3D_NODE_MAX] = 0;
        CHECK(ack(s, h, hl, devb, &q.queue_id, 1) == 1);
    }
}

/* ---- "Nothing here prints" (store.h) ------------------------------------------ */

/* While a part of the suite runs, stderr goes through a pipe to a forked
 * copier that passes every byte on at once (so a sanitizer's report is never
 * lost, even on abort) and counts the lines that are not the suite's own
 * (FAIL ..., store_suite: ...): those came from the store, or from libpq
 * through it (its default notice processor prints). */
struct quiet_report {
    unsigned long foreign;
    char first[160];
};

static int q_saved = -1, q_result = -1;
static pid_t q_child = -1;

static void copier(int in, int out_report)
{
    struct quiet_report rep;
    char buf[4096], head[sizeof rep.first];
    size_t hl = 0;
    int at_start = 1;
    ssize_t n;

    memset(&rep, 0, sizeof rep);
    while ((n = read(in, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(2, buf + off, (size_t)(n - off));
            if (w <= 0)
                break;
            off += w;
        }
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (at_start) {
                hl = 0;
                at_start = 0;
            }
            if (c == '\n') {
                head[hl] = 0;
                if (strncmp(head, "FAIL ", 5) != 0 && strncmp(head, "store_suite:", 12) != 0 &&
                    rep.foreign++ == 0)
                    memcpy(rep.first, head, hl + 1);
                at_start = 1;
            } else if (hl + 1 < sizeof head) {
                head[hl++] = c;
            }
        }
    }
    if (!at_start) { /* a last line without its newline */
        head[hl] = 0;
        if (strncmp(head, "FAIL ", 5) != 0 && strncmp(head, "store_suite:", 12) != 0 &&
            rep.foreign++ == 0)
            memcpy(rep.first, head, hl + 1);
    }
    if (write(out_report, &rep, sizeof rep) != (ssize_t)sizeof rep)
        _exit(1);
}

static void quiet_begin(void)
{
    int data[2], res[2];
    fflush(stderr);
    if (pipe(data) != 0)
        return;
    if (pipe(res) != 0) {
        close(data[0]);
        close(data[1]);
        return;
    }
    q_child = fork();
    if (q_child == 0) {
        close(data[1]);
        close(res[0]);
        copier(data[0], res[1]);
        _exit(0);
    }
    close(data[0]);
    close(res[1]);
    if (q_child < 0) {
        close(data[1]);
        close(res[0]);
        return;
    }
    q_saved = dup(2);
    dup2(data[1], 2);
    close(data[1]);
    q_result = res[0];
}

static void quiet_end(const char *part)
{
    struct quiet_report rep;
    ssize_t n;
    if (q_child <= 0)
        return;
    fflush(stderr);
    dup2(q_saved, 2); /* closes the pipe's last write end: the copier ends */
    close(q_saved);
    memset(&rep, 0, sizeof rep);
    do
        n = read(q_result, &rep, sizeof rep);
    while (n < 0 && errno == EINTR);
    close(q_result);
    waitpid(q_child, NULL, 0);
    q_child = -1;
    CHECKF(n == (ssize_t)sizeof rep && rep.foreign == 0,
           "%s: the store wrote %lu lines to stderr (store.h: nothing here prints), "
           "the first: \"%s\"", part, rep.foreign, rep.first);
}

#define QUIET(call)                                                            \
    do {                                                                       \
        quiet_begin();                                                         \
        call;                                                                  \
        quiet_end(#call);                                                      \
    } while (0)

/* ---- PostgreSQL administration (the test's own connection) ------------------- */

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int admin_exec(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "store_suite: %s: %s", sql, PQerrorMessage(admin));
    PQclear(r);
    return ok;
}

/* A new, empty database `name` on the server; url_out = its store URL. */
static int pg_fresh_db(const char *name, char *url_out, size_t cap)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    if (!admin_exec(sql))
        return 0;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (!admin_exec(sql))
        return 0;
    /* libpq takes the last of a repeated keyword. */
    snprintf(url_out, cap, "pg:%s dbname=%s", pg_server, name);
    return 1;
}

static void pg_drop_db(const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    (void)admin_exec(sql);
}

/* Ends every session on the suite's database but the admin's own. */
static int pg_kill_sessions(const char *extra_where)
{
    char sql[512];
    PGresult *r;
    int n;
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='%s' "
             "AND backend_type='client backend' AND pid<>pg_backend_pid() %s",
             SUITE_DB, extra_where);
    r = PQexec(admin, sql);
    n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;
    PQclear(r);
    return n;
}

/* ---- open, close, errors ---------------------------------------------------- */

static void test_open_errors(void)
{
    static const char *bad_nodes[] = {
        "", "has space", "dot.ted", "slash/", "quote'", "\xc3\xa9",
        "a123456789012345678901234567890123456789012345678901234567890123", /* 64 */
    };
    static const char *bad_sqlite[] = {
        "sqlite:/nonexistent-pq3-dir/sub/s.db",
        "sqlite:",
        "/nonexistent-pq3-dir/plain.db",
    };
    static const char *bad_pg[] = {
        "pg:host=/nonexistent-pq3-socket-dir port=1 dbname=x connect_timeout=3",
        "pg:host=127.0.0.1 port=1 dbname=x connect_timeout=3",
        "pg:nosuchoption=1",
    };
    char err[256], dirurl[512];
    pq3d_store *s;
    pq3d_listener *l;
    pq3_err e;

    for (size_t i = 0; i < sizeof bad_nodes / sizeof *bad_nodes; i++) {
        s = (pq3d_store *)&s;
        strcpy(err, "untouched");
        CHECK_ERR(pq3d_store_open(&s, url, bad_nodes[i], err, sizeof err), PQ3_ERR_ARG);
        CHECKF(s == NULL, "node \"%s\": *s not cleared", bad_nodes[i]);
        CHECKF(one_line(err) && strcmp(err, "untouched") != 0, "node \"%s\": err \"%s\"",
               bad_nodes[i], err);
    }
    s = (pq3d_store *)&s;
    CHECK_ERR(pq3d_store_open(&s, NULL, "n1", NULL, 0), PQ3_ERR_ARG);
    CHECK(s == NULL);

    snprintf(dirurl, sizeof dirurl, "sqlite:%s", tmpdir); /* a directory */
    for (size_t i = 0; i <= sizeof bad_sqlite / sizeof *bad_sqlite; i++) {
        const char *u = i < sizeof bad_sqlite / sizeof *bad_sqlite ? bad_sqlite[i] : dirurl;
        s = (pq3d_store *)&s;
        err[0] = 0;
        e = pq3d_store_open(&s, u, "n1", err, sizeof err);
        CHECKF(e == PQ3_ERR_IO, "open %s: %d (%s)", u, e, pq3_strerror(e));
        CHECKF(s == NULL, "open %s: *s not cleared", u);
        CHECKF(one_line(err), "open %s: err \"%s\" is not one line", u, err);
    }
    for (size_t i = 0; i < sizeof bad_pg / sizeof *bad_pg; i++) {
        long t0 = now_ms();
        s = (pq3d_store *)&s;
        err[0] = 0;
        e = pq3d_store_open(&s, bad_pg[i], "n1", err, sizeof err);
        CHECKF(e == PQ3_ERR_IO, "open %s: %d (%s)", bad_pg[i], e, pq3_strerror(e));
        CHECKF(s == NULL, "open %s: *s not cleared", bad_pg[i]);
        CHECKF(one_line(err), "open %s: err \"%s\" is not one line", bad_pg[i], err);
        CHECKF(now_ms() - t0 < 10000, "open %s took %ld ms", bad_pg[i], now_ms() - t0);
        l = (pq3d_listener *)&l;
        err[0] = 0;
        e = pq3d_listener_open(&l, bad_pg[i], "n1", err, sizeof err);
        CHECKF(e == PQ3_ERR_IO, "listener_open %s: %d (%s)", bad_pg[i], e, pq3_strerror(e));
        CHECKF(l == NULL, "listener_open %s: *l not cleared", bad_pg[i]);
        CHECKF(one_line(err), "listener_open %s: err \"%s\"", bad_pg[i], err);
    }
    /* err may be NULL; a short err buffer still ends in NUL. */
    s = (pq3d_store *)&s;
    CHECK_ERR(pq3d_store_open(&s, bad_sqlite[0], "n1", NULL, 0), PQ3_ERR_IO);
    CHECK(s == NULL);
    memset(err, 'z', sizeof err);
    CHECK_ERR(pq3d_store_open(&s, bad_pg[0], "n1", err, 8), PQ3_ERR_IO);
    CHECK(memchr(err, 0, 8) != NULL && err[8] == 'z');
    memset(err, 'z', sizeof err);
    CHECK_ERR(pq3d_store_open(&s, bad_sqlite[0], "n1", err, 8), PQ3_ERR_IO);
    CHECK(memchr(err, 0, 8) != NULL && err[8] == 'z');

    pq3d_store_close(NULL);
    pq3d_listener_close(NULL);
    CHECK(pq3d_listener_fd(NULL) == -1);
    CHECK(strcmp(pq3d_store_error(NULL), "") == 0);
}

/* What only SQLite has: the file's mode, a plain path, a newer schema. */
static void test_sqlite_file(void)
{
    char path[512], u[600], err[256];
    struct stat st;
    sqlite3 *db;
    pq3d_store *s;

    snprintf(path, sizeof path, "%s/plain.db", tmpdir);
    s = open_at(path, "n1"); /* no scheme: SQLite */
    if (s != NULL) {
        CHECK(strcmp(pq3d_store_backend(s), "sqlite") == 0);
        CHECK_OK(mk_account(s, H("plain"), 1));
        pq3d_store_close(s);
    }
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    snprintf(u, sizeof u, "sqlite:%s", path);
    s = open_at(u, "n1");
    if (s != NULL) {
        pq3d_account a;
        CHECK_OK(pq3d_store_account_get(s, H("plain"), &a));
        pq3d_store_close(s);
    }

    /* A schema from a newer pq3d is refused, not used. */
    snprintf(path, sizeof path, "%s/newer.db", tmpdir);
    snprintf(u, sizeof u, "sqlite:%s", path);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK &&
          sqlite3_exec(db, "PRAGMA user_version=1000", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    s = (pq3d_store *)&s;
    err[0] = 0;
    CHECK_ERR(pq3d_store_open(&s, u, "n1", err, sizeof err), PQ3_ERR_VERSION);
    CHECK(s == NULL);
    CHECK(one_line(err));
}

/* PostgreSQL: a schema from a newer pq3d (pq3_schema's version) is refused. */
static void test_pg_newer_schema(void)
{
    static const char name[] = SUITE_DB "_newer";
    char u[4096], ci[4096], err[256] = "";
    pq3d_store *s;
    PGconn *c;
    PGresult *r;

    if (!pg_fresh_db(name, u, sizeof u)) {
        CHECKF(0, "cannot create database %s", name);
        return;
    }
    s = open_at(u, "n1");
    pq3d_store_close(s);
    snprintf(ci, sizeof ci, "%s dbname=%s", pg_server, name);
    c = PQconnectdb(ci);
    PQsetNoticeProcessor(c, ignore_notice, NULL);
    r = PQexec(c, "UPDATE pq3_schema SET version=1000");
    CHECKF(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    s = (pq3d_store *)&s;
    CHECK_ERR(pq3d_store_open(&s, u, "n1", err, sizeof err), PQ3_ERR_VERSION);
    CHECK(s == NULL);
    CHECK(one_line(err));
    pg_drop_db(name);
}

static void test_basics(pq3d_store *s)
{
    CHECK(strcmp(pq3d_store_backend(s), is_pg ? "postgresql" : "sqlite") == 0);
    CHECKF(strcmp(pq3d_store_error(s), "") == 0, "error after open: \"%s\"",
           pq3d_store_error(s));
}

/* ---- transactions ----------------------------------------------------------- */

static void test_transactions(pq3d_store *s)
{
    pq3d_account a;

    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(mk_account(s, H("tx-commit"), 1));
    CHECK_OK(pq3d_store_commit(s));
    CHECK_OK(pq3d_store_account_get(s, H("tx-commit"), &a));

    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(mk_account(s, H("tx-rollback"), 2));
    CHECK_OK(pq3d_store_account_get(s, H("tx-rollback"), &a)); /* its own write */
    CHECK_OK(pq3d_store_rollback(s));
    CHECK_ERR(pq3d_store_account_get(s, H("tx-rollback"), &a), PQ3_ERR_UNKNOWN);

    /* Group commit: each request in a savepoint, one undone alone. */
    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(pq3d_store_savepoint(s));
    CHECK_OK(mk_account(s, H("tx-first"), 3));
    CHECK_OK(pq3d_store_release(s));
    CHECK_OK(pq3d_store_savepoint(s));
    CHECK_OK(mk_account(s, H("tx-undone"), 4));
    CHECK_OK(pq3d_store_undo(s));
    CHECK_OK(pq3d_store_savepoint(s));
    CHECK_OK(mk_account(s, H("tx-kept"), 5));
    CHECK_OK(pq3d_store_release(s));
    CHECK_OK(pq3d_store_commit(s));
    CHECK_OK(pq3d_store_account_get(s, H("tx-first"), &a));
    CHECK_ERR(pq3d_store_account_get(s, H("tx-undone"), &a), PQ3_ERR_UNKNOWN);
    CHECK_OK(pq3d_store_account_get(s, H("tx-kept"), &a));
    CHECK(a.account_pub[0] == 5);

    /* A request that fails (taken handle) is undone; the rest commits. */
    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(pq3d_store_savepoint(s));
    CHECK_ERR(mk_account(s, H("tx-commit"), 6), PQ3_ERR_STATE);
    CHECK_OK(pq3d_store_undo(s));
    CHECK_OK(pq3d_store_savepoint(s));
    CHECK_OK(mk_account(s, H("tx-after-failure"), 7));
    CHECK_OK(pq3d_store_release(s));
    CHECK_OK(pq3d_store_commit(s));
    CHECK_OK(pq3d_store_account_get(s, H("tx-after-failure"), &a));
    CHECK_OK(pq3d_store_account_get(s, H("tx-commit"), &a));
    CHECK(a.account_pub[0] == 1);

    /* A statement that fails inside a savepoint (on PostgreSQL that aborts
     * the transaction up to it) is undone alone; what follows commits. */
    {
        uint8_t h[32];
        memset(h, 0x6b, sizeof h);
        CHECK_OK(pq3d_store_invite_add(s, h, NOW));
        CHECK_OK(pq3d_store_begin(s));
        CHECK_OK(pq3d_store_savepoint(s));
        CHECK_OK(mk_account(s, H("tx-before-error"), 11));
        CHECK_OK(pq3d_store_release(s));
        CHECK_OK(pq3d_store_savepoint(s));
        CHECK_OK(mk_account(s, H("tx-with-error"), 12));
        /* The same hash again: the key refuses it (store.h names no code). */
        CHECK(pq3d_store_invite_add(s, h, NOW) != PQ3_OK);
        CHECK_OK(pq3d_store_undo(s));
        CHECK_OK(pq3d_store_savepoint(s));
        CHECK_OK(mk_account(s, H("tx-after-error"), 13));
        CHECK_OK(pq3d_store_release(s));
        CHECK_OK(pq3d_store_commit(s));
        CHECK_OK(pq3d_store_account_get(s, H("tx-before-error"), &a));
        CHECK_ERR(pq3d_store_account_get(s, H("tx-with-error"), &a), PQ3_ERR_UNKNOWN);
        CHECK_OK(pq3d_store_account_get(s, H("tx-after-error"), &a));
        CHECK_OK(pq3d_store_invite_use(s, h, H("tx-after-error"), NOW));
    }

    /* Released work still goes with a rollback of the whole. */
    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(pq3d_store_savepoint(s));
    CHECK_OK(mk_account(s, H("tx-released-then-rolled-back"), 8));
    CHECK_OK(pq3d_store_release(s));
    CHECK_OK(pq3d_store_rollback(s));
    CHECK_ERR(pq3d_store_account_get(s, H("tx-released-then-rolled-back"), &a),
              PQ3_ERR_UNKNOWN);

    /* Outside a transaction a failure leaves the store usable. */
    CHECK_ERR(mk_account(s, H("tx-commit"), 9), PQ3_ERR_STATE);
    CHECK_OK(mk_account(s, H("tx-autocommit"), 10));
    CHECK_OK(pq3d_store_account_get(s, H("tx-autocommit"), &a));
}

/* ---- accounts --------------------------------------------------------------- */

static void test_accounts(pq3d_store *s)
{
    pq3d_account a, b, got;
    uint8_t h255[PQ3_HANDLE_MAX];

    acct_fill(&a, 0x31, PQ3_DEVICE_LIST_MAX_BYTES, 1);
    CHECK_OK(pq3d_store_account_create(s, H("alice"), &a));
    memset(&got, 0x5a, sizeof got);
    CHECK_OK(pq3d_store_account_get(s, H("alice"), &got));
    CHECK(acct_eq(&got, &a));

    acct_fill(&b, 0x77, 10, 9);
    CHECK_ERR(pq3d_store_account_create(s, H("alice"), &b), PQ3_ERR_STATE);
    CHECK_OK(pq3d_store_account_get(s, H("alice"), &got));
    CHECK(acct_eq(&got, &a));

    /* Handles are bytes: no prefix, case or trailing-zero matches. */
    CHECK_ERR(pq3d_store_account_get(s, H("alic"), &got), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_account_get(s, H("alicex"), &got), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_account_get(s, H("Alice"), &got), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_account_get(s, H("alice\0"), &got), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_account_get(s, H("nobody"), &got), PQ3_ERR_UNKNOWN);

    acct_fill(&b, 0x01, 3, 2);
    CHECK_OK(pq3d_store_account_create(s, H("\0b\0"), &b));
    CHECK_OK(pq3d_store_account_get(s, H("\0b\0"), &got));
    CHECK(acct_eq(&got, &b));
    CHECK_ERR(pq3d_store_account_get(s, H("\0b"), &got), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_account_get(s, H("\0b\0\0"), &got), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_account_get(s, H("b"), &got), PQ3_ERR_UNKNOWN);
    acct_fill(&b, 0x02, 5, 3);
    CHECK_OK(pq3d_store_account_create(s, H("\0"), &b));
    CHECK_OK(pq3d_store_account_get(s, H("\0"), &got));
    CHECK(acct_eq(&got, &b));
    acct_fill(&b, 0x03, 5, 4);
    CHECK_OK(pq3d_store_account_create(s, H("\0b"), &b)); /* a prefix of "\0b\0" */
    CHECK_OK(pq3d_store_account_get(s, H("\0b\0"), &got));
    CHECK(got.account_pub[0] == 0x01);

    for (size_t i = 0; i < sizeof h255; i++)
        h255[i] = (uint8_t)(0xff - i);
    h255[100] = 0;
    acct_fill(&b, 0x04, 200, 5);
    CHECK_OK(pq3d_store_account_create(s, h255, sizeof h255, &b));
    CHECK_OK(pq3d_store_account_get(s, h255, sizeof h255, &got));
    CHECK(acct_eq(&got, &b));
    CHECK_ERR(pq3d_store_account_get(s, h255, sizeof h255 - 1, &got), PQ3_ERR_UNKNOWN);

    /* Compare and set of the device list. */
    acct_fill(&b, 0x31, 100, 2);
    for (size_t i = 0; i < b.list_len; i++)
        b.list[i] ^= 0xa5;
    CHECK_OK(pq3d_store_account_set_list(s, H("alice"), b.list, b.list_len, 2, 1));
    CHECK_OK(pq3d_store_account_get(s, H("alice"), &got));
    CHECK(got.version == 2 && got.list_len == 100 && memcmp(got.list, b.list, 100) == 0);
    CHECK(memcmp(got.account_pub, a.account_pub, sizeof a.account_pub) == 0);
    CHECK_ERR(pq3d_store_account_set_list(s, H("alice"), a.list, 50, 3, 1), PQ3_ERR_STATE);
    CHECK_ERR(pq3d_store_account_set_list(s, H("alice"), a.list, 50, 4, 3), PQ3_ERR_STATE);
    CHECK_OK(pq3d_store_account_get(s, H("alice"), &got));
    CHECK(got.version == 2 && got.list_len == 100 && memcmp(got.list, b.list, 100) == 0);
    CHECK_ERR(pq3d_store_account_set_list(s, H("nobody"), a.list, 50, 2, 1), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_account_set_list(s, H("alic"), a.list, 50, 2, 1), PQ3_ERR_UNKNOWN);
    /* The full-size list and a large version. */
    CHECK_OK(pq3d_store_account_set_list(s, H("alice"), a.list, PQ3_DEVICE_LIST_MAX_BYTES,
                                         ((uint64_t)1 << 53) + 3, 2));
    CHECK_OK(pq3d_store_account_get(s, H("alice"), &got));
    CHECK(got.version == ((uint64_t)1 << 53) + 3 && got.list_len == PQ3_DEVICE_LIST_MAX_BYTES &&
          memcmp(got.list, a.list, PQ3_DEVICE_LIST_MAX_BYTES) == 0);
    /* A version is any uint64_t the account signed, the top bit too. */
    acct_fill(&b, 0x05, 30, ((uint64_t)1 << 63) + 5);
    CHECKF(pq3d_store_account_create(s, H("high-version"), &b) == PQ3_OK,
           "create with version 2^63+5: %s", pq3d_store_error(s));
    if (pq3d_store_account_get(s, H("high-version"), &got) == PQ3_OK) {
        CHECK(acct_eq(&got, &b));
        CHECKF(pq3d_store_account_set_list(s, H("high-version"), b.list, 10, UINT64_MAX,
                                           ((uint64_t)1 << 63) + 5) == PQ3_OK,
               "set_list to version 2^64-1: %s", pq3d_store_error(s));
        CHECK_OK(pq3d_store_account_get(s, H("high-version"), &got));
        CHECK(got.version == UINT64_MAX && got.list_len == 10);
        CHECK_ERR(pq3d_store_account_set_list(s, H("high-version"), b.list, 10, 7,
                                              ((uint64_t)1 << 63) + 5), PQ3_ERR_STATE);
    }
    /* Only alice changed. */
    CHECK_OK(pq3d_store_account_get(s, h255, sizeof h255, &got));
    CHECK(got.version == 5);
}

/* ---- devices ---------------------------------------------------------------- */

static void test_devices(pq3d_store *s)
{
    static pq3d_device_row rows[8];
    static uint8_t cert[PQ3_CERT_MAX_BYTES], bundle[PQ3_PREKEY_BUNDLE_BYTES];
    pq3d_device_row r;
    uint8_t id[PQ3_DEVICE_ID_BYTES], other[PQ3_DEVICE_ID_BYTES];
    uint8_t ids[5][PQ3_DEVICE_ID_BYTES];
    uint32_t n;

    CHECK_OK(mk_account(s, H("dev-owner"), 0x10));
    CHECK_OK(mk_account(s, H("dev-other"), 0x11));
    CHECK_OK(mk_account(s, H("dev-none"), 0x12));
    id_of(id, 0x80);
    id_of(other, 0x81);

    cert_fill(cert, sizeof cert, 0x80);
    CHECK_ERR(pq3d_store_device_put_cert(s, H("nobody"), id, cert, 80, 1), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_device_get(s, H("nobody"), id, &r), PQ3_ERR_UNKNOWN);

    CHECK_OK(pq3d_store_device_put_cert(s, H("dev-owner"), id, cert, sizeof cert, 1));
    memset(&r, 0x5a, sizeof r);
    CHECK_OK(pq3d_store_device_get(s, H("dev-owner"), id, &r));
    CHECK(memcmp(r.device_id, id, sizeof id) == 0 && r.listed == 1);
    CHECK(r.cert_len == sizeof cert && memcmp(r.cert, cert, sizeof cert) == 0);
    CHECK(r.bundle_len == 0);
    CHECK_ERR(pq3d_store_device_get(s, H("dev-other"), id, &r), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_device_get(s, H("dev-owner"), other, &r), PQ3_ERR_UNKNOWN);

    cert_fill(bundle, sizeof bundle, 0xa1);
    CHECK_OK(pq3d_store_device_put_bundle(s, H("dev-owner"), id, bundle, sizeof bundle, 111));
    CHECK_OK(pq3d_store_device_get(s, H("dev-owner"), id, &r));
    CHECK(r.bundle_len == sizeof bundle && memcmp(r.bundle, bundle, sizeof bundle) == 0);
    CHECK(r.bundle_created == 111);
    cert_fill(bundle, sizeof bundle, 0xb2);
    CHECK_OK(pq3d_store_device_put_bundle(s, H("dev-owner"), id, bundle, sizeof bundle, 222));
    CHECK_OK(pq3d_store_device_get(s, H("dev-owner"), id, &r));
    CHECK(r.bundle_len == sizeof bundle && memcmp(r.bundle, bundle, sizeof bundle) == 0);
    CHECK(r.bundle_created == 222);
    /* (store.h names no error here; set_listed's UNKNOWN is the sibling.) */
    CHECK_ERR(pq3d_store_device_put_bundle(s, H("dev-owner"), other, bundle, sizeof bundle, 1),
              PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_device_put_bundle(s, H("dev-other"), id, bundle, sizeof bundle, 1),
              PQ3_ERR_UNKNOWN);

    /* A new certificate replaces the old and sets listed; the bundle stays. */
    cert_fill(cert, 40, 0x33);
    CHECK_OK(pq3d_store_device_put_cert(s, H("dev-owner"), id, cert, 40, 0));
    CHECK_OK(pq3d_store_device_get(s, H("dev-owner"), id, &r));
    CHECK(r.listed == 0 && r.cert_len == 40 && memcmp(r.cert, cert, 40) == 0);
    CHECK(r.bundle_len == sizeof bundle && memcmp(r.bundle, bundle, sizeof bundle) == 0 &&
          r.bundle_created == 222);

    CHECK_OK(pq3d_store_device_set_listed(s, H("dev-owner"), id, 1));
    CHECK_OK(pq3d_store_device_get(s, H("dev-owner"), id, &r));
    CHECK(r.listed == 1 && r.cert_len == 40);
    CHECK_OK(pq3d_store_device_set_listed(s, H("dev-owner"), id, 0));
    CHECK_OK(pq3d_store_device_get(s, H("dev-owner"), id, &r));
    CHECK(r.listed == 0);
    CHECK_OK(pq3d_store_device_set_listed(s, H("dev-owner"), id, 1));
    CHECK_ERR(pq3d_store_device_set_listed(s, H("dev-owner"), other, 1), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_device_set_listed(s, H("dev-other"), id, 1), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_device_set_listed(s, H("nobody"), id, 1), PQ3_ERR_UNKNOWN);

    /* devices(): ordered by id as unsigned bytes, over all 16 of them. */
    memset(ids[0], 0x00, 16);
    memset(ids[1], 0x7f, 16);
    ids[1][15] = 0x00;
    memset(ids[2], 0x7f, 16);
    memcpy(ids[3], id, 16); /* 0x80..., already there */
    memset(ids[4], 0xff, 16);
    static const int order[] = { 4, 0, 2, 1 };
    for (size_t i = 0; i < 4; i++) {
        uint8_t c[80];
        cert_fill(c, sizeof c, (uint8_t)(0x60 + order[i]));
        CHECK_OK(pq3d_store_device_put_cert(s, H("dev-owner"), ids[order[i]], c, sizeof c,
                                            order[i] != 1));
    }
    CHECK_OK(mk_device(s, H("dev-other"), 0x80, 1));
    n = 99;
    CHECK_OK(pq3d_store_devices(s, H("dev-owner"), rows, 8, &n));
    CHECK(n == 5);
    for (uint32_t i = 0; i < n && i < 5; i++) {
        CHECKF(memcmp(rows[i].device_id, ids[i], 16) == 0, "devices()[%u] out of order", i);
        if (i == 3) {
            CHECK(rows[i].cert_len == 40 && memcmp(rows[i].cert, cert, 40) == 0);
            CHECK(rows[i].bundle_len == sizeof bundle &&
                  memcmp(rows[i].bundle, bundle, sizeof bundle) == 0 &&
                  rows[i].bundle_created == 222 && rows[i].listed == 1);
        } else {
            uint8_t c[80];
            cert_fill(c, sizeof c, (uint8_t)(0x60 + i));
            CHECK(rows[i].cert_len == 80 && memcmp(rows[i].cert, c, 80) == 0);
            CHECK(rows[i].bundle_len == 0 && rows[i].listed == (i != 1));
        }
    }
    n = 99;
    CHECK_OK(pq3d_store_devices(s, H("dev-owner"), rows, 5, &n));
    CHECK(n == 5);
    CHECK_ERR(pq3d_store_devices(s, H("dev-owner"), rows, 4, &n), PQ3_ERR_LIMIT);
    CHECK_ERR(pq3d_store_devices(s, H("dev-owner"), rows, 0, &n), PQ3_ERR_LIMIT);
    n = 99;
    CHECK_OK(pq3d_store_devices(s, H("dev-other"), rows, 8, &n));
    CHECK(n == 1 && memcmp(rows[0].device_id, id, 16) == 0);
    n = 99;
    CHECK_OK(pq3d_store_devices(s, H("dev-none"), rows, 8, &n));
    CHECK(n == 0);
    n = 99;
    CHECK_OK(pq3d_store_devices(s, H("nobody"), rows, 8, &n));
    CHECK(n == 0);
}

/* ---- queues ----------------------------------------------------------------- */

static void test_queue_basic(pq3d_store *s)
{
    static const size_t len[6] = { 0, 10, 20, 30, 40, 50 };
    uint64_t id[6], idd2 = 0, env0, bytes0, env1, bytes1, prev = 0;
    uint32_t count, n;
    uint64_t bytes;
    pq3d_queued q;

    CHECK_OK(mk_account(s, H("q-bob"), 0x20));
    CHECK_OK(mk_device(s, H("q-bob"), 0xd1, 1));
    CHECK_OK(mk_device(s, H("q-bob"), 0xd2, 1));
    CHECK_OK(mk_device(s, H("q-bob"), 0xd3, 0));
    CHECK_OK(mk_account(s, H("q-carol"), 0x21));
    CHECK_OK(mk_device(s, H("q-carol"), 0xc1, 1));
    total_of(s, &env0, &bytes0);

    /* Nowhere to queue: NOT_FOUND is a status, not an error. */
    env_fill(&q, H("q-bob"), 0xd3, 1, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_NOT_FOUND);
    CHECK(q.node[0] == 0);
    env_fill(&q, H("q-bob"), 0xd4, 1, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_NOT_FOUND);
    env_fill(&q, H("q-nobody"), 0xd1, 1, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_NOT_FOUND);
    env_fill(&q, H("q-carol"), 0xd1, 1, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_NOT_FOUND);
    count_of(s, H("q-bob"), 0xd3, NOW, &count, &bytes);
    CHECK(count == 0 && bytes == 0);

    for (uint32_t k = 1; k <= 5; k++) {
        env_fill(&q, H("q-bob"), 0xd1, k, len[k], LONG_LIFE);
        CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK);
        CHECK(q.duplicate == 0 && q.queue_id >= 1 && q.queue_id > prev && q.node[0] == 0);
        id[k] = prev = q.queue_id;
    }
    count_of(s, H("q-bob"), 0xd1, NOW, &count, &bytes);
    CHECK(count == 5 && bytes == 150);

    /* The same (device, msg_id) again: OK, duplicate, the first id. */
    env_fill(&q, H("q-bob"), 0xd1, 3, 30, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK);
    CHECK(q.duplicate == 1 && q.queue_id == id[3]);
    count_of(s, H("q-bob"), 0xd1, NOW, &count, &bytes);
    CHECK(count == 5 && bytes == 150);
    /* ... but the msg_id is per device. */
    env_fill(&q, H("q-bob"), 0xd2, 3, 30, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK);
    CHECK(q.duplicate == 0 && q.queue_id > id[5]);
    idd2 = q.queue_id;
    total_of(s, &env1, &bytes1);
    CHECK(env1 == env0 + 6 && bytes1 == bytes0 + 180);

    /* Fetch: lowest id first, byte for byte, skip list, max. */
    n = fetch(s, H("q-bob"), 0xd1, NOW, NULL, 0, 10);
    CHECK(n == 5);
    for (uint32_t i = 0; i < n; i++) {
        CHECKF(dl[i].queue_id == id[i + 1], "fetch[%u] id %llu, want %llu", i,
               (unsigned long long)dl[i].queue_id, (unsigned long long)id[i + 1]);
        CHECKF(delivery_is(&dl[i], i + 1, len[i + 1]), "fetch[%u] content", i);
    }
    pq3d_delivery_free(dl, n);
    CHECK(n == 0 || dl[0].msg == NULL);
    {
        uint64_t skip[3] = { id[2], 999999999u, id[4] };
        n = fetch(s, H("q-bob"), 0xd1, NOW, skip, 3, 10);
        CHECK(n == 3 && dl[0].queue_id == id[1] && dl[1].queue_id == id[3] &&
              dl[2].queue_id == id[5]);
        pq3d_delivery_free(dl, n);
        n = fetch(s, H("q-bob"), 0xd1, NOW, skip, 1, 2);
        CHECK(n == 2 && dl[0].queue_id == id[1] && dl[1].queue_id == id[3]);
        pq3d_delivery_free(dl, n);
        n = fetch(s, H("q-bob"), 0xd1, NOW, skip, 3, 2);
        CHECK(n == 2 && dl[0].queue_id == id[1] && dl[1].queue_id == id[3]);
        pq3d_delivery_free(dl, n);
    }
    {
        uint64_t skip[5] = { id[1], id[2], id[3], id[4], id[5] };
        n = fetch(s, H("q-bob"), 0xd1, NOW, skip, 5, 10);
        CHECK(n == 0);
        pq3d_delivery_free(dl, n);
        n = fetch(s, H("q-bob"), 0xd1, NOW, skip, 4, 10);
        CHECK(n == 1 && dl[0].queue_id == id[5] && delivery_is(&dl[0], 5, 50));
        pq3d_delivery_free(dl, n);
    }
    {
        /* A window's worth of skipped ids, and more. */
        static uint64_t skip[300];
        for (uint32_t i = 0; i < 300; i++)
            skip[i] = id[1] + 1000000u + i;
        skip[0] = id[1];
        skip[150] = id[3];
        skip[299] = id[5];
        n = fetch(s, H("q-bob"), 0xd1, NOW, skip, 300, 10);
        CHECK(n == 2 && dl[0].queue_id == id[2] && dl[1].queue_id == id[4]);
        pq3d_delivery_free(dl, n);
    }
    n = fetch(s, H("q-bob"), 0xd1, NOW, NULL, 0, 1);
    CHECK(n == 1 && dl[0].queue_id == id[1]);
    pq3d_delivery_free(dl, n);
    CHECK(fetch(s, H("q-bob"), 0xd1, NOW, NULL, 0, 0) == 0);
    CHECK(fetch(s, H("q-bob"), 0xd3, NOW, NULL, 0, 10) == 0);
    CHECK(fetch(s, H("q-bob"), 0xd4, NOW, NULL, 0, 10) == 0);
    CHECK(fetch(s, H("q-nobody"), 0xd1, NOW, NULL, 0, 10) == 0);
    n = fetch(s, H("q-bob"), 0xd2, NOW, NULL, 0, 10);
    CHECK(n == 1 && dl[0].queue_id == idd2 && delivery_is(&dl[0], 3, 30));
    pq3d_delivery_free(dl, n);

    /* Ack: this device's ids only. */
    {
        uint64_t ids[4] = { id[1], id[3], idd2, 999999999u };
        CHECK(ack(s, H("q-bob"), 0xd1, ids, 4) == 2);
        CHECK(ack(s, H("q-bob"), 0xd1, ids, 4) == 0);
        CHECK(ack(s, H("q-carol"), 0xc1, &id[4], 1) == 0);  /* another account's id */
        CHECK(ack(s, H("q-bob"), 0xd1, ids, 0) == 0);
    }
    count_of(s, H("q-bob"), 0xd1, NOW, &count, &bytes);
    CHECK(count == 3 && bytes == 110);
    count_of(s, H("q-bob"), 0xd2, NOW, &count, &bytes);
    CHECK(count == 1 && bytes == 30);
    n = fetch(s, H("q-bob"), 0xd1, NOW, NULL, 0, 10);
    CHECK(n == 3 && dl[0].queue_id == id[2] && dl[1].queue_id == id[4] &&
          dl[2].queue_id == id[5]);
    pq3d_delivery_free(dl, n);
    {
        uint8_t dev[PQ3_DEVICE_ID_BYTES];
        id_of(dev, 0xd1);
        {
            /* Ids no row can have (above INT64_MAX, 0) beside a real one:
             * ignored, the real one deleted. */
            uint64_t mixed[4] = { UINT64_MAX, (uint64_t)INT64_MAX + 1, 0, id[2] };
            uint32_t del2 = 0;
            CHECK_OK(pq3d_store_queue_ack(s, H("q-bob"), dev, mixed, 4, &del2));
            CHECK(del2 == 1);
        }
        id_of(dev, 0xd9);
        uint32_t del = 7;
        CHECK_OK(pq3d_store_queue_ack(s, H("q-bob"), dev, &id[4], 1, &del));
        CHECK(del == 0);
    }
    count_of(s, H("q-bob"), 0xd1, NOW, &count, &bytes);
    CHECK(count == 2 && bytes == 90);
    total_of(s, &env1, &bytes1);
    CHECK(env1 == env0 + 3 && bytes1 == bytes0 + 120);
    /* An acked msg_id may be queued again (it is not "queued" any more). */
    env_fill(&q, H("q-bob"), 0xd1, 1, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK);
    CHECK(q.duplicate == 0 && q.queue_id > idd2);
    CHECK(ack(s, H("q-bob"), 0xd1, &q.queue_id, 1) == 1);

    /* Undone and rolled-back queue work leaves no trace, counters included. */
    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(pq3d_store_savepoint(s));
    env_fill(&q, H("q-bob"), 0xd2, 50, 500, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK);
    CHECK_OK(pq3d_store_undo(s));
    CHECK_OK(pq3d_store_savepoint(s));
    CHECK(ack(s, H("q-bob"), 0xd2, &idd2, 1) == 1);
    CHECK_OK(pq3d_store_undo(s));
    CHECK_OK(pq3d_store_commit(s));
    count_of(s, H("q-bob"), 0xd2, NOW, &count, &bytes);
    CHECK(count == 1 && bytes == 30);
    CHECK_OK(pq3d_store_begin(s));
    CHECK(ack(s, H("q-bob"), 0xd2, &idd2, 1) == 1);
    CHECK_OK(pq3d_store_rollback(s));
    count_of(s, H("q-bob"), 0xd2, NOW, &count, &bytes);
    CHECK(count == 1 && bytes == 30);
    env_fill(&q, H("q-bob"), 0xd2, 50, 500, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 2, BIG) == PQ3_ST_OK && q.duplicate == 0);
    CHECK(ack(s, H("q-bob"), 0xd2, &q.queue_id, 1) == 1);
    total_of(s, &env1, &bytes1);
    CHECK(env1 == env0 + 3 && bytes1 == bytes0 + 120);
}

static void test_queue_limits(pq3d_store *s)
{
    pq3d_queued q;
    uint64_t id1 = 0, id2 = 0, bytes, e0, b0, e1, b1, deleted;
    int ok, ok2;
    uint32_t count;

    CHECK_OK(mk_account(s, H("q-full"), 0x22));
    for (uint8_t d = 0xf1; d <= 0xf5; d++)
        CHECK_OK(mk_device(s, H("q-full"), d, 1));

    /* By count. */
    for (uint32_t k = 1; k <= 3; k++) {
        env_fill(&q, H("q-full"), 0xf1, k, 10, LONG_LIFE);
        CHECK(put_env(s, &q, NOW, 3, BIG) == PQ3_ST_OK);
        if (k == 1)
            id1 = q.queue_id;
        if (k == 2)
            id2 = q.queue_id;
    }
    env_fill(&q, H("q-full"), 0xf1, 4, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 3, BIG) == PQ3_ST_QUEUE_FULL);
    CHECK(q.duplicate == 0);
    count_of(s, H("q-full"), 0xf1, NOW, &count, &bytes);
    CHECK(count == 3 && bytes == 30);
    /* A resend of a queued envelope is still a duplicate, full or not. */
    env_fill(&q, H("q-full"), 0xf1, 2, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 3, BIG) == PQ3_ST_OK);
    CHECK(q.duplicate == 1 && q.queue_id == id2);
    CHECK(ack(s, H("q-full"), 0xf1, &id1, 1) == 1);
    env_fill(&q, H("q-full"), 0xf1, 4, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 3, BIG) == PQ3_ST_OK && q.duplicate == 0);
    env_fill(&q, H("q-full"), 0xf1, 5, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 3, BIG) == PQ3_ST_QUEUE_FULL);

    /* By bytes: reaching max_bytes is allowed, passing it is not. */
    env_fill(&q, H("q-full"), 0xf2, 1, 60, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, 100) == PQ3_ST_OK);
    env_fill(&q, H("q-full"), 0xf2, 2, 41, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, 100) == PQ3_ST_QUEUE_FULL);
    env_fill(&q, H("q-full"), 0xf2, 3, 40, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, 100) == PQ3_ST_OK);
    env_fill(&q, H("q-full"), 0xf2, 4, 1, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, 100) == PQ3_ST_QUEUE_FULL);
    env_fill(&q, H("q-full"), 0xf5, 1, 101, LONG_LIFE); /* alone larger than the limit */
    CHECK(put_env(s, &q, NOW, BIG, 100) == PQ3_ST_QUEUE_FULL);
    count_of(s, H("q-full"), 0xf2, NOW, &count, &bytes);
    CHECK(count == 2 && bytes == 100);
    /* Limits are per device. */
    env_fill(&q, H("q-full"), 0xf5, 2, 100, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 1, 100) == PQ3_ST_OK);

    /* Expired envelopes do not count toward the limits... */
    total_of(s, &e0, &b0);
    env_fill(&q, H("q-full"), 0xf3, 1, 400, NOW + 10);
    CHECK(put_env(s, &q, NOW, 2, 1000) == PQ3_ST_OK);
    env_fill(&q, H("q-full"), 0xf3, 2, 400, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 2, 1000) == PQ3_ST_OK);
    env_fill(&q, H("q-full"), 0xf3, 3, 400, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 2, 1000) == PQ3_ST_QUEUE_FULL);
    env_fill(&q, H("q-full"), 0xf3, 3, 400, LONG_LIFE);
    ok = put_env(s, &q, NOW + 10, 2, 1000) == PQ3_ST_OK;
    CHECKF(ok, "an expired envelope counted toward max_count: status %u", q.status);
    env_fill(&q, H("q-full"), 0xf4, 1, 400, NOW + 5);
    CHECK(put_env(s, &q, NOW, BIG, 500) == PQ3_ST_OK);
    env_fill(&q, H("q-full"), 0xf4, 2, 400, LONG_LIFE);
    CHECK(put_env(s, &q, NOW + 4, BIG, 500) == PQ3_ST_QUEUE_FULL);
    env_fill(&q, H("q-full"), 0xf4, 2, 400, LONG_LIFE);
    ok2 = put_env(s, &q, NOW + 5, BIG, 500) == PQ3_ST_OK;
    CHECKF(ok2, "expired bytes counted toward max_bytes: status %u", q.status);
    if (!ok || !ok2)
        return; /* what follows counts on those two envelopes */

    /* A queue that looked full dropped its own expired envelopes: f3's
     * first and f4's first are gone, nothing else. */
    total_of(s, &e1, &b1);
    CHECK(e1 == e0 + 3 && b1 == b0 + 1200);
    count_of(s, H("q-full"), 0xf3, NOW, &count, &bytes);
    CHECK(count == 2 && bytes == 800);
    {
        uint32_t n = fetch(s, H("q-full"), 0xf3, NOW, NULL, 0, 10);
        CHECK(n == 2 && k_of(&dl[0]) == 2 && k_of(&dl[1]) == 3);
        pq3d_delivery_free(dl, n);
    }

    /* Elsewhere an expired envelope is not counted, nor fetched, but stays
     * until expire runs. */
    env_fill(&q, H("q-full"), 0xf3, 4, 400, NOW + 20);
    CHECK(put_env(s, &q, NOW, BIG, 100000) == PQ3_ST_OK);
    count_of(s, H("q-full"), 0xf3, NOW + 19, &count, &bytes);
    CHECK(count == 3 && bytes == 1200);
    count_of(s, H("q-full"), 0xf3, NOW + 20, &count, &bytes);
    CHECK(count == 2 && bytes == 800);
    {
        uint32_t n = fetch(s, H("q-full"), 0xf3, NOW + 20, NULL, 0, 10);
        CHECK(n == 2 && k_of(&dl[0]) == 2 && k_of(&dl[1]) == 3);
        pq3d_delivery_free(dl, n);
        n = fetch(s, H("q-full"), 0xf3, NOW + 19, NULL, 0, 10);
        CHECK(n == 3 && k_of(&dl[2]) == 4 && delivery_is(&dl[2], 4, 400));
        pq3d_delivery_free(dl, n);
        n = fetch(s, H("q-full"), 0xf3, NOW + 20, NULL, 0, 1);
        CHECK(n == 1 && k_of(&dl[0]) == 2);
        pq3d_delivery_free(dl, n);
    }

    /* Expire: expires <= now goes, and only that. */
    total_of(s, &e1, &b1);
    CHECK(e1 == e0 + 4 && b1 == b0 + 1600);
    deleted = 99;
    CHECK_OK(pq3d_store_queue_expire(s, NOW + 19, &deleted));
    CHECK(deleted == 0);
    CHECK_OK(pq3d_store_queue_expire(s, NOW + 20, &deleted));
    CHECK(deleted == 1);
    CHECK_OK(pq3d_store_queue_expire(s, NOW + 20, &deleted));
    CHECK(deleted == 0);
    total_of(s, &e1, &b1);
    CHECK(e1 == e0 + 3 && b1 == b0 + 1200);
    count_of(s, H("q-full"), 0xf3, NOW, &count, &bytes);
    CHECK(count == 2 && bytes == 800);
    count_of(s, H("q-full"), 0xf4, NOW, &count, &bytes);
    CHECK(count == 1 && bytes == 400);
    /* After expiry the limits see only what is left. */
    env_fill(&q, H("q-full"), 0xf4, 3, 100, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 2, 500) == PQ3_ST_OK);
    env_fill(&q, H("q-full"), 0xf4, 4, 1, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, 3, 500) == PQ3_ST_QUEUE_FULL);
}

/* Handles with zero bytes, a 255-byte sender, 64 KiB and the largest envelope. */
static void test_queue_binary(pq3d_store *s)
{
    static uint8_t from[PQ3_HANDLE_MAX];
    static const uint8_t to[] = "q\0\0z";
    pq3d_queued q;
    uint64_t id1, id2;
    uint32_t count, n;
    uint64_t bytes;

    CHECK_OK(mk_account(s, to, sizeof to - 1, 0x23));
    CHECK_OK(mk_device(s, to, sizeof to - 1, 0x00, 1));
    for (size_t i = 0; i < sizeof from; i++)
        from[i] = (uint8_t)(i * 37u);
    from[0] = 0;
    from[sizeof from - 1] = 0;

    env_fill(&q, to, sizeof to - 1, 0x00, 1, 65536, LONG_LIFE);
    q.from_handle = from;
    q.from_handle_len = sizeof from;
    memset(q.from_device, 0, sizeof q.from_device);
    memset(q.msg_id, 0, sizeof q.msg_id);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK);
    id1 = q.queue_id;
    env_fill(&q, to, sizeof to - 1, 0x00, 2, PQ3_WIRE_MAX_ENVELOPE, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK);
    id2 = q.queue_id;
    env_fill(&q, H("q\0\0y"), 0x00, 3, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_NOT_FOUND);
    env_fill(&q, H("q\0\0"), 0x00, 3, 10, LONG_LIFE);
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_NOT_FOUND);

    count_of(s, to, sizeof to - 1, 0x00, NOW, &count, &bytes);
    CHECK(count == 2 && bytes == 65536 + PQ3_WIRE_MAX_ENVELOPE);
    n = fetch(s, to, sizeof to - 1, 0x00, NOW, NULL, 0, 10);
    CHECK(n == 2);
    if (n == 2) {
        int same = dl[0].queue_id == id1 && dl[0].from_handle_len == sizeof from &&
                   memcmp(dl[0].from_handle, from, sizeof from) == 0 && dl[0].msg_len == 65536;
        for (size_t i = 0; i < 16; i++)
            same = same && dl[0].from_device[i] == 0 && dl[0].msg_id[i] == 0;
        for (size_t i = 0; same && i < 65536; i++)
            same = dl[0].msg[i] == body_byte(1, i);
        CHECK(same);
        CHECK(dl[1].queue_id == id2 && delivery_is(&dl[1], 2, PQ3_WIRE_MAX_ENVELOPE));
    }
    pq3d_delivery_free(dl, n);
    {
        uint64_t ids[2] = { id1, id2 };
        CHECK(ack(s, H("q\0\0y"), 0x00, ids, 2) == 0);
        CHECK(ack(s, to, sizeof to - 1, 0x00, ids, 2) == 2);
    }
    count_of(s, to, sizeof to - 1, 0x00, NOW, &count, &bytes);
    CHECK(count == 0 && bytes == 0);
}

/* ---- device deletion -------------------------------------------------------- */

static void test_device_delete(pq3d_store *s)
{
    static pq3d_device_row rows[4];
    uint8_t x[PQ3_DEVICE_ID_BYTES];
    uint64_t e0, b0, e1, b1, bytes;
    uint32_t count, n;
    pq3d_device_row r;
    char node[PQ3D_NODE_MAX + 1];

    CHECK_OK(mk_account(s, H("del-acct"), 0x24));
    CHECK_OK(mk_device(s, H("del-acct"), 0x01, 1));
    CHECK_OK(mk_device(s, H("del-acct"), 0x02, 1));
    id_of(x, 0x01);
    total_of(s, &e0, &b0);
    for (uint32_t k = 1; k <= 3; k++)
        CHECK(put_simple(s, H("del-acct"), 0x01, k, 100, NULL) == PQ3_ST_OK);
    CHECK(put_simple(s, H("del-acct"), 0x02, 1, 7, NULL) == PQ3_ST_OK);
    CHECK_OK(pq3d_store_presence_set(s, H("del-acct"), x));
    node_seen(s, H("del-acct"), 0x01, 90, node);
    CHECK(strcmp(node, "n1") == 0);

    CHECK_OK(pq3d_store_device_delete(s, H("del-acct"), x));
    CHECK_ERR(pq3d_store_device_get(s, H("del-acct"), x, &r), PQ3_ERR_UNKNOWN);
    count_of(s, H("del-acct"), 0x01, NOW, &count, &bytes);
    CHECK(count == 0 && bytes == 0);
    CHECK(fetch(s, H("del-acct"), 0x01, NOW, NULL, 0, 10) == 0);
    total_of(s, &e1, &b1);
    CHECK(e1 == e0 + 1 && b1 == b0 + 7);
    CHECK_OK(pq3d_store_devices(s, H("del-acct"), rows, 4, &n));
    CHECK(n == 1 && rows[0].device_id[0] == 0x02);
    count_of(s, H("del-acct"), 0x02, NOW, &count, &bytes);
    CHECK(count == 1 && bytes == 7);
    /* Deleted means gone: a device added again under that id starts empty. */
    CHECK_OK(mk_device(s, H("del-acct"), 0x01, 1));
    count_of(s, H("del-acct"), 0x01, NOW, &count, &bytes);
    CHECK(count == 0 && bytes == 0);
    CHECK(fetch(s, H("del-acct"), 0x01, NOW, NULL, 0, 10) == 0);
    node_seen(s, H("del-acct"), 0x01, 91, node);
    CHECK(node[0] == 0);
    CHECK_OK(pq3d_store_device_get(s, H("del-acct"), x, &r));
    CHECK(r.bundle_len == 0);
    /* No error for what is not there. */
    id_of(x, 0x09);
    CHECK_OK(pq3d_store_device_delete(s, H("del-acct"), x));
    CHECK_OK(pq3d_store_device_delete(s, H("nobody"), x));
    CHECK_OK(pq3d_store_devices(s, H("del-acct"), rows, 4, &n));
    CHECK(n == 2);

    /* A certificate renewal is not a deletion: the queue stays. */
    CHECK(put_simple(s, H("del-acct"), 0x02, 2, 9, NULL) == PQ3_ST_OK);
    id_of(x, 0x02);
    {
        uint8_t cert[50];
        cert_fill(cert, sizeof cert, 0x99);
        CHECK_OK(pq3d_store_device_put_cert(s, H("del-acct"), x, cert, sizeof cert, 1));
    }
    count_of(s, H("del-acct"), 0x02, NOW, &count, &bytes);
    CHECK(count == 2 && bytes == 16);
}

/* ---- invitations ------------------------------------------------------------ */

static void test_invites(pq3d_store *s)
{
    uint8_t h1[32], h2[32], h3[32], h3b[32];
    for (size_t i = 0; i < 32; i++) {
        h1[i] = (uint8_t)(i * 5 + 1);
        h2[i] = (uint8_t)(i * 9 + 2);
    }
    memset(h3, 0, 32);
    h3[31] = 1;
    memcpy(h3b, h3, 32);
    h3b[31] = 2;

    CHECK_OK(pq3d_store_invite_add(s, h1, NOW));
    CHECK_OK(pq3d_store_invite_use(s, h1, H("inv-user"), NOW + 1));
    CHECK_ERR(pq3d_store_invite_use(s, h1, H("inv-user"), NOW + 2), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_invite_use(s, h1, H("inv-other"), NOW + 2), PQ3_ERR_UNKNOWN);
    CHECK_ERR(pq3d_store_invite_use(s, h2, H("inv-user"), NOW), PQ3_ERR_UNKNOWN);

    /* A use in a rolled-back transaction did not happen. */
    CHECK_OK(pq3d_store_invite_add(s, h2, NOW));
    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(pq3d_store_invite_use(s, h2, H("inv-a"), NOW));
    CHECK_ERR(pq3d_store_invite_use(s, h2, H("inv-b"), NOW), PQ3_ERR_UNKNOWN);
    CHECK_OK(pq3d_store_rollback(s));
    CHECK_OK(pq3d_store_invite_use(s, h2, H("\0inv\0"), NOW));
    CHECK_ERR(pq3d_store_invite_use(s, h2, H("inv-a"), NOW), PQ3_ERR_UNKNOWN);

    /* All 32 bytes count. */
    CHECK_OK(pq3d_store_invite_add(s, h3, NOW));
    CHECK_ERR(pq3d_store_invite_use(s, h3b, H("inv-c"), NOW), PQ3_ERR_UNKNOWN);
    CHECK_OK(pq3d_store_invite_use(s, h3, H("inv-c"), NOW));
}

/* ---- presence: two stores (nodes) on one database ----------------------------- */

static void test_presence(pq3d_store *s)
{
    static const char long_node[] =
        "N23456789-123456789_123456789-123456789_123456789-123456789"; /* 59 */
    pq3d_store *s2, *s3;
    uint8_t p1[16], p2[16], p3[16];
    char node[PQ3D_NODE_MAX + 1];
    uint32_t k = 100;

    _Static_assert(sizeof long_node - 1 == PQ3D_NODE_MAX, "the longest node name");
    s2 = open_at(url, "n2");
    if (s2 == NULL)
        return;
    CHECK_OK(mk_account(s, H("p-dana"), 0x25));
    for (uint8_t d = 1; d <= 3; d++)
        CHECK_OK(mk_device(s, H("p-dana"), d, 1));
    id_of(p1, 1);
    id_of(p2, 2);
    id_of(p3, 3);

    node_seen(s, H("p-dana"), 1, k++, node);
    CHECK(node[0] == 0);
    CHECK_OK(pq3d_store_presence_set(s, H("p-dana"), p1));
    node_seen(s, H("p-dana"), 1, k++, node);
    CHECK(strcmp(node, "n1") == 0);
    node_seen(s2, H("p-dana"), 1, k++, node); /* the other node sees it */
    CHECK(strcmp(node, "n1") == 0);
    node_seen(s, H("p-dana"), 2, k++, node); /* per device */
    CHECK(node[0] == 0);
    CHECK_OK(pq3d_store_presence_set(s, H("p-dana"), p1)); /* again: no error */

    /* The device reconnects to n2: n2 takes over. */
    CHECK_OK(pq3d_store_presence_set(s2, H("p-dana"), p1));
    node_seen(s, H("p-dana"), 1, k++, node);
    CHECK(strcmp(node, "n2") == 0);
    CHECK_OK(pq3d_store_presence_clear(s, H("p-dana"), p1)); /* not n1's any more */
    node_seen(s, H("p-dana"), 1, k++, node);
    CHECK(strcmp(node, "n2") == 0);
    CHECK_OK(pq3d_store_presence_clear(s2, H("p-dana"), p1));
    node_seen(s, H("p-dana"), 1, k++, node);
    CHECK(node[0] == 0);
    CHECK_OK(pq3d_store_presence_clear(s2, H("p-dana"), p1)); /* nothing there */
    CHECK_OK(pq3d_store_presence_clear(s, H("p-dana"), p3));

    /* Reset removes this node's rows only. */
    CHECK_OK(pq3d_store_presence_set(s, H("p-dana"), p1));
    CHECK_OK(pq3d_store_presence_set(s, H("p-dana"), p2));
    CHECK_OK(pq3d_store_presence_set(s2, H("p-dana"), p3));
    CHECK_OK(pq3d_store_presence_reset(s));
    node_seen(s, H("p-dana"), 1, k++, node);
    CHECK(node[0] == 0);
    node_seen(s2, H("p-dana"), 2, k++, node);
    CHECK(node[0] == 0);
    node_seen(s, H("p-dana"), 3, k++, node);
    CHECK(strcmp(node, "n2") == 0);
    CHECK_OK(pq3d_store_presence_reset(s2));
    node_seen(s, H("p-dana"), 3, k++, node);
    CHECK(node[0] == 0);

    /* Presence set in a rolled-back transaction is not there. */
    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(pq3d_store_presence_set(s, H("p-dana"), p2));
    CHECK_OK(pq3d_store_rollback(s));
    node_seen(s2, H("p-dana"), 2, k++, node);
    CHECK(node[0] == 0);

    /* A node name of the full PQ3D_NODE_MAX bytes comes back whole. */
    s3 = open_at(url, long_node);
    if (s3 != NULL) {
        CHECK_OK(pq3d_store_presence_set(s3, H("p-dana"), p2));
        node_seen(s, H("p-dana"), 2, k++, node);
        CHECK(strcmp(node, long_node) == 0);
        CHECK_OK(pq3d_store_presence_reset(s3));
        node_seen(s, H("p-dana"), 2, k++, node);
        CHECK(node[0] == 0);
        pq3d_store_close(s3);
    }
    pq3d_store_close(s2);
}

/* ---- two writers at once ------------------------------------------------------ */

struct racer {
    pq3d_store *s;
    pq3_err begin, op, end, commit;
    pq3d_queued q;
    int queue;          /* 0: account_create, 1: queue_put */
};

/* The writer's pattern: begin, savepoint, the request, undo on failure. */
static void *race_second(void *arg)
{
    struct racer *r = arg;
    r->begin = pq3d_store_begin(r->s);
    if (r->begin != PQ3_OK)
        return NULL;
    (void)pq3d_store_savepoint(r->s);
    if (r->queue) {
        r->op = pq3d_store_queue_put(r->s, &r->q, NOW, BIG, BIG);
    } else {
        pq3d_account a;
        acct_fill(&a, 0x99, 20, 1);
        r->op = pq3d_store_account_create(r->s, H("race-handle"), &a);
    }
    r->end = r->op == PQ3_OK ? pq3d_store_release(r->s) : pq3d_store_undo(r->s);
    r->commit = pq3d_store_commit(r->s);
    return NULL;
}

static void test_concurrent_writers(pq3d_store *s)
{
    struct racer r;
    pthread_t t;
    pq3d_account a, got;
    pq3d_queued q;
    uint32_t count;
    uint64_t bytes;

    memset(&r, 0, sizeof r);
    r.s = open_at(url, "n2");
    if (r.s == NULL)
        return;

    /* Both register one handle; the first to commit wins, the other gets
     * STATE and its transaction goes on. */
    acct_fill(&a, 0x55, 20, 1);
    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(pq3d_store_account_create(s, H("race-handle"), &a));
    CHECK(pthread_create(&t, NULL, race_second, &r) == 0);
    sleep_ms(300);
    CHECK_OK(pq3d_store_commit(s));
    pthread_join(t, NULL);
    CHECK_OK(r.begin);
    CHECKF(r.op == PQ3_ERR_STATE, "second create of a handle: %s: %s", pq3_strerror(r.op),
           pq3d_store_error(r.s));
    CHECK_OK(r.end);
    CHECK_OK(r.commit);
    CHECK_OK(pq3d_store_account_get(r.s, H("race-handle"), &got));
    CHECK(acct_eq(&got, &a));

    /* Both queue one (device, msg_id): one row, the other a duplicate. */
    CHECK_OK(mk_device(s, H("race-handle"), 0x77, 1));
    env_fill(&q, H("race-handle"), 0x77, 1, 33, LONG_LIFE);
    r.q = q;
    r.queue = 1;
    CHECK_OK(pq3d_store_begin(s));
    CHECK(put_env(s, &q, NOW, BIG, BIG) == PQ3_ST_OK);
    CHECK(pthread_create(&t, NULL, race_second, &r) == 0);
    sleep_ms(300);
    CHECK_OK(pq3d_store_commit(s));
    pthread_join(t, NULL);
    CHECK_OK(r.begin);
    CHECKF(r.op == PQ3_OK, "concurrent duplicate put: %s: %s", pq3_strerror(r.op),
           pq3d_store_error(r.s));
    CHECKF(r.q.status == PQ3_ST_OK && r.q.duplicate == 1 && r.q.queue_id == q.queue_id,
           "concurrent duplicate put: status %u duplicate %u id %llu (first %llu)", r.q.status,
           r.q.duplicate, (unsigned long long)r.q.queue_id, (unsigned long long)q.queue_id);
    CHECK_OK(r.commit);
    count_of(s, H("race-handle"), 0x77, NOW, &count, &bytes);
    CHECK(count == 1 && bytes == 33);
    pq3d_store_close(r.s);
}

/* Several nodes starting at once on an empty database: each open creates
 * or finds the schema, none fails. */
#define OPENERS 4
struct opener {
    const char *url;
    pthread_barrier_t *go;
    pq3_err err;
    char msg[256];
};

static void *open_racer(void *arg)
{
    struct opener *o = arg;
    pq3d_store *s = NULL;
    pthread_barrier_wait(o->go);
    o->err = pq3d_store_open(&s, o->url, "opener", o->msg, sizeof o->msg);
    if (o->err == PQ3_OK) {
        o->err = mk_account(s, H("opened"), 1);
        if (o->err == PQ3_ERR_STATE)
            o->err = PQ3_OK;
        if (o->err != PQ3_OK)
            snprintf(o->msg, sizeof o->msg, "%s", pq3d_store_error(s));
    }
    pq3d_store_close(s);
    return NULL;
}

static void test_open_race(void)
{
    int rounds = is_pg ? 3 : 5;
    for (int round = 0; round < rounds; round++) {
        char u[4096], name[64];
        pthread_barrier_t go;
        pthread_t t[OPENERS];
        struct opener o[OPENERS];
        int failed = 0;
        char first[320] = "";

        if (is_pg) {
            snprintf(name, sizeof name, "%s_open%d", SUITE_DB, round);
            if (!pg_fresh_db(name, u, sizeof u)) {
                CHECKF(0, "cannot create database %s", name);
                return;
            }
        } else {
            snprintf(u, sizeof u, "sqlite:%s/race%d.db", tmpdir, round);
        }
        pthread_barrier_init(&go, NULL, OPENERS);
        for (int i = 0; i < OPENERS; i++) {
            o[i].url = u;
            o[i].go = &go;
            o[i].err = PQ3_OK;
            o[i].msg[0] = 0;
            CHECK(pthread_create(&t[i], NULL, open_racer, &o[i]) == 0);
        }
        for (int i = 0; i < OPENERS; i++) {
            pthread_join(t[i], NULL);
            if (o[i].err != PQ3_OK && failed++ == 0)
                snprintf(first, sizeof first, "%s: %s", pq3_strerror(o[i].err), o[i].msg);
        }
        pthread_barrier_destroy(&go);
        CHECKF(failed == 0, "round %d: %d of %d concurrent opens of an empty database failed "
               "(first: %s)", round, failed, OPENERS, first);
        if (is_pg)
            pg_drop_db(name);
    }
}

/* ---- persistence across close and open ---------------------------------------- */

static pq3d_store *test_reopen(pq3d_store *s)
{
    pq3d_account got;
    pq3d_device_row r;
    uint8_t id[16];
    uint64_t e0, b0, e1, b1, qid, before = max_queue_id;
    uint32_t n;

    total_of(s, &e0, &b0);
    pq3d_store_close(s);
    s = open_at(url, "n1");
    if (s == NULL)
        return NULL;
    CHECK_OK(pq3d_store_account_get(s, H("alice"), &got));
    CHECK(got.version == ((uint64_t)1 << 53) + 3 && got.list_len == PQ3_DEVICE_LIST_MAX_BYTES);
    CHECK_OK(pq3d_store_account_get(s, H("tx-kept"), &got));
    CHECK_ERR(pq3d_store_account_get(s, H("tx-undone"), &got), PQ3_ERR_UNKNOWN);
    id_of(id, 0x80);
    CHECK_OK(pq3d_store_device_get(s, H("dev-owner"), id, &r));
    CHECK(r.bundle_len == PQ3_PREKEY_BUNDLE_BYTES && r.bundle_created == 222 && r.listed == 1);
    total_of(s, &e1, &b1);
    CHECK(e1 == e0 && b1 == b0);
    n = fetch(s, H("q-bob"), 0xd1, NOW, NULL, 0, 10);
    CHECK(n == 2 && delivery_is(&dl[0], 4, 40) && delivery_is(&dl[1], 5, 50));
    pq3d_delivery_free(dl, n);
    /* Ids are not handed out twice, not even after a restart: an ack or a
     * skip list naming an old id must never hit a newer envelope. */
    CHECK(put_simple(s, H("q-bob"), 0xd1, 77, 5, &qid) == PQ3_ST_OK);
    CHECKF(qid > before, "id %llu after reopen, %llu was handed out before",
           (unsigned long long)qid, (unsigned long long)before);
    CHECK(ack(s, H("q-bob"), 0xd1, &qid, 1) == 1);
    return s;
}

/* ---- notify and the listener ---------------------------------------------------- */

struct inbox {
    char **p;
    size_t n, cap;
};

static void on_payload(void *arg, const char *payload)
{
    struct inbox *b = arg;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        char **p = realloc(b->p, cap * sizeof *p);
        if (p == NULL)
            return;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->n] = strdup(payload);
    if (b->p[b->n] != NULL)
        b->n++;
}

static void inbox_free(struct inbox *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->p[i]);
    free(b->p);
    memset(b, 0, sizeof *b);
}

static size_t inbox_bytes(const struct inbox *b)
{
    size_t t = 0;
    for (size_t i = 0; i < b->n; i++)
        t += strlen(b->p[i]);
    return t;
}

/* Waits (poll, then drain, as pq3d's loop does) until `want_bytes` of
 * payload arrived or timeout_ms passed; then listens linger_ms more for
 * anything extra. Returns the last drain's result. */
static pq3_err listen_for(pq3d_listener *l, struct inbox *b, size_t want_bytes, int timeout_ms,
                          int linger_ms)
{
    long deadline = now_ms() + timeout_ms, linger_end = -1;
    pq3_err e = PQ3_OK;
    for (;;) {
        long t = now_ms(), left;
        struct pollfd pfd = { pq3d_listener_fd(l), POLLIN, 0 };
        if (linger_end < 0 && inbox_bytes(b) >= want_bytes)
            linger_end = t + linger_ms;
        left = (linger_end >= 0 ? linger_end : deadline) - t;
        if (left <= 0 || pfd.fd < 0)
            return e;
        if (poll(&pfd, 1, (int)(left < 100 ? left : 100)) > 0) {
            e = pq3d_listener_drain(l, on_payload, b);
            if (e != PQ3_OK)
                return e;
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hex_into(char *out, const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* A long payload arrives whole, split at commas into NOTIFYs of at most
 * 7000 bytes; the items, put together again, are exactly those sent. */
static void check_long_payload(pq3d_store *s, pq3d_listener *l, size_t items)
{
    char **sent = calloc(items, sizeof *sent), **got = NULL, *payload, *p;
    size_t total = 0, n_got = 0, pieces_ok = 1;
    struct inbox b = { 0 };

    if (sent == NULL)
        return;
    for (size_t i = 0; i < items; i++) {
        uint8_t dev[16], h[12];
        sent[i] = malloc(2 * 16 + 1 + 2 * sizeof h + 1);
        if (sent[i] == NULL)
            goto out;
        memset(dev, (int)(i & 0xff), 16);
        dev[0] = (uint8_t)(i >> 8);
        memcpy(h, "handle-", 7);
        h[7] = (uint8_t)(i >> 8);
        h[8] = (uint8_t)i;
        h[9] = 0;
        h[10] = 'x';
        h[11] = (uint8_t)(i * 7);
        hex_into(sent[i], dev, 16);
        sent[i][32] = ':';
        hex_into(sent[i] + 33, h, sizeof h);
        total += strlen(sent[i]) + 1;
    }
    payload = malloc(total);
    if (payload == NULL)
        goto out;
    p = payload;
    for (size_t i = 0; i < items; i++) {
        size_t k = strlen(sent[i]);
        memcpy(p, sent[i], k);
        p += k;
        *p++ = i + 1 < items ? ',' : 0;
    }
    CHECK_OK(pq3d_store_notify(s, "n2", payload));
    CHECK_OK(listen_for(l, &b, total - items, 10000, 300));
    free(payload);

    /* Take the pieces apart at commas. */
    got = calloc(items + 1, sizeof *got);
    if (got == NULL)
        goto out;
    for (size_t i = 0; i < b.n; i++) {
        char *piece = b.p[i], *save = NULL, *tok;
        size_t k = strlen(piece);
        if (k == 0 || k > 7000 || piece[0] == ',' || piece[k - 1] == ',' ||
            strstr(piece, ",,") != NULL)
            pieces_ok = 0;
        for (tok = strtok_r(piece, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            if (n_got == items) {
                n_got++;
                break;
            }
            got[n_got++] = tok;
        }
        if (n_got > items)
            break;
    }
    CHECKF(b.n >= 2 && pieces_ok, "%zu items in %zu notifications, pieces %s", items, b.n,
           pieces_ok ? "well formed" : "not each 1..7000 bytes of whole items");
    CHECKF(n_got == items, "%zu items sent, %zu arrived", items, n_got);
    if (n_got == items) {
        size_t same = 0;
        qsort(sent, items, sizeof *sent, cmp_str);
        qsort(got, items, sizeof *got, cmp_str);
        for (size_t i = 0; i < items; i++)
            same += strcmp(sent[i], got[i]) == 0;
        CHECKF(same == items, "%zu of %zu items arrived intact", same, items);
    }
out:
    free(got);
    inbox_free(&b);
    for (size_t i = 0; i < items; i++)
        free(sent[i]);
    free(sent);
}

static void test_notify(pq3d_store *s)
{
    static const char long_node[] =
        "L23456789-123456789_123456789-123456789_123456789-123456789"; /* 59 */
    static const char one[] = "00112233445566778899aabbccddeeff:616c696365";
    pq3d_listener *l = NULL, *l3 = NULL, *lc = NULL, *lc2 = NULL, *ll = NULL;
    char err[256] = "";
    struct inbox b = { 0 }, b3 = { 0 };
    pq3_err e;

    if (!is_pg) {
        l = (pq3d_listener *)&l;
        CHECK_OK(pq3d_listener_open(&l, url, "n2", err, sizeof err));
        CHECK(l == NULL);
        CHECK(pq3d_listener_fd(l) == -1);
        CHECK_OK(pq3d_listener_drain(l, on_payload, &b));
        CHECK(b.n == 0);
        pq3d_listener_close(l);
        CHECK_OK(pq3d_store_notify(s, "n2", one));
        return;
    }

    e = pq3d_listener_open(&l, url, "n2", err, sizeof err);
    CHECKF(e == PQ3_OK && l != NULL, "listener_open: %s: %s", pq3_strerror(e), err);
    if (e != PQ3_OK)
        return;
    CHECK(pq3d_listener_fd(l) >= 0);
    CHECK_OK(pq3d_listener_open(&l3, url, "n3", err, sizeof err));

    /* One payload, exactly, to its node's channel only. */
    CHECK_OK(pq3d_store_notify(s, "n3", "for-n3"));
    CHECK_OK(pq3d_store_notify(s, "n2", one));
    CHECK_OK(pq3d_store_notify(s, "nobody-listens", one));
    CHECK_OK(listen_for(l, &b, strlen(one), 5000, 300));
    CHECKF(b.n == 1 && strcmp(b.p[0], one) == 0, "n2 got %zu notifications, first \"%s\"", b.n,
           b.n ? b.p[0] : "");
    inbox_free(&b);
    if (l3 != NULL) {
        CHECK_OK(listen_for(l3, &b3, 6, 5000, 300));
        CHECKF(b3.n == 1 && strcmp(b3.p[0], "for-n3") == 0, "n3 got %zu notifications", b3.n);
        inbox_free(&b3);
    }
    /* Nothing arrives unasked. */
    CHECK_OK(listen_for(l, &b, 1, 300, 0));
    CHECK(b.n == 0);
    inbox_free(&b);

    /* After a transaction, as pq3d does: commit, then notify. */
    CHECK_OK(pq3d_store_begin(s));
    CHECK_OK(mk_account(s, H("notify-acct"), 1));
    CHECK_OK(pq3d_store_commit(s));
    CHECK_OK(pq3d_store_notify(s, "n2", "ab:cd"));
    CHECK_OK(listen_for(l, &b, 5, 5000, 200));
    CHECK(b.n == 1 && strcmp(b.p[0], "ab:cd") == 0);
    inbox_free(&b);

    /* 7000 bytes go in one notification; 7001 in two, split at the comma. */
    {
        static char p7000[7001], p7001[7002];
        memset(p7000, 'a', 7000);
        memset(p7001, 'b', 7001);
        p7001[3500] = ',';
        CHECK_OK(pq3d_store_notify(s, "n2", p7000));
        CHECK_OK(listen_for(l, &b, 7000, 5000, 300));
        CHECKF(b.n == 1 && strcmp(b.p[0], p7000) == 0, "7000 bytes: %zu notifications", b.n);
        inbox_free(&b);
        CHECK_OK(pq3d_store_notify(s, "n2", p7001));
        CHECK_OK(listen_for(l, &b, 7000, 5000, 300));
        CHECKF(b.n == 2 && strlen(b.p[0]) == 3500 && strlen(b.p[1]) == 3500 &&
                   strspn(b.p[0], "b") == 3500 && strspn(b.p[1], "b") == 3500,
               "7001 bytes: %zu notifications", b.n);
        inbox_free(&b);
    }

    /* Long payloads: just over one NOTIFY, and several. */
    check_long_payload(s, l, 130);   /* 130 x 58 bytes: 7.5 kB */
    check_long_payload(s, l, 400);   /* 23 kB */

    /* Node names are case-sensitive and may hold '-': channels too. */
    CHECK_OK(pq3d_listener_open(&lc, url, "Node-B", err, sizeof err));
    CHECK_OK(pq3d_listener_open(&lc2, url, "node-b", err, sizeof err));
    if (lc != NULL && lc2 != NULL) {
        CHECK_OK(pq3d_store_notify(s, "Node-B", "12:34"));
        CHECK_OK(listen_for(lc, &b, 5, 5000, 300));
        CHECKF(b.n == 1 && strcmp(b.p[0], "12:34") == 0, "Node-B got %zu notifications", b.n);
        inbox_free(&b);
        CHECK_OK(listen_for(lc2, &b, 1, 300, 0));
        CHECKF(b.n == 0, "node-b got Node-B's notification");
        inbox_free(&b);
    }
    pq3d_listener_close(lc);
    pq3d_listener_close(lc2);

    /* The longest node name a store accepts can be told too. */
    e = pq3d_listener_open(&ll, url, long_node, err, sizeof err);
    CHECKF(e == PQ3_OK, "listener for a longest node: %s: %s", pq3_strerror(e), err);
    e = pq3d_store_notify(s, long_node, "56:78");
    CHECKF(e == PQ3_OK, "notify a longest node: %s: %s", pq3_strerror(e), pq3d_store_error(s));
    if (ll != NULL) {
        CHECK_OK(listen_for(ll, &b, 5, 3000, 0));
        CHECKF(b.n == 1 && strcmp(b.p[0], "56:78") == 0, "longest node got %zu notifications",
               b.n);
        inbox_free(&b);
    }
    pq3d_listener_close(ll);

    /* The listener's connection breaks: drain says IO. */
    CHECK(pg_kill_sessions("") >= 2); /* the store's too: it is not used after this */
    {
        long deadline = now_ms() + 5000;
        e = PQ3_OK;
        while (e == PQ3_OK && now_ms() < deadline) {
            struct pollfd pfd = { pq3d_listener_fd(l), POLLIN, 0 };
            if (pfd.fd < 0)
                break;
            if (poll(&pfd, 1, 100) > 0)
                e = pq3d_listener_drain(l, on_payload, &b);
        }
        CHECKF(e == PQ3_ERR_IO, "drain after the connection broke: %s", pq3_strerror(e));
        inbox_free(&b);
    }
    pq3d_listener_close(l);
    pq3d_listener_close(l3);
}

/* PostgreSQL: the store's own connection is cut under it. */
static void test_pg_broken(void)
{
    pq3d_store *s = open_at(url, "broken");
    pq3d_account a;
    pq3_err e;
    if (s == NULL)
        return;
    CHECK(pg_kill_sessions("") == 1);
    sleep_ms(100);
    e = pq3d_store_account_get(s, H("alice"), &a);
    /* Reconnecting is allowed, failing must be an IO error with a reason. */
    CHECKF(e == PQ3_OK || e == PQ3_ERR_IO, "account_get on a cut connection: %s",
           pq3_strerror(e));
    if (e == PQ3_ERR_IO)
        CHECKF(one_line(pq3d_store_error(s)), "error \"%s\"", pq3d_store_error(s));
    pq3d_store_close(s);
}

/* ---- setup ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(int argc, char **argv)
{
    const char *base = getenv("TMPDIR"), *given = NULL;

    snprintf(tmpdir, sizeof tmpdir, "%s/pq3-store-suite.XXXXXX", base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        fprintf(stderr, "store_suite: mkdtemp: %s\n", strerror(errno));
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "pg") == 0) {
        const char *ci = getenv("PQ3_PG_CONNINFO");
        if (ci == NULL || ci[0] == 0) {
            nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
            pq3t_skip("store_suite pg: PQ3_PG_CONNINFO not set (run through tests/pg_cluster.sh)");
        }
        snprintf(url, sizeof url, "pg:%s", ci);
    } else if (argc > 1) {
        given = argv[1];
    } else {
        given = getenv("PQ3_STORE_URL");
    }
    if (given != NULL && given[0] != 0)
        snprintf(url, sizeof url, "%s", given);
    else if (url[0] == 0)
        snprintf(url, sizeof url, "sqlite:%s/s.db", tmpdir);

    is_pg = strncmp(url, "pg:", 3) == 0;
    if (is_pg) {
        snprintf(pg_server, sizeof pg_server, "%.1000s", url + 3);
        admin = PQconnectdb(pg_server);
        if (PQstatus(admin) != CONNECTION_OK) {
            fprintf(stderr, "store_suite: cannot connect to %s: %s", pg_server,
                    PQerrorMessage(admin));
            return 0;
        }
        /* The suite's own connection stays quiet too: whatever it printed
         * would be taken for the store's (quiet_end). */
        PQsetNoticeProcessor(admin, ignore_notice, NULL);
        if (!pg_fresh_db(SUITE_DB, url, sizeof url))
            return 0;
    } else {
        const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0) {
            fprintf(stderr, "store_suite: %s exists; the suite needs a new database\n", path);
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    pq3d_store *s;
    long t0 = now_ms();

    if (!setup(argc, argv)) {
        if (admin != NULL)
            PQfinish(admin);
        nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    printf("store_suite: %s\n", is_pg ? "postgresql" : url);

    QUIET(test_open_errors());
    if (!is_pg)
        QUIET(test_sqlite_file());
    else
        QUIET(test_pg_newer_schema());
    s = open_at(url, "n1");
    if (s != NULL) {
        QUIET(test_basics(s));
        QUIET(test_transactions(s));
        QUIET(test_accounts(s));
        QUIET(test_devices(s));
        QUIET(test_queue_basic(s));
        QUIET(test_queue_limits(s));
        QUIET(test_queue_binary(s));
        QUIET(s = test_reopen(s));
    }
    if (s != NULL) {
        QUIET(test_device_delete(s));
        QUIET(test_invites(s));
        QUIET(test_presence(s));
        QUIET(test_concurrent_writers(s));
        QUIET(test_notify(s));
        pq3d_store_close(s);
    }
    QUIET(test_open_race());
    if (is_pg)
        QUIET(test_pg_broken());

    if (is_pg) {
        pg_drop_db(SUITE_DB);
        PQfinish(admin);
    }
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    printf("store_suite: %.1f s\n", (double)(now_ms() - t0) / 1000.0);
    return pq3t_finish();
}
