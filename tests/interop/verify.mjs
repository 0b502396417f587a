// Independent check of tests/vectors/protocol-v1.json against
// docs/PROTOCOL.md, written from the specification alone: decodes every
// structure strictly, verifies every signature, re-derives every key by
// running the key schedule and ratchets as sender and as receiver, decrypts
// and re-encrypts every message, reproduces the deterministic signatures
// (RFC 6979) and the final serialized states, and checks that tampered
// messages are rejected.
//
//   node tests/interop/verify.mjs tests/vectors/protocol-v1.json [-v]
//
// Prints one line per failed check and "interop: N passed, N failed"; exits
// 1 on any failure, 77 (skipped) when @noble/post-quantum is not installed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const noblePath = path.join(here, 'node_modules', '@noble', 'post-quantum', 'ml-kem.js');
if (!fs.existsSync(noblePath)) {
  console.log('SKIPPED: @noble/post-quantum is not installed in tests/interop/node_modules');
  console.log('SKIPPED: run `npm install` in tests/interop (scripts/install-deps does) to enable the interop check');
  process.exit(77);
}
const noble = await import(pathToFileURL(noblePath).href);

const { hex, unhex, concat, equal, Pq3Error } = await import('./pq3/codec.mjs');
const prim = await import('./pq3/primitives.mjs');
const S = await import('./pq3/structures.mjs');
const K = await import('./pq3/kdf.mjs');
const sess = await import('./pq3/session.mjs');
const { Drbg, Replay } = await import('./pq3/drbg.mjs');

const args = process.argv.slice(2);
const verbose = args.includes('-v');
const file = args.find((a) => a !== '-v');
if (!file) { console.error('usage: verify.mjs VECTORS.json [-v]'); process.exit(2); }

// ---- check bookkeeping ----------------------------------------------------
let passed = 0, failed = 0;
const section = { name: '', p: 0, f: 0 };
const sections = [];
function begin(name) { section.name = name; section.p = 0; section.f = 0; }
function end() { sections.push(`${section.name}: ${section.p} passed, ${section.f} failed`); }
function ok(name, cond, detail = '') {
  if (cond) { passed++; section.p++; return true; }
  failed++; section.f++;
  console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
  return false;
}
const show = (x) => (x instanceof Uint8Array ? (x.length ? hex(x) : '(empty)') : String(x));
// Long byte strings are reported by length and the first differing window.
function diffBytes(a, b) {
  if (a.length <= 64 && b.length <= 64) return `expected ${show(a)}, got ${show(b)}`;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const w = (x) => hex(x.subarray(Math.max(0, i - 8), i + 24));
  return `lengths ${a.length}/${b.length}, first difference at byte ${i}: expected …${w(a)}…, got …${w(b)}…`;
}
function eq(name, expected, got) {
  const bytes = expected instanceof Uint8Array && got instanceof Uint8Array;
  const same = bytes ? equal(expected, got) : expected === got;
  if (same) return ok(name, true);
  return ok(name, false, bytes ? diffBytes(expected, got) : `expected ${show(expected)}, got ${show(got)}`);
}
// Runs fn; a thrown error is a failed check named `name`.
function attempt(name, fn) {
  try { return fn(); } catch (e) { ok(name, false, `threw ${e.message}`); return undefined; }
}
function expectErr(name, fn, code, what = null) {
  try {
    fn();
    return ok(name, false, `accepted, expected ${code}`);
  } catch (e) {
    if (!(e instanceof Pq3Error)) return ok(name, false, `threw non-protocol error ${e.message}`);
    const good = e.code === code && (what === null || e.message.includes(what));
    return ok(name, good, good ? '' : `expected ${code}${what ? ` (${what})` : ''}, got ${e.message}`);
  }
}
const h = (s, what) => unhex(s, what);

