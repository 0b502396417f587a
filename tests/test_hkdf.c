/* Tests for src/crypto/hkdf.c: Wycheproof HKDF-SHA384, RFC 5869 §2.2's empty
 * salt, the output length bounds, argument checks. */
#include <stdlib.h>
#include <string.h>

#include "pq3/crypto.h"
#include "testutil.h"

static void test_wycheproof(void)
{
    cJSON *root = pq3t_load_json(pq3t_vector_path("wycheproof/hkdf_sha384_test.json"));
    const cJSON *group, *test;
    unsigned valid = 0, invalid = 0, other = 0;
    uint8_t *okm_buf = malloc(PQ3_HKDF_MAX_OUT);

    if (root == NULL || okm_buf == NULL) {
        CHECK(root != NULL && okm_buf != NULL);
        free(okm_buf);
        cJSON_Delete(root);
        return;
    }
    cJSON_ArrayForEach(group, cJSON_GetObjectItemCaseSensitive(root, "testGroups"))
    cJSON_ArrayForEach(test, cJSON_GetObjectItemCaseSensitive(group, "tests"))
    {
        const char *res = pq3t_json_str(test, "result");
        int id = cJSON_GetObjectItemCaseSensitive(test, "tcId")->valueint;
        size_t size = (size_t)cJSON_GetObjectItemCaseSensitive(test, "size")->valuedouble;
        size_t ilen, slen, nlen, olen;
        uint8_t *ikm = pq3t_unhex(pq3t_json_str(test, "ikm"), &ilen);
        uint8_t *salt = pq3t_unhex(pq3t_json_str(test, "salt"), &slen);
        uint8_t *info = pq3t_unhex(pq3t_json_str(test, "info"), &nlen);
        uint8_t *okm = pq3t_unhex(pq3t_json_str(test, "okm"), &olen);
        uint8_t prk[PQ3_HKDF_PRK_BYTES];
        pq3_err err;

        CHECKF(ikm && salt && info && okm, "tcId %d: bad hex", id);
        if (ikm && salt && info && okm) {
            CHECK_OK(pq3_hkdf_sha384_extract(prk, salt, slen, ikm, ilen));
            /* okm_buf holds PQ3_HKDF_MAX_OUT bytes: a larger size must be
             * rejected before anything is written. */
            err = pq3_hkdf_sha384_expand(okm_buf, size, prk, info, nlen);
            if (strcmp(res, "valid") == 0) {
                valid++;
                CHECKF(err == PQ3_OK && olen == size && memcmp(okm_buf, okm, size) == 0,
                       "tcId %d: okm differs (err %d)", id, err);
            } else if (strcmp(res, "invalid") == 0) {
                /* The invalid cases ask for more than 255 * 48 bytes. */
                invalid++;
                CHECKF(size > PQ3_HKDF_MAX_OUT, "tcId %d: unexpected kind of invalid case", id);
                CHECKF(err == PQ3_ERR_ARG, "tcId %d: size %zu accepted (err %d)", id, size, err);
            } else {
                other++;
            }
        }
        free(ikm);
        free(salt);
        free(info);
        free(okm);
    }
    CHECK(other == 0);
    CHECK(valid == 80 && invalid == 3);
    printf("wycheproof hkdf_sha384: %u valid reproduced, %u invalid rejected, %u other\n",
           valid, invalid, other);
    free(okm_buf);
    cJSON_Delete(root);
}

static void test_bounds_and_args(void)
{
    static uint8_t big[PQ3_HKDF_MAX_OUT + 1];
    uint8_t prk[48], prk2[48], zeros[48] = { 0 }, out[100], ikm[22];
    uint8_t one[48], part[100];

    memset(ikm, 0x0b, sizeof ikm);
    /* RFC 5869 §2.2: an absent salt is HashLen zeros. */
    CHECK_OK(pq3_hkdf_sha384_extract(prk, NULL, 0, ikm, sizeof ikm));
    CHECK_OK(pq3_hkdf_sha384_extract(prk2, zeros, sizeof zeros, ikm, sizeof ikm));
    CHECK(memcmp(prk, prk2, 48) == 0);

    /* The largest output is allowed; one byte more, or zero, is not. */
    CHECK_OK(pq3_hkdf_sha384_expand(big, PQ3_HKDF_MAX_OUT, prk, NULL, 0));
    CHECK_ERR(pq3_hkdf_sha384_expand(big, PQ3_HKDF_MAX_OUT + 1, prk, NULL, 0), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hkdf_sha384_expand(out, 0, prk, NULL, 0), PQ3_ERR_ARG);

    /* A shorter output is a prefix of a longer one (same info). */
    CHECK_OK(pq3_hkdf_sha384_expand(out, sizeof out, prk, (const uint8_t *)"info", 4));
    CHECK_OK(pq3_hkdf_sha384_expand(one, 32, prk, (const uint8_t *)"info", 4));
    CHECK(memcmp(one, out, 32) == 0);
    CHECK_OK(pq3_hkdf_sha384_expand(part, 97, prk, (const uint8_t *)"info", 4));
    CHECK(memcmp(part, out, 97) == 0);
    /* Different info, different keys. */
    CHECK_OK(pq3_hkdf_sha384_expand(one, 32, prk, (const uint8_t *)"infp", 4));
    CHECK(memcmp(one, out, 32) != 0);

    /* Argument errors change nothing. */
    memset(out, 0x5a, sizeof out);
    CHECK_ERR(pq3_hkdf_sha384_expand(NULL, 32, prk, NULL, 0), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hkdf_sha384_expand(out, 32, NULL, NULL, 0), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hkdf_sha384_expand(out, 32, prk, NULL, 3), PQ3_ERR_ARG);
    CHECK(out[0] == 0x5a && out[31] == 0x5a);
    CHECK_ERR(pq3_hkdf_sha384_extract(NULL, NULL, 0, ikm, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hkdf_sha384_extract(prk, NULL, 1, ikm, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hkdf_sha384_extract(prk, NULL, 0, NULL, 1), PQ3_ERR_ARG);
    CHECK_OK(pq3_hkdf_sha384_extract(prk, NULL, 0, NULL, 0));
}

int main(void)
{
    test_bounds_and_args();
    test_wycheproof();
    return pq3t_finish();
}
