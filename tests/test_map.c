/* The sparse Merkle map (src/transparency/map.c): known answers for the
 * hashing of map.h, the builder against the recursive definition after
 * every kind of batch, membership and non-membership proofs for every key,
 * every tampering rejected (and the changes that must not matter accepted),
 * the edge cases (empty map, one key, keys apart only in the last bit,
 * long shared prefixes), and the decoder's negatives. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pq3/map.h"
#include "testutil.h"

#define HB PQ3_MAP_HASH_BYTES
#define KB PQ3_MAP_KEY_BYTES

typedef struct {
    uint8_t k[KB], v[KB];
} kv;

/* ---- an independent reference: map.h's definition, recursively ----------- */

static void sha256(uint8_t out[HB], const uint8_t *in, size_t len)
{
    unsigned int n = 0;
    if (EVP_Digest(in, len, out, &n, EVP_sha256(), NULL) != 1 || n != HB)
        abort();
}

static void hash3(uint8_t out[HB], uint8_t tag, const uint8_t a[HB], const uint8_t b[HB])
{
    uint8_t buf[1 + 2 * HB];
    buf[0] = tag;
    memcpy(buf + 1, a, HB);
    memcpy(buf + 1 + HB, b, HB);
    sha256(out, buf, sizeof buf);
}

static int kbit(const uint8_t *k, unsigned t)
{
    return (k[t / 8] >> (7 - t % 8)) & 1;
}

/* The hash of the node at depth d holding e[0..n) (any order). */
static void ref_node(uint8_t out[HB], const kv *e, size_t n, unsigned d)
{
    kv *l, *r;
    size_t nl = 0, nr = 0;
    uint8_t hl[HB], hr[HB];
    if (n == 0) {
        memset(out, 0, HB);
        return;
    }
    if (n == 1) {
        hash3(out, 0x02, e[0].k, e[0].v);
        return;
    }
    l = malloc(n * sizeof *l);
    r = malloc(n * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        if (kbit(e[i].k, d))
            r[nr++] = e[i];
        else
            l[nl++] = e[i];
    }
    ref_node(hl, l, nl, d + 1);
    ref_node(hr, r, nr, d + 1);
    hash3(out, 0x03, hl, hr);
    free(l);
    free(r);
}

/* ---- helpers -------------------------------------------------------------- */

static pq3t_drbg drbg;

static void rnd(uint8_t *out, size_t n)
{
    pq3_rng rng = pq3t_drbg_rng(&drbg);
    if (pq3_random(&rng, out, n) != PQ3_OK)
        abort();
}

static void kat_kv(kv *e, uint32_t i)
{
    uint8_t b[9];
    memcpy(b, "key", 3);
    b[3] = (uint8_t)(i >> 24), b[4] = (uint8_t)(i >> 16), b[5] = (uint8_t)(i >> 8);
    b[6] = (uint8_t)i;
    sha256(e->k, b, 7);
    memcpy(b, "value", 5);
    b[5] = (uint8_t)(i >> 24), b[6] = (uint8_t)(i >> 16), b[7] = (uint8_t)(i >> 8);
    b[8] = (uint8_t)i;
    sha256(e->v, b, 9);
}

/* Sets e[0..n) in batches of `batch` pairs. */
static pq3_err set_all(pq3_map *m, const kv *e, size_t n, size_t batch)
{
    uint8_t *keys = malloc(batch * KB + 1), *vals = malloc(batch * KB + 1);
    pq3_err err = PQ3_OK;
    for (size_t i = 0; i < n && err == PQ3_OK; i += batch) {
        size_t c = n - i < batch ? n - i : batch;
        for (size_t j = 0; j < c; j++) {
            memcpy(keys + j * KB, e[i + j].k, KB);
            memcpy(vals + j * KB, e[i + j].v, KB);
        }
        err = pq3_map_set(m, keys, vals, c);
    }
    free(keys);
    free(vals);
    return err;
}

static pq3_map *new_map(void)
{
    pq3_map *m = NULL;
    if (pq3_map_new(&m) != PQ3_OK)
        abort();
    return m;
}

static void check_root(const pq3_map *m, const kv *e, size_t n, const char *what)
{
    uint8_t got[HB], want[HB];
    CHECK_OK(pq3_map_root(m, got));
    ref_node(want, e, n, 0);
    CHECKF(memcmp(got, want, HB) == 0, "%s: root of %zu keys", what, n);
    CHECK(pq3_map_size(m) == n);
}

static unsigned depth_of(const pq3_map_proof *p)
{
    for (unsigned i = PQ3_MAP_DEPTH; i-- > 0;)
        if ((p->bitmap[i / 8] >> (7 - i % 8)) & 1)
            return i + 1;
    return 0;
}

static unsigned lcp(const uint8_t *a, const uint8_t *b)
{
    unsigned t = 0;
    while (t < 256 && kbit(a, t) == kbit(b, t))
        t++;
    return t;
}

