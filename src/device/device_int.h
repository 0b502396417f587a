/*
 * The device handle's insides (internal), shared by the files of the
 * device layer: device.c (handle, identity, accounts), prekeys.c,
 * contacts.c, fanout.c (sessions, send, receive, outbox, inbox).
 */
#ifndef PQ3_DEVICE_INT_H
#define PQ3_DEVICE_INT_H

#include "device/devutil.h"
#include "device/store.h"
#include "pq3/device.h"

struct pq3_device {
    pq3_store st;
    char err[PQ3_ERRBUF_BYTES];
    pq3_device_config cfg;
    pq3_signer signer;               /* the device authentication key */
    /* The identity row, loaded at open and after every change of it. */
    int have_identity;
    pq3_device_self self;
    uint8_t cert_blob[PQ3_CERT_MAX_BYTES];
    size_t cert_len;
    pq3_device_cert cert;            /* decoded (§10.2: our own certificate) */
    /* One container, reused for every peer device (about 250 KB), and what
     * was loaded into it, so that a save writes only the records whose
     * generation grew (PROTOCOL.md §10.7). */
    pq3_peer *peer;
    uint32_t loaded_n;
    uint8_t loaded_ids[PQ3_PEER_MAX_SESSIONS][32];
    uint64_t loaded_gens[PQ3_PEER_MAX_SESSIONS];
    uint64_t loaded_store_gen;
    int loaded_exists;
    uint8_t *buf;                    /* PQ3_SKIPPED_MAX_BYTES scratch for records */
    uint8_t (*states)[PQ3_STATE_MAX_BYTES]; /* PQ3_PEER_MAX_SESSIONS session records */
    /* Peer certificates verified in this process, by their bytes and the
     * account key (an ECDSA verification each, otherwise paid on every
     * envelope); a row changed in the store misses and is verified anew. */
    struct cert_cache {
        uint8_t blob[PQ3_CERT_MAX_BYTES];
        size_t len;
        uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
        pq3_device_cert cert;
    } certs[64];
    uint32_t n_certs, next_cert;
    /* What pq3_device_outbox / _inbox / _publication return points here. */
    uint8_t *arena;
    size_t arena_len, arena_cap, arena_high; /* high: most ever used (wiped at free) */
};

/* Our own certificate must be usable (active identity). */
pq3_err pq3_dev_require_active(pq3_device *d);
/* Reloads the identity row into the handle. */
pq3_err pq3_dev_load_identity(pq3_device *d);
/* Copies into the arena (reset with pq3_dev_arena_reset); NULL on ENOMEM. */
void pq3_dev_arena_reset(pq3_device *d);
const uint8_t *pq3_dev_arena_put(pq3_device *d, const void *p, size_t n);

/* pq3_cert_verify through the handle's cache (validity at `now` is checked
 * on every call). */
pq3_err pq3_dev_cert_verify(pq3_device *d, pq3_device_cert *cert, const uint8_t *blob,
                            size_t len, const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES],
                            uint64_t now);

/* Makes and stores a new prekey inside the caller's transaction. */
pq3_err pq3_dev_make_prekey(pq3_device *d, uint64_t now);

/* The contact row of `handle`: the pinned account key, and whether a
 * change is pending. PQ3_ERR_UNKNOWN when there is none. */
pq3_err pq3_dev_contact_key(pq3_device *d, const uint8_t *handle, size_t handle_len,
                            uint8_t account_pub[PQ3_ECDSA_PUB_BYTES], int *pending);

#endif
