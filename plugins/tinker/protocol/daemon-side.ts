/**
 * The daemon's end of bwp/1: {@link listenForWorker} opens the Unix socket a spawned worker
 * connects to, and {@link WorkerConnection} sends it requests and surfaces its notifications.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { RpcErrorCodes, WorkerRpcError } from './errors.ts';
import { JsonRpcPeer, type RequestOptions } from './peer.ts';
import { helloSchema, logSchema, progressSchema } from './schemas.ts';
import type { Hello, LogMessage, MethodName, MethodParamsInput, MethodResults, Progress, RpcId, RpcNotification } from './types.ts';

/** Events of a {@link WorkerConnection}. */
export interface WorkerConnectionEvents {
  /** The worker's `hello` (valid bwp/1). Emitted once. */
  hello: [hello: Hello];
  /** A `heartbeat`; {@link WorkerConnection.lastSeenAt} is updated on every message too. */
  heartbeat: [];
  /** A `progress` notification (also passed to the request's own `onProgress`). */
  progress: [progress: Progress];
  /** A `log` notification. */
  log: [log: LogMessage];
  /** Any other notification, and malformed known ones. */
  notification: [notification: RpcNotification];
  /** The connection closed; every pending request was rejected with `error` (`-32001`, UNAVAILABLE). */
  close: [error: WorkerRpcError];
}

/** Options of {@link WorkerConnection}. */
export interface WorkerConnectionOptions {
  /** Line limit both ways; defaults to {@link DEFAULT_MAX_LINE_BYTES}. */
  maxLineBytes?: number;
}

/**
 * A connected worker. Requests may run concurrently; the worker executes one model's ops in
 * arrival order, so send them in `seq_id` order. Listen for `close` to learn the worker died.
 */
export class WorkerConnection extends EventEmitter<WorkerConnectionEvents> {
  readonly #peer: JsonRpcPeer;
  #hello: Hello | undefined;
  #lastSeenAt = Date.now();
  /** Resolves (never rejects) with the close reason once the connection is gone. */
  readonly closed: Promise<WorkerRpcError>;

  constructor(socket: Socket, options: WorkerConnectionOptions = {}) {
    super();
    let resolveClosed!: (error: WorkerRpcError) => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    this.#peer = new JsonRpcPeer(
      socket,
      {
        onRequest: (request) =>
          this.#peer.respondError(request.id, {
            code: RpcErrorCodes.methodNotFound,
            message: `the daemon serves no methods (got ${request.method})`,
            data: { category: 'user', retryable: false },
          }),
        onNotification: (notification) => this.#notification(notification),
        onClose: (error) => {
          resolveClosed(error);
          this.emit('close', error);
        },
      },
      options,
    );
    socket.on('data', () => (this.#lastSeenAt = Date.now()));
  }

  /** The worker's hello, once received. */
  get hello(): Hello | undefined {
    return this.#hello;
  }

  /** `Date.now()` of the last line from the worker (heartbeats included). */
  get lastSeenAt(): number {
    return this.#lastSeenAt;
  }

  /** Whether the connection has closed. */
  get isClosed(): boolean {
    return this.#peer.closed;
  }

  /** Requests awaiting an answer. */
  get pendingCount(): number {
    return this.#peer.pendingCount;
  }

  /**
   * Calls a worker method. Resolves with its result; rejects with a {@link WorkerRpcError}:
   * the worker's error, `-32800` when `signal` aborts (a `cancel` is sent; the worker may
   * still be winding down), `-32002` on `timeoutMs`, `-32001` when the connection closes.
   */
  request<M extends MethodName>(method: M, params: MethodParamsInput[M], options?: RequestOptions): Promise<MethodResults[M]>;
  request(method: string, params: unknown, options?: RequestOptions): Promise<unknown>;
  request(method: string, params: unknown, options: RequestOptions = {}): Promise<unknown> {
    return this.#peer.request(method, params, options);
  }

  /**
   * Claims a request the worker was running for an earlier daemon (listed in its hello's
   * `in_flight`, after it reconnected): resolves or rejects with its answer as
   * {@link request} would, with its progress (what arrived before this call first).
   */
  adopt<M extends MethodName>(id: RpcId, options?: RequestOptions): Promise<MethodResults[M]>;
  adopt(id: RpcId, options: RequestOptions = {}): Promise<unknown> {
    return this.#peer.adopt(id, options);
  }

  /** Sends a notification to the worker (bwp/1 defines none daemon → worker; for extensions). */
  notify(method: string, params?: unknown): void {
    this.#peer.notify(method, params);
  }

  /** Closes the socket (no `shutdown` request: send that first for a graceful stop). */
  close(reason?: string): void {
    this.#peer.close(reason);
  }

  #notification(notification: RpcNotification): void {
    switch (notification.method) {
      case 'hello': {
        const parsed = helloSchema.safeParse(notification.params);
        if (!parsed.success) {
          this.#peer.destroy(`invalid hello: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
          return;
        }
        if (this.#hello) return;
        this.#hello = parsed.data;
        // Answers owed from before a daemon restart may follow at once: keep them for adopt().
        if (parsed.data.in_flight) this.#peer.expectOrphans(parsed.data.in_flight.map((r) => r.id));
        this.emit('hello', parsed.data);
        return;
      }
      case 'heartbeat':
        this.emit('heartbeat');
        return;
      case 'progress': {
        const parsed = progressSchema.safeParse(notification.params);
        if (parsed.success) this.emit('progress', parsed.data);
        else this.emit('notification', notification);
        return;
      }
      case 'log': {
        const parsed = logSchema.safeParse(notification.params);
        if (parsed.success) this.emit('log', parsed.data);
        else this.emit('notification', notification);
        return;
      }
      default:
        this.emit('notification', notification);
    }
  }
}

