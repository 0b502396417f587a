/* libFuzzer target: the peer device container decoder (docs/PROTOCOL.md
 * §10.6). What decodes in the current format must serialize back to exactly
 * the input (format 1 re-encodes as format 2 and loads again to the same
 * container), and a failed decode leaves the destination untouched. */
#include <string.h>

#include "pq3/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pq3_peer p, before, again;
    static uint8_t out[PQ3_PEER_MAX_BYTES];
    size_t len, sz = 0;
    pq3_peer_init_default(&p);
    before = p;
    if (pq3_peer_deserialize(&p, data, size) == PQ3_OK) {
        if (pq3_peer_serialize(&p, out, sizeof out, &len) != PQ3_OK ||
            pq3_peer_size(&p, &sz) != PQ3_OK || sz != len)
            __builtin_trap();
        if (data[0] == PQ3_PEER_FORMAT_VERSION) {
            if (len != size || memcmp(out, data, size) != 0)
                __builtin_trap();
        } else if (pq3_peer_deserialize(&again, out, len) != PQ3_OK ||
                   memcmp(&again, &p, sizeof p) != 0) {
            __builtin_trap();
        }
    } else if (memcmp(&p, &before, sizeof p) != 0) {
        __builtin_trap();
    }
    return 0;
}
