import { InputError, type HttpMethod, type RestErrorReplies, type RestRegistrar, type RestReply, type RestRequest } from '../../core/plugin-api.ts';
import { fromV1Options, toV1Instance, type V1InstanceData } from './llamactl-json.ts';
import { queryOf } from './rest-openai.ts';
import { checkInstanceName } from './service.ts';

const profile = 'llamactl-v1';

/** llamactl's error body (`pkg/server/handlers.go` writeError). */
const v1Error = (status: number, error: string, details: string): RestReply => ({ status, json: { error, details } });

const invalidName = 'Invalid instance name: ';
const invalidBody = 'Invalid request body';
const invalidLines = 'Invalid lines parameter: ';

/** `{name}` checked as llamactl's `ValidateInstanceName` does (`invalid_instance_name`, 400). */
function nameOf(request: RestRequest): string {
  try {
    return checkInstanceName(request.params.name);
  } catch (error) {
    throw new InputError(`${invalidName}${(error as Error).message.replace(/^Invalid input: /, '')}`);
  }
}

/**
 * The errors of one instance action, with llamactl's codes (`create_failed`, `start_failed`, …,
 * prefixed "Failed to <action> instance: " as llamactl words them). Statuses are more precise
 * than llamactl's catch-all 500: 409 for a conflict (a duplicate name, a running instance), 503
 * when llama-server is missing.
 */
function actionErrors(action: 'create' | 'update' | 'delete' | 'start' | 'stop' | 'restart' | 'get' | 'logs'): RestErrorReplies {
  const failed = action === 'logs' ? 'logs_failed' : `${action}_failed`;
  const wrap = (message: string) => (action === 'logs' ? `Failed to get logs: ${message}` : `Failed to ${action} instance: ${message}`);
  return {
    BAD_USER_INPUT: ({ message }) =>
      message.startsWith(invalidName)
        ? v1Error(400, 'invalid_instance_name', message)
        : message.startsWith(invalidBody)
          ? v1Error(400, 'invalid_request', message)
          : message.startsWith(invalidLines)
            ? v1Error(400, 'invalid_parameter', message)
            : v1Error(400, failed, wrap(message)),
    NOT_FOUND: ({ message }) => v1Error(404, 'not_found', message),
    // A full group (or GPUs no idle instance can free) is llamactl's max_instances_reached.
    CONFLICT: ({ message }) => (action !== 'create' && message.startsWith('Cannot start') ? v1Error(409, 'max_instances_reached', message) : v1Error(409, failed, wrap(message))),
    UNAVAILABLE: ({ message }) => v1Error(503, failed, wrap(message)),
    TIMEOUT: ({ message }) => v1Error(504, failed, wrap(message)),
    BACKEND_ERROR: ({ message }) => v1Error(502, failed, wrap(message)),
  };
}

/** A proxy route's errors: llamactl's `invalid_instance` (400) and `instance_not_running` (503). */
const proxyErrors: RestErrorReplies = {
  BAD_USER_INPUT: ({ message }) => v1Error(400, 'invalid_instance', message),
  NOT_FOUND: ({ message }) => v1Error(400, 'invalid_instance', `failed to get instance by name: ${message}`),
  UNAVAILABLE: ({ message }) => v1Error(503, 'instance_not_running', message.includes('is not running') ? 'Instance is not running' : message),
  BACKEND_ERROR: ({ message }) => v1Error(503, 'instance_not_running', `Instance failed to become healthy: ${message}`),
  TIMEOUT: ({ message }) => v1Error(503, 'instance_not_running', `Instance failed to become healthy: ${message}`),
  CONFLICT: ({ message }) => v1Error(409, 'max_instances_reached', message),
};

type One = { [field: string]: V1InstanceData | null };
const instanceReply =
  (field: string, status = 200) =>
  (data: One): RestReply =>
    data[field] ? { status, json: toV1Instance(data[field]) } : v1Error(404, 'not_found', 'instance not found');

/** `?lines=N`: all lines (the last 10 000 at most) when absent or negative, as llamactl's -1. */
function linesOf(request: RestRequest): number {
  const raw = request.query.get('lines');
  if (raw === null || raw === '') return 10_000;
  if (!/^[+-]?\d+$/.test(raw)) throw new InputError(`${invalidLines}strconv.Atoi: parsing "${raw}": invalid syntax`);
  const lines = Number(raw);
  return lines < 0 || lines > 10_000 ? 10_000 : lines;
}

/**
 * llamactl's real API (`pkg/server/routes.go`, profile `llamactl-v1`): `/api/v1/version`,
 * `/config`, `/instances` CRUD with llamactl's JSON, `start`/`stop`/`restart`, `logs?lines=`,
 * `/instances/{name}/proxy/…` (no on-demand start) and `/llama-cpp/{name}/…` (with it), so a
 * llamactl client or web UI works unchanged.
 */
