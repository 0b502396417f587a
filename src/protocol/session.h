/*
 * Session internals shared by start.c (§10), session.c (§11-§13, §16),
 * state.c (§14) and peer.c (§10.6). Nothing below this layer includes it.
 */
#ifndef PQ3_PROTOCOL_SESSION_H
#define PQ3_PROTOCOL_SESSION_H

#include "pq3/session.h"
#include "protocol/kdf.h"
#include "protocol/message.h"

/* sidd_send = SHA-384(SID(self -> peer)), sidd_recv = SHA-384(SID(peer ->
 * self)) (§7). Errors: PQ3_ERR_CRYPTO. */
pq3_err pq3_session_sids(pq3_session *s);

/* The public identity of a certificate's device (§7). */
void pq3_session_party_set(pq3_session_party *p, const pq3_device_cert *c);

/* 1 when the two parties are the same device (same handle and device id,
 * or the same authentication key): a session needs two devices. */
int pq3_session_same_device(const pq3_session_party *a, const pq3_session_party *b);

/* §13 steps 4-5: with the message key mk, checks the mki in constant time
 * before any decryption, decrypts into body, unpads, checks the content
 * type and a receipt's body length (§16.1), fills info's content fields.
 * Errors: PQ3_ERR_VERIFY (mki), PQ3_ERR_DECODE, PQ3_ERR_VERSION,
 * PQ3_ERR_CRYPTO; body wiped on error except after a failed mki check
 * (nothing was written). */
pq3_err pq3_session_open_payload(pq3_kdf *k, const uint8_t mk[32], const pq3_msg_view *v,
                                 uint8_t *body, pq3_opened *info);

/* u32 counter that stops at its maximum. */
static inline uint32_t pq3_count_up(uint32_t c)
{
    return c == UINT32_MAX ? c : c + 1;
}

/*
 * pq3_session_open_ex on a message already decoded into v (from msg) whose
 * signature was already verified against this session's peer key and
 * sidd_recv: the peer container checks it once for all its sessions, which
 * are between the same two devices (§10.6). Same contract otherwise.
 */
pq3_err pq3_session_open_verified(pq3_session *s, pq3_skipped *sk, uint64_t now,
                                  const pq3_msg_view *v, uint8_t *body, size_t body_cap,
                                  pq3_opened *info);

/* pq3_session_deserialize of bytes that pq3_session_deserialize accepted
 * before, within the same call of a container loader (peer.c): the same
 * result without the key checks. Never for bytes from outside. */
pq3_err pq3_session_reload(pq3_session *s, const uint8_t *in, size_t len);

#endif
