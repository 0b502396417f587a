/*
 * OpenPQ3 device layer (docs/DEVICE.md): one device of an account, its
 * SQLite store, its prekeys, its contacts and its sessions, below the
 * network. It turns "send this text to this handle" into envelopes (a
 * recipient device and the message bytes) and envelopes back into text; the
 * transport carries them.
 *
 * Durability (docs/DEVICE.md §6). Every operation that changes a session
 * commits the new state together with what it produced in ONE SQLite
 * transaction (WAL, synchronous=FULL) before it returns:
 *  - pq3_device_send: the sessions and the sealed envelopes (the outbox).
 *    The caller sends envelopes from the outbox and deletes each when the
 *    server has acknowledged it; after a crash the same bytes are sent
 *    again, never sealed anew.
 *  - pq3_device_receive: the sessions, the prekey's replay cache, the
 *    opened text (the inbox), the envelope's digest (so a redelivered
 *    envelope is recognised) and any receipt due (into the outbox). Only
 *    then may the caller acknowledge the envelope to the server.
 * Two processes on one store never interleave: every write transaction is
 * BEGIN IMMEDIATE with a busy timeout.
 *
 * A pq3_device is a service handle: not thread-safe (one thread at a time),
 * every failed call leaves a one-line reason in pq3_device_error, and a
 * failed call changes nothing in the store. Time is the caller's `now`.
 */
#ifndef PQ3_DEVICE_H
#define PQ3_DEVICE_H

#include "pq3/account.h"
#include "pq3/common.h"
#include "pq3/identity.h"
#include "pq3/keystore.h"
#include "pq3/peer.h"
#include "pq3/prekey.h"
#include "pq3/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The store's schema version (docs/DEVICE.md §5). A store of a newer
 * schema is refused (PQ3_ERR_VERSION); an older one is migrated. */
#define PQ3_DEVICE_SCHEMA_VERSION 1
/* Largest text of one message: the payload must fit PQ3_MAX_BODY. */
#define PQ3_DEVICE_MAX_TEXT 60000
#define PQ3_MSG_ID_BYTES 16

typedef struct pq3_device pq3_device;

typedef struct pq3_device_config {
    pq3_rekey_policy policy;     /* ratchet policy of every session */
    uint64_t prekey_interval;    /* a new bundle this often (default 7 days) */
    uint64_t prekey_overlap;     /* a bundle stays valid this long after the next (1 day) */
    uint64_t cert_lifetime;      /* device certificates (default 2 years) */
    uint64_t seen_lifetime;      /* digests of received envelopes kept (30 days) */
    int busy_timeout_ms;         /* waiting for another process (5000) */
    uint32_t max_pages;          /* a quota on the store's pages (0: none);
                                  * a write beyond it fails with PQ3_ERR_IO
                                  * ("disk full") and changes nothing */
    const pq3_rng *rng;          /* NULL: the system generator */
} pq3_device_config;

/* The defaults above. */
PQ3_API pq3_device_config pq3_device_config_default(void);

/*
 * Opens (creating when absent: mode 0600) the store at `path` for the
 * device whose authentication key is behind `auth` (a key store's signer,
 * pq3_keystore_signer; it must outlive the handle, which copies the
 * struct). `cfg` NULL: defaults. A store that holds an identity must hold
 * this key's public key. Errors: PQ3_ERR_ARG, PQ3_ERR_NOMEM, PQ3_ERR_IO
 * (cannot open, not a database, locked beyond the timeout, integrity),
 * PQ3_ERR_VERSION (schema newer than this library), PQ3_ERR_KEY (the store
 * belongs to another key). *d is NULL on error; pq3_device_open_error
 * gives the reason.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_open(pq3_device **d, const char *path,
                                             const pq3_signer *auth,
                                             const pq3_device_config *cfg);
/* The reason the last pq3_device_open of this thread failed. */
PQ3_API const char *pq3_device_open_error(void);
PQ3_API void pq3_device_free(pq3_device *d);
PQ3_API const char *pq3_device_error(const pq3_device *d);

/* ---- identity and account (docs/DEVICE.md §3) ---------------------------- */

