/*
 * OpenPQ3 key stores (docs/DEVICE.md §2): where a device authentication key
 * or an account key lives, used only through a pq3_signer (identity.h).
 *
 * Two backends behind one handle:
 *  - software: the P-256 private key in its own file, mode 0600, created
 *    with O_EXCL; a file that group or others can read is refused. The file
 *    is a key blob (below), optionally encrypted under a passphrase
 *    (scrypt, AES-256-GCM).
 *  - PKCS#11: a token's module loaded at run time (dlopen); the key pair is
 *    generated inside the token (CKA_SENSITIVE, not CKA_EXTRACTABLE) and
 *    never leaves it; signing is CKM_ECDSA over a SHA-256 computed here. The
 *    PIN comes from a file or an environment variable, never from a
 *    command line.
 *
 * A key store is a service handle (pq3_keystore_new / pq3_keystore_free):
 * every call that fails leaves a one-line reason in pq3_keystore_error,
 * without any secret in it. The library never prints.
 */
#ifndef PQ3_KEYSTORE_H
#define PQ3_KEYSTORE_H

#include "pq3/common.h"
#include "pq3/crypto.h"
#include "pq3/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- key blobs: a private key as bytes (the file format and the backup) --- */

/* Type byte of a key blob (docs/DEVICE.md §2.1). */
#define PQ3_TYPE_KEYBLOB 0x0C
/* Largest key blob: version, type, mode, cost, salt, nonce, key, tag. */
#define PQ3_KEYBLOB_MAX_BYTES 128

/* scrypt cost: N = 2^log2_n, r, p. Decoders refuse costs above
 * log2_n 20, r 16, p 4, or needing more than 1 GiB (128 * r * 2^log2_n
 * bytes) (PQ3_ERR_LIMIT), before running scrypt, so a crafted file cannot
 * make a load take minutes or more than a gigabyte; and costs below
 * log2_n 10, r 1, p 1 (PQ3_ERR_DECODE). */
typedef struct pq3_scrypt_cost {
    uint8_t log2_n;
    uint8_t r;
    uint8_t p;
} pq3_scrypt_cost;

/* The default cost: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s). */
PQ3_API pq3_scrypt_cost pq3_scrypt_cost_default(void);

/*
 * Encodes a 32-byte P-256 private key as a key blob: in the clear when
 * `passphrase` is NULL, else encrypted with AES-256-GCM under
 * scrypt(passphrase, 16-byte random salt, cost) with a random nonce, the
 * header authenticated. `cost` NULL: the default (ignored in the clear).
 * Holds the key: wipe it after use. At most PQ3_KEYBLOB_MAX_BYTES.
 * Errors: PQ3_ERR_ARG (NULL, empty passphrase, cost outside the decoder's
 * bounds, priv not in [1, n-1]), PQ3_ERR_BUFFER (*out_len = size needed),
 * PQ3_ERR_RNG, PQ3_ERR_CRYPTO. out wiped on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_keyblob_encode(uint8_t *out, size_t cap, size_t *out_len,
                                                const uint8_t priv[PQ3_ECDSA_PRIV_BYTES],
                                                const char *passphrase,
                                                const pq3_scrypt_cost *cost, const pq3_rng *rng);

/*
 * Decodes a key blob, strictly (docs/DEVICE.md §2.1, in that order).
 * `passphrase` may be NULL for a blob in the clear (and is ignored for
 * one); an empty passphrase is a wrong one. Errors: PQ3_ERR_ARG (NULL), PQ3_ERR_VERSION (format or type),
 * PQ3_ERR_DECODE (malformed, trailing bytes), PQ3_ERR_LIMIT (cost above
 * the decoder's bounds), PQ3_ERR_STATE (an encrypted blob and no
 * passphrase), PQ3_ERR_VERIFY (wrong passphrase, or the blob was altered:
 * the GCM tag), PQ3_ERR_KEY (the key is not in [1, n-1]), PQ3_ERR_CRYPTO,
 * PQ3_ERR_NOMEM. priv untouched on error.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_keyblob_decode(uint8_t priv[PQ3_ECDSA_PRIV_BYTES],
                                                const uint8_t *in, size_t len,
                                                const char *passphrase);

/* 1 when the blob says it is encrypted (it may still be malformed), else 0. */
PQ3_API int pq3_keyblob_encrypted(const uint8_t *in, size_t len);

/* ---- the key store handle ------------------------------------------------ */

typedef struct pq3_keystore pq3_keystore;

/* A PKCS#11 key: the module (a path for dlopen), the token by label, the
 * key pair by label (CKA_LABEL of both objects), and the PIN from a file
 * (its first line) or else from the environment variable `pin_env`. */
typedef struct pq3_pkcs11_config {
    const char *module;
    const char *token_label;
    const char *key_label;
    const char *pin_file;   /* may be NULL */
    const char *pin_env;    /* may be NULL; used when pin_file is NULL */
} pq3_pkcs11_config;

/* A new, empty key store handle. Errors: PQ3_ERR_ARG, PQ3_ERR_NOMEM. */
PQ3_API PQ3_MUST_USE pq3_err pq3_keystore_new(pq3_keystore **ks);

/* Closes the store (a token session closed, a software key wiped; the
 * handle's memory is wiped). A token login ends with the process's last
 * session on that token: there is no C_Logout, which would end the login of
 * every other handle on it. NULL does nothing. */
