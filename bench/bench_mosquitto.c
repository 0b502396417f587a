/*
 * The work of bench_relay done by a mosquitto broker, for comparison: a
 * private broker on a free loopback port (its configuration generated in a
 * temporary directory: persistence on, saved as often as mosquitto allows),
 * N subscriber clients with persistent sessions (clean_session false), each
 * subscribed at QoS 1 to its own topic, and publisher threads, each its own
 * client, publishing 300-byte messages at QoS 1 to random subscribers'
 * topics, in batches: a batch is published, then its PUBACKs awaited (as
 * bench_relay's senders await their SEND's answer). One receiver thread
 * drives all N subscriber connections; libmosquitto sends each PUBACK as
 * the message is read.
 *
 * Measured, per run: messages per second through the whole cycle (publish
 * PUBACKed by the broker -> delivered -> subscriber PUBACK sent), the
 * latency from the publish (its scheduled time in an open loop) to the
 * delivery, p50 and p99, and the CPU that mosquitto and this program used.
 * Runs: closed loop, open loop at half the closed-loop rate, open loop at
 * 10,000/s. Before them: the broker's resident memory per idle connection
 * (subscribed, persistent session), for the N subscribers and --idle more.
 *
 * Not the same guarantee as pq3d's: mosquitto's PUBACK to the publisher
 * says the broker holds the message in memory, not on disk. Persistence
 * writes the whole in-memory database on the autosave schedule (here after
 * every change counted by autosave_on_changes, the most often mosquitto
 * offers) and at shutdown; a crash loses what was PUBACKed since the last
 * save. The output says so.
 *
 * Usage: bench_mosquitto [--devices N] [--seconds S] [--idle M]
 *                        [--senders K] [--batch B] [--autosave N] [--no-tls]
 * (defaults 1000, 5, 0, 8, 16, 1 change, TLS 1.3 with a self-signed
 * P-256 certificate as pq3d has). The memory figure wants --idle 10000
 * --autosave 1000000: with every change saved, each new persistent session
 * rewrites the whole database, and 10,000 of them take over 15 minutes. Finds mosquitto in $MOSQUITTO, else
 * /usr/sbin/mosquitto or on $PATH; without it prints SKIPPED and exits 0.
 * A benchmark: it prints, it does not judge.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
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

#include <mosquitto.h>

#include "benchutil.h"

#define BODY 300
#define MAX_SENDERS 64
#define MAX_BATCH 64
#define LAT_CAP (20u * 1000u * 1000u)
#define WINDOW 256              /* per-client inflight, as pq3d's PQ3_WIRE_WINDOW */

typedef struct sub {
    struct mosquitto *m;
    int connected, subscribed;
} sub;

typedef struct pub {
    struct mosquitto *m;
    int connected;
    unsigned acked;             /* PUBACKs of the current batch */
} pub;

static char broker_path[1024], dir[256];
static pid_t broker_pid;
static int port, use_tls = 1;
static int n_devs = 1000, n_senders = 8, batch = 16;
static sub *subs;
static pub pubs[MAX_SENDERS];
static atomic_int running, receiving, open_loop_rate;
static atomic_ullong sent, received;
static uint64_t *lat;           /* latencies in µs, written by the receiver */
static size_t n_lat;

static void die(const char *what)
{
    fprintf(stderr, "bench_mosquitto: %s\n", what);
    if (broker_pid > 0) {
        kill(broker_pid, SIGKILL);
        fprintf(stderr, "bench_mosquitto: broker log kept in %s/mosquitto.log\n", dir);
    }
    exit(1);
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
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                            &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Lines of the broker's log that say it saved its database. */
static long saves(void)
{
    char path[300], line[512];
    long n = 0;
    FILE *f;
    snprintf(path, sizeof path, "%s/mosquitto.log", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "Saving in-memory database") != NULL)
            n++;
    fclose(f);
    return n;
}

static int find_broker(void)
{
    const char *env = getenv("MOSQUITTO"), *path = getenv("PATH");
    if (env != NULL) {
        snprintf(broker_path, sizeof broker_path, "%s", env);
        return access(broker_path, X_OK) == 0;
    }
    snprintf(broker_path, sizeof broker_path, "/usr/sbin/mosquitto");
    if (access(broker_path, X_OK) == 0)
        return 1;
    while (path != NULL && *path != 0) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(broker_path, sizeof broker_path, "%.*s/mosquitto", (int)len, path);
        if (access(broker_path, X_OK) == 0)
            return 1;
        path = colon ? colon + 1 : NULL;
    }
    return 0;
}

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), p = -1;
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        p = ntohs(sa.sin_port);
    close(fd);
    return p;
}

