/* libFuzzer target: the skipped-key store decoder (docs/PROTOCOL.md §13.2).
 * What decodes in the current format must serialize back to exactly the
 * input; what decodes in format 1 must re-encode in format 2 and load again
 * to the same store; a failed decode leaves the destination untouched. */
#include <string.h>

#include "pq3/skipped.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pq3_skipped sk, before, again;
    static uint8_t out[PQ3_SKIPPED_MAX_BYTES];
    size_t len;
    pq3_skipped_init_default(&sk);
    before = sk;
    if (pq3_skipped_deserialize(&sk, data, size) == PQ3_OK) {
        if (pq3_skipped_serialize(&sk, out, sizeof out, &len) != PQ3_OK)
            __builtin_trap();
        if (data[0] == PQ3_SKIPPED_FORMAT_VERSION) {
            if (len != size || memcmp(out, data, size) != 0)
                __builtin_trap();
        } else if (pq3_skipped_deserialize(&again, out, len) != PQ3_OK ||
                   memcmp(&again, &sk, sizeof sk) != 0) {
            __builtin_trap();
        }
    } else if (memcmp(&sk, &before, sizeof sk) != 0) {
        __builtin_trap();
    }
    return 0;
}
