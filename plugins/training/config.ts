import os from 'node:os';
import path from 'node:path';
import { absolutePathArg, z } from '../../core/plugin-api.ts';

/** The Hugging Face hub cache as transformers finds it: `HF_HUB_CACHE`, `HF_HOME/hub`, `~/.cache/huggingface/hub`. */
export function defaultHfCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, 'hub');
  return path.join(os.homedir(), '.cache', 'huggingface', 'hub');
}

/**
 * `plugins.training` in the config file.
 * @see docs/training.md#configuration
 */
export const trainingConfigSchema = z.strictObject({
  /** The Hugging Face hub cache scanned by `models/available` and `validate-model`. @default HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub */
  hfCachePath: absolutePathArg.optional(),
  /**
   * The trainer process each job runs: `tiny` is the TypeScript TinyLM worker (any machine, CI);
   * `python` runs `<python> -m backplane_worker` (transformers + peft + trl on a GPU host).
   */
  worker: z.enum(['tiny', 'python']).default('tiny'),
  /** The Python interpreter for `worker: python` (Debian's, which has python3-torch; run with `PYTHONPATH=<repo>/workers/python`). */
  python: z.string().min(1).default('/usr/bin/python3'),
  /** The Python module for `worker: python`. */
  pythonModule: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'expected a module name').default('backplane_worker'),
  /** Most worker slots `POST /workers/ {action: start}` may create (the real project's `max_workers`). */
  maxWorkers: z.number().int().min(1).max(32).default(8),
  /** Largest dataset upload accepted (413 above). @default 100 MiB, the real project's limit */
  maxUploadBytes: z.number().int().positive().default(100 * 1024 * 1024),
  /** GPUs leased per job: `auto` is 1 when the host has GPUs and 0 otherwise. */
  gpusPerJob: z.union([z.literal('auto'), z.number().int().min(0).max(16)]).default('auto'),
  /** Directories project and job outputs may be written under. @default `<plugin data dir>/outputs` */
  outputRoots: z.array(absolutePathArg).optional(),
  /** How long a trainer may take to connect to the daemon after its process started. */
  connectTimeoutMs: z.number().int().positive().default(60_000),
  /**
   * How long a trainer keeps training and retrying its socket after the daemon went away, so
   * the restarted daemon re-adopts it (`BACKPLANE_WORKER_RECONNECT_MS`; the tiny and the Python
   * worker honour it). 0: a trainer ends with the daemon, and its job fails `interrupted`.
   */
  reconnectMs: z.number().int().min(0).default(120_000),
  /** Seed of the row mix of projects (the mix is deterministic for a seed). */
  mixSeed: z.number().int().default(42),
});

export type TrainingPluginConfig = z.output<typeof trainingConfigSchema>;
