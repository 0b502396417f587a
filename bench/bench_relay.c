/*
 * pq3d end to end on loopback (docs/SERVER.md): N devices connected and
 * authenticated; sender threads send batches of 300-byte envelopes to random
 * devices; a receiver thread takes the pushes on all N connections and
 * acknowledges them (pipelined). Measured: envelopes per second through the
 * whole cycle (send acknowledged durably -> pushed -> acknowledged ->
 * deleted), and the latency from the send call to the push arriving, p50 and
 * p99, closed loop and open loop at half the closed-loop rate. Then the
 * server's resident memory per idle authenticated TLS connection.
 *
 * Usage: bench_relay [--devices N] [--seconds S] [--idle M] [--store URL]
 * (defaults 1000, 5, 10000, SQLite in a temporary directory). Finds pq3d
 * in $PQ3D or beside itself. A benchmark: it prints, it does not judge.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "benchutil.h"
#include "pq3/account.h"
#include "pq3/client.h"

#define BODY 300
#define SENDERS 4
#define BATCH 16

typedef struct ident {
    char handle[32];
    pq3_soft_key acct, dev;
    pq3_signer acct_s, dev_s;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t cert[PQ3_CERT_MAX_BYTES];
    size_t cert_len;
    uint8_t list[PQ3_DEVICE_LIST_MAX_BYTES];
    size_t list_len;
    pq3_client *c;
} ident;

static char pq3d_path[1024], dir[256];
static pid_t server_pid;
static pq3_client_config ccfg;
static ident *devs, senders[SENDERS];
static int n_devs = 1000;
static atomic_int running, receiving, open_loop_rate;
static atomic_ullong sent, received;
static uint64_t *lat;                  /* latencies in µs */
static atomic_ullong n_lat;
static size_t lat_cap;

static uint64_t now_s(void)
{
    return (uint64_t)time(NULL);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_relay: %s\n", what);
    if (server_pid > 0)
        kill(server_pid, SIGKILL);
    exit(1);
}

