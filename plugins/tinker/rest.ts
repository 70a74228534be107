import { InputError, type RestErrorReplies, type RestReply, type RestRequest, type RestRoute } from '../../core/plugin-api.ts';
import { tinkerMaxBodyBytes } from './config.ts';

/** The GraphQL documents the routes below run. */
export const tinkerOperations = new URL('./operations.graphql', import.meta.url);

/** The SDK's long poll: held at most this long before 408 (its own timeout is 45 s). */
const longPollSeconds = 25;

/** Backpressure as the SDK reads it: 429 with a `queue_state` (it backs off and retries). */
const errors: RestErrorReplies = {
  RATE_LIMITED: (error) => ({ status: 429, json: { detail: error.message, queue_state: 'paused_capacity', queue_state_reason: error.message } }),
};

interface RetrievedFuture {
  queueState: string;
  queueStateReason: string | null;
  future: { id: string; state: string; result: unknown; error: string | null; category: string | null };
}

/** A POST route running one wire mutation with the whole body. */
function wire(path: string, operation: string, field: string, options: Partial<RestRoute> = {}): RestRoute {
  return {
    profile: 'tinker',
    method: 'POST',
    path: `/api/v1/${path}`,
    operation,
    maxBodyBytes: tinkerMaxBodyBytes,
    variables: { body: 'body' },
    errors,
    reply: (data: Record<string, unknown>) => ({ json: data[field] }),
    ...options,
  };
}

function bodyOrEmpty(request: RestRequest): Record<string, unknown> {
  return { body: request.body ?? {} };
}

/** The SDK's retrieve_future (training-apis §2.3): bare result, `{error, category}`, or 408 while pending. */
function sdkRetrieveReply(data: { tinkerRetrieveFuture: RetrievedFuture }): RestReply {
  const { future, queueState, queueStateReason } = data.tinkerRetrieveFuture;
  if (future.state === 'complete') return { json: future.result };
  if (future.state === 'failed') return { json: { error: future.error, category: future.category ?? 'unknown' } };
  return { status: 408, json: { detail: `Request ${future.id} is still ${future.state}; poll again`, request_id: future.id, queue_state: queueState, queue_state_reason: queueStateReason } };
}

/** The seed's envelope: `{status: pending|completed|failed, result, error}`. */
function envelopeReply(data: { tinkerRetrieveFuture: RetrievedFuture }): RestReply {
  const { future } = data.tinkerRetrieveFuture;
  if (future.state === 'complete') return { json: { status: 'completed', result: future.result, error: null } };
  if (future.state === 'failed') return { json: { status: 'failed', result: null, error: future.error, category: future.category } };
  return { json: { status: 'pending', result: null, error: null } };
}

const clientConfig = {
  pjwt_auth_enabled: false,
  proto_write_fwdbwd: false,
  proto_compress_fwdbwd: false,
  parallel_fwdbwd_chunks: true,
  fwdbwd_max_chunk_len: 1024,
};

/**
 * The Tinker REST API (profile `tinker`, FastAPI `{detail}` errors, `X-API-Key` or Bearer keys):
 * every route the official SDK ≤ 0.24 calls (training-apis §2.1) and the tinkercloud seed's
 * extras (§2.2), on the operations in operations.graphql.
 * @see docs/tinker.md
 */
