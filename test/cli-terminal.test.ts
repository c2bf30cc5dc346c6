/**
 * `pvm` on a terminal and under signals, run as a real program: the progress
 * line and colour only on a pseudo-terminal (`script` from util-linux), Ctrl-C
 * (SIGINT) in the middle of a scan, a pattern search, a freeze and a patch
 * (status 130, the matches so far printed, the target left as it was), and the
 * interactive `attach` with history and completion.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Process } from "../src/process.ts";
import { resolve } from "../src/trainer/index.ts";
import { Target } from "./helpers/target.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;
const GRAPH = new URL("./fixtures/graph.ts", import.meta.url).pathname;
const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => existsSync(p));
const i32 = (n: number) => new Uint8Array(new Int32Array([n]).buffer);
const hex = (n: number) => `0x${n.toString(16)}`;
const quote = (s: string | number) => `'${String(s).replace(/'/g, "'\\''")}'`;

/** Runs pvm on a pseudo-terminal (stdout and stderr both on it); returns what the terminal showed. */
function onTerminal(args: (string | number)[], env: Record<string, string> = {}): { status: number | null; output: string } {
  const command = [process.execPath, MAIN, ...args].map(quote).join(" ");
  const out = spawnSync(SCRIPT!, ["-qec", command, "/dev/null"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "", TERM: "xterm", ...env } });
  return { status: out.status, output: out.stdout };
}

let t: Target;
beforeAll(async () => {
  t = await Target.start();
});
afterAll(() => t.kill());

