/*
 * OpenPQ3: the protocol of key transparency (docs/TRANSPARENCY.md §1-§5,
 * §9) over the pure primitives pq3/merkle.h (the log), pq3/map.h (the map),
 * pq3/vrf.h (the map's keys) and pq3/note.h (checkpoints and promises).
 *
 *   server side   the commitment and the key of a record, the epoch leaf,
 *                 the checkpoint and the promise notes, and a lookup's
 *                 proof built from the log and the map it holds;
 *   client side   the strict proof decoder, the checks of §5.2 in their
 *                 order with one distinct reason per refusal, the owner's
 *                 monitoring check (§5.3) and the verification code (§9).
 *
 * Everything is pure: no I/O, no clock (times are Unix seconds passed in),
 * no global state; every function may run in any number of threads at once
 * (a pq3_map only read). Secrets (the VRF secret key, the log's signer) are
 * the caller's and are never copied; nothing here keeps a secret after it
 * returns.
 *
 * Handles are byte strings of 1..PQ3_KT_HANDLE_MAX bytes (vec8 in the
 * hashes), device lists byte strings of 0..PQ3_KT_LIST_MAX bytes (vec16):
 * this layer commits to the list's bytes and never parses them; the device
 * layer checks the list's signature (pq3/account.h) and reads its version.
 * An account key is the 33-byte compressed P-256 point LOOKUP returns.
 */
#ifndef PQ3_KT_H
#define PQ3_KT_H

#include "pq3/common.h"
#include "pq3/crypto.h"
#include "pq3/map.h"
#include "pq3/merkle.h"
#include "pq3/note.h"
#include "pq3/vrf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQ3_KT_HASH_BYTES 32
#define PQ3_KT_VALUE_BYTES PQ3_MAP_VALUE_BYTES /* value(h, v) */
#define PQ3_KT_KEY_BYTES PQ3_MAP_KEY_BYTES     /* key(h, v) */
#define PQ3_KT_PUB_BYTES PQ3_ECDSA_PUB_BYTES   /* an account key */
#define PQ3_KT_HANDLE_MAX 255
#define PQ3_KT_LIST_MAX 0xFFFF
/* alpha(h, v) = "pq3 kt key v1" || vec8(h) || u64(v): at most 277 bytes. */
#define PQ3_KT_ALPHA_MAX (13 + 1 + PQ3_KT_HANDLE_MAX + 8)
/* leaf(e) = "pq3 kt epoch v1" || u64(e) || u64(time) || map_root. */
#define PQ3_KT_LEAF_BYTES (15 + 8 + 8 + PQ3_MAP_HASH_BYTES)
/* The origin is "<server name>/kt/v1", at most PQ3_CHECKPOINT_ORIGIN_MAX
 * bytes, so a server name has at most 249. */
#define PQ3_KT_ORIGIN_SUFFIX "/kt/v1"
#define PQ3_KT_SERVER_NAME_MAX (PQ3_CHECKPOINT_ORIGIN_MAX - 6)
/* The two notes a proof carries are vec16: at most 65535 bytes each. */
#define PQ3_KT_NOTE_MAX 0xFFFF
/* The promise's text: 18 + 511 + 21 + 45 + 21 bytes at most. */
#define PQ3_KT_PROMISE_TEXT_MAX 616
/* The largest MMD a client accepts unless configured otherwise (§5.2,
 * step 4): one hour, so a checkpoint is stale after at most three. */
#define PQ3_KT_MMD_MAX_DEFAULT 3600
/* A reason or alert line with its details, NUL included. */
#define PQ3_KT_TEXT_MAX 160
/* The verification code (§9) as text: 12 groups of 5 decimal digits
 * separated by one space each ("01234 56789 ... 43210"), NUL-terminated:
 * 71 characters and the NUL. */
#define PQ3_KT_CODE_LEN 71
#define PQ3_KT_CODE_BYTES (PQ3_KT_CODE_LEN + 1)

/* ---- §1, §2: the record, its commitment and its key ------------------------- */

