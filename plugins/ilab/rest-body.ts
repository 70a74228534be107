import { InputError } from '../../core/plugin-api.ts';

/** How a Go struct field is typed: `string` or `*int`. */
export type GoFieldKind = 'string' | 'int';

type Decoded<F extends Record<string, GoFieldKind>> = { [K in keyof F]: F[K] extends 'int' ? number | null : string };

export const invalidBody = 'Invalid request body';

/**
 * Reads a request body (the raw bytes of a `body: 'raw'` route) into named fields exactly as the
 * Go server's `json.NewDecoder(r.Body).Decode(&req)` filled a struct of `string` and `*int`
 * fields:
 *
 * - one JSON value is read and anything after it is ignored; no value at all (an empty body) fails;
 * - each key of the object, in document order, sets the field it names: the field of exactly that
 *   name, else the one it equals under Unicode case folding (`MODEL_NAME`, `ModelName`, and even
 *   `\u212A` for `k`); a later key overwrites an earlier one, unknown keys are ignored;
 * - `null` leaves a string as it is and clears an int;
 * - a value of the wrong type (`"epochs": "10"`, `1.5` or `1e2` for an int, an int beyond int64)
 *   fails the whole decode, even when a later key fixes the field;
 * - invalid UTF-8 and lone `\ud800` escapes in strings become U+FFFD, one per bad byte.
 *
 * Every failure is the legacy `Invalid request body` (BAD_USER_INPUT).
 */
export function decodeGoBody<const F extends Record<string, GoFieldKind>>(body: unknown, fields: F): Decoded<F> {
  const bytes = body instanceof Uint8Array ? body : new Uint8Array();
  const out: Record<string, string | number | null> = {};
  for (const [name, kind] of Object.entries(fields)) out[name] = kind === 'string' ? '' : null;
  const reader = new GoJsonReader(bytes);
  reader.skipSpace();
  if (reader.done()) throw new InputError(invalidBody);
  const first = reader.peek();
  if (first !== 0x7b /* { */) {
    // null fills nothing; any other value cannot go into a struct (Go reports the type error
    // after checking the value's syntax, with the same reply either way).
    if (first === 0x6e /* n */) reader.literal('null');
    else throw new InputError(invalidBody);
    return out as Decoded<F>;
  }
  let typeError = false;
  reader.objectMembers((key) => {
    const name = fieldFor(key, fields);
    if (name === undefined) return reader.skipValue();
    const kind = fields[name];
    const c = reader.peek();
    if (c === 0x6e /* n */) {
      reader.literal('null');
      if (kind === 'int') out[name] = null;
    } else if (kind === 'string' && c === 0x22 /* " */) {
      out[name] = reader.string();
    } else if (kind === 'int' && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
      const literal = reader.number();
      const value = /^-?\d+$/.test(literal) ? BigInt(literal) : undefined;
      if (value === undefined || value > 2n ** 63n - 1n || value < -(2n ** 63n)) typeError = true;
      else out[name] = Number(value);
    } else {
      typeError = true;
      reader.skipValue();
    }
  });
  if (typeError) throw new InputError(invalidBody);
  return out as Decoded<F>;
}

/** The field a JSON key sets: an exact name first, then a case-folded match (Go's rule). */
function fieldFor(key: string, fields: Record<string, GoFieldKind>): string | undefined {
  if (Object.hasOwn(fields, key)) return key;
  const folded = foldName(key);
  return Object.keys(fields).find((name) => foldName(name) === folded);
}

/**
 * Go's `foldName`: every letter to the smallest rune of its case-folding orbit. For the ASCII
 * names of the legacy structs only two non-ASCII runes matter: KELVIN SIGN folds to `K` and
 * LATIN SMALL LETTER LONG S to `S`; other letters only ever match themselves up to case.
 */
function foldName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (ch === '\u212a') out += 'K';
    else if (ch === '\u017f') out += 'S';
    else if (ch >= 'a' && ch <= 'z') out += ch.toUpperCase();
    else out += ch;
  }
  return out;
}

const maxDepth = 10_000; // Go's scanner refuses deeper nesting

