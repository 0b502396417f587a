/*
 * A network simulator for OpenPQ3 sessions (docs/NETWORK.md).
 *
 * Devices hold real sessions, real software signers and a deterministic
 * random source each; they exchange messages through a simulated network
 * that loses, delays (reorders) and duplicates messages, with one fixed seed
 * per run so every run replays exactly. Device 0 talks to every other
 * device; each pair ("link") has one peer device container (pq3_peer,
 * include/pq3/peer.h) on each side, and every seal, open and session start
 * goes through it. Usually each side holds one session; with crossed starts
 * both sides start one at once and must converge on one of the two.
 *
 * Every run checks, and counts in sim_stats: each message decrypts at most
 * once and, when delivered, exactly once with the body it was sealed with;
 * a duplicate never decrypts; the only errors are the expected ones
 * (PQ3_ERR_REPLAY for a copy of a message already opened); after the network
 * heals, traffic flows again; the serialized state stays bounded; at the
 * end both sides of every link send on the same session and hold no other.
 * It also measures how many messages after a state compromise the session
 * heals, for a classical and a quantum attacker (docs/NETWORK.md,
 * "Healing"); a compromise is a serialized container (pq3_peer_serialize).
 *
 * Used by tests/test_sim.c (short runs with assertions) and
 * bench/bench_sim.c (long runs, prints the table).
 */
#ifndef PQ3_TEST_SIM_H
#define PQ3_TEST_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "pq3/peer.h"

typedef struct sim_config {
    const char *name;
    uint64_t seed;
    unsigned devices;        /* 2: one pair; 3: device 0 with devices 1 and 2 */
    uint64_t messages;       /* application messages sealed in the run (all links) */
    double loss;             /* probability the network drops a message */
    double dup;              /* probability it delivers a second copy */
    unsigned reorder;        /* W: a message arrives 1 + U[0, W] slots after it is sent */
    unsigned dup_delay;      /* a copy arrives U[0, dup_delay] slots after its original */
    unsigned burst;          /* > 0: each side sends exactly `burst` messages per turn */
    int silent_receiver;     /* the side not sending sends nothing, receipts included */
    double switch_prob;      /* burst == 0: probability the next message goes the other way */
    unsigned body_min, body_max;
    uint64_t step_seconds;   /* simulated time per slot */
    pq3_rekey_policy policy;
    unsigned capture_every;  /* a state compromise every this many messages per link (0: none) */
    unsigned heal_rounds;    /* ping-pong rounds per link once the network heals */
    unsigned max_jump;       /* skipped-key store bounds (0: the library's defaults) */
    unsigned max_keys;
    int receipts;            /* 1: send a delivery receipt whenever the library says one is due
                              * (never for a chain of receipts only, §16.1: receipt_echo
                              * counts any); 2: also skip those on the simulator's side; 0: never */
    int needs_ooo;           /* the scenario needs out-of-order delivery in the library */
    int crossed;             /* both sides of every link start a session at once (§10.5): the
                              * two starts cross in the network, as the run's first messages */
} sim_config;

