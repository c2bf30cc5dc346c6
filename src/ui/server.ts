/**
 * The UI server: static page, vendored ES modules, one WebSocket per page for
 * commands and live values, and `POST /api` for the same commands from scripts.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Server, ServerWebSocket } from "bun";
import { Gate } from "./auth.ts";
import { UiState, type Push } from "./state.ts";
import { RequestError } from "./values.ts";

/** Options of {@link startUi}. */
export interface UiOptions {
  /** Address to listen on (default `127.0.0.1`). Another than loopback exposes a tool that writes into processes: say so explicitly. */
  host?: string;
  /** Port (default 0: a free one). */
  port?: number;
  /** A pid to attach to at start. */
  pid?: number;
  /** Milliseconds between live-value ticks (default 50: 20 updates a second). */
  intervalMs?: number;
}

/** A running UI server. */
export interface UiServer {
  /** The URL to open, with the one-time token. */
  readonly url: string;
  /** `http://host:port`. */
  readonly origin: string;
  readonly port: number;
  /** The state behind the page (the attached process, the list, the live values). */
  readonly state: UiState;
  /** Stops the server, the live values and every freeze. */
  stop(): Promise<void>;
}

/** Largest request body or WebSocket message, bytes. */
export const MAX_MESSAGE = 1 << 20;

const STATIC_DIR = join(import.meta.dir, "static");
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** The front-end libraries, resolved from this package's dependencies (so an install serves its own copies). */
function vendorFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const at = (specifier: string) => Bun.resolveSync(specifier, import.meta.dir);
  files.set("/vendor/preact.mjs", at("preact"));
  files.set("/vendor/hooks.mjs", at("preact/hooks"));
  files.set("/vendor/htm.mjs", at("htm"));
  return files;
}

const IMPORT_MAP = JSON.stringify({ imports: { preact: "/vendor/preact.mjs", "preact/hooks": "/vendor/hooks.mjs", htm: "/vendor/htm.mjs" } });

function page(): { html: string; csp: string } {
  const script = IMPORT_MAP;
  const hash = createHash("sha256").update(script).digest("base64");
  const html = readFileSync(join(STATIC_DIR, "index.html"), "utf8").replace("<!--importmap-->", `<script type="importmap">${script}</script>`);
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return { html, csp };
}

function json(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

function errorOf(error: unknown): { error: string; name: string } {
  const e = error instanceof Error ? error : new Error(String(error));
  return { error: e.message, name: e instanceof RequestError ? "RequestError" : e.name };
}

interface Socket {
  id: number;
}

/**
 * Starts the UI server. Prints nothing: the caller shows {@link UiServer.url}.
 *
 * @example
 * ```ts
 * import { startUi } from "process-vm/src/ui/index.ts";
 * const ui = await startUi({ pid: 1234 });
 * console.log(`open ${ui.url}`);
 * ```
 */
export async function startUi(options: UiOptions = {}): Promise<UiServer> {
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || !/^[\w.:[\]-]{1,255}$/.test(host)) throw new TypeError(`host must be a host name or address (got ${String(host)})`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0 to 65535 (got ${port})`);
  const vendor = vendorFiles();
  const statics = new Set(readdirSync(STATIC_DIR).filter((f) => f !== "index.html"));
  const { html, csp } = page();
  let server: Server<Socket> | null = null;
  const push = (message: Push) => server?.publish("pvm", json(message));
  const state = new UiState(push, options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs });
  let gate: Gate | null = null;
  let nextSocket = 1;
  const secure = (body: string | Blob, type: string, extra: Record<string, string> = {}) =>
    new Response(body, {
      headers: {
        "content-type": type,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cross-origin-resource-policy": "same-origin",
        ...extra,
      },
    });

  server = Bun.serve<Socket>({
    hostname: host,
    port,
    maxRequestBodySize: MAX_MESSAGE,
    async fetch(request, srv) {
      const url = new URL(request.url);
      const token = url.searchParams.get("token");
      if (token !== null) return gate!.exchange(request, token);
      const upgrade = url.pathname === "/ws";
      const refused = gate!.check(request, upgrade);
      if (refused) return refused;
      if (upgrade) {
        if (srv.upgrade(request, { data: { id: nextSocket++ } })) return undefined;
        return new Response("expected a WebSocket\n", { status: 400 });
      }
      if (url.pathname === "/api") {
        if (request.method !== "POST") return Response.json({ ok: false, error: "POST a JSON command" }, { status: 405 });
        if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) {
          return Response.json({ ok: false, error: "the body must be application/json" }, { status: 415 });
        }
        let body: unknown;
        try {
          body = await request.json();
        } catch (error) {
          return Response.json({ ok: false, error: `the body is not JSON: ${(error as Error).message}` }, { status: 400 });
        }
        const outcome = await run(state, body);
        return new Response(json(outcome), { status: outcome.ok ? 200 : 400, headers: { "content-type": "application/json", "cache-control": "no-store" } });
      }
      if (request.method !== "GET" && request.method !== "HEAD") return new Response("method not allowed\n", { status: 405 });
      if (url.pathname === "/" || url.pathname === "/index.html") return secure(html, TYPES.html!, { "content-security-policy": csp });
      const file = vendor.get(url.pathname) ?? (url.pathname.startsWith("/static/") && statics.has(url.pathname.slice(8)) ? join(STATIC_DIR, url.pathname.slice(8)) : null);
      if (file) return secure(Bun.file(file), TYPES[file.slice(file.lastIndexOf(".") + 1)] ?? "application/octet-stream");
      return new Response("not found\n", { status: 404 });
    },
    websocket: {
      maxPayloadLength: MAX_MESSAGE,
      idleTimeout: 0,
      open(ws) {
        ws.subscribe("pvm");
        ws.send(json(state.snapshot()));
        state.live.resend();
      },
      async message(ws: ServerWebSocket<Socket>, raw) {
        let rid: unknown = null;
        let body: unknown;
        try {
          body = JSON.parse(typeof raw === "string" ? raw : new TextDecoder().decode(raw));
          if (typeof body === "object" && body !== null) rid = (body as { rid?: unknown }).rid ?? null;
        } catch (error) {
          ws.send(json({ t: "reply", rid: null, ok: false, error: `not JSON: ${(error as Error).message}` }));
          return;
        }
        if (!(typeof rid === "number" || (typeof rid === "string" && rid.length <= 64))) rid = null;
        const outcome = await run(state, body);
        ws.send(json({ t: "reply", rid, ...outcome }));
      },
    },
  });
  const boundPort = server.port!;
  gate = new Gate(host, boundPort);
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const origin = `http://${shown}:${boundPort}`;
  if (options.pid !== undefined) {
    try {
      await state.request("attach", { pid: options.pid });
    } catch (error) {
      state.close();
      await server.stop(true);
      throw error;
    }
  }
  return {
    url: `${origin}/?token=${gate.launchToken}`,
    origin,
    port: boundPort,
    state,
    async stop() {
      state.close();
      await server!.stop(true);
    },
  };
}

async function run(state: UiState, body: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: string; name: string }> {
  try {
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new RequestError("a command is a JSON object { cmd, … }");
    const result = await state.request((body as { cmd?: unknown }).cmd, body as Record<string, unknown>);
    return { ok: true, result: result ?? null };
  } catch (error) {
    return { ok: false, ...errorOf(error) };
  }
}


