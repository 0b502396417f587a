/*
 * Helpers shared by the files of the device layer (internal). The device
 * layer sees the library through its public headers only.
 */
#ifndef PQ3_DEVICE_DEVUTIL_H
#define PQ3_DEVICE_DEVUTIL_H

#include <stdarg.h>
#include <stddef.h>

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

#endif
