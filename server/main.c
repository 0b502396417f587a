/* pq3d: the directory and relay server (pq3d(8), docs/SERVER.md).
 * Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. */
#include "pq3d.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pq3/note.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

static const char usage[] =
    "usage: pq3d init DIR [--name NAME] [--listen HOST:PORT] [--metrics HOST:PORT|off]\n"
    "                     [--store URL] [--node NODE] [--policy open|invite]\n"
    "                     [--kt-key FILE]\n"
    "       pq3d run DIR [--log-level debug|info|warn|error]\n"
    "       pq3d invite DIR\n"
    "       pq3d fingerprint DIR\n"
    "       pq3d kt-keys DIR\n"
    "See pq3d(8).\n";

__attribute__((format(printf, 2, 3))) static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pq3d: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    return code;
}

static int cmd_init(int argc, char **argv)
{
    pq3d_config c;
    pq3d_store *st;
    char err[512], hex[65];
    const char *dir = argv[0];
    struct stat sb;
    int own_kt_key = 1;

    pq3d_config_defaults(&c, dir);
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *dst = NULL;
        size_t cap = 0;
        if (v == NULL)
            return fail(2, "%s needs a value", k);
        if (strcmp(k, "--name") == 0) { dst = c.name; cap = sizeof c.name; }
        else if (strcmp(k, "--listen") == 0) { dst = c.listen; cap = sizeof c.listen; }
        else if (strcmp(k, "--metrics") == 0) { dst = c.metrics; cap = sizeof c.metrics; }
        else if (strcmp(k, "--store") == 0) { dst = c.store; cap = sizeof c.store; }
        else if (strcmp(k, "--node") == 0) { dst = c.node; cap = sizeof c.node; }
        else if (strcmp(k, "--kt-key") == 0) {
            /* another node's key: nodes on one database share one log */
            dst = c.kt_key;
            cap = sizeof c.kt_key;
            own_kt_key = 0;
        }
        else if (strcmp(k, "--policy") == 0) {
            if (strcmp(v, "open") == 0)
                c.policy = PQ3D_POLICY_OPEN;
            else if (strcmp(v, "invite") == 0)
                c.policy = PQ3D_POLICY_INVITE;
            else
                return fail(2, "--policy is open or invite, not '%s'", v);
        } else
            return fail(2, "unknown option '%s' (see pq3d --help)", k);
        if (dst != NULL) {
            if (strlen(v) >= cap || v[0] == 0)
                return fail(2, "value of %s is empty or too long", k);
            memcpy(dst, v, strlen(v) + 1);
        }
        i++;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fail(1, "cannot create the directory: %s", strerror(errno));
    {
        char p[PQ3D_PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/pq3d.conf", dir);
        if (stat(p, &sb) == 0)
            return fail(2, "%s exists: this directory is initialised already", p);
    }
    if (pq3d_tls_generate(c.tls_key, c.tls_cert, c.name, err, sizeof err) != 0)
        return fail(1, "%s", err);
    if (own_kt_key && pq3d_kt_keys_generate(c.kt_key, err, sizeof err) != 0)
        return fail(1, "%s", err);
    if (pq3d_store_open(&st, c.store, c.node, err, sizeof err) != PQ3_OK)
        return fail(1, "%s", err);
    pq3d_store_close(st);
    if (pq3d_config_write(&c, err, sizeof err) != 0)
        return fail(1, "%s", err);
    if (pq3d_tls_fingerprint(c.tls_cert, hex, NULL, err, sizeof err) != 0)
        return fail(1, "%s", err);
    {
        char vkey[PQ3_NOTE_VKEY_MAX + 1], vrf[67];
        if (pq3d_kt_keys_describe(c.kt_key, c.name, vkey, sizeof vkey, vrf, err, sizeof err) != 0)
            return fail(1, "%s", err);
        printf("initialised %s\nname %s\nlisten %s\nstore %s\nfingerprint %s\n"
               "kt_log %s\nkt_vrf %s\n",
               dir, c.name, c.listen, c.store, hex, vkey, vrf);
    }
    return 0;
}

/* What a client pins for key transparency (TRANSPARENCY.md §3). */
static int cmd_kt_keys(const char *dir)
{
    pq3d_config c;
    char err[512], vkey[PQ3_NOTE_VKEY_MAX + 1], vrf[67];
    if (pq3d_config_load(&c, dir, err, sizeof err) != 0)
        return fail(2, "%s", err);
    if (pq3d_kt_keys_describe(c.kt_key, c.name, vkey, sizeof vkey, vrf, err, sizeof err) != 0)
        return fail(1, "%s", err);
    printf("kt_log %s\nkt_vrf %s\n", vkey, vrf);
    return 0;
}

static int cmd_fingerprint(const char *dir)
{
    pq3d_config c;
    char err[512], hex[65];
    if (pq3d_config_load(&c, dir, err, sizeof err) != 0)
        return fail(2, "%s", err);
    if (pq3d_tls_fingerprint(c.tls_cert, hex, NULL, err, sizeof err) != 0)
        return fail(1, "%s", err);
    printf("%s\n", hex);
    return 0;
}

static int cmd_invite(const char *dir)
{
    pq3d_config c;
    pq3d_store *st;
    char err[512], hex[33];
    uint8_t tok[16], hash[32];

    if (pq3d_config_load(&c, dir, err, sizeof err) != 0)
        return fail(2, "%s", err);
    if (RAND_bytes(tok, sizeof tok) != 1)
        return fail(1, "%s", "the random generator failed");
    for (unsigned i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", tok[i]);
    /* The token is what the user types: its ASCII hex is hashed. */
    SHA256((const uint8_t *)hex, 32, hash);
    if (pq3d_store_open(&st, c.store, c.node, err, sizeof err) != PQ3_OK)
        return fail(1, "%s", err);
    if (pq3d_store_invite_add(st, hash, pq3d_now_s()) != PQ3_OK) {
        snprintf(err, sizeof err, "%s", pq3d_store_error(st));
        pq3d_store_close(st);
        return fail(1, "cannot store the invitation: %s", err);
    }
    pq3d_store_close(st);
    printf("%s\n", hex);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    pq3d_config c;
    char err[512];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "debug") == 0) pq3d_log_level = PQ3D_DEBUG;
            else if (strcmp(v, "info") == 0) pq3d_log_level = PQ3D_INFO;
            else if (strcmp(v, "warn") == 0) pq3d_log_level = PQ3D_WARN;
            else if (strcmp(v, "error") == 0) pq3d_log_level = PQ3D_ERROR;
            else return fail(2, "unknown log level '%s'", v);
        } else
            return fail(2, "unknown option '%s' (see pq3d --help)", argv[i]);
    }
    if (pq3d_config_load(&c, argv[0], err, sizeof err) != 0)
        return fail(2, "%s", err);
    return pq3d_serve(&c);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 3) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "init") == 0)
        return cmd_init(argc - 2, argv + 2);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "invite") == 0 && argc == 3)
        return cmd_invite(argv[2]);
    if (strcmp(argv[1], "fingerprint") == 0 && argc == 3)
        return cmd_fingerprint(argv[2]);
    if (strcmp(argv[1], "kt-keys") == 0 && argc == 3)
        return cmd_kt_keys(argv[2]);
    fputs(usage, stderr);
    return 2;
}
