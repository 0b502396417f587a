/*
 * Device-layer test fixture (header-only, static): devices with software
 * keys in a temporary directory, and a directory service simulated in
 * memory from what each device publishes (the real one is pq3d).
 */
#ifndef PQ3_DEVICE_FIXTURE_H
#define PQ3_DEVICE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pq3/device.h"

#define DF_MAX_DEVICES 64

typedef struct df_device {
    char handle[64];
    char path[512];
    pq3_soft_key key;
    pq3_signer signer;
    pq3_device *d;
    /* What it last published. */
    uint8_t account_pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t list[PQ3_DEVICE_LIST_MAX_BYTES];
    size_t list_len;
    uint64_t list_version;
    uint8_t cert[PQ3_CERT_MAX_BYTES];
    size_t cert_len;
    uint8_t bundle[PQ3_PREKEY_BUNDLE_BYTES];
    size_t bundle_len;
    int published;
} df_device;

typedef struct df_world {
    char dir[256];
    df_device dev[DF_MAX_DEVICES];
    int n;
    pq3_device_config cfg;
} df_world;

static inline int df_init(df_world *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "%s/pq3dev.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(w->dir) == NULL)
        return -1;
    w->cfg = pq3_device_config_default();
    return 0;
}

static inline void df_close(df_device *x)
{
    pq3_device_free(x->d);
    x->d = NULL;
}

static inline pq3_err df_open(df_world *w, df_device *x)
{
    pq3_err err = pq3_device_open(&x->d, x->path, &x->signer, &w->cfg);
    if (err != PQ3_OK)
        fprintf(stderr, "open %s: %s\n", x->path, pq3_device_open_error());
    return err;
}

/* A new device (key, store) named `name` for `handle`. */
static inline df_device *df_new(df_world *w, const char *name, const char *handle)
{
    df_device *x;
    char dir[sizeof w->dir];
    if (w->n == DF_MAX_DEVICES)
        return NULL;
    x = &w->dev[w->n++];
    memcpy(dir, w->dir, sizeof dir);
    snprintf(x->handle, sizeof x->handle, "%s", handle);
    snprintf(x->path, sizeof x->path, "%s/%s.db", dir, name);
    if (pq3_soft_key_generate(&x->key, NULL) != PQ3_OK || pq3_soft_signer(&x->signer, &x->key) != PQ3_OK ||
        df_open(w, x) != PQ3_OK)
        return NULL;
    return x;
}

/* Stores what x publishes (the directory's upload). */
static inline pq3_err df_publish(df_device *x, uint64_t now)
{
    pq3_directory_entry e;
    pq3_err err = pq3_device_publication(x->d, now, &e);
    if (err != PQ3_OK)
        return err;
    memcpy(x->account_pub, e.account_pub, sizeof x->account_pub);
    memcpy(x->list, e.device_list, e.device_list_len);
    x->list_len = e.device_list_len;
    {
        pq3_device_list l;
        if (pq3_device_list_decode(&l, x->list, x->list_len) == PQ3_OK)
            x->list_version = l.version;
    }
    memcpy(x->cert, e.certs[0], e.cert_lens[0]);
    x->cert_len = e.cert_lens[0];
    x->bundle_len = 0;
    if (e.bundles[0] != NULL) {
        memcpy(x->bundle, e.bundles[0], e.bundle_lens[0]);
        x->bundle_len = e.bundle_lens[0];
    }
    x->published = 1;
    return PQ3_OK;
}

/* The directory's answer for `handle`: the newest list any of its devices
 * published, and the certificate and bundle of every listed device. */
static inline int df_lookup(df_world *w, const char *handle, pq3_directory_entry *e)
{
    const df_device *best = NULL;
    pq3_device_list l;
    memset(e, 0, sizeof *e);
    for (int i = 0; i < w->n; i++)
        if (w->dev[i].published && strcmp(w->dev[i].handle, handle) == 0 &&
            (best == NULL || w->dev[i].list_version > best->list_version))
            best = &w->dev[i];
    if (best == NULL || pq3_device_list_decode(&l, best->list, best->list_len) != PQ3_OK)
        return -1;
    memcpy(e->account_pub, best->account_pub, sizeof e->account_pub);
    e->device_list = best->list;
    e->device_list_len = best->list_len;
    for (int i = 0; i < w->n; i++) {
        const df_device *x = &w->dev[i];
        uint32_t k;
        if (!x->published || strcmp(x->handle, handle) != 0)
            continue;
        {
            pq3_device_cert c;
            if (pq3_cert_decode(&c, x->cert, x->cert_len) != PQ3_OK ||
                pq3_device_list_find(&l, c.device_id, &k) != PQ3_OK)
                continue;
        }
        e->certs[e->n_devices] = x->cert;
        e->cert_lens[e->n_devices] = x->cert_len;
        e->bundles[e->n_devices] = x->bundle_len ? x->bundle : NULL;
        e->bundle_lens[e->n_devices] = x->bundle_len;
        e->n_devices++;
    }
    return 0;
}

