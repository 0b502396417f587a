/*
 * C2SP signed notes (signed-note.md), checkpoints (tlog-checkpoint.md) and
 * cosignatures (tlog-cosignature.md, cosignature/v1), with Ed25519 through
 * OpenSSL's EVP interface. See include/pq3/note.h.
 *
 * Parsing is written for hostile input: every length is bounded before it
 * is used, the text is checked to be UTF-8 without control characters once,
 * up front, and every field must be in its one canonical form.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/ct.h"
#include "crypto/md.h"
#include "pq3/note.h"
#include "protocol/codec.h"
#include "transparency/base64.h"

#define EM_DASH "\xe2\x80\x94" /* U+2014 */
#define SIG_PREFIX EM_DASH " "
#define SIG_PREFIX_LEN 4
#define COSIG_HEADER "cosignature/v1\ntime "
#define COSIG_HEADER_LEN (sizeof COSIG_HEADER - 1)
#define KEY_ID_BYTES 4
#define TS_BYTES 8
#define MAX_PAYLOAD (KEY_ID_BYTES + TS_BYTES + PQ3_NOTE_SIG_BYTES) /* the longest we make */
#define VKEY_KEY_B64 44 /* base64 of type || 32-byte key */

/* ---- text ---------------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at p[0..n) (n >= 1): its length, with the code
 * point in *cp, or 0 when it is not well formed (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint32_t c = p[0], min;
    size_t len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* signed-note "Format": valid UTF-8 and no ASCII control character other
 * than newline. */
static int text_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = utf8_next(p + i, n - i, &cp);
        if (l == 0 || (cp < 0x20 && cp != '\n'))
            return 0;
        i += l;
    }
    return 1;
}

/* Go's unicode.IsSpace set, which is what "Unicode spaces" means for the
 * reference implementation: White_Space characters of Latin-1, and the
 * separators Zs, Zl, Zp. */
static int is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int pq3_note_name_valid(const char *name, size_t len)
{
    const uint8_t *p = (const uint8_t *)name;
    size_t i = 0;

    if (name == NULL || len == 0 || len > PQ3_NOTE_NAME_MAX)
        return 0;
    while (i < len) {
        uint32_t cp;
        size_t l = utf8_next(p + i, len - i, &cp);
        /* signed-note "Format": no spaces, no '+'; and no control character,
         * which the note around the name could not contain anyway. */
        if (l == 0 || cp < 0x20 || cp == '+' || is_space(cp))
            return 0;
        i += l;
    }
    return 1;
}

/* The length of a NUL-terminated name if it is valid, else 0. */
static size_t name_len_valid(const char *name)
{
    size_t len;
    if (name == NULL)
        return 0;
    len = strnlen(name, PQ3_NOTE_NAME_MAX + 1);
    return pq3_note_name_valid(name, len) ? len : 0;
}

static int type_supported(uint8_t type)
{
    return type == PQ3_NOTE_TYPE_ED25519 || type == PQ3_NOTE_TYPE_COSIGNATURE;
}

/* Decimal digits of v, without leading zeros, into buf; returns their
 * number (1..20). */
static size_t u64_to_dec(char buf[20], uint64_t v)
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

/* Parses p[0..n) as a decimal uint64 with no leading zeros ("0" alone is
 * zero). Returns 1 on success. */
static int dec_to_u64(uint64_t *out, const uint8_t *p, size_t n)
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

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* ---- Ed25519 (RFC 8032) through EVP ------------------------------------------- */

static pq3_err ed25519_public(uint8_t pub[PQ3_NOTE_PUB_BYTES],
                              const uint8_t seed[PQ3_NOTE_SEED_BYTES])
{
    EVP_PKEY *key;
    size_t n = PQ3_NOTE_PUB_BYTES;
    pq3_err err = PQ3_ERR_CRYPTO;

    ERR_set_mark();
    key = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, PQ3_NOTE_SEED_BYTES);
    if (key != NULL && EVP_PKEY_get_raw_public_key(key, pub, &n) == 1 &&
        n == PQ3_NOTE_PUB_BYTES) {
        pq3_ct_declassify(pub, PQ3_NOTE_PUB_BYTES); /* the public key */
        err = PQ3_OK;
    }
    EVP_PKEY_free(key); /* OpenSSL clears the private key as it frees it */
    ERR_pop_to_mark();
    return err;
}

