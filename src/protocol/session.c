/*
 * Session start, ratchets, seal and open (docs/PROTOCOL.md §7, §10-§13).
 *
 * Every operation copies the state into a working copy, changes only the
 * copy, and copies it back when everything succeeded; the working copy is
 * wiped either way. So a failure leaves the caller's state byte-identical.
 */
#include "pq3/session.h"

#include <string.h>

#include "crypto/ct.h"
#include "protocol/kdf.h"
#include "protocol/message.h"
#include "protocol/session.h"
#include "protocol/sign.h"

static const uint8_t zero32[32];

pq3_rekey_policy pq3_rekey_policy_default(void)
{
    pq3_rekey_policy p = { 50, 604800, 0, 0, 0 };
    return p;
}

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

static void party_from_cert(pq3_session_party *p, const pq3_device_cert *c)
{
    memset(p, 0, sizeof *p);
    memcpy(p->handle, c->handle, c->handle_len);
    p->handle_len = c->handle_len;
    memcpy(p->device_id, c->device_id, sizeof p->device_id);
    memcpy(p->auth_pub, c->auth_pub, sizeof p->auth_pub);
}

/* TBS_msg = L_MSGSIG || sidd || SHA-384(M[0..signed_len)) (§7). */
#define TBS_MSG_BYTES (sizeof PQ3_L_MSGSIG - 1 + 48 + 48)
static pq3_err msg_tbs(uint8_t tbs[TBS_MSG_BYTES], const uint8_t sidd[48],
                       const uint8_t *msg, size_t signed_len)
{
    size_t n = sizeof PQ3_L_MSGSIG - 1;
    memcpy(tbs, PQ3_L_MSGSIG, n);
    memcpy(tbs + n, sidd, 48);
    return pq3_sha384(tbs + n + 48, msg, signed_len);
}

