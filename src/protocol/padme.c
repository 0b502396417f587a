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

/* The smallest plaintext length whose padded size is `len`, or SIZE_MAX
 * when `len` is not a padded size. Depends on the public length only. */
static size_t min_plain_for(size_t len)
{
    size_t lo = 0, hi = len - 1; /* Padme(n + 1) >= n + 1, so n <= len - 1 */
    if (pq3_padme_padded_size(hi) != len)
        return SIZE_MAX; /* Padme is idempotent: len must be a fixed point */
    while (lo < hi) {   /* Padme is monotone: binary search */
        size_t mid = lo + (hi - lo) / 2;
        if (pq3_padme_padded_size(mid) >= len)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

pq3_err pq3_padme_unpad(size_t *plain_len, const uint8_t *buf, size_t len)
{
    /* The buffer is a decrypted plaintext: find the marker with masks over
     * every byte, no data-dependent branch or early exit, and check its
     * position against the range of valid lengths, which depends on the
     * public `len` alone. Only accept/reject and the final length, both
     * revealed anyway, are declassified. */
    uint32_t pos = 0, last = 0, ok;
    size_t lo;
    if (plain_len == NULL || buf == NULL || len == 0 ||
        len > pq3_padme_padded_size(PQ3_PADME_MAX_PLAINTEXT))
        return PQ3_ERR_DECODE;
    lo = min_plain_for(len);
    if (lo == SIZE_MAX)
        return PQ3_ERR_DECODE;
    for (size_t i = 0; i < len; i++) {
        uint32_t nz = pq3_ct_nonzero_mask32(buf[i]);
        pos = (pos & ~nz) | ((uint32_t)i & nz);
        last = (last & ~nz) | ((uint32_t)buf[i] & nz);
    }
    /* ok = (last == 0x80) && lo <= pos: pos <= len - 1 always holds. The
     * subtraction pos - lo borrows (top bit set) exactly when pos < lo. */
    ok = ~pq3_ct_nonzero_mask32(last ^ 0x80u) &
         ~(uint32_t)(0u - (((uint64_t)pos - (uint64_t)lo) >> 63));
    pq3_ct_declassify(&ok, sizeof ok);
    if (ok == 0)
        return PQ3_ERR_DECODE;
    pq3_ct_declassify(&pos, sizeof pos);
    *plain_len = pos;
    return PQ3_OK;
}
