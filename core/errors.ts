/**
 * backplane's one error vocabulary. Domain errors carry a stable `code` that becomes
 * `extensions.code` on GraphQL and, through each REST profile, the legacy API's own status and
 * body. Anything that is not a {@link BackplaneError} is unexpected and gets masked.
 *
 * @see docs/errors.md
 */

/** Codes shared by GraphQL (`extensions.code`) and the REST profiles. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'BACKEND_ERROR'
  | 'INTERNAL_SERVER_ERROR';

/** HTTP status for each code; REST profiles may override per route. */
export const httpStatusByCode: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  BACKEND_ERROR: 502,
  INTERNAL_SERVER_ERROR: 500,
};

export interface BackplaneErrorOptions {
  cause?: unknown;
  /** Machine-readable facts that are safe to show to a client (never stderr or secrets). */
  details?: Record<string, unknown>;
}

/** Base class of every expected error. The message is shown to clients as is. */
export class BackplaneError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: BackplaneErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }

  get status(): number {
    return httpStatusByCode[this.code];
  }
}

export class InputError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('BAD_USER_INPUT', message, options);
  }
}

export class AuthenticationError extends BackplaneError {
  constructor(message = 'Authentication required', options?: BackplaneErrorOptions) {
    super('UNAUTHENTICATED', message, options);
  }
}

export class NotAllowedError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('FORBIDDEN', message, options);
  }
}

export class NotFoundError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('NOT_FOUND', message, options);
  }
}

export class ConflictError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('CONFLICT', message, options);
  }
}

export class PayloadTooLargeError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('PAYLOAD_TOO_LARGE', message, options);
  }
}

/** A backend or plugin that is missing, degraded or not started yet. */
export class UnavailableError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('UNAVAILABLE', message, options);
  }
}

export class TimeoutError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('TIMEOUT', message, options);
  }
}

/** A backend answered, but with a failure (non-zero exit, HTTP error). */
export class BackendError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('BACKEND_ERROR', message, options);
  }
}

export function isBackplaneError(error: unknown): error is BackplaneError {
  return error instanceof BackplaneError;
}

/** Kernel and contract errors: coded constants, each documented in docs/errors.md. */
export const kernelErrors = {
  BP_ERR_PLUGIN_INVALID: 'Plugin manifest is invalid',
  BP_ERR_PLUGIN_DUPLICATE: 'Two plugins share one id',
  BP_ERR_PLUGIN_DEPENDENCY_MISSING: 'A plugin depends on a plugin that is not enabled',
  BP_ERR_PLUGIN_DEPENDENCY_CYCLE: 'Plugin dependencies form a cycle',
  BP_ERR_PLUGIN_CONTRACT: 'Plugin was written for another contract version',
  BP_ERR_PLUGIN_LOAD: 'Plugin module could not be loaded',
  BP_ERR_PLUGIN_INIT_TIMEOUT: 'Plugin init did not finish in time',
  BP_ERR_PLUGIN_INIT_FAILED: 'Plugin init failed',
  BP_ERR_REST_ROUTE_CONFLICT: 'Two REST routes claim the same method and path',
  BP_ERR_REST_OPERATION: 'A REST route names an operation that does not exist or does not validate',
  BP_ERR_SCHEMA: 'The GraphQL schema could not be built',
  BP_ERR_INSECURE_BIND: 'Refusing to listen on a non-loopback address without API keys',
  BP_ERR_CONFIG: 'Configuration is invalid',
} as const;

export type KernelErrorCode = keyof typeof kernelErrors;

/** A boot or contract failure: fatal unless the failure policy says otherwise. */
export class KernelError extends Error {
  readonly code: KernelErrorCode;

  constructor(code: KernelErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'KernelError';
    this.code = code;
  }
}

/** Short human text for an unknown thrown value, for logs and job failure reasons. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
