/*
 * OpenPQ3 prekey bundles (docs/PROTOCOL.md §6): an ML-KEM-1024 encapsulation
 * key and a P-256 ECDH public key with an id, creation and expiry times,
 * signed by the device authentication key. A sender verifies a bundle
 * (pq3_prekey_verify) before starting a session with it; the owner keeps the
 * secrets (pq3_prekey_secret) to accept session starts, and stores them with
 * pq3_prekey_secret_serialize (§6.1).
 */
#ifndef PQ3_PREKEY_H
#define PQ3_PREKEY_H

#include "pq3/common.h"
#include "pq3/crypto.h"
#include "pq3/identity.h"
#include "pq3/mlkem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_PREKEY_BUNDLE_BYTES 1686
#define PQ3_PREKEY_HASH_BYTES 48
/* Type byte of a serialized prekey secret (§2, §6.1) and its fixed length:
 * version, type, bundle, ECDH scalar, ML-KEM-1024 dk. */
#define PQ3_TYPE_PREKEY_SECRET 0x08
#define PQ3_PREKEY_SECRET_BYTES (2 + PQ3_PREKEY_BUNDLE_BYTES + PQ3_ECDH_PRIV_BYTES + \
                                 PQ3_MLKEM1024_DK_BYTES)
/* Session starts are accepted until expires + this many seconds (§6). */
#define PQ3_PREKEY_GRACE 604800

/* A bundle: public data. `ecdh` and `verified` are set by pq3_prekey_verify
 * (and pq3_prekey_generate); sessions start only from a verified bundle. */
typedef struct pq3_prekey_bundle {
    uint32_t id;
    uint64_t created;
    uint64_t expires;
    uint8_t ecdh_pub[PQ3_ECDH_PUB_BYTES];
    uint8_t kem_ek[PQ3_MLKEM1024_EK_BYTES];
    uint8_t signature[PQ3_ECDSA_SIG_BYTES];
    uint8_t hash[PQ3_PREKEY_HASH_BYTES];   /* SHA-384 of the encoding */
    pq3_ecdh_peer ecdh;                    /* imported ecdh_pub */
    uint8_t verified;
} pq3_prekey_bundle;

/* A bundle with its secrets, kept by the owning device. Secret: wipe with
 * pq3_prekey_secret_wipe once the grace window has passed. */
typedef struct pq3_prekey_secret {
    pq3_prekey_bundle bundle;
    uint8_t ecdh_priv[PQ3_ECDH_PRIV_BYTES];
    uint8_t kem_dk[PQ3_MLKEM1024_DK_BYTES];
} pq3_prekey_secret;

/*
 * Makes a prekey: the ECDH scalar, then ML-KEM-1024 d || z, from `rng`
 * (NULL: system generator; §15 order), signed through `device` (the device
 * authentication key). out->bundle is complete (hash, verified = 1).
 * Errors: PQ3_ERR_ARG (NULL, expires <= created, device->pub not a valid
 * key), PQ3_ERR_RNG, PQ3_ERR_CRYPTO (also: the signer returned a malformed
 * signature or one that does not verify under device->pub; see pq3_signer),
 * whatever the signer returns. *out wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_prekey_generate(pq3_prekey_secret *out, uint32_t id,
                                                 uint64_t created, uint64_t expires,
                                                 const pq3_signer *device, const pq3_rng *rng);

/* Writes the 1686-byte encoding of a bundle (§6). Errors: PQ3_ERR_ARG. */
PQ3_API PQ3_MUST_USE pq3_err pq3_prekey_encode(uint8_t out[PQ3_PREKEY_BUNDLE_BYTES],
                                               const pq3_prekey_bundle *bundle);

