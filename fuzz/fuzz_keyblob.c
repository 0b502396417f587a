/* libFuzzer target: the key blob decoder (docs/DEVICE.md §2.1), with a
 * fixed passphrase. Nothing may crash; a blob that decodes must hold a key
 * in [1, n-1] and encode back (in the clear) to the same key.
 *
 * Inputs whose log2_n byte is above 12 are skipped: the decoder would run
 * scrypt at up to 2^20 (1 GiB, seconds) for each of them, which makes the
 * fuzzer slow without reaching any other code; the bounds themselves are
 * checked before scrypt and tested in test_keystore. */
#include <string.h>

#include "pq3/keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t priv[PQ3_ECDSA_PRIV_BYTES], pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t again[PQ3_KEYBLOB_MAX_BYTES], priv2[PQ3_ECDSA_PRIV_BYTES];
    size_t len;

    if (pq3_keyblob_encrypted(data, size) && size > 3 && data[3] > 12)
        return 0;
    if (pq3_keyblob_decode(priv, data, size, "fuzz passphrase") != PQ3_OK)
        return 0;
    if (pq3_ecdsa_public(pub, priv) != PQ3_OK)
        __builtin_trap();
    if (pq3_keyblob_encode(again, sizeof again, &len, priv, NULL, NULL, NULL) != PQ3_OK ||
        pq3_keyblob_decode(priv2, again, len, NULL) != PQ3_OK ||
        memcmp(priv, priv2, sizeof priv) != 0)
        __builtin_trap();
    /* a clear blob decodes to itself */
    if (!pq3_keyblob_encrypted(data, size) && (len != size || memcmp(again, data, len) != 0))
        __builtin_trap();
    pq3_wipe(priv, sizeof priv);
    pq3_wipe(priv2, sizeof priv2);
    return 0;
}
