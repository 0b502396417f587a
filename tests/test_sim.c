/*
 * Sessions over a simulated network (tests/sim.h, docs/NETWORK.md): short
 * runs of every scenario with fixed seeds, each side of a link one peer
 * device container (pq3_peer). Each asserts that every delivered message
 * decrypts exactly once and to the bytes sealed, that duplicates never
 * decrypt and are rejected as replays, that no other error appears, that
 * traffic flows again once the network heals, that the serialized session
 * and container stay bounded, that both sides end on one common session,
 * and that a captured container stops decrypting where the healing model
 * says it does.
 * The probes in sim.c ask the library, through its public API, for
 * out-of-order delivery and for copies from older chains being reported as
 * replays; both are required.
 */
#include <stdio.h>
#include <string.h>

#include "sim.h"
#include "testutil.h"

#define N 1500

static void check_common(const sim_config *cfg, const sim_stats *st)
{
    unsigned links = cfg->devices >= 3 ? 2 : 1;
    CHECKF(st->setup_err == PQ3_OK, "%s: %s", cfg->name, pq3_strerror(st->setup_err));
    CHECKF(st->sent == cfg->messages, "%s: sent %llu", cfg->name, (unsigned long long)st->sent);
    CHECK(st->double_open == 0);
    CHECK(st->body_mismatch == 0);
    CHECKF(st->unexpected == 0, "%s: %llu unexpected errors, first %s", cfg->name,
           (unsigned long long)st->unexpected, st->first_unexpected);
    /* copies are rejected as replays, from older chains too (§13 step 3);
     * they never decrypt */
    CHECKF(st->dup_other == 0, "%s: %llu copies rejected otherwise than as replays (%s)",
           cfg->name, (unsigned long long)st->dup_other, st->first_unexpected);
    CHECK(st->limits == 0);
    CHECK(st->evicted_late == 0);
    /* §16.1: no receipt answers a chain of receipts only */
    CHECK(st->receipt_echo == 0);
    /* every message the network delivered decrypted exactly once */
    CHECKF(st->opened == st->net_delivered, "%s: opened %llu of %llu delivered", cfg->name,
           (unsigned long long)st->opened, (unsigned long long)st->net_delivered);
    CHECK(st->net_delivered + st->lost == st->sent + st->receipts);
    CHECK(st->opened_app == st->net_delivered_app);
    /* each extra copy was rejected as a replay */
    CHECKF(st->replays + st->dup_other == st->dup_copies, "%s: %llu replays for %llu extra copies",
           cfg->name, (unsigned long long)st->replays, (unsigned long long)st->dup_copies);
    CHECK(st->max_state_bytes > 0 && st->max_state_bytes <= PQ3_STATE_MAX_BYTES);
    CHECK(st->max_peer_bytes > st->max_state_bytes && st->max_peer_bytes <= PQ3_PEER_MAX_BYTES);
    /* both sides of every link send on the same session and hold no other
     * (§10.6); one start per link holds one session throughout */
    CHECKF(st->links_agree == links && st->links_single == links,
           "%s: %llu of %u links agree, %llu hold one session", cfg->name,
           (unsigned long long)st->links_agree, links, (unsigned long long)st->links_single);
    if (!cfg->crossed) {
        CHECK(st->sessions_created == 2ull * links);
        CHECK(st->max_sessions == 1);
        CHECK(st->other_session_msgs == 0 && st->agree_slot == 0);
    }
    /* the network healed: every ping-pong message went through */
    CHECK(st->after_heal_fail == 0);
    CHECK(st->after_heal_ok == 2ull * cfg->heal_rounds * links);
    /* healing: captures were taken, the captured copy followed the victim
     * and stopped decrypting exactly where the model says */
    CHECK(st->captures > 0);
    CHECK(st->healed_c > 0);
    CHECK(st->healed_q > 0);
    CHECKF(st->real_bad == 0, "%s: captured copy: %s", cfg->name, st->first_real_bad);
    CHECK(st->real_healed > 0);
    CHECK(st->real_agree > 0);
    /* a post-quantum heal is never earlier than a classical one */
    CHECK(st->heal_q_max >= st->heal_c_max || st->healed_q < st->healed_c);
    CHECK(st->kem_first > 0 && st->kem_steps > 0);
}

static void run(const sim_config *cfg, sim_stats *st)
{
    pq3_err err = sim_run(cfg, st);
    CHECKF(err == PQ3_OK, "%s: %s", cfg->name, pq3_strerror(err));
    sim_print_checks(stdout, st);
    if (!st->skipped)
        check_common(cfg, st);
}

static void test_perfect(void)
{
    sim_config cfg = sim_config_default("perfect", 1, N);
    sim_stats st;
    run(&cfg, &st);
    CHECK(st.lost == 0 && st.dup_copies == 0 && st.replays == 0);
    CHECK(st.opened_app == st.sent && st.opened == st.sent + st.receipts);
}

