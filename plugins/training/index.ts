import { definePlugin, UnavailableError } from '../../core/plugin-api.ts';
import { trainingConfigSchema } from './config.ts';
import { trainingEntities, trainingMigrations } from './entities.ts';
import { addTrainingRoutes } from './rest.ts';
import { addTrainingSchema } from './schema.ts';
import { TrainingService } from './service.ts';

/**
 * The Model Training Manager, rebuilt on backplane: datasets (multipart uploads parsed as they
 * stream), fine-tuning jobs that each run one bwp/1 trainer process through the core job
 * service (GPU leases, logs, restart survival, cancel of the process group), a worker pool fed
 * by a scheduler, projects that mix datasets by trait, and the `training-manager` REST face.
 * @see docs/training.md
 */
export const trainingPlugin = definePlugin({
  id: 'training',
  version: '1.0.0',
  description: 'Model Training Manager: datasets, fine-tuning jobs, worker pool, projects',
  contract: '^1',
  optionalDependsOn: ['nvidia-smi'],
  configSchema: trainingConfigSchema,
  entities: trainingEntities,
  migrations: trainingMigrations,
  operations: [new URL('./operations.graphql', import.meta.url)],
  async init(services) {
    const service = new TrainingService(services);
    try {
      await service.init();
    } catch (error) {
      throw new UnavailableError(`training: cannot load its state: ${(error as Error).message}`, { cause: error });
    }
    return service;
  },
  schema(builder, helpers) {
    addTrainingSchema(builder, helpers);
  },
  rest(routes) {
    addTrainingRoutes(routes);
  },
});
