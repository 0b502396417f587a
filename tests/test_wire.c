/* pq3d's wire codec (docs/SERVER.md §2-§6; src/wire/wire.c): byte-exact
 * layouts written out by hand, round trips, every truncation and a trailing
 * byte for every decoder, bounds, and the authentication signature. */
#include <string.h>

#include "pq3/wire.h"
#include "protocol_fixture.h"

static uint8_t big[PQ3_WIRE_MAX_FRAME];

/* Every strict prefix and one trailing byte fail with DECODE; the whole
 * decodes. `dec` decodes into a scratch struct that must stay untouched. */
typedef pq3_err (*decoder)(void *v, const uint8_t *in, size_t len);

static void strictness(const char *name, decoder dec, size_t vsize, const uint8_t *enc,
                       size_t len)
{
    static uint8_t v[sizeof(pq3_wire_ack) + sizeof(pq3_wire_send)], ref[sizeof v];
    unsigned bad = 0;
    memset(v, 0xa5, vsize);
    memcpy(ref, v, vsize);
    for (size_t k = 0; k < len; k++)
        if (dec(v, enc, k) != PQ3_ERR_DECODE || memcmp(v, ref, vsize) != 0)
            bad++;
    memcpy(big, enc, len);
    big[len] = 0;
    if (dec(v, big, len + 1) != PQ3_ERR_DECODE || memcmp(v, ref, vsize) != 0)
        bad++;
    CHECKF(bad == 0, "%s: %u truncations or the trailing byte not refused", name, bad);
    CHECKF(dec(v, enc, len) == PQ3_OK, "%s does not decode", name);
}

/* One adapter per decoder (a cast between function pointer types would
 * be undefined to call). */
#define WRAP(name)                                                             \
    static pq3_err dec_##name(void *v, const uint8_t *in, size_t len)          \
    {                                                                          \
        return pq3_wire_##name##_decode(v, in, len);                           \
    }
WRAP(ack) WRAP(send) WRAP(send_result) WRAP(register) WRAP(publish) WRAP(put_bundle)
WRAP(lookup) WRAP(lookup_result) WRAP(auth_result) WRAP(deliver) WRAP(goodbye)
WRAP(challenge) WRAP(auth)
#define DEC(name) dec_##name

static void test_header(void)
{
    uint8_t h[PQ3_WIRE_HEADER_BYTES], type;
    uint32_t id, body;
    static const uint8_t want[9] = { 0, 0, 0, 8, 0x06, 0xde, 0xad, 0xbe, 0xef };
    CHECK_OK(pq3_wire_header_encode(h, PQ3_WIRE_SEND, 0xdeadbeef, 3));
    CHECK(memcmp(h, want, 9) == 0);
    CHECK_OK(pq3_wire_header_decode(h, PQ3_WIRE_MAX_FRAME, &type, &id, &body));
    CHECK(type == PQ3_WIRE_SEND && id == 0xdeadbeef && body == 3);
    CHECK_ERR(pq3_wire_header_encode(h, 1, 1, PQ3_WIRE_MAX_FRAME - 4), PQ3_ERR_ARG);
    CHECK_OK(pq3_wire_header_encode(h, 1, 1, PQ3_WIRE_MAX_FRAME - 5));
    CHECK_OK(pq3_wire_header_decode(h, PQ3_WIRE_MAX_FRAME, &type, &id, &body));
    CHECK_ERR(pq3_wire_header_decode(h, PQ3_WIRE_MAX_FRAME - 1, &type, &id, &body),
              PQ3_ERR_LIMIT);
    memcpy(h, "\xff\xff\xff\xff\x01\x00\x00\x00\x01", 9);
    type = 0x77;
    CHECK_ERR(pq3_wire_header_decode(h, PQ3_WIRE_MAX_FRAME, &type, &id, &body), PQ3_ERR_LIMIT);
    CHECK(type == 0x77);
    for (uint8_t l = 0; l < 5; l++) {
        memcpy(h, "\x00\x00\x00\x00\x01\x00\x00\x00\x01", 9);
        h[3] = l;
        CHECK_ERR(pq3_wire_header_decode(h, PQ3_WIRE_MAX_FRAME, &type, &id, &body),
                  PQ3_ERR_DECODE);
    }
    h[3] = 5;
    CHECK_OK(pq3_wire_header_decode(h, PQ3_WIRE_MAX_FRAME_PREAUTH, &type, &id, &body));
    CHECK(body == 0);
    CHECK(pq3_wire_is_request(PQ3_WIRE_AUTH) && pq3_wire_is_request(PQ3_WIRE_ACK) &&
          pq3_wire_is_request(PQ3_WIRE_PING) && !pq3_wire_is_request(0x08) &&
          !pq3_wire_is_request(0) && !pq3_wire_is_request(PQ3_WIRE_DELIVER));
    CHECK(strcmp(pq3_wire_status_name(PQ3_ST_QUEUE_FULL), "QUEUE_FULL") == 0);
    CHECK(strcmp(pq3_wire_status_name(999), "UNKNOWN") == 0);
}

