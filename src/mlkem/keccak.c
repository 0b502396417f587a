/*
 * FIPS 202 Keccak-f[1600] and its sponge (internal; see keccak.h).
 *
 * The permutation keeps the 25 lanes in local variables and runs two rounds
 * per loop iteration (A -> E -> A), so no lane is ever copied between rounds.
 * It uses "lane complementing" (Bertoni et al., "Keccak implementation
 * overview" §2.2): six lanes (Abe, Abi, Ago, Aki, Ami, Asa) are kept inverted
 * between rounds. With that fixed pattern the chi step
 *     a[x] ^= ~a[x+1] & a[x+2]
 * can be written for 20 of the 25 lanes of a round as a single AND or OR of
 * (stored) lanes, so a round needs 5 NOTs instead of 25. Which lanes take
 * AND, which OR and where a NOT is left was worked out by tracking the
 * inversion of every lane through theta, rho and pi; the known-answer tests
 * (tests/test_keccak.c) check the result against OpenSSL.
 *
 * Lane names follow the Keccak team's code: A<y><x> with rows y = 0..4
 * named b, g, k, m, s and columns x = 0..4 named a, e, i, o, u, so s[x + 5y]
 * is A<y><x> (Abe = s[1], Asa = s[20]). Each round computes theta's column
 * parities C and D, then for one output row at a time the five rho/pi-moved
 * lanes B0..B4 and their chi/iota results.
 *
 * Nothing here depends on the data except the data itself: no branch or
 * table index on input bytes, so secret inputs (seeds, messages) are safe.
 */
#include "mlkem/keccak.h"

#include <string.h>

#include "pq3/common.h"

#define ROL64(a, n) (((a) << (n)) | ((a) >> (64 - (n))))

/* FIPS 202 §3.2.5, the round constants RC[i] of iota. */
static const uint64_t pq3_keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
    0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
    0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
    0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
    0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
    0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
    0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

