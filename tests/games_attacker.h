/*
 * Attacker games over recorded OpenPQ3 conversations (docs/PROTOCOL.md §8,
 * §10-§13), used by tests/test_games.c.
 *
 * A conversation (gm_conv) is run once, deterministically, between two peer
 * device containers (pq3_peer, §10.6: pq3_peer_start, pq3_peer_seal,
 * pq3_peer_open) and recorded: every wire message, both parties' serialized
 * containers (pq3_peer_serialize) after each delivery, and, as an oracle,
 * every ratchet key pair that was drawn. The attacker side rewrites the key
 * schedule from the spec (§8.1-§8.3, with the public HKDF, HMAC, ECDH and
 * ML-KEM primitives) and tracks it from a captured container and the wire
 * alone.
 */
#ifndef PQ3_TEST_GAMES_ATTACKER_H
#define PQ3_TEST_GAMES_ATTACKER_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/peer.h"
#include "protocol_fixture.h"

#define GM_ALICE 0
#define GM_BOB 1
#define GM_MAX_MSGS 600
#define GM_MAX_SCALARS (GM_MAX_MSGS + 4)

/* One recorded message and what followed its delivery. */
typedef struct {
    int sender;                 /* GM_ALICE or GM_BOB */
    uint64_t now;
    uint8_t *wire;
    size_t len;
    uint8_t text[64];           /* the body that was sealed */
    size_t text_len;
    uint8_t *state[2];          /* both serialized containers after delivery (§10.6) */
    size_t state_len[2];
    int new_chain;              /* index 0: the first message of a chain */
    uint8_t flags;              /* §9.1 flags byte */
    int offer_at;               /* CT: the first message carrying the EK it answers, else -1 */
    uint8_t ratchet_key[32];
    uint8_t mki[PQ3_MKI_BYTES];
} gm_msg;

typedef struct {
    uint8_t pub[32];
    uint8_t priv[32];
} gm_scalar;

typedef struct {
    fx_party party[2];
    pq3_prekey_secret prekey;       /* bob's */
    pq3_start_cache *cache;         /* its replay cache (§10.4) */
    pq3_prekey_bundle bundle;       /* as alice verified it */
    pq3_peer *p[2];                 /* live containers (at the end of the run; heap) */
    uint8_t *start_state;           /* alice's container right after pq3_peer_start */
    size_t start_state_len;
    uint8_t sidd[2][48];            /* sidd(party -> other), §7, from certificates */
    pq3_rekey_policy policy;
    uint64_t step;                  /* seconds between messages */
    uint32_t max_chain;             /* longest chain actually sent */
    size_t n;
    gm_msg msg[GM_MAX_MSGS];
    /* Oracle: every ECDH key pair of the conversation (prekey, ephemeral,
     * ratchet keys), read from the honest parties as they were made. */
    size_t n_scalars;
    gm_scalar scalar[GM_MAX_SCALARS];
} gm_conv;

/*
 * Runs a conversation of n messages (n <= GM_MAX_MSGS): alice starts against
 * bob's prekey (pq3_peer_start), then the parties alternate in chains whose
 * lengths are drawn from a deterministic script in [1, max_chain]; every
 * seal (pq3_peer_seal) uses `policy` at time FX_T0 + i * step. Every message
 * is delivered at once (pq3_peer_open, bob with his prekey and its replay
 * cache) and checked; each container holds exactly one session throughout.
 * Returns 1 on success (c is then filled; free with gm_conv_free).
 */
int gm_conv_run(gm_conv *c, uint64_t seed, size_t n, uint32_t max_chain,
                const pq3_rekey_policy *policy, uint64_t step);
void gm_conv_free(gm_conv *c);

/* ---- the key schedule, from docs/PROTOCOL.md ------------------------------ */

/* §1: Expand(prk, info, L) for L <= 48 = HMAC(prk, info || 0x01)[0..L). */
int gm_expand_short(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
                    const uint8_t *info, size_t info_len);
