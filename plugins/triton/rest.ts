import { InputError, type RestMultipartBody, type RestRequest, type RestRoute } from '../../core/plugin-api.ts';

/** The GraphQL documents the routes below run. */
export const tritonOperations = new URL('./operations.graphql', import.meta.url);

interface TritonItem {
  id: string;
  host: string;
  httpPort: number;
  gpus: number;
  repositoryPath: string | null;
  cachedModels: string[];
}

/** A triton in the "Response Now" shape: `{id, ip, port, gpus, models, path}` (port a string, as documented). */
function tritonItem(s: TritonItem) {
  return { id: s.id, ip: s.host, port: String(s.httpPort), gpus: s.gpus, models: s.cachedModels, path: s.repositoryPath ?? '' };
}

const ok = () => ({ json: { status: 'ok' } });

/** A JSON body's field (`undefined` when there is no body or no such field). */
function bodyField(request: RestRequest, key: string): unknown {
  const body = request.body;
  return body && typeof body === 'object' && !(body instanceof Uint8Array) ? (body as Record<string, unknown>)[key] : undefined;
}

/** `triton_id` from the query string or the JSON body (MLServe sends it in the body, even on GET). */
function tritonId(request: RestRequest, { required = false } = {}): string | undefined {
  const value = request.query.get('triton_id') ?? bodyField(request, 'triton_id');
  if (value === undefined || value === null || value === '') {
    if (required) throw new InputError('triton_id is required');
    return undefined;
  }
  if (typeof value !== 'string' && typeof value !== 'number') throw new InputError('triton_id must be a string');
  return String(value);
}

/** MLServe ports are strings (`"port": str`); numbers are accepted too. */
function port(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n)) throw new InputError(`${field} must be a port number`);
  return n;
}

function optionalInt(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new InputError(`${field} must be an integer`);
  return n;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InputError(`${field} must be a string`);
  return value;
}

