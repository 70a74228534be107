import { definePlugin } from '../../core/plugin-api.ts';
import { llamaCppConfigSchema } from './config.ts';
import { LlamaInstanceEntity, llamaMigrations } from './entities.ts';
import { initLlamaCpp } from './plugin-init.ts';
import { addLlamaSchema } from './schema.ts';

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
  contract: '^1',
  optionalDependsOn: ['nvidia-smi'],
  configSchema: llamaCppConfigSchema,
  entities: [LlamaInstanceEntity],
  migrations: llamaMigrations,
  operations: [new URL('./operations.graphql', import.meta.url)],
  init: initLlamaCpp,
  schema: addLlamaSchema,
});
