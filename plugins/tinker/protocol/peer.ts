/**
 * A JSON-RPC 2.0 peer over one NDJSON socket, the common core of {@link WorkerConnection}
 * (daemon side) and {@link serveWorker} (worker side). It sends requests and matches their
 * responses, routes `progress` notifications to the request they name, hands incoming requests
 * and notifications to its owner, and fails every pending request when the socket closes.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { cancelledError, RpcErrorCodes, WorkerRpcError } from './errors.ts';
import { DEFAULT_MAX_LINE_BYTES, encodeLine, FramingError, NdjsonDecoder } from './framing.ts';
import type { Progress, RpcErrorObject, RpcId, RpcNotification, RpcRequest } from './types.ts';

/** Options of one outgoing request. */
export interface RequestOptions {
  /** Aborting sends `cancel{id}` to the peer and rejects at once with a `-32800` error. */
  signal?: AbortSignal;
  /** Called with each `progress` notification whose `id` is this request's id. */
  onProgress?: (progress: Progress) => void;
  /** Gives up after this long: sends `cancel{id}` and rejects with a `-32002` (TIMEOUT) error. */
  timeoutMs?: number;
}

/** What a {@link JsonRpcPeer} tells its owner. */
export interface PeerHandlers {
  /** An incoming request; answer with {@link JsonRpcPeer.respond} / {@link JsonRpcPeer.respondError}. */
  onRequest?: (request: RpcRequest) => void;
  /** An incoming notification (`progress` ones too, after routing them to their request). */
  onNotification?: (notification: RpcNotification) => void;
  /** The connection is gone; `error` says why (also what pending requests were rejected with). */
  onClose?: (error: WorkerRpcError) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  onProgress?: (progress: Progress) => void;
  cleanup: () => void;
}

/** One end of a bwp/1 connection. */
export class JsonRpcPeer {
  readonly #socket: Socket;
  readonly #handlers: PeerHandlers;
  readonly #maxLineBytes: number;
  readonly #pending = new Map<RpcId, Pending>();
  #nextId = 1;
  /** Requests a reconnected peer still owes answers for (hello `in_flight`), with what arrived before {@link adopt}. */
  readonly #orphans = new Map<RpcId, { progress: Progress[]; final?: Record<string, unknown> }>();
  #closeError: WorkerRpcError | undefined;
  #closeReason: string | undefined;

  constructor(socket: Socket, handlers: PeerHandlers, options: { maxLineBytes?: number } = {}) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const decoder = new NdjsonDecoder({
      maxLineBytes: this.#maxLineBytes,
      onMessage: (message) => this.#receive(message),
      onError: (error) => this.#framingFailed(error),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', (error) => {
      this.#closeReason ??= error.message;
    });
    socket.on('close', () => this.#closed());
  }

  /** Whether the connection has closed (requests now reject at once). */
  get closed(): boolean {
    return this.#closeError !== undefined;
  }

