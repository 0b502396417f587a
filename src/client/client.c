/*
 * The client of pq3d's protocol (include/pq3/client.h, docs/SERVER.md):
 * one TLS 1.3 connection over a non-blocking socket, every wait a poll()
 * bounded by the call's deadline, frames read incrementally so that a
 * timeout of pq3_client_next in the middle of a frame loses nothing.
 *
 * The socket is driven through a BIO of our own that sends with
 * MSG_NOSIGNAL: a library must not let a peer's reset raise SIGPIPE in its
 * caller's process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC, getaddrinfo under -std=c11 */
#endif
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "pq3/client.h"

#define ERRBUF_BYTES 256
#define DEFAULT_TIMEOUT_MS 10000
/* Pushes kept while a response is awaited: the server keeps at most
 * PQ3_WIRE_WINDOW unacknowledged, the slack absorbs nothing but our own
 * lateness in counting. More is a protocol violation. */
#define QUEUE_CAP (PQ3_WIRE_WINDOW + 16)
#define SEND_BUF_INITIAL 4096u
#define RECV_BUF_INITIAL 4096u

typedef struct queued {
    uint8_t *body;
    size_t len;
} queued;

struct pq3_client {
    int fd;
    int open;            /* the connection is usable */
    int tls_ok;          /* no fatal TLS error: a close_notify may be sent */
    int rd_eof;          /* the socket returned end of file */
    int sys_errno;       /* errno of the last failed socket call */
    int timeout_ms;
    SSL_CTX *ctx;
    SSL *ssl;
    BIO_METHOD *bio_meth;
    uint32_t limit;      /* frame length limit (§2) */
    uint32_t next_id;

    /* the frame being read */
    uint8_t hdr[PQ3_WIRE_HEADER_BYTES];
    size_t hdr_have;
    int in_body;
    uint8_t f_type;
    uint32_t f_id;
    uint32_t f_len;
    size_t body_have;
    uint8_t *rbuf;       /* its body; views of the last result point here */
    size_t rcap;

    uint8_t *sbuf;       /* the frame being sent: header, then body */
    size_t scap;

    queued q[QUEUE_CAP]; /* pushes read while a response was awaited */
    size_t q_head, q_n;
    uint8_t *current;    /* the queued body pq3_client_next last returned */

    /* no-wait ACKs sent and not answered (ids, in no order), and the first
     * refusal among those answered, until a call reports it */
    uint32_t nw_id[PQ3_CLIENT_MAX_NOWAIT];
    unsigned nw_n;
    int nw_refused;
    uint16_t nw_status;
    char nw_reason[PQ3_WIRE_MAX_REASON + 1];

    uint16_t status;
    char reason[PQ3_WIRE_MAX_REASON + 1];
    char err[ERRBUF_BYTES];
};

/* What a failed pq3_client_connect leaves for pq3_client_error(NULL) and
 * friends: the handle is gone, its story is not. */
static _Thread_local struct {
    uint16_t status;
    char reason[PQ3_WIRE_MAX_REASON + 1];
    char err[ERRBUF_BYTES];
} last_connect;

/* A wait ran out of time (internal; never returned to a caller). */
#define TIMED_OUT 1

/* ---- small helpers -------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void seterr(pq3_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* Copies at most cap-1 bytes of a peer's text to a one-line C string:
 * control bytes (and NUL) become '?'. */
static void printable(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t i, n = len < cap - 1 ? len : cap - 1;
    for (i = 0; i < n; i++)
        dst[i] = (src[i] < 0x20 || src[i] == 0x7f) ? '?' : (char)src[i];
    dst[n] = '\0';
}

static void hex(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_in(int ms)
{
    return now_ms() + ms;
}

/* The last OpenSSL error as text (or `dflt`), the queue emptied. */
static const char *ossl_reason(char *buf, size_t cap, const char *dflt)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(buf, cap, "%s", dflt);
    } else {
        const char *r = ERR_reason_error_string(e);
        if (r != NULL)
            snprintf(buf, cap, "%s", r);
        else
            ERR_error_string_n(e, buf, cap);
    }
    ERR_clear_error();
    return buf;
}

static const char *type_name(uint8_t type)
{
    switch (type) {
    case PQ3_WIRE_AUTH: return "AUTH";
    case PQ3_WIRE_REGISTER: return "REGISTER";
    case PQ3_WIRE_PUBLISH_LIST: return "PUBLISH_LIST";
    case PQ3_WIRE_PUT_BUNDLE: return "PUT_BUNDLE";
    case PQ3_WIRE_LOOKUP: return "LOOKUP";
    case PQ3_WIRE_SEND: return "SEND";
    case PQ3_WIRE_ACK: return "ACK";
    case PQ3_WIRE_PING: return "PING";
    case PQ3_WIRE_CHALLENGE: return "CHALLENGE";
    case PQ3_WIRE_RESPONSE: return "RESPONSE";
    case PQ3_WIRE_DELIVER: return "DELIVER";
    case PQ3_WIRE_GOODBYE: return "GOODBYE";
    default: return "unknown";
    }
}

/* ---- the socket BIO ------------------------------------------------------- */

static int bio_write_ex(BIO *b, const char *buf, size_t len, size_t *written)
{
    pq3_client *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            *written = (size_t)n;
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        c->sys_errno = errno;
        return 0;
    }
}

static int bio_read_ex(BIO *b, char *buf, size_t len, size_t *readbytes)
{
    pq3_client *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n > 0) {
            *readbytes = (size_t)n;
            return 1;
        }
        if (n == 0) {
            c->rd_eof = 1;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        c->sys_errno = errno;
        return 0;
    }
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    pq3_client *c = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return c != NULL && c->rd_eof;
    default: return 0;
    }
}

/* ---- connection state ----------------------------------------------------- */

/* Closes the connection (the handle stays). Sends close_notify when the TLS
 * state allows it, without waiting for anything. */
static void close_conn(pq3_client *c)
{
    if (c->ssl != NULL) {
        if (c->open && c->tls_ok && SSL_is_init_finished(c->ssl)) {
            ERR_clear_error();
            (void)SSL_shutdown(c->ssl);
            ERR_clear_error();
        }
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->open = 0;
}

/* Closes and returns err: for the errors after which the handle is closed. */
static pq3_err fail(pq3_client *c, pq3_err err)
{
    close_conn(c);
    return err;
}

/* Waits until fd is ready for `events` or the deadline passes. PQ3_OK,
 * TIMED_OUT, or PQ3_ERR_IO (error text set). */
static pq3_err wait_fd(pq3_client *c, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p;
        int64_t left = deadline - now_ms();
        int r;
        if (left <= 0)
            return TIMED_OUT;
        p.fd = c->fd;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            seterr(c, "poll failed: %s", strerror(errno));
            return PQ3_ERR_IO;
        }
        if (r > 0)
            return PQ3_OK;     /* readiness or an error condition: the call says which */
    }
}