PQ3_API void pq3_keystore_free(pq3_keystore *ks);

/* The reason for the last failure on this handle, one line, never NULL
 * ("" when none). */
PQ3_API const char *pq3_keystore_error(const pq3_keystore *ks);

/*
 * Software key store: makes a new key from `rng` and writes it to `path`
 * (created with O_EXCL, mode 0600, written, fsync'd, its directory
 * fsync'd), encrypted when passphrase is not NULL. The handle then holds
 * the key. Errors: PQ3_ERR_ARG (NULL, handle already holds a key, empty
 * passphrase, cost outside the bounds), PQ3_ERR_IO (the file exists or
 * cannot be written; nothing left behind), PQ3_ERR_RNG, PQ3_ERR_CRYPTO.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_keystore_soft_create(pq3_keystore *ks, const char *path,
                                                      const char *passphrase,
                                                      const pq3_scrypt_cost *cost,
                                                      const pq3_rng *rng);

/*
 * As pq3_keystore_soft_create, with the key taken from a backup blob
 * (pq3_keystore_export) decrypted under backup_passphrase, and stored under
 * file_passphrase (may be NULL). Errors: those of pq3_keyblob_decode and
 * pq3_keystore_soft_create.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_keystore_soft_import(pq3_keystore *ks, const char *path,
                                                      const uint8_t *backup, size_t backup_len,
                                                      const char *backup_passphrase,
                                                      const char *file_passphrase,
                                                      const pq3_scrypt_cost *cost,
                                                      const pq3_rng *rng);

/*
 * Software key store: loads the key file at `path`. Refuses a file that is
 * not a regular file (symbolic links included), larger than
 * PQ3_KEYBLOB_MAX_BYTES, or that group or others may access in any way
 * (PQ3_ERR_IO, the reason names the mode). Errors: PQ3_ERR_ARG (also: the
 * handle already holds a key), PQ3_ERR_ARG, PQ3_ERR_IO,
 * and those of pq3_keyblob_decode (PQ3_ERR_VERIFY: wrong passphrase).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_keystore_soft_open(pq3_keystore *ks, const char *path,
                                                    const char *passphrase);

/*
 * A backup of a software key: a key blob encrypted under `passphrase`
 * (required). Errors: PQ3_ERR_ARG (NULL passphrase), PQ3_ERR_STATE (no
 * key, or a PKCS#11 key: it cannot leave its token), and those of
 * pq3_keyblob_encode.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_keystore_export(pq3_keystore *ks, uint8_t *out, size_t cap,
                                                 size_t *out_len, const char *passphrase,
                                                 const pq3_scrypt_cost *cost,
                                                 const pq3_rng *rng);

/*
 * PKCS#11: loads the module, finds the token, logs in with the PIN and
 * generates a P-256 key pair inside the token under cfg->key_label
 * (CKM_EC_KEY_PAIR_GEN; private key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
 * CKA_SIGN, not CKA_EXTRACTABLE). Refuses when a key of that label exists.
 * The PIN file must be private to its owner like a key file; its first
 * line without the line end is the PIN. The PIN is wiped after the login.
 * Errors: PQ3_ERR_ARG (NULL, module, labels or both PIN sources missing, a
 * token label over 32 or a key label over 255 bytes, the handle already
 * holds a key), PQ3_ERR_IO (module missing or not PKCS#11, token not
 * found, wrong PIN, PIN file unreadable or not private, PIN variable
 * unset, empty PIN, the token failed; the reason names the PKCS#11 return
 * value, e.g. CKR_PIN_INCORRECT, or the dlopen error), PQ3_ERR_STATE (a
 * key of that label exists), PQ3_ERR_NOMEM, PQ3_ERR_RNG.
 *
 * Several handles on one module in one process share it: it is
 * initialised by the first and finalised by the last (docs/DEVICE.md
 * §2.3). PKCS#11 logins belong to the process, not to a session: while a
 * handle is logged in to a token, another handle's login to the same token
 * succeeds without the token checking its PIN.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_keystore_pkcs11_create(pq3_keystore *ks,
                                                        const pq3_pkcs11_config *cfg);

/* PKCS#11: as pq3_keystore_pkcs11_create, for a key pair that exists
 * (exactly one private and one public key object of that label; the public
 * key must be P-256). Errors: as above without PQ3_ERR_STATE,
 * PQ3_ERR_UNKNOWN (no key of that label), PQ3_ERR_IO (several). */
PQ3_API PQ3_MUST_USE pq3_err pq3_keystore_pkcs11_open(pq3_keystore *ks,
                                                      const pq3_pkcs11_config *cfg);

/*
 * A signer over the store's key, valid while `ks` lives. Its signatures
 * are valid ECDSA; a token's may have high s, which the library normalises
 * (pq3_sign, identity.h). A token signer's `sign` returns PQ3_ERR_IO when
 * the token fails, the reason left on the handle. A handle and its signer
 * are for one thread at a time. Errors: PQ3_ERR_ARG, PQ3_ERR_STATE (no
 * key).
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_keystore_signer(pq3_keystore *ks, pq3_signer *signer);

/* 1 for a PKCS#11 key store, 0 otherwise. */
PQ3_API int pq3_keystore_is_token(const pq3_keystore *ks);

#ifdef __cplusplus
}
#endif
#endif
