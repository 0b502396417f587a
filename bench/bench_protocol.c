/*
 * Protocol costs (docs/PROTOCOL.md), each beside its floor: the session start
 * as a device makes it, messages in a ping-pong, in bursts and spread over
 * months, the same messages with the state loaded from bytes and saved
 * around every call, and bytes on the wire. The legend printed first says
 * what each section holds. A table, not a test.
 *
 * Usage: bench_protocol [scale]   (scale multiplies the iteration counts,
 * default 1; 0.2 for a quick look, 5 for steadier tails)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "pq3/crypto.h"
#include "pq3/identity.h"
#include "pq3/message.h"
#include "pq3/mlkem.h"
#include "pq3/peer.h"
#include "pq3/prekey.h"
#include "pq3/session.h"
#include "pq3/skipped.h"

#define T0 1700000000u
#define DAY 86400u
#define BODY_LEN 100
#define MSG_CAP 8192       /* > pq3_message_max_size(BODY_LEN, 0) */
#define BURST_LEN 20       /* the burst run: 20 messages one way, then one answer */
#define SLOW_STEP (4 * 3600u) /* the slow run: one message every 4 hours */

/* Byte counts of docs/PROTOCOL.md §3, §7, §8, §11.2, §10.2. */
#define TBS_BYTES (28 + 48 + 48)            /* L_MSGSIG || sidd || SHA-384(M) */
#define L_ROOT_BYTES 15
#define RATCHET_DST (48 + 18 + 32 + 32)     /* sidd || L_RATCHET || P || N */
#define RATCHET_KEM (PQ3_MLKEM768_CT_BYTES + PQ3_MLKEM768_EK_BYTES) /* || ct || ek */
#define START_DST (48 + 24 + 32 + 32 + PQ3_MLKEM1024_CT_BYTES + PQ3_MLKEM1024_EK_BYTES)
#define CERT_TBS_EXTRA (29 + PQ3_ECDSA_PUB_BYTES)            /* L_CERT || account key */
#define PREKEY_TBS_BYTES (17 + PQ3_ECDSA_PUB_BYTES + PQ3_PREKEY_BUNDLE_BYTES - 64)

static const uint8_t text[BODY_LEN] =
    "a hundred-byte message........................................................................";
static double scale = 1.0;

static size_t scaled(size_t n)
{
    double v = (double)n * scale;
    return v < 20 ? 20 : (size_t)v;
}

/* ---- the two devices ------------------------------------------------------ */

typedef struct {
    pq3_soft_key account, device;
    pq3_signer as, ds;
    pq3_device_cert cert; /* its own certificate, verified */
    uint8_t enc[PQ3_CERT_MAX_BYTES];
    size_t enc_len;
} party;

static party alice, bob;

static void make_party(party *p, const char *handle)
{
    pq3b_require(pq3_soft_key_generate(&p->account, NULL) == PQ3_OK, "keygen");
    pq3b_require(pq3_soft_key_generate(&p->device, NULL) == PQ3_OK, "keygen");
    pq3b_require(pq3_soft_signer(&p->as, &p->account) == PQ3_OK, "signer");
    pq3b_require(pq3_soft_signer(&p->ds, &p->device) == PQ3_OK, "signer");
    memset(&p->cert, 0, sizeof p->cert);
    p->cert.handle_len = (uint8_t)strlen(handle);
    memcpy(p->cert.handle, handle, p->cert.handle_len);
    memcpy(p->cert.auth_pub, p->device.pub, 33);
    p->cert.versions[0] = 1;
    p->cert.n_versions = 1;
    p->cert.created = T0 - 1;
    p->cert.expires = T0 + 20u * 365u * DAY; /* outlives the slow run */
    pq3b_require(pq3_cert_issue(p->enc, sizeof p->enc, &p->enc_len, &p->cert, &p->as) == PQ3_OK,
                 "issue");
    pq3b_require(pq3_cert_verify(&p->cert, p->enc, p->enc_len, p->account.pub, T0) == PQ3_OK,
                 "verify cert");
}

/* ---- timing --------------------------------------------------------------- */

typedef struct {
    uint64_t ticks, ns;
} span;

typedef struct {
    uint64_t t0, n0;
} clk;

static clk clk_begin(void)
{
    clk c;
    c.n0 = pq3b_nanos();
    c.t0 = pq3b_cycles();
    return c;
}

static span clk_end(clk c)
{
    uint64_t t1 = pq3b_cycles(), n1 = pq3b_nanos();
    span s;
    s.ticks = t1 - c.t0;
    s.ns = n1 - c.n0;
    return s;
}

static span span_add(span a, span b)
{
    span s;
    s.ticks = a.ticks + b.ticks;
    s.ns = a.ns + b.ns;
    return s;
}

/* Samples of seal, open and both of each message (of a run or its floor). */
typedef struct {
    pq3b_samples seal, open, both;
} trio;

typedef struct {
    pq3b_result seal, open, both;
} trio_result;

static void trio_init(trio *t, size_t n)
{
    pq3b_samples_init(&t->seal, n);
    pq3b_samples_init(&t->open, n);
    pq3b_samples_init(&t->both, n);
}

static void trio_add(trio *t, span seal, span open)
{
    span both = span_add(seal, open);
    pq3b_samples_add(&t->seal, seal.ticks, seal.ns);
    pq3b_samples_add(&t->open, open.ticks, open.ns);
    pq3b_samples_add(&t->both, both.ticks, both.ns);
}

static trio_result trio_done(trio *t)
{
    trio_result r;
    r.seal = pq3b_samples_result(&t->seal);
    r.open = pq3b_samples_result(&t->open);
    r.both = pq3b_samples_result(&t->both);
    pq3b_samples_free(&t->seal);
    pq3b_samples_free(&t->open);
    pq3b_samples_free(&t->both);
    return r;
}

/* ---- the floor: the primitives, through the public API -------------------- */

/* An input signed once, verified as often as needed. */
typedef struct {
    uint8_t msg[2048];
    size_t len;
    uint8_t sig[PQ3_ECDSA_SIG_BYTES];
} signed_input;

static struct {
    uint8_t sign_priv[32], sign_pub[33];
    pq3_ecdsa_pub vk;
    signed_input tbs, cert_alice, cert_bob, prekey;
    uint8_t ecdh_priv[32], ecdh_pub[32];
    pq3_ecdh_peer ecdh_peer;
    uint8_t ek768[PQ3_MLKEM768_EK_BYTES], dk768[PQ3_MLKEM768_DK_BYTES],
        ct768[PQ3_MLKEM768_CT_BYTES];
    uint8_t ek1024[PQ3_MLKEM1024_EK_BYTES], dk1024[PQ3_MLKEM1024_DK_BYTES],
        ct1024[PQ3_MLKEM1024_CT_BYTES];
    uint8_t info[L_ROOT_BYTES + START_DST];
    uint8_t prk[PQ3_HKDF_PRK_BYTES], ikm[48];
    uint8_t key[32], iv[16];
    uint8_t buf[MSG_CAP];
    size_t sid_len; /* SID(X->Y) of §7 for alice and bob */
} fl;

static void sign_input(signed_input *s, size_t len)
{
    memset(s->msg, 0x3c, len);
    s->len = len;
    pq3b_require(pq3_ecdsa_sign(s->sig, fl.sign_priv, s->msg, len) == PQ3_OK, "floor: sign");
}

