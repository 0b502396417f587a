// The primitives of docs/PROTOCOL.md §1 over Node's crypto module, plus
// ML-KEM from @noble/post-quantum (passed in by the caller, which may not
// have it installed).
import crypto from 'node:crypto';
import { concat, equal, bytesToBig, bigToBytes, fail } from './codec.mjs';

const u8a = (b) => new Uint8Array(b.buffer ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : b);

export const sha256 = (m) => u8a(crypto.createHash('sha256').update(m).digest());
export const sha384 = (m) => u8a(crypto.createHash('sha384').update(m).digest());
export const hmac = (k, m) => u8a(crypto.createHmac('sha384', k).update(m).digest());

// RFC 5869 §2.2 / §2.3 with HMAC-SHA384 (§1).
export const extract = (salt, ikm) => hmac(salt, ikm);
export function expand(prk, info, L) {
  const out = [];
  let t = new Uint8Array(0);
  let n = 0;
  for (let i = 1; n < L; i++) {
    t = hmac(prk, concat(t, info, Uint8Array.of(i)));
    out.push(t);
    n += t.length;
  }
  return concat(...out).subarray(0, L);
}

// SP 800-38A CTR with the whole 16-byte block as the counter (OpenSSL's
// aes-256-ctr increments all 128 bits, as §1 requires).
export function aesCtr(key, iv, data) {
  const c = crypto.createCipheriv('aes-256-ctr', key, iv);
  return u8a(Buffer.concat([c.update(data), c.final()]));
}

// ---- P-256 -----------------------------------------------------------------
export const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
export const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function modpow(b, e, m) {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
const mod = (a, m) => ((a % m) + m) % m;
export const modinv = (a, m) => modpow(mod(a, m), m - 2n, m); // m prime

// y for an x-coordinate, or null when x is not on the curve (p ≡ 3 mod 4).
function liftX(x) {
  if (x >= P) return null;
  const rhs = mod(x * x * x - 3n * x + B, P);
  const y = modpow(rhs, (P + 1n) / 4n, P);
  return (y * y) % P === rhs ? y : null;
}

// §1: importing an x-only ECDH key rejects x ≥ p and x off the curve; either
// y may be taken.
export function importX(x32, what) {
  if (x32.length !== 32) fail('KEY', `${what}: ECDH key is ${x32.length} bytes`);
  const y = liftX(bytesToBig(x32));
  if (y === null) fail('KEY', `${what}: x is not the x-coordinate of a P-256 point`);
  return concat(Uint8Array.of(0x04), x32, bigToBytes(y, 32));
}

// §14: the y a state stores for an x-only key: the even root.
export function evenY(x32, what) {
  let y = liftX(bytesToBig(x32));
  if (y === null) fail('KEY', `${what}: x is not the x-coordinate of a P-256 point`);
  if (y & 1n) y = P - y;
  return bigToBytes(y, 32);
}

// §14: (x, y) on the curve, both below p.
export function onCurve(x32, y32) {
  const x = bytesToBig(x32), y = bytesToBig(y32);
  return x < P && y < P && mod(y * y, P) === mod(x * x * x - 3n * x + B, P);
}

// 33-byte compressed SEC1 -> 65-byte uncompressed, or PQ3_ERR_KEY.
export function importCompressed(c33, what) {
  if (c33.length !== 33 || (c33[0] !== 2 && c33[0] !== 3))
    fail('KEY', `${what}: not a 33-byte compressed point`);
  let y = liftX(bytesToBig(c33.subarray(1)));
  if (y === null) fail('KEY', `${what}: not on P-256`);
  if (Number(y & 1n) !== (c33[0] & 1)) y = P - y;
  return concat(Uint8Array.of(0x04), c33.subarray(1), bigToBytes(y, 32));
}

export function scalarValid(d32) {
  const d = bytesToBig(d32);
  return d !== 0n && d < N;
}

// Uncompressed public point of a scalar (Node computes d·G).
export function pointOf(d32) {
  const e = crypto.createECDH('prime256v1');
  e.setPrivateKey(Buffer.from(d32));
  return u8a(e.getPublicKey(null, 'uncompressed'));
}
export const xOf = (d32) => pointOf(d32).subarray(1, 33);
export function compressedOf(d32) {
  const p = pointOf(d32);
  return concat(Uint8Array.of(2 | (p[64] & 1)), p.subarray(1, 33));
}

// §1 ECDH(d, X): x(d·Q) for an imported x-only key.
export function ecdh(d32, x32, what) {
  const q = importX(x32, what);
  const e = crypto.createECDH('prime256v1');
  e.setPrivateKey(Buffer.from(d32));
  return u8a(e.computeSecret(Buffer.from(q)));
}

// §1 ECDSA-SHA256 verification with the range and low-s rules: r, s in
// [1, n−1] and s ≤ n/2. Returns a reason string on failure, null on success.
export function ecdsaVerify(pub33, msg, sig) {
  if (sig.length !== 64) return `signature is ${sig.length} bytes`;
  const r = bytesToBig(sig.subarray(0, 32));
  const s = bytesToBig(sig.subarray(32));
  if (r === 0n || r >= N) return 'r out of range';
  if (s === 0n || s >= N) return 's out of range';
  if (s > N / 2n) return 'high s';
  const q = importCompressed(pub33, 'ECDSA key');
  const key = crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: Buffer.from(q.subarray(1, 33)).toString('base64url'),
           y: Buffer.from(q.subarray(33)).toString('base64url') },
    format: 'jwk',
  });
  const ok = crypto.verify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, sig);
  return ok ? null : 'ECDSA verification failed';
}

