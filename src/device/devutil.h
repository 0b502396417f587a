/*
 * Helpers shared by the files of the device layer (internal). The device
 * layer sees the library through its public headers only.
 */
#ifndef PQ3_DEVICE_DEVUTIL_H
#define PQ3_DEVICE_DEVUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "pq3/common.h"

/* A handle's last error: one line, formatted, truncated to fit. */
#define PQ3_ERRBUF_BYTES 256
void pq3_dev_seterr(char buf[PQ3_ERRBUF_BYTES], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes len bytes to a new file at path (O_CREAT | O_EXCL, mode 0600),
 * fsyncs it and its directory. On any failure the file is removed and
 * PQ3_ERR_IO returned; errbuf says why. */
pq3_err pq3_dev_write_new_file(const char *path, const void *data, size_t len,
                               char errbuf[PQ3_ERRBUF_BYTES]);

/* Reads a whole file of at most `max` bytes into buf (*len). When
 * `private_only`, refuses (PQ3_ERR_IO) a non-regular file or one whose mode
 * gives group or others any access. errbuf says why on error. */
pq3_err pq3_dev_read_file(const char *path, void *buf, size_t max, size_t *len,
                          int private_only, char errbuf[PQ3_ERRBUF_BYTES]);

/*
 * A small strict cursor for the device layer's own formats (docs/DEVICE.md
 * §3.2, §6.1); the library's codec is internal to it. Errors are sticky:
 * after the first failure reads yield zeros and NULL, and dev_end reports
 * PQ3_ERR_DECODE (also for trailing bytes).
 */
typedef struct dev_reader {
    const uint8_t *p;
    size_t len, off;
    int bad;
} dev_reader;
void dev_reader_init(dev_reader *r, const uint8_t *p, size_t len);
uint8_t dev_u8(dev_reader *r);
uint16_t dev_u16(dev_reader *r);
uint64_t dev_u64(dev_reader *r);
const uint8_t *dev_bytes(dev_reader *r, size_t n);
/* A u16- (or u32-) length-prefixed field of at most max bytes. */
const uint8_t *dev_vec16(dev_reader *r, size_t *n, size_t max);
const uint8_t *dev_vec32(dev_reader *r, size_t *n, size_t max);
pq3_err dev_end(const dev_reader *r);

/* Writing into a buffer known to be large enough (sizes computed first). */
uint8_t *dev_put_u8(uint8_t *p, uint8_t v);
uint8_t *dev_put_u16(uint8_t *p, uint16_t v);
uint8_t *dev_put_u32(uint8_t *p, uint32_t v);
uint8_t *dev_put_u64(uint8_t *p, uint64_t v);
uint8_t *dev_put(uint8_t *p, const void *src, size_t n);

#endif
