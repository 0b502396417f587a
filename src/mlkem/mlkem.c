/*
 * ML-KEM (FIPS 203 §6 and §7) for ML-KEM-768 and ML-KEM-1024: the public
 * API of include/pq3/mlkem.h over K-PKE (kpke.c).
 *
 * H = SHA3-256, G = SHA3-512, J = SHAKE256 with 32 bytes out (§4.1).
 */
#include "pq3/mlkem.h"

#include <string.h>

#include "crypto/ct.h"
#include "mlkem/keccak.h"
#include "mlkem/kpke.h"
#include "mlkem/params.h"
#include "mlkem/poly.h"

/* FIPS 203 §8, Table 2. */
static const pq3_mlkem_params pq3_mlkem768 = { 3, 2, 2, 10, 4 };
static const pq3_mlkem_params pq3_mlkem1024 = { 4, 2, 2, 11, 5 };

#define CT_MAX_BYTES PQ3_MLKEM1024_CT_BYTES

/* Algorithm 16 (ML-KEM.KeyGen_internal). */
static void keygen_internal(const pq3_mlkem_params *p, uint8_t *ek, uint8_t *dk,
                            const uint8_t d[32], const uint8_t z[32])
{
    const size_t pke = pq3_mlkem_dkpke_bytes(p), ekb = pq3_mlkem_ek_bytes(p);
    uint8_t seed[33], rhosigma[64];

    /* Algorithm 13 line 1: (rho, sigma) = G(d || k); the byte k separates
     * the parameter sets (final FIPS 203, not in the draft). */
    memcpy(seed, d, 32);
    seed[32] = (uint8_t)p->k;
    pq3_sha3_512(rhosigma, seed, sizeof seed);
    /* rho is published in ek (Algorithm 13 line 19). */
    pq3_ct_declassify(rhosigma, 32);
    pq3_kpke_keygen(p, ek, dk, rhosigma, rhosigma + 32);
    /* dk = dk_pke || ek || H(ek) || z. */
    memcpy(dk + pke, ek, ekb);
    pq3_sha3_256(dk + pke + ekb, ek, ekb);
    memcpy(dk + pke + ekb + 32, z, 32);

    pq3_wipe(seed, sizeof seed);
    pq3_wipe(rhosigma, sizeof rhosigma);
}

/* §7.2 modulus check: ByteEncode_12(ByteDecode_12(t)) == t, that is, every
 * 12-bit value of the t part is below q. ek is public. */
static int ek_valid(const pq3_mlkem_params *p, const uint8_t *ek)
{
    for (unsigned i = 0; i < p->k; i++)
        if (!pq3_poly_bytes_canonical(ek + PQ3_MLKEM_POLYBYTES * i))
            return 0;
    return 1;
}

/* §7.3 hash check: H(ek part of dk) equals the stored hash. Both are
 * public parts of dk; the comparison is constant-time all the same. */
static int dk_valid(const pq3_mlkem_params *p, const uint8_t *dk)
{
    const size_t pke = pq3_mlkem_dkpke_bytes(p), ekb = pq3_mlkem_ek_bytes(p);
    uint8_t h[32];
    pq3_sha3_256(h, dk + pke, ekb);
    return pq3_ct_equal(h, dk + pke + ekb, 32);
}

/* Algorithm 17 (ML-KEM.Encaps_internal). ek has passed the §7.2 check:
 * each public entry point checks it once, before calling this. */
static void encaps_internal(const pq3_mlkem_params *p, uint8_t *ct, uint8_t ss[32],
                            const uint8_t *ek, const uint8_t m[32])
{
    uint8_t buf[64], kr[64];

    /* (K, r) = G(m || H(ek)). */
    memcpy(buf, m, 32);
    pq3_sha3_256(buf + 32, ek, pq3_mlkem_ek_bytes(p));
    pq3_sha3_512(kr, buf, sizeof buf);
    pq3_kpke_encrypt(p, ct, ek, m, kr + 32);
    memcpy(ss, kr, 32);

    pq3_wipe(buf, sizeof buf);
    pq3_wipe(kr, sizeof kr);
}

/* Algorithm 17 with the §7.2 check first: the deterministic entry point. */
static pq3_err encaps_derand(const pq3_mlkem_params *p, uint8_t *ct, uint8_t *ss,
                             const uint8_t *ek, const uint8_t *m)
{
    if (ct == NULL || ss == NULL || ek == NULL || m == NULL)
        return PQ3_ERR_ARG;
    if (!ek_valid(p, ek))
        return PQ3_ERR_KEY;
    encaps_internal(p, ct, ss, ek, m);
    return PQ3_OK;
}

