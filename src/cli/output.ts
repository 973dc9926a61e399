/**
 * Output formats of the command line: runsc's own (`runsc list` table and
 * JSON, `runsc state`), byte for byte, and the generic ones for query
 * results (table, JSON, CSV). Pure functions from values to text.
 */
import { encodeGoJsonIndent, encodeGoString, JsonNumber, type JsonObject } from "../state/go-json.js";
import type { RunscFlavor } from "./runsc-flavor.js";

/** Io is where a command writes: the process's stdout and stderr, or a test's buffers. */
export interface Io {
  /** Writes text to standard output. */
  out(text: string): void;
  /** Writes text to standard error. */
  err(text: string): void;
  /** Standard error is a terminal: progress may be drawn there. */
  readonly errIsTTY: boolean;
  /** Resolves once stdout and stderr have taken what was written (backpressure for streamed output); absent: at once. */
  readonly drained?: (() => Promise<void>) | undefined;
  /**
   * Writes out what stdout and stderr hold, then ends the process at once,
   * skipping Node's exit steps (absent where ending the process is not ours
   * to do, as in tests).
   */
  readonly hardExit?: ((status: number) => Promise<never>) | undefined;
}

/** Formats of the commands whose human output is plain text (find, reconcile, watch, prune, doctor, generate). */
export const TEXT_FORMATS = ["text", "json"] as const;

/** Formats of `list`. */
export const LIST_FORMATS = ["table", "json", "csv", "ids"] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

/** Formats of `query`. */
export const QUERY_FORMATS = ["table", "json", "csv"] as const;
export type QueryFormat = (typeof QUERY_FORMATS)[number];

// --- Go text/tabwriter ---

export interface TabwriterOptions {
  readonly minwidth: number;
  readonly padding: number;
  readonly padchar: string;
}

/** runsc list: tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0) (tabwidth 1 is unused with a space padchar). */
export const RUNSC_LIST_TABWRITER: TabwriterOptions = { minwidth: 12, padding: 3, padchar: " " };

interface Cell {
  readonly text: string;
  /** Width in runes (code points), as tabwriter counts. */
  readonly width: number;
}

/**
 * tabwrite formats text as Go's text/tabwriter (flags 0) does when all of it
 * is written and then flushed: cells end at '\t' or '\v', lines at '\n' or
 * '\f'; the last cell of a line is not part of a column; a column block is a
 * run of consecutive lines with a cell in that column, as wide as its widest
 * cell plus padding, at least minwidth; a line with no tab, or a '\f', ends
 * every block (Go flushes there). '\f' is written as '\n'.
 */
export function tabwrite(text: string, options: TabwriterOptions): string {
  const out: string[] = [];
  let lines: Cell[][] = [];
  let line: Cell[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x09 || ch === 0x0b) {
      line.push(cellOf(text.slice(start, i)));
      start = i + 1;
    } else if (ch === 0x0a || ch === 0x0c) {
      line.push(cellOf(text.slice(start, i)));
      start = i + 1;
      lines.push(line);
      const cells = line.length;
      line = [];
      if (ch === 0x0c || cells === 1) {
        formatBlock(lines, options, out, true);
        lines = [];
      }
    }
  }
  if (start < text.length) line.push(cellOf(text.slice(start)));
  if (line.length > 0) lines.push(line);
  // A partial last line (no '\n' after it) is written without one.
  formatBlock(lines, options, out, line.length === 0);
  return out.join("");
}

function cellOf(text: string): Cell {
  return { text, width: runeCount(text) };
}

function runeCount(s: string): number {
  if (!SURROGATE.test(s)) return s.length; // every rune is one UTF-16 unit
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // The second half of a surrogate pair is part of the same rune.
    if (!(c >= 0xdc00 && c <= 0xdfff && i > 0 && isHighSurrogate(s.charCodeAt(i - 1)))) n++;
  }
  return n;
}

const SURROGATE = /[\ud800-\udfff]/;

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** formatBlock is Go's Writer.format from column 0 over `lines`, then writeLines. */
function formatBlock(lines: Cell[][], o: TabwriterOptions, out: string[], allTerminated: boolean): void {
  const widths: number[] = [];
  const write = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      cells.forEach((c, j) => {
        out.push(c.text);
        if (j < widths.length) out.push(o.padchar.repeat(Math.max(0, widths[j]! - c.width)));
      });
      if (allTerminated || i + 1 < lines.length) out.push("\n");
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    let first = line0;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      write(first, i);
      first = i;
      let width = o.minwidth;
      for (; i < line1 && column < lines[i]!.length - 1; i++) {
        width = Math.max(width, lines[i]![column]!.width + o.padding);
      }
      widths.push(width);
      format(first, i);
      widths.pop();
      first = i;
      i--; // the for loop's i++ must not skip the line that ended the block
    }
    write(first, line1);
  };
  format(0, lines.length);
}

// --- runsc list / runsc state ---

/** The fields of an OCI specs.State, as runsc's Container.State() fills them. */
export interface OciState {
  readonly id: string;
  readonly status: string;
  /** The sandbox PID, -1 unless created/running/paused (runsc's SandboxPid). */
  readonly pid: number;
  readonly bundle: string;
}

