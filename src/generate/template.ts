/**
 * A Template is a fixture's text cut at every token that varies per generated
 * file. Rendering joins the fixed parts with per-file values, which is several
 * times cheaper than a chain of replaceAll calls over 7 KB for each of 100k files.
 */
export type Template<V> = { readonly parts: readonly string[]; readonly slots: readonly ((v: V) => string)[] };

/** A Substitution names one literal token of the fixture and what replaces it. */
export type Substitution<V> = readonly [token: string, render: (v: V) => string];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * compileTemplate cuts `text` at every occurrence of the substitutions' tokens.
 * Throws if a token never occurs: the fixture changed and the generator would
 * silently stop varying that field.
 */
export function compileTemplate<V>(text: string, subs: readonly Substitution<V>[]): Template<V> {
  const byToken = new Map(subs);
  // Longest first, so a token that contains another wins the alternation.
  const tokens = [...byToken.keys()].sort((a, b) => b.length - a.length);
  const pieces = text.split(new RegExp(`(${tokens.map(escapeRegExp).join("|")})`));
  const parts: string[] = [];
  const slots: ((v: V) => string)[] = [];
  for (const [i, piece] of pieces.entries()) {
    if (i % 2 === 0) parts.push(piece);
    else slots.push(byToken.get(piece)!);
  }
  for (const token of tokens) {
    if (!pieces.includes(token)) throw new Error(`compiling template: token "${token}" does not occur in the fixture`);
  }
  return { parts, slots };
}

/** render fills every slot of `t` from `v`. */
export function render<V>(t: Template<V>, v: V): string {
  let out = t.parts[0]!;
  for (let i = 0; i < t.slots.length; i++) out += t.slots[i]!(v) + t.parts[i + 1]!;
  return out;
}
