/*
 * Scalar Compress_d / Decompress_d (FIPS 203 §4.2.1, eq. 4.7 and 4.8),
 * internal. Multiplications and shifts only: the values are secret in
 * K-PKE.Decrypt and in re-encryption.
 */
#ifndef PQ3_MLKEM_COMPRESS_H
#define PQ3_MLKEM_COMPRESS_H

#include <stdint.h>

#include "mlkem/params.h"

/* Compress_d(x) = round(2^d * x / q) mod 2^d for x in [0, q), d <= 11.
 * round(n / q) for n = 2^d * x equals floor((n + 1664) / q) since q is odd,
 * and floor(m / q) = (m * 2580335) >> 33 for every m < 2^23 (2580335 =
 * ceil(2^33 / q); checked exhaustively by tests/test_mlkem_parts.c). */
static inline uint16_t pq3_compress_d(uint16_t x, unsigned d)
{
    uint64_t n = ((uint64_t)x << d) + 1664;
    return (uint16_t)(((n * 2580335u) >> 33) & ((1u << d) - 1));
}

/* Decompress_d(y) = round(q * y / 2^d) for y in [0, 2^d). */
static inline uint16_t pq3_decompress_d(uint16_t y, unsigned d)
{
    return (uint16_t)(((uint32_t)y * PQ3_MLKEM_Q + (1u << (d - 1))) >> d);
}

#endif
