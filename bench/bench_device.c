/*
 * The device layer's cost beside the bare protocol (docs/DEVICE.md §7):
 * pq3_device_send to 1, 3, 10 and 16 (+ 15 own) devices, each one durable
 * SQLite commit (WAL, synchronous=FULL) holding every envelope of the send,
 * and pq3_device_receive in batches of 1 and 32, each batch one commit;
 * beside pq3_peer_seal / pq3_peer_open on containers in memory, timed in
 * the same run (the floor). Usage: bench_device [sends per row] (200).
 * Prints a table; no pass/fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "device_fixture.h"
#include "protocol_fixture.h"

#define NOW 1760000000ull
static const char TEXT[] = "the quick brown fox jumps over the lazy dog, 0123456789";

static df_world W;

/* Bare protocol: a burst of seals, then the opens, on containers in memory. */
static void bare(size_t n, double *seal_us, double *open_us)
{
    fx_pair *x = malloc(sizeof *x);
    pq3_peer *pa = malloc(sizeof *pa), *pb = malloc(sizeof *pb);
    uint8_t (*msgs)[2048] = malloc(n * sizeof *msgs);
    size_t *lens = malloc(n * sizeof *lens);
    uint8_t body[4096], first[8192];
    size_t first_len;
    pq3_opened info;
    pq3b_samples s;
    pq3b_require(x && pa && pb && msgs && lens && fx_pair_init(x, 1), "set-up");
    pq3_peer_init_default(pa);
    pq3_peer_init_default(pb);
    pq3b_require(pq3_peer_start(pa, &x->alice.cert, &x->bob.cert, &x->bundle, FX_T0,
                                &x->alice.rng) == PQ3_OK, "start");
    pq3b_require(pq3_peer_seal(pa, &x->alice.device_signer, NULL, FX_T0, &x->alice.rng,
                               PQ3_CONTENT_MESSAGE, (const uint8_t *)TEXT, sizeof TEXT, NULL, 0,
                               first, sizeof first, &first_len, NULL) == PQ3_OK, "first");
    pq3b_require(pq3_peer_open(pb, &x->bob.cert, &x->alice.cert, &x->prekey, NULL, FX_T0, first,
                               first_len, body, sizeof body, &info, NULL) == PQ3_OK, "accept");
    pq3b_samples_init(&s, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = pq3b_cycles(), n0 = pq3b_nanos();
        pq3b_require(pq3_peer_seal(pa, &x->alice.device_signer, NULL, FX_T0, &x->alice.rng,
                                   PQ3_CONTENT_MESSAGE, (const uint8_t *)TEXT, sizeof TEXT + 40,
                                   NULL, 0, msgs[i], sizeof msgs[i], &lens[i], NULL) == PQ3_OK,
                     "seal");
        pq3b_samples_add(&s, pq3b_cycles() - t0, pq3b_nanos() - n0);
    }
    *seal_us = pq3b_samples_result(&s).median_us;
    pq3b_samples_free(&s);
    pq3b_samples_init(&s, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = pq3b_cycles(), n0 = pq3b_nanos();
        pq3b_require(pq3_peer_open(pb, &x->bob.cert, &x->alice.cert, NULL, NULL, FX_T0, msgs[i],
                                   lens[i], body, sizeof body, &info, NULL) == PQ3_OK, "open");
        pq3b_samples_add(&s, pq3b_cycles() - t0, pq3b_nanos() - n0);
    }
    *open_us = pq3b_samples_result(&s).median_us;
    pq3b_samples_free(&s);
    pq3_peer_wipe(pa);
    pq3_peer_wipe(pb);
    free(pa);
    free(pb);
    free(msgs);
    free(lens);
    free(x);
}

/* An account of `n` devices; returns the first. */
static df_device *account(const char *handle, const char *prefix, int n, pq3_signer *acct)
{
    df_device *first = NULL;
    char name[32];
    for (int i = 0; i < n; i++) {
        df_device *x;
        snprintf(name, sizeof name, "%s%d", prefix, i);
        x = df_new(&W, name, handle);
        pq3b_require(x != NULL, "device");
        if (i == 0) {
            pq3b_require(pq3_device_create_account(x->d, handle, acct, NOW) == PQ3_OK, "account");
            first = x;
        } else {
            uint8_t req[PQ3_LINK_REQUEST_MAX_BYTES], resp[PQ3_LINK_RESPONSE_MAX_BYTES];
            size_t rl, pl;
            pq3b_require(pq3_device_link_request(x->d, handle, NOW, req, sizeof req, &rl) ==
                             PQ3_OK &&
                             pq3_device_link_approve(first->d, acct, req, rl, NOW, resp,
                                                     sizeof resp, &pl) == PQ3_OK &&
                             pq3_device_link_finish(x->d, resp, pl, NOW) == PQ3_OK,
                         "link");
        }
    }
    return first;
}

