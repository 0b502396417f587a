/*
 * Recorded conversations between two peer device containers, the key
 * schedule written from docs/PROTOCOL.md, and the passive attacker of
 * tests/test_games.c. See games_attacker.h.
 */
#include "games_attacker.h"

#include <stdlib.h>
#include <string.h>

#include "pq3/crypto.h"
#include "pq3/mlkem.h"
#include "pq3/padme.h"
#include "protocol/message.h"

static const uint8_t z32[32];

/* §3 labels, written out again from the table (not taken from the library). */
static const char l_root[] = "OpenPQ3 v1 root";
static const char l_start[] = "OpenPQ3 v1 session start";
static const char l_ratchet[] = "OpenPQ3 v1 ratchet";
static const char l_mk[] = "OpenPQ3 v1 message key";
static const char l_ck[] = "OpenPQ3 v1 chain key";
static const char l_aes[] = "OpenPQ3 v1 aes-ctr";
static const char l_mki[] = "OpenPQ3 v1 key indicator";
#define LBL(l) ((const uint8_t *)(l)), (sizeof(l) - 1)

/* ---- the key schedule ----------------------------------------------------- */

int gm_expand_short(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
                    const uint8_t *info, size_t info_len)
{
    uint8_t in[64], t[48];
    int ok;
    if (out_len > 48 || info_len + 1 > sizeof in)
        return 0;
    memcpy(in, info, info_len);
    in[info_len] = 0x01; /* RFC 5869 §2.3: T(1) = HMAC(PRK, info || 0x01) */
    ok = pq3_hmac_sha384(t, prk, prk_len, in, info_len + 1) == PQ3_OK;
    if (ok)
        memcpy(out, t, out_len);
    pq3_wipe(t, sizeof t);
    return ok;
}

int gm_kdf_rk(uint8_t rk[32], uint8_t ck[32], const uint8_t rk_prev[32],
              const uint8_t ss_ecdh[32], const uint8_t *ss_kem, const uint8_t *dst,
              size_t dst_len)
{
    uint8_t t1[48], t2[48], out[64];
    uint8_t *info = malloc(sizeof l_root - 1 + dst_len);
    int ok = info != NULL;

    /* §8.1: t1 = Extract(RK_prev, ss_ecdh); t2 = Extract(ss_kem or Z32, t1);
     * RK || CK = Expand(t2, L_ROOT || dst, 64) (two HKDF blocks). */
    if (ok) {
        memcpy(info, l_root, sizeof l_root - 1);
        memcpy(info + sizeof l_root - 1, dst, dst_len);
        ok = pq3_hkdf_sha384_extract(t1, rk_prev, 32, ss_ecdh, 32) == PQ3_OK &&
             pq3_hkdf_sha384_extract(t2, ss_kem != NULL ? ss_kem : z32, 32, t1, 48) == PQ3_OK &&
             pq3_hkdf_sha384_expand(out, 64, t2, info, sizeof l_root - 1 + dst_len) == PQ3_OK;
    }
    if (ok) {
        memcpy(rk, out, 32);
        memcpy(ck, out + 32, 32);
    }
    free(info);
    pq3_wipe(t1, sizeof t1);
    pq3_wipe(t2, sizeof t2);
    pq3_wipe(out, sizeof out);
    return ok;
}

int gm_chain_step(uint8_t mk[32], uint8_t ck_next[32], const uint8_t ck[32])
{
    uint8_t next[32];
    /* §8.2: mk = Expand(CK, L_MK, 32), CK' = Expand(CK, L_CK, 32) */
    if (!gm_expand_short(mk, 32, ck, 32, LBL(l_mk)) ||
        !gm_expand_short(next, 32, ck, 32, LBL(l_ck)))
        return 0;
    memcpy(ck_next, next, 32);
    pq3_wipe(next, sizeof next);
    return 1;
}

int gm_mki(uint8_t mki[PQ3_MKI_BYTES], const uint8_t mk[32])
{
    /* §8.3: mki = Expand(mk, L_MKI, 16) */
    return gm_expand_short(mki, PQ3_MKI_BYTES, mk, 32, LBL(l_mki));
}

