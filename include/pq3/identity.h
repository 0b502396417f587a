/*
 * OpenPQ3 identities (docs/PROTOCOL.md §4, §5): account keys, device
 * certificates, and the signer interface through which every signing key is
 * used.
 *
 * An account key (P-256 ECDSA) signs one device certificate per device. A
 * device certificate binds a handle, a device id, the device authentication
 * key and the protocol versions the device supports (inside the signature:
 * anti-downgrade), with a creation and an expiry time.
 *
 * Private keys never pass through the protocol code: it signs through a
 * pq3_signer, which a key store (PKCS#11 token, software file) implements.
 * pq3_soft_signer is the software implementation over pq3_ecdsa_sign.
 */
#ifndef PQ3_IDENTITY_H
#define PQ3_IDENTITY_H

#include "pq3/common.h"
#include "pq3/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol version this library implements (docs/PROTOCOL.md §10.1). */
#define PQ3_PROTOCOL_VERSION 1
/* Format version byte and type bytes of the top-level structures (§2). */
#define PQ3_FORMAT_VERSION 1
#define PQ3_TYPE_CERT 0x01
#define PQ3_TYPE_PREKEY 0x02
#define PQ3_TYPE_MESSAGE 0x03
#define PQ3_TYPE_STATE 0x04

#define PQ3_DEVICE_ID_BYTES 16
#define PQ3_HANDLE_MAX 255
#define PQ3_CERT_MAX_VERSIONS 8
/* Tolerated clock skew for "created" times in the future (§4, §6). */
#define PQ3_CLOCK_SKEW 3600
/* Largest encoded device certificate. */
#define PQ3_CERT_MAX_BYTES (2 + 2 + PQ3_HANDLE_MAX + PQ3_DEVICE_ID_BYTES + \
                            PQ3_ECDSA_PUB_BYTES + 1 + PQ3_CERT_MAX_VERSIONS + 8 + 8 + \
                            PQ3_ECDSA_SIG_BYTES)

/*
 * A signing key behind an interface (docs/PROTOCOL.md §5). `sign` writes any
 * valid 64-byte ECDSA P-256 / SHA-256 signature (r || s, each 32 bytes
 * big-endian) of msg[0..len) under the key whose 33-byte compressed public
 * key is `pub`, and returns PQ3_OK or a negative pq3_err. The library never
 * sees the private key.
 *
 * The nonce may be random and s may be above n/2, as a PKCS#11 token
 * returns them: before the library publishes a signature it replaces a high
 * s by n - s (the same signature in the encoding verifiers accept; the
 * signer is not asked again) and verifies it under `pub`. So:
 *  - an error returned by `sign` is passed up unchanged by the function
 *    that signs (a positive return, which is no pq3_err, is PQ3_ERR_CRYPTO);
 *  - PQ3_OK with r or s outside [1, n-1], or with a signature that does not
 *    verify under `pub` (garbage, another key), gives PQ3_ERR_CRYPTO: a
 *    system failure, the key store misbehaved;
 *  - a `pub` that is not a valid compressed point gives PQ3_ERR_ARG, before
 *    `sign` is called;
 * and in each case the function's outputs are untouched or wiped as its
 * documentation says. `sign` is called once per signature, never retried.
 *
 * The software signer (pq3_soft_signer) signs with RFC 6979 nonces, so its
 * signatures are deterministic and test conversations replay byte for byte;
 * the check under `pub` is skipped for it (its signatures are valid by
 * construction), which no other signer can ask for.
 */
typedef struct pq3_signer {
    void *ctx;
    pq3_err (*sign)(void *ctx, uint8_t sig[PQ3_ECDSA_SIG_BYTES],
                    const uint8_t *msg, size_t len);
    uint8_t pub[PQ3_ECDSA_PUB_BYTES];
} pq3_signer;

/*
 * A signature of msg[0..len) through `signer`, in the encoding verifiers
 * accept (docs/PROTOCOL.md §5): the signer's output with r, s checked in
 * [1, n-1], a high s replaced by n - s, and verified under signer->pub
 * (skipped only for the library's own software signer). Every signature the
 * library makes goes through this; layers above it (account device lists,
 * link requests, server challenges) use it too.
 * Errors: PQ3_ERR_ARG (NULL, signer->pub not a valid key), whatever the
 * signer returns, PQ3_ERR_CRYPTO (the signer misbehaved). sig wiped on
 * error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_sign(const pq3_signer *signer,
                                      uint8_t sig[PQ3_ECDSA_SIG_BYTES],
                                      const uint8_t *msg, size_t len);

/* A software signing key (the default key store, and tests). Secret: wipe
 * it with pq3_soft_key_wipe. */
