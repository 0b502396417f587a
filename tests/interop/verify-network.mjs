// Independent check of tests/vectors/protocol-v1-network.json against
// docs/PROTOCOL.md (Appendix B), written from the specification alone: both
// parties are rebuilt from their random sources, every seal is redone with
// the recorded draws and must give the recorded wire bytes and keys, every
// delivery is opened with this implementation's own skipped-key store
// (§13.1), replay cache (§10.4) and receipt rules (§16.1), and must give the
// recorded body, report, store bytes, state digest and message key; every
// refusal must be refused with the recorded error; the final states, stores
// and cache must be byte-identical.
//
//   node tests/interop/verify-network.mjs tests/vectors/protocol-v1-network.json [-v]
//
// Prints one line per failed check and "interop-network: N passed, N
// failed"; exits 1 on any failure, 77 (skipped) when @noble/post-quantum is
// not installed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const noblePath = path.join(here, 'node_modules', '@noble', 'post-quantum', 'ml-kem.js');
if (!fs.existsSync(noblePath)) {
  console.log('SKIPPED: @noble/post-quantum is not installed in tests/interop/node_modules');
  process.exit(77);
}
const noble = await import(pathToFileURL(noblePath).href);

const { hex, unhex, equal, Pq3Error } = await import('./pq3/codec.mjs');
const prim = await import('./pq3/primitives.mjs');
const S = await import('./pq3/structures.mjs');
const sess = await import('./pq3/session.mjs');
const net = await import('./pq3/network.mjs');
const { Drbg, Replay } = await import('./pq3/drbg.mjs');

const args = process.argv.slice(2);
const verbose = args.includes('-v');
const file = args.find((a) => a !== '-v');
if (!file) { console.error('usage: verify-network.mjs VECTORS.json [-v]'); process.exit(2); }

let passed = 0, failed = 0;
function ok(name, cond, detail = '') {
  if (cond) { passed++; return true; }
  failed++;
  console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
  return false;
}
const show = (x) => (x instanceof Uint8Array ? (x.length ? hex(x) : '(empty)') : String(x));
function eq(name, expected, got) {
  const bytes = expected instanceof Uint8Array && got instanceof Uint8Array;
  const same = bytes ? equal(expected, got) : expected === got;
  if (same) return ok(name, true);
  if (bytes && (expected.length > 64 || got.length > 64)) {
    let i = 0;
    while (i < expected.length && i < got.length && expected[i] === got[i]) i++;
    return ok(name, false, `lengths ${expected.length}/${got.length}, first difference at byte ${i}`);
  }
  return ok(name, false, `expected ${show(expected)}, got ${show(got)}`);
}
function attempt(name, fn) {
  try { return fn(); } catch (e) { ok(name, false, `threw ${e.message}`); return undefined; }
}
function expectErr(name, fn, code) {
  try { fn(); return ok(name, false, `accepted, expected ${code}`); } catch (e) {
    if (!(e instanceof Pq3Error)) return ok(name, false, `threw non-protocol error ${e.message}`);
    return ok(name, e.code === code, `expected ${code}, got ${e.message}`);
  }
}
const h = (s) => unhex(s);
function fieldsAre(what, obj, documented) {
  eq(`${what}: fields as in Appendix B`, [...documented].sort().join(' '), Object.keys(obj || {}).sort().join(' '));
}
process.on('uncaughtException', (e) => {
  ok('no unexpected error', false, e && e.stack ? e.stack : String(e));
  console.log(`interop-network: ${passed} passed, ${failed} failed`);
  process.exit(1);
});

const v = JSON.parse(fs.readFileSync(file, 'utf8'));
const ctx = { kem: prim.makeKem(noble) };

// ---- the file (B.2) ------------------------------------------------------------
eq('format', 'OpenPQ3 network vectors v1', v.format);
fieldsAre('top level (B.2)', v, ['format', 'store', 'cache_max', 'prekey', 'start', 'events', 'final_states',
  'final_stores', 'final_cache', 'parties']);
