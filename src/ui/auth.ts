/**
 * Who may talk to the UI server: a random launch token given once in the URL
 * and exchanged for an HttpOnly, SameSite=Strict session cookie; requests from
 * another origin or for another host name are refused. Pure functions over a
 * `Request`, so that they are tested without a server.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";

/**
 * The name of the cookie that carries the session secret of the server on
 * `port`. Browsers do not keep cookies apart by port, so each server names its
 * own: two `pvm ui` at once do not log each other out.
 *
 * @example
 * ```ts
 * cookieName(8080); // "pvm_session_8080"
 * ```
 */
export function cookieName(port: number): string {
  return `pvm_session_${port}`;
}

/**
 * 32 random bytes from the system's CSPRNG, base64url.
 *
 * @example
 * ```ts
 * randomToken().length; // 43
 * ```
 */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Buffer.from(bytes).toString("base64url");
}

/**
 * Compares two secrets in constant time (for equal lengths).
 *
 * @example
 * ```ts
 * sameSecret(given, expected);
 * ```
 */
export function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether `host` (as given to `--host`) is a loopback address.
 *
 * @example
 * ```ts
 * isLoopback("127.0.0.1"); // true
 * isLoopback("0.0.0.0");   // false
 * ```
 */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The value of cookie `name` in a `Cookie` header, or null.
 *
 * @example
 * ```ts
 * cookieValue("a=1; pvm_session=xyz", "pvm_session"); // "xyz"
 * ```
 */
export function cookieValue(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * The gate of one server: which `Host` headers and origins it accepts, the
 * one-time launch token and the session secret.
 *
 * @example
 * ```ts
 * const gate = new Gate("127.0.0.1", 8080);
 * console.log(`http://127.0.0.1:8080/?token=${gate.launchToken}`);
 * const refusal = gate.check(request); // null when the request may go on
 * ```
 */
export class Gate {
  /** The token printed in the URL; accepted once. */
  readonly launchToken = randomToken();
  /** The secret of the session cookie. */
  readonly session = randomToken();
  #used = false;
  readonly #hosts: Set<string> | null;
  /** The session cookie's name. */
  readonly cookie: string;

  /**
   * @param host The address the server listens on.
   * @param port Its port.
   */
  constructor(host: string, port: number) {
    this.cookie = cookieName(port);
    const wildcard = host === "0.0.0.0" || host === "::" || host === "[::]";
    const bracket = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    this.#hosts = wildcard
      ? null
      : new Set(isLoopback(host) ? [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${bracket}:${port}`] : [`${bracket}:${port}`]);
  }

  /** Whether the launch token was exchanged already. */
  get used(): boolean {
    return this.#used;
  }

  /** The origin a request must come from: the server's own, as the browser addressed it. */
  #ownOrigin(request: Request): string | null {
    const host = request.headers.get("host");
    if (!host) return null;
    if (this.#hosts && !this.#hosts.has(host.toLowerCase())) return null;
    return `http://${host.toLowerCase()}`;
  }

  /**
   * Checks a request. Returns null when it may go on, or the response that
   * refuses it: 421 for a foreign `Host` (DNS rebinding), 403 for a foreign
   * `Origin` (or none on a WebSocket), 401 without the session cookie.
   * `websocket` requires an `Origin` header (browsers always send one).
   */
  check(request: Request, websocket = false): Response | null {
    const own = this.#ownOrigin(request);
    if (own === null) return text(421, "unknown host: use the address pvm ui printed");
    const origin = request.headers.get("origin");
    if (origin !== null ? origin.toLowerCase() !== own : websocket) return text(403, "requests from another origin are refused");
    const site = request.headers.get("sec-fetch-site");
    if (site === "cross-site") return text(403, "cross-site requests are refused");
    if (!sameSecret(cookieValue(request.headers.get("cookie"), this.cookie), this.session)) {
      return text(401, "not authorized: open the URL (with its token) that pvm ui printed");
    }
    return null;
  }

  /**
   * The answer to a request that carries `?token=`: the first time with the
   * right token, a redirect to the same path without it that sets the session
   * cookie; otherwise 401.
   */
  exchange(request: Request, token: string): Response {
    const own = this.#ownOrigin(request);
    if (own === null) return text(421, "unknown host: use the address pvm ui printed");
    const origin = request.headers.get("origin");
    if (origin !== null && origin.toLowerCase() !== own) return text(403, "requests from another origin are refused");
    if (this.#used || !sameSecret(token, this.launchToken)) {
      return text(401, this.#used ? "this token was used already: restart pvm ui for a new one" : "wrong token");
    }
    this.#used = true;
    const url = new URL(request.url);
    url.searchParams.delete("token");
    return new Response(null, {
      status: 303,
      headers: {
        location: url.pathname + url.search,
        "set-cookie": `${this.cookie}=${this.session}; HttpOnly; SameSite=Strict; Path=/`,
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
      },
    });
  }
}

function text(status: number, body: string): Response {
  return new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}
