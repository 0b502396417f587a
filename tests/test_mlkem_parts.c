/* Tests of the ML-KEM building blocks (src/mlkem/) against plain
 * re-computations from the FIPS 203 definitions: NTT and NTT^-1 against
 * schoolbook multiplication in Z_q[X]/(X^256 + 1), Compress_d/Decompress_d
 * exhaustively for every d used, SampleNTT and SamplePolyCBD on hand-made
 * and random inputs, implicit rejection J(z || c) on tampered ciphertexts
 * (J computed here with OpenSSL), and every error path of the API. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mlkem/compress.h"
#include "mlkem/keccak.h"
#include "mlkem/poly.h"
#include "mlkem/sampling.h"
#include "pq3/mlkem.h"
#include "testutil.h"

#define Q 3329
#define N 256

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static int32_t modq(int64_t x)
{
    int64_t r = x % Q;
    return (int32_t)(r < 0 ? r + Q : r);
}

static int32_t powmod(int32_t b, unsigned e)
{
    int64_t r = 1, x = modq(b);
    while (e) {
        if (e & 1)
            r = r * x % Q;
        x = x * x % Q;
        e >>= 1;
    }
    return (int32_t)r;
}

static unsigned bitrev7(unsigned i)
{
    unsigned r = 0;
    for (int b = 0; b < 7; b++)
        r |= ((i >> b) & 1u) << (6 - b);
    return r;
}

/* FIPS 203 Algorithm 9 in plain modular arithmetic. */
static void plain_ntt(int32_t f[N])
{
    unsigned i = 1;
    for (unsigned len = 128; len >= 2; len /= 2)
        for (unsigned start = 0; start < N; start += 2 * len) {
            int32_t zeta = powmod(17, bitrev7(i++));
            for (unsigned j = start; j < start + len; j++) {
                int32_t t = modq((int64_t)zeta * f[j + len]);
                f[j + len] = modq(f[j] - t);
                f[j] = modq(f[j] + t);
            }
        }
}

static void test_ntt(void)
{
    for (int iter = 0; iter < 50; iter++) {
        pq3_polyvec a, b;
        pq3_poly c, rt;
        int32_t ref[N] = { 0 }, pa[N];
        unsigned bad = 0;
        for (unsigned i = 0; i < N; i++) {
            /* Centered and [0, q) inputs, as the library feeds both. */
            a.v[0].c[i] = (int16_t)((int32_t)(rnd() % Q) - (iter & 1 ? 1664 : 0));
            b.v[0].c[i] = (int16_t)(rnd() % 5) - 2;
        }
        /* Schoolbook product in Z_q[X]/(X^256 + 1): X^256 = -1. */
        for (unsigned i = 0; i < N; i++)
            for (unsigned j = 0; j < N; j++) {
                int64_t p = (int64_t)a.v[0].c[i] * b.v[0].c[j];
                if (i + j < N)
                    ref[i + j] = modq(ref[i + j] + p);
                else
                    ref[i + j - N] = modq(ref[i + j - N] - p);
            }
        for (unsigned i = 0; i < N; i++)
            pa[i] = modq(a.v[0].c[i]);
        plain_ntt(pa);
        rt = a.v[0];
        pq3_poly_ntt(&a.v[0]);
        for (unsigned i = 0; i < N; i++) {
            bad += a.v[0].c[i] <= -Q || a.v[0].c[i] >= Q;
            bad += modq(a.v[0].c[i]) != pa[i];
        }
        CHECKF(bad == 0, "NTT differs from Algorithm 9 (iteration %d)", iter);
        pq3_poly_ntt(&b.v[0]);
        pq3_polyvec_basemul_acc(&c, &a, &b, 1);
        pq3_poly_invntt_tomont(&c);
        bad = 0;
        for (unsigned i = 0; i < N; i++)
            bad += modq(c.c[i]) != ref[i] || c.c[i] <= -Q || c.c[i] >= Q;
        CHECKF(bad == 0, "NTT product differs from schoolbook (iteration %d)", iter);
        /* NTT^-1(NTT(a)) = a * R (the Montgomery factor of the inverse). */
        pq3_poly_invntt_tomont(&a.v[0]);
        bad = 0;
        for (unsigned i = 0; i < N; i++)
            bad += modq(a.v[0].c[i]) != modq((int64_t)rt.c[i] * 65536);
        CHECKF(bad == 0, "NTT^-1(NTT(a)) != a R (iteration %d)", iter);
    }
    /* The vector sum: sum_j a_j * b_j with k = 4 and the full input range
     * the library allows (a up to 4095 from an unchecked key). */
    {
        pq3_polyvec a, b;
        pq3_poly c;
        int32_t ref[N] = { 0 };
        unsigned bad = 0;
        for (unsigned j = 0; j < 4; j++)
            for (unsigned i = 0; i < N; i++) {
                a.v[j].c[i] = (int16_t)(rnd() % 4096);
                b.v[j].c[i] = (int16_t)((int32_t)(rnd() % Q) - 1664);
            }
        for (unsigned j = 0; j < 4; j++)
            for (unsigned x = 0; x < N; x++)
                for (unsigned y = 0; y < N; y++) {
                    int64_t p = (int64_t)a.v[j].c[x] * b.v[j].c[y];
                    if (x + y < N)
                        ref[x + y] = modq(ref[x + y] + p);
                    else
                        ref[x + y - N] = modq(ref[x + y - N] - p);
                }
        for (unsigned j = 0; j < 4; j++) {
            for (unsigned i = 0; i < N; i++)
                a.v[j].c[i] = (int16_t)(a.v[j].c[i] % Q); /* NTT needs |c| < q */
            pq3_poly_ntt(&a.v[j]);
            pq3_poly_ntt(&b.v[j]);
        }
        pq3_polyvec_basemul_acc(&c, &a, &b, 4);
        pq3_poly_invntt_tomont(&c);
        for (unsigned i = 0; i < N; i++)
            bad += modq(c.c[i]) != ref[i];
        CHECKF(bad == 0, "k = 4 inner product differs from schoolbook");
    }
}

