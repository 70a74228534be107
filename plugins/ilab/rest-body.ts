import { InputError } from '../../core/plugin-api.ts';

/** How a Go struct field is typed: `string` or `*int`. */
export type GoFieldKind = 'string' | 'int';

type Decoded<F extends Record<string, GoFieldKind>> = { [K in keyof F]: F[K] extends 'int' ? number | null : string };

export const invalidBody = 'Invalid request body';

/**
 * Reads a JSON body into named fields the way Go's `json.Decoder` fills a struct: keys match
 * exactly or else case-insensitively, unknown keys are ignored, `null` leaves the zero value,
 * and a value of the wrong type (`"epochs": "10"`, `1.5` for an int, an array for the body)
 * fails the whole decode with the legacy `Invalid request body`.
 */
export function decodeGoBody<const F extends Record<string, GoFieldKind>>(body: unknown, fields: F): Decoded<F> {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) throw new InputError(invalidBody);
  const record = (body ?? {}) as Record<string, unknown>;
  const out: Record<string, string | number | null> = {};
  for (const [name, kind] of Object.entries(fields)) {
    const key = name in record ? name : Object.keys(record).findLast((k) => k.toLowerCase() === name.toLowerCase());
    const value = key === undefined ? undefined : record[key];
    if (kind === 'string') {
      if (value !== undefined && value !== null && typeof value !== 'string') throw new InputError(invalidBody);
      out[name] = (value as string | null | undefined) ?? '';
    } else {
      if (value !== undefined && value !== null && (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > 2 ** 63)) throw new InputError(invalidBody);
      out[name] = (value as number | null | undefined) ?? null;
    }
  }
  return out as Decoded<F>;
}
