/** Options for one outbound request. */
export interface HttpRequestOptions extends Omit<RequestInit, 'signal'> {
  /** Abort after this long. @default 10000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The answer of a health probe. */
export interface ProbeResult {
  ok: boolean;
  /** HTTP status, or undefined when nothing answered (refused, timeout). */
  status: number | undefined;
  error: string | undefined;
  body: string | undefined;
}

/**
 * Outbound HTTP to backends (health probes, admin APIs), with a timeout on every call and
 * cancellation when the plugin stops.
 */
export interface HttpClientService {
  fetch(url: string | URL, options?: HttpRequestOptions): Promise<Response>;
  /** GET `url`; never throws. `ok` is a 2xx answer. */
  probe(url: string | URL, options?: { timeoutMs?: number }): Promise<ProbeResult>;
}

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
