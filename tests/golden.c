/*
 * The golden-blob scenario (tests/golden.h, tests/vectors/golden/README.md).
 *
 * alice starts a session with bob and sends three START messages (bob
 * never receives the second); bob offers an ML-KEM key on a chain whose
 * first message alice gets late, so her next chain offers rather than
 * answers; bob gets that chain out of order, takes alice's offer from its
 * late first message, and answers it with a receipt that offers his
 * unanswered key again (CT and EK at once); alice opens bob's chain out of
 * order too. Every ratchet step is checked as it happens. Then alice
 * starts a second session against the same prekey, and finally both
 * devices start sessions at once through their peer containers.
 */
#include "golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol_fixture.h"

#define GMSG 8192

typedef struct {
    uint8_t m[GMSG];
    size_t len;
} gwire;

typedef struct {
    fx_party alice, bob;
    pq3_prekey_secret apre, bpre;
    pq3_prekey_bundle abundle, bbundle; /* as the other side verified them */
    pq3_session a, b, a2, b2;
    pq3_skipped ska;
    pq3_start_cache acache;
    pq3_peer ap;
    gwire w[16];
    uint8_t body[GMSG];
} scene;

static int bad(const char *what)
{
    fprintf(stderr, "golden scenario: %s\n", what);
    return 0;
}

static int prekey(fx_party *p, uint32_t id, pq3_prekey_secret *sec, pq3_prekey_bundle *verified)
{
    uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES];
    return pq3_prekey_generate(sec, id, FX_T0, FX_T0 + 7 * FX_DAY, &p->device_signer,
                               &p->rng) == PQ3_OK &&
           pq3_prekey_encode(enc, &sec->bundle) == PQ3_OK &&
           pq3_prekey_verify(verified, enc, sizeof enc, &p->cert, FX_T0) == PQ3_OK;
}

static int seal(fx_party *p, pq3_session *s, const pq3_rekey_policy *pol, uint64_t now,
                const char *text, gwire *out)
{
    return pq3_session_seal(s, &p->device_signer, pol, now, &p->rng, PQ3_CONTENT_MESSAGE,
                            (const uint8_t *)text, strlen(text), NULL, 0, out->m, sizeof out->m,
                            &out->len) == PQ3_OK;
}

/* Opens and checks the body (text NULL: a receipt) and what the open
 * reports. */
static int open_msg(scene *c, pq3_session *s, pq3_skipped *sk, uint64_t now, const gwire *in,
                    const char *text, int late, uint32_t stored)
{
    pq3_opened info;
    if (pq3_session_open_ex(s, sk, now, in->m, in->len, c->body, sizeof c->body, &info) !=
        PQ3_OK)
        return 0;
    if (text == NULL ? info.content_type != PQ3_CONTENT_RECEIPT
                     : (info.content_type != PQ3_CONTENT_MESSAGE ||
                        info.body_len != strlen(text) || memcmp(c->body, text, info.body_len) != 0))
        return 0;
    return info.late == late && info.keys_stored == stored;
}

static int flags_are(const pq3_session *s, unsigned flags, unsigned send_ext, unsigned recv_ext)
{
    return s->flags == flags && s->send_ext == send_ext && s->recv_ext == recv_ext;
}

