/* libFuzzer target: the decoder of the payload inside application messages
 * (src/device/payload.c). Nothing may crash; whatever decodes must encode
 * back to the same bytes. */
#include <string.h>

#include "device/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t re[PQ3_PAYLOAD_MAX_BYTES];
    pq3_payload p;
    size_t len;

    if (pq3_payload_decode(&p, data, size) != PQ3_OK)
        return 0;
    if ((p.kind != PQ3_PAYLOAD_MESSAGE && p.kind != PQ3_PAYLOAD_SENT) ||
        p.text_len > PQ3_DEVICE_MAX_TEXT ||
        (p.kind == PQ3_PAYLOAD_SENT && (p.peer_handle_len == 0 || p.peer_handle_len > PQ3_HANDLE_MAX)))
        __builtin_trap();
    if (pq3_payload_encode(re, &len, &p) != PQ3_OK || len != size || memcmp(re, data, size) != 0)
        __builtin_trap();
    return 0;
}
