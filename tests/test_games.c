/*
 * Attacker games for the OpenPQ3 protocol (docs/PROTOCOL.md §8, §10-§14).
 *
 * Each game runs a deterministic conversation through the library's real
 * code paths, the honest parties being peer device containers (pq3_peer,
 * §10.6; tests/games_attacker.c records it), and plays a passive network
 * attacker that holds every wire message and a container captured with
 * pq3_peer_serialize at some point, loaded with pq3_peer_deserialize. The
 * attacker computes only what that knowledge allows: it opens messages with
 * its copy of the container (pq3_peer_open), and runs the key schedule of
 * §8 and §11.2, written again in games_attacker.c from the spec, on the
 * keys it reads from the captured session state.
 * Every game checks both sides of its claim: the attacker succeeds exactly
 * where the model says it can, and fails everywhere else.
 *
 *  1. forward secrecy: a captured state opens nothing delivered before it;
 *     1b. also with out-of-order delivery, the container's skipped-key store
 *     captured with the session;
 *  2. post-compromise security against a classical attacker: healing at the
 *     compromised side's first fresh ratchet key;
 *  3. post-compromise security against a quantum attacker (every ECDH secret
 *     known): healing at the first ML-KEM step the capture does not cover,
 *     within the rekey policy's bound (§11.3);
 *  4. the hybrid combination at the session start (§10) and at an ML-KEM
 *     ratchet step (§11.2): either secret alone keeps the keys unknown.
 */
#include <stdlib.h>
#include <string.h>

#include "games_attacker.h"
#include "pq3/mlkem.h"
#include "protocol/message.h"

static const char *party_name(int x)
{
    return x == GM_ALICE ? "alice" : "bob";
}

/* The captured state's flags, for the tables. */
static void flag_string(char *buf, size_t cap, const gm_conv *c, int x, size_t t)
{
    pq3_session st;
    if (!gm_load_state(&st, c->msg[t - 1].state[x], c->msg[t - 1].state_len[x])) {
        snprintf(buf, cap, "?");
        return;
    }
    snprintf(buf, cap, "%s%s%s%s", (st.flags & PQ3_ST_SEND) ? "S" : "-",
             (st.flags & PQ3_ST_RECV) ? "R" : "-", (st.flags & PQ3_ST_MY_OFFER) ? "O" : "-",
             (st.flags & PQ3_ST_PEER_OFFER) ? "P" : "-");
    pq3_session_wipe(&st);
}

/* ---- mki lookup ----------------------------------------------------------- */

/* Every message's mki (§8.3) sorted, so that a derived key can be matched
 * against all messages at once: equal mki means equal message key. */
typedef struct {
    uint8_t mki[PQ3_MKI_BYTES];
    size_t index;
} mki_entry;

static int mki_cmp(const void *a, const void *b)
{
    return memcmp(((const mki_entry *)a)->mki, ((const mki_entry *)b)->mki, PQ3_MKI_BYTES);
}

static mki_entry *mki_table_of(const uint8_t (*mkis)[PQ3_MKI_BYTES], size_t n)
{
    mki_entry *tab = malloc((n > 0 ? n : 1) * sizeof *tab);
    if (tab == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        memcpy(tab[i].mki, mkis[i], PQ3_MKI_BYTES);
        tab[i].index = i;
    }
    qsort(tab, n, sizeof *tab, mki_cmp);
    return tab;
}

static mki_entry *mki_table(const gm_conv *c)
{
    uint8_t(*mkis)[PQ3_MKI_BYTES] = malloc(c->n * sizeof *mkis);
    mki_entry *tab = NULL;
    if (mkis == NULL)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        memcpy(mkis[i], c->msg[i].mki, PQ3_MKI_BYTES);
    tab = mki_table_of((const uint8_t(*)[PQ3_MKI_BYTES])mkis, c->n);
    free(mkis);
    return tab;
}

/* Marks hits[i] for every message i whose mki equals `mki`. */
static void mki_mark(const mki_entry *tab, size_t n, const uint8_t mki[PQ3_MKI_BYTES],
                     uint8_t *hits)
{
    mki_entry key;
    const mki_entry *e;
    memcpy(key.mki, mki, PQ3_MKI_BYTES);
    e = bsearch(&key, tab, n, sizeof *tab, mki_cmp);
    if (e == NULL)
        return;
    while (e > tab && memcmp(e[-1].mki, mki, PQ3_MKI_BYTES) == 0)
        e--;
    for (; e < tab + n && memcmp(e->mki, mki, PQ3_MKI_BYTES) == 0; e++)
        hits[e->index] = 1;
}

/* ck taken as a chain key, advanced `steps` times: marks every message key
 * it yields. */
static void mark_chain(const mki_entry *tab, size_t n, const uint8_t ck_in[32], int steps,
                       uint8_t *hits)
{
    uint8_t ck[32], mk[32], mki[PQ3_MKI_BYTES];
    memcpy(ck, ck_in, 32);
    for (int s = 0; s < steps; s++) {
        if (!gm_chain_step(mk, ck, ck) || !gm_mki(mki, mk))
            break;
        mki_mark(tab, n, mki, hits);
    }
    pq3_wipe(ck, sizeof ck);
    pq3_wipe(mk, sizeof mk);
}

/* Every 32-byte window of buf taken as a chain key (§8.2) and as a message
 * key (§8.3): marks every message key it yields. */
static void mark_windows(const mki_entry *tab, size_t n, const uint8_t *buf, size_t len,
                         uint8_t *hits)
{
    uint8_t mk[32], ck[32], mki[PQ3_MKI_BYTES];
    for (size_t o = 0; o + 32 <= len; o++) {
        if (gm_chain_step(mk, ck, buf + o) && gm_mki(mki, mk))
            mki_mark(tab, n, mki, hits);
        if (gm_mki(mki, buf + o))
            mki_mark(tab, n, mki, hits);
    }
    pq3_wipe(mk, sizeof mk);
    pq3_wipe(ck, sizeof ck);
}

