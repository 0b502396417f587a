/*
 * FIPS 202 Keccak-f[1600] and the sponge functions ML-KEM needs (internal):
 * SHA3-256 (H), SHA3-512 (G), SHAKE128 (XOF) and SHAKE256 (PRF, J).
 *
 * The sponge absorbs and squeezes incrementally in pieces of any size, so
 * matrix sampling (FIPS 203 Algorithm 7) can read the XOF stream a few
 * blocks at a time.
 */
#ifndef PQ3_MLKEM_KECCAK_H
#define PQ3_MLKEM_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define PQ3_SHAKE128_RATE 168
#define PQ3_SHAKE256_RATE 136
#define PQ3_SHA3_256_RATE 136
#define PQ3_SHA3_512_RATE 72

/* A sponge. `pos` counts the bytes of the current block already absorbed
 * (absorbing) or already read (squeezing). */
typedef struct {
    uint64_t s[25];
    unsigned pos;
    unsigned rate;
    uint8_t pad;        /* domain-separation byte: 0x06 SHA3, 0x1F SHAKE */
    uint8_t squeezing;
} pq3_keccak_ctx;

/* FIPS 202 §3.3: the 24-round permutation on 25 little-endian lanes. */
void pq3_keccak_f1600(uint64_t s[25]);

void pq3_shake128_init(pq3_keccak_ctx *ctx);
void pq3_shake256_init(pq3_keccak_ctx *ctx);
void pq3_sha3_256_init(pq3_keccak_ctx *ctx);
void pq3_sha3_512_init(pq3_keccak_ctx *ctx);

/* Absorbs more input; only before the first squeeze. */
void pq3_keccak_absorb(pq3_keccak_ctx *ctx, const uint8_t *in, size_t len);
/* Pads (FIPS 202 §5.1 pad10*1 after the domain bits) and turns to squeezing.
 * Called implicitly by the first squeeze. */
void pq3_keccak_finalize(pq3_keccak_ctx *ctx);
/* Reads the next `len` output bytes. */
void pq3_keccak_squeeze(pq3_keccak_ctx *ctx, uint8_t *out, size_t len);
/* Reads `nblocks` whole blocks (nblocks * rate bytes). Faster than
 * pq3_keccak_squeeze when the stream sits on a block boundary (just after
 * finalize, or after earlier whole blocks); otherwise falls back to it. */
void pq3_keccak_squeezeblocks(pq3_keccak_ctx *ctx, uint8_t *out, size_t nblocks);
/* Wipes the state (it may hold secrets). */
void pq3_keccak_wipe(pq3_keccak_ctx *ctx);

/* One-shot forms. */
void pq3_sha3_256(uint8_t out[32], const uint8_t *in, size_t len);
void pq3_sha3_512(uint8_t out[64], const uint8_t *in, size_t len);
void pq3_shake128(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen);
void pq3_shake256(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen);

#endif