// ECDSA-SHA256 with RFC 6979 §3.2 nonces and low-s (§1, §5), so the C
// library's signatures can be reproduced byte for byte. k·G comes from Node.
const hmac256 = (k, m) => u8a(crypto.createHmac('sha256', k).update(m).digest());
export function ecdsaSignDeterministic(d32, msg) {
  const d = bytesToBig(d32);
  const h1 = sha256(msg);
  const e = bytesToBig(h1);
  const h1o = bigToBytes(e % N, 32); // bits2octets (qlen = hlen = 256)
  let V = new Uint8Array(32).fill(1);
  let K = new Uint8Array(32);
  K = hmac256(K, concat(V, Uint8Array.of(0), d32, h1o));
  V = hmac256(K, V);
  K = hmac256(K, concat(V, Uint8Array.of(1), d32, h1o));
  V = hmac256(K, V);
  for (;;) {
    V = hmac256(K, V);
    const k = bytesToBig(V);
    if (k >= 1n && k < N) {
      const r = bytesToBig(xOf(V)) % N;
      if (r !== 0n) {
        let s = (modinv(k, N) * (e + r * d)) % N;
        if (s !== 0n) {
          if (s > N / 2n) s = N - s;
          return concat(bigToBytes(r, 32), bigToBytes(s, 32));
        }
      }
    }
    K = hmac256(K, concat(V, Uint8Array.of(0)));
    V = hmac256(K, V);
  }
}

// ---- ML-KEM (§1, FIPS 203) -------------------------------------------------
export const KEM = {
  768: { ek: 1184, dk: 2400, ct: 1088, k: 3 },
  1024: { ek: 1568, dk: 3168, ct: 1568, k: 4 },
};

// FIPS 203 §7.2 modulus check, written out: every 12-bit coefficient of the
// encoded t̂ must be < q = 3329 (ByteEncode12(ByteDecode12(x)) = x).
export function ekModulusOk(ek, bits) {
  const p = KEM[bits];
  if (ek.length !== p.ek) return false;
  const t = ek.subarray(0, 384 * p.k);
  for (let i = 0; i < t.length; i += 3) {
    const a = t[i] | ((t[i + 1] & 0x0f) << 8);
    const b = (t[i + 1] >> 4) | (t[i + 2] << 4);
    if (a >= 3329 || b >= 3329) return false;
  }
  return true;
}

export function makeKem(noble) {
  const impl = { 768: noble.ml_kem768, 1024: noble.ml_kem1024 };
  return {
    keygen(bits, dz) { const r = impl[bits].keygen(dz); return { ek: r.publicKey, dk: r.secretKey }; },
    encaps(bits, ek, m) { const r = impl[bits].encapsulate(ek, m); return { ct: r.cipherText, ss: r.sharedSecret }; },
    decaps(bits, dk, ct) { return impl[bits].decapsulate(ct, dk); },
  };
}

// ---- Padmé (§1) --------------------------------------------------------------
export function padme(L) {
  if (L < 2) return L;
  const log2 = (v) => v.toString(2).length - 1; // floor(log2 v), exact
  const E = log2(L);
  const S = log2(E) + 1;
  const z = E - S;
  const m = 2 ** z;
  return Math.ceil(L / m) * m; // = (L + 2^z − 1) & ~(2^z − 1) without 32-bit overflow
}
export function pad(b) {
  const out = new Uint8Array(padme(b.length + 1));
  out.set(b);
  out[b.length] = 0x80;
  return out;
}
export function unpad(c) {
  let j = c.length - 1;
  while (j >= 0 && c[j] === 0) j--;
  if (j < 0 || c[j] !== 0x80) return null;
  if (c.length !== padme(j + 1)) return null;
  return c.subarray(0, j);
}

export { equal };
export const sha3_256 = (m) => u8a(crypto.createHash('sha3-256').update(m).digest());
