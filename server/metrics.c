/* /metrics (Prometheus text format 0.0.4) and /health on a loopback HTTP
 * listener in the event loop (docs/SERVER.md §12). */
#include "pq3d.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const uint64_t bounds_us[12] = { 250, 500, 1000, 2500, 5000, 10000, 25000,
                                        50000, 100000, 250000, 500000, 1000000 };

void pq3d_metrics_init(pq3d_metrics *m)
{
    memset(m, 0, sizeof *m);
    memcpy(m->lat_bounds_us, bounds_us, sizeof bounds_us);
}

void pq3d_metrics_latency(pq3d_metrics *m, uint64_t us)
{
    unsigned i = 0;
    while (i < 12 && us > m->lat_bounds_us[i])
        i++;
    m->lat_counts[i]++;
    m->lat_sum_us += us;
    m->lat_count++;
}

typedef struct http_ctx {
    pq3d_metrics *m;
    pq3d_writer *w;
} http_ctx;

static void counter(struct evbuffer *b, const char *name, const char *help, const char *type,
                    uint64_t v)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
                        name, (unsigned long long)v);
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
    http_ctx *h = arg;
    pq3d_metrics *m = h->m;
    pq3d_writer_stats ws;
    struct evbuffer *b = evbuffer_new();
    uint64_t cum = 0;

    if (b == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    pq3d_writer_get_stats(h->w, &ws);
    counter(b, "pq3d_connections", "Open connections.", "gauge", m->conns);
    counter(b, "pq3d_connections_total", "Connections accepted.", "counter", m->conns_total);
    counter(b, "pq3d_connections_refused_total", "Connections refused (limit, draining).",
            "counter", m->conns_refused);
    counter(b, "pq3d_auth_total", "Connections authenticated.", "counter", m->conns_authed);
    counter(b, "pq3d_requests_total", "Requests answered.", "counter", m->requests_total);
    counter(b, "pq3d_requests_refused_total", "Requests answered with a status other than OK.",
            "counter", m->requests_refused);
    counter(b, "pq3d_messages_stored_total", "Envelopes stored durably.", "counter",
            m->stored_total);
    counter(b, "pq3d_messages_duplicate_total", "Envelopes sent again (same msg_id).",
            "counter", m->duplicates_total);
    counter(b, "pq3d_messages_pushed_total", "DELIVER frames pushed.", "counter",
            m->delivered_total);
    counter(b, "pq3d_messages_acked_total", "Envelopes deleted by acknowledgement.", "counter",
            m->acked_total);
    counter(b, "pq3d_notify_received_total", "Notifications from other nodes.", "counter",
            m->notify_received);
    counter(b, "pq3d_queue_envelopes", "Envelopes queued (refreshed every 10 s).", "gauge",
            m->queue_envelopes);
    counter(b, "pq3d_queue_bytes", "Bytes queued (refreshed every 10 s).", "gauge",
            m->queue_bytes);
    counter(b, "pq3d_commits_total", "Group commits.", "counter", ws.commits);
    counter(b, "pq3d_commit_failures_total", "Group commits that failed.", "counter",
            ws.commit_failures);
    counter(b, "pq3d_writer_pending", "Jobs waiting for the writer.", "gauge",
            pq3d_writer_pending(h->w));
    evbuffer_add_printf(b, "# HELP pq3d_request_seconds Request arrival to answer.\n"
                           "# TYPE pq3d_request_seconds histogram\n");
    for (unsigned i = 0; i < 12; i++) {
        cum += m->lat_counts[i];
        evbuffer_add_printf(b, "pq3d_request_seconds_bucket{le=\"%g\"} %llu\n",
                            (double)m->lat_bounds_us[i] / 1e6, (unsigned long long)cum);
    }
    cum += m->lat_counts[12];
    evbuffer_add_printf(b, "pq3d_request_seconds_bucket{le=\"+Inf\"} %llu\n"
                           "pq3d_request_seconds_sum %.6f\npq3d_request_seconds_count %llu\n",
                        (unsigned long long)cum, (double)m->lat_sum_us / 1e6,
                        (unsigned long long)m->lat_count);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void on_health(struct evhttp_request *req, void *arg)
{
    http_ctx *h = arg;
    struct evbuffer *b = evbuffer_new();
    int ok = h->m->store_ok && !h->m->draining;
    if (b == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add_printf(b, "%s\n", ok ? "ok" : h->m->draining ? "draining" : "storage failing");
    evhttp_send_reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", b);
    evbuffer_free(b);
}

struct evhttp *pq3d_metrics_start(struct event_base *base, const char *hostport,
                                  pq3d_metrics *m, pq3d_writer *w, uint16_t *port, char *err,
                                  size_t errlen)
{
    static http_ctx ctx;
    char host[128];
    uint16_t p;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;

    if (pq3d_split_hostport(hostport, host, sizeof host, &p) != 0) {
        snprintf(err, errlen, "metrics address '%s' is not host:port", hostport);
        return NULL;
    }
    if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0 &&
        strcmp(host, "localhost") != 0) {
        snprintf(err, errlen, "metrics must listen on loopback, not '%s'", host);
        return NULL;
    }
    ctx.m = m;
    ctx.w = w;
    http = evhttp_new(base);
    if (http == NULL) {
        snprintf(err, errlen, "cannot start the metrics listener");
        return NULL;
    }
    sock = evhttp_bind_socket_with_handle(http, host, p);
    if (sock == NULL) {
        snprintf(err, errlen, "cannot listen on %s for metrics", hostport);
        evhttp_free(http);
        return NULL;
    }
    {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        *port = p;
        if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0)
            *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    }
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET);
    evhttp_set_cb(http, "/metrics", on_metrics, &ctx);
    evhttp_set_cb(http, "/health", on_health, &ctx);
    return http;
}