// A malformed vector file must still end in a counted failure and the summary.
process.on('uncaughtException', (e) => {
  ok('no unexpected error', false, e && e.stack ? e.stack : String(e));
  console.log(`interop: ${passed} passed, ${failed} failed`);
  process.exit(1);
});

// ---- load -----------------------------------------------------------------
const v = JSON.parse(fs.readFileSync(file, 'utf8'));
const ctx = { kem: prim.makeKem(noble) };

begin('file');
eq('format', 'OpenPQ3 protocol vectors v1', v.format);
for (const [name, len] of Object.entries(S.LABEL_LENGTHS)) eq(`label ${name} length`, len, S.L[name].length);
// The fields Appendix A documents, and no others.
function fieldsAre(what, obj, documented) {
  const have = Object.keys(obj || {}).sort().join(' ');
  eq(`${what}: fields as in Appendix A`, [...documented].sort().join(' '), have);
}
fieldsAre('top level (A.2)', v, ['format', 'policy', 'parties', 'prekey', 'start', 'messages', 'snapshots', 'final_states']);
fieldsAre('policy (A.2)', v.policy, ['max_messages', 'max_age']);
for (const who of ['alice', 'bob'])
  fieldsAre(`party ${who} (A.3)`, v.parties[who], ['drbg_label', 'drbg_k', 'handle', 'device_id', 'account_priv',
    'account_pub', 'device_priv', 'device_pub', 'versions', 'cert_created', 'cert_expires', 'certificate', 'sidd_send']);
fieldsAre('prekey (A.4)', v.prekey, ['id', 'created', 'expires', 'rng', 'ecdh_priv', 'ecdh_pub', 'kem_ek', 'bundle', 'hash']);
fieldsAre('start (A.5)', v.start, ['time', 'rng', 'ephemeral_pub', 'ct0', 'ss_ecdh', 'ss_kem', 'root', 'chain']);
const A6 = ['step', 'sender', 'time', 'constrained', 'content_type', 'plaintext', 'ad', 'rng',
  'direction_change', 'kem', 'flags', 'wire', 'ss_ecdh', 'ss_kem', 'root', 'chain_before', 'chain_after',
  'message_key', 'mki', 'aes_key', 'aes_iv'];
const bad = (v.messages || []).filter((m) => Object.keys(m).sort().join(' ') !== [...A6].sort().join(' '));
ok('messages: fields as in Appendix A.6', bad.length === 0, bad.length ? `step ${bad[0].step}: ${Object.keys(bad[0]).join(' ')}` : '');
fieldsAre('final_states (A.2)', v.final_states, ['alice', 'bob']);
end();