fieldsAre('store (B.2)', v.store, ['max_jump', 'max_keys', 'max_age']);
const SEAL = ['event', 'op', 'sender', 'id', 'time', 'policy', 'content_type', 'plaintext', 'ad', 'rng',
  'direction_change', 'kem', 'flags', 'wire', 'ss_ecdh', 'ss_kem', 'root', 'chain_before', 'chain_after',
  'message_key', 'mki', 'aes_key', 'aes_iv', 'state_sha384'];
const OPEN = ['event', 'op', 'receiver', 'id', 'time', 'content_type', 'plaintext', 'ad', 'late', 'new_chain',
  'kem_completed', 'kem_offered', 'keys_stored', 'keys_evicted', 'root', 'store', 'state_sha384'];
const REFUSE = ['event', 'op', 'receiver', 'id', 'time', 'error'];

// ---- parties, prekey, start (as in Appendix A.3-A.5) ----------------------------
const party = {}, drbg = {};
for (const who of ['alice', 'bob']) {
  const p = v.parties[who];
  drbg[who] = new Drbg(p.drbg_label, p.drbg_k);
  const src = { take: (n) => drbg[who].take(n) };
  const accountPriv = sess.drawScalar(src, 'account');
  const devicePriv = sess.drawScalar(src, 'device');
  eq(`${who} account_priv from DRBG`, h(p.account_priv), accountPriv);
  eq(`${who} device_priv from DRBG`, h(p.device_priv), devicePriv);
  const C = h(p.certificate);
  const cert = S.decodeCert(C);
  const A = prim.compressedOf(accountPriv);
  ok(`${who} certificate signature (§4)`, prim.ecdsaVerify(A, S.certTbs(A, C), cert.signature) === null);
  eq(`${who} certificate authentication key`, prim.compressedOf(devicePriv), cert.authKey);
  party[who] = { cert, devicePriv };
}
eq('alice sidd_send (§7)', h(v.parties.alice.sidd_send), S.sidd(party.alice.cert, party.bob.cert));
eq('bob sidd_send (§7)', h(v.parties.bob.sidd_send), S.sidd(party.bob.cert, party.alice.cert));

const pk = v.prekey;
eq('prekey rng = bob DRBG draws 3..', drbg.bob.take(h(pk.rng).length), h(pk.rng));
const prekey = {};
{
  const rr = new Replay(h(pk.rng), 'prekey rng');
  prekey.scalar = sess.drawScalar(rr, 'prekey scalar');
  const kp = ctx.kem.keygen(1024, rr.take(64, 'd‖z'));
  prekey.dk = kp.dk;
  prekey.bundle = h(pk.bundle);
  const B = S.decodeBundle(prekey.bundle);
  eq('prekey ecdh_pub', B.ecdhPub, prim.xOf(prekey.scalar));
  eq('prekey kem_ek = KeyGen(d, z)', B.kemEk, kp.ek);
  const D = party.bob.cert.authKey;
  ok('bundle signature (§6)', prim.ecdsaVerify(D, S.bundleTbs(D, prekey.bundle), B.signature) === null);
  eq('prekey hash', h(pk.hash), prim.sha384(prekey.bundle));
}
const st0 = v.start;
eq('start rng = alice DRBG draws 3..', drbg.alice.take(h(st0.rng).length), h(st0.rng));
const started = sess.startInitiator(ctx, party.alice.cert, party.bob.cert, prekey.bundle, st0.time,
  new Replay(h(st0.rng), 'start rng'));
eq('start root', h(st0.root), started.trace.rk);
eq('start chain', h(st0.chain), started.trace.ck);
eq('start ct0', h(st0.ct0), started.trace.ct0);

