/* libFuzzer target: the peer device container decoder (docs/PROTOCOL.md
 * §10.6). What decodes must serialize back to exactly the input, and a
 * failed decode leaves the destination untouched. */
#include <string.h>

#include "pq3/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pq3_peer p, before;
    static uint8_t out[PQ3_PEER_MAX_BYTES];
    size_t len;
    pq3_peer_init_default(&p);
    before = p;
    if (pq3_peer_deserialize(&p, data, size) == PQ3_OK) {
        if (pq3_peer_serialize(&p, out, sizeof out, &len) != PQ3_OK || len != size ||
            memcmp(out, data, size) != 0 || pq3_peer_size(&p) != size)
            __builtin_trap();
    } else if (memcmp(&p, &before, sizeof p) != 0) {
        __builtin_trap();
    }
    return 0;
}
