import { definePlugin } from '../../core/plugin-api.ts';
import { nvidiaSmiConfigSchema } from './config.ts';
import { gpuFreeRoute } from './rest.ts';
import { addNvidiaSmiSchema } from './schema.ts';
import { startNvidiaSmi, type NvidiaSmiApi } from './service.ts';

/**
 * GPU inventory, live usage and history from nvidia-smi; the gpu service's inventory source, so
 * jobs and servers can lease free GPUs; `GET /gpu-free` for the ilab-ui API.
 *
 * @see docs/gpus.md
 */
export const nvidiaSmiPlugin = definePlugin<typeof nvidiaSmiConfigSchema, NvidiaSmiApi>({
  id: 'nvidia-smi',
  version: '1.0.0',
  description: 'GPU inventory, usage and free GPUs from nvidia-smi; the source of GPU leases',
  configSchema: nvidiaSmiConfigSchema,
  operations: [new URL('./operations.graphql', import.meta.url)],
  init: (services) => startNvidiaSmi(services),
  schema: addNvidiaSmiSchema,
  rest(routes) {
    routes.add(gpuFreeRoute);
  },
});
