/*
 * kill -9 trials of the device layer (docs/DEVICE.md §7): a child process
 * runs a conversation between three devices of two accounts (alice: a1, a2;
 * bob: b1) over a file-based network and is killed with SIGKILL at a random
 * moment; then the next child goes on from the stores as they are. After
 * every kill each store passes PRAGMA integrity_check. At the end, with the
 * network drained:
 *  - no (ratchet key, index) was ever used for two different ciphertexts
 *    (every envelope that reached the network is archived and compared);
 *  - every text whose send returned is in each recipient's inbox exactly
 *    once (bob's device for alice's texts, alice's other device as a copy;
 *    both alice devices for bob's), and no inbox holds any text twice;
 *  - no envelope was ever dropped by a receiver;
 *  - the sessions go on: a last exchange in each direction opens.
 * Usage: crash_device [trials] (default 200; PQ3_CRASH_SEED fixes the seed).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "device_fixture.h"
#include "testutil.h"

#define NOW 1760000000ull
#define NDEV 3
enum { PH_IDLE, PH_SEAL, PH_SEND, PH_OPEN, PH_ACK, PH_N };
static const char *const PHASE[PH_N] = {"idle", "seal+commit", "send", "open+commit", "ack"};

static df_world W;
static df_device *dev[NDEV];
static const char *const NAME[NDEV] = {"a1", "a2", "b1"};
static char net[400];
static volatile int *shared_phase;

/* ---- the file network ---------------------------------------------------- */

static void write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char tmp[900], final[900];
    int fd;
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(final, sizeof final, "%s/%s", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, p, n) != (ssize_t)n || fsync(fd) != 0 || close(fd) != 0 ||
        rename(tmp, final) != 0) {
        perror("network write");
        _exit(3);
    }
}

static int dev_index(const uint8_t id[PQ3_DEVICE_ID_BYTES])
{
    for (int i = 0; i < NDEV; i++) {
        pq3_device_self s;
        if (pq3_device_whoami(dev[i]->d, &s) == PQ3_OK &&
            memcmp(s.device_id, id, PQ3_DEVICE_ID_BYTES) == 0)
            return i;
    }
    return -1;
}

/* Sends device i's outbox: archive copy, then the recipient's queue, then
 * the outbox row goes (the "server acknowledged it"). */