int gm_try_open(const gm_conv *c, size_t i, const uint8_t ck[32], uint8_t ck_next[32])
{
    const gm_msg *m = &c->msg[i];
    pq3_msg_view v;
    uint8_t mk[32], mki[PQ3_MKI_BYTES], x[48], *buf = NULL;
    size_t plen = 0;
    int res = GM_MKI_MISMATCH;

    if (pq3_msg_decode(&v, m->wire, m->len) != PQ3_OK || !gm_chain_step(mk, ck_next, ck) ||
        !gm_mki(mki, mk))
        goto cleanup;
    if (memcmp(mki, v.mki, sizeof mki) != 0)
        goto cleanup;
    res = GM_WRONG_PLAINTEXT;
    /* §8.3: x = Expand(mk, L_AES, 48), IV = x[0..16), K = x[16..48); §9.2 */
    buf = malloc(v.ctext_len);
    if (buf == NULL || !gm_expand_short(x, 48, mk, 32, LBL(l_aes)) ||
        pq3_aes256ctr(buf, v.ctext, v.ctext_len, x + 16, x) != PQ3_OK ||
        pq3_padme_unpad(&plen, buf, v.ctext_len) != PQ3_OK)
        goto cleanup;
    if (plen == m->text_len + 1 && buf[0] == PQ3_CONTENT_MESSAGE &&
        memcmp(buf + 1, m->text, m->text_len) == 0)
        res = GM_OPENED;

cleanup:
    free(buf);
    pq3_wipe(mk, sizeof mk);
    pq3_wipe(x, sizeof x);
    return res;
}

/* ---- transcripts ---------------------------------------------------------- */

/* §7: SID(X->Y) = vec16(h_X) || i_X || D_X || vec16(h_Y) || i_Y || D_Y. */
static int sid_digest(uint8_t out[48], const pq3_device_cert *x, const pq3_device_cert *y)
{
    uint8_t buf[2 * (2 + PQ3_HANDLE_MAX + PQ3_DEVICE_ID_BYTES + PQ3_ECDSA_PUB_BYTES)];
    size_t n = 0;
    const pq3_device_cert *p[2] = { x, y };
    for (int k = 0; k < 2; k++) {
        buf[n++] = 0;
        buf[n++] = p[k]->handle_len;
        memcpy(buf + n, p[k]->handle, p[k]->handle_len);
        n += p[k]->handle_len;
        memcpy(buf + n, p[k]->device_id, PQ3_DEVICE_ID_BYTES);
        n += PQ3_DEVICE_ID_BYTES;
        memcpy(buf + n, p[k]->auth_pub, PQ3_ECDSA_PUB_BYTES);
        n += PQ3_ECDSA_PUB_BYTES;
    }
    return pq3_sha384(out, buf, n) == PQ3_OK;
}

static int add_scalar(gm_conv *c, const uint8_t pub[32], const uint8_t priv[32])
{
    if (c->n_scalars >= GM_MAX_SCALARS)
        return 0;
    memcpy(c->scalar[c->n_scalars].pub, pub, 32);
    memcpy(c->scalar[c->n_scalars].priv, priv, 32);
    c->n_scalars++;
    return 1;
}

