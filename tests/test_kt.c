/* Tests for src/transparency/kt.c (include/pq3/kt.h, docs/TRANSPARENCY.md
 * §1-§5, §9): the commitment, alpha, the epoch leaf and the verification
 * code against independent references (OpenSSL directly, and known answers
 * computed outside this project); checkpoints and promises in their exact
 * text and their strict parsers; then a whole log: a map of a few hundred
 * accounts over several epochs, signed checkpoints with witnesses, lookup
 * proofs built and verified, one refusal for every reason a lookup can be
 * refused for, every bit of a proof flipped, every truncation and a
 * trailing byte refused; owner monitoring's alerts. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "pq3/kt.h"
#include "testutil.h"

#define SERVER "example.org"
#define MMD 20
#define WINDOW (3 * MMD)
#define N_ACCOUNTS 300
#define N_EPOCHS 6        /* epochs 1..6 after the empty epoch 0 */
#define T0 1700000000ull
#define EPOCH_SECS 10
#define PROOF_CAP 65536
#define NOTE_CAP 4096

/* ---- independent references ---------------------------------------------- */

static void sha256(uint8_t out[32], const uint8_t *in, size_t len)
{
    unsigned int n = 0;
    if (EVP_Digest(in, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        abort();
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* TRANSPARENCY.md §1, written out byte by byte. */
static void ref_value(uint8_t out[32], const uint8_t *h, size_t h_len, const uint8_t pub[33],
                      uint64_t v, const uint8_t *list, size_t list_len)
{
    size_t n = 0;
    uint8_t *buf = malloc(15 + 1 + h_len + 33 + 8 + 2 + list_len);
    if (buf == NULL)
        abort();
    memcpy(buf, "pq3 kt value v1", 15);
    n = 15;
    buf[n++] = (uint8_t)h_len;
    memcpy(buf + n, h, h_len);
    n += h_len;
    memcpy(buf + n, pub, 33);
    n += 33;
    be64(buf + n, v);
    n += 8;
    buf[n++] = (uint8_t)(list_len >> 8);
    buf[n++] = (uint8_t)list_len;
    if (list_len > 0)
        memcpy(buf + n, list, list_len);
    n += list_len;
    sha256(out, buf, n);
    free(buf);
}

/* TRANSPARENCY.md §2. */
static size_t ref_alpha(uint8_t *out, const uint8_t *h, size_t h_len, uint64_t v)
{
    memcpy(out, "pq3 kt key v1", 13);
    out[13] = (uint8_t)h_len;
    memcpy(out + 14, h, h_len);
    be64(out + 14 + h_len, v);
    return 14 + h_len + 8;
}

/* TRANSPARENCY.md §9 with OpenSSL's bignums: the hash mod 10^60. */
static void ref_code(char out[72], const uint8_t *ha, size_t al, const uint8_t pa[33],
                     const uint8_t *hb, size_t bl, const uint8_t pb[33])
{
    uint8_t a[1 + 255 + 33], b[1 + 255 + 33], buf[13 + 2 * sizeof a], d[32];
    size_t an = 1 + al + 33, bn = 1 + bl + 33, n = 13, m;
    const uint8_t *lo = a, *hi = b;
    size_t lo_n = an, hi_n = bn;
    BIGNUM *x = BN_new(), *mod = NULL, *r = BN_new();
    BN_CTX *ctx = BN_CTX_new();
    char *dec, digits[61];
    int c;

    a[0] = (uint8_t)al;
    memcpy(a + 1, ha, al);
    memcpy(a + 1 + al, pa, 33);
    b[0] = (uint8_t)bl;
    memcpy(b + 1, hb, bl);
    memcpy(b + 1 + bl, pb, 33);
    m = an < bn ? an : bn;
    c = memcmp(a, b, m);
    if (c > 0 || (c == 0 && bn < an)) {
        lo = b, lo_n = bn;
        hi = a, hi_n = an;
    }
    memcpy(buf, "pq3 verify v1", 13);
    memcpy(buf + n, lo, lo_n);
    n += lo_n;
    memcpy(buf + n, hi, hi_n);
    n += hi_n;
    sha256(d, buf, n);
    if (x == NULL || r == NULL || ctx == NULL || BN_bin2bn(d, 32, x) == NULL ||
        BN_dec2bn(&mod, "1000000000000000000000000000000000000000000000000000000000000") == 0 ||
        BN_mod(r, x, mod, ctx) != 1 || (dec = BN_bn2dec(r)) == NULL)
        abort();
    m = strlen(dec);
    memset(digits, '0', 60);
    memcpy(digits + 60 - m, dec, m);
    for (int g = 0; g < 12; g++) {
        memcpy(out + g * 6, digits + g * 5, 5);
        out[g * 6 + 5] = g == 11 ? '\0' : ' ';
    }
    OPENSSL_free(dec);
    BN_free(x);
    BN_free(mod);
    BN_free(r);
    BN_CTX_free(ctx);
}

/* ---- helpers --------------------------------------------------------------- */

static pq3t_drbg drbg;

static void rnd(uint8_t *out, size_t n)
{
    pq3_rng rng = pq3t_drbg_rng(&drbg);
    if (pq3_random(&rng, out, n) != PQ3_OK)
        abort();
}

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static int hex_eq(const uint8_t *got, size_t n, const char *hex)
{
    uint8_t want[64];
    return n <= sizeof want && pq3t_unhex_into(want, n, hex) && memcmp(got, want, n) == 0;
}

#define S(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

/* ---- the log the tests run against ---------------------------------------- */

typedef struct {
    uint8_t h[32];
    size_t h_len;
    uint8_t pub[33];
    uint64_t v;         /* the latest version in the map (0: not registered) */
} account;

static struct {
    pq3_note_signer log, other_log, wit[3];
    pq3_note_verifier log_v, other_log_v, wit_v[3];
    uint8_t vrf_sk[32], vrf_pk[33], other_vrf_pk[33];
    pq3_map *map;
    account acc[N_ACCOUNTS + 1]; /* the last one never registered */
    uint8_t leaves[(N_EPOCHS + 1) * 32];
    uint8_t roots[N_EPOCHS + 2][32]; /* roots[s]: the log's head at size s */
    uint8_t fork_root3[32];          /* the head at size 3 of a forked log */
    uint64_t size;
    uint64_t time;                   /* the last epoch's */
    uint8_t map_root[32];
    uint8_t cp[NOTE_CAP];            /* the latest checkpoint, log only */
    size_t cp_len;
} W;

/* The list of account i at version v: bytes that differ per version. */
static size_t make_list(uint8_t out[128], size_t i, uint64_t v)
{
    int n = snprintf((char *)out, 128, "list of %zu at %llu:", i, (unsigned long long)v);
    size_t len = (size_t)n;
    for (size_t k = 0; k < i % 40; k++)
        out[len++] = (uint8_t)(k * 7 + i);
    return len;
}

static void epoch_leaf(uint64_t e, uint64_t t, const uint8_t root[32])
{
    CHECK_OK(pq3_kt_leaf_hash(W.leaves + e * 32, e, t, root));
}

/* A checkpoint note for (server, size, root), signed by the log and then
 * cosigned by the witnesses in `mask` at time ts. */
static size_t checkpoint_note(uint8_t *out, size_t cap, const char *server, uint64_t size,
                              const uint8_t root[32], unsigned mask, uint64_t ts)
{
    pq3_kt_checkpoint c;
    uint8_t text[512];
    size_t tl = 0, n = 0, l = 0;
    c.size = size;
    memcpy(c.root, root, 32);
    c.mmd = MMD;
    CHECK_OK(pq3_kt_checkpoint_text(text, sizeof text, &tl, server, &c));
    CHECK_OK(pq3_kt_checkpoint_sign(out, cap, &n, &W.log, server, &c));
    for (unsigned i = 0; i < 3; i++) {
        if (!(mask & (1u << i)))
            continue;
        CHECK_OK(pq3_note_signature_line(out + n, cap - n, &l, text, tl, &W.wit[i], ts));
        n += l;
    }
    return n;
}

static void setup(void)
{
    pq3_rng rng;
    static const char *wnames[3] = { "w1.example", "w2.example", "w3.example" };
    uint8_t sk2[32];

    pq3t_drbg_init(&drbg, "test_kt", 0);
    rng = pq3t_drbg_rng(&drbg);
    CHECK_OK(pq3_note_signer_generate(&W.log, SERVER "/kt/v1", PQ3_NOTE_TYPE_ED25519, &rng));
    CHECK_OK(pq3_note_signer_generate(&W.other_log, SERVER "/kt/v1", PQ3_NOTE_TYPE_ED25519,
                                      &rng));
    pq3_note_signer_verifier(&W.log_v, &W.log);
    pq3_note_signer_verifier(&W.other_log_v, &W.other_log);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(pq3_note_signer_generate(&W.wit[i], wnames[i], PQ3_NOTE_TYPE_COSIGNATURE, &rng));
        pq3_note_signer_verifier(&W.wit_v[i], &W.wit[i]);
    }
    CHECK_OK(pq3_vrf_keypair(W.vrf_sk, W.vrf_pk, &rng));
    CHECK_OK(pq3_vrf_keypair(sk2, W.other_vrf_pk, &rng));
    CHECK_OK(pq3_map_new(&W.map));
    for (size_t i = 0; i <= N_ACCOUNTS; i++) {
        account *a = &W.acc[i];
        a->h_len = (size_t)snprintf((char *)a->h, sizeof a->h, "user%03zu@example.org", i);
        a->pub[0] = (uint8_t)(2 + (i & 1));
        rnd(a->pub + 1, 32);
        a->v = 0;
    }

    /* Epoch 0: the empty map. */
    memset(W.map_root, 0, 32);
    epoch_leaf(0, T0, W.map_root);
    /* Epoch e registers the accounts i with i % N_EPOCHS == e - 1 (version
     * 1) and gives a new version to every registered account with
     * i % 5 == 0, up to version 3. */
    for (uint64_t e = 1; e <= N_EPOCHS; e++) {
        static uint8_t keys[N_ACCOUNTS * 32], vals[N_ACCOUNTS * 32];
        size_t n = 0;
        for (size_t i = 0; i < N_ACCOUNTS; i++) {
            account *a = &W.acc[i];
            uint8_t pi[81], list[128];
            size_t ll;
            uint64_t v;
            if (a->v == 0 && i % N_EPOCHS == e - 1)
                v = 1;
            else if (a->v > 0 && i % 5 == 0 && a->v < 3)
                v = a->v + 1;
            else
                continue;
            ll = make_list(list, i, v);
            CHECK_OK(pq3_kt_key_prove(keys + n * 32, pi, W.vrf_sk, a->h, a->h_len, v));
            CHECK_OK(pq3_kt_value(vals + n * 32, a->h, a->h_len, a->pub, v, list, ll));
            a->v = v;
            n++;
        }
        CHECK_OK(pq3_map_set(W.map, keys, vals, n));
        CHECK_OK(pq3_map_root(W.map, W.map_root));
        epoch_leaf(e, T0 + e * EPOCH_SECS, W.map_root);
    }
    W.size = N_EPOCHS + 1;
    W.time = T0 + N_EPOCHS * EPOCH_SECS;
    for (uint64_t s = 0; s <= W.size; s++)
        CHECK_OK(pq3_merkle_root(W.roots[s], W.leaves, s));
    {
        uint8_t forked[3 * 32];
        memcpy(forked, W.leaves, sizeof forked);
        forked[32] ^= 1;
        CHECK_OK(pq3_merkle_root(W.fork_root3, forked, 3));
    }
    W.cp_len = checkpoint_note(W.cp, sizeof W.cp, SERVER, W.size, W.roots[W.size], 0, 0);
    CHECK(pq3_map_size(W.map) > N_ACCOUNTS);
}

static pq3_kt_config config(size_t n_wit, size_t k)
{
    pq3_kt_config c;
    memset(&c, 0, sizeof c);
    c.server_name = SERVER;
    c.log_key = W.log_v;
    memcpy(c.vrf_pub, W.vrf_pk, 33);
    c.witnesses = n_wit > 0 ? W.wit_v : NULL;
    c.n_witnesses = n_wit;
    c.witness_threshold = k;
    c.mmd_max = PQ3_KT_MMD_MAX_DEFAULT;
    return c;
}

static uint8_t proof_buf[PROOF_CAP], proof2[PROOF_CAP];

/* The server's proof for (h, v) at the latest epoch, from `cp`. */
static size_t build_with(uint8_t *out, const uint8_t *cp, size_t cp_len, uint64_t pinned,
                         const uint8_t *h, size_t h_len, uint64_t v, const uint8_t *promise,
                         size_t promise_len)
{
    size_t len = 0;
    CHECK_OK(pq3_kt_proof_build(out, PROOF_CAP, &len, cp, cp_len, W.time, W.map_root, W.leaves,
                                W.size, pinned, W.map, W.vrf_sk, h, h_len, v, promise,
                                promise_len));
    return len;
}

static size_t build(uint8_t *out, uint64_t pinned, const account *a, uint64_t v)
{
    return build_with(out, W.cp, W.cp_len, pinned, a->h, a->h_len, v, NULL, 0);
}

static size_t index_of(const account *a)
{
    return (size_t)(a - W.acc);
}

/* The client's check of a lookup of account a at version v (its list
 * rebuilt for v). */
static pq3_err verify(pq3_kt_lookup *r, pq3_kt_pin *np, const pq3_kt_config *cfg,
                      const pq3_kt_pin *pin, const uint8_t *proof, size_t len, const account *a,
                      uint64_t v, uint64_t now)
{
    uint8_t list[128];
    size_t ll = make_list(list, index_of(a), v);
    return pq3_kt_verify_lookup(r, np, cfg, pin, proof, len, a->h, a->h_len, a->pub, list, ll, v,
                                now);
}

/* Expects a refusal for `reason` of the proof for account a at version v. */
#define EXPECT_REFUSED(cfg, pin, proof, len, a, v, now, why)                         \
    do {                                                                              \
        pq3_kt_lookup r_;                                                             \
        pq3_kt_pin np_ = { 12345, { 0 } };                                            \
        pq3_err e_ = verify(&r_, &np_, (cfg), (pin), (proof), (len), (a), (v), (now)); \
        CHECKF(r_.status == PQ3_KT_REFUSED && r_.reason == (why),                  \
               "status %d reason %d (%s), expected reason %d", r_.status, r_.reason,  \
               pq3_kt_reason_text(r_.reason), (why));                              \
        CHECK(e_ == ((why) == PQ3_KT_MALFORMED ? PQ3_ERR_DECODE : PQ3_ERR_VERIFY)); \
        CHECK(np_.size == 12345);                                                     \
    } while (0)

static const pq3_kt_pin no_pin = { 0, { 0 } };

/* An account with the given latest version. */
static account *with_version(uint64_t v)
{
    for (size_t i = 0; i <= N_ACCOUNTS; i++)
        if (W.acc[i].v == v)
            return &W.acc[i];
    abort();
}

static pq3_kt_proof *P; /* a decoded proof to alter */

/* Decodes in[0..len) into *P for a test to alter, then encode_p() writes it
 * back into proof2. */
static void decode_p(const uint8_t *in, size_t len)
{
    CHECK_OK(pq3_kt_proof_decode(P, in, len));
}

static size_t encode_p(void)
{
    size_t n = 0;
    CHECK_OK(pq3_kt_proof_encode(proof2, sizeof proof2, &n, P));
    return n;
}

/* ---- §1, §2: value, alpha, key ---------------------------------------------- */

static void test_value(void)
{
    static const uint8_t h[] = "alice@example.org";
    static const uint8_t list[] = "device list bytes\x00\xff";
    uint8_t pub[33], out[32], ref[32], big[PQ3_KT_LIST_MAX], hmax[255];

    pub[0] = 2;
    for (int i = 1; i < 33; i++)
        pub[i] = (uint8_t)i;
    /* Known answers, computed outside this project (Python's hashlib). */
    CHECK_OK(pq3_kt_value(out, h, sizeof h - 1, pub, 7, list, sizeof list - 1));
    CHECK(hex_eq(out, 32, "44866e8970dbcc8493a6ba7a77da89a7f9a9f6d9f1d5820e1dbdb9c3e4e12b15"));
    CHECK_OK(pq3_kt_value(out, h, sizeof h - 1, pub, 0, NULL, 0));
    CHECK(hex_eq(out, 32, "7bbe64c249e80e1727f93c12ae6a70dad457b6722f6c0f2150de1c885b65bc29"));
    CHECK_OK(pq3_kt_value(ref, h, sizeof h - 1, pub, 0, list, 0));
    CHECK(memcmp(out, ref, 32) == 0);

    /* Against the reference at the bounds and at random. */
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    memset(hmax, 'h', sizeof hmax);
    CHECK_OK(pq3_kt_value(out, hmax, 255, pub, UINT64_MAX, big, sizeof big));
    ref_value(ref, hmax, 255, pub, UINT64_MAX, big, sizeof big);
    CHECK(memcmp(out, ref, 32) == 0);
    for (int t = 0; t < 50; t++) {
        uint8_t hh[255], ll[300], pp[33], vb[8];
        size_t hl, lll;
        uint64_t v = 0;
        rnd(vb, 8);
        for (int k = 0; k < 8; k++)
            v = v << 8 | vb[k];
        hl = 1 + vb[0] % 255;
        lll = vb[1] + vb[2] % 45;
        rnd(hh, hl);
        rnd(ll, lll);
        rnd(pp, 33);
        CHECK_OK(pq3_kt_value(out, hh, hl, pp, v, ll, lll));
        ref_value(ref, hh, hl, pp, v, ll, lll);
        CHECK(memcmp(out, ref, 32) == 0);
    }
    /* Every field is bound. */
    CHECK_OK(pq3_kt_value(ref, h, sizeof h - 1, pub, 7, list, sizeof list - 1));
    CHECK_OK(pq3_kt_value(out, h, sizeof h - 2, pub, 7, list, sizeof list - 1));
    CHECK(memcmp(out, ref, 32) != 0);
    CHECK_OK(pq3_kt_value(out, h, sizeof h - 1, pub, 8, list, sizeof list - 1));
    CHECK(memcmp(out, ref, 32) != 0);
    CHECK_OK(pq3_kt_value(out, h, sizeof h - 1, pub, 7, list, sizeof list - 2));
    CHECK(memcmp(out, ref, 32) != 0);
    pub[5] ^= 1;
    CHECK_OK(pq3_kt_value(out, h, sizeof h - 1, pub, 7, list, sizeof list - 1));
    CHECK(memcmp(out, ref, 32) != 0);
    /* Arguments; the output wiped. */
    memset(out, 0xAA, 32);
    CHECK_ERR(pq3_kt_value(out, h, 0, pub, 7, list, 1), PQ3_ERR_ARG);
    CHECK(is_zero(out, 32));
    CHECK_ERR(pq3_kt_value(out, hmax, 256, pub, 7, list, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_value(out, h, 3, pub, 7, NULL, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_value(out, h, 3, NULL, 7, list, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_value(out, NULL, 3, pub, 7, list, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_value(NULL, h, 3, pub, 7, list, 1), PQ3_ERR_ARG);
    {
        uint8_t *over = calloc(1, PQ3_KT_LIST_MAX + 1);
        CHECK_ERR(pq3_kt_value(out, h, 3, pub, 7, over, PQ3_KT_LIST_MAX + 1), PQ3_ERR_ARG);
        free(over);
    }
}

static void test_alpha_key(void)
{
    uint8_t a[PQ3_KT_ALPHA_MAX + 8], ref[PQ3_KT_ALPHA_MAX], hmax[255];
    uint8_t key[32], key2[32], pi[81], pi2[81], beta[32], zero_sk[32];
    size_t n = 0, rn;
    const account *u = &W.acc[17];

    /* alpha, exactly. */
    CHECK_OK(pq3_kt_alpha(a, sizeof a, &n, S("bob"), 0x0102030405060708ull));
    CHECK(n == 25 && hex_eq(a, 25, "707133206b74206b657920763103626f620102030405060708"));
    memset(hmax, 0xfe, sizeof hmax);
    CHECK_OK(pq3_kt_alpha(a, sizeof a, &n, hmax, 255, 9));
    rn = ref_alpha(ref, hmax, 255, 9);
    CHECK(n == PQ3_KT_ALPHA_MAX && n == rn && memcmp(a, ref, n) == 0);
    memset(a, 0x55, sizeof a);
    CHECK_ERR(pq3_kt_alpha(a, 24, &n, S("bob"), 1), PQ3_ERR_BUFFER);
    CHECK(n == 25 && a[0] == 0x55);
    CHECK_OK(pq3_kt_alpha(a, 25, &n, S("bob"), 1));
    CHECK_ERR(pq3_kt_alpha(a, sizeof a, &n, hmax, 0, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_alpha(a, sizeof a, &n, hmax, 256, 1), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_alpha(a, sizeof a, NULL, hmax, 1, 1), PQ3_ERR_ARG);

    /* key(h, v): the VRF output on the reference alpha, checked by the VRF
     * itself; distinct per version and per handle. */
    CHECK_OK(pq3_kt_key_prove(key, pi, W.vrf_sk, u->h, u->h_len, 5));
    rn = ref_alpha(ref, u->h, u->h_len, 5);
    CHECK_OK(pq3_vrf_verify(beta, W.vrf_pk, ref, rn, pi));
    CHECK(memcmp(beta, key, 32) == 0);
    CHECK_OK(pq3_kt_key_verify(key2, W.vrf_pk, u->h, u->h_len, 5, pi));
    CHECK(memcmp(key2, key, 32) == 0);
    CHECK_OK(pq3_kt_key_prove(key2, pi2, W.vrf_sk, u->h, u->h_len, 5));
    CHECK(memcmp(key2, key, 32) == 0 && memcmp(pi2, pi, 81) == 0); /* deterministic */
    CHECK_OK(pq3_kt_key_prove(key2, pi2, W.vrf_sk, u->h, u->h_len, 6));
    CHECK(memcmp(key2, key, 32) != 0);
    CHECK_OK(pq3_kt_key_prove(key2, pi2, W.vrf_sk, W.acc[18].h, W.acc[18].h_len, 5));
    CHECK(memcmp(key2, key, 32) != 0);
    /* A proof for another alpha or key does not verify; key wiped. */
    memset(key2, 0xAA, 32);
    CHECK_ERR(pq3_kt_key_verify(key2, W.vrf_pk, u->h, u->h_len, 6, pi), PQ3_ERR_VERIFY);
    CHECK(is_zero(key2, 32));
    CHECK_ERR(pq3_kt_key_verify(key2, W.other_vrf_pk, u->h, u->h_len, 5, pi), PQ3_ERR_VERIFY);
    pi2[0] = 0x05; /* Gamma not a point encoding */
    CHECK_ERR(pq3_kt_key_verify(key2, W.vrf_pk, u->h, u->h_len, 5, pi2), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_kt_key_verify(key2, W.vrf_pk, u->h, 0, 5, pi), PQ3_ERR_ARG);
    /* A secret key that is not one. */
    memset(zero_sk, 0, sizeof zero_sk);
    memset(key2, 0xAA, 32);
    memset(pi2, 0xAA, 81);
    CHECK_ERR(pq3_kt_key_prove(key2, pi2, zero_sk, u->h, u->h_len, 5), PQ3_ERR_KEY);
    CHECK(is_zero(key2, 32) && is_zero(pi2, 81));
    CHECK_ERR(pq3_kt_key_prove(key2, pi2, W.vrf_sk, u->h, 0, 5), PQ3_ERR_ARG);
    CHECK(is_zero(key2, 32) && is_zero(pi2, 81));
}

/* ---- §3: leaves, origins, checkpoints ----------------------------------------- */

static void test_leaf(void)
{
    uint8_t root[32], leaf[PQ3_KT_LEAF_BYTES], lh[32], ref[1 + PQ3_KT_LEAF_BYTES], r2[32];
    uint64_t e = 0, t = 0;

    for (int i = 0; i < 32; i++)
        root[i] = (uint8_t)i;
    CHECK(PQ3_KT_LEAF_BYTES == 63);
    CHECK_OK(pq3_kt_leaf_encode(leaf, 5, 1700000000, root));
    CHECK(memcmp(leaf, "pq3 kt epoch v1", 15) == 0 &&
          hex_eq(leaf + 15, 16, "0000000000000005000000006553f100") &&
          memcmp(leaf + 31, root, 32) == 0);
    CHECK_OK(pq3_kt_leaf_hash(lh, 5, 1700000000, root));
    CHECK(hex_eq(lh, 32, "162895e3003a7d49ed1e49aa6206d2beaa91e81f48fb67e431115859b97d692a"));
    ref[0] = 0;
    memcpy(ref + 1, leaf, sizeof leaf);
    sha256(r2, ref, sizeof ref);
    CHECK(memcmp(r2, lh, 32) == 0);
    CHECK_OK(pq3_kt_leaf_decode(&e, &t, r2, leaf, sizeof leaf));
    CHECK(e == 5 && t == 1700000000 && memcmp(r2, root, 32) == 0);
    e = 99;
    CHECK_ERR(pq3_kt_leaf_decode(&e, &t, r2, leaf, sizeof leaf - 1), PQ3_ERR_DECODE);
    CHECK(e == 99);
    leaf[3] ^= 1;
    CHECK_ERR(pq3_kt_leaf_decode(&e, &t, r2, leaf, sizeof leaf), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_kt_leaf_encode(leaf, 1, 1, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_leaf_hash(NULL, 1, 1, root), PQ3_ERR_ARG);
}

static void test_origin(void)
{
    char out[300], name[260];
    size_t n = 0;

    CHECK_OK(pq3_kt_origin(out, sizeof out, &n, SERVER));
    CHECK(n == 17 && strcmp(out, "example.org/kt/v1") == 0);
    CHECK_ERR(pq3_kt_origin(out, 17, &n, SERVER), PQ3_ERR_BUFFER);
    CHECK(n == 17);
    CHECK_OK(pq3_kt_origin(out, 18, NULL, SERVER));
    memset(name, 'a', sizeof name);
    name[PQ3_KT_SERVER_NAME_MAX] = '\0';
    CHECK_OK(pq3_kt_origin(out, sizeof out, &n, name));
    CHECK(n == 255);
    name[PQ3_KT_SERVER_NAME_MAX] = 'a';
    name[PQ3_KT_SERVER_NAME_MAX + 1] = '\0';
    CHECK_ERR(pq3_kt_origin(out, sizeof out, &n, name), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_origin(out, sizeof out, &n, ""), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_origin(out, sizeof out, &n, "a\nb"), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_origin(out, sizeof out, &n, "a\x01"), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_origin(out, sizeof out, &n, "\xff\xfe"), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_origin(out, sizeof out, &n, NULL), PQ3_ERR_ARG);
}

/* A checkpoint body with the given origin, size, the 0..31 root and
 * extension text. */
static size_t body(uint8_t *out, const char *origin, const char *size, const char *ext)
{
    return (size_t)snprintf((char *)out, 512, "%s\n%s\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n%s",
                            origin, size, ext);
}

static void test_checkpoint(void)
{
    static const char want[] = "example.org/kt/v1\n7\n"
                               "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nmmd 20\n";
    uint8_t text[512], note[NOTE_CAP];
    size_t n = 0, nl = 0;
    pq3_kt_checkpoint c, d;
    pq3_note pn;

    c.size = 7;
    for (int i = 0; i < 32; i++)
        c.root[i] = (uint8_t)i;
    c.mmd = MMD;
    CHECK_OK(pq3_kt_checkpoint_text(text, sizeof text, &n, SERVER, &c));
    CHECK(n == sizeof want - 1 && memcmp(text, want, n) == 0);
    CHECK_ERR(pq3_kt_checkpoint_text(NULL, 0, &n, SERVER, &c), PQ3_ERR_BUFFER);
    CHECK(n == sizeof want - 1);
    CHECK_ERR(pq3_kt_checkpoint_text(text, n - 1, &n, SERVER, &c), PQ3_ERR_BUFFER);
    CHECK_OK(pq3_kt_checkpoint_parse(&d, text, n, SERVER));
    CHECK(d.size == 7 && d.mmd == MMD && memcmp(d.root, c.root, 32) == 0);
    c.mmd = 0;
    CHECK_ERR(pq3_kt_checkpoint_text(text, sizeof text, &n, SERVER, &c), PQ3_ERR_ARG);
    c.mmd = UINT64_MAX;
    c.size = UINT64_MAX;
    CHECK_OK(pq3_kt_checkpoint_text(text, sizeof text, &n, SERVER, &c));
    CHECK_OK(pq3_kt_checkpoint_parse(&d, text, n, SERVER));
    CHECK(d.size == UINT64_MAX && d.mmd == UINT64_MAX);
    CHECK_ERR(pq3_kt_checkpoint_text(text, sizeof text, &n, "bad\nname", &c), PQ3_ERR_ARG);

    /* Signed: a note by the log key over exactly that text. */
    c.size = 7;
    c.mmd = MMD;
    CHECK_OK(pq3_kt_checkpoint_sign(note, sizeof note, &nl, &W.log, SERVER, &c));
    CHECK_OK(pq3_note_open(&pn, note, nl, &W.log_v, 1));
    CHECK(pn.n_sigs == 1 && pn.text_len == sizeof want - 1 &&
          memcmp(pn.text, want, pn.text_len) == 0);
    CHECK_ERR(pq3_kt_checkpoint_sign(NULL, 0, &n, &W.log, SERVER, &c), PQ3_ERR_BUFFER);
    CHECK(n == nl);
    CHECK_ERR(pq3_kt_checkpoint_sign(note, sizeof note, &nl, &W.wit[0], SERVER, &c), PQ3_ERR_ARG);

    /* The parser: exactly one extension line, "mmd <decimal >= 1>". */
    memset(&d, 0xAA, sizeof d);
#define PARSE(ext, expect)                                                      \
    do {                                                                        \
        n = body(text, "example.org/kt/v1", "7", ext);                          \
        CHECK_ERR(pq3_kt_checkpoint_parse(&d, text, n, SERVER), expect);        \
    } while (0)
    PARSE("", PQ3_ERR_DECODE);
    CHECK(is_zero(&d, sizeof d));
    PARSE("mmd 20\nfoo\n", PQ3_ERR_DECODE);
    PARSE("foo\nmmd 20\n", PQ3_ERR_DECODE);
    PARSE("mmd 0\n", PQ3_ERR_DECODE);
    PARSE("mmd 020\n", PQ3_ERR_DECODE);
    PARSE("mmd \n", PQ3_ERR_DECODE);
    PARSE("mmd\n", PQ3_ERR_DECODE);
    PARSE("mmd 2x\n", PQ3_ERR_DECODE);
    PARSE("mmd +2\n", PQ3_ERR_DECODE);
    PARSE("mmd  2\n", PQ3_ERR_DECODE);
    PARSE("MMD 2\n", PQ3_ERR_DECODE);
    PARSE("mmdx 2\n", PQ3_ERR_DECODE);
    PARSE("mmd 18446744073709551616\n", PQ3_ERR_DECODE);
    PARSE("mmd 99999999999999999999\n", PQ3_ERR_DECODE);
    PARSE("mmd 20", PQ3_ERR_DECODE);
    PARSE("mmd 18446744073709551615\n", PQ3_OK);
    CHECK(d.mmd == UINT64_MAX);
    PARSE("mmd 1\n", PQ3_OK);
    CHECK(d.mmd == 1 && d.size == 7);
#undef PARSE
    n = body(text, "other.example/kt/v1", "7", "mmd 20\n");
    CHECK_ERR(pq3_kt_checkpoint_parse(&d, text, n, SERVER), PQ3_ERR_UNKNOWN);
    CHECK(is_zero(&d, sizeof d));
    n = body(text, "example.org/kt/v2", "7", "mmd 20\n");
    CHECK_ERR(pq3_kt_checkpoint_parse(&d, text, n, SERVER), PQ3_ERR_UNKNOWN);
    n = body(text, "example.org", "7", "mmd 20\n");
    CHECK_ERR(pq3_kt_checkpoint_parse(&d, text, n, SERVER), PQ3_ERR_UNKNOWN);
    n = body(text, "example.org/kt/v1", "07", "mmd 20\n");
    CHECK_ERR(pq3_kt_checkpoint_parse(&d, text, n, SERVER), PQ3_ERR_DECODE);
    n = body(text, "example.org/kt/v1", "7", "mmd 20\n");
    CHECK_ERR(pq3_kt_checkpoint_parse(&d, text, n - 1, SERVER), PQ3_ERR_DECODE);
    CHECK_ERR(pq3_kt_checkpoint_parse(&d, text, n, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_checkpoint_parse(&d, NULL, n, SERVER), PQ3_ERR_ARG);
    CHECK_OK(pq3_kt_checkpoint_parse(&d, text, n, SERVER));
}

/* ---- §4: promises --------------------------------------------------------------- */

/* A note by the log key over `text` (any text), for the parser's negatives. */
static size_t sign_text(uint8_t *out, const char *text, const pq3_note_signer *s)
{
    size_t n = 0;
    CHECK_OK(pq3_note_sign(out, NOTE_CAP, &n, (const uint8_t *)text, strlen(text), s, 1, 0));
    return n;
}

static void test_promise(void)
{
    static const char want[] = "pq3 kt promise v1\n616c696365\n7\n"
                               "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n1700000020\n";
    uint8_t note[NOTE_CAP];
    size_t n = 0, m = 0;
    pq3_kt_promise p, q;
    pq3_note pn;

    memset(&p, 0, sizeof p);
    memcpy(p.h, "alice", 5);
    p.h_len = 5;
    p.v = 7;
    for (int i = 0; i < 32; i++)
        p.value[i] = (uint8_t)i;
    p.deadline = 1700000020;
    CHECK_OK(pq3_kt_promise_sign(note, sizeof note, &n, &W.log, &p));
    CHECK_OK(pq3_note_open(&pn, note, n, &W.log_v, 1));
    CHECK(pn.text_len == sizeof want - 1 && memcmp(pn.text, want, pn.text_len) == 0);
    CHECK_OK(pq3_kt_promise_open(&q, note, n, &W.log_v));
    CHECK(q.h_len == 5 && memcmp(q.h, "alice", 5) == 0 && q.v == 7 && q.deadline == p.deadline &&
          memcmp(q.value, p.value, 32) == 0);
    CHECK_ERR(pq3_kt_promise_sign(NULL, 0, &m, &W.log, &p), PQ3_ERR_BUFFER);
    CHECK(m == n);
    /* Extremes round-trip. */
    memset(p.h, 0xff, sizeof p.h);
    p.h_len = PQ3_KT_HANDLE_MAX;
    p.v = UINT64_MAX;
    p.deadline = 0;
    CHECK_OK(pq3_kt_promise_sign(note, sizeof note, &n, &W.log, &p));
    CHECK_OK(pq3_kt_promise_open(&q, note, n, &W.log_v));
    CHECK(q.h_len == 255 && q.h[254] == 0xff && q.v == UINT64_MAX && q.deadline == 0);
    /* Only the log key's, whole. */
    memset(&q, 0xAA, sizeof q);
    CHECK_ERR(pq3_kt_promise_open(&q, note, n, &W.other_log_v), PQ3_ERR_UNKNOWN);
    CHECK(is_zero(&q, sizeof q));
    note[20] ^= 1;
    CHECK_ERR(pq3_kt_promise_open(&q, note, n, &W.log_v), PQ3_ERR_VERIFY);
    CHECK_ERR(pq3_kt_promise_open(&q, note, n, &W.wit_v[0]), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_promise_sign(note, sizeof note, &n, &W.wit[0], &p), PQ3_ERR_ARG);
    p.h_len = 0;
    CHECK_ERR(pq3_kt_promise_sign(note, sizeof note, &n, &W.log, &p), PQ3_ERR_ARG);
    p.h_len = 256;
    CHECK_ERR(pq3_kt_promise_sign(note, sizeof note, &n, &W.log, &p), PQ3_ERR_ARG);

    /* The body in one form only. */
    {
        static const char *const bad[] = {
            "pq3 kt promise v2\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n",
            "pq3 kt promise v1\n6A\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n",
            "pq3 kt promise v1\n616\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n",
            "pq3 kt promise v1\n\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n",
            "pq3 kt promise v1\n6g\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n",
            "pq3 kt promise v1\n61\n07\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n",
            "pq3 kt promise v1\n61\n\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n",
            ("pq3 kt promise v1\n61\n18446744073709551616\n"
             "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n"),
            /* 31 bytes, 44 characters */
            "pq3 kt promise v1\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n5\n",
            /* non-zero padding bits */
            "pq3 kt promise v1\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n5\n",
            "pq3 kt promise v1\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n5\n",
            "pq3 kt promise v1\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
            "pq3 kt promise v1\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n05\n",
            "pq3 kt promise v1\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\nx\n",
            "pq3 kt promise v1\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5 \n",
            "example.org/kt/v1\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nmmd 20\n",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            n = sign_text(note, bad[i], &W.log);
            CHECKF(pq3_kt_promise_open(&q, note, n, &W.log_v) == PQ3_ERR_DECODE, "bad promise %zu",
                   i);
        }
        n = sign_text(note, "pq3 kt promise v1\n61\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n5\n",
                      &W.log);
        CHECK_OK(pq3_kt_promise_open(&q, note, n, &W.log_v));
        CHECK(q.h_len == 1 && q.h[0] == 'a' && q.v == 7 && q.deadline == 5);
    }
}

/* ---- §5.1: the proof's codec ----------------------------------------------------- */

static void test_codec(void)
{
    const account *a = with_version(1);
    pq3_kt_promise pr;
    uint8_t pnote[NOTE_CAP], list[128], *buf;
    size_t len, plen, n = 0, ll;

    /* A proof with a consistency proof and a promise: every part present. */
    memset(&pr, 0, sizeof pr);
    memcpy(pr.h, a->h, a->h_len);
    pr.h_len = a->h_len;
    pr.v = 2;
    ll = make_list(list, index_of(a), 2);
    CHECK_OK(pq3_kt_value(pr.value, a->h, a->h_len, a->pub, 2, list, ll));
    pr.deadline = W.time + 15;
    CHECK_OK(pq3_kt_promise_sign(pnote, sizeof pnote, &plen, &W.log, &pr));
    len = build_with(proof_buf, W.cp, W.cp_len, 3, a->h, a->h_len, 2, pnote, plen);

    decode_p(proof_buf, len);
    CHECK(P->checkpoint_len == W.cp_len && memcmp(P->checkpoint, W.cp, W.cp_len) == 0);
    CHECK(P->promise_len == plen && memcmp(P->promise, pnote, plen) == 0);
    CHECK(P->time == W.time && memcmp(P->map_root, W.map_root, 32) == 0 && P->v == 2);
    CHECK(P->consistency.count > 0 && P->inclusion.count > 0);
    CHECK(encode_p() == len && memcmp(proof2, proof_buf, len) == 0);
    CHECK_ERR(pq3_kt_proof_encode(NULL, 0, &n, P), PQ3_ERR_BUFFER);
    CHECK(n == len);
    CHECK_ERR(pq3_kt_proof_encode(proof2, len - 1, &n, P), PQ3_ERR_BUFFER);
    {
        size_t m = 0;
        CHECK_ERR(pq3_kt_proof_build(NULL, 0, &m, W.cp, W.cp_len, W.time, W.map_root, W.leaves,
                                     W.size, 3, W.map, W.vrf_sk, a->h, a->h_len, 2, pnote, plen),
                  PQ3_ERR_BUFFER);
        CHECK(m == len);
    }

    /* Every truncation and a trailing byte: refused by the decoder and as
     * malformed by the client; *p untouched. */
    buf = malloc(len + 1);
    memcpy(buf, proof_buf, len);
    {
        pq3_kt_config cfg = config(0, 0);
        pq3_kt_pin pin = { 3, { 0 } };
        size_t refused = 0;
        memcpy(pin.root, W.roots[3], 32);
        for (size_t cut = 0; cut < len; cut++) {
            pq3_kt_lookup r;
            pq3_kt_pin np = { 0, { 0 } };
            P->v = 0xdeadbeef;
            CHECKF(pq3_kt_proof_decode(P, buf, cut) == PQ3_ERR_DECODE, "truncated at %zu", cut);
            CHECK(P->v == 0xdeadbeef);
            if (pq3_kt_verify_lookup(&r, &np, &cfg, &pin, buf, cut, a->h, a->h_len, a->pub, list,
                                     ll, 2, W.time + 5) == PQ3_ERR_DECODE &&
                r.status == PQ3_KT_REFUSED && r.reason == PQ3_KT_MALFORMED && np.size == 0)
                refused++;
        }
        CHECK(refused == len);
        for (int b = 0; b < 256; b += 85) {
            pq3_kt_lookup r;
            pq3_kt_pin np = { 0, { 0 } };
            buf[len] = (uint8_t)b;
            CHECK_ERR(pq3_kt_proof_decode(P, buf, len + 1), PQ3_ERR_DECODE);
            CHECK_ERR(pq3_kt_verify_lookup(&r, &np, &cfg, &pin, buf, len + 1, a->h, a->h_len,
                                           a->pub, list, ll, 2, W.time),
                      PQ3_ERR_DECODE);
            CHECK(r.reason == PQ3_KT_MALFORMED);
        }
        /* The whole proof itself: pending on its promise. */
        {
            pq3_kt_lookup r;
            pq3_kt_pin np = { 0, { 0 } };
            CHECK_OK(pq3_kt_verify_lookup(&r, &np, &cfg, &pin, buf, len, a->h, a->h_len, a->pub,
                                          list, ll, 2, W.time + 5));
            CHECK(r.status == PQ3_KT_PENDING && r.reason == PQ3_KT_PROMISED);
        }
    }
    free(buf);

    /* Field bounds in the encoding. */
    {
        uint8_t *t = malloc(len + 64);
        size_t off, ml;
        decode_p(proof_buf, len);
        /* The inclusion count (after vec16 note, time, root) over 64. */
        off = 2 + W.cp_len + 8 + 32;
        memcpy(t, proof_buf, len);
        CHECK(t[off] == P->inclusion.count);
        t[off] = 65;
        CHECK_ERR(pq3_kt_proof_decode(P, t, len), PQ3_ERR_DECODE);
        t[off] = (uint8_t)(P->inclusion.count + 1);
        CHECK_ERR(pq3_kt_proof_decode(P, t, len), PQ3_ERR_DECODE);
        /* The member map proof's end byte, and a zero sibling. */
        decode_p(proof_buf, len);
        off = 2 + W.cp_len + 8 + 32 + 1 + 32 * P->inclusion.count + 1 +
              32 * P->consistency.count + 8 + 81;
        ml = pq3_map_proof_size(&P->member);
        memcpy(t, proof_buf, len);
        {
            unsigned pc = 0;
            for (int i = 0; i < 32; i++)
                pc += (unsigned)__builtin_popcount(t[off + (size_t)i]);
            CHECK(32 + 32 * pc + 1 + (P->member.has_leaf ? 64u : 0u) == ml);
            CHECK(t[off + 32 + 32 * pc] == (uint8_t)P->member.has_leaf);
            t[off + 32 + 32 * pc] = 2;
            CHECK_ERR(pq3_kt_proof_decode(P, t, len), PQ3_ERR_DECODE);
            memcpy(t, proof_buf, len);
            if (pc > 0) {
                memset(t + off + 32, 0, 32);
                CHECK_ERR(pq3_kt_proof_decode(P, t, len), PQ3_ERR_DECODE);
            }
        }
        /* An empty checkpoint note. */
        decode_p(proof_buf, len);
        P->checkpoint_len = 0;
        CHECK_ERR(pq3_kt_proof_encode(proof2, sizeof proof2, &n, P), PQ3_ERR_ARG);
        t[0] = 0;
        t[1] = 0;
        memcpy(t + 2, proof_buf + 2 + W.cp_len, len - 2 - W.cp_len);
        CHECK_ERR(pq3_kt_proof_decode(P, t, len - W.cp_len), PQ3_ERR_DECODE);
        /* The encoder refuses what would not decode. */
        decode_p(proof_buf, len);
        P->inclusion.count = 65;
        CHECK_ERR(pq3_kt_proof_encode(proof2, sizeof proof2, &n, P), PQ3_ERR_ARG);
        decode_p(proof_buf, len);
        P->next.has_leaf = 2;
        CHECK_ERR(pq3_kt_proof_encode(proof2, sizeof proof2, &n, P), PQ3_ERR_ARG);
        decode_p(proof_buf, len);
        P->promise = NULL;
        CHECK_ERR(pq3_kt_proof_encode(proof2, sizeof proof2, &n, P), PQ3_ERR_ARG);
        P->promise_len = 0;
        CHECK(encode_p() == len - plen);
        CHECK_OK(pq3_kt_proof_decode(P, proof2, len - plen));
        CHECK(P->promise == NULL && P->promise_len == 0);
        decode_p(proof_buf, len);
        memset(P->member.bitmap, 0, 32);
        P->member.bitmap[0] = 0x80;
        memset(P->member.siblings[0], 0, 32);
        CHECK_ERR(pq3_kt_proof_encode(proof2, sizeof proof2, &n, P), PQ3_ERR_ARG);
        free(t);
    }
    CHECK_ERR(pq3_kt_proof_decode(NULL, proof_buf, len), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_proof_decode(P, NULL, 5), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_proof_decode(P, NULL, 0), PQ3_ERR_DECODE);
}

/* ---- §5.1: the builder's own checks ----------------------------------------------- */

static void test_build_errors(void)
{
    const account *a = with_version(2);
    uint8_t root[32], *leaves = malloc(sizeof W.leaves);
    size_t n = 0;

#define B(cp, cpl, t, mr, lv, sz, pin, hh, hl, v) \
    pq3_kt_proof_build(proof_buf, PROOF_CAP, &n, cp, cpl, t, mr, lv, sz, pin, W.map, W.vrf_sk, hh, hl, v, NULL, 0)
    CHECK_OK(B(W.cp, W.cp_len, W.time, W.map_root, W.leaves, W.size, 0, a->h, a->h_len, 2));
    memcpy(root, W.map_root, 32);
    root[9] ^= 1;
    CHECK_ERR(B(W.cp, W.cp_len, W.time, root, W.leaves, W.size, 0, a->h, a->h_len, 2),
              PQ3_ERR_STATE);
    CHECK_ERR(B(W.cp, W.cp_len, W.time + 1, W.map_root, W.leaves, W.size, 0, a->h, a->h_len, 2),
              PQ3_ERR_STATE);
    CHECK_ERR(B(W.cp, W.cp_len, W.time, W.map_root, W.leaves, W.size - 1, 0, a->h, a->h_len, 2),
              PQ3_ERR_STATE);
    memcpy(leaves, W.leaves, sizeof W.leaves);
    leaves[2 * 32] ^= 1;
    CHECK_ERR(B(W.cp, W.cp_len, W.time, W.map_root, leaves, W.size, 0, a->h, a->h_len, 2),
              PQ3_ERR_STATE);
    CHECK_ERR(B(W.cp, W.cp_len - 1, W.time, W.map_root, W.leaves, W.size, 0, a->h, a->h_len, 2),
              PQ3_ERR_STATE);
    CHECK_ERR(B(W.cp, W.cp_len, W.time, W.map_root, W.leaves, W.size, W.size + 1, a->h, a->h_len,
                2),
              PQ3_ERR_ARG);
    CHECK_ERR(B(W.cp, W.cp_len, W.time, W.map_root, W.leaves, 0, 0, a->h, a->h_len, 2),
              PQ3_ERR_ARG);
    CHECK_ERR(B(W.cp, W.cp_len, W.time, W.map_root, W.leaves, W.size, 0, a->h, a->h_len,
                UINT64_MAX),
              PQ3_ERR_ARG);
    CHECK_ERR(B(W.cp, W.cp_len, W.time, W.map_root, W.leaves, W.size, 0, a->h, 0, 2), PQ3_ERR_ARG);
    CHECK_ERR(B(W.cp, 0, W.time, W.map_root, W.leaves, W.size, 0, a->h, a->h_len, 2), PQ3_ERR_ARG);
    CHECK_ERR(B(W.cp, W.cp_len, W.time, W.map_root, NULL, W.size, 0, a->h, a->h_len, 2),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_proof_build(proof_buf, PROOF_CAP, &n, W.cp, W.cp_len, W.time, W.map_root,
                                 W.leaves, W.size, 0, W.map, W.vrf_sk, a->h, a->h_len, 2, NULL, 3),
              PQ3_ERR_ARG);
    {
        uint8_t zero_sk[32] = { 0 };
        CHECK_ERR(pq3_kt_proof_build(proof_buf, PROOF_CAP, &n, W.cp, W.cp_len, W.time, W.map_root,
                                     W.leaves, W.size, 0, W.map, zero_sk, a->h, a->h_len, 2, NULL,
                                     0),
                  PQ3_ERR_KEY);
    }
#undef B
    free(leaves);
}

/* ---- §5.2: acceptance ----------------------------------------------------------- */

static void test_accept(void)
{
    pq3_kt_config cfg = config(0, 0);
    pq3_kt_lookup r;
    pq3_kt_pin np, pin;
    size_t len, checked = 0;
    uint8_t key[32], pi[81];

    /* Every account at its latest version, a third with a pin. */
    for (size_t i = 0; i < N_ACCOUNTS; i += 7) {
        const account *a = &W.acc[i];
        uint64_t pinned = i % 3 == 0 ? 0 : 1 + i % (W.size);
        memset(&pin, 0, sizeof pin);
        pin.size = pinned;
        if (pinned > 0)
            memcpy(pin.root, W.roots[pinned], 32);
        len = build(proof_buf, pinned, a, a->v);
        memset(&np, 0, sizeof np);
        CHECK_OK(verify(&r, &np, &cfg, &pin, proof_buf, len, a, a->v, W.time + 3));
        CHECKF(r.status == PQ3_KT_ACCEPTED && r.reason == PQ3_KT_OK, "account %zu: %s", i,
               pq3_kt_reason_text(r.reason));
        CHECK(np.size == W.size && memcmp(np.root, W.roots[W.size], 32) == 0);
        CHECK(r.size == W.size && r.mmd == MMD && r.epoch_time == W.time &&
              memcmp(r.map_root, W.map_root, 32) == 0 && r.version == a->v &&
              r.h_len == a->h_len && memcmp(r.h, a->h, a->h_len) == 0 &&
              memcmp(r.account_pub, a->pub, 33) == 0 && r.deadline == 0);
        {
            uint8_t list[128], val[32];
            size_t ll = make_list(list, i, a->v);
            ref_value(val, a->h, a->h_len, a->pub, a->v, list, ll);
            CHECK(memcmp(r.value, val, 32) == 0);
        }
        checked++;
    }
    CHECK(checked > 40);
    /* The proof is the map's: the key proven is key(h, v). */
    {
        const account *a = &W.acc[5];
        len = build(proof_buf, 0, a, a->v);
        decode_p(proof_buf, len);
        CHECK_OK(pq3_kt_key_prove(key, pi, W.vrf_sk, a->h, a->h_len, a->v));
        CHECK(memcmp(pi, P->vrf_proof, 81) == 0 && P->member.has_leaf == 1 &&
              memcmp(P->member.leaf_key, key, 32) == 0);
        CHECK(P->consistency.count == 0 && P->promise == NULL);
    }
    /* new_pin may be the pin itself; the pin equal to the checkpoint. */
    {
        const account *a = with_version(3);
        pin.size = W.size;
        memcpy(pin.root, W.roots[W.size], 32);
        len = build(proof_buf, W.size, a, 3);
        CHECK_OK(verify(&r, &pin, &cfg, &pin, proof_buf, len, a, 3, W.time));
        CHECK(r.status == PQ3_KT_ACCEPTED && pin.size == W.size);
        {
            char text[PQ3_KT_TEXT_MAX];
            CHECK_OK(pq3_kt_lookup_text(text, &r));
            CHECK(strcmp(text, "checked against the log") == 0);
        }
    }
    /* The freshness bounds are inclusive. */
    {
        const account *a = with_version(1);
        len = build(proof_buf, 0, a, 1);
        CHECK_OK(verify(&r, &np, &cfg, &no_pin, proof_buf, len, a, 1, W.time + WINDOW));
        CHECK_OK(verify(&r, &np, &cfg, &no_pin, proof_buf, len, a, 1, W.time - WINDOW));
        cfg.mmd_max = MMD;
        CHECK_OK(verify(&r, &np, &cfg, &no_pin, proof_buf, len, a, 1, W.time));
    }
}

/* ---- §5.2: one refusal per reason --------------------------------------------------- */

static void test_refusals(void)
{
    pq3_kt_config cfg = config(0, 0), c2;
    pq3_kt_pin pin;
    const account *a = with_version(2), *a3 = with_version(3);
    uint8_t note[NOTE_CAP], note2[NOTE_CAP];
    size_t len, n, n2;
    const uint64_t now = W.time + 5;

    len = build(proof_buf, 0, a, 2);
    CHECK_OK(verify(&(pq3_kt_lookup){ 0 }, &pin, &cfg, &no_pin, proof_buf, len, a, 2, now));

    /* Step 0 */
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len - 1, a, 2, now, PQ3_KT_MALFORMED);

    /* Step 1: the log key. Another key of the same name. */
    c2 = cfg;
    c2.log_key = W.other_log_v;
    EXPECT_REFUSED(&c2, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_NOT_SIGNED);
    /* The log's line over another text: a bad signature. */
    {
        pq3_kt_checkpoint c;
        size_t tl = 0, l2 = 0, sig1, sig2;
        uint8_t text[512];
        c.size = W.size;
        memcpy(c.root, W.roots[W.size], 32);
        c.mmd = MMD;
        CHECK_OK(pq3_kt_checkpoint_text(text, sizeof text, &tl, SERVER, &c));
        sig1 = tl + 1; /* text, blank line, then the signature line */
        c.mmd = MMD + 1;
        CHECK_OK(pq3_kt_checkpoint_sign(note2, sizeof note2, &l2, &W.log, SERVER, &c));
        sig2 = l2 - (W.cp_len - sig1);
        CHECK(memcmp(note2 + sig2, "\xe2\x80\x94", 3) == 0);
        memcpy(note, W.cp, sig1);
        memcpy(note + sig1, note2 + sig2, l2 - sig2);
        n = sig1 + l2 - sig2;
        len = build_with(proof_buf, note, n, 0, a->h, a->h_len, 2, NULL, 0);
        EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_NOT_SIGNED);
    }
    /* A checkpoint of another log, signed by this log key. */
    n = checkpoint_note(note, sizeof note, "other.example", W.size, W.roots[W.size], 0, 0);
    len = build_with(proof_buf, note, n, 0, a->h, a->h_len, 2, NULL, 0);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_WRONG_ORIGIN);
    len = build(proof_buf, 0, a, 2);
    c2 = cfg;
    c2.server_name = "other.example";
    EXPECT_REFUSED(&c2, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_WRONG_ORIGIN);
    /* A checkpoint without its mmd line: malformed. */
    {
        char text[256];
        snprintf(text, sizeof text, "%s/kt/v1\n%llu\n", SERVER, (unsigned long long)W.size);
        n = strlen(text);
        {
            /* the base64 root */
            static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            const uint8_t *rt = W.roots[W.size];
            for (size_t i = 0; i < 30; i += 3) {
                uint32_t x = (uint32_t)rt[i] << 16 | (uint32_t)rt[i + 1] << 8 | rt[i + 2];
                text[n++] = b64[x >> 18];
                text[n++] = b64[(x >> 12) & 63];
                text[n++] = b64[(x >> 6) & 63];
                text[n++] = b64[x & 63];
            }
            {
                uint32_t x = (uint32_t)rt[30] << 16 | (uint32_t)rt[31] << 8;
                text[n++] = b64[x >> 18];
                text[n++] = b64[(x >> 12) & 63];
                text[n++] = b64[(x >> 6) & 63];
                text[n++] = '=';
            }
            text[n++] = '\n';
            text[n] = '\0';
        }
        n = sign_text(note, text, &W.log);
        len = build_with(proof_buf, note, n, 0, a->h, a->h_len, 2, NULL, 0);
        EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_MALFORMED);
    }

    /* Step 1: k of n witnesses. */
    {
        pq3_kt_config cw = config(3, 2);
        pq3_kt_lookup r;
        pq3_kt_pin np;
        char text[PQ3_KT_TEXT_MAX];
        n = checkpoint_note(note, sizeof note, SERVER, W.size, W.roots[W.size], 1u, now - 1);
        len = build_with(proof_buf, note, n, 0, a->h, a->h_len, 2, NULL, 0);
        EXPECT_REFUSED(&cw, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_WITNESSES);
        (void)verify(&r, &np, &cw, &no_pin, proof_buf, len, a, 2, now);
        CHECK(r.witnesses == 1 && r.witnesses_needed == 2);
        CHECK_OK(pq3_kt_lookup_text(text, &r));
        CHECK(strcmp(text, "only 1 of 2 witnesses") == 0);
        cw.witness_threshold = 1;
        CHECK_OK(verify(&r, &np, &cw, &no_pin, proof_buf, len, a, 2, now));
        CHECK(r.witnesses == 1);
        n = checkpoint_note(note, sizeof note, SERVER, W.size, W.roots[W.size], 5u, now - 1);
        len = build_with(proof_buf, note, n, 0, a->h, a->h_len, 2, NULL, 0);
        cw.witness_threshold = 2;
        CHECK_OK(verify(&r, &np, &cw, &no_pin, proof_buf, len, a, 2, now));
        CHECK(r.status == PQ3_KT_ACCEPTED && r.witnesses == 2);
        cw.witness_threshold = 3;
        EXPECT_REFUSED(&cw, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_WITNESSES);
        /* Witnesses not configured are not counted: w3 alone configured. */
        cw.witnesses = &W.wit_v[1];
        cw.n_witnesses = 1;
        cw.witness_threshold = 1;
        EXPECT_REFUSED(&cw, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_WITNESSES);
        /* A configured witness's line that fails: counts as none. */
        {
            pq3_kt_checkpoint c;
            uint8_t text2[512];
            size_t tl = 0, l = 0;
            c.size = W.size;
            memcpy(c.root, W.roots[W.size], 32);
            c.mmd = MMD + 1;
            CHECK_OK(pq3_kt_checkpoint_text(text2, sizeof text2, &tl, SERVER, &c));
            n = checkpoint_note(note, sizeof note, SERVER, W.size, W.roots[W.size], 5u, now - 1);
            CHECK_OK(pq3_note_signature_line(note + n, sizeof note - n, &l, text2, tl, &W.wit[1],
                                             now - 1));
            n += l;
            len = build_with(proof_buf, note, n, 0, a->h, a->h_len, 2, NULL, 0);
            cw = config(3, 2);
            EXPECT_REFUSED(&cw, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_WITNESSES);
            (void)verify(&r, &np, &cw, &no_pin, proof_buf, len, a, 2, now);
            CHECK(r.witnesses == 0);
            /* ... and ignored when that witness is not configured. */
            cw.witnesses = W.wit_v;
            cw.n_witnesses = 1;
            cw.witness_threshold = 1;
            CHECK_OK(verify(&r, &np, &cw, &no_pin, proof_buf, len, a, 2, now));
        }
    }

    /* Step 2: the pin. Larger than the checkpoint. */
    pin.size = W.size + 1;
    memcpy(pin.root, W.roots[W.size], 32);
    len = build(proof_buf, 0, a, 2);
    EXPECT_REFUSED(&cfg, &pin, proof_buf, len, a, 2, now, PQ3_KT_SPLIT_VIEW);
    /* The same size, another root. */
    pin.size = W.size;
    memcpy(pin.root, W.fork_root3, 32);
    len = build(proof_buf, W.size, a, 2);
    EXPECT_REFUSED(&cfg, &pin, proof_buf, len, a, 2, now, PQ3_KT_SPLIT_VIEW);
    /* A fork at size 3. */
    pin.size = 3;
    memcpy(pin.root, W.fork_root3, 32);
    len = build(proof_buf, 3, a, 2);
    EXPECT_REFUSED(&cfg, &pin, proof_buf, len, a, 2, now, PQ3_KT_SPLIT_VIEW);
    /* A consistency proof from another size. */
    memcpy(pin.root, W.roots[3], 32);
    {
        pq3_kt_lookup r;
        pq3_kt_pin np;
        CHECK_OK(verify(&r, &np, &cfg, &pin, proof_buf, len, a, 2, now));
    }
    len = build(proof_buf, 4, a, 2);
    EXPECT_REFUSED(&cfg, &pin, proof_buf, len, a, 2, now, PQ3_KT_SPLIT_VIEW);
    /* No consistency proof where one is needed. */
    len = build(proof_buf, 0, a, 2);
    EXPECT_REFUSED(&cfg, &pin, proof_buf, len, a, 2, now, PQ3_KT_SPLIT_VIEW);
    /* One where none can be: without a pin. */
    len = build(proof_buf, 3, a, 2);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_MALFORMED);

    /* Step 3: the epoch's leaf. */
    len = build(proof_buf, 0, a, 2);
    decode_p(proof_buf, len);
    P->time++;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_EPOCH_NOT_IN_LOG);
    decode_p(proof_buf, len);
    P->map_root[31] ^= 0x80;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_EPOCH_NOT_IN_LOG);
    decode_p(proof_buf, len);
    P->inclusion.hash[0][0] ^= 1;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_EPOCH_NOT_IN_LOG);
    decode_p(proof_buf, len);
    P->inclusion.count--;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_EPOCH_NOT_IN_LOG);
    /* A signed checkpoint of size 0 includes no epoch. */
    {
        uint8_t empty_root[32];
        CHECK_OK(pq3_merkle_root(empty_root, NULL, 0));
        n2 = checkpoint_note(note2, sizeof note2, SERVER, 0, empty_root, 0, 0);
        decode_p(proof_buf, len);
        P->checkpoint = note2;
        P->checkpoint_len = n2;
        n = encode_p();
        EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_EPOCH_NOT_IN_LOG);
    }

    /* Step 4: the MMD and the clock. */
    c2 = cfg;
    c2.mmd_max = MMD - 1;
    EXPECT_REFUSED(&c2, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_MMD_TOO_LONG);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, W.time + WINDOW + 1, PQ3_KT_STALE);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, UINT64_MAX, PQ3_KT_STALE);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, W.time - WINDOW - 1, PQ3_KT_FUTURE);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, 0, PQ3_KT_FUTURE);

    /* Step 5: the version. */
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 3, now, PQ3_KT_WRONG_VERSION);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 1, now, PQ3_KT_WRONG_VERSION);
    decode_p(proof_buf, len);
    P->v = UINT64_MAX;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, UINT64_MAX, now, PQ3_KT_WRONG_VERSION);
    /* The VRF: another key, swapped proofs, a proof that does not decode. */
    c2 = cfg;
    memcpy(c2.vrf_pub, W.other_vrf_pk, 33);
    EXPECT_REFUSED(&c2, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_VRF);
    decode_p(proof_buf, len);
    {
        uint8_t t[81];
        memcpy(t, P->vrf_proof, 81);
        memcpy(P->vrf_proof, P->vrf_proof_next, 81);
        memcpy(P->vrf_proof_next, t, 81);
    }
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_BAD_VRF);
    decode_p(proof_buf, len);
    P->vrf_proof_next[0] = 0x04;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_BAD_VRF);
    decode_p(proof_buf, len);
    memset(P->vrf_proof + 49, 0xff, 32); /* s >= q */
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_BAD_VRF);
    /* The VRF proof of another handle's record. */
    {
        const account *b = &W.acc[index_of(a) + 1];
        len = build(proof2, 0, b, b->v);
        decode_p(proof2, len);
        memcpy(note, P->vrf_proof, 81);
        len = build(proof_buf, 0, a, 2);
        decode_p(proof_buf, len);
        memcpy(P->vrf_proof, note, 81);
        n = encode_p();
        EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_BAD_VRF);
    }

    /* The map: not the latest (v + 1 is in the map). */
    len = build(proof_buf, 0, a3, 2);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a3, 2, now, PQ3_KT_NOT_LATEST);
    len = build(proof_buf, 0, a3, 1);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a3, 1, now, PQ3_KT_NOT_LATEST);
    /* The member proof given as the next one. */
    len = build(proof_buf, 0, a, 2);
    decode_p(proof_buf, len);
    P->next = P->member;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_NOT_LATEST);
    /* Not in the map: a handle never registered, a list other than the
     * logged one, a member proof replaced by the next one. */
    {
        const account *ghost = with_version(0);
        len = build(proof_buf, 0, ghost, 1);
        EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, ghost, 1, now, PQ3_KT_NOT_IN_MAP);
    }
    len = build(proof_buf, 0, a, 2);
    {
        pq3_kt_lookup r;
        pq3_kt_pin np;
        uint8_t list[128];
        size_t ll = make_list(list, index_of(a), 2);
        list[0] ^= 1;
        CHECK_ERR(pq3_kt_verify_lookup(&r, &np, &cfg, &no_pin, proof_buf, len, a->h, a->h_len,
                                       a->pub, list, ll, 2, now),
                  PQ3_ERR_VERIFY);
        CHECK(r.reason == PQ3_KT_NOT_IN_MAP);
        list[0] ^= 1;
        CHECK_ERR(pq3_kt_verify_lookup(&r, &np, &cfg, &no_pin, proof_buf, len, a->h, a->h_len,
                                       W.acc[0].pub, list, ll, 2, now),
                  PQ3_ERR_VERIFY);
        CHECK(r.reason == PQ3_KT_NOT_IN_MAP);
        CHECK_OK(pq3_kt_verify_lookup(&r, &np, &cfg, &no_pin, proof_buf, len, a->h, a->h_len,
                                      a->pub, list, ll, 2, now));
    }
    decode_p(proof_buf, len);
    P->member = P->next;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_NOT_IN_MAP);
    decode_p(proof_buf, len);
    P->member.leaf_value[0] ^= 1;
    n = encode_p();
    EXPECT_REFUSED(&cfg, &no_pin, proof2, n, a, 2, now, PQ3_KT_NOT_IN_MAP);
}

