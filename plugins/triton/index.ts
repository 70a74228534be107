import { definePlugin } from '../../core/plugin-api.ts';
import { tritonConfigSchema } from './config.ts';
import { TritonModelEntity, TritonServerEntity, tritonMigrations } from './entities.ts';
import { initTriton } from './plugin-init.ts';
import { tritonOperations, tritonRoutes } from './rest.ts';
import { addTritonSchema } from './schema.ts';

/**
 * Triton Inference Servers: any number registered by address, probed on a schedule, their model
 * repositories indexed, loaded and unloaded one by one or across the fleet, local repositories
 * written from staged uploads; GraphQL plus the MLServe admin API's tritons and models routes.
 * @see docs/triton.md
 */
export const tritonPlugin = definePlugin({
  id: 'triton',
  version: '1.0.0',
  description: 'NVIDIA Triton Inference Servers and their model repositories',
  contract: '^1',
  /** `backplane …` client commands; the client imports only this module. */
  cli: new URL('./cli.ts', import.meta.url),
  configSchema: tritonConfigSchema,
  entities: [TritonServerEntity, TritonModelEntity],
  migrations: tritonMigrations,
  operations: [tritonOperations],
  init: initTriton,
  schema: addTritonSchema,
  rest(routes) {
    for (const route of tritonRoutes) routes.add(route);
  },
});
