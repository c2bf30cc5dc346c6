/**
 * Runs scan tasks: on the main thread in slices of a few milliseconds, or on
 * a pool of Workers (one per core) that read the target in parallel. Either
 * way the results come back in task order, so matches stay in address order.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { runTask, type Task, type TaskResult } from "./engine.ts";

/** How a run is driven. */
export interface RunControl {
  /** Stops the run: it rejects with `signal.reason` once the tasks in flight are done. */
  signal?: AbortSignal;
  /** Called with bytes done and bytes in total, after each task. */
  onProgress?: (done: number, total: number) => void;
  /** Workers to use; 0 runs on the main thread. */
  threads: number;
  /** Total work, for progress. */
  total: number;
}

/** The results so far, and the fatal error that stopped the run, if any. */
export interface RunOutcome {
  results: (TaskResult | undefined)[];
  errno?: number;
  errAddress?: number;
}

/** Longest time the main thread works before yielding to the event loop. */
const SLICE_MS = 4;

/** The number of cores. */
export const CORES: number = Math.max(1, availableParallelism?.() ?? navigator.hardwareConcurrency ?? 1);

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs `tasks` and returns the results in task order. Stops at the first fatal error (ESRCH, EPERM). */
export async function runTasks(tasks: readonly Task[], control: RunControl): Promise<RunOutcome> {
  control.signal?.throwIfAborted();
  return control.threads > 0 && tasks.length > 1 ? runPool(tasks, control) : runInline(tasks, control);
}

async function runInline(tasks: readonly Task[], control: RunControl): Promise<RunOutcome> {
  const results: (TaskResult | undefined)[] = new Array(tasks.length);
  let done = 0;
  let sliceStart = performance.now();
  for (let i = 0; i < tasks.length; i++) {
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    control.signal?.throwIfAborted();
    const r = runTask(tasks[i]!);
    results[i] = r;
    done += r.bytes;
    control.onProgress?.(Math.min(done, control.total), control.total);
    if (r.errno !== undefined) return { results, errno: r.errno, errAddress: r.errAddress };
  }
  return { results };
}

interface PoolWorker {
  worker: Worker;
  busy: boolean;
}

let pool: PoolWorker[] = [];
const pending = new Map<number, { resolve: (r: TaskResult) => void; reject: (e: Error) => void }>();

function spawn(): PoolWorker {
  // Beside this file in the repository; at the top of dist/ in the built package (scripts/build.ts).
  const worker = new Worker(new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url).href);
  worker.unref();
  worker.onmessage = (event: MessageEvent<{ id: number; result?: TaskResult; error?: string }>) => {
    const { id, result, error } = event.data;
    const p = pending.get(id);
    pending.delete(id);
    if (!p) return;
    if (error !== undefined || !result) p.reject(new Error(`scan worker failed: ${error}`));
    else p.resolve(result);
  };
  worker.onerror = (event) => {
    for (const [id, p] of pending) {
      pending.delete(id);
      p.reject(new Error(`scan worker failed: ${event.message}`));
    }
  };
  return { worker, busy: false };
}

let nextId = 1;

function post(w: PoolWorker, task: Task): Promise<TaskResult> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.worker.postMessage({ id, task });
  });
}

async function runPool(tasks: readonly Task[], control: RunControl): Promise<RunOutcome> {
  const n = Math.min(control.threads, tasks.length);
  // Free Workers first; more when other scans hold them (the pool grows to the largest concurrent demand).
  const mine = pool.filter((w) => !w.busy).slice(0, n);
  while (mine.length < n) {
    const w = spawn();
    pool.push(w);
    mine.push(w);
  }
  for (const w of mine) w.busy = true;
  // The Workers are unref'd (an idle pool never keeps the process alive); a timer keeps it alive during a run.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const results: (TaskResult | undefined)[] = new Array(tasks.length);
  let next = 0;
  let done = 0;
  let stop: { errno: number; errAddress?: number } | undefined;
  let failure: unknown;
  try {
    await Promise.all(
      mine.map(async (w) => {
        while (next < tasks.length && !stop && failure === undefined && !control.signal?.aborted) {
          const i = next++;
          try {
            const r = await post(w, tasks[i]!);
            results[i] = r;
            done += r.bytes;
            if (r.errno !== undefined && !stop) stop = { errno: r.errno, errAddress: r.errAddress };
            control.onProgress?.(Math.min(done, control.total), control.total);
          } catch (error) {
            failure ??= error;
          }
        }
      }),
    );
  } finally {
    for (const w of mine) w.busy = false;
    clearInterval(keepAlive);
  }
  if (failure !== undefined) throw failure;
  control.signal?.throwIfAborted();
  return stop ? { results, errno: stop.errno, errAddress: stop.errAddress } : { results };
}

/**
 * Terminates the scan Workers (they are created on the first parallel scan and
 * kept for the next ones; they never keep the process alive by themselves).
 * A later parallel scan starts new ones.
 *
 * @example
 * ```ts
 * import { terminateScanWorkers } from "process-vm";
 * await scan(proc, "i32", 100);
 * terminateScanWorkers(); // free the Workers' memory now
 * ```
 */
export function terminateScanWorkers(): void {
  const old = pool;
  pool = [];
  for (const w of old) void w.worker.terminate();
}
