/* Randomness: the injectable source of include/pq3/common.h. */
#include <limits.h>

#include <openssl/rand.h>

#include "pq3/common.h"

pq3_err pq3_random(const pq3_rng *rng, uint8_t *out, size_t len)
{
    pq3_err err;

    if (out == NULL && len != 0)
        return PQ3_ERR_ARG;
    if (len == 0)
        return PQ3_OK;
    if (rng != NULL) {
        if (rng->fill == NULL)
            return PQ3_ERR_ARG;
        err = rng->fill(rng->ctx, out, len);
        if (err != PQ3_OK) {
            pq3_wipe(out, len);
            return err;
        }
        return PQ3_OK;
    }
    /* Fail closed: RAND_priv_bytes reports a failed DRBG, and so do we. */
    while (len > 0) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_priv_bytes(out, chunk) != 1) {
            pq3_wipe(out, len);
            return PQ3_ERR_RNG;
        }
        out += chunk;
        len -= (size_t)chunk;
    }
    return PQ3_OK;
}
