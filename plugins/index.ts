import type { PluginDefinition } from '../core/plugin-api.js';
import { ilabPlugin } from './ilab/index.js';
import { nvidiaSmiPlugin } from './nvidia-smi/index.js';
import { vllmPodmanPlugin } from './vllm-podman/index.js';

/**
 * The plugins that ship with backplane, enabled unless `plugins.<id>.enabled: false`.
 * Loading this list does no I/O: each entry is a manifest.
 */
export const builtinPlugins: readonly PluginDefinition<any, any>[] = [nvidiaSmiPlugin, vllmPodmanPlugin, ilabPlugin];