/** A strict JSON reader over bytes, with Go's scanner's grammar and Go's string decoding. */
class GoJsonReader {
  readonly #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  done(): boolean {
    return this.#at >= this.#bytes.length;
  }

  peek(): number {
    if (this.done()) throw new InputError(invalidBody);
    return this.#bytes[this.#at];
  }

  skipSpace(): void {
    while (!this.done() && [0x20, 0x09, 0x0a, 0x0d].includes(this.#bytes[this.#at])) this.#at++;
  }

  #expect(byte: number): void {
    if (this.peek() !== byte) throw new InputError(invalidBody);
    this.#at++;
  }

  literal(word: 'null' | 'true' | 'false'): void {
    for (let i = 0; i < word.length; i++) this.#expect(word.charCodeAt(i));
  }

  /** `{ "key": value, … }`: calls `onMember` with the reader at each value. */
  objectMembers(onMember: (key: string) => void): void {
    this.#expect(0x7b);
    this.skipSpace();
    if (this.peek() === 0x7d) {
      this.#at++;
      return;
    }
    for (;;) {
      this.skipSpace();
      if (this.peek() !== 0x22) throw new InputError(invalidBody);
      const key = this.string();
      this.skipSpace();
      this.#expect(0x3a);
      this.skipSpace();
      onMember(key);
      this.skipSpace();
      const next = this.peek();
      this.#at++;
      if (next === 0x7d) return;
      if (next !== 0x2c) throw new InputError(invalidBody);
    }
  }

  /** A number literal, checked against JSON's grammar, as written. */
  number(): string {
    const start = this.#at;
    if (this.peek() === 0x2d) this.#at++;
    if (this.peek() === 0x30) this.#at++;
    else this.#digits();
    if (!this.done() && this.#bytes[this.#at] === 0x2e) {
      this.#at++;
      this.#digits();
    }
    if (!this.done() && (this.#bytes[this.#at] | 0x20) === 0x65) {
      this.#at++;
      if (!this.done() && (this.#bytes[this.#at] === 0x2b || this.#bytes[this.#at] === 0x2d)) this.#at++;
      this.#digits();
    }
    return new TextDecoder().decode(this.#bytes.subarray(start, this.#at));
  }

  #digits(): void {
    const start = this.#at;
    while (!this.done() && this.#bytes[this.#at] >= 0x30 && this.#bytes[this.#at] <= 0x39) this.#at++;
    if (this.#at === start) throw new InputError(invalidBody);
  }

  /** A string, unquoted as Go does: bad UTF-8 bytes and lone surrogates become U+FFFD. */
  string(): string {
    this.#expect(0x22);
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === 0x22) {
        this.#at++;
        return out;
      }
      if (c < 0x20) throw new InputError(invalidBody);
      if (c === 0x5c) {
        out += this.#escape();
      } else if (c < 0x80) {
        out += String.fromCharCode(c);
        this.#at++;
      } else {
        const [codePoint, size] = decodeRune(this.#bytes, this.#at);
        out += String.fromCodePoint(codePoint);
        this.#at += size;
      }
    }
  }

  #escape(): string {
    this.#at++; // the backslash
    const c = this.peek();
    this.#at++;
    const simple: Record<number, string> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };
    if (simple[c] !== undefined) return simple[c];
    if (c !== 0x75) throw new InputError(invalidBody);
    const unit = this.#hex4();
    if (unit < 0xd800 || unit > 0xdfff) return String.fromCharCode(unit);
    // A high surrogate pairs with an immediately following `\uDC00`–`\uDFFF`; anything else is U+FFFD.
    if (unit <= 0xdbff && this.#bytes[this.#at] === 0x5c && this.#bytes[this.#at + 1] === 0x75) {
      const save = this.#at;
      this.#at += 2;
      const low = this.#hex4();
      if (low >= 0xdc00 && low <= 0xdfff) return String.fromCharCode(unit, low);
      this.#at = save;
    }
    return '\ufffd';
  }

  #hex4(): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const digit = Number.parseInt(String.fromCharCode(this.peek()), 16);
      if (Number.isNaN(digit)) throw new InputError(invalidBody);
      value = value * 16 + digit;
      this.#at++;
    }
    return value;
  }

  /** Skips one value of any kind, checking its syntax; nesting is followed without recursion. */
  skipValue(): void {
    const closers: number[] = [];
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      if (c === 0x7b || c === 0x5b) {
        this.#at++;
        // The object being decoded is depth 1.
        if (closers.length + 2 > maxDepth) throw new InputError(invalidBody);
        closers.push(c === 0x7b ? 0x7d : 0x5d);
        this.skipSpace();
        if (this.peek() === closers.at(-1)) {
          this.#at++;
          closers.pop();
        } else {
          if (c === 0x7b) this.#memberKey();
          continue;
        }
      } else if (c === 0x22) this.string();
      else if (c === 0x74) this.literal('true');
      else if (c === 0x66) this.literal('false');
      else if (c === 0x6e) this.literal('null');
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.number();
      else throw new InputError(invalidBody);
      // After a value: close containers or go on to the next element.
      for (;;) {
        if (closers.length === 0) return;
        this.skipSpace();
        const next = this.peek();
        this.#at++;
        if (next === closers.at(-1)) {
          closers.pop();
          continue;
        }
        if (next !== 0x2c) throw new InputError(invalidBody);
        if (closers.at(-1) === 0x7d) this.#memberKey();
        break;
      }
    }
  }

  #memberKey(): void {
    this.skipSpace();
    if (this.peek() !== 0x22) throw new InputError(invalidBody);
    this.string();
    this.skipSpace();
    this.#expect(0x3a);
  }
}

/** Go's `utf8.DecodeRune`: one code point and its length, or U+FFFD and 1 for a bad byte. */
function decodeRune(bytes: Uint8Array, at: number): [number, number] {
  const b0 = bytes[at];
  const cont = (i: number, lo = 0x80, hi = 0xbf) => at + i < bytes.length && bytes[at + i] >= lo && bytes[at + i] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf && cont(1)) return [((b0 & 0x1f) << 6) | (bytes[at + 1] & 0x3f), 2];
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const [lo, hi] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    if (cont(1, lo, hi) && cont(2)) return [((b0 & 0x0f) << 12) | ((bytes[at + 1] & 0x3f) << 6) | (bytes[at + 2] & 0x3f), 3];
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const [lo, hi] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    if (cont(1, lo, hi) && cont(2) && cont(3)) return [((b0 & 0x07) << 18) | ((bytes[at + 1] & 0x3f) << 12) | ((bytes[at + 2] & 0x3f) << 6) | (bytes[at + 3] & 0x3f), 4];
  }
  return [0xfffd, 1];
}
