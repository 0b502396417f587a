/*
 * The client side of pq3d's protocol (docs/SERVER.md): one TLS 1.3
 * connection to a server whose certificate is pinned, the device's
 * authentication through its pq3_signer, requests, and the envelopes the
 * server pushes. Library openpq3_client (src/client/), over the public
 * headers; blocking calls with a timeout, one connection per handle, one
 * thread at a time per handle. Nothing here prints.
 *
 * Errors: PQ3_ERR_IO (connect, TLS, a timeout, the connection closed:
 * pq3_client_error says which), PQ3_ERR_VERIFY (the server's certificate is
 * not the pinned one, or its challenge names another server),
 * PQ3_ERR_DECODE (the server sent a malformed frame; the connection is then
 * closed), PQ3_ERR_REFUSED (the server answered with a status other than OK:
 * pq3_client_status gives it and its reason), PQ3_ERR_ARG, PQ3_ERR_NOMEM.
 * After PQ3_ERR_IO or PQ3_ERR_DECODE the handle is closed: only
 * pq3_client_free remains useful.
 */
#ifndef PQ3_CLIENT_H
#define PQ3_CLIENT_H

#include "pq3/account.h"
#include "pq3/common.h"
#include "pq3/identity.h"
#include "pq3/kt.h"
#include "pq3/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pq3_client pq3_client;

typedef struct pq3_client_config {
    const char *host;                  /* numeric address or name */
    uint16_t port;
    const char *server_name;           /* the name its challenge must carry */
    uint8_t pin[32];                   /* SHA-256 of the server certificate (DER) */
    int timeout_ms;                    /* per call; 0: 10,000 */
} pq3_client_config;

/* Who the connection authenticates as. */
typedef struct pq3_client_identity {
    const char *handle;
    uint8_t device_id[PQ3_DEVICE_ID_BYTES];
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    const uint8_t *cert;
    size_t cert_len;
    const pq3_signer *signer;          /* the device authentication key */
} pq3_client_identity;

/*
 * Connects, checks the pin, reads the challenge (its name must be
 * cfg->server_name and its time within PQ3_CLOCK_SKEW of `now`), signs it
 * and authenticates. *out receives the AUTH result (state, list version,
 * queued envelopes; may be NULL). On error *c = NULL.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_client_connect(pq3_client **c, const pq3_client_config *cfg,
                                                const pq3_client_identity *id, uint64_t now,
                                                pq3_wire_auth_result *out);
/* Closes (if open) and frees. NULL does nothing. */
PQ3_API void pq3_client_free(pq3_client *c);

/* The status and reason of the last PQ3_ERR_REFUSED (or of the GOODBYE that
 * closed the connection); PQ3_ST_OK and "" when none. Each call on c but
 * these accessors starts afresh, unless the connection is closed (then the
 * story of its closing stays). With c NULL, these three report this
 * thread's last failed pq3_client_connect (whose handle is gone): e.g. a
 * refused AUTH's status and reason. */
PQ3_API uint16_t pq3_client_status(const pq3_client *c);
PQ3_API const char *pq3_client_reason(const pq3_client *c);
/* One line saying what went wrong last ("" when nothing). */
PQ3_API const char *pq3_client_error(const pq3_client *c);
/* The socket (for poll), -1 when closed. Frames already read from it (and
 * queued pushes) do not make it readable: call pq3_client_next(c, &d, 0)
 * until PQ3_ERR_UNKNOWN before waiting on it. */
PQ3_API int pq3_client_fd(const pq3_client *c);

/* ---- requests (SERVER.md §5); each waits for its response ------------------ */

PQ3_API PQ3_MUST_USE pq3_err pq3_client_register(pq3_client *c, const uint8_t *list,
                                                 size_t list_len, const uint8_t *invite,
                                                 size_t invite_len);
PQ3_API PQ3_MUST_USE pq3_err pq3_client_publish_list(pq3_client *c, const uint8_t *list,
                                                     size_t list_len,
                                                     const uint8_t *const *certs,
                                                     const size_t *cert_lens, uint32_t n);
PQ3_API PQ3_MUST_USE pq3_err pq3_client_put_bundle(pq3_client *c, const uint8_t *bundle,
                                                   size_t len);

/* A lookup's answer; its views point into the handle, valid until the next
 * call on c. PQ3_ERR_REFUSED with status NOT_FOUND: no such handle. */
PQ3_API PQ3_MUST_USE pq3_err pq3_client_lookup(pq3_client *c, const char *handle,
                                               pq3_wire_lookup_result *out);

