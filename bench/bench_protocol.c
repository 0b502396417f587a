/*
 * Protocol costs (docs/PROTOCOL.md): session start, seal + open in a
 * ping-pong and in a one-way burst, messages carrying ML-KEM steps, the sum
 * of the primitives each needs, and bytes on the wire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "pq3/identity.h"
#include "pq3/mlkem.h"
#include "pq3/prekey.h"
#include "pq3/session.h"

#define T0 1700000000u

typedef struct {
    pq3_soft_key account, device;
    pq3_signer as, ds;
    pq3_device_cert cert;
    uint8_t enc[PQ3_CERT_MAX_BYTES];
    size_t enc_len;
} party;

static party alice, bob;
static pq3_prekey_secret prekey;
static uint8_t bundle_enc[PQ3_PREKEY_BUNDLE_BYTES];
static pq3_session sa, sb;
static uint8_t msg[16384], body[16384];
static size_t msg_len;
static const uint8_t text[100] = "a hundred-byte message........................................................................";
static pq3_rekey_policy policy;
static int turn;

static void make_party(party *p, const char *handle)
{
    pq3b_require(pq3_soft_key_generate(&p->account, NULL) == PQ3_OK, "keygen");
    pq3b_require(pq3_soft_key_generate(&p->device, NULL) == PQ3_OK, "keygen");
    pq3b_require(pq3_soft_signer(&p->as, &p->account) == PQ3_OK, "signer");
    pq3b_require(pq3_soft_signer(&p->ds, &p->device) == PQ3_OK, "signer");
    memset(&p->cert, 0, sizeof p->cert);
    p->cert.handle_len = (uint8_t)strlen(handle);
    memcpy(p->cert.handle, handle, p->cert.handle_len);
    memcpy(p->cert.auth_pub, p->device.pub, 33);
    p->cert.versions[0] = 1;
    p->cert.n_versions = 1;
    p->cert.created = T0 - 1;
    p->cert.expires = T0 + 86400 * 365;
    pq3b_require(pq3_cert_issue(p->enc, sizeof p->enc, &p->enc_len, &p->cert, &p->as) == PQ3_OK,
                 "issue");
    pq3b_require(pq3_cert_verify(&p->cert, p->enc, p->enc_len, p->account.pub, T0) == PQ3_OK,
                 "verify cert");
}

/* sender: bundle verification, session start, first seal */
static void start_sender(void *arg)
{
    pq3_prekey_bundle b;
    (void)arg;
    pq3b_require(pq3_prekey_verify(&b, bundle_enc, sizeof bundle_enc, &bob.cert, T0) == PQ3_OK,
                 "bundle");
    pq3b_require(pq3_session_start(&sa, &alice.cert, &bob.cert, &b, T0, NULL) == PQ3_OK, "start");
    pq3b_require(pq3_session_seal(&sa, &alice.ds, NULL, T0, NULL, 1, text, sizeof text, NULL, 0,
                                  msg, sizeof msg, &msg_len) == PQ3_OK,
                 "seal");
}

static void start_receiver(void *arg)
{
    pq3_opened info;
    (void)arg;
    pq3b_require(pq3_session_accept(&sb, &bob.cert, &alice.cert, &prekey, T0, msg, msg_len, body,
                                    sizeof body, &info) == PQ3_OK,
                 "accept");
}

static void start_whole(void *arg)
{
    start_sender(arg);
    start_receiver(arg);
}

static void fresh_session(void)
{
    start_whole(NULL);
}

/* one message: seal by one side, open by the other */
static void one_message(int from_alice)
{
    pq3_opened info;
    pq3_session *s = from_alice ? &sa : &sb, *r = from_alice ? &sb : &sa;
    pq3b_require(pq3_session_seal(s, from_alice ? &alice.ds : &bob.ds, &policy, T0, NULL, 1, text,
                                  sizeof text, NULL, 0, msg, sizeof msg, &msg_len) == PQ3_OK,
                 "seal");
    pq3b_require(pq3_session_open(r, T0, msg, msg_len, body, sizeof body, &info) == PQ3_OK,
                 "open");
}

static void pingpong(void *arg)
{
    (void)arg;
    turn = !turn;
    one_message(turn);
}

static void burst(void *arg)
{
    (void)arg;
    one_message(1);
}

/* primitives */
static uint8_t p_priv[32], p_pub[32], p_ss[32], p_sig[64], p_ek[PQ3_MLKEM768_EK_BYTES],
    p_dk[PQ3_MLKEM768_DK_BYTES], p_ct[PQ3_MLKEM768_CT_BYTES];
