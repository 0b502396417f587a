/*
 * ECDSA helpers shared with the protocol layer (internal; the public
 * functions are in include/pq3/crypto.h).
 */
#ifndef PQ3_CRYPTO_ECDSA_H
#define PQ3_CRYPTO_ECDSA_H

#include <stdint.h>

#include "pq3/common.h"
#include "pq3/crypto.h"

/*
 * Brings sig = r || s into the form verifiers accept: checks r and s are in
 * [1, n-1] (FIPS 186-5 §6.4.2 step 2) and, when s > n/2, replaces s by
 * n - s. (r, s) and (r, n - s) are the same signature: n - s = -s mod n,
 * and the verification point u1·G + u2·Q then becomes its negation, whose
 * x-coordinate is the same. Only the encoding changes; nothing is signed
 * again. sig is public (a signature about to be published): the checks are
 * constant time all the same, and the branch is on the public verdict.
 * Sets *replaced (when not NULL) to 1 when s was replaced, else 0.
 * Errors: PQ3_ERR_VERIFY (r or s out of range; sig untouched).
 */
pq3_err pq3_ecdsa_normalize_s(uint8_t sig[PQ3_ECDSA_SIG_BYTES], int *replaced);

#endif
