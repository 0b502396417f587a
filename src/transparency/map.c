/* The sparse Merkle map of key transparency (include/pq3/map.h). */
#include "pq3/map.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"
#include "transparency/hash.h"

#define HB PQ3_MAP_HASH_BYTES
#define KB PQ3_MAP_KEY_BYTES
#define VB PQ3_MAP_VALUE_BYTES
#define BITMAP_BYTES (PQ3_MAP_DEPTH / 8)

static const uint8_t zero[HB];

/* ---- bits of keys ---------------------------------------------------------- */

/* Bit t of a key, most significant bit of byte 0 first (map.h). */
static unsigned bit(const uint8_t key[KB], unsigned t)
{
    return (key[t >> 3] >> (7 - (t & 7))) & 1u;
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The number of leading bits a and b share (256 when equal). */
static unsigned lcp(const uint8_t a[KB], const uint8_t b[KB])
{
    for (unsigned i = 0; i < KB; i += 8) {
        uint64_t x = load_be64(a + i) ^ load_be64(b + i);
        if (x != 0)
            return i * 8 + (unsigned)__builtin_clzll(x);
    }
    return 256;
}

static int bitmap_get(const uint8_t bitmap[BITMAP_BYTES], unsigned i)
{
    return (bitmap[i >> 3] >> (7 - (i & 7))) & 1;
}

static void bitmap_set(uint8_t bitmap[BITMAP_BYTES], unsigned i)
{
    bitmap[i >> 3] = (uint8_t)(bitmap[i >> 3] | (0x80u >> (i & 7)));
}

static unsigned popcount(const uint8_t bitmap[BITMAP_BYTES])
{
    unsigned n = 0;
    for (size_t i = 0; i < BITMAP_BYTES; i++)
        n += (unsigned)__builtin_popcount(bitmap[i]);
    return n;
}

/* The depth where a proof's path ends: one below its deepest non-empty
 * sibling, 0 when there is none (map.h). */
static unsigned path_depth(const uint8_t bitmap[BITMAP_BYTES])
{
    for (size_t i = BITMAP_BYTES; i-- > 0;)
        if (bitmap[i] != 0)
            return (unsigned)(i * 8 + 8 - (unsigned)__builtin_ctz(bitmap[i]));
    return 0;
}

/* ---- hashes ----------------------------------------------------------------- */

static pq3_err leaf(uint8_t out[HB], const uint8_t key[KB], const uint8_t value[VB])
{
    return pq3_kt_hash(out, PQ3_KT_TAG_MAP_LEAF, key, value);
}

/* The node above h, whose other child is `sib`; h on side `side`. */
static pq3_err up(uint8_t h[HB], const uint8_t sib[HB], unsigned side)
{
    return side == 0 ? pq3_kt_hash(h, PQ3_KT_TAG_MAP_NODE, h, sib)
                     : pq3_kt_hash(h, PQ3_KT_TAG_MAP_NODE, sib, h);
}

pq3_err pq3_map_leaf_hash(uint8_t out[HB], const uint8_t key[KB], const uint8_t value[VB])
{
    if (out == NULL || key == NULL || value == NULL)
        return PQ3_ERR_ARG;
    return leaf(out, key, value);
}

/* ---- verification ----------------------------------------------------------- */

/* The root that proof leads to from key's path; PQ3_ERR_VERIFY when the
 * leaf at its end cannot be on key's path. */
static pq3_err proof_root(uint8_t out[HB], const uint8_t key[KB], const pq3_map_proof *proof)
{
    unsigned depth = path_depth(proof->bitmap), j = popcount(proof->bitmap);
    uint8_t h[HB];
    pq3_err err;

    if (proof->has_leaf) {
        if (lcp(proof->leaf_key, key) < depth)
            return PQ3_ERR_VERIFY;
        if ((err = leaf(h, proof->leaf_key, proof->leaf_value)) != PQ3_OK)
            return err;
    } else {
        memset(h, 0, HB);
    }
    for (unsigned t = depth; t >= 1; t--) {
        const uint8_t *sib = bitmap_get(proof->bitmap, t - 1) ? proof->siblings[--j] : zero;
        if ((err = up(h, sib, bit(key, t - 1))) != PQ3_OK)
            return err;
    }
    memcpy(out, h, HB);
    return PQ3_OK;
}

pq3_err pq3_map_verify_member(const uint8_t root[HB], const uint8_t key[KB],
                              const uint8_t value[VB], const pq3_map_proof *proof)
{
    uint8_t r[HB];
    pq3_err err;

    if (root == NULL || key == NULL || value == NULL || proof == NULL ||
        (proof->has_leaf != 0 && proof->has_leaf != 1))
        return PQ3_ERR_ARG;
    if (!proof->has_leaf || memcmp(proof->leaf_key, key, KB) != 0 ||
        memcmp(proof->leaf_value, value, VB) != 0)
        return PQ3_ERR_VERIFY;
    if ((err = proof_root(r, key, proof)) != PQ3_OK)
        return err;
    return memcmp(r, root, HB) == 0 ? PQ3_OK : PQ3_ERR_VERIFY;
}

pq3_err pq3_map_verify_absent(const uint8_t root[HB], const uint8_t key[KB],
                              const pq3_map_proof *proof)
{
    uint8_t r[HB];
    pq3_err err;

    if (root == NULL || key == NULL || proof == NULL ||
        (proof->has_leaf != 0 && proof->has_leaf != 1))
        return PQ3_ERR_ARG;
    if (proof->has_leaf && memcmp(proof->leaf_key, key, KB) == 0)
        return PQ3_ERR_VERIFY;
    if ((err = proof_root(r, key, proof)) != PQ3_OK)
        return err;
    return memcmp(r, root, HB) == 0 ? PQ3_OK : PQ3_ERR_VERIFY;
}

/* ---- wire encoding ---------------------------------------------------------- */

size_t pq3_map_proof_size(const pq3_map_proof *proof)
{
    if (proof == NULL)
        return 0;
    return BITMAP_BYTES + popcount(proof->bitmap) * (size_t)HB + 1 +
           (proof->has_leaf ? KB + VB : 0);
}

pq3_err pq3_map_proof_encode(uint8_t *out, size_t cap, size_t *out_len,
                             const pq3_map_proof *proof)
{
    pq3_writer w;
    unsigned count;

    if (out_len == NULL || proof == NULL || (out == NULL && cap > 0) ||
        (proof->has_leaf != 0 && proof->has_leaf != 1))
        return PQ3_ERR_ARG;
    count = popcount(proof->bitmap);
    pq3_writer_init(&w, out, cap);
    pq3_write_bytes(&w, proof->bitmap, BITMAP_BYTES);
    for (unsigned i = 0; i < count; i++)
        pq3_write_bytes(&w, proof->siblings[i], HB);
    pq3_write_present(&w, proof->has_leaf);
    if (proof->has_leaf) {
        pq3_write_bytes(&w, proof->leaf_key, KB);
        pq3_write_bytes(&w, proof->leaf_value, VB);
    }
    return pq3_writer_end(&w, out_len);
}

pq3_err pq3_map_proof_decode(pq3_map_proof *proof, const uint8_t *in, size_t len)
{
    pq3_map_proof tmp, *p = &tmp;
    pq3_reader r;
    unsigned count;
    pq3_err err;

    if (proof == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    /* Decoded aside, so *proof stays untouched on error. */
    memset(p, 0, sizeof *p);
    pq3_reader_init(&r, in, len);
    pq3_read_bytes(&r, p->bitmap, BITMAP_BYTES);
    count = popcount(p->bitmap);
    for (unsigned i = 0; i < count; i++) {
        pq3_read_bytes(&r, p->siblings[i], HB);
        /* Zero is the empty subtree: marked non-empty, it would give a
         * second encoding of the same proof. */
        if (r.err == PQ3_OK && memcmp(p->siblings[i], zero, HB) == 0)
            pq3_reader_fail(&r, PQ3_ERR_DECODE);
    }
    p->has_leaf = pq3_read_present(&r);
    if (p->has_leaf) {
        pq3_read_bytes(&r, p->leaf_key, KB);
        pq3_read_bytes(&r, p->leaf_value, VB);
    }
    if ((err = pq3_reader_end(&r)) == PQ3_OK)
        memcpy(proof, p, sizeof *p);
    return err;
}

/* ---- the server side -------------------------------------------------------- */

/*
 * One key and its value, and `split`: the hash of the node where this key's
 * path and the next key's part (the node at depth lcp(key, next key), which
 * holds both, two keys or more). Every node with two keys or more is such a
 * split of exactly one adjacent pair, so the N - 1 splits are all the
 * interior hashes there are, less the one-child nodes above each split
 * (recomputed: for random keys about one per split seen). The last record's
 * split is unused.
 */
typedef struct {
    uint8_t key[KB];
    uint8_t value[VB];
    uint8_t split[HB];
} rec;

/* r[0..n) is the map. A batch is merged into `spare` (kept between
 * batches: a fresh array of 10^6 records would cost its page faults, on
 * this machine more than the hashing) and the two swap when it succeeds. */
struct pq3_map {
    rec *r, *spare;
    size_t n, cap, spare_cap;
    uint8_t root[HB];
};

/* The first index in [lo, hi) whose key has bit p set; the keys of the
 * range share their first p bits, key lo has bit p clear and key hi - 1 has
 * it set. */
static size_t split_point(const rec *r, size_t lo, size_t hi, unsigned p)
{
    size_t a = lo + 1, b = hi - 1;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (bit(r[mid].key, p))
            b = mid;
        else
            a = mid + 1;
    }
    return a;
}

/* h, the hash of the node at depth `from` on the path of prefix `key`,
 * becomes the hash of its ancestor at depth `to`: the nodes between have
 * one child (the other side empty). */
static pq3_err climb(uint8_t h[HB], const uint8_t key[KB], unsigned from, unsigned to)
{
    pq3_err err;
    for (unsigned t = from; t > to; t--)
        if ((err = up(h, zero, bit(key, t - 1))) != PQ3_OK)
            return err;
    return PQ3_OK;
}

/* The hash of the node at depth d holding keys [lo, hi) (they share d
 * bits), from the cached splits. */
static pq3_err node_hash(uint8_t out[HB], const rec *r, size_t lo, size_t hi, unsigned d)
{
    unsigned p;
    if (hi == lo) {
        memcpy(out, zero, HB);
        return PQ3_OK;
    }
    if (hi - lo == 1)
        return leaf(out, r[lo].key, r[lo].value);
    p = lcp(r[lo].key, r[hi - 1].key);
    memcpy(out, r[split_point(r, lo, hi, p) - 1].split, HB);
    return climb(out, r[lo].key, p, d);
}

/*
 * The same, recomputing the splits of the ranges that hold a changed key:
 * dirty[0..nd) are the indices in [lo, hi) of the keys that are new or
 * have a new value (dirty NULL: all nd = hi - lo of them, a first build).
 * A range without one is unchanged since the splits were computed (keys
 * are never removed, so the same keys were adjacent then), and its cached
 * hashes hold.
 */
static pq3_err rebuild(uint8_t out[HB], rec *r, size_t lo, size_t hi, unsigned d,
                       const size_t *dirty, size_t nd)
{
    uint8_t l[HB], rr[HB];
    size_t s, ds;
    unsigned p;
    pq3_err err;

    if (nd == 0 || hi - lo < 2)
        return node_hash(out, r, lo, hi, d);
    p = lcp(r[lo].key, r[hi - 1].key);
    s = split_point(r, lo, hi, p);
    if (dirty == NULL) {
        ds = s - lo;
    } else {
        /* The changed keys left of the split. */
        size_t a = 0, b = nd;
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (dirty[mid] < s)
                a = mid + 1;
            else
                b = mid;
        }
        ds = a;
    }
    if ((err = rebuild(l, r, lo, s, p + 1, dirty, ds)) != PQ3_OK ||
        (err = rebuild(rr, r, s, hi, p + 1, dirty == NULL ? NULL : dirty + ds, nd - ds)) !=
            PQ3_OK ||
        (err = pq3_kt_hash(r[s - 1].split, PQ3_KT_TAG_MAP_NODE, l, rr)) != PQ3_OK)
        return err;
    memcpy(out, r[s - 1].split, HB);
    return climb(out, r[lo].key, p, d);
}

