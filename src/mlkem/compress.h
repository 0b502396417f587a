/*
 * Scalar Compress_d / Decompress_d (FIPS 203 §4.2.1, eq. 4.7 and 4.8) and
 * the bit packing of ByteEncode_d / ByteDecode_d, eight values at a time,
 * internal (compress.c, and poly.c for d = 12). Multiplications and shifts
 * only: the values are secret in K-PKE.Decrypt and in re-encryption.
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

/* ByteEncode_d of eight values, d <= 12 (Algorithm 5): eight d-bit values
 * are exactly d bytes. They are packed into two 64-bit words, lo (bits
 * 0..63) and hi (bits 64..8d-1, only for d > 8). Called
 * with a constant d and unrolled, every shift below is a constant: straight
 * code, no loop over bits and no data-dependent control flow. */
static inline void pq3_pack8(uint8_t *r, const uint32_t t[8], unsigned d)
{
    uint64_t lo = 0, hi = 0;
    for (unsigned j = 0; j < 8; j++) {
        unsigned s = d * j;
        if (s < 64) {
            lo |= (uint64_t)t[j] << s;
            if (s + d > 64)
                hi |= (uint64_t)t[j] >> (64 - s);
        } else {
            hi |= (uint64_t)t[j] << (s - 64);
        }
    }
    for (unsigned b = 0; b < d && b < 8; b++)
        r[b] = (uint8_t)(lo >> (8 * b));
    for (unsigned b = 8; b < d; b++)
        r[b] = (uint8_t)(hi >> (8 * (b - 8)));
}

/* ByteDecode_d of eight values (Algorithm 6 without the reduction mod m):
 * d bytes to eight d-bit values. */
static inline void pq3_unpack8(uint32_t t[8], const uint8_t *a, unsigned d)
{
    const uint64_t mask = (1u << d) - 1;
    uint64_t lo = 0, hi = 0;
    for (unsigned b = 0; b < d && b < 8; b++)
        lo |= (uint64_t)a[b] << (8 * b);
    for (unsigned b = 8; b < d; b++)
        hi |= (uint64_t)a[b] << (8 * (b - 8));
    for (unsigned j = 0; j < 8; j++) {
        unsigned s = d * j;
        uint64_t v;
        if (s < 64) {
            v = lo >> s;
            if (s + d > 64)
                v |= hi << (64 - s);
        } else {
            v = hi >> (s - 64);
        }
        t[j] = (uint32_t)(v & mask);
    }
}

#endif
