/* Tests for include/pq3/common.h and src/crypto/ct.h: error codes, wipe,
 * constant-time helpers, the random source. */
#include <string.h>

#include "crypto/ct.h"
#include "testutil.h"

static void test_errors(void)
{
    static const pq3_err input[] = { PQ3_ERR_DECODE, PQ3_ERR_VERIFY, PQ3_ERR_KEY,
                                     PQ3_ERR_EXPIRED, PQ3_ERR_REPLAY, PQ3_ERR_UNKNOWN,
                                     PQ3_ERR_LIMIT, PQ3_ERR_VERSION, PQ3_ERR_REFUSED };
    static const pq3_err system[] = { PQ3_ERR_RNG, PQ3_ERR_NOMEM, PQ3_ERR_IO, PQ3_ERR_CRYPTO };
    static const pq3_err misuse[] = { PQ3_ERR_ARG, PQ3_ERR_BUFFER, PQ3_ERR_STATE };

    CHECK(strcmp(pq3_strerror(PQ3_OK), "success") == 0);
    CHECK(strcmp(pq3_strerror(-999), "unknown error") == 0);
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++) {
        CHECK(pq3_err_is_input(input[i]) && !pq3_err_is_system(input[i]) &&
              !pq3_err_is_misuse(input[i]));
        CHECK(strcmp(pq3_strerror(input[i]), "unknown error") != 0);
    }
    for (size_t i = 0; i < sizeof system / sizeof system[0]; i++) {
        CHECK(pq3_err_is_system(system[i]) && !pq3_err_is_input(system[i]));
        CHECK(strcmp(pq3_strerror(system[i]), "unknown error") != 0);
    }
    for (size_t i = 0; i < sizeof misuse / sizeof misuse[0]; i++) {
        CHECK(pq3_err_is_misuse(misuse[i]) && !pq3_err_is_system(misuse[i]));
        CHECK(strcmp(pq3_strerror(misuse[i]), "unknown error") != 0);
    }
    CHECK(!pq3_err_is_input(PQ3_OK) && !pq3_err_is_system(PQ3_OK) && !pq3_err_is_misuse(PQ3_OK));
}

static void test_wipe(void)
{
    uint8_t buf[64];
    memset(buf, 0xA5, sizeof buf);
    pq3_wipe(buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK(buf[i] == 0);
    pq3_wipe(NULL, 10); /* no crash */
}

static void test_ct(void)
{
    uint8_t a[33], b[33], out[33];
    for (size_t i = 0; i < sizeof a; i++) {
        a[i] = (uint8_t)i;
        b[i] = (uint8_t)(200 - i);
    }
    CHECK(pq3_ct_equal(a, a, sizeof a));
    CHECK(!pq3_ct_equal(a, b, sizeof a));
    CHECK(pq3_ct_diff(a, a, sizeof a) == 0);
    CHECK(pq3_ct_diff(a, b, sizeof a) == 0xFF);
    /* Every single-bit difference at every position is seen. */
    for (size_t i = 0; i < sizeof a; i++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t c[33];
            memcpy(c, a, sizeof c);
            c[i] ^= (uint8_t)(1u << bit);
            CHECK(!pq3_ct_equal(a, c, sizeof a));
        }
    }
    CHECK(pq3_ct_equal(a, b, 0));
    pq3_ct_select(out, a, b, sizeof out, 0x00);
    CHECK(memcmp(out, a, sizeof out) == 0);
    pq3_ct_select(out, a, b, sizeof out, 0xFF);
    CHECK(memcmp(out, b, sizeof out) == 0);
    memcpy(out, a, sizeof out);
    pq3_ct_cmov(out, b, sizeof out, 0x00);
    CHECK(memcmp(out, a, sizeof out) == 0);
    pq3_ct_cmov(out, b, sizeof out, 0xFF);
    CHECK(memcmp(out, b, sizeof out) == 0);
    CHECK(pq3_ct_nonzero_mask32(0) == 0);
    CHECK(pq3_ct_nonzero_mask32(1) == 0xFFFFFFFFu);
    CHECK(pq3_ct_nonzero_mask32(0x80000000u) == 0xFFFFFFFFu);
}

static void test_random(void)
{
    uint8_t x[64], y[64], z[16];
    pq3t_drbg d1, d2;
    pq3_rng r1, r2, bad;

    memset(x, 0, sizeof x);
    memset(y, 0, sizeof y);
    CHECK_OK(pq3_random(NULL, x, sizeof x));
    CHECK_OK(pq3_random(NULL, y, sizeof y));
    CHECK(memcmp(x, y, sizeof x) != 0);
    CHECK_OK(pq3_random(NULL, NULL, 0));
    CHECK_ERR(pq3_random(NULL, NULL, 5), PQ3_ERR_ARG);

    pq3t_drbg_init(&d1, "common", 1);
    pq3t_drbg_init(&d2, "common", 1);
    r1 = pq3t_drbg_rng(&d1);
    r2 = pq3t_drbg_rng(&d2);
    CHECK_OK(pq3_random(&r1, x, sizeof x));
    CHECK_OK(pq3_random(&r2, y, sizeof y));
    CHECK(memcmp(x, y, sizeof x) == 0);

    /* A failing source: the error comes through and the output is wiped. */
    bad = pq3t_failing_rng();
    memset(z, 0x77, sizeof z);
    CHECK_ERR(pq3_random(&bad, z, sizeof z), PQ3_ERR_RNG);
    for (size_t i = 0; i < sizeof z; i++)
        CHECK(z[i] == 0);
    {
        pq3_rng nofill = { NULL, NULL };
        CHECK_ERR(pq3_random(&nofill, z, sizeof z), PQ3_ERR_ARG);
    }
}

int main(void)
{
    test_errors();
    test_wipe();
    test_ct();
    test_random();
    return pq3t_finish();
}
