/**
 * The /proc/PID/maps parser, on captured text (pure), and on live processes.
 */
import { describe, expect, test } from "bun:test";
import { findModule, formatPermissions, modules, parseMaps, parseMapsLine, parsePermissions, Process } from "../src/index.ts";

// Captured from a real x86-64 process (bun), with a few lines added for the rarer kinds.
const SAMPLE = `55d4c2a00000-55d4c2a2e000 r--p 00000000 fd:01 1835223                    /usr/bin/my game
55d4c2a2e000-55d4c2b6a000 r-xp 0002e000 fd:01 1835223                    /usr/bin/my game
55d4c2d73000-55d4c2d7c000 rw-p 00172000 fd:01 1835223                    /usr/bin/my game
55d4c2d7c000-55d4c2d85000 rw-p 00000000 00:00 0 
55d4c3e1d000-55d4c3e3e000 rw-p 00000000 00:00 0                          [heap]
7f0e8c000000-7f0e8c021000 rw-p 00000000 00:00 0                          [anon:JS heap]
7f0e90000000-7f0e90001000 rw-s 00000000 00:05 2049                       [anon_shmem:ring buffer]
7f0e95a28000-7f0e95a50000 r--p 00000000 fd:01 1838710                    /usr/lib/x86_64-linux-gnu/libc.so.6
7f0e95a50000-7f0e95bc5000 r-xp 00028000 fd:01 1838710                    /usr/lib/x86_64-linux-gnu/libc.so.6
7f0e95c1d000-7f0e95c21000 rw-p 001f4000 fd:01 1838710                    /usr/lib/x86_64-linux-gnu/libc.so.6
7f0e95c30000-7f0e95c31000 rw-p 00000000 00:19 77                         /tmp/scratch (deleted)
7f0e95c40000-7f0e95c41000 rw-s 00000000 00:01 32768                      /SYSV00000000 (deleted)
7ffd1b2d0000-7ffd1b2f1000 rw-p 00000000 00:00 0                          [stack]
7ffd1b2f1000-7ffd1b2f2000 rw-p 00000000 00:00 0                          [stack:4242]
7ffd1b3b6000-7ffd1b3ba000 r--p 00000000 00:00 0                          [vvar]
7ffd1b3ba000-7ffd1b3bb000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffd1b3bb000-7ffd1b3bd000 r-xp 00000000 00:00 0                          [vdso]
7ffd1b3c0000-7ffd1b3c1000 r-xp 00000000 00:00 0                          [uprobes]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

describe("parseMaps (pure)", () => {
  const regions = parseMaps(SAMPLE);

  test("every line becomes a region, in order", () => {
    expect(regions.length).toBe(19);
    for (let i = 1; i < regions.length; i++) expect(regions[i]!.start).toBeGreaterThan(regions[i - 1]!.start);
  });

  test("every field of a file mapping, with a path containing a space", () => {
    expect(regions[1]).toEqual({
      start: 0x55d4c2a2e000,
      end: 0x55d4c2b6a000,
      size: 0x55d4c2b6a000 - 0x55d4c2a2e000,
      permissions: "r-xp",
      readable: true,
      writable: false,
      executable: true,
      shared: false,
      offset: 0x2e000,
      device: "fd:01",
      inode: 1835223,
      path: "/usr/bin/my game",
      kind: "file",
      deleted: false,
    });
  });

  test("kinds", () => {
    const kinds = regions.map((r) => r.kind);
    expect(kinds).toEqual([
      "file", "file", "file", "anonymous", "heap", "named", "named", "file", "file", "file", "file", "file",
      "stack", "thread-stack", "vvar", "vvar", "vdso", "other", "vsyscall",
    ]);
    expect(regions[5]!.name).toBe("JS heap");
    expect(regions[6]!.name).toBe("ring buffer");
    expect(regions[6]!.shared).toBe(true);
    expect(regions[13]!.name).toBe("4242");
    expect(regions[17]!.name).toBe("uprobes");
    expect(regions[3]!.path).toBe("");
  });

  test("(deleted) is taken off the path and flagged", () => {
    expect(regions[10]!.path).toBe("/tmp/scratch");
    expect(regions[10]!.deleted).toBe(true);
    expect(regions[11]!.path).toBe("/SYSV00000000");
    expect(regions[0]!.deleted).toBe(false);
  });

  test("vsyscall's address above 2^53 is exact", () => {
    expect(regions[18]!.start).toBe(0xffffffffff600000);
    expect(regions[18]!.size).toBe(4096);
  });

  test("lines that are not mappings are skipped", () => {
    expect(parseMapsLine("")).toBeNull();
    expect(parseMapsLine("garbage")).toBeNull();
    expect(parseMaps("junk\n" + SAMPLE.split("\n")[0] + "\n").length).toBe(1);
  });

  test("permissions round-trip between text and structure", () => {
    for (const text of ["rw-p", "r-xp", "---p", "rwxs", "r--s"]) expect(formatPermissions(parsePermissions(text))).toBe(text);
    expect(parsePermissions("rw-s")).toEqual({ read: true, write: true, execute: false, shared: true });
    expect(() => parsePermissions("rwz")).toThrow(SyntaxError);
  });

  test("modules group a file's mappings, with base and end", () => {
    const mods = modules(regions);
    expect(mods.map((m) => m.name)).toEqual(["my game", "libc.so.6", "scratch", "SYSV00000000"]);
    const libc = findModule(regions, "libc.so.6")!;
    expect(libc.base).toBe(0x7f0e95a28000);
    expect(libc.end).toBe(0x7f0e95c21000);
    expect(libc.regions.length).toBe(3);
    expect(findModule(regions, "libc.so")!.path).toBe("/usr/lib/x86_64-linux-gnu/libc.so.6");
    expect(findModule(regions, "/usr/bin/my game")!.base).toBe(0x55d4c2a00000);
    expect(findModule(regions, "libm.so.6")).toBeNull();
  });

  test("a file mapped twice as two images gives two modules; a deleted file is apart from its replacement", () => {
    const text = `7f0000000000-7f0000001000 r--p 00000000 fd:01 5 /opt/plugin.so
