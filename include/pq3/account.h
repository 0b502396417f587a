/*
 * OpenPQ3 accounts (docs/PROTOCOL.md §19): the signed list of an account's
 * devices, and the request a new device makes to join an account.
 *
 * An account's current set of devices is ONE record, the device list,
 * signed by the account key, with a version that only grows. A directory
 * that serves it cannot add a device (it cannot sign), drop one or roll
 * the list back (a client keeps the highest version it has verified and
 * refuses a lower one, or another list under the same version) without
 * being noticed. Device certificates (identity.h) still bind each device
 * key to the account; the list says which certificates are current.
 *
 * A new device joins without the account key moving: it makes its key and a
 * link request (its handle, device id, key and versions, signed by that key:
 * proof that it holds it); a device holding the account key checks the
 * request, issues the certificate and the next device list.
 *
 * Public data only; encoders and strict decoders in src/protocol/account.c.
 */
#ifndef PQ3_ACCOUNT_H
#define PQ3_ACCOUNT_H

#include "pq3/common.h"
#include "pq3/crypto.h"
#include "pq3/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_TYPE_DEVICE_LIST 0x0A
#define PQ3_TYPE_LINK_REQUEST 0x0B
/* Devices per account (§18). */
#define PQ3_ACCOUNT_MAX_DEVICES 16
#define PQ3_DEVICE_LIST_MAX_BYTES (2 + 2 + PQ3_HANDLE_MAX + 8 + 8 + 1 + \
                                   PQ3_ACCOUNT_MAX_DEVICES * (PQ3_DEVICE_ID_BYTES + PQ3_ECDSA_PUB_BYTES) + \
                                   PQ3_ECDSA_SIG_BYTES)
#define PQ3_LINK_REQUEST_MAX_BYTES (2 + 2 + PQ3_HANDLE_MAX + PQ3_DEVICE_ID_BYTES + \
                                    PQ3_ECDSA_PUB_BYTES + 1 + PQ3_CERT_MAX_VERSIONS + 8 + \
                                    PQ3_ECDSA_SIG_BYTES)

/* One device of the list. */
typedef struct pq3_account_device {
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t auth_pub[PQ3_ECDSA_PUB_BYTES];
} pq3_account_device;

/* The device list (§19.1). Devices are kept sorted by device id, strictly
 * increasing (one entry per device). `verified` is set by
 * pq3_device_list_verify only. */
typedef struct pq3_device_list {
    uint8_t handle[PQ3_HANDLE_MAX];
    uint8_t handle_len;                 /* 1..255 */
    uint64_t version;                   /* >= 1, grows with every change */
    uint64_t created;
    uint8_t count;                      /* 1..PQ3_ACCOUNT_MAX_DEVICES */
    pq3_account_device devices[PQ3_ACCOUNT_MAX_DEVICES];
    uint8_t signature[PQ3_ECDSA_SIG_BYTES];
    uint8_t verified;
} pq3_device_list;

/*
 * Sorts list->devices by id, then signs the list with the account key and
 * writes its encoding (§19.1) to out[0..cap), *out_len its length.
 * Errors: PQ3_ERR_ARG (NULL, empty handle, count 0 or over the maximum,
 * version 0, two entries with one device id, a device key that is not a
 * valid point), PQ3_ERR_BUFFER (*out_len = size needed), PQ3_ERR_CRYPTO,
 * whatever the signer returns. Nothing written on error (list->devices may
 * be reordered).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_list_sign(uint8_t *out, size_t cap, size_t *out_len,
                                                  pq3_device_list *list,
                                                  const pq3_signer *account);

/* Strict decoding without the signature check (inspection, fuzzing).
 * Errors: PQ3_ERR_ARG, PQ3_ERR_VERSION, PQ3_ERR_DECODE (also: ids not
 * strictly increasing, count 0, version 0). *list untouched on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_list_decode(pq3_device_list *list, const uint8_t *in,
                                                    size_t len);

/* Decodes and checks the signature under the account key (§19.1), and
 * that every device key is a valid point; verified = 1. Errors: those of
 * pq3_device_list_decode, PQ3_ERR_KEY (account or device key invalid),
 * PQ3_ERR_VERIFY. *list untouched on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_list_verify(pq3_device_list *list, const uint8_t *in,
                                                    size_t len,
                                                    const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES]);

/* The index of the device with this id in the list into *index.
 * Errors: PQ3_ERR_ARG, PQ3_ERR_UNKNOWN. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_list_find(const pq3_device_list *list,
                                                  const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                                  uint32_t *index);

/* A link request (§19.2): what a new device asks to be certified for. */
typedef struct pq3_link_request {
    uint8_t handle[PQ3_HANDLE_MAX];
    uint8_t handle_len;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t auth_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t versions[PQ3_CERT_MAX_VERSIONS];
    uint8_t n_versions;
    uint64_t created;
    uint8_t signature[PQ3_ECDSA_SIG_BYTES];
} pq3_link_request;

/* Signs the request with the new device's own key (`device`, whose pub
 * becomes req->auth_pub) and encodes it. Errors: PQ3_ERR_ARG (NULL, empty
 * handle, bad version list), PQ3_ERR_BUFFER, PQ3_ERR_CRYPTO, the signer's.
 * Nothing written on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_link_request_sign(uint8_t *out, size_t cap, size_t *out_len,
                                                   pq3_link_request *req,
                                                   const pq3_signer *device);

/* Decodes a request and checks its signature under its own key, and its
 * age: created within PQ3_LINK_MAX_AGE before `now` (and not more than
 * PQ3_CLOCK_SKEW after). Errors: PQ3_ERR_ARG, PQ3_ERR_VERSION,
 * PQ3_ERR_DECODE, PQ3_ERR_KEY, PQ3_ERR_VERIFY, PQ3_ERR_EXPIRED. *req
 * untouched on error. */
#define PQ3_LINK_MAX_AGE 86400
PQ3_API PQ3_MUST_USE pq3_err pq3_link_request_verify(pq3_link_request *req, const uint8_t *in,
                                                     size_t len, uint64_t now);

#ifdef __cplusplus
}
#endif
#endif