/* Text for a failed SSL_* call whose SSL_get_error is `e`. */
static void tls_error(pq3_client *c, const char *what, int e)
{
    char buf[160];
    if (c->rd_eof || e == SSL_ERROR_ZERO_RETURN) {
        seterr(c, "%s: the server closed the connection", what);
    } else if (e == SSL_ERROR_SYSCALL) {
        if (c->sys_errno != 0)
            seterr(c, "%s: %s", what, strerror(c->sys_errno));
        else
            seterr(c, "%s: %s", what, ossl_reason(buf, sizeof buf, "connection lost"));
    } else {
        seterr(c, "%s: TLS error: %s", what, ossl_reason(buf, sizeof buf, "unknown"));
    }
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL)
        c->tls_ok = 0;
    ERR_clear_error();
}

/* ---- reading frames ------------------------------------------------------- */

static pq3_err grow(uint8_t **buf, size_t *cap, size_t need, size_t first)
{
    size_t n = *cap == 0 ? first : *cap;
    uint8_t *p;
    if (need <= *cap)
        return PQ3_OK;
    while (n < need)
        n *= 2;
    p = realloc(*buf, n);
    if (p == NULL)
        return PQ3_ERR_NOMEM;
    *buf = p;
    *cap = n;
    return PQ3_OK;
}

/*
 * Reads what the TLS connection has into the frame being assembled.
 * 1: a whole frame (c->f_type, c->f_id, body rbuf[0..f_len)) is ready and
 * the reader is reset; 0: nothing more can be read now (*want says for what
 * to poll); < 0: an error (text set; the caller closes).
 */
static int read_frame(pq3_client *c, short *want, pq3_err *err)
{
    for (;;) {
        size_t n = 0;
        int ok, e;
        uint8_t *dst;
        size_t room;

        if (!c->in_body) {
            dst = c->hdr + c->hdr_have;
            room = PQ3_WIRE_HEADER_BYTES - c->hdr_have;
        } else {
            if (c->body_have == c->f_len)
                goto complete;
            dst = c->rbuf + c->body_have;
            room = c->f_len - c->body_have;
        }
        ERR_clear_error();
        c->sys_errno = 0;
        ok = SSL_read_ex(c->ssl, dst, room, &n);
        if (!ok) {
            e = SSL_get_error(c->ssl, 0);
            if (e == SSL_ERROR_WANT_READ) {
                *want = POLLIN;
                return 0;
            }
            if (e == SSL_ERROR_WANT_WRITE) {
                *want = POLLOUT;
                return 0;
            }
            tls_error(c, "cannot read from the server", e);
            *err = PQ3_ERR_IO;
            return -1;
        }
        if (!c->in_body) {
            pq3_err r;
            c->hdr_have += n;
            if (c->hdr_have < PQ3_WIRE_HEADER_BYTES)
                continue;
            r = pq3_wire_header_decode(c->hdr, c->limit, &c->f_type, &c->f_id, &c->f_len);
            if (r != PQ3_OK) {
                uint32_t len = ((uint32_t)c->hdr[0] << 24) | ((uint32_t)c->hdr[1] << 16) |
                               ((uint32_t)c->hdr[2] << 8) | c->hdr[3];
                if (r == PQ3_ERR_LIMIT)
                    seterr(c, "the server sent a frame of %lu bytes, over the limit of %lu",
                           (unsigned long)len, (unsigned long)c->limit);
                else
                    seterr(c, "the server sent a malformed frame header (length %lu)",
                           (unsigned long)len);
                *err = PQ3_ERR_DECODE;
                return -1;
            }
            if (grow(&c->rbuf, &c->rcap, c->f_len, RECV_BUF_INITIAL) != PQ3_OK) {
                seterr(c, "out of memory for a frame of %lu bytes", (unsigned long)c->f_len);
                *err = PQ3_ERR_NOMEM;
                return -1;
            }
            c->in_body = 1;
            c->body_have = 0;
        } else {
            c->body_have += n;
        }
        if (c->in_body && c->body_have == c->f_len)
            goto complete;
    }
complete:
    c->in_body = 0;
    c->hdr_have = 0;
    c->body_have = 0;
    return 1;
}

/*
 * The next whole frame, waiting until `deadline` (now_only: no waiting,
 * only what is already readable). PQ3_OK (frame ready), TIMED_OUT, or an
 * error (text set, not yet closed).
 */
static pq3_err await_frame(pq3_client *c, int64_t deadline, int now_only)
{
    for (;;) {
        short want = POLLIN;
        pq3_err err = PQ3_ERR_IO, w;
        int r = read_frame(c, &want, &err);
        if (r > 0)
            return PQ3_OK;
        if (r < 0)
            return err;
        if (now_only)
            return TIMED_OUT;
        w = wait_fd(c, want, deadline);
        if (w != PQ3_OK)
            return w;
    }
}

/* A GOODBYE just read: the status and reason are kept, the connection
 * closed. Always an error for the caller. */
static pq3_err on_goodbye(pq3_client *c)
{
    pq3_wire_goodbye g;
    if (pq3_wire_goodbye_decode(&g, c->rbuf, c->f_len) != PQ3_OK) {
        seterr(c, "the server sent a malformed GOODBYE");
        return fail(c, PQ3_ERR_DECODE);
    }
    c->status = g.status;
    printable(c->reason, sizeof c->reason, g.reason.p, g.reason.len);
    seterr(c, "server closed the connection: %s%s%s", pq3_wire_status_name(g.status),
           c->reason[0] != '\0' ? " " : "", c->reason);
    c->tls_ok = 0;         /* it is closing: no close_notify into a reset */
    return fail(c, PQ3_ERR_IO);
}

/*
 * The frame just read, if it answers a no-wait ACK: taken off the
 * outstanding list, a refusal kept (the first) for pq3_client_ack_nowait or
 * pq3_client_sync to report. PQ3_OK when it was one, 1 when not, an error
 * (connection closed) when it is malformed.
 */
