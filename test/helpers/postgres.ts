/**
 * PostgreSQL in tests: describePostgres gives a block one private server
 * (bench/postgres-server.ts), started in beforeAll and stopped and removed in
 * afterAll (and by an exit hook should the file die first).
 *
 * When PostgreSQL is not installed the block is skipped with one line on
 * stderr; RUNSC_INDEX_REQUIRE_POSTGRES=1 makes that a failure instead.
 */
import { afterAll, beforeAll, describe } from "vitest";
import { type PgServer, pgBinDir, startPostgres } from "../../bench/postgres-server.js";

export { PASSWORD, type PgServer } from "../../bench/postgres-server.js";

/** postgresAvailable: installed, or a failure when RUNSC_INDEX_REQUIRE_POSTGRES=1. */
export function postgresAvailable(): boolean {
  if (pgBinDir() !== undefined) return true;
  if (process.env.RUNSC_INDEX_REQUIRE_POSTGRES === "1") {
    throw new Error("RUNSC_INDEX_REQUIRE_POSTGRES=1 but PostgreSQL (initdb, pg_ctl) is not installed");
  }
  process.stderr.write("skipping PostgreSQL tests: PostgreSQL is not installed (apt-get install postgresql)\n");
  return false;
}

/**
 * describePostgres runs `fn` with one server shared by the block (started in
 * beforeAll, stopped in afterAll), or skips the block when PostgreSQL is missing.
 */
export function describePostgres(name: string, fn: (pg: () => PgServer) => void): void {
  const available = postgresAvailable();
  (available ? describe : describe.skip)(name, () => {
    let server: PgServer | undefined;
    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(() => server?.stop());
    fn(() => {
      if (server === undefined) throw new Error("the PostgreSQL server did not start");
      return server;
    });
  });
}
