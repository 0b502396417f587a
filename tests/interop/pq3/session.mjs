// Session start (§10), ratchets and rekey policy (§11), sealing (§12),
// opening (§13) and the serialized session state (§14) of docs/PROTOCOL.md.
// Every function works on a copy and returns the new state, so a failure
// leaves the caller's state as it was (§13 "Any failure leaves the session
// byte-identical").
import { concat, equal, fail, Reader, header, u8, u16, u32, u64, vec16, hex } from './codec.mjs';
import * as prim from './primitives.mjs';
import { L, F, EXT_SIZES, decodeMessage, encodeMessageBody, msgTbs, sidd, bundleTbs, decodeBundle } from './structures.mjs';
import { kdfRk, chainStep, messageKeys, Z32 } from './kdf.mjs';

const clone = (s) => structuredClone(s);
const U32MAX = 0xffffffff;

// §10.1
export function negotiateVersion(a, b) {
  const common = a.versions.filter((v) => b.versions.includes(v));
  if (!common.includes(1)) fail('VERSION', 'both certificates must list version 1');
  if (Math.max(...common) !== 1) fail('VERSION', `highest common version ${Math.max(...common)} is not 1`);
  return 1;
}

// §15: a P-256 scalar is drawn 32 bytes at a time until 0 < d < n.
export function drawScalar(rng, why) {
  for (;;) {
    const d = rng.take(32, why);
    if (prim.scalarValid(d)) return d;
  }
}

function identity(cert) { return { handle: cert.handle, deviceId: cert.deviceId, authKey: cert.authKey }; }

export function newState(version, self, peer, initiator) {
  return {
    version, initiator,
    self: identity(self), peer: identity(peer),
    siddSend: sidd(self, peer), siddRecv: sidd(peer, self),
    rk: null, prevLen: 0, peerRatchet: null,
    send: null, myScalar: null, myPub: null,
    recv: null, myOffer: null, peerOffer: null,
    pqCount: 0, pqTime: 0n,
    sessionId: null, lastReceipt: 0n, prevPeerRatchets: [], peerApp: false,
    generation: 0n, // §14 (format 4): 1 when created, +1 per seal and open
  };
}

const completedPqStep = (s, now) => { s.pqCount = 0; s.pqTime = BigInt(now); };
const countOne = (s) => { if (s.pqCount < U32MAX) s.pqCount++; };

// §10.2: the initiator S with R's verified bundle B.
export function startInitiator(ctx, selfCert, peerCert, bundleBytes, now, rng) {
  const B = decodeBundle(bundleBytes);
  const s = newState(negotiateVersion(selfCert, peerCert), selfCert, peerCert, true);
  const e = drawScalar(rng, 'ephemeral scalar');                      // step 1
  const E = prim.xOf(e);
  const m = rng.take(32, 'm');                                         // step 2
  const { ct: ct0, ss: ssKem } = ctx.kem.encaps(1024, B.kemEk, m);
  const ssEcdh = prim.ecdh(e, B.ecdhPub, 'bundle ECDH key');          // step 3
  const dst = concat(s.siddSend, L.START, B.ecdhPub, E, ct0, B.kemEk); // step 4
  const { rk, ck } = kdfRk(Z32, ssEcdh, ssKem, dst);                   // step 5
  s.rk = rk;                                                           // step 6
  s.send = { ck, index: 0, extFlags: F.START, startHash: prim.sha384(bundleBytes), ct0, ct: null };
  s.myScalar = e; s.myPub = E; s.peerRatchet = B.ecdhPub; s.prevLen = 0; s.sessionId = E;
  completedPqStep(s, now);
  s.generation = 1n;
  return { state: s, trace: { ephemeralPub: E, ct0, ssEcdh, ssKem, dst, rk, ck } };
}

// §11.3 trigger for a fresh offer at a direction change.
function wantOffer(s, policy, now) {
  if (s.myOffer) return false;
  const t = BigInt(now);
  const age = t < s.pqTime ? 0n : t - s.pqTime;
  return age >= BigInt(policy.max_age) || (!policy.constrained && s.pqCount >= policy.max_messages);
}