/* Encodes p, decodes it back, checks the size. */
static void round_trip(const pq3_map_proof *p)
{
    static uint8_t wire[PQ3_MAP_PROOF_MAX_BYTES];
    static pq3_map_proof d;
    size_t len;
    CHECK_OK(pq3_map_proof_encode(wire, sizeof wire, &len, p));
    CHECK(len == pq3_map_proof_size(p));
    CHECK_OK(pq3_map_proof_decode(&d, wire, len));
    CHECK(memcmp(d.bitmap, p->bitmap, sizeof d.bitmap) == 0 && d.has_leaf == p->has_leaf);
    CHECK(memcmp(d.siblings, p->siblings, len - 33 - (p->has_leaf ? 64u : 0u)) == 0);
    if (p->has_leaf)
        CHECK(memcmp(d.leaf_key, p->leaf_key, KB) == 0 &&
              memcmp(d.leaf_value, p->leaf_value, KB) == 0);
}

/* ---- known answers (computed independently from map.h's definition) ------- */

static void test_kat(void)
{
    static const struct {
        size_t n;
        const char *root, *member_sha, *absent_sha;
        size_t member_len, absent_len;
    } kats[] = {
        { 1, "b4b4a5dfdd895bb923af3f9389d7ffd5a3476aa1d717b68747ea453d73bdfab7",
          "e7f1bbb5c8aca5e22c175401dfa8a897ef162e69c4f1ef31740cf998d1b5d29d",
          "e7f1bbb5c8aca5e22c175401dfa8a897ef162e69c4f1ef31740cf998d1b5d29d", 97, 97 },
        { 2, "08781c294753585e67483eb0ae6d08318ee281607dc6df5a2376ad86c74f0e32",
          "8708b33d8532baecf2ebb95f6fd189fb325470867548c6b655d695313ee9a1fe",
          "890fb865a44baf4643ff3ee9ac0e5d343a10d5eac6ab47599cfcbc4aa4a127c3", 129, 129 },
        { 3, "baf78de8e8fa76819026b4fc4ecff3ad252a1d443ad65483a233d68ea5258521",
          "3795eac3e72c68a84465f3dea872370516cadb0a21c9ac82a5e617239c780979",
          "ffb9011b973f3b1a10d798c467d41a737430ce9f36d2361e76d051aa90bf4f10", 161, 129 },
        { 10, "84f3df87034e042482d135f3b1aeb30709b278ba069a04996b6327df3b19eb9f",
          "8c2c46f9aec40b0d1f88ede848fbc5c11258d26c8b97b25285c744f9d3af9b56",
          "85ce11b63d0df9a158388f4f4490cd3c3e00b9da160cb49dbe22a6a2958c48bf", 193, 161 },
        { 1000, "6fbe9635091df37dee79ca65499182503dc605e53aae41b1f4884ea71a4a11be",
          "69ae5fa9da40a5a7dde3116085ca09289fc2aa09da9b55447afbd4ab98ba3d09",
          "c6daa27bc5d2d131c40ed4685cbd02a06708fc48e03624bbc8d50b819863b2b3", 385, 321 },
    };
    static kv e[1000];
    static pq3_map_proof p;
    static uint8_t wire[PQ3_MAP_PROOF_MAX_BYTES];
    uint8_t absent[KB], root[HB], want[HB], h[HB];
    size_t len;

    sha256(absent, (const uint8_t *)"absent", 6);
    for (uint32_t i = 0; i < 1000; i++)
        kat_kv(&e[i], i);
    for (size_t t = 0; t < sizeof kats / sizeof kats[0]; t++) {
        pq3_map *m = new_map();
        CHECK_OK(set_all(m, e, kats[t].n, kats[t].n));
        CHECK_OK(pq3_map_root(m, root));
        CHECK(pq3t_unhex_into(want, HB, kats[t].root));
        CHECKF(memcmp(root, want, HB) == 0, "KAT root of %zu keys", kats[t].n);
        CHECK_OK(pq3_map_prove(m, e[0].k, &p));
        CHECK_OK(pq3_map_proof_encode(wire, sizeof wire, &len, &p));
        sha256(h, wire, len);
        CHECK(pq3t_unhex_into(want, HB, kats[t].member_sha));
        CHECKF(len == kats[t].member_len && memcmp(h, want, HB) == 0,
               "KAT membership proof, %zu keys", kats[t].n);
        CHECK_OK(pq3_map_prove(m, absent, &p));
        CHECK_OK(pq3_map_proof_encode(wire, sizeof wire, &len, &p));
        sha256(h, wire, len);
        CHECK(pq3t_unhex_into(want, HB, kats[t].absent_sha));
        CHECKF(len == kats[t].absent_len && memcmp(h, want, HB) == 0,
               "KAT non-membership proof, %zu keys", kats[t].n);
        pq3_map_free(m);
    }
    /* The leaf hash of map.h. */
    {
        uint8_t buf[1 + 2 * KB];
        buf[0] = 0x02;
        memcpy(buf + 1, e[0].k, KB);
        memcpy(buf + 1 + KB, e[0].v, KB);
        sha256(want, buf, sizeof buf);
        CHECK_OK(pq3_map_leaf_hash(h, e[0].k, e[0].v));
        CHECK(memcmp(h, want, HB) == 0);
    }
}