static void floor_init(void)
{
    uint8_t ss[32];
    pq3b_require(pq3_ecdsa_keypair(fl.sign_priv, fl.sign_pub, NULL) == PQ3_OK, "floor: key");
    pq3b_require(pq3_ecdsa_import(&fl.vk, fl.sign_pub) == PQ3_OK, "floor: import");
    sign_input(&fl.tbs, TBS_BYTES);
    sign_input(&fl.cert_alice, CERT_TBS_EXTRA + alice.enc_len - 64);
    sign_input(&fl.cert_bob, CERT_TBS_EXTRA + bob.enc_len - 64);
    sign_input(&fl.prekey, PREKEY_TBS_BYTES);
    pq3b_require(pq3_ecdh_keypair(fl.ecdh_priv, fl.ecdh_pub, NULL) == PQ3_OK, "floor: ecdh");
    pq3b_require(pq3_ecdh_import(&fl.ecdh_peer, fl.ecdh_pub) == PQ3_OK, "floor: ecdh import");
    pq3b_require(pq3_mlkem768_keypair(fl.ek768, fl.dk768) == PQ3_OK, "floor: kem");
    pq3b_require(pq3_mlkem768_encaps(fl.ct768, ss, fl.ek768) == PQ3_OK, "floor: kem");
    pq3b_require(pq3_mlkem1024_keypair(fl.ek1024, fl.dk1024) == PQ3_OK, "floor: kem");
    pq3b_require(pq3_mlkem1024_encaps(fl.ct1024, ss, fl.ek1024) == PQ3_OK, "floor: kem");
    memset(fl.info, 0x5a, sizeof fl.info);
    memset(fl.prk, 0x22, sizeof fl.prk);
    memset(fl.ikm, 0x33, sizeof fl.ikm);
    memset(fl.key, 0x11, sizeof fl.key);
    memset(fl.buf, 0x44, sizeof fl.buf);
    fl.sid_len = (2 + alice.cert.handle_len + PQ3_DEVICE_ID_BYTES + PQ3_ECDSA_PUB_BYTES) +
                 (2 + bob.cert.handle_len + PQ3_DEVICE_ID_BYTES + PQ3_ECDSA_PUB_BYTES);
}

static void f_sign(void)
{
    uint8_t sig[PQ3_ECDSA_SIG_BYTES];
    pq3b_require(pq3_ecdsa_sign(sig, fl.sign_priv, fl.tbs.msg, fl.tbs.len) == PQ3_OK,
                 "floor: sign");
}
static void f_verify(const signed_input *s)
{
    pq3b_require(pq3_ecdsa_verify(&fl.vk, s->sig, s->msg, s->len) == PQ3_OK, "floor: verify");
}
static void f_ecdsa_import(void)
{
    pq3_ecdsa_pub pub;
    pq3b_require(pq3_ecdsa_import(&pub, fl.sign_pub) == PQ3_OK, "floor: ecdsa import");
}
static void f_sha(const uint8_t *m, size_t len)
{
    uint8_t out[PQ3_SHA384_BYTES];
    pq3b_require(pq3_sha384(out, m, len) == PQ3_OK, "floor: sha384");
}
static void f_aes(size_t len)
{
    pq3b_require(pq3_aes256ctr(fl.buf, fl.buf, len, fl.key, fl.iv) == PQ3_OK, "floor: aes");
}
static void f_extract(size_t ikm_len)
{
    uint8_t prk[PQ3_HKDF_PRK_BYTES];
    pq3b_require(pq3_hkdf_sha384_extract(prk, fl.key, 32, fl.ikm, ikm_len) == PQ3_OK,
                 "floor: extract");
}
static void f_expand(size_t out_len, size_t info_len)
{
    uint8_t out[4 * PQ3_SHA384_BYTES];
    pq3b_require(out_len <= sizeof out &&
                     pq3_hkdf_sha384_expand(out, out_len, fl.prk, fl.info, info_len) == PQ3_OK,
                 "floor: expand");
}
/* §8.1 KDF_RK: two Extracts, Expand(t2, L_ROOT || dst, 64) = two HMACs */
static void f_root(size_t dst_len)
{
    f_extract(32);
    f_extract(48);
    f_expand(64, L_ROOT_BYTES + dst_len);
}
/* §8.2 mk and CK', §8.3 x (AES key and IV) and mki: four HMACs of one
 * block of message each. Timed as one Expand of four blocks, which makes
 * four such HMACs on one digest context, as the library does, rather than
 * four calls that each set up their own context. */
static void f_message_keys(void)
{
    f_expand(4 * PQ3_SHA384_BYTES, 22);
}
static void f_ecdh_keygen(void)
{
    uint8_t priv[32], pub[32];
    pq3b_require(pq3_ecdh_keypair(priv, pub, NULL) == PQ3_OK, "floor: ecdh keygen");
    pq3_wipe(priv, sizeof priv);
}
static void f_ecdh_derive(void)
{
    uint8_t ss[32];
    pq3b_require(pq3_ecdh_derive(ss, fl.ecdh_priv, &fl.ecdh_peer) == PQ3_OK, "floor: derive");
}
static void f_ecdh_import(void)
{
    pq3_ecdh_peer peer;
    pq3b_require(pq3_ecdh_import(&peer, fl.ecdh_pub) == PQ3_OK, "floor: ecdh import");
}
static void f_kem768_keygen(void)
{
    uint8_t ek[PQ3_MLKEM768_EK_BYTES], dk[PQ3_MLKEM768_DK_BYTES];
    pq3b_require(pq3_mlkem768_keypair(ek, dk) == PQ3_OK, "floor: kem keygen");
    pq3_wipe(dk, sizeof dk);
}
static void f_kem768_encaps(void)
{
    uint8_t ct[PQ3_MLKEM768_CT_BYTES], ss[32];
    pq3b_require(pq3_mlkem768_encaps(ct, ss, fl.ek768) == PQ3_OK, "floor: encaps");
}
static void f_kem768_decaps(void)
{
    uint8_t ss[32];
    pq3b_require(pq3_mlkem768_decaps(ss, fl.ct768, fl.dk768) == PQ3_OK, "floor: decaps");
}
static void f_kem768_check(void)
{
    pq3b_require(pq3_mlkem768_check_ek(fl.ek768) == PQ3_OK, "floor: ek check");
}
static void f_kem1024_encaps(void)
{
    uint8_t ct[PQ3_MLKEM1024_CT_BYTES], ss[32];
    pq3b_require(pq3_mlkem1024_encaps(ct, ss, fl.ek1024) == PQ3_OK, "floor: encaps 1024");
}
static void f_kem1024_decaps(void)
{
    uint8_t ss[32];
    pq3b_require(pq3_mlkem1024_decaps(ss, fl.ct1024, fl.dk1024) == PQ3_OK, "floor: decaps 1024");
}
static void f_kem1024_check(void)
{
    pq3b_require(pq3_mlkem1024_check_ek(fl.ek1024) == PQ3_OK, "floor: ek check 1024");
}

/* The ciphertext length of a message without AD (§9.1: the u32 after the
 * mki). */
static size_t ctext_len(const uint8_t *msg, size_t len)
{
    size_t off = 43 + 16, c;
    if (msg[2] & PQ3_MSG_START)
        off += PQ3_MSG_START_BYTES;
    if (msg[2] & PQ3_MSG_EK)
        off += PQ3_MLKEM768_EK_BYTES;
    if (msg[2] & PQ3_MSG_CT)
        off += PQ3_MLKEM768_CT_BYTES;
    pq3b_require(!(msg[2] & PQ3_MSG_AD) && off + 4 <= len, "message layout");
    c = (size_t)msg[off] << 24 | (size_t)msg[off + 1] << 16 | (size_t)msg[off + 2] << 8 |
        (size_t)msg[off + 3];
    pq3b_require(off + 4 + c + PQ3_ECDSA_SIG_BYTES == len && c <= MSG_CAP, "message layout");
    return c;
}

/* The primitives a seal cannot avoid (§12): on a new chain the ratchet step
 * of §11.2 (ECDH keygen, encapsulation when it answers, ECDH, KDF_RK, a
 * fresh ML-KEM-768 pair when it offers one), then the keys (§8.2, §8.3),
 * AES-256-CTR of the padded body, SHA-384 of the message and the signature
 * (§7). */
static span floor_seal(const uint8_t *msg, size_t len, int new_chain, int fresh_offer)
{
    size_t c = ctext_len(msg, len);
    clk t = clk_begin();
    if (new_chain) {
        f_ecdh_keygen();
        if (msg[2] & PQ3_MSG_CT)
            f_kem768_encaps();
        f_ecdh_derive();
        f_root(RATCHET_DST + ((msg[2] & PQ3_MSG_CT) ? RATCHET_KEM : 0));
        if (fresh_offer)
            f_kem768_keygen();
    }
    f_message_keys();
    f_aes(c);
    f_sha(msg, len - PQ3_ECDSA_SIG_BYTES);
    f_sign();
    return clk_end(t);
}

