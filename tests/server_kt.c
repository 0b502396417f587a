/*
 * Key transparency end to end (docs/TRANSPARENCY.md): a real pq3d that
 * publishes an epoch every second, lookups checked by the client library
 * (pq3_client_lookup_checked) against the keys `pq3d kt-keys` prints, and
 * the server misbehaving: a record it serves that the log does not hold,
 * a list it forged, the wrong keys pinned, a log that went back.
 * Usage: server_kt [pg] (pg: the store is $PQ3_PG_CONNINFO).
 */
#include "server_fixture.h"
#include "testutil.h"

#include <sqlite3.h>

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

/* The keys a client pins, from `pq3d kt-keys DIR`. */
static int read_kt_keys(const char *dir, pq3_kt_config *kt)
{
    char cmd[1200], line[512];
    FILE *p;
    int got = 0;
    snprintf(cmd, sizeof cmd, "'%s' kt-keys '%s'", sf_pq3d(), dir);
    if ((p = popen(cmd, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, p) != NULL) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "kt_log ", 7) == 0 &&
            pq3_note_verifier_parse(&kt->log_key, line + 7, strlen(line + 7)) == PQ3_OK)
            got |= 1;
        if (strncmp(line, "kt_vrf ", 7) == 0 && strlen(line + 7) == 2 * PQ3_VRF_PK_BYTES) {
            for (int i = 0; i < PQ3_VRF_PK_BYTES; i++) {
                unsigned x;
                if (sscanf(line + 7 + 2 * i, "%2x", &x) != 1)
                    break;
                kt->vrf_pub[i] = (uint8_t)x;
            }
            got |= 2;
        }
    }
    return pclose(p) == 0 && got == 3 ? 0 : -1;
}

/* Looks up until the record is in the log (ACCEPTED), at most 10 s. */
static pq3_err lookup_accepted(pq3_client *c, const char *h, const pq3_kt_config *kt,
                               pq3_kt_pin *pin, pq3_wire_lookup_result *r, pq3_kt_lookup *res)
{
    pq3_err err = PQ3_ERR_STATE;
    for (int i = 0; i < 100; i++) {
        err = pq3_client_lookup_checked(c, h, kt, pin, sf_now(), r, res);
        if (err != PQ3_OK || res->status == PQ3_KT_ACCEPTED)
            return err;
        sf_sleep_ms(100);
    }
    return err;
}

