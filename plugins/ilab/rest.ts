import { goTextError, InputError, sortedKeys, type RestReply, type RestRequest, type RestRoute } from '../../core/plugin-api.ts';
import { noLatestCheckpoint } from './checkpoints.ts';
import { decodeGoBody } from './rest-body.ts';
import type {
  IlabLegacyCheckpointsQuery,
  IlabLegacyConvertMutation,
  IlabLegacyDatasetsQuery,
  IlabLegacyGenerateMutation,
  IlabLegacyModelsQuery,
  IlabLegacyPipelineMutation,
  IlabLegacyQnaEvalMutation,
  IlabLegacyServeBaseMutation,
  IlabLegacyServeFieldsFragment,
  IlabLegacyServeLatestMutation,
  IlabLegacyTrainMutation,
} from '../../schema/generated/graphql.ts';

/** The operations behind the routes below. */
export const ilabOperations = new URL('./operations.graphql', import.meta.url);

const text = goTextError;

/** Legacy `{modelName, branchName, epochs?}` of `/model/train` and `/pipeline/generate-train`. */
function trainVariables(request: RestRequest) {
  const body = decodeGoBody(request.body, { modelName: 'string', branchName: 'string', epochs: 'int' });
  if (body.modelName === '' || body.branchName === '') throw new InputError('Missing required parameters: modelName or branchName');
  // The legacy pipeline route skipped this check and passed 0 or -3 on to ilab; both refuse it now.
  if (body.epochs !== null && (body.epochs <= 0 || body.epochs > 2 ** 31 - 1)) throw new InputError("'epochs' must be a positive integer");
  return body;
}

/** Go maps, so the keys are sorted. */
function serveReply(result: IlabLegacyServeFieldsFragment): RestReply {
  if (result.status === 'already_running') {
    return { json: sortedKeys({ job_id: result.jobId, message: `Model '${result.servedModelName}' is already being served.`, status: 'already_running' }) };
  }
  return { json: sortedKeys({ job_id: result.jobId, status: result.backend === 'vllm' ? 'vllm container started' : 'model process started' }) };
}

/** The ilab routes of the InstructLab UI api-server (`ilab-ui` profile), answering as the Go server did. */
export const ilabRoutes: RestRoute[] = [
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/models',
    operation: 'IlabLegacyModels',
    errors: { BACKEND_ERROR: { message: 'Failed to retrieve models' }, TIMEOUT: { message: 'Failed to retrieve models' } },
    reply(data: IlabLegacyModelsQuery) {
      // The legacy server never answered with an empty list.
      if (data.ilabModels.length === 0) return text(500, 'Failed to retrieve models');
      return { json: data.ilabModels.map((m) => ({ name: m.name, last_modified: m.lastModified, size: m.size })) };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/data',
    operation: 'IlabLegacyDatasets',
    reply(data: IlabLegacyDatasetsQuery) {
      const rows = data.ilabDatasets.map((d) => ({ dataset: d.dataset, created_at: d.createdAt, file_size: d.fileSize }));
      return { json: rows.length === 0 ? null : rows };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/data/generate',
    operation: 'IlabLegacyGenerate',
    body: 'ignore',
    reply: (data: IlabLegacyGenerateMutation) => ({ json: { job_id: data.startIlabDataGenerate.jobId } }),
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/model/train',
    operation: 'IlabLegacyTrain',
    body: 'raw',
    variables: trainVariables,
    errors: {
      BACKEND_ERROR: (e) => text(500, e.message.startsWith('Failed to checkout branch') ? e.message : 'Failed to start train job'),
      CONFLICT: { status: 500, message: 'Failed to start train job' },
    },
    reply: (data: IlabLegacyTrainMutation) => ({ json: { job_id: data.startIlabTrain.jobId } }),
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/pipeline/generate-train',
    operation: 'IlabLegacyPipeline',
    body: 'raw',
    // As the Go server: an unknown branch or model is a pipeline that fails, with the reason in its log.
    variables: (request) => ({ ...trainVariables(request), deferChecks: true }),
    errors: {
      BACKEND_ERROR: (e) => text(500, e.message.startsWith('Failed to checkout branch') ? e.message : 'Failed to create pipeline job'),
      CONFLICT: { status: 500, message: 'Failed to create pipeline job' },
    },
    reply: (data: IlabLegacyPipelineMutation) => ({ json: { pipeline_job_id: data.startIlabPipeline.jobId } }),
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/model/serve-latest',
    operation: 'IlabLegacyServeLatest',
    body: 'raw',
    // Every click restarts a local server, as the Go server did (vLLM answers already_running).
    variables: (request) => ({ checkpoint: decodeGoBody(request.body, { checkpoint: 'string' }).checkpoint || null, restart: true }),
    errors: { NOT_FOUND: (e) => text(e.message === noLatestCheckpoint ? 500 : 404, e.message) },
    reply: (data: IlabLegacyServeLatestMutation) => serveReply(data.serveIlabLatest),
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/model/serve-base',
    operation: 'IlabLegacyServeBase',
    body: 'ignore',
    variables: () => ({ restart: true }),
    reply: (data: IlabLegacyServeBaseMutation) => serveReply(data.serveIlabBase),
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/qna-eval',
    operation: 'IlabLegacyQnaEval',
    body: 'raw',
    variables(request) {
      const body = decodeGoBody(request.body, { model_path: 'string', yaml_file: 'string' });
      // The legacy server stat()ed the empty path and reported it missing.
      if (body.model_path === '') throw new InputError('Model path does not exist: ');
      if (body.yaml_file === '') throw new InputError('YAML file does not exist: ');
      return { modelPath: body.model_path, yamlFile: body.yaml_file };
    },
    // The one legacy route whose server errors are JSON.
    errors: Object.fromEntries(['UNAVAILABLE', 'BACKEND_ERROR', 'TIMEOUT', 'CONFLICT', 'INTERNAL_SERVER_ERROR'].map((code) => [code, (e: { message: string }) => ({ status: 500, json: { error: e.message } })])),
    reply(data: IlabLegacyQnaEvalMutation) {
      const { outcome, output } = data.runIlabQnaEval;
      return outcome === 'succeeded' ? { json: { result: output } } : { status: 500, json: { error: output } };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/checkpoints',
    operation: 'IlabLegacyCheckpoints',
    reply(data: IlabLegacyCheckpointsQuery) {
      return { json: data.ilabCheckpoints.length === 0 ? null : data.ilabCheckpoints.map((c) => c.name) };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/model/convert',
    operation: 'IlabLegacyConvert',
    body: 'raw',
    variables(request) {
      const { model_dir } = decodeGoBody(request.body, { model_dir: 'string' });
      if (model_dir === '') throw new InputError('Missing required parameter: model_dir');
      return { modelDir: model_dir };
    },
    errors: { FORBIDDEN: { status: 403, message: 'Model conversion endpoint is available only on OSX' } },
    reply: (data: IlabLegacyConvertMutation) => ({ json: { job_id: data.startIlabConvert.jobId } }),
  },
];
