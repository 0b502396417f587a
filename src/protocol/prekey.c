/* Prekey bundles and their stored secrets (docs/PROTOCOL.md §6, §6.1;
 * include/pq3/prekey.h). The encoders and decoders read like the tables of
 * §6 and §6.1. */
#include "pq3/prekey.h"

#include <string.h>

#include "crypto/ct.h"
#include "protocol/codec.h"
#include "protocol/kdf.h"
#include "protocol/sign.h"

#define BUNDLE_BODY (PQ3_PREKEY_BUNDLE_BYTES - PQ3_ECDSA_SIG_BYTES) /* 1622 */
#define PREKEY_TBS_MAX (sizeof PQ3_L_PREKEY - 1 + PQ3_ECDSA_PUB_BYTES + BUNDLE_BODY)

static pq3_err bundle_write(uint8_t out[PQ3_PREKEY_BUNDLE_BYTES], const pq3_prekey_bundle *b)
{
    pq3_writer w;
    size_t len;
    pq3_writer_init(&w, out, PQ3_PREKEY_BUNDLE_BYTES);
    pq3_write_u8(&w, PQ3_FORMAT_VERSION);
    pq3_write_u8(&w, PQ3_TYPE_PREKEY);
    pq3_write_u32(&w, b->id);
    pq3_write_u64(&w, b->created);
    pq3_write_u64(&w, b->expires);
    pq3_write_bytes(&w, b->ecdh_pub, sizeof b->ecdh_pub);
    pq3_write_bytes(&w, b->kem_ek, sizeof b->kem_ek);
    pq3_write_bytes(&w, b->signature, sizeof b->signature);
    return pq3_writer_end(&w, &len);
}

/* TBS_prekey = L_PREKEY || D || B[0..1622) (§6). */
static size_t prekey_tbs(uint8_t tbs[PREKEY_TBS_MAX], const uint8_t device_pub[33],
                         const uint8_t *body)
{
    size_t n = sizeof PQ3_L_PREKEY - 1;
    memcpy(tbs, PQ3_L_PREKEY, n);
    memcpy(tbs + n, device_pub, PQ3_ECDSA_PUB_BYTES);
    n += PQ3_ECDSA_PUB_BYTES;
    memcpy(tbs + n, body, BUNDLE_BODY);
    return n + BUNDLE_BODY;
}

pq3_err pq3_prekey_generate(pq3_prekey_secret *out, uint32_t id, uint64_t created,
                            uint64_t expires, const pq3_signer *device, const pq3_rng *rng)
{
    uint8_t seed[64], enc[PQ3_PREKEY_BUNDLE_BYTES], tbs[PREKEY_TBS_MAX];
    pq3_prekey_bundle *b;
    pq3_err err;

    if (out == NULL || device == NULL || device->sign == NULL || expires <= created)
        return PQ3_ERR_ARG;
    memset(out, 0, sizeof *out);
    b = &out->bundle;
    b->id = id;
    b->created = created;
    b->expires = expires;
    /* §15: the ECDH scalar, then ML-KEM-1024 d || z. */
    if ((err = pq3_ecdh_keypair(out->ecdh_priv, b->ecdh_pub, rng)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_random(rng, seed, sizeof seed)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_mlkem1024_keypair_derand(b->kem_ek, out->kem_dk, seed, seed + 32)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_ecdh_import(&b->ecdh, b->ecdh_pub)) != PQ3_OK)
        goto cleanup;
    if ((err = bundle_write(enc, b)) != PQ3_OK)
        goto cleanup;
    /* §5: checked and normalised whatever the key store returned. */
    if ((err = pq3_sign_checked(device, b->signature, tbs,
                                prekey_tbs(tbs, device->pub, enc))) != PQ3_OK)
        goto cleanup;
    memcpy(enc + BUNDLE_BODY, b->signature, PQ3_ECDSA_SIG_BYTES);
    if ((err = pq3_sha384(b->hash, enc, sizeof enc)) != PQ3_OK)
        goto cleanup;
    b->verified = 1;

cleanup:
    pq3_wipe(seed, sizeof seed);
    if (err != PQ3_OK)
        pq3_wipe(out, sizeof *out);
    return err;
}

pq3_err pq3_prekey_encode(uint8_t out[PQ3_PREKEY_BUNDLE_BYTES], const pq3_prekey_bundle *bundle)
{
    if (out == NULL || bundle == NULL)
        return PQ3_ERR_ARG;
    return bundle_write(out, bundle);
}

