/*
 * The network simulator (tests/sim.h, docs/NETWORK.md).
 *
 * One slot = one sealed message. Each slot the simulator first delivers
 * every copy due by then (in order of due slot, then of sending), then
 * picks a link and seals one message from that link's current sender.
 * A message sent in slot t is dropped with probability `loss`, else
 * arrives in slot t + 1 + U[0, W]; with probability `dup` a second copy
 * arrives U[0, dup_delay] slots after the first.
 *
 * Each side of a link is one peer device container (pq3_peer, §10.6):
 * application messages are sealed with pq3_peer_seal, receipts on the
 * session it sends on (pq3_peer_current), everything is opened with
 * pq3_peer_open, with the receiver's prekey and its start cache.
 *
 * Healing (docs/NETWORK.md, "Healing") follows the attacker's knowledge
 * through the chain log, which is built only from public events: the
 * ratchet key and flags of each sealed message (pq3_message_peek), the
 * session id the container reports, and pq3_opened's new_chain /
 * kem_offered / kem_completed. A capture is the victim's serialized
 * container; the copy loaded from it (pq3_peer_deserialize), driven like
 * the victim, checks the classical model with real decryption.
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#include "sim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pq3/crypto.h"
#include "pq3/identity.h"
#include "pq3/peer.h"
#include "pq3/prekey.h"

#define SIM_T0 1700000000u
#define SIM_DAY 86400u
#define SIM_MAX_DEVICES 3
#define SIM_MAX_LINKS (SIM_MAX_DEVICES - 1)
#define SIM_MAX_CAPTURES 8
#define SIM_BUF 16384
#define SIM_BODY_MAX 4096
#define SIM_EXT_EK PQ3_MLKEM768_EK_BYTES
#define SIM_EXT_CT PQ3_MLKEM768_CT_BYTES
/* §9.1: the ratchet header extension starts after version, type, flags,
 * ratchet key, index and previous chain length; START is 48 + 1568 bytes */
#define SIM_EXT_OFFSET 43
#define SIM_START_BYTES (48 + PQ3_MLKEM1024_CT_BYTES)
#define SIM_KEM_SEEN 64
/* sessions followed per side (a container holds at most 4, §18) */
#define SIM_TRACKS 8

/* ---- deterministic sources -------------------------------------------- */

/* The devices' pq3_rng: SHA-384(key || counter) blocks. Reproducible, not a
 * production generator. */
typedef struct {
    uint8_t key[48];
    uint64_t ctr;
    uint8_t buf[48];
    size_t used;
} sim_drbg;

static pq3_err drbg_fill(void *ctx, uint8_t *out, size_t len)
{
    sim_drbg *d = ctx;
    while (len > 0) {
        if (d->used == sizeof d->buf) {
            uint8_t in[56];
            memcpy(in, d->key, 48);
            for (int i = 0; i < 8; i++)
                in[48 + i] = (uint8_t)(d->ctr >> (56 - 8 * i));
            d->ctr++;
            if (pq3_sha384(d->buf, in, sizeof in) != PQ3_OK)
                return PQ3_ERR_RNG;
            d->used = 0;
        }
        size_t n = sizeof d->buf - d->used;
        if (n > len)
            n = len;
        memcpy(out, d->buf + d->used, n);
        d->used += n;
        out += n;
        len -= n;
    }
    return PQ3_OK;
}

static pq3_err drbg_init(sim_drbg *d, pq3_rng *rng, const char *label, uint64_t seed)
{
    uint8_t in[80];
    size_t n = strlen(label);
    memset(d, 0, sizeof *d);
    if (n > 64)
        n = 64;
    memcpy(in, label, n);
    for (int i = 0; i < 8; i++)
        in[n + (size_t)i] = (uint8_t)(seed >> (56 - 8 * i));
    d->used = sizeof d->buf;
    rng->ctx = d;
    rng->fill = drbg_fill;
    return pq3_sha384(d->key, in, n + 8);
}

/* The network's and the users' choices: splitmix64. */
static uint64_t rnd64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double rnd01(uint64_t *s)
{
    return (double)(rnd64(s) >> 11) * (1.0 / 9007199254740992.0);
}

static unsigned rndn(uint64_t *s, unsigned n)
{
    return n == 0 ? 0 : (unsigned)(rnd64(s) % n);
}

/* ---- the simulated world ---------------------------------------------- */

typedef struct {
    sim_drbg drbg;
    pq3_rng rng;
    pq3_soft_key account, device;
    pq3_signer account_signer, device_signer;
    pq3_device_cert cert;
} sim_device;

/* One chain of a link, in creation order (chains alternate, §11.1). */
typedef struct {
    uint8_t key[32];
    uint8_t sid[32];     /* the session it belongs to (§10.5) */
    uint8_t creator;     /* side 0 or 1 */
    uint8_t flags;       /* START/EK/CT of its first message */
    int64_t prev;        /* the chain of the receiver's ratchet key it was made against
                          * (§11.2; -1: a session start, made against the prekey) */
    int64_t answers;     /* CT: the chain whose offered ek it answers, else -1 */
    uint64_t first_seq;  /* link sequence number of its first message */
} sim_chain;

/* What one side follows of one of its sessions, from public events. */
typedef struct {
    int used;
    uint8_t sid[32];          /* session id (§10.5) */
    uint64_t last_use;
    uint64_t sealed;          /* messages sealed on it */
    int has_key;
    int64_t last_own_chain;   /* the chain of our current ratchet key */
    int64_t own_offer_chain;  /* the chain that offered our outstanding ek */
    int64_t peer_offer_chain; /* the chain that offered the peer's ek we hold */
    int64_t rk_prefix;        /* chains folded into our root key */
    int peer_chain_app;       /* the peer's newest chain carried an application message */
} sim_track;

typedef struct {
    pq3_peer *p;              /* our container for the peer device (heap: ~200 KB) */
    unsigned dev;
    pq3_prekey_secret *prekey;/* ours, for the peer's start (NULL: we only start) */
    pq3_start_cache *cache;   /* its replay cache (§10.4) */
    sim_track trk[SIM_TRACKS];
    uint64_t uses;
} sim_side;

/* A state compromise of one side, followed until it heals. */
typedef struct {
    int active;
    unsigned victim;
    uint64_t seq;         /* link messages sealed before the capture */
    int64_t known_key;    /* chain whose ratchet scalar the attacker holds, or -1 */
    int64_t known_dk;     /* chain whose offered dk the attacker holds, or -1 */
    int64_t next_chain;   /* next chain to fold into the attacker's root key */
    int rk_c, rk_q;       /* the classical / quantum attacker still knows the root key */
    int64_t heal_c_chain; /* first chain the classical attacker cannot derive */
    int real_active;      /* the captured copy still follows the victim */
    uint8_t sid[32];      /* the captured session */
    pq3_peer *copy;       /* the capture, loaded (heap) */
} sim_capture;

typedef struct {
    sim_side side[2];
    sim_chain *chains;
    size_t n_chains, cap_chains;
    uint64_t seq;         /* messages sealed on this link */
    unsigned dir;         /* current sender */
    unsigned run;         /* messages in the current turn */
    uint64_t next_capture;
    unsigned n_captures;
    sim_capture cap[SIM_MAX_CAPTURES];
    /* the last KEM payloads (ek, ct) sent on this link, by their first 32
     * bytes, to tell a re-send from a new one */
    uint8_t kem_seen[SIM_KEM_SEEN][32];
    unsigned kem_seen_next;
} sim_link;

