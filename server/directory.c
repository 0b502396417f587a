/*
 * The directory (docs/SERVER.md §4, §5.1-§5.5), run on the writer thread:
 * accounts and their device lists, device certificates, prekey bundles,
 * lookups. The server checks every signed object before it stores it, so
 * its store holds only what clients will accept; clients check it all again
 * (the server is not trusted with keys).
 */
#include "pq3d.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "pq3/prekey.h"

static int same_handle(const pq3_device_list *l, const pq3d_job *j)
{
    return l->handle_len == j->handle_len && memcmp(l->handle, j->handle, j->handle_len) == 0;
}

/* The index of (device_id, key) in the list, or -1. */
static int find_device(const pq3_device_list *l, const uint8_t id[PQ3_DEVICE_ID_BYTES],
                       const uint8_t key[PQ3_ECDSA_PUB_BYTES])
{
    for (uint32_t i = 0; i < l->count; i++)
        if (memcmp(l->devices[i].device_id, id, PQ3_DEVICE_ID_BYTES) == 0)
            return (key == NULL ||
                    memcmp(l->devices[i].auth_pub, key, PQ3_ECDSA_PUB_BYTES) == 0)
                       ? (int)i
                       : -1;
    return -1;
}

static void hexid(char out[2 * PQ3_DEVICE_ID_BYTES + 1], const uint8_t *id)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < PQ3_DEVICE_ID_BYTES; i++) {
        out[2 * i] = hx[id[i] >> 4];
        out[2 * i + 1] = hx[id[i] & 15];
    }
    out[2 * PQ3_DEVICE_ID_BYTES] = 0;
}

static int set_result(pq3d_job *j, size_t cap,
                      pq3_err (*enc)(uint8_t *, size_t, size_t *, const void *), const void *v)
{
    j->result = malloc(cap);
    if (j->result == NULL || enc(j->result, cap, &j->result_len, v) != PQ3_OK) {
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "cannot encode the result");
        return -1;
    }
    return 0;
}

static pq3_err enc_auth_result(uint8_t *o, size_t c, size_t *l, const void *v)
{
    return pq3_wire_auth_result_encode(o, c, l, v);
}
static pq3_err enc_lookup_result(uint8_t *o, size_t c, size_t *l, const void *v)
{
    return pq3_wire_lookup_result_encode(o, c, l, v);
}

pq3_err pq3d_do_auth(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j)
{
    pq3d_account acct;
    pq3_device_list list;
    pq3_wire_auth_result res;
    pq3_err err;
    (void)cfg;

    memset(&res, 0, sizeof res);
    err = pq3d_store_account_get(s, j->handle, j->handle_len, &acct);
    if (err == PQ3_ERR_UNKNOWN) {
        j->state = PQ3_WIRE_UNREGISTERED;
    } else if (err != PQ3_OK) {
        return err;
    } else if (memcmp(acct.account_pub, j->account_pub, PQ3_ECDSA_PUB_BYTES) != 0) {
        pq3d_job_fail(j, PQ3_ST_FORBIDDEN, "this handle is registered under another account key");
        return PQ3_OK;
    } else if (pq3_device_list_decode(&list, acct.list, acct.list_len) != PQ3_OK) {
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "the stored device list does not decode");
        return PQ3_OK;
    } else {
        int listed = find_device(&list, j->device_id, j->auth_pub) >= 0;
        int named = find_device(&list, j->device_id, NULL) >= 0;
        j->state = listed ? PQ3_WIRE_LISTED : PQ3_WIRE_PENDING;
        j->list_version = acct.version;
        /* A pending device's certificate is kept for the list that will name
         * it; never over a listed device's (same id, other key). */
        if (listed || !named) {
            j->wrote = 1;
            err = pq3d_store_device_put_cert(s, j->handle, j->handle_len, j->device_id, j->cert,
                                             j->cert_len, listed);
            if (err != PQ3_OK)
                return err;
        }
        if (listed) {
            uint64_t bytes;
            err = pq3d_store_queue_count(s, j->handle, j->handle_len, j->device_id, j->now,
                                         &j->queued_count, &bytes);
            if (err != PQ3_OK)
                return err;
        }
    }
    res.state = j->state;
    res.list_version = j->list_version;
    res.queued = j->queued_count;
    set_result(j, 64, enc_auth_result, &res);
    return PQ3_OK;
}