static pq3_err verify_msg(const pq3_ecdsa_pub *key, const uint8_t sidd[48], const pq3_msg_view *v,
                          const uint8_t *msg)
{
    uint8_t tbs[TBS_MSG_BYTES];
    pq3_err err = msg_tbs(tbs, sidd, msg, v->signed_len);
    if (err != PQ3_OK)
        return err;
    return pq3_ecdsa_verify(key, v->sig, tbs, sizeof tbs);
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

static uint32_t count_up(uint32_t c)
{
    return c == UINT32_MAX ? c : c + 1;
}

/* ---- opening the payload (§13 steps 4-5) ---------------------------------- */

/* With the message key mk (§8.2; from the chain or from the skipped-key
 * store), checks the mki in constant time before any decryption, decrypts
 * into body, unpads, checks the content type and a receipt's body length
 * (§16.1). */
static pq3_err open_payload(pq3_kdf *k, const uint8_t mk[32], const pq3_msg_view *v,
                            uint8_t *body, pq3_opened *info)
{
    uint8_t x[48], mki[PQ3_MKI_BYTES], diff, ctype;
    size_t plen = 0;
    pq3_err err;

    if ((err = pq3_kdf_message(k, x, mki, mk)) != PQ3_OK)
        goto cleanup;
    /* §8.3: the indicator is compared in constant time; only the verdict is
     * revealed. */
    diff = pq3_ct_diff(mki, v->mki, sizeof mki);
    pq3_ct_declassify(&diff, sizeof diff);
    if (diff != 0) {
        err = PQ3_ERR_VERIFY;
        goto cleanup;
    }
    if ((err = pq3_aes256ctr(body, v->ctext, v->ctext_len, x + 16, x)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_padme_unpad(&plen, body, v->ctext_len)) != PQ3_OK)
        goto cleanup;
    if (plen == 0) {
        err = PQ3_ERR_DECODE;
        goto cleanup;
    }
    ctype = body[0];
    pq3_ct_declassify(&ctype, 1); /* accepted or not: revealed either way */
    if (ctype != PQ3_CONTENT_MESSAGE && ctype != PQ3_CONTENT_RECEIPT) {
        err = PQ3_ERR_VERSION;
        goto cleanup;
    }
    if (ctype == PQ3_CONTENT_RECEIPT && plen - 1 != PQ3_RECEIPT_BODY_BYTES) {
        err = PQ3_ERR_DECODE;
        goto cleanup;
    }
    memmove(body, body + 1, plen - 1);
    memset(body + plen - 1, 0, v->ctext_len - (plen - 1));
    info->content_type = ctype;
    info->body_len = plen - 1;
    info->ad = v->ad;
    info->ad_len = v->ad_len;

cleanup:
    if (err != PQ3_OK && err != PQ3_ERR_VERIFY)
        pq3_wipe(body, v->ctext_len);
    pq3_wipe(x, sizeof x);
    pq3_wipe(mki, sizeof mki);
    return err;
}

/* ---- session start, initiator (§10.2) ------------------------------------ */

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
    if ((err = pq3_cert_common_version(&w.version, self, peer)) != PQ3_OK)
        goto cleanup;
    party_from_cert(&w.self, self);
    party_from_cert(&w.peer, peer);
    w.peer_auth = peer->auth_key;
    if ((err = pq3_session_sids(&w)) != PQ3_OK || (err = pq3_kdf_init(&k)) != PQ3_OK)
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

/* ---- helpers for out-of-order delivery (§13.1) ---------------------------- */

/* SHA-384 of the message's mandatory extension (§11.4): START (prekey hash
 * and ct0) or CT; zero when there is none. */
static pq3_err mandatory_digest(uint8_t out[48], const pq3_msg_view *v)
{
    if (v->prekey_hash != NULL)
        return pq3_sha384(out, v->prekey_hash, PQ3_MSG_START_BYTES);
    if (v->ct != NULL)
        return pq3_sha384(out, v->ct, PQ3_MLKEM768_CT_BYTES);
    memset(out, 0, 48);
    return PQ3_OK;
}

/* A gap of n indices on the peer's current chain (§13.1): all n keys are
 * kept, so n over max_jump is PQ3_ERR_LIMIT (the session goes on with the
 * peer's next chain, which follows our next message). */
static pq3_err check_gap(const pq3_skipped *sk, uint32_t n)
{
    if (n > 0 && (sk == NULL || n > sk->max_jump))
        return PQ3_ERR_LIMIT;
    return PQ3_OK;
}

/* How many of the n first indices of a new peer chain get their keys kept
 * (§13.1): the max_jump most recent. An index beyond PQ3_SKIPPED_MAX_WALK
 * would make us derive unboundedly many keys: PQ3_ERR_LIMIT. A new chain is
 * never refused for a gap the walk covers, since our sending chain goes on
 * until the peer's next chain is opened: refusing would wedge the session. */
static pq3_err plan_new(const pq3_skipped *sk, uint32_t n, uint32_t *keep)
{
    *keep = 0;
    if (n > 0 && (sk == NULL || n > PQ3_SKIPPED_MAX_WALK))
        return PQ3_ERR_LIMIT;
    if (n > 0)
        *keep = n < sk->max_jump ? n : sk->max_jump;
    return PQ3_OK;
}

/* Derives the message keys of indices from..to-1 of chain ck (advancing ck)
 * and keeps the last `keep` of them in the store's unused tail; *added
 * counts the slots written (§13.1). */
static pq3_err skip_keys(pq3_kdf *k, uint8_t ck[32], const uint8_t rk[32], uint32_t from,
                         uint32_t to, uint32_t keep, pq3_skipped *sk, uint32_t *added,
                         uint64_t now)
{
    uint8_t lost[32];
    pq3_err err = PQ3_OK;
    for (uint32_t i = from; i < to; i++) {
        pq3_skipped_key *e;
        if (to - i > keep) {
            /* an older key beyond the bound: derived only to advance ck */
            if ((err = pq3_kdf_chain(k, lost, ck)) != PQ3_OK)
                break;
            continue;
        }
        e = &sk->keys[sk->count + *added];
        (*added)++; /* counted first: a failure below still gets wiped */
        if ((err = pq3_kdf_chain(k, e->mk, ck)) != PQ3_OK)
            break;
        memcpy(e->ratchet_key, rk, 32);
        e->index = i;
        e->time = now;
    }
    pq3_wipe(lost, sizeof lost);
    return err;
}

/* Whether rk is the ratchet key of one of the ended peer chains we
 * remember (§13 step 3, §14). */
static int recent_peer_key(const pq3_session *w, const uint8_t rk[32])
{
    for (uint32_t i = 0; i < w->prev_peer_count && i < PQ3_PREV_PEER_KEYS; i++)
        if (memcmp(w->prev_peer_pubs[i], rk, 32) == 0) /* public data */
            return 1;
    return 0;
}

/* Remembers the ratchet key of the peer chain that ends, newest first; the
 * oldest beyond PQ3_PREV_PEER_KEYS is forgotten (§14, §18). */
static void remember_peer_key(pq3_session *w, const uint8_t rk[32])
{
    uint32_t n = w->prev_peer_count < PQ3_PREV_PEER_KEYS ? w->prev_peer_count
                                                         : PQ3_PREV_PEER_KEYS - 1;
    memmove(w->prev_peer_pubs[1], w->prev_peer_pubs[0], (size_t)n * 32);
    memcpy(w->prev_peer_pubs[0], rk, 32);
    w->prev_peer_count = (uint8_t)(n + 1);
    w->flags |= PQ3_ST_RECV2;
}

/* The stored key of a late message (§13.1): PQ3_ERR_REPLAY when none is
 * kept (used already, or never skipped), PQ3_ERR_EXPIRED when it is past
 * max_age. The search is on public data; the key is copied from the slot
 * it names. */
static pq3_err take_stored(const pq3_skipped *sk, const uint8_t rk[32], uint32_t index,
                           uint64_t now, uint8_t mk[32], long *used)
{
    long i = pq3_skipped_find(sk, rk, index);
    if (i < 0)
        return PQ3_ERR_REPLAY;
    if (pq3_skipped_expired(sk, &sk->keys[i], now))
        return PQ3_ERR_EXPIRED;
    memcpy(mk, sk->keys[i].mk, 32);
    *used = i;
    return PQ3_OK;
}

/* ---- session start, responder (§10.3, §10.4) ------------------------------ */

pq3_err pq3_session_accept(pq3_session *s, const pq3_device_cert *self,
                           const pq3_device_cert *peer, const pq3_prekey_secret *prekey,
                           uint64_t now, const uint8_t *msg, size_t msg_len, uint8_t *body,
                           size_t body_cap, pq3_opened *info)
{
    return pq3_session_accept_ex(s, NULL, NULL, self, peer, prekey, now, msg, msg_len, body,
                                 body_cap, info);
}

pq3_err pq3_session_accept_ex(pq3_session *s, pq3_skipped *sk, pq3_start_cache *cache,
                              const pq3_device_cert *self, const pq3_device_cert *peer,
                              const pq3_prekey_secret *prekey, uint64_t now, const uint8_t *msg,
                              size_t msg_len, uint8_t *body, size_t body_cap, pq3_opened *info)
{
    pq3_session w;
    pq3_msg_view v;
    pq3_opened inf;
    uint8_t ss_kem[32], ss_ecdh[32], mk[32], start_id[48];
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
    memset(mk, 0, sizeof mk);
    /* 1. decode */
    if ((err = pq3_msg_decode(&v, msg, msg_len)) != PQ3_OK)
        goto cleanup;
    if (body_cap < v.ctext_len) {
        err = PQ3_ERR_BUFFER;
        goto cleanup;
    }
    /* 2. version */
    if ((err = pq3_cert_common_version(&w.version, self, peer)) != PQ3_OK)
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
    party_from_cert(&w.self, self);
    party_from_cert(&w.peer, peer);
    w.peer_auth = peer->auth_key;
    if ((err = pq3_session_sids(&w)) != PQ3_OK ||
        (err = verify_msg(&w.peer_auth, w.sidd_recv, &v, msg)) != PQ3_OK)
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
    /* 7. the replay cache (§10.4): SHA-384(E || ct0) */
    {
        uint8_t id_in[32 + PQ3_MLKEM1024_CT_BYTES]; /* public bytes of the message */
        memcpy(id_in, v.ratchet_key, 32);
        memcpy(id_in + 32, v.ct0, PQ3_MLKEM1024_CT_BYTES);
        if ((err = pq3_sha384(start_id, id_in, sizeof id_in)) != PQ3_OK)
            goto cleanup;
    }
    if (cache != NULL) {
        if (pq3_start_cache_has(cache, start_id)) {
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
    if ((err = plan_new(sk, v.index, &keep)) != PQ3_OK)
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
    /* 11. skipped keys, the message key, mki, decryption */
    if (v.index > 0 &&
        (err = skip_keys(&k, w.ckr, v.ratchet_key, 0, v.index, keep, sk, &added, now)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_kdf_chain(&k, mk, w.ckr)) != PQ3_OK ||
        (err = open_payload(&k, mk, &v, body, &inf)) != PQ3_OK)
        goto cleanup;
    /* The session. */
    w.flags = PQ3_ST_RECV;
    if (inf.content_type == PQ3_CONTENT_MESSAGE)
        w.flags |= PQ3_ST_PEER_APP; /* §16.1: a receipt is owed */
    w.nr = v.index + 1;
    w.peer_pn = 0;
    w.recv_ext = PQ3_MSG_START;
    memcpy(w.session_id, v.ratchet_key, 32);
    if ((err = mandatory_digest(w.recv_digest, &v)) != PQ3_OK) {
        pq3_wipe(body, v.ctext_len);
        goto cleanup;
    }
    if (v.ek != NULL) {
        memcpy(w.peer_ek, v.ek, sizeof w.peer_ek);
        w.flags |= PQ3_ST_PEER_OFFER;
        inf.kem_offered = 1;
    }
    w.pq_time = now;
    inf.new_chain = 1;
    inf.kem_completed = 1;
    inf.keys_stored = added;
    *s = w;
    if (sk != NULL)
        inf.keys_evicted = pq3_skipped_commit(sk, added, -1, now);
    if (cache != NULL)
        memcpy(cache->entries[cache->count++], start_id, 48);
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

/* ---- sealing (§12) ------------------------------------------------------- */

/* §11.3: whether a direction change now offers a new ML-KEM-768 key. */
static int should_offer(const pq3_session *w, const pq3_rekey_policy *p, uint64_t now)
{
    uint64_t age = now > w->pq_time ? now - w->pq_time : 0;
    if (w->flags & PQ3_ST_MY_OFFER)
        return 0;
    return age >= p->max_age || (!p->constrained && w->pq_count >= p->max_messages);
}

/* §11.2, sender side: new ratchet key, optional ML-KEM answer and offer. */
static pq3_err direction_change(pq3_kdf *k, pq3_session *w, const pq3_rekey_policy *p,
                                uint64_t now, const pq3_rng *rng)
{
    uint8_t priv[32], pub[32], m[32], ss_kem[32], ss_ecdh[32], seed[64];
    uint8_t ct[PQ3_MLKEM768_CT_BYTES];
    int answer = (w->flags & PQ3_ST_PEER_OFFER) != 0;
    pq3_iov dst[6];
    pq3_err err;

    /* 1. fresh ratchet key; 2. encapsulate to the peer's offer; 3. ECDH */
    if ((err = pq3_ecdh_keypair(priv, pub, rng)) != PQ3_OK)
        goto cleanup;
    if (answer && ((err = pq3_random(rng, m, sizeof m)) != PQ3_OK ||
                   (err = pq3_mlkem768_encaps_derand(ct, ss_kem, w->peer_ek, m)) != PQ3_OK))
        goto cleanup;
    if ((err = pq3_ecdh_derive(ss_ecdh, priv, &w->peer_point)) != PQ3_OK)
        goto cleanup;
    /* 4. dst = sidd(sender->receiver) || L_RATCHET || P || N [|| ct || ek] */
    dst[0].p = w->sidd_send;
    dst[0].len = 48;
    dst[1].p = (const uint8_t *)PQ3_L_RATCHET;
    dst[1].len = sizeof PQ3_L_RATCHET - 1;
    dst[2].p = w->peer_pub;
    dst[2].len = 32;
    dst[3].p = pub;
    dst[3].len = 32;
    dst[4].p = ct;
    dst[4].len = sizeof ct;
    dst[5].p = w->peer_ek;
    dst[5].len = sizeof w->peer_ek;
    /* 5. */
    if ((err = pq3_kdf_root(k, w->rk, w->cks, w->rk, ss_ecdh, answer ? ss_kem : NULL, dst,
                            answer ? 6 : 4)) != PQ3_OK)
        goto cleanup;
    memcpy(w->my_priv, priv, 32);
    memcpy(w->my_pub, pub, 32);
    w->ns = 0; /* w->pns already holds the ended chain's length (§14) */
    w->flags |= PQ3_ST_SEND;
    w->send_ext = 0;
    pq3_wipe(w->start_hash, sizeof w->start_hash);
    pq3_wipe(w->start_ct, sizeof w->start_ct);
    pq3_wipe(w->chain_ct, sizeof w->chain_ct);
    if (answer) {
        w->send_ext |= PQ3_MSG_CT;
        memcpy(w->chain_ct, ct, sizeof ct);
        w->flags &= (uint8_t)~PQ3_ST_PEER_OFFER;
        pq3_wipe(w->peer_ek, sizeof w->peer_ek);
        w->pq_count = 0; /* §11.3: the answer completes a PQ step */
        w->pq_time = now;
    }
    /* 6. an offer still unanswered is sent again (§11.4: its answer shows
     * it arrived); otherwise the policy decides on a new one */
    if (w->flags & PQ3_ST_MY_OFFER) {
        w->send_ext |= PQ3_MSG_EK;
    } else if (should_offer(w, p, now)) {
        if ((err = pq3_random(rng, seed, sizeof seed)) != PQ3_OK ||
            (err = pq3_mlkem768_keypair_derand(w->my_ek, w->my_dk, seed, seed + 32)) != PQ3_OK)
            goto cleanup;
        w->flags |= PQ3_ST_MY_OFFER;
        w->send_ext |= PQ3_MSG_EK;
    }

cleanup:
    pq3_wipe(priv, sizeof priv);
    pq3_wipe(m, sizeof m);
    pq3_wipe(ss_kem, sizeof ss_kem);
    pq3_wipe(ss_ecdh, sizeof ss_ecdh);
    pq3_wipe(seed, sizeof seed);
    pq3_wipe(ct, sizeof ct);
    return err;
}

/* §11.4: the chain's mandatory extension (START or CT) is on every message
 * of the chain, which lasts until the peer's answer acknowledges it; an
 * offered ek is on the chain's first message (and on the first message of
 * every later chain of ours while it is unanswered). */
static uint8_t chain_ext(uint8_t send_ext, uint32_t index)
{
    return (uint8_t)((send_ext & (PQ3_MSG_START | PQ3_MSG_CT)) |
                     (index == 0 ? (send_ext & PQ3_MSG_EK) : 0));
}

pq3_err pq3_session_seal(pq3_session *s, const pq3_signer *signer,
                         const pq3_rekey_policy *policy, uint64_t now, const pq3_rng *rng,
                         uint8_t content_type, const uint8_t *body, size_t body_len,
                         const uint8_t *ad, size_t ad_len, uint8_t *out, size_t cap,
                         size_t *out_len)
{
    pq3_session w;
    pq3_rekey_policy pol = policy != NULL ? *policy : pq3_rekey_policy_default();
    pq3_kdf k = { NULL };
    pq3_writer wr;
    uint8_t mk[32], x[48], mki[PQ3_MKI_BYTES], tbs[TBS_MSG_BYTES];
    uint8_t flags, ext;
    size_t need, ctext_len, off, plen;
    pq3_err err;

    if (s == NULL || signer == NULL || signer->sign == NULL || out_len == NULL ||
        (out == NULL && cap > 0) || (body == NULL && body_len > 0) ||
        (ad == NULL && ad_len > 0) || body_len > PQ3_MAX_BODY || ad_len > PQ3_MAX_AD ||
        (content_type != PQ3_CONTENT_MESSAGE && content_type != PQ3_CONTENT_RECEIPT) ||
        (content_type == PQ3_CONTENT_RECEIPT && body_len != PQ3_RECEIPT_BODY_BYTES))
        return PQ3_ERR_ARG;
    if (s->version != PQ3_PROTOCOL_VERSION)
        return PQ3_ERR_STATE;
    if (memcmp(signer->pub, s->self.auth_pub, PQ3_ECDSA_PUB_BYTES) != 0) /* public data */
        return PQ3_ERR_ARG;
    /* The size is known before any randomness is drawn: the extension of a
     * new chain follows from the state and the policy alone. */
    if (!(s->flags & PQ3_ST_SEND)) {
        ext = (s->flags & PQ3_ST_PEER_OFFER) ? PQ3_MSG_CT : 0;
        if ((s->flags & PQ3_ST_PEER_OFFER) != 0) {
            pq3_session t = *s; /* counters as the answer leaves them */
            t.pq_count = 0;
            t.pq_time = now;
            if ((s->flags & PQ3_ST_MY_OFFER) || should_offer(&t, &pol, now))
                ext |= PQ3_MSG_EK;
            pq3_wipe(&t, sizeof t);
        } else if ((s->flags & PQ3_ST_MY_OFFER) || should_offer(s, &pol, now)) {
            ext |= PQ3_MSG_EK;
        }
    } else {
        ext = chain_ext(s->send_ext, s->ns);
    }
    ctext_len = pq3_padme_padded_size(body_len + 1);
    need = PQ3_MSG_FIXED_BYTES + pq3_msg_ext_len(ext) + (ad_len > 0 ? 2 + ad_len : 0) + ctext_len;
    if (cap < need) {
        *out_len = need;
        return PQ3_ERR_BUFFER;
    }

    w = *s;
    if ((err = pq3_kdf_init(&k)) != PQ3_OK)
        goto cleanup;
    /* 1. direction change */
    if (!(w.flags & PQ3_ST_SEND) &&
        (err = direction_change(&k, &w, &pol, now, rng)) != PQ3_OK)
        goto cleanup;
    /* 2. extension flags (§11.4) */
    ext = chain_ext(w.send_ext, w.ns);
    flags = (uint8_t)(ext | (ad_len > 0 ? PQ3_MSG_AD : 0));
    /* 3. keys */
    if ((err = pq3_kdf_chain(&k, mk, w.cks)) != PQ3_OK ||
        (err = pq3_kdf_message(&k, x, mki, mk)) != PQ3_OK)
        goto cleanup;
    /* 4. header (§9.1), then the payload encrypted in place */
    pq3_writer_init(&wr, out, cap);
    pq3_write_u8(&wr, w.version);
    pq3_write_u8(&wr, PQ3_TYPE_MESSAGE);
    pq3_write_u8(&wr, flags);
    pq3_write_bytes(&wr, w.my_pub, 32);
    pq3_write_u32(&wr, w.ns);
    pq3_write_u32(&wr, w.pns);
    if (flags & PQ3_MSG_START) {
        pq3_write_bytes(&wr, w.start_hash, sizeof w.start_hash);
        pq3_write_bytes(&wr, w.start_ct, sizeof w.start_ct);
    }
    if (flags & PQ3_MSG_EK)
        pq3_write_bytes(&wr, w.my_ek, sizeof w.my_ek);
    if (flags & PQ3_MSG_CT)
        pq3_write_bytes(&wr, w.chain_ct, sizeof w.chain_ct);
    pq3_write_bytes(&wr, mki, sizeof mki);
    if (ad_len > 0)
        pq3_write_vec16(&wr, ad, ad_len, PQ3_MAX_AD);
    pq3_write_u32(&wr, (uint32_t)ctext_len);
    if ((err = pq3_writer_end(&wr, &off)) != PQ3_OK)
        goto cleanup;
    if (off + ctext_len + PQ3_ECDSA_SIG_BYTES != need) {
        err = PQ3_ERR_STATE; /* the size forecast above disagrees: a bug */
        goto cleanup;
    }
    out[off] = content_type;
    if (body_len > 0)
        memmove(out + off + 1, body, body_len);
    if ((err = pq3_padme_pad(out + off, ctext_len, &plen, out + off, body_len + 1)) != PQ3_OK ||
        (err = pq3_aes256ctr(out + off, out + off, ctext_len, x + 16, x)) != PQ3_OK)
        goto cleanup;
    off += ctext_len;
    /* 5. signature over label, SID and every byte before it */
    if ((err = msg_tbs(tbs, w.sidd_send, out, off)) != PQ3_OK ||
        (err = pq3_sign_checked(signer, out + off, tbs, sizeof tbs)) != PQ3_OK)
        goto cleanup;
    /* 6. counters, index */
    if (w.ns == 0 && (w.send_ext & (PQ3_MSG_START | PQ3_MSG_CT))) {
        w.pq_count = 0;
        w.pq_time = now;
    } else {
        w.pq_count = count_up(w.pq_count);
    }
    w.ns++;
    *out_len = need;
    *s = w;

cleanup:
    pq3_kdf_free(&k);
    pq3_wipe(&w, sizeof w);
    pq3_wipe(mk, sizeof mk);
    pq3_wipe(x, sizeof x);
    pq3_wipe(mki, sizeof mki);
    if (err != PQ3_OK)
        pq3_wipe(out, need);
    return err;
}

/* ---- opening (§13, §13.1) ------------------------------------------------ */

pq3_err pq3_session_open(pq3_session *s, uint64_t now, const uint8_t *msg, size_t msg_len,
                         uint8_t *body, size_t body_cap, pq3_opened *info)
{
    return pq3_session_open_ex(s, NULL, now, msg, msg_len, body, body_cap, info);
}

pq3_err pq3_session_open_ex(pq3_session *s, pq3_skipped *sk, uint64_t now, const uint8_t *msg,
                            size_t msg_len, uint8_t *body, size_t body_cap, pq3_opened *info)
{
    pq3_session w;
    pq3_msg_view v;
    pq3_opened inf;
    pq3_ecdh_peer their;
    uint8_t ss_kem[32], ss_ecdh[32], digest[48], mk[32];
    pq3_kdf k = { NULL };
    pq3_iov dst[6];
    uint32_t added = 0;
    long used = -1;
    int current = 0;
    pq3_err err;

    if (s == NULL || info == NULL || body == NULL || (msg == NULL && msg_len > 0))
        return PQ3_ERR_ARG;
    if (s->version != PQ3_PROTOCOL_VERSION)
        return PQ3_ERR_STATE;
    /* 1. decode, version */
    if ((err = pq3_msg_decode(&v, msg, msg_len)) != PQ3_OK)
        return err;
    if (v.version != s->version)
        return PQ3_ERR_VERSION;
    if (body_cap < v.ctext_len)
        return PQ3_ERR_BUFFER;
    /* 2. the signature, before any chain state is consulted */
    if ((err = verify_msg(&s->peer_auth, s->sidd_recv, &v, msg)) != PQ3_OK)
        return err;

    memset(&inf, 0, sizeof inf);
    memset(mk, 0, sizeof mk);
    w = *s;
    if ((err = pq3_kdf_init(&k)) != PQ3_OK)
        goto cleanup;
    /* 3. route by ratchet key */
    if ((w.flags & PQ3_ST_RECV) && memcmp(v.ratchet_key, w.peer_pub, 32) == 0) { /* public data */
        /* The peer's current chain. */
        current = 1;
        if (v.pn != w.peer_pn) {
            err = PQ3_ERR_DECODE;
            goto cleanup;
        }
        if ((v.flags & (PQ3_MSG_START | PQ3_MSG_CT)) != w.recv_ext ||
            (err = mandatory_digest(digest, &v)) != PQ3_OK ||
            memcmp(digest, w.recv_digest, sizeof digest) != 0) { /* public data */
            if (err == PQ3_OK)
                err = PQ3_ERR_VERIFY; /* the repeated extension must repeat exactly */
            goto cleanup;
        }
        if (v.index < w.nr) {
            if ((err = take_stored(sk, v.ratchet_key, v.index, now, mk, &used)) != PQ3_OK)
                goto cleanup;
            inf.late = 1;
            /* §11.4: an offer on a late first message of the current chain
             * is taken while we have not answered the chain yet. */
            if (v.ek != NULL && !(w.flags & PQ3_ST_SEND)) {
                if ((err = pq3_mlkem768_check_ek(v.ek)) != PQ3_OK)
                    goto cleanup;
                memcpy(w.peer_ek, v.ek, sizeof w.peer_ek);
                w.flags |= PQ3_ST_PEER_OFFER;
                inf.kem_offered = 1;
            }
        } else {
            if ((err = check_gap(sk, v.index - w.nr)) != PQ3_OK ||
                (err = skip_keys(&k, w.ckr, w.peer_pub, w.nr, v.index, v.index - w.nr, sk,
                                 &added, now)) != PQ3_OK ||
                (err = pq3_kdf_chain(&k, mk, w.ckr)) != PQ3_OK)
                goto cleanup;
            w.nr = v.index + 1;
        }
    } else if (pq3_skipped_has_chain(sk, v.ratchet_key) || recent_peer_key(&w, v.ratchet_key)) {
        /* A late message of an older peer chain: its key was kept, or it
         * was used, evicted or never skipped (§13.1); a copy is a replay,
         * found before any ECDH or ML-KEM work. */
        if ((err = take_stored(sk, v.ratchet_key, v.index, now, mk, &used)) != PQ3_OK)
            goto cleanup;
        inf.late = 1;
    } else {
        /* A new peer chain. */
        uint32_t have = (w.flags & PQ3_ST_RECV) ? w.nr : 0;
        uint32_t keep_new = 0, keep_end = 0;
        if (!(w.flags & PQ3_ST_SEND)) {
            err = PQ3_ERR_UNKNOWN; /* the peer cannot have seen a new key of ours */
            goto cleanup;
        }
        if (v.flags & PQ3_MSG_START) {
            err = PQ3_ERR_DECODE;
            goto cleanup;
        }
        /* The previous chain length can only name messages of the chain we
         * receive now: at least the ones we have (§13 step 3). */
        if ((!(w.flags & PQ3_ST_RECV) && v.pn != 0) || v.pn < have) {
            err = PQ3_ERR_UNKNOWN;
            goto cleanup;
        }
        if ((err = plan_new(sk, v.index, &keep_new)) != PQ3_OK)
            goto cleanup;
        /* §13.1: the ending chain keeps its max_jump most recent keys; a rest
         * beyond the walk bound keeps none (it is not derived at all); both
         * chains together keep at most max_keys. A store-less receiver
         * still refuses any gap. */
        if (v.pn > have) {
            if (sk == NULL) {
                err = PQ3_ERR_LIMIT;
                goto cleanup;
            }
            if (v.pn - have <= PQ3_SKIPPED_MAX_WALK)
                keep_end = v.pn - have < sk->max_jump ? v.pn - have : sk->max_jump;
            if (keep_end > sk->max_keys - keep_new)
                keep_end = sk->max_keys - keep_new;
        }
        if ((err = pq3_ecdh_import(&their, v.ratchet_key)) != PQ3_OK)
            goto cleanup;
        if (v.ek != NULL && (err = pq3_mlkem768_check_ek(v.ek)) != PQ3_OK)
            goto cleanup;
        if (v.ct != NULL && !(w.flags & PQ3_ST_MY_OFFER)) {
            err = PQ3_ERR_UNKNOWN;
            goto cleanup;
        }
        /* The rest of the ending peer chain is kept (§13.1). */
        if ((w.flags & PQ3_ST_RECV) && v.pn > have && v.pn - have <= PQ3_SKIPPED_MAX_WALK &&
            (err = skip_keys(&k, w.ckr, w.peer_pub, have, v.pn, keep_end, sk, &added, now)) !=
                PQ3_OK)
            goto cleanup;
        /* the mirror of §11.2 */
        if (v.ct != NULL && (err = pq3_mlkem768_decaps(ss_kem, v.ct, w.my_dk)) != PQ3_OK)
            goto cleanup;
        if ((err = pq3_ecdh_derive(ss_ecdh, w.my_priv, &their)) != PQ3_OK)
            goto cleanup;
        dst[0].p = w.sidd_recv;
        dst[0].len = 48;
        dst[1].p = (const uint8_t *)PQ3_L_RATCHET;
        dst[1].len = sizeof PQ3_L_RATCHET - 1;
        dst[2].p = w.my_pub;
        dst[2].len = 32;
        dst[3].p = v.ratchet_key;
        dst[3].len = 32;
        dst[4].p = v.ct;
        dst[4].len = PQ3_MLKEM768_CT_BYTES;
        dst[5].p = w.my_ek;
        dst[5].len = sizeof w.my_ek;
        if ((err = pq3_kdf_root(&k, w.rk, w.ckr, w.rk, ss_ecdh, v.ct != NULL ? ss_kem : NULL,
                                dst, v.ct != NULL ? 6 : 4)) != PQ3_OK)
            goto cleanup;
        if ((err = mandatory_digest(w.recv_digest, &v)) != PQ3_OK)
            goto cleanup;
        /* Messages of the new chain before this one are kept too. */
        if ((err = skip_keys(&k, w.ckr, v.ratchet_key, 0, v.index, keep_new, sk, &added, now)) !=
                PQ3_OK ||
            (err = pq3_kdf_chain(&k, mk, w.ckr)) != PQ3_OK)
            goto cleanup;
        /* The new peer chain: our sending chain ends (§13 step 6). */
        if (w.flags & PQ3_ST_RECV)
            remember_peer_key(&w, w.peer_pub);
        memcpy(w.peer_pub, v.ratchet_key, 32);
        w.peer_point = their;
        w.peer_pn = v.pn;
        w.nr = v.index + 1;
        w.recv_ext = v.flags & PQ3_MSG_CT;
        w.flags |= PQ3_ST_RECV;
        w.flags &= (uint8_t)~PQ3_ST_SEND;
        w.pns = w.ns;
        w.ns = 0;
        w.send_ext = 0;
        pq3_wipe(w.cks, sizeof w.cks);
        pq3_wipe(w.my_priv, sizeof w.my_priv);
        pq3_wipe(w.my_pub, sizeof w.my_pub);
        pq3_wipe(w.start_hash, sizeof w.start_hash);
        pq3_wipe(w.start_ct, sizeof w.start_ct);
        pq3_wipe(w.chain_ct, sizeof w.chain_ct);
        if (v.ct != NULL) {
            w.flags &= (uint8_t)~PQ3_ST_MY_OFFER;
            pq3_wipe(w.my_dk, sizeof w.my_dk);
            pq3_wipe(w.my_ek, sizeof w.my_ek);
            inf.kem_completed = 1;
        }
        if (v.ek != NULL) {
            memcpy(w.peer_ek, v.ek, sizeof w.peer_ek);
            w.flags |= PQ3_ST_PEER_OFFER;
            inf.kem_offered = 1;
        }
        inf.new_chain = 1;
    }
    /* 4-5. mki, decryption */
    if ((err = open_payload(&k, mk, &v, body, &inf)) != PQ3_OK)
        goto cleanup;
    /* §16.1: a receipt is owed for a peer chain with an application
     * message; a chain of receipts only owes none. */
    if (inf.new_chain)
        w.flags &= (uint8_t)~PQ3_ST_PEER_APP;
    if ((inf.new_chain || current) && inf.content_type == PQ3_CONTENT_MESSAGE)
        w.flags |= PQ3_ST_PEER_APP;
    /* 6. commit: the session, then only the store entries that changed */
    if (inf.kem_completed) {
        w.pq_count = 0;
        w.pq_time = now;
    } else {
        w.pq_count = count_up(w.pq_count);
    }
    inf.keys_stored = added;
    *s = w;
    if (sk != NULL)
        inf.keys_evicted = pq3_skipped_commit(sk, added, used, now);
    *info = inf;

cleanup:
    if (err != PQ3_OK)
        pq3_skipped_rollback(sk, added);
    pq3_kdf_free(&k);
    pq3_wipe(&w, sizeof w);
    pq3_wipe(ss_kem, sizeof ss_kem);
    pq3_wipe(ss_ecdh, sizeof ss_ecdh);
    pq3_wipe(mk, sizeof mk);
    return err;
}

/* ---- delivery receipts (§16.1) -------------------------------------------- */

int pq3_session_receipt_due(const pq3_session *s, const pq3_rekey_policy *policy, uint64_t now)
{
    pq3_rekey_policy pol = policy != NULL ? *policy : pq3_rekey_policy_default();
    if (s == NULL || s->version != PQ3_PROTOCOL_VERSION)
        return 0;
    /* One per received chain: after a receipt (or any seal) we have a
     * sending chain until the peer's next chain arrives. */
    if (!(s->flags & PQ3_ST_RECV) || (s->flags & PQ3_ST_SEND))
        return 0;
    /* A chain of receipts only is not acknowledged: two idle devices would
     * otherwise answer each other's receipts for ever. */
    if (!(s->flags & PQ3_ST_PEER_APP))
        return 0;
    if (s->last_receipt == 0 || pol.receipt_interval == 0)
        return 1;
    return now >= s->last_receipt && now - s->last_receipt >= pol.receipt_interval;
}

pq3_err pq3_session_seal_receipt(pq3_session *s, const pq3_skipped *sk, const pq3_signer *signer,
                                 const pq3_rekey_policy *policy, uint64_t now, const pq3_rng *rng,
                                 uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t rb[PQ3_RECEIPT_BODY_BYTES];
    uint32_t missing;
    pq3_writer w;
    size_t rb_len;
    pq3_err err;

    if (s == NULL || signer == NULL || out_len == NULL)
        return PQ3_ERR_ARG;
    if (!pq3_session_receipt_due(s, policy, now))
        return PQ3_ERR_LIMIT;
    /* §16.1: ratchet key of the peer chain, next index, missing below it */
    missing = pq3_skipped_count_chain(sk, s->peer_pub);
    pq3_writer_init(&w, rb, sizeof rb);
    pq3_write_bytes(&w, s->peer_pub, 32);
    pq3_write_u32(&w, s->nr);
    pq3_write_u32(&w, missing);
    if ((err = pq3_writer_end(&w, &rb_len)) != PQ3_OK)
        return err;
    err = pq3_session_seal(s, signer, policy, now, rng, PQ3_CONTENT_RECEIPT, rb, rb_len, NULL, 0,
                           out, cap, out_len);
    if (err == PQ3_OK)
        s->last_receipt = now;
    return err;
}

pq3_err pq3_receipt_parse(const uint8_t *body, size_t len, uint8_t ratchet_key[32],
                          uint32_t *next_index, uint32_t *missing)
{
    pq3_reader r;
    uint8_t rk[32];
    uint32_t next, miss;
    pq3_err err;

    if (body == NULL || ratchet_key == NULL || next_index == NULL || missing == NULL)
        return PQ3_ERR_ARG;

    /* §16.1: ratchet key (32) || u32 next index || u32 missing, exactly. */
    pq3_reader_init(&r, body, len);
    pq3_read_bytes(&r, rk, sizeof rk);
    next = pq3_read_u32(&r);
    miss = pq3_read_u32(&r);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    memcpy(ratchet_key, rk, sizeof rk);
    *next_index = next;
    *missing = miss;
    return PQ3_OK;
}

void pq3_session_wipe(pq3_session *s)
{
    if (s != NULL)
        pq3_wipe(s, sizeof *s);
}
