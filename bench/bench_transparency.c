/*
 * Key transparency's two trees (src/transparency/): the map of 10^6
 * accounts (build, a batch of 10,000 changes with the root recomputed,
 * proofs: time and size, verification) and the Merkle log of 10^6 leaves
 * (root, inclusion and consistency proofs: time and size, verification).
 * Floors are the SHA-256 calls the operation cannot avoid, at the cost of
 * one node hash measured in the same run (its fastest tenth). The first
 * batch after the build also allocates the map's spare array (map.h): its
 * mean and p99 show it. A table, not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "pq3/map.h"
#include "pq3/merkle.h"

#define ACCOUNTS 1000000u
#define BATCH 10000u
#define LEAVES 1000000u

static uint8_t *rand_bytes(size_t n)
{
    uint8_t *p = malloc(n);
    pq3b_require(p != NULL, "malloc");
    pq3b_require(pq3_random(NULL, p, n) == PQ3_OK, "random");
    return p;
}

/* A uniform index below n from the system generator. */
static size_t rand_index(size_t n)
{
    uint8_t b[8];
    uint64_t v = 0;
    pq3b_require(pq3_random(NULL, b, sizeof b) == PQ3_OK, "random");
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return (size_t)(v % n);
}

/* ---- one node hash: the unit of every floor ------------------------------- */

/* 100 chained node hashes per timed call, so that the clock's own cost
 * does not inflate the unit. */
static uint8_t h1[32], h2[32];
static void b_node100(void *a)
{
    (void)a;
    for (int i = 0; i < 100; i++)
        pq3b_require(pq3_merkle_node_hash(h1, h1, h2) == PQ3_OK, "node hash");
}

/* ---- the map -------------------------------------------------------------- */

typedef struct {
    const uint8_t *root, *key, *value;
    const pq3_map_proof *proof;
} verify_arg;

static void b_map_member(void *a)
{
    verify_arg *v = a;
    pq3b_require(pq3_map_verify_member(v->root, v->key, v->value, v->proof) == PQ3_OK, "member");
}

static void b_map_absent(void *a)
{
    verify_arg *v = a;
    pq3b_require(pq3_map_verify_absent(v->root, v->key, v->proof) == PQ3_OK, "absent");
}

static unsigned proof_depth(const pq3_map_proof *p)
{
    for (unsigned i = PQ3_MAP_DEPTH; i-- > 0;)
        if ((p->bitmap[i / 8] >> (7 - i % 8)) & 1)
            return i + 1;
    return 0;
}

