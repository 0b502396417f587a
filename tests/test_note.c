/* Tests for src/transparency/note.c (and base64.c): the C2SP signed-note
 * example (verifier key 530d903a, verify, every single-bit corruption), the
 * tlog-cosignature example checkpoint as a parse vector, key names, verifier
 * keys, our own sign/verify and cosignature round trips, and malformed
 * notes, keys and checkpoints.
 *
 * The example files are read in place from $PQ3_VECTORS_DIR/kt/note/.
 * Without them every other check still runs, and the test then reports
 * itself skipped (exit 77) unless something failed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pq3/note.h"
#include "testutil.h"
#include "transparency/base64.h"

#define S(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

static const char *missing_vectors;

static const char *vector_file(const char *rel)
{
    static char path[4096], why[4200];
    struct stat st;
    const char *dir = getenv("PQ3_VECTORS_DIR");
    if (dir == NULL || *dir == '\0') {
        missing_vectors = "PQ3_VECTORS_DIR is not set";
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (stat(path, &st) != 0) {
        snprintf(why, sizeof why, "test vectors absent: %s (%s)", path, strerror(errno));
        missing_vectors = why;
        return NULL;
    }
    return path;
}

static char *read_vector(const char *rel, size_t *len)
{
    const char *path = vector_file(rel);
    char *buf;
    if (path == NULL)
        return NULL;
    buf = pq3t_read_file(path, len);
    CHECKF(buf != NULL, "cannot read %s", path);
    return buf;
}

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* ---- base64 (RFC 4648 §10) ------------------------------------------------------ */

static void test_base64(void)
{
    static const struct {
        const char *plain, *enc;
    } v[] = {
        { "", "" },         { "f", "Zg==" },         { "fo", "Zm8=" },     { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
    };
    static const char *bad[] = {
        "Zg=", "Zg", "Zh==", "Zm9=", "Z===", "====", "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm-v",
        "Zm_v", "Zg=a", "=Zm9", "Zm9v=", "Zm9\xc3\xa9",
    };
    uint8_t out[16];
    char enc[16];
    size_t n;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t pl = strlen(v[i].plain), el = strlen(v[i].enc);
        CHECK(pq3_base64_len(pl) == el);
        pq3_base64_encode(enc, (const uint8_t *)v[i].plain, pl);
        CHECKF(memcmp(enc, v[i].enc, el) == 0, "encode \"%s\"", v[i].plain);
        n = 99;
        CHECK_OK(pq3_base64_decode(out, sizeof out, &n, v[i].enc, el));
        CHECK(n == pl && memcmp(out, v[i].plain, pl) == 0);
        CHECK_OK(pq3_base64_decode(NULL, 0, &n, v[i].enc, el));
        CHECK(n == pl);
        if (pl > 0)
            CHECK_ERR(pq3_base64_decode(out, pl - 1, &n, v[i].enc, el), PQ3_ERR_BUFFER);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 0x5A, sizeof out);
        CHECKF(pq3_base64_decode(out, sizeof out, &n, bad[i], strlen(bad[i])) == PQ3_ERR_DECODE,
               "accepted \"%s\"", bad[i]);
        CHECK(out[0] == 0x5A);
    }
    /* All 256 byte values survive, at every length mod 3. */
    {
        uint8_t all[256], back[256];
        char e[344];
        for (int i = 0; i < 256; i++)
            all[i] = (uint8_t)i;
        for (size_t len = 253; len <= 256; len++) {
            pq3_base64_encode(e, all, len);
            CHECK_OK(pq3_base64_decode(back, sizeof back, &n, e, pq3_base64_len(len)));
            CHECK(n == len && memcmp(all, back, len) == 0);
        }
    }
}

/* ---- key names -------------------------------------------------------------------- */

