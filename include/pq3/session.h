/*
 * OpenPQ3 sessions (docs/PROTOCOL.md §7-§14): the hybrid session start, the
 * symmetric, ECDH and ML-KEM-768 ratchets, the rekey policy, sealing and
 * opening messages, and the session state's serialization.
 *
 * The state (pq3_session) is owned by the caller: a flat structure without
 * pointers that may be copied with memcpy and stored with
 * pq3_session_serialize. It holds private keys: wipe it with
 * pq3_session_wipe. Every operation works on a copy and commits only when
 * everything succeeded, so a failed seal or open leaves the state exactly as
 * it was. Peer keys are validated once (when the session is created or
 * deserialized) and kept validated.
 *
 * Out-of-order delivery (§13.1) needs a skipped-key store (pq3_skipped,
 * skipped.h), also owned by the caller and passed to pq3_session_open_ex /
 * pq3_session_accept_ex; without one (pq3_session_open, pq3_session_accept)
 * a message that skips ahead is rejected with PQ3_ERR_LIMIT and one already
 * processed with PQ3_ERR_REPLAY. Session starts are checked against a
 * per-prekey replay cache (pq3_start_cache, §10.4). Every list the state
 * holds is bounded (§18). Time is always the caller's `now` (u64 seconds);
 * randomness comes from the caller's pq3_rng (NULL: system generator).
 *
 * Persisting a state (§14.1). Sealing draws no randomness within a chain:
 * the message keys follow from the chain key alone. A state restored from an
 * older copy and used to seal a different body therefore encrypts it under
 * a key and IV already used (AES-CTR: the XOR of the two bodies leaks), and
 * one restored after an open accepts that message again. So the state after
 * a seal must be stored durably before the message leaves the device, and
 * the state after an open before the body is shown or acknowledged. Every
 * change raises `generation`; a store refuses to write a state whose
 * generation is not greater than the one it holds, and never rolls back.
 */
#ifndef PQ3_SESSION_H
#define PQ3_SESSION_H

#include "pq3/common.h"
#include "pq3/crypto.h"
#include "pq3/identity.h"
#include "pq3/message.h"
#include "pq3/mlkem.h"
#include "pq3/padme.h"
#include "pq3/prekey.h"
#include "pq3/skipped.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Serialized state size bounds (§14). */
#define PQ3_STATE_MAX_BYTES 12000
/* Format version of the serialized session state (§14). */
#define PQ3_STATE_FORMAT_VERSION 4

/*
 * Rekey policy (§11.3). Defaults: 50 messages, 7 days, not constrained.
 * `constrained` is a per-call hint (the link is costly): it defers the
 * message-count trigger of an ML-KEM step, never the age trigger.
 * `receipt_interval` (seconds,
 * default 0) rate-limits delivery receipts (§16.1): at most one per received
 * peer chain and at most one per receipt_interval seconds.
 */
typedef struct pq3_rekey_policy {
    uint32_t max_messages;
    uint64_t max_age;
    uint8_t constrained;
    uint32_t receipt_interval;
} pq3_rekey_policy;

/* The default policy: {50, 604800, 0, 0}. */
PQ3_API pq3_rekey_policy pq3_rekey_policy_default(void);

/* One side of a session (public data). */
typedef struct pq3_session_party {
    uint8_t handle[PQ3_HANDLE_MAX];
    uint8_t handle_len;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t auth_pub[PQ3_ECDSA_PUB_BYTES];
} pq3_session_party;

/* Ratchet keys of ended peer chains remembered to recognize their copies as
 * replays (§13, §14, §18). */
#define PQ3_PREV_PEER_KEYS 8

/* Session state flags (§14). */
#define PQ3_ST_SEND 0x01u
#define PQ3_ST_RECV 0x02u
#define PQ3_ST_MY_OFFER 0x04u
#define PQ3_ST_PEER_OFFER 0x08u
#define PQ3_ST_INITIATOR 0x10u

/*
 * The session state. Fields are documented in docs/PROTOCOL.md §14; callers
 * should treat them as private (tests read them). Fields that are absent
 * according to `flags` are all zero.
 */
