import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config/config-error.ts';

/**
 * The HS256 signing secret: from the variable `secretEnv` names (at least 32 characters), or
 * else `<dataDir>/auth/jwt-secret`, created with 64 random bytes and mode 0600 on first start.
 * A secret file that group or others may read is refused, as ssh refuses such a key.
 */
export async function loadJwtSecret({ secretEnv, dataDir, env = process.env }: { secretEnv: string | undefined; dataDir: string; env?: NodeJS.ProcessEnv }): Promise<Buffer> {
  if (secretEnv !== undefined) {
    const value = env[secretEnv];
    if (!value || value.length < 32) throw new ConfigError([`auth.jwt.secretEnv: the variable ${secretEnv} must hold a secret of at least 32 characters`]);
    return Buffer.from(value, 'utf8');
  }
  const file = path.join(dataDir, 'auth', 'jwt-secret');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // `wx`: two daemons starting on one data dir never overwrite each other's secret.
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(randomBytes(64).toString('base64url'));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) throw new ConfigError([`auth.jwt: ${file} may be read by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`]);
  const secret = (await readFile(file, 'utf8')).trim();
  if (secret.length < 32) throw new ConfigError([`auth.jwt: ${file} holds less than 32 characters; delete it to have a new secret generated`]);
  return Buffer.from(secret, 'utf8');
}
