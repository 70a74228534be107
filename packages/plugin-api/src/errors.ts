/**
 * backplane's one error vocabulary. Domain errors carry a stable `code` that becomes
 * `extensions.code` on GraphQL and, through each REST profile, the legacy API's own status and
 * body. Anything that is not a {@link BackplaneError} is unexpected and gets masked.
 *
 * The daemon recognises these errors by a brand ({@link BACKPLANE_ERROR_BRAND}, a registered
 * symbol) rather than by `instanceof`, so a plugin that bundles its own copy of this package
 * still gets its coded messages through and its `UnavailableError` still reports `degraded`.
 *
 * @see docs/errors.md
 * @module
 */

/** Codes shared by GraphQL (`extensions.code`) and the REST profiles. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
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
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  BACKEND_ERROR: 502,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * The brand every {@link BackplaneError} carries (value `true`). `Symbol.for` makes it the same
 * symbol in every copy of this package and every realm.
 */
export const BACKPLANE_ERROR_BRAND: unique symbol = Symbol.for('backplane.error');

/** Options accepted by every error constructor. */
export interface BackplaneErrorOptions {
  /** The underlying error, kept for logs (never shown to clients). */
  cause?: unknown;
  /** Machine-readable facts that are safe to show to a client (never stderr or secrets). */
  details?: Record<string, unknown>;
}

/** Base class of every expected error. The message is shown to clients as is. */
export class BackplaneError extends Error {
  /** The brand the daemon recognises the error by; see {@link isBackplaneError}. */
  readonly [BACKPLANE_ERROR_BRAND] = true as const;
  /** The stable code (`extensions.code` on GraphQL). */
  readonly code: ErrorCode;
  /** Client-safe facts, shown as `extensions.details`. */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: BackplaneErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }

  /** The default HTTP status of {@link code}. */
  get status(): number {
    return httpStatusByCode[this.code] ?? 500;
  }
}

/** Invalid argument, body or path value (`BAD_USER_INPUT`, 400). */
export class InputError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('BAD_USER_INPUT', message, options);
  }
}

/** API keys are configured and none or a wrong one was sent (`UNAUTHENTICATED`, 401). */
export class AuthenticationError extends BackplaneError {
  constructor(message = 'Authentication required', options?: BackplaneErrorOptions) {
    super('UNAUTHENTICATED', message, options);
  }
}

/** The caller may not do this, e.g. the key lacks a scope (`FORBIDDEN`, 403). */
export class NotAllowedError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('FORBIDDEN', message, options);
  }
}

/** An unknown job, model, checkpoint or server (`NOT_FOUND`, 404). */
export class NotFoundError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('NOT_FOUND', message, options);
  }
}

/** The request clashes with current state: an ended job, a name in use (`CONFLICT`, 409). */
export class ConflictError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('CONFLICT', message, options);
  }
}

/** A body over the configured limit (`PAYLOAD_TOO_LARGE`, 413). */
export class PayloadTooLargeError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('PAYLOAD_TOO_LARGE', message, options);
  }
}

/**
 * A backend or plugin that is missing, degraded or not started yet (`UNAVAILABLE`, 503). Thrown
 * from `init`, it makes the plugin `degraded` rather than `failed`.
 */
export class UnavailableError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('UNAVAILABLE', message, options);
  }
}

/** A wait ran out: a GPU lease, a synchronous evaluation (`TIMEOUT`, 504). */
export class TimeoutError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('TIMEOUT', message, options);
  }
}

/** A backend answered, but with a failure: non-zero exit, HTTP error (`BACKEND_ERROR`, 502). */
export class BackendError extends BackplaneError {
  constructor(message: string, options?: BackplaneErrorOptions) {
    super('BACKEND_ERROR', message, options);
  }
}

/**
 * Whether `error` is a backplane domain error, from this copy of the contract or any other:
 * it carries {@link BACKPLANE_ERROR_BRAND} and a string `code`.
 */
export function isBackplaneError(error: unknown): error is BackplaneError {
  if (typeof error !== 'object' || error === null) return false;
  const branded = error as { [BACKPLANE_ERROR_BRAND]?: unknown; code?: unknown; message?: unknown };
  return branded[BACKPLANE_ERROR_BRAND] === true && typeof branded.code === 'string' && typeof branded.message === 'string';
}

/**
 * Whether `error` is a backplane error with `code`, e.g. `hasErrorCode(e, 'CONFLICT')` in place
 * of `e instanceof ConflictError`, which misses errors from another copy of the contract.
 */
export function hasErrorCode(error: unknown, code: ErrorCode): error is BackplaneError {
  return isBackplaneError(error) && error.code === code;
}
