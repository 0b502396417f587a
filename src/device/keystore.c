/*
 * Key stores (docs/DEVICE.md §2): the handle, the software backend (a key
 * blob in a file of its own) and backups. The token backend is pkcs11.c.
 */
#include <stdlib.h>
#include <string.h>

#include "device/keystore_int.h"

pq3_err pq3_keystore_new(pq3_keystore **ks)
{
    pq3_keystore *k;
    if (ks == NULL)
        return PQ3_ERR_ARG;
    k = calloc(1, sizeof *k);
    if (k == NULL)
        return PQ3_ERR_NOMEM;
    *ks = k;
    return PQ3_OK;
}

void pq3_keystore_free(pq3_keystore *ks)
{
    if (ks == NULL)
        return;
    pq3_p11_close(ks->p11);
    pq3_soft_key_wipe(&ks->soft);
    /* the whole handle: the key and anything else it held */
    pq3_wipe(ks, sizeof *ks);
    free(ks);
}

const char *pq3_keystore_error(const pq3_keystore *ks)
{
    return ks == NULL ? "no key store" : ks->err;
}

int pq3_keystore_is_token(const pq3_keystore *ks)
{
    return ks != NULL && ks->kind == KS_TOKEN;
}

/* The reason for a key blob decoding error, for the handle's text. */
static const char *blob_reason(pq3_err err)
{
    switch (err) {
    case PQ3_ERR_VERSION: return "not a key blob of a known version";
    case PQ3_ERR_DECODE: return "malformed key blob";
    case PQ3_ERR_LIMIT: return "key blob asks for a scrypt cost above the bounds";
    case PQ3_ERR_STATE: return "key blob is encrypted and no passphrase was given";
    case PQ3_ERR_VERIFY: return "wrong passphrase, or the key blob was altered";
    case PQ3_ERR_KEY: return "key blob holds no valid P-256 key";
    default: return pq3_strerror(err);
    }
}

/* Writes `key` to a new file at `path` as a key blob and, on success,
 * makes it the handle's key. The key is the caller's to wipe. */
static pq3_err store_key(pq3_keystore *ks, const char *path, const pq3_soft_key *key,
                         const char *passphrase, const pq3_scrypt_cost *cost,
                         const pq3_rng *rng)
{
    uint8_t blob[PQ3_KEYBLOB_MAX_BYTES];
    size_t len = 0;
    pq3_err err;

    err = pq3_keyblob_encode(blob, sizeof blob, &len, key->priv, passphrase, cost, rng);
    if (err != PQ3_OK) {
        pq3_dev_seterr(ks->err, "cannot encode the key: %s", pq3_strerror(err));
        goto cleanup;
    }
    err = pq3_dev_write_new_file(path, blob, len, ks->err);
    if (err != PQ3_OK)
        goto cleanup;
    ks->soft = *key;
    memcpy(ks->pub, key->pub, sizeof ks->pub);
    ks->kind = KS_SOFT;
cleanup:
    pq3_wipe(blob, sizeof blob);
    return err;
}

static int usable(pq3_keystore *ks)
{
    if (ks->kind != KS_EMPTY) {
        pq3_dev_seterr(ks->err, "the key store already holds a key");
        return 0;
    }
    return 1;
}

pq3_err pq3_keystore_soft_create(pq3_keystore *ks, const char *path, const char *passphrase,
                                 const pq3_scrypt_cost *cost, const pq3_rng *rng)
{
    pq3_soft_key key;
    pq3_err err;

    if (ks == NULL)
        return PQ3_ERR_ARG;
    ks->err[0] = '\0';
    if (path == NULL || !usable(ks))
        return PQ3_ERR_ARG;
    err = pq3_soft_key_generate(&key, rng);
    if (err != PQ3_OK) {
        pq3_dev_seterr(ks->err, "cannot make a key: %s", pq3_strerror(err));
        return err;
    }
    err = store_key(ks, path, &key, passphrase, cost, rng);
    pq3_soft_key_wipe(&key);
    return err;
}

pq3_err pq3_keystore_soft_import(pq3_keystore *ks, const char *path, const uint8_t *backup,
                                 size_t backup_len, const char *backup_passphrase,
                                 const char *file_passphrase, const pq3_scrypt_cost *cost,
                                 const pq3_rng *rng)
{
    uint8_t priv[PQ3_ECDSA_PRIV_BYTES];
    pq3_soft_key key;
    pq3_err err;

    if (ks == NULL)
        return PQ3_ERR_ARG;
    ks->err[0] = '\0';
    if (path == NULL || backup == NULL || !usable(ks))
        return PQ3_ERR_ARG;
    memset(&key, 0, sizeof key);
    err = pq3_keyblob_decode(priv, backup, backup_len, backup_passphrase);
    if (err != PQ3_OK) {
        pq3_dev_seterr(ks->err, "backup: %s", blob_reason(err));
        goto cleanup;
    }
    err = pq3_soft_key_import(&key, priv);
    if (err != PQ3_OK) {
        pq3_dev_seterr(ks->err, "backup: %s", blob_reason(err));
        goto cleanup;
    }
    err = store_key(ks, path, &key, file_passphrase, cost, rng);
cleanup:
    pq3_soft_key_wipe(&key);
    pq3_wipe(priv, sizeof priv);
    return err;
}

