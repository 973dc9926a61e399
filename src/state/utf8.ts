/**
 * Decoding a state file's bytes as Go's encoding/json reads them: invalid
 * UTF-8 inside a string becomes U+FFFD, one per invalid byte
 * (utf8.DecodeRune's rule), where WHATWG decoders replace a maximal invalid
 * subpart with one U+FFFD. Outside strings the JSON parser rejects U+FFFD
 * as it rejects any stray character, as Go's scanner does.
 */

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * decodeUtf8AsGo returns the text Go would see. A byte-order mark stays in
 * the text, so the JSON parser rejects it as json.Unmarshal does. Buffer's
 * decoder is the fast path; only text containing U+FFFD is looked at again.
 */
export function decodeUtf8AsGo(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (!text.includes("\ufffd")) return text;
  try {
    return strict.decode(bytes);
  } catch {
    return decodeByteByByte(bytes);
  }
}

function decodeByteByByte(bytes: Uint8Array): string {
  let out = "";
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = validSequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += `${strict.decode(bytes.subarray(start, i))}\ufffd`;
    i++;
    start = i;
  }
  return out + strict.decode(bytes.subarray(start));
}

/** validSequenceLength is the length of the valid UTF-8 sequence at i, or 0 (Go's DecodeRune returning RuneError, 1). */
function validSequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f; // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f; // nothing past U+10FFFF
  } else return 0;
  if (i + n > b.length) return 0;
  const second = b[i + 1] as number;
  if (second < lo || second > hi) return 0;
  for (let k = 2; k < n; k++) if (((b[i + k] as number) & 0xc0) !== 0x80) return 0;
  return n;
}
