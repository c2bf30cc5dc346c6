/**
 * Runs a Bun script in a child process and reports whether it exited by
 * itself within a time limit (a leaked timer, Worker or handle keeps it alive).
 */
export interface ChildRun {
  /** Exit code, or null when it had to be killed. */
  code: number | null;
  /** Whether it exited by itself in time. */
  exitedInTime: boolean;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function runChild(args: string[], limitMs: number, env: Record<string, string> = {}): Promise<ChildRun> {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), limitMs)));
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  const first = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  const exitedInTime = first !== "timeout";
  if (!exitedInTime) child.kill("SIGKILL");
  const code = await child.exited;
  return { code: exitedInTime ? code : null, exitedInTime, stdout: await stdout, stderr: await stderr, ms: performance.now() - started };
}
