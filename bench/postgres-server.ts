/**
 * A private PostgreSQL server for tests and the bench: initdb into a
 * temporary directory (as `nobody` when we run as root: initdb refuses root),
 * listening on a unix socket there and on a free port on 127.0.0.1 (password
 * auth, for the PGPASSWORD and URL-masking tests). stop() removes it; a
 * process exit hook stops any left running.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface PgServer {
  /** Superuser over the unix socket, trust auth: postgres://postgres@/<db>?host=<socket dir>. */
  readonly url: string;
  /** The same database over TCP on 127.0.0.1, without a password (it is PASSWORD). */
  readonly tcpUrl: string;
  readonly port: number;
  readonly socketDir: string;
  /** urlFor gives the socket URL of another database on this server. */
  urlFor(database: string): string;
  /** createDatabase makes an empty database and returns its socket URL. */
  createDatabase(name: string): string;
  /** psql runs one SQL statement as the superuser and returns its unaligned, tuples-only output. */
  psql(sql: string, database?: string): string;
  /** pause stops the server (fast: connections are dropped); resume starts it again on the same port. */
  pause(): void;
  resume(): void;
  stop(): void;
}

/** The TCP password of the `postgres` user. */
export const PASSWORD = "s3cret-Pa55";

/** pgBinDir finds initdb and pg_ctl: $PG_BIN, the newest /usr/lib/postgresql/<v>/bin, or PATH. */
export function pgBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  try {
    const versions = fs
      .readdirSync("/usr/lib/postgresql")
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not Debian's layout
  }
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir) candidates.push(dir);
  return candidates.find((d) => fs.existsSync(path.join(d, "initdb")) && fs.existsSync(path.join(d, "pg_ctl")));
}

/** psqlPath: psql next to initdb, else on PATH. */
function psqlPath(bin: string): string {
  return fs.existsSync(path.join(bin, "psql")) ? path.join(bin, "psql") : "psql";
}

/** The account the server runs as: ours unless we are root, then `nobody`. */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const out = spawnSync("id", ["-u", "nobody"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "nobody"], { encoding: "utf8" });
  if (out.status !== 0) throw new Error("running as root and there is no user `nobody` to run PostgreSQL as");
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<PgServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const s of running) s.stop();
  });
}

/** startPostgres initdb's and starts a private server; throws when PostgreSQL is not installed. */
export async function startPostgres(): Promise<PgServer> {
  const bin = pgBinDir();
  if (bin === undefined) throw new Error("PostgreSQL (initdb, pg_ctl) is not installed");
  const account = serverAccount();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runsc-index-pg-"));
  const data = path.join(dir, "data");
  const log = path.join(dir, "server.log");
  const pwfile = path.join(dir, "pw");
  fs.writeFileSync(pwfile, `${PASSWORD}\n`);
  if (account) {
    fs.chmodSync(dir, 0o700);
    fs.chownSync(dir, account.uid, account.gid);
    fs.chownSync(pwfile, account.uid, account.gid);
  }
  const run = (file: string, args: string[], allowFail = false) => {
    const r = spawnSync(file, args, {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C" },
      ...(account ?? {}),
    });
    if (r.status !== 0 && !allowFail) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, "utf8").slice(-2000) : "";
      throw new Error(`${path.basename(file)} ${args.join(" ")} failed: ${r.stderr}${r.error ?? ""}\n${tail}`);
    }
    return r.stdout;
  };
  run(path.join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    `--pwfile=${pwfile}`,
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const port = await freePort();
  const options = `-k ${dir} -c listen_addresses=127.0.0.1 -p ${port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = () => run(path.join(bin, "pg_ctl"), ["-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"]);
  start();
  const urlFor = (db: string) => `postgres://postgres@localhost/${db}?host=${encodeURIComponent(dir)}&port=${port}`;
  let stopped = false;
  const server: PgServer = {
    url: urlFor("postgres"),
    tcpUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    socketDir: dir,
    urlFor,
    psql(sql, database = "postgres") {
      return run(psqlPath(bin), ["-h", dir, "-p", String(port), "-U", "postgres", "-d", database, "-XAtq", "-c", sql]);
    },
    createDatabase(name) {
      server.psql(`CREATE DATABASE "${name}"`);
      return urlFor(name);
    },
    pause() {
      run(path.join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
    },
    resume() {
      start();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      running.delete(server);
      run(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], true);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(server);
  installExitHook();
  return server;
}
