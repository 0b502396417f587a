/*
 * libFuzzer target for the wire codec. The first input byte picks a schema of
 * reads; the rest is parsed with it. Whatever parses is written back with the
 * writer, which must reproduce the input exactly (the codec is canonical), and
 * Padmé unpad must never accept what pad would not produce.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"
#include "pq3/padme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pq3_reader r;
    pq3_writer w;
    uint8_t out[4096];
    size_t out_len = 0, plain_len = 0;
    uint8_t schema;

    if (size == 0)
        return 0;
    schema = data[0];
    data++;
    size--;
    if (size > sizeof out - 16)
        return 0;

    pq3_reader_init(&r, data, size);
    pq3_writer_init(&w, out, sizeof out);
    /* Each pair of schema bits chooses the next field: u16, u32, vec16 (max
     * 64) or an optional u64; four fields per input. */
    for (int i = 0; i < 4; i++) {
        switch ((schema >> (2 * i)) & 3) {
        case 0: pq3_write_u16(&w, pq3_read_u16(&r)); break;
        case 1: pq3_write_u32(&w, pq3_read_u32(&r)); break;
        case 2: {
            size_t n = 0;
            const uint8_t *p = pq3_read_vec16(&r, &n, 64);
            if (p != NULL)
                pq3_write_vec16(&w, p, n, 64);
            break;
        }
        default:
            if (pq3_read_present(&r)) {
                pq3_write_present(&w, 1);
                pq3_write_u64(&w, pq3_read_u64(&r));
            } else {
                pq3_write_present(&w, 0);
            }
        }
    }
    if (pq3_reader_end(&r) == PQ3_OK) {
        if (pq3_writer_end(&w, &out_len) != PQ3_OK || out_len != size ||
            memcmp(out, data, size) != 0)
            abort();
    }

    if (pq3_padme_unpad(&plain_len, data, size) == PQ3_OK) {
        size_t again = 0;
        if (plain_len >= size || data[plain_len] != 0x80 ||
            pq3_padme_padded_size(plain_len) != size)
            abort();
        if (pq3_padme_pad(out, sizeof out, &again, data, plain_len) != PQ3_OK ||
            again != size || memcmp(out, data, size) != 0)
            abort();
    }
    return 0;
}
