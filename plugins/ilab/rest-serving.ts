import { goTextError, InputError, sortedKeys, type RestErrorReplies, type RestRequest, type RestRoute } from '../../core/plugin-api.ts';
import { decodeGoBody } from './rest-body.ts';
import { servedNames } from './serving.ts';

const legacyNames = new Set<string>(servedNames);

/** The legacy three words: a server that runs but does not answer yet is `loading`. */
export function legacyServingStatus(status: string | undefined): 'running' | 'loading' | 'stopped' {
  if (status === 'running') return 'running';
  if (status === 'starting' || status === 'loading') return 'loading';
  return 'stopped';
}

/** `/vllm-unload`'s `model_name`, trimmed (not lowercased), as the Go handler read it. */
function unloadName(request: RestRequest): string {
  return decodeGoBody(request.body, { model_name: 'string' }).model_name.trim();
}

/** Every server-side error of a route as the Go handler's one 500 text, plus the reason when it printed one. */
function all500(message: (request: RestRequest) => string, withReason: (code: string) => boolean): RestErrorReplies {
  const reply = (error: { code: string; message: string }, request: RestRequest) => goTextError(500, withReason(error.code) ? `${message(request)}: ${error.message}` : message(request));
  return { UNAVAILABLE: reply, BACKEND_ERROR: reply, TIMEOUT: reply, CONFLICT: reply, INTERNAL_SERVER_ERROR: reply };
}

/**
 * The InstructLab UI's serving routes. The Go server asked podman only; these speak for whatever
 * serves `pre-train` and `post-train`: this plugin's local `ilab model serve` jobs (local and
 * mock mode) or a serving backend's server (the vllm-podman plugin's containers).
 */
export const ilabServingRoutes: RestRoute[] = [
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/vllm-status',
    operation: 'IlabLegacyServedModel',
    variables(request) {
      const name = (request.query.get('model_name') ?? '').toLowerCase().trim();
      if (!legacyNames.has(name)) throw new InputError("Invalid model_name (must be 'pre-train' or 'post-train')");
      return { name };
    },
    errors: all500(() => 'Failed to list vllm containers', (code) => code === 'UNAVAILABLE'),
    reply: (data: { ilabServedModel: { status: string } }) => ({ json: { status: legacyServingStatus(data.ilabServedModel.status) } }),
  },
  {
    profile: 'ilab-ui',
    method: 'POST',
    path: '/vllm-unload',
    operation: 'IlabLegacyUnload',
    body: 'raw',
    variables(request) {
      const name = unloadName(request);
      if (!legacyNames.has(name)) throw new InputError("Invalid model_name. Must be 'pre-train' or 'post-train'");
      return { name };
    },
    errors: {
      ...all500((request) => `Failed to unload model '${unloadName(request)}'`, () => true),
      // The Go server's words when nothing served the name.
      NOT_FOUND: (_error, request) => goTextError(500, `Failed to unload model '${unloadName(request)}': no vllm container found with served-model-name '${unloadName(request)}'`),
    },
    reply(_data: unknown, request) {
      const name = unloadName(request);
      // A Go map: keys sorted.
      return { json: sortedKeys({ status: 'success', message: `Model '${name}' unloaded successfully`, modelName: name }) };
    },
  },
  {
    profile: 'ilab-ui',
    method: 'GET',
    path: '/served-model-jobids',
    operation: 'IlabLegacyServedModelJobIds',
    reply(data: { ilabServedModels: { name: string; status: string; jobId: string | null }[] }) {
      const map: Record<string, string> = {};
      for (const served of data.ilabServedModels) if (served.jobId && legacyServingStatus(served.status) !== 'stopped') map[served.name] = served.jobId;
      // Go set no Content-Type here, so net/http sniffed the JSON body as text.
      return { json: sortedKeys(map), headers: { 'content-type': 'text/plain; charset=utf-8' } };
    },
  },
];
