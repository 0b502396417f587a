/*
 * ML-KEM-768 and ML-KEM-1024 (src/mlkem/): time per call of keypair, encaps
 * and decaps through the randomized API (as a caller uses it) and through
 * the deterministic _derand functions on fixed seeds (what other
 * implementations usually report, without the system generator), the §7.2
 * and §7.3 key checks, and the Keccak-f[1600] permutation they are built on.
 *
 * Each operation is timed in ROUNDS rounds of N calls (N = the argument,
 * default below; the cheap ones run SCALE_CHEAP times as many). Within a
 * round the operations take turns in blocks of BLOCK calls, and the rounds
 * follow each other, so a slow period of the machine hits every row alike.
 * A row gives the median, mean and p99 of all its calls, the spread of its
 * round medians ((max - min) / median, in %) and the p10-p90 spread of its
 * calls. A round spread above SPREAD_WARN_PCT gets a warning line: the
 * figure did not settle and the run should be repeated on a quieter machine.
 * A table, not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "mlkem/keccak.h"
#include "pq3/mlkem.h"

#define ROUNDS 5
#define BLOCK 50
#define SCALE_CHEAP 10
#define DEFAULT_N 12000
#define SPREAD_WARN_PCT 5.0

/* One parameter set's buffers: a fixed key pair and ciphertext from the
 * fixed seeds (decaps, check and encaps inputs), and outputs the timed
 * calls write into. */
typedef struct {
    uint8_t d[32], z[32], m[32];
    uint8_t ek[PQ3_MLKEM1024_EK_BYTES], dk[PQ3_MLKEM1024_DK_BYTES];
    uint8_t ct[PQ3_MLKEM1024_CT_BYTES], ss[32];
    uint8_t out_ek[PQ3_MLKEM1024_EK_BYTES], out_dk[PQ3_MLKEM1024_DK_BYTES];
    uint8_t out_ct[PQ3_MLKEM1024_CT_BYTES], out_ss[32];
} state;

static void kp768(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem768_keypair(s->out_ek, s->out_dk) == PQ3_OK, "768 keypair");
}
static void kpd768(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem768_keypair_derand(s->out_ek, s->out_dk, s->d, s->z) == PQ3_OK,
                 "768 keypair_derand");
}
static void enc768(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem768_encaps(s->out_ct, s->out_ss, s->ek) == PQ3_OK, "768 encaps");
}
static void encd768(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem768_encaps_derand(s->out_ct, s->out_ss, s->ek, s->m) == PQ3_OK,
                 "768 encaps_derand");
}
static void dec768(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem768_decaps(s->out_ss, s->ct, s->dk) == PQ3_OK, "768 decaps");
}
static void cek768(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem768_check_ek(s->ek) == PQ3_OK, "768 check_ek");
}
static void cdk768(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem768_check_dk(s->dk) == PQ3_OK, "768 check_dk");
}

static void kp1024(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem1024_keypair(s->out_ek, s->out_dk) == PQ3_OK, "1024 keypair");
}
static void kpd1024(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem1024_keypair_derand(s->out_ek, s->out_dk, s->d, s->z) == PQ3_OK,
                 "1024 keypair_derand");
}
static void enc1024(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem1024_encaps(s->out_ct, s->out_ss, s->ek) == PQ3_OK, "1024 encaps");
}
static void encd1024(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem1024_encaps_derand(s->out_ct, s->out_ss, s->ek, s->m) == PQ3_OK,
                 "1024 encaps_derand");
}
static void dec1024(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem1024_decaps(s->out_ss, s->ct, s->dk) == PQ3_OK, "1024 decaps");
}
static void cek1024(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem1024_check_ek(s->ek) == PQ3_OK, "1024 check_ek");
}
static void cdk1024(void *a)
{
    state *s = a;
    pq3b_require(pq3_mlkem1024_check_dk(s->dk) == PQ3_OK, "1024 check_dk");
}

static void perm(void *a) { pq3_keccak_f1600((uint64_t *)a); }

typedef struct {
    const char *name;
    void (*fn)(void *);
    void *arg;
    size_t scale;          /* calls per block, in units of BLOCK */
    pq3b_samples all;      /* round r holds samples [r * per_round, (r+1) * per_round) */
    size_t per_round;
} op;

/* Fixed seeds: d = 00..1f, z = 20..3f, m = 40..5f. */
static void seeds(state *s)
{
    for (unsigned i = 0; i < 32; i++) {
        s->d[i] = (uint8_t)i;
        s->z[i] = (uint8_t)(32 + i);
        s->m[i] = (uint8_t)(64 + i);
    }
}

