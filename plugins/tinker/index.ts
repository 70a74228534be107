import { definePlugin } from '../../core/plugin-api.ts';
import { tinkerConfigSchema } from './config.ts';
import { tinkerEntities, tinkerMigrations } from './entities.ts';
import { initTinker } from './plugin-init.ts';
import { tinkerOperations, tinkerRestClientRoutes, tinkerRoutes } from './rest.ts';
import { addTinkerSchema } from './schema.ts';

/**
 * A Tinker-compatible training and sampling API: sessions, LoRA models, forward/backward,
 * AdamW steps, sampling, checkpoints and futures, with the numbers computed in supervised
 * worker processes speaking bwp/1 (the TypeScript TinyLM by default, PyTorch on GPU hosts).
 * @see docs/tinker.md
 */
export const tinkerPlugin = definePlugin({
  id: 'tinker',
  version: '1.0.0',
  description: 'Tinker-compatible training and sampling API over bwp/1 worker processes',
  contract: '^1',
  /** `backplane …` client commands; the client imports only this module. */
  cli: new URL('./cli.ts', import.meta.url),
  configSchema: tinkerConfigSchema,
  entities: tinkerEntities,
  migrations: tinkerMigrations,
  operations: [tinkerOperations],
  init: initTinker,
  schema: addTinkerSchema,
  rest(routes) {
    for (const route of [...tinkerRoutes, ...tinkerRestClientRoutes]) routes.add(route);
  },
});