/* ---- game 1: forward secrecy ---------------------------------------------- */

/* Opens message i with container p as party x, without a prekey (the
 * attacker holds the captured container, not the prekey). */
static pq3_err conv_open(const gm_conv *c, pq3_peer *p, int x, size_t i, uint8_t *body,
                         size_t cap, pq3_opened *info)
{
    return pq3_peer_open(p, &c->party[x].cert, &c->party[!x].cert, NULL, NULL, c->msg[i].now,
                         c->msg[i].wire, c->msg[i].len, body, cap, info, NULL);
}

/*
 * Everything the captured container yields, matched against every message
 * key: each 32-byte window of the serialized container (its session state
 * and its skipped-key store) taken as a chain key and as a message key; RK, the sending and the receiving chain key advanced up to 8
 * steps; and RK run through KDF_RK (§8.1) once more with each earlier step's
 * transcript and secrets (the true ones from the oracle, and those the
 * captured ratchet scalar and dk give), each result advanced 4 steps.
 */
static void fs_derive_all(const gm_conv *c, const mki_entry *tab, const uint8_t *state,
                          size_t state_len, const pq3_session *st, size_t t, uint8_t *hits)
{
    uint8_t dst[GM_DST_MAX], rk[32], ck[32];
    uint8_t ss_true[32], kem_true[32], ss_cap[2][32], kem_cap[32];

    mark_windows(tab, c->n, state, state_len, hits);
    mark_chain(tab, c->n, st->rk, 8, hits);
    if (st->flags & PQ3_ST_SEND)
        mark_chain(tab, c->n, st->cks, 8, hits);
    if (st->flags & PQ3_ST_RECV)
        mark_chain(tab, c->n, st->ckr, 8, hits);
    for (size_t j = 1; j < t; j++) {
        const uint8_t *ecdh_c[4], *kem_c[3];
        size_t n_ecdh = 0, n_kem = 0, dst_len;
        int has_kem = 0;
        pq3_msg_view v;
        pq3_ecdh_peer peer;

        if (!c->msg[j].new_chain)
            continue;
        dst_len = gm_ratchet_dst(c, j, dst);
        CHECK(dst_len > 0);
        CHECK(gm_true_secrets(c, j, ss_true, kem_true, &has_kem));
        CHECK_OK(pq3_msg_decode(&v, c->msg[j].wire, c->msg[j].len));
        ecdh_c[n_ecdh++] = ss_true;
        if ((st->flags & PQ3_ST_SEND) &&
            pq3_ecdh_import(&peer, c->msg[j].ratchet_key) == PQ3_OK &&
            pq3_ecdh_derive(ss_cap[0], st->my_priv, &peer) == PQ3_OK)
            ecdh_c[n_ecdh++] = ss_cap[0];
        if ((st->flags & PQ3_ST_SEND) &&
            pq3_ecdh_import(&peer, c->msg[j - 1].ratchet_key) == PQ3_OK &&
            pq3_ecdh_derive(ss_cap[1], st->my_priv, &peer) == PQ3_OK)
            ecdh_c[n_ecdh++] = ss_cap[1];
        kem_c[n_kem++] = has_kem ? kem_true : NULL;
        if (has_kem) {
            kem_c[n_kem++] = NULL;
            if ((st->flags & PQ3_ST_MY_OFFER) &&
                pq3_mlkem768_decaps(kem_cap, v.ct, st->my_dk) == PQ3_OK)
                kem_c[n_kem++] = kem_cap;
        }
        for (size_t a = 0; a < n_ecdh; a++)
            for (size_t b = 0; b < n_kem; b++)
                if (gm_kdf_rk(rk, ck, st->rk, ecdh_c[a], kem_c[b], dst, dst_len))
                    mark_chain(tab, c->n, ck, 4, hits);
    }
    pq3_wipe(rk, sizeof rk);
    pq3_wipe(ck, sizeof ck);
    pq3_wipe(ss_true, sizeof ss_true);
    pq3_wipe(kem_true, sizeof kem_true);
    pq3_wipe(ss_cap, sizeof ss_cap);
    pq3_wipe(kem_cap, sizeof kem_cap);
}

/* The first message at or after t from `from` on the chain with ratchet key
 * `key` and index `index`; c->n when none. */
static size_t find_msg(const gm_conv *c, size_t t, int from, const uint8_t key[32],
                       uint32_t index)
{
    for (size_t i = t; i < c->n; i++) {
        pq3_message_info info;
        if (c->msg[i].sender != from || memcmp(c->msg[i].ratchet_key, key, 32) != 0)
            continue;
        if (pq3_message_peek(&info, c->msg[i].wire, c->msg[i].len) == PQ3_OK &&
            info.index == index)
            return i;
    }
    return c->n;
}

