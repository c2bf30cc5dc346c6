/**
 * Starts `test/fixtures/target.ts` as a child and talks to it line by line.
 */
import type { Subprocess } from "bun";
import { Lines } from "./lines.ts";
import { rmSync } from "node:fs";

const FIXTURE = new URL("../fixtures/target.ts", import.meta.url).pathname;

export interface TargetInfo {
  pid: number;
  page: number;
  data: number;
  dataSize: number;
  guard: number;
  ro: number;
  roSize: number;
}

export class Target {
  readonly child: Subprocess<"pipe", "pipe", "inherit">;
  readonly pid: number;
  info!: TargetInfo;
  #out: Lines;

  private constructor(child: Subprocess<"pipe", "pipe", "inherit">) {
    this.child = child;
    this.pid = child.pid;
    this.#out = new Lines(child.stdout);
  }

  /** Starts a target (optionally with a command prefix such as `setpriv ...`) and waits until it is ready. */
  static async start(prefix: string[] = [], fixture = FIXTURE): Promise<Target> {
    const child = Bun.spawn([...prefix, process.execPath, fixture], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const target = new Target(child);
    const ready = JSON.parse(await target.#next());
    if (!ready.ready) throw new Error(`target did not start: ${JSON.stringify(ready)}`);
    (target as { pid: number }).pid = ready.pid;
    target.info = (await target.cmd("info")) as unknown as TargetInfo;
    return target;
  }

  #next(): Promise<string> {
    return this.#out.expect("the target");
  }

  /** Sends one command; resolves to its JSON reply (throws on `{ error }`). */
  async cmd(line: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${line}\n`);
    this.child.stdin.flush();
    const reply = JSON.parse(await this.#next());
    if (reply.error) throw new Error(`target: ${reply.error}`);
    return reply;
  }

  /** Bytes at `address` as the target itself sees them. */
  async read(address: number, length: number): Promise<Uint8Array> {
    const { hex } = (await this.cmd(`read ${address.toString(16)} ${length.toString(16)}`)) as { hex: string };
    return new Uint8Array(Buffer.from(hex, "hex"));
  }

  /** Writes bytes into the target from the target's side. */
  async write(address: number, bytes: Uint8Array): Promise<void> {
    await this.cmd(`write ${address.toString(16)} ${Buffer.from(bytes).toString("hex")}`);
  }

  /** Maps `length` bytes (prot digits of PROT_*, default rw) in the target. */
  async map(length: number, prot = 3, path?: string): Promise<number> {
    const { address } = (await this.cmd(`map ${length.toString(16)} ${prot}${path ? ` ${path}` : ""}`)) as { address: number };
    return address;
  }

  async unmap(address: number, length: number): Promise<void> {
    await this.cmd(`unmap ${address.toString(16)} ${length.toString(16)}`);
  }

  async protect(address: number, length: number, prot: number): Promise<void> {
    await this.cmd(`protect ${address.toString(16)} ${length.toString(16)} ${prot}`);
  }

  /** Maps one read-write page between two PROT_NONE guard pages (scanmem's controlled page); returns its address. */
  async guardedPage(): Promise<number> {
    const page = this.info.page;
    const base = await this.map(3 * page);
    await this.protect(base, page, 0);
    await this.protect(base + 2 * page, page, 0);
    return base + page;
  }

  /** Asks the target to exit and waits until it has. */
  async exit(): Promise<void> {
    this.child.stdin.write("exit\n");
    this.child.stdin.flush();
    await this.child.exited;
    this.#removeTmp();
  }

  /** Kills the target (SIGKILL: its exit handlers do not run, so the temporary directory it reports as `tmp` is removed here). */
  kill(): void {
    this.child.kill("SIGKILL");
    this.#removeTmp();
  }

  #removeTmp(): void {
    const tmp = (this.info as { tmp?: unknown } | undefined)?.tmp;
    if (typeof tmp === "string") rmSync(tmp, { recursive: true, force: true });
  }
}
