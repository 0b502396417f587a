/*
 * pq3d's protocol (docs/SERVER.md): frames, request and response bodies,
 * and the device's authentication to the server. One definition, used by
 * the server (server/) and the client library (src/client/) alike.
 *
 * Decoded structures are views: their pq3_wire_bytes point into the input,
 * which must outlive them. Decoders are strict (docs/PROTOCOL.md §2):
 * truncation, trailing bytes, lengths outside the bounds of SERVER.md and
 * counts out of range are PQ3_ERR_DECODE, and leave *out untouched.
 * Encoders write the body only (the frame header is pq3_wire_header_encode);
 * PQ3_ERR_BUFFER sets *out_len to the size needed; PQ3_ERR_ARG for values
 * outside the bounds. Pure code: no sockets, no clock, no allocation.
 */
#ifndef PQ3_WIRE_H
#define PQ3_WIRE_H

#include "pq3/common.h"
#include "pq3/account.h"
#include "pq3/identity.h"
#include "pq3/prekey.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_WIRE_VERSION 1
#define PQ3_WIRE_HEADER_BYTES 9               /* u32 length, u8 type, u32 id (§2) */
#define PQ3_WIRE_MAX_FRAME_PREAUTH 8192u      /* length limit before AUTH */
#define PQ3_WIRE_MAX_FRAME 4194304u           /* length limit after AUTH */
#define PQ3_WIRE_MAX_ENVELOPE 73728u
#define PQ3_WIRE_MAX_SEND 64
#define PQ3_WIRE_MAX_ACK 1024
#define PQ3_WIRE_MAX_PROOF 65536u
#define PQ3_WIRE_MAX_REASON 200
#define PQ3_WIRE_MAX_INVITE 64
#define PQ3_WIRE_MAX_NAME 255
#define PQ3_WIRE_WINDOW 256                   /* unacknowledged DELIVERs (§8) */
#define PQ3_WIRE_MAX_INFLIGHT 64              /* unanswered requests (§2) */
#define PQ3_WIRE_NONCE_BYTES 32
#define PQ3_WIRE_EXPORTER_BYTES 32
#define PQ3_WIRE_EXPORTER_LABEL "EXPORTER-OpenPQ3-auth"
#define PQ3_WIRE_L_AUTH "OpenPQ3 v1 server auth"

/* Frame types (§5, §6). */
enum {
    PQ3_WIRE_AUTH = 0x01,
    PQ3_WIRE_REGISTER = 0x02,
    PQ3_WIRE_PUBLISH_LIST = 0x03,
    PQ3_WIRE_PUT_BUNDLE = 0x04,
    PQ3_WIRE_LOOKUP = 0x05,
    PQ3_WIRE_SEND = 0x06,
    PQ3_WIRE_ACK = 0x07,
    PQ3_WIRE_PING = 0x09,
    PQ3_WIRE_CHALLENGE = 0x80,
    PQ3_WIRE_RESPONSE = 0x81,
    PQ3_WIRE_DELIVER = 0x82,
    PQ3_WIRE_GOODBYE = 0x83
};

/* Statuses (§3). */
enum {
    PQ3_ST_OK = 0,
    PQ3_ST_BAD_REQUEST = 1,
    PQ3_ST_UNAUTHENTICATED = 2,
    PQ3_ST_FORBIDDEN = 3,
    PQ3_ST_NOT_FOUND = 4,
    PQ3_ST_CONFLICT = 5,
    PQ3_ST_RATE_LIMITED = 6,
    PQ3_ST_TOO_LARGE = 7,
    PQ3_ST_QUEUE_FULL = 8,
    PQ3_ST_INVALID = 9,
    PQ3_ST_EXPIRED = 10,
    PQ3_ST_UNAVAILABLE = 11,
    PQ3_ST_INVITE_REQUIRED = 12,
    PQ3_ST_VERSION = 13
};
/* "OK", "BAD_REQUEST", ...; "UNKNOWN" for other values. */
PQ3_API const char *pq3_wire_status_name(uint16_t status);
/* 1 for a frame type of §5 (a request), else 0. */
PQ3_API int pq3_wire_is_request(uint8_t type);

