import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { configSchema, type BackplaneConfigInput } from '../../core/config/schema.ts';
import { createDaemon, type Daemon } from '../../core/daemon.ts';
import { resolvePlugins } from '../../core/kernel/load-plugins.ts';
import type { PluginDefinition } from '../../core/plugin-api.ts';
import { createLogger } from '../../core/services/logger-service.ts';

export interface TestDaemonOptions {
  /** The plugins that count as built in for this daemon (enabled unless config disables them). */
  plugins?: readonly PluginDefinition<any, any>[];
  config?: BackplaneConfigInput;
  /** Reuse a data dir (restart tests); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Set BACKPLANE_TEST_LOG=debug to see the daemon's log. */
  logLevel?: 'silent' | 'debug' | 'info';
}

export interface GqlResult<T = any> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface TestDaemon {
  daemon: Daemon;
  url: string;
  dataDir: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, options?: { apiKey?: string }): Promise<GqlResult<T>>;
  request(requestPath: string, init?: RequestInit): Promise<Response>;
  ws(options?: { apiKey?: string }): Client;
  /** Stops the daemon; removes the data dir unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** Boots a whole daemon on port 0 with its data in a temp folder. */
export async function startTestDaemon(options: TestDaemonOptions = {}): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'bp-test-')));
  const input = {
    ...options.config,
    dataDir,
    server: { port: 0, ...options.config?.server },
    log: { level: options.logLevel ?? (process.env.BACKPLANE_TEST_LOG as 'debug' | undefined) ?? 'silent' },
    jobs: { onShutdown: 'stop', killGraceSeconds: 2, ...options.config?.jobs },
  } satisfies BackplaneConfigInput;
  const config = configSchema.parse(input);
  let daemon: Daemon | undefined;
  let url: string;
  try {
    const plugins = await resolvePlugins({ config, builtins: options.plugins ?? [], baseDir: process.cwd() });
    daemon = createDaemon({ config, plugins, logger: createLogger({ level: config.log.level }) });
    url = (await daemon.start()).url;
  } catch (error) {
    // A boot that fails (the point of some tests) must not leave its data dir behind.
    await daemon?.stop().catch(() => undefined);
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const clients: Client[] = [];
  return {
    daemon,
    url,
    dataDir,
    async gql(query, variables, { apiKey } = {}) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GqlResult;
    },
    request: (requestPath, init) => fetch(`${url}${requestPath}`, init),
    ws({ apiKey } = {}) {
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: apiKey ? { authorization: `Bearer ${apiKey}` } : undefined,
        retryAttempts: 0,
      });
      clients.push(client);
      return client;
    },
    async stop({ keepData = false } = {}) {
      for (const client of clients) await client.dispose();
      await daemon.stop();
      if (!keepData && !options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
