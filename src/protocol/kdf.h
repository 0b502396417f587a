/*
 * The protocol's labels and key schedule (internal; docs/PROTOCOL.md §3, §8).
 *
 * Every HMAC of the protocol goes through pq3_hmac with its input given in
 * parts, so labels, transcripts and counters are never concatenated into
 * temporary buffers that would then need wiping. A pq3_kdf carries one
 * digest context reused by all the calls of a seal or open.
 */
#ifndef PQ3_PROTOCOL_KDF_H
#define PQ3_PROTOCOL_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/md.h"
#include "pq3/common.h"

/* §3: the labels, ASCII without terminator. */
#define PQ3_L_CERT "OpenPQ3 v1 device certificate"
#define PQ3_L_PREKEY "OpenPQ3 v1 prekey"
#define PQ3_L_MSGSIG "OpenPQ3 v1 message signature"
#define PQ3_L_ROOT "OpenPQ3 v1 root"
#define PQ3_L_START "OpenPQ3 v1 session start"
#define PQ3_L_RATCHET "OpenPQ3 v1 ratchet"
#define PQ3_L_MK "OpenPQ3 v1 message key"
#define PQ3_L_CK "OpenPQ3 v1 chain key"
#define PQ3_L_AES "OpenPQ3 v1 aes-ctr"
#define PQ3_L_MKI "OpenPQ3 v1 key indicator"
#define PQ3_L_DEVLIST "OpenPQ3 v1 device list"
#define PQ3_L_LINK "OpenPQ3 v1 link request"
#define PQ3_LABEL(l) ((const uint8_t *)(l)), (sizeof(l) - 1)

typedef struct {
    EVP_MD_CTX *ctx;
} pq3_kdf;

/* Errors: PQ3_ERR_CRYPTO (allocation in OpenSSL failed). */
pq3_err pq3_kdf_init(pq3_kdf *k);
void pq3_kdf_free(pq3_kdf *k);

/* RFC 5869 §2.3 for L <= 48: out = HMAC(prk, parts... || 0x01)[0..L).
 * Errors: PQ3_ERR_ARG, PQ3_ERR_CRYPTO (out wiped). */
pq3_err pq3_kdf_expand_short(pq3_kdf *k, uint8_t *out, size_t out_len,
                             const uint8_t *prk, size_t prk_len,
                             const pq3_iov *info, size_t n_info);

/*
 * §8.1 KDF_RK: t1 = Extract(rk_prev, ss_ecdh), t2 = Extract(ss_kem or Z32,
 * t1), RK || CK = Expand(t2, L_ROOT || dst, 64); dst given in parts (at most
 * 6). rk_out may alias rk_prev. Errors: PQ3_ERR_ARG, PQ3_ERR_CRYPTO (outputs
 * wiped).
 */
pq3_err pq3_kdf_root(pq3_kdf *k, uint8_t rk_out[32], uint8_t ck_out[32],
                     const uint8_t rk_prev[32], const uint8_t ss_ecdh[32],
                     const uint8_t *ss_kem /* NULL: Z32 */,
                     const pq3_iov *dst, size_t n_dst);

/* §8.2: mk = Expand(ck, L_MK, 32), ck = Expand(ck, L_CK, 32) in place. */
pq3_err pq3_kdf_chain(pq3_kdf *k, uint8_t mk[32], uint8_t ck[32]);

/* §8.3: x = Expand(mk, L_AES, 48) (IV = x[0..16), K = x[16..48)),
 * mki = Expand(mk, L_MKI, 16). */
pq3_err pq3_kdf_message(pq3_kdf *k, uint8_t x[48], uint8_t mki[16], const uint8_t mk[32]);

#endif
