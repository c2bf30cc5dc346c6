/**
 * The scanner through `Process` methods and the package's export list.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { PatternSyntaxError, Process, Scan } from "../src/index.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
let proc: Process;
let region: number;

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
  region = await t.map(4 * t.info.page);
  await t.write(region + 0x100, new Uint8Array(new Int32Array([424242]).buffer));
  await t.write(region + 0x2004, new Uint8Array(new Int32Array([424242]).buffer));
  await t.write(region + 0x3001, Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x13, 0x37));
});
afterAll(() => t.kill());

test("proc.scan finds planted values and narrows them", async () => {
  const within = [region, region + 4 * t.info.page] as const;
  const s = await proc.scan("i32", 424242, { within });
  expect(s).toBeInstanceOf(Scan);
  expect([...s.addresses()]).toEqual([region + 0x100, region + 0x2004]);
  await t.write(region + 0x100, new Uint8Array(new Int32Array([424241]).buffer));
  await s.next("decreased");
  expect([...s.addresses()]).toEqual([region + 0x100]);
  const [match] = [...s];
  expect(match).toMatchObject({ address: region + 0x100, value: 424241, previous: 424242 });
});

test("the default selection finds the planted value among the target's whole memory", async () => {
  const s = await proc.scan("i32", 424242);
  expect(s.addresses()).toContain(region + 0x2004);
});

test("proc.findPattern with wildcards and nibbles", async () => {
  const found = await proc.findPattern("de ad ?? e? 13", { within: [region, region + 4 * t.info.page] });
  expect(found).toEqual([region + 0x3001]);
  expect(() => proc.findPattern("de ad zz")).toThrow(PatternSyntaxError);
  expect(() => proc.findPattern(123 as unknown as string)).toThrow(TypeError);
  expect(() => proc.findPattern({ mask: new Uint8Array(1) } as never)).toThrow(/compilePattern/);
});