static void test_names(void)
{
    static const char *good[] = {
        "example.com/foo", "a", "witness.example.com/w1", "\xc3\xbcn\xc3\xaf" "code", "oid/1.3.6.1",
        "x\x7fy", "\xf0\x9f\x94\x91", "PeterNeumann",
    };
    static const char *bad[] = {
        "",          "a b",          "a+b",          "+",           "a\tb",         "a\nb",
        "a\rb",      "a\x01z",       "a\xc2\xa0z",   "a\xc2\x85z",  "a\xe3\x80\x80z", "a\xe2\x80\xa8z",
        "a\xe2\x80\x80z", "a\xe2\x80\x8az", "a\xe1\x9a\x80z", "\xff", "\xc0\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xe2\x80", "a\xe2\x80\xafz", "a\xe2\x81\x9fz",
    };
    char longname[PQ3_NOTE_NAME_MAX + 2];

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECKF(pq3_note_name_valid(good[i], strlen(good[i])), "rejected \"%s\"", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(!pq3_note_name_valid(bad[i], strlen(bad[i])), "accepted bad name %zu", i);
    /* U+200B (zero width space) is not a Unicode space (category Cf). */
    CHECK(pq3_note_name_valid("a\xe2\x80\x8bz", 5));
    memset(longname, 'n', sizeof longname);
    CHECK(pq3_note_name_valid(longname, PQ3_NOTE_NAME_MAX));
    CHECK(!pq3_note_name_valid(longname, PQ3_NOTE_NAME_MAX + 1));
    CHECK(!pq3_note_name_valid(NULL, 3));
    CHECK(!pq3_note_name_valid("a\0b", 3)); /* NUL is a control character */
}

/* ---- the signed-note example --------------------------------------------------------- */

static void test_example_note(void)
{
    static const char want_pub[] =
        "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4";
    size_t vlen = 0, nlen = 0, vk_out_len = 0;
    char *vkey = read_vector("kt/note/signed-note-example.vkey", &vlen);
    char *note = read_vector("kt/note/signed-note-example.note", &nlen);
    char formatted[PQ3_NOTE_VKEY_MAX + 1];
    uint8_t pub[32], *m;
    pq3_note_verifier v, v2;
    pq3_note n;
    size_t verified = 0;
    unsigned note_flips = 0, vkey_flips = 0;

    if (vkey == NULL || note == NULL)
        goto out;
    while (vlen > 0 && (vkey[vlen - 1] == '\n' || vkey[vlen - 1] == '\r'))
        vlen--; /* the file may end in a newline; the key does not */

    CHECK_OK(pq3_note_verifier_parse(&v, vkey, vlen));
    CHECK(strcmp(v.name, "example.com/foo") == 0);
    CHECK(v.type == PQ3_NOTE_TYPE_ED25519);
    CHECKF(v.key_id == 0x530d903au, "key id %08x", v.key_id);
    CHECK(pq3t_unhex_into(pub, 32, want_pub));
    CHECK(memcmp(v.pub, pub, 32) == 0);
    CHECK_OK(pq3_note_verifier_format(formatted, sizeof formatted, &vk_out_len, &v));
    CHECK(vk_out_len == vlen && memcmp(formatted, vkey, vlen) == 0 && formatted[vlen] == 0);
    CHECK_OK(pq3_note_verifier_init(&v2, "example.com/foo", PQ3_NOTE_TYPE_ED25519, pub));
    CHECK(memcmp(&v, &v2, sizeof v) == 0);
    {
        uint32_t id = 0;
        CHECK_OK(pq3_note_key_id(&id, "example.com/foo", 0x01, pub, 32));
        CHECK(id == 0x530d903au);
    }

    /* The note verifies; its text is the message with its final newline. */
    CHECK_OK(pq3_note_parse(&n, (const uint8_t *)note, nlen));
    CHECK(n.n_sigs == 1 && n.sigs[0].key_id == 0x530d903au && n.sigs[0].sig_len == 64 &&
          n.sigs[0].name_len == 15 && memcmp(n.sigs[0].name, "example.com/foo", 15) == 0);
    CHECK(n.text_len == 28 && memcmp(n.text, "This is an example message.\n", 28) == 0);
    CHECK_OK(pq3_note_verify(&n, &v, 1, &verified));
    CHECK(verified == 1);
    CHECK_OK(pq3_note_open(&n, (const uint8_t *)note, nlen, &v, 1));
    /* Without the key: no known signature. */
    CHECK_ERR(pq3_note_verify(&n, NULL, 0, NULL), PQ3_ERR_UNKNOWN);
    /* The same name and ID with another public key: verified, and fails. */
    v2 = v;
    v2.pub[0] ^= 1;
    CHECK_ERR(pq3_note_verify(&n, &v2, 1, NULL), PQ3_ERR_VERIFY);
    /* As a cosignature key of the same name: another key ID, so unknown. */
    CHECK_OK(pq3_note_verifier_init(&v2, "example.com/foo", PQ3_NOTE_TYPE_COSIGNATURE, pub));
    CHECK(v2.key_id != v.key_id);
    CHECK_ERR(pq3_note_verify(&n, &v2, 1, NULL), PQ3_ERR_UNKNOWN);
    /* Both the right key and an unrelated one: fine. */
    {
        pq3_note_verifier two[2] = { v2, v };
        CHECK_OK(pq3_note_verify(&n, two, 2, &verified));
        CHECK(verified == 1);
        two[0] = v;
        CHECK_ERR(pq3_note_verify(&n, two, 2, NULL), PQ3_ERR_ARG); /* ambiguous set */
    }

    /* Every single-bit change of the note fails (malformed, unknown key, or
     * a bad signature), and so does every truncation. */
    m = malloc(nlen);
    CHECK(m != NULL);
    if (m != NULL) {
        for (size_t bit = 0; bit < nlen * 8; bit++) {
            pq3_note n2;
            pq3_err e;
            memcpy(m, note, nlen);
            m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            e = pq3_note_open(&n2, m, nlen, &v, 1);
            if (e == PQ3_ERR_DECODE || e == PQ3_ERR_VERIFY || e == PQ3_ERR_UNKNOWN)
                note_flips++;
            else
                CHECKF(0, "note bit %zu flipped: open returned %d", bit, e);
        }
        CHECKF(note_flips == nlen * 8, "%u of %zu note flips rejected", note_flips, nlen * 8);
        for (size_t cut = 0; cut < nlen; cut++) {
            pq3_note n2;
            CHECKF(pq3_note_open(&n2, (const uint8_t *)note, cut, &v, 1) != PQ3_OK,
                   "truncated to %zu accepted", cut);
        }
        free(m);
    }
    /* Every single-bit change of the verifier key fails to parse. */
    for (size_t bit = 0; bit < vlen * 8; bit++) {
        char k2[PQ3_NOTE_VKEY_MAX];
        pq3_note_verifier v3;
        memcpy(k2, vkey, vlen);
        k2[bit / 8] = (char)(k2[bit / 8] ^ (1 << (bit % 8)));
        if (pq3_note_verifier_parse(&v3, k2, vlen) != PQ3_OK && is_zero(&v3, sizeof v3))
            vkey_flips++;
    }
    CHECKF(vkey_flips == vlen * 8, "%u of %zu vkey flips rejected", vkey_flips, vlen * 8);

out:
    free(vkey);
    free(note);
}

/* ---- the tlog-cosignature example checkpoint ------------------------------------------ */

static void test_example_checkpoint(void)
{
    static const char root_b64[] = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    size_t len = 0, out_len = 0;
    char *text = read_vector("kt/note/checkpoint-cosigned-example.txt", &len);
    uint8_t root[32], sig[72], again[512];
    pq3_note n;
    pq3_checkpoint c;
    pq3_note_signer w;
    pq3_note_verifier wv;
    uint64_t ts[1] = { 7 };
    size_t count = 9, rl = 0;

    if (text == NULL)
        return;
    CHECK_OK(pq3_note_parse(&n, (const uint8_t *)text, len));
    CHECK(n.n_sigs == 2);
    if (n.n_sigs != 2)
        goto out;
    CHECK(n.sigs[0].name_len == 27 && memcmp(n.sigs[0].name, "example.com/behind-the-sofa", 27) == 0);
    CHECKF(n.sigs[0].key_id == 0x033de0aeu, "log key id %08x", n.sigs[0].key_id);
    CHECK(n.sigs[0].sig_len == 64); /* 68 bytes with the key ID */
    CHECK(n.sigs[1].name_len == 22 && memcmp(n.sigs[1].name, "witness.example.com/w1", 22) == 0);
    CHECKF(n.sigs[1].key_id == 0x8d66cf3fu, "witness key id %08x", n.sigs[1].key_id);
    CHECK(n.sigs[1].sig_len == 72); /* 76 with the key ID: timestamp and signature */
    CHECK_OK(pq3_note_sig_bytes(sig, sizeof sig, &n.sigs[1]));
    {
        uint64_t t = 0;
        for (int i = 0; i < 8; i++)
            t = t << 8 | sig[i];
        CHECKF(t == 1679315147u, "cosignature timestamp %llu", (unsigned long long)t);
    }
    CHECK_ERR(pq3_note_sig_bytes(sig, 71, &n.sigs[1]), PQ3_ERR_BUFFER);

    CHECK_OK(pq3_checkpoint_parse(&c, n.text, n.text_len));
    CHECK(strcmp(c.origin, "example.com/behind-the-sofa") == 0);
    CHECK(c.size == 20852163u);
    CHECK_OK(pq3_base64_decode(root, sizeof root, &rl, root_b64, sizeof root_b64 - 1));
    CHECK(rl == 32 && memcmp(c.root, root, 32) == 0);
    CHECK(c.n_ext == 0 && c.ext == NULL && c.ext_len == 0);
    /* Formatting gives back the same body. */
    CHECK_OK(pq3_checkpoint_format(again, sizeof again, &out_len, &c));
    CHECK(out_len == n.text_len && memcmp(again, n.text, out_len) == 0);

    /* The keys are not published: with none, or another witness of the same
     * name, nothing is known; counting finds no cosignature. */
    CHECK_ERR(pq3_note_verify(&n, NULL, 0, NULL), PQ3_ERR_UNKNOWN);
    {
        pq3t_drbg d;
        pq3_rng rng;
        pq3t_drbg_init(&d, "note other witness", 0);
        rng = pq3t_drbg_rng(&d);
        CHECK_OK(pq3_note_signer_generate(&w, "witness.example.com/w1",
                                          PQ3_NOTE_TYPE_COSIGNATURE, &rng));
        pq3_note_signer_verifier(&wv, &w);
        CHECK(wv.key_id != 0x8d66cf3fu);
        CHECK_OK(pq3_note_cosignatures(&n, &wv, 1, ts, &count));
        CHECK(count == 0 && ts[0] == 0);
        /* A forged key with the published ID: the line is verified and fails. */
        wv.key_id = 0x8d66cf3fu;
        ts[0] = 7;
        CHECK_ERR(pq3_note_cosignatures(&n, &wv, 1, ts, &count), PQ3_ERR_VERIFY);
        CHECK(count == 0 && ts[0] == 0);
        CHECK_ERR(pq3_note_verify(&n, &wv, 1, NULL), PQ3_ERR_VERIFY);
        pq3_note_signer_wipe(&w);
        CHECK(is_zero(&w, sizeof w));
    }
out:
    free(text);
}

/* ---- our own notes, checkpoints and cosignatures ----------------------------------------- */

typedef struct {
    pq3_note_signer log, wit[3];
    pq3_note_verifier log_v, wit_v[3];
} keyset;

static void make_keys(keyset *k)
{
    static const char *names[3] = { "w1.example.net", "w2.example.net/witness", "oid/1.2.3" };
    pq3t_drbg d;
    pq3_rng rng;
    pq3t_drbg_init(&d, "note keys", 0);
    rng = pq3t_drbg_rng(&d);
    CHECK_OK(pq3_note_signer_generate(&k->log, "example.org/kt-log", PQ3_NOTE_TYPE_ED25519, &rng));
    pq3_note_signer_verifier(&k->log_v, &k->log);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(pq3_note_signer_generate(&k->wit[i], names[i], PQ3_NOTE_TYPE_COSIGNATURE, &rng));
        pq3_note_signer_verifier(&k->wit_v[i], &k->wit[i]);
    }
}