static pq3_err on_nowait_response(pq3_client *c)
{
    pq3_wire_response resp;
    unsigned i;

    if (c->f_type != PQ3_WIRE_RESPONSE || c->f_id == 0)
        return 1;
    for (i = 0; i < c->nw_n; i++)
        if (c->nw_id[i] == c->f_id)
            break;
    if (i == c->nw_n)
        return 1;
    c->nw_id[i] = c->nw_id[--c->nw_n];
    if (pq3_wire_response_decode(&resp, c->rbuf, c->f_len) != PQ3_OK ||
        (resp.status == PQ3_ST_OK && resp.result.len != 0)) {
        seterr(c, "the server sent a malformed response to an ACK (id %lu)",
               (unsigned long)c->f_id);
        return fail(c, PQ3_ERR_DECODE);
    }
    if (resp.status != PQ3_ST_OK && !c->nw_refused) {
        c->nw_refused = 1;
        c->nw_status = resp.status;
        printable(c->nw_reason, sizeof c->nw_reason, resp.reason.p, resp.reason.len);
    }
    return PQ3_OK;
}

/*
 * A frame read while waiting for something else. DELIVER: checked and a
 * copy queued; GOODBYE: closes; the response to a no-wait ACK: taken.
 * Returns PQ3_OK when handled, 1 when the frame is none of these (the
 * caller decides), an error (connection closed) otherwise.
 */
static pq3_err on_push(pq3_client *c)
{
    if (c->f_type == PQ3_WIRE_GOODBYE || c->f_type == PQ3_WIRE_DELIVER) {
        if (c->f_id != 0) {
            seterr(c, "the server sent a %s with id %lu (pushes carry id 0)",
                   type_name(c->f_type), (unsigned long)c->f_id);
            return fail(c, PQ3_ERR_DECODE);
        }
    }
    if (c->f_type == PQ3_WIRE_GOODBYE)
        return on_goodbye(c);
    if (c->f_type == PQ3_WIRE_DELIVER) {
        pq3_wire_deliver d;
        queued *slot;
        if (pq3_wire_deliver_decode(&d, c->rbuf, c->f_len) != PQ3_OK) {
            seterr(c, "the server sent a malformed DELIVER");
            return fail(c, PQ3_ERR_DECODE);
        }
        if (c->q_n == QUEUE_CAP) {
            seterr(c, "the server pushed more than %d envelopes without their acknowledgement",
                   QUEUE_CAP);
            return fail(c, PQ3_ERR_DECODE);
        }
        slot = &c->q[(c->q_head + c->q_n) % QUEUE_CAP];
        slot->body = malloc(c->f_len);
        if (slot->body == NULL) {
            seterr(c, "out of memory for a pushed envelope");
            return fail(c, PQ3_ERR_NOMEM);
        }
        memcpy(slot->body, c->rbuf, c->f_len);
        slot->len = c->f_len;
        c->q_n++;
        return PQ3_OK;
    }
    return on_nowait_response(c);
}

/* ---- sending frames ------------------------------------------------------- */

/* Reads and handles whatever pushes are readable now (while a write waits:
 * a server whose output backlog is full stops reading us, so we must keep
 * reading it). */
static pq3_err drain_pushes(pq3_client *c)
{
    for (;;) {
        short want = POLLIN;
        pq3_err err = PQ3_ERR_IO, h;
        int r = read_frame(c, &want, &err);
        if (r == 0)
            return PQ3_OK;
        if (r < 0)
            return fail(c, err);
        h = on_push(c);
        if (h == 1) {
            seterr(c, "the server sent a %s (type 0x%02x, id %lu) before our request was sent",
                   type_name(c->f_type), c->f_type, (unsigned long)c->f_id);
            return fail(c, PQ3_ERR_DECODE);
        }
        if (h != PQ3_OK)
            return h;
    }
}

/* Writes sbuf[0..len) entirely before the deadline. */
static pq3_err write_all(pq3_client *c, size_t len, int64_t deadline, const char *what)
{
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        int e;
        pq3_err w;
        ERR_clear_error();
        c->sys_errno = 0;
        if (SSL_write_ex(c->ssl, c->sbuf + done, len - done, &n)) {
            done += n;
            continue;
        }
        e = SSL_get_error(c->ssl, 0);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
            tls_error(c, "cannot write to the server", e);
            return fail(c, PQ3_ERR_IO);
        }
        w = drain_pushes(c);
        if (w != PQ3_OK)
            return w;
        w = wait_fd(c, (short)(POLLIN | POLLOUT), deadline);
        if (w == TIMED_OUT) {
            seterr(c, "timed out after %d ms sending %s", c->timeout_ms, what);
            return fail(c, PQ3_ERR_IO);
        }
        if (w != PQ3_OK)
            return fail(c, w);
    }
    return PQ3_OK;
}

/* Makes room for a body of `body` bytes after the header in sbuf. */
static pq3_err send_room(pq3_client *c, size_t body)
{
    if (body > PQ3_WIRE_MAX_FRAME - 5) {
        seterr(c, "a request of %zu bytes is over the frame limit", body);
        return PQ3_ERR_ARG;
    }
    if (grow(&c->sbuf, &c->scap, PQ3_WIRE_HEADER_BYTES + body, SEND_BUF_INITIAL) != PQ3_OK) {
        seterr(c, "out of memory for a request of %zu bytes", body);
        return PQ3_ERR_NOMEM;
    }
    return PQ3_OK;
}

/* Encodes `v` with pq3_wire_<name>_encode into sbuf after the header,
 * growing sbuf once if needed; sets err and body_len. */
#define ENCODE_BODY(c, name, v, body_len, err)                                          \
    do {                                                                                \
        (err) = pq3_wire_##name##_encode((c)->sbuf + PQ3_WIRE_HEADER_BYTES,             \
                                         (c)->scap - PQ3_WIRE_HEADER_BYTES, &(body_len), \
                                         (v));                                          \
        if ((err) == PQ3_ERR_BUFFER) {                                                  \
            (err) = send_room((c), (body_len));                                         \
            if ((err) == PQ3_OK)                                                        \
                (err) = pq3_wire_##name##_encode((c)->sbuf + PQ3_WIRE_HEADER_BYTES,     \
                                                 (c)->scap - PQ3_WIRE_HEADER_BYTES,     \
                                                 &(body_len), (v));                     \
        }                                                                               \
        if ((err) != PQ3_OK && (c)->err[0] == '\0')                                     \
            seterr((c), "cannot encode the request: %s", pq3_strerror(err));           \
    } while (0)

/* A fresh request id: never 0 (pushes carry 0), never one of an
 * unanswered no-wait ACK (after 2^32 requests the counter wraps). */
static uint32_t take_id(pq3_client *c)
{
    for (;;) {
        uint32_t id = c->next_id++;
        unsigned i;
        if (c->next_id == 0)
            c->next_id = 1;
        for (i = 0; i < c->nw_n && c->nw_id[i] != id; i++)
            ;
        if (i == c->nw_n)
            return id;
    }
}

