/*
 * Several sessions with one peer device (docs/PROTOCOL.md §10.5, §10.6):
 * a container that routes every incoming message of that device to the
 * right session, creates a session for a new start, picks the session to
 * send on so that both ends converge on one, and drops the others once the
 * peer has moved.
 *
 * pq3_peer is owned by the caller: a flat structure without pointers that
 * may be copied with memcpy and stored with pq3_peer_serialize. It holds up
 * to PQ3_PEER_MAX_SESSIONS sessions and ONE skipped-key store shared by all
 * of them (§10.6): skipped keys are kept by (peer ratchet key, index) and
 * ratchet keys are fresh per chain, so the sessions' keys never collide, and
 * one store (about 160 KB) costs a quarter of one store per session. The
 * whole container is about 200 KB: allocate it, do not put it on a small
 * stack. It holds secrets: wipe it with pq3_peer_wipe.
 *
 * Every operation works so that a failure leaves the container byte for
 * byte as it was. Time is the caller's `now` (u64 seconds).
 *
 * Persisting (§10.7). As for a single session (session.h): the container
 * after a seal must be stored durably before the message leaves, and after
 * an open before the body is shown or acknowledged; a stored copy is never
 * replaced by an older one. Every change raises `generation` (and the
 * changed session's or store's own generation). A store need not rewrite
 * the whole ~200 KB container for every message: it can keep it as
 * records, the header (pq3_peer_header_serialize, under 300 bytes), one
 * record per session (pq3_session_serialize, keyed by session id) and the
 * skipped-key store (pq3_skipped_serialize), write after each operation
 * only the records whose generation grew (an in-order message changes the
 * header and one session, a few KB), delete the session records the header
 * no longer names, and load them with pq3_peer_load, which refuses records
 * older or newer than the header names.
 */
#ifndef PQ3_PEER_H
#define PQ3_PEER_H

#include "pq3/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sessions held per peer device (§18). A new session beyond it evicts the
 * least recently active one (§10.6). */
#define PQ3_PEER_MAX_SESSIONS 4
/* Sessions whose last activity is within this many seconds of the most
 * recent one count as equally recent: the lowest session id among them is
 * the one to send on (§10.6). */
#define PQ3_PEER_TIE_SECONDS 60u
/* A session other than the one to send on is dropped once at least
 * PQ3_PEER_DROP_MESSAGES activities (messages received, sessions created)
 * happened on the device's other sessions since its last activity and that
 * activity is at least PQ3_PEER_DROP_SECONDS old (§10.6). */
#define PQ3_PEER_DROP_MESSAGES 4u
#define PQ3_PEER_DROP_SECONDS 600u
/* Largest serialized container (§10.6): header, every session at its
 * largest, the store at its fullest. */
#define PQ3_PEER_HEADER_BYTES 24
#define PQ3_PEER_SLOT_BYTES 18
#define PQ3_PEER_MAX_BYTES                                                                  \
    (PQ3_PEER_HEADER_BYTES + PQ3_PEER_MAX_SESSIONS * (PQ3_PEER_SLOT_BYTES + PQ3_STATE_MAX_BYTES) + \
     4 + PQ3_SKIPPED_MAX_BYTES)
/* Format version of the serialized container (§10.6, type 0x07); format 1
 * still loads. */
#define PQ3_PEER_FORMAT_VERSION 2
/* The header record (§10.7, type 0x09): its format and largest size. */
#define PQ3_PEER_HEADER_FORMAT_VERSION 1
#define PQ3_PEER_RECORD_MAX_BYTES (32 + PQ3_PEER_MAX_SESSIONS * 56)

/* One session and when it was last active. */
typedef struct pq3_peer_slot {
    uint64_t active;      /* `now` of its creation or of the last message received on it */
    uint64_t seq;         /* the container's counter at that moment (unique, increasing) */
    pq3_session session;
} pq3_peer_slot;

/*
 * The container. Slots 0..count-1 are in use, in no particular order;
 * slots at positions >= count are all zero. `counter` counts activities
 * (sessions created, messages received); the slots' seq values are distinct
 * and at most counter. Treat the fields as private (tests read them).
 */
typedef struct pq3_peer {
    uint32_t count;
    uint32_t reserved;    /* zero (no implicit padding) */
    uint64_t counter;
    uint64_t generation;  /* changes so far (§10.7); 0 after loading format 1 */
    pq3_peer_slot slots[PQ3_PEER_MAX_SESSIONS];
    pq3_skipped store;    /* skipped keys of all the sessions (§13.1) */
} pq3_peer;

