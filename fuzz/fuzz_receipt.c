/*
 * libFuzzer target for the delivery-receipt body decoder (PROTOCOL.md
 * §16.1): any input either decodes, and is then exactly the 40-byte layout
 * (ratchet key, next index, missing count), or fails with the outputs
 * untouched.
 */
#include <stdlib.h>
#include <string.h>

#include "pq3/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t rk[32];
    uint32_t next = 0xA5A5A5A5u, missing = 0x5A5A5A5Au;
    memset(rk, 0xEE, sizeof rk);
    if (pq3_receipt_parse(data, size, rk, &next, &missing) == PQ3_OK) {
        if (size != PQ3_RECEIPT_BODY_BYTES || memcmp(rk, data, 32) != 0 ||
            next != ((uint32_t)data[32] << 24 | (uint32_t)data[33] << 16 |
                     (uint32_t)data[34] << 8 | data[35]) ||
            missing != ((uint32_t)data[36] << 24 | (uint32_t)data[37] << 16 |
                        (uint32_t)data[38] << 8 | data[39]))
            abort();
    } else {
        for (size_t i = 0; i < sizeof rk; i++)
            if (rk[i] != 0xEE)
                abort();
        if (next != 0xA5A5A5A5u || missing != 0x5A5A5A5Au)
            abort();
    }
    return 0;
}
