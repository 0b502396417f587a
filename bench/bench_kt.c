/* Benchmark of key transparency's protocol layer (include/pq3/kt.h) at
 * deployment scale: a map of 10^6 accounts and a log of 10^5 epochs.
 *   - lookup proofs: their size, pq3_kt_proof_build and
 *     pq3_kt_verify_lookup per lookup (1,000 lookups, half of them from a
 *     pin, so with a consistency proof);
 *   - the pure part of one epoch with 10,000 changed accounts: their VRF
 *     keys and commitments, the map insertion and root, the epoch's leaf,
 *     the log's new head and the checkpoint's signature.
 * The 10^6 - 1,000 accounts that are never looked up get random map keys
 * (a VRF output is uniform, so the map has the same shape) and the log's
 * first 10^5 - 1 leaf hashes are random: proving a million VRF keys would
 * only lengthen the setup. Prints a table; no pass or fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "pq3/kt.h"

#define ACCOUNTS 1000000
#define LOOKUPS 1000
#define EPOCHS 100000
#define CHANGED 10000
#define MMD 20
#define SERVER "example.org"
#define T0 1700000000ull

static uint64_t rng_state = 0x7071336b;

/* splitmix64: fast filler for the random keys, values and leaves. */
static uint64_t next64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = next64();
        for (size_t k = 0; k < 8 && i + k < n; k++, x >>= 8)
            p[i + k] = (uint8_t)x;
    }
}

typedef struct {
    uint8_t h[32];
    size_t h_len;
    uint8_t pub[PQ3_KT_PUB_BYTES];
    uint8_t list[200];
    size_t list_len;
} account;

static size_t make_handle(uint8_t h[32], const char *prefix, size_t i)
{
    return (size_t)snprintf((char *)h, 32, "%s%07zu@example.org", prefix, i);
}

static void make_account(account *a, const char *prefix, size_t i)
{
    a->h_len = make_handle(a->h, prefix, i);
    a->pub[0] = 0x02;
    fill(a->pub + 1, PQ3_KT_PUB_BYTES - 1);
    a->list_len = 120 + i % 64; /* a signed list of one to three devices */
    fill(a->list, a->list_len);
}

static double now_us(void)
{
    return (double)pq3b_nanos() / 1e3;
}

/* pq3_kt_checkpoint_sign, timed by pq3b_measure. */
static struct {
    pq3_note_signer *log;
    pq3_kt_checkpoint c;
    uint8_t note[1024];
} sign_arg;

static void b_sign(void *arg)
{
    size_t n = 0;
    (void)arg;
    pq3b_require(pq3_kt_checkpoint_sign(sign_arg.note, sizeof sign_arg.note, &n, sign_arg.log,
                                        SERVER, &sign_arg.c) == PQ3_OK,
                 "checkpoint sign");
}

