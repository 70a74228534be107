import { STATUS_CODES } from 'node:http';
import { httpStatusByCode, type ErrorCode } from '../errors.ts';
import { encodeGoJson } from './go-json.ts';
import { goTextError } from './go-replies.ts';
import { standardRateLimits, type ProfileRateLimits } from './rate-limit.ts';
import type { RestReply } from './route.ts';

/**
 * How one legacy API behaves on the wire, apart from its routes: JSON encoding, error bodies,
 * status codes, and what unknown routes and wrong methods get.
 */
export interface RestProfile {
  id: string;
  /** The legacy server this reproduces, for docs and logs. */
  description: string;
  encodeJson(value: unknown): string;
  /** Content-Type of successful JSON replies. */
  jsonContentType: string;
  statusFor(code: ErrorCode): number;
  error(status: number, message: string, code: ErrorCode): RestReply;
  notFound(path: string): RestReply;
  methodNotAllowed(allowed: readonly string[]): RestReply;
  invalidBody(reason: string): RestReply;
  /** Go's mux answers `//models` and `/./models` with a 301 to the cleaned path. */
  redirectUncleanPaths: boolean;
  /**
   * The legacy server is Go's net/http: a listener mounting this profile answers at the
   * connection level as Go's server does (HTTP/1.0 replies, Go's text refusals of malformed
   * requests, any token as a method); see core/http/listener.ts.
   */
  goNetHttp: boolean;
  /**
   * Rate limits the original server applied, on unless config turns them off
   * (`rest.profiles.<id>.rateLimits.enabled: false`); absent: off unless config has the section.
   */
  rateLimits?: ProfileRateLimits;
  /**
   * Mount prefix on the main listener when config sets neither `prefix` nor `listen`, for a
   * profile whose routes would otherwise meet another's (training-manager and tinker both
   * serve `/api/v1/health`). Absent: `/`.
   */
  defaultPrefix?: string;
}

const textError = goTextError;

/** The InstructLab UI api-server: Go net/http with gorilla/mux. */
const ilabUi: RestProfile = {
  id: 'ilab-ui',
  description: 'InstructLab UI api-server (Go net/http + gorilla/mux)',
  encodeJson: encodeGoJson,
  jsonContentType: 'application/json',
  statusFor: (code) => (code === 'UNAVAILABLE' || code === 'TIMEOUT' || code === 'BACKEND_ERROR' ? 500 : httpStatusByCode[code]),
  error: (status, message) => textError(status, message),
  notFound: () => textError(404, '404 page not found'),
  methodNotAllowed: () => ({ status: 405, empty: true }),
  invalidBody: () => textError(400, 'Invalid request body'),
  redirectUncleanPaths: true,
  goNetHttp: true,
};

const jsonError = (status: number, body: unknown): RestReply => ({ status, json: body });

/**
 * An OpenAI-style error body, `{"error": {"message", "type", "param", "code"}}`: what OpenAI
 * clients parse, and what llamactl answers auth failures with.
 */
export function openAiError(status: number, message: string, code: string | null, param: string | null = null): RestReply {
  const type =
    status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return jsonError(status, { error: { message, type, param, code } });
}

const openAiCodes: Partial<Record<ErrorCode, string>> = { UNAUTHENTICATED: 'invalid_api_key', FORBIDDEN: 'insufficient_scope', RATE_LIMITED: 'rate_limit_exceeded' };

/** llamactl's real handlers' error body, `{"error": "<code>", "details": "…"}` (llamactl-v1). */
const llamactlGoError = (status: number, message: string, code: string): RestReply => jsonError(status, { error: code.toLowerCase(), details: message });

/** The seed document's error body: `{"error": "<status text>", "code": "<CODE>", "details": "<message>"}`. */
const seedError = (status: number, message: string, code: string): RestReply => jsonError(status, { error: STATUS_CODES[status] ?? 'Error', code, details: message });

/**
 * llamactl's API as its first documentation described it (`/api/instances`, JWT logins,
 * `/api/ws`): `{"error", "code", "details"}` errors and its 100 (10 heavy) requests a minute.
 */
const llamactl: RestProfile = {
  id: 'llamactl',
  description: 'llamactl instance manager API (its documented /api face)',
  encodeJson: (value) => JSON.stringify(value),
  jsonContentType: 'application/json',
  statusFor: (code) => httpStatusByCode[code],
  error: (status, message, code) => seedError(status, message, code),
  notFound: (path) => seedError(404, `no route for ${path}`, 'NOT_FOUND'),
  methodNotAllowed: (allowed) => ({ ...seedError(405, `allowed: ${allowed.join(', ')}`, 'METHOD_NOT_ALLOWED'), headers: { allow: allowed.join(', ') } }),
  invalidBody: (reason) => seedError(400, `Invalid request body: ${reason}`, 'BAD_USER_INPUT'),
  redirectUncleanPaths: false,
  goNetHttp: false,
  rateLimits: standardRateLimits,
};

