/*
 * The protocol of key transparency (include/pq3/kt.h, docs/TRANSPARENCY.md):
 * records and their keys, epochs, checkpoints, promises, the lookup proof
 * and the client's checks, owner monitoring, verification codes.
 *
 * Everything a peer sends is decoded strictly before it is looked at, and
 * the client's checks run in the order of TRANSPARENCY.md §5.2, each with
 * its own reason, so a refusal says which check failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/md.h"
#include "crypto/p256.h"
#include "pq3/kt.h"
#include "protocol/codec.h"
#include "transparency/base64.h"

#define HB PQ3_KT_HASH_BYTES
#define VB PQ3_KT_VALUE_BYTES
#define PUB PQ3_KT_PUB_BYTES

#define VALUE_LABEL "pq3 kt value v1"
#define ALPHA_LABEL "pq3 kt key v1"
#define LEAF_LABEL "pq3 kt epoch v1"
#define PROMISE_LABEL "pq3 kt promise v1"
#define CODE_LABEL "pq3 verify v1"
#define MMD_PREFIX "mmd "
#define LABEL_LEN(l) (sizeof(l) - 1)

/* ---- small helpers ---------------------------------------------------------- */

static int handle_ok(const uint8_t *h, size_t len)
{
    return h != NULL && len >= 1 && len <= PQ3_KT_HANDLE_MAX;
}