static void publish_all(void)
{
    for (int i = 0; i < W.n; i++)
        if (W.dev[i].d != NULL)
            pq3b_require(df_publish(&W.dev[i], NOW) == PQ3_OK, "publish");
}

static void clear_outbox(df_device *x)
{
    pq3_envelope env[64];
    uint32_t n;
    do {
        pq3b_require(pq3_device_outbox(x->d, 0, env, 64, &n) == PQ3_OK, "outbox");
        for (uint32_t i = 0; i < n; i++)
            pq3b_require(pq3_device_outbox_done(x->d, env[i].id) == PQ3_OK, "done");
    } while (n > 0);
}

static void send_row(int own, int theirs, size_t sends, double seal_us)
{
    pq3_soft_key ka, kb;
    pq3_signer sa, sb;
    pq3_contact_report rep;
    df_device *a, *b;
    pq3b_samples s;
    char name[96], note[96];
    uint32_t n = 0;
    int base = W.n;
    pq3b_require(pq3_soft_key_generate(&ka, NULL) == PQ3_OK && pq3_soft_signer(&sa, &ka) == PQ3_OK &&
                     pq3_soft_key_generate(&kb, NULL) == PQ3_OK &&
                     pq3_soft_signer(&sb, &kb) == PQ3_OK,
                 "keys");
    char pa[16], pb[16];
    snprintf(pa, sizeof pa, "a%d.%d.", own, theirs);
    snprintf(pb, sizeof pb, "b%d.%d.", own, theirs);
    snprintf(name, sizeof name, "mailto:a%d.%d@example.org", own, theirs);
    a = account(name, pa, own, &sa);
    snprintf(name, sizeof name, "mailto:b%d.%d@example.org", own, theirs);
    b = account(name, pb, theirs, &sb);
    publish_all();
    pq3b_require(df_learn(&W, a, b->handle, NOW, &rep) == PQ3_OK &&
                     df_learn(&W, a, a->handle, NOW, &rep) == PQ3_OK,
                 "learn");
    /* The first send starts every session (ML-KEM-1024 encapsulations):
     * not part of the steady state measured. */
    pq3b_require(pq3_device_send(a->d, b->handle, (const uint8_t *)TEXT, sizeof TEXT, NOW, &n,
                                 NULL) == PQ3_OK, "first send");
    clear_outbox(a);
    pq3b_samples_init(&s, sends);
    for (size_t i = 0; i < sends; i++) {
        uint64_t t0 = pq3b_cycles(), n0 = pq3b_nanos();
        pq3b_require(pq3_device_send(a->d, b->handle, (const uint8_t *)TEXT, sizeof TEXT, NOW, &n,
                                     NULL) == PQ3_OK, "send");
        pq3b_samples_add(&s, pq3b_cycles() - t0, pq3b_nanos() - n0);
        if (i % 50 == 49)
            clear_outbox(a);
    }
    snprintf(name, sizeof name, "send to %d device%s%s", theirs, theirs > 1 ? "s" : "",
             own > 1 ? " + own" : "");
    {
        pq3b_result r = pq3b_samples_result(&s);
        snprintf(note, sizeof note, "%u envelopes, 1 commit; %.1f us per envelope", n,
                 r.median_us / n);
        pq3b_row_floor(name, r, seal_us * n, note);
    }
    pq3b_samples_free(&s);
    for (int i = base; i < W.n; i++)
        df_close(&W.dev[i]);
    pq3_soft_key_wipe(&ka);
    pq3_soft_key_wipe(&kb);
}

