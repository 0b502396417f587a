/* libFuzzer target: the message decoder (docs/PROTOCOL.md §9.1) and
 * pq3_message_peek: nothing may crash, and a decoded message's parts must
 * add up to the input. */
#include <string.h>

#include "pq3/session.h"
#include "protocol/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pq3_msg_view v;
    pq3_message_info info;
    if (pq3_msg_decode(&v, data, size) == PQ3_OK) {
        if (v.signed_len + 64 != size || v.ctext_len < 2)
            __builtin_trap();
        if (pq3_message_peek(&info, data, size) != PQ3_OK)
            __builtin_trap();
    }
    return 0;
}
