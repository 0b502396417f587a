/*
 * The PKCS#11 key store (docs/DEVICE.md §2.3): a P-256 key pair generated
 * inside a token and used there; only its public key and signatures come
 * out. The module is chosen at run time (dlopen), so the library links no
 * token's code.
 *
 * One module, many handles: PKCS#11 allows C_Initialize once per process,
 * and C_Finalize ends every session of the process on that module. The
 * modules loaded here are therefore kept in a process-wide list, each with
 * a count of the handles using it, under one mutex; a module is
 * initialised by the first handle and finalised by the last, and only when
 * this file initialised it (a module that another part of the process had
 * initialised already, CKR_CRYPTOKI_ALREADY_INITIALIZED, is left to it).
 * Login is per application and token in PKCS#11, not per session: see
 * pq3_keystore_pkcs11_open in keystore.h.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "device/keystore_int.h"

#define PIN_MAX 256
#define TOKEN_LABEL_BYTES 32
#define KEY_LABEL_MAX 255
#define CKA_ID_BYTES 16

/* DER of the OID prime256v1 (1.2.840.10045.3.1.7): CKA_EC_PARAMS. */
static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* ---- the modules of the process ------------------------------------------ */

typedef struct module {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    unsigned refs;
    int finalize;          /* we initialised it, so we finalise it */
    struct module *next;
} module;

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static module *modules;

struct pq3_p11 {
    module *m;
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE priv, pub;
};

static const char *rv_name(CK_RV rv)
{
#define RV(x) case x: return #x
    switch (rv) {
    RV(CKR_OK);
    RV(CKR_HOST_MEMORY);
    RV(CKR_SLOT_ID_INVALID);
    RV(CKR_GENERAL_ERROR);
    RV(CKR_FUNCTION_FAILED);
    RV(CKR_ARGUMENTS_BAD);
    RV(CKR_ATTRIBUTE_SENSITIVE);
    RV(CKR_ATTRIBUTE_TYPE_INVALID);
    RV(CKR_ATTRIBUTE_VALUE_INVALID);
    RV(CKR_DEVICE_ERROR);
    RV(CKR_DEVICE_MEMORY);
    RV(CKR_DEVICE_REMOVED);
    RV(CKR_FUNCTION_NOT_SUPPORTED);
    RV(CKR_KEY_HANDLE_INVALID);
    RV(CKR_KEY_TYPE_INCONSISTENT);
    RV(CKR_MECHANISM_INVALID);
    RV(CKR_MECHANISM_PARAM_INVALID);
    RV(CKR_OBJECT_HANDLE_INVALID);
    RV(CKR_OPERATION_ACTIVE);
    RV(CKR_OPERATION_NOT_INITIALIZED);
    RV(CKR_PIN_INCORRECT);
    RV(CKR_PIN_INVALID);
    RV(CKR_PIN_LEN_RANGE);
    RV(CKR_PIN_EXPIRED);
    RV(CKR_PIN_LOCKED);
    RV(CKR_SESSION_CLOSED);
    RV(CKR_SESSION_COUNT);
    RV(CKR_SESSION_HANDLE_INVALID);
    RV(CKR_SESSION_READ_ONLY);
    RV(CKR_TEMPLATE_INCOMPLETE);
    RV(CKR_TEMPLATE_INCONSISTENT);
    RV(CKR_TOKEN_NOT_PRESENT);
    RV(CKR_TOKEN_NOT_RECOGNIZED);
    RV(CKR_TOKEN_WRITE_PROTECTED);
    RV(CKR_USER_ALREADY_LOGGED_IN);
    RV(CKR_USER_NOT_LOGGED_IN);
    RV(CKR_USER_PIN_NOT_INITIALIZED);
    RV(CKR_USER_TYPE_INVALID);
    RV(CKR_BUFFER_TOO_SMALL);
    RV(CKR_CRYPTOKI_NOT_INITIALIZED);
    RV(CKR_CRYPTOKI_ALREADY_INITIALIZED);
    default: return "CKR_(unknown)";
    }
#undef RV
}

static void rv_err(pq3_keystore *ks, const char *what, CK_RV rv)
{
    pq3_dev_seterr(ks->err, "PKCS#11 %s failed: %s (0x%lx)", what, rv_name(rv),
                   (unsigned long)rv);
}

