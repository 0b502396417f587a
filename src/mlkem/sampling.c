/*
 * SampleNTT and SamplePolyCBD (FIPS 203 §4.2.2, Algorithms 7 and 8).
 */
#include "mlkem/sampling.h"

#include <string.h>

#include "mlkem/keccak.h"
#include "pq3/common.h"

unsigned pq3_rej_uniform(int16_t *r, unsigned ctr, unsigned len, const uint8_t *buf,
                         size_t buflen)
{
    size_t pos = 0;
    /* While two more values fit, store both candidates and advance the count
     * by the acceptance bits: no unpredictable branch per candidate. */
    while (ctr + 2 <= len && pos + 3 <= buflen) {
        uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0F) << 8));
        uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
        pos += 3;
        r[ctr] = (int16_t)d1;
        ctr += d1 < PQ3_MLKEM_Q;
        r[ctr] = (int16_t)d2;
        ctr += d2 < PQ3_MLKEM_Q;
    }
    while (ctr < len && pos + 3 <= buflen) {
        uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0F) << 8));
        uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
        pos += 3;
        if (d1 < PQ3_MLKEM_Q)
            r[ctr++] = (int16_t)d1;
        if (d2 < PQ3_MLKEM_Q && ctr < len)
            r[ctr++] = (int16_t)d2;
    }
    return ctr;
}

/* Three SHAKE128 blocks (504 bytes, 336 candidates) give the 256 accepted
 * values in all but a small fraction of cases (each candidate passes with
 * probability q/4096 ~ 0.81, so 256 are needed from 315 on average); they
 * are squeezed in one call, then one more block at a time. */
#define SAMPLE_NTT_FIRST_BLOCKS 3

void pq3_sample_ntt(pq3_poly *a, const uint8_t rho[32], uint8_t j, uint8_t i)
{
    pq3_keccak_ctx xof;
    uint8_t seed[34];
    uint8_t buf[SAMPLE_NTT_FIRST_BLOCKS * PQ3_SHAKE128_RATE];
    unsigned ctr;

    memcpy(seed, rho, 32);
    seed[32] = j;
    seed[33] = i;
    pq3_shake128_init(&xof);
    pq3_keccak_absorb(&xof, seed, sizeof seed);
    pq3_keccak_squeezeblocks(&xof, buf, SAMPLE_NTT_FIRST_BLOCKS);
    ctr = pq3_rej_uniform(a->c, 0, PQ3_MLKEM_N, buf, sizeof buf);
    while (ctr < PQ3_MLKEM_N) {
        pq3_keccak_squeezeblocks(&xof, buf, 1);
        ctr = pq3_rej_uniform(a->c, ctr, PQ3_MLKEM_N, buf, PQ3_SHAKE128_RATE);
    }
}

void pq3_gen_matrix(pq3_polyvec A[PQ3_MLKEM_KMAX], const uint8_t rho[32], unsigned k,
                    int transposed)
{
    for (unsigned i = 0; i < k; i++) {
        for (unsigned j = 0; j < k; j++) {
            if (transposed)
                pq3_sample_ntt(&A[i].v[j], rho, (uint8_t)i, (uint8_t)j);
            else
                pq3_sample_ntt(&A[i].v[j], rho, (uint8_t)j, (uint8_t)i);
        }
    }
}

static inline uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint32_t load_le24(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
}

/* Algorithm 8, eta = 2: coefficient i is (b[4i] + b[4i+1]) - (b[4i+2] +
 * b[4i+3]) over the bits b of the input. Adding the word to itself shifted
 * by one under the mask 0x55.. forms all 2-bit sums at once. */
void pq3_cbd2(pq3_poly *r, const uint8_t buf[128])
{
    for (unsigned i = 0; i < PQ3_MLKEM_N / 8; i++) {
        uint32_t t = load_le32(buf + 4 * i);
        uint32_t s = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
        for (unsigned j = 0; j < 8; j++) {
            int16_t x = (int16_t)((s >> (4 * j)) & 3);
            int16_t y = (int16_t)((s >> (4 * j + 2)) & 3);
            r->c[8 * i + j] = (int16_t)(x - y);
        }
    }
}

/* Algorithm 8, eta = 3: the same with 3-bit sums over 24-bit groups. */
void pq3_cbd3(pq3_poly *r, const uint8_t buf[192])
{
    for (unsigned i = 0; i < PQ3_MLKEM_N / 4; i++) {
        uint32_t t = load_le24(buf + 3 * i);
        uint32_t s = (t & 0x00249249u) + ((t >> 1) & 0x00249249u) + ((t >> 2) & 0x00249249u);
        for (unsigned j = 0; j < 4; j++) {
            int16_t x = (int16_t)((s >> (6 * j)) & 7);
            int16_t y = (int16_t)((s >> (6 * j + 3)) & 7);
            r->c[4 * i + j] = (int16_t)(x - y);
        }
    }
}

/* PRF_eta(s, b) = SHAKE256(s || b, 64 * eta) (FIPS 203 §4.1, eq. 4.3). */
void pq3_poly_getnoise(pq3_poly *r, const uint8_t seed[32], uint8_t nonce, unsigned eta)
{
    uint8_t in[33];
    uint8_t buf[3 * 64];

    memcpy(in, seed, 32);
    in[32] = nonce;
    pq3_shake256(buf, 64 * eta, in, sizeof in);
    if (eta == 3)
        pq3_cbd3(r, buf);
    else
        pq3_cbd2(r, buf);
    pq3_wipe(in, sizeof in);
    pq3_wipe(buf, sizeof buf);
}