static void bench_map(double hash_us)
{
    static pq3_map_proof proof;
    pq3_map *m = NULL;
    uint8_t *keys = rand_bytes((size_t)ACCOUNTS * 32), *vals = rand_bytes((size_t)ACCOUNTS * 32);
    uint8_t root[32], absent[32];
    pq3b_samples s;
    pq3b_result r;
    char note[160];
    uint64_t t0, c0;
    size_t bytes = 0, maxbytes = 0, depth = 0;
    enum { PROOFS = 10000, BUILDS = 3, BATCHES = 5 };

    pq3b_header("key transparency: the map (sparse Merkle tree, 10^6 accounts)");

    /* Build: 10^6 pairs set into an empty map in one batch. */
    pq3b_samples_init(&s, BUILDS);
    for (int i = 0; i < BUILDS; i++) {
        pq3_map_free(m);
        pq3b_require(pq3_map_new(&m) == PQ3_OK, "map new");
        c0 = pq3b_cycles();
        t0 = pq3b_nanos();
        pq3b_require(pq3_map_set(m, keys, vals, ACCOUNTS) == PQ3_OK, "map build");
        pq3b_samples_add(&s, pq3b_cycles() - c0, pq3b_nanos() - t0);
    }
    r = pq3b_samples_result(&s);
    snprintf(note, sizeof note, "%.0f ms: bucket sort, N leaf and N - 1 node hashes", r.median_us / 1e3);
    pq3b_row_floor("map build, 10^6 keys", r, (2.0 * ACCOUNTS - 1) * hash_us, note);
    pq3b_samples_free(&s);

    /* Batches of 10,000 changes: half new keys, half new values for
     * present keys; then all new keys; then all replacements. */
    for (int kind = 0; kind < 3; kind++) {
        static const char *names[] = { "map: apply 10,000 changes (half new)",
                                       "map: apply 10,000 new keys",
                                       "map: apply 10,000 new values" };
        pq3b_samples_init(&s, BATCHES);
        for (int i = 0; i < BATCHES; i++) {
            uint8_t *bk = rand_bytes((size_t)BATCH * 32), *bv = rand_bytes((size_t)BATCH * 32);
            for (size_t j = 0; j < BATCH; j++) {
                int replace = kind == 2 || (kind == 0 && j % 2 == 0);
                if (replace)
                    memcpy(bk + j * 32, keys + rand_index(ACCOUNTS) * 32, 32);
            }
            c0 = pq3b_cycles();
            t0 = pq3b_nanos();
            pq3b_require(pq3_map_set(m, bk, bv, BATCH) == PQ3_OK, "map batch");
            pq3b_samples_add(&s, pq3b_cycles() - c0, pq3b_nanos() - t0);
            free(bk);
            free(bv);
        }
        r = pq3b_samples_result(&s);
        snprintf(note, sizeof note, "%.1f ms, root recomputed; map now %zu keys",
                 r.median_us / 1e3, pq3_map_size(m));
        pq3b_row(names[kind], r, note);
        pq3b_samples_free(&s);
    }
    pq3b_require(pq3_map_root(m, root) == PQ3_OK, "map root");

    /* Proofs of present keys: time, size, depth. */
    pq3b_samples_init(&s, PROOFS);
    for (int i = 0; i < PROOFS; i++) {
        const uint8_t *k = keys + rand_index(ACCOUNTS) * 32;
        size_t b;
        c0 = pq3b_cycles();
        t0 = pq3b_nanos();
        pq3b_require(pq3_map_prove(m, k, &proof) == PQ3_OK, "map prove");
        pq3b_samples_add(&s, pq3b_cycles() - c0, pq3b_nanos() - t0);
        b = pq3_map_proof_size(&proof);
        bytes += b;
        maxbytes = b > maxbytes ? b : maxbytes;
        depth += proof_depth(&proof);
    }
    r = pq3b_samples_result(&s);
    snprintf(note, sizeof note, "proof %zu B on average, %zu B largest; depth %.1f",
             bytes / PROOFS, maxbytes, (double)depth / PROOFS);
    pq3b_row("map: prove membership", r, note);
    pq3b_samples_free(&s);
    {
        verify_arg va = { root, keys, vals, &proof };
        uint8_t v[32];
        /* The first key's value may have been replaced by a batch. */
        pq3b_require(pq3_map_get(m, keys, v) == PQ3_OK, "map get");
        va.value = v;
        pq3b_require(pq3_map_prove(m, keys, &proof) == PQ3_OK, "map prove");
        snprintf(note, sizeof note, "depth %u, %zu B", proof_depth(&proof),
                 pq3_map_proof_size(&proof));
        pq3b_row_floor("map: verify membership", pq3b_measure(b_map_member, &va, 20000),
                       (proof_depth(&proof) + 1) * hash_us, note);
        pq3b_require(pq3_random(NULL, absent, sizeof absent) == PQ3_OK, "random");
        pq3b_require(pq3_map_prove(m, absent, &proof) == PQ3_OK, "map prove");
        va.key = absent;
        snprintf(note, sizeof note, "depth %u, %zu B (%s)", proof_depth(&proof),
                 pq3_map_proof_size(&proof), proof.has_leaf ? "ends at another key" : "ends empty");
        pq3b_row_floor("map: verify non-membership", pq3b_measure(b_map_absent, &va, 20000),
                       (proof_depth(&proof) + (proof.has_leaf ? 1 : 0)) * hash_us, note);
    }
    pq3_map_free(m);
    free(keys);
    free(vals);
}

/* ---- the log -------------------------------------------------------------- */

typedef struct {
    const uint8_t *root1, *root2, *leaf;
    uint64_t size1, size2, index;
    const pq3_merkle_proof *proof;
} log_arg;

static void b_incl_verify(void *a)
{
    log_arg *l = a;
    pq3b_require(pq3_merkle_inclusion_verify(l->root2, l->size2, l->index, l->leaf, l->proof) ==
                     PQ3_OK,
                 "inclusion verify");
}

static void b_cons_verify(void *a)
{
    log_arg *l = a;
    pq3b_require(pq3_merkle_consistency_verify(l->size1, l->size2, l->root1, l->root2,
                                               l->proof) == PQ3_OK,
                 "consistency verify");
}

