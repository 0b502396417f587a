/*
 * OpenPQ3 stores that outlive one message (docs/PROTOCOL.md §10.4, §13.1,
 * §13.2): the skipped-message-key store, which lets late messages open, and
 * the replay cache of session starts, kept with each prekey.
 *
 * Both are owned by the caller: flat structures without pointers that may
 * be copied with memcpy and are stored through their strict serializations.
 * They are filled by the session functions (session.h) and the peer device
 * container (peer.h).
 */
#ifndef PQ3_SKIPPED_H
#define PQ3_SKIPPED_H

#include "pq3/common.h"
#include "pq3/prekey.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Skipped message keys (§13.1): message keys of peer messages not yet
 * received, kept by (session, peer ratchet key, index) so that late messages
 * still open. Bounded three ways (§18): at most `max_jump` keys kept for one
 * chain by one message, at most `max_keys` kept in all, each erased after
 * `max_age` seconds or when used. A gap of more than `max_jump` on the
 * peer's current chain is rejected with PQ3_ERR_LIMIT and changes nothing;
 * a new peer chain is accepted keeping only the `max_jump` most recent keys
 * of the ending chain and of its own first indices (older ones are lost),
 * and when the store would hold more than `max_keys`, the oldest stored keys
 * are evicted (their messages are lost, the session lives). At most
 * PQ3_SKIPPED_MAX_WALK chain steps are derived for one chain by one message:
 * a new chain whose index is beyond it is rejected (PQ3_ERR_LIMIT), an
 * ending chain whose rest is beyond it keeps no keys.
 *
 * Every key is bound to the session that stored it (the first
 * PQ3_SKIPPED_TAG_BYTES bytes of its session id, §10.5): a store shared by
 * mistake between sessions with different peers never lets one peer's late
 * message open with a key of the other's session. Keys loaded from format 1
 * (which had no binding) carry a zero tag and are usable by any session of
 * the store, as they were.
 *
 * Caller-owned and flat (about 200 KB: allocate it, do not put it on a
 * small stack); holds secrets: wipe with pq3_skipped_wipe. One store per
 * session or per pq3_peer container. Entries at positions >= count are all
 * zero. `generation` grows by one with every change of the stored keys, so a
 * store that keeps this record apart from the sessions writes it only when
 * it changed and never writes an older one over a newer one.
 */
#define PQ3_SKIPPED_CAP 2048
#define PQ3_SKIPPED_MAX_KEYS (PQ3_SKIPPED_CAP / 2)
#define PQ3_SKIPPED_DEFAULT_JUMP 512u
#define PQ3_SKIPPED_DEFAULT_KEYS 1024u
#define PQ3_SKIPPED_DEFAULT_AGE 604800u
#define PQ3_SKIPPED_MAX_WALK 16384u
#define PQ3_SKIPPED_TAG_BYTES 16
/* Serialized sizes (§13.2), format 2. */
#define PQ3_SKIPPED_FORMAT_VERSION 2
#define PQ3_SKIPPED_HEADER_BYTES 34
#define PQ3_SKIPPED_ENTRY_BYTES 92
#define PQ3_SKIPPED_MAX_BYTES \
    (PQ3_SKIPPED_HEADER_BYTES + PQ3_SKIPPED_MAX_KEYS * PQ3_SKIPPED_ENTRY_BYTES)

typedef struct pq3_skipped_key {
    uint8_t session[PQ3_SKIPPED_TAG_BYTES]; /* owning session (public); zero: any */
    uint8_t ratchet_key[32];   /* public */
    uint8_t mk[32];            /* secret */
    uint64_t time;             /* `now` when it was stored */
    uint32_t index;            /* public */
    uint32_t reserved;         /* zero (no implicit padding) */
} pq3_skipped_key;

typedef struct pq3_skipped {
    uint32_t max_jump;
    uint32_t max_keys;         /* 1..PQ3_SKIPPED_MAX_KEYS */
    uint64_t max_age;          /* seconds, >= 1 */
    uint32_t count;
    uint32_t reserved;
    uint64_t generation;       /* changes so far (§13.2) */
    pq3_skipped_key keys[PQ3_SKIPPED_CAP];
} pq3_skipped;

