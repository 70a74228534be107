import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { UnavailableError, type GpuLease, type GpuService, type Logger } from '../../core/plugin-api.ts';
import { listenForWorker, type WorkerConnection } from './protocol/index.ts';
import type { Hello, MethodName, MethodParamsInput, MethodResults, RequestOptions } from './protocol/index.ts';

/** `starting` → `ready`; `restarting` after a crash (backoff); `stopped` on request. */
export type WorkerStatus = 'starting' | 'ready' | 'restarting' | 'stopped';

export interface WorkerProcessOptions {
  id: string;
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  /** Directory of the worker's Unix socket (short: sockets allow ~100 bytes). */
  socketDir: string;
  logger: Logger;
  gpus: GpuService;
  gpuCount: number;
  startTimeoutMs: number;
  heartbeatTimeoutMs: number;
  restartInitialMs: number;
  restartMaxMs: number;
  shutdownGraceMs: number;
}

export interface WorkerProcessEvents {
  /** The process died (or went silent and was killed); pending requests were rejected. */
  crash: [reason: string];
  /** Ready again after a crash: the owner re-creates what lived in it. */
  restarted: [];
}

/**
 * One supervised worker process speaking bwp/1: spawned with `node:child_process` in its own
 * process group (argv array, never a shell), reached over its own Unix socket, watched through
 * heartbeats, and restarted with exponential backoff when it dies. stdout/stderr are logs only.
 */
