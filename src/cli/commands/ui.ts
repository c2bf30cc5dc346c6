/**
 * `pvm ui [TARGET] [--port N] [--host HOST] [--open]`: the scanner and trainer in a browser.
 *
 * @module
 */
import { isLoopback } from "../../ui/auth.ts";
import { startUi } from "../../ui/server.ts";
import type { Command } from "../command.ts";
import { openTarget } from "../target.ts";
import { UsageError } from "../util.ts";

/** `pvm ui`. */
export const ui: Command = {
  name: "ui",
  usage: "[TARGET]",
  summary: "the scanner and trainer in a browser: prints a local URL with a one-time token",
  description:
    "Serves a page on 127.0.0.1 (a free port unless --port) to scan, list, freeze and view memory, with live values. " +
    "The URL's token works once and becomes a session cookie; requests from other origins are refused. Ctrl-C stops the server and every freeze.",
  options: {
    port: { type: "string", value: "N", description: "port to listen on (default: a free one)" },
    host: { type: "string", value: "HOST", description: "address to listen on (default 127.0.0.1); another than loopback is reachable by others" },
    open: { type: "boolean", description: "open the URL with xdg-open" },
  },
  interruptible: true,
  examples: ["pvm ui", "pvm ui game --port 8080"],
  async run({ args, options, out, signal }) {
    const port = options.number("port", 0);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port must be 0 to 65535");
    const host = options.string("host");
    const pid = args[0] === undefined ? undefined : openTarget(args[0]).pid;
    if (host !== undefined && !isLoopback(host)) {
      out.note(`warning: listening on ${host}, not loopback: anyone who reaches this address and has the token can read and write your processes`);
    }
    const server = await startUi({ ...(host !== undefined ? { host } : {}), port, ...(pid !== undefined ? { pid } : {}) });
    out.line(`pvm ui: open ${server.url}`);
    out.note("(the token works once; Ctrl-C stops the server and every freeze)");
    if (options.flag("open")) {
      try {
        Bun.spawn(["xdg-open", server.url], { stdout: "ignore", stderr: "ignore" }).unref();
      } catch {
        out.note("could not run xdg-open: open the URL yourself");
      }
    }
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await server.stop();
  },
};
