/* NIST ACVP known-answer tests for ML-KEM-768 and ML-KEM-1024 (FIPS 203):
 * keyGen (KeyGen_internal), encapsulation (Encaps_internal), decapsulation
 * (including modified ciphertexts: implicit rejection), and the §7.2 / §7.3
 * key checks. Every test case of both parameter sets is run; the
 * ML-KEM-512 groups are counted and left out (the library does not offer
 * ML-KEM-512). */
#include <stdlib.h>
#include <string.h>

#include "pq3/mlkem.h"
#include "testutil.h"

typedef struct {
    const char *name;
    size_t ek_bytes, dk_bytes, ct_bytes;
    pq3_err (*keypair_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*encaps_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*decaps)(uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*check_ek)(const uint8_t *);
    pq3_err (*check_dk)(const uint8_t *);
} kem_set;

static const kem_set sets[] = {
    { "ML-KEM-768", PQ3_MLKEM768_EK_BYTES, PQ3_MLKEM768_DK_BYTES, PQ3_MLKEM768_CT_BYTES,
      pq3_mlkem768_keypair_derand, pq3_mlkem768_encaps_derand, pq3_mlkem768_decaps,
      pq3_mlkem768_check_ek, pq3_mlkem768_check_dk },
    { "ML-KEM-1024", PQ3_MLKEM1024_EK_BYTES, PQ3_MLKEM1024_DK_BYTES, PQ3_MLKEM1024_CT_BYTES,
      pq3_mlkem1024_keypair_derand, pq3_mlkem1024_encaps_derand, pq3_mlkem1024_decaps,
      pq3_mlkem1024_check_ek, pq3_mlkem1024_check_dk },
};

static unsigned long ran, skipped512;

static const kem_set *find_set(const char *name)
{
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (strcmp(sets[i].name, name) == 0)
            return &sets[i];
    return NULL;
}

/* A hex field decoded; NULL (and a failure) when it is missing or bad. */
static uint8_t *field(const cJSON *tc, const char *key, size_t *len)
{
    const char *hex = pq3t_json_str(tc, key);
    uint8_t *b = hex != NULL ? pq3t_unhex(hex, len) : NULL;
    CHECKF(b != NULL, "field %s", key);
    return b;
}

static void run_keygen(const kem_set *s, const cJSON *tc, int id)
{
    size_t dl, zl, ekl, dkl;
    uint8_t *d = field(tc, "d", &dl), *z = field(tc, "z", &zl);
    uint8_t *ek = field(tc, "ek", &ekl), *dk = field(tc, "dk", &dkl);
    if (d && z && ek && dk && dl == 32 && zl == 32 && ekl == s->ek_bytes && dkl == s->dk_bytes) {
        uint8_t *oek = malloc(s->ek_bytes), *odk = malloc(s->dk_bytes);
        CHECK_OK(s->keypair_derand(oek, odk, d, z));
        CHECKF(memcmp(oek, ek, ekl) == 0, "%s keyGen tcId %d: ek", s->name, id);
        CHECKF(memcmp(odk, dk, dkl) == 0, "%s keyGen tcId %d: dk", s->name, id);
        free(oek);
        free(odk);
        ran++;
    } else {
        CHECKF(0, "%s keyGen tcId %d: bad sizes", s->name, id);
    }
    free(d); free(z); free(ek); free(dk);
}

static void run_encaps(const kem_set *s, const cJSON *tc, int id)
{
    size_t ekl, ml, cl, kl;
    uint8_t *ek = field(tc, "ek", &ekl), *m = field(tc, "m", &ml);
    uint8_t *c = field(tc, "c", &cl), *k = field(tc, "k", &kl);
    if (ek && m && c && k && ekl == s->ek_bytes && ml == 32 && cl == s->ct_bytes && kl == 32) {
        uint8_t *oc = malloc(s->ct_bytes), ok[32];
        CHECK_OK(s->encaps_derand(oc, ok, ek, m));
        CHECKF(memcmp(oc, c, cl) == 0, "%s encapsulation tcId %d: c", s->name, id);
        CHECKF(memcmp(ok, k, 32) == 0, "%s encapsulation tcId %d: k", s->name, id);
        free(oc);
        ran++;
    } else {
        CHECKF(0, "%s encapsulation tcId %d: bad sizes", s->name, id);
    }
    free(ek); free(m); free(c); free(k);
}

static void run_decaps(const kem_set *s, const cJSON *tc, int id)
{
    size_t dkl, cl, kl;
    uint8_t *dk = field(tc, "dk", &dkl), *c = field(tc, "c", &cl), *k = field(tc, "k", &kl);
    if (dk && c && k && dkl == s->dk_bytes && cl == s->ct_bytes && kl == 32) {
        uint8_t ok[32];
        CHECK_OK(s->decaps(ok, c, dk));
        CHECKF(memcmp(ok, k, 32) == 0, "%s decapsulation tcId %d (%s): k", s->name, id,
               pq3t_json_str(tc, "reason"));
        ran++;
    } else {
        CHECKF(0, "%s decapsulation tcId %d: bad sizes", s->name, id);
    }
    free(dk); free(c); free(k);
}

