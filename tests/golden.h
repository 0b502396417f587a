/*
 * The golden-blob scenario (tests/vectors/golden/README.md): a scripted,
 * deterministic conversation that leaves realistic instances of every
 * serialized structure, shared by the writer (golden_gen) and the test
 * (test_formats), which regenerates the blobs of the current formats and
 * requires the committed files to be byte-identical.
 */
#ifndef PQ3_TEST_GOLDEN_H
#define PQ3_TEST_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/peer.h"
#include "pq3/session.h"

#define PQ3TG_SESSIONS 4

/* What the scenario leaves behind (heap-allocated; pq3tg_free). */
typedef struct {
    /* a: bob after his receipt: SEND and RECV, an outstanding offer, send
     *    extension CT|EK, an ended peer chain remembered, last receipt set;
     * b: bob before it: RECV, his offer and alice's, an ended peer chain;
     * c: alice after three START messages: SEND, INITIATOR, START;
     * d: alice at the end: RECV, INITIATOR, bob's offer, recv extension CT,
     *    an ended peer chain remembered. */
    pq3_session sess[PQ3TG_SESSIONS];
    pq3_skipped *store;       /* bob's: keys of four messages never delivered */
    pq3_start_cache *cache;   /* bob's prekey: three accepted starts */
    pq3_peer *peer;           /* bob's container for alice: two sessions, one stored key */
} pq3tg_world;

/* One serialized structure of the current format and its file name. */
typedef struct {
    const char *name;
    uint8_t *bytes;
    size_t len;
} pq3tg_blob;

#define PQ3TG_BLOBS (PQ3TG_SESSIONS + 3)

/* The parties' random sources (tests/testutil.h): fx_party_init with these
 * handles, the labels "alice" and "bob" and this k recreates their keys. */
#define PQ3TG_ALICE "mailto:alice@example.org"
#define PQ3TG_BOB "tel:+15555550123"
#define PQ3TG_K 40

/* Runs the scenario; 1 on success (0: the reason is printed). */
int pq3tg_build(pq3tg_world *w);
void pq3tg_free(pq3tg_world *w);

/* The blobs of the current formats, named as in the README; 1 on success. */
int pq3tg_blobs(const pq3tg_world *w, pq3tg_blob out[PQ3TG_BLOBS]);
void pq3tg_blobs_free(pq3tg_blob b[PQ3TG_BLOBS]);

/* A blob as the files hold it: lowercase hex, 64 digits a line. Free with
 * free(). */
char *pq3tg_hex_lines(const uint8_t *p, size_t n);
/* The bytes of such a file (whitespace ignored); NULL on bad hex. */
uint8_t *pq3tg_unhex_lines(const char *text, size_t *len);

#endif
