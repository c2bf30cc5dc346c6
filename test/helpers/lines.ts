/**
 * The lines a child writes on a stream, handed out one at a time: the one
 * line reader behind every test fixture that answers commands on stdout.
 */
export class Lines {
  #lines: string[] = [];
  #waiters: ((line: string | null) => void)[] = [];
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    void this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const waiter = this.#waiters.shift();
        if (waiter) waiter(line);
        else this.#lines.push(line);
      }
    }
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w(null);
  }

  /** The next line, or null once the stream ended. */
  next(): Promise<string | null> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The next line; throws, naming `who`, once the stream ended. */
  async expect(who: string): Promise<string> {
    const line = await this.next();
    if (line === null) throw new Error(`${who} closed its output`);
    return line;
  }
}
