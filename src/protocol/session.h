/* Session internals shared by session.c and state.c. */
#ifndef PQ3_PROTOCOL_SESSION_H
#define PQ3_PROTOCOL_SESSION_H

#include "pq3/session.h"

/* sidd_send = SHA-384(SID(self -> peer)), sidd_recv = SHA-384(SID(peer ->
 * self)) (docs/PROTOCOL.md §7). Errors: PQ3_ERR_CRYPTO. */
pq3_err pq3_session_sids(pq3_session *s);

#endif
