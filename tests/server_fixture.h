/*
 * Server test fixture (header-only, static): real pq3d processes on
 * loopback ports (`pq3d init` + `pq3d run`, a free port chosen by the
 * kernel and read back from DIR/pq3d.ports), and devices of the device
 * layer talking to them through the client library (src/client).
 */
#ifndef PQ3_SERVER_FIXTURE_H
#define PQ3_SERVER_FIXTURE_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "device_fixture.h"
#include "pq3/client.h"

#define SF_NAME "test.pq3"

typedef struct sf_server {
    char dir[1024];
    pid_t pid;
    uint16_t port, metrics_port;
    uint8_t pin[32];
} sf_server;

static inline const char *sf_pq3d(void)
{
    static char path[600];
    const char *env = getenv("PQ3D");
    if (env != NULL)
        return env;
    snprintf(path, sizeof path, "%s/pq3d",
             getenv("PQ3_BINARY_DIR") ? getenv("PQ3_BINARY_DIR") : ".");
    return path;
}

static inline uint64_t sf_now(void)
{
    return (uint64_t)time(NULL);
}

static inline uint64_t sf_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void sf_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Runs argv to completion, its output to /dev/null (stderr kept when
 * `quiet` is 0). Returns its exit status, -1 if it did not exit. */
static inline int sf_run(char *const argv[], int quiet)
{
    int st;
    pid_t pid = fork();
    if (pid == 0) {
        FILE *n = freopen("/dev/null", "w", stdout);
        (void)n;
        if (quiet) {
            n = freopen("/dev/null", "w", stderr);
            (void)n;
        }
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* `pq3d init DIR` with a kernel-chosen port; store NULL: SQLite in DIR;
 * extra: lines appended to pq3d.conf (may be NULL). */
static inline int sf_init(sf_server *s, const char *dir, const char *store, const char *node,
                          const char *extra)
{
    char *argv[16];
    int n = 0;
    char conf[1100];
    FILE *f;
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    argv[n++] = (char *)sf_pq3d();
    argv[n++] = "init";
    argv[n++] = s->dir;
    argv[n++] = "--name";
    argv[n++] = SF_NAME;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--metrics";
    argv[n++] = "127.0.0.1:0";
    if (store != NULL) {
        argv[n++] = "--store";
        argv[n++] = (char *)store;
    }
    if (node != NULL) {
        argv[n++] = "--node";
        argv[n++] = (char *)node;
    }
    argv[n] = NULL;
    if (sf_run(argv, 0) != 0)
        return -1;
    if (extra != NULL) {
        snprintf(conf, sizeof conf, "%s/pq3d.conf", s->dir);
        f = fopen(conf, "a");
        if (f == NULL)
            return -1;
        fputs(extra, f);
        fclose(f);
    }
    /* The pin: SHA-256 of the certificate's DER. */
    {
        char crt[1100];
        unsigned int len = 32;
        X509 *x;
        snprintf(crt, sizeof crt, "%s/tls.crt", s->dir);
        f = fopen(crt, "r");
        if (f == NULL)
            return -1;
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        if (x == NULL || X509_digest(x, EVP_sha256(), s->pin, &len) != 1) {
            X509_free(x);
            return -1;
        }
        X509_free(x);
    }
    return 0;
}

/* Starts `pq3d run DIR` and waits until it listens (10 s). Its log goes to
 * DIR/pq3d.log. */
static inline int sf_start(sf_server *s)
{
    char ports[1100], log[1100];
    snprintf(ports, sizeof ports, "%s/pq3d.ports", s->dir);
    snprintf(log, sizeof log, "%s/pq3d.log", s->dir);
    unlink(ports);
    s->pid = fork();
    if (s->pid == 0) {
        FILE *l = freopen(log, "a", stderr);
        (void)l;
        execl(sf_pq3d(), sf_pq3d(), "run", s->dir, (char *)NULL);
        _exit(127);
    }
    if (s->pid < 0)
        return -1;
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(ports, "r");
        int st;
        if (f != NULL) {
            unsigned lp = 0, mp = 0;
            long pid = 0;
            int got = fscanf(f, "listen %u\nmetrics %u\npid %ld", &lp, &mp, &pid);
            fclose(f);
            if (got == 3 && pid == (long)s->pid) {
                s->port = (uint16_t)lp;
                s->metrics_port = (uint16_t)mp;
                return 0;
            }
        }
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            fprintf(stderr, "pq3d exited at start; see %s\n", log);
            s->pid = 0;
            return -1;
        }
        sf_sleep_ms(10);
    }
    return -1;
}