typedef struct {
    uint64_t due, order, id;
    unsigned link, from;
    int is_copy;
    uint8_t *msg;
    size_t len;
} sim_packet;

/* Message ledger: a state, and a bit for receipts. */
enum { M_NONE = 0, M_LOST = 1, M_ARRIVED = 2, M_OPENED = 3, M_STATE = 0x7f, M_RECEIPT = 0x80 };

typedef struct {
    const sim_config *cfg;
    sim_stats *st;
    uint64_t net;
    sim_device dev[SIM_MAX_DEVICES];
    sim_link link[SIM_MAX_LINKS];
    unsigned n_links;
    sim_packet *q;
    size_t nq, capq;
    uint64_t order, slot;
    uint8_t *ledger;
    size_t ledger_cap;
    uint64_t next_id;
    int counting;         /* 1 in the main phase: seals count as `sent` */
    sim_drbg attacker_drbg;
    pq3_rng attacker_rng;
    uint8_t msg[SIM_BUF], body[SIM_BUF], body2[SIM_BUF], plain[SIM_BODY_MAX];
    uint8_t state_buf[PQ3_STATE_MAX_BYTES];
    uint8_t *capture_buf; /* a serialized container (PQ3_PEER_MAX_BYTES) */
} sim;

static uint64_t sim_now(const sim *w)
{
    return SIM_T0 + w->slot * w->cfg->step_seconds;
}

static void note(char *dst, size_t cap, const char *what, uint64_t slot, pq3_err err)
{
    if (dst[0] == '\0')
        snprintf(dst, cap, "%s at slot %llu: %s", what, (unsigned long long)slot,
                 pq3_strerror(err));
}

static pq3_err device_init(sim_device *d, const char *handle, const char *label, uint64_t seed)
{
    pq3_err err;
    uint8_t enc[PQ3_CERT_MAX_BYTES];
    size_t enc_len;

    if ((err = drbg_init(&d->drbg, &d->rng, label, seed)) != PQ3_OK ||
        (err = pq3_soft_key_generate(&d->account, &d->rng)) != PQ3_OK ||
        (err = pq3_soft_key_generate(&d->device, &d->rng)) != PQ3_OK ||
        (err = pq3_soft_signer(&d->account_signer, &d->account)) != PQ3_OK ||
        (err = pq3_soft_signer(&d->device_signer, &d->device)) != PQ3_OK)
        return err;
    memset(&d->cert, 0, sizeof d->cert);
    d->cert.handle_len = (uint8_t)strlen(handle);
    memcpy(d->cert.handle, handle, d->cert.handle_len);
    for (int i = 0; i < PQ3_DEVICE_ID_BYTES; i++)
        d->cert.device_id[i] = (uint8_t)(label[0] + i);
    memcpy(d->cert.auth_pub, d->device.pub, PQ3_ECDSA_PUB_BYTES);
    d->cert.versions[0] = 1;
    d->cert.n_versions = 1;
    d->cert.created = SIM_T0 - SIM_DAY;
    d->cert.expires = SIM_T0 + 3650 * (uint64_t)SIM_DAY;
    if ((err = pq3_cert_issue(enc, sizeof enc, &enc_len, &d->cert, &d->account_signer)) != PQ3_OK)
        return err;
    return pq3_cert_verify(&d->cert, enc, enc_len, d->account.pub, SIM_T0);
}

static void device_wipe(sim_device *d)
{
    pq3_soft_key_wipe(&d->account);
    pq3_soft_key_wipe(&d->device);
    pq3_wipe(d, sizeof *d);
}

/* ---- the ledger of sealed messages -------------------------------------- */

static int ledger_grow(sim *w, uint64_t id)
{
    if (id < w->ledger_cap)
        return 1;
    size_t n = w->ledger_cap ? w->ledger_cap * 2 : 4096;
    while (n <= id)
        n *= 2;
    uint8_t *p = realloc(w->ledger, n);
    if (p == NULL)
        return 0;
    memset(p + w->ledger_cap, 0, n - w->ledger_cap);
    w->ledger = p;
    w->ledger_cap = n;
    return 1;
}

/* A body names its message: id (8 bytes), length (4), then bytes derived
 * from the id, so a receiver can tell exactly what it decrypted. */
static void make_body(uint8_t *b, size_t len, uint64_t id)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(id * 131u + i * 7u + (i >> 8));
    for (int i = 0; i < 8 && (size_t)i < len; i++)
        b[i] = (uint8_t)(id >> (8 * i));
    for (int i = 0; i < 4 && (size_t)(8 + i) < len; i++)
        b[8 + i] = (uint8_t)(len >> (8 * i));
}

static int check_body(const uint8_t *b, size_t len, uint64_t id, uint8_t *scratch)
{
    if (len < 12 || len > SIM_BODY_MAX)
        return 0;
    make_body(scratch, len, id);
    return memcmp(scratch, b, len) == 0;
}

/* ---- the library calls ---------------------------------------------------- */

/* The slot of the session the container sends on, -1 when it holds none
 * (pq3_peer_current). */
static int current_slot(const pq3_peer *p)
{
    uint32_t slot;
    return pq3_peer_current(p, &slot) == PQ3_OK ? (int)slot : -1;
}

/* The slot of the session with this id, -1 when absent (pq3_peer_find). */
static int find_slot(const pq3_peer *p, const uint8_t sid[32])
{
    uint32_t slot;
    return pq3_peer_find(p, sid, &slot) == PQ3_OK ? (int)slot : -1;
}

/* The container's serialized size, 0 when it breaks its rules
 * (pq3_peer_size). */
static size_t peer_size(const pq3_peer *p)
{
    size_t n = 0;
    return pq3_peer_size(p, &n) == PQ3_OK ? n : 0;
}

static pq3_peer *peer_new(const sim_config *cfg)
{
    pq3_peer *p = malloc(sizeof *p);
    if (p != NULL && cfg->max_jump > 0) {
        if (pq3_peer_init(p, cfg->max_jump, cfg->max_keys, PQ3_SKIPPED_DEFAULT_AGE) != PQ3_OK) {
            free(p);
            return NULL;
        }
    } else if (p != NULL) {
        pq3_peer_init_default(p);
    }
    return p;
}

static void peer_free(pq3_peer *p)
{
    if (p == NULL)
        return;
    pq3_peer_wipe(p);
    free(p);
}

static int receipt_due(const pq3_peer *p, const pq3_rekey_policy *policy, uint64_t now)
{
    int slot = current_slot(p);
    return slot >= 0 && pq3_session_receipt_due(&p->slots[slot].session, policy, now);
}

/* Seals application content (the body) with pq3_peer_seal or, with
 * PQ3_CONTENT_RECEIPT, the receipt the library makes, on the session the
 * container sends on. *sid gets that session's id. */