static int port_open(void)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
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

static void start_broker(int autosave)
{
    char conf[300], cmd[1200];
    FILE *f;

    if (use_tls) {
        /* A self-signed P-256 certificate, as pq3d init makes. */
        snprintf(cmd, sizeof cmd,
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                 "-keyout '%s/tls.key' -out '%s/tls.crt' -days 2 -subj /CN=127.0.0.1 "
                 ">/dev/null 2>&1",
                 dir, dir);
        if (system(cmd) != 0)
            die("cannot make a certificate with openssl (try --no-tls)");
    }
    port = free_port();
    if (port <= 0)
        die("no free port");
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
    f = fopen(conf, "w");
    if (f == NULL)
        die("cannot write the broker configuration");
    {
        /* Started by root, mosquitto would become user "mosquitto", who
         * cannot read our private directory: it stays who we are. */
        struct passwd *pw = getpwuid(getuid());
        if (pw != NULL)
            fprintf(f, "user %s\n", pw->pw_name);
    }
    fprintf(f,
            "listener %d 127.0.0.1\n"
            "allow_anonymous true\n"
            "max_connections -1\n"
            "set_tcp_nodelay true\n"
            "persistence true\n"
            "persistence_location %s/\n"
            "persistence_file mosquitto.db\n"
            /* Saved after every `autosave` changes (subscriptions, queued
             * messages), the most often mosquitto saves; never in the path
             * of a PUBACK. */
            "autosave_on_changes true\n"
            "autosave_interval %d\n"
            "max_inflight_messages %d\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            "log_dest file %s/mosquitto.log\n"
            "log_type error\nlog_type warning\nlog_type information\n"
            "connection_messages false\n",
            port, dir, autosave, WINDOW, dir);
    if (use_tls)
        fprintf(f, "certfile %s/tls.crt\nkeyfile %s/tls.key\ntls_version tlsv1.3\n", dir, dir);
    fclose(f);
    broker_pid = fork();
    if (broker_pid < 0)
        die("fork");
    if (broker_pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, 1);
            dup2(nul, 2);
        }
        execl(broker_path, broker_path, "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        if (port_open())
            return;
        if (waitpid(broker_pid, NULL, WNOHANG) == broker_pid) {
            broker_pid = 0;
            die("mosquitto exited while starting (see its log)");
        }
        usleep(10000);
    }
    die("mosquitto did not start");
}

/* ---- clients ------------------------------------------------------------- */

static void on_sub_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    if (rc != 0)
        die("a subscriber's CONNECT was refused");
    ((sub *)obj)->connected = 1;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos)
{
    (void)m;
    (void)mid;
    if (n != 1 || qos[0] != 1)
        die("a subscription was not granted at QoS 1");
    ((sub *)obj)->subscribed = 1;
}

/* Runs in the receiver (or the setup) thread; libmosquitto sends the
 * PUBACK of a QoS 1 message as it reads it. */
static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    uint64_t t;
    (void)m;
    (void)obj;
    if (msg->payloadlen != BODY)
        return;
    memcpy(&t, msg->payload, sizeof t);
    if (n_lat < LAT_CAP)
        lat[n_lat++] = (pq3b_nanos() - t) / 1000u;
    atomic_fetch_add(&received, 1);
}

static void on_pub_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    if (rc != 0)
        die("a publisher's CONNECT was refused");
    ((pub *)obj)->connected = 1;
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    (void)mid;
    ((pub *)obj)->acked++;
}

static struct mosquitto *client_new(const char *id, void *obj)
{
    struct mosquitto *m = mosquitto_new(id, false, obj);   /* clean_session false */
    if (m == NULL)
        die("mosquitto_new");
    (void)mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    if (use_tls) {
        char ca[300];
        snprintf(ca, sizeof ca, "%s/tls.crt", dir);
        if (mosquitto_tls_set(m, ca, NULL, NULL, NULL, NULL) != MOSQ_ERR_SUCCESS ||
            mosquitto_tls_opts_set(m, 1, "tlsv1.3", NULL) != MOSQ_ERR_SUCCESS ||
            mosquitto_tls_insecure_set(m, true) != MOSQ_ERR_SUCCESS)
            die("mosquitto TLS setup");
    }
    return m;
}

