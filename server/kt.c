/*
 * Key transparency in pq3d (docs/TRANSPARENCY.md §3, §4, §5.1, §7): the
 * log's keys, the map and the leaf hashes of the log held in memory, the
 * records accepted and not yet in an epoch, the epoch sequencer and the
 * proofs LOOKUP carries. Everything here runs on the writer thread, inside
 * its transactions: the memory follows the store, and when a transaction
 * that changed it does not commit, the memory is reloaded from the store.
 */
#define _GNU_SOURCE
#include "pq3d.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pq3/kt.h"

#define KEY_FILE_BYTES (PQ3_NOTE_SEED_BYTES + PQ3_VRF_SK_BYTES)
#define PENDING_MAX 100000u             /* records per epoch, at most */
#define EPOCHS_CHUNK 4096u

struct pq3d_kt {
    char server_name[PQ3_WIRE_MAX_NAME + 1];
    char origin[PQ3_CHECKPOINT_ORIGIN_MAX + 1];
    pq3_note_signer log;                /* secret */
    pq3_note_verifier log_pub;
    uint8_t vrf_sk[PQ3_VRF_SK_BYTES];   /* secret */
    uint8_t vrf_pk[PQ3_VRF_PK_BYTES];
    uint64_t mmd;
    /* what the store holds, as far as loaded */
    pq3_map *map;
    uint8_t *leaves;                    /* size x 32 */
    uint64_t size, cap;
    pq3d_kt_epoch last;
    uint8_t *checkpoint;
    size_t checkpoint_len;
    int dirty;                          /* reload from the store before use */
    pq3d_kt *self;
};

/* ---- keys ------------------------------------------------------------------- */

static int read_keys(const char *path, uint8_t out[KEY_FILE_BYTES], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    uint8_t extra;
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the transparency key %s: %s (pq3d init makes it)",
                 path, strerror(errno));
        return -1;
    }
    n = read(fd, out, KEY_FILE_BYTES);
    if (n != (ssize_t)KEY_FILE_BYTES || read(fd, &extra, 1) != 0) {
        close(fd);
        pq3_wipe(out, KEY_FILE_BYTES);
        snprintf(err, errlen, "%s is not a transparency key (%d bytes expected)", path,
                 KEY_FILE_BYTES);
        return -1;
    }
    close(fd);
    return 0;
}

/* Fills the keys of kt from the 64 bytes of the key file. */
static int keys_from(pq3d_kt *kt, const uint8_t raw[KEY_FILE_BYTES], const char *name,
                     char *err, size_t errlen)
{
    size_t olen;
    snprintf(kt->server_name, sizeof kt->server_name, "%s", name);
    if (pq3_kt_origin(kt->origin, sizeof kt->origin, &olen, name) != PQ3_OK) {
        snprintf(err, errlen, "the server name %s cannot name a log", name);
        return -1;
    }
    if (pq3_note_signer_from_seed(&kt->log, kt->origin, PQ3_NOTE_TYPE_ED25519, raw) != PQ3_OK) {
        snprintf(err, errlen, "the transparency key's log key is not valid");
        return -1;
    }
    pq3_note_signer_verifier(&kt->log_pub, &kt->log);
    memcpy(kt->vrf_sk, raw + PQ3_NOTE_SEED_BYTES, PQ3_VRF_SK_BYTES);
    if (pq3_vrf_public(kt->vrf_pk, kt->vrf_sk) != PQ3_OK) {
        snprintf(err, errlen, "the transparency key's VRF key is not valid");
        return -1;
    }
    return 0;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = 0;
}

