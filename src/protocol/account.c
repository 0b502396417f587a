/* Accounts: the signed device list and the link request (docs/PROTOCOL.md
 * §19; include/pq3/account.h). Each encoder and decoder reads like its
 * table in §19. */
#include "pq3/account.h"

#include <string.h>

#include "protocol/codec.h"
#include "protocol/kdf.h"
#include "protocol/sign.h"

static int id_cmp(const pq3_account_device *a, const pq3_account_device *b)
{
    return memcmp(a->device_id, b->device_id, PQ3_DEVICE_ID_BYTES); /* public ids */
}

/* ---- device list (§19.1) ------------------------------------------------- */

static void list_write_body(pq3_writer *w, const pq3_device_list *l)
{
    pq3_write_u8(w, PQ3_FORMAT_VERSION);
    pq3_write_u8(w, PQ3_TYPE_DEVICE_LIST);
    pq3_write_vec16(w, l->handle, l->handle_len, PQ3_HANDLE_MAX);
    pq3_write_u64(w, l->version);
    pq3_write_u64(w, l->created);
    pq3_write_u8(w, l->count);
    for (unsigned i = 0; i < l->count; i++) {
        pq3_write_bytes(w, l->devices[i].device_id, PQ3_DEVICE_ID_BYTES);
        pq3_write_bytes(w, l->devices[i].auth_pub, PQ3_ECDSA_PUB_BYTES);
    }
}

#define LIST_TBS_MAX (sizeof PQ3_L_DEVLIST - 1 + PQ3_ECDSA_PUB_BYTES + PQ3_DEVICE_LIST_MAX_BYTES)

/* TBS_list = L_DEVLIST || A || D[0..len-64) (§19.1). */
static size_t list_tbs(uint8_t *buf, const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES],
                       const uint8_t *body, size_t body_len)
{
    size_t n = sizeof PQ3_L_DEVLIST - 1;
    memcpy(buf, PQ3_L_DEVLIST, n);
    memcpy(buf + n, account_pub, PQ3_ECDSA_PUB_BYTES);
    n += PQ3_ECDSA_PUB_BYTES;
    memcpy(buf + n, body, body_len);
    return n + body_len;
}

