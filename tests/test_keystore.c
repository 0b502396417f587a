/* Key blobs and the software key store (docs/DEVICE.md §2.1, §2.2;
 * src/device/keyblob.c, src/device/keystore.c).
 *
 * Blobs round-trip in both modes; every altered, truncated or extended blob
 * is refused and never gives another key; costs above the bounds are
 * refused before scrypt runs. Key files: 0600 and O_EXCL on creation, a
 * file others may read refused, a wrong passphrase refused, a backup moves
 * the key to a new file. Tests use scrypt at log2_n 10 (1 MiB), one at the
 * default cost. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pq3/keystore.h"
#include "testutil.h"

static const pq3_scrypt_cost low = { 10, 8, 1 };
static char dir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static const char *path_in(const char *name)
{
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int same_file(const char *path, const uint8_t *want, size_t want_len)
{
    size_t len = 0;
    char *got = pq3t_read_file(path, &len);
    int ok = got != NULL && len == want_len && memcmp(got, want, len) == 0;
    free(got);
    return ok;
}

/* ---- key blobs ------------------------------------------------------------ */

static void test_blob_roundtrip(pq3_rng *rng)
{
    pq3_soft_key key;
    uint8_t blob[PQ3_KEYBLOB_MAX_BYTES], blob2[PQ3_KEYBLOB_MAX_BYTES], priv[32];
    size_t len = 0, len2 = 0;

    CHECK_OK(pq3_soft_key_generate(&key, rng));

    /* clear: 35 bytes, the key in it */
    CHECK_OK(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, NULL, NULL, rng));
    CHECK(len == 35 && blob[0] == 1 && blob[1] == PQ3_TYPE_KEYBLOB && blob[2] == 0);
    CHECK(memcmp(blob + 3, key.priv, 32) == 0);
    CHECK(!pq3_keyblob_encrypted(blob, len));
    CHECK_OK(pq3_keyblob_decode(priv, blob, len, NULL));
    CHECK(memcmp(priv, key.priv, 32) == 0);
    /* a passphrase given for a clear blob does not matter */
    CHECK_OK(pq3_keyblob_decode(priv, blob, len, "ignored"));

    /* encrypted: 82 bytes, the cost in the header, no key byte string in it */
    CHECK_OK(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, "correct horse", &low, rng));
    CHECK(len == 82 && blob[2] == 1 && blob[3] == 10 && blob[4] == 8 && blob[5] == 1);
    CHECK(pq3_keyblob_encrypted(blob, len));
    CHECK(memmem(blob, len, key.priv, 8) == NULL);
    memset(priv, 0, sizeof priv);
    CHECK_OK(pq3_keyblob_decode(priv, blob, len, "correct horse"));
    CHECK(memcmp(priv, key.priv, 32) == 0);
    /* a fresh salt and nonce every time */
    CHECK_OK(pq3_keyblob_encode(blob2, sizeof blob2, &len2, key.priv, "correct horse", &low,
                                rng));
    CHECK(len2 == len && memcmp(blob + 6, blob2 + 6, 28) != 0 &&
          memcmp(blob + 34, blob2 + 34, 48) != 0);

    /* wrong passphrase, none, empty */
    memset(priv, 0x5A, sizeof priv);
    CHECK_ERR(pq3_keyblob_decode(priv, blob, len, "correct horse!"), PQ3_ERR_VERIFY);
    CHECK_ERR(pq3_keyblob_decode(priv, blob, len, NULL), PQ3_ERR_STATE);
    CHECK_ERR(pq3_keyblob_decode(priv, blob, len, ""), PQ3_ERR_VERIFY);
    for (size_t i = 0; i < 32; i++)
        CHECK(priv[i] == 0x5A);

    /* encoding: arguments and the buffer */
    CHECK_ERR(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, "", &low, rng),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_keyblob_encode(NULL, sizeof blob, &len, key.priv, NULL, NULL, rng),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_keyblob_encode(blob, sizeof blob, &len, NULL, NULL, NULL, rng), PQ3_ERR_ARG);
    {
        pq3_scrypt_cost bad[] = { { 9, 8, 1 }, { 21, 8, 1 }, { 15, 0, 1 }, { 15, 17, 1 },
                                  { 15, 8, 0 }, { 15, 8, 5 }, { 20, 16, 1 } };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECKF(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, "pw", &bad[i], rng) ==
                       PQ3_ERR_ARG,
                   "cost %zu accepted", i);
    }
    /* the cost does not matter in the clear */
    {
        pq3_scrypt_cost bad = { 0, 0, 0 };
        CHECK_OK(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, NULL, &bad, rng));
    }
    memset(blob, 0xA5, sizeof blob);
    CHECK_ERR(pq3_keyblob_encode(blob, 81, &len, key.priv, "pw", &low, rng), PQ3_ERR_BUFFER);
    CHECK(len == 82 && blob[0] == 0 && blob[80] == 0 && blob[81] == 0xA5);
    CHECK_ERR(pq3_keyblob_encode(blob, 34, &len, key.priv, NULL, NULL, rng), PQ3_ERR_BUFFER);
    CHECK(len == 35);
    {
        pq3_rng bad = pq3t_failing_rng();
        memset(blob, 0xA5, sizeof blob);
        CHECK_ERR(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, "pw", &low, &bad),
                  PQ3_ERR_RNG);
        CHECK(blob[0] == 0 && blob[81] == 0);
    }
    /* keys outside [1, n-1]: not encoded, not decoded */
    {
        static const uint8_t n[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                       0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
        uint8_t zero[32] = { 0 }, clear[35] = { 1, PQ3_TYPE_KEYBLOB, 0 };
        CHECK_ERR(pq3_keyblob_encode(blob, sizeof blob, &len, zero, NULL, NULL, rng),
                  PQ3_ERR_ARG);
        CHECK_ERR(pq3_keyblob_encode(blob, sizeof blob, &len, n, "pw", &low, rng), PQ3_ERR_ARG);
        CHECK_ERR(pq3_keyblob_decode(priv, clear, sizeof clear, NULL), PQ3_ERR_KEY);
        memcpy(clear + 3, n, 32);
        CHECK_ERR(pq3_keyblob_decode(priv, clear, sizeof clear, NULL), PQ3_ERR_KEY);
        memset(clear + 3, 0xff, 32);
        CHECK_ERR(pq3_keyblob_decode(priv, clear, sizeof clear, NULL), PQ3_ERR_KEY);
        /* just below n: a valid key */
        memcpy(clear + 3, n, 32);
        clear[34] = 0x50;
        CHECK_OK(pq3_keyblob_decode(priv, clear, sizeof clear, NULL));
    }
    CHECK_ERR(pq3_keyblob_decode(NULL, blob, len, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_keyblob_decode(priv, NULL, 35, NULL), PQ3_ERR_ARG);
    CHECK(!pq3_keyblob_encrypted(NULL, 82));
    pq3_soft_key_wipe(&key);
}

/* Every single-bit change of an encrypted blob (two bits a byte) and of a
 * clear blob's header: an error, and the output untouched. */
static void test_blob_tamper(pq3_rng *rng)
{
    pq3_soft_key key;
    uint8_t blob[PQ3_KEYBLOB_MAX_BYTES], bad[PQ3_KEYBLOB_MAX_BYTES + 1], priv[32];
    size_t len = 0;
    unsigned refused = 0, tried = 0;

    CHECK_OK(pq3_soft_key_generate(&key, rng));
    CHECK_OK(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, "pw", &low, rng));
    for (size_t i = 0; i < len; i++) {
        static const uint8_t bits[] = { 0x01, 0x80 };
        for (size_t b = 0; b < 2; b++) {
            pq3_err e;
            memcpy(bad, blob, len);
            bad[i] ^= bits[b];
            memset(priv, 0x5A, sizeof priv);
            e = pq3_keyblob_decode(priv, bad, len, "pw");
            tried++;
            refused += e != PQ3_OK;
            CHECKF(e != PQ3_OK, "byte %zu ^ %02x accepted", i, bits[b]);
            CHECKF(priv[0] == 0x5A && priv[31] == 0x5A, "byte %zu: output written", i);
            /* the header is authenticated: altered, it fails as the tag */
            if (i >= 6)
                CHECKF(e == PQ3_ERR_VERIFY, "byte %zu: %d", i, e);
        }
    }
    CHECK(refused == tried && tried == 2 * 82);

    /* truncation and trailing bytes, both modes */
    for (int mode = 0; mode < 2; mode++) {
        CHECK_OK(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, mode ? "pw" : NULL, &low,
                                    rng));
        for (size_t n = 0; n < len; n++) {
            pq3_err e = pq3_keyblob_decode(priv, blob, n, "pw");
            CHECKF(e == PQ3_ERR_DECODE, "mode %d, %zu of %zu bytes: %d", mode, n, len, e);
        }
        memcpy(bad, blob, len);
        bad[len] = 0;
        CHECK_ERR(pq3_keyblob_decode(priv, bad, len + 1, "pw"), PQ3_ERR_DECODE);
        /* header bytes of the clear blob: version, type, mode */
        memcpy(bad, blob, len);
        bad[0] = 2;
        CHECK_ERR(pq3_keyblob_decode(priv, bad, len, "pw"), PQ3_ERR_VERSION);
        bad[0] = 1;
        bad[1] = PQ3_TYPE_CERT;
        CHECK_ERR(pq3_keyblob_decode(priv, bad, len, "pw"), PQ3_ERR_VERSION);
        bad[1] = PQ3_TYPE_KEYBLOB;
        bad[2] = 2;
        CHECK_ERR(pq3_keyblob_decode(priv, bad, len, "pw"), PQ3_ERR_DECODE);
        /* the other mode's length is not this mode's */
        bad[2] = (uint8_t)(1 - mode);
        CHECK_ERR(pq3_keyblob_decode(priv, bad, len, "pw"), PQ3_ERR_DECODE);
    }
    CHECK_ERR(pq3_keyblob_decode(priv, (const uint8_t *)"\x07", 1, NULL), PQ3_ERR_VERSION);
    pq3_soft_key_wipe(&key);
}