/* A container's serialization (§10.6) in a buffer of its exact size. */
static uint8_t *serialize(const pq3_peer *p, size_t *len)
{
    size_t n = 0;
    uint8_t *buf = pq3_peer_size(p, &n) == PQ3_OK && n > 0 ? malloc(n) : NULL;
    if (buf != NULL && pq3_peer_serialize(p, buf, n, len) != PQ3_OK) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* The slot of the session a container sends on (pq3_peer_current), -1 when
 * it holds none. */
static int current_slot(const pq3_peer *p)
{
    uint32_t slot;
    return pq3_peer_current(p, &slot) == PQ3_OK ? (int)slot : -1;
}

/* The session a container sends on; NULL when it holds none. */
static const pq3_session *current_session(const pq3_peer *p)
{
    int slot = current_slot(p);
    return slot < 0 ? NULL : &p->slots[slot].session;
}

int gm_load_peer(pq3_peer *p, const uint8_t *buf, size_t len)
{
    pq3_peer_init_default(p); /* a load writes over a container */
    return pq3_peer_deserialize(p, buf, len) == PQ3_OK;
}

int gm_load_state(pq3_session *s, const uint8_t *buf, size_t len)
{
    pq3_peer *p = malloc(sizeof *p);
    const pq3_session *cur;
    int ok = p != NULL && gm_load_peer(p, buf, len) && (cur = current_session(p)) != NULL;
    if (ok)
        memcpy(s, cur, sizeof *s);
    else
        memset(s, 0, sizeof *s);
    if (p != NULL)
        pq3_peer_wipe(p);
    free(p);
    return ok;
}

/* Whether message j (>= 0) offered this ek. */
static int same_offer(const gm_conv *c, int j, const uint8_t ek[PQ3_MLKEM768_EK_BYTES])
{
    pq3_msg_view v;
    return j >= 0 && pq3_msg_decode(&v, c->msg[j].wire, c->msg[j].len) == PQ3_OK &&
           v.ek != NULL && memcmp(v.ek, ek, PQ3_MLKEM768_EK_BYTES) == 0;
}

int gm_conv_run(gm_conv *c, uint64_t seed, size_t n, uint32_t max_chain,
                const pq3_rekey_policy *policy, uint64_t step)
{
    uint8_t bundle_enc[PQ3_PREKEY_BUNDLE_BYTES], *body = NULL;
    pq3t_drbg script;
    pq3_rng srng;
    int sender = GM_ALICE, last_offer[2] = { -1, -1 };
    uint32_t remaining = 0, run = 0;
    uint64_t now = FX_T0;
    pq3_opened info;
    const pq3_session *a;
    pq3_err err = PQ3_ERR_STATE;

    memset(c, 0, sizeof *c);
    if (n == 0 || n > GM_MAX_MSGS || max_chain == 0)
        return 0;
    for (int p = 0; p < 2; p++) {
        if ((c->p[p] = malloc(sizeof *c->p[p])) == NULL)
            return 0;
        pq3_peer_init_default(c->p[p]);
    }
    if ((c->cache = malloc(sizeof *c->cache)) == NULL)
        return 0;
    c->policy = *policy;
    c->step = step;
    if (!fx_party_init(&c->party[GM_ALICE], "mailto:alice@example.org", "alice", seed) ||
        !fx_party_init(&c->party[GM_BOB], "tel:+15555550123", "bob", seed))
        return 0;
    if (pq3_prekey_generate(&c->prekey, 7, FX_T0, FX_T0 + 7 * FX_DAY,
                            &c->party[GM_BOB].device_signer, &c->party[GM_BOB].rng) != PQ3_OK ||
        pq3_prekey_encode(bundle_enc, &c->prekey.bundle) != PQ3_OK ||
        pq3_prekey_verify(&c->bundle, bundle_enc, sizeof bundle_enc, &c->party[GM_BOB].cert,
                          FX_T0) != PQ3_OK ||
        pq3_start_cache_init(c->cache, c->prekey.bundle.hash, PQ3_START_CACHE_DEFAULT) != PQ3_OK)
        return 0;
    if (!sid_digest(c->sidd[GM_ALICE], &c->party[GM_ALICE].cert, &c->party[GM_BOB].cert) ||
        !sid_digest(c->sidd[GM_BOB], &c->party[GM_BOB].cert, &c->party[GM_ALICE].cert))
        return 0;
    if (pq3_peer_start(c->p[GM_ALICE], &c->party[GM_ALICE].cert, &c->party[GM_BOB].cert,
                       &c->bundle, now, &c->party[GM_ALICE].rng) != PQ3_OK ||
        (a = current_session(c->p[GM_ALICE])) == NULL)
        return 0;
    /* The spec's SID digests must be the library's (§7). */
    if (memcmp(c->sidd[GM_ALICE], a->sidd_send, 48) != 0 ||
        memcmp(c->sidd[GM_BOB], a->sidd_recv, 48) != 0)
        return 0;
    if (!add_scalar(c, c->prekey.bundle.ecdh_pub, c->prekey.ecdh_priv) ||
        !add_scalar(c, a->my_pub, a->my_priv))
        return 0;
    if ((c->start_state = serialize(c->p[GM_ALICE], &c->start_state_len)) == NULL)
        return 0;

    pq3t_drbg_init(&script, "games script", seed);
    srng = pq3t_drbg_rng(&script);
    for (size_t i = 0; i < n; i++) {
        gm_msg *m = &c->msg[i];
        int to;
        size_t cap, body_len = 0;
        pq3_msg_view v;
        uint8_t r;

        if (remaining == 0) {
            if (i > 0)
                sender = !sender;
            if (pq3_random(&srng, &r, 1) != PQ3_OK)
                goto fail;
            remaining = 1u + (uint32_t)(r % max_chain);
            run = 0;
        }
        to = !sender;
        m->sender = sender;
        m->now = now;
        m->offer_at = -1;
        /* Bodies of varied length, so Padmé buckets differ too. */
        m->text_len = (size_t)snprintf((char *)m->text, sizeof m->text, "m%zu %.*s", i,
                                       (int)(i * 7 % 40),
                                       "the quick brown fox jumps over the lazy dog");
        cap = pq3_message_max_size(m->text_len, 0);
        if ((m->wire = malloc(cap)) == NULL || (body = malloc(cap)) == NULL)
            goto fail;
        if ((err = pq3_peer_seal(c->p[sender], &c->party[sender].device_signer, &c->policy, now,
                                 &c->party[sender].rng, PQ3_CONTENT_MESSAGE, m->text,
                                 m->text_len, NULL, 0, m->wire, cap, &m->len, NULL)) != PQ3_OK)
            goto fail;
        if ((err = pq3_msg_decode(&v, m->wire, m->len)) != PQ3_OK)
            goto fail;
        err = PQ3_ERR_STATE; /* for the checks below */
        m->flags = v.flags;
        m->new_chain = v.index == 0;
        memcpy(m->ratchet_key, v.ratchet_key, 32);
        memcpy(m->mki, v.mki, sizeof m->mki);
        /* Oracle: the fresh ratchet key pair, read from the sender's state. */
        if (m->new_chain && i > 0 &&
            ((a = current_session(c->p[sender])) == NULL || !add_scalar(c, a->my_pub, a->my_priv)))
            goto fail;
        if (v.flags & PQ3_MSG_CT)
            m->offer_at = last_offer[to];
        /* An offer is made at a chain's first message (§11.2 step 6); while
         * unanswered, later chains carry the same ek again (§11.4): the offer
         * is the first message that carried it. */
        if ((v.flags & PQ3_MSG_EK) && m->new_chain && !same_offer(c, last_offer[sender], v.ek))
            last_offer[sender] = (int)i;
        /* Delivery: the first message makes bob's session (§10.6 routing
         * step 2), the others go to the session of their ratchet key. */
        if ((err = pq3_peer_open(c->p[to], &c->party[to].cert, &c->party[sender].cert,
                                 to == GM_BOB ? &c->prekey : NULL,
                                 to == GM_BOB ? c->cache : NULL, now, m->wire, m->len, body, cap,
                                 &info, NULL)) != PQ3_OK)
            goto fail;
        err = PQ3_ERR_STATE; /* a wrong body, a second session or a failed serialization */
        body_len = info.body_len;
        if (body_len != m->text_len || memcmp(body, m->text, body_len) != 0 ||
            c->p[GM_ALICE]->count != 1 || c->p[GM_BOB]->count != 1)
            goto fail;
        free(body);
        body = NULL;
        for (int p = 0; p < 2; p++)
            if ((m->state[p] = serialize(c->p[p], &m->state_len[p])) == NULL)
                goto fail;
        c->n = i + 1;
        run++;
        if (run > c->max_chain)
            c->max_chain = run;
        remaining--;
        now += step;
    }
    return 1;

fail:
    fprintf(stderr, "conversation failed at message %zu: %s\n", c->n, pq3_strerror(err));
    free(body);
    c->n = c->n < n ? c->n + 1 : n; /* free the half-recorded message too */
    gm_conv_free(c);
    return 0;
}

void gm_conv_free(gm_conv *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->msg[i].wire);
        for (int p = 0; p < 2; p++) {
            if (c->msg[i].state[p] != NULL)
                pq3_wipe(c->msg[i].state[p], c->msg[i].state_len[p]);
            free(c->msg[i].state[p]);
        }
    }
    if (c->start_state != NULL)
        pq3_wipe(c->start_state, c->start_state_len);
    free(c->start_state);
    for (int p = 0; p < 2; p++) {
        pq3_peer_wipe(c->p[p]);
        free(c->p[p]);
        c->p[p] = NULL;
    }
    free(c->cache);
    c->cache = NULL;
    pq3_prekey_secret_wipe(&c->prekey);
    pq3_wipe(c->scalar, sizeof c->scalar);
    c->n = 0;
    c->start_state = NULL;
}