static module *module_acquire(pq3_keystore *ks, const char *path)
{
    CK_C_GetFunctionList get = NULL;
    CK_C_INITIALIZE_ARGS args;
    CK_FUNCTION_LIST_PTR f = NULL;
    module *m = NULL;
    void *dl, *sym;
    const char *dle;
    CK_RV rv;

    pthread_mutex_lock(&modules_lock);
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        dle = dlerror();
        pq3_dev_seterr(ks->err, "cannot load the PKCS#11 module: %s",
                       dle != NULL ? dle : path);
        goto out;
    }
    /* The same library under another path is the same dl handle: one
     * entry per loaded module, which holds one dl reference. */
    for (m = modules; m != NULL; m = m->next)
        if (m->dl == dl) {
            m->refs++;
            dlclose(dl);
            goto out;
        }
    sym = dlsym(dl, "C_GetFunctionList");
    if (sym == NULL) {
        pq3_dev_seterr(ks->err, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
        dlclose(dl);
        goto out;
    }
    /* POSIX guarantees a function pointer fits; ISO C has no cast for it */
    memcpy(&get, &sym, sizeof get);
    rv = get(&f);
    if (rv != CKR_OK || f == NULL) {
        rv_err(ks, "C_GetFunctionList", rv);
        dlclose(dl);
        goto out;
    }
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        rv_err(ks, "C_Initialize", rv);
        dlclose(dl);
        goto out;
    }
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        pq3_dev_seterr(ks->err, "out of memory");
        if (rv == CKR_OK)
            f->C_Finalize(NULL);
        dlclose(dl);
        goto out;
    }
    m->dl = dl;
    m->f = f;
    m->refs = 1;
    m->finalize = rv == CKR_OK;
    m->next = modules;
    modules = m;
out:
    pthread_mutex_unlock(&modules_lock);
    return m;
}

static void module_release(module *m)
{
    module **pp;
    if (m == NULL)
        return;
    pthread_mutex_lock(&modules_lock);
    if (--m->refs == 0) {
        for (pp = &modules; *pp != NULL; pp = &(*pp)->next)
            if (*pp == m) {
                *pp = m->next;
                break;
            }
        if (m->finalize)
            m->f->C_Finalize(NULL);
        dlclose(m->dl);
        free(m);
    }
    pthread_mutex_unlock(&modules_lock);
}

/* ---- PIN ------------------------------------------------------------------ */

/* The PIN from the file's first line (without its line end) or the
 * environment. The file must be private to its owner, as a key file. */
static pq3_err read_pin(pq3_keystore *ks, const pq3_pkcs11_config *cfg, char pin[PIN_MAX],
                        size_t *pin_len)
{
    size_t len = 0, i;
    if (cfg->pin_file != NULL) {
        if (pq3_dev_read_file(cfg->pin_file, pin, PIN_MAX, &len, 1, ks->err) != PQ3_OK)
            return PQ3_ERR_IO;
        for (i = 0; i < len && pin[i] != '\n'; i++)
            ;
        if (i > 0 && pin[i - 1] == '\r')
            i--;
        pq3_wipe(pin + i, PIN_MAX - i);
        len = i;
    } else {
        const char *v = getenv(cfg->pin_env);
        if (v == NULL) {
            pq3_dev_seterr(ks->err, "no PIN: environment variable %s is not set", cfg->pin_env);
            return PQ3_ERR_IO;
        }
        len = strlen(v);
        if (len >= PIN_MAX) {
            pq3_dev_seterr(ks->err, "the PIN in %s is too long", cfg->pin_env);
            return PQ3_ERR_IO;
        }
        memcpy(pin, v, len);
    }
    if (len == 0) {
        pq3_dev_seterr(ks->err, "the PIN is empty");
        pq3_wipe(pin, PIN_MAX);
        return PQ3_ERR_IO;
    }
    *pin_len = len;
    return PQ3_OK;
}

/* ---- session -------------------------------------------------------------- */

static pq3_err check_config(pq3_keystore *ks, const pq3_pkcs11_config *cfg)
{
    if (cfg == NULL || cfg->module == NULL || cfg->token_label == NULL ||
        cfg->key_label == NULL || (cfg->pin_file == NULL && cfg->pin_env == NULL)) {
        pq3_dev_seterr(ks->err, "PKCS#11 configuration incomplete (module, token, key, PIN)");
        return PQ3_ERR_ARG;
    }
    if (strlen(cfg->token_label) > TOKEN_LABEL_BYTES || cfg->token_label[0] == '\0') {
        pq3_dev_seterr(ks->err, "token label must have 1 to 32 bytes");
        return PQ3_ERR_ARG;
    }
    if (strlen(cfg->key_label) > KEY_LABEL_MAX || cfg->key_label[0] == '\0') {
        pq3_dev_seterr(ks->err, "key label must have 1 to 255 bytes");
        return PQ3_ERR_ARG;
    }
    return PQ3_OK;
}