pq3_err pq3d_do_register(pq3d_store *s, const pq3d_config *cfg, pq3d_kt *kt, pq3d_job *j)
{
    pq3_device_list list;
    pq3d_account acct;
    pq3_err err;

    if (pq3_device_list_verify(&list, j->req.reg.list.p, j->req.reg.list.len, j->account_pub) !=
        PQ3_OK) {
        pq3d_job_fail(j, PQ3_ST_INVALID, "the device list does not verify under the account key");
        return PQ3_OK;
    }
    if (!same_handle(&list, j)) {
        pq3d_job_fail(j, PQ3_ST_INVALID, "the device list is for another handle");
        return PQ3_OK;
    }
    if (list.count != 1 || find_device(&list, j->device_id, j->auth_pub) != 0) {
        pq3d_job_fail(j, PQ3_ST_INVALID,
                      "a new account's device list must name the registering device alone");
        return PQ3_OK;
    }
    if (cfg->policy == PQ3D_POLICY_INVITE) {
        uint8_t hash[32];
        if (j->req.reg.invite.len == 0) {
            pq3d_job_fail(j, PQ3_ST_INVITE_REQUIRED, "this server registers by invitation only");
            return PQ3_OK;
        }
        SHA256(j->req.reg.invite.p, j->req.reg.invite.len, hash);
        err = pq3d_store_invite_use(s, hash, j->handle, j->handle_len, j->now);
        if (err == PQ3_ERR_UNKNOWN) {
            pq3d_job_fail(j, PQ3_ST_INVITE_REQUIRED, "the invitation is unknown or was used");
            return PQ3_OK;
        }
        if (err != PQ3_OK)
            return err;
    }
    memset(&acct, 0, sizeof acct);
    memcpy(acct.account_pub, j->account_pub, PQ3_ECDSA_PUB_BYTES);
    memcpy(acct.list, j->req.reg.list.p, j->req.reg.list.len);
    acct.list_len = j->req.reg.list.len;
    acct.version = list.version;
    j->wrote = 1;
    err = pq3d_store_account_create(s, j->handle, j->handle_len, &acct);
    if (err == PQ3_ERR_STATE) {
        pq3d_job_fail(j, PQ3_ST_CONFLICT, "the handle is taken");
        return PQ3_OK;
    }
    if (err != PQ3_OK)
        return err;
    err = pq3d_store_device_put_cert(s, j->handle, j->handle_len, j->device_id, j->cert,
                                     j->cert_len, 1);
    if (err != PQ3_OK)
        return err;
    /* Logged from the next epoch; promised until then (TRANSPARENCY.md §4). */
    err = pq3d_kt_accept(kt, s, j->handle, j->handle_len, acct.account_pub, acct.list,
                         acct.list_len, acct.version, j->now);
    if (err != PQ3_OK)
        return err;
    j->state = PQ3_WIRE_LISTED;
    j->list_version = list.version;
    return PQ3_OK;
}

