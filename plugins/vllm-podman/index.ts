import { definePlugin } from '../../core/plugin-api.ts';
import { vllmPodmanConfigSchema } from './config.ts';
import { VllmServerEntity, vllmMigrations } from './entities.ts';
import { initVllmPodman } from './plugin-init.ts';
import { vllmOperations, vllmRoutes } from './rest.ts';
import { addVllmSchema } from './schema.ts';

/**
 * vLLM servers in podman containers: any number, one per served name, each with a read-only
 * model mount, leased GPUs and a loopback port; reconciled with podman at start and on a
 * schedule; exposed through GraphQL, the `vllm` serving backend and the ilab-ui vLLM routes.
 * @see docs/vllm-podman.md
 */
export const vllmPodmanPlugin = definePlugin({
  id: 'vllm-podman',
  version: '1.0.0',
  description: 'vLLM model servers in podman containers',
  /** `backplane …` client commands; the client imports only this module. */
  cli: new URL('./cli.ts', import.meta.url),
  contract: '^1',
  configSchema: vllmPodmanConfigSchema,
  entities: [VllmServerEntity],
  migrations: vllmMigrations,
  operations: [vllmOperations],
  init: initVllmPodman,
  schema: addVllmSchema,
  rest(routes) {
    for (const route of vllmRoutes) routes.add(route);
  },
});
