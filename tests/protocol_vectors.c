/*
 * The protocol test vectors (docs/PROTOCOL.md Appendix A): a scripted,
 * deterministic conversation of 200 messages between alice (initiator) and
 * bob, with every wire message and the keys of every step. The generator
 * checks itself as it goes: every message opens on the other side, the
 * root keys agree, and the key of each direction change is recomputed here
 * from the recorded randomness with the KDF of §8.1, independently of the
 * session code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/kdf.h"
#include "protocol_fixture.h"
#include "protocol_vectors.h"

#define N_MESSAGES 200
#define VEC_MAX_MESSAGES 24
#define VEC_MAX_AGE 604800

pq3_err pq3tv_rec_fill(void *ctx, uint8_t *out, size_t len)
{
    pq3tv_rec_rng *r = ctx;
    pq3_err err = r->inner.fill(r->inner.ctx, out, len);
    if (err == PQ3_OK && r->len + len <= sizeof r->buf) {
        memcpy(r->buf + r->len, out, len);
        r->len += len;
    }
    return err;
}

void pq3tv_add_hex(cJSON *o, const char *key, const uint8_t *p, size_t n)
{
    char *h = pq3t_hex(p, n);
    cJSON_AddStringToObject(o, key, h != NULL ? h : "");
    free(h);
}

void pq3tv_add_u64(cJSON *o, const char *key, uint64_t v)
{
    cJSON_AddNumberToObject(o, key, (double)v);
}

int pq3tv_fail(const char *what, int step)
{
    fprintf(stderr, "protocol vectors: %s (step %d)\n", what, step);
    return 0;
}

static cJSON *party_json(const fx_party *p, const char *label, uint64_t k, const pq3_session *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *v = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "drbg_label", label);
    pq3tv_add_u64(o, "drbg_k", k);
    pq3tv_add_hex(o, "handle", p->cert.handle, p->cert.handle_len);
    pq3tv_add_hex(o, "device_id", p->cert.device_id, PQ3_DEVICE_ID_BYTES);
    pq3tv_add_hex(o, "account_priv", p->account.priv, 32);
    pq3tv_add_hex(o, "account_pub", p->account.pub, 33);
    pq3tv_add_hex(o, "device_priv", p->device.priv, 32);
    pq3tv_add_hex(o, "device_pub", p->device.pub, 33);
    for (unsigned i = 0; i < p->cert.n_versions; i++)
        cJSON_AddItemToArray(v, cJSON_CreateNumber(p->cert.versions[i]));
    cJSON_AddItemToObject(o, "versions", v);
    pq3tv_add_u64(o, "cert_created", p->cert.created);
    pq3tv_add_u64(o, "cert_expires", p->cert.expires);
    pq3tv_add_hex(o, "certificate", p->cert_enc, p->cert_len);
    pq3tv_add_hex(o, "sidd_send", s->sidd_send, 48);
    return o;
}

/* The script: who speaks, when, and how. Direction changes at irregular
 * points (a fixed pattern of run lengths), an 8-day gap to trigger the age
 * rule, and a constrained stretch. */
static const int runs[] = { 1, 3, 1, 1, 2, 5, 1, 4, 1, 1, 7, 2, 1, 3, 1, 1, 1, 6, 2, 1 };

typedef struct {
    int alice;
    uint64_t time;
    int constrained;
} script_step;

static void script(script_step st[N_MESSAGES])
{
    int who = 1, run = 0, left = runs[0];
    uint64_t t = FX_T0;
    for (int i = 0; i < N_MESSAGES; i++) {
        if (i > 0 && left == 0) {
            who = !who;
            run = (run + 1) % (int)(sizeof runs / sizeof runs[0]);
            left = runs[run];
        }
        left--;
        t += 37 + (uint64_t)(i * 13 % 300);
        if (i == 120)
            t += 8 * FX_DAY; /* the age trigger */
        st[i].alice = who;
        st[i].time = t;
        st[i].constrained = i >= 60 && i < 100;
    }
}

