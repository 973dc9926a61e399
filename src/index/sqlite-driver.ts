/**
 * better-sqlite3's constructor, loaded with require rather than import: an
 * ESM import of a CommonJS package first scans its source for named exports
 * (cjs-module-lexer), some milliseconds of every command's start.
 */
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

export const Database = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
