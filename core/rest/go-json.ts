/**
 * JSON exactly as Go's `json.Encoder` writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped,
 * lone surrogates (invalid UTF-8 in Go) as U+FFFD, and a trailing newline. Key order is the
 * caller's: build objects in struct order, or sorted for Go maps.
 */
export function encodeGoJson(value: unknown): string {
  return `${JSON.stringify(value)
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\\ud[89a-f][0-9a-f]{2}/g, '\\ufffd')}\n`;
}

/** A Go map's JSON: keys sorted by byte order. */
export function sortedKeys<T extends Record<string, unknown>>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = value[key];
  return out as T;
}