/* This device: handle, device id, account key, certificate (once active). */
typedef struct pq3_device_self {
    uint8_t handle[PQ3_HANDLE_MAX];
    uint8_t handle_len;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t active;                    /* 0 while a link is pending */
    uint64_t list_version;             /* of our account's device list */
} pq3_device_self;

/* Errors: PQ3_ERR_STATE (no identity yet). */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_whoami(pq3_device *d, pq3_device_self *self);

/*
 * A new account with this device as its first: the account key (behind
 * `account`, used and forgotten) signs this device's certificate and the
 * device list version 1; the first prekey is made. Errors: PQ3_ERR_ARG
 * (handle empty or over 255 bytes), PQ3_ERR_STATE (the store has an
 * identity), PQ3_ERR_IO, and the signers' errors.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_create_account(pq3_device *d, const char *handle,
                                                       const pq3_signer *account, uint64_t now);

/*
 * Linking a new device (§3.2): on the new device, pq3_device_link_request
 * writes the request (pq3_link_request, at most PQ3_LINK_REQUEST_MAX_BYTES)
 * and records the pending link; on a device that holds the account key,
 * pq3_device_link_approve checks it and writes the response (at most
 * PQ3_LINK_RESPONSE_MAX_BYTES: the account key, the new certificate, the
 * next device list); the new device's pq3_device_link_finish checks that
 * and becomes active (its first prekey made). The caller carries the blobs.
 * Errors: PQ3_ERR_STATE (wrong step: identity already there, no pending
 * link, not our account), PQ3_ERR_LIMIT (account full), PQ3_ERR_VERIFY,
 * PQ3_ERR_DECODE, PQ3_ERR_EXPIRED, PQ3_ERR_KEY (the account key is not the
 * one this device's account has), PQ3_ERR_BUFFER, PQ3_ERR_IO.
 */
#define PQ3_LINK_RESPONSE_MAX_BYTES (2 + PQ3_ECDSA_PUB_BYTES + 2 + PQ3_CERT_MAX_BYTES + 2 + \
                                     PQ3_DEVICE_LIST_MAX_BYTES)
PQ3_API PQ3_MUST_USE pq3_err pq3_device_link_request(pq3_device *d, const char *handle,
                                                     uint64_t now, uint8_t *out, size_t cap,
                                                     size_t *out_len);
PQ3_API PQ3_MUST_USE pq3_err pq3_device_link_approve(pq3_device *d, const pq3_signer *account,
                                                     const uint8_t *req, size_t req_len,
                                                     uint64_t now, uint8_t *out, size_t cap,
                                                     size_t *out_len);
PQ3_API PQ3_MUST_USE pq3_err pq3_device_link_finish(pq3_device *d, const uint8_t *resp,
                                                    size_t resp_len, uint64_t now);

/* Removes a device from our account: the next device list, signed by the
 * account key, without it. Errors: PQ3_ERR_UNKNOWN (no such device),
 * PQ3_ERR_STATE (removing the last device), PQ3_ERR_KEY (not our account's
 * key), PQ3_ERR_IO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_remove(pq3_device *d, const pq3_signer *account,
                                               const uint8_t device_id[PQ3_DEVICE_ID_BYTES],
                                               uint64_t now);

/* ---- what the directory holds (§3.3, §4) --------------------------------- */

/*
 * One account as a directory publishes it: the account key, the signed
 * device list, and per device its certificate and current prekey bundle
 * (the pointers are the caller's; a bundle may be absent: NULL). Used both
 * ways: pq3_device_publication fills it for upload, pq3_device_learn reads
 * a lookup's answer.
 */
typedef struct pq3_directory_entry {
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    const uint8_t *device_list;
    size_t device_list_len;
    uint32_t n_devices;
    const uint8_t *certs[PQ3_ACCOUNT_MAX_DEVICES];
    size_t cert_lens[PQ3_ACCOUNT_MAX_DEVICES];
    const uint8_t *bundles[PQ3_ACCOUNT_MAX_DEVICES];
    size_t bundle_lens[PQ3_ACCOUNT_MAX_DEVICES];
} pq3_directory_entry;

