/* Prekey bundles (docs/PROTOCOL.md §6; include/pq3/prekey.h). The encoder
 * and decoder read like the table of §6. */
#include "pq3/prekey.h"

#include <string.h>

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

void pq3_prekey_secret_wipe(pq3_prekey_secret *secret)
{
    if (secret != NULL)
        pq3_wipe(secret, sizeof *secret);
}
