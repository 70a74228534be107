import { InputError, z, type RestRequest, type RestRoute } from '../../core/plugin-api.ts';
import { logLevels } from './seed-logs.ts';
import type { LlamaInstanceOptions } from './types.ts';

/**
 * llamactl's documented `/api` face, route by route as its first API reference describes it
 * (the llamactl API seed document; the real llamactl's `/api/v1` is rest-v1.ts): instances CRUD and
 * operations, health, logs (`lines`, `level`, `follow` as NDJSON), start-all/stop-all, system
 * status and info, config, JWT login and refresh, and the `/api/ws` WebSocket. Every route runs
 * an operation of operations-seed.graphql; errors are the `llamactl` profile's
 * `{"error", "code", "details"}`.
 * @see docs/llama-cpp.md#llamactls-documented-api-api
 */
const profile = 'llamactl';

/** An instance as operations-seed.graphql's `LlamaSeedInstance` fragment reads it. */
interface SeedInstanceData {
  name: string;
  status: string;
  message: string | null;
  modelPath: string;
  port: number;
  pid: number | null;
  createdAt: string;
  updatedAt: string;
  options: LlamaInstanceOptions;
  health: { state: string; lastCheckAt: string | null; latencyMs: number | null; failureCount: number };
  stats: { rssBytes: number | null; cpuPercent: number | null; uptimeSeconds: number | null; tokensPerSecond: number | null } | null;
}

/** The seed's snake_case option names ↔ the GraphQL input's. */
const optionNames = {
  threads: 'threads',
  context_size: 'ctxSize',
  gpu_layers: 'gpuLayers',
  parallel: 'parallel',
  aliases: 'aliases',
  extra_args: 'extraArgs',
  gpu_count: 'gpuCount',
  gpu_indices: 'gpuIndices',
  auto_restart: 'autoRestart',
  max_restarts: 'maxRestarts',
  on_demand_start: 'onDemandStart',
  idle_timeout_minutes: 'idleTimeoutMinutes',
  group: 'group',
} as const;

const int = z.number().int();
const optionsSchema = z.strictObject({
  threads: int.nullable().optional(),
  context_size: int.optional(),
  gpu_layers: int.optional(),
  parallel: int.optional(),
  aliases: z.array(z.string()).optional(),
  extra_args: z.array(z.string()).optional(),
  gpu_count: int.optional(),
  gpu_indices: z.array(int).optional(),
  auto_restart: z.boolean().optional(),
  max_restarts: int.optional(),
  on_demand_start: z.boolean().optional(),
  idle_timeout_minutes: int.optional(),
  group: z.string().nullable().optional(),
});
const createSchema = z.strictObject({ name: z.string(), model_path: z.string(), port: int.optional(), options: optionsSchema.optional() });
const updateSchema = z.strictObject({ model_path: z.string().optional(), port: int.optional(), options: optionsSchema.optional(), restart: z.boolean().optional() });
const stopSchema = z.strictObject({ force: z.boolean().optional(), timeout: int.optional() }).optional();
const loginSchema = z.strictObject({ username: z.string().min(1).max(256), password: z.string().max(1024) });
const refreshSchema = z.strictObject({ refresh_token: z.string().min(1).max(4096) });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new InputError(issue.code === 'unrecognized_keys' ? `Unknown field(s) in ${where}: ${issue.keys.join(', ')}` : `Invalid ${where}: ${issue.message}`);
}

function toOptionsInput(options: z.output<typeof optionsSchema> | undefined): Record<string, unknown> | undefined {
  if (!options) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[optionNames[key as keyof typeof optionNames]] = value;
  return out;
}

function seedOptions(o: SeedInstanceData['options']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [seed, field] of Object.entries(optionNames)) out[seed] = o[field];
  return out;
}

/** The seed's detail shape (`GET /api/instances/{name}`), plus the options and facts backplane adds. */
function seedInstance(i: SeedInstanceData): Record<string, unknown> {
  return {
    name: i.name,
    status: i.status,
    message: i.message,
    model_path: i.modelPath,
    port: i.port,
    pid: i.pid,
    options: seedOptions(i.options),
    stats: { memory_usage: i.stats?.rssBytes ?? 0, cpu_usage: i.stats?.cpuPercent ?? 0, uptime: i.stats?.uptimeSeconds ?? 0, tokens_per_second: i.stats?.tokensPerSecond ?? null },
    created_at: i.createdAt,
    updated_at: i.updatedAt,
  };
}

