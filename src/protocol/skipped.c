/*
 * The skipped-key store (docs/PROTOCOL.md §13.1, §13.2) and the replay
 * cache of session starts (§10.4): flat, caller-owned, bounded lists with
 * strict serializations.
 *
 * An open never copies the store: it writes the keys it derives into the
 * unused tail (positions count..count+n, all zero by invariant) and the
 * commit step only raises count and erases what was used or expired; a
 * failed open wipes the tail it wrote, which restores the zeros. The tail
 * always has room: count <= max_keys <= PQ3_SKIPPED_CAP / 2 after every
 * commit (the commit evicts the oldest keys beyond max_keys), and one
 * message adds at most max_keys.
 *
 * Entries stay in the order they were stored (removal shifts the rest
 * down), so among keys stored at the same `now` the first is the oldest.
 */
#include "protocol/skipped.h"

#include <string.h>

#include "pq3/crypto.h"
#include "protocol/codec.h"

static const uint8_t zero_tag[PQ3_SKIPPED_TAG_BYTES];

/* A key belongs to the session with this tag, or to any session when it
 * was loaded from format 1 (zero tag). Public data: plain compares. */
static int owned(const pq3_skipped_key *e, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES])
{
    return memcmp(e->session, tag, PQ3_SKIPPED_TAG_BYTES) == 0 ||
           memcmp(e->session, zero_tag, PQ3_SKIPPED_TAG_BYTES) == 0;
}

static int bounds_ok(uint32_t max_jump, uint32_t max_keys, uint64_t max_age)
{
    return max_keys >= 1 && max_keys <= PQ3_SKIPPED_MAX_KEYS && max_jump >= 1 &&
           max_jump <= max_keys && max_age >= 1;
}

pq3_err pq3_skipped_init(pq3_skipped *sk, uint32_t max_jump, uint32_t max_keys, uint64_t max_age)
{
    if (sk == NULL || !bounds_ok(max_jump, max_keys, max_age))
        return PQ3_ERR_ARG;
    pq3_wipe(sk, sizeof *sk);
    sk->max_jump = max_jump;
    sk->max_keys = max_keys;
    sk->max_age = max_age;
    return PQ3_OK;
}

void pq3_skipped_init_default(pq3_skipped *sk)
{
    if (sk != NULL && pq3_skipped_init(sk, PQ3_SKIPPED_DEFAULT_JUMP, PQ3_SKIPPED_DEFAULT_KEYS,
                                       PQ3_SKIPPED_DEFAULT_AGE) != PQ3_OK)
        pq3_wipe(sk, sizeof *sk); /* unreachable: the defaults are in range */
}

void pq3_skipped_wipe(pq3_skipped *sk)
{
    if (sk != NULL)
        pq3_wipe(sk, sizeof *sk);
}

/* §13.1: a key is expired when now - time >= max_age (a clock that went
 * back counts as age 0). */
int pq3_skipped_expired(const pq3_skipped *sk, const pq3_skipped_key *e, uint64_t now)
{
    uint64_t age = now > e->time ? now - e->time : 0;
    return age >= sk->max_age;
}

uint32_t pq3_skipped_live(const pq3_skipped *sk, uint64_t now)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < sk->count; i++)
        n += !pq3_skipped_expired(sk, &sk->keys[i], now);
    return n;
}

/* Lookup by (session, ratchet key, index): public data, an ordinary search. */
static long find(const pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                 const uint8_t rk[32], uint32_t index)
{
    if (sk == NULL)
        return -1;
    for (uint32_t i = 0; i < sk->count; i++)
        if (sk->keys[i].index == index && memcmp(sk->keys[i].ratchet_key, rk, 32) == 0 &&
            owned(&sk->keys[i], tag))
            return (long)i;
    return -1;
}

int pq3_skipped_has_chain(const pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                          const uint8_t rk[32])
{
    return pq3_skipped_count_chain(sk, tag, rk) > 0;
}