export class WorkerProcess extends EventEmitter<WorkerProcessEvents> {
  readonly id: string;
  readonly #options: WorkerProcessOptions;
  #status: WorkerStatus = 'starting';
  #child: ChildProcess | undefined;
  #connection: WorkerConnection | undefined;
  #lease: GpuLease | undefined;
  #ready: Promise<void>;
  #crashes = 0;
  #restarts = 0;
  #lastError: string | null = null;
  #startedAt: Date | null = null;
  #restartTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(options: WorkerProcessOptions) {
    super();
    this.id = options.id;
    this.#options = options;
    this.#ready = this.#start();
    // A first start that fails is reported to whoever awaits ready(); keep it from being unhandled.
    this.#ready.catch(() => undefined);
  }

  get status(): WorkerStatus {
    return this.#status;
  }
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }
  get hello(): Hello | undefined {
    return this.#connection?.hello;
  }
  get restarts(): number {
    return this.#restarts;
  }
  get lastError(): string | null {
    return this.#lastError;
  }
  get startedAt(): Date | null {
    return this.#startedAt;
  }
  get gpuIndices(): number[] {
    return this.#lease?.indices ?? [];
  }

  /** Resolves once the worker said hello (after a restart: once it is back). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Calls a method; rejects with UNAVAILABLE while the worker is down. */
  async request<M extends MethodName>(method: M, params: MethodParamsInput[M], options?: RequestOptions): Promise<MethodResults[M]> {
    const connection = this.#connection;
    if (this.#status !== 'ready' || !connection || connection.isClosed) throw new UnavailableError(`tinker worker ${this.id} is ${this.#status === 'ready' ? 'restarting' : this.#status}`);
    return connection.request(method, params, options);
  }

  /** Sends SIGKILL to the worker's process group (tests, a hung worker). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      this.#child?.kill(signal);
    }
  }

  /** `shutdown`, then SIGKILL of the process group after the grace; releases the GPU lease. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#status = 'stopped';
    clearTimeout(this.#restartTimer);
    clearInterval(this.#watchdog);
    const child = this.#child;
    const connection = this.#connection;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (connection && !connection.isClosed) {
        void connection.request('shutdown', { grace_ms: this.#options.shutdownGraceMs }, { timeoutMs: this.#options.shutdownGraceMs }).catch(() => undefined);
      }
      const timer = setTimeout(() => this.kill('SIGKILL'), this.#options.shutdownGraceMs);
      await exited;
      clearTimeout(timer);
    }
    connection?.close('worker stopped');
    await this.#releaseLease();
  }

  async #start(): Promise<void> {
    const o = this.#options;
    this.#status = this.#restarts === 0 ? 'starting' : 'restarting';
    if (o.gpuCount > 0 && !this.#lease) {
      this.#lease = await o.gpus.acquire({ count: o.gpuCount, holder: { kind: 'server', id: `tinker-${this.id}` }, wait: false }).catch((error: Error) => {
        throw new UnavailableError(`no GPU lease for tinker worker ${this.id} (${o.gpuCount} GPU${o.gpuCount === 1 ? '' : 's'} wanted): ${error.message}`);
      });
    }
    const socketPath = path.join(o.socketDir, `${this.id}.sock`);
    const abort = new AbortController();
    let child: ChildProcess | undefined;
    const connection = await listenForWorker(socketPath, {
      helloTimeoutMs: o.startTimeoutMs,
      signal: abort.signal,
      onListening: () => {
        child = spawn(o.command, [...o.args], {
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            ...o.env,
            BACKPLANE_WORKER_SOCKET: socketPath,
            BACKPLANE_WORKER_ID: this.id,
            ...(this.#lease ? { CUDA_VISIBLE_DEVICES: this.#lease.cudaVisibleDevices } : {}),
          },
        });
        this.#child = child;
        this.#pipeLogs(child);
        child.once('error', (error) => {
          this.#lastError = `cannot start ${o.command}: ${error.message}`;
          abort.abort();
        });
        child.once('exit', (code, signal) => {
          if (!this.#connection || this.#connection !== connection) {
            this.#lastError = `worker exited before saying hello (${signal ?? `exit code ${code}`})`;
            abort.abort();
          }
        });
      },
    }).catch(async (error: Error) => {
      this.kill('SIGKILL');
      const message = this.#lastError ?? error.message;
      this.#lastError = message;
      throw new UnavailableError(`tinker worker ${this.id} did not start: ${message}`);
    });
    if (this.#stopping) {
      connection.close('stopped while starting');
      this.kill('SIGKILL');
      throw new UnavailableError(`tinker worker ${this.id} was stopped`);
    }
    this.#connection = connection;
    this.#status = 'ready';
    this.#startedAt = new Date();
    connection.on('log', (log) => o.logger[log.level === 'error' ? 'error' : log.level === 'warn' ? 'warn' : 'debug']('worker log', { worker: this.id, msg: log.msg }));
    const exitedChild = child!;
    let crashed = false;
    const crash = (reason: string) => {
      if (crashed || this.#stopping) return;
      crashed = true;
      clearInterval(this.#watchdog);
      this.#lastError = reason;
      this.#status = 'restarting';
      this.kill('SIGKILL');
      connection.close(reason);
      o.logger.warn('tinker worker crashed', { worker: this.id, reason });
      // First, so that ready() already waits for the restart when the owner hears of the crash.
      this.#scheduleRestart();
      this.emit('crash', reason);
    };
    exitedChild.once('exit', (code, signal) => crash(`worker ${this.id} (pid ${exitedChild.pid}) exited (${signal ? `signal ${signal}` : `exit code ${code}`})`));
    connection.once('close', (error) => crash(`worker ${this.id} (pid ${exitedChild.pid}) closed its connection: ${error.message}`));
    this.#watchdog = setInterval(() => {
      if (Date.now() - connection.lastSeenAt > o.heartbeatTimeoutMs) crash(`worker ${this.id} (pid ${exitedChild.pid}) sent no heartbeat for ${o.heartbeatTimeoutMs} ms`);
    }, Math.min(5_000, o.heartbeatTimeoutMs));
    this.#watchdog.unref();
  }

  #scheduleRestart(): void {
    const o = this.#options;
    // Consecutive crashes back off; a worker that ran a minute starts over from the first delay.
    if (this.#startedAt && Date.now() - this.#startedAt.getTime() > 60_000) this.#crashes = 0;
    const delay = Math.min(o.restartMaxMs, o.restartInitialMs * 2 ** this.#crashes);
    this.#crashes++;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#restartTimer = setTimeout(() => {
        if (this.#stopping) return reject(new UnavailableError(`tinker worker ${this.id} was stopped`));
        this.#restarts++;
        this.#start().then(
          () => {
            o.logger.info('tinker worker restarted', { worker: this.id, restarts: this.#restarts });
            resolve();
            this.emit('restarted');
          },
          (error: Error) => {
            reject(error);
            if (!this.#stopping) {
              o.logger.warn('tinker worker restart failed', { worker: this.id, error: error.message });
              this.#scheduleRestart();
            }
          },
        );
      }, delay);
    });
    this.#ready.catch(() => undefined);
  }

  #pipeLogs(child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.#options.logger.debug('worker output', { worker: this.id, line: line.slice(0, 2000) }));
    }
  }

  async #releaseLease(): Promise<void> {
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease) await this.#options.gpus.release(lease.id).catch(() => undefined);
  }
}