typedef struct pq3_session {
    uint8_t version;           /* negotiated protocol version */
    uint8_t flags;             /* PQ3_ST_* */
    uint8_t send_ext;          /* START/EK/CT of our current chain */
    uint8_t recv_ext;          /* START/EK/CT of the peer's current chain */
    pq3_session_party self;
    pq3_session_party peer;
    pq3_ecdsa_pub peer_auth;   /* peer.auth_pub, imported once */
    uint8_t sidd_send[48];     /* SHA-384(SID(self -> peer)) */
    uint8_t sidd_recv[48];     /* SHA-384(SID(peer -> self)) */
    uint8_t rk[32];
    uint32_t pns;              /* previous chain length (ours) */
    uint8_t peer_pub[32];      /* peer's current ratchet key */
    pq3_ecdh_peer peer_point;  /* peer_pub, imported once */
    uint32_t pq_count;
    uint64_t pq_time;
    uint8_t cks[32];           /* sending chain key (SEND) */
    uint32_t ns;               /* next send index (SEND) */
    uint8_t my_priv[32];       /* our ratchet scalar (SEND) */
    uint8_t my_pub[32];
    uint8_t ckr[32];           /* receiving chain key (RECV) */
    uint32_t nr;               /* next receive index (RECV) */
    uint32_t peer_pn;          /* previous chain length of the peer's chain */
    uint8_t recv_digest[48];   /* SHA-384 of the peer chain's extension */
    uint8_t start_hash[48];    /* START extension of our chain */
    uint8_t start_ct[PQ3_MLKEM1024_CT_BYTES];
    uint8_t chain_ct[PQ3_MLKEM768_CT_BYTES];  /* CT extension of our chain */
    uint8_t my_dk[PQ3_MLKEM768_DK_BYTES];     /* our outstanding offer */
    uint8_t my_ek[PQ3_MLKEM768_EK_BYTES];
    uint8_t peer_ek[PQ3_MLKEM768_EK_BYTES];   /* the peer's unanswered offer */
    /* State format 2 (§14): */
    uint8_t prev_peer_pubs[PQ3_PREV_PEER_KEYS][32]; /* ratchet keys of the peer chains before
                                * peer_pub, newest first (RECV2; format 3) */
    uint8_t prev_peer_count;   /* entries of prev_peer_pubs in use, 0..PQ3_PREV_PEER_KEYS */
    uint8_t session_id[32];    /* the initiator's first ratchet key E (§10.5) */
    uint64_t last_receipt;     /* `now` of our last delivery receipt, 0 if none */
    /* State format 4 (§14): grows by one with every change of the state: 1
     * when created by pq3_session_start / pq3_session_accept(_ex), +1 on
     * every successful seal, open and receipt (a failed call changes
     * nothing). A state loaded from format 3 has 0; its first change makes
     * it 1. A state restored from an older copy and used to seal a
     * different body reuses an AES-CTR key and IV, so a store must never
     * write an older state over a newer one: it refuses to write a state
     * whose generation is not greater than the one it holds. */
    uint64_t generation;
} pq3_session;

/* Session state flag of format 2: prev_peer_pubs holds at least one key. */
#define PQ3_ST_RECV2 0x20u
/* Session state flag of format 3: the peer's current chain carried at least
 * one application message (not only receipts), so a receipt is owed
 * (§16.1). */
#define PQ3_ST_PEER_APP 0x40u

/* What pq3_session_open / pq3_session_accept report about a message. */
typedef struct pq3_opened {
    uint8_t content_type;      /* PQ3_CONTENT_* */
    const uint8_t *ad;         /* into the message; NULL when absent */
    size_t ad_len;
    size_t body_len;           /* bytes written to the body buffer */
    uint8_t new_chain;         /* the message opened a new peer chain */
    uint8_t kem_completed;     /* it completed an ML-KEM step (START or CT) */
    uint8_t kem_offered;       /* it carried an offered ek (now stored) */
    uint8_t late;              /* opened with a stored skipped key (§13.1) */
    uint32_t keys_stored;      /* skipped keys this message made us keep */
    uint32_t keys_evicted;     /* oldest stored keys evicted to stay within max_keys */
} pq3_opened;

