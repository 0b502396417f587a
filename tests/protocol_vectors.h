/* The protocol vector generators: tests/protocol_vectors.c (Appendix A of
 * docs/PROTOCOL.md) and tests/protocol_vectors_network.c (Appendix B), and
 * the pieces they share. */
#ifndef PQ3_TEST_PROTOCOL_VECTORS_H
#define PQ3_TEST_PROTOCOL_VECTORS_H

#include <cjson/cJSON.h>

#include "protocol_fixture.h"

/* The whole vector file as a JSON string (free with free()), or NULL when
 * the conversation failed (the reason is printed). */
char *pq3tv_generate(void);
char *pq3tv_generate_network(void);

/* A random source that records what it hands out (the `rng` fields). */
typedef struct {
    pq3_rng inner;
    uint8_t buf[512];
    size_t len;
} pq3tv_rec_rng;
pq3_err pq3tv_rec_fill(void *ctx, uint8_t *out, size_t len);

/* A conversation's fixed part: alice and bob, bob's prekey, alice's
 * session, and each party's recording source. */
typedef struct {
    fx_pair x;
    pq3tv_rec_rng rr_a, rr_b;
    pq3_rng rng_a, rng_b;
} pq3tv_conv;

/* Creates the parties from DRBG(label, k) (A.1), bob's prekey and alice's
 * session start at FX_T0, recomputing the start's secrets, and adds the
 * "prekey" (A.4) and "start" (A.5) objects to root. 1 on success. */
int pq3tv_begin(pq3tv_conv *c, uint64_t k, cJSON *root);
/* {"alice": party, "bob": party} (A.3); sidd comes from the sessions. */
cJSON *pq3tv_parties_json(const pq3tv_conv *c, uint64_t k);

/* Recomputes a direction change (§11.2) from the sender's states before
 * and after the seal and the recorded draws, independently of session.c;
 * 1 when it agrees, with the new chain key and the shared secrets. */
int pq3tv_recompute_step(const pq3_session *before, const pq3_session *after,
                         const pq3tv_rec_rng *rr, uint8_t ck[32], uint8_t ss_ecdh[32],
                         uint8_t ss_kem[32], int *answered);

void pq3tv_add_hex(cJSON *o, const char *key, const uint8_t *p, size_t n);
void pq3tv_add_u64(cJSON *o, const char *key, uint64_t v);
/* Prints why a generator stopped; returns 0. */
int pq3tv_fail(const char *what, int step);

#endif