// ---- parties (§4, §7, A.1, A.3) -------------------------------------------
begin('parties');
const party = {};
const drbg = {};
const startTime = v.start.time;
for (const who of ['alice', 'bob']) {
  const p = v.parties[who];
  const me = (party[who] = { rec: p });
  drbg[who] = new Drbg(p.drbg_label, p.drbg_k);
  // A.3: the account scalar is drawn first, the device scalar second (§15).
  me.accountPriv = sess.drawScalar({ take: (n) => drbg[who].take(n) }, 'account');
  eq(`${who} account_priv from DRBG`, h(p.account_priv), me.accountPriv);
  eq(`${who} account_pub`, h(p.account_pub), prim.compressedOf(h(p.account_priv)));
  me.devicePriv = sess.drawScalar({ take: (n) => drbg[who].take(n) }, 'device');
  eq(`${who} device_priv from DRBG`, h(p.device_priv), me.devicePriv);
  eq(`${who} device_pub`, h(p.device_pub), prim.compressedOf(h(p.device_priv)));
  me.devicePriv = h(p.device_priv);
  const C = h(p.certificate);
  const cert = attempt(`${who} certificate decode`, () => S.decodeCert(C));
  if (!cert) continue;
  me.cert = cert;
  eq(`${who} certificate handle`, h(p.handle), cert.handle);
  eq(`${who} certificate device id`, h(p.device_id), cert.deviceId);
  eq(`${who} certificate authentication key`, h(p.device_pub), cert.authKey);
  eq(`${who} certificate versions`, JSON.stringify(p.versions), JSON.stringify(cert.versions));
  eq(`${who} certificate created`, BigInt(p.cert_created), cert.created);
  eq(`${who} certificate expires`, BigInt(p.cert_expires), cert.expires);
  eq(`${who} certificate re-encoded`, C.subarray(0, C.length - 64), S.encodeCertTbsBody(cert));
  // §4 verification order: decode, import A, signature, validity, device key.
  const A = h(p.account_pub);
  ok(`${who} account key imports`, attempt(`${who} account key import`, () => prim.importCompressed(A, 'A')) !== undefined);
  const why = prim.ecdsaVerify(A, S.certTbs(A, C), cert.signature);
  ok(`${who} certificate signature (§4)`, why === null, why);
  eq(`${who} certificate signature is RFC 6979`, cert.signature, prim.ecdsaSignDeterministic(h(p.account_priv), S.certTbs(A, C)));
  const now = BigInt(startTime);
  ok(`${who} certificate valid at the start time`, now < cert.expires && now + 3600n >= cert.created);
  ok(`${who} device key imports`, attempt(`${who} device key import`, () => prim.importCompressed(cert.authKey, 'D')) !== undefined);
}
if (party.alice.cert && party.bob.cert) {
  eq('alice sidd_send = sidd(alice→bob) (§7)', h(v.parties.alice.sidd_send), S.sidd(party.alice.cert, party.bob.cert));
  eq('bob sidd_send = sidd(bob→alice) (§7)', h(v.parties.bob.sidd_send), S.sidd(party.bob.cert, party.alice.cert));
  eq('negotiated version (§10.1)', 1, attempt('negotiate', () => sess.negotiateVersion(party.alice.cert, party.bob.cert)));
}
end();
if (!party.alice.cert || !party.bob.cert) finish();

// ---- prekey bundle (§6, A.4) ------------------------------------------------
begin('prekey');
const pk = v.prekey;
const pkRng = h(pk.rng);
eq('prekey rng = bob DRBG draws 3..', drbg.bob.take(pkRng.length), pkRng);
const prekey = {};
{
  const rr = new Replay(pkRng, 'prekey rng');
  prekey.scalar = sess.drawScalar(rr, 'prekey scalar');
  const kp = ctx.kem.keygen(1024, rr.take(64, 'd‖z'));
  eq('prekey rng fully used (§15 order: scalar, d‖z)', 0, rr.left());
  prekey.dk = kp.dk;
  eq('prekey ecdh_priv', h(pk.ecdh_priv), prekey.scalar);
  eq('prekey ecdh_pub', h(pk.ecdh_pub), prim.xOf(prekey.scalar));
  eq('prekey kem_ek = KeyGen(d, z)', h(pk.kem_ek), kp.ek);
  const Bb = (prekey.bundle = h(pk.bundle));
  eq('bundle length 1686', S.BUNDLE_LEN, Bb.length);
  const B = attempt('bundle decode', () => S.decodeBundle(Bb));
  if (B) {
    eq('bundle id', pk.id, B.id);
    eq('bundle created', BigInt(pk.created), B.created);
    eq('bundle expires', BigInt(pk.expires), B.expires);
    eq('bundle ECDH key', h(pk.ecdh_pub), B.ecdhPub);
    eq('bundle KEM key', h(pk.kem_ek), B.kemEk);
    const D = party.bob.cert.authKey;
    const why = prim.ecdsaVerify(D, S.bundleTbs(D, Bb), B.signature);
    ok('bundle signature (§6)', why === null, why);
    eq('bundle signature is RFC 6979', B.signature, prim.ecdsaSignDeterministic(party.bob.devicePriv, S.bundleTbs(D, Bb)));
    const now = BigInt(startTime);
    ok('bundle valid at the start time', now < B.expires && now + 3600n >= B.created);
    ok('bundle ECDH key imports', attempt('bundle ECDH import', () => prim.importX(B.ecdhPub, 'bundle')) !== undefined);
    ok('bundle ek passes the modulus check', prim.ekModulusOk(B.kemEk, 1024));
    eq('prekey hash = SHA-384(bundle)', h(pk.hash), prim.sha384(Bb));
    // Negative: a flipped byte anywhere before the signature breaks it.
    for (const off of [2, 22, 54, 1621]) {
      const t = Bb.slice(); t[off] ^= 0x01;
      ok(`bundle with byte ${off} flipped is rejected`, prim.ecdsaVerify(D, S.bundleTbs(D, t), B.signature) !== null);
    }
    const t = Bb.slice(); t[0] = 2;
    expectErr('bundle with format version 2', () => S.decodeBundle(t), 'VERSION');
    expectErr('bundle truncated', () => S.decodeBundle(Bb.subarray(0, 1685)), 'DECODE');
  }
  for (const who of ['alice', 'bob']) {
    const C = h(v.parties[who].certificate);
    const A = h(v.parties[who].account_pub);
    const t = C.slice(); t[5] ^= 0x20;
    ok(`${who} certificate with a flipped byte is rejected`, prim.ecdsaVerify(A, S.certTbs(A, t), party[who].cert.signature) !== null);
    const other = h(v.parties[who === 'alice' ? 'bob' : 'alice'].account_pub);
    ok(`${who} certificate under the other account is rejected`, prim.ecdsaVerify(other, S.certTbs(other, C), party[who].cert.signature) !== null);
  }
}
end();

