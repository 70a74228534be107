import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost parameters, as stored in a password hash. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** 32 MiB per hash: OWASP's floor for scrypt is N=2^17 at r=8, which costs 128 MiB per login. */
export const defaultScryptParams: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const keyLength = 32;
const saltLength = 16;
const format = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

/** A stored password hash that does not follow `scrypt$N$r$p$salt$hash`. */
export class PasswordHashFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordHashFormatError';
  }
}

/**
 * Hashes a password as `scrypt$<N>$<r>$<p>$<salt>$<key>`: salt (16 bytes) and derived key
 * (32 bytes) in unpadded base64url. See docs/security.md.
 */
export async function hashPassword(password: string, params: ScryptParams = defaultScryptParams): Promise<string> {
  assertParams(params);
  const salt = randomBytes(saltLength);
  const key = await derive(password, salt, params, keyLength);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Parses a stored hash; throws {@link PasswordHashFormatError} naming what is wrong. */
export function parsePasswordHash(encoded: string): ScryptParams & { salt: Buffer; key: Buffer } {
  const match = format.exec(encoded);
  if (!match) throw new PasswordHashFormatError('expected scrypt$N$r$p$salt$hash (make one with `backplane auth hash-password`)');
  const params = { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  assertParams(params);
  return { ...params, salt: Buffer.from(match[4], 'base64url'), key: Buffer.from(match[5], 'base64url') };
}

/** Whether `password` matches `encoded`; the derived keys are compared in constant time. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const stored = parsePasswordHash(encoded);
  const candidate = await derive(password, stored.salt, stored, stored.key.length);
  return timingSafeEqual(candidate, stored.key);
}

function assertParams({ N, r, p }: ScryptParams): void {
  // Bounds keep a typo in a config file from pinning the CPU or the heap at every login.
  if (!Number.isInteger(N) || N < 2 ** 10 || N > 2 ** 20 || (N & (N - 1)) !== 0) throw new PasswordHashFormatError(`N must be a power of two from 1024 to 1048576, not ${N}`);
  if (!Number.isInteger(r) || r < 1 || r > 32) throw new PasswordHashFormatError(`r must be an integer from 1 to 32, not ${r}`);
  if (!Number.isInteger(p) || p < 1 || p > 16) throw new PasswordHashFormatError(`p must be an integer from 1 to 16, not ${p}`);
}

function derive(password: string, salt: Buffer, { N, r, p }: ScryptParams, length: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key))));
}
