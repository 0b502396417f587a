/* Helpers of the device layer: last-error text, secret files (src/device/devutil.h). */
#include "device/devutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

void pq3_dev_seterr(char buf[PQ3_ERRBUF_BYTES], const char *fmt, ...)
{
    va_list ap;
    if (buf == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, PQ3_ERRBUF_BYTES, fmt, ap);
    va_end(ap);
}

static int fsync_dir_of(const char *path)
{
    char copy[4096];
    int fd, rc;
    if (strlen(path) >= sizeof copy)
        return -1;
    strcpy(copy, path);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

pq3_err pq3_dev_write_new_file(const char *path, const void *data, size_t len,
                               char errbuf[PQ3_ERRBUF_BYTES])
{
    const unsigned char *p = data;
    size_t done = 0;
    int fd;

    /* O_EXCL: never overwrite a key that exists; 0600 from the start, so
     * the key is never readable by others, not even for a moment. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        pq3_dev_seterr(errbuf, "cannot create %s: %s", path, strerror(errno));
        return PQ3_ERR_IO;
    }
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            pq3_dev_seterr(errbuf, "cannot write %s: %s", path, n < 0 ? strerror(errno) : "short write");
            goto fail;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0) {
        pq3_dev_seterr(errbuf, "cannot sync %s: %s", path, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        pq3_dev_seterr(errbuf, "cannot close %s: %s", path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (fsync_dir_of(path) != 0) {
        pq3_dev_seterr(errbuf, "cannot sync the directory of %s: %s", path, strerror(errno));
        goto fail;
    }
    return PQ3_OK;

fail:
    if (fd >= 0)
        close(fd);
    unlink(path);
    return PQ3_ERR_IO;
}

pq3_err pq3_dev_read_file(const char *path, void *buf, size_t max, size_t *len,
                          int private_only, char errbuf[PQ3_ERRBUF_BYTES])
{
    struct stat st;
    size_t done = 0;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        pq3_dev_seterr(errbuf, "cannot open %s: %s", path, strerror(errno));
        return PQ3_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        pq3_dev_seterr(errbuf, "%s is not a regular file", path);
        close(fd);
        return PQ3_ERR_IO;
    }
    if (private_only && (st.st_mode & 077) != 0) {
        pq3_dev_seterr(errbuf, "%s has mode %04o: group or others may access it (chmod 600 %s)",
                       path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return PQ3_ERR_IO;
    }
    if ((uintmax_t)st.st_size > max) {
        pq3_dev_seterr(errbuf, "%s is too large (%jd bytes, at most %zu)", path,
                       (intmax_t)st.st_size, max);
        close(fd);
        return PQ3_ERR_IO;
    }
    for (;;) {
        ssize_t n = read(fd, (unsigned char *)buf + done, max - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            pq3_dev_seterr(errbuf, "cannot read %s: %s", path, strerror(errno));
            close(fd);
            pq3_wipe(buf, done);
            return PQ3_ERR_IO;
        }
        if (n == 0)
            break;
        done += (size_t)n;
        if (done == max)
            break;
    }
    close(fd);
    *len = done;
    return PQ3_OK;
}

/* ---- the cursor ----------------------------------------------------------- */

void dev_reader_init(dev_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p == NULL ? 0 : len;
    r->off = 0;
    r->bad = p == NULL && len > 0;
}

const uint8_t *dev_bytes(dev_reader *r, size_t n)
{
    const uint8_t *q;
    if (r->bad || r->len - r->off < n) {
        r->bad = 1;
        return NULL;
    }
    q = r->p + r->off;
    r->off += n;
    return q;
}

uint8_t dev_u8(dev_reader *r)
{
    const uint8_t *q = dev_bytes(r, 1);
    return q == NULL ? 0 : q[0];
}

uint16_t dev_u16(dev_reader *r)
{
    const uint8_t *q = dev_bytes(r, 2);
    if (q == NULL)
        return 0;
    return (uint16_t)(((unsigned)q[0] << 8) | q[1]);
}

static uint32_t dev_u32(dev_reader *r)
{
    const uint8_t *q = dev_bytes(r, 4);
    return q == NULL ? 0
                     : ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) |
                           ((uint32_t)q[2] << 8) | q[3];
}

uint64_t dev_u64(dev_reader *r)
{
    uint64_t hi = dev_u32(r);
    return (hi << 32) | dev_u32(r);
}

const uint8_t *dev_vec16(dev_reader *r, size_t *n, size_t max)
{
    size_t len = dev_u16(r);
    const uint8_t *q;
    if (len > max)
        r->bad = 1;
    q = dev_bytes(r, len);
    *n = q == NULL ? 0 : len;
    return q;
}

const uint8_t *dev_vec32(dev_reader *r, size_t *n, size_t max)
{
    size_t len = dev_u32(r);
    const uint8_t *q;
    if (len > max)
        r->bad = 1;
    q = dev_bytes(r, len);
    *n = q == NULL ? 0 : len;
    return q;
}

pq3_err dev_end(const dev_reader *r)
{
    return r->bad || r->off != r->len ? PQ3_ERR_DECODE : PQ3_OK;
}

uint8_t *dev_put_u8(uint8_t *p, uint8_t v)
{
    *p = v;
    return p + 1;
}

uint8_t *dev_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

uint8_t *dev_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
    return p + 4;
}

uint8_t *dev_put_u64(uint8_t *p, uint64_t v)
{
    p = dev_put_u32(p, (uint32_t)(v >> 32));
    return dev_put_u32(p, (uint32_t)v);
}

uint8_t *dev_put(uint8_t *p, const void *src, size_t n)
{
    if (n > 0)
        memcpy(p, src, n);
    return p + n;
}
