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
 * Delivery must be in order in this version: a message that skips ahead is
 * rejected with PQ3_ERR_UNKNOWN, one already processed with PQ3_ERR_REPLAY.
 * Time is always the caller's `now` (u64 seconds); randomness comes from the
 * caller's pq3_rng (NULL: system generator).
 */
#ifndef PQ3_SESSION_H
#define PQ3_SESSION_H

#include "pq3/common.h"
#include "pq3/crypto.h"
#include "pq3/identity.h"
#include "pq3/mlkem.h"
#include "pq3/padme.h"
#include "pq3/prekey.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Message flags (§9.1). */
#define PQ3_MSG_START 0x01u
#define PQ3_MSG_EK 0x02u
#define PQ3_MSG_CT 0x04u
#define PQ3_MSG_AD 0x08u

/* Content types inside the ciphertext (§9.2). */
#define PQ3_CONTENT_MESSAGE 0x01u
#define PQ3_CONTENT_RECEIPT 0x02u

#define PQ3_MKI_BYTES 16
#define PQ3_MAX_AD 4096
/* Largest body: 1 + body must fit Padmé's maximum. */
#define PQ3_MAX_BODY (PQ3_PADME_MAX_PLAINTEXT - 1)
/* Fixed part of every message: version, type, flags, ratchet key, index,
 * previous chain length, mki, ciphertext length, signature. */
#define PQ3_MSG_FIXED_BYTES (3 + 32 + 4 + 4 + PQ3_MKI_BYTES + 4 + PQ3_ECDSA_SIG_BYTES)
/* Largest ratchet header extension: START + EK + CT. */
#define PQ3_MSG_MAX_EXT (48 + PQ3_MLKEM1024_CT_BYTES + PQ3_MLKEM768_EK_BYTES + \
                         PQ3_MLKEM768_CT_BYTES)

/* Serialized state size bounds (§14). */
#define PQ3_STATE_MAX_BYTES 12000

/*
 * Rekey policy (§11.3). Defaults: 50 messages, 7 days, not constrained, no
 * header repetition. `constrained` is a per-call hint (the link is costly):
 * it defers the message-count trigger of an ML-KEM step, never the age
 * trigger. `repeat_headers` repeats the chain's START/EK/CT extension on
 * every message of the chain (§16).
 */
typedef struct pq3_rekey_policy {
    uint32_t max_messages;
    uint64_t max_age;
    uint8_t constrained;
    uint8_t repeat_headers;
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
} pq3_session;

/* What pq3_session_open / pq3_session_accept report about a message. */
typedef struct pq3_opened {
    uint8_t content_type;      /* PQ3_CONTENT_* */
    const uint8_t *ad;         /* into the message; NULL when absent */
    size_t ad_len;
    size_t body_len;           /* bytes written to the body buffer */
    uint8_t new_chain;         /* the message opened a new peer chain */
    uint8_t kem_completed;     /* it completed an ML-KEM step (START or CT) */
    uint8_t kem_offered;       /* it carried an offered ek (now stored) */
} pq3_opened;

/* Routing information read from a message without any check beyond strict
 * decoding (§9.1), e.g. to find the prekey a session start uses. */
typedef struct pq3_message_info {
    uint8_t version;
    uint8_t flags;
    uint8_t ratchet_key[32];
    uint32_t index;
    uint32_t prev_len;
    uint8_t prekey_hash[PQ3_PREKEY_HASH_BYTES];   /* zero unless START */
} pq3_message_info;

/*
 * Starts a session as initiator (§10.2) with the peer's verified bundle:
 * draws the ephemeral key and the ML-KEM-1024 encapsulation from `rng`,
 * derives the first root and sending chain keys. The first message is then
 * made with pq3_session_seal, which carries the START extension.
 * `self` is our own certificate (decoded or verified), `peer` the peer's
 * verified certificate, `bundle` the peer's bundle verified with
 * pq3_prekey_verify against `peer`.
 * Errors: PQ3_ERR_ARG (NULL, peer or bundle not verified), PQ3_ERR_VERSION
 * (no common protocol version, §10.1), PQ3_ERR_KEY (peer key invalid),
 * PQ3_ERR_RNG, PQ3_ERR_CRYPTO. *s is wiped on error.
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
 * Errors: PQ3_ERR_ARG (NULL, peer not verified), PQ3_ERR_BUFFER (body_cap
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

/* An upper bound on the size of a sealed message with this body and AD
 * length (whatever ratchet header it carries). */
PQ3_API size_t pq3_message_max_size(size_t body_len, size_t ad_len);

/*
 * Seals a message (§12): a direction change when needed (§11.2, with the
 * ML-KEM answer and offer the policy calls for), the symmetric ratchet,
 * Padmé, AES-256-CTR, the signature through `signer` (whose pub must be our
 * device authentication key). `policy` NULL means the default policy.
 * Writes the message to out[0..cap) and its length to *out_len;
 * cap >= pq3_message_max_size(body_len, ad_len) always suffices.
 * Errors: PQ3_ERR_ARG (NULL, signer of another key, content type not
 * 1 or 2, body over PQ3_MAX_BODY, AD over PQ3_MAX_AD), PQ3_ERR_BUFFER,
 * PQ3_ERR_STATE (the state has no way to send: not a session), PQ3_ERR_RNG,
 * PQ3_ERR_CRYPTO, whatever the signer returns. On error the state is
 * unchanged and out is wiped.
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
 * the state is unchanged and the body buffer is wiped.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_session_open(pq3_session *s, uint64_t now,
                                              const uint8_t *msg, size_t msg_len,
                                              uint8_t *body, size_t body_cap,
                                              pq3_opened *info);

/* Strictly decodes a message's header for routing (no signature check).
 * Errors: PQ3_ERR_ARG, PQ3_ERR_VERSION, PQ3_ERR_DECODE; *info untouched on
 * error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_message_peek(pq3_message_info *info,
                                              const uint8_t *msg, size_t msg_len);

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