/**
 * ociStateJson is json.Marshal(specs.State): compact, Go escaping, `pid`
 * omitted when 0 and `annotations` when empty (both omitempty).
 * `annotationsJson` is the Go encoding of the annotations map (sorted keys);
 * `ociVersion` the runsc release's (runsc-flavor.ts).
 */
export function ociStateJson(s: OciState, annotationsJson: string, ociVersion: string): string {
  const pid = s.pid === 0 ? "" : `"pid":${s.pid},`;
  const annotations = annotationsJson === "{}" || annotationsJson === "" ? "" : `,"annotations":${annotationsJson}`;
  return `{"ociVersion":${encodeGoString(ociVersion)},"id":${encodeGoString(s.id)},"status":${encodeGoString(s.status)},${pid}"bundle":${encodeGoString(s.bundle)}${annotations}}`;
}

/**
 * ociStateIndented is json.MarshalIndent(specs.State, "", "  "), plus the
 * newline current runsc releases print after it (20221219 prints none).
 */
export function ociStateIndented(
  s: OciState,
  annotations: Readonly<Record<string, string>>,
  flavor: RunscFlavor,
): string {
  const doc: JsonObject = new Map();
  doc.set("ociVersion", flavor.ociVersion);
  doc.set("id", s.id);
  doc.set("status", s.status);
  if (s.pid !== 0) doc.set("pid", new JsonNumber(String(s.pid)));
  doc.set("bundle", s.bundle);
  const keys = Object.keys(annotations).sort(compareUtf8);
  if (keys.length > 0) doc.set("annotations", new Map(keys.map((k) => [k, annotations[k]!])));
  return encodeGoJsonIndent(doc, "  ") + (flavor.stateNewline ? "\n" : "");
}

/** Go sorts map keys by their UTF-8 bytes; UTF-16 order differs only past U+FFFF. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** runsc list's columns; --strict-liveness adds STRICT STATUS and LIVENESS after them. */
export const LIST_HEADER = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"] as const;

/** Characters of the table written per chunk (list.ts says why so few). */
const TABLE_CHUNK_CHARS = 64 * 1024;

/**
 * ListTable lays out runsc list's table as Go's tabwriter does, one row at
 * a time: every line has the same cells, so the whole table is one column
 * block as wide as its widest cells, and lines are kept as tab-joined text
 * (not cells) until the widths are known (100,000 rows: ~25 MB, not the
 * ~300 MB of cells and pieces tabwrite holds). A cell holding a tab or a
 * line break would change the block's shape: the table is then laid out by
 * tabwrite itself, as before.
 */
export class ListTable {
  readonly #lines: string[] = [];
  readonly #widths: number[];
  #irregular = false;

  constructor(header: readonly string[]) {
    this.#widths = header.slice(0, -1).map(() => 0);
    this.add(header);
  }

  /** add appends one line; its cells must be as many as the header's. */
  add(cells: readonly string[]): void {
    const widths = this.#widths;
    for (let j = 0; j < cells.length; j++) {
      const cell = cells[j]!;
      if (TABWRITER_BREAKS.test(cell)) this.#irregular = true;
      if (j < widths.length) widths[j] = Math.max(widths[j]!, runeCount(cell));
    }
    this.#lines.push(cells.join("\t"));
  }

