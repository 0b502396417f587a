/*
 * libFuzzer target: ECVRF proof decoding and verification
 * (src/transparency/vrf.c). Nothing may crash, and:
 *  - verify returns only OK, KEY, DECODE or VERIFY, and wipes beta unless OK;
 *  - proof_to_hash returns only OK or DECODE; a proof it cannot decode never
 *    verifies, and an accepted proof's beta is proof_to_hash's;
 *  - a proof made here verifies, and no single-bit change of it does.
 *
 * Input: byte 0 picks the mode.
 *   even: [1..82) is pi; with bit 1 set [82..115) is the public key (else a
 *         fixed valid key), the rest is alpha.
 *   odd:  the rest is alpha; a proof is made for it under the fixed key,
 *         verified, and verified again with bit (byte 0 >> 1) % 648 flipped.
 */
#include <stdlib.h>
#include <string.h>

#include "pq3/vrf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static int zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* A fixed secret scalar (below q) and its public key, computed once. */
static const uint8_t sk[32] = { 0x3a, 0x1f, 0x5c, 0x77, 0x10, 0x42, 0x9e, 0x01,
                                0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10,
                                0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x0f,
                                0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pk[33];
    static int have_pk;
    uint8_t beta[32], beta2[32], pi[81];
    pq3_err e, e2;

    if (!have_pk) {
        check(pq3_vrf_public(pk, sk) == PQ3_OK);
        have_pk = 1;
    }
    if (size == 0)
        return 0;

    if (data[0] & 1) {
        const uint8_t *alpha = size > 1 ? data + 1 : NULL;
        size_t bit = (size_t)(data[0] >> 1) * 5 % (81 * 8);
        check(pq3_vrf_prove(pi, sk, alpha, size - 1) == PQ3_OK);
        check(pq3_vrf_verify(beta, pk, alpha, size - 1, pi) == PQ3_OK);
        check(pq3_vrf_proof_to_hash(beta2, pi) == PQ3_OK);
        check(memcmp(beta, beta2, 32) == 0);
        pi[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        e = pq3_vrf_verify(beta, pk, alpha, size - 1, pi);
        check(e == PQ3_ERR_VERIFY || e == PQ3_ERR_DECODE);
        check(zero(beta, 32));
        return 0;
    }

    if (size < 82)
        return 0;
    {
        const uint8_t *key = pk, *alpha;
        size_t alen;
        memcpy(pi, data + 1, 81);
        if ((data[0] & 2) && size >= 115) {
            key = data + 82;
            alpha = data + 115;
            alen = size - 115;
        } else {
            alpha = data + 82;
            alen = size - 82;
        }
        if (alen == 0)
            alpha = NULL;
        memset(beta, 0x5A, sizeof beta);
        e = pq3_vrf_verify(beta, key, alpha, alen, pi);
        check(e == PQ3_OK || e == PQ3_ERR_KEY || e == PQ3_ERR_DECODE || e == PQ3_ERR_VERIFY);
        if (e != PQ3_OK)
            check(zero(beta, 32));
        e2 = pq3_vrf_proof_to_hash(beta2, pi);
        check(e2 == PQ3_OK || e2 == PQ3_ERR_DECODE);
        if (e2 == PQ3_ERR_DECODE)
            check(e != PQ3_OK && zero(beta2, 32));
        if (e == PQ3_OK)
            check(memcmp(beta, beta2, 32) == 0);
    }
    return 0;
}