/* Frames and sends the request whose body is in sbuf (after the header);
 * *id receives its id. */
static pq3_err send_frame(pq3_client *c, uint8_t type, size_t body_len, int64_t deadline,
                          uint32_t *id)
{
    pq3_err err;
    *id = take_id(c);
    err = pq3_wire_header_encode(c->sbuf, type, *id, body_len);
    if (err != PQ3_OK) {
        seterr(c, "cannot frame a %s of %zu bytes", type_name(type), body_len);
        return err;
    }
    return write_all(c, PQ3_WIRE_HEADER_BYTES + body_len, deadline, type_name(type));
}

/*
 * Sends the request whose body is in sbuf (after the header) and waits for
 * its response, queueing pushes (and taking the responses to no-wait ACKs)
 * meanwhile. On PQ3_OK *resp views rbuf.
 */
static pq3_err request(pq3_client *c, uint8_t type, size_t body_len, int64_t deadline,
                       pq3_wire_response *resp)
{
    uint32_t id;
    pq3_err err = send_frame(c, type, body_len, deadline, &id);

    if (err != PQ3_OK)
        return err;
    for (;;) {
        pq3_err h;
        err = await_frame(c, deadline, 0);
        if (err == TIMED_OUT) {
            seterr(c, "timed out after %d ms waiting for the response to %s", c->timeout_ms,
                   type_name(type));
            return fail(c, PQ3_ERR_IO);
        }
        if (err != PQ3_OK)
            return fail(c, err);
        h = on_push(c);
        if (h == PQ3_OK)
            continue;
        if (h != 1)
            return h;
        if (c->f_type != PQ3_WIRE_RESPONSE) {
            seterr(c, "the server sent a %s (type 0x%02x) while a response was awaited",
                   type_name(c->f_type), c->f_type);
            return fail(c, PQ3_ERR_DECODE);
        }
        if (c->f_id != id) {
            seterr(c, "the server answered request %lu while request %lu was awaited",
                   (unsigned long)c->f_id, (unsigned long)id);
            return fail(c, PQ3_ERR_DECODE);
        }
        if (pq3_wire_response_decode(resp, c->rbuf, c->f_len) != PQ3_OK) {
            seterr(c, "the server sent a malformed response to %s", type_name(type));
            return fail(c, PQ3_ERR_DECODE);
        }
        if (resp->status != PQ3_ST_OK) {
            c->status = resp->status;
            printable(c->reason, sizeof c->reason, resp->reason.p, resp->reason.len);
            seterr(c, "%s refused: %s%s%s", type_name(type), pq3_wire_status_name(resp->status),
                   c->reason[0] != '\0' ? ": " : "", c->reason);
            return PQ3_ERR_REFUSED;
        }
        return PQ3_OK;
    }
}

/* A response whose result must be empty. */
static pq3_err request_empty(pq3_client *c, uint8_t type, size_t body_len, int64_t deadline)
{
    pq3_wire_response resp;
    pq3_err err = request(c, type, body_len, deadline, &resp);
    if (err != PQ3_OK)
        return err;
    if (resp.result.len != 0) {
        seterr(c, "the server's answer to %s carries %zu unexpected bytes", type_name(type),
               resp.result.len);
        return fail(c, PQ3_ERR_DECODE);
    }
    return PQ3_OK;
}

/* The start of every call: the last call's leftovers go; the text of the
 * error that closed the connection stays. */
static void reset(pq3_client *c)
{
    free(c->current);
    c->current = NULL;
    if (c->open) {
        c->err[0] = '\0';
        c->status = PQ3_ST_OK;
        c->reason[0] = '\0';
    }
}

/* The start of every request: PQ3_ERR_IO on a closed handle. */
static pq3_err begin(pq3_client *c)
{
    if (c == NULL)
        return PQ3_ERR_ARG;
    reset(c);
    if (!c->open) {
        if (c->err[0] == '\0')
            seterr(c, "the connection is closed");
        return PQ3_ERR_IO;
    }
    return PQ3_OK;
}

/* ---- connecting ----------------------------------------------------------- */

static pq3_err tcp_connect(pq3_client *c, const pq3_client_config *cfg, int64_t deadline)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[8];
    int r, last = 0;
    pq3_err err = PQ3_ERR_IO;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
    r = getaddrinfo(cfg->host, port, &hints, &res);
    if (r != 0) {
        seterr(c, "cannot resolve %s: %s", cfg->host,
               r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
        return PQ3_ERR_IO;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        int one = 1, soerr = 0;
        socklen_t sl = sizeof soerr;
        pq3_err w;
        if (fd < 0) {
            last = errno;
            continue;
        }
        c->fd = fd;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS && errno != EINTR) {
                last = errno;
                goto next;
            }
            w = wait_fd(c, POLLOUT, deadline);
            if (w == TIMED_OUT) {
                seterr(c, "cannot connect to %s port %u: timed out after %d ms", cfg->host,
                       (unsigned)cfg->port, c->timeout_ms);
                err = PQ3_ERR_IO;
                close(fd);
                c->fd = -1;
                break;
            }
            if (w != PQ3_OK) {
                last = errno;
                goto next;
            }
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            if (soerr != 0) {
                last = soerr;
                goto next;
            }
        }
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) != 0) {
            last = errno;
            goto next;
        }
        err = PQ3_OK;
        break;
    next:
        close(fd);
        c->fd = -1;
    }
    freeaddrinfo(res);
    if (err != PQ3_OK && c->err[0] == '\0')
        seterr(c, "cannot connect to %s port %u: %s", cfg->host, (unsigned)cfg->port,
               last != 0 ? strerror(last) : "no address");
    return err;
}

/* 1 when host is a numeric address (no SNI for those, RFC 6066 §3). */
static int is_numeric(const char *host)
{
    struct addrinfo hints, *res = NULL;
    int r;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST;
    r = getaddrinfo(host, NULL, &hints, &res);
    if (res != NULL)
        freeaddrinfo(res);
    return r == 0;
}