static void flush(int i)
{
    pq3_envelope env[16];
    pq3_device_self me;
    uint32_t n;
    static uint8_t buf[1 << 17];
    if (pq3_device_whoami(dev[i]->d, &me) != PQ3_OK ||
        pq3_device_outbox(dev[i]->d, 0, env, 16, &n) != PQ3_OK)
        _exit(4);
    *shared_phase = PH_SEND;
    for (uint32_t k = 0; k < n; k++) {
        char name[64], dir[700];
        int r = dev_index(env[k].to_device);
        size_t hl = strlen(dev[i]->handle);
        if (r < 0 || env[k].msg_len + 1 + hl + 16 > sizeof buf)
            _exit(5);
        buf[0] = (uint8_t)hl;
        memcpy(buf + 1, dev[i]->handle, hl);
        memcpy(buf + 1 + hl, me.device_id, 16);
        memcpy(buf + 1 + hl + 16, env[k].msg, env[k].msg_len);
        snprintf(name, sizeof name, "%s-%012lld", NAME[i], (long long)env[k].id);
        snprintf(dir, sizeof dir, "%s/archive", net);
        write_file(dir, name, buf, 1 + hl + 16 + env[k].msg_len);
        snprintf(dir, sizeof dir, "%s/%s", net, NAME[r]);
        write_file(dir, name, buf, 1 + hl + 16 + env[k].msg_len);
        *shared_phase = PH_ACK;
        if (pq3_device_outbox_done(dev[i]->d, env[k].id) != PQ3_OK)
            _exit(6);
        *shared_phase = PH_SEND;
    }
    *shared_phase = PH_IDLE;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Receives up to 32 queued envelopes of device i in one batch, then
 * deletes them (the acknowledgement). Returns how many; dropped ones are
 * reported on `report`. */
static int receive(int i, FILE *report)
{
    char dir[700], *names[32];
    static uint8_t bufs[32][1 << 17];
    char handles[32][256];
    pq3_incoming in[32];
    pq3_received res[32];
    DIR *dp;
    struct dirent *e;
    int n = 0;
    snprintf(dir, sizeof dir, "%s/%s", net, NAME[i]);
    dp = opendir(dir);
    if (dp == NULL)
        _exit(7);
    while (n < 32 && (e = readdir(dp)) != NULL)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(dp);
    qsort(names, (size_t)n, sizeof names[0], name_cmp);
    for (int k = 0; k < n; k++) {
        char p[900];
        FILE *f;
        size_t len;
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        f = fopen(p, "rb");
        if (f == NULL)
            _exit(8);
        len = fread(bufs[k], 1, sizeof bufs[k], f);
        fclose(f);
        if (len < 17 || (size_t)bufs[k][0] + 17 > len)
            _exit(9);
        memcpy(handles[k], bufs[k] + 1, bufs[k][0]);
        handles[k][bufs[k][0]] = 0;
        in[k].from_handle = handles[k];
        memcpy(in[k].from_device, bufs[k] + 1 + bufs[k][0], 16);
        in[k].msg = bufs[k] + 17 + bufs[k][0];
        in[k].msg_len = len - 17 - bufs[k][0];
    }
    if (n > 0) {
        *shared_phase = PH_OPEN;
        if (pq3_device_receive(dev[i]->d, in, (size_t)n, NOW, res) != PQ3_OK)
            _exit(10);
        *shared_phase = PH_ACK;
        for (int k = 0; k < n; k++) {
            char p[900];
            if (res[k].err != PQ3_OK) {
                fprintf(report, "dropped %s %s %s\n", NAME[i], names[k], pq3_strerror(res[k].err));
                fflush(report);
            }
            snprintf(p, sizeof p, "%s/%s", dir, names[k]);
            unlink(p);
        }
        *shared_phase = PH_IDLE;
    }
    for (int k = 0; k < n; k++)
        free(names[k]);
    return n;
}

static void open_all(void)
{
    for (int i = 0; i < NDEV; i++)
        if (df_open(&W, dev[i]) != PQ3_OK)
            _exit(11);
}

static void close_all(void)
{
    for (int i = 0; i < NDEV; i++)
        df_close(dev[i]);
}

/* The child: a conversation until it is killed. */
static void child(unsigned seed, int fd)
{
    FILE *report = fdopen(fd, "w");
    unsigned long counter = 0;
    srand(seed);
    open_all();
    /* The parent times the kill from here, so that it lands in the
     * conversation however slow the start is (sanitizers, a busy machine). */
    fprintf(report, "ready\n");
    fflush(report);
    for (;;) {
        int i = rand() % NDEV, action = rand() % 3;
        if (action == 0) {
            char text[96];
            const char *to = i == 2 ? dev[0]->handle : dev[2]->handle;
            uint32_t n;
            snprintf(text, sizeof text, "%s#%u.%lu", NAME[i], seed, counter++);
            *shared_phase = PH_SEAL;
            if (pq3_device_send(dev[i]->d, to, (const uint8_t *)text, strlen(text), NOW, &n,
                                NULL) != PQ3_OK) {
                fprintf(report, "error send %s\n", pq3_device_error(dev[i]->d));
                fflush(report);
                _exit(12);
            }
            *shared_phase = PH_IDLE;
            fprintf(report, "sent %d %s\n", i, text);
            fflush(report);
        } else if (action == 1) {
            flush(i);
        } else {
            (void)receive(i, report);
        }
    }
}

/* ---- checks ---------------------------------------------------------------- */

static int integrity_ok(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int ok = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        ok = strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return ok;
}

typedef struct sent_text {
    int from;
    char text[96];
} sent_text;

static sent_text *sent;
static size_t n_sent, cap_sent;
static int dropped, child_errors;

static void read_reports(FILE *f)
{
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        int from;
        char text[96];
        if (sscanf(line, "sent %d %95s", &from, text) == 2) {
            if (n_sent == cap_sent) {
                cap_sent = cap_sent ? 2 * cap_sent : 1024;
                sent = realloc(sent, cap_sent * sizeof *sent);
            }
            sent[n_sent].from = from;
            snprintf(sent[n_sent].text, sizeof sent[n_sent].text, "%s", text);
            n_sent++;
        } else if (strcmp(line, "ready\n") == 0) {
            continue;
        } else if (strncmp(line, "dropped", 7) == 0) {
            fprintf(stderr, "%s", line);
            dropped++;
        } else {
            fprintf(stderr, "child: %s", line);
            child_errors++;
        }
    }
}