pq3_err pq3_map_new(pq3_map **out)
{
    pq3_map *m;
    if (out == NULL)
        return PQ3_ERR_ARG;
    if ((m = calloc(1, sizeof *m)) == NULL)
        return PQ3_ERR_NOMEM;
    *out = m;
    return PQ3_OK;
}

void pq3_map_free(pq3_map *map)
{
    if (map == NULL)
        return;
    free(map->r);
    free(map->spare);
    free(map);
}

size_t pq3_map_size(const pq3_map *map)
{
    return map == NULL ? 0 : map->n;
}

pq3_err pq3_map_root(const pq3_map *map, uint8_t root[HB])
{
    if (map == NULL || root == NULL)
        return PQ3_ERR_ARG;
    memcpy(root, map->root, HB);
    return PQ3_OK;
}

/* The index of key, or the index where it would be inserted. */
static size_t find(const rec *r, size_t n, const uint8_t key[KB], int *found)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        int c = memcmp(r[mid].key, key, KB);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *found = 0;
    return a;
}

pq3_err pq3_map_get(const pq3_map *map, const uint8_t key[KB], uint8_t value[VB])
{
    int found;
    size_t i;
    if (map == NULL || key == NULL || value == NULL)
        return PQ3_ERR_ARG;
    i = find(map->r, map->n, key, &found);
    if (!found)
        return PQ3_ERR_UNKNOWN;
    memcpy(value, map->r[i].value, VB);
    return PQ3_OK;
}