/* The session-level conversation: sessions a..d, bob's store and cache. */
static int conversation(scene *c, pq3tg_world *w)
{
    pq3_rekey_policy offer = pq3_rekey_policy_default();
    pq3_opened info;
    gwire *A = c->w, *B = c->w + 10;
    uint64_t t = FX_T0;
    uint8_t rk[32];
    uint32_t next, missing;

    offer.max_messages = 0; /* every direction change without an offer out makes one */
    if (pq3_skipped_init(&c->ska, 64, 256, 30 * FX_DAY) != PQ3_OK ||
        pq3_skipped_init(w->store, 64, 256, 30 * FX_DAY) != PQ3_OK ||
        pq3_start_cache_init(w->cache, c->bpre.bundle.hash, 64) != PQ3_OK)
        return bad("stores");

    /* alice's first chain: three START messages */
    if (pq3_session_start(&c->a, &c->alice.cert, &c->bob.cert, &c->bbundle, t,
                          &c->alice.rng) != PQ3_OK ||
        !seal(&c->alice, &c->a, NULL, t + 1, "a0", &A[0]) ||
        !seal(&c->alice, &c->a, NULL, t + 2, "a1", &A[1]) ||
        !seal(&c->alice, &c->a, NULL, t + 3, "a2", &A[2]))
        return bad("alice's first chain");
    if (!flags_are(&c->a, PQ3_ST_SEND | PQ3_ST_INITIATOR, PQ3_MSG_START, 0) || c->a.ns != 3)
        return bad("session c");
    w->sess[2] = c->a;

    /* bob accepts a0, then a2 (a1's key is kept) */
    if (pq3_session_accept_ex(&c->b, w->store, w->cache, &c->bob.cert, &c->alice.cert,
                              &c->bpre, t + 10, A[0].m, A[0].len, c->body, sizeof c->body,
                              &info) != PQ3_OK ||
        !open_msg(c, &c->b, w->store, t + 11, &A[2], "a2", 0, 1))
        return bad("bob accepts");

    /* bob's chain offers (b0 carries EK), alice gets b1 first */
    if (!seal(&c->bob, &c->b, &offer, t + 20, "b0", &B[0]) ||
        !seal(&c->bob, &c->b, &offer, t + 21, "b1", &B[1]) || B[0].m[2] != PQ3_MSG_EK ||
        !open_msg(c, &c->a, &c->ska, t + 30, &B[1], "b1", 0, 1) ||
        (c->a.flags & PQ3_ST_PEER_OFFER))
        return bad("bob's offer");

    /* alice's second chain: no offer to answer, so it offers her own */
    if (!seal(&c->alice, &c->a, &offer, t + 40, "a3", &A[3]) ||
        !seal(&c->alice, &c->a, &offer, t + 41, "a4", &A[4]) ||
        !seal(&c->alice, &c->a, &offer, t + 42, "a5", &A[5]) ||
        !seal(&c->alice, &c->a, &offer, t + 43, "a6", &A[6]) ||
        !seal(&c->alice, &c->a, &offer, t + 44, "a7", &A[7]) ||
        !seal(&c->alice, &c->a, &offer, t + 45, "a8", &A[8]) ||
        !seal(&c->alice, &c->a, &offer, t + 46, "a9", &A[9]) || A[3].m[2] != PQ3_MSG_EK)
        return bad("alice's second chain");

    /* bob: a4 first (a3 kept), then a3 late (its EK is taken), then a6 and
     * a9 (a5, a7, a8 kept) */
    if (!open_msg(c, &c->b, w->store, t + 50, &A[4], "a4", 0, 1) ||
        (c->b.flags & PQ3_ST_PEER_OFFER) ||
        !open_msg(c, &c->b, w->store, t + 51, &A[3], "a3", 1, 0) ||
        !(c->b.flags & PQ3_ST_PEER_OFFER) ||
        !open_msg(c, &c->b, w->store, t + 52, &A[6], "a6", 0, 1) ||
        !open_msg(c, &c->b, w->store, t + 53, &A[9], "a9", 0, 2))
        return bad("bob opens alice's second chain");
    if (!flags_are(&c->b,
                   PQ3_ST_RECV | PQ3_ST_MY_OFFER | PQ3_ST_PEER_OFFER | PQ3_ST_RECV2 |
                       PQ3_ST_PEER_APP,
                   0, 0) ||
        c->b.prev_peer_count != 1 || w->store->count != 4)
        return bad("session b");
    w->sess[1] = c->b;

    /* alice gets b0 late: she has answered bob's chain already (she sends
     * on a newer one), so its EK is not taken */
    if (!open_msg(c, &c->a, &c->ska, t + 60, &B[0], "b0", 1, 0) ||
        (c->a.flags & PQ3_ST_PEER_OFFER))
        return bad("alice opens b0 late");

    /* bob's receipt answers alice's offer and repeats his own: CT|EK */
    if (!pq3_session_receipt_due(&c->b, NULL, t + 70) ||
        pq3_session_seal_receipt(&c->b, w->store, &c->bob.device_signer, NULL, t + 70,
                                 &c->bob.rng, B[2].m, sizeof B[2].m, &B[2].len) != PQ3_OK ||
        !seal(&c->bob, &c->b, NULL, t + 71, "b3", &B[3]) ||
        B[2].m[2] != (PQ3_MSG_CT | PQ3_MSG_EK) || B[3].m[2] != PQ3_MSG_CT)
        return bad("bob's receipt");
    if (!flags_are(&c->b,
                   PQ3_ST_SEND | PQ3_ST_RECV | PQ3_ST_MY_OFFER | PQ3_ST_RECV2 | PQ3_ST_PEER_APP,
                   PQ3_MSG_CT | PQ3_MSG_EK, 0) ||
        c->b.last_receipt != t + 70 || c->b.ns != 2)
        return bad("session a");
    w->sess[0] = c->b;

    /* alice: b3 first (the CT completes her offer), then the receipt late
     * (its EK is taken: she has not answered this chain) */
    if (!open_msg(c, &c->a, &c->ska, t + 80, &B[3], "b3", 0, 1) ||
        (c->a.flags & PQ3_ST_MY_OFFER) ||
        !open_msg(c, &c->a, &c->ska, t + 81, &B[2], NULL, 1, 0) ||
        pq3_receipt_parse(c->body, PQ3_RECEIPT_BODY_BYTES, rk, &next, &missing) != PQ3_OK ||
        memcmp(rk, A[3].m + 3, 32) != 0 || next != 7 || missing != 3)
        return bad("alice opens bob's receipt");
    if (!flags_are(&c->a,
                   PQ3_ST_RECV | PQ3_ST_PEER_OFFER | PQ3_ST_INITIATOR | PQ3_ST_RECV2 |
                       PQ3_ST_PEER_APP,
                   0, PQ3_MSG_CT) ||
        c->a.prev_peer_count != 1 || c->ska.count != 0)
        return bad("session d");
    w->sess[3] = c->a;

    /* two more starts against bob's prekey fill the cache */
    for (int i = 0; i < 2; i++) {
        if (pq3_session_start(&c->a2, &c->alice.cert, &c->bob.cert, &c->bbundle, t + 90,
                              &c->alice.rng) != PQ3_OK ||
            !seal(&c->alice, &c->a2, NULL, t + 90, "again", &A[0]) ||
            pq3_session_accept_ex(&c->b2, NULL, w->cache, &c->bob.cert, &c->alice.cert,
                                  &c->bpre, t + 91, A[0].m, A[0].len, c->body, sizeof c->body,
                                  &info) != PQ3_OK)
            return bad("more starts");
    }
    if (w->cache->count != 3)
        return bad("start cache");
    return 1;
}

