// Delivery over a real network, from docs/PROTOCOL.md alone: the
// skipped-key store (§13.1) and its serialization (§13.2), opening a
// message with a store (§13: current chain with gaps and late messages,
// older chains, new chains keeping the ending chain's rest), accepting a
// session start at any index of the first chain (§10.3) with the replay
// cache (§10.4), and delivery receipts (§16.1). Every function works on
// copies and returns the new state and store, so a failure changes nothing.
import { concat, equal, fail, u8, u32, u64, hex } from './codec.mjs';
import * as prim from './primitives.mjs';
import { L, F, decodeMessage, decodeBundle } from './structures.mjs';
import { kdfRk, chainStep, messageKeys, Z32 } from './kdf.mjs';
import { negotiateVersion, newState, verifySig, mandatoryDigest, seal } from './session.mjs';

const clone = (s) => structuredClone(s);
const U32MAX = 0xffffffff;
export const MAX_WALK = 16384;       // §13.1 PQ3_SKIPPED_MAX_WALK
const PREV_PEER_KEYS = 8;            // §14, §18
const RECEIPT_BYTES = 40;            // §16.1

const completedPqStep = (s, now) => { s.pqCount = 0; s.pqTime = BigInt(now); };
const countOne = (s) => { if (s.pqCount < U32MAX) s.pqCount++; };

// §13.1: the tag binding a stored key to its session.
const tagOf = (s) => s.sessionId.slice(0, 16);

// ---- §13.1 the store ---------------------------------------------------------
export class Store {
  constructor(maxJump, maxKeys, maxAge) {
    if (!(maxKeys >= 1 && maxKeys <= 1024 && maxJump >= 1 && maxJump <= maxKeys && maxAge >= 1))
      fail('ARG', 'skipped-key store bounds out of range');
    this.maxJump = maxJump; this.maxKeys = maxKeys; this.maxAge = BigInt(maxAge);
    this.keys = []; // { tag, rk, index, time (BigInt), mk }, in the order they were stored
    this.generation = 0n; // §13.2: +1 with every change of the stored keys
  }
  copy() {
    const c = new Store(this.maxJump, this.maxKeys, this.maxAge);
    c.keys = this.keys.map((e) => ({ ...e }));
    c.generation = this.generation;
    return c;
  }
  // §13.1: a session uses the keys with its tag (the first 16 bytes of its
  // session id), and untagged keys of format 1.
  static owned(e, tag) { return equal(e.tag, tag) || e.tag.every((b) => b === 0); }
  find(tag, rk, index) { return this.keys.findIndex((e) => e.index === index && equal(e.rk, rk) && Store.owned(e, tag)); }
  hasChain(tag, rk) { return this.keys.some((e) => equal(e.rk, rk) && Store.owned(e, tag)); }
  countChain(tag, rk) { return this.keys.filter((e) => equal(e.rk, rk) && Store.owned(e, tag)).length; }
  // a key stored at t is expired when now − t ≥ max_age (age 0 if now < t)
  expired(e, now) { const t = BigInt(now); return (t > e.time ? t - e.time : 0n) >= this.maxAge; }
  // §13 step 6 / §13.1: the new keys are appended in the order derived, the
  // used key erased, then the expired ones, then the oldest beyond max_keys
  // (smallest time, the first stored among equal times).
  commit(added, used, now) {
    this.keys.push(...added);
    if (used) this.keys.splice(this.keys.indexOf(used), 1);
    const before = this.keys.length;
    this.keys = this.keys.filter((e) => !this.expired(e, now));
    if (added.length > 0 || used || this.keys.length !== before) this.generation++;
    let evicted = 0;
    while (this.keys.length > this.maxKeys) {
      let o = 0;
      for (let i = 1; i < this.keys.length; i++) if (this.keys[i].time < this.keys[o].time) o = i;
      this.keys.splice(o, 1);
      evicted++;
    }
    return evicted;
  }
  // §13.2, format 2
  serialize() {
    const p = [u8(2), u8(5), u32(this.maxJump), u32(this.maxKeys), u64(this.maxAge), u32(this.keys.length), u32(0),
      u64(this.generation)];
    for (const e of this.keys) p.push(e.tag, e.rk, u32(e.index), u64(e.time), e.mk);
    return concat(...p);
  }
}

