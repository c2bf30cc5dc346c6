/**
 * Builds test/fixtures/table-target.c (64-bit, and 32-bit with -m32 when the
 * compiler can) and starts it; it prints one JSON line of addresses.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const SOURCE = new URL("../fixtures/table-target.c", import.meta.url).pathname;
const SETUP = new URL("../../.ci/setup-multilib", import.meta.url).pathname;

export interface TableTargetInfo {
  pid: number;
  pointerSize: 4 | 8;
  /** Address of the static `g_root`. */
  root: number;
  /** Address of the static `g_stats`. */
  gStats: number;
  /** The heap object `stats`. */
  stats: number;
  tick: number;
}

export interface Built {
  dir: string;
  /** Executable paths by build; a missing build has the reason instead. */
  bin64: string | null;
  bin32: string | null;
  why64: string;
  why32: string;
  cleanup(): void;
}

function compile(out: string, extra: string[]): string | null {
  const r = spawnSync("cc", ["-O1", ...extra, "-o", out, SOURCE], { encoding: "utf8" });
  if (r.error) return `no C compiler (${r.error.message})`;
  return r.status === 0 ? null : `cc ${extra.join(" ")} failed: ${(r.stderr || "").split("\n").slice(0, 3).join(" ")}`;
}

/** Builds both targets in a fresh temporary directory. For -m32, runs .ci/setup-multilib (installs gcc-multilib as root) when the first try fails. */
export function buildTargets(): Built {
  const dir = mkdtempSync(join(tmpdir(), "pvm-table-"));
  const b64 = join(dir, "table-target");
  const b32 = join(dir, "table-target32");
  const why64 = compile(b64, []);
  let why32 = why64 ?? compile(b32, ["-m32"]);
  if (why32 && !why64 && existsSync(SETUP)) {
    const setup = spawnSync("bash", [SETUP], { encoding: "utf8" });
    const said = `${setup.stdout ?? ""}${setup.stderr ?? ""}`.trim();
    why32 = compile(b32, ["-m32"]);
    if (why32 && said) why32 = `${why32}; ${said.split("\n").pop()}`;
  }
  return {
    dir,
    bin64: why64 ? null : b64,
    bin32: why32 ? null : b32,
    why64: why64 ?? "",
    why32: why32 ?? "",
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A copy of `bin` under another name (e.g. `Game.exe`) in the same directory. */
export function copyAs(bin: string, dir: string, name: string): string {
  const path = join(dir, name);
  copyFileSync(bin, path);
  return path;
}

export class TableTarget {
  readonly child: Subprocess<"pipe", "pipe", "inherit">;
  info!: TableTargetInfo;

  private constructor(child: Subprocess<"pipe", "pipe", "inherit">) {
    this.child = child;
  }

  static async start(bin: string): Promise<TableTarget> {
    const child = Bun.spawn([bin], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const t = new TableTarget(child);
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${bin} exited before it was ready`);
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    t.info = JSON.parse(text.slice(0, text.indexOf("\n")));
    return t;
  }

  get pid(): number {
    return this.child.pid;
  }

  async stop(): Promise<void> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 2000);
    await this.child.exited;
    clearTimeout(timer);
  }
}
