/*
 * Declassification for the valgrind constant-time check (internal).
 *
 * The check (tests/ct_mlkem.c) marks seeds and keys as undefined memory, so
 * valgrind reports every branch or index that depends on them. A value
 * derived from a secret but published by the algorithm itself (rho, which
 * FIPS 203 Algorithm 13 line 19 puts into ek) is marked defined here, at
 * the point where the standard makes it public, so the rejection sampling
 * on it (Algorithm 7, public data) is not reported.
 *
 * Outside valgrind the client request is a short no-op instruction
 * sequence; without the valgrind headers it compiles to nothing.
 */
#ifndef PQ3_MLKEM_DECLASSIFY_H
#define PQ3_MLKEM_DECLASSIFY_H

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define PQ3_DECLASSIFY(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#endif
#endif

#ifndef PQ3_DECLASSIFY
#define PQ3_DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

#endif
