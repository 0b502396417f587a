/* Padmé padding (include/pq3/padme.h; Nikitin et al., PoPETs 2019, §4;
 * docs/PROTOCOL.md, "Padding"). */
#include "pq3/padme.h"

#include <string.h>

#include "crypto/ct.h"

static unsigned floor_log2(size_t x)
{
    unsigned r = 0;
    while (x >>= 1)
        r++;
    return r;
}

size_t pq3_padme_length(size_t len)
{
    unsigned e, s, z;
    size_t mask;
    if (len < 2)
        return len;
    e = floor_log2(len);       /* E = floor(log2 L) */
    s = floor_log2(e) + 1;     /* S = floor(log2 E) + 1 */
    z = e - s;                 /* the low z bits are zeroed */
    mask = ((size_t)1 << z) - 1;
    return (len + mask) & ~mask;
}

size_t pq3_padme_padded_size(size_t len)
{
    return pq3_padme_length(len + 1);
}

pq3_err pq3_padme_pad(uint8_t *out, size_t out_cap, size_t *out_len,
                      const uint8_t *in, size_t len)
{
    size_t total;
    if (out == NULL || out_len == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if (len > PQ3_PADME_MAX_PLAINTEXT)
        return PQ3_ERR_ARG;
    total = pq3_padme_padded_size(len);
    if (out_cap < total)
        return PQ3_ERR_BUFFER;
    if (len > 0 && out != in)
        memmove(out, in, len);
    out[len] = 0x80;
    memset(out + len + 1, 0, total - len - 1);
    *out_len = total;
    return PQ3_OK;
}

pq3_err pq3_padme_unpad(size_t *plain_len, const uint8_t *buf, size_t len)
{
    /* Scan every byte with masks: the position of the marker is found without
     * a data-dependent branch or early exit, so the time depends on len only.
     * The resulting length is public once the message is accepted. */
    uint32_t pos = 0, last = 0;
    if (plain_len == NULL || buf == NULL || len == 0 ||
        len > pq3_padme_padded_size(PQ3_PADME_MAX_PLAINTEXT))
        return PQ3_ERR_DECODE;
    for (size_t i = 0; i < len; i++) {
        uint32_t nz = pq3_ct_nonzero_mask32(buf[i]);
        pos = (pos & ~nz) | ((uint32_t)i & nz);
        last = (last & ~nz) | ((uint32_t)buf[i] & nz);
    }
    if (last != 0x80 || pq3_padme_padded_size(pos) != len)
        return PQ3_ERR_DECODE;
    *plain_len = pos;
    return PQ3_OK;
}
