/* The PKCS#11 key store against SoftHSM2 (docs/DEVICE.md §2.3;
 * src/device/pkcs11.c).
 *
 * The test makes its own token in a temporary directory. A key pair is
 * generated in it; its signatures, high s and low, verify after pq3_sign
 * normalises them; the private key cannot be read out (the test asks the
 * token itself, through its own PKCS#11 calls); wrong PINs, missing
 * modules, unknown labels fail with their reasons; and a whole
 * conversation runs with one device's authentication key in the token.
 * Skipped (exit 77) when SoftHSM2 is not installed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "pq3/keystore.h"
#include "pq3/peer.h"
#include "device_fixture.h"
#include "protocol_fixture.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define N_SIGS 64

static char dir[64];
static char pin_file[128];

/* (n - 1) / 2 of P-256: s above it is "high". */
static const uint8_t half_n[32] = { 0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
                                    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
                                    0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8 };

static int is_high(const uint8_t sig[64])
{
    return memcmp(sig + 32, half_n, 32) > 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static pq3_pkcs11_config config(const char *label)
{
    pq3_pkcs11_config c = { MODULE, "pq3", label, pin_file, NULL };
    return c;
}

static void make_token(void)
{
    char conf[128], tokens[128], cmd[512];
    FILE *f;

    if (access(MODULE, R_OK) != 0 ||
        system("command -v softhsm2-util >/dev/null 2>&1") != 0)
        pq3t_skip("softhsm2 not installed (softhsm2-util, %s)", MODULE);
    snprintf(dir, sizeof dir, "/tmp/pq3-pkcs11-XXXXXX");
    if (mkdtemp(dir) == NULL)
        pq3t_skip("mkdtemp failed");
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
    snprintf(tokens, sizeof tokens, "%s/tokens", dir);
    CHECK(mkdir(tokens, 0700) == 0);
    f = fopen(conf, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens);
        fclose(f);
    }
    setenv("SOFTHSM2_CONF", conf, 1);
    snprintf(cmd, sizeof cmd,
             "softhsm2-util --init-token --free --label pq3 --pin 1234 --so-pin 5678 "
             ">/dev/null 2>&1");
    if (system(cmd) != 0) {
        fprintf(stderr, "softhsm2-util --init-token failed\n");
        exit(1);
    }
    /* the PIN in a private file, with its line end */
    umask(077);
    snprintf(pin_file, sizeof pin_file, "%s/pin", dir);
    f = fopen(pin_file, "w");
    CHECK(f != NULL && fputs("1234\n", f) >= 0 && fclose(f) == 0);
}

/* A signer in front of the token's that keeps what the token returned. */
typedef struct {
    pq3_signer inner;
    uint8_t raw[64];
    unsigned calls;
} spy;

static pq3_err spy_sign(void *ctx, uint8_t sig[64], const uint8_t *msg, size_t len)
{
    spy *s = ctx;
    pq3_err e = s->inner.sign(s->inner.ctx, sig, msg, len);
    if (e == PQ3_OK)
        memcpy(s->raw, sig, 64);
    s->calls++;
    return e;
}