static pq3_err peer_seal(pq3_peer *p, const pq3_signer *signer, const pq3_rekey_policy *policy,
                         uint64_t now, const pq3_rng *rng, uint8_t content_type,
                         const uint8_t *body, size_t body_len, uint8_t *out, size_t cap,
                         size_t *len, uint8_t sid[32])
{
    if (content_type == PQ3_CONTENT_RECEIPT) {
        int slot = current_slot(p);
        pq3_err err;
        if (slot < 0)
            return PQ3_ERR_STATE;
        err = pq3_session_seal_receipt(&p->slots[slot].session, &p->store, signer, policy, now,
                                       rng, out, cap, len);
        if (err == PQ3_OK)
            memcpy(sid, p->slots[slot].session.session_id, 32);
        return err;
    }
    return pq3_peer_seal(p, signer, policy, now, rng, content_type, body, body_len, NULL, 0, out,
                         cap, len, sid);
}

static int receipt_ok(const uint8_t *body, size_t len)
{
    uint8_t key[32];
    uint32_t next, missing;
    return pq3_receipt_parse(body, len, key, &next, &missing) == PQ3_OK;
}

/* ---- chain log and healing model ---------------------------------------- */

static int64_t chain_find(const sim_link *l, const uint8_t key[32])
{
    for (size_t i = l->n_chains; i-- > 0;)
        if (memcmp(l->chains[i].key, key, 32) == 0)
            return (int64_t)i;
    return -1;
}

/* The side's record of the session with this id, made when first seen
 * (replacing the least recently used record of a session it no longer
 * holds, §10.6). NULL only when every record is of a held session. */
static sim_track *track_of(sim_side *sd, const uint8_t sid[32])
{
    sim_track *t = NULL;
    for (unsigned i = 0; i < SIM_TRACKS; i++)
        if (sd->trk[i].used && memcmp(sd->trk[i].sid, sid, 32) == 0) {
            t = &sd->trk[i];
            break;
        }
    if (t == NULL) {
        for (unsigned i = 0; i < SIM_TRACKS; i++) {
            sim_track *c = &sd->trk[i];
            if (c->used && find_slot(sd->p, c->sid) >= 0)
                continue;
            if (t == NULL || !c->used || (t->used && c->last_use < t->last_use))
                t = c;
        }
        if (t == NULL)
            return NULL;
        memset(t, 0, sizeof *t);
        t->used = 1;
        memcpy(t->sid, sid, 32);
        t->last_own_chain = t->own_offer_chain = t->peer_offer_chain = -1;
    }
    t->last_use = ++sd->uses;
    return t;
}

/* Folds chain j into a capture's attacker knowledge (docs/NETWORK.md,
 * "Healing"): the ECDH output of chain j is known when the attacker holds
 * the scalar of the ratchet key chain j was made against (the receiver's
 * key, the previous chain of the session, §11.2) -- or always for a quantum
 * attacker; the KEM output is known when the chain carries no CT or
 * answers the offer whose dk was captured. */
static void capture_fold(sim *w, sim_link *l, sim_capture *c, int64_t j)
{
    const sim_chain *ch = &l->chains[j];
    int ecdh_known = ch->prev >= 0 && ch->prev == c->known_key;
    int kem_known = !(ch->flags & PQ3_MSG_CT) || (ch->answers >= 0 && ch->answers == c->known_dk);
    /* a chain made before the capture (in flight to the victim) heals at once */
    uint64_t d = ch->first_seq >= c->seq ? ch->first_seq - c->seq + 1 : 1;

    if (c->rk_c && !(ecdh_known && kem_known)) {
        c->rk_c = 0;
        c->heal_c_chain = j;
        w->st->healed_c++;
        w->st->heal_c_sum += d;
        if (d > w->st->heal_c_max)
            w->st->heal_c_max = d;
    }
    if (c->rk_q && !kem_known) {
        c->rk_q = 0;
        w->st->healed_q++;
        w->st->heal_q_sum += d;
        if (d > w->st->heal_q_max)
            w->st->heal_q_max = d;
    }
}

/* Chains of the captured session only: the others do not touch its root
 * key. */
static void capture_advance(sim *w, sim_link *l, sim_capture *c)
{
    while (c->active && (c->rk_c || c->rk_q) && c->next_chain < (int64_t)l->n_chains) {
        int64_t j = c->next_chain++;
        if (memcmp(l->chains[j].sid, c->sid, 32) == 0)
            capture_fold(w, l, c, j);
    }
    if (!c->rk_c && !c->rk_q && !c->real_active) {
        peer_free(c->copy);
        c->copy = NULL;
        c->active = 0;
    }
}

/* A state compromise of one side: its container, serialized
 * (pq3_peer_serialize) and loaded again (pq3_peer_deserialize) as the
 * attacker's copy; the model reads the captured session's flags from that
 * copy. Returns 0 when the capture must wait: the container holds several
 * sessions (crossed starts not yet resolved), whose chains the model does
 * not tell apart in one root key. */
static int capture_take(sim *w, sim_link *l, unsigned victim)
{
    sim_capture *c = NULL;
    sim_side *v = &l->side[victim];
    size_t n = 0;
    int slot;

    if (v->p->count != 1)
        return 0;
    for (unsigned i = 0; i < SIM_MAX_CAPTURES; i++)
        if (!l->cap[i].active) {
            c = &l->cap[i];
            break;
        }
    if (c == NULL)
        return 1; /* all slots busy: this sample is skipped */
    memset(c, 0, sizeof *c);
    if ((c->copy = malloc(sizeof *c->copy)) == NULL) {
        w->st->setup_err = PQ3_ERR_NOMEM;
        return 1;
    }
    pq3_peer_init_default(c->copy); /* a load writes over a container */
    if (pq3_peer_serialize(v->p, w->capture_buf, PQ3_PEER_MAX_BYTES, &n) != PQ3_OK ||
        pq3_peer_deserialize(c->copy, w->capture_buf, n) != PQ3_OK ||
        peer_size(c->copy) != n || (slot = current_slot(c->copy)) < 0) {
        w->st->real_bad++;
        note(w->st->first_real_bad, sizeof w->st->first_real_bad,
             "capture does not serialize and load", w->slot, PQ3_ERR_STATE);
        pq3_wipe(w->capture_buf, PQ3_PEER_MAX_BYTES);
        peer_free(c->copy);
        c->copy = NULL;
        return 1;
    }
    pq3_wipe(w->capture_buf, n);
    const pq3_session *s = &c->copy->slots[slot].session;
    const sim_track *t = track_of(v, s->session_id);
    if (t == NULL) {
        peer_free(c->copy);
        c->copy = NULL;
        return 1;
    }
    c->active = 1;
    c->victim = victim;
    memcpy(c->sid, s->session_id, 32);
    c->seq = l->seq;
    c->known_key = (s->flags & PQ3_ST_SEND) ? t->last_own_chain : -1;
    c->known_dk = (s->flags & PQ3_ST_MY_OFFER) ? t->own_offer_chain : -1;
    c->next_chain = t->rk_prefix;
    c->rk_c = c->rk_q = 1;
    c->heal_c_chain = INT64_MAX;
    c->real_active = 1;
    w->st->captures++;
    capture_advance(w, l, c);
    return 1;
}

/* ---- sealing and opening ------------------------------------------------ */

/* The state after a seal or open: the session used (its serialization,
 * §14), the shared store, the whole container (§10.6). */
