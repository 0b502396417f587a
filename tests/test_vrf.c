/* Tests for src/transparency/vrf.c: RFC 9381 Appendix B.1 (examples 10-12,
 * ECVRF-P256-SHA256-TAI) with the intermediates H, k, U, V, every single-bit
 * change of each proof, wrong inputs, invalid keys and proof encodings, and
 * round trips over many keys and inputs.
 *
 * The vectors are read in place from $PQ3_VECTORS_DIR/kt/vrf/. Without them
 * every other check still runs, and the test then reports itself skipped
 * (exit 77) unless something failed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pq3/vrf.h"
#include "testutil.h"
#include "transparency/vrf.h"

#define N_HEX "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
#define P_HEX "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"

static const char *missing_vectors; /* why the vector part did not run */

static int is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* The path of a vector file, or NULL (and the reason noted) when absent. */
static const char *vector_file(const char *rel)
{
    static char path[4096], why[4200];
    struct stat st;
    const char *dir = getenv("PQ3_VECTORS_DIR");
    if (dir == NULL || *dir == '\0') {
        missing_vectors = "PQ3_VECTORS_DIR is not set";
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (stat(path, &st) != 0) {
        snprintf(why, sizeof why, "test vectors absent: %s (%s)", path, strerror(errno));
        missing_vectors = why;
        return NULL;
    }
    return path;
}

/* Every way of getting pi wrong must fail, with a decoding error or a
 * verification error, and leave beta zeroed. */
static void check_rejected(const uint8_t pk[33], const uint8_t *alpha, size_t alpha_len,
                           const uint8_t pi[81], const char *what)
{
    uint8_t beta[32];
    pq3_err e;
    memset(beta, 0xAA, sizeof beta);
    e = pq3_vrf_verify(beta, pk, alpha, alpha_len, pi);
    CHECKF(e == PQ3_ERR_VERIFY || e == PQ3_ERR_DECODE, "%s: verify returned %d", what, e);
    CHECKF(is_zero(beta, 32), "%s: beta not wiped", what);
}

/* ---- RFC 9381 Appendix B.1 ---------------------------------------------------- */

static void test_vectors(void)
{
    const char *path = vector_file("kt/vrf/ecvrf-p256-sha256-tai.json");
    cJSON *root;
    const cJSON *vec;
    uint8_t pks[3][33];
    size_t count = 0;

    if (path == NULL)
        return;
    if ((root = pq3t_load_json(path)) == NULL)
        return;
    cJSON_ArrayForEach(vec, cJSON_GetObjectItemCaseSensitive(root, "vectors"))
    {
        uint8_t sk[32], pk[33], want_pk[33], h[33], k[32], u[33], v[33], pi[81], want_pi[81];
        uint8_t beta[32], want_beta[32], flipped[81];
        const cJSON *ctr = cJSON_GetObjectItemCaseSensitive(vec, "encode_to_curve_ctr");
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(vec, "rfc9381_example");
        size_t alpha_len = 0;
        uint8_t *alpha = pq3t_unhex(pq3t_json_str(vec, "alpha_hex"), &alpha_len);
        pq3_vrf_trace tp, tv;
        int n = cJSON_IsNumber(ex) ? ex->valueint : -1;
        unsigned flips_rejected = 0;

        CHECK(alpha != NULL);
        CHECK(pq3t_unhex_into(sk, 32, pq3t_json_str(vec, "SK")));
        CHECK(pq3t_unhex_into(want_pk, 33, pq3t_json_str(vec, "PK")));
        CHECK(pq3t_unhex_into(h, 33, pq3t_json_str(vec, "H")));
        CHECK(pq3t_unhex_into(k, 32, pq3t_json_str(vec, "k")));
        CHECK(pq3t_unhex_into(u, 33, pq3t_json_str(vec, "U")));
        CHECK(pq3t_unhex_into(v, 33, pq3t_json_str(vec, "V")));
        CHECK(pq3t_unhex_into(want_pi, 81, pq3t_json_str(vec, "pi")));
        CHECK(pq3t_unhex_into(want_beta, 32, pq3t_json_str(vec, "beta")));
        CHECK(alpha_len == strlen(pq3t_json_str(vec, "alpha_ascii")));
        if (alpha == NULL)
            continue;

        /* Key, proof and intermediates. */
        CHECK_OK(pq3_vrf_public(pk, sk));
        CHECKF(memcmp(pk, want_pk, 33) == 0, "example %d: PK", n);
        CHECK_OK(pq3_vrf_prove_traced(pi, sk, alpha, alpha_len, &tp));
        CHECKF(memcmp(tp.h, h, 33) == 0, "example %d: H", n);
        CHECKF(cJSON_IsNumber(ctr) && tp.ctr == (unsigned)ctr->valueint,
               "example %d: encode_to_curve ctr %u", n, tp.ctr);
        CHECKF(memcmp(tp.k, k, 32) == 0, "example %d: k", n);
        CHECKF(memcmp(tp.u, u, 33) == 0, "example %d: U", n);
        CHECKF(memcmp(tp.v, v, 33) == 0, "example %d: V", n);
        CHECKF(memcmp(pi, want_pi, 81) == 0, "example %d: pi", n);
        pq3_wipe(&tp, sizeof tp);
        CHECK_OK(pq3_vrf_prove(pi, sk, alpha, alpha_len));
        CHECK(memcmp(pi, want_pi, 81) == 0);

        /* Verification recomputes the same H, U, V and gives beta. */
        CHECK_OK(pq3_vrf_verify_traced(beta, want_pk, alpha, alpha_len, want_pi, &tv));
        CHECKF(memcmp(beta, want_beta, 32) == 0, "example %d: beta", n);
        CHECK(memcmp(tv.h, h, 33) == 0 && memcmp(tv.u, u, 33) == 0 && memcmp(tv.v, v, 33) == 0);
        CHECK(is_zero(tv.k, 32));
        CHECK_OK(pq3_vrf_verify(beta, want_pk, alpha, alpha_len, want_pi));
        CHECK(memcmp(beta, want_beta, 32) == 0);
        memset(beta, 0, sizeof beta);
        CHECK_OK(pq3_vrf_proof_to_hash(beta, want_pi));
        CHECK(memcmp(beta, want_beta, 32) == 0);

        /* Every single-bit change of pi is refused. */
        for (size_t bit = 0; bit < 81 * 8; bit++) {
            uint8_t b2[32];
            pq3_err e;
            memcpy(flipped, want_pi, 81);
            flipped[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            e = pq3_vrf_verify(b2, want_pk, alpha, alpha_len, flipped);
            if (e == PQ3_ERR_VERIFY || e == PQ3_ERR_DECODE)
                flips_rejected++;
            else
                CHECKF(0, "example %d: bit %zu of pi flipped: verify returned %d", n, bit, e);
        }
        CHECKF(flips_rejected == 81 * 8, "example %d: %u of 648 flips rejected", n,
               flips_rejected);

        /* A wrong alpha: one byte changed, one more byte, one byte fewer,
         * empty. */
        {
            uint8_t *a2 = malloc(alpha_len + 1);
            CHECK(a2 != NULL);
            if (a2 != NULL) {
                memcpy(a2, alpha, alpha_len);
                a2[0] ^= 1;
                check_rejected(want_pk, a2, alpha_len, want_pi, "alpha changed");
                a2[0] ^= 1;
                a2[alpha_len] = 0;
                check_rejected(want_pk, a2, alpha_len + 1, want_pi, "alpha extended");
                check_rejected(want_pk, a2, alpha_len - 1, want_pi, "alpha truncated");
                check_rejected(want_pk, NULL, 0, want_pi, "alpha empty");
                free(a2);
            }
        }
        if (count < 3)
            memcpy(pks[count], want_pk, 33);
        count++;
        free(alpha);
        pq3_wipe(sk, sizeof sk);
    }
    CHECKF(count == 3, "%zu vectors, expected 3", count);

    /* A proof under the other key of the file (examples 10/11 and 12 use
     * different keys) is refused. */
    if (count == 3) {
        uint8_t pi[81];
        const cJSON *v12 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "vectors"), 2);
        CHECK(memcmp(pks[0], pks[2], 33) != 0);
        CHECK(pq3t_unhex_into(pi, 81, pq3t_json_str(v12, "pi")));
        check_rejected(pks[0], (const uint8_t *)pq3t_json_str(v12, "alpha_ascii"),
                       strlen(pq3t_json_str(v12, "alpha_ascii")), pi, "wrong pk");
    }
    cJSON_Delete(root);
}