/* Header repetition until acknowledged (§11.4) with long chains (5
 * messages on average) and no receipts: a ct is repeated on every later
 * message of its chain until the peer answers (an ek only on the first
 * message of each chain while unanswered), so payloads are re-sent more
 * than once on average (about 1.5 times here); with receipts the peer
 * answers at once and re-sends fall to a fraction of that. */
static void test_long_chains(void)
{
    sim_config cfg = sim_config_default("perfect, long chains, no receipts", 2, N);
    sim_config cfg_r = sim_config_default("perfect, long chains", 2, N);
    sim_stats st, st_r;
    cfg.switch_prob = 0.2;
    cfg.receipts = 0;
    cfg_r.switch_prob = 0.2;
    run(&cfg, &st);
    CHECK(st.receipts == 0);
    CHECK(st.opened_app == st.sent && st.opened == st.sent);
    CHECKF(st.kem_resends >= st.kem_first, "%llu re-sends of %llu payloads",
           (unsigned long long)st.kem_resends, (unsigned long long)st.kem_first);
    run(&cfg_r, &st_r);
    CHECK(st_r.receipts > 0);
    CHECKF(2 * st_r.kem_resends < st.kem_resends, "%llu re-sends with receipts, %llu without",
           (unsigned long long)st_r.kem_resends, (unsigned long long)st.kem_resends);
}

static void test_duplicates(void)
{
    sim_config cfg = sim_config_default("5% duplication", 3, N);
    sim_stats st;
    cfg.dup = 0.05;
    run(&cfg, &st);
    CHECK(st.dup_copies > 0);
    CHECK(st.opened_app == st.sent && st.opened == st.sent + st.receipts);
}

static void test_duplicates_delayed(void)
{
    sim_config cfg = sim_config_default("5% duplication, copies up to 8 slots late", 4, N);
    sim_stats st;
    cfg.dup = 0.05;
    cfg.dup_delay = 8;
    run(&cfg, &st);
    if (!st.skipped)
        CHECK(st.dup_copies > 0);
}

static void test_bursts(void)
{
    sim_config cfg = sim_config_default("one-way bursts of 100", 5, 2000);
    sim_stats st;
    cfg.burst = 100;
    cfg.silent_receiver = 1;
    run(&cfg, &st);
    /* only at a turn change, before the first message of the turn */
    CHECK(st.receipts <= st.sent / cfg.burst + 1);
    CHECK(st.opened_app == st.sent && st.opened == st.sent + st.receipts);
    /* a classical heal needs the victim's next chain: at most two turns */
    CHECK(st.heal_c_max <= 2 * cfg.burst + 1);
}

static void test_loss(void)
{
    sim_config cfg = sim_config_default("10% loss", 6, N);
    sim_stats st;
    cfg.loss = 0.10;
    cfg.needs_ooo = 1;
    run(&cfg, &st);
    if (!st.skipped)
        CHECK(st.lost > 0);
}

static void test_reorder(void)
{
    sim_config cfg = sim_config_default("reorder window 8", 7, N);
    sim_stats st;
    cfg.reorder = 8;
    cfg.needs_ooo = 1;
    run(&cfg, &st);
    if (!st.skipped)
        CHECK(st.opened_app == st.sent && st.opened == st.sent + st.receipts);
}

static void test_bad_network(void)
{
    sim_config cfg = sim_config_default("bad network", 8, N);
    sim_stats st;
    cfg.loss = 0.10;
    cfg.reorder = 16;
    cfg.dup = 0.05;
    cfg.dup_delay = 16;
    cfg.burst = 20;
    cfg.needs_ooo = 1;
    run(&cfg, &st);
}

static void test_three_devices(void)
{
    sim_config cfg = sim_config_default("three devices", 9, N);
    sim_stats st;
    cfg.devices = 3;
    cfg.dup = 0.05;
    run(&cfg, &st);
    CHECK(st.opened_app == st.sent && st.opened == st.sent + st.receipts);
}

/* Bounds exceeded on purpose (§13.1): a store of 8 keys per jump and 16 in
 * all under 30% loss, reordering and long bursts. The store fills with keys
 * of lost messages; the oldest are evicted, so the session lives: every
 * message the network delivered decrypts (but for the rare one whose key was
 * evicted before it arrived, or a gap of more than 8 on one chain), and
 * traffic flows once the network heals. */
