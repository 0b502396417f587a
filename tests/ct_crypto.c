/* Constant-time check (valgrind) of the symmetric primitives of src/crypto/
 * (sha384.c, hmac.c, hkdf.c, aesctr.c): with keys, secrets and plaintexts
 * marked secret, no branch or index in our code may depend on them (OpenSSL's
 * own internals are out of scope, see ct.supp).
 *
 * The P-256 code is covered too, with private keys and the random source's
 * output secret: it branches only on verdicts that are public by design (a
 * key's validity, RFC 6979's reject-and-retry of a candidate nonce, r and s
 * of the published signature), which it declassifies explicitly
 * (pq3_p256_public_verdict); its secret arithmetic is OpenSSL's constant-time
 * code (src/crypto/ecdsa.c, ecdh.c explain which). */
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

    {
        uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], ss1[32], ss2[32];
        uint8_t s_priv[32], s_pub[33], sig[64];
        pq3_ecdh_peer pa, pb;
        pq3_ecdsa_pub sp;

        CHECK_OK(pq3_ecdh_keypair(a_priv, a_pub, NULL));
        CHECK_OK(pq3_ecdh_keypair(b_priv, b_pub, NULL));
        CHECK_OK(pq3_ecdsa_keypair(s_priv, s_pub, NULL));
        CHECK_OK(pq3_ecdh_import(&pa, a_pub));
        CHECK_OK(pq3_ecdh_import(&pb, b_pub));
        CHECK_OK(pq3_ecdsa_import(&sp, s_pub));
        CT_SECRET(a_priv, sizeof a_priv);
        CT_SECRET(b_priv, sizeof b_priv);
        CT_SECRET(s_priv, sizeof s_priv);
        CHECK_OK(pq3_ecdh_derive(ss1, a_priv, &pb));
        CHECK_OK(pq3_ecdh_derive(ss2, b_priv, &pa));
        CHECK_OK(pq3_ecdh_public(a_pub, a_priv));
        CHECK_OK(pq3_ecdsa_sign(sig, s_priv, msg, 100));
        CT_PUBLIC(ss1, sizeof ss1);
        CT_PUBLIC(ss2, sizeof ss2);
        CT_PUBLIC(a_pub, sizeof a_pub);
        CHECK(memcmp(ss1, ss2, sizeof ss1) == 0);
        CHECK_OK(pq3_ecdsa_verify(&sp, sig, msg, 100));
        pq3_wipe(a_priv, sizeof a_priv);
        pq3_wipe(b_priv, sizeof b_priv);
        pq3_wipe(s_priv, sizeof s_priv);
    }
    return pq3t_finish();
}
