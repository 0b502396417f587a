/* libFuzzer target: the map's proofs (include/pq3/map.h). The first byte
 * picks a mode:
 *   0  the rest is a root, a key, a value and a proof's wire encoding:
 *      decoded, encoded back (it must give the same bytes), and verified
 *      for membership and for absence, which may fail but only with
 *      PQ3_ERR_VERIFY, and never both succeed;
 *   1  a map of up to 24 keys made from the input (many sharing long
 *      prefixes), whose proofs must verify for every key it holds and for
 *      absence of a key it does not; the rest of the input as a proof may
 *      not show the opposite of what the map holds.
 * Nothing may crash. */
#include <stdlib.h>
#include <string.h>

#include "pq3/map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_verify(const uint8_t *in, size_t len)
{
    static pq3_map_proof p;
    static uint8_t out[PQ3_MAP_PROOF_MAX_BYTES];
    size_t n;
    pq3_err a, b;
    if (len < 96 || pq3_map_proof_decode(&p, in + 96, len - 96) != PQ3_OK)
        return;
    if (pq3_map_proof_encode(out, sizeof out, &n, &p) != PQ3_OK || n != len - 96 ||
        memcmp(out, in + 96, n) != 0 || n != pq3_map_proof_size(&p))
        abort();
    a = pq3_map_verify_member(in, in + 32, in + 64, &p);
    b = pq3_map_verify_absent(in, in + 32, &p);
    if ((a != PQ3_OK && a != PQ3_ERR_VERIFY) || (b != PQ3_OK && b != PQ3_ERR_VERIFY) ||
        (a == PQ3_OK && b == PQ3_OK))
        abort();
}

static void generated(const uint8_t *in, size_t len)
{
    static pq3_map_proof p, q;
    uint8_t keys[24 * 32], vals[24 * 32], root[32], probe[32], v[32];
    size_t n;
    pq3_map *m = NULL;
    if (len < 2)
        return;
    n = in[0] % 24 + 1;
    /* Keys: 0xff.., one bit cleared at a position the input picks, and a
     * byte of the input: long shared prefixes, some keys repeated. */
    for (size_t i = 0; i < n; i++) {
        uint8_t pos = in[(1 + i) % len];
        memset(keys + i * 32, 0xff, 32);
        keys[i * 32 + pos / 8] &= (uint8_t)~(0x80u >> (pos % 8));
        keys[i * 32 + 31] ^= in[(2 + i) % len];
        memset(vals + i * 32, (int)i, 32);
    }
    memset(probe, 0xff, 32);
    probe[in[1] / 8] ^= (uint8_t)(0x80u >> (in[1] % 8));
    if (pq3_map_new(&m) != PQ3_OK || pq3_map_set(m, keys, vals, n / 2) != PQ3_OK ||
        pq3_map_set(m, keys + n / 2 * 32, vals + n / 2 * 32, n - n / 2) != PQ3_OK ||
        pq3_map_root(m, root) != PQ3_OK)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (pq3_map_get(m, keys + i * 32, v) != PQ3_OK ||
            pq3_map_prove(m, keys + i * 32, &p) != PQ3_OK ||
            pq3_map_verify_member(root, keys + i * 32, v, &p) != PQ3_OK ||
            pq3_map_verify_absent(root, keys + i * 32, &p) != PQ3_ERR_VERIFY)
            abort();
    }
    if (pq3_map_prove(m, probe, &p) != PQ3_OK)
        abort();
    if (pq3_map_get(m, probe, v) == PQ3_OK) {
        if (pq3_map_verify_member(root, probe, v, &p) != PQ3_OK)
            abort();
        if (pq3_map_proof_decode(&q, in + 2, len - 2) == PQ3_OK &&
            pq3_map_verify_absent(root, probe, &q) == PQ3_OK)
            abort();
    } else {
        if (pq3_map_verify_absent(root, probe, &p) != PQ3_OK)
            abort();
        if (pq3_map_proof_decode(&q, in + 2, len - 2) == PQ3_OK && q.has_leaf &&
            pq3_map_verify_member(root, probe, q.leaf_value, &q) == PQ3_OK)
            abort();
    }
    pq3_map_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0)
        decode_verify(data + 1, size - 1);
    else
        generated(data + 1, size - 1);
    return 0;
}
