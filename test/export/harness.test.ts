import { expect, it } from "vitest";
import { describePostgres } from "../helpers/postgres.js";

describePostgres("the PostgreSQL test harness", (pg) => {
  it("starts a private server that answers over its unix socket", () => {
    expect(pg().psql("SELECT 40 + 2").trim()).toBe("42");
  });
});