/* Drives the connections arr[0..n) (poll, then read, write and the
 * keepalive housekeeping) until `done` holds for all or `ms` passed. */
static void drive(sub *arr, int n, int (*done)(const sub *), int ms)
{
    struct pollfd *pf = calloc((size_t)n, sizeof *pf);
    uint64_t until = pq3b_nanos() + (uint64_t)ms * 1000000u;
    if (pf == NULL)
        die("memory");
    for (;;) {
        int left = 0;
        for (int i = 0; i < n; i++) {
            pf[i].fd = done(&arr[i]) && !mosquitto_want_write(arr[i].m)
                           ? -1 : mosquitto_socket(arr[i].m);
            pf[i].events = (short)(POLLIN | (mosquitto_want_write(arr[i].m) ? POLLOUT : 0));
            pf[i].revents = 0;
            if (!done(&arr[i]))
                left++;
        }
        if (left == 0 || pq3b_nanos() > until)
            break;
        if (poll(pf, (nfds_t)n, 50) < 0 && errno != EINTR)
            die("poll");
        for (int i = 0; i < n; i++) {
            if (pf[i].revents & (POLLIN | POLLERR | POLLHUP)) {
                int rc = mosquitto_loop_read(arr[i].m, 1);
                if (rc != MOSQ_ERR_SUCCESS) {
                    char msg[200];
                    snprintf(msg, sizeof msg, "a subscriber connection failed: %s",
                             mosquitto_strerror(rc));
                    die(msg);
                }
            }
            if (pf[i].revents & POLLOUT)
                (void)mosquitto_loop_write(arr[i].m, 1);
        }
    }
    free(pf);
}

static int sub_ready(const sub *s)
{
    return s->subscribed;
}

static int sub_never(const sub *s)
{
    (void)s;
    return 0;
}

/* Connects and subscribes arr[0..n) at QoS 1, `chunk` at a time. */
static void subscribe_all(sub *arr, int n, const char *tag)
{
    const int chunk = 200;
    for (int base = 0; base < n; base += chunk) {
        int k = n - base < chunk ? n - base : chunk;
        for (int i = base; i < base + k; i++) {
            char id[64], topic[64];
            snprintf(id, sizeof id, "%s%d", tag, i);
            snprintf(topic, sizeof topic, "%s/%d", tag, i);
            arr[i].m = client_new(id, &arr[i]);
            mosquitto_connect_callback_set(arr[i].m, on_sub_connect);
            mosquitto_subscribe_callback_set(arr[i].m, on_subscribe);
            mosquitto_message_callback_set(arr[i].m, on_message);
            int rc = mosquitto_connect(arr[i].m, "127.0.0.1", port, 3600);
            if (rc != MOSQ_ERR_SUCCESS) {
                char msg[200];
                snprintf(msg, sizeof msg, "subscriber %s cannot connect: %s (%s)", id,
                         mosquitto_strerror(rc), strerror(errno));
                die(msg);
            }
            /* Sent after the CONNECT, answered after the CONNACK. */
            if (mosquitto_subscribe(arr[i].m, NULL, topic, 1) != MOSQ_ERR_SUCCESS)
                die("mosquitto_subscribe");
        }
        drive(arr + base, k, sub_ready, 60000);
        for (int i = base; i < base + k; i++)
            if (!arr[i].subscribed)
                die("subscribers did not get their SUBACK in 60 s");
    }
}

/* One wait on a publisher's connection and what it brought. Our own poll,
 * not mosquitto_loop: that one uses select(), which cannot take the
 * descriptors above FD_SETSIZE that thousands of connections reach. */
