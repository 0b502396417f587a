/*
 * The ratchets, sealing and opening (docs/PROTOCOL.md §11-§13, §16.1): the
 * symmetric chains, the ECDH ratchet and the ML-KEM-768 ratchet with its
 * rekey policy, on both sides of a direction change.
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
#include "protocol/skipped.h"

pq3_rekey_policy pq3_rekey_policy_default(void)
{
    pq3_rekey_policy p = { 50, 604800, 0, 0 };
    return p;
}

/* ---- opening the payload (§13 steps 4-5) ---------------------------------- */

pq3_err pq3_session_open_payload(pq3_kdf *k, const uint8_t mk[32], const pq3_msg_view *v,
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

/* ---- the ratchet step, both sides (§11.2, §13 step 3) --------------------- */

/* §11.2 step 4: dst = sidd(sender->receiver) || L_RATCHET || P || N
 * [|| ct || ek], where P is the receiver's ratchet key the step answers, N
 * the sender's new one, and ct (NULL: no ML-KEM answer) the encapsulation
 * to the receiver's offered ek. The one transcript both sides build;
 * returns the number of parts. */
static size_t ratchet_transcript(pq3_iov dst[6], const uint8_t sidd[48], const uint8_t p[32],
                                 const uint8_t n[32], const uint8_t *ct, const uint8_t *ek)
{
    dst[0].p = sidd;
    dst[0].len = 48;
    dst[1].p = (const uint8_t *)PQ3_L_RATCHET;
    dst[1].len = sizeof PQ3_L_RATCHET - 1;
    dst[2].p = p;
    dst[2].len = 32;
    dst[3].p = n;
    dst[3].len = 32;
    dst[4].p = ct;
    dst[4].len = PQ3_MLKEM768_CT_BYTES;
    dst[5].p = ek;
    dst[5].len = PQ3_MLKEM768_EK_BYTES;
    return ct != NULL ? 6 : 4;
}

/* §11.3: whether an ML-KEM step is due, with the counters a direction
 * change leaves (an answer resets them). */
static int offer_due(uint32_t pq_count, uint64_t pq_time, const pq3_rekey_policy *p, uint64_t now)
{
    uint64_t age = now > pq_time ? now - pq_time : 0;
    return age >= p->max_age || (!p->constrained && pq_count >= p->max_messages);
}

/* §11.4: the chain's mandatory extension (START or CT) is on every message
 * of the chain, which lasts until the peer's answer acknowledges it; an
 * offered ek is on the chain's first message. */
static uint8_t chain_ext(uint8_t send_ext, uint32_t index)
{
    return (uint8_t)((send_ext & (PQ3_MSG_START | PQ3_MSG_CT)) |
                     (index == 0 ? (send_ext & PQ3_MSG_EK) : 0));
}

/*
 * The extension (START/EK/CT) of the next message sealed from s at `now`
 * (§11.2, §11.4), decided from the state and the policy alone so that the
 * size is known before any randomness is drawn. On a new chain: CT when the
 * peer's offer is answered; EK when our own offer is still unanswered (it
 * goes out again on every new chain) or when the policy calls for a fresh
 * one (*fresh_offer = 1). Read-only: seal's size forecast and the direction
 * change both use it.
 */
static uint8_t next_ext(const pq3_session *s, const pq3_rekey_policy *p, uint64_t now,
                        int *fresh_offer)
{
    int answer = (s->flags & PQ3_ST_PEER_OFFER) != 0;
    uint8_t ext = answer ? PQ3_MSG_CT : 0;
    *fresh_offer = 0;
    if (s->flags & PQ3_ST_SEND)
        return chain_ext(s->send_ext, s->ns);
    if (s->flags & PQ3_ST_MY_OFFER) {
        ext |= PQ3_MSG_EK;
    } else if (offer_due(answer ? 0 : s->pq_count, answer ? now : s->pq_time, p, now)) {
        ext |= PQ3_MSG_EK;
        *fresh_offer = 1;
    }
    return ext;
}

/* §11.2, sender side: new ratchet key, the ML-KEM answer when the peer
 * offered, a fresh offer when next_ext decided one. */
static pq3_err direction_change(pq3_kdf *k, pq3_session *w, int fresh_offer, uint64_t now,
                                const pq3_rng *rng)
{
    uint8_t priv[32], pub[32], m[32], ss_kem[32], ss_ecdh[32], seed[64];
    uint8_t ct[PQ3_MLKEM768_CT_BYTES];
    int answer = (w->flags & PQ3_ST_PEER_OFFER) != 0;
    pq3_iov dst[6];
    size_t n;
    pq3_err err;

    /* 1. fresh ratchet key; 2. encapsulate to the peer's offer; 3. ECDH */
    if ((err = pq3_ecdh_keypair(priv, pub, rng)) != PQ3_OK)
        goto cleanup;
    if (answer && ((err = pq3_random(rng, m, sizeof m)) != PQ3_OK ||
                   (err = pq3_mlkem768_encaps_derand(ct, ss_kem, w->peer_ek, m)) != PQ3_OK))
        goto cleanup;
    if ((err = pq3_ecdh_derive(ss_ecdh, priv, &w->peer_point)) != PQ3_OK)
        goto cleanup;
    /* 4. the transcript; 5. the root step */
    n = ratchet_transcript(dst, w->sidd_send, w->peer_pub, pub, answer ? ct : NULL, w->peer_ek);
    if ((err = pq3_kdf_root(k, w->rk, w->cks, w->rk, ss_ecdh, answer ? ss_kem : NULL, dst, n)) !=
        PQ3_OK)
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
     * it arrived); a fresh one is made when the policy calls for it */
    if (fresh_offer) {
        if ((err = pq3_random(rng, seed, sizeof seed)) != PQ3_OK ||
            (err = pq3_mlkem768_keypair_derand(w->my_ek, w->my_dk, seed, seed + 32)) != PQ3_OK)
            goto cleanup;
        w->flags |= PQ3_ST_MY_OFFER;
    }
    if (w->flags & PQ3_ST_MY_OFFER)
        w->send_ext |= PQ3_MSG_EK;

cleanup:
    pq3_wipe(priv, sizeof priv);
    pq3_wipe(m, sizeof m);
    pq3_wipe(ss_kem, sizeof ss_kem);
    pq3_wipe(ss_ecdh, sizeof ss_ecdh);
    pq3_wipe(seed, sizeof seed);
    pq3_wipe(ct, sizeof ct);
    return err;
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

/*
 * §13 step 3, a new peer chain, receiver side: the mirror of
 * direction_change. Decapsulates the answer to our offer, the ECDH with the
 * peer's new key `their`, the root step over the same transcript, and the
 * new receiving chain; our sending chain ends (§13 step 6). The caller has
 * checked the message and kept the ending chain's keys.
 */
static pq3_err ratchet_receive(pq3_kdf *k, pq3_session *w, const pq3_msg_view *v,
                               const pq3_ecdh_peer *their, pq3_opened *inf)
{
    uint8_t ss_kem[32], ss_ecdh[32];
    pq3_iov dst[6];
    size_t n;
    pq3_err err;

    memset(ss_kem, 0, sizeof ss_kem);
    if (v->ct != NULL && (err = pq3_mlkem768_decaps(ss_kem, v->ct, w->my_dk)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_ecdh_derive(ss_ecdh, w->my_priv, their)) != PQ3_OK)
        goto cleanup;
    n = ratchet_transcript(dst, w->sidd_recv, w->my_pub, v->ratchet_key, v->ct, w->my_ek);
    if ((err = pq3_kdf_root(k, w->rk, w->ckr, w->rk, ss_ecdh, v->ct != NULL ? ss_kem : NULL, dst,
                            n)) != PQ3_OK ||
        (err = pq3_msg_mandatory_digest(w->recv_digest, v)) != PQ3_OK)
        goto cleanup;
    /* The previous peer key is remembered only when a receiving chain
     * existed (§13 step 6). */
    if (w->flags & PQ3_ST_RECV)
        remember_peer_key(w, w->peer_pub);
    memcpy(w->peer_pub, v->ratchet_key, 32);
    w->peer_point = *their;
    w->peer_pn = v->pn;
    w->nr = 0;
    w->recv_ext = v->flags & PQ3_MSG_CT;
    w->flags |= PQ3_ST_RECV;
    w->flags &= (uint8_t)~PQ3_ST_SEND;
    w->pns = w->ns;
    w->ns = 0;
    w->send_ext = 0;
    pq3_wipe(w->cks, sizeof w->cks);
    pq3_wipe(w->my_priv, sizeof w->my_priv);
    pq3_wipe(w->my_pub, sizeof w->my_pub);
    pq3_wipe(w->start_hash, sizeof w->start_hash);
    pq3_wipe(w->start_ct, sizeof w->start_ct);
    pq3_wipe(w->chain_ct, sizeof w->chain_ct);
    if (v->ct != NULL) {
        w->flags &= (uint8_t)~PQ3_ST_MY_OFFER;
        pq3_wipe(w->my_dk, sizeof w->my_dk);
        pq3_wipe(w->my_ek, sizeof w->my_ek);
        inf->kem_completed = 1;
    }
    if (v->ek != NULL) {
        memcpy(w->peer_ek, v->ek, sizeof w->peer_ek);
        w->flags |= PQ3_ST_PEER_OFFER;
        inf->kem_offered = 1;
    }
    inf->new_chain = 1;

cleanup:
    pq3_wipe(ss_kem, sizeof ss_kem);
    pq3_wipe(ss_ecdh, sizeof ss_ecdh);
    return err;
}

/* ---- sealing (§12) ------------------------------------------------------- */

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
    pq3_msg_header h;
    uint8_t mk[32], x[48], mki[PQ3_MKI_BYTES], tbs[PQ3_MSG_TBS_BYTES];
    size_t need, ctext_len, off, plen;
    int fresh_offer;
    uint8_t ext;
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
    /* §9.1: the last index a chain may use is 2^32 - 2; the chain ends with
     * the peer's answer, never by wrapping to 0 (which would reuse keys). */
    if ((s->flags & PQ3_ST_SEND) && s->ns == UINT32_MAX)
        return PQ3_ERR_LIMIT;
    ext = next_ext(s, &pol, now, &fresh_offer);
    ctext_len = pq3_padme_padded_size(body_len + 1);
    need = pq3_msg_size(ext, ad_len, body_len);
    if (cap < need) {
        *out_len = need;
        return PQ3_ERR_BUFFER;
    }

    w = *s;
    if ((err = pq3_kdf_init(&k)) != PQ3_OK)
        goto cleanup;
    /* 1. direction change */
    if (!(w.flags & PQ3_ST_SEND) &&
        (err = direction_change(&k, &w, fresh_offer, now, rng)) != PQ3_OK)
        goto cleanup;
    /* 2. extension flags (§11.4) */
    if (chain_ext(w.send_ext, w.ns) != ext) {
        err = PQ3_ERR_STATE; /* next_ext and the direction change disagree: a bug */
        goto cleanup;
    }
    /* 3. keys */
    if ((err = pq3_kdf_chain(&k, mk, w.cks)) != PQ3_OK ||
        (err = pq3_kdf_message(&k, x, mki, mk)) != PQ3_OK)
        goto cleanup;
    /* 4. header (§9.1), then the payload encrypted in place */
    memset(&h, 0, sizeof h);
    h.version = w.version;
    h.flags = (uint8_t)(ext | (ad_len > 0 ? PQ3_MSG_AD : 0));
    h.ratchet_key = w.my_pub;
    h.index = w.ns;
    h.pn = w.pns;
    h.prekey_hash = w.start_hash;
    h.ct0 = w.start_ct;
    h.ek = w.my_ek;
    h.ct = w.chain_ct;
    h.mki = mki;
    h.ad = ad;
    h.ad_len = ad_len;
    h.ctext_len = ctext_len;
    pq3_writer_init(&wr, out, cap);
    pq3_msg_write_header(&wr, &h);
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
    if ((err = pq3_msg_tbs(tbs, w.sidd_send, out, off)) != PQ3_OK ||
        (err = pq3_sign_checked(signer, out + off, tbs, sizeof tbs)) != PQ3_OK)
        goto cleanup;
    /* 6. counters, index */
    if (w.ns == 0 && (w.send_ext & (PQ3_MSG_START | PQ3_MSG_CT))) {
        w.pq_count = 0;
        w.pq_time = now;
    } else {
        w.pq_count = pq3_count_up(w.pq_count);
    }
    w.ns++;
    w.generation++;
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

/* A gap of n indices on the peer's current chain (§13.1): all n keys are
 * kept, so n over max_jump is PQ3_ERR_LIMIT (the session goes on with the
 * peer's next chain, which follows our next message). */
static pq3_err check_gap(const pq3_skipped *sk, uint32_t n)
{
    if (n > 0 && (sk == NULL || n > sk->max_jump))
        return PQ3_ERR_LIMIT;
    return PQ3_OK;
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

pq3_err pq3_session_open(pq3_session *s, uint64_t now, const uint8_t *msg, size_t msg_len,
                         uint8_t *body, size_t body_cap, pq3_opened *info)
{
    return pq3_session_open_ex(s, NULL, now, msg, msg_len, body, body_cap, info);
}

pq3_err pq3_session_open_ex(pq3_session *s, pq3_skipped *sk, uint64_t now, const uint8_t *msg,
                            size_t msg_len, uint8_t *body, size_t body_cap, pq3_opened *info)
{
    pq3_msg_view v;
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
    if ((err = pq3_msg_verify(&s->peer_auth, s->sidd_recv, &v, msg)) != PQ3_OK)
        return err;
    return pq3_session_open_verified(s, sk, now, &v, body, body_cap, info);
}

pq3_err pq3_session_open_verified(pq3_session *s, pq3_skipped *sk, uint64_t now,
                                  const pq3_msg_view *vp, uint8_t *body, size_t body_cap,
                                  pq3_opened *info)
{
    const pq3_msg_view v = *vp;
    pq3_session w;
    pq3_opened inf;
    pq3_ecdh_peer their;
    uint8_t digest[48], mk[32];
    pq3_kdf k = { NULL };
    uint32_t added = 0;
    long used = -1;
    int current = 0;
    pq3_err err;

    if (s->version != PQ3_PROTOCOL_VERSION)
        return PQ3_ERR_STATE;
    if (v.version != s->version)
        return PQ3_ERR_VERSION;
    if (body_cap < v.ctext_len)
        return PQ3_ERR_BUFFER;
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
            (err = pq3_msg_mandatory_digest(digest, &v)) != PQ3_OK ||
            memcmp(digest, w.recv_digest, sizeof digest) != 0) { /* public data */
            if (err == PQ3_OK)
                err = PQ3_ERR_VERIFY; /* the repeated extension must repeat exactly */
            goto cleanup;
        }
        if (v.index < w.nr) {
            if ((err = pq3_skipped_take(sk, w.session_id, v.ratchet_key, v.index, now, mk,
                                        &used)) != PQ3_OK)
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
                (err = pq3_skipped_derive(&k, sk, w.session_id, w.ckr, w.peer_pub, w.nr, v.index,
                                          v.index - w.nr, &added, now)) != PQ3_OK ||
                (err = pq3_kdf_chain(&k, mk, w.ckr)) != PQ3_OK)
                goto cleanup;
            w.nr = v.index + 1;
        }
    } else if (pq3_skipped_has_chain(sk, w.session_id, v.ratchet_key) ||
               recent_peer_key(&w, v.ratchet_key)) {
        /* A late message of an older peer chain: its key was kept, or it
         * was used, evicted or never skipped (§13.1); a copy is a replay,
         * found before any ECDH or ML-KEM work. */
        if ((err = pq3_skipped_take(sk, w.session_id, v.ratchet_key, v.index, now, mk, &used)) !=
            PQ3_OK)
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
        if ((err = pq3_skipped_plan_new(sk, v.index, &keep_new)) != PQ3_OK)
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
            (err = pq3_skipped_derive(&k, sk, w.session_id, w.ckr, w.peer_pub, have, v.pn,
                                      keep_end, &added, now)) != PQ3_OK)
            goto cleanup;
        if ((err = ratchet_receive(&k, &w, &v, &their, &inf)) != PQ3_OK)
            goto cleanup;
        /* Messages of the new chain before this one are kept too. */
        if ((err = pq3_skipped_derive(&k, sk, w.session_id, w.ckr, v.ratchet_key, 0, v.index,
                                      keep_new, &added, now)) != PQ3_OK ||
            (err = pq3_kdf_chain(&k, mk, w.ckr)) != PQ3_OK)
            goto cleanup;
        w.nr = v.index + 1;
    }
    /* 4-5. mki, decryption */
    if ((err = pq3_session_open_payload(&k, mk, &v, body, &inf)) != PQ3_OK)
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
        w.pq_count = pq3_count_up(w.pq_count);
    }
    w.generation++;
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
    pq3_err err;

    if (s == NULL || signer == NULL || out_len == NULL)
        return PQ3_ERR_ARG;
    if (!pq3_session_receipt_due(s, policy, now))
        return PQ3_ERR_LIMIT;
    /* §16.1: ratchet key of the peer chain, next index, missing below it */
    if ((err = pq3_receipt_encode(rb, s->peer_pub, s->nr,
                                  pq3_skipped_count_chain(sk, s->session_id, s->peer_pub))) !=
        PQ3_OK)
        return err;
    err = pq3_session_seal(s, signer, policy, now, rng, PQ3_CONTENT_RECEIPT, rb, sizeof rb, NULL,
                           0, out, cap, out_len);
    if (err == PQ3_OK)
        s->last_receipt = now;
    return err;
}

void pq3_session_wipe(pq3_session *s)
{
    if (s != NULL)
        pq3_wipe(s, sizeof *s);
}