pq3_err pq3d_do_publish(pq3d_store *s, const pq3d_config *cfg, pq3d_kt *kt, pq3d_job *j)
{
    const pq3_wire_publish *p = &j->req.pub;
    pq3d_account acct;
    pq3_device_list list, old;
    pq3d_device_row *row;
    char hx[2 * PQ3_DEVICE_ID_BYTES + 1];
    int given[PQ3_ACCOUNT_MAX_DEVICES];
    pq3_err err;
    (void)cfg;

    err = pq3d_store_account_get(s, j->handle, j->handle_len, &acct);
    if (err == PQ3_ERR_UNKNOWN) {
        pq3d_job_fail(j, PQ3_ST_NOT_FOUND, "the handle is not registered");
        return PQ3_OK;
    }
    if (err != PQ3_OK)
        return err;
    if (memcmp(acct.account_pub, j->account_pub, PQ3_ECDSA_PUB_BYTES) != 0) {
        pq3d_job_fail(j, PQ3_ST_FORBIDDEN, "this handle is registered under another account key");
        return PQ3_OK;
    }
    if (pq3_device_list_verify(&list, p->list.p, p->list.len, acct.account_pub) != PQ3_OK) {
        pq3d_job_fail(j, PQ3_ST_INVALID, "the device list does not verify under the account key");
        return PQ3_OK;
    }
    if (!same_handle(&list, j)) {
        pq3d_job_fail(j, PQ3_ST_INVALID, "the device list is for another handle");
        return PQ3_OK;
    }
    if (list.version <= acct.version) {
        pq3d_job_fail(j, PQ3_ST_CONFLICT, "the device list is not newer (version %llu, current %llu)",
                      (unsigned long long)list.version, (unsigned long long)acct.version);
        return PQ3_OK;
    }
    if (find_device(&list, j->device_id, j->auth_pub) < 0) {
        pq3d_job_fail(j, PQ3_ST_FORBIDDEN, "the device list does not name the publishing device");
        return PQ3_OK;
    }
    /* Certificates given: each for a device of the list, with its key. */
    memset(given, -1, sizeof given);
    for (uint32_t i = 0; i < p->n_certs; i++) {
        pq3_device_cert c;
        int k;
        if (pq3_cert_verify(&c, p->certs[i].p, p->certs[i].len, acct.account_pub, j->now) !=
                PQ3_OK ||
            c.handle_len != j->handle_len || memcmp(c.handle, j->handle, j->handle_len) != 0 ||
            (k = find_device(&list, c.device_id, c.auth_pub)) < 0) {
            pq3d_job_fail(j, PQ3_ST_INVALID, "certificate %u does not verify for a listed device", i);
            return PQ3_OK;
        }
        given[k] = (int)i;
    }
    row = malloc(sizeof *row);
    if (row == NULL) {
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "out of memory");
        return PQ3_OK;
    }
    /* Every listed device needs a certificate (given or held) with its key. */
    for (uint32_t i = 0; i < list.count; i++) {
        pq3_device_cert c;
        const uint8_t *id = list.devices[i].device_id;
        if (given[i] >= 0)
            continue;
        err = pq3d_store_device_get(s, j->handle, j->handle_len, id, row);
        if (err == PQ3_ERR_UNKNOWN || (err == PQ3_OK && (pq3_cert_decode(&c, row->cert,
                                                                        row->cert_len) != PQ3_OK ||
                                                         memcmp(c.auth_pub, list.devices[i].auth_pub,
                                                                PQ3_ECDSA_PUB_BYTES) != 0))) {
            hexid(hx, id);
            pq3d_job_fail(j, PQ3_ST_INVALID, "no certificate for listed device %s", hx);
            free(row);
            return PQ3_OK;
        }
        if (err != PQ3_OK) {
            free(row);
            return err;
        }
    }
    free(row);
    j->wrote = 1;
    err = pq3d_store_account_set_list(s, j->handle, j->handle_len, p->list.p, p->list.len,
                                      list.version, acct.version);
    if (err == PQ3_ERR_STATE) {
        pq3d_job_fail(j, PQ3_ST_CONFLICT, "the device list changed meanwhile");
        return PQ3_OK;
    }
    if (err != PQ3_OK)
        return err;
    err = pq3d_kt_accept(kt, s, j->handle, j->handle_len, acct.account_pub, p->list.p,
                         p->list.len, list.version, j->now);
    if (err != PQ3_OK)
        return err;
    for (uint32_t i = 0; i < list.count; i++) {
        const uint8_t *id = list.devices[i].device_id;
        if (given[i] >= 0)
            err = pq3d_store_device_put_cert(s, j->handle, j->handle_len, id,
                                             p->certs[given[i]].p, p->certs[given[i]].len, 1);
        else
            err = pq3d_store_device_set_listed(s, j->handle, j->handle_len, id, 1);
        if (err != PQ3_OK)
            return err;
    }
    /* Devices of the old list that the new one drops: gone with their queue. */
    j->n_removed = 0;
    if (pq3_device_list_decode(&old, acct.list, acct.list_len) == PQ3_OK) {
        for (uint32_t i = 0; i < old.count; i++) {
            const uint8_t *id = old.devices[i].device_id;
            if (find_device(&list, id, old.devices[i].auth_pub) >= 0)
                continue;                       /* still listed with its key */
            if (find_device(&list, id, NULL) < 0) {
                err = pq3d_store_device_delete(s, j->handle, j->handle_len, id);
                if (err != PQ3_OK)
                    return err;
            }
            memcpy(j->removed[j->n_removed++], id, PQ3_DEVICE_ID_BYTES);
        }
    }
    j->state = PQ3_WIRE_LISTED;
    j->list_version = list.version;
    return PQ3_OK;
}