static void game_forward_secrecy(const gm_conv *c, size_t stride)
{
    mki_entry *tab = mki_table(c);
    uint8_t *hits = calloc(c->n, 1), *body = malloc(PQ3_STATE_MAX_BYTES);
    pq3_peer *orig = malloc(sizeof *orig), *copy = malloc(sizeof *copy);
    int rows = 0, captures = 0;

    CHECK(tab != NULL && hits != NULL && body != NULL && orig != NULL && copy != NULL);
    if (tab == NULL || hits == NULL || body == NULL || orig == NULL || copy == NULL)
        goto cleanup;
    printf("\nGame 1: forward secrecy (%zu messages, policy {%u, %llus}, chains <= %u)\n",
           c->n, c->policy.max_messages, (unsigned long long)c->policy.max_age, c->max_chain);
    printf("  %-5s %5s %5s | %8s %8s %8s | %6s %6s %6s\n", "party", "t", "state", "earlier",
           "opened", "derived", "later", "opened", "model");
    for (int x = 0; x < 2; x++) {
        /* Every stride-th capture point, and the last one (after everything). */
        for (size_t t = 1; t <= c->n; t = (t < c->n && t + stride > c->n) ? c->n : t + stride) {
            const gm_msg *cap = &c->msg[t - 1];
            pq3_session st;
            pq3_opened info;
            size_t earlier_opened = 0, derived_earlier = 0, later = 0, later_opened = 0;
            size_t heal = gm_model_heal_classical(c, x, t), expect_opened = 0;
            char fl[8];

            captures++;
            CHECK(gm_load_state(&st, cap->state[x], cap->state_len[x]));
            CHECK(gm_load_peer(orig, cap->state[x], cap->state_len[x]));
            /* (a) the library's own open, on the captured container, for
             * every message delivered before the capture. */
            for (size_t i = 0; i < t; i++) {
                memcpy(copy, orig, sizeof *copy);
                if (conv_open(c, copy, x, i, body, PQ3_STATE_MAX_BYTES, &info) == PQ3_OK)
                    earlier_opened++;
            }
            CHECKF(earlier_opened == 0, "%s t=%zu: %zu earlier messages opened", party_name(x),
                   t, earlier_opened);
            /* (b) every key derivation from the captured container. */
            memset(hits, 0, c->n);
            fs_derive_all(c, tab, cap->state[x], cap->state_len[x], &st, t, hits);
            for (size_t i = 0; i < t; i++)
                derived_earlier += hits[i];
            CHECKF(derived_earlier == 0, "%s t=%zu: %zu earlier message keys derived",
                   party_name(x), t, derived_earlier);
            /* ... and the same derivations do reach the keys the state holds
             * legitimately: the next message of our chain and of the peer's. */
            if (st.flags & PQ3_ST_SEND) {
                size_t i = find_msg(c, t, x, st.my_pub, st.ns);
                CHECKF(i == c->n || hits[i], "%s t=%zu: next sent key %zu not derived",
                       party_name(x), t, i);
            }
            if (st.flags & PQ3_ST_RECV) {
                size_t i = find_msg(c, t, !x, st.peer_pub, st.nr);
                CHECKF(i == c->n || hits[i], "%s t=%zu: next received key %zu not derived",
                       party_name(x), t, i);
            }
            /* (c) later messages from the peer: the captured container
             * opens exactly those before the model's healing point. */
            memcpy(copy, orig, sizeof *copy);
            for (size_t i = t; i < c->n; i++) {
                int ok;
                if (c->msg[i].sender == x)
                    continue;
                later++;
                ok = conv_open(c, copy, x, i, body, PQ3_STATE_MAX_BYTES, &info) == PQ3_OK &&
                     info.body_len == c->msg[i].text_len &&
                     memcmp(body, c->msg[i].text, info.body_len) == 0;
                later_opened += (size_t)ok;
                expect_opened += (size_t)(i < heal);
                CHECKF(ok == (i < heal), "%s t=%zu: later message %zu %s (heal %zu)",
                       party_name(x), t, i, ok ? "opened" : "not opened", heal);
            }
            flag_string(fl, sizeof fl, c, x, t);
            if (rows < 14 && (t % (4 * stride) == 1 || t == c->n)) {
                printf("  %-5s %5zu %5s | %8zu %8zu %8zu | %6zu %6zu %6zu\n", party_name(x), t,
                       fl, t, earlier_opened, derived_earlier, later, later_opened,
                       expect_opened);
                rows++;
            }
            pq3_session_wipe(&st);
            pq3_peer_wipe(copy);
            pq3_peer_wipe(orig);
        }
    }
    printf("  %d captures; columns: earlier = messages before t, opened / derived = of\n"
           "  those opened with the captured container or matched by a key derived from it;\n"
           "  later = peer messages from t on, opened by the captured container, model =\n"
           "  expected. state: S sending chain, R receiving chain, O own ML-KEM offer, P peer\n"
           "  offer\n",
           captures);

cleanup:
    free(tab);
    free(hits);
    free(body);
    free(orig);
    free(copy);
}

/* ---- game 1b: forward secrecy with out-of-order delivery ------------------ */

/* One message of the out-of-order scenario. */
typedef struct {
    char name[8];
    int sender;
    uint8_t *wire;
    size_t len;
    uint8_t text[64];
    size_t text_len;
    int delivered;             /* to its receiver, before the capture */
} ooo_msg;

static int ooo_seal(gm_conv *c, ooo_msg *m, int who, const char *name, uint64_t now)
{
    size_t cap;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->sender = who;
    m->text_len = (size_t)snprintf((char *)m->text, sizeof m->text, "body %s", name);
    cap = pq3_message_max_size(m->text_len, 0);
    if ((m->wire = malloc(cap)) == NULL)
        return 0;
    return pq3_peer_seal(c->p[who], &c->party[who].device_signer, &c->policy, now,
                         &c->party[who].rng, PQ3_CONTENT_MESSAGE, m->text, m->text_len, NULL, 0,
                         m->wire, cap, &m->len, NULL) == PQ3_OK;
}

/* Opens m with container p of its receiver (no prekey); 1 when it gave m's
 * body. */
static int ooo_open(const gm_conv *c, pq3_peer *p, const ooo_msg *m, uint64_t now)
{
    uint8_t *body = malloc(m->len);
    int to = !m->sender;
    pq3_opened info;
    int ok = body != NULL &&
             pq3_peer_open(p, &c->party[to].cert, &c->party[m->sender].cert, NULL, NULL, now,
                           m->wire, m->len, body, m->len, &info, NULL) == PQ3_OK &&
             info.body_len == m->text_len && memcmp(body, m->text, m->text_len) == 0;
    free(body);
    return ok;
}

