/*
 * The hybrid session start (docs/PROTOCOL.md §10): the initiator's side
 * (§10.2) and the responder's (§10.3) with its replay cache (§10.4), and the
 * session identity both ends derive (§7).
 *
 * Each function builds the new state in a local copy and writes *s only
 * when everything succeeded; the copy is wiped either way.
 */
#include <string.h>

#include "protocol/kdf.h"
#include "protocol/message.h"
#include "protocol/session.h"
#include "protocol/skipped.h"

static const uint8_t zero32[32];

/* ---- session identity (§7) ----------------------------------------------- */

static size_t put_party(uint8_t *buf, const pq3_session_party *p)
{
    buf[0] = 0;
    buf[1] = p->handle_len;
    memcpy(buf + 2, p->handle, p->handle_len);
    memcpy(buf + 2 + p->handle_len, p->device_id, PQ3_DEVICE_ID_BYTES);
    memcpy(buf + 2 + p->handle_len + PQ3_DEVICE_ID_BYTES, p->auth_pub, PQ3_ECDSA_PUB_BYTES);
    return 2 + (size_t)p->handle_len + PQ3_DEVICE_ID_BYTES + PQ3_ECDSA_PUB_BYTES;
}

static pq3_err sid_digest(uint8_t out[48], const pq3_session_party *x, const pq3_session_party *y)
{
    uint8_t buf[2 * (2 + PQ3_HANDLE_MAX + PQ3_DEVICE_ID_BYTES + PQ3_ECDSA_PUB_BYTES)];
    size_t n = put_party(buf, x);
    n += put_party(buf + n, y);
    return pq3_sha384(out, buf, n);
}

pq3_err pq3_session_sids(pq3_session *s)
{
    pq3_err err = sid_digest(s->sidd_send, &s->self, &s->peer);
    if (err == PQ3_OK)
        err = sid_digest(s->sidd_recv, &s->peer, &s->self);
    return err;
}

void pq3_session_party_set(pq3_session_party *p, const pq3_device_cert *c)
{
    memset(p, 0, sizeof *p);
    memcpy(p->handle, c->handle, c->handle_len);
    p->handle_len = c->handle_len;
    memcpy(p->device_id, c->device_id, sizeof p->device_id);
    memcpy(p->auth_pub, c->auth_pub, sizeof p->auth_pub);
}

int pq3_session_same_device(const pq3_session_party *a, const pq3_session_party *b)
{
    /* public data: plain compares */
    if (memcmp(a->auth_pub, b->auth_pub, PQ3_ECDSA_PUB_BYTES) == 0)
        return 1;
    return a->handle_len == b->handle_len && memcmp(a->handle, b->handle, a->handle_len) == 0 &&
           memcmp(a->device_id, b->device_id, PQ3_DEVICE_ID_BYTES) == 0;
}

/* §10.2 step 4: the session-start transcript, the same for both ends:
 * sidd(S->R) || L_START || B.ecdh || E || ct0 || B.kem. */
static void start_transcript(pq3_iov dst[6], const uint8_t sidd[48], const uint8_t bundle_ecdh[32],
                             const uint8_t eph_pub[32],
                             const uint8_t ct0[PQ3_MLKEM1024_CT_BYTES],
                             const uint8_t bundle_kem[PQ3_MLKEM1024_EK_BYTES])
{
    dst[0].p = sidd;
    dst[0].len = 48;
    dst[1].p = (const uint8_t *)PQ3_L_START;
    dst[1].len = sizeof PQ3_L_START - 1;
    dst[2].p = bundle_ecdh;
    dst[2].len = 32;
    dst[3].p = eph_pub;
    dst[3].len = 32;
    dst[4].p = ct0;
    dst[4].len = PQ3_MLKEM1024_CT_BYTES;
    dst[5].p = bundle_kem;
    dst[5].len = PQ3_MLKEM1024_EK_BYTES;
}

