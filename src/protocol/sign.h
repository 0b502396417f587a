/*
 * Signing through a pq3_signer (internal; docs/PROTOCOL.md §5). Every
 * signature the library publishes (certificates, prekey bundles, messages
 * and receipts) is made here, so a key store only has to return a valid
 * ECDSA signature: the encoding verifiers insist on is produced here.
 */
#ifndef PQ3_PROTOCOL_SIGN_H
#define PQ3_PROTOCOL_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/identity.h"

/*
 * sig = a signature of msg[0..len) through `signer`, as verifiers accept it
 * (§1: r, s in [1, n-1], s <= n/2). Calls signer->sign into a local buffer,
 * rejects r or s outside [1, n-1], replaces a high s by n - s (the same
 * signature; no new nonce is drawn), and verifies the result under
 * signer->pub. Only then is sig written.
 * Errors: PQ3_ERR_ARG (NULL, signer->sign NULL, signer->pub not a valid
 * compressed point), whatever signer->sign returns (unchanged),
 * PQ3_ERR_CRYPTO (the signer returned success with a malformed signature or
 * one that does not verify under signer->pub, or a positive value: the key
 * store misbehaved; or the backend failed). sig is wiped on every error.
 */
pq3_err pq3_sign_checked(const pq3_signer *signer, uint8_t sig[PQ3_ECDSA_SIG_BYTES],
                         const uint8_t *msg, size_t len);

/* The key behind `signer` when it is the library's software signer
 * (pq3_soft_signer, recognised by its sign function), else NULL.
 * Defined in identity.c, which owns that function. */
const pq3_soft_key *pq3_soft_signer_key(const pq3_signer *signer);

#endif
