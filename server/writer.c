#define _GNU_SOURCE
/*
 * The writer thread (docs/SERVER.md §10): it owns the store and runs jobs
 * in groups. Everything that arrived while the previous group was being
 * committed forms the next group: ONE transaction, each job inside its own
 * savepoint (a job that fails is undone alone), ONE commit, then every job
 * goes back to the loop, which only then answers. So a SEND is answered
 * after its envelopes are durable, and the cost of a commit (an fsync) is
 * shared by all the requests of the group: group commit.
 */
#include "pq3d.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_MAX 1024

struct pq3d_writer {
    pq3d_store *store;
    const pq3d_config *cfg;
    pq3d_kt *kt;                        /* transparency state, this thread's */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pq3d_job *head, *tail;              /* submitted */
    pq3d_job *done_head, *done_tail;    /* finished, for the loop */
    uint32_t pending;
    int stopping;
    int pipe_fd[2];                     /* writer -> loop: "jobs are done" */
    struct event *ev;
    void (*done)(void *arg, pq3d_job *j);
    void *arg;
    pq3d_writer_stats stats;
};

pq3d_job *pq3d_job_new(enum pq3d_job_kind kind)
{
    pq3d_job *j = calloc(1, sizeof *j);
    if (j != NULL)
        j->kind = kind;
    return j;
}

void pq3d_job_free(pq3d_job *j)
{
    if (j == NULL)
        return;
    free(j->body);
    free(j->result);
    free(j->queued);
    free(j->skip);
    pq3d_delivery_free(j->deliveries, j->n_deliveries);
    free(j->deliveries);
    free(j);
}

void pq3d_job_fail(pq3d_job *j, uint16_t status, const char *fmt, ...)
{
    va_list ap;
    j->status = status;
    va_start(ap, fmt);
    vsnprintf(j->reason, sizeof j->reason, fmt, ap);
    va_end(ap);
    free(j->result);
    j->result = NULL;
    j->result_len = 0;
}

static pq3_err run_one(pq3d_writer *w, pq3d_job *j)
{
    switch (j->kind) {
    case JOB_AUTH: return pq3d_do_auth(w->store, w->cfg, j);
    case JOB_REGISTER: return pq3d_do_register(w->store, w->cfg, w->kt, j);
    case JOB_PUBLISH: return pq3d_do_publish(w->store, w->cfg, w->kt, j);
    case JOB_BUNDLE: return pq3d_do_bundle(w->store, w->cfg, j);
    case JOB_LOOKUP: return pq3d_do_lookup(w->store, w->cfg, w->kt, j);
    case JOB_SEND: return pq3d_do_send(w->store, w->cfg, j);
    case JOB_ACK: return pq3d_do_ack(w->store, w->cfg, j);
    case JOB_FETCH: return pq3d_do_fetch(w->store, w->cfg, j);
    case JOB_PRESENCE:
        j->wrote = 1;
        return j->flag ? pq3d_store_presence_set(w->store, j->handle, j->handle_len, j->device_id)
                       : pq3d_store_presence_clear(w->store, j->handle, j->handle_len,
                                                   j->device_id);
    case JOB_KT_EPOCH: {
        pq3_err err = pq3d_kt_sequence(w->kt, w->store, j->now, &j->kt_published, &j->kt_records);
        j->wrote = 1;
        if (err == PQ3_ERR_STATE) {
            /* another sequencer published first, or the stored log is
             * not this one's: reported, the job fails alone */
            pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "%s", pq3d_store_error(w->store));
            return PQ3_OK;
        }
        return err == PQ3_OK ? PQ3_OK : PQ3_ERR_IO;
    }
    case JOB_HOUSEKEEP: {
        pq3_err err = pq3d_store_queue_expire(w->store, j->now, &j->expired);
        j->wrote = 1;
        if (err == PQ3_OK)
            err = pq3d_store_queue_total(w->store, &j->total_envelopes, &j->total_bytes);
        return err;
    }
    }
    return PQ3_ERR_ARG;
}