static void wipe_keys(keyset *k)
{
    pq3_note_signer_wipe(&k->log);
    for (int i = 0; i < 3; i++)
        pq3_note_signer_wipe(&k->wit[i]);
}

/* Appends a line to a note buffer. */
static size_t append(uint8_t *note, size_t len, const uint8_t *line, size_t line_len)
{
    memcpy(note + len, line, line_len);
    return len + line_len;
}

/* Re-encodes signature line i of a note with its payload changed by `edit`
 * and writes the new note to out; returns its length. */
static size_t edit_line(uint8_t *out, const pq3_note *n, const uint8_t *note, size_t note_len,
                        size_t i, void (*edit)(uint8_t *payload, size_t *len))
{
    const pq3_note_sig *s = &n->sigs[i];
    uint8_t payload[200];
    char b64[300];
    size_t plen = 0, head = (size_t)((const uint8_t *)s->b64 - note), tail = head + s->b64_len;
    CHECK_OK(pq3_base64_decode(payload, sizeof payload, &plen, s->b64, s->b64_len));
    edit(payload, &plen);
    pq3_base64_encode(b64, payload, plen);
    memcpy(out, note, head);
    memcpy(out + head, b64, pq3_base64_len(plen));
    memcpy(out + head + pq3_base64_len(plen), note + tail, note_len - tail);
    return head + pq3_base64_len(plen) + note_len - tail;
}

static void ts_plus_one(uint8_t *p, size_t *len)
{
    (void)len;
    p[4 + 7] ^= 1;
}
static void ts_high_bit(uint8_t *p, size_t *len)
{
    (void)len;
    p[4] |= 0x80;
}
static void drop_last(uint8_t *p, size_t *len)
{
    (void)p;
    (*len)--;
}
static void add_byte(uint8_t *p, size_t *len)
{
    p[(*len)++] = 0;
}
static void sig_bit(uint8_t *p, size_t *len)
{
    p[*len - 1] ^= 0x40;
}