static void put_be64(uint8_t p[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t be64(const uint8_t p[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Decimal digits of v without leading zeros into buf; their number. */
static size_t dec_format(char buf[20], uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* p[0..n) as a decimal uint64 without leading zeros ("0" alone is zero);
 * 1 on success. */
static int dec_parse(uint64_t *out, const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (p[0] == '0' && n > 1))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* 3 x MMD, the staleness window of §5.2 step 4, saturating. */
static uint64_t window_of(uint64_t mmd)
{
    return mmd > UINT64_MAX / 3 ? UINT64_MAX : 3 * mmd;
}

static const char hex_digits[] = "0123456789abcdef";

/* ---- §1, §2 --------------------------------------------------------------- */

pq3_err pq3_kt_value(uint8_t value[VB], const uint8_t *h, size_t h_len,
                     const uint8_t account_pub[PUB], uint64_t v, const uint8_t *list,
                     size_t list_len)
{
    uint8_t hlen, ver[8], llen[2];
    pq3_iov parts[7];

    if (value == NULL)
        return PQ3_ERR_ARG;
    if (!handle_ok(h, h_len) || account_pub == NULL || (list == NULL && list_len > 0) ||
        list_len > PQ3_KT_LIST_MAX) {
        pq3_wipe(value, VB);
        return PQ3_ERR_ARG;
    }
    /* TRANSPARENCY.md §1 */
    hlen = (uint8_t)h_len;
    put_be64(ver, v);
    llen[0] = (uint8_t)(list_len >> 8);
    llen[1] = (uint8_t)list_len;
    parts[0] = (pq3_iov){ (const uint8_t *)VALUE_LABEL, LABEL_LEN(VALUE_LABEL) };
    parts[1] = (pq3_iov){ &hlen, 1 };
    parts[2] = (pq3_iov){ h, h_len };
    parts[3] = (pq3_iov){ account_pub, PUB };
    parts[4] = (pq3_iov){ ver, sizeof ver };
    parts[5] = (pq3_iov){ llen, sizeof llen };
    parts[6] = (pq3_iov){ list, list_len };
    return pq3_sha256_iov(value, parts, list_len > 0 ? 7 : 6);
}

pq3_err pq3_kt_alpha(uint8_t *out, size_t cap, size_t *out_len, const uint8_t *h, size_t h_len,
                     uint64_t v)
{
    size_t n;

    if (out_len != NULL)
        *out_len = 0;
    if (out == NULL || out_len == NULL || !handle_ok(h, h_len))
        return PQ3_ERR_ARG;
    /* TRANSPARENCY.md §2 */
    n = LABEL_LEN(ALPHA_LABEL) + 1 + h_len + 8;
    *out_len = n;
    if (cap < n)
        return PQ3_ERR_BUFFER;
    memcpy(out, ALPHA_LABEL, LABEL_LEN(ALPHA_LABEL));
    out[LABEL_LEN(ALPHA_LABEL)] = (uint8_t)h_len;
    memcpy(out + LABEL_LEN(ALPHA_LABEL) + 1, h, h_len);
    put_be64(out + LABEL_LEN(ALPHA_LABEL) + 1 + h_len, v);
    return PQ3_OK;
}

pq3_err pq3_kt_key_prove(uint8_t key[PQ3_KT_KEY_BYTES], uint8_t pi[PQ3_VRF_PROOF_BYTES],
                         const uint8_t vrf_sk[PQ3_VRF_SK_BYTES], const uint8_t *h, size_t h_len,
                         uint64_t v)
{
    uint8_t alpha[PQ3_KT_ALPHA_MAX];
    size_t alpha_len;
    pq3_err err;

    if (key == NULL || pi == NULL)
        return PQ3_ERR_ARG;
    if (vrf_sk == NULL)
        err = PQ3_ERR_ARG;
    else if ((err = pq3_kt_alpha(alpha, sizeof alpha, &alpha_len, h, h_len, v)) == PQ3_OK &&
             (err = pq3_vrf_prove(pi, vrf_sk, alpha, alpha_len)) == PQ3_OK)
        err = pq3_vrf_proof_to_hash(key, pi);
    if (err != PQ3_OK) {
        pq3_wipe(key, PQ3_KT_KEY_BYTES);
        pq3_wipe(pi, PQ3_VRF_PROOF_BYTES);
    }
    return err;
}

pq3_err pq3_kt_key_verify(uint8_t key[PQ3_KT_KEY_BYTES], const uint8_t vrf_pub[PQ3_VRF_PK_BYTES],
                          const uint8_t *h, size_t h_len, uint64_t v,
                          const uint8_t pi[PQ3_VRF_PROOF_BYTES])
{
    uint8_t alpha[PQ3_KT_ALPHA_MAX];
    size_t alpha_len;
    pq3_err err;

    if (key == NULL)
        return PQ3_ERR_ARG;
    if (vrf_pub == NULL || pi == NULL)
        err = PQ3_ERR_ARG;
    else if ((err = pq3_kt_alpha(alpha, sizeof alpha, &alpha_len, h, h_len, v)) == PQ3_OK)
        err = pq3_vrf_verify(key, vrf_pub, alpha, alpha_len, pi);
    if (err != PQ3_OK)
        pq3_wipe(key, PQ3_KT_KEY_BYTES);
    return err;
}

/* ---- §3: epochs --------------------------------------------------------------- */

pq3_err pq3_kt_leaf_encode(uint8_t out[PQ3_KT_LEAF_BYTES], uint64_t e, uint64_t time,
                           const uint8_t map_root[PQ3_MAP_HASH_BYTES])
{
    if (out == NULL || map_root == NULL)
        return PQ3_ERR_ARG;
    /* TRANSPARENCY.md §3: leaf(e) */
    memcpy(out, LEAF_LABEL, LABEL_LEN(LEAF_LABEL));
    put_be64(out + LABEL_LEN(LEAF_LABEL), e);
    put_be64(out + LABEL_LEN(LEAF_LABEL) + 8, time);
    memcpy(out + LABEL_LEN(LEAF_LABEL) + 16, map_root, PQ3_MAP_HASH_BYTES);
    return PQ3_OK;
}

pq3_err pq3_kt_leaf_decode(uint64_t *e, uint64_t *time, uint8_t map_root[PQ3_MAP_HASH_BYTES],
                           const uint8_t *in, size_t len)
{
    if (e == NULL || time == NULL || map_root == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if (len != PQ3_KT_LEAF_BYTES || memcmp(in, LEAF_LABEL, LABEL_LEN(LEAF_LABEL)) != 0)
        return PQ3_ERR_DECODE;
    *e = be64(in + LABEL_LEN(LEAF_LABEL));
    *time = be64(in + LABEL_LEN(LEAF_LABEL) + 8);
    memcpy(map_root, in + LABEL_LEN(LEAF_LABEL) + 16, PQ3_MAP_HASH_BYTES);
    return PQ3_OK;
}

pq3_err pq3_kt_leaf_hash(uint8_t out[PQ3_MERKLE_HASH_BYTES], uint64_t e, uint64_t time,
                         const uint8_t map_root[PQ3_MAP_HASH_BYTES])
{
    uint8_t leaf[PQ3_KT_LEAF_BYTES];
    pq3_err err;
    if (out == NULL)
        return PQ3_ERR_ARG;
    if ((err = pq3_kt_leaf_encode(leaf, e, time, map_root)) != PQ3_OK)
        return err;
    return pq3_merkle_leaf_hash(out, leaf, sizeof leaf);
}

/* ---- §3: checkpoints ------------------------------------------------------------ */

/* origin = "<name>/kt/v1" (NUL-terminated), checked to be a valid
 * checkpoint origin: pq3_checkpoint_format is the one judge of that, asked
 * to measure a checkpoint with this origin. */
static pq3_err make_origin(char origin[PQ3_CHECKPOINT_ORIGIN_MAX + 1], size_t *len,
                           const char *name)
{
    pq3_checkpoint c;
    size_t n, total;
    pq3_err err;

    if (name == NULL)
        return PQ3_ERR_ARG;
    n = strnlen(name, PQ3_KT_SERVER_NAME_MAX + 1);
    if (n == 0 || n > PQ3_KT_SERVER_NAME_MAX)
        return PQ3_ERR_ARG;
    memset(&c, 0, sizeof c);
    memcpy(c.origin, name, n);
    memcpy(c.origin + n, PQ3_KT_ORIGIN_SUFFIX, LABEL_LEN(PQ3_KT_ORIGIN_SUFFIX) + 1);
    err = pq3_checkpoint_format(NULL, 0, &total, &c);
    if (err != PQ3_ERR_BUFFER)
        return err == PQ3_OK ? PQ3_ERR_ARG : err;
    memcpy(origin, c.origin, sizeof c.origin);
    *len = n + LABEL_LEN(PQ3_KT_ORIGIN_SUFFIX);
    return PQ3_OK;
}

pq3_err pq3_kt_origin(char *out, size_t cap, size_t *len, const char *server_name)
{
    char origin[PQ3_CHECKPOINT_ORIGIN_MAX + 1];
    size_t n = 0;
    pq3_err err;

    if (len != NULL)
        *len = 0;
    if (out == NULL)
        return PQ3_ERR_ARG;
    if ((err = make_origin(origin, &n, server_name)) != PQ3_OK)
        return err;
    if (len != NULL)
        *len = n;
    if (cap < n + 1)
        return PQ3_ERR_BUFFER;
    memcpy(out, origin, n + 1);
    return PQ3_OK;
}

pq3_err pq3_kt_checkpoint_text(uint8_t *out, size_t cap, size_t *len, const char *server_name,
                               const pq3_kt_checkpoint *c)
{
    pq3_checkpoint cp;
    char ext[LABEL_LEN(MMD_PREFIX) + 20 + 1];
    size_t n, d;
    pq3_err err;

    if (len != NULL)
        *len = 0;
    if (len == NULL || c == NULL || c->mmd == 0)
        return PQ3_ERR_ARG;
    memset(&cp, 0, sizeof cp);
    if ((err = make_origin(cp.origin, &n, server_name)) != PQ3_OK)
        return err;
    /* TRANSPARENCY.md §3: the one extension line, "mmd <seconds>". */
    memcpy(ext, MMD_PREFIX, LABEL_LEN(MMD_PREFIX));
    d = dec_format(ext + LABEL_LEN(MMD_PREFIX), c->mmd);
    ext[LABEL_LEN(MMD_PREFIX) + d] = '\n';
    cp.size = c->size;
    memcpy(cp.root, c->root, sizeof cp.root);
    cp.ext = (const uint8_t *)ext;
    cp.ext_len = LABEL_LEN(MMD_PREFIX) + d + 1;
    cp.n_ext = 1;
    return pq3_checkpoint_format(out, cap, len, &cp);
}

pq3_err pq3_kt_checkpoint_sign(uint8_t *out, size_t cap, size_t *len, const pq3_note_signer *log,
                               const char *server_name, const pq3_kt_checkpoint *c)
{
    /* origin, size, root, mmd line: well under 400 bytes. */
    uint8_t text[PQ3_CHECKPOINT_ORIGIN_MAX + 1 + 21 + 45 + 25];
    size_t text_len = 0;
    pq3_err err;

    if (len != NULL)
        *len = 0;
    if (len == NULL || log == NULL || log->type != PQ3_NOTE_TYPE_ED25519)
        return PQ3_ERR_ARG;
    if ((err = pq3_kt_checkpoint_text(text, sizeof text, &text_len, server_name, c)) != PQ3_OK)
        return err == PQ3_ERR_BUFFER ? PQ3_ERR_ARG : err;
    return pq3_note_sign(out, cap, len, text, text_len, log, 1, 0);
}

pq3_err pq3_kt_checkpoint_parse(pq3_kt_checkpoint *c, const uint8_t *text, size_t len,
                                const char *server_name)
{
    char origin[PQ3_CHECKPOINT_ORIGIN_MAX + 1];
    pq3_checkpoint cp;
    size_t n;
    uint64_t mmd = 0;
    pq3_err err;

    if (c == NULL)
        return PQ3_ERR_ARG;
    memset(c, 0, sizeof *c);
    if (text == NULL)
        return PQ3_ERR_ARG;
    if ((err = make_origin(origin, &n, server_name)) != PQ3_OK)
        return err;
    if ((err = pq3_checkpoint_parse(&cp, text, len)) != PQ3_OK)
        return err;
    /* Exactly one extension line, "mmd <seconds>\n", seconds >= 1. */
    if (cp.n_ext != 1 || cp.ext_len < LABEL_LEN(MMD_PREFIX) + 2 ||
        memcmp(cp.ext, MMD_PREFIX, LABEL_LEN(MMD_PREFIX)) != 0 ||
        !dec_parse(&mmd, cp.ext + LABEL_LEN(MMD_PREFIX),
                   cp.ext_len - LABEL_LEN(MMD_PREFIX) - 1) ||
        mmd == 0)
        return PQ3_ERR_DECODE;
    if (strcmp(cp.origin, origin) != 0)
        return PQ3_ERR_UNKNOWN;
    c->size = cp.size;
    memcpy(c->root, cp.root, sizeof c->root);
    c->mmd = mmd;
    return PQ3_OK;
}

/* ---- §4: the promise -------------------------------------------------------------- */

static pq3_err promise_text(uint8_t out[PQ3_KT_PROMISE_TEXT_MAX], size_t *len,
                            const pq3_kt_promise *p)
{
    char dec[20], b64[44];
    size_t n = 0, d;

    if (!handle_ok(p->h, p->h_len))
        return PQ3_ERR_ARG;
    /* TRANSPARENCY.md §4 */
    memcpy(out, PROMISE_LABEL "\n", LABEL_LEN(PROMISE_LABEL) + 1);
    n = LABEL_LEN(PROMISE_LABEL) + 1;
    for (size_t i = 0; i < p->h_len; i++) {
        out[n++] = (uint8_t)hex_digits[p->h[i] >> 4];
        out[n++] = (uint8_t)hex_digits[p->h[i] & 15];
    }
    out[n++] = '\n';
    d = dec_format(dec, p->v);
    memcpy(out + n, dec, d);
    n += d;
    out[n++] = '\n';
    pq3_base64_encode(b64, p->value, VB);
    memcpy(out + n, b64, sizeof b64);
    n += sizeof b64;
    out[n++] = '\n';
    d = dec_format(dec, p->deadline);
    memcpy(out + n, dec, d);
    n += d;
    out[n++] = '\n';
    *len = n;
    return PQ3_OK;
}

pq3_err pq3_kt_promise_sign(uint8_t *out, size_t cap, size_t *len, const pq3_note_signer *log,
                            const pq3_kt_promise *p)
{
    uint8_t text[PQ3_KT_PROMISE_TEXT_MAX];
    size_t text_len = 0;
    pq3_err err;

    if (len != NULL)
        *len = 0;
    if (len == NULL || log == NULL || p == NULL || log->type != PQ3_NOTE_TYPE_ED25519)
        return PQ3_ERR_ARG;
    if ((err = promise_text(text, &text_len, p)) != PQ3_OK)
        return err;
    return pq3_note_sign(out, cap, len, text, text_len, log, 1, 0);
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is not the canonical form */
}

/* The next line of text[*off..len) without its newline; NULL when there is
 * none. */
static const uint8_t *next_line(const uint8_t *text, size_t len, size_t *off, size_t *n)
{
    const uint8_t *start = text + *off, *nl;
    if (*off >= len || (nl = memchr(start, '\n', len - *off)) == NULL)
        return NULL;
    *n = (size_t)(nl - start);
    *off += *n + 1;
    return start;
}

static pq3_err promise_parse(pq3_kt_promise *p, const uint8_t *text, size_t len)
{
    const uint8_t *line;
    size_t off = 0, n = 0, got = 0;

    memset(p, 0, sizeof *p);
    /* 1: the label */
    line = next_line(text, len, &off, &n);
    if (line == NULL || n != LABEL_LEN(PROMISE_LABEL) ||
        memcmp(line, PROMISE_LABEL, LABEL_LEN(PROMISE_LABEL)) != 0)
        return PQ3_ERR_DECODE;
    /* 2: hex h, 1..255 bytes, lowercase */
    line = next_line(text, len, &off, &n);
    if (line == NULL || n == 0 || n % 2 != 0 || n / 2 > PQ3_KT_HANDLE_MAX)
        return PQ3_ERR_DECODE;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(line[2 * i]), lo = hex_value(line[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return PQ3_ERR_DECODE;
        p->h[i] = (uint8_t)(hi << 4 | lo);
    }
    p->h_len = n / 2;
    /* 3: v */
    line = next_line(text, len, &off, &n);
    if (line == NULL || !dec_parse(&p->v, line, n))
        return PQ3_ERR_DECODE;
    /* 4: base64 value(h, v), canonical, 32 bytes */
    line = next_line(text, len, &off, &n);
    if (line == NULL || n != pq3_base64_len(VB) ||
        pq3_base64_decode(p->value, VB, &got, (const char *)line, n) != PQ3_OK || got != VB)
        return PQ3_ERR_DECODE;
    /* 5: the deadline, and nothing after */
    line = next_line(text, len, &off, &n);
    if (line == NULL || !dec_parse(&p->deadline, line, n) || off != len)
        return PQ3_ERR_DECODE;
    return PQ3_OK;
}

pq3_err pq3_kt_promise_open(pq3_kt_promise *p, const uint8_t *note, size_t len,
                            const pq3_note_verifier *log_key)
{
    pq3_note n;
    pq3_err err;

    if (p == NULL)
        return PQ3_ERR_ARG;
    memset(p, 0, sizeof *p);
    if (note == NULL || log_key == NULL || log_key->type != PQ3_NOTE_TYPE_ED25519)
        return PQ3_ERR_ARG;
    if ((err = pq3_note_open(&n, note, len, log_key, 1)) != PQ3_OK)
        return err;
    if ((err = promise_parse(p, n.text, n.text_len)) != PQ3_OK)
        memset(p, 0, sizeof *p);
    return err;
}

/* ---- §5.1: the proof's wire form ----------------------------------------------------- */

static unsigned popcount32(const uint8_t bitmap[PQ3_MAP_DEPTH / 8])
{
    unsigned n = 0;
    for (size_t i = 0; i < PQ3_MAP_DEPTH / 8; i++)
        n += (unsigned)__builtin_popcount(bitmap[i]);
    return n;
}

/* u8 count || count x 32, through pq3_merkle_proof_decode on exactly those
 * bytes. */
static void read_log_proof(pq3_reader *r, pq3_merkle_proof *p)
{
    size_t start = r->off;
    uint8_t count = pq3_read_u8(r);
    if (count > PQ3_MERKLE_MAX_PROOF) {
        pq3_reader_fail(r, PQ3_ERR_DECODE);
        return;
    }
    if (pq3_read_ref(r, (size_t)count * PQ3_MERKLE_HASH_BYTES) == NULL)
        return;
    if (pq3_merkle_proof_decode(p, r->buf + start, r->off - start) != PQ3_OK)
        pq3_reader_fail(r, PQ3_ERR_DECODE);
}

/* bitmap || siblings || end, its length read from the bitmap and the end
 * byte, then decoded by pq3_map_proof_decode on exactly those bytes. */
static void read_map_proof(pq3_reader *r, pq3_map_proof *p)
{
    size_t start = r->off;
    const uint8_t *bitmap = pq3_read_ref(r, PQ3_MAP_DEPTH / 8);
    if (bitmap == NULL)
        return;
    if (pq3_read_ref(r, (size_t)popcount32(bitmap) * PQ3_MAP_HASH_BYTES) == NULL)
        return;
    if (pq3_read_u8(r) == 1)
        (void)pq3_read_ref(r, PQ3_MAP_KEY_BYTES + PQ3_MAP_VALUE_BYTES);
    if (r->err != PQ3_OK)
        return;
    if (pq3_map_proof_decode(p, r->buf + start, r->off - start) != PQ3_OK)
        pq3_reader_fail(r, PQ3_ERR_DECODE);
}

pq3_err pq3_kt_proof_decode(pq3_kt_proof *p, const uint8_t *in, size_t len)
{
    pq3_kt_proof *t;
    pq3_reader r;
    pq3_err err;

    if (p == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    /* Decoded into a copy so *p stays untouched on error. */
    if ((t = malloc(sizeof *t)) == NULL)
        return PQ3_ERR_NOMEM;
    memset(t, 0, sizeof *t);
    pq3_reader_init(&r, in, len);
    /* TRANSPARENCY.md §5.1, field by field */
    t->checkpoint = pq3_read_vec16(&r, &t->checkpoint_len, PQ3_KT_NOTE_MAX);
    if (r.err == PQ3_OK && t->checkpoint_len == 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    t->time = pq3_read_u64(&r);
    pq3_read_bytes(&r, t->map_root, sizeof t->map_root);
    read_log_proof(&r, &t->inclusion);
    read_log_proof(&r, &t->consistency);
    t->v = pq3_read_u64(&r);
    pq3_read_bytes(&r, t->vrf_proof, sizeof t->vrf_proof);
    read_map_proof(&r, &t->member);
    pq3_read_bytes(&r, t->vrf_proof_next, sizeof t->vrf_proof_next);
    read_map_proof(&r, &t->next);
    t->promise = pq3_read_vec16(&r, &t->promise_len, PQ3_KT_NOTE_MAX);
    if (t->promise_len == 0)
        t->promise = NULL;
    if ((err = pq3_reader_end(&r)) == PQ3_OK)
        *p = *t;
    free(t);
    return err;
}

static void write_log_proof(pq3_writer *w, const pq3_merkle_proof *p)
{
    if (p->count > PQ3_MERKLE_MAX_PROOF) {
        w->err = PQ3_ERR_ARG;
        return;
    }
    pq3_write_u8(w, (uint8_t)p->count);
    for (size_t i = 0; i < p->count; i++)
        pq3_write_bytes(w, p->hash[i], PQ3_MERKLE_HASH_BYTES);
}

static const uint8_t zero_hash[PQ3_MAP_HASH_BYTES];

/* The map proof's encoding, refusing what pq3_map_proof_decode would
 * refuse (an end other than 0 or 1, a zero sibling), so that what is
 * written decodes. */
static void write_map_proof(pq3_writer *w, const pq3_map_proof *p)
{
    unsigned count = popcount32(p->bitmap);
    if (p->has_leaf != 0 && p->has_leaf != 1) {
        w->err = PQ3_ERR_ARG;
        return;
    }
    for (unsigned i = 0; i < count; i++)
        if (memcmp(p->siblings[i], zero_hash, PQ3_MAP_HASH_BYTES) == 0) {
            w->err = PQ3_ERR_ARG;
            return;
        }
    pq3_write_bytes(w, p->bitmap, sizeof p->bitmap);
    for (unsigned i = 0; i < count; i++)
        pq3_write_bytes(w, p->siblings[i], PQ3_MAP_HASH_BYTES);
    pq3_write_u8(w, (uint8_t)p->has_leaf);
    if (p->has_leaf) {
        pq3_write_bytes(w, p->leaf_key, PQ3_MAP_KEY_BYTES);
        pq3_write_bytes(w, p->leaf_value, PQ3_MAP_VALUE_BYTES);
    }
}

pq3_err pq3_kt_proof_encode(uint8_t *out, size_t cap, size_t *len, const pq3_kt_proof *p)
{
    pq3_writer w;
    size_t n = 0;
    pq3_err err;

    if (len != NULL)
        *len = 0;
    if (len == NULL || p == NULL || (out == NULL && cap > 0) || p->checkpoint == NULL ||
        p->checkpoint_len == 0 || (p->promise == NULL && p->promise_len > 0))
        return PQ3_ERR_ARG;
    pq3_writer_init(&w, out, cap);
    pq3_write_vec16(&w, p->checkpoint, p->checkpoint_len, PQ3_KT_NOTE_MAX);
    pq3_write_u64(&w, p->time);
    pq3_write_bytes(&w, p->map_root, sizeof p->map_root);
    write_log_proof(&w, &p->inclusion);
    write_log_proof(&w, &p->consistency);
    pq3_write_u64(&w, p->v);
    pq3_write_bytes(&w, p->vrf_proof, sizeof p->vrf_proof);
    write_map_proof(&w, &p->member);
    pq3_write_bytes(&w, p->vrf_proof_next, sizeof p->vrf_proof_next);
    write_map_proof(&w, &p->next);
    pq3_write_vec16(&w, p->promise, p->promise_len, PQ3_KT_NOTE_MAX);
    err = pq3_writer_end(&w, &n);
    if (err == PQ3_OK || err == PQ3_ERR_BUFFER)
        *len = n;
    return err;
}

/* ---- §5.1: the server builds the proof ---------------------------------------------- */

pq3_err pq3_kt_proof_build(uint8_t *out, size_t cap, size_t *len, const uint8_t *checkpoint,
                           size_t checkpoint_len, uint64_t epoch_time,
                           const uint8_t map_root[PQ3_MAP_HASH_BYTES], const uint8_t *leaf_hashes,
                           uint64_t size, uint64_t pinned, const pq3_map *map,
                           const uint8_t vrf_sk[PQ3_VRF_SK_BYTES], const uint8_t *h, size_t h_len,
                           uint64_t v, const uint8_t *promise, size_t promise_len)
{
    pq3_kt_proof *p = NULL;
    pq3_note note;
    pq3_checkpoint cp;
    uint8_t root_now[PQ3_MAP_HASH_BYTES], lh[PQ3_MERKLE_HASH_BYTES], key[PQ3_KT_KEY_BYTES];
    pq3_err err;

    if (len != NULL)
        *len = 0;
    if (len == NULL || (out == NULL && cap > 0) || checkpoint == NULL || checkpoint_len == 0 ||
        checkpoint_len > PQ3_KT_NOTE_MAX || map_root == NULL || leaf_hashes == NULL ||
        size == 0 || pinned > size || map == NULL || vrf_sk == NULL || !handle_ok(h, h_len) ||
        v == UINT64_MAX || (promise == NULL && promise_len > 0) ||
        promise_len > PQ3_KT_NOTE_MAX)
        return PQ3_ERR_ARG;

    /* The server's state must be the checkpoint's: the map at map_root, the
     * note (parsed, not verified: it is the server's own) of this size. */
    if ((err = pq3_map_root(map, root_now)) != PQ3_OK)
        return err;
    if (memcmp(root_now, map_root, sizeof root_now) != 0)
        return PQ3_ERR_STATE;
    if (pq3_note_parse(&note, checkpoint, checkpoint_len) != PQ3_OK ||
        pq3_checkpoint_parse(&cp, note.text, note.text_len) != PQ3_OK || cp.size != size)
        return PQ3_ERR_STATE;

    if ((p = malloc(sizeof *p)) == NULL)
        return PQ3_ERR_NOMEM;
    memset(p, 0, sizeof *p);
    p->checkpoint = checkpoint;
    p->checkpoint_len = checkpoint_len;
    p->time = epoch_time;
    memcpy(p->map_root, map_root, sizeof p->map_root);

    /* leaf(size - 1) in the checkpoint's tree, checked before it leaves. */
    if ((err = pq3_merkle_inclusion_prove(&p->inclusion, leaf_hashes, size, size - 1)) != PQ3_OK ||
        (err = pq3_kt_leaf_hash(lh, size - 1, epoch_time, map_root)) != PQ3_OK)
        goto cleanup;
    err = pq3_merkle_inclusion_verify(cp.root, size, size - 1, lh, &p->inclusion);
    if (err != PQ3_OK) {
        err = err == PQ3_ERR_VERIFY ? PQ3_ERR_STATE : err;
        goto cleanup;
    }
    /* From the client's pin; none when it has none or is up to date. */
    if (pinned > 0 && pinned < size &&
        (err = pq3_merkle_consistency_prove(&p->consistency, leaf_hashes, pinned, size)) !=
            PQ3_OK)
        goto cleanup;

    /* The record and the next version's absence. */
    p->v = v;
    if ((err = pq3_kt_key_prove(key, p->vrf_proof, vrf_sk, h, h_len, v)) != PQ3_OK ||
        (err = pq3_map_prove(map, key, &p->member)) != PQ3_OK ||
        (err = pq3_kt_key_prove(key, p->vrf_proof_next, vrf_sk, h, h_len, v + 1)) != PQ3_OK ||
        (err = pq3_map_prove(map, key, &p->next)) != PQ3_OK)
        goto cleanup;
    p->promise = promise_len > 0 ? promise : NULL;
    p->promise_len = promise_len;
    err = pq3_kt_proof_encode(out, cap, len, p);

cleanup:
    free(p);
    return err;
}

/* ---- §5.2: the client's checks --------------------------------------------------------- */

static const char *const reason_text[PQ3_KT_REASON_COUNT] = {
    [PQ3_KT_OK] = "checked against the log",
    [PQ3_KT_PROMISED] = "pending: promised by the log, not in it yet",
    [PQ3_KT_NOT_CHECKED] = "not checked against the log",
    [PQ3_KT_ERROR] = "could not check against the log",
    [PQ3_KT_MALFORMED] = "malformed transparency proof",
    [PQ3_KT_NOT_SIGNED] = "checkpoint not signed",
    [PQ3_KT_WRONG_ORIGIN] = "checkpoint of another log",
    [PQ3_KT_WITNESSES] = "too few witness cosignatures",
    [PQ3_KT_SPLIT_VIEW] = "the log forked or went back",
    [PQ3_KT_EPOCH_NOT_IN_LOG] = "epoch not in the log",
    [PQ3_KT_MMD_TOO_LONG] = "the log's MMD is over this client's limit",
    [PQ3_KT_STALE] = "stale checkpoint",
    [PQ3_KT_FUTURE] = "checkpoint from the future",
    [PQ3_KT_WRONG_VERSION] = "the record is not in the log (the proof is for another version)",
    [PQ3_KT_BAD_VRF] = "the record is not in the log (wrong VRF proof)",
    [PQ3_KT_NOT_IN_MAP] = "the record is not in the log",
    [PQ3_KT_NOT_LATEST] = "the record is not the latest in the log",
    [PQ3_KT_BAD_PROMISE] = "the record is not in the log (its promise is not valid)",
    [PQ3_KT_PROMISE_EXPIRED] = "the record is not in the log after its promised deadline",
};

const char *pq3_kt_reason_text(pq3_kt_reason reason)
{
    if ((unsigned)reason >= PQ3_KT_REASON_COUNT)
        return "unknown reason";
    return reason_text[reason];
}

/* A refusal with its reason: PQ3_ERR_DECODE for a malformed proof,
 * PQ3_ERR_VERIFY for any check that failed. */
static pq3_err refuse(pq3_kt_lookup *res, pq3_kt_reason reason)
{
    res->status = PQ3_KT_REFUSED;
    res->reason = reason;
    return reason == PQ3_KT_MALFORMED ? PQ3_ERR_DECODE : PQ3_ERR_VERIFY;
}

/* A failure that is not the proof's: the system's or the caller's. */
static pq3_err broken(pq3_kt_lookup *res, pq3_err err)
{
    res->status = PQ3_KT_REFUSED;
    res->reason = PQ3_KT_ERROR;
    return err;
}

static pq3_err config_ok(const pq3_kt_config *cfg)
{
    char origin[PQ3_CHECKPOINT_ORIGIN_MAX + 1];
    size_t n;
    pq3_err err;

    if ((err = make_origin(origin, &n, cfg->server_name)) != PQ3_OK)
        return PQ3_ERR_ARG;
    if (cfg->log_key.type != PQ3_NOTE_TYPE_ED25519 ||
        !pq3_note_name_valid(cfg->log_key.name, strnlen(cfg->log_key.name,
                                                        sizeof cfg->log_key.name)) ||
        (cfg->n_witnesses > 0 && cfg->witnesses == NULL) ||
        cfg->witness_threshold > cfg->n_witnesses || cfg->mmd_max == 0)
        return PQ3_ERR_ARG;
    /* The pinned VRF key is the caller's: checked here, so that a key that
     * is not a curve point is the caller's PQ3_ERR_ARG whatever the proof,
     * and a failure at step 5 is always the proof's. */
    {
        uint8_t point[PQ3_P256_POINT_BYTES];
        err = pq3_p256_import_compressed(point, cfg->vrf_pub);
        if (err != PQ3_OK)
            return pq3_err_is_system(err) ? err : PQ3_ERR_ARG;
    }
    for (size_t i = 0; i < cfg->n_witnesses; i++) {
        if (cfg->witnesses[i].type != PQ3_NOTE_TYPE_COSIGNATURE ||
            !pq3_note_name_valid(cfg->witnesses[i].name,
                                 strnlen(cfg->witnesses[i].name, sizeof cfg->witnesses[i].name)))
            return PQ3_ERR_ARG;
        for (size_t j = 0; j < i; j++)
            if (cfg->witnesses[j].key_id == cfg->witnesses[i].key_id &&
                strcmp(cfg->witnesses[j].name, cfg->witnesses[i].name) == 0)
                return PQ3_ERR_ARG;
    }
    return PQ3_OK;
}

/* Maps an error of a check on the proof: a system failure passes through,
 * PQ3_ERR_ARG and PQ3_ERR_KEY are the caller's (a pinned key that is not
 * one), anything else is the check failing. */
static pq3_err check_failed(pq3_kt_lookup *res, pq3_err err, pq3_kt_reason reason)
{
    if (pq3_err_is_system(err))
        return broken(res, err);
    if (err == PQ3_ERR_ARG || err == PQ3_ERR_KEY)
        return broken(res, PQ3_ERR_ARG);
    return refuse(res, reason);
}

static pq3_err verify_steps(pq3_kt_lookup *res, pq3_kt_pin *pin, const pq3_kt_config *cfg,
                            const pq3_kt_proof *p, const uint8_t *h, size_t h_len, uint64_t now)
{
    pq3_note note;
    pq3_kt_checkpoint cp;
    pq3_kt_promise promise;
    uint8_t lh[PQ3_MERKLE_HASH_BYTES], key[PQ3_KT_KEY_BYTES], key_next[PQ3_KT_KEY_BYTES];
    uint64_t window;
    size_t count = 0;
    int have_promise = 0;
    pq3_err err;

    memset(&promise, 0, sizeof promise);
    /* 1. The log's signature, the origin, the witnesses. */
    if ((err = pq3_note_open(&note, p->checkpoint, p->checkpoint_len, &cfg->log_key, 1)) !=
        PQ3_OK)
        return check_failed(res, err, PQ3_KT_NOT_SIGNED);
    err = pq3_kt_checkpoint_parse(&cp, note.text, note.text_len, cfg->server_name);
    if (err == PQ3_ERR_UNKNOWN)
        return refuse(res, PQ3_KT_WRONG_ORIGIN);
    if (err != PQ3_OK)
        return check_failed(res, err, PQ3_KT_MALFORMED);
    res->size = cp.size;
    memcpy(res->root, cp.root, sizeof res->root);
    res->mmd = cp.mmd;
    if (cfg->n_witnesses > 0) {
        /* A configured witness's line that does not verify rejects the
         * whole note (pq3_note_cosignatures): it counts as none. */
        err = pq3_note_cosignatures(&note, cfg->witnesses, cfg->n_witnesses, NULL, &count);
        if (pq3_err_is_system(err) || err == PQ3_ERR_ARG)
            return broken(res, err);
        if (err != PQ3_OK)
            count = 0;
    }
    res->witnesses = count;
    if (count < cfg->witness_threshold)
        return refuse(res, PQ3_KT_WITNESSES);

    /* 2. Never back, never sideways: consistent with the pin. */
    if (pin->size == 0) {
        if (p->consistency.count != 0)
            return refuse(res, PQ3_KT_MALFORMED);
    } else if (cp.size < pin->size) {
        return refuse(res, PQ3_KT_SPLIT_VIEW);
    } else if ((err = pq3_merkle_consistency_verify(pin->size, cp.size, pin->root, cp.root,
                                                    &p->consistency)) != PQ3_OK) {
        return check_failed(res, err, PQ3_KT_SPLIT_VIEW);
    }

    /* 3. The epoch's leaf is the checkpoint's last. */
    if (cp.size == 0)
        return refuse(res, PQ3_KT_EPOCH_NOT_IN_LOG);
    if ((err = pq3_kt_leaf_hash(lh, cp.size - 1, p->time, p->map_root)) != PQ3_OK)
        return broken(res, err);
    if ((err = pq3_merkle_inclusion_verify(cp.root, cp.size, cp.size - 1, lh, &p->inclusion)) !=
        PQ3_OK)
        return check_failed(res, err, PQ3_KT_EPOCH_NOT_IN_LOG);
    res->epoch_time = p->time;
    memcpy(res->map_root, p->map_root, sizeof res->map_root);

    /* 4. Fresh: within 3 MMD of this clock, either way. */
    if (cp.mmd > cfg->mmd_max)
        return refuse(res, PQ3_KT_MMD_TOO_LONG);
    window = window_of(cp.mmd);
    if (now > sat_add(p->time, window))
        return refuse(res, PQ3_KT_STALE);
    if (p->time > sat_add(now, window))
        return refuse(res, PQ3_KT_FUTURE);

    /* 5. The record: its version, its key, its place in the map. */
    if (p->v != res->version || p->v == UINT64_MAX)
        return refuse(res, PQ3_KT_WRONG_VERSION);
    if ((err = pq3_kt_key_verify(key, cfg->vrf_pub, h, h_len, p->v, p->vrf_proof)) != PQ3_OK ||
        (err = pq3_kt_key_verify(key_next, cfg->vrf_pub, h, h_len, p->v + 1,
                                 p->vrf_proof_next)) != PQ3_OK)
        return check_failed(res, err, PQ3_KT_BAD_VRF);
    if (p->promise_len > 0) {
        /* Whatever the map shows, a promise carried is a promise checked. */
        err = pq3_kt_promise_open(&promise, p->promise, p->promise_len, &cfg->log_key);
        if (err != PQ3_OK)
            return check_failed(res, err, PQ3_KT_BAD_PROMISE);
        if (promise.h_len != h_len || memcmp(promise.h, h, h_len) != 0 ||
            promise.v != p->v || memcmp(promise.value, res->value, VB) != 0)
            return refuse(res, PQ3_KT_BAD_PROMISE);
        have_promise = 1;
    }
    if ((err = pq3_map_verify_absent(p->map_root, key_next, &p->next)) != PQ3_OK)
        return check_failed(res, err, PQ3_KT_NOT_LATEST);
    err = pq3_map_verify_member(p->map_root, key, res->value, &p->member);
    if (err == PQ3_OK) {
        res->status = PQ3_KT_ACCEPTED;
        res->reason = PQ3_KT_OK;
    } else {
        if (err != PQ3_ERR_VERIFY)
            return check_failed(res, err, PQ3_KT_NOT_IN_MAP);
        /* Not in this epoch: only a proven absence can be pending (a key
         * never changes its value, so a record the map holds otherwise
         * can never arrive). */
        if ((err = pq3_map_verify_absent(p->map_root, key, &p->member)) != PQ3_OK)
            return check_failed(res, err, PQ3_KT_NOT_IN_MAP);
        if (!have_promise)
            return refuse(res, PQ3_KT_NOT_IN_MAP);
        /* §3: a record accepted at t is in an epoch published before
         * t + MMD, the deadline; an epoch at or after it without the
         * record shows the promise broken. */
        if (promise.deadline <= p->time || now > promise.deadline)
            return refuse(res, PQ3_KT_PROMISE_EXPIRED);
        if (promise.deadline > sat_add(now, window))
            return refuse(res, PQ3_KT_BAD_PROMISE);
        res->status = PQ3_KT_PENDING;
        res->reason = PQ3_KT_PROMISED;
        res->deadline = promise.deadline;
    }
    /* 6. Pin what was verified. */
    pin->size = cp.size;
    memcpy(pin->root, cp.root, sizeof pin->root);
    return PQ3_OK;
}

pq3_err pq3_kt_verify_lookup(pq3_kt_lookup *res, pq3_kt_pin *new_pin, const pq3_kt_config *cfg,
                             const pq3_kt_pin *pinned, const uint8_t *proof, size_t proof_len,
                             const uint8_t *h, size_t h_len, const uint8_t account_pub[PUB],
                             const uint8_t *list, size_t list_len, uint64_t version,
                             uint64_t now)
{
    pq3_kt_proof *p;
    pq3_kt_pin pin;
    pq3_err err;

    if (res == NULL)
        return PQ3_ERR_ARG;
    memset(res, 0, sizeof *res);
    res->status = PQ3_KT_REFUSED;
    res->reason = PQ3_KT_ERROR;
    if (new_pin == NULL || cfg == NULL || pinned == NULL || (proof == NULL && proof_len > 0) ||
        !handle_ok(h, h_len) || account_pub == NULL || (list == NULL && list_len > 0) ||
        list_len > PQ3_KT_LIST_MAX)
        return PQ3_ERR_ARG;
    if ((err = config_ok(cfg)) != PQ3_OK)
        return err;
    pin = *pinned;
    res->witnesses_needed = cfg->witness_threshold;
    memcpy(res->h, h, h_len);
    res->h_len = h_len;
    memcpy(res->account_pub, account_pub, PUB);
    res->version = version;
    /* The commitment the client computes itself (§5.2 step 5). */
    if ((err = pq3_kt_value(res->value, h, h_len, account_pub, version, list, list_len)) !=
        PQ3_OK)
        return broken(res, err);

    if ((p = malloc(sizeof *p)) == NULL)
        return broken(res, PQ3_ERR_NOMEM);
    /* 0. Strictly decoded before anything is looked at. */
    err = pq3_kt_proof_decode(p, proof, proof_len);
    if (err == PQ3_ERR_DECODE)
        err = refuse(res, PQ3_KT_MALFORMED);
    else if (err != PQ3_OK)
        err = broken(res, err);
    else if ((err = verify_steps(res, &pin, cfg, p, h, h_len, now)) == PQ3_OK)
        *new_pin = pin;
    free(p);
    return err;
}

pq3_err pq3_kt_lookup_text(char out[PQ3_KT_TEXT_MAX], const pq3_kt_lookup *r)
{
    if (out == NULL)
        return PQ3_ERR_ARG;
    out[0] = '\0';
    if (r == NULL)
        return PQ3_ERR_ARG;
    if (r->reason == PQ3_KT_WITNESSES)
        snprintf(out, PQ3_KT_TEXT_MAX, "only %zu of %zu witnesses", r->witnesses,
                 r->witnesses_needed);
    else if (r->reason == PQ3_KT_PROMISED)
        snprintf(out, PQ3_KT_TEXT_MAX, "%s (deadline %llu)", pq3_kt_reason_text(r->reason),
                 (unsigned long long)r->deadline);
    else
        snprintf(out, PQ3_KT_TEXT_MAX, "%s", pq3_kt_reason_text(r->reason));
    return PQ3_OK;
}

/* ---- §5.3: owner monitoring --------------------------------------------------------------- */

pq3_err pq3_kt_monitor(pq3_kt_alert *alert, char text[PQ3_KT_TEXT_MAX], uint8_t *settled,
                       const pq3_kt_lookup *seen, const uint8_t *h, size_t h_len,
                       const uint8_t my_account_pub[PUB], const uint8_t *my_list,
                       size_t my_list_len, uint64_t my_version, const pq3_kt_promise *promises,
                       size_t n_promises, uint64_t now)
{
    uint8_t mine[VB];
    pq3_kt_alert a = PQ3_KT_ALERT_NONE;
    uint64_t missing = 0;
    int covered = 0;
    pq3_err err;

    if (alert == NULL || text == NULL || seen == NULL || !handle_ok(h, h_len) ||
        my_account_pub == NULL || (my_list == NULL && my_list_len > 0) ||
        (promises == NULL && n_promises > 0) ||
        (seen->status != PQ3_KT_ACCEPTED && seen->status != PQ3_KT_PENDING) ||
        seen->h_len != h_len || memcmp(seen->h, h, h_len) != 0)
        return PQ3_ERR_ARG;
    for (size_t i = 0; i < n_promises; i++)
        if (promises[i].h_len != h_len || memcmp(promises[i].h, h, h_len) != 0)
            return PQ3_ERR_ARG;
    if ((err = pq3_kt_value(mine, h, h_len, my_account_pub, my_version, my_list, my_list_len)) !=
        PQ3_OK)
        return err;

    /* TRANSPARENCY.md §5.3, in order. */
    if (memcmp(seen->account_pub, my_account_pub, PUB) != 0) {
        a = PQ3_KT_ALERT_FOREIGN_KEY;
    } else if (seen->version > my_version ||
               (seen->version == my_version && memcmp(seen->value, mine, VB) != 0)) {
        a = PQ3_KT_ALERT_UNKNOWN_VERSION;
    } else {
        for (size_t i = 0; i < n_promises && a == PQ3_KT_ALERT_NONE; i++) {
            const pq3_kt_promise *q = &promises[i];
            int shown = seen->status == PQ3_KT_ACCEPTED && q->v == seen->version &&
                        memcmp(q->value, seen->value, VB) == 0;
            if (q->v >= seen->version && !shown && now > q->deadline) {
                a = PQ3_KT_ALERT_PROMISE_MISSING;
                missing = q->v;
            }
            if (q->v > seen->version && q->v <= my_version && now <= q->deadline)
                covered = 1;
        }
        if (a == PQ3_KT_ALERT_NONE && seen->version < my_version && !covered)
            a = PQ3_KT_ALERT_OLD_VERSION;
    }

    switch (a) {
    case PQ3_KT_ALERT_FOREIGN_KEY: {
        char hex[2 * PUB + 1];
        for (size_t i = 0; i < PUB; i++) {
            hex[2 * i] = hex_digits[seen->account_pub[i] >> 4];
            hex[2 * i + 1] = hex_digits[seen->account_pub[i] & 15];
        }
        hex[2 * PUB] = '\0';
        snprintf(text, PQ3_KT_TEXT_MAX, "the log shows account key %s for this handle", hex);
        break;
    }
    case PQ3_KT_ALERT_UNKNOWN_VERSION:
        snprintf(text, PQ3_KT_TEXT_MAX,
                 "the log shows device-list version %llu that this account did not make",
                 (unsigned long long)seen->version);
        break;
    case PQ3_KT_ALERT_PROMISE_MISSING:
        snprintf(text, PQ3_KT_TEXT_MAX,
                 "a promised record is missing after its deadline (version %llu)",
                 (unsigned long long)missing);
        break;
    case PQ3_KT_ALERT_OLD_VERSION:
        snprintf(text, PQ3_KT_TEXT_MAX,
                 "the log shows device-list version %llu, not this account's latest %llu",
                 (unsigned long long)seen->version, (unsigned long long)my_version);
        break;
    default:
        snprintf(text, PQ3_KT_TEXT_MAX, "the log shows this account's own records");
        break;
    }
    if (settled != NULL)
        for (size_t i = 0; i < n_promises; i++)
            settled[i] = (uint8_t)(promises[i].v < seen->version ||
                                   (seen->status == PQ3_KT_ACCEPTED &&
                                    promises[i].v == seen->version &&
                                    memcmp(promises[i].value, seen->value, VB) == 0));
    *alert = a;
    return PQ3_OK;
}

/* ---- §9: verification codes ------------------------------------------------------------------ */

/* Byte-wise lexicographic order of two byte strings, a prefix first. */
static int lex_less(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;
    int c = memcmp(a, b, n);
    return c < 0 || (c == 0 && a_len < b_len);
}

pq3_err pq3_kt_verification_code(char out[PQ3_KT_CODE_BYTES], const uint8_t *handle_a,
                                 size_t a_len, const uint8_t pub_a[PUB], const uint8_t *handle_b,
                                 size_t b_len, const uint8_t pub_b[PUB])
{
    uint8_t a[1 + PQ3_KT_HANDLE_MAX + PUB], b[1 + PQ3_KT_HANDLE_MAX + PUB], d[HB];
    size_t an, bn;
    uint32_t groups[12];
    pq3_iov parts[3];
    pq3_err err;

    if (out == NULL)
        return PQ3_ERR_ARG;
    if (!handle_ok(handle_a, a_len) || !handle_ok(handle_b, b_len) || pub_a == NULL ||
        pub_b == NULL) {
        pq3_wipe(out, PQ3_KT_CODE_BYTES);
        return PQ3_ERR_ARG;
    }
    /* TRANSPARENCY.md §9: A, B = vec8(handle) || account_pub */
    a[0] = (uint8_t)a_len;
    memcpy(a + 1, handle_a, a_len);
    memcpy(a + 1 + a_len, pub_a, PUB);
    an = 1 + a_len + PUB;
    b[0] = (uint8_t)b_len;
    memcpy(b + 1, handle_b, b_len);
    memcpy(b + 1 + b_len, pub_b, PUB);
    bn = 1 + b_len + PUB;
    parts[0] = (pq3_iov){ (const uint8_t *)CODE_LABEL, LABEL_LEN(CODE_LABEL) };
    if (lex_less(b, bn, a, an)) {
        parts[1] = (pq3_iov){ b, bn };
        parts[2] = (pq3_iov){ a, an };
    } else {
        parts[1] = (pq3_iov){ a, an };
        parts[2] = (pq3_iov){ b, bn };
    }
    if ((err = pq3_sha256_iov(d, parts, 3)) != PQ3_OK) {
        pq3_wipe(out, PQ3_KT_CODE_BYTES);
        return err;
    }
    /* TRANSPARENCY.md §9: d as a 256-bit big-endian integer modulo 10^60
     * (2^256 > 10^77, so the bias is below 10^-17), twelve long divisions by
     * 10^5, the remainders the groups from the least significant up. A
     * quotient byte is below 256 because the remainder is below 10^5 and
     * (10^5 - 1) x 256 + 255 < 256 x 10^5. */
    for (int g = 11; g >= 0; g--) {
        uint32_t rem = 0;
        for (size_t i = 0; i < HB; i++) {
            uint32_t cur = rem << 8 | d[i];
            d[i] = (uint8_t)(cur / 100000u);
            rem = cur % 100000u;
        }
        groups[g] = rem;
    }
    for (int g = 0; g < 12; g++) {
        uint32_t x = groups[g];
        for (int k = 4; k >= 0; k--, x /= 10)
            out[g * 6 + k] = (char)('0' + x % 10);
        out[g * 6 + 5] = g == 11 ? '\0' : ' ';
    }
    return PQ3_OK;
}