static pq3_err tls_connect(pq3_client *c, const pq3_client_config *cfg, int64_t deadline)
{
    char buf[160];
    BIO *bio;

    ERR_clear_error();
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL ||
        !SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(c->ctx, TLS1_3_VERSION)) {
        seterr(c, "cannot set up TLS: %s", ossl_reason(buf, sizeof buf, "unknown"));
        return PQ3_ERR_CRYPTO;
    }
    /* No CA in the trust path: the pin below is the check (SERVER.md §1). */
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);

    c->bio_meth = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "pq3 client socket");
    if (c->bio_meth == NULL || !BIO_meth_set_write_ex(c->bio_meth, bio_write_ex) ||
        !BIO_meth_set_read_ex(c->bio_meth, bio_read_ex) ||
        !BIO_meth_set_ctrl(c->bio_meth, bio_ctrl)) {
        seterr(c, "cannot set up TLS: %s", ossl_reason(buf, sizeof buf, "no BIO method"));
        return PQ3_ERR_CRYPTO;
    }
    c->ssl = SSL_new(c->ctx);
    bio = c->ssl == NULL ? NULL : BIO_new(c->bio_meth);
    if (bio == NULL) {
        seterr(c, "cannot set up TLS: %s", ossl_reason(buf, sizeof buf, "out of memory"));
        return PQ3_ERR_CRYPTO;
    }
    BIO_set_data(bio, c);
    BIO_set_init(bio, 1);
    SSL_set_bio(c->ssl, bio, bio);
    if (!is_numeric(cfg->host) && !SSL_set_tlsext_host_name(c->ssl, cfg->host))
        ERR_clear_error();     /* a name OpenSSL will not send: no SNI, no harm */
    c->tls_ok = 1;
    c->open = 1;

    for (;;) {
        int r, e;
        pq3_err w;
        ERR_clear_error();
        c->sys_errno = 0;
        r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            char what[300];
            snprintf(what, sizeof what, "TLS handshake with %s port %u failed", cfg->host,
                     (unsigned)cfg->port);
            tls_error(c, what, e);
            return PQ3_ERR_IO;
        }
        w = wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
        if (w == TIMED_OUT) {
            seterr(c, "TLS handshake with %s port %u: timed out after %d ms", cfg->host,
                   (unsigned)cfg->port, c->timeout_ms);
            return PQ3_ERR_IO;
        }
        if (w != PQ3_OK)
            return w;
    }
    if (SSL_version(c->ssl) != TLS1_3_VERSION) {
        seterr(c, "the server negotiated %s, not TLS 1.3", SSL_get_version(c->ssl));
        return PQ3_ERR_IO;
    }
    return PQ3_OK;
}

/* The server certificate's SHA-256 (DER) against the pin. */
static pq3_err check_pin(pq3_client *c, const pq3_client_config *cfg)
{
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    unsigned char *der = NULL;
    uint8_t fp[32];
    unsigned int fp_len = 0;
    int der_len;
    char got[65], want[65], buf[160];

    if (cert == NULL) {
        seterr(c, "the server presented no certificate");
        return PQ3_ERR_VERIFY;
    }
    der_len = i2d_X509(cert, &der);
    X509_free(cert);
    if (der_len <= 0) {
        seterr(c, "cannot encode the server certificate: %s",
               ossl_reason(buf, sizeof buf, "unknown"));
        return PQ3_ERR_CRYPTO;
    }
    if (!EVP_Digest(der, (size_t)der_len, fp, &fp_len, EVP_sha256(), NULL) || fp_len != 32) {
        OPENSSL_free(der);
        seterr(c, "cannot hash the server certificate: %s",
               ossl_reason(buf, sizeof buf, "unknown"));
        return PQ3_ERR_CRYPTO;
    }
    OPENSSL_free(der);
    if (CRYPTO_memcmp(fp, cfg->pin, sizeof fp) != 0) {
        hex(got, fp, sizeof fp);
        hex(want, cfg->pin, sizeof fp);
        seterr(c, "server certificate fingerprint mismatch: got %s, pinned %s", got, want);
        return PQ3_ERR_VERIFY;
    }
    return PQ3_OK;
}

static pq3_err authenticate(pq3_client *c, const pq3_client_config *cfg,
                            const pq3_client_identity *id, uint64_t now, int64_t deadline,
                            pq3_wire_auth_result *out)
{
    pq3_wire_challenge ch;
    pq3_wire_auth auth;
    pq3_wire_response resp;
    pq3_wire_auth_result res;
    uint8_t exporter[PQ3_WIRE_EXPORTER_BYTES];
    size_t name_len = strlen(cfg->server_name), body_len = 0;
    uint64_t skew;
    char buf[160];
    pq3_err err;

    /* The first frame: CHALLENGE (or a GOODBYE: full, draining). */
    err = await_frame(c, deadline, 0);
    if (err == TIMED_OUT) {
        seterr(c, "timed out after %d ms waiting for the server's challenge", c->timeout_ms);
        return PQ3_ERR_IO;
    }
    if (err != PQ3_OK)
        return err;
    if (c->f_type == PQ3_WIRE_GOODBYE && c->f_id == 0)
        return on_goodbye(c);
    if (c->f_type != PQ3_WIRE_CHALLENGE || c->f_id != 0) {
        seterr(c, "the server's first frame is a %s (type 0x%02x, id %lu), not a CHALLENGE",
               type_name(c->f_type), c->f_type, (unsigned long)c->f_id);
        return PQ3_ERR_DECODE;
    }
    if (pq3_wire_challenge_decode(&ch, c->rbuf, c->f_len) != PQ3_OK) {
        seterr(c, "the server sent a malformed CHALLENGE");
        return PQ3_ERR_DECODE;
    }
    if (ch.version != PQ3_WIRE_VERSION) {
        seterr(c, "the server speaks protocol version %u, we speak %u", (unsigned)ch.version,
               (unsigned)PQ3_WIRE_VERSION);
        return PQ3_ERR_VERSION;
    }
    if (ch.name.len != name_len || memcmp(ch.name.p, cfg->server_name, name_len) != 0) {
        char name[PQ3_WIRE_MAX_NAME + 1];
        printable(name, sizeof name, ch.name.p, ch.name.len);
        seterr(c, "the server calls itself \"%s\", expected \"%s\"", name, cfg->server_name);
        return PQ3_ERR_VERIFY;
    }
    skew = ch.time > now ? ch.time - now : now - ch.time;
    if (skew > PQ3_CLOCK_SKEW) {
        seterr(c, "the server's clock is %llu s %s ours (at most %d allowed)",
               (unsigned long long)skew, ch.time > now ? "ahead of" : "behind",
               PQ3_CLOCK_SKEW);
        return PQ3_ERR_EXPIRED;
    }

    ERR_clear_error();
    if (SSL_export_keying_material(c->ssl, exporter, sizeof exporter, PQ3_WIRE_EXPORTER_LABEL,
                                   strlen(PQ3_WIRE_EXPORTER_LABEL), NULL, 0, 0) != 1) {
        seterr(c, "cannot derive the TLS exporter: %s", ossl_reason(buf, sizeof buf, "unknown"));
        return PQ3_ERR_CRYPTO;
    }
    memset(&auth, 0, sizeof auth);
    auth.version = PQ3_WIRE_VERSION;
    auth.handle.p = (const uint8_t *)id->handle;
    auth.handle.len = strlen(id->handle);
    memcpy(auth.device_id, id->device_id, sizeof auth.device_id);
    memcpy(auth.account_pub, id->account_pub, sizeof auth.account_pub);
    auth.cert.p = id->cert;
    auth.cert.len = id->cert_len;
    err = pq3_wire_auth_sign(&auth, &ch, exporter, id->signer);
    if (err != PQ3_OK) {
        seterr(c, "cannot sign the authentication: %s", pq3_strerror(err));
        return err;
    }
    ENCODE_BODY(c, auth, &auth, body_len, err);
    if (err != PQ3_OK)
        return err;
    err = request(c, PQ3_WIRE_AUTH, body_len, deadline, &resp);
    if (err == PQ3_ERR_REFUSED)
        seterr(c, "the server refused the authentication: %s%s%s",
               pq3_wire_status_name(c->status), c->reason[0] != '\0' ? ": " : "", c->reason);
    if (err != PQ3_OK)
        return err;
    if (pq3_wire_auth_result_decode(&res, resp.result.p, resp.result.len) != PQ3_OK) {
        seterr(c, "the server sent a malformed AUTH result");
        return PQ3_ERR_DECODE;
    }
    c->limit = PQ3_WIRE_MAX_FRAME;
    if (out != NULL)
        *out = res;
    return PQ3_OK;
}