static void pub_loop(pub *p, int ms)
{
    struct pollfd pf;
    int rc = MOSQ_ERR_SUCCESS;
    pf.fd = mosquitto_socket(p->m);
    pf.events = (short)(POLLIN | (mosquitto_want_write(p->m) ? POLLOUT : 0));
    pf.revents = 0;
    if (pf.fd < 0)
        die("a publisher lost its connection");
    if (poll(&pf, 1, ms) < 0 && errno != EINTR)
        die("poll");
    if (pf.revents & (POLLIN | POLLERR | POLLHUP))
        rc = mosquitto_loop_read(p->m, 1);
    if (rc == MOSQ_ERR_SUCCESS && (pf.revents & POLLOUT))
        rc = mosquitto_loop_write(p->m, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        char msg[200];
        snprintf(msg, sizeof msg, "a publisher connection failed: %s", mosquitto_strerror(rc));
        die(msg);
    }
}

static void connect_pub(pub *p, int i)
{
    char id[32];
    snprintf(id, sizeof id, "pub%d", i);
    p->m = client_new(id, p);
    mosquitto_connect_callback_set(p->m, on_pub_connect);
    mosquitto_publish_callback_set(p->m, on_publish);
    (void)mosquitto_max_inflight_messages_set(p->m, 0);   /* the batch bounds it */
    if (mosquitto_connect(p->m, "127.0.0.1", port, 3600) != MOSQ_ERR_SUCCESS)
        die("a publisher cannot connect");
    for (int k = 0; k < 6000 && !p->connected; k++)
        pub_loop(p, 10);
    if (!p->connected)
        die("a publisher got no CONNACK");
}

/*
 * The idle connections, held by child processes of IDLE_PER_CHILD each: a
 * libmosquitto client takes three descriptors (its socket and a wake-up
 * socket pair), more than one process may hold under an unraisable
 * RLIMIT_NOFILE. idle_clients(n) returns once all n are subscribed;
 * idle_clients(0) ends them (their sessions stay in the broker, as a
 * vanished device's would).
 */
#define IDLE_PER_CHILD 4000
static pid_t idle_pid[64];
static int idle_stop[64], n_idle_children;

static void idle_clients(int n)
{
    if (n == 0) {
        for (int k = 0; k < n_idle_children; k++) {
            close(idle_stop[k]);
            waitpid(idle_pid[k], NULL, 0);
        }
        n_idle_children = 0;
        return;
    }
    for (int base = 0, k = 0; base < n; base += IDLE_PER_CHILD, k++) {
        int ready[2], stop[2], cnt = n - base < IDLE_PER_CHILD ? n - base : IDLE_PER_CHILD;
        if (k == 64)
            die("too many idle connections (at most 64 x 4000)");
        if (pipe(ready) != 0 || pipe(stop) != 0)
            die("pipe");
        idle_pid[k] = fork();
        if (idle_pid[k] < 0)
            die("fork");
        if (idle_pid[k] == 0) {
            sub *arr = calloc((size_t)cnt, sizeof *arr);
            char tag[16], c = 1;
            broker_pid = 0;          /* a failing child leaves the broker to the parent */
            close(ready[0]);
            close(stop[1]);
            if (arr == NULL)
                die("memory");
            snprintf(tag, sizeof tag, "i%dx", k);
            subscribe_all(arr, cnt, tag);
            if (write(ready[1], &c, 1) != 1)
                _exit(1);
            while (read(stop[0], &c, 1) > 0) {
            }
            _exit(0);                /* the broker sees the connections drop */
        }
        close(ready[1]);
        close(stop[0]);
        idle_stop[k] = stop[1];
        n_idle_children = k + 1;
        {
            char c;
            if (read(ready[0], &c, 1) != 1)
                die("an idle-connection child failed (see above)");
        }
        close(ready[0]);
    }
}

/* ---- the runs ------------------------------------------------------------ */

