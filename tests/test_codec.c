/* Tests for src/protocol/codec.c: round trips, bounds, strictness, sticky
 * errors, measuring writes. */
#include <string.h>

#include "protocol/codec.h"
#include "testutil.h"

static void test_roundtrip(void)
{
    uint8_t buf[128];
    pq3_writer w;
    pq3_reader r;
    size_t len = 0, vlen = 0;
    const uint8_t blob[5] = { 1, 2, 3, 4, 5 };
    uint8_t fixed[3];
    const uint8_t *v;

    pq3_writer_init(&w, buf, sizeof buf);
    pq3_write_u8(&w, 0xAB);
    pq3_write_u16(&w, 0x1234);
    pq3_write_u32(&w, 0xDEADBEEFu);
    pq3_write_u64(&w, 0x0102030405060708ull);
    pq3_write_bytes(&w, blob, 3);
    pq3_write_vec16(&w, blob, 5, 10);
    pq3_write_vec32(&w, blob, 2, 10);
    pq3_write_present(&w, 1);
    pq3_write_present(&w, 0);
    CHECK_OK(pq3_writer_end(&w, &len));
    CHECK(len == 1 + 2 + 4 + 8 + 3 + 2 + 5 + 4 + 2 + 1 + 1);
    /* Big-endian on the wire. */
    CHECK(buf[0] == 0xAB && buf[1] == 0x12 && buf[2] == 0x34 && buf[3] == 0xDE && buf[6] == 0xEF);
    CHECK(buf[7] == 0x01 && buf[14] == 0x08);

    pq3_reader_init(&r, buf, len);
    CHECK(pq3_read_u8(&r) == 0xAB);
    CHECK(pq3_read_u16(&r) == 0x1234);
    CHECK(pq3_read_u32(&r) == 0xDEADBEEFu);
    CHECK(pq3_read_u64(&r) == 0x0102030405060708ull);
    pq3_read_bytes(&r, fixed, 3);
    CHECK(memcmp(fixed, blob, 3) == 0);
    v = pq3_read_vec16(&r, &vlen, 10);
    CHECK(v != NULL && vlen == 5 && memcmp(v, blob, 5) == 0);
    v = pq3_read_vec32(&r, &vlen, 10);
    CHECK(v != NULL && vlen == 2 && memcmp(v, blob, 2) == 0);
    CHECK(pq3_read_present(&r) == 1);
    CHECK(pq3_reader_left(&r) == 1);
    CHECK(pq3_read_present(&r) == 0);
    CHECK_OK(pq3_reader_end(&r));
}

static void test_strict_reader(void)
{
    const uint8_t in[] = { 0x00, 0x03, 'a', 'b', 'c', 0x02, 0xFF };
    pq3_reader r;
    size_t vlen = 99;
    uint8_t out[4];

    /* Trailing bytes are an error. */
    pq3_reader_init(&r, in, sizeof in);
    (void)pq3_read_vec16(&r, &vlen, 3);
    CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_DECODE);

    /* A length above the maximum is an error even when the bytes are there. */
    pq3_reader_init(&r, in, 5);
    CHECK(pq3_read_vec16(&r, &vlen, 2) == NULL && vlen == 0);
    CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_DECODE);

    /* A length that overruns the input. */
    pq3_reader_init(&r, in, 4);
    CHECK(pq3_read_vec16(&r, &vlen, 100) == NULL);
    CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_DECODE);

    /* Presence byte other than 0/1. */
    pq3_reader_init(&r, in + 5, 1);
    CHECK(pq3_read_present(&r) == 0);
    CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_DECODE);

    /* Sticky: after the first failure, every read yields zero and the
     * cursor does not move, and the first error is reported. */
    pq3_reader_init(&r, in, 3);
    CHECK(pq3_read_u32(&r) == 0);
    CHECK(pq3_read_u8(&r) == 0);
    memset(out, 0x55, sizeof out);
    pq3_read_bytes(&r, out, 2);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0x55);
    CHECK(pq3_read_ref(&r, 1) == NULL);
    CHECK(pq3_reader_left(&r) == 0);
    pq3_reader_fail(&r, PQ3_ERR_VERIFY);
    CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_DECODE);

    /* Exact end of input at every truncation point of a u64. */
    for (size_t cut = 0; cut < 8; cut++) {
        const uint8_t eight[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
        pq3_reader_init(&r, eight, cut);
        (void)pq3_read_u64(&r);
        CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_DECODE);
    }

    /* Semantic failures recorded by a decoder. */
    pq3_reader_init(&r, in, sizeof in);
    pq3_reader_fail(&r, PQ3_ERR_VERSION);
    CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_VERSION);

    /* Empty and NULL input. */
    pq3_reader_init(&r, NULL, 10);
    CHECK(pq3_reader_left(&r) == 0);
    CHECK_OK(pq3_reader_end(&r));
    (void)pq3_read_u8(&r);
    CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_DECODE);

    /* vec32 length above max. */
    {
        const uint8_t big[4] = { 0xFF, 0xFF, 0xFF, 0xFF };
        pq3_reader_init(&r, big, 4);
        CHECK(pq3_read_vec32(&r, &vlen, 1u << 20) == NULL);
        CHECK_ERR(pq3_reader_end(&r), PQ3_ERR_DECODE);
    }
}

static void test_writer_errors(void)
{
    uint8_t buf[4];
    const uint8_t blob[8] = { 0 };
    pq3_writer w;
    size_t len = 0;

    /* Overflow: PQ3_ERR_BUFFER, and the length needed is still reported. */
    pq3_writer_init(&w, buf, sizeof buf);
    pq3_write_u32(&w, 1);
    pq3_write_u8(&w, 2);
    pq3_write_u16(&w, 3);
    CHECK_ERR(pq3_writer_end(&w, &len), PQ3_ERR_BUFFER);
    CHECK(len == 7);

    /* Measuring pass with no buffer. */
    pq3_writer_init(&w, NULL, 0);
    pq3_write_vec16(&w, blob, 8, 8);
    CHECK_ERR(pq3_writer_end(&w, &len), PQ3_ERR_BUFFER);
    CHECK(len == 10);

    /* Over the schema maximum: misuse, not a short buffer. */
    pq3_writer_init(&w, buf, sizeof buf);
    pq3_write_vec16(&w, blob, 8, 4);
    CHECK_ERR(pq3_writer_end(&w, &len), PQ3_ERR_ARG);
    pq3_writer_init(&w, NULL, 0);
    pq3_write_vec16(&w, blob, 8, 4);
    CHECK_ERR(pq3_writer_end(&w, &len), PQ3_ERR_ARG);
    pq3_writer_init(&w, buf, sizeof buf);
    pq3_write_vec16(&w, blob, 70000, 100000); /* over the u16 prefix */
    CHECK_ERR(pq3_writer_end(&w, &len), PQ3_ERR_ARG);
    pq3_writer_init(&w, buf, sizeof buf);
    pq3_write_bytes(&w, NULL, 3);
    CHECK_ERR(pq3_writer_end(&w, &len), PQ3_ERR_ARG);

    /* Exact fit. */
    pq3_writer_init(&w, buf, sizeof buf);
    pq3_write_u16(&w, 0xBEEF);
    pq3_write_vec16(&w, NULL, 0, 0);
    CHECK_OK(pq3_writer_end(&w, &len));
    CHECK(len == 4 && buf[0] == 0xBE && buf[2] == 0 && buf[3] == 0);
}

int main(void)
{
    test_roundtrip();
    test_strict_reader();
    test_writer_errors();
    return pq3t_finish();
}