int pq3d_kt_keys_generate(const char *path, char *err, size_t errlen)
{
    uint8_t raw[KEY_FILE_BYTES], pk[PQ3_VRF_PK_BYTES];
    pq3_note_signer log;
    int fd, rc = -1;
    if (pq3_note_signer_generate(&log, "pq3d", PQ3_NOTE_TYPE_ED25519, NULL) != PQ3_OK ||
        pq3_vrf_keypair(raw + PQ3_NOTE_SEED_BYTES, pk, NULL) != PQ3_OK) {
        snprintf(err, errlen, "cannot generate the transparency keys");
        pq3_note_signer_wipe(&log);
        return -1;
    }
    memcpy(raw, log.seed, PQ3_NOTE_SEED_BYTES);
    pq3_note_signer_wipe(&log);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    } else if (write(fd, raw, sizeof raw) != (ssize_t)sizeof raw || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
    } else if (close(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    } else {
        rc = 0;
    }
    pq3_wipe(raw, sizeof raw);
    return rc;
}

int pq3d_kt_keys_describe(const char *path, const char *server_name, char *vkey, size_t vkey_cap,
                          char vrf_hex[2 * PQ3_VRF_PK_BYTES + 1], char *err, size_t errlen)
{
    uint8_t raw[KEY_FILE_BYTES];
    pq3d_kt kt;
    int rc = -1;
    memset(&kt, 0, sizeof kt);
    if (read_keys(path, raw, err, errlen) != 0)
        return -1;
    if (keys_from(&kt, raw, server_name, err, errlen) == 0) {
        if (pq3_note_verifier_format(vkey, vkey_cap, NULL, &kt.log_pub) == PQ3_OK) {
            hex(vrf_hex, kt.vrf_pk, PQ3_VRF_PK_BYTES);
            rc = 0;
        } else {
            snprintf(err, errlen, "cannot format the log key");
        }
    }
    pq3_wipe(raw, sizeof raw);
    pq3_note_signer_wipe(&kt.log);
    pq3_wipe(kt.vrf_sk, sizeof kt.vrf_sk);
    return rc;
}

/* ---- state ------------------------------------------------------------------- */

pq3d_kt *pq3d_kt_open(const pq3d_config *cfg, char *err, size_t errlen)
{
    uint8_t raw[KEY_FILE_BYTES];
    pq3d_kt *kt = calloc(1, sizeof *kt);
    if (kt == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (read_keys(cfg->kt_key, raw, err, errlen) != 0) {
        free(kt);
        return NULL;
    }
    if (keys_from(kt, raw, cfg->name, err, errlen) != 0) {
        pq3_wipe(raw, sizeof raw);
        pq3d_kt_free(kt);
        return NULL;
    }
    pq3_wipe(raw, sizeof raw);
    kt->mmd = 2u * (uint64_t)cfg->kt_epoch;
    kt->dirty = 1;
    return kt;
}

static void forget(pq3d_kt *kt)
{
    pq3_map_free(kt->map);
    kt->map = NULL;
    free(kt->leaves);
    kt->leaves = NULL;
    kt->size = kt->cap = 0;
    free(kt->checkpoint);
    kt->checkpoint = NULL;
    kt->checkpoint_len = 0;
    memset(&kt->last, 0, sizeof kt->last);
}

void pq3d_kt_free(pq3d_kt *kt)
{
    if (kt == NULL)
        return;
    forget(kt);
    pq3_note_signer_wipe(&kt->log);
    pq3_wipe(kt->vrf_sk, sizeof kt->vrf_sk);
    free(kt);
}

void pq3d_kt_rollback(pq3d_kt *kt)
{
    if (kt != NULL)
        kt->dirty = 1;
}

uint64_t pq3d_kt_size(const pq3d_kt *kt)
{
    return kt != NULL && !kt->dirty ? kt->size : 0;
}

static int append_leaf(pq3d_kt *kt, const pq3d_kt_epoch *ep)
{
    if (kt->size == kt->cap) {
        uint64_t cap = kt->cap ? 2 * kt->cap : 1024;
        uint8_t *p = realloc(kt->leaves, cap * PQ3_MERKLE_HASH_BYTES);
        if (p == NULL)
            return -1;
        kt->leaves = p;
        kt->cap = cap;
    }
    if (pq3_kt_leaf_hash(kt->leaves + kt->size * PQ3_MERKLE_HASH_BYTES, ep->e, ep->time,
                         ep->map_root) != PQ3_OK)
        return -1;
    kt->size++;
    kt->last = *ep;
    return 0;
}

/* Entries collected from the store, then set in the map in one call. */
typedef struct batch {
    uint8_t *keys, *values;
    size_t n, cap;
} batch;

static int batch_add(void *arg, uint64_t e, const uint8_t key[32], const uint8_t value[32])
{
    batch *b = arg;
    (void)e;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        uint8_t *k = realloc(b->keys, cap * 32), *v;
        if (k == NULL)
            return -1;
        b->keys = k;
        v = realloc(b->values, cap * 32);
        if (v == NULL)
            return -1;
        b->values = v;
        b->cap = cap;
    }
    memcpy(b->keys + 32 * b->n, key, 32);
    memcpy(b->values + 32 * b->n, value, 32);
    b->n++;
    return 0;
}

