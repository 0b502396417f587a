/* libFuzzer target: loading a peer device container from its records
 * (docs/PROTOCOL.md §10.7). The input is split into records: u8(n), n ×
 * vec16(session record), vec16(header record), then the store record (the
 * rest). What loads must give back exactly the header record; a failed load
 * leaves the destination untouched. */
#include <string.h>

#include "pq3/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int take16(const uint8_t **d, size_t *left, const uint8_t **out, size_t *len)
{
    size_t n;
    if (*left < 2)
        return 0;
    n = (size_t)(*d)[0] << 8 | (*d)[1];
    if (*left - 2 < n)
        return 0;
    *out = *d + 2;
    *len = n;
    *d += 2 + n;
    *left -= 2 + n;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pq3_peer p, before;
    static uint8_t out[PQ3_PEER_RECORD_MAX_BYTES];
    const uint8_t *sess[PQ3_PEER_MAX_SESSIONS + 1], *header;
    size_t sess_len[PQ3_PEER_MAX_SESSIONS + 1], header_len, len, n;
    if (size < 1)
        return 0;
    n = data[0] % (PQ3_PEER_MAX_SESSIONS + 2);
    data++;
    size--;
    for (size_t i = 0; i < n; i++)
        if (!take16(&data, &size, &sess[i], &sess_len[i]))
            return 0;
    if (!take16(&data, &size, &header, &header_len))
        return 0;
    pq3_peer_init_default(&p);
    before = p;
    if (pq3_peer_load(&p, header, header_len, sess, sess_len, n, data, size) == PQ3_OK) {
        if (pq3_peer_header_serialize(&p, out, sizeof out, &len) != PQ3_OK ||
            len != header_len || memcmp(out, header, len) != 0)
            __builtin_trap();
    } else if (memcmp(&p, &before, sizeof p) != 0) {
        __builtin_trap();
    }
    return 0;
}