static void test_create_and_sign(void)
{
    pq3_keystore *ks, *ks2;
    pq3_pkcs11_config cfg = config("device-key");
    pq3_signer sg, sg2, spied;
    pq3_ecdsa_pub vk;
    spy s;
    uint8_t sig[64], msg[40], backup[PQ3_KEYBLOB_MAX_BYTES];
    size_t len;
    unsigned high = 0, low = 0;

    CHECK_OK(pq3_keystore_new(&ks));
    CHECK_OK(pq3_keystore_pkcs11_create(ks, &cfg));
    CHECKF(strcmp(pq3_keystore_error(ks), "") == 0, "%s", pq3_keystore_error(ks));
    CHECK(pq3_keystore_is_token(ks));
    CHECK_OK(pq3_keystore_signer(ks, &sg));
    CHECK(sg.pub[0] == 0x02 || sg.pub[0] == 0x03);
    CHECK_OK(pq3_ecdsa_import(&vk, sg.pub));
    /* a token key never leaves: no backup */
    CHECK_ERR(pq3_keystore_export(ks, backup, sizeof backup, &len, "pw", NULL, NULL),
              PQ3_ERR_STATE);
    CHECK(strstr(pq3_keystore_error(ks), "token") != NULL);
    /* one key per handle */
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_ARG);

    s.inner = sg;
    s.calls = 0;
    spied = sg;
    spied.ctx = &s;
    spied.sign = spy_sign;
    for (int i = 0; i < N_SIGS; i++) {
        pq3_err e;
        memset(msg, 0, sizeof msg);
        snprintf((char *)msg, sizeof msg, "message %d", i);
        CHECK_OK(pq3_sign(&spied, sig, msg, sizeof msg));
        if (is_high(s.raw))
            high++;
        else
            low++;
        /* the raw signature: valid ECDSA, but a high s is refused by
         * verifiers; pq3_sign's is always low and verifies */
        e = pq3_ecdsa_verify(&vk, s.raw, msg, sizeof msg);
        CHECK(e == (is_high(s.raw) ? PQ3_ERR_VERIFY : PQ3_OK));
        CHECK(!is_high(sig));
        CHECK(memcmp(sig, s.raw, 32) == 0);
        CHECK(is_high(s.raw) || memcmp(sig, s.raw, 64) == 0);
        CHECK_OK(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg));
        msg[0] ^= 1;
        CHECK_ERR(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg), PQ3_ERR_VERIFY);
    }
    CHECK(s.calls == N_SIGS);
    /* random nonces, either half of s: both occur (each with probability
     * 1 - 2^-63 over 64 signatures) */
    CHECKF(high > 0 && low > 0, "%u high, %u low", high, low);
    printf("test_pkcs11: %d token signatures, %u with high s (normalised), %u low\n", N_SIGS,
           high, low);

    /* a label that exists refuses create, and leaves the key alone */
    CHECK_OK(pq3_keystore_new(&ks2));
    CHECK_ERR(pq3_keystore_pkcs11_create(ks2, &cfg), PQ3_ERR_STATE);
    CHECKF(strstr(pq3_keystore_error(ks2), "exists") != NULL, "%s", pq3_keystore_error(ks2));
    CHECK(!pq3_keystore_is_token(ks2));

    /* reopened by label in a second handle while the first is open (one
     * module for both): the same key */
    CHECK_OK(pq3_keystore_pkcs11_open(ks2, &cfg));
    CHECK_OK(pq3_keystore_signer(ks2, &sg2));
    CHECK(memcmp(sg.pub, sg2.pub, 33) == 0);
    CHECK_OK(pq3_sign(&sg2, sig, msg, sizeof msg));
    CHECK_OK(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg));
    /* the first handle closed: the second still signs */
    pq3_keystore_free(ks);
    CHECK_OK(pq3_sign(&sg2, sig, msg, sizeof msg));
    CHECK_OK(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg));
    pq3_keystore_free(ks2);

    /* all closed, then opened again with the PIN from the environment */
    setenv("PQ3_TEST_TOKEN_PIN", "1234", 1);
    cfg.pin_file = NULL;
    cfg.pin_env = "PQ3_TEST_TOKEN_PIN";
    CHECK_OK(pq3_keystore_new(&ks));
    CHECK_OK(pq3_keystore_pkcs11_open(ks, &cfg));
    CHECK_OK(pq3_keystore_signer(ks, &sg2));
    CHECK(memcmp(sg.pub, sg2.pub, 33) == 0);
    CHECK_OK(pq3_sign(&sg2, sig, msg, sizeof msg));
    CHECK_OK(pq3_ecdsa_verify(&vk, sig, msg, sizeof msg));
    pq3_keystore_free(ks);
    unsetenv("PQ3_TEST_TOKEN_PIN");
}

/* The token's own answer, through the test's own PKCS#11 calls: the
 * private key's CKA_VALUE is refused (CKR_ATTRIBUTE_SENSITIVE), and it is
 * marked sensitive and never extractable. Run with no key store open, so
 * the module is initialised and finalised here. */
