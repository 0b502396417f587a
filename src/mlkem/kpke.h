/*
 * K-PKE, the CPA-secure encryption scheme under ML-KEM (FIPS 203 §5),
 * internal. Sizes follow the parameter set: ek 384k + 32 bytes, dk_pke 384k
 * bytes, ciphertext 32 (d_u k + d_v) bytes.
 */
#ifndef PQ3_MLKEM_KPKE_H
#define PQ3_MLKEM_KPKE_H

#include <stdint.h>

#include "mlkem/params.h"

/* Algorithm 13 (K-PKE.KeyGen) from line 2 on: (rho, sigma) already derived
 * as G(d || k). Writes ek and dk_pke. */
void pq3_kpke_keygen(const pq3_mlkem_params *p, uint8_t *ek, uint8_t *dkpke,
                     const uint8_t rho[32], const uint8_t sigma[32]);

/* Algorithm 14 (K-PKE.Encrypt) of message m with randomness r. ek's
 * coefficients are taken mod q (the caller runs the §7.2 check where the
 * standard requires it). */
void pq3_kpke_encrypt(const pq3_mlkem_params *p, uint8_t *c, const uint8_t *ek,
                      const uint8_t m[32], const uint8_t r[32]);

/* Algorithm 15 (K-PKE.Decrypt). */
void pq3_kpke_decrypt(const pq3_mlkem_params *p, uint8_t m[32], const uint8_t *dkpke,
                      const uint8_t *c);

#endif