static int peer_seal(fx_party *p, pq3_peer *pp, uint64_t now, const char *text, gwire *out)
{
    return pq3_peer_seal(pp, &p->device_signer, NULL, now, &p->rng, PQ3_CONTENT_MESSAGE,
                         (const uint8_t *)text, strlen(text), NULL, 0, out->m, sizeof out->m,
                         &out->len, NULL) == PQ3_OK;
}

static int peer_open(scene *c, pq3_peer *pp, fx_party *me, const pq3_device_cert *other,
                     const pq3_prekey_secret *pre, uint64_t now, const gwire *in)
{
    pq3_opened info;
    return pq3_peer_open(pp, &me->cert, other, pre, NULL, now, in->m, in->len, c->body,
                         sizeof c->body, &info, NULL) == PQ3_OK;
}

/* Both devices start at once through their containers; bob ends with two
 * sessions and the key of a message he never received. */
static int containers(scene *c, pq3tg_world *w)
{
    gwire *X = c->w, *Y = c->w + 10;
    uint64_t t = FX_T0 + FX_DAY;

    pq3_peer_init_default(&c->ap);
    pq3_peer_init_default(w->peer);
    if (pq3_peer_start(&c->ap, &c->alice.cert, &c->bob.cert, &c->bbundle, t,
                       &c->alice.rng) != PQ3_OK ||
        !peer_seal(&c->alice, &c->ap, t, "x0", &X[0]) ||
        !peer_seal(&c->alice, &c->ap, t + 1, "x1", &X[1]) ||
        !peer_seal(&c->alice, &c->ap, t + 2, "x2", &X[2]))
        return bad("alice's container");
    if (pq3_peer_start(w->peer, &c->bob.cert, &c->alice.cert, &c->abundle, t + 3,
                       &c->bob.rng) != PQ3_OK ||
        !peer_seal(&c->bob, w->peer, t + 3, "y0", &Y[0]))
        return bad("bob's container");
    if (!peer_open(c, w->peer, &c->bob, &c->alice.cert, &c->bpre, t + 10, &X[0]) ||
        !peer_open(c, w->peer, &c->bob, &c->alice.cert, &c->bpre, t + 11, &X[2]) ||
        !peer_open(c, &c->ap, &c->alice, &c->bob.cert, &c->apre, t + 12, &Y[0]))
        return bad("the starts cross");
    if (w->peer->count != 2 || c->ap.count != 2 || w->peer->store.count != 1)
        return bad("containers");
    return 1;
}

