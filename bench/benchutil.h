/*
 * Benchmark helpers: cycle counter (rdtsc), wall clock, and medians. A
 * benchmark prints a table; it never passes or fails.
 */
#ifndef PQ3_BENCHUTIL_H
#define PQ3_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

uint64_t pq3b_cycles(void);   /* time-stamp counter ticks */
uint64_t pq3b_nanos(void);    /* CLOCK_MONOTONIC in ns */

typedef struct {
    double median_ticks;
    double median_us;
} pq3b_result;

/* Runs fn(arg) `iters` times (after a warm-up of iters/10), timing each call,
 * and returns the medians. */
pq3b_result pq3b_measure(void (*fn)(void *), void *arg, size_t iters);

/* Prints one row: name, median ticks, median µs, and an optional note. */
void pq3b_row(const char *name, pq3b_result r, const char *note);
void pq3b_header(const char *title);

/* Fails the whole benchmark with a message when a call it times errors. */
void pq3b_require(int ok, const char *what);

#endif