/*
 * The receiver keeps the keys of skipped messages in its container's store
 * (§10.6, §13.1) next to the session; forward secrecy then also needs every
 * used key erased. Alice sends a0..a5; bob gets a0, a3 (keeps a1, a2), a1
 * late; bob answers b0; alice sends c0, c1 (bob keeps a4, a5 when c0 ends
 * chain a), a5 arrives late. Bob's container (session and store) is
 * captured; c2 is sent after. The capture must open, and yield keys for,
 * exactly a2, a4 (still missing) and c2.
 */
static void game_fs_out_of_order(void)
{
    static const char *names[] = { "a0", "a1", "a2", "a3", "a4", "a5", "b0", "c0", "c1", "c2" };
    static const int order[] = { 0, 3, 1, -6, 7, 8, 5 }; /* -6: b0 to alice */
    gm_conv *c = calloc(1, sizeof *c);
    pq3_peer *copy = malloc(sizeof *copy);
    pq3_rekey_policy pol = pq3_rekey_policy_default();
    ooo_msg m[12];
    uint8_t mkis[12][PQ3_MKI_BYTES], hits[12], hits2[12];
    uint8_t *cap_buf = NULL;
    size_t cap_len = 0, nm = 0;
    uint64_t now;
    mki_entry *tab = NULL;
    pq3_msg_view v;

    memset(m, 0, sizeof m);
    CHECK(c != NULL && copy != NULL);
    if (c == NULL || copy == NULL)
        goto cleanup;
    /* The start (alice) and bob's reply, in order; then the scenario. */
    CHECK(gm_conv_run(c, 21, 2, 1, &pol, 60));
    if (c->n != 2)
        goto cleanup;
    now = c->msg[1].now + 60;
    for (int k = 0; k < 6; k++)
        CHECK(ooo_seal(c, &m[nm++], GM_ALICE, names[k], now));
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        int i = order[k] < 0 ? -order[k] : order[k];
        now += 60;
        if (order[k] == 7) /* alice's next chain, after she has b0 */
            CHECK(ooo_seal(c, &m[nm++], GM_ALICE, "c0", now) &&
                  ooo_seal(c, &m[nm++], GM_ALICE, "c1", now));
        if (order[k] < 0) {
            CHECK(ooo_seal(c, &m[nm++], GM_BOB, "b0", now));
            CHECK(ooo_open(c, c->p[GM_ALICE], &m[i], now));
        } else {
            CHECK(ooo_open(c, c->p[GM_BOB], &m[i], now));
        }
        m[i].delivered = 1;
    }
    CHECK(nm == 9);
    /* The capture: bob's container, its session and skipped-key store. */
    CHECKF(c->p[GM_BOB]->count == 1 && c->p[GM_BOB]->store.count == 2,
           "bob holds %u sessions and %u skipped keys, expected 1 and 2 (a2, a4)",
           c->p[GM_BOB]->count, c->p[GM_BOB]->store.count);
    cap_len = 0;
    CHECK_OK(pq3_peer_size(c->p[GM_BOB], &cap_len));
    cap_buf = cap_len > 0 ? malloc(cap_len) : NULL;
    CHECK(cap_buf != NULL);
    if (cap_buf == NULL)
        goto cleanup;
    CHECK_OK(pq3_peer_serialize(c->p[GM_BOB], cap_buf, cap_len, &cap_len));
    CHECK(ooo_seal(c, &m[nm++], GM_ALICE, names[9], now + 60));
    /* The start and bob's reply count as delivered messages too. */
    for (size_t i = 0; i < 2; i++) {
        ooo_msg *e = &m[nm++];
        snprintf(e->name, sizeof e->name, i == 0 ? "start" : "reply");
        e->sender = c->msg[i].sender;
        e->wire = malloc(c->msg[i].len);
        if (e->wire != NULL)
            memcpy(e->wire, c->msg[i].wire, c->msg[i].len);
        e->len = e->wire != NULL ? c->msg[i].len : 0;
        memcpy(e->text, c->msg[i].text, sizeof e->text);
        e->text_len = c->msg[i].text_len;
        e->delivered = 1;
    }
    for (size_t i = 0; i < nm; i++) {
        CHECK_OK(pq3_msg_decode(&v, m[i].wire, m[i].len));
        memcpy(mkis[i], v.mki, PQ3_MKI_BYTES);
    }
    tab = mki_table_of((const uint8_t(*)[PQ3_MKI_BYTES])mkis, nm);
    CHECK(tab != NULL);
    if (tab == NULL)
        goto cleanup;
    memset(hits, 0, sizeof hits);
    mark_windows(tab, nm, cap_buf, cap_len, hits);

    printf("\nGame 1b: forward secrecy with out-of-order delivery (bob's container captured:"
           " session + skipped keys)\n");
    printf("  %-6s %-5s | %9s | %6s %7s | %s\n", "msg", "from", "delivered", "opens", "derived",
           "expected");
    for (size_t i = 0; i < nm; i++) {
        int opens, expect = !m[i].delivered && m[i].sender == GM_ALICE;
        CHECK(gm_load_peer(copy, cap_buf, cap_len));
        opens = ooo_open(c, copy, &m[i], now + 120);
        printf("  %-6s %-5s | %9s | %6s %7s | %s\n", m[i].name, party_name(m[i].sender),
               m[i].delivered ? "yes" : "no", opens ? "yes" : "no", hits[i] ? "yes" : "no",
               expect ? "opens" : "nothing");
        CHECKF(opens == expect && hits[i] == expect, "%s: opens %d, key derived %d, expected %d",
               m[i].name, opens, hits[i], expect);
        /* A key used late is erased: the container after a2 no longer
         * yields it, and a second a2 is a replay. */
        if (opens && i == 2) {
            size_t again_len = 0;
            CHECK_OK(pq3_peer_size(copy, &again_len));
            uint8_t *again = again_len > 0 ? malloc(again_len) : NULL;
            CHECK(again != NULL);
            if (again != NULL &&
                pq3_peer_serialize(copy, again, again_len, &again_len) == PQ3_OK) {
                memset(hits2, 0, sizeof hits2);
                mark_windows(tab, nm, again, again_len, hits2);
                CHECK(!hits2[2] && hits2[4]);
                pq3_wipe(again, again_len);
            }
            free(again);
            CHECK(!ooo_open(c, copy, &m[2], now + 120));
        }
        pq3_peer_wipe(copy);
    }