/* ---- tampering ------------------------------------------------------------ */

static unsigned long tamper_rejected, tamper_still_valid;

/* Every single-bit change of a verified proof, its key, value and root. */
static void tamper(const uint8_t root[HB], const uint8_t key[KB], const uint8_t *value,
                   const pq3_map_proof *p)
{
    static pq3_map_proof q;
    uint8_t r[HB], k[KB], v[KB];
    unsigned count = 0, depth = depth_of(p);
    for (size_t i = 0; i < sizeof p->bitmap; i++)
        count += (unsigned)__builtin_popcount(p->bitmap[i]);

#define VERIFY_P(R, K, P) \
    (value != NULL ? pq3_map_verify_member(R, K, value, P) : pq3_map_verify_absent(R, K, P))
    for (unsigned i = 0; i < count * HB * 8; i++) {
        q = *p;
        q.siblings[i / (HB * 8)][i / 8 % HB] ^= (uint8_t)(1u << (i % 8));
        CHECK_ERR(VERIFY_P(root, key, &q), PQ3_ERR_VERIFY);
        tamper_rejected++;
    }
    for (unsigned i = 0; i < PQ3_MAP_DEPTH; i++) {
        q = *p;
        q.bitmap[i / 8] ^= (uint8_t)(0x80u >> (i % 8));
        CHECK_ERR(VERIFY_P(root, key, &q), PQ3_ERR_VERIFY);
        tamper_rejected++;
    }
    for (unsigned i = 0; i < HB * 8; i++) {
        memcpy(r, root, HB);
        r[i / 8] ^= (uint8_t)(1u << (i % 8));
        CHECK_ERR(VERIFY_P(r, key, p), PQ3_ERR_VERIFY);
        tamper_rejected++;
    }
    /* The queried key: for membership any change is fatal; for absence a
     * change below the path's depth leaves a key that is absent too, and
     * the same proof shows it (map.h). */
    for (unsigned i = 0; i < KB * 8; i++) {
        memcpy(k, key, KB);
        k[i / 8] ^= (uint8_t)(0x80u >> (i % 8));
        if (value != NULL || i < depth || (p->has_leaf && memcmp(k, p->leaf_key, KB) == 0)) {
            CHECK_ERR(VERIFY_P(root, k, p), PQ3_ERR_VERIFY);
            tamper_rejected++;
        } else {
            CHECK_OK(VERIFY_P(root, k, p));
            tamper_still_valid++;
        }
    }
    if (value != NULL) {
        for (unsigned i = 0; i < KB * 8; i++) {
            memcpy(v, value, KB);
            v[i / 8] ^= (uint8_t)(1u << (i % 8));
            CHECK_ERR(pq3_map_verify_member(root, key, v, p), PQ3_ERR_VERIFY);
            q = *p;
            memcpy(q.leaf_value, v, KB);
            CHECK_ERR(pq3_map_verify_member(root, key, v, &q), PQ3_ERR_VERIFY);
            tamper_rejected += 2;
        }
        /* A membership proof never shows absence. */
        CHECK_ERR(pq3_map_verify_absent(root, key, p), PQ3_ERR_VERIFY);
    }
    if (p->has_leaf) {
        for (unsigned i = 0; i < KB * 8; i++) {
            q = *p;
            q.leaf_key[i / 8] ^= (uint8_t)(1u << (i % 8));
            CHECK_ERR(VERIFY_P(root, key, &q), PQ3_ERR_VERIFY);
            q = *p;
            q.leaf_value[i / 8] ^= (uint8_t)(1u << (i % 8));
            CHECK_ERR(VERIFY_P(root, key, &q), PQ3_ERR_VERIFY);
            tamper_rejected += 2;
        }
    }
    q = *p;
    q.has_leaf = !q.has_leaf;
    CHECK_ERR(VERIFY_P(root, key, &q), PQ3_ERR_VERIFY);
    q.has_leaf = 2;
    CHECK_ERR(VERIFY_P(root, key, &q), PQ3_ERR_ARG);
    tamper_rejected++;
#undef VERIFY_P
}

/* ---- many keys ------------------------------------------------------------ */