static int name_ok(const char *s)
{
    size_t n;
    if (s == NULL)
        return 0;
    n = strlen(s);
    return n >= 1 && n <= PQ3_WIRE_MAX_NAME;
}

pq3_err pq3_client_connect(pq3_client **cp, const pq3_client_config *cfg,
                           const pq3_client_identity *id, uint64_t now,
                           pq3_wire_auth_result *out)
{
    pq3_client *c;
    int64_t deadline;
    pq3_err err;

    last_connect.status = PQ3_ST_OK;
    last_connect.reason[0] = '\0';
    last_connect.err[0] = '\0';
    if (cp == NULL)
        return PQ3_ERR_ARG;
    *cp = NULL;
    if (cfg == NULL || id == NULL || cfg->host == NULL || cfg->host[0] == '\0' ||
        cfg->port == 0 || !name_ok(cfg->server_name) || cfg->timeout_ms < 0 ||
        !name_ok(id->handle) || id->cert == NULL || id->cert_len == 0 ||
        id->cert_len > PQ3_CERT_MAX_BYTES || id->signer == NULL) {
        snprintf(last_connect.err, sizeof last_connect.err,
                 "invalid configuration or identity (host, port, server name, handle, "
                 "certificate, signer, timeout)");
        return PQ3_ERR_ARG;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(last_connect.err, sizeof last_connect.err, "out of memory");
        return PQ3_ERR_NOMEM;
    }
    c->fd = -1;
    c->timeout_ms = cfg->timeout_ms == 0 ? DEFAULT_TIMEOUT_MS : cfg->timeout_ms;
    c->limit = PQ3_WIRE_MAX_FRAME_PREAUTH;
    c->next_id = 1;
    deadline = deadline_in(c->timeout_ms);

    err = send_room(c, SEND_BUF_INITIAL - PQ3_WIRE_HEADER_BYTES);
    if (err == PQ3_OK)
        err = tcp_connect(c, cfg, deadline);
    if (err == PQ3_OK)
        err = tls_connect(c, cfg, deadline);
    if (err == PQ3_OK)
        err = check_pin(c, cfg);
    if (err == PQ3_OK)
        err = authenticate(c, cfg, id, now, deadline, out);
    if (err != PQ3_OK) {
        last_connect.status = c->status;
        memcpy(last_connect.reason, c->reason, sizeof last_connect.reason);
        memcpy(last_connect.err, c->err, sizeof last_connect.err);
        if (last_connect.err[0] == '\0')
            snprintf(last_connect.err, sizeof last_connect.err, "%s", pq3_strerror(err));
        pq3_client_free(c);
        return err;
    }
    *cp = c;
    return PQ3_OK;
}

void pq3_client_free(pq3_client *c)
{
    size_t i;
    if (c == NULL)
        return;
    close_conn(c);
    SSL_CTX_free(c->ctx);
    BIO_meth_free(c->bio_meth);
    for (i = 0; i < c->q_n; i++)
        free(c->q[(c->q_head + i) % QUEUE_CAP].body);
    free(c->current);
    free(c->rbuf);
    free(c->sbuf);
    free(c);
}

/* ---- accessors ------------------------------------------------------------ */

uint16_t pq3_client_status(const pq3_client *c)
{
    return c == NULL ? last_connect.status : c->status;
}

const char *pq3_client_reason(const pq3_client *c)
{
    return c == NULL ? last_connect.reason : c->reason;
}

const char *pq3_client_error(const pq3_client *c)
{
    return c == NULL ? last_connect.err : c->err;
}

int pq3_client_fd(const pq3_client *c)
{
    return c == NULL || !c->open ? -1 : c->fd;
}

/* ---- requests ------------------------------------------------------------- */

pq3_err pq3_client_register(pq3_client *c, const uint8_t *list, size_t list_len,
                            const uint8_t *invite, size_t invite_len)
{
    pq3_wire_register v;
    size_t body_len = 0;
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    if (list == NULL || list_len == 0 || (invite == NULL && invite_len != 0) ||
        invite_len > PQ3_WIRE_MAX_INVITE) {
        seterr(c, "register: invalid device list or invitation");
        return PQ3_ERR_ARG;
    }
    v.list.p = list;
    v.list.len = list_len;
    v.invite.p = invite;
    v.invite.len = invite_len;
    ENCODE_BODY(c, register, &v, body_len, err);
    if (err != PQ3_OK)
        return err;
    return request_empty(c, PQ3_WIRE_REGISTER, body_len, deadline_in(c->timeout_ms));
}

