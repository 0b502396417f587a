/*
 * pq3d's storage (docs/SERVER.md §10, §11): one interface, two backends,
 * SQLite (store_sqlite.c, the default) and PostgreSQL 15 (store_pg.c).
 *
 * A store is used by ONE thread at a time (pq3d's writer thread). Writes
 * happen inside pq3d_store_begin .. pq3d_store_commit; the writer groups the
 * requests of one turn into one transaction, each inside a savepoint so a
 * request that fails is rolled back alone (group commit). Reads may run
 * inside or outside a transaction.
 *
 * Identifiers: an account is its handle (1..255 bytes, compared as bytes);
 * a device is (handle, 16-byte device id). Every function returns a pq3_err;
 * PQ3_ERR_IO means the database failed, and pq3d_store_error tells why in
 * one line. Nothing here prints.
 */
#ifndef PQ3D_STORE_H
#define PQ3D_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/account.h"
#include "pq3/common.h"
#include "pq3/identity.h"
#include "pq3/prekey.h"
#include "pq3/wire.h"

/* 59: PostgreSQL channel names ("pq3_" + node) stop at 63 bytes. */
#define PQ3D_NODE_MAX 59

typedef struct pq3d_store pq3d_store;

/*
 * Opens (creating the schema when the database is empty) the store at `url`:
 *   "sqlite:PATH"   SQLite file PATH (WAL, synchronous=FULL, mode 0600)
 *   "pg:CONNINFO"   PostgreSQL through libpq (CONNINFO as PQconnectdb takes it)
 * A plain path (no scheme) is SQLite. `node` (1..59 bytes of [A-Za-z0-9_-])
 * names this pq3d process for presence (§11). On error *s = NULL and err
 * (may be NULL) holds one line. Errors: PQ3_ERR_ARG, PQ3_ERR_IO,
 * PQ3_ERR_VERSION (the schema is newer than this build), PQ3_ERR_NOMEM.
 */
pq3_err pq3d_store_open(pq3d_store **s, const char *url, const char *node, char *err,
                        size_t errlen);
void pq3d_store_close(pq3d_store *s);
/* "sqlite" or "postgresql". */
const char *pq3d_store_backend(const pq3d_store *s);
/* The last error, one line ("" when none). */
const char *pq3d_store_error(const pq3d_store *s);

/* Transactions. begin starts one (SQLite: BEGIN IMMEDIATE); commit makes it
 * durable before it returns. Savepoints nest inside a transaction, one level
 * is enough: savepoint, then release (keep) or undo (roll back to it). */
pq3_err pq3d_store_begin(pq3d_store *s);
pq3_err pq3d_store_commit(pq3d_store *s);
pq3_err pq3d_store_rollback(pq3d_store *s);
pq3_err pq3d_store_savepoint(pq3d_store *s);
pq3_err pq3d_store_release(pq3d_store *s);
pq3_err pq3d_store_undo(pq3d_store *s);

/* ---- accounts ------------------------------------------------------------- */

typedef struct pq3d_account {
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t list[PQ3_DEVICE_LIST_MAX_BYTES];    /* the current device list, as signed */
    size_t list_len;
    uint64_t version;
} pq3d_account;

/* PQ3_ERR_UNKNOWN when the handle is not registered. */
pq3_err pq3d_store_account_get(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               pq3d_account *out);
/* Registers a handle. PQ3_ERR_STATE when it is taken (also when another
 * node took it concurrently: the unique key decides). */
pq3_err pq3d_store_account_create(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                  const pq3d_account *acct);
/* Replaces the list when the stored version is `old_version` (compare and
 * set); PQ3_ERR_STATE otherwise (another node changed it), PQ3_ERR_UNKNOWN
 * when there is no such account. */
pq3_err pq3d_store_account_set_list(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                    const uint8_t *list, size_t list_len, uint64_t version,
                                    uint64_t old_version);

/* ---- devices -------------------------------------------------------------- */

typedef struct pq3d_device_row {
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t listed;                             /* named by the current list */
    uint8_t cert[PQ3_CERT_MAX_BYTES];
    size_t cert_len;
    uint8_t bundle[PQ3_PREKEY_BUNDLE_BYTES];
    size_t bundle_len;                          /* 0: none */
    uint64_t bundle_created;
} pq3d_device_row;

/* PQ3_ERR_UNKNOWN when there is no row. */
pq3_err pq3d_store_device_get(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                              const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                              pq3d_device_row *out);
/* Inserts the device or replaces its certificate; sets `listed`. The
 * account must exist (PQ3_ERR_UNKNOWN). */
pq3_err pq3d_store_device_put_cert(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                   const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                   const uint8_t *cert, size_t cert_len, int listed);
/* PQ3_ERR_UNKNOWN when there is no such device. */
pq3_err pq3d_store_device_set_listed(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                     const uint8_t device_id[PQ3_DEVICE_ID_BYTES], int listed);
pq3_err pq3d_store_device_put_bundle(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                     const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                     const uint8_t *bundle, size_t bundle_len,
                                     uint64_t created);