// ---- session start (§10.2, A.5) ---------------------------------------------
begin('start');
const st = v.start;
const stRng = h(st.rng);
eq('start rng = alice DRBG draws 3..', drbg.alice.take(stRng.length), stRng);
let alice = null, bob = null;
{
  const rr = new Replay(stRng, 'start rng');
  const r = attempt('start (initiator)', () =>
    sess.startInitiator(ctx, party.alice.cert, party.bob.cert, prekey.bundle, st.time, rr));
  if (r) {
    alice = r.state;
    eq('start rng fully used (§15: scalar, m)', 0, rr.left());
    eq('start ephemeral_pub', h(st.ephemeral_pub), r.trace.ephemeralPub);
    eq('start ct0', h(st.ct0), r.trace.ct0);
    eq('start ss_ecdh', h(st.ss_ecdh), r.trace.ssEcdh);
    eq('start ss_kem', h(st.ss_kem), r.trace.ssKem);
    eq('start root', h(st.root), r.trace.rk);
    eq('start chain', h(st.chain), r.trace.ck);
    eq('start transcript length (§10.2 step 4)', 48 + 24 + 32 + 32 + 1568 + 1568, r.trace.dst.length);
    // Receiver side of the KEM: decapsulation with the prekey dk.
    eq('start ss_kem by Decaps(prekey dk, ct0)', h(st.ss_kem), ctx.kem.decaps(1024, prekey.dk, h(st.ct0)));
    eq('start ss_ecdh by ECDH(prekey scalar, E)', h(st.ss_ecdh), prim.ecdh(prekey.scalar, h(st.ephemeral_pub), 'E'));
  }
}
end();

// ---- messages (§9, §11, §12, §13, A.6) --------------------------------------
const MSG_FIELDS = ['version', 'flags', 'ratchetKey', 'index', 'prev', 'prekeyHash', 'ct0', 'ek', 'ct', 'mki', 'ad', 'ciphertext', 'signature'];
function diffMessages(name, expWire, gotWire) {
  let e, g;
  try { e = S.decodeMessage(expWire); } catch (x) { return ok(`${name} vector wire decodes`, false, x.message); }
  try { g = S.decodeMessage(gotWire); } catch (x) { return ok(`${name} our wire decodes`, false, x.message); }
  for (const f of MSG_FIELDS) {
    const a = e[f] === undefined ? '(absent)' : e[f];
    const b = g[f] === undefined ? '(absent)' : g[f];
    if (typeof a === 'string' || typeof b === 'string') eq(`${name} field ${f}`, show(a), show(b));
    else eq(`${name} field ${f}`, a, b);
  }
}