/* Recomputes a direction change from the states before and after the seal
 * and the recorded randomness (§11.2), independently of session.c; returns
 * the new chain key. */
int pq3tv_recompute_step(const pq3_session *before, const pq3_session *after,
                         const pq3tv_rec_rng *rr, uint8_t ck[32], uint8_t ss_ecdh[32],
                         uint8_t ss_kem[32], int *answered)
{
    pq3_kdf k;
    pq3_iov dst[6];
    uint8_t rk[32], ct[PQ3_MLKEM768_CT_BYTES];
    int answer = (before->flags & PQ3_ST_PEER_OFFER) != 0;
    int ok = 0;

    *answered = answer;
    if (rr->len < 32 || memcmp(rr->buf, after->my_priv, 32) != 0)
        return 0;
    if (pq3_kdf_init(&k) != PQ3_OK)
        return 0;
    if (pq3_ecdh_derive(ss_ecdh, after->my_priv, &before->peer_point) != PQ3_OK)
        goto done;
    if (answer) {
        if (rr->len < 64 ||
            pq3_mlkem768_encaps_derand(ct, ss_kem, before->peer_ek, rr->buf + 32) != PQ3_OK ||
            memcmp(ct, after->chain_ct, sizeof ct) != 0)
            goto done;
    }
    dst[0].p = before->sidd_send;
    dst[0].len = 48;
    dst[1].p = (const uint8_t *)"OpenPQ3 v1 ratchet";
    dst[1].len = 18;
    dst[2].p = before->peer_pub;
    dst[2].len = 32;
    dst[3].p = after->my_pub;
    dst[3].len = 32;
    dst[4].p = ct;
    dst[4].len = sizeof ct;
    dst[5].p = before->peer_ek;
    dst[5].len = sizeof before->peer_ek;
    if (pq3_kdf_root(&k, rk, ck, before->rk, ss_ecdh, answer ? ss_kem : NULL, dst,
                     answer ? 6 : 4) != PQ3_OK)
        goto done;
    ok = memcmp(rk, after->rk, 32) == 0;
done:
    pq3_kdf_free(&k);
    return ok;
}

