/**
 * JSON exactly as Go's `json.Encoder` writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped,
 * lone surrogates (invalid UTF-8 in Go) as U+FFFD, and a trailing newline. Key order is the
 * caller's: build objects in struct order, or sorted for Go maps.
 */
export function encodeGoJson(value: unknown): string {
  let json = JSON.stringify(value);
  // Test before replacing: most payloads need no escaping, and a replace copies the whole string.
  if (htmlChars.test(json)) json = json.replace(htmlCharsGlobal, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (loneSurrogate.test(json)) json = json.replace(loneSurrogateGlobal, '\\ufffd');
  return `${json}\n`;
}

const htmlChars = /[<>&\u2028\u2029]/;
const htmlCharsGlobal = /[<>&\u2028\u2029]/g;
// An escape `\udXXX` JSON.stringify wrote for a lone surrogate (not an escaped backslash + "ud…").
const loneSurrogate = /(?<=(?:^|[^\\])(?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/;
const loneSurrogateGlobal = /(?<=(?:^|[^\\])(?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/** A Go map's JSON: keys sorted by byte order. */
export function sortedKeys<T extends Record<string, unknown>>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = value[key];
  return out as T;
}
