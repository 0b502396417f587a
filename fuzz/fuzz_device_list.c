/* libFuzzer target: the device list decoder and verifier (docs/PROTOCOL.md
 * §19.1). Nothing may crash; whatever decodes must keep the invariants the
 * decoder promises (count 1..16, ids strictly increasing, version >= 1, a
 * non-empty handle) and encode back to the same bytes. */
#include <string.h>

#include "pq3/account.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The body of §19.1 written out by hand, independent of account.c. */
static size_t encode(uint8_t *out, const pq3_device_list *l)
{
    size_t n = 0;
    out[n++] = PQ3_FORMAT_VERSION;
    out[n++] = PQ3_TYPE_DEVICE_LIST;
    out[n++] = 0;
    out[n++] = l->handle_len;
    memcpy(out + n, l->handle, l->handle_len);
    n += l->handle_len;
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t)(l->version >> (8 * i));
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t)(l->created >> (8 * i));
    out[n++] = l->count;
    for (unsigned i = 0; i < l->count; i++) {
        memcpy(out + n, l->devices[i].device_id, PQ3_DEVICE_ID_BYTES);
        n += PQ3_DEVICE_ID_BYTES;
        memcpy(out + n, l->devices[i].auth_pub, PQ3_ECDSA_PUB_BYTES);
        n += PQ3_ECDSA_PUB_BYTES;
    }
    memcpy(out + n, l->signature, PQ3_ECDSA_SIG_BYTES);
    return n + PQ3_ECDSA_SIG_BYTES;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The account key of the seeds: private scalar 1, so its public key is
     * the generator. */
    static const uint8_t account[33] = { 0x03, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47,
                                         0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77,
                                         0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1,
                                         0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96 };
    uint8_t re[PQ3_DEVICE_LIST_MAX_BYTES];
    pq3_device_list l, v;
    uint32_t idx;

    if (pq3_device_list_decode(&l, data, size) == PQ3_OK) {
        if (l.handle_len == 0 || l.version == 0 || l.count == 0 ||
            l.count > PQ3_ACCOUNT_MAX_DEVICES || l.verified != 0 ||
            size > PQ3_DEVICE_LIST_MAX_BYTES)
            __builtin_trap();
        for (unsigned i = 1; i < l.count; i++)
            if (memcmp(l.devices[i - 1].device_id, l.devices[i].device_id,
                       PQ3_DEVICE_ID_BYTES) >= 0)
                __builtin_trap();
        if (encode(re, &l) != size || memcmp(re, data, size) != 0)
            __builtin_trap();
        for (unsigned i = 0; i < l.count; i++)
            if (pq3_device_list_find(&l, l.devices[i].device_id, &idx) != PQ3_OK || idx != i)
                __builtin_trap();
    }
    if (pq3_device_list_verify(&v, data, size, account) == PQ3_OK) {
        /* What verifies also decodes, to the same list. */
        if (v.verified != 1 || pq3_device_list_decode(&l, data, size) != PQ3_OK ||
            memcmp(l.devices, v.devices, sizeof l.devices) != 0 || l.version != v.version)
            __builtin_trap();
    }
    return 0;
}
