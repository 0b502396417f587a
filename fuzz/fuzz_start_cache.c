/* libFuzzer target: the session-start replay cache decoder
 * (docs/PROTOCOL.md §10.4). Canonical: what decodes serializes back to the
 * input; a failed decode leaves the destination untouched. */
#include <string.h>

#include "pq3/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pq3_start_cache c, before;
    static uint8_t out[2 + 48 + 8 + PQ3_START_CACHE_CAP * 48];
    static const uint8_t h[48];
    size_t len;
    if (pq3_start_cache_init(&c, h, 1) != PQ3_OK)
        __builtin_trap();
    before = c;
    if (pq3_start_cache_deserialize(&c, data, size) == PQ3_OK) {
        if (pq3_start_cache_serialize(&c, out, sizeof out, &len) != PQ3_OK || len != size ||
            memcmp(out, data, size) != 0)
            __builtin_trap();
    } else if (memcmp(&c, &before, sizeof c) != 0) {
        __builtin_trap();
    }
    return 0;
}
