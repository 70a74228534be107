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

