/*
 * Modular reduction for coefficients mod q = 3329 (internal). Montgomery
 * reduction (R = 2^16) after products, Barrett reduction after sums; both
 * are multiplications and shifts only, so secret coefficients are reduced
 * in constant time without a division.
 */
#ifndef PQ3_MLKEM_REDUCE_H
#define PQ3_MLKEM_REDUCE_H

#include <stdint.h>

#include "mlkem/params.h"

#define PQ3_MLKEM_QINV 62209u /* q^-1 mod 2^16 */

/* For |a| < q * 2^15 returns a * 2^-16 mod q in (-q, q). */
static inline int16_t pq3_montgomery_reduce(int32_t a)
{
    /* t = a * q^-1 mod 2^16, so a - t*q is divisible by 2^16 exactly. */
    int16_t t = (int16_t)(uint16_t)((uint32_t)a * PQ3_MLKEM_QINV);
    return (int16_t)((a - (int32_t)t * PQ3_MLKEM_Q) >> 16);
}

/* a * b * 2^-16 mod q, in (-q, q). */
static inline int16_t pq3_fqmul(int16_t a, int16_t b)
{
    return pq3_montgomery_reduce((int32_t)a * b);
}

/* The representative of a mod q in [-(q-1)/2, (q-1)/2]:
 * 20159 = round(2^26 / q), so t is a rounded to the nearest multiple of q. */
static inline int16_t pq3_barrett_reduce(int16_t a)
{
    int32_t t = ((int32_t)20159 * a + (1 << 25)) >> 26;
    return (int16_t)(a - t * PQ3_MLKEM_Q);
}

/* For a in (-q, q) returns a mod q in [0, q): adds q when the sign bit is
 * set, through a mask. */
static inline int16_t pq3_caddq(int16_t a)
{
    return (int16_t)(a + ((a >> 15) & PQ3_MLKEM_Q));
}

/* For a in [0, 2q) returns a mod q in [0, q). */
static inline int16_t pq3_csubq(int16_t a)
{
    a = (int16_t)(a - PQ3_MLKEM_Q);
    return pq3_caddq(a);
}

#endif
