/* The message wire format (docs/PROTOCOL.md §9.1, §7, §16.1): the decoder
 * and the header encoder read like the table of §9.1. */
#include "protocol/message.h"

#include <string.h>

#include "pq3/padme.h"

size_t pq3_msg_max_ciphertext(void)
{
    return pq3_padme_padded_size(PQ3_PADME_MAX_PLAINTEXT);
}

size_t pq3_msg_ext_len(unsigned flags)
{
    return ((flags & PQ3_MSG_START) ? PQ3_MSG_START_BYTES : 0) +
           ((flags & PQ3_MSG_EK) ? PQ3_MLKEM768_EK_BYTES : 0) +
           ((flags & PQ3_MSG_CT) ? PQ3_MLKEM768_CT_BYTES : 0);
}

pq3_err pq3_msg_decode(pq3_msg_view *v, const uint8_t *msg, size_t len)
{
    pq3_reader r;
    pq3_err err;

    memset(v, 0, sizeof *v);
    if (len < 2)
        return PQ3_ERR_DECODE;
    /* §2: the format version and type are checked before reading on. */
    if (msg[1] != PQ3_TYPE_MESSAGE || msg[0] != PQ3_FORMAT_VERSION)
        return PQ3_ERR_VERSION;
    pq3_reader_init(&r, msg, len);
    v->version = pq3_read_u8(&r);
    (void)pq3_read_u8(&r);
    v->flags = pq3_read_u8(&r);
    /* Undefined bits and START with CT are non-canonical (§9.1). */
    if ((v->flags & ~PQ3_MSG_KNOWN_FLAGS) != 0 ||
        (v->flags & (PQ3_MSG_START | PQ3_MSG_CT)) == (PQ3_MSG_START | PQ3_MSG_CT))
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    v->ratchet_key = pq3_read_ref(&r, 32);
    v->index = pq3_read_u32(&r);
    /* §9.1: indices end at 2^32 - 2, so a receiver's next index never
     * wraps. */
    if (v->index == UINT32_MAX)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    v->pn = pq3_read_u32(&r);
    if (v->flags & PQ3_MSG_START) {
        v->prekey_hash = pq3_read_ref(&r, 48);
        v->ct0 = pq3_read_ref(&r, PQ3_MLKEM1024_CT_BYTES);
    }
    if (v->flags & PQ3_MSG_EK)
        v->ek = pq3_read_ref(&r, PQ3_MLKEM768_EK_BYTES);
    if (v->flags & PQ3_MSG_CT)
        v->ct = pq3_read_ref(&r, PQ3_MLKEM768_CT_BYTES);
    v->mki = pq3_read_ref(&r, PQ3_MKI_BYTES);
    if (v->flags & PQ3_MSG_AD) {
        v->ad = pq3_read_vec16(&r, &v->ad_len, PQ3_MAX_AD);
        if (v->ad != NULL && v->ad_len == 0)
            pq3_reader_fail(&r, PQ3_ERR_DECODE); /* AD flag with empty AD */
    }
    v->ctext = pq3_read_vec32(&r, &v->ctext_len, pq3_msg_max_ciphertext());
    if (v->ctext != NULL && v->ctext_len < 2)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    v->signed_len = r.off;
    v->sig = pq3_read_ref(&r, PQ3_ECDSA_SIG_BYTES);
    if ((err = pq3_reader_end(&r)) != PQ3_OK) {
        memset(v, 0, sizeof *v);
        return err;
    }
    return PQ3_OK;
}

pq3_err pq3_message_peek(pq3_message_info *info, const uint8_t *msg, size_t msg_len)
{
    pq3_msg_view v;
    pq3_err err;
    if (info == NULL || (msg == NULL && msg_len > 0))
        return PQ3_ERR_ARG;
    if ((err = pq3_msg_decode(&v, msg, msg_len)) != PQ3_OK)
        return err;
    memset(info, 0, sizeof *info);
    info->version = v.version;
    info->flags = v.flags;
    memcpy(info->ratchet_key, v.ratchet_key, 32);
    info->index = v.index;
    info->prev_len = v.pn;
    if (v.prekey_hash != NULL)
        memcpy(info->prekey_hash, v.prekey_hash, PQ3_PREKEY_HASH_BYTES);
    return PQ3_OK;
}

size_t pq3_msg_size(unsigned ext, size_t ad_len, size_t body_len)
{
    return PQ3_MSG_FIXED_BYTES + pq3_msg_ext_len(ext) + (ad_len > 0 ? 2 + ad_len : 0) +
           pq3_padme_padded_size(body_len + 1);
}

