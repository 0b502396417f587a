/*
 * Bad input to a real pq3d (docs/SERVER.md §2, §4, §7, §9), over raw TLS
 * so that every byte is ours: truncated frames, a 4 GiB length prefix, a
 * byte-at-a-time sender, requests before authentication, a replayed or
 * foreign challenge signature, malformed bodies, oversized envelopes,
 * writes to another account, rate limits, timeouts, and a reader that
 * never reads. Each gets its clear answer; the server neither crashes nor
 * loses anything, and serves normally afterwards.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "server_fixture.h"
#include "testutil.h"

static sf_server srv;

typedef struct raw {
    int fd;
    SSL *ssl;
    SSL_CTX *ctx;
    pq3_wire_challenge ch;
    uint8_t name[PQ3_WIRE_MAX_NAME];
    uint8_t exporter[PQ3_WIRE_EXPORTER_BYTES];
} raw;

static int raw_open(raw *r)
{
    struct sockaddr_in sa;
    struct timeval tv = { 5, 0 };
    int one = 1;
    memset(r, 0, sizeof *r);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(srv.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(r->ctx, TLS1_3_VERSION);
    r->ssl = SSL_new(r->ctx);
    SSL_set_fd(r->ssl, r->fd);
    if (SSL_connect(r->ssl) != 1)
        return -1;
    return SSL_export_keying_material(r->ssl, r->exporter, sizeof r->exporter,
                                      PQ3_WIRE_EXPORTER_LABEL, strlen(PQ3_WIRE_EXPORTER_LABEL),
                                      NULL, 0, 0) == 1
               ? 0
               : -1;
}

static void raw_close(raw *r)
{
    if (r->ssl != NULL)
        SSL_free(r->ssl);
    if (r->ctx != NULL)
        SSL_CTX_free(r->ctx);
    if (r->fd >= 0)
        close(r->fd);
    r->ssl = NULL;
    r->ctx = NULL;
    r->fd = -1;
}

static int raw_write(raw *r, const uint8_t *p, size_t n)
{
    return SSL_write(r->ssl, p, (int)n) == (int)n ? 0 : -1;
}

static int raw_read_exact(raw *r, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int k = SSL_read(r->ssl, p + got, (int)(n - got));
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

/* Reads one frame into buf; -1 at EOF or error. */
static int raw_frame(raw *r, uint8_t *type, uint32_t *id, uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t hdr[PQ3_WIRE_HEADER_BYTES];
    uint32_t body;
    if (raw_read_exact(r, hdr, sizeof hdr) != 0 ||
        pq3_wire_header_decode(hdr, PQ3_WIRE_MAX_FRAME, type, id, &body) != PQ3_OK ||
        body > cap || raw_read_exact(r, buf, body) != 0)
        return -1;
    *len = body;
    return 0;
}

static int raw_send(raw *r, uint8_t type, uint32_t id, const uint8_t *body, size_t len)
{
    uint8_t hdr[PQ3_WIRE_HEADER_BYTES];
    if (pq3_wire_header_encode(hdr, type, id, len) != PQ3_OK || raw_write(r, hdr, sizeof hdr) != 0)
        return -1;
    return len == 0 ? 0 : raw_write(r, body, len);
}

/* Opens, reads the challenge. */
static int raw_start(raw *r)
{
    static uint8_t buf[1024];
    uint8_t type;
    uint32_t id;
    size_t len;
    if (raw_open(r) != 0 || raw_frame(r, &type, &id, buf, sizeof buf, &len) != 0 ||
        type != PQ3_WIRE_CHALLENGE || pq3_wire_challenge_decode(&r->ch, buf, len) != PQ3_OK)
        return -1;
    memcpy(r->name, r->ch.name.p, r->ch.name.len);
    r->ch.name.p = r->name;
    return 0;
}

