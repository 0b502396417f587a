// The deterministic random source of docs/PROTOCOL.md Appendix A.1 and a
// byte source that replays recorded draws (§15).
import { concat, ascii, u64, hex } from './codec.mjs';
import { sha256 } from './primitives.mjs';

export class Drbg {
  constructor(label, k) {
    this.seed = sha256(concat(ascii(label), u64(k)));
    this.block = 0;
    this.buf = new Uint8Array(0);
  }
  take(n) {
    while (this.buf.length < n) {
      this.buf = concat(this.buf, sha256(concat(this.seed, u64(this.block++))));
    }
    const r = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return r;
  }
}

// Replays a recorded byte string; left() tells how much was not consumed.
export class Replay {
  constructor(bytes, what) { this.b = bytes; this.o = 0; this.what = what; this.log = []; }
  take(n, why) {
    if (this.o + n > this.b.length)
      throw new Error(`${this.what}: ${why} needs ${n} bytes, only ${this.b.length - this.o} recorded`);
    this.log.push(`${why}:${n}`);
    const r = this.b.slice(this.o, this.o + n);
    this.o += n;
    return r;
  }
  left() { return this.b.length - this.o; }
  describe() { return this.log.join(' ') || '(nothing)'; }
}

export { hex };