static void test_key_cannot_leave(const char *label)
{
    void *dl = dlopen(MODULE, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get = NULL;
    CK_FUNCTION_LIST_PTR f = NULL;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16, found = 0;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE priv;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_TOKEN_INFO ti;
    CK_ATTRIBUTE find[2] = { { CKA_CLASS, &cls, sizeof cls },
                             { CKA_LABEL, (void *)label, strlen(label) } };
    uint8_t value[64];
    CK_BBOOL sens = 0, extr = 1, always = 0, never = 0;
    CK_ATTRIBUTE a;
    CK_RV rv;
    void *sym;
    int slot = -1;

    CHECK(dl != NULL);
    if (dl == NULL)
        return;
    sym = dlsym(dl, "C_GetFunctionList");
    memcpy(&get, &sym, sizeof get);
    CHECK(get != NULL && get(&f) == CKR_OK);
    CHECK(f->C_Initialize(NULL) == CKR_OK);
    CHECK(f->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK);
    for (CK_ULONG i = 0; i < n; i++)
        if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && memcmp(ti.label, "pq3 ", 4) == 0)
            slot = (int)i;
    CHECK(slot >= 0);
    if (slot < 0)
        goto out;
    CHECK(f->C_OpenSession(slots[slot], CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK);
    CHECK(f->C_Login(s, CKU_USER, (unsigned char *)"1234", 4) == CKR_OK);
    CHECK(f->C_FindObjectsInit(s, find, 2) == CKR_OK);
    CHECK(f->C_FindObjects(s, &priv, 1, &found) == CKR_OK && found == 1);
    f->C_FindObjectsFinal(s);
    if (found == 1) {
        a.type = CKA_VALUE;
        a.pValue = value;
        a.ulValueLen = sizeof value;
        rv = f->C_GetAttributeValue(s, priv, &a, 1);
        CHECKF(rv == CKR_ATTRIBUTE_SENSITIVE, "CKA_VALUE: 0x%lx", (unsigned long)rv);
        CHECK(a.ulValueLen == CK_UNAVAILABLE_INFORMATION);
        {
            CK_ATTRIBUTE t[4] = { { CKA_SENSITIVE, &sens, 1 },
                                  { CKA_EXTRACTABLE, &extr, 1 },
                                  { CKA_ALWAYS_SENSITIVE, &always, 1 },
                                  { CKA_NEVER_EXTRACTABLE, &never, 1 } };
            CHECK(f->C_GetAttributeValue(s, priv, t, 4) == CKR_OK);
            CHECK(sens == CK_TRUE && extr == CK_FALSE && always == CK_TRUE && never == CK_TRUE);
        }
    }
    f->C_Logout(s);
    f->C_CloseSession(s);
out:
    f->C_Finalize(NULL);
    dlclose(dl);
}

static void test_failures(void)
{
    pq3_keystore *ks;
    pq3_pkcs11_config cfg = config("device-key");
    char bad_pin[128];
    FILE *f;

    CHECK_OK(pq3_keystore_new(&ks));
    /* wrong PIN, from the environment and from a file */
    setenv("PQ3_TEST_TOKEN_PIN", "4321", 1);
    cfg.pin_file = NULL;
    cfg.pin_env = "PQ3_TEST_TOKEN_PIN";
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECKF(strstr(pq3_keystore_error(ks), "PIN") != NULL &&
               strstr(pq3_keystore_error(ks), "CKR_PIN_INCORRECT") != NULL,
           "%s", pq3_keystore_error(ks));
    CHECK(strstr(pq3_keystore_error(ks), "4321") == NULL);
    CHECK(!pq3_keystore_is_token(ks));
    unsetenv("PQ3_TEST_TOKEN_PIN");
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECK(strstr(pq3_keystore_error(ks), "PQ3_TEST_TOKEN_PIN") != NULL);

    snprintf(bad_pin, sizeof bad_pin, "%s/badpin", dir);
    f = fopen(bad_pin, "w");
    CHECK(f != NULL && fputs("12345\n", f) >= 0 && fclose(f) == 0);
    cfg.pin_file = bad_pin;
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECK(strstr(pq3_keystore_error(ks), "CKR_PIN_INCORRECT") != NULL);
    /* a PIN file others may read: refused before the token is asked */
    CHECK(chmod(pin_file, 0644) == 0);
    cfg.pin_file = pin_file;
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECKF(strstr(pq3_keystore_error(ks), "0644") != NULL, "%s", pq3_keystore_error(ks));
    CHECK(chmod(pin_file, 0600) == 0);
    cfg.pin_file = "/nonexistent/pin";
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECK(strstr(pq3_keystore_error(ks), "/nonexistent/pin") != NULL);
    cfg.pin_file = pin_file;

    /* a missing module */
    cfg.module = "/nonexistent/libsofthsm2.so";
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECKF(strstr(pq3_keystore_error(ks), "cannot load the PKCS#11 module") != NULL &&
               strstr(pq3_keystore_error(ks), "/nonexistent/libsofthsm2.so") != NULL,
           "%s", pq3_keystore_error(ks));
    cfg.module = MODULE;

    /* an unknown token, an unknown key */
    cfg.token_label = "no-such-token";
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    CHECK(strstr(pq3_keystore_error(ks), "no-such-token") != NULL);
    cfg.token_label = "pq";   /* a prefix of the label is not the label */
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_IO);
    cfg.token_label = "pq3";
    cfg.key_label = "no-such-key";
    CHECK_ERR(pq3_keystore_pkcs11_open(ks, &cfg), PQ3_ERR_UNKNOWN);
    CHECK(strstr(pq3_keystore_error(ks), "no-such-key") != NULL);
    CHECK(!pq3_keystore_is_token(ks));
    /* after all of it the handle still works */
    cfg.key_label = "device-key";
    CHECK_OK(pq3_keystore_pkcs11_open(ks, &cfg));
    CHECK(strcmp(pq3_keystore_error(ks), "") == 0);
    pq3_keystore_free(ks);
}

