/*
 * Polynomial and vector arithmetic for ML-KEM (internal).
 *
 * This header is the arithmetic boundary: K-PKE (kpke.c) reaches the ring
 * Z_q[X]/(X^256 + 1) only through the functions below, so a vectorized
 * backend (for example AVX2) can replace ntt.c, poly.c and compress.c by
 * providing the same functions with the same coefficient bounds.
 *
 * Coefficients are int16_t, not always fully reduced; each function states
 * the range it accepts and returns. "Montgomery factor" means the result is
 * scaled by R = 2^16 or R^-1 mod q, as noted.
 */
#ifndef PQ3_MLKEM_POLY_H
#define PQ3_MLKEM_POLY_H

#include <stdint.h>

#include "mlkem/params.h"

typedef struct {
    int16_t c[PQ3_MLKEM_N];
} pq3_poly;

typedef struct {
    pq3_poly v[PQ3_MLKEM_KMAX];
} pq3_polyvec;

/* ntt.c */
/* FIPS 203 Algorithm 9 (NTT), in place. Input |c| < q; output |c| < q
 * (Barrett-reduced). */
void pq3_poly_ntt(pq3_poly *p);
/* FIPS 203 Algorithm 10 (NTT^-1), in place, times R (Montgomery factor): it
 * cancels the R^-1 that pq3_polyvec_basemul_acc leaves. Input |c| < q (any
 * int16 input works, it is reduced first); output |c| < q. */
void pq3_poly_invntt_tomont(pq3_poly *p);
/* r = sum_{j<k} a[j] * b[j] in the NTT domain (FIPS 203 Algorithm 11,
 * MultiplyNTTs, accumulated), times R^-1. Inputs |c| < q (a up to 4096 is
 * fine too); output |c| < q. */
void pq3_polyvec_basemul_acc(pq3_poly *r, const pq3_polyvec *a, const pq3_polyvec *b,
                             unsigned k);
/* The factor b1 * gamma of each pair's product (FIPS 203 Algorithm 12,
 * line 1) depends on b alone: for a vector b multiplied by several rows
 * (K-PKE.KeyGen's s-hat and K-PKE.Encrypt's y-hat), it is computed once.
 * Entry i is b[2i+1] * gamma_i mod q, |c| < q. */
typedef struct {
    int16_t c[PQ3_MLKEM_N / 2];
} pq3_poly_mulcache;

typedef struct {
    pq3_poly_mulcache v[PQ3_MLKEM_KMAX];
} pq3_polyvec_mulcache;

/* The cache of each of b's k polynomials; input |c| < q. */
void pq3_polyvec_mulcache_compute(pq3_polyvec_mulcache *bc, const pq3_polyvec *b, unsigned k);
/* pq3_polyvec_basemul_acc with bc = the cache of b: the same result and
 * the same input ranges. */
void pq3_polyvec_basemul_acc_cached(pq3_poly *r, const pq3_polyvec *a, const pq3_polyvec *b,
                                    const pq3_polyvec_mulcache *bc, unsigned k);
/* pq3_poly_ntt / pq3_poly_invntt_tomont on each of the k polynomials. */
void pq3_polyvec_ntt(pq3_polyvec *v, unsigned k);
void pq3_polyvec_invntt_tomont(pq3_polyvec *v, unsigned k);

/* poly.c (calls nothing of ntt.c; ntt.c calls nothing of it) */
void pq3_poly_add(pq3_poly *r, const pq3_poly *a, const pq3_poly *b);
void pq3_poly_sub(pq3_poly *r, const pq3_poly *a, const pq3_poly *b);
/* Barrett-reduces every coefficient to [-(q-1)/2, (q-1)/2]. */
void pq3_poly_reduce(pq3_poly *p);
/* Multiplies by R (Montgomery factor) mod q; output |c| < q. */
void pq3_poly_tomont(pq3_poly *p);
/* ByteEncode_12 (FIPS 203 Algorithm 5) of the canonical representatives;
 * input |c| < q. */
void pq3_poly_tobytes(uint8_t r[PQ3_MLKEM_POLYBYTES], const pq3_poly *a);
/* ByteDecode_12 (FIPS 203 Algorithm 6): each 12-bit value reduced mod q
 * (constant time), output in [0, q). */
void pq3_poly_frombytes(pq3_poly *r, const uint8_t a[PQ3_MLKEM_POLYBYTES]);
/* 1 when every 12-bit value of the encoding is < q (FIPS 203 §7.2 modulus
 * check for one polynomial), else 0. Public data only: it may branch. */
int pq3_poly_bytes_canonical(const uint8_t a[PQ3_MLKEM_POLYBYTES]);

void pq3_polyvec_add(pq3_polyvec *r, const pq3_polyvec *a, const pq3_polyvec *b, unsigned k);
void pq3_polyvec_reduce(pq3_polyvec *v, unsigned k);
void pq3_polyvec_tobytes(uint8_t *r, const pq3_polyvec *a, unsigned k);
void pq3_polyvec_frombytes(pq3_polyvec *r, const uint8_t *a, unsigned k);

/* compress.c */
/* Compress_d then ByteEncode_d (FIPS 203 §4.2.1, Algorithm 5) for d in
 * {1, 4, 5, 10, 11}: 32*d bytes. Input |c| < q. d = 1 is the message
 * encoding of K-PKE.Decrypt. */
void pq3_poly_compress(uint8_t *r, const pq3_poly *a, unsigned d);
/* ByteDecode_d then Decompress_d; output in [0, q). d = 1 is the message
 * decoding of K-PKE.Encrypt. */
void pq3_poly_decompress(pq3_poly *r, const uint8_t *a, unsigned d);
void pq3_polyvec_compress(uint8_t *r, const pq3_polyvec *a, unsigned k, unsigned d);
void pq3_polyvec_decompress(pq3_polyvec *r, const uint8_t *a, unsigned k, unsigned d);

#endif
