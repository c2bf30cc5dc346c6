/**
 * The `pvm` command line, run as a real program (`bun src/cli/main.ts`) against
 * a real target: help, strict parsing, JSON output, exit statuses, chains,
 * name lookup, the batch and piped forms of `attach`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../src/cli/main.ts";
import { Target } from "./helpers/target.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

function pvm(...args: (string | number)[]): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [MAIN, ...args.map(String)], { encoding: "utf8", env: { ...process.env, NO_COLOR: "" } });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** Runs with --json, checks the status, parses stdout. */
function json<T = any>(...args: (string | number)[]): T {
  const [command, ...rest] = args;
  const out = pvm(command!, "--json", ...rest);
  if (out.status !== 0) throw new Error(`pvm ${args.join(" ")} --json: status ${out.status}\n${out.stderr}`);
  return JSON.parse(out.stdout) as T;
}

function spawnPvm(...args: (string | number)[]) {
  return Bun.spawn([process.execPath, MAIN, ...args.map(String)], { stdout: "pipe", stderr: "pipe" });
}

/** What a child printed so far; `until` waits for a pattern instead of guessing how long the child takes. */
class Output {
  text = "";
  readonly done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    this.done = (async () => {
      for await (const chunk of stream) this.text += decoder.decode(chunk);
    })();
  }
  async until(pattern: RegExp, ms = 20_000): Promise<void> {
    const end = performance.now() + ms;
    while (!pattern.test(this.text)) {
      if (performance.now() > end) throw new Error(`timed out waiting for ${pattern} in:\n${this.text}`);
      await Bun.sleep(10);
    }
  }
}

const i32 = (n: number) => new Uint8Array(new Int32Array([n]).buffer);
const hex = (n: number) => `0x${n.toString(16)}`;

