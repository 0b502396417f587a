// Byte helpers and a strict reader for the encodings of docs/PROTOCOL.md §2:
// fixed-width big-endian integers, vec16/vec32 with stated bounds, and a
// decoder that rejects truncation and trailing bytes.

export class Pq3Error extends Error {
  // code is the name of the pq3_err the spec assigns (DECODE, VERSION,
  // VERIFY, KEY, EXPIRED, UNKNOWN, REPLAY, ARG).
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

export const fail = (code, message) => { throw new Pq3Error(code, message); };

export const hex = (b) => Buffer.from(b).toString('hex');
export function unhex(s, what = 'hex') {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s))
    throw new Error(`${what}: not lowercase hex of even length`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export const ascii = (s) => new Uint8Array(Buffer.from(s, 'latin1'));

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export const u8 = (v) => Uint8Array.of(v & 0xff);
export const u16 = (v) => Uint8Array.of((v >>> 8) & 0xff, v & 0xff);
export const u32 = (v) => Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
export function u64(v) {
  const b = new Uint8Array(8);
  let x = BigInt(v);
  for (let i = 7; i >= 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; }
  return b;
}
export const vec16 = (x) => concat(u16(x.length), x);
export const vec32 = (x) => concat(u32(x.length), x);

export const bytesToBig = (b) => (b.length === 0 ? 0n : BigInt('0x' + hex(b)));
export function bigToBytes(v, len) {
  const s = v.toString(16).padStart(len * 2, '0');
  if (s.length > len * 2) throw new Error('integer too large');
  return unhex(s);
}

// Strict sequential reader: every read past the end is PQ3_ERR_DECODE
// (§2 "Decoders are strict"), and done() rejects trailing bytes.
export class Reader {
  constructor(buf, what) { this.b = buf; this.o = 0; this.what = what; }
  bytes(n, field) {
    if (this.o + n > this.b.length)
      fail('DECODE', `${this.what}: truncated in ${field} (need ${n} at offset ${this.o}, have ${this.b.length - this.o})`);
    const r = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return r;
  }
  u8(f) { return this.bytes(1, f)[0]; }
  u16(f) { const b = this.bytes(2, f); return (b[0] << 8) | b[1]; }
  u32(f) { const b = this.bytes(4, f); return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0; }
  u64(f) { return bytesToBig(this.bytes(8, f)); }
  vec16(min, max, f) {
    const n = this.u16(f);
    if (n < min || n > max) fail('DECODE', `${this.what}: ${f} length ${n} outside ${min}..${max}`);
    return this.bytes(n, f);
  }
  vec32(min, max, f) {
    const n = this.u32(f);
    if (n < min || n > max) fail('DECODE', `${this.what}: ${f} length ${n} outside ${min}..${max}`);
    return this.bytes(n, f);
  }
  done() {
    if (this.o !== this.b.length)
      fail('DECODE', `${this.what}: ${this.b.length - this.o} trailing bytes`);
  }
}

// §2: every top-level structure starts with u8(format version) ‖ u8(type);
// a wrong value is a version error, checked before reading on.
export function header(r, type, format = 0x01) {
  if (r.b.length < 2) fail('DECODE', `${r.what}: truncated before the type byte`);
  const v = r.u8('format version');
  const t = r.u8('type');
  if (v !== format) fail('VERSION', `${r.what}: format version ${v}`);
  if (t !== type) fail('VERSION', `${r.what}: type ${t}, expected ${type}`);
}
