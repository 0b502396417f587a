/* Tests for src/protocol/padme.c (PROTOCOL-BRIEF §5 spot values, exhaustive
 * properties over 1..65,536, malformed padding). */
#include <stdlib.h>
#include <string.h>

#include "pq3/padme.h"
#include "testutil.h"

static void test_spot_values(void)
{
    static const size_t spots[][2] = { { 9, 10 },     { 100, 104 },   { 129, 144 },
                                       { 1000, 1024 }, { 1025, 1088 }, { 5000, 5120 },
                                       { 65537, 67584 }, { 0, 0 },    { 1, 1 },
                                       { 2, 2 },       { 7, 7 },       { 8, 8 } };
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++)
        CHECKF(pq3_padme_length(spots[i][0]) == spots[i][1], "Padme(%zu) = %zu, want %zu",
               spots[i][0], pq3_padme_length(spots[i][0]), spots[i][1]);
    CHECK(pq3_padme_padded_size(100) == pq3_padme_length(101));
}

static void test_exhaustive(void)
{
    size_t prev = 0, worst_at = 0;
    double worst = 0;
    unsigned long bad_overhead = 0, shrinks = 0, not_monotone = 0, bad_roundtrip = 0;
    uint8_t *in = malloc(65536), *out = malloc(pq3_padme_padded_size(65536));
    if (in == NULL || out == NULL)
        abort();
    for (size_t i = 0; i < 65536; i++)
        in[i] = (uint8_t)(i * 7 + 1); /* never 0x00: stresses the marker scan */
    for (size_t n = 1; n <= 65536; n++) {
        size_t p = pq3_padme_length(n), padded = 0, back = 0;
        double overhead = (double)(p - n) / (double)n;
        if (p < n)
            shrinks++;
        if (p < prev)
            not_monotone++;
        if (overhead > 0.12)
            bad_overhead++;
        if (overhead > worst) {
            worst = overhead;
            worst_at = n;
        }
        prev = p;
        /* unpad(pad(x)) = x for the plaintext of n bytes. */
        if (pq3_padme_pad(out, pq3_padme_padded_size(65536), &padded, in, n) != PQ3_OK ||
            padded != pq3_padme_padded_size(n) ||
            pq3_padme_unpad(&back, out, padded) != PQ3_OK || back != n ||
            memcmp(out, in, n) != 0)
            bad_roundtrip++;
    }
    CHECKF(bad_overhead == 0, "%lu lengths over 12%% overhead", bad_overhead);
    CHECKF(shrinks == 0, "%lu lengths shrink", shrinks);
    CHECKF(not_monotone == 0, "%lu lengths not monotone", not_monotone);
    CHECKF(bad_roundtrip == 0, "%lu lengths fail the round trip", bad_roundtrip);
    /* The published worst case: 11.6 % at 129 bytes. */
    CHECKF(worst_at == 129 && worst > 0.116 && worst < 0.117, "worst %f at %zu", worst, worst_at);
    free(in);
    free(out);
}

static void test_malformed(void)
{
    uint8_t buf[64];
    size_t n = 0, padded = 0;
    const uint8_t msg[9] = "abcdefghi";

    CHECK_OK(pq3_padme_pad(buf, sizeof buf, &padded, msg, sizeof msg));
    CHECK(padded == 10);
    CHECK(buf[9] == 0x80);

    /* No marker at all. */
    memset(buf, 0, sizeof buf);
    CHECK_ERR(pq3_padme_unpad(&n, buf, 10), PQ3_ERR_DECODE);
    /* Last non-zero byte is not 0x80. */
    memcpy(buf, msg, 9);
    buf[9] = 0x81;
    CHECK_ERR(pq3_padme_unpad(&n, buf, 10), PQ3_ERR_DECODE);
    buf[9] = 0x01;
    CHECK_ERR(pq3_padme_unpad(&n, buf, 10), PQ3_ERR_DECODE);
    /* Marker followed by a non-zero byte. */
    memset(buf, 0, sizeof buf);
    memcpy(buf, msg, 8);
    buf[8] = 0x80;
    buf[9] = 0x01;
    CHECK_ERR(pq3_padme_unpad(&n, buf, 10), PQ3_ERR_DECODE);
    /* Valid marker, but the length is not Padme(n + 1): too much padding. */
    memset(buf, 0, sizeof buf);
    memcpy(buf, msg, 3);
    buf[3] = 0x80;            /* 3-byte plaintext pads to 4, not 10 */
    CHECK_ERR(pq3_padme_unpad(&n, buf, 10), PQ3_ERR_DECODE);
    CHECK_OK(pq3_padme_unpad(&n, buf, 4));
    CHECK(n == 3);
    /* 129-byte plaintext pads to Padme(130) = 144; 143 and 145 are wrong. */
    {
        uint8_t big[160];
        memset(big, 'x', sizeof big);
        CHECK_OK(pq3_padme_pad(big, sizeof big, &padded, big, 129));
        CHECK(padded == 144);
        CHECK_OK(pq3_padme_unpad(&n, big, 144));
        CHECK(n == 129);
        CHECK_ERR(pq3_padme_unpad(&n, big, 145), PQ3_ERR_DECODE);
        CHECK_ERR(pq3_padme_unpad(&n, big, 143), PQ3_ERR_DECODE);
    }
    /* Empty plaintext: just the marker. */
    CHECK_OK(pq3_padme_pad(buf, sizeof buf, &padded, NULL, 0));
    CHECK(padded == 1 && buf[0] == 0x80);
    CHECK_OK(pq3_padme_unpad(&n, buf, 1));
    CHECK(n == 0);
    CHECK_ERR(pq3_padme_unpad(&n, buf, 0), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_padme_unpad(&n, NULL, 4), PQ3_ERR_DECODE);

    /* Misuse. */
    CHECK_ERR(pq3_padme_pad(buf, 9, &padded, msg, 9), PQ3_ERR_BUFFER);
    CHECK_ERR(pq3_padme_pad(NULL, 9, &padded, msg, 9), PQ3_ERR_ARG);
    CHECK_ERR(pq3_padme_pad(buf, sizeof buf, &padded, NULL, 3), PQ3_ERR_ARG);
    CHECK_ERR(pq3_padme_pad(buf, sizeof buf, &padded, msg, PQ3_PADME_MAX_PLAINTEXT + 1),
              PQ3_ERR_ARG);
}

int main(void)
{
    test_spot_values();
    test_exhaustive();
    test_malformed();
    return pq3t_finish();
}