uint32_t pq3_skipped_count_chain(const pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                                 const uint8_t rk[32])
{
    uint32_t n = 0;
    if (sk == NULL)
        return 0;
    for (uint32_t i = 0; i < sk->count; i++)
        n += memcmp(sk->keys[i].ratchet_key, rk, 32) == 0 && owned(&sk->keys[i], tag);
    return n;
}

pq3_err pq3_skipped_plan_new(const pq3_skipped *sk, uint32_t n, uint32_t *keep)
{
    /* An index beyond the walk bound would make us derive unboundedly many
     * keys. A new chain is never refused for a gap the walk covers: our
     * sending chain goes on until the peer's next chain is opened, so
     * refusing would wedge the session. */
    *keep = 0;
    if (n > 0 && (sk == NULL || n > PQ3_SKIPPED_MAX_WALK))
        return PQ3_ERR_LIMIT;
    if (n > 0)
        *keep = n < sk->max_jump ? n : sk->max_jump;
    return PQ3_OK;
}

pq3_err pq3_skipped_derive(pq3_kdf *k, pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                           uint8_t ck[32], const uint8_t rk[32], uint32_t from, uint32_t to,
                           uint32_t keep, uint32_t *added, uint64_t now)
{
    uint8_t lost[32];
    pq3_err err = PQ3_OK;
    for (uint32_t i = from; i < to; i++) {
        pq3_skipped_key *e;
        if (to - i > keep) {
            /* an older key beyond the bound: derived only to advance ck */
            if ((err = pq3_kdf_chain(k, lost, ck)) != PQ3_OK)
                break;
            continue;
        }
        e = &sk->keys[sk->count + *added];
        (*added)++; /* counted first: a failure below still gets wiped */
        if ((err = pq3_kdf_chain(k, e->mk, ck)) != PQ3_OK)
            break;
        memcpy(e->session, tag, PQ3_SKIPPED_TAG_BYTES);
        memcpy(e->ratchet_key, rk, 32);
        e->index = i;
        e->time = now;
    }
    pq3_wipe(lost, sizeof lost);
    return err;
}

pq3_err pq3_skipped_take(const pq3_skipped *sk, const uint8_t tag[PQ3_SKIPPED_TAG_BYTES],
                         const uint8_t rk[32], uint32_t index, uint64_t now, uint8_t mk[32],
                         long *used)
{
    /* The search is on public data; the key is copied from the slot it
     * names. */
    long i = find(sk, tag, rk, index);
    if (i < 0)
        return PQ3_ERR_REPLAY;
    if (pq3_skipped_expired(sk, &sk->keys[i], now))
        return PQ3_ERR_EXPIRED;
    memcpy(mk, sk->keys[i].mk, 32);
    *used = i;
    return PQ3_OK;
}

static void remove_at(pq3_skipped *sk, uint32_t i)
{
    uint32_t last = sk->count - 1;
    if (i != last)
        memmove(&sk->keys[i], &sk->keys[i + 1], (size_t)(last - i) * sizeof sk->keys[0]);
    pq3_wipe(&sk->keys[last], sizeof sk->keys[last]);
    sk->count = last;
}

/* §13.1: the oldest key (smallest time; the first stored among equal
 * times). */
static uint32_t oldest(const pq3_skipped *sk)
{
    uint32_t o = 0;
    for (uint32_t i = 1; i < sk->count; i++)
        if (sk->keys[i].time < sk->keys[o].time)
            o = i;
    return o;
}

static uint32_t expire(pq3_skipped *sk, uint64_t now)
{
    uint32_t n = 0, i = 0;
    while (i < sk->count) {
        if (pq3_skipped_expired(sk, &sk->keys[i], now)) {
            remove_at(sk, i);
            n++;
        } else {
            i++;
        }
    }
    return n;
}

pq3_err pq3_skipped_expire(pq3_skipped *sk, uint64_t now, uint32_t *erased)
{
    uint32_t n;
    if (sk == NULL)
        return PQ3_ERR_ARG;
    n = expire(sk, now);
    if (n > 0)
        sk->generation++;
    if (erased != NULL)
        *erased = n;
    return PQ3_OK;
}