static void test_many(void)
{
    enum { N = 3000, ABSENT = 3000, TAMPERED = 12 };
    static kv e[N];
    static pq3_map_proof p, q;
    pq3_map *m = new_map();
    uint8_t root[HB], k[KB], v[KB];
    size_t bytes = 0, maxbytes = 0, nproofs = 0;

    pq3t_drbg_init(&drbg, "test_map many", 0);
    for (size_t i = 0; i < N; i++) {
        rnd(e[i].k, KB);
        rnd(e[i].v, KB);
    }
    /* Built in uneven batches, the root checked after each. */
    for (size_t i = 0, b = 1; i < N; i += b, b = b * 3 + 1) {
        size_t c = N - i < b ? N - i : b;
        CHECK_OK(set_all(m, e + i, c, c));
        check_root(m, e, i + c, "batches");
    }
    CHECK_OK(pq3_map_root(m, root));
    for (size_t i = 0; i < N; i++) {
        CHECK_OK(pq3_map_get(m, e[i].k, v));
        CHECK(memcmp(v, e[i].v, KB) == 0);
        CHECK_OK(pq3_map_prove(m, e[i].k, &p));
        CHECK(p.has_leaf && memcmp(p.leaf_key, e[i].k, KB) == 0);
        CHECK_OK(pq3_map_verify_member(root, e[i].k, e[i].v, &p));
        CHECK_ERR(pq3_map_verify_absent(root, e[i].k, &p), PQ3_ERR_VERIFY);
        round_trip(&p);
        bytes += pq3_map_proof_size(&p);
        if (pq3_map_proof_size(&p) > maxbytes)
            maxbytes = pq3_map_proof_size(&p);
        nproofs++;
        if (i < TAMPERED)
            tamper(root, e[i].k, e[i].v, &p);
        /* The proof of another key: never its membership; its absence
         * exactly when that key is on this path and this leaf is not it. */
        {
            const kv *o = &e[(i + 1) % N];
            CHECK_ERR(pq3_map_verify_member(root, o->k, o->v, &p), PQ3_ERR_VERIFY);
            CHECK_ERR(pq3_map_verify_member(root, o->k, e[i].v, &p), PQ3_ERR_VERIFY);
            CHECK_ERR(pq3_map_verify_absent(root, o->k, &p), PQ3_ERR_VERIFY);
        }
    }
    for (size_t i = 0; i < ABSENT; i++) {
        rnd(k, KB);
        CHECK_ERR(pq3_map_get(m, k, v), PQ3_ERR_UNKNOWN);
        CHECK_OK(pq3_map_prove(m, k, &p));
        CHECK(!p.has_leaf || memcmp(p.leaf_key, k, KB) != 0);
        CHECK(!p.has_leaf || lcp(p.leaf_key, k) >= depth_of(&p));
        CHECK_OK(pq3_map_verify_absent(root, k, &p));
        CHECK_ERR(pq3_map_verify_member(root, k, e[0].v, &p), PQ3_ERR_VERIFY);
        if (p.has_leaf)
            CHECK_ERR(pq3_map_verify_member(root, k, p.leaf_value, &p), PQ3_ERR_VERIFY);
        round_trip(&p);
        bytes += pq3_map_proof_size(&p);
        nproofs++;
        if (i < TAMPERED)
            tamper(root, k, NULL, &p);
        /* Against a key that is present on the same path: absence fails. */
        if (p.has_leaf)
            CHECK_ERR(pq3_map_verify_absent(root, p.leaf_key, &p), PQ3_ERR_VERIFY);
        /* A present key's proof does not show this one's absence unless it
         * ends on this key's path. */
        CHECK_OK(pq3_map_prove(m, e[i % N].k, &q));
        if (lcp(q.leaf_key, k) >= depth_of(&q))
            CHECK_OK(pq3_map_verify_absent(root, k, &q));
        else
            CHECK_ERR(pq3_map_verify_absent(root, k, &q), PQ3_ERR_VERIFY);
    }
    /* Under another root (one value changed) nothing verifies. */
    {
        uint8_t root2[HB];
        memcpy(v, e[N / 2].v, KB);
        v[0] ^= 1;
        CHECK_OK(pq3_map_set(m, e[N / 2].k, v, 1));
        CHECK_OK(pq3_map_root(m, root2));
        CHECK(memcmp(root, root2, HB) != 0);
        CHECK_OK(pq3_map_prove(m, e[0].k, &p));
        CHECK_ERR(pq3_map_verify_member(root, e[0].k, e[0].v, &p), PQ3_ERR_VERIFY);
        CHECK_OK(pq3_map_verify_member(root2, e[0].k, e[0].v, &p));
        CHECK_OK(pq3_map_prove(m, e[N / 2].k, &p));
        CHECK_OK(pq3_map_verify_member(root2, e[N / 2].k, v, &p));
        CHECK_ERR(pq3_map_verify_member(root2, e[N / 2].k, e[N / 2].v, &p), PQ3_ERR_VERIFY);
        /* Back to the old value: the old root. */
        CHECK_OK(pq3_map_set(m, e[N / 2].k, e[N / 2].v, 1));
        CHECK_OK(pq3_map_root(m, root2));
        CHECK(memcmp(root, root2, HB) == 0);
        /* The same value again: nothing changes. */
        CHECK_OK(pq3_map_set(m, e[N / 3].k, e[N / 3].v, 1));
        CHECK_OK(pq3_map_root(m, root2));
        CHECK(memcmp(root, root2, HB) == 0 && pq3_map_size(m) == N);
    }
    printf("many: %zu proofs for %d keys and %d absent keys, average %zu bytes, largest %zu; "
           "%lu tamperings rejected, %lu harmless changes still valid\n",
           nproofs, N, ABSENT, bytes / nproofs, maxbytes, tamper_rejected, tamper_still_valid);
    pq3_map_free(m);
}

