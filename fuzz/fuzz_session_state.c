/* libFuzzer target: the session state decoder (docs/PROTOCOL.md §14). What
 * decodes must serialize back to exactly the input (canonical encoding); an
 * input of the previous format 3 serializes as format 4: the same bytes with
 * the format byte 4 and, after the last receipt time, a zero generation and
 * the y of the two peer keys (which the format-3 load solved for). */
#include <string.h>

#include "pq3/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t zero[8];
    static uint8_t out[PQ3_STATE_MAX_BYTES];
    pq3_session s;
    size_t len;
    if (pq3_session_deserialize(&s, data, size) == PQ3_OK) {
        if (pq3_session_serialize(&s, out, sizeof out, &len) != PQ3_OK)
            __builtin_trap();
        if (data[0] == PQ3_STATE_FORMAT_VERSION) {
            if (len != size || memcmp(out, data, size) != 0)
                __builtin_trap();
        } else {
            /* header, both parties, RK, pns, peer key, pq_count, pq_time,
             * session id, last receipt */
            size_t off = 6 + (2 + (size_t)s.self.handle_len + 16 + 33) +
                         (2 + (size_t)s.peer.handle_len + 16 + 33) + 32 + 4 + 32 + 4 + 8 + 32 + 8;
            if (data[0] != 3 || s.generation != 0 || len != size + 8 + 64 || out[0] != 4 ||
                memcmp(out + 1, data + 1, off - 1) != 0 || memcmp(out + off, zero, 8) != 0 ||
                memcmp(out + off + 8, s.peer_auth.point + 33, 32) != 0 ||
                memcmp(out + off + 40, s.peer_point.point + 33, 32) != 0 ||
                memcmp(out + off + 72, data + off, size - off) != 0)
                __builtin_trap();
        }
        pq3_session_wipe(&s);
    }
    return 0;
}