/** The seed's list shape. */
function seedListItem(i: SeedInstanceData): Record<string, unknown> {
  return { name: i.name, status: i.status, model_path: i.modelPath, port: i.port, created_at: i.createdAt, updated_at: i.updatedAt };
}

const notFound = (name: string) => ({ status: 404, json: { error: 'Not Found', code: 'NOT_FOUND', details: `Instance '${name}' not found` } });

const nameOf = (request: RestRequest) => request.params.name;

/** `?lines=` as the seed documents it (default 100). */
function linesOf(request: RestRequest): number {
  const raw = request.query.get('lines');
  if (raw === null || raw === '') return 100;
  if (!/^\d+$/.test(raw) || Number(raw) > 10_000) throw new InputError('lines must be a whole number from 0 to 10000');
  return Number(raw);
}

function levelOf(request: RestRequest): string | null {
  const raw = request.query.get('level');
  if (raw === null || raw === '') return null;
  const level = raw.toLowerCase() === 'warning' ? 'warn' : raw.toLowerCase();
  if (!(logLevels as readonly string[]).includes(level)) throw new InputError(`level must be one of ${logLevels.join(', ')}`);
  return level;
}

function followOf(request: RestRequest): boolean {
  const raw = request.query.get('follow');
  if (raw === null || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new InputError('follow must be true or false');
}

const tokens = (t: { accessToken: string; expiresAt: string; expiresIn: number; refreshToken: string; refreshExpiresAt: string; tokenType: string }) => ({
  json: { token: t.accessToken, expires_at: t.expiresAt, expires_in: t.expiresIn, refresh_token: t.refreshToken, refresh_expires_at: t.refreshExpiresAt, token_type: t.tokenType },
});

/** Registers the `/api` routes on the `llamactl` profile. */
export function addLlamactlSeedRoutes(routes: { add(route: RestRoute): void }): void {
  const instance = (field: string) => (data: Record<string, SeedInstanceData | null>, request: RestRequest) => {
    const found = data[field];
    return found ? { json: seedInstance(found) } : notFound(nameOf(request));
  };

  routes.add({
    profile,
    method: 'GET',
    path: '/api/instances',
    operation: 'LlamaSeedList',
    reply: (data: { llamaInstances: { edges: { node: SeedInstanceData }[] } }) => ({ json: { instances: data.llamaInstances.edges.map((e) => seedListItem(e.node)) } }),
  });
  routes.add({
    profile,
    method: 'POST',
    path: '/api/instances',
    operation: 'LlamaSeedCreate',
    variables: (r) => {
      const body = parseBody(createSchema, r.body);
      return { input: { name: body.name, modelPath: body.model_path, port: body.port, options: toOptionsInput(body.options) } };
    },
    reply: (data: { createLlamaInstance: SeedInstanceData }) => {
      const i = data.createLlamaInstance;
      return { status: 201, json: { message: 'Instance created successfully', instance: { ...seedListItem(i), options: seedOptions(i.options) } } };
    },
  });
  routes.add({ profile, method: 'GET', path: '/api/instances/{name}', operation: 'LlamaSeedGet', variables: { name: 'params.name' }, reply: instance('llamaInstance') });
  routes.add({
    profile,
    method: 'PUT',
    path: '/api/instances/{name}',
    operation: 'LlamaSeedUpdate',
    variables: (r) => {
      const body = parseBody(updateSchema, r.body);
      return { name: nameOf(r), input: { modelPath: body.model_path, port: body.port, options: toOptionsInput(body.options) }, restart: body.restart ?? r.query.get('restart') === 'true' };
    },
    reply: (data: { updateLlamaInstance: SeedInstanceData }) => ({ json: { message: 'Instance updated successfully', instance: seedInstance(data.updateLlamaInstance) } }),
  });
  routes.add({
    profile,
    method: 'DELETE',
    path: '/api/instances/{name}',
    operation: 'LlamaSeedDelete',
    body: 'ignore',
    variables: { name: 'params.name' },
    reply: (data: { deleteLlamaInstance: boolean }, request) => (data.deleteLlamaInstance ? { json: { message: 'Instance deleted successfully' } } : notFound(nameOf(request))),
  });

  // Declared before nothing else matches `/api/instances/start-all` (a POST to `{name}` does not exist).
  routes.add({
    profile,
    method: 'POST',
    path: '/api/instances/start-all',
    operation: 'LlamaSeedStartAll',
    body: 'json-optional',
    rateLimit: 'heavy',
    reply: (data: { startAllLlamaInstances: { name: string; status: string; message: string | null }[] }) => ({
      json: { message: 'Start initiated for all stopped instances', instances: data.startAllLlamaInstances.map((i) => ({ name: i.name, status: i.status, message: i.message })) },
    }),
  });
  routes.add({
    profile,
    method: 'POST',
    path: '/api/instances/stop-all',
    operation: 'LlamaSeedStopAll',
    body: 'json-optional',
    rateLimit: 'heavy',
    variables: (r) => parseBody(stopSchema, r.body) ?? {},
    reply: (data: { stopAllLlamaInstances: { name: string; status: string }[] }) => ({ json: { message: 'All instances stopped', instances: data.stopAllLlamaInstances } }),
  });

  const actions = [
    { action: 'start', operation: 'LlamaSeedStart', field: 'startLlamaInstance', message: 'Instance start initiated', withStopBody: false },
    { action: 'stop', operation: 'LlamaSeedStop', field: 'stopLlamaInstance', message: 'Instance stopped', withStopBody: true },
    { action: 'restart', operation: 'LlamaSeedRestart', field: 'restartLlamaInstance', message: 'Instance restart initiated', withStopBody: true },
  ] as const;
  for (const { action, operation, field, message, withStopBody } of actions) {
    routes.add({
      profile,
      method: 'POST',
      path: `/api/instances/{name}/${action}`,
      operation,
      body: 'json-optional',
      rateLimit: action === 'stop' ? 'default' : 'heavy',
      variables: (r) => ({ name: nameOf(r), ...(withStopBody ? (parseBody(stopSchema, r.body) ?? {}) : {}) }),
      reply: (data: Record<string, { status: string }>) => ({ json: { message, status: data[field].status } }),
    });
  }

  routes.add({
    profile,
    method: 'GET',
    path: '/api/instances/{name}/health',
    operation: 'LlamaSeedHealth',
    variables: { name: 'params.name' },
    rateLimit: 'none',
    reply: (data: { llamaInstance: { status: string; pid: number | null; health: { state: string; lastCheckAt: string | null; latencyMs: number | null; failureCount: number; httpStatus: number | null; error: string | null } } | null }, request) => {
      const i = data.llamaInstance;
      if (!i) return notFound(nameOf(request));
      const active = i.status === 'running' || i.status === 'starting';
      const h = i.health;
      const status = i.status === 'running' && h.state === 'ok' ? 'healthy' : i.status === 'starting' ? 'starting' : active ? 'unhealthy' : i.status;
      return {
        json: {
          status,
          checks: {
            process: i.pid !== null && active ? 'running' : 'stopped',
            port: h.state === 'ok' || h.state === 'loading' ? 'open' : 'closed',
            response: h.state === 'ok' ? 'ok' : h.state === 'loading' ? 'loading' : h.state === 'down' ? 'error' : 'unknown',
          },
          last_check: h.lastCheckAt,
          latency_ms: h.latencyMs,
          failure_count: h.failureCount,
          http_status: h.httpStatus,
          error: h.error,
        },
      };
    },
  });

  const logVariables = (r: RestRequest) => ({ name: nameOf(r), lines: linesOf(r), level: levelOf(r) });
  routes.add({
    profile,
    method: 'GET',
    path: '/api/instances/{name}/logs',
    operation: 'LlamaSeedLogs',
    variables: (r) => {
      followOf(r); // a bad `follow` is a 400 here too
      return logVariables(r);
    },
    reply: (data: { llamaInstanceLogEntries: unknown[] }) => ({ json: { logs: data.llamaInstanceLogEntries } }),
    stream: {
      operation: 'LlamaSeedLogFollow',
      when: followOf,
      variables: logVariables,
      contentType: 'application/x-ndjson; charset=utf-8',
      event: (data: { llamaInstanceLogFollow: unknown[] }) => data.llamaInstanceLogFollow.map((entry) => `${JSON.stringify(entry)}\n`).join(''),
    },
  });

  routes.add({
    profile,
    method: 'GET',
    path: '/api/system/status',
    operation: 'LlamaSeedSystemStatus',
    reply: (data: {
      daemon: { version: string; uptimeSeconds: number };
      llamaInstances: { edges: { node: { status: string } }[] };
      llamaHostFacts: { cpuUsagePercent: number; memoryUsedBytes: number; memoryTotalBytes: number; diskUsagePercent: number | null };
    }) => {
      const statuses = data.llamaInstances.edges.map((e) => e.node.status);
      const count = (status: string) => statuses.filter((s) => s === status).length;
      const h = data.llamaHostFacts;
      return {
        json: {
          version: data.daemon.version,
          uptime: Math.floor(data.daemon.uptimeSeconds),
          instances: { total: statuses.length, running: count('running'), stopped: count('stopped'), starting: count('starting'), restarting: count('restarting'), stopping: count('stopping'), failed: count('failed') },
          resources: { cpu_usage: h.cpuUsagePercent, memory_usage: h.memoryUsedBytes, memory_total: h.memoryTotalBytes, disk_usage: h.diskUsagePercent },
        },
      };
    },
  });
  routes.add({
    profile,
    method: 'GET',
    path: '/api/system/info',
    operation: 'LlamaSeedSystemInfo',
    reply: (data: { daemon: { version: string; startedAt: string }; llamaHostFacts: { hostname: string; os: string; arch: string; cpuCount: number; memoryTotalBytes: number } }) => {
      const h = data.llamaHostFacts;
      return { json: { hostname: h.hostname, os: h.os, arch: h.arch, cpu_count: h.cpuCount, memory_total: h.memoryTotalBytes, version: data.daemon.version, build_time: null, started_at: data.daemon.startedAt } };
    },
  });
  routes.add({ profile, method: 'GET', path: '/api/config', operation: 'LlamaSeedConfig', reply: (data: { llamaCppConfig: unknown }) => ({ json: data.llamaCppConfig }) });
  routes.add({
    profile,
    method: 'PUT',
    path: '/api/config',
    operation: 'LlamaSeedConfigUpdate',
    rateLimit: 'heavy',
    variables: { input: 'body' },
    reply: (data: { updateLlamaCppConfig: unknown }) => ({ json: data.updateLlamaCppConfig }),
  });

  routes.add({
    profile,
    method: 'POST',
    path: '/api/auth/login',
    operation: 'LlamaSeedLogin',
    rateLimit: 'heavy',
    variables: (r) => {
      const body = parseBody(loginSchema, r.body);
      return { name: body.username, password: body.password };
    },
    reply: (data: { login: Parameters<typeof tokens>[0] }) => tokens(data.login),
  });
  routes.add({
    profile,
    method: 'POST',
    path: '/api/auth/refresh',
    operation: 'LlamaSeedRefresh',
    rateLimit: 'heavy',
    variables: (r) => ({ token: parseBody(refreshSchema, r.body).refresh_token }),
    reply: (data: { refreshToken: Parameters<typeof tokens>[0] }) => tokens(data.refreshToken),
  });

  routes.add({
    profile,
    method: 'GET',
    path: '/api/ws',
    operation: 'LlamaSeedWsProbe',
    websocket: true,
    reply: () => ({ status: 426, headers: { upgrade: 'websocket' }, json: { error: 'Upgrade Required', code: 'UPGRADE_REQUIRED', details: 'GET /api/ws is a WebSocket: send Connection: Upgrade and Upgrade: websocket' } }),
    stream: {
      operation: 'LlamaSeedEvents',
      variables: (r) => {
        const raw = r.query.get('stats_interval');
        if (raw === null || raw === '') return {};
        if (!/^\d+(\.\d+)?$/.test(raw)) throw new InputError('stats_interval must be a number of seconds');
        return { statsIntervalSeconds: Number(raw) };
      },
      event: (data: { llamaInstanceEvents: SeedEvent }) => JSON.stringify(seedMessage(data.llamaInstanceEvents)),
    },
  });
}

/** `LlamaSeedEvents` as read. */
interface SeedEvent {
  type: string;
  timestamp: string;
  name: string;
  status: string;
  previousStatus: string | null;
  message: string | null;
  level: string | null;
  statusMessage: string | null;
  port: number;
  pid: number | null;
  healthState: string;
  rssBytes: number | null;
  cpuPercent: number | null;
  uptimeSeconds: number | null;
  tokensPerSecond: number | null;
}

/** One `/api/ws` message: `{"type", "timestamp", "data"}`. */
function seedMessage(e: SeedEvent): Record<string, unknown> {
  const data =
    e.type === 'instance_status_changed'
      ? { name: e.name, status: e.status, previous_status: e.previousStatus, message: e.statusMessage, port: e.port, pid: e.pid }
      : e.type === 'instance_stats_updated'
        ? { name: e.name, status: e.status, health: e.healthState, stats: { memory_usage: e.rssBytes ?? 0, cpu_usage: e.cpuPercent ?? 0, uptime: e.uptimeSeconds ?? 0, tokens_per_second: e.tokensPerSecond } }
        : { level: e.level, message: e.message, instance: e.name, status: e.status };
  return { type: e.type, timestamp: e.timestamp, data };
}
