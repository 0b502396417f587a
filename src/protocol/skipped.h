/*
 * The skipped-key store's internals shared with the session code
 * (docs/PROTOCOL.md §13.1): lookups by (session tag, ratchet key, index),
 * the derivation of skipped keys into the store's unused tail, and the
 * commit and rollback of one open. Depends on the store and the key
 * schedule only: no session state.
 */
#ifndef PQ3_PROTOCOL_SKIPPED_H
#define PQ3_PROTOCOL_SKIPPED_H

#include "pq3/skipped.h"
#include "protocol/kdf.h"

/* Structure types of the lists (docs/PROTOCOL.md §2). */
#define PQ3_TYPE_SKIPPED 0x05
#define PQ3_TYPE_START_CACHE 0x06

/* §13.1: now - time >= max_age (a clock that went back counts as age 0). */
int pq3_skipped_expired(const pq3_skipped *sk, const pq3_skipped_key *e, uint64_t now);
/* Keys not expired at `now`. */
uint32_t pq3_skipped_live(const pq3_skipped *sk, uint64_t now);
/* Whether the store (may be NULL) holds a key of chain rk for the session
 * with this tag, and how many. */
int pq3_skipped_has_chain(const pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                          const uint8_t rk[32]);
uint32_t pq3_skipped_count_chain(const pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                                 const uint8_t rk[32]);

/* How many of the n first indices of a new peer chain get their keys kept
 * (§13.1): the max_jump most recent. PQ3_ERR_LIMIT for an index beyond
 * PQ3_SKIPPED_MAX_WALK, or any index without a store. */
pq3_err pq3_skipped_plan_new(const pq3_skipped *sk, uint32_t n, uint32_t *keep);

/* Derives the message keys of indices from..to-1 of chain ck (advancing ck)
 * and writes the last `keep` of them, bound to `tag`, into the store's
 * unused tail; *added counts the slots written (wipe them with
 * pq3_skipped_rollback on failure). sk may be NULL only when keep is 0. */
pq3_err pq3_skipped_derive(pq3_kdf *k, pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                           uint8_t ck[32], const uint8_t rk[32], uint32_t from, uint32_t to,
                           uint32_t keep, uint32_t *added, uint64_t now);

/* The stored key of a late message (§13.1) into mk, its position into
 * *used: PQ3_ERR_REPLAY when none is kept for this session (used already,
 * or never skipped; also for sk NULL), PQ3_ERR_EXPIRED when past max_age. */
pq3_err pq3_skipped_take(const pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                         const uint8_t rk[32], uint32_t index, uint64_t now, uint8_t mk[32],
                         long *used);

/* Commit of one open: the `added` keys written at keys[count..) become
 * live, the entry `used` (or -1) is erased, expired keys are erased, then
 * the oldest keys beyond max_keys are evicted; returns how many were
 * evicted. The generation grows when anything changed. */
uint32_t pq3_skipped_commit(pq3_skipped *sk, uint32_t added, long used, uint64_t now);
/* Failure: wipes the `added` keys written at keys[count..). sk may be NULL. */
void pq3_skipped_rollback(pq3_skipped *sk, uint32_t added);
/* Erases the keys for which keep(ctx, key) is 0, keeping the order (the
 * peer container's purge, §10.6); returns how many were erased. */
uint32_t pq3_skipped_filter(pq3_skipped *sk, int (*keep)(const void *ctx, const pq3_skipped_key *e),
                            const void *ctx);

/* pq3_skipped_deserialize into a store that is valid already (initialized or
 * loaded: its entries from count on are zero): writes only what changes.
 * With `generation` (may be NULL) the record must be of format 2 and hold
 * exactly that generation (a record of a container, §10.7).
 * Errors: those of pq3_skipped_deserialize; PQ3_ERR_ARG when sk's count is
 * out of range; PQ3_ERR_VERSION (format 1 where a generation is named),
 * PQ3_ERR_DECODE (another generation). *sk untouched on error. */
pq3_err pq3_skipped_load_over(pq3_skipped *sk, const uint8_t *in, size_t len,
                              const uint64_t *generation);

int pq3_start_cache_has(const pq3_start_cache *c, const uint8_t digest[48]);

#endif
