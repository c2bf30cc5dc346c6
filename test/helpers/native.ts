/**
 * Small native targets for the safety tests: C programs compiled on the spot
 * (skipped with a reason where no compiler exists), a zombie made by a shell,
 * and a line-oriented child process.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { Lines } from "./lines.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

/** Whether `cc` works here; when not, tests that need a C target skip and say so. */
export const HAVE_CC = spawnSync("cc", ["--version"]).status === 0;
export const NO_CC_REASON = "needs a C compiler (cc) to build its target";

/** Compiles `test/fixtures/NAME.c` into a temporary directory; `cleanup()` removes it. */
export function compileFixture(name: string): { exe: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "pvm-native-"));
  const exe = join(dir, name);
  const out = spawnSync("cc", ["-O1", "-o", exe, join(FIXTURES, `${name}.c`)], { encoding: "utf8" });
  if (out.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cc failed for ${name}.c:\n${out.stderr}`);
  }
  return { exe, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A child that answers commands with lines on stdout. */
export class LineChild {
  readonly child: Subprocess<"pipe", "pipe", "inherit">;
  #out: Lines;

  constructor(argv: string[]) {
    this.child = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    this.#out = new Lines(this.child.stdout);
  }

  /** The next line, or null once stdout ended. */
  next(): Promise<string | null> {
    return this.#out.next();
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
    this.child.stdin.flush();
  }

  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.child.exited;
  }
}

/** Field 3 of /proc/PID/stat (R, S, Z, …), or null when the pid is gone. */
export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}

/**
 * A zombie: a shell forks a child that exits a moment later, once the shell has exec'd `sleep`, which
 * never reaps it. Resolves with the zombie's pid once it is in state Z;
 * `release()` kills the parent (the zombie is then reaped by init).
 */
export async function makeZombie(): Promise<{ pid: number; release: () => Promise<void> }> {
  const parent = new LineChild(["sh", "-c", "(sleep 0.1; exit 0) & echo $!; exec sleep 120"]);
  const line = await parent.next();
  const pid = Number(line);
  if (!Number.isInteger(pid) || pid <= 0) {
    await parent.kill();
    throw new Error(`no zombie pid from the shell (got ${line})`);
  }
  for (let i = 0; i < 200 && processState(pid) !== "Z"; i++) await Bun.sleep(10);
  if (processState(pid) !== "Z") {
    await parent.kill();
    throw new Error(`pid ${pid} did not become a zombie (state ${processState(pid)})`);
  }
  return { pid, release: () => parent.kill() };
}