/* FIPS 203 §4.2.1 with exact rational rounding (half up). */
static unsigned plain_compress(unsigned x, unsigned d)
{
    return ((2u * (x << d) + Q) / (2u * Q)) % (1u << d);
}
static unsigned plain_decompress(unsigned y, unsigned d)
{
    return (2u * Q * y + (1u << d)) / (2u << d);
}

static void plain_byte_encode(uint8_t *out, const unsigned *v, unsigned d)
{
    memset(out, 0, 32 * d);
    for (unsigned i = 0; i < N; i++)
        for (unsigned b = 0; b < d; b++)
            out[(i * d + b) / 8] |= (uint8_t)(((v[i] >> b) & 1u) << ((i * d + b) % 8));
}

static void test_compress(void)
{
    static const unsigned ds[] = { 1, 4, 5, 10, 11 };
    for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
        unsigned d = ds[k], bad = 0;
        for (unsigned x = 0; x < Q; x++)
            bad += pq3_compress_d((uint16_t)x, d) != plain_compress(x, d);
        CHECKF(bad == 0, "Compress_%u: %u of %d inputs wrong", d, bad, Q);
        bad = 0;
        for (unsigned y = 0; y < (1u << d); y++)
            bad += pq3_decompress_d((uint16_t)y, d) != plain_decompress(y, d);
        CHECKF(bad == 0, "Decompress_%u: %u inputs wrong", d, bad);
        /* Polynomial level: packing and the accepted input range |c| < q. */
        for (int iter = 0; iter < 20; iter++) {
            pq3_poly a, back;
            unsigned v[N], w[N];
            uint8_t ours[352], ref[352];
            for (unsigned i = 0; i < N; i++) {
                int32_t x = (int32_t)(rnd() % Q);
                a.c[i] = (int16_t)((rnd() & 1) ? x : x - Q);
                if (a.c[i] == -Q)
                    a.c[i] = 0;
                v[i] = plain_compress((unsigned)modq(a.c[i]), d);
                w[i] = plain_decompress(v[i], d);
            }
            pq3_poly_compress(ours, &a, d);
            plain_byte_encode(ref, v, d);
            CHECKF(memcmp(ours, ref, 32 * d) == 0, "ByteEncode_%u(Compress_%u)", d, d);
            pq3_poly_decompress(&back, ref, d);
            bad = 0;
            for (unsigned i = 0; i < N; i++)
                bad += (unsigned)back.c[i] != w[i];
            CHECKF(bad == 0, "Decompress_%u(ByteDecode_%u)", d, d);
        }
    }
    /* ByteEncode_12 / ByteDecode_12 and the modulus check. */
    {
        pq3_poly a, b;
        uint8_t enc[384];
        unsigned vals[N];
        for (unsigned i = 0; i < N; i++) {
            vals[i] = rnd() % Q;
            a.c[i] = (int16_t)vals[i];
        }
        pq3_poly_tobytes(enc, &a);
        {
            uint8_t ref[384];
            plain_byte_encode(ref, vals, 12);
            CHECK(memcmp(enc, ref, 384) == 0);
        }
        CHECK(pq3_poly_bytes_canonical(enc));
        pq3_poly_frombytes(&b, enc);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
        /* 12-bit values q..4095 are reduced mod q by ByteDecode_12 and fail
         * the modulus check. */
        vals[7] = 4095;
        vals[200] = Q;
        plain_byte_encode(enc, vals, 12);
        CHECK(!pq3_poly_bytes_canonical(enc));
        pq3_poly_frombytes(&b, enc);
        CHECK(b.c[7] == 4095 - Q && b.c[200] == 0);
    }
}