/*
 * value = H("pq3 kt value v1" || vec8(h) || account_pub || u64(v) ||
 *           vec16(list))                                        (§1)
 * list may be NULL when list_len is 0.
 * Errors: PQ3_ERR_ARG (NULL, h_len 0 or over PQ3_KT_HANDLE_MAX, list_len
 * over PQ3_KT_LIST_MAX), PQ3_ERR_CRYPTO; value wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_value(uint8_t value[PQ3_KT_VALUE_BYTES], const uint8_t *h,
                                          size_t h_len,
                                          const uint8_t account_pub[PQ3_KT_PUB_BYTES],
                                          uint64_t v, const uint8_t *list, size_t list_len);

/*
 * alpha(h, v) = "pq3 kt key v1" || vec8(h) || u64(v) into out[0..cap),
 * *out_len its length (also when cap is too small).      (§2)
 * Errors: PQ3_ERR_ARG (NULL, h_len 0 or over PQ3_KT_HANDLE_MAX),
 * PQ3_ERR_BUFFER (cap too small; out untouched).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_alpha(uint8_t *out, size_t cap, size_t *out_len,
                                          const uint8_t *h, size_t h_len, uint64_t v);

/*
 * The server's side of §2: pi = ECVRF_prove(vrf_sk, alpha(h, v)) and
 * key = ECVRF_proof_to_hash(pi), the position of (h, v) in the map.
 * Errors: those of pq3_kt_alpha and pq3_vrf_prove (PQ3_ERR_KEY: vrf_sk is
 * not a valid secret key); key and pi wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_key_prove(uint8_t key[PQ3_KT_KEY_BYTES],
                                              uint8_t pi[PQ3_VRF_PROOF_BYTES],
                                              const uint8_t vrf_sk[PQ3_VRF_SK_BYTES],
                                              const uint8_t *h, size_t h_len, uint64_t v);

/*
 * The client's side of §2: key = the VRF output proven by pi for
 * alpha(h, v) under the pinned vrf_pub.
 * Errors: those of pq3_kt_alpha and pq3_vrf_verify (PQ3_ERR_VERIFY,
 * PQ3_ERR_DECODE: pi is wrong; PQ3_ERR_KEY: vrf_pub is not a key); key
 * wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_key_verify(uint8_t key[PQ3_KT_KEY_BYTES],
                                               const uint8_t vrf_pub[PQ3_VRF_PK_BYTES],
                                               const uint8_t *h, size_t h_len, uint64_t v,
                                               const uint8_t pi[PQ3_VRF_PROOF_BYTES]);

/* ---- §3: epochs and checkpoints ------------------------------------------------ */

/* out = leaf(e) = "pq3 kt epoch v1" || u64(e) || u64(time) || map_root.
 * Errors: PQ3_ERR_ARG (NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_leaf_encode(uint8_t out[PQ3_KT_LEAF_BYTES], uint64_t e,
                                                uint64_t time,
                                                const uint8_t map_root[PQ3_MAP_HASH_BYTES]);

/* Decodes exactly len bytes of a leaf (an auditor's replay, §8).
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_DECODE (wrong length or label);
 * outputs untouched on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_leaf_decode(uint64_t *e, uint64_t *time,
                                                uint8_t map_root[PQ3_MAP_HASH_BYTES],
                                                const uint8_t *in, size_t len);

/* out = the log's leaf hash of leaf(e): SHA-256(0x00 || leaf(e)), what the
 * server appends to its array of leaf hashes (pq3/merkle.h).
 * Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_CRYPTO (out wiped). */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_leaf_hash(uint8_t out[PQ3_MERKLE_HASH_BYTES], uint64_t e,
                                              uint64_t time,
                                              const uint8_t map_root[PQ3_MAP_HASH_BYTES]);

/* "<server_name>/kt/v1" with its NUL into out[cap]; *len (may be NULL) its
 * length without the NUL. Errors: PQ3_ERR_ARG (NULL, an empty name, one
 * over PQ3_KT_SERVER_NAME_MAX bytes or not valid as a checkpoint origin:
 * not UTF-8, a control character), PQ3_ERR_BUFFER (out untouched). */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_origin(char *out, size_t cap, size_t *len,
                                           const char *server_name);

/* A checkpoint body (tlog-checkpoint), its one extension line the MMD. */
typedef struct pq3_kt_checkpoint {
    uint64_t size;                          /* epochs published */
    uint8_t root[PQ3_MERKLE_HASH_BYTES];    /* the log's root hash */
    uint64_t mmd;                           /* seconds, >= 1 */
} pq3_kt_checkpoint;

