import type { ErrorCode } from './errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A legacy request as a route sees it. */
export interface RestRequest {
  method: HttpMethod;
  /** Path parameters, already percent-decoded (`{job_id}` → `params.job_id`). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed body (see {@link RestRoute.body}); undefined when absent or ignored; the bytes for `raw`. */
  body: unknown;
  headers: Headers;
}

/**
 * Where a {@link RestReply.proxy} reply forwards the request. The request's method and body go
 * upstream (the bytes as read, or streamed for `body: 'stream'`), with its headers minus the
 * hop-by-hop ones and the caller's own credentials (`Authorization`, `X-API-Key`, `Cookie`), plus
 * `X-Forwarded-For`/`-Proto`/`-Host`. The answer comes back chunk by chunk as it arrives
 * (server-sent events included), with its status and headers minus the hop-by-hop ones. A
 * client that goes away aborts the upstream request; an upstream that cannot be reached, or
 * fails before answering, becomes the profile's 502 (`BACKEND_ERROR`).
 */
export interface RestProxyTarget {
  /** Absolute `http:` or `https:` URL, query string included (`?${request.query}` to keep the caller's). */
  url: string;
  /** Headers to add or replace upstream; `null` removes one the client sent. */
  headers?: Record<string, string | null>;
  /** Fail with the profile's 504 when upstream has not begun to answer within this many ms. @default no limit */
  timeoutMs?: number;
}

/**
 * A legacy response. Exactly one of `json`, `text`, `file` (streamed from disk), `proxy`
 * (another server answers) or `empty`. JSON is encoded the way the profile's original server
 * did (e.g. Go's encoder for `ilab-ui`: trailing newline, `\u003c`).
 */
export interface RestReply {
  status?: number;
  json?: unknown;
  text?: string;
  /** A file streamed as the body (e.g. a whole job log), never read into memory. */
  file?: string;
  /**
   * Streams the request to another server and its answer back (an instance's own API, an
   * OpenAI-compatible endpoint); `status` and `headers` of this reply are ignored, the
   * upstream's are used. See {@link RestProxyTarget}.
   */
  proxy?: RestProxyTarget;
  empty?: true;
  /** Extra or replacing headers. A `null` value removes a header the profile would set. */
  headers?: Record<string, string | null>;
}

/** How a coded error becomes this route's legacy reply: a status and message, or a function. */
export type RestErrorReplies = Partial<
  Record<ErrorCode, { status?: number; message?: string } | ((error: { code: ErrorCode; message: string }, request: RestRequest) => RestReply)>
>;

/**
 * Where one variable comes from: `params.<name>`, `query.<name>`, `body.<name>` or `body`.
 * Query values are strings; use a function for conversions.
 */
export type VariableSource = `params.${string}` | `query.${string}` | `body.${string}` | 'body';

/**
 * A route's rate-limit class, when its profile limits rates (`rest.profiles.<id>.rateLimits`):
 * `default` (100 a minute per caller unless configured), `heavy` (10 a minute: starts, loads,
 * logins) or `none` (never limited, e.g. a health check).
 */
export type RateLimitClass = 'default' | 'heavy' | 'none';

/**
 * A streamed answer: a named GraphQL **subscription** run through the same pipeline as the
 * route's operation (auth, scopes, validation), each event written as it comes. Over HTTP the
 * response is `200` with `contentType`, chunked, one {@link RestStream.event} result per event;
 * it ends when the subscription completes or fails, and the subscription is cancelled when the
 * client goes away. Errors before the first event (an unknown name, a bad argument) are the
 * route's usual coded error replies. On a {@link RestRoute.websocket} route each event is one
 * text message instead.
 */
