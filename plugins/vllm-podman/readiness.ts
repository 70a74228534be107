import type { HttpClientService } from '../../core/plugin-api.ts';

/** What the HTTP probes say about a vLLM server whose container runs. */
export type ProbeOutcome =
  | { state: 'ready' }
  | { state: 'loading'; reason: string }
  /** `/health` answered 503: vLLM's engine is dead (EngineDeadError); it will not recover. */
  | { state: 'dead'; reason: string };

/** The address to probe: a wildcard bind is reached through loopback. */
export function probeHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Probes `GET /health` (200 once the engine is up; connection refused while loading) and then
 * `GET /v1/models`, which must list the served name: only both together mean "running".
 */
export async function probeVllm(http: HttpClientService, { host, port, name }: { host: string; port: number; name: string }): Promise<ProbeOutcome> {
  const base = `http://${probeHost(host)}:${port}`;
  const health = await http.probe(`${base}/health`, { timeoutMs: 2_000 });
  if (health.status === 503) return { state: 'dead', reason: 'vLLM reports its engine dead (GET /health answered 503)' };
  if (!health.ok) return { state: 'loading', reason: `waiting for GET /health (${health.status ?? health.error ?? 'no answer'})` };
  // Not `probe`: it cuts bodies at 4 KiB, and a model list with LoRA adapters can be longer.
  let body: string;
  try {
    const response = await http.fetch(`${base}/v1/models`, { timeoutMs: 5_000 });
    body = await response.text();
    if (!response.ok) return { state: 'loading', reason: `waiting for GET /v1/models (${response.status})` };
  } catch (error) {
    return { state: 'loading', reason: `waiting for GET /v1/models (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name})` };
  }
  if (!listsModel(body, name)) return { state: 'loading', reason: `GET /v1/models does not list '${name}' yet` };
  return { state: 'ready' };
}

function listsModel(body: string, name: string): boolean {
  try {
    const parsed = JSON.parse(body) as { data?: { id?: unknown }[] };
    return Array.isArray(parsed.data) && parsed.data.some((card) => card?.id === name);
  } catch {
    return false;
  }
}

/**
 * Whether a log line says the HTTP server has started: current vLLM prints uvicorn's
 * `Application startup complete.`, older releases also `Uvicorn running on http://…`.
 * Only a hint to probe at once; the probes decide.
 */
export function isReadyHint(line: string): boolean {
  return line.includes('Application startup complete.') || line.includes('Uvicorn running on');
}