cleanup:
    for (size_t i = 0; i < nm; i++)
        free(m[i].wire);
    free(tab);
    if (cap_buf != NULL)
        pq3_wipe(cap_buf, cap_len);
    free(cap_buf);
    free(copy);
    if (c != NULL)
        gm_conv_free(c);
    free(c);
}

/* ---- games 2 and 3: post-compromise security ------------------------------ */

typedef struct {
    int checked, mismatched, unhealed;
    size_t max_exposed;      /* largest heal - t */
    size_t worst_t;
    int worst_x;
} pcs_summary;

/* Runs the attacker at `level` for party x captured at t and compares it with
 * the model: it must recover exactly the messages t .. heal-1. Returns the
 * healing index it reached (first message from t on it did not recover). */
static size_t pcs_one(const gm_conv *c, int x, size_t t, int level, size_t model,
                      uint8_t *out, pcs_summary *sum)
{
    int got = gm_attack(c, x, t, level, out);
    size_t heal = t, wrong = 0;

    CHECK(got >= 0);
    while (heal < c->n && out[heal])
        heal++;
    for (size_t i = t; i < c->n; i++)
        wrong += (size_t)(out[i] != (i < model));
    CHECKF(wrong == 0 && heal == model,
           "%s %s t=%zu: attacker heal %zu, model %zu, %zu messages differ",
           level == GM_CLASSICAL ? "classical" : "quantum", party_name(x), t, heal, model,
           wrong);
    sum->checked++;
    sum->mismatched += wrong != 0 || heal != model;
    if (model - t > sum->max_exposed || sum->checked == 1) {
        sum->max_exposed = model - t;
        sum->worst_t = t;
        sum->worst_x = x;
    }
    return heal;
}

/*
 * The classical bound: if the captured side has a sending chain, the rest of
 * it (<= D-1 messages) and the peer's answering chain (<= D) come before its
 * next chain; otherwise only the rest of the peer's chain. So at most 2D - 1
 * messages after the capture, D the longest chain.
 */
static void game_pcs_classical(const gm_conv *c)
{
    uint8_t *out = calloc(c->n, 1);
    pcs_summary sum;
    size_t bound = 2 * (size_t)c->max_chain - 1;
    int rows = 0;

    memset(&sum, 0, sizeof sum);
    CHECK(out != NULL);
    if (out == NULL)
        return;
    printf("\nGame 2: post-compromise security, classical attacker (%zu messages, D = %u,"
           " bound 2D - 1 = %zu)\n", c->n, c->max_chain, bound);
    printf("  %-5s %5s %5s | %9s %5s %5s | %5s | %s\n", "party", "t", "state", "decrypted",
           "heal", "model", "bound", "healing message");
    for (int x = 0; x < 2; x++) {
        for (size_t t = 1; t <= c->n; t++) {
            size_t model = gm_model_heal_classical(c, x, t);
            size_t heal = pcs_one(c, x, t, GM_CLASSICAL, model, out, &sum);
            sum.unhealed += model == c->n;
            CHECKF(model == c->n || model - t <= bound, "classical %s t=%zu: %zu > bound %zu",
                   party_name(x), t, model - t, bound);
            if (rows < 16 && t % 19 == 3) {
                char fl[8], what[64] = "none (end)";
                flag_string(fl, sizeof fl, c, x, t);
                if (heal < c->n)
                    snprintf(what, sizeof what, "%s's new chain, flags 0x%02x", party_name(x),
                             c->msg[heal].flags);
                printf("  %-5s %5zu %5s | %9zu %5zu %5zu | %5zu | %s\n", party_name(x), t, fl,
                       heal - t, heal, model, bound, what);
                rows++;
            }
        }
    }
    printf("  %d captures checked, %d differ from the model; longest exposure %zu messages\n"
           "  (%s captured at t=%zu); captures the run ends before healing: %d\n",
           sum.checked, sum.mismatched, sum.max_exposed, party_name(sum.worst_x), sum.worst_t,
           sum.unhealed);
    free(out);
}

/*
 * The quantum game on one conversation. The bound: from the capture, the
 * captured side may hold an offer whose dk the attacker has, answered at the
 * next chain (<= D-1 messages on); from that answer the policy offers at the
 * first direction change where pq_count >= M, or where max_age has passed
 * (§11.3), i.e. after E messages, E = M + 1 or ceil(max_age / step), the
 * smaller one (only the latter on a constrained link), plus <= D-1 to reach a
 * direction change; the peer answers at its next chain (<= D on). So healing
 * comes at most E + 3D - 2 messages after the capture, D the longest chain.
 */