/*
 * Writes the body "<origin>\n<size>\n<base64 root>\nmmd <mmd>\n" (§3) to
 * out[cap]; *len its length, also when out is too small (out NULL with cap
 * 0 measures). Errors: PQ3_ERR_ARG (NULL, bad server name, mmd 0),
 * PQ3_ERR_BUFFER (out untouched).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_checkpoint_text(uint8_t *out, size_t cap, size_t *len,
                                                    const char *server_name,
                                                    const pq3_kt_checkpoint *c);

/*
 * The checkpoint note: the body of pq3_kt_checkpoint_text signed by the log
 * key (`log`, type 0x01) alone, into out[cap], *len its length (also when
 * out is too small). Witnesses sign the same body (pq3_note_signature_line,
 * type 0x04, with their time) and the log appends their lines to the note
 * as they come back.
 * Errors: those of pq3_kt_checkpoint_text and pq3_note_sign; PQ3_ERR_ARG
 * also when `log` is not of type 0x01.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_checkpoint_sign(uint8_t *out, size_t cap, size_t *len,
                                                    const pq3_note_signer *log,
                                                    const char *server_name,
                                                    const pq3_kt_checkpoint *c);

/*
 * Parses a checkpoint body strictly (a verified note's text): the form of
 * pq3_checkpoint_parse, the origin exactly "<server_name>/kt/v1", then
 * exactly one extension line "mmd <seconds>" (decimal without leading
 * zeros, at least 1).
 * Errors: PQ3_ERR_ARG (NULL, bad server name), PQ3_ERR_LIMIT,
 * PQ3_ERR_DECODE (malformed, no or another extension line),
 * PQ3_ERR_UNKNOWN (well formed, but the origin is another log's); *c zeroed.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_checkpoint_parse(pq3_kt_checkpoint *c, const uint8_t *text,
                                                     size_t len, const char *server_name);

/* ---- §4: the promise ------------------------------------------------------------ */

/* A promise (§4): the log will have (h, v) with this value in an epoch
 * published before the deadline. Flat, copyable. */
typedef struct pq3_kt_promise {
    uint8_t h[PQ3_KT_HANDLE_MAX];
    size_t h_len;
    uint64_t v;
    uint8_t value[PQ3_KT_VALUE_BYTES];
    uint64_t deadline;                      /* acceptance time + MMD */
} pq3_kt_promise;

/*
 * Writes the promise note: the body
 *   "pq3 kt promise v1\n<hex h>\n<v>\n<base64 value>\n<deadline>\n"
 * (hex lowercase, decimals without leading zeros) signed by the log key,
 * into out[cap]; *len its length (also when out is too small).
 * Errors: PQ3_ERR_ARG (NULL, bad handle, `log` not of type 0x01),
 * PQ3_ERR_BUFFER, PQ3_ERR_NOMEM, PQ3_ERR_CRYPTO (those of pq3_note_sign).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_promise_sign(uint8_t *out, size_t cap, size_t *len,
                                                 const pq3_note_signer *log,
                                                 const pq3_kt_promise *p);

/*
 * Opens a promise note: verifies it under the pinned log key (which must
 * have signed it) and parses its body strictly (the one form the signer
 * writes). The first line cannot be a checkpoint's origin (which ends in
 * "/kt/v1"), so one log key signs both without confusion.
 * Errors: PQ3_ERR_ARG (NULL, log_key not of type 0x01), the errors of
 * pq3_note_open (PQ3_ERR_VERIFY: a bad signature; PQ3_ERR_UNKNOWN: not
 * signed by log_key), PQ3_ERR_DECODE (a malformed body), PQ3_ERR_NOMEM,
 * PQ3_ERR_CRYPTO; *p zeroed on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_promise_open(pq3_kt_promise *p, const uint8_t *note,
                                                 size_t len,
                                                 const pq3_note_verifier *log_key);

/* ---- §5.1: the lookup proof ------------------------------------------------------ */

