/*
 * K-PKE (FIPS 203 §5, Algorithms 13-15) over the arithmetic of poly.h.
 */
#include "mlkem/kpke.h"

#include "mlkem/poly.h"
#include "mlkem/sampling.h"
#include "pq3/common.h"

void pq3_kpke_keygen(const pq3_mlkem_params *p, uint8_t *ek, uint8_t *dkpke,
                     const uint8_t rho[32], const uint8_t sigma[32])
{
    const unsigned k = p->k;
    pq3_polyvec A[PQ3_MLKEM_KMAX];
    pq3_polyvec s, e, t;
    pq3_polyvec_mulcache sc;
    uint8_t nonce = 0;

    /* Lines 3-7: A-hat[i][j] = SampleNTT(rho || j || i). */
    pq3_gen_matrix(A, rho, k, 0);
    /* Lines 8-15: s and e from PRF_eta1(sigma, N), N counting up. */
    for (unsigned i = 0; i < k; i++)
        pq3_poly_getnoise(&s.v[i], sigma, nonce++, p->eta1);
    for (unsigned i = 0; i < k; i++)
        pq3_poly_getnoise(&e.v[i], sigma, nonce++, p->eta1);
    /* Lines 16-18: t-hat = A-hat o s-hat + e-hat. The products carry R^-1;
     * tomont restores the plain value before e-hat is added. */
    pq3_polyvec_ntt(&s, k);
    pq3_polyvec_ntt(&e, k);
    pq3_polyvec_mulcache_compute(&sc, &s, k);
    for (unsigned i = 0; i < k; i++) {
        pq3_polyvec_basemul_acc_cached(&t.v[i], &A[i], &s, &sc, k);
        pq3_poly_tomont(&t.v[i]);
    }
    pq3_polyvec_add(&t, &t, &e, k);
    pq3_polyvec_reduce(&t, k);
    /* Lines 19-20. */
    pq3_polyvec_tobytes(ek, &t, k);
    for (unsigned i = 0; i < 32; i++)
        ek[PQ3_MLKEM_POLYBYTES * k + i] = rho[i];
    pq3_polyvec_tobytes(dkpke, &s, k);

    pq3_wipe(&s, sizeof s);
    pq3_wipe(&sc, sizeof sc);
    pq3_wipe(&e, sizeof e);
    pq3_wipe(&t, sizeof t); /* t = A s + e would give s away with e */
}

void pq3_kpke_encrypt(const pq3_mlkem_params *p, uint8_t *c, const uint8_t *ek,
                      const uint8_t m[32], const uint8_t r[32])
{
    const unsigned k = p->k;
    pq3_polyvec At[PQ3_MLKEM_KMAX];
    pq3_polyvec t, y, e1, u;
    pq3_polyvec_mulcache yc;
    pq3_poly e2, v, mu;
    const uint8_t *rho = ek + PQ3_MLKEM_POLYBYTES * k;
    uint8_t nonce = 0;

    /* Lines 2-8: t-hat from ek, A-hat^T from rho. */
    pq3_polyvec_frombytes(&t, ek, k);
    pq3_gen_matrix(At, rho, k, 1);
    /* Lines 9-17: y, e1, e2 from PRF(r, N) (the standard's "y" is r). */
    for (unsigned i = 0; i < k; i++)
        pq3_poly_getnoise(&y.v[i], r, nonce++, p->eta1);
    for (unsigned i = 0; i < k; i++)
        pq3_poly_getnoise(&e1.v[i], r, nonce++, p->eta2);
    pq3_poly_getnoise(&e2, r, nonce, p->eta2);
    /* Lines 18-19: u = NTT^-1(A-hat^T o y-hat) + e1. */
    pq3_polyvec_ntt(&y, k);
    pq3_polyvec_mulcache_compute(&yc, &y, k);
    for (unsigned i = 0; i < k; i++)
        pq3_polyvec_basemul_acc_cached(&u.v[i], &At[i], &y, &yc, k);
    pq3_polyvec_invntt_tomont(&u, k);
    pq3_polyvec_add(&u, &u, &e1, k);
    pq3_polyvec_reduce(&u, k);
    /* Lines 20-21: v = NTT^-1(t-hat^T o y-hat) + e2 + Decompress_1(m). */
    pq3_poly_decompress(&mu, m, 1);
    pq3_polyvec_basemul_acc_cached(&v, &t, &y, &yc, k);
    pq3_poly_invntt_tomont(&v);
    pq3_poly_add(&v, &v, &e2);
    pq3_poly_add(&v, &v, &mu);
    pq3_poly_reduce(&v);
    /* Lines 22-24. */
    pq3_polyvec_compress(c, &u, k, p->du);
    pq3_poly_compress(c + 32 * p->du * k, &v, p->dv);

    pq3_wipe(&y, sizeof y);
    pq3_wipe(&yc, sizeof yc);
    pq3_wipe(&e1, sizeof e1);
    pq3_wipe(&e2, sizeof e2);
    pq3_wipe(&u, sizeof u);
    pq3_wipe(&v, sizeof v);
    pq3_wipe(&mu, sizeof mu);
}

void pq3_kpke_decrypt(const pq3_mlkem_params *p, uint8_t m[32], const uint8_t *dkpke,
                      const uint8_t *c)
{
    const unsigned k = p->k;
    pq3_polyvec u, s;
    pq3_poly v, w;

    /* Lines 3-4: u' and v' from the ciphertext. */
    pq3_polyvec_decompress(&u, c, k, p->du);
    pq3_poly_decompress(&v, c + 32 * p->du * k, p->dv);
    /* Lines 5-6: w = v' - NTT^-1(s-hat^T o NTT(u')). */
    pq3_polyvec_frombytes(&s, dkpke, k);
    pq3_polyvec_ntt(&u, k);
    pq3_polyvec_basemul_acc(&w, &s, &u, k);
    pq3_poly_invntt_tomont(&w);
    pq3_poly_sub(&w, &v, &w);
    pq3_poly_reduce(&w);
    /* Line 7: m = ByteEncode_1(Compress_1(w)). */
    pq3_poly_compress(m, &w, 1);

    pq3_wipe(&s, sizeof s);
    pq3_wipe(&u, sizeof u);
    pq3_wipe(&w, sizeof w);
    pq3_wipe(&v, sizeof v);
}
