/*
 * ECVRF internals shared with the tests (internal; the API is
 * include/pq3/vrf.h).
 */
#ifndef PQ3_TRANSPARENCY_VRF_H
#define PQ3_TRANSPARENCY_VRF_H

#include <stdint.h>

#include "pq3/common.h"
#include "pq3/vrf.h"

/* The intermediate values of one proof or verification (RFC 9381 Appendix
 * B lists them for its examples). k is the secret nonce: this exists for
 * the known-answer tests only, and the caller wipes it. */
typedef struct {
    uint8_t h[PQ3_VRF_PK_BYTES]; /* H = encode_to_curve(pk, alpha), compressed */
    unsigned ctr;                /* the try-and-increment counter that gave H */
    uint8_t k[32];               /* nonce (prove only; zero after verify) */
    uint8_t u[PQ3_VRF_PK_BYTES]; /* U = k·B = s·B - c·Y */
    uint8_t v[PQ3_VRF_PK_BYTES]; /* V = k·H = s·H - c·Gamma */
} pq3_vrf_trace;

/* pq3_vrf_prove and pq3_vrf_verify, also filling *trace when it is not
 * NULL (on success; on failure its contents are unspecified but wiped). */
pq3_err pq3_vrf_prove_traced(uint8_t pi[PQ3_VRF_PROOF_BYTES], const uint8_t sk[PQ3_VRF_SK_BYTES],
                             const uint8_t *alpha, size_t alpha_len, pq3_vrf_trace *trace);
pq3_err pq3_vrf_verify_traced(uint8_t beta[PQ3_VRF_HASH_BYTES], const uint8_t pk[PQ3_VRF_PK_BYTES],
                              const uint8_t *alpha, size_t alpha_len,
                              const uint8_t pi[PQ3_VRF_PROOF_BYTES], pq3_vrf_trace *trace);

#endif