static pq3_err bundle_parse(pq3_prekey_bundle *b, const uint8_t *in, size_t len)
{
    pq3_reader r;
    pq3_err err;
    memset(b, 0, sizeof *b);
    if (len < 2)
        return PQ3_ERR_DECODE;
    if (in[0] != PQ3_FORMAT_VERSION || in[1] != PQ3_TYPE_PREKEY)
        return PQ3_ERR_VERSION;
    pq3_reader_init(&r, in + 2, len - 2);
    b->id = pq3_read_u32(&r);
    b->created = pq3_read_u64(&r);
    b->expires = pq3_read_u64(&r);
    pq3_read_bytes(&r, b->ecdh_pub, sizeof b->ecdh_pub);
    pq3_read_bytes(&r, b->kem_ek, sizeof b->kem_ek);
    pq3_read_bytes(&r, b->signature, sizeof b->signature);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    if (b->expires <= b->created)
        return PQ3_ERR_DECODE;
    return pq3_sha384(b->hash, in, len);
}

pq3_err pq3_prekey_decode(pq3_prekey_bundle *bundle, const uint8_t *in, size_t len)
{
    pq3_prekey_bundle b;
    pq3_err err;
    if (bundle == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if ((err = bundle_parse(&b, in, len)) != PQ3_OK)
        return err;
    *bundle = b;
    return PQ3_OK;
}

pq3_err pq3_prekey_verify(pq3_prekey_bundle *bundle, const uint8_t *in, size_t len,
                          const pq3_device_cert *owner, uint64_t now)
{
    pq3_prekey_bundle b;
    uint8_t tbs[PREKEY_TBS_MAX];
    pq3_err err;

    if (bundle == NULL || owner == NULL || !owner->verified || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    /* §6 order: decode, signature, validity, ECDH key, ML-KEM ek. */
    if ((err = bundle_parse(&b, in, len)) != PQ3_OK)
        return err;
    if ((err = pq3_ecdsa_verify(&owner->auth_key, b.signature, tbs,
                                prekey_tbs(tbs, owner->auth_pub, in))) != PQ3_OK)
        return err;
    if (now >= b.expires || (b.created > now && b.created - now > PQ3_CLOCK_SKEW))
        return PQ3_ERR_EXPIRED;
    if ((err = pq3_ecdh_import(&b.ecdh, b.ecdh_pub)) != PQ3_OK)
        return err;
    if ((err = pq3_mlkem1024_check_ek(b.kem_ek)) != PQ3_OK)
        return err;
    b.verified = 1;
    *bundle = b;
    return PQ3_OK;
}

/* ---- the stored secret (§6.1) ------------------------------------------- */

/* FIPS 203 Algorithm 19 line 3: dk = dk_PKE (384k bytes) || ek || H(ek) || z. */
#define DK_EK_OFFSET (PQ3_MLKEM1024_DK_BYTES - PQ3_MLKEM1024_EK_BYTES - 64)

pq3_err pq3_prekey_secret_serialize(const pq3_prekey_secret *s, uint8_t *out, size_t cap,
                                    size_t *out_len)
{
    uint8_t bundle[PQ3_PREKEY_BUNDLE_BYTES];
    pq3_writer w;
    size_t len;
    pq3_err err;

    if (s == NULL || out_len == NULL || (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    /* Only a secret that generate or deserialize completed: a zeroed or
     * wiped one would be stored and then never load. */
    if (!s->bundle.verified) {
        err = PQ3_ERR_ARG;
        goto cleanup;
    }
    if (cap < PQ3_PREKEY_SECRET_BYTES) {
        *out_len = PQ3_PREKEY_SECRET_BYTES;
        err = PQ3_ERR_BUFFER;
        goto cleanup;
    }
    if ((err = bundle_write(bundle, &s->bundle)) != PQ3_OK)
        goto cleanup;
    /* §6.1: version, type, bundle, ECDH scalar, dk. */
    pq3_writer_init(&w, out, cap);
    pq3_write_u8(&w, PQ3_FORMAT_VERSION);
    pq3_write_u8(&w, PQ3_TYPE_PREKEY_SECRET);
    pq3_write_bytes(&w, bundle, sizeof bundle);
    pq3_write_bytes(&w, s->ecdh_priv, sizeof s->ecdh_priv);
    pq3_write_bytes(&w, s->kem_dk, sizeof s->kem_dk);
    if ((err = pq3_writer_end(&w, &len)) != PQ3_OK)
        goto cleanup;
    *out_len = len;

cleanup:
    if (err != PQ3_OK && out != NULL)
        pq3_wipe(out, cap);
    return err;
}

/* The dk decrypts for its ek: encapsulate a fixed message to ek, decapsulate
 * with dk, compare the keys (a pairwise consistency test). The §7.3 hash
 * check binds the ek inside dk but not the decryption key dk_PKE beside it;
 * a dk_PKE altered in storage would pass it and then silently fail every
 * session start (implicit rejection). Only the verdict is revealed. */
static pq3_err dk_decrypts(const uint8_t dk[PQ3_MLKEM1024_DK_BYTES],
                           const uint8_t ek[PQ3_MLKEM1024_EK_BYTES])
{
    static const uint8_t m[32] = { 0 };
    uint8_t ct[PQ3_MLKEM1024_CT_BYTES], ss1[32], ss2[32];
    int same;
    pq3_err err;

    if ((err = pq3_mlkem1024_encaps_derand(ct, ss1, ek, m)) != PQ3_OK ||
        (err = pq3_mlkem1024_decaps(ss2, ct, dk)) != PQ3_OK)
        goto cleanup;
    same = pq3_ct_equal(ss1, ss2, sizeof ss1);
    pq3_ct_declassify(&same, sizeof same);
    err = same ? PQ3_OK : PQ3_ERR_KEY;

cleanup:
    pq3_wipe(ss1, sizeof ss1);
    pq3_wipe(ss2, sizeof ss2);
    return err;
}

pq3_err pq3_prekey_secret_deserialize(pq3_prekey_secret *s, const uint8_t *in, size_t len)
{
    pq3_prekey_secret t;
    pq3_reader r;
    const uint8_t *bundle;
    uint8_t pub[PQ3_ECDH_PUB_BYTES];
    pq3_err err;

    if (s == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if (len < 2)
        return PQ3_ERR_DECODE;
    if (in[0] != PQ3_FORMAT_VERSION || in[1] != PQ3_TYPE_PREKEY_SECRET)
        return PQ3_ERR_VERSION;
    memset(&t, 0, sizeof t);
    /* §6.1 layout, exact length. */
    pq3_reader_init(&r, in + 2, len - 2);
    bundle = pq3_read_ref(&r, PQ3_PREKEY_BUNDLE_BYTES);
    pq3_read_bytes(&r, t.ecdh_priv, sizeof t.ecdh_priv);
    pq3_read_bytes(&r, t.kem_dk, sizeof t.kem_dk);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        goto cleanup;
    /* 1. the bundle, as pq3_prekey_decode reads it (hash included) */
    if ((err = bundle_parse(&t.bundle, bundle, PQ3_PREKEY_BUNDLE_BYTES)) != PQ3_OK)
        goto cleanup;
    /* 2. the ECDH scalar: in [1, n-1] (PQ3_ERR_KEY from pq3_ecdh_public) and
     * the bundle's public key; then that key imported */
    if ((err = pq3_ecdh_public(pub, t.ecdh_priv)) != PQ3_OK)
        goto cleanup;
    if (memcmp(pub, t.bundle.ecdh_pub, sizeof pub) != 0) { /* public data */
        err = PQ3_ERR_KEY;
        goto cleanup;
    }
    if ((err = pq3_ecdh_import(&t.bundle.ecdh, t.bundle.ecdh_pub)) != PQ3_OK)
        goto cleanup;
    /* 3. ML-KEM-1024: the bundle's ek passes FIPS 203 §7.2, the dk §7.3,
     * the dk holds that same ek (public data, plain compare), and it
     * decrypts for it */
    if ((err = pq3_mlkem1024_check_ek(t.bundle.kem_ek)) != PQ3_OK ||
        (err = pq3_mlkem1024_check_dk(t.kem_dk)) != PQ3_OK)
        goto cleanup;
    if (memcmp(t.kem_dk + DK_EK_OFFSET, t.bundle.kem_ek, PQ3_MLKEM1024_EK_BYTES) != 0) {
        err = PQ3_ERR_KEY;
        goto cleanup;
    }
    if ((err = dk_decrypts(t.kem_dk, t.bundle.kem_ek)) != PQ3_OK)
        goto cleanup;
    /* The signature is not checked here (no certificate): the owner loads
     * its own record (include/pq3/prekey.h). */
    t.bundle.verified = 1;
    memcpy(s, &t, sizeof t);

cleanup:
    pq3_wipe(&t, sizeof t);
    return err;
}

void pq3_prekey_secret_wipe(pq3_prekey_secret *secret)
{
    if (secret != NULL)
        pq3_wipe(secret, sizeof *secret);
}
