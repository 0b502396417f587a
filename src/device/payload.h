/*
 * The payload inside every application message a device seals (internal;
 * docs/DEVICE.md §6.1, type 0x0E): what kind of message, its id (the same
 * in every copy of one send), the sender's time, for a copy to our own
 * devices the conversation's handle, and the text.
 */
#ifndef PQ3_DEVICE_PAYLOAD_H
#define PQ3_DEVICE_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/device.h"

#define PQ3_TYPE_PAYLOAD 0x0E
#define PQ3_PAYLOAD_MESSAGE 1
#define PQ3_PAYLOAD_SENT 2
#define PQ3_PAYLOAD_MAX_BYTES (3 + PQ3_MSG_ID_BYTES + 8 + 2 + PQ3_HANDLE_MAX + 4 + PQ3_DEVICE_MAX_TEXT)

typedef struct pq3_payload {
    uint8_t kind;                       /* PQ3_PAYLOAD_* */
    uint8_t msg_id[PQ3_MSG_ID_BYTES];
    uint64_t sent;
    const uint8_t *peer_handle;         /* SENT only: the recipient's handle */
    size_t peer_handle_len;
    const uint8_t *text;
    size_t text_len;
} pq3_payload;

/* Encodes into out (at least PQ3_PAYLOAD_MAX_BYTES); *len its length.
 * Errors: PQ3_ERR_ARG (kind, lengths). */
pq3_err pq3_payload_encode(uint8_t *out, size_t *len, const pq3_payload *p);
/* Strict decoding; pointers into `in`. Errors: PQ3_ERR_VERSION,
 * PQ3_ERR_DECODE. *p untouched on error. */
pq3_err pq3_payload_decode(pq3_payload *p, const uint8_t *in, size_t len);

/* The link response (docs/DEVICE.md §3.2, type 0x0D): the account key, the
 * new device's certificate, the account's next device list. Pointers into
 * `in`. */
#define PQ3_TYPE_LINK_RESPONSE 0x0D
typedef struct pq3_link_response {
    const uint8_t *account_pub;         /* 33 bytes */
    const uint8_t *cert;
    size_t cert_len;
    const uint8_t *list;
    size_t list_len;
} pq3_link_response;
pq3_err pq3_link_response_encode(uint8_t *out, size_t cap, size_t *len,
                                 const pq3_link_response *r);
pq3_err pq3_link_response_decode(pq3_link_response *r, const uint8_t *in, size_t len);

#endif
