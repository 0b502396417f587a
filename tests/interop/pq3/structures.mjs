// Wire structures of docs/PROTOCOL.md: labels (§3), device certificates (§4),
// prekey bundles (§6), session identity and signed transcripts (§7) and
// messages (§9). Each decoder reads like the spec's table and is strict (§2).
import { Reader, header, fail, concat, ascii, u8, u16, u32, u64, vec16, vec32 } from './codec.mjs';
import { sha384 } from './primitives.mjs';

// §3
export const L = {
  CERT: ascii('OpenPQ3 v1 device certificate'),
  PREKEY: ascii('OpenPQ3 v1 prekey'),
  MSGSIG: ascii('OpenPQ3 v1 message signature'),
  ROOT: ascii('OpenPQ3 v1 root'),
  START: ascii('OpenPQ3 v1 session start'),
  RATCHET: ascii('OpenPQ3 v1 ratchet'),
  MK: ascii('OpenPQ3 v1 message key'),
  CK: ascii('OpenPQ3 v1 chain key'),
  AES: ascii('OpenPQ3 v1 aes-ctr'),
  MKI: ascii('OpenPQ3 v1 key indicator'),
};
export const LABEL_LENGTHS = { CERT: 29, PREKEY: 17, MSGSIG: 28, ROOT: 15, START: 24,
  RATCHET: 18, MK: 22, CK: 20, AES: 18, MKI: 24 };

// ---- §4 device certificate ---------------------------------------------------
export function decodeCert(c) {
  const r = new Reader(c, 'certificate');
  header(r, 0x01);
  const handle = r.vec16(1, 255, 'handle');
  const deviceId = r.bytes(16, 'device id');
  const authKey = r.bytes(33, 'device authentication key');
  const count = r.u8('version count');
  if (count < 1 || count > 8) fail('DECODE', `certificate: version count ${count} outside 1..8`);
  const versions = [...r.bytes(count, 'versions')];
  for (let i = 0; i < count; i++) {
    if (versions[i] < 1) fail('DECODE', 'certificate: version 0');
    if (i > 0 && versions[i] <= versions[i - 1]) fail('DECODE', 'certificate: versions not strictly increasing');
  }
  const created = r.u64('created');
  const expires = r.u64('expires');
  if (expires <= created) fail('DECODE', 'certificate: expires ≤ created');
  const signature = r.bytes(64, 'signature');
  r.done();
  return { handle, deviceId, authKey, versions, created, expires, signature };
}
export function encodeCertTbsBody(f) {
  return concat(u8(1), u8(1), vec16(f.handle), f.deviceId, f.authKey, u8(f.versions.length),
                Uint8Array.from(f.versions), u64(f.created), u64(f.expires));
}
export const certTbs = (accountPub, c) => concat(L.CERT, accountPub, c.subarray(0, c.length - 64));

// ---- §6 prekey bundle --------------------------------------------------------
export const BUNDLE_LEN = 1686;
export function decodeBundle(b) {
  const r = new Reader(b, 'prekey bundle');
  header(r, 0x02);
  const id = r.u32('prekey id');
  const created = r.u64('created');
  const expires = r.u64('expires');
  if (expires <= created) fail('DECODE', 'prekey bundle: expires ≤ created');
  const ecdhPub = r.bytes(32, 'ECDH public key');
  const kemEk = r.bytes(1568, 'KEM encapsulation key');
  const signature = r.bytes(64, 'signature');
  r.done();
  return { id, created, expires, ecdhPub, kemEk, signature };
}
export const bundleTbs = (devicePub, b) => concat(L.PREKEY, devicePub, b.subarray(0, 1622));

// ---- §7 session identity -----------------------------------------------------
export const sid = (x, y) => concat(vec16(x.handle), x.deviceId, x.authKey, vec16(y.handle), y.deviceId, y.authKey);
export const sidd = (x, y) => sha384(sid(x, y));
export const msgTbs = (siddSR, m) => concat(L.MSGSIG, siddSR, sha384(m.subarray(0, m.length - 64)));

// ---- §9 message --------------------------------------------------------------
export const F = { START: 0x01, EK: 0x02, CT: 0x04, AD: 0x08 };
export const EXT_SIZES = { START: 48 + 1568, EK: 1184, CT: 1088 };
export const CT_MAX = 1114112; // §9.1 as written (see the report on Padmé of 1 + 2^20)

export function decodeMessage(m) {
  const r = new Reader(m, 'message');
  if (m.length < 2) fail('DECODE', 'message: truncated before the type byte');
  const version = r.u8('format version');
  const type = r.u8('type');
  // §9.1: the first byte is the session's protocol version; §2 makes any
  // version other than 0x01 a version error before reading on.
  if (version !== 0x01) fail('VERSION', `message: version ${version}`);
  if (type !== 0x03) fail('VERSION', `message: type ${type}`);
  const flags = r.u8('flags');
  if (flags & 0xf0) fail('DECODE', `message: undefined flag bits 0x${(flags & 0xf0).toString(16)}`);
  if ((flags & F.START) && (flags & F.CT)) fail('DECODE', 'message: START together with CT');
  const ratchetKey = r.bytes(32, 'ratchet key');
  const index = r.u32('index');
  const prev = r.u32('previous chain length');
  const extStart = r.o;
  const out = { version, flags, ratchetKey, index, prev };
  if (flags & F.START) {
    out.prekeyHash = r.bytes(48, 'prekey hash');
    out.ct0 = r.bytes(1568, 'start KEM ciphertext');
  }
  if (flags & F.EK) out.ek = r.bytes(1184, 'offered KEM key');
  if (flags & F.CT) out.ct = r.bytes(1088, 'KEM ciphertext');
  out.ext = m.subarray(extStart, r.o);
  out.mki = r.bytes(16, 'mki');
  out.ad = (flags & F.AD) ? r.vec16(1, 4096, 'associated data') : new Uint8Array(0);
  out.ciphertext = r.vec32(2, CT_MAX, 'ciphertext');
  out.signature = r.bytes(64, 'signature');
  r.done();
  return out;
}

// Everything before the signature, in the order of the §9.1 table.
export function encodeMessageBody(f) {
  const parts = [u8(f.version), u8(0x03), u8(f.flags), f.ratchetKey, u32(f.index), u32(f.prev)];
  if (f.flags & F.START) parts.push(f.prekeyHash, f.ct0);
  if (f.flags & F.EK) parts.push(f.ek);
  if (f.flags & F.CT) parts.push(f.ct);
  parts.push(f.mki);
  if (f.flags & F.AD) parts.push(vec16(f.ad));
  parts.push(vec32(f.ciphertext));
  return concat(...parts);
}

export { u16 };
