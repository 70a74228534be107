import type { GpuInfo } from '../../core/plugin-api.ts';

/**
 * An idle GPU as the nvidia-smi plugin would report it, for tests that need a GPU inventory
 * without the plugin (this machine has no GPU).
 */
export function idleGpu(index: number): GpuInfo {
  return {
    index,
    uuid: `GPU-0000000${index}-aaaa-bbbb-cccc-dddddddddddd`,
    name: 'NVIDIA A100-SXM4-80GB',
    memoryTotalMiB: 81_920,
    memoryUsedMiB: 1,
    memoryFreeMiB: 81_919,
    utilizationPercent: 0,
    temperatureC: 30,
    powerDrawW: 60,
    powerLimitW: 400,
    migMode: null,
    processes: [],
    sampledAt: new Date(),
  };
}