  /** chunks yields the laid-out table, about TABLE_CHUNK_CHARS at a time. */
  *chunks(): Generator<string> {
    if (this.#irregular) {
      yield tabwrite(`${this.#lines.join("\n")}\n`, RUNSC_LIST_TABWRITER);
      return;
    }
    const { minwidth, padding, padchar } = RUNSC_LIST_TABWRITER;
    const widths = this.#widths.map((w) => Math.max(minwidth, w + padding));
    const pads = Array.from({ length: Math.max(...widths) + 1 }, (_, k) => padchar.repeat(k));
    // The lines are laid out by a plain function: a generator's own loop stays unoptimized in V8.
    for (let next = 0; next < this.#lines.length; ) {
      const chunk = layOut(this.#lines, next, widths, pads);
      next = chunk.end;
      yield chunk.text;
    }
  }
}

/** layOut pads the tab-separated lines from `start` on into one chunk of about TABLE_CHUNK_CHARS; returns where it ended. */
function layOut(
  lines: readonly string[],
  start: number,
  widths: readonly number[],
  pads: readonly string[],
): { text: string; end: number } {
  let text = "";
  let i = start;
  while (i < lines.length && text.length < TABLE_CHUNK_CHARS) {
    const line = lines[i++]!;
    let from = 0;
    for (let j = 0; j < widths.length; j++) {
      const to = line.indexOf("\t", from);
      const cell = line.slice(from, to);
      text += cell + pads[widths[j]! - runeCount(cell)]!;
      from = to + 1;
    }
    text += `${line.slice(from)}\n`;
  }
  return { text, end: i };
}

/** What ends a cell or a line for tabwriter. */
const TABWRITER_BREAKS = /[\t\n\v\f]/;

/** Go's zero time.Time: what a state file without createdAt decodes to. */
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";
const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/;

/**
 * goRfc3339Nano is what Go prints for t.Format(time.RFC3339Nano) after
 * decoding `text` into a time.Time: at most nine fraction digits with
 * trailing zeros (and a bare dot) dropped, and "Z" for any zero offset.
 * "" (a missing or null createdAt) is Go's zero time; text that is not
 * RFC 3339 is returned as is (runsc could not have loaded that file).
 */
export function goRfc3339Nano(text: string): string {
  if (text === "") return GO_ZERO_TIME;
  const m = RFC3339.exec(text);
  if (!m) return text;
  const fraction = (m[2] ?? "").slice(0, 9).replace(/0+$/, "");
  const zone = m[3] === "+00:00" || m[3] === "-00:00" ? "Z" : m[3];
  return `${m[1]}${fraction ? `.${fraction}` : ""}${zone}`;
}

// --- query results ---

/** display turns one SQLite value into table or CSV text: NULL is "NULL" in tables, empty in CSV. */
function displayValue(v: unknown, nullText: string): string {
  if (v === null || v === undefined) return nullText;
  if (Buffer.isBuffer(v)) return `x'${v.toString("hex")}'`;
  return String(v);
}

/** Rows a table holds at once: its column widths come from each window of this many rows. */
export const TABLE_WINDOW_ROWS = 1000;

/**
 * QueryWriter formats a query's result as it streams: `rows` returns the
 * text for the next rows, `end` the text that closes the output. JSON and
 * CSV pass every row straight on; a table holds up to TABLE_WINDOW_ROWS rows
 * for its column widths, so widths may change from one window to the next.
 */
export interface QueryWriter {
  rows(rows: readonly Record<string, unknown>[]): string;
  end(): string;
}

export function queryWriter(format: QueryFormat, columns: readonly string[]): QueryWriter {
  switch (format) {
    case "json":
      return jsonWriter(columns);
    case "csv":
      return csvWriter(columns);
    case "table":
      return tableWriter(columns);
  }
}

/**
 * queryTable aligns columns with two spaces between them (the tabwriter with
 * minwidth 0, padding 2), the last column unpadded. Tabs and newlines inside values are shown as \t
 * and \n so every row stays one line.
 */
export function queryTable(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  return written(tableWriter(columns), rows);
}

/**
 * queryJson is one JSON array of row objects, keys in column order, plus a
 * newline. Integers past 2^53 (bigint) keep every digit; BLOBs are hex strings.
 */
export function queryJson(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  return written(jsonWriter(columns), rows);
}

/**
 * queryCsv is RFC 4180 CSV with a header line and "\n" line ends: a field is
 * quoted when it holds a comma, a quote, CR or LF, quotes doubled. NULL is an
 * empty field.
 */
export function queryCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  return written(csvWriter(columns), rows);
}

function written(w: QueryWriter, rows: readonly Record<string, unknown>[]): string {
  return w.rows(rows) + w.end();
}

function tableWriter(columns: readonly string[]): QueryWriter {
  const clean = (s: string) =>
    s.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
  let lines = [columns.map(clean).join("\t")];
  let windowRows = 0;
  // The last cell of a line is not a column, so the last column is not padded.
  const flush = () => {
    const text = tabwrite(lines.map((l) => `${l}\n`).join(""), { minwidth: 0, padding: 2, padchar: " " });
    lines = [];
    windowRows = 0;
    return text;
  };
  if (columns.length === 0) return { rows: () => "", end: () => "" };
  return {
    rows: (rows) => {
      let out = "";
      for (const row of rows) {
        lines.push(columns.map((c) => clean(displayValue(row[c], "NULL"))).join("\t"));
        if (++windowRows === TABLE_WINDOW_ROWS) out += flush();
      }
      return out;
    },
    end: () => (lines.length > 0 ? flush() : ""),
  };
}

function jsonWriter(columns: readonly string[]): QueryWriter {
  let opened = false;
  const open = () => {
    if (opened) return "";
    opened = true;
    return "[";
  };
  let first = true;
  return {
    rows: (rows) => {
      let out = open();
      for (const row of rows) {
        out += `${first ? "" : ","}{${columns.map((c) => `${JSON.stringify(c)}:${jsonValue(row[c])}`).join(",")}}`;
        first = false;
      }
      return out;
    },
    end: () => `${open()}]\n`,
  };
}

function jsonValue(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint") return v.toString();
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString("hex"));
  return JSON.stringify(v);
}

function csvWriter(columns: readonly string[]): QueryWriter {
  let header = csvRecord(columns);
  const takeHeader = () => {
    const h = header;
    header = "";
    return h;
  };
  return {
    rows: (rows) => {
      let out = takeHeader();
      for (const row of rows) out += csvRecord(columns.map((c) => displayValue(row[c], "")));
      return out;
    },
    end: takeHeader,
  };
}

/** csvRecord is one RFC 4180 record plus "\n": a field is quoted when it holds a comma, a quote, CR or LF. */
export function csvRecord(fields: readonly string[]): string {
  const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return `${fields.map(field).join(",")}\n`;
}

/** jsonLine is one value as compact JSON plus a newline. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
