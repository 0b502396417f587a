/* libFuzzer target: the prekey bundle decoder (docs/PROTOCOL.md §6). */
#include <string.h>

#include "pq3/prekey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pq3_prekey_bundle b;
    uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES];
    if (pq3_prekey_decode(&b, data, size) == PQ3_OK) {
        /* canonical: what decodes encodes back to the input */
        if (pq3_prekey_encode(enc, &b) != PQ3_OK || size != sizeof enc ||
            memcmp(enc, data, size) != 0)
            __builtin_trap();
        (void)pq3_mlkem1024_check_ek(b.kem_ek);
    }
    return 0;
}