pq3_err pq3_client_publish_list(pq3_client *c, const uint8_t *list, size_t list_len,
                                const uint8_t *const *certs, const size_t *cert_lens, uint32_t n)
{
    pq3_wire_publish v;
    size_t body_len = 0;
    uint32_t i;
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    if (list == NULL || list_len == 0 || n > PQ3_ACCOUNT_MAX_DEVICES ||
        (n > 0 && (certs == NULL || cert_lens == NULL))) {
        seterr(c, "publish: invalid device list or certificates");
        return PQ3_ERR_ARG;
    }
    memset(&v, 0, sizeof v);
    v.list.p = list;
    v.list.len = list_len;
    v.n_certs = (uint8_t)n;
    for (i = 0; i < n; i++) {
        if (certs[i] == NULL || cert_lens[i] == 0) {
            seterr(c, "publish: certificate %lu is empty", (unsigned long)i);
            return PQ3_ERR_ARG;
        }
        v.certs[i].p = certs[i];
        v.certs[i].len = cert_lens[i];
    }
    ENCODE_BODY(c, publish, &v, body_len, err);
    if (err != PQ3_OK)
        return err;
    return request_empty(c, PQ3_WIRE_PUBLISH_LIST, body_len, deadline_in(c->timeout_ms));
}

pq3_err pq3_client_put_bundle(pq3_client *c, const uint8_t *bundle, size_t len)
{
    pq3_wire_put_bundle v;
    size_t body_len = 0;
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    if (bundle == NULL || len == 0) {
        seterr(c, "put_bundle: no bundle");
        return PQ3_ERR_ARG;
    }
    v.bundle.p = bundle;
    v.bundle.len = len;
    ENCODE_BODY(c, put_bundle, &v, body_len, err);
    if (err != PQ3_OK)
        return err;
    return request_empty(c, PQ3_WIRE_PUT_BUNDLE, body_len, deadline_in(c->timeout_ms));
}

/* LOOKUP of handle for a client pinned at `pinned` (TRANSPARENCY.md §5.1). */
static pq3_err lookup(pq3_client *c, const char *handle, uint64_t pinned,
                      pq3_wire_lookup_result *out)
{
    pq3_wire_lookup v;
    pq3_wire_response resp;
    pq3_wire_lookup_result res;
    size_t body_len = 0;
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    if (!name_ok(handle) || out == NULL) {
        seterr(c, "lookup: invalid handle");
        return PQ3_ERR_ARG;
    }
    v.handle.p = (const uint8_t *)handle;
    v.handle.len = strlen(handle);
    v.pinned = pinned;
    ENCODE_BODY(c, lookup, &v, body_len, err);
    if (err != PQ3_OK)
        return err;
    err = request(c, PQ3_WIRE_LOOKUP, body_len, deadline_in(c->timeout_ms), &resp);
    if (err != PQ3_OK)
        return err;
    /* The views point into rbuf, which holds the response until the next
     * frame is read: that is, until the next call on c. */
    if (pq3_wire_lookup_result_decode(&res, resp.result.p, resp.result.len) != PQ3_OK) {
        seterr(c, "the server sent a malformed LOOKUP result");
        return fail(c, PQ3_ERR_DECODE);
    }
    *out = res;
    return PQ3_OK;
}

pq3_err pq3_client_lookup(pq3_client *c, const char *handle, pq3_wire_lookup_result *out)
{
    return lookup(c, handle, 0, out);
}

pq3_err pq3_client_lookup_checked(pq3_client *c, const char *handle, const pq3_kt_config *kt,
                                  pq3_kt_pin *pin, uint64_t now, pq3_wire_lookup_result *out,
                                  pq3_kt_lookup *res)
{
    pq3_wire_lookup_result r;
    pq3_device_list list;
    char line[PQ3_KT_TEXT_MAX];
    pq3_err err;
    if (res != NULL)
        memset(res, 0, sizeof *res);
    if (kt == NULL || pin == NULL || res == NULL || out == NULL) {
        if (c != NULL)
            seterr(c, "lookup: missing argument");
        return PQ3_ERR_ARG;
    }
    if ((err = lookup(c, handle, pin->size, &r)) != PQ3_OK)
        return err;
    /* The version the proof must be for is the list's own: its signature
     * first, under the account key the server returned (the proof then
     * says that key is the log's for this handle). */
    if (pq3_device_list_verify(&list, r.list.p, r.list.len, r.account_pub) != PQ3_OK) {
        res->status = PQ3_KT_REFUSED;
        res->reason = PQ3_KT_MALFORMED;
        seterr(c, "%s: the device list does not verify under the account key", handle);
        return PQ3_ERR_VERIFY;
    }
    err = pq3_kt_verify_lookup(res, pin, kt, pin, r.proof.p, r.proof.len,
                               (const uint8_t *)handle, strlen(handle), r.account_pub, r.list.p,
                               r.list.len, list.version, now);
    if (err != PQ3_OK) {
        if (pq3_kt_lookup_text(line, res) != PQ3_OK)
            snprintf(line, sizeof line, "%s", pq3_kt_reason_text(res->reason));
        seterr(c, "%s: %s", handle, line);
        return err;
    }
    *out = r;
    return PQ3_OK;
}

pq3_err pq3_client_send(pq3_client *c, const pq3_wire_envelope *env, uint16_t n,
                        uint8_t *status)
{
    pq3_wire_send *v;
    pq3_wire_response resp;
    pq3_wire_send_result res;
    size_t body_len = 0;
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    if (env == NULL || n == 0 || n > PQ3_WIRE_MAX_SEND || status == NULL) {
        seterr(c, "send: 1..%d envelopes and a status array are needed", PQ3_WIRE_MAX_SEND);
        return PQ3_ERR_ARG;
    }
    v = malloc(sizeof *v);
    if (v == NULL) {
        seterr(c, "out of memory");
        return PQ3_ERR_NOMEM;
    }
    v->count = n;
    memcpy(v->env, env, n * sizeof *env);
    ENCODE_BODY(c, send, v, body_len, err);
    free(v);
    if (err != PQ3_OK)
        return err;
    err = request(c, PQ3_WIRE_SEND, body_len, deadline_in(c->timeout_ms), &resp);
    if (err != PQ3_OK)
        return err;
    if (pq3_wire_send_result_decode(&res, resp.result.p, resp.result.len) != PQ3_OK ||
        res.count != n) {
        seterr(c, "the server sent a malformed SEND result");
        return fail(c, PQ3_ERR_DECODE);
    }
    memcpy(status, res.status, n);
    return PQ3_OK;
}

/* Encodes an ACK of ids[0..n) (n checked by the caller) into sbuf. */
static pq3_err encode_ack(pq3_client *c, const uint64_t *ids, uint16_t n, size_t *body_len)
{
    pq3_wire_ack *v = malloc(sizeof *v);
    pq3_err err;
    if (v == NULL) {
        seterr(c, "out of memory");
        return PQ3_ERR_NOMEM;
    }
    v->count = n;
    memcpy(v->ids, ids, n * sizeof *ids);
    ENCODE_BODY(c, ack, v, *body_len, err);
    free(v);
    return err;
}