const negSteps = new Set([0, 1, 2, 3, 27, 28, 29, 59, 60, 120, 150, 151, v.messages.length - 1]);
function negatives(step, rec, Y, openFn, senderPriv, siddSR) {
  const W = h(rec.wire);
  const m = S.decodeMessage(W);
  const tag = `message ${step} negative`;
  const flip = (off, bit = 0x01) => { const t = W.slice(); t[off] ^= bit; return t; };
  const resign = (t) => { t.set(prim.ecdsaSignDeterministic(senderPriv, S.msgTbs(siddSR, t)), t.length - 64); return t; };
  const mkiOff = 43 + m.ext.length;
  const adLen = m.ad.length ? 2 + m.ad.length : 0;
  const ctOff = mkiOff + 16 + adLen + 4;
  // Tampering without re-signing: the signature check (§13 step 2) rejects.
  const spots = { 'ratchet key': 3, index: 38, 'previous chain length': 42, mki: mkiOff, ciphertext: ctOff,
                  'last ciphertext byte': W.length - 65, 'signature r': W.length - 64, 'signature s': W.length - 1 };
  if (m.ext.length) spots['extension'] = 43 + Math.floor(m.ext.length / 2);
  if (m.ad.length) spots['AD'] = mkiOff + 18;
  for (const [what, off] of Object.entries(spots)) expectErr(`${tag}: flipped ${what} byte`, () => openFn(flip(off)), 'VERIFY', 'signature');
  expectErr(`${tag}: flipped flags bit AD`, () => openFn(flip(2, 0x08)), 'DECODE');
  expectErr(`${tag}: undefined flag bit 0x10`, () => openFn(flip(2, 0x10)), 'DECODE');
  expectErr(`${tag}: version byte 2`, () => openFn(flip(0, 0x03)), 'VERSION');
  expectErr(`${tag}: type byte 4`, () => openFn(flip(1, 0x07)), 'VERSION');
  expectErr(`${tag}: truncated by one byte`, () => openFn(W.subarray(0, W.length - 1)), 'DECODE');
  expectErr(`${tag}: one trailing byte`, () => openFn(concat(W, Uint8Array.of(0))), 'DECODE');
  // Re-signed with the sender's key, so the signature passes and the later
  // checks have to catch it (§13 steps 3..5).
  expectErr(`${tag}: mki flipped, re-signed`, () => openFn(resign(flip(mkiOff))), 'VERIFY', 'mki');
  expectErr(`${tag}: padding byte flipped, re-signed`, () => openFn(resign(flip(W.length - 65, 0x40))), 'DECODE', 'padding');
  // A changed KEM ciphertext: on a chain's first message, implicit
  // rejection gives another ss_kem, so the mki no longer matches; on a
  // repeated header, the extension digest check (§13 step 3) catches it.
  if (m.flags & S.F.CT)
    expectErr(`${tag}: KEM ciphertext flipped, re-signed`, () => openFn(resign(flip(43 + (m.flags & S.F.EK ? 1184 : 0) + 7))),
              'VERIFY', m.index === 0 ? 'mki' : 'repeated extension');
  if (step > 0 && m.index === 0)
    expectErr(`${tag}: ratchet key replaced, re-signed`, () => openFn(resign(W.slice().fill(0x11, 3, 35))), 'KEY');
  const Gx = prim.xOf(Uint8Array.of(...new Uint8Array(31), 1)); // x(1·G), a valid key
  const setU32 = (t, off, val) => { t[off] = val >>> 24; t[off + 1] = (val >>> 16) & 255; t[off + 2] = (val >>> 8) & 255; t[off + 3] = val & 255; return t; };
  if (step > 0 && m.index === 0) {
    // A valid but different ratchet key: another ECDH secret, so the mki fails.
    expectErr(`${tag}: other valid ratchet key, re-signed`, () => { const t = W.slice(); t.set(Gx, 3); return openFn(resign(t)); }, 'VERIFY', 'mki');
  }
  if (m.index > 0) {
    // §13 step 3 on a chain in progress.
    expectErr(`${tag}: new ratchet key where no new chain is expected, re-signed`,
              () => { const t = W.slice(); t.set(Gx, 3); return openFn(resign(t)); }, 'UNKNOWN', 'no new chain');
    expectErr(`${tag}: index + 1, re-signed`, () => openFn(resign(setU32(W.slice(), 35, m.index + 1))), 'LIMIT', 'index');
    expectErr(`${tag}: index − 1, re-signed`, () => openFn(resign(setU32(W.slice(), 35, m.index - 1))), 'REPLAY');
    expectErr(`${tag}: previous chain length + 1, re-signed`, () => openFn(resign(setU32(W.slice(), 39, m.prev + 1))), 'DECODE', 'previous chain length');
  }
  if (step > 0)
    expectErr(`${tag}: signed for the other direction`, () => {
      const t = W.slice();
      t.set(prim.ecdsaSignDeterministic(senderPriv, S.msgTbs(Y.siddSend, t)), t.length - 64);
      return openFn(t);
    }, 'VERIFY', 'signature');
}

