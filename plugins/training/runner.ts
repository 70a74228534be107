import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobRecord, JobService, Logger } from '../../core/plugin-api.ts';
import { listenForWorker, type WorkerConnection } from '../tinker/protocol/index.ts';
import type { TrainingPluginConfig } from './config.ts';

const tinyWorker = fileURLToPath(new URL('../tinker/worker/tiny-worker.ts', import.meta.url));
/** Where the PyTorch worker's package lives (`python -m backplane_worker`), found from this file, not the cwd. */
const pythonWorkerPath = fileURLToPath(new URL('../../workers/python', import.meta.url));

/** The trainer's argv and extra environment for the configured worker kind. */
export function workerCommand(config: TrainingPluginConfig, env: NodeJS.ProcessEnv = process.env): { command: string; args: string[]; env: Record<string, string> } {
  if (config.worker !== 'python') return { command: process.execPath, args: [tinyWorker], env: {} };
  const existing = env.PYTHONPATH;
  return { command: config.python, args: ['-m', config.pythonModule], env: { PYTHONPATH: existing ? `${pythonWorkerPath}:${existing}` : pythonWorkerPath, PYTHONUNBUFFERED: '1' } };
}

/**
 * A fresh socket path in a new private directory (mode 0700, so no other local user can connect
 * before the worker does) under the OS temp dir (short: Unix sockets allow ~100 bytes).
 */
export async function socketPathFor(jobId: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bp-tr-'));
  return path.join(dir, `${jobId.replace(/[^a-z0-9-]/gi, '').slice(0, 40)}.sock`);
}

/** Removes a socket path's private directory (idempotent). */
export async function removeSocketDir(socketPath: string): Promise<void> {
  const dir = path.dirname(socketPath);
  if (path.basename(dir).startsWith('bp-tr-')) await rm(dir, { recursive: true, force: true });
}

export interface WorkerProcess {
  coreJob: JobRecord;
  connection: WorkerConnection;
}

export interface LaunchOptions {
  jobs: JobService;
  logger: Logger;
  config: TrainingPluginConfig;
  /** `tr` for training runs, `tv` for validation loads. */
  idPrefix: string;
  kind: string;
  workerId: string;
  socketPath: string;
  gpus: number;
  labels: Record<string, string>;
  logHeader: string;
  /** Tells the worker to survive a daemon restart for this long (`BACKPLANE_WORKER_RECONNECT_MS`); 0 or unset: it ends with the daemon. */
  reconnectMs?: number;
  /** Called as soon as the core job exists (before the worker connects), to record its id. */
  onCoreJob(job: JobRecord): void | Promise<void>;
  /** Aborts the wait for the worker (cancel). */
  signal: AbortSignal;
}

/**
 * Starts one trainer process as a core job (supervised, logged, GPU-leased, restart-surviving)
 * and resolves once it has connected to its socket and said hello. If the process ends first,
 * or does not connect within `connectTimeoutMs` of starting, it rejects (and the process is
 * stopped).
 */
export async function launchWorker(options: LaunchOptions): Promise<WorkerProcess> {
  const { jobs, config } = options;
  if (options.signal.aborted) throw new Error('cancelled before the worker started');
  const wait = new AbortController();
  const onAbort = () => wait.abort(options.signal.reason);
  options.signal.addEventListener('abort', onAbort, { once: true });
  let listening!: () => void;
  const isListening = new Promise<void>((resolve) => (listening = resolve));
  const connected = listenForWorker(options.socketPath, { helloTimeoutMs: 7 * 24 * 3600_000, signal: wait.signal, onListening: () => listening() });
  connected.catch(() => undefined);
  await Promise.race([isListening, connected]);
  const { command, args, env } = workerCommand(config);
  let coreJob: JobRecord | undefined;
  try {
    coreJob = await jobs.start({
      idPrefix: options.idPrefix,
      kind: options.kind,
      command,
      args,
      env: {
        ...env,
        BACKPLANE_WORKER_SOCKET: options.socketPath,
        BACKPLANE_WORKER_ID: options.workerId,
        ...(options.reconnectMs ? { BACKPLANE_WORKER_RECONNECT_MS: String(options.reconnectMs) } : {}),
      },
      labels: options.labels,
      logHeader: options.logHeader,
      gpus: options.gpus > 0 ? { count: options.gpus } : undefined,
    });
    await options.onCoreJob(coreJob);
    const started = coreJob;
    // The process may wait in core's queue (GPUs, jobs.maxConcurrent); the connect timeout starts once it runs.
    const watch = (async () => {
      const settled = jobs.wait(started.id, { signal: wait.signal }).then((job) => ({ ended: job }));
      let runningSince: number | undefined;
      for (;;) {
        const tick = await Promise.race([settled, new Promise<undefined>((r) => setTimeout(r, 250))]);
        if (tick?.ended) return `the worker process ended before it connected (${tick.ended.failureReason ?? tick.ended.status}); see its log (job ${started.id})`;
        if (wait.signal.aborted) return undefined;
        const now = await jobs.get(started.id);
        if (now?.status === 'running') runningSince ??= Date.now();
        if (runningSince !== undefined && Date.now() - runningSince > config.connectTimeoutMs) return `the worker did not connect within ${config.connectTimeoutMs} ms`;
      }
    })().catch(() => undefined);
    const outcome = await Promise.race([connected.then((c) => ({ connection: c })), watch.then((reason) => ({ reason }))]);
    if ('connection' in outcome) {
      wait.abort();
      return { coreJob: started, connection: outcome.connection };
    }
    wait.abort();
    throw new Error(outcome.reason ?? 'cancelled while waiting for the worker');
  } catch (error) {
    wait.abort();
    if (coreJob) await stopCoreJob(jobs, coreJob.id);
    await removeSocketDir(options.socketPath);
    throw error;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
}

/** Cancels a core job (its whole process group; core frees its lease) unless it already ended. */
export async function stopCoreJob(jobs: JobService, id: string): Promise<JobRecord | undefined> {
  try {
    return await jobs.cancel(id);
  } catch {
    return jobs.get(id);
  }
}

/** Asks a worker to exit, then waits for its process; stops it when it does not exit in time. */
export async function shutdownWorker(jobs: JobService, connection: WorkerConnection | undefined, coreJobId: string, graceMs = 5000): Promise<JobRecord | undefined> {
  if (connection && !connection.isClosed) {
    await connection.request('shutdown', { grace_ms: graceMs }, { timeoutMs: graceMs }).catch(() => undefined);
    connection.close('done');
  }
  const timeout = AbortSignal.timeout(graceMs * 2);
  const ended = await jobs.wait(coreJobId, { signal: timeout }).catch(() => undefined);
  return ended ?? stopCoreJob(jobs, coreJobId);
}
