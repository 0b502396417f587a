/* Tests for src/crypto/sha384.c (and the digest cache in md.c): FIPS 180-4
 * example vectors, argument checks. */
#include <stdlib.h>
#include <string.h>

#include "crypto/md.h"
#include "pq3/crypto.h"
#include "testutil.h"

static void check_hash(const uint8_t *msg, size_t len, const char *hex)
{
    uint8_t out[PQ3_SHA384_BYTES], want[PQ3_SHA384_BYTES];
    CHECK(pq3t_unhex_into(want, sizeof want, hex));
    CHECK_OK(pq3_sha384(out, msg, len));
    CHECKF(memcmp(out, want, sizeof out) == 0, "SHA-384 of %zu bytes", len);
}

int main(void)
{
    static const char two_block[] =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
        "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    uint8_t out[PQ3_SHA384_BYTES], out2[PQ3_SHA384_BYTES];
    uint8_t *million = malloc(1000000);

    /* FIPS 180-4 examples (NIST CSRC "SHA384.pdf"): "abc", the empty
     * string, the two-block message, one million 'a'. */
    check_hash((const uint8_t *)"abc", 3,
               "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
               "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
    check_hash(NULL, 0,
               "38b060a751ac96384cd9327eb1b1e36a21fdb71114be0743"
               "4c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b");
    check_hash((const uint8_t *)"", 0,
               "38b060a751ac96384cd9327eb1b1e36a21fdb71114be0743"
               "4c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b");
    check_hash((const uint8_t *)two_block, strlen(two_block),
               "09330c33f71147e83d192fc782cd1b4753111b173b3b05d2"
               "2fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039");
    CHECK(million != NULL);
    if (million != NULL) {
        memset(million, 'a', 1000000);
        check_hash(million, 1000000,
                   "9d0e1809716474cb086e834e310a4a1ced149e9c00f24852"
                   "7972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985");
        free(million);
    }

    /* The internal SHA-256 used by ECDSA: FIPS 180-4 "abc". */
    {
        uint8_t h[PQ3_SHA256_BYTES], want[PQ3_SHA256_BYTES];
        CHECK(pq3t_unhex_into(want, sizeof want,
                              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        CHECK_OK(pq3_sha256(h, (const uint8_t *)"abc", 3));
        CHECK(memcmp(h, want, sizeof h) == 0);
    }

    /* Same input, same output; the output buffer may be the input. */
    memcpy(out2, "abc", 3);
    CHECK_OK(pq3_sha384(out, out2, 3));
    CHECK_OK(pq3_sha384(out2, out2, 3));
    CHECK(memcmp(out, out2, sizeof out) == 0);

    /* Bad arguments. */
    CHECK_ERR(pq3_sha384(NULL, (const uint8_t *)"abc", 3), PQ3_ERR_ARG);
    CHECK_ERR(pq3_sha384(out, NULL, 1), PQ3_ERR_ARG);
    return pq3t_finish();
}