/* ---- invalid keys and proof encodings ------------------------------------------- */

/* A key, an alpha and its proof made here, for the encoding tests. */
static void make_proof(uint8_t sk[32], uint8_t pk[33], uint8_t pi[81], const char *alpha)
{
    pq3t_drbg d;
    pq3_rng rng;
    pq3t_drbg_init(&d, "vrf encoding", 0);
    rng = pq3t_drbg_rng(&d);
    CHECK_OK(pq3_vrf_keypair(sk, pk, &rng));
    CHECK_OK(pq3_vrf_prove(pi, sk, (const uint8_t *)alpha, strlen(alpha)));
}

static void test_encodings(void)
{
    static const char alpha[] = "alice@example.org";
    const uint8_t *a = (const uint8_t *)alpha;
    const size_t alen = sizeof alpha - 1;
    uint8_t sk[32], pk[33], pi[81], bad[81], badpk[33], beta[32], n[32], p[32];
    int found;

    make_proof(sk, pk, pi, alpha);
    CHECK(pq3t_unhex_into(n, 32, N_HEX));
    CHECK(pq3t_unhex_into(p, 32, P_HEX));
    CHECK_OK(pq3_vrf_verify(beta, pk, a, alen, pi));

    /* The public key: a bad prefix, x >= p, x off the curve. */
    memcpy(badpk, pk, 33);
    for (int prefix = 0; prefix < 256; prefix++) {
        if (prefix == 2 || prefix == 3)
            continue;
        badpk[0] = (uint8_t)prefix;
        CHECK_ERR(pq3_vrf_verify(beta, badpk, a, alen, pi), PQ3_ERR_KEY);
    }
    badpk[0] = 0x02;
    memcpy(badpk + 1, p, 32);
    CHECK_ERR(pq3_vrf_verify(beta, badpk, a, alen, pi), PQ3_ERR_KEY);
    memset(badpk + 1, 0xff, 32);
    CHECK_ERR(pq3_vrf_verify(beta, badpk, a, alen, pi), PQ3_ERR_KEY);
    /* An x with no point: about half of all x; x = 0..15 contain some. */
    found = 0;
    for (uint8_t x = 0; x < 16; x++) {
        uint8_t sqrt_out[32];
        memset(badpk + 1, 0, 32);
        badpk[32] = x;
        if (pq3_vrf_verify(sqrt_out, badpk, a, alen, pi) == PQ3_ERR_KEY)
            found++;
    }
    CHECKF(found > 0, "no off-curve x among 0..15");
    /* The same key with the other y: a valid key, but not the signer's. */
    memcpy(badpk, pk, 33);
    badpk[0] ^= 1;
    CHECK_ERR(pq3_vrf_verify(beta, badpk, a, alen, pi), PQ3_ERR_VERIFY);
    CHECK(is_zero(beta, 32));

    /* Gamma: the identity's SEC1 encoding (0x00), zero-padded to 33 bytes,
     * and every other bad prefix. */
    memcpy(bad, pi, 81);
    memset(bad, 0, 33);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_vrf_proof_to_hash(beta, bad), PQ3_ERR_DECODE);
    CHECK(is_zero(beta, 32));
    memcpy(bad, pi, 81);
    for (int prefix = 0; prefix < 256; prefix++) {
        if (prefix == 2 || prefix == 3)
            continue;
        bad[0] = (uint8_t)prefix;
        CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_DECODE);
        CHECK_ERR(pq3_vrf_proof_to_hash(beta, bad), PQ3_ERR_DECODE);
    }
    /* Gamma with x >= p. */
    memcpy(bad, pi, 81);
    memcpy(bad + 1, p, 32);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_vrf_proof_to_hash(beta, bad), PQ3_ERR_DECODE);

    /* s = q, s = q + 1, s = 2^256 - 1: decoding fails; s = q - 1 decodes
     * and fails verification. */
    memcpy(bad, pi, 81);
    memcpy(bad + 49, n, 32);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_vrf_proof_to_hash(beta, bad), PQ3_ERR_DECODE);
    bad[80] = (uint8_t)(n[31] + 1);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_DECODE);
    memset(bad + 49, 0xff, 32);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_DECODE);
    memcpy(bad + 49, n, 32);
    bad[80] = (uint8_t)(n[31] - 1);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_VERIFY);
    CHECK_OK(pq3_vrf_proof_to_hash(beta, bad)); /* decodes: hence "verified proofs only" */

    /* c = 0 (then -c = 0 internally) and s = 0: decodes, fails. */
    memcpy(bad, pi, 81);
    memset(bad + 33, 0, 16);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_VERIFY);
    memcpy(bad, pi, 81);
    memset(bad + 49, 0, 32);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_VERIFY);

    /* The key holder's degenerate proof: c = 1, s = x makes U = x·B - Y and
     * V = x·H - Gamma both the identity. Refused (no honest proof has them),
     * and it would give the same beta anyway. */
    memcpy(bad, pi, 33);
    memset(bad + 33, 0, 16);
    bad[48] = 1;
    memcpy(bad + 49, sk, 32);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, bad), PQ3_ERR_VERIFY);
    pq3_wipe(bad, sizeof bad);

    /* Secret keys out of range. */
    {
        uint8_t zero[32] = { 0 }, out[81];
        memset(out, 0xAA, sizeof out);
        CHECK_ERR(pq3_vrf_prove(out, zero, a, alen), PQ3_ERR_KEY);
        CHECK(is_zero(out, 81));
        CHECK_ERR(pq3_vrf_prove(out, n, a, alen), PQ3_ERR_KEY);
        CHECK_ERR(pq3_vrf_public(badpk, n), PQ3_ERR_KEY);
        CHECK(is_zero(badpk, 33));
        memset(out, 0xff, 32);
        CHECK_ERR(pq3_vrf_public(badpk, out), PQ3_ERR_KEY);
        /* q - 1 is the largest valid scalar. */
        memcpy(out, n, 32);
        out[31]--;
        CHECK_OK(pq3_vrf_public(badpk, out));
        CHECK_OK(pq3_vrf_prove(bad, out, a, alen));
        CHECK_OK(pq3_vrf_verify(beta, badpk, a, alen, bad));
    }

    /* Arguments. */
    CHECK_ERR(pq3_vrf_prove(NULL, sk, a, alen), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_prove(bad, NULL, a, alen), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_prove(bad, sk, NULL, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_verify(NULL, pk, a, alen, pi), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_verify(beta, NULL, a, alen, pi), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_verify(beta, pk, NULL, 1, pi), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_verify(beta, pk, a, alen, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_proof_to_hash(NULL, pi), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_proof_to_hash(beta, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_public(NULL, sk), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_public(pk, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_keypair(NULL, pk, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_vrf_keypair(sk, NULL, NULL), PQ3_ERR_ARG);

    /* A failing random source: the error comes back, nothing is left. */
    {
        pq3_rng fail = pq3t_failing_rng();
        memset(sk, 0xAA, sizeof sk);
        memset(badpk, 0xAA, sizeof badpk);
        CHECK_ERR(pq3_vrf_keypair(sk, badpk, &fail), PQ3_ERR_RNG);
        CHECK(is_zero(sk, 32) && is_zero(badpk, 33));
    }
    /* The system generator works too. */
    CHECK_OK(pq3_vrf_keypair(sk, badpk, NULL));
    CHECK_OK(pq3_vrf_prove(bad, sk, NULL, 0));
    CHECK_OK(pq3_vrf_verify(beta, badpk, NULL, 0, bad));
    pq3_wipe(sk, sizeof sk);
}

/* ---- round trips ------------------------------------------------------------------ */

static void test_round_trips(void)
{
    enum { KEYS = 64, ALPHAS = 8 };
    pq3t_drbg d;
    pq3_rng rng;
    uint8_t prev_pk[33] = { 0 }, prev_pi[81] = { 0 }, prev_alpha[200];
    size_t prev_len = 0;
    unsigned ok = 0, total = 0;

    pq3t_drbg_init(&d, "vrf round trips", 0);
    rng = pq3t_drbg_rng(&d);
    for (int i = 0; i < KEYS; i++) {
        uint8_t sk[32], pk[33];
        CHECK_OK(pq3_vrf_keypair(sk, pk, &rng));
        for (int j = 0; j < ALPHAS; j++) {
            uint8_t alpha[200], pi[81], pi2[81], beta[32], beta2[32], other[32];
            uint8_t len_byte;
            size_t len;
            pq3_vrf_trace tp, tv;
            CHECK_OK(pq3_random(&rng, &len_byte, 1));
            len = j == 0 ? 0 : (size_t)len_byte % sizeof alpha;
            CHECK_OK(pq3_random(&rng, alpha, sizeof alpha));

            total++;
            CHECK_OK(pq3_vrf_prove_traced(pi, sk, alpha, len, &tp));
            CHECK_OK(pq3_vrf_prove(pi2, sk, alpha, len));
            CHECK(memcmp(pi, pi2, 81) == 0); /* deterministic */
            if (pq3_vrf_verify_traced(beta, pk, alpha, len, pi, &tv) == PQ3_OK)
                ok++;
            CHECK(memcmp(tp.h, tv.h, 33) == 0 && tp.ctr == tv.ctr &&
                  memcmp(tp.u, tv.u, 33) == 0 && memcmp(tp.v, tv.v, 33) == 0);
            pq3_wipe(&tp, sizeof tp);
            CHECK_OK(pq3_vrf_proof_to_hash(beta2, pi));
            CHECK(memcmp(beta, beta2, 32) == 0);
            /* The previous key, proof or alpha: refused. */
            if (total > 1) {
                if (memcmp(prev_pk, pk, 33) != 0)
                    CHECK_ERR(pq3_vrf_verify(other, prev_pk, alpha, len, pi), PQ3_ERR_VERIFY);
                if (memcmp(prev_pi, pi, 81) != 0)
                    CHECK_ERR(pq3_vrf_verify(other, pk, alpha, len, prev_pi), PQ3_ERR_VERIFY);
                if (prev_len != len || memcmp(prev_alpha, alpha, len) != 0)
                    CHECK_ERR(pq3_vrf_verify(other, pk, prev_alpha, prev_len, pi),
                              PQ3_ERR_VERIFY);
            }
            memcpy(prev_pk, pk, 33);
            memcpy(prev_pi, pi, 81);
            memcpy(prev_alpha, alpha, sizeof alpha);
            prev_len = len;
        }
        pq3_wipe(sk, sizeof sk);
    }
    CHECKF(ok == total, "%u of %u round trips verified", ok, total);
}

/* Distinct alphas under one key give distinct, well-spread betas: a
 * sanity check that beta depends on alpha at all. */
static void test_outputs_differ(void)
{
    uint8_t sk[32], pk[33], pi[81], betas[64][32];
    pq3t_drbg d;
    pq3_rng rng;
    int dup = 0;

    pq3t_drbg_init(&d, "vrf outputs", 0);
    rng = pq3t_drbg_rng(&d);
    CHECK_OK(pq3_vrf_keypair(sk, pk, &rng));
    for (int i = 0; i < 64; i++) {
        uint8_t alpha[4] = { 'u', 's', 'r', (uint8_t)i };
        CHECK_OK(pq3_vrf_prove(pi, sk, alpha, sizeof alpha));
        CHECK_OK(pq3_vrf_verify(betas[i], pk, alpha, sizeof alpha, pi));
        for (int j = 0; j < i; j++)
            dup |= memcmp(betas[i], betas[j], 32) == 0;
    }
    CHECK(!dup);
    pq3_wipe(sk, sizeof sk);
}

int main(void)
{
    test_vectors();
    test_encodings();
    test_round_trips();
    test_outputs_differ();
    if (missing_vectors != NULL && pq3t_failures == 0) {
        printf("test_vrf: %lu checks passed without the RFC 9381 vectors\n", pq3t_checks);
        pq3t_skip("%s", missing_vectors);
    }
    return pq3t_finish();
}