// §10.4: SHA-384(E ‖ ct0) of every accepted start of one prekey.
export class StartCache {
  constructor(prekeyHash, max) { this.prekeyHash = prekeyHash; this.max = max; this.entries = []; }
  copy() { const c = new StartCache(this.prekeyHash, this.max); c.entries = [...this.entries]; return c; }
  has(d) { return this.entries.some((x) => equal(x, d)); }
  serialize() { return concat(u8(1), u8(6), this.prekeyHash, u32(this.max), u32(this.entries.length), ...this.entries); }
}

// §13.1: the chain keys of indices from..to−1 of ck (for ratchet key rk),
// keeping the message keys of the last `keep` of them, stored at `now`.
function skipKeys(ck, tag, rk, from, to, keep, now) {
  const kept = [];
  for (let i = from; i < to; i++) {
    const { mk, next } = chainStep(ck);
    if (to - i <= keep) kept.push({ tag, rk, index: i, time: BigInt(now), mk });
    ck = next;
  }
  return { ck, kept };
}

// §13 step 3: the stored key of a late message, searched by public values.
function takeStored(store, tag, rk, index, now) {
  const i = store ? store.find(tag, rk, index) : -1;
  if (i < 0) fail('REPLAY', `no stored key for index ${index} (used already, or never kept)`);
  const e = store.keys[i];
  if (store.expired(e, now)) fail('EXPIRED', `stored key of index ${index} expired`);
  return e;
}

// §13 steps 4-5 (§10.3 steps 10-11) with the message key.
function openPayload(mk, msg) {
  const k = messageKeys(mk);
  if (!equal(k.mki, msg.mki)) fail('VERIFY', `mki mismatch (derived ${hex(k.mki)}, received ${hex(msg.mki)})`);
  const payload = prim.unpad(prim.aesCtr(k.key, k.iv, msg.ciphertext));
  if (payload === null) fail('DECODE', 'bad padding');
  if (payload.length < 1) fail('DECODE', 'no content type');
  const contentType = payload[0];
  if (contentType !== 1 && contentType !== 2) fail('VERSION', `content type ${contentType}`);
  if (contentType === 2 && payload.length - 1 !== RECEIPT_BYTES) fail('DECODE', `receipt body of ${payload.length - 1} bytes`);
  return { contentType, body: payload.slice(1), k };
}