typedef struct pq3_soft_key {
    uint8_t priv[PQ3_ECDSA_PRIV_BYTES];
    uint8_t pub[PQ3_ECDSA_PUB_BYTES];
} pq3_soft_key;

/* New P-256 key from `rng` (NULL: system generator), drawn as
 * docs/PROTOCOL.md §15 says (32 bytes, redrawn while not in [1, n-1]).
 * Errors: PQ3_ERR_ARG (key NULL), PQ3_ERR_RNG, PQ3_ERR_CRYPTO; key wiped on
 * error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_soft_key_generate(pq3_soft_key *key, const pq3_rng *rng);

/* Loads a 32-byte private scalar. Errors: PQ3_ERR_ARG, PQ3_ERR_KEY (0 or
 * >= n), PQ3_ERR_CRYPTO; key wiped on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_soft_key_import(pq3_soft_key *key,
                                                 const uint8_t priv[PQ3_ECDSA_PRIV_BYTES]);

/* Wipes the key. NULL does nothing. */
PQ3_API void pq3_soft_key_wipe(pq3_soft_key *key);

/* Makes `signer` sign with `key` (which must outlive the signer; the signer
 * only points at it), with deterministic low-s signatures (pq3_ecdsa_sign).
 * A signer whose `pub` is changed afterwards is checked like any other.
 * Errors: PQ3_ERR_ARG (NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_soft_signer(pq3_signer *signer, pq3_soft_key *key);

/*
 * A device certificate (§4). Filled by the caller before pq3_cert_issue, by
 * pq3_cert_decode / pq3_cert_verify otherwise. `auth_key` and `verified` are
 * set only by pq3_cert_verify: sessions require a verified peer certificate.
 */
typedef struct pq3_device_cert {
    uint8_t handle[PQ3_HANDLE_MAX];
    uint8_t handle_len;                         /* 1..255 */
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t auth_pub[PQ3_ECDSA_PUB_BYTES];      /* device authentication key */
    uint8_t versions[PQ3_CERT_MAX_VERSIONS];    /* strictly increasing, >= 1 */
    uint8_t n_versions;                         /* 1..8 */
    uint64_t created;
    uint64_t expires;                           /* > created */
    uint8_t signature[PQ3_ECDSA_SIG_BYTES];
    pq3_ecdsa_pub auth_key;                     /* imported auth_pub (verify) */
    uint8_t verified;                           /* 1 after pq3_cert_verify */
} pq3_device_cert;

/*
 * Signs `cert` with the account key behind `account` and writes its encoding
 * (§4) to out[0..cap); *out_len = its length (at most PQ3_CERT_MAX_BYTES).
 * cert->signature receives the signature. The signing input binds the
 * account public key account->pub.
 * Errors: PQ3_ERR_ARG (NULL, handle length 0, version list empty, too long,
 * not strictly increasing or containing 0, expires <= created, account->pub
 * not a valid key), PQ3_ERR_BUFFER (cap too small; *out_len is then the size
 * needed), PQ3_ERR_CRYPTO (the signer returned a malformed signature or one
 * that does not verify under account->pub; see pq3_signer), whatever the
 * signer returns. Nothing is written on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_cert_issue(uint8_t *out, size_t cap, size_t *out_len,
                                            pq3_device_cert *cert, const pq3_signer *account);

/*
 * Strict decoding of an encoded certificate without any cryptographic check
 * (for inspection and the fuzzer); cert->verified = 0.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_VERSION (format version or type byte),
 * PQ3_ERR_DECODE (anything else malformed). *cert untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_cert_decode(pq3_device_cert *cert, const uint8_t *in, size_t len);

/*
 * Verifies a certificate against the account public key at time `now`,
 * in the order of §4: decode, account key import, signature, validity
 * (now < expires and created <= now + PQ3_CLOCK_SKEW), device key import.
 * On success *cert holds the fields, auth_key and verified = 1.
 * Errors: PQ3_ERR_ARG, PQ3_ERR_VERSION, PQ3_ERR_DECODE, PQ3_ERR_KEY (account
 * or device key not a valid point), PQ3_ERR_VERIFY (bad signature),
 * PQ3_ERR_EXPIRED, PQ3_ERR_CRYPTO. *cert untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_cert_verify(pq3_device_cert *cert, const uint8_t *in, size_t len,
                                             const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES],
                                             uint64_t now);

/*
 * The protocol version two devices use (§10.1): the highest version both
 * certificates list, which must be one this library implements.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_VERSION (no common version this
 * library implements, or the highest common one is newer than it).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_cert_common_version(uint8_t *version,
                                                     const pq3_device_cert *a,
                                                     const pq3_device_cert *b);

#ifdef __cplusplus
}
#endif
#endif