pq3_err pq3_keystore_soft_open(pq3_keystore *ks, const char *path, const char *passphrase)
{
    /* one byte more than the largest blob, so trailing bytes reach the
     * decoder and are refused there as malformed */
    uint8_t blob[PQ3_KEYBLOB_MAX_BYTES + 1];
    uint8_t priv[PQ3_ECDSA_PRIV_BYTES];
    pq3_soft_key key;
    size_t len = 0;
    pq3_err err;

    if (ks == NULL)
        return PQ3_ERR_ARG;
    ks->err[0] = '\0';
    if (path == NULL || !usable(ks))
        return PQ3_ERR_ARG;
    memset(&key, 0, sizeof key);
    err = pq3_dev_read_file(path, blob, sizeof blob, &len, 1, ks->err);
    if (err != PQ3_OK)
        goto cleanup;
    err = pq3_keyblob_decode(priv, blob, len, passphrase);
    if (err != PQ3_OK) {
        pq3_dev_seterr(ks->err, "%s: %s", path, blob_reason(err));
        goto cleanup;
    }
    err = pq3_soft_key_import(&key, priv);
    if (err != PQ3_OK) {
        pq3_dev_seterr(ks->err, "%s: %s", path, blob_reason(err));
        goto cleanup;
    }
    ks->soft = key;
    memcpy(ks->pub, key.pub, sizeof ks->pub);
    ks->kind = KS_SOFT;
cleanup:
    pq3_soft_key_wipe(&key);
    pq3_wipe(priv, sizeof priv);
    pq3_wipe(blob, sizeof blob);
    return err;
}

pq3_err pq3_keystore_export(pq3_keystore *ks, uint8_t *out, size_t cap, size_t *out_len,
                            const char *passphrase, const pq3_scrypt_cost *cost,
                            const pq3_rng *rng)
{
    pq3_err err;

    if (ks == NULL)
        return PQ3_ERR_ARG;
    ks->err[0] = '\0';
    if (out == NULL || out_len == NULL || passphrase == NULL) {
        pq3_dev_seterr(ks->err, "a backup needs an output buffer and a passphrase");
        return PQ3_ERR_ARG;
    }
    if (ks->kind == KS_TOKEN) {
        pq3_dev_seterr(ks->err, "a token key cannot leave its token");
        return PQ3_ERR_STATE;
    }
    if (ks->kind != KS_SOFT) {
        pq3_dev_seterr(ks->err, "the key store holds no key");
        return PQ3_ERR_STATE;
    }
    err = pq3_keyblob_encode(out, cap, out_len, ks->soft.priv, passphrase, cost, rng);
    if (err != PQ3_OK)
        pq3_dev_seterr(ks->err, "cannot encode the backup: %s", pq3_strerror(err));
    return err;
}

pq3_err pq3_keystore_pkcs11_create(pq3_keystore *ks, const pq3_pkcs11_config *cfg)
{
    if (ks == NULL)
        return PQ3_ERR_ARG;
    ks->err[0] = '\0';
    if (!usable(ks))
        return PQ3_ERR_ARG;
    return pq3_p11_create(ks, cfg);
}

pq3_err pq3_keystore_pkcs11_open(pq3_keystore *ks, const pq3_pkcs11_config *cfg)
{
    if (ks == NULL)
        return PQ3_ERR_ARG;
    ks->err[0] = '\0';
    if (!usable(ks))
        return PQ3_ERR_ARG;
    return pq3_p11_open(ks, cfg);
}

pq3_err pq3_keystore_signer(pq3_keystore *ks, pq3_signer *signer)
{
    if (ks == NULL || signer == NULL)
        return PQ3_ERR_ARG;
    switch (ks->kind) {
    case KS_SOFT:
        /* the library's own signer: deterministic, low s */
        return pq3_soft_signer(signer, &ks->soft);
    case KS_TOKEN:
        signer->ctx = ks;
        signer->sign = pq3_p11_sign;
        memcpy(signer->pub, ks->pub, sizeof signer->pub);
        return PQ3_OK;
    default:
        pq3_dev_seterr(ks->err, "the key store holds no key");
        return PQ3_ERR_STATE;
    }
}
