/**
 * Byte patterns (array-of-bytes signatures): the compiler and the matcher.
 *
 * Syntax (Frida's): bytes in hex separated by spaces, `??` or `?` for any
 * byte, nibble wildcards `4?` and `?B`, and an optional mask after ` : `
 * (`"13 37 13 37 : 1f ff ff f1"`) that is ANDed with the pattern's own mask.
 *
 * @module
 */
import { PatternSyntaxError } from "./errors.ts";
import { describe } from "../validate.ts";

/** A compiled pattern: plain data, so that it can be posted to a Worker. */
export interface CompiledPattern {
  /** The text it was compiled from (`""` for patterns made from bytes). */
  readonly source: string;
  /** Length in bytes. */
  readonly length: number;
  /** Expected bits of each byte (already ANDed with `mask`). */
  readonly bytes: Uint8Array;
  /** Bits of each byte that must match: `0xff` exact, `0x00` any byte, otherwise a nibble or bit mask. */
  readonly mask: Uint8Array;
  /** Offset of the longest run of exact bytes, searched for first. */
  readonly anchorOffset: number;
  /** Length of that run (0 when no byte is exact). */
  readonly anchorLength: number;
}

const HEX = /^[0-9a-fA-F]$/;

function nibble(c: string): number {
  return parseInt(c, 16);
}

/**
 * Compiles a pattern once; pass the result to `findPattern` or
 * `scan(proc, "bytes", …)` to scan many times without parsing again.
 *
 * @throws {PatternSyntaxError} naming the position of the first invalid character.
 * @example
 * ```ts
 * import { compilePattern } from "process-vm";
 * const p = compilePattern("48 8b ?? 4? : ff ff 00 f0");
 * p.length; // 4
 * ```
 */
export function compilePattern(text: string): CompiledPattern {
  if (typeof text !== "string") throw new TypeError("pattern must be a string");
  const colon = text.indexOf(":");
  const body = colon < 0 ? text : text.slice(0, colon);
  const bytes: number[] = [];
  const mask: number[] = [];
  for (const { token, at } of tokens(body, 0)) {
    if (token === "?" || token === "??") {
      bytes.push(0);
      mask.push(0);
      continue;
    }
    if (token.length !== 2) {
      throw new PatternSyntaxError(text, at + (token.length > 2 ? 2 : 0), token.length > 2 ? "a byte has two hex digits (separate bytes with spaces)" : "a byte has two hex digits");
    }
    let b = 0;
    let m = 0;
    for (let k = 0; k < 2; k++) {
      const c = token[k]!;
      if (c === "?") continue;
      if (!HEX.test(c)) throw new PatternSyntaxError(text, at + k, `invalid character "${c}"`);
      b |= nibble(c) << (4 - 4 * k);
      m |= 0xf << (4 - 4 * k);
    }
    bytes.push(b);
    mask.push(m);
  }
  if (bytes.length === 0) throw new PatternSyntaxError(text, colon < 0 ? text.length : colon, "empty pattern");
  if (colon >= 0) {
    const maskTokens = [...tokens(text.slice(colon + 1), colon + 1)];
    if (maskTokens.length !== bytes.length) {
      const at = maskTokens.length > bytes.length ? maskTokens[bytes.length]!.at : text.length;
      throw new PatternSyntaxError(text, at, `the mask has ${maskTokens.length} bytes, the pattern ${bytes.length}`);
    }
    maskTokens.forEach(({ token, at }, i) => {
      if (token.length !== 2) throw new PatternSyntaxError(text, at, "a mask byte has two hex digits");
      for (let k = 0; k < 2; k++) {
        if (!HEX.test(token[k]!)) throw new PatternSyntaxError(text, at + k, `invalid mask character "${token[k]}"`);
      }
      mask[i]! &= parseInt(token, 16);
    });
  }
  return fromBytes(bytes, mask, text);
}

function* tokens(text: string, base: number): Generator<{ token: string; at: number }> {
  const re = /\S+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) yield { token: m[0], at: base + m.index };
}

/**
 * A pattern from raw bytes and an optional mask (`0xff` = exact, `0` = any byte).
 *
 * @example
 * ```ts
 * import { patternFromBytes } from "process-vm";
 * const p = patternFromBytes(new TextEncoder().encode("hello"));
 * ```
 */
export function patternFromBytes(bytes: ArrayLike<number>, mask?: ArrayLike<number>, source = ""): CompiledPattern {
  const b = byteList(bytes, "bytes");
  if (b.length === 0) throw new RangeError("a pattern needs at least one byte");
  const m = mask === undefined || mask === null ? new Array<number>(b.length).fill(0xff) : byteList(mask, "mask");
  if (m.length !== b.length) throw new RangeError(`mask has ${m.length} bytes for ${b.length} pattern bytes`);
  if (typeof source !== "string") throw new TypeError(`source must be a string (got ${describe(source)})`);
  return fromBytes(b, m, source);
}