int pq3tv_begin(pq3tv_conv *c, uint64_t k, cJSON *root)
{
    fx_pair *x = &c->x;
    cJSON *o;

    /* Parties: account key, device key, then (bob) the prekey, all from
     * each party's DRBG (§15, Appendix A.1). */
    if (!fx_party_init(&x->alice, "mailto:alice@example.org", "alice", k) ||
        !fx_party_init(&x->bob, "tel:+15555550123", "bob", k))
        return pq3tv_fail("parties", -1);
    c->rr_b.inner = x->bob.rng;
    c->rr_b.len = 0;
    c->rng_b.ctx = &c->rr_b;
    c->rng_b.fill = pq3tv_rec_fill;
    c->rr_a.inner = x->alice.rng;
    c->rr_a.len = 0;
    c->rng_a.ctx = &c->rr_a;
    c->rng_a.fill = pq3tv_rec_fill;
    if (pq3_prekey_generate(&x->prekey, 7, FX_T0, FX_T0 + 7 * FX_DAY, &x->bob.device_signer,
                            &c->rng_b) != PQ3_OK ||
        pq3_prekey_encode(x->bundle_enc, &x->prekey.bundle) != PQ3_OK ||
        pq3_prekey_verify(&x->bundle, x->bundle_enc, sizeof x->bundle_enc, &x->bob.cert,
                          FX_T0) != PQ3_OK)
        return pq3tv_fail("prekey", -1);
    o = cJSON_CreateObject();
    pq3tv_add_u64(o, "id", x->prekey.bundle.id);
    pq3tv_add_u64(o, "created", x->prekey.bundle.created);
    pq3tv_add_u64(o, "expires", x->prekey.bundle.expires);
    pq3tv_add_hex(o, "rng", c->rr_b.buf, c->rr_b.len);
    pq3tv_add_hex(o, "ecdh_priv", x->prekey.ecdh_priv, 32);
    pq3tv_add_hex(o, "ecdh_pub", x->prekey.bundle.ecdh_pub, 32);
    pq3tv_add_hex(o, "kem_ek", x->prekey.bundle.kem_ek, sizeof x->prekey.bundle.kem_ek);
    pq3tv_add_hex(o, "bundle", x->bundle_enc, sizeof x->bundle_enc);
    pq3tv_add_hex(o, "hash", x->prekey.bundle.hash, 48);
    cJSON_AddItemToObject(root, "prekey", o);

    /* Session start (§10.2), recomputed here from the recorded draws. */
    c->rr_a.len = 0;
    if (pq3_session_start(&x->a, &x->alice.cert, &x->bob.cert, &x->bundle, FX_T0, &c->rng_a) !=
        PQ3_OK)
        return pq3tv_fail("start", -1);
    {
        uint8_t ss_ecdh[32], ss_kem[32], ct0[PQ3_MLKEM1024_CT_BYTES];
        if (pq3_ecdh_derive(ss_ecdh, x->a.my_priv, &x->bundle.ecdh) != PQ3_OK ||
            pq3_mlkem1024_encaps_derand(ct0, ss_kem, x->bundle.kem_ek, c->rr_a.buf + 32) !=
                PQ3_OK ||
            memcmp(ct0, x->a.start_ct, sizeof ct0) != 0)
            return pq3tv_fail("start recomputation", -1);
        o = cJSON_CreateObject();
        pq3tv_add_u64(o, "time", FX_T0);
        pq3tv_add_hex(o, "rng", c->rr_a.buf, c->rr_a.len);
        pq3tv_add_hex(o, "ephemeral_pub", x->a.my_pub, 32);
        pq3tv_add_hex(o, "ct0", ct0, sizeof ct0);
        pq3tv_add_hex(o, "ss_ecdh", ss_ecdh, 32);
        pq3tv_add_hex(o, "ss_kem", ss_kem, 32);
        pq3tv_add_hex(o, "root", x->a.rk, 32);
        pq3tv_add_hex(o, "chain", x->a.cks, 32);
        cJSON_AddItemToObject(root, "start", o);
        pq3_wipe(ss_ecdh, 32);
        pq3_wipe(ss_kem, 32);
    }
    return 1;
}

cJSON *pq3tv_parties_json(const pq3tv_conv *c, uint64_t k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "alice", party_json(&c->x.alice, "alice", k, &c->x.a));
    cJSON_AddItemToObject(o, "bob", party_json(&c->x.bob, "bob", k, &c->x.b));
    return o;
}

