/**
 * IndexedRows: the file metadata of every index row, compact: one map from
 * state-file name to a slot and a few typed arrays, never an object per row
 * (a pass over 100,000 rows once held ~95 MB of row arrays). The rows are
 * read while the root is being listed on another thread; match() then
 * lines them up with the listing, by listing position.
 */
import type { FileRow } from "../index/sqlite-index.js";
import type { FileInfo } from "../state/file-info.js";

const HAS_ROW = 1;
/** The row holds a read of the file (its stat is known): not a pending or never-read name. */
const WAS_READ = 2;
/** The row must be read again whatever the stat says (pending, or read within RACY_MS of its mtime). */
const MUST_READ = 4;

export class IndexedRows {
  readonly #slot = new Map<string, number>();
  #flags: Uint8Array;
  #stat: Float64Array;
  /** Slot of each listed name's row, by listing position; -1 where it has none. */
  #at = new Int32Array(0);
  /** How many listed names have a row. */
  known = 0;

  /** `expected`: about how many rows there are (the arrays grow past it). */
  constructor(expected: number) {
    const capacity = Math.max(16, expected);
    this.#flags = new Uint8Array(capacity);
    this.#stat = new Float64Array(capacity * 4);
  }

  /** fill takes in every row of the index (indexedFiles(true)), in any order. */
  fill(rows: Iterable<FileRow>): void {
    for (const [name, size, mtimeMs, ctimeMs, ino, , mustRead] of rows) {
      const slot = this.#slot.size;
      if (slot === this.#flags.length) this.#grow();
      this.#slot.set(name, slot);
      let flags = HAS_ROW | (mustRead ? MUST_READ : 0);
      if (size !== null) {
        flags |= WAS_READ;
        const s = this.#stat;
        const at = slot * 4;
        s[at] = size;
        s[at + 1] = mtimeMs ?? Number.NaN;
        s[at + 2] = ctimeMs ?? Number.NaN;
        s[at + 3] = ino ?? Number.NaN;
      }
      this.#flags[slot] = flags;
    }
  }

  #grow(): void {
    const flags = new Uint8Array(this.#flags.length * 2);
    flags.set(this.#flags);
    const stat = new Float64Array(this.#stat.length * 2);
    stat.set(this.#stat);
    this.#flags = flags;
    this.#stat = stat;
  }

  /** match lines the rows up with the listing; the ...At methods then take listing positions. */
  match(listed: readonly string[]): void {
    this.#at = new Int32Array(listed.length);
    let known = 0;
    for (let i = 0; i < listed.length; i++) {
      const slot = this.#slot.get(listed[i]!);
      this.#at[i] = slot ?? -1;
      if (slot !== undefined) known++;
    }
    this.known = known;
  }

  /** unlisted: names of rows whose file is not in the listing (removed since, or created after the listing). */
  unlisted(): string[] {
    if (this.known === this.#slot.size) return []; // every row listed: the common case, no scan
    const listed = new Uint8Array(this.#slot.size);
    for (const slot of this.#at) if (slot >= 0) listed[slot] = 1;
    const out: string[] = [];
    for (const [name, slot] of this.#slot) if (listed[slot] === 0) out.push(name);
    return out;
  }

  hasRowAt(i: number): boolean {
    return this.#at[i]! >= 0;
  }

  hasRow(name: string): boolean {
    return this.#slot.has(name);
  }

  /** wasRead: the name's row holds a read of its file (a row known only by name, pending, has none). */
  wasRead(name: string): boolean {
    const slot = this.#slot.get(name);
    return slot !== undefined && (this.#flags[slot]! & WAS_READ) !== 0;
  }

  /** mustReadAt: the listed file at i must be read whatever its stat (no read yet, pending, racy). */
  mustReadAt(i: number): boolean {
    const flags = this.#flags[this.#at[i]!]!;
    return (flags & WAS_READ) === 0 || (flags & MUST_READ) !== 0;
  }

  /** matchesAt: the row of the listed file at i was read from a file with exactly this stat. */
  matchesAt(i: number, st: FileInfo): boolean {
    const at = this.#at[i]! * 4;
    const s = this.#stat;
    return st.size === s[at] && st.mtimeMs === s[at + 1] && st.ctimeMs === s[at + 2] && st.ino === s[at + 3];
  }
}
