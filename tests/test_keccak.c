/* Tests for src/mlkem/keccak.c (FIPS 202): SHA3-256, SHA3-512, SHAKE128 and
 * SHAKE256 against OpenSSL's one-shot EVP for inputs and outputs from empty
 * to many blocks long, and incremental absorb/squeeze in odd-sized pieces
 * against the one-shot result. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mlkem/keccak.h"
#include "testutil.h"

enum { SHA3_256, SHA3_512, SHAKE128, SHAKE256 };

static const char *names[] = { "SHA3-256", "SHA3-512", "SHAKE128", "SHAKE256" };

/* OpenSSL computes the whole output in one call (it cannot squeeze twice). */
static int openssl_hash(int alg, uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
    const EVP_MD *md = alg == SHA3_256   ? EVP_sha3_256()
                       : alg == SHA3_512 ? EVP_sha3_512()
                       : alg == SHAKE128 ? EVP_shake128()
                                         : EVP_shake256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
             EVP_DigestUpdate(ctx, in, inlen) == 1;
    if (ok) {
        if (alg == SHAKE128 || alg == SHAKE256)
            ok = EVP_DigestFinalXOF(ctx, out, outlen) == 1;
        else
            ok = EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    }
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void init(int alg, pq3_keccak_ctx *c)
{
    switch (alg) {
    case SHA3_256: pq3_sha3_256_init(c); break;
    case SHA3_512: pq3_sha3_512_init(c); break;
    case SHAKE128: pq3_shake128_init(c); break;
    default: pq3_shake256_init(c); break;
    }
}

static void oneshot(int alg, uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
    switch (alg) {
    case SHA3_256: pq3_sha3_256(out, in, inlen); break;
    case SHA3_512: pq3_sha3_512(out, in, inlen); break;
    case SHAKE128: pq3_shake128(out, outlen, in, inlen); break;
    default: pq3_shake256(out, outlen, in, inlen); break;
    }
}

#define MAXIN 1400
#define MAXOUT 1300

static void test_oneshot(const uint8_t *msg)
{
    static uint8_t ours[MAXOUT], ref[MAXOUT];
    /* Lengths around every block boundary of every rate (72, 136, 168) and
     * up to about ten blocks. */
    for (int alg = 0; alg < 4; alg++) {
        unsigned long bad = 0, n = 0;
        for (size_t inlen = 0; inlen <= MAXIN; inlen += (inlen < 400 ? 1 : 7)) {
            size_t outlen = alg == SHA3_256 ? 32 : alg == SHA3_512 ? 64 : (inlen * 7) % MAXOUT;
            if (!openssl_hash(alg, ref, outlen, msg, inlen)) {
                CHECKF(0, "OpenSSL %s failed", names[alg]);
                return;
            }
            oneshot(alg, ours, outlen, msg, inlen);
            bad += memcmp(ours, ref, outlen) != 0;
            n++;
        }
        CHECKF(bad == 0, "%s: %lu of %lu one-shot results differ from OpenSSL", names[alg], bad,
               n);
    }
    /* Long outputs of the XOFs, past many blocks. */
    for (int alg = SHAKE128; alg <= SHAKE256; alg++) {
        for (size_t outlen = 0; outlen <= MAXOUT; outlen++) {
            static uint8_t o2[MAXOUT], r2[MAXOUT];
            if (outlen % 97 != 0 && outlen > 200)
                continue;
            CHECK(openssl_hash(alg, r2, outlen, msg, 33));
            oneshot(alg, o2, outlen, msg, 33);
            CHECKF(memcmp(o2, r2, outlen) == 0, "%s outlen %zu", names[alg], outlen);
        }
    }
}

/* Absorb in pieces of sizes from a cycle of odd lengths, squeeze likewise,
 * and mix in squeezeblocks when on a block boundary. */
static void test_incremental(const uint8_t *msg)
{
    static const size_t pieces[] = { 1, 3, 7, 0, 13, 71, 137, 5, 169, 2, 300, 11 };
    static uint8_t whole[MAXOUT], part[MAXOUT];
    for (int alg = 0; alg < 4; alg++) {
        for (size_t inlen = 0; inlen <= MAXIN; inlen += 61) {
            size_t outlen = alg == SHA3_256 ? 32 : alg == SHA3_512 ? 64 : MAXOUT;
            pq3_keccak_ctx c;
            size_t pos = 0, p = inlen % 12;
            CHECK(openssl_hash(alg, whole, outlen, msg, inlen));
            init(alg, &c);
            while (pos < inlen) {
                size_t n = pieces[p++ % 12];
                if (n > inlen - pos)
                    n = inlen - pos;
                pq3_keccak_absorb(&c, msg + pos, n);
                pos += n;
            }
            memset(part, 0, sizeof part);
            pos = 0;
            p = 0;
            while (pos < outlen) {
                size_t n = pieces[(p++ + 5) % 12];
                if (n > outlen - pos)
                    n = outlen - pos;
                pq3_keccak_squeeze(&c, part + pos, n);
                pos += n;
            }
            CHECKF(memcmp(part, whole, outlen) == 0, "%s incremental inlen %zu", names[alg], inlen);
        }
    }
    /* squeezeblocks: right after finalize, then after a partial squeeze
     * (falls back to the byte path), then whole blocks again. */
    for (int alg = SHAKE128; alg <= SHAKE256; alg++) {
        unsigned rate = alg == SHAKE128 ? PQ3_SHAKE128_RATE : PQ3_SHAKE256_RATE;
        pq3_keccak_ctx c;
        CHECK(openssl_hash(alg, whole, 6 * rate + 10, msg, 34));
        init(alg, &c);
        pq3_keccak_absorb(&c, msg, 34);
        pq3_keccak_squeezeblocks(&c, part, 3);
        pq3_keccak_squeeze(&c, part + 3 * rate, 10);
        pq3_keccak_squeezeblocks(&c, part + 3 * rate + 10, 1);
        pq3_keccak_squeeze(&c, part + 4 * rate + 10, rate - 10);
        pq3_keccak_squeezeblocks(&c, part + 5 * rate, 1);
        pq3_keccak_squeeze(&c, part + 6 * rate, 10);
        CHECKF(memcmp(part, whole, 6 * rate + 10) == 0, "%s squeezeblocks", names[alg]);
    }
}

/* FIPS 202 known answers, independent of OpenSSL. */
static void test_kat(void)
{
    uint8_t out[32];
    char *hex;
    pq3_sha3_256(out, (const uint8_t *)"abc", 3);
    hex = pq3t_hex(out, 32);
    CHECK(strcmp(hex, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532") == 0);
    free(hex);
    pq3_shake128(out, 16, NULL, 0);
    hex = pq3t_hex(out, 16);
    CHECK(strcmp(hex, "7f9c2ba4e88f827d616045507605853e") == 0);
    free(hex);
}

/* The permutation alone: Keccak-f[1600] applied to the zero state (the
 * first lane of the well-known result). */
static void test_permutation(void)
{
    uint64_t s[25] = { 0 };
    pq3_keccak_f1600(s);
    CHECK(s[0] == 0xF1258F7940E1DDE7ULL);
    CHECK(s[24] == 0xEAF1FF7B5CECA249ULL);
}

int main(void)
{
    uint8_t *msg = malloc(MAXIN);
    for (size_t i = 0; i < MAXIN; i++)
        msg[i] = (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
    test_kat();
    test_permutation();
    test_oneshot(msg);
    test_incremental(msg);
    free(msg);
    return pq3t_finish();
}
