/*
 * Arbitrary bytes into the P-256 decoders and verifier (src/crypto/ecdh.c,
 * ecdsa.c, p256.c): pq3_ecdh_import (x-only), pq3_ecdh_import_uncompressed,
 * pq3_ecdsa_import (compressed), pq3_ecdsa_import_uncompressed, and
 * pq3_ecdsa_verify over whatever follows. Besides memory errors, aborts when
 * an invariant breaks: an accepted key decodes to a point that re-imports to
 * itself, a rejected one leaves a zeroed struct, a derive after a good import
 * succeeds, and a verify never returns anything but OK or VERIFY.
 *
 * Input layout: [0..33) a compressed key (its [1..33) also as an x-only ECDH
 * key), [33..97) a signature, the rest the message; a 65-byte prefix is also
 * tried as an uncompressed point.
 */
#include <stdlib.h>
#include <string.h>

#include "pq3/crypto.h"

static const uint8_t zero65[65];

/* A fixed valid private key (in [1, n-1]). */
static const uint8_t priv[32] = { 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                  0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                  0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                  0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42 };

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pq3_ecdh_peer peer, peer2;
    pq3_ecdsa_pub vk, vk2;
    uint8_t ss[32];
    pq3_err err;

    if (size >= 33) {
        /* x-only ECDH key */
        err = pq3_ecdh_import(&peer, data + 1);
        check(err == PQ3_OK || err == PQ3_ERR_KEY);
        if (err == PQ3_OK) {
            check(peer.point[0] == 0x04 && memcmp(peer.point + 1, data + 1, 32) == 0);
            check(pq3_ecdh_import_uncompressed(&peer2, peer.point) == PQ3_OK);
            check(memcmp(&peer, &peer2, sizeof peer) == 0);
            check(pq3_ecdh_derive(ss, priv, &peer) == PQ3_OK);
        } else {
            check(memcmp(peer.point, zero65, 65) == 0);
        }

        /* compressed ECDSA key, then a signature and a message */
        err = pq3_ecdsa_import(&vk, data);
        check(err == PQ3_OK || err == PQ3_ERR_KEY);
        if (err == PQ3_OK) {
            check((vk.point[64] & 1) == (data[0] & 1));
            check(pq3_ecdsa_import_uncompressed(&vk2, vk.point) == PQ3_OK);
            if (size >= 97) {
                err = pq3_ecdsa_verify(&vk, data + 33, size > 97 ? data + 97 : NULL, size - 97);
                check(err == PQ3_OK || err == PQ3_ERR_VERIFY);
            }
        } else {
            check(memcmp(vk.point, zero65, 65) == 0);
        }
    }
    if (size >= 65) {
        err = pq3_ecdh_import_uncompressed(&peer, data);
        check(err == PQ3_OK || err == PQ3_ERR_KEY);
        if (err == PQ3_OK) {
            check(memcmp(peer.point, data, 65) == 0);
            check(pq3_ecdh_derive(ss, priv, &peer) == PQ3_OK);
        }
        err = pq3_ecdsa_import_uncompressed(&vk, data);
        check(err == PQ3_OK || err == PQ3_ERR_KEY);
        /* The same bytes as a signature over nothing, under a fixed key. */
        if (pq3_ecdsa_import(&vk2, (const uint8_t[33]){ 0x03, 0x60, 0xfe, 0xd4, 0xba, 0x25,
                                                        0x5a, 0x9d, 0x31, 0xc9, 0x61, 0xeb,
                                                        0x74, 0xc6, 0x35, 0x6d, 0x68, 0xc0,
                                                        0x49, 0xb8, 0x92, 0x3b, 0x61, 0xfa,
                                                        0x6c, 0xe6, 0x69, 0x62, 0x2e, 0x60,
                                                        0xf2, 0x9f, 0xb6 }) == PQ3_OK) {
            err = pq3_ecdsa_verify(&vk2, data, data + 64, size - 64);
            check(err == PQ3_OK || err == PQ3_ERR_VERIFY);
        }
    }
    return 0;
}