// §12 sealing. sign(tbs) returns the 64-byte signature.
export function seal(ctx, state, { policy, now, rng, contentType, body, ad, sign }) {
  if (contentType !== 1 && contentType !== 2) fail('ARG', `content type ${contentType}`);
  if (body.length > 2 ** 20 - 1) fail('ARG', 'body too long');
  if (ad.length > 4096) fail('ARG', 'AD too long');
  const s = clone(state);
  const trace = { directionChange: false, kem: '' };
  if (!s.send) {                                                      // step 1: §11.2
    trace.directionChange = true;
    const Pk = s.peerRatchet;
    const r = drawScalar(rng, 'ratchet scalar');                        // 11.2 step 1
    const Nk = prim.xOf(r);
    let ssKem = Z32, ct = null, ekPeer = null;
    if (s.peerOffer) {                                                  // 11.2 step 2
      ekPeer = s.peerOffer;
      const m = rng.take(32, 'm');
      ({ ct, ss: ssKem } = ctx.kem.encaps(768, ekPeer, m));
      trace.kem = 'answer';
    }
    const ssEcdh = prim.ecdh(r, Pk, 'peer ratchet key');              // 11.2 step 3
    let dst = concat(s.siddSend, L.RATCHET, Pk, Nk);                   // 11.2 step 4
    if (ct) dst = concat(dst, ct, ekPeer);
    const { rk, ck } = kdfRk(s.rk, ssEcdh, ssKem, dst);               // 11.2 step 5
    s.rk = rk;
    s.send = { ck, index: 0, extFlags: ct ? F.CT : 0, startHash: null, ct0: null, ct };
    s.myScalar = r; s.myPub = Nk; s.peerOffer = null;
    if (ct) completedPqStep(s, now);
    if (s.myOffer) {                                                   // 11.2 step 6: unanswered offer sent again (§11.4)
      s.send.extFlags |= F.EK;
      trace.kem = trace.kem ? 'answer+offer' : 'offer';                 // A.6: what the flags carry
    } else if (wantOffer(s, policy, now)) {
      const dz = rng.take(64, 'd‖z');
      s.myOffer = ctx.kem.keygen(768, dz);
      s.send.extFlags |= F.EK;
      trace.kem = trace.kem ? 'answer+offer' : 'offer';
    }
    trace.ssEcdh = ssEcdh; trace.ssKem = ct ? ssKem : new Uint8Array(0); trace.dst = dst;
  }
  const c = s.send;
  // step 2 (§11.4): START / CT on every message of the chain, EK on its first
  let flags = (c.extFlags & (F.START | F.CT)) | (c.index === 0 ? c.extFlags & F.EK : 0);
  if (ad.length > 0) flags |= F.AD;
  trace.chainBefore = c.ck;                                            // step 3
  const { mk, next } = chainStep(c.ck);
  const k = messageKeys(mk);
  const ciphertext = prim.aesCtr(k.key, k.iv, prim.pad(concat(u8(contentType), body))); // step 4
  const fields = {
    version: s.version, flags, ratchetKey: s.myPub, index: c.index, prev: s.prevLen,
    prekeyHash: c.startHash, ct0: c.ct0, ek: s.myOffer && s.myOffer.ek, ct: c.ct,
    mki: k.mki, ad, ciphertext,
  };
  const bodyBytes = encodeMessageBody(fields);
  const wire = concat(bodyBytes, new Uint8Array(64));
  const sig = sign(msgTbs(s.siddSend, wire));                           // step 5
  wire.set(sig, bodyBytes.length);
  if (c.index === 0 && (flags & (F.START | F.CT))) completedPqStep(s, now); // step 6
  else countOne(s);
  c.ck = next; c.index += 1;
  s.generation += 1n;
  Object.assign(trace, { rk: s.rk, chainAfter: next, mk, mki: k.mki, aesKey: k.key, aesIv: k.iv, flags, fields });
  return { state: s, wire, trace };
}

// §13 step 4..5 (and §10.3 steps 10..11): mki, decrypt, unpad, content type.
function decryptWith(ck, msg) {
  const { mk, next } = chainStep(ck);
  const k = messageKeys(mk);
  if (!equal(k.mki, msg.mki)) fail('VERIFY', `mki mismatch (derived ${hex(k.mki)}, received ${hex(msg.mki)})`);
  const payload = prim.unpad(prim.aesCtr(k.key, k.iv, msg.ciphertext));
  if (payload === null) fail('DECODE', 'bad padding');
  if (payload.length < 1) fail('DECODE', 'no content type');
  const contentType = payload[0];
  if (contentType !== 1 && contentType !== 2) fail('VERSION', `content type ${contentType}`);
  return { contentType, body: payload.slice(1), mk, next, k };
}