/** Options of {@link listenForWorker}. */
export interface ListenForWorkerOptions extends WorkerConnectionOptions {
  /** How long to wait for a connection and its `hello` (default 30 s). */
  helloTimeoutMs?: number;
  /** Abort the wait, e.g. when the spawned worker exits first. */
  signal?: AbortSignal;
  /** Called once the socket listens: spawn the worker here. */
  onListening?: () => void;
}

/**
 * Listens on the Unix socket `socketPath` (a stale file there is removed first; keep the path
 * ≤ 100 bytes) and resolves with the first connection that sends a valid `hello`. The listener
 * then closes and the socket file is removed; later connections are refused. Rejects with a
 * `-32002` (TIMEOUT) error after `helloTimeoutMs`, or `-32800` on `signal`.
 */
export async function listenForWorker(socketPath: string, options: ListenForWorkerOptions = {}): Promise<WorkerConnection> {
  if (Buffer.byteLength(socketPath) > 100) {
    throw new WorkerRpcError(RpcErrorCodes.invalidParams, `socket path is ${Buffer.byteLength(socketPath)} bytes; Unix sockets allow about 100`);
  }
  await rm(socketPath, { force: true });
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return new Promise<WorkerConnection>((resolve, reject) => {
    const candidates = new Set<WorkerConnection>();
    let settled = false;
    const finish = (error: Error | undefined, connection?: WorkerConnection) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      server.close();
      void rm(socketPath, { force: true });
      for (const c of candidates) if (c !== connection) c.close('another worker connected first');
      if (error) reject(error);
      else resolve(connection!);
    };
    const timeoutMs = options.helloTimeoutMs ?? 30_000;
    const timer = setTimeout(
      () => finish(new WorkerRpcError(RpcErrorCodes.timeout, `no worker said hello on ${socketPath} within ${timeoutMs} ms`, { retryable: true })),
      timeoutMs,
    );
    const onAbort = () => finish(new WorkerRpcError(RpcErrorCodes.cancelled, `stopped waiting for a worker on ${socketPath}`));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    server.on('connection', (socket) => {
      const connection = new WorkerConnection(socket, options);
      candidates.add(connection);
      connection.once('hello', () => finish(undefined, connection));
      // One socket path per worker: a connection lost before hello (bad hello, crash) fails the wait.
      connection.once('close', (error) => {
        candidates.delete(connection);
        if (!connection.hello) finish(error);
      });
    });
    server.on('error', (error) => finish(error));
    options.onListening?.();
  });
}
