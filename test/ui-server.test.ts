/**
 * The UI server's gate and its answers to bad requests: the token, the
 * session cookie, foreign origins and hosts, malformed or absurd commands.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/index.ts";
import { Gate, MAX_MESSAGE, startUi, type UiServer } from "../src/ui/index.ts";

let ui: UiServer;
let cookie: string;

/** Exchanges the launch token for the session cookie, as a browser does. */
async function login(server: UiServer): Promise<string> {
  const r = await fetch(server.url, { redirect: "manual" });
  expect(r.status).toBe(303);
  const set = r.headers.get("set-cookie") ?? "";
  expect(set).toContain("HttpOnly");
  expect(set).toContain("SameSite=Strict");
  expect(r.headers.get("location")).toBe("/");
  return set.split(";")[0]!;
}

async function api(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${ui.origin}/api`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", origin: ui.origin, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: r.headers.get("content-type")?.includes("json") ? JSON.parse(text) : { error: text } };
}

/** Opens a WebSocket with these headers; resolves to the socket once open, or to the close/error event. */
function socket(headers: Record<string, string>): Promise<{ ws: WebSocket; first: Promise<Record<string, unknown>> } | { refused: true }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${ui.origin.replace("http", "ws")}/ws`, { headers } as unknown as string[]);
    const first = new Promise<Record<string, unknown>>((r) => ws.addEventListener("message", (e) => r(JSON.parse(String(e.data))), { once: true }));
    ws.addEventListener("open", () => resolve({ ws, first }), { once: true });
    ws.addEventListener("error", () => resolve({ refused: true }), { once: true });
    ws.addEventListener("close", () => resolve({ refused: true }), { once: true });
  });
}

/** Sends commands over a socket and collects the replies by `rid`. */
function rpc(ws: WebSocket): (msg: unknown) => Promise<Record<string, unknown>> {
  const waiting = new Map<unknown, (m: Record<string, unknown>) => void>();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(String(e.data));
    if (m.t === "reply") waiting.get(m.rid)?.(m);
  });
  let n = 0;
  return (msg) =>
    new Promise((resolve) => {
      const rid = `r${++n}`;
      waiting.set(rid, resolve);
      ws.send(typeof msg === "string" ? msg.replace("RID", rid) : JSON.stringify({ ...(msg as object), rid }));
    });
}

beforeAll(async () => {
  ui = await startUi();
  cookie = await login(ui);
});

afterAll(async () => {
  await ui.stop();
});

