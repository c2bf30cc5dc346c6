/**
 * The packed iovec layout, checked against the C compiler where one exists.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IOV_BASE_OFFSET, IOV_LEN_OFFSET, IOV_MAX, IOVEC_SIZE, IovecTable } from "../src/ffi/iovec.ts";

function compilerLayout(): { size: number; base: number; len: number; iovMax: number } | null {
  if (spawnSync("cc", ["--version"]).status !== 0) return null;
  const dir = mkdtempSync(join(tmpdir(), "pvm-iovec-"));
  try {
    return probeLayout(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function probeLayout(dir: string): { size: number; base: number; len: number; iovMax: number } {
  const source = join(dir, "layout.c");
  writeFileSync(
    source,
    `#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <limits.h>
#include <sys/uio.h>
int main(void) {
  printf("%zu %zu %zu %d\\n", sizeof(struct iovec), offsetof(struct iovec, iov_base), offsetof(struct iovec, iov_len), IOV_MAX);
  return 0;
}
`,
  );
  const exe = join(dir, "layout");
  const build = spawnSync("cc", ["-o", exe, source], { encoding: "utf8" });
  if (build.status !== 0) throw new Error(`cc failed on the layout probe:\n${build.stderr}`);
  const [size, base, len, iovMax] = spawnSync(exe, { encoding: "utf8" }).stdout.trim().split(" ").map(Number);
  return { size: size!, base: base!, len: len!, iovMax: iovMax! };
}

describe("struct iovec", () => {
  test("layout matches the C compiler (or the known 64-bit values without one)", () => {
    const c = compilerLayout();
    if (!c) console.log("no C compiler: checking the known x86-64/aarch64 layout instead");
    const expected = c ?? { size: 16, base: 0, len: 8, iovMax: 1024 };
    expect(IOVEC_SIZE).toBe(expected.size);
    expect(IOV_BASE_OFFSET).toBe(expected.base);
    expect(IOV_LEN_OFFSET).toBe(expected.len);
    expect(IOV_MAX).toBe(expected.iovMax);
  });

  test("entries are little-endian u64 pairs, written without BigInt", () => {
    const table = new IovecTable(3);
    table.set(0, 0x7fff_1234_5678, 0x10);
    table.set(1, 2 ** 53 - 1, 2 ** 40 + 3);
    table.setAny(2, 0xffff_ffff_ffff_f000n, 7);
    const words = new BigUint64Array(table.buffer);
    expect(words[0]).toBe(0x7fff_1234_5678n);
    expect(words[1]).toBe(0x10n);
    expect(words[2]).toBe(2n ** 53n - 1n);
    expect(words[3]).toBe(2n ** 40n + 3n);
    expect(words[4]).toBe(0xffff_ffff_ffff_f000n);
    expect(words[5]).toBe(7n);
    const bytes = new Uint8Array(table.buffer);
    expect([...bytes.subarray(0, 8)]).toEqual([0x78, 0x56, 0x34, 0x12, 0xff, 0x7f, 0, 0]);
    expect(table.base(1)).toBe(2 ** 53 - 1);
    expect(table.length(1)).toBe(2 ** 40 + 3);
    table.setLength(0, 99);
    expect(words[1]).toBe(99n);
  });

  test("each table owns an explicitly allocated SharedArrayBuffer (never detachable), and entry addresses step by 16", () => {
    const table = new IovecTable(4);
    expect(table.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(table.buffer.byteLength).toBe(64);
    expect(table.address).toBeGreaterThan(0);
    expect(table.entry(3) - table.entry(0)).toBe(48);
  });
});
