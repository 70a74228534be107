import type { PluginDefinition } from '../core/plugin-api.ts';
import { gatewayPlugin } from './gateway/index.ts';
import { ilabPlugin } from './ilab/index.ts';
import { llamaCppPlugin } from './llama-cpp/index.ts';
import { nvidiaSmiPlugin } from './nvidia-smi/index.ts';
import { tritonPlugin } from './triton/index.ts';
import { tinkerPlugin } from './tinker/index.ts';
import { trainingPlugin } from './training/index.ts';
import { vllmPodmanPlugin } from './vllm-podman/index.ts';

/**
 * The plugins that ship with backplane, enabled unless `plugins.<id>.enabled: false`.
 * Loading this list does no I/O: each entry is a manifest.
 */
export const builtinPlugins: readonly PluginDefinition<any, any>[] = [nvidiaSmiPlugin, vllmPodmanPlugin, ilabPlugin, llamaCppPlugin, trainingPlugin, tinkerPlugin, tritonPlugin, gatewayPlugin];