static pq3_err ed25519_sign(uint8_t sig[PQ3_NOTE_SIG_BYTES], const uint8_t seed[PQ3_NOTE_SEED_BYTES],
                            const uint8_t *msg, size_t len)
{
    EVP_PKEY *key;
    EVP_MD_CTX *ctx = NULL;
    size_t n = PQ3_NOTE_SIG_BYTES;
    pq3_err err = PQ3_ERR_CRYPTO;

    ERR_set_mark();
    key = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, PQ3_NOTE_SEED_BYTES);
    if (key != NULL && (ctx = EVP_MD_CTX_new()) != NULL &&
        EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, key, NULL) == 1 &&
        EVP_DigestSign(ctx, sig, &n, msg, len) == 1 && n == PQ3_NOTE_SIG_BYTES) {
        pq3_ct_declassify(sig, PQ3_NOTE_SIG_BYTES); /* published */
        err = PQ3_OK;
    }
    if (err != PQ3_OK)
        pq3_wipe(sig, PQ3_NOTE_SIG_BYTES);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    ERR_pop_to_mark();
    return err;
}

/* PQ3_OK, or PQ3_ERR_VERIFY for a bad signature (including a public key
 * that is no curve point, which OpenSSL reports at verification). */
static pq3_err ed25519_verify(const uint8_t pub[PQ3_NOTE_PUB_BYTES],
                              const uint8_t sig[PQ3_NOTE_SIG_BYTES], const uint8_t *msg,
                              size_t len)
{
    EVP_PKEY *key;
    EVP_MD_CTX *ctx = NULL;
    pq3_err err = PQ3_ERR_CRYPTO;

    ERR_set_mark();
    key = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, PQ3_NOTE_PUB_BYTES);
    if (key != NULL && (ctx = EVP_MD_CTX_new()) != NULL &&
        EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, key, NULL) == 1)
        err = EVP_DigestVerify(ctx, sig, PQ3_NOTE_SIG_BYTES, msg, len) == 1 ? PQ3_OK
                                                                             : PQ3_ERR_VERIFY;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    ERR_pop_to_mark();
    return err;
}

/* tlog-cosignature "Ed25519 signed message": "cosignature/v1\n", "time "
 * and the timestamp in decimal without leading zeros, "\n", then the note
 * text. Allocated; the caller frees it (public data). */
static pq3_err cosig_message(uint8_t **msg, size_t *msg_len, uint64_t ts, const uint8_t *text,
                             size_t text_len)
{
    char dec[20];
    size_t d = u64_to_dec(dec, ts), n = COSIG_HEADER_LEN + d + 1 + text_len;
    uint8_t *m = malloc(n);

    if (m == NULL)
        return PQ3_ERR_NOMEM;
    memcpy(m, COSIG_HEADER, COSIG_HEADER_LEN);
    memcpy(m + COSIG_HEADER_LEN, dec, d);
    m[COSIG_HEADER_LEN + d] = '\n';
    memcpy(m + COSIG_HEADER_LEN + d + 1, text, text_len);
    *msg = m;
    *msg_len = n;
    return PQ3_OK;
}

/* ---- key IDs and keys ---------------------------------------------------------- */

/* signed-note "Signatures": SHA-256(name || 0x0A || type || pub)[:4]. */
static pq3_err key_id(uint32_t *id, const char *name, size_t name_len, uint8_t type,
                      const uint8_t *pub, size_t pub_len)
{
    const EVP_MD *md = pq3_md_sha256();
    const uint8_t sep[2] = { 0x0A, type };
    uint8_t h[PQ3_SHA256_BYTES];
    EVP_MD_CTX *ctx;
    pq3_err err = PQ3_ERR_CRYPTO;

    if (md == NULL)
        return PQ3_ERR_CRYPTO;
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return PQ3_ERR_NOMEM;
    if (EVP_DigestInit_ex2(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, name, name_len) == 1 &&
        EVP_DigestUpdate(ctx, sep, 2) == 1 &&
        (pub_len == 0 || EVP_DigestUpdate(ctx, pub, pub_len) == 1) &&
        EVP_DigestFinal_ex(ctx, h, NULL) == 1) {
        *id = be32(h);
        err = PQ3_OK;
    }
    EVP_MD_CTX_free(ctx);
    return err;
}

pq3_err pq3_note_key_id(uint32_t *id, const char *name, uint8_t type, const uint8_t *pub,
                        size_t pub_len)
{
    size_t len = name_len_valid(name);
    if (id == NULL || len == 0 || (pub == NULL && pub_len != 0))
        return PQ3_ERR_ARG;
    return key_id(id, name, len, type, pub, pub_len);
}

pq3_err pq3_note_verifier_init(pq3_note_verifier *v, const char *name, uint8_t type,
                               const uint8_t pub[PQ3_NOTE_PUB_BYTES])
{
    size_t len;
    pq3_err err;

    if (v == NULL)
        return PQ3_ERR_ARG;
    memset(v, 0, sizeof *v);
    if (pub == NULL || (len = name_len_valid(name)) == 0)
        return PQ3_ERR_ARG;
    if (!type_supported(type))
        return PQ3_ERR_VERSION;
    memcpy(v->name, name, len);
    v->type = type;
    memcpy(v->pub, pub, PQ3_NOTE_PUB_BYTES);
    if ((err = key_id(&v->key_id, v->name, len, type, pub, PQ3_NOTE_PUB_BYTES)) != PQ3_OK)
        memset(v, 0, sizeof *v);
    return err;
}