uint32_t pq3_skipped_commit(pq3_skipped *sk, uint32_t added, long used, uint64_t now)
{
    uint32_t evicted = 0, expired;
    sk->count += added;
    if (used >= 0)
        remove_at(sk, (uint32_t)used);
    expired = expire(sk, now);
    /* §13.1: over max_keys, the oldest keys go (their messages are lost)
     * rather than the session refusing every later gap. */
    while (sk->count > sk->max_keys) {
        remove_at(sk, oldest(sk));
        evicted++;
    }
    if (added > 0 || used >= 0 || expired > 0)
        sk->generation++;
    return evicted;
}

uint32_t pq3_skipped_filter(pq3_skipped *sk, int (*keep)(const void *ctx, const pq3_skipped_key *e),
                            const void *ctx)
{
    uint32_t kept = 0, old = sk->count;
    for (uint32_t i = 0; i < old; i++) {
        if (!keep(ctx, &sk->keys[i]))
            continue;
        if (kept != i)
            memcpy(&sk->keys[kept], &sk->keys[i], sizeof sk->keys[0]);
        kept++;
    }
    if (kept < old) {
        pq3_wipe(&sk->keys[kept], (size_t)(old - kept) * sizeof sk->keys[0]);
        sk->generation++;
    }
    sk->count = kept;
    return old - kept;
}

void pq3_skipped_rollback(pq3_skipped *sk, uint32_t added)
{
    if (sk != NULL && added > 0)
        pq3_wipe(&sk->keys[sk->count], added * sizeof sk->keys[0]);
}

/* ---- serialization (§13.2) ----------------------------------------------- */

size_t pq3_skipped_size(const pq3_skipped *sk)
{
    if (sk == NULL)
        return 0;
    return PQ3_SKIPPED_HEADER_BYTES + (size_t)sk->count * PQ3_SKIPPED_ENTRY_BYTES;
}

