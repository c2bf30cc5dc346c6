/**
 * Builds the package into dist/: JavaScript bundles for Bun (the library, the
 * scanner's Worker, the command line and the demo game) and the declarations
 * (.d.ts) of the public API, so that a project using the package never
 * typechecks the library's source under its own settings.
 *
 *   bun scripts/build.ts        (npm run build; npm pack runs it)
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });

// JavaScript: every entry lands at the top of dist/, where the code that starts
// the others (the scanner's pool, `pvm demo`) looks for them.
const built = await Bun.build({
  entrypoints: ["src/index.ts", "src/scan/worker.ts", "src/cli/main.ts", "src/cli/demo-game.ts"].map((f) => join(root, f)),
  outdir: dist,
  target: "bun",
  format: "esm",
  splitting: true,
  naming: { entry: "[name].[ext]", chunk: "chunk-[hash].[ext]" },
});
if (!built.success) {
  for (const log of built.logs) console.error(log);
  process.exit(1);
}

// The browser UI's page (pvm ui serves it from beside the bundle that holds its server).
cpSync(join(root, "src/ui/static"), join(dist, "static"), { recursive: true });

// Declarations, with the relative imports written as .js (resolved to the
// .d.ts beside them whatever the consumer's moduleResolution).
const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const SPECIFIER = /((?:from|import)\s*\(?\s*["'])(\.\.?\/[^"']*)\.ts(["'])/g;
for (const file of readdirSync(join(dist, "types"), { recursive: true, encoding: "utf8" })) {
  if (!file.endsWith(".d.ts")) continue;
  const path = join(dist, "types", file);
  writeFileSync(path, readFileSync(path, "utf8").replace(SPECIFIER, "$1$2.js$3"));
}

// Node.js: one clear error instead of ERR_UNKNOWN_FILE_EXTENSION or a missing bun:ffi.
writeFileSync(
  join(dist, "node.cjs"),
  `"use strict";\nthrow new Error("process-vm runs on Bun (it calls process_vm_readv through bun:ffi), not on Node.js: run your script with bun (https://bun.sh; npm install bun).");\n`,
);
console.log(`built ${built.outputs.map((o) => o.path.slice(dist.length + 1)).join(", ")}, node.cjs and types/`);
