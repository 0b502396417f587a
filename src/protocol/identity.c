/* Identities: software signer and device certificates (docs/PROTOCOL.md §4,
 * §5; include/pq3/identity.h). The certificate's encoder and decoder below
 * read like the table of §4. */
#include "pq3/identity.h"

#include <string.h>

#include "protocol/codec.h"
#include "protocol/kdf.h"
#include "protocol/sign.h"

/* ---- software signer (§5) ------------------------------------------------ */

pq3_err pq3_soft_key_generate(pq3_soft_key *key, const pq3_rng *rng)
{
    pq3_err err;
    if (key == NULL)
        return PQ3_ERR_ARG;
    /* §15: 32-byte draws until the scalar is in [1, n-1]. */
    err = pq3_ecdsa_keypair(key->priv, key->pub, rng);
    if (err != PQ3_OK)
        pq3_wipe(key, sizeof *key);
    return err;
}

pq3_err pq3_soft_key_import(pq3_soft_key *key, const uint8_t priv[PQ3_ECDSA_PRIV_BYTES])
{
    pq3_err err;
    if (key == NULL || priv == NULL)
        return PQ3_ERR_ARG;
    memcpy(key->priv, priv, sizeof key->priv);
    err = pq3_ecdsa_public(key->pub, key->priv);
    if (err != PQ3_OK)
        pq3_wipe(key, sizeof *key);
    return err;
}

void pq3_soft_key_wipe(pq3_soft_key *key)
{
    if (key != NULL)
        pq3_wipe(key, sizeof *key);
}

static pq3_err soft_sign(void *ctx, uint8_t sig[PQ3_ECDSA_SIG_BYTES], const uint8_t *msg,
                         size_t len)
{
    const pq3_soft_key *key = ctx;
    if (key == NULL)
        return PQ3_ERR_ARG;
    return pq3_ecdsa_sign(sig, key->priv, msg, len);
}

/* protocol/sign.h: pq3_sign_checked recognises the software signer by its
 * sign function, which is private to this file. */
const pq3_soft_key *pq3_soft_signer_key(const pq3_signer *signer)
{
    if (signer == NULL || signer->sign != soft_sign)
        return NULL;
    return signer->ctx;
}

pq3_err pq3_soft_signer(pq3_signer *signer, pq3_soft_key *key)
{
    if (signer == NULL || key == NULL)
        return PQ3_ERR_ARG;
    signer->ctx = key;
    signer->sign = soft_sign;
    memcpy(signer->pub, key->pub, sizeof signer->pub);
    return PQ3_OK;
}

/* ---- device certificates (§4) -------------------------------------------- */

static int cert_fields_ok(const pq3_device_cert *c)
{
    if (c->handle_len == 0 || c->n_versions == 0 || c->n_versions > PQ3_CERT_MAX_VERSIONS ||
        c->expires <= c->created)
        return 0;
    for (unsigned i = 0; i < c->n_versions; i++) {
        if (c->versions[i] == 0 || (i > 0 && c->versions[i] <= c->versions[i - 1]))
            return 0;
    }
    return 1;
}

/* Everything before the signature. */
static void cert_write_body(pq3_writer *w, const pq3_device_cert *c)
{
    pq3_write_u8(w, PQ3_FORMAT_VERSION);
    pq3_write_u8(w, PQ3_TYPE_CERT);
    pq3_write_vec16(w, c->handle, c->handle_len, PQ3_HANDLE_MAX);
    pq3_write_bytes(w, c->device_id, sizeof c->device_id);
    pq3_write_bytes(w, c->auth_pub, sizeof c->auth_pub);
    pq3_write_u8(w, c->n_versions);
    pq3_write_bytes(w, c->versions, c->n_versions);
    pq3_write_u64(w, c->created);
    pq3_write_u64(w, c->expires);
}

/* TBS_cert = L_CERT || A || C[0..len-64) (§4), into buf (large enough). */
static size_t cert_tbs(uint8_t *buf, const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES],
                       const uint8_t *body, size_t body_len)
{
    size_t n = sizeof PQ3_L_CERT - 1;
    memcpy(buf, PQ3_L_CERT, n);
    memcpy(buf + n, account_pub, PQ3_ECDSA_PUB_BYTES);
    n += PQ3_ECDSA_PUB_BYTES;
    memcpy(buf + n, body, body_len);
    return n + body_len;
}

#define CERT_TBS_MAX (sizeof PQ3_L_CERT - 1 + PQ3_ECDSA_PUB_BYTES + PQ3_CERT_MAX_BYTES)