static void hist_add(pq3d_writer_stats *st, uint32_t n)
{
    unsigned b = 0;
    while (b < 7 && (1u << (b + 1)) <= n)
        b++;
    st->batch_hist[b]++;
}

/* After the commit: tell other nodes which of their devices got envelopes
 * (§11). One NOTIFY per node and group, outside the transaction. */
static void notify_nodes(pq3d_writer *w, pq3d_job *batch)
{
    char node[PQ3D_NODE_MAX + 1];
    char *payload = NULL;
    size_t cap = 0;
    int any = 1;

    while (any) {
        size_t len = 0;
        any = 0;
        node[0] = 0;
        for (pq3d_job *j = batch; j != NULL; j = j->next) {
            if (j->kind != JOB_SEND || j->status != PQ3_ST_OK || j->queued == NULL)
                continue;
            for (uint16_t i = 0; i < j->req.send.count; i++) {
                pq3d_queued *q = &j->queued[i];
                size_t need;
                if (q->status != PQ3_ST_OK || q->duplicate || q->node[0] == 0 ||
                    strcmp(q->node, w->cfg->node) == 0)
                    continue;
                if (node[0] == 0)
                    memcpy(node, q->node, sizeof node);
                else if (strcmp(node, q->node) != 0) {
                    any = 1;            /* another node: next round */
                    continue;
                }
                need = len + 2 * (PQ3_DEVICE_ID_BYTES + q->to_handle_len) + 3;
                if (need > cap) {
                    char *p = realloc(payload, need * 2);
                    if (p == NULL)
                        goto out;
                    payload = p;
                    cap = need * 2;
                }
                if (len > 0)
                    payload[len++] = ',';
                for (size_t k = 0; k < PQ3_DEVICE_ID_BYTES; k++)
                    len += (size_t)snprintf(payload + len, 3, "%02x", q->to_device[k]);
                payload[len++] = ':';
                for (size_t k = 0; k < q->to_handle_len; k++)
                    len += (size_t)snprintf(payload + len, 3, "%02x", q->to_handle[k]);
                payload[len] = 0;
                q->node[0] = 0;         /* done with this one */
            }
        }
        if (node[0] != 0 && len > 0) {
            if (pq3d_store_notify(w->store, node, payload) != PQ3_OK)
                pq3d_log(PQ3D_WARN, "notify_failed", "node=%s error=\"%s\"", node,
                         pq3d_store_error(w->store));
        }
    }
out:
    free(payload);
}

/* Runs one group; returns 1 when it committed. */
static int run_batch(pq3d_writer *w, pq3d_job *batch, uint32_t n)
{
    pq3_err err = pq3d_store_begin(w->store);
    int ok = err == PQ3_OK;

    if (!ok)
        pq3d_log(PQ3D_ERROR, "store_begin_failed", "error=\"%s\"", pq3d_store_error(w->store));
    for (pq3d_job *j = batch; ok && j != NULL; j = j->next) {
        if (pq3d_store_savepoint(w->store) != PQ3_OK) {
            ok = 0;
            break;
        }
        j->status = PQ3_ST_OK;
        err = run_one(w, j);
        if (err != PQ3_OK) {
            pq3d_log(PQ3D_ERROR, "store_failed", "job=%d error=\"%s\"", (int)j->kind,
                     pq3d_store_error(w->store));
            pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "storage failed");
        }
        if (err != PQ3_OK || j->status != PQ3_ST_OK) {
            if (j->kind == JOB_KT_EPOCH)
                pq3d_kt_rollback(w->kt);
            if (pq3d_store_undo(w->store) != PQ3_OK)
                ok = 0;
        } else if (pq3d_store_release(w->store) != PQ3_OK) {
            ok = 0;
        }
    }
    if (ok && pq3d_store_commit(w->store) != PQ3_OK) {
        pq3d_log(PQ3D_ERROR, "store_commit_failed", "jobs=%u error=\"%s\"", n,
                 pq3d_store_error(w->store));
        ok = 0;
    }
    if (!ok) {
        (void)pq3d_store_rollback(w->store);
        pq3d_kt_rollback(w->kt);
        for (pq3d_job *j = batch; j != NULL; j = j->next) {
            pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "storage failed; nothing was stored");
            if (j->queued != NULL)
                for (uint16_t i = 0; i < j->req.send.count; i++)
                    j->queued[i].status = PQ3_ST_UNAVAILABLE;
        }
    } else {
        notify_nodes(w, batch);
    }
    (void)n;
    return ok;
}