static void test_limits(void)
{
    sim_config cfg = sim_config_default("bounds exceeded (jump 8, 16 keys, 30% loss)", 12, N);
    sim_stats st;
    cfg.loss = 0.30;
    cfg.reorder = 4;
    cfg.burst = 30;
    cfg.max_jump = 8;
    cfg.max_keys = 16;
    cfg.needs_ooo = 1;
    CHECK_OK(sim_run(&cfg, &st));
    sim_print_checks(stdout, &st);
    CHECK(!st.skipped);
    CHECK(st.unexpected == 0 && st.double_open == 0 && st.body_mismatch == 0);
    CHECK(st.max_skipped_keys <= 16);
    CHECK(st.lost > st.sent / 5);
    CHECK(st.opened + st.limits + st.evicted_late == st.net_delivered);
    /* delivery at the network's rate: at most 1% of the delivered lost */
    CHECKF(100 * (st.limits + st.evicted_late) <= st.net_delivered,
           "%llu limits, %llu evicted before arrival", (unsigned long long)st.limits,
           (unsigned long long)st.evicted_late);
    CHECKF(st.after_heal_fail == 0, "%s: after healing: %s", cfg.name, st.first_after_heal);
    CHECK(st.after_heal_ok == 2ull * cfg.heal_rounds);
}

/* The same bounds under pure loss, no reordering: nothing arrives late, so
 * every message the network delivered decrypts, and the store stays full
 * of keys of lost messages, the oldest evicted. */
static void test_sustained_loss(void)
{
    sim_config cfg = sim_config_default("sustained loss (jump 8, 16 keys, 20% loss)", 13, N);
    sim_stats st;
    cfg.loss = 0.20;
    cfg.max_jump = 8;
    cfg.max_keys = 16;
    cfg.switch_prob = 0.1;
    run(&cfg, &st);
    CHECK(st.max_skipped_keys == 16);
    CHECK(st.opened_app == st.net_delivered_app);
}

/* Both devices start a session at once (§10.5): the two starts cross in
 * the network, so each side holds two sessions. They must converge on one
 * (pq3_peer_current agrees), drop the other (§10.6) and lose nothing: every
 * message, those of the dropped session included, decrypts exactly once
 * (check_common). On a perfect network both starts arrive within
 * PQ3_PEER_TIE_SECONDS of their creation, so both sides pick the lowest
 * session id as soon as they hold both. */
static void test_crossed(void)
{
    sim_config cfg = sim_config_default("crossed starts", 14, N);
    sim_stats st;
    cfg.crossed = 1;
    run(&cfg, &st);
    CHECK(st.sessions_created == 4);
    CHECK(st.max_sessions == 2);
    CHECK(st.opened_app == st.sent && st.opened == st.sent + st.receipts);
    CHECKF(st.agree_slot == 2, "%s: sides agree from slot %llu", cfg.name,
           (unsigned long long)st.agree_slot);
    /* the losing side's start, at least, went out on the dropped session */
    CHECK(st.other_session_msgs >= 1);
}

/* Crossed starts on a network that loses and reorders: arrivals are more
 * than PQ3_PEER_TIE_SECONDS apart, so each side first sends on the session
 * it last received on; the sides converge by answering (§10.6). */
static void test_crossed_lossy(void)
{
    sim_config cfg = sim_config_default("crossed starts, 10% loss, reorder window 8", 15, N);
    sim_stats st;
    cfg.crossed = 1;
    cfg.loss = 0.10;
    cfg.reorder = 8;
    cfg.needs_ooo = 1;
    run(&cfg, &st);
    if (st.skipped)
        return;
    CHECK(st.lost > 0);
    CHECK(st.sessions_created >= 3 && st.max_sessions == 2);
    CHECKF(st.agree_slot > 0 && st.agree_slot < 100, "%s: sides agree from slot %llu",
           cfg.name, (unsigned long long)st.agree_slot);
}

/* A run replays exactly from its seed. */
static void test_reproducible(void)
{
    sim_config cfg = sim_config_default("reproducible", 10, 300);
    sim_stats a, b;
    cfg.dup = 0.05;
    CHECK_OK(sim_run(&cfg, &a));
    CHECK_OK(sim_run(&cfg, &b));
    CHECK(a.wire_bytes == b.wire_bytes && a.dup_copies == b.dup_copies &&
          a.heal_c_sum == b.heal_c_sum && a.heal_q_sum == b.heal_q_sum &&
          a.kem_first == b.kem_first && a.max_state_bytes == b.max_state_bytes);
    cfg.seed = 11;
    CHECK_OK(sim_run(&cfg, &b));
    CHECK(a.wire_bytes != b.wire_bytes);
}

int main(void)
{
    CHECK(sim_probe_ooo());
    CHECK(sim_probe_stale_replay()); /* a copy from two chains back: PQ3_ERR_REPLAY */
    test_perfect();
    test_long_chains();
    test_duplicates();
    test_duplicates_delayed();
    test_bursts();
    test_loss();
    test_reorder();
    test_bad_network();
    test_three_devices();
    test_limits();
    test_sustained_loss();
    test_crossed();
    test_crossed_lossy();
    test_reproducible();
    return pq3t_finish();
}
