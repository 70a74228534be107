import type { RestErrorReplies, RestReply, RestRoute } from '../../core/plugin-api.ts';
import type { VllmContainer } from './types.ts';

/** The GraphQL documents the routes below run. */
export const vllmOperations = new URL('./operations.graphql', import.meta.url);

/** Go's `http.Error`: text/plain, `nosniff`, message plus newline. */
function goError(status: number, message: string): RestReply {
  return { status, text: `${message}\n`, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } };
}

/** Every error of the route as the legacy 500 text, plus the reason when the plugin is degraded (podman missing). */
function all500(message: string): RestErrorReplies {
  const reply = (error: { code: string; message: string }) => goError(500, error.code === 'UNAVAILABLE' ? `${message}: ${error.message}` : message);
  return { UNAVAILABLE: reply, BACKEND_ERROR: reply, TIMEOUT: reply, CONFLICT: reply, NOT_FOUND: reply, INTERNAL_SERVER_ERROR: reply };
}

/**
 * The ilab-ui api-server's podman route. `/model/serve-*`, `/vllm-status`, `/vllm-unload` and
 * `/served-model-jobids` belong to the ilab plugin: they speak for whatever serves `pre-train`
 * and `post-train`, this plugin's containers (through the `vllm` serving backend) included.
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
];