/*
 * Starts a session as initiator (§10.2) with the peer's verified bundle:
 * draws the ephemeral key and the ML-KEM-1024 encapsulation from `rng`,
 * derives the first root and sending chain keys. The first message is then
 * made with pq3_session_seal, which carries the START extension.
 * `self` is our own certificate (decoded or verified), `peer` the peer's
 * verified certificate, `bundle` the peer's bundle verified with
 * pq3_prekey_verify against `peer`; its validity is checked again against
 * `now` (a bundle kept in a cache expires all the same, §10.2).
 * Errors: PQ3_ERR_ARG (NULL, peer or bundle not verified, self and peer the
 * same device, §10.1), PQ3_ERR_EXPIRED (the bundle is not valid at `now`),
 * PQ3_ERR_VERSION (no common protocol version, §10.1), PQ3_ERR_KEY (peer
 * key invalid), PQ3_ERR_RNG, PQ3_ERR_CRYPTO. *s is wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_start(pq3_session *s, const pq3_device_cert *self,
                                               const pq3_device_cert *peer,
                                               const pq3_prekey_bundle *bundle,
                                               uint64_t now, const pq3_rng *rng);

/*
 * Accepts a session start (§10.3): `msg` is a message with START from the
 * device whose verified certificate is `peer`, made against our prekey
 * `prekey` (find it with pq3_message_peek's prekey_hash). Checks in the
 * order of §10.3; on success creates *s and writes the body to
 * body[0..body_cap) (body_cap >= msg_len always suffices) and *info.
 * Errors: PQ3_ERR_ARG (NULL, peer not verified, self and peer the same
 * device), PQ3_ERR_BUFFER (body_cap
 * below the ciphertext length), PQ3_ERR_VERSION (format, protocol version,
 * content type), PQ3_ERR_DECODE (malformed, START missing, bad padding),
 * PQ3_ERR_VERIFY (signature, mki), PQ3_ERR_UNKNOWN (another prekey, index
 * or previous chain length not 0), PQ3_ERR_EXPIRED (prekey past its grace
 * window), PQ3_ERR_KEY (ratchet key or offered ek invalid),
 * PQ3_ERR_CRYPTO. On error *s is wiped and the body buffer is wiped.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_accept(pq3_session *s, const pq3_device_cert *self,
                                                const pq3_device_cert *peer,
                                                const pq3_prekey_secret *prekey, uint64_t now,
                                                const uint8_t *msg, size_t msg_len,
                                                uint8_t *body, size_t body_cap,
                                                pq3_opened *info);

/*
 * Seals a message (§12): a direction change when needed (§11.2, with the
 * ML-KEM answer and offer the policy calls for), the symmetric ratchet,
 * Padmé, AES-256-CTR, the signature through `signer` (whose pub must be our
 * device authentication key). `policy` NULL means the default policy.
 * Writes the message to out[0..cap) and its length to *out_len;
 * cap >= pq3_message_max_size(body_len, ad_len) always suffices.
 * Errors: PQ3_ERR_ARG (NULL, signer of another key, content type not
 * 1 or 2, body over PQ3_MAX_BODY, AD over PQ3_MAX_AD), PQ3_ERR_BUFFER,
 * PQ3_ERR_STATE (the state has no way to send: not a session), PQ3_ERR_LIMIT
 * (the sending chain used its last index, 2^32 - 2, §9.1: nothing more is
 * sent on it until the peer's next chain arrives), PQ3_ERR_RNG,
 * PQ3_ERR_CRYPTO, whatever the signer returns. On error the state is
 * unchanged and out is wiped. Store the new state durably before the
 * message leaves (§14.1).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_seal(pq3_session *s, const pq3_signer *signer,
                                              const pq3_rekey_policy *policy, uint64_t now,
                                              const pq3_rng *rng, uint8_t content_type,
                                              const uint8_t *body, size_t body_len,
                                              const uint8_t *ad, size_t ad_len,
                                              uint8_t *out, size_t cap, size_t *out_len);

/*
 * Opens a message of an established session (§13), checks in that order.
 * Writes the body to body[0..body_cap) (body_cap >= msg_len always
 * suffices) and *info (info->ad points into msg).
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_BUFFER (body_cap below the ciphertext
 * length), PQ3_ERR_VERSION (format, protocol version, content type),
 * PQ3_ERR_DECODE (malformed, START outside the first chain, previous chain
 * length changed within a chain, bad padding), PQ3_ERR_VERIFY (signature,
 * repeated extension differs, mki), PQ3_ERR_REPLAY (index already
 * processed), PQ3_ERR_UNKNOWN (index ahead: a message is missing; an
 * unexpected new chain; a KEM ciphertext we made no offer for),
 * PQ3_ERR_KEY (ratchet key or offered ek invalid), PQ3_ERR_CRYPTO. On error
 * the state is unchanged and the body buffer is wiped. Store the new state
 * durably before the body is shown or acknowledged (§14.1).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_open(pq3_session *s, uint64_t now,
                                              const uint8_t *msg, size_t msg_len,
                                              uint8_t *body, size_t body_cap,
                                              pq3_opened *info);

/*
 * pq3_session_open with out-of-order delivery (§13, §13.1): `sk` (may be
 * NULL: no skipped keys kept) supplies keys of messages that arrive late and
 * receives the keys of messages skipped over. Opening a message with a
 * stored key erases that key. On success expired keys are erased too.
 * When the keys kept would exceed sk->max_keys, the oldest stored keys are
 * evicted on success (§13.1); a new chain keeps at most sk->max_jump keys of
 * the ending chain and of its own first indices, the most recent ones.
 * Errors: those of pq3_session_open, plus PQ3_ERR_LIMIT (a gap of more than
 * sk->max_jump on the peer's current chain, a new chain's index over
 * PQ3_SKIPPED_MAX_WALK; always when sk is NULL and a message is skipped
 * over), PQ3_ERR_EXPIRED (the message's stored key is past sk->max_age),
 * PQ3_ERR_REPLAY (also: a late message whose key was used or never kept,
 * including a copy of a message of one of the last PQ3_PREV_PEER_KEYS
 * ended peer chains; checked before any ECDH or ML-KEM work).
 * On error neither *s nor *sk changes (byte for byte).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_open_ex(pq3_session *s, pq3_skipped *sk, uint64_t now,
                                                 const uint8_t *msg, size_t msg_len,
                                                 uint8_t *body, size_t body_cap,
                                                 pq3_opened *info);

/*
 * pq3_session_accept with out-of-order delivery and replay protection
 * (§10.3, §10.4): `sk` (may be NULL) as for pq3_session_open_ex, so the
 * start may be any message of the initiator's first chain (each repeats
 * START); `cache` (may be NULL: no replay protection) is the replay cache
 * of `prekey`, whose prekey_hash must match. Errors: those of
 * pq3_session_accept, plus PQ3_ERR_REPLAY (this start, E and ct0, was
 * accepted before), PQ3_ERR_LIMIT (the cache is full; or index over
 * PQ3_SKIPPED_MAX_WALK / sk NULL and index > 0; only the sk->max_jump most
 * recent keys below the index are kept), PQ3_ERR_ARG (cache of another
 * prekey). On error *s is wiped and *sk, *cache do not change.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_accept_ex(pq3_session *s, pq3_skipped *sk,
                                                   pq3_start_cache *cache,
                                                   const pq3_device_cert *self,
                                                   const pq3_device_cert *peer,
                                                   const pq3_prekey_secret *prekey, uint64_t now,
                                                   const uint8_t *msg, size_t msg_len,
                                                   uint8_t *body, size_t body_cap,
                                                   pq3_opened *info);

/*
 * Delivery receipts (§16.1). pq3_session_receipt_due: 1 when a receipt
 * should be sent now: we received a peer chain we have not answered (our
 * next seal is a direction change, which completes the pending ECDH and
 * ML-KEM steps), that chain carried at least one application message (a
 * chain of receipts only is not acknowledged, so idle devices do not answer
 * receipts with receipts; our next message still completes the steps) and
 * the last receipt is at least policy->receipt_interval seconds old (policy
 * NULL: default). 0 otherwise or for NULL.
 */
