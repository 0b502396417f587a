/*
 * Padmé padding (Nikitin et al., PoPETs 2019; PROTOCOL-BRIEF §5,
 * docs/PROTOCOL.md): a message of n bytes becomes n ‖ 0x80 ‖ 0x00… of
 * length pq3_padme_length(n + 1), which leaks only O(log log n) bits of
 * the length, at most 12 % overhead.
 */
#ifndef PQ3_PADME_H
#define PQ3_PADME_H

#include "pq3/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest plaintext the protocol pads (1 MiB). */
#define PQ3_PADME_MAX_PLAINTEXT (1u << 20)

/* Padme(L): L for L < 2, else L rounded up to a multiple of 2^(E-S) where
 * E = floor(log2 L), S = floor(log2 E) + 1. */
PQ3_API size_t pq3_padme_length(size_t len);

/* Size of the padded form of a plaintext of `len` bytes:
 * pq3_padme_length(len + 1). */
PQ3_API size_t pq3_padme_padded_size(size_t len);

/* Writes in[0..len) ‖ 0x80 ‖ zeros to out, *out_len = padded size.
 * Errors: PQ3_ERR_ARG (len > PQ3_PADME_MAX_PLAINTEXT), PQ3_ERR_BUFFER
 * (out_cap < padded size). in and out may be the same buffer. */
PQ3_API PQ3_MUST_USE pq3_err pq3_padme_pad(uint8_t *out, size_t out_cap, size_t *out_len,
                                           const uint8_t *in, size_t len);

/* Finds the plaintext length in a padded buffer: the last non-zero byte must
 * be 0x80, and the buffer length must be exactly the padded size of what
 * precedes it. Errors: PQ3_ERR_DECODE. Runs in time that depends only on
 * `len`, not on the contents. */
PQ3_API PQ3_MUST_USE pq3_err pq3_padme_unpad(size_t *plain_len, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
