/*
 * Constant-time helpers (internal). Each works on all bits of its inputs with
 * arithmetic and masks only: no branch, no table lookup and no division
 * depends on the values, so timing and memory access reveal nothing about
 * them. The valgrind check (ctest -L ct) proves the callers keep it that way.
 */
#ifndef PQ3_CT_H
#define PQ3_CT_H

#include <stddef.h>
#include <stdint.h>

#ifdef PQ3_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#endif

/* Hides a value from the optimizer so it cannot turn mask arithmetic back
 * into a branch. */
static inline uint32_t pq3_ct_barrier32(uint32_t x)
{
    __asm__("" : "+r"(x));
    return x;
}

/* 0xFFFFFFFF when x != 0, else 0: (x | -x) has its top bit set exactly when
 * x is non-zero. */
static inline uint32_t pq3_ct_nonzero_mask32(uint32_t x)
{
    return pq3_ct_barrier32((uint32_t)(0u - ((x | (0u - x)) >> 31)));
}

/* 0 when the buffers are equal, 0xFF otherwise. Reads every byte of both
 * buffers whatever their contents. */
static inline uint8_t pq3_ct_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= (uint32_t)(a[i] ^ b[i]);
    return (uint8_t)pq3_ct_nonzero_mask32(acc);
}

/* 1 when the buffers are equal, else 0. The result itself is public: use it
 * only where the outcome (accept/reject) is revealed anyway. */
static inline int pq3_ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    return pq3_ct_diff(a, b, len) == 0;
}

/* out = mask ? b : a, byte by byte; mask must be 0x00 or 0xFF. */
static inline void pq3_ct_select(uint8_t *out, const uint8_t *a, const uint8_t *b,
                                 size_t len, uint8_t mask)
{
    uint8_t m = (uint8_t)pq3_ct_barrier32(mask);
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(a[i] ^ (m & (a[i] ^ b[i])));
}

/* if (mask) memcpy(dst, src, len), without a branch; mask 0x00 or 0xFF. */
static inline void pq3_ct_cmov(uint8_t *dst, const uint8_t *src, size_t len, uint8_t mask)
{
    uint8_t m = (uint8_t)pq3_ct_barrier32(mask);
    for (size_t i = 0; i < len; i++)
        dst[i] = (uint8_t)(dst[i] ^ (m & (dst[i] ^ src[i])));
}

/* Marks a value derived from secrets as public where the protocol reveals
 * it anyway (accept/reject of a message, a plaintext length). Under the
 * valgrind constant-time check this tells memcheck the value is defined; it
 * is a few no-op instructions otherwise and changes no value. */
static inline void pq3_ct_declassify(const void *p, size_t len)
{
#ifdef PQ3_HAVE_VALGRIND
    (void)VALGRIND_MAKE_MEM_DEFINED(p, len);
#else
    (void)p;
    (void)len;
#endif
}

#endif