static int hex_digit(char c)
{
    /* Lowercase only: the form verifier keys are written in. */
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

pq3_err pq3_note_verifier_parse(pq3_note_verifier *v, const char *vkey, size_t len)
{
    const char *plus;
    uint8_t key[1 + PQ3_NOTE_PUB_BYTES];
    size_t name_len, key_len = 0;
    uint32_t id = 0, want;
    pq3_err err;

    if (v == NULL)
        return PQ3_ERR_ARG;
    memset(v, 0, sizeof *v);
    if (vkey == NULL)
        return PQ3_ERR_ARG;
    if (len > PQ3_NOTE_VKEY_MAX)
        return PQ3_ERR_LIMIT;
    /* <name>+<hex id>+<base64>: names hold no '+', so the first one ends it
     * (the base64 part may contain '+'). */
    if ((plus = memchr(vkey, '+', len)) == NULL)
        return PQ3_ERR_DECODE;
    name_len = (size_t)(plus - vkey);
    if (!pq3_note_name_valid(vkey, name_len) || len - name_len < 1 + 8 + 1 ||
        vkey[name_len + 9] != '+')
        return PQ3_ERR_DECODE;
    for (size_t i = 0; i < 8; i++) {
        int d = hex_digit(vkey[name_len + 1 + i]);
        if (d < 0)
            return PQ3_ERR_DECODE;
        id = id << 4 | (uint32_t)d;
    }
    err = pq3_base64_decode(key, sizeof key, &key_len, vkey + name_len + 10, len - name_len - 10);
    if (err == PQ3_ERR_BUFFER)
        return PQ3_ERR_DECODE; /* a longer key: no type we support has one */
    if (err != PQ3_OK || key_len == 0)
        return PQ3_ERR_DECODE;
    if (!type_supported(key[0]))
        return PQ3_ERR_VERSION;
    if (key_len != sizeof key)
        return PQ3_ERR_DECODE;
    if ((err = key_id(&want, vkey, name_len, key[0], key + 1, PQ3_NOTE_PUB_BYTES)) != PQ3_OK)
        return err;
    if (want != id)
        return PQ3_ERR_DECODE;
    memcpy(v->name, vkey, name_len);
    v->type = key[0];
    v->key_id = id;
    memcpy(v->pub, key + 1, PQ3_NOTE_PUB_BYTES);
    return PQ3_OK;
}

/* A caller's verifier struct is usable: valid name, supported type. */
static size_t verifier_ok(const pq3_note_verifier *v)
{
    size_t len = strnlen(v->name, sizeof v->name);
    if (len == sizeof v->name || !pq3_note_name_valid(v->name, len) || !type_supported(v->type))
        return 0;
    return len;
}

pq3_err pq3_note_verifier_format(char *out, size_t cap, size_t *len, const pq3_note_verifier *v)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t key[1 + PQ3_NOTE_PUB_BYTES];
    size_t name_len, total;
    char *p;

    if (v == NULL || (name_len = verifier_ok(v)) == 0)
        return PQ3_ERR_ARG;
    total = name_len + 1 + 8 + 1 + VKEY_KEY_B64;
    if (len != NULL)
        *len = total;
    if (out == NULL || cap < total + 1)
        return out == NULL && cap != 0 ? PQ3_ERR_ARG : PQ3_ERR_BUFFER;
    p = out;
    memcpy(p, v->name, name_len);
    p += name_len;
    *p++ = '+';
    for (int i = 7; i >= 0; i--)
        *p++ = hex[(v->key_id >> (4 * i)) & 15];
    *p++ = '+';
    key[0] = v->type;
    memcpy(key + 1, v->pub, PQ3_NOTE_PUB_BYTES);
    pq3_base64_encode(p, key, sizeof key);
    p[VKEY_KEY_B64] = '\0';
    return PQ3_OK;
}

pq3_err pq3_note_signer_from_seed(pq3_note_signer *s, const char *name, uint8_t type,
                                  const uint8_t seed[PQ3_NOTE_SEED_BYTES])
{
    size_t len;
    pq3_err err;

    if (s == NULL)
        return PQ3_ERR_ARG;
    pq3_wipe(s, sizeof *s);
    if (seed == NULL || (len = name_len_valid(name)) == 0)
        return PQ3_ERR_ARG;
    if (!type_supported(type))
        return PQ3_ERR_VERSION;
    memcpy(s->name, name, len);
    s->type = type;
    if ((err = ed25519_public(s->pub, seed)) != PQ3_OK ||
        (err = key_id(&s->key_id, s->name, len, type, s->pub, PQ3_NOTE_PUB_BYTES)) != PQ3_OK) {
        pq3_wipe(s, sizeof *s);
        return err;
    }
    memcpy(s->seed, seed, PQ3_NOTE_SEED_BYTES);
    return PQ3_OK;
}

