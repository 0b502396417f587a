/* libFuzzer target: the stored prekey secret decoder (docs/PROTOCOL.md
 * §6.1). Canonical: what loads serializes back to the input; a failed load
 * leaves the destination untouched. Seed: fuzz/corpus/fuzz_prekey_secret/
 * seed0, the record of tests/test_prekey.c (which checks it is current). */
#include <string.h>

#include "pq3/prekey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pq3_prekey_secret s, before;
    static uint8_t out[PQ3_PREKEY_SECRET_BYTES];
    size_t len;

    memset(&s, 0xA5, sizeof s);
    memcpy(&before, &s, sizeof s);
    if (pq3_prekey_secret_deserialize(&s, data, size) == PQ3_OK) {
        if (!s.bundle.verified ||
            pq3_prekey_secret_serialize(&s, out, sizeof out, &len) != PQ3_OK ||
            len != size || memcmp(out, data, size) != 0)
            __builtin_trap();
    } else if (memcmp(&s, &before, sizeof s) != 0) {
        __builtin_trap();
    }
    pq3_prekey_secret_wipe(&s);
    return 0;
}
