/*
 * OpenPQ3 messages on the wire (docs/PROTOCOL.md §9, §16.1): flags, content
 * types, sizes, routing information read from a message without any key,
 * and the delivery receipt body.
 *
 * This header needs no session state: a relay or directory server can build
 * against identity.h, prekey.h and message.h alone. Sealing and opening are
 * in session.h.
 */
#ifndef PQ3_MESSAGE_H
#define PQ3_MESSAGE_H

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
/* The START extension: prekey hash and ML-KEM-1024 ciphertext (§9.1). */
#define PQ3_MSG_START_BYTES (PQ3_PREKEY_HASH_BYTES + PQ3_MLKEM1024_CT_BYTES)
/* Largest ratchet header extension: START + EK + CT. */
#define PQ3_MSG_MAX_EXT (PQ3_MSG_START_BYTES + PQ3_MLKEM768_EK_BYTES + PQ3_MLKEM768_CT_BYTES)

/* Receipt body (§16.1): ratchet key of the acknowledged peer chain, u32 next
 * index, u32 number of indices below it still missing. */
#define PQ3_RECEIPT_BODY_BYTES 40

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

/* Strictly decodes a message's header for routing (no signature check).
 * Errors: PQ3_ERR_ARG, PQ3_ERR_VERSION, PQ3_ERR_DECODE; *info untouched on
 * error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_message_peek(pq3_message_info *info,
                                              const uint8_t *msg, size_t msg_len);

/* An upper bound on the size of a sealed message with this body and AD
 * length, whatever ratchet header it carries (a pure size computation:
 * lengths over PQ3_MAX_BODY / PQ3_MAX_AD count as those maxima; sealing
 * them fails with PQ3_ERR_ARG anyway). */
PQ3_API size_t pq3_message_max_size(size_t body_len, size_t ad_len);

/* Encodes a receipt body (§16.1): the acknowledged peer chain's ratchet key
 * (the receiver's own sending key), the next index expected on it and how
 * many indices below that are still missing. Errors: PQ3_ERR_ARG (NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_receipt_encode(uint8_t out[PQ3_RECEIPT_BODY_BYTES],
                                                const uint8_t ratchet_key[32],
                                                uint32_t next_index, uint32_t missing);

/* Parses a receipt body (§16.1), strictly. Errors: PQ3_ERR_ARG (NULL),
 * PQ3_ERR_DECODE (length other than PQ3_RECEIPT_BODY_BYTES); outputs
 * untouched on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_receipt_parse(const uint8_t *body, size_t len,
                                               uint8_t ratchet_key[32], uint32_t *next_index,
                                               uint32_t *missing);

#ifdef __cplusplus
}
#endif
#endif
