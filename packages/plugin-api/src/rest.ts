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
 * A legacy response. Exactly one of `json`, `text`, `file` (streamed from disk) or `empty`. JSON is encoded the way the
 * profile's original server did (e.g. Go's encoder for `ilab-ui`: trailing newline, `\u003c`).
 */
export interface RestReply {
  status?: number;
  json?: unknown;
  text?: string;
  /** A file streamed as the body (e.g. a whole job log), never read into memory. */
  file?: string;
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
 * One legacy route, as data. It runs a named GraphQL operation through the same pipeline as
 * `/graphql` (auth, validation, errors) and shapes the result into the legacy reply.
 */
export interface RestRoute {
  /** The legacy API: `ilab-ui`, `llamactl`, `mlserve`, `training-manager` or `tinker`. */
  profile: string;
  method: HttpMethod;
  /** Path under the profile's mount prefix, with `{name}` parameters: `/jobs/{job_id}/logs`. */
  path: string;
  /** Name of an operation in one of the plugin's `operations` documents. */
  operation: string;
  /**
   * How the request body is read. `json`: must be valid JSON (else the profile's "invalid body"
   * reply); `json-optional`: empty is fine; `ignore`: never read; `raw`: the bytes as they came
   * (a `Uint8Array`, empty when there was no body), for routes that decode them the way their
   * original server did.
   * @default `ignore` for GET, `json` otherwise
   */
  body?: 'json' | 'json-optional' | 'ignore' | 'raw';
  /** Variables for the operation: a map of sources, or a function (throw InputError for bad input). */
  variables?: Record<string, VariableSource> | ((request: RestRequest) => Record<string, unknown>);
  /** Builds the legacy reply from the operation's `data`. */
  reply(data: any, request: RestRequest): RestReply;
  /** Per-route legacy replies for coded errors; the profile's defaults apply otherwise. */
  errors?: RestErrorReplies;
}