static void make_ident(ident *x, const char *handle)
{
    pq3_device_cert cert;
    pq3_device_list list;
    uint64_t now = now_s();
    memset(x, 0, sizeof *x);
    snprintf(x->handle, sizeof x->handle, "%s", handle);
    if (pq3_soft_key_generate(&x->acct, NULL) != PQ3_OK ||
        pq3_soft_key_generate(&x->dev, NULL) != PQ3_OK ||
        pq3_soft_signer(&x->acct_s, &x->acct) != PQ3_OK ||
        pq3_soft_signer(&x->dev_s, &x->dev) != PQ3_OK ||
        pq3_random(NULL, x->device_id, sizeof x->device_id) != PQ3_OK)
        die("keys");
    memset(&cert, 0, sizeof cert);
    cert.handle_len = (uint8_t)strlen(handle);
    memcpy(cert.handle, handle, cert.handle_len);
    memcpy(cert.device_id, x->device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(cert.auth_pub, x->dev.pub, PQ3_ECDSA_PUB_BYTES);
    cert.versions[0] = 1;
    cert.n_versions = 1;
    cert.created = now - 60;
    cert.expires = now + 30 * 86400;
    if (pq3_cert_issue(x->cert, sizeof x->cert, &x->cert_len, &cert, &x->acct_s) != PQ3_OK)
        die("certificate");
    memset(&list, 0, sizeof list);
    list.handle_len = cert.handle_len;
    memcpy(list.handle, handle, cert.handle_len);
    list.version = 1;
    list.created = now;
    list.count = 1;
    memcpy(list.devices[0].device_id, x->device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(list.devices[0].auth_pub, x->dev.pub, PQ3_ECDSA_PUB_BYTES);
    if (pq3_device_list_sign(x->list, sizeof x->list, &x->list_len, &list, &x->acct_s) != PQ3_OK)
        die("device list");
}

static void online(ident *x)
{
    pq3_client_identity id;
    pq3_wire_auth_result r;
    memset(&id, 0, sizeof id);
    id.handle = x->handle;
    memcpy(id.device_id, x->device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(id.account_pub, x->acct.pub, PQ3_ECDSA_PUB_BYTES);
    id.cert = x->cert;
    id.cert_len = x->cert_len;
    id.signer = &x->dev_s;
    if (pq3_client_connect(&x->c, &ccfg, &id, now_s(), &r) != PQ3_OK)
        die("connect");
    if (r.state == PQ3_WIRE_UNREGISTERED &&
        pq3_client_register(x->c, x->list, x->list_len, NULL, 0) != PQ3_OK)
        die(pq3_client_reason(x->c));
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void start_server(const char *store)
{
    char cmd[4096], ports[512];
    snprintf(cmd, sizeof cmd,
             "'%s' init '%s/srv' --name bench.pq3 --listen 127.0.0.1:0 --metrics off %s%s%s "
             ">/dev/null && printf 'rate_conn = 10000000\\nrate_account = 10000000\\n"
             "queue_max = 10000000\\nmax_conns = 1000000\\n' >> '%s/srv/pq3d.conf'",
             pq3d_path, dir, store ? "--store '" : "", store ? store : "", store ? "'" : "",
             dir);
    if (system(cmd) != 0)
        die("pq3d init failed");
    {
        char crt[600];
        unsigned int len = 32;
        FILE *f;
        X509 *x;
        snprintf(crt, sizeof crt, "%s/srv/tls.crt", dir);
        f = fopen(crt, "r");
        x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (x == NULL || X509_digest(x, EVP_sha256(), ccfg.pin, &len) != 1)
            die("certificate pin");
        X509_free(x);
    }
    server_pid = fork();
    if (server_pid == 0) {
        char srvdir[600], log[600];
        snprintf(srvdir, sizeof srvdir, "%s/srv", dir);
        snprintf(log, sizeof log, "%s/srv/pq3d.log", dir);
        if (freopen(log, "a", stderr) == NULL)
            _exit(127);
        execl(pq3d_path, pq3d_path, "run", srvdir, "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    snprintf(ports, sizeof ports, "%s/srv/pq3d.ports", dir);
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(ports, "r");
        unsigned lp, mp;
        long pid;
        if (f != NULL) {
            int got = fscanf(f, "listen %u\nmetrics %u\npid %ld", &lp, &mp, &pid);
            fclose(f);
            if (got == 3 && pid == (long)server_pid) {
                ccfg.port = (uint16_t)lp;
                return;
            }
        }
        usleep(10000);
    }
    die("pq3d did not start");
}

static void *sender_main(void *arg)
{
    ident *x = arg;
    pq3_wire_envelope e[BATCH];
    uint8_t body[BATCH][BODY], st[BATCH];
    uint64_t next_ns = pq3b_nanos();
    unsigned seed = (unsigned)(uintptr_t)arg;

    while (running) {
        int rate = open_loop_rate;
        uint64_t t = pq3b_nanos();
        if (rate > 0) {
            /* Open loop: this sender's share of the rate, in batches. */
            uint64_t gap = (uint64_t)1e9 * BATCH * SENDERS / (uint64_t)rate;
            if (t < next_ns) {
                struct timespec ts = { 0, (long)(next_ns - t) };
                nanosleep(&ts, NULL);
            }
            next_ns += gap;
            t = pq3b_nanos();
        }
        for (int i = 0; i < BATCH; i++) {
            ident *to = &devs[rand_r(&seed) % (unsigned)n_devs];
            uint64_t k = atomic_fetch_add(&sent, 0) * 131 + (uint64_t)i + t;
            memset(&e[i], 0, sizeof e[i]);
            e[i].to_handle.p = (const uint8_t *)to->handle;
            e[i].to_handle.len = strlen(to->handle);
            memcpy(e[i].to_device, to->device_id, PQ3_DEVICE_ID_BYTES);
            memcpy(e[i].msg_id, &k, sizeof k);
            memcpy(e[i].msg_id + 8, &x, sizeof x);
            memset(body[i], 0x42, BODY);
            memcpy(body[i], &t, sizeof t);
            e[i].msg.p = body[i];
            e[i].msg.len = BODY;
        }
        if (pq3_client_send(x->c, e, BATCH, st) != PQ3_OK)
            die(pq3_client_error(x->c));
        atomic_fetch_add(&sent, BATCH);
    }
    return NULL;
}

static void *receiver_main(void *arg)
{
    struct pollfd *pf = calloc((size_t)n_devs, sizeof *pf);
    (void)arg;
    if (pf == NULL)
        die("memory");
    while (receiving) {
        for (int i = 0; i < n_devs; i++) {
            pf[i].fd = pq3_client_fd(devs[i].c);
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        if (poll(pf, (nfds_t)n_devs, 50) <= 0)
            continue;
        for (int i = 0; i < n_devs; i++) {
            pq3_wire_deliver d;
            uint64_t ids[PQ3_WIRE_WINDOW];
            uint16_t n = 0;
            if (!(pf[i].revents & POLLIN))
                continue;
            while (n < PQ3_WIRE_WINDOW && pq3_client_next(devs[i].c, &d, 0) == PQ3_OK) {
                uint64_t t;
                memcpy(&t, d.msg.p, sizeof t);
                unsigned long long k = atomic_fetch_add(&n_lat, 1);
                if (k < lat_cap)
                    lat[k] = (pq3b_nanos() - t) / 1000u;
                ids[n++] = d.queue_id;
            }
            if (n > 0) {
                if (pq3_client_ack_nowait(devs[i].c, ids, n) != PQ3_OK)
                    die(pq3_client_error(devs[i].c));
                atomic_fetch_add(&received, n);
            }
        }
    }
    free(pf);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One run of `seconds`; rate 0: closed loop. Returns delivered per second. */
static double run(const char *label, int seconds, int rate)
{
    pthread_t ts[SENDERS], tr;
    uint64_t t0, t1, s0, r0;
    unsigned long long nl;
    double per_s;

    atomic_store(&n_lat, 0);
    open_loop_rate = rate;
    running = 1;
    receiving = 1;
    s0 = sent;
    r0 = received;
    pthread_create(&tr, NULL, receiver_main, NULL);
    for (int i = 0; i < SENDERS; i++)
        pthread_create(&ts[i], NULL, sender_main, &senders[i]);
    t0 = pq3b_nanos();
    sleep((unsigned)seconds);
    running = 0;
    t1 = pq3b_nanos();
    uint64_t r1 = received;
    for (int i = 0; i < SENDERS; i++)
        pthread_join(ts[i], NULL);
    per_s = (double)(r1 - r0) / ((double)(t1 - t0) / 1e9);
    nl = n_lat < lat_cap ? n_lat : lat_cap;
    qsort(lat, nl, sizeof *lat, cmp_u64);
    printf("%-34s %10.0f %10.0f %9.2f %9.2f\n", label,
           (double)(sent - s0) / ((double)(t1 - t0) / 1e9), per_s,
           nl ? (double)lat[nl / 2] / 1000.0 : 0.0, nl ? (double)lat[nl * 99 / 100] / 1000.0 : 0.0);
    /* The receiver drains what is still queued before the next run. */
    sleep(1);
    receiving = 0;
    pthread_join(tr, NULL);
    return per_s;
}

int main(int argc, char **argv)
{
    int seconds = 5, idle = 10000;
    const char *store = NULL;
    struct rlimit rl;
    char cmd[600];

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--devices") == 0)
            n_devs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--idle") == 0)
            idle = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--store") == 0)
            store = argv[i + 1];
    }
    if (getenv("PQ3D") != NULL)
        snprintf(pq3d_path, sizeof pq3d_path, "%s", getenv("PQ3D"));
    else {
        ssize_t n = readlink("/proc/self/exe", pq3d_path, sizeof pq3d_path - 8);
        if (n <= 0)
            die("cannot find pq3d");
        pq3d_path[n] = 0;
        char *slash = strrchr(pq3d_path, '/');
        snprintf(slash + 1, 8, "pq3d");
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    snprintf(dir, sizeof dir, "/tmp/pq3bench.XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("temp dir");
    signal(SIGPIPE, SIG_IGN);
    ccfg.host = "127.0.0.1";
    ccfg.server_name = "bench.pq3";
    ccfg.timeout_ms = 30000;
    start_server(store);
    lat_cap = 20u * 1000u * 1000u;
    lat = malloc(lat_cap * sizeof *lat);
    devs = calloc((size_t)n_devs, sizeof *devs);
    if (lat == NULL || devs == NULL)
        die("memory");

    pq3b_header("pq3d relay on loopback");
    printf("store %s, %d connected devices, %d sender connections, batches of %d, %d-byte "
           "envelopes\n", store ? store : "sqlite", n_devs, SENDERS, BATCH, BODY);
    for (int i = 0; i < n_devs; i++) {
        char h[32];
        snprintf(h, sizeof h, "d%d", i);
        make_ident(&devs[i], h);
        online(&devs[i]);
    }
    for (int i = 0; i < SENDERS; i++) {
        char h[32];
        snprintf(h, sizeof h, "sender%d", i);
        make_ident(&senders[i], h);
        online(&senders[i]);
    }
    printf("%-34s %10s %10s %9s %9s\n", "run", "sent/s", "relayed/s", "p50 ms", "p99 ms");
    double closed = run("closed loop", seconds, 0);
    run("open loop, half the closed rate", seconds, (int)(closed / 2));
    run("open loop, 10,000/s", seconds, 10000);

    /* Memory per idle authenticated connection. */
    if (idle > 0) {
        long before, after;
        ident *extra = calloc((size_t)idle, sizeof *extra);
        if (extra == NULL)
            die("memory");
        sleep(1);
        before = rss_kb(server_pid);
        for (int i = 0; i < idle; i++) {
            char h[32];
            snprintf(h, sizeof h, "idle%d", i);
            make_ident(&extra[i], h);
            online(&extra[i]);
        }
        sleep(2);
        after = rss_kb(server_pid);
        printf("\nidle connections: %d more, server RSS %ld kB -> %ld kB: %.1f KB each\n", idle,
               before, after, (double)(after - before) / idle);
        for (int i = 0; i < idle; i++)
            pq3_client_free(extra[i].c);
        free(extra);
    }
    for (int i = 0; i < n_devs; i++)
        pq3_client_free(devs[i].c);
    for (int i = 0; i < SENDERS; i++)
        pq3_client_free(senders[i].c);
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(lat);
    free(devs);
    return 0;
}
