/*
 * The message wire format (internal; docs/PROTOCOL.md §9.1, §7): a strict
 * decoder into a view of pointers into the message, the header encoder, the
 * message signature input, and the digest of a chain's mandatory extension.
 * Depends on the wire alone: no session state.
 */
#ifndef PQ3_PROTOCOL_MESSAGE_H
#define PQ3_PROTOCOL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/message.h"
#include "protocol/codec.h"
#include "protocol/kdf.h"

#define PQ3_MSG_KNOWN_FLAGS 0x0Fu

typedef struct {
    uint8_t version;
    uint8_t flags;
    const uint8_t *ratchet_key;   /* 32 */
    uint32_t index;
    uint32_t pn;
    const uint8_t *prekey_hash;   /* 48, START */
    const uint8_t *ct0;           /* 1568, START */
    const uint8_t *ek;            /* 1184, EK */
    const uint8_t *ct;            /* 1088, CT */
    const uint8_t *mki;           /* 16 */
    const uint8_t *ad;            /* AD */
    size_t ad_len;
    const uint8_t *ctext;
    size_t ctext_len;
    const uint8_t *sig;           /* 64 */
    size_t signed_len;            /* bytes before the signature */
} pq3_msg_view;

/* The header fields a sender writes (§9.1); the extension parts are read
 * only when their flag is set. */
typedef struct {
    uint8_t version;
    uint8_t flags;                /* PQ3_MSG_*, AD included */
    const uint8_t *ratchet_key;   /* 32 */
    uint32_t index;
    uint32_t pn;
    const uint8_t *prekey_hash;   /* START */
    const uint8_t *ct0;           /* START */
    const uint8_t *ek;            /* EK */
    const uint8_t *ct;            /* CT */
    const uint8_t *mki;           /* 16 */
    const uint8_t *ad;
    size_t ad_len;
    size_t ctext_len;
} pq3_msg_header;

/* The largest ciphertext a message may carry (Padmé of 1 + 2^20 - 1). */
size_t pq3_msg_max_ciphertext(void);

/* Extension length for a flags byte. */
size_t pq3_msg_ext_len(unsigned flags);

/* The exact size of a message with this extension (START/EK/CT flags), AD
 * length and body length. */
size_t pq3_msg_size(unsigned ext, size_t ad_len, size_t body_len);

/* Strict decoding (§9.1). Errors: PQ3_ERR_VERSION (format version other
 * than 1 or type other than message), PQ3_ERR_DECODE. *v zeroed on error. */
pq3_err pq3_msg_decode(pq3_msg_view *v, const uint8_t *msg, size_t len);

/* Writes everything before the ciphertext (§9.1) to w: the header, the
 * extension, the mki, the AD and the ciphertext length. */
void pq3_msg_write_header(pq3_writer *w, const pq3_msg_header *h);

/* §7: TBS_msg = L_MSGSIG || sidd || SHA-384(M[0..signed_len)). */
#define PQ3_MSG_TBS_BYTES (sizeof PQ3_L_MSGSIG - 1 + 48 + 48)
pq3_err pq3_msg_tbs(uint8_t tbs[PQ3_MSG_TBS_BYTES], const uint8_t sidd[48],
                    const uint8_t *msg, size_t signed_len);

/* Verifies a decoded message's signature under the sender's key and the
 * session identity digest sidd (§7, §13 step 2). Errors: PQ3_ERR_VERIFY,
 * PQ3_ERR_CRYPTO. */
pq3_err pq3_msg_verify(const pq3_ecdsa_pub *key, const uint8_t sidd[48], const pq3_msg_view *v,
                       const uint8_t *msg);

/* SHA-384 of the message's mandatory extension (§11.4): START (prekey hash
 * and ct0) or CT; zero when there is none. */
pq3_err pq3_msg_mandatory_digest(uint8_t out[48], const pq3_msg_view *v);

#endif