/* What this device publishes: our account key, our account's device list,
 * our certificate and our current bundle (one device: n_devices = 1). The
 * pointers point into the handle and stay valid until its next call.
 * Errors: PQ3_ERR_STATE (not active), PQ3_ERR_IO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_publication(pq3_device *d, uint64_t now,
                                                    pq3_directory_entry *out);

/* ---- prekeys (§4) --------------------------------------------------------- */

/* Makes a new bundle when the current one is older than prekey_interval
 * (or at once with `force`), and erases the secrets and replay caches of
 * bundles past their expiry plus PQ3_PREKEY_GRACE. *made (may be NULL):
 * 1 when a bundle was made; *erased (may be NULL): how many were erased.
 * Publish the new bundle (pq3_device_publication) after it is made.
 * Errors: PQ3_ERR_STATE (not active), PQ3_ERR_IO, the signer's. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_rotate_prekeys(pq3_device *d, uint64_t now, int force,
                                                       int *made, uint32_t *erased);

/* ---- contacts (§5) -------------------------------------------------------- */

/* What pq3_device_learn found. */
typedef struct pq3_contact_report {
    uint8_t first_seen;        /* a new contact, its account key pinned now */
    uint8_t key_changed;       /* the account key differs from the pinned one:
                                * nothing is sent to this handle until
                                * pq3_device_accept_key */
    uint8_t was_verified;      /* ... and the old key had been verified */
    uint32_t added;            /* devices new to us */
    uint32_t removed;          /* devices no longer listed (their sessions erased) */
    uint64_t list_version;
} pq3_contact_report;

/*
 * Takes a directory lookup of `handle` (which may be our own handle: our
 * other devices). Checks: the device list under the entry's account key,
 * for this handle; every listed device has a certificate, valid now, under
 * that account key, for this handle, with the listed key (a certificate of
 * another account key is refused); each bundle under its certificate (an
 * invalid bundle is dropped, the device kept). A list with a lower version
 * than the one held (a rollback), or another list under the same version,
 * is refused with PQ3_ERR_REPLAY / PQ3_ERR_VERIFY and changes nothing. For
 * our own handle the account key must be ours. A changed account key of a
 * contact is recorded, not applied, and reported.
 * Errors: PQ3_ERR_ARG, PQ3_ERR_DECODE, PQ3_ERR_VERIFY, PQ3_ERR_KEY,
 * PQ3_ERR_EXPIRED, PQ3_ERR_REPLAY, PQ3_ERR_IO.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_learn(pq3_device *d, const char *handle,
                                              const pq3_directory_entry *entry, uint64_t now,
                                              pq3_contact_report *report);

/* Accepts the account key change recorded for `handle`: the new key is
 * pinned (not verified), its device list applied, old sessions erased.
 * Errors: PQ3_ERR_UNKNOWN (no contact), PQ3_ERR_STATE (no change pending). */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_accept_key(pq3_device *d, const char *handle,
                                                   uint64_t now);

/* Marks the pinned account key of `handle` verified (compared in person).
 * Errors: PQ3_ERR_UNKNOWN, PQ3_ERR_STATE (a change is pending). */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_mark_verified(pq3_device *d, const char *handle);

/* A contact as the store holds it. */
typedef struct pq3_contact_info {
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t verified;
    uint8_t key_changed;                    /* a change awaits acceptance */
    uint64_t list_version;
    uint32_t n_devices;
    uint8_t device_ids[PQ3_ACCOUNT_MAX_DEVICES][PQ3_DEVICE_ID_BYTES];
} pq3_contact_info;
PQ3_API PQ3_MUST_USE pq3_err pq3_device_contact(pq3_device *d, const char *handle,
                                                pq3_contact_info *info);

/* ---- sending (§6) --------------------------------------------------------- */

/*
 * Seals `text` once per device of `handle` and once per other device of
 * our own account (which see what we sent), starting a session from the
 * stored bundle where none exists, and commits the sessions and the
 * envelopes in one transaction. *envelopes (may be NULL) = how many were
 * queued; msg_id (may be NULL) = the message's id, the same in every copy.
 * Errors: PQ3_ERR_ARG (text over PQ3_DEVICE_MAX_TEXT), PQ3_ERR_UNKNOWN (no
 * such contact: learn it first), PQ3_ERR_STATE (its account key changed
 * and was not accepted; not active), PQ3_ERR_EXPIRED (a device's bundle
 * expired and it has no session: look it up again), PQ3_ERR_IO (the
 * commit failed: nothing was queued), and the protocol's errors. On error
 * nothing is queued and no session changes.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_send(pq3_device *d, const char *handle,
                                             const uint8_t *text, size_t text_len, uint64_t now,
                                             uint32_t *envelopes,
                                             uint8_t msg_id[PQ3_MSG_ID_BYTES]);

/* One sealed envelope of the outbox. `msg` points into the handle (valid
 * until its next call). */