static pq3_err broken(pq3d_store *s, const char *what)
{
    (void)s;
    pq3d_log(PQ3D_ERROR, "kt_state_invalid", "error=\"%s\"", what);
    return PQ3_ERR_STATE;
}

/* Checks the stored checkpoint of the head against the leaves in memory:
 * signed by this log's key, of this size and root. */
static pq3_err check_checkpoint(pq3d_kt *kt, pq3d_store *s)
{
    pq3_note note;
    pq3_kt_checkpoint c;
    uint8_t root[PQ3_MERKLE_HASH_BYTES];
    pq3_err err;
    if (kt->size == 0)
        return PQ3_OK;
    err = pq3_note_open(&note, kt->checkpoint, kt->checkpoint_len, &kt->log_pub, 1);
    if (err != PQ3_OK)
        return broken(s, "the stored checkpoint is not signed by this log's key "
                         "(another kt_key than the one that made the log?)");
    err = pq3_kt_checkpoint_parse(&c, note.text, note.text_len, kt->server_name);
    if (err != PQ3_OK)
        return broken(s, "the stored checkpoint does not parse for this server name");
    if (pq3_merkle_root(root, kt->leaves, kt->size) != PQ3_OK)
        return PQ3_ERR_CRYPTO;
    if (c.size != kt->size || memcmp(c.root, root, sizeof root) != 0)
        return broken(s, "the stored checkpoint is not the stored log's");
    return PQ3_OK;
}

/* Brings memory up to the store: what this node or another published. */
static pq3_err sync_state(pq3d_kt *kt, pq3d_store *s)
{
    uint64_t size, from;
    pq3_err err;
    batch b = {0};
    if (kt->dirty) {
        forget(kt);
        if ((err = pq3_map_new(&kt->map)) != PQ3_OK)
            return err;
        kt->dirty = 0;
    }
    if ((err = pq3d_store_kt_size(s, &size)) != PQ3_OK)
        return err;
    if (size == kt->size)
        return PQ3_OK;
    if (size < kt->size) {
        kt->dirty = 1;
        return broken(s, "the stored log is shorter than the one in memory");
    }
    from = kt->size;
    while (kt->size < size) {
        pq3d_kt_epoch *eps = malloc(EPOCHS_CHUNK * sizeof *eps);
        uint32_t n = 0;
        if (eps == NULL) {
            kt->dirty = 1;
            return PQ3_ERR_NOMEM;
        }
        err = pq3d_store_kt_epochs(s, kt->size, eps, EPOCHS_CHUNK, &n);
        for (uint32_t i = 0; err == PQ3_OK && i < n; i++) {
            if (eps[i].e != kt->size)
                err = broken(s, "the stored epochs are not consecutive");
            else if (append_leaf(kt, &eps[i]) != 0)
                err = PQ3_ERR_NOMEM;
        }
        free(eps);
        if (err == PQ3_OK && n == 0)
            err = broken(s, "an epoch is missing from the store");
        if (err != PQ3_OK) {
            kt->dirty = 1;
            return err;
        }
    }
    err = pq3d_store_kt_entries(s, from, batch_add, &b);
    if (err == PQ3_OK)
        err = pq3_map_set(kt->map, b.keys, b.values, b.n);
    free(b.keys);
    free(b.values);
    if (err == PQ3_OK) {
        uint8_t root[PQ3_MAP_HASH_BYTES];
        if ((err = pq3_map_root(kt->map, root)) == PQ3_OK &&
            memcmp(root, kt->last.map_root, sizeof root) != 0)
            err = broken(s, "the stored map entries do not give the last epoch's map root");
    }
    if (err == PQ3_OK) {
        free(kt->checkpoint);
        kt->checkpoint = NULL;
        err = pq3d_store_kt_checkpoint(s, kt->size - 1, &kt->checkpoint, &kt->checkpoint_len);
    }
    if (err == PQ3_OK)
        err = check_checkpoint(kt, s);
    if (err != PQ3_OK)
        kt->dirty = 1;
    return err;
}