/* ---- a conversation with alice's device key in the token ----------------- */

static void test_conversation(void)
{
    static fx_party alice, bob;
    pq3_keystore *ks;
    pq3_pkcs11_config cfg = config("alice-device");
    pq3_prekey_secret apre, bpre;
    pq3_prekey_bundle abundle, bbundle;
    uint8_t enc[PQ3_PREKEY_BUNDLE_BYTES];
    static uint8_t msg[8192], body[8192];
    pq3_peer *ap = malloc(sizeof *ap), *bp = malloc(sizeof *bp);
    pq3_opened info;
    uint64_t now = FX_T0;
    size_t len;
    unsigned opened = 0;

    CHECK(ap != NULL && bp != NULL);
    if (ap == NULL || bp == NULL)
        goto out_free;
    CHECK(fx_party_init(&alice, "mailto:alice@example.org", "alice", 11));
    CHECK(fx_party_init(&bob, "tel:+15555550123", "bob", 11));
    CHECK_OK(pq3_keystore_new(&ks));
    CHECK_OK(pq3_keystore_pkcs11_create(ks, &cfg));
    /* alice's device authentication key is the token's; her account
     * issues her certificate for it again */
    CHECK_OK(pq3_keystore_signer(ks, &alice.device_signer));
    memcpy(alice.cert.auth_pub, alice.device_signer.pub, 33);
    CHECK_OK(pq3_cert_issue(alice.cert_enc, sizeof alice.cert_enc, &alice.cert_len, &alice.cert,
                            &alice.account_signer));
    CHECK_OK(pq3_cert_verify(&alice.cert, alice.cert_enc, alice.cert_len, alice.account.pub,
                             FX_T0));

    /* prekeys: alice's signed by the token */
    CHECK_OK(pq3_prekey_generate(&apre, 1, FX_T0, FX_T0 + 7 * FX_DAY, &alice.device_signer,
                                 &alice.rng));
    CHECK_OK(pq3_prekey_encode(enc, &apre.bundle));
    CHECK_OK(pq3_prekey_verify(&abundle, enc, sizeof enc, &alice.cert, FX_T0));
    CHECK_OK(pq3_prekey_generate(&bpre, 2, FX_T0, FX_T0 + 7 * FX_DAY, &bob.device_signer,
                                 &bob.rng));
    CHECK_OK(pq3_prekey_encode(enc, &bpre.bundle));
    CHECK_OK(pq3_prekey_verify(&bbundle, enc, sizeof enc, &bob.cert, FX_T0));

    pq3_peer_init_default(ap);
    pq3_peer_init_default(bp);
    CHECK_OK(pq3_peer_start(ap, &alice.cert, &bob.cert, &bbundle, now, &alice.rng));
    /* turns: alice three messages, bob three answers, six times */
    for (int turn = 0; turn < 12; turn++) {
        int from_alice = turn % 2 == 0;
        pq3_peer *sp = from_alice ? ap : bp, *rp = from_alice ? bp : ap;
        fx_party *me = from_alice ? &alice : &bob, *other = from_alice ? &bob : &alice;
        const pq3_prekey_secret *rpre = from_alice ? &bpre : &apre;
        for (int k = 0; k < 3; k++) {
            char text[64];
            pq3_err e;
            now += 30;
            snprintf(text, sizeof text, "%s, turn %d, message %d", from_alice ? "alice" : "bob",
                     turn, k);
            CHECK_OK(pq3_peer_seal(sp, &me->device_signer, NULL, now, &me->rng,
                                   PQ3_CONTENT_MESSAGE, (const uint8_t *)text, strlen(text),
                                   NULL, 0, msg, sizeof msg, &len, NULL));
            e = pq3_peer_open(rp, &other->cert, &me->cert, rpre, NULL, now, msg, len, body,
                              sizeof body, &info, NULL);
            CHECKF(e == PQ3_OK, "turn %d message %d: %d", turn, k, e);
            if (e == PQ3_OK) {
                CHECK(info.content_type == PQ3_CONTENT_MESSAGE &&
                      info.body_len == strlen(text) && memcmp(body, text, info.body_len) == 0);
                opened++;
            }
        }
    }
    CHECKF(opened == 36, "%u of 36 opened", opened);
    CHECK(ap->count == 1 && bp->count == 1);

    pq3_prekey_secret_wipe(&apre);
    pq3_prekey_secret_wipe(&bpre);
    pq3_peer_wipe(ap);
    pq3_peer_wipe(bp);
    pq3_keystore_free(ks);
    pq3_soft_key_wipe(&alice.account);
    pq3_soft_key_wipe(&alice.device);
    pq3_soft_key_wipe(&bob.account);
    pq3_soft_key_wipe(&bob.device);
out_free:
    free(ap);
    free(bp);
}