const parties = { alice: null, bob: null };
parties.alice = alice;
let stepsOk = 0;
const opened = [];
for (const rec of v.messages) {
  const n = rec.step;
  const X = rec.sender, Yn = X === 'alice' ? 'bob' : 'alice';
  begin(`message ${n}`);
  const tag = `message ${n} (${X}→${Yn})`;
  eq(`${tag} step number`, v.messages.indexOf(rec), n);
  const W = h(rec.wire);
  const rng = h(rec.rng);
  eq(`${tag} rng = ${X}'s DRBG stream`, drbg[X].take(rng.length), rng);
  // A.6 listed values, reproduced by both ends.
  const expect = {
    root: h(rec.root), chainBefore: h(rec.chain_before), chainAfter: h(rec.chain_after),
    mk: h(rec.message_key), mki: h(rec.mki), aesKey: h(rec.aes_key), aesIv: h(rec.aes_iv),
    ssEcdh: h(rec.ss_ecdh), ssKem: h(rec.ss_kem),
  };
  const compareTrace = (who, t, withSs) => {
    for (const k of ['root', 'chainBefore', 'chainAfter', 'mk', 'mki', 'aesKey', 'aesIv']) {
      eq(`${tag} ${who}: ${k}`, expect[k], k === 'root' ? t.rk : t[k]);
    }
    if (withSs) { eq(`${tag} ${who}: ss_ecdh`, expect.ssEcdh, t.ssEcdh); eq(`${tag} ${who}: ss_kem`, expect.ssKem, t.ssKem); }
  };

  // Sender: seal per §12 with the recorded draws and a deterministic signer.
  const policy = { max_messages: v.policy.max_messages, max_age: v.policy.max_age,
                   constrained: !!rec.constrained };
  if (parties[X]) {
    const rr = new Replay(rng, `message ${n} rng`);
    const sealed = attempt(`${tag} seal`, () => sess.seal(ctx, parties[X], {
      policy, now: rec.time, rng: rr, contentType: rec.content_type, body: h(rec.plaintext), ad: h(rec.ad),
      sign: (tbs) => prim.ecdsaSignDeterministic(party[X].devicePriv, tbs) }));
    if (sealed) {
      parties[X] = sealed.state;
      const t = sealed.trace;
      eq(`${tag} sender: direction_change`, rec.direction_change, t.directionChange);
      eq(`${tag} sender: kem`, rec.kem, t.kem);
      eq(`${tag} sender: flags`, rec.flags, t.flags);
      eq(`${tag} sender: rng fully used (${rr.describe()})`, 0, rr.left());
      compareTrace('sender', t, rec.direction_change);
      if (!eq(`${tag} sender: re-sealed wire equals the vector`, W, sealed.wire)) diffMessages(`${tag} sender`, W, sealed.wire);
    }
  } else ok(`${tag} sender state exists`, false, 'no state');

  // Receiver: open the vector's bytes per §13 (§10.3 for the first).
  const Y = parties[Yn];
  const openFn = n === 0
    ? (w) => sess.startResponder(ctx, party.bob.cert, party.alice.cert, prekey, w, rec.time)
    : (w) => sess.open(ctx, Y, w, rec.time);
  if (negSteps.has(n) && (n === 0 || Y)) {
    const siddSR = S.sidd(party[X].cert, party[Yn].cert);
    attempt(`${tag} negative cases`, () =>
      negatives(n, rec, Y || { siddSend: S.sidd(party.bob.cert, party.alice.cert) }, openFn, party[X].devicePriv, siddSR));
  }
  if (n === 0 || Y) {
    const r = attempt(`${tag} open`, () => openFn(W));
    if (r) {
      parties[Yn] = r.state;
      opened.push({ n, wire: W, receiver: Yn, time: rec.time });
      eq(`${tag} receiver: content type`, rec.content_type, r.contentType);
      eq(`${tag} receiver: plaintext`, h(rec.plaintext), r.body);
      eq(`${tag} receiver: AD`, h(rec.ad), r.ad);
      const m = S.decodeMessage(W);
      eq(`${tag} receiver: flags`, rec.flags, m.flags);
      if (n === 0) {
        // §10.3: the start's shared secrets come from the prekey secrets.
        eq(`${tag} receiver: start ss_ecdh`, h(st.ss_ecdh), r.trace.ssEcdh);
        eq(`${tag} receiver: start ss_kem`, h(st.ss_kem), r.trace.ssKem);
        eq(`${tag} receiver: start chain`, h(st.chain), r.trace.chainBefore);
      }
      compareTrace('receiver', r.trace, n !== 0 && rec.direction_change);
      if (n !== 0) eq(`${tag} receiver: direction change seen`, rec.direction_change, r.trace.directionChange);
      // Replaying the message just opened is refused (§13 step 3).
      if (negSteps.has(n)) expectErr(`${tag} replayed`, () => sess.open(ctx, r.state, W, rec.time), 'REPLAY');
      // Re-encrypt with the receiver's keys and compare the ciphertext.
      const payload = prim.pad(concat(Uint8Array.of(r.contentType), r.body));
      eq(`${tag} receiver: re-encrypted ciphertext`, m.ciphertext, prim.aesCtr(r.trace.aesKey, r.trace.aesIv, payload));
    }
  } else ok(`${tag} receiver state exists`, false, 'no state');
  // A.7: serialized states of both parties after selected steps (§14).
  for (const snap of v.snapshots.filter((x) => x.step === n)) {
    fieldsAre(`snapshot ${n} (A.7)`, snap, ['step', 'alice', 'bob']);
    for (const who of ['alice', 'bob'])
      if (parties[who]) eq(`${tag} snapshot: ${who}'s serialized state`, h(snap[who]), sess.serializeState(parties[who]));
  }
  end();
  if (section.f === 0) stepsOk++;
}

