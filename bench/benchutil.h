/*
 * Benchmark helpers: cycle counter (rdtsc), wall clock, and the statistics
 * every row prints: median, mean and 99th percentile (so rare slow calls,
 * such as messages that carry an ML-KEM step, are counted), and the spread.
 * A benchmark prints a table; it never passes or fails.
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
    double mean_us;
    double p99_us;
    double p10_us, p90_us;    /* the spread: (p90 - p10) / median */
    size_t n;
} pq3b_result;

/* Statistics of n timed samples (ticks and ns per call; the arrays are
 * sorted in place). n >= 1. */
pq3b_result pq3b_stats(uint64_t *ticks, uint64_t *ns, size_t n);

/* Runs fn(arg) `iters` times (after a warm-up of iters/10), timing each call,
 * and returns its statistics. */
pq3b_result pq3b_measure(void (*fn)(void *), void *arg, size_t iters);

/* A set of samples filled one call at a time, for loops whose calls cannot
 * be wrapped in a function (e.g. interleaved with other work). */
typedef struct {
    uint64_t *ticks, *ns;
    size_t n, cap;
} pq3b_samples;
void pq3b_samples_init(pq3b_samples *s, size_t cap);
void pq3b_samples_add(pq3b_samples *s, uint64_t ticks, uint64_t ns);
pq3b_result pq3b_samples_result(pq3b_samples *s);
void pq3b_samples_free(pq3b_samples *s);

/* (p90 - p10) / median, in percent. */
double pq3b_spread_pct(pq3b_result r);

/* Prints one row: name, median ticks, median, mean and p99 µs, and an
 * optional note. */
void pq3b_row(const char *name, pq3b_result r, const char *note);
/* The same with the floor beside it (µs, the sum of the primitives the
 * operation cannot avoid, timed in the same run) and the ratio of the
 * median to it; a median below its floor is a measuring error and is
 * flagged as such. */
void pq3b_row_floor(const char *name, pq3b_result r, double floor_us, const char *note);
void pq3b_header(const char *title);

/* Fails the whole benchmark with a message when a call it times errors. */
void pq3b_require(int ok, const char *what);

#endif
