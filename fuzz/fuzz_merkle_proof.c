/* libFuzzer target: the Merkle log's proofs (include/pq3/merkle.h). The
 * first byte picks a mode:
 *   0, 1  the rest is index/size1 (u64), size/size2 (u64), two hashes and a
 *         proof's wire encoding: decoded, encoded back (it must give the same
 *         bytes) and verified as an inclusion (0) or consistency (1) proof,
 *         which may fail but only with PQ3_ERR_VERIFY;
 *   2     a tree of up to 80 leaves made from the input, its proofs for the
 *         position the input names, which must verify; and the rest of the
 *         input as a proof for the same position, which may verify only if
 *         it is that proof (proofs are unique).
 * Nothing may crash. */
#include <stdlib.h>
#include <string.h>

#include "pq3/merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int same(const pq3_merkle_proof *a, const pq3_merkle_proof *b)
{
    return a->count == b->count && memcmp(a->hash, b->hash, a->count * 32) == 0;
}

static void decode_verify(const uint8_t *in, size_t len, int mode)
{
    static pq3_merkle_proof p;
    static uint8_t out[PQ3_MERKLE_PROOF_MAX_BYTES];
    size_t n;
    pq3_err e;
    if (len < 80)
        return;
    if (pq3_merkle_proof_decode(&p, in + 80, len - 80) != PQ3_OK)
        return;
    if (pq3_merkle_proof_encode(out, sizeof out, &n, &p) != PQ3_OK || n != len - 80 ||
        memcmp(out, in + 80, n) != 0)
        abort();
    if (mode == 0)
        e = pq3_merkle_inclusion_verify(in + 16, be64(in + 8), be64(in), in + 48, &p);
    else
        e = pq3_merkle_consistency_verify(be64(in), be64(in + 8), in + 16, in + 48, &p);
    if (e != PQ3_OK && e != PQ3_ERR_VERIFY)
        abort();
}

static void generated(const uint8_t *in, size_t len)
{
    static uint8_t leaves[80 * 32];
    static pq3_merkle_proof p, q;
    uint8_t root[32], root1[32];
    uint64_t n, index, size1;
    if (len < 3)
        return;
    n = in[0] % 80 + 1;
    index = in[1] % n;
    size1 = in[2] % n + 1;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t d[3] = { (uint8_t)i, in[0], in[1] };
        if (pq3_merkle_leaf_hash(leaves + i * 32, d, sizeof d) != PQ3_OK)
            abort();
    }
    if (pq3_merkle_root(root, leaves, n) != PQ3_OK ||
        pq3_merkle_root(root1, leaves, size1) != PQ3_OK)
        abort();
    if (pq3_merkle_inclusion_prove(&p, leaves, n, index) != PQ3_OK ||
        pq3_merkle_inclusion_verify(root, n, index, leaves + index * 32, &p) != PQ3_OK)
        abort();
    if (pq3_merkle_proof_decode(&q, in + 3, len - 3) == PQ3_OK &&
        pq3_merkle_inclusion_verify(root, n, index, leaves + index * 32, &q) == PQ3_OK &&
        !same(&p, &q))
        abort();
    if (pq3_merkle_consistency_prove(&p, leaves, size1, n) != PQ3_OK ||
        pq3_merkle_consistency_verify(size1, n, root1, root, &p) != PQ3_OK)
        abort();
    if (pq3_merkle_proof_decode(&q, in + 3, len - 3) == PQ3_OK &&
        pq3_merkle_consistency_verify(size1, n, root1, root, &q) == PQ3_OK && !same(&p, &q))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: decode_verify(data + 1, size - 1, 0); break;
    case 1: decode_verify(data + 1, size - 1, 1); break;
    default: generated(data + 1, size - 1); break;
    }
    return 0;
}
