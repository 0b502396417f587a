/*
 * The message wire format (internal; docs/PROTOCOL.md §9.1): a strict
 * decoder into a view of pointers into the message, and the header writer.
 */
#ifndef PQ3_PROTOCOL_MESSAGE_H
#define PQ3_PROTOCOL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/session.h"
#include "protocol/codec.h"

#define PQ3_MSG_EXT_OFFSET 43      /* version, type, flags, key, index, pn */
#define PQ3_MSG_START_BYTES (48 + PQ3_MLKEM1024_CT_BYTES)
#define PQ3_MSG_KNOWN_FLAGS 0x0Fu
#define PQ3_MAX_CIPHERTEXT_FOR(body) (pq3_padme_padded_size((body) + 1))

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
    const uint8_t *ext;           /* the extension bytes, ext_len long */
    size_t ext_len;
    const uint8_t *mki;           /* 16 */
    const uint8_t *ad;            /* AD */
    size_t ad_len;
    const uint8_t *ctext;
    size_t ctext_len;
    const uint8_t *sig;           /* 64 */
    size_t signed_len;            /* bytes before the signature */
} pq3_msg_view;

/* The largest ciphertext a message may carry (Padmé of 1 + 2^20 - 1). */
size_t pq3_msg_max_ciphertext(void);

/* Strict decoding (§9.1). Errors: PQ3_ERR_VERSION (format version other
 * than 1 or type other than message), PQ3_ERR_DECODE. */
pq3_err pq3_msg_decode(pq3_msg_view *v, const uint8_t *msg, size_t len);

/* Extension length for a flags byte. */
size_t pq3_msg_ext_len(unsigned flags);

#endif
