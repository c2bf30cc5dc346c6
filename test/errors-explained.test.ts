import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { ProcessVmError } from "../src/errors.ts";
import { Process } from "../src/process.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
let proc: Process;

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
});
afterAll(() => t.kill());

function thrown(fn: () => void): ProcessVmError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProcessVmError) return error;
    throw error;
  }
  throw new Error("did not throw");
}

test("EFAULT writing a readable, non-writable mapping names its permissions and { force: true }", () => {
  const ro = t.info.ro;
  const e = thrown(() => proc.writeI32(ro + 8, 1));
  expect(e.code).toBe("EFAULT");
  expect(e.message).toContain(`The mapping 0x${ro.toString(16)}-0x${(ro + t.info.roSize).toString(16)} (r--p anonymous) is readable but not writable`);
  expect(e.message).toContain("{ force: true }");
  expect(e.message).toContain("--force");
  // the same through write(), which is where force is given
  expect(thrown(() => proc.write(ro, new Uint8Array(4))).message).toContain("{ force: true }");
  proc.write(ro, new TextEncoder().encode("read"), { force: true }); // and force does it
  expect(proc.readCString(ro, 16)).toBe("read-only!");
});

test("EFAULT writing an unmapped address says so, and does not suggest force", async () => {
  const page = await t.map(t.info.page);
  await t.unmap(page, t.info.page);
  const e = thrown(() => proc.writeU8(page, 1));
  expect(e.message).toContain(`0x${page.toString(16)} is not mapped in pid ${t.pid}`);
  expect(e.message).not.toContain("force");
  // a write that runs from a writable page into a read-only one names the read-only one
  const two = await t.map(2 * t.info.page);
  await t.protect(two + t.info.page, t.info.page, 1);
  const partial = thrown(() => proc.write(two + t.info.page - 2, new Uint8Array(4)));
  expect(partial.address).toBe(two + t.info.page);
  expect(partial.message).toContain("(r--p anonymous) is readable but not writable");
  await t.unmap(two, 2 * t.info.page);
});

test("EFAULT reading says whether the address is unmapped or in a mapping that cannot be read", async () => {
  const page = await t.map(t.info.page);
  await t.unmap(page, t.info.page);
  const unmapped = thrown(() => proc.readI32(page));
  expect(unmapped.code).toBe("EFAULT");
  expect(unmapped.message).toContain(`0x${page.toString(16)} is not mapped in pid ${t.pid}`);
  // the fixture's guard: a readable page, then a PROT_NONE one; a read across them stops at the second
  const guard = t.info.guard;
  const e = thrown(() => proc.read(guard + t.info.page - 4, 8));
  expect(e.address).toBe(guard + t.info.page);
  expect(e.message).toContain(`(---p anonymous) is not readable`);
  expect(e.message).not.toContain("force");
});

test("EACCES on /proc/PID/maps and /proc/PID/mem gets the permission explanation of EPERM", () => {
  const isRoot = process.getuid?.() === 0;
  const hasSetpriv = spawnSync("setpriv", ["--version"]).status === 0;
  if (!isRoot || !hasSetpriv) {
    console.log(`skipped EACCES check: needs root${hasSetpriv ? "" : " and setpriv (util-linux)"} to start a reader as another user`);
    return;
  }
  // A reader running as nobody looks at the target, which runs as root: the kernel answers EACCES on both files.
  const script = `
    import { readFileSync, openSync } from "node:fs";
    import { Process, ProcessVmError } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};
    const out = [];
    for (const [file, open] of [["maps", () => readFileSync("/proc/${t.pid}/maps")], ["mem", () => openSync("/proc/${t.pid}/mem", "r+")]]) {
      try { open(); out.push({ file, ok: true }); }
      catch (e) { const w = ProcessVmError.fromFsError(e, file === "maps" ? "read" : "open", ${t.pid}); out.push({ file, code: w.code, message: w.message }); }
    }
    // and through the library's own call
    try { new Process(${t.pid}).maps(); out.push({ file: "maps()", ok: true }); }
    catch (e) { out.push({ file: "maps()", code: e.code, message: e.message }); }
    console.log(JSON.stringify(out));`;
  const reader = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", script], { encoding: "utf8" });
  if (reader.status !== 0 && reader.stdout.trim() === "") {
    console.log(`skipped EACCES check: nobody cannot run ${process.execPath}: ${reader.stderr.trim()}`);
    return;
  }
  const outcomes = JSON.parse(reader.stdout.trim()) as { file: string; code?: string; message?: string }[];
  expect(outcomes.map((o) => o.code)).toEqual(["EACCES", "EACCES", expect.stringMatching(/^(EACCES|EPERM)$/)]);
  for (const o of outcomes) {
    expect(o.message).toContain(`pid ${t.pid}`);
    expect(o.message).toContain("CAP_SYS_PTRACE");
    expect(o.message).toContain("same uid and gid");
    expect(o.message).toMatch(/Yama/);
  }
});
