/** snake_case ↔ camelCase for the REST face (the seed's names) and GraphQL (camelCase fields). */

/** Conversions are memoised: the same few dozen keys come back on every request. */
function memo(convert: (key: string) => string): (key: string) => string {
  const cache = new Map<string, string>();
  return (key) => {
    let out = cache.get(key);
    if (out === undefined) {
      out = convert(key);
      if (cache.size < 10_000) cache.set(key, out);
    }
    return out;
  };
}
const toCamel = memo((key) => key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
const toSnake = memo((key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

function mapKeys(value: unknown, rename: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, rename));
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const k in value) out[rename(k)] = mapKeys((value as Record<string, unknown>)[k], rename);
  return out;
}

/** Deep copy with every object key in camelCase. */
export function camelKeys<T = unknown>(value: unknown): T {
  return mapKeys(value, toCamel) as T;
}

/** Deep copy with every object key in snake_case. */
export function snakeKeys<T = unknown>(value: unknown): T {
  return mapKeys(value, toSnake) as T;
}

const nullable = new Set(['description', 'max_rows', 'model_type']);

/** A GraphQL input object, keys in snake_case, without members that are unset (null means unset except where null is a value). */
export function inputToSnake(input: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input ?? {})) {
    const key = toSnake(k);
    if (v === undefined || (v === null && !nullable.has(key))) continue;
    out[key] = mapKeys(v, toSnake);
  }
  return out;
}