/*
 * The proof of a lookup of (h, v), as decoded; the two notes point into
 * the decoder's input, which must outlive it. About 21 KB: allocate it.
 *
 * Wire encoding (the codec of docs/PROTOCOL.md §2), decoded strictly:
 *   vec16 checkpoint note           1..PQ3_KT_NOTE_MAX bytes
 *   u64 time || map_root[32]        leaf(size - 1) without its fixed parts
 *   inclusion                       u8 count (<= 64) || count x 32
 *   consistency                     u8 count (<= 64) || count x 32
 *   u64 v
 *   vrf_proof(h, v)[81]
 *   map_proof(h, v)                 bitmap[32] || siblings || end (map.h)
 *   vrf_proof(h, v + 1)[81]
 *   map_proof(h, v + 1)
 *   vec16 promise                   0..PQ3_KT_NOTE_MAX bytes
 * and nothing after. With a log of S epochs and a map of N keys it is about
 * |note| + 40 + 2 x 32 log2 S + 8 + 2 x (81 + 33 + 32 log2 N + 64) bytes.
 */
typedef struct pq3_kt_proof {
    const uint8_t *checkpoint;
    size_t checkpoint_len;
    uint64_t time;
    uint8_t map_root[PQ3_MAP_HASH_BYTES];
    pq3_merkle_proof inclusion;
    pq3_merkle_proof consistency;
    uint64_t v;
    uint8_t vrf_proof[PQ3_VRF_PROOF_BYTES];
    pq3_map_proof member;                  /* of key(h, v) */
    uint8_t vrf_proof_next[PQ3_VRF_PROOF_BYTES];
    pq3_map_proof next;                    /* of key(h, v + 1) */
    const uint8_t *promise;                /* NULL when promise_len is 0 */
    size_t promise_len;
} pq3_kt_proof;

/* Decodes exactly len bytes. Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_DECODE
 * (truncated, a bound exceeded, a map or log proof that does not decode,
 * trailing bytes, an empty checkpoint note); *p untouched on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_proof_decode(pq3_kt_proof *p, const uint8_t *in,
                                                 size_t len);

/* Writes the encoding of *p to out[cap]; *len its length, also when out is
 * too small (out NULL with cap 0 measures). Errors: PQ3_ERR_ARG (NULL, a
 * field over its bound or that would not decode), PQ3_ERR_BUFFER. Nothing
 * meaningful is left in out on error. */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_proof_encode(uint8_t *out, size_t cap, size_t *len,
                                                 const pq3_kt_proof *p);

/*
 * The server's side of a lookup of the record (h, v), §5.1, from what the
 * server holds for its latest epoch:
 *   checkpoint        the latest checkpoint note, with its cosignatures;
 *   epoch_time, map_root
 *                     the time and map root of its last leaf;
 *   leaf_hashes, size the log's leaf hashes (size x 32 bytes; size is the
 *                     checkpoint's size, at least 1);
 *   pinned            the size the client pinned (0: none);
 *   map               the map at this epoch (its root must be map_root);
 *   vrf_sk            the VRF secret key;
 *   promise           the promise note for (h, v) when (h, v) is newer
 *                     than the epoch, else NULL with promise_len 0.
 * Writes the proof to out[cap]; *len its length, also when out is too
 * small (out NULL with cap 0 measures: the proofs are computed either way).
 * The consistency proof is empty when pinned is 0 or equal to size. Before
 * writing, the inclusion proof is checked against the checkpoint's own
 * size and root (parsed, not verified), so a server whose state is not the
 * checkpoint's learns it here rather than from its clients.
 * Costs: O(size) hashes (the log proofs), two VRF proofs, two map proofs.
 * Errors: PQ3_ERR_ARG (NULL, size 0, pinned > size, a bad handle, v =
 * 2^64 - 1, notes over PQ3_KT_NOTE_MAX), PQ3_ERR_STATE (the map's root is
 * not map_root, or the checkpoint does not parse, has another size, or does
 * not include leaf(size - 1)), PQ3_ERR_KEY (vrf_sk), PQ3_ERR_BUFFER,
 * PQ3_ERR_NOMEM, PQ3_ERR_CRYPTO.
 */
PQ3_API PQ3_MUST_USE pq3_err
pq3_kt_proof_build(uint8_t *out, size_t cap, size_t *len, const uint8_t *checkpoint,
                   size_t checkpoint_len, uint64_t epoch_time,
                   const uint8_t map_root[PQ3_MAP_HASH_BYTES], const uint8_t *leaf_hashes,
                   uint64_t size, uint64_t pinned, const pq3_map *map,
                   const uint8_t vrf_sk[PQ3_VRF_SK_BYTES], const uint8_t *h, size_t h_len,
                   uint64_t v, const uint8_t *promise, size_t promise_len);

