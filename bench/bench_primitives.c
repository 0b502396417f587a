/*
 * Classical primitives (src/crypto/): median time per call, beside the
 * figure `openssl speed` reports for the same primitive on this machine
 * (converted from operations or bytes per second to µs per call). A table,
 * not a test.
 *
 * Reference columns: ECDSA sign/verify and ECDH derive from
 * `openssl speed ecdsap256 ecdhp256`; HMAC, HKDF from `-hmac sha384` on a
 * message of the same size (HKDF Extract and Expand(32) are one HMAC each);
 * SHA-384 and AES-256-CTR from `-evp` on 1 KiB. OpenSSL has no figure for key
 * generation or x-only decompression ("n/a").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "pq3/crypto.h"

typedef struct {
    uint8_t priv[32], pub33[33], pub32[32], sig[64], msg[1024], ss[32], prk[48], out[1024];
    pq3_ecdsa_pub vk;
    pq3_ecdh_peer peer;
    uint8_t key[32], iv[16];
} state;

static void b_sign(void *a)
{
    state *s = a;
    pq3b_require(pq3_ecdsa_sign(s->sig, s->priv, s->msg, 100) == PQ3_OK, "sign");
}
static void b_verify(void *a)
{
    state *s = a;
    pq3b_require(pq3_ecdsa_verify(&s->vk, s->sig, s->msg, 100) == PQ3_OK, "verify");
}
static void b_ecdh_keypair(void *a)
{
    uint8_t priv[32], pub[32];
    (void)a;
    pq3b_require(pq3_ecdh_keypair(priv, pub, NULL) == PQ3_OK, "ecdh keypair");
    pq3_wipe(priv, sizeof priv);
}
static void b_ecdh_derive(void *a)
{
    state *s = a;
    pq3b_require(pq3_ecdh_derive(s->ss, s->priv, &s->peer) == PQ3_OK, "ecdh derive");
}
static void b_ecdh_import(void *a)
{
    state *s = a;
    pq3b_require(pq3_ecdh_import(&s->peer, s->pub32) == PQ3_OK, "ecdh import");
}
static void b_ecdsa_import(void *a)
{
    state *s = a;
    pq3b_require(pq3_ecdsa_import(&s->vk, s->pub33) == PQ3_OK, "ecdsa import");
}
static void b_extract(void *a)
{
    state *s = a;
    pq3b_require(pq3_hkdf_sha384_extract(s->prk, s->prk, 48, s->ss, 32) == PQ3_OK, "extract");
}
static void b_expand(void *a)
{
    state *s = a;
    pq3b_require(pq3_hkdf_sha384_expand(s->out, 32, s->prk, s->msg, 24) == PQ3_OK, "expand");
}
static void b_hmac(void *a)
{
    state *s = a;
    pq3b_require(pq3_hmac_sha384(s->out, s->key, 32, s->msg, 64) == PQ3_OK, "hmac");
}
static void b_sha384(void *a)
{
    state *s = a;
    pq3b_require(pq3_sha384(s->out, s->msg, 1024) == PQ3_OK, "sha384");
}
static void b_aes(void *a)
{
    state *s = a;
    pq3b_require(pq3_aes256ctr(s->out, s->msg, 1024, s->key, s->iv) == PQ3_OK, "aes");
}

/* ---- openssl speed ------------------------------------------------------- */

/* Runs `openssl speed -mr <args>` and returns its machine-readable lines, or
 * NULL when it cannot run. */
