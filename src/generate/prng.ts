/**
 * Prng is a seeded mulberry32 generator. The benchmark needs the same roots on
 * every run and machine, so nothing here may touch Math.random.
 */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** uint32 returns the next 32-bit unsigned integer. */
  uint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** int returns an integer in [0, bound). */
  int(bound: number): number {
    return Math.floor((this.uint32() / 0x1_0000_0000) * bound);
  }

  /** chance returns true with probability p. */
  chance(p: number): boolean {
    return this.uint32() / 0x1_0000_0000 < p;
  }

  /** pick returns one element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** hex returns `chars` lowercase hex digits (a multiple of 8), as runsc/containerd IDs are. */
  hex(chars: number): string {
    let out = "";
    for (let i = 0; i < chars; i += 8) out += this.uint32().toString(16).padStart(8, "0");
    return out.slice(0, chars);
  }

  /** word returns `length` characters drawn from `alphabet`. */
  word(alphabet: string, length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}