/* ---- public transcript data and the oracle ------------------------------- */

size_t gm_ratchet_dst(const gm_conv *c, size_t j, uint8_t *out)
{
    const gm_msg *m = &c->msg[j];
    pq3_msg_view v, vo;
    size_t n = 0;

    if (j == 0 || j >= c->n || !m->new_chain || pq3_msg_decode(&v, m->wire, m->len) != PQ3_OK)
        return 0;
    /* §11.2 step 4: dst = sidd(sender->receiver) || L_RATCHET || P || N
     * [|| ct || ek_peer]. Chains alternate strictly (§11.1), so P, the
     * receiver's current ratchet key, is the key of message j-1. */
    memcpy(out + n, c->sidd[m->sender], 48);
    n += 48;
    memcpy(out + n, l_ratchet, sizeof l_ratchet - 1);
    n += sizeof l_ratchet - 1;
    memcpy(out + n, c->msg[j - 1].ratchet_key, 32);
    n += 32;
    memcpy(out + n, m->ratchet_key, 32);
    n += 32;
    if (v.ct != NULL) {
        const gm_msg *o;
        if (m->offer_at < 0)
            return 0;
        o = &c->msg[m->offer_at];
        if (pq3_msg_decode(&vo, o->wire, o->len) != PQ3_OK || vo.ek == NULL)
            return 0;
        memcpy(out + n, v.ct, PQ3_MLKEM768_CT_BYTES);
        n += PQ3_MLKEM768_CT_BYTES;
        memcpy(out + n, vo.ek, PQ3_MLKEM768_EK_BYTES);
        n += PQ3_MLKEM768_EK_BYTES;
    }
    return n;
}