pq3_err pq3d_do_bundle(pq3d_store *s, const pq3d_config *cfg, pq3d_job *j)
{
    pq3d_device_row *row = malloc(sizeof *row);
    pq3_device_cert cert;
    pq3_prekey_bundle b;
    pq3_err err;
    (void)cfg;

    if (row == NULL) {
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "out of memory");
        return PQ3_OK;
    }
    err = pq3d_store_device_get(s, j->handle, j->handle_len, j->device_id, row);
    if (err == PQ3_ERR_UNKNOWN || (err == PQ3_OK && !row->listed)) {
        pq3d_job_fail(j, PQ3_ST_FORBIDDEN, "the device is not listed");
        goto out;
    }
    if (err != PQ3_OK)
        goto out;
    /* The certificate was verified when it was stored; decode + verify again
     * gives the key the bundle check needs. */
    if (pq3_cert_verify(&cert, row->cert, row->cert_len, j->account_pub, j->now) != PQ3_OK) {
        pq3d_job_fail(j, PQ3_ST_EXPIRED, "the device certificate is no longer valid");
        goto out;
    }
    err = pq3_prekey_verify(&b, j->req.bundle.bundle.p, j->req.bundle.bundle.len, &cert, j->now);
    if (err != PQ3_OK) {
        pq3d_job_fail(j, err == PQ3_ERR_EXPIRED ? PQ3_ST_EXPIRED : PQ3_ST_INVALID,
                      "the prekey bundle does not verify: %s", pq3_strerror(err));
        err = PQ3_OK;
        goto out;
    }
    if (row->bundle_len > 0 && b.created < row->bundle_created) {
        pq3d_job_fail(j, PQ3_ST_CONFLICT, "a newer bundle is held");
        goto out;
    }
    j->wrote = 1;
    err = pq3d_store_device_put_bundle(s, j->handle, j->handle_len, j->device_id,
                                       j->req.bundle.bundle.p, j->req.bundle.bundle.len,
                                       b.created);
out:
    free(row);
    return err;
}

pq3_err pq3d_do_lookup(pq3d_store *s, const pq3d_config *cfg, pq3d_kt *kt, pq3d_job *j)
{
    const pq3_wire_lookup *q = &j->req.lookup;
    pq3d_account acct;
    pq3_device_list list;
    pq3_wire_lookup_result res;
    pq3d_device_row *rows;
    pq3_err err;
    (void)cfg;

    err = pq3d_store_account_get(s, q->handle.p, q->handle.len, &acct);
    if (err == PQ3_ERR_UNKNOWN) {
        pq3d_job_fail(j, PQ3_ST_NOT_FOUND, "no such handle");
        return PQ3_OK;
    }
    if (err != PQ3_OK)
        return err;
    if (pq3_device_list_decode(&list, acct.list, acct.list_len) != PQ3_OK) {
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "the stored device list does not decode");
        return PQ3_OK;
    }
    rows = calloc(list.count, sizeof *rows);
    if (rows == NULL) {
        pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "out of memory");
        return PQ3_OK;
    }
    memset(&res, 0, sizeof res);
    memcpy(res.account_pub, acct.account_pub, PQ3_ECDSA_PUB_BYTES);
    res.list.p = acct.list;
    res.list.len = acct.list_len;
    res.count = list.count;
    for (uint32_t i = 0; i < list.count; i++) {
        err = pq3d_store_device_get(s, q->handle.p, q->handle.len, list.devices[i].device_id,
                                    &rows[i]);
        if (err != PQ3_OK) {
            free(rows);
            if (err == PQ3_ERR_UNKNOWN) {
                pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "a listed device has no record");
                return PQ3_OK;
            }
            return err;
        }
        res.certs[i].p = rows[i].cert;
        res.certs[i].len = rows[i].cert_len;
        res.bundles[i].p = rows[i].bundle;
        res.bundles[i].len = rows[i].bundle_len;
    }
    /* The transparency proof of the record returned (TRANSPARENCY.md
     * §5.1); empty only while the log has no epoch yet. */
    {
        uint8_t *proof = NULL;
        size_t proof_len = 0;
        err = pq3d_kt_prove(kt, s, q->handle.p, q->handle.len, acct.version, q->pinned, &proof,
                            &proof_len);
        if (err != PQ3_OK && err != PQ3_ERR_UNKNOWN) {
            free(rows);
            if (err == PQ3_ERR_IO)
                return err;
            pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "the transparency proof failed (%s)",
                          pq3_strerror(err));
            return PQ3_OK;
        }
        if (proof_len > PQ3_WIRE_MAX_PROOF) {
            free(rows);
            free(proof);
            pq3d_job_fail(j, PQ3_ST_UNAVAILABLE, "the transparency proof is too large");
            return PQ3_OK;
        }
        res.proof.p = proof;
        res.proof.len = proof_len;
        set_result(j, 2 + PQ3_DEVICE_LIST_MAX_BYTES + 64 + 2 + proof_len +
                          list.count * (4 + PQ3_CERT_MAX_BYTES + PQ3_PREKEY_BUNDLE_BYTES),
                   enc_lookup_result, &res);
        free(proof);
    }
    free(rows);
    return PQ3_OK;
}