export const tinkerRoutes: RestRoute[] = [
  { profile: 'tinker', method: 'GET', path: '/health', operation: 'TinkerHealth', rateLimit: 'none', reply: () => ({ json: { status: 'healthy' } }) },
  { profile: 'tinker', method: 'GET', path: '/api/v1/healthz', operation: 'TinkerHealth', rateLimit: 'none', reply: () => ({ json: { status: 'ok' } }) },
  { profile: 'tinker', method: 'GET', path: '/api/v1/health', operation: 'TinkerHealthDetails', rateLimit: 'none', reply: (data) => ({ json: data.tinkerHealthDetails }) },
  { profile: 'tinker', method: 'POST', path: '/api/v1/client/config', operation: 'TinkerServerCapabilities', body: 'json-optional', reply: () => ({ json: clientConfig }) },
  { profile: 'tinker', method: 'POST', path: '/api/v1/telemetry', operation: 'TinkerServerCapabilities', body: 'json-optional', maxBodyBytes: tinkerMaxBodyBytes, reply: () => ({ json: { status: 'accepted' } }) },
  { profile: 'tinker', method: 'GET', path: '/api/v1/get_server_capabilities', operation: 'TinkerServerCapabilities', reply: (data) => ({ json: data.tinkerServerCapabilities }) },
  wire('create_session', 'TinkerCreateSession', 'tinkerCreateSession', { body: 'json-optional', variables: bodyOrEmpty }),
  wire('session_heartbeat', 'TinkerSessionHeartbeat', 'tinkerSessionHeartbeat'),
  wire('create_sampling_session', 'TinkerCreateSamplingSession', 'tinkerCreateSamplingSession'),
  wire('create_sampling_client', 'TinkerCreateSamplingSession', 'tinkerCreateSamplingSession'),
  wire('create_model', 'TinkerCreateModel', 'tinkerCreateModel'),
  wire('get_info', 'TinkerModelInfo', 'tinkerModelInfo'),
  wire('unload_model', 'TinkerUnloadModel', 'tinkerUnloadModel'),
  wire('delete_model', 'TinkerDeleteModel', 'tinkerDeleteModel'),
  {
    profile: 'tinker',
    method: 'GET',
    path: '/api/v1/get_tokenizer',
    operation: 'TinkerTokenizer',
    variables: (request) => {
      const modelId = request.query.get('model_id');
      if (!modelId) throw new InputError('model_id: required query parameter');
      return { modelId };
    },
    reply: (data) => ({ json: data.tinkerTokenizer }),
  },
  wire('forward', 'TinkerForward', 'tinkerForward'),
  wire('forward_backward', 'TinkerForwardBackward', 'tinkerForwardBackward'),
  wire('optim_step', 'TinkerOptimStep', 'tinkerOptimStep'),
  wire('save_weights', 'TinkerSaveWeights', 'tinkerSaveWeights'),
  wire('save_weights_for_sampler', 'TinkerSaveWeightsForSampler', 'tinkerSaveWeightsForSampler'),
  wire('load_weights', 'TinkerLoadWeights', 'tinkerLoadWeights'),
  wire('weights_info', 'TinkerWeightsInfo', 'tinkerWeightsInfo'),
  wire('asample', 'TinkerAsample', 'tinkerAsample'),
  wire('sample', 'TinkerSample', 'tinkerSample'),
  wire('cleanup_futures', 'TinkerCleanupFutures', 'tinkerCleanupFutures', { body: 'json-optional', variables: bodyOrEmpty }),
  {
    profile: 'tinker',
    method: 'POST',
    path: '/api/v1/retrieve_future',
    operation: 'TinkerRetrieveFuture',
    variables: (request) => {
      const body = request.body as { request_id?: unknown } | undefined;
      if (typeof body?.request_id !== 'string' || body.request_id === '') throw new InputError('request_id: required');
      return { requestId: body.request_id, waitSeconds: longPollSeconds };
    },
    reply: sdkRetrieveReply,
  },
  {
    profile: 'tinker',
    method: 'POST',
    path: '/api/v1/retrieve_future/{request_id}',
    operation: 'TinkerRetrieveFuture',
    body: 'json-optional',
    variables: (request) => ({ requestId: request.params.request_id, waitSeconds: 0 }),
    reply: envelopeReply,
  },
  {
    profile: 'tinker',
    method: 'GET',
    path: '/api/v1/sessions',
    operation: 'TinkerSessions',
    variables: (request) => ({ limit: intQuery(request, 'limit', 20, 1, 1000), offset: intQuery(request, 'offset', 0, 0, 1e9) }),
    reply: (data: { tinkerSessions: { id: string }[] }) => ({ json: { sessions: data.tinkerSessions.map((s) => s.id) } }),
  },
  {
    profile: 'tinker',
    method: 'GET',
    path: '/api/v1/sessions/{session_id}',
    operation: 'TinkerSessionDetail',
    variables: { id: 'params.session_id' },
    reply: (data: { tinkerSession: { id: string; models: { id: string }[]; samplers: { id: string }[] } | null }, request) =>
      data.tinkerSession
        ? { json: { session_id: data.tinkerSession.id, training_run_ids: data.tinkerSession.models.map((m) => m.id), sampler_ids: data.tinkerSession.samplers.map((s) => s.id) } }
        : { status: 404, json: { detail: `Session ${request.params.session_id} not found` } },
  },
  {
    profile: 'tinker',
    method: 'GET',
    path: '/api/v1/samplers/{sampler_id}',
    operation: 'TinkerSamplerDetail',
    variables: { id: 'params.sampler_id' },
    reply: (data: { tinkerSampler: { id: string; baseModel: string; modelPath: string | null; status: string } | null }, request) =>
      data.tinkerSampler
        ? { json: { sampler_id: data.tinkerSampler.id, base_model: data.tinkerSampler.baseModel, model_path: data.tinkerSampler.modelPath, status: data.tinkerSampler.status } }
        : { status: 404, json: { detail: `Sampler ${request.params.sampler_id} not found` } },
  },
];