static pq3_ecdh_peer p_peer;
static pq3_ecdsa_pub p_vk;
static uint8_t p_tbs[124];
static void prim_sign(void *a) { (void)a; pq3b_require(pq3_ecdsa_sign(p_sig, alice.device.priv, p_tbs, sizeof p_tbs) == PQ3_OK, "sign"); }
static void prim_verify(void *a) { (void)a; pq3b_require(pq3_ecdsa_verify(&p_vk, p_sig, p_tbs, sizeof p_tbs) == PQ3_OK, "verify"); }
static void prim_keygen(void *a) { (void)a; pq3b_require(pq3_ecdh_keypair(p_priv, p_pub, NULL) == PQ3_OK, "ecdh keygen"); }
static void prim_derive(void *a) { (void)a; pq3b_require(pq3_ecdh_derive(p_ss, p_priv, &p_peer) == PQ3_OK, "derive"); }
static void prim_import(void *a) { (void)a; pq3b_require(pq3_ecdh_import(&p_peer, p_pub) == PQ3_OK, "import"); }
static void prim_kem_keygen(void *a) { (void)a; pq3b_require(pq3_mlkem768_keypair(p_ek, p_dk) == PQ3_OK, "kem keygen"); }
static void prim_kem_encaps(void *a) { (void)a; pq3b_require(pq3_mlkem768_encaps(p_ct, p_ss, p_ek) == PQ3_OK, "encaps"); }
static void prim_kem_decaps(void *a) { (void)a; pq3b_require(pq3_mlkem768_decaps(p_ss, p_ct, p_dk) == PQ3_OK, "decaps"); }
static void prim_kem_check(void *a) { (void)a; pq3b_require(pq3_mlkem768_check_ek(p_ek) == PQ3_OK, "check ek"); }

/* Mean wire overhead (bytes beyond the 100-byte body) of a conversation.
 * Header repetition until acknowledged (docs/PROTOCOL.md §11.4) is always
 * on: START / CT on every message of their chain, EK on a chain's first. */
static double mean_overhead(int n, int change_every_percent)
{
    unsigned long long total = 0;
    unsigned rnd = 12345;
    int who = 1;
    policy = pq3_rekey_policy_default();
    fresh_session();
    total += msg_len - sizeof text;
    for (int i = 1; i < n; i++) {
        rnd = rnd * 1103515245u + 12345u;
        if ((int)((rnd >> 16) % 100) < change_every_percent)
            who = !who;
        one_message(who);
        total += msg_len - sizeof text;
    }
    return (double)total / n;
}

static size_t size_with(int flags_wanted)
{
    /* seal until a message with exactly these extension flags appears */
    policy = pq3_rekey_policy_default();
    policy.max_messages = flags_wanted == 0 ? 50 : 0; /* plain: no offers */
    fresh_session();
    for (int i = 0; i < 8; i++) {
        one_message(i % 2 == 0 ? 0 : 1);
        if ((msg[2] & 7) == flags_wanted)
            return msg_len;
    }
    return 0;
}

