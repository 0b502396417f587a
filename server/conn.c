/*
 * pq3d's event loop (docs/SERVER.md §1, §2, §4, §7, §8, §9): TLS 1.3
 * connections over libevent's bufferevent_openssl, frames, the device's
 * authentication, authorization of every request, rate limits, pushes with
 * a window, backpressure, draining. Everything that touches the store goes
 * to the writer thread as a job and is answered when it comes back.
 */
#include "pq3d.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#define OUT_HIGH (1024u * 1024u)     /* backlog above which nothing more is queued (§9) */
#define OUT_LOW (256u * 1024u)
#define TABLE_BITS 14
#define TABLE_SIZE (1u << TABLE_BITS)
#define DRAIN_LIMIT_S 10

enum { C_NEW, C_UNREG, C_PENDING, C_LISTED };

typedef struct bucket {
    double tokens;
    uint64_t last_ns;
} bucket;

typedef struct acct_rate {
    struct acct_rate *next;
    uint8_t handle[PQ3_HANDLE_MAX];
    size_t handle_len;
    uint32_t refs;
    bucket b;
} acct_rate;

typedef struct conn conn;
struct conn {
    uint64_t id;
    pq3d_server *srv;
    struct bufferevent *bev;
    conn *id_next, *dev_next;
    char peer[INET6_ADDRSTRLEN + 8];
    int state;
    int tls_up, closing, in_dev_table, drain_goodbye;
    uint8_t nonce[PQ3_WIRE_NONCE_BYTES];
    uint64_t ch_time;
    uint8_t exporter[PQ3_WIRE_EXPORTER_BYTES];
    uint8_t handle[PQ3_HANDLE_MAX];
    size_t handle_len;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t auth_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t cert[PQ3_CERT_MAX_BYTES];
    size_t cert_len;
    uint32_t reqs;                       /* requests unanswered */
    int auth_busy;                       /* AUTH/REGISTER/PUBLISH in flight */
    uint64_t inflight[PQ3_WIRE_WINDOW];  /* DELIVERs not yet acknowledged */
    uint32_t n_inflight;
    int need_fetch, fetch_busy;
    bucket rate, lookups;
    acct_rate *acct;
    struct event *auth_timer, *close_timer;
};

struct pq3d_server {
    const pq3d_config *cfg;
    struct event_base *base;
    SSL_CTX *ctx;
    struct evconnlistener *lis;
    pq3d_store *store;
    pq3d_writer *w;
    pq3d_listener *pgl;
    struct event *pgl_ev;
    conn *by_id[TABLE_SIZE];
    conn *by_dev[TABLE_SIZE];
    acct_rate *accts[TABLE_SIZE];
    uint64_t next_id;
    uint32_t n_conns;
    pq3d_metrics m;
    struct evhttp *http;
    struct event *sig_term, *sig_int, *housekeep, *drain_timer, *kt_timer;
    int draining;
    uint64_t drain_start_ns;
    uint16_t port, metrics_port;
};

static void conn_close(conn *c);
static void goodbye(conn *c, uint16_t status, const char *reason);
static void maybe_fetch(conn *c);
static void conn_read(struct bufferevent *bev, void *arg);

uint64_t pq3d_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t pq3d_now_s(void)
{
    return (uint64_t)time(NULL);
}

/* ---- tables ----------------------------------------------------------------- */

static uint32_t hash_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < alen; i++)
        h = (h ^ a[i]) * 16777619u;
    for (size_t i = 0; i < blen; i++)
        h = (h ^ b[i]) * 16777619u;
    return h & (TABLE_SIZE - 1);
}

static conn *find_conn(pq3d_server *s, uint64_t id)
{
    for (conn *c = s->by_id[id & (TABLE_SIZE - 1)]; c != NULL; c = c->id_next)
        if (c->id == id)
            return c;
    return NULL;
}

static conn *find_device(pq3d_server *s, const uint8_t *handle, size_t len,
                         const uint8_t id[PQ3_DEVICE_ID_BYTES])
{
    uint32_t h = hash_bytes(handle, len, id, PQ3_DEVICE_ID_BYTES);
    for (conn *c = s->by_dev[h]; c != NULL; c = c->dev_next)
        if (c->handle_len == len && memcmp(c->handle, handle, len) == 0 &&
            memcmp(c->device_id, id, PQ3_DEVICE_ID_BYTES) == 0)
            return c;
    return NULL;
}

static void dev_table_remove(conn *c)
{
    uint32_t h;
    if (!c->in_dev_table)
        return;
    h = hash_bytes(c->handle, c->handle_len, c->device_id, PQ3_DEVICE_ID_BYTES);
    for (conn **pp = &c->srv->by_dev[h]; *pp != NULL; pp = &(*pp)->dev_next)
        if (*pp == c) {
            *pp = c->dev_next;
            break;
        }
    c->in_dev_table = 0;
}

static acct_rate *acct_ref(pq3d_server *s, const uint8_t *handle, size_t len)
{
    uint32_t h = hash_bytes(handle, len, NULL, 0);
    acct_rate *a;
    for (a = s->accts[h]; a != NULL; a = a->next)
        if (a->handle_len == len && memcmp(a->handle, handle, len) == 0)
            break;
    if (a == NULL) {
        a = calloc(1, sizeof *a);
        if (a == NULL)
            return NULL;
        memcpy(a->handle, handle, len);
        a->handle_len = len;
        a->b.tokens = 2.0 * s->cfg->rate_account;
        a->b.last_ns = pq3d_now_ns();
        a->next = s->accts[h];
        s->accts[h] = a;
    }
    a->refs++;
    return a;
}

