/**
 * backplane's error vocabulary. The domain errors (GraphQL `extensions.code`, REST status per
 * profile) are the plugin contract's, defined in `@backplane/plugin-api` and re-exported here;
 * the kernel's boot errors are core's own.
 *
 * @see docs/errors.md
 */
export {
  BACKPLANE_ERROR_BRAND,
  BackplaneError,
  InputError,
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ConflictError,
  PayloadTooLargeError,
  UnavailableError,
  TimeoutError,
  BackendError,
  httpStatusByCode,
  isBackplaneError,
  hasErrorCode,
  type BackplaneErrorOptions,
  type ErrorCode,
} from '../packages/plugin-api/src/errors.ts';

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
