/*
 * The inside of a pq3d_store (server/store.h): one struct for both backends
 * and the table of operations each backend fills. store.c dispatches the
 * public functions through it; store_sqlite.c and store_pg.c implement them.
 */
#ifndef PQ3D_STORE_INT_H
#define PQ3D_STORE_INT_H

#include "store.h"

struct sqlite3;
struct pg_conn;

struct pq3d_store_ops {
    pq3_err (*begin)(pq3d_store *s);
    pq3_err (*commit)(pq3d_store *s);
    pq3_err (*rollback)(pq3d_store *s);
    pq3_err (*savepoint)(pq3d_store *s);
    pq3_err (*release)(pq3d_store *s);
    pq3_err (*undo)(pq3d_store *s);
    pq3_err (*account_get)(pq3d_store *s, const uint8_t *handle, size_t handle_len, pq3d_account *out);
    pq3_err (*account_create)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const pq3d_account *acct);
    pq3_err (*account_set_list)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t *list, size_t list_len, uint64_t version, uint64_t old_version);
    pq3_err (*device_get)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES], pq3d_device_row *out);
    pq3_err (*device_put_cert)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES], const uint8_t *cert, size_t cert_len, int listed);
    pq3_err (*device_set_listed)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES], int listed);
    pq3_err (*device_put_bundle)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES], const uint8_t *bundle, size_t bundle_len, uint64_t created);
    pq3_err (*device_delete)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES]);
    pq3_err (*devices)(pq3d_store *s, const uint8_t *handle, size_t handle_len, pq3d_device_row *out, uint32_t max, uint32_t *n);
    pq3_err (*queue_put)(pq3d_store *s, pq3d_queued *e, uint64_t now, uint32_t max_count, uint64_t max_bytes);
    pq3_err (*queue_fetch)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now, const uint64_t *skip, uint32_t n_skip, pq3d_delivery *out, uint32_t max, uint32_t *n);
    pq3_err (*queue_ack)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES], const uint64_t *ids, uint32_t n, uint32_t *deleted);
    pq3_err (*queue_count)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint64_t now, uint32_t *count, uint64_t *bytes);
    pq3_err (*queue_expire)(pq3d_store *s, uint64_t now, uint64_t *deleted);
    pq3_err (*queue_total)(pq3d_store *s, uint64_t *envelopes, uint64_t *bytes);
    pq3_err (*invite_add)(pq3d_store *s, const uint8_t hash[32], uint64_t created);
    pq3_err (*invite_use)(pq3d_store *s, const uint8_t hash[32], const uint8_t *handle, size_t handle_len, uint64_t now);
    pq3_err (*kt_pending_add)(pq3d_store *s, const pq3d_kt_pending *p);
    pq3_err (*kt_pending_accepted)(pq3d_store *s, const uint8_t *handle, size_t handle_len, uint64_t v, uint64_t *accepted, uint8_t value[32]);
    pq3_err (*kt_pending_list)(pq3d_store *s, pq3d_kt_pending *out, uint32_t max, uint32_t *n);
    pq3_err (*kt_size)(pq3d_store *s, uint64_t *size);
    pq3_err (*kt_epochs)(pq3d_store *s, uint64_t from, pq3d_kt_epoch *out, uint32_t max, uint32_t *n);
    pq3_err (*kt_entries)(pq3d_store *s, uint64_t from_e, int (*fn)(void *arg, uint64_t e, const uint8_t key[32], const uint8_t value[32]), void *arg);
    pq3_err (*kt_checkpoint)(pq3d_store *s, uint64_t e, uint8_t **note, size_t *len);
    pq3_err (*kt_publish)(pq3d_store *s, const pq3d_kt_epoch *ep, const uint8_t *note, size_t note_len, const pq3d_kt_pending *p, uint32_t n);
    pq3_err (*kt_sequencer)(pq3d_store *s, int *held);
    pq3_err (*presence_set)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES]);
    pq3_err (*presence_clear)(pq3d_store *s, const uint8_t *handle, size_t handle_len, const uint8_t device_id[PQ3_DEVICE_ID_BYTES]);
    pq3_err (*presence_reset)(pq3d_store *s);
    pq3_err (*notify)(pq3d_store *s, const char *node, const char *payload);
    void (*close)(pq3d_store *s);
    const char *backend;
};

#define PQ3D_SQ_CACHE 48

struct pq3d_store {
    const struct pq3d_store_ops *ops;
    char node[PQ3D_NODE_MAX + 1];
    char err[256];
    struct sqlite3 *db;         /* SQLite */
    struct pg_conn *pg;         /* PostgreSQL */
    uint64_t pg_prepared;       /* PostgreSQL: statements prepared, by bit */
    int sp_release;             /* PostgreSQL: a RELEASE is owed */
    struct {                    /* SQLite: prepared statements, by SQL text */
        const char *sql;
        struct sqlite3_stmt *st;
    } sq_cache[PQ3D_SQ_CACHE];
    unsigned sq_n;
};

/* The backends' constructors; `target` is the URL without its scheme. */
pq3_err pq3d_sqlite_open(pq3d_store **s, const char *target, const char *node, char *err,
                         size_t errlen);
pq3_err pq3d_pg_open(pq3d_store **s, const char *target, const char *node, char *err,
                     size_t errlen);

/* PostgreSQL's LISTEN side (store_pg.c). */
pq3_err pq3d_pg_listener_open(pq3d_listener **l, const char *target, const char *node,
                              char *err, size_t errlen);
int pq3d_pg_listener_fd(const pq3d_listener *l);
pq3_err pq3d_pg_listener_drain(pq3d_listener *l, void (*fn)(void *arg, const char *payload),
                               void *arg);
void pq3d_pg_listener_close(pq3d_listener *l);

#endif