static void *sender_main(void *arg)
{
    pub *p = arg;
    uint8_t body[BODY];
    uint64_t next_ns = pq3b_nanos();
    unsigned seed = (unsigned)(p - pubs) * 7919u + 1u;

    memset(body, 0x42, sizeof body);
    while (running) {
        int rate = open_loop_rate;
        uint64_t stamp = pq3b_nanos();
        if (rate > 0) {
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
        memcpy(body, &stamp, sizeof stamp);
        p->acked = 0;
        for (int i = 0; i < batch; i++) {
            char topic[64];
            snprintf(topic, sizeof topic, "d/%u", rand_r(&seed) % (unsigned)n_devs);
            if (mosquitto_publish(p->m, NULL, topic, BODY, body, 1, false) != MOSQ_ERR_SUCCESS)
                die("mosquitto_publish");
        }
        while (p->acked < (unsigned)batch)
            pub_loop(p, 1000);
        atomic_fetch_add(&sent, (unsigned long long)batch);
    }
    return NULL;
}

static void *receiver_main(void *arg)
{
    (void)arg;
    while (receiving)
        drive(subs, n_devs, sub_never, 100);
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

static double run(const char *label, int seconds, int rate)
{
    pthread_t ts[MAX_SENDERS], tr;
    uint64_t t0, t1, s0, r0, r1, tw;
    double per_s, cs0, cs1, cb0, cb1, co0, co1, wall;
    long sv0, sv1;
    char offered[32];

    n_lat = 0;
    open_loop_rate = rate;
    running = 1;
    receiving = 1;
    s0 = sent;
    r0 = received;
    sv0 = saves();
    cs0 = cpu_s(broker_pid);
    cb0 = cpu_s(getpid());
    co0 = machine_cpu_s();
    if (pthread_create(&tr, NULL, receiver_main, NULL) != 0)
        die("thread");
    for (int i = 0; i < n_senders; i++)
        if (pthread_create(&ts[i], NULL, sender_main, &pubs[i]) != 0)
            die("thread");
    t0 = pq3b_nanos();
    sleep((unsigned)seconds);
    t1 = pq3b_nanos();
    r1 = received;
    cs1 = cpu_s(broker_pid);
    cb1 = cpu_s(getpid());
    co1 = machine_cpu_s();
    sv1 = saves();
    running = 0;
    for (int i = 0; i < n_senders; i++)
        pthread_join(ts[i], NULL);
    tw = pq3b_nanos();
    while (received < sent && pq3b_nanos() - tw < 120000000000u)
        usleep(10000);
    receiving = 0;
    pthread_join(tr, NULL);
    if (received != sent)
        fprintf(stderr, "bench_mosquitto: %s: %llu published, %llu delivered after 120 s\n",
                label, (unsigned long long)sent, (unsigned long long)received);

    wall = (double)(t1 - t0) / 1e9;
    per_s = (double)(r1 - r0) / wall;
    qsort(lat, n_lat, sizeof *lat, cmp_u64);
    if (rate > 0)
        snprintf(offered, sizeof offered, "%d", rate);
    else
        snprintf(offered, sizeof offered, "-");
    printf("%-24s %9s %9.0f %10.0f %9.2f %9.2f %9.0f%% %8.0f%% %9.0f%% %7.1f\n", label,
           offered, (double)(sent - s0) / wall, per_s, pct_ms(0.50), pct_ms(0.99),
           100.0 * (cs1 - cs0) / wall, 100.0 * (cb1 - cb0) / wall,
           /* the three clocks tick apart: a small negative remainder is 0 */
           100.0 * fmax(0.0, (co1 - co0) - (cs1 - cs0) - (cb1 - cb0)) / wall,
           (double)(sv1 - sv0) / wall);
    fflush(stdout);
    return per_s;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
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
    int seconds = 5, idle = 0, autosave = 1, major, minor, rev;
    char cmd[600];
    struct rlimit rl;

    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            printf("usage: bench_mosquitto [--devices N] [--seconds S] [--idle M] "
                   "[--senders K]\n                       [--batch B] [--autosave N] "
                   "[--no-tls]\n");
            return 0;
        }
        if (strcmp(k, "--no-tls") == 0) {
            use_tls = 0;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "bench_mosquitto: %s needs a value (see --help)\n", k);
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
        else if (strcmp(k, "--autosave") == 0)
            autosave = atoi(v);
        else {
            fprintf(stderr, "bench_mosquitto: unknown option %s (see --help)\n", k);
            return 2;
        }
        i++;
    }
    if (n_devs < 1 || seconds < 1 || idle < 0 || n_senders < 1 || n_senders > MAX_SENDERS ||
        batch < 1 || batch > MAX_BATCH || autosave < 1) {
        fprintf(stderr, "bench_mosquitto: --devices >= 1, --seconds >= 1, --idle >= 0, "
                        "--senders 1..%d, --batch 1..%d, --autosave >= 1\n",
                MAX_SENDERS, MAX_BATCH);
        return 2;
    }
    if (!find_broker()) {
        printf("bench_mosquitto: SKIPPED (no mosquitto broker; set $MOSQUITTO or install "
               "the mosquitto package)\n");
        return 0;
    }
    raise_nofile();
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur < (rlim_t)(3 * (n_devs + n_senders) + 64)) {
        fprintf(stderr, "bench_mosquitto: RLIMIT_NOFILE %llu is too low for %d connections "
                        "(3 descriptors each)\n",
                (unsigned long long)rl.rlim_cur, n_devs + n_senders);
        return 2;
    }
    snprintf(dir, sizeof dir, "/tmp/mqbench.XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("temp dir");
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    mosquitto_lib_version(&major, &minor, &rev);
    start_broker(autosave);
    lat = malloc(LAT_CAP * sizeof *lat);
    subs = calloc((size_t)n_devs, sizeof *subs);
    if (lat == NULL || subs == NULL)
        die("memory");

    printf("mosquitto broker on loopback (libmosquitto %d.%d.%d)\n", major, minor, rev);
    printf("%s, %d subscribers (clean_session false, QoS 1), %d publisher connections, "
           "batches of %d, %d-byte messages, %ld cores\n",
           use_tls ? "TLS 1.3" : "plain TCP", n_devs, n_senders, batch, BODY,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("persistence true, autosave_on_changes true, autosave_interval %d: the database "
           "is saved after every %d change(s) and at shutdown.\n", autosave, autosave);
    printf("NOTE: mosquitto's PUBACK does NOT mean the message is on disk: it is in the "
           "broker's memory, written on the next autosave (or at shutdown); a crash loses "
           "what was PUBACKed since. pq3d answers a SEND only after its commit.\n");
    fflush(stdout);

    {
        long r0, r1, r2;
        uint64_t t0, t1;
        sleep(1);
        r0 = rss_kb(broker_pid);
        t0 = pq3b_nanos();
        {
            /* Topics d/0..d/N-1 for the devices. */
            subscribe_all(subs, n_devs, "d");
        }
        for (int i = 0; i < n_senders; i++)
            connect_pub(&pubs[i], i);
        t1 = pq3b_nanos();
        sleep(1);
        r1 = rss_kb(broker_pid);
        printf("connected and subscribed %d clients in %.1f s (%.0f/s)\n", n_devs + n_senders,
               (double)(t1 - t0) / 1e9, (n_devs + n_senders) / ((double)(t1 - t0) / 1e9));
        printf("broker RSS: %ld kB idle, %ld kB with %d connections: %.1f KB each\n", r0, r1,
               n_devs + n_senders, (double)(r1 - r0) / (n_devs + n_senders));
        fflush(stdout);              /* before the children inherit the buffer */
        if (idle > 0) {
            t0 = pq3b_nanos();
            idle_clients(idle);
            t1 = pq3b_nanos();
            sleep(2);
            r2 = rss_kb(broker_pid);
            printf("connected and subscribed %d more in %.1f s (%.0f/s)\n", idle,
                   (double)(t1 - t0) / 1e9, idle / ((double)(t1 - t0) / 1e9));
            printf("broker RSS: %ld kB with %d connections: %.1f KB each of the %d more\n", r2,
                   n_devs + n_senders + idle, (double)(r2 - r1) / idle, idle);
            idle_clients(0);
        }
        printf("\n");
        fflush(stdout);
    }

    printf("%-24s %9s %9s %10s %9s %9s %10s %9s %10s %7s\n", "run", "offered/s", "sent/s",
           "relayed/s", "p50 ms", "p99 ms", "broker CPU", "bench CPU", "others CPU",
           "saves/s");
    {
        double closed = run("closed loop", seconds, 0);
        int half = (int)(closed / 2);
        run("open loop, half", seconds, half > 0 ? half : 1);
        run("open loop, 10,000/s", seconds, 10000);
    }
    printf("(sent: PUBACKed by the broker to the publisher; relayed: delivered to the "
           "subscriber, whose PUBACK libmosquitto sends on reading it. CPU: %% of one core; "
           "others: the rest of the machine, which the figures do not own)\n");

    for (int i = 0; i < n_devs; i++)
        mosquitto_destroy(subs[i].m);
    for (int i = 0; i < n_senders; i++)
        mosquitto_destroy(pubs[i].m);
    mosquitto_lib_cleanup();
    kill(broker_pid, SIGTERM);
    waitpid(broker_pid, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(lat);
    free(subs);
    return 0;
}
