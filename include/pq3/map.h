/*
 * The map of key transparency: a sparse Merkle tree of depth 256 over
 * SHA-256, keyed by 32-byte keys (a VRF output per account), whose values
 * are 32-byte commitments.
 *
 * Hashing. Bit t of a key (t = 0..255) is (key[t / 8] >> (7 - t % 8)) & 1;
 * the node at depth t holds the keys that share its t-bit prefix, its child
 * on side 0 the keys whose bit t is 0. The hash of a node is
 *
 *   empty subtree (no key)       32 zero bytes, at every depth
 *   subtree with one key K       LEAF(K, V) = SHA-256(0x02 || K || V),
 *                                at whatever depth the subtree starts
 *   subtree with two keys or more
 *                                NODE(l, r) = SHA-256(0x03 || l || r),
 *                                l and r the hashes of its two children
 *
 * and the map root (its serialization: just these 32 bytes) is the hash of
 * the node at depth 0. The empty map's root is 32 zero bytes; a one-key
 * map's root is that key's LEAF.
 *
 * Why this definition. A plain depth-256 tree (an interior hash at every
 * level down to the leaves, with precomputed empty subtrees) costs 256
 * hashes per key: about 2.4 x 10^8 hashes to build a map of 10^6 keys
 * (a minute), and 256 per changed key. Here a subtree with one key is that
 * key's leaf, so a map of N random keys has about 2N hashes and a key's
 * path about log2 N nodes (21 for 10^6), while a proof keeps the form of
 * a 256-bit bitmap and the non-empty siblings. It stays binding because a
 * LEAF includes the whole key (a hoisted leaf still says where it
 * belongs, and the verifier checks the key has the path's prefix) and the
 * three kinds cannot stand for one another without a SHA-256 collision or
 * a preimage of zero: if two proofs for one key verify against one root,
 * walking down from the root their nodes are equal level by level (a NODE
 * equal to a LEAF, or to zero, is a collision or a preimage), so they end
 * at the same depth in the same leaf or the same empty subtree. The tags
 * 0x02 and 0x03 differ from the log's 0x00 and 0x01 (pq3/merkle.h), so
 * nothing of the map can be shown as a log node or leaf, nor the reverse.
 * An empty subtree is plain zeros rather than a hash (the RFC 9162-style
 * H(0x00 || "empty")): with single keys hoisted, an empty subtree only
 * ever sits beside a non-empty one, so zero needs no table per height and
 * is easy to recognise in the bitmap.
 *
 * A proof for key K follows K's path from the root down to where it ends:
 * in an empty subtree, or in a subtree with one key (K itself, or another
 * key K' sharing the path's prefix). It holds
 *   - bitmap: bit t - 1 (byte (t - 1) / 8, mask 0x80 >> ((t - 1) % 8)) set
 *     when the sibling of K's path node at depth t (t = 1..256) is not
 *     empty; the path's depth D is the position of the last set bit (0 for
 *     none): the sibling where a path ends is never empty, or the path
 *     would have ended one level higher;
 *   - the non-empty siblings' hashes, by increasing depth;
 *   - the end: an empty subtree, or the one key there and its value.
 * The verifier starts from the end's hash (zero or LEAF(K', V')) at depth
 * D and hashes its way up with the siblings (zero where the bitmap bit is
 * clear), K's bits choosing left and right, and compares with the root.
 * It shows K has value V when the end is the leaf (K, V); K absent when
 * the end is empty or the leaf of another key K' whose first D bits are
 * K's. Verification is at most 256 hashes (about D + 1).
 *
 * Wire encoding (docs/PROTOCOL.md §2 codec), strictly decoded:
 *   bitmap[32] || popcount(bitmap) x sibling[32] ||
 *   u8 end (0: empty subtree, 1: a leaf) || if 1: key[32] || value[32]
 * A sibling of 32 zero bytes (an empty subtree marked non-empty), an end
 * byte other than 0 or 1, truncation and trailing bytes are
 * PQ3_ERR_DECODE. With 10^6 keys a proof is about 32 + 21 x 32 + 65 = 770
 * bytes; at most PQ3_MAP_PROOF_MAX_BYTES.
 *
 * Proof verification is pure (no allocation, any thread). The server side
 * is pq3_map, an in-memory map that computes the root and proofs.
 */
#ifndef PQ3_MAP_H
#define PQ3_MAP_H

#include "pq3/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_MAP_KEY_BYTES 32
#define PQ3_MAP_VALUE_BYTES 32
#define PQ3_MAP_HASH_BYTES 32
#define PQ3_MAP_DEPTH 256
#define PQ3_MAP_PROOF_MAX_BYTES                                                   \
    (PQ3_MAP_DEPTH / 8 + PQ3_MAP_DEPTH * PQ3_MAP_HASH_BYTES + 1 + PQ3_MAP_KEY_BYTES + \
     PQ3_MAP_VALUE_BYTES)