static void sample_state(sim *w, const pq3_peer *p, const uint8_t sid[32])
{
    size_t n = 0, kb = pq3_skipped_size(&p->store), pb = peer_size(p);
    int slot = find_slot(p, sid);
    if (p->store.count > w->st->max_skipped_keys)
        w->st->max_skipped_keys = p->store.count;
    if (kb > w->st->max_skipped_bytes)
        w->st->max_skipped_bytes = kb;
    if (pb > w->st->max_peer_bytes)
        w->st->max_peer_bytes = pb;
    if (p->count > w->st->max_sessions)
        w->st->max_sessions = p->count;
    if (slot < 0 || pb == 0 ||
        pq3_session_serialize(&p->slots[slot].session, w->state_buf, sizeof w->state_buf, &n) !=
            PQ3_OK) {
        w->st->unexpected++;
        note(w->st->first_unexpected, sizeof w->st->first_unexpected, "serialize", w->slot,
             PQ3_ERR_STATE);
        return;
    }
    pq3_wipe(w->state_buf, n);
    w->st->state_samples++;
    w->st->sum_state_bytes += n;
    if (n > w->st->max_state_bytes)
        w->st->max_state_bytes = n;
}

static void kem_payload(sim *w, sim_link *l, const uint8_t *p, size_t size)
{
    for (unsigned i = 0; i < SIM_KEM_SEEN; i++)
        if (memcmp(l->kem_seen[i], p, 32) == 0) {
            w->st->kem_resends++;
            w->st->kem_resend_bytes += size;
            return;
        }
    w->st->kem_first++;
    memcpy(l->kem_seen[l->kem_seen_next], p, 32);
    l->kem_seen_next = (l->kem_seen_next + 1) % SIM_KEM_SEEN;
}

/* Seals one message on link l from side `from` into w->msg; records the
 * chain log and the wire statistics. *id gets the message's ledger id. */
static pq3_err sim_seal(sim *w, unsigned li, unsigned from, uint8_t content_type, size_t body_len,
                        size_t *len, uint64_t *id)
{
    sim_link *l = &w->link[li];
    sim_side *sd = &l->side[from];
    sim_device *dv = &w->dev[sd->dev];
    pq3_message_info mi;
    uint8_t sid[32];
    sim_track *t;
    pq3_err err;

    if (!ledger_grow(w, w->next_id))
        return PQ3_ERR_NOMEM;
    *id = w->next_id++;
    w->ledger[*id] = content_type == PQ3_CONTENT_RECEIPT ? M_RECEIPT : M_NONE;
    make_body(w->plain, body_len, *id);
    err = peer_seal(sd->p, &dv->device_signer, &w->cfg->policy, sim_now(w), &dv->rng,
                    content_type, w->plain, body_len, w->msg, sizeof w->msg, len, sid);
    if (err != PQ3_OK)
        return err;
    if ((err = pq3_message_peek(&mi, w->msg, *len)) != PQ3_OK)
        return err;
    if ((t = track_of(sd, sid)) == NULL)
        return PQ3_ERR_STATE;
    t->sealed++;

    /* the captured copies of this side seal too (with the attacker's own
     * randomness), so their state machine follows the victim's */
    for (unsigned i = 0; i < SIM_MAX_CAPTURES; i++) {
        sim_capture *c = &l->cap[i];
        uint8_t csid[32];
        size_t n;
        if (!c->active || !c->real_active || c->victim != from || memcmp(c->sid, sid, 32) != 0)
            continue;
        if (peer_seal(c->copy, &dv->device_signer, &w->cfg->policy, sim_now(w),
                      &w->attacker_rng, content_type, w->plain, body_len, w->body2,
                      sizeof w->body2, &n, csid) != PQ3_OK ||
            memcmp(csid, sid, 32) != 0) {
            w->st->real_bad++;
            note(w->st->first_real_bad, sizeof w->st->first_real_bad, "captured copy seal",
                 w->slot, PQ3_ERR_STATE);
            c->real_active = 0;
        }
    }

    int64_t j;
    if (!t->has_key || memcmp(l->chains[t->last_own_chain].key, mi.ratchet_key, 32) != 0) {
        /* a new chain (§11.1): the sender folded it into its root key */
        int slot = find_slot(sd->p, sid);
        if (slot < 0)
            return PQ3_ERR_STATE;
        if (l->n_chains == l->cap_chains) {
            size_t n = l->cap_chains ? l->cap_chains * 2 : 256;
            sim_chain *p = realloc(l->chains, n * sizeof *p);
            if (p == NULL)
                return PQ3_ERR_NOMEM;
            l->chains = p;
            l->cap_chains = n;
        }
        /* made against the peer's ratchet key the session holds (§11.2) */
        int64_t prev = chain_find(l, sd->p->slots[slot].session.peer_pub);
        j = (int64_t)l->n_chains++;
        sim_chain *ch = &l->chains[j];
        memset(ch, 0, sizeof *ch);
        memcpy(ch->key, mi.ratchet_key, 32);
        memcpy(ch->sid, sid, 32);
        ch->creator = (uint8_t)from;
        ch->flags = mi.flags;
        ch->prev = prev;
        ch->answers = (mi.flags & PQ3_MSG_CT) ? t->peer_offer_chain : -1;
        ch->first_seq = l->seq;
        t->has_key = 1;
        t->last_own_chain = j;
        t->rk_prefix = j + 1;
        if (mi.flags & PQ3_MSG_CT)
            t->peer_offer_chain = -1;
        if (mi.flags & PQ3_MSG_EK)
            t->own_offer_chain = j;
    } else {
        j = t->last_own_chain;
    }

    /* KEM payloads: the first message carrying an ek / ct sends it; any
     * later one carrying the same bytes again (later in the chain, or on a
     * later chain while the offer is outstanding) re-sends it */
    size_t off = SIM_EXT_OFFSET + ((mi.flags & PQ3_MSG_START) ? SIM_START_BYTES : 0);
    if (mi.flags & PQ3_MSG_EK) {
        kem_payload(w, l, w->msg + off, SIM_EXT_EK);
        off += SIM_EXT_EK;
    }
    if (mi.flags & PQ3_MSG_CT)
        kem_payload(w, l, w->msg + off, SIM_EXT_CT);

    l->seq++;
    w->st->wire_bytes += *len;
    if (*len > w->st->max_msg_bytes)
        w->st->max_msg_bytes = *len;
    if (w->counting) {
        if (content_type == PQ3_CONTENT_RECEIPT)
            w->st->receipts++;
        else
            w->st->sent++;
    }
    sample_state(w, sd->p, sid);
    for (unsigned i = 0; i < SIM_MAX_CAPTURES; i++)
        if (l->cap[i].active)
            capture_advance(w, l, &l->cap[i]);
    return PQ3_OK;
}

/* Opens a message from the other side of link li at side `to`
 * (pq3_peer_open, with our prekey and start cache for a start) into
 * w->body. *sid gets the session that opened it. */
static pq3_err side_open(sim *w, unsigned li, unsigned to, pq3_peer *p, const uint8_t *msg,
                         size_t len, uint8_t *body, size_t cap, pq3_opened *info,
                         uint8_t sid[32])
{
    const sim_link *l = &w->link[li];
    const sim_side *sd = &l->side[to], *from = &l->side[1u - to];
    int own = p == sd->p; /* a captured copy has no prekey (the attacker took the state) */
    return pq3_peer_open(p, &w->dev[sd->dev].cert, &w->dev[from->dev].cert,
                         own ? sd->prekey : NULL, own ? sd->cache : NULL, sim_now(w), msg, len,
                         body, cap, info, sid);
}