typedef struct pq3_envelope {
    int64_t id;                                  /* outbox row */
    uint8_t to_handle[PQ3_HANDLE_MAX];
    uint8_t to_handle_len;
    uint8_t to_device[PQ3_DEVICE_ID_BYTES];
    const uint8_t *msg;
    size_t msg_len;
} pq3_envelope;

/* Up to `max` envelopes of the outbox, oldest first, after id `after` (0:
 * from the start), into out; *n = how many. Errors: PQ3_ERR_IO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_outbox(pq3_device *d, int64_t after,
                                               pq3_envelope *out, uint32_t max, uint32_t *n);
/* Deletes an acknowledged envelope (an unknown id is no error: it may be
 * acknowledged twice after a crash). Errors: PQ3_ERR_IO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_outbox_done(pq3_device *d, int64_t id);

/* ---- receiving (§6) ------------------------------------------------------- */

/* An envelope that arrived: who the transport says sent it, and the bytes. */
typedef struct pq3_incoming {
    const char *from_handle;
    uint8_t from_device[PQ3_DEVICE_ID_BYTES];
    const uint8_t *msg;
    size_t msg_len;
} pq3_incoming;

/* What became of one incoming envelope. */
typedef struct pq3_received {
    pq3_err err;            /* PQ3_OK, or why it was dropped */
    uint8_t duplicate;      /* seen before: acknowledge it, nothing shown */
    uint8_t receipt;        /* a delivery receipt (nothing in the inbox) */
    uint8_t kem_completed;  /* it completed an ML-KEM step */
    int64_t inbox_id;       /* its inbox row, 0 if none */
} pq3_received;

/*
 * Opens a batch of envelopes in ONE transaction: each is routed to the
 * sender device's container, starts are accepted against the prekey they
 * name (and its replay cache), the text goes to the inbox, a receipt is
 * sealed into the outbox for every session that owes one. Each envelope's
 * result is in res[i]: an envelope that fails (bad bytes, unknown sender
 * device, not for us, ...) is dropped with its error and changes nothing;
 * the others are kept. Returns PQ3_OK when the batch was committed (then
 * every envelope, dropped or not, may be acknowledged), else the error of
 * the commit (PQ3_ERR_IO: nothing changed, acknowledge none).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_receive(pq3_device *d, const pq3_incoming *in,
                                                size_t n, uint64_t now, pq3_received *res);

/* Kinds of inbox items. */
#define PQ3_INBOX_MESSAGE 1    /* a text sent to us */
#define PQ3_INBOX_SENT 2       /* a copy of what another of our devices sent */
#define PQ3_INBOX_RECEIPT 3    /* a device of the peer received our messages */

/* One item of the inbox. Pointers into the handle until its next call. */
typedef struct pq3_inbox_item {
    int64_t id;
    uint8_t kind;                               /* PQ3_INBOX_* */
    const char *from_handle;                    /* who sent it */
    uint8_t from_device[PQ3_DEVICE_ID_BYTES];
    const char *peer_handle;                    /* the conversation: sender, or
                                                 * for SENT the recipient */
    uint8_t msg_id[PQ3_MSG_ID_BYTES];
    uint64_t sent;                              /* the sender's time */
    uint64_t received;
    const uint8_t *text;
    size_t text_len;
} pq3_inbox_item;

/* Up to `max` items after id `after`, oldest first; *n = how many.
 * Errors: PQ3_ERR_IO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_inbox(pq3_device *d, int64_t after,
                                              pq3_inbox_item *out, uint32_t max, uint32_t *n);
/* The application took the item: it is deleted. Errors: PQ3_ERR_IO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_device_inbox_done(pq3_device *d, int64_t id);

#ifdef __cplusplus
}
#endif
#endif