/*
 * Strict decoding without cryptographic checks (inspection, fuzzing): fills
 * the fields and the hash, verified = 0.
 * Errors: PQ3_ERR_ARG, PQ3_ERR_VERSION, PQ3_ERR_DECODE (wrong length,
 * expires <= created). *bundle untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_prekey_decode(pq3_prekey_bundle *bundle,
                                               const uint8_t *in, size_t len);

/*
 * Verifies a bundle of the device whose verified certificate is `owner`, at
 * time `now`, in the order of §6: decode, signature, validity (now < expires,
 * created <= now + PQ3_CLOCK_SKEW), ECDH key, ML-KEM-1024 ek modulus check.
 * Errors: PQ3_ERR_ARG (NULL, owner not verified), PQ3_ERR_VERSION,
 * PQ3_ERR_DECODE, PQ3_ERR_VERIFY, PQ3_ERR_EXPIRED, PQ3_ERR_KEY,
 * PQ3_ERR_CRYPTO. *bundle untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_prekey_verify(pq3_prekey_bundle *bundle,
                                               const uint8_t *in, size_t len,
                                               const pq3_device_cert *owner, uint64_t now);

/*
 * Storing a prekey's secrets (§6.1). A device keeps two records per live
 * prekey: this one, written once when the prekey is made (the secret never
 * changes), and the prekey's session-start replay cache (pq3_start_cache,
 * include/pq3/session.h, serialized with pq3_start_cache_serialize), which
 * grows with every accepted start and is rewritten each time. Both are
 * erased when the grace window has passed.
 */

/*
 * Serializes `s` (made by pq3_prekey_generate or pq3_prekey_secret_deserialize)
 * to out[0..cap); *out_len = PQ3_PREKEY_SECRET_BYTES. The output holds the
 * private keys: store it as a secret and wipe it after use.
 * Errors: PQ3_ERR_ARG (NULL, or s->bundle.verified is 0: not a secret those
 * functions made, e.g. a wiped one), PQ3_ERR_BUFFER (cap too small;
 * *out_len = PQ3_PREKEY_SECRET_BYTES). out[0..cap) is wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_prekey_secret_serialize(const pq3_prekey_secret *s,
                                                         uint8_t *out, size_t cap,
                                                         size_t *out_len);

/*
 * Loads a serialized prekey secret, strictly, re-validating everything once
 * so that the loaded secret never needs checking again (§6.1): the bundle
 * decodes as pq3_prekey_decode does, the ECDH scalar is in [1, n-1] and its
 * public key is the bundle's, the ML-KEM-1024 dk passes the FIPS 203 §7.3
 * check, embeds the bundle's ek (which passes the §7.2 check) and decrypts
 * what is encrypted to that ek. On success s->bundle is complete (hash,
 * imported ECDH key, verified = 1).
 * The bundle's signature is NOT checked (that needs the owner's
 * certificate): this is for the owner loading its own secrets from its own
 * store. Nothing in the record can tell when the bundle's id, times (while
 * expires > created) or signature were altered: such a record loads, but
 * its prekey hash no longer matches the published bundle's, so starts made
 * against that bundle fail with PQ3_ERR_UNKNOWN. An altered z (the dk's
 * implicit-rejection value, used only on bad ciphertexts) loads and works.
 * To check the signature too, pass the bundle's encoding
 * (pq3_prekey_encode) to pq3_prekey_verify with the device's own
 * certificate.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_VERSION (format version or type byte,
 * also the bundle's), PQ3_ERR_DECODE (length other than
 * PQ3_PREKEY_SECRET_BYTES, the bundle's expires <= created), PQ3_ERR_KEY
 * (scalar 0 or >= n or not the bundle's ECDH key, dk failing §7.3, an ek
 * failing §7.2 or other than the bundle's, a dk that does not decrypt for
 * its ek), PQ3_ERR_CRYPTO. *s untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_prekey_secret_deserialize(pq3_prekey_secret *s,
                                                           const uint8_t *in, size_t len);

/* Wipes the secrets (and the rest). NULL does nothing. */
PQ3_API void pq3_prekey_secret_wipe(pq3_prekey_secret *secret);

#ifdef __cplusplus
}
#endif
#endif
