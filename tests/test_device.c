/*
 * The device layer (src/device/, docs/DEVICE.md): accounts and linking,
 * contacts and what changed, fan-out, receive, redelivery, rollback and
 * equivocation of the device list, a certificate of another account, an
 * account key change, and bad stores (flipped bytes, a newer schema, a full
 * disk, a locked store).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device_fixture.h"
#include "testutil.h"

#define NOW 1760000000ull

static df_world W;
static pq3_soft_key alice_acct, bob_acct, mallory_acct;
static pq3_signer alice_signer, bob_signer, mallory_signer;

static df_device *link_device(df_device *holder, const pq3_signer *acct, const char *name,
                              uint64_t now)
{
    uint8_t req[PQ3_LINK_REQUEST_MAX_BYTES], resp[PQ3_LINK_RESPONSE_MAX_BYTES];
    size_t req_len, resp_len;
    df_device *x = df_new(&W, name, holder->handle);
    CHECK(x != NULL);
    CHECK_OK(pq3_device_link_request(x->d, holder->handle, now, req, sizeof req, &req_len));
    CHECK_OK(pq3_device_link_approve(holder->d, acct, req, req_len, now, resp, sizeof resp,
                                     &resp_len));
    CHECK_OK(pq3_device_link_finish(x->d, resp, resp_len, now));
    return x;
}

static int sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    int rc;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static uint32_t outbox_len(df_device *x)
{
    pq3_envelope env[64];
    uint32_t n;
    CHECK_OK(pq3_device_outbox(x->d, 0, env, 64, &n));
    return n;
}

int main(void)
{
    df_device *a1, *a2, *b1, *b2, *b3;
    pq3_contact_report rep;
    pq3_contact_info info;
    uint32_t n;
    uint64_t now = NOW;
    struct stat st;

    CHECK(df_init(&W) == 0);
    CHECK_OK(pq3_soft_key_generate(&alice_acct, NULL));
    CHECK_OK(pq3_soft_key_generate(&bob_acct, NULL));
    CHECK_OK(pq3_soft_key_generate(&mallory_acct, NULL));
    CHECK_OK(pq3_soft_signer(&alice_signer, &alice_acct));
    CHECK_OK(pq3_soft_signer(&bob_signer, &bob_acct));
    CHECK_OK(pq3_soft_signer(&mallory_signer, &mallory_acct));

    /* Accounts: alice with 2 devices, bob with 3. */
    a1 = df_new(&W, "a1", "mailto:alice@example.org");
    CHECK(a1 != NULL);
    CHECK(stat(a1->path, &st) == 0 && (st.st_mode & 077) == 0);
    CHECK_ERR(pq3_device_send(a1->d, "mailto:bob@example.org", (const uint8_t *)"x", 1, now, &n,
                              NULL),
              PQ3_ERR_STATE);
    CHECK_OK(pq3_device_create_account(a1->d, a1->handle, &alice_signer, now));
    CHECK_ERR(pq3_device_create_account(a1->d, a1->handle, &alice_signer, now), PQ3_ERR_STATE);
    b1 = df_new(&W, "b1", "mailto:bob@example.org");
    CHECK_OK(pq3_device_create_account(b1->d, b1->handle, &bob_signer, now));
    a2 = link_device(a1, &alice_signer, "a2", now);
    b2 = link_device(b1, &bob_signer, "b2", now);
    b3 = link_device(b1, &bob_signer, "b3", now);
    {
        /* The account key must be the account's own. */
        uint8_t req[PQ3_LINK_REQUEST_MAX_BYTES], resp[PQ3_LINK_RESPONSE_MAX_BYTES];
        size_t req_len, resp_len;
        df_device *m = df_new(&W, "m", b1->handle);
        CHECK_OK(pq3_device_link_request(m->d, b1->handle, now, req, sizeof req, &req_len));
        CHECK_ERR(pq3_device_link_approve(b1->d, &mallory_signer, req, req_len, now, resp,
                                          sizeof resp, &resp_len),
                  PQ3_ERR_KEY);
        /* A tampered request. */
        req[req_len - 1] ^= 1;
        CHECK_ERR(pq3_device_link_approve(b1->d, &bob_signer, req, req_len, now, resp,
                                          sizeof resp, &resp_len),
                  PQ3_ERR_VERIFY);
        req[req_len - 1] ^= 1;
        /* Too old. */
        CHECK_ERR(pq3_device_link_approve(b1->d, &bob_signer, req, req_len,
                                          now + PQ3_LINK_MAX_AGE + 1, resp, sizeof resp,
                                          &resp_len),
                  PQ3_ERR_EXPIRED);
        /* A response for another device is refused by the one finishing. */
        CHECK_OK(pq3_device_link_approve(b1->d, &bob_signer, req, req_len, now, resp,
                                         sizeof resp, &resp_len));
        CHECK_ERR(pq3_device_link_finish(b2->d, resp, resp_len, now), PQ3_ERR_STATE);
        /* ... and remove it again: bob has 3 devices. */
        {
            pq3_device_self ms;
            CHECK_OK(pq3_device_whoami(m->d, &ms));
            CHECK_OK(pq3_device_remove(b1->d, &bob_signer, ms.device_id, now));
        }
        df_close(m);
    }

    for (int i = 0; i < W.n; i++)
        if (W.dev[i].d != NULL)
            CHECK_OK(df_publish(&W.dev[i], now));
    /* Everyone learns both handles (their own: their other devices). */
    {
        df_device *all[5] = {a1, a2, b1, b2, b3};
        for (int i = 0; i < 5; i++) {
            CHECK_OK(df_learn(&W, all[i], a1->handle, now, &rep));
            CHECK_OK(df_learn(&W, all[i], b1->handle, now, &rep));
        }
    }
    CHECK_OK(pq3_device_contact(a1->d, b1->handle, &info));
    CHECK(info.n_devices == 3 && info.list_version == 5 && !info.verified && !info.key_changed);
    CHECK_OK(pq3_device_contact(a1->d, a1->handle, &info));
    CHECK(info.n_devices == 1);

    /* Fan-out: 3 for bob + 1 for alice's other device. */
    CHECK_OK(pq3_device_send(a1->d, b1->handle, (const uint8_t *)"hello bob", 9, now, &n, NULL));
    CHECK(n == 4);
    CHECK(df_deliver(&W, a1, now) == 4);
    CHECK(df_inbox_count(b1, PQ3_INBOX_MESSAGE, "hello bob") == 1);
    CHECK(df_inbox_count(b2, PQ3_INBOX_MESSAGE, "hello bob") == 1);
    CHECK(df_inbox_count(b3, PQ3_INBOX_MESSAGE, "hello bob") == 1);
    CHECK(df_inbox_count(a2, PQ3_INBOX_SENT, "hello bob") == 1);
    CHECK(df_inbox_count(a1, PQ3_INBOX_MESSAGE, NULL) == 0);
    /* Receipts are due on bob's side (one per device). */
    CHECK(outbox_len(b1) == 1 && outbox_len(b2) == 1 && outbox_len(b3) == 1);
    CHECK(df_deliver(&W, b1, now) == 1);
    CHECK(df_inbox_count(a1, PQ3_INBOX_RECEIPT, NULL) == 1);

    /* 2 devices send to 3: 3 + 1 from each side. */
    CHECK_OK(pq3_device_send(a2->d, b1->handle, (const uint8_t *)"from a2", 7, now, &n, NULL));
    CHECK(n == 4);
    CHECK(df_deliver(&W, a2, now) >= 4); /* + a receipt to a1 for its copy */
    CHECK(df_inbox_count(a1, PQ3_INBOX_SENT, "from a2") == 1);
    CHECK_OK(pq3_device_send(b2->d, a1->handle, (const uint8_t *)"hi alice", 8, now, &n, NULL));
    CHECK(n == 4); /* a1, a2, b1, b3 */
    CHECK(df_deliver(&W, b2, now) >= 4);
    CHECK(df_inbox_count(a1, PQ3_INBOX_MESSAGE, "hi alice") == 1);
    CHECK(df_inbox_count(a2, PQ3_INBOX_MESSAGE, "hi alice") == 1);
    CHECK(df_inbox_count(b3, PQ3_INBOX_SENT, "hi alice") == 1);

    /* A redelivered envelope: recognised, not shown twice. */
    {
        pq3_envelope env[16];
        pq3_device_self me;
        pq3_incoming in;
        pq3_received res[2];
        uint8_t copy[8192];
        /* Receipts a1 owes go first, so that its outbox holds this send only. */
        CHECK(df_deliver(&W, a1, now) >= 0);
        CHECK(df_deliver(&W, b1, now) >= 0);
        CHECK(df_deliver(&W, b2, now) >= 0);
        CHECK(df_deliver(&W, b3, now) >= 0);
        CHECK(df_deliver(&W, a2, now) >= 0);
        CHECK(df_deliver(&W, a1, now) >= 0);
        CHECK_OK(pq3_device_send(a1->d, b1->handle, (const uint8_t *)"twice?", 6, now, &n, NULL));
        CHECK_OK(pq3_device_outbox(a1->d, 0, env, 16, &n));
        CHECK(n == 4);
        for (uint32_t i = 0; i < n; i++) {
            df_device *r = df_find(&W, env[i].to_device);
            if (r != b1)
                continue;
            CHECK(env[i].msg_len <= sizeof copy);
            memcpy(copy, env[i].msg, env[i].msg_len);
            CHECK_OK(pq3_device_whoami(a1->d, &me));
            in.from_handle = a1->handle;
            memcpy(in.from_device, me.device_id, PQ3_DEVICE_ID_BYTES);
            in.msg = copy;
            in.msg_len = env[i].msg_len;
            /* From a handle we do not know: refused, not marked seen. */
            in.from_handle = "mailto:nobody@example.org";
            CHECK_OK(pq3_device_receive(b1->d, &in, 1, now, res));
            CHECK(res[0].err == PQ3_ERR_UNKNOWN && !res[0].duplicate);
            in.from_handle = a1->handle;
            {
                pq3_incoming two[2] = {in, in};
                CHECK_OK(pq3_device_receive(b1->d, two, 2, now, res));
                CHECK(res[0].err == PQ3_OK && !res[0].duplicate && res[0].inbox_id > 0);
                CHECK(res[1].err == PQ3_OK && res[1].duplicate);
            }
            CHECK_OK(pq3_device_receive(b1->d, &in, 1, now, res));
            CHECK(res[0].duplicate);
            /* A flipped byte: dropped with an error, nothing changes. */
            copy[env[i].msg_len / 2] ^= 0x40;
            CHECK_OK(pq3_device_receive(b1->d, &in, 1, now, res));
            CHECK(res[0].err != PQ3_OK && !res[0].duplicate && res[0].inbox_id == 0);
        }
        CHECK(df_inbox_count(b1, PQ3_INBOX_MESSAGE, "twice?") == 1);
        /* The rest of the outbox still goes (b1 sees the same bytes: dup). */
        CHECK(df_deliver(&W, a1, now) >= 4);
        CHECK(df_inbox_count(b1, PQ3_INBOX_MESSAGE, "twice?") == 1);
        CHECK(df_inbox_count(b2, PQ3_INBOX_MESSAGE, "twice?") == 1);
    }

    /* Remove b3: alice learns it, and b3 no longer receives. */
    {
        pq3_device_self s3;
        uint8_t old_list[PQ3_DEVICE_LIST_MAX_BYTES];
        size_t old_len = b1->list_len;
        memcpy(old_list, b1->list, old_len);
        CHECK_OK(pq3_device_whoami(b3->d, &s3));
        CHECK_ERR(pq3_device_remove(b1->d, &bob_signer, (const uint8_t *)"0123456789abcdef", now),
                  PQ3_ERR_UNKNOWN);
        CHECK_OK(pq3_device_remove(b1->d, &bob_signer, s3.device_id, now));
        CHECK_OK(df_publish(b1, now));
        CHECK_OK(df_learn(&W, a1, b1->handle, now, &rep));
        CHECK(rep.removed == 1 && rep.added == 0 && !rep.key_changed);
        CHECK_OK(pq3_device_send(a1->d, b1->handle, (const uint8_t *)"two now", 7, now, &n, NULL));
        CHECK(n == 3);
        /* b3 is told by its own account's list that it is out. */
        CHECK_ERR(df_learn(&W, b3, b1->handle, now, &rep), PQ3_ERR_STATE);
        CHECK(df_deliver(&W, a1, now) == 3);
        /* Rollback: the directory serves the older list. */
        {
            pq3_directory_entry e;
            CHECK(df_lookup(&W, b1->handle, &e) == 0);
            /* ... as it was: the old list with every old certificate. */
            e.device_list = old_list;
            e.device_list_len = old_len;
            e.certs[e.n_devices] = b3->cert;
            e.cert_lens[e.n_devices] = b3->cert_len;
            e.bundles[e.n_devices] = NULL;
            e.n_devices++;
            CHECK_ERR(pq3_device_learn(a1->d, b1->handle, &e, now, &rep), PQ3_ERR_REPLAY);
        }
    }

    /* A device certificate signed by another account key is refused, and a
     * list of the same version with other contents too. */
    {
        pq3_directory_entry e;
        pq3_device_cert c;
        uint8_t forged[PQ3_CERT_MAX_BYTES], list2[PQ3_DEVICE_LIST_MAX_BYTES];
        size_t flen, l2len;
        pq3_device_list l;
        CHECK(df_lookup(&W, b1->handle, &e) == 0);
        CHECK_OK(pq3_cert_decode(&c, e.certs[0], e.cert_lens[0]));
        CHECK_OK(pq3_cert_issue(forged, sizeof forged, &flen, &c, &mallory_signer));
        e.certs[0] = forged;
        e.cert_lens[0] = flen;
        CHECK_ERR(pq3_device_learn(a1->d, b1->handle, &e, now, &rep), PQ3_ERR_VERIFY);
        /* Equivocation: same version, one more device (signed by bob's key,
         * as a compromised directory cannot; this checks the client's rule). */
        CHECK(df_lookup(&W, b1->handle, &e) == 0);
        CHECK_OK(pq3_device_list_decode(&l, e.device_list, e.device_list_len));
        l.created++;
        CHECK_OK(pq3_device_list_sign(list2, sizeof list2, &l2len, &l, &bob_signer));
        e.device_list = list2;
        e.device_list_len = l2len;
        CHECK_ERR(pq3_device_learn(a1->d, b1->handle, &e, now, &rep), PQ3_ERR_VERIFY);
        /* The directory drops a device from the list without the account
         * key: the signature fails. */
        CHECK(df_lookup(&W, b1->handle, &e) == 0);
        memcpy(list2, e.device_list, e.device_list_len);
        list2[e.device_list_len - 70] ^= 1;
        e.device_list = list2;
        CHECK(pq3_device_learn(a1->d, b1->handle, &e, now, &rep) != PQ3_OK);
    }

    /* The contact's account key changes: reported, sending stops until
     * accepted. */
    {
        df_device *n1;
        CHECK_OK(pq3_device_mark_verified(a1->d, b1->handle));
        n1 = df_new(&W, "bnew", "mailto:bob@example.org");
        CHECK_OK(pq3_device_create_account(n1->d, n1->handle, &mallory_signer, now));
        CHECK_OK(df_publish(n1, now));
        /* n1's list is version 1: make the directory serve only it. */
        b1->published = b2->published = b3->published = 0;
        CHECK_OK(df_learn(&W, a1, b1->handle, now, &rep));
        CHECK(rep.key_changed && rep.was_verified);
        CHECK_ERR(pq3_device_send(a1->d, b1->handle, (const uint8_t *)"x", 1, now, &n, NULL),
                  PQ3_ERR_STATE);
        CHECK(strstr(pq3_device_error(a1->d), "changed") != NULL);
        CHECK_OK(pq3_device_accept_key(a1->d, b1->handle, now));
        CHECK_OK(df_learn(&W, a1, b1->handle, now, &rep));
        CHECK_OK(pq3_device_contact(a1->d, b1->handle, &info));
        CHECK(!info.verified && info.n_devices == 1);
        CHECK_OK(df_learn(&W, n1, a1->handle, now, &rep));
        CHECK_OK(pq3_device_send(a1->d, b1->handle, (const uint8_t *)"new bob", 7, now, &n, NULL));
        CHECK(n == 2);
        CHECK(df_deliver(&W, a1, now) == 2);
        CHECK(df_inbox_count(n1, PQ3_INBOX_MESSAGE, "new bob") == 1);
        b1->published = b2->published = 1;
    }

    /* Prekeys: rotation on schedule, erasure after the grace window. */
    {
        int made;
        uint32_t erased;
        CHECK_OK(pq3_device_rotate_prekeys(b2->d, now + 3600, 0, &made, &erased));
        CHECK(!made && erased == 0);
        CHECK_OK(pq3_device_rotate_prekeys(b2->d, now + 7 * 86400, 0, &made, &erased));
        CHECK(made && erased == 0);
        CHECK(sql_int(b2->path, "SELECT count(*) FROM prekeys") == 2);
        CHECK_OK(pq3_device_rotate_prekeys(b2->d, now + 16 * 86400, 0, &made, &erased));
        CHECK(made && erased == 1);
        CHECK(sql_int(b2->path, "SELECT count(*) FROM prekeys") == 2);
    }

    /* Bad stores. */
    {
        df_device *x = b2;
        int64_t before;
        /* A flipped byte in a stored session: a clear error, nothing lost. */
        df_close(x);
        before = sql_int(x->path, "SELECT count(*) FROM outbox");
        CHECK(sql_exec(x->path, "UPDATE peer_sessions SET state = "
                                "substr(state, 1, 100) || x'ff' || substr(state, 102)") == 0);
        CHECK_OK(df_open(&W, x));
        CHECK(pq3_device_send(x->d, a1->handle, (const uint8_t *)"x", 1, now, &n, NULL) != PQ3_OK);
        CHECK(strstr(pq3_device_error(x->d), "damaged") != NULL);
        CHECK(sql_int(x->path, "SELECT count(*) FROM outbox") == before);
        /* A newer schema. */
        df_close(x);
        CHECK(sql_exec(x->path, "PRAGMA user_version = 99") == 0);
        CHECK_ERR(pq3_device_open(&x->d, x->path, &x->signer, &W.cfg), PQ3_ERR_VERSION);
        CHECK(strstr(pq3_device_open_error(), "newer") != NULL);
        CHECK(sql_exec(x->path, "PRAGMA user_version = 1") == 0);
        /* Another device's key on this store. */
        CHECK_ERR(pq3_device_open(&x->d, x->path, &a1->signer, &W.cfg), PQ3_ERR_KEY);
        /* Not a database. */
        {
            char p[600];
            FILE *f;
            snprintf(p, sizeof p, "%s/garbage.db", W.dir);
            f = fopen(p, "w");
            fputs("this is not a database, just some text that is long enough........", f);
            fclose(f);
            CHECK_ERR(pq3_device_open(&x->d, p, &x->signer, &W.cfg), PQ3_ERR_IO);
        }
    }

    /* A full disk (a page quota: SQLITE_FULL): the send fails with a clear
     * error, nothing is queued, no session moves; with room again it goes. */
    {
        df_device *x = a2;
        pq3_device_config cfg = W.cfg;
        static uint8_t big[50000];
        int64_t before, pages;
        df_close(x);
        pages = sql_int(x->path, "PRAGMA page_count");
        before = sql_int(x->path, "SELECT count(*) FROM outbox");
        CHECK(pages > 0);
        cfg.max_pages = (uint32_t)pages + 2;
        CHECK_OK(pq3_device_open(&x->d, x->path, &x->signer, &cfg));
        memset(big, 'z', sizeof big);
        CHECK_ERR(pq3_device_send(x->d, b1->handle, big, sizeof big, now, &n, NULL), PQ3_ERR_IO);
        CHECK(strstr(pq3_device_error(x->d), "full") != NULL);
        df_close(x);
        CHECK(sql_int(x->path, "SELECT count(*) FROM outbox") == before);
        CHECK(sql_int(x->path, "PRAGMA integrity_check") == -1 ||
              sql_int(x->path, "SELECT 1") == 1);
        CHECK_OK(df_open(&W, x));
        CHECK_OK(pq3_device_send(x->d, b1->handle, big, sizeof big, now, &n, NULL));
        CHECK(n >= 1);
    }

    /* A locked store: another process holds the write lock. */
    {
        df_device *x = a2;
        pid_t pid;
        int fds[2];
        char c;
        CHECK(pipe(fds) == 0);
        pid = fork();
        if (pid == 0) {
            sqlite3 *db;
            sqlite3_open(x->path, &db);
            sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
            if (write(fds[1], "x", 1) != 1)
                _exit(1);
            sleep(3);
            _exit(0);
        }
        CHECK(read(fds[0], &c, 1) == 1);
        {
            pq3_device_config cfg = W.cfg;
            pq3_device *d2;
            cfg.busy_timeout_ms = 200;
            CHECK_ERR(pq3_device_open(&d2, x->path, &x->signer, &cfg), PQ3_ERR_IO);
            CHECK(strstr(pq3_device_open_error(), "lock") != NULL ||
                  strstr(pq3_device_open_error(), "busy") != NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fds[0]);
        close(fds[1]);
    }

    df_cleanup(&W);
    pq3_soft_key_wipe(&alice_acct);
    pq3_soft_key_wipe(&bob_acct);
    pq3_soft_key_wipe(&mallory_acct);
    return pq3t_finish();
}
