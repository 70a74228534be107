import { isIP } from 'node:net';
import { absolutePathArg, expandHome, z } from '../../core/plugin-api.ts';

const positiveInt = z.number().int('expected a positive integer').positive('expected a positive integer');

const port = z.number().int().min(1024, 'expected a port from 1024 to 65535').max(65535, 'expected a port from 1024 to 65535');

/** A group budget: instances of one group that may run at once. */
export const groupBudgetSchema = z.strictObject({
  /** At most this many instances of the group running (or starting) at once. */
  maxRunning: positiveInt.optional(),
  /** At most this much estimated VRAM (MiB) in use by the group's running instances. */
  vramMiB: positiveInt.optional(),
});

/**
 * `plugins.llama-cpp` in the config file.
 * @see docs/llama-cpp.md
 */
export const llamaCppConfigSchema = z.strictObject({
  /** The llama-server executable (absolute, or a name on PATH). */
  llamaServerPath: z.string().min(1).default('llama-server'),
  /** Address every instance listens on (`--host`); loopback keeps it off the network. */
  host: z.string().refine((h) => isIP(h) !== 0, 'expected an IP address').default('127.0.0.1'),
  /** Model paths must resolve (after symlinks) to a file inside one of these directories. */
  modelRoots: z.array(absolutePathArg).default([expandHome('~/models')]),
  /** Ports handed to instances created without one (inclusive). */
  portRange: z
    .strictObject({ from: port, to: port })
    .refine((r) => r.from <= r.to, 'expected from <= to')
    .default({ from: 8100, to: 8199 }),
  /** How often starting and running instances are probed (`GET /health`, /proc stats, `/metrics`). */
  healthIntervalMs: positiveInt.default(5_000),
  /** Timeout of one health probe. */
  healthTimeoutMs: positiveInt.default(2_000),
  /** Consecutive failed probes after which a running instance counts as hung and is restarted. */
  unhealthyThreshold: positiveInt.default(3),
  /** An instance not healthy this long after its start is killed (and restarted per its policy). */
  startTimeoutMs: positiveInt.default(120_000),
  /** Seconds between SIGTERM and SIGKILL when stopping, unless a stop gives its own `timeout`. */
  stopTimeoutSeconds: z.number().int().min(0).max(600).default(30),
  /** Crash restarts: delay `initialDelayMs · 2^(n-1)` capped at `maxDelayMs`. */
  restart: z
    .strictObject({
      initialDelayMs: positiveInt.default(1_000),
      maxDelayMs: positiveInt.default(60_000),
      /** Default `maxRestarts` of an instance. */
      maxRestarts: z.number().int().min(0).max(1000).default(5),
      /** Running (healthy) this long resets the restart count. */
      resetAfterMs: positiveInt.default(300_000),
    })
    .default({ initialDelayMs: 1_000, maxDelayMs: 60_000, maxRestarts: 5, resetAfterMs: 300_000 }),
  /** How often idle instances (`idleTimeoutMinutes`) are looked for. */
  idleCheckIntervalMs: positiveInt.default(30_000),
  /** How long an on-demand start may take before the waiting request fails. */
  onDemandStartTimeoutMs: positiveInt.default(120_000),
  /** Budgets per group name (an instance's `group`); the least recently used instance is stopped to make room. */
  groups: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,50}$/, 'expected a group name of letters, digits, "_" or "-"'), groupBudgetSchema).default({}),
  /** Options for instances that do not set them. */
  defaults: z
    .strictObject({
      threads: positiveInt.optional(),
      ctxSize: z.number().int().min(0).default(4096),
      gpuLayers: z.number().int().min(-1).default(0),
      parallel: positiveInt.default(1),
    })
    .default({ ctxSize: 4096, gpuLayers: 0, parallel: 1 }),
});

export type LlamaCppConfig = z.output<typeof llamaCppConfigSchema>;
