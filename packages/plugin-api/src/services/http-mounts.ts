import type { IncomingMessage, ServerResponse } from 'node:http';

/** What core tells a mounted handler about its request. */
export interface HttpMountContext {
  /** The parsed request URL (path and query). */
  url: URL;
  /** The request id core put in `X-Request-Id`. */
  requestId: string;
  /** The client's address, for per-address limits. */
  remoteAddress: string;
  /** Names the request in the daemon's `/metrics` (`route` label): keep it a small bounded set. */
  setRoute(label: string): void;
}

/** Serves one request; it owns `res` (answer or destroy it). */
export type HttpMountHandler = (req: IncomingMessage, res: ServerResponse, ctx: HttpMountContext) => Promise<void>;

/** A request forwarded by {@link HttpMountService.forward}. */
export interface ForwardOptions {
  req: IncomingMessage;
  res: ServerResponse;
  /** Absolute `http:`/`https:` URL. */
  url: string;
  /** The request body as read (the caller buffers it, so it can be sent again on a retry). */
  body: Buffer | undefined;
  /** Headers to add or replace upstream; `null` removes one. The caller's credentials never go upstream. */
  headers?: Record<string, string | null>;
  /** 504 when upstream has not begun to answer within this many ms. */
  timeoutMs?: number;
  /** Upstream statuses not passed through but reported, so the caller may retry (e.g. `[502, 503]`). */
  discardStatuses?: readonly number[];
}

/** How a forward ended: the upstream's answer streamed to the client, or a failure before any byte was. */
export type ForwardOutcome =
  | { ok: true; status: number }
  | {
      ok: false;
      /** What the client should get: 502 (unreachable, discarded answer) or 504 (timeout). */
      status: 502 | 504;
      message: string;
      /** Whether the request went out over a connected socket (the backend may have acted on it). */
      reached: boolean;
      /** The upstream's status when it answered one of `discardStatuses`. */
      upstreamStatus?: number;
    };

/**
 * HTTP of the plugin's own on the daemon's main listener, beside GraphQL and the REST routes, for
 * traffic that is not GraphQL-shaped (a gateway). Mounts are the plugin's: removed when it stops.
 */
export interface HttpMountService {
  /**
   * Serves every request whose path is `prefix` or lies under it (segment-wise: `/gateway` takes
   * `/gateway/a`, not `/gatewayx`). ConflictError when {@link isClaimed} says the prefix is taken.
   * Returns an unmount.
   */
  mount(prefix: string, handler: HttpMountHandler): () => void;
  /**
   * Whether a path prefix collides with the daemon's own paths (`/graphql`, `/metrics`,
   * `/healthz`, …), a REST route of the main listener, or another mount.
   */
  isClaimed(prefix: string): boolean;
  /**
   * Streams a request to a backend and its answer back (core's REST proxy: kept-alive upstream
   * connections, backpressure, server-sent events chunk by chunk, client disconnects abort it).
   */
  forward(options: ForwardOptions): Promise<ForwardOutcome>;
  /**
   * Takes one request from the token bucket `key` (the plugin's own namespace): `limit` requests
   * in a burst, refilled at `limit` per `windowSeconds`. `headers` are the `X-RateLimit-*` ones
   * (and `Retry-After` when refused), as core's REST rate limits send them.
   */
  rateLimit(key: string, bucket: { limit: number; windowSeconds: number }): { allowed: boolean; retryAfter: number; headers: Record<string, string> };
  /** Adds Prometheus text lines (with their `# HELP`/`# TYPE`) to `/metrics`; returns a remover. */
  addMetrics(render: () => string): () => void;
}