size_t gm_start_dst(const gm_conv *c, uint8_t *out)
{
    pq3_msg_view v;
    size_t n = 0;
    if (c->n == 0 || pq3_msg_decode(&v, c->msg[0].wire, c->msg[0].len) != PQ3_OK ||
        v.ct0 == NULL)
        return 0;
    /* §10.2 step 4: sidd(S->R) || L_START || B.ecdh || E || ct0 || B.kem */
    memcpy(out + n, c->sidd[GM_ALICE], 48);
    n += 48;
    memcpy(out + n, l_start, sizeof l_start - 1);
    n += sizeof l_start - 1;
    memcpy(out + n, c->bundle.ecdh_pub, 32);
    n += 32;
    memcpy(out + n, v.ratchet_key, 32);
    n += 32;
    memcpy(out + n, v.ct0, PQ3_MLKEM1024_CT_BYTES);
    n += PQ3_MLKEM1024_CT_BYTES;
    memcpy(out + n, c->bundle.kem_ek, PQ3_MLKEM1024_EK_BYTES);
    n += PQ3_MLKEM1024_EK_BYTES;
    return n;
}

const uint8_t *gm_oracle_priv(const gm_conv *c, const uint8_t pub[32])
{
    for (size_t k = 0; k < c->n_scalars; k++)
        if (memcmp(c->scalar[k].pub, pub, 32) == 0)
            return c->scalar[k].priv;
    return NULL;
}

static int ecdh(uint8_t ss[32], const uint8_t priv[32], const uint8_t their_pub[32])
{
    pq3_ecdh_peer peer;
    return pq3_ecdh_import(&peer, their_pub) == PQ3_OK &&
           pq3_ecdh_derive(ss, priv, &peer) == PQ3_OK;
}

/* The offerer's dk for the CT of message j, from its recorded state right
 * after it sent the offer (oracle). */
static int offer_dk(const gm_conv *c, size_t j, uint8_t dk[PQ3_MLKEM768_DK_BYTES])
{
    const gm_msg *o;
    pq3_session st;
    int ok;
    if (c->msg[j].offer_at < 0)
        return 0;
    o = &c->msg[c->msg[j].offer_at];
    ok = gm_load_state(&st, o->state[o->sender], o->state_len[o->sender]) &&
         (st.flags & PQ3_ST_MY_OFFER);
    if (ok)
        memcpy(dk, st.my_dk, PQ3_MLKEM768_DK_BYTES);
    pq3_session_wipe(&st);
    return ok;
}

