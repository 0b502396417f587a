/* Tests for src/crypto/hmac.c: Wycheproof HMAC-SHA384 (with truncated
 * tags), RFC 4231 for SHA-384 and for the internal SHA-256 HMAC, message
 * parts, argument checks. */
#include <stdlib.h>
#include <string.h>

#include "crypto/md.h"
#include "pq3/crypto.h"
#include "testutil.h"

static void test_wycheproof(void)
{
    cJSON *root = pq3t_load_json(pq3t_vector_path("wycheproof/hmac_sha384_test.json"));
    const cJSON *group, *test;
    unsigned valid = 0, invalid = 0, other = 0;

    if (root == NULL)
        return;
    cJSON_ArrayForEach(group, cJSON_GetObjectItemCaseSensitive(root, "testGroups"))
    {
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(group, "tagSize");
        size_t tag_bytes = cJSON_IsNumber(ts) ? (size_t)ts->valueint / 8 : 0;
        CHECK(tag_bytes > 0 && tag_bytes <= PQ3_SHA384_BYTES);
        cJSON_ArrayForEach(test, cJSON_GetObjectItemCaseSensitive(group, "tests"))
        {
            const char *res = pq3t_json_str(test, "result");
            int id = cJSON_GetObjectItemCaseSensitive(test, "tcId")->valueint;
            size_t klen, mlen, tlen;
            uint8_t *key = pq3t_unhex(pq3t_json_str(test, "key"), &klen);
            uint8_t *msg = pq3t_unhex(pq3t_json_str(test, "msg"), &mlen);
            uint8_t *tag = pq3t_unhex(pq3t_json_str(test, "tag"), &tlen);
            uint8_t out[PQ3_SHA384_BYTES];
            int match;

            CHECKF(key && msg && tag, "tcId %d: bad hex", id);
            if (key && msg && tag) {
                CHECK_OK(pq3_hmac_sha384(out, key, klen, msg, mlen));
                /* A truncated tag is the leftmost tagSize bits (RFC 2104
                 * §5); a tag of another length never matches. */
                match = tlen == tag_bytes && memcmp(out, tag, tlen) == 0;
                if (strcmp(res, "valid") == 0) {
                    valid++;
                    CHECKF(match, "tcId %d: valid tag not reproduced", id);
                } else if (strcmp(res, "invalid") == 0) {
                    invalid++;
                    CHECKF(!match, "tcId %d: invalid tag matched", id);
                } else {
                    other++;
                }
            }
            free(key);
            free(msg);
            free(tag);
        }
    }
    CHECK(other == 0);
    CHECK(valid + invalid == 174);
    printf("wycheproof hmac_sha384: %u valid reproduced, %u invalid rejected, %u other\n",
           valid, invalid, other);
    cJSON_Delete(root);
}

/* RFC 4231 §4.2 (case 1), §4.4 (case 2), §4.7 (case 6, key longer than the
 * block: hashed first) and §4.8 (case 7). */
static void test_rfc4231(void)
{
    static const struct {
        const char *key_hex;   /* NULL: 131 bytes of 0xaa */
        const char *msg;
        const char *sha384, *sha256;
    } tc[] = {
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
          "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "4a656665", "what do ya want for nothing?",
          "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
          "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
        { NULL,
          "This is a test using a larger than block-size key and a larger than block-size data. "
          "The key needs to be hashed before being used by the HMAC algorithm.",
          "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
    };
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        uint8_t key[131], out[48], want384[48], want256[32];
        size_t klen = sizeof key;
        const uint8_t *msg = (const uint8_t *)tc[i].msg;
        size_t mlen = strlen(tc[i].msg);
        pq3_iov part = { msg, mlen };

        if (tc[i].key_hex != NULL) {
            uint8_t *k = pq3t_unhex(tc[i].key_hex, &klen);
            memcpy(key, k, klen);
            free(k);
        } else {
            memset(key, 0xaa, sizeof key);
        }
        CHECK(pq3t_unhex_into(want384, 48, tc[i].sha384));
        CHECK(pq3t_unhex_into(want256, 32, tc[i].sha256));
        CHECK_OK(pq3_hmac_sha384(out, key, klen, msg, mlen));
        CHECKF(memcmp(out, want384, 48) == 0, "RFC 4231 case %zu, SHA-384", i);
        CHECK_OK(pq3_hmac(NULL, pq3_md_sha256(), out, key, klen, &part, 1));
        CHECKF(memcmp(out, want256, 32) == 0, "RFC 4231 case %zu, SHA-256", i);

        /* The same message split into parts, through a reused context. */
        {
            EVP_MD_CTX *ctx = EVP_MD_CTX_new();
            pq3_iov parts[3] = { { msg, 3 }, { NULL, 0 }, { msg + 3, mlen - 3 } };
            CHECK(ctx != NULL);
            CHECK_OK(pq3_hmac(ctx, pq3_md_sha384(), out, key, klen, parts, 3));
            CHECK(memcmp(out, want384, 48) == 0);
            CHECK_OK(pq3_hmac(ctx, pq3_md_sha384(), out, key, klen, parts, 3));
            CHECK(memcmp(out, want384, 48) == 0);
            EVP_MD_CTX_free(ctx);
        }
    }
}

static void test_args(void)
{
    uint8_t out[48], key[16] = { 1 };
    pq3_iov bad = { NULL, 5 };

    /* An empty key and an empty message are legitimate. */
    CHECK_OK(pq3_hmac_sha384(out, NULL, 0, NULL, 0));
    CHECK_ERR(pq3_hmac_sha384(NULL, key, sizeof key, key, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hmac_sha384(out, NULL, 1, key, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hmac_sha384(out, key, sizeof key, NULL, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hmac(NULL, pq3_md_sha384(), out, key, sizeof key, &bad, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_hmac(NULL, NULL, out, key, sizeof key, NULL, 0), PQ3_ERR_CRYPTO);
}

int main(void)
{
    test_rfc4231();
    test_args();
    test_wycheproof();
    return pq3t_finish();
}
