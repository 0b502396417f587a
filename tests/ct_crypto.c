/* Constant-time check (valgrind) of the symmetric primitives of src/crypto/
 * (sha384.c, hmac.c, hkdf.c, aesctr.c): with keys, secrets and plaintexts
 * marked secret, no branch or index in our code may depend on them (OpenSSL's
 * own internals are out of scope, see ct.supp).
 *
 * The P-256 code is not covered here: it deliberately branches on values
 * that are secret-derived yet public by design (a private key's validity
 * verdict, RFC 6979's reject-and-retry of a candidate nonce, r = x(k·G)),
 * which memcheck cannot tell from leaks; its secret arithmetic is OpenSSL's
 * constant-time code (src/crypto/ecdsa.c, ecdh.c explain which). */
#include <string.h>

#include "ct.h"
#include "pq3/crypto.h"
#include "testutil.h"

int main(void)
{
    uint8_t key[32], ikm[32], salt[48], msg[200], out[200], prk[48], okm[100], iv[16];
    uint8_t h[48], mac[48];

    memset(key, 0x11, sizeof key);
    memset(ikm, 0x22, sizeof ikm);
    memset(salt, 0x33, sizeof salt);
    memset(msg, 0x44, sizeof msg);
    memset(iv, 0x55, sizeof iv);
    CT_SECRET(key, sizeof key);
    CT_SECRET(ikm, sizeof ikm);
    CT_SECRET(msg, sizeof msg);

    CHECK_OK(pq3_sha384(h, msg, sizeof msg));
    CHECK_OK(pq3_hmac_sha384(mac, key, sizeof key, msg, sizeof msg));
    CHECK_OK(pq3_hkdf_sha384_extract(prk, salt, sizeof salt, ikm, sizeof ikm));
    CHECK_OK(pq3_hkdf_sha384_expand(okm, sizeof okm, prk, (const uint8_t *)"label", 5));
    CHECK_OK(pq3_aes256ctr(out, msg, sizeof msg, key, iv));
    CHECK_OK(pq3_aes256ctr(out, out, sizeof out, key, iv));

    /* Outputs are revealed only to compare them here. */
    CT_PUBLIC(out, sizeof out);
    CT_PUBLIC(msg, sizeof msg);
    CHECK(memcmp(out, msg, sizeof msg) == 0);
    CT_PUBLIC(okm, sizeof okm);
    CT_PUBLIC(h, sizeof h);
    CT_PUBLIC(mac, sizeof mac);
    return pq3t_finish();
}