static void test_ack(void)
{
    pq3_wire_ack a, b;
    uint8_t out[64];
    size_t len;
    static const uint8_t want[] = { 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0x02, 0x03, 0x04,
                                    0x05, 0x06, 0x07, 0x08 };
    a.count = 2;
    a.ids[0] = 1;
    a.ids[1] = 0x0102030405060708u;
    CHECK_OK(pq3_wire_ack_encode(out, sizeof out, &len, &a));
    CHECK(len == sizeof want && memcmp(out, want, len) == 0);
    CHECK_ERR(pq3_wire_ack_encode(out, 4, &len, &a), PQ3_ERR_BUFFER);
    CHECK(len == sizeof want);
    CHECK_OK(pq3_wire_ack_decode(&b, out, sizeof want));
    CHECK(b.count == 2 && b.ids[1] == a.ids[1]);
    strictness("ack", DEC(ack), sizeof b, want, sizeof want);
    a.ids[0] = 0;
    CHECK_ERR(pq3_wire_ack_encode(out, sizeof out, &len, &a), PQ3_ERR_ARG);
    out[9] = 0;                                   /* id 0 on the wire */
    CHECK_ERR(pq3_wire_ack_decode(&b, out, sizeof want), PQ3_ERR_DECODE);
    a.count = 0;
    CHECK_ERR(pq3_wire_ack_encode(out, sizeof out, &len, &a), PQ3_ERR_ARG);
    CHECK_ERR(pq3_wire_ack_decode(&b, (const uint8_t *)"\x00\x00", 2), PQ3_ERR_DECODE);
    /* The maximum, and one over it. */
    a.count = PQ3_WIRE_MAX_ACK;
    for (unsigned i = 0; i < PQ3_WIRE_MAX_ACK; i++)
        a.ids[i] = i + 1;
    CHECK_OK(pq3_wire_ack_encode(big, sizeof big, &len, &a));
    CHECK_OK(pq3_wire_ack_decode(&b, big, len));
    a.count = PQ3_WIRE_MAX_ACK + 1;
    CHECK_ERR(pq3_wire_ack_encode(big, sizeof big, &len, &a), PQ3_ERR_ARG);
    big[0] = (uint8_t)((PQ3_WIRE_MAX_ACK + 1) >> 8);
    big[1] = (uint8_t)(PQ3_WIRE_MAX_ACK + 1);
    memset(big + 2 + 8 * PQ3_WIRE_MAX_ACK, 1, 8);
    CHECK_ERR(pq3_wire_ack_decode(&b, big, 2 + 8 * (PQ3_WIRE_MAX_ACK + 1)), PQ3_ERR_DECODE);
}

