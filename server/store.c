/* pq3d's storage interface (store.h): picks the backend from the URL and
 * dispatches to it. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "pg:..." or "postgresql:..." is PostgreSQL; "sqlite:PATH" or a plain
 * path is SQLite. Returns the part after the scheme. */
static const char *target_of(const char *url, int *pg)
{
    *pg = 0;
    if (strncmp(url, "pg:", 3) == 0) {
        *pg = 1;
        return url + 3;
    }
    if (strncmp(url, "sqlite:", 7) == 0)
        return url + 7;
    return url;
}

static int node_ok(const char *node)
{
    size_t n = strlen(node);
    if (n == 0 || n > PQ3D_NODE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = node[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

pq3_err pq3d_store_open(pq3d_store **s, const char *url, const char *node, char *err,
                        size_t errlen)
{
    const char *target;
    int pg;

    if (s == NULL)
        return PQ3_ERR_ARG;
    *s = NULL;
    if (url == NULL || node == NULL || !node_ok(node)) {
        snprintf(err, errlen, "a node name is 1..%d characters of [A-Za-z0-9_-]",
                 PQ3D_NODE_MAX);
        return PQ3_ERR_ARG;
    }
    target = target_of(url, &pg);
    return pg ? pq3d_pg_open(s, target, node, err, errlen)
              : pq3d_sqlite_open(s, target, node, err, errlen);
}

void pq3d_store_close(pq3d_store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

const char *pq3d_store_backend(const pq3d_store *s)
{
    return s->ops->backend;
}

const char *pq3d_store_error(const pq3d_store *s)
{
    return s != NULL ? s->err : "";
}

void pq3d_delivery_free(pq3d_delivery *d, uint32_t n)
{
    if (d == NULL)
        return;
    for (uint32_t i = 0; i < n; i++) {
        free(d[i].msg);
        d[i].msg = NULL;
    }
}

/* ---- dispatch --------------------------------------------------------------- */

pq3_err pq3d_store_begin(pq3d_store *s)
{
    return s->ops->begin(s);
}

pq3_err pq3d_store_commit(pq3d_store *s)
{
    return s->ops->commit(s);
}

pq3_err pq3d_store_rollback(pq3d_store *s)
{
    return s->ops->rollback(s);
}

pq3_err pq3d_store_savepoint(pq3d_store *s)
{
    return s->ops->savepoint(s);
}

pq3_err pq3d_store_release(pq3d_store *s)
{
    return s->ops->release(s);
}

pq3_err pq3d_store_undo(pq3d_store *s)
{
    return s->ops->undo(s);
}

pq3_err pq3d_store_account_get(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               pq3d_account *out)
{
    return s->ops->account_get(s, handle, handle_len, out);
}

pq3_err pq3d_store_account_create(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                  const pq3d_account *acct)
{
    return s->ops->account_create(s, handle, handle_len, acct);
}

pq3_err pq3d_store_account_set_list(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                    const uint8_t *list, size_t list_len, uint64_t version,
                                    uint64_t old_version)
{
    return s->ops->account_set_list(s, handle, handle_len, list, list_len, version, old_version);
}

pq3_err pq3d_store_device_get(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                              const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                              pq3d_device_row *out)
{
    return s->ops->device_get(s, handle, handle_len, device_id, out);
}

pq3_err pq3d_store_device_put_cert(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                   const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                   const uint8_t *cert, size_t cert_len, int listed)
{
    return s->ops->device_put_cert(s, handle, handle_len, device_id, cert, cert_len, listed);
}

pq3_err pq3d_store_device_set_listed(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                     const uint8_t device_id[PQ3_DEVICE_ID_BYTES], int listed)
{
    return s->ops->device_set_listed(s, handle, handle_len, device_id, listed);
}

pq3_err pq3d_store_device_put_bundle(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                     const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                     const uint8_t *bundle, size_t bundle_len,
                                     uint64_t created)
{
    return s->ops->device_put_bundle(s, handle, handle_len, device_id, bundle, bundle_len, created);
}

pq3_err pq3d_store_device_delete(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                 const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    return s->ops->device_delete(s, handle, handle_len, device_id);
}

pq3_err pq3d_store_devices(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                           pq3d_device_row *out, uint32_t max, uint32_t *n)
{
    return s->ops->devices(s, handle, handle_len, out, max, n);
}

pq3_err pq3d_store_queue_put(pq3d_store *s, pq3d_queued *e, uint64_t now, uint32_t max_count,
                             uint64_t max_bytes)
{
    return s->ops->queue_put(s, e, now, max_count, max_bytes);
}

pq3_err pq3d_store_queue_fetch(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now,
                               const uint64_t *skip, uint32_t n_skip, pq3d_delivery *out,
                               uint32_t max, uint32_t *n)
{
    return s->ops->queue_fetch(s, handle, handle_len, device_id, now, skip, n_skip, out, max, n);
}

pq3_err pq3d_store_queue_ack(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                             const uint8_t device_id[PQ3_DEVICE_ID_BYTES], const uint64_t *ids,
                             uint32_t n, uint32_t *deleted)
{
    return s->ops->queue_ack(s, handle, handle_len, device_id, ids, n, deleted);
}

pq3_err pq3d_store_queue_count(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now,
                               uint32_t *count, uint64_t *bytes)
{
    return s->ops->queue_count(s, handle, handle_len, device_id, now, count, bytes);
}

pq3_err pq3d_store_queue_expire(pq3d_store *s, uint64_t now, uint64_t *deleted)
{
    return s->ops->queue_expire(s, now, deleted);
}

pq3_err pq3d_store_queue_total(pq3d_store *s, uint64_t *envelopes, uint64_t *bytes)
{
    return s->ops->queue_total(s, envelopes, bytes);
}

pq3_err pq3d_store_invite_add(pq3d_store *s, const uint8_t hash[32], uint64_t created)
{
    return s->ops->invite_add(s, hash, created);
}

pq3_err pq3d_store_invite_use(pq3d_store *s, const uint8_t hash[32], const uint8_t *handle,
                              size_t handle_len, uint64_t now)
{
    return s->ops->invite_use(s, hash, handle, handle_len, now);
}

pq3_err pq3d_store_presence_set(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    return s->ops->presence_set(s, handle, handle_len, device_id);
}

pq3_err pq3d_store_presence_clear(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                  const uint8_t device_id[PQ3_DEVICE_ID_BYTES])
{
    return s->ops->presence_clear(s, handle, handle_len, device_id);
}

pq3_err pq3d_store_presence_reset(pq3d_store *s)
{
    return s->ops->presence_reset(s);
}

pq3_err pq3d_store_notify(pq3d_store *s, const char *node, const char *payload)
{
    /* SQLite has one node: nobody to tell. */
    return s->ops->notify != NULL ? s->ops->notify(s, node, payload) : PQ3_OK;
}
/* ---- the LISTEN side: PostgreSQL only ------------------------------------- */

pq3_err pq3d_listener_open(pq3d_listener **l, const char *url, const char *node, char *err,
                           size_t errlen)
{
    const char *target;
    int pg;

    if (l == NULL || url == NULL || node == NULL)
        return PQ3_ERR_ARG;
    *l = NULL;
    target = target_of(url, &pg);
    return pg ? pq3d_pg_listener_open(l, target, node, err, errlen) : PQ3_OK;
}

int pq3d_listener_fd(const pq3d_listener *l)
{
    return l != NULL ? pq3d_pg_listener_fd(l) : -1;
}

pq3_err pq3d_listener_drain(pq3d_listener *l, void (*fn)(void *arg, const char *payload),
                            void *arg)
{
    return l != NULL ? pq3d_pg_listener_drain(l, fn, arg) : PQ3_OK;
}

void pq3d_listener_close(pq3d_listener *l)
{
    if (l != NULL)
        pq3d_pg_listener_close(l);
}

pq3_err pq3d_store_kt_pending_add(pq3d_store *s, const pq3d_kt_pending *p)
{
    if (p == NULL || p->handle_len == 0 || p->handle_len > PQ3_HANDLE_MAX)
        return PQ3_ERR_ARG;
    return s->ops->kt_pending_add(s, p);
}

pq3_err pq3d_store_kt_pending_accepted(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                       uint64_t v, uint64_t *accepted, uint8_t value[32])
{
    return s->ops->kt_pending_accepted(s, handle, handle_len, v, accepted, value);
}

pq3_err pq3d_store_kt_pending_list(pq3d_store *s, pq3d_kt_pending *out, uint32_t max,
                                   uint32_t *n)
{
    *n = 0;
    return s->ops->kt_pending_list(s, out, max, n);
}

pq3_err pq3d_store_kt_size(pq3d_store *s, uint64_t *size)
{
    return s->ops->kt_size(s, size);
}

pq3_err pq3d_store_kt_epochs(pq3d_store *s, uint64_t from, pq3d_kt_epoch *out, uint32_t max,
                             uint32_t *n)
{
    *n = 0;
    return s->ops->kt_epochs(s, from, out, max, n);
}

pq3_err pq3d_store_kt_entries(pq3d_store *s, uint64_t from_e,
                              int (*fn)(void *arg, uint64_t e, const uint8_t key[32],
                                        const uint8_t value[32]),
                              void *arg)
{
    return s->ops->kt_entries(s, from_e, fn, arg);
}

pq3_err pq3d_store_kt_checkpoint(pq3d_store *s, uint64_t e, uint8_t **note, size_t *len)
{
    *note = NULL;
    *len = 0;
    return s->ops->kt_checkpoint(s, e, note, len);
}

pq3_err pq3d_store_kt_publish(pq3d_store *s, const pq3d_kt_epoch *ep, const uint8_t *note,
                              size_t note_len, const pq3d_kt_pending *p, uint32_t n)
{
    if (ep == NULL || note == NULL || note_len == 0 || (p == NULL && n > 0))
        return PQ3_ERR_ARG;
    return s->ops->kt_publish(s, ep, note, note_len, p, n);
}

pq3_err pq3d_store_kt_sequencer(pq3d_store *s, int *held)
{
    *held = 0;
    return s->ops->kt_sequencer(s, held);
}