  /** Number of requests awaiting a response. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sends a request; resolves with its `result`, rejects with a {@link WorkerRpcError}. */
  request(method: string, params: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (this.#closeError) return Promise.reject(this.#closeError);
    if (options.signal?.aborted) return Promise.reject(cancelledError('cancelled before it was sent'));
    const id = this.#nextId++;
    let line: string;
    try {
      line = encodeLine({ jsonrpc: '2.0', id, method, params }, this.#maxLineBytes);
    } catch (error) {
      return Promise.reject(new WorkerRpcError(RpcErrorCodes.invalidParams, `${method} request too large: ${(error as Error).message}`));
    }
    const answer = this.#track(id, method, options);
    this.#socket.write(line);
    return answer;
  }

  /**
   * Declares requests a reconnected peer has in flight from an earlier connection (its hello's
   * `in_flight`): their progress and answers are kept until {@link adopt} claims them, and
   * this end's own request ids skip past theirs.
   */
  expectOrphans(ids: readonly RpcId[]): void {
    for (const id of ids) {
      if (!this.#orphans.has(id)) this.#orphans.set(id, { progress: [] });
      if (typeof id === 'number' && id >= this.#nextId) this.#nextId = id + 1;
    }
  }

  /**
   * Awaits the answer to request `id`, sent on an earlier connection (see {@link expectOrphans}),
   * as if it had been sent here: progress kept so far is replayed to `onProgress` first;
   * aborting `signal` sends `cancel{id}`.
   */
  adopt(id: RpcId, options: RequestOptions = {}): Promise<unknown> {
    if (this.#closeError) return Promise.reject(this.#closeError);
    const orphan = this.#orphans.get(id);
    this.#orphans.delete(id);
    if (typeof id === 'number' && id >= this.#nextId) this.#nextId = id + 1;
    const answer = this.#track(id, 'adopted request', options);
    for (const progress of orphan?.progress ?? []) options.onProgress?.(progress);
    if (orphan?.final) this.#receive(orphan.final);
    return answer;
  }

  #track(id: RpcId, method: string, options: RequestOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => this.#giveUp(id, cancelledError());
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.#pending.set(id, { resolve, reject, onProgress: options.onProgress, cleanup });
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () => this.#giveUp(id, new WorkerRpcError(RpcErrorCodes.timeout, `${method} timed out after ${options.timeoutMs} ms`, { retryable: true })),
          options.timeoutMs,
        );
      }
    });
  }

  /** Sends a notification (dropped silently once closed). */
  notify(method: string, params: unknown = {}): void {
    if (this.#closeError) return;
    this.#socket.write(encodeLine({ jsonrpc: '2.0', method, params }, this.#maxLineBytes));
  }

  /** Answers request `id` with `result`; a result over the line limit becomes a -32000 error. */
  respond(id: RpcId, result: unknown): void {
    if (this.#closeError) return;
    let line: string;
    try {
      line = encodeLine({ jsonrpc: '2.0', id, result }, this.#maxLineBytes);
    } catch (error) {
      return this.respondError(id, { code: RpcErrorCodes.serverError, message: `result too large: ${(error as Error).message}`, data: { category: 'server', retryable: false } });
    }
    this.#socket.write(line);
  }

  /** Answers request `id` (null when it could not be read) with an error. */
  respondError(id: RpcId | null, error: RpcErrorObject): void {
    if (this.#closeError) return;
    this.#socket.write(encodeLine({ jsonrpc: '2.0', id, error }, this.#maxLineBytes));
  }

  /** Ends the connection (after flushing what was written); pending requests fail. */
  close(reason = 'connection closed locally'): void {
    this.#closeReason ??= reason;
    this.#socket.end();
    // A peer that never closes its side must not keep us half-open.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  /** Drops the connection at once. */
  destroy(reason = 'connection destroyed locally'): void {
    this.#closeReason ??= reason;
    this.#socket.destroy();
  }

  #giveUp(id: RpcId, error: WorkerRpcError): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    pending.cleanup();
    pending.reject(error);
    // Best effort: tell the peer to stop; its answer (and the original's) is ignored.
    if (!this.#closeError) this.request('cancel', { id }).catch(() => {});
  }

  #receive(message: Record<string, unknown>): void {
    if (message.jsonrpc !== '2.0') return this.respondError(null, invalid('missing "jsonrpc":"2.0"'));
    const { id, method } = message;
    const hasId = typeof id === 'string' || typeof id === 'number';
    if (typeof method === 'string') {
      if (hasId) return this.#handlers.onRequest?.(message as unknown as RpcRequest);
      if (id !== undefined && id !== null) return this.respondError(null, invalid('id must be a string or a number'));
      const notification = message as unknown as RpcNotification;
      if (method === 'progress') this.#routeProgress(notification.params);
      return this.#handlers.onNotification?.(notification);
    }
    if ('result' in message || 'error' in message) {
      if (!hasId) {
        // An error about something unreadable we sent: report it, nothing to match.
        if (message.error) this.#closeReason = `peer error: ${(message.error as { message?: string }).message ?? 'unknown'}`;
        return;
      }
      const pending = this.#pending.get(id);
      if (!pending) {
        // An answer owed from an earlier connection waits for adopt(); others are late answers to cancelled or timed-out requests.
        const orphan = this.#orphans.get(id);
        if (orphan) orphan.final = message;
        return;
      }
      this.#pending.delete(id);
      pending.cleanup();
      if ('error' in message && message.error) pending.reject(WorkerRpcError.fromRpcError(message.error as RpcErrorObject));
      else pending.resolve(message.result);
      return;
    }
    this.respondError(hasId ? id : null, invalid('neither a request, a notification nor a response'));
  }

  #routeProgress(params: unknown): void {
    if (typeof params !== 'object' || params === null) return;
    const progressId = (params as { id?: unknown }).id;
    if (typeof progressId !== 'string' && typeof progressId !== 'number') return;
    const pending = this.#pending.get(progressId);
    if (pending) return pending.onProgress?.(params as Progress);
    const orphan = this.#orphans.get(progressId);
    if (orphan && orphan.progress.push(params as Progress) > 10_000) orphan.progress.shift();
  }

  #framingFailed(error: FramingError): void {
    this.#closeReason = `peer sent an unreadable line: ${error.message}`;
    this.respondError(null, { code: RpcErrorCodes.parseError, message: `${error.message}; closing`, data: { category: 'server', retryable: false } });
    this.close(this.#closeReason);
  }

  #closed(): void {
    if (this.#closeError) return;
    const error = new WorkerRpcError(RpcErrorCodes.connectionClosed, `worker connection closed: ${this.#closeReason ?? 'the peer hung up'}`, {
      category: 'server',
      retryable: true,
    });
    this.#closeError = error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      p.cleanup();
      p.reject(error);
    }
    this.#handlers.onClose?.(error);
  }
}

function invalid(message: string): RpcErrorObject {
  return { code: RpcErrorCodes.invalidRequest, message: `invalid JSON-RPC message: ${message}`, data: { category: 'user', retryable: false } };
}
