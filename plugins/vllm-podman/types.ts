/**
 * The vllm-podman plugin's domain types, shared by the service, the GraphQL schema and the
 * serving backend. No runtime code.
 */

/**
 * Where a vLLM server is in its life.
 * - `starting`: recorded; the container is being created.
 * - `loading`: the container runs; vLLM does not answer `/health` and `/v1/models` yet.
 * - `running`: both probes answer and `/v1/models` lists the served name.
 * - `stopped`: stopped on request (or the container ended cleanly after serving).
 * - `failed`: the container could not start, exited while loading, crashed, vanished, or
 *   did not become ready within `loadTimeoutMs`; `message` says which, with the log tail.
 */
export type VllmServerStatus = 'starting' | 'loading' | 'running' | 'stopped' | 'failed';

export const vllmServerStatuses: readonly VllmServerStatus[] = ['starting', 'loading', 'running', 'stopped', 'failed'];

/** Statuses in which the server holds its container, port and GPUs. */
export const activeStatuses: ReadonlySet<VllmServerStatus> = new Set(['starting', 'loading', 'running']);

/** GPUs for a server: a count of any free ones, or exact indices. */
export interface GpuRequest {
  count?: number;
  indices?: number[];
}

/** A vLLM server as backplane tracks it (persisted in `vllm_servers`). */
export interface VllmServer {
  /** The served model name (`--served-model-name`), unique: one server per name. */
  name: string;
  status: VllmServerStatus;
  /** Why it failed (with the tail of its log), or what it is waiting for. */
  message: string | null;
  /** Host path of the model, after symlinks; mounted read-only at the same path. */
  modelPath: string;
  port: number;
  /** Address vLLM listens on. */
  host: string;
  image: string;
  /** Extra vLLM arguments (after the allow-list check). */
  args: string[];
  gpuRequest: GpuRequest | null;
  /** GPU indices leased to the current run. */
  gpus: number[];
  /** `v-…` job whose log is the container's output; a new one per run. */
  jobId: string | null;
  /** `backplane-vllm-<name>`. */
  containerName: string;
  containerId: string | null;
  exitCode: number | null;
  /** Caller facts, e.g. `{ origin: 'ilab' }`. */
  labels: Record<string, string>;
  createdAt: Date;
  startedAt: Date | null;
  readyAt: Date | null;
  stoppedAt: Date | null;
}

/** What a caller asks for; see {@link VllmServer} for the fields. */
export interface StartVllmServerInput {
  name: string;
  modelPath: string;
  port: number;
  gpus?: GpuRequest;
  args?: readonly string[];
  labels?: Record<string, string>;
}

/** A backplane vLLM container as `podman ps` shows it (the legacy `/vllm-containers` item). */
export interface VllmContainer {
  /** Short (12 hex) id. */
  containerId: string;
  image: string;
  /** podman's truncated command column. */
  command: string;
  /** Go `time.Time` text, e.g. `2025-03-23 10:15:30.123456789 +0000 UTC`. */
  createdAt: string;
  /** `Up 5 minutes`. */
  status: string;
  ports: string;
  names: string;
  servedModelName: string;
  modelPath: string;
}

/** The container name for a served name: deterministic, so podman itself refuses a duplicate. */
export function containerNameFor(name: string): string {
  return `backplane-vllm-${name}`;
}
