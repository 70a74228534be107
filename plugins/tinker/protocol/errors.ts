/**
 * bwp/1 error codes and the one error class both ends use. A {@link WorkerRpcError} is a
 * backplane coded error, so a daemon can let it through to GraphQL/REST as is:
 * category `user` → `BAD_USER_INPUT`, a closed connection → `UNAVAILABLE`, a timeout →
 * `TIMEOUT`, a cancel → `CONFLICT`, anything else → `BACKEND_ERROR`.
 *
 * @module
 */
import { BackplaneError, isBackplaneError, type ErrorCode } from '../../../core/plugin-api.ts';
import type { RpcErrorData, RpcErrorObject } from './types.ts';

/** JSON-RPC error codes used by bwp/1. */
export const RpcErrorCodes = {
  /** A line that is not JSON, or longer than the line limit. The sender then closes. */
  parseError: -32700,
  /** JSON that is not a JSON-RPC 2.0 request. */
  invalidRequest: -32600,
  /** Unknown method (category `user`). */
  methodNotFound: -32601,
  /** Params failed validation, unknown model id, bad checkpoint… (category `user`). */
  invalidParams: -32602,
  /** The worker failed (category `server`). */
  serverError: -32000,
  /** Local only, never on the wire: the connection closed with the request pending. */
  connectionClosed: -32001,
  /** Local only: the request's `timeoutMs` ran out (a `cancel` was sent). */
  timeout: -32002,
  /** The request was cancelled (by `cancel{id}` or the caller's AbortSignal). */
  cancelled: -32800,
} as const;

function backplaneCode(rpcCode: number, category: 'user' | 'server'): ErrorCode {
  if (rpcCode === RpcErrorCodes.connectionClosed) return 'UNAVAILABLE';
  if (rpcCode === RpcErrorCodes.timeout) return 'TIMEOUT';
  if (rpcCode === RpcErrorCodes.cancelled) return 'CONFLICT';
  return category === 'user' ? 'BAD_USER_INPUT' : 'BACKEND_ERROR';
}

/** Options of {@link WorkerRpcError}. */
export interface WorkerRpcErrorOptions {
  /** Defaults to `user` for -32601/-32602, else `server`. */
  category?: 'user' | 'server';
  retryable?: boolean;
  /** Extra client-safe `error.data` members. */
  data?: Record<string, unknown>;
  cause?: unknown;
}

/** A bwp/1 error: thrown by worker method handlers, and what daemon-side requests reject with. */
export class WorkerRpcError extends BackplaneError {
  /** The JSON-RPC `error.code`. */
  readonly rpcCode: number;
  /** `error.data.category`. */
  readonly category: 'user' | 'server';
  /** `error.data.retryable`. */
  readonly retryable: boolean;
  /** Extra `error.data` members (beyond category/retryable). */
  readonly data: Record<string, unknown>;

  constructor(rpcCode: number, message: string, options: WorkerRpcErrorOptions = {}) {
    const category =
      options.category ?? (rpcCode === RpcErrorCodes.invalidParams || rpcCode === RpcErrorCodes.methodNotFound ? 'user' : 'server');
    super(backplaneCode(rpcCode, category), message, {
      cause: options.cause,
      details: { rpcCode, category, ...(options.data ?? {}) },
    });
    this.rpcCode = rpcCode;
    this.category = category;
    this.retryable = options.retryable ?? false;
    this.data = options.data ?? {};
  }

  /** The wire form of this error. */
  toRpcError(): RpcErrorObject {
    const data: RpcErrorData = { ...this.data, category: this.category, retryable: this.retryable };
    return { code: this.rpcCode, message: this.message, data };
  }

  /** Rebuilds an error from a response's `error` member. */
  static fromRpcError(error: RpcErrorObject): WorkerRpcError {
    const { category, retryable, ...rest } = (error.data ?? {}) as Partial<RpcErrorData>;
    return new WorkerRpcError(error.code, error.message, {
      category: category === 'user' || category === 'server' ? category : undefined,
      retryable: retryable === true,
      data: rest,
    });
  }
}

/** A `-32602` user error: bad params, unknown model, unreadable checkpoint. */
export function userError(message: string, data?: Record<string, unknown>): WorkerRpcError {
  return new WorkerRpcError(RpcErrorCodes.invalidParams, message, { category: 'user', data });
}

/** The `-32800` error a cancelled request ends with. */
export function cancelledError(message = 'cancelled'): WorkerRpcError {
  return new WorkerRpcError(RpcErrorCodes.cancelled, message, { category: 'user' });
}

/**
 * The wire error for anything a handler threw: a WorkerRpcError as is; a zod error or a
 * backplane user-ish error (BAD_USER_INPUT, NOT_FOUND, CONFLICT, PAYLOAD_TOO_LARGE) as -32602;
 * anything else as -32000 with its message.
 */
export function toRpcError(error: unknown): RpcErrorObject {
  if (error instanceof WorkerRpcError) return error.toRpcError();
  if (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ZodError') {
    const issues = (error as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues ?? [];
    const text = issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`).join('; ');
    return { code: RpcErrorCodes.invalidParams, message: `invalid params: ${text}`, data: { category: 'user', retryable: false } };
  }
  if (isBackplaneError(error) && ['BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE'].includes(error.code)) {
    return { code: RpcErrorCodes.invalidParams, message: error.message, data: { category: 'user', retryable: false } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: RpcErrorCodes.serverError, message, data: { category: 'server', retryable: false } };
}