static int openssl_xof(const EVP_MD *md, uint8_t *out, size_t outlen, const uint8_t *in,
                       size_t inlen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) == 1 &&
             EVP_DigestUpdate(c, in, inlen) == 1 && EVP_DigestFinalXOF(c, out, outlen) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

static void test_sampling(void)
{
    /* Hand-computed rejection cases (Algorithm 7 lines 5-14). */
    {
        static const uint8_t buf[] = { 0x01, 0x23, 0x45,   /* 769, 1106 */
                                       0xFF, 0xFF, 0xFF,   /* 4095, 4095: both rejected */
                                       0x00, 0x0D, 0xD0,   /* 3328, 3328: q - 1 accepted */
                                       0x01, 0x0D, 0xD0,   /* 3329 rejected, 3328 */
                                       0x00, 0x00, 0x00 }; /* 0, 0 */
        int16_t r[8];
        CHECK(pq3_rej_uniform(r, 0, 8, buf, sizeof buf) == 7);
        CHECK(r[0] == 769 && r[1] == 1106 && r[2] == 3328 && r[3] == 3328 && r[4] == 3328 &&
              r[5] == 0 && r[6] == 0);
        /* Stops at the requested length, mid-group too. */
        CHECK(pq3_rej_uniform(r, 0, 1, buf, sizeof buf) == 1 && r[0] == 769);
        CHECK(pq3_rej_uniform(r, 5, 6, buf, sizeof buf) == 6 && r[5] == 769);
    }
    /* SampleNTT(rho || j || i) against a plain parse of OpenSSL's SHAKE128
     * stream; include seeds that need more than three blocks. */
    {
        unsigned long long_ones = 0;
        for (unsigned t = 0; t < 400 || long_ones == 0; t++) {
            uint8_t seed[34], stream[168 * 8];
            pq3_poly a;
            unsigned ctr = 0, pos = 0, in_first = 0;
            int16_t ref[N];
            for (unsigned i = 0; i < 32; i++)
                seed[i] = (uint8_t)(t * 7 + i * 13 + (t >> 8));
            seed[32] = (uint8_t)(t % 4);
            seed[33] = (uint8_t)((t / 4) % 4);
            CHECK(openssl_xof(EVP_shake128(), stream, sizeof stream, seed, sizeof seed));
            while (ctr < N && pos + 3 <= sizeof stream) {
                unsigned d1 = stream[pos] + 256u * (stream[pos + 1] % 16);
                unsigned d2 = stream[pos + 1] / 16u + 16u * stream[pos + 2];
                pos += 3;
                if (d1 < Q)
                    ref[ctr++] = (int16_t)d1;
                if (d2 < Q && ctr < N)
                    ref[ctr++] = (int16_t)d2;
                if (pos == 504)
                    in_first = ctr;
            }
            CHECK(ctr == N);
            long_ones += in_first < N;
            pq3_sample_ntt(&a, seed, seed[32], seed[33]);
            CHECKF(memcmp(a.c, ref, sizeof ref) == 0, "SampleNTT seed %u", t);
            if (t > 5000)
                break;
        }
        CHECKF(long_ones > 0, "no SampleNTT case needed a fourth block");
    }
    /* SamplePolyCBD by hand (Algorithm 8). */
    {
        uint8_t b2[128] = { 0 }, b3[192] = { 0 };
        pq3_poly r;
        b2[0] = 0x03; /* bits 0, 1: x = 2, y = 0 */
        b2[1] = 0xCC; /* coefficient 2: x = 0, y = 2; coefficient 3: x = 0, y = 2 */
        b2[127] = 0x7F; /* coefficient 254: x = 2, y = 2; 255: x = 2, y = 1 */
        pq3_cbd2(&r, b2);
        CHECK(r.c[0] == 2 && r.c[1] == 0 && r.c[2] == -2 && r.c[3] == -2 && r.c[4] == 0);
        CHECK(r.c[254] == 0 && r.c[255] == 1);
        b3[0] = 0xC7; /* coefficient 0: x = 3, y = 0; coefficient 1 low bits */
        b3[1] = 0x01; /* coefficient 1: x = 3 */
        b3[2] = 0xE0; /* bits 21..23: y of coefficient 3 = 3, its x = 0 */
        pq3_cbd3(&r, b3);
        CHECK(r.c[0] == 3 && r.c[1] == 3 && r.c[2] == 0 && r.c[3] == -3 && r.c[4] == 0);
    }
    /* CBD on random input against the bit-by-bit definition. */
    for (unsigned eta = 2; eta <= 3; eta++) {
        uint8_t buf[192];
        pq3_poly r;
        unsigned bad = 0;
        for (int iter = 0; iter < 50; iter++) {
            for (unsigned i = 0; i < 64 * eta; i++)
                buf[i] = (uint8_t)rnd();
            if (eta == 2)
                pq3_cbd2(&r, buf);
            else
                pq3_cbd3(&r, buf);
            for (unsigned i = 0; i < N; i++) {
                int x = 0, y = 0;
                for (unsigned j = 0; j < eta; j++) {
                    unsigned bx = 2 * i * eta + j, by = 2 * i * eta + eta + j;
                    x += (buf[bx / 8] >> (bx % 8)) & 1;
                    y += (buf[by / 8] >> (by % 8)) & 1;
                }
                bad += r.c[i] != x - y;
            }
        }
        CHECKF(bad == 0, "SamplePolyCBD_%u differs from Algorithm 8", eta);
    }
    /* PRF_eta(s, b) = SHAKE256(s || b, 64 eta) feeds the CBD. */
    {
        uint8_t seed[33], buf[192];
        pq3_poly r, ref;
        for (unsigned i = 0; i < 32; i++)
            seed[i] = (uint8_t)(i + 1);
        seed[32] = 5;
        CHECK(openssl_xof(EVP_shake256(), buf, 128, seed, 33));
        pq3_cbd2(&ref, buf);
        pq3_poly_getnoise(&r, seed, 5, 2);
        CHECK(memcmp(&r, &ref, sizeof r) == 0);
        CHECK(openssl_xof(EVP_shake256(), buf, 192, seed, 33));
        pq3_cbd3(&ref, buf);
        pq3_poly_getnoise(&r, seed, 5, 3);
        CHECK(memcmp(&r, &ref, sizeof r) == 0);
    }
}

