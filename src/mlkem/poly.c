/*
 * Coefficient-wise polynomial and vector operations, and ByteEncode_12 /
 * ByteDecode_12 (FIPS 203 §4.2.1, Algorithms 5 and 6).
 */
#include "mlkem/poly.h"
#include "mlkem/compress.h"
#include "mlkem/reduce.h"

void pq3_poly_add(pq3_poly *r, const pq3_poly *a, const pq3_poly *b)
{
    for (unsigned i = 0; i < PQ3_MLKEM_N; i++)
        r->c[i] = (int16_t)(a->c[i] + b->c[i]);
}

void pq3_poly_sub(pq3_poly *r, const pq3_poly *a, const pq3_poly *b)
{
    for (unsigned i = 0; i < PQ3_MLKEM_N; i++)
        r->c[i] = (int16_t)(a->c[i] - b->c[i]);
}

void pq3_poly_reduce(pq3_poly *p)
{
    for (unsigned i = 0; i < PQ3_MLKEM_N; i++)
        p->c[i] = pq3_barrett_reduce(p->c[i]);
}

/* 1353 = R^2 mod q: a Montgomery product with it multiplies by R. */
void pq3_poly_tomont(pq3_poly *p)
{
    for (unsigned i = 0; i < PQ3_MLKEM_N; i++)
        p->c[i] = pq3_fqmul(p->c[i], 1353);
}

/* Eight 12-bit values per 12 bytes, little-endian bit order (Algorithm 5). */
void pq3_poly_tobytes(uint8_t r[PQ3_MLKEM_POLYBYTES], const pq3_poly *a)
{
    for (unsigned i = 0; i < PQ3_MLKEM_N / 8; i++) {
        uint32_t t[8];
        for (unsigned j = 0; j < 8; j++)
            t[j] = (uint16_t)pq3_caddq(a->c[8 * i + j]);
        pq3_pack8(r + 12 * i, t, 12);
    }
}

/* Algorithm 6 with m = 2^12: the values are taken mod q. They may be
 * secret (s in dk), so the reduction is a masked subtraction. */
void pq3_poly_frombytes(pq3_poly *r, const uint8_t a[PQ3_MLKEM_POLYBYTES])
{
    for (unsigned i = 0; i < PQ3_MLKEM_N / 8; i++) {
        uint32_t t[8];
        pq3_unpack8(t, a + 12 * i, 12);
        for (unsigned j = 0; j < 8; j++)
            r->c[8 * i + j] = pq3_csubq((int16_t)t[j]);
    }
}

int pq3_poly_bytes_canonical(const uint8_t a[PQ3_MLKEM_POLYBYTES])
{
    unsigned bad = 0;
    for (unsigned i = 0; i < PQ3_MLKEM_N / 2; i++) {
        unsigned t0 = a[3 * i] | ((a[3 * i + 1] & 0x0Fu) << 8);
        unsigned t1 = (a[3 * i + 1] >> 4) | ((unsigned)a[3 * i + 2] << 4);
        bad |= (t0 >= PQ3_MLKEM_Q) | (t1 >= PQ3_MLKEM_Q);
    }
    return bad == 0;
}

void pq3_polyvec_add(pq3_polyvec *r, const pq3_polyvec *a, const pq3_polyvec *b, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        pq3_poly_add(&r->v[i], &a->v[i], &b->v[i]);
}

void pq3_polyvec_reduce(pq3_polyvec *v, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        pq3_poly_reduce(&v->v[i]);
}

void pq3_polyvec_tobytes(uint8_t *r, const pq3_polyvec *a, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        pq3_poly_tobytes(r + i * PQ3_MLKEM_POLYBYTES, &a->v[i]);
}

void pq3_polyvec_frombytes(pq3_polyvec *r, const uint8_t *a, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        pq3_poly_frombytes(&r->v[i], a + i * PQ3_MLKEM_POLYBYTES);
}
