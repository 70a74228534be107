import type { GpuService, HttpClientService, JobService, KeyedMutex, Logger, ProcessService } from '../../core/plugin-api.ts';
import type { VllmPodmanConfig } from './config.ts';
import type { Podman } from './podman.ts';
import type { ServerRegistry } from './server-registry.ts';

/** What the plugin's parts share: its config, core services and its own state. */
export interface VllmContext {
  config: VllmPodmanConfig;
  logger: Logger;
  jobs: JobService;
  gpus: GpuService;
  http: HttpClientService;
  /** For the long-lived `podman logs --follow`; one-shot podman commands go through `podman`. */
  processes: ProcessService;
  /** The plugin's stop signal. */
  signal: AbortSignal;
  podman: Podman;
  registry: ServerRegistry;
  /** Written on this daemon's containers (`backplane.instance`); others are never touched. */
  instanceId: string;
  /** Serialises every change of one served name. */
  mutex: KeyedMutex;
  /** Where model paths may be: `modelRoots`, plus the model directories other plugins declared (ilab's). */
  modelRoots(): string[];
}

/** The job kind of a server's `v-` job. */
export const serverJobKind = 'vllm-server';

/** Prefix of the GPU lease holder ids of this plugin's servers. */
export const leaseHolderPrefix = 'vllm-podman/';

/** GPU lease holder of a server (one run per name at a time, so the name is enough). */
export function leaseHolder(name: string): { kind: 'server'; id: string } {
  return { kind: 'server', id: `${leaseHolderPrefix}${name}` };
}

/** Short text of a thrown value, for logs and messages. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
