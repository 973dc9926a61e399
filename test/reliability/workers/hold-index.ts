/**
 * Index-lock worker: `hold-index.ts INDEX_DB RELEASE_FILE`. Opens the index
 * with plain better-sqlite3, takes the write lock with BEGIN IMMEDIATE,
 * prints "locked", and keeps it until RELEASE_FILE exists (the parent's
 * signal, however long the store's busy timeouts take), then rolls back and
 * prints "released". Another writer of the index, as a second runsc-index
 * process in a long transaction would be.
 */
import Database from "better-sqlite3";
import { fail, waitForFile } from "./common.js";

const [file, releaseFile] = process.argv.slice(2);
if (!file || !releaseFile) fail("usage: hold-index.ts INDEX_DB RELEASE_FILE");
const db = new Database(file, { fileMustExist: true });
db.exec("BEGIN IMMEDIATE");
console.log("locked");
await waitForFile(releaseFile, 120_000);
db.exec("ROLLBACK");
db.close();
console.log("released");