pq3_err pq3_skipped_serialize(const pq3_skipped *sk, uint8_t *out, size_t cap, size_t *out_len)
{
    pq3_writer w;
    size_t len = 0;
    pq3_err err;

    if (sk == NULL || out_len == NULL || (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    if (!bounds_ok(sk->max_jump, sk->max_keys, sk->max_age) || sk->count > sk->max_keys)
        return PQ3_ERR_STATE;
    /* §13.2, format 2 */
    pq3_writer_init(&w, out, cap);
    pq3_write_u8(&w, PQ3_SKIPPED_FORMAT_VERSION);
    pq3_write_u8(&w, PQ3_TYPE_SKIPPED);
    pq3_write_u32(&w, sk->max_jump);
    pq3_write_u32(&w, sk->max_keys);
    pq3_write_u64(&w, sk->max_age);
    pq3_write_u32(&w, sk->count);
    pq3_write_u32(&w, 0); /* reserved */
    pq3_write_u64(&w, sk->generation);
    for (uint32_t i = 0; i < sk->count; i++) {
        const pq3_skipped_key *e = &sk->keys[i];
        pq3_write_bytes(&w, e->session, PQ3_SKIPPED_TAG_BYTES);
        pq3_write_bytes(&w, e->ratchet_key, 32);
        pq3_write_u32(&w, e->index);
        pq3_write_u64(&w, e->time);
        pq3_write_bytes(&w, e->mk, 32);
    }
    err = pq3_writer_end(&w, &len);
    *out_len = len;
    if (err != PQ3_OK && out != NULL)
        pq3_wipe(out, cap);
    return err;
}

/* Format 1 (§13.2, previous): no generation, entries without a session tag. */
#define V1_HEADER_BYTES 26
#define V1_ENTRY_BYTES 76

static pq3_err load(pq3_skipped *sk, const uint8_t *in, size_t len, int over,
                    const uint64_t *generation);

pq3_err pq3_skipped_deserialize(pq3_skipped *sk, const uint8_t *in, size_t len)
{
    return load(sk, in, len, 0, NULL);
}

pq3_err pq3_skipped_load_over(pq3_skipped *sk, const uint8_t *in, size_t len,
                              const uint64_t *generation)
{
    if (sk == NULL || sk->count > PQ3_SKIPPED_CAP)
        return PQ3_ERR_ARG;
    return load(sk, in, len, 1, generation);
}

/* over: *sk is a valid store (entries from count on are zero), so only the
 * entries the new contents do not overwrite need wiping, not all 2048.
 * generation (may be NULL): the record must be of the current format and
 * hold exactly this generation (§10.7). */
static pq3_err load(pq3_skipped *sk, const uint8_t *in, size_t len, int over,
                    const uint64_t *generation)
{
    pq3_reader r;
    uint32_t max_jump, max_keys, count;
    uint64_t max_age, generation_read = 0;
    size_t header, entry, id_len;
    int v1;
    pq3_err err;

    if (sk == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if (len < 2)
        return PQ3_ERR_DECODE;
    if ((in[0] != PQ3_SKIPPED_FORMAT_VERSION && in[0] != 1) || in[1] != PQ3_TYPE_SKIPPED)
        return PQ3_ERR_VERSION;
    v1 = in[0] == 1;
    if (v1 && generation != NULL)
        return PQ3_ERR_VERSION;
    header = v1 ? V1_HEADER_BYTES : PQ3_SKIPPED_HEADER_BYTES;
    entry = v1 ? V1_ENTRY_BYTES : PQ3_SKIPPED_ENTRY_BYTES;
    pq3_reader_init(&r, in + 2, len - 2);
    max_jump = pq3_read_u32(&r);
    max_keys = pq3_read_u32(&r);
    max_age = pq3_read_u64(&r);
    count = pq3_read_u32(&r);
    if (pq3_read_u32(&r) != 0)
        pq3_reader_fail(&r, PQ3_ERR_DECODE);
    if (!v1)
        generation_read = pq3_read_u64(&r);
    if (r.err != PQ3_OK)
        return r.err;
    if (generation != NULL && *generation != generation_read)
        return PQ3_ERR_DECODE; /* a stale or newer record */
    if (!bounds_ok(max_jump, max_keys, max_age))
        return PQ3_ERR_DECODE;
    if (count > max_keys)
        return PQ3_ERR_LIMIT;
    /* The exact length is known now: check it before touching *sk. */
    if (len != header + (size_t)count * entry)
        return PQ3_ERR_DECODE;
    /* Duplicates (session tag, ratchet key, index) are checked on the
     * input bytes, so *sk is written only when everything is valid. */
    id_len = v1 ? 36 : PQ3_SKIPPED_TAG_BYTES + 36;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *a = in + header + (size_t)i * entry;
        for (uint32_t j = i + 1; j < count; j++) {
            const uint8_t *b = in + header + (size_t)j * entry;
            if (memcmp(a, b, id_len) == 0) /* public data */
                return PQ3_ERR_DECODE;
        }
    }
    if (over) {
        if (sk->count > count)
            pq3_wipe(&sk->keys[count], (size_t)(sk->count - count) * sizeof sk->keys[0]);
        memset(sk->keys, 0, (size_t)count * sizeof sk->keys[0]); /* overwritten below */
        sk->reserved = 0;
    } else {
        pq3_wipe(sk, sizeof *sk);
    }
    sk->max_jump = max_jump;
    sk->max_keys = max_keys;
    sk->max_age = max_age;
    sk->count = count;
    sk->generation = generation_read;
    for (uint32_t i = 0; i < count; i++) {
        pq3_skipped_key *e = &sk->keys[i];
        if (!v1)
            pq3_read_bytes(&r, e->session, PQ3_SKIPPED_TAG_BYTES);
        pq3_read_bytes(&r, e->ratchet_key, 32);
        e->index = pq3_read_u32(&r);
        e->time = pq3_read_u64(&r);
        pq3_read_bytes(&r, e->mk, 32);
    }
    err = pq3_reader_end(&r);
    if (err != PQ3_OK) /* cannot happen: the length was checked */
        pq3_wipe(sk, sizeof *sk);
    return err;
}

/* ---- replay cache of session starts (§10.4) ------------------------------- */

pq3_err pq3_start_cache_init(pq3_start_cache *c, const uint8_t prekey_hash[PQ3_PREKEY_HASH_BYTES],
                             uint32_t max)
{
    if (c == NULL || prekey_hash == NULL || max == 0 || max > PQ3_START_CACHE_CAP)
        return PQ3_ERR_ARG;
    memset(c, 0, sizeof *c);
    memcpy(c->prekey_hash, prekey_hash, PQ3_PREKEY_HASH_BYTES);
    c->max = max;
    return PQ3_OK;
}

int pq3_start_cache_has(const pq3_start_cache *c, const uint8_t digest[48])
{
    for (uint32_t i = 0; i < c->count; i++)
        if (memcmp(c->entries[i], digest, 48) == 0) /* public data */
            return 1;
    return 0;
}

#define CACHE_HEADER_BYTES (2 + PQ3_PREKEY_HASH_BYTES + 4 + 4)

size_t pq3_start_cache_size(const pq3_start_cache *c)
{
    return c == NULL ? 0 : CACHE_HEADER_BYTES + (size_t)c->count * 48;
}

pq3_err pq3_start_cache_serialize(const pq3_start_cache *c, uint8_t *out, size_t cap,
                                  size_t *out_len)
{
    pq3_writer w;
    size_t len = 0;
    pq3_err err;

    if (c == NULL || out_len == NULL || (out == NULL && cap > 0))
        return PQ3_ERR_ARG;
    if (c->max == 0 || c->max > PQ3_START_CACHE_CAP || c->count > c->max)
        return PQ3_ERR_STATE;
    pq3_writer_init(&w, out, cap);
    pq3_write_u8(&w, PQ3_FORMAT_VERSION);
    pq3_write_u8(&w, PQ3_TYPE_START_CACHE);
    pq3_write_bytes(&w, c->prekey_hash, PQ3_PREKEY_HASH_BYTES);
    pq3_write_u32(&w, c->max);
    pq3_write_u32(&w, c->count);
    for (uint32_t i = 0; i < c->count; i++)
        pq3_write_bytes(&w, c->entries[i], 48);
    err = pq3_writer_end(&w, &len);
    *out_len = len;
    if (err != PQ3_OK && out != NULL)
        pq3_wipe(out, cap);
    return err;
}

pq3_err pq3_start_cache_deserialize(pq3_start_cache *c, const uint8_t *in, size_t len)
{
    pq3_reader r;
    uint32_t max, count;
    const uint8_t *hash, *ent;

    if (c == NULL || (in == NULL && len > 0))
        return PQ3_ERR_ARG;
    if (len < 2)
        return PQ3_ERR_DECODE;
    if (in[0] != PQ3_FORMAT_VERSION || in[1] != PQ3_TYPE_START_CACHE)
        return PQ3_ERR_VERSION;
    pq3_reader_init(&r, in + 2, len - 2);
    hash = pq3_read_ref(&r, PQ3_PREKEY_HASH_BYTES);
    max = pq3_read_u32(&r);
    count = pq3_read_u32(&r);
    if (r.err != PQ3_OK)
        return r.err;
    if (max == 0 || max > PQ3_START_CACHE_CAP)
        return PQ3_ERR_DECODE;
    if (count > max)
        return PQ3_ERR_LIMIT;
    if (len != CACHE_HEADER_BYTES + (size_t)count * 48)
        return PQ3_ERR_DECODE;
    ent = in + CACHE_HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t j = i + 1; j < count; j++)
            if (memcmp(ent + (size_t)i * 48, ent + (size_t)j * 48, 48) == 0) /* public data */
                return PQ3_ERR_DECODE;
    memset(c, 0, sizeof *c);
    memcpy(c->prekey_hash, hash, PQ3_PREKEY_HASH_BYTES);
    c->max = max;
    c->count = count;
    if (count > 0)
        memcpy(c->entries, ent, (size_t)count * 48);
    return PQ3_OK;
}
