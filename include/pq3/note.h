/*
 * OpenPQ3: signed notes, checkpoints and cosignatures of key transparency
 * (C2SP signed-note, tlog-checkpoint and tlog-cosignature/v1), with Ed25519
 * keys.
 *
 * A signed note is a text ending in a newline, a blank line, and one or more
 * signature lines "<U+2014 em dash> <key name> <base64(key ID || sig)>\n".
 * A checkpoint is a note whose text is a transparency log's tree head
 * (origin, tree size, root hash, optional extension lines); witnesses add
 * cosignatures to it, which a client counts against a k-of-n policy.
 *
 * Two signature types are supported, both Ed25519 (RFC 8032) through
 * OpenSSL:
 *   0x01  PQ3_NOTE_TYPE_ED25519      over the note text;
 *   0x04  PQ3_NOTE_TYPE_COSIGNATURE  cosignature/v1: a u64 big-endian POSIX
 *         timestamp T, then an Ed25519 signature over
 *         "cosignature/v1\ntime <T>\n" || note text.
 * Key ID = SHA-256(name || 0x0A || type || 32-byte public key)[:4], a
 * big-endian uint32.
 *
 * Parsing is strict: a note or checkpoint is accepted only in the one form
 * the formatter produces (canonical base64 with padding, decimal without
 * leading zeros, no empty extension lines), and every size has a limit
 * (below). Parsed structures point into the caller's input, which must stay
 * alive and unchanged while they are used.
 *
 * Text is bytes: valid UTF-8, no ASCII control characters except the
 * newline (signed-note "Format"); the functions check this themselves.
 * Names are NUL-terminated C strings.
 *
 * Everything here is pure (no clock: times are parameters) and may run in
 * any number of threads at once.
 */
#ifndef PQ3_NOTE_H
#define PQ3_NOTE_H

#include "pq3/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_NOTE_TYPE_ED25519 0x01
#define PQ3_NOTE_TYPE_COSIGNATURE 0x04

#define PQ3_NOTE_PUB_BYTES 32  /* Ed25519 public key */
#define PQ3_NOTE_SEED_BYTES 32 /* Ed25519 private key (RFC 8032 seed) */
#define PQ3_NOTE_SIG_BYTES 64  /* Ed25519 signature */

/* Limits. A note of up to PQ3_NOTE_MAX_SIGS signature lines is accepted
 * (signed-note asks for at least 16); the size bound leaves room for 16
 * post-quantum signatures of other types, which are parsed and ignored. */
#define PQ3_NOTE_NAME_MAX 255        /* bytes of a key name */
#define PQ3_NOTE_MAX_SIGS 32         /* signature lines in a note */
#define PQ3_NOTE_MAX_BYTES 131072    /* a whole note */
/* A verifier key string: name + 8 hex digits + base64(type || key). */
#define PQ3_NOTE_VKEY_MAX (PQ3_NOTE_NAME_MAX + 1 + 8 + 1 + 44)
/* Timestamps of cosignatures are at most 2^63 - 1 (tlog-cosignature). */
#define PQ3_NOTE_TIME_MAX 0x7fffffffffffffffULL

#define PQ3_CHECKPOINT_ORIGIN_MAX 255 /* bytes of the origin line */
#define PQ3_CHECKPOINT_MAX_EXT 16     /* extension lines */
#define PQ3_CHECKPOINT_MAX_BYTES 8192 /* the whole checkpoint text */
#define PQ3_CHECKPOINT_HASH_BYTES 32

/* ---- names and key IDs ------------------------------------------------------ */

/* 1 when name[0..len) is a valid key name, else 0 (cannot fail): non-empty,
 * at most PQ3_NOTE_NAME_MAX bytes of valid UTF-8, without '+', without a
 * Unicode space (U+0009-000D, U+0020, U+0085, U+00A0, U+1680, U+2000-200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000) and without any other ASCII
 * control character. */
PQ3_API int pq3_note_name_valid(const char *name, size_t len);

/* *id = SHA-256(name || 0x0A || type || pub)[:4] as a big-endian uint32.
 * Errors: PQ3_ERR_ARG (NULL, invalid name), PQ3_ERR_NOMEM, PQ3_ERR_CRYPTO. */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_key_id(uint32_t *id, const char *name, uint8_t type,
                                             const uint8_t *pub, size_t pub_len);

/* ---- keys -------------------------------------------------------------------- */

/* A verifier key: public, flat, copyable. */
typedef struct {
    char name[PQ3_NOTE_NAME_MAX + 1]; /* NUL-terminated, valid */
    uint8_t type;                     /* PQ3_NOTE_TYPE_* */
    uint32_t key_id;
    uint8_t pub[PQ3_NOTE_PUB_BYTES];
} pq3_note_verifier;

/* A signer key: holds the private seed. Flat and copyable; every copy is
 * wiped with pq3_note_signer_wipe. */
typedef struct {
    char name[PQ3_NOTE_NAME_MAX + 1];
    uint8_t type;
    uint32_t key_id;
    uint8_t pub[PQ3_NOTE_PUB_BYTES];
    uint8_t seed[PQ3_NOTE_SEED_BYTES]; /* secret */
} pq3_note_signer;