/* The captured copies of the receiver open the same message: before the
 * model says the classical attacker lost the root key, they must open it
 * exactly like the victim; the first difference must be a failure on a
 * chain the model counts as healed. Messages of other sessions than the
 * captured one are not the model's concern. */
static void real_check(sim *w, unsigned li, unsigned to, int64_t j, const uint8_t *msg,
                       size_t len, pq3_err err_v, const pq3_opened *info_v)
{
    sim_link *l = &w->link[li];
    for (unsigned i = 0; i < SIM_MAX_CAPTURES; i++) {
        sim_capture *c = &l->cap[i];
        pq3_opened info;
        uint8_t csid[32];
        if (!c->active || !c->real_active || c->victim != to)
            continue;
        if (j >= 0 && memcmp(l->chains[j].sid, c->sid, 32) != 0)
            continue;
        pq3_err err = side_open(w, li, to, c->copy, msg, len, w->body2, sizeof w->body2, &info,
                                csid);
        int healed = j >= c->heal_c_chain;
        if (err == err_v && (err != PQ3_OK || (info.body_len == info_v->body_len &&
                                               memcmp(w->body2, w->body, info.body_len) == 0))) {
            if (err == PQ3_OK && healed) {
                w->st->real_bad++;
                note(w->st->first_real_bad, sizeof w->st->first_real_bad,
                     "captured copy decrypted a healed chain", w->slot, err);
                c->real_active = 0;
            } else {
                w->st->real_agree++;
            }
        } else {
            c->real_active = 0;
            /* a healed chain is new to the copy: its one session fails the
             * mki check, which the container reports as PQ3_ERR_UNKNOWN (no
             * session opens the new chain, §10.6) */
            if (err_v == PQ3_OK && err == PQ3_ERR_UNKNOWN && healed) {
                w->st->real_healed++;
            } else {
                w->st->real_bad++;
                note(w->st->first_real_bad, sizeof w->st->first_real_bad,
                     healed ? "captured copy diverged oddly" : "captured copy lost a known chain",
                     w->slot, err);
            }
        }
        pq3_wipe(w->body2, sizeof w->body2);
        capture_advance(w, l, c);
    }
}

/* What an opened message tells the side's record of its session. */
static void track_opened(sim *w, sim_link *l, sim_track *t, int64_t j, const pq3_opened *info)
{
    if (info->content_type == PQ3_CONTENT_MESSAGE && j >= 0 && j + 1 >= t->rk_prefix)
        t->peer_chain_app = 1;
    if (info->new_chain && info->content_type != PQ3_CONTENT_MESSAGE)
        t->peer_chain_app = 0;
    if (info->new_chain && j >= 0)
        t->rk_prefix = j + 1;
    if (info->kem_offered && j >= 0)
        t->peer_offer_chain = j;
    if (info->kem_completed) {
        w->st->kem_steps++;
        if (j >= 0 && (l->chains[j].flags & PQ3_MSG_CT))
            t->own_offer_chain = -1;
    }
}

static void sim_deliver(sim *w, const sim_packet *p)
{
    sim_link *l = &w->link[p->link];
    unsigned to = 1u - p->from;
    sim_side *sd = &l->side[to];
    pq3_opened info;
    pq3_message_info mi;
    uint8_t sid[32], held[PQ3_PEER_MAX_SESSIONS][32];
    uint32_t n_held = sd->p->count;
    int64_t j = -1;

    for (uint32_t i = 0; i < n_held && i < PQ3_PEER_MAX_SESSIONS; i++)
        memcpy(held[i], sd->p->slots[i].session.session_id, 32);

    if (p->is_copy && w->counting)
        w->st->dup_copies++;
    uint8_t *led = &w->ledger[p->id];
    int app = !(*led & M_RECEIPT);
    if ((*led & M_STATE) < M_ARRIVED) {
        *led = (uint8_t)((*led & M_RECEIPT) | M_ARRIVED);
        if (w->counting) {
            w->st->net_delivered++;
            w->st->net_delivered_app += (uint64_t)app;
        }
    }
    memset(&info, 0, sizeof info);
    pq3_err err = side_open(w, p->link, to, sd->p, p->msg, p->len, w->body, sizeof w->body,
                            &info, sid);
    if (pq3_message_peek(&mi, p->msg, p->len) == PQ3_OK)
        j = chain_find(l, mi.ratchet_key);
    real_check(w, p->link, to, j, p->msg, p->len, err, &info);

    if (err == PQ3_OK) {
        sim_track *t = track_of(sd, sid);
        if (find_slot(sd->p, sid) < 0 || t == NULL) {
            w->st->unexpected++;
            note(w->st->first_unexpected, sizeof w->st->first_unexpected,
                 "open reported a session it does not hold", w->slot, PQ3_ERR_STATE);
        } else {
            track_opened(w, l, t, j, &info);
        }
        int is_new = 1;
        for (uint32_t i = 0; i < n_held && i < PQ3_PEER_MAX_SESSIONS; i++)
            if (memcmp(held[i], sid, 32) == 0)
                is_new = 0;
        w->st->sessions_created += (uint64_t)is_new;
        if ((*led & M_STATE) == M_OPENED) {
            w->st->double_open++;
        } else {
            *led = (uint8_t)((*led & M_RECEIPT) | M_OPENED);
            if (w->counting) {
                w->st->opened++;
                w->st->opened_app += (uint64_t)app;
            } else {
                w->st->after_heal_ok++;
            }
        }
        if (info.content_type == PQ3_CONTENT_RECEIPT ? !receipt_ok(w->body, info.body_len)
                                                     : !check_body(w->body, info.body_len, p->id,
                                                                   w->plain))
            w->st->body_mismatch++;
        if (info.late)
            w->st->late_opens++;
        sample_state(w, sd->p, sid);
    } else if (!w->counting) {
        /* after the network healed: counted by the ping-pong loop */
        note(w->st->first_after_heal, sizeof w->st->first_after_heal, "open after healing",
             w->slot, err);
    } else if ((*led & M_STATE) == M_OPENED) {
        if (err == PQ3_ERR_REPLAY)
            w->st->replays++;
        else {
            w->st->dup_other++;
            note(w->st->first_unexpected, sizeof w->st->first_unexpected,
                 "copy of an opened message", w->slot, err);
        }
    } else if (err == PQ3_ERR_LIMIT) {
        w->st->limits++;
    } else if (err == PQ3_ERR_REPLAY) {
        /* a first copy whose stored key was evicted (§13.1): lost */
        w->st->evicted_late++;
    } else {
        w->st->unexpected++;
        note(w->st->first_unexpected, sizeof w->st->first_unexpected, "open", w->slot, err);
    }
    pq3_wipe(w->body, sizeof w->body);
}

/* ---- the network -------------------------------------------------------- */

static pq3_err enqueue(sim *w, unsigned li, unsigned from, uint64_t id, const uint8_t *msg,
                       size_t len, uint64_t due, int is_copy)
{
    if (w->nq == w->capq) {
        size_t n = w->capq ? w->capq * 2 : 64;
        sim_packet *p = realloc(w->q, n * sizeof *p);
        if (p == NULL)
            return PQ3_ERR_NOMEM;
        w->q = p;
        w->capq = n;
    }
    sim_packet *p = &w->q[w->nq];
    p->msg = malloc(len);
    if (p->msg == NULL)
        return PQ3_ERR_NOMEM;
    memcpy(p->msg, msg, len);
    p->len = len;
    p->due = due;
    p->order = w->order++;
    p->id = id;
    p->link = li;
    p->from = from;
    p->is_copy = is_copy;
    w->nq++;
    return PQ3_OK;
}