typedef struct {
    const char *name;
    size_t ek_bytes, dk_bytes, ct_bytes;
    pq3_err (*keypair)(uint8_t *, uint8_t *);
    pq3_err (*keypair_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*encaps)(uint8_t *, uint8_t *, const uint8_t *);
    pq3_err (*encaps_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*decaps)(uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*check_ek)(const uint8_t *);
    pq3_err (*check_dk)(const uint8_t *);
} kem_set;

static const kem_set sets[] = {
    { "ML-KEM-768", PQ3_MLKEM768_EK_BYTES, PQ3_MLKEM768_DK_BYTES, PQ3_MLKEM768_CT_BYTES,
      pq3_mlkem768_keypair, pq3_mlkem768_keypair_derand, pq3_mlkem768_encaps,
      pq3_mlkem768_encaps_derand, pq3_mlkem768_decaps, pq3_mlkem768_check_ek,
      pq3_mlkem768_check_dk },
    { "ML-KEM-1024", PQ3_MLKEM1024_EK_BYTES, PQ3_MLKEM1024_DK_BYTES, PQ3_MLKEM1024_CT_BYTES,
      pq3_mlkem1024_keypair, pq3_mlkem1024_keypair_derand, pq3_mlkem1024_encaps,
      pq3_mlkem1024_encaps_derand, pq3_mlkem1024_decaps, pq3_mlkem1024_check_ek,
      pq3_mlkem1024_check_dk },
};

