/**
 * The package as another project gets it: `npm pack` (which builds dist/),
 * the tarball installed into a temporary project without the registry, a
 * script using the public API typechecked under three consumer tsconfigs
 * (strict; with and without `allowImportingTsExtensions`; with
 * `exactOptionalPropertyTypes`; the package's declarations checked, no
 * `skipLibCheck`), then run with Bun against a real target. Also what Node.js
 * and `npx pvm` say without Bun.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, relative } from "node:path";
import ts from "typescript";
import { Target } from "./helpers/target.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const BIN = join(REPO, "node_modules/.bin");
const npm = spawnSync("npm", ["--version"], { encoding: "utf8" }).status === 0;
const node = spawnSync("node", ["--version"], { encoding: "utf8" }).status === 0;
if (!npm) console.log("npm not found: the package tests are skipped");

const I32 = 0x5eed1234;
const I64 = 0x1122334455667788n;
const TEXT = "pvm-package-check";

/** The consumer's script: every face of the public API it touches is typed by the package's declarations. */
const SCRIPT = `import { Process, ProcessVmError, PointerPaths, type FreezeHandle, type ScanMatch } from "process-vm";

const pid = Number(process.env.TARGET_PID);
const data = Number(process.env.TARGET_DATA);
const proc = new Process(pid);
const within: [number, number] = [data, data + Number(process.env.TARGET_SIZE)];

// Value types follow the scan type.
const ints = await proc.scan("i32", ${I32}, { within, threads: 2 }); // 3 MiB in 1 MiB tasks: the built package's Workers
const doubled: number[] = [...ints].map((m) => m.value * 2);
// @ts-expect-error an i32 scan yields numbers
const notBig: bigint = [...ints][0]!.value;
const bigs = await proc.scan("i64", ${I64}n, { within });
const shifted: bigint[] = [...bigs].map((m) => m.value >> 32n);
const texts = await proc.scan("string", ${JSON.stringify(TEXT)}, { within, align: 1 });
const upper: string[] = [...texts].map((m) => m.value.toUpperCase());
const raw = await proc.scan("bytes", "70 76 6d 2d ?? 61", { within });
const firstBytes: number[][] = [...raw].map((m: ScanMatch<"bytes">) => Array.from(m.value.subarray(0, 2)));
await ints.next("unchanged", { threads: 0 });

// Trainer tools.
const slot = data + 0x800;
proc.writeI32(slot, 5);
const held: FreezeHandle<"i32"> = proc.freeze(slot, "i32", 1234, { intervalMs: 5 });
proc.writeI32(slot, 1);
await Bun.sleep(60);
const frozen = proc.readI32(slot);
held.stop();
const watcher = proc.watch([slot, { address: slot + 8, type: "f64" }], { intervalMs: 5, keepAlive: false });
setTimeout(() => proc.writeF64(slot + 8, 2.5), 20);
let seen: number | null = null;
for await (const change of watcher) {
  if (change.index === 1) {
    seen = change.new;
    break;
  }
}
let error = "";
try {
  proc.readI32(8);
} catch (e) {
  if (e instanceof ProcessVmError) error = e.code;
}
console.log(JSON.stringify({
  ints: [...ints].map((m) => m.address - data),
  doubled,
  notBig: typeof notBig,
  shifted: shifted.map(String),
  upper,
  firstBytes,
  frozen,
  seen,
  error,
  pointerPaths: typeof PointerPaths,
}));
`;

/** The consumer's settings: Bun's template without `skipLibCheck`, then the variants of the issue. */
const BASE = {
  target: "ESNext",
  lib: ["ESNext"],
  module: "Preserve",
  moduleResolution: "bundler",
  moduleDetection: "force",
  types: ["bun"],
  strict: true,
  noEmit: true,
  skipLibCheck: false,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  verbatimModuleSyntax: true,
};
const VARIANTS: Record<string, Record<string, unknown>> = {
  "with allowImportingTsExtensions": { ...BASE, allowImportingTsExtensions: true },
  "without allowImportingTsExtensions": { ...BASE },
  "with exactOptionalPropertyTypes": { ...BASE, exactOptionalPropertyTypes: true },
};

