/**
 * The worker's end of bwp/1: {@link serveWorker} connects to the daemon's socket, says
 * `hello`, sends heartbeats, validates each request's params and dispatches it to a handler,
 * and implements `cancel`, `shutdown` and `ping` itself.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import { cancelledError, RpcErrorCodes, toRpcError, WorkerRpcError } from './errors.ts';
import { JsonRpcPeer } from './peer.ts';
import { methodParamSchemas, PROTOCOL_VERSION } from './schemas.ts';
import type { Hello, LogMessage, MethodName, MethodParams, MethodResults, Progress, RpcId, RpcRequest } from './types.ts';

/** What a method handler gets besides its params. */
export interface MethodContext {
  /** The request's JSON-RPC id. */
  id: RpcId;
  /** Aborted by `cancel{id}`, `shutdown` or a lost connection: stop and throw {@link cancelledError}. */
  signal: AbortSignal;
  /** Sends a `progress` notification for this request (`id` is filled in). */
  progress: (progress: Omit<Progress, 'id'>) => void;
  /** Sends a `log` notification. */
  log: (level: LogMessage['level'], msg: string) => void;
}

/** Handlers for the methods a worker supports; a missing one answers `-32601`. */
export type WorkerMethods = {
  [M in Exclude<MethodName, 'cancel' | 'ping'>]?: (params: MethodParams[M], context: MethodContext) => MethodResults[M] | Promise<MethodResults[M]>;
};

/** Options of {@link serveWorker}. */
export interface ServeWorkerOptions {
  /** The daemon's socket; defaults to `$BACKPLANE_WORKER_SOCKET`. */
  socketPath?: string;
  /** `hello` params; `protocol`, `pid` and `worker_id` (`$BACKPLANE_WORKER_ID`) are filled in when absent. */
  hello: Omit<Hello, 'protocol' | 'pid' | 'worker_id'> & Partial<Pick<Hello, 'pid' | 'worker_id'>>;
  methods: WorkerMethods;
  /** Heartbeat period (default 5000 ms). */
  heartbeatMs?: number;
  /** Line limit both ways. */
  maxLineBytes?: number;
  /** How long to retry a refused/missing socket (default 10 s). */
  connectTimeoutMs?: number;
}

/** A running worker connection. */
export interface WorkerServer {
  /** Sends a notification (e.g. `log`). */
  notify(method: string, params?: unknown): void;
  /** Closes the connection; in-flight handlers see their signal abort. */
  close(): void;
  /** Resolves when the connection ends: `shutdown` requested, or the daemon went away. */
  done: Promise<{ reason: 'shutdown' | 'disconnected'; graceMs: number; message: string }>;
}

async function connectWithRetry(socketPath: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect(socketPath);
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(socket);
        });
        socket.once('error', reject);
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Connects to the daemon and serves bwp/1 until `shutdown` or disconnect. Requests run
 * concurrently (each handler is called as it arrives); a handler that needs ordering (one
 * model's training ops) must queue itself. Exiting the process is the caller's job, after `done`.
 */
export async function serveWorker(options: ServeWorkerOptions): Promise<WorkerServer> {
  const socketPath = options.socketPath ?? process.env.BACKPLANE_WORKER_SOCKET;
  if (!socketPath) throw new Error('BACKPLANE_WORKER_SOCKET is not set');
  const socket = await connectWithRetry(socketPath, options.connectTimeoutMs ?? 10_000);
  const inFlight = new Map<RpcId, AbortController>();
  let resolveDone!: WorkerServer['done'] extends Promise<infer T> ? (value: T) => void : never;
  const done: WorkerServer['done'] = new Promise((resolve) => (resolveDone = resolve));
  let shutdownGrace: number | undefined;

  const peer: JsonRpcPeer = new JsonRpcPeer(
    socket,
    {
      onRequest: (request) => void handle(request),
      onClose: (error) => {
        clearInterval(heartbeat);
        for (const controller of inFlight.values()) controller.abort();
        resolveDone(
          shutdownGrace === undefined
            ? { reason: 'disconnected', graceMs: 0, message: error.message }
            : { reason: 'shutdown', graceMs: shutdownGrace, message: 'shutdown requested' },
        );
      },
    },
    { maxLineBytes: options.maxLineBytes },
  );

  const log = (level: LogMessage['level'], msg: string) => peer.notify('log', { level, msg });

  async function handle(request: RpcRequest): Promise<void> {
    const { id, method } = request;
    if (method === 'cancel') {
      const parsed = methodParamSchemas.cancel.safeParse(request.params ?? {});
      if (!parsed.success) return peer.respondError(id, toRpcError(parsed.error));
      inFlight.get(parsed.data.id)?.abort();
      return peer.respond(id, {});
    }
    if (method === 'ping') return peer.respond(id, {});
    const known = Object.hasOwn(methodParamSchemas, method);
    const handler = known ? (options.methods as Record<string, ((p: unknown, c: MethodContext) => unknown) | undefined>)[method] : undefined;
    if (!handler && method !== 'shutdown') {
      return peer.respondError(id, { code: RpcErrorCodes.methodNotFound, message: `unknown method: ${method}`, data: { category: 'user', retryable: false } });
    }
    const parsed = methodParamSchemas[method as MethodName].safeParse(request.params ?? {});
    if (!parsed.success) return peer.respondError(id, toRpcError(parsed.error));
    const controller = new AbortController();
    inFlight.set(id, controller);
    const context: MethodContext = {
      id,
      signal: controller.signal,
      progress: (progress) => peer.notify('progress', { ...progress, id }),
      log,
    };
    try {
      const result = handler ? await handler(parsed.data, context) : {};
      peer.respond(id, result ?? {});
    } catch (error) {
      // Whatever a cancelled handler throws (an AbortError, say) is reported as cancelled.
      const cancelled = error instanceof WorkerRpcError && error.rpcCode === RpcErrorCodes.cancelled;
      peer.respondError(id, toRpcError(controller.signal.aborted && !cancelled ? cancelledError() : error));
    } finally {
      inFlight.delete(id);
    }
    if (method === 'shutdown') {
      shutdownGrace = (parsed.data as MethodParams['shutdown']).grace_ms;
      for (const [otherId, other] of inFlight) if (otherId !== id) other.abort();
      peer.close('shutdown requested');
    }
  }

  peer.notify('hello', {
    ...options.hello,
    protocol: PROTOCOL_VERSION,
    worker_id: options.hello.worker_id ?? process.env.BACKPLANE_WORKER_ID ?? `worker-${process.pid}`,
    pid: options.hello.pid ?? process.pid,
  });
  const heartbeat = setInterval(() => peer.notify('heartbeat', {}), options.heartbeatMs ?? 5000);
  heartbeat.unref();

  return {
    notify: (method, params) => peer.notify(method, params),
    close: () => peer.close('worker closed the connection'),
    done,
  };
}