/* ---- §4: accepting a record ------------------------------------------------------ */

pq3_err pq3d_kt_accept(pq3d_kt *kt, pq3d_store *s, const uint8_t *h, size_t h_len,
                       const uint8_t account_pub[PQ3_ECDSA_PUB_BYTES], const uint8_t *list,
                       size_t list_len, uint64_t v, uint64_t now)
{
    pq3d_kt_pending p;
    uint8_t pi[PQ3_VRF_PROOF_BYTES];
    pq3_err err;
    memset(&p, 0, sizeof p);
    if (h_len == 0 || h_len > sizeof p.handle)
        return PQ3_ERR_ARG;
    memcpy(p.handle, h, h_len);
    p.handle_len = h_len;
    p.v = v;
    p.accepted = now;
    /* The VRF runs here, once per record, not in the epoch: an epoch of
     * 10,000 records then costs map hashing only. */
    if ((err = pq3_kt_value(p.value, h, h_len, account_pub, v, list, list_len)) != PQ3_OK ||
        (err = pq3_kt_key_prove(p.key, pi, kt->vrf_sk, h, h_len, v)) != PQ3_OK)
        return err == PQ3_ERR_IO ? PQ3_ERR_CRYPTO : err;
    return pq3d_store_kt_pending_add(s, &p);
}

/* ---- §3, §7: publishing an epoch ---------------------------------------------------- */

pq3_err pq3d_kt_sequence(pq3d_kt *kt, pq3d_store *s, uint64_t now, uint64_t *published,
                      uint32_t *records)
{
    pq3d_kt_pending *p = NULL;
    uint32_t n = 0;
    int held = 0;
    pq3d_kt_epoch ep;
    pq3_kt_checkpoint c;
    uint8_t *keys = NULL, *values = NULL, *note = NULL;
    size_t note_len = 0;
    pq3_err err;

    *published = UINT64_MAX;
    *records = 0;
    if ((err = sync_state(kt, s)) != PQ3_OK)
        return err;
    if ((err = pq3d_store_kt_sequencer(s, &held)) != PQ3_OK || !held)
        return err;
    if (kt->size > 0) {
        p = malloc(PENDING_MAX * sizeof *p);
        if (p == NULL)
            return PQ3_ERR_NOMEM;
        if ((err = pq3d_store_kt_pending_list(s, p, PENDING_MAX, &n)) != PQ3_OK || n == 0) {
            free(p);
            return err;
        }
        keys = malloc((size_t)n * 32);
        values = malloc((size_t)n * 32);
        if (keys == NULL || values == NULL) {
            err = PQ3_ERR_NOMEM;
            goto out;
        }
        for (uint32_t i = 0; i < n; i++) {
            memcpy(keys + 32 * i, p[i].key, 32);
            memcpy(values + 32 * i, p[i].value, 32);
        }
    }
    /* From here on memory runs ahead of the store: any failure reloads. */
    kt->dirty = 1;
    if ((err = pq3_map_set(kt->map, keys, values, n)) != PQ3_OK)
        goto out;
    ep.e = kt->size;
    ep.time = now;
    if ((err = pq3_map_root(kt->map, ep.map_root)) != PQ3_OK)
        goto out;
    if (append_leaf(kt, &ep) != 0) {
        err = PQ3_ERR_NOMEM;
        goto out;
    }
    c.size = kt->size;
    c.mmd = kt->mmd;
    if ((err = pq3_merkle_root(c.root, kt->leaves, kt->size)) != PQ3_OK)
        goto out;
    if ((err = pq3_kt_checkpoint_sign(NULL, 0, &note_len, &kt->log, kt->server_name, &c)) !=
            PQ3_ERR_BUFFER &&
        err != PQ3_OK)
        goto out;
    if ((note = malloc(note_len)) == NULL) {
        err = PQ3_ERR_NOMEM;
        goto out;
    }
    if ((err = pq3_kt_checkpoint_sign(note, note_len, &note_len, &kt->log, kt->server_name,
                                      &c)) != PQ3_OK)
        goto out;
    err = pq3d_store_kt_publish(s, &ep, note, note_len, p, n);
    if (err == PQ3_OK) {
        free(kt->checkpoint);
        kt->checkpoint = note;
        kt->checkpoint_len = note_len;
        note = NULL;
        kt->dirty = 0;
        *published = ep.e;
        *records = n;
    }
out:
    free(note);
    free(keys);
    free(values);
    free(p);
    return err;
}