let dir: string;
let app: string;
let files: string[] = [];
let t: Target;

/** PATH without any directory holding a `bun`. */
function pathWithoutBun(): string {
  return (process.env.PATH ?? "").split(delimiter).filter((d) => d && !existsSync(join(d, "bun"))).join(delimiter);
}

/** The environment of the commands run here: their temporary files (Node's compile cache…) go in the test's folder; no npm update notice. */
function childEnv(env: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  return { ...env, TMPDIR: join(dir, "tmp"), npm_config_update_notifier: "false" };
}

function run(cmd: string[], cwd: string, env: Record<string, string | undefined> = process.env) {
  const out = spawnSync(cmd[0]!, cmd.slice(1), { cwd, env: childEnv(env), encoding: "utf8", timeout: 60_000 });
  return { status: out.status, stdout: out.stdout ?? "", stderr: out.stderr ?? "" };
}

beforeAll(async () => {
  if (!npm) return;
  dir = mkdtempSync(join(tmpdir(), "pvm-package-"));
  mkdirSync(join(dir, "tmp"));
  // npm runs the prepack script (the build) with node_modules/.bin on its PATH.
  const pack = run(["npm", "pack", "--json", "--pack-destination", dir], REPO);
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stdout}\n${pack.stderr}`);
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))); // after the build's own output
  files = info.files.map((f: { path: string }) => f.path);
  app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  const install = run(["npm", "install", "--offline", "--no-audit", "--no-fund", join(dir, info.filename)], app);
  if (install.status !== 0) throw new Error(`npm install of the tarball failed:\n${install.stderr}`);
  // The consumer's own dev dependency, taken from this repository (no registry needed).
  mkdirSync(join(app, "node_modules/@types"), { recursive: true });
  symlinkSync(join(REPO, "node_modules/@types/bun"), join(app, "node_modules/@types/bun"));
  writeFileSync(join(app, "main.ts"), SCRIPT);
  t = await Target.start();
}, 180_000);

afterAll(() => {
  t?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!npm)("the tarball holds the build, the license and the command, not the source", () => {
  for (const f of ["LICENSE", "README.md", "package.json", "bin/pvm", "dist/index.js", "dist/worker.js", "dist/main.js", "dist/demo-game.js", "dist/node.cjs", "dist/types/index.d.ts"]) {
    expect(files).toContain(f);
  }
  expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/") || f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  const pkg = JSON.parse(readFileSync(join(app, "node_modules/process-vm/package.json"), "utf8"));
  expect(pkg.license).toBe("MIT");
  expect(pkg.repository).toBeDefined();
  expect(readFileSync(join(app, "node_modules/process-vm/LICENSE"), "utf8")).toContain("MIT License");
  // Every relative link of the README is to a file in the package.
  const readme = readFileSync(join(app, "node_modules/process-vm/README.md"), "utf8");
  const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
  for (const link of links) expect(files).toContain(link.replace(/^\.\//, ""));
});

test.skipIf(!npm)("a consumer's script typechecks under each tsconfig, with the package's declarations checked", () => {
  // Bun's and Node's own declarations (their versions in this repository) are not the package's: the
  // diagnostics asked for are the script's and the package's files' (tsc's checks, file by file).
  const parsedFiles = new Map<string, ts.SourceFile | undefined>(); // parsed once for the three programs
  for (const [name, compilerOptions] of Object.entries(VARIANTS)) {
    const config = join(app, `tsconfig.${name.replaceAll(" ", "-")}.json`);
    writeFileSync(config, JSON.stringify({ compilerOptions, include: ["main.ts"] }, null, 2));
    const parsed = ts.getParsedCommandLineOfConfigFile(config, undefined, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    })!;
    const host = ts.createCompilerHost(parsed.options);
    const parse = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language, onError, create) => {
      if (!parsedFiles.has(file)) parsedFiles.set(file, parse(file, language, onError, create));
      return parsedFiles.get(file);
    };
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, host });
    const ours = program.getSourceFiles().map((f) => f.fileName).filter((f) => f.startsWith(`${app}/`) && !f.startsWith(`${app}/node_modules/@types/`));
    // The declarations are in the program (not the source), so they are what gets checked.
    expect(ours).toContain(join(app, "main.ts"));
    expect(ours).toContain(join(app, "node_modules/process-vm/dist/types/index.d.ts"));
    expect(ours.filter((f) => !f.endsWith(".d.ts") && !f.endsWith("/main.ts"))).toEqual([]);
    // No error in the script (an unused @ts-expect-error would be one) or anywhere in the package.
    const diagnostics = [
      ...parsed.errors,
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...ours.flatMap((f) => [...program.getSyntacticDiagnostics(program.getSourceFile(f)), ...program.getSemanticDiagnostics(program.getSourceFile(f))]),
    ];
    const errors = diagnostics.map((d) => `${d.file ? relative(app, d.file.fileName) : "(options)"}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
    expect({ name, errors }).toEqual({ name, errors: [] });
  }
}, 180_000); // about 1 s of CPU per variant, and a shared machine