describe("the gate", () => {
  test("the URL's token works once; a wrong one never", async () => {
    const again = await fetch(ui.url, { redirect: "manual" });
    expect(again.status).toBe(401);
    expect(again.headers.get("set-cookie")).toBeNull();
    const wrong = await fetch(`${ui.origin}/?token=${"x".repeat(43)}`, { redirect: "manual" });
    expect(wrong.status).toBe(401);
  });

  test("every HTTP request needs the session cookie", async () => {
    for (const path of ["/", "/static/app.js", "/vendor/preact.mjs", "/nothing"]) {
      expect((await fetch(`${ui.origin}${path}`)).status).toBe(401);
      expect((await fetch(`${ui.origin}${path}`, { headers: { cookie: `pvm_session_${ui.port}=guess` } })).status).toBe(401);
    }
    const r = await fetch(`${ui.origin}/api`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"cmd":"ps"}' });
    expect(r.status).toBe(401);
    const page = await fetch(`${ui.origin}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await page.text()).toContain('<script type="importmap">');
    for (const path of ["/static/app.js", "/vendor/preact.mjs", "/vendor/hooks.mjs", "/vendor/htm.mjs"]) {
      const f = await fetch(`${ui.origin}${path}`, { headers: { cookie } });
      expect(f.status).toBe(200);
      expect(f.headers.get("content-type")).toContain("javascript");
    }
    expect((await fetch(`${ui.origin}/static/../server.ts`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${ui.origin}/static/%2e%2e%2fserver.ts`, { headers: { cookie } })).status).toBe(404);
  });

  test("a foreign Origin or Host is refused, even with the cookie", async () => {
    expect((await api({ cmd: "ps" }, { origin: "http://evil.example" })).status).toBe(403);
    expect((await fetch(`${ui.origin}/`, { headers: { cookie, origin: "http://evil.example" } })).status).toBe(403);
    expect((await fetch(`${ui.origin}/`, { headers: { cookie, host: `evil.example:${ui.port}` } })).status).toBe(421);
    expect((await api({ cmd: "ps" }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await api({ cmd: "ps" })).status).toBe(200);
  });

  test("the WebSocket needs the cookie and the server's own Origin", async () => {
    expect(await socket({ origin: ui.origin })).toEqual({ refused: true });
    expect(await socket({ cookie, origin: "http://evil.example" })).toEqual({ refused: true });
    expect(await socket({ cookie })).toEqual({ refused: true });
    const ok = await socket({ cookie, origin: ui.origin });
    expect("ws" in ok).toBe(true);
    if ("ws" in ok) {
      expect((await ok.first).t).toBe("hello");
      ok.ws.close();
    }
  });

  test("Gate accepts only its own hosts", () => {
    const gate = new Gate("127.0.0.1", 8080);
    const req = (host: string, origin?: string) => new Request("http://127.0.0.1:8080/", { headers: { host, ...(origin ? { origin } : {}), cookie: `pvm_session_8080=${gate.session}` } });
    expect(gate.check(req("127.0.0.1:8080"))).toBeNull();
    expect(gate.check(req("localhost:8080", "http://localhost:8080"))).toBeNull();
    expect(gate.check(req("localhost:8080", "http://127.0.0.1:8080"))?.status).toBe(403);
    expect(gate.check(req("127.0.0.1:8081"))?.status).toBe(421);
    expect(gate.check(req("attacker.example:8080"))?.status).toBe(421);
    expect(gate.check(req("127.0.0.1:8080"), true)?.status).toBe(403); // a WebSocket without Origin
  });
});

