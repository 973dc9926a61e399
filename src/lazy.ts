/**
 * lazyProperties returns an object whose properties are the makers'
 * results, each made on first use and kept. A command's start pays only for
 * what it uses: SQLite parses and plans a statement when it is prepared, and
 * koffi parses a C prototype when a libc function is bound.
 */
export function lazyProperties<M extends Record<string, () => unknown>>(
  makers: M,
): { readonly [K in keyof M]: ReturnType<M[K]> } {
  const made = {} as { [K in keyof M]: ReturnType<M[K]> };
  for (const name of Object.keys(makers) as (keyof M)[]) {
    Object.defineProperty(made, name, {
      configurable: true,
      get() {
        const value = makers[name]!() as ReturnType<M[typeof name]>;
        Object.defineProperty(made, name, { value });
        return value;
      },
    });
  }
  return made;
}
