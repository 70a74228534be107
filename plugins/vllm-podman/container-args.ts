import type { VllmPodmanConfig } from './config.ts';

/** Labels on every container the plugin creates; reconcile finds its containers by them. */
export const labelKeys = {
  managed: 'backplane.managed',
  plugin: 'backplane.plugin',
  instance: 'backplane.instance',
  servedName: 'backplane.served-name',
  port: 'backplane.port',
  modelPath: 'backplane.model-path',
} as const;

export const pluginLabel = `${labelKeys.plugin}=vllm-podman`;

export interface RunArgsInput {
  config: Pick<VllmPodmanConfig, 'image' | 'pull' | 'entrypoint' | 'host' | 'shmSize'>;
  /** This daemon's id, so two daemons on one host never touch each other's containers. */
  instanceId: string;
  name: string;
  containerName: string;
  /** Resolved real path; mounted read-only at the same path. */
  modelPath: string;
  port: number;
  /** `['--device', 'nvidia.com/gpu=0', …]` from the GPU lease, or none. */
  deviceArgs: readonly string[];
  /** Validated vLLM arguments. */
  vllmArgs: readonly string[];
}

/**
 * The `podman run` argv (without `podman`) for one vLLM server. Host networking with vLLM bound
 * to `config.host` (loopback by default) keeps the port off the network and needs no bridge;
 * only the model path is mounted, read-only; `--` ends podman's options before the image.
 */
export function buildRunArgs({ config, instanceId, name, containerName, modelPath, port, deviceArgs, vllmArgs }: RunArgsInput): string[] {
  const labels = {
    [labelKeys.managed]: 'true',
    [labelKeys.plugin]: 'vllm-podman',
    [labelKeys.instance]: instanceId,
    [labelKeys.servedName]: name,
    [labelKeys.port]: String(port),
    [labelKeys.modelPath]: modelPath,
  };
  return [
    'run',
    '--detach',
    '--name',
    containerName,
    `--pull=${config.pull}`,
    ...Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    '--network',
    'host',
    '--security-opt',
    'no-new-privileges',
    '--shm-size',
    config.shmSize,
    '--volume',
    `${modelPath}:${modelPath}:ro`,
    ...deviceArgs,
    ...(config.entrypoint ? ['--entrypoint', JSON.stringify(config.entrypoint)] : []),
    '--',
    config.image,
    modelPath,
    '--served-model-name',
    name,
    '--host',
    config.host,
    '--port',
    String(port),
    ...vllmArgs,
  ];
}