/* ---- the device layer with its authentication key in the token ---------- */

static void test_device_layer(void)
{
    static df_world w;
    pq3_keystore *ks;
    pq3_pkcs11_config cfg = config("device-layer");
    pq3_soft_key ka, kb;
    pq3_signer sa, sb;
    pq3_contact_report rep;
    df_device *t, *b;
    uint32_t n;
    CHECK(df_init(&w) == 0);
    CHECK_OK(pq3_keystore_new(&ks));
    CHECK_OK(pq3_keystore_pkcs11_create(ks, &cfg));
    CHECK_OK(pq3_soft_key_generate(&ka, NULL));
    CHECK_OK(pq3_soft_key_generate(&kb, NULL));
    CHECK_OK(pq3_soft_signer(&sa, &ka));
    CHECK_OK(pq3_soft_signer(&sb, &kb));
    /* alice's device: its store, its key in the token */
    t = &w.dev[w.n++];
    snprintf(t->handle, sizeof t->handle, "mailto:alice@example.org");
    {
        char d[sizeof w.dir];
        memcpy(d, w.dir, sizeof d);
        snprintf(t->path, sizeof t->path, "%s/token-device.db", d);
    }
    CHECK_OK(pq3_keystore_signer(ks, &t->signer));
    CHECK_OK(df_open(&w, t));
    CHECK_OK(pq3_device_create_account(t->d, t->handle, &sa, FX_T0));
    b = df_new(&w, "bob", "mailto:bob@example.org");
    CHECK(b != NULL);
    CHECK_OK(pq3_device_create_account(b->d, b->handle, &sb, FX_T0));
    CHECK_OK(df_publish(t, FX_T0));
    CHECK_OK(df_publish(b, FX_T0));
    CHECK_OK(df_learn(&w, t, b->handle, FX_T0, &rep));
    CHECK_OK(df_learn(&w, b, t->handle, FX_T0, &rep));
    for (int round = 0; round < 5; round++) {
        char text[32];
        snprintf(text, sizeof text, "token says %d", round);
        CHECK_OK(pq3_device_send(t->d, b->handle, (const uint8_t *)text, strlen(text), FX_T0, &n,
                                 NULL));
        CHECK(df_deliver(&w, t, FX_T0) >= 1);
        CHECK(df_inbox_count(b, PQ3_INBOX_MESSAGE, text) == 1);
        snprintf(text, sizeof text, "soft says %d", round);
        CHECK_OK(pq3_device_send(b->d, t->handle, (const uint8_t *)text, strlen(text), FX_T0, &n,
                                 NULL));
        CHECK(df_deliver(&w, b, FX_T0) >= 1);
        CHECK(df_inbox_count(t, PQ3_INBOX_MESSAGE, text) == 1);
    }
    df_cleanup(&w);
    pq3_keystore_free(ks);
    pq3_soft_key_wipe(&ka);
    pq3_soft_key_wipe(&kb);
}

int main(void)
{
    make_token();
    test_create_and_sign();
    test_key_cannot_leave("device-key");
    test_failures();
    test_conversation();
    test_device_layer();
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return pq3t_finish();
}