PQ3_API int pq3_session_receipt_due(const pq3_session *s, const pq3_rekey_policy *policy,
                                    uint64_t now);

/*
 * Seals a receipt for the peer's current chain: content type
 * PQ3_CONTENT_RECEIPT with the body of §16.1 (the number of missing indices
 * is counted in `sk`, which may be NULL). Like pq3_session_seal otherwise.
 * Errors: PQ3_ERR_LIMIT (no receipt is due, pq3_session_receipt_due),
 * and those of pq3_session_seal. The state is unchanged on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_seal_receipt(pq3_session *s, const pq3_skipped *sk,
                                                      const pq3_signer *signer,
                                                      const pq3_rekey_policy *policy,
                                                      uint64_t now, const pq3_rng *rng,
                                                      uint8_t *out, size_t cap, size_t *out_len);

/*
 * Serializes the state (§14) to out[0..cap), *out_len = length (at most
 * PQ3_STATE_MAX_BYTES). The output holds private keys.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_BUFFER (*out_len = size needed),
 * PQ3_ERR_STATE (the state breaks the rules of §14). out is wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_serialize(const pq3_session *s, uint8_t *out,
                                                   size_t cap, size_t *out_len);

/*
 * Loads a serialized state, strictly (§14): structure, flag rules, and every
 * key re-validated once. Errors: PQ3_ERR_ARG, PQ3_ERR_VERSION, PQ3_ERR_DECODE,
 * PQ3_ERR_KEY, PQ3_ERR_CRYPTO. *s untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_deserialize(pq3_session *s, const uint8_t *in,
                                                     size_t len);

/* Wipes the state. NULL does nothing. */
PQ3_API void pq3_session_wipe(pq3_session *s);

#ifdef __cplusplus
}
#endif
#endif
