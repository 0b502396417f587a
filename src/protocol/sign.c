/*
 * Signing through a pq3_signer (docs/PROTOCOL.md §1, §5; protocol/sign.h).
 *
 * A key store (a PKCS#11 token, an HSM) makes ECDSA signatures its own way:
 * random nonces, and s above n/2 about half the time. Verifiers accept only
 * s <= n/2 (§1), so each signature is normalised here before it is
 * published, and checked, so that a misbehaving key store is caught by the
 * signing device rather than by every peer.
 */
#include "protocol/sign.h"

#include <string.h>

#include "crypto/ct.h"
#include "crypto/ecdsa.h"

pq3_err pq3_sign_checked(const pq3_signer *signer, uint8_t sig[PQ3_ECDSA_SIG_BYTES],
                         const uint8_t *msg, size_t len)
{
    const pq3_soft_key *soft;
    uint8_t buf[PQ3_ECDSA_SIG_BYTES];
    pq3_ecdsa_pub pub;
    int check;
    pq3_err err;

    if (sig == NULL)
        return PQ3_ERR_ARG;
    if (signer == NULL || signer->sign == NULL || (msg == NULL && len != 0)) {
        pq3_wipe(sig, PQ3_ECDSA_SIG_BYTES);
        return PQ3_ERR_ARG;
    }
    /*
     * The software signer is skipped over by the verification (about 56 µs,
     * against about 90 µs for a whole seal): it signs with pq3_ecdsa_sign,
     * our RFC 6979 implementation, tested against RFC 6979's and
     * Wycheproof's vectors, which emits only valid, low-s signatures. It is
     * recognised by its sign function, which only pq3_soft_signer installs,
     * so no flag of the public interface lets another signer skip the check.
     * Its key must still be the one the signer names: a signer whose pub was
     * changed after pq3_soft_signer is checked like any other.
     */
    soft = pq3_soft_signer_key(signer);
    check = soft == NULL ||
            memcmp(soft->pub, signer->pub, PQ3_ECDSA_PUB_BYTES) != 0; /* public keys */
    /* The key first: a signer naming no valid key is the caller's mistake,
     * found before the key store is asked to sign anything. */
    if (check && (err = pq3_ecdsa_import(&pub, signer->pub)) != PQ3_OK) {
        if (err == PQ3_ERR_KEY)
            err = PQ3_ERR_ARG;
        goto cleanup;
    }
    if ((err = signer->sign(signer->ctx, buf, msg, len)) != PQ3_OK) {
        /* A signer's error passes up unchanged; a positive return is no
         * pq3_err at all. */
        if (err > 0)
            err = PQ3_ERR_CRYPTO;
        goto cleanup;
    }
    pq3_ct_declassify(buf, sizeof buf); /* the signature is published */
    /* §1: r and s in [1, n-1]; a high s becomes n - s. This only changes
     * the encoding of the same signature: no nonce is drawn again, and the
     * key store is not asked twice. */
    if (pq3_ecdsa_normalize_s(buf, NULL) != PQ3_OK) {
        err = PQ3_ERR_CRYPTO;
        goto cleanup;
    }
    if (check && (err = pq3_ecdsa_verify(&pub, buf, msg, len)) != PQ3_OK) {
        /* Not a signature under signer->pub: the key store misbehaved (it
         * signed with another key or returned garbage). A system failure,
         * not bad input from a peer. */
        if (err == PQ3_ERR_VERIFY || err == PQ3_ERR_ARG)
            err = PQ3_ERR_CRYPTO;
        goto cleanup;
    }
    memcpy(sig, buf, sizeof buf);

cleanup:
    pq3_wipe(buf, sizeof buf);
    if (err != PQ3_OK)
        pq3_wipe(sig, PQ3_ECDSA_SIG_BYTES);
    return err;
}

pq3_err pq3_sign(const pq3_signer *signer, uint8_t sig[PQ3_ECDSA_SIG_BYTES], const uint8_t *msg,
                 size_t len)
{
    return pq3_sign_checked(signer, sig, msg, len);
}