static void game_pcs_quantum(const gm_conv *c, const char *name, size_t stride)
{
    uint8_t *out = calloc(c->n, 1);
    pcs_summary sum;
    size_t by_age = (size_t)((c->policy.max_age + c->step - 1) / c->step);
    size_t by_count = (size_t)c->policy.max_messages + 1;
    size_t e = c->policy.constrained || by_age < by_count ? by_age : by_count;
    size_t bound = e + 3 * (size_t)c->max_chain - 2;
    size_t last_t;
    int rows = 0, omni_checked = 0;

    memset(&sum, 0, sizeof sum);
    CHECK(out != NULL);
    if (out == NULL)
        return;
    CHECK(c->n > bound + 1);
    last_t = c->n - bound - 1; /* every capture up to here must heal in the run */
    printf("\nGame 3: post-compromise security, quantum attacker, %s policy {%u messages, %llus%s}"
           "\n  (%zu messages %llus apart, D = %u; rekey after E = %zu messages (%s);"
           " bound E + 3D - 2 = %zu)\n",
           name, c->policy.max_messages, (unsigned long long)c->policy.max_age,
           c->policy.constrained ? ", constrained" : "", c->n, (unsigned long long)c->step,
           c->max_chain, e, e == by_age ? "max_age" : "max_messages + 1", bound);
    printf("  %-5s %5s %5s | %9s %5s %5s | %5s | %s\n", "party", "t", "state", "decrypted",
           "heal", "model", "bound", "healing message");
    for (int x = 0; x < 2; x++) {
        for (size_t t = 1; t <= last_t; t++) {
            const gm_msg *prev = &c->msg[t - 1];
            /* Every stride-th capture, plus every capture right after an
             * offer (the worst case: the attacker holds the offer's dk). */
            int after_offer = (prev->flags & PQ3_MSG_EK) && prev->new_chain;
            size_t model, heal;
            if ((t - 1) % stride != 0 && !after_offer)
                continue;
            model = gm_model_heal_quantum(c, x, t);
            heal = pcs_one(c, x, t, GM_QUANTUM, model, out, &sum);
            CHECKF(model < c->n, "quantum %s t=%zu: no healing before the end", party_name(x),
                   t);
            CHECKF(model - t <= bound, "quantum %s t=%zu: %zu messages exposed > bound %zu",
                   party_name(x), t, model - t, bound);
            if (rows < 10 && ((t - 1) % (12 * stride) == 0 || (after_offer && prev->sender == x))) {
                char fl[8], what[64] = "none (end)";
                flag_string(fl, sizeof fl, c, x, t);
                if (heal < c->n)
                    snprintf(what, sizeof what, "%s answers offer of msg %d",
                             party_name(c->msg[heal].sender), c->msg[heal].offer_at);
                printf("  %-5s %5zu %5s | %9zu %5zu %5zu | %5zu | %s\n", party_name(x), t, fl,
                       heal - t, heal, model, bound, what);
                rows++;
            }
            /* Control: an attacker that also holds every ML-KEM dk never
             * loses the schedule, so the healing above is the KEM's doing. */
            if (omni_checked < 3 && (t - 1) % (20 * stride) == 0) {
                int got = gm_attack(c, x, t, GM_OMNISCIENT, out);
                CHECKF(got == (int)(c->n - t), "omniscient %s t=%zu: %d of %zu", party_name(x),
                       t, got, c->n - t);
                omni_checked++;
            }
        }
    }
    printf("  %d captures checked, %d differ from the model; longest exposure %zu messages\n"
           "  (%s captured at t=%zu) <= bound %zu\n",
           sum.checked, sum.mismatched, sum.max_exposed, party_name(sum.worst_x), sum.worst_t,
           bound);
    CHECK(omni_checked > 0);
    free(out);
}

/* ---- game 4: the hybrid combination --------------------------------------- */

static const uint8_t zero32[32];

/* Tries every (ss_ecdh, ss_kem) pair on KDF_RK(rk_prev, ..., dst) (§8.1) and
 * counts the pairs whose RK equals the honest one, whose chain key, advanced
 * by the one message sent on it (§8.2), equals the honest state's, and whose
 * chain key opens message i. */
typedef struct {
    int rk_equal, ck_equal, opened, tried;
} hybrid_result;

static hybrid_result hybrid_try(const gm_conv *c, size_t i, const uint8_t rk_prev[32],
                                const uint8_t *const *ecdh_c, size_t n_ecdh,
                                const uint8_t *const *kem_c, size_t n_kem, const uint8_t *dst,
                                size_t dst_len, const pq3_session *honest_s,
                                const pq3_session *honest_r)
{
    hybrid_result r;
    uint8_t rk[32], ck[32], mk[32], next[32];
    memset(&r, 0, sizeof r);
    for (size_t a = 0; a < n_ecdh; a++) {
        for (size_t b = 0; b < n_kem; b++) {
            CHECK(gm_kdf_rk(rk, ck, rk_prev, ecdh_c[a], kem_c[b], dst, dst_len));
            CHECK(gm_chain_step(mk, next, ck));
            r.tried++;
            r.rk_equal += memcmp(rk, honest_s->rk, 32) == 0 && memcmp(rk, honest_r->rk, 32) == 0;
            r.ck_equal += memcmp(next, honest_s->cks, 32) == 0 &&
                          memcmp(next, honest_r->ckr, 32) == 0;
            r.opened += gm_try_open(c, i, ck, next) == GM_OPENED;
        }
    }
    pq3_wipe(rk, sizeof rk);
    pq3_wipe(ck, sizeof ck);
    pq3_wipe(mk, sizeof mk);
    pq3_wipe(next, sizeof next);
    return r;
}

static void hybrid_row(const char *step, const char *leak, hybrid_result r, int expect)
{
    printf("  %-24s %-20s | %5d %8d %8d %6d\n", step, leak, r.tried, r.rk_equal, r.ck_equal,
           r.opened);
    if (expect) {
        CHECKF(r.rk_equal == 1 && r.ck_equal == 1 && r.opened == 1,
               "%s, %s: the attacker with every secret must derive the real keys", step, leak);
    } else {
        CHECKF(r.rk_equal == 0 && r.ck_equal == 0 && r.opened == 0,
               "%s, %s: the attacker derived a real key", step, leak);
    }
}

