#include "benchutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

uint64_t pq3b_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    return pq3b_nanos();
#endif
}

uint64_t pq3b_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

pq3b_result pq3b_measure(void (*fn)(void *), void *arg, size_t iters)
{
    uint64_t *ticks = calloc(iters, sizeof *ticks);
    uint64_t *ns = calloc(iters, sizeof *ns);
    pq3b_result r;
    if (ticks == NULL || ns == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < iters / 10 + 1; i++)
        fn(arg);
    for (size_t i = 0; i < iters; i++) {
        uint64_t n0 = pq3b_nanos(), t0 = pq3b_cycles();
        fn(arg);
        uint64_t t1 = pq3b_cycles(), n1 = pq3b_nanos();
        ticks[i] = t1 - t0;
        ns[i] = n1 - n0;
    }
    qsort(ticks, iters, sizeof *ticks, cmp_u64);
    qsort(ns, iters, sizeof *ns, cmp_u64);
    r.median_ticks = (double)ticks[iters / 2];
    r.median_us = (double)ns[iters / 2] / 1000.0;
    free(ticks);
    free(ns);
    return r;
}

void pq3b_header(const char *title)
{
    printf("\n%s\n", title);
    printf("%-40s %12s %10s  %s\n", "operation", "ticks", "us", "note");
    printf("%-40s %12s %10s  %s\n", "----------------------------------------",
           "------------", "----------", "----");
}

void pq3b_row(const char *name, pq3b_result r, const char *note)
{
    printf("%-40s %12.0f %10.2f  %s\n", name, r.median_ticks, r.median_us,
           note != NULL ? note : "");
}

void pq3b_require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench: %s failed\n", what);
        exit(1);
    }
}