void pq3_keccak_f1600(uint64_t s[25])
{
    uint64_t Aba, Abe, Abi, Abo, Abu, Aga, Age, Agi, Ago, Agu, Aka, Ake, Aki,
        Ako, Aku, Ama, Ame, Ami, Amo, Amu, Asa, Ase, Asi, Aso, Asu;
    uint64_t Eba, Ebe, Ebi, Ebo, Ebu, Ega, Ege, Egi, Ego, Egu, Eka, Eke, Eki,
        Eko, Eku, Ema, Eme, Emi, Emo, Emu, Esa, Ese, Esi, Eso, Esu;
    uint64_t B0, B1, B2, B3, B4, N1, N2, N3, N4, C0, C1, C2, C3, C4, D0, D1, D2, D3, D4;

    /* Enter the complemented representation (see the comment above). */
    Aba = s[0];
    Abe = ~s[1];
    Abi = ~s[2];
    Abo = s[3];
    Abu = s[4];
    Aga = s[5];
    Age = s[6];
    Agi = s[7];
    Ago = ~s[8];
    Agu = s[9];
    Aka = s[10];
    Ake = s[11];
    Aki = ~s[12];
    Ako = s[13];
    Aku = s[14];
    Ama = s[15];
    Ame = s[16];
    Ami = ~s[17];
    Amo = s[18];
    Amu = s[19];
    Asa = ~s[20];
    Ase = s[21];
    Asi = s[22];
    Aso = s[23];
    Asu = s[24];

    for (unsigned i = 0; i < 24; i += 2) {
        /* Round i: A -> E. */
        C0 = Aba ^ Aga ^ Aka ^ Ama ^ Asa;
        C1 = Abe ^ Age ^ Ake ^ Ame ^ Ase;
        C2 = Abi ^ Agi ^ Aki ^ Ami ^ Asi;
        C3 = Abo ^ Ago ^ Ako ^ Amo ^ Aso;
        C4 = Abu ^ Agu ^ Aku ^ Amu ^ Asu;
        D0 = C4 ^ ROL64(C1, 1);
        D1 = C0 ^ ROL64(C2, 1);
        D2 = C1 ^ ROL64(C3, 1);
        D3 = C2 ^ ROL64(C4, 1);
        D4 = C3 ^ ROL64(C0, 1);
        B0 = Aba ^ D0;
        B1 = ROL64(Age ^ D1, 44);
        B2 = ROL64(Aki ^ D2, 43);
        B3 = ROL64(Amo ^ D3, 21);
        B4 = ROL64(Asu ^ D4, 14);
        N2 = ~B2;
        Eba = B0 ^ (B1 | B2);
        Ebe = B1 ^ (N2 | B3);
        Ebi = B2 ^ (B3 & B4);
        Ebo = B3 ^ (B4 | B0);
        Ebu = B4 ^ (B0 & B1);
        B0 = ROL64(Abo ^ D3, 28);
        B1 = ROL64(Agu ^ D4, 20);
        B2 = ROL64(Aka ^ D0, 3);
        B3 = ROL64(Ame ^ D1, 45);
        B4 = ROL64(Asi ^ D2, 61);
        N4 = ~B4;
        Ega = B0 ^ (B1 | B2);
        Ege = B1 ^ (B2 & B3);
        Egi = B2 ^ (B3 | N4);
        Ego = B3 ^ (B4 | B0);
        Egu = B4 ^ (B0 & B1);
        B0 = ROL64(Abe ^ D1, 1);
        B1 = ROL64(Agi ^ D2, 6);
        B2 = ROL64(Ako ^ D3, 25);
        B3 = ROL64(Amu ^ D4, 8);
        B4 = ROL64(Asa ^ D0, 18);
        N3 = ~B3;
        Eka = B0 ^ (B1 | B2);
        Eke = B1 ^ (B2 & B3);
        Eki = B2 ^ (N3 & B4);
        Eko = N3 ^ (B4 | B0);
        Eku = B4 ^ (B0 & B1);
        B0 = ROL64(Abu ^ D4, 27);
        B1 = ROL64(Aga ^ D0, 36);
        B2 = ROL64(Ake ^ D1, 10);
        B3 = ROL64(Ami ^ D2, 15);
        B4 = ROL64(Aso ^ D3, 56);
        N3 = ~B3;
        Ema = B0 ^ (B1 & B2);
        Eme = B1 ^ (B2 | B3);
        Emi = B2 ^ (N3 | B4);
        Emo = N3 ^ (B4 & B0);
        Emu = B4 ^ (B0 | B1);
        B0 = ROL64(Abi ^ D2, 62);
        B1 = ROL64(Ago ^ D3, 55);
        B2 = ROL64(Aku ^ D4, 39);
        B3 = ROL64(Ama ^ D0, 41);
        B4 = ROL64(Ase ^ D1, 2);
        N1 = ~B1;
        Esa = B0 ^ (N1 & B2);
        Ese = N1 ^ (B2 | B3);
        Esi = B2 ^ (B3 & B4);
        Eso = B3 ^ (B4 | B0);
        Esu = B4 ^ (B0 & B1);
        Eba ^= pq3_keccak_rc[i];
        /* Round i + 1: E -> A. */
        C0 = Eba ^ Ega ^ Eka ^ Ema ^ Esa;
        C1 = Ebe ^ Ege ^ Eke ^ Eme ^ Ese;
        C2 = Ebi ^ Egi ^ Eki ^ Emi ^ Esi;
        C3 = Ebo ^ Ego ^ Eko ^ Emo ^ Eso;
        C4 = Ebu ^ Egu ^ Eku ^ Emu ^ Esu;
        D0 = C4 ^ ROL64(C1, 1);
        D1 = C0 ^ ROL64(C2, 1);
        D2 = C1 ^ ROL64(C3, 1);
        D3 = C2 ^ ROL64(C4, 1);
        D4 = C3 ^ ROL64(C0, 1);
        B0 = Eba ^ D0;
        B1 = ROL64(Ege ^ D1, 44);
        B2 = ROL64(Eki ^ D2, 43);
        B3 = ROL64(Emo ^ D3, 21);
        B4 = ROL64(Esu ^ D4, 14);
        N2 = ~B2;
        Aba = B0 ^ (B1 | B2);
        Abe = B1 ^ (N2 | B3);
        Abi = B2 ^ (B3 & B4);
        Abo = B3 ^ (B4 | B0);
        Abu = B4 ^ (B0 & B1);
        B0 = ROL64(Ebo ^ D3, 28);
        B1 = ROL64(Egu ^ D4, 20);
        B2 = ROL64(Eka ^ D0, 3);
        B3 = ROL64(Eme ^ D1, 45);
        B4 = ROL64(Esi ^ D2, 61);
        N4 = ~B4;
        Aga = B0 ^ (B1 | B2);
        Age = B1 ^ (B2 & B3);
        Agi = B2 ^ (B3 | N4);
        Ago = B3 ^ (B4 | B0);
        Agu = B4 ^ (B0 & B1);
        B0 = ROL64(Ebe ^ D1, 1);
        B1 = ROL64(Egi ^ D2, 6);
        B2 = ROL64(Eko ^ D3, 25);
        B3 = ROL64(Emu ^ D4, 8);
        B4 = ROL64(Esa ^ D0, 18);
        N3 = ~B3;
        Aka = B0 ^ (B1 | B2);
        Ake = B1 ^ (B2 & B3);
        Aki = B2 ^ (N3 & B4);
        Ako = N3 ^ (B4 | B0);
        Aku = B4 ^ (B0 & B1);
        B0 = ROL64(Ebu ^ D4, 27);
        B1 = ROL64(Ega ^ D0, 36);
        B2 = ROL64(Eke ^ D1, 10);
        B3 = ROL64(Emi ^ D2, 15);
        B4 = ROL64(Eso ^ D3, 56);
        N3 = ~B3;
        Ama = B0 ^ (B1 & B2);
        Ame = B1 ^ (B2 | B3);
        Ami = B2 ^ (N3 | B4);
        Amo = N3 ^ (B4 & B0);
        Amu = B4 ^ (B0 | B1);
        B0 = ROL64(Ebi ^ D2, 62);
        B1 = ROL64(Ego ^ D3, 55);
        B2 = ROL64(Eku ^ D4, 39);
        B3 = ROL64(Ema ^ D0, 41);
        B4 = ROL64(Ese ^ D1, 2);
        N1 = ~B1;
        Asa = B0 ^ (N1 & B2);
        Ase = N1 ^ (B2 | B3);
        Asi = B2 ^ (B3 & B4);
        Aso = B3 ^ (B4 | B0);
        Asu = B4 ^ (B0 & B1);
        Aba ^= pq3_keccak_rc[i + 1];
    }

    /* Leave the complemented representation. */
    s[0] = Aba;
    s[1] = ~Abe;
    s[2] = ~Abi;
    s[3] = Abo;
    s[4] = Abu;
    s[5] = Aga;
    s[6] = Age;
    s[7] = Agi;
    s[8] = ~Ago;
    s[9] = Agu;
    s[10] = Aka;
    s[11] = Ake;
    s[12] = ~Aki;
    s[13] = Ako;
    s[14] = Aku;
    s[15] = Ama;
    s[16] = Ame;
    s[17] = ~Ami;
    s[18] = Amo;
    s[19] = Amu;
    s[20] = ~Asa;
    s[21] = Ase;
    s[22] = Asi;
    s[23] = Aso;
    s[24] = Asu;
}

