/* Differential test against the npm package @noble/post-quantum: for 1,000
 * seeds (d, z, m) per parameter set, our keypair_derand, encaps_derand and
 * decaps outputs, a tampered ciphertext with our implicit-rejection key, and
 * an ek we reject for its modulus are sent to tests/interop/mlkem_diff.mjs,
 * which recomputes everything with noble and reports disagreements. Skips
 * (exit 77) when node or the npm package is not installed. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pq3/mlkem.h"
#include "testutil.h"

#define CASES 1000

typedef struct {
    unsigned k;
    size_t ek_bytes, dk_bytes, ct_bytes;
    pq3_err (*keypair_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*encaps_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*decaps)(uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*check_ek)(const uint8_t *);
} kem_set;

static const kem_set sets[] = {
    { 3, PQ3_MLKEM768_EK_BYTES, PQ3_MLKEM768_DK_BYTES, PQ3_MLKEM768_CT_BYTES,
      pq3_mlkem768_keypair_derand, pq3_mlkem768_encaps_derand, pq3_mlkem768_decaps,
      pq3_mlkem768_check_ek },
    { 4, PQ3_MLKEM1024_EK_BYTES, PQ3_MLKEM1024_DK_BYTES, PQ3_MLKEM1024_CT_BYTES,
      pq3_mlkem1024_keypair_derand, pq3_mlkem1024_encaps_derand, pq3_mlkem1024_decaps,
      pq3_mlkem1024_check_ek },
};

static void put_hex(FILE *f, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    fputc(' ', f);
    for (size_t i = 0; i < n; i++) {
        fputc(digits[b[i] >> 4], f);
        fputc(digits[b[i] & 15], f);
    }
}

int main(void)
{
    const char *src = getenv("PQ3_SOURCE_DIR");
    char path[1024], cmd[2200];
    pq3t_drbg drbg;
    pq3_rng rng;
    FILE *node;
    int status;

    if (src == NULL)
        pq3t_skip("PQ3_SOURCE_DIR is not set");
    if (system("command -v node >/dev/null 2>&1") != 0)
        pq3t_skip("node is not installed (scripts/install-deps installs it)");
    snprintf(path, sizeof path, "%s/tests/interop/node_modules/@noble/post-quantum/package.json",
             src);
    if (access(path, R_OK) != 0)
        pq3t_skip("@noble/post-quantum is not installed: run npm install in tests/interop");
    snprintf(cmd, sizeof cmd, "cd '%s/tests/interop' && exec node mlkem_diff.mjs", src);
    signal(SIGPIPE, SIG_IGN); /* a node that dies early must fail the test, not kill it */
    node = popen(cmd, "w");
    if (node == NULL)
        pq3t_skip("cannot start node");

    pq3t_drbg_init(&drbg, "mlkem-noble", 0);
    rng = pq3t_drbg_rng(&drbg);
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        const kem_set *ks = &sets[s];
        uint8_t *ek = malloc(ks->ek_bytes), *dk = malloc(ks->dk_bytes);
        uint8_t *ct = malloc(ks->ct_bytes), *ct2 = malloc(ks->ct_bytes), *badek = malloc(ks->ek_bytes);
        for (int i = 0; i < CASES; i++) {
            uint8_t d[32], z[32], m[32], ss[32], ss2[32], ss3[32], pick[4];
            size_t pos, coeff;
            CHECK_OK(pq3_random(&rng, d, 32));
            CHECK_OK(pq3_random(&rng, z, 32));
            CHECK_OK(pq3_random(&rng, m, 32));
            CHECK_OK(pq3_random(&rng, pick, 4));
            CHECK_OK(ks->keypair_derand(ek, dk, d, z));
            CHECK_OK(ks->encaps_derand(ct, ss, ek, m));
            CHECK_OK(ks->decaps(ss3, ct, dk));
            CHECK(memcmp(ss, ss3, 32) == 0);
            /* Flip one bit somewhere in the ciphertext. */
            memcpy(ct2, ct, ks->ct_bytes);
            pos = ((size_t)pick[0] << 8 | pick[1]) % ks->ct_bytes;
            ct2[pos] ^= (uint8_t)(1u << (pick[2] & 7));
            CHECK_OK(ks->decaps(ss2, ct2, dk));
            CHECK(memcmp(ss2, ss, 32) != 0);
            /* Raise one coefficient of t to a value in q..4095. */
            memcpy(badek, ek, ks->ek_bytes);
            coeff = ((size_t)pick[1] << 8 | pick[3]) % (256 * ks->k);
            {
                unsigned v = 3329u + (pick[3] % (4096u - 3329u));
                uint8_t *b = badek + 3 * (coeff / 2);
                if (coeff % 2 == 0) {
                    b[0] = (uint8_t)v;
                    b[1] = (uint8_t)((b[1] & 0xF0) | (v >> 8));
                } else {
                    b[1] = (uint8_t)((b[1] & 0x0F) | ((v & 0x0F) << 4));
                    b[2] = (uint8_t)(v >> 4);
                }
            }
            CHECK_ERR(ks->check_ek(badek), PQ3_ERR_KEY);
            fprintf(node, "%u", ks->k);
            put_hex(node, d, 32);
            put_hex(node, z, 32);
            put_hex(node, m, 32);
            put_hex(node, ek, ks->ek_bytes);
            put_hex(node, dk, ks->dk_bytes);
            put_hex(node, ct, ks->ct_bytes);
            put_hex(node, ss, 32);
            put_hex(node, ct2, ks->ct_bytes);
            put_hex(node, ss2, 32);
            put_hex(node, badek, ks->ek_bytes);
            fputc('\n', node);
        }
        free(ek); free(dk); free(ct); free(ct2); free(badek);
    }
    fflush(stdout);
    status = pclose(node);
    CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "node mlkem_diff.mjs reported disagreement or failed (status %d)", status);
    return pq3t_finish();
}