static void test_round_trips(void)
{
    keyset k;
    uint8_t body[512], note[4096], line[512], bad[4096];
    size_t body_len = 0, note_len = 0, line_len = 0, count = 0, verified = 0, bad_len;
    uint64_t ts[3], t0 = 1700000000u;
    pq3_checkpoint cp, cp2;
    pq3_note n;

    make_keys(&k);
    memset(&cp, 0, sizeof cp);
    strcpy(cp.origin, "example.org/kt-log");
    cp.size = 123456789;
    for (int i = 0; i < 32; i++)
        cp.root[i] = (uint8_t)(i * 7 + 1);
    CHECK_OK(pq3_checkpoint_format(body, sizeof body, &body_len, &cp));
    CHECK_OK(pq3_checkpoint_parse(&cp2, body, body_len));
    CHECK(strcmp(cp2.origin, cp.origin) == 0 && cp2.size == cp.size &&
          memcmp(cp2.root, cp.root, 32) == 0 && cp2.n_ext == 0);

    /* The log signs; witnesses add lines with their own times. */
    CHECK_OK(pq3_note_sign(note, sizeof note, &note_len, body, body_len, &k.log, 1, 0));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(pq3_note_signature_line(line, sizeof line, &line_len, body, body_len, &k.wit[i],
                                         t0 + (uint64_t)i));
        note_len = append(note, note_len, line, line_len);
    }
    CHECK_OK(pq3_note_parse(&n, note, note_len));
    CHECK(n.n_sigs == 4 && n.text_len == body_len && memcmp(n.text, body, body_len) == 0);
    CHECK_OK(pq3_note_verify(&n, &k.log_v, 1, &verified));
    CHECK(verified == 1);
    CHECK_OK(pq3_note_cosignatures(&n, k.wit_v, 3, ts, &count));
    CHECK(count == 3 && ts[0] == t0 && ts[1] == t0 + 1 && ts[2] == t0 + 2);
    CHECK_OK(pq3_note_cosignatures(&n, k.wit_v + 1, 2, ts, &count));
    CHECK(count == 2 && ts[0] == t0 + 1 && ts[1] == t0 + 2);
    CHECK_OK(pq3_note_cosignatures(&n, k.wit_v, 3, NULL, &count));
    CHECK(count == 3);
    CHECK_OK(pq3_note_cosignatures(&n, NULL, 0, NULL, &count));
    CHECK(count == 0);
    /* Witness keys only verify their own kind. */
    CHECK_ERR(pq3_note_cosignatures(&n, &k.log_v, 1, NULL, &count), PQ3_ERR_ARG);
    {
        pq3_note_verifier twice[2] = { k.wit_v[0], k.wit_v[0] };
        CHECK_ERR(pq3_note_cosignatures(&n, twice, 2, NULL, &count), PQ3_ERR_ARG);
    }
    /* All four keys as known keys: four verified lines. */
    {
        pq3_note_verifier all[4] = { k.log_v, k.wit_v[0], k.wit_v[1], k.wit_v[2] };
        CHECK_OK(pq3_note_verify(&n, all, 4, &verified));
        CHECK(verified == 4);
    }
    /* A witness's line alone is a valid note under the witness key (type
     * 0x04 verification), but not under the log key. */
    {
        uint8_t wn[1024];
        size_t wl = 0;
        CHECK_OK(pq3_note_sign(wn, sizeof wn, &wl, body, body_len, &k.wit[0], 1, t0));
        CHECK_OK(pq3_note_open(&n, wn, wl, &k.wit_v[0], 1));
        CHECK_ERR(pq3_note_open(&n, wn, wl, &k.log_v, 1), PQ3_ERR_UNKNOWN);
        CHECK(is_zero(&n, sizeof n));
    }
    /* Signing is deterministic; log and witnesses in one call. */
    {
        uint8_t a[4096], b[4096];
        size_t al = 0, bl = 0;
        pq3_note_signer both[2] = { k.log, k.wit[0] };
        CHECK_OK(pq3_note_sign(a, sizeof a, &al, body, body_len, both, 2, t0));
        CHECK_OK(pq3_note_sign(b, sizeof b, &bl, body, body_len, both, 2, t0));
        CHECK(al == bl && memcmp(a, b, al) == 0);
        CHECK_OK(pq3_note_parse(&n, a, al));
        CHECK_OK(pq3_note_verify(&n, &k.log_v, 1, NULL));
        CHECK_OK(pq3_note_cosignatures(&n, k.wit_v, 3, ts, &count));
        CHECK(count == 1 && ts[0] == t0 && ts[1] == 0);
        pq3_wipe(both, sizeof both);
    }

    CHECK_OK(pq3_note_parse(&n, note, note_len));
    /* A modified text: the log's signature and every cosignature fail. */
    memcpy(bad, note, note_len);
    bad[body_len - 50] ^= 1; /* a digit of the size or a character of the root */
    {
        pq3_note n2;
        CHECK_OK(pq3_note_parse(&n2, bad, note_len));
        CHECK_ERR(pq3_note_verify(&n2, &k.log_v, 1, NULL), PQ3_ERR_VERIFY);
        CHECK_ERR(pq3_note_cosignatures(&n2, k.wit_v + 2, 1, ts, &count), PQ3_ERR_VERIFY);
        CHECK(count == 0 && ts[0] == 0);
    }
    /* Tampered timestamps, signatures of the wrong length, a flipped
     * signature bit. */
    {
        void (*edits[])(uint8_t *, size_t *) = { ts_plus_one, ts_high_bit, drop_last, add_byte,
                                                  sig_bit };
        for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
            pq3_note n2;
            bad_len = edit_line(bad, &n, note, note_len, 2, edits[e]);
            CHECK_OK(pq3_note_parse(&n2, bad, bad_len));
            CHECKF(pq3_note_cosignatures(&n2, k.wit_v, 3, ts, &count) == PQ3_ERR_VERIFY,
                   "cosignature edit %zu accepted", e);
            /* The log's own signature is untouched. */
            CHECK_OK(pq3_note_verify(&n2, &k.log_v, 1, NULL));
            if (e >= 2) {
                bad_len = edit_line(bad, &n, note, note_len, 0, edits[e]);
                CHECK_OK(pq3_note_parse(&n2, bad, bad_len));
                CHECKF(pq3_note_verify(&n2, &k.log_v, 1, NULL) == PQ3_ERR_VERIFY,
                       "log signature edit %zu accepted", e);
            }
        }
    }
    /* The wrong key: another log's key under the same name has another ID
     * (unknown); the same ID with another key fails. */
    {
        pq3_note_signer other;
        pq3_note_verifier ov;
        pq3t_drbg d;
        pq3_rng rng;
        pq3t_drbg_init(&d, "note other log", 0);
        rng = pq3t_drbg_rng(&d);
        CHECK_OK(pq3_note_signer_generate(&other, k.log.name, PQ3_NOTE_TYPE_ED25519, &rng));
        pq3_note_signer_verifier(&ov, &other);
        CHECK_ERR(pq3_note_verify(&n, &ov, 1, NULL), PQ3_ERR_UNKNOWN);
        ov.key_id = k.log_v.key_id;
        CHECK_ERR(pq3_note_verify(&n, &ov, 1, NULL), PQ3_ERR_VERIFY);
        pq3_note_signer_wipe(&other);
    }
    /* A repeated line is malformed. */
    bad_len = append(note, note_len, line, line_len); /* w3's line again */
    CHECK_ERR(pq3_note_parse(&n, note, bad_len), PQ3_ERR_DECODE);
    CHECK(is_zero(&n, sizeof n));

    /* Texts with blank lines inside and at the end round-trip. */
    {
        static const char *texts[] = { "a\n\nb\n", "a\n\n", "\n", "x\n\n\n\ny\n",
                                       "\xce\xb1\xce\xb2 \xe2\x80\x94 gamma\n" };
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            size_t tl = strlen(texts[i]), nl = 0;
            uint8_t out[1024];
            CHECK_OK(pq3_note_sign(out, sizeof out, &nl, (const uint8_t *)texts[i], tl, &k.log, 1,
                                   0));
            CHECK_OK(pq3_note_open(&n, out, nl, &k.log_v, 1));
            CHECKF(n.text_len == tl && memcmp(n.text, texts[i], tl) == 0, "text %zu", i);
        }
    }

    /* Signing errors. */
    {
        uint8_t out[1024];
        size_t ol = 0;
        pq3_note_signer dup[2] = { k.log, k.log };
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("no newline"), &k.log, 1, 0),
                  PQ3_ERR_DECODE);
        CHECK(is_zero(out, sizeof out));
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S(""), &k.log, 1, 0), PQ3_ERR_DECODE);
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("tab\there\n"), &k.log, 1, 0),
                  PQ3_ERR_DECODE);
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("cr\r\n"), &k.log, 1, 0), PQ3_ERR_DECODE);
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("bad \xff utf8\n"), &k.log, 1, 0),
                  PQ3_ERR_DECODE);
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("t\n"), &k.log, 0, 0), PQ3_ERR_ARG);
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("t\n"), dup, 2, 0), PQ3_ERR_ARG);
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("t\n"), &k.log, 1, 5), PQ3_ERR_ARG);
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("t\n"), &k.wit[0], 1,
                                PQ3_NOTE_TIME_MAX + 1),
                  PQ3_ERR_ARG);
        CHECK_OK(pq3_note_sign(out, sizeof out, &ol, S("t\n"), &k.wit[0], 1, PQ3_NOTE_TIME_MAX));
        CHECK_OK(pq3_note_open(&n, out, ol, &k.wit_v[0], 1));
        CHECK_ERR(pq3_note_sign(NULL, 0, &ol, S("t\n"), &k.log, 1, 0), PQ3_ERR_BUFFER);
        CHECK(ol == 2 + 1 + 4 + strlen(k.log.name) + 1 + 92 + 1);
        memset(out, 0x77, sizeof out);
        CHECK_ERR(pq3_note_sign(out, ol - 1, &ol, S("t\n"), &k.log, 1, 0), PQ3_ERR_BUFFER);
        CHECK(out[0] == 0x77);
        CHECK_OK(pq3_note_sign(out, ol, &ol, S("t\n"), &k.log, 1, 0));
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, NULL, 2, &k.log, 1, 0), PQ3_ERR_ARG);
        CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("t\n"), NULL, 1, 0), PQ3_ERR_ARG);
        {
            pq3_note_signer broken = k.log;
            broken.type = 0x02;
            CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("t\n"), &broken, 1, 0), PQ3_ERR_ARG);
            broken = k.log;
            memset(broken.name, 'x', sizeof broken.name);
            CHECK_ERR(pq3_note_sign(out, sizeof out, &ol, S("t\n"), &broken, 1, 0), PQ3_ERR_ARG);
            pq3_note_signer_wipe(&broken);
        }
        pq3_wipe(dup, sizeof dup);
    }
    wipe_keys(&k);
}

