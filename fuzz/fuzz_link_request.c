/* libFuzzer target: the link request verifier (docs/PROTOCOL.md §19.2) at a
 * fixed time. Nothing may crash; a request that verifies keeps the
 * invariants the verifier promises, its age is within the limits, and it
 * encodes back to the same bytes. */
#include <string.h>

#include "pq3/account.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000u /* the seeds' created time */

static size_t encode(uint8_t *out, const pq3_link_request *q)
{
    size_t n = 0;
    out[n++] = PQ3_FORMAT_VERSION;
    out[n++] = PQ3_TYPE_LINK_REQUEST;
    out[n++] = 0;
    out[n++] = q->handle_len;
    memcpy(out + n, q->handle, q->handle_len);
    n += q->handle_len;
    memcpy(out + n, q->device_id, PQ3_DEVICE_ID_BYTES);
    n += PQ3_DEVICE_ID_BYTES;
    memcpy(out + n, q->auth_pub, PQ3_ECDSA_PUB_BYTES);
    n += PQ3_ECDSA_PUB_BYTES;
    out[n++] = q->n_versions;
    memcpy(out + n, q->versions, q->n_versions);
    n += q->n_versions;
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t)(q->created >> (8 * i));
    memcpy(out + n, q->signature, PQ3_ECDSA_SIG_BYTES);
    return n + PQ3_ECDSA_SIG_BYTES;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t re[PQ3_LINK_REQUEST_MAX_BYTES];
    pq3_link_request q;

    if (pq3_link_request_verify(&q, data, size, NOW) != PQ3_OK)
        return 0;
    if (q.handle_len == 0 || q.n_versions == 0 || q.n_versions > PQ3_CERT_MAX_VERSIONS ||
        size > PQ3_LINK_REQUEST_MAX_BYTES)
        __builtin_trap();
    for (unsigned i = 0; i < q.n_versions; i++)
        if (q.versions[i] == 0 || (i > 0 && q.versions[i] <= q.versions[i - 1]))
            __builtin_trap();
    if (q.created > (uint64_t)NOW + PQ3_CLOCK_SKEW || q.created + PQ3_LINK_MAX_AGE < NOW)
        __builtin_trap();
    if (encode(re, &q) != size || memcmp(re, data, size) != 0)
        __builtin_trap();
    return 0;
}
