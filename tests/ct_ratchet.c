/*
 * Constant-time check (valgrind) of the ratchet, seal and open paths
 * (docs/PROTOCOL.md §8, §11-§13): root, chain and message keys, ratchet
 * scalars, the ML-KEM-768 dk and the device signing keys are marked secret;
 * memcheck reports any branch or memory index that depends on them in our
 * code. Messages are public once sealed (they go on the wire), and a body is
 * declassified only to compare it with what was sent.
 *
 * The P-256 functions called on the way declassify only verdicts that are
 * public by design (src/crypto/p256.h, pq3_p256_public_verdict), so no
 * suppression beyond OpenSSL's internals (tests/ct.supp) is needed.
 */
#include <string.h>

#include "ct.h"
#include "protocol_fixture.h"

static void mark_secret(pq3_session *s)
{
    CT_SECRET(s->rk, sizeof s->rk);
    CT_SECRET(s->cks, sizeof s->cks);
    CT_SECRET(s->ckr, sizeof s->ckr);
    CT_SECRET(s->my_priv, sizeof s->my_priv);
    /* dk = dk_pke || ek || H(ek) || z (FIPS 203 Algorithm 16): the middle is
     * public. */
    CT_SECRET(s->my_dk, 1152);
    CT_SECRET(s->my_dk + 2368, 32);
}

static fx_pair x;
static uint8_t msg[8192], body[8192];

static void exchange(int from_alice, const pq3_rekey_policy *pol, const char *text)
{
    size_t len = 0;
    pq3_opened info;
    fx_party *p = from_alice ? &x.alice : &x.bob;
    pq3_session *s = from_alice ? &x.a : &x.b, *r = from_alice ? &x.b : &x.a;
    mark_secret(&x.a);
    mark_secret(&x.b);
    CHECK_OK(pq3_session_seal(s, &p->device_signer, pol, FX_T0, &p->rng, 1,
                              (const uint8_t *)text, strlen(text), NULL, 0, msg, sizeof msg, &len));
    CT_PUBLIC(msg, len); /* on the wire */
    CHECK_OK(pq3_session_open(r, FX_T0, msg, len, body, sizeof body, &info));
    CT_PUBLIC(body, info.body_len);
    CHECK(info.body_len == strlen(text) && memcmp(body, text, info.body_len) == 0);
}

int main(void)
{
    pq3_rekey_policy kem = pq3_rekey_policy_default();
    kem.max_messages = 0; /* every direction change offers (and answers) */

    CHECK(fx_pair_init(&x, 31));
    CT_SECRET(x.alice.device.priv, sizeof x.alice.device.priv);
    CT_SECRET(x.bob.device.priv, sizeof x.bob.device.priv);
    exchange(1, NULL, "same chain");          /* symmetric ratchet */
    exchange(0, NULL, "direction change");    /* ECDH ratchet */
    exchange(0, NULL, "same chain again");
    exchange(1, &kem, "offer");               /* ML-KEM offer */
    exchange(0, &kem, "answer and offer");    /* answer (decaps on alice) */
    exchange(1, NULL, "answer");
    exchange(0, NULL, "plain");
    return pq3t_finish();
}
