/* pq3d's TLS: a P-256 key and a self-signed certificate made by `pq3d
 * init`, their fingerprint (what clients pin, SERVER.md §1), and the
 * TLS 1.3-only server context. */
#include "pq3d.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static void ossl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    snprintf(err, errlen, "%s: %s", what, e ? ERR_reason_error_string(e) : "failed");
    ERR_clear_error();
}

static FILE *create_file(const char *path, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    FILE *f;
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return NULL;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

static int close_synced(FILE *f, const char *path, char *err, size_t errlen)
{
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int pq3d_tls_generate(const char *key_path, const char *cert_path, const char *name,
                      char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *subj;
    X509_EXTENSION *ext = NULL;
    X509V3_CTX v3;
    char san[PQ3_WIRE_MAX_NAME + 8];
    FILE *f;
    int rc = -1;

    if (key == NULL || x == NULL) {
        ossl_err(err, errlen, "cannot make the TLS key");
        goto out;
    }
    subj = X509_get_subject_name(x);
    if (X509_set_version(x, 2) != 1 ||
        ASN1_INTEGER_set_int64(X509_get_serialNumber(x), (int64_t)pq3d_now_s()) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) == NULL ||
        X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)name, -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(x, subj) != 1 || X509_set_pubkey(x, key) != 1) {
        ossl_err(err, errlen, "cannot make the TLS certificate");
        goto out;
    }
    snprintf(san, sizeof san, "DNS:%s", name);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1 || X509_sign(x, key, EVP_sha256()) <= 0) {
        ossl_err(err, errlen, "cannot sign the TLS certificate");
        goto out;
    }
    /* The key is created 0600 and never readable by others (O_EXCL: an
     * existing key is never overwritten). */
    f = create_file(key_path, 0600, err, errlen);
    if (f == NULL)
        goto out;
    if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
        fclose(f);
        ossl_err(err, errlen, "cannot write the TLS key");
        goto out;
    }
    if (close_synced(f, key_path, err, errlen) != 0)
        goto out;
    f = create_file(cert_path, 0644, err, errlen);
    if (f == NULL)
        goto out;
    if (PEM_write_X509(f, x) != 1) {
        fclose(f);
        ossl_err(err, errlen, "cannot write the TLS certificate");
        goto out;
    }
    rc = close_synced(f, cert_path, err, errlen);
out:
    X509_EXTENSION_free(ext);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int pq3d_tls_fingerprint(const char *cert_path, char hex[65], uint8_t raw[32], char *err,
                         size_t errlen)
{
    FILE *f = fopen(cert_path, "r");
    X509 *x;
    unsigned int n = 32;
    uint8_t md[32];

    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", cert_path, strerror(errno));
        return -1;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
        X509_free(x);
        ossl_err(err, errlen, "cannot read the certificate");
        return -1;
    }
    X509_free(x);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (raw != NULL)
        memcpy(raw, md, 32);
    return 0;
}

SSL_CTX *pq3d_tls_server_ctx(const char *key_path, const char *cert_path, char *err,
                             size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ossl_err(err, errlen, "cannot make the TLS context");
        return NULL;
    }
    /* TLS 1.3 only (§1); no session tickets (every connection authenticates
     * anew, and tickets cost memory per connection); buffers released when
     * idle (COMPONENTS: ~48 KB per idle connection). */
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1 || SSL_CTX_set_num_tickets(ctx, 0) != 1) {
        ossl_err(err, errlen, "cannot load the TLS key and certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}