/* The primitives an open cannot avoid (§13): SHA-384 of the message and the
 * signature check; on a new peer chain the import of its ratchet key, the
 * ek check of an offer, the decapsulation of an answer, ECDH and KDF_RK; the
 * digest of a repeated START or CT (§13 step 3, §11.4); the keys and
 * AES-256-CTR. */
static span floor_open(const uint8_t *msg, size_t len, int new_chain)
{
    size_t c = ctext_len(msg, len);
    clk t = clk_begin();
    f_sha(msg, len - PQ3_ECDSA_SIG_BYTES);
    f_verify(&fl.tbs);
    if (new_chain) {
        f_ecdh_import();
        if (msg[2] & PQ3_MSG_EK)
            f_kem768_check();
        if (msg[2] & PQ3_MSG_CT)
            f_kem768_decaps();
        f_ecdh_derive();
        f_root(RATCHET_DST + ((msg[2] & PQ3_MSG_CT) ? RATCHET_KEM : 0));
    }
    if (msg[2] & PQ3_MSG_CT)
        f_sha(msg + 43, PQ3_MLKEM768_CT_BYTES);
    if (msg[2] & PQ3_MSG_START)
        f_sha(msg + 43, PQ3_MSG_START_BYTES);
    f_message_keys();
    f_aes(c);
    return clk_end(t);
}

/* The initiator's start from a directory lookup: the peer's certificate
 * (§4: account key import, signature, device key import), its bundle (§6:
 * SHA-384 of the encoding, signature, ECDH key import, ML-KEM-1024 ek
 * check), the start (§10.2, §7: both SID digests, E, encapsulation, ECDH,
 * KDF_RK over the start transcript) and the first seal. */
static span floor_start_sender(const uint8_t *bundle, const uint8_t *msg, size_t len)
{
    size_t c = ctext_len(msg, len);
    clk t = clk_begin();
    f_ecdsa_import();
    f_verify(&fl.cert_bob);
    f_ecdsa_import();
    f_sha(bundle, PQ3_PREKEY_BUNDLE_BYTES);
    f_verify(&fl.prekey);
    f_ecdh_import();
    f_kem1024_check();
    f_sha(fl.buf, fl.sid_len);
    f_sha(fl.buf, fl.sid_len);
    f_ecdh_keygen();
    f_kem1024_encaps();
    f_ecdh_derive();
    f_root(START_DST);
    f_message_keys();
    f_aes(c);
    f_sha(msg, len - PQ3_ECDSA_SIG_BYTES);
    f_sign();
    return clk_end(t);
}

/* The responder (§10.3): the sender's certificate, both SID digests, the
 * message's signature, the start's replay-cache digest SHA-384(E || ct0)
 * (§10.4), E imported, decapsulation, ECDH, KDF_RK, the keys, AES-256-CTR,
 * the digest of the START header kept for its repetitions. */
static span floor_start_receiver(const uint8_t *msg, size_t len)
{
    size_t c = ctext_len(msg, len);
    clk t = clk_begin();
    f_ecdsa_import();
    f_verify(&fl.cert_alice);
    f_ecdsa_import();
    f_sha(fl.buf, fl.sid_len);
    f_sha(fl.buf, fl.sid_len);
    f_sha(msg, len - PQ3_ECDSA_SIG_BYTES);
    f_verify(&fl.tbs);
    f_sha(msg, 32 + PQ3_MLKEM1024_CT_BYTES);
    f_ecdh_import();
    f_kem1024_decaps();
    f_ecdh_derive();
    f_root(START_DST);
    f_message_keys();
    f_aes(c);
    f_sha(msg + 43, PQ3_MSG_START_BYTES);
    return clk_end(t);
}

/* ---- how a device keeps its state: five modes ------------------------------ */

enum { SESSION, SESSION_STORED, PEER, PEER_BLOB, PEER_RECORDS, N_MODES };

static const char *const mode_name[N_MODES] = {
    "session in memory", "session stored", "peer in memory", "peer stored, one blob",
    "peer stored, records",
};

/* A device's records of one container (§10.7): the header, one record per
 * session (one spare slot for a session added before an old one goes),
 * the store. */
#define REC_SLOTS (PQ3_PEER_MAX_SESSIONS + 1)
typedef struct {
    uint8_t header[PQ3_PEER_RECORD_MAX_BYTES];
    size_t header_len;
    int used[REC_SLOTS];
    uint8_t id[REC_SLOTS][32];
    uint64_t gen[REC_SLOTS];
    uint8_t sess[REC_SLOTS][PQ3_STATE_MAX_BYTES];
    size_t sess_len[REC_SLOTS];
    uint8_t store[PQ3_SKIPPED_MAX_BYTES];
    size_t store_len;
    uint64_t store_gen;
    int have_store;
    uint64_t ops, bytes, session_writes, store_writes;
} records;

/* After an operation: the header, each session record whose generation
 * grew, the store record when its generation changed; records the header
 * no longer names are deleted. Never an older record over a newer one. */
static void records_save(records *r, const pq3_peer *p)
{
    int named[REC_SLOTS] = { 0 };
    pq3b_require(pq3_peer_header_serialize(p, r->header, sizeof r->header, &r->header_len) ==
                     PQ3_OK,
                 "header record");
    r->bytes += r->header_len;
    for (uint32_t i = 0; i < p->count; i++) {
        const pq3_session *s = &p->slots[i].session;
        uint32_t k = 0;
        while (k < REC_SLOTS && !(r->used[k] && memcmp(r->id[k], s->session_id, 32) == 0))
            k++;
        if (k == REC_SLOTS) {
            k = 0;
            while (k < REC_SLOTS && r->used[k])
                k++;
            pq3b_require(k < REC_SLOTS, "a free session record");
        }
        if (!r->used[k] || r->gen[k] != s->generation) {
            pq3b_require(!r->used[k] || r->gen[k] < s->generation, "no older record over a newer");
            pq3b_require(pq3_session_serialize(s, r->sess[k], PQ3_STATE_MAX_BYTES,
                                               &r->sess_len[k]) == PQ3_OK,
                         "session record");
            memcpy(r->id[k], s->session_id, 32);
            r->gen[k] = s->generation;
            r->used[k] = 1;
            r->bytes += r->sess_len[k];
            r->session_writes++;
        }
        named[k] = 1;
    }
    for (uint32_t k = 0; k < REC_SLOTS; k++)
        if (r->used[k] && !named[k]) {
            pq3_wipe(r->sess[k], r->sess_len[k]);
            r->used[k] = 0;
        }
    if (!r->have_store || r->store_gen != p->store.generation) {
        pq3b_require(pq3_skipped_serialize(&p->store, r->store, sizeof r->store, &r->store_len) ==
                         PQ3_OK,
                     "store record");
        r->store_gen = p->store.generation;
        r->have_store = 1;
        r->bytes += r->store_len;
        r->store_writes++;
    }
    r->ops++;
}

static void records_load(const records *r, pq3_peer *p)
{
    const uint8_t *sess[REC_SLOTS];
    size_t lens[REC_SLOTS], n = 0;
    for (uint32_t k = 0; k < REC_SLOTS; k++)
        if (r->used[k]) {
            sess[n] = r->sess[k];
            lens[n++] = r->sess_len[k];
        }
    pq3b_require(pq3_peer_load(p, r->header, r->header_len, sess, lens, n, r->store,
                               r->store_len) == PQ3_OK,
                 "peer load (records)");
}

/* One device of a link, in one mode. */
typedef struct {
    const party *me, *them;
    const pq3_prekey_secret *prekey; /* bob's; NULL for alice (she takes no starts) */
    pq3_start_cache *cache;
    pq3_session s;       /* SESSION; the loaded copy for SESSION_STORED */
    pq3_skipped *sk;     /* the session's store (both session modes) */
    uint64_t sk_gen;
    uint8_t state[PQ3_STATE_MAX_BYTES];
    size_t state_len;    /* SESSION_STORED */
    uint8_t *sk_bytes;
    size_t sk_len;       /* SESSION_STORED: its store's record, when it changes */
    pq3_peer *p;         /* PEER; the loaded copy for PEER_BLOB, PEER_RECORDS */
    uint8_t *blob;
    size_t blob_len;     /* PEER_BLOB */
    records *rec;        /* PEER_RECORDS */
} side;

typedef struct {
    int mode;
    side a, b;
    pq3_start_cache *cache;
} link;