static char *speed(const char *args)
{
    char cmd[256], *buf = NULL, line[512];
    size_t len = 0;
    FILE *p;
    snprintf(cmd, sizeof cmd, "openssl speed -mr -seconds 1 %s 2>/dev/null", args);
    if ((p = popen(cmd, "r")) == NULL)
        return NULL;
    while (fgets(line, sizeof line, p) != NULL) {
        size_t l = strlen(line);
        char *nb = realloc(buf, len + l + 1);
        if (nb == NULL)
            break;
        buf = nb;
        memcpy(buf + len, line, l + 1);
        len += l;
    }
    if (pclose(p) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Field `field` (0-based, after the tag) of the first line starting with
 * `tag` ("+F4:", "+F5:", "+F:"), as a number; < 0 if absent. */
static double speed_field(const char *out, const char *tag, int field)
{
    const char *l = out;
    while (l != NULL && *l != '\0') {
        if (strncmp(l, tag, strlen(tag)) == 0) {
            const char *p = l + strlen(tag);
            for (int i = 0; i < field; i++) {
                p = strchr(p, ':');
                if (p == NULL)
                    return -1;
                p++;
            }
            return strtod(p, NULL);
        }
        l = strchr(l, '\n');
        if (l != NULL)
            l++;
    }
    return -1;
}

static void ref(char *note, size_t n, double us)
{
    if (us > 0)
        snprintf(note, n, "openssl speed: %8.2f us", us);
    else
        snprintf(note, n, "openssl speed:      n/a");
}

int main(void)
{
    static state s;
    char *ec = speed("ecdsap256 ecdhp256");
    char *aes = speed("-bytes 1024 -evp aes-256-ctr");
    char *sha = speed("-bytes 1024 -evp sha384");
    char *hmac64 = speed("-bytes 64 -hmac sha384");
    char *hmac32 = speed("-bytes 32 -hmac sha384");
    double sign_us = -1, verify_us = -1, ecdh_us = -1, aes_us = -1, sha_us = -1;
    double hmac64_us = -1, hmac32_us = -1, v;
    char note[64];

    /* +F4:<i>:256:<sign/s>:<verify/s>  +F5:<i>:256:<ops/s>:<s/op>
     * +F:<i>:<name>:<bytes/s for the one -bytes size> */
    if (ec != NULL) {
        if ((v = speed_field(ec, "+F4:", 2)) > 0)
            sign_us = 1e6 / v;
        if ((v = speed_field(ec, "+F4:", 3)) > 0)
            verify_us = 1e6 / v;
        if ((v = speed_field(ec, "+F5:", 2)) > 0)
            ecdh_us = 1e6 / v;
    }
    if (aes != NULL && (v = speed_field(aes, "+F:", 2)) > 0)
        aes_us = 1024 * 1e6 / v;
    if (sha != NULL && (v = speed_field(sha, "+F:", 2)) > 0)
        sha_us = 1024 * 1e6 / v;
    if (hmac64 != NULL && (v = speed_field(hmac64, "+F:", 2)) > 0)
        hmac64_us = 64 * 1e6 / v;
    if (hmac32 != NULL && (v = speed_field(hmac32, "+F:", 2)) > 0)
        hmac32_us = 32 * 1e6 / v;
    free(ec);
    free(aes);
    free(sha);
    free(hmac64);
    free(hmac32);

    memset(s.msg, 0x5a, sizeof s.msg);
    memset(s.key, 0x11, sizeof s.key);
    memset(s.prk, 0x22, sizeof s.prk);
    pq3b_require(pq3_ecdsa_keypair(s.priv, s.pub33, NULL) == PQ3_OK, "ecdsa keypair");
    pq3b_require(pq3_ecdsa_import(&s.vk, s.pub33) == PQ3_OK, "ecdsa import");
    pq3b_require(pq3_ecdsa_sign(s.sig, s.priv, s.msg, 100) == PQ3_OK, "sign");
    {
        uint8_t p2[32];
        pq3b_require(pq3_ecdh_keypair(p2, s.pub32, NULL) == PQ3_OK, "ecdh keypair");
        pq3_wipe(p2, sizeof p2);
    }
    pq3b_require(pq3_ecdh_import(&s.peer, s.pub32) == PQ3_OK, "ecdh import");

    pq3b_header("classical primitives (src/crypto), median per call");
    ref(note, sizeof note, sign_us);
    pq3b_row("ECDSA P-256 sign (RFC 6979, 100 B)", pq3b_measure(b_sign, &s, 2000), note);
    ref(note, sizeof note, verify_us);
    pq3b_row("ECDSA P-256 verify (100 B)", pq3b_measure(b_verify, &s, 2000), note);
    ref(note, sizeof note, -1);
    pq3b_row("ECDSA import (decompress, 33 B)", pq3b_measure(b_ecdsa_import, &s, 2000), note);
    pq3b_row("ECDH P-256 keypair", pq3b_measure(b_ecdh_keypair, &s, 2000), note);
    ref(note, sizeof note, ecdh_us);
    pq3b_row("ECDH P-256 derive", pq3b_measure(b_ecdh_derive, &s, 2000), note);
    ref(note, sizeof note, -1);
    pq3b_row("ECDH import (x-only decompress)", pq3b_measure(b_ecdh_import, &s, 2000), note);
    ref(note, sizeof note, hmac32_us);
    pq3b_row("HKDF-SHA384 extract (48 B salt, 32 B)", pq3b_measure(b_extract, &s, 20000), note);
    pq3b_row("HKDF-SHA384 expand (32 B out)", pq3b_measure(b_expand, &s, 20000), note);
    ref(note, sizeof note, hmac64_us);
    pq3b_row("HMAC-SHA384 (64 B)", pq3b_measure(b_hmac, &s, 20000), note);
    ref(note, sizeof note, sha_us);
    pq3b_row("SHA-384 (1 KiB)", pq3b_measure(b_sha384, &s, 20000), note);
    ref(note, sizeof note, aes_us);
    pq3b_row("AES-256-CTR (1 KiB)", pq3b_measure(b_aes, &s, 20000), note);
    pq3_wipe(&s, sizeof s);
    return 0;
}