/* The slot whose token has this label (space-padded to 32 bytes). */
static pq3_err find_slot(pq3_keystore *ks, CK_FUNCTION_LIST_PTR f, const char *label,
                         CK_SLOT_ID *slot)
{
    unsigned char want[TOKEN_LABEL_BYTES];
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0, i;
    CK_TOKEN_INFO info;
    pq3_err err = PQ3_ERR_IO;
    CK_RV rv;

    memset(want, ' ', sizeof want);
    memcpy(want, label, strlen(label));
    rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK) {
        rv_err(ks, "C_GetSlotList", rv);
        return PQ3_ERR_IO;
    }
    if (n > 0) {
        slots = calloc(n, sizeof *slots);
        if (slots == NULL) {
            pq3_dev_seterr(ks->err, "out of memory");
            return PQ3_ERR_NOMEM;
        }
        rv = f->C_GetSlotList(CK_TRUE, slots, &n);
        if (rv != CKR_OK) {
            rv_err(ks, "C_GetSlotList", rv);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK)
            continue;
        if (memcmp(info.label, want, sizeof want) == 0) {
            *slot = slots[i];
            err = PQ3_OK;
            goto out;
        }
    }
    pq3_dev_seterr(ks->err, "no PKCS#11 token labelled \"%s\"", label);
out:
    free(slots);
    return err;
}

/* Loads the module, finds the token, opens a read-write session and logs
 * in. On success *out is the new state; on failure nothing is held. */
static pq3_err session_open(pq3_keystore *ks, const pq3_pkcs11_config *cfg,
                            struct pq3_p11 **out)
{
    char pin[PIN_MAX];
    size_t pin_len = 0;
    struct pq3_p11 *p = NULL;
    CK_SLOT_ID slot = 0;
    CK_RV rv;
    pq3_err err;

    memset(pin, 0, sizeof pin);
    err = check_config(ks, cfg);
    if (err != PQ3_OK)
        return err;
    err = read_pin(ks, cfg, pin, &pin_len);
    if (err != PQ3_OK)
        goto cleanup;
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        pq3_dev_seterr(ks->err, "out of memory");
        err = PQ3_ERR_NOMEM;
        goto cleanup;
    }
    p->session = CK_INVALID_HANDLE;
    err = PQ3_ERR_IO;
    p->m = module_acquire(ks, cfg->module);
    if (p->m == NULL)
        goto cleanup;
    err = find_slot(ks, p->m->f, cfg->token_label, &slot);
    if (err != PQ3_OK)
        goto cleanup;
    err = PQ3_ERR_IO;
    rv = p->m->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                &p->session);
    if (rv != CKR_OK) {
        p->session = CK_INVALID_HANDLE;
        rv_err(ks, "C_OpenSession", rv);
        goto cleanup;
    }
    rv = p->m->f->C_Login(p->session, CKU_USER, (unsigned char *)pin, (CK_ULONG)pin_len);
    if (rv == CKR_PIN_INCORRECT) {
        pq3_dev_seterr(ks->err, "PKCS#11 login to token \"%s\" failed: wrong PIN "
                       "(CKR_PIN_INCORRECT)", cfg->token_label);
        goto cleanup;
    }
    /* Already logged in: another handle of this process holds a session
     * on the token (login is per application, PKCS#11 §5.6). */
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        rv_err(ks, "C_Login", rv);
        goto cleanup;
    }
    *out = p;
    p = NULL;
    err = PQ3_OK;
cleanup:
    pq3_wipe(pin, sizeof pin);
    pq3_p11_close(p);
    return err;
}

void pq3_p11_close(struct pq3_p11 *p)
{
    if (p == NULL)
        return;
    /* No C_Logout: it would log out every other handle of the process on
     * this token; the login ends with the application's last session. */
    if (p->m != NULL && p->session != CK_INVALID_HANDLE)
        p->m->f->C_CloseSession(p->session);
    module_release(p->m);
    free(p);
}

/* Objects of a class with this CKA_LABEL: *count (at most 2 looked for),
 * the first in *obj. */