static void acct_unref(pq3d_server *s, acct_rate *a)
{
    uint32_t h;
    if (a == NULL || --a->refs > 0)
        return;
    h = hash_bytes(a->handle, a->handle_len, NULL, 0);
    for (acct_rate **pp = &s->accts[h]; *pp != NULL; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    free(a);
}

/* A token bucket of `rate` per second and a burst of twice that. */
static int take(bucket *b, uint32_t rate)
{
    uint64_t now = pq3d_now_ns();
    double burst = 2.0 * rate;
    b->tokens += (double)(now - b->last_ns) * rate / 1e9;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_ns = now;
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

/* ---- output ------------------------------------------------------------------- */

static size_t out_len(conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static void send_frame(conn *c, uint8_t type, uint32_t id, const uint8_t *body, size_t len)
{
    uint8_t hdr[PQ3_WIRE_HEADER_BYTES];
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (pq3_wire_header_encode(hdr, type, id, len) != PQ3_OK)
        return;
    evbuffer_add(out, hdr, sizeof hdr);
    if (len > 0)
        evbuffer_add(out, body, len);
}

static void respond(conn *c, uint32_t id, uint16_t status, const char *reason,
                    const uint8_t *result, size_t result_len)
{
    pq3_wire_response r;
    size_t cap = 4 + PQ3_WIRE_MAX_REASON + result_len, len;
    uint8_t stackbuf[512];
    uint8_t *buf = cap <= sizeof stackbuf ? stackbuf : malloc(cap);

    if (buf == NULL)
        return;
    r.status = status;
    r.reason.p = (const uint8_t *)reason;
    r.reason.len = strnlen(reason, PQ3_WIRE_MAX_REASON);
    r.result.p = status == PQ3_ST_OK ? result : NULL;
    r.result.len = status == PQ3_ST_OK ? result_len : 0;
    if (pq3_wire_response_encode(buf, cap, &len, &r) == PQ3_OK)
        send_frame(c, PQ3_WIRE_RESPONSE, id, buf, len);
    if (buf != stackbuf)
        free(buf);
    c->srv->m.requests_total++;
    if (status != PQ3_ST_OK)
        c->srv->m.requests_refused++;
}

/* Reading resumes when the connection is below its limits again (§2, §9). */
static void update_reading(conn *c)
{
    if (c->closing)
        return;
    if (c->reqs >= PQ3_WIRE_MAX_INFLIGHT || out_len(c) > OUT_HIGH || c->srv->draining)
        bufferevent_disable(c->bev, EV_READ);
    else {
        bufferevent_enable(c->bev, EV_READ);
        /* Frames already buffered while paused are not announced again. */
        if (evbuffer_get_length(bufferevent_get_input(c->bev)) >= PQ3_WIRE_HEADER_BYTES)
            conn_read(c->bev, c);
    }
}

static int is_inflight(const conn *c, uint64_t id)
{
    for (uint32_t i = 0; i < c->n_inflight; i++)
        if (c->inflight[i] == id)
            return 1;
    return 0;
}

/* Pushes one envelope if the window and the backlog allow; otherwise marks
 * the connection to fetch from the store later (§8). */
static void push(conn *c, uint64_t queue_id, const uint8_t *from_handle, size_t from_len,
                 const uint8_t from_device[PQ3_DEVICE_ID_BYTES], const uint8_t msg_id[16],
                 uint64_t stored_at, const uint8_t *msg, size_t msg_len)
{
    pq3_wire_deliver d;
    uint8_t *buf;
    size_t cap, len;

    if (c->state != C_LISTED || c->closing || is_inflight(c, queue_id))
        return;
    if (c->n_inflight >= PQ3_WIRE_WINDOW || out_len(c) > OUT_HIGH) {
        c->need_fetch = 1;
        return;
    }
    d.queue_id = queue_id;
    d.from_handle.p = from_handle;
    d.from_handle.len = from_len;
    memcpy(d.from_device, from_device, PQ3_DEVICE_ID_BYTES);
    memcpy(d.msg_id, msg_id, 16);
    d.stored_at = stored_at;
    d.msg.p = msg;
    d.msg.len = msg_len;
    cap = 64 + from_len + msg_len;
    buf = malloc(cap);
    if (buf == NULL) {
        c->need_fetch = 1;
        return;
    }
    if (pq3_wire_deliver_encode(buf, cap, &len, &d) == PQ3_OK) {
        send_frame(c, PQ3_WIRE_DELIVER, 0, buf, len);
        c->inflight[c->n_inflight++] = queue_id;
        c->srv->m.delivered_total++;
    }
    free(buf);
}

/* ---- jobs ------------------------------------------------------------------------ */

static pq3d_job *conn_job(conn *c, enum pq3d_job_kind kind, uint32_t req_id, uint8_t type)
{
    pq3d_job *j = pq3d_job_new(kind);
    if (j == NULL)
        return NULL;
    j->conn_id = c->id;
    j->req_id = req_id;
    j->type = type;
    j->now = pq3d_now_s();
    j->t_arrival_ns = pq3d_now_ns();
    memcpy(j->handle, c->handle, c->handle_len);
    j->handle_len = c->handle_len;
    memcpy(j->device_id, c->device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(j->account_pub, c->account_pub, PQ3_ECDSA_PUB_BYTES);
    memcpy(j->auth_pub, c->auth_pub, PQ3_ECDSA_PUB_BYTES);
    memcpy(j->cert, c->cert, c->cert_len);
    j->cert_len = c->cert_len;
    return j;
}

/* (conn_read checks the limits before the next frame.) */
static void submit(conn *c, pq3d_job *j)
{
    c->reqs++;
    pq3d_writer_submit(c->srv->w, j);
}

static void maybe_fetch(conn *c)
{
    pq3d_job *j;
    if (!c->need_fetch || c->fetch_busy || c->closing || c->state != C_LISTED ||
        c->n_inflight >= PQ3_WIRE_WINDOW || out_len(c) > OUT_HIGH)
        return;
    j = conn_job(c, JOB_FETCH, 0, 0);
    if (j == NULL)
        return;
    j->fetch_max = PQ3_WIRE_WINDOW - c->n_inflight;
    if (c->n_inflight > 0) {
        j->skip = malloc(c->n_inflight * sizeof *j->skip);
        if (j->skip == NULL) {
            pq3d_job_free(j);
            return;
        }
        memcpy(j->skip, c->inflight, c->n_inflight * sizeof *j->skip);
        j->n_skip = c->n_inflight;
    }
    c->need_fetch = 0;
    c->fetch_busy = 1;
    pq3d_writer_submit(c->srv->w, j);
}

static void presence(conn *c, int on)
{
    pq3d_job *j = conn_job(c, JOB_PRESENCE, 0, 0);
    if (j == NULL)
        return;
    j->flag = on;
    pq3d_writer_submit(c->srv->w, j);
}

/* The device is listed now: it gets its pushes on this connection. */
static void activate(conn *c)
{
    pq3d_server *s = c->srv;
    conn *old = find_device(s, c->handle, c->handle_len, c->device_id);
    uint32_t h;

    c->state = C_LISTED;
    if (old == c)
        return;
    if (old != NULL) {
        /* One connection per device (§1): the newer one wins. */
        dev_table_remove(old);
        goodbye(old, PQ3_ST_FORBIDDEN, "replaced by a newer connection of this device");
    }
    h = hash_bytes(c->handle, c->handle_len, c->device_id, PQ3_DEVICE_ID_BYTES);
    c->dev_next = s->by_dev[h];
    s->by_dev[h] = c;
    c->in_dev_table = 1;
    presence(c, 1);
    c->need_fetch = 1;
    maybe_fetch(c);
}

static void drain_check(conn *c)
{
    if (c->srv->draining && c->reqs == 0 && !c->closing)
        goodbye(c, PQ3_ST_UNAVAILABLE, "the server is shutting down");
}

static void job_done(void *arg, pq3d_job *j)
{
    pq3d_server *s = arg;
    conn *c;

    if (j->kind == JOB_KT_EPOCH) {
        if (j->status != PQ3_ST_OK)
            pq3d_log(PQ3D_WARN, "kt_epoch_failed", "reason=\"%s\"", j->reason);
        else if (j->kt_published != UINT64_MAX)
            pq3d_log(PQ3D_INFO, "kt_epoch", "epoch=%llu records=%u",
                     (unsigned long long)j->kt_published, j->kt_records);
        pq3d_job_free(j);
        return;
    }
    if (j->kind == JOB_HOUSEKEEP) {
        if (j->status == PQ3_ST_OK) {
            s->m.queue_envelopes = j->total_envelopes;
            s->m.queue_bytes = j->total_bytes;
            s->m.store_ok = 1;
            if (j->expired > 0)
                pq3d_log(PQ3D_INFO, "expired", "envelopes=%llu", (unsigned long long)j->expired);
        } else {
            s->m.store_ok = 0;
        }
        pq3d_job_free(j);
        return;
    }
    /* Envelopes stored for devices connected here are pushed whether or not
     * the sender is still connected. */
    if (j->kind == JOB_SEND && j->status == PQ3_ST_OK && j->queued != NULL) {
        for (uint16_t i = 0; i < j->req.send.count; i++) {
            pq3d_queued *q = &j->queued[i];
            conn *r;
            if (q->status != PQ3_ST_OK)
                continue;
            if (q->duplicate) {
                s->m.duplicates_total++;
                continue;
            }
            s->m.stored_total++;
            r = find_device(s, q->to_handle, q->to_handle_len, q->to_device);
            if (r != NULL)
                push(r, q->queue_id, q->from_handle, q->from_handle_len, q->from_device,
                     q->msg_id, q->stored_at, q->msg, q->msg_len);
        }
    }
    if (j->kind == JOB_ACK && j->status == PQ3_ST_OK)
        s->m.acked_total += j->queued_count;
    if (j->kind == JOB_PUBLISH && j->status == PQ3_ST_OK) {
        for (uint32_t i = 0; i < j->n_removed; i++) {
            conn *r = find_device(s, j->handle, j->handle_len, j->removed[i]);
            if (r != NULL) {
                dev_table_remove(r);
                goodbye(r, PQ3_ST_FORBIDDEN, "this device was removed from its account");
            }
        }
    }

    c = find_conn(s, j->conn_id);
    if (c == NULL || j->kind == JOB_PRESENCE) {
        pq3d_job_free(j);
        return;
    }
    if (j->kind == JOB_FETCH) {
        c->fetch_busy = 0;
        if (j->status == PQ3_ST_OK) {
            for (uint32_t i = 0; i < j->n_deliveries; i++) {
                pq3d_delivery *d = &j->deliveries[i];
                push(c, d->queue_id, d->from_handle, d->from_handle_len, d->from_device,
                     d->msg_id, d->stored_at, d->msg, d->msg_len);
            }
            if (j->n_deliveries == j->fetch_max)
                c->need_fetch = 1;     /* there may be more */
        } else {
            c->need_fetch = 1;
        }
        maybe_fetch(c);
        pq3d_job_free(j);
        return;
    }

    c->reqs--;
    pq3d_metrics_latency(&s->m, (pq3d_now_ns() - j->t_arrival_ns) / 1000u);
    if (j->kind == JOB_AUTH || j->kind == JOB_REGISTER || j->kind == JOB_PUBLISH)
        c->auth_busy = 0;
    if (!c->closing) {
        respond(c, j->req_id, j->status, j->reason, j->result, j->result_len);
        if (j->kind == JOB_AUTH) {
            if (j->status != PQ3_ST_OK) {
                goodbye(c, j->status, j->reason);
            } else {
                s->m.conns_authed++;
                pq3d_log(PQ3D_INFO, "auth", "conn=%llu peer=%s state=%u queued=%u",
                         (unsigned long long)c->id, c->peer, j->state, j->queued_count);
                c->acct = acct_ref(s, c->handle, c->handle_len);
                bufferevent_setwatermark(c->bev, EV_READ, 0,
                                         PQ3_WIRE_HEADER_BYTES + PQ3_WIRE_MAX_FRAME);
                if (j->state == PQ3_WIRE_LISTED)
                    activate(c);
                else
                    c->state = j->state == PQ3_WIRE_PENDING ? C_PENDING : C_UNREG;
            }
        } else if ((j->kind == JOB_REGISTER || j->kind == JOB_PUBLISH) &&
                   j->status == PQ3_ST_OK && c->state != C_LISTED) {
            pq3d_log(PQ3D_INFO, j->kind == JOB_REGISTER ? "registered" : "listed",
                     "conn=%llu version=%llu", (unsigned long long)c->id,
                     (unsigned long long)j->list_version);
            activate(c);
        }
    }
    pq3d_job_free(j);
    if (!c->closing) {
        update_reading(c);
        drain_check(c);
    }
}

/* ---- requests ------------------------------------------------------------------------ */

static void handle_auth(conn *c, uint32_t id, const uint8_t *body, size_t len)
{
    pq3_wire_auth a;
    pq3_wire_challenge ch;
    pq3_device_cert cert;
    pq3d_job *j;
    uint64_t now = pq3d_now_s();
    pq3_err err;

    if (pq3_wire_auth_decode(&a, body, len) != PQ3_OK) {
        goodbye(c, PQ3_ST_BAD_REQUEST, "malformed AUTH");
        return;
    }
    if (a.version != PQ3_WIRE_VERSION) {
        respond(c, id, PQ3_ST_VERSION, "protocol version not supported", NULL, 0);
        goodbye(c, PQ3_ST_VERSION, "protocol version not supported");
        return;
    }
    if (now > c->ch_time + c->srv->cfg->auth_timeout) {
        respond(c, id, PQ3_ST_EXPIRED, "the challenge is stale", NULL, 0);
        goodbye(c, PQ3_ST_EXPIRED, "the challenge is stale");
        return;
    }
    err = pq3_cert_verify(&cert, a.cert.p, a.cert.len, a.account_pub, now);
    if (err != PQ3_OK || cert.handle_len != a.handle.len ||
        memcmp(cert.handle, a.handle.p, a.handle.len) != 0 ||
        memcmp(cert.device_id, a.device_id, PQ3_DEVICE_ID_BYTES) != 0) {
        uint16_t st = err == PQ3_ERR_EXPIRED ? PQ3_ST_EXPIRED : PQ3_ST_INVALID;
        const char *why = err != PQ3_OK ? "the certificate does not verify under the account key"
                                        : "the certificate is for another handle or device";
        respond(c, id, st, why, NULL, 0);
        goodbye(c, st, why);
        return;
    }
    ch.version = PQ3_WIRE_VERSION;
    ch.name.p = (const uint8_t *)c->srv->cfg->name;
    ch.name.len = strlen(c->srv->cfg->name);
    memcpy(ch.nonce, c->nonce, sizeof ch.nonce);
    ch.time = c->ch_time;
    if (pq3_wire_auth_verify(&a, &ch, c->exporter, &cert) != PQ3_OK) {
        respond(c, id, PQ3_ST_INVALID, "the challenge signature does not verify", NULL, 0);
        goodbye(c, PQ3_ST_INVALID, "the challenge signature does not verify");
        pq3d_log(PQ3D_WARN, "auth_failed", "conn=%llu peer=%s reason=signature",
                 (unsigned long long)c->id, c->peer);
        return;
    }
    memcpy(c->handle, a.handle.p, a.handle.len);
    c->handle_len = a.handle.len;
    memcpy(c->device_id, a.device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(c->account_pub, a.account_pub, PQ3_ECDSA_PUB_BYTES);
    memcpy(c->auth_pub, cert.auth_pub, PQ3_ECDSA_PUB_BYTES);
    memcpy(c->cert, a.cert.p, a.cert.len);
    c->cert_len = a.cert.len;
    if (c->auth_timer != NULL)
        event_del(c->auth_timer);
    j = conn_job(c, JOB_AUTH, id, PQ3_WIRE_AUTH);
    if (j == NULL) {
        goodbye(c, PQ3_ST_UNAVAILABLE, "out of memory");
        return;
    }
    c->state = C_UNREG;      /* no other request until the answer: auth_busy */
    c->auth_busy = 1;
    submit(c, j);
}

/* Which requests each state allows (§7). */
static int allowed(const conn *c, uint8_t type)
{
    if (type == PQ3_WIRE_PING)
        return 1;
    if (c->auth_busy)
        return 0;
    switch (c->state) {
    case C_NEW: return type == PQ3_WIRE_AUTH;
    case C_UNREG: return type == PQ3_WIRE_REGISTER;
    case C_PENDING: return type == PQ3_WIRE_PUBLISH_LIST;
    case C_LISTED: return type != PQ3_WIRE_AUTH && type != PQ3_WIRE_REGISTER;
    }
    return 0;
}

static void handle_frame(conn *c, uint8_t type, uint32_t id, uint8_t *body, size_t len)
{
    pq3d_server *s = c->srv;
    pq3d_job *j;
    enum pq3d_job_kind kind;
    pq3_err err;

    if (!pq3_wire_is_request(type)) {
        goodbye(c, PQ3_ST_BAD_REQUEST, "unknown frame type");
        goto out;
    }
    if (type == PQ3_WIRE_PING) {
        uint8_t t[8];
        if (len != 0) {
            goodbye(c, PQ3_ST_BAD_REQUEST, "malformed PING");
            goto out;
        }
        if (pq3_wire_time_encode(t, pq3d_now_s()) == PQ3_OK)
            respond(c, id, PQ3_ST_OK, "", t, sizeof t);
        goto out;
    }
    if (!allowed(c, type)) {
        goodbye(c, c->state == C_NEW ? PQ3_ST_UNAUTHENTICATED : PQ3_ST_FORBIDDEN,
                c->state == C_NEW ? "authenticate first" : "request not allowed in this state");
        goto out;
    }
    if (type == PQ3_WIRE_AUTH) {
        handle_auth(c, id, body, len);
        goto out;
    }
    if (!take(&c->rate, s->cfg->rate_conn) ||
        (c->acct != NULL && !take(&c->acct->b, s->cfg->rate_account)) ||
        (type == PQ3_WIRE_LOOKUP && !take(&c->lookups, s->cfg->rate_lookup))) {
        respond(c, id, PQ3_ST_RATE_LIMITED, "too many requests; retry later", NULL, 0);
        goto out;
    }
    switch (type) {
    case PQ3_WIRE_REGISTER: kind = JOB_REGISTER; break;
    case PQ3_WIRE_PUBLISH_LIST: kind = JOB_PUBLISH; break;
    case PQ3_WIRE_PUT_BUNDLE: kind = JOB_BUNDLE; break;
    case PQ3_WIRE_LOOKUP: kind = JOB_LOOKUP; break;
    case PQ3_WIRE_SEND: kind = JOB_SEND; break;
    default: kind = JOB_ACK; break;
    }
    j = conn_job(c, kind, id, type);
    if (j == NULL) {
        respond(c, id, PQ3_ST_UNAVAILABLE, "out of memory", NULL, 0);
        goto out;
    }
    j->body = body;
    j->body_len = len;
    body = NULL;
    switch (type) {
    case PQ3_WIRE_REGISTER: err = pq3_wire_register_decode(&j->req.reg, j->body, len); break;
    case PQ3_WIRE_PUBLISH_LIST: err = pq3_wire_publish_decode(&j->req.pub, j->body, len); break;
    case PQ3_WIRE_PUT_BUNDLE: err = pq3_wire_put_bundle_decode(&j->req.bundle, j->body, len); break;
    case PQ3_WIRE_LOOKUP: err = pq3_wire_lookup_decode(&j->req.lookup, j->body, len); break;
    case PQ3_WIRE_SEND: err = pq3_wire_send_decode(&j->req.send, j->body, len); break;
    default: err = pq3_wire_ack_decode(&j->req.ack, j->body, len); break;
    }
    if (err != PQ3_OK) {
        pq3d_job_free(j);
        goodbye(c, PQ3_ST_BAD_REQUEST, "malformed request body");
        goto out;
    }
    if (kind == JOB_ACK) {
        /* The window opens now; the delete is durable when answered. */
        for (uint16_t i = 0; i < j->req.ack.count; i++)
            for (uint32_t k = 0; k < c->n_inflight; k++)
                if (c->inflight[k] == j->req.ack.ids[i]) {
                    c->inflight[k] = c->inflight[--c->n_inflight];
                    break;
                }
    }
    if (kind == JOB_REGISTER || kind == JOB_PUBLISH)
        c->auth_busy = 1;
    submit(c, j);
    if (kind == JOB_ACK)
        maybe_fetch(c);
out:
    free(body);
}

/* ---- connection events ------------------------------------------------------------------ */

static void conn_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (!c->closing) {
        uint8_t hdr[PQ3_WIRE_HEADER_BYTES], type;
        uint32_t id, body_len;
        uint8_t *body;
        pq3_err err;

        if (c->reqs >= PQ3_WIRE_MAX_INFLIGHT || out_len(c) > OUT_HIGH || c->srv->draining) {
            bufferevent_disable(bev, EV_READ);
            return;
        }
        if (evbuffer_copyout(in, hdr, sizeof hdr) < (ssize_t)sizeof hdr)
            return;
        err = pq3_wire_header_decode(hdr,
                                     c->state == C_NEW ? PQ3_WIRE_MAX_FRAME_PREAUTH
                                                       : PQ3_WIRE_MAX_FRAME,
                                     &type, &id, &body_len);
        if (err == PQ3_ERR_LIMIT) {
            goodbye(c, PQ3_ST_TOO_LARGE, "frame over the size limit");
            return;
        }
        if (err != PQ3_OK) {
            goodbye(c, PQ3_ST_BAD_REQUEST, "malformed frame header");
            return;
        }
        if (evbuffer_get_length(in) < sizeof hdr + body_len)
            return;
        body = malloc(body_len > 0 ? body_len : 1);
        if (body == NULL) {
            goodbye(c, PQ3_ST_UNAVAILABLE, "out of memory");
            return;
        }
        evbuffer_drain(in, sizeof hdr);
        evbuffer_remove(in, body, body_len);
        handle_frame(c, type, id, body, body_len);
    }
}

static void conn_write(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    (void)bev;
    if (c->closing) {
        if (out_len(c) == 0)
            conn_close(c);
        return;
    }
    /* Below the low watermark: pushes and reading may go on. */
    maybe_fetch(c);
    update_reading(c);
}

static void send_challenge(conn *c)
{
    pq3_wire_challenge ch;
    uint8_t buf[16 + PQ3_WIRE_MAX_NAME + PQ3_WIRE_NONCE_BYTES];
    size_t len;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

    if (RAND_bytes(c->nonce, sizeof c->nonce) != 1 ||
        SSL_export_keying_material(ssl, c->exporter, sizeof c->exporter,
                                   PQ3_WIRE_EXPORTER_LABEL, strlen(PQ3_WIRE_EXPORTER_LABEL),
                                   NULL, 0, 0) != 1) {
        conn_close(c);
        return;
    }
    c->ch_time = pq3d_now_s();
    ch.version = PQ3_WIRE_VERSION;
    ch.name.p = (const uint8_t *)c->srv->cfg->name;
    ch.name.len = strlen(c->srv->cfg->name);
    memcpy(ch.nonce, c->nonce, sizeof ch.nonce);
    ch.time = c->ch_time;
    if (pq3_wire_challenge_encode(buf, sizeof buf, &len, &ch) != PQ3_OK) {
        conn_close(c);
        return;
    }
    send_frame(c, PQ3_WIRE_CHALLENGE, 0, buf, len);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        c->tls_up = 1;
        send_challenge(c);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && !c->closing) {
        goodbye(c, PQ3_ST_UNAVAILABLE, "idle for too long");
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (what & BEV_EVENT_ERROR) {
            unsigned long e = bufferevent_get_openssl_error(c->bev);
            if (e != 0 && !c->tls_up)
                pq3d_log(PQ3D_INFO, "tls_failed", "conn=%llu peer=%s error=\"%s\"",
                         (unsigned long long)c->id, c->peer, ERR_reason_error_string(e));
        }
        conn_close(c);
    }
}

static void auth_timeout(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == C_NEW && !c->closing)
        goodbye(c, PQ3_ST_UNAUTHENTICATED, "authentication timed out");
}

static void close_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_close(arg);
}

/* Says why, then closes once the output is written (or after 5 s). Never
 * frees c itself: callers up the stack still hold it. */
static void goodbye(conn *c, uint16_t status, const char *reason)
{
    pq3_wire_goodbye g;
    uint8_t buf[4 + PQ3_WIRE_MAX_REASON];
    size_t len;
    struct timeval tv = { 5, 0 }, now = { 0, 0 };

    if (c->closing)
        return;
    g.status = status;
    g.reason.p = (const uint8_t *)reason;
    g.reason.len = strnlen(reason, PQ3_WIRE_MAX_REASON);
    if (c->tls_up && pq3_wire_goodbye_encode(buf, sizeof buf, &len, &g) == PQ3_OK)
        send_frame(c, PQ3_WIRE_GOODBYE, 0, buf, len);
    pq3d_log(status == PQ3_ST_UNAVAILABLE ? PQ3D_INFO : PQ3D_WARN, "goodbye",
             "conn=%llu peer=%s status=%s", (unsigned long long)c->id, c->peer,
             pq3_wire_status_name(status));
    c->closing = 1;
    if (c->in_dev_table) {
        dev_table_remove(c);
        presence(c, 0);
    }
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    c->close_timer = evtimer_new(c->srv->base, close_timeout, c);
    if (c->close_timer != NULL)
        evtimer_add(c->close_timer, (out_len(c) == 0 || !c->tls_up) ? &now : &tv);
}

static void conn_close(conn *c)
{
    pq3d_server *s = c->srv;
    conn **pp;

    if (c->in_dev_table) {
        dev_table_remove(c);
        presence(c, 0);
    }
    for (pp = &s->by_id[c->id & (TABLE_SIZE - 1)]; *pp != NULL; pp = &(*pp)->id_next)
        if (*pp == c) {
            *pp = c->id_next;
            break;
        }
    if (c->auth_timer != NULL)
        event_free(c->auth_timer);
    if (c->close_timer != NULL)
        event_free(c->close_timer);
    acct_unref(s, c->acct);
    bufferevent_free(c->bev);
    s->n_conns--;
    s->m.conns = s->n_conns;
    free(c);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    pq3d_server *s = arg;
    conn *c;
    SSL *ssl;
    int one = 1;
    struct timeval idle = { (time_t)s->cfg->idle_timeout, 0 };
    struct timeval auth = { (time_t)s->cfg->auth_timeout, 0 };
    (void)lis;
    (void)salen;

    if (s->draining || s->n_conns >= s->cfg->max_conns) {
        s->m.conns_refused++;
        evutil_closesocket(fd);
        return;
    }
    c = calloc(1, sizeof *c);
    ssl = SSL_new(s->ctx);
    if (c == NULL || ssl == NULL) {
        free(c);
        SSL_free(ssl);
        evutil_closesocket(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    c->bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (c->bev == NULL) {
        free(c);
        SSL_free(ssl);
        evutil_closesocket(fd);
        return;
    }
    c->srv = s;
    c->id = ++s->next_id;
    c->state = C_NEW;
    c->rate.tokens = 2.0 * s->cfg->rate_conn;
    c->rate.last_ns = pq3d_now_ns();
    c->lookups.tokens = 2.0 * s->cfg->rate_lookup;
    c->lookups.last_ns = c->rate.last_ns;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->peer, sizeof c->peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->peer, sizeof c->peer);
    c->id_next = s->by_id[c->id & (TABLE_SIZE - 1)];
    s->by_id[c->id & (TABLE_SIZE - 1)] = c;
    s->n_conns++;
    s->m.conns = s->n_conns;
    s->m.conns_total++;
    /* Before AUTH the input never holds more than one small frame (§2). */
    bufferevent_setwatermark(c->bev, EV_READ, 0,
                             PQ3_WIRE_HEADER_BYTES + PQ3_WIRE_MAX_FRAME_PREAUTH);
    bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    bufferevent_set_timeouts(c->bev, &idle, NULL);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->auth_timer = evtimer_new(s->base, auth_timeout, c);
    if (c->auth_timer != NULL)
        evtimer_add(c->auth_timer, &auth);
}

/* ---- several nodes (§11) --------------------------------------------------------------------- */

static int unhex(const char *p, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(p + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void on_notification(void *arg, const char *payload)
{
    pq3d_server *s = arg;
    const char *p = payload;
    s->m.notify_received++;
    while (*p != 0) {
        uint8_t id[PQ3_DEVICE_ID_BYTES], handle[PQ3_HANDLE_MAX];
        const char *colon = strchr(p, ':'), *end = strchr(p, ',');
        size_t hlen;
        conn *c;
        if (end == NULL)
            end = p + strlen(p);
        if (colon == NULL || colon > end || colon - p != 2 * PQ3_DEVICE_ID_BYTES)
            return;
        hlen = (size_t)(end - colon - 1) / 2;
        if (hlen == 0 || hlen > PQ3_HANDLE_MAX || unhex(p, PQ3_DEVICE_ID_BYTES, id) != 0 ||
            unhex(colon + 1, hlen, handle) != 0)
            return;
        c = find_device(s, handle, hlen, id);
        if (c != NULL) {
            c->need_fetch = 1;
            maybe_fetch(c);
        }
        p = *end == ',' ? end + 1 : end;
    }
}

static void on_listener(evutil_socket_t fd, short what, void *arg)
{
    pq3d_server *s = arg;
    (void)fd;
    (void)what;
    if (pq3d_listener_drain(s->pgl, on_notification, s) != PQ3_OK) {
        /* The connection broke: deliveries continue on connect and after
         * every local commit; pushes from other nodes wait for reconnect. */
        pq3d_log(PQ3D_ERROR, "listen_failed", "reopening");
        event_free(s->pgl_ev);
        s->pgl_ev = NULL;
        pq3d_listener_close(s->pgl);
        s->pgl = NULL;
    }
}

static void open_listener(pq3d_server *s)
{
    char err[256];
    if (s->pgl != NULL)
        return;
    if (pq3d_listener_open(&s->pgl, s->cfg->store, s->cfg->node, err, sizeof err) != PQ3_OK) {
        pq3d_log(PQ3D_ERROR, "listen_failed", "error=\"%s\"", err);
        return;
    }
    if (s->pgl == NULL)
        return;                     /* SQLite: one node, nothing to listen to */
    s->pgl_ev = event_new(s->base, pq3d_listener_fd(s->pgl), EV_READ | EV_PERSIST, on_listener,
                          s);
    if (s->pgl_ev != NULL)
        event_add(s->pgl_ev, NULL);
    /* Envelopes that arrived while we were not listening. */
    for (uint32_t b = 0; b < TABLE_SIZE; b++)
        for (conn *c = s->by_dev[b]; c != NULL; c = c->dev_next) {
            c->need_fetch = 1;
            maybe_fetch(c);
        }
}

/* ---- timers and signals ------------------------------------------------------------------------ */

/* The epoch timer (TRANSPARENCY.md §3): every kt_epoch seconds the
 * writer publishes an epoch if this node sequences and records wait. */
static void on_kt_timer(evutil_socket_t fd, short what, void *arg)
{
    pq3d_server *s = arg;
    pq3d_job *j = pq3d_job_new(JOB_KT_EPOCH);
    (void)fd;
    (void)what;
    if (j != NULL) {
        j->now = pq3d_now_s();
        pq3d_writer_submit(s->w, j);
    }
}

static void on_housekeep(evutil_socket_t fd, short what, void *arg)
{
    pq3d_server *s = arg;
    pq3d_job *j = pq3d_job_new(JOB_HOUSEKEEP);
    (void)fd;
    (void)what;
    if (j != NULL) {
        j->now = pq3d_now_s();
        pq3d_writer_submit(s->w, j);
    }
    if (s->pgl == NULL && strncmp(s->cfg->store, "pg:", 3) == 0)
        open_listener(s);
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    pq3d_server *s = arg;
    (void)fd;
    (void)what;
    if ((s->n_conns == 0 && pq3d_writer_pending(s->w) == 0) ||
        pq3d_now_ns() - s->drain_start_ns > (uint64_t)DRAIN_LIMIT_S * 1000000000u)
        event_base_loopbreak(s->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    pq3d_server *s = arg;
    struct timeval tick = { 0, 50000 };
    (void)what;
    if (s->draining)
        return;
    pq3d_log(PQ3D_INFO, "draining", "signal=%d connections=%u", (int)sig, s->n_conns);
    s->draining = 1;
    s->m.draining = 1;
    s->drain_start_ns = pq3d_now_ns();
    if (s->lis != NULL)
        evconnlistener_disable(s->lis);
    for (uint32_t b = 0; b < TABLE_SIZE; b++) {
        conn *c = s->by_id[b];
        while (c != NULL) {
            conn *next = c->id_next;   /* goodbye may free c */
            if (c->closing) {
            } else if (c->reqs == 0)
                goodbye(c, PQ3_ST_UNAVAILABLE, "the server is shutting down");
            else
                bufferevent_disable(c->bev, EV_READ);
            c = next;
        }
    }
    s->drain_timer = event_new(s->base, -1, EV_PERSIST, on_drain_tick, s);
    if (s->drain_timer != NULL)
        event_add(s->drain_timer, &tick);
}

/* ---- start and stop ------------------------------------------------------------------------------ */

static int write_ports(const pq3d_server *s)
{
    char path[PQ3D_PATH_MAX + 32], tmp[PQ3D_PATH_MAX + 40];
    FILE *f;
    snprintf(path, sizeof path, "%s/pq3d.ports", s->cfg->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "listen %u\nmetrics %u\npid %ld\n", s->port, s->metrics_port, (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

static struct evconnlistener *listen_on(pq3d_server *s, const char *hostport, uint16_t *bound,
                                        char *err, size_t errlen)
{
    char host[128];
    uint16_t port;
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    struct evconnlistener *l;
    socklen_t blen = sizeof ss;

    memset(&ss, 0, sizeof ss);
    if (pq3d_split_hostport(hostport, host, sizeof host, &port) == 0) {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons(port);
            sslen = sizeof *a4;
        } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons(port);
            sslen = sizeof *a6;
        } else
            port = 0, sslen = 0;
    } else
        sslen = 0;
    if (sslen == 0) {
        snprintf(err, errlen, "listen address '%s' is not a numeric host:port", hostport);
        return NULL;
    }
    l = evconnlistener_new_bind(s->base, on_accept, s,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                1024, (struct sockaddr *)&ss, sslen);
    if (l == NULL) {
        snprintf(err, errlen, "cannot listen on %s: %s", hostport, strerror(errno));
        return NULL;
    }
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &blen) == 0)
        *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    return l;
}

int pq3d_serve(const pq3d_config *cfg)
{
    pq3d_server *s = calloc(1, sizeof *s);
    char err[512];
    int rc = 1;
    struct timeval hk = { 10, 0 };

    if (s == NULL)
        return 1;
    s->cfg = cfg;
    pq3d_metrics_init(&s->m);
    signal(SIGPIPE, SIG_IGN);
    {
        /* One descriptor per connection: as many as the hard limit allows. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    s->base = event_base_new();
    if (s->base == NULL) {
        pq3d_log(PQ3D_ERROR, "start_failed", "error=\"no event base\"");
        goto out;
    }
    s->ctx = pq3d_tls_server_ctx(cfg->tls_key, cfg->tls_cert, err, sizeof err);
    if (s->ctx == NULL) {
        pq3d_log(PQ3D_ERROR, "start_failed", "error=\"%s\"", err);
        goto out;
    }
    if (pq3d_store_open(&s->store, cfg->store, cfg->node, err, sizeof err) != PQ3_OK) {
        pq3d_log(PQ3D_ERROR, "start_failed", "error=\"%s\"", err);
        goto out;
    }
    if (pq3d_store_presence_reset(s->store) != PQ3_OK) {
        pq3d_log(PQ3D_ERROR, "start_failed", "error=\"%s\"", pq3d_store_error(s->store));
        goto out;
    }
    s->m.store_ok = 1;
    s->w = pq3d_writer_start(s->store, cfg, s->base, job_done, s, err, sizeof err);
    if (s->w == NULL) {
        pq3d_log(PQ3D_ERROR, "start_failed", "error=\"%s\"", err);
        goto out;
    }
    open_listener(s);
    s->lis = listen_on(s, cfg->listen, &s->port, err, sizeof err);
    if (s->lis == NULL) {
        pq3d_log(PQ3D_ERROR, "start_failed", "error=\"%s\"", err);
        goto out;
    }
    if (cfg->metrics[0] != 0 && strcmp(cfg->metrics, "off") != 0) {
        s->http = pq3d_metrics_start(s->base, cfg->metrics, &s->m, s->w, &s->metrics_port, err,
                                     sizeof err);
        if (s->http == NULL) {
            pq3d_log(PQ3D_ERROR, "start_failed", "error=\"%s\"", err);
            goto out;
        }
    }
    s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
    s->housekeep = event_new(s->base, -1, EV_PERSIST, on_housekeep, s);
    if (s->sig_term == NULL || s->sig_int == NULL || s->housekeep == NULL ||
        event_add(s->sig_term, NULL) != 0 || event_add(s->sig_int, NULL) != 0 ||
        event_add(s->housekeep, &hk) != 0) {
        pq3d_log(PQ3D_ERROR, "start_failed", "error=\"cannot set up signals and timers\"");
        goto out;
    }
    on_housekeep(-1, 0, s);
    {
        struct timeval kt = { (time_t)cfg->kt_epoch, 0 };
        s->kt_timer = event_new(s->base, -1, EV_PERSIST, on_kt_timer, s);
        if (s->kt_timer == NULL || event_add(s->kt_timer, &kt) != 0) {
            pq3d_log(PQ3D_ERROR, "start_failed", "error=\"cannot set up the epoch timer\"");
            goto out;
        }
        on_kt_timer(-1, 0, s);          /* epoch 0 of a new log at once */
    }
    if (write_ports(s) != 0) {
        pq3d_log(PQ3D_ERROR, "start_failed", "error=\"cannot write %s/pq3d.ports\"", cfg->dir);
        goto out;
    }
    pq3d_log(PQ3D_INFO, "listening", "name=%s port=%u metrics_port=%u store=%s node=%s",
             cfg->name, s->port, s->metrics_port, pq3d_store_backend(s->store), cfg->node);
    event_base_dispatch(s->base);
    rc = 0;
    pq3d_log(PQ3D_INFO, "stopped", "connections=%u", s->n_conns);
out:
    /* Connections still open after the drain limit are cut. */
    for (uint32_t b = 0; b < TABLE_SIZE; b++)
        while (s->by_id[b] != NULL)
            conn_close(s->by_id[b]);
    if (s->w != NULL)
        pq3d_writer_stop(s->w);
    if (s->http != NULL)
        evhttp_free(s->http);
    if (s->lis != NULL)
        evconnlistener_free(s->lis);
    if (s->pgl_ev != NULL)
        event_free(s->pgl_ev);
    pq3d_listener_close(s->pgl);
    if (s->sig_term != NULL)
        event_free(s->sig_term);
    if (s->sig_int != NULL)
        event_free(s->sig_int);
    if (s->housekeep != NULL)
        event_free(s->housekeep);
    if (s->kt_timer != NULL)
        event_free(s->kt_timer);
    if (s->drain_timer != NULL)
        event_free(s->drain_timer);
    pq3d_store_close(s->store);
    SSL_CTX_free(s->ctx);
    if (s->base != NULL)
        event_base_free(s->base);
    for (uint32_t b = 0; b < TABLE_SIZE; b++)
        while (s->accts[b] != NULL) {
            acct_rate *a = s->accts[b];
            s->accts[b] = a->next;
            free(a);
        }
    free(s);
    return rc;
}