/* ---- §4, §5.2: pending records ----------------------------------------------------- */

static size_t promise_for(uint8_t *out, const pq3_note_signer *s, const account *a, uint64_t v,
                          int list_of, uint64_t deadline)
{
    pq3_kt_promise p;
    uint8_t list[128];
    size_t ll, n = 0;
    memset(&p, 0, sizeof p);
    memcpy(p.h, a->h, a->h_len);
    p.h_len = a->h_len;
    p.v = v;
    ll = make_list(list, list_of >= 0 ? (size_t)list_of : index_of(a), v);
    CHECK_OK(pq3_kt_value(p.value, a->h, a->h_len, a->pub, v, list, ll));
    p.deadline = deadline;
    CHECK_OK(pq3_kt_promise_sign(out, NOTE_CAP, &n, s, &p));
    return n;
}

static void test_pending(void)
{
    pq3_kt_config cfg = config(0, 0);
    pq3_kt_lookup r;
    pq3_kt_pin np;
    const account *a = with_version(1), *b = &W.acc[index_of(a) + 1];
    uint8_t pn[NOTE_CAP];
    size_t len, pl;
    const uint64_t now = W.time + 5, deadline = W.time + 15;
    char text[PQ3_KT_TEXT_MAX];

    /* A new version of a: promised, not in the map yet. */
    pl = promise_for(pn, &W.log, a, 2, -1, deadline);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    memset(&np, 0, sizeof np);
    CHECK_OK(verify(&r, &np, &cfg, &no_pin, proof_buf, len, a, 2, now));
    CHECK(r.status == PQ3_KT_PENDING && r.reason == PQ3_KT_PROMISED && r.deadline == deadline);
    CHECK(np.size == W.size && memcmp(np.root, W.roots[W.size], 32) == 0);
    CHECK_OK(pq3_kt_lookup_text(text, &r));
    CHECK(strcmp(text, "pending: promised by the log, not in it yet (deadline 1700000075)") == 0);
    CHECK_OK(verify(&r, &np, &cfg, &no_pin, proof_buf, len, a, 2, deadline));
    CHECK(r.status == PQ3_KT_PENDING);
    /* Without the promise: not in the map. */
    len = build(proof_buf, 0, a, 2);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_NOT_IN_MAP);
    /* Expired: the clock past the deadline, or an epoch at or after it. */
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, deadline + 1, PQ3_KT_PROMISE_EXPIRED);
    pl = promise_for(pn, &W.log, a, 2, -1, W.time);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, W.time, PQ3_KT_PROMISE_EXPIRED);
    /* Bad promises: a deadline too far ahead, another value, version or
     * handle, another key's, one that does not open. */
    pl = promise_for(pn, &W.log, a, 2, -1, now + WINDOW + 1);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
    pl = promise_for(pn, &W.log, a, 2, (int)index_of(b), deadline);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
    pl = promise_for(pn, &W.log, a, 3, -1, deadline);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
    pl = promise_for(pn, &W.log, b, 2, -1, deadline);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
    pl = promise_for(pn, &W.other_log, a, 2, -1, deadline);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
    pl = promise_for(pn, &W.log, a, 2, -1, deadline);
    pn[pl - 3] ^= 1;
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
    /* The right value under another handle or version. */
    {
        pq3_kt_promise p;
        uint8_t list[128];
        size_t ll = make_list(list, index_of(a), 2);
        memset(&p, 0, sizeof p);
        memcpy(p.h, b->h, b->h_len);
        p.h_len = b->h_len;
        p.v = 2;
        CHECK_OK(pq3_kt_value(p.value, a->h, a->h_len, a->pub, 2, list, ll));
        p.deadline = deadline;
        CHECK_OK(pq3_kt_promise_sign(pn, sizeof pn, &pl, &W.log, &p));
        len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
        EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
        memcpy(p.h, a->h, a->h_len);
        p.h_len = a->h_len;
        p.v = 3;
        CHECK_OK(pq3_kt_promise_sign(pn, sizeof pn, &pl, &W.log, &p));
        len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
        EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
        p.v = 2;
        CHECK_OK(pq3_kt_promise_sign(pn, sizeof pn, &pl, &W.log, &p));
        len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, pn, pl);
        CHECK_OK(verify(&r, &np, &cfg, &no_pin, proof_buf, len, a, 2, now));
        CHECK(r.status == PQ3_KT_PENDING);
    }
    /* The checkpoint itself as a promise. */
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 2, W.cp, W.cp_len);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 2, now, PQ3_KT_BAD_PROMISE);
    /* A promise carried beside a record in the map is checked too. */
    pl = promise_for(pn, &W.log, a, 1, -1, deadline);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 1, pn, pl);
    CHECK_OK(verify(&r, &np, &cfg, &no_pin, proof_buf, len, a, 1, now));
    CHECK(r.status == PQ3_KT_ACCEPTED && r.deadline == 0);
    pl = promise_for(pn, &W.log, a, 1, (int)index_of(b), deadline);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 1, pn, pl);
    EXPECT_REFUSED(&cfg, &no_pin, proof_buf, len, a, 1, now, PQ3_KT_BAD_PROMISE);
    /* A promise does not save a record the map holds with another value. */
    {
        uint8_t list[128];
        size_t ll = make_list(list, index_of(a), 1);
        pq3_kt_promise p;
        memset(&p, 0, sizeof p);
        memcpy(p.h, a->h, a->h_len);
        p.h_len = a->h_len;
        p.v = 1;
        list[0] ^= 1;
        CHECK_OK(pq3_kt_value(p.value, a->h, a->h_len, a->pub, 1, list, ll));
        p.deadline = deadline;
        CHECK_OK(pq3_kt_promise_sign(pn, sizeof pn, &pl, &W.log, &p));
        len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 1, pn, pl);
        CHECK_ERR(pq3_kt_verify_lookup(&r, &np, &cfg, &no_pin, proof_buf, len, a->h, a->h_len,
                                       a->pub, list, ll, 1, now),
                  PQ3_ERR_VERIFY);
        CHECK(r.reason == PQ3_KT_NOT_IN_MAP);
    }
}

