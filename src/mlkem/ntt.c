/*
 * Number-theoretic transform over Z_q[X]/(X^256 + 1) (FIPS 203 §4.3).
 *
 * Coefficients stay signed 16-bit; products are Montgomery-reduced, so the
 * twiddle factors below are stored times R = 2^16 mod q (centered).
 */
#include "mlkem/poly.h"
#include "mlkem/reduce.h"
#include "pq3/common.h"

/* zeta^BitRev_7(i) * R mod q for i = 0..127, zeta = 17 (FIPS 203 §4.3,
 * Appendix A); entry 0 is unused by the transforms. */
static const int16_t pq3_zetas[128] = {
    -1044, -758, -359, -1517, 1493, 1422, 287, 202, -171, 622,
    1577, 182, 962, -1202, -1474, 1468, 573, -1325, 264, 383,
    -829, 1458, -1602, -130, -681, 1017, 732, 608, -1542, 411,
    -205, -1571, 1223, 652, -552, 1015, -1293, 1491, -282, -1544,
    516, -8, -320, -666, -1618, -1162, 126, 1469, -853, -90,
    -271, 830, 107, -1421, -247, -951, -398, 961, -1508, -725,
    448, -1065, 677, -1275, -1103, 430, 555, 843, -1251, 871,
    1550, 105, 422, 587, 177, -235, -291, -460, 1574, 1653,
    -246, 778, 1159, -147, -777, 1483, -602, 1119, -1590, 644,
    -872, 349, 418, 329, -156, -75, 817, 1097, 603, 610,
    1322, -1285, -1465, 384, -1215, -136, 1218, -1335, -874, 220,
    -1187, -1659, -1185, -1530, -1278, 794, -1510, -854, -870, 478,
    -108, -308, 996, 991, 958, -1460, 1522, 1628,
};

/* zeta^(2 BitRev_7(i) + 1) * R mod q for i = 0..127: the gamma of
 * BaseCaseMultiply (FIPS 203 Algorithm 12) for coefficient pair i. */
static const int16_t pq3_gammas[128] = {
    -1103, 1103, 430, -430, 555, -555, 843, -843, -1251, 1251,
    871, -871, 1550, -1550, 105, -105, 422, -422, 587, -587,
    177, -177, -235, 235, -291, 291, -460, 460, 1574, -1574,
    1653, -1653, -246, 246, 778, -778, 1159, -1159, -147, 147,
    -777, 777, 1483, -1483, -602, 602, 1119, -1119, -1590, 1590,
    644, -644, -872, 872, 349, -349, 418, -418, 329, -329,
    -156, 156, -75, 75, 817, -817, 1097, -1097, 603, -603,
    610, -610, 1322, -1322, -1285, 1285, -1465, 1465, 384, -384,
    -1215, 1215, -136, 136, 1218, -1218, -1335, 1335, -874, 874,
    220, -220, -1187, 1187, -1659, 1659, -1185, 1185, -1530, 1530,
    -1278, 1278, 794, -794, -1510, 1510, -854, 854, -870, 870,
    478, -478, -108, 108, -308, 308, 996, -996, 991, -991,
    958, -958, -1460, 1460, 1522, -1522, 1628, -1628,
};

/* FIPS 203 Algorithm 9. Each of the 7 layers grows |c| by at most q, so
 * from |c| < q the values stay below 8q < 2^15 and need no reduction until
 * the end. */
void pq3_poly_ntt(pq3_poly *p)
{
    int16_t *f = p->c;
    unsigned i = 1;

    for (unsigned len = 128; len >= 2; len >>= 1) {
        for (unsigned start = 0; start < PQ3_MLKEM_N; start += 2 * len) {
            int16_t zeta = pq3_zetas[i++];
            for (unsigned j = start; j < start + len; j++) {
                int16_t t = pq3_fqmul(zeta, f[j + len]);
                f[j + len] = (int16_t)(f[j] - t);
                f[j] = (int16_t)(f[j] + t);
            }
        }
    }
    /* Barrett reduction inline (as pq3_poly_reduce does): ntt.c calls
     * nothing of poly.c, so the two files do not depend on each other. */
    for (unsigned j = 0; j < PQ3_MLKEM_N; j++)
        f[j] = pq3_barrett_reduce(f[j]);
}