size_t pq3_message_max_size(size_t body_len, size_t ad_len)
{
    if (body_len > PQ3_MAX_BODY)
        body_len = PQ3_MAX_BODY;
    if (ad_len > PQ3_MAX_AD)
        ad_len = PQ3_MAX_AD;
    return PQ3_MSG_FIXED_BYTES + PQ3_MSG_MAX_EXT + 2 + ad_len + pq3_padme_padded_size(body_len + 1);
}

void pq3_msg_write_header(pq3_writer *w, const pq3_msg_header *h)
{
    pq3_write_u8(w, h->version);
    pq3_write_u8(w, PQ3_TYPE_MESSAGE);
    pq3_write_u8(w, h->flags);
    pq3_write_bytes(w, h->ratchet_key, 32);
    pq3_write_u32(w, h->index);
    pq3_write_u32(w, h->pn);
    if (h->flags & PQ3_MSG_START) {
        pq3_write_bytes(w, h->prekey_hash, PQ3_PREKEY_HASH_BYTES);
        pq3_write_bytes(w, h->ct0, PQ3_MLKEM1024_CT_BYTES);
    }
    if (h->flags & PQ3_MSG_EK)
        pq3_write_bytes(w, h->ek, PQ3_MLKEM768_EK_BYTES);
    if (h->flags & PQ3_MSG_CT)
        pq3_write_bytes(w, h->ct, PQ3_MLKEM768_CT_BYTES);
    pq3_write_bytes(w, h->mki, PQ3_MKI_BYTES);
    if (h->flags & PQ3_MSG_AD)
        pq3_write_vec16(w, h->ad, h->ad_len, PQ3_MAX_AD);
    pq3_write_u32(w, (uint32_t)h->ctext_len);
}

pq3_err pq3_msg_tbs(uint8_t tbs[PQ3_MSG_TBS_BYTES], const uint8_t sidd[48], const uint8_t *msg,
                    size_t signed_len)
{
    size_t n = sizeof PQ3_L_MSGSIG - 1;
    memcpy(tbs, PQ3_L_MSGSIG, n);
    memcpy(tbs + n, sidd, 48);
    return pq3_sha384(tbs + n + 48, msg, signed_len);
}

pq3_err pq3_msg_verify(const pq3_ecdsa_pub *key, const uint8_t sidd[48], const pq3_msg_view *v,
                       const uint8_t *msg)
{
    uint8_t tbs[PQ3_MSG_TBS_BYTES];
    pq3_err err = pq3_msg_tbs(tbs, sidd, msg, v->signed_len);
    if (err != PQ3_OK)
        return err;
    return pq3_ecdsa_verify(key, v->sig, tbs, sizeof tbs);
}

pq3_err pq3_msg_mandatory_digest(uint8_t out[48], const pq3_msg_view *v)
{
    if (v->prekey_hash != NULL)
        return pq3_sha384(out, v->prekey_hash, PQ3_MSG_START_BYTES);
    if (v->ct != NULL)
        return pq3_sha384(out, v->ct, PQ3_MLKEM768_CT_BYTES);
    memset(out, 0, 48);
    return PQ3_OK;
}

/* ---- receipt body (§16.1) ------------------------------------------------- */

pq3_err pq3_receipt_encode(uint8_t out[PQ3_RECEIPT_BODY_BYTES], const uint8_t ratchet_key[32],
                           uint32_t next_index, uint32_t missing)
{
    pq3_writer w;
    size_t len;
    if (out == NULL || ratchet_key == NULL)
        return PQ3_ERR_ARG;
    /* ratchet key (32) || u32 next index || u32 missing */
    pq3_writer_init(&w, out, PQ3_RECEIPT_BODY_BYTES);
    pq3_write_bytes(&w, ratchet_key, 32);
    pq3_write_u32(&w, next_index);
    pq3_write_u32(&w, missing);
    return pq3_writer_end(&w, &len);
}

pq3_err pq3_receipt_parse(const uint8_t *body, size_t len, uint8_t ratchet_key[32],
                          uint32_t *next_index, uint32_t *missing)
{
    pq3_reader r;
    uint8_t rk[32];
    uint32_t next, miss;
    pq3_err err;

    if (body == NULL || ratchet_key == NULL || next_index == NULL || missing == NULL)
        return PQ3_ERR_ARG;
    pq3_reader_init(&r, body, len);
    pq3_read_bytes(&r, rk, sizeof rk);
    next = pq3_read_u32(&r);
    miss = pq3_read_u32(&r);
    if ((err = pq3_reader_end(&r)) != PQ3_OK)
        return err;
    memcpy(ratchet_key, rk, sizeof rk);
    *next_index = next;
    *missing = miss;
    return PQ3_OK;
}