export interface RestStream {
  /** Name of a subscription in one of the plugin's `operations` documents. */
  operation: string;
  /** Variables for the subscription, as {@link RestRoute.variables}. */
  variables?: Record<string, VariableSource> | ((request: RestRequest) => Record<string, unknown>);
  /**
   * Whether this request streams (e.g. `?follow=true`); otherwise the route's operation and
   * `reply` answer it. Ignored on WebSocket routes. @default always
   */
  when?(request: RestRequest): boolean;
  /** Content-Type of the streamed body. @default `application/x-ndjson` */
  contentType?: string;
  /** The bytes one event becomes (a body chunk or a WebSocket message); undefined skips the event. */
  event(data: any, request: RestRequest): string | undefined;
}

/** The request body of a `body: 'multipart'` route: what core staged, before anyone claims it. */
export interface RestMultipartBody {
  /** Pass it to the operation; its resolver calls `uploads.claim(uploadId)`. */
  uploadId: string;
  fields: Record<string, string>;
  files: { field: string; filename: string; bytes: number; mimeType: string }[];
}

/**
 * One legacy route, as data. It runs a named GraphQL operation through the same pipeline as
 * `/graphql` (auth, validation, errors) and shapes the result into the legacy reply.
 */
export interface RestRoute {
  /** The legacy API: `ilab-ui`, `llamactl`, `mlserve`, `training-manager` or `tinker`. */
  profile: string;
  method: HttpMethod;
  /**
   * Path under the profile's mount prefix, with `{name}` parameters: `/jobs/{job_id}/logs`. A
   * last segment `{name*}` takes the rest of the path, slashes included and possibly empty:
   * `/instances/{name}/proxy/{rest*}` (`params.rest` is `v1/models` for `…/proxy/v1/models`).
   */
  path: string;
  /** Name of an operation in one of the plugin's `operations` documents. */
  operation: string;
  /**
   * How the request body is read. `json`: must be valid JSON (else the profile's "invalid body"
   * reply); `json-optional`: empty is fine; `ignore`: never read; `raw`: the bytes as they came
   * (a `Uint8Array`, empty when there was no body), for routes that decode them the way their
   * original server did; `stream`: never read here, so a {@link RestReply.proxy} reply streams
   * it upstream as it arrives (any other reply discards it); `multipart`: a `multipart/form-data`
   * body streamed by core to a staging folder (never buffered), the request's `body` being
   * {@link RestMultipartBody}: the operation gets the `uploadId` and its resolver claims it through
   * `services.uploads`. An upload still unclaimed when the request ends is deleted.
   * @default `ignore` for GET, `json` otherwise
   */
  body?: 'json' | 'json-optional' | 'ignore' | 'raw' | 'stream' | 'multipart';
  /**
   * For `body: 'multipart'`: the most file bytes accepted, answered with the profile's 413 above.
   * For `json`, `json-optional` and `raw` bodies: the most bytes read, in place of
   * `server.bodyLimitBytes` (e.g. 64 MiB for training batches).
   * @default config `rest.maxUploadBytes` (1 GiB) for multipart, `server.bodyLimitBytes` otherwise
   */
  maxBodyBytes?: number;
  /** Variables for the operation: a map of sources, or a function (throw InputError for bad input). */
  variables?: Record<string, VariableSource> | ((request: RestRequest) => Record<string, unknown>);
  /** Builds the legacy reply from the operation's `data`. */
  reply(data: any, request: RestRequest): RestReply;
  /** Per-route legacy replies for coded errors; the profile's defaults apply otherwise. */
  errors?: RestErrorReplies;
  /**
   * The route's rate-limit class, used when its profile limits rates.
   * @default `default`
   */
  rateLimit?: RateLimitClass;
  /** Streams the answer from a subscription (always, or when `stream.when(request)` holds). */
  stream?: RestStream;
  /**
   * A WebSocket endpoint (method `GET`, `stream` required): an upgrade request is authenticated
   * and rate limited like any request of the route, then receives `stream`'s events as text
   * messages until either side closes (a socket opened with an access token is closed with
   * 4401 when the token expires). A plain request without `Upgrade: websocket` is answered by
   * the route's operation and `reply` (say, 426 with a hint). Served on the main listener only.
   */
  websocket?: boolean;
}