int main(void)
{
    pq3b_result r_start_s, r_start_r, r_start, r_pp, r_burst, r_kem, r_sign, r_verify, r_keygen,
        r_derive, r_import, r_kk, r_ke, r_kd, r_kc;
    char note[128];
    pq3_prekey_bundle b;

    make_party(&alice, "mailto:alice@example.org");
    make_party(&bob, "tel:+15555550123");
    pq3b_require(pq3_prekey_generate(&prekey, 1, T0, T0 + 7 * 86400, &bob.ds, NULL) == PQ3_OK,
                 "prekey");
    pq3b_require(pq3_prekey_encode(bundle_enc, &prekey.bundle) == PQ3_OK, "encode");
    pq3b_require(pq3_prekey_verify(&b, bundle_enc, sizeof bundle_enc, &bob.cert, T0) == PQ3_OK,
                 "bundle");

    /* primitives */
    memset(p_tbs, 7, sizeof p_tbs);
    pq3b_require(pq3_ecdsa_import(&p_vk, alice.device.pub) == PQ3_OK, "import vk");
    prim_sign(NULL);
    prim_keygen(NULL);
    prim_import(NULL);
    prim_kem_keygen(NULL);
    prim_kem_encaps(NULL);
    r_sign = pq3b_measure(prim_sign, NULL, 2000);
    r_verify = pq3b_measure(prim_verify, NULL, 2000);
    r_keygen = pq3b_measure(prim_keygen, NULL, 2000);
    r_derive = pq3b_measure(prim_derive, NULL, 2000);
    r_import = pq3b_measure(prim_import, NULL, 2000);
    r_kk = pq3b_measure(prim_kem_keygen, NULL, 2000);
    r_ke = pq3b_measure(prim_kem_encaps, NULL, 2000);
    r_kd = pq3b_measure(prim_kem_decaps, NULL, 2000);
    r_kc = pq3b_measure(prim_kem_check, NULL, 2000);

    r_start_s = pq3b_measure(start_sender, NULL, 300);
    r_start_r = pq3b_measure(start_whole, NULL, 300); /* whole; receiver = difference */
    r_start = r_start_r;
    r_start_r.median_ticks = r_start.median_ticks - r_start_s.median_ticks;
    r_start_r.median_us = r_start.median_us - r_start_s.median_us;

    policy = pq3_rekey_policy_default();
    fresh_session();
    r_pp = pq3b_measure(pingpong, NULL, 3000);
    fresh_session();
    /* Bob's reply acknowledges the session start (§11.4), so the burst runs
     * on an established chain of Alice's, not on the start chain, whose every
     * message would repeat the 1.6 KB START header until answered. */
    one_message(0);
    r_burst = pq3b_measure(burst, NULL, 3000);
    policy = pq3_rekey_policy_default();
    policy.max_messages = 0; /* every message answers and offers: ek + ct */
    fresh_session();
    r_kem = pq3b_measure(pingpong, NULL, 1000);

    pq3b_header("OpenPQ3 protocol (medians)");
    pq3b_row("session start, sender (verify+start+seal)", r_start_s, "");
    pq3b_row("session start, receiver (accept)", r_start_r, "whole minus sender");
    pq3b_row("session start, whole", r_start, "target <= 630 us");
    snprintf(note, sizeof note, "target <= 215 us; primitives %.1f us",
             r_sign.median_us + r_verify.median_us + r_keygen.median_us +
                 2 * r_derive.median_us + r_import.median_us);
    pq3b_row("seal+open 100 B, ping-pong", r_pp, note);
    snprintf(note, sizeof note, "target <= 100 us; primitives %.1f us",
             r_sign.median_us + r_verify.median_us);
    pq3b_row("seal+open 100 B, one-way burst", r_burst, note);
    snprintf(note, sizeof note, "primitives %.1f us",
             r_sign.median_us + r_verify.median_us + r_keygen.median_us +
                 2 * r_derive.median_us + r_import.median_us + r_kk.median_us +
                 r_ke.median_us + r_kd.median_us + 2 * r_kc.median_us);
    pq3b_row("seal+open, KEM step (ek + ct)", r_kem, note);
    pq3b_row("  ECDSA sign", r_sign, "");
    pq3b_row("  ECDSA verify", r_verify, "");
    pq3b_row("  ECDH keygen", r_keygen, "");
    pq3b_row("  ECDH derive", r_derive, "");
    pq3b_row("  ECDH import (x-only)", r_import, "");
    pq3b_row("  ML-KEM-768 keygen", r_kk, "");
    pq3b_row("  ML-KEM-768 encaps", r_ke, "");
    pq3b_row("  ML-KEM-768 decaps", r_kd, "");
    pq3b_row("  ML-KEM-768 ek check", r_kc, "");

    printf("\nbytes on the wire, 100-byte body (overhead = wire - 100)\n");
    {
        size_t plain, ek, ct, both;
        policy = pq3_rekey_policy_default();
        fresh_session();
        one_message(0); /* bob's reply: alice's chain repeats START (section 11.4) */
        plain = msg_len;
        ek = size_with(PQ3_MSG_EK);
        /* an answer alone: bob offers, alice answers under the default
         * policy (the answer resets the counters, so no new offer) */
        policy.max_messages = 0;
        fresh_session();
        one_message(0);
        policy = pq3_rekey_policy_default();
        one_message(1);
        ct = (msg[2] & 7) == PQ3_MSG_CT ? msg_len : 0;
        both = size_with(PQ3_MSG_EK | PQ3_MSG_CT);
        printf("  plain message            %5zu B  overhead %4zu\n", plain, plain - 100);
        printf("  with ek                  %5zu B  overhead %4zu\n", ek, ek - 100);
        printf("  with ct                  %5zu B  overhead %4zu\n", ct, ct - 100);
        printf("  with ek and ct           %5zu B  overhead %4zu\n", both, both - 100);
    }
    printf("  mean overhead, 10,000 messages, default policy, headers repeated until\n"
           "  acknowledged (section 11.4; target <= 190 was set before repetition):\n");
    printf("    ping-pong (direction change every message)   %.1f B\n", mean_overhead(10000, 100));
    printf("    random, direction change p = 0.5              %.1f B\n", mean_overhead(10000, 50));
    printf("    random, direction change p = 0.2              %.1f B\n", mean_overhead(10000, 20));
    printf("    random, direction change p = 0.05             %.1f B\n", mean_overhead(10000, 5));
    return 0;
}