// Out-of-order: the message after next on one chain is refused (§13 step 3).
begin('ordering');
{
  // Rebuild states by reopening from scratch up to a chain of ≥ 2 messages.
  let idx = v.messages.findIndex((m, i) => i > 0 && v.messages[i + 1] && v.messages[i + 1].sender === m.sender && !v.messages[i + 1].direction_change);
  if (idx > 0) ok('found a chain of two messages', true);
  const st2 = { alice: null, bob: null };
  try {
    st2.alice = sess.startInitiator(ctx, party.alice.cert, party.bob.cert, prekey.bundle, st.time, new Replay(stRng, 'x')).state;
    for (let i = 0; i < idx; i++) {
      const rec = v.messages[i];
      const Yn = rec.sender === 'alice' ? 'bob' : 'alice';
      st2[Yn] = i === 0 ? sess.startResponder(ctx, party.bob.cert, party.alice.cert, prekey, h(rec.wire), rec.time).state
                        : sess.open(ctx, st2[Yn], h(rec.wire), rec.time).state;
    }
    const rec = v.messages[idx + 1];
    const Yn = rec.sender === 'alice' ? 'bob' : 'alice';
    expectErr(`message ${idx + 1} opened before message ${idx}`, () => sess.open(ctx, st2[Yn], h(rec.wire), rec.time),
              'LIMIT'); // §13.1: a gap needs skipped keys; this receiver keeps none
  } catch (e) { ok('ordering setup', false, e.message); }
}
end();

