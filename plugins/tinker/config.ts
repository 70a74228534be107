import { fileURLToPath } from 'node:url';
import { z } from '../../core/plugin-api.ts';

const positiveInt = z.number().int('expected a positive integer').positive('expected a positive integer');

/** The TypeScript TinyLM worker shipped with the plugin (runs on the daemon's own Node). */
export const tinyWorkerScript = fileURLToPath(new URL('./worker/tiny-worker.ts', import.meta.url));
/** Where the PyTorch worker's package lives (`python -m backplane_worker`). */
export const pythonWorkerPath = fileURLToPath(new URL('../../workers/python', import.meta.url));

const workerSchema = z
  .strictObject({
    /**
     * `tiny`: the TypeScript TinyLM worker on the daemon's Node (the default; no GPU, no Python);
     * `python`: `/usr/bin/python3 -m backplane_worker` with `PYTHONPATH=workers/python` (PyTorch);
     * `custom`: `command` and `args` as given (any program speaking bwp/1).
     */
    kind: z.enum(['tiny', 'python', 'custom']).default('tiny'),
    /** The executable (`custom`; overrides the interpreter of `python`). */
    command: z.string().min(1).optional(),
    /** Its arguments, an argv array (never a shell). */
    args: z.array(z.string()).optional(),
    /** Extra environment for worker processes. */
    env: z.record(z.string(), z.string()).default({}),
    /** How long a spawned worker has to connect and say `hello`. */
    startTimeoutMs: positiveInt.default(30_000),
    /** A worker silent (no heartbeat, no reply) this long is killed and restarted. */
    heartbeatTimeoutMs: positiveInt.default(30_000),
    /** First restart delay after a crash; doubles per consecutive crash up to `restartMaxMs`. */
    restartInitialMs: positiveInt.default(250),
    restartMaxMs: positiveInt.default(30_000),
    /** Grace given to `shutdown` before the process group is killed. */
    shutdownGraceMs: positiveInt.default(2_000),
  })
  .superRefine((w, ctx) => {
    if (w.kind === 'custom' && !w.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'a custom worker needs a command' });
  });

/** A base model the server offers (`get_server_capabilities`). */
const supportedModel = z.strictObject({ model_name: z.string().min(1).max(200), max_context_length: positiveInt.optional() });

/**
 * `plugins.tinker` in the config file.
 * @see docs/tinker.md
 */
export const tinkerConfigSchema = z.strictObject({
  worker: workerSchema.default({ kind: 'tiny', env: {}, startTimeoutMs: 30_000, heartbeatTimeoutMs: 30_000, restartInitialMs: 250, restartMaxMs: 30_000, shutdownGraceMs: 2_000 }),
  /** `model`: one worker process per training model (plus one for the samplers of each); `gpu`: one per leased GPU, shared. */
  workerPer: z.enum(['model', 'gpu']).default('model'),
  /** GPUs leased (from the core's GPU manager) per worker process; 0 for CPU workers (the tiny one). */
  gpusPerWorker: z.number().int().min(0).max(16).default(0),
  /** `workerPer: gpu`: how many shared workers at most. */
  maxWorkers: positiveInt.default(4),
  /** Operations queued or running per model before submits get 429 (`queue_state: paused_capacity`). */
  maxQueuedPerModel: positiveInt.default(256),
  /** Sample requests running at once per sampler; more wait on the sampler's own lane. */
  maxConcurrentSamples: positiveInt.default(4),
  /** Sample requests waiting per sampler before 429. */
  maxQueuedSamples: positiveInt.default(256),
  /** A session without a heartbeat for this long expires; its models and samplers are released. */
  sessionExpirySeconds: positiveInt.default(1800),
  /** A delivered result is kept this long (never less than 300 s: the SDK may re-poll after a lost reply). */
  futureRetentionSeconds: z.number().int().min(300, 'results must be kept at least 300 s after delivery').default(600),
  /** An undelivered result is kept this long. */
  undeliveredRetentionSeconds: z.number().int().min(300).default(86_400),
  /** How long `retrieve_future` holds a pending request before 408 (the SDK times out at 45 s). */
  longPollSeconds: z.number().int().min(1).max(30).default(25),
  /** The base models served. */
  supportedModels: z.array(supportedModel).min(1).default([{ model_name: 'tiny-lm', max_context_length: 4096 }]),
});

export type TinkerConfig = z.output<typeof tinkerConfigSchema>;

/** Largest JSON body the tinker routes accept (a `forward_backward` batch is routinely 5–10 MB). */
export const tinkerMaxBodyBytes = 64 * 1024 * 1024;

/** The argv and env of a worker process for this config. */
export function workerCommand(config: TinkerConfig): { command: string; args: string[]; env: Record<string, string> } {
  const w = config.worker;
  if (w.kind === 'python') {
    const existing = process.env.PYTHONPATH;
    return {
      command: w.command ?? '/usr/bin/python3',
      args: w.args ?? ['-m', 'backplane_worker'],
      env: { PYTHONPATH: existing ? `${pythonWorkerPath}:${existing}` : pythonWorkerPath, PYTHONUNBUFFERED: '1', ...w.env },
    };
  }
  if (w.kind === 'custom') return { command: w.command!, args: w.args ?? [], env: { ...w.env } };
  return { command: w.command ?? process.execPath, args: w.args ?? [tinyWorkerScript], env: { ...w.env } };
}
