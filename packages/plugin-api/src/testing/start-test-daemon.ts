import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { locateBackplaneBin } from './locate-backplane.ts';

/** A plugin's config section: `module` (a path or npm package name) and its own keys. */
export type PluginSection = { module?: string; enabled?: boolean } & Record<string, unknown>;

/** Options of {@link startTestDaemon}. */
export interface StartTestDaemonOptions {
  /**
   * The `plugins:` section of the config, e.g. `{ hello: { module: 'backplane-plugin-hello', greeting: 'Hi' } }`.
   * Built-in plugins stay enabled unless a section says `enabled: false`.
   */
  plugins: Record<string, PluginSection>;
  /** Other config keys (`jobs`, `auth`, …). `dataDir` and the port are the kit's. */
  config?: Record<string, unknown>;
  /**
   * Where the config file is written; relative module paths and npm package names resolve
   * from here. @default a fresh temp directory (so package names resolve from backplane's own dependencies)
   */
  configDir?: string;
  /** The CLI script; see {@link locateBackplaneBin}. */
  backplaneBin?: string;
  /** Added to the daemon's environment. */
  env?: Record<string, string | undefined>;
  /** Give up when `/readyz` does not answer 200 within this long. @default 30000 */
  readyTimeoutMs?: number;
}

/** A GraphQL response body. */
export interface GraphQLResult<TData = any> {
  data?: TData | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [key: string]: unknown } }[];
}

/** A REST response: `body` is parsed JSON for JSON content types, else text. */
export interface RestResult<TBody = any> {
  status: number;
  headers: Headers;
  body: TBody;
}

/** A running daemon started by {@link startTestDaemon}. */
export interface TestDaemon {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The daemon's data directory (a temp directory, removed by `stop`). */
  readonly dataDir: string;
  /** The config file the daemon was started with. */
  readonly configFile: string;
  /** Runs a GraphQL operation on `/graphql`. */
  graphql<TData = any>(query: string, variables?: Record<string, unknown>, options?: { headers?: Record<string, string> }): Promise<GraphQLResult<TData>>;
  /** Sends a request to a REST path (`/api/hello/Ada`); a non-undefined `body` is sent as JSON. */
  rest<TBody = any>(method: string, requestPath: string, body?: unknown, options?: { headers?: Record<string, string> }): Promise<RestResult<TBody>>;
  /** Everything the daemon printed so far (its JSON log lines), for assertions and failure reports. */
  output(): string;
  /** Stops the daemon (SIGTERM, then SIGKILL after 10 s) and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * Boots the real backplane daemon as a child process (`backplane serve --port 0`) with a temp
 * config file and data directory, and resolves once `/readyz` answers 200, i.e. every plugin has
 * finished `init` (a `degraded` plugin counts as started).
 */
export async function startTestDaemon(options: StartTestDaemonOptions): Promise<TestDaemon> {
  const bin = locateBackplaneBin(options.backplaneBin, options.configDir);
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'backplane-test-'));
  const dataDir = path.join(tempDir, 'data');
  const configFile = path.join(options.configDir ?? tempDir, `backplane-test-${path.basename(tempDir)}.yaml`);
  // JSON is YAML: no YAML library needed.
  await writeFile(configFile, JSON.stringify({ ...options.config, plugins: options.plugins }, null, 2));

  const child = spawn(process.execPath, [bin, 'serve', '--config', configFile, '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', '--log-level', 'info'], {
    cwd: options.configDir ?? tempDir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(configFile, { force: true });
    await rm(tempDir, { recursive: true, force: true });
  };

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(output);
        if (match) resolve(match[1]);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', reject);
      void exited.then((code) => reject(new Error(`backplane exited (code ${code}) before listening:\n${output}`)));
    });
    await waitUntilReady(url, options.readyTimeoutMs ?? 30_000, () => output, exited);
  } catch (error) {
    await cleanup();
    throw error;
  }

  const send = (requestPath: string, init: RequestInit) => fetch(new URL(requestPath, url), init);
  return {
    url,
    dataDir,
    configFile,
    output: () => output,
    async graphql(query, variables, { headers = {} } = {}) {
      const response = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResult;
    },
    async rest(method, requestPath, body, { headers = {} } = {}) {
      const response = await send(requestPath, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      const isJson = /\bjson\b/.test(response.headers.get('content-type') ?? '');
      return { status: response.status, headers: response.headers, body: isJson && text !== '' ? JSON.parse(text) : text };
    },
    stop: cleanup,
  };
}

async function waitUntilReady(url: string, timeoutMs: number, output: () => string, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  // The daemon listens before plugins boot (so /healthz answers early); /readyz waits for them.
  while ((await fetch(new URL('/readyz', url)).catch(() => undefined))?.status !== 200) {
    if (gone) throw new Error(`backplane exited before it was ready:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`backplane was not ready within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