describe("bad requests get an error, and the server goes on", () => {
  test("over HTTP", async () => {
    const cases: [unknown, RegExp][] = [
      ["not json", /not JSON/],
      [[1, 2], /JSON object/],
      [{ cmd: 42 }, /"cmd" must be a string/],
      [{ cmd: "launch-missiles" }, /unknown command/],
      [{ cmd: "attach", pid: "1" }, /"pid" must be an integer/],
      [{ cmd: "attach", pid: -1 }, /between/],
      [{ cmd: "attach", pid: 1e300 }, /integer/],
      [{ cmd: "scan.first", type: "i32", query: "1" }, /no process attached/],
      [{ cmd: "scan.window", start: 0, size: 1e9 }, /between 0 and 500/],
      [{ cmd: "mem.view", address: "0x1000", rows: 1e6 }, /no process attached|between/],
      [{ cmd: "list.add", address: "0x1000", type: "i128" }, /type/],
      [{ cmd: "list.add", address: "x".repeat(5000), type: "i32" }, /address/],
      [{ cmd: "list.add", address: { toString: 1 }, type: "i32" }, /address/],
      [{ cmd: "list.load", list: { format: "process-vm-list", entries: "nope" } }, /saved list/],
      [{ cmd: "list.write", id: 99, value: "1" }, /no list entry/],
      [{ cmd: "ps", filter: "x".repeat(10_000) }, /too long/],
    ];
    for (const [body, message] of cases) {
      const r = await api(body);
      expect(r.status).toBe(400);
      expect(r.json.ok).toBe(false);
      expect(String(r.json.error)).toMatch(message);
    }
    const huge = await fetch(`${ui.origin}/api`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", origin: ui.origin },
      body: JSON.stringify({ cmd: "ps", filter: "x".repeat(MAX_MESSAGE * 2) }),
    });
    expect(huge.status).toBe(413);
    const after = await api({ cmd: "ps", filter: String(process.pid) });
    expect(after.json.ok).toBe(true);
    expect((after.json.result as { pid: number }[]).some((p) => p.pid === process.pid)).toBe(true);
  });

  test("over the WebSocket, with absurd sizes against an attached process", async () => {
    const open = await socket({ cookie, origin: ui.origin });
    if (!("ws" in open)) throw new Error("the socket did not open");
    await open.first;
    const send = rpc(open.ws);
    // Attach to ourselves: a real process, read through the kernel like any other.
    expect((await send({ cmd: "attach", pid: process.pid })).ok).toBe(true);
    const bad: [unknown, RegExp][] = [
      ['{"rid":"RID", "cmd": "scan.first", "type": "i33", "query": "1"}', /"type" must be one of/],
      [{ cmd: "scan.first", type: "i32", query: "" }, /empty/],
      [{ cmd: "scan.first", type: "i32", query: "1", memory: { kinds: ["heap", "kernel"] } }, /memory.kinds/],
      [{ cmd: "scan.first", type: "i32", query: "1", memory: { within: ["0x2000", "0x1000"] } }, /end > start/],
      [{ cmd: "scan.first", type: "i32", query: "1", memory: { permissions: "rwxrwx" } }, /permissions/],
      [{ cmd: "scan.first", type: "i32", query: "> > 1", memory: { within: ["0x1000", "0x2000"] } }, /./],
      [{ cmd: "scan.next", query: "decreased" }, /no scan yet/],
      [{ cmd: "mem.view", address: "0x1000", rows: 1e6 }, /between 1 and 64/],
      [{ cmd: "mem.view", address: "nonsense -> ->" }, /./],
      [{ cmd: "mem.view", address: "0x1ffffffffffff0", rows: 64 }, /past the last address/],
      [{ cmd: "mem.view", address: "0x20000000000000" }, /address/],
      [{ cmd: "write", address: "0x1000", type: "i32", value: "1e999" }, /not an integer/],
      [{ cmd: "write", address: "0x1000", type: "u8", value: "256" }, /does not fit u8/],
      [{ cmd: "write", address: -5, type: "u8", value: "1" }, /address/],
      [{ cmd: "write", address: "0x10", type: "u8", value: "1" }, /EFAULT|bad address/],
      [{ cmd: "ptr.scan", address: "0x1000", maxDepth: 1000 }, /between 1 and 7/],
      [{ cmd: "list.freeze", id: "1", frozen: true }, /"id" must be an integer/],
    ];
    for (const [msg, message] of bad) {
      const reply = await send(msg);
      expect(reply.ok).toBe(false);
      expect(String(reply.error)).toMatch(message);
    }
    // A message that is not JSON gets an error reply with no id.
    const notJson = new Promise<Record<string, unknown>>((resolve) =>
      open.ws.addEventListener("message", (e) => {
        const m = JSON.parse(String(e.data));
        if (m.t === "reply" && m.rid === null) resolve(m);
      }),
    );
    open.ws.send("{{{");
    expect(String((await notJson).error)).toMatch(/not JSON/);
    // Still serving: a real scan of our own memory within a small range.
    const marker = new Int32Array(new ArrayBuffer(4096));
    marker.fill(0x5a5a5a5);
    const { addressOf } = await import("../src/ffi/libc.ts");
    const at = addressOf(marker.buffer);
    const first = await send({ cmd: "scan.first", type: "i32", query: String(0x5a5a5a5), memory: { within: [at, at + 4096], permissions: "rw" } });
    expect(first.ok).toBe(true);
    expect((first.result as { count: number }).count).toBe(1024);
    const window = await send({ cmd: "scan.window", start: 1000, size: 100 });
    expect((window.result as { rows: unknown[] }).rows.length).toBe(24);
    expect((await send({ cmd: "scan.reset" })).ok).toBe(true);
    open.ws.close();
    expect(new Process(process.pid).readI32(at)).toBe(marker[0]!); // also keeps the buffer alive to here
  });

  test("a WebSocket message above the size limit closes that socket only", async () => {
    const open = await socket({ cookie, origin: ui.origin });
    if (!("ws" in open)) throw new Error("the socket did not open");
    await open.first;
    const closed = new Promise<number>((resolve) => open.ws.addEventListener("close", (e) => resolve(e.code)));
    open.ws.send(JSON.stringify({ cmd: "ps", filter: "x".repeat(MAX_MESSAGE + 10) }));
    expect(await closed).toBeGreaterThan(1000);
    expect((await api({ cmd: "ps", limit: 1 })).json.ok).toBe(true);
  });
});