/* A pair of a batch with its position, so that sorting keeps the last
 * pair of a key. */
typedef struct {
    uint8_t key[KB];
    uint8_t value[VB];
    size_t pos;
} change;

static int change_cmp(const void *a, const void *b)
{
    const change *x = a, *y = b;
    int c = memcmp(x->key, y->key, KB);
    if (c != 0)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The same for the records of a first build, sorted in place: the
 * position sits in the split field until the splits are computed. */
static int rec_cmp(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    size_t px, py;
    int c = memcmp(x->key, y->key, KB);
    if (c != 0)
        return c;
    memcpy(&px, x->split, sizeof px);
    memcpy(&py, y->split, sizeof py);
    return px < py ? -1 : px > py;
}

/* Makes the spare array hold at least `total` records. */
static pq3_err reserve_spare(pq3_map *map, size_t total)
{
    size_t cap;
    if (map->spare_cap >= total)
        return PQ3_OK;
    /* A quarter more, so that growing batches do not each reallocate. */
    if (total > SIZE_MAX / sizeof(rec) - total / 4)
        return PQ3_ERR_NOMEM;
    cap = total + total / 4;
    free(map->spare);
    map->spare_cap = 0;
    if ((map->spare = malloc(cap * sizeof(rec))) == NULL)
        return PQ3_ERR_NOMEM;
    map->spare_cap = cap;
    return PQ3_OK;
}

/* The spare array, holding the map's next state of `total` keys with
 * `root`, becomes the map. */
static void commit(pq3_map *map, size_t total, const uint8_t root[HB])
{
    rec *old = map->r;
    size_t old_cap = map->cap;
    map->r = map->spare;
    map->cap = map->spare_cap;
    map->spare = old;
    map->spare_cap = old_cap;
    map->n = total;
    memcpy(map->root, root, HB);
}

/* The records of a first build, sorted by key and position in the spare
 * array: the last pair of each key kept, the root computed. */
static pq3_err finish_build(pq3_map *map, size_t n)
{
    rec *r = map->spare;
    size_t total = 0;
    uint8_t root[HB];
    pq3_err err;

    /* Keep the last pair of each key. */
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && memcmp(r[i].key, r[i + 1].key, KB) == 0)
            continue;
        if (total != i)
            r[total] = r[i];
        total++;
    }
    if ((err = rebuild(root, r, 0, total, 0, NULL, total)) != PQ3_OK)
        return err;
    commit(map, total, root);
    return PQ3_OK;
}