// §13 with a skipped-key store (store may be null: none kept).
export function openEx(ctx, state, store, wire, now) {
  const msg = decodeMessage(wire);                                      // 1
  if (msg.version !== state.version) fail('VERSION', `message version ${msg.version}`);
  verifySig(state.siddRecv, state.peer.authKey, wire);                 // 2
  const s = clone(state);
  const st = store ? store.copy() : null;
  const info = { late: false, newChain: false, kemCompleted: false, kemOffered: false, keysStored: 0, keysEvicted: 0 };
  const trace = {};
  const ext = msg.flags & (F.START | F.CT);
  let mk, used = null, current = false;
  const added = [];
  if (s.recv && equal(msg.ratchetKey, s.peerRatchet)) {                  // 3, the current chain
    current = true;
    if (msg.prev !== s.recv.prevLen) fail('DECODE', `previous chain length ${msg.prev}, chain began with ${s.recv.prevLen}`);
    if (ext !== s.recv.extFlags || (ext && !equal(mandatoryDigest(msg), s.recv.extDigest)))
      fail('VERIFY', 'repeated extension differs');
    if (msg.index < s.recv.index) {
      used = takeStored(st, tagOf(s), msg.ratchetKey, msg.index, now);
      mk = used.mk;
      info.late = true;
      // §11.4: an EK on a late first message, while we have not answered the chain
      if ((msg.flags & F.EK) && !s.send) {
        if (!prim.ekModulusOk(msg.ek, 768)) fail('KEY', 'offered ek fails the modulus check');
        s.peerOffer = msg.ek;
        info.kemOffered = true;
      }
    } else {
      const gap = msg.index - s.recv.index;
      if (gap > 0 && (!st || gap > st.maxJump)) fail('LIMIT', `a gap of ${gap} on the current chain`);
      const r = skipKeys(s.recv.ck, tagOf(s), s.peerRatchet, s.recv.index, msg.index, gap, now);
      added.push(...r.kept);
      const c = chainStep(r.ck);
      mk = c.mk;
      trace.chainBefore = r.ck;
      s.recv.ck = c.next;
      s.recv.index = msg.index + 1;
    }
  } else if ((st && st.hasChain(tagOf(s), msg.ratchetKey)) || s.prevPeerRatchets.some((k) => equal(k, msg.ratchetKey))) {
    used = takeStored(st, tagOf(s), msg.ratchetKey, msg.index, now);     // 3, an older chain
    mk = used.mk;
    info.late = true;
  } else {                                                              // 3, a new chain
    const have = s.recv ? s.recv.index : 0;
    if (!s.send) fail('UNKNOWN', 'no new chain expected');
    if (msg.flags & F.START) fail('DECODE', 'START on a later chain');
    if ((!s.recv && msg.prev !== 0) || msg.prev < have)
      fail('UNKNOWN', `new chain with previous ${msg.prev} (we have ${have})`);
    if (msg.index > 0 && (!st || msg.index > MAX_WALK)) fail('LIMIT', `new chain at index ${msg.index}`);
    const keepNew = msg.index > 0 ? Math.min(msg.index, st.maxJump) : 0;
    let keepEnd = 0;
    if (msg.prev > have) {
      if (!st) fail('LIMIT', 'the ending chain has missing messages and no store');
      if (msg.prev - have <= MAX_WALK) keepEnd = Math.min(msg.prev - have, st.maxJump);
      keepEnd = Math.min(keepEnd, st.maxKeys - keepNew);
    }
    prim.importX(msg.ratchetKey, 'ratchet key');
    if ((msg.flags & F.EK) && !prim.ekModulusOk(msg.ek, 768)) fail('KEY', 'offered ek fails the modulus check');
    if ((msg.flags & F.CT) && !s.myOffer) fail('UNKNOWN', 'CT without an outstanding offer');
    // the rest of the ending peer chain
    if (s.recv && msg.prev > have && msg.prev - have <= MAX_WALK)
      added.push(...skipKeys(s.recv.ck, tagOf(s), s.peerRatchet, have, msg.prev, keepEnd, now).kept);
    // the mirror of §11.2
    const ssEcdh = prim.ecdh(s.myScalar, msg.ratchetKey, 'ratchet key');
    let ssKem = Z32;
    let dst = concat(s.siddRecv, L.RATCHET, s.myPub, msg.ratchetKey);
    if (msg.flags & F.CT) {
      ssKem = ctx.kem.decaps(768, s.myOffer.dk, msg.ct);
      dst = concat(dst, msg.ct, s.myOffer.ek);
    }
    const r = kdfRk(s.rk, ssEcdh, ssKem, dst);
    s.rk = r.rk;
    const n = skipKeys(r.ck, tagOf(s), msg.ratchetKey, 0, msg.index, keepNew, now);
    added.push(...n.kept);
    const c = chainStep(n.ck);
    mk = c.mk;
    Object.assign(trace, { ssEcdh, ssKem: (msg.flags & F.CT) ? ssKem : new Uint8Array(0), chainBefore: n.ck });
    // step 6 for a new chain
    if (s.recv) s.prevPeerRatchets = [s.peerRatchet, ...s.prevPeerRatchets].slice(0, PREV_PEER_KEYS);
    s.recv = { ck: c.next, index: msg.index + 1, prevLen: msg.prev, extFlags: msg.flags & F.CT, extDigest: mandatoryDigest(msg) };
    s.peerRatchet = msg.ratchetKey;
    s.prevLen = s.send.index;
    s.send = null; s.myScalar = null; s.myPub = null;
    if (msg.flags & F.CT) { s.myOffer = null; info.kemCompleted = true; }
    if (msg.flags & F.EK) { s.peerOffer = msg.ek; info.kemOffered = true; }
    info.newChain = true;
  }
  const d = openPayload(mk, msg);                                       // 4, 5
  // 6. commit
  if (info.newChain) s.peerApp = false;
  if ((info.newChain || current) && d.contentType === 1) s.peerApp = true; // §16.1
  if (info.kemCompleted) completedPqStep(s, now); else countOne(s);
  s.generation += 1n;
  info.keysStored = added.length;
  if (st) info.keysEvicted = st.commit(added, used, now);
  Object.assign(trace, { rk: s.rk, mk, mki: d.k.mki, aesKey: d.k.key, aesIv: d.k.iv });
  return { state: s, store: st, contentType: d.contentType, body: d.body, ad: msg.ad, info, trace };
}

