/**
 * What a terminal is shown: state files may hold any character (a bundle
 * path, an annotation), and raw control characters would drive the
 * terminal (move the cursor, retitle the window, hide text). Only output to
 * a terminal is escaped; piped output keeps runsc's exact bytes.
 */
import fs from "node:fs";

/** C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** escapeControls returns `text` with each control character (see CONTROL) written as \xHH or \u00HH. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    const hex = code.toString(16).padStart(2, "0");
    return code < 0x80 ? `\\x${hex}` : `\\u00${hex}`;
  });
}

/** Linux's major number of the memory devices (/dev/null, /dev/zero, /dev/full, ...): character devices, not terminals. */
const MEMORY_DEVICES_MAJOR = 1;

/**
 * isTerminal tells whether descriptor `fd` is a terminal, as isatty(3)
 * would for what a command's output meets: a character device other than
 * the memory devices. node:tty's isatty would load node:net and the streams
 * (~4 ms of CPU at every start of a lookup that prints one line).
 */
export function isTerminal(fd: number): boolean {
  try {
    const st = fs.fstatSync(fd);
    return st.isCharacterDevice() && Math.floor(st.rdev / 256) % 4096 !== MEMORY_DEVICES_MAJOR;
  } catch {
    return false;
  }
}
