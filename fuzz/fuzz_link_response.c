/* libFuzzer target: the link response decoder (src/device/payload.c).
 * Nothing may crash; whatever decodes must encode back to the same bytes. */
#include <string.h>

#include "device/payload.h"
#include "pq3/account.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t re[2 + PQ3_ECDSA_PUB_BYTES + 2 + PQ3_CERT_MAX_BYTES + 2 +
                      PQ3_DEVICE_LIST_MAX_BYTES];
    pq3_link_response r;
    size_t len;

    if (pq3_link_response_decode(&r, data, size) != PQ3_OK)
        return 0;
    if (r.cert_len == 0 || r.list_len == 0 || r.cert_len > PQ3_CERT_MAX_BYTES ||
        r.list_len > PQ3_DEVICE_LIST_MAX_BYTES)
        __builtin_trap();
    if (pq3_link_response_encode(re, sizeof re, &len, &r) != PQ3_OK || len != size ||
        memcmp(re, data, size) != 0)
        __builtin_trap();
    return 0;
}
