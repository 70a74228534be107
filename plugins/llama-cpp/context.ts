import type { GpuService, HttpClientService, JobService, KeyedMutex, Logger, ProcessService } from '../../core/plugin-api.ts';
import type { LlamaCppConfig } from './config.ts';
import type { InstanceRegistry } from './instance-registry.ts';

/** What the plugin's parts share: its config, core services and its own state. */
export interface LlamaContext {
  config: LlamaCppConfig;
  logger: Logger;
  jobs: JobService;
  gpus: GpuService;
  http: HttpClientService;
  processes: ProcessService;
  /** The plugin's stop signal. */
  signal: AbortSignal;
  registry: InstanceRegistry;
  /** Serialises every change of one instance. */
  mutex: KeyedMutex;
}

/** The job kind of an instance's run. */
export const runJobKind = 'llama-server';

/** GPU lease holder of an instance (one run per name at a time, so the name is enough). */
export function leaseHolder(name: string): { kind: 'server'; id: string } {
  return { kind: 'server', id: `llama-cpp/${name}` };
}

/** Short text of a thrown value, for logs and messages. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `http://host:port` of an instance (IPv6 in brackets). */
export function baseUrlOf(state: { host: string; port: number }): string {
  const host = state.host === '0.0.0.0' ? '127.0.0.1' : state.host === '::' ? '::1' : state.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${state.port}`;
}