let t: Target;
let dir: string;
let object: number;
/** A name only the target has: `bash -c 'exec -a NAME …'` sets its argv[0]. */
const NAME = `pvmcli-${process.pid}-target`;
beforeAll(async () => {
  t = await Target.start(["bash", "-c", 'exec -a "$0" "$@"', NAME]);
  // A "module" with a static pointer to an object holding an i32 at +8.
  dir = mkdtempSync(join(tmpdir(), "pvm-cli-"));
  const path = join(dir, "libcli.so");
  writeFileSync(path, new Uint8Array(t.info.page));
  const module = await t.map(t.info.page, 3, path);
  object = await t.map(t.info.page);
  await t.write(module + 0x20, new Uint8Array(new BigUint64Array([BigInt(object)]).buffer));
  await t.write(object + 8, i32(4321));
});
afterAll(() => {
  t.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe("help and version", () => {
  test("plain pvm, pvm help and pvm --help print the overview on stdout", () => {
    for (const args of [[], ["help"], ["--help"], ["-h"]]) {
      const out = pvm(...args);
      expect(out.status).toBe(0);
      expect(out.stderr).toBe("");
      for (const c of COMMANDS) expect(out.stdout).toContain(`  ${c.name} `);
    }
  });

  test("pvm --version prints the package version", () => {
    const out = pvm("--version");
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe(VERSION);
  });

  test("every command: --help, -h and pvm help COMMAND print usage, options and an example, status 0", () => {
    for (const c of COMMANDS) {
      const outs = [pvm(c.name, "--help"), pvm(c.name, "-h"), pvm("help", c.name), pvm(c.name, "1", "--help")];
      for (const out of outs) {
        expect({ command: c.name, status: out.status }).toEqual({ command: c.name, status: 0 });
        expect(out.stdout).toStartWith(`usage: pvm ${c.name}`);
        expect(out.stdout).toContain("options:");
        expect(out.stdout).toContain("  -h, --help");
        expect(out.stdout).toMatch(new RegExp(`examples?:\\n  pvm ${c.name}`));
        if (c.json) expect(out.stdout).toContain("--json");
      }
      expect(outs[1]!.stdout).toBe(outs[0]!.stdout);
    }
  });

  test("an unknown command is a usage error with a suggestion", () => {
    const out = pvm("sacn", t.pid, "5");
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('unknown command "sacn" (did you mean scan?)');
    expect(pvm("help", "raed").stderr).toContain("did you mean read?");
  });
});

describe("parsing", () => {
  test("unknown options are refused with status 2, their name and a suggestion", () => {
    const typo = pvm("scan", t.pid, "--tpye", "f32", "100");
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("unknown option --tpye (did you mean --type?)");
    for (const c of COMMANDS) {
      const out = pvm(c.name, "--frobnicate");
      expect({ command: c.name, status: out.status }).toEqual({ command: c.name, status: 2 });
      expect(out.stderr).toContain("--frobnicate");
    }
    const read = pvm("read", t.pid, t.info.data, "--frobnicate");
    expect(read.status).toBe(2);
    expect(read.stdout).toBe("");
  });

  test("a missing option value and a value given to a flag are usage errors", () => {
    expect(pvm("scan", t.pid, "5", "--type").stderr).toContain("option --type needs a value (TYPE)");
    expect(pvm("write", t.pid, t.info.data, "u8", 1, "--force=yes").stderr).toContain("option --force takes no value");
  });

  test("negative numbers are values, with or without --, and -- ends the options", async () => {
    const at = await t.map(t.info.page);
    await t.write(at + 0x10, i32(-123456));
    const within = `${at},${at + t.info.page}`;
    for (const args of [["--within", within, "--", "-123456"], ["--within", within, "-123456"], ["-123456", "--within", within]]) {
      const out = json("scan", t.pid, "--type", "i32", ...args);
      expect(out.matches.map((m: { address: number }) => m.address)).toEqual([at + 0x10]);
    }
    expect(pvm("write", t.pid, at + 0x20, "i32", -7).status).toBe(0);
    expect(new Int32Array((await t.read(at + 0x20, 4)).buffer)[0]).toBe(-7);
    expect(pvm("write", t.pid, at + 0x28, "f64", "-1.5e3").status).toBe(0);
    expect(new Float64Array((await t.read(at + 0x28, 8)).buffer)[0]).toBe(-1500);
    // After --, something that looks like an option is a value: here a pattern that is not valid.
    const dashed = pvm("find", t.pid, "--within", within, "--", "--json");
    expect(dashed.status).toBe(2);
    expect(dashed.stderr).toContain("position");
  });

  test("one set of type names: int is any width in scans and refused where a width is needed", () => {
    const write = pvm("write", t.pid, t.info.data, "int", 5);
    expect(write.status).toBe(2);
    expect(write.stderr).toContain("type int means any integer width");
    expect(pvm("read", t.pid, t.info.data, "float").status).toBe(0);
    expect(pvm("read", t.pid, t.info.data, "i33").stderr).toContain('unknown type "i33"');
  });
});

describe("TARGET by name", () => {
  test("an exact name, a unique prefix; ps NAME matches the same way and never lists pvm", () => {
    expect(json("read", NAME, t.info.data, "u8")[0].value).toBe(0);
    expect(json("read", NAME.slice(0, -3), t.info.data + 5, "u8")[0].value).toBe(5);
    const listed = json<{ pid: number; name: string; command: string }[]>("ps", NAME.slice(0, -7));
    expect(listed.map((p) => p.pid)).toEqual([t.pid]);
    const full = json<{ pid: number }[]>("ps", "--full", "fixtures/target.ts");
    expect(full.map((p) => p.pid)).toContain(t.pid);
    const self = pvm("ps", "--full", "ps --full pvm-looks-for-itself");
    expect(self.stdout).not.toContain("pvm-looks-for-itself");
    expect(self.status).toBe(1);
  });

  test("several candidates are listed with their pids; none is a usage error", async () => {
    const twin = await Target.start(["bash", "-c", 'exec -a "$0" "$@"', `${NAME}-twin`]);
    try {
      const out = pvm("read", NAME.slice(0, 10), t.info.data);
      expect(out.status).toBe(2);
      expect(out.stderr).toContain(`2 processes have a name starting with "${NAME.slice(0, 10)}"; give a pid:`);
      expect(out.stderr).toContain(String(t.pid));
      expect(out.stderr).toContain(String(twin.pid));
      // The exact name wins over the prefix it shares with the twin.
      expect(json("read", NAME, t.info.data + 1, "u8")[0].value).toBe(1);
    } finally {
      twin.kill();
    }
    const none = pvm("read", "no-such-process-xyz", 0);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no process named "no-such-process-xyz"');
  });
});

describe("commands and their JSON", () => {
  test("ps and maps", () => {
    const me = json<{ pid: number; name: string; command: string }[]>("ps", NAME);
    expect(me).toEqual([{ pid: t.pid, name: expect.stringMatching(/^bun/), command: `${NAME} ${new URL("./fixtures/target.ts", import.meta.url).pathname}` }]);
    const text = pvm("maps", t.pid);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("[stack]");
    expect(text.stdout).toMatch(new RegExp(`^0*${t.info.data.toString(16)}-`, "m"));
    const regions = json<{ start: number; startHex: string; end: number; kind: string; permissions: string; size: number }[]>("maps", t.pid);
    const data = regions.find((r) => r.start === t.info.data)!;
    expect(data).toMatchObject({ startHex: hex(t.info.data), kind: "anonymous", permissions: "rw-p" });
    expect(data.size).toBe(data.end - data.start);
    const stacks = json<{ kind: string }[]>("maps", t.pid, "--kind", "stack");
    expect(stacks.length).toBeGreaterThan(0);
    expect(stacks.every((r) => r.kind === "stack")).toBe(true);
  });

  test("read: typed values and strings, text and JSON", () => {
    const out = pvm("read", t.pid, hex(t.info.data + 4), "u8", 3);
    expect(out.status).toBe(0);
    expect(out.stdout.trim().split("\n").map((l) => l.split(/\s+/)[1])).toEqual(["4", "5", "6"]);
    expect(json("read", t.pid, t.info.data + 4, "u8", 3)).toEqual([4, 5, 6].map((v) => ({ address: t.info.data + v, addressHex: hex(t.info.data + v), type: "u8", value: v })));
    expect(pvm("read", t.pid, t.info.ro, "string").stdout.trim()).toBe('"read-only!"');
    expect(json("read", t.pid, t.info.ro, "string")).toEqual([{ address: t.info.ro, addressHex: hex(t.info.ro), type: "string", value: "read-only!" }]);
    // 64-bit values: numbers when exact, decimal strings beyond 2^53.
    expect(json("read", t.pid, t.info.data, "u64")[0].value).toBe("506097522914230528");
  });

  test("dump: hex and ASCII, or JSON", () => {
    const out = pvm("dump", t.pid, t.info.ro, 16);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain("72 65 61 64");
    expect(out.stdout).toContain("|read-");
    expect(json("dump", t.pid, t.info.ro, 4)).toEqual({ address: t.info.ro, addressHex: hex(t.info.ro), length: 4, hex: "72656164" });
  });

  test("write: typed values, bytes, read-only pages with --force; prints before and after", async () => {
    const at = await t.map(t.info.page);
    const out = pvm("write", t.pid, at, "i32", -2);
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe(`${hex(at)}  i32 0 -> -2`);
    expect([...(await t.read(at, 4))]).toEqual([0xfe, 0xff, 0xff, 0xff]);
    expect(pvm("write", t.pid, at + 8, "bytes", "de", "ad").status).toBe(0);
    expect([...(await t.read(at + 8, 2))]).toEqual([0xde, 0xad]);
    const refused = pvm("write", t.pid, t.info.ro, "u8", 65);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("EFAULT");
    expect(pvm("write", t.pid, t.info.ro, "u8", 65, "--force").status).toBe(0);
    expect((await t.read(t.info.ro, 1))[0]).toBe(65);
    expect(pvm("write", t.pid, t.info.ro, "u8", 0x72, "--force").stdout).toContain("u8 65 -> 114"); // back to "read-only!"
  });

  test("--big-endian in write, read, resolve and scan", async () => {
    const at = await t.map(t.info.page);
    expect(pvm("write", t.pid, at + 8, "u32", 0x01020304, "--big-endian").status).toBe(0);
    expect([...(await t.read(at + 8, 4))]).toEqual([1, 2, 3, 4]);
    expect(json("read", t.pid, at + 8, "u32", "--big-endian")[0].value).toBe(0x01020304);
    expect(json("read", t.pid, at + 8, "u32")[0].value).toBe(0x04030201);
    expect(json("resolve", t.pid, hex(at + 8), "u32", "--big-endian").value).toBe(0x01020304);
    const found = json("scan", t.pid, "--type", "u32", "--big-endian", "--within", `${at},${at + t.info.page}`, 0x01020304);
    expect(found.matches.map((m: { address: number }) => m.address)).toEqual([at + 8]);
  });

  test("chains are taken wherever an address is: read, dump, write, resolve", async () => {
    const chain = "libcli.so+0x20 -> 0x8";
    expect(json("read", t.pid, chain, "i32")).toEqual([{ address: object + 8, addressHex: hex(object + 8), type: "i32", value: 4321 }]);
    expect(json("dump", t.pid, "[libcli.so+20]+8", 4).hex).toBe(Buffer.from(i32(4321)).toString("hex"));
    expect(pvm("write", t.pid, "libcli.so+0x20 -> 0xc", "i32", 99).status).toBe(0);
    expect(new Int32Array((await t.read(object + 0xc, 4)).buffer)[0]).toBe(99);
    expect(json("resolve", t.pid, chain, "i32")).toEqual({ chain, address: object + 8, addressHex: hex(object + 8), type: "i32", value: 4321 });
    expect(pvm("resolve", t.pid, chain, "i32").stdout.trim()).toBe(`${hex(object + 8)}  i32 4321`);
    const broken = pvm("read", t.pid, "libcli.so+0x28 -> 0x8");
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain("null");
  });

  test("scan: values listed by address with their widths together in int mode; JSON shape", async () => {
    const at = await t.map(t.info.page);
    await t.write(at + 0x10, new Uint8Array(new Float64Array([31.25]).buffer));
    await t.write(at + 0x40, i32(74565)); // 0x12345: 32 and 64 bits of either sign (the next word is 0), not 8 or 16
    const within = `${at},${at + t.info.page}`;
    const text = pvm("scan", t.pid, "--type", "f64", "--within", within, "31.25");
    expect(text.status).toBe(0);
    expect(text.stdout).toBe(`${hex(at + 0x10)}  f64 31.25\n`);
    expect(text.stderr).toBe("");
    const int = json("scan", t.pid, "--type", "int", "--within", within, 74565);
    expect(int).toEqual({
      type: "int", count: 1, shown: 1, steps: [{ query: "74565", count: 1 }],
      matches: [{ address: at + 0x40, addressHex: hex(at + 0x40), types: ["i32", "u32", "i64", "u64"], value: 74565, previous: null }],
    });
    expect(pvm("scan", t.pid, "--type", "int", "--within", within, 74565).stdout).toBe(`${hex(at + 0x40)}  int32 int64 74565\n`);
    // A negative value matches only the signed readings.
    await t.write(at + 0x80, new Uint8Array(new BigInt64Array([-5n]).buffer));
    expect(pvm("scan", t.pid, "--type", "int", "--within", within, -5).stdout).toBe(`${hex(at + 0x80)}  i8 i16 i32 i64 -5\n`);
  });

  test("scan narrows with further queries and prints the previous value", async () => {
    const at = await t.map(t.info.page);
    await t.write(at + 0x20, i32(5000));
    await t.write(at + 0x24, i32(5000));
    // The first scan is done long before the delay ends (a 4 KiB page).
    const child = spawnPvm("scan", t.pid, "--within", `${at},${at + t.info.page}`, "--delay", 2500, "5000", "decreased", "--json");
    await Bun.sleep(1200);
    await t.write(at + 0x24, i32(4990));
    expect(await child.exited).toBe(0);
    const out = JSON.parse(await new Response(child.stdout).text());
    expect(out.steps).toEqual([{ query: "5000", count: 2 }, { query: "decreased", count: 1 }]);
    expect(out.matches).toEqual([{ address: at + 0x24, addressHex: hex(at + 0x24), types: ["i32"], value: 4990, previous: 5000 }]);
  });

  test("scan and find exit 1 when nothing matches, 2 for a query that cannot start a scan", async () => {
    const at = await t.map(t.info.page);
    const within = `${at},${at + t.info.page}`;
    const none = pvm("scan", t.pid, "--within", within, 987654);
    expect(none.status).toBe(1);
    expect(none.stdout).toBe("");
    const noneJson = pvm("scan", t.pid, "--within", within, 987654, "--json");
    expect(noneJson.status).toBe(1);
    expect(JSON.parse(noneJson.stdout)).toMatchObject({ count: 0, matches: [] });
    expect(pvm("find", t.pid, "fa ce 0b", "--within", within).status).toBe(1);
    const failed = pvm("scan", t.pid, "increased");
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain("compares with a previous value");
  });

  test("find prints every address of a pattern; JSON shape", async () => {
    const at = await t.map(t.info.page);
    await t.write(at + 0x21, Uint8Array.of(0xfa, 0xce, 0xb0, 0x0c, 0x5e));
    const within = `${at},${at + t.info.page}`;
    const out = pvm("find", t.pid, "fa ce ?? 0? 5e", "--within", within);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(`${hex(at + 0x21)}\n`);
    expect(json("find", t.pid, "fa ce ?? 0? 5e", "--within", within)).toEqual({
      pattern: "fa ce ?? 0? 5e", count: 1, shown: 1, matches: [{ address: at + 0x21, addressHex: hex(at + 0x21) }],
    });
  });

  test("scans cut in 256 MiB batches find each match once, also across a cut", async () => {
    const cut = 256 << 20;
    const size = 3 * cut;
    const at = await t.map(size);
    try {
      await t.write(at + cut - 2, Uint8Array.of(0xfa, 0xce, 0xfe, 0xed)); // straddles the first cut
      await t.write(at + 2 * cut - 8, new Uint8Array(new BigInt64Array([0x0123456789abn]).buffer)); // ends at the second
      await t.write(at + 2 * cut, new Uint8Array(new BigInt64Array([0x0123456789abn]).buffer)); // starts there
      const within = `${at},${at + size}`;
      // Read even the untouched pages (--untouched), so that the scan has 768 MiB to cut.
      expect(json("find", t.pid, "fa ce fe ed", "--untouched", "--within", within).matches).toEqual([{ address: at + cut - 2, addressHex: hex(at + cut - 2) }]);
      const found = json("scan", t.pid, "--type", "int", "--untouched", "--within", within, 0x0123456789ab).matches;
      // Only what exists is read by default: the same matches.
      expect(json("scan", t.pid, "--type", "int", "--within", within, 0x0123456789ab).matches).toEqual(found);
      expect(found.map((m: { address: number; types: string[] }) => [m.address, m.types])).toEqual([[at + 2 * cut - 8, ["i64", "u64"]], [at + 2 * cut, ["i64", "u64"]]]);
    } finally {
      await t.unmap(at, size);
    }
  });

  test("pointers: ranked paths, JSON shape, and how many more", async () => {
    const out = pvm("pointers", t.pid, object + 8, "--depth", 2, "--offset", 0x40);
    expect(out.status).toBe(0);
    expect(out.stdout.split("\n")).toContain("libcli.so+0x20 -> 0x8");
    const doc = json("pointers", t.pid, object + 8, "--depth", 2, "--offset", 0x40);
    expect(doc.address).toBe(object + 8);
    expect(doc.addressHex).toBe(hex(object + 8));
    const planted = doc.paths.find((p: { chain: string }) => p.chain === "libcli.so+0x20 -> 0x8");
    expect(planted).toEqual({ chain: "libcli.so+0x20 -> 0x8", module: "libcli.so", baseOffset: 0x20, offsets: [8], depth: 1 });
    const depths = doc.paths.map((p: { depth: number }) => p.depth);
    expect(depths).toEqual([...depths].sort((a: number, b: number) => a - b));
    const one = pvm("pointers", t.pid, object + 8, "--depth", 2, "--offset", 0x40, "--limit", 1);
    expect(one.stdout.trim().split("\n")).toEqual(["libcli.so+0x20 -> 0x8"]);
    if (doc.count > 1) expect(one.stderr).toContain(`… ${doc.count - 1} more`);
  });

  test("freeze holds a chain's value, prints JSON lines, then releases", async () => {
    const child = spawnPvm("freeze", t.pid, "libcli.so+0x20 -> 0x10", "i32", 777, "--interval", 10, "--for", 1000, "--json");
    const out = new Output(child.stdout);
    await out.until(/"hold"/);
    await t.write(object + 0x10, i32(5));
    await Bun.sleep(100);
    expect(new Int32Array((await t.read(object + 0x10, 4)).buffer)[0]).toBe(777);
    expect(await child.exited).toBe(0);
    await out.done;
    await t.write(object + 0x10, i32(6));
    await Bun.sleep(50);
    expect(new Int32Array((await t.read(object + 0x10, 4)).buffer)[0]).toBe(6);
    const lines = out.text.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { event: "hold", address: object + 0x10, addressHex: hex(object + 0x10), type: "i32", value: 777 },
      { event: "released", address: object + 0x10, addressHex: hex(object + 0x10), type: "i32", value: 777 },
    ]);
  });

  test("freeze follows a chain that moves to a new object", async () => {
    const other = await t.map(t.info.page);
    // The game moves its object: point the static slot of libcli.so elsewhere.
    const module = (json<{ start: number; path: string }[]>("maps", t.pid)).find((r) => r.path.endsWith("libcli.so"))!.start;
    const child = spawnPvm("freeze", t.pid, "libcli.so+0x20 -> 0x18", "i32", 4242, "--interval", 10, "--for", 1500, "--json");
    const out = new Output(child.stdout);
    await out.until(/"hold"/);
    await t.write(module + 0x20, new Uint8Array(new BigUint64Array([BigInt(other)]).buffer));
    await out.until(new RegExp(`"hold","address":${other + 0x18}`));
    await Bun.sleep(50);
    expect(new Int32Array((await t.read(other + 0x18, 4)).buffer)[0]).toBe(4242);
    await t.write(module + 0x20, new Uint8Array(new BigUint64Array([BigInt(object)]).buffer));
    expect(await child.exited).toBe(0);
    await out.done;
    const events = out.text.trim().split("\n").map((l) => JSON.parse(l));
    expect(events.slice(0, 2).map((e) => [e.event, e.address])).toEqual([["hold", object + 0x18], ["hold", other + 0x18]]);
  });

  test("watch prints changes, as text or JSON lines", async () => {
    // The watch prints nothing until a change: change the value every 100 ms until it has seen one.
    const bump = async (child: { exitCode: number | null }, first: number) => {
      for (let v = first; child.exitCode === null && v < first + 100; v++) {
        await t.write(object + 0x30, Uint8Array.of(v, 0, 0, 0));
        await Bun.sleep(100);
      }
    };
    await t.write(object + 0x30, Uint8Array.of(0, 0, 0, 0));
    const child = spawnPvm("watch", t.pid, object + 0x30, "--type", "u32", "--interval", 10, "--count", 1);
    await bump(child, 1);
    expect(await child.exited).toBe(0);
    const text = await new Response(child.stdout).text();
    const m = new RegExp(`^${hex(object + 0x30)}  (\\d+) -> (\\d+)\n$`).exec(text);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBe(Number(m![1]) + 1);
    const chain = spawnPvm("watch", t.pid, "libcli.so+0x20 -> 0x30", "--type", "u32", "--interval", 10, "--count", 1, "--json");
    await bump(chain, 150);
    expect(await chain.exited).toBe(0);
    const line = JSON.parse(await new Response(chain.stdout).text());
    expect(line).toMatchObject({ target: "libcli.so+0x20 -> 0x30", address: object + 0x30, addressHex: hex(object + 0x30), type: "u32" });
    expect(line.new).toBe(line.old + 1);
    expect(typeof line.time).toBe("string");
  });

  test("mistakes are usage errors (status 2), kernel refusals are errors (status 1)", () => {
    expect(pvm("read", t.pid, "zzz").status).toBe(2);
    expect(pvm("write", t.pid, t.info.data, "u8", 300).stderr).toContain("does not fit u8");
    expect(pvm("write", t.pid, t.info.data, "f32", "").stderr).toContain("VALUE is empty");
    const fault = pvm("read", t.pid, 16);
    expect(fault.status).toBe(1);
    expect(fault.stderr).toContain("EFAULT: bad address");
  });
});