/* ---- every bit of a proof ------------------------------------------------------- */

static void test_bitflips(void)
{
    pq3_kt_config cfg = config(2, 2);
    pq3_kt_pin pin;
    const account *a = with_version(2);
    uint8_t note[NOTE_CAP], pn[NOTE_CAP], *buf;
    size_t n, len, pl, bad = 0, bits = 0;
    const uint64_t now = W.time + 5;

    /* Log and both configured witnesses, a pin (a consistency proof). */
    pin.size = 3;
    memcpy(pin.root, W.roots[3], 32);
    n = checkpoint_note(note, sizeof note, SERVER, W.size, W.roots[W.size], 3u, now - 1);
    len = build_with(proof_buf, note, n, 3, a->h, a->h_len, 2, NULL, 0);
    {
        pq3_kt_lookup r;
        pq3_kt_pin np;
        CHECK_OK(verify(&r, &np, &cfg, &pin, proof_buf, len, a, 2, now));
        CHECK(r.status == PQ3_KT_ACCEPTED && r.witnesses == 2);
    }
    buf = malloc(len);
    memcpy(buf, proof_buf, len);
    for (size_t i = 0; i < len; i++) {
        for (int k = 0; k < 8; k++) {
            pq3_kt_lookup r;
            pq3_kt_pin np;
            pq3_err e;
            buf[i] ^= (uint8_t)(1u << k);
            e = verify(&r, &np, &cfg, &pin, buf, len, a, 2, now);
            if (e == PQ3_OK || r.status != PQ3_KT_REFUSED)
                bad++;
            CHECKF(e != PQ3_OK && r.status == PQ3_KT_REFUSED,
                   "bit %d of byte %zu flipped: accepted", k, i);
            buf[i] ^= (uint8_t)(1u << k);
            bits++;
        }
    }
    CHECK(bad == 0 && bits == 8 * len);
    free(buf);

    /* A pending record: every bit of its promise. */
    pl = promise_for(pn, &W.log, a, 3, -1, W.time + 15);
    len = build_with(proof_buf, note, n, 3, a->h, a->h_len, 3, pn, pl);
    {
        pq3_kt_lookup r;
        pq3_kt_pin np;
        CHECK_OK(verify(&r, &np, &cfg, &pin, proof_buf, len, a, 3, now));
        CHECK(r.status == PQ3_KT_PENDING);
    }
    for (size_t i = len - pl - 2; i < len; i++) {
        for (int k = 0; k < 8; k++) {
            pq3_kt_lookup r;
            pq3_kt_pin np;
            proof_buf[i] ^= (uint8_t)(1u << k);
            (void)verify(&r, &np, &cfg, &pin, proof_buf, len, a, 3, now);
            CHECKF(r.status == PQ3_KT_REFUSED, "promise bit %d of byte %zu", k, i);
            proof_buf[i] ^= (uint8_t)(1u << k);
        }
    }
}