/* Deletes the device with its bundle, its queue and its presence (a device
 * removed from its account's list). An unknown device is no error. */
pq3_err pq3d_store_device_delete(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                 const uint8_t device_id[PQ3_DEVICE_ID_BYTES]);
/* Every device row of the account, ordered by device id, up to `max`.
 * Errors: PQ3_ERR_LIMIT (more than max rows). */
pq3_err pq3d_store_devices(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                           pq3d_device_row *out, uint32_t max, uint32_t *n);

/* ---- queues --------------------------------------------------------------- */

/* One envelope to queue. Inputs, then outputs filled by queue_put. */
typedef struct pq3d_queued {
    const uint8_t *to_handle;
    size_t to_handle_len;
    uint8_t to_device[PQ3_DEVICE_ID_BYTES];
    const uint8_t *from_handle;
    size_t from_handle_len;
    uint8_t from_device[PQ3_DEVICE_ID_BYTES];
    uint8_t msg_id[16];
    const uint8_t *msg;
    size_t msg_len;
    uint64_t stored_at;
    uint64_t expires;
    /* outputs */
    uint8_t status;                 /* PQ3_ST_OK, PQ3_ST_NOT_FOUND, PQ3_ST_QUEUE_FULL */
    uint8_t duplicate;              /* OK because (device, msg_id) was already queued */
    uint64_t queue_id;              /* the row's id (>= 1) when OK */
    char node[PQ3D_NODE_MAX + 1];   /* the node holding the device's connection, "" none */
} pq3d_queued;

/*
 * Queues one envelope for (to_handle, to_device): NOT_FOUND when that device
 * is not listed; QUEUE_FULL when its queue holds max_count envelopes or
 * adding this one would pass max_bytes (expired envelopes not counted);
 * OK with duplicate = 1 and the existing id when (device, msg_id) is
 * queued. A status other than OK is not an error (returns PQ3_OK). A
 * queue that looks full first deletes its own expired envelopes (their
 * lifetime ended; otherwise they go at the next queue_expire).
 */
pq3_err pq3d_store_queue_put(pq3d_store *s, pq3d_queued *e, uint64_t now, uint32_t max_count,
                             uint64_t max_bytes);

/* One queued envelope read back. msg is malloc'd: pq3d_delivery_free. */
typedef struct pq3d_delivery {
    uint64_t queue_id;
    uint8_t from_handle[PQ3_HANDLE_MAX];
    size_t from_handle_len;
    uint8_t from_device[PQ3_DEVICE_ID_BYTES];
    uint8_t msg_id[16];
    uint64_t stored_at;
    uint8_t *msg;
    size_t msg_len;
} pq3d_delivery;
void pq3d_delivery_free(pq3d_delivery *d, uint32_t n);

/* Up to max unexpired envelopes of the device's queue, lowest id first,
 * leaving out the ids in skip[0..n_skip) (those already pushed). */
pq3_err pq3d_store_queue_fetch(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now,
                               const uint64_t *skip, uint32_t n_skip, pq3d_delivery *out,
                               uint32_t max, uint32_t *n);
/* Deletes the listed ids from THIS device's queue only; others are ignored.
 * *deleted (may be NULL) = how many rows went. */
pq3_err pq3d_store_queue_ack(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                             const uint8_t device_id[PQ3_DEVICE_ID_BYTES], const uint64_t *ids,
                             uint32_t n, uint32_t *deleted);
/* Unexpired envelopes and their bytes queued for the device. */
pq3_err pq3d_store_queue_count(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                               const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now,
                               uint32_t *count, uint64_t *bytes);
/* Deletes envelopes whose lifetime ended (expires <= now). */
pq3_err pq3d_store_queue_expire(pq3d_store *s, uint64_t now, uint64_t *deleted);
/* All queued envelopes and bytes (metrics). */
pq3_err pq3d_store_queue_total(pq3d_store *s, uint64_t *envelopes, uint64_t *bytes);

/* ---- invitations ----------------------------------------------------------- */

/* Stores the SHA-256 of a token (the token itself is never stored). */
pq3_err pq3d_store_invite_add(pq3d_store *s, const uint8_t hash[32], uint64_t created);
/* Marks the token used by `handle`: PQ3_ERR_UNKNOWN when it does not exist
 * or was used. */
pq3_err pq3d_store_invite_use(pq3d_store *s, const uint8_t hash[32], const uint8_t *handle,
                              size_t handle_len, uint64_t now);

/* ---- presence (§11) ---------------------------------------------------------- */