/* Algorithm 18 (ML-KEM.Decaps_internal) after the §7.3 check. A ciphertext
 * that does not re-encrypt to itself yields K-bar = J(z || c): the choice
 * is a constant-time select on the comparison mask, so nothing reveals
 * which key came out. */
static pq3_err decaps_internal(const pq3_mlkem_params *p, uint8_t ss[32], const uint8_t *ct,
                               const uint8_t *dk)
{
    const size_t pke = pq3_mlkem_dkpke_bytes(p), ekb = pq3_mlkem_ek_bytes(p);
    const size_t ctb = pq3_mlkem_ct_bytes(p);
    const uint8_t *ek = dk + pke, *h = dk + pke + ekb, *z = h + 32;
    uint8_t buf[64], kr[64], kbar[32], cmp[CT_MAX_BYTES];
    pq3_keccak_ctx j;
    uint8_t differ;

    if (!dk_valid(p, dk))
        return PQ3_ERR_KEY;
    /* Lines 7-8: m' = Decrypt(dk_pke, c); (K', r') = G(m' || h). */
    pq3_kpke_decrypt(p, buf, dk, ct);
    memcpy(buf + 32, h, 32);
    pq3_sha3_512(kr, buf, sizeof buf);
    /* Line 9: K-bar = J(z || c). */
    pq3_shake256_init(&j);
    pq3_keccak_absorb(&j, z, 32);
    pq3_keccak_absorb(&j, ct, ctb);
    pq3_keccak_squeeze(&j, kbar, 32);
    /* Lines 10-12: re-encrypt and compare. */
    pq3_kpke_encrypt(p, cmp, ek, buf, kr + 32);
    differ = pq3_ct_diff(ct, cmp, ctb);
    memcpy(ss, kr, 32);
    pq3_ct_cmov(ss, kbar, 32, differ);

    pq3_wipe(buf, sizeof buf);
    pq3_wipe(kr, sizeof kr);
    pq3_wipe(kbar, sizeof kbar);
    pq3_wipe(cmp, sizeof cmp);
    pq3_keccak_wipe(&j);
    return PQ3_OK;
}

/* Algorithm 19: d and z from the system generator. */
static pq3_err keypair(const pq3_mlkem_params *p, uint8_t *ek, uint8_t *dk)
{
    uint8_t dz[64];
    pq3_err err;

    if (ek == NULL || dk == NULL)
        return PQ3_ERR_ARG;
    err = pq3_random(NULL, dz, sizeof dz);
    if (err != PQ3_OK)
        return err;
    keygen_internal(p, ek, dk, dz, dz + 32);
    pq3_wipe(dz, sizeof dz);
    return PQ3_OK;
}

/* Algorithm 20: m from the system generator. The key is checked here, once,
 * before drawing randomness, so a bad ek costs none. */
static pq3_err encaps(const pq3_mlkem_params *p, uint8_t *ct, uint8_t *ss, const uint8_t *ek)
{
    uint8_t m[32];
    pq3_err err;

    if (ct == NULL || ss == NULL || ek == NULL)
        return PQ3_ERR_ARG;
    if (!ek_valid(p, ek))
        return PQ3_ERR_KEY;
    err = pq3_random(NULL, m, sizeof m);
    if (err != PQ3_OK)
        return err;
    encaps_internal(p, ct, ss, ek, m);
    pq3_wipe(m, sizeof m);
    return PQ3_OK;
}

/* ---- ML-KEM-768 ---------------------------------------------------------- */

pq3_err pq3_mlkem768_keypair(uint8_t ek[PQ3_MLKEM768_EK_BYTES],
                             uint8_t dk[PQ3_MLKEM768_DK_BYTES])
{
    return keypair(&pq3_mlkem768, ek, dk);
}

pq3_err pq3_mlkem768_keypair_derand(uint8_t ek[PQ3_MLKEM768_EK_BYTES],
                                    uint8_t dk[PQ3_MLKEM768_DK_BYTES], const uint8_t d[32],
                                    const uint8_t z[32])
{
    if (ek == NULL || dk == NULL || d == NULL || z == NULL)
        return PQ3_ERR_ARG;
    keygen_internal(&pq3_mlkem768, ek, dk, d, z);
    return PQ3_OK;
}

