import { definePlugin } from '../../core/plugin-api.ts';
import { gatewayConfigSchema } from './config.ts';
import { GatewayAppEntity, GatewayConsumerEntity, GatewayRouteEntity, gatewayMigrations } from './entities.ts';
import { initGateway } from './plugin-init.ts';
import { addAppRoutes } from './rest-apps.ts';
import { addUserRoutes } from './rest-users.ts';
import { addGatewaySchema } from './schema.ts';

/**
 * The inference gateway: applications publish model endpoints (Triton, vLLM, llama.cpp) under
 * `/gateway/<app>/…` to named consumers (users of the auth store) with keys, ACLs, per-consumer
 * rate limits, retries and metrics; plus the MLServe admin API's users and apps routes.
 * @see docs/gateway.md
 */
export const gatewayPlugin = definePlugin({
  id: 'gateway',
  version: '1.0.0',
  description: 'Inference gateway: apps, routes to model endpoints, consumers',
  contract: '^1',
  optionalDependsOn: ['triton', 'vllm-podman', 'llama-cpp'],
  configSchema: gatewayConfigSchema,
  entities: [GatewayAppEntity, GatewayRouteEntity, GatewayConsumerEntity],
  migrations: gatewayMigrations,
  operations: [new URL('./operations.graphql', import.meta.url)],
  init: initGateway,
  schema: addGatewaySchema,
  rest(routes) {
    addUserRoutes(routes);
    addAppRoutes(routes);
  },
});