export function verifySig(siddSR, peerKey, wire) {
  const why = prim.ecdsaVerify(peerKey, msgTbs(siddSR, wire), wire.subarray(wire.length - 64));
  if (why) fail('VERIFY', `message signature: ${why}`);
}

// §10.3: the responder R creates its session from the first message.
// prekey = { bundle (bytes), scalar, dk }.
export function startResponder(ctx, selfCert, peerCert, prekey, wire, now) {
  const msg = decodeMessage(wire);                                      // 1
  const version = negotiateVersion(selfCert, peerCert);                // 2
  if (msg.version !== version) fail('VERSION', `message version ${msg.version}`);
  if (!(msg.flags & F.START)) fail('DECODE', 'first message without START'); // 3
  const s = newState(version, selfCert, peerCert, false);
  verifySig(s.siddRecv, s.peer.authKey, wire);                         // 4
  const bundleHash = prim.sha384(prekey.bundle);                       // 5
  if (!equal(msg.prekeyHash, bundleHash)) fail('UNKNOWN', 'prekey hash names another bundle');
  const B = decodeBundle(prekey.bundle);
  if (BigInt(now) >= B.expires + 604800n) fail('EXPIRED', 'prekey past its grace window'); // 6
  // 7-8 (no replay cache and no skipped-key store here: a gap needs one)
  if (msg.prev !== 0) fail('UNKNOWN', `previous ${msg.prev}`);
  if (msg.index !== 0) fail('LIMIT', `index ${msg.index} with no room for skipped keys`);
  prim.importX(msg.ratchetKey, 'ratchet key E');                       // 8
  if ((msg.flags & F.EK) && !prim.ekModulusOk(msg.ek, 768)) fail('KEY', 'offered ek fails the modulus check');
  const ssKem = ctx.kem.decaps(1024, prekey.dk, msg.ct0);             // 9
  const ssEcdh = prim.ecdh(prekey.scalar, msg.ratchetKey, 'E');
  const dst = concat(s.siddRecv, L.START, B.ecdhPub, msg.ratchetKey, msg.ct0, B.kemEk);
  const { rk, ck } = kdfRk(Z32, ssEcdh, ssKem, dst);
  const d = decryptWith(ck, msg);                                       // 10, 11
  s.rk = rk;
  s.recv = { ck: d.next, index: 1, prevLen: 0, extFlags: F.START, extDigest: mandatoryDigest(msg) };
  s.peerRatchet = msg.ratchetKey; s.sessionId = msg.ratchetKey;
  s.peerApp = d.contentType === 1; // §16.1: a receipt is owed for an application message
  if (msg.flags & F.EK) s.peerOffer = msg.ek;
  completedPqStep(s, now);
  s.generation = 1n;
  return { state: s, contentType: d.contentType, body: d.body, ad: msg.ad,
           trace: { ssEcdh, ssKem, rk, chainBefore: ck, chainAfter: d.next, mk: d.mk, mki: d.k.mki,
                    aesKey: d.k.key, aesIv: d.k.iv, dst } };
}

// §11.4: SHA-384 of the mandatory extension (START: prekey hash ‖ ct0; CT).
export function mandatoryDigest(msg) {
  if (msg.flags & F.START) return prim.sha384(concat(msg.prekeyHash, msg.ct0));
  if (msg.flags & F.CT) return prim.sha384(msg.ct);
  return null;
}