describe("attach", () => {
  test("piped: scan, narrow, list after set shows memory now, freeze; per-command help", async () => {
    const at = await t.map(t.info.page);
    await t.write(at + 0x40, i32(987654321));
    await t.write(at + 0x80, i32(987654321));
    const child = Bun.spawn([process.execPath, MAIN, "attach", String(t.pid)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const output = new Output(child.stdout);
    const say = async (line: string, reply?: RegExp) => {
      child.stdin.write(`${line}\n`);
      child.stdin.flush();
      if (reply) await output.until(reply);
    };
    // The target's own JS heap holds copies of what the test sends it: scan only the planted page.
    await say(`within ${at} ${at + t.info.page}`);
    await say("type i32");
    await say("987654321", /\b2 matches/);
    await t.write(at + 0x40, i32(987654320));
    await say("decreased", /\b1 match\b/);
    await say("list");
    await say("set 1234 0", /wrote/);
    await say("list");
    await say("help set");
    await say("quit");
    expect(await child.exited).toBe(0);
    await output.done;
    const out = output.text;
    expect(out).toMatch(/\b2 matches/);
    expect(out).toMatch(/\b1 match\b/);
    expect(out).toContain(`[0] ${hex(at + 0x40)}  i32 987654320  (was 987654321)`);
    expect(out).toContain("wrote 1234 to 1 address\n");
    expect(out).toContain(`[0] ${hex(at + 0x40)}  i32 1234  (scanned 987654320, was 987654321)`);
    expect(out).toContain("set VALUE [I…]\n  write VALUE to every match");
    expect(new Int32Array((await t.read(at + 0x40, 4)).buffer)[0]).toBe(1234);
    expect(new Int32Array((await t.read(at + 0x80, 4)).buffer)[0]).toBe(987654321);
  });

  test("-c runs a batch; int mode counts addresses, not widths; a failed command gives status 1", async () => {
    const at = await t.map(t.info.page);
    await t.write(at + 0x100, i32(77));
    const within = `within ${at} ${at + t.info.page}`;
    const ok = pvm("attach", t.pid, "-c", `${within}; type int; 77; count; list; set 31337`);
    expect(ok.status).toBe(0);
    // 77 at +0x100 matches at every width, with either sign: one address.
    expect(ok.stdout).toContain(`[0] ${hex(at + 0x100)}  int8 int16 int32 int64 77`);
    expect(ok.stdout).toContain("1 match\n");
    expect(ok.stdout).toContain("wrote 31337 to 1 address\n");
    expect(new Int32Array((await t.read(at + 0x100, 4)).buffer)[0]).toBe(31337);
    const bad = pvm("attach", t.pid, "-c", `${within}; frobnicate; count`);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('unknown command "frobnicate"');
    const piped = spawnSync(process.execPath, [MAIN, "attach", String(t.pid)], { input: "set 5\nquit\n", encoding: "utf8" });
    expect(piped.status).toBe(1);
    expect(piped.stdout).toContain("no scan yet");
  });

  test("patches made in a session are restored when it ends, unless --keep", async () => {
    const at = await t.map(t.info.page);
    await t.write(at, Uint8Array.of(1, 2, 3, 4));
    expect(pvm("attach", t.pid, "-c", `patch ${at} 90 90; read ${at} u16`).stdout).toContain(`${hex(at)}  u16 ${0x9090}`);
    expect([...(await t.read(at, 4))]).toEqual([1, 2, 3, 4]);
    expect(pvm("attach", t.pid, "--keep", "-c", `patch ${at} 90 90`).status).toBe(0);
    expect([...(await t.read(at, 4))]).toEqual([0x90, 0x90, 3, 4]);
  });
});

describe("demo", () => {
  test("demo finds, sets and freezes the game's health", () => {
    const out = pvm("demo");
    expect(out.status).toBe(0);
    const found = /found it: (0x[0-9a-f]+) \(the game keeps its player record at (0x[0-9a-f]+)\)/.exec(out.stdout);
    expect(found).not.toBeNull();
    expect(found![1]).toBe(found![2]!);
    expect(out.stdout).toContain("it took our 5000");
    expect(out.stdout).toMatch(/i32 9999/);
  }, 30_000);
});
