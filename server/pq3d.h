/*
 * pq3d internals (docs/SERVER.md). One event loop thread owns the
 * connections (conn.c); one writer thread owns the store (writer.c) and
 * runs the requests that touch it in groups, one transaction per group.
 * Requests travel between them as jobs.
 */
#ifndef PQ3D_H
#define PQ3D_H

#include <stdint.h>
#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "pq3/account.h"
#include "pq3/identity.h"
#include "pq3/wire.h"
#include "store.h"

#define PQ3D_PATH_MAX 1024

/* ---- configuration (config.c; pq3d(8)) ------------------------------------ */

enum { PQ3D_POLICY_OPEN = 0, PQ3D_POLICY_INVITE = 1 };

typedef struct pq3d_config {
    char dir[PQ3D_PATH_MAX];
    char name[PQ3_WIRE_MAX_NAME + 1];
    char listen[128];                   /* host:port, [v6]:port; port 0: any free */
    char metrics[128];                  /* loopback host:port; "" or "off": none */
    char store[PQ3D_PATH_MAX];
    char node[PQ3D_NODE_MAX + 1];
    char tls_cert[PQ3D_PATH_MAX];
    char tls_key[PQ3D_PATH_MAX];
    int policy;
    uint32_t queue_max;
    uint64_t queue_max_bytes;
    uint64_t message_ttl;
    uint32_t rate_conn, rate_account, rate_lookup;
    uint32_t max_conns;
    uint32_t auth_timeout, idle_timeout;
    char kt_key[PQ3D_PATH_MAX];         /* the log's and the VRF's secret keys */
    uint32_t kt_epoch;                  /* seconds between epochs; MMD = 2 x this */
} pq3d_config;

void pq3d_config_defaults(pq3d_config *c, const char *dir);
/* Reads DIR/pq3d.conf over the defaults. 0, or -1 with err set. */
int pq3d_config_load(pq3d_config *c, const char *dir, char *err, size_t errlen);
/* Writes DIR/pq3d.conf (new file). 0, or -1 with err set. */
int pq3d_config_write(const pq3d_config *c, char *err, size_t errlen);
/* Splits "host:port" / "[v6]:port". 0 or -1. */
int pq3d_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

/* ---- logging (log.c) ------------------------------------------------------ */

enum { PQ3D_DEBUG, PQ3D_INFO, PQ3D_WARN, PQ3D_ERROR };
extern int pq3d_log_level;
/* One line on stderr: ts=... level=... event=EVENT then the formatted
 * key=value pairs. Values with spaces are quoted by the caller (%q is not
 * printf: use pq3d_log_quote). */
void pq3d_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes s into buf as a double-quoted, escaped, one-line value. */
const char *pq3d_log_quote(char *buf, size_t len, const char *s);

/* ---- key transparency (kt.c; docs/TRANSPARENCY.md) ------------------------ */

typedef struct pq3d_kt pq3d_kt;
/* Writes a new key file (mode 0600): the log's Ed25519 seed and the VRF's
 * secret key. 0, or -1 with err set (an existing file is an error). */
int pq3d_kt_keys_generate(const char *path, char *err, size_t errlen);
/* What clients pin: the log's verifier key string and the VRF public key
 * in hex. 0, or -1 with err set. */
int pq3d_kt_keys_describe(const char *path, const char *server_name, char *vkey,
                          size_t vkey_cap, char vrf_hex[67], char *err, size_t errlen);
/* The state of the writer thread; NULL with err set. */
pq3d_kt *pq3d_kt_open(const pq3d_config *cfg, char *err, size_t errlen);
void pq3d_kt_free(pq3d_kt *kt);
/* The transaction that used kt did not commit: reload before next use. */
void pq3d_kt_rollback(pq3d_kt *kt);
/* Epochs known to this node (0 before the first load). */
uint64_t pq3d_kt_size(const pq3d_kt *kt);
/* §4: a record accepted by REGISTER or PUBLISH_LIST, pending until the
 * next epoch. Inside the request's transaction. */
pq3_err pq3d_kt_accept(pq3d_kt *kt, pq3d_store *s, const uint8_t *h, size_t h_len,
                       const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES], const uint8_t *list,
                       size_t list_len, uint64_t v, uint64_t now);
