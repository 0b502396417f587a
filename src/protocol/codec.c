/* The wire codec (src/protocol/codec.h, docs/PROTOCOL.md §2). */
#include "protocol/codec.h"

#include <string.h>

void pq3_reader_init(pq3_reader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = buf == NULL ? 0 : len;
    r->off = 0;
    r->err = PQ3_OK;
}

void pq3_reader_fail(pq3_reader *r, pq3_err err)
{
    if (r->err == PQ3_OK)
        r->err = err;
}

size_t pq3_reader_left(const pq3_reader *r)
{
    return r->err != PQ3_OK ? 0 : r->len - r->off;
}

/* Takes n bytes or records PQ3_ERR_DECODE; the only place that moves the
 * cursor, so no read can pass the end. */
static const uint8_t *take(pq3_reader *r, size_t n)
{
    const uint8_t *p;
    if (r->err != PQ3_OK)
        return NULL;
    if (n > r->len - r->off) {
        r->err = PQ3_ERR_DECODE;
        return NULL;
    }
    p = r->buf + r->off;
    r->off += n;
    return p;
}

static uint64_t read_be(pq3_reader *r, size_t n)
{
    const uint8_t *p = take(r, n);
    uint64_t v = 0;
    if (p == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

uint8_t pq3_read_u8(pq3_reader *r) { return (uint8_t)read_be(r, 1); }
uint16_t pq3_read_u16(pq3_reader *r) { return (uint16_t)read_be(r, 2); }
uint32_t pq3_read_u32(pq3_reader *r) { return (uint32_t)read_be(r, 4); }
uint64_t pq3_read_u64(pq3_reader *r) { return read_be(r, 8); }

void pq3_read_bytes(pq3_reader *r, uint8_t *out, size_t n)
{
    const uint8_t *p = take(r, n);
    if (p == NULL) {
        if (n > 0)
            memset(out, 0, n);
        return;
    }
    if (n > 0)
        memcpy(out, p, n);
}

const uint8_t *pq3_read_ref(pq3_reader *r, size_t n)
{
    return take(r, n);
}

static const uint8_t *read_vec(pq3_reader *r, size_t *len, size_t max, size_t prefix)
{
    uint64_t n = read_be(r, prefix);
    const uint8_t *p;
    *len = 0;
    if (r->err != PQ3_OK)
        return NULL;
    if (n > max) {
        r->err = PQ3_ERR_DECODE;
        return NULL;
    }
    p = take(r, (size_t)n);
    if (p == NULL)
        return NULL;
    *len = (size_t)n;
    return p;
}

const uint8_t *pq3_read_vec16(pq3_reader *r, size_t *len, size_t max)
{
    return read_vec(r, len, max, 2);
}

const uint8_t *pq3_read_vec32(pq3_reader *r, size_t *len, size_t max)
{
    return read_vec(r, len, max, 4);
}

int pq3_read_present(pq3_reader *r)
{
    uint8_t v = pq3_read_u8(r);
    if (v > 1) {
        pq3_reader_fail(r, PQ3_ERR_DECODE);
        return 0;
    }
    return v;
}

pq3_err pq3_reader_end(const pq3_reader *r)
{
    if (r->err != PQ3_OK)
        return r->err;
    return r->off == r->len ? PQ3_OK : PQ3_ERR_DECODE;
}

void pq3_writer_init(pq3_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf == NULL ? 0 : cap;
    w->len = 0;
    w->err = PQ3_OK;
}

/* Appends n bytes; past the capacity it keeps counting (so a measuring pass
 * with no buffer learns the size) and records PQ3_ERR_BUFFER. */
static void put(pq3_writer *w, const uint8_t *p, size_t n)
{
    if (w->err != PQ3_OK && w->err != PQ3_ERR_BUFFER)
        return;
    if (n > SIZE_MAX - w->len) {
        w->err = PQ3_ERR_ARG;
        return;
    }
    if (w->err == PQ3_OK && n <= w->cap - w->len) {
        if (n > 0)
            memcpy(w->buf + w->len, p, n);
    } else {
        w->err = PQ3_ERR_BUFFER;
    }
    w->len += n;
}

static void write_be(pq3_writer *w, uint64_t v, size_t n)
{
    uint8_t b[8];
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    put(w, b, n);
}

void pq3_write_u8(pq3_writer *w, uint8_t v) { write_be(w, v, 1); }
void pq3_write_u16(pq3_writer *w, uint16_t v) { write_be(w, v, 2); }
void pq3_write_u32(pq3_writer *w, uint32_t v) { write_be(w, v, 4); }
void pq3_write_u64(pq3_writer *w, uint64_t v) { write_be(w, v, 8); }

void pq3_write_bytes(pq3_writer *w, const uint8_t *p, size_t n)
{
    if (p == NULL && n > 0) {
        if (w->err == PQ3_OK || w->err == PQ3_ERR_BUFFER)
            w->err = PQ3_ERR_ARG;
        return;
    }
    put(w, p, n);
}

static void write_vec(pq3_writer *w, const uint8_t *p, size_t n, size_t max, size_t prefix)
{
    size_t limit = prefix == 2 ? 0xFFFFu : 0xFFFFFFFFu;
    if (n > max || n > limit || (p == NULL && n > 0)) {
        if (w->err == PQ3_OK || w->err == PQ3_ERR_BUFFER)
            w->err = PQ3_ERR_ARG;
        return;
    }
    write_be(w, n, prefix);
    put(w, p, n);
}

void pq3_write_vec16(pq3_writer *w, const uint8_t *p, size_t n, size_t max)
{
    write_vec(w, p, n, max, 2);
}

void pq3_write_vec32(pq3_writer *w, const uint8_t *p, size_t n, size_t max)
{
    write_vec(w, p, n, max, 4);
}

void pq3_write_present(pq3_writer *w, int present)
{
    pq3_write_u8(w, present ? 1 : 0);
}

pq3_err pq3_writer_end(const pq3_writer *w, size_t *len)
{
    if (len != NULL)
        *len = w->len;
    return w->err;
}
