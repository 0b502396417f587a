/*
 * End to end through a real pq3d (docs/SERVER.md): devices of the device
 * layer register, link, look each other up, send and receive through the
 * server, offline and online, across a restart, and the server refuses
 * what it must. Usage: server_e2e [STORE_URL] (default: SQLite in the
 * temporary directory; "pg" takes $PQ3_PG_CONNINFO).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "server_fixture.h"
#include "testutil.h"

static char store_url[1200];

static void link_device(df_device *holder, const pq3_signer *acct, df_device *x, uint64_t now)
{
    uint8_t req[PQ3_LINK_REQUEST_MAX_BYTES], resp[PQ3_LINK_RESPONSE_MAX_BYTES];
    size_t req_len, resp_len;
    CHECK_OK(pq3_device_link_request(x->d, holder->handle, now, req, sizeof req, &req_len));
    CHECK_OK(pq3_device_link_approve(holder->d, acct, req, req_len, now, resp, sizeof resp,
                                     &resp_len));
    CHECK_OK(pq3_device_link_finish(x->d, resp, resp_len, now));
}

/* Receives until `want` envelopes were taken or 10 s passed. */
static int receive_n(pq3_client *c, df_device *x, int want, int *kem)
{
    int got = 0;
    for (int round = 0; round < 100 && got < want; round++) {
        int n = sf_receive(c, x, 100, kem);
        if (n < 0)
            return -1;
        got += n;
    }
    return got;
}

static int http_get(uint16_t port, const char *path, char *out, size_t cap)
{
    struct sockaddr_in sa;
    char req[256];
    size_t len = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, out + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    out[len] = 0;
    close(fd);
    return (int)len;
}