/* ---- the caller's errors ----------------------------------------------------------- */

static void test_config_errors(void)
{
    pq3_kt_config c;
    pq3_kt_lookup r;
    pq3_kt_pin np;
    const account *a = with_version(1);
    size_t len = build(proof_buf, 0, a, 1);
    pq3_note_verifier dup[2];

#define CFG_ERR(mutation)                                                                 \
    do {                                                                                  \
        c = config(3, 1);                                                                 \
        mutation;                                                                         \
        np.size = 77;                                                                     \
        CHECK_ERR(verify(&r, &np, &c, &no_pin, proof_buf, len, a, 1, W.time), PQ3_ERR_ARG); \
        CHECK(r.status == PQ3_KT_REFUSED && r.reason == PQ3_KT_ERROR && np.size == 77);   \
    } while (0)
    CFG_ERR(c.server_name = NULL);
    CFG_ERR(c.server_name = "");
    CFG_ERR(c.server_name = "bad\nname");
    CFG_ERR(c.log_key = W.wit_v[0]);
    CFG_ERR(c.log_key.name[0] = '\0');
    CFG_ERR(c.witness_threshold = 4);
    CFG_ERR(c.witnesses = NULL);
    CFG_ERR(c.mmd_max = 0);
    CFG_ERR((dup[0] = W.wit_v[0], dup[1] = W.log_v, c.witnesses = dup, c.n_witnesses = 2));
    CFG_ERR((dup[0] = W.wit_v[0], dup[1] = W.wit_v[0], c.witnesses = dup, c.n_witnesses = 2));
    CFG_ERR(memset(c.vrf_pub, 0, 33));
    CFG_ERR(c.vrf_pub[0] = 0x04);
    CFG_ERR(memset(c.vrf_pub + 1, 0xff, 32)); /* x >= p */
#undef CFG_ERR
    c = config(0, 0);
    CHECK_ERR(pq3_kt_verify_lookup(&r, &np, &c, &no_pin, proof_buf, len, a->h, 0, a->pub, NULL, 0,
                                   1, W.time),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_verify_lookup(&r, &np, &c, &no_pin, proof_buf, len, a->h, a->h_len, NULL,
                                   NULL, 0, 1, W.time),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_verify_lookup(&r, &np, &c, &no_pin, proof_buf, len, a->h, a->h_len, a->pub,
                                   NULL, 4, 1, W.time),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_verify_lookup(&r, NULL, &c, &no_pin, proof_buf, len, a->h, a->h_len, a->pub,
                                   NULL, 0, 1, W.time),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_verify_lookup(&r, &np, &c, NULL, proof_buf, len, a->h, a->h_len, a->pub,
                                   NULL, 0, 1, W.time),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_verify_lookup(NULL, &np, &c, &no_pin, proof_buf, len, a->h, a->h_len,
                                   a->pub, NULL, 0, 1, W.time),
              PQ3_ERR_ARG);
    CHECK(r.status == PQ3_KT_REFUSED && r.reason == PQ3_KT_ERROR);

    /* The reasons' lines: one each, distinct. */
    for (int i = 0; i < PQ3_KT_REASON_COUNT; i++) {
        const char *t = pq3_kt_reason_text((pq3_kt_reason)i);
        CHECK(t != NULL && strcmp(t, "unknown reason") != 0 && t[0] != '\0');
        for (int j = 0; j < i; j++)
            CHECK(strcmp(t, pq3_kt_reason_text((pq3_kt_reason)j)) != 0);
    }
    CHECK(strcmp(pq3_kt_reason_text((pq3_kt_reason)PQ3_KT_REASON_COUNT), "unknown reason") == 0);
    CHECK(strcmp(pq3_kt_reason_text((pq3_kt_reason)-1), "unknown reason") == 0);
    CHECK(PQ3_KT_PROMISE_EXPIRED + 1 == PQ3_KT_REASON_COUNT);
    CHECK(strcmp(pq3_kt_reason_text(PQ3_KT_NOT_SIGNED), "checkpoint not signed") == 0);
    CHECK(strcmp(pq3_kt_reason_text(PQ3_KT_SPLIT_VIEW), "the log forked or went back") == 0);
    CHECK(strcmp(pq3_kt_reason_text(PQ3_KT_EPOCH_NOT_IN_LOG), "epoch not in the log") == 0);
    CHECK(strcmp(pq3_kt_reason_text(PQ3_KT_STALE), "stale checkpoint") == 0);
    CHECK(strcmp(pq3_kt_reason_text(PQ3_KT_NOT_IN_MAP), "the record is not in the log") == 0);
    CHECK(strcmp(pq3_kt_reason_text(PQ3_KT_NOT_CHECKED), "not checked against the log") == 0);
    {
        char text[PQ3_KT_TEXT_MAX] = "x";
        CHECK_ERR(pq3_kt_lookup_text(text, NULL), PQ3_ERR_ARG);
        CHECK(text[0] == '\0');
    }
}

