/* Constant-time check (valgrind) of src/crypto/ct.h and Padmé unpadding:
 * with the inputs marked secret, no branch or index may depend on them. */
#include <string.h>

#include "crypto/ct.h"
#include "ct.h"
#include "pq3/padme.h"
#include "testutil.h"

int main(void)
{
    uint8_t a[64], b[64], out[64], padded[80];
    size_t plen = 0, n = 0;
    int eq;
    uint8_t diff, mask;

    memset(a, 0x11, sizeof a);
    memcpy(b, a, sizeof b);
    b[63] ^= 1;

    CT_SECRET(a, sizeof a);
    CT_SECRET(b, sizeof b);
    diff = pq3_ct_diff(a, b, sizeof a);
    mask = (uint8_t)~diff;
    pq3_ct_select(out, a, b, sizeof out, mask);
    pq3_ct_cmov(out, a, sizeof out, diff);
    eq = pq3_ct_equal(a, b, sizeof a);
    CT_PUBLIC(&eq, sizeof eq); /* accept/reject is revealed anyway */
    CHECK(eq == 0);
    CT_PUBLIC(out, sizeof out);
    CT_PUBLIC(a, sizeof a);
    CHECK(memcmp(out, a, sizeof out) == 0);

    /* Unpadding a secret plaintext: only the final length is revealed. */
    CHECK_OK(pq3_padme_pad(padded, sizeof padded, &plen, a, 50));
    CT_SECRET(padded, plen);
    {
        pq3_err err = pq3_padme_unpad(&n, padded, plen);
        CT_PUBLIC(&err, sizeof err);
        CT_PUBLIC(&n, sizeof n);
        CHECK_OK(err);
        CHECK(n == 50);
    }
    return pq3t_finish();
}
