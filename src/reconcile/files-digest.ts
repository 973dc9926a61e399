/**
 * A digest of a root's state files as a pass saw them: every listed name with
 * its lstat (size, mtime, ctime, inode). Two listings get the same digest
 * only if they hold the same names with the same stats, in any order (a sum
 * of a 64-bit hash per file). Any write to a file moves its ctime, which never
 * goes back, so a digest equal to the one of a pass that found the index
 * exact means no file changed since (see reconcile's clean-pass shortcut).
 * Names are hashed as their UTF-8 bytes, as the listing holds them.
 */
import { DIR_STAT_FIELDS, type DirStats } from "../native/dir-stats.js";

const F64 = new Float64Array(4);
const U32 = new Uint32Array(F64.buffer);

/** fileHash: one of two 32-bit hashes (by `seed`) of a name's bytes [start, end) and its stat (NaNs for a file gone). */
function fileHash(
  bytes: Uint8Array,
  start: number,
  end: number,
  stat: ArrayLike<number>,
  at: number,
  seed: number,
): number {
  let h = seed ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const word = bytes[i]! ^ (bytes[i + 1]! << 8) ^ (bytes[i + 2]! << 16) ^ (bytes[i + 3]! << 24);
    h = Math.imul(h ^ word, 0x01000193);
  }
  for (; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
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
    const bytes = Buffer.from(names[i]!);
    a += fileHash(bytes, 0, bytes.length, stats, i * fields, 0x811c9dc5);
    b += fileHash(bytes, 0, bytes.length, stats, i * fields, 0x2545f491);
  }
  return { count: names.length, a, b };
}

/** dirDigestSums is digestSums of a listing with its stats (native/dir-stats.ts): the same sums for the same files. */
export function dirDigestSums(d: DirStats): DigestSums {
  const sums = new DigestAccumulator();
  for (let i = 0; i < d.count; i++) {
    sums.add(d.nameBytes, d.nameStart[i]!, d.nameStart[i + 1]! - 1, d.stats, i * DIR_STAT_FIELDS);
  }
  return sums.sums();
}

/** DigestAccumulator sums one file at a time, as a directory is visited (native/dir-stats.ts visitWithStats). */
export class DigestAccumulator {
  #count = 0;
  #a = 0;
  #b = 0;
  /** The latest mtime among the files added (files gone, NaN, skipped). */
  maxMtimeMs = Number.NEGATIVE_INFINITY;

  /** add hashes the name bytes [start, end) with the stat at stats[at..at+3] (size, mtime, ctime, ino). */
  add(bytes: Uint8Array, start: number, end: number, stats: ArrayLike<number>, at: number): void {
    this.#count++;
    this.#a += fileHash(bytes, start, end, stats, at, 0x811c9dc5);
    this.#b += fileHash(bytes, start, end, stats, at, 0x2545f491);
    if (stats[at + 1]! > this.maxMtimeMs) this.maxMtimeMs = stats[at + 1]!;
  }

  sums(): DigestSums {
    return { count: this.#count, a: this.#a, b: this.#b };
  }
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