interface RunCheckpoint {
  path: string;
  kind: string;
  name: string;
  bytes: number;
  createdAt: string;
}
interface Run {
  id: string;
  baseModel: string;
  status: string;
  updatedAt: string;
  lora: { rank: number };
  checkpoints: RunCheckpoint[];
}

/** The SDK RestClient's `Checkpoint`. */
function checkpointJson(c: RunCheckpoint) {
  return { checkpoint_id: c.name, checkpoint_type: c.kind === 'weights' ? 'training' : 'sampler', time: c.createdAt, tinker_path: c.path, size_bytes: c.bytes };
}

/** The SDK RestClient's `TrainingRun`. */
function runJson(r: Run) {
  const last = (kind: string) => r.checkpoints.filter((c) => c.kind === kind).at(-1);
  return {
    training_run_id: r.id,
    base_model: r.baseModel,
    model_owner: null,
    is_lora: r.lora.rank > 0,
    lora_rank: r.lora.rank,
    corrupted: r.status === 'failed' || r.status === 'lost',
    last_request_time: r.updatedAt,
    last_checkpoint: last('weights') ? checkpointJson(last('weights')!) : null,
    last_sampler_checkpoint: last('sampler_weights') ? checkpointJson(last('sampler_weights')!) : null,
    status: r.status,
  };
}

const notFoundRun = (request: RestRequest): RestReply => ({ status: 404, json: { detail: `Training run ${request.params.run_id} not found` } });

/** The SDK's RestClient routes (training runs and their checkpoints). */
export const tinkerRestClientRoutes: RestRoute[] = [
  {
    profile: 'tinker',
    method: 'GET',
    path: '/api/v1/training_runs',
    operation: 'TinkerTrainingRuns',
    reply: (data: { tinkerModels: Run[] }, request) => {
      const limit = intQuery(request, 'limit', 20, 1, 1000);
      const offset = intQuery(request, 'offset', 0, 0, 1e9);
      const runs = data.tinkerModels.filter((m) => m.status !== 'deleted');
      return { json: { training_runs: runs.slice(offset, offset + limit).map(runJson), cursor: { offset, limit, total_count: runs.length } } };
    },
  },
  {
    profile: 'tinker',
    method: 'GET',
    path: '/api/v1/training_runs/{run_id}',
    operation: 'TinkerTrainingRun',
    variables: { id: 'params.run_id' },
    reply: (data: { tinkerModel: Run | null }, request) => (data.tinkerModel ? { json: runJson(data.tinkerModel) } : notFoundRun(request)),
  },
  {
    profile: 'tinker',
    method: 'GET',
    path: '/api/v1/training_runs/{run_id}/checkpoints',
    operation: 'TinkerTrainingRun',
    variables: { id: 'params.run_id' },
    reply: (data: { tinkerModel: Run | null }, request) => (data.tinkerModel ? { json: { checkpoints: data.tinkerModel.checkpoints.map(checkpointJson) } } : notFoundRun(request)),
  },
  {
    profile: 'tinker',
    method: 'GET',
    path: '/api/v1/checkpoints',
    operation: 'TinkerAllCheckpoints',
    reply: (data: { tinkerCheckpoints: RunCheckpoint[] }) => ({ json: { checkpoints: data.tinkerCheckpoints.map(checkpointJson) } }),
  },
  {
    profile: 'tinker',
    method: 'DELETE',
    path: '/api/v1/training_runs/{run_id}/checkpoints/{checkpoint_id}',
    operation: 'TinkerDeleteCheckpoint',
    body: 'ignore',
    // A bare id names a training checkpoint (`weights/<id>`).
    variables: (request) => ({ path: `tinker://${request.params.run_id}/weights/${request.params.checkpoint_id}` }),
    reply: (data: { tinkerDeleteCheckpoint: boolean }, request) =>
      data.tinkerDeleteCheckpoint ? { status: 204, empty: true } : { status: 404, json: { detail: `Checkpoint ${request.params.checkpoint_id} not found` } },
  },
  {
    profile: 'tinker',
    method: 'DELETE',
    path: '/api/v1/training_runs/{run_id}/checkpoints/{kind}/{checkpoint_id}',
    operation: 'TinkerDeleteCheckpoint',
    body: 'ignore',
    variables: (request) => ({ path: `tinker://${request.params.run_id}/${request.params.kind}/${request.params.checkpoint_id}` }),
    reply: (data: { tinkerDeleteCheckpoint: boolean }, request) =>
      data.tinkerDeleteCheckpoint ? { status: 204, empty: true } : { status: 404, json: { detail: `Checkpoint ${request.params.kind}/${request.params.checkpoint_id} not found` } },
  },
];

function intQuery(request: RestRequest, name: string, fallback: number, min: number, max: number): number {
  const raw = request.query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new InputError(`${name}: expected an integer from ${min} to ${max}`);
  return value;
}
