/* libFuzzer target: the skipped-key store decoder (docs/PROTOCOL.md §13.2).
 * What decodes must serialize back to exactly the input, and a failed decode
 * leaves the destination untouched. */
#include <string.h>

#include "pq3/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pq3_skipped sk, before;
    static uint8_t out[PQ3_SKIPPED_HEADER_BYTES + PQ3_SKIPPED_MAX_KEYS * PQ3_SKIPPED_ENTRY_BYTES];
    size_t len;
    pq3_skipped_init_default(&sk);
    before = sk;
    if (pq3_skipped_deserialize(&sk, data, size) == PQ3_OK) {
        if (pq3_skipped_serialize(&sk, out, sizeof out, &len) != PQ3_OK || len != size ||
            memcmp(out, data, size) != 0)
            __builtin_trap();
    } else if (memcmp(&sk, &before, sizeof sk) != 0) {
        __builtin_trap();
    }
    return 0;
}