static void *alloc(size_t n)
{
    void *p = calloc(1, n);
    pq3b_require(p != NULL, "allocation");
    return p;
}

/* Loading and saving around an operation: part of the timed call. */
static void side_load(side *d, int mode)
{
    switch (mode) {
    case SESSION_STORED:
        pq3b_require(pq3_session_deserialize(&d->s, d->state, d->state_len) == PQ3_OK,
                     "session load");
        break;
    case PEER_BLOB:
        pq3b_require(pq3_peer_deserialize(d->p, d->blob, d->blob_len) == PQ3_OK, "peer load");
        break;
    case PEER_RECORDS:
        records_load(d->rec, d->p);
        break;
    default:
        break;
    }
}

static void side_save(side *d, int mode)
{
    switch (mode) {
    case SESSION_STORED:
        pq3b_require(pq3_session_serialize(&d->s, d->state, sizeof d->state, &d->state_len) ==
                         PQ3_OK,
                     "session save");
        if (d->sk->generation != d->sk_gen) {
            pq3b_require(pq3_skipped_serialize(d->sk, d->sk_bytes, PQ3_SKIPPED_MAX_BYTES,
                                               &d->sk_len) == PQ3_OK,
                         "store save");
            d->sk_gen = d->sk->generation;
        }
        break;
    case PEER_BLOB:
        pq3b_require(pq3_peer_serialize(d->p, d->blob, PQ3_PEER_MAX_BYTES, &d->blob_len) ==
                         PQ3_OK,
                     "peer save");
        break;
    case PEER_RECORDS:
        records_save(d->rec, d->p);
        break;
    default:
        break;
    }
}

/* The loaded copy is wiped after it was saved (not timed). */
static void side_forget(side *d, int mode)
{
    if (mode == SESSION_STORED)
        pq3_session_wipe(&d->s);
    else if (mode == PEER_BLOB || mode == PEER_RECORDS)
        pq3_peer_wipe(d->p);
}

static span link_seal(link *l, int from_alice, uint64_t now, const pq3_rekey_policy *pol,
                      uint8_t *out, size_t *out_len)
{
    side *d = from_alice ? &l->a : &l->b;
    clk t = clk_begin();
    span s;
    side_load(d, l->mode);
    if (l->mode == SESSION || l->mode == SESSION_STORED)
        pq3b_require(pq3_session_seal(&d->s, &d->me->ds, pol, now, NULL, PQ3_CONTENT_MESSAGE,
                                      text, sizeof text, NULL, 0, out, MSG_CAP, out_len) ==
                         PQ3_OK,
                     "seal");
    else
        pq3b_require(pq3_peer_seal(d->p, &d->me->ds, pol, now, NULL, PQ3_CONTENT_MESSAGE, text,
                                   sizeof text, NULL, 0, out, MSG_CAP, out_len, NULL) == PQ3_OK,
                     "peer seal");
    side_save(d, l->mode);
    s = clk_end(t);
    side_forget(d, l->mode);
    return s;
}

static span link_open(link *l, int to_alice, uint64_t now, const uint8_t *msg, size_t len,
                      pq3_opened *info)
{
    static uint8_t body[MSG_CAP];
    side *d = to_alice ? &l->a : &l->b;
    clk t = clk_begin();
    span s;
    side_load(d, l->mode);
    if (l->mode == SESSION || l->mode == SESSION_STORED)
        pq3b_require(pq3_session_open_ex(&d->s, d->sk, now, msg, len, body, sizeof body, info) ==
                         PQ3_OK,
                     "open");
    else
        pq3b_require(pq3_peer_open(d->p, &d->me->cert, &d->them->cert, d->prekey, d->cache, now,
                                   msg, len, body, sizeof body, info, NULL) == PQ3_OK,
                     "peer open");
    side_save(d, l->mode);
    s = clk_end(t);
    side_forget(d, l->mode);
    pq3b_require(info->body_len == BODY_LEN, "open: the body");
    return s;
}

/* bob's prekey for the conversations (the start section uses a fresh one
 * per start) */
static pq3_prekey_secret conv_prekey;
static pq3_prekey_bundle conv_bundle; /* as alice verified it */

/* A session between alice and bob in `mode`: alice starts with bob's
 * bundle, her first message (START) is accepted by bob. Not timed. */
static void link_setup(link *l, int mode, uint8_t *first, size_t *first_len)
{
    static uint8_t body[MSG_CAP];
    pq3_opened info;
    side *sd[2];
    memset(l, 0, sizeof *l);
    l->mode = mode;
    l->cache = alloc(sizeof *l->cache);
    pq3b_require(pq3_start_cache_init(l->cache, conv_prekey.bundle.hash,
                                      PQ3_START_CACHE_DEFAULT) == PQ3_OK,
                 "cache");
    l->a.me = l->b.them = &alice;
    l->a.them = l->b.me = &bob;
    l->b.prekey = &conv_prekey;
    l->b.cache = l->cache;
    sd[0] = &l->a;
    sd[1] = &l->b;
    if (mode == SESSION || mode == SESSION_STORED) {
        for (int i = 0; i < 2; i++) {
            sd[i]->sk = alloc(sizeof *sd[i]->sk);
            pq3_skipped_init_default(sd[i]->sk);
            sd[i]->sk_bytes = alloc(PQ3_SKIPPED_MAX_BYTES);
        }
        pq3b_require(pq3_session_start(&l->a.s, &alice.cert, &bob.cert, &conv_bundle, T0, NULL) ==
                         PQ3_OK,
                     "start");
        pq3b_require(pq3_session_seal(&l->a.s, &alice.ds, NULL, T0, NULL, PQ3_CONTENT_MESSAGE,
                                      text, sizeof text, NULL, 0, first, MSG_CAP, first_len) ==
                         PQ3_OK,
                     "seal");
        pq3b_require(pq3_session_accept_ex(&l->b.s, l->b.sk, l->cache, &bob.cert, &alice.cert,
                                           &conv_prekey, T0, first, *first_len, body, sizeof body,
                                           &info) == PQ3_OK,
                     "accept");
        for (int i = 0; i < 2; i++)
            sd[i]->sk_gen = sd[i]->sk->generation;
    } else {
        for (int i = 0; i < 2; i++) {
            sd[i]->p = alloc(sizeof *sd[i]->p);
            pq3_peer_init_default(sd[i]->p);
            if (mode == PEER_BLOB)
                sd[i]->blob = alloc(PQ3_PEER_MAX_BYTES);
            if (mode == PEER_RECORDS)
                sd[i]->rec = alloc(sizeof *sd[i]->rec);
        }
        pq3b_require(pq3_peer_start(l->a.p, &alice.cert, &bob.cert, &conv_bundle, T0, NULL) ==
                         PQ3_OK,
                     "peer start");
        pq3b_require(pq3_peer_seal(l->a.p, &alice.ds, NULL, T0, NULL, PQ3_CONTENT_MESSAGE, text,
                                   sizeof text, NULL, 0, first, MSG_CAP, first_len, NULL) ==
                         PQ3_OK,
                     "peer seal");
        pq3b_require(pq3_peer_open(l->b.p, &bob.cert, &alice.cert, &conv_prekey, l->cache, T0,
                                   first, *first_len, body, sizeof body, &info, NULL) == PQ3_OK,
                     "peer open (start)");
    }
    for (int i = 0; i < 2; i++) {
        side_save(sd[i], mode);
        side_forget(sd[i], mode);
        if (sd[i]->rec != NULL)
            sd[i]->rec->ops = sd[i]->rec->bytes = sd[i]->rec->session_writes =
                sd[i]->rec->store_writes = 0;
    }
}

static void link_free(link *l)
{
    side *sd[2] = { &l->a, &l->b };
    for (int i = 0; i < 2; i++) {
        pq3_session_wipe(&sd[i]->s);
        pq3_skipped_wipe(sd[i]->sk);
        pq3_peer_wipe(sd[i]->p);
        if (sd[i]->sk_bytes != NULL)
            pq3_wipe(sd[i]->sk_bytes, PQ3_SKIPPED_MAX_BYTES);
        if (sd[i]->blob != NULL)
            pq3_wipe(sd[i]->blob, PQ3_PEER_MAX_BYTES);
        if (sd[i]->rec != NULL)
            pq3_wipe(sd[i]->rec, sizeof *sd[i]->rec);
        pq3_wipe(sd[i]->state, sizeof sd[i]->state);
        free(sd[i]->sk);
        free(sd[i]->sk_bytes);
        free(sd[i]->p);
        free(sd[i]->blob);
        free(sd[i]->rec);
    }
    free(l->cache);
    memset(l, 0, sizeof *l);
}