/** The elements of an array-like of bytes (0 to 255), or a TypeError/RangeError naming `name`. */
function byteList(list: unknown, name: string): number[] {
  if (typeof list !== "object" || list === null || typeof (list as ArrayLike<number>).length !== "number") {
    throw new TypeError(`${name} must be an array or a Uint8Array of bytes (got ${describe(list)})`);
  }
  const length = (list as ArrayLike<unknown>).length;
  if (!Number.isSafeInteger(length) || length < 0 || length > 2 ** 30) throw new RangeError(`${name}.length must be an integer from 0 to 2^30 (got ${describe(length)})`);
  const out = Array.from(list as ArrayLike<unknown>);
  out.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`${name}[${i}] must be a byte from 0 to 255 (got ${describe(v)})`);
  });
  return out as number[];
}

function fromBytes(bytes: number[], mask: number[], source: string): CompiledPattern {
  const b = new Uint8Array(bytes.length);
  const m = new Uint8Array(mask);
  for (let i = 0; i < bytes.length; i++) b[i] = bytes[i]! & m[i]!;
  let best = 0;
  let bestAt = 0;
  for (let i = 0; i < m.length; ) {
    if (m[i] !== 0xff) {
      i++;
      continue;
    }
    let j = i;
    while (j < m.length && m[j] === 0xff) j++;
    if (j - i > best) {
      best = j - i;
      bestAt = i;
    }
    i = j;
  }
  return { source, length: b.length, bytes: b, mask: m, anchorOffset: bestAt, anchorLength: best };
}

/** A matcher over chunks: `find(buf, from, to, avail, out)` calls `out(offset)` for each match start in [from, to) whose bytes lie below `avail`. */
export interface PatternMatcher {
  find(buf: Buffer, from: number, to: number, avail: number, out: (offset: number) => void): void;
}

/**
 * Builds the matcher for a compiled pattern: a native `indexOf` on the longest
 * exact run, then a check of the other bytes; a plain loop when no byte is exact.
 */
export function patternMatcher(p: CompiledPattern): PatternMatcher {
  const { bytes, mask, length, anchorOffset, anchorLength } = p;
  const check: number[] = [];
  for (let i = 0; i < length; i++) if (mask[i] !== 0 && (i < anchorOffset || i >= anchorOffset + anchorLength)) check.push(i);
  const checkIdx = Int32Array.from(check);
  const nc = checkIdx.length;
  const verify = (buf: Buffer, s: number): boolean => {
    for (let k = 0; k < nc; k++) {
      const i = checkIdx[k]!;
      if ((buf[s + i]! & mask[i]!) !== bytes[i]) return false;
    }
    return true;
  };
  if (anchorLength === 0) {
    return {
      find(buf, from, to, avail, out) {
        const last = Math.min(to, avail - length + 1);
        for (let s = from; s < last; s++) if (verify(buf, s)) out(s);
      },
    };
  }
  const anchor = Buffer.from(bytes.slice(anchorOffset, anchorOffset + anchorLength));
  return {
    find(buf, from, to, avail, out) {
      const last = Math.min(to, avail - length + 1); // match starts are < last
      if (last <= from) return;
      const view = avail < buf.length ? buf.subarray(0, avail) : buf;
      let p = view.indexOf(anchor, from + anchorOffset);
      while (p >= 0) {
        const s = p - anchorOffset;
        if (s >= last) return;
        if (nc === 0 || verify(buf, s)) out(s);
        p = view.indexOf(anchor, p + 1);
      }
    },
  };
}

/** Whether `p` matches `bytes` at `offset` (every byte present). */
export function patternMatchesAt(p: CompiledPattern, bytes: Uint8Array, offset: number): boolean {
  if (offset + p.length > bytes.length) return false;
  for (let i = 0; i < p.length; i++) if ((bytes[offset + i]! & p.mask[i]!) !== p.bytes[i]) return false;
  return true;
}

/**
 * A pattern argument as given to `findPattern` or a `bytes` scan: text is
 * compiled; a compiled pattern is checked to be one.
 *
 * @throws {TypeError} for anything else. {@link PatternSyntaxError} for invalid text.
 * @example
 * ```ts
 * toPattern("48 8b ?? ??").length; // 4
 * ```
 */
export function toPattern(pattern: unknown): CompiledPattern {
  if (typeof pattern === "string") return compilePattern(pattern);
  const p = pattern as Partial<CompiledPattern> | null;
  if (
    typeof p !== "object" || p === null ||
    !(p.bytes instanceof Uint8Array) || !(p.mask instanceof Uint8Array) ||
    p.bytes.length === 0 || p.bytes.length !== p.mask.length || p.length !== p.bytes.length ||
    !Number.isInteger(p.anchorOffset) || !Number.isInteger(p.anchorLength) ||
    p.anchorOffset! < 0 || p.anchorLength! < 0 || p.anchorOffset! + p.anchorLength! > p.length
  ) {
    throw new TypeError("pattern must be a string such as \"48 8b ?? ??\" or a pattern from compilePattern/patternFromBytes");
  }
  return p as CompiledPattern;
}
