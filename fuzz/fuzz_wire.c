/* libFuzzer target: pq3d's frame header and every request, response and
 * push decoder (docs/SERVER.md §2-§6), selected by the first byte as the
 * server or client would by frame type. Nothing may crash; whatever decodes
 * must encode back to the same bytes (one encoding per value). */
#include <stdlib.h>
#include <string.h>

#include "pq3/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[PQ3_WIRE_MAX_FRAME];

#define ROUND_TRIP(name)                                                         \
    do {                                                                         \
        static pq3_wire_##name v;                                                \
        size_t n;                                                                \
        if (pq3_wire_##name##_decode(&v, in, len) == PQ3_OK) {                   \
            if (pq3_wire_##name##_encode(out, sizeof out, &n, &v) != PQ3_OK ||   \
                n != len || memcmp(out, in, len) != 0)                           \
                abort();                                                         \
        }                                                                        \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *in;
    size_t len;
    uint8_t type;
    uint32_t id, body;

    if (size < 1)
        return 0;
    in = data + 1;
    len = size - 1;
    if (len >= PQ3_WIRE_HEADER_BYTES) {
        pq3_err err = pq3_wire_header_decode(in, PQ3_WIRE_MAX_FRAME_PREAUTH, &type, &id, &body);
        if (err == PQ3_OK && (body + 5u < 5u || body + 5u > PQ3_WIRE_MAX_FRAME_PREAUTH))
            abort();
    }
    switch (data[0] % 15) {
    case 0: ROUND_TRIP(challenge); break;
    case 1: ROUND_TRIP(auth); break;
    case 2: ROUND_TRIP(register); break;
    case 3: ROUND_TRIP(publish); break;
    case 4: ROUND_TRIP(put_bundle); break;
    case 5: ROUND_TRIP(lookup); break;
    case 6: ROUND_TRIP(send); break;
    case 7: ROUND_TRIP(ack); break;
    case 8: ROUND_TRIP(response); break;
    case 9: ROUND_TRIP(auth_result); break;
    case 10: ROUND_TRIP(lookup_result); break;
    case 11: ROUND_TRIP(send_result); break;
    case 12: ROUND_TRIP(deliver); break;
    case 13: ROUND_TRIP(goodbye); break;
    default: {
        uint64_t t;
        uint8_t b[8];
        if (pq3_wire_time_decode(&t, in, len) == PQ3_OK &&
            (pq3_wire_time_encode(b, t) != PQ3_OK || memcmp(b, in, 8) != 0))
            abort();
    }
    }
    return 0;
}
