import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { AmbiguousIdError, openStore, RunscIndexError, type Store } from "../../src/index.js";
import { makeRoot, makeTempDir, removeTempDirs, statePath, writeState } from "../helpers/roots.js";

const stores: Store[] = [];

function closeStores(): void {
  for (const s of stores.splice(0)) s.close();
}

afterEach(() => {
  closeStores();
  removeTempDirs();
});

/** A root holding one state file per [containerId, sandboxId] pair, and a store on it. */
function storeWith(pairs: readonly (readonly [string, string])[]): { root: string; store: Store } {
  const root = makeRoot();
  for (const [containerId, sandboxId] of pairs) writeState(root, { containerId, sandboxId });
  const store = openStore({ root });
  stores.push(store);
  return { root, store };
}

function resolveError(store: Store, prefix: string, sandbox?: string): RunscIndexError {
  try {
    store.resolve(prefix, { sandbox });
  } catch (e) {
    expect(e).toBeInstanceOf(RunscIndexError);
    return e as RunscIndexError;
  }
  throw new Error(`resolve(${JSON.stringify(prefix)}) did not throw`);
}

function ambiguous(store: Store, prefix: string, sandbox?: string): AmbiguousIdError {
  const e = resolveError(store, prefix, sandbox);
  expect(e).toBeInstanceOf(AmbiguousIdError);
  expect(e.code).toBe("ERR_AMBIGUOUS_ID");
  return e as AmbiguousIdError;
}

describe("resolve: exact and prefix", () => {
  it("an exact ID beats a longer ID with the same prefix (runsc calls this ambiguous)", () => {
    const { store } = storeWith([
      ["abc", "abc"],
      ["abcd", "abcd"],
      ["abcde", "abcd"],
    ]);
    expect(store.resolve("abc")).toEqual({ containerId: "abc", sandboxId: "abc" });
    expect(store.resolve("abcd")).toEqual({ containerId: "abcd", sandboxId: "abcd" });
  });

  it("a unique prefix resolves to its container", () => {
    const { store } = storeWith([
      ["abc", "abc"],
      ["xyz", "abc"],
    ]);
    expect(store.resolve("x")).toEqual({ containerId: "xyz", sandboxId: "abc" });
    expect(store.resolve("ab")).toEqual({ containerId: "abc", sandboxId: "abc" });
  });

  it('no match is ERR_NOT_FOUND: container "x" does not exist', () => {
    const { store } = storeWith([["abc", "abc"]]);
    const e = resolveError(store, "x");
    expect(e.code).toBe("ERR_NOT_FOUND");
    expect(e.message).toBe('container "x" does not exist');
  });

  it("an empty root, and a root that does not exist yet, find nothing", () => {
    const { store } = storeWith([]);
    expect(resolveError(store, "a").code).toBe("ERR_NOT_FOUND");
    const base = makeTempDir("resolve");
    const missing = openStore({ root: path.join(base, "runsc"), index: path.join(base, "index.db") });
    stores.push(missing);
    expect(resolveError(missing, "a").code).toBe("ERR_NOT_FOUND");
    expect(fs.existsSync(path.join(base, "runsc"))).toBe(false);
  });
});