test.skipIf(!npm)("the script runs with Bun against a real target", async () => {
  const size = 3 << 20;
  const data = await t.map(size);
  await t.write(data + 0x100, new Uint8Array(new Int32Array([I32]).buffer));
  await t.write(data + 0x200040, new Uint8Array(new Int32Array([I32]).buffer));
  await t.write(data + 0x208, new Uint8Array(new BigInt64Array([I64]).buffer));
  await t.write(data + 0x301, new TextEncoder().encode(TEXT));
  const env = { ...process.env, TARGET_PID: String(t.pid), TARGET_DATA: String(data), TARGET_SIZE: String(size) };
  const out = run([process.execPath, "main.ts"], app, env);
  expect(out.stderr).toBe("");
  expect(out.status).toBe(0);
  const result = JSON.parse(out.stdout);
  expect(result).toEqual({
    ints: [0x100, 0x200040],
    doubled: [I32 * 2, I32 * 2],
    notBig: "number",
    shifted: [String(I64 >> 32n)],
    upper: [TEXT.toUpperCase()],
    firstBytes: [[0x70, 0x76]],
    frozen: 1234,
    seen: 2.5,
    error: "EFAULT",
    pointerPaths: "function",
  });
});

test.skipIf(!npm || !node)("Node.js gets one error that says the package needs Bun", () => {
  for (const code of ['import("process-vm").catch((e) => { console.error(e.message); process.exit(3); })', 'try { require("process-vm") } catch (e) { console.error(e.message); process.exit(3) }']) {
    const out = run(["node", "-e", code], app);
    expect(out.status).toBe(3);
    expect(out.stderr).toContain("process-vm runs on Bun");
    expect(out.stderr).not.toContain("ERR_UNKNOWN_FILE_EXTENSION");
  }
});

test.skipIf(!npm)("npx pvm runs the command with Bun, and without Bun says how to get it", async () => {
  await t.write(t.info.data + 0x100, new Uint8Array(new Int32Array([I32]).buffer));
  const withBun = run(["npx", "--offline", "--no", "pvm", "read", String(t.pid), `0x${(t.info.data + 0x100).toString(16)}`, "i32"], app, {
    ...process.env,
    PATH: [BIN, pathWithoutBun()].join(delimiter),
  });
  expect(withBun.stderr).toBe("");
  expect(withBun.stdout).toContain(String(I32));
  expect(withBun.status).toBe(0);
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  const withoutBun = run(["npx", "--offline", "--no", "pvm", "ps"], app, { PATH: pathWithoutBun(), HOME: home });
  expect(withoutBun.status).toBe(127);
  expect(withoutBun.stdout).toBe("");
  const lines = withoutBun.stderr.trim().split("\n");
  expect(lines.length).toBe(1);
  expect(lines[0]).toContain("pvm needs Bun");
  expect(lines[0]).toContain("npm install");
});
