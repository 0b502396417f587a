/* libFuzzer target: the session state decoder (docs/PROTOCOL.md §14). What
 * decodes must serialize back to exactly the input (canonical encoding). */
#include <string.h>

#include "pq3/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[PQ3_STATE_MAX_BYTES];
    pq3_session s;
    size_t len;
    if (pq3_session_deserialize(&s, data, size) == PQ3_OK) {
        if (pq3_session_serialize(&s, out, sizeof out, &len) != PQ3_OK || len != size ||
            memcmp(out, data, size) != 0)
            __builtin_trap();
        pq3_session_wipe(&s);
    }
    return 0;
}
