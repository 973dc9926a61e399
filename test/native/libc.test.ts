import { createRequire } from "node:module";
import { describe, expect, test } from "vitest";
import { libcNames, loadLibc } from "../../src/native/libc.js";

describe("libc is found by name on glibc and on musl", () => {
  test("glibc's soname first, then musl's for the architecture, then musl loaders in /lib", () => {
    expect(libcNames("x64", [])).toEqual(["libc.so.6", "libc.musl-x86_64.so.1"]);
    expect(libcNames("arm64", ["ld-musl-aarch64.so.1", "libz.so.1", "ld-linux-aarch64.so.1"])).toEqual([
      "libc.so.6",
      "libc.musl-aarch64.so.1",
      "/lib/ld-musl-aarch64.so.1",
    ]);
  });

  test("this machine's libc loads and answers a call", () => {
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
    const { lib, name } = loadLibc(koffi);
    expect(libcNames(process.arch, [])).toContain(name);
    const getpid = lib.func("int getpid(void)") as () => number;
    expect(getpid()).toBe(process.pid);
  });
});