/* FIPS 203 Algorithm 10. The sums are Barrett-reduced each layer so they
 * stay below q; the differences go straight into a Montgomery product. The
 * final scaling by 128^-1 uses 1441 = R^2 / 128 mod q, which leaves the
 * result times R. */
void pq3_poly_invntt_tomont(pq3_poly *p)
{
    int16_t *f = p->c;
    unsigned i = 127;

    for (unsigned j = 0; j < PQ3_MLKEM_N; j++)
        f[j] = pq3_barrett_reduce(f[j]);
    for (unsigned len = 2; len <= 128; len <<= 1) {
        for (unsigned start = 0; start < PQ3_MLKEM_N; start += 2 * len) {
            int16_t zeta = pq3_zetas[i--];
            for (unsigned j = start; j < start + len; j++) {
                int16_t t = f[j];
                f[j] = pq3_barrett_reduce((int16_t)(t + f[j + len]));
                f[j + len] = pq3_fqmul(zeta, (int16_t)(f[j + len] - t));
            }
        }
    }
    for (unsigned j = 0; j < PQ3_MLKEM_N; j++)
        f[j] = pq3_fqmul(f[j], 1441);
}

void pq3_polyvec_ntt(pq3_polyvec *v, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        pq3_poly_ntt(&v->v[i]);
}

void pq3_polyvec_invntt_tomont(pq3_polyvec *v, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        pq3_poly_invntt_tomont(&v->v[i]);
}

/* The gamma of each pair, computed once per b (see poly.h). */
void pq3_polyvec_mulcache_compute(pq3_polyvec_mulcache *bc, const pq3_polyvec *b, unsigned k)
{
    for (unsigned j = 0; j < k; j++)
        for (unsigned i = 0; i < PQ3_MLKEM_N / 2; i++)
            bc->v[j].c[i] = pq3_fqmul(b->v[j].c[2 * i + 1], pq3_gammas[i]);
}

/* FIPS 203 Algorithms 11 and 12 summed over the vector: for each pair,
 *   c0 = a0*b0 + a1*(b1*gamma),  c1 = a0*b1 + a1*b0,
 * with b1*gamma from the cache. gamma is stored times R and the cache is a
 * Montgomery product, so the cached factor carries no Montgomery factor
 * and every term is a plain product. Each term is below 2 * 4096 * q and
 * k <= 4 of them stay below q * 2^15: one Montgomery reduction at the end,
 * which leaves the result times R^-1. */
void pq3_polyvec_basemul_acc_cached(pq3_poly *r, const pq3_polyvec *a, const pq3_polyvec *b,
                                    const pq3_polyvec_mulcache *bc, unsigned k)
{
    /* Accumulators for the even (c0) and odd (c1) coefficients; the inner
     * loop runs over one pair of polynomials at a time so it vectorizes. */
    int32_t c0[PQ3_MLKEM_N / 2] = { 0 }, c1[PQ3_MLKEM_N / 2] = { 0 };

    for (unsigned j = 0; j < k; j++) {
        const int16_t *x = a->v[j].c, *y = b->v[j].c, *g = bc->v[j].c;
        for (unsigned i = 0; i < PQ3_MLKEM_N / 2; i++) {
            int32_t a0 = x[2 * i], a1 = x[2 * i + 1];
            int32_t b0 = y[2 * i], b1 = y[2 * i + 1];
            c0[i] += a0 * b0 + a1 * g[i];
            c1[i] += a0 * b1 + a1 * b0;
        }
    }
    for (unsigned i = 0; i < PQ3_MLKEM_N / 2; i++) {
        r->c[2 * i] = pq3_montgomery_reduce(c0[i]);
        r->c[2 * i + 1] = pq3_montgomery_reduce(c1[i]);
    }
    /* The sums mix secret and public values; no need to keep them. */
    pq3_wipe(c0, sizeof c0);
    pq3_wipe(c1, sizeof c1);
}

/* Even for a single product the cache costs less than a Montgomery
 * reduction of a1*b1 per pair and polynomial. */
void pq3_polyvec_basemul_acc(pq3_poly *r, const pq3_polyvec *a, const pq3_polyvec *b,
                             unsigned k)
{
    pq3_polyvec_mulcache bc;
    pq3_polyvec_mulcache_compute(&bc, b, k);
    pq3_polyvec_basemul_acc_cached(r, a, b, &bc, k);
    pq3_wipe(&bc, sizeof bc);
}