/* Costs outside the bounds: refused from the header, scrypt never run
 * (a run at log2_n 21 or r 17 would take seconds, under the sanitizers
 * much longer; the refusal takes microseconds). */
static void test_blob_cost(pq3_rng *rng)
{
    static const struct {
        uint8_t log2_n, r, p;
        pq3_err want;
    } cases[] = {
        { 21, 8, 1, PQ3_ERR_LIMIT },   { 255, 8, 1, PQ3_ERR_LIMIT }, { 15, 17, 1, PQ3_ERR_LIMIT },
        { 15, 255, 1, PQ3_ERR_LIMIT }, { 15, 8, 5, PQ3_ERR_LIMIT },  { 20, 16, 1, PQ3_ERR_LIMIT },
        { 9, 8, 1, PQ3_ERR_DECODE },   { 0, 8, 1, PQ3_ERR_DECODE },  { 15, 0, 1, PQ3_ERR_DECODE },
        { 15, 8, 0, PQ3_ERR_DECODE },  { 0, 0, 0, PQ3_ERR_DECODE },
    };
    pq3_soft_key key;
    uint8_t blob[PQ3_KEYBLOB_MAX_BYTES], priv[32];
    size_t len = 0;
    double t0, dt;

    CHECK_OK(pq3_soft_key_generate(&key, rng));
    CHECK_OK(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, "pw", &low, rng));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        blob[3] = cases[i].log2_n;
        blob[4] = cases[i].r;
        blob[5] = cases[i].p;
        t0 = now_s();
        CHECK_ERR(pq3_keyblob_decode(priv, blob, len, "pw"), cases[i].want);
        CHECK_ERR(pq3_keyblob_decode(priv, blob, len, NULL), cases[i].want);
        dt = now_s() - t0;
        CHECKF(dt < 0.05, "case %zu took %.3f s: scrypt ran", i, dt);
    }
    /* the default cost, once: about 0.1 s */
    {
        pq3_scrypt_cost d = pq3_scrypt_cost_default();
        CHECK(d.log2_n == 15 && d.r == 8 && d.p == 1);
        CHECK_OK(pq3_keyblob_encode(blob, sizeof blob, &len, key.priv, "pw", NULL, rng));
        CHECK(blob[3] == 15 && blob[4] == 8 && blob[5] == 1);
        memset(priv, 0, sizeof priv);
        CHECK_OK(pq3_keyblob_decode(priv, blob, len, "pw"));
        CHECK(memcmp(priv, key.priv, 32) == 0);
    }
    pq3_soft_key_wipe(&key);
}