/* An empty container whose store has these bounds (pq3_skipped_init).
 * Errors: PQ3_ERR_ARG (NULL, bounds out of range; *p untouched). */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_init(pq3_peer *p, uint32_t max_jump, uint32_t max_keys,
                                           uint64_t max_age);
/* pq3_peer_init with the store's defaults. NULL does nothing. */
PQ3_API void pq3_peer_init_default(pq3_peer *p);
/* Wipes every session and the store. NULL does nothing. */
PQ3_API void pq3_peer_wipe(pq3_peer *p);

/*
 * Starts a new session as initiator (pq3_session_start, §10.2) and adds it,
 * active at `now`. When the container is full the least recently active
 * session is evicted first (§10.6) and wiped with its skipped keys.
 * Errors: those of pq3_session_start, plus PQ3_ERR_ARG (the certificates
 * name another pair of devices than the sessions held). On error *p is
 * unchanged.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_start(pq3_peer *p, const pq3_device_cert *self,
                                            const pq3_device_cert *peer,
                                            const pq3_prekey_bundle *bundle, uint64_t now,
                                            const pq3_rng *rng);

/*
 * Opens a message from the peer device (§10.6 routing): a message whose
 * ratchet key is a session's current or previous peer ratchet key goes to
 * that session; one whose ratchet key has keys in the store to the session
 * to send on first (then the others); a START with an unknown ratchet key
 * creates a session with pq3_session_accept_ex against `prekey` and `cache`
 * (evicting the least recently active session when full); any other key is
 * offered, as a new peer chain, to every session that expects one, most
 * preferred first, until one opens it. On success the session becomes
 * active at `now`, stale sessions are dropped (pq3_peer_prune), and its
 * session id is written to session_id (may be NULL).
 * `prekey` (NULL: starts are refused) is our prekey whose hash the START
 * names (find it with pq3_message_peek); `cache` may be NULL (no replay
 * protection, §10.4). Body and info as for pq3_session_open_ex.
 * Errors: PQ3_ERR_ARG (NULL, certificates of another pair), PQ3_ERR_BUFFER,
 * PQ3_ERR_VERSION, PQ3_ERR_DECODE (malformed); PQ3_ERR_UNKNOWN (no session
 * of this device opens it: an unknown ratchet key, no session expecting a
 * new chain, or a START without `prekey`); PQ3_ERR_REPLAY (a START whose
 * session id is held, its first chain forgotten); otherwise the error of the
 * routed session's open or accept (PQ3_ERR_VERIFY, PQ3_ERR_REPLAY,
 * PQ3_ERR_LIMIT, PQ3_ERR_EXPIRED, PQ3_ERR_KEY, ...); when several sessions
 * were tried, the first error other than PQ3_ERR_VERIFY and
 * PQ3_ERR_UNKNOWN, else PQ3_ERR_UNKNOWN. On error *p and *cache are
 * unchanged and the body buffer is wiped.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_open(pq3_peer *p, const pq3_device_cert *self,
                                           const pq3_device_cert *peer,
                                           const pq3_prekey_secret *prekey,
                                           pq3_start_cache *cache, uint64_t now,
                                           const uint8_t *msg, size_t msg_len, uint8_t *body,
                                           size_t body_cap, pq3_opened *info,
                                           uint8_t session_id[32]);

/*
 * The slot of the session to send on (§10.6): the most recently active,
 * where activities within PQ3_PEER_TIE_SECONDS of the most recent tie and
 * the lowest session id (byte-wise) among the tied wins; into *slot.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_STATE (no session).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_current(const pq3_peer *p, uint32_t *slot);

/* The slot holding the session with this id, into *slot. Errors:
 * PQ3_ERR_ARG (NULL), PQ3_ERR_UNKNOWN (no such session). */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_find(const pq3_peer *p, const uint8_t session_id[32],
                                           uint32_t *slot);

/*
 * Seals on the session to send on (pq3_peer_current) with pq3_session_seal;
 * its session id is written to session_id (may be NULL). Sending does not
 * change which session is current. Store the container before the message
 * leaves (§10.7). Errors: PQ3_ERR_STATE (no session), and those of
 * pq3_session_seal. On error *p is unchanged and out wiped.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_seal(pq3_peer *p, const pq3_signer *signer,
                                           const pq3_rekey_policy *policy, uint64_t now,
                                           const pq3_rng *rng, uint8_t content_type,
                                           const uint8_t *body, size_t body_len,
                                           const uint8_t *ad, size_t ad_len, uint8_t *out,
                                           size_t cap, size_t *out_len, uint8_t session_id[32]);

/*
 * Drops every session other than the current one that is stale at `now`
 * (§10.6: PQ3_PEER_DROP_MESSAGES activities on other sessions since its
 * last activity, which is at least PQ3_PEER_DROP_SECONDS old), wiping
 * it and the skipped keys no remaining session can use. Returns how many
 * were dropped (0 for NULL).
 */