/* §3, §7: publishes the next epoch when this node sequences and records
 * are pending (epoch 0, the empty map, when the log is empty). *published
 * is the epoch (UINT64_MAX: none), *records how many it added. */
pq3_err pq3d_kt_sequence(pq3d_kt *kt, pq3d_store *s, uint64_t now, uint64_t *published,
                      uint32_t *records);
/* §5.1: the proof of the record (h, v) for a client pinned at `pinned`,
 * malloc'd into *out. PQ3_ERR_UNKNOWN: the log has no epoch yet. */
pq3_err pq3d_kt_prove(pq3d_kt *kt, pq3d_store *s, const uint8_t *h, size_t h_len, uint64_t v,
                      uint64_t pinned, uint8_t **out, size_t *out_len);

/* ---- TLS (tls.c) ---------------------------------------------------------- */

/* Makes a P-256 key (mode 0600) and a self-signed certificate for `name`.
 * 0, or -1 with err set. */
int pq3d_tls_generate(const char *key_path, const char *cert_path, const char *name,
                      char *err, size_t errlen);
/* The SHA-256 of the certificate's DER as 64 hex digits (+ NUL). */
int pq3d_tls_fingerprint(const char *cert_path, char hex[65], uint8_t raw[32], char *err,
                         size_t errlen);
/* A TLS 1.3-only server context. NULL with err set. */
SSL_CTX *pq3d_tls_server_ctx(const char *key_path, const char *cert_path, char *err,
                             size_t errlen);

/* ---- jobs (writer.c) ------------------------------------------------------- */

enum pq3d_job_kind {
    JOB_AUTH,          /* look up the account and device; store the cert */
    JOB_REGISTER,
    JOB_PUBLISH,
    JOB_BUNDLE,
    JOB_LOOKUP,
    JOB_SEND,
    JOB_ACK,
    JOB_FETCH,         /* read the device's queue for pushing */
    JOB_PRESENCE,      /* set (on) or clear (off) this node's presence */
    JOB_HOUSEKEEP,     /* expire old envelopes, read queue totals */
    JOB_KT_EPOCH       /* publish the next transparency epoch (kt.c) */
};

typedef struct pq3d_job pq3d_job;
struct pq3d_job {
    pq3d_job *next;
    enum pq3d_job_kind kind;
    uint64_t conn_id;                   /* 0: the server's own */
    uint32_t req_id;
    uint8_t type;                       /* the request's frame type */
    uint64_t now;
    uint64_t t_arrival_ns;              /* for the latency histogram */
    /* who asks */
    uint8_t handle[PQ3_HANDLE_MAX];
    size_t handle_len;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t auth_pub[PQ3_ECDSA_PUB_BYTES];      /* its device key (from AUTH) */
    uint8_t cert[PQ3_CERT_MAX_BYTES];           /* its certificate (from AUTH) */
    size_t cert_len;
    /* the request body (owned) and its decoded views */
    uint8_t *body;
    size_t body_len;
    union {
        pq3_wire_register reg;
        pq3_wire_publish pub;
        pq3_wire_put_bundle bundle;
        pq3_wire_lookup lookup;
        pq3_wire_send send;
        pq3_wire_ack ack;
        pq3_wire_auth auth;
    } req;
    int flag;                           /* PRESENCE: 1 on, 0 off */
    uint32_t fetch_max;                 /* FETCH: how many */
    uint64_t *skip;                     /* FETCH: ids in flight (owned) */
    uint32_t n_skip;
    /* results */
    uint16_t status;
    char reason[PQ3_WIRE_MAX_REASON + 1];
    uint8_t *result;                    /* response result (owned) */
    size_t result_len;
    int wrote;                          /* it changed the store */
    /* SEND: per envelope */
    pq3d_queued *queued;
    /* FETCH */
    pq3d_delivery *deliveries;
    uint32_t n_deliveries;
    /* AUTH / PUBLISH: the device's standing afterwards, devices removed */
    uint8_t state;
    uint64_t list_version;
    uint32_t queued_count;
    uint8_t removed[PQ3_ACCOUNT_MAX_DEVICES][PQ3_DEVICE_ID_BYTES];
    uint32_t n_removed;
    /* HOUSEKEEP */
    uint64_t total_envelopes, total_bytes, expired;
    /* KT_EPOCH: the epoch published (UINT64_MAX: none) and its records */
    uint64_t kt_published;
    uint32_t kt_records;
};

