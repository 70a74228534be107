import type { ServingBackend, ServingInstance } from '../../core/plugin-api.ts';
import type { VllmService } from './service.ts';
import type { VllmServer } from './types.ts';

/** The id other plugins look this backend up by: `services.serving.get('vllm')`. */
export const servingBackendId = 'vllm';

/**
 * The `vllm` serving backend (the core serving extension point) over {@link VllmService}.
 *
 * Contract for callers such as ilab's `serve-base`/`serve-latest` (see docs/vllm-podman.md):
 * - `start` resolves once the container runs (`loading`); `jobId` is the run's `v-…` job.
 * - Starting a name that is starting, loading or running throws a `CONFLICT` error whose
 *   `details` carry `{ name, status, jobId, port }`; `get(name)` first gives the same facts.
 * - `stop` resolves to undefined when nothing was active under that name.
 */
export function createServingBackend(service: VllmService): ServingBackend {
  return {
    id: servingBackendId,
    async start(spec) {
      return toInstance(await service.start({ name: spec.name, modelPath: spec.modelPath, port: spec.port, gpus: spec.gpus, args: spec.args, labels: spec.labels }));
    },
    async stop(name) {
      const stopped = await service.stop(name);
      return stopped ? toInstance(stopped) : undefined;
    },
    async get(name) {
      const server = service.get(name);
      return server ? toInstance(server) : undefined;
    },
    async list() {
      return service.list().map(toInstance);
    },
  };
}

export function toInstance(server: VllmServer): ServingInstance {
  return {
    name: server.name,
    backend: servingBackendId,
    status: server.status,
    port: server.port,
    modelPath: server.modelPath,
    jobId: server.jobId ?? undefined,
    startedAt: server.startedAt ?? undefined,
    message: server.message ?? undefined,
  };
}