int gm_true_secrets(const gm_conv *c, size_t j, uint8_t ss_ecdh[32], uint8_t ss_kem[32],
                    int *has_kem)
{
    const gm_msg *m = &c->msg[j];
    const uint8_t *r;
    uint8_t dk[PQ3_MLKEM768_DK_BYTES];
    pq3_msg_view v;
    int ok;

    if (j == 0 || j >= c->n || !m->new_chain || pq3_msg_decode(&v, m->wire, m->len) != PQ3_OK)
        return 0;
    r = gm_oracle_priv(c, m->ratchet_key);
    if (r == NULL || !ecdh(ss_ecdh, r, c->msg[j - 1].ratchet_key))
        return 0;
    *has_kem = v.ct != NULL;
    if (v.ct == NULL) {
        memset(ss_kem, 0, 32);
        return 1;
    }
    ok = offer_dk(c, j, dk) && pq3_mlkem768_decaps(ss_kem, v.ct, dk) == PQ3_OK;
    pq3_wipe(dk, sizeof dk);
    return ok;
}

/* ---- the attacker --------------------------------------------------------- */

typedef struct {
    int level;
    int rk_known;
    uint8_t rk[32];
    int ck_known[2];
    uint8_t ck[2][32];
    int has_cap;                   /* the captured ratchet key pair */
    gm_scalar cap;
    int has_dk;                    /* the captured ML-KEM-768 offer */
    uint8_t cap_ek[PQ3_MLKEM768_EK_BYTES];
    uint8_t cap_dk[PQ3_MLKEM768_DK_BYTES];
} tracker;

static void tracker_wipe(tracker *k)
{
    pq3_wipe(k, sizeof *k);
}

/* The captured container (§10.6) as the attacker reads it: the state (§14)
 * of the session it sends on. */
static int tracker_capture(tracker *k, const gm_conv *c, int x, size_t t)
{
    pq3_session st;
    const gm_msg *m = &c->msg[t - 1];
    if (!gm_load_state(&st, m->state[x], m->state_len[x]))
        return 0;
    memcpy(k->rk, st.rk, 32);
    k->rk_known = 1;
    if (st.flags & PQ3_ST_SEND) {
        memcpy(k->ck[x], st.cks, 32);
        k->ck_known[x] = 1;
        memcpy(k->cap.pub, st.my_pub, 32);
        memcpy(k->cap.priv, st.my_priv, 32);
        k->has_cap = 1;
    }
    if (st.flags & PQ3_ST_RECV) {
        memcpy(k->ck[!x], st.ckr, 32);
        k->ck_known[!x] = 1;
    }
    if (st.flags & PQ3_ST_MY_OFFER) {
        memcpy(k->cap_ek, st.my_ek, sizeof k->cap_ek);
        memcpy(k->cap_dk, st.my_dk, sizeof k->cap_dk);
        k->has_dk = 1;
    }
    pq3_session_wipe(&st);
    return 1;
}

/* The ECDH secret as the attacker knows it: with the private key of either
 * side (the captured one; any one at the quantum level). */
static int known_ecdh(const tracker *k, const gm_conv *c, uint8_t ss[32], const uint8_t p[32],
                      const uint8_t nkey[32])
{
    const uint8_t *priv;
    if (k->has_cap && memcmp(k->cap.pub, p, 32) == 0)
        return ecdh(ss, k->cap.priv, nkey);
    if (k->has_cap && memcmp(k->cap.pub, nkey, 32) == 0)
        return ecdh(ss, k->cap.priv, p);
    if (k->level >= GM_QUANTUM && (priv = gm_oracle_priv(c, nkey)) != NULL)
        return ecdh(ss, priv, p);
    if (k->level >= GM_QUANTUM && (priv = gm_oracle_priv(c, p)) != NULL)
        return ecdh(ss, priv, nkey);
    return 0;
}

/* A new chain at message i: every (ss_ecdh, ss_kem) the attacker can compute
 * or guess, kept only if it opens message i. */
