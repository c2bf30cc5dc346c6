/**
 * The trainer side of the UI server: pointer paths to a list entry, ranked, added
 * to the list, and rescanned after the game restarts (a new process, with its
 * heap somewhere else); freezing with allow-increase.
 */
import { afterAll, expect, test } from "bun:test";
import { UiState } from "../src/ui/index.ts";
import { cannotCompile, UiTarget } from "./helpers/ui-target.ts";

const why = cannotCompile();
if (why) console.warn(`skipping the UI pointer-scan test: ${why}`);
const targets: UiTarget[] = [];
afterAll(async () => {
  for (const t of targets) await t.close();
});

test.skipIf(why !== null)("find paths to an entry, add one, rescan after a restart", async () => {
  const state = new UiState(() => {});
  try {
    const first = await UiTarget.start();
    targets.push(first);
    await state.request("attach", { pid: first.pid });
    const { id } = (await state.request("list.add", { description: "health", address: `0x${first.health.toString(16)}`, type: "i32" })) as { id: number };
    const found = (await state.request("ptr.scan", { id, maxDepth: 2, maxOffset: 0x100 })) as { count: number; paths: string[] };
    expect(found.count).toBeGreaterThanOrEqual(1);
    const own = found.paths.find((p) => p.startsWith(`${first.name}+`));
    expect(own).toMatch(/^uitarget\+0x[0-9a-f]+ -> 0x14$/);
    // Ranked: no path is longer than one after it.
    const depths = found.paths.map((p) => p.split("->").length);
    expect(depths).toEqual([...depths].sort((a, b) => a - b));

    // The path goes into the list and resolves to the health.
    const added = (await state.request("list.add", { description: "health (pointer)", address: own, type: "i32" })) as { id: number };
    const view = (await state.request("list.get", {})) as { id: number; resolved: string | null }[];
    expect(view.find((e) => e.id === added.id)?.resolved).toBe(`0x${first.health.toString(16)}`);

    // The game restarts: a new process. The rescan keeps the paths that lead to the new health.
    const second = await UiTarget.start();
    targets.push(second);
    await state.request("attach", { pid: second.pid });
    const kept = (await state.request("ptr.rescan", { address: `0x${second.health.toString(16)}` })) as { count: number; paths: string[] };
    expect(kept.paths).toContain(own!);
    expect(kept.count).toBeLessThanOrEqual(found.count);
    // The list's chain entry follows the new process.
    const after = (await state.request("list.get", {})) as { id: number; resolved: string | null }[];
    expect(after.find((e) => e.id === added.id)?.resolved).toBe(`0x${second.health.toString(16)}`);
  } finally {
    state.close();
  }
});

test.skipIf(why !== null)("a frozen entry with allow-increase keeps a raise and undoes a drop", async () => {
  const state = new UiState(() => {});
  try {
    const game = await UiTarget.start();
    targets.push(game);
    await state.request("attach", { pid: game.pid });
    const { id } = (await state.request("list.add", { description: "health", address: `0x${game.health.toString(16)}`, type: "i32" })) as { id: number };
    await state.request("list.freeze", { id, frozen: true, value: "500", allowIncrease: true });
    await Bun.sleep(120);
    expect(await game.cmd("get")).toBe(500);
    expect(await game.cmd("set 800")).toBe(800); // a raise: allowed, and now the frozen value
    await Bun.sleep(120);
    expect(await game.cmd("get")).toBe(800);
    expect(await game.cmd("sub 300")).toBe(500); // a drop: written back
    await Bun.sleep(120);
    expect(await game.cmd("get")).toBe(800);
    const saved = (await state.request("list.save", {})) as { entries: unknown[] };
    expect(saved.entries[0]).toMatchObject({ kind: "value", freeze: { active: true, value: "800", allowIncrease: true } });
    await state.request("list.freeze", { id, frozen: false });
    expect(await game.cmd("sub 1")).toBe(799);
    await Bun.sleep(120);
    expect(await game.cmd("get")).toBe(799);
  } finally {
    state.close();
  }
});

test.skipIf(why !== null)("a pointer-chain entry follows the object when it moves, and so does its freeze", async () => {
  const state = new UiState(() => {});
  try {
    const game = await UiTarget.start();
    targets.push(game);
    await state.request("attach", { pid: game.pid });
    const found = (await state.request("ptr.scan", { address: `0x${game.health.toString(16)}`, maxDepth: 1, maxOffset: 0x100 })) as { paths: string[] };
    const chain = found.paths.find((p) => p.startsWith(`${game.name}+`))!;
    const { id } = (await state.request("list.add", { description: "health", address: chain, type: "i32" })) as { id: number };
    await state.request("list.freeze", { id, frozen: true, value: "4242" });
    await Bun.sleep(120);
    expect(await game.cmd("get")).toBe(4242);

    const moved = await game.cmd("move");
    expect(moved).not.toBe(game.health);
    expect(await game.cmd("sub 42")).toBe(4200); // at the new place: the freeze follows the chain at its next tick
    await Bun.sleep(120);
    expect(await game.cmd("get")).toBe(4242);
    await Bun.sleep(600); // the list re-resolves its chains twice a second
    const entry = ((await state.request("list.get", {})) as { id: number; resolved: string; frozen: boolean }[]).find((e) => e.id === id)!;
    expect(entry.resolved).toBe(`0x${moved.toString(16)}`);
    expect(entry.frozen).toBe(true);
    expect(await game.cmd("sub 42")).toBe(4200);
    await Bun.sleep(120);
    expect(await game.cmd("get")).toBe(4242); // held at the new place
  } finally {
    state.close();
  }
});