/* ---- conversations ------------------------------------------------------- */

enum { PINGPONG, BURST };

/* Who sends message i (0: bob's answer to the start). */
static int alice_sends(int pattern, size_t i)
{
    if (pattern == PINGPONG)
        return i % 2 == 1;
    return i % (BURST_LEN + 1) != 0;
}

/* Kinds of message (§11.2, §11.4): in a chain or opening a new one, with
 * an offered ek, with an answering ct. */
#define N_KINDS 8
static const char *const kind_name[N_KINDS] = {
    "in a chain", "in a chain, ct repeated", "in a chain, ek", "in a chain, ek+ct",
    "new chain", "new chain, ct (answer)", "new chain, ek (offer)", "new chain, ek+ct",
};

static int kind_of(int new_chain, uint8_t flags)
{
    return (new_chain ? 4 : 0) | ((flags & PQ3_MSG_EK) ? 2 : 0) | ((flags & PQ3_MSG_CT) ? 1 : 0);
}

typedef struct {
    int pattern;
    uint64_t step;  /* seconds of `now` between messages */
    size_t n;       /* messages timed (after n / 10 untimed) */
    int n_modes;    /* modes 0 .. n_modes - 1 run side by side */
} run_config;

typedef struct {
    trio_result mode[N_MODES];
    trio_result floor;
    pq3b_result kind[N_KINDS], kind_floor[N_KINDS]; /* seal+open, session in memory */
    size_t kind_n[N_KINDS];
    double floor_mean_seal, floor_mean_open, floor_mean_both;
    unsigned long offers, offers_by_age, offers_by_count, answers;
    uint64_t rec_ops, rec_bytes, rec_session_writes, rec_store_writes;
    size_t n;
} run_result;

/*
 * The modes each hold their own session between alice and bob and carry the
 * same conversation in lockstep: every message is sealed in each mode and
 * the primitives of that seal are timed once among them, then it is opened
 * in each mode and the primitives of that open are timed once among them.
 * All modes must produce messages of the same kind and size.
 */
static void run(const run_config *cfg, run_result *res)
{
    static link links[N_MODES];
    static uint8_t msgs[N_MODES][MSG_CAP];
    size_t lens[N_MODES], warm = cfg->n / 10 + 1;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    trio samples[N_MODES], floor;
    pq3b_samples kind[N_KINDS], kind_floor[N_KINDS];

    memset(res, 0, sizeof *res);
    for (int k = 0; k < N_KINDS; k++) {
        pq3b_samples_init(&kind[k], 16);
        pq3b_samples_init(&kind_floor[k], 16);
    }
    for (int m = 0; m < cfg->n_modes; m++) {
        link_setup(&links[m], m, msgs[m], &lens[m]);
        trio_init(&samples[m], cfg->n);
    }
    trio_init(&floor, cfg->n);
    for (size_t i = 0; i < warm + cfg->n; i++) {
        int from_alice = alice_sends(cfg->pattern, i), timed = i >= warm;
        uint64_t now = T0 + (uint64_t)(i + 1) * cfg->step;
        const pq3_session *ref = from_alice ? &links[SESSION].a.s : &links[SESSION].b.s;
        int new_chain = !(ref->flags & PQ3_ST_SEND), had_offer = (ref->flags & PQ3_ST_MY_OFFER) != 0;
        uint32_t count_before = ref->pq_count;
        uint64_t age_before = now > ref->pq_time ? now - ref->pq_time : 0;
        size_t fpos = i % (size_t)cfg->n_modes;
        span seal[N_MODES], open[N_MODES], fs = { 0, 0 }, fo = { 0, 0 };
        pq3_opened info;
        int fresh_offer = 0, first = 0;

        /* The modes take turns to go first; the floor's place among them
         * moves too (after the first, the second, ... call). */
        for (int k = 0; k < cfg->n_modes; k++) {
            int m = (int)((i + (size_t)k) % (size_t)cfg->n_modes);
            seal[m] = link_seal(&links[m], from_alice, now, &pol, msgs[m], &lens[m]);
            if (k == 0)
                first = m;
            if ((size_t)k == fpos) {
                fresh_offer = new_chain && (msgs[first][2] & PQ3_MSG_EK) && !had_offer;
                fs = floor_seal(msgs[first], lens[first], new_chain, fresh_offer);
            }
        }
        for (int m = 1; m < cfg->n_modes; m++)
            pq3b_require(lens[m] == lens[0] && msgs[m][2] == msgs[0][2], "the modes in step");
        for (int k = 0; k < cfg->n_modes; k++) {
            int m = (int)((i + (size_t)k) % (size_t)cfg->n_modes);
            open[m] = link_open(&links[m], !from_alice, now, msgs[m], lens[m], &info);
            pq3b_require(info.new_chain == new_chain, "the modes in step");
            if ((size_t)k == fpos)
                fo = floor_open(msgs[first], lens[first], new_chain);
        }
        if (!timed)
            continue;
        for (int m = 0; m < cfg->n_modes; m++)
            trio_add(&samples[m], seal[m], open[m]);
        trio_add(&floor, fs, fo);
        {
            int k = kind_of(new_chain, msgs[0][2]);
            span both = span_add(seal[SESSION], open[SESSION]), fboth = span_add(fs, fo);
            pq3b_samples_add(&kind[k], both.ticks, both.ns);
            pq3b_samples_add(&kind_floor[k], fboth.ticks, fboth.ns);
        }
        res->floor_mean_seal += (double)fs.ns;
        res->floor_mean_open += (double)fo.ns;
        res->floor_mean_both += (double)(fs.ns + fo.ns);
        if (new_chain && (msgs[0][2] & PQ3_MSG_CT))
            res->answers++;
        if (fresh_offer) {
            res->offers++;
            res->offers_by_age += age_before >= pol.max_age;
            res->offers_by_count += count_before >= pol.max_messages;
        }
    }
    for (int m = 0; m < cfg->n_modes; m++)
        res->mode[m] = trio_done(&samples[m]);
    res->floor = trio_done(&floor);
    for (int k = 0; k < N_KINDS; k++) {
        res->kind_n[k] = kind[k].n;
        if (kind[k].n > 0) {
            res->kind[k] = pq3b_samples_result(&kind[k]);
            res->kind_floor[k] = pq3b_samples_result(&kind_floor[k]);
        }
        pq3b_samples_free(&kind[k]);
        pq3b_samples_free(&kind_floor[k]);
    }
    res->floor_mean_seal /= 1000.0 * (double)cfg->n;
    res->floor_mean_open /= 1000.0 * (double)cfg->n;
    res->floor_mean_both /= 1000.0 * (double)cfg->n;
    res->n = cfg->n;
    if (cfg->n_modes > PEER_RECORDS) {
        records *ra = links[PEER_RECORDS].a.rec, *rb = links[PEER_RECORDS].b.rec;
        res->rec_ops = ra->ops + rb->ops;
        res->rec_bytes = ra->bytes + rb->bytes;
        res->rec_session_writes = ra->session_writes + rb->session_writes;
        res->rec_store_writes = ra->store_writes + rb->store_writes;
    }
    for (int m = 0; m < cfg->n_modes; m++)
        link_free(&links[m]);
}

/* ---- session start ------------------------------------------------------- */

typedef struct {
    pq3b_result sender, receiver, whole, prekey_gen;
    double f_sender, f_receiver, f_whole;
    double fm_sender, fm_receiver, fm_whole;
    size_t n;
} start_result;

/*
 * n starts, each against a fresh prekey of bob's (made, encoded and given
 * an empty replay cache outside the timed calls). Sender: bob's certificate
 * and bundle from their encodings (a directory lookup), the start, the
 * first seal. Receiver: alice's certificate from its encoding, the message
 * peeked for its prekey, the accept with the replay cache and a skipped-key
 * store.
 */
