/** Secrets in export targets are never printed: the masking rules, without a server. */
import { afterEach, describe, expect, it } from "vitest";
import { checkUrl, describeTarget, maskSecrets, maskUrl } from "../../src/export/pg-connection.js";

const saved = { ...process.env };
afterEach(() => {
  for (const k of ["PGHOST", "PGUSER", "PGDATABASE"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe("masking export targets", () => {
  it("maskUrl hides the password of user:password@ and of a password= parameter", () => {
    expect(maskUrl("postgres://runsc:s3cr%40t@db.example:5433/fleet?sslmode=require")).toBe(
      "postgres://runsc:***@db.example:5433/fleet?sslmode=require",
    );
    expect(maskUrl("postgresql://runsc@db/fleet?sslmode=require&password=hunter2")).toBe(
      "postgresql://runsc@db/fleet?sslmode=require&password=***",
    );
    expect(maskUrl("postgres://runsc@db/fleet")).toBe("postgres://runsc@db/fleet");
  });

  it("maskSecrets removes the password wherever a driver message repeats it, encoded or not", () => {
    const url = "postgres://runsc:p%40ss-XYZ@db/fleet";
    const msg = maskSecrets(`connecting to ${url}: password "p@ss-XYZ" rejected (p%40ss-XYZ)`, url);
    expect(msg).not.toContain("p@ss-XYZ");
    expect(msg).not.toContain("p%40ss-XYZ");
    expect(msg).toBe('connecting to postgres://runsc:***@db/fleet: password "***" rejected (***)');
  });

  it("describeTarget names libpq's environment when there is no URL", () => {
    process.env.PGHOST = "db.example";
    process.env.PGUSER = "runsc";
    process.env.PGDATABASE = "fleet";
    expect(describeTarget(undefined)).toBe("postgres://runsc@db.example/fleet (from PG* environment)");
  });

  it("checkUrl refuses anything but postgres:// and postgresql://, masked", () => {
    expect(() => checkUrl("postgresql://u@h/d")).not.toThrow();
    expect(() => checkUrl(undefined)).not.toThrow();
    expect(() => checkUrl("mysql://u:pw-XYZ@h/d")).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_ARGUMENT",
        message: 'export target "mysql://u:***@h/d" is not a postgres:// or postgresql:// URL',
      }),
    );
  });
});
