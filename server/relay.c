/*
 * The relay (docs/SERVER.md §5.6, §5.7, §8), run on the writer thread:
 * queueing envelopes, deleting acknowledged ones, reading a device's queue
 * for pushing. Durability is the writer's: these run inside its group's
 * transaction and are answered after its commit.
 */
#include "pq3d.h"

#include <stdlib.h>
#include <string.h>

pq3_err pq3d_do_send(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j)
{
    const pq3_wire_send *m = &j->req.send;
    pq3_wire_send_result res;
    pq3_err err;

    j->queued = calloc(m->count, sizeof *j->queued);
    if (j->queued == NULL) {
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "out of memory");
        return PQ3_OK;
    }
    j->wrote = 1;
    memset(&res, 0, sizeof res);
    res.count = m->count;
    for (uint16_t i = 0; i < m->count; i++) {
        pq3d_queued *q = &j->queued[i];
        q->to_handle = m->env[i].to_handle.p;
        q->to_handle_len = m->env[i].to_handle.len;
        memcpy(q->to_device, m->env[i].to_device, PQ3_DEVICE_ID_BYTES);
        /* The sender is the authenticated device, never what the body says. */
        q->from_handle = j->handle;
        q->from_handle_len = j->handle_len;
        memcpy(q->from_device, j->device_id, PQ3_DEVICE_ID_BYTES);
        memcpy(q->msg_id, m->env[i].msg_id, sizeof q->msg_id);
        q->msg = m->env[i].msg.p;
        q->msg_len = m->env[i].msg.len;
        q->stored_at = j->now;
        q->expires = j->now + cfg->message_ttl;
        err = pq3d_store_queue_put(s, q, j->now, cfg->queue_max, cfg->queue_max_bytes);
        if (err != PQ3_OK)
            return err;
        res.status[i] = q->status;
    }
    j->result = malloc(2 + PQ3_WIRE_MAX_SEND);
    if (j->result == NULL ||
        pq3_wire_send_result_encode(j->result, 2 + PQ3_WIRE_MAX_SEND, &j->result_len, &res) !=
            PQ3_OK)
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "cannot encode the result");
    return PQ3_OK;
}

pq3_err pq3d_do_ack(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j)
{
    uint32_t deleted = 0;
    (void)cfg;
    j->wrote = 1;
    /* Only this device's own queue: queue_ack ignores other devices' ids. */
    pq3_err err = pq3d_store_queue_ack(s, j->handle, j->handle_len, j->device_id,
                                       j->req.ack.ids, j->req.ack.count, &deleted);
    j->queued_count = deleted;
    return err;
}

pq3_err pq3d_do_fetch(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j)
{
    (void)cfg;
    if (j->fetch_max == 0)
        return PQ3_OK;
    j->deliveries = calloc(j->fetch_max, sizeof *j->deliveries);
    if (j->deliveries == NULL) {
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "out of memory");
        return PQ3_OK;
    }
    return pq3d_store_queue_fetch(s, j->handle, j->handle_len, j->device_id, j->now, j->skip,
                                  j->n_skip, j->deliveries, j->fetch_max, &j->n_deliveries);
}
