/** What a job's environment is made of; see docs/jobs.md ("Environment"). */
export interface JobEnvPolicy {
  /** Names taken from the daemon's environment; `LC_*` matches every name with that prefix. */
  allowList: readonly string[];
  /** Names never taken, even when allowed: the API keys' `keyEnv` variables. */
  deny: readonly string[];
}

/** The daemon's own settings (`BACKPLANE_DATABASE_URL`, …) never reach a job. */
const daemonPrefix = 'BACKPLANE_';

/** The allowed part of `source` (the daemon's environment). */
export function allowedEnv(source: NodeJS.ProcessEnv, policy: JobEnvPolicy): Record<string, string> {
  const exact = new Set(policy.allowList.filter((name) => !name.endsWith('*')));
  const prefixes = policy.allowList.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1));
  const deny = new Set(policy.deny);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || deny.has(name) || name.startsWith(daemonPrefix)) continue;
    if (exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix))) out[name] = value;
  }
  return out;
}

/**
 * A job's environment: the allowed part of the daemon's, then what the job asked for, then the
 * GPUs it leased (`CUDA_VISIBLE_DEVICES`, and `CUDA_DEVICE_ORDER` so CUDA numbers GPUs as
 * nvidia-smi does).
 */
export function jobEnv(base: Record<string, string>, asked: Record<string, string> | null | undefined, gpus: readonly number[]): Record<string, string> {
  const gpuEnv: Record<string, string> = gpus.length > 0 ? { CUDA_VISIBLE_DEVICES: gpus.join(','), CUDA_DEVICE_ORDER: 'PCI_BUS_ID' } : {};
  return { ...base, ...(asked ?? {}), ...gpuEnv };
}