int main(void)
{
    static account acc[LOOKUPS];
    uint8_t vrf_sk[PQ3_VRF_SK_BYTES], seed[32], map_root[32], log_root[32], pi[81];
    uint8_t *keys, *vals, *leaves, *proofs[LOOKUPS], note[1024];
    size_t proof_len[LOOKUPS], note_len = 0, total = 0, largest = 0;
    pq3_note_signer log;
    pq3_kt_config cfg;
    pq3_map *map = NULL;
    pq3b_samples build_s, verify_s;
    pq3b_result r;
    char text[160];
    double t;
    const uint64_t size = EPOCHS, time = T0 + (EPOCHS - 1) * 10;

    pq3b_header("key transparency: lookups over 10^6 accounts and 10^5 epochs");
    memset(seed, 0x4c, sizeof seed);
    memset(vrf_sk, 0x56, sizeof vrf_sk);
    memset(&cfg, 0, sizeof cfg);
    pq3b_require(pq3_note_signer_from_seed(&log, SERVER "/kt/v1", PQ3_NOTE_TYPE_ED25519, seed) ==
                     PQ3_OK,
                 "log key");
    pq3b_require(pq3_vrf_public(cfg.vrf_pub, vrf_sk) == PQ3_OK, "VRF key");
    pq3_note_signer_verifier(&cfg.log_key, &log);
    cfg.server_name = SERVER;
    cfg.mmd_max = PQ3_KT_MMD_MAX_DEFAULT;

    /* The map: LOOKUPS real records (version 1) among random keys. */
    keys = malloc((size_t)ACCOUNTS * 32);
    vals = malloc((size_t)ACCOUNTS * 32);
    leaves = malloc((size_t)(EPOCHS + 1) * 32);
    pq3b_require(keys != NULL && vals != NULL && leaves != NULL, "memory");
    fill(keys, (size_t)ACCOUNTS * 32);
    fill(vals, (size_t)ACCOUNTS * 32);
    for (size_t i = 0; i < LOOKUPS; i++) {
        make_account(&acc[i], "user", i);
        pq3b_require(pq3_kt_key_prove(keys + i * 32, pi, vrf_sk, acc[i].h, acc[i].h_len, 1) ==
                         PQ3_OK,
                     "key");
        pq3b_require(pq3_kt_value(vals + i * 32, acc[i].h, acc[i].h_len, acc[i].pub, 1,
                                  acc[i].list, acc[i].list_len) == PQ3_OK,
                     "value");
    }
    t = now_us();
    pq3b_require(pq3_map_new(&map) == PQ3_OK && pq3_map_set(map, keys, vals, ACCOUNTS) == PQ3_OK &&
                     pq3_map_root(map, map_root) == PQ3_OK,
                 "map");
    printf("  setup: map of %zu keys built in %.0f ms\n", pq3_map_size(map), (now_us() - t) / 1e3);

    /* The log: random leaves, then the real last one. */
    fill(leaves, (size_t)(EPOCHS - 1) * 32);
    pq3b_require(pq3_kt_leaf_hash(leaves + (size_t)(EPOCHS - 1) * 32, EPOCHS - 1, time, map_root) ==
                     PQ3_OK,
                 "leaf");
    pq3b_require(pq3_merkle_root(log_root, leaves, size) == PQ3_OK, "log root");
    {
        pq3_kt_checkpoint c;
        c.size = size;
        memcpy(c.root, log_root, 32);
        c.mmd = MMD;
        pq3b_require(pq3_kt_checkpoint_sign(note, sizeof note, &note_len, &log, SERVER, &c) ==
                         PQ3_OK,
                     "checkpoint");
    }

    /* Lookups: the even ones without a pin, the odd ones from a pin up to
     * 10^4 epochs back. */
    pq3b_samples_init(&build_s, LOOKUPS);
    pq3b_samples_init(&verify_s, LOOKUPS);
    for (size_t i = 0; i < LOOKUPS; i++) {
        uint64_t pinned = i % 2 == 0 ? 0 : size - 1 - (i * 97) % 10000;
        uint64_t c0, n0;
        size_t len = 0;
        proofs[i] = malloc(16384);
        pq3b_require(proofs[i] != NULL, "memory");
        c0 = pq3b_cycles();
        n0 = pq3b_nanos();
        pq3b_require(pq3_kt_proof_build(proofs[i], 16384, &len, note, note_len, time, map_root,
                                        leaves, size, pinned, map, vrf_sk, acc[i].h, acc[i].h_len,
                                        1, NULL, 0) == PQ3_OK,
                     "proof build");
        pq3b_samples_add(&build_s, pq3b_cycles() - c0, pq3b_nanos() - n0);
        proof_len[i] = len;
        total += len;
        if (len > largest)
            largest = len;
    }
    for (size_t i = 0; i < LOOKUPS; i++) {
        pq3_kt_pin pin = { 0, { 0 } }, new_pin;
        pq3_kt_lookup res;
        uint64_t c0, n0;
        if (i % 2 == 1) {
            pin.size = size - 1 - (i * 97) % 10000;
            pq3b_require(pq3_merkle_root(pin.root, leaves, pin.size) == PQ3_OK, "pin");
        }
        c0 = pq3b_cycles();
        n0 = pq3b_nanos();
        pq3b_require(pq3_kt_verify_lookup(&res, &new_pin, &cfg, &pin, proofs[i], proof_len[i],
                                          acc[i].h, acc[i].h_len, acc[i].pub, acc[i].list,
                                          acc[i].list_len, 1, time + 5) == PQ3_OK &&
                         res.status == PQ3_KT_ACCEPTED,
                     "verify");
        pq3b_samples_add(&verify_s, pq3b_cycles() - c0, pq3b_nanos() - n0);
    }
    snprintf(text, sizeof text, "proof %zu B on average, %zu B largest (%zu B note)",
             total / LOOKUPS, largest, note_len);
    r = pq3b_samples_result(&build_s);
    pq3b_row("pq3_kt_proof_build", r, text);
    r = pq3b_samples_result(&verify_s);
    pq3b_row("pq3_kt_verify_lookup", r, "2 VRF verifies, 2 map proofs, log proofs, 1 Ed25519");
    pq3b_samples_free(&build_s);
    pq3b_samples_free(&verify_s);
    for (size_t i = 0; i < LOOKUPS; i++)
        free(proofs[i]);

    /* One epoch of CHANGED accounts (each timed once; the whole step). */
    pq3b_header("key transparency: the pure part of an epoch of 10,000 changed accounts");
    {
        uint8_t *ek = malloc((size_t)CHANGED * 32), *ev = malloc((size_t)CHANGED * 32);
        uint8_t lh[32];
        account a;
        double t_key = 0, t_val = 0, t0;
        pq3b_require(ek != NULL && ev != NULL, "memory");
        for (size_t i = 0; i < CHANGED; i++) {
            make_account(&a, "new", i);
            t0 = now_us();
            pq3b_require(pq3_kt_key_prove(ek + i * 32, pi, vrf_sk, a.h, a.h_len, 1) == PQ3_OK,
                         "key");
            t_key += now_us() - t0;
            t0 = now_us();
            pq3b_require(pq3_kt_value(ev + i * 32, a.h, a.h_len, a.pub, 1, a.list, a.list_len) ==
                             PQ3_OK,
                         "value");
            t_val += now_us() - t0;
        }
        printf("  %-34s %10.1f ms  (%.1f us each)\n", "VRF keys (pq3_kt_key_prove)", t_key / 1e3,
               t_key / CHANGED);
        printf("  %-34s %10.1f ms  (%.2f us each)\n", "commitments (pq3_kt_value)", t_val / 1e3,
               t_val / CHANGED);
        t0 = now_us();
        pq3b_require(pq3_map_set(map, ek, ev, CHANGED) == PQ3_OK, "map set");
        printf("  %-34s %10.1f ms  (root recomputed; %zu keys)\n", "map insertion (pq3_map_set)",
               (now_us() - t0) / 1e3, pq3_map_size(map));
        t0 = now_us();
        pq3b_require(pq3_map_root(map, map_root) == PQ3_OK, "map root");
        printf("  %-34s %10.3f ms\n", "map root (pq3_map_root)", (now_us() - t0) / 1e3);
        t0 = now_us();
        pq3b_require(pq3_kt_leaf_hash(lh, EPOCHS, time + 10, map_root) == PQ3_OK, "leaf");
        printf("  %-34s %10.3f ms\n", "epoch leaf (pq3_kt_leaf_hash)", (now_us() - t0) / 1e3);
        memcpy(leaves + (size_t)EPOCHS * 32, lh, 32);
        t0 = now_us();
        pq3b_require(pq3_merkle_root(log_root, leaves, EPOCHS + 1) == PQ3_OK, "log root");
        printf("  %-34s %10.1f ms  (%d leaves, from scratch)\n", "log head (pq3_merkle_root)",
               (now_us() - t0) / 1e3, EPOCHS + 1);
        free(ek);
        free(ev);
    }
    sign_arg.log = &log;
    sign_arg.c.size = EPOCHS + 1;
    memcpy(sign_arg.c.root, log_root, 32);
    sign_arg.c.mmd = MMD;
    r = pq3b_measure(b_sign, NULL, 1000);
    pq3b_row("pq3_kt_checkpoint_sign", r, "Ed25519 over the checkpoint body");

    pq3_map_free(map);
    pq3_note_signer_wipe(&log);
    free(keys);
    free(vals);
    free(leaves);
    return 0;
}
