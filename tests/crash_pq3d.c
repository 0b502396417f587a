/*
 * Crash test of the relay (docs/SERVER.md §10): a sender thread sends
 * 10,000 envelopes in batches through pq3d while a receiver thread takes
 * and acknowledges them; the main thread kills pq3d with SIGKILL at random
 * moments and restarts it. Clients reconnect and resend what was not
 * acknowledged (same msg_id). At the end every envelope the server
 * acknowledged must have reached the receiver, and after de-duplication by
 * msg_id exactly once. Usage: crash_pq3d [pg] [MESSAGES] (pg: the store
 * is $PQ3_PG_CONNINFO, see tests/pg_cluster.sh).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "server_fixture.h"
#include "testutil.h"

#define BODY 300

static sf_server srv;
static int total = 10000;
static uint8_t *acked;                /* by counter: the server said OK */
static uint8_t *received;             /* by counter: the receiver got it */
static atomic_int sender_done, stop_all, n_received, n_dups, n_acked, n_resent;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static df_device *sender, *receiver;
static uint8_t recv_device[PQ3_DEVICE_ID_BYTES];

static uint16_t free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static pq3_client *connect_retry(df_device *x)
{
    for (int i = 0; i < 3000 && !stop_all; i++) {
        pq3_client *c = NULL;
        pq3_wire_auth_result r;
        pthread_mutex_lock(&mu);
        pq3_err err = sf_connect(&srv, x, &c, &r);
        pthread_mutex_unlock(&mu);
        if (err == PQ3_OK)
            return c;
        sf_sleep_ms(10);
    }
    return NULL;
}

static void *sender_main(void *arg)
{
    pq3_client *c = NULL;
    int next = 0;
    uint8_t bodies[PQ3_WIRE_MAX_SEND][BODY];
    (void)arg;

    while (next < total && !stop_all) {
        pq3_wire_envelope e[PQ3_WIRE_MAX_SEND];
        uint8_t st[PQ3_WIRE_MAX_SEND];
        int n = 1 + rand() % PQ3_WIRE_MAX_SEND;
        if (n > total - next)
            n = total - next;
        if (c == NULL && (c = connect_retry(sender)) == NULL)
            break;
        for (int i = 0; i < n; i++) {
            uint32_t k = (uint32_t)(next + i);
            memset(&e[i], 0, sizeof e[i]);
            e[i].to_handle.p = (const uint8_t *)"bob";
            e[i].to_handle.len = 3;
            memcpy(e[i].to_device, recv_device, PQ3_DEVICE_ID_BYTES);
            memset(e[i].msg_id, 0xc3, 16);
            memcpy(e[i].msg_id, &k, sizeof k);
            memset(bodies[i], (int)(k & 0xff), BODY);
            memcpy(bodies[i], &k, sizeof k);
            e[i].msg.p = bodies[i];
            e[i].msg.len = BODY;
        }
        if (pq3_client_send(c, e, (uint16_t)n, st) != PQ3_OK) {
            /* Not acknowledged: the same batch again on a new connection. */
            pq3_client_free(c);
            c = NULL;
            n_resent += n;
            continue;
        }
        for (int i = 0; i < n; i++)
            if (st[i] == PQ3_ST_OK) {
                acked[next + i] = 1;
                n_acked++;
            } else {
                fprintf(stderr, "envelope %d: status %s\n", next + i, pq3_wire_status_name(st[i]));
                stop_all = 1;
            }
        next += n;
    }
    pq3_client_free(c);
    sender_done = 1;
    return NULL;
}