#define BUCKETS 65536 /* by the first 16 bits of the key */

static size_t bucket(const uint8_t key[KB])
{
    return (size_t)key[0] << 8 | key[1];
}

/*
 * A first build: the pairs are distributed straight into the spare array
 * by their first 16 bits (a counting sort: for keys that are VRF outputs
 * the buckets hold about N / 65536 keys each), then each bucket is sorted.
 * 10^6 keys sort in about a tenth of what qsort of the whole takes, and no
 * second array is faulted in. Every key is changed.
 */
static pq3_err build(pq3_map *map, const uint8_t *keys, const uint8_t *values, size_t n)
{
    size_t *next;
    rec *r;
    pq3_err err;

    if ((err = reserve_spare(map, n)) != PQ3_OK)
        return err;
    r = map->spare;
    if (n < BUCKETS / 4) {
        /* Too few keys to fill the buckets: a plain sort. */
        for (size_t i = 0; i < n; i++) {
            memcpy(r[i].key, keys + i * KB, KB);
            memcpy(r[i].value, values + i * VB, VB);
            memcpy(r[i].split, &i, sizeof i);
        }
        qsort(r, n, sizeof *r, rec_cmp);
        return finish_build(map, n);
    }
    if ((next = calloc(BUCKETS + 1, sizeof *next)) == NULL)
        return PQ3_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        next[bucket(keys + i * KB) + 1]++;
    for (size_t b = 1; b <= BUCKETS; b++)
        next[b] += next[b - 1];
    for (size_t i = 0; i < n; i++) {
        rec *x = &r[next[bucket(keys + i * KB)]++];
        memcpy(x->key, keys + i * KB, KB);
        memcpy(x->value, values + i * VB, VB);
        memcpy(x->split, &i, sizeof i);
    }
    /* next[b] is now the end of bucket b, and the start of b + 1. */
    for (size_t b = 0, start = 0; b < BUCKETS; start = next[b++])
        if (next[b] - start > 1)
            qsort(r + start, next[b] - start, sizeof *r, rec_cmp);
    free(next);
    return finish_build(map, n);
}

