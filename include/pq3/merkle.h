/*
 * The append-only log of key transparency: the Merkle tree of RFC 6962 /
 * RFC 9162 §2.1 over SHA-256.
 *
 *   leaf hash    LH(d)    = SHA-256(0x00 || d)
 *   node hash    NH(l, r) = SHA-256(0x01 || l || r)
 *   tree head    MTH({})  = SHA-256("")
 *                MTH({h}) = h                      (h a leaf hash)
 *                MTH(D[n]) = NH(MTH(D[0:k]), MTH(D[k:n])),
 *                            k the largest power of two < n
 *
 * The server keeps the leaf hashes (an array of n consecutive 32-byte
 * hashes, n up to 2^32 and beyond) and computes tree heads and proofs over
 * it; clients verify proofs. A tree head costs n - 1 node hashes and
 * O(log n) memory; a proof costs O(n) hashes (the subtree heads beside the
 * path are recomputed) and O(log n) memory. Pure code: no I/O, no clock, no
 * allocation; every function may be called from any thread.
 *
 * Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
 * (consistency) with these conventions:
 *   - every hash is exactly 32 bytes (the fixed-size parameters enforce it);
 *   - a consistency proof from size 0 always fails, even 0 -> 0 (there is
 *     nothing to be consistent with; a client starts from a signed head);
 *   - size1 == size2 needs an empty proof and root1 == root2;
 *   - size1 > size2 fails.
 * A proof that does not verify is PQ3_ERR_VERIFY, whatever is wrong with it.
 *
 * Wire encoding of a proof (docs/PROTOCOL.md §2 codec):
 *   u8 count (0..PQ3_MERKLE_MAX_PROOF) || count x 32-byte hash
 * The hashes are in the order of RFC 9162: from the leaf (or the old head)
 * upwards.
 */
#ifndef PQ3_MERKLE_H
#define PQ3_MERKLE_H

#include "pq3/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_MERKLE_HASH_BYTES 32
/* Most hashes in a proof. An inclusion proof in a tree of n leaves has at
 * most ceil(log2 n) hashes, a consistency proof at most ceil(log2 n) + 1:
 * 64 covers every tree of up to 2^63 leaves. */
#define PQ3_MERKLE_MAX_PROOF 64
#define PQ3_MERKLE_PROOF_MAX_BYTES (1 + PQ3_MERKLE_MAX_PROOF * PQ3_MERKLE_HASH_BYTES)

/* An inclusion or a consistency proof: `count` hashes. Flat and copyable. */
typedef struct pq3_merkle_proof {
    size_t count;
    uint8_t hash[PQ3_MERKLE_MAX_PROOF][PQ3_MERKLE_HASH_BYTES];
} pq3_merkle_proof;

/* out = SHA-256(0x00 || data). data may be NULL when len is 0.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_merkle_leaf_hash(uint8_t out[PQ3_MERKLE_HASH_BYTES],
                                                  const uint8_t *data, size_t len);

/* out = SHA-256(0x01 || left || right). out may alias left or right.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_merkle_node_hash(uint8_t out[PQ3_MERKLE_HASH_BYTES],
                                                  const uint8_t left[PQ3_MERKLE_HASH_BYTES],
                                                  const uint8_t right[PQ3_MERKLE_HASH_BYTES]);

/*
 * root = MTH of the n leaf hashes at leaf_hashes (n x 32 bytes; NULL allowed
 * when n is 0, giving SHA-256 of the empty string).
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_CRYPTO (root wiped).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_merkle_root(uint8_t root[PQ3_MERKLE_HASH_BYTES],
                                             const uint8_t *leaf_hashes, uint64_t n);

/*
 * The inclusion proof (RFC 9162 §2.1.3.1, PATH) of leaf `index` in the tree
 * of the first `size` leaf hashes at leaf_hashes.
 * Errors: PQ3_ERR_ARG (NULL, index >= size), PQ3_ERR_CRYPTO. *proof is
 * untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_merkle_inclusion_prove(pq3_merkle_proof *proof,
                                                        const uint8_t *leaf_hashes,
                                                        uint64_t size, uint64_t index);

/*
 * Verifies that leaf_hash is leaf `index` of the tree of `size` leaves whose
 * head is root (RFC 9162 §2.1.3.2).
 * Errors: PQ3_ERR_VERIFY (index >= size, wrong length, any mismatch),
 * PQ3_ERR_ARG (NULL, proof->count over PQ3_MERKLE_MAX_PROOF),
 * PQ3_ERR_CRYPTO.
 */
PQ3_API PQ3_MUST_USE pq3_err
pq3_merkle_inclusion_verify(const uint8_t root[PQ3_MERKLE_HASH_BYTES], uint64_t size,
                            uint64_t index, const uint8_t leaf_hash[PQ3_MERKLE_HASH_BYTES],
                            const pq3_merkle_proof *proof);

/*
 * The consistency proof (RFC 9162 §2.1.4.1, PROOF) between the trees of the
 * first size1 and the first size2 leaf hashes at leaf_hashes (at least
 * size2 of them); empty when size1 == size2.
 * Errors: PQ3_ERR_ARG (NULL, size1 == 0, size1 > size2), PQ3_ERR_LIMIT
 * (more than PQ3_MERKLE_MAX_PROOF hashes: only past 2^63 leaves),
 * PQ3_ERR_CRYPTO. *proof is untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_merkle_consistency_prove(pq3_merkle_proof *proof,
                                                          const uint8_t *leaf_hashes,
                                                          uint64_t size1, uint64_t size2);

/*
 * Verifies that the tree of size2 leaves with head root2 extends the tree of
 * size1 leaves with head root1 (RFC 9162 §2.1.4.2 and the conventions
 * above).
 * Errors: PQ3_ERR_VERIFY (size1 == 0, size1 > size2, any mismatch),
 * PQ3_ERR_ARG (NULL, proof->count over PQ3_MERKLE_MAX_PROOF),
 * PQ3_ERR_CRYPTO.
 */
PQ3_API PQ3_MUST_USE pq3_err
pq3_merkle_consistency_verify(uint64_t size1, uint64_t size2,
                              const uint8_t root1[PQ3_MERKLE_HASH_BYTES],
                              const uint8_t root2[PQ3_MERKLE_HASH_BYTES],
                              const pq3_merkle_proof *proof);

/* The encoded size of proof: 1 + 32 * count. Pure, cannot fail (a count
 * over the maximum is measured as it is; encoding it fails). */
PQ3_API size_t pq3_merkle_proof_size(const pq3_merkle_proof *proof);

/*
 * Writes the wire encoding of proof to out[0..cap) and sets *out_len to its
 * size. Errors: PQ3_ERR_ARG (NULL, count over PQ3_MERKLE_MAX_PROOF),
 * PQ3_ERR_BUFFER (cap too small; *out_len is the size needed).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_merkle_proof_encode(uint8_t *out, size_t cap, size_t *out_len,
                                                     const pq3_merkle_proof *proof);

/*
 * Decodes exactly `len` bytes into *proof. Errors: PQ3_ERR_DECODE
 * (truncated, count over PQ3_MERKLE_MAX_PROOF, trailing bytes), PQ3_ERR_ARG
 * (NULL). *proof is untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_merkle_proof_decode(pq3_merkle_proof *proof, const uint8_t *in,
                                                     size_t len);

#ifdef __cplusplus
}
#endif
#endif