/* The expected verdict includes the §7.2/§7.3 length checks: a key of the
 * wrong length cannot even be passed to the fixed-size API, so it counts
 * as rejected. */
static void run_keycheck(const kem_set *s, const cJSON *tc, int id, int is_ek)
{
    size_t len;
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(tc, "testPassed");
    uint8_t *key = field(tc, is_ek ? "ek" : "dk", &len);
    CHECKF(cJSON_IsBool(tp), "tcId %d: testPassed", id);
    if (key != NULL && cJSON_IsBool(tp)) {
        int expect = cJSON_IsTrue(tp);
        int got = 0;
        if (len == (is_ek ? s->ek_bytes : s->dk_bytes)) {
            pq3_err e = is_ek ? s->check_ek(key) : s->check_dk(key);
            CHECKF(e == PQ3_OK || e == PQ3_ERR_KEY, "tcId %d: error %d", id, e);
            got = e == PQ3_OK;
            if (is_ek && !got) {
                /* Encapsulation must refuse the same key. */
                uint8_t *oc = malloc(s->ct_bytes), ok[32], m[32] = { 1 };
                memset(oc, 0xAB, s->ct_bytes);
                memset(ok, 0xCD, sizeof ok);
                CHECK_ERR(s->encaps_derand(oc, ok, key, m), PQ3_ERR_KEY);
                CHECK(oc[0] == 0xAB && ok[0] == 0xCD);
                free(oc);
            }
            if (!is_ek && !got) {
                size_t cl = s->ct_bytes;
                uint8_t *c = calloc(1, cl), ok[32];
                memset(ok, 0xCD, sizeof ok);
                CHECK_ERR(s->decaps(ok, c, key), PQ3_ERR_KEY);
                CHECK(ok[0] == 0xCD && ok[31] == 0xCD);
                free(c);
            }
        }
        CHECKF(got == expect, "%s %sKeyCheck tcId %d (%s): got %d, expected %d", s->name,
               is_ek ? "encapsulation" : "decapsulation", id, pq3t_json_str(tc, "reason"), got,
               expect);
        ran++;
    }
    free(key);
}

static void run_file(const char *rel)
{
    cJSON *root = pq3t_load_json(pq3t_vector_path(rel));
    const cJSON *groups, *g;
    if (root == NULL)
        return;
    groups = cJSON_GetObjectItemCaseSensitive(root, "testGroups");
    CHECK(cJSON_IsArray(groups) && cJSON_GetArraySize(groups) > 0);
    cJSON_ArrayForEach(g, groups) {
        const char *ps = pq3t_json_str(g, "parameterSet");
        const char *fn = pq3t_json_str(g, "function");
        const kem_set *s = ps != NULL ? find_set(ps) : NULL;
        const cJSON *tests = cJSON_GetObjectItemCaseSensitive(g, "tests"), *tc;
        CHECK(ps != NULL && cJSON_IsArray(tests));
        if (s == NULL) {
            CHECKF(ps != NULL && strcmp(ps, "ML-KEM-512") == 0, "unknown set %s", ps);
            skipped512 += (unsigned long)cJSON_GetArraySize(tests);
            continue;
        }
        cJSON_ArrayForEach(tc, tests) {
            const cJSON *idj = cJSON_GetObjectItemCaseSensitive(tc, "tcId");
            int id = cJSON_IsNumber(idj) ? idj->valueint : -1;
            if (fn == NULL)
                run_keygen(s, tc, id);
            else if (strcmp(fn, "encapsulation") == 0)
                run_encaps(s, tc, id);
            else if (strcmp(fn, "decapsulation") == 0)
                run_decaps(s, tc, id);
            else if (strcmp(fn, "encapsulationKeyCheck") == 0)
                run_keycheck(s, tc, id, 1);
            else if (strcmp(fn, "decapsulationKeyCheck") == 0)
                run_keycheck(s, tc, id, 0);
            else
                CHECKF(0, "unknown function %s", fn);
        }
    }
    cJSON_Delete(root);
}

int main(void)
{
    run_file("mlkem/acvp/ML-KEM-keyGen-FIPS203/internalProjection.json");
    run_file("mlkem/acvp/ML-KEM-encapDecap-FIPS203/internalProjection.json");
    /* 50 keyGen + 50 encapsulation + 20 decapsulation + 40 key checks. */
    CHECKF(ran == 160, "ran %lu ACVP cases, expected 160", ran);
    printf("ACVP: %lu cases of ML-KEM-768/1024 run, %lu ML-KEM-512 cases not applicable\n", ran,
           skipped512);
    return pq3t_finish();
}