int main(int argc, char **argv)
{
    df_world w;
    sf_server s;
    char dir[600];
    pq3_soft_key ka, kb, km;
    pq3_signer alice_acct, bob_acct, mallory_acct;
    uint64_t now = sf_now();
    pq3_client *ca1 = NULL, *ca2 = NULL, *cb1 = NULL;
    pq3_wire_auth_result ar;
    pq3_wire_lookup_result r;
    pq3_kt_lookup res;
    pq3_kt_config kt, bad;
    pq3_kt_pin pin = { 0, { 0 } }, pin_b = { 0, { 0 } }, saved;
    pq3_err err;

    if (argc > 1 && strcmp(argv[1], "pg") == 0) {
        const char *ci = getenv("PQ3_PG_CONNINFO");
        if (ci == NULL)
            pq3t_skip("server_kt pg: PQ3_PG_CONNINFO not set (run through tests/pg_cluster.sh)");
        snprintf(store_url, sizeof store_url, "pg:%s", ci);
    }
    if (df_init(&w) != 0)
        return 1;
    snprintf(dir, sizeof dir, "%s/server", w.dir);
    CHECK(sf_init(&s, dir, store_url[0] ? store_url : NULL, "n1", "kt_epoch = 1\n") == 0);
    CHECK(sf_start(&s) == 0);
    memset(&kt, 0, sizeof kt);
    kt.server_name = SF_NAME;
    kt.mmd_max = PQ3_KT_MMD_MAX_DEFAULT;
    CHECK(read_kt_keys(dir, &kt) == 0);
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
    df_device *m1 = df_new(&w, "m1", "alice");     /* the server's own "alice" */
    CHECK(a1 != NULL && a2 != NULL && b1 != NULL && m1 != NULL);
    CHECK_OK(pq3_device_create_account(a1->d, "alice", &alice_acct, now));
    CHECK_OK(pq3_device_create_account(b1->d, "bob", &bob_acct, now));
    CHECK_OK(pq3_device_create_account(m1->d, "alice", &mallory_acct, now));
    CHECK_OK(sf_online(&s, a1, &ca1));
    CHECK_OK(sf_online(&s, b1, &cb1));

    /* §4: right after REGISTER the record is promised, not yet logged (an
     * epoch may have run in between: then it is in the log already). */
    err = pq3_client_lookup_checked(cb1, "alice", &kt, &pin_b, sf_now(), &r, &res);
    CHECK_OK(err);
    CHECK(res.status == PQ3_KT_PENDING || res.status == PQ3_KT_ACCEPTED);
    if (res.status == PQ3_KT_PENDING) {
        CHECK(res.reason == PQ3_KT_PROMISED);
        CHECK(res.deadline > 0 && res.deadline <= sf_now() + 2 + 1);
    }
    CHECK(res.version == 1 && pin_b.size >= 1);
    /* Within the MMD (2 s) it is in the log: membership of (alice, 1). */
    CHECK_OK(lookup_accepted(cb1, "alice", &kt, &pin_b, &r, &res));
    CHECK(res.status == PQ3_KT_ACCEPTED && res.reason == PQ3_KT_OK);
    CHECK(memcmp(res.account_pub, r.account_pub, PQ3_ECDSA_PUB_BYTES) == 0);
    CHECK_OK(lookup_accepted(ca1, "bob", &kt, &pin, &r, &res));
    CHECK(res.version == 1);

    /* Pinned the wrong keys: refused, the pin is not moved. */
    saved = pin;
    bad = kt;
    {
        uint8_t sk[PQ3_VRF_SK_BYTES];
        CHECK_OK(pq3_vrf_keypair(sk, bad.vrf_pub, NULL));   /* another VRF key */
        pq3_wipe(sk, sizeof sk);
    }
    err = pq3_client_lookup_checked(ca1, "bob", &bad, &pin, sf_now(), &r, &res);
    CHECK(err == PQ3_ERR_VERIFY && res.status == PQ3_KT_REFUSED);
    CHECK(res.reason == PQ3_KT_BAD_VRF);
    CHECK(strstr(pq3_client_error(ca1), "VRF") != NULL);
    CHECK(pin.size == saved.size && memcmp(pin.root, saved.root, 32) == 0);
    bad = kt;
    bad.log_key.pub[0] ^= 1;
    err = pq3_client_lookup_checked(ca1, "bob", &bad, &pin, sf_now(), &r, &res);
    CHECK(err != PQ3_OK && res.reason == PQ3_KT_NOT_SIGNED);
    CHECK(strstr(pq3_client_error(ca1), "not signed") != NULL);
    bad = kt;
    bad.server_name = "other.pq3";
    err = pq3_client_lookup_checked(ca1, "bob", &bad, &pin, sf_now(), &r, &res);
    CHECK(err != PQ3_OK && res.status == PQ3_KT_REFUSED);
    /* k of n witnesses: one configured, none cosigns: refused. */
    {
        pq3_note_signer wit;
        pq3_note_verifier wv;
        CHECK_OK(pq3_note_signer_generate(&wit, "witness.test", PQ3_NOTE_TYPE_COSIGNATURE, NULL));
        pq3_note_signer_verifier(&wv, &wit);
        pq3_note_signer_wipe(&wit);
        bad = kt;
        bad.witnesses = &wv;
        bad.n_witnesses = 1;
        bad.witness_threshold = 1;
        err = pq3_client_lookup_checked(ca1, "bob", &bad, &pin, sf_now(), &r, &res);
        CHECK(err == PQ3_ERR_VERIFY && res.reason == PQ3_KT_WITNESSES);
        bad.witness_threshold = 0;                  /* 0 of 1: proceeds */
        CHECK_OK(pq3_client_lookup_checked(ca1, "bob", &bad, &pin, sf_now(), &r, &res));
    }
    /* A log that went back or forked: a pin the server's log does not
     * extend is a split-view alert. */
    saved = pin;
    {
        pq3_kt_pin ahead = pin;
        ahead.size += 1000;
        err = pq3_client_lookup_checked(ca1, "bob", &kt, &ahead, sf_now(), &r, &res);
        CHECK(err == PQ3_ERR_VERIFY && res.reason == PQ3_KT_SPLIT_VIEW);
        CHECK(ahead.size == saved.size + 1000);
        pq3_kt_pin forked = pin;
        forked.root[0] ^= 1;
        err = pq3_client_lookup_checked(ca1, "bob", &kt, &forked, sf_now(), &r, &res);
        CHECK(err == PQ3_ERR_VERIFY && res.reason == PQ3_KT_SPLIT_VIEW);
    }
    /* The checkpoint moves on: the consistency proof from the pin holds. */
    sf_sleep_ms(1100);
    CHECK_OK(pq3_client_lookup_checked(ca1, "bob", &kt, &pin, sf_now(), &r, &res));
    CHECK(pin.size >= saved.size);

    /* A second device (list version 2): promised, then logged; the old
     * version stays in the map and the proof is for the latest. */
    link_device(a1, &alice_acct, a2, now);
    CHECK_OK(sf_connect(&s, a2, &ca2, &ar));
    CHECK(ar.state == PQ3_WIRE_PENDING);
    CHECK_OK(sf_publish(ca2, a2, ar.state));
    CHECK_OK(lookup_accepted(cb1, "alice", &kt, &pin_b, &r, &res));
    CHECK(res.version == 2 && r.count == 2);

    /* The server serves an "alice" of its own making (another account key,
     * a list it signed itself, naming its device): what the device layer
     * would otherwise accept, the log refuses. SQLite: the test rewrites
     * the server's database behind its back. */
    if (store_url[0] == 0) {
        pq3_directory_entry e;
        char db[700];
        sqlite3 *h = NULL;
        sqlite3_stmt *st = NULL;
        CHECK_OK(pq3_device_publication(m1->d, sf_now(), &e));
        snprintf(db, sizeof db, "%s/pq3d.db", dir);
        CHECK(sqlite3_open(db, &h) == SQLITE_OK);
        sqlite3_busy_timeout(h, 5000);
        {
            pq3_device_self me;
            CHECK_OK(pq3_device_whoami(m1->d, &me));
            CHECK(sqlite3_prepare_v2(h, "UPDATE accounts SET account_pub=?, list=?, version=1 "
                                        "WHERE handle=X'616c696365'", -1, &st, NULL) == SQLITE_OK);
            sqlite3_bind_blob(st, 1, e.account_pub, PQ3_ECDSA_PUB_BYTES, SQLITE_STATIC);
            sqlite3_bind_blob(st, 2, e.device_list, (int)e.device_list_len, SQLITE_STATIC);
            CHECK(sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(h) == 1);
            sqlite3_finalize(st);
            CHECK(sqlite3_prepare_v2(h, "INSERT INTO devices(handle, device_id, listed, cert) "
                                        "VALUES(X'616c696365', ?, 1, ?)", -1, &st, NULL) == SQLITE_OK);
            sqlite3_bind_blob(st, 1, me.device_id, PQ3_DEVICE_ID_BYTES, SQLITE_STATIC);
            sqlite3_bind_blob(st, 2, e.certs[0], (int)e.cert_lens[0], SQLITE_STATIC);
            CHECK(sqlite3_step(st) == SQLITE_DONE);
            sqlite3_finalize(st);
        }
        sqlite3_close(h);
        saved = pin_b;
        err = pq3_client_lookup_checked(cb1, "alice", &kt, &pin_b, sf_now(), &r, &res);
        CHECK(err != PQ3_OK && res.status == PQ3_KT_REFUSED);
        CHECK(res.reason == PQ3_KT_NOT_LATEST || res.reason == PQ3_KT_NOT_IN_MAP ||
              res.reason == PQ3_KT_MALFORMED);
        CHECK(pin_b.size == saved.size);
        CHECK(pq3_client_error(cb1)[0] != 0);
    }

    pq3_client_free(ca1);
    pq3_client_free(ca2);
    pq3_client_free(cb1);
    CHECK(sf_stop(&s, SIGTERM) == 0);
    /* A restart reloads the log from the store and checks it: the same
     * checkpoint chain continues. */
    CHECK(sf_start(&s) == 0);
    CHECK_OK(sf_connect(&s, b1, &cb1, &ar));
    {
        pq3_kt_pin p2 = saved;
        err = pq3_client_lookup_checked(cb1, "bob", &kt, &p2, sf_now(), &r, &res);
        CHECK_OK(err);
        CHECK(p2.size >= saved.size);
    }
    pq3_client_free(cb1);
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