static void receive_rows(size_t msgs, double open_us)
{
    pq3_soft_key ka, kb;
    pq3_signer sa, sb;
    pq3_contact_report rep;
    pq3_device_self me;
    df_device *a, *b;
    pq3_envelope env[64];
    uint8_t (*copy)[2048] = malloc(msgs * sizeof *copy);
    size_t *lens = malloc(msgs * sizeof *lens);
    pq3_incoming *in = malloc(msgs * sizeof *in);
    pq3_received res[32];
    uint32_t n, got = 0;
    pq3b_require(copy && lens && in, "memory");
    pq3b_require(pq3_soft_key_generate(&ka, NULL) == PQ3_OK && pq3_soft_signer(&sa, &ka) == PQ3_OK &&
                     pq3_soft_key_generate(&kb, NULL) == PQ3_OK &&
                     pq3_soft_signer(&sb, &kb) == PQ3_OK,
                 "keys");
    a = account("mailto:ra@example.org", "ra", 1, &sa);
    b = account("mailto:rb@example.org", "rb", 1, &sb);
    publish_all();
    pq3b_require(df_learn(&W, a, b->handle, NOW, &rep) == PQ3_OK &&
                     df_learn(&W, b, a->handle, NOW, &rep) == PQ3_OK,
                 "learn");
    pq3b_require(pq3_device_whoami(a->d, &me) == PQ3_OK, "whoami");
    /* One message to start the session (accepted outside the rows). */
    pq3b_require(pq3_device_send(a->d, b->handle, (const uint8_t *)TEXT, sizeof TEXT, NOW, &n,
                                 NULL) == PQ3_OK && df_deliver(&W, a, NOW) == 1, "start");
    for (size_t i = 0; i < msgs; i++)
        pq3b_require(pq3_device_send(a->d, b->handle, (const uint8_t *)TEXT, sizeof TEXT, NOW,
                                     &n, NULL) == PQ3_OK, "send");
    while (got < msgs) {
        pq3b_require(pq3_device_outbox(a->d, 0, env, 64, &n) == PQ3_OK && n > 0, "outbox");
        for (uint32_t i = 0; i < n && got < msgs; i++, got++) {
            memcpy(copy[got], env[i].msg, env[i].msg_len);
            lens[got] = env[i].msg_len;
            in[got].from_handle = a->handle;
            memcpy(in[got].from_device, me.device_id, PQ3_DEVICE_ID_BYTES);
            in[got].msg = copy[got];
            in[got].msg_len = lens[got];
            pq3b_require(pq3_device_outbox_done(a->d, env[i].id) == PQ3_OK, "done");
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        size_t batch = pass == 0 ? 1 : 32, start = pass == 0 ? 0 : msgs / 2, end = pass == 0 ? msgs / 2 : msgs;
        pq3b_samples s;
        char name[64];
        pq3b_samples_init(&s, (end - start) / batch + 1);
        for (size_t i = start; i + batch <= end; i += batch) {
            uint64_t t0 = pq3b_cycles(), n0 = pq3b_nanos();
            pq3b_require(pq3_device_receive(b->d, &in[i], batch, NOW, res) == PQ3_OK, "receive");
            pq3b_samples_add(&s, (pq3b_cycles() - t0) / batch, (pq3b_nanos() - n0) / batch);
            for (size_t k = 0; k < batch; k++)
                pq3b_require(res[k].err == PQ3_OK && !res[k].duplicate, "opened");
        }
        snprintf(name, sizeof name, "receive, batches of %zu (per msg)", batch);
        pq3b_row_floor(name, pq3b_samples_result(&s), open_us,
                       batch == 1 ? "1 commit per message" : "1 commit per 32 messages");
        pq3b_samples_free(&s);
    }
    free(copy);
    free(lens);
    free(in);
    pq3_soft_key_wipe(&ka);
    pq3_soft_key_wipe(&kb);
}

int main(int argc, char **argv)
{
    size_t sends = argc > 1 ? (size_t)atol(argv[1]) : 200;
    double seal_us, open_us;
    pq3b_require(df_init(&W) == 0, "temp dir");
    bare(400, &seal_us, &open_us);
    pq3b_header("device layer: durable send and receive (SQLite WAL, synchronous=FULL)");
    printf("floor: pq3_peer_seal %.1f us, pq3_peer_open %.1f us per message (in memory)\n",
           seal_us, open_us);
    send_row(1, 1, sends, seal_us);
    send_row(1, 3, sends, seal_us);
    send_row(1, 10, sends, seal_us);
    send_row(16, 16, sends / 4 > 10 ? sends / 4 : 10, seal_us);
    receive_rows(sends / 32 * 64 > 64 ? sends / 32 * 64 : 64, open_us);
    df_cleanup(&W);
    return 0;
}