/* Empties the store and sets its bounds: max_jump <= max_keys <=
 * PQ3_SKIPPED_MAX_KEYS, max_jump >= 1, max_age >= 1.
 * Errors: PQ3_ERR_ARG (NULL, bounds out of range; *sk untouched). */
PQ3_API PQ3_MUST_USE pq3_err pq3_skipped_init(pq3_skipped *sk, uint32_t max_jump,
                                              uint32_t max_keys, uint64_t max_age);
/* pq3_skipped_init with the defaults {512, 1024, 604800}. NULL does nothing. */
PQ3_API void pq3_skipped_init_default(pq3_skipped *sk);
/* Erases every key whose age (now - time) is >= max_age and writes how many
 * to *erased (may be NULL). Opening a message does the same on success.
 * Errors: PQ3_ERR_ARG (sk NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_skipped_expire(pq3_skipped *sk, uint64_t now,
                                                uint32_t *erased);
/* Serialized size of the store (§13.2); 0 for NULL. */
PQ3_API size_t pq3_skipped_size(const pq3_skipped *sk);
/* Serializes (§13.2, format 2) to out[0..cap). Holds secrets. Errors:
 * PQ3_ERR_ARG, PQ3_ERR_BUFFER (*out_len = size needed), PQ3_ERR_STATE (the
 * store breaks the rules of §13.2). out wiped on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_skipped_serialize(const pq3_skipped *sk, uint8_t *out,
                                                   size_t cap, size_t *out_len);
/* Strict decoder of formats 2 and 1 (§13.2): bounds in range, count <=
 * max_keys, no duplicate (session, ratchet key, index). Errors: PQ3_ERR_ARG,
 * PQ3_ERR_VERSION, PQ3_ERR_DECODE, PQ3_ERR_LIMIT (count over max_keys).
 * *sk untouched on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_skipped_deserialize(pq3_skipped *sk, const uint8_t *in,
                                                     size_t len);
/* Wipes the store (keys and bounds). NULL does nothing. */
PQ3_API void pq3_skipped_wipe(pq3_skipped *sk);

/*
 * Replay cache of session starts for one prekey (§10.4): SHA-384(E || ct0)
 * of every accepted start, kept until the prekey's secret is erased (then
 * wipe the cache with it). Bounded by `max` entries (<= PQ3_START_CACHE_CAP):
 * when full, new starts against this prekey are rejected with PQ3_ERR_LIMIT;
 * the owner then rotates the prekey (publishes a new bundle). Flat,
 * caller-owned, public data (digests only). A device stores it as its own
 * record beside the prekey secret (pq3_prekey_secret_serialize): the secret
 * never changes, the cache grows with every accepted start and must be
 * stored durably before the start's body is shown.
 */
#define PQ3_START_CACHE_CAP 2048
#define PQ3_START_CACHE_DEFAULT 2048u
typedef struct pq3_start_cache {
    uint8_t prekey_hash[PQ3_PREKEY_HASH_BYTES];
    uint32_t max;
    uint32_t count;
    uint8_t entries[PQ3_START_CACHE_CAP][48];
} pq3_start_cache;

/* An empty cache for the prekey with this hash (pq3_prekey_bundle.hash).
 * Errors: PQ3_ERR_ARG (NULL, max 0 or over PQ3_START_CACHE_CAP). */
PQ3_API PQ3_MUST_USE pq3_err pq3_start_cache_init(pq3_start_cache *c,
                                                  const uint8_t prekey_hash[PQ3_PREKEY_HASH_BYTES],
                                                  uint32_t max);
/* Serialized size (0 for NULL), serializer and strict decoder (§10.4).
 * Errors as for pq3_skipped_serialize / pq3_skipped_deserialize
 * (duplicates: DECODE). */
PQ3_API size_t pq3_start_cache_size(const pq3_start_cache *c);
PQ3_API PQ3_MUST_USE pq3_err pq3_start_cache_serialize(const pq3_start_cache *c, uint8_t *out,
                                                       size_t cap, size_t *out_len);
PQ3_API PQ3_MUST_USE pq3_err pq3_start_cache_deserialize(pq3_start_cache *c, const uint8_t *in,
                                                         size_t len);

#ifdef __cplusplus
}
#endif
#endif
