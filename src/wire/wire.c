/* pq3d's protocol (docs/SERVER.md; include/pq3/wire.h). Each encoder and
 * decoder reads like its table in SERVER.md; every decoder is strict and
 * leaves its output untouched on error (it decodes into a local first). */
#include "pq3/wire.h"

#include <string.h>

#include "protocol/codec.h"

const char *pq3_wire_status_name(uint16_t status)
{
    static const char *names[] = { "OK",           "BAD_REQUEST", "UNAUTHENTICATED",
                                   "FORBIDDEN",    "NOT_FOUND",   "CONFLICT",
                                   "RATE_LIMITED", "TOO_LARGE",   "QUEUE_FULL",
                                   "INVALID",      "EXPIRED",     "UNAVAILABLE",
                                   "INVITE_REQUIRED", "VERSION" };
    return status < sizeof names / sizeof names[0] ? names[status] : "UNKNOWN";
}

int pq3_wire_is_request(uint8_t type)
{
    return (type >= PQ3_WIRE_AUTH && type <= PQ3_WIRE_ACK) || type == PQ3_WIRE_PING;
}

/* ---- frames (§2) ------------------------------------------------------------ */

pq3_err pq3_wire_header_encode(uint8_t out[PQ3_WIRE_HEADER_BYTES], uint8_t type, uint32_t id,
                               size_t body_len)
{
    uint32_t len;
    if (out == NULL || body_len > PQ3_WIRE_MAX_FRAME - 5)
        return PQ3_ERR_ARG;
    len = (uint32_t)body_len + 5;
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    out[4] = type;
    out[5] = (uint8_t)(id >> 24);
    out[6] = (uint8_t)(id >> 16);
    out[7] = (uint8_t)(id >> 8);
    out[8] = (uint8_t)id;
    return PQ3_OK;
}

pq3_err pq3_wire_header_decode(const uint8_t in[PQ3_WIRE_HEADER_BYTES], uint32_t limit,
                               uint8_t *type, uint32_t *id, uint32_t *body_len)
{
    uint32_t len;
    if (in == NULL || type == NULL || id == NULL || body_len == NULL)
        return PQ3_ERR_ARG;
    len = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    if (len < 5)
        return PQ3_ERR_DECODE;
    if (len > limit)
        return PQ3_ERR_LIMIT;          /* refused before the body is read */
    *type = in[4];
    *id = (uint32_t)in[5] << 24 | (uint32_t)in[6] << 16 | (uint32_t)in[7] << 8 | in[8];
    *body_len = len - 5;
    return PQ3_OK;
}

/* ---- helpers ------------------------------------------------------------------ */

/* A vec16 of min..max bytes into b. */
static void read16(pq3_reader *r, pq3_wire_bytes *b, size_t min, size_t max)
{
    b->p = pq3_read_vec16(r, &b->len, max);
    if (r->err == PQ3_OK && b->len < min)
        pq3_reader_fail(r, PQ3_ERR_DECODE);
}

static void read32(pq3_reader *r, pq3_wire_bytes *b, size_t min, size_t max)
{
    b->p = pq3_read_vec32(r, &b->len, max);
    if (r->err == PQ3_OK && b->len < min)
        pq3_reader_fail(r, PQ3_ERR_DECODE);
}

static int bytes_ok(const pq3_wire_bytes *b, size_t min, size_t max)
{
    return b->len >= min && b->len <= max && (b->len == 0 || b->p != NULL);
}

static pq3_err finish_write(pq3_writer *w, size_t *out_len)
{
    pq3_err err = pq3_writer_end(w, out_len);
    if (err == PQ3_ERR_BUFFER)
        *out_len = w->len;            /* the size needed */
    return err;
}

#define ENC_START(v)                                                     \
    pq3_writer w;                                                        \
    if (out_len == NULL || (v) == NULL || (out == NULL && cap > 0))      \
        return PQ3_ERR_ARG;                                              \
    pq3_writer_init(&w, out, cap)

