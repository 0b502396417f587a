// Key schedule of docs/PROTOCOL.md §8.
import { concat } from './codec.mjs';
import { extract, expand } from './primitives.mjs';
import { L } from './structures.mjs';

export const Z32 = new Uint8Array(32);

// §8.1 KDF_RK
export function kdfRk(rkPrev, ssEcdh, ssKem, dst) {
  const t1 = extract(rkPrev, ssEcdh);
  const t2 = extract(ssKem, t1);
  const out = expand(t2, concat(L.ROOT, dst), 64);
  return { rk: out.slice(0, 32), ck: out.slice(32, 64) };
}

// §8.2 symmetric ratchet
export const chainStep = (ck) => ({ mk: expand(ck, L.MK, 32), next: expand(ck, L.CK, 32) });

// §8.3 per-message keys
export function messageKeys(mk) {
  const x = expand(mk, L.AES, 48);
  return { iv: x.slice(0, 16), key: x.slice(16, 48), mki: expand(mk, L.MKI, 16) };
}