/* The session start (§10.2-§10.3), compared with alice's and bob's states
 * after the first message. */
static void hybrid_start(const gm_conv *c)
{
    pq3_session a1, b1;
    pq3_msg_view v;
    uint8_t dst[GM_DST_MAX], ss_kem[32], ss_ecdh[32], ss_ecdh2[32], wrong_kem[32], seed[64];
    uint8_t *ek1024 = malloc(PQ3_MLKEM1024_EK_BYTES), *dk1024 = malloc(PQ3_MLKEM1024_DK_BYTES);
    pq3_session a0;
    pq3_ecdh_peer e_peer, b_peer;
    size_t dst_len = gm_start_dst(c, dst);
    const uint8_t *ecdh_c[3], *kem_c[3];

    CHECK(ek1024 != NULL && dk1024 != NULL && dst_len > 0);
    CHECK(gm_load_state(&a0, c->start_state, c->start_state_len));
    CHECK(gm_load_state(&a1, c->msg[0].state[GM_ALICE], c->msg[0].state_len[GM_ALICE]));
    CHECK(gm_load_state(&b1, c->msg[0].state[GM_BOB], c->msg[0].state_len[GM_BOB]));
    CHECK_OK(pq3_msg_decode(&v, c->msg[0].wire, c->msg[0].len));
    if (ek1024 == NULL || dk1024 == NULL || v.ct0 == NULL)
        goto cleanup;
    /* The leaks: the prekey's ML-KEM-1024 dk; the prekey's ECDH scalar and
     * the initiator's ephemeral scalar (which give the same secret). */
    CHECK_OK(pq3_mlkem1024_decaps(ss_kem, v.ct0, c->prekey.kem_dk));
    CHECK_OK(pq3_ecdh_import(&e_peer, v.ratchet_key));
    CHECK_OK(pq3_ecdh_import(&b_peer, c->bundle.ecdh_pub));
    CHECK_OK(pq3_ecdh_derive(ss_ecdh, c->prekey.ecdh_priv, &e_peer));
    CHECK_OK(pq3_ecdh_derive(ss_ecdh2, a0.my_priv, &b_peer));
    CHECK(memcmp(ss_ecdh, ss_ecdh2, 32) == 0);
    /* A decapsulation under a wrong dk (implicit rejection) as a KEM guess. */
    memset(seed, 0x5a, sizeof seed);
    CHECK_OK(pq3_mlkem1024_keypair_derand(ek1024, dk1024, seed, seed + 32));
    CHECK_OK(pq3_mlkem1024_decaps(wrong_kem, v.ct0, dk1024));

    /* (a) ML-KEM leaked, ECDH intact: ECDH guessed (Z32, either public key). */
    ecdh_c[0] = zero32;
    ecdh_c[1] = v.ratchet_key;
    ecdh_c[2] = c->bundle.ecdh_pub;
    kem_c[0] = ss_kem;
    hybrid_row("session start", "ML-KEM dk (prekey)",
               hybrid_try(c, 0, zero32, ecdh_c, 3, kem_c, 1, dst, dst_len, &a1, &b1), 0);
    /* (b) ECDH leaked, ML-KEM intact: KEM guessed (Z32, wrong dk, ss_ecdh). */
    ecdh_c[0] = ss_ecdh;
    kem_c[0] = NULL;
    kem_c[1] = wrong_kem;
    kem_c[2] = ss_ecdh;
    hybrid_row("session start", "ECDH scalars",
               hybrid_try(c, 0, zero32, ecdh_c, 1, kem_c, 3, dst, dst_len, &a1, &b1), 0);
    /* (c) both leaked: exactly the real keys. */
    kem_c[0] = ss_kem;
    hybrid_row("session start", "both",
               hybrid_try(c, 0, zero32, ecdh_c, 1, kem_c, 1, dst, dst_len, &a1, &b1), 1);

cleanup:
    free(ek1024);
    if (dk1024 != NULL)
        pq3_wipe(dk1024, PQ3_MLKEM1024_DK_BYTES);
    free(dk1024);
    pq3_wipe(ss_kem, sizeof ss_kem);
    pq3_wipe(ss_ecdh, sizeof ss_ecdh);
    pq3_wipe(ss_ecdh2, sizeof ss_ecdh2);
    pq3_session_wipe(&a0);
    pq3_session_wipe(&a1);
    pq3_session_wipe(&b1);
}

/* An ML-KEM ratchet step (§11.2 with CT) at message j, compared with both
 * states after it. The attacker is granted RK from before the step (an
 * earlier compromise) and, as guesses, the secrets of the previous step. */
