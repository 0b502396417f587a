/*
 * Sessions over a simulated network, long runs (tests/sim.h,
 * docs/NETWORK.md): every scenario with a fixed seed and at least 100,000
 * application messages, each side of a link a peer device container
 * (pq3_peer), then the results table and the check counts.
 * Usage: bench_sim [messages per scenario] [scenario name substring]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "sim.h"

#define NSCEN 16

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    const char *only = argc > 2 ? argv[2] : NULL;
    sim_config c[NSCEN];
    sim_stats st[NSCEN];
    int k = 0;

    c[k] = sim_config_default("perfect network", 101, n);
    k++;
    c[k] = sim_config_default("10% loss", 102, n);
    c[k].loss = 0.10;
    c[k].needs_ooo = 1;
    k++;
    c[k] = sim_config_default("reorder window 8", 103, n);
    c[k].reorder = 8;
    c[k].needs_ooo = 1;
    k++;
    c[k] = sim_config_default("5% duplication", 104, n);
    c[k].dup = 0.05;
    k++;
    c[k] = sim_config_default("5% duplication, copies up to 16 late", 105, n);
    c[k].dup = 0.05;
    c[k].dup_delay = 16;
    k++;
    c[k] = sim_config_default("one-way bursts of 100", 106, n);
    c[k].burst = 100;
    c[k].silent_receiver = 1;
    k++;
    c[k] = sim_config_default("bursts of 100, receipts when due", 112, n);
    c[k].burst = 100;
    k++;
    c[k] = sim_config_default("bad network", 107, n);
    c[k].loss = 0.10;
    c[k].reorder = 16;
    c[k].dup = 0.05;
    c[k].dup_delay = 16;
    c[k].burst = 20;
    c[k].needs_ooo = 1;
    k++;
    c[k] = sim_config_default("three devices", 108, n);
    c[k].devices = 3;
    k++;
    /* the same load spread over more time: skipped keys expire (7 days)
     * before the store fills */
    c[k] = sim_config_default("10% loss, a message every 10 min", 109, n);
    c[k].loss = 0.10;
    c[k].step_seconds = 600;
    c[k].needs_ooo = 1;
    k++;
    c[k] = sim_config_default("bad network, a message every 10 min", 110, n);
    c[k].loss = 0.10;
    c[k].reorder = 16;
    c[k].dup = 0.05;
    c[k].dup_delay = 16;
    c[k].burst = 20;
    c[k].step_seconds = 600;
    c[k].needs_ooo = 1;
    k++;
    /* a client that does not acknowledge a chain of receipts only */
    c[k] = sim_config_default("three devices, no receipt for receipts", 111, n);
    c[k].devices = 3;
    c[k].receipts = 2;
    k++;
    /* both devices start a session at once (§10.5): the starts cross */
    c[k] = sim_config_default("crossed starts", 113, n);
    c[k].crossed = 1;
    k++;
    c[k] = sim_config_default("crossed starts, 10% loss, reorder window 8", 114, n);
    c[k].crossed = 1;
    c[k].loss = 0.10;
    c[k].reorder = 8;
    c[k].needs_ooo = 1;
    k++;

    printf("OpenPQ3 network simulation: %llu messages per scenario, fixed seeds\n",
           (unsigned long long)n);
    printf("library: out-of-order delivery %s; copies from two chains back %s\n\n",
           sim_probe_ooo() ? "supported" : "NOT supported",
           sim_probe_stale_replay() ? "rejected as replays" : "NOT rejected as replays");
    for (int i = 0; i < k; i++) {
        if (only != NULL && strstr(c[i].name, only) == NULL) {
            st[i].skipped = -1;
            continue;
        }
        pq3b_require(sim_run(&c[i], &st[i]) == PQ3_OK, c[i].name);
        sim_print_checks(stderr, &st[i]);
    }
    sim_print_header(stdout);
    for (int i = 0; i < k; i++)
        if (st[i].skipped >= 0)
            sim_print_row(stdout, &st[i]);
    printf("\n");
    for (int i = 0; i < k; i++)
        if (st[i].skipped >= 0)
            sim_print_checks(stdout, &st[i]);
    return 0;
}
