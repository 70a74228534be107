import type { HttpClientService, HttpRequestOptions } from '../../packages/plugin-api/src/services/http.ts';

export type { HttpRequestOptions, ProbeResult, HttpClientService } from '../../packages/plugin-api/src/services/http.ts';

export function createHttpClient({ signal: pluginSignal }: { signal: AbortSignal }): HttpClientService {
  const doFetch = (url: string | URL, { timeoutMs = 10_000, signal, ...init }: HttpRequestOptions = {}) => {
    const signals = [pluginSignal, AbortSignal.timeout(timeoutMs), signal].filter((s): s is AbortSignal => s !== undefined);
    return fetch(url, { ...init, signal: AbortSignal.any(signals) });
  };
  return {
    fetch: doFetch,
    async probe(url, { timeoutMs = 2_000 } = {}) {
      try {
        const response = await doFetch(url, { timeoutMs });
        const body = await response.text();
        return { ok: response.ok, status: response.status, error: undefined, body: body.slice(0, 4096) };
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        return { ok: false, status: undefined, error: cause ?? (error as Error).name, body: undefined };
      }
    },
  };
}
