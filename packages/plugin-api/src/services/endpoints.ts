/**
 * How a model endpoint is called. `kserve-v2`: `baseUrl` is the server root and inference is
 * `POST ${baseUrl}/v2/models/${model}/infer` (Triton). `openai`: `baseUrl` is the server root of an
 * OpenAI-compatible API (`${baseUrl}/v1/chat/completions`, …: vLLM, llama-server).
 */
export type EndpointProtocol = 'kserve-v2' | 'openai';

/** A model that a plugin serves on this host, as other plugins (the gateway) may route to it. */
export interface ModelEndpoint {
  /** Unique across plugins: `<plugin>:<server>/<model>`, e.g. `triton:t1/resnet`. */
  id: string;
  /** The publishing plugin's id (set by core). */
  plugin: string;
  protocol: EndpointProtocol;
  /** The plugin's server or instance id/name. */
  server: string;
  /** The model name the backend knows. */
  model: string;
  baseUrl: string;
  /** Whether the backend answers for this model now. */
  ready: boolean;
}

/**
 * Every plugin's model endpoints (an extension point: publishers are the serving plugins, readers
 * the gateway). A plugin publishes and withdraws only its own; they are withdrawn when it stops.
 */
export interface EndpointRegistry {
  /** Adds or replaces (by id) one of this plugin's endpoints. Throws `CONFLICT` for another plugin's id. */
  publish(endpoint: Omit<ModelEndpoint, 'plugin'>): void;
  /** Removes one of this plugin's endpoints (no-op when absent). */
  withdraw(id: string): void;
  /** Every plugin's endpoints. */
  list(): ModelEndpoint[];
  get(id: string): ModelEndpoint | undefined;
  /** Called after every publish or withdraw of any plugin; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}