/* The network takes a sealed message (in w->msg). */
static pq3_err transmit(sim *w, unsigned li, unsigned from, uint64_t id, size_t len, int perfect)
{
    const sim_config *cfg = w->cfg;
    pq3_err err;
    if (!perfect && rnd01(&w->net) < cfg->loss) {
        w->ledger[id] = (uint8_t)((w->ledger[id] & M_RECEIPT) | M_LOST);
        if (w->counting)
            w->st->lost++;
        return PQ3_OK;
    }
    uint64_t due = w->slot + 1 + (perfect ? 0 : rndn(&w->net, cfg->reorder + 1));
    if ((err = enqueue(w, li, from, id, w->msg, len, due, 0)) != PQ3_OK)
        return err;
    if (!perfect && rnd01(&w->net) < cfg->dup)
        err = enqueue(w, li, from, id, w->msg, len, due + rndn(&w->net, cfg->dup_delay + 1), 1);
    return err;
}

static int packet_cmp(const void *a, const void *b)
{
    const sim_packet *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

/* Delivers every packet due by the current slot. */
static void deliver_due(sim *w)
{
    size_t n = 0;
    if (w->nq == 0)
        return;
    qsort(w->q, w->nq, sizeof *w->q, packet_cmp);
    while (n < w->nq && w->q[n].due <= w->slot)
        n++;
    for (size_t i = 0; i < n; i++) {
        sim_deliver(w, &w->q[i]);
        free(w->q[i].msg);
    }
    memmove(w->q, w->q + n, (w->nq - n) * sizeof *w->q);
    w->nq -= n;
}

/* ---- set-up ------------------------------------------------------------- */

/* A fresh prekey of side sd, kept by it with its start cache (§10.4), and
 * its bundle as the peer verifies it. */
static pq3_err side_prekey(sim *w, sim_side *sd, uint32_t id, pq3_prekey_bundle *bundle)
{
    sim_device *d = &w->dev[sd->dev];
    uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES];
    pq3_err err;

    if ((sd->prekey = calloc(1, sizeof *sd->prekey)) == NULL ||
        (sd->cache = calloc(1, sizeof *sd->cache)) == NULL)
        return PQ3_ERR_NOMEM;
    if ((err = pq3_prekey_generate(sd->prekey, id, SIM_T0, SIM_T0 + 7 * SIM_DAY,
                                   &d->device_signer, &d->rng)) != PQ3_OK ||
        (err = pq3_start_cache_init(sd->cache, sd->prekey->bundle.hash,
                                    PQ3_START_CACHE_DEFAULT)) != PQ3_OK ||
        (err = pq3_prekey_encode(enc, &sd->prekey->bundle)) != PQ3_OK)
        return err;
    return pq3_prekey_verify(bundle, enc, sizeof enc, &d->cert, SIM_T0);
}

/* Side 0 starts a session with side 1's bundle; its first message is
 * delivered outside the simulated network. With crossed starts both sides
 * start one (pq3_peer_start) and their first messages go through the
 * network at the beginning of the run (sim_run). */
static pq3_err link_init(sim *w, unsigned li)
{
    sim_link *l = &w->link[li];
    sim_device *dv[2] = { &w->dev[0], &w->dev[li + 1] };
    pq3_prekey_bundle bundle[2];
    pq3_opened info;
    uint8_t sid[32];
    size_t len;
    uint64_t id;
    pq3_err err;

    memset(l, 0, sizeof *l);
    for (unsigned s = 0; s < 2; s++) {
        if ((l->side[s].p = peer_new(w->cfg)) == NULL)
            return PQ3_ERR_NOMEM;
        l->side[s].dev = s == 0 ? 0 : li + 1;
    }
    l->next_capture = w->cfg->capture_every;
    if ((err = side_prekey(w, &l->side[1], 1 + li, &bundle[1])) != PQ3_OK)
        return err;
    if (w->cfg->crossed) {
        if ((err = side_prekey(w, &l->side[0], 101 + li, &bundle[0])) != PQ3_OK)
            return err;
        for (unsigned s = 0; s < 2; s++) {
            if ((err = pq3_peer_start(l->side[s].p, &dv[s]->cert, &dv[1 - s]->cert,
                                      &bundle[1 - s], SIM_T0, &dv[s]->rng)) != PQ3_OK)
                return err;
            w->st->sessions_created++;
        }
        return PQ3_OK;
    }
    if ((err = pq3_peer_start(l->side[0].p, &dv[0]->cert, &dv[1]->cert, &bundle[1], SIM_T0,
                              &dv[0]->rng)) != PQ3_OK ||
        (err = sim_seal(w, li, 0, PQ3_CONTENT_MESSAGE, 32, &len, &id)) != PQ3_OK)
        return err;
    w->st->sessions_created++;
    err = side_open(w, li, 1, l->side[1].p, w->msg, len, w->body, sizeof w->body, &info, sid);
    pq3_wipe(w->body, sizeof w->body);
    if (err != PQ3_OK)
        return err;
    sim_track *t = track_of(&l->side[1], sid);
    if (t == NULL)
        return PQ3_ERR_STATE;
    w->st->sessions_created++;
    w->ledger[id] = M_OPENED;
    t->rk_prefix = 1;
    t->peer_chain_app = 1; /* the start carries a message */
    if (info.kem_offered)
        t->peer_offer_chain = 0;
    return PQ3_OK;
}

static const char *const handles[SIM_MAX_DEVICES] = {
    "mailto:a@example.org", "mailto:b@example.org", "mailto:c@example.org"
};
static const char *const labels[SIM_MAX_DEVICES] = { "sim-a", "sim-b", "sim-c" };

static pq3_err sim_new(sim **out, const sim_config *cfg, sim_stats *st)
{
    sim *w = calloc(1, sizeof *w);
    pq3_err err;
    *out = w;
    if (w == NULL)
        return PQ3_ERR_NOMEM;
    w->cfg = cfg;
    w->st = st;
    w->net = cfg->seed ^ 0x6e6574776f726bu;
    w->n_links = (cfg->devices >= 3 ? 3 : 2) - 1;
    if ((w->capture_buf = malloc(PQ3_PEER_MAX_BYTES)) == NULL)
        return PQ3_ERR_NOMEM;
    if ((err = drbg_init(&w->attacker_drbg, &w->attacker_rng, "sim-attacker", cfg->seed)) !=
        PQ3_OK)
        return err;
    for (unsigned d = 0; d <= w->n_links; d++)
        if ((err = device_init(&w->dev[d], handles[d], labels[d], cfg->seed)) != PQ3_OK)
            return err;
    for (unsigned li = 0; li < w->n_links; li++)
        if ((err = link_init(w, li)) != PQ3_OK)
            return err;
    return PQ3_OK;
}