/* ---- §5.2: what the client checks ------------------------------------------------ */

/* The checkpoint a client pinned: size 0 is none (root ignored). */
typedef struct pq3_kt_pin {
    uint64_t size;
    uint8_t root[PQ3_MERKLE_HASH_BYTES];
} pq3_kt_pin;

/* What a client pins and configures about one server. */
typedef struct pq3_kt_config {
    const char *server_name;                /* the origin is "<server_name>/kt/v1" */
    pq3_note_verifier log_key;              /* the log key, type 0x01 */
    uint8_t vrf_pub[PQ3_VRF_PK_BYTES];      /* the VRF public key */
    const pq3_note_verifier *witnesses;     /* n_witnesses keys of type 0x04 */
    size_t n_witnesses;
    size_t witness_threshold;               /* k, 0..n_witnesses */
    uint64_t mmd_max;                       /* largest MMD accepted, >= 1 */
} pq3_kt_config;

typedef enum pq3_kt_status {
    PQ3_KT_REFUSED = 0,   /* the device layer must not receive the keys */
    PQ3_KT_ACCEPTED = 1,  /* the record is the latest of (h) in the log */
    PQ3_KT_PENDING = 2    /* accepted on the log's promise: shown as pending */
} pq3_kt_status;

/*
 * Why a lookup was accepted or refused: one value per check of §5.2, in
 * their order; pq3_kt_reason_text gives the line. PQ3_KT_SPLIT_VIEW is the
 * split-view alert (keep the evidence); the others are plain refusals.
 */
typedef enum pq3_kt_reason {
    PQ3_KT_OK = 0,            /* "checked against the log" */
    PQ3_KT_PROMISED,          /* "pending: promised by the log, not in it yet" */
    PQ3_KT_NOT_CHECKED,       /* "not checked against the log": never returned
                               * here; for a client with transparency = off */
    PQ3_KT_ERROR,             /* "could not check against the log": a system
                               * failure or misuse (the pq3_err says which) */
    PQ3_KT_MALFORMED,         /* "malformed transparency proof" */
    /* step 1 */
    PQ3_KT_NOT_SIGNED,        /* "checkpoint not signed" */
    PQ3_KT_WRONG_ORIGIN,      /* "checkpoint of another log" */
    PQ3_KT_WITNESSES,         /* "too few witness cosignatures"
                               * (pq3_kt_lookup_text: "only j of k witnesses") */
    /* step 2 */
    PQ3_KT_SPLIT_VIEW,        /* "the log forked or went back" */
    /* step 3 */
    PQ3_KT_EPOCH_NOT_IN_LOG,  /* "epoch not in the log" */
    /* step 4 */
    PQ3_KT_MMD_TOO_LONG,      /* "the log's MMD is over this client's limit" */
    PQ3_KT_STALE,             /* "stale checkpoint" */
    PQ3_KT_FUTURE,            /* "checkpoint from the future" */
    /* step 5 */
    PQ3_KT_WRONG_VERSION,     /* "the record is not in the log (the proof is
                               * for another version)" */
    PQ3_KT_BAD_VRF,           /* "the record is not in the log (wrong VRF proof)" */
    PQ3_KT_NOT_IN_MAP,        /* "the record is not in the log" */
    PQ3_KT_NOT_LATEST,        /* "the record is not the latest in the log" */
    PQ3_KT_BAD_PROMISE,       /* "the record is not in the log (its promise is
                               * not valid)" */
    PQ3_KT_PROMISE_EXPIRED    /* "the record is not in the log after its
                               * promised deadline" */
} pq3_kt_reason;
#define PQ3_KT_REASON_COUNT 19

/* The line of a reason; never NULL ("unknown reason" for other values). */
PQ3_API const char *pq3_kt_reason_text(pq3_kt_reason reason);

/* The outcome of pq3_kt_verify_lookup, and what it verified. Fields past
 * `reason` are meaningful as far as the checks got (all of them when the
 * status is ACCEPTED or PENDING). */
