/* Constant-time check (valgrind) of ML-KEM-768 and ML-KEM-1024: d, z, m
 * and the secret part of dk (dk_pke and z) are marked undefined, so any
 * branch, memory index or variable-time division depending on them, in
 * keygen, encaps or decaps (valid and tampered ciphertexts), is a valgrind
 * error. Outputs are marked public exactly where they are revealed: ek, the
 * public half of dk, and the ciphertext. Shared secrets stay secret until
 * the test itself compares them. */
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "pq3/mlkem.h"
#include "testutil.h"

typedef struct {
    size_t ek_bytes, dk_bytes, ct_bytes;
    pq3_err (*keypair_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*encaps_derand)(uint8_t *, uint8_t *, const uint8_t *, const uint8_t *);
    pq3_err (*decaps)(uint8_t *, const uint8_t *, const uint8_t *);
} kem_set;

static const kem_set sets[] = {
    { PQ3_MLKEM768_EK_BYTES, PQ3_MLKEM768_DK_BYTES, PQ3_MLKEM768_CT_BYTES,
      pq3_mlkem768_keypair_derand, pq3_mlkem768_encaps_derand, pq3_mlkem768_decaps },
    { PQ3_MLKEM1024_EK_BYTES, PQ3_MLKEM1024_DK_BYTES, PQ3_MLKEM1024_CT_BYTES,
      pq3_mlkem1024_keypair_derand, pq3_mlkem1024_encaps_derand, pq3_mlkem1024_decaps },
};

static void run(const kem_set *s)
{
    uint8_t *ek = malloc(s->ek_bytes), *dk = malloc(s->dk_bytes), *ct = malloc(s->ct_bytes);
    uint8_t d[32], z[32], m[32], k[32], k2[32], kr[32];
    const size_t pke = s->dk_bytes - s->ek_bytes - 64;
    pq3_err err;

    for (unsigned i = 0; i < 32; i++) {
        d[i] = (uint8_t)(i * 7 + 1);
        z[i] = (uint8_t)(i * 11 + 2);
        m[i] = (uint8_t)(i * 13 + 3);
    }
    CT_SECRET(d, sizeof d);
    CT_SECRET(z, sizeof z);
    CT_SECRET(m, sizeof m);

    /* KeyGen: ek and the ek || H(ek) half of dk are published. */
    err = s->keypair_derand(ek, dk, d, z);
    CT_PUBLIC(&err, sizeof err);
    CHECK_OK(err);
    CT_PUBLIC(ek, s->ek_bytes);
    CT_PUBLIC(dk + pke, s->ek_bytes + 32);
    CT_SECRET(dk, pke);                          /* dk_pke */
    CT_SECRET(dk + s->dk_bytes - 32, 32);        /* z */

    /* Encaps: the ciphertext is sent, K stays secret. */
    err = s->encaps_derand(ct, k, ek, m);
    CT_PUBLIC(&err, sizeof err);
    CHECK_OK(err);
    CT_PUBLIC(ct, s->ct_bytes);

    /* Decaps of the genuine ciphertext. */
    err = s->decaps(k2, ct, dk);
    CT_PUBLIC(&err, sizeof err);
    CHECK_OK(err);

    /* Decaps of a tampered one: the implicit-rejection path must look the
     * same from outside. */
    ct[17] ^= 0x40;
    err = s->decaps(kr, ct, dk);
    CT_PUBLIC(&err, sizeof err);
    CHECK_OK(err);

    /* The test reveals the keys only to compare them. */
    CT_PUBLIC(k, sizeof k);
    CT_PUBLIC(k2, sizeof k2);
    CT_PUBLIC(kr, sizeof kr);
    CHECK(memcmp(k, k2, 32) == 0);
    CHECK(memcmp(k, kr, 32) != 0);
    free(ek);
    free(dk);
    free(ct);
}

int main(void)
{
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        run(&sets[i]);
    return pq3t_finish();
}