static void sim_free(sim *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->nq; i++)
        free(w->q[i].msg);
    free(w->q);
    free(w->ledger);
    for (unsigned li = 0; li < SIM_MAX_LINKS; li++) {
        sim_link *l = &w->link[li];
        free(l->chains);
        l->chains = NULL;
        for (unsigned s = 0; s < 2; s++) {
            sim_side *sd = &l->side[s];
            peer_free(sd->p);
            if (sd->prekey != NULL)
                pq3_prekey_secret_wipe(sd->prekey);
            free(sd->prekey);
            free(sd->cache);
        }
        for (unsigned i = 0; i < SIM_MAX_CAPTURES; i++)
            peer_free(l->cap[i].copy);
    }
    for (unsigned d = 0; d < SIM_MAX_DEVICES; d++)
        device_wipe(&w->dev[d]);
    if (w->capture_buf != NULL)
        pq3_wipe(w->capture_buf, PQ3_PEER_MAX_BYTES);
    free(w->capture_buf);
    /* buffers and bookkeeping: wiped whole */
    pq3_wipe(w, sizeof *w);
    free(w);
}

/* ---- probes ------------------------------------------------------------- */

static int probe(int stale)
{
    sim_config cfg = sim_config_default("probe", 1, 0);
    sim_stats st;
    sim *w = NULL;
    size_t len[2];
    uint8_t m1[SIM_BUF], sid[32];
    uint64_t id;
    pq3_opened info;
    int ok = 0;

    memset(&st, 0, sizeof st);
    cfg.capture_every = 0;
    if (sim_new(&w, &cfg, &st) != PQ3_OK)
        goto done;
    pq3_peer *a = w->link[0].side[0].p, *b = w->link[0].side[1].p;
    if (!stale) {
        /* two messages of one chain, the second delivered first */
        if (sim_seal(w, 0, 0, PQ3_CONTENT_MESSAGE, 32, &len[0], &id) != PQ3_OK)
            goto done;
        memcpy(m1, w->msg, len[0]);
        if (sim_seal(w, 0, 0, PQ3_CONTENT_MESSAGE, 32, &len[1], &id) != PQ3_OK)
            goto done;
        ok = side_open(w, 0, 1, b, w->msg, len[1], w->body, sizeof w->body, &info, sid) ==
                 PQ3_OK &&
             side_open(w, 0, 1, b, m1, len[0], w->body, sizeof w->body, &info, sid) == PQ3_OK;
    } else {
        /* a message of a chain two chains back, replayed */
        if (sim_seal(w, 0, 0, PQ3_CONTENT_MESSAGE, 32, &len[0], &id) != PQ3_OK)
            goto done;
        memcpy(m1, w->msg, len[0]);
        if (side_open(w, 0, 1, b, m1, len[0], w->body, sizeof w->body, &info, sid) != PQ3_OK)
            goto done;
        for (int r = 0; r < 2; r++)
            if (sim_seal(w, 0, 1, PQ3_CONTENT_MESSAGE, 32, &len[1], &id) != PQ3_OK ||
                side_open(w, 0, 0, a, w->msg, len[1], w->body, sizeof w->body, &info, sid) !=
                    PQ3_OK ||
                sim_seal(w, 0, 0, PQ3_CONTENT_MESSAGE, 32, &len[1], &id) != PQ3_OK ||
                side_open(w, 0, 1, b, w->msg, len[1], w->body, sizeof w->body, &info, sid) !=
                    PQ3_OK)
                goto done;
        ok = side_open(w, 0, 1, b, m1, len[0], w->body, sizeof w->body, &info, sid) ==
             PQ3_ERR_REPLAY;
    }
done:
    sim_free(w);
    return ok;
}

int sim_probe_ooo(void)
{
    return probe(0);
}

int sim_probe_stale_replay(void)
{
    return probe(1);
}

/* ---- a run -------------------------------------------------------------- */

