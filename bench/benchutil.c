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

static double pct(const uint64_t *sorted, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)sorted[i < n ? i : n - 1];
}

pq3b_result pq3b_stats(uint64_t *ticks, uint64_t *ns, size_t n)
{
    pq3b_result r;
    double sum = 0;
    qsort(ticks, n, sizeof *ticks, cmp_u64);
    qsort(ns, n, sizeof *ns, cmp_u64);
    for (size_t i = 0; i < n; i++)
        sum += (double)ns[i];
    r.median_ticks = (double)ticks[n / 2];
    r.median_us = (double)ns[n / 2] / 1000.0;
    r.mean_us = sum / (double)n / 1000.0;
    r.p99_us = pct(ns, n, 0.99) / 1000.0;
    r.p10_us = pct(ns, n, 0.10) / 1000.0;
    r.p90_us = pct(ns, n, 0.90) / 1000.0;
    r.n = n;
    return r;
}

double pq3b_spread_pct(pq3b_result r)
{
    return r.median_us > 0 ? 100.0 * (r.p90_us - r.p10_us) / r.median_us : 0;
}

pq3b_result pq3b_measure(void (*fn)(void *), void *arg, size_t iters)
{
    pq3b_samples s;
    pq3b_result r;
    pq3b_samples_init(&s, iters);
    for (size_t i = 0; i < iters / 10 + 1; i++)
        fn(arg);
    for (size_t i = 0; i < iters; i++) {
        uint64_t n0 = pq3b_nanos(), t0 = pq3b_cycles();
        fn(arg);
        uint64_t t1 = pq3b_cycles(), n1 = pq3b_nanos();
        pq3b_samples_add(&s, t1 - t0, n1 - n0);
    }
    r = pq3b_samples_result(&s);
    pq3b_samples_free(&s);
    return r;
}

void pq3b_samples_init(pq3b_samples *s, size_t cap)
{
    s->ticks = calloc(cap > 0 ? cap : 1, sizeof *s->ticks);
    s->ns = calloc(cap > 0 ? cap : 1, sizeof *s->ns);
    s->n = 0;
    s->cap = cap;
    if (s->ticks == NULL || s->ns == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
}

void pq3b_samples_add(pq3b_samples *s, uint64_t ticks, uint64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap * 2 + 16;
        uint64_t *t = realloc(s->ticks, cap * sizeof *t), *n = t != NULL ? realloc(s->ns, cap * sizeof *n) : NULL;
        if (t == NULL || n == NULL) {
            fprintf(stderr, "bench: out of memory\n");
            exit(1);
        }
        s->ticks = t;
        s->ns = n;
        s->cap = cap;
    }
    s->ticks[s->n] = ticks;
    s->ns[s->n] = ns;
    s->n++;
}

pq3b_result pq3b_samples_result(pq3b_samples *s)
{
    if (s->n == 0) {
        fprintf(stderr, "bench: no samples\n");
        exit(1);
    }
    return pq3b_stats(s->ticks, s->ns, s->n);
}

void pq3b_samples_free(pq3b_samples *s)
{
    free(s->ticks);
    free(s->ns);
    s->ticks = s->ns = NULL;
    s->n = s->cap = 0;
}

void pq3b_header(const char *title)
{
    printf("\n%s\n", title);
    printf("%-44s %10s %9s %9s %9s %9s %7s  %s\n", "operation", "ticks", "median", "mean",
           "p99", "floor", "x floor", "note");
    printf("%-44s %10s %9s %9s %9s %9s %7s  %s\n", "(us unless noted)", "median", "us", "us",
           "us", "us", "", "");
}

static void row(const char *name, pq3b_result r, double floor_us, const char *note)
{
    char fl[32] = "", ratio[32] = "";
    if (floor_us > 0) {
        snprintf(fl, sizeof fl, "%.2f", floor_us);
        snprintf(ratio, sizeof ratio, "%.3f", r.median_us / floor_us);
    }
    printf("%-44s %10.0f %9.2f %9.2f %9.2f %9s %7s  %s%s\n", name, r.median_ticks, r.median_us,
           r.mean_us, r.p99_us, fl, ratio,
           floor_us > 0 && r.median_us < floor_us ? "MEASURING ERROR: below its floor; " : "",
           note != NULL ? note : "");
}

void pq3b_row(const char *name, pq3b_result r, const char *note)
{
    row(name, r, 0, note);
}

void pq3b_row_floor(const char *name, pq3b_result r, double floor_us, const char *note)
{
    row(name, r, floor_us, note);
}

void pq3b_require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench: %s failed\n", what);
        exit(1);
    }
}
