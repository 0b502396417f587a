/*
 * Compress_d / Decompress_d with ByteEncode_d / ByteDecode_d (FIPS 203
 * §4.2.1, Algorithms 5 and 6) for the ciphertext (d_u, d_v) and the message
 * (d = 1). The bits are packed eight values (d bytes) at a time with shifts
 * fixed by d and the position, never by the coefficient values.
 */
#include "mlkem/compress.h"
#include "mlkem/poly.h"
#include "mlkem/reduce.h"

/* Written as inline bodies called with a constant d so the compiler can
 * specialize the shifts for each width. */
static inline void compress_pack(uint8_t *r, const pq3_poly *a, unsigned d)
{
    for (unsigned i = 0; i < PQ3_MLKEM_N / 8; i++) {
        uint32_t t[8];
        for (unsigned j = 0; j < 8; j++)
            t[j] = pq3_compress_d((uint16_t)pq3_caddq(a->c[8 * i + j]), d);
        pq3_pack8(r + d * i, t, d);
    }
}

static inline void unpack_decompress(pq3_poly *r, const uint8_t *a, unsigned d)
{
    for (unsigned i = 0; i < PQ3_MLKEM_N / 8; i++) {
        uint32_t t[8];
        pq3_unpack8(t, a + d * i, d);
        for (unsigned j = 0; j < 8; j++)
            r->c[8 * i + j] = (int16_t)pq3_decompress_d((uint16_t)t[j], d);
    }
}

void pq3_poly_compress(uint8_t *r, const pq3_poly *a, unsigned d)
{
    switch (d) {
    case 1: compress_pack(r, a, 1); break;
    case 4: compress_pack(r, a, 4); break;
    case 5: compress_pack(r, a, 5); break;
    case 10: compress_pack(r, a, 10); break;
    case 11: compress_pack(r, a, 11); break;
    default: compress_pack(r, a, d); break;
    }
}

void pq3_poly_decompress(pq3_poly *r, const uint8_t *a, unsigned d)
{
    switch (d) {
    case 1: unpack_decompress(r, a, 1); break;
    case 4: unpack_decompress(r, a, 4); break;
    case 5: unpack_decompress(r, a, 5); break;
    case 10: unpack_decompress(r, a, 10); break;
    case 11: unpack_decompress(r, a, 11); break;
    default: unpack_decompress(r, a, d); break;
    }
}

void pq3_polyvec_compress(uint8_t *r, const pq3_polyvec *a, unsigned k, unsigned d)
{
    for (unsigned i = 0; i < k; i++)
        pq3_poly_compress(r + 32 * d * i, &a->v[i], d);
}

void pq3_polyvec_decompress(pq3_polyvec *r, const uint8_t *a, unsigned k, unsigned d)
{
    for (unsigned i = 0; i < k; i++)
        pq3_poly_decompress(&r->v[i], a + 32 * d * i, d);
}