/* Ed25519 keys from RFC 8032 §7.1 TEST 1 and TEST 2: the seed gives the
 * published public key. */
static void test_seed(void)
{
    static const struct {
        const char *seed, *pub;
    } v[] = {
        { "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
          "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" },
        { "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
          "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c" },
    };
    for (size_t i = 0; i < 2; i++) {
        uint8_t seed[32], pub[32];
        pq3_note_signer s;
        pq3_note_verifier pv;
        uint32_t id = 0;
        CHECK(pq3t_unhex_into(seed, 32, v[i].seed));
        CHECK(pq3t_unhex_into(pub, 32, v[i].pub));
        CHECK_OK(pq3_note_signer_from_seed(&s, "rfc8032.example/test", PQ3_NOTE_TYPE_ED25519,
                                           seed));
        CHECK(memcmp(s.pub, pub, 32) == 0 && memcmp(s.seed, seed, 32) == 0);
        CHECK_OK(pq3_note_key_id(&id, "rfc8032.example/test", 0x01, pub, 32));
        CHECK(s.key_id == id);
        pq3_note_signer_verifier(&pv, &s);
        CHECK(pv.key_id == id && memcmp(pv.pub, pub, 32) == 0);
        pq3_note_signer_wipe(&s);
    }
    {
        uint8_t seed[32] = { 1 };
        pq3_note_signer s;
        pq3_rng fail = pq3t_failing_rng();
        CHECK_ERR(pq3_note_signer_from_seed(&s, "bad name", 0x01, seed), PQ3_ERR_ARG);
        CHECK(is_zero(&s, sizeof s));
        CHECK_ERR(pq3_note_signer_from_seed(&s, "ok", 0x02, seed), PQ3_ERR_VERSION);
        CHECK_ERR(pq3_note_signer_from_seed(&s, "ok", 0x01, NULL), PQ3_ERR_ARG);
        CHECK_ERR(pq3_note_signer_from_seed(NULL, "ok", 0x01, seed), PQ3_ERR_ARG);
        memset(&s, 0x55, sizeof s);
        CHECK_ERR(pq3_note_signer_generate(&s, "ok", 0x01, &fail), PQ3_ERR_RNG);
        CHECK(is_zero(&s, sizeof s));
        CHECK_OK(pq3_note_signer_generate(&s, "ok", 0x04, NULL));
        pq3_note_signer_wipe(&s);
        pq3_note_signer_wipe(NULL);
        pq3_note_signer_verifier(NULL, NULL);
    }
}

