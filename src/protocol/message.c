/* The message wire format (docs/PROTOCOL.md §9.1). */
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
    v->pn = pq3_read_u32(&r);
    v->ext = msg + PQ3_MSG_EXT_OFFSET;
    v->ext_len = pq3_msg_ext_len(v->flags);
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

size_t pq3_message_max_size(size_t body_len, size_t ad_len)
{
    if (body_len > PQ3_MAX_BODY)
        body_len = PQ3_MAX_BODY;
    if (ad_len > PQ3_MAX_AD)
        ad_len = PQ3_MAX_AD;
    return PQ3_MSG_FIXED_BYTES + PQ3_MSG_MAX_EXT + 2 + ad_len + pq3_padme_padded_size(body_len + 1);
}