/* Decaps of a tampered ciphertext returns J(z || c'), computed here with
 * OpenSSL's SHAKE256 from z (the last 32 bytes of dk). */
static void test_implicit_rejection(const kem_set *s)
{
    uint8_t *ek = malloc(s->ek_bytes), *dk = malloc(s->dk_bytes), *ct = malloc(s->ct_bytes);
    uint8_t *zc = malloc(32 + s->ct_bytes);
    uint8_t d[32], z[32], m[32], k[32], k2[32], j[32];
    static const size_t positions[] = { 0, 1, 100, 1087, 1567 };
    for (unsigned i = 0; i < 32; i++) {
        d[i] = (uint8_t)(i + 3);
        z[i] = (uint8_t)(0xA0 ^ i);
        m[i] = (uint8_t)(i * 5);
    }
    CHECK_OK(s->keypair_derand(ek, dk, d, z));
    CHECK(memcmp(dk + s->dk_bytes - 32, z, 32) == 0);
    CHECK_OK(s->encaps_derand(ct, k, ek, m));
    CHECK_OK(s->decaps(k2, ct, dk));
    CHECK(memcmp(k, k2, 32) == 0);
    /* For the genuine ciphertext J(z || c) is not the result. */
    memcpy(zc, z, 32);
    memcpy(zc + 32, ct, s->ct_bytes);
    CHECK(openssl_xof(EVP_shake256(), j, 32, zc, 32 + s->ct_bytes));
    CHECK(memcmp(j, k2, 32) != 0);
    for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
        size_t pos = positions[p];
        if (pos >= s->ct_bytes)
            continue;
        for (unsigned bit = 0; bit < 8; bit += 7) {
            ct[pos] ^= (uint8_t)(1u << bit);
            memcpy(zc + 32, ct, s->ct_bytes);
            CHECK(openssl_xof(EVP_shake256(), j, 32, zc, 32 + s->ct_bytes));
            CHECK_OK(s->decaps(k2, ct, dk));
            CHECKF(memcmp(k2, j, 32) == 0, "%s: tampered byte %zu bit %u: not J(z || c)",
                   s->name, pos, bit);
            CHECK(memcmp(k2, k, 32) != 0);
            ct[pos] ^= (uint8_t)(1u << bit);
        }
    }
    free(ek); free(dk); free(ct); free(zc);
}