pq3_err pq3_note_signer_generate(pq3_note_signer *s, const char *name, uint8_t type,
                                 const pq3_rng *rng)
{
    uint8_t seed[PQ3_NOTE_SEED_BYTES];
    pq3_err err;

    if (s == NULL)
        return PQ3_ERR_ARG;
    pq3_wipe(s, sizeof *s);
    if (name_len_valid(name) == 0)
        return PQ3_ERR_ARG;
    if (!type_supported(type))
        return PQ3_ERR_VERSION;
    if ((err = pq3_random(rng, seed, sizeof seed)) == PQ3_OK)
        err = pq3_note_signer_from_seed(s, name, type, seed);
    pq3_wipe(seed, sizeof seed);
    return err;
}

void pq3_note_signer_verifier(pq3_note_verifier *v, const pq3_note_signer *s)
{
    if (v == NULL || s == NULL)
        return;
    memset(v, 0, sizeof *v);
    memcpy(v->name, s->name, sizeof v->name);
    v->name[PQ3_NOTE_NAME_MAX] = '\0';
    v->type = s->type;
    v->key_id = s->key_id;
    memcpy(v->pub, s->pub, PQ3_NOTE_PUB_BYTES);
}

void pq3_note_signer_wipe(pq3_note_signer *s)
{
    if (s != NULL)
        pq3_wipe(s, sizeof *s);
}

/* ---- signing ------------------------------------------------------------------- */

/* Bytes after the key ID in a line of this type. */
static size_t sig_len_of(uint8_t type)
{
    return type == PQ3_NOTE_TYPE_COSIGNATURE ? TS_BYTES + PQ3_NOTE_SIG_BYTES
                                             : PQ3_NOTE_SIG_BYTES;
}

/* The length of s's signature line: em dash, space, name, space, base64,
 * newline. */
static size_t line_len(const pq3_note_signer *s, size_t name_len)
{
    return SIG_PREFIX_LEN + name_len + 1 + pq3_base64_len(KEY_ID_BYTES + sig_len_of(s->type)) + 1;
}

/* Checks a caller's signer struct; returns its name length, or 0. */
static size_t signer_ok(const pq3_note_signer *s)
{
    size_t len = strnlen(s->name, sizeof s->name);
    if (len == sizeof s->name || !pq3_note_name_valid(s->name, len) || !type_supported(s->type))
        return 0;
    return len;
}

/* Signs and writes one signature line. */
static pq3_err write_line(pq3_writer *w, const pq3_note_signer *s, size_t name_len,
                          const uint8_t *text, size_t text_len, uint64_t ts)
{
    uint8_t payload[MAX_PAYLOAD];
    char b64[(MAX_PAYLOAD + 2) / 3 * 4];
    size_t plen = KEY_ID_BYTES + sig_len_of(s->type);
    pq3_err err;

    put_be32(payload, s->key_id);
    if (s->type == PQ3_NOTE_TYPE_COSIGNATURE) {
        uint8_t *msg;
        size_t msg_len;
        put_be64(payload + KEY_ID_BYTES, ts);
        if ((err = cosig_message(&msg, &msg_len, ts, text, text_len)) != PQ3_OK)
            return err;
        err = ed25519_sign(payload + KEY_ID_BYTES + TS_BYTES, s->seed, msg, msg_len);
        free(msg);
    } else {
        err = ed25519_sign(payload + KEY_ID_BYTES, s->seed, text, text_len);
    }
    if (err != PQ3_OK)
        return err;
    pq3_base64_encode(b64, payload, plen);
    pq3_write_bytes(w, (const uint8_t *)SIG_PREFIX, SIG_PREFIX_LEN);
    pq3_write_bytes(w, (const uint8_t *)s->name, name_len);
    pq3_write_u8(w, ' ');
    pq3_write_bytes(w, (const uint8_t *)b64, pq3_base64_len(plen));
    pq3_write_u8(w, '\n');
    return PQ3_OK;
}

/* The checks pq3_note_sign and pq3_note_signature_line share; sets *total
 * to the bytes of the lines (without text). */
