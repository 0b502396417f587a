/* The RFC 6962 / RFC 9162 Merkle log (include/pq3/merkle.h). */
#include "pq3/merkle.h"

#include <string.h>

#include "protocol/codec.h"
#include "transparency/hash.h"

#define HB PQ3_MERKLE_HASH_BYTES

static pq3_err node(uint8_t out[HB], const uint8_t l[HB], const uint8_t r[HB])
{
    return pq3_kt_hash(out, PQ3_KT_TAG_LOG_NODE, l, r);
}

/* The largest power of two below n (n >= 2): the split of RFC 9162 §2.1.1. */
static uint64_t split(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/*
 * MTH (RFC 9162 §2.1.1) of the n leaf hashes at `leaves`, in one pass left to
 * right with a stack of perfect subtrees: after leaf i is pushed, the top
 * two are merged while they have equal size (as many times as i + 1 has
 * trailing zero bits). What remains are the perfect subtrees of the binary
 * digits of n, largest first, and MTH folds them from the right, which is
 * exactly what the recursive definition does with its left subtrees of
 * power-of-two size. n - 1 node hashes, 64 hashes of memory.
 */
static pq3_err mth(uint8_t out[HB], const uint8_t *leaves, uint64_t n)
{
    uint8_t stack[64][HB];
    size_t sp = 0;
    pq3_err err;

    if (n == 0)
        return pq3_sha256(out, NULL, 0);
    for (uint64_t i = 0; i < n; i++) {
        memcpy(stack[sp++], leaves + i * HB, HB);
        for (uint64_t c = i + 1; (c & 1) == 0; c >>= 1, sp--)
            if ((err = node(stack[sp - 2], stack[sp - 2], stack[sp - 1])) != PQ3_OK)
                return err;
    }
    for (; sp > 1; sp--)
        if ((err = node(stack[sp - 2], stack[sp - 2], stack[sp - 1])) != PQ3_OK)
            return err;
    memcpy(out, stack[0], HB);
    return PQ3_OK;
}

pq3_err pq3_merkle_leaf_hash(uint8_t out[HB], const uint8_t *data, size_t len)
{
    static const uint8_t tag = PQ3_KT_TAG_LOG_LEAF;
    /* The data is the caller's (a whole log entry): hashed in two pieces
     * rather than copied behind the tag. */
    pq3_iov parts[2];

    if (out == NULL || (data == NULL && len > 0))
        return PQ3_ERR_ARG;
    parts[0].p = &tag;
    parts[0].len = 1;
    parts[1].p = data;
    parts[1].len = len;
    return pq3_sha256_iov(out, parts, 2);
}

pq3_err pq3_merkle_node_hash(uint8_t out[HB], const uint8_t left[HB], const uint8_t right[HB])
{
    if (out == NULL || left == NULL || right == NULL)
        return PQ3_ERR_ARG;
    return node(out, left, right);
}

pq3_err pq3_merkle_root(uint8_t root[HB], const uint8_t *leaf_hashes, uint64_t n)
{
    pq3_err err;
    if (root == NULL || (leaf_hashes == NULL && n > 0) || n > SIZE_MAX / HB)
        return PQ3_ERR_ARG;
    if ((err = mth(root, leaf_hashes, n)) != PQ3_OK)
        pq3_wipe(root, HB);
    return err;
}

/* The path hashes were found top-down; RFC 9162 lists them bottom-up. */
static void reverse_into(pq3_merkle_proof *proof, uint8_t (*tmp)[HB], size_t count)
{
    proof->count = count;
    for (size_t i = 0; i < count; i++)
        memcpy(proof->hash[i], tmp[count - 1 - i], HB);
}

/* RFC 9162 §2.1.3.1: PATH(m, D[n]). Unrolled from the top: at each level the
 * head of the subtree that does not hold leaf m is a path hash. */
pq3_err pq3_merkle_inclusion_prove(pq3_merkle_proof *proof, const uint8_t *leaf_hashes,
                                   uint64_t size, uint64_t index)
{
    uint8_t tmp[PQ3_MERKLE_MAX_PROOF][HB];
    uint64_t lo = 0, n = size, m = index, k;
    size_t count = 0;
    pq3_err err;

    if (proof == NULL || leaf_hashes == NULL || index >= size || size > SIZE_MAX / HB)
        return PQ3_ERR_ARG;
    /* Each step at least halves n, so there are at most 64 steps. */
    while (n > 1) {
        k = split(n);
        if (m < k) {
            err = mth(tmp[count], leaf_hashes + (lo + k) * HB, n - k);
            n = k;
        } else {
            err = mth(tmp[count], leaf_hashes + lo * HB, k);
            lo += k;
            m -= k;
            n -= k;
        }
        if (err != PQ3_OK)
            return err;
        count++;
    }
    reverse_into(proof, tmp, count);
    return PQ3_OK;
}

/* RFC 9162 §2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true), unrolled from
 * the top; b turns false once the old tree is no longer a left subtree, and
 * then the head of the old tree's last subtree ends (begins, bottom-up) the
 * proof. */
pq3_err pq3_merkle_consistency_prove(pq3_merkle_proof *proof, const uint8_t *leaf_hashes,
                                     uint64_t size1, uint64_t size2)
{
    uint8_t tmp[PQ3_MERKLE_MAX_PROOF + 1][HB];
    uint64_t lo = 0, m = size1, n = size2, k;
    size_t count = 0;
    int whole = 1;
    pq3_err err;

    if (proof == NULL || leaf_hashes == NULL || size1 == 0 || size1 > size2 ||
        size2 > SIZE_MAX / HB)
        return PQ3_ERR_ARG;
    while (m != n) {
        k = split(n);
        if (m <= k) {
            err = mth(tmp[count], leaf_hashes + (lo + k) * HB, n - k);
            n = k;
        } else {
            err = mth(tmp[count], leaf_hashes + lo * HB, k);
            lo += k;
            m -= k;
            n -= k;
            whole = 0;
        }
        if (err != PQ3_OK)
            return err;
        count++;
    }
    if (!whole) {
        if ((err = mth(tmp[count], leaf_hashes + lo * HB, n)) != PQ3_OK)
            return err;
        count++;
    }
    if (count > PQ3_MERKLE_MAX_PROOF)
        return PQ3_ERR_LIMIT;
    reverse_into(proof, tmp, count);
    return PQ3_OK;
}

/* RFC 9162 §2.1.3.2 and §2.1.4.2: "right-shift both fn and sn equally until
 * either LSB(fn) is set or fn is 0". */
static void shift_to_odd(uint64_t *fn, uint64_t *sn)
{
    while ((*fn & 1) == 0 && *fn != 0) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

pq3_err pq3_merkle_inclusion_verify(const uint8_t root[HB], uint64_t size, uint64_t index,
                                    const uint8_t leaf_hash[HB], const pq3_merkle_proof *proof)
{
    uint8_t r[HB];
    uint64_t fn, sn;
    pq3_err err;

    if (root == NULL || leaf_hash == NULL || proof == NULL ||
        proof->count > PQ3_MERKLE_MAX_PROOF)
        return PQ3_ERR_ARG;
    /* §2.1.3.2 step 1. */
    if (index >= size)
        return PQ3_ERR_VERIFY;
    /* Steps 2-4. */
    fn = index;
    sn = size - 1;
    memcpy(r, leaf_hash, HB);
    for (size_t i = 0; i < proof->count; i++) {
        const uint8_t *p = proof->hash[i];
        if (sn == 0)
            return PQ3_ERR_VERIFY;
        if ((fn & 1) != 0 || fn == sn) {
            err = node(r, p, r);
            if ((fn & 1) == 0)
                shift_to_odd(&fn, &sn);
        } else {
            err = node(r, r, p);
        }
        if (err != PQ3_OK)
            return err;
        fn >>= 1;
        sn >>= 1;
    }
    /* Step 5. */
    return sn == 0 && memcmp(r, root, HB) == 0 ? PQ3_OK : PQ3_ERR_VERIFY;
}

pq3_err pq3_merkle_consistency_verify(uint64_t size1, uint64_t size2, const uint8_t root1[HB],
                                      const uint8_t root2[HB], const pq3_merkle_proof *proof)
{
    uint8_t fr[HB], sr[HB];
    uint64_t fn, sn;
    size_t start;
    pq3_err err;

    if (root1 == NULL || root2 == NULL || proof == NULL || proof->count > PQ3_MERKLE_MAX_PROOF)
        return PQ3_ERR_ARG;
    /* The conventions of merkle.h. */
    if (size1 == 0 || size1 > size2)
        return PQ3_ERR_VERIFY;
    if (size1 == size2)
        return proof->count == 0 && memcmp(root1, root2, HB) == 0 ? PQ3_OK : PQ3_ERR_VERIFY;
    /* §2.1.4.2 step 1. */
    if (proof->count == 0)
        return PQ3_ERR_VERIFY;
    /* Step 2: when size1 is a power of two, the old head is the first path
     * value (it is a complete left subtree, so the proof leaves it out). */
    if ((size1 & (size1 - 1)) == 0) {
        memcpy(fr, root1, HB);
        start = 0;
    } else {
        memcpy(fr, proof->hash[0], HB);
        start = 1;
    }
    memcpy(sr, fr, HB);
    /* Steps 3-5. */
    fn = size1 - 1;
    sn = size2 - 1;
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    /* Step 6. */
    for (size_t i = start; i < proof->count; i++) {
        const uint8_t *c = proof->hash[i];
        if (sn == 0)
            return PQ3_ERR_VERIFY;
        if ((fn & 1) != 0 || fn == sn) {
            if ((err = node(fr, c, fr)) != PQ3_OK || (err = node(sr, c, sr)) != PQ3_OK)
                return err;
            if ((fn & 1) == 0)
                shift_to_odd(&fn, &sn);
        } else if ((err = node(sr, sr, c)) != PQ3_OK) {
            return err;
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* Step 7. */
    return memcmp(fr, root1, HB) == 0 && memcmp(sr, root2, HB) == 0 && sn == 0
               ? PQ3_OK
               : PQ3_ERR_VERIFY;
}

/* ---- wire encoding: u8 count || count x hash ----------------------------- */

size_t pq3_merkle_proof_size(const pq3_merkle_proof *proof)
{
    return proof == NULL ? 0 : 1 + proof->count * HB;
}

pq3_err pq3_merkle_proof_encode(uint8_t *out, size_t cap, size_t *out_len,
                                const pq3_merkle_proof *proof)
{
    pq3_writer w;
    if (out_len == NULL || proof == NULL || proof->count > PQ3_MERKLE_MAX_PROOF ||
        (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    pq3_writer_init(&w, out, cap);
    pq3_write_u8(&w, (uint8_t)proof->count);
    for (size_t i = 0; i < proof->count; i++)
        pq3_write_bytes(&w, proof->hash[i], HB);
    return pq3_writer_end(&w, out_len);
}

pq3_err pq3_merkle_proof_decode(pq3_merkle_proof *proof, const uint8_t *in, size_t len)
{
    pq3_merkle_proof p;
    pq3_reader r;
    pq3_err err;

    if (proof == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    pq3_reader_init(&r, in, len);
    p.count = pq3_read_u8(&r);
    if (p.count > PQ3_MERKLE_MAX_PROOF) {
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
        p.count = 0;
    }
    for (size_t i = 0; i < p.count; i++)
        pq3_read_bytes(&r, p.hash[i], HB);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    proof->count = p.count;
    memcpy(proof->hash, p.hash, p.count * HB);
    return PQ3_OK;
}