/* ---- order independence and replacement ----------------------------------- */

static void test_order(void)
{
    enum { N = 500 };
    static kv e[N], rev[N], shuf[N];
    uint8_t r1[HB], r2[HB];
    pq3_map *a = new_map(), *b = new_map(), *c = new_map(), *d = new_map();

    pq3t_drbg_init(&drbg, "test_map order", 0);
    for (size_t i = 0; i < N; i++) {
        rnd(e[i].k, KB);
        rnd(e[i].v, KB);
        rev[N - 1 - i] = e[i];
        shuf[i] = e[i];
    }
    for (size_t i = N - 1; i > 0; i--) {
        uint8_t x[4];
        size_t j;
        kv t;
        rnd(x, 4);
        j = ((size_t)x[0] << 24 | (size_t)x[1] << 16 | (size_t)x[2] << 8 | x[3]) % (i + 1);
        t = shuf[i], shuf[i] = shuf[j], shuf[j] = t;
    }
    CHECK_OK(set_all(a, e, N, N));
    CHECK_OK(set_all(b, rev, N, 1));
    CHECK_OK(set_all(c, shuf, N, 37));
    /* d: every key first with another value, then the real values, in one
     * batch holding both (a later pair for the same key wins). */
    {
        kv *two = malloc(2 * N * sizeof *two);
        for (size_t i = 0; i < N; i++) {
            two[i] = shuf[i];
            two[i].v[5] ^= 0x10;
            two[N + i] = rev[i];
        }
        CHECK_OK(set_all(d, two, 2 * N, 2 * N));
        free(two);
    }
    CHECK_OK(pq3_map_root(a, r1));
    CHECK_OK(pq3_map_root(b, r2));
    CHECK(memcmp(r1, r2, HB) == 0);
    CHECK_OK(pq3_map_root(c, r2));
    CHECK(memcmp(r1, r2, HB) == 0);
    CHECK_OK(pq3_map_root(d, r2));
    CHECK(memcmp(r1, r2, HB) == 0 && pq3_map_size(d) == N);
    check_root(a, e, N, "one batch");
    /* A batch holding one key twice, into a map that has it: the later
     * pair wins; and one with a new key twice. */
    {
        uint8_t keys[4 * KB], vals[4 * KB], got[KB], fresh[KB];
        rnd(fresh, KB);
        memcpy(keys, e[3].k, KB);
        memcpy(keys + KB, fresh, KB);
        memcpy(keys + 2 * KB, e[3].k, KB);
        memcpy(keys + 3 * KB, fresh, KB);
        for (size_t i = 0; i < 4; i++)
            memset(vals + i * KB, (int)(0x41 + i), KB);
        CHECK_OK(pq3_map_set(a, keys, vals, 4));
        CHECK_OK(pq3_map_get(a, e[3].k, got));
        CHECK(got[0] == 0x43 && pq3_map_size(a) == N + 1);
        CHECK_OK(pq3_map_get(a, fresh, got));
        CHECK(got[0] == 0x44);
        memset(e[3].v, 0x43, KB);
        {
            kv *all = malloc((N + 1) * sizeof *all);
            memcpy(all, e, N * sizeof *e);
            memcpy(all[N].k, fresh, KB);
            memset(all[N].v, 0x44, KB);
            check_root(a, all, N + 1, "duplicates in a batch");
            free(all);
        }
    }
    /* Replacing every value in batches of 50: each batch changes the root,
     * and the result is the new set's root. */
    for (size_t i = 0; i < N; i += 50) {
        uint8_t before[HB], after[HB];
        CHECK_OK(pq3_map_root(c, before));
        for (size_t j = i; j < i + 50; j++)
            e[j].v[31] ^= 0xff;
        CHECK_OK(set_all(c, e + i, 50, 50));
        CHECK_OK(pq3_map_root(c, after));
        CHECK(memcmp(before, after, HB) != 0);
    }
    check_root(c, e, N, "replaced");
    pq3_map_free(a);
    pq3_map_free(b);
    pq3_map_free(c);
    pq3_map_free(d);
}

/* ---- edge cases ----------------------------------------------------------- */

