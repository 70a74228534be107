import type { RestReply, RestRoute } from '../../core/plugin-api.ts';

/** The legacy server's `http.Error` for a failed nvidia-smi: text/plain, message and newline. */
const failedReply = (): RestReply => ({
  status: 500,
  text: 'Failed to execute nvidia-smi\n',
  headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
});

/**
 * `GET /gpu-free` of the ilab-ui API: `{"free_gpus":N,"total_gpus":M}` (a Go map, so sorted
 * keys) with the free rule of `Gpu.free` instead of the legacy "memory.used starts with `1 `".
 */
export const gpuFreeRoute: RestRoute = {
  profile: 'ilab-ui',
  method: 'GET',
  path: '/gpu-free',
  operation: 'LegacyGpuFree',
  errors: { UNAVAILABLE: failedReply, BACKEND_ERROR: failedReply, TIMEOUT: failedReply },
  reply(data: { gpus: { free: boolean }[] }) {
    // A Go map marshals with sorted keys; these two are written in that order.
    return { json: { free_gpus: data.gpus.filter((g) => g.free).length, total_gpus: data.gpus.length } };
  },
};