/* §8.1 KDF_RK; ss_kem NULL means Z32. */
int gm_kdf_rk(uint8_t rk[32], uint8_t ck[32], const uint8_t rk_prev[32],
              const uint8_t ss_ecdh[32], const uint8_t *ss_kem, const uint8_t *dst,
              size_t dst_len);
/* §8.2: mk and the next chain key (ck_next may alias ck). */
int gm_chain_step(uint8_t mk[32], uint8_t ck_next[32], const uint8_t ck[32]);
/* §8.3: the message key indicator of mk. */
int gm_mki(uint8_t mki[PQ3_MKI_BYTES], const uint8_t mk[32]);

/* §11.2 step 4: dst of the chain started by message j (j >= 1, new chain),
 * from public data only. Returns its length, 0 on error; out holds at least
 * GM_DST_MAX bytes. */
#define GM_DST_MAX (48 + 24 + 32 + 32 + PQ3_MLKEM1024_CT_BYTES + PQ3_MLKEM1024_EK_BYTES)
size_t gm_ratchet_dst(const gm_conv *c, size_t j, uint8_t *out);
/* §10.2 step 4: dst of the session start. */
size_t gm_start_dst(const gm_conv *c, uint8_t *out);

/* Results of trying a chain key on a message. */
#define GM_MKI_MISMATCH 0
#define GM_WRONG_PLAINTEXT 1   /* the mki matched but decryption did not give the body */
#define GM_OPENED 2
/* §8.2, §8.3, §9.2: derives the message key from ck, checks the mki,
 * decrypts and unpads message i, and compares it with the body that was
 * sealed. ck_next receives the next chain key. */
int gm_try_open(const gm_conv *c, size_t i, const uint8_t ck[32], uint8_t ck_next[32]);

/* The oracle's ECDH private key for a public key, NULL when none. */
const uint8_t *gm_oracle_priv(const gm_conv *c, const uint8_t pub[32]);
/* The true secrets of the chain start j >= 1 (oracle: both ratchet scalars,
 * the offerer's dk from its recorded state). ss_kem is Z32 without CT;
 * *has_kem says which. Returns 1 on success. */
int gm_true_secrets(const gm_conv *c, size_t j, uint8_t ss_ecdh[32], uint8_t ss_kem[32],
                    int *has_kem);

/* ---- the passive attacker ------------------------------------------------ */

#define GM_CLASSICAL 0   /* the captured state only */
#define GM_QUANTUM 1     /* + every ECDH secret (discrete-log oracle) */
#define GM_OMNISCIENT 2  /* + every ML-KEM dk: the control that nothing heals */

/*
 * The attacker that captured party x's serialized container right after message
 * t-1 was delivered (1 <= t <= n), and sees every wire message. From message
 * t on it tracks the root and chain keys as §8 and §11.2 define them, with the
 * secrets its level allows; where one is missing it still tries what it can
 * compute (Z32, ECDH with the captured scalar, decapsulation with the captured
 * dk) and keeps a candidate only when it opens the chain's first message. It
 * sets out[i] = 1 for each message i whose body it recovered. Returns the
 * number recovered, -1 on an internal error.
 */
int gm_attack(const gm_conv *c, int x, size_t t, int level, uint8_t *out);

/* The models: the first message from t on that the attacker must fail on.
 * Classical: the first message of x's first chain started at or after t.
 * Quantum: the first chain start at or after t with a CT that answers an
 * offer not captured (not x's offer made before t). n when none. */
size_t gm_model_heal_classical(const gm_conv *c, int x, size_t t);
size_t gm_model_heal_quantum(const gm_conv *c, int x, size_t t);

/* Loads a recorded container (§10.6) with the library's decoder
 * (pq3_peer_deserialize) into *p, allocated by the caller (~200 KB). */
int gm_load_peer(pq3_peer *p, const uint8_t *buf, size_t len);
/* Loads a recorded container and copies out the session it sends on (its
 * only one in these conversations): the session state (§14) the attacker
 * reads. */
int gm_load_state(pq3_session *s, const uint8_t *buf, size_t len);

#endif