// ---- final states (§14, A.2) -------------------------------------------------
begin('final states');
for (const who of ['alice', 'bob']) {
  const exp = h(v.final_states[who]);
  const theirs = attempt(`final state ${who} decodes (§14)`, () => sess.decodeState(exp));
  if (!parties[who]) { ok(`final state ${who}`, false, 'no state'); continue; }
  const ours = sess.serializeState(parties[who]);
  if (!eq(`final state ${who} serialized`, exp, ours) && theirs) {
    const mine = sess.decodeState(ours);
    for (const k of new Set([...Object.keys(theirs), ...Object.keys(mine)])) {
      const a = theirs[k] === undefined ? '(absent)' : theirs[k], b = mine[k] === undefined ? '(absent)' : mine[k];
      if (a instanceof Uint8Array && b instanceof Uint8Array) eq(`final state ${who} field ${k}`, a, b);
      else eq(`final state ${who} field ${k}`, show(a), show(b));
    }
  }
  if (theirs) {
    eq(`final state ${who} is format 4 (§14)`, 4, exp[0]);
    // §14: format 3, the previous one, is read too: the same fields without
    // the generation (which then reads as 0) and the two peer key y values.
    const genAt = 6 + (2 + theirs.self_handle.length + 49) + (2 + theirs.peer_handle.length + 49) + 32 + 4 + 32 + 4 + 8 + 32 + 8;
    const v3 = concat(Uint8Array.of(3), exp.subarray(1, genAt), exp.subarray(genAt + 8 + 64));
    const old = attempt(`final state ${who} as format 3 decodes`, () => sess.decodeState(v3));
    if (old) {
      eq(`final state ${who} as format 3: generation 0`, 0n, old.generation);
      for (const k of Object.keys(theirs)) {
        if (k === 'format' || k === 'generation' || k === 'peer_auth_y' || k === 'peer_ratchet_y') continue;
        const a = theirs[k], b = old[k];
        if (a instanceof Uint8Array && b instanceof Uint8Array) eq(`final state ${who} as format 3: field ${k}`, a, b);
        else eq(`final state ${who} as format 3: field ${k}`, show(a), show(b));
      }
    }
    for (const fv of [2, 5]) {
      const t = exp.slice(); t[0] = fv;
      expectErr(`final state ${who} with format version ${fv}`, () => sess.decodeState(t), 'VERSION');
    }
    const t = exp.slice(); t[3] |= 0x80;
    expectErr(`final state ${who} with an undefined flag`, () => sess.decodeState(t), 'DECODE');
    expectErr(`final state ${who} truncated`, () => sess.decodeState(exp.subarray(0, exp.length - 1)), 'DECODE');
  }
}
end();

finish();

function finish() {
  if (verbose) for (const s of sections) console.log(`  ${s}`);
  if (v.messages) console.log(`messages fully verified: ${stepsOk}/${v.messages.length} (${file})`);
  console.log(`interop: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}
