/*
 * ML-KEM parameter sets (FIPS 203 §8, Table 2) and derived sizes (internal).
 */
#ifndef PQ3_MLKEM_PARAMS_H
#define PQ3_MLKEM_PARAMS_H

#include <stddef.h>

#define PQ3_MLKEM_N 256
#define PQ3_MLKEM_Q 3329
#define PQ3_MLKEM_KMAX 4
#define PQ3_MLKEM_POLYBYTES 384           /* ByteEncode_12 of one polynomial */
#define PQ3_MLKEM_SYMBYTES 32

/* One parameter set: module rank k, noise widths eta1/eta2, and the
 * ciphertext compression widths d_u/d_v. */
typedef struct {
    unsigned k, eta1, eta2, du, dv;
} pq3_mlkem_params;

static inline size_t pq3_mlkem_ek_bytes(const pq3_mlkem_params *p)
{
    return (size_t)PQ3_MLKEM_POLYBYTES * p->k + 32;
}
static inline size_t pq3_mlkem_dkpke_bytes(const pq3_mlkem_params *p)
{
    return (size_t)PQ3_MLKEM_POLYBYTES * p->k;
}
static inline size_t pq3_mlkem_dk_bytes(const pq3_mlkem_params *p)
{
    return (size_t)2 * PQ3_MLKEM_POLYBYTES * p->k + 96;
}
static inline size_t pq3_mlkem_ct_bytes(const pq3_mlkem_params *p)
{
    return (size_t)32 * (p->du * p->k + p->dv);
}

#endif