// ---- the events (B.3) ------------------------------------------------------------------
const state = { alice: started.state, bob: null };
const store = {
  alice: new net.Store(v.store.max_jump, v.store.max_keys, v.store.max_age),
  bob: new net.Store(v.store.max_jump, v.store.max_keys, v.store.max_age),
};
let cache = new net.StartCache(prim.sha384(prekey.bundle), v.cache_max);
const sent = new Map(); // id -> the seal record
const digest = (s) => prim.sha384(sess.serializeState(s));
const seen = { late: 0, newAtIndex: 0, olderLate: 0, startRepeated: 0, offerRepeated: 0, answerOffer: 0,
  receipts: 0, refusals: 0, endingKept: 0 };

for (const e of v.events) {
  const tag = `event ${e.event} (${e.op} ${e.id})`;
  eq(`${tag}: event number`, v.events.indexOf(e), e.event);
  if (e.op === 'seal' || e.op === 'receipt') {
    fieldsAre(`${tag} (B.3)`, e, SEAL);
    const X = e.sender;
    const rng = h(e.rng);
    eq(`${tag}: rng = ${X}'s DRBG stream`, drbg[X].take(rng.length), rng);
    const rr = new Replay(rng, `${tag} rng`);
    const opts = { policy: e.policy, now: e.time, rng: rr, contentType: e.content_type, body: h(e.plaintext),
      ad: h(e.ad), sign: (tbs) => prim.ecdsaSignDeterministic(party[X].devicePriv, tbs) };
    const r = attempt(`${tag}: seal`, () => e.op === 'receipt'
      ? net.sealReceipt(ctx, state[X], store[X], opts) : sess.seal(ctx, state[X], opts));
    if (!r) continue;
    if (e.op === 'receipt') {
      seen.receipts++;
      eq(`${tag}: receipt body (§16.1) from our state and store`, h(e.plaintext), r.body);
      eq(`${tag}: content type 2`, 2, e.content_type);
    }
    state[X] = r.state;
    const t = r.trace;
    eq(`${tag}: wire`, h(e.wire), r.wire);
    eq(`${tag}: flags`, e.flags, t.flags);
    eq(`${tag}: direction_change`, e.direction_change, t.directionChange);
    eq(`${tag}: kem`, e.kem, t.kem);
    eq(`${tag}: rng fully used (${rr.describe()})`, 0, rr.left());
    for (const [k, f] of [['root', 'rk'], ['chain_before', 'chainBefore'], ['chain_after', 'chainAfter'],
      ['message_key', 'mk'], ['mki', 'mki'], ['aes_key', 'aesKey'], ['aes_iv', 'aesIv']])
      eq(`${tag}: ${k}`, h(e[k]), t[f]);
    if (e.direction_change) { eq(`${tag}: ss_ecdh`, h(e.ss_ecdh), t.ssEcdh); eq(`${tag}: ss_kem`, h(e.ss_kem), t.ssKem); }
    eq(`${tag}: state_sha384`, h(e.state_sha384), digest(state[X]));
    const m = S.decodeMessage(r.wire);
    if ((m.flags & S.F.START) && m.index > 0) seen.startRepeated++;
    if ((m.flags & S.F.CT) && (m.flags & S.F.EK)) seen.answerOffer++;
    if ((m.flags & S.F.EK) && [...sent.values()].some((o) => o.sender === X && o.ek && equal(o.ek, m.ek))) seen.offerRepeated++;
    sent.set(e.id, { ...e, ek: m.ek, wireBytes: r.wire });
  } else if (e.op === 'open' || e.op === 'accept') {
    fieldsAre(`${tag} (B.3)`, e, e.content_type === 2 ? [...OPEN, 'receipt'] : OPEN);
    const Y = e.receiver;
    const rec = sent.get(e.id);
    if (!ok(`${tag}: the message was sealed before`, !!rec)) continue;
    const W = rec.wireBytes;
    const r = attempt(`${tag}: ${e.op}`, () => e.op === 'accept'
      ? net.acceptEx(ctx, party.bob.cert, party.alice.cert, prekey, store[Y], cache, W, e.time)
      : net.openEx(ctx, state[Y], store[Y], W, e.time));
    if (!r) continue;
    eq(`${tag}: accept only for bob's first message`, e.op === 'accept', state[Y] === null);
    state[Y] = r.state;
    store[Y] = r.store;
    if (r.cache) cache = r.cache;
    eq(`${tag}: content type`, e.content_type, r.contentType);
    eq(`${tag}: plaintext`, h(e.plaintext), r.body);
    eq(`${tag}: plaintext is what was sealed`, h(rec.plaintext), r.body);
    eq(`${tag}: ad`, h(e.ad), r.ad);
    for (const [k, f] of [['late', 'late'], ['new_chain', 'newChain'], ['kem_completed', 'kemCompleted'],
      ['kem_offered', 'kemOffered'], ['keys_stored', 'keysStored'], ['keys_evicted', 'keysEvicted']])
      eq(`${tag}: ${k}`, e[k], r.info[f]);
    eq(`${tag}: message key = the sender's`, h(rec.message_key), r.trace.mk);
    eq(`${tag}: aes key = the sender's`, h(rec.aes_key), r.trace.aesKey);
    eq(`${tag}: root`, h(e.root), state[Y].rk);
    eq(`${tag}: store (§13.2)`, h(e.store), store[Y].serialize());
    eq(`${tag}: state_sha384`, h(e.state_sha384), digest(state[Y]));
    if (e.content_type === 2) {
      const p = net.parseReceipt(r.body);
      eq(`${tag}: receipt ratchet key`, h(e.receipt.ratchet_key), p.ratchetKey);
      eq(`${tag}: receipt next index`, e.receipt.next_index, p.nextIndex);
      eq(`${tag}: receipt missing`, e.receipt.missing, p.missing);
    }
    const m = S.decodeMessage(W);
    if (r.info.late) seen.late++;
    if (r.info.newChain && m.index > 0) seen.newAtIndex++;
    if (r.info.late && !equal(m.ratchetKey, state[Y].peerRatchet)) seen.olderLate++;
    if (r.info.newChain && m.prev > 0 && r.info.keysStored > m.index) seen.endingKept++;
    // The same bytes again are a replay (§13 step 3, §13.1), and change nothing.
    expectErr(`${tag}: opened again`, () => net.openEx(ctx, state[Y], store[Y], W, e.time), 'REPLAY');
  } else if (e.op === 'refuse' || e.op === 'refuse_accept') {
    fieldsAre(`${tag} (B.3)`, e, REFUSE);
    seen.refusals++;
    const Y = e.receiver;
    const rec = sent.get(e.id);
    if (!ok(`${tag}: the message was sealed before`, !!rec)) continue;
    expectErr(`${tag}: refused`, () => e.op === 'refuse_accept'
      ? net.acceptEx(ctx, party.bob.cert, party.alice.cert, prekey, store[Y], cache, rec.wireBytes, e.time)
      : net.openEx(ctx, state[Y], store[Y], rec.wireBytes, e.time), e.error);
  } else {
    ok(`${tag}: known op`, false, e.op);
  }
}

// The file covers what Appendix B says it does.
for (const [k, n] of Object.entries(seen)) ok(`the file exercises ${k}`, n > 0, `${n}`);

// ---- final states, stores, cache (B.2) ---------------------------------------------------
for (const who of ['alice', 'bob']) {
  if (!state[who]) { ok(`final state ${who}`, false, 'no state'); continue; }
  eq(`final state ${who} (§14)`, h(v.final_states[who]), sess.serializeState(state[who]));
  attempt(`final state ${who} decodes`, () => sess.decodeState(h(v.final_states[who])));
  eq(`final store ${who} (§13.2)`, h(v.final_stores[who]), store[who].serialize());
}
eq('final replay cache (§10.4)', h(v.final_cache), cache.serialize());

if (verbose) console.log(seen);
console.log(`interop-network: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
