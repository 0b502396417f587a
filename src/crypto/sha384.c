/* SHA-384 (FIPS 180-4 §6.5), the protocol's hash (PROTOCOL-BRIEF §1). */
#include "crypto/md.h"
#include "pq3/crypto.h"

pq3_err pq3_sha384(uint8_t out[PQ3_SHA384_BYTES], const uint8_t *msg, size_t len)
{
    if (out == NULL || (msg == NULL && len != 0))
        return PQ3_ERR_ARG;
    return pq3_digest(pq3_md_sha384(), out, msg, len);
}
