/*
 * Key stores (docs/DEVICE.md §2): a signature through the software store
 * and through a SoftHSM2 token (both via pq3_sign, so the token's row
 * includes the normalisation of s and the check under the public key), and
 * loading a key blob at the default scrypt cost. The token is made in a
 * temporary directory, as test_pkcs11 does; without SoftHSM2 its row is
 * left out with a note. A table, not a test.
 *
 * Usage: bench_keystore [scale]   (scale multiplies the iteration counts)
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchutil.h"
#include "pq3/keystore.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"

static double scale = 1.0;
static uint8_t msg[100];

static size_t scaled(size_t n)
{
    double v = (double)n * scale;
    return v < 10 ? 10 : (size_t)v;
}

static void b_sign(void *a)
{
    uint8_t sig[64];
    pq3b_require(pq3_sign(a, sig, msg, sizeof msg) == PQ3_OK, "sign");
}

typedef struct {
    uint8_t blob[PQ3_KEYBLOB_MAX_BYTES];
    size_t len;
} blob;

static void b_decode(void *a)
{
    blob *b = a;
    uint8_t priv[32];
    pq3b_require(pq3_keyblob_decode(priv, b->blob, b->len, "a passphrase") == PQ3_OK,
                 "decode");
    pq3_wipe(priv, sizeof priv);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

/* A SoftHSM2 token of our own in dir; 0 when SoftHSM2 is absent. */
static int make_token(const char *dir)
{
    char path[256];
    FILE *f;
    if (access(MODULE, R_OK) != 0 || system("command -v softhsm2-util >/dev/null 2>&1") != 0)
        return 0;
    snprintf(path, sizeof path, "%s/tokens", dir);
    if (mkdir(path, 0700) != 0)
        return 0;
    snprintf(path, sizeof path, "%s/softhsm2.conf", dir);
    f = fopen(path, "w");
    if (f == NULL)
        return 0;
    fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
               "log.level = ERROR\n", dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", path, 1);
    setenv("PQ3_BENCH_TOKEN_PIN", "1234", 1);
    return system("softhsm2-util --init-token --free --label pq3 --pin 1234 --so-pin 5678 "
                  ">/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/pq3-bench-keystore-XXXXXX", path[256];
    pq3_keystore *soft, *tok = NULL;
    pq3_signer ss, ts;
    pq3_soft_key key;
    blob b;
    char note[96];
    pq3b_result r;

    if (argc > 1)
        scale = atof(argv[1]);
    if (scale <= 0)
        scale = 1.0;
    memset(msg, 0x42, sizeof msg);
    pq3b_require(mkdtemp(dir) != NULL, "mkdtemp");

    pq3b_header("key stores: signing through pq3_sign (100 B), loading a key blob");
    snprintf(path, sizeof path, "%s/device.key", dir);
    pq3b_require(pq3_keystore_new(&soft) == PQ3_OK, "new");
    pq3b_require(pq3_keystore_soft_create(soft, path, NULL, NULL, NULL) == PQ3_OK, "create");
    pq3b_require(pq3_keystore_signer(soft, &ss) == PQ3_OK, "signer");
    r = pq3b_measure(b_sign, &ss, scaled(2000));
    pq3b_row("sign, software key store", r, "RFC 6979, low s");

    if (make_token(dir)) {
        pq3_pkcs11_config cfg = { MODULE, "pq3", "bench", NULL, "PQ3_BENCH_TOKEN_PIN" };
        pq3b_require(pq3_keystore_new(&tok) == PQ3_OK, "new");
        pq3b_require(pq3_keystore_pkcs11_create(tok, &cfg) == PQ3_OK, "token create");
        pq3b_require(pq3_keystore_signer(tok, &ts) == PQ3_OK, "signer");
        r = pq3b_measure(b_sign, &ts, scaled(2000));
        pq3b_row("sign, SoftHSM2 token (CKM_ECDSA)", r, "+ normalise s, verify");
    } else {
        printf("%-40s skipped: softhsm2 not installed (%s)\n", "sign, SoftHSM2 token", MODULE);
    }

    pq3b_require(pq3_soft_key_generate(&key, NULL) == PQ3_OK, "keygen");
    pq3b_require(pq3_keyblob_encode(b.blob, sizeof b.blob, &b.len, key.priv, "a passphrase",
                                    NULL, NULL) == PQ3_OK,
                 "encode");
    r = pq3b_measure(b_decode, &b, scaled(20));
    snprintf(note, sizeof note, "scrypt N=2^15 r=8 p=1, AES-256-GCM");
    pq3b_row("key blob decode, default cost", r, note);
    pq3b_require(pq3_keyblob_encode(b.blob, sizeof b.blob, &b.len, key.priv, NULL, NULL,
                                    NULL) == PQ3_OK,
                 "encode");
    r = pq3b_measure(b_decode, &b, scaled(2000));
    pq3b_row("key blob decode, in the clear", r, "range check of the key");

    pq3_soft_key_wipe(&key);
    pq3_keystore_free(tok);
    pq3_keystore_free(soft);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
