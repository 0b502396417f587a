/*
 * libFuzzer target: signed notes, verifier keys and checkpoints
 * (src/transparency/note.c). The whole input is tried as each of them.
 * Nothing may crash, and:
 *  - a parsed note's text and lines lie inside the input, and verifying it
 *    (against a fixed log key and fixed witness keys, whose names and IDs
 *    the input may hit) returns only OK, VERIFY or UNKNOWN; counting
 *    cosignatures only OK or VERIFY;
 *  - a parsed verifier key formats back to the input exactly;
 *  - a parsed checkpoint (the input, or a parsed note's text) formats back
 *    to exactly its text;
 *  - a note signed here over a parsed checkpoint verifies.
 */
#include <stdlib.h>
#include <string.h>

#include "pq3/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static int inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
    const uint8_t *q = p;
    return q >= data && n <= size && (size_t)(q - data) <= size - n;
}

/* Fixed keys: a log (type 0x01) and two witnesses (type 0x04), with short
 * names a fuzzer can find ("l", "w", "v"). */
static pq3_note_signer log_key, wit[2];
static pq3_note_verifier known[3];

static void init_keys(void)
{
    static int done;
    uint8_t seed[32];
    if (done)
        return;
    memset(seed, 0x11, sizeof seed);
    check(pq3_note_signer_from_seed(&log_key, "l", PQ3_NOTE_TYPE_ED25519, seed) == PQ3_OK);
    memset(seed, 0x22, sizeof seed);
    check(pq3_note_signer_from_seed(&wit[0], "w", PQ3_NOTE_TYPE_COSIGNATURE, seed) == PQ3_OK);
    memset(seed, 0x33, sizeof seed);
    check(pq3_note_signer_from_seed(&wit[1], "v", PQ3_NOTE_TYPE_COSIGNATURE, seed) == PQ3_OK);
    pq3_note_signer_verifier(&known[0], &log_key);
    pq3_note_signer_verifier(&known[1], &wit[0]);
    pq3_note_signer_verifier(&known[2], &wit[1]);
    done = 1;
}

static void checkpoint_round_trip(const uint8_t *text, size_t len)
{
    static uint8_t out[PQ3_CHECKPOINT_MAX_BYTES], note[PQ3_CHECKPOINT_MAX_BYTES + 1024];
    pq3_checkpoint c;
    pq3_note n;
    size_t out_len = 0, note_len = 0, count = 0;
    pq3_err e = pq3_checkpoint_parse(&c, text, len);

    check(e == PQ3_OK || e == PQ3_ERR_DECODE || e == PQ3_ERR_LIMIT);
    if (e != PQ3_OK)
        return;
    check(pq3_checkpoint_format(out, sizeof out, &out_len, &c) == PQ3_OK);
    check(out_len == len && memcmp(out, text, len) == 0);
    /* The log and a witness sign it; both verify. */
    {
        pq3_note_signer both[2] = { log_key, wit[0] };
        check(pq3_note_sign(note, sizeof note, &note_len, out, out_len, both, 2, 1234) ==
              PQ3_OK);
    }
    check(pq3_note_open(&n, note, note_len, known, 1) == PQ3_OK);
    check(pq3_note_cosignatures(&n, known + 1, 2, NULL, &count) == PQ3_OK && count == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pq3_note n;
    pq3_note_verifier v;
    pq3_err e;

    init_keys();

    e = pq3_note_parse(&n, data, size);
    check(e == PQ3_OK || e == PQ3_ERR_DECODE || e == PQ3_ERR_LIMIT);
    if (e == PQ3_OK) {
        uint64_t ts[2];
        size_t count = 0, verified = 0;
        check(n.text == data && n.text_len > 0 && n.text_len < size && n.n_sigs >= 1 &&
              n.text[n.text_len - 1] == '\n');
        for (size_t i = 0; i < n.n_sigs; i++) {
            uint8_t sig[128];
            pq3_err es;
            check(inside(n.sigs[i].name, n.sigs[i].name_len, data, size));
            check(inside(n.sigs[i].b64, n.sigs[i].b64_len, data, size));
            check(n.sigs[i].sig_len >= 1);
            es = pq3_note_sig_bytes(sig, sizeof sig, &n.sigs[i]);
            check(es == PQ3_OK || (es == PQ3_ERR_BUFFER && n.sigs[i].sig_len > sizeof sig));
        }
        e = pq3_note_verify(&n, known, 3, &verified);
        check(e == PQ3_OK || e == PQ3_ERR_VERIFY || e == PQ3_ERR_UNKNOWN);
        check(e == PQ3_OK ? verified >= 1 : verified == 0);
        e = pq3_note_cosignatures(&n, known + 1, 2, ts, &count);
        check(e == PQ3_OK || e == PQ3_ERR_VERIFY);
        check(count <= 2);
        checkpoint_round_trip(n.text, n.text_len);
    } else {
        check(n.n_sigs == 0 && n.text == NULL);
    }

    e = pq3_note_verifier_parse(&v, (const char *)data, size);
    check(e == PQ3_OK || e == PQ3_ERR_DECODE || e == PQ3_ERR_LIMIT || e == PQ3_ERR_VERSION);
    if (e == PQ3_OK) {
        char out[PQ3_NOTE_VKEY_MAX + 1];
        size_t len = 0;
        check(pq3_note_verifier_format(out, sizeof out, &len, &v) == PQ3_OK);
        check(len == size && memcmp(out, data, size) == 0);
    }

    checkpoint_round_trip(data, size);
    return 0;
}