/* ---- the software key store ---------------------------------------------- */

static void check_signs(pq3_keystore *ks, const uint8_t want_pub[33])
{
    pq3_signer sg;
    pq3_ecdsa_pub vk;
    uint8_t sig[64];
    static const uint8_t msg[] = "a message signed through the key store";

    CHECK(!pq3_keystore_is_token(ks));
    CHECK_OK(pq3_keystore_signer(ks, &sg));
    CHECK(memcmp(sg.pub, want_pub, 33) == 0);
    CHECK_OK(pq3_ecdsa_import(&vk, sg.pub));
    CHECK_OK(pq3_sign(&sg, sig, msg, sizeof msg));
    CHECK_OK(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg));
    sig[5] ^= 1;
    CHECK_ERR(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg), PQ3_ERR_VERIFY);
    CHECK_OK(sg.sign(sg.ctx, sig, msg, sizeof msg));
    CHECK_OK(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg));
}

static void test_soft_store(pq3_rng *rng)
{
    pq3_keystore *ks;
    pq3_signer sg;
    uint8_t pub[33], file[PQ3_KEYBLOB_MAX_BYTES + 64];
    size_t len;
    struct stat st;
    char *data;

    for (int enc = 0; enc < 2; enc++) {
        const char *pw = enc ? "s3cret" : NULL;
        const char *path = path_in(enc ? "enc.key" : "clear.key");

        CHECK_OK(pq3_keystore_new(&ks));
        CHECK(strcmp(pq3_keystore_error(ks), "") == 0);
        CHECK_ERR(pq3_keystore_signer(ks, &sg), PQ3_ERR_STATE);
        CHECK_OK(pq3_keystore_soft_create(ks, path, pw, &low, rng));
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
        CHECKF(st.st_size == (enc ? 82 : 35), "size %jd", (intmax_t)st.st_size);
        CHECK_OK(pq3_keystore_signer(ks, &sg));
        memcpy(pub, sg.pub, 33);
        check_signs(ks, pub);
        /* a handle holds one key */
        CHECK_ERR(pq3_keystore_soft_create(ks, path_in("other.key"), pw, &low, rng),
                  PQ3_ERR_ARG);
        CHECK_ERR(pq3_keystore_soft_open(ks, path, pw), PQ3_ERR_ARG);
        CHECK(strstr(pq3_keystore_error(ks), "already") != NULL);
        CHECK(access(path_in("other.key"), F_OK) != 0);
        pq3_keystore_free(ks);

        /* opened again: the same key */
        CHECK_OK(pq3_keystore_new(&ks));
        CHECK_OK(pq3_keystore_soft_open(ks, path, pw));
        check_signs(ks, pub);
        pq3_keystore_free(ks);

        /* O_EXCL: creating over the file fails and leaves it as it was */
        data = pq3t_read_file(path, &len);
        CHECK(data != NULL);
        CHECK_OK(pq3_keystore_new(&ks));
        CHECK_ERR(pq3_keystore_soft_create(ks, path, pw, &low, rng), PQ3_ERR_IO);
        CHECK(strstr(pq3_keystore_error(ks), "File exists") != NULL);
        CHECK(data != NULL && same_file(path, (const uint8_t *)data, len));
        CHECK_ERR(pq3_keystore_signer(ks, &sg), PQ3_ERR_STATE);
        pq3_keystore_free(ks);
        free(data);

        /* readable by others: refused, the reason names the mode */
        CHECK(chmod(path, 0644) == 0);
        CHECK_OK(pq3_keystore_new(&ks));
        CHECK_ERR(pq3_keystore_soft_open(ks, path, pw), PQ3_ERR_IO);
        CHECKF(strstr(pq3_keystore_error(ks), "0644") != NULL, "%s", pq3_keystore_error(ks));
        CHECK(chmod(path, 0640) == 0);
        CHECK_ERR(pq3_keystore_soft_open(ks, path, pw), PQ3_ERR_IO);
        CHECK(chmod(path, 0602) == 0);
        CHECK_ERR(pq3_keystore_soft_open(ks, path, pw), PQ3_ERR_IO);
        CHECK(chmod(path, 0400) == 0);
        CHECK_OK(pq3_keystore_soft_open(ks, path, pw));
        CHECK(strcmp(pq3_keystore_error(ks), "") == 0);
        pq3_keystore_free(ks);
        CHECK(chmod(path, 0600) == 0);
    }

    /* wrong passphrase, no passphrase */
    CHECK_OK(pq3_keystore_new(&ks));
    CHECK_ERR(pq3_keystore_soft_open(ks, path_in("enc.key"), "S3cret"), PQ3_ERR_VERIFY);
    CHECK(strstr(pq3_keystore_error(ks), "passphrase") != NULL);
    CHECK(strstr(pq3_keystore_error(ks), "S3cret") == NULL);
    CHECK_ERR(pq3_keystore_soft_open(ks, path_in("enc.key"), NULL), PQ3_ERR_STATE);
    CHECK_ERR(pq3_keystore_signer(ks, &sg), PQ3_ERR_STATE);
    /* missing file, a directory */
    CHECK_ERR(pq3_keystore_soft_open(ks, path_in("absent.key"), NULL), PQ3_ERR_IO);
    CHECK(strstr(pq3_keystore_error(ks), "absent.key") != NULL);
    CHECK_ERR(pq3_keystore_soft_open(ks, dir, NULL), PQ3_ERR_IO);
    CHECK_ERR(pq3_keystore_soft_open(ks, NULL, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_keystore_soft_create(ks, NULL, NULL, NULL, rng), PQ3_ERR_ARG);
    pq3_keystore_free(ks);

    /* a file with a trailing byte, one truncated, one too large */
    data = pq3t_read_file(path_in("clear.key"), &len);
    CHECK(data != NULL && len == 35);
    if (data != NULL) {
        char err_copy[256];
        memcpy(file, data, len);
        file[len] = 0;
        CHECK_OK(pq3_keystore_new(&ks));
        /* written by hand, with mode 0600 */
        {
            FILE *f;
            umask(077);
            f = fopen(path_in("trailing.key"), "wb");
            CHECK(f != NULL && fwrite(file, 1, len + 1, f) == len + 1 && fclose(f) == 0);
            f = fopen(path_in("short.key"), "wb");
            CHECK(f != NULL && fwrite(file, 1, len - 1, f) == len - 1 && fclose(f) == 0);
            memset(file, 0, sizeof file);
            f = fopen(path_in("large.key"), "wb");
            CHECK(f != NULL && fwrite(file, 1, sizeof file, f) == sizeof file && fclose(f) == 0);
        }
        CHECK_ERR(pq3_keystore_soft_open(ks, path_in("trailing.key"), NULL), PQ3_ERR_DECODE);
        CHECK_ERR(pq3_keystore_soft_open(ks, path_in("short.key"), NULL), PQ3_ERR_DECODE);
        CHECK_ERR(pq3_keystore_soft_open(ks, path_in("large.key"), NULL), PQ3_ERR_IO);
        snprintf(err_copy, sizeof err_copy, "%s", pq3_keystore_error(ks));
        CHECKF(strstr(err_copy, "too large") != NULL, "%s", err_copy);
        pq3_keystore_free(ks);
        free(data);
    }

    /* the random source failing: no key, no file */
    {
        pq3_rng bad = pq3t_failing_rng();
        CHECK_OK(pq3_keystore_new(&ks));
        CHECK_ERR(pq3_keystore_soft_create(ks, path_in("norng.key"), NULL, NULL, &bad),
                  PQ3_ERR_RNG);
        CHECK(access(path_in("norng.key"), F_OK) != 0);
        CHECK_ERR(pq3_keystore_signer(ks, &sg), PQ3_ERR_STATE);
        /* and the handle is still usable */
        CHECK_OK(pq3_keystore_soft_create(ks, path_in("norng.key"), NULL, NULL, rng));
        pq3_keystore_free(ks);
    }
    /* a directory that does not exist: nothing left behind either */
    CHECK_OK(pq3_keystore_new(&ks));
    CHECK_ERR(pq3_keystore_soft_create(ks, path_in("nodir/x.key"), NULL, NULL, rng),
              PQ3_ERR_IO);
    pq3_keystore_free(ks);
}

static void test_export_import(pq3_rng *rng)
{
    pq3_keystore *ks, *ks2, *ks3;
    pq3_signer sg, sg2;
    uint8_t backup[PQ3_KEYBLOB_MAX_BYTES];
    size_t len = 0;

    CHECK_OK(pq3_keystore_new(&ks));
    CHECK_ERR(pq3_keystore_export(ks, backup, sizeof backup, &len, "backup pw", &low, rng),
              PQ3_ERR_STATE);
    CHECK_OK(pq3_keystore_soft_create(ks, path_in("orig.key"), "file pw", &low, rng));
    CHECK_OK(pq3_keystore_signer(ks, &sg));
    CHECK_ERR(pq3_keystore_export(ks, backup, sizeof backup, &len, NULL, &low, rng),
              PQ3_ERR_ARG);
    CHECK_ERR(pq3_keystore_export(ks, backup, 10, &len, "backup pw", &low, rng),
              PQ3_ERR_BUFFER);
    CHECK(len == 82);
    CHECK_OK(pq3_keystore_export(ks, backup, sizeof backup, &len, "backup pw", &low, rng));
    CHECK(len == 82 && pq3_keyblob_encrypted(backup, len));

    /* imported into a new file, in the clear and under a passphrase */
    CHECK_OK(pq3_keystore_new(&ks2));
    CHECK_ERR(pq3_keystore_soft_import(ks2, path_in("copy.key"), backup, len, "wrong", NULL,
                                       &low, rng),
              PQ3_ERR_VERIFY);
    CHECK(access(path_in("copy.key"), F_OK) != 0);
    CHECK_ERR(pq3_keystore_soft_import(ks2, path_in("orig.key"), backup, len, "backup pw",
                                       NULL, &low, rng),
              PQ3_ERR_IO);
    CHECK_OK(pq3_keystore_soft_import(ks2, path_in("copy.key"), backup, len, "backup pw", NULL,
                                      &low, rng));
    CHECK_OK(pq3_keystore_signer(ks2, &sg2));
    CHECK(memcmp(sg.pub, sg2.pub, 33) == 0);
    pq3_keystore_free(ks2);
    CHECK_OK(pq3_keystore_new(&ks3));
    CHECK_OK(pq3_keystore_soft_open(ks3, path_in("copy.key"), NULL));
    check_signs(ks3, sg.pub);
    pq3_keystore_free(ks3);
    CHECK_OK(pq3_keystore_new(&ks3));
    CHECK_OK(pq3_keystore_soft_import(ks3, path_in("copy2.key"), backup, len, "backup pw",
                                      "new pw", &low, rng));
    pq3_keystore_free(ks3);
    CHECK_OK(pq3_keystore_new(&ks3));
    CHECK_ERR(pq3_keystore_soft_open(ks3, path_in("copy2.key"), "backup pw"), PQ3_ERR_VERIFY);
    CHECK_OK(pq3_keystore_soft_open(ks3, path_in("copy2.key"), "new pw"));
    check_signs(ks3, sg.pub);
    pq3_keystore_free(ks3);
    pq3_keystore_free(ks);
}

/* What needs no token: a missing module, an incomplete configuration. */
static void test_pkcs11_without_token(void)
{
    pq3_keystore *ks;
    pq3_pkcs11_config cfg = { "/nonexistent/libpkcs11-module.so", "pq3", "key", NULL,
                              "PQ3_TEST_PIN_UNSET_X" };
    uint8_t backup[PQ3_KEYBLOB_MAX_BYTES];
    size_t len;

    setenv("PQ3_TEST_PIN_SET", "1234", 1);
    CHECK_OK(pq3_keystore_new(&ks));
    /* the PIN variable missing */
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECK(strstr(pq3_keystore_error(ks), "PQ3_TEST_PIN_UNSET_X") != NULL);
    cfg.pin_env = "PQ3_TEST_PIN_SET";
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECKF(strstr(pq3_keystore_error(ks), "libpkcs11-module.so") != NULL, "%s",
           pq3_keystore_error(ks));
    CHECK_ERR(pq3_keystore_pkcs11_create(ks, &cfg), PQ3_ERR_IO);
    CHECK(strstr(pq3_keystore_error(ks), "1234") == NULL);
    CHECK(!pq3_keystore_is_token(ks));
    CHECK_ERR(pq3_keystore_export(ks, backup, sizeof backup, &len, "pw", NULL, NULL),
              PQ3_ERR_STATE);
    /* not a PKCS#11 module: a library without C_GetFunctionList */
    cfg.module = "libz.so.1";
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    cfg.module = NULL;
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_ARG);
    cfg.module = "x";
    cfg.token_label = "a token label far longer than 32 bytes";
    CHECK_ERR(pq3_keystore_pkcs11_create(ks, &cfg), PQ3_ERR_ARG);
    CHECK_ERR(pq3_keystore_pkcs11_create(ks, NULL), PQ3_ERR_ARG);
    CHECK_ERR(pq3_keystore_pkcs11_create(NULL, &cfg), PQ3_ERR_ARG);
    pq3_keystore_free(ks);
    pq3_keystore_free(NULL);
    CHECK_ERR(pq3_keystore_new(NULL), PQ3_ERR_ARG);
    CHECK(pq3_keystore_error(NULL) != NULL);
    CHECK(!pq3_keystore_is_token(NULL));
}

int main(void)
{
    pq3t_drbg d;
    pq3_rng rng;

    pq3t_drbg_init(&d, "keystore", 1);
    rng = pq3t_drbg_rng(&d);
    snprintf(dir, sizeof dir, "/tmp/pq3-keystore-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    test_blob_roundtrip(&rng);
    test_blob_tamper(&rng);
    test_blob_cost(&rng);
    test_soft_store(&rng);
    test_export_import(&rng);
    test_pkcs11_without_token();
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return pq3t_finish();
}