/* AUTH result states (§5.1). */
enum { PQ3_WIRE_UNREGISTERED = 0, PQ3_WIRE_PENDING = 1, PQ3_WIRE_LISTED = 2 };

typedef struct pq3_wire_bytes {
    const uint8_t *p;
    size_t len;
} pq3_wire_bytes;

/* ---- frames (§2) ---------------------------------------------------------- */

/* Writes the 9-byte header of a frame whose body is body_len bytes.
 * Errors: PQ3_ERR_ARG (NULL, body_len + 5 over PQ3_WIRE_MAX_FRAME). */
PQ3_API PQ3_MUST_USE pq3_err pq3_wire_header_encode(uint8_t out[PQ3_WIRE_HEADER_BYTES],
                                                    uint8_t type, uint32_t id,
                                                    size_t body_len);
/* Reads a header. *body_len = length - 5. Errors: PQ3_ERR_ARG (NULL),
 * PQ3_ERR_DECODE (length under 5), PQ3_ERR_LIMIT (length over `limit`:
 * the body must not be read). Outputs untouched on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_wire_header_decode(const uint8_t in[PQ3_WIRE_HEADER_BYTES],
                                                    uint32_t limit, uint8_t *type,
                                                    uint32_t *id, uint32_t *body_len);

/* ---- authentication (§4) -------------------------------------------------- */

typedef struct pq3_wire_challenge {
    uint8_t version;
    pq3_wire_bytes name;                       /* 1..255 */
    uint8_t nonce[PQ3_WIRE_NONCE_BYTES];
    uint64_t time;
} pq3_wire_challenge;

typedef struct pq3_wire_auth {
    uint8_t version;
    pq3_wire_bytes handle;                     /* 1..255 */
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    pq3_wire_bytes cert;                       /* 1..PQ3_CERT_MAX_BYTES */
    uint8_t signature[PQ3_ECDSA_SIG_BYTES];
} pq3_wire_auth;

/* Signs TBS_auth (§4) for `auth` (all fields but the signature set) through
 * `signer` into auth->signature. Errors: PQ3_ERR_ARG (NULL, a field out of
 * bounds), the signer's (pq3_sign). */
PQ3_API PQ3_MUST_USE pq3_err pq3_wire_auth_sign(pq3_wire_auth *auth,
                                                const pq3_wire_challenge *ch,
                                                const uint8_t exporter[PQ3_WIRE_EXPORTER_BYTES],
                                                const pq3_signer *signer);
/* Checks auth->signature over TBS_auth under the device key of `cert`
 * (verified, pq3_cert_verify). Errors: PQ3_ERR_ARG, PQ3_ERR_VERIFY. */
PQ3_API PQ3_MUST_USE pq3_err pq3_wire_auth_verify(const pq3_wire_auth *auth,
                                                  const pq3_wire_challenge *ch,
                                                  const uint8_t exporter[PQ3_WIRE_EXPORTER_BYTES],
                                                  const pq3_device_cert *cert);

/* ---- request bodies (§5) -------------------------------------------------- */

typedef struct pq3_wire_register {
    pq3_wire_bytes list;                       /* 1..PQ3_DEVICE_LIST_MAX_BYTES */
    pq3_wire_bytes invite;                     /* 0..64 */
} pq3_wire_register;

typedef struct pq3_wire_publish {
    pq3_wire_bytes list;
    uint8_t n_certs;                           /* 0..16 */
    pq3_wire_bytes certs[PQ3_ACCOUNT_MAX_DEVICES];
} pq3_wire_publish;

typedef struct pq3_wire_put_bundle {
    pq3_wire_bytes bundle;                     /* PQ3_PREKEY_BUNDLE_BYTES */
} pq3_wire_put_bundle;

typedef struct pq3_wire_lookup {
    pq3_wire_bytes handle;
    uint64_t pinned;                           /* checkpoint size pinned, 0: none */
} pq3_wire_lookup;

