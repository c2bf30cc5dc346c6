/**
 * `pvm ui [TARGET] [--port N] [--host HOST] [--open]`: the scanner and trainer in a browser.
 *
 * @module
 */
import { isLoopback } from "../../ui/auth.ts";
import { startUi } from "../../ui/server.ts";
import type { Command } from "../command.ts";
import { numberFlag, openTarget, parseArgs, UsageError } from "../util.ts";

/** `pvm ui`. */
export const ui: Command = {
  name: "ui",
  usage: "[TARGET] [--port N] [--host HOST] [--open]",
  summary: "the scanner and trainer in a browser: prints a local URL with a one-time token",
  async run(argv) {
    const { positionals, flags } = parseArgs(argv, ["port", "host"]);
    const port = numberFlag(flags, "port", 0);
    if (port < 0 || port > 65535) throw new UsageError("--port must be 0 to 65535");
    const host = flags.get("host");
    if (host === true) throw new UsageError("--host needs an address");
    const pid = positionals[0] === undefined ? undefined : openTarget(positionals[0]).pid;
    if (host !== undefined && !isLoopback(host)) {
      console.error(`warning: listening on ${host}, not loopback: anyone who reaches this address and has the token can read and write your processes`);
    }
    const server = await startUi({ ...(host !== undefined ? { host } : {}), port, ...(pid !== undefined ? { pid } : {}) });
    console.log(`pvm ui: open ${server.url}`);
    console.log("(the token works once; Ctrl-C stops the server and every freeze)");
    if (flags.has("open")) {
      try {
        Bun.spawn(["xdg-open", server.url], { stdout: "ignore", stderr: "ignore" }).unref();
      } catch {
        console.error("could not run xdg-open: open the URL yourself");
      }
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void server.stop().then(resolve);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  },
};