static void test_empty_and_one(void)
{
    static pq3_map_proof p;
    pq3_map *m = new_map();
    uint8_t root[HB], k[KB], v[KB], other[KB], h[HB];
    static const uint8_t zero[HB];

    pq3t_drbg_init(&drbg, "test_map small", 0);
    rnd(k, KB);
    rnd(v, KB);
    rnd(other, KB);
    /* The empty map: root zero, every key absent by the empty proof. */
    CHECK_OK(pq3_map_root(m, root));
    CHECK(memcmp(root, zero, HB) == 0 && pq3_map_size(m) == 0);
    CHECK_OK(pq3_map_prove(m, k, &p));
    CHECK(!p.has_leaf && depth_of(&p) == 0 && pq3_map_proof_size(&p) == 33);
    CHECK_OK(pq3_map_verify_absent(root, k, &p));
    CHECK_ERR(pq3_map_verify_member(root, k, v, &p), PQ3_ERR_VERIFY);
    CHECK_ERR(pq3_map_get(m, k, v), PQ3_ERR_UNKNOWN);
    round_trip(&p);
    CHECK_OK(pq3_map_set(m, NULL, NULL, 0));
    /* One key: the root is its leaf; the proofs are the leaf alone. */
    CHECK_OK(pq3_map_set(m, k, v, 1));
    CHECK_OK(pq3_map_root(m, root));
    CHECK_OK(pq3_map_leaf_hash(h, k, v));
    CHECK(memcmp(root, h, HB) == 0);
    CHECK_OK(pq3_map_prove(m, k, &p));
    CHECK(p.has_leaf && depth_of(&p) == 0 && pq3_map_proof_size(&p) == 97);
    CHECK_OK(pq3_map_verify_member(root, k, v, &p));
    tamper(root, k, v, &p);
    CHECK_OK(pq3_map_prove(m, other, &p));
    CHECK(p.has_leaf && memcmp(p.leaf_key, k, KB) == 0);
    CHECK_OK(pq3_map_verify_absent(root, other, &p));
    CHECK_ERR(pq3_map_verify_member(root, other, v, &p), PQ3_ERR_VERIFY);
    tamper(root, other, NULL, &p);
    /* The empty proof against a non-empty map. */
    memset(&p, 0, sizeof p);
    CHECK_ERR(pq3_map_verify_absent(root, other, &p), PQ3_ERR_VERIFY);
    pq3_map_free(m);
}

/* Keys that share long prefixes: two apart only in their last bit, and a
 * cluster sharing 190 bits, then keys that split the cluster's chain
 * higher up (the cached subtree below keeps its hash, its top moves). */
static void test_prefixes(void)
{
    static kv e[80];
    static pq3_map_proof p;
    pq3_map *m = new_map();
    uint8_t root[HB], want[HB], k[KB];
    size_t n = 0;

    memset(e[0].k, 0, KB);
    memset(e[1].k, 0, KB);
    e[1].k[31] = 1;
    sha256(e[0].v, (const uint8_t *)"v", 1);
    memcpy(e[1].v, e[0].v, KB);
    CHECK_OK(set_all(m, e, 2, 2));
    CHECK_OK(pq3_map_root(m, root));
    CHECK(pq3t_unhex_into(want, HB,
                          "2c2926c71eba8a9a9f5e04c2b729481955bacedee8556beec53325b6875b1725"));
    CHECK(memcmp(root, want, HB) == 0);
    for (int i = 0; i < 2; i++) {
        CHECK_OK(pq3_map_prove(m, e[i].k, &p));
        CHECK(depth_of(&p) == 256 && pq3_map_proof_size(&p) == 32 + 32 + 1 + 64);
        CHECK_OK(pq3_map_verify_member(root, e[i].k, e[i].v, &p));
        CHECK_ERR(pq3_map_verify_member(root, e[1 - i].k, e[i].v, &p), PQ3_ERR_VERIFY);
        tamper(root, e[i].k, e[i].v, &p);
    }
    /* Absent: off the shared path at bit 100 (the path ends in the empty
     * side at depth 101), and at bit 254. */
    memset(k, 0, KB);
    k[12] = 0x08; /* bit 100 */
    CHECK_OK(pq3_map_prove(m, k, &p));
    CHECK(!p.has_leaf && depth_of(&p) == 101);
    CHECK_OK(pq3_map_verify_absent(root, k, &p));
    tamper(root, k, NULL, &p);
    memset(k, 0, KB);
    k[31] = 2; /* bit 254 */
    CHECK_OK(pq3_map_prove(m, k, &p));
    CHECK(!p.has_leaf && depth_of(&p) == 255);
    CHECK_OK(pq3_map_verify_absent(root, k, &p));
    n = 2;
    check_root(m, e, n, "last bit");

    /* The cluster: 40 keys sharing their first 190 bits, all with bit 0
     * set (so the chain from the root is long). */
    pq3t_drbg_init(&drbg, "test_map prefixes", 0);
    for (size_t i = 0; i < 40; i++) {
        kv *x = &e[n + i];
        memset(x->k, 0xff, KB);
        rnd(x->k + 24, 8);
        x->k[23] = (uint8_t)(0xfc | (i & 3));
        rnd(x->v, KB);
    }
    CHECK_OK(set_all(m, e + n, 40, 40));
    n += 40;
    check_root(m, e, n, "cluster");
    /* Keys splitting the chain above the cluster at depths 150, 20, 180. */
    {
        const unsigned at[] = { 150, 20, 180, 1 };
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            kv *x = &e[n];
            memset(x->k, 0xff, KB);
            x->k[at[i] / 8] ^= (uint8_t)(0x80u >> (at[i] % 8));
            rnd(x->v, KB);
            CHECK_OK(set_all(m, x, 1, 1));
            n++;
            check_root(m, e, n, "split of a chain");
        }
    }
    CHECK_OK(pq3_map_root(m, root));
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(pq3_map_prove(m, e[i].k, &p));
        CHECK_OK(pq3_map_verify_member(root, e[i].k, e[i].v, &p));
    }
    /* Absent keys diverging inside the chains. */
    for (unsigned bitpos = 2; bitpos < 256; bitpos += 7) {
        memset(k, 0xff, KB);
        k[bitpos / 8] ^= (uint8_t)(0x80u >> (bitpos % 8));
        CHECK_OK(pq3_map_prove(m, k, &p));
        if (p.has_leaf && memcmp(p.leaf_key, k, KB) == 0)
            continue;
        CHECK_OK(pq3_map_verify_absent(root, k, &p));
        CHECK_ERR(pq3_map_verify_member(root, k, e[0].v, &p), PQ3_ERR_VERIFY);
    }
    CHECK_OK(pq3_map_prove(m, e[5].k, &p));
    tamper(root, e[5].k, e[5].v, &p);
    pq3_map_free(m);
}