/* ---- §5.3: owner monitoring ---------------------------------------------------------- */

static pq3_kt_promise promise_struct(const account *a, uint64_t v, uint64_t deadline)
{
    pq3_kt_promise p;
    uint8_t list[128];
    size_t ll = make_list(list, index_of(a), v);
    memset(&p, 0, sizeof p);
    memcpy(p.h, a->h, a->h_len);
    p.h_len = a->h_len;
    p.v = v;
    CHECK_OK(pq3_kt_value(p.value, a->h, a->h_len, a->pub, v, list, ll));
    p.deadline = deadline;
    return p;
}

static void test_monitor(void)
{
    pq3_kt_config cfg = config(0, 0);
    pq3_kt_lookup seen, pend;
    pq3_kt_pin np;
    const account *a = with_version(2);
    uint8_t list[128], list1[128], list3[128], other_pub[33], pn[NOTE_CAP], settled[3];
    size_t ll, ll1, ll3, len, pl;
    pq3_kt_alert al;
    char text[PQ3_KT_TEXT_MAX];
    pq3_kt_promise pr[3];
    const uint64_t now = W.time + 5;

    ll = make_list(list, index_of(a), 2);
    ll1 = make_list(list1, index_of(a), 1);
    ll3 = make_list(list3, index_of(a), 3);
    len = build(proof_buf, 0, a, 2);
    CHECK_OK(verify(&seen, &np, &cfg, &no_pin, proof_buf, len, a, 2, now));

#define MON(pub, l, lln, ver, ps, nps, t)                                                      \
    pq3_kt_monitor(&al, text, settled, &seen, a->h, a->h_len, pub, l, lln, ver, ps, nps, t)
    /* All well. */
    CHECK_OK(MON(a->pub, list, ll, 2, NULL, 0, now));
    CHECK(al == PQ3_KT_ALERT_NONE && strcmp(text, "the log shows this account's own records") == 0);
    /* Another account key. */
    memcpy(other_pub, a->pub, 33);
    other_pub[7] ^= 1;
    CHECK_OK(MON(other_pub, list, ll, 2, NULL, 0, now));
    CHECK(al == PQ3_KT_ALERT_FOREIGN_KEY);
    {
        char want[PQ3_KT_TEXT_MAX], *hex = pq3t_hex(a->pub, 33);
        snprintf(want, sizeof want, "the log shows account key %s for this handle", hex);
        CHECK(strcmp(text, want) == 0);
        free(hex);
    }
    /* A version this account did not make: newer than its own, or its own
     * number with another list. */
    CHECK_OK(MON(a->pub, list1, ll1, 1, NULL, 0, now));
    CHECK(al == PQ3_KT_ALERT_UNKNOWN_VERSION &&
          strcmp(text, "the log shows device-list version 2 that this account did not make") == 0);
    list[3] ^= 1;
    CHECK_OK(MON(a->pub, list, ll, 2, NULL, 0, now));
    CHECK(al == PQ3_KT_ALERT_UNKNOWN_VERSION);
    list[3] ^= 1;
    /* The account made version 3: promised and within its deadline: fine;
     * past it: missing; without a promise: an old version shown. */
    pr[0] = promise_struct(a, 3, now + 10);
    CHECK_OK(MON(a->pub, list3, ll3, 3, pr, 1, now));
    CHECK(al == PQ3_KT_ALERT_NONE && settled[0] == 0);
    CHECK_OK(MON(a->pub, list3, ll3, 3, pr, 1, now + 11));
    CHECK(al == PQ3_KT_ALERT_PROMISE_MISSING &&
          strcmp(text, "a promised record is missing after its deadline (version 3)") == 0);
    CHECK_OK(MON(a->pub, list3, ll3, 3, NULL, 0, now));
    CHECK(al == PQ3_KT_ALERT_OLD_VERSION &&
          strcmp(text, "the log shows device-list version 2, not this account's latest 3") == 0);
    /* Only a promise in (shown, mine] covers the gap. */
    pr[0] = promise_struct(a, 4, now + 10);
    CHECK_OK(MON(a->pub, list3, ll3, 3, pr, 1, now));
    CHECK(al == PQ3_KT_ALERT_OLD_VERSION);
    /* Promises the map now shows, or that a later version superseded, are
     * settled; a promise for the shown version past its deadline, shown in
     * the map, raises nothing. */
    pr[0] = promise_struct(a, 2, now - 100);
    pr[1] = promise_struct(a, 1, now - 200);
    pr[2] = promise_struct(a, 3, now + 10);
    CHECK_OK(MON(a->pub, list, ll, 2, pr, 2, now));
    CHECK(al == PQ3_KT_ALERT_NONE && settled[0] == 1 && settled[1] == 1);
    CHECK_OK(MON(a->pub, list3, ll3, 3, pr, 3, now));
    CHECK(al == PQ3_KT_ALERT_NONE && settled[0] == 1 && settled[1] == 1 && settled[2] == 0);
    /* A promise for the shown version with another value, past its
     * deadline: missing. */
    pr[0].value[0] ^= 1;
    CHECK_OK(MON(a->pub, list, ll, 2, pr, 1, now));
    CHECK(al == PQ3_KT_ALERT_PROMISE_MISSING && settled[0] == 0);
    pr[0].value[0] ^= 1;

    /* Seen pending: its own promised record, not missing before the
     * deadline; the promise not settled. */
    pl = promise_for(pn, &W.log, a, 3, -1, W.time + 15);
    len = build_with(proof_buf, W.cp, W.cp_len, 0, a->h, a->h_len, 3, pn, pl);
    CHECK_OK(verify(&pend, &np, &cfg, &no_pin, proof_buf, len, a, 3, now));
    CHECK(pend.status == PQ3_KT_PENDING);
    pr[0] = promise_struct(a, 3, W.time + 15);
    CHECK_OK(pq3_kt_monitor(&al, text, settled, &pend, a->h, a->h_len, a->pub, list3, ll3, 3, pr,
                            1, now));
    CHECK(al == PQ3_KT_ALERT_NONE && settled[0] == 0);
    CHECK_OK(pq3_kt_monitor(&al, text, NULL, &pend, a->h, a->h_len, a->pub, list3, ll3, 3, pr, 1,
                            W.time + 16));
    CHECK(al == PQ3_KT_ALERT_PROMISE_MISSING);

    /* Errors; outputs untouched. */
    al = (pq3_kt_alert)99;
    strcpy(text, "untouched");
    pr[0] = promise_struct(&W.acc[0], 3, now);
    CHECK_ERR(MON(a->pub, list, ll, 2, pr, 1, now), PQ3_ERR_ARG);
    CHECK(al == (pq3_kt_alert)99 && strcmp(text, "untouched") == 0);
    CHECK_ERR(pq3_kt_monitor(&al, text, NULL, &seen, W.acc[0].h, W.acc[0].h_len, a->pub, list, ll,
                             2, NULL, 0, now),
              PQ3_ERR_ARG);
    CHECK_ERR(MON(a->pub, NULL, 3, 2, NULL, 0, now), PQ3_ERR_ARG);
    CHECK_ERR(MON(a->pub, list, ll, 2, NULL, 1, now), PQ3_ERR_ARG);
    seen.status = PQ3_KT_REFUSED;
    CHECK_ERR(MON(a->pub, list, ll, 2, NULL, 0, now), PQ3_ERR_ARG);
    CHECK(al == (pq3_kt_alert)99 && strcmp(text, "untouched") == 0);
#undef MON
}

