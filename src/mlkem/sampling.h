/*
 * Sampling (FIPS 203 §4.2.2): SampleNTT (Algorithm 7) for the public matrix
 * and SamplePolyCBD (Algorithm 8) with PRF (§4.1) for the secret noise
 * (internal).
 */
#ifndef PQ3_MLKEM_SAMPLING_H
#define PQ3_MLKEM_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

#include "mlkem/poly.h"

/* The rejection step of Algorithm 7: reads 3-byte groups of buf (buflen a
 * multiple of 3) as two 12-bit candidates and appends those below q to
 * r[0..len). Returns the new count (at most len). Public data only. */
unsigned pq3_rej_uniform(int16_t *r, unsigned ctr, unsigned len, const uint8_t *buf,
                         size_t buflen);

/* Algorithm 7 on the XOF input rho || j || i: a uniform polynomial in the
 * NTT domain, coefficients in [0, q). */
void pq3_sample_ntt(pq3_poly *a, const uint8_t rho[32], uint8_t j, uint8_t i);

/* The matrix A-hat of K-PKE (Algorithm 13 lines 3-7): A[i].v[j] =
 * SampleNTT(rho || j || i); with `transposed` set, A[i].v[j] = A-hat[j][i]
 * (as Algorithm 14 needs for A-hat^T). */
void pq3_gen_matrix(pq3_polyvec A[PQ3_MLKEM_KMAX], const uint8_t rho[32], unsigned k,
                    int transposed);

/* Algorithm 8 for eta = 2 (128 input bytes) and eta = 3 (192 bytes);
 * coefficients in [-eta, eta]. Constant time. */
void pq3_cbd2(pq3_poly *r, const uint8_t buf[128]);
void pq3_cbd3(pq3_poly *r, const uint8_t buf[192]);

/* SamplePolyCBD_eta(PRF_eta(seed, nonce)), eta in {2, 3}. */
void pq3_poly_getnoise(pq3_poly *r, const uint8_t seed[32], uint8_t nonce, unsigned eta);

#endif