/* Sends sig and waits for the process. Returns its exit code, 128+signal
 * when killed, -1 on error. */
static inline int sf_stop(sf_server *s, int sig)
{
    int st;
    if (s->pid <= 0)
        return -1;
    kill(s->pid, sig);
    if (waitpid(s->pid, &st, 0) != s->pid)
        return -1;
    s->pid = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

static inline pq3_client_config sf_config(const sf_server *s)
{
    pq3_client_config c;
    memset(&c, 0, sizeof c);
    c.host = "127.0.0.1";
    c.port = s->port;
    c.server_name = SF_NAME;
    memcpy(c.pin, s->pin, 32);
    c.timeout_ms = 10000;
    return c;
}

/* Connects device x (active in the device layer) and authenticates. */
static inline pq3_err sf_connect(const sf_server *s, df_device *x, pq3_client **c,
                                 pq3_wire_auth_result *res)
{
    pq3_client_config cfg = sf_config(s);
    pq3_client_identity id;
    pq3_device_self me;
    pq3_directory_entry e;
    char handle[PQ3_HANDLE_MAX + 1];
    pq3_err err;

    if ((err = pq3_device_whoami(x->d, &me)) != PQ3_OK ||
        (err = pq3_device_publication(x->d, sf_now(), &e)) != PQ3_OK)
        return err;
    memcpy(handle, me.handle, me.handle_len);
    handle[me.handle_len] = 0;
    memset(&id, 0, sizeof id);
    id.handle = handle;
    memcpy(id.device_id, me.device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(id.account_pub, me.account_pub, PQ3_ECDSA_PUB_BYTES);
    id.cert = e.certs[0];
    id.cert_len = e.cert_lens[0];
    id.signer = &x->signer;
    err = pq3_client_connect(c, &cfg, &id, sf_now(), res);
    return err;
}

/* Puts x's account on the server as it stands now: REGISTER when the
 * handle is new, PUBLISH_LIST when x is not listed yet, then its bundle. */
static inline pq3_err sf_publish(pq3_client *c, df_device *x, uint8_t state)
{
    pq3_directory_entry e;
    pq3_err err = pq3_device_publication(x->d, sf_now(), &e);
    if (err != PQ3_OK)
        return err;
    if (state == PQ3_WIRE_UNREGISTERED)
        err = pq3_client_register(c, e.device_list, e.device_list_len, NULL, 0);
    else if (state == PQ3_WIRE_PENDING)
        err = pq3_client_publish_list(c, e.device_list, e.device_list_len, NULL, NULL, 0);
    if (err != PQ3_OK)
        return err;
    if (e.bundles[0] != NULL)
        err = pq3_client_put_bundle(c, e.bundles[0], e.bundle_lens[0]);
    return err;
}

/* Connects and publishes in one go. */
static inline pq3_err sf_online(const sf_server *s, df_device *x, pq3_client **c)
{
    pq3_wire_auth_result r;
    pq3_err err = sf_connect(s, x, c, &r);
    if (err != PQ3_OK)
        return err;
    err = sf_publish(*c, x, r.state);
    if (err != PQ3_OK) {
        pq3_client_free(*c);
        *c = NULL;
    }
    return err;
}

/* Looks `handle` up through the server and lets the device layer check
 * and learn it. */
static inline pq3_err sf_learn(pq3_client *c, df_device *x, const char *handle,
                               pq3_contact_report *rep)
{
    pq3_wire_lookup_result r;
    pq3_directory_entry e;
    pq3_contact_report dummy;
    pq3_err err = pq3_client_lookup(c, handle, &r);
    if (err != PQ3_OK)
        return err;
    memset(&e, 0, sizeof e);
    memcpy(e.account_pub, r.account_pub, PQ3_ECDSA_PUB_BYTES);
    e.device_list = r.list.p;
    e.device_list_len = r.list.len;
    e.n_devices = r.count;
    for (uint32_t i = 0; i < r.count; i++) {
        e.certs[i] = r.certs[i].p;
        e.cert_lens[i] = r.certs[i].len;
        e.bundles[i] = r.bundles[i].len ? r.bundles[i].p : NULL;
        e.bundle_lens[i] = r.bundles[i].len;
    }
    return pq3_device_learn(x->d, handle, &e, sf_now(), rep != NULL ? rep : &dummy);
}

/* Sends x's whole outbox (batches of up to 64 envelopes), deleting what the
 * server acknowledged. Returns envelopes sent, -1 on error. */
static inline int sf_flush(pq3_client *c, df_device *x)
{
    pq3_envelope env[PQ3_WIRE_MAX_SEND];
    pq3_wire_envelope w[PQ3_WIRE_MAX_SEND];
    uint8_t st[PQ3_WIRE_MAX_SEND];
    uint32_t n;
    int total = 0;
    int64_t after = 0;
    for (;;) {
        if (pq3_device_outbox(x->d, after, env, PQ3_WIRE_MAX_SEND, &n) != PQ3_OK)
            return -1;
        if (n == 0)
            return total;
        for (uint32_t i = 0; i < n; i++) {
            w[i].to_handle.p = env[i].to_handle;
            w[i].to_handle.len = env[i].to_handle_len;
            memcpy(w[i].to_device, env[i].to_device, PQ3_DEVICE_ID_BYTES);
            /* msg_id (SERVER.md §5.6): the first 16 bytes of SHA-256 of the
             * envelope, the same when the outbox sends it again. */
            {
                uint8_t md[32];
                unsigned int mdlen = 32;
                EVP_Digest(env[i].msg, env[i].msg_len, md, &mdlen, EVP_sha256(), NULL);
                memcpy(w[i].msg_id, md, 16);
            }
            w[i].msg.p = env[i].msg;
            w[i].msg.len = env[i].msg_len;
        }
        if (pq3_client_send(c, w, (uint16_t)n, st) != PQ3_OK) {
            fprintf(stderr, "send: %s (%s %s)\n", pq3_client_error(c),
                    pq3_wire_status_name(pq3_client_status(c)), pq3_client_reason(c));
            return -1;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (st[i] != PQ3_ST_OK)
                return -1;
            if (pq3_device_outbox_done(x->d, env[i].id) != PQ3_OK)
                return -1;
            after = env[i].id;
        }
        total += (int)n;
    }
}

/* Takes pushed envelopes (waiting up to timeout_ms for the first, then
 * whatever else is there), opens them in one batch, acknowledges them.
 * Returns how many envelopes were taken, -1 on error. *kem (may be NULL)
 * += ML-KEM steps completed. */
static inline int sf_receive(pq3_client *c, df_device *x, int timeout_ms, int *kem)
{
    enum { MAX = 64 };
    pq3_wire_deliver d;
    pq3_incoming in[MAX];
    pq3_received res[MAX];
    uint64_t ids[MAX];
    uint8_t *msgs[MAX];
    char handles[MAX][PQ3_HANDLE_MAX + 1];
    int n = 0, rc;
    pq3_err err;

    while (n < MAX) {
        err = pq3_client_next(c, &d, n == 0 ? timeout_ms : 0);
        if (err == PQ3_ERR_UNKNOWN)
            break;
        if (err != PQ3_OK)
            goto fail;
        msgs[n] = malloc(d.msg.len);
        if (msgs[n] == NULL)
            goto fail;
        memcpy(msgs[n], d.msg.p, d.msg.len);
        memcpy(handles[n], d.from_handle.p, d.from_handle.len);
        handles[n][d.from_handle.len] = 0;
        in[n].from_handle = handles[n];
        memcpy(in[n].from_device, d.from_device, PQ3_DEVICE_ID_BYTES);
        in[n].msg = msgs[n];
        in[n].msg_len = d.msg.len;
        ids[n] = d.queue_id;
        n++;
    }
    rc = n;
    if (n > 0) {
        if (pq3_device_receive(x->d, in, (size_t)n, sf_now(), res) != PQ3_OK)
            rc = -1;
        else {
            for (int i = 0; i < n; i++)
                if (kem != NULL && res[i].kem_completed)
                    (*kem)++;
            if (pq3_client_ack(c, ids, (uint16_t)n) != PQ3_OK)
                rc = -1;
        }
    }
    for (int i = 0; i < n; i++)
        free(msgs[i]);
    return rc;
fail:
    for (int i = 0; i < n; i++)
        free(msgs[i]);
    return -1;
}

#endif
