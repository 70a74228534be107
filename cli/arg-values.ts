/**
 * Flag values on their way to the daemon. The client checks only the shape commander cannot
 * (a number where the API takes an Int); the daemon validates every argument with its own zod
 * schemas, so a bad value is reported in the daemon's words, and the client does not load zod
 * (a third of its start-up) to say the same thing differently.
 */

/**
 * An integer flag: a number when it reads as one, else the text as typed, so the daemon's
 * validation names the problem (`Int cannot represent non-integer value: "ten"`).
 */
export function intFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^-?\d+$/.test(value.trim()) ? Number(value) : (value as unknown as number);
}

/** A positional id as typed; empty is a usage error. */
export function idArgument(value: string): string {
  if (value.trim() === '') throw new Error('expected an id');
  return value;
}
