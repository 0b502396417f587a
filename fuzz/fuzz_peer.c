/* libFuzzer target: the peer device container decoder (docs/PROTOCOL.md
 * §10.6). What decodes must serialize back to exactly the input, unless it
 * held a previous format (container format 1, session states of format 3,
 * a store of format 1), which is written back in the current one: then the
 * output must decode to the same container and serialize to itself. A
 * failed decode leaves the destination untouched. */
#include <string.h>

#include "pq3/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pq3_peer p, before, again;
    static uint8_t out[PQ3_PEER_MAX_BYTES], out2[PQ3_PEER_MAX_BYTES];
    size_t len, len2, sz = 0;
    pq3_peer_init_default(&p);
    before = p;
    if (pq3_peer_deserialize(&p, data, size) == PQ3_OK) {
        if (pq3_peer_serialize(&p, out, sizeof out, &len) != PQ3_OK ||
            pq3_peer_size(&p, &sz) != PQ3_OK || sz != len)
            __builtin_trap();
        if (len != size || memcmp(out, data, size) != 0) {
            if (pq3_peer_deserialize(&again, out, len) != PQ3_OK ||
                memcmp(&again, &p, sizeof p) != 0 ||
                pq3_peer_serialize(&again, out2, sizeof out2, &len2) != PQ3_OK || len2 != len ||
                memcmp(out2, out, len) != 0)
                __builtin_trap();
        }
    } else if (memcmp(&p, &before, sizeof p) != 0) {
        __builtin_trap();
    }
    return 0;
}