static void test_send(void)
{
    pq3_wire_send s, t;
    pq3_wire_send_result r, q;
    uint8_t out[1024];
    size_t len;
    static const uint8_t msg[5] = { 'h', 'e', 'l', 'l', 'o' };
    memset(&s, 0, sizeof s);
    s.count = 1;
    s.env[0].to_handle.p = (const uint8_t *)"bob";
    s.env[0].to_handle.len = 3;
    memset(s.env[0].to_device, 0x11, 16);
    memset(s.env[0].msg_id, 0x22, 16);
    s.env[0].msg.p = msg;
    s.env[0].msg.len = sizeof msg;
    CHECK_OK(pq3_wire_send_encode(out, sizeof out, &len, &s));
    CHECK(len == 2 + 2 + 3 + 16 + 16 + 4 + 5);
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 0 && out[3] == 3 && memcmp(out + 4, "bob", 3) == 0);
    CHECK(out[7] == 0x11 && out[23] == 0x22 && out[39] == 0 && out[42] == 5);
    CHECK_OK(pq3_wire_send_decode(&t, out, len));
    CHECK(t.count == 1 && t.env[0].msg.len == 5 && memcmp(t.env[0].msg.p, "hello", 5) == 0 &&
          t.env[0].to_handle.len == 3);
    strictness("send", DEC(send), sizeof t, out, len);
    /* Bounds: empty handle, empty and oversized message, count 0 and 65. */
    s.env[0].to_handle.len = 0;
    CHECK_ERR(pq3_wire_send_encode(out, sizeof out, &len, &s), PQ3_ERR_ARG);
    s.env[0].to_handle.len = 3;
    s.env[0].msg.len = 0;
    CHECK_ERR(pq3_wire_send_encode(out, sizeof out, &len, &s), PQ3_ERR_ARG);
    s.env[0].msg.p = big;
    s.env[0].msg.len = PQ3_WIRE_MAX_ENVELOPE;
    {
        static uint8_t enc[PQ3_WIRE_MAX_ENVELOPE + 128];
        CHECK_OK(pq3_wire_send_encode(enc, sizeof enc, &len, &s));
        CHECK_OK(pq3_wire_send_decode(&t, enc, len));
        s.env[0].msg.len = PQ3_WIRE_MAX_ENVELOPE + 1;
        CHECK_ERR(pq3_wire_send_encode(enc, sizeof enc, &len, &s), PQ3_ERR_ARG);
    }
    s.count = 0;
    CHECK_ERR(pq3_wire_send_encode(out, sizeof out, &len, &s), PQ3_ERR_ARG);
    s.count = PQ3_WIRE_MAX_SEND + 1;
    CHECK_ERR(pq3_wire_send_encode(out, sizeof out, &len, &s), PQ3_ERR_ARG);
    CHECK_ERR(pq3_wire_send_decode(&t, (const uint8_t *)"\x00\x41", 2), PQ3_ERR_DECODE);

    memset(&r, 0, sizeof r);
    r.count = 3;
    r.status[0] = PQ3_ST_OK;
    r.status[1] = PQ3_ST_NOT_FOUND;
    r.status[2] = PQ3_ST_QUEUE_FULL;
    CHECK_OK(pq3_wire_send_result_encode(out, sizeof out, &len, &r));
    CHECK(len == 5 && out[1] == 3 && out[3] == 4 && out[4] == 8);
    CHECK_OK(pq3_wire_send_result_decode(&q, out, len));
    CHECK(q.count == 3 && q.status[2] == PQ3_ST_QUEUE_FULL);
    strictness("send_result", DEC(send_result), sizeof q, out, len);
    out[4] = 200;
    CHECK_ERR(pq3_wire_send_result_decode(&q, out, len), PQ3_ERR_DECODE);
}