int main(int argc, char **argv)
{
    df_world w;
    sf_server s;
    char dir[600];
    pq3_soft_key ka, kb, km;
    pq3_signer alice_acct, bob_acct, mallory_acct;
    uint64_t now = sf_now();
    pq3_client *ca1 = NULL, *ca2 = NULL, *cb1 = NULL, *cm = NULL;
    pq3_wire_auth_result ar;
    pq3_contact_report rep;
    int kem = 0;

    if (argc > 1 && strcmp(argv[1], "pg") == 0) {
        const char *ci = getenv("PQ3_PG_CONNINFO");
        if (ci == NULL)
            pq3t_skip("server_e2e pg: PQ3_PG_CONNINFO not set (run through tests/pg_cluster.sh)");
        snprintf(store_url, sizeof store_url, "pg:%s", ci);
    }
    if (df_init(&w) != 0)
        return 1;
    snprintf(dir, sizeof dir, "%s/server", w.dir);
    CHECK(sf_init(&s, dir, store_url[0] ? store_url : NULL, "n1", "queue_max = 50\n") == 0);
    CHECK(sf_start(&s) == 0);
    if (pq3t_failures > 0)
        return pq3t_finish();

    CHECK_OK(pq3_soft_key_generate(&ka, NULL));
    CHECK_OK(pq3_soft_key_generate(&kb, NULL));
    CHECK_OK(pq3_soft_key_generate(&km, NULL));
    CHECK_OK(pq3_soft_signer(&alice_acct, &ka));
    CHECK_OK(pq3_soft_signer(&bob_acct, &kb));
    CHECK_OK(pq3_soft_signer(&mallory_acct, &km));
    df_device *a1 = df_new(&w, "a1", "alice");
    df_device *a2 = df_new(&w, "a2", "alice");
    df_device *b1 = df_new(&w, "b1", "bob");
    df_device *m1 = df_new(&w, "m1", "alice");     /* another key claiming alice */
    CHECK(a1 != NULL && a2 != NULL && b1 != NULL && m1 != NULL);
    CHECK_OK(pq3_device_create_account(a1->d, "alice", &alice_acct, now));
    CHECK_OK(pq3_device_create_account(b1->d, "bob", &bob_acct, now));
    CHECK_OK(pq3_device_create_account(m1->d, "alice", &mallory_acct, now));

    /* Registration: a new handle is unregistered, then listed. */
    CHECK_OK(sf_connect(&s, a1, &ca1, &ar));
    CHECK(ar.state == PQ3_WIRE_UNREGISTERED);
    CHECK_OK(sf_publish(ca1, a1, ar.state));
    CHECK_OK(sf_online(&s, b1, &cb1));
    /* The same handle under another account key: refused at AUTH. */
    CHECK_ERR(sf_connect(&s, m1, &cm, &ar), PQ3_ERR_REFUSED);
    CHECK(cm == NULL);

    /* Lookups: bob learns alice (one device), alice learns bob. */
    CHECK_OK(sf_learn(cb1, b1, "alice", &rep));
    CHECK(rep.first_seen == 1 && rep.added == 1);
    CHECK_OK(sf_learn(ca1, a1, "bob", &rep));
    CHECK_ERR(pq3_client_lookup(ca1, "nobody", &(pq3_wire_lookup_result){ 0 }),
              PQ3_ERR_REFUSED);
    CHECK(pq3_client_status(ca1) == PQ3_ST_NOT_FOUND);

    /* Online: alice -> bob, pushed at once; bob's receipt comes back. */
    CHECK_OK(pq3_device_send(a1->d, "bob", (const uint8_t *)"hello bob", 9, now, NULL, NULL));
    CHECK(sf_flush(ca1, a1) == 1);
    CHECK(receive_n(cb1, b1, 1, &kem) == 1);
    CHECK(df_inbox_count(b1, PQ3_INBOX_MESSAGE, "hello bob") == 1);
    CHECK(sf_flush(cb1, b1) >= 1);                  /* the receipt */
    CHECK(receive_n(ca1, a1, 1, NULL) == 1);
    CHECK(df_inbox_count(a1, PQ3_INBOX_RECEIPT, NULL) >= 1);

    /* Offline: bob gone; five messages wait in his queue. */
    pq3_client_free(cb1);
    cb1 = NULL;
    for (int i = 0; i < 5; i++) {
        char t[32];
        snprintf(t, sizeof t, "offline %d", i);
        CHECK_OK(pq3_device_send(a1->d, "bob", (const uint8_t *)t, strlen(t), now, NULL, NULL));
    }
    CHECK(sf_flush(ca1, a1) == 5);
    CHECK_OK(sf_connect(&s, b1, &cb1, &ar));
    CHECK(ar.state == PQ3_WIRE_LISTED && ar.queued == 5);
    CHECK(receive_n(cb1, b1, 5, &kem) == 5);
    CHECK(df_inbox_count(b1, PQ3_INBOX_MESSAGE, "offline 4") == 1);

    /* Re-sending the same envelope (same msg_id) stores it once. */
    {
        pq3_wire_envelope e;
        uint8_t st;
        pq3_device_self bs;
        static const uint8_t junk[40] = { 1, 2, 3 };
        CHECK_OK(pq3_device_whoami(b1->d, &bs));
        memset(&e, 0, sizeof e);
        e.to_handle.p = (const uint8_t *)"bob";
        e.to_handle.len = 3;
        memcpy(e.to_device, bs.device_id, PQ3_DEVICE_ID_BYTES);
        memset(e.msg_id, 0x5a, 16);
        e.msg.p = junk;
        e.msg.len = sizeof junk;
        CHECK_OK(pq3_client_send(ca1, &e, 1, &st));
        CHECK(st == PQ3_ST_OK);
        CHECK_OK(pq3_client_send(ca1, &e, 1, &st));
        CHECK(st == PQ3_ST_OK);
        {
            pq3_wire_deliver d;
            int seen = 0;
            while (pq3_client_next(cb1, &d, 500) == PQ3_OK) {
                uint64_t id = d.queue_id;
                if (d.msg.len == sizeof junk)
                    seen++;
                CHECK_OK(pq3_client_ack(cb1, &id, 1));
            }
            CHECK(seen == 1);
        }
        /* To a device that does not exist: NOT_FOUND for that envelope. */
        e.to_device[0] ^= 1;
        CHECK_OK(pq3_client_send(ca1, &e, 1, &st));
        CHECK(st == PQ3_ST_NOT_FOUND);
        /* A full queue: queue_max = 50 in this server's config. */
        e.to_device[0] ^= 1;
        pq3_client_free(cb1);
        cb1 = NULL;
        int full = 0, ok = 0;
        for (int i = 0; i < 60; i++) {
            e.msg_id[0] = (uint8_t)i;
            e.msg_id[1] = 0x77;
            CHECK_OK(pq3_client_send(ca1, &e, 1, &st));
            if (st == PQ3_ST_OK)
                ok++;
            else if (st == PQ3_ST_QUEUE_FULL)
                full++;
        }
        CHECK(ok == 50 && full == 10);
        /* Drain them again, acknowledged without waiting: more no-wait
         * ACKs than the client keeps unanswered, their answers taken while
         * it waits for pushes; after pq3_client_sync the deletes are durable,
         * so a new connection finds the queue empty. */
        CHECK_OK(sf_connect(&s, b1, &cb1, &ar));
        CHECK(ar.queued == 50);
        for (int got = 0; got < 50;) {
            pq3_wire_deliver d;
            uint64_t id;
            if (pq3_client_next(cb1, &d, 2000) != PQ3_OK)
                break;
            id = d.queue_id;
            CHECK_OK(pq3_client_ack_nowait(cb1, &id, 1));
            CHECK(pq3_client_nowait_pending(cb1) <= PQ3_CLIENT_MAX_NOWAIT);
            got++;
        }
        CHECK_OK(pq3_client_sync(cb1));
        CHECK(pq3_client_nowait_pending(cb1) == 0);
        pq3_client_free(cb1);
        cb1 = NULL;
        CHECK_OK(sf_connect(&s, b1, &cb1, &ar));
        CHECK(ar.queued == 0);
    }

    /* A second device for alice: pending until it publishes the list that
     * names it; then a message to alice reaches both devices. */
    link_device(a1, &alice_acct, a2, now);
    CHECK_OK(sf_connect(&s, a2, &ca2, &ar));
    CHECK(ar.state == PQ3_WIRE_PENDING);
    CHECK_OK(sf_publish(ca2, a2, ar.state));
    CHECK_OK(sf_learn(cb1, b1, "alice", &rep));
    CHECK(rep.added == 1);
    CHECK_OK(sf_learn(ca1, a1, "alice", &rep));     /* a1 learns its sibling */
    CHECK_OK(sf_learn(ca2, a2, "bob", NULL));
    CHECK_OK(sf_learn(ca2, a2, "alice", NULL));
    CHECK_OK(pq3_device_send(b1->d, "alice", (const uint8_t *)"to both", 7, now, NULL, NULL));
    CHECK(sf_flush(cb1, b1) >= 2);
    CHECK(receive_n(ca1, a1, 1, &kem) >= 1);
    CHECK(receive_n(ca2, a2, 1, &kem) >= 1);
    CHECK(df_inbox_count(a1, PQ3_INBOX_MESSAGE, "to both") == 1);
    CHECK(df_inbox_count(a2, PQ3_INBOX_MESSAGE, "to both") == 1);

    /* An old list again: CONFLICT. */
    {
        pq3_directory_entry e;
        CHECK_OK(pq3_device_publication(a1->d, now, &e));
        CHECK_ERR(pq3_client_publish_list(ca1, e.device_list, e.device_list_len, NULL, NULL, 0),
                  PQ3_ERR_REFUSED);
        CHECK(pq3_client_status(ca1) == PQ3_ST_CONFLICT);
    }

    /* Removing a2: its connection is closed by the server. */
    {
        pq3_device_self s2;
        pq3_directory_entry e;
        pq3_wire_deliver d;
        CHECK_OK(pq3_device_whoami(a2->d, &s2));
        CHECK_OK(pq3_device_remove(a1->d, &alice_acct, s2.device_id, now));
        CHECK_OK(pq3_device_publication(a1->d, now, &e));
        CHECK_OK(pq3_client_publish_list(ca1, e.device_list, e.device_list_len, NULL, NULL, 0));
        CHECK_ERR(pq3_client_next(ca2, &d, 3000), PQ3_ERR_IO);
        CHECK(pq3_client_status(ca2) == PQ3_ST_FORBIDDEN);
        pq3_client_free(ca2);
        ca2 = NULL;
        /* It may still authenticate (its certificate is valid) but only as
         * pending: it cannot send, and nothing is queued for it. */
        CHECK_OK(sf_connect(&s, a2, &ca2, &ar));
        CHECK(ar.state == PQ3_WIRE_PENDING);
        {
            pq3_wire_envelope pe;
            uint8_t st;
            static const uint8_t junk[8] = { 9 };
            memset(&pe, 0, sizeof pe);
            pe.to_handle.p = (const uint8_t *)"bob";
            pe.to_handle.len = 3;
            pe.msg.p = junk;
            pe.msg.len = sizeof junk;
            CHECK_ERR(pq3_client_send(ca2, &pe, 1, &st), PQ3_ERR_IO);
            CHECK(pq3_client_status(ca2) == PQ3_ST_FORBIDDEN);
        }
    }

    /* The wrong pin, the wrong server name: refused by the client. */
    {
        pq3_client_config cfg = sf_config(&s);
        pq3_client_identity id;
        pq3_device_self me;
        pq3_directory_entry e;
        pq3_client *c = NULL;
        CHECK_OK(pq3_device_whoami(b1->d, &me));
        CHECK_OK(pq3_device_publication(b1->d, now, &e));
        memset(&id, 0, sizeof id);
        id.handle = "bob";
        memcpy(id.device_id, me.device_id, PQ3_DEVICE_ID_BYTES);
        memcpy(id.account_pub, me.account_pub, PQ3_ECDSA_PUB_BYTES);
        id.cert = e.certs[0];
        id.cert_len = e.cert_lens[0];
        id.signer = &b1->signer;
        cfg.pin[0] ^= 1;
        CHECK_ERR(pq3_client_connect(&c, &cfg, &id, now, NULL), PQ3_ERR_VERIFY);
        cfg.pin[0] ^= 1;
        cfg.server_name = "other.pq3";
        CHECK_ERR(pq3_client_connect(&c, &cfg, &id, now, NULL), PQ3_ERR_VERIFY);
        cfg.server_name = SF_NAME;
        cfg.port = 1;                               /* nothing listens there */
        CHECK_ERR(pq3_client_connect(&c, &cfg, &id, now, NULL), PQ3_ERR_IO);
    }

    /* Metrics and health. */
    {
        static char body[65536];
        CHECK(http_get(s.metrics_port, "/metrics", body, sizeof body) > 0);
        CHECK(strstr(body, "pq3d_messages_stored_total") != NULL);
        CHECK(strstr(body, "pq3d_request_seconds_bucket") != NULL);
        CHECK(http_get(s.metrics_port, "/health", body, sizeof body) > 0);
        CHECK(strstr(body, "200 OK") != NULL);
    }

    /* A refused no-wait ACK surfaces: a flood of them (of ids that are not
     * queued, which the server ignores) goes over the connection's rate
     * (200/s, burst 400), and a later no-wait ACK or pq3_client_sync
     * reports RATE_LIMITED; the connection stays open. */
    {
        pq3_err err = PQ3_OK;
        for (int i = 0; i < 1000 && err == PQ3_OK; i++) {
            uint64_t id = UINT64_MAX - (uint64_t)i;
            err = pq3_client_ack_nowait(cb1, &id, 1);
        }
        if (err == PQ3_OK)
            err = pq3_client_sync(cb1);
        CHECK_ERR(err, PQ3_ERR_REFUSED);
        CHECK(pq3_client_status(cb1) == PQ3_ST_RATE_LIMITED);
        /* Refusals answered after that report are reported by the next
         * call; once all are answered and reported, sync is OK. */
        err = pq3_client_sync(cb1);
        CHECK(err == PQ3_OK || err == PQ3_ERR_REFUSED);
        CHECK_OK(pq3_client_sync(cb1));
        CHECK(pq3_client_fd(cb1) >= 0);             /* still open */
    }

    /* A restart loses nothing: messages queued for bob before SIGTERM are
     * there after it; SIGTERM exits 0. */
    pq3_client_free(cb1);
    cb1 = NULL;
    CHECK_OK(pq3_device_send(a1->d, "bob", (const uint8_t *)"across restart", 14, now, NULL,
                             NULL));
    /* (a1 also owes bob a receipt for "to both": two envelopes.) */
    int queued_before = sf_flush(ca1, a1);
    CHECK(queued_before >= 1);
    pq3_client_free(ca1);
    ca1 = NULL;
    CHECK(sf_stop(&s, SIGTERM) == 0);
    CHECK(sf_start(&s) == 0);
    CHECK_OK(sf_connect(&s, b1, &cb1, &ar));
    CHECKF((int)ar.queued == queued_before, "queued %u, sent %d", ar.queued, queued_before);
    CHECK(receive_n(cb1, b1, queued_before, &kem) == queued_before);
    CHECK(df_inbox_count(b1, PQ3_INBOX_MESSAGE, "across restart") == 1);

    pq3_client_free(cb1);
    pq3_client_free(ca2);
    CHECK(sf_stop(&s, SIGTERM) == 0);
    pq3_soft_key_wipe(&ka);
    pq3_soft_key_wipe(&kb);
    pq3_soft_key_wipe(&km);
    if (pq3t_failures == 0)
        df_cleanup(&w);
    else
        for (int i = 0; i < w.n; i++)
            df_close(&w.dev[i]);
    if (pq3t_failures != 0)
        fprintf(stderr, "kept %s for inspection (server log: %s/pq3d.log)\n", w.dir, dir);
    return pq3t_finish();
}