static void *writer_main(void *arg)
{
    pq3d_writer *w = arg;

    for (;;) {
        pq3d_job *batch, *last = NULL;
        uint32_t n = 0;

        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->head == NULL && w->stopping) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        batch = w->head;
        for (pq3d_job *j = w->head; j != NULL && n < BATCH_MAX; j = j->next) {
            last = j;
            n++;
        }
        w->head = last->next;
        if (w->head == NULL)
            w->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&w->mu);

        int committed = run_batch(w, batch, n);

        pthread_mutex_lock(&w->mu);
        if (committed)
            w->stats.commits++;
        else
            w->stats.commit_failures++;
        w->stats.jobs += n;
        hist_add(&w->stats, n);
        int was_empty = w->done_head == NULL;
        if (w->done_tail != NULL)
            w->done_tail->next = batch;
        else
            w->done_head = batch;
        w->done_tail = last;
        pthread_mutex_unlock(&w->mu);
        if (was_empty) {
            char c = 1;
            while (write(w->pipe_fd[1], &c, 1) < 0 && errno == EINTR) {
            }
        }
    }
    return NULL;
}

/* On the loop: hand finished jobs to the server. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
    pq3d_writer *w = arg;
    char buf[64];
    pq3d_job *list;
    (void)what;

    while (read(fd, buf, sizeof buf) > 0) {
    }
    pthread_mutex_lock(&w->mu);
    list = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (list != NULL) {
        pq3d_job *next = list->next;
        list->next = NULL;
        pthread_mutex_lock(&w->mu);
        w->pending--;
        pthread_mutex_unlock(&w->mu);
        w->done(w->arg, list);
        list = next;
    }
}

pq3d_writer *pq3d_writer_start(pq3d_store *store, const pq3d_config *cfg,
                               struct event_base *base,
                               void (*done)(void *arg, pq3d_job *j), void *arg, char *err,
                               size_t errlen)
{
    pq3d_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->store = store;
    w->cfg = cfg;
    w->done = done;
    w->arg = arg;
    w->kt = pq3d_kt_open(cfg, err, errlen);
    if (w->kt == NULL) {
        free(w);
        return NULL;
    }
    if (pipe2(w->pipe_fd, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        pq3d_kt_free(w->kt);
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->ev = event_new(base, w->pipe_fd[0], EV_READ | EV_PERSIST, on_done, w);
    if (w->ev == NULL || event_add(w->ev, NULL) != 0 ||
        pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        snprintf(err, errlen, "cannot start the writer thread");
        if (w->ev != NULL)
            event_free(w->ev);
        close(w->pipe_fd[0]);
        close(w->pipe_fd[1]);
        pq3d_kt_free(w->kt);
        free(w);
        return NULL;
    }
    return w;
}

void pq3d_writer_submit(pq3d_writer *w, pq3d_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->tail != NULL)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->pending++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

uint32_t pq3d_writer_pending(pq3d_writer *w)
{
    uint32_t n;
    pthread_mutex_lock(&w->mu);
    n = w->pending;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void pq3d_writer_get_stats(pq3d_writer *w, pq3d_writer_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}

void pq3d_writer_stop(pq3d_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    /* Jobs finished after the loop stopped: free them unanswered. */
    for (pq3d_job *j = w->done_head; j != NULL;) {
        pq3d_job *next = j->next;
        pq3d_job_free(j);
        j = next;
    }
    event_free(w->ev);
    close(w->pipe_fd[0]);
    close(w->pipe_fd[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pq3d_kt_free(w->kt);
    free(w);
}
