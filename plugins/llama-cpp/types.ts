/**
 * Where an instance is. `running` means healthy (`GET /health` answered 200); `starting` covers
 * the spawn and the model load (503 "Loading model"); `restarting` waits out a crash back-off.
 */
export const llamaInstanceStatuses = ['stopped', 'starting', 'running', 'failed', 'restarting', 'stopping'] as const;
export type LlamaInstanceStatus = (typeof llamaInstanceStatuses)[number];

/** Statuses with a process, or one about to be spawned: they hold a port, GPUs and a budget slot. */
export const activeStatuses: ReadonlySet<LlamaInstanceStatus> = new Set(['starting', 'running', 'restarting', 'stopping']);

/** What llama-server is run with. Unset numbers fall back to the config's `defaults`. */
export interface LlamaInstanceOptions {
  /** `-t`. */
  threads: number | null;
  /** `-c` (0 = the model's own context length). */
  ctxSize: number;
  /** `-ngl` (-1 = all layers). */
  gpuLayers: number;
  /** `-np`: parallel slots. */
  parallel: number;
  /** `-a`: extra model names clients may use on the router (the instance name always works). */
  aliases: string[];
  /** Allow-listed extra llama-server flags, as tokens (`["--flash-attn", "on"]`). */
  extraArgs: string[];
  /** GPUs to lease: a count of any free ones, or exact indices; none when both are empty. */
  gpuCount: number;
  gpuIndices: number[];
  /** Restart after a crash or a hang. */
  autoRestart: boolean;
  maxRestarts: number;
  /** The router may start it on the first request. */
  onDemandStart: boolean;
  /** Stop after this many minutes without requests (0 = never). */
  idleTimeoutMinutes: number;
  /** The budget group (a key of config `groups`), or null. */
  group: string | null;
}

/** The latest health probe of an instance (in memory; not persisted). */
export interface LlamaHealth {
  /** `ok` (200), `loading` (503), `down` (no answer or another status), `unknown` (never probed). */
  state: 'ok' | 'loading' | 'down' | 'unknown';
  lastCheckAt: Date | null;
  latencyMs: number | null;
  /** Consecutive failed probes (reset by a 200). */
  failureCount: number;
  /** HTTP status of the last probe, or null when nothing answered. */
  httpStatus: number | null;
  error: string | null;
}

/** Resource use of a running instance, from /proc and llama-server's `/metrics`. */
export interface LlamaStats {
  rssBytes: number | null;
  /** CPU use between the last two samples, in percent of one core. */
  cpuPercent: number | null;
  uptimeSeconds: number | null;
  /** Mean generation tokens/s of the run (from `/metrics` counters), when it answers. */
  tokensPerSecond: number | null;
  /** Mean prompt tokens/s of the run. */
  promptTokensPerSecond: number | null;
  /** `llamacpp:tokens_predicted_total`. */
  tokensPredictedTotal: number | null;
  /** `llamacpp:requests_processing`. */
  requestsProcessing: number | null;
  sampledAt: Date | null;
}

/** An instance as callers see it. */
export interface LlamaInstance {
  name: string;
  status: LlamaInstanceStatus;
  /** Why it failed, what it waits for. */
  message: string | null;
  /** The real path of the model file. */
  modelPath: string;
  /** Size of the model file. */
  modelSizeBytes: number;
  /** Layers of the model (GGUF `<arch>.block_count`), or null when the header does not say. */
  modelBlockCount: number | null;
  /** Estimated VRAM from the file size and the share of layers offloaded. */
  vramEstimateMiB: number;
  host: string;
  port: number;
  options: LlamaInstanceOptions;
  /** What the caller last asked for: `running` or `stopped`; supervision converges on it. */
  desired: 'running' | 'stopped';
  /** The current (or last) run's job: its log is llama-server's output (`jobLog`). */
  jobId: string | null;
  pid: number | null;
  /** Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22). */
  pidStartTicks: string | null;
  gpus: number[];
  leaseId: string | null;
  /** Crash restarts since the last manual start or stable period. */
  restartCount: number;
  nextRestartAt: Date | null;
  exitCode: number | null;
  lastRequestAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  readyAt: Date | null;
  stoppedAt: Date | null;
}
