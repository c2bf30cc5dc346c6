/**
 * Builds and starts `test/fixtures/sparse.c`: a C target with a large
 * untouched reservation, driven line by line (see the C file for commands).
 */
import type { Subprocess } from "bun";
import { Lines } from "./lines.ts";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SOURCE = new URL("../fixtures/sparse.c", import.meta.url).pathname;

/** Compiles the target into a temporary directory; null (with the reason) without a C compiler. */
export function buildSparse(): { exe: string; dir: string } | { reason: string } {
  if (spawnSync("cc", ["--version"]).status !== 0) return { reason: "no C compiler (cc) to build test/fixtures/sparse.c" };
  const dir = mkdtempSync(join(tmpdir(), "sparse-"));
  const exe = join(dir, "sparse");
  const r = spawnSync("cc", ["-O2", "-o", exe, SOURCE], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cc failed on test/fixtures/sparse.c:\n${r.stderr}`);
  }
  return { exe, dir };
}

export class Sparse {
  readonly child: Subprocess<"pipe", "pipe", "inherit">;
  pid = 0;
  base = 0;
  size = 0;
  #out: Lines;

  private constructor(child: Subprocess<"pipe", "pipe", "inherit">) {
    this.child = child;
    this.#out = new Lines(child.stdout);
  }

  /** Starts the target with a reservation of `mib` MiB (optionally under a command prefix such as `setpriv …`). */
  static async start(exe: string, mib: number, prefix: string[] = []): Promise<Sparse> {
    const child = Bun.spawn([...prefix, exe, String(mib)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const t = new Sparse(child);
    const hello = JSON.parse(await t.#next()) as { pid: number; base: number; size: number; error?: string };
    if (hello.error) throw new Error(`sparse target: ${hello.error}`);
    Object.assign(t, { pid: hello.pid, base: hello.base, size: hello.size });
    return t;
  }

  #next(): Promise<string> {
    return this.#out.expect("the sparse target");
  }

  async cmd(line: string): Promise<Record<string, number>> {
    this.child.stdin.write(`${line}\n`);
    this.child.stdin.flush();
    const reply = JSON.parse(await this.#next());
    if (reply.error) throw new Error(`sparse target: ${reply.error} (${line})`);
    return reply;
  }

  /** Writes bytes at `offset` of the reservation (from the target's side). */
  async write(offset: number, bytes: Uint8Array): Promise<void> {
    await this.cmd(`write ${offset.toString(16)} ${Buffer.from(bytes).toString("hex")}`);
  }

  /** Sets `length` bytes at `offset` to `byte` (from the target's side). */
  async fill(offset: number, length: number, byte: number): Promise<void> {
    await this.cmd(`fill ${offset.toString(16)} ${length.toString(16)} ${byte.toString(16)}`);
  }

  async madvise(advice: "dontneed" | "pageout", offset: number, length: number): Promise<number> {
    return (await this.cmd(`${advice} ${offset.toString(16)} ${length.toString(16)}`)).ok!;
  }

  /** VmRSS in KiB. */
  async rss(): Promise<number> {
    return (await this.cmd("rss")).rss!;
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}