static pq3_err sign_checks(size_t *total, const uint8_t *text, size_t text_len,
                           const pq3_note_signer *signers, size_t n, uint64_t timestamp)
{
    int cosigner = 0;

    if (text == NULL || signers == NULL || n == 0 || n > PQ3_NOTE_MAX_SIGS ||
        timestamp > PQ3_NOTE_TIME_MAX)
        return PQ3_ERR_ARG;
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = signer_ok(&signers[i]);
        if (len == 0)
            return PQ3_ERR_ARG;
        for (size_t j = 0; j < i; j++)
            if (signers[j].key_id == signers[i].key_id &&
                strcmp(signers[j].name, signers[i].name) == 0)
                return PQ3_ERR_ARG;
        cosigner |= signers[i].type == PQ3_NOTE_TYPE_COSIGNATURE;
        *total += line_len(&signers[i], len);
    }
    if (timestamp != 0 && !cosigner)
        return PQ3_ERR_ARG;
    /* signed-note "Format": a text ending in newline, UTF-8, no control
     * characters but newlines. */
    if (text_len == 0 || text[text_len - 1] != '\n' || !text_ok(text, text_len))
        return PQ3_ERR_DECODE;
    if (text_len > PQ3_NOTE_MAX_BYTES)
        return PQ3_ERR_LIMIT;
    return PQ3_OK;
}

static pq3_err sign_lines(uint8_t *out, size_t cap, size_t *len, const uint8_t *text,
                          size_t text_len, const pq3_note_signer *signers, size_t n,
                          uint64_t timestamp, int with_text)
{
    pq3_writer w;
    size_t lines, total;
    pq3_err err;

    if (len != NULL)
        *len = 0;
    if ((err = sign_checks(&lines, text, text_len, signers, n, timestamp)) != PQ3_OK)
        goto fail;
    total = lines + (with_text ? text_len + 1 : 0);
    if (total > PQ3_NOTE_MAX_BYTES) {
        err = PQ3_ERR_LIMIT;
        goto fail;
    }
    if (len != NULL)
        *len = total;
    if (out == NULL || cap < total) {
        err = out == NULL && cap != 0 ? PQ3_ERR_ARG : PQ3_ERR_BUFFER;
        goto fail;
    }
    pq3_writer_init(&w, out, cap);
    if (with_text) {
        pq3_write_bytes(&w, text, text_len);
        pq3_write_u8(&w, '\n');
    }
    for (size_t i = 0; i < n; i++)
        if ((err = write_line(&w, &signers[i], strlen(signers[i].name), text, text_len,
                              signers[i].type == PQ3_NOTE_TYPE_COSIGNATURE ? timestamp : 0)) !=
            PQ3_OK)
            goto fail;
    if ((err = pq3_writer_end(&w, &total)) == PQ3_OK)
        return PQ3_OK;

fail:
    if (out != NULL && err != PQ3_ERR_BUFFER)
        pq3_wipe(out, cap);
    return err;
}

pq3_err pq3_note_sign(uint8_t *out, size_t cap, size_t *len, const uint8_t *text,
                      size_t text_len, const pq3_note_signer *signers, size_t n,
                      uint64_t timestamp)
{
    return sign_lines(out, cap, len, text, text_len, signers, n, timestamp, 1);
}

pq3_err pq3_note_signature_line(uint8_t *out, size_t cap, size_t *len, const uint8_t *text,
                                size_t text_len, const pq3_note_signer *s, uint64_t timestamp)
{
    return sign_lines(out, cap, len, text, text_len, s, 1, timestamp, 0);
}

/* ---- parsing -------------------------------------------------------------------- */

/* One signature line line[0..n) without its newline (signed-note
 * "Format"): em dash, space, name, space, base64(key ID || signature). */
static pq3_err parse_line(pq3_note_sig *s, const uint8_t *line, size_t n)
{
    const uint8_t *sp;
    uint8_t head[6];
    size_t payload_len = 0;

    if (n < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0)
        return PQ3_ERR_DECODE;
    line += SIG_PREFIX_LEN;
    n -= SIG_PREFIX_LEN;
    /* The name holds no space, so the first space ends it. */
    if ((sp = memchr(line, ' ', n)) == NULL)
        return PQ3_ERR_DECODE;
    s->name = (const char *)line;
    s->name_len = (size_t)(sp - line);
    s->b64 = (const char *)sp + 1;
    s->b64_len = n - s->name_len - 1;
    if (!pq3_note_name_valid(s->name, s->name_len))
        return PQ3_ERR_DECODE;
    /* The whole base64 must be canonical; at least a key ID and one byte of
     * signature. The first 8 characters are a complete unpadded group pair
     * and decode alone to the first 6 bytes. */
    if (pq3_base64_decode(NULL, 0, &payload_len, s->b64, s->b64_len) != PQ3_OK ||
        payload_len < KEY_ID_BYTES + 1 ||
        pq3_base64_decode(head, sizeof head, NULL, s->b64, 8) != PQ3_OK)
        return PQ3_ERR_DECODE;
    s->key_id = be32(head);
    s->sig_len = payload_len - KEY_ID_BYTES;
    return PQ3_OK;
}

static int same_key(const pq3_note_sig *a, const pq3_note_sig *b)
{
    return a->key_id == b->key_id && a->name_len == b->name_len &&
           memcmp(a->name, b->name, a->name_len) == 0;
}

