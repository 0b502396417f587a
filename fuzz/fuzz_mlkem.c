/* libFuzzer target for the ML-KEM inputs that come from a peer or from
 * storage: encapsulation keys (check_ek, encaps) and ciphertexts and
 * decapsulation keys (check_dk, decaps). The first byte picks the
 * parameter set and whether dk's hash field is repaired so that decaps gets
 * past the §7.3 check and runs decryption and re-encryption on arbitrary
 * key material; the rest of the input fills the buffers (cyclically, so
 * short inputs reach every path). Nothing may crash or trip a sanitizer,
 * and the API contract must hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlkem/keccak.h"
#include "pq3/mlkem.h"

#define EK_MAX PQ3_MLKEM1024_EK_BYTES
#define DK_MAX PQ3_MLKEM1024_DK_BYTES
#define CT_MAX PQ3_MLKEM1024_CT_BYTES

static void fill(uint8_t *out, size_t n, const uint8_t *data, size_t size, size_t offset)
{
    for (size_t i = 0; i < n; i++)
        out[i] = size > 0 ? (uint8_t)(data[(offset + i) % size] + (i / size)) : (uint8_t)i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t ek[EK_MAX], dk[DK_MAX], ct[CT_MAX], ct2[CT_MAX];
    uint8_t ss[32], ss2[32], m[32];
    int is1024, repair;
    size_t ekb, dkb, ctb, pke;
    pq3_err e1, e2;

    if (size == 0)
        return 0;
    is1024 = data[0] & 1;
    repair = (data[0] >> 1) & 1;
    data++;
    size--;
    ekb = is1024 ? PQ3_MLKEM1024_EK_BYTES : PQ3_MLKEM768_EK_BYTES;
    dkb = is1024 ? PQ3_MLKEM1024_DK_BYTES : PQ3_MLKEM768_DK_BYTES;
    ctb = is1024 ? PQ3_MLKEM1024_CT_BYTES : PQ3_MLKEM768_CT_BYTES;
    pke = dkb - ekb - 64;

    fill(ek, ekb, data, size, 0);
    fill(m, sizeof m, data, size, 7);
    fill(dk, dkb, data, size, 3);
    fill(ct, ctb, data, size, 11);

    /* Encapsulation-key path: check_ek and encaps agree. */
    e1 = is1024 ? pq3_mlkem1024_check_ek(ek) : pq3_mlkem768_check_ek(ek);
    memset(ss, 0xEE, sizeof ss);
    e2 = is1024 ? pq3_mlkem1024_encaps_derand(ct2, ss, ek, m)
                : pq3_mlkem768_encaps_derand(ct2, ss, ek, m);
    if ((e1 == PQ3_OK) != (e2 == PQ3_OK) || (e1 != PQ3_OK && e1 != PQ3_ERR_KEY))
        abort();
    if (e2 != PQ3_OK && ss[0] != 0xEE)
        abort(); /* outputs untouched on error */

    /* Decapsulation path. */
    if (repair) {
        /* A dk whose embedded ek hashes right: decaps must run fully. */
        pq3_sha3_256(dk + pke + ekb, dk + pke, ekb);
    }
    e1 = is1024 ? pq3_mlkem1024_check_dk(dk) : pq3_mlkem768_check_dk(dk);
    e2 = is1024 ? pq3_mlkem1024_decaps(ss2, ct, dk) : pq3_mlkem768_decaps(ss2, ct, dk);
    if (e1 != e2 || (e1 != PQ3_OK && e1 != PQ3_ERR_KEY) || (repair && e1 != PQ3_OK))
        abort();
    return 0;
}