static pq3_err find_objects(pq3_keystore *ks, struct pq3_p11 *p, CK_OBJECT_CLASS cls,
                            const char *label, CK_OBJECT_HANDLE *obj, CK_ULONG *count)
{
    CK_ATTRIBUTE t[2] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) },
    };
    CK_OBJECT_HANDLE found[2];
    CK_RV rv;

    *count = 0;
    rv = p->m->f->C_FindObjectsInit(p->session, t, 2);
    if (rv != CKR_OK) {
        rv_err(ks, "C_FindObjectsInit", rv);
        return PQ3_ERR_IO;
    }
    rv = p->m->f->C_FindObjects(p->session, found, 2, count);
    p->m->f->C_FindObjectsFinal(p->session);
    if (rv != CKR_OK) {
        rv_err(ks, "C_FindObjects", rv);
        return PQ3_ERR_IO;
    }
    if (*count > 0)
        *obj = found[0];
    return PQ3_OK;
}

/* The public key: CKA_EC_PARAMS must name P-256, and CKA_EC_POINT must be
 * exactly the DER OCTET STRING 04 41 || 04 || X || Y of a curve point
 * (PKCS#11 v2.40 §2.3.3); ks->pub gets its compressed form. */
static pq3_err read_public(pq3_keystore *ks, struct pq3_p11 *p)
{
    uint8_t params[32], point[80];
    CK_ATTRIBUTE t[2] = {
        { CKA_EC_PARAMS, params, sizeof params },
        { CKA_EC_POINT, point, sizeof point },
    };
    pq3_ecdsa_pub vk;
    CK_RV rv;

    rv = p->m->f->C_GetAttributeValue(p->session, p->pub, t, 2);
    if (rv != CKR_OK) {
        rv_err(ks, "C_GetAttributeValue(CKA_EC_POINT)", rv);
        return PQ3_ERR_IO;
    }
    if (t[0].ulValueLen != sizeof p256_oid || memcmp(params, p256_oid, sizeof p256_oid) != 0) {
        pq3_dev_seterr(ks->err, "the token's key is not a P-256 key");
        return PQ3_ERR_IO;
    }
    if (t[1].ulValueLen != 67 || point[0] != 0x04 || point[1] != 65 || point[2] != 0x04 ||
        pq3_ecdsa_import_uncompressed(&vk, point + 2) != PQ3_OK) {
        pq3_dev_seterr(ks->err, "the token's CKA_EC_POINT is not an uncompressed P-256 point");
        return PQ3_ERR_IO;
    }
    /* SEC1 compression: 02 for an even Y, 03 for an odd one */
    ks->pub[0] = (uint8_t)(0x02 | (point[66] & 1));
    memcpy(ks->pub + 1, point + 3, 32);
    return PQ3_OK;
}

/* Exactly one object of the class and label: PQ3_ERR_UNKNOWN for none. */
static pq3_err find_one(pq3_keystore *ks, struct pq3_p11 *p, CK_OBJECT_CLASS cls,
                        const char *label, CK_OBJECT_HANDLE *obj)
{
    CK_ULONG n = 0;
    pq3_err err = find_objects(ks, p, cls, label, obj, &n);
    if (err != PQ3_OK)
        return err;
    if (n == 0) {
        pq3_dev_seterr(ks->err, "no %s key labelled \"%s\" in the token",
                       cls == CKO_PRIVATE_KEY ? "private" : "public", label);
        return PQ3_ERR_UNKNOWN;
    }
    if (n > 1) {
        pq3_dev_seterr(ks->err, "several %s keys labelled \"%s\" in the token",
                       cls == CKO_PRIVATE_KEY ? "private" : "public", label);
        return PQ3_ERR_IO;
    }
    return PQ3_OK;
}

pq3_err pq3_p11_open(pq3_keystore *ks, const pq3_pkcs11_config *cfg)
{
    struct pq3_p11 *p = NULL;
    pq3_err err = session_open(ks, cfg, &p);
    if (err != PQ3_OK)
        return err;
    err = find_one(ks, p, CKO_PRIVATE_KEY, cfg->key_label, &p->priv);
    if (err == PQ3_OK)
        err = find_one(ks, p, CKO_PUBLIC_KEY, cfg->key_label, &p->pub);
    if (err == PQ3_OK)
        err = read_public(ks, p);
    if (err != PQ3_OK) {
        pq3_p11_close(p);
        memset(ks->pub, 0, sizeof ks->pub);
        return err;
    }
    ks->p11 = p;
    ks->kind = KS_TOKEN;
    return PQ3_OK;
}