// §13 opening (a receiver without a skipped-key store, §13.1).
export function open(ctx, state, wire, now) {
  const msg = decodeMessage(wire);                                      // 1
  if (msg.version !== state.version) fail('VERSION', `message version ${msg.version}`);
  verifySig(state.siddRecv, state.peer.authKey, wire);                 // 2
  const s = clone(state);
  const trace = { directionChange: false };
  const ext = msg.flags & (F.START | F.CT);
  let ck;
  if (s.recv && equal(msg.ratchetKey, s.peerRatchet)) {                  // 3, same chain
    if (msg.prev !== s.recv.prevLen) fail('DECODE', `previous chain length ${msg.prev}, chain began with ${s.recv.prevLen}`);
    if (ext !== s.recv.extFlags) fail('VERIFY', `extension flags ${ext} differ from the chain's ${s.recv.extFlags}`);
    if (ext && !equal(mandatoryDigest(msg), s.recv.extDigest)) fail('VERIFY', 'repeated extension differs');
    if (msg.index !== s.recv.index)
      fail(msg.index < s.recv.index ? 'REPLAY' : 'LIMIT', `index ${msg.index}, expected ${s.recv.index}`);
    ck = s.recv.ck;
  } else if (s.prevPeerRatchets.some((k) => equal(k, msg.ratchetKey))) { // 3, older chain
    fail('REPLAY', 'message of an ended peer chain (no skipped keys kept here)');
  } else {                                                              // 3, new chain
    trace.directionChange = true;
    if (!s.send) fail('UNKNOWN', 'no new chain expected');
    if (msg.flags & F.START) fail('DECODE', 'START on a later chain');
    const expectPrev = s.recv ? s.recv.index : 0;
    if ((!s.recv && msg.prev !== 0) || msg.prev < expectPrev)
      fail('UNKNOWN', `new chain with previous ${msg.prev} (we have ${expectPrev})`);
    if (msg.index !== 0 || msg.prev !== expectPrev)
      fail('LIMIT', `new chain at index ${msg.index}, previous ${msg.prev}: skipped keys needed`);
    prim.importX(msg.ratchetKey, 'ratchet key');
    if ((msg.flags & F.EK) && !prim.ekModulusOk(msg.ek, 768)) fail('KEY', 'offered ek fails the modulus check');
    if ((msg.flags & F.CT) && !s.myOffer) fail('UNKNOWN', 'CT without an outstanding offer');
    const ssEcdh = prim.ecdh(s.myScalar, msg.ratchetKey, 'ratchet key');
    let ssKem = Z32;
    let dst = concat(s.siddRecv, L.RATCHET, s.myPub, msg.ratchetKey);
    if (msg.flags & F.CT) {
      ssKem = ctx.kem.decaps(768, s.myOffer.dk, msg.ct);
      dst = concat(dst, msg.ct, s.myOffer.ek);
    }
    const r = kdfRk(s.rk, ssEcdh, ssKem, dst);
    s.rk = r.rk;
    ck = r.ck;
    Object.assign(trace, { ssEcdh, ssKem: (msg.flags & F.CT) ? ssKem : new Uint8Array(0), dst });
  }
  const d = decryptWith(ck, msg);                                       // 4, 5
  if (trace.directionChange) {                                          // 6
    if (s.recv) s.prevPeerRatchets = [s.peerRatchet, ...s.prevPeerRatchets].slice(0, PREV_PEER_KEYS);
    s.peerApp = d.contentType === 1;
    s.recv = { ck: d.next, index: 1, prevLen: msg.prev, extFlags: ext, extDigest: mandatoryDigest(msg) };
    s.peerRatchet = msg.ratchetKey;
    if (msg.flags & F.CT) s.myOffer = null;
    if (msg.flags & F.EK) s.peerOffer = msg.ek;
    s.prevLen = s.send.index;
    s.send = null; s.myScalar = null; s.myPub = null;
  } else {
    s.recv.ck = d.next; s.recv.index += 1;
    if (d.contentType === 1) s.peerApp = true;
  }
  if (msg.index === 0 && (msg.flags & (F.START | F.CT))) completedPqStep(s, now);
  else countOne(s);
  s.generation += 1n;
  Object.assign(trace, { rk: s.rk, chainBefore: ck, chainAfter: d.next, mk: d.mk, mki: d.k.mki,
                         aesKey: d.k.key, aesIv: d.k.iv });
  return { state: s, contentType: d.contentType, body: d.body, ad: msg.ad, flags: msg.flags, trace };
}

// ---- §14 serialized state ----------------------------------------------------
export const SF = { SEND: 0x01, RECV: 0x02, MY_OFFER: 0x04, PEER_OFFER: 0x08, INITIATOR: 0x10, RECV2: 0x20, PEER_APP: 0x40 };
// §14: ratchet keys of ended peer chains remembered (newest first).
const PREV_PEER_KEYS = 8;