/* A first build large enough to be sorted by buckets (map.c), with keys
 * crowding one bucket and a key given twice: the same root as the same
 * pairs set in batches (merged). */
static void test_large_build(void)
{
    enum { N = 40000 };
    kv *e = malloc((N + 1) * sizeof *e);
    pq3_map *a = new_map(), *b = new_map();
    uint8_t r1[HB], r2[HB], v[KB];
    static pq3_map_proof p;

    pq3t_drbg_init(&drbg, "test_map large", 0);
    for (size_t i = 0; i < N; i++) {
        rnd(e[i].k, KB);
        rnd(e[i].v, KB);
        if (i % 8 == 0)
            e[i].k[0] = e[i].k[1] = 0x42;
    }
    e[N] = e[17];
    memset(e[N].v, 0x99, KB);
    CHECK_OK(set_all(a, e, N + 1, N + 1));
    CHECK_OK(set_all(b, e, N + 1, 3000));
    CHECK_OK(pq3_map_root(a, r1));
    CHECK_OK(pq3_map_root(b, r2));
    CHECK(memcmp(r1, r2, HB) == 0 && pq3_map_size(a) == N && pq3_map_size(b) == N);
    CHECK_OK(pq3_map_get(a, e[17].k, v));
    CHECK(v[0] == 0x99);
    e[17] = e[N];
    check_root(a, e, N, "large build");
    for (size_t i = 0; i < N; i += 97) {
        CHECK_OK(pq3_map_prove(a, e[i].k, &p));
        CHECK_OK(pq3_map_verify_member(r1, e[i].k, e[i].v, &p));
    }
    pq3_map_free(a);
    pq3_map_free(b);
    free(e);
}

/* ---- the decoder and the arguments ----------------------------------------- */

