/* Tests for src/crypto/aesctr.c: SP 800-38A F.5.5/F.5.6, the 128-bit counter
 * carry (across 2^32, 2^64, 2^96 and the wrap at 2^128) checked against a
 * block-by-block reference built here from AES-256-ECB, round trips, in-place
 * use, argument checks. */
#include <string.h>

#include <openssl/evp.h>

#include "pq3/crypto.h"
#include "testutil.h"

static const char *key_hex = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";

/* Reference CTR: E_K(counter) for each block, the counter incremented as a
 * 128-bit big-endian integer by hand (SP 800-38A B.1, m = 128). */
static void ref_ctr(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32],
                    const uint8_t iv[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t ctr[16], ks[16];
    int n;

    memcpy(ctr, iv, 16);
    CHECK(ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), NULL, key, NULL) == 1);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    for (size_t off = 0; off < len; off += 16) {
        CHECK(EVP_EncryptUpdate(ctx, ks, &n, ctr, 16) == 1 && n == 16);
        for (size_t i = 0; i < 16 && off + i < len; i++)
            out[off + i] = (uint8_t)(in[off + i] ^ ks[i]);
        for (int i = 15; i >= 0; i--)
            if (++ctr[i] != 0)
                break;
    }
    EVP_CIPHER_CTX_free(ctx);
}

static void test_sp800_38a(void)
{
    uint8_t key[32], iv[16], pt[64], ct[64], out[64];
    CHECK(pq3t_unhex_into(key, 32, key_hex));
    CHECK(pq3t_unhex_into(iv, 16, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"));
    CHECK(pq3t_unhex_into(pt, 64,
                          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"));
    CHECK(pq3t_unhex_into(ct, 64,
                          "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
                          "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"));
    /* F.5.5 CTR-AES256.Encrypt */
    CHECK_OK(pq3_aes256ctr(out, pt, 64, key, iv));
    CHECK(memcmp(out, ct, 64) == 0);
    /* F.5.6 CTR-AES256.Decrypt */
    CHECK_OK(pq3_aes256ctr(out, ct, 64, key, iv));
    CHECK(memcmp(out, pt, 64) == 0);
    /* A prefix that ends mid-block. */
    CHECK_OK(pq3_aes256ctr(out, pt, 23, key, iv));
    CHECK(memcmp(out, ct, 23) == 0);
}

static void test_counter_carry(void)
{
    /* Initial counters whose low 32, 64 or 96 bits are all ones, and the
     * all-ones block that wraps to zero; the counter block's other bits are
     * varied so a carry that stops early, or that skips a word, shows. */
    static const char *ivs[] = {
        "0123456789abcdef01234567ffffffff", /* carry into bit 32 */
        "0123456789abcdefffffffffffffffff", /* carry into bit 64 */
        "01234567ffffffffffffffffffffffff", /* carry into bit 96 */
        "ffffffffffffffffffffffffffffffff", /* wrap at 2^128 */
        "fffffffffffffffffffffffffffffffe", /* wraps in the second block */
        "00000000000000000000000000000000",
    };
    uint8_t key[32], iv[16], zero[16 * 40] = { 0 }, out[sizeof zero], ref[sizeof zero];
    CHECK(pq3t_unhex_into(key, 32, key_hex));
    for (size_t i = 0; i < sizeof ivs / sizeof ivs[0]; i++) {
        CHECK(pq3t_unhex_into(iv, 16, ivs[i]));
        /* 40 blocks: long enough for OpenSSL's multi-block paths. */
        CHECK_OK(pq3_aes256ctr(out, zero, sizeof zero, key, iv));
        ref_ctr(ref, zero, sizeof zero, key, iv);
        CHECKF(memcmp(out, ref, sizeof out) == 0, "carry case %s", ivs[i]);
    }
    /* The wrap explicitly: after the all-ones block comes counter zero. */
    {
        uint8_t ones[16], zeros[16] = { 0 }, two[32], first_of_zero[16];
        memset(ones, 0xff, 16);
        CHECK_OK(pq3_aes256ctr(two, zero, 32, key, ones));
        CHECK_OK(pq3_aes256ctr(first_of_zero, zero, 16, key, zeros));
        CHECK(memcmp(two + 16, first_of_zero, 16) == 0);
    }
    /* And across 2^64: the block after ..00 ffffffffffffffff is ..01 0000000000000000. */
    {
        uint8_t a[16], b[16], two[32], first[16];
        CHECK(pq3t_unhex_into(a, 16, "0000000000000000ffffffffffffffff"));
        CHECK(pq3t_unhex_into(b, 16, "00000000000000010000000000000000"));
        CHECK_OK(pq3_aes256ctr(two, zero, 32, key, a));
        CHECK_OK(pq3_aes256ctr(first, zero, 16, key, b));
        CHECK(memcmp(two + 16, first, 16) == 0);
    }
}

static void test_round_trip(void)
{
    pq3t_drbg d;
    pq3_rng rng;
    uint8_t key[32], iv[16], msg[1000], ct[1000], back[1000], ref[1000];

    pq3t_drbg_init(&d, "aesctr round trip", 0);
    rng = pq3t_drbg_rng(&d);
    for (size_t len = 0; len < sizeof msg; len += 37) {
        CHECK_OK(pq3_random(&rng, key, sizeof key));
        CHECK_OK(pq3_random(&rng, iv, sizeof iv));
        CHECK_OK(pq3_random(&rng, msg, sizeof msg));
        CHECK_OK(pq3_aes256ctr(ct, msg, len, key, iv));
        ref_ctr(ref, msg, len, key, iv);
        CHECKF(len == 0 || memcmp(ct, ref, len) == 0, "len %zu vs reference", len);
        CHECK_OK(pq3_aes256ctr(back, ct, len, key, iv));
        CHECKF(len == 0 || memcmp(back, msg, len) == 0, "len %zu round trip", len);
        /* In place. */
        memcpy(back, msg, len);
        CHECK_OK(pq3_aes256ctr(back, back, len, key, iv));
        CHECKF(len == 0 || memcmp(back, ct, len) == 0, "len %zu in place", len);
    }
}

static void test_args(void)
{
    uint8_t key[32] = { 0 }, iv[16] = { 0 }, buf[64];

    memset(buf, 0x33, sizeof buf);
    CHECK_ERR(pq3_aes256ctr(buf, buf, 16, NULL, iv), PQ3_ERR_ARG);
    CHECK_ERR(pq3_aes256ctr(buf, buf, 16, key, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_aes256ctr(NULL, buf, 16, key, iv), PQ3_ERR_ARG);
    CHECK_ERR(pq3_aes256ctr(buf, NULL, 16, key, iv), PQ3_ERR_ARG);
    /* Partial overlap is refused, and nothing is written. */
    CHECK_ERR(pq3_aes256ctr(buf + 1, buf, 32, key, iv), PQ3_ERR_ARG);
    CHECK_ERR(pq3_aes256ctr(buf, buf + 8, 32, key, iv), PQ3_ERR_ARG);
    CHECK(buf[0] == 0x33 && buf[40] == 0x33);
    /* Adjacent buffers are fine; so is an empty message. */
    CHECK_OK(pq3_aes256ctr(buf + 32, buf, 32, key, iv));
    CHECK_OK(pq3_aes256ctr(NULL, NULL, 0, key, iv));
}

int main(void)
{
    test_sp800_38a();
    test_counter_carry();
    test_round_trip();
    test_args();
    return pq3t_finish();
}
