/**
 * `bun run bench`: every benchmark, one after the other, each in its own
 * process so that one's heap and JIT state do not colour the next.
 */
import { existsSync } from "node:fs";

const benches = ["core.ts", "scan.ts", "trainer.ts"];
let failed = false;
for (const name of benches) {
  const path = new URL(`./${name}`, import.meta.url).pathname;
  if (!existsSync(path)) continue;
  console.log(`\n=== bench/${name} ===`);
  const child = Bun.spawn([process.execPath, path], { stdout: "inherit", stderr: "inherit" });
  if ((await child.exited) !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
