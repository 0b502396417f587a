/*
 * Session state serialization (docs/PROTOCOL.md §14). The encoder and the
 * decoder follow the table of §14 field by field; the decoder is strict and
 * re-validates every key once, so a loaded state never needs it again.
 */
#include <string.h>

#include "crypto/p256.h"
#include "protocol/codec.h"
#include "protocol/message.h"
#include "protocol/session.h"

#define EXT_MASK (PQ3_MSG_START | PQ3_MSG_EK | PQ3_MSG_CT)
/* The previous state format, still read (§14). */
#define PQ3_STATE_FORMAT_PREVIOUS 3
#define ST_KNOWN (PQ3_ST_SEND | PQ3_ST_RECV | PQ3_ST_MY_OFFER | PQ3_ST_PEER_OFFER | \
                  PQ3_ST_INITIATOR | PQ3_ST_RECV2 | PQ3_ST_PEER_APP)

/* The flag rules of §14. */
static int flags_ok(uint8_t flags, uint8_t send_ext, uint8_t recv_ext)
{
    /* Format 2 records only the mandatory part (START or CT) of the peer
     * chain's extension (§11.4). */
    if ((flags & ~ST_KNOWN) != 0 || (send_ext & ~EXT_MASK) != 0 ||
        (recv_ext & ~(PQ3_MSG_START | PQ3_MSG_CT)) != 0)
        return 0;
    if ((flags & (PQ3_ST_RECV2 | PQ3_ST_PEER_APP)) && !(flags & PQ3_ST_RECV))
        return 0;
    if (send_ext != 0 && !(flags & PQ3_ST_SEND))
        return 0;
    if (recv_ext != 0 && !(flags & PQ3_ST_RECV))
        return 0;
    if ((send_ext & (PQ3_MSG_START | PQ3_MSG_CT)) == (PQ3_MSG_START | PQ3_MSG_CT) ||
        (recv_ext & (PQ3_MSG_START | PQ3_MSG_CT)) == (PQ3_MSG_START | PQ3_MSG_CT))
        return 0;
    if ((send_ext & PQ3_MSG_EK) && !(flags & PQ3_ST_MY_OFFER))
        return 0;
    return 1;
}

static void write_party(pq3_writer *w, const pq3_session_party *p)
{
    pq3_write_vec16(w, p->handle, p->handle_len, PQ3_HANDLE_MAX);
    pq3_write_bytes(w, p->device_id, sizeof p->device_id);
    pq3_write_bytes(w, p->auth_pub, sizeof p->auth_pub);
}