static void test_bodies(const fx_party *p)
{
    uint8_t out[16384], list[PQ3_DEVICE_LIST_MAX_BYTES] = { 1, 0x0A }, bundle[PQ3_PREKEY_BUNDLE_BYTES];
    size_t len;
    memset(bundle, 7, sizeof bundle);

    {   /* REGISTER */
        pq3_wire_register a = { { list, 100 }, { (const uint8_t *)"token", 5 } }, b;
        CHECK_OK(pq3_wire_register_encode(out, sizeof out, &len, &a));
        CHECK(len == 2 + 100 + 2 + 5 && out[1] == 100 && out[103] == 5);
        CHECK_OK(pq3_wire_register_decode(&b, out, len));
        CHECK(b.invite.len == 5 && b.list.len == 100);
        strictness("register", DEC(register), sizeof b, out, len);
        a.invite.len = PQ3_WIRE_MAX_INVITE + 1;
        a.invite.p = big;
        CHECK_ERR(pq3_wire_register_encode(out, sizeof out, &len, &a), PQ3_ERR_ARG);
        a.list.len = 0;
        CHECK_ERR(pq3_wire_register_encode(out, sizeof out, &len, &a), PQ3_ERR_ARG);
    }
    {   /* PUBLISH_LIST */
        pq3_wire_publish a, b;
        memset(&a, 0, sizeof a);
        a.list.p = list;
        a.list.len = 60;
        a.n_certs = 2;
        a.certs[0].p = p->cert_enc;
        a.certs[0].len = p->cert_len;
        a.certs[1] = a.certs[0];
        CHECK_OK(pq3_wire_publish_encode(out, sizeof out, &len, &a));
        CHECK(len == 2 + 60 + 1 + 2 * (2 + p->cert_len));
        CHECK_OK(pq3_wire_publish_decode(&b, out, len));
        CHECK(b.n_certs == 2 && b.certs[1].len == p->cert_len);
        strictness("publish", DEC(publish), sizeof b, out, len);
        out[62] = PQ3_ACCOUNT_MAX_DEVICES + 1;
        CHECK_ERR(pq3_wire_publish_decode(&b, out, len), PQ3_ERR_DECODE);
    }
    {   /* PUT_BUNDLE: exactly one bundle's size */
        pq3_wire_put_bundle a = { { bundle, sizeof bundle } }, b;
        CHECK_OK(pq3_wire_put_bundle_encode(out, sizeof out, &len, &a));
        CHECK_OK(pq3_wire_put_bundle_decode(&b, out, len));
        strictness("put_bundle", DEC(put_bundle), sizeof b, out, len);
        a.bundle.len--;
        CHECK_ERR(pq3_wire_put_bundle_encode(out, sizeof out, &len, &a), PQ3_ERR_ARG);
        out[0] = (uint8_t)((PQ3_PREKEY_BUNDLE_BYTES - 1) >> 8);
        out[1] = (uint8_t)(PQ3_PREKEY_BUNDLE_BYTES - 1);
        CHECK_ERR(pq3_wire_put_bundle_decode(&b, out, PQ3_PREKEY_BUNDLE_BYTES + 1), PQ3_ERR_DECODE);
    }
    {   /* LOOKUP and its result */
        pq3_wire_lookup a = { { (const uint8_t *)"alice", 5 }, 0x0102030405060708u }, b;
        pq3_wire_lookup_result r, q;
        CHECK_OK(pq3_wire_lookup_encode(out, sizeof out, &len, &a));
        CHECK(len == 15 && memcmp(out, "\x00\x05" "alice" "\x01\x02\x03\x04\x05\x06\x07\x08", 15) == 0);
        CHECK_OK(pq3_wire_lookup_decode(&b, out, len));
        CHECK(b.pinned == a.pinned && b.handle.len == 5);
        CHECK_ERR(pq3_wire_lookup_decode(&b, out, 7), PQ3_ERR_DECODE);     /* no pinned */
        strictness("lookup", DEC(lookup), sizeof b, out, len);
        CHECK_ERR(pq3_wire_lookup_decode(&b, (const uint8_t *)"\x00\x00" "\0\0\0\0\0\0\0\0", 10),
                  PQ3_ERR_DECODE);
        memset(&r, 0, sizeof r);
        memset(r.account_pub, 2, sizeof r.account_pub);
        r.list.p = list;
        r.list.len = 80;
        r.count = 2;
        r.certs[0].p = r.certs[1].p = p->cert_enc;
        r.certs[0].len = r.certs[1].len = p->cert_len;
        r.bundles[0].p = bundle;
        r.bundles[0].len = sizeof bundle;
        CHECK_OK(pq3_wire_lookup_result_encode(out, sizeof out, &len, &r));
        CHECK(len == 33 + 82 + 1 + 2 * (2 + p->cert_len) + 2 + sizeof bundle + 2 + 4);
        CHECK_OK(pq3_wire_lookup_result_decode(&q, out, len));
        CHECK(q.count == 2 && q.bundles[0].len == sizeof bundle && q.bundles[1].len == 0 &&
              q.proof.len == 0);
        strictness("lookup_result", DEC(lookup_result), sizeof q, out, len);
        r.bundles[1].p = bundle;
        r.bundles[1].len = 10;                    /* neither empty nor a bundle */
        CHECK_ERR(pq3_wire_lookup_result_encode(out, sizeof out, &len, &r), PQ3_ERR_ARG);
    }
    {   /* RESPONSE, AUTH result, DELIVER, GOODBYE, CHALLENGE, time */
        uint8_t res[13];
        pq3_wire_auth_result ar = { PQ3_WIRE_LISTED, 7, 42 }, ar2;
        pq3_wire_response rs, rq;
        CHECK_OK(pq3_wire_auth_result_encode(res, sizeof res, &len, &ar));
        CHECK(len == 13 && res[0] == 2 && res[8] == 7 && res[12] == 42);
        CHECK_OK(pq3_wire_auth_result_decode(&ar2, res, len));
        strictness("auth_result", DEC(auth_result), sizeof ar2, res, len);
        res[0] = 3;
        CHECK_ERR(pq3_wire_auth_result_decode(&ar2, res, len), PQ3_ERR_DECODE);
        res[0] = 2;
        rs.status = PQ3_ST_OK;
        rs.reason.p = NULL;
        rs.reason.len = 0;
        rs.result.p = res;
        rs.result.len = 13;
        CHECK_OK(pq3_wire_response_encode(out, sizeof out, &len, &rs));
        CHECK(len == 4 + 13);
        CHECK_OK(pq3_wire_response_decode(&rq, out, len));
        CHECK(rq.status == 0 && rq.result.len == 13);
        rs.status = PQ3_ST_CONFLICT;
        CHECK_ERR(pq3_wire_response_encode(out, sizeof out, &len, &rs), PQ3_ERR_ARG);
        rs.result.len = 0;
        rs.reason.p = (const uint8_t *)"not newer";
        rs.reason.len = 9;
        CHECK_OK(pq3_wire_response_encode(out, sizeof out, &len, &rs));
        CHECK_OK(pq3_wire_response_decode(&rq, out, len));
        CHECK(rq.status == PQ3_ST_CONFLICT && rq.reason.len == 9);
        out[len] = 1;                             /* a refusal with a result */
        CHECK_ERR(pq3_wire_response_decode(&rq, out, len + 1), PQ3_ERR_DECODE);
        rs.reason.len = PQ3_WIRE_MAX_REASON + 1;
        rs.reason.p = big;
        CHECK_ERR(pq3_wire_response_encode(out, sizeof out, &len, &rs), PQ3_ERR_ARG);

        pq3_wire_deliver d, e;
        memset(&d, 0, sizeof d);
        d.queue_id = 99;
        d.from_handle.p = (const uint8_t *)"alice";
        d.from_handle.len = 5;
        d.stored_at = FX_T0;
        d.msg.p = bundle;
        d.msg.len = 100;
        CHECK_OK(pq3_wire_deliver_encode(out, sizeof out, &len, &d));
        CHECK(len == 8 + 7 + 16 + 16 + 8 + 4 + 100);
        CHECK_OK(pq3_wire_deliver_decode(&e, out, len));
        CHECK(e.queue_id == 99 && e.stored_at == FX_T0 && e.msg.len == 100);
        strictness("deliver", DEC(deliver), sizeof e, out, len);
        d.queue_id = 0;
        CHECK_ERR(pq3_wire_deliver_encode(out, sizeof out, &len, &d), PQ3_ERR_ARG);

        pq3_wire_goodbye g = { PQ3_ST_UNAVAILABLE, { (const uint8_t *)"bye", 3 } }, h;
        CHECK_OK(pq3_wire_goodbye_encode(out, sizeof out, &len, &g));
        CHECK(len == 7 && out[1] == 11);
        CHECK_OK(pq3_wire_goodbye_decode(&h, out, len));
        strictness("goodbye", DEC(goodbye), sizeof h, out, len);

        uint64_t t;
        CHECK_OK(pq3_wire_time_encode(res, 0x0102030405060708u));
        CHECK(res[0] == 1 && res[7] == 8);
        CHECK_OK(pq3_wire_time_decode(&t, res, 8));
        CHECK(t == 0x0102030405060708u);
        CHECK_ERR(pq3_wire_time_decode(&t, res, 7), PQ3_ERR_DECODE);
        CHECK_ERR(pq3_wire_time_decode(&t, res, 9), PQ3_ERR_DECODE);
    }
}

