import { InputError } from '../../core/plugin-api.ts';
import { allowedLlamaArgs } from './llama-args.ts';
import type { LlamaInstanceOptions } from './types.ts';

/** An instance as `operations-v1.graphql` reads it (fragment `LlamaV1Instance`). */
export interface V1InstanceData {
  name: string;
  status: string;
  host: string;
  port: number;
  modelPath: string;
  createdAt: string;
  options: Pick<LlamaInstanceOptions, 'threads' | 'ctxSize' | 'gpuLayers' | 'parallel' | 'aliases' | 'extraArgs' | 'autoRestart' | 'maxRestarts' | 'onDemandStart' | 'idleTimeoutMinutes'>;
}

/**
 * llamactl's statuses (`pkg/instance/status.go`): it says `running` from the spawn on (its UI
 * polls `/proxy/health` for readiness), and `shutting_down` while stopping.
 */
const v1Status: Record<string, string> = { stopped: 'stopped', starting: 'running', running: 'running', failed: 'failed', restarting: 'restarting', stopping: 'shutting_down' };

/** `--flash-attn` → `flash_attn`, llamactl's `backend_options` key. */
const optionKey = (flag: string) => flag.replace(/^--/, '').replaceAll('-', '_');

/**
 * An instance as llamactl's `Instance.MarshalJSON` writes it: `name`, `status`, `created`
 * (Unix seconds) and `options` with `backend_type: llama_cpp` and llama-server's flags as
 * snake_case `backend_options`.
 */
export function toV1Instance(data: V1InstanceData): Record<string, unknown> {
  const o = data.options;
  const backend: Record<string, unknown> = { model: data.modelPath, host: data.host, port: data.port, ctx_size: o.ctxSize, gpu_layers: o.gpuLayers, parallel: o.parallel };
  if (o.threads !== null) backend.threads = o.threads;
  if (o.aliases.length > 0) backend.alias = o.aliases.join(',');
  for (let i = 0; i < o.extraArgs.length; i++) {
    const flag = o.extraArgs[i];
    const next = o.extraArgs[i + 1];
    if (allowedLlamaArgs[flag] === null || next === undefined || next.startsWith('--')) {
      backend[optionKey(flag)] = true;
    } else {
      backend[optionKey(flag)] = /^-?\d+(\.\d+)?$/.test(next) ? Number(next) : next;
      i++;
    }
  }
  return {
    name: data.name,
    status: v1Status[data.status] ?? data.status,
    created: Math.floor(Date.parse(data.createdAt) / 1000),
    options: {
      backend_type: 'llama_cpp',
      backend_options: backend,
      auto_restart: o.autoRestart,
      max_restarts: o.maxRestarts,
      on_demand_start: o.onDemandStart,
      idle_timeout: o.idleTimeoutMinutes,
    },
  };
}

/** llamactl options this face cannot honour: refused rather than ignored. */
const unsupported = ['environment', 'docker_enabled', 'command_override', 'nodes', 'preset_ini'];
/** llamactl options accepted and not used (backplane's back-off is exponential and configured daemon-wide). */
const ignored = new Set(['restart_delay']);
/** `backend_options` the plugin sets itself or maps onto instance fields. */
const mapped = new Set(['model', 'port', 'host', 'ctx_size', 'gpu_layers', 'n_gpu_layers', 'threads', 'parallel', 'alias']);

const integer = (value: unknown, field: string): number => {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new InputError(`Invalid request body: ${field} must be an integer`, { details: { field } });
  return value;
};
const boolean = (value: unknown, field: string): boolean => {
  if (typeof value !== 'boolean') throw new InputError(`Invalid request body: ${field} must be a boolean`, { details: { field } });
  return value;
};

