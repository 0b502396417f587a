/*
 * The wire codec (internal): one cursor-based reader and writer through which
 * every structure that crosses a trust boundary is encoded and decoded
 * (docs/PROTOCOL.md §2).
 *
 * Integers are fixed-width big-endian. Variable-length byte strings carry a
 * 16-bit or 32-bit big-endian length prefix and a maximum set by the schema.
 * Optional fields carry a presence byte that is exactly 0 or 1.
 *
 * Errors are sticky: the first failure is recorded in the cursor, later calls
 * do nothing (reads yield zeros and NULL), and pq3_reader_end() /
 * pq3_writer_end() report it. So a decoder reads like the schema and checks
 * once at the end. A read that overruns, a length above its maximum, a
 * presence byte other than 0/1, or trailing bytes are all PQ3_ERR_DECODE.
 * A write that does not fit is PQ3_ERR_BUFFER; one whose length is over its
 * maximum is PQ3_ERR_ARG.
 */
#ifndef PQ3_CODEC_H
#define PQ3_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/common.h"

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t off;
    pq3_err err;
} pq3_reader;

typedef struct {
    uint8_t *buf;   /* may be NULL with cap 0: then the writer only measures */
    size_t cap;
    size_t len;     /* bytes written (or that would have been) */
    pq3_err err;
} pq3_writer;

void pq3_reader_init(pq3_reader *r, const uint8_t *buf, size_t len);
uint8_t pq3_read_u8(pq3_reader *r);
uint16_t pq3_read_u16(pq3_reader *r);
uint32_t pq3_read_u32(pq3_reader *r);
uint64_t pq3_read_u64(pq3_reader *r);
/* Copies exactly n bytes into out (zeros on error). */
void pq3_read_bytes(pq3_reader *r, uint8_t *out, size_t n);
/* Points *p at the next n bytes of the input without copying (NULL on error). */
const uint8_t *pq3_read_ref(pq3_reader *r, size_t n);
/* A u16-length-prefixed string of at most max bytes: returns a pointer into the
 * input and sets *len (NULL and 0 on error). */
const uint8_t *pq3_read_vec16(pq3_reader *r, size_t *len, size_t max);
/* The same with a u32 length prefix. */
const uint8_t *pq3_read_vec32(pq3_reader *r, size_t *len, size_t max);
/* A presence byte: returns 0 or 1; any other value is PQ3_ERR_DECODE. */
int pq3_read_present(pq3_reader *r);
/* Bytes left to read. */
size_t pq3_reader_left(const pq3_reader *r);
/* Records err in the reader if none is recorded yet (for semantic checks made
 * while decoding, e.g. a value out of range: PQ3_ERR_DECODE). */
void pq3_reader_fail(pq3_reader *r, pq3_err err);
/* PQ3_OK when every read succeeded and the input is used up exactly; the
 * sticky error, or PQ3_ERR_DECODE for trailing bytes. */
PQ3_MUST_USE pq3_err pq3_reader_end(const pq3_reader *r);

void pq3_writer_init(pq3_writer *w, uint8_t *buf, size_t cap);
void pq3_write_u8(pq3_writer *w, uint8_t v);
void pq3_write_u16(pq3_writer *w, uint16_t v);
void pq3_write_u32(pq3_writer *w, uint32_t v);
void pq3_write_u64(pq3_writer *w, uint64_t v);
void pq3_write_bytes(pq3_writer *w, const uint8_t *p, size_t n);
void pq3_write_vec16(pq3_writer *w, const uint8_t *p, size_t n, size_t max);
void pq3_write_vec32(pq3_writer *w, const uint8_t *p, size_t n, size_t max);
void pq3_write_present(pq3_writer *w, int present);
/* PQ3_OK and *len = bytes written, or the sticky error. With a NULL buffer
 * and cap 0 it returns PQ3_ERR_BUFFER but *len still tells the size needed. */
PQ3_MUST_USE pq3_err pq3_writer_end(const pq3_writer *w, size_t *len);

#endif