/** The body of POST/PATCH /api/tritons: MLServe's `ip`/`port` (now), or the planned `host`/`name`. */
function tritonInput(request: RestRequest, { create }: { create: boolean }) {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InputError('Expected a JSON object');
  const b = body as Record<string, unknown>;
  const known = new Set(['ip', 'host', 'port', 'gpus', 'name', 'metrics_port', 'path']);
  const unknown = Object.keys(b).filter((k) => !known.has(k));
  if (unknown.length) throw new InputError(`Unknown field: ${unknown[0]}`);
  const host = optionalString(b.ip ?? b.host, 'ip');
  const httpPort = port(b.port, 'port');
  if (create && (host === undefined || httpPort === undefined)) throw new InputError('ip and port are required');
  const input: Record<string, unknown> = { host, httpPort, metricsPort: port(b.metrics_port, 'metrics_port'), gpus: optionalInt(b.gpus, 'gpus'), repositoryPath: optionalString(b.path, 'path') };
  if (create) input.id = optionalString(b.name, 'name');
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

function multipart(request: RestRequest): RestMultipartBody {
  return request.body as RestMultipartBody;
}

const notFoundTriton = { NOT_FOUND: (error: { message: string }) => ({ status: 404, json: { message: error.message } }) };

/**
 * The MLServe admin API's tritons and models routes (profile `mlserve`, mounted at `/` so the
 * paths are the document's own `/api/…`). "Response Now" shapes where the document gives one,
 * the planned ones elsewhere; every choice the flattened document leaves open is in docs/triton.md.
 */
export const tritonRoutes: RestRoute[] = [
  {
    profile: 'mlserve',
    method: 'GET',
    path: '/api/tritons',
    operation: 'MlserveTritonList',
    reply: (data: { tritonServers: TritonItem[] }) => ({ json: { tritons: data.tritonServers.map(tritonItem) } }),
  },
  {
    profile: 'mlserve',
    method: 'POST',
    path: '/api/tritons',
    operation: 'MlserveTritonCreate',
    variables: (request) => ({ input: tritonInput(request, { create: true }) }),
    reply: (data: { registerTritonServer: { id: string } }) => ({ json: { id: data.registerTritonServer.id } }),
  },
  {
    profile: 'mlserve',
    method: 'GET',
    path: '/api/tritons/{id}',
    operation: 'MlserveTritonGet',
    variables: { id: 'params.id' },
    reply: (data: { tritonServer: TritonItem | null }, request) =>
      data.tritonServer ? { json: { data: tritonItem(data.tritonServer) } } : { status: 404, json: { message: `Triton server '${request.params.id}' is not registered` } },
  },
  {
    profile: 'mlserve',
    method: 'PATCH',
    path: '/api/tritons/{id}',
    operation: 'MlserveTritonUpdate',
    variables: (request) => ({ id: request.params.id, input: tritonInput(request, { create: false }) }),
    errors: notFoundTriton,
    reply: ok,
  },
  {
    profile: 'mlserve',
    method: 'DELETE',
    path: '/api/tritons/{id}',
    operation: 'MlserveTritonDelete',
    body: 'json-optional',
    variables: { id: 'params.id' },
    reply: (data: { removeTritonServer: boolean }, request) => (data.removeTritonServer ? ok() : { status: 404, json: { message: `Triton server '${request.params.id}' is not registered` } }),
  },
  {
    profile: 'mlserve',
    method: 'GET',
    path: '/api/models',
    operation: 'MlserveModelList',
    reply(data: { tritonFleet: { models: { name: string; placements: { serverId: string; versions: { version: string | null }[]; server: { host: string; httpPort: number; repositoryPath: string | null } | null }[] }[] } }) {
      const models = data.tritonFleet.models.map((m) => {
        const local = m.placements.find((p) => p.server?.repositoryPath);
        const versions = [...new Set(m.placements.flatMap((p) => p.versions.map((v) => v.version).filter((v): v is string => v !== null)))].sort((a, b) => Number(a) - Number(b));
        return {
          id: m.name,
          name: m.name,
          path: local ? `${local.server!.repositoryPath}/${m.name}` : '',
          versions,
          tritons: m.placements.filter((p) => p.server).map((p) => ({ ip: p.server!.host, port: String(p.server!.httpPort) })),
        };
      });
      return { json: { models } };
    },
  },
  {
    profile: 'mlserve',
    method: 'POST',
    path: '/api/models',
    operation: 'MlserveModelCreate',
    body: 'multipart',
    rateLimit: 'heavy',
    variables(request) {
      const body = multipart(request);
      if (!body.fields.name) throw new InputError('name is required');
      return { uploadId: body.uploadId, name: body.fields.name, serverId: body.fields.triton_id || undefined };
    },
    reply: (data: { uploadTritonModel: { id: string } }) => ({ json: { id: data.uploadTritonModel.id } }),
  },
  {
    profile: 'mlserve',
    method: 'GET',
    path: '/api/models/{id}',
    operation: 'MlserveModelGet',
    variables: (request) => ({ name: request.params.id, serverId: tritonId(request) }),
    reply(data: { tritonFleetModel: { placements: { metadata: unknown; server: { host: string; httpPort: number } | null }[] } }) {
      // Keyed by "host:port" as MLServe's clients receive it; servers where it is not READY are left out.
      const config: Record<string, unknown> = {};
      for (const p of data.tritonFleetModel.placements) if (p.server && p.metadata != null) config[`${p.server.host}:${p.server.httpPort}`] = p.metadata;
      return { json: { config } };
    },
  },
  {
    profile: 'mlserve',
    method: 'PATCH',
    path: '/api/models/{id}',
    operation: 'MlserveModelVersionCreate',
    body: 'multipart',
    rateLimit: 'heavy',
    variables: (request) => ({ name: request.params.id, uploadId: multipart(request).uploadId, serverId: multipart(request).fields.triton_id || undefined }),
    reply: ok,
  },
  {
    profile: 'mlserve',
    method: 'DELETE',
    path: '/api/models/{id}',
    operation: 'MlserveModelDelete',
    body: 'json-optional',
    variables: (request) => ({ name: request.params.id, serverId: tritonId(request) }),
    reply: ok,
  },
  {
    profile: 'mlserve',
    method: 'POST',
    path: '/api/models/{id}/load',
    operation: 'MlserveModelLoad',
    body: 'json-optional',
    rateLimit: 'heavy',
    variables: (request) => ({ name: request.params.id, serverId: tritonId(request, { required: true }) }),
    reply: ok,
  },
  {
    profile: 'mlserve',
    method: 'POST',
    path: '/api/models/{id}/unload',
    operation: 'MlserveModelUnload',
    body: 'json-optional',
    rateLimit: 'heavy',
    variables: (request) => ({ name: request.params.id, serverId: tritonId(request, { required: true }) }),
    reply: ok,
  },
  {
    profile: 'mlserve',
    method: 'GET',
    path: '/api/models/{id}/versions',
    operation: 'MlserveModelVersions',
    variables: (request) => ({ name: request.params.id, serverId: tritonId(request) }),
    reply(data: { tritonFleetModel: { placements: { serverId: string; versions: { version: string | null; state: string | null; reason: string | null }[]; stats: { version: string; inferenceCount: number; executionCount: number; lastInference: string | null }[] }[] } }) {
      // The planned shape (the "now" one is a pickled Python object); one entry per server and version.
      const versions = data.tritonFleetModel.placements.flatMap((p) =>
        p.versions
          .filter((v) => v.version !== null)
          .map((v) => {
            const s = p.stats.find((x) => x.version === v.version);
            return { version: v.version, inference_count: String(s?.inferenceCount ?? 0), execution_count: String(s?.executionCount ?? 0), last_inference: s?.lastInference ?? null, state: v.state, triton_id: p.serverId };
          }),
      );
      return { json: { versions } };
    },
  },
  {
    profile: 'mlserve',
    method: 'POST',
    path: '/api/models/{id}/versions',
    operation: 'MlserveModelVersionCreate',
    body: 'multipart',
    rateLimit: 'heavy',
    variables(request) {
      const body = multipart(request);
      // Chunked uploads (`offset`, `check`) are not supported: the whole version comes in one request.
      if (body.fields.offset !== undefined && body.fields.offset !== '0') throw new InputError('offset: chunked uploads are not supported; send the whole version in one request (offset 0)');
      return { name: request.params.id, uploadId: body.uploadId, serverId: body.fields.triton_id || undefined };
    },
    reply: ok,
  },
  {
    profile: 'mlserve',
    method: 'DELETE',
    path: '/api/models/{id}/versions',
    operation: 'MlserveModelVersionDelete',
    body: 'json-optional',
    variables(request) {
      const version = request.query.get('version') ?? bodyField(request, 'version');
      if (version === undefined || version === null || version === '') throw new InputError('version is required (?version=N or {"version": "N"})');
      return { name: request.params.id, version: String(version), serverId: tritonId(request) };
    },
    reply: ok,
  },
];
