import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** A job-style id: 1–128 letters, digits, `.`, `_`, `:` or `-`. */
export const idArg = z.string().min(1, 'expected a non-empty id').max(128, 'expected at most 128 characters').regex(/^[A-Za-z0-9._:-]+$/, 'expected letters, digits, ".", "_", ":" or "-"');

/** A line count for log tails: 0 to 100,000. */
export const tailArg = z.number().int('expected an integer').min(0, 'expected 0 or more').max(100_000, 'expected at most 100000');

/** Page size for connections: 1 to 100,000. */
export const firstArg = z.number().int('expected an integer').min(1, 'expected at least 1').max(100_000, 'expected at most 100000');

/** An opaque connection cursor from a previous page. */
export const cursorArg = z.string().regex(/^\d{1,30}$/, 'expected a cursor from a previous page');

/** `~` and `~/x` → the user's home and `<home>/x`; other paths unchanged. */
export function expandHome(value: string): string {
  return value === '~' || value.startsWith('~/') ? path.join(os.homedir(), value.slice(1)) : value;
}

/** A config path: absolute, or starting with `~/` (expanded to the user's home). */
export const absolutePathArg = z
  .string()
  .min(1)
  .transform(expandHome)
  .refine((p) => path.isAbsolute(p), 'expected an absolute path (or one starting with ~/)');
