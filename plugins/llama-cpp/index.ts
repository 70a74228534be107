import { definePlugin } from '../../core/plugin-api.ts';
import { llamaCppConfigSchema } from './config.ts';
import { LlamaInstanceEntity, llamaMigrations } from './entities.ts';
import { initLlamaCpp } from './plugin-init.ts';
import { addOpenAiRoutes } from './rest-openai.ts';
import { addLlamactlV1Routes } from './rest-v1.ts';
import { addLlamaRouterSchema } from './schema-router.ts';
import { addLlamaSchema } from './schema.ts';
import { addLlamactlSeedRoutes } from './rest-seed.ts';
import { addLlamaSeedSchema } from './seed-schema.ts';

/**
 * llama.cpp `llama-server` instances: named, persisted, supervised (health, crash restarts with
 * back-off, idle stop, group budgets, GPU leases), re-adopted after a daemon restart, and
 * exposed through GraphQL. The OpenAI router and the llamactl REST faces build on its service.
 * @see docs/llama-cpp.md
 */
export const llamaCppPlugin = definePlugin({
  id: 'llama-cpp',
  version: '1.0.0',
  description: 'llama.cpp llama-server instances',
  /** `backplane …` client commands; the client imports only this module. */
  cli: new URL('./cli.ts', import.meta.url),
  contract: '^1',
  optionalDependsOn: ['nvidia-smi'],
  configSchema: llamaCppConfigSchema,
  entities: [LlamaInstanceEntity],
  migrations: llamaMigrations,
  operations: [new URL('./operations-v1.graphql', import.meta.url), new URL('./operations-seed.graphql', import.meta.url)],
  init: initLlamaCpp,
  schema(builder, helpers) {
    addLlamaSchema(builder, helpers);
    addLlamaRouterSchema(builder, helpers);
    addLlamaSeedSchema(builder, helpers);
  },
  rest(routes) {
    addOpenAiRoutes(routes);
    addLlamactlV1Routes(routes);
    addLlamactlSeedRoutes(routes);
  },
});