pq3_err pq3_session_serialize(const pq3_session *s, uint8_t *out, size_t cap, size_t *out_len)
{
    pq3_writer w;
    size_t len = 0;
    pq3_err err;

    if (s == NULL || out_len == NULL || (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    if (s->version != PQ3_PROTOCOL_VERSION || s->self.handle_len == 0 ||
        s->peer.handle_len == 0 || !flags_ok(s->flags, s->send_ext, s->recv_ext) ||
        s->prev_peer_count > PQ3_PREV_PEER_KEYS ||
        ((s->flags & PQ3_ST_RECV2) != 0) != (s->prev_peer_count > 0))
        return PQ3_ERR_STATE;
    pq3_writer_init(&w, out, cap);
    pq3_write_u8(&w, PQ3_STATE_FORMAT_VERSION);
    pq3_write_u8(&w, PQ3_TYPE_STATE);
    pq3_write_u8(&w, s->version);
    pq3_write_u8(&w, s->flags);
    pq3_write_u8(&w, s->send_ext);
    pq3_write_u8(&w, s->recv_ext);
    write_party(&w, &s->self);
    write_party(&w, &s->peer);
    pq3_write_bytes(&w, s->rk, sizeof s->rk);
    pq3_write_u32(&w, s->pns);
    pq3_write_bytes(&w, s->peer_pub, sizeof s->peer_pub);
    pq3_write_u32(&w, s->pq_count);
    pq3_write_u64(&w, s->pq_time);
    pq3_write_bytes(&w, s->session_id, sizeof s->session_id);
    pq3_write_u64(&w, s->last_receipt);
    pq3_write_u64(&w, s->generation);
    /* Format 4: the y coordinates of the two peer keys, so that loading
     * checks the curve equation instead of solving it (§14). */
    pq3_write_bytes(&w, s->peer_auth.point + 33, 32);
    pq3_write_bytes(&w, s->peer_point.point + 33, 32);
    if (s->flags & PQ3_ST_RECV2) {
        pq3_write_u8(&w, s->prev_peer_count);
        pq3_write_bytes(&w, s->prev_peer_pubs[0], (size_t)s->prev_peer_count * 32);
    }
    if (s->flags & PQ3_ST_SEND) {
        pq3_write_bytes(&w, s->cks, sizeof s->cks);
        pq3_write_u32(&w, s->ns);
        pq3_write_bytes(&w, s->my_priv, sizeof s->my_priv);
        pq3_write_bytes(&w, s->my_pub, sizeof s->my_pub);
    }
    if (s->flags & PQ3_ST_RECV) {
        pq3_write_bytes(&w, s->ckr, sizeof s->ckr);
        pq3_write_u32(&w, s->nr);
        pq3_write_u32(&w, s->peer_pn);
    }
    if (s->recv_ext != 0)
        pq3_write_bytes(&w, s->recv_digest, sizeof s->recv_digest);
    if (s->send_ext & PQ3_MSG_START) {
        pq3_write_bytes(&w, s->start_hash, sizeof s->start_hash);
        pq3_write_bytes(&w, s->start_ct, sizeof s->start_ct);
    }
    if (s->send_ext & PQ3_MSG_CT)
        pq3_write_bytes(&w, s->chain_ct, sizeof s->chain_ct);
    if (s->flags & PQ3_ST_MY_OFFER) {
        pq3_write_bytes(&w, s->my_dk, sizeof s->my_dk);
        pq3_write_bytes(&w, s->my_ek, sizeof s->my_ek);
    }
    if (s->flags & PQ3_ST_PEER_OFFER)
        pq3_write_bytes(&w, s->peer_ek, sizeof s->peer_ek);
    err = pq3_writer_end(&w, &len);
    *out_len = len;
    if (err != PQ3_OK && out != NULL)
        pq3_wipe(out, cap);
    return err;
}

/* The uncompressed point 04 || x || y into out when (x, y) is on the curve
 * (public values). */
static int peer_point(uint8_t out[65], const uint8_t x[32], const uint8_t y[32])
{
    if (!pq3_p256_on_curve(x, y))
        return 0;
    out[0] = 0x04;
    memcpy(out + 1, x, 32);
    memcpy(out + 33, y, 32);
    return 1;
}

static void read_party(pq3_reader *r, pq3_session_party *p)
{
    size_t n;
    const uint8_t *h = pq3_read_vec16(r, &n, PQ3_HANDLE_MAX);
    if (h != NULL && n == 0)
        pq3_reader_fail(r, PQ3_ERR_DECODE);
    if (h != NULL && n > 0)
        memcpy(p->handle, h, n);
    p->handle_len = (uint8_t)n;
    pq3_read_bytes(r, p->device_id, sizeof p->device_id);
    pq3_read_bytes(r, p->auth_pub, sizeof p->auth_pub);
}

/* The decoder; `trusted` (the bytes passed this decoder before, in the same
 * call of a container loader) skips the key checks, which are the cost of a
 * load. */
static pq3_err decode(pq3_session *s, const uint8_t *in, size_t len, int trusted);

pq3_err pq3_session_deserialize(pq3_session *s, const uint8_t *in, size_t len)
{
    return decode(s, in, len, 0);
}

pq3_err pq3_session_reload(pq3_session *s, const uint8_t *in, size_t len)
{
    return decode(s, in, len, 1);
}

static pq3_err decode(pq3_session *s, const uint8_t *in, size_t len, int trusted)
{
    pq3_session w;
    pq3_reader r;
    uint8_t auth_y[32] = { 0 }, ratchet_y[32] = { 0 };
    uint8_t format;
    pq3_err err;

    if (s == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if (len < 3)
        return PQ3_ERR_DECODE;
    /* The current format and the previous one (§14): format 3 has no
     * generation; it loads as 0 and the first change makes it 1. */
    format = in[0];
    if ((format != PQ3_STATE_FORMAT_VERSION && format != PQ3_STATE_FORMAT_PREVIOUS) ||
        in[1] != PQ3_TYPE_STATE || in[2] != PQ3_PROTOCOL_VERSION)
        return PQ3_ERR_VERSION;
    memset(&w, 0, sizeof w);
    pq3_reader_init(&r, in + 2, len - 2);
    w.version = pq3_read_u8(&r);
    w.flags = pq3_read_u8(&r);
    w.send_ext = pq3_read_u8(&r);
    w.recv_ext = pq3_read_u8(&r);
    if (!flags_ok(w.flags, w.send_ext, w.recv_ext))
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    read_party(&r, &w.self);
    read_party(&r, &w.peer);
    pq3_read_bytes(&r, w.rk, sizeof w.rk);
    w.pns = pq3_read_u32(&r);
    pq3_read_bytes(&r, w.peer_pub, sizeof w.peer_pub);
    w.pq_count = pq3_read_u32(&r);
    w.pq_time = pq3_read_u64(&r);
    pq3_read_bytes(&r, w.session_id, sizeof w.session_id);
    w.last_receipt = pq3_read_u64(&r);
    if (format >= 4) {
        w.generation = pq3_read_u64(&r);
        pq3_read_bytes(&r, auth_y, sizeof auth_y);
        pq3_read_bytes(&r, ratchet_y, sizeof ratchet_y);
    }
    if (w.flags & PQ3_ST_RECV2) {
        /* formats 3, 4: 1..8 keys of ended peer chains, distinct, none the
         * current one (§14); ratchet keys are public data, plain compares */
        w.prev_peer_count = pq3_read_u8(&r);
        if (w.prev_peer_count == 0 || w.prev_peer_count > PQ3_PREV_PEER_KEYS)
            pq3_reader_fail(&r, PQ3_ERR_DECODE);
        else
            pq3_read_bytes(&r, w.prev_peer_pubs[0], (size_t)w.prev_peer_count * 32);
        for (uint32_t i = 0; r.err == PQ3_OK && i < w.prev_peer_count; i++) {
            if (memcmp(w.prev_peer_pubs[i], w.peer_pub, 32) == 0)
                pq3_reader_fail(&r, PQ3_ERR_DECODE);
            for (uint32_t j = i + 1; j < w.prev_peer_count; j++)
                if (memcmp(w.prev_peer_pubs[i], w.prev_peer_pubs[j], 32) == 0)
                    pq3_reader_fail(&r, PQ3_ERR_DECODE);
        }
    }
    if (w.flags & PQ3_ST_SEND) {
        pq3_read_bytes(&r, w.cks, sizeof w.cks);
        w.ns = pq3_read_u32(&r);
        pq3_read_bytes(&r, w.my_priv, sizeof w.my_priv);
        pq3_read_bytes(&r, w.my_pub, sizeof w.my_pub);
    }
    if (w.flags & PQ3_ST_RECV) {
        pq3_read_bytes(&r, w.ckr, sizeof w.ckr);
        w.nr = pq3_read_u32(&r);
        w.peer_pn = pq3_read_u32(&r);
    }
    if (w.recv_ext != 0)
        pq3_read_bytes(&r, w.recv_digest, sizeof w.recv_digest);
    if (w.send_ext & PQ3_MSG_START) {
        pq3_read_bytes(&r, w.start_hash, sizeof w.start_hash);
        pq3_read_bytes(&r, w.start_ct, sizeof w.start_ct);
    }
    if (w.send_ext & PQ3_MSG_CT)
        pq3_read_bytes(&r, w.chain_ct, sizeof w.chain_ct);
    if (w.flags & PQ3_ST_MY_OFFER) {
        pq3_read_bytes(&r, w.my_dk, sizeof w.my_dk);
        pq3_read_bytes(&r, w.my_ek, sizeof w.my_ek);
    }
    if (w.flags & PQ3_ST_PEER_OFFER)
        pq3_read_bytes(&r, w.peer_ek, sizeof w.peer_ek);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        goto cleanup;
    /* Peer keys: validated here once (§14). Format 4 carries their y, so
     * the check is the curve equation (about 0.5 us) and, for the
     * authentication key, the parity its compressed form names; format 3
     * solves for y (a square root, about 9 us each). */
    if (format >= 4 && trusted) {
        w.peer_auth.point[0] = w.peer_point.point[0] = 0x04;
        memcpy(w.peer_auth.point + 1, w.peer.auth_pub + 1, 32);
        memcpy(w.peer_auth.point + 33, auth_y, 32);
        memcpy(w.peer_point.point + 1, w.peer_pub, 32);
        memcpy(w.peer_point.point + 33, ratchet_y, 32);
    } else if (format >= 4) {
        if (!peer_point(w.peer_auth.point, w.peer.auth_pub + 1, auth_y) ||
            (auth_y[31] & 1) != (w.peer.auth_pub[0] & 1) ||
            (w.peer.auth_pub[0] != 0x02 && w.peer.auth_pub[0] != 0x03) ||
            !peer_point(w.peer_point.point, w.peer_pub, ratchet_y)) {
            err = PQ3_ERR_KEY;
            goto cleanup;
        }
    } else if ((err = pq3_ecdsa_import(&w.peer_auth, w.peer.auth_pub)) != PQ3_OK ||
               (err = pq3_ecdh_import(&w.peer_point, w.peer_pub)) != PQ3_OK) {
        goto cleanup;
    }
    /* Our own ratchet scalar is in range (every ECDH checks it again); that
     * it matches my_pub is not re-derived (a scalar multiplication per
     * load): a store that breaks the pair only breaks its own session, the
     * peer failing our next message (docs/SECURITY.md). */
    if (!trusted && (w.flags & PQ3_ST_SEND) &&
        !pq3_p256_public_verdict(pq3_p256_scalar_ok(w.my_priv))) {
        err = PQ3_ERR_KEY;
        goto cleanup;
    }
    if (!trusted && (w.flags & PQ3_ST_MY_OFFER) &&
        ((err = pq3_mlkem768_check_dk(w.my_dk)) != PQ3_OK ||
         (err = pq3_mlkem768_check_ek(w.my_ek)) != PQ3_OK ||
         memcmp(w.my_ek, w.my_dk + 1152, PQ3_MLKEM768_EK_BYTES) != 0)) {
        if (err == PQ3_OK)
            err = PQ3_ERR_KEY;
        goto cleanup;
    }
    if (!trusted && (w.flags & PQ3_ST_PEER_OFFER) &&
        (err = pq3_mlkem768_check_ek(w.peer_ek)) != PQ3_OK)
        goto cleanup;
    if ((err = pq3_session_sids(&w)) != PQ3_OK)
        goto cleanup;
    *s = w;

cleanup:
    pq3_wipe(&w, sizeof w);
    return err;
}