typedef struct pq3d_server pq3d_server;

pq3d_job *pq3d_job_new(enum pq3d_job_kind kind);
void pq3d_job_free(pq3d_job *j);
/* Sets status and a formatted reason. */
void pq3d_job_fail(pq3d_job *j, uint16_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The writer: a thread that owns the store. submit hands a job over (the
 * writer owns it until it comes back through the done callback on the loop
 * thread). */
typedef struct pq3d_writer pq3d_writer;
pq3d_writer *pq3d_writer_start(pq3d_store *store, const pq3d_config *cfg,
                               struct event_base *base,
                               void (*done)(void *arg, pq3d_job *j), void *arg, char *err,
                               size_t errlen);
void pq3d_writer_submit(pq3d_writer *w, pq3d_job *j);
/* Jobs submitted and not yet done. */
uint32_t pq3d_writer_pending(pq3d_writer *w);
/* Runs what is queued, stops the thread, frees. */
void pq3d_writer_stop(pq3d_writer *w);

typedef struct pq3d_writer_stats {
    uint64_t commits, commit_failures, jobs;
    uint64_t batch_hist[8];             /* batch sizes 1, 2-3, 4-7, ... 128+ */
} pq3d_writer_stats;
void pq3d_writer_get_stats(pq3d_writer *w, pq3d_writer_stats *out);

/* The request handlers, run on the writer thread inside a savepoint
 * (directory.c, relay.c). They set j->status / reason / result; a
 * PQ3_ERR_IO return means the store failed (the savepoint is undone and
 * the job answered UNAVAILABLE). */
pq3_err pq3d_do_auth(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j);
pq3_err pq3d_do_register(pq3d_store *s, const pq3d_config *cfg, pq3d_kt *kt, pq3d_job *j);
pq3_err pq3d_do_publish(pq3d_store *s, const pq3d_config *cfg, pq3d_kt *kt, pq3d_job *j);
pq3_err pq3d_do_bundle(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j);
pq3_err pq3d_do_lookup(pq3d_store *s, const pq3d_config *cfg, pq3d_kt *kt, pq3d_job *j);
pq3_err pq3d_do_send(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j);
pq3_err pq3d_do_ack(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j);
pq3_err pq3d_do_fetch(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j);

/* ---- the server (conn.c) --------------------------------------------------- */

/* Runs the server of `cfg` until SIGTERM/SIGINT; returns the exit code. */
int pq3d_serve(const pq3d_config *cfg);

/* Monotonic nanoseconds; wall-clock seconds. */
uint64_t pq3d_now_ns(void);
uint64_t pq3d_now_s(void);

/* ---- metrics (metrics.c) ----------------------------------------------------- */

typedef struct pq3d_metrics {
    uint64_t conns, conns_authed, conns_total, conns_refused;
    uint64_t requests_total, requests_refused;
    uint64_t stored_total, delivered_total, acked_total, duplicates_total;
    uint64_t notify_sent, notify_received;
    uint64_t queue_envelopes, queue_bytes;
    uint64_t lat_bounds_us[12];
    uint64_t lat_counts[13];            /* last: +Inf */
    uint64_t lat_sum_us, lat_count;
    int draining, store_ok;
} pq3d_metrics;
void pq3d_metrics_init(pq3d_metrics *m);
void pq3d_metrics_latency(pq3d_metrics *m, uint64_t us);
/* Starts the HTTP listener (evhttp) for /metrics and /health on the loop.
 * *port receives the bound port. 0, or -1 with err. */
struct evhttp;
struct evhttp *pq3d_metrics_start(struct event_base *base, const char *hostport,
                                  pq3d_metrics *m, pq3d_writer *w, uint16_t *port, char *err,
                                  size_t errlen);

#endif
