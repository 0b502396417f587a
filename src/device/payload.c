/* The payload of application messages and the link response
 * (docs/DEVICE.md §3.2, §6.1; src/device/payload.h). */
#include "device/payload.h"

#include <string.h>

#include "device/devutil.h"
#include "pq3/identity.h"

pq3_err pq3_payload_encode(uint8_t *out, size_t *len, const pq3_payload *p)
{
    uint8_t *q = out;
    if (out == NULL || len == NULL || p == NULL || p->text_len > PQ3_DEVICE_MAX_TEXT ||
        (p->text == NULL && p->text_len > 0))
        return PQ3_ERR_ARG;
    if (p->kind == PQ3_PAYLOAD_SENT
            ? (p->peer_handle == NULL || p->peer_handle_len == 0 ||
               p->peer_handle_len > PQ3_HANDLE_MAX)
            : p->kind != PQ3_PAYLOAD_MESSAGE)
        return PQ3_ERR_ARG;
    q = dev_put_u8(q, PQ3_FORMAT_VERSION);
    q = dev_put_u8(q, PQ3_TYPE_PAYLOAD);
    q = dev_put_u8(q, p->kind);
    q = dev_put(q, p->msg_id, PQ3_MSG_ID_BYTES);
    q = dev_put_u64(q, p->sent);
    if (p->kind == PQ3_PAYLOAD_SENT) {
        q = dev_put_u16(q, (uint16_t)p->peer_handle_len);
        q = dev_put(q, p->peer_handle, p->peer_handle_len);
    }
    q = dev_put_u32(q, (uint32_t)p->text_len);
    q = dev_put(q, p->text, p->text_len);
    *len = (size_t)(q - out);
    return PQ3_OK;
}

pq3_err pq3_payload_decode(pq3_payload *p, const uint8_t *in, size_t len)
{
    pq3_payload v;
    dev_reader r;
    const uint8_t *id;

    if (p == NULL)
        return PQ3_ERR_ARG;
    memset(&v, 0, sizeof v);
    dev_reader_init(&r, in, len);
    if (dev_u8(&r) != PQ3_FORMAT_VERSION || dev_u8(&r) != PQ3_TYPE_PAYLOAD)
        return len < 2 ? PQ3_ERR_DECODE : PQ3_ERR_VERSION;
    v.kind = dev_u8(&r);
    id = dev_bytes(&r, PQ3_MSG_ID_BYTES);
    if (id != NULL)
        memcpy(v.msg_id, id, PQ3_MSG_ID_BYTES);
    v.sent = dev_u64(&r);
    if (v.kind == PQ3_PAYLOAD_SENT) {
        v.peer_handle = dev_vec16(&r, &v.peer_handle_len, PQ3_HANDLE_MAX);
        if (v.peer_handle_len == 0)
            return PQ3_ERR_DECODE;
    } else if (v.kind != PQ3_PAYLOAD_MESSAGE) {
        return PQ3_ERR_DECODE;
    }
    v.text = dev_vec32(&r, &v.text_len, PQ3_DEVICE_MAX_TEXT);
    if (dev_end(&r) != PQ3_OK)
        return PQ3_ERR_DECODE;
    *p = v;
    return PQ3_OK;
}

pq3_err pq3_link_response_encode(uint8_t *out, size_t cap, size_t *len,
                                 const pq3_link_response *r)
{
    size_t need;
    uint8_t *q = out;
    /* Empty fields are refused here as the decoder refuses them: nothing
     * is encoded that pq3_link_response_decode would not take back. */
    if (len == NULL || r == NULL || r->account_pub == NULL || r->cert == NULL ||
        r->list == NULL || r->cert_len == 0 || r->list_len == 0 ||
        r->cert_len > PQ3_CERT_MAX_BYTES ||
        r->list_len > PQ3_DEVICE_LIST_MAX_BYTES)
        return PQ3_ERR_ARG;
    need = 2 + PQ3_ECDSA_PUB_BYTES + 2 + r->cert_len + 2 + r->list_len;
    if (out == NULL || cap < need) {
        *len = need;
        return PQ3_ERR_BUFFER;
    }
    q = dev_put_u8(q, PQ3_FORMAT_VERSION);
    q = dev_put_u8(q, PQ3_TYPE_LINK_RESPONSE);
    q = dev_put(q, r->account_pub, PQ3_ECDSA_PUB_BYTES);
    q = dev_put_u16(q, (uint16_t)r->cert_len);
    q = dev_put(q, r->cert, r->cert_len);
    q = dev_put_u16(q, (uint16_t)r->list_len);
    q = dev_put(q, r->list, r->list_len);
    *len = (size_t)(q - out);
    return PQ3_OK;
}

pq3_err pq3_link_response_decode(pq3_link_response *out, const uint8_t *in, size_t len)
{
    pq3_link_response v;
    dev_reader r;
    if (out == NULL)
        return PQ3_ERR_ARG;
    dev_reader_init(&r, in, len);
    if (dev_u8(&r) != PQ3_FORMAT_VERSION || dev_u8(&r) != PQ3_TYPE_LINK_RESPONSE)
        return len < 2 ? PQ3_ERR_DECODE : PQ3_ERR_VERSION;
    v.account_pub = dev_bytes(&r, PQ3_ECDSA_PUB_BYTES);
    v.cert = dev_vec16(&r, &v.cert_len, PQ3_CERT_MAX_BYTES);
    v.list = dev_vec16(&r, &v.list_len, PQ3_DEVICE_LIST_MAX_BYTES);
    if (dev_end(&r) != PQ3_OK || v.cert_len == 0 || v.list_len == 0)
        return PQ3_ERR_DECODE;
    *out = v;
    return PQ3_OK;
}