pq3_err pq3_map_set(pq3_map *map, const uint8_t *keys, const uint8_t *values, size_t n)
{
    change *ch = NULL;
    rec *nr;
    size_t *dirty = NULL, nc = 0, added = 0, total, nd = 0, i, j, k;
    uint8_t root[HB];
    pq3_err err = PQ3_ERR_NOMEM;

    if (map == NULL || ((keys == NULL || values == NULL) && n > 0))
        return PQ3_ERR_ARG;
    if (n == 0)
        return PQ3_OK;
    if (map->n == 0)
        return build(map, keys, values, n);
    if (n > SIZE_MAX / sizeof *ch || (ch = malloc(n * sizeof *ch)) == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        memcpy(ch[i].key, keys + i * KB, KB);
        memcpy(ch[i].value, values + i * VB, VB);
        ch[i].pos = i;
    }
    qsort(ch, n, sizeof *ch, change_cmp);
    /* Keep the last pair of each key. */
    for (i = 0; i < n; i++) {
        if (i + 1 < n && memcmp(ch[i].key, ch[i + 1].key, KB) == 0)
            continue;
        ch[nc++] = ch[i];
    }
    for (i = 0, j = 0; j < nc; j++) {
        int found;
        i += find(map->r + i, map->n - i, ch[j].key, &found);
        added += !found;
    }
    total = map->n + added;
    if ((err = reserve_spare(map, total)) != PQ3_OK)
        goto out;
    err = PQ3_ERR_NOMEM;
    if ((dirty = malloc(nc * sizeof *dirty)) == NULL)
        goto out;
    /* Merge the sorted changes into the spare array: on any error below
     * the map keeps its array, untouched. */
    nr = map->spare;
    for (i = 0, j = 0, k = 0; k < total; k++) {
        int c = i == map->n ? 1 : j == nc ? -1 : memcmp(map->r[i].key, ch[j].key, KB);
        if (c < 0) {
            nr[k] = map->r[i++];
        } else if (c == 0) {
            nr[k] = map->r[i++];
            if (memcmp(nr[k].value, ch[j].value, VB) != 0) {
                memcpy(nr[k].value, ch[j].value, VB);
                dirty[nd++] = k;
            }
            j++;
        } else {
            memcpy(nr[k].key, ch[j].key, KB);
            memcpy(nr[k].value, ch[j].value, VB);
            memset(nr[k].split, 0, HB);
            dirty[nd++] = k;
            j++;
        }
    }
    if ((err = rebuild(root, nr, 0, total, 0, dirty, nd)) != PQ3_OK)
        goto out;
    commit(map, total, root);
out:
    free(dirty);
    free(ch);
    return err;
}

