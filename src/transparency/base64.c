/* Strict standard base64 (RFC 4648 §4); see base64.h. */
#include "transparency/base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void pq3_base64_encode(char *out, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[w >> 18];
        *out++ = alphabet[(w >> 12) & 63];
        *out++ = alphabet[(w >> 6) & 63];
        *out++ = alphabet[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)in[i] << 16;
        *out++ = alphabet[w >> 18];
        *out++ = alphabet[(w >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = alphabet[w >> 18];
        *out++ = alphabet[(w >> 12) & 63];
        *out++ = alphabet[(w >> 6) & 63];
        *out++ = '=';
    }
}

/* The 6-bit value of an alphabet character, or -1. */
static int value(char ch)
{
    unsigned char c = (unsigned char)ch;
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

pq3_err pq3_base64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in, size_t len)
{
    size_t pad = 0, n;

    if (len % 4 != 0)
        return PQ3_ERR_DECODE;
    if (len > 0 && in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    n = len / 4 * 3 - pad;
    /* First pass: validate everything, so that out stays untouched on
     * error. */
    for (size_t i = 0; i < len - pad; i++)
        if (value(in[i]) < 0)
            return PQ3_ERR_DECODE;
    /* Unused bits below the padding must be zero (RFC 4648 §3.5). */
    if (pad == 1 && (value(in[len - 2]) & 3) != 0)
        return PQ3_ERR_DECODE;
    if (pad == 2 && (value(in[len - 3]) & 15) != 0)
        return PQ3_ERR_DECODE;
    if (out_len != NULL)
        *out_len = n;
    if (out == NULL)
        return PQ3_OK;
    if (n > cap)
        return PQ3_ERR_BUFFER;
    for (size_t i = 0, o = 0; i < len; i += 4) {
        uint32_t w = 0;
        for (size_t j = 0; j < 4; j++) {
            int v = in[i + j] == '=' ? 0 : value(in[i + j]);
            w = w << 6 | (uint32_t)v;
        }
        for (size_t j = 0; j < 3 && o < n; j++)
            out[o++] = (uint8_t)(w >> (16 - 8 * j));
    }
    return PQ3_OK;
}