/**
 * llamactl's instance options (the body of `POST`/`PUT /api/v1/instances/{name}`) as the
 * GraphQL create/update input: `backend_options.model`, `port`, `ctx_size`, `gpu_layers`,
 * `threads`, `parallel` and `alias` map onto instance fields; any other backend option is a
 * llama-server flag (`flash_attn: "on"` → `--flash-attn on`, `true` → the switch) checked
 * against the plugin's allow-list. `BAD_USER_INPUT` for anything else.
 */
export function fromV1Options(body: unknown): { modelPath?: string; port?: number; options: Record<string, unknown> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('Invalid request body: expected a JSON object');
  const input = body as Record<string, unknown>;
  for (const key of unsupported) {
    const value = input[key];
    if (value !== undefined && value !== null && value !== false && value !== '' && !(typeof value === 'object' && Object.keys(value).length === 0)) {
      throw new InputError(`Invalid request body: ${key} is not supported by backplane`, { details: { field: key } });
    }
  }
  const known = new Set([...unsupported, ...ignored, 'backend_type', 'backend_options', 'auto_restart', 'max_restarts', 'on_demand_start', 'idle_timeout']);
  const stray = Object.keys(input).find((key) => !known.has(key));
  if (stray) throw new InputError(`Invalid request body: unknown field ${stray}`, { details: { field: stray } });
  if (input.backend_type !== undefined && input.backend_type !== 'llama_cpp') {
    throw new InputError(`Invalid request body: backend_type '${String(input.backend_type)}' is not supported (only llama_cpp)`, { details: { field: 'backend_type' } });
  }
  const options: Record<string, unknown> = {};
  if (input.auto_restart !== undefined) options.autoRestart = boolean(input.auto_restart, 'auto_restart');
  if (input.max_restarts !== undefined) options.maxRestarts = integer(input.max_restarts, 'max_restarts');
  if (input.on_demand_start !== undefined) options.onDemandStart = boolean(input.on_demand_start, 'on_demand_start');
  if (input.idle_timeout !== undefined) options.idleTimeoutMinutes = integer(input.idle_timeout, 'idle_timeout');

  const backendValue = input.backend_options ?? {};
  if (typeof backendValue !== 'object' || backendValue === null || Array.isArray(backendValue)) throw new InputError('Invalid request body: backend_options must be an object');
  const backend = backendValue as Record<string, unknown>;
  const out: { modelPath?: string; port?: number; options: Record<string, unknown> } = { options };
  if (backend.model !== undefined) {
    if (typeof backend.model !== 'string') throw new InputError('Invalid request body: backend_options.model must be a string');
    out.modelPath = backend.model;
  }
  if (backend.port !== undefined && backend.port !== 0) out.port = integer(backend.port, 'backend_options.port');
  if (backend.ctx_size !== undefined) options.ctxSize = integer(backend.ctx_size, 'backend_options.ctx_size');
  const gpuLayers = backend.gpu_layers ?? backend.n_gpu_layers;
  if (gpuLayers !== undefined) options.gpuLayers = integer(gpuLayers, 'backend_options.gpu_layers');
  if (backend.threads !== undefined) options.threads = integer(backend.threads, 'backend_options.threads');
  if (backend.parallel !== undefined) options.parallel = integer(backend.parallel, 'backend_options.parallel');
  if (backend.alias !== undefined) {
    if (typeof backend.alias !== 'string') throw new InputError('Invalid request body: backend_options.alias must be a string');
    options.aliases = backend.alias.split(',').map((a) => a.trim()).filter(Boolean);
  }
  const extraArgs: string[] = [];
  for (const [key, value] of Object.entries(backend)) {
    if (mapped.has(key) || value === false || value === null) continue;
    const flag = `--${key.replaceAll('_', '-')}`;
    if (value === true) extraArgs.push(flag);
    else if (typeof value === 'string' || typeof value === 'number') extraArgs.push(flag, String(value));
    else throw new InputError(`Invalid request body: backend_options.${key} must be a string, number or boolean`, { details: { field: `backend_options.${key}` } });
  }
  if (extraArgs.length > 0) options.extraArgs = extraArgs;
  return out;
}
