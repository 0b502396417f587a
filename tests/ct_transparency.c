/* Constant-time check (valgrind) of the secret-key paths of
 * src/transparency/: ECVRF proving (vrf.c) with the secret scalar marked
 * secret, the same through a record's map key (kt.c, pq3_kt_key_prove),
 * and note signing (note.c) with the Ed25519 seed marked secret.
 *
 * Our code may branch only on what is public by design, which it
 * declassifies where it is made: the range verdict of the secret scalar,
 * RFC 6979's reject-and-retry of a candidate nonce, Y, Gamma, U, V
 * (recomputable by any verifier), s, and the Ed25519 public key and
 * signatures. The arithmetic on the secrets is OpenSSL's (EC_POINT_mul,
 * BN Montgomery code, Ed25519), outside this check's scope (ct.supp).
 * alpha is public (the try-and-increment loop depends on it, RFC 9381
 * §7.4), and so is the note text. */
#include <string.h>

#include "ct.h"
#include "pq3/kt.h"
#include "pq3/note.h"
#include "pq3/vrf.h"
#include "testutil.h"

int main(void)
{
    static const uint8_t alpha[] = "alice@example.org";
    uint8_t sk[32], pk[33], pk2[33], pi[81], beta[32];
    pq3t_drbg d;
    pq3_rng rng;

    pq3t_drbg_init(&d, "ct transparency", 0);
    rng = pq3t_drbg_rng(&d);

    /* VRF: keygen from a secret random source, then public key and proof
     * from a secret scalar. */
    CHECK_OK(pq3_vrf_keypair(sk, pk, &rng));
    CT_SECRET(sk, sizeof sk);
    CHECK_OK(pq3_vrf_public(pk2, sk));
    for (int i = 0; i < 4; i++) {
        uint8_t a[sizeof alpha];
        memcpy(a, alpha, sizeof a);
        a[0] = (uint8_t)('a' + i);
        CHECK_OK(pq3_vrf_prove(pi, sk, a, sizeof a - 1));
        CHECK_OK(pq3_vrf_verify(beta, pk, a, sizeof a - 1, pi));
    }
    CHECK(memcmp(pk, pk2, sizeof pk) == 0);
    /* A record's map key (TRANSPARENCY.md §2): alpha is public, the key
     * and pi are the server's public output. */
    for (uint64_t v = 1; v <= 2; v++) {
        uint8_t key[PQ3_KT_KEY_BYTES], key2[PQ3_KT_KEY_BYTES];
        CHECK_OK(pq3_kt_key_prove(key, pi, sk, alpha, sizeof alpha - 1, v));
        CHECK_OK(pq3_kt_key_verify(key2, pk, alpha, sizeof alpha - 1, v, pi));
        CHECK(memcmp(key, key2, sizeof key) == 0);
    }
    pq3_wipe(sk, sizeof sk);

    /* Notes: a signer from a secret seed signs a checkpoint and cosigns
     * it. */
    {
        static const uint8_t body[] = "example.org/log\n5\n"
                                      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        uint8_t seed[32], note[1024];
        pq3_note_signer s[2];
        pq3_note_verifier v[2];
        pq3_note n;
        size_t len = 0, count = 0;

        CHECK_OK(pq3_random(&rng, seed, sizeof seed));
        CT_SECRET(seed, sizeof seed);
        CHECK_OK(pq3_note_signer_from_seed(&s[0], "example.org/log", PQ3_NOTE_TYPE_ED25519, seed));
        seed[0] ^= 1;
        CHECK_OK(pq3_note_signer_from_seed(&s[1], "w.example", PQ3_NOTE_TYPE_COSIGNATURE, seed));
        pq3_wipe(seed, sizeof seed);
        CHECK_OK(pq3_note_sign(note, sizeof note, &len, body, sizeof body - 1, s, 2, 1700000000));
        pq3_note_signer_verifier(&v[0], &s[0]);
        pq3_note_signer_verifier(&v[1], &s[1]);
        CHECK_OK(pq3_note_open(&n, note, len, v, 1));
        CHECK_OK(pq3_note_cosignatures(&n, v + 1, 1, NULL, &count));
        CHECK(count == 1);
        pq3_note_signer_wipe(&s[0]);
        pq3_note_signer_wipe(&s[1]);
    }
    return pq3t_finish();
}
