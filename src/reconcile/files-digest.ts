/**
 * A digest of a root's state files as a pass saw them: every listed name with
 * its lstat (size, mtime, ctime, inode). Two listings get the same digest
 * only if they hold the same names with the same stats, in any order (a sum
 * of a 64-bit hash per file). Any write to a file moves its ctime, which never
 * goes back, so a digest equal to the one of a pass that found the index
 * exact means no file changed since (see reconcile's clean-pass shortcut).
 */

const F64 = new Float64Array(4);
const U32 = new Uint32Array(F64.buffer);

/** fileHash: one of two 32-bit hashes (by `seed`) of a name and its stat (NaNs for a file gone). */
function fileHash(name: string, stat: ArrayLike<number>, at: number, seed: number): number {
  let h = seed ^ name.length;
  // Four 8-bit characters a step (an ID is ASCII; a wider character still mixes in, overlapping).
  const n = name.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const word =
      name.charCodeAt(i) ^
      (name.charCodeAt(i + 1) << 8) ^
      (name.charCodeAt(i + 2) << 16) ^
      (name.charCodeAt(i + 3) << 24);
    h = Math.imul(h ^ word, 0x01000193);
  }
  for (; i < n; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  for (let k = 0; k < 4; k++) F64[k] = stat[at + k]!;
  for (let k = 0; k < 8; k++) h = Math.imul(h ^ U32[k]!, 0x01000193);
  // murmur3's finalizer: every input bit reaches every output bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Partial sums of a share of the files: exact in a double (< 2^53) for any root. */
export interface DigestSums {
  readonly count: number;
  readonly a: number;
  readonly b: number;
}

/** digestSums hashes `names` with their stats, `fields` numbers each in `stats` (the first four: size, mtime, ctime, ino). */
export function digestSums(names: readonly string[], stats: ArrayLike<number>, fields: number): DigestSums {
  let a = 0;
  let b = 0;
  for (let i = 0; i < names.length; i++) {
    a += fileHash(names[i]!, stats, i * fields, 0x811c9dc5);
    b += fileHash(names[i]!, stats, i * fields, 0x2545f491);
  }
  return { count: names.length, a, b };
}

/** digestOf combines the shares' sums into the digest text kept in the index's meta table. */
export function digestOf(parts: readonly DigestSums[]): string {
  let count = 0;
  let a = 0;
  let b = 0;
  for (const p of parts) {
    count += p.count;
    a = (a + p.a) % 2 ** 32;
    b = (b + p.b) % 2 ** 32;
  }
  return `${count}:${a.toString(16)}:${b.toString(16)}`;
}