static void test_errors(const kem_set *s)
{
    uint8_t *ek = malloc(s->ek_bytes), *dk = malloc(s->dk_bytes), *ct = malloc(s->ct_bytes);
    uint8_t *bad = malloc(s->dk_bytes);
    uint8_t ss[32], ss2[32], seed[32] = { 9 };
    const size_t pke = s->dk_bytes - s->ek_bytes - 64;

    /* The randomized forms work and agree with each other. */
    CHECK_OK(s->keypair(ek, dk));
    CHECK_OK(s->check_ek(ek));
    CHECK_OK(s->check_dk(dk));
    CHECK_OK(s->encaps(ct, ss, ek));
    CHECK_OK(s->decaps(ss2, ct, dk));
    CHECK(memcmp(ss, ss2, 32) == 0);

    /* NULL arguments. */
    CHECK_ERR(s->keypair(NULL, dk), PQ3_ERR_ARG);
    CHECK_ERR(s->keypair(ek, NULL), PQ3_ERR_ARG);
    CHECK_ERR(s->keypair_derand(ek, dk, NULL, seed), PQ3_ERR_ARG);
    CHECK_ERR(s->keypair_derand(ek, dk, seed, NULL), PQ3_ERR_ARG);
    CHECK_ERR(s->keypair_derand(NULL, dk, seed, seed), PQ3_ERR_ARG);
    CHECK_ERR(s->encaps(NULL, ss, ek), PQ3_ERR_ARG);
    CHECK_ERR(s->encaps(ct, NULL, ek), PQ3_ERR_ARG);
    CHECK_ERR(s->encaps(ct, ss, NULL), PQ3_ERR_ARG);
    CHECK_ERR(s->encaps_derand(ct, ss, ek, NULL), PQ3_ERR_ARG);
    CHECK_ERR(s->decaps(NULL, ct, dk), PQ3_ERR_ARG);
    CHECK_ERR(s->decaps(ss, NULL, dk), PQ3_ERR_ARG);
    CHECK_ERR(s->decaps(ss, ct, NULL), PQ3_ERR_ARG);
    CHECK_ERR(s->check_ek(NULL), PQ3_ERR_ARG);
    CHECK_ERR(s->check_dk(NULL), PQ3_ERR_ARG);

    /* §7.2: a coefficient equal to q (first, last) fails; outputs kept. */
    for (int where = 0; where < 2; where++) {
        memcpy(bad, ek, s->ek_bytes);
        if (where == 0) { /* coefficient 0 = 3329 = 0xD01 */
            bad[0] = 0x01;
            bad[1] = (uint8_t)((bad[1] & 0xF0) | 0x0D);
        } else { /* the last coefficient of t = 4095 */
            size_t last = s->ek_bytes - 32 - 1;
            bad[last] = 0xFF;
            bad[last - 1] |= 0xF0;
        }
        CHECK_ERR(s->check_ek(bad), PQ3_ERR_KEY);
        memset(ct, 0x33, s->ct_bytes);
        memset(ss, 0x33, sizeof ss);
        CHECK_ERR(s->encaps_derand(ct, ss, bad, seed), PQ3_ERR_KEY);
        CHECK_ERR(s->encaps(ct, ss, bad), PQ3_ERR_KEY);
        CHECK(ct[0] == 0x33 && ct[s->ct_bytes - 1] == 0x33 && ss[0] == 0x33 && ss[31] == 0x33);
    }
    /* rho may be anything: changing it keeps the key valid. */
    memcpy(bad, ek, s->ek_bytes);
    bad[s->ek_bytes - 1] ^= 0xFF;
    CHECK_OK(s->check_ek(bad));

    /* §7.3: a changed H(ek) or a changed ek inside dk fails; the secret
     * part and z are not covered by the check. */
    CHECK_OK(s->encaps(ct, ss, ek));
    for (int what = 0; what < 4; what++) {
        memcpy(bad, dk, s->dk_bytes);
        if (what == 0)
            bad[pke + s->ek_bytes] ^= 1;          /* H(ek) */
        else if (what == 1)
            bad[pke + 5] ^= 0x10;                 /* ek inside dk */
        else if (what == 2)
            bad[3] ^= 1;                          /* dk_pke: not checked */
        else
            bad[s->dk_bytes - 1] ^= 1;            /* z: not checked */
        memset(ss2, 0x44, sizeof ss2);
        if (what < 2) {
            CHECK_ERR(s->check_dk(bad), PQ3_ERR_KEY);
            CHECK_ERR(s->decaps(ss2, ct, bad), PQ3_ERR_KEY);
            CHECK(ss2[0] == 0x44 && ss2[31] == 0x44);
        } else {
            CHECK_OK(s->check_dk(bad));
            CHECK_OK(s->decaps(ss2, ct, bad));
        }
    }
    free(ek); free(dk); free(ct); free(bad);
}

int main(void)
{
    test_ntt();
    test_compress();
    test_sampling();
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        test_implicit_rejection(&sets[i]);
        test_errors(&sets[i]);
    }
    return pq3t_finish();
}
