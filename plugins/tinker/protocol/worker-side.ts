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
  /** Aborted by `cancel{id}`, `shutdown` or a lost connection (with `reconnect`: once reconnecting gave up): stop and throw {@link cancelledError}. */
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
  /**
   * Opt-in: when the connection is lost while requests run (the daemon restarted), keep
   * working and reconnect to the same socket for up to `timeoutMs`, then deliver what was
   * buffered (see {@link serveWorker}). Off by default: the worker then ends on disconnect.
   */
  reconnect?: { timeoutMs: number };
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
 *
 * With `reconnect`, a lost connection does not stop requests in flight: the worker keeps
 * working, buffers their progress, logs and answers, retries the same socket for up to
 * `reconnect.timeoutMs`, says hello again with `in_flight` (the requests it still owes answers
 * for), then delivers the buffer. Without work in flight it ends as without `reconnect`.
 */
export async function serveWorker(options: ServeWorkerOptions): Promise<WorkerServer> {
  const socketPath = options.socketPath ?? process.env.BACKPLANE_WORKER_SOCKET;
  if (!socketPath) throw new Error('BACKPLANE_WORKER_SOCKET is not set');
  const reconnectMs = options.reconnect?.timeoutMs ?? 0;
  const inFlight = new Map<RpcId, AbortController>();
  /** Requests not answered on a live connection yet (running, or answered while disconnected), by id. */
  const unanswered = new Map<RpcId, MethodName>();
  /** The last answers written: a daemon killed as they were written never read them, so a reconnect sends them again. */
  const recent: Array<{ id: RpcId; method: MethodName; send: (p: JsonRpcPeer) => void; at: number }> = [];
  /** What waits for the next connection; notifications may be dropped (oldest first) past the limit, answers never. */
  const backlog: Array<{ answer?: { id: RpcId; method: MethodName }; send: (p: JsonRpcPeer) => void }> = [];
  let notificationsQueued = 0;
  let resolveDone!: WorkerServer['done'] extends Promise<infer T> ? (value: T) => void : never;
  const done: WorkerServer['done'] = new Promise((resolve) => (resolveDone = resolve));
  let shutdownGrace: number | undefined;
  let closedLocally = false;
  let ended = false;
  let peer: JsonRpcPeer | undefined;

  const end = (message: string) => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    for (const controller of inFlight.values()) controller.abort();
    resolveDone(shutdownGrace === undefined ? { reason: 'disconnected', graceMs: 0, message } : { reason: 'shutdown', graceMs: shutdownGrace, message: 'shutdown requested' });
  };

  /** Sends on the live connection, or keeps it for the next one (when reconnecting is on). */
  const deliver = (send: (p: JsonRpcPeer) => void, answer?: { id: RpcId; method: MethodName }) => {
    if (peer && !peer.closed) {
      send(peer);
      if (answer) {
        unanswered.delete(answer.id);
        recent.push({ ...answer, send, at: Date.now() });
        if (recent.length > 8) recent.shift();
      }
      return;
    }
    if (reconnectMs <= 0 || ended) return;
    if (!answer && ++notificationsQueued > 10_000) {
      const oldest = backlog.findIndex((b) => !b.answer);
      backlog.splice(oldest, 1);
      notificationsQueued--;
    }
    backlog.push({ answer, send });
  };

  const sayHello = (p: JsonRpcPeer) =>
    p.notify('hello', {
      ...options.hello,
      protocol: PROTOCOL_VERSION,
      worker_id: options.hello.worker_id ?? process.env.BACKPLANE_WORKER_ID ?? `worker-${process.pid}`,
      pid: options.hello.pid ?? process.pid,
      ...(unanswered.size > 0 ? { in_flight: [...unanswered].map(([id, method]) => ({ id, method })) } : {}),
    });

  const attach = (socket: Socket) => {
    const current: JsonRpcPeer = new JsonRpcPeer(
      socket,
      {
        onRequest: (request) => void handle(request),
        onClose: (error) => {
          if (peer === current) peer = undefined;
          // Answers written just before the daemon died may never have been read: they are owed again.
          // Only those of the last few seconds: older ones were long read by a live daemon.
          const unread = recent.splice(0).filter((x) => Date.now() - x.at < 5000);
          const owed = inFlight.size > 0 || unanswered.size > 0 || unread.length > 0;
          if (shutdownGrace !== undefined || closedLocally || reconnectMs <= 0 || !owed) return end(error.message);
          for (const r of unread) {
            if (!unanswered.has(r.id)) unanswered.set(r.id, r.method);
            backlog.unshift({ answer: { id: r.id, method: r.method }, send: r.send });
          }
          void connectWithRetry(socketPath, reconnectMs).then(
            (next) => (ended || closedLocally ? next.destroy() : attach(next)),
            () => end(`${error.message}; no daemon on ${socketPath} within ${reconnectMs} ms`),
          );
        },
      },
      { maxLineBytes: options.maxLineBytes },
    );
    peer = current;
    sayHello(current);
    for (const item of backlog.splice(0)) deliver(item.send, item.answer);
    notificationsQueued = 0;
  };

  const log = (level: LogMessage['level'], msg: string) => deliver((p) => p.notify('log', { level, msg }));

  async function handle(request: RpcRequest): Promise<void> {
    const { id, method } = request;
    // Control answers go to whoever is connected now; they are not kept for a reconnect.
    const reply = (send: (p: JsonRpcPeer) => void) => {
      if (peer && !peer.closed) send(peer);
    };
    if (method === 'cancel') {
      const parsed = methodParamSchemas.cancel.safeParse(request.params ?? {});
      if (!parsed.success) return reply((p) => p.respondError(id, toRpcError(parsed.error)));
      inFlight.get(parsed.data.id)?.abort();
      return reply((p) => p.respond(id, {}));
    }
    if (method === 'ping') return reply((p) => p.respond(id, {}));
    const known = Object.hasOwn(methodParamSchemas, method);
    const handler = known ? (options.methods as Record<string, ((p: unknown, c: MethodContext) => unknown) | undefined>)[method] : undefined;
    if (!handler && method !== 'shutdown') {
      return reply((p) => p.respondError(id, { code: RpcErrorCodes.methodNotFound, message: `unknown method: ${method}`, data: { category: 'user', retryable: false } }));
    }
    const parsed = methodParamSchemas[method as MethodName].safeParse(request.params ?? {});
    if (!parsed.success) return reply((p) => p.respondError(id, toRpcError(parsed.error)));
    const controller = new AbortController();
    inFlight.set(id, controller);
    const owed = method === 'shutdown' ? undefined : { id, method: method as MethodName };
    if (owed) unanswered.set(id, owed.method);
    const context: MethodContext = {
      id,
      signal: controller.signal,
      progress: (progress) => deliver((p) => p.notify('progress', { ...progress, id })),
      log,
    };
    try {
      const result = handler ? await handler(parsed.data, context) : {};
      deliver((p) => p.respond(id, result ?? {}), owed);
    } catch (error) {
      // Whatever a cancelled handler throws (an AbortError, say) is reported as cancelled.
      const cancelled = error instanceof WorkerRpcError && error.rpcCode === RpcErrorCodes.cancelled;
      const rpcError = toRpcError(controller.signal.aborted && !cancelled ? cancelledError() : error);
      deliver((p) => p.respondError(id, rpcError), owed);
    } finally {
      inFlight.delete(id);
    }
    if (method === 'shutdown') {
      shutdownGrace = (parsed.data as MethodParams['shutdown']).grace_ms;
      for (const [otherId, other] of inFlight) if (otherId !== id) other.abort();
      if (peer) peer.close('shutdown requested');
      else end('shutdown requested');
    }
  }

  const heartbeat = setInterval(() => peer?.notify('heartbeat', {}), options.heartbeatMs ?? 5000);
  heartbeat.unref();
  try {
    attach(await connectWithRetry(socketPath, options.connectTimeoutMs ?? 10_000));
  } catch (error) {
    clearInterval(heartbeat);
    throw error;
  }

  return {
    notify: (method, params) => deliver((p) => p.notify(method, params)),
    close: () => {
      closedLocally = true;
      if (peer) peer.close('worker closed the connection');
      else end('worker closed the connection');
    },
    done,
  };
}
