/*
 * The device's SQLite store (internal; docs/DEVICE.md §5): opening with
 * the pragmas durability needs, the schema and its migrations, write
 * transactions, and small helpers over prepared statements.
 */
#ifndef PQ3_DEVICE_STORE_H
#define PQ3_DEVICE_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "device/devutil.h"
#include "pq3/common.h"

typedef struct pq3_store {
    sqlite3 *db;
    char *errbuf;          /* the owner's error buffer (PQ3_ERRBUF_BYTES) */
    int in_tx;
} pq3_store;

/* Opens or creates the store (mode 0600), sets WAL, synchronous=FULL,
 * foreign_keys, busy_timeout, checks and migrates the schema. */
pq3_err pq3_store_open(pq3_store *st, const char *path, int busy_timeout_ms,
                       uint32_t max_pages, char *errbuf);
void pq3_store_close(pq3_store *st);

/* BEGIN IMMEDIATE (the write lock, waiting up to the busy timeout),
 * COMMIT, ROLLBACK. Commit failing (disk full) rolls back and gives
 * PQ3_ERR_IO. */
pq3_err pq3_store_begin(pq3_store *st);
pq3_err pq3_store_commit(pq3_store *st);
void pq3_store_rollback(pq3_store *st);

/* Prepares `sql` (cached per call site is not needed: statements are cheap
 * beside a seal). PQ3_ERR_IO with the reason on failure. */
pq3_err pq3_store_prepare(pq3_store *st, sqlite3_stmt **stmt, const char *sql);
/* Runs a statement to completion (no rows expected) and finalizes it. */
pq3_err pq3_store_run(pq3_store *st, sqlite3_stmt *stmt);
/* sqlite3_step on a statement: SQLITE_ROW -> 1, SQLITE_DONE -> 0, else
 * PQ3_ERR_IO (negative) with the reason. */
int pq3_store_step(pq3_store *st, sqlite3_stmt *stmt);
/* Records the database's error for rc. */
pq3_err pq3_store_fail(pq3_store *st, const char *what);

/* Copies a blob column into buf (at most cap bytes); PQ3_ERR_DECODE when
 * it is NULL or longer (a stored row that is not what we wrote). */
pq3_err pq3_store_col_blob(sqlite3_stmt *stmt, int col, uint8_t *buf, size_t cap, size_t *len);
/* A blob column of exactly n bytes. */
pq3_err pq3_store_col_fixed(sqlite3_stmt *stmt, int col, uint8_t *buf, size_t n);

#endif