pq3_err pq3_note_parse(pq3_note *n, const uint8_t *msg, size_t len)
{
    size_t split, i;
    pq3_err err = PQ3_ERR_DECODE;

    if (n == NULL)
        return PQ3_ERR_ARG;
    memset(n, 0, sizeof *n);
    if (msg == NULL)
        return PQ3_ERR_ARG;
    if (len > PQ3_NOTE_MAX_BYTES)
        return PQ3_ERR_LIMIT;
    if (len < 2 || msg[len - 1] != '\n' || !text_ok(msg, len))
        return PQ3_ERR_DECODE;
    /* The text ends at the last blank line: find the last "\n\n". */
    for (split = len - 1; split-- > 0;)
        if (msg[split] == '\n' && msg[split + 1] == '\n')
            break;
    if (split == (size_t)-1 || split + 2 == len)
        return PQ3_ERR_DECODE; /* no blank line, or no signature after it */
    n->text = msg;
    n->text_len = split + 1;
    /* Signature lines: after the last blank line none is empty. */
    for (i = split + 2; i < len;) {
        const uint8_t *nl = memchr(msg + i, '\n', len - i);
        size_t line_n = (size_t)(nl - (msg + i));
        pq3_note_sig *s;
        if (n->n_sigs == PQ3_NOTE_MAX_SIGS) {
            err = PQ3_ERR_LIMIT;
            goto fail;
        }
        s = &n->sigs[n->n_sigs];
        if ((err = parse_line(s, msg + i, line_n)) != PQ3_OK)
            goto fail;
        for (size_t j = 0; j < n->n_sigs; j++)
            if (same_key(&n->sigs[j], s)) {
                err = PQ3_ERR_DECODE; /* a repeated signature line */
                goto fail;
            }
        n->n_sigs++;
        i += line_n + 1;
    }
    return PQ3_OK;

fail:
    memset(n, 0, sizeof *n);
    return err;
}

pq3_err pq3_note_sig_bytes(uint8_t *out, size_t cap, const pq3_note_sig *sig)
{
    uint8_t *tmp;
    size_t got = 0;
    pq3_err err;

    if (out == NULL || sig == NULL || sig->b64 == NULL)
        return PQ3_ERR_ARG;
    if (sig->sig_len > PQ3_NOTE_MAX_BYTES)
        return PQ3_ERR_DECODE;
    if (cap < sig->sig_len)
        return PQ3_ERR_BUFFER;
    if ((tmp = malloc(KEY_ID_BYTES + sig->sig_len)) == NULL)
        return PQ3_ERR_NOMEM;
    err = pq3_base64_decode(tmp, KEY_ID_BYTES + sig->sig_len, &got, sig->b64, sig->b64_len);
    if (err == PQ3_ERR_BUFFER || (err == PQ3_OK && got != KEY_ID_BYTES + sig->sig_len))
        err = PQ3_ERR_DECODE;
    if (err == PQ3_OK)
        memcpy(out, tmp + KEY_ID_BYTES, sig->sig_len);
    free(tmp);
    return err;
}

/* ---- verification ---------------------------------------------------------------- */

/* Known keys: valid structs, and no two with the same name and key ID (which
 * would make "the" key of a line ambiguous). */
static pq3_err check_keys(const pq3_note_verifier *keys, size_t n_keys, int cosigners_only)
{
    if (n_keys > 0 && keys == NULL)
        return PQ3_ERR_ARG;
    for (size_t i = 0; i < n_keys; i++) {
        if (verifier_ok(&keys[i]) == 0 ||
            (cosigners_only && keys[i].type != PQ3_NOTE_TYPE_COSIGNATURE))
            return PQ3_ERR_ARG;
        for (size_t j = 0; j < i; j++)
            if (keys[j].key_id == keys[i].key_id && strcmp(keys[j].name, keys[i].name) == 0)
                return PQ3_ERR_ARG;
    }
    return PQ3_OK;
}

/* The index of the key with this line's name and key ID, or n_keys. */
static size_t find_key(const pq3_note_sig *s, const pq3_note_verifier *keys, size_t n_keys)
{
    for (size_t i = 0; i < n_keys; i++)
        if (keys[i].key_id == s->key_id && strlen(keys[i].name) == s->name_len &&
            memcmp(keys[i].name, s->name, s->name_len) == 0)
            return i;
    return n_keys;
}

/* Verifies one line with the key it names. *ts gets a cosignature's
 * timestamp (0 for type 0x01). */