/* Lanes are little-endian (FIPS 202 §B.1). */
static inline uint64_t load64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
#endif
}

static inline void store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

static void keccak_init(pq3_keccak_ctx *ctx, unsigned rate, uint8_t pad)
{
    memset(ctx->s, 0, sizeof ctx->s);
    ctx->pos = 0;
    ctx->rate = rate;
    ctx->pad = pad;
    ctx->squeezing = 0;
}

/* FIPS 202 §6.1 and §6.2: SHA3 appends the bits 01, SHAKE the bits 1111
 * before pad10*1; with the first padding bit that is 0x06 and 0x1F. */
void pq3_shake128_init(pq3_keccak_ctx *ctx) { keccak_init(ctx, PQ3_SHAKE128_RATE, 0x1F); }
void pq3_shake256_init(pq3_keccak_ctx *ctx) { keccak_init(ctx, PQ3_SHAKE256_RATE, 0x1F); }
void pq3_sha3_256_init(pq3_keccak_ctx *ctx) { keccak_init(ctx, PQ3_SHA3_256_RATE, 0x06); }
void pq3_sha3_512_init(pq3_keccak_ctx *ctx) { keccak_init(ctx, PQ3_SHA3_512_RATE, 0x06); }

static inline void xor_byte(uint64_t s[25], unsigned pos, uint8_t b)
{
    s[pos >> 3] ^= (uint64_t)b << (8 * (pos & 7));
}