static void print_load(const char *when)
{
    char buf[128] = "";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return;
    if (fgets(buf, sizeof buf, f) != NULL) {
        buf[strcspn(buf, "\n")] = '\0';
        printf("load average %s: %s\n", when, buf);
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* (max - min) / median of the round medians, in percent. */
static double round_spread(op *o)
{
    double med[ROUNDS];
    pq3b_samples r;
    pq3b_samples_init(&r, o->per_round);
    for (size_t i = 0; i < ROUNDS; i++) {
        r.n = 0;
        for (size_t j = i * o->per_round; j < (i + 1) * o->per_round; j++)
            pq3b_samples_add(&r, o->all.ticks[j], o->all.ns[j]);
        med[i] = pq3b_samples_result(&r).median_us;
    }
    pq3b_samples_free(&r);
    qsort(med, ROUNDS, sizeof med[0], cmp_double);
    return med[ROUNDS / 2] > 0 ? 100.0 * (med[ROUNDS - 1] - med[0]) / med[ROUNDS / 2] : 0;
}

static void time_block(op *o)
{
    for (size_t i = 0; i < o->scale * BLOCK; i++) {
        uint64_t n0 = pq3b_nanos(), t0 = pq3b_cycles();
        o->fn(o->arg);
        uint64_t t1 = pq3b_cycles(), n1 = pq3b_nanos();
        pq3b_samples_add(&o->all, t1 - t0, n1 - n0);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : DEFAULT_N;
    state *s768 = calloc(1, sizeof *s768), *s1024 = calloc(1, sizeof *s1024);
    uint64_t lanes[25] = { 0 };
    size_t blocks;
    int warned = 0;

    if (s768 == NULL || s1024 == NULL || n < BLOCK) {
        fprintf(stderr, "usage: bench_mlkem [calls per round, at least %d; default %d]\n",
                BLOCK, DEFAULT_N);
        return 1;
    }
    blocks = n / BLOCK;

    seeds(s768);
    seeds(s1024);
    pq3b_require(pq3_mlkem768_keypair_derand(s768->ek, s768->dk, s768->d, s768->z) == PQ3_OK,
                 "768 setup");
    pq3b_require(pq3_mlkem768_encaps_derand(s768->ct, s768->ss, s768->ek, s768->m) == PQ3_OK,
                 "768 setup");
    pq3b_require(pq3_mlkem1024_keypair_derand(s1024->ek, s1024->dk, s1024->d, s1024->z) ==
                     PQ3_OK,
                 "1024 setup");
    pq3b_require(pq3_mlkem1024_encaps_derand(s1024->ct, s1024->ss, s1024->ek, s1024->m) ==
                     PQ3_OK,
                 "1024 setup");

    op ops[] = {
        { "ML-KEM-768 keypair", kp768, s768, 1, { 0 }, 0 },
        { "ML-KEM-768 keypair_derand (fixed d, z)", kpd768, s768, 1, { 0 }, 0 },
        { "ML-KEM-768 encaps", enc768, s768, 1, { 0 }, 0 },
        { "ML-KEM-768 encaps_derand (fixed m)", encd768, s768, 1, { 0 }, 0 },
        { "ML-KEM-768 decaps", dec768, s768, 1, { 0 }, 0 },
        { "ML-KEM-768 check_ek (7.2)", cek768, s768, SCALE_CHEAP, { 0 }, 0 },
        { "ML-KEM-768 check_dk (7.3)", cdk768, s768, SCALE_CHEAP, { 0 }, 0 },
        { "ML-KEM-1024 keypair", kp1024, s1024, 1, { 0 }, 0 },
        { "ML-KEM-1024 keypair_derand (fixed d, z)", kpd1024, s1024, 1, { 0 }, 0 },
        { "ML-KEM-1024 encaps", enc1024, s1024, 1, { 0 }, 0 },
        { "ML-KEM-1024 encaps_derand (fixed m)", encd1024, s1024, 1, { 0 }, 0 },
        { "ML-KEM-1024 decaps", dec1024, s1024, 1, { 0 }, 0 },
        { "ML-KEM-1024 check_ek (7.2)", cek1024, s1024, SCALE_CHEAP, { 0 }, 0 },
        { "ML-KEM-1024 check_dk (7.3)", cdk1024, s1024, SCALE_CHEAP, { 0 }, 0 },
        { "Keccak-f[1600] permutation", perm, lanes, SCALE_CHEAP, { 0 }, 0 },
    };
    const size_t nops = sizeof ops / sizeof ops[0];

    printf("ML-KEM (FIPS 203): %d rounds of %zu calls per operation (x%d for the cheap "
           "ones), in turns of %d\n",
           ROUNDS, blocks * BLOCK, SCALE_CHEAP, BLOCK);
    print_load("before");

    /* Warm-up: one block of each, not counted. */
    for (size_t i = 0; i < nops; i++) {
        pq3b_samples_init(&ops[i].all, 1);
        time_block(&ops[i]);
        pq3b_samples_free(&ops[i].all);
        ops[i].per_round = blocks * BLOCK * ops[i].scale;
        pq3b_samples_init(&ops[i].all, ROUNDS * ops[i].per_round);
    }
    for (size_t r = 0; r < ROUNDS; r++)
        for (size_t b = 0; b < blocks; b++)
            for (size_t i = 0; i < nops; i++)
                time_block(&ops[i]);

    /* The timed calls ran on the fixed inputs: the round trips agree. */
    pq3b_require(pq3_mlkem768_decaps(s768->out_ss, s768->ct, s768->dk) == PQ3_OK &&
                     memcmp(s768->out_ss, s768->ss, 32) == 0,
                 "768 round trip");
    pq3b_require(pq3_mlkem1024_decaps(s1024->out_ss, s1024->ct, s1024->dk) == PQ3_OK &&
                     memcmp(s1024->out_ss, s1024->ss, 32) == 0,
                 "1024 round trip");

    pq3b_header("ML-KEM (FIPS 203), all calls of all rounds");
    for (size_t i = 0; i < nops; i++) {
        char note[64];
        double spread = round_spread(&ops[i]);
        pq3b_result res = pq3b_samples_result(&ops[i].all);
        snprintf(note, sizeof note, "rounds %.1f %%, p10-p90 %.0f %%", spread,
                 pq3b_spread_pct(res));
        pq3b_row(ops[i].name, res, note);
        if (spread > SPREAD_WARN_PCT) {
            printf("  warning: its round medians differ by %.1f %% (> %.0f %%)\n", spread,
                   SPREAD_WARN_PCT);
            warned = 1;
        }
        pq3b_samples_free(&ops[i].all);
    }
    print_load("after");
    if (warned)
        printf("warning: some rows did not settle within %.0f %%: repeat on a quieter "
               "machine or with a larger N\n",
               SPREAD_WARN_PCT);

    free(s768);
    free(s1024);
    return 0;
}