/* A verifier from its parts; computes the key ID.
 * Errors: PQ3_ERR_ARG (NULL, invalid name), PQ3_ERR_VERSION (type not
 * supported), PQ3_ERR_CRYPTO; *v zeroed. */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_verifier_init(pq3_note_verifier *v, const char *name,
                                                    uint8_t type,
                                                    const uint8_t pub[PQ3_NOTE_PUB_BYTES]);

/*
 * Parses a verifier key string "<name>+<key ID, 8 lowercase hex digits>+
 * <base64(type || public key)>" (vkey[0..len), no NUL needed, no trailing
 * newline). The name ends at the first '+'; the key ID must be the one the
 * name, type and key give.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_LIMIT (longer than
 * PQ3_NOTE_VKEY_MAX), PQ3_ERR_DECODE (malformed, or a wrong key ID),
 * PQ3_ERR_VERSION (a signature type other than 0x01 and 0x04),
 * PQ3_ERR_CRYPTO; *v zeroed.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_verifier_parse(pq3_note_verifier *v, const char *vkey,
                                                     size_t len);

/* Writes v as a verifier key string with a terminating NUL into out[cap];
 * *len (may be NULL) gets its length without the NUL, also when the buffer
 * is too small. Errors: PQ3_ERR_ARG (NULL or not a valid verifier),
 * PQ3_ERR_BUFFER (cap < length + 1; out untouched). */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_verifier_format(char *out, size_t cap, size_t *len,
                                                      const pq3_note_verifier *v);

/* A new signer of the given name and type, its seed from `rng` (NULL: the
 * system generator). Errors: PQ3_ERR_ARG (NULL, invalid name),
 * PQ3_ERR_VERSION (type), PQ3_ERR_RNG, PQ3_ERR_CRYPTO; *s wiped. */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_signer_generate(pq3_note_signer *s, const char *name,
                                                      uint8_t type, const pq3_rng *rng);

/* A signer from a stored 32-byte Ed25519 seed. Errors: as generate, without
 * PQ3_ERR_RNG; *s wiped. */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_signer_from_seed(pq3_note_signer *s, const char *name,
                                                       uint8_t type,
                                                       const uint8_t seed[PQ3_NOTE_SEED_BYTES]);

/* The verifier of a signer (name, type, key ID, public key). Cannot fail. */
PQ3_API void pq3_note_signer_verifier(pq3_note_verifier *v, const pq3_note_signer *s);

/* Wipes *s; NULL does nothing. */
PQ3_API void pq3_note_signer_wipe(pq3_note_signer *s);

/* ---- signing ------------------------------------------------------------------- */

/*
 * Signs text[0..text_len) with each of the n signers and writes the note
 * (text, blank line, one signature line per signer, in order) to out[cap];
 * *len gets the note's length, also when out is too small (out NULL with
 * cap 0 measures). `timestamp` is the time of the cosignatures (type 0x04
 * signers) and must be 0 when there are none. The text must be non-empty,
 * end in a newline, be valid UTF-8 and contain no control character other
 * than newline.
 * Errors: PQ3_ERR_ARG (NULL, n = 0 or > PQ3_NOTE_MAX_SIGS, two signers with
 * the same name and key ID, timestamp > PQ3_NOTE_TIME_MAX or non-zero
 * without a cosigner), PQ3_ERR_DECODE (the text is not note text),
 * PQ3_ERR_LIMIT (the note would exceed PQ3_NOTE_MAX_BYTES), PQ3_ERR_BUFFER,
 * PQ3_ERR_NOMEM, PQ3_ERR_CRYPTO. On PQ3_ERR_BUFFER out is untouched; on
 * any other error it is wiped (up to cap).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_sign(uint8_t *out, size_t cap, size_t *len,
                                           const uint8_t *text, size_t text_len,
                                           const pq3_note_signer *signers, size_t n,
                                           uint64_t timestamp);

/* One signature line (with its final newline) by signer s over the text, as
 * a witness returns it for the log to append to its note. Arguments and
 * errors as pq3_note_sign with one signer. */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_signature_line(uint8_t *out, size_t cap, size_t *len,
                                                     const uint8_t *text, size_t text_len,
                                                     const pq3_note_signer *s,
                                                     uint64_t timestamp);

/* ---- parsing and verification --------------------------------------------------- */

/* One signature line of a parsed note; the pointers are into the note. */
typedef struct {
    const char *name; /* not NUL-terminated */
    size_t name_len;
    uint32_t key_id;
    const char *b64; /* base64(key ID || signature) */
    size_t b64_len;
    size_t sig_len;  /* bytes of the signature after the key ID (>= 1) */
} pq3_note_sig;

/* A parsed note: the text (with its final newline, without the blank line)
 * and the signature lines, in order. */
typedef struct {
    const uint8_t *text;
    size_t text_len;
    size_t n_sigs;
    pq3_note_sig sigs[PQ3_NOTE_MAX_SIGS];
} pq3_note;

