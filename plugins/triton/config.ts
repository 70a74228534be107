import { absolutePathArg, z } from '../../core/plugin-api.ts';

const positiveInt = z.number().int('expected a positive integer').positive('expected a positive integer');

/** Platforms and backends Triton ships (config.pbtxt `platform:` / `backend:`). */
export const defaultPlatforms = [
  'tensorrt_plan',
  'onnxruntime_onnx',
  'pytorch_libtorch',
  'tensorflow_savedmodel',
  'tensorflow_graphdef',
  'ensemble',
  'tensorrt',
  'onnxruntime',
  'pytorch',
  'tensorflow',
  'openvino',
  'python',
  'dali',
  'fil',
];

/**
 * `plugins.triton` in the config file.
 * @see docs/triton.md
 */
export const tritonConfigSchema = z.strictObject({
  /** A server's local model repository (`repositoryPath`) must resolve inside one of these. */
  repositoryRoots: z
    .array(absolutePathArg)
    .default([]),
  /** Timeout of each call to a Triton server (health, metadata, index, stats, metrics). */
  requestTimeoutMs: positiveInt.default(5_000),
  /** Timeout of a model load or unload (Triton answers once the load has ended). */
  loadTimeoutMs: positiveInt.default(120_000),
  /** How often every server's health and repository index are probed. */
  probeIntervalMs: positiveInt.default(10_000),
  /** How many servers one fleet query or fleet load talks to at once. */
  fanOutConcurrency: positiveInt.max(256).default(16),
  /** Largest model upload (all files together), in bytes. @default 1 GiB */
  maxUploadBytes: positiveInt.default(1024 ** 3),
  /** Accepted config.pbtxt `platform:` / `backend:` values. */
  platforms: z.array(z.string().regex(/^[a-z0-9_]+$/)).min(1).default(defaultPlatforms),
});

export type TritonConfig = z.output<typeof tritonConfigSchema>;