void pq3_keccak_absorb(pq3_keccak_ctx *ctx, const uint8_t *in, size_t len)
{
    unsigned rate = ctx->rate;

    /* Finish a partly filled block first. */
    while (len > 0 && ctx->pos != 0) {
        xor_byte(ctx->s, ctx->pos++, *in++);
        len--;
        if (ctx->pos == rate) {
            pq3_keccak_f1600(ctx->s);
            ctx->pos = 0;
        }
    }
    /* Whole blocks, a lane at a time. */
    while (len >= rate) {
        for (unsigned i = 0; i < rate / 8; i++)
            ctx->s[i] ^= load64(in + 8 * i);
        pq3_keccak_f1600(ctx->s);
        in += rate;
        len -= rate;
    }
    while (len > 0) {
        xor_byte(ctx->s, ctx->pos++, *in++);
        len--;
    }
}

void pq3_keccak_finalize(pq3_keccak_ctx *ctx)
{
    if (ctx->squeezing)
        return;
    xor_byte(ctx->s, ctx->pos, ctx->pad);
    xor_byte(ctx->s, ctx->rate - 1, 0x80);
    ctx->squeezing = 1;
    ctx->pos = ctx->rate; /* no output available until the next permutation */
}

/* Copies state bytes [pos, pos + n) to out. */
static void extract(const uint64_t s[25], unsigned pos, uint8_t *out, size_t n)
{
    while (n > 0 && (pos & 7) != 0) {
        *out++ = (uint8_t)(s[pos >> 3] >> (8 * (pos & 7)));
        pos++;
        n--;
    }
    while (n >= 8) {
        store64(out, s[pos >> 3]);
        out += 8;
        pos += 8;
        n -= 8;
    }
    while (n > 0) {
        *out++ = (uint8_t)(s[pos >> 3] >> (8 * (pos & 7)));
        pos++;
        n--;
    }
}

void pq3_keccak_squeeze(pq3_keccak_ctx *ctx, uint8_t *out, size_t len)
{
    pq3_keccak_finalize(ctx);
    while (len > 0) {
        size_t n;
        if (ctx->pos == ctx->rate) {
            pq3_keccak_f1600(ctx->s);
            ctx->pos = 0;
        }
        n = ctx->rate - ctx->pos;
        if (n > len)
            n = len;
        extract(ctx->s, ctx->pos, out, n);
        ctx->pos += (unsigned)n;
        out += n;
        len -= n;
    }
}

void pq3_keccak_squeezeblocks(pq3_keccak_ctx *ctx, uint8_t *out, size_t nblocks)
{
    pq3_keccak_finalize(ctx);
    if (ctx->pos != ctx->rate) {
        pq3_keccak_squeeze(ctx, out, nblocks * ctx->rate);
        return;
    }
    while (nblocks-- > 0) {
        pq3_keccak_f1600(ctx->s);
        for (unsigned i = 0; i < ctx->rate / 8; i++)
            store64(out + 8 * i, ctx->s[i]);
        out += ctx->rate;
    }
}

void pq3_keccak_wipe(pq3_keccak_ctx *ctx)
{
    pq3_wipe(ctx, sizeof *ctx);
}

void pq3_sha3_256(uint8_t out[32], const uint8_t *in, size_t len)
{
    pq3_keccak_ctx ctx;
    pq3_sha3_256_init(&ctx);
    pq3_keccak_absorb(&ctx, in, len);
    pq3_keccak_squeeze(&ctx, out, 32);
    pq3_keccak_wipe(&ctx);
}

void pq3_sha3_512(uint8_t out[64], const uint8_t *in, size_t len)
{
    pq3_keccak_ctx ctx;
    pq3_sha3_512_init(&ctx);
    pq3_keccak_absorb(&ctx, in, len);
    pq3_keccak_squeeze(&ctx, out, 64);
    pq3_keccak_wipe(&ctx);
}

void pq3_shake128(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
    pq3_keccak_ctx ctx;
    pq3_shake128_init(&ctx);
    pq3_keccak_absorb(&ctx, in, inlen);
    pq3_keccak_squeeze(&ctx, out, outlen);
    pq3_keccak_wipe(&ctx);
}

void pq3_shake256(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
    pq3_keccak_ctx ctx;
    pq3_shake256_init(&ctx);
    pq3_keccak_absorb(&ctx, in, inlen);
    pq3_keccak_squeeze(&ctx, out, outlen);
    pq3_keccak_wipe(&ctx);
}