/* ---- malformed notes ------------------------------------------------------------------- */

static void test_malformed_notes(void)
{
    static const char good_sig[] = "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZ"
                                   "XsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=";
    static const struct {
        const char *note;
        pq3_err want;
    } v[] = {
        { "", PQ3_ERR_DECODE },
        { "\n", PQ3_ERR_DECODE },
        { "\n\n", PQ3_ERR_DECODE },
        { "text\n\n", PQ3_ERR_DECODE },                        /* no signature */
        { "text\n\xe2\x80\x94 a AAAAAAA=\n", PQ3_ERR_DECODE },  /* no blank line */
        { "text\n\n\xe2\x80\x94 a AAAAAAA=", PQ3_ERR_DECODE },  /* no final newline */
        { "text\n\n- a AAAAAAA=\n", PQ3_ERR_DECODE },           /* hyphen, not em dash */
        { "text\n\n\xe2\x80\x94" "a AAAAAAA=\n", PQ3_ERR_DECODE }, /* no space after dash */
        { "text\n\n\xe2\x80\x94  a AAAAAAA=\n", PQ3_ERR_DECODE }, /* empty name */
        { "text\n\n\xe2\x80\x94 a+b AAAAAAA=\n", PQ3_ERR_DECODE },
        { "text\n\n\xe2\x80\x94 a\xc2\xa0z AAAAAAA=\n", PQ3_ERR_DECODE },
        { "text\n\n\xe2\x80\x94 a\n", PQ3_ERR_DECODE },          /* no signature field */
        { "text\n\n\xe2\x80\x94 a \n", PQ3_ERR_DECODE },         /* empty base64 */
        { "text\n\n\xe2\x80\x94 a AAAAAA==\n", PQ3_ERR_DECODE }, /* 4 bytes: ID only */
        { "text\n\n\xe2\x80\x94 a AAAAAAB=\n", PQ3_ERR_DECODE }, /* non-zero pad bits */
        { "text\n\n\xe2\x80\x94 a AAAAAAA\n", PQ3_ERR_DECODE },  /* unpadded */
        { "text\n\n\xe2\x80\x94 a AAAAAAA= \n", PQ3_ERR_DECODE }, /* trailing space */
        { "text\n\n\xe2\x80\x94 a AAAA AAA=\n", PQ3_ERR_DECODE },
        { "text\n\n\xe2\x80\x94 a AAAAAAA=\r\n", PQ3_ERR_DECODE },
        { "te\x01xt\n\n\xe2\x80\x94 a AAAAAAA=\n", PQ3_ERR_DECODE },
        { "te\xc0\xafxt\n\n\xe2\x80\x94 a AAAAAAA=\n", PQ3_ERR_DECODE },
        { "text\n\n\xe2\x80\x94 a AAAAAAA=\n\xe2\x80\x94 a AAAAAAA=\n", PQ3_ERR_DECODE },
        { "text\n\n\xe2\x80\x94 a AAAAAAA=\n\n", PQ3_ERR_DECODE },
        /* well formed: one unknown signature of 5 bytes */
        { "text\n\n\xe2\x80\x94 a AAAAAAA=\n", PQ3_OK },
        /* same name, other IDs; same ID, other names: all distinct */
        { "t\n\n\xe2\x80\x94 a AAAAAAA=\n\xe2\x80\x94 a AAAAAQA=\n\xe2\x80\x94 b AAAAAAA=\n",
          PQ3_OK },
    };
    pq3_note n;
    char buf[4096];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t len = strlen(v[i].note);
        pq3_err e = pq3_note_parse(&n, (const uint8_t *)v[i].note, len);
        CHECKF(e == v[i].want, "note %zu: %d, expected %d", i, e, v[i].want);
        if (e != PQ3_OK)
            CHECK(is_zero(&n, sizeof n));
    }
    /* A NUL inside (strlen cannot express it). */
    CHECK_ERR(pq3_note_parse(&n, S("te\0xt\n\n\xe2\x80\x94 a AAAAAAA=\n")), PQ3_ERR_DECODE);

    /* 16 and 32 signature lines are accepted, 33 are not. */
    {
        static const int counts[] = { 16, 32, 33 };
        for (size_t c = 0; c < 3; c++) {
            size_t len = (size_t)snprintf(buf, sizeof buf, "text\n\n");
            for (int i = 0; i < counts[c]; i++)
                len += (size_t)snprintf(buf + len, sizeof buf - len, "\xe2\x80\x94 k%d %s\n", i,
                                        good_sig);
            CHECK_ERR(pq3_note_parse(&n, (const uint8_t *)buf, len),
                      counts[c] <= PQ3_NOTE_MAX_SIGS ? PQ3_OK : PQ3_ERR_LIMIT);
            if (counts[c] <= PQ3_NOTE_MAX_SIGS)
                CHECK(n.n_sigs == (size_t)counts[c]);
        }
    }
    /* The size bound. */
    {
        size_t big = PQ3_NOTE_MAX_BYTES + 1;
        uint8_t *m = malloc(big);
        CHECK(m != NULL);
        if (m != NULL) {
            memset(m, 'a', big);
            CHECK_ERR(pq3_note_parse(&n, m, big), PQ3_ERR_LIMIT);
            free(m);
        }
    }
    CHECK_ERR(pq3_note_parse(NULL, S("x")), PQ3_ERR_ARG);
    CHECK_ERR(pq3_note_parse(&n, NULL, 3), PQ3_ERR_ARG);
    CHECK_ERR(pq3_note_verify(NULL, NULL, 0, NULL), PQ3_ERR_ARG);
    memset(&n, 0, sizeof n);
    CHECK_ERR(pq3_note_verify(&n, NULL, 0, NULL), PQ3_ERR_ARG); /* no text */
}

/* ---- verifier keys ---------------------------------------------------------------------- */