/* The AUTH body for device x answering challenge ch with exporter ex. */
static size_t auth_body(uint8_t *out, size_t cap, df_device *x, const pq3_wire_challenge *ch,
                        const uint8_t ex[32])
{
    pq3_wire_auth a;
    pq3_device_self me;
    pq3_directory_entry e;
    size_t len = 0;
    if (pq3_device_whoami(x->d, &me) != PQ3_OK || pq3_device_publication(x->d, sf_now(), &e) != PQ3_OK)
        return 0;
    memset(&a, 0, sizeof a);
    a.version = PQ3_WIRE_VERSION;
    a.handle.p = me.handle;
    a.handle.len = me.handle_len;
    memcpy(a.device_id, me.device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(a.account_pub, me.account_pub, PQ3_ECDSA_PUB_BYTES);
    a.cert.p = e.certs[0];
    a.cert.len = e.cert_lens[0];
    if (pq3_wire_auth_sign(&a, ch, ex, &x->signer) != PQ3_OK ||
        pq3_wire_auth_encode(out, cap, &len, &a) != PQ3_OK)
        return 0;
    return len;
}

/* Waits for a RESPONSE to `id` or a GOODBYE; returns the status, -1 on EOF. */
static int raw_status(raw *r, uint32_t want, uint8_t *got_type)
{
    static uint8_t buf[PQ3_WIRE_MAX_FRAME];
    for (;;) {
        uint8_t type;
        uint32_t id;
        size_t len;
        if (raw_frame(r, &type, &id, buf, sizeof buf, &len) != 0)
            return -1;
        if (got_type != NULL)
            *got_type = type;
        if (type == PQ3_WIRE_GOODBYE) {
            pq3_wire_goodbye g;
            return pq3_wire_goodbye_decode(&g, buf, len) == PQ3_OK ? g.status : -2;
        }
        if (type == PQ3_WIRE_RESPONSE && id == want) {
            pq3_wire_response rs;
            return pq3_wire_response_decode(&rs, buf, len) == PQ3_OK ? rs.status : -2;
        }
    }
}

/* After a GOODBYE the server closes: the next read is EOF. */
static int raw_closed(raw *r)
{
    uint8_t b;
    return SSL_read(r->ssl, &b, 1) <= 0;
}

static int auth_ok(raw *r, df_device *x)
{
    uint8_t body[2048];
    size_t len;
    if (raw_start(r) != 0)
        return 0;
    len = auth_body(body, sizeof body, x, &r->ch, r->exporter);
    return len > 0 && raw_send(r, PQ3_WIRE_AUTH, 1, body, len) == 0 &&
           raw_status(r, 1, NULL) == PQ3_ST_OK;
}

static long server_rss_kb(void)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)srv.pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int main(void)
{
    df_world w;
    char dir[600];
    pq3_soft_key ka, kb;
    pq3_signer sa, sb;
    uint64_t now = sf_now();
    pq3_client *c;
    df_device *alice, *bob;
    pq3_device_self as, bs;
    raw r, r2;
    uint8_t body[4096];
    size_t len;

    signal(SIGPIPE, SIG_IGN);
    if (df_init(&w) != 0)
        return 1;
    snprintf(dir, sizeof dir, "%s/server", w.dir);
    CHECK(sf_init(&srv, dir, NULL, NULL,
                  "auth_timeout = 2\nidle_timeout = 3\nrate_lookup = 5\nqueue_max = 100000\n"
                  "queue_max_bytes = 1099511627776\n") == 0);
    CHECK(sf_start(&srv) == 0);
    if (pq3t_failures > 0)
        return pq3t_finish();
    CHECK_OK(pq3_soft_key_generate(&ka, NULL));
    CHECK_OK(pq3_soft_key_generate(&kb, NULL));
    CHECK_OK(pq3_soft_signer(&sa, &ka));
    CHECK_OK(pq3_soft_signer(&sb, &kb));
    alice = df_new(&w, "alice", "alice");
    bob = df_new(&w, "bob", "bob");
    CHECK_OK(pq3_device_create_account(alice->d, "alice", &sa, now));
    CHECK_OK(pq3_device_create_account(bob->d, "bob", &sb, now));
    CHECK_OK(pq3_device_whoami(alice->d, &as));
    CHECK_OK(pq3_device_whoami(bob->d, &bs));
    CHECK_OK(sf_online(&srv, alice, &c));
    pq3_client_free(c);
    CHECK_OK(sf_online(&srv, bob, &c));
    pq3_client_free(c);

    /* 1. A truncated frame, then the connection dropped. */
    CHECK(raw_start(&r) == 0);
    CHECK(raw_write(&r, (const uint8_t *)"\x00\x00", 2) == 0);
    raw_close(&r);
    CHECK(raw_start(&r) == 0);
    {
        uint8_t hdr[PQ3_WIRE_HEADER_BYTES];
        len = auth_body(body, sizeof body, alice, &r.ch, r.exporter);
        CHECK(pq3_wire_header_encode(hdr, PQ3_WIRE_AUTH, 1, len) == PQ3_OK);
        CHECK(raw_write(&r, hdr, sizeof hdr) == 0 && raw_write(&r, body, len / 2) == 0);
    }
    raw_close(&r);

    /* 2. A 4 GiB length prefix: TOO_LARGE from four bytes, then closed. */
    CHECK(raw_start(&r) == 0);
    CHECK(raw_write(&r, (const uint8_t *)"\xff\xff\xff\xff\x01\x00\x00\x00\x01", 9) == 0);
    CHECK(raw_status(&r, 0, NULL) == PQ3_ST_TOO_LARGE);
    CHECK(raw_closed(&r));
    raw_close(&r);
    /* ... and over the pre-authentication limit. */
    CHECK(raw_start(&r) == 0);
    CHECK(raw_write(&r, (const uint8_t *)"\x00\x00\x23\x28\x01\x00\x00\x00\x01", 9) == 0);
    CHECK(raw_status(&r, 0, NULL) == PQ3_ST_TOO_LARGE);
    raw_close(&r);
    /* A length under the header's own five bytes. */
    CHECK(raw_start(&r) == 0);
    CHECK(raw_write(&r, (const uint8_t *)"\x00\x00\x00\x02\x01\x00\x00\x00\x01", 9) == 0);
    CHECK(raw_status(&r, 0, NULL) == PQ3_ST_BAD_REQUEST);
    raw_close(&r);

    /* 3. A request before AUTH. */
    CHECK(raw_start(&r) == 0);
    CHECK(raw_send(&r, PQ3_WIRE_LOOKUP, 7, (const uint8_t *)"\x00\x03" "bob", 5) == 0);
    CHECK(raw_status(&r, 7, NULL) == PQ3_ST_UNAUTHENTICATED);
    CHECK(raw_closed(&r));
    raw_close(&r);
    /* An unknown frame type; a malformed AUTH (one trailing byte). */
    CHECK(raw_start(&r) == 0);
    CHECK(raw_send(&r, 0x55, 1, NULL, 0) == 0);
    CHECK(raw_status(&r, 1, NULL) == PQ3_ST_BAD_REQUEST);
    raw_close(&r);
    CHECK(raw_start(&r) == 0);
    len = auth_body(body, sizeof body, alice, &r.ch, r.exporter);
    body[len] = 0;
    CHECK(raw_send(&r, PQ3_WIRE_AUTH, 1, body, len + 1) == 0);
    CHECK(raw_status(&r, 1, NULL) == PQ3_ST_BAD_REQUEST);
    raw_close(&r);

    /* 4. A byte-at-a-time sender authenticates all the same. */
    CHECK(raw_start(&r) == 0);
    {
        uint8_t frame[4096];
        len = auth_body(frame + PQ3_WIRE_HEADER_BYTES, sizeof frame - PQ3_WIRE_HEADER_BYTES,
                        alice, &r.ch, r.exporter);
        CHECK(pq3_wire_header_encode(frame, PQ3_WIRE_AUTH, 9, len) == PQ3_OK);
        for (size_t i = 0; i < len + PQ3_WIRE_HEADER_BYTES; i++) {
            CHECK(raw_write(&r, frame + i, 1) == 0);
            if (i % 64 == 0)
                sf_sleep_ms(1);
        }
        CHECK(raw_status(&r, 9, NULL) == PQ3_ST_OK);
    }
    raw_close(&r);

    /* 5. A signature replayed on another connection; one made for another
     * server's challenge. */
    CHECK(raw_start(&r) == 0 && raw_start(&r2) == 0);
    len = auth_body(body, sizeof body, alice, &r.ch, r.exporter);
    CHECK(raw_send(&r2, PQ3_WIRE_AUTH, 1, body, len) == 0);
    CHECK(raw_status(&r2, 1, NULL) == PQ3_ST_INVALID);
    raw_close(&r2);
    {
        pq3_wire_challenge foreign = r.ch;
        foreign.name.p = (const uint8_t *)"evil.example";
        foreign.name.len = 12;
        len = auth_body(body, sizeof body, alice, &foreign, r.exporter);
        CHECK(raw_send(&r, PQ3_WIRE_AUTH, 1, body, len) == 0);
        CHECK(raw_status(&r, 1, NULL) == PQ3_ST_INVALID);
    }
    raw_close(&r);

    /* 6. Unauthenticated for too long (auth_timeout = 2). */
    CHECK(raw_start(&r) == 0);
    CHECK(raw_status(&r, 0, NULL) == PQ3_ST_UNAUTHENTICATED);
    raw_close(&r);

    /* 7. After AUTH: an oversized envelope is a malformed body. */
    CHECK(auth_ok(&r, alice));
    {
        size_t big = 4 + 2 + 3 + 32 + 4 + PQ3_WIRE_MAX_ENVELOPE + 1;
        uint8_t *m = calloc(1, big);
        size_t o = 0;
        m[o++] = 0;
        m[o++] = 1;                                      /* count 1 */
        m[o++] = 0;
        m[o++] = 3;
        memcpy(m + o, "bob", 3);
        o += 3;
        memcpy(m + o, bs.device_id, 16);
        o += 32;                                         /* device, msg_id */
        uint32_t l = PQ3_WIRE_MAX_ENVELOPE + 1;
        m[o++] = (uint8_t)(l >> 24);
        m[o++] = (uint8_t)(l >> 16);
        m[o++] = (uint8_t)(l >> 8);
        m[o++] = (uint8_t)l;
        o += l;
        CHECK(raw_send(&r, PQ3_WIRE_SEND, 3, m, o) == 0);
        CHECK(raw_status(&r, 3, NULL) == PQ3_ST_BAD_REQUEST);
        CHECK(raw_closed(&r));
        free(m);
    }
    raw_close(&r);

    /* 8. Writes to another account. Alice sends bob three envelopes; she
     * ACKs their queue ids (she cannot learn them, so she tries 1..1000):
     * nothing of bob's goes. A bundle of bob's uploaded by alice, a list of
     * bob's published by alice: refused. */
    {
        pq3_client *ca, *cb;
        pq3_wire_envelope e;
        uint8_t st;
        static const uint8_t junk[50] = { 7 };
        uint64_t ids[1000];
        pq3_directory_entry be;
        CHECK_OK(sf_connect(&srv, alice, &ca, &(pq3_wire_auth_result){ 0 }));
        memset(&e, 0, sizeof e);
        e.to_handle.p = (const uint8_t *)"bob";
        e.to_handle.len = 3;
        memcpy(e.to_device, bs.device_id, 16);
        e.msg.p = junk;
        e.msg.len = sizeof junk;
        for (int i = 0; i < 3; i++) {
            e.msg_id[0] = (uint8_t)(0xa0 + i);
            CHECK_OK(pq3_client_send(ca, &e, 1, &st));
            CHECK(st == PQ3_ST_OK);
        }
        for (int i = 0; i < 1000; i++)
            ids[i] = (uint64_t)i + 1;
        CHECK_OK(pq3_client_ack(ca, ids, 1000));
        CHECK_OK(pq3_device_publication(bob->d, now, &be));
        CHECK_ERR(pq3_client_put_bundle(ca, be.bundles[0], be.bundle_lens[0]), PQ3_ERR_REFUSED);
        CHECK(pq3_client_status(ca) == PQ3_ST_INVALID);
        CHECK_ERR(pq3_client_publish_list(ca, be.device_list, be.device_list_len, NULL, NULL, 0),
                  PQ3_ERR_REFUSED);
        CHECK(pq3_client_status(ca) == PQ3_ST_INVALID);
        /* Bob still gets all three. */
        CHECK_OK(sf_connect(&srv, bob, &cb, &(pq3_wire_auth_result){ 0 }));
        int got = 0;
        pq3_wire_deliver d;
        while (pq3_client_next(cb, &d, 1000) == PQ3_OK) {
            uint64_t id = d.queue_id;
            if (d.msg.len == sizeof junk)
                got++;
            CHECK_OK(pq3_client_ack(cb, &id, 1));
        }
        CHECK(got == 3);

        /* 9. Lookups over their rate (5/s, burst 10): RATE_LIMITED, the
         * connection stays. */
        int limited = 0;
        for (int i = 0; i < 40; i++) {
            pq3_wire_lookup_result lr;
            pq3_err err = pq3_client_lookup(ca, "bob", &lr);
            if (err == PQ3_ERR_REFUSED && pq3_client_status(ca) == PQ3_ST_RATE_LIMITED)
                limited++;
            else
                CHECK_OK(err);
        }
        CHECK(limited > 0 && limited < 40);
        uint64_t t;
        CHECK_OK(pq3_client_ping(ca, &t));

        /* 10. A reader that never reads: bob's connection is left unread
         * while 600 envelopes of 60 KB (36 MB) are sent to him. The server
         * keeps them in its store, not in memory: its resident size grows
         * by far less than what was sent. */
        pq3_client_free(cb);
        raw rr;
        CHECK(auth_ok(&rr, bob));                  /* never read from now on */
        long before = server_rss_kb();
        {
            static uint8_t bigmsg[60000];
            pq3_wire_envelope be8[8];
            uint8_t st8[8];
            memset(bigmsg, 0x33, sizeof bigmsg);
            for (int i = 0; i < 75; i++) {
                for (int k = 0; k < 8; k++) {
                    be8[k] = e;
                    be8[k].msg.p = bigmsg;
                    be8[k].msg.len = sizeof bigmsg;
                    be8[k].msg_id[0] = (uint8_t)k;
                    be8[k].msg_id[1] = (uint8_t)i;
                    be8[k].msg_id[2] = 0xee;
                }
                CHECK_OK(pq3_client_send(ca, be8, 8, st8));
                CHECK(st8[0] == PQ3_ST_OK && st8[7] == PQ3_ST_OK);
            }
        }
        long after = server_rss_kb();
#if defined(__SANITIZE_ADDRESS__)
        /* ASan's quarantine keeps freed memory resident: no bound to check. */
        (void)after;
#else
        CHECKF(after - before < 24 * 1024, "server RSS grew by %ld kB for a stalled reader",
               after - before);
#endif
        printf("server_abuse: stalled reader, 36,000 kB sent to it: server RSS %ld -> %ld kB\n",
               before, after);
        raw_close(&rr);
        pq3_client_free(ca);
    }

    /* 11. Idle for longer than idle_timeout (3 s): GOODBYE. */
    CHECK(auth_ok(&r, alice));
    {
        uint64_t t0 = sf_ms();
        int st = raw_status(&r, 0, NULL);
        CHECKF(st == PQ3_ST_UNAVAILABLE, "idle goodbye status %d", st);
        CHECK(sf_ms() - t0 < 10000);
    }
    raw_close(&r);

    /* The server is alive and serves after all of it. */
    CHECK(kill(srv.pid, 0) == 0);
    CHECK(auth_ok(&r, bob));
    raw_close(&r);
    CHECK(sf_stop(&srv, SIGTERM) == 0);
    pq3_soft_key_wipe(&ka);
    pq3_soft_key_wipe(&kb);
    if (pq3t_failures == 0)
        df_cleanup(&w);
    else
        for (int i = 0; i < w.n; i++)
            df_close(&w.dev[i]);
    if (pq3t_failures != 0)
        fprintf(stderr, "kept %s (server log %s/pq3d.log)\n", w.dir, dir);
    return pq3t_finish();
}
