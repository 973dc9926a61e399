import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { LIST_HEADER, ListTable, RUNSC_LIST_TABWRITER, tabwrite } from "../../src/cli/output.js";

/** The reference: Go's tabwriter over the whole text, as `runsc list` writes it. */
function reference(lines: readonly (readonly string[])[]): string {
  return tabwrite(lines.map((cells) => `${cells.join("\t")}\n`).join(""), RUNSC_LIST_TABWRITER);
}

function streamed(lines: readonly (readonly string[])[]): string {
  const table = new ListTable(lines[0]!);
  for (const cells of lines.slice(1)) table.add(cells);
  return [...table.chunks()].join("");
}

/** Cells as state files may hold them: mostly plain ASCII, sometimes empty or wide. */
const plainCell = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "é", "😀x", "漢字漢字漢字漢字漢字漢字") },
);
/** A tab or a line break in a cell changes the block's shape (the layout falls back to tabwrite). */
const anyCell = fc.oneof(
  { weight: 8, arbitrary: plainCell },
  { weight: 1, arbitrary: fc.constantFrom("a\tb", "line\nbreak", "v\vf\f") },
);

function rowsOf(cell: fc.Arbitrary<string>) {
  return fc.array(fc.array(cell, { minLength: 6, maxLength: 6 }), { maxLength: 40 });
}

describe("ListTable lays out runsc list's table as tabwrite does", () => {
  test.each([
    ["plain cells", plainCell],
    ["cells that may hold tabs and line breaks", anyCell],
  ])("for any rows of %s", (_, cell) => {
    fc.assert(
      fc.property(rowsOf(cell), (rows) => {
        const lines = [[...LIST_HEADER], ...rows];
        expect(streamed(lines)).toBe(reference(lines));
      }),
      { numRuns: 300 },
    );
  });

  test("with the strict columns, and over more rows than one chunk", () => {
    const header = [...LIST_HEADER, "STRICT STATUS", "LIVENESS"];
    const rows = Array.from({ length: 2_500 }, (_, i) => [
      `c${"x".repeat(i % 70)}`,
      String(i % 7 === 0 ? -1 : 1000 + i),
      i % 3 === 0 ? "running" : "stopped",
      `/run/bundle/${i}`,
      "2022-12-19T10:00:00Z",
      i % 5 === 0 ? "" : "root",
      "stopped",
      i % 2 === 0 ? "gone" : "zombie",
    ]);
    const lines = [header, ...rows];
    expect(streamed(lines)).toBe(reference(lines));
  });
});