/* This store's node holds the device's connection now (replacing any node). */
pq3_err pq3d_store_presence_set(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                const uint8_t device_id[PQ3_DEVICE_ID_BYTES]);
/* Removes the device's presence if it is this node's. */
pq3_err pq3d_store_presence_clear(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                  const uint8_t device_id[PQ3_DEVICE_ID_BYTES]);
/* Removes every presence row of this node (at start). */
pq3_err pq3d_store_presence_reset(pq3d_store *s);
/* ---- key transparency (docs/TRANSPARENCY.md §3, §4, §7) -------------------- */

/* A record accepted by REGISTER or PUBLISH_LIST and not yet in an epoch:
 * its map key (VRF, computed on acceptance) and value. */
typedef struct pq3d_kt_pending {
    uint64_t id;                        /* order of acceptance (set by the store) */
    uint8_t handle[PQ3_HANDLE_MAX];
    size_t handle_len;
    uint64_t v;
    uint8_t key[32];
    uint8_t value[32];
    uint64_t accepted;                  /* Unix seconds */
} pq3d_kt_pending;

/* One epoch: the log's leaf e (TRANSPARENCY.md §3). */
typedef struct pq3d_kt_epoch {
    uint64_t e, time;
    uint8_t map_root[32];
} pq3d_kt_epoch;

/* Inside a transaction, beside the account change it logs. */
pq3_err pq3d_store_kt_pending_add(pq3d_store *s, const pq3d_kt_pending *p);
/* When (h, v) was accepted, while it is pending. PQ3_ERR_UNKNOWN: not
 * pending (in an epoch, or never accepted). */
pq3_err pq3d_store_kt_pending_accepted(pq3d_store *s, const uint8_t *handle, size_t handle_len,
                                       uint64_t v, uint64_t *accepted, uint8_t value[32]);
/* Up to max pending records, oldest first. */
pq3_err pq3d_store_kt_pending_list(pq3d_store *s, pq3d_kt_pending *out, uint32_t max,
                                   uint32_t *n);
/* The number of epochs published (the log's size). */
pq3_err pq3d_store_kt_size(pq3d_store *s, uint64_t *size);
/* Epochs from..from+max-1 that exist, in order. */
pq3_err pq3d_store_kt_epochs(pq3d_store *s, uint64_t from, pq3d_kt_epoch *out, uint32_t max,
                             uint32_t *n);
/* Calls fn for every map entry added in epochs >= from_e, in epoch order;
 * fn returning non-zero stops with PQ3_ERR_NOMEM. */
pq3_err pq3d_store_kt_entries(pq3d_store *s, uint64_t from_e,
                              int (*fn)(void *arg, uint64_t e, const uint8_t key[32],
                                        const uint8_t value[32]),
                              void *arg);
/* The checkpoint note of epoch e (the log's state after it), malloc'd into
 * *note. PQ3_ERR_UNKNOWN: no such epoch. */
pq3_err pq3d_store_kt_checkpoint(pq3d_store *s, uint64_t e, uint8_t **note, size_t *len);
/* Publishes epoch ep->e: its row with the checkpoint note, the map entries
 * of the n records (which leave the pending table). PQ3_ERR_STATE when
 * epoch e exists already (another sequencer published it: reload). */
pq3_err pq3d_store_kt_publish(pq3d_store *s, const pq3d_kt_epoch *ep, const uint8_t *note,
                              size_t note_len, const pq3d_kt_pending *p, uint32_t n);
/* Whether this node may sequence epochs (§7): PostgreSQL takes (or keeps)
 * the session advisory lock 0x7071336b; SQLite has one node: always. */
pq3_err pq3d_store_kt_sequencer(pq3d_store *s, int *held);

/*
 * Tells `node` that the listed devices have new envelopes: PostgreSQL
 * NOTIFY on channel "pq3_<node>" with a payload of hex "deviceid:handlehex"
 * items separated by ',' (split over several NOTIFYs when longer than
 * 7000 bytes). Must be called OUTSIDE a transaction (after the commit).
 * SQLite: nothing (one node). */
pq3_err pq3d_store_notify(pq3d_store *s, const char *node, const char *payload);

/*
 * The receiving side of notify: a separate connection that LISTENs on this
 * node's channel, for pq3d's event loop. SQLite: *l = NULL and PQ3_OK
 * (nothing to listen to).
 */
typedef struct pq3d_listener pq3d_listener;
pq3_err pq3d_listener_open(pq3d_listener **l, const char *url, const char *node, char *err,
                           size_t errlen);
/* Its socket, to watch for reading (-1 when closed). */
int pq3d_listener_fd(const pq3d_listener *l);
/* Reads what arrived and calls fn(arg, payload) once per notification.
 * PQ3_ERR_IO when the connection broke (reopen it). */
pq3_err pq3d_listener_drain(pq3d_listener *l, void (*fn)(void *arg, const char *payload),
                            void *arg);
void pq3d_listener_close(pq3d_listener *l);

#endif