export function serializeState(s) {
  const flags = (s.send ? SF.SEND : 0) | (s.recv ? SF.RECV : 0) | (s.myOffer ? SF.MY_OFFER : 0) |
                (s.peerOffer ? SF.PEER_OFFER : 0) | (s.initiator ? SF.INITIATOR : 0) |
                (s.prevPeerRatchets.length ? SF.RECV2 : 0) | (s.recv && s.peerApp ? SF.PEER_APP : 0);
  const sendExt = s.send ? s.send.extFlags : 0;
  const recvExt = s.recv ? s.recv.extFlags : 0;
  const p = [u8(4), u8(4), u8(s.version), u8(flags), u8(sendExt), u8(recvExt),
    vec16(s.self.handle), s.self.deviceId, s.self.authKey,
    vec16(s.peer.handle), s.peer.deviceId, s.peer.authKey,
    s.rk, u32(s.prevLen), s.peerRatchet, u32(s.pqCount), u64(s.pqTime),
    s.sessionId, u64(s.lastReceipt), u64(s.generation),
    // format 4: the y of the peer's authentication key and of its ratchet
    // key (the even root for the x-only key)
    prim.importCompressed(s.peer.authKey, 'peer authentication key').subarray(33),
    prim.evenY(s.peerRatchet, 'peer ratchet key')];
  if (s.prevPeerRatchets.length) p.push(u8(s.prevPeerRatchets.length), ...s.prevPeerRatchets);
  if (s.send) p.push(s.send.ck, u32(s.send.index), s.myScalar, s.myPub);
  if (s.recv) p.push(s.recv.ck, u32(s.recv.index), u32(s.recv.prevLen));
  if (recvExt) p.push(s.recv.extDigest);
  if (sendExt & F.START) p.push(s.send.startHash, s.send.ct0);
  if (sendExt & F.CT) p.push(s.send.ct);
  if (s.myOffer) p.push(s.myOffer.dk, s.myOffer.ek);
  if (s.peerOffer) p.push(s.peerOffer);
  return concat(...p);
}

