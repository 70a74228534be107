import { definePlugin } from '../../core/plugin-api.ts';
import { ilabConfigSchema } from './config.ts';
import { ilabOperations, ilabRoutes } from './rest.ts';
import { ilabServingRoutes } from './rest-serving.ts';
import { addIlabSchema } from './schema.ts';
import { createIlabService } from './service.ts';

/**
 * InstructLab: models, datasets, checkpoints, data generation, training, generate-then-train
 * pipelines, serving, qna evaluation and model conversion, in GraphQL and as the InstructLab UI
 * api-server's REST routes (`ilab-ui` profile). See docs/ilab.md.
 */
export const ilabPlugin = definePlugin({
  id: 'ilab',
  version: '1.0.0',
  description: 'InstructLab (ilab CLI): models, data generation, training, pipelines, serving, eval',
  /** `backplane …` client commands; the client imports only this module. */
  cli: new URL('./cli.ts', import.meta.url),
  // serve-base / serve-latest use its `vllm` serving backend when servingBackend is vllm.
  optionalDependsOn: ['nvidia-smi', 'vllm-podman'],
  configSchema: ilabConfigSchema,
  operations: [ilabOperations],
  init: (services) => createIlabService(services),
  schema: (builder, helpers) => addIlabSchema(builder, helpers),
  rest(routes) {
    for (const route of [...ilabRoutes, ...ilabServingRoutes]) routes.add(route);
  },
});

export default ilabPlugin;
