/** Lifecycle state of a model server, whatever runs it. */
export type ServingStatus = 'starting' | 'loading' | 'running' | 'stopped' | 'failed';

/** What a plugin asks a serving backend to run. */
export interface ServingStartSpec {
  /** The served model name clients use (`pre-train`), unique per backend. */
  name: string;
  /** Absolute path of the model; the backend mounts or opens only this. */
  modelPath: string;
  port: number;
  /** How many GPUs to lease for it, or which indices. @default 1 */
  gpus?: { count?: number; indices?: number[] };
  /** Extra backend arguments; each backend checks them against its allow-list. */
  args?: readonly string[];
  /** Recorded with the server, e.g. `{ origin: 'ilab' }`. */
  labels?: Record<string, string>;
}

/** A model server as its backend reports it. */
export interface ServingInstance {
  name: string;
  backend: string;
  status: ServingStatus;
  port: number | undefined;
  modelPath: string | undefined;
  /** The job id that tracks it, when the backend keeps one (`v-…`). */
  jobId: string | undefined;
  startedAt: Date | undefined;
  /** Why it failed or what it is waiting for. */
  message: string | undefined;
}

/** A backend that can run model servers (vLLM in podman, llama.cpp, …). */
export interface ServingBackend {
  readonly id: string;
  start(spec: ServingStartSpec): Promise<ServingInstance>;
  /** Stops and removes the server; resolves to undefined when there was none. */
  stop(name: string): Promise<ServingInstance | undefined>;
  get(name: string): Promise<ServingInstance | undefined>;
  list(): Promise<ServingInstance[]>;
}

/**
 * Extension point: plugins that run model servers register a backend here; plugins that need a
 * server (ilab's `serve-base`) look one up by id, after declaring the dependency. Scoped to the
 * plugin: the backends it registered are removed when it stops (or its init fails), so a lookup
 * never reaches a stopped plugin.
 */
export interface ServingRegistry {
  /** Registers a backend of this plugin; `CONFLICT` when the id is taken. */
  register(backend: ServingBackend): void;
  /** A registered backend of any plugin, or undefined (none, or its plugin stopped). */
  get(id: string): ServingBackend | undefined;
  list(): ServingBackend[];
  /**
   * Declares the directories this plugin keeps models in (ilab's models and checkpoints),
   * replacing the ones it declared before; they go when the plugin stops. Backends accept a
   * model path inside any plugin's directories besides their own configured roots.
   */
  setModelRoots(roots: readonly string[]): void;
  /** Every running plugin's model directories (see {@link setModelRoots}), absolute. */
  modelRoots(): string[];
}