describe("terminal or not", () => {
  test("progress: none on a pipe", async () => {
    const size = 64 << 20;
    const at = await t.map(size);
    const out = spawnSync(process.execPath, [MAIN, "scan", String(t.pid), "--within", `${at},${at + size}`, "12345"], { encoding: "utf8" });
    expect(out.status).toBe(1);
    expect(out.stderr).toBe("");
    expect(out.stdout).toBe("");
  });

  test.skipIf(!SCRIPT)("progress: one redrawn line with percent, bytes per second and time left on a terminal; colour unless NO_COLOR or --no-color", async () => {
    const size = 64 << 20;
    const at = await t.map(size);
    await t.write(at + 0x100, i32(24680));
    const within = `${at},${at + size}`;
    const { status, output } = onTerminal(["scan", t.pid, "--untouched", "--within", within, "24680"]);
    expect(status).toBe(0);
    expect(output).toMatch(/\r\x1b\[Kscan +\d+%  [\d.]+ (B|KiB|MiB|GiB) of 64\.0 MiB  [\d.]+ (B|KiB|MiB|GiB)\/s  (\d+s left|done)/);
    expect(output).toContain("\r\x1b[K"); // erased before the results
    expect(output).toContain(`\x1b[36m${hex(at + 0x100)}\x1b[0m`);
    const noColor = onTerminal(["scan", t.pid, "--within", within, "24680"], { NO_COLOR: "1" });
    expect(noColor.output).not.toContain("\x1b[36m");
    expect(noColor.output).toContain(`${hex(at + 0x100)}  i32 24680`);
    expect(onTerminal(["scan", t.pid, "--within", within, "24680", "--no-color"]).output).not.toContain("\x1b[36m");
    expect(onTerminal(["--no-color", "scan", t.pid, "--within", within, "24680"]).output).not.toContain("\x1b[36m");
  });

  test.skipIf(!SCRIPT)("attach on a terminal: line editing, completion of command names, history in the state directory", async () => {
    const state = mkdtempSync(join(tmpdir(), "pvm-state-"));
    try {
      const command = [process.execPath, MAIN, "attach", t.pid].map(quote).join(" ");
      const child = Bun.spawn([SCRIPT!, "-qec", command, "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, XDG_STATE_HOME: state, TERM: "xterm" } });
      const type = async (keys: string) => {
        child.stdin.write(keys);
        child.stdin.flush();
        await Bun.sleep(300);
      };
      await Bun.sleep(800);
      await type("help cu");
      await type("\x7f\x7fcount\r"); // two backspaces, then the word
      await type("cou");
      await type("\t");
      await type("\r");
      await type("quit\r");
      expect(await child.exited).toBe(0);
      const output = await new Response(child.stdout).text();
      expect(output).toContain("how many addresses match");
      expect(output).toContain("0 matches");
      const history = readFileSync(join(state, "process-vm", "history"), "utf8").trim().split("\n");
      expect(history).toEqual(["help count", "count", "quit"]);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

/** Waits until `pid` catches SIGINT (pvm has installed its handler), as /proc/PID/status tells. */
async function handlesSigint(pid: number): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const mask = /SigCgt:\s+([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0";
    if ((BigInt(`0x${mask}`) & 2n) !== 0n) return;
    await Bun.sleep(10);
  }
  throw new Error(`pid ${pid} never caught SIGINT`);
}

/** Waits until `pid` has `/proc/TARGET/mem` open: it made its `Process` for `target`, so its scan is about to start. */
async function attachedTo(pid: number, target: number): Promise<void> {
  const mem = `/proc/${target}/mem`;
  for (let i = 0; i < 2000; i++) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === mem) return;
      } catch {
        // closed meanwhile
      }
    }
    await Bun.sleep(5);
  }
  throw new Error(`pid ${pid} never opened ${mem}`);
}

describe("Ctrl-C (SIGINT)", () => {
  /** The target's page-table size in KiB: it grows as a scan reads never-touched pages (each maps the zero page). */
  const pageTables = () => Number(/VmPTE:\s+(\d+)/.exec(readFileSync(`/proc/${t.pid}/status`, "utf8"))?.[1] ?? NaN);

  /**
   * Starts pvm; sends SIGINT after `ms`, or (`growKiB`) once the scan is well
   * under way: the target's page tables grew that much. Resolves with the status and output.
   */
  async function interrupt(args: (string | number)[], ms: number, growKiB = 0) {
    const before = pageTables();
    const child = Bun.spawn([process.execPath, MAIN, ...args.map(String)], { stdout: "pipe", stderr: "pipe" });
    await handlesSigint(child.pid);
    await Bun.sleep(ms);
    if (growKiB) for (let i = 0; i < 1000 && pageTables() - before < growKiB; i++) await Bun.sleep(10);
    child.kill("SIGINT");
    await child.exited;
    const status = child.exitCode; // null when killed by the signal rather than exiting with 130
    return { status, stdout: await new Response(child.stdout).text(), stderr: await new Response(child.stderr).text() };
  }

  test("mid-scan: aborts, prints the matches found so far, exits 130, the target is left as it was", async () => {
    // 8 GiB never touched, read anyway (--untouched): zero pages, slow enough to interrupt, and no memory used.
    const size = 8 * 2 ** 30;
    const at = await t.map(size);
    await t.write(at + 0x40, i32(-123456));
    const started = performance.now();
    const out = await interrupt(["scan", t.pid, "--untouched", "--within", `${at},${at + size}`, "--", "-123456"], 0, 2048);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(out.status).toBe(130);
    expect(out.stdout).toBe(`${hex(at + 0x40)}  i32 -123456\n`);
    expect(out.stderr).toContain("interrupted");
    expect(new Int32Array((await t.read(at + 0x40, 4)).buffer)[0]).toBe(-123456);
    await t.unmap(at, size);
  });

  test("mid-find: the addresses found so far, status 130", async () => {
    const size = 8 * 2 ** 30;
    const at = await t.map(size);
    await t.write(at + 0x81, Uint8Array.of(0xfa, 0xce, 0xfe, 0xed));
    const out = await interrupt(["find", t.pid, "fa ce fe ed", "--untouched", "--within", `${at},${at + size}`], 0, 2048);
    expect(out.status).toBe(130);
    expect(out.stdout).toBe(`${hex(at + 0x81)}\n`);
    await t.unmap(at, size);
  });

  test("mid-pointers: the paths found so far, each leading to the address, status 130 (also in --json)", async () => {
    const graph = await Target.start([], GRAPH);
    try {
      // An address in the module's file mapping is static itself: its own path is known once the maps are read,
      // and a deep search with large offsets over the target's Bun heap takes seconds.
      const target = (graph.info as unknown as { moduleBase: number }).moduleBase + 0x100;
      const proc = new Process(graph.pid);
      for (const json of [false, true]) {
        const args = ["pointers", graph.pid, target, "--depth", 16, "--offset", 0x10000, "--module", "libgame.so", "--limit", 0, ...(json ? ["--json"] : [])];
        const child = Bun.spawn([process.execPath, MAIN, ...args.map(String)], { stdout: "pipe", stderr: "pipe" });
        await handlesSigint(child.pid);
        await attachedTo(child.pid, graph.pid);
        await Bun.sleep(300);
        child.kill("SIGINT");
        const stopped = performance.now();
        await child.exited;
        expect(performance.now() - stopped).toBeLessThan(2000);
        expect(child.exitCode).toBe(130); // interrupted: a finished scan would have exited 0
        const stdout = await new Response(child.stdout).text();
        const stderr = await new Response(child.stderr).text();
        let chains: string[];
        if (json) {
          const doc = JSON.parse(stdout) as { address: number; count: number; shown: number; interrupted?: boolean; paths: { chain: string; depth: number }[] };
          expect(doc.interrupted).toBe(true);
          expect(doc.address).toBe(target);
          expect(doc.count).toBe(doc.paths.length);
          chains = doc.paths.map((p) => p.chain);
        } else {
          expect(stderr).toMatch(/interrupted: \d+ paths? found so far/);
          chains = stdout.trim().split("\n");
        }
        expect(chains[0]).toBe("libgame.so+0x100");
        for (const chain of chains) expect(resolve(proc, chain)).toBe(target);
      }
    } finally {
      graph.kill();
    }
  });

  test("mid-freeze: releases and exits 130; the target's own writes stay", async () => {
    const at = await t.map(t.info.page);
    const child = Bun.spawn([process.execPath, MAIN, "freeze", String(t.pid), String(at), "i32", "999", "--interval", "10"], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe(`holding i32 999 at ${hex(at)}; Ctrl-C releases it\n`);
    await t.write(at, i32(1));
    await Bun.sleep(100);
    expect(new Int32Array((await t.read(at, 4)).buffer)[0]).toBe(999);
    child.kill("SIGINT");
    await child.exited;
    expect(child.exitCode).toBe(130); // exited with 130, not killed by the signal (exited would say 130 too)
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe(`released ${hex(at)}\n`); // the text form says so, as the JSON form's "released" event does
    await t.write(at, i32(2));
    await Bun.sleep(50);
    expect(new Int32Array((await t.read(at, 4)).buffer)[0]).toBe(2);
  });

  test("mid-watch: exits 130; SIGTERM stops it the same way with 143", async () => {
    const at = await t.map(t.info.page);
    const out = await interrupt(["watch", t.pid, at, "--json"], 100);
    expect(out.status).toBe(130);
    expect(out.stdout).toBe("");
    const child = Bun.spawn([process.execPath, MAIN, "watch", String(t.pid), String(at)], { stdout: "pipe", stderr: "pipe" });
    await handlesSigint(child.pid);
    child.kill("SIGTERM");
    await child.exited;
    expect(child.exitCode).toBe(143);
  });

  test("a patch is restored before exit, unless --keep", async () => {
    const at = await t.map(t.info.page);
    await t.write(at, Uint8Array.of(1, 2, 3, 4));
    const child = Bun.spawn([process.execPath, MAIN, "patch", String(t.pid), String(at), "90 90"], { stdout: "pipe", stderr: "pipe" });
    const stdout = new TextDecoder().decode((await child.stdout.getReader().read()).value);
    expect(stdout).toBe(`${hex(at)}  01 02 -> 90 90\n`);
    expect([...(await t.read(at, 4))]).toEqual([0x90, 0x90, 3, 4]);
    child.kill("SIGINT");
    await child.exited;
    expect(child.exitCode).toBe(130); // exited with 130, not killed by the signal (exited would say 130 too)
    expect([...(await t.read(at, 4))]).toEqual([1, 2, 3, 4]);
    const kept = spawnSync(process.execPath, [MAIN, "patch", String(t.pid), String(at), "--nop", "3", "--keep"], { encoding: "utf8" });
    expect(kept.status).toBe(0);
    expect([...(await t.read(at, 4))]).toEqual([0x90, 0x90, 0x90, 4]);
  });

  test("a piped attach: Ctrl-C ends it with 130 and restores its patches", async () => {
    const at = await t.map(t.info.page);
    await t.write(at, Uint8Array.of(5, 6));
    const child = Bun.spawn([process.execPath, MAIN, "attach", String(t.pid)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    child.stdin.write(`patch ${at} 0909\n`);
    child.stdin.flush();
    const said = new TextDecoder().decode((await child.stdout.getReader().read()).value);
    expect(said).toContain("patched 2 bytes");
    expect([...(await t.read(at, 2))]).toEqual([9, 9]);
    child.kill("SIGINT");
    await child.exited;
    expect(child.exitCode).toBe(130); // exited with 130, not killed by the signal (exited would say 130 too)
    expect([...(await t.read(at, 2))]).toEqual([5, 6]);
  });

  test("a command that does not watch for Ctrl-C ends at once with 130, and the demo's game with it", async () => {
    const child = Bun.spawn([process.execPath, MAIN, "demo"], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    let text = "";
    while (!/pid (\d+)/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const game = Number(/pid (\d+)/.exec(text)![1]);
    child.kill("SIGINT");
    await child.exited;
    expect(child.exitCode).toBe(130); // exited with 130, not killed by the signal (exited would say 130 too)
    await Bun.sleep(100);
    expect(existsSync(`/proc/${game}`) && !readFileSync(`/proc/${game}/stat`, "utf8").includes(") Z ")).toBe(false);
  });
});
