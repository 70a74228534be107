import { z } from '../../core/plugin-api.ts';

const positiveInt = z.number({ error: 'expected positive integer' }).int('expected positive integer').positive('expected positive integer');
const port = z.number({ error: 'expected integer port 1-65535' }).int('expected integer port 1-65535').min(1, 'expected integer port 1-65535').max(65535, 'expected integer port 1-65535');
const dir = z.string({ error: 'expected a directory path' }).min(1, 'expected a directory path');
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `expected one of: ${values.join(', ')}` });

/**
 * `plugins.ilab` in the backplane config. Directory defaults follow ilab's own XDG layout under
 * `homeDir`; in mock mode `homeDir` defaults to `<dataDir>/plugins/ilab/mock-home` instead.
 *
 * @see docs/ilab.md
 */
export const ilabConfigSchema = z.strictObject({
  /** `real` runs `bin`; `mock` runs the bundled simulator (no GPUs or InstructLab needed). @default real */
  mode: oneOf(['real', 'mock']).default('real'),
  /** The ilab executable: a name on PATH or a path. @default ilab */
  bin: z.string({ error: 'expected a command name or path' }).min(1, 'expected a command name or path').default('ilab'),
  /** Working directory of ilab commands (the legacy server's `--base-dir`). @default the daemon's */
  workDir: dir.optional(),
  /** Base of the directory defaults below. @default the user's home (real) or the mock home (mock) */
  homeDir: dir.optional(),
  /** Take the directories not configured here from `ilab config show` at start (real mode). @default true */
  dirsFromIlab: z.boolean({ error: 'expected true or false' }).default(true),
  /** The taxonomy git repository. @default `<home>/.local/share/instructlab/taxonomy` */
  taxonomyDir: dir.optional(),
  /** Downloaded models. @default `<home>/.cache/instructlab/models` */
  modelsDir: dir.optional(),
  /** Hugging Face checkpoints of training runs. @default `<home>/.local/share/instructlab/checkpoints/hf_format` */
  checkpointsDir: dir.optional(),
  /** Generated datasets. @default `<home>/.local/share/instructlab/datasets` */
  datasetsDir: dir.optional(),
  /** Where per-job taxonomy worktrees go. @default `<dataDir>/plugins/ilab/worktrees` */
  worktreesDir: dir.optional(),
  /** Training pipeline (the legacy `--pipeline`). @default accelerated */
  pipeline: oneOf(['simple', 'accelerated', 'full']).default('accelerated'),
  /** Pipeline of `ilab data generate` (it has no `accelerated`). @default full */
  generatePipeline: oneOf(['simple', 'full']).default('full'),
  /** `--device=` flags for training (the legacy `--cuda` / `--osx`). @default [] */
  devices: z.array(oneOf(['cuda', 'mps', 'cpu', 'hpu']), { error: 'expected a list of devices' }).default([]),
  train: z
    .strictObject({
      /** `standard` (upstream ilab) or `rhelai` (RHEL AI: explicit data path, batch and GPU flags). @default standard */
      profile: oneOf(['standard', 'rhelai']).default('standard'),
      /** GPUs leased for a training job when a GPU inventory exists; `--gpus` in the rhelai profile. @default 1 */
      gpus: positiveInt.default(1),
      /** `--max-batch-len` (rhelai profile). @default 5000 */
      maxBatchLen: positiveInt.default(5000),
      /** `--save-samples` (rhelai profile). @default 1000 */
      saveSamples: positiveInt.default(1000),
    })
    .prefault({}),
  /** `local` runs `ilab model serve`; `vllm` asks the vllm-podman plugin's serving backend. @default local */
  servingBackend: oneOf(['local', 'vllm']).default('local'),
  /** Address local model servers bind to. @default 127.0.0.1 */
  serveHost: z.string({ error: 'expected a host' }).min(1, 'expected a host').default('127.0.0.1'),
  ports: z
    .strictObject({
      /** `serve-base` (`pre-train`). @default 8000 */
      base: port.default(8000),
      /** `serve-latest` (`post-train`). @default 8001 */
      latest: port.default(8001),
    })
    .prefault({})
    .refine((p) => p.base !== p.latest, { message: 'expected different ports for base and latest' }),
  /** The base model for `serve-base`, as a name under `modelsDir` or a path inside it. @default granite-8b-starter-v1 (vllm), granite-7b-lab-Q4_K_M.gguf (local) */
  baseModel: z.string({ error: 'expected a model name' }).min(1, 'expected a model name').optional(),
  /** GPUs leased for each served model when a GPU inventory exists. @default 1 */
  serveGpus: positiveInt.default(1),
  /** A local model server whose GPUs showed no utilization for this long counts as idle. @default 15 */
  serveIdleMinutes: z.number({ error: 'expected a number of minutes' }).min(0, 'expected a number of minutes').default(15),
  /** A train or qna-eval job that needs GPUs held by idle local model servers stops them first. @default true */
  preemptIdleServers: z.boolean({ error: 'expected true or false' }).default(true),
  qnaEval: z
    .strictObject({
      podmanBin: z.string({ error: 'expected a command name or path' }).min(1, 'expected a command name or path').default('podman'),
      /** The evaluation image. @default quay.io/bsalisbu/qna-eval */
      image: z.string({ error: 'expected an image reference' }).min(1, 'expected an image reference').default('quay.io/bsalisbu/qna-eval'),
      /** How long the legacy `/qna-eval` route waits for the result. @default 600000 */
      timeoutMs: positiveInt.default(600_000),
      /** Directories `yaml_file` may be in. @default [taxonomyDir] */
      yamlDirs: z.array(dir, { error: 'expected a list of directories' }).optional(),
      /** GPUs leased for an evaluation when a GPU inventory exists. @default 1 */
      gpus: positiveInt.default(1),
    })
    .prefault({}),
  convert: z
    .strictObject({
      /** `ilab model convert` (MLX) exists on macOS only. @default true on macOS, false elsewhere */
      enabled: z.boolean({ error: 'expected true or false' }).default(process.platform === 'darwin'),
    })
    .prefault({}),
  /**
   * When the `ilab model list` cache refreshes: milliseconds from the end of one refresh to the
   * next, or a node-cron expression (`*\/20 * * * *`, wall-clock times). @default 1200000 (20 minutes)
   */
  modelCacheRefresh: z
    .union([positiveInt, z.string().min(1, 'expected a cron expression')], { error: 'expected a number of milliseconds or a cron expression' })
    .default(20 * 60_000),
  /** A cache older than this is served while a refresh runs in the background. @default 1200000 */
  modelCacheMaxAgeMs: positiveInt.default(20 * 60_000),
  /** Timeout of one `ilab model list` / `ilab data list`. @default 120000 */
  listTimeoutMs: positiveInt.default(120_000),
  mock: z
    .strictObject({
      /** Pace of the simulator: milliseconds per simulated step. @default 200 */
      stepMs: z.number({ error: 'expected non-negative integer' }).int('expected non-negative integer').min(0, 'expected non-negative integer').default(200),
    })
    .prefault({}),
});

export type IlabConfig = z.output<typeof ilabConfigSchema>;