/* (ratchet key, index) -> message digest over the archive. */
typedef struct use {
    uint8_t key[32];
    uint32_t index;
    uint8_t digest[48];
} use;

static int use_cmp(const void *a, const void *b)
{
    const use *x = a, *y = b;
    int c = memcmp(x->key, y->key, 32);
    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static size_t check_archive(size_t *archived)
{
    char dir[700];
    DIR *dp;
    struct dirent *e;
    use *u = NULL;
    size_t n = 0, cap = 0, reuse = 0;
    static uint8_t buf[1 << 17];
    snprintf(dir, sizeof dir, "%s/archive", net);
    dp = opendir(dir);
    CHECK(dp != NULL);
    while ((e = readdir(dp)) != NULL) {
        char p[1024];
        FILE *f;
        size_t len;
        pq3_message_info mi;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        f = fopen(p, "rb");
        CHECK(f != NULL);
        len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        CHECK(len > 17 && (size_t)buf[0] + 17 < len);
        CHECK_OK(pq3_message_peek(&mi, buf + 17 + buf[0], len - 17 - buf[0]));
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            u = realloc(u, cap * sizeof *u);
        }
        memcpy(u[n].key, mi.ratchet_key, 32);
        u[n].index = mi.index;
        CHECK_OK(pq3_sha384(u[n].digest, buf + 17 + buf[0], len - 17 - buf[0]));
        n++;
    }
    closedir(dp);
    if (n > 1)
        qsort(u, n, sizeof *u, use_cmp);
    for (size_t i = 1; i < n; i++)
        if (use_cmp(&u[i - 1], &u[i]) == 0 && memcmp(u[i - 1].digest, u[i].digest, 48) != 0)
            reuse++;
    free(u);
    *archived = n;
    return reuse;
}

/* How often `text` is in device i's inbox. */
static int inbox_count(int i, const char *text)
{
    return df_inbox_count(dev[i], PQ3_INBOX_MESSAGE, text) +
           df_inbox_count(dev[i], PQ3_INBOX_SENT, text);
}

static int queued(void)
{
    int total = 0;
    for (int i = 0; i < NDEV; i++) {
        char dir[700];
        DIR *dp;
        struct dirent *e;
        pq3_envelope env[4];
        uint32_t n;
        snprintf(dir, sizeof dir, "%s/%s", net, NAME[i]);
        dp = opendir(dir);
        while (dp != NULL && (e = readdir(dp)) != NULL)
            total += e->d_name[0] != '.';
        if (dp != NULL)
            closedir(dp);
        if (pq3_device_outbox(dev[i]->d, 0, env, 4, &n) == PQ3_OK)
            total += (int)n;
    }
    return total;
}

