/**
 * `pvm ui` from the command line, the address list's saved form and the value
 * parsing of the page's edits.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { formatTable, parseTable } from "../src/index.ts";
import { AddressList, parseTypedValue, RequestError } from "../src/ui/index.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

async function firstLines(stream: ReadableStream<Uint8Array>, n: number): Promise<string[]> {
  let text = "";
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  while (text.split("\n").length <= n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  reader.releaseLock();
  return text.split("\n").slice(0, n);
}

test("pvm ui prints a loopback URL with a token, serves it, and stops on SIGTERM (status 143)", async () => {
  const child = Bun.spawn([process.execPath, MAIN, "ui", String(process.pid)], { stdout: "pipe", stderr: "pipe" });
  try {
    const [line] = await firstLines(child.stdout, 1);
    const url = /open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43})$/.exec(line ?? "")?.[1];
    expect(url).toBeDefined();
    const r = await fetch(url!, { redirect: "manual" });
    expect(r.status).toBe(303);
    const cookie = r.headers.get("set-cookie")!.split(";")[0]!;
    const origin = new URL(url!).origin;
    const api = await fetch(`${origin}/api`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: '{"cmd":"maps"}' });
    expect(((await api.json()) as { ok: boolean }).ok).toBe(true); // attached to the pid given
  } finally {
    child.kill("SIGTERM");
  }
  expect(await child.exited).toBe(143);
});

test("pvm ui --host other than loopback warns", async () => {
  const child = Bun.spawn([process.execPath, MAIN, "ui", "--host", "0.0.0.0"], { stdout: "pipe", stderr: "pipe" });
  try {
    const [line] = await firstLines(child.stdout, 1);
    expect(line).toMatch(/^pvm ui: open http:\/\/0\.0\.0\.0:\d+\/\?token=/);
  } finally {
    child.kill("SIGTERM");
  }
  await child.exited;
  expect(await new Response(child.stderr).text()).toContain("warning: listening on 0.0.0.0, not loopback");
});

test("the address list saves and loads, checking each entry", () => {
  const list = new AddressList();
  list.add({ description: "health", address: "0x55d0c0de10", type: "i32" });
  const ammo = list.add({ description: "ammo", address: "game+0x1a2b0 -> 0x10 -> 0x8", type: "u16" });
  list.update(ammo.id, { description: "bullets" });
  const saved = JSON.parse(JSON.stringify(list.toJSON()));
  expect(saved.entries.map((e: { description: string }) => e.description)).toEqual(["health", "bullets"]);

  const other = new AddressList();
  other.load(saved);
  expect(other.entries.map((e) => [e.description, e.address, e.type])).toEqual([
    ["health", "0x55d0c0de10", "i32"],
    ["bullets", "game+0x1a2b0 -> 0x10 -> 0x8", "u16"],
  ]);
  // One bad entry: nothing changes.
  const bad = { ...saved, entries: [...saved.entries, { description: "x", address: "-> ->", type: "i32" }] };
  expect(() => other.load(bad)).toThrow(/entry 2/);
  expect(other.entries.length).toBe(2);
  expect(() => other.load({ entries: [] })).toThrow(RequestError);
  expect(() => other.add({ address: "0x10", type: "f16" })).toThrow(/type/);
});

test("the list saves as a cheat table and loads tables and .CT files", () => {
  const list = new AddressList();
  const hp = list.add({ description: "health", address: "0x55d0c0de10", type: "i32" });
  list.add({ description: "ammo", address: "game+0x1a2b0 -> 0x10 -> 0x8", type: "u16" });
  hp.allowIncrease = true;
  hp.value = "100";
  const table = list.toTable();
  expect(parseTable(formatTable(table))).toEqual(table); // valid in the library's table model
  expect(table.entries[0]).toMatchObject({ kind: "value", description: "health", address: "0x55d0c0de10", type: "i32", freeze: { active: false, value: "100", allowIncrease: true } });

  const again = new AddressList();
  expect(again.loadTable(formatTable(table))).toEqual({ loaded: 2, skipped: 0 });
  expect(again.entries.map((e) => [e.description, e.address, e.type, e.allowIncrease, e.value])).toEqual([
    ["health", "0x55d0c0de10", "i32", true, "100"],
    ["ammo", "game+0x1a2b0 -> 0x10 -> 0x8", "u16", false, undefined],
  ]);

  // A Cheat Engine table: what the list can hold loads, the rest is counted.
  const ct = readFileSync(new URL("./fixtures/tables/every-kind.CT", import.meta.url), "utf8");
  const fromCt = new AddressList();
  const { loaded, skipped } = fromCt.loadTable(ct);
  expect(loaded).toBeGreaterThan(0);
  expect(skipped).toBeGreaterThan(0);
  expect(fromCt.entries.length).toBe(loaded);
  expect(() => fromCt.loadTable("<CheatTable><nope")).toThrow(/not a table/);
  expect(fromCt.entries.length).toBe(loaded); // unchanged by a bad file
});

test("typed values from the page's text", () => {
  expect(parseTypedValue("i32", "-5")).toBe(-5);
  expect(parseTypedValue("u8", "0xff")).toBe(255);
  expect(parseTypedValue("u64", "18446744073709551615")).toBe(18446744073709551615n);
  expect(parseTypedValue("f32", "1.5")).toBe(1.5);
  expect(() => parseTypedValue("u8", "256")).toThrow(/does not fit u8/);
  expect(() => parseTypedValue("i8", "-129")).toThrow(/does not fit/);
  expect(() => parseTypedValue("i32", "1.5")).toThrow(/not an integer/);
  expect(() => parseTypedValue("f64", "abc")).toThrow(/not a number/);
  expect(() => parseTypedValue("i32", " ")).toThrow(/empty/);
});

test("pvm ui with a target that is gone fails with a status and leaves no server", async () => {
  const gone = Bun.spawn(["true"]);
  await gone.exited;
  const child = Bun.spawn([process.execPath, MAIN, "ui", String(gone.pid)], { stdout: "pipe", stderr: "pipe" });
  expect(await child.exited).toBe(1);
  expect(await new Response(child.stderr).text()).toMatch(/ESRCH|no longer exists|No such process/i);
});