static pq3_err verify_line(const pq3_note *n, const pq3_note_sig *s, const pq3_note_verifier *v,
                           uint64_t *ts)
{
    uint8_t payload[MAX_PAYLOAD];
    size_t want = sig_len_of(v->type), got = 0;
    pq3_err err;

    *ts = 0;
    if (s->sig_len != want ||
        pq3_base64_decode(payload, sizeof payload, &got, s->b64, s->b64_len) != PQ3_OK ||
        got != KEY_ID_BYTES + want)
        return PQ3_ERR_VERIFY;
    if (v->type == PQ3_NOTE_TYPE_ED25519)
        return ed25519_verify(v->pub, payload + KEY_ID_BYTES, n->text, n->text_len);

    /* cosignature/v1: the timestamp MUST NOT exceed 2^63 - 1. */
    {
        uint64_t t = be64(payload + KEY_ID_BYTES);
        uint8_t *msg;
        size_t msg_len;
        if (t > PQ3_NOTE_TIME_MAX)
            return PQ3_ERR_VERIFY;
        if ((err = cosig_message(&msg, &msg_len, t, n->text, n->text_len)) != PQ3_OK)
            return err;
        err = ed25519_verify(v->pub, payload + KEY_ID_BYTES + TS_BYTES, msg, msg_len);
        free(msg);
        if (err == PQ3_OK)
            *ts = t;
        return err;
    }
}

static int note_ok(const pq3_note *n)
{
    return n->text != NULL && n->text_len > 0 && n->n_sigs <= PQ3_NOTE_MAX_SIGS;
}

pq3_err pq3_note_verify(const pq3_note *n, const pq3_note_verifier *known, size_t n_known,
                        size_t *n_verified)
{
    size_t verified = 0;
    pq3_err err;

    if (n_verified != NULL)
        *n_verified = 0;
    if (n == NULL || !note_ok(n))
        return PQ3_ERR_ARG;
    if ((err = check_keys(known, n_known, 0)) != PQ3_OK)
        return err;
    /* signed-note "Signatures": lines of unknown keys are ignored; a known
     * key's line must verify (the spec lets a client reject the whole note
     * when one does not, and we do); at least one must. */
    for (size_t i = 0; i < n->n_sigs; i++) {
        size_t k = find_key(&n->sigs[i], known, n_known);
        uint64_t ts;
        if (k == n_known)
            continue;
        if ((err = verify_line(n, &n->sigs[i], &known[k], &ts)) != PQ3_OK)
            return err;
        verified++;
    }
    if (verified == 0)
        return PQ3_ERR_UNKNOWN;
    if (n_verified != NULL)
        *n_verified = verified;
    return PQ3_OK;
}

pq3_err pq3_note_open(pq3_note *n, const uint8_t *msg, size_t len, const pq3_note_verifier *known,
                      size_t n_known)
{
    pq3_err err = pq3_note_parse(n, msg, len);
    if (err == PQ3_OK && (err = pq3_note_verify(n, known, n_known, NULL)) != PQ3_OK)
        memset(n, 0, sizeof *n);
    return err;
}

pq3_err pq3_note_cosignatures(const pq3_note *n, const pq3_note_verifier *witnesses,
                              size_t n_witnesses, uint64_t *timestamps, size_t *count)
{
    size_t valid = 0;
    pq3_err err;

    if (count != NULL)
        *count = 0;
    if (timestamps != NULL && n_witnesses > 0)
        memset(timestamps, 0, n_witnesses * sizeof *timestamps);
    if (n == NULL || count == NULL || !note_ok(n))
        return PQ3_ERR_ARG;
    if ((err = check_keys(witnesses, n_witnesses, 1)) != PQ3_OK)
        return err;
    /* Each line names at most one listed witness and each witness at most
     * one line (parse rejects repeated lines), so a witness counts once. */
    for (size_t i = 0; i < n->n_sigs; i++) {
        size_t k = find_key(&n->sigs[i], witnesses, n_witnesses);
        uint64_t ts;
        if (k == n_witnesses)
            continue;
        if ((err = verify_line(n, &n->sigs[i], &witnesses[k], &ts)) != PQ3_OK) {
            if (timestamps != NULL)
                memset(timestamps, 0, n_witnesses * sizeof *timestamps);
            return err;
        }
        if (timestamps != NULL)
            timestamps[k] = ts;
        valid++;
    }
    *count = valid;
    return PQ3_OK;
}

/* ---- checkpoints (tlog-checkpoint "Note text") ------------------------------------ */

/* Checks extension lines ext[0..len): each non-empty and ending in a
 * newline, at most PQ3_CHECKPOINT_MAX_EXT of them (text_ok checked by the
 * caller). Sets *lines. */
static pq3_err check_ext(const uint8_t *ext, size_t len, size_t *lines)
{
    size_t count = 0;
    for (size_t i = 0; i < len;) {
        const uint8_t *nl = memchr(ext + i, '\n', len - i);
        if (nl == NULL || nl == ext + i)
            return PQ3_ERR_DECODE; /* unterminated or empty */
        if (++count > PQ3_CHECKPOINT_MAX_EXT)
            return PQ3_ERR_LIMIT;
        i = (size_t)(nl - ext) + 1;
    }
    *lines = count;
    return PQ3_OK;
}

