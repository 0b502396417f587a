/*
 * The key store handle as its two backends see it (internal): keystore.c
 * holds the handle and the software backend, pkcs11.c the token backend.
 */
#ifndef PQ3_DEVICE_KEYSTORE_INT_H
#define PQ3_DEVICE_KEYSTORE_INT_H

#include "device/devutil.h"
#include "pq3/keystore.h"

enum { KS_EMPTY = 0, KS_SOFT = 1, KS_TOKEN = 2 };

struct pq3_p11;   /* pkcs11.c: module, session, key handles */

struct pq3_keystore {
    int kind;                       /* KS_* */
    char err[PQ3_ERRBUF_BYTES];
    pq3_soft_key soft;              /* KS_SOFT: the key (secret) */
    uint8_t pub[PQ3_ECDSA_PUB_BYTES];
    struct pq3_p11 *p11;            /* KS_TOKEN */
};

/* pkcs11.c. Each fills ks->p11 and ks->pub and sets ks->kind on success;
 * on failure the handle is left empty and ks->err says why. */
pq3_err pq3_p11_create(pq3_keystore *ks, const pq3_pkcs11_config *cfg);
pq3_err pq3_p11_open(pq3_keystore *ks, const pq3_pkcs11_config *cfg);
/* Signs SHA-256(msg) in the token: raw r || s as the token gives it. */
pq3_err pq3_p11_sign(void *ctx, uint8_t sig[PQ3_ECDSA_SIG_BYTES], const uint8_t *msg,
                     size_t len);
/* Closes the session and releases the module. NULL does nothing. */
void pq3_p11_close(struct pq3_p11 *p);

#endif