/* A proof for one key (see above). Flat and copyable, about 8.3 KB. */
typedef struct pq3_map_proof {
    uint8_t bitmap[PQ3_MAP_DEPTH / 8];
    /* siblings[0 .. popcount(bitmap)): the non-empty siblings, from the
     * root down; the rest is unused. */
    uint8_t siblings[PQ3_MAP_DEPTH][PQ3_MAP_HASH_BYTES];
    int has_leaf;                              /* 1: the path ends at a key */
    uint8_t leaf_key[PQ3_MAP_KEY_BYTES];       /* when has_leaf */
    uint8_t leaf_value[PQ3_MAP_VALUE_BYTES];   /* when has_leaf */
} pq3_map_proof;

/* out = SHA-256(0x02 || key || value). Errors: PQ3_ERR_ARG (NULL),
 * PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_leaf_hash(uint8_t out[PQ3_MAP_HASH_BYTES],
                                               const uint8_t key[PQ3_MAP_KEY_BYTES],
                                               const uint8_t value[PQ3_MAP_VALUE_BYTES]);

/*
 * Verifies that `key` has `value` in the map whose root is `root`.
 * Errors: PQ3_ERR_VERIFY (the proof ends elsewhere, at another value, or
 * does not lead to root), PQ3_ERR_ARG (NULL), PQ3_ERR_CRYPTO.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_verify_member(const uint8_t root[PQ3_MAP_HASH_BYTES],
                                                   const uint8_t key[PQ3_MAP_KEY_BYTES],
                                                   const uint8_t value[PQ3_MAP_VALUE_BYTES],
                                                   const pq3_map_proof *proof);

/*
 * Verifies that `key` is not in the map whose root is `root`.
 * Errors: PQ3_ERR_VERIFY (the proof ends at key itself, at a key off key's
 * path, or does not lead to root), PQ3_ERR_ARG (NULL), PQ3_ERR_CRYPTO.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_verify_absent(const uint8_t root[PQ3_MAP_HASH_BYTES],
                                                   const uint8_t key[PQ3_MAP_KEY_BYTES],
                                                   const pq3_map_proof *proof);

/* The encoded size of proof. Pure, cannot fail. */
PQ3_API size_t pq3_map_proof_size(const pq3_map_proof *proof);

/*
 * Writes the wire encoding of proof to out[0..cap) and sets *out_len to its
 * size. Errors: PQ3_ERR_ARG (NULL, has_leaf not 0 or 1), PQ3_ERR_BUFFER
 * (cap too small; *out_len is the size needed).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_proof_encode(uint8_t *out, size_t cap, size_t *out_len,
                                                  const pq3_map_proof *proof);

/*
 * Decodes exactly `len` bytes into *proof. Errors: PQ3_ERR_DECODE (see the
 * encoding above), PQ3_ERR_ARG (NULL). *proof is untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_proof_decode(pq3_map_proof *proof, const uint8_t *in,
                                                  size_t len);

/* ---- the server side -------------------------------------------------------
 *
 * pq3_map holds N key/value pairs in an array sorted by key, and with each
 * adjacent pair the hash of the node where their paths part (the one node
 * with two keys or more whose split falls between them). A batch of changes
 * is merged into a new array and the root recomputed along the changed
 * paths only; unchanged subtrees keep their hashes. A proof reads the
 * cached hashes down one path (binary searches, about one hash per level).
 * Memory: 96 bytes per key, twice that with the spare array a batch is
 * merged into (kept, so a batch does not fault in a fresh array). Keys are
 * never removed (an account that goes away gets a tombstone value). Calls
 * that take a const pq3_map * only read it: any number of threads may make
 * them at once, while no pq3_map_set runs.
 */
typedef struct pq3_map pq3_map;

/* *out = a new, empty map. Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_NOMEM. */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_new(pq3_map **out);

/* Frees the map; NULL does nothing. */
PQ3_API void pq3_map_free(pq3_map *map);

/* The number of keys. Pure, cannot fail (0 for NULL). */
PQ3_API size_t pq3_map_size(const pq3_map *map);

/*
 * Inserts or replaces n pairs: keys and values are n consecutive 32-byte
 * keys and values. Within a batch a later pair for the same key wins. The
 * root is recomputed before this returns.
 * Errors: PQ3_ERR_ARG (NULL with n > 0), PQ3_ERR_NOMEM, PQ3_ERR_CRYPTO;
 * on error the map is unchanged.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_set(pq3_map *map, const uint8_t *keys,
                                         const uint8_t *values, size_t n);

/* root = the map's root. Errors: PQ3_ERR_ARG (NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_root(const pq3_map *map,
                                          uint8_t root[PQ3_MAP_HASH_BYTES]);

/* value = key's value. Errors: PQ3_ERR_UNKNOWN (key absent: value
 * untouched), PQ3_ERR_ARG (NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_get(const pq3_map *map, const uint8_t key[PQ3_MAP_KEY_BYTES],
                                         uint8_t value[PQ3_MAP_VALUE_BYTES]);

/*
 * *proof = the proof for key: of its value when key is in the map
 * (proof->has_leaf and proof->leaf_key equal to key), of its absence
 * otherwise. Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_CRYPTO; *proof is
 * untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_map_prove(const pq3_map *map,
                                           const uint8_t key[PQ3_MAP_KEY_BYTES],
                                           pq3_map_proof *proof);

#ifdef __cplusplus
}
#endif
#endif
