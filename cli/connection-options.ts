import { readFileSync } from 'node:fs';
import { CliError } from './cli-error.ts';

/** Where the daemon is and how to authenticate, from flags, then the environment, then defaults. */
export interface ConnectionOptions {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8080`. */
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** The global flags as commander parsed them. */
export interface ConnectionFlags {
  url?: string;
  apiKey?: string;
  apiKeyFile?: string;
  timeout?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/**
 * Resolves the connection: `--url` / `BACKPLANE_URL`, `--api-key` / `BACKPLANE_API_KEY` /
 * `--api-key-file` / `BACKPLANE_API_KEY_FILE`, `--timeout` seconds / `BACKPLANE_TIMEOUT`.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const url = flags.url ?? (env.BACKPLANE_URL || DEFAULT_URL);
  let parsedUrl: URL | undefined;
  try {
    parsedUrl = new URL(url);
  } catch {
    parsedUrl = undefined;
  }
  if (!parsedUrl || !['http:', 'https:'].includes(parsedUrl.protocol)) throw new CliError(`--url: expected an http:// or https:// URL, got '${url}'`, 2);
  const timeoutText = flags.timeout ?? (env.BACKPLANE_TIMEOUT || '30');
  const timeout = Number(timeoutText);
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 86_400) throw new CliError(`--timeout: expected seconds between 0 and 86400, got '${timeoutText}'`, 2);
  // An empty variable counts as unset (`BACKPLANE_API_KEY= backplane …`).
  let apiKey = flags.apiKey ?? (env.BACKPLANE_API_KEY || undefined);
  const keyFile = flags.apiKeyFile ?? (env.BACKPLANE_API_KEY_FILE || undefined);
  if (apiKey === undefined && keyFile !== undefined) {
    try {
      apiKey = readFileSync(keyFile, 'utf8').trim();
    } catch (error) {
      throw new CliError(`--api-key-file: cannot read ${keyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return { url: url.replace(/\/+$/, ''), apiKey: apiKey === '' ? undefined : apiKey, timeoutMs: timeout * 1000 };
}
