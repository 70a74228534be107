import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GqlReply<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A `backplane serve` process the chaos test may kill at any moment. */
export interface ChaosDaemon {
  readonly pid: number;
  readonly spawnedAt: number;
  /** When /readyz first answered 200 (ms since epoch), if it did. */
  readonly readyAt: number | undefined;
  /** Resolves with the base URL once /readyz answers 200; rejects if the daemon exits first or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<string>;
  readonly exited: Promise<DaemonExit>;
  readonly hasExited: boolean;
  kill(signal: NodeJS.Signals): void;
  /** Sends SIGTERM; SIGKILL if the process is still there after `graceMs`. Resolves with how it ended and whether it needed the SIGKILL. */
  stop(graceMs: number): Promise<DaemonExit & { forced: boolean }>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, timeoutMs?: number): Promise<GqlReply<T>>;
  /** The last `chars` characters the daemon printed. */
  outputTail(chars?: number): string;
}

/** Spawns `core/main.ts serve --config <file>` on this Node, with its output copied to `logFile`. */
export function startDaemon(configFile: string, logFile: string): ChaosDaemon {
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot, 'core', 'main.ts'), 'serve', '--config', configFile], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnedAt = Date.now();
  const log = createWriteStream(logFile, { flags: 'a' });
  let output = '';
  let url: string | undefined;
  let readyAt: number | undefined;
  let hasExited = false;
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    output = (output + chunk.toString()).slice(-64 * 1024);
    url ??= /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(output)?.[1];
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<DaemonExit>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      hasExited = true;
      resolve({ code: null, signal: null });
    });
  });
  void exited.then(() => log.end());

  const gql = async (query: string, variables?: Record<string, unknown>, timeoutMs = 15_000) => {
    if (!url) throw new Error('the daemon is not listening');
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return (await response.json()) as GqlReply<any>;
  };

  return {
    pid: child.pid!,
    spawnedAt,
    get readyAt() {
      return readyAt;
    },
    get hasExited() {
      return hasExited;
    },
    exited,
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (readyAt === undefined) {
        if (hasExited) throw new Error(`the daemon exited before it was ready:\n${output.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`the daemon was not ready within ${timeoutMs} ms:\n${output.slice(-4000)}`);
        if (url) {
          const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status, () => 0);
          if (status === 200) readyAt = Date.now();
        }
        if (readyAt === undefined) await delay(25);
      }
      return url!;
    },
    kill(signal) {
      if (!hasExited) child.kill(signal);
    },
    async stop(graceMs) {
      if (!hasExited) child.kill('SIGTERM');
      const graceful = await within(exited, graceMs);
      if (graceful) return { ...graceful, forced: false };
      child.kill('SIGKILL');
      return { ...(await exited), forced: true };
    },
    gql,
    outputTail: (chars = 4000) => output.slice(-chars),
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`'s value, or undefined after `ms`; the timer never outlives the race (it would hold the process open). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
