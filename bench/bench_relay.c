/*
 * pq3d end to end on loopback (docs/SERVER.md), against a real pq3d that
 * this program starts: N devices connected and authenticated; sender
 * threads, each on its own connection, send batches of 300-byte envelopes to
 * random devices; one receiver thread takes the pushes on all N connections
 * and acknowledges them (pipelined, pq3_client_ack_nowait).
 *
 * Measured, per run: envelopes per second through the whole cycle (SEND
 * answered, i.e. durable -> pushed -> ACK sent), the latency from the send
 * (its scheduled time in an open loop, so a sender that falls behind is
 * counted) to the push arriving, p50 and p99, and the CPU that pq3d and this
 * program used. After each run every receiver waits for the answers to its
 * ACKs (pq3_client_sync): the deletes are durable before the next run.
 * Runs: closed loop, open loop at half the closed-loop rate, open loop at
 * 10,000/s. Before them: the server's resident memory per idle
 * authenticated TLS connection, for the N devices and for --idle more.
 *
 * Client and server share this machine's cores: the CPU columns say how
 * they split them.
 *
 * Usage: bench_relay [--devices N] [--seconds S] [--idle M] [--senders K]
 *                    [--batch B] [--store URL]
 * (defaults 1000, 5, 10000, 8, 16, SQLite in a temporary directory; URL
 * "pg" takes $PQ3_PG_CONNINFO). Finds pq3d in $PQ3D or beside itself.
 * A benchmark: it prints, it does not judge.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
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
#define MAX_SENDERS 64
#define CONNECT_THREADS 8
#define LAT_CAP (20u * 1000u * 1000u)

typedef struct ident {
    char handle[40];
    pq3_soft_key acct, dev;
    pq3_signer acct_s, dev_s;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t cert[PQ3_CERT_MAX_BYTES];
    size_t cert_len;
    uint8_t list[PQ3_DEVICE_LIST_MAX_BYTES];
    size_t list_len;
    pq3_client *c;
} ident;

static char pq3d_path[1024], dir[256], prefix[16];
static pid_t server_pid;
static pq3_client_config ccfg;
static ident *devs, senders[MAX_SENDERS];
static int n_devs = 1000, n_senders = 8, batch = 16;
static atomic_int running, receiving, open_loop_rate;
static atomic_ullong sent, refused, received, seq;
static uint16_t metrics_port;
static uint64_t *lat;                  /* latencies in µs, written by the receiver */
static size_t n_lat;

static uint64_t now_s(void)
{
    return (uint64_t)time(NULL);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_relay: %s\n", what);
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        fprintf(stderr, "bench_relay: server log kept in %s/srv/pq3d.log\n", dir);
    }
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

static void drop_ident(ident *x)
{
    pq3_client_free(x->c);
    x->c = NULL;
    pq3_soft_key_wipe(&x->acct);
    pq3_soft_key_wipe(&x->dev);
}