/* Both ends: the two devices, their common version, the session identity
 * (§7, §10.1). A device cannot hold a session with itself. */
static pq3_err set_parties(pq3_session *w, const pq3_device_cert *self, const pq3_device_cert *peer)
{
    pq3_err err;
    if ((err = pq3_cert_common_version(&w->version, self, peer)) != PQ3_OK)
        return err;
    pq3_session_party_set(&w->self, self);
    pq3_session_party_set(&w->peer, peer);
    if (pq3_session_same_device(&w->self, &w->peer))
        return PQ3_ERR_ARG;
    w->peer_auth = peer->auth_key;
    return pq3_session_sids(w);
}

/* ---- the initiator (§10.2) ----------------------------------------------- */

pq3_err pq3_session_start(pq3_session *s, const pq3_device_cert *self,
                          const pq3_device_cert *peer, const pq3_prekey_bundle *bundle,
                          uint64_t now, const pq3_rng *rng)
{
    pq3_session w;
    uint8_t m[32], ss_kem[32], ss_ecdh[32];
    pq3_kdf k = { NULL };
    pq3_iov dst[6];
    pq3_err err;

    if (s == NULL || self == NULL || peer == NULL || bundle == NULL || !peer->verified ||
        !bundle->verified)
        return PQ3_ERR_ARG;
    memset(&w, 0, sizeof w);
    memset(m, 0, sizeof m);
    memset(ss_kem, 0, sizeof ss_kem);
    memset(ss_ecdh, 0, sizeof ss_ecdh);
    /* §6: a bundle verified once and kept is still only good until it
     * expires; the check is repeated against this start's `now`. */
    if (now >= bundle->expires || (bundle->created > now && bundle->created - now > PQ3_CLOCK_SKEW)) {
        err = PQ3_ERR_EXPIRED;
        goto cleanup;
    }
    if ((err = set_parties(&w, self, peer)) != PQ3_OK || (err = pq3_kdf_init(&k)) != PQ3_OK)
        goto cleanup;
    /* Steps 1-3: ephemeral key (also the first ratchet key), ML-KEM-1024
     * encapsulation, ECDH; §15 draw order. */
    if ((err = pq3_ecdh_keypair(w.my_priv, w.my_pub, rng)) != PQ3_OK ||
        (err = pq3_random(rng, m, sizeof m)) != PQ3_OK ||
        (err = pq3_mlkem1024_encaps_derand(w.start_ct, ss_kem, bundle->kem_ek, m)) != PQ3_OK ||
        (err = pq3_ecdh_derive(ss_ecdh, w.my_priv, &bundle->ecdh)) != PQ3_OK)
        goto cleanup;
    /* Step 4: dst = sidd(S->R) || L_START || B.ecdh || E || ct0 || B.kem */
    start_transcript(dst, w.sidd_send, bundle->ecdh_pub, w.my_pub, w.start_ct, bundle->kem_ek);
    /* Step 5 */
    if ((err = pq3_kdf_root(&k, w.rk, w.cks, zero32, ss_ecdh, ss_kem, dst, 6)) != PQ3_OK)
        goto cleanup;
    /* Step 6 */
    w.flags = PQ3_ST_SEND | PQ3_ST_INITIATOR;
    w.send_ext = PQ3_MSG_START;
    memcpy(w.start_hash, bundle->hash, sizeof w.start_hash);
    memcpy(w.session_id, w.my_pub, 32);
    memcpy(w.peer_pub, bundle->ecdh_pub, 32);
    w.peer_point = bundle->ecdh;
    w.pq_time = now;
    w.generation = 1;
    *s = w;

cleanup:
    pq3_kdf_free(&k);
    pq3_wipe(&w, sizeof w);
    pq3_wipe(m, sizeof m);
    pq3_wipe(ss_kem, sizeof ss_kem);
    pq3_wipe(ss_ecdh, sizeof ss_ecdh);
    if (err != PQ3_OK)
        pq3_wipe(s, sizeof *s);
    return err;
}

