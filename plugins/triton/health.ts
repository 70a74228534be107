import type { TritonClient } from './triton-client.ts';
import type { TritonHealth, TritonServerSpec } from './types.ts';

export const unknownHealth: TritonHealth = { state: 'UNKNOWN', live: false, ready: false, lastError: null, latencyMs: null, checkedAt: null };

/**
 * One liveness and readiness probe: `DOWN` when nothing answers (refused, timeout, connection
 * dropped), `NOT_READY` when live but `/v2/health/ready` is not 200, `READY` otherwise.
 */
export async function probeHealth(client: TritonClient, spec: TritonServerSpec): Promise<TritonHealth> {
  const started = performance.now();
  try {
    const [live, ready] = await Promise.all([client.health(spec, 'live'), client.health(spec, 'ready')]);
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    const state = !live ? 'NOT_READY' : ready ? 'READY' : 'NOT_READY';
    const lastError = !live ? 'not live (/v2/health/live did not answer 200)' : ready ? null : 'not ready (/v2/health/ready did not answer 200)';
    return { state, live, ready, lastError, latencyMs, checkedAt: new Date() };
  } catch (error) {
    return { state: 'DOWN', live: false, ready: false, lastError: (error as Error).message, latencyMs: null, checkedAt: new Date() };
  }
}

/** Whether callers would see a change (latency and time alone are not one). */
export function healthChanged(a: TritonHealth, b: TritonHealth): boolean {
  return a.state !== b.state || a.live !== b.live || a.ready !== b.ready || a.lastError !== b.lastError;
}