char *pq3tv_generate(void)
{
    static pq3tv_conv c; /* large */
    static uint8_t msg[16384], body[16384];
    script_step st[N_MESSAGES];
    cJSON *root = cJSON_CreateObject(), *arr, *o, *snaps;
    int age_step = -1, snap_ct = 0, snap_offer = 0;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    fx_pair *x = &c.x;
    pq3tv_rec_rng *rr_a = &c.rr_a, *rr_b = &c.rr_b;
    pq3_rng *rng_a = &c.rng_a, *rng_b = &c.rng_b;
    pq3_opened info;
    pq3_kdf k;
    char *out = NULL;
    size_t len;
    int ok = 1;

    memset(&c, 0, sizeof c);
    if (pq3_kdf_init(&k) != PQ3_OK)
        return NULL;
    cJSON_AddStringToObject(root, "format", "OpenPQ3 protocol vectors v1");
    o = cJSON_CreateObject();
    pq3tv_add_u64(o, "max_messages", VEC_MAX_MESSAGES);
    pq3tv_add_u64(o, "max_age", VEC_MAX_AGE);
    cJSON_AddItemToObject(root, "policy", o);
    if (!pq3tv_begin(&c, 1, root)) {
        ok = 0;
        goto out;
    }

    script(st);
    arr = cJSON_CreateArray();
    snaps = cJSON_CreateArray();
    for (int i = 0; i < N_MESSAGES && ok; i++) {
        fx_party *from = st[i].alice ? &x->alice : &x->bob;
        pq3_session *ss = st[i].alice ? &x->a : &x->b, *rs = st[i].alice ? &x->b : &x->a;
        pq3tv_rec_rng *rr = st[i].alice ? rr_a : rr_b;
        pq3_rng *rng = st[i].alice ? rng_a : rng_b;
        pq3_session before = *ss;
        int snap = i == 0 || i == 1;

        /* One direction change after the long gap happens exactly at
         * pq_time + max_age, with nothing else triggering an offer: it
         * must offer (§11.3: age >= max_age). Later times shift with it. */
        if (age_step < 0 && i >= 120 && !(ss->flags & (PQ3_ST_SEND | PQ3_ST_MY_OFFER |
                                                       PQ3_ST_PEER_OFFER)) &&
            ss->pq_count < VEC_MAX_MESSAGES && !st[i].constrained &&
            ss->pq_time + VEC_MAX_AGE >= st[i - 1].time) {
            uint64_t t = ss->pq_time + VEC_MAX_AGE;
            for (int j = N_MESSAGES - 1; j >= i; j--)
                st[j].time = st[j].time - st[i].time + t;
            age_step = i;
            snap = 1;
        }
        char text[160], ad[32];
        size_t tlen, adlen = 0;
        uint8_t ck[32], mk[32], xk[48], mki[16], ss_ecdh[32], ss_kem[32];
        int dc = !(ss->flags & PQ3_ST_SEND), answered = 0;
        const char *kem;

        tlen = (size_t)snprintf(text, sizeof text, "%s #%d: %.*s", st[i].alice ? "alice" : "bob",
                                i, i % 97, "the quick brown fox jumps over the lazy dog, "
                                           "pack my box with five dozen liquor jugs; sphinx of "
                                           "black quartz, judge my vow");
        if (i % 7 == 3)
            adlen = (size_t)snprintf(ad, sizeof ad, "ad:%d", i);
        pol.max_messages = VEC_MAX_MESSAGES;
        pol.max_age = VEC_MAX_AGE;
        pol.constrained = (uint8_t)st[i].constrained;
        rr->len = 0;
        if (pq3_session_seal(ss, &from->device_signer, &pol, st[i].time, rng,
                             PQ3_CONTENT_MESSAGE, (const uint8_t *)text, tlen,
                             (const uint8_t *)ad, adlen, msg, sizeof msg, &len) != PQ3_OK) {
            ok = pq3tv_fail("seal", i);
            break;
        }
        if (i == 0) {
            if (pq3_session_accept(rs, &x->bob.cert, &x->alice.cert, &x->prekey, st[i].time, msg,
                                   len, body, sizeof body, &info) != PQ3_OK) {
                ok = pq3tv_fail("accept", i);
                break;
            }
        } else if (pq3_session_open(rs, st[i].time, msg, len, body, sizeof body, &info) !=
                   PQ3_OK) {
            ok = pq3tv_fail("open", i);
            break;
        }
        if (info.body_len != tlen || memcmp(body, text, tlen) != 0 || info.ad_len != adlen ||
            memcmp(ss->rk, rs->rk, 32) != 0 || memcmp(ss->cks, rs->ckr, 32) != 0) {
            ok = pq3tv_fail("the two sides disagree", i);
            break;
        }
        /* The chain key this message came from. */
        if (dc) {
            if (!pq3tv_recompute_step(&before, ss, rr, ck, ss_ecdh, ss_kem, &answered)) {
                ok = pq3tv_fail("direction change recomputation", i);
                break;
            }
        } else {
            memcpy(ck, before.cks, 32);
        }
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "step", i);
        cJSON_AddStringToObject(o, "sender", st[i].alice ? "alice" : "bob");
        pq3tv_add_u64(o, "time", st[i].time);
        cJSON_AddBoolToObject(o, "constrained", st[i].constrained);
        cJSON_AddNumberToObject(o, "content_type", 1);
        pq3tv_add_hex(o, "plaintext", (const uint8_t *)text, tlen);
        pq3tv_add_hex(o, "ad", (const uint8_t *)ad, adlen);
        pq3tv_add_hex(o, "rng", rr->buf, rr->len);
        cJSON_AddBoolToObject(o, "direction_change", dc);
        kem = (msg[2] & PQ3_MSG_CT) && dc ? ((msg[2] & PQ3_MSG_EK) ? "answer+offer" : "answer")
              : (msg[2] & PQ3_MSG_EK) && dc ? "offer"
                                            : "";
        cJSON_AddStringToObject(o, "kem", kem);
        cJSON_AddNumberToObject(o, "flags", msg[2]);
        pq3tv_add_hex(o, "wire", msg, len);
        pq3tv_add_hex(o, "ss_ecdh", ss_ecdh, dc ? 32 : 0);
        pq3tv_add_hex(o, "ss_kem", ss_kem, dc && answered ? 32 : 0);
        pq3tv_add_hex(o, "root", ss->rk, 32);
        pq3tv_add_hex(o, "chain_before", ck, 32);
        if (pq3_kdf_chain(&k, mk, ck) != PQ3_OK || pq3_kdf_message(&k, xk, mki, mk) != PQ3_OK ||
            memcmp(ck, ss->cks, 32) != 0) {
            ok = pq3tv_fail("chain step", i);
            cJSON_Delete(o);
            break;
        }
        pq3tv_add_hex(o, "chain_after", ck, 32);
        pq3tv_add_hex(o, "message_key", mk, 32);
        pq3tv_add_hex(o, "mki", mki, 16);
        pq3tv_add_hex(o, "aes_key", xk + 16, 32);
        pq3tv_add_hex(o, "aes_iv", xk, 16);
        cJSON_AddItemToArray(arr, o);
        (void)answered;
        /* State snapshots (A.7): the start, the first direction change,
         * the first stored offer, the first repeated CT and the exact-age
         * step. */
        if (!snap_ct && (msg[2] & PQ3_MSG_CT) && !dc)
            snap = snap_ct = 1;
        if (!snap_offer && (rs->flags & PQ3_ST_PEER_OFFER))
            snap = snap_offer = 1;
        if (snap) {
            size_t la, lb;
            uint8_t *sa = fx_state(&x->a, &la), *sb;
            cJSON *so = cJSON_CreateObject();
            sb = fx_state(&x->b, &lb);
            cJSON_AddNumberToObject(so, "step", i);
            if (sa == NULL || sb == NULL)
                ok = pq3tv_fail("snapshot", i);
            else {
                pq3tv_add_hex(so, "alice", sa, la);
                pq3tv_add_hex(so, "bob", sb, lb);
            }
            free(sa);
            free(sb);
            cJSON_AddItemToArray(snaps, so);
        }
        if (age_step == i && !(msg[2] & PQ3_MSG_EK))
            ok = pq3tv_fail("the exact-age step did not offer", i);
    }
    if (age_step < 0)
        ok = pq3tv_fail("no exact-age step", -1);
    cJSON_AddItemToObject(root, "messages", arr);
    cJSON_AddItemToObject(root, "snapshots", snaps);
    if (!ok)
        goto out;
    o = cJSON_CreateObject();
    {
        uint8_t *sa, *sb;
        size_t la, lb;
        sa = fx_state(&x->a, &la);
        sb = fx_state(&x->b, &lb);
        if (sa == NULL || sb == NULL) {
            ok = pq3tv_fail("final states", N_MESSAGES);
        } else {
            pq3tv_add_hex(o, "alice", sa, la);
            pq3tv_add_hex(o, "bob", sb, lb);
        }
        free(sa);
        free(sb);
    }
    cJSON_AddItemToObject(root, "final_states", o);
    /* Parties last: sidd needs the sessions. */
    cJSON_AddItemToObject(root, "parties", pq3tv_parties_json(&c, 1));

out:
    if (ok)
        out = cJSON_Print(root);
    cJSON_Delete(root);
    pq3_kdf_free(&k);
    pq3_session_wipe(&x->a);
    pq3_session_wipe(&x->b);
    return out;
}