static void test_codec(void)
{
    static pq3_map_proof p, d, keep;
    static uint8_t wire[PQ3_MAP_PROOF_MAX_BYTES + 1];
    static kv e[64];
    pq3_map *m = new_map();
    uint8_t k[KB];
    size_t len, need;

    pq3t_drbg_init(&drbg, "test_map codec", 0);
    for (size_t i = 0; i < 64; i++) {
        rnd(e[i].k, KB);
        rnd(e[i].v, KB);
    }
    CHECK_OK(set_all(m, e, 64, 64));
    memset(&keep, 0x5c, sizeof keep);
    for (int which = 0; which < 2; which++) {
        if (which == 0) {
            CHECK_OK(pq3_map_prove(m, e[7].k, &p));
        } else {
            rnd(k, KB);
            CHECK_OK(pq3_map_prove(m, k, &p));
        }
        CHECK_OK(pq3_map_proof_encode(wire, sizeof wire, &len, &p));
        CHECK(len == pq3_map_proof_size(&p) && len > 33);
        CHECK(wire[len - (p.has_leaf ? 65 : 1)] == (p.has_leaf ? 1 : 0));
        /* Every truncation; a trailing byte; all untouched on error. */
        for (size_t l = 0; l < len; l++) {
            d = keep;
            CHECK_ERR(pq3_map_proof_decode(&d, wire, l), PQ3_ERR_DECODE);
            CHECK(memcmp(&d, &keep, sizeof d) == 0);
        }
        wire[len] = 0;
        CHECK_ERR(pq3_map_proof_decode(&d, wire, len + 1), PQ3_ERR_DECODE);
        /* The end byte: only 0 or 1. */
        {
            size_t at = len - (p.has_leaf ? 65 : 1);
            uint8_t save = wire[at];
            wire[at] = 2;
            CHECK_ERR(pq3_map_proof_decode(&d, wire, len), PQ3_ERR_DECODE);
            wire[at] = 0xff;
            CHECK_ERR(pq3_map_proof_decode(&d, wire, len), PQ3_ERR_DECODE);
            /* 1 without the leaf, 0 with 64 bytes after it. */
            wire[at] = (uint8_t)!save;
            CHECK_ERR(pq3_map_proof_decode(&d, wire, len), PQ3_ERR_DECODE);
            wire[at] = save;
        }
        /* A zero sibling (an empty subtree marked non-empty). */
        {
            uint8_t save[HB];
            memcpy(save, wire + 32, HB);
            memset(wire + 32, 0, HB);
            CHECK_ERR(pq3_map_proof_decode(&d, wire, len), PQ3_ERR_DECODE);
            memcpy(wire + 32, save, HB);
        }
        /* One more bit in the bitmap: a sibling short (or the end read as
         * one). Changed bitmaps never verify. */
        {
            unsigned depth = depth_of(&p);
            uint8_t save = wire[depth / 8];
            if (depth < 256) {
                wire[depth / 8] = (uint8_t)(wire[depth / 8] | (0x80u >> (depth % 8)));
                if (pq3_map_proof_decode(&d, wire, len) == PQ3_OK) {
                    uint8_t root[HB];
                    CHECK_OK(pq3_map_root(m, root));
                    CHECK_ERR(which == 0 ? pq3_map_verify_member(root, e[7].k, e[7].v, &d)
                                         : pq3_map_verify_absent(root, k, &d),
                              PQ3_ERR_VERIFY);
                } else {
                    CHECK(1);
                }
                wire[depth / 8] = save;
            }
        }
        CHECK_OK(pq3_map_proof_decode(&d, wire, len));
        CHECK(d.has_leaf == p.has_leaf && memcmp(d.bitmap, p.bitmap, sizeof d.bitmap) == 0);
        /* A short buffer tells the size needed. */
        CHECK_ERR(pq3_map_proof_encode(wire, 40, &need, &p), PQ3_ERR_BUFFER);
        CHECK(need == len);
        CHECK_ERR(pq3_map_proof_encode(NULL, 0, &need, &p), PQ3_ERR_BUFFER);
        CHECK(need == len);
    }
    /* The largest proof: 256 siblings and a leaf. */
    memset(wire, 0xff, 32);
    memset(wire + 32, 0x11, 256 * HB);
    wire[32 + 256 * HB] = 1;
    memset(wire + 33 + 256 * HB, 0x22, 64);
    CHECK_OK(pq3_map_proof_decode(&d, wire, PQ3_MAP_PROOF_MAX_BYTES));
    CHECK(pq3_map_proof_size(&d) == PQ3_MAP_PROOF_MAX_BYTES && depth_of(&d) == 256);
    CHECK_ERR(pq3_map_proof_decode(&d, wire, PQ3_MAP_PROOF_MAX_BYTES + 1), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_map_proof_decode(&d, NULL, 0), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_map_proof_decode(NULL, wire, 33), PQ3_ERR_ARG);
    /* Arguments. */
    {
        pq3_map *x = NULL;
        uint8_t h[HB];
        CHECK_ERR(pq3_map_new(NULL), PQ3_ERR_ARG);
        CHECK_ERR(pq3_map_set(NULL, e[0].k, e[0].v, 1), PQ3_ERR_ARG);
        CHECK_ERR(pq3_map_set(m, NULL, e[0].v, 1), PQ3_ERR_ARG);
        CHECK_ERR(pq3_map_root(m, NULL), PQ3_ERR_ARG);
        CHECK_ERR(pq3_map_prove(m, NULL, &p), PQ3_ERR_ARG);
        CHECK_ERR(pq3_map_get(NULL, k, h), PQ3_ERR_ARG);
        CHECK_ERR(pq3_map_verify_member(h, k, NULL, &p), PQ3_ERR_ARG);
        CHECK_ERR(pq3_map_verify_absent(h, k, NULL), PQ3_ERR_ARG);
        CHECK_ERR(pq3_map_leaf_hash(h, NULL, k), PQ3_ERR_ARG);
        p.has_leaf = 3;
        CHECK_ERR(pq3_map_proof_encode(wire, sizeof wire, &len, &p), PQ3_ERR_ARG);
        CHECK(pq3_map_size(NULL) == 0);
        pq3_map_free(x);
    }
    pq3_map_free(m);
}

int main(void)
{
    test_kat();
    test_empty_and_one();
    test_prefixes();
    test_order();
    test_many();
    test_large_build();
    test_codec();
    return pq3t_finish();
}