static void run_starts(size_t n, start_result *r)
{
    static uint8_t bundle_enc[PQ3_PREKEY_BUNDLE_BYTES], msg[MSG_CAP], body[MSG_CAP];
    static pq3_prekey_secret pk;
    static pq3_session sa, sb;
    pq3_start_cache *cache = alloc(sizeof *cache);
    pq3_skipped *sk = alloc(sizeof *sk);
    pq3b_samples s_snd, s_rcv, s_all, s_gen, f_snd, f_rcv, f_all;
    size_t warm = n / 10 + 1, len = 0;
    double fm_s = 0, fm_r = 0;

    pq3b_samples_init(&s_snd, n);
    pq3b_samples_init(&s_rcv, n);
    pq3b_samples_init(&s_all, n);
    pq3b_samples_init(&s_gen, n);
    pq3b_samples_init(&f_snd, n);
    pq3b_samples_init(&f_rcv, n);
    pq3b_samples_init(&f_all, n);
    for (size_t i = 0; i < warm + n; i++) {
        pq3_device_cert bob_cert, alice_cert;
        pq3_prekey_bundle b;
        pq3_message_info mi;
        pq3_opened info;
        span snd, rcv, fs = { 0, 0 }, fr = { 0, 0 }, gen;
        int floor_first = i % 2 == 1; /* the floor before the call or after it */
        clk t;

        /* bob's new prekey, its encoding, its empty replay cache; his store */
        t = clk_begin();
        pq3b_require(pq3_prekey_generate(&pk, (uint32_t)i + 1, T0, T0 + 7 * DAY, &bob.ds, NULL) ==
                         PQ3_OK,
                     "prekey");
        gen = clk_end(t);
        pq3b_require(pq3_prekey_encode(bundle_enc, &pk.bundle) == PQ3_OK, "encode");
        pq3b_require(pq3_start_cache_init(cache, pk.bundle.hash, PQ3_START_CACHE_DEFAULT) ==
                         PQ3_OK,
                     "cache");
        pq3_skipped_init_default(sk);

        if (floor_first) /* the previous start message: the same size */
            fs = floor_start_sender(bundle_enc, msg, len);
        t = clk_begin();
        pq3b_require(pq3_cert_verify(&bob_cert, bob.enc, bob.enc_len, bob.account.pub, T0) ==
                         PQ3_OK,
                     "verify bob's certificate");
        pq3b_require(pq3_prekey_verify(&b, bundle_enc, sizeof bundle_enc, &bob_cert, T0) == PQ3_OK,
                     "verify the bundle");
        pq3b_require(pq3_session_start(&sa, &alice.cert, &bob_cert, &b, T0, NULL) == PQ3_OK,
                     "start");
        pq3b_require(pq3_session_seal(&sa, &alice.ds, NULL, T0, NULL, PQ3_CONTENT_MESSAGE, text,
                                      sizeof text, NULL, 0, msg, sizeof msg, &len) == PQ3_OK,
                     "seal");
        snd = clk_end(t);
        if (!floor_first)
            fs = floor_start_sender(bundle_enc, msg, len);

        if (floor_first)
            fr = floor_start_receiver(msg, len);
        t = clk_begin();
        pq3b_require(pq3_cert_verify(&alice_cert, alice.enc, alice.enc_len, alice.account.pub,
                                     T0) == PQ3_OK,
                     "verify alice's certificate");
        pq3b_require(pq3_message_peek(&mi, msg, len) == PQ3_OK &&
                         memcmp(mi.prekey_hash, pk.bundle.hash, PQ3_PREKEY_HASH_BYTES) == 0,
                     "peek");
        pq3b_require(pq3_session_accept_ex(&sb, sk, cache, &bob.cert, &alice_cert, &pk, T0, msg,
                                           len, body, sizeof body, &info) == PQ3_OK,
                     "accept");
        rcv = clk_end(t);
        if (!floor_first)
            fr = floor_start_receiver(msg, len);
        pq3b_require(info.body_len == BODY_LEN && cache->count == 1, "accept: body, cache");

        if (i < warm)
            continue;
        pq3b_samples_add(&s_snd, snd.ticks, snd.ns);
        pq3b_samples_add(&s_rcv, rcv.ticks, rcv.ns);
        pq3b_samples_add(&s_all, snd.ticks + rcv.ticks, snd.ns + rcv.ns);
        pq3b_samples_add(&s_gen, gen.ticks, gen.ns);
        pq3b_samples_add(&f_snd, fs.ticks, fs.ns);
        pq3b_samples_add(&f_rcv, fr.ticks, fr.ns);
        pq3b_samples_add(&f_all, fs.ticks + fr.ticks, fs.ns + fr.ns);
        fm_s += (double)fs.ns;
        fm_r += (double)fr.ns;
    }
    r->sender = pq3b_samples_result(&s_snd);
    r->receiver = pq3b_samples_result(&s_rcv);
    r->whole = pq3b_samples_result(&s_all);
    r->prekey_gen = pq3b_samples_result(&s_gen);
    r->f_sender = pq3b_samples_result(&f_snd).median_us;
    r->f_receiver = pq3b_samples_result(&f_rcv).median_us;
    r->f_whole = pq3b_samples_result(&f_all).median_us;
    r->fm_sender = fm_s / 1000.0 / (double)n;
    r->fm_receiver = fm_r / 1000.0 / (double)n;
    r->fm_whole = (fm_s + fm_r) / 1000.0 / (double)n;
    r->n = n;
    pq3b_samples_free(&s_snd);
    pq3b_samples_free(&s_rcv);
    pq3b_samples_free(&s_all);
    pq3b_samples_free(&s_gen);
    pq3b_samples_free(&f_snd);
    pq3b_samples_free(&f_rcv);
    pq3b_samples_free(&f_all);
    pq3_session_wipe(&sa);
    pq3_session_wipe(&sb);
    pq3_prekey_secret_wipe(&pk);
    pq3_skipped_wipe(sk);
    free(sk);
    free(cache);
}

/* ---- bytes on the wire --------------------------------------------------- */

static uint8_t wire_msg[MSG_CAP];
static size_t wire_len;

static void exchange(link *l, int from_alice, const pq3_rekey_policy *pol)
{
    pq3_opened info;
    (void)link_seal(l, from_alice, T0, pol, wire_msg, &wire_len);
    (void)link_open(l, !from_alice, T0, wire_msg, wire_len, &info);
}

/* Mean wire overhead (bytes beyond the 100-byte body) of a conversation.
 * Header repetition until acknowledged (docs/PROTOCOL.md §11.4) is always
 * on: START / CT on every message of their chain, EK on a chain's first. */
static double mean_overhead(size_t n, int change_percent)
{
    static link l;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    unsigned long long total = 0;
    unsigned rnd = 12345;
    int who = 1;
    link_setup(&l, SESSION, wire_msg, &wire_len);
    total += wire_len - sizeof text;
    for (size_t i = 1; i < n; i++) {
        rnd = rnd * 1103515245u + 12345u;
        if ((int)((rnd >> 16) % 100) < change_percent)
            who = !who;
        exchange(&l, who, &pol);
        total += wire_len - sizeof text;
    }
    link_free(&l);
    return (double)total / (double)n;
}

/* The size of the first message whose extension flags are exactly these. */
static size_t size_with(unsigned flags_wanted)
{
    static link l;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    size_t found = 0;
    pol.max_messages = flags_wanted == 0 ? 50 : 0; /* 0: every direction change offers */
    link_setup(&l, SESSION, wire_msg, &wire_len);
    for (int i = 0; i < 8 && found == 0; i++) {
        exchange(&l, i % 2 == 1, &pol);
        if ((wire_msg[2] & 7u) == flags_wanted)
            found = wire_len;
    }
    link_free(&l);
    return found;
}