/* ---- the responder (§10.3, §10.4) ----------------------------------------- */

pq3_err pq3_session_accept(pq3_session *s, const pq3_device_cert *self,
                           const pq3_device_cert *peer, const pq3_prekey_secret *prekey,
                           uint64_t now, const uint8_t *msg, size_t msg_len, uint8_t *body,
                           size_t body_cap, pq3_opened *info)
{
    return pq3_session_accept_ex(s, NULL, NULL, self, peer, prekey, now, msg, msg_len, body,
                                 body_cap, info);
}

/* §10.4: the start's identity, SHA-384(E || ct0). */
static pq3_err start_id(uint8_t out[48], const pq3_msg_view *v)
{
    uint8_t in[32 + PQ3_MLKEM1024_CT_BYTES]; /* public bytes of the message */
    memcpy(in, v->ratchet_key, 32);
    memcpy(in + 32, v->ct0, PQ3_MLKEM1024_CT_BYTES);
    return pq3_sha384(out, in, sizeof in);
}

pq3_err pq3_session_accept_ex(pq3_session *s, pq3_skipped *sk, pq3_start_cache *cache,
                              const pq3_device_cert *self, const pq3_device_cert *peer,
                              const pq3_prekey_secret *prekey, uint64_t now, const uint8_t *msg,
                              size_t msg_len, uint8_t *body, size_t body_cap, pq3_opened *info)
{
    pq3_session w;
    pq3_msg_view v;
    pq3_opened inf;
    uint8_t ss_kem[32], ss_ecdh[32], mk[32], sid[48];
    pq3_kdf k = { NULL };
    pq3_iov dst[6];
    const pq3_prekey_bundle *b;
    uint32_t added = 0, keep = 0;
    pq3_err err;

    if (s == NULL || self == NULL || peer == NULL || prekey == NULL || info == NULL ||
        body == NULL || !peer->verified || (msg == NULL && msg_len > 0))
        return PQ3_ERR_ARG;
    b = &prekey->bundle;
    /* public data */
    if (cache != NULL && memcmp(cache->prekey_hash, b->hash, PQ3_PREKEY_HASH_BYTES) != 0)
        return PQ3_ERR_ARG;
    memset(&w, 0, sizeof w);
    memset(&inf, 0, sizeof inf);
    memset(ss_kem, 0, sizeof ss_kem);
    memset(ss_ecdh, 0, sizeof ss_ecdh);
    memset(mk, 0, sizeof mk);
    /* 1. decode */
    if ((err = pq3_msg_decode(&v, msg, msg_len)) != PQ3_OK)
        goto cleanup;
    if (body_cap < v.ctext_len) {
        err = PQ3_ERR_BUFFER;
        goto cleanup;
    }
    /* 2. version, the two devices */
    if ((err = set_parties(&w, self, peer)) != PQ3_OK)
        goto cleanup;
    if (v.version != w.version) {
        err = PQ3_ERR_VERSION;
        goto cleanup;
    }
    /* 3. START */
    if (!(v.flags & PQ3_MSG_START)) {
        err = PQ3_ERR_DECODE;
        goto cleanup;
    }
    /* 4. signature, before anything else is looked at */
    if ((err = pq3_msg_verify(&w.peer_auth, w.sidd_recv, &v, msg)) != PQ3_OK)
        goto cleanup;
    /* 5. the prekey, 6. its grace window */
    if (memcmp(v.prekey_hash, b->hash, PQ3_PREKEY_HASH_BYTES) != 0) { /* public data */
        err = PQ3_ERR_UNKNOWN;
        goto cleanup;
    }
    if (now >= b->expires && now - b->expires >= PQ3_PREKEY_GRACE) {
        err = PQ3_ERR_EXPIRED;
        goto cleanup;
    }
    /* 7. the replay cache (§10.4) */
    if ((err = start_id(sid, &v)) != PQ3_OK)
        goto cleanup;
    if (cache != NULL) {
        if (pq3_start_cache_has(cache, sid)) {
            err = PQ3_ERR_REPLAY;
            goto cleanup;
        }
        if (cache->count >= cache->max) {
            err = PQ3_ERR_LIMIT;
            goto cleanup;
        }
    }
    /* 8. position: previous chain length 0; messages before this one of
     * the first chain are skipped (§13.1) */
    if (v.pn != 0) {
        err = PQ3_ERR_UNKNOWN;
        goto cleanup;
    }
    if ((err = pq3_skipped_plan_new(sk, v.index, &keep)) != PQ3_OK)
        goto cleanup;
    /* 9. keys */
    memcpy(w.peer_pub, v.ratchet_key, 32);
    if ((err = pq3_ecdh_import(&w.peer_point, w.peer_pub)) != PQ3_OK)
        goto cleanup;
    if (v.ek != NULL && (err = pq3_mlkem768_check_ek(v.ek)) != PQ3_OK)
        goto cleanup;
    /* 10. the same derivation as the initiator */
    if ((err = pq3_kdf_init(&k)) != PQ3_OK ||
        (err = pq3_mlkem1024_decaps(ss_kem, v.ct0, prekey->kem_dk)) != PQ3_OK ||
        (err = pq3_ecdh_derive(ss_ecdh, prekey->ecdh_priv, &w.peer_point)) != PQ3_OK)
        goto cleanup;
    start_transcript(dst, w.sidd_recv, b->ecdh_pub, v.ratchet_key, v.ct0, b->kem_ek);
    if ((err = pq3_kdf_root(&k, w.rk, w.ckr, zero32, ss_ecdh, ss_kem, dst, 6)) != PQ3_OK)
        goto cleanup;
    /* 11. skipped keys (bound to this session, §13.1), the message key,
     * mki, decryption */
    memcpy(w.session_id, v.ratchet_key, 32);
    if (v.index > 0 &&
        (err = pq3_skipped_derive(&k, sk, w.session_id, w.ckr, v.ratchet_key, 0, v.index, keep,
                                  &added, now)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_kdf_chain(&k, mk, w.ckr)) != PQ3_OK ||
        (err = pq3_session_open_payload(&k, mk, &v, body, &inf)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_msg_mandatory_digest(w.recv_digest, &v)) != PQ3_OK)
        goto cleanup;
    /* The session. */
    w.flags = PQ3_ST_RECV;
    if (inf.content_type == PQ3_CONTENT_MESSAGE)
        w.flags |= PQ3_ST_PEER_APP; /* §16.1: a receipt is owed */
    w.nr = v.index + 1;
    w.peer_pn = 0;
    w.recv_ext = PQ3_MSG_START;
    if (v.ek != NULL) {
        memcpy(w.peer_ek, v.ek, sizeof w.peer_ek);
        w.flags |= PQ3_ST_PEER_OFFER;
        inf.kem_offered = 1;
    }
    w.pq_time = now;
    w.generation = 1;
    inf.new_chain = 1;
    inf.kem_completed = 1;
    inf.keys_stored = added;
    *s = w;
    if (sk != NULL)
        inf.keys_evicted = pq3_skipped_commit(sk, added, -1, now);
    if (cache != NULL)
        memcpy(cache->entries[cache->count++], sid, 48);
    *info = inf;

cleanup:
    pq3_kdf_free(&k);
    pq3_wipe(&w, sizeof w);
    pq3_wipe(ss_kem, sizeof ss_kem);
    pq3_wipe(ss_ecdh, sizeof ss_ecdh);
    pq3_wipe(mk, sizeof mk);
    if (err != PQ3_OK) {
        pq3_skipped_rollback(sk, added);
        pq3_wipe(s, sizeof *s);
        if (v.ctext != NULL && body_cap >= v.ctext_len)
            pq3_wipe(body, v.ctext_len);
    }
    return err;
}