static void hybrid_ratchet(const gm_conv *c, size_t j, size_t prev_chain)
{
    const gm_msg *m = &c->msg[j];
    int s = m->sender, r = !s, has_kem = 0;
    pq3_session before_r, after_s, after_r;
    pq3_msg_view v;
    pq3_ecdh_peer n_peer, p_peer;
    uint8_t dst[GM_DST_MAX], ss_kem[32], ss_ecdh[32], ss_ecdh2[32];
    uint8_t stale_ecdh[32], stale_kem[32];
    const uint8_t *priv_n = gm_oracle_priv(c, m->ratchet_key);
    const uint8_t *ecdh_c[3], *kem_c[3];
    size_t dst_len = gm_ratchet_dst(c, j, dst);
    char step[64];

    snprintf(step, sizeof step, "ratchet msg %zu (%s)", j, party_name(s));
    CHECK(dst_len > 0 && priv_n != NULL && prev_chain > 0);
    CHECK(gm_load_state(&before_r, c->msg[j - 1].state[r], c->msg[j - 1].state_len[r]));
    CHECK(gm_load_state(&after_s, m->state[s], m->state_len[s]));
    CHECK(gm_load_state(&after_r, m->state[r], m->state_len[r]));
    CHECK_OK(pq3_msg_decode(&v, m->wire, m->len));
    CHECK((before_r.flags & PQ3_ST_MY_OFFER) && (before_r.flags & PQ3_ST_SEND));
    if (priv_n == NULL || v.ct == NULL || dst_len == 0)
        goto cleanup;
    /* The leaks: the offer's dk (the receiver's state before the step); the
     * two ratchet scalars (the receiver's q, the sender's fresh r). */
    CHECK_OK(pq3_mlkem768_decaps(ss_kem, v.ct, before_r.my_dk));
    CHECK_OK(pq3_ecdh_import(&n_peer, m->ratchet_key));
    CHECK_OK(pq3_ecdh_import(&p_peer, before_r.my_pub));
    CHECK_OK(pq3_ecdh_derive(ss_ecdh, before_r.my_priv, &n_peer));
    CHECK_OK(pq3_ecdh_derive(ss_ecdh2, priv_n, &p_peer));
    CHECK(memcmp(ss_ecdh, ss_ecdh2, 32) == 0);
    CHECK(gm_true_secrets(c, prev_chain, stale_ecdh, stale_kem, &has_kem));

    /* (a) dk leaked, ECDH intact: ECDH guessed (Z32, stale, the new key). */
    ecdh_c[0] = zero32;
    ecdh_c[1] = stale_ecdh;
    ecdh_c[2] = m->ratchet_key;
    kem_c[0] = ss_kem;
    hybrid_row(step, "ML-KEM dk (offer)",
               hybrid_try(c, j, before_r.rk, ecdh_c, 3, kem_c, 1, dst, dst_len, &after_s,
                          &after_r), 0);
    /* (b) ECDH leaked, ML-KEM intact: KEM guessed (Z32, stale, ss_ecdh). */
    ecdh_c[0] = ss_ecdh;
    kem_c[0] = NULL;
    kem_c[1] = stale_kem;
    kem_c[2] = ss_ecdh;
    hybrid_row(step, "ECDH scalars",
               hybrid_try(c, j, before_r.rk, ecdh_c, 1, kem_c, 3, dst, dst_len, &after_s,
                          &after_r), 0);
    /* (c) both leaked. */
    kem_c[0] = ss_kem;
    hybrid_row(step, "both",
               hybrid_try(c, j, before_r.rk, ecdh_c, 1, kem_c, 1, dst, dst_len, &after_s,
                          &after_r), 1);

cleanup:
    pq3_wipe(ss_kem, sizeof ss_kem);
    pq3_wipe(ss_ecdh, sizeof ss_ecdh);
    pq3_wipe(ss_ecdh2, sizeof ss_ecdh2);
    pq3_wipe(stale_ecdh, sizeof stale_ecdh);
    pq3_wipe(stale_kem, sizeof stale_kem);
    pq3_session_wipe(&before_r);
    pq3_session_wipe(&after_s);
    pq3_session_wipe(&after_r);
}

static void game_hybrid(const gm_conv *c)
{
    size_t prev_chain = 0;
    int done = 0, first_sender = -1;

    printf("\nGame 4: hybrid secrecy (ratchet steps: attacker also holds RK before the step)\n");
    printf("  %-24s %-20s | %5s %8s %8s %6s\n", "step", "leaked", "tried", "RK=real",
           "CK=real", "opens");
    hybrid_start(c);
    /* The first ML-KEM ratchet step from each side. */
    for (size_t j = 1; j < c->n && done < 2; j++) {
        if (!c->msg[j].new_chain)
            continue;
        if ((c->msg[j].flags & PQ3_MSG_CT) && prev_chain > 0 &&
            c->msg[j].sender != first_sender) {
            hybrid_ratchet(c, j, prev_chain);
            first_sender = c->msg[j].sender;
            done++;
        }
        prev_chain = j;
    }
    CHECK(done == 2);
}

/* ---- main ----------------------------------------------------------------- */

int main(void)
{
    gm_conv *small = calloc(1, sizeof *small), *dflt = calloc(1, sizeof *dflt);
    gm_conv *slow = calloc(1, sizeof *slow);
    pq3_rekey_policy small_pol = pq3_rekey_policy_default();
    pq3_rekey_policy def_pol = pq3_rekey_policy_default();
    pq3_rekey_policy slow_pol = pq3_rekey_policy_default();

    small_pol.max_messages = 8;
    small_pol.max_age = 3600;
    slow_pol.max_age = 3600;
    slow_pol.constrained = 1;
    CHECK(small != NULL && dflt != NULL && slow != NULL);
    if (small == NULL || dflt == NULL || slow == NULL)
        return pq3t_finish();
    /* 160 messages a minute apart, chains of 1..4, policy {8, 1 hour}. */
    CHECK(gm_conv_run(small, 11, 160, 4, &small_pol, 60));
    /* 420 messages a minute apart, the default policy {50, 7 days}. */
    CHECK(gm_conv_run(dflt, 12, 420, 4, &def_pol, 60));
    /* A constrained link, 10 minutes apart: only the age trigger (1 hour). */
    CHECK(gm_conv_run(slow, 13, 120, 3, &slow_pol, 600));
    if (small->n == 160 && dflt->n == 420 && slow->n == 120) {
        game_forward_secrecy(small, 5);
        game_fs_out_of_order();
        game_pcs_classical(small);
        game_pcs_quantum(dflt, "default", 2);
        game_pcs_quantum(small, "small", 1);
        game_pcs_quantum(slow, "constrained", 1);
        game_hybrid(small);
    }
    gm_conv_free(small);
    gm_conv_free(dflt);
    gm_conv_free(slow);
    free(small);
    free(dflt);
    free(slow);
    return pq3t_finish();
}
