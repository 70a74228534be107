import { definePlugin } from '../../core/plugin-api.js';
import { ilabConfigSchema } from './config.js';
import { ilabOperations, ilabRoutes } from './rest.js';
import { addIlabSchema } from './schema.js';
import { createIlabService } from './service.js';

/**
 * InstructLab: models, datasets, checkpoints, data generation, training, generate-then-train
 * pipelines, serving, qna evaluation and model conversion, in GraphQL and as the InstructLab UI
 * api-server's REST routes (`ilab-ui` profile). See docs/ilab.md.
 */
export const ilabPlugin = definePlugin({
  id: 'ilab',
  version: '1.0.0',
  description: 'InstructLab (ilab CLI): models, data generation, training, pipelines, serving, eval',
  // serve-base / serve-latest use its `vllm` serving backend when servingBackend is vllm.
  optionalDependsOn: ['nvidia-smi', 'vllm-podman'],
  configSchema: ilabConfigSchema,
  operations: [ilabOperations],
  init: (services) => createIlabService(services),
  schema: (builder, helpers) => addIlabSchema(builder, helpers),
  rest(routes) {
    for (const route of ilabRoutes) routes.add(route);
  },
});

export default ilabPlugin;