/* ---- §9: verification codes -------------------------------------------------------- */

static void test_code(void)
{
    static const uint8_t ha[] = "alice@example.org", hb[] = "bob@example.org";
    uint8_t pa[33], pb[33];
    char c1[PQ3_KT_CODE_BYTES], c2[PQ3_KT_CODE_BYTES], ref[72];

    CHECK(PQ3_KT_CODE_BYTES == 72 && PQ3_KT_CODE_LEN == 71);
    pa[0] = 2;
    pb[0] = 3;
    for (int i = 1; i < 33; i++) {
        pa[i] = (uint8_t)i;
        pb[i] = (uint8_t)(33 - i);
    }
    /* The known answer, computed outside this project (Python). */
    CHECK_OK(pq3_kt_verification_code(c1, ha, sizeof ha - 1, pa, hb, sizeof hb - 1, pb));
    CHECK(strcmp(c1, "56883 30091 89361 19816 90678 50048 47394 45816 65574 22493 69015 81900") ==
          0);
    CHECK_OK(pq3_kt_verification_code(c2, hb, sizeof hb - 1, pb, ha, sizeof ha - 1, pa));
    CHECK(strcmp(c1, c2) == 0);
    /* The format exactly: 12 groups of 5 digits, one space between. */
    CHECK(strlen(c1) == PQ3_KT_CODE_LEN);
    for (int i = 0; i < PQ3_KT_CODE_LEN; i++)
        CHECK(i % 6 == 5 ? c1[i] == ' ' : (c1[i] >= '0' && c1[i] <= '9'));
    /* Any key change, either side, changes it. */
    for (int side = 0; side < 2; side++)
        for (int byte = 0; byte < 33; byte += 8) {
            uint8_t *p = side ? pb : pa;
            p[byte] ^= 0x10;
            CHECK_OK(pq3_kt_verification_code(c2, ha, sizeof ha - 1, pa, hb, sizeof hb - 1, pb));
            CHECK(strcmp(c1, c2) != 0);
            p[byte] ^= 0x10;
        }
    CHECK_OK(pq3_kt_verification_code(c2, ha, sizeof ha - 2, pa, hb, sizeof hb - 1, pb));
    CHECK(strcmp(c1, c2) != 0);
    /* Random pairs against OpenSSL's bignums, in both orders. */
    for (int t = 0; t < 200; t++) {
        uint8_t h1[255], h2[255], k1[33], k2[33], l[2];
        size_t n1, n2;
        rnd(l, 2);
        n1 = (size_t)(1 + l[0] % 40);
        n2 = t % 10 == 0 ? n1 : (size_t)(1 + l[1] % 40);
        rnd(h1, n1);
        if (t % 10 == 0)
            memcpy(h2, h1, n2); /* the same handle: the keys decide the order */
        else
            rnd(h2, n2);
        rnd(k1, 33);
        rnd(k2, 33);
        if (t % 50 == 0)
            memcpy(k2, k1, 33);
        CHECK_OK(pq3_kt_verification_code(c1, h1, n1, k1, h2, n2, k2));
        CHECK_OK(pq3_kt_verification_code(c2, h2, n2, k2, h1, n1, k1));
        ref_code(ref, h1, n1, k1, h2, n2, k2);
        CHECK(strcmp(c1, ref) == 0 && strcmp(c2, ref) == 0);
    }
    /* Errors: the output wiped. */
    memset(c1, 'x', sizeof c1);
    CHECK_ERR(pq3_kt_verification_code(c1, ha, 0, pa, hb, sizeof hb - 1, pb), PQ3_ERR_ARG);
    CHECK(is_zero(c1, sizeof c1));
    CHECK_ERR(pq3_kt_verification_code(c1, ha, 3, NULL, hb, sizeof hb - 1, pb), PQ3_ERR_ARG);
    CHECK_ERR(pq3_kt_verification_code(c1, ha, 256, pa, hb, sizeof hb - 1, pb), PQ3_ERR_ARG);
}

int main(void)
{
    P = malloc(sizeof *P);
    if (P == NULL)
        return 1;
    setup();
    test_value();
    test_alpha_key();
    test_leaf();
    test_origin();
    test_checkpoint();
    test_promise();
    test_codec();
    test_build_errors();
    test_accept();
    test_refusals();
    test_pending();
    test_bitflips();
    test_config_errors();
    test_monitor();
    test_code();
    pq3_map_free(W.map);
    pq3_note_signer_wipe(&W.log);
    pq3_note_signer_wipe(&W.other_log);
    for (int i = 0; i < 3; i++)
        pq3_note_signer_wipe(&W.wit[i]);
    pq3_wipe(W.vrf_sk, sizeof W.vrf_sk);
    free(P);
    return pq3t_finish();
}