typedef struct sim_stats {
    const char *name;
    int skipped;             /* 1: not run, `skip_reason` says why */
    char skip_reason[160];
    pq3_err setup_err;       /* set-up or internal failure (not a finding about the protocol) */

    uint64_t sent;           /* application messages sealed */
    uint64_t receipts;       /* delivery receipts sealed */
    uint64_t lost;           /* messages the network dropped (no copy arrived) */
    uint64_t dup_copies;     /* extra copies the network delivered */
    uint64_t net_delivered;  /* distinct messages of which at least one copy arrived */
    uint64_t opened;         /* distinct messages decrypted */
    uint64_t net_delivered_app, opened_app;   /* the same for application messages */
    uint64_t receipt_echo;   /* receipts acknowledging a chain of receipts only */
    uint64_t double_open;    /* a message decrypted a second time: must be 0 */
    uint64_t body_mismatch;  /* decrypted to other bytes than sealed: must be 0 */
    uint64_t replays;        /* copies of opened messages rejected with PQ3_ERR_REPLAY */
    uint64_t dup_other;      /* copies of opened messages rejected with another error */
    uint64_t limits;         /* PQ3_ERR_LIMIT (expected only where a run exceeds a bound) */
    uint64_t evicted_late;   /* first copies rejected as PQ3_ERR_REPLAY: their stored key was
                              * evicted to stay within max_keys (§13.1), the message is lost */
    uint64_t unexpected;     /* any other error on a first copy: must be 0 */
    char first_unexpected[200];

    uint64_t wire_bytes;     /* sum of the sizes of every sealed message */
    uint64_t max_msg_bytes;
    uint64_t kem_first;      /* ek and ct payloads sent for the first time (one per chain each) */
    uint64_t kem_resends;    /* later messages of a chain carrying the same ek or ct again */
    uint64_t kem_resend_bytes;
    uint64_t kem_steps;      /* completed ML-KEM steps seen by receivers (kem_completed) */
    size_t max_state_bytes;  /* largest serialized session */
    size_t max_skipped_bytes;/* largest serialized skipped-key store */
    uint32_t max_skipped_keys;
    size_t max_peer_bytes;   /* largest serialized container (pq3_peer_size, §10.6) */
    uint32_t max_sessions;   /* most sessions one container held */
    uint64_t sessions_created;  /* sessions started or accepted, all containers */
    uint64_t other_session_msgs;/* messages sealed on a session other than the one the link
                              * ends on (crossed starts: before the sides converged) */
    uint64_t agree_slot;     /* first slot from which both sides of every link sent on the
                              * same session (pq3_peer_current) for the rest of the run */
    uint64_t links_agree;    /* links whose sides send on the same session at the end */
    uint64_t links_single;   /* links whose sides hold exactly one session at the end */
    uint64_t late_opens;     /* messages opened with a stored skipped key */
    uint64_t state_samples;
    uint64_t sum_state_bytes;

    uint64_t captures;       /* state compromises sampled (serialized containers that held one
                              * session; a capture due on a container holding several waits) */
    uint64_t healed_c, healed_q;         /* captures that healed before the run ended */
    uint64_t heal_c_sum, heal_c_max;     /* messages on the link until classical healing */
    uint64_t heal_q_sum, heal_q_max;     /* ... until post-quantum healing */
    uint64_t real_agree;     /* captured-state copy opened like the victim (before healing) */
    uint64_t real_healed;    /* the copy failed with PQ3_ERR_VERIFY where the model said healed */
    uint64_t real_bad;       /* the copy disagreed with the model: must be 0 */
    char first_real_bad[200];

    uint64_t after_heal_ok;  /* ping-pong messages opened after the network healed */
    uint64_t after_heal_fail;
    char first_after_heal[200];

    double seconds;
} sim_stats;

/* A configuration with the defaults: 2 devices, one start, perfect network,
 * switch_prob 0.5, bodies of 16..200 bytes, 30 s per slot, the default
 * rekey policy, the default skipped-key bounds, receipts on, a compromise
 * every 200 messages, 4 heal rounds. */
sim_config sim_config_default(const char *name, uint64_t seed, uint64_t messages);

/* What the library supports, probed at run time through the public API.
 * 1: a message may arrive before an earlier one of its chain (skipped keys).
 * 1: a copy of a message from two chains back is rejected with
 *    PQ3_ERR_REPLAY (not any other error). */
int sim_probe_ooo(void);
int sim_probe_stale_replay(void);

/* Runs one scenario. Fills *st (zeroed first). Returns PQ3_OK when the run
 * completed (findings are in *st) or was skipped (st->skipped), else the
 * set-up error. */
pq3_err sim_run(const sim_config *cfg, sim_stats *st);

/* The results table (docs/NETWORK.md explains the columns). */
void sim_print_header(FILE *f);
void sim_print_row(FILE *f, const sim_stats *st);
/* The check lines: any non-zero count here is a failure. */
void sim_print_checks(FILE *f, const sim_stats *st);

#endif
