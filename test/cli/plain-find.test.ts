import { describe, expect, it } from "vitest";
import { plainCommand, plainList } from "../../src/cli/plain-find.js";

describe("plainCommand: the find command lines answered without commander", () => {
  it.each([
    [["find", "9f44"], { command: "find", prefix: "9f44" }],
    [["--root", "/r", "find", "9f44"], { command: "find", root: "/r", prefix: "9f44" }],
    [["--root=/r", "--index=/i.db", "find", "a_b"], { command: "find", root: "/r", index: "/i.db", prefix: "a_b" }],
    [["--index", "/i.db", "--root", "/r", "find", "x"], { command: "find", root: "/r", index: "/i.db", prefix: "x" }],
  ])("%j is taken", (argv, expected) => {
    expect(plainCommand(argv)).toEqual(expected);
  });

  it.each([
    [[]],
    [["find"]],
    [["find", "9f44", "--json"]],
    [["find", "--sandbox", "s", "9f44"]],
    [["find", "-h"]],
    [["find", "--", "9f44"]],
    [["find", "a", "b"]],
    [["list"]],
    [["--root", "find", "9f44"]],
    [["--root=", "find", "9f44"]],
    [["--lock-timeout", "5", "find", "9f44"]],
    [["--roots", "/r", "find", "9f44"]],
    [["-V"]],
  ])("%j is left to commander", (argv) => {
    expect(plainCommand(argv)).toBeUndefined();
  });
});

describe("plainCommand: state is taken as plainly as find", () => {
  it.each([
    [["state", "9f44"], { command: "state", id: "9f44" }],
    [["--root", "/r", "state", "9f44"], { command: "state", root: "/r", id: "9f44" }],
    [["--root=/r", "find", "9f"], { command: "find", root: "/r", prefix: "9f" }],
  ])("%j is taken", (argv, expected) => {
    expect(plainCommand(argv)).toEqual(expected);
  });

  it.each([[["state"]], [["state", "9f44", "--sandbox", "s"]], [["state", "-h"]], [["show", "9f44"]]])(
    "%j is left to commander",
    (argv) => {
      expect(plainCommand(argv)).toBeUndefined();
    },
  );
});

describe("plainList: list with at most one format option is taken as plainly", () => {
  it.each([
    [["list"], { command: "list", format: "table" }],
    [["--root", "/r", "list"], { command: "list", root: "/r", format: "table" }],
    [["--index=/i.db", "list", "--format", "json"], { command: "list", index: "/i.db", format: "json" }],
    [["list", "--format=csv"], { command: "list", format: "csv" }],
    [["list", "--format", "ids"], { command: "list", format: "ids" }],
    [["list", "--json"], { command: "list", format: "json" }],
    [["list", "-q"], { command: "list", format: "ids" }],
    [["list", "--quiet"], { command: "list", format: "ids" }],
  ])("%j is taken", (argv, expected) => {
    expect(plainList(argv)).toEqual(expected);
  });

  it.each([
    [["list", "--format"]],
    [["list", "--format", "yaml"]],
    [["list", "--format="]],
    [["list", "--json", "--format", "json"]],
    [["list", "-q", "--json"]],
    [["list", "--no-fresh"]],
    [["list", "--status", "running"]],
    [["list", "--sandbox", "s"]],
    [["list", "--strict-liveness"]],
    [["list", "-h"]],
    [["list", "extra"]],
    [["--runsc-format", "current", "list"]],
    [["find", "9f44"]],
    [["lists"]],
  ])("%j is left to commander", (argv) => {
    expect(plainList(argv)).toBeUndefined();
  });
});
