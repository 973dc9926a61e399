/**
 * What a terminal is shown: state files may hold any character (a bundle
 * path, an annotation), and raw control characters would drive the
 * terminal (move the cursor, retitle the window, hide text). Only output to
 * a terminal is escaped; piped output keeps runsc's exact bytes.
 */

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
