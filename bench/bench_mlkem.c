/* ML-KEM-768 and ML-KEM-1024: median ticks and microseconds of keypair,
 * encaps and decaps (randomized API, as a caller uses it), plus the
 * Keccak-f[1600] permutation they are built on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "mlkem/keccak.h"
#include "pq3/mlkem.h"

typedef struct {
    uint8_t ek[PQ3_MLKEM1024_EK_BYTES], dk[PQ3_MLKEM1024_DK_BYTES];
    uint8_t ct[PQ3_MLKEM1024_CT_BYTES], ss[32], ss2[32];
} state;

static void kp768(void *a) { state *s = a; pq3b_require(pq3_mlkem768_keypair(s->ek, s->dk) == PQ3_OK, "keypair"); }
static void enc768(void *a) { state *s = a; pq3b_require(pq3_mlkem768_encaps(s->ct, s->ss, s->ek) == PQ3_OK, "encaps"); }
static void dec768(void *a) { state *s = a; pq3b_require(pq3_mlkem768_decaps(s->ss2, s->ct, s->dk) == PQ3_OK, "decaps"); }
static void kp1024(void *a) { state *s = a; pq3b_require(pq3_mlkem1024_keypair(s->ek, s->dk) == PQ3_OK, "keypair"); }
static void enc1024(void *a) { state *s = a; pq3b_require(pq3_mlkem1024_encaps(s->ct, s->ss, s->ek) == PQ3_OK, "encaps"); }
static void dec1024(void *a) { state *s = a; pq3b_require(pq3_mlkem1024_decaps(s->ss2, s->ct, s->dk) == PQ3_OK, "decaps"); }

static void perm(void *a) { pq3_keccak_f1600((uint64_t *)a); }

int main(int argc, char **argv)
{
    size_t iters = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2000;
    state *s = calloc(1, sizeof *s);
    uint64_t lanes[25] = { 0 };
    if (s == NULL || iters == 0)
        return 1;

    pq3b_header("ML-KEM (FIPS 203), median of runs");
    pq3b_row("ML-KEM-768 keypair", pq3b_measure(kp768, s, iters), NULL);
    pq3b_row("ML-KEM-768 encaps", pq3b_measure(enc768, s, iters), NULL);
    pq3b_row("ML-KEM-768 decaps", pq3b_measure(dec768, s, iters), NULL);
    pq3b_require(memcmp(s->ss, s->ss2, 32) == 0, "768 round trip");
    pq3b_row("ML-KEM-1024 keypair", pq3b_measure(kp1024, s, iters), NULL);
    pq3b_row("ML-KEM-1024 encaps", pq3b_measure(enc1024, s, iters), NULL);
    pq3b_row("ML-KEM-1024 decaps", pq3b_measure(dec1024, s, iters), NULL);
    pq3b_require(memcmp(s->ss, s->ss2, 32) == 0, "1024 round trip");
    pq3b_row("Keccak-f[1600] permutation", pq3b_measure(perm, lanes, iters * 10), NULL);
    free(s);
    return 0;
}
