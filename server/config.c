/* pq3d's configuration file DIR/pq3d.conf (pq3d(8)): "key = value" lines,
 * '#' comments. Unknown keys and bad values are errors, with the line. */
#include "pq3d.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void pq3d_config_defaults(pq3d_config *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->name, sizeof c->name, "pq3d.local");
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:7443");
    snprintf(c->metrics, sizeof c->metrics, "127.0.0.1:7444");
    snprintf(c->store, sizeof c->store, "sqlite:%.1000s/pq3d.db", dir);
    snprintf(c->node, sizeof c->node, "node1");
    snprintf(c->tls_cert, sizeof c->tls_cert, "%.1000s/tls.crt", dir);
    snprintf(c->tls_key, sizeof c->tls_key, "%.1000s/tls.key", dir);
    c->policy = PQ3D_POLICY_OPEN;
    c->queue_max = 10000;
    c->queue_max_bytes = 64u * 1024u * 1024u;
    c->message_ttl = 30u * 86400u;
    c->rate_conn = 200;
    c->rate_account = 1000;
    c->rate_lookup = 20;
    c->max_conns = 100000;
    c->auth_timeout = 10;
    c->idle_timeout = 180;
    snprintf(c->kt_key, sizeof c->kt_key, "%.1000s/kt.key", dir);
    c->kt_epoch = 10;
}

static int set_str(char *dst, size_t cap, const char *v)
{
    if (strlen(v) >= cap)
        return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int set_u64(uint64_t *dst, const char *v, uint64_t min, uint64_t max)
{
    char *end;
    unsigned long long x;
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno != 0 || *end != 0 || x < min || x > max)
        return -1;
    *dst = x;
    return 0;
}

static int set_u32(uint32_t *dst, const char *v, uint32_t min, uint32_t max)
{
    uint64_t x;
    if (set_u64(&x, v, min, max) != 0)
        return -1;
    *dst = (uint32_t)x;
    return 0;
}

static int valid_node(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > PQ3D_NODE_MAX)
        return 0;
    for (; *v != 0; v++)
        if (!isalnum((unsigned char)*v) && *v != '_' && *v != '-')
            return 0;
    return 1;
}

static int set_key(pq3d_config *c, const char *k, const char *v)
{
    if (strcmp(k, "name") == 0)
        return v[0] == 0 ? -1 : set_str(c->name, sizeof c->name, v);
    if (strcmp(k, "listen") == 0)
        return set_str(c->listen, sizeof c->listen, v);
    if (strcmp(k, "metrics") == 0)
        return set_str(c->metrics, sizeof c->metrics, v);
    if (strcmp(k, "store") == 0)
        return set_str(c->store, sizeof c->store, v);
    if (strcmp(k, "node") == 0)
        return valid_node(v) ? set_str(c->node, sizeof c->node, v) : -1;
    if (strcmp(k, "tls_cert") == 0)
        return set_str(c->tls_cert, sizeof c->tls_cert, v);
    if (strcmp(k, "tls_key") == 0)
        return set_str(c->tls_key, sizeof c->tls_key, v);
    if (strcmp(k, "policy") == 0) {
        if (strcmp(v, "open") == 0)
            c->policy = PQ3D_POLICY_OPEN;
        else if (strcmp(v, "invite") == 0)
            c->policy = PQ3D_POLICY_INVITE;
        else
            return -1;
        return 0;
    }
    if (strcmp(k, "queue_max") == 0)
        return set_u32(&c->queue_max, v, 1, 100000000);
    if (strcmp(k, "queue_max_bytes") == 0)
        return set_u64(&c->queue_max_bytes, v, PQ3_WIRE_MAX_ENVELOPE, UINT64_C(1) << 40);
    if (strcmp(k, "message_ttl") == 0)
        return set_u64(&c->message_ttl, v, 60, UINT64_C(10) * 365 * 86400);
    if (strcmp(k, "rate_conn") == 0)
        return set_u32(&c->rate_conn, v, 1, 10000000);
    if (strcmp(k, "rate_account") == 0)
        return set_u32(&c->rate_account, v, 1, 10000000);
    if (strcmp(k, "rate_lookup") == 0)
        return set_u32(&c->rate_lookup, v, 1, 10000000);
    if (strcmp(k, "max_conns") == 0)
        return set_u32(&c->max_conns, v, 1, 10000000);
    if (strcmp(k, "auth_timeout") == 0)
        return set_u32(&c->auth_timeout, v, 1, 3600);
    if (strcmp(k, "idle_timeout") == 0)
        return set_u32(&c->idle_timeout, v, 1, 86400);
    if (strcmp(k, "kt_key") == 0)
        return set_str(c->kt_key, sizeof c->kt_key, v);
    if (strcmp(k, "kt_epoch") == 0)
        return set_u32(&c->kt_epoch, v, 1, 3600);
    return -2;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int pq3d_config_load(pq3d_config *c, const char *dir, char *err, size_t errlen)
{
    char path[PQ3D_PATH_MAX + 16], line[2048];
    FILE *f;
    unsigned lineno = 0;

    pq3d_config_defaults(c, dir);
    snprintf(path, sizeof path, "%s/pq3d.conf", dir);
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s (run 'pq3d init %s' first)", path,
                 strerror(errno), dir);
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *eq, *k, *v;
        int rc;
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line too long", path, lineno);
            fclose(f);
            return -1;
        }
        k = trim(line);
        if (*k == 0 || *k == '#')
            continue;
        eq = strchr(k, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
            fclose(f);
            return -1;
        }
        *eq = 0;
        v = trim(eq + 1);
        k = trim(k);
        rc = set_key(c, k, v);
        if (rc != 0) {
            snprintf(err, errlen, rc == -2 ? "%s:%u: unknown key '%s'"
                                           : "%s:%u: bad value for '%s'",
                     path, lineno, k);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

int pq3d_config_write(const pq3d_config *c, char *err, size_t errlen)
{
    char path[PQ3D_PATH_MAX + 16];
    FILE *f;
    int fd;

    snprintf(path, sizeof path, "%s/pq3d.conf", c->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f,
            "# pq3d configuration (pq3d(8)). Written by 'pq3d init'.\n"
            "name = %s\nlisten = %s\nmetrics = %s\nstore = %s\nnode = %s\n"
            "tls_cert = %s\ntls_key = %s\npolicy = %s\n"
            "queue_max = %u\nqueue_max_bytes = %llu\nmessage_ttl = %llu\n"
            "rate_conn = %u\nrate_account = %u\nrate_lookup = %u\nmax_conns = %u\n"
            "auth_timeout = %u\nidle_timeout = %u\nkt_key = %s\nkt_epoch = %u\n",
            c->name, c->listen, c->metrics, c->store, c->node, c->tls_cert, c->tls_key,
            c->policy == PQ3D_POLICY_INVITE ? "invite" : "open", c->queue_max,
            (unsigned long long)c->queue_max_bytes, (unsigned long long)c->message_ttl,
            c->rate_conn, c->rate_account, c->rate_lookup, c->max_conns, c->auth_timeout,
            c->idle_timeout, c->kt_key, c->kt_epoch);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int pq3d_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon;
    size_t hl;
    uint64_t p;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        hl = (size_t)(close - s - 1);
        colon = close + 1;
        s++;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen || set_u64(&p, colon + 1, 0, 65535) != 0)
        return -1;
    memcpy(host, s, hl);
    host[hl] = 0;
    *port = (uint16_t)p;
    return 0;
}
