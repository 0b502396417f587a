/*
 * ML-KEM-768 and ML-KEM-1024 (FIPS 203, August 2024), src/mlkem/.
 *
 * Sizes in bytes:          ek      dk      ct     ss
 *   ML-KEM-768            1184    2400    1088    32
 *   ML-KEM-1024           1568    3168    1568    32
 *
 * Constant time: no branch, memory index or division depends on secret data.
 * Outputs are untouched or wiped on every error.
 */
#ifndef PQ3_MLKEM_H
#define PQ3_MLKEM_H

#include "pq3/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_MLKEM_SEED_BYTES 32
#define PQ3_MLKEM_SS_BYTES 32

#define PQ3_MLKEM768_EK_BYTES 1184
#define PQ3_MLKEM768_DK_BYTES 2400
#define PQ3_MLKEM768_CT_BYTES 1088
#define PQ3_MLKEM768_SS_BYTES 32

#define PQ3_MLKEM1024_EK_BYTES 1568
#define PQ3_MLKEM1024_DK_BYTES 3168
#define PQ3_MLKEM1024_CT_BYTES 1568
#define PQ3_MLKEM1024_SS_BYTES 32

/* FIPS 203 Algorithm 19 (ML-KEM.KeyGen) with d and z from the system
 * generator. Errors: PQ3_ERR_RNG, PQ3_ERR_ARG. */
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem768_keypair(uint8_t ek[PQ3_MLKEM768_EK_BYTES],
                                                  uint8_t dk[PQ3_MLKEM768_DK_BYTES]);
/* FIPS 203 Algorithm 16 (ML-KEM.KeyGen_internal) from caller seeds.
 * Errors: PQ3_ERR_ARG. */
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem768_keypair_derand(uint8_t ek[PQ3_MLKEM768_EK_BYTES],
                                                         uint8_t dk[PQ3_MLKEM768_DK_BYTES],
                                                         const uint8_t d[32],
                                                         const uint8_t z[32]);
/* FIPS 203 Algorithm 20 (ML-KEM.Encaps). Errors: PQ3_ERR_KEY (ek fails the
 * §7.2 modulus check), PQ3_ERR_RNG, PQ3_ERR_ARG. */
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem768_encaps(uint8_t ct[PQ3_MLKEM768_CT_BYTES],
                                                 uint8_t ss[PQ3_MLKEM768_SS_BYTES],
                                                 const uint8_t ek[PQ3_MLKEM768_EK_BYTES]);
/* FIPS 203 Algorithm 17 (ML-KEM.Encaps_internal) with caller message m.
 * Errors: PQ3_ERR_KEY, PQ3_ERR_ARG. */
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem768_encaps_derand(uint8_t ct[PQ3_MLKEM768_CT_BYTES],
                                                        uint8_t ss[PQ3_MLKEM768_SS_BYTES],
                                                        const uint8_t ek[PQ3_MLKEM768_EK_BYTES],
                                                        const uint8_t m[32]);
/* FIPS 203 Algorithm 21 (ML-KEM.Decaps) after the §7.3 checks. A ciphertext
 * that does not decrypt is not an error: ss is the implicit-rejection key.
 * Errors: PQ3_ERR_KEY (dk fails §7.3), PQ3_ERR_ARG. */
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem768_decaps(uint8_t ss[PQ3_MLKEM768_SS_BYTES],
                                                 const uint8_t ct[PQ3_MLKEM768_CT_BYTES],
                                                 const uint8_t dk[PQ3_MLKEM768_DK_BYTES]);
/* FIPS 203 §7.2 encapsulation-key modulus check: every 12-bit coefficient
 * of ek's t part is below q. Errors: PQ3_ERR_KEY, PQ3_ERR_ARG (NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem768_check_ek(const uint8_t ek[PQ3_MLKEM768_EK_BYTES]);
/* FIPS 203 §7.3 decapsulation-key hash check: H(ek part of dk) equals the
 * hash stored in dk. Errors: PQ3_ERR_KEY, PQ3_ERR_ARG (NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem768_check_dk(const uint8_t dk[PQ3_MLKEM768_DK_BYTES]);

/* The same eight for ML-KEM-1024. */
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem1024_keypair(uint8_t ek[PQ3_MLKEM1024_EK_BYTES],
                                                   uint8_t dk[PQ3_MLKEM1024_DK_BYTES]);
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem1024_keypair_derand(uint8_t ek[PQ3_MLKEM1024_EK_BYTES],
                                                          uint8_t dk[PQ3_MLKEM1024_DK_BYTES],
                                                          const uint8_t d[32],
                                                          const uint8_t z[32]);
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem1024_encaps(uint8_t ct[PQ3_MLKEM1024_CT_BYTES],
                                                  uint8_t ss[PQ3_MLKEM1024_SS_BYTES],
                                                  const uint8_t ek[PQ3_MLKEM1024_EK_BYTES]);
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem1024_encaps_derand(uint8_t ct[PQ3_MLKEM1024_CT_BYTES],
                                                         uint8_t ss[PQ3_MLKEM1024_SS_BYTES],
                                                         const uint8_t ek[PQ3_MLKEM1024_EK_BYTES],
                                                         const uint8_t m[32]);
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem1024_decaps(uint8_t ss[PQ3_MLKEM1024_SS_BYTES],
                                                  const uint8_t ct[PQ3_MLKEM1024_CT_BYTES],
                                                  const uint8_t dk[PQ3_MLKEM1024_DK_BYTES]);
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem1024_check_ek(const uint8_t ek[PQ3_MLKEM1024_EK_BYTES]);
PQ3_API PQ3_MUST_USE pq3_err pq3_mlkem1024_check_dk(const uint8_t dk[PQ3_MLKEM1024_DK_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
