import { startBareServer } from './bare-server.ts';
import { report, runLoad, type LoadResult } from './load.ts';

export interface CompareOptions {
  /** The line the results are reported under. */
  name: string;
  /** The daemon's base URL and the path to load. */
  daemonUrl: string;
  path: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  concurrency?: number;
  durationMs?: number;
}

/**
 * Loads one daemon route and a bare `node:http` handler answering the bytes that route answers,
 * one after the other after a warm-up, and reports both and the ratio. Responses of the daemon
 * that differ from those bytes count as errors.
 */
export async function compareWithBare({ name, daemonUrl, path, method = 'GET', body, headers = { 'content-type': 'application/json' }, concurrency = 16, durationMs = 4000 }: CompareOptions): Promise<{ ours: LoadResult; bare: LoadResult }> {
  const response = await fetch(`${daemonUrl}${path}`, { method, body, headers });
  const expected = await response.text();
  const server = await startBareServer(expected, response.headers.get('content-type') ?? 'application/json');
  try {
    const options = { method, body, headers, concurrency };
    await runLoad({ ...options, url: `${daemonUrl}${path}`, durationMs: 1000 });
    await runLoad({ ...options, url: `${server.url}${path}`, durationMs: 1000 });
    const ours = await runLoad({ ...options, url: `${daemonUrl}${path}`, durationMs, check: (status, bytes) => status === response.status && bytes.toString() === expected });
    const bare = await runLoad({ ...options, url: `${server.url}${path}`, durationMs });
    report(name, { rps: ours.rps, p50ms: ours.p50ms, p99ms: ours.p99ms, errors: ours.errors });
    report('  bare node:http, same bytes', { rps: bare.rps, p50ms: bare.p50ms, p99ms: bare.p99ms });
    report('  ratio (aim >= 0.5)', { rps_ratio: ours.rps / bare.rps, p99_ratio: bare.p99ms / ours.p99ms });
    return { ours, bare };
  } finally {
    await server.stop();
  }
}