pq3_err pq3_client_ack(pq3_client *c, const uint64_t *ids, uint16_t n)
{
    size_t body_len = 0;
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    if (ids == NULL || n == 0 || n > PQ3_WIRE_MAX_ACK) {
        seterr(c, "ack: 1..%d queue ids are needed", PQ3_WIRE_MAX_ACK);
        return PQ3_ERR_ARG;
    }
    err = encode_ack(c, ids, n, &body_len);
    if (err != PQ3_OK)
        return err;
    return request_empty(c, PQ3_WIRE_ACK, body_len, deadline_in(c->timeout_ms));
}

pq3_err pq3_client_ping(pq3_client *c, uint64_t *server_time)
{
    pq3_wire_response resp;
    uint64_t t = 0;
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    err = request(c, PQ3_WIRE_PING, 0, deadline_in(c->timeout_ms), &resp);
    if (err != PQ3_OK)
        return err;
    if (pq3_wire_time_decode(&t, resp.result.p, resp.result.len) != PQ3_OK) {
        seterr(c, "the server sent a malformed PING result");
        return fail(c, PQ3_ERR_DECODE);
    }
    if (server_time != NULL)
        *server_time = t;
    return PQ3_OK;
}

/* ---- pushes --------------------------------------------------------------- */

pq3_err pq3_client_next(pq3_client *c, pq3_wire_deliver *out, int timeout_ms)
{
    int64_t deadline;
    pq3_err err;

    if (c == NULL || out == NULL || timeout_ms < -1)
        return PQ3_ERR_ARG;
    reset(c);
    /* Pushes already read first, even after the connection closed: they
     * were received, and their ACK (or not) is the caller's business. */
    if (c->q_n > 0) {
        queued *slot = &c->q[c->q_head];
        pq3_wire_deliver d;
        c->current = slot->body;
        slot->body = NULL;
        c->q_head = (c->q_head + 1) % QUEUE_CAP;
        c->q_n--;
        if (pq3_wire_deliver_decode(&d, c->current, slot->len) != PQ3_OK) {
            seterr(c, "a queued DELIVER no longer decodes");   /* checked when queued */
            return fail(c, PQ3_ERR_DECODE);
        }
        *out = d;
        return PQ3_OK;
    }
    err = begin(c);
    if (err != PQ3_OK)
        return err;
    deadline = deadline_in(timeout_ms == -1 ? c->timeout_ms : timeout_ms);
    for (;;) {
        err = await_frame(c, deadline, timeout_ms == 0);
        if (err == TIMED_OUT) {
            seterr(c, "no envelope arrived in time");
            return PQ3_ERR_UNKNOWN;
        }
        if (err != PQ3_OK)
            return fail(c, err);
        if (c->f_type == PQ3_WIRE_DELIVER && c->f_id == 0) {
            pq3_wire_deliver d;
            if (pq3_wire_deliver_decode(&d, c->rbuf, c->f_len) != PQ3_OK) {
                seterr(c, "the server sent a malformed DELIVER");
                return fail(c, PQ3_ERR_DECODE);
            }
            *out = d;
            return PQ3_OK;
        }
        err = on_push(c);
        if (err == PQ3_OK)
            continue;      /* the answer to a no-wait ACK: keep waiting */
        if (err == 1) {
            seterr(c, "the server sent a %s (type 0x%02x, id %lu) with no request outstanding",
                   type_name(c->f_type), c->f_type, (unsigned long)c->f_id);
            return fail(c, PQ3_ERR_DECODE);
        }
        return err;
    }
}

/* ---- no-wait ACKs --------------------------------------------------------- */

/* Reports a kept refusal of a no-wait ACK, once. */
static pq3_err nowait_report(pq3_client *c)
{
    if (!c->nw_refused)
        return PQ3_OK;
    c->nw_refused = 0;
    c->status = c->nw_status;
    memcpy(c->reason, c->nw_reason, sizeof c->reason);
    seterr(c, "an ACK sent without waiting was refused: %s%s%s",
           pq3_wire_status_name(c->status), c->reason[0] != '\0' ? ": " : "", c->reason);
    return PQ3_ERR_REFUSED;
}

/* Reads frames until at most `max` no-wait ACKs are unanswered, queueing
 * pushes meanwhile. */
static pq3_err nowait_wait(pq3_client *c, unsigned max, int64_t deadline, const char *what)
{
    while (c->nw_n > max) {
        pq3_err err = await_frame(c, deadline, 0), h;
        if (err == TIMED_OUT) {
            seterr(c, "timed out after %d ms waiting for the responses to %u ACKs (%s)",
                   c->timeout_ms, c->nw_n, what);
            return fail(c, PQ3_ERR_IO);
        }
        if (err != PQ3_OK)
            return fail(c, err);
        h = on_push(c);
        if (h == 1) {
            seterr(c, "the server sent a %s (type 0x%02x, id %lu) while ACKs were awaited",
                   type_name(c->f_type), c->f_type, (unsigned long)c->f_id);
            return fail(c, PQ3_ERR_DECODE);
        }
        if (h != PQ3_OK)
            return h;
    }
    return PQ3_OK;
}

pq3_err pq3_client_ack_nowait(pq3_client *c, const uint64_t *ids, uint16_t n)
{
    int64_t deadline;
    size_t body_len = 0;
    uint32_t id;
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    err = nowait_report(c);
    if (err != PQ3_OK)
        return err;
    if (ids == NULL || n == 0 || n > PQ3_WIRE_MAX_ACK) {
        seterr(c, "ack: 1..%d queue ids are needed", PQ3_WIRE_MAX_ACK);
        return PQ3_ERR_ARG;
    }
    deadline = deadline_in(c->timeout_ms);
    /* Room first: the refusal of one of those we wait for is reported by
     * the next call, this ACK goes out all the same. */
    err = nowait_wait(c, PQ3_CLIENT_MAX_NOWAIT - 1, deadline, "room for another");
    if (err != PQ3_OK)
        return err;
    err = encode_ack(c, ids, n, &body_len);
    if (err != PQ3_OK)
        return err;
    err = send_frame(c, PQ3_WIRE_ACK, body_len, deadline, &id);
    if (err != PQ3_OK)
        return err;
    c->nw_id[c->nw_n++] = id;
    return PQ3_OK;
}

pq3_err pq3_client_sync(pq3_client *c)
{
    pq3_err err = begin(c);
    if (err != PQ3_OK)
        return err;
    err = nowait_wait(c, 0, deadline_in(c->timeout_ms), "sync");
    if (err != PQ3_OK)
        return err;
    return nowait_report(c);
}

unsigned pq3_client_nowait_pending(const pq3_client *c)
{
    return c == NULL ? 0 : c->nw_n;
}