static void wire_section(size_t n)
{
    static link l;
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    size_t plain, ek, ct, both;

    link_setup(&l, SESSION, wire_msg, &wire_len);
    exchange(&l, 0, &pol); /* bob's answer: a chain without extension */
    plain = wire_len;
    link_free(&l);
    ek = size_with(PQ3_MSG_EK);
    /* an answer alone: bob offers, alice answers under the default policy
     * (the answer resets the counters, so no new offer) */
    pol.max_messages = 0;
    link_setup(&l, SESSION, wire_msg, &wire_len);
    exchange(&l, 0, &pol);
    pol = pq3_rekey_policy_default();
    exchange(&l, 1, &pol);
    ct = (wire_msg[2] & 7u) == PQ3_MSG_CT ? wire_len : 0;
    link_free(&l);
    both = size_with(PQ3_MSG_EK | PQ3_MSG_CT);
    pq3b_require(plain > 0 && ek > 0 && ct > 0 && both > 0, "the message kinds");

    printf("\nbytes on the wire, 100-byte body (overhead = wire - 100)\n");
    printf("  plain message              %5zu B  overhead %4zu\n", plain, plain - 100);
    printf("  with ek                    %5zu B  overhead %4zu\n", ek, ek - 100);
    printf("  with ct                    %5zu B  overhead %4zu\n", ct, ct - 100);
    printf("  with ek and ct             %5zu B  overhead %4zu\n", both, both - 100);
    printf("  mean overhead, %zu messages, default policy, headers repeated until\n"
           "  acknowledged (section 11.4; target <= 190 was set before repetition):\n",
           n);
    printf("    ping-pong (direction change every message)   %.1f B\n", mean_overhead(n, 100));
    printf("    random, direction change p = 0.5              %.1f B\n", mean_overhead(n, 50));
    printf("    random, direction change p = 0.2              %.1f B\n", mean_overhead(n, 20));
    printf("    random, direction change p = 0.05             %.1f B\n", mean_overhead(n, 5));
}

/* ---- the floor's parts alone ---------------------------------------------- */

static void p_sign(void *a) { (void)a; f_sign(); }
static void p_verify(void *a) { (void)a; f_verify(&fl.tbs); }
static void p_ecdsa_import(void *a) { (void)a; f_ecdsa_import(); }
static void p_keygen(void *a) { (void)a; f_ecdh_keygen(); }
static void p_derive(void *a) { (void)a; f_ecdh_derive(); }
static void p_import(void *a) { (void)a; f_ecdh_import(); }
static void p_keys(void *a) { (void)a; f_message_keys(); }
static void p_root(void *a) { (void)a; f_root(RATCHET_DST); }
static void p_sha(void *a) { (void)a; f_sha(fl.buf, 167); }
static void p_aes(void *a) { (void)a; f_aes(104); }
static void p_kk(void *a) { (void)a; f_kem768_keygen(); }
static void p_ke(void *a) { (void)a; f_kem768_encaps(); }
static void p_kd(void *a) { (void)a; f_kem768_decaps(); }
static void p_kc(void *a) { (void)a; f_kem768_check(); }
static void p_ke1024(void *a) { (void)a; f_kem1024_encaps(); }
static void p_kd1024(void *a) { (void)a; f_kem1024_decaps(); }
static void p_kc1024(void *a) { (void)a; f_kem1024_check(); }

static void parts_section(size_t n)
{
    pq3b_header("the floor's parts alone (each called n times in a row, not interleaved)");
    pq3b_row("ECDSA P-256 sign (124 B)", pq3b_measure(p_sign, NULL, n), "");
    pq3b_row("ECDSA P-256 verify (124 B)", pq3b_measure(p_verify, NULL, n), "");
    pq3b_row("ECDSA key import (33 B)", pq3b_measure(p_ecdsa_import, NULL, n), "");
    pq3b_row("ECDH P-256 keygen", pq3b_measure(p_keygen, NULL, n), "");
    pq3b_row("ECDH P-256 derive", pq3b_measure(p_derive, NULL, n), "");
    pq3b_row("ECDH x-only import", pq3b_measure(p_import, NULL, n), "");
    pq3b_row("mk, CK', x, mki (Expand of 4 blocks)", pq3b_measure(p_keys, NULL, n), "4 HMAC");
    pq3b_row("KDF_RK, no KEM (2 Extract, Expand 64)", pq3b_measure(p_root, NULL, n), "4 HMAC");
    pq3b_row("SHA-384 (167 B: a plain message)", pq3b_measure(p_sha, NULL, n), "");
    pq3b_row("AES-256-CTR (104 B)", pq3b_measure(p_aes, NULL, n), "");
    pq3b_row("ML-KEM-768 keygen", pq3b_measure(p_kk, NULL, n), "");
    pq3b_row("ML-KEM-768 encaps", pq3b_measure(p_ke, NULL, n), "");
    pq3b_row("ML-KEM-768 decaps", pq3b_measure(p_kd, NULL, n), "");
    pq3b_row("ML-KEM-768 ek check", pq3b_measure(p_kc, NULL, n), "");
    pq3b_row("ML-KEM-1024 encaps", pq3b_measure(p_ke1024, NULL, n), "");
    pq3b_row("ML-KEM-1024 decaps", pq3b_measure(p_kd1024, NULL, n), "");
    pq3b_row("ML-KEM-1024 ek check", pq3b_measure(p_kc1024, NULL, n), "");
}

/* ---- printing ------------------------------------------------------------ */

static void print_load(const char *when)
{
    char line[128];
    FILE *f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return;
    if (fgets(line, sizeof line, f) != NULL)
        printf("load average %s: %s", when, line);
    fclose(f);
}

static void legend(void)
{
    printf(
        "OpenPQ3 protocol costs, scale %.2f. Every row: median, mean and p99 of\n"
        "its calls (rare slow calls, such as messages that carry an ML-KEM step,\n"
        "show in the mean and p99), and its floor.\n"
        "\n"
        "floor: the primitives the operation cannot avoid, called through the\n"
        "  public API (pq3/crypto.h, pq3/mlkem.h) with inputs of the same sizes,\n"
        "  timed as one block beside each operation in the same loop (one\n"
        "  operation, then its primitive set, and so on; the set's place before,\n"
        "  after or among the calls takes turns), and its median shown;\n"
        "  x floor = median / floor. A median below its floor is a measuring\n"
        "  error and is flagged. The 4 HMAC of the message keys are timed as one\n"
        "  HKDF Expand of 4 blocks (one digest context, as in the library); the\n"
        "  root KDF's 3 public calls set up a context each, where the library\n"
        "  shares one. ML-KEM encaps checks its ek again, as the library's does.\n"
        "  seal: ECDSA sign of the 124-byte signature input, SHA-384 of the\n"
        "    message before its signature (section 7), AES-256-CTR of the padded\n"
        "    body, 4 HMAC (HKDF Expand of mk, CK', AES key+IV, mki; section 8); on a\n"
        "    new chain ECDH keygen and derive and the root KDF (2 Extract + Expand\n"
        "    of 64 bytes over the transcript: 4 HMAC), ML-KEM-768 encaps when it\n"
        "    answers an offer, keygen when it makes a fresh offer (section 11.2).\n"
        "  open: SHA-384 and ECDSA verify, AES and the 4 HMAC; on a new peer chain\n"
        "    the x-only import of its key, ECDH derive, the root KDF, ML-KEM-768\n"
        "    ek check of an offer and decaps of an answer; SHA-384 of a START or\n"
        "    CT header the message repeats (section 13 step 3).\n"
        "  start: see the section.\n"
        "\n"
        "runs: 100-byte bodies, default rekey policy (an ML-KEM step at the first\n"
        "  direction change after 50 messages or 7 days), in-order delivery.\n"
        "  ping-pong: the direction changes with every message.\n"
        "  burst: alice sends %d messages in a row, then bob answers once.\n"
        "  slow: a ping-pong with one message every 4 hours of `now`, fewer than\n"
        "    50 in 7 days, so the 7-day age trigger makes the ML-KEM steps.\n"
        "  Every message counts: seal, open, and seal+open of the same message;\n"
        "  \"of which\" rows split the in-memory seal+open by kind of message.\n"
        "\n"
        "persisted: the way a device keeps state. Each seal and open is timed\n"
        "  with its load from bytes before and its save after:\n"
        "  session stored: pq3_session_deserialize, the call,\n"
        "    pq3_session_serialize (its skipped-key store stays in memory and is\n"
        "    written when its generation changes: never, in order).\n"
        "  peer stored, one blob: pq3_peer_deserialize, the pq3_peer call,\n"
        "    pq3_peer_serialize.\n"
        "  peer stored, records (section 10.7): pq3_peer_load of the header, the\n"
        "    session records and the store record; the call; then\n"
        "    pq3_peer_header_serialize, pq3_session_serialize of each session\n"
        "    whose generation grew, pq3_skipped_serialize only when the store's\n"
        "    generation changed.\n"
        "  Wiping the loaded copy afterwards is not timed. The twin is the same\n"
        "  message in memory (pq3_session or pq3_peer), run in the same loop on\n"
        "  its own session; ratio = persisted / twin. Their floor is the twin's:\n"
        "  loading needs no primitive a stored state could not spare.\n",
        scale, BURST_LEN);
}

