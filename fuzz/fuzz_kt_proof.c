/* libFuzzer target: the parsers of key transparency's protocol layer
 * (include/pq3/kt.h). The first byte picks a mode:
 *   0  the rest is a lookup proof: pq3_kt_proof_decode, and what decodes
 *      must encode back to the same bytes (and measure the same); then the
 *      client's checks of §5.2 on it, for alice's record at the proof's
 *      version under the fixed keys below, which may only accept, refuse
 *      as malformed (exactly when the decoder refuses) or refuse;
 *   1  the rest is a checkpoint body: pq3_kt_checkpoint_parse, and what
 *      parses must be written back by pq3_kt_checkpoint_text byte for byte;
 *   2  the rest is a promise's text, signed here by the fixed log key and
 *      opened with pq3_kt_promise_open: what opens must be signed again by
 *      pq3_kt_promise_sign into the same note;
 *   3  the rest is an epoch leaf: decoded and encoded back.
 * The seeds in fuzz/corpus/fuzz_kt_proof/ were made with these keys (a log
 * key and a VRF key from fixed seeds), so mode 0 starts from proofs that
 * verify and reaches every check. Nothing may crash. */
#include <stdlib.h>
#include <string.h>

#include "pq3/kt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SERVER "example.org"

static pq3_note_signer log_key;
static pq3_kt_config cfg;
static int ready;

static void setup(void)
{
    uint8_t seed[32], vrf_sk[32];
    memset(seed, 0x4c, sizeof seed);     /* 'L' */
    memset(vrf_sk, 0x56, sizeof vrf_sk); /* 'V' */
    memset(&cfg, 0, sizeof cfg);
    if (pq3_note_signer_from_seed(&log_key, SERVER "/kt/v1", PQ3_NOTE_TYPE_ED25519, seed) !=
            PQ3_OK ||
        pq3_vrf_public(cfg.vrf_pub, vrf_sk) != PQ3_OK)
        abort();
    pq3_note_signer_verifier(&cfg.log_key, &log_key);
    cfg.server_name = SERVER;
    cfg.mmd_max = PQ3_KT_MMD_MAX_DEFAULT;
    ready = 1;
}

/* alice's account key and the list of her version v, as the seeds have
 * them. */
static const uint8_t alice[] = "alice@example.org";

static void alice_pub(uint8_t pub[PQ3_KT_PUB_BYTES])
{
    pub[0] = 0x02;
    memset(pub + 1, 0xa1, PQ3_KT_PUB_BYTES - 1);
}

static size_t alice_list(uint8_t out[32], uint64_t v)
{
    memcpy(out, "alice's list, version ", 22);
    out[22] = (uint8_t)('0' + v % 10);
    return 23;
}

static void proof_mode(const uint8_t *in, size_t len)
{
    static pq3_kt_proof p;
    static uint8_t out[2 * 65536 + 20000];
    uint8_t pub[PQ3_KT_PUB_BYTES], list[32];
    size_t n = 0, m = 0, ll;
    pq3_kt_lookup res;
    pq3_kt_pin pin = { 0, { 0 } }, new_pin;
    pq3_err dec, err;

    dec = pq3_kt_proof_decode(&p, in, len);
    if (dec != PQ3_OK && dec != PQ3_ERR_DECODE)
        abort();
    if (dec == PQ3_OK) {
        if (pq3_kt_proof_encode(out, sizeof out, &n, &p) != PQ3_OK || n != len ||
            memcmp(out, in, len) != 0)
            abort();
        if (pq3_kt_proof_encode(NULL, 0, &m, &p) != PQ3_ERR_BUFFER || m != n)
            abort();
        if (p.consistency.count > 0)
            pin.size = 1; /* some pin for the consistency proof to fail against */
    }
    alice_pub(pub);
    ll = alice_list(list, dec == PQ3_OK ? p.v : 1);
    err = pq3_kt_verify_lookup(&res, &new_pin, &cfg, &pin, in, len, alice, sizeof alice - 1, pub,
                               list, ll, dec == PQ3_OK ? p.v : 1, dec == PQ3_OK ? p.time : 0);
    /* The configuration is valid, so the decoder is the first judge. */
    if (dec == PQ3_ERR_DECODE && (err != PQ3_ERR_DECODE || res.reason != PQ3_KT_MALFORMED))
        abort();
    switch (err) {
    case PQ3_OK:
        if (res.status != PQ3_KT_ACCEPTED && res.status != PQ3_KT_PENDING)
            abort();
        break;
    case PQ3_ERR_DECODE:
        if (res.status != PQ3_KT_REFUSED || res.reason != PQ3_KT_MALFORMED)
            abort();
        break;
    case PQ3_ERR_VERIFY:
        if (res.status != PQ3_KT_REFUSED || res.reason == PQ3_KT_MALFORMED ||
            res.reason == PQ3_KT_OK || res.reason == PQ3_KT_PROMISED ||
            res.reason == PQ3_KT_ERROR || res.reason == PQ3_KT_NOT_CHECKED)
            abort();
        break;
    default:
        abort();
    }
}

static void checkpoint_mode(const uint8_t *in, size_t len)
{
    static uint8_t out[PQ3_CHECKPOINT_MAX_BYTES];
    pq3_kt_checkpoint c;
    size_t n = 0;
    pq3_err err = pq3_kt_checkpoint_parse(&c, in, len, SERVER);
    if (err != PQ3_OK) {
        if (err != PQ3_ERR_DECODE && err != PQ3_ERR_LIMIT && err != PQ3_ERR_UNKNOWN)
            abort();
        return;
    }
    if (c.mmd == 0 || pq3_kt_checkpoint_text(out, sizeof out, &n, SERVER, &c) != PQ3_OK ||
        n != len || memcmp(out, in, len) != 0)
        abort();
}

static void promise_mode(const uint8_t *in, size_t len)
{
    static uint8_t note[PQ3_KT_PROMISE_TEXT_MAX + 512], again[sizeof note];
    pq3_kt_promise p;
    size_t n = 0, m = 0;
    pq3_err err;

    if (len > PQ3_KT_PROMISE_TEXT_MAX + 16 ||
        pq3_note_sign(note, sizeof note, &n, in, len, &log_key, 1, 0) != PQ3_OK)
        return; /* not note text: nothing the log would sign */
    err = pq3_kt_promise_open(&p, note, n, &cfg.log_key);
    if (err != PQ3_OK) {
        if (err != PQ3_ERR_DECODE)
            abort();
        return;
    }
    if (pq3_kt_promise_sign(again, sizeof again, &m, &log_key, &p) != PQ3_OK || m != n ||
        memcmp(again, note, n) != 0)
        abort();
}

static void leaf_mode(const uint8_t *in, size_t len)
{
    uint8_t root[PQ3_MAP_HASH_BYTES], out[PQ3_KT_LEAF_BYTES];
    uint64_t e, t;
    if (pq3_kt_leaf_decode(&e, &t, root, in, len) != PQ3_OK)
        return;
    if (pq3_kt_leaf_encode(out, e, t, root) != PQ3_OK || len != sizeof out ||
        memcmp(out, in, len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        proof_mode(data + 1, size - 1);
        break;
    case 1:
        checkpoint_mode(data + 1, size - 1);
        break;
    case 2:
        promise_mode(data + 1, size - 1);
        break;
    default:
        leaf_mode(data + 1, size - 1);
        break;
    }
    return 0;
}