static void bench_log(double hash_us)
{
    static pq3_merkle_proof proof;
    uint8_t *leaves = rand_bytes((size_t)LEAVES * 32), root[32], root1[32];
    pq3b_samples s;
    pq3b_result r;
    char note[160];
    uint64_t t0, c0, index = 0, size1 = 0;
    enum { ROOTS = 5, PROOFS = 10 };

    pq3b_header("key transparency: the log (RFC 9162 Merkle tree, 10^6 leaves)");
    pq3b_samples_init(&s, ROOTS);
    for (int i = 0; i < ROOTS; i++) {
        c0 = pq3b_cycles();
        t0 = pq3b_nanos();
        pq3b_require(pq3_merkle_root(root, leaves, LEAVES) == PQ3_OK, "root");
        pq3b_samples_add(&s, pq3b_cycles() - c0, pq3b_nanos() - t0);
    }
    r = pq3b_samples_result(&s);
    snprintf(note, sizeof note, "%.0f ms", r.median_us / 1e3);
    pq3b_row_floor("log: root over 10^6 leaf hashes", r, (LEAVES - 1.0) * hash_us, note);
    pq3b_samples_free(&s);

    pq3b_samples_init(&s, PROOFS);
    for (int i = 0; i < PROOFS; i++) {
        index = rand_index(LEAVES);
        c0 = pq3b_cycles();
        t0 = pq3b_nanos();
        pq3b_require(pq3_merkle_inclusion_prove(&proof, leaves, LEAVES, index) == PQ3_OK,
                     "inclusion prove");
        pq3b_samples_add(&s, pq3b_cycles() - c0, pq3b_nanos() - t0);
    }
    r = pq3b_samples_result(&s);
    snprintf(note, sizeof note, "%.0f ms (subtree heads recomputed); %zu hashes, %zu B",
             r.median_us / 1e3, proof.count, pq3_merkle_proof_size(&proof));
    pq3b_row_floor("log: inclusion proof", r, (LEAVES - 1.0 - (double)proof.count) * hash_us,
                   note);
    pq3b_samples_free(&s);
    {
        log_arg la = { NULL, root, leaves + index * 32, 0, LEAVES, index, &proof };
        snprintf(note, sizeof note, "%zu hashes, %zu B", proof.count,
                 pq3_merkle_proof_size(&proof));
        pq3b_row_floor("log: verify inclusion", pq3b_measure(b_incl_verify, &la, 20000),
                       (double)proof.count * hash_us, note);
    }

    pq3b_samples_init(&s, PROOFS);
    for (int i = 0; i < PROOFS; i++) {
        size1 = 1 + rand_index(LEAVES - 1);
        c0 = pq3b_cycles();
        t0 = pq3b_nanos();
        pq3b_require(pq3_merkle_consistency_prove(&proof, leaves, size1, LEAVES) == PQ3_OK,
                     "consistency prove");
        pq3b_samples_add(&s, pq3b_cycles() - c0, pq3b_nanos() - t0);
    }
    r = pq3b_samples_result(&s);
    snprintf(note, sizeof note, "%.0f ms; %zu hashes, %zu B", r.median_us / 1e3, proof.count,
             pq3_merkle_proof_size(&proof));
    pq3b_row("log: consistency proof", r, note);
    pq3b_samples_free(&s);
    {
        log_arg la = { root1, root, NULL, size1, LEAVES, 0, &proof };
        pq3b_require(pq3_merkle_root(root1, leaves, size1) == PQ3_OK, "root");
        snprintf(note, sizeof note, "%zu hashes, %zu B (size1 %llu)", proof.count,
                 pq3_merkle_proof_size(&proof), (unsigned long long)size1);
        pq3b_row("log: verify consistency", pq3b_measure(b_cons_verify, &la, 20000), note);
    }
    free(leaves);
}

int main(void)
{
    pq3b_result hr;
    char note[96];
    pq3b_header("key transparency: the unit of the floors");
    hr = pq3b_measure(b_node100, NULL, 5000);
    /* The unit is the fastest tenth: a floor is what cannot be avoided. */
    snprintf(note, sizeof note, "pq3_merkle_node_hash: %.3f us per hash (p10)", hr.p10_us / 100);
    pq3b_row("SHA-256 node hash (65 B) x 100", hr, note);
    bench_map(hr.p10_us / 100);
    bench_log(hr.p10_us / 100);
    return 0;
}
