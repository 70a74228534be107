/** What a registered server is (the stored part). */
export interface TritonServerSpec {
  id: string;
  host: string;
  httpPort: number;
  metricsPort: number | null;
  gpus: number;
  repositoryPath: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** `UNKNOWN` before the first probe; `DOWN` when nothing answers; `NOT_READY` live but not ready. */
export const tritonServerStates = ['UNKNOWN', 'READY', 'NOT_READY', 'DOWN'] as const;
export type TritonServerState = (typeof tritonServerStates)[number];

/** The last probe of a server. */
export interface TritonHealth {
  state: TritonServerState;
  live: boolean;
  ready: boolean;
  lastError: string | null;
  latencyMs: number | null;
  checkedAt: Date | null;
}

/** A server as callers see it. */
export interface TritonServer extends TritonServerSpec {
  health: TritonHealth;
}

/** Triton's `GET /v2`. */
export interface TritonServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

/** Triton's version states (`state` of an index entry). */
export const tritonModelStates = ['UNKNOWN', 'READY', 'UNAVAILABLE', 'LOADING', 'UNLOADING'] as const;
export type TritonModelState = (typeof tritonModelStates)[number];

/** One entry of `POST /v2/repository/index`: name only for a model never loaded. */
export interface TritonIndexEntry {
  name: string;
  version: string | null;
  state: TritonModelState | null;
  reason: string | null;
}

/** One `{count, ns}` pair of Triton's statistics. */
export interface TritonDuration {
  count: number;
  ns: number;
}

/** One entry of `model_stats`. */
export interface TritonModelStats {
  name: string;
  version: string;
  lastInference: Date | null;
  inferenceCount: number;
  executionCount: number;
  success: TritonDuration;
  fail: TritonDuration;
  queue: TritonDuration;
  computeInput: TritonDuration;
  computeInfer: TritonDuration;
  computeOutput: TritonDuration;
}

/** What the metrics port says, per GPU and per model version. */
export interface TritonMetrics {
  scrapedAt: Date;
  gpus: { uuid: string; utilization: number | null; memoryTotalBytes: number | null; memoryUsedBytes: number | null; powerWatts: number | null }[];
  models: { model: string; version: string; inferenceCount: number; requestSuccess: number; requestFailure: number; executionCount: number }[];
}

/** A model state change, published on the `models` topic. */
export interface TritonModelStateEvent {
  serverId: string;
  name: string;
  version: string | null;
  state: TritonModelState | null;
  reason: string | null;
  at: Date;
}

/** A model across the fleet. */
export interface TritonFleetModel {
  name: string;
  placements: { serverId: string; versions: TritonIndexEntry[]; ready: boolean }[];
}

/** Every model across the fleet, and the servers that could not be asked (with why). */
export interface TritonFleet {
  models: TritonFleetModel[];
  errors: { serverId: string; message: string }[];
}

/** The outcome of one server's part of a fleet operation. */
export interface TritonServerOutcome {
  serverId: string;
  ok: boolean;
  error: string | null;
}