int pq3tg_build(pq3tg_world *w)
{
    scene *c = calloc(1, sizeof *c);
    int ok = 0;

    memset(w, 0, sizeof *w);
    w->store = calloc(1, sizeof *w->store);
    w->cache = calloc(1, sizeof *w->cache);
    w->peer = calloc(1, sizeof *w->peer);
    if (c == NULL || w->store == NULL || w->cache == NULL || w->peer == NULL) {
        bad("out of memory");
        goto out;
    }
    if (!fx_party_init(&c->alice, PQ3TG_ALICE, "alice", PQ3TG_K) ||
        !fx_party_init(&c->bob, PQ3TG_BOB, "bob", PQ3TG_K) ||
        !prekey(&c->bob, 7, &c->bpre, &c->bbundle) ||
        !prekey(&c->alice, 8, &c->apre, &c->abundle)) {
        bad("parties");
        goto out;
    }
    ok = conversation(c, w) && containers(c, w);
out:
    if (c != NULL) {
        pq3_session_wipe(&c->a);
        pq3_session_wipe(&c->b);
        pq3_session_wipe(&c->a2);
        pq3_session_wipe(&c->b2);
        pq3_skipped_wipe(&c->ska);
        pq3_peer_wipe(&c->ap);
        pq3_wipe(c, sizeof *c);
        free(c);
    }
    return ok;
}

void pq3tg_free(pq3tg_world *w)
{
    for (int i = 0; i < PQ3TG_SESSIONS; i++)
        pq3_session_wipe(&w->sess[i]);
    pq3_skipped_wipe(w->store);
    pq3_peer_wipe(w->peer);
    free(w->store);
    free(w->cache);
    free(w->peer);
    memset(w, 0, sizeof *w);
}

/* The current formats' file names (README.md). */
static const char *const names[PQ3TG_BLOBS] = {
    "session-v4-a.hex", "session-v4-b.hex",   "session-v4-c.hex",   "session-v4-d.hex",
    "skipped-v2.hex",   "start-cache-v1.hex", "peer-v2.hex",
};

int pq3tg_blobs(const pq3tg_world *w, pq3tg_blob out[PQ3TG_BLOBS])
{
    int ok = 1;
    memset(out, 0, PQ3TG_BLOBS * sizeof out[0]);
    for (int i = 0; i < PQ3TG_BLOBS; i++) {
        size_t cap = i < PQ3TG_SESSIONS ? PQ3_STATE_MAX_BYTES : PQ3_PEER_MAX_BYTES;
        pq3_err err;
        out[i].name = names[i];
        out[i].bytes = malloc(cap);
        if (out[i].bytes == NULL)
            return 0;
        if (i < PQ3TG_SESSIONS)
            err = pq3_session_serialize(&w->sess[i], out[i].bytes, cap, &out[i].len);
        else if (i == PQ3TG_SESSIONS)
            err = pq3_skipped_serialize(w->store, out[i].bytes, cap, &out[i].len);
        else if (i == PQ3TG_SESSIONS + 1)
            err = pq3_start_cache_serialize(w->cache, out[i].bytes, cap, &out[i].len);
        else
            err = pq3_peer_serialize(w->peer, out[i].bytes, cap, &out[i].len);
        if (err != PQ3_OK) {
            fprintf(stderr, "golden: %s does not serialize (%s)\n", names[i], pq3_strerror(err));
            ok = 0;
        }
    }
    return ok;
}

void pq3tg_blobs_free(pq3tg_blob b[PQ3TG_BLOBS])
{
    for (int i = 0; i < PQ3TG_BLOBS; i++) {
        if (b[i].bytes != NULL)
            pq3_wipe(b[i].bytes, b[i].len);
        free(b[i].bytes);
        b[i].bytes = NULL;
    }
}

char *pq3tg_hex_lines(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * n + n / 32 + 2), *o = s;
    if (s == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        *o++ = digits[p[i] >> 4];
        *o++ = digits[p[i] & 15];
        if (i % 32 == 31 || i + 1 == n)
            *o++ = '\n';
    }
    *o = '\0';
    return s;
}

uint8_t *pq3tg_unhex_lines(const char *text, size_t *len)
{
    size_t n = strlen(text), k = 0;
    char *digits = malloc(n + 1);
    uint8_t *out;
    if (digits == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (text[i] != '\n' && text[i] != ' ' && text[i] != '\r' && text[i] != '\t')
            digits[k++] = text[i];
    digits[k] = '\0';
    out = k > 0 ? pq3t_unhex(digits, len) : NULL;
    free(digits);
    return out;
}
