// Differential oracle for tests/test_mlkem_noble.c: reads one case per line
// on stdin (hex fields, see that file), recomputes it with
// @noble/post-quantum and reports every disagreement. Exit 0 only when all
// cases agree and at least one was read.
import { createInterface } from 'node:readline';
import { ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const counts = { 3: 0, 4: 0 };
let bad = 0;

function fail(n, what) {
  bad++;
  if (bad <= 20) console.log(`mlkem_diff: case ${n}: ${what}`);
}

let n = 0;
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === '') continue;
  n++;
  const f = line.trim().split(' ');
  if (f.length !== 11) { fail(n, `expected 11 fields, got ${f.length}`); continue; }
  const k = Number(f[0]);
  const kem = k === 3 ? ml_kem768 : k === 4 ? ml_kem1024 : null;
  if (kem === null) { fail(n, `unknown k ${f[0]}`); continue; }
  const [d, z, m, ek, dk, ct, ss, ct2, ss2, badek] = f.slice(1).map(unhex);
  const seed = new Uint8Array(64);
  seed.set(d, 0);
  seed.set(z, 32);
  const keys = kem.keygen(seed);
  if (hex(keys.publicKey) !== hex(ek)) fail(n, `k=${k} ek differs`);
  if (hex(keys.secretKey) !== hex(dk)) fail(n, `k=${k} dk differs`);
  const enc = kem.encapsulate(keys.publicKey, m);
  if (hex(enc.cipherText) !== hex(ct)) fail(n, `k=${k} ct differs`);
  if (hex(enc.sharedSecret) !== hex(ss)) fail(n, `k=${k} ss differs`);
  if (hex(kem.decapsulate(ct, keys.secretKey)) !== hex(ss)) fail(n, `k=${k} decaps(ct) differs`);
  // Tampered ciphertext: both sides must give the same implicit-rejection key.
  if (hex(ct2) === hex(ct)) fail(n, `k=${k} tampered ciphertext equals the original`);
  if (hex(kem.decapsulate(ct2, keys.secretKey)) !== hex(ss2)) fail(n, `k=${k} implicit rejection key differs`);
  // An ek failing the modulus check: we refused it, noble must refuse it too.
  let threw = false;
  try { kem.encapsulate(badek, m); } catch { threw = true; }
  if (!threw) fail(n, `k=${k} noble accepted an ek we rejected`);
  counts[k]++;
}
console.log(`mlkem_diff: ${counts[3]} ML-KEM-768 and ${counts[4]} ML-KEM-1024 cases, ${bad} disagreements`);
process.exit(bad === 0 && n > 0 ? 0 : 1);