7f0000001000-7f0000002000 r-xp 00001000 fd:01 5 /opt/plugin.so
7f0000010000-7f0000011000 r--p 00000000 fd:01 5 /opt/plugin.so
7f0000011000-7f0000012000 r-xp 00001000 fd:01 5 /opt/plugin.so
7f0000020000-7f0000021000 r--p 00000000 fd:01 6 /opt/game.so (deleted)
7f0000030000-7f0000031000 r--p 00000000 fd:01 7 /opt/game.so
`;
    const mods = modules(parseMaps(text));
    expect(mods.map((m) => [m.name, m.base, m.size])).toEqual([
      ["plugin.so", 0x7f0000000000, 0x2000],
      ["plugin.so", 0x7f0000010000, 0x2000],
      ["game.so", 0x7f0000020000, 0x1000],
      ["game.so", 0x7f0000030000, 0x1000],
    ]);
    expect(mods[2]!.regions[0]!.deleted).toBe(true);
  });
});

describe("maps of live processes", () => {
  test("our own maps contain the heap or anonymous memory, the stack and libc", () => {
    const me = Process.self();
    const regions = me.maps();
    expect(regions.some((r) => r.kind === "stack")).toBe(true);
    expect(regions.some((r) => r.kind === "vdso")).toBe(true);
    const libc = me.findModule("libc.so.6") ?? me.findModule("libc.so");
    expect(libc).not.toBeNull();
    expect(libc!.regions.some((r) => r.executable)).toBe(true);
    expect(me.module(libc!.name).base).toBe(libc!.base);
  });

  test("module() throws ModuleNotFoundError naming the module; findModule returns null", () => {
    const me = Process.self();
    expect(me.findModule("no-such-module.so")).toBeNull();
    expect(() => me.module("no-such-module.so")).toThrow(/no module named "no-such-module.so"/);
  });

  test("maps of a process that is gone: ESRCH", () => {
    const proc = new Process(0x7ffffff0);
    expect(() => proc.maps()).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });
});