pq3_err pq3_cert_issue(uint8_t *out, size_t cap, size_t *out_len, pq3_device_cert *cert,
                       const pq3_signer *account)
{
    uint8_t body[PQ3_CERT_MAX_BYTES], tbs[CERT_TBS_MAX], sig[PQ3_ECDSA_SIG_BYTES];
    pq3_writer w;
    size_t body_len, tbs_len;
    pq3_err err;

    if (out_len == NULL || cert == NULL || account == NULL || account->sign == NULL ||
        (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    if (!cert_fields_ok(cert))
        return PQ3_ERR_ARG;
    pq3_writer_init(&w, body, sizeof body);
    cert_write_body(&w, cert);
    if ((err = pq3_writer_end(&w, &body_len)) != PQ3_OK)
        return err;
    if (cap < body_len + PQ3_ECDSA_SIG_BYTES) {
        *out_len = body_len + PQ3_ECDSA_SIG_BYTES;
        return PQ3_ERR_BUFFER;
    }
    tbs_len = cert_tbs(tbs, account->pub, body, body_len);
    /* §5: checked and normalised whatever the key store returned. */
    if ((err = pq3_sign_checked(account, sig, tbs, tbs_len)) != PQ3_OK)
        return err;
    memcpy(out, body, body_len);
    memcpy(out + body_len, sig, sizeof sig);
    memcpy(cert->signature, sig, sizeof sig);
    *out_len = body_len + PQ3_ECDSA_SIG_BYTES;
    return PQ3_OK;
}

/* Strict decoding into c (§4 table); returns the length of the signed part. */
static pq3_err cert_parse(pq3_device_cert *c, const uint8_t *in, size_t len, size_t *body_len)
{
    pq3_reader r;
    const uint8_t *handle;
    size_t hlen;
    pq3_err err;

    memset(c, 0, sizeof *c);
    pq3_reader_init(&r, in, len);
    if (pq3_read_u8(&r) != PQ3_FORMAT_VERSION || pq3_read_u8(&r) != PQ3_TYPE_CERT)
        return pq3_reader_left(&r) == 0 && len < 2 ? PQ3_ERR_DECODE : PQ3_ERR_VERSION;
    handle = pq3_read_vec16(&r, &hlen, PQ3_HANDLE_MAX);
    if (handle != NULL && hlen == 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    if (handle != NULL && hlen > 0)
        memcpy(c->handle, handle, hlen);
    c->handle_len = (uint8_t)hlen;
    pq3_read_bytes(&r, c->device_id, sizeof c->device_id);
    pq3_read_bytes(&r, c->auth_pub, sizeof c->auth_pub);
    c->n_versions = pq3_read_u8(&r);
    if (c->n_versions == 0 || c->n_versions > PQ3_CERT_MAX_VERSIONS)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    else
        pq3_read_bytes(&r, c->versions, c->n_versions);
    c->created = pq3_read_u64(&r);
    c->expires = pq3_read_u64(&r);
    *body_len = r.off;
    pq3_read_bytes(&r, c->signature, sizeof c->signature);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    if (!cert_fields_ok(c))
        return PQ3_ERR_DECODE;
    return PQ3_OK;
}

pq3_err pq3_cert_decode(pq3_device_cert *cert, const uint8_t *in, size_t len)
{
    pq3_device_cert c;
    size_t body_len;
    pq3_err err;
    if (cert == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if ((err = cert_parse(&c, in, len, &body_len)) != PQ3_OK)
        return err;
    *cert = c;
    return PQ3_OK;
}

pq3_err pq3_cert_verify(pq3_device_cert *cert, const uint8_t *in, size_t len,
                        const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES], uint64_t now)
{
    pq3_device_cert c;
    pq3_ecdsa_pub account;
    uint8_t tbs[CERT_TBS_MAX];
    size_t body_len, tbs_len;
    pq3_err err;

    if (cert == NULL || account_pub == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    /* §4 verification order: decode, account key, signature, validity,
     * device key. */
    if ((err = cert_parse(&c, in, len, &body_len)) != PQ3_OK)
        return err;
    if ((err = pq3_ecdsa_import(&account, account_pub)) != PQ3_OK)
        return err;
    tbs_len = cert_tbs(tbs, account_pub, in, body_len);
    if ((err = pq3_ecdsa_verify(&account, c.signature, tbs, tbs_len)) != PQ3_OK)
        return err;
    if (now >= c.expires || (c.created > now && c.created - now > PQ3_CLOCK_SKEW))
        return PQ3_ERR_EXPIRED;
    if ((err = pq3_ecdsa_import(&c.auth_key, c.auth_pub)) != PQ3_OK)
        return err;
    c.verified = 1;
    *cert = c;
    return PQ3_OK;
}

pq3_err pq3_cert_common_version(uint8_t *version, const pq3_device_cert *a,
                                const pq3_device_cert *b)
{
    unsigned best = 0;
    if (version == NULL || a == NULL || b == NULL)
        return PQ3_ERR_ARG;
    /* §10.1: the highest version both list. */
    for (unsigned i = 0; i < a->n_versions && i < PQ3_CERT_MAX_VERSIONS; i++)
        for (unsigned j = 0; j < b->n_versions && j < PQ3_CERT_MAX_VERSIONS; j++)
            if (a->versions[i] == b->versions[j] && a->versions[i] > best)
                best = a->versions[i];
    /* A common version newer than ours means one side would be downgraded:
     * refuse rather than speak v1 to a peer who expects more. */
    if (best != PQ3_PROTOCOL_VERSION)
        return PQ3_ERR_VERSION;
    *version = (uint8_t)best;
    return PQ3_OK;
}