static void *receiver_main(void *arg)
{
    pq3_client *c = NULL;
    (void)arg;
    while (!stop_all) {
        pq3_wire_deliver d;
        uint64_t ids[256];
        int n = 0;
        pq3_err err = PQ3_OK;
        if (c == NULL && (c = connect_retry(receiver)) == NULL)
            break;
        while (n < 256) {
            err = pq3_client_next(c, &d, n == 0 ? 200 : 0);
            if (err != PQ3_OK)
                break;
            uint32_t k;
            if (d.msg.len != BODY) {
                fprintf(stderr, "receiver: a body of %zu bytes\n", d.msg.len);
                stop_all = 1;
                break;
            }
            memcpy(&k, d.msg.p, sizeof k);
            if (k < (uint32_t)total) {
                if (received[k])
                    n_dups++;           /* dropped by msg_id, as a client does */
                else {
                    received[k] = 1;
                    n_received++;
                }
            }
            ids[n++] = d.queue_id;
        }
        if (n > 0 && pq3_client_ack(c, ids, (uint16_t)n) != PQ3_OK)
            err = PQ3_ERR_IO;
        if (err != PQ3_OK && err != PQ3_ERR_UNKNOWN) {
            pq3_client_free(c);
            c = NULL;
        }
        if (sender_done && n_received == n_acked && n == 0)
            break;
    }
    pq3_client_free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    df_world w;
    char dir[600], store[1200] = "", extra[128];
    pq3_soft_key ka, kb;
    pq3_signer sa, sb;
    uint64_t now = sf_now();
    pq3_client *c;
    pthread_t ts, tr;
    int kills = 0, argi = 1;

    if (argc > argi && strcmp(argv[argi], "pg") == 0) {
        const char *ci = getenv("PQ3_PG_CONNINFO");
        if (ci == NULL)
            pq3t_skip("crash_pq3d pg: PQ3_PG_CONNINFO not set (run through tests/pg_cluster.sh)");
        snprintf(store, sizeof store, "pg:%s", ci);
        argi++;
    }
    if (argc > argi)
        total = atoi(argv[argi]);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    acked = calloc((size_t)total, 1);
    received = calloc((size_t)total, 1);
    if (acked == NULL || received == NULL || df_init(&w) != 0)
        return 1;
    snprintf(dir, sizeof dir, "%s/server", w.dir);
    snprintf(extra, sizeof extra, "listen = 127.0.0.1:%u\nqueue_max = 100000\n", free_port());
    CHECK(sf_init(&srv, dir, store[0] ? store : NULL, "crash1", extra) == 0);
    CHECK(sf_start(&srv) == 0);
    if (pq3t_failures > 0)
        return pq3t_finish();

    CHECK_OK(pq3_soft_key_generate(&ka, NULL));
    CHECK_OK(pq3_soft_key_generate(&kb, NULL));
    CHECK_OK(pq3_soft_signer(&sa, &ka));
    CHECK_OK(pq3_soft_signer(&sb, &kb));
    sender = df_new(&w, "alice", "alice");
    receiver = df_new(&w, "bob", "bob");
    CHECK_OK(pq3_device_create_account(sender->d, "alice", &sa, now));
    CHECK_OK(pq3_device_create_account(receiver->d, "bob", &sb, now));
    CHECK_OK(sf_online(&srv, sender, &c));
    pq3_client_free(c);
    CHECK_OK(sf_online(&srv, receiver, &c));
    pq3_client_free(c);
    {
        pq3_device_self me;
        CHECK_OK(pq3_device_whoami(receiver->d, &me));
        memcpy(recv_device, me.device_id, PQ3_DEVICE_ID_BYTES);
    }
    if (pq3t_failures > 0)
        return pq3t_finish();

    pthread_create(&ts, NULL, sender_main, NULL);
    pthread_create(&tr, NULL, receiver_main, NULL);
    /* Kill at random moments while the sender is busy: after a random
     * 300..1300 more acknowledgements, then 0..30 ms later, so every run
     * has about ten kills wherever the load happens to be. */
    while (!sender_done && !stop_all) {
        int next = (int)n_acked + 300 + rand() % 1000;
        while (!sender_done && !stop_all && (int)n_acked < next)
            sf_sleep_ms(2);
        if (sender_done || stop_all)
            break;
        sf_sleep_ms(rand() % 31);
        pthread_mutex_lock(&mu);
        CHECK(sf_stop(&srv, SIGKILL) == 128 + SIGKILL);
        kills++;
        CHECK(sf_start(&srv) == 0);
        pthread_mutex_unlock(&mu);
    }
    /* Let the receiver drain what is left (60 s at most). */
    for (int i = 0; i < 600 && n_received < n_acked && !stop_all; i++)
        sf_sleep_ms(100);
    stop_all = 1;
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);

    {
        int lost = 0;
        for (int k = 0; k < total; k++)
            if (acked[k] && !received[k])
                lost++;
        CHECKF(lost == 0, "%d acknowledged envelopes never arrived", lost);
        CHECKF(n_acked == total, "only %d of %d sent", (int)n_acked, total);
        CHECKF(n_received == n_acked, "received %d, acknowledged %d", (int)n_received,
               (int)n_acked);
        CHECK(kills > 0);
        printf("crash_pq3d: %s, %d kills, %d envelopes acknowledged, %d received once, "
               "%d duplicates dropped by msg_id, %d resent after a lost answer\n",
               store[0] ? "postgresql" : "sqlite", kills, (int)n_acked, (int)n_received,
               (int)n_dups, (int)n_resent);
    }
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
    free(acked);
    free(received);
    return pq3t_finish();
}