static void rows3(const char *prefix, const trio_result *t, const run_result *r,
                  const char *note_seal, const char *note_open, const char *note_both)
{
    char name[96];
    snprintf(name, sizeof name, "%s: seal", prefix);
    pq3b_row_floor(name, t->seal, r->floor.seal.median_us, note_seal);
    snprintf(name, sizeof name, "%s: open", prefix);
    pq3b_row_floor(name, t->open, r->floor.open.median_us, note_open);
    snprintf(name, sizeof name, "%s: seal+open", prefix);
    pq3b_row_floor(name, t->both, r->floor.both.median_us, note_both);
}

static void memory_rows(const char *label, const run_result *r, const char *target)
{
    char ns[160], no[96], nb[160];
    snprintf(ns, sizeof ns, "%zu msgs; floor mean %.1f", r->n, r->floor_mean_seal);
    snprintf(no, sizeof no, "floor mean %.1f", r->floor_mean_open);
    snprintf(nb, sizeof nb,
             "%s%sfloor mean %.1f; ML-KEM: %lu offers (by count %lu, by age %lu), %lu answers",
             target, *target ? "; " : "", r->floor_mean_both, r->offers, r->offers_by_count,
             r->offers_by_age, r->answers);
    rows3(label, &r->mode[SESSION], r, ns, no, nb);
    for (int k = 0; k < N_KINDS; k++) {
        char name[64], note[64];
        if (r->kind_n[k] == 0)
            continue;
        snprintf(name, sizeof name, "  of which %s", kind_name[k]);
        snprintf(note, sizeof note, "seal+open of %zu msgs", r->kind_n[k]);
        pq3b_row_floor(name, r->kind[k], r->kind_floor[k].median_us, note);
    }
}

static void ratio_note(char *out, size_t n, const pq3b_result *x, const pq3b_result *twin,
                       const char *twin_name, const char *extra)
{
    snprintf(out, n, "x%.3f median, x%.3f mean of %s%s", x->median_us / twin->median_us,
             x->mean_us / twin->mean_us, twin_name, extra);
}

static void persisted_rows(const char *label, const run_result *r)
{
    char name[96], ns[160], no[160], nb[300], extra[160];
    for (int m = SESSION; m < N_MODES; m++) {
        int twin = m == SESSION_STORED ? SESSION : PEER;
        const trio_result *t = &r->mode[m], *w = &r->mode[twin];
        extra[0] = '\0';
        if (m == PEER_RECORDS && r->rec_ops > 0)
            snprintf(extra, sizeof extra,
                     "; %.0f B written per call; of %llu calls, %llu wrote a session record,"
                     " %llu the store record",
                     (double)r->rec_bytes / (double)r->rec_ops, (unsigned long long)r->rec_ops,
                     (unsigned long long)r->rec_session_writes,
                     (unsigned long long)r->rec_store_writes);
        snprintf(name, sizeof name, "%s, %s", label, mode_name[m]);
        if (m == SESSION) {
            rows3(name, t, r, "the twin of session stored", "", "");
            continue;
        }
        if (m == PEER) {
            ratio_note(ns, sizeof ns, &t->seal, &r->mode[SESSION].seal, "session in memory", "");
            ratio_note(no, sizeof no, &t->open, &r->mode[SESSION].open, "session in memory", "");
            ratio_note(nb, sizeof nb, &t->both, &r->mode[SESSION].both, "session in memory", "");
        } else {
            ratio_note(ns, sizeof ns, &t->seal, &w->seal, mode_name[twin], "");
            ratio_note(no, sizeof no, &t->open, &w->open, mode_name[twin], "");
            ratio_note(nb, sizeof nb, &t->both, &w->both, mode_name[twin], extra);
        }
        rows3(name, t, r, ns, no, nb);
    }
}

int main(int argc, char **argv)
{
    run_config cfg;
    run_result pingpong, burst, slow;
    start_result st;
    char note[160];
    clk whole = clk_begin();

    if (argc > 1) {
        char *end;
        scale = strtod(argv[1], &end);
        if (*end != '\0' || !(scale > 0) || scale > 1000) {
            fprintf(stderr, "usage: %s [scale > 0]\n", argv[0]);
            return 2;
        }
    }
    legend();
    print_load("at the start");

    make_party(&alice, "mailto:alice@example.org");
    make_party(&bob, "tel:+15555550123");
    floor_init();
    pq3b_require(pq3_prekey_generate(&conv_prekey, 1, T0, T0 + 7 * DAY, &bob.ds, NULL) == PQ3_OK,
                 "prekey");
    {
        uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES];
        pq3b_require(pq3_prekey_encode(enc, &conv_prekey.bundle) == PQ3_OK, "encode");
        pq3b_require(pq3_prekey_verify(&conv_bundle, enc, sizeof enc, &bob.cert, T0) == PQ3_OK,
                     "bundle");
    }

    run_starts(scaled(500), &st);
    pq3b_header("session start, a fresh bundle per start (prekey made outside the timed calls)");
    snprintf(note, sizeof note, "%zu starts; floor mean %.1f", st.n, st.fm_sender);
    pq3b_row_floor("sender: cert+bundle verify, start, seal", st.sender, st.f_sender, note);
    snprintf(note, sizeof note, "floor mean %.1f", st.fm_receiver);
    pq3b_row_floor("receiver: cert verify, peek, accept_ex", st.receiver, st.f_receiver, note);
    snprintf(note, sizeof note, "target <= 630 us; floor mean %.1f", st.fm_whole);
    pq3b_row_floor("whole start (sender + receiver)", st.whole, st.f_whole, note);
    pq3b_row("  (prekey generation, not in the start)", st.prekey_gen, "");
    printf("  sender floor: certificate (2 ECDSA key imports, ECDSA verify), bundle\n"
           "  (SHA-384 of 1686 B, ECDSA verify, ECDH import, ML-KEM-1024 ek check),\n"
           "  start (2 SHA-384 of the SIDs, ECDH keygen, ML-KEM-1024 encaps, ECDH\n"
           "  derive, root KDF over the 3272-byte start transcript), the first seal.\n"
           "  receiver floor: certificate, 2 SID digests, SHA-384 + ECDSA verify of the\n"
           "  message, SHA-384(E || ct0) of the replay cache, ECDH import, ML-KEM-1024\n"
           "  decaps, ECDH derive, root KDF, 4 HMAC, AES, SHA-384 of the START header.\n");

    cfg.pattern = PINGPONG;
    cfg.step = 0;
    cfg.n = scaled(4000);
    cfg.n_modes = N_MODES;
    run(&cfg, &pingpong);
    cfg.pattern = BURST;
    cfg.n = scaled(4200);
    run(&cfg, &burst);
    cfg.pattern = PINGPONG;
    cfg.step = SLOW_STEP;
    cfg.n = scaled(4000);
    cfg.n_modes = 1;
    run(&cfg, &slow);

    pq3b_header("messages, pq3_session in memory with its skipped-key store (open_ex)");
    memory_rows("ping-pong", &pingpong, "target <= 215 us");
    memory_rows("burst", &burst, "target <= 100 us in a chain");
    memory_rows("slow (4 h apart)", &slow, "");

    pq3b_header("persisted: load from bytes, call, save, beside its twin in memory (target x1.10)");
    persisted_rows("ping-pong", &pingpong);
    persisted_rows("burst", &burst);

    parts_section(scaled(500));
    wire_section(scaled(10000));

    printf("\n");
    print_load("at the end");
    printf("total run time %.1f s\n", (double)clk_end(whole).ns / 1e9);
    pq3_prekey_secret_wipe(&conv_prekey);
    pq3_soft_key_wipe(&alice.account);
    pq3_soft_key_wipe(&alice.device);
    pq3_soft_key_wipe(&bob.account);
    pq3_soft_key_wipe(&bob.device);
    return 0;
}
