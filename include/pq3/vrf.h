/*
 * OpenPQ3: the verifiable random function of key transparency,
 * ECVRF-P256-SHA256-TAI (RFC 9381 §5, suite_string 0x01).
 *
 * A VRF is a keyed hash with a proof: the holder of the secret key computes
 * beta = VRF(sk, alpha) together with a proof pi, and anyone holding the
 * public key checks from pi that beta is the one value for alpha. The
 * transparency map uses beta as the position of an entry, so the server can
 * prove where an entry lives without letting anyone enumerate identifiers.
 *
 * Encodings (RFC 9381 §5.5):
 *   sk    32 bytes, the secret scalar x as a big-endian integer in [1, q-1]
 *         (q the order of P-256)
 *   pk    33 bytes, Y = x·B as a compressed SEC1 point
 *   pi    81 bytes, point_to_string(Gamma) (33) || c (16) || s (32)
 *   beta  32 bytes, SHA-256(0x01 || 0x03 || point_to_string(Gamma) || 0x00)
 *
 * Proving is deterministic (the nonce comes from RFC 6979), so the same key
 * and alpha always give the same pi. Verification validates the public key
 * (a curve point, not the identity: RFC 9381 §5.4.5 always applied) and
 * decodes pi strictly (§5.4.4: Gamma a canonical curve point, s < q).
 *
 * Timing: the secret scalar and the nonce are handled in constant time. The
 * try-and-increment encoding of alpha to the curve (§5.4.1.1) takes a number
 * of attempts that depends on alpha and pk (RFC 9381 §7.4): alpha is treated
 * as public.
 *
 * All functions may run concurrently in any number of threads.
 */
#ifndef PQ3_VRF_H
#define PQ3_VRF_H

#include "pq3/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_VRF_SK_BYTES 32
#define PQ3_VRF_PK_BYTES 33
#define PQ3_VRF_PROOF_BYTES 81 /* 33 + 16 + 32 */
#define PQ3_VRF_HASH_BYTES 32

/* A new key pair: sk uniformly in [1, q-1] from `rng` (NULL: the system
 * generator), pk = sk·B. The caller wipes sk (pq3_wipe) when done.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_RNG, PQ3_ERR_CRYPTO; sk and pk wiped. */
PQ3_API PQ3_MUST_USE pq3_err pq3_vrf_keypair(uint8_t sk[PQ3_VRF_SK_BYTES],
                                             uint8_t pk[PQ3_VRF_PK_BYTES],
                                             const pq3_rng *rng);

/* The public key of a 32-byte secret scalar (RFC 9381 §5.5: the secret
 * scalar x is the secret key itself).
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_KEY (sk is 0 or >= q),
 * PQ3_ERR_CRYPTO; pk wiped. */
PQ3_API PQ3_MUST_USE pq3_err pq3_vrf_public(uint8_t pk[PQ3_VRF_PK_BYTES],
                                            const uint8_t sk[PQ3_VRF_SK_BYTES]);

/*
 * RFC 9381 §5.1: the proof pi for alpha (alpha_len bytes; alpha may be NULL
 * when alpha_len is 0). The public key is derived from sk on every call and
 * never taken from the caller: with a wrong public key the challenge changes
 * while the nonce does not, and two such proofs would reveal sk.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_KEY (sk is 0 or >= q), PQ3_ERR_LIMIT
 * (no curve point in 256 attempts: probability about 2^-256),
 * PQ3_ERR_NOMEM, PQ3_ERR_CRYPTO; pi wiped.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_vrf_prove(uint8_t pi[PQ3_VRF_PROOF_BYTES],
                                           const uint8_t sk[PQ3_VRF_SK_BYTES],
                                           const uint8_t *alpha, size_t alpha_len);

/*
 * RFC 9381 §5.3 with key validation: checks that pi proves the VRF output for
 * alpha under pk and, if so, writes that output to beta.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_KEY (pk is not a compressed curve
 * point), PQ3_ERR_DECODE (pi does not decode: Gamma not a canonical curve
 * point, or s >= q), PQ3_ERR_VERIFY (the proof is wrong, or it yields U or V
 * at infinity, which no honest proof does), PQ3_ERR_LIMIT (as in prove),
 * PQ3_ERR_NOMEM, PQ3_ERR_CRYPTO; beta wiped.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_vrf_verify(uint8_t beta[PQ3_VRF_HASH_BYTES],
                                            const uint8_t pk[PQ3_VRF_PK_BYTES],
                                            const uint8_t *alpha, size_t alpha_len,
                                            const uint8_t pi[PQ3_VRF_PROOF_BYTES]);

/*
 * RFC 9381 §5.2: beta from a proof, without verifying it. Use it only on a
 * proof that was verified, or on one's own proof from pq3_vrf_prove: an
 * unverified pi says nothing about alpha (pq3_vrf_verify returns beta
 * itself).
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_DECODE (as in verify),
 * PQ3_ERR_CRYPTO; beta wiped.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_vrf_proof_to_hash(uint8_t beta[PQ3_VRF_HASH_BYTES],
                                                   const uint8_t pi[PQ3_VRF_PROOF_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
