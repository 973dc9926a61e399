/** What a stat of a state file tells us; a change in any of it means "read again". */
export interface FileInfo {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
}

/** fileInfoOf picks a FileInfo out of a stat. */
export function fileInfoOf(st: { size: number; mtimeMs: number; ctimeMs: number; ino: number }): FileInfo {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

/** sameFile: a stat that matches what the index recorded when it read the file. */
export function sameFile(st: FileInfo, row: FileInfo): boolean {
  return st.ino === row.ino && st.mtimeMs === row.mtimeMs && st.ctimeMs === row.ctimeMs && st.size === row.size;
}
