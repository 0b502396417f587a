/*
 * Constant-time checking with valgrind memcheck: CT_SECRET marks bytes as
 * undefined, so any branch or memory index that depends on them is reported
 * as an error; CT_PUBLIC marks a value as defined again where revealing it is
 * intended (an accept/reject result, a public output). Outside valgrind both
 * do nothing.
 */
#ifndef PQ3_TEST_CT_H
#define PQ3_TEST_CT_H
#include <valgrind/memcheck.h>
#define CT_SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define CT_PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#endif