describe("resolve: ambiguity", () => {
  it("lists every candidate as 'cid (sandbox sid)' with the count", () => {
    const { store } = storeWith([
      ["ab1", "s1"],
      ["ab2", "s1"],
      ["ab3", "s2"],
      ["zz", "s2"],
    ]);
    const e = ambiguous(store, "ab");
    expect(e.candidates).toEqual([
      { containerId: "ab1", sandboxId: "s1" },
      { containerId: "ab2", sandboxId: "s1" },
      { containerId: "ab3", sandboxId: "s2" },
    ]);
    expect(e.message).toBe(
      'id "ab" is ambiguous and could refer to 3 containers: ab1 (sandbox s1), ab2 (sandbox s1), ab3 (sandbox s2)',
    );
  });

  it("past 10 candidates the message says 'and N more', and candidates still holds all of them", () => {
    const pairs = Array.from({ length: 25 }, (_, i) => [`c${String(i).padStart(2, "0")}`, "s1"] as const);
    const { store } = storeWith(pairs);
    const e = ambiguous(store, "c");
    expect(e.candidates).toHaveLength(25);
    expect(e.candidates.map((c) => c.containerId)).toEqual(pairs.map(([c]) => c));
    expect(e.message).toContain("could refer to 25 containers");
    expect(e.message).toContain("c09 (sandbox s1) and 15 more");
    expect(e.message).not.toContain("c10 (sandbox");
  });

  it("the same container ID in two sandboxes is ambiguous unless the sandbox is given", () => {
    const { store } = storeWith([
      ["web", "pod-a"],
      ["web", "pod-b"],
    ]);
    const e = ambiguous(store, "web");
    expect(e.candidates).toEqual([
      { containerId: "web", sandboxId: "pod-a" },
      { containerId: "web", sandboxId: "pod-b" },
    ]);
    expect(e.message).toContain("web (sandbox pod-a), web (sandbox pod-b)");
    expect(store.resolve("web", { sandbox: "pod-b" })).toEqual({ containerId: "web", sandboxId: "pod-b" });
    expect(store.resolve("we", { sandbox: "pod-a" })).toEqual({ containerId: "web", sandboxId: "pod-a" });
    expect(resolveError(store, "web", "pod-c").code).toBe("ERR_NOT_FOUND");
  });

  it("the same ID twice plus a longer ID: the exact pair is ambiguous, listing only the exact matches", () => {
    const { store } = storeWith([
      ["web", "pod-a"],
      ["web", "pod-b"],
      ["web2", "pod-a"],
    ]);
    expect(ambiguous(store, "web").candidates.map((c) => c.containerId)).toEqual(["web", "web"]);
  });

  it("load of an ambiguous ID is ERR_AMBIGUOUS_ID and takes no lock", async () => {
    const { root, store } = storeWith([
      ["ab1", "s1"],
      ["ab2", "s1"],
    ]);
    await expect(store.load("ab")).rejects.toMatchObject({ code: "ERR_AMBIGUOUS_ID" });
    expect(fs.readdirSync(root).filter((n) => n.endsWith(".lock"))).toEqual([]);
  });
});

describe("resolve: literal matching", () => {
  it("is case-sensitive", () => {
    const { store } = storeWith([
      ["ABC", "s1"],
      ["abd", "s1"],
    ]);
    expect(store.resolve("A").containerId).toBe("ABC");
    expect(store.resolve("a").containerId).toBe("abd");
    expect(resolveError(store, "abc").code).toBe("ERR_NOT_FOUND");
    expect(resolveError(store, "Ab").code).toBe("ERR_NOT_FOUND");
  });

  it("'_' is a literal character: prefix 'a_' does not match 'ab'", () => {
    const { store } = storeWith([
      ["ab", "s1"],
      ["a_x", "s1"],
    ]);
    expect(store.resolve("a_").containerId).toBe("a_x");
    const { store: onlyAb } = storeWith([["ab", "s1"]]);
    expect(resolveError(onlyAb, "a_").code).toBe("ERR_NOT_FOUND");
  });

  it("'.' is a literal character: prefix 'a.' does not match 'ab'", () => {
    const { store } = storeWith([
      ["ab", "s1"],
      ["a.x", "s1"],
    ]);
    expect(store.resolve("a.").containerId).toBe("a.x");
    const { store: onlyAb } = storeWith([["ab", "s1"]]);
    expect(resolveError(onlyAb, "a.").code).toBe("ERR_NOT_FOUND");
  });

  it("'+' and '-' are literal, and IDs next to the prefix's last character in byte order are not matched", () => {
    const { store } = storeWith([
      ["a+1", "s1"],
      ["a-1", "s1"],
      ["a.1", "s1"],
      ["b", "s1"],
      ["a", "s2"],
    ]);
    expect(store.resolve("a+").containerId).toBe("a+1");
    // The range end for "a-" is "a.": "a.1" must stay outside it.
    expect(store.resolve("a-").containerId).toBe("a-1");
    expect(store.resolve("a.").containerId).toBe("a.1");
    expect(store.resolve("a")).toEqual({ containerId: "a", sandboxId: "s2" });
  });

  it("a container ID containing '_sandbox' resolves by its full ID and by prefix", () => {
    const { store } = storeWith([["x_sandbox_y", "s1"]]);
    expect(store.resolve("x_sandbox").containerId).toBe("x_sandbox_y");
    expect(store.resolve("x_sandbox_y").containerId).toBe("x_sandbox_y");
  });
});

