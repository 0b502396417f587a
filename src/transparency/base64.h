/*
 * Standard base64 (RFC 4648 §4, with padding), strict (internal): the text
 * encoding of signed notes, verifier keys and checkpoints.
 *
 * Decoding accepts exactly the strings the encoder produces: a length that
 * is a multiple of 4, only the 64 alphabet characters, '=' only as the last
 * one or two characters of the final group, and zero bits in the positions
 * the padding leaves unused (RFC 4648 §3.5), so every byte string has one
 * encoding and a note cannot be altered without changing its bytes' meaning.
 * For public data only: the alphabet lookup is an indexed table.
 */
#ifndef PQ3_TRANSPARENCY_BASE64_H
#define PQ3_TRANSPARENCY_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "pq3/common.h"

/* Characters encoding n bytes: 4 * ceil(n / 3). */
static inline size_t pq3_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Writes pq3_base64_len(n) characters to out (no NUL). */
void pq3_base64_encode(char *out, const uint8_t *in, size_t n);

/* Decodes len characters. With out NULL only validates, and *out_len gets
 * the decoded size. Errors: PQ3_ERR_DECODE (not a canonical encoding),
 * PQ3_ERR_BUFFER (more than cap bytes); out untouched on error. */
pq3_err pq3_base64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in, size_t len);

#endif
