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

/* a * b * 2^-16 mod q, in (-q, q): Montgomery reduction written on 16-bit
 * halves. With p = a*b and t = p * q^-1 mod 2^16, p and t*q agree in their
 * low 16 bits, so (p - t*q) >> 16 is exactly hi(p) - hi(t*q). In this form
 * the compiler can use 16-bit multiply-high vector instructions for whole
 * NTT layers. */
static inline int16_t pq3_fqmul(int16_t a, int16_t b)
{
    int32_t p = (int32_t)a * b;
    int16_t t = (int16_t)(uint16_t)((uint32_t)p * PQ3_MLKEM_QINV);
    int16_t hi = (int16_t)(p >> 16);
    int16_t thi = (int16_t)(((int32_t)t * PQ3_MLKEM_Q) >> 16);
    return (int16_t)(hi - thi);
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