// §10.3 with a store and a replay cache (either may be null): the start may
// be any message of the initiator's first chain.
export function acceptEx(ctx, selfCert, peerCert, prekey, store, cache, wire, now) {
  const msg = decodeMessage(wire);                                      // 1
  const version = negotiateVersion(selfCert, peerCert);                // 2
  if (msg.version !== version) fail('VERSION', `message version ${msg.version}`);
  if (!(msg.flags & F.START)) fail('DECODE', 'a session start without START'); // 3
  const s = newState(version, selfCert, peerCert, false);
  verifySig(s.siddRecv, s.peer.authKey, wire);                         // 4
  if (!equal(msg.prekeyHash, prim.sha384(prekey.bundle))) fail('UNKNOWN', 'prekey hash names another bundle'); // 5
  const B = decodeBundle(prekey.bundle);
  if (BigInt(now) >= B.expires + 604800n) fail('EXPIRED', 'prekey past its grace window'); // 6
  const startId = prim.sha384(concat(msg.ratchetKey, msg.ct0));        // 7 (§10.4)
  const ca = cache ? cache.copy() : null;
  if (ca && ca.has(startId)) fail('REPLAY', 'this start was accepted before');
  if (ca && ca.entries.length >= ca.max) fail('LIMIT', 'the replay cache is full');
  if (msg.prev !== 0) fail('UNKNOWN', `previous chain length ${msg.prev}`);
  const st = store ? store.copy() : null;
  if (msg.index > 0 && (!st || msg.index > MAX_WALK)) fail('LIMIT', `start at index ${msg.index}`);
  const keep = msg.index > 0 ? Math.min(msg.index, st.maxJump) : 0;
  prim.importX(msg.ratchetKey, 'ratchet key E');                       // 8
  if ((msg.flags & F.EK) && !prim.ekModulusOk(msg.ek, 768)) fail('KEY', 'offered ek fails the modulus check');
  const ssKem = ctx.kem.decaps(1024, prekey.dk, msg.ct0);             // 9
  const ssEcdh = prim.ecdh(prekey.scalar, msg.ratchetKey, 'E');
  const dst = concat(s.siddRecv, L.START, B.ecdhPub, msg.ratchetKey, msg.ct0, B.kemEk);
  const { rk, ck } = kdfRk(Z32, ssEcdh, ssKem, dst);
  const n = skipKeys(ck, msg.ratchetKey.slice(0, 16), msg.ratchetKey, 0, msg.index, keep, now); // 10
  const c = chainStep(n.ck);
  const d = openPayload(c.mk, msg);                                     // 10, 11
  s.rk = rk;
  s.recv = { ck: c.next, index: msg.index + 1, prevLen: 0, extFlags: F.START, extDigest: mandatoryDigest(msg) };
  s.peerRatchet = msg.ratchetKey; s.sessionId = msg.ratchetKey;
  s.peerApp = d.contentType === 1;
  if (msg.flags & F.EK) s.peerOffer = msg.ek;
  completedPqStep(s, now);
  s.generation = 1n;
  const info = { late: false, newChain: true, kemCompleted: true, kemOffered: !!(msg.flags & F.EK),
                 keysStored: n.kept.length, keysEvicted: st ? st.commit(n.kept, null, now) : 0 };
  if (ca) ca.entries.push(startId);
  return { state: s, store: st, cache: ca, contentType: d.contentType, body: d.body, ad: msg.ad, info,
           trace: { rk, mk: c.mk, mki: d.k.mki, aesKey: d.k.key, aesIv: d.k.iv, chainBefore: n.ck } };
}

// §16.1
export function receiptDue(s, policy, now) {
  if (!s.recv || s.send || !s.peerApp) return false;
  const interval = BigInt(policy.receipt_interval || 0);
  if (s.lastReceipt === 0n || interval === 0n) return true;
  const t = BigInt(now);
  return t >= s.lastReceipt && t - s.lastReceipt >= interval;
}

export function receiptBody(s, store) {
  return concat(s.peerRatchet, u32(s.recv.index), u32(store ? store.countChain(tagOf(s), s.peerRatchet) : 0));
}

export function parseReceipt(body) {
  if (body.length !== RECEIPT_BYTES) fail('DECODE', `receipt body of ${body.length} bytes`);
  const n = (o) => ((body[o] << 24) | (body[o + 1] << 16) | (body[o + 2] << 8) | body[o + 3]) >>> 0;
  return { ratchetKey: body.slice(0, 32), nextIndex: n(32), missing: n(36) };
}

// A receipt is a seal of content type 2 with the body of §16.1; it records
// its time as the last receipt.
export function sealReceipt(ctx, state, store, opts) {
  if (!receiptDue(state, opts.policy, opts.now)) fail('LIMIT', 'no receipt is due');
  const body = receiptBody(state, store);
  const r = seal(ctx, state, { ...opts, contentType: 2, body, ad: new Uint8Array(0) });
  r.state.lastReceipt = BigInt(opts.now);
  r.body = body;
  return r;
}