/* ---- §5.1: a lookup's proof ---------------------------------------------------------- */

pq3_err pq3d_kt_prove(pq3d_kt *kt, pq3d_store *s, const uint8_t *h, size_t h_len, uint64_t v,
                      uint64_t pinned, uint8_t **out, size_t *out_len)
{
    uint8_t *promise = NULL, *buf = NULL;
    size_t promise_len = 0, len = 0;
    uint64_t accepted;
    uint8_t value[PQ3_KT_VALUE_BYTES];
    pq3_err err;

    *out = NULL;
    *out_len = 0;
    if ((err = sync_state(kt, s)) != PQ3_OK)
        return err;
    if (kt->size == 0)
        return PQ3_ERR_UNKNOWN;         /* the log has no epoch yet */
    err = pq3d_store_kt_pending_accepted(s, h, h_len, v, &accepted, value);
    if (err == PQ3_OK) {
        pq3_kt_promise pr;
        memset(&pr, 0, sizeof pr);
        memcpy(pr.h, h, h_len);
        pr.h_len = h_len;
        pr.v = v;
        pr.deadline = accepted + kt->mmd;
        memcpy(pr.value, value, sizeof value);
        if (err == PQ3_OK &&
            (err = pq3_kt_promise_sign(NULL, 0, &promise_len, &kt->log, &pr)) == PQ3_ERR_BUFFER)
            err = PQ3_OK;
        if (err == PQ3_OK && (promise = malloc(promise_len)) == NULL)
            err = PQ3_ERR_NOMEM;
        if (err == PQ3_OK)
            err = pq3_kt_promise_sign(promise, promise_len, &promise_len, &kt->log, &pr);
        if (err != PQ3_OK) {
            free(promise);
            return err;
        }
    } else if (err != PQ3_ERR_UNKNOWN) {
        return err;
    }
    /* A client pinned to a longer log than this one gets the proof from
     * nothing: its own check then sees the log go back (§5.2 step 2). */
    if (pinned > kt->size)
        pinned = 0;
    err = pq3_kt_proof_build(NULL, 0, &len, kt->checkpoint, kt->checkpoint_len, kt->last.time,
                             kt->last.map_root, kt->leaves, kt->size, pinned, kt->map,
                             kt->vrf_sk, h, h_len, v, promise, promise_len);
    if (err == PQ3_ERR_BUFFER || err == PQ3_OK) {
        if ((buf = malloc(len)) == NULL)
            err = PQ3_ERR_NOMEM;
        else
            err = pq3_kt_proof_build(buf, len, &len, kt->checkpoint, kt->checkpoint_len,
                                     kt->last.time, kt->last.map_root, kt->leaves, kt->size,
                                     pinned, kt->map, kt->vrf_sk, h, h_len, v, promise,
                                     promise_len);
    }
    free(promise);
    if (err != PQ3_OK) {
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = len;
    return PQ3_OK;
}
