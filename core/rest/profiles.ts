import { httpStatusByCode, type ErrorCode } from '../errors.ts';
import { encodeGoJson } from './go-json.ts';
import { goTextError } from './go-replies.ts';
import type { ProfileRateLimits } from './rate-limit.ts';
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

/** llamactl's documented API (Go): `{"error": "<code>", "details": "…"}`. */
const llamactl: RestProfile = {
  id: 'llamactl',
  description: 'llamactl instance manager API',
  encodeJson: (value) => JSON.stringify(value),
  jsonContentType: 'application/json',
  statusFor: (code) => httpStatusByCode[code],
  error: (status, message, code) => jsonError(status, { error: code.toLowerCase(), details: message }),
  notFound: (path) => jsonError(404, { error: 'not_found', details: `no route for ${path}` }),
  methodNotAllowed: (allowed) => ({ ...jsonError(405, { error: 'method_not_allowed', details: `allowed: ${allowed.join(', ')}` }), headers: { allow: allowed.join(', ') } }),
  invalidBody: (reason) => jsonError(400, { error: 'invalid_request', details: reason }),
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

/** The five legacy APIs backplane serves, in the order they claim unknown routes on a shared listener. */
export const restProfiles: readonly RestProfile[] = [
  ilabUi,
  llamactl,
  mlserve,
  fastApi('training-manager', 'Model Training Manager (FastAPI)', 422),
  fastApi('tinker', 'tinkercloud Tinker-style training API (FastAPI)', 400),
];