static void test_auth(const fx_party *p, const fx_party *other)
{
    pq3_wire_challenge ch, c2;
    pq3_wire_auth a, b;
    uint8_t out[2048], ex[32];
    size_t len;

    memset(&ch, 0, sizeof ch);
    ch.version = 1;
    ch.name.p = (const uint8_t *)"pq3.example";
    ch.name.len = 11;
    memset(ch.nonce, 0x4e, sizeof ch.nonce);
    ch.time = FX_T0;
    CHECK_OK(pq3_wire_challenge_encode(out, sizeof out, &len, &ch));
    CHECK(len == 1 + 2 + 11 + 32 + 8 && out[0] == 1 && out[2] == 11);
    CHECK_OK(pq3_wire_challenge_decode(&c2, out, len));
    CHECK(c2.time == FX_T0 && c2.name.len == 11);
    strictness("challenge", DEC(challenge), sizeof c2, out, len);
    CHECK_ERR(pq3_wire_challenge_decode(&c2, (const uint8_t *)"\x01\x00\x00", 3), PQ3_ERR_DECODE);

    memset(ex, 0x58, sizeof ex);
    memset(&a, 0, sizeof a);
    a.version = 1;
    a.handle.p = p->cert.handle;
    a.handle.len = p->cert.handle_len;
    memcpy(a.device_id, p->cert.device_id, 16);
    memcpy(a.account_pub, p->account.pub, 33);
    a.cert.p = p->cert_enc;
    a.cert.len = p->cert_len;
    CHECK_OK(pq3_wire_auth_sign(&a, &ch, ex, &p->device_signer));
    CHECK_OK(pq3_wire_auth_verify(&a, &ch, ex, &p->cert));
    /* The signature covers TBS_auth exactly as §4 writes it. */
    {
        uint8_t tbs[1024];
        size_t n = 0;
        pq3_ecdsa_pub pk;
        memcpy(tbs, "OpenPQ3 v1 server auth", 22);
        n = 22;
        tbs[n++] = 0;
        tbs[n++] = 11;
        memcpy(tbs + n, "pq3.example", 11);
        n += 11;
        memcpy(tbs + n, ch.nonce, 32);
        n += 32;
        for (int i = 7; i >= 0; i--)
            tbs[n++] = (uint8_t)(ch.time >> (8 * i));
        memcpy(tbs + n, ex, 32);
        n += 32;
        tbs[n++] = 0;
        tbs[n++] = p->cert.handle_len;
        memcpy(tbs + n, p->cert.handle, p->cert.handle_len);
        n += p->cert.handle_len;
        memcpy(tbs + n, p->cert.device_id, 16);
        n += 16;
        memcpy(tbs + n, p->account.pub, 33);
        n += 33;
        CHECK_OK(pq3_ecdsa_import(&pk, p->device.pub));
        CHECK_OK(pq3_ecdsa_verify(&pk, a.signature, tbs, n));
    }
    CHECK_OK(pq3_wire_auth_encode(out, sizeof out, &len, &a));
    CHECK(len == 1 + 2 + p->cert.handle_len + 16 + 33 + 2 + p->cert_len + 64);
    CHECK_OK(pq3_wire_auth_decode(&b, out, len));
    CHECK(memcmp(b.signature, a.signature, 64) == 0);
    CHECK_OK(pq3_wire_auth_verify(&b, &ch, ex, &p->cert));
    strictness("auth", DEC(auth), sizeof b, out, len);

    /* Every input of TBS_auth matters. */
    c2 = ch;
    c2.name.p = (const uint8_t *)"pq3.examplf";
    CHECK_ERR(pq3_wire_auth_verify(&a, &c2, ex, &p->cert), PQ3_ERR_VERIFY);
    c2 = ch;
    c2.nonce[31] ^= 1;
    CHECK_ERR(pq3_wire_auth_verify(&a, &c2, ex, &p->cert), PQ3_ERR_VERIFY);
    c2 = ch;
    c2.time++;
    CHECK_ERR(pq3_wire_auth_verify(&a, &c2, ex, &p->cert), PQ3_ERR_VERIFY);
    ex[0] ^= 1;
    CHECK_ERR(pq3_wire_auth_verify(&a, &ch, ex, &p->cert), PQ3_ERR_VERIFY);
    ex[0] ^= 1;
    b = a;
    b.device_id[0] ^= 1;
    CHECK_ERR(pq3_wire_auth_verify(&b, &ch, ex, &p->cert), PQ3_ERR_VERIFY);
    b = a;
    b.account_pub[5] ^= 1;
    CHECK_ERR(pq3_wire_auth_verify(&b, &ch, ex, &p->cert), PQ3_ERR_VERIFY);
    b = a;
    b.handle.len--;
    CHECK_ERR(pq3_wire_auth_verify(&b, &ch, ex, &p->cert), PQ3_ERR_VERIFY);
    /* Another device's key does not verify it; an unverified cert is misuse. */
    CHECK_ERR(pq3_wire_auth_verify(&a, &ch, ex, &other->cert), PQ3_ERR_VERIFY);
    {
        pq3_device_cert raw = p->cert;
        raw.verified = 0;
        CHECK_ERR(pq3_wire_auth_verify(&a, &ch, ex, &raw), PQ3_ERR_ARG);
    }
    b = a;
    b.handle.len = 0;
    CHECK_ERR(pq3_wire_auth_sign(&b, &ch, ex, &p->device_signer), PQ3_ERR_ARG);
    CHECK_ERR(pq3_wire_auth_encode(out, sizeof out, &len, &b), PQ3_ERR_ARG);
}

int main(void)
{
    fx_party p, q;
    CHECK(fx_party_init(&p, "mailto:alice@example.org", "wire", 1));
    CHECK(fx_party_init(&q, "mailto:alice@example.org", "other", 1));
    test_header();
    test_ack();
    test_send();
    test_bodies(&p);
    test_auth(&p, &q);
    return pq3t_finish();
}
