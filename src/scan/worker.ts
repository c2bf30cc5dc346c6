/**
 * Worker entry of the scanner: runs tasks posted by the pool in `pool.ts` and
 * posts the results back (their buffers transferred, not copied).
 *
 * @module
 */
import { runTask, type Task } from "./engine.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ id: number; task: Task }>) => {
  const { id, task } = event.data;
  try {
    const result = runTask(task);
    const transfer = [result.addresses.buffer, result.values.buffer] as ArrayBuffer[];
    self.postMessage({ id, result }, transfer);
  } catch (error) {
    self.postMessage({ id, error: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error) });
  }
};