typedef struct pq3_kt_lookup {
    pq3_kt_status status;
    pq3_kt_reason reason;
    size_t witnesses;                       /* valid cosignatures of configured witnesses */
    size_t witnesses_needed;                /* k */
    uint64_t size;                          /* the checkpoint's */
    uint8_t root[PQ3_MERKLE_HASH_BYTES];
    uint64_t mmd;
    uint64_t epoch_time;                    /* time of epoch size - 1 */
    uint8_t map_root[PQ3_MAP_HASH_BYTES];
    uint8_t h[PQ3_KT_HANDLE_MAX];
    size_t h_len;
    uint8_t account_pub[PQ3_KT_PUB_BYTES];
    uint64_t version;                       /* v */
    uint8_t value[PQ3_KT_VALUE_BYTES];      /* value(h, v) of the returned record */
    uint64_t deadline;                      /* PENDING: the promise's; else 0 */
} pq3_kt_lookup;

/*
 * The client's checks of §5.2, in order, on a LOOKUP result: `proof` (the
 * result's proof field), the handle h, and the record it returned:
 * account_pub, the list bytes and `version`, the version the device layer
 * read from that list. `pinned` is the client's pinned checkpoint (size 0:
 * none), `now` its clock.
 *
 *   0. the proof decodes strictly                        PQ3_KT_MALFORMED
 *   1. the checkpoint note verifies under cfg->log_key   PQ3_KT_NOT_SIGNED
 *      (its body parses as pq3_kt_checkpoint_parse)      PQ3_KT_MALFORMED
 *      its origin is "<server_name>/kt/v1"               PQ3_KT_WRONG_ORIGIN
 *      k of the configured witnesses cosigned it (a      PQ3_KT_WITNESSES
 *      configured witness's line that fails is 0 of k)
 *   2. size >= pinned size; the consistency proof from   PQ3_KT_SPLIT_VIEW
 *      the pin verifies (the same root when the sizes
 *      are equal); without a pin it must be empty       PQ3_KT_MALFORMED
 *   3. leaf(size - 1) from (time, map_root) is included  PQ3_KT_EPOCH_NOT_IN_LOG
 *      in the checkpoint's root (size 0 includes none)
 *   4. the checkpoint's MMD is at most cfg->mmd_max      PQ3_KT_MMD_TOO_LONG
 *      now <= time + 3 MMD                               PQ3_KT_STALE
 *      time <= now + 3 MMD                               PQ3_KT_FUTURE
 *   5. the proof's v is `version` (and below 2^64 - 1)   PQ3_KT_WRONG_VERSION
 *      both VRF proofs verify under cfg->vrf_pub         PQ3_KT_BAD_VRF
 *      a promise, when the proof carries one, verifies   PQ3_KT_BAD_PROMISE
 *      under the log key and is for (h, v, value(h, v))
 *      map_proof(h, v + 1) shows key(h, v + 1) absent    PQ3_KT_NOT_LATEST
 *      map_proof(h, v) shows key(h, v) with value(h, v): ACCEPTED, PQ3_KT_OK
 *      else it must show key(h, v) absent               PQ3_KT_NOT_IN_MAP
 *      and the proof carry a promise                     PQ3_KT_NOT_IN_MAP
 *      whose deadline is after the epoch's time and      PQ3_KT_PROMISE_EXPIRED
 *      not before now
 *      and at most 3 MMD after now                       PQ3_KT_BAD_PROMISE
 *      then PENDING, PQ3_KT_PROMISED.
 *   6. on ACCEPTED and PENDING, *new_pin = (size, root).
 *
 * new_pin may be the same object as pinned; it is written only on success.
 * *res is always written (status REFUSED on any error).
 * Returns PQ3_OK (ACCEPTED or PENDING), PQ3_ERR_DECODE (refused as
 * PQ3_KT_MALFORMED), PQ3_ERR_VERIFY (refused for any other reason),
 * PQ3_ERR_ARG (NULL, a bad handle or list length, cfg invalid: bad server
 * name, log key not of type 0x01, a witness not of type 0x04 or twice,
 * k > n, mmd_max 0, an invalid VRF public key), PQ3_ERR_NOMEM,
 * PQ3_ERR_CRYPTO (the last three with reason PQ3_KT_ERROR).
 */