int main(int argc, char **argv)
{
    int trials = argc > 1 ? atoi(argv[1]) : 200;
    unsigned seed = getenv("PQ3_CRASH_SEED") ? (unsigned)atoi(getenv("PQ3_CRASH_SEED"))
                                             : (unsigned)time(NULL);
    unsigned kills[PH_N] = {0};
    pq3_soft_key ka, kb;
    pq3_signer sa, sb;
    pq3_contact_report rep;
    size_t archived, reuse;
    int exited = 0;

    printf("crash_device: %d trials, seed %u (PQ3_CRASH_SEED=%u to replay)\n", trials, seed, seed);
    srand(seed);
    CHECK(df_init(&W) == 0);
    snprintf(net, sizeof net, "%s/net", W.dir);
    CHECK(mkdir(net, 0700) == 0);
    {
        char p[700];
        snprintf(p, sizeof p, "%s/archive", net);
        CHECK(mkdir(p, 0700) == 0);
        for (int i = 0; i < NDEV; i++) {
            snprintf(p, sizeof p, "%s/%s", net, NAME[i]);
            CHECK(mkdir(p, 0700) == 0);
        }
    }
    /* Alice with two devices, bob with one; everyone knows everyone. */
    CHECK_OK(pq3_soft_key_generate(&ka, NULL));
    CHECK_OK(pq3_soft_key_generate(&kb, NULL));
    CHECK_OK(pq3_soft_signer(&sa, &ka));
    CHECK_OK(pq3_soft_signer(&sb, &kb));
    dev[0] = df_new(&W, "a1", "mailto:alice@example.org");
    dev[1] = df_new(&W, "a2", "mailto:alice@example.org");
    dev[2] = df_new(&W, "b1", "mailto:bob@example.org");
    CHECK(dev[0] && dev[1] && dev[2]);
    CHECK_OK(pq3_device_create_account(dev[0]->d, dev[0]->handle, &sa, NOW));
    CHECK_OK(pq3_device_create_account(dev[2]->d, dev[2]->handle, &sb, NOW));
    {
        uint8_t req[PQ3_LINK_REQUEST_MAX_BYTES], resp[PQ3_LINK_RESPONSE_MAX_BYTES];
        size_t rl, pl;
        CHECK_OK(pq3_device_link_request(dev[1]->d, dev[1]->handle, NOW, req, sizeof req, &rl));
        CHECK_OK(pq3_device_link_approve(dev[0]->d, &sa, req, rl, NOW, resp, sizeof resp, &pl));
        CHECK_OK(pq3_device_link_finish(dev[1]->d, resp, pl, NOW));
    }
    for (int i = 0; i < NDEV; i++)
        CHECK_OK(df_publish(dev[i], NOW));
    for (int i = 0; i < NDEV; i++) {
        CHECK_OK(df_learn(&W, dev[i], dev[0]->handle, NOW, &rep));
        CHECK_OK(df_learn(&W, dev[i], dev[2]->handle, NOW, &rep));
    }
    close_all();
    shared_phase = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                        -1, 0);
    CHECK(shared_phase != MAP_FAILED);

    for (int t = 0; t < trials; t++) {
        int fds[2], status;
        pid_t pid;
        FILE *f;
        unsigned child_seed = (unsigned)rand();
        CHECK(pipe(fds) == 0);
        *shared_phase = PH_IDLE;
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(child_seed, fds[1]);
            _exit(0);
        }
        close(fds[1]);
        f = fdopen(fds[0], "r");
        {
            char line[64];
            CHECK(fgets(line, sizeof line, f) != NULL && strcmp(line, "ready\n") == 0);
        }
        /* 0 to 40 ms into the conversation: long enough to reach every
         * phase, short enough for many trials. */
        usleep((useconds_t)(rand() % 40000));
        kills[*shared_phase]++;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            exited++;
        read_reports(f);
        fclose(f);
        for (int i = 0; i < NDEV; i++)
            CHECKF(integrity_ok(dev[i]->path), "integrity_check of %s after trial %d",
                   dev[i]->path, t);
    }
    CHECKF(exited == 0, "%d children ended before the kill", exited);
    CHECKF(child_errors == 0, "%d errors in children", child_errors);

    /* Drain: deliver until nothing is queued anywhere. */
    open_all();
    {
        FILE *sink = fopen("/dev/null", "w");
        for (int round = 0; round < 100 && queued() > 0; round++)
            for (int i = 0; i < NDEV; i++) {
                flush(i);
                while (receive(i, stderr) > 0)
                    ;
            }
        fclose(sink);
    }
    CHECK(queued() == 0);
    CHECKF(dropped == 0, "%d envelopes were dropped by a receiver", dropped);

    reuse = check_archive(&archived);
    /* A run in which the kills never met the conversation proves nothing. */
    CHECKF(n_sent >= (size_t)trials / 4 && archived > 0,
           "too little happened: %zu texts, %zu envelopes in %d trials", n_sent, archived, trials);
    for (int p = PH_SEAL; p < PH_N; p++)
        CHECKF(trials < 100 || kills[p] > 0, "no kill landed in %s", PHASE[p]);
    CHECKF(reuse == 0, "%zu (ratchet key, index) pairs used for two different ciphertexts", reuse);
    {
        size_t missing = 0, twice = 0;
        for (size_t k = 0; k < n_sent; k++) {
            /* a1 -> bob: b1, copy at a2; a2 -> bob: b1, copy at a1;
             * b1 -> alice: a1, a2. */
            int r[2];
            if (sent[k].from == 2) {
                r[0] = 0;
                r[1] = 1;
            } else {
                r[0] = 2;
                r[1] = 1 - sent[k].from;
            }
            for (int j = 0; j < 2; j++) {
                int c = inbox_count(r[j], sent[k].text);
                missing += c == 0;
                twice += c > 1;
            }
        }
        CHECKF(missing == 0, "%zu committed texts missing from an inbox", missing);
        CHECKF(twice == 0, "%zu texts shown twice", twice);
        /* No inbox holds any text twice (also texts whose report the kill
         * cut off). */
        for (int i = 0; i < NDEV; i++) {
            pq3_inbox_item it[64];
            uint32_t n;
            int64_t after = 0;
            size_t items = 0, dups = 0;
            char (*seen)[96] = NULL;
            for (;;) {
                CHECK_OK(pq3_device_inbox(dev[i]->d, after, it, 64, &n));
                if (n == 0)
                    break;
                for (uint32_t k = 0; k < n; k++) {
                    after = it[k].id;
                    if (it[k].kind == PQ3_INBOX_RECEIPT)
                        continue;
                    seen = realloc(seen, (items + 1) * sizeof *seen);
                    snprintf(seen[items], 96, "%.*s", (int)it[k].text_len,
                             (const char *)it[k].text);
                    for (size_t q = 0; q < items; q++)
                        dups += strcmp(seen[q], seen[items]) == 0;
                    items++;
                }
            }
            CHECKF(dups == 0, "%zu duplicate texts in %s's inbox", dups, NAME[i]);
            printf("crash_device: %s inbox holds %zu texts\n", NAME[i], items);
            free(seen);
        }
    }
    /* The sessions go on. */
    {
        uint32_t n;
        CHECK_OK(pq3_device_send(dev[0]->d, dev[2]->handle, (const uint8_t *)"after", 5, NOW, &n,
                                 NULL));
        CHECK_OK(pq3_device_send(dev[2]->d, dev[0]->handle, (const uint8_t *)"after too", 9, NOW,
                                 &n, NULL));
        for (int round = 0; round < 4; round++)
            for (int i = 0; i < NDEV; i++) {
                flush(i);
                while (receive(i, stderr) > 0)
                    ;
            }
        CHECK(inbox_count(2, "after") == 1 && inbox_count(0, "after too") == 1);
        CHECKF(dropped == 0, "%d envelopes dropped after the trials", dropped);
    }
    printf("crash_device: %d kills (", trials);
    for (int p = 0; p < PH_N; p++)
        printf("%s%s %u", p ? ", " : "", PHASE[p], kills[p]);
    printf("), %zu texts committed and reported, %zu envelopes on the network\n", n_sent, archived);
    close_all();
    df_cleanup(&W);
    pq3_soft_key_wipe(&ka);
    pq3_soft_key_wipe(&kb);
    free(sent);
    return pq3t_finish();
}