pq3_err pq3_device_list_sign(uint8_t *out, size_t cap, size_t *out_len, pq3_device_list *list,
                             const pq3_signer *account)
{
    uint8_t body[PQ3_DEVICE_LIST_MAX_BYTES], tbs[LIST_TBS_MAX], sig[PQ3_ECDSA_SIG_BYTES];
    pq3_writer w;
    pq3_ecdsa_pub pk;
    size_t body_len, tbs_len;
    pq3_err err;

    if (out_len == NULL || list == NULL || account == NULL || (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    if (list->handle_len == 0 || list->count == 0 || list->count > PQ3_ACCOUNT_MAX_DEVICES ||
        list->version == 0)
        return PQ3_ERR_ARG;
    /* Insertion sort by id: at most 16 entries, and the order is part of
     * the canonical encoding (§19.1). */
    for (unsigned i = 1; i < list->count; i++) {
        pq3_account_device d = list->devices[i];
        unsigned j = i;
        while (j > 0 && id_cmp(&list->devices[j - 1], &d) > 0) {
            list->devices[j] = list->devices[j - 1];
            j--;
        }
        list->devices[j] = d;
    }
    for (unsigned i = 0; i < list->count; i++) {
        if (i > 0 && id_cmp(&list->devices[i - 1], &list->devices[i]) == 0)
            return PQ3_ERR_ARG;
        if (pq3_ecdsa_import(&pk, list->devices[i].auth_pub) != PQ3_OK)
            return PQ3_ERR_ARG;
    }
    pq3_writer_init(&w, body, sizeof body);
    list_write_body(&w, list);
    if ((err = pq3_writer_end(&w, &body_len)) != PQ3_OK)
        return err;
    if (cap < body_len + PQ3_ECDSA_SIG_BYTES) {
        *out_len = body_len + PQ3_ECDSA_SIG_BYTES;
        return PQ3_ERR_BUFFER;
    }
    tbs_len = list_tbs(tbs, account->pub, body, body_len);
    if ((err = pq3_sign_checked(account, sig, tbs, tbs_len)) != PQ3_OK)
        return err;
    memcpy(out, body, body_len);
    memcpy(out + body_len, sig, sizeof sig);
    memcpy(list->signature, sig, sizeof sig);
    *out_len = body_len + PQ3_ECDSA_SIG_BYTES;
    return PQ3_OK;
}

static pq3_err list_parse(pq3_device_list *l, const uint8_t *in, size_t len, size_t *body_len)
{
    pq3_reader r;
    const uint8_t *handle;
    size_t hlen;
    pq3_err err;

    memset(l, 0, sizeof *l);
    pq3_reader_init(&r, in, len);
    if (pq3_read_u8(&r) != PQ3_FORMAT_VERSION || pq3_read_u8(&r) != PQ3_TYPE_DEVICE_LIST)
        return len < 2 ? PQ3_ERR_DECODE : PQ3_ERR_VERSION;
    handle = pq3_read_vec16(&r, &hlen, PQ3_HANDLE_MAX);
    if (handle != NULL && hlen == 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    if (handle != NULL && hlen > 0)
        memcpy(l->handle, handle, hlen);
    l->handle_len = (uint8_t)hlen;
    l->version = pq3_read_u64(&r);
    l->created = pq3_read_u64(&r);
    l->count = pq3_read_u8(&r);
    if (l->count == 0 || l->count > PQ3_ACCOUNT_MAX_DEVICES)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    for (unsigned i = 0; r.err == PQ3_OK && i < l->count; i++) {
        pq3_read_bytes(&r, l->devices[i].device_id, PQ3_DEVICE_ID_BYTES);
        pq3_read_bytes(&r, l->devices[i].auth_pub, PQ3_ECDSA_PUB_BYTES);
        if (i > 0 && id_cmp(&l->devices[i - 1], &l->devices[i]) >= 0)
            pq3_reader_fail(&r, PQ3_ERR_DECODE);
    }
    *body_len = r.off;
    pq3_read_bytes(&r, l->signature, sizeof l->signature);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    if (l->version == 0)
        return PQ3_ERR_DECODE;
    return PQ3_OK;
}

pq3_err pq3_device_list_decode(pq3_device_list *list, const uint8_t *in, size_t len)
{
    pq3_device_list l;
    size_t body_len;
    pq3_err err;
    if (list == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if ((err = list_parse(&l, in, len, &body_len)) != PQ3_OK)
        return err;
    *list = l;
    return PQ3_OK;
}

pq3_err pq3_device_list_verify(pq3_device_list *list, const uint8_t *in, size_t len,
                               const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES])
{
    pq3_device_list l;
    pq3_ecdsa_pub account, pk;
    uint8_t tbs[LIST_TBS_MAX];
    size_t body_len, tbs_len;
    pq3_err err;

    if (list == NULL || account_pub == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if ((err = list_parse(&l, in, len, &body_len)) != PQ3_OK)
        return err;
    if ((err = pq3_ecdsa_import(&account, account_pub)) != PQ3_OK)
        return err;
    tbs_len = list_tbs(tbs, account_pub, in, body_len);
    if ((err = pq3_ecdsa_verify(&account, l.signature, tbs, tbs_len)) != PQ3_OK)
        return err;
    for (unsigned i = 0; i < l.count; i++)
        if ((err = pq3_ecdsa_import(&pk, l.devices[i].auth_pub)) != PQ3_OK)
            return err;
    l.verified = 1;
    *list = l;
    return PQ3_OK;
}

pq3_err pq3_device_list_find(const pq3_device_list *list,
                             const uint8_t device_id[PQ3_DEVICE_ID_BYTES], uint32_t *index)
{
    if (list == NULL || device_id == NULL || index == NULL)
        return PQ3_ERR_ARG;
    for (uint32_t i = 0; i < list->count && i < PQ3_ACCOUNT_MAX_DEVICES; i++) {
        if (memcmp(list->devices[i].device_id, device_id, PQ3_DEVICE_ID_BYTES) == 0) {
            *index = i;
            return PQ3_OK;
        }
    }
    return PQ3_ERR_UNKNOWN;
}

/* ---- link request (§19.2) ------------------------------------------------ */

static int versions_ok(const uint8_t *v, unsigned n)
{
    if (n == 0 || n > PQ3_CERT_MAX_VERSIONS)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (v[i] == 0 || (i > 0 && v[i] <= v[i - 1]))
            return 0;
    return 1;
}

static void link_write_body(pq3_writer *w, const pq3_link_request *q)
{
    pq3_write_u8(w, PQ3_FORMAT_VERSION);
    pq3_write_u8(w, PQ3_TYPE_LINK_REQUEST);
    pq3_write_vec16(w, q->handle, q->handle_len, PQ3_HANDLE_MAX);
    pq3_write_bytes(w, q->device_id, PQ3_DEVICE_ID_BYTES);
    pq3_write_bytes(w, q->auth_pub, PQ3_ECDSA_PUB_BYTES);
    pq3_write_u8(w, q->n_versions);
    pq3_write_bytes(w, q->versions, q->n_versions);
    pq3_write_u64(w, q->created);
}

#define LINK_TBS_MAX (sizeof PQ3_L_LINK - 1 + PQ3_LINK_REQUEST_MAX_BYTES)

pq3_err pq3_link_request_sign(uint8_t *out, size_t cap, size_t *out_len, pq3_link_request *req,
                              const pq3_signer *device)
{
    uint8_t tbs[LINK_TBS_MAX], sig[PQ3_ECDSA_SIG_BYTES];
    pq3_link_request q;
    pq3_writer w;
    size_t body_len, n = sizeof PQ3_L_LINK - 1;
    pq3_err err;

    if (out_len == NULL || req == NULL || device == NULL || (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    if (req->handle_len == 0 || !versions_ok(req->versions, req->n_versions))
        return PQ3_ERR_ARG;
    q = *req;
    memcpy(q.auth_pub, device->pub, PQ3_ECDSA_PUB_BYTES);
    /* TBS_link = L_LINK || R[0..len-64) (§19.2). */
    memcpy(tbs, PQ3_L_LINK, n);
    pq3_writer_init(&w, tbs + n, sizeof tbs - n);
    link_write_body(&w, &q);
    if ((err = pq3_writer_end(&w, &body_len)) != PQ3_OK)
        return err;
    if (cap < body_len + PQ3_ECDSA_SIG_BYTES) {
        *out_len = body_len + PQ3_ECDSA_SIG_BYTES;
        return PQ3_ERR_BUFFER;
    }
    if ((err = pq3_sign_checked(device, sig, tbs, n + body_len)) != PQ3_OK)
        return err;
    memcpy(out, tbs + n, body_len);
    memcpy(out + body_len, sig, sizeof sig);
    memcpy(q.signature, sig, sizeof sig);
    *req = q;
    *out_len = body_len + PQ3_ECDSA_SIG_BYTES;
    return PQ3_OK;
}

pq3_err pq3_link_request_verify(pq3_link_request *req, const uint8_t *in, size_t len,
                                uint64_t now)
{
    uint8_t tbs[LINK_TBS_MAX];
    pq3_link_request q;
    pq3_ecdsa_pub pk;
    pq3_reader r;
    const uint8_t *handle;
    size_t hlen, body_len, n = sizeof PQ3_L_LINK - 1;
    pq3_err err;

    if (req == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    memset(&q, 0, sizeof q);
    pq3_reader_init(&r, in, len);
    if (pq3_read_u8(&r) != PQ3_FORMAT_VERSION || pq3_read_u8(&r) != PQ3_TYPE_LINK_REQUEST)
        return len < 2 ? PQ3_ERR_DECODE : PQ3_ERR_VERSION;
    handle = pq3_read_vec16(&r, &hlen, PQ3_HANDLE_MAX);
    if (handle != NULL && hlen == 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    if (handle != NULL && hlen > 0)
        memcpy(q.handle, handle, hlen);
    q.handle_len = (uint8_t)hlen;
    pq3_read_bytes(&r, q.device_id, PQ3_DEVICE_ID_BYTES);
    pq3_read_bytes(&r, q.auth_pub, PQ3_ECDSA_PUB_BYTES);
    q.n_versions = pq3_read_u8(&r);
    if (q.n_versions == 0 || q.n_versions > PQ3_CERT_MAX_VERSIONS)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    else
        pq3_read_bytes(&r, q.versions, q.n_versions);
    q.created = pq3_read_u64(&r);
    body_len = r.off;
    pq3_read_bytes(&r, q.signature, sizeof q.signature);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    if (!versions_ok(q.versions, q.n_versions))
        return PQ3_ERR_DECODE;
    if ((err = pq3_ecdsa_import(&pk, q.auth_pub)) != PQ3_OK)
        return err;
    memcpy(tbs, PQ3_L_LINK, n);
    memcpy(tbs + n, in, body_len);
    if ((err = pq3_ecdsa_verify(&pk, q.signature, tbs, n + body_len)) != PQ3_OK)
        return err;
    /* A request is an answer to a person standing at the new device: an old
     * one carried around (or replayed) is refused. */
    if ((q.created > now && q.created - now > PQ3_CLOCK_SKEW) ||
        (now > q.created && now - q.created > PQ3_LINK_MAX_AGE))
        return PQ3_ERR_EXPIRED;
    *req = q;
    return PQ3_OK;
}