static int tracker_new_chain(tracker *k, const gm_conv *c, size_t i, uint8_t *out)
{
    const gm_msg *m = &c->msg[i];
    const uint8_t *p = c->msg[i - 1].ratchet_key;
    uint8_t dst[GM_DST_MAX], ecdh_c[4][32], kem_c[3][32], rk[32], ck[32], next[32];
    uint8_t dk[PQ3_MLKEM768_DK_BYTES];
    const uint8_t *kem_p[3];
    size_t dst_len, n_ecdh = 0, n_kem = 0;
    pq3_msg_view v;
    int found = 0;

    k->ck_known[m->sender] = 0;
    if (!k->rk_known)
        return 1;
    k->rk_known = 0;
    if ((dst_len = gm_ratchet_dst(c, i, dst)) == 0 ||
        pq3_msg_decode(&v, m->wire, m->len) != PQ3_OK)
        return 0;
    if (known_ecdh(k, c, ecdh_c[n_ecdh], p, m->ratchet_key))
        n_ecdh++;
    memset(ecdh_c[n_ecdh++], 0, 32);
    if (k->has_cap && ecdh(ecdh_c[n_ecdh], k->cap.priv, m->ratchet_key))
        n_ecdh++;
    if (k->has_cap && ecdh(ecdh_c[n_ecdh], k->cap.priv, p))
        n_ecdh++;
    if (v.ct == NULL) {
        kem_p[n_kem++] = NULL; /* §8.1: Z32 when the step has no KEM */
    } else {
        if (k->has_dk && pq3_mlkem768_decaps(kem_c[n_kem], v.ct, k->cap_dk) == PQ3_OK) {
            kem_p[n_kem] = kem_c[n_kem];
            n_kem++;
        }
        if (k->level >= GM_OMNISCIENT && offer_dk(c, i, dk) &&
            pq3_mlkem768_decaps(kem_c[n_kem], v.ct, dk) == PQ3_OK) {
            kem_p[n_kem] = kem_c[n_kem];
            n_kem++;
        }
        kem_p[n_kem++] = NULL;
    }
    for (size_t a = 0; a < n_ecdh && !found; a++) {
        for (size_t b = 0; b < n_kem && !found; b++) {
            if (!gm_kdf_rk(rk, ck, k->rk, ecdh_c[a], kem_p[b], dst, dst_len))
                return 0;
            if (gm_try_open(c, i, ck, next) == GM_OPENED) {
                memcpy(k->rk, rk, 32);
                memcpy(k->ck[m->sender], next, 32);
                k->rk_known = 1;
                k->ck_known[m->sender] = 1;
                out[i] = 1;
                found = 1;
            }
        }
    }
    pq3_wipe(ecdh_c, sizeof ecdh_c);
    pq3_wipe(kem_c, sizeof kem_c);
    pq3_wipe(dk, sizeof dk);
    pq3_wipe(rk, sizeof rk);
    pq3_wipe(ck, sizeof ck);
    pq3_wipe(next, sizeof next);
    return 1;
}

int gm_attack(const gm_conv *c, int x, size_t t, int level, uint8_t *out)
{
    tracker k;
    uint8_t next[32];
    int count = 0;

    if (t == 0 || t > c->n)
        return -1;
    memset(&k, 0, sizeof k);
    memset(out, 0, c->n);
    k.level = level;
    if (!tracker_capture(&k, c, x, t))
        return -1;
    for (size_t i = t; i < c->n; i++) {
        const gm_msg *m = &c->msg[i];
        if (m->new_chain) {
            if (!tracker_new_chain(&k, c, i, out)) {
                tracker_wipe(&k);
                return -1;
            }
        } else if (k.ck_known[m->sender]) {
            if (gm_try_open(c, i, k.ck[m->sender], next) == GM_OPENED) {
                memcpy(k.ck[m->sender], next, 32);
                out[i] = 1;
            } else {
                k.ck_known[m->sender] = 0;
            }
        }
        count += out[i];
    }
    pq3_wipe(next, sizeof next);
    tracker_wipe(&k);
    return count;
}

size_t gm_model_heal_classical(const gm_conv *c, int x, size_t t)
{
    for (size_t i = t; i < c->n; i++)
        if (c->msg[i].new_chain && c->msg[i].sender == x)
            return i;
    return c->n;
}

size_t gm_model_heal_quantum(const gm_conv *c, int x, size_t t)
{
    for (size_t i = t; i < c->n; i++) {
        const gm_msg *m = &c->msg[i];
        if (m->new_chain && (m->flags & PQ3_MSG_CT) &&
            !(m->offer_at >= 0 && (size_t)m->offer_at < t && c->msg[m->offer_at].sender == x))
            return i;
    }
    return c->n;
}