/* Connects, authenticates and (a fresh handle) registers. */
static void online(ident *x)
{
    pq3_client_identity id;
    pq3_wire_auth_result r;
    char msg[400];
    memset(&id, 0, sizeof id);
    id.handle = x->handle;
    memcpy(id.device_id, x->device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(id.account_pub, x->acct.pub, PQ3_ECDSA_PUB_BYTES);
    id.cert = x->cert;
    id.cert_len = x->cert_len;
    id.signer = &x->dev_s;
    if (pq3_client_connect(&x->c, &ccfg, &id, now_s(), &r) != PQ3_OK) {
        snprintf(msg, sizeof msg, "connect %s: %s", x->handle, pq3_client_error(NULL));
        die(msg);
    }
    if (r.state == PQ3_WIRE_UNREGISTERED &&
        pq3_client_register(x->c, x->list, x->list_len, NULL, 0) != PQ3_OK) {
        snprintf(msg, sizeof msg, "register %s: %s", x->handle, pq3_client_error(x->c));
        die(msg);
    }
}

/* Many devices at once: the server commits their registrations in groups. */
typedef struct connect_job {
    ident *arr;
    int n;
    const char *tag;
    atomic_int next;
} connect_job;

static void *connect_main(void *arg)
{
    connect_job *cj = arg;
    for (;;) {
        int i = atomic_fetch_add(&cj->next, 1);
        char h[40];
        if (i >= cj->n)
            return NULL;
        snprintf(h, sizeof h, "%s%s%d", prefix, cj->tag, i);
        make_ident(&cj->arr[i], h);
        online(&cj->arr[i]);
    }
}

static void connect_all(ident *arr, int n, const char *tag)
{
    pthread_t t[CONNECT_THREADS];
    connect_job cj;
    cj.arr = arr;
    cj.n = n;
    cj.tag = tag;
    atomic_init(&cj.next, 0);
    for (int i = 0; i < CONNECT_THREADS; i++)
        if (pthread_create(&t[i], NULL, connect_main, &cj) != 0)
            die("thread");
    for (int i = 0; i < CONNECT_THREADS; i++)
        pthread_join(t[i], NULL);
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

/* User + system CPU of a process, in seconds. */
static double cpu_s(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    p = strrchr(buf, ')');   /* the command name may hold spaces */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                            &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A counter of pq3d's /metrics (SERVER.md §12); -1 when unreadable. */
static double metric(const char *name)
{
    static char buf[65536];
    struct sockaddr_in sa;
    const char *req = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    size_t len = 0, nl = strlen(name);
    double v = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(metrics_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[len] = 0;
    for (char *p = buf; (p = strstr(p, name)) != NULL; p += nl)
        if ((p == buf || p[-1] == '\n') && p[nl] == ' ') {
            v = strtod(p + nl + 1, NULL);
            break;
        }
    return v;
}

/* CPU seconds every process of the machine used (from /proc/stat): what
 * the two measured processes did not use of it was someone else's. */
static double machine_cpu_s(void)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    int got;
    if (f == NULL)
        return 0;
    got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (got != 8)
        return 0;
    /* user nice system (idle iowait) irq softirq steal */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static void start_server(const char *store)
{
    char cmd[4096], ports[512];
    snprintf(cmd, sizeof cmd,
             "'%s' init '%s/srv' --name bench.pq3 --listen 127.0.0.1:0 --metrics 127.0.0.1:0 %s%s%s "
             ">/dev/null && printf 'rate_conn = 10000000\\nrate_account = 10000000\\n"
             "queue_max = 10000000\\nmax_conns = 1000000\\nidle_timeout = 86400\\n"
             "auth_timeout = 120\\n' >> '%s/srv/pq3d.conf'",
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
    if (server_pid < 0)
        die("fork");
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
                metrics_port = (uint16_t)mp;
                return;
            }
        }
        if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
            server_pid = 0;
            die("pq3d exited while starting (see its log)");
        }
        usleep(10000);
    }
    die("pq3d did not start");
}

static void *sender_main(void *arg)
{
    ident *x = arg;
    pq3_wire_envelope e[PQ3_WIRE_MAX_SEND];
    uint8_t body[PQ3_WIRE_MAX_SEND][BODY], st[PQ3_WIRE_MAX_SEND];
    uint64_t next_ns = pq3b_nanos();
    uint64_t me = (uint64_t)(x - senders);
    unsigned seed = (unsigned)me * 7919u + 1u;

    for (int i = 0; i < batch; i++)
        memset(body[i], 0x42, BODY);
    while (running) {
        int rate = open_loop_rate;
        uint64_t stamp = pq3b_nanos();
        uint64_t ok = 0, bad = 0;
        if (rate > 0) {
            /* Open loop: this sender's share of the rate, in batches; the
             * stamp is when the batch was due, not when it went out. */
            uint64_t gap = (uint64_t)1000000000u * (uint64_t)batch * (uint64_t)n_senders /
                           (uint64_t)rate;
            if (stamp < next_ns) {
                struct timespec ts;
                uint64_t d = next_ns - stamp;
                ts.tv_sec = (time_t)(d / 1000000000u);
                ts.tv_nsec = (long)(d % 1000000000u);
                nanosleep(&ts, NULL);
            }
            stamp = next_ns;
            next_ns += gap;
            if (!running)
                break;
        }
        for (int i = 0; i < batch; i++) {
            ident *to = &devs[rand_r(&seed) % (unsigned)n_devs];
            uint64_t k = atomic_fetch_add(&seq, 1);
            memset(&e[i], 0, sizeof e[i]);
            e[i].to_handle.p = (const uint8_t *)to->handle;
            e[i].to_handle.len = strlen(to->handle);
            memcpy(e[i].to_device, to->device_id, PQ3_DEVICE_ID_BYTES);
            memcpy(e[i].msg_id, &k, sizeof k);          /* unique: no duplicates */
            memcpy(e[i].msg_id + 8, &me, sizeof me);
            memcpy(body[i], &stamp, sizeof stamp);
            e[i].msg.p = body[i];
            e[i].msg.len = BODY;
        }
        if (pq3_client_send(x->c, e, (uint16_t)batch, st) != PQ3_OK)
            die(pq3_client_error(x->c));
        for (int i = 0; i < batch; i++) {
            if (st[i] == PQ3_ST_OK)
                ok++;
            else
                bad++;
        }
        atomic_fetch_add(&sent, ok);
        if (bad > 0)
            atomic_fetch_add(&refused, bad);
    }
    return NULL;
}

/* Takes every push a device has (read or readable), acknowledging them
 * without waiting, until nothing more is there now. */
static void drain_device(ident *x)
{
    for (;;) {
        pq3_wire_deliver d;
        uint64_t ids[PQ3_WIRE_WINDOW];
        uint16_t n = 0;
        pq3_err err = PQ3_OK;
        while (n < PQ3_WIRE_WINDOW && (err = pq3_client_next(x->c, &d, 0)) == PQ3_OK) {
            uint64_t t;
            memcpy(&t, d.msg.p, sizeof t);
            if (n_lat < LAT_CAP)
                lat[n_lat++] = (pq3b_nanos() - t) / 1000u;
            ids[n++] = d.queue_id;
        }
        if (err != PQ3_OK && err != PQ3_ERR_UNKNOWN)
            die(pq3_client_error(x->c));
        if (n == 0)
            return;
        if (pq3_client_ack_nowait(x->c, ids, n) != PQ3_OK)
            die(pq3_client_error(x->c));
        atomic_fetch_add(&received, n);
    }
}

static void *receiver_main(void *arg)
{
    struct pollfd *pf = calloc((size_t)n_devs, sizeof *pf);
    (void)arg;
    if (pf == NULL)
        die("memory");
    for (int i = 0; i < n_devs; i++) {
        pf[i].fd = pq3_client_fd(devs[i].c);
        pf[i].events = POLLIN;
    }
    while (receiving) {
        if (poll(pf, (nfds_t)n_devs, 20) <= 0)
            continue;
        for (int i = 0; i < n_devs; i++) {
            if (pf[i].revents == 0)
                continue;
            pf[i].revents = 0;
            /* Drained to the end each time (pq3_client_fd: what was read
             * already does not make the socket readable again). */
            drain_device(&devs[i]);
        }
    }
    free(pf);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(double q)
{
    size_t i;
    if (n_lat == 0)
        return 0;
    i = (size_t)(q * (double)(n_lat - 1) + 0.5);
    return (double)lat[i] / 1000.0;
}

/* One run of `seconds`; rate 0: closed loop. Returns relayed per second. */
static double run(const char *label, int seconds, int rate)
{
    pthread_t ts[MAX_SENDERS], tr;
    uint64_t t0, t1, s0, r0, r1, f0, tw;
    double per_s, cs0, cs1, cb0, cb1, co0, co1, wall, cm0, cm1;
    char offered[32];

    n_lat = 0;
    open_loop_rate = rate;
    running = 1;
    receiving = 1;
    s0 = sent;
    r0 = received;
    f0 = refused;
    cs0 = cpu_s(server_pid);
    cb0 = cpu_s(getpid());
    co0 = machine_cpu_s();
    cm0 = metric("pq3d_commits_total");
    if (pthread_create(&tr, NULL, receiver_main, NULL) != 0)
        die("thread");
    for (int i = 0; i < n_senders; i++)
        if (pthread_create(&ts[i], NULL, sender_main, &senders[i]) != 0)
            die("thread");
    t0 = pq3b_nanos();
    sleep((unsigned)seconds);
    t1 = pq3b_nanos();
    r1 = received;
    cs1 = cpu_s(server_pid);
    cb1 = cpu_s(getpid());
    co1 = machine_cpu_s();
    cm1 = metric("pq3d_commits_total");
    running = 0;
    for (int i = 0; i < n_senders; i++)
        pthread_join(ts[i], NULL);
    /* Everything sent is relayed before the next run starts. */
    tw = pq3b_nanos();
    while (received < sent && pq3b_nanos() - tw < 120000000000u)
        usleep(10000);
    receiving = 0;
    pthread_join(tr, NULL);
    for (int i = 0; i < n_devs; i++)
        if (pq3_client_sync(devs[i].c) != PQ3_OK)
            die(pq3_client_error(devs[i].c));
    if (received != sent)
        fprintf(stderr, "bench_relay: %s: %llu sent, %llu relayed after 120 s\n", label,
                (unsigned long long)sent, (unsigned long long)received);

    wall = (double)(t1 - t0) / 1e9;
    per_s = (double)(r1 - r0) / wall;
    qsort(lat, n_lat, sizeof *lat, cmp_u64);
    if (rate > 0)
        snprintf(offered, sizeof offered, "%d", rate);
    else
        snprintf(offered, sizeof offered, "-");
    printf("%-24s %9s %9.0f %10.0f %9.2f %9.2f %8.0f%% %8.0f%% %9.0f%% %9.0f\n", label,
           offered, (double)(sent - s0) / wall, per_s, pct_ms(0.50), pct_ms(0.99),
           100.0 * (cs1 - cs0) / wall, 100.0 * (cb1 - cb0) / wall,
           /* the three clocks tick apart: a small negative remainder is 0 */
           100.0 * fmax(0.0, (co1 - co0) - (cs1 - cs0) - (cb1 - cb0)) / wall,
           cm0 >= 0 && cm1 >= 0 ? (cm1 - cm0) / wall : -1.0);
    if (refused != f0)
        printf("  (%llu envelopes refused by the server)\n", (unsigned long long)(refused - f0));
    fflush(stdout);
    return per_s;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    /* Root may raise the hard limit; pq3d inherits ours. */
    if (rl.rlim_max < 65536) {
        struct rlimit up = { 65536, 65536 };
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            return;
    }
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
    int seconds = 5, idle = 10000;
    const char *store = NULL;
    char cmd[600], store_buf[1200];
    struct rlimit rl;
    uint8_t rnd[4];

    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            printf("usage: bench_relay [--devices N] [--seconds S] [--idle M] [--senders K]\n"
                   "                   [--batch B] [--store sqlite|pg|pg:CONNINFO]\n");
            return 0;
        }
        if (v == NULL) {
            fprintf(stderr, "bench_relay: %s needs a value (see --help)\n", k);
            return 2;
        }
        if (strcmp(k, "--devices") == 0)
            n_devs = atoi(v);
        else if (strcmp(k, "--seconds") == 0)
            seconds = atoi(v);
        else if (strcmp(k, "--idle") == 0)
            idle = atoi(v);
        else if (strcmp(k, "--senders") == 0)
            n_senders = atoi(v);
        else if (strcmp(k, "--batch") == 0)
            batch = atoi(v);
        else if (strcmp(k, "--store") == 0)
            store = v;
        else {
            fprintf(stderr, "bench_relay: unknown option %s (see --help)\n", k);
            return 2;
        }
        i++;
    }
    if (n_devs < 1 || seconds < 1 || idle < 0 || n_senders < 1 || n_senders > MAX_SENDERS ||
        batch < 1 || batch > PQ3_WIRE_MAX_SEND) {
        fprintf(stderr, "bench_relay: --devices >= 1, --seconds >= 1, --idle >= 0, "
                        "--senders 1..%d, --batch 1..%d\n", MAX_SENDERS, PQ3_WIRE_MAX_SEND);
        return 2;
    }
    if (store != NULL && strcmp(store, "sqlite") == 0)
        store = NULL;
    else if (store != NULL && strcmp(store, "pg") == 0) {
        const char *ci = getenv("PQ3_PG_CONNINFO");
        if (ci == NULL) {
            fprintf(stderr, "bench_relay: --store pg needs $PQ3_PG_CONNINFO\n");
            return 2;
        }
        snprintf(store_buf, sizeof store_buf, "pg:%s", ci);
        store = store_buf;
    }
    if (strchr(store ? store : "", '\'') != NULL) {
        fprintf(stderr, "bench_relay: the store URL may not contain a quote\n");
        return 2;
    }
    if (getenv("PQ3D") != NULL)
        snprintf(pq3d_path, sizeof pq3d_path, "%s", getenv("PQ3D"));
    else {
        ssize_t n = readlink("/proc/self/exe", pq3d_path, sizeof pq3d_path - 8);
        char *slash;
        if (n <= 0)
            die("cannot find pq3d");
        pq3d_path[n] = 0;
        slash = strrchr(pq3d_path, '/');
        snprintf(slash + 1, 8, "pq3d");
    }
    if (access(pq3d_path, X_OK) != 0) {
        fprintf(stderr, "bench_relay: no pq3d at %s (set $PQ3D)\n", pq3d_path);
        return 2;
    }
    raise_nofile();
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur < (rlim_t)(n_devs + idle + n_senders + 64)) {
        fprintf(stderr, "bench_relay: RLIMIT_NOFILE %llu is too low for %d connections\n",
                (unsigned long long)rl.rlim_cur, n_devs + idle + n_senders);
        return 2;
    }
    /* Handles unique to this run: a PostgreSQL database may be reused. */
    if (pq3_random(NULL, rnd, sizeof rnd) != PQ3_OK)
        die("random");
    snprintf(prefix, sizeof prefix, "b%02x%02x%02x%02x-", rnd[0], rnd[1], rnd[2], rnd[3]);
    snprintf(dir, sizeof dir, "/tmp/pq3bench.XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("temp dir");
    signal(SIGPIPE, SIG_IGN);
    ccfg.host = "127.0.0.1";
    ccfg.server_name = "bench.pq3";
    ccfg.timeout_ms = 60000;
    start_server(store);
    lat = malloc(LAT_CAP * sizeof *lat);
    devs = calloc((size_t)n_devs, sizeof *devs);
    if (lat == NULL || devs == NULL)
        die("memory");

    printf("pq3d relay on loopback\n");
    printf("store %s, %d connected devices, %d sender connections, batches of %d, %d-byte "
           "envelopes, %ld cores\n", store ? store : "sqlite (synchronous=FULL)", n_devs,
           n_senders, batch, BODY, sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);

    /* Memory per idle authenticated connection: the devices, then more. */
    {
        long r0, r1, r2 = 0, r3 = 0;
        uint64_t t0, t1;
        ident *extra = NULL;
        sleep(1);
        r0 = rss_kb(server_pid);
        t0 = pq3b_nanos();
        connect_all(devs, n_devs, "d");
        connect_all(senders, n_senders, "s");
        t1 = pq3b_nanos();
        sleep(1);
        r1 = rss_kb(server_pid);
        printf("connected and registered %d devices in %.1f s (%.0f/s)\n", n_devs + n_senders,
               (double)(t1 - t0) / 1e9, (n_devs + n_senders) / ((double)(t1 - t0) / 1e9));
        printf("server RSS: %ld kB idle, %ld kB with %d connections: %.1f KB each\n", r0, r1,
               n_devs + n_senders, (double)(r1 - r0) / (n_devs + n_senders));
        if (idle > 0) {
            extra = calloc((size_t)idle, sizeof *extra);
            if (extra == NULL)
                die("memory");
            t0 = pq3b_nanos();
            connect_all(extra, idle, "i");
            t1 = pq3b_nanos();
            sleep(2);
            r2 = rss_kb(server_pid);
            printf("connected and registered %d more in %.1f s (%.0f/s)\n", idle,
                   (double)(t1 - t0) / 1e9, idle / ((double)(t1 - t0) / 1e9));
            printf("server RSS: %ld kB with %d connections: %.1f KB each of the %d more\n", r2,
                   n_devs + n_senders + idle, (double)(r2 - r1) / idle, idle);
            for (int i = 0; i < idle; i++)
                drop_ident(&extra[i]);
            free(extra);
            sleep(2);
            r3 = rss_kb(server_pid);
            printf("server RSS: %ld kB after those %d closed\n", r3, idle);
        }
        printf("\n");
        fflush(stdout);
    }

    printf("%-24s %9s %9s %10s %9s %9s %9s %9s %10s %9s\n", "run", "offered/s", "sent/s",
           "relayed/s", "p50 ms", "p99 ms", "pq3d CPU", "bench CPU", "others CPU",
           "commits/s");
    {
        double closed = run("closed loop", seconds, 0);
        int half = (int)(closed / 2);
        run("open loop, half", seconds, half > 0 ? half : 1);
        run("open loop, 10,000/s", seconds, 10000);
    }
    printf("(relayed: pushed to the device and ACKed by it; the ACKs of every run were "
           "answered OK, i.e. the deletes committed, before the next run. CPU: %% of one "
           "core; others: the rest of the machine, which the figures do not own)\n");

    for (int i = 0; i < n_devs; i++)
        drop_ident(&devs[i]);
    for (int i = 0; i < n_senders; i++)
        drop_ident(&senders[i]);
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(lat);
    free(devs);
    return 0;
}
