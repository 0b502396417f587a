/* Session internals shared by session.c, state.c and skipped.c. */
#ifndef PQ3_PROTOCOL_SESSION_H
#define PQ3_PROTOCOL_SESSION_H

#include "pq3/session.h"

/* Structure types of the lists (docs/PROTOCOL.md §2). */
#define PQ3_TYPE_SKIPPED 0x05
#define PQ3_TYPE_START_CACHE 0x06
#define PQ3_TYPE_PEER 0x07

/* sidd_send = SHA-384(SID(self -> peer)), sidd_recv = SHA-384(SID(peer ->
 * self)) (docs/PROTOCOL.md §7). Errors: PQ3_ERR_CRYPTO. */
pq3_err pq3_session_sids(pq3_session *s);

/* Skipped-key store helpers (skipped.c, §13.1). */
int pq3_skipped_expired(const pq3_skipped *sk, const pq3_skipped_key *e, uint64_t now);
uint32_t pq3_skipped_live(const pq3_skipped *sk, uint64_t now);
long pq3_skipped_find(const pq3_skipped *sk, const uint8_t rk[32], uint32_t index);
int pq3_skipped_has_chain(const pq3_skipped *sk, const uint8_t rk[32]);
uint32_t pq3_skipped_count_chain(const pq3_skipped *sk, const uint8_t rk[32]);
/* Commit: the `added` keys written at keys[count..) become live, the entry
 * `used` (or -1) is erased, expired keys are erased, then the oldest keys
 * beyond max_keys are evicted; returns how many were evicted. */
uint32_t pq3_skipped_commit(pq3_skipped *sk, uint32_t added, long used, uint64_t now);
/* Failure: wipes the `added` keys written at keys[count..). */
void pq3_skipped_rollback(pq3_skipped *sk, uint32_t added);

int pq3_start_cache_has(const pq3_start_cache *c, const uint8_t digest[48]);

#endif