// Strict decoder of §14, returning the fields by name (for field-by-field
// comparison) with the structural and key checks the section lists.
export function decodeState(buf) {
  const r = new Reader(buf, 'session state');
  // §14: format 4, and the previous format 3 (no generation: it reads as 0)
  const format = buf.length > 0 && buf[0] === 0x03 ? 0x03 : 0x04;
  header(r, 0x04, format);
  const f = { format };
  f.protocol_version = r.u8('protocol version');
  if (f.protocol_version !== 1) fail('VERSION', `session state: protocol version ${f.protocol_version}`);
  const flags = f.state_flags = r.u8('state flags');
  if (flags & 0x80) fail('DECODE', 'session state: undefined state flag');
  if ((flags & SF.RECV2) && !(flags & SF.RECV)) fail('DECODE', 'RECV2 without RECV');
  if ((flags & SF.PEER_APP) && !(flags & SF.RECV)) fail('DECODE', 'PEER_APP without RECV');
  const se = f.send_ext_flags = r.u8('send extension flags');
  const re = f.recv_ext_flags = r.u8('recv extension flags');
  if (se & 0xf8 || re & 0xfa) fail('DECODE', 'session state: undefined extension flag');
  if (se && !(flags & SF.SEND)) fail('DECODE', 'send extension without SEND');
  if ((se & F.START) && (se & F.CT)) fail('DECODE', 'send extension START with CT');
  if ((se & F.EK) && !(flags & SF.MY_OFFER)) fail('DECODE', 'send extension EK without MY_OFFER');
  if (re && !(flags & SF.RECV)) fail('DECODE', 'recv extension without RECV');
  if ((re & F.START) && (re & F.CT)) fail('DECODE', 'recv extension START with CT');
  f.self_handle = r.vec16(1, 255, 'self handle');
  f.self_device_id = r.bytes(16, 'self device id');
  f.self_auth_key = r.bytes(33, 'self authentication key');
  f.peer_handle = r.vec16(1, 255, 'peer handle');
  f.peer_device_id = r.bytes(16, 'peer device id');
  f.peer_auth_key = r.bytes(33, 'peer authentication key');
  f.rk = r.bytes(32, 'RK');
  f.prev_chain_length = r.u32('previous chain length');
  f.peer_ratchet_key = r.bytes(32, 'peer ratchet key');
  f.pq_count = r.u32('pq_count');
  f.pq_time = r.u64('pq_time');
  f.session_id = r.bytes(32, 'session id');
  f.last_receipt = r.u64('last receipt');
  f.generation = format >= 4 ? r.u64('generation') : 0n;
  if (format >= 4) {
    f.peer_auth_y = r.bytes(32, 'peer authentication key y');
    f.peer_ratchet_y = r.bytes(32, 'peer ratchet key y');
  }
  if (flags & SF.RECV2) {
    const n = r.u8('previous peer ratchet key count');
    if (n < 1 || n > PREV_PEER_KEYS) fail('DECODE', `session state: ${n} previous peer ratchet keys`);
    f.prev_peer_ratchet_keys = [];
    for (let i = 0; i < n; i++) {
      const k = r.bytes(32, 'previous peer ratchet key');
      if (equal(k, f.peer_ratchet_key) || f.prev_peer_ratchet_keys.some((o) => equal(o, k)))
        fail('DECODE', 'session state: repeated peer ratchet key');
      f.prev_peer_ratchet_keys.push(k);
    }
  }
  if (flags & SF.SEND) {
    f.send_ck = r.bytes(32, 'sending CK');
    f.send_index = r.u32('next send index');
    f.ratchet_scalar = r.bytes(32, 'our ratchet scalar');
    f.ratchet_key = r.bytes(32, 'our ratchet key');
  }
  if (flags & SF.RECV) {
    f.recv_ck = r.bytes(32, 'receiving CK');
    f.recv_index = r.u32('next receive index');
    f.recv_prev = r.u32("peer's previous chain length");
  }
  if (re) f.recv_ext_digest = r.bytes(48, 'recv extension digest');
  if (se & F.START) { f.start_hash = r.bytes(48, 'START hash'); f.ct0 = r.bytes(1568, 'ct0'); }
  if (se & F.CT) f.ct = r.bytes(1088, 'CT ciphertext');
  if (flags & SF.MY_OFFER) { f.my_dk = r.bytes(2400, 'offer dk'); f.my_ek = r.bytes(1184, 'offer ek'); }
  if (flags & SF.PEER_OFFER) f.peer_ek = r.bytes(1184, "peer's offer ek");
  r.done();
  // Key checks of §14: the peer keys are points of the curve (format 4:
  // the stored y satisfies the equation, and the authentication key's y has
  // the parity its compressed form names); our scalar is in range.
  if (format >= 4) {
    const a = f.peer_auth_key;
    if ((a[0] !== 2 && a[0] !== 3) || !prim.onCurve(a.subarray(1), f.peer_auth_y) ||
        (f.peer_auth_y[31] & 1) !== (a[0] & 1))
      fail('KEY', 'peer authentication key is not that point of the curve');
    if (!prim.onCurve(f.peer_ratchet_key, f.peer_ratchet_y)) fail('KEY', 'peer ratchet key is not on the curve');
  } else {
    prim.importCompressed(f.peer_auth_key, 'peer authentication key');
    prim.importX(f.peer_ratchet_key, 'peer ratchet key');
  }
  if ((flags & SF.SEND) && !prim.scalarValid(f.ratchet_scalar)) fail('KEY', 'ratchet scalar out of range');
  if (f.my_ek && !prim.ekModulusOk(f.my_ek, 768)) fail('KEY', 'own offer ek fails modulus check');
  if (f.peer_ek && !prim.ekModulusOk(f.peer_ek, 768)) fail('KEY', "peer's ek fails modulus check");
  if (f.my_dk) {
    // FIPS 203 §7.3: dk = dk_pke ‖ ek ‖ H(ek) ‖ z; ek embedded must be the one offered.
    const ekIn = f.my_dk.subarray(1152, 1152 + 1184);
    const h = f.my_dk.subarray(2336, 2368);
    if (!equal(prim.sha3_256(ekIn), h)) fail('KEY', 'dk hash check fails');
    if (!equal(ekIn, f.my_ek)) fail('KEY', 'dk does not embed the offered ek');
  }
  return f;
}

export function stateFields(s) { return decodeState(serializeState(s)); }