pq3_err pq3_p11_create(pq3_keystore *ks, const pq3_pkcs11_config *cfg)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    uint8_t id[CKA_ID_BYTES];
    struct pq3_p11 *p = NULL;
    CK_OBJECT_HANDLE h;
    CK_ULONG n1 = 0, n2 = 0, label_len;
    CK_RV rv;
    pq3_err err;

    err = session_open(ks, cfg, &p);
    if (err != PQ3_OK)
        return err;
    /* Never a second key under a label: open would not know which. */
    err = find_objects(ks, p, CKO_PRIVATE_KEY, cfg->key_label, &h, &n1);
    if (err == PQ3_OK)
        err = find_objects(ks, p, CKO_PUBLIC_KEY, cfg->key_label, &h, &n2);
    if (err != PQ3_OK)
        goto fail;
    if (n1 + n2 > 0) {
        pq3_dev_seterr(ks->err, "a key labelled \"%s\" exists in token \"%s\"", cfg->key_label,
                       cfg->token_label);
        err = PQ3_ERR_STATE;
        goto fail;
    }
    /* CKA_ID pairs the two objects for other PKCS#11 tools. */
    err = pq3_random(NULL, id, sizeof id);
    if (err != PQ3_OK) {
        pq3_dev_seterr(ks->err, "no randomness for CKA_ID");
        goto fail;
    }
    label_len = (CK_ULONG)strlen(cfg->key_label);
    {
        CK_ATTRIBUTE pub_t[] = {
            { CKA_TOKEN, &yes, sizeof yes },
            { CKA_VERIFY, &yes, sizeof yes },
            { CKA_EC_PARAMS, (void *)p256_oid, sizeof p256_oid },
            { CKA_LABEL, (void *)cfg->key_label, label_len },
            { CKA_ID, id, sizeof id },
        };
        /* The key is made in the token and can never be read out:
         * sensitive (CKA_VALUE refused) and not extractable (no wrapping). */
        CK_ATTRIBUTE priv_t[] = {
            { CKA_TOKEN, &yes, sizeof yes },
            { CKA_PRIVATE, &yes, sizeof yes },
            { CKA_SENSITIVE, &yes, sizeof yes },
            { CKA_EXTRACTABLE, &no, sizeof no },
            { CKA_SIGN, &yes, sizeof yes },
            { CKA_LABEL, (void *)cfg->key_label, label_len },
            { CKA_ID, id, sizeof id },
        };
        rv = p->m->f->C_GenerateKeyPair(p->session, &mech, pub_t,
                                        sizeof pub_t / sizeof pub_t[0], priv_t,
                                        sizeof priv_t / sizeof priv_t[0], &p->pub, &p->priv);
    }
    if (rv != CKR_OK) {
        rv_err(ks, "C_GenerateKeyPair", rv);
        err = PQ3_ERR_IO;
        goto fail;
    }
    err = read_public(ks, p);
    if (err != PQ3_OK) {
        /* a key pair we cannot use is not left in the token */
        p->m->f->C_DestroyObject(p->session, p->priv);
        p->m->f->C_DestroyObject(p->session, p->pub);
        goto fail;
    }
    ks->p11 = p;
    ks->kind = KS_TOKEN;
    return PQ3_OK;
fail:
    memset(ks->pub, 0, sizeof ks->pub);
    pq3_p11_close(p);
    return err;
}

pq3_err pq3_p11_sign(void *ctx, uint8_t sig[PQ3_ECDSA_SIG_BYTES], const uint8_t *msg,
                     size_t len)
{
    pq3_keystore *ks = ctx;
    struct pq3_p11 *p;
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    unsigned char digest[32];
    unsigned int dlen = 0;
    CK_ULONG slen = PQ3_ECDSA_SIG_BYTES;
    CK_RV rv;

    if (ks == NULL || ks->kind != KS_TOKEN || sig == NULL || (msg == NULL && len > 0))
        return PQ3_ERR_ARG;
    p = ks->p11;
    /* CKM_ECDSA signs a digest given to it: SHA-256 is computed here */
    if (EVP_Digest(msg, len, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32) {
        pq3_dev_seterr(ks->err, "SHA-256 failed");
        return PQ3_ERR_CRYPTO;
    }
    rv = p->m->f->C_SignInit(p->session, &mech, p->priv);
    if (rv != CKR_OK) {
        rv_err(ks, "C_SignInit", rv);
        return PQ3_ERR_IO;
    }
    rv = p->m->f->C_Sign(p->session, digest, sizeof digest, sig, &slen);
    if (rv != CKR_OK) {
        rv_err(ks, "C_Sign", rv);
        return PQ3_ERR_IO;
    }
    if (slen != PQ3_ECDSA_SIG_BYTES) {
        pq3_dev_seterr(ks->err, "the token returned a %lu-byte signature, not 64",
                       (unsigned long)slen);
        return PQ3_ERR_IO;
    }
    return PQ3_OK;
}
