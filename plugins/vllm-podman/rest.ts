import { InputError, type RestErrorReplies, type RestReply, type RestRequest, type RestRoute } from '../../core/plugin-api.ts';
import type { VllmContainer, VllmServerStatus } from './types.ts';

/** The GraphQL documents the routes below run. */
export const vllmOperations = new URL('../../schema/operations/vllm-podman.graphql', import.meta.url);

/** The only served names the legacy API knows (`serve-base` → pre-train, `serve-latest` → post-train). */
const legacyNames = new Set(['pre-train', 'post-train']);

/** Go's `http.Error`: text/plain, `nosniff`, message plus newline. */
function goError(status: number, message: string): RestReply {
  return { status, text: `${message}\n`, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } };
}

/**
 * Every error of a route as one legacy 500 text: `message` (fixed, or built from the request),
 * plus the reason when the plugin is degraded (podman missing) or when `withReason` (the legacy
 * server printed podman's error).
 */
function all500(message: string | ((request: RestRequest) => string), withReason = false): RestErrorReplies {
  const reply = (error: { code: string; message: string }, request: RestRequest) => {
    const text = typeof message === 'string' ? message : message(request);
    return goError(500, withReason || error.code === 'UNAVAILABLE' ? `${text}: ${error.message}` : text);
  };
  return { UNAVAILABLE: reply, BACKEND_ERROR: reply, TIMEOUT: reply, CONFLICT: reply, NOT_FOUND: reply, INTERNAL_SERVER_ERROR: reply };
}

function unloadName(request: RestRequest): string {
  const body = request.body;
  // Go decodes into struct { ModelName string }: anything but an object (or null) is a bad body.
  if (body !== null && (typeof body !== 'object' || Array.isArray(body))) throw new InputError('Invalid request body');
  const raw = (body as { model_name?: unknown } | null)?.model_name;
  if (raw !== undefined && raw !== null && typeof raw !== 'string') throw new InputError('Invalid request body');
  return (raw ?? '').trim();
}

/**
 * The ilab-ui api-server's vLLM routes. `/model/serve-base` and `/model/serve-latest` belong to
 * the ilab plugin, which starts servers through the `vllm` serving backend.
 * @see docs/vllm-podman.md
 */
export const vllmRoutes: RestRoute[] = [
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/vllm-containers',
    operation: 'LegacyVllmContainers',
    errors: all500('Failed to list vllm containers'),
    reply(data: { vllmContainers: VllmContainer[] }) {
      // Struct field order of the legacy VLLMContainerInfo; an empty slice is Go's null.
      const containers = data.vllmContainers.map((c) => ({
        container_id: c.containerId,
        image: c.image,
        command: c.command,
        created_at: c.createdAt,
        status: c.status,
        ports: c.ports,
        names: c.names,
        served_model_name: c.servedModelName,
        model_path: c.modelPath,
      }));
      return { json: { containers: containers.length === 0 ? null : containers } };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/vllm-unload',
    operation: 'LegacyVllmUnload',
    variables(request) {
      const name = unloadName(request);
      if (!legacyNames.has(name)) throw new InputError("Invalid model_name. Must be 'pre-train' or 'post-train'");
      return { name };
    },
    // As the legacy server: `Failed to unload model '<name>': <reason>`, the name as trimmed.
    errors: { ...all500((request) => `Failed to unload model '${unloadName(request)}'`, true), BAD_USER_INPUT: { status: 400 } },
    reply(data: { stopVllmServer: { name: string } | null }, request) {
      const name = unloadName(request);
      if (!data.stopVllmServer) return goError(500, `Failed to unload model '${name}': no vllm container found with served-model-name '${name}'`);
      // A Go map: keys sorted.
      return { json: { message: `Model '${name}' unloaded successfully`, modelName: name, status: 'success' } };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/vllm-status',
    operation: 'LegacyVllmStatus',
    variables(request) {
      const name = (request.query.get('model_name') ?? '').trim().toLowerCase();
      if (!legacyNames.has(name)) throw new InputError("Invalid model_name (must be 'pre-train' or 'post-train')");
      return { name };
    },
    errors: { ...all500('Failed to list vllm containers'), BAD_USER_INPUT: { status: 400 } },
    reply(data: { vllmServer: { status: VllmServerStatus } | null }) {
      return { json: { status: legacyStatus(data.vllmServer?.status) } };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/served-model-jobids',
    operation: 'LegacyServedModelJobIds',
    reply(data: { vllmServers: { name: string; status: VllmServerStatus; jobId: string | null }[] }) {
      const map: Record<string, string> = {};
      for (const server of [...data.vllmServers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (server.jobId && legacyStatus(server.status) !== 'stopped') map[server.name] = server.jobId;
      }
      // Go set no Content-Type here, so net/http sniffed the JSON body as text.
      return { json: map, headers: { 'content-type': 'text/plain; charset=utf-8' } };
    },
  },
];

/** The legacy three words: a container that runs but does not serve yet is `loading`. */
export function legacyStatus(status: VllmServerStatus | undefined): 'running' | 'loading' | 'stopped' {
  if (status === 'running') return 'running';
  if (status === 'starting' || status === 'loading') return 'loading';
  return 'stopped';
}
