/**
 * A small XML parser, enough for Cheat Engine's `.CT` files: elements,
 * attributes, text, CDATA, comments, processing instructions and a DOCTYPE
 * (skipped), and the predefined and numeric character references. Namespaces
 * and DTD entities are not interpreted. Pure: text in, tree out.
 *
 * @module
 */

/** An element: its name, attributes and children (elements and text, in order). */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly (XmlElement | string)[];
  /** Line (1-based) of its start tag. */
  readonly line: number;
}

/**
 * Malformed XML: the message says what was expected, with the line and column.
 *
 * @example
 * ```ts
 * try { parseXml("<a><b></a>"); } catch (e) { if (e instanceof XmlError) console.log(e.line, e.column); }
 * ```
 */
export class XmlError extends SyntaxError {
  override name = "XmlError";
  constructor(
    readonly reason: string,
    /** Offset of the problem in the text. */
    readonly offset: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`malformed XML at line ${line}, column ${column}: ${reason}`);
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const SPACE = /\s*/y;

/**
 * Parses an XML document and returns its root element.
 *
 * @throws {XmlError} naming the line and column of the first mistake.
 * @example
 * ```ts
 * const root = parseXml('<CheatTable><CheatEntries/></CheatTable>');
 * root.name; // "CheatTable"
 * ```
 */
export function parseXml(text: string): XmlElement {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (reason: string, at = i): never => {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < at && k < text.length; k++) {
      if (text.charCodeAt(k) === 10) {
        line++;
        lineStart = k + 1;
      }
    }
    throw new XmlError(reason, at, line, at - lineStart + 1);
  };
  let lineAt = 0;
  let lineNo = 1;
  const lineOf = (at: number): number => {
    for (; lineAt < at; lineAt++) if (text.charCodeAt(lineAt) === 10) lineNo++;
    return lineNo;
  };
  const skipSpace = () => {
    SPACE.lastIndex = i;
    SPACE.exec(text);
    i = SPACE.lastIndex;
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (!m) fail(i >= text.length ? "unexpected end of the document" : `expected a name, found "${text[i]}"`);
    i = NAME.lastIndex;
    return m![0];
  };
  const decode = (raw: string, at: number): string =>
    raw.indexOf("&") < 0
      ? raw
      : raw.replace(/&([^;\s&<]*);?/g, (whole, ref: string, off: number) => {
          if (!whole.endsWith(";")) fail(`"&" must start a reference such as &amp;`, at + off);
          switch (ref) {
            case "lt": return "<";
            case "gt": return ">";
            case "amp": return "&";
            case "quot": return '"';
            case "apos": return "'";
          }
          const m = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(ref);
          const code = m ? (m[1]![0] === "x" ? parseInt(m[1]!.slice(1), 16) : parseInt(m[1]!, 10)) : NaN;
          if (!(code >= 0 && code <= 0x10ffff)) fail(`unknown reference "&${ref};"`, at + off);
          return String.fromCodePoint(code);
        });
  /** Skips `<?…?>`, `<!--…-->`, `<!DOCTYPE…>`; returns whether it did. */
  const misc = (): boolean => {
    if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2);
      if (end < 0) fail('"<?" without "?>"');
      i = end + 2;
      return true;
    }
    if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) fail('comment "<!--" without "-->"');
      i = end + 3;
      return true;
    }
    if (text.startsWith("<!DOCTYPE", i)) {
      let depth = 0;
      for (let k = i + 9; k < text.length; k++) {
        if (text[k] === "[") depth++;
        else if (text[k] === "]") depth--;
        else if (text[k] === ">" && depth <= 0) {
          i = k + 1;
          return true;
        }
      }
      fail('"<!DOCTYPE" without ">"');
    }
    return false;
  };

  const element = (): XmlElement => {
    const start = i;
    const startLine = lineOf(start);
    i++; // <
    const tag = name();
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = i;
      skipSpace();
      if (text.startsWith("/>", i)) {
        i += 2;
        return { name: tag, attributes, children: [], line: startLine };
      }
      if (text[i] === ">") {
        i++;
        break;
      }
      if (i >= text.length) fail(`start tag <${tag}> is not closed`, start);
      if (i === before) fail(`expected whitespace, ">" or "/>" in <${tag}>`);
      const attr = name();
      skipSpace();
      if (text[i] !== "=") fail(`expected "=" after attribute ${attr} of <${tag}>`);
      i++;
      skipSpace();
      const q = text[i];
      if (q !== '"' && q !== "'") fail(`the value of attribute ${attr} of <${tag}> must be quoted`);
      const end = text.indexOf(q!, i + 1);
      if (end < 0) fail(`the value of attribute ${attr} of <${tag}> is not closed`);
      const raw = text.slice(i + 1, end);
      if (raw.includes("<")) fail(`"<" in the value of attribute ${attr} of <${tag}>`, i + 1 + raw.indexOf("<"));
      if (Object.hasOwn(attributes, attr)) fail(`attribute ${attr} appears twice in <${tag}>`);
      attributes[attr] = decode(raw, i + 1);
      i = end + 1;
    }
    const children: (XmlElement | string)[] = [];
    let textRun = "";
    const flush = () => {
      if (textRun !== "") children.push(textRun);
      textRun = "";
    };
    for (;;) {
      const lt = text.indexOf("<", i);
      if (lt < 0) fail(`<${tag}> (line ${startLine}) is not closed: expected </${tag}>`, text.length);
      if (lt > i) {
        const raw = text.slice(i, lt);
        textRun += decode(raw, i);
        i = lt;
      }
      if (text.startsWith("</", i)) {
        const at = i;
        i += 2;
        const closing = name();
        skipSpace();
        if (text[i] !== ">") fail(`expected ">" to end </${closing}>`);
        i++;
        if (closing !== tag) fail(`expected </${tag}> (opened at line ${startLine}), found </${closing}>`, at);
        flush();
        return { name: tag, attributes, children, line: startLine };
      }
      if (text.startsWith("<![CDATA[", i)) {
        const end = text.indexOf("]]>", i + 9);
        if (end < 0) fail('"<![CDATA[" without "]]>"');
        textRun += text.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      if (misc()) continue;
      flush();
      children.push(element());
    }
  };

  for (;;) {
    skipSpace();
    if (i >= text.length) fail("the document has no root element");
    if (misc()) continue;
    if (text[i] !== "<") fail(`expected "<", found "${text[i]}"`);
    break;
  }
  const root = element();
  for (;;) {
    skipSpace();
    if (i >= text.length) return root;
    if (!misc()) fail(`content after the root element </${root.name}>`);
  }
}

/**
 * The first child element named `name`, or `undefined`.
 *
 * @example
 * ```ts
 * child(entry, "Description");
 * ```
 */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  for (const c of element.children) if (typeof c !== "string" && c.name === name) return c;
  return undefined;
}

/**
 * The child elements (named `name`, when given).
 *
 * @example
 * ```ts
 * children(offsets, "Offset");
 * ```
 */
export function children(element: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of element.children) if (typeof c !== "string" && (name === undefined || c.name === name)) out.push(c);
  return out;
}

/**
 * The text of an element and its descendants, concatenated.
 *
 * @example
 * ```ts
 * textOf(child(entry, "Address")!); // '"Game.exe"+1A2B0'
 * ```
 */
export function textOf(element: XmlElement): string {
  let s = "";
  for (const c of element.children) s += typeof c === "string" ? c : textOf(c);
  return s;
}