pq3_err pq3_mlkem768_encaps(uint8_t ct[PQ3_MLKEM768_CT_BYTES],
                            uint8_t ss[PQ3_MLKEM768_SS_BYTES],
                            const uint8_t ek[PQ3_MLKEM768_EK_BYTES])
{
    return encaps(&pq3_mlkem768, ct, ss, ek);
}

pq3_err pq3_mlkem768_encaps_derand(uint8_t ct[PQ3_MLKEM768_CT_BYTES],
                                   uint8_t ss[PQ3_MLKEM768_SS_BYTES],
                                   const uint8_t ek[PQ3_MLKEM768_EK_BYTES],
                                   const uint8_t m[32])
{
    return encaps_derand(&pq3_mlkem768, ct, ss, ek, m);
}

pq3_err pq3_mlkem768_decaps(uint8_t ss[PQ3_MLKEM768_SS_BYTES],
                            const uint8_t ct[PQ3_MLKEM768_CT_BYTES],
                            const uint8_t dk[PQ3_MLKEM768_DK_BYTES])
{
    if (ss == NULL || ct == NULL || dk == NULL)
        return PQ3_ERR_ARG;
    return decaps_internal(&pq3_mlkem768, ss, ct, dk);
}

pq3_err pq3_mlkem768_check_ek(const uint8_t ek[PQ3_MLKEM768_EK_BYTES])
{
    if (ek == NULL)
        return PQ3_ERR_ARG;
    return ek_valid(&pq3_mlkem768, ek) ? PQ3_OK : PQ3_ERR_KEY;
}

pq3_err pq3_mlkem768_check_dk(const uint8_t dk[PQ3_MLKEM768_DK_BYTES])
{
    if (dk == NULL)
        return PQ3_ERR_ARG;
    return dk_valid(&pq3_mlkem768, dk) ? PQ3_OK : PQ3_ERR_KEY;
}

/* ---- ML-KEM-1024 --------------------------------------------------------- */

pq3_err pq3_mlkem1024_keypair(uint8_t ek[PQ3_MLKEM1024_EK_BYTES],
                              uint8_t dk[PQ3_MLKEM1024_DK_BYTES])
{
    return keypair(&pq3_mlkem1024, ek, dk);
}

pq3_err pq3_mlkem1024_keypair_derand(uint8_t ek[PQ3_MLKEM1024_EK_BYTES],
                                     uint8_t dk[PQ3_MLKEM1024_DK_BYTES], const uint8_t d[32],
                                     const uint8_t z[32])
{
    if (ek == NULL || dk == NULL || d == NULL || z == NULL)
        return PQ3_ERR_ARG;
    keygen_internal(&pq3_mlkem1024, ek, dk, d, z);
    return PQ3_OK;
}

pq3_err pq3_mlkem1024_encaps(uint8_t ct[PQ3_MLKEM1024_CT_BYTES],
                             uint8_t ss[PQ3_MLKEM1024_SS_BYTES],
                             const uint8_t ek[PQ3_MLKEM1024_EK_BYTES])
{
    return encaps(&pq3_mlkem1024, ct, ss, ek);
}

pq3_err pq3_mlkem1024_encaps_derand(uint8_t ct[PQ3_MLKEM1024_CT_BYTES],
                                    uint8_t ss[PQ3_MLKEM1024_SS_BYTES],
                                    const uint8_t ek[PQ3_MLKEM1024_EK_BYTES],
                                    const uint8_t m[32])
{
    return encaps_derand(&pq3_mlkem1024, ct, ss, ek, m);
}

pq3_err pq3_mlkem1024_decaps(uint8_t ss[PQ3_MLKEM1024_SS_BYTES],
                             const uint8_t ct[PQ3_MLKEM1024_CT_BYTES],
                             const uint8_t dk[PQ3_MLKEM1024_DK_BYTES])
{
    if (ss == NULL || ct == NULL || dk == NULL)
        return PQ3_ERR_ARG;
    return decaps_internal(&pq3_mlkem1024, ss, ct, dk);
}

pq3_err pq3_mlkem1024_check_ek(const uint8_t ek[PQ3_MLKEM1024_EK_BYTES])
{
    if (ek == NULL)
        return PQ3_ERR_ARG;
    return ek_valid(&pq3_mlkem1024, ek) ? PQ3_OK : PQ3_ERR_KEY;
}

pq3_err pq3_mlkem1024_check_dk(const uint8_t dk[PQ3_MLKEM1024_DK_BYTES])
{
    if (dk == NULL)
        return PQ3_ERR_ARG;
    return dk_valid(&pq3_mlkem1024, dk) ? PQ3_OK : PQ3_ERR_KEY;
}