typedef struct pq3_wire_envelope {
    pq3_wire_bytes to_handle;
    uint8_t to_device[PQ3_DEVICE_ID_BYTES];
    uint8_t msg_id[16];
    pq3_wire_bytes msg;                        /* 1..PQ3_WIRE_MAX_ENVELOPE */
} pq3_wire_envelope;

typedef struct pq3_wire_send {
    uint16_t count;                            /* 1..PQ3_WIRE_MAX_SEND */
    pq3_wire_envelope env[PQ3_WIRE_MAX_SEND];
} pq3_wire_send;

typedef struct pq3_wire_ack {
    uint16_t count;                            /* 1..PQ3_WIRE_MAX_ACK */
    uint64_t ids[PQ3_WIRE_MAX_ACK];
} pq3_wire_ack;

/* ---- responses and pushes (§3, §6) ---------------------------------------- */

typedef struct pq3_wire_response {
    uint16_t status;
    pq3_wire_bytes reason;                     /* 0..200 */
    pq3_wire_bytes result;                     /* the rest; empty unless OK */
} pq3_wire_response;

typedef struct pq3_wire_auth_result {
    uint8_t state;                             /* PQ3_WIRE_UNREGISTERED.. */
    uint64_t list_version;
    uint32_t queued;
} pq3_wire_auth_result;

typedef struct pq3_wire_lookup_result {
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    pq3_wire_bytes list;
    uint8_t count;                             /* 1..16 */
    pq3_wire_bytes certs[PQ3_ACCOUNT_MAX_DEVICES];
    pq3_wire_bytes bundles[PQ3_ACCOUNT_MAX_DEVICES];   /* len 0: none */
    pq3_wire_bytes proof;                      /* 0..PQ3_WIRE_MAX_PROOF */
} pq3_wire_lookup_result;

typedef struct pq3_wire_send_result {
    uint16_t count;
    uint8_t status[PQ3_WIRE_MAX_SEND];
} pq3_wire_send_result;

typedef struct pq3_wire_deliver {
    uint64_t queue_id;                         /* >= 1 */
    pq3_wire_bytes from_handle;
    uint8_t from_device[PQ3_DEVICE_ID_BYTES];
    uint8_t msg_id[16];
    uint64_t stored_at;
    pq3_wire_bytes msg;
} pq3_wire_deliver;

typedef struct pq3_wire_goodbye {
    uint16_t status;
    pq3_wire_bytes reason;
} pq3_wire_goodbye;

/* Encoders (body only) and strict decoders, one pair per structure. */
#define PQ3_WIRE_CODEC(name)                                                          \
    PQ3_API PQ3_MUST_USE pq3_err pq3_wire_##name##_encode(uint8_t *out, size_t cap,      \
                                                          size_t *out_len,              \
                                                          const pq3_wire_##name *v);    \
    PQ3_API PQ3_MUST_USE pq3_err pq3_wire_##name##_decode(pq3_wire_##name *v,            \
                                                          const uint8_t *in, size_t len)
PQ3_WIRE_CODEC(challenge);
PQ3_WIRE_CODEC(auth);
PQ3_WIRE_CODEC(register);
PQ3_WIRE_CODEC(publish);
PQ3_WIRE_CODEC(put_bundle);
PQ3_WIRE_CODEC(lookup);
PQ3_WIRE_CODEC(send);
PQ3_WIRE_CODEC(ack);
PQ3_WIRE_CODEC(response);
PQ3_WIRE_CODEC(auth_result);
PQ3_WIRE_CODEC(lookup_result);
PQ3_WIRE_CODEC(send_result);
PQ3_WIRE_CODEC(deliver);
PQ3_WIRE_CODEC(goodbye);
#undef PQ3_WIRE_CODEC

/* PING's result: the server's time (§5.9). */
PQ3_API PQ3_MUST_USE pq3_err pq3_wire_time_encode(uint8_t out[8], uint64_t t);
PQ3_API PQ3_MUST_USE pq3_err pq3_wire_time_decode(uint64_t *t, const uint8_t *in, size_t len);

#ifdef __cplusplus
}
#endif
#endif