static void test_vkeys(void)
{
    static const char good[] = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    static const struct {
        const char *vkey;
        pq3_err want;
    } v[] = {
        { "", PQ3_ERR_DECODE },
        { "example.com/foo", PQ3_ERR_DECODE },
        { "example.com/foo+530d903a", PQ3_ERR_DECODE },
        { "example.com/foo+530d903a+", PQ3_ERR_DECODE },
        { "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PQ3_ERR_DECODE },
        { "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PQ3_ERR_DECODE },
        { "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PQ3_ERR_DECODE },
        { "example.com/foo+530d903ab+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PQ3_ERR_DECODE },
        { "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PQ3_ERR_DECODE },
        { "example.com/fo0+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PQ3_ERR_DECODE },
        { "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2l", PQ3_ERR_DECODE },
        { "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k\n", PQ3_ERR_DECODE },
        { "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U0=", PQ3_ERR_DECODE },
        { "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2kAA==", PQ3_ERR_DECODE },
        { "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PQ3_ERR_DECODE },
        /* type 0x02 (ECDSA): not supported */
        { "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", PQ3_ERR_VERSION },
        { "example.com/foo+530d903a+AA==", PQ3_ERR_VERSION },
        { good, PQ3_OK },
    };
    pq3_note_verifier k, k2;
    char out[PQ3_NOTE_VKEY_MAX + 1], longkey[PQ3_NOTE_VKEY_MAX + 2];
    size_t len = 0;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        pq3_err e = pq3_note_verifier_parse(&k, v[i].vkey, strlen(v[i].vkey));
        CHECKF(e == v[i].want, "vkey %zu: %d, expected %d", i, e, v[i].want);
        if (e != PQ3_OK)
            CHECK(is_zero(&k, sizeof k));
    }
    memset(longkey, 'a', sizeof longkey);
    CHECK_ERR(pq3_note_verifier_parse(&k, longkey, sizeof longkey), PQ3_ERR_LIMIT);
    CHECK_ERR(pq3_note_verifier_parse(&k, NULL, 0), PQ3_ERR_ARG);
    CHECK_ERR(pq3_note_verifier_parse(NULL, good, sizeof good - 1), PQ3_ERR_ARG);

    /* Keys whose base64 holds a '+', and the longest name: round trips. */
    {
        pq3t_drbg d;
        pq3_rng rng;
        char name[PQ3_NOTE_NAME_MAX + 1];
        int plus_seen = 0;
        pq3t_drbg_init(&d, "note vkeys", 0);
        rng = pq3t_drbg_rng(&d);
        memset(name, 'n', PQ3_NOTE_NAME_MAX);
        name[PQ3_NOTE_NAME_MAX] = '\0';
        for (int i = 0; i < 40; i++) {
            pq3_note_signer s;
            CHECK_OK(pq3_note_signer_generate(&s, i == 0 ? name : "log.example/x",
                                              i % 2 ? 0x04 : 0x01, &rng));
            pq3_note_signer_verifier(&k, &s);
            pq3_note_signer_wipe(&s);
            CHECK_OK(pq3_note_verifier_format(out, sizeof out, &len, &k));
            CHECK(len == strlen(out));
            plus_seen |= strchr(strchr(strchr(out, '+') + 1, '+') + 1, '+') != NULL;
            CHECK_OK(pq3_note_verifier_parse(&k2, out, len));
            CHECK(memcmp(&k, &k2, sizeof k) == 0);
        }
        CHECK(plus_seen);
    }
    /* Formatting errors. */
    CHECK_OK(pq3_note_verifier_parse(&k, good, sizeof good - 1));
    memset(out, 0x33, sizeof out);
    CHECK_ERR(pq3_note_verifier_format(out, sizeof good - 1, &len, &k), PQ3_ERR_BUFFER);
    CHECK(len == sizeof good - 1 && out[0] == 0x33);
    CHECK_ERR(pq3_note_verifier_format(NULL, 0, &len, &k), PQ3_ERR_BUFFER);
    CHECK_OK(pq3_note_verifier_format(out, sizeof good, NULL, &k));
    CHECK(strcmp(out, good) == 0);
    k2 = k;
    k2.type = 0x02;
    CHECK_ERR(pq3_note_verifier_format(out, sizeof out, &len, &k2), PQ3_ERR_ARG);
    k2 = k;
    strcpy(k2.name, "bad name");
    CHECK_ERR(pq3_note_verifier_format(out, sizeof out, &len, &k2), PQ3_ERR_ARG);
    CHECK_ERR(pq3_note_verifier_init(&k2, "ok", 0x03, k.pub), PQ3_ERR_VERSION);
    CHECK_ERR(pq3_note_verifier_init(&k2, "a+b", 0x01, k.pub), PQ3_ERR_ARG);
    CHECK(is_zero(&k2, sizeof k2));
    {
        uint32_t id;
        CHECK_ERR(pq3_note_key_id(&id, "", 1, k.pub, 32), PQ3_ERR_ARG);
        CHECK_ERR(pq3_note_key_id(NULL, "a", 1, k.pub, 32), PQ3_ERR_ARG);
        CHECK_ERR(pq3_note_key_id(&id, "a", 1, NULL, 32), PQ3_ERR_ARG);
    }
}

/* ---- malformed checkpoints ---------------------------------------------------------------- */

static void test_malformed_checkpoints(void)
{
#define ROOT "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    static const struct {
        const char *text;
        pq3_err want;
    } v[] = {
        { "log\n20852163\n" ROOT "\n", PQ3_OK },
        { "log\n0\n" ROOT "\n", PQ3_OK },
        { "log\n18446744073709551615\n" ROOT "\n", PQ3_OK },
        { "log\n18446744073709551616\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n99999999999999999999\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n020852163\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n00\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n-1\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n+5\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n 5\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n5 \n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n0x10\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n20852163\n" ROOT, PQ3_ERR_DECODE },           /* no final newline */
        { "log\n20852163\n" ROOT "\n\n", PQ3_ERR_DECODE },    /* blank line after */
        { "log\n20852163\n\n" ROOT "\n", PQ3_ERR_DECODE },    /* blank line before */
        { "\nlog\n20852163\n" ROOT "\n", PQ3_ERR_DECODE },    /* blank origin */
        { "log\n20852163\n", PQ3_ERR_DECODE },                /* two lines */
        { "log\n", PQ3_ERR_DECODE },
        { "", PQ3_ERR_DECODE },
        { "log\r\n20852163\n" ROOT "\n", PQ3_ERR_DECODE },
        { "log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", PQ3_ERR_DECODE },
        { "log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", PQ3_ERR_DECODE },
        { "log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I*\n", PQ3_ERR_DECODE },
        { "log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n", PQ3_ERR_DECODE }, /* 31 */
        { "log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA\n", PQ3_ERR_DECODE }, /* 33 */
        { "log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=AAAA\n", PQ3_ERR_DECODE },
        { "log\n20852163\n" ROOT "\next one\n", PQ3_OK },
        { "log\n20852163\n" ROOT "\next\nmore \xe2\x80\x94 ext\n", PQ3_OK },
        { "log\n20852163\n" ROOT "\next\n\nmore\n", PQ3_ERR_DECODE },
        { "log\n20852163\n" ROOT "\next", PQ3_ERR_DECODE },
        { "log\n20852163\n" ROOT "\ne\x02xt\n", PQ3_ERR_DECODE },
        { "origin with spaces+plus\n1\n" ROOT "\n", PQ3_OK }, /* only a SHOULD */
    };
    pq3_checkpoint c, c2;
    uint8_t buf[PQ3_CHECKPOINT_MAX_BYTES + 16], out[PQ3_CHECKPOINT_MAX_BYTES];
    size_t len, ol = 0;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const uint8_t *t = (const uint8_t *)v[i].text;
        size_t tl = strlen(v[i].text);
        pq3_err e = pq3_checkpoint_parse(&c, t, tl);
        CHECKF(e == v[i].want, "checkpoint %zu: %d, expected %d", i, e, v[i].want);
        if (e != PQ3_OK) {
            CHECK(is_zero(&c, sizeof c));
            continue;
        }
        /* Whatever parses formats back to the same bytes. */
        CHECK_OK(pq3_checkpoint_format(out, sizeof out, &ol, &c));
        CHECKF(ol == tl && memcmp(out, t, tl) == 0, "checkpoint %zu re-formats", i);
    }
    CHECK_OK(pq3_checkpoint_parse(&c, S("log\n18446744073709551615\n" ROOT "\n")));
    CHECK(c.size == UINT64_MAX);
    CHECK_OK(pq3_checkpoint_parse(&c, S("log\n20852163\n" ROOT "\na\nb\n")));
    CHECK(c.n_ext == 2 && c.ext_len == 4 && memcmp(c.ext, "a\nb\n", 4) == 0);
    CHECK_ERR(pq3_checkpoint_parse(&c, S("log\n5\n" ROOT "\n\0\n")), PQ3_ERR_DECODE);

    /* Extension line count and size limits; origin length. */
    for (int n_ext = 16; n_ext <= 17; n_ext++) {
        len = (size_t)snprintf((char *)buf, sizeof buf, "log\n1\n" ROOT "\n");
        for (int i = 0; i < n_ext; i++)
            len += (size_t)snprintf((char *)buf + len, sizeof buf - len, "e%d\n", i);
        CHECK_ERR(pq3_checkpoint_parse(&c, buf, len), n_ext <= 16 ? PQ3_OK : PQ3_ERR_LIMIT);
    }
    memset(buf, 'o', 300);
    len = 300 + (size_t)snprintf((char *)buf + 300, sizeof buf - 300, "\n1\n" ROOT "\n");
    CHECK_ERR(pq3_checkpoint_parse(&c, buf, len), PQ3_ERR_LIMIT);
    len = 255 + (size_t)snprintf((char *)buf + 255, sizeof buf - 255, "\n1\n" ROOT "\n");
    CHECK_OK(pq3_checkpoint_parse(&c, buf, len));
    CHECK(strlen(c.origin) == 255);
    memset(buf, 'a', sizeof buf);
    CHECK_ERR(pq3_checkpoint_parse(&c, buf, PQ3_CHECKPOINT_MAX_BYTES + 1), PQ3_ERR_LIMIT);

    /* Formatting refuses what would not parse back. */
    CHECK_OK(pq3_checkpoint_parse(&c, S("log\n7\n" ROOT "\nx\n")));
    c2 = c;
    c2.origin[0] = '\0';
    CHECK_ERR(pq3_checkpoint_format(out, sizeof out, &ol, &c2), PQ3_ERR_ARG);
    c2 = c;
    strcpy(c2.origin, "two\nlines");
    CHECK_ERR(pq3_checkpoint_format(out, sizeof out, &ol, &c2), PQ3_ERR_ARG);
    c2 = c;
    c2.n_ext = 2;
    CHECK_ERR(pq3_checkpoint_format(out, sizeof out, &ol, &c2), PQ3_ERR_ARG);
    c2 = c;
    c2.ext = (const uint8_t *)"x\n\n";
    c2.ext_len = 3;
    CHECK_ERR(pq3_checkpoint_format(out, sizeof out, &ol, &c2), PQ3_ERR_ARG);
    c2 = c;
    c2.ext = (const uint8_t *)"x";
    c2.ext_len = 1;
    CHECK_ERR(pq3_checkpoint_format(out, sizeof out, &ol, &c2), PQ3_ERR_ARG);
    c2 = c;
    c2.ext = NULL;
    CHECK_ERR(pq3_checkpoint_format(out, sizeof out, &ol, &c2), PQ3_ERR_ARG);
    c2 = c;
    memset(c2.origin, 'x', sizeof c2.origin); /* no NUL */
    CHECK_ERR(pq3_checkpoint_format(out, sizeof out, &ol, &c2), PQ3_ERR_ARG);
    CHECK_ERR(pq3_checkpoint_format(NULL, 0, &ol, &c), PQ3_ERR_BUFFER);
    CHECK(ol == sizeof("log\n7\n" ROOT "\nx\n") - 1);
    memset(out, 0x11, sizeof out);
    CHECK_ERR(pq3_checkpoint_format(out, ol - 1, &ol, &c), PQ3_ERR_BUFFER);
    CHECK(out[0] == 0x11);
    CHECK_ERR(pq3_checkpoint_format(out, sizeof out, &ol, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_checkpoint_parse(NULL, S("x")), PQ3_ERR_ARG);
    CHECK_ERR(pq3_checkpoint_parse(&c, NULL, 1), PQ3_ERR_ARG);
#undef ROOT
}

int main(void)
{
    test_base64();
    test_names();
    test_example_note();
    test_example_checkpoint();
    test_round_trips();
    test_seed();
    test_malformed_notes();
    test_vkeys();
    test_malformed_checkpoints();
    if (missing_vectors != NULL && pq3t_failures == 0) {
        printf("test_note: %lu checks passed without the C2SP examples\n", pq3t_checks);
        pq3t_skip("%s", missing_vectors);
    }
    return pq3t_finish();
}