PQ3_API PQ3_MUST_USE pq3_err
pq3_kt_verify_lookup(pq3_kt_lookup *res, pq3_kt_pin *new_pin, const pq3_kt_config *cfg,
                     const pq3_kt_pin *pinned, const uint8_t *proof, size_t proof_len,
                     const uint8_t *h, size_t h_len,
                     const uint8_t account_pub[PQ3_KT_PUB_BYTES], const uint8_t *list,
                     size_t list_len, uint64_t version, uint64_t now);

/* The line of r's reason with its details ("only 1 of 2 witnesses") into
 * out. Errors: PQ3_ERR_ARG (NULL; out empty when it is not NULL). */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_lookup_text(char out[PQ3_KT_TEXT_MAX],
                                                const pq3_kt_lookup *r);

/* ---- §5.3: owner monitoring --------------------------------------------------------- */

typedef enum pq3_kt_alert {
    PQ3_KT_ALERT_NONE = 0,        /* "the log shows this account's own records" */
    PQ3_KT_ALERT_FOREIGN_KEY,     /* "the log shows account key <hex> for this handle" */
    PQ3_KT_ALERT_UNKNOWN_VERSION, /* "the log shows device-list version N that this
                                   * account did not make" */
    PQ3_KT_ALERT_PROMISE_MISSING, /* "a promised record is missing after its
                                   * deadline (version N)" */
    PQ3_KT_ALERT_OLD_VERSION      /* "the log shows device-list version N, not this
                                   * account's latest M" */
} pq3_kt_alert;

/*
 * The owner's check of §5.3 on `seen`, the result of pq3_kt_verify_lookup
 * for the device's own handle h (status ACCEPTED or PENDING), against what
 * the device knows: its account key, the latest list the account made (its
 * bytes and version; a newer list signed by the account key that the
 * device layer verified counts as made by the account), and its outstanding
 * promises (each for h). In this order:
 *   - seen's account key is not my_account_pub           FOREIGN_KEY
 *   - seen's version is above my_version, or equal with  UNKNOWN_VERSION
 *     another value than value(h, my_account_pub,
 *     my_version, my_list)
 *   - a promise for a version at or above seen's whose  PROMISE_MISSING
 *     deadline is before now, and which seen does not
 *     show in the map (ACCEPTED, same version and value)
 *   - seen's version is below my_version and no promise OLD_VERSION
 *     for a version in (seen's, my_version] is still
 *     within its deadline
 *   - else NONE.
 * *alert and text (the line with its details) are written on PQ3_OK.
 * settled (may be NULL) gets n_promises flags: 1 for a promise the device
 * may drop: its record is shown in the map, or a later version is proven
 * (a latest-version lookup cannot show an older one again).
 * Errors: PQ3_ERR_ARG (NULL, seen not ACCEPTED or PENDING, seen for
 * another handle, a promise for another handle, bad lengths),
 * PQ3_ERR_CRYPTO. Outputs untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_monitor(pq3_kt_alert *alert, char text[PQ3_KT_TEXT_MAX],
                                            uint8_t *settled, const pq3_kt_lookup *seen,
                                            const uint8_t *h, size_t h_len,
                                            const uint8_t my_account_pub[PQ3_KT_PUB_BYTES],
                                            const uint8_t *my_list, size_t my_list_len,
                                            uint64_t my_version,
                                            const pq3_kt_promise *promises, size_t n_promises,
                                            uint64_t now);

/* ---- §9: verification codes ---------------------------------------------------------- */

/*
 * The code two people compare: with A = vec8(handle_a) || pub_a and
 * B = vec8(handle_b) || pub_b,
 *   d = SHA-256("pq3 verify v1" || min(A, B) || max(A, B))
 * (min and max in byte-wise lexicographic order), and the code is d read
 * as a 256-bit big-endian integer modulo 10^60: 60 decimal digits with
 * leading zeros, written most significant first in 12 groups of 5 with one
 * space between groups and a NUL at the end (PQ3_KT_CODE_BYTES). The same
 * for (A, B) and (B, A).
 * Errors: PQ3_ERR_ARG (NULL, a handle of 0 or over 255 bytes),
 * PQ3_ERR_CRYPTO; out wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_kt_verification_code(char out[PQ3_KT_CODE_BYTES],
                                                      const uint8_t *handle_a, size_t a_len,
                                                      const uint8_t pub_a[PQ3_KT_PUB_BYTES],
                                                      const uint8_t *handle_b, size_t b_len,
                                                      const uint8_t pub_b[PQ3_KT_PUB_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