export function addLlamactlV1Routes(routes: RestRegistrar): void {
  routes.add({
    profile,
    method: 'GET',
    path: '/api/v1/version',
    operation: 'LlamaV1Version',
    reply: (data: { daemon: { version: string } }) => ({ text: `Version: ${data.daemon.version}\nCommit: unknown\nBuild Time: unknown\n`, headers: { 'content-type': 'text/plain' } }),
  });
  routes.add({ profile, method: 'GET', path: '/api/v1/config', operation: 'LlamaV1Config', reply: (data: { llamaCppConfig: unknown }) => ({ json: llamactlConfig(data.llamaCppConfig as ConfigView) }) });

  routes.add({
    profile,
    method: 'GET',
    path: '/api/v1/instances',
    operation: 'LlamaV1List',
    reply: (data: { llamaInstances: { edges: { node: V1InstanceData }[] } }) => ({ json: data.llamaInstances.edges.map((e) => toV1Instance(e.node)) }),
  });
  routes.add({ profile, method: 'GET', path: '/api/v1/instances/{name}', operation: 'LlamaV1Get', variables: (r) => ({ name: nameOf(r) }), errors: actionErrors('get'), reply: instanceReply('llamaInstance') });
  routes.add({
    profile,
    method: 'POST',
    path: '/api/v1/instances/{name}',
    operation: 'LlamaV1Create',
    body: 'json',
    variables: (r) => {
      const name = nameOf(r);
      const { modelPath, port, options } = fromV1Options(r.body);
      if (modelPath === undefined) throw new InputError(`${invalidBody}: backend_options.model is required`);
      return { input: { name, modelPath, port, options } };
    },
    errors: actionErrors('create'),
    reply: instanceReply('createLlamaInstance', 201),
  });
  routes.add({
    profile,
    method: 'PUT',
    path: '/api/v1/instances/{name}',
    operation: 'LlamaV1Update',
    body: 'json',
    // llamactl's update restarts a running instance to apply the change.
    variables: (r) => ({ name: nameOf(r), input: fromV1Options(r.body) }),
    errors: actionErrors('update'),
    reply: instanceReply('updateLlamaInstance'),
  });
  routes.add({
    profile,
    method: 'DELETE',
    path: '/api/v1/instances/{name}',
    operation: 'LlamaV1Delete',
    body: 'ignore',
    variables: (r) => ({ name: nameOf(r) }),
    errors: actionErrors('delete'),
    reply: (data: { deleteLlamaInstance: boolean }) => (data.deleteLlamaInstance ? { status: 204, empty: true } : v1Error(404, 'not_found', 'instance not found')),
  });
  for (const [action, operation, field] of [
    ['start', 'LlamaV1Start', 'startLlamaInstance'],
    ['stop', 'LlamaV1Stop', 'stopLlamaInstance'],
    ['restart', 'LlamaV1Restart', 'restartLlamaInstance'],
  ] as const) {
    routes.add({
      profile,
      method: 'POST',
      path: `/api/v1/instances/{name}/${action}`,
      operation,
      body: 'ignore',
      rateLimit: 'heavy',
      variables: (r) => ({ name: nameOf(r) }),
      errors: actionErrors(action),
      reply: instanceReply(field),
    });
  }
  routes.add({
    profile,
    method: 'GET',
    path: '/api/v1/instances/{name}/logs',
    operation: 'LlamaV1Logs',
    variables: (r) => ({ name: nameOf(r), lines: linesOf(r) }),
    errors: actionErrors('logs'),
    reply: (data: { llamaInstance: { recentLogs: string[] } | null }) => {
      if (!data.llamaInstance) return v1Error(404, 'not_found', 'instance not found');
      const lines = data.llamaInstance.recentLogs;
      return { text: lines.length ? `${lines.join('\n')}\n` : '', headers: { 'content-type': 'text/plain' } };
    },
  });

  const proxyMethods: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  for (const method of proxyMethods) {
    // llamactl's instance proxy: the running instance only, the prefix stripped.
    routes.add({
      profile,
      method,
      path: '/api/v1/instances/{name}/proxy/{rest*}',
      operation: 'LlamaRouteRequest',
      body: 'stream',
      rateLimit: 'none',
      variables: (r) => ({ model: nameOf(r), start: false }),
      errors: proxyErrors,
      reply: (data: { routeLlamaRequest: { baseUrl: string } }, r) => ({ proxy: { url: `${data.routeLlamaRequest.baseUrl}/${r.params.rest}${queryOf(r)}` } }),
    });
  }
  for (const method of ['GET', 'POST'] as const) {
    // llama.cpp's own endpoints (`/props`, `/completion`, `/v1/…`), started on demand as llamactl's LlamaCppProxy does.
    routes.add({
      profile,
      method,
      path: '/llama-cpp/{name}/{rest*}',
      operation: 'LlamaRouteRequest',
      body: 'stream',
      rateLimit: 'none',
      variables: (r) => ({ model: nameOf(r), start: true }),
      errors: proxyErrors,
      reply: (data: { routeLlamaRequest: { baseUrl: string } }, r) => ({ proxy: { url: `${data.routeLlamaRequest.baseUrl}/${r.params.rest}${queryOf(r)}` } }),
    });
  }
}

/** The plugin config fields `/api/v1/config` maps onto llamactl's `AppConfig`. */
interface ConfigView {
  llamaServerPath: string;
  host: string;
  portRange: { from: number; to: number };
  onDemandStartTimeoutMs: number;
  idleCheckIntervalMs: number;
  restart: { initialDelayMs: number; maxRestarts: number };
}

/** llamactl's sanitized `AppConfig` (what maps), with backplane's own plugin config beside it. */
function llamactlConfig(config: ConfigView): Record<string, unknown> {
  return {
    backends: { 'llama-cpp': { command: config.llamaServerPath, args: [], environment: {} } },
    instances: {
      port_range: [config.portRange.from, config.portRange.to],
      max_instances: -1,
      max_running_instances: -1,
      enable_lru_eviction: true,
      default_auto_restart: true,
      default_max_restarts: config.restart.maxRestarts,
      default_restart_delay: Math.round(config.restart.initialDelayMs / 1000),
      default_on_demand_start: false,
      on_demand_start_timeout: Math.round(config.onDemandStartTimeoutMs / 1000),
      timeout_check_interval: Math.max(1, Math.round(config.idleCheckIntervalMs / 60_000)),
    },
    backplane: config,
  };
}