pq3_err pq3_checkpoint_parse(pq3_checkpoint *c, const uint8_t *text, size_t len)
{
    pq3_checkpoint t;
    const uint8_t *line[3], *nl;
    size_t line_n[3], off = 0, got = 0;
    pq3_err err;

    if (c == NULL)
        return PQ3_ERR_ARG;
    memset(c, 0, sizeof *c);
    if (text == NULL)
        return PQ3_ERR_ARG;
    if (len > PQ3_CHECKPOINT_MAX_BYTES)
        return PQ3_ERR_LIMIT;
    if (len == 0 || text[len - 1] != '\n' || !text_ok(text, len))
        return PQ3_ERR_DECODE;
    /* The three mandatory lines. */
    for (int i = 0; i < 3; i++) {
        if (off == len || (nl = memchr(text + off, '\n', len - off)) == NULL)
            return PQ3_ERR_DECODE;
        line[i] = text + off;
        line_n[i] = (size_t)(nl - line[i]);
        off += line_n[i] + 1;
    }
    memset(&t, 0, sizeof t);
    /* 1. The origin: non-empty; any other content is the log's business. */
    if (line_n[0] == 0)
        return PQ3_ERR_DECODE;
    if (line_n[0] > PQ3_CHECKPOINT_ORIGIN_MAX)
        return PQ3_ERR_LIMIT;
    memcpy(t.origin, line[0], line_n[0]);
    /* 2. The tree size: decimal, no leading zeros. */
    if (!dec_to_u64(&t.size, line[1], line_n[1]))
        return PQ3_ERR_DECODE;
    /* 3. The root hash: base64 of exactly 32 bytes. */
    if (line_n[2] != pq3_base64_len(PQ3_CHECKPOINT_HASH_BYTES) ||
        pq3_base64_decode(t.root, sizeof t.root, &got, (const char *)line[2], line_n[2]) !=
            PQ3_OK ||
        got != PQ3_CHECKPOINT_HASH_BYTES)
        return PQ3_ERR_DECODE;
    /* 4. Extension lines, each non-empty. */
    if ((err = check_ext(text + off, len - off, &t.n_ext)) != PQ3_OK)
        return err;
    if (off < len) {
        t.ext = text + off;
        t.ext_len = len - off;
    }
    *c = t;
    return PQ3_OK;
}

pq3_err pq3_checkpoint_format(uint8_t *out, size_t cap, size_t *len, const pq3_checkpoint *c)
{
    char dec[20], b64[44];
    size_t origin_len, d, lines = 0, total;
    pq3_writer w;
    pq3_err err;

    if (len != NULL)
        *len = 0;
    if (c == NULL)
        return PQ3_ERR_ARG;
    origin_len = strnlen(c->origin, sizeof c->origin);
    if (origin_len == 0 || origin_len == sizeof c->origin ||
        !text_ok((const uint8_t *)c->origin, origin_len) ||
        memchr(c->origin, '\n', origin_len) != NULL)
        return PQ3_ERR_ARG;
    if ((c->ext == NULL) != (c->ext_len == 0))
        return PQ3_ERR_ARG;
    if (c->ext_len > PQ3_CHECKPOINT_MAX_BYTES)
        return PQ3_ERR_LIMIT;
    if (c->ext_len > 0 && !text_ok(c->ext, c->ext_len))
        return PQ3_ERR_ARG;
    if ((err = check_ext(c->ext, c->ext_len, &lines)) != PQ3_OK)
        return err == PQ3_ERR_DECODE ? PQ3_ERR_ARG : err;
    if (lines != c->n_ext)
        return PQ3_ERR_ARG;
    d = u64_to_dec(dec, c->size);
    total = origin_len + 1 + d + 1 + sizeof b64 + 1 + c->ext_len;
    if (total > PQ3_CHECKPOINT_MAX_BYTES)
        return PQ3_ERR_LIMIT;
    if (len != NULL)
        *len = total;
    if (out == NULL || cap < total)
        return out == NULL && cap != 0 ? PQ3_ERR_ARG : PQ3_ERR_BUFFER;
    pq3_base64_encode(b64, c->root, sizeof c->root);
    pq3_writer_init(&w, out, cap);
    pq3_write_bytes(&w, (const uint8_t *)c->origin, origin_len);
    pq3_write_u8(&w, '\n');
    pq3_write_bytes(&w, (const uint8_t *)dec, d);
    pq3_write_u8(&w, '\n');
    pq3_write_bytes(&w, (const uint8_t *)b64, sizeof b64);
    pq3_write_u8(&w, '\n');
    if (c->ext_len > 0)
        pq3_write_bytes(&w, c->ext, c->ext_len);
    if ((err = pq3_writer_end(&w, &total)) != PQ3_OK)
        pq3_wipe(out, cap);
    return err;
}
