/*
 * Shared set-up for the protocol tests (header-only): a party with an
 * account key, a device key behind a software signer, a verified device
 * certificate and a deterministic random source.
 */
#ifndef PQ3_TEST_PROTOCOL_FIXTURE_H
#define PQ3_TEST_PROTOCOL_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "pq3/identity.h"
#include "pq3/prekey.h"
#include "pq3/session.h"
#include "testutil.h"

#define FX_T0 1700000000u
#define FX_DAY 86400u

typedef struct {
    pq3t_drbg drbg;
    pq3_rng rng;
    pq3_soft_key account, device;
    pq3_signer account_signer, device_signer;
    uint8_t cert_enc[PQ3_CERT_MAX_BYTES];
    size_t cert_len;
    pq3_device_cert cert;
} fx_party;

static inline int fx_party_init(fx_party *p, const char *handle, const char *label, uint64_t k)
{
    memset(p, 0, sizeof *p);
    pq3t_drbg_init(&p->drbg, label, k);
    p->rng = pq3t_drbg_rng(&p->drbg);
    if (pq3_soft_key_generate(&p->account, &p->rng) != PQ3_OK ||
        pq3_soft_key_generate(&p->device, &p->rng) != PQ3_OK ||
        pq3_soft_signer(&p->account_signer, &p->account) != PQ3_OK ||
        pq3_soft_signer(&p->device_signer, &p->device) != PQ3_OK)
        return 0;
    p->cert.handle_len = (uint8_t)strlen(handle);
    memcpy(p->cert.handle, handle, p->cert.handle_len);
    for (int i = 0; i < PQ3_DEVICE_ID_BYTES; i++)
        p->cert.device_id[i] = (uint8_t)(label[0] + i);
    memcpy(p->cert.auth_pub, p->device.pub, 33);
    p->cert.versions[0] = 1;
    p->cert.n_versions = 1;
    p->cert.created = FX_T0 - FX_DAY;
    p->cert.expires = FX_T0 + 365 * FX_DAY;
    if (pq3_cert_issue(p->cert_enc, sizeof p->cert_enc, &p->cert_len, &p->cert,
                       &p->account_signer) != PQ3_OK)
        return 0;
    return pq3_cert_verify(&p->cert, p->cert_enc, p->cert_len, p->account.pub, FX_T0) == PQ3_OK;
}

/* Serialized state, for byte comparisons. Caller frees. */
static inline uint8_t *fx_state(const pq3_session *s, size_t *len)
{
    uint8_t *buf = malloc(PQ3_STATE_MAX_BYTES);
    if (buf == NULL || pq3_session_serialize(s, buf, PQ3_STATE_MAX_BYTES, len) != PQ3_OK) {
        free(buf);
        *len = 0;
        return NULL;
    }
    return buf;
}

/* A started pair: alice initiates against bob's prekey, and bob accepts the
 * first message (body "hello"). Returns 1 on success. */
typedef struct {
    fx_party alice, bob;
    pq3_prekey_secret prekey;
    pq3_prekey_bundle bundle;       /* as alice verified it */
    uint8_t bundle_enc[PQ3_PREKEY_BUNDLE_BYTES];
    pq3_session a, b;
    uint8_t first[8192];
    size_t first_len;
} fx_pair;

static inline int fx_pair_init(fx_pair *x, uint64_t k)
{
    uint8_t body[8192];
    pq3_opened info;
    memset(x, 0, sizeof *x);
    if (!fx_party_init(&x->alice, "mailto:alice@example.org", "alice", k) ||
        !fx_party_init(&x->bob, "tel:+15555550123", "bob", k))
        return 0;
    if (pq3_prekey_generate(&x->prekey, 7, FX_T0, FX_T0 + 7 * FX_DAY, &x->bob.device_signer,
                            &x->bob.rng) != PQ3_OK ||
        pq3_prekey_encode(x->bundle_enc, &x->prekey.bundle) != PQ3_OK ||
        pq3_prekey_verify(&x->bundle, x->bundle_enc, sizeof x->bundle_enc, &x->bob.cert,
                          FX_T0) != PQ3_OK)
        return 0;
    if (pq3_session_start(&x->a, &x->alice.cert, &x->bob.cert, &x->bundle, FX_T0,
                          &x->alice.rng) != PQ3_OK)
        return 0;
    if (pq3_session_seal(&x->a, &x->alice.device_signer, NULL, FX_T0, &x->alice.rng,
                         PQ3_CONTENT_MESSAGE, (const uint8_t *)"hello", 5, NULL, 0, x->first,
                         sizeof x->first, &x->first_len) != PQ3_OK)
        return 0;
    if (pq3_session_accept(&x->b, &x->bob.cert, &x->alice.cert, &x->prekey, FX_T0, x->first,
                           x->first_len, body, sizeof body, &info) != PQ3_OK)
        return 0;
    return info.body_len == 5 && memcmp(body, "hello", 5) == 0;
}

#endif