/* Down key's path from the root (map.h): at each split on the way, the
 * other side is a sibling; the path ends where its range holds one key or
 * none, or where key leaves the prefix of the range (in an empty child of
 * a one-child node, whose other child is then the last sibling). */
pq3_err pq3_map_prove(const pq3_map *map, const uint8_t key[KB], pq3_map_proof *proof)
{
    uint8_t bitmap[BITMAP_BYTES] = { 0 }, sibs[PQ3_MAP_DEPTH][HB];
    size_t lo = 0, hi, count = 0;
    pq3_err err;

    if (map == NULL || key == NULL || proof == NULL)
        return PQ3_ERR_ARG;
    hi = map->n;
    for (;;) {
        unsigned p, c;
        size_t s;
        if (hi - lo < 2)
            break;
        p = lcp(map->r[lo].key, map->r[hi - 1].key);
        c = lcp(key, map->r[lo].key);
        if (c < p) {
            /* key's bit c differs from the range's: key's node at depth
             * c + 1 is empty, the range's node there is its sibling. */
            if ((err = node_hash(sibs[count++], map->r, lo, hi, c + 1)) != PQ3_OK)
                return err;
            bitmap_set(bitmap, c);
            lo = hi;
            break;
        }
        s = split_point(map->r, lo, hi, p);
        if (bit(key, p) == 0) {
            err = node_hash(sibs[count++], map->r, s, hi, p + 1);
            hi = s;
        } else {
            err = node_hash(sibs[count++], map->r, lo, s, p + 1);
            lo = s;
        }
        if (err != PQ3_OK)
            return err;
        bitmap_set(bitmap, p);
    }
    memcpy(proof->siblings, sibs, count * HB);
    memcpy(proof->bitmap, bitmap, BITMAP_BYTES);
    proof->has_leaf = hi - lo == 1;
    if (proof->has_leaf) {
        memcpy(proof->leaf_key, map->r[lo].key, KB);
        memcpy(proof->leaf_value, map->r[lo].value, VB);
    } else {
        memset(proof->leaf_key, 0, KB);
        memset(proof->leaf_value, 0, VB);
    }
    return PQ3_OK;
}