/**
 * llamactl's real API as its code serves it (`/api/v1`, `/llama-cpp/{name}/…`): `{"error":
 * "<code>", "details": "…"}` from its handlers, OpenAI-style bodies from its auth middleware,
 * no rate limits.
 */
const llamactlV1: RestProfile = {
  ...llamactl,
  id: 'llamactl-v1',
  description: 'llamactl API v1 (as llamactl’s Go code serves it)',
  rateLimits: undefined,
  notFound: (path) => llamactlGoError(404, `no route for ${path}`, 'not_found'),
  methodNotAllowed: (allowed) => ({ ...llamactlGoError(405, `allowed: ${allowed.join(', ')}`, 'method_not_allowed'), headers: { allow: allowed.join(', ') } }),
  invalidBody: (reason) => llamactlGoError(400, reason, 'invalid_request'),
  error: (status, message, code) =>
    code === 'UNAUTHENTICATED'
      ? jsonError(status, { error: { message, type: 'authentication_error' } })
      : code === 'FORBIDDEN'
        ? jsonError(status, { error: { message, type: 'permission_denied' } })
        : llamactlGoError(status, message, code),
};

/** OpenAI-compatible inference endpoints (`/v1/models`, `/v1/chat/completions`, …). */
const openai: RestProfile = {
  id: 'openai',
  description: 'OpenAI-compatible inference API',
  encodeJson: (value) => JSON.stringify(value),
  jsonContentType: 'application/json',
  statusFor: (code) => httpStatusByCode[code],
  error: (status, message, code) => openAiError(status, message, openAiCodes[code] ?? code.toLowerCase()),
  notFound: (path) => openAiError(404, `Unknown request URL: ${path}`, 'unknown_url'),
  methodNotAllowed: (allowed) => ({ ...openAiError(405, `Method not allowed; allowed: ${allowed.join(', ')}`, 'method_not_allowed'), headers: { allow: allowed.join(', ') } }),
  invalidBody: (reason) => openAiError(400, `We could not parse the JSON body of your request: ${reason}`, 'invalid_json'),
  redirectUncleanPaths: false,
  goNetHttp: false,
};

/** MLServe admin API (Flask behind a gateway): `{"message": "…"}`. */
const mlserve: RestProfile = {
  id: 'mlserve',
  description: 'MLServe admin API',
  encodeJson: (value) => JSON.stringify(value),
  jsonContentType: 'application/json',
  statusFor: (code) => httpStatusByCode[code],
  error: (status, message) => jsonError(status, { message }),
  notFound: () => jsonError(404, { message: 'Not Found' }),
  methodNotAllowed: (allowed) => ({ ...jsonError(405, { message: 'Method Not Allowed' }), headers: { allow: allowed.join(', ') } }),
  invalidBody: () => jsonError(400, { message: 'Invalid JSON body' }),
  redirectUncleanPaths: false,
  goNetHttp: false,
};

/** FastAPI servers: `{"detail": "…"}`, 422 for request validation. */
function fastApi(id: string, description: string, validationStatus: number): RestProfile {
  return {
    id,
    description,
    encodeJson: (value) => JSON.stringify(value),
    jsonContentType: 'application/json',
    statusFor: (code) => (code === 'BAD_USER_INPUT' ? validationStatus : httpStatusByCode[code]),
    error: (status, message) => jsonError(status, { detail: message }),
    notFound: () => jsonError(404, { detail: 'Not Found' }),
    methodNotAllowed: (allowed) => ({ ...jsonError(405, { detail: 'Method Not Allowed' }), headers: { allow: allowed.join(', ') } }),
    invalidBody: (reason) => jsonError(422, { detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error', ctx: { error: reason } }] }),
    redirectUncleanPaths: false,
    goNetHttp: false,
  };
}

/** The APIs backplane serves besides GraphQL, in the order they claim unknown routes on a shared listener. */
export const restProfiles: readonly RestProfile[] = [
  ilabUi,
  llamactl,
  mlserve,
  { ...fastApi('training-manager', 'Model Training Manager (FastAPI)', 422), defaultPrefix: '/training-manager' },
  fastApi('tinker', 'tinkercloud Tinker-style training API (FastAPI)', 400),
  llamactlV1,
  openai,
];