#define DEC_START(v)                                                     \
    pq3_reader r;                                                        \
    if ((v) == NULL || (in == NULL && len > 0))                          \
        return PQ3_ERR_ARG;                                              \
    pq3_reader_init(&r, in, len)

/* ---- authentication (§4, §5.1, §6.1) ---------------------------------------- */

pq3_err pq3_wire_challenge_encode(uint8_t *out, size_t cap, size_t *out_len,
                                  const pq3_wire_challenge *v)
{
    ENC_START(v);
    if (!bytes_ok(&v->name, 1, PQ3_WIRE_MAX_NAME))
        return PQ3_ERR_ARG;
    pq3_write_u8(&w, v->version);
    pq3_write_vec16(&w, v->name.p, v->name.len, PQ3_WIRE_MAX_NAME);
    pq3_write_bytes(&w, v->nonce, PQ3_WIRE_NONCE_BYTES);
    pq3_write_u64(&w, v->time);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_challenge_decode(pq3_wire_challenge *v, const uint8_t *in, size_t len)
{
    pq3_wire_challenge t;
    pq3_err err;
    DEC_START(v);
    t.version = pq3_read_u8(&r);
    read16(&r, &t.name, 1, PQ3_WIRE_MAX_NAME);
    pq3_read_bytes(&r, t.nonce, PQ3_WIRE_NONCE_BYTES);
    t.time = pq3_read_u64(&r);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

static int auth_fields_ok(const pq3_wire_auth *a)
{
    return bytes_ok(&a->handle, 1, PQ3_HANDLE_MAX) && bytes_ok(&a->cert, 1, PQ3_CERT_MAX_BYTES);
}

pq3_err pq3_wire_auth_encode(uint8_t *out, size_t cap, size_t *out_len, const pq3_wire_auth *v)
{
    ENC_START(v);
    if (!auth_fields_ok(v))
        return PQ3_ERR_ARG;
    pq3_write_u8(&w, v->version);
    pq3_write_vec16(&w, v->handle.p, v->handle.len, PQ3_HANDLE_MAX);
    pq3_write_bytes(&w, v->device_id, PQ3_DEVICE_ID_BYTES);
    pq3_write_bytes(&w, v->account_pub, PQ3_ECDSA_PUB_BYTES);
    pq3_write_vec16(&w, v->cert.p, v->cert.len, PQ3_CERT_MAX_BYTES);
    pq3_write_bytes(&w, v->signature, PQ3_ECDSA_SIG_BYTES);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_auth_decode(pq3_wire_auth *v, const uint8_t *in, size_t len)
{
    pq3_wire_auth t;
    pq3_err err;
    DEC_START(v);
    t.version = pq3_read_u8(&r);
    read16(&r, &t.handle, 1, PQ3_HANDLE_MAX);
    pq3_read_bytes(&r, t.device_id, PQ3_DEVICE_ID_BYTES);
    pq3_read_bytes(&r, t.account_pub, PQ3_ECDSA_PUB_BYTES);
    read16(&r, &t.cert, 1, PQ3_CERT_MAX_BYTES);
    pq3_read_bytes(&r, t.signature, PQ3_ECDSA_SIG_BYTES);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

#define AUTH_TBS_MAX (sizeof PQ3_WIRE_L_AUTH - 1 + 2 + PQ3_WIRE_MAX_NAME + PQ3_WIRE_NONCE_BYTES + \
                      8 + PQ3_WIRE_EXPORTER_BYTES + 2 + PQ3_HANDLE_MAX + PQ3_DEVICE_ID_BYTES +   \
                      PQ3_ECDSA_PUB_BYTES)

/* TBS_auth = L_AUTH || vec16(N) || nonce || u64(t) || X || vec16(handle) ||
 * device_id || A (§4). */
static pq3_err auth_tbs(uint8_t tbs[AUTH_TBS_MAX], size_t *tbs_len, const pq3_wire_auth *a,
                        const pq3_wire_challenge *ch, const uint8_t exporter[32])
{
    pq3_writer w;
    if (!bytes_ok(&ch->name, 1, PQ3_WIRE_MAX_NAME) || !bytes_ok(&a->handle, 1, PQ3_HANDLE_MAX))
        return PQ3_ERR_ARG;
    pq3_writer_init(&w, tbs, AUTH_TBS_MAX);
    pq3_write_bytes(&w, (const uint8_t *)PQ3_WIRE_L_AUTH, sizeof PQ3_WIRE_L_AUTH - 1);
    pq3_write_vec16(&w, ch->name.p, ch->name.len, PQ3_WIRE_MAX_NAME);
    pq3_write_bytes(&w, ch->nonce, PQ3_WIRE_NONCE_BYTES);
    pq3_write_u64(&w, ch->time);
    pq3_write_bytes(&w, exporter, PQ3_WIRE_EXPORTER_BYTES);
    pq3_write_vec16(&w, a->handle.p, a->handle.len, PQ3_HANDLE_MAX);
    pq3_write_bytes(&w, a->device_id, PQ3_DEVICE_ID_BYTES);
    pq3_write_bytes(&w, a->account_pub, PQ3_ECDSA_PUB_BYTES);
    return pq3_writer_end(&w, tbs_len);
}

pq3_err pq3_wire_auth_sign(pq3_wire_auth *auth, const pq3_wire_challenge *ch,
                           const uint8_t exporter[PQ3_WIRE_EXPORTER_BYTES],
                           const pq3_signer *signer)
{
    uint8_t tbs[AUTH_TBS_MAX];
    size_t n;
    pq3_err err;
    if (auth == NULL || ch == NULL || exporter == NULL || signer == NULL)
        return PQ3_ERR_ARG;
    if ((err = auth_tbs(tbs, &n, auth, ch, exporter)) != PQ3_OK)
        return err;
    return pq3_sign(signer, auth->signature, tbs, n);
}

pq3_err pq3_wire_auth_verify(const pq3_wire_auth *auth, const pq3_wire_challenge *ch,
                             const uint8_t exporter[PQ3_WIRE_EXPORTER_BYTES],
                             const pq3_device_cert *cert)
{
    uint8_t tbs[AUTH_TBS_MAX];
    size_t n;
    pq3_err err;
    if (auth == NULL || ch == NULL || exporter == NULL || cert == NULL || !cert->verified)
        return PQ3_ERR_ARG;
    if ((err = auth_tbs(tbs, &n, auth, ch, exporter)) != PQ3_OK)
        return err;
    err = pq3_ecdsa_verify(&cert->auth_key, auth->signature, tbs, n);
    return err == PQ3_OK ? PQ3_OK : err == PQ3_ERR_VERIFY ? PQ3_ERR_VERIFY : err;
}

/* ---- request bodies (§5) ------------------------------------------------------ */

pq3_err pq3_wire_register_encode(uint8_t *out, size_t cap, size_t *out_len,
                                 const pq3_wire_register *v)
{
    ENC_START(v);
    if (!bytes_ok(&v->list, 1, PQ3_DEVICE_LIST_MAX_BYTES) ||
        !bytes_ok(&v->invite, 0, PQ3_WIRE_MAX_INVITE))
        return PQ3_ERR_ARG;
    pq3_write_vec16(&w, v->list.p, v->list.len, PQ3_DEVICE_LIST_MAX_BYTES);
    pq3_write_vec16(&w, v->invite.p, v->invite.len, PQ3_WIRE_MAX_INVITE);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_register_decode(pq3_wire_register *v, const uint8_t *in, size_t len)
{
    pq3_wire_register t;
    pq3_err err;
    DEC_START(v);
    read16(&r, &t.list, 1, PQ3_DEVICE_LIST_MAX_BYTES);
    read16(&r, &t.invite, 0, PQ3_WIRE_MAX_INVITE);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_publish_encode(uint8_t *out, size_t cap, size_t *out_len,
                                const pq3_wire_publish *v)
{
    ENC_START(v);
    if (!bytes_ok(&v->list, 1, PQ3_DEVICE_LIST_MAX_BYTES) ||
        v->n_certs > PQ3_ACCOUNT_MAX_DEVICES)
        return PQ3_ERR_ARG;
    for (unsigned i = 0; i < v->n_certs; i++)
        if (!bytes_ok(&v->certs[i], 1, PQ3_CERT_MAX_BYTES))
            return PQ3_ERR_ARG;
    pq3_write_vec16(&w, v->list.p, v->list.len, PQ3_DEVICE_LIST_MAX_BYTES);
    pq3_write_u8(&w, v->n_certs);
    for (unsigned i = 0; i < v->n_certs; i++)
        pq3_write_vec16(&w, v->certs[i].p, v->certs[i].len, PQ3_CERT_MAX_BYTES);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_publish_decode(pq3_wire_publish *v, const uint8_t *in, size_t len)
{
    pq3_wire_publish t;
    pq3_err err;
    DEC_START(v);
    memset(&t, 0, sizeof t);
    read16(&r, &t.list, 1, PQ3_DEVICE_LIST_MAX_BYTES);
    t.n_certs = pq3_read_u8(&r);
    if (t.n_certs > PQ3_ACCOUNT_MAX_DEVICES)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    for (unsigned i = 0; r.err == PQ3_OK && i < t.n_certs; i++)
        read16(&r, &t.certs[i], 1, PQ3_CERT_MAX_BYTES);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_put_bundle_encode(uint8_t *out, size_t cap, size_t *out_len,
                                   const pq3_wire_put_bundle *v)
{
    ENC_START(v);
    if (!bytes_ok(&v->bundle, PQ3_PREKEY_BUNDLE_BYTES, PQ3_PREKEY_BUNDLE_BYTES))
        return PQ3_ERR_ARG;
    pq3_write_vec16(&w, v->bundle.p, v->bundle.len, PQ3_PREKEY_BUNDLE_BYTES);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_put_bundle_decode(pq3_wire_put_bundle *v, const uint8_t *in, size_t len)
{
    pq3_wire_put_bundle t;
    pq3_err err;
    DEC_START(v);
    read16(&r, &t.bundle, PQ3_PREKEY_BUNDLE_BYTES, PQ3_PREKEY_BUNDLE_BYTES);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_lookup_encode(uint8_t *out, size_t cap, size_t *out_len,
                               const pq3_wire_lookup *v)
{
    ENC_START(v);
    if (!bytes_ok(&v->handle, 1, PQ3_HANDLE_MAX))
        return PQ3_ERR_ARG;
    pq3_write_vec16(&w, v->handle.p, v->handle.len, PQ3_HANDLE_MAX);
    pq3_write_u64(&w, v->pinned);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_lookup_decode(pq3_wire_lookup *v, const uint8_t *in, size_t len)
{
    pq3_wire_lookup t;
    pq3_err err;
    DEC_START(v);
    read16(&r, &t.handle, 1, PQ3_HANDLE_MAX);
    t.pinned = pq3_read_u64(&r);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_send_encode(uint8_t *out, size_t cap, size_t *out_len, const pq3_wire_send *v)
{
    ENC_START(v);
    if (v->count < 1 || v->count > PQ3_WIRE_MAX_SEND)
        return PQ3_ERR_ARG;
    for (unsigned i = 0; i < v->count; i++)
        if (!bytes_ok(&v->env[i].to_handle, 1, PQ3_HANDLE_MAX) ||
            !bytes_ok(&v->env[i].msg, 1, PQ3_WIRE_MAX_ENVELOPE))
            return PQ3_ERR_ARG;
    pq3_write_u16(&w, v->count);
    for (unsigned i = 0; i < v->count; i++) {
        const pq3_wire_envelope *e = &v->env[i];
        pq3_write_vec16(&w, e->to_handle.p, e->to_handle.len, PQ3_HANDLE_MAX);
        pq3_write_bytes(&w, e->to_device, PQ3_DEVICE_ID_BYTES);
        pq3_write_bytes(&w, e->msg_id, sizeof e->msg_id);
        pq3_write_vec32(&w, e->msg.p, e->msg.len, PQ3_WIRE_MAX_ENVELOPE);
    }
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_send_decode(pq3_wire_send *v, const uint8_t *in, size_t len)
{
    /* The struct is 3 KB: decoded in place only after a dry run succeeds,
     * so *v stays untouched on error without a second copy. */
    pq3_err err;
    DEC_START(v);
    {
        uint16_t count = pq3_read_u16(&r);
        if (count < 1 || count > PQ3_WIRE_MAX_SEND)
            pq3_reader_fail(&r, PQ3_ERR_DECODE);
        for (unsigned i = 0; r.err == PQ3_OK && i < count; i++) {
            pq3_wire_bytes b;
            read16(&r, &b, 1, PQ3_HANDLE_MAX);
            (void)pq3_read_ref(&r, PQ3_DEVICE_ID_BYTES + 16);
            read32(&r, &b, 1, PQ3_WIRE_MAX_ENVELOPE);
        }
        if ((err = pq3_reader_end(&r)) != PQ3_OK)
            return err;
        pq3_reader_init(&r, in, len);
        v->count = pq3_read_u16(&r);
        for (unsigned i = 0; i < count; i++) {
            pq3_wire_envelope *e = &v->env[i];
            read16(&r, &e->to_handle, 1, PQ3_HANDLE_MAX);
            pq3_read_bytes(&r, e->to_device, PQ3_DEVICE_ID_BYTES);
            pq3_read_bytes(&r, e->msg_id, sizeof e->msg_id);
            read32(&r, &e->msg, 1, PQ3_WIRE_MAX_ENVELOPE);
        }
        return pq3_reader_end(&r);
    }
}

pq3_err pq3_wire_ack_encode(uint8_t *out, size_t cap, size_t *out_len, const pq3_wire_ack *v)
{
    ENC_START(v);
    if (v->count < 1 || v->count > PQ3_WIRE_MAX_ACK)
        return PQ3_ERR_ARG;
    for (unsigned i = 0; i < v->count; i++)
        if (v->ids[i] == 0)
            return PQ3_ERR_ARG;
    pq3_write_u16(&w, v->count);
    for (unsigned i = 0; i < v->count; i++)
        pq3_write_u64(&w, v->ids[i]);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_ack_decode(pq3_wire_ack *v, const uint8_t *in, size_t len)
{
    pq3_err err;
    uint16_t count;
    DEC_START(v);
    /* Checked before anything is written (the struct is 8 KB). */
    count = pq3_read_u16(&r);
    if (count < 1 || count > PQ3_WIRE_MAX_ACK || pq3_reader_left(&r) != (size_t)count * 8u)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    for (unsigned i = 0; r.err == PQ3_OK && i < count; i++)
        if (pq3_read_u64(&r) == 0)
            pq3_reader_fail(&r, PQ3_ERR_DECODE);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    pq3_reader_init(&r, in, len);
    v->count = pq3_read_u16(&r);
    for (unsigned i = 0; i < count; i++)
        v->ids[i] = pq3_read_u64(&r);
    return pq3_reader_end(&r);
}

/* ---- responses and pushes (§3, §5, §6) -------------------------------------- */

pq3_err pq3_wire_response_encode(uint8_t *out, size_t cap, size_t *out_len,
                                 const pq3_wire_response *v)
{
    ENC_START(v);
    if (!bytes_ok(&v->reason, 0, PQ3_WIRE_MAX_REASON) ||
        (v->result.len > 0 && (v->status != PQ3_ST_OK || v->result.p == NULL)))
        return PQ3_ERR_ARG;
    pq3_write_u16(&w, v->status);
    pq3_write_vec16(&w, v->reason.p, v->reason.len, PQ3_WIRE_MAX_REASON);
    pq3_write_bytes(&w, v->result.p, v->result.len);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_response_decode(pq3_wire_response *v, const uint8_t *in, size_t len)
{
    pq3_wire_response t;
    pq3_err err;
    DEC_START(v);
    t.status = pq3_read_u16(&r);
    read16(&r, &t.reason, 0, PQ3_WIRE_MAX_REASON);
    t.result.len = pq3_reader_left(&r);
    t.result.p = pq3_read_ref(&r, t.result.len);
    if (r.err == PQ3_OK && t.status != PQ3_ST_OK && t.result.len > 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);   /* a refusal carries no result */
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_auth_result_encode(uint8_t *out, size_t cap, size_t *out_len,
                                    const pq3_wire_auth_result *v)
{
    ENC_START(v);
    if (v->state > PQ3_WIRE_LISTED)
        return PQ3_ERR_ARG;
    pq3_write_u8(&w, v->state);
    pq3_write_u64(&w, v->list_version);
    pq3_write_u32(&w, v->queued);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_auth_result_decode(pq3_wire_auth_result *v, const uint8_t *in, size_t len)
{
    pq3_wire_auth_result t;
    pq3_err err;
    DEC_START(v);
    t.state = pq3_read_u8(&r);
    t.list_version = pq3_read_u64(&r);
    t.queued = pq3_read_u32(&r);
    if (r.err == PQ3_OK && t.state > PQ3_WIRE_LISTED)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_lookup_result_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const pq3_wire_lookup_result *v)
{
    ENC_START(v);
    if (!bytes_ok(&v->list, 1, PQ3_DEVICE_LIST_MAX_BYTES) || v->count < 1 ||
        v->count > PQ3_ACCOUNT_MAX_DEVICES || !bytes_ok(&v->proof, 0, PQ3_WIRE_MAX_PROOF))
        return PQ3_ERR_ARG;
    for (unsigned i = 0; i < v->count; i++)
        if (!bytes_ok(&v->certs[i], 1, PQ3_CERT_MAX_BYTES) ||
            (v->bundles[i].len != 0 && v->bundles[i].len != PQ3_PREKEY_BUNDLE_BYTES) ||
            !bytes_ok(&v->bundles[i], 0, PQ3_PREKEY_BUNDLE_BYTES))
            return PQ3_ERR_ARG;
    pq3_write_bytes(&w, v->account_pub, PQ3_ECDSA_PUB_BYTES);
    pq3_write_vec16(&w, v->list.p, v->list.len, PQ3_DEVICE_LIST_MAX_BYTES);
    pq3_write_u8(&w, v->count);
    for (unsigned i = 0; i < v->count; i++) {
        pq3_write_vec16(&w, v->certs[i].p, v->certs[i].len, PQ3_CERT_MAX_BYTES);
        pq3_write_vec16(&w, v->bundles[i].p, v->bundles[i].len, PQ3_PREKEY_BUNDLE_BYTES);
    }
    pq3_write_vec32(&w, v->proof.p, v->proof.len, PQ3_WIRE_MAX_PROOF);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_lookup_result_decode(pq3_wire_lookup_result *v, const uint8_t *in, size_t len)
{
    pq3_wire_lookup_result t;
    pq3_err err;
    DEC_START(v);
    memset(&t, 0, sizeof t);
    pq3_read_bytes(&r, t.account_pub, PQ3_ECDSA_PUB_BYTES);
    read16(&r, &t.list, 1, PQ3_DEVICE_LIST_MAX_BYTES);
    t.count = pq3_read_u8(&r);
    if (r.err == PQ3_OK && (t.count < 1 || t.count > PQ3_ACCOUNT_MAX_DEVICES))
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    for (unsigned i = 0; r.err == PQ3_OK && i < t.count; i++) {
        read16(&r, &t.certs[i], 1, PQ3_CERT_MAX_BYTES);
        read16(&r, &t.bundles[i], 0, PQ3_PREKEY_BUNDLE_BYTES);
        if (r.err == PQ3_OK && t.bundles[i].len != 0 &&
            t.bundles[i].len != PQ3_PREKEY_BUNDLE_BYTES)
            pq3_reader_fail(&r, PQ3_ERR_DECODE);
    }
    read32(&r, &t.proof, 0, PQ3_WIRE_MAX_PROOF);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_send_result_encode(uint8_t *out, size_t cap, size_t *out_len,
                                    const pq3_wire_send_result *v)
{
    ENC_START(v);
    if (v->count < 1 || v->count > PQ3_WIRE_MAX_SEND)
        return PQ3_ERR_ARG;
    for (unsigned i = 0; i < v->count; i++)
        if (v->status[i] > PQ3_ST_VERSION)
            return PQ3_ERR_ARG;
    pq3_write_u16(&w, v->count);
    pq3_write_bytes(&w, v->status, v->count);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_send_result_decode(pq3_wire_send_result *v, const uint8_t *in, size_t len)
{
    pq3_wire_send_result t;
    pq3_err err;
    DEC_START(v);
    memset(&t, 0, sizeof t);
    t.count = pq3_read_u16(&r);
    if (r.err == PQ3_OK && (t.count < 1 || t.count > PQ3_WIRE_MAX_SEND))
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    if (r.err == PQ3_OK)
        pq3_read_bytes(&r, t.status, t.count);
    for (unsigned i = 0; r.err == PQ3_OK && i < t.count; i++)
        if (t.status[i] > PQ3_ST_VERSION)
            pq3_reader_fail(&r, PQ3_ERR_DECODE);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_deliver_encode(uint8_t *out, size_t cap, size_t *out_len,
                                const pq3_wire_deliver *v)
{
    ENC_START(v);
    if (v->queue_id == 0 || !bytes_ok(&v->from_handle, 1, PQ3_HANDLE_MAX) ||
        !bytes_ok(&v->msg, 1, PQ3_WIRE_MAX_ENVELOPE))
        return PQ3_ERR_ARG;
    pq3_write_u64(&w, v->queue_id);
    pq3_write_vec16(&w, v->from_handle.p, v->from_handle.len, PQ3_HANDLE_MAX);
    pq3_write_bytes(&w, v->from_device, PQ3_DEVICE_ID_BYTES);
    pq3_write_bytes(&w, v->msg_id, sizeof v->msg_id);
    pq3_write_u64(&w, v->stored_at);
    pq3_write_vec32(&w, v->msg.p, v->msg.len, PQ3_WIRE_MAX_ENVELOPE);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_deliver_decode(pq3_wire_deliver *v, const uint8_t *in, size_t len)
{
    pq3_wire_deliver t;
    pq3_err err;
    DEC_START(v);
    t.queue_id = pq3_read_u64(&r);
    if (r.err == PQ3_OK && t.queue_id == 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    read16(&r, &t.from_handle, 1, PQ3_HANDLE_MAX);
    pq3_read_bytes(&r, t.from_device, PQ3_DEVICE_ID_BYTES);
    pq3_read_bytes(&r, t.msg_id, sizeof t.msg_id);
    t.stored_at = pq3_read_u64(&r);
    read32(&r, &t.msg, 1, PQ3_WIRE_MAX_ENVELOPE);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_goodbye_encode(uint8_t *out, size_t cap, size_t *out_len,
                                const pq3_wire_goodbye *v)
{
    ENC_START(v);
    if (!bytes_ok(&v->reason, 0, PQ3_WIRE_MAX_REASON))
        return PQ3_ERR_ARG;
    pq3_write_u16(&w, v->status);
    pq3_write_vec16(&w, v->reason.p, v->reason.len, PQ3_WIRE_MAX_REASON);
    return finish_write(&w, out_len);
}

pq3_err pq3_wire_goodbye_decode(pq3_wire_goodbye *v, const uint8_t *in, size_t len)
{
    pq3_wire_goodbye t;
    pq3_err err;
    DEC_START(v);
    t.status = pq3_read_u16(&r);
    read16(&r, &t.reason, 0, PQ3_WIRE_MAX_REASON);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    *v = t;
    return PQ3_OK;
}

pq3_err pq3_wire_time_encode(uint8_t out[8], uint64_t t)
{
    if (out == NULL)
        return PQ3_ERR_ARG;
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(t >> (56 - 8 * i));
    return PQ3_OK;
}

pq3_err pq3_wire_time_decode(uint64_t *t, const uint8_t *in, size_t len)
{
    uint64_t v = 0;
    if (t == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if (len != 8)
        return PQ3_ERR_DECODE;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    *t = v;
    return PQ3_OK;
}