static inline pq3_err df_learn(df_world *w, df_device *x, const char *handle, uint64_t now,
                               pq3_contact_report *rep)
{
    pq3_directory_entry e;
    pq3_err err;
    if (df_lookup(w, handle, &e) != 0)
        return PQ3_ERR_UNKNOWN;
    err = pq3_device_learn(x->d, handle, &e, now, rep);
    if (err != PQ3_OK)
        fprintf(stderr, "learn %s: %s\n", handle, pq3_device_error(x->d));
    return err;
}

/* The device whose id is `id`. */
static inline df_device *df_find(df_world *w, const uint8_t id[PQ3_DEVICE_ID_BYTES])
{
    for (int i = 0; i < w->n; i++) {
        pq3_device_self s;
        if (w->dev[i].d != NULL && pq3_device_whoami(w->dev[i].d, &s) == PQ3_OK &&
            memcmp(s.device_id, id, PQ3_DEVICE_ID_BYTES) == 0)
            return &w->dev[i];
    }
    return NULL;
}

/* Carries the whole outbox of x to its recipients (one receive call per
 * recipient with everything for it), then acknowledges it. Returns the
 * number of envelopes delivered, or -1 on an error. */
static inline int df_deliver(df_world *w, df_device *x, uint64_t now)
{
    pq3_envelope env[64];
    uint32_t n;
    int total = 0;
    pq3_device_self me;
    if (pq3_device_whoami(x->d, &me) != PQ3_OK)
        return -1;
    for (;;) {
        if (pq3_device_outbox(x->d, 0, env, 64, &n) != PQ3_OK)
            return -1;
        if (n == 0)
            return total;
        for (uint32_t i = 0; i < n; i++) {
            df_device *r = df_find(w, env[i].to_device);
            pq3_incoming in;
            pq3_received res;
            uint8_t *copy;
            if (r == NULL)
                return -1;
            copy = malloc(env[i].msg_len);
            memcpy(copy, env[i].msg, env[i].msg_len);
            in.from_handle = x->handle;
            memcpy(in.from_device, me.device_id, PQ3_DEVICE_ID_BYTES);
            in.msg = copy;
            in.msg_len = env[i].msg_len;
            if (pq3_device_receive(r->d, &in, 1, now, &res) != PQ3_OK || res.err != PQ3_OK) {
                fprintf(stderr, "receive at %s: %s (%s)\n", r->path, pq3_strerror(res.err),
                        pq3_device_error(r->d));
                free(copy);
                return -1;
            }
            free(copy);
            total++;
        }
        for (uint32_t i = 0; i < n; i++)
            if (pq3_device_outbox_done(x->d, env[i].id) != PQ3_OK)
                return -1;
    }
}

/* Count of inbox items of kind `kind` with this text. */
static inline int df_inbox_count(df_device *x, int kind, const char *text)
{
    pq3_inbox_item it[64];
    uint32_t n;
    int64_t after = 0;
    int count = 0;
    for (;;) {
        if (pq3_device_inbox(x->d, after, it, 64, &n) != PQ3_OK)
            return -1;
        if (n == 0)
            return count;
        for (uint32_t i = 0; i < n; i++) {
            if (it[i].kind == kind && (text == NULL || (it[i].text_len == strlen(text) &&
                                                       memcmp(it[i].text, text, it[i].text_len) == 0)))
                count++;
            after = it[i].id;
        }
    }
}

static inline void df_cleanup(df_world *w)
{
    char cmd[600];
    for (int i = 0; i < w->n; i++) {
        df_close(&w->dev[i]);
        pq3_soft_key_wipe(&w->dev[i].key);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", w->dir);
}

#endif
