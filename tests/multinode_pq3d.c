/*
 * Two pq3d nodes on one PostgreSQL (docs/SERVER.md §11): a device on node 1
 * sends to a device connected to node 2, which pushes at once (LISTEN/
 * NOTIFY); then node 1 is killed with SIGKILL in the middle of a load, its
 * device reconnects to node 2, and every acknowledged envelope arrives.
 * Run through tests/pg_cluster.sh (PQ3_PG_CONNINFO).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "server_fixture.h"
#include "testutil.h"

#define BODY 200
#define LOAD 3000

static void envelope(pq3_wire_envelope *e, uint8_t *body, const uint8_t dev[16], uint32_t k)
{
    memset(e, 0, sizeof *e);
    e->to_handle.p = (const uint8_t *)"bob";
    e->to_handle.len = 3;
    memcpy(e->to_device, dev, PQ3_DEVICE_ID_BYTES);
    memset(e->msg_id, 0x3c, 16);
    memcpy(e->msg_id, &k, sizeof k);
    memset(body, 0x11, BODY);
    memcpy(body, &k, sizeof k);
    e->msg.p = body;
    e->msg.len = BODY;
}

/* Takes what is pushed within timeout_ms, acks it, marks it. */
static int take(pq3_client *c, uint8_t *seen, int timeout_ms)
{
    pq3_wire_deliver d;
    uint64_t ids[256];
    int n = 0, fresh = 0;
    while (n < 256 && pq3_client_next(c, &d, n == 0 ? timeout_ms : 0) == PQ3_OK) {
        uint32_t k;
        memcpy(&k, d.msg.p, sizeof k);
        if (k < LOAD + 1 && !seen[k]) {
            seen[k] = 1;
            fresh++;
        }
        ids[n++] = d.queue_id;
    }
    if (n > 0 && pq3_client_ack(c, ids, (uint16_t)n) != PQ3_OK)
        return -1;
    return fresh;
}

int main(void)
{
    df_world w;
    sf_server n1, n2;
    char d1[600], d2[600], store[1200];
    const char *ci = getenv("PQ3_PG_CONNINFO");
    pq3_soft_key ka, kb;
    pq3_signer sa, sb;
    uint64_t now = sf_now();
    pq3_client *ca = NULL, *cb = NULL;
    df_device *alice, *bob;
    pq3_device_self bs;
    static uint8_t seen[LOAD + 1], acked[LOAD + 1];
    uint8_t body[PQ3_WIRE_MAX_SEND][BODY];

    if (ci == NULL)
        pq3t_skip("multinode_pq3d: PQ3_PG_CONNINFO not set (run through tests/pg_cluster.sh)");
    snprintf(store, sizeof store, "pg:%s", ci);
    if (df_init(&w) != 0)
        return 1;
    snprintf(d1, sizeof d1, "%s/node1", w.dir);
    snprintf(d2, sizeof d2, "%s/node2", w.dir);
    CHECK(sf_init(&n1, d1, store, "node1", NULL) == 0);
    {
        /* One log: both nodes sign with node 1's transparency key. */
        char extra[1100];
        snprintf(extra, sizeof extra, "kt_key = %s/kt.key\n", d1);
        CHECK(sf_init(&n2, d2, store, "node2", extra) == 0);
    }
    /* Both nodes present one certificate, as behind one name. */
    {
        char cmd[2000];
        snprintf(cmd, sizeof cmd, "cp '%s/tls.crt' '%s/tls.key' '%s/'", d1, d1, d2);
        CHECK(system(cmd) == 0);
        memcpy(n2.pin, n1.pin, 32);
    }
    CHECK(sf_start(&n1) == 0);
    CHECK(sf_start(&n2) == 0);
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
    CHECK_OK(pq3_device_whoami(bob->d, &bs));
    CHECK_OK(sf_online(&n1, alice, &ca));
    CHECK_OK(sf_online(&n2, bob, &cb));
    if (pq3t_failures > 0)
        return pq3t_finish();

    /* Cross-node push: stored by node 1, pushed by node 2 within 2 s. */
    {
        pq3_wire_envelope e;
        uint8_t st;
        uint64_t t0 = sf_ms();
        envelope(&e, body[0], bs.device_id, LOAD);
        CHECK_OK(pq3_client_send(ca, &e, 1, &st));
        CHECK(st == PQ3_ST_OK);
        CHECK(take(cb, seen, 2000) == 1);
        CHECK(seen[LOAD] == 1);
        printf("multinode_pq3d: cross-node push in %llu ms\n",
               (unsigned long long)(sf_ms() - t0));
    }

    /* A load through node 1; node 1 is killed half way; alice goes on
     * through node 2. */
    {
        int next = 0, killed = 0, resent = 0;
        while (next < LOAD) {
            pq3_wire_envelope e[PQ3_WIRE_MAX_SEND];
            uint8_t st[PQ3_WIRE_MAX_SEND];
            int n = LOAD - next < 50 ? LOAD - next : 50;
            for (int i = 0; i < n; i++)
                envelope(&e[i], body[i], bs.device_id, (uint32_t)(next + i));
            if (!killed && next >= LOAD / 2) {
                CHECK(sf_stop(&n1, SIGKILL) == 128 + SIGKILL);
                killed = 1;
            }
            if (pq3_client_send(ca, e, (uint16_t)n, st) != PQ3_OK) {
                pq3_client_free(ca);
                ca = NULL;
                CHECK_OK(sf_connect(killed ? &n2 : &n1, alice, &ca, &(pq3_wire_auth_result){ 0 }));
                if (ca == NULL)
                    break;
                resent += n;
                continue;
            }
            for (int i = 0; i < n; i++)
                if (st[i] == PQ3_ST_OK)
                    acked[next + i] = 1;
            next += n;
            if (take(cb, seen, 0) < 0)
                break;
        }
        for (int i = 0; i < 100; i++) {
            int all = 1;
            for (int k = 0; k < LOAD; k++)
                if (acked[k] && !seen[k])
                    all = 0;
            if (all)
                break;
            if (take(cb, seen, 100) < 0)
                break;
        }
        int lost = 0, sent = 0;
        for (int k = 0; k < LOAD; k++) {
            sent += acked[k];
            if (acked[k] && !seen[k])
                lost++;
        }
        CHECKF(lost == 0, "%d acknowledged envelopes lost", lost);
        CHECK(sent == LOAD);
        CHECK(killed);
        printf("multinode_pq3d: node 1 killed at %d of %d; %d acknowledged, %d lost, %d resent "
               "through node 2\n", LOAD / 2, LOAD, sent, lost, resent);
    }
    pq3_client_free(ca);
    pq3_client_free(cb);
    CHECK(sf_stop(&n2, SIGTERM) == 0);
    pq3_soft_key_wipe(&ka);
    pq3_soft_key_wipe(&kb);
    if (pq3t_failures == 0)
        df_cleanup(&w);
    return pq3t_finish();
}