describe("resolve: reflects files created and removed by others", () => {
  it("sees a state file written after the first lookup, and stops seeing a removed one", () => {
    const { root, store } = storeWith([["ab1", "s1"]]);
    expect(store.resolve("ab").containerId).toBe("ab1");
    writeState(root, { containerId: "ab2", sandboxId: "s1" });
    expect(ambiguous(store, "ab").candidates).toHaveLength(2);
    fs.rmSync(statePath(root, "ab1", "s1"));
    expect(store.resolve("ab").containerId).toBe("ab2");
  });

  it("a second store on the same root and index sees the first one's creates and destroys", async () => {
    const { root, store } = storeWith([]);
    const other = openStore({ root });
    stores.push(other);
    expect(resolveError(other, "c").code).toBe("ERR_NOT_FOUND");
    const elsewhere = writeState(makeRoot(), { containerId: "c1", rootDir: root });
    await store.create(JSON.parse(fs.readFileSync(elsewhere, "utf8")));
    expect(other.resolve("c").containerId).toBe("c1");
    await store.destroy("c1");
    expect(resolveError(other, "c").code).toBe("ERR_NOT_FOUND");
  });
});

describe("resolve: property against a direct reading of the directory", () => {
  const idChar = fc.constantFrom("a", "b", "A", "_", ".", "-", "+", "0");
  const id = fc.string({ unit: idChar, minLength: 1, maxLength: 4 }).filter((s) => s !== "." && s !== "..");
  const sandbox = fc.constantFrom("s1", "s2");

  afterAll(closeStores);

  it("resolve agrees with: exact wins, else the only ID with the prefix, else ambiguous or not found", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(id, sandbox), { maxLength: 8, selector: ([c, s]) => `${c}/${s}` }),
        id,
        fc.option(sandbox, { nil: undefined }),
        (pairs, prefix, sid) => {
          const { store } = storeWith(pairs);
          const inScope = pairs.filter(([, s]) => sid === undefined || s === sid);
          const exact = inScope.filter(([c]) => c === prefix);
          const withPrefix = inScope.filter(([c]) => c.startsWith(prefix));
          let expected: string;
          if (withPrefix.length === 1) expected = `ok ${withPrefix[0]![0]} ${withPrefix[0]![1]}`;
          else if (withPrefix.length === 0) expected = "ERR_NOT_FOUND";
          else if (exact.length === 1) expected = `ok ${exact[0]![0]} ${exact[0]![1]}`;
          else expected = `ERR_AMBIGUOUS_ID ${exact.length > 1 ? exact.length : withPrefix.length}`;
          let actual: string;
          try {
            const r = store.resolve(prefix, { sandbox: sid });
            actual = `ok ${r.containerId} ${r.sandboxId}`;
          } catch (e) {
            const err = e as RunscIndexError;
            actual = err instanceof AmbiguousIdError ? `${err.code} ${err.candidates.length}` : err.code;
          }
          closeStores();
          removeTempDirs();
          expect(actual).toBe(expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});