PQ3_API uint32_t pq3_peer_prune(pq3_peer *p, uint64_t now);

/*
 * Delivery receipts (§16.1) on the session to send on, as
 * pq3_session_receipt_due / pq3_session_seal_receipt with the container's
 * store. pq3_peer_receipt_due: 1 when a receipt is due now, 0 otherwise or
 * for NULL or an empty container. pq3_peer_seal_receipt writes the session
 * id used to session_id (may be NULL). Errors: PQ3_ERR_STATE (no session),
 * and those of pq3_session_seal_receipt. On error *p is unchanged.
 */
PQ3_API int pq3_peer_receipt_due(const pq3_peer *p, const pq3_rekey_policy *policy,
                                 uint64_t now);
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_seal_receipt(pq3_peer *p, const pq3_signer *signer,
                                                   const pq3_rekey_policy *policy, uint64_t now,
                                                   const pq3_rng *rng, uint8_t *out, size_t cap,
                                                   size_t *out_len, uint8_t session_id[32]);

/* Serialized size (§10.6) into *size. Errors: PQ3_ERR_ARG (NULL),
 * PQ3_ERR_STATE (the container breaks its rules). */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_size(const pq3_peer *p, size_t *size);

/*
 * Serializes (§10.6, type 0x07) to out[0..cap); at most PQ3_PEER_MAX_BYTES.
 * Holds secrets. Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_BUFFER (*out_len =
 * size needed), PQ3_ERR_STATE (the container or a session breaks its
 * rules). out is wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_serialize(const pq3_peer *p, uint8_t *out, size_t cap,
                                                size_t *out_len);

/*
 * Strict decoder of formats 2 and 1 (§10.6): structure, counts, seq
 * values, every session (pq3_session_deserialize: its keys re-validated),
 * all sessions between the same two devices with distinct session ids, the
 * store (pq3_skipped_deserialize). *p must be a container already
 * (pq3_peer_init, or a previous load): only what changes is written, so a
 * load costs what the bytes it reads cost, not a wipe of the ~250 KB
 * structure. Errors: PQ3_ERR_ARG (NULL, *p not a container), PQ3_ERR_VERSION,
 * PQ3_ERR_DECODE, PQ3_ERR_LIMIT (more sessions than PQ3_PEER_MAX_SESSIONS,
 * store over its bounds), PQ3_ERR_KEY, PQ3_ERR_CRYPTO. *p untouched on
 * error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_deserialize(pq3_peer *p, const uint8_t *in, size_t len);

/*
 * The header record (§10.7, type 0x09; at most PQ3_PEER_RECORD_MAX_BYTES):
 * the container's counters and generation, the store's generation, and per
 * session its id, activity and generation. Errors: PQ3_ERR_ARG,
 * PQ3_ERR_BUFFER (*out_len = size needed), PQ3_ERR_STATE. out wiped on
 * error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_header_serialize(const pq3_peer *p, uint8_t *out,
                                                       size_t cap, size_t *out_len);

/*
 * Loads a container from its records (§10.7): the header record, the
 * n_sessions session records (pq3_session_serialize; in any order) and the
 * store record (pq3_skipped_serialize, format 2). Strict like
 * pq3_peer_deserialize, and each record must be the one the header names:
 * the same set of session ids, each session and the store at exactly the
 * generation the header lists (a stale or newer record: PQ3_ERR_DECODE).
 * *p must be a container already (pq3_peer_init, or a previous load or
 * deserialize): only what changes is written, so a load costs about what
 * the records it reads cost, not the 250 KB of the container.
 * Errors: PQ3_ERR_ARG (NULL, *p not a container), PQ3_ERR_VERSION, PQ3_ERR_DECODE, PQ3_ERR_LIMIT,
 * PQ3_ERR_KEY, PQ3_ERR_CRYPTO. *p untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_peer_load(pq3_peer *p, const uint8_t *header, size_t header_len,
                                           const uint8_t *const sessions[],
                                           const size_t session_lens[], size_t n_sessions,
                                           const uint8_t *store, size_t store_len);

#ifdef __cplusplus
}
#endif
#endif
