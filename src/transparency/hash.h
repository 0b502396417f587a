/*
 * The node hashes of the two trees of key transparency (internal): the log
 * (include/pq3/merkle.h, tags 0x00 and 0x01 of RFC 9162) and the map
 * (include/pq3/map.h, tags 0x02 and 0x03). One tag byte per node kind across
 * both structures, so no hash of one kind can stand for a node of another.
 */
#ifndef PQ3_TRANSPARENCY_HASH_H
#define PQ3_TRANSPARENCY_HASH_H

#include <string.h>

#include "crypto/md.h"

#define PQ3_KT_TAG_LOG_LEAF 0x00
#define PQ3_KT_TAG_LOG_NODE 0x01
#define PQ3_KT_TAG_MAP_LEAF 0x02
#define PQ3_KT_TAG_MAP_NODE 0x03

/* out = SHA-256(tag || a || b), a and b 32 bytes each; out may alias a or
 * b (the input is gathered first). Errors: PQ3_ERR_CRYPTO. */
static inline pq3_err pq3_kt_hash(uint8_t out[PQ3_SHA256_BYTES], uint8_t tag,
                                  const uint8_t a[PQ3_SHA256_BYTES],
                                  const uint8_t b[PQ3_SHA256_BYTES])
{
    uint8_t buf[1 + 2 * PQ3_SHA256_BYTES];
    buf[0] = tag;
    memcpy(buf + 1, a, PQ3_SHA256_BYTES);
    memcpy(buf + 1 + PQ3_SHA256_BYTES, b, PQ3_SHA256_BYTES);
    return pq3_sha256(out, buf, sizeof buf);
}

#endif