/*
 * LOOKUP with its key transparency proof checked (docs/TRANSPARENCY.md
 * §5.2) before anything is returned: sends pin->size, verifies the list's
 * signature under the returned account key, then every check of
 * pq3_kt_verify_lookup against `kt` (the pinned log key, VRF key and
 * witnesses) at time `now`. On PQ3_OK the record is in the log (res->status
 * ACCEPTED) or promised by it (PENDING, shown as such), *pin has advanced to
 * the checkpoint verified (keep it, TRANSPARENCY.md §5.2 step 6) and *out
 * is as for pq3_client_lookup.
 * A refused lookup returns PQ3_ERR_VERIFY or PQ3_ERR_DECODE with
 * res->reason saying why (PQ3_KT_SPLIT_VIEW: keep it as an alert) and
 * pq3_client_error the line; *out and *pin are not written, and the keys
 * must not reach the device layer. Other errors as pq3_client_lookup.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_client_lookup_checked(pq3_client *c, const char *handle,
                                                       const pq3_kt_config *kt,
                                                       pq3_kt_pin *pin, uint64_t now,
                                                       pq3_wire_lookup_result *out,
                                                       pq3_kt_lookup *res);

/* Sends n (1..PQ3_WIRE_MAX_SEND) envelopes in one request; status[i] is
 * each one's (PQ3_ST_OK: durable at the server). */
PQ3_API PQ3_MUST_USE pq3_err pq3_client_send(pq3_client *c, const pq3_wire_envelope *env,
                                             uint16_t n, uint8_t *status);
PQ3_API PQ3_MUST_USE pq3_err pq3_client_ack(pq3_client *c, const uint64_t *ids, uint16_t n);
PQ3_API PQ3_MUST_USE pq3_err pq3_client_ping(pq3_client *c, uint64_t *server_time);

/* ---- no-wait ACKs ---------------------------------------------------------- */

/* No-wait ACKs a handle keeps unanswered at most: half the server's
 * PQ3_WIRE_MAX_INFLIGHT, so that a waiting request sent meanwhile is still
 * read by the server at once. */
#define PQ3_CLIENT_MAX_NOWAIT 32

/*
 * ACK (1..PQ3_WIRE_MAX_ACK queue ids) without waiting for its response: for
 * a receiver of many pushes, whose ACKs are then pipelined instead of one
 * commit round trip each. With PQ3_CLIENT_MAX_NOWAIT unanswered already, it
 * first waits (up to the configured timeout) for one of their responses.
 * Their responses are taken silently by whichever later call reads them
 * (any request, pq3_client_next, pq3_client_sync); pushes read meanwhile
 * are queued as usual (so, as after any call, take them with
 * pq3_client_next(c, &d, 0) before polling pq3_client_fd).
 *
 * A no-wait ACK the server refuses (RATE_LIMITED, UNAVAILABLE: nothing of
 * it was deleted) is kept and reported once, by the next call of
 * pq3_client_ack_nowait or pq3_client_sync: that call returns
 * PQ3_ERR_REFUSED, with the refused ACK's status and reason in
 * pq3_client_status and pq3_client_reason, and does nothing else (the
 * connection stays open; ACK again, or call again). The envelopes of a
 * refused ACK stay queued at the server and are pushed again on the next
 * connection (SERVER.md §8); other calls never report it.
 *
 * Errors: PQ3_ERR_REFUSED (an earlier no-wait ACK was refused, as above),
 * PQ3_ERR_ARG, PQ3_ERR_NOMEM, and those that close the handle: PQ3_ERR_IO
 * (including a timeout waiting for room), PQ3_ERR_DECODE.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_client_ack_nowait(pq3_client *c, const uint64_t *ids,
                                                   uint16_t n);

/*
 * Waits (up to the configured timeout) until every no-wait ACK is
 * answered, queueing pushes meanwhile. PQ3_OK: all of them were answered
 * OK, so their deletes are durable. Before pq3_client_free, call it to know
 * that; pq3_client_free itself waits for nothing (an unanswered ACK may or
 * may not have been applied; what was not is pushed again next time).
 * Errors: PQ3_ERR_REFUSED (one was refused: the first refusal's status and
 * reason, reported once), PQ3_ERR_ARG, and those that close the handle:
 * PQ3_ERR_IO (including the timeout), PQ3_ERR_DECODE.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_client_sync(pq3_client *c);

/* No-wait ACKs sent and not answered yet (0 for NULL). */
PQ3_API unsigned pq3_client_nowait_pending(const pq3_client *c);

/* ---- pushes (SERVER.md §6.3) ---------------------------------------------- */

/*
 * The next pushed envelope: one already read (pushes that came while a
 * response was awaited are kept, oldest first), else waits up to
 * timeout_ms (0: do not wait; -1: the configured timeout). PQ3_ERR_UNKNOWN
 * when none arrived in time (not an error of the connection). *out points
 * into the handle, valid until the next call on c.
 */
PQ3_API PQ3_MUST_USE pq3_err pq3_client_next(pq3_client *c, pq3_wire_deliver *out,
                                             int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