/*
 * Parses msg[0..len) as a signed note without verifying anything: the text
 * MUST NOT be used before pq3_note_verify accepts it. The text ends at the
 * last blank line. Every signature line must be well formed (em dash, space,
 * valid name, space, canonical base64 of at least 5 bytes, newline), and no
 * two lines may carry the same name and key ID.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_LIMIT (len > PQ3_NOTE_MAX_BYTES or
 * more than PQ3_NOTE_MAX_SIGS lines), PQ3_ERR_DECODE (anything malformed);
 * *n zeroed.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_parse(pq3_note *n, const uint8_t *msg, size_t len);

/*
 * Verifies a parsed note against the known keys (signed-note "Signatures"):
 * a line whose name and key ID match no known key is ignored; a line that
 * matches one is verified with it (type 0x01 over the text, type 0x04 as a
 * cosignature of the text) and any failure rejects the whole note; the note
 * is accepted when at least one known key's signature verified.
 * *n_verified (may be NULL) gets the number of verified lines.
 * Errors: PQ3_ERR_ARG (NULL, n_known > 0 with known NULL, two known keys with
 * the same name and key ID), PQ3_ERR_VERIFY (a known key's signature failed:
 * wrong length, timestamp above 2^63 - 1, or a bad signature),
 * PQ3_ERR_UNKNOWN (no line is from a known key), PQ3_ERR_NOMEM,
 * PQ3_ERR_CRYPTO.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_verify(const pq3_note *n, const pq3_note_verifier *known,
                                             size_t n_known, size_t *n_verified);

/* pq3_note_parse, then pq3_note_verify: the text is in n->text when this
 * returns PQ3_OK. Errors: those of both; *n zeroed on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_open(pq3_note *n, const uint8_t *msg, size_t len,
                                           const pq3_note_verifier *known, size_t n_known);

/*
 * Counts the witnesses of `witnesses` (type 0x04 keys) with a valid
 * cosignature on the note, for a k-of-n policy: *count gets the number, and
 * timestamps[i] (when timestamps is not NULL) the time witness i signed, or 0
 * when it did not. A line from a listed witness that fails to verify rejects
 * the note (as in pq3_note_verify); lines from other keys are ignored.
 * Checking the log's own signature is pq3_note_verify's job.
 * Errors: PQ3_ERR_ARG (NULL, a witness not of type 0x04, two witnesses with
 * the same name and key ID), PQ3_ERR_VERIFY, PQ3_ERR_NOMEM, PQ3_ERR_CRYPTO;
 * *count 0 and timestamps zeroed on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_cosignatures(const pq3_note *n,
                                                   const pq3_note_verifier *witnesses,
                                                   size_t n_witnesses, uint64_t *timestamps,
                                                   size_t *count);

/* The signature bytes of a parsed line (after the key ID; sig->sig_len of
 * them) into out[cap], unverified: for a type 0x04 line the first 8 are the
 * big-endian timestamp. Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_BUFFER
 * (cap < sig_len), PQ3_ERR_DECODE (not a line pq3_note_parse produced),
 * PQ3_ERR_NOMEM; out untouched on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_note_sig_bytes(uint8_t *out, size_t cap,
                                                const pq3_note_sig *sig);

/* ---- checkpoints (tlog-checkpoint) ------------------------------------------------ */

/* A checkpoint body. ext points to the extension lines (each ending in a
 * newline) of a parsed text, or is NULL with ext_len = n_ext = 0. */
typedef struct {
    char origin[PQ3_CHECKPOINT_ORIGIN_MAX + 1]; /* NUL-terminated */
    uint64_t size;
    uint8_t root[PQ3_CHECKPOINT_HASH_BYTES];
    const uint8_t *ext;
    size_t ext_len;
    size_t n_ext;
} pq3_checkpoint;

/*
 * Parses a checkpoint body (a note's text, e.g. pq3_note.text after
 * pq3_note_verify): the origin line (non-empty), the tree size (ASCII
 * decimal, no leading zeros except "0" itself, at most 2^64 - 1), the root
 * hash (canonical base64 of exactly 32 bytes), then optional non-empty
 * extension lines; every line ends in a newline.
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_LIMIT (text over
 * PQ3_CHECKPOINT_MAX_BYTES, origin over PQ3_CHECKPOINT_ORIGIN_MAX, more than
 * PQ3_CHECKPOINT_MAX_EXT extension lines), PQ3_ERR_DECODE; *c zeroed.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_checkpoint_parse(pq3_checkpoint *c, const uint8_t *text,
                                                  size_t len);

/* Writes the body of *c into out[cap]; *len gets its length, also when out
 * is too small (out NULL with cap 0 measures). The same rules as parsing
 * apply to the origin and the extension lines.
 * Errors: PQ3_ERR_ARG (NULL, or fields that would not parse back),
 * PQ3_ERR_LIMIT, PQ3_ERR_BUFFER (out untouched). */
PQ3_API PQ3_MUST_USE pq3_err pq3_checkpoint_format(uint8_t *out, size_t cap, size_t *len,
                                                   const pq3_checkpoint *c);

#ifdef __cplusplus
}
#endif
#endif