sim_config sim_config_default(const char *name, uint64_t seed, uint64_t messages)
{
    sim_config c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.seed = seed;
    c.devices = 2;
    c.messages = messages;
    c.switch_prob = 0.5;
    c.body_min = 16;
    c.body_max = 200;
    c.step_seconds = 30;
    c.policy = pq3_rekey_policy_default();
    c.receipts = 1;
    c.capture_every = 200;
    c.heal_rounds = 4;
    return c;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One message from side `from` of link li through the network. */
static pq3_err send_one(sim *w, unsigned li, unsigned from, int perfect)
{
    const sim_config *cfg = w->cfg;
    unsigned span = cfg->body_max > cfg->body_min ? cfg->body_max - cfg->body_min + 1 : 1;
    size_t body_len = cfg->body_min + rndn(&w->net, span);
    size_t len;
    uint64_t id;
    pq3_err err;

    if (body_len < 12)
        body_len = 12;
    if (body_len > SIM_BODY_MAX)
        body_len = SIM_BODY_MAX;
    if ((err = sim_seal(w, li, from, PQ3_CONTENT_MESSAGE, body_len, &len, &id)) != PQ3_OK)
        return err;
    return transmit(w, li, from, id, len, perfect);
}

/* Every side that owes a delivery receipt (the library says when, §16.1)
 * sends it, as a user's device would on receiving a message. */
static pq3_err send_receipts(sim *w)
{
    pq3_err err;
    for (unsigned li = 0; li < w->n_links; li++)
        for (unsigned s = 0; s < 2; s++) {
            size_t len;
            uint64_t id;
            sim_side *sd = &w->link[li].side[s];
            int slot = current_slot(sd->p);
            const sim_track *t;
            if (w->cfg->silent_receiver && s != w->link[li].dir)
                continue;   /* offline until its turn */
            if (!receipt_due(sd->p, &w->cfg->policy, sim_now(w)))
                continue;
            if ((t = track_of(sd, sd->p->slots[slot].session.session_id)) == NULL)
                return PQ3_ERR_STATE;
            if (!t->peer_chain_app) {
                /* the chain we acknowledge carried only receipts */
                if (w->cfg->receipts == 2)
                    continue;
                w->st->receipt_echo++;
            }
            if ((err = sim_seal(w, li, s, PQ3_CONTENT_RECEIPT, 0, &len, &id)) != PQ3_OK ||
                (err = transmit(w, li, s, id, len, 0)) != PQ3_OK)
                return err;
        }
    return PQ3_OK;
}

/* Whether both sides of link li send on the same session (§10.6). */
static int link_agrees(const sim_link *l)
{
    int a = current_slot(l->side[0].p), b = current_slot(l->side[1].p);
    return a >= 0 && b >= 0 &&
           memcmp(l->side[0].p->slots[a].session.session_id,
                  l->side[1].p->slots[b].session.session_id, 32) == 0;
}

/* After every slot: the first slot from which every link agrees for good. */
static void check_agree(sim *w)
{
    for (unsigned li = 0; li < w->n_links; li++)
        if (!link_agrees(&w->link[li]))
            w->st->agree_slot = w->slot + 1;
}

/* At the end: the sessions the links converged on, and the messages sealed
 * on any other. */
static void final_sessions(sim *w)
{
    for (unsigned li = 0; li < w->n_links; li++) {
        sim_link *l = &w->link[li];
        w->st->links_agree += (uint64_t)link_agrees(l);
        w->st->links_single += (uint64_t)(l->side[0].p->count == 1 && l->side[1].p->count == 1);
        for (unsigned s = 0; s < 2; s++) {
            const pq3_peer *p = l->side[s].p;
            int slot = current_slot(p);
            for (unsigned i = 0; i < SIM_TRACKS; i++) {
                const sim_track *t = &l->side[s].trk[i];
                if (t->used && (slot < 0 || memcmp(t->sid, p->slots[slot].session.session_id,
                                                   32) != 0))
                    w->st->other_session_msgs += t->sealed;
            }
        }
    }
}

pq3_err sim_run(const sim_config *cfg, sim_stats *st)
{
    sim *w = NULL;
    pq3_err err;
    double t0 = mono_seconds();

    memset(st, 0, sizeof *st);
    st->name = cfg->name;
    if (cfg->needs_ooo && !sim_probe_ooo()) {
        st->skipped = 1;
        snprintf(st->skip_reason, sizeof st->skip_reason,
                 "the library rejects a message that arrives before an earlier one of its chain "
                 "(no skipped message keys yet)");
        return PQ3_OK;
    }
    if ((err = sim_new(&w, cfg, st)) != PQ3_OK)
        goto done;

    /* the main phase */
    w->counting = 1;
    if (cfg->crossed) {
        /* both starts are in flight at once: each side's first message is
         * sealed before the other's arrives */
        w->slot++;
        for (unsigned li = 0; li < w->n_links; li++)
            for (unsigned s = 0; s < 2; s++)
                if ((err = send_one(w, li, s, 0)) != PQ3_OK)
                    goto done;
        check_agree(w);
    }
    while (st->sent < cfg->messages) {
        w->slot++;
        deliver_due(w);
        unsigned li = rndn(&w->net, w->n_links);
        sim_link *l = &w->link[li];
        if (cfg->capture_every && l->seq >= l->next_capture &&
            capture_take(w, l, l->n_captures & 1u)) {
            l->n_captures++;
            l->next_capture += cfg->capture_every;
        }
        if ((err = send_one(w, li, l->dir, 0)) != PQ3_OK)
            goto done;
        if (cfg->burst > 0) {
            if (++l->run >= cfg->burst) {
                l->dir ^= 1u;
                l->run = 0;
            }
        } else if (rnd01(&w->net) < cfg->switch_prob) {
            l->dir ^= 1u;
        }
        if (cfg->receipts && (err = send_receipts(w)) != PQ3_OK)
            goto done;
        check_agree(w);
    }
    /* everything still in flight arrives */
    while (w->nq > 0) {
        w->slot++;
        deliver_due(w);
        check_agree(w);
    }
    /* the network heals: ping-pong on every link */
    w->counting = 0;
    for (unsigned li = 0; li < w->n_links; li++) {
        sim_link *l = &w->link[li];
        for (unsigned r = 0; r < 2 * cfg->heal_rounds; r++) {
            l->dir = r & 1u;
            uint64_t before = st->after_heal_ok;
            w->slot++;
            if ((err = send_one(w, li, l->dir, 1)) != PQ3_OK)
                goto done;
            w->slot++;
            deliver_due(w);
            check_agree(w);
            if (st->after_heal_ok == before)
                st->after_heal_fail++;
        }
    }
    final_sessions(w);
    err = PQ3_OK;
done:
    st->setup_err = err;
    st->seconds = mono_seconds() - t0;
    sim_free(w);
    return err;
}

/* ---- output ------------------------------------------------------------- */

void sim_print_header(FILE *f)
{
    fprintf(f, "| scenario | sent | receipts | delivered | network | B/msg mean | B/msg max | "
               "state max B | skipped keys max (B) | container max B | KEM sent | KEM re-sent | "
               "heal classical mean/max | heal PQ mean/max | replays | errors | s |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
               "---:|\n");
}

static double ratio(uint64_t a, uint64_t b)
{
    return b == 0 ? 0.0 : (double)a / (double)b;
}

void sim_print_row(FILE *f, const sim_stats *st)
{
    if (st->skipped) {
        fprintf(f, "| %s | skipped: %s |||||||||||||||\n", st->name, st->skip_reason);
        return;
    }
    uint64_t all = st->sent + st->receipts;
    fprintf(f,
            "| %s | %llu | %llu | %.2f%% | %.2f%% | %.0f | %llu | %zu | %u (%zu) | %zu | %llu | "
            "%llu | %.1f / %llu | %.1f / %llu | %llu | %llu | %.1f |\n",
            st->name, (unsigned long long)st->sent, (unsigned long long)st->receipts,
            100.0 * ratio(st->opened_app, st->sent), 100.0 * ratio(st->net_delivered_app, st->sent),
            ratio(st->wire_bytes, all), (unsigned long long)st->max_msg_bytes,
            st->max_state_bytes, st->max_skipped_keys, st->max_skipped_bytes, st->max_peer_bytes,
            (unsigned long long)st->kem_first, (unsigned long long)st->kem_resends,
            ratio(st->heal_c_sum, st->healed_c), (unsigned long long)st->heal_c_max,
            ratio(st->heal_q_sum, st->healed_q), (unsigned long long)st->heal_q_max,
            (unsigned long long)st->replays,
            (unsigned long long)(st->unexpected + st->dup_other + st->double_open +
                                 st->body_mismatch + st->limits + st->evicted_late),
            st->seconds);
}

void sim_print_checks(FILE *f, const sim_stats *st)
{
    if (st->skipped) {
        fprintf(f, "%s: SKIPPED: %s\n", st->name, st->skip_reason);
        return;
    }
    fprintf(f,
            "%s: sent %llu + %llu receipts (%llu acknowledging receipts only), lost %llu, "
            "extra copies %llu, network delivered %llu, opened %llu (%llu late), double opens "
            "%llu, body mismatches %llu, replays %llu, copies rejected otherwise %llu, limits "
            "%llu, evicted before arrival %llu, unexpected errors %llu%s%s; sessions created "
            "%llu, most held %u, links agreeing %llu (one session %llu) from slot %llu, "
            "messages on other sessions %llu; captures %llu (healed classical %llu, PQ %llu), "
            "captured-copy checks agree %llu healed %llu bad %llu%s%s; after healing ok %llu "
            "fail %llu%s%s; KEM steps %llu, re-sent KEM bytes %llu\n",
            st->name, (unsigned long long)st->sent, (unsigned long long)st->receipts,
            (unsigned long long)st->receipt_echo, (unsigned long long)st->lost,
            (unsigned long long)st->dup_copies, (unsigned long long)st->net_delivered,
            (unsigned long long)st->opened, (unsigned long long)st->late_opens,
            (unsigned long long)st->double_open, (unsigned long long)st->body_mismatch,
            (unsigned long long)st->replays, (unsigned long long)st->dup_other,
            (unsigned long long)st->limits, (unsigned long long)st->evicted_late,
            (unsigned long long)st->unexpected, st->first_unexpected[0] ? " -- first: " : "",
            st->first_unexpected, (unsigned long long)st->sessions_created, st->max_sessions,
            (unsigned long long)st->links_agree, (unsigned long long)st->links_single,
            (unsigned long long)st->agree_slot, (unsigned long long)st->other_session_msgs,
            (unsigned long long)st->captures, (unsigned long long)st->healed_c,
            (unsigned long long)st->healed_q, (unsigned long long)st->real_agree,
            (unsigned long long)st->real_healed, (unsigned long long)st->real_bad,
            st->first_real_bad[0] ? " -- first: " : "", st->first_real_bad,
            (unsigned long long)st->after_heal_ok, (unsigned long long)st->after_heal_fail,
            st->first_after_heal[0] ? " -- first: " : "", st->first_after_heal,
            (unsigned long long)st->kem_steps, (unsigned long long)st->kem_resend_bytes);
}
