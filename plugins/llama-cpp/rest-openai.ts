import { InputError, type RestErrorReplies, type RestRegistrar, type RestReply, type RestRequest } from '../../core/plugin-api.ts';

/** An OpenAI-style error: `{"error": {"message", "type", "param", "code"}}`. */
export function openAiReply(status: number, message: string, code: string | null, param: string | null = null): RestReply {
  const type = status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { status, json: { error: { message, type, param, code } } };
}

/** The request's query string, `?…` or empty, to append to an upstream URL. */
export function queryOf(request: RestRequest): string {
  const query = request.query.toString();
  return query ? `?${query}` : '';
}

/** How the router's coded errors reach an OpenAI client: unknown model 404, a start that failed 503. */
const routeErrors: RestErrorReplies = {
  NOT_FOUND: ({ message }) => openAiReply(404, message, 'model_not_found', 'model'),
  BAD_USER_INPUT: ({ message }) => openAiReply(400, message, null, 'model'),
  UNAVAILABLE: ({ message }) => openAiReply(503, message, 'model_not_running'),
  BACKEND_ERROR: ({ message }) => openAiReply(503, message, 'model_start_failed'),
  CONFLICT: ({ message }) => openAiReply(503, message, 'model_start_failed'),
  TIMEOUT: ({ message }) => openAiReply(503, message, 'model_start_timeout'),
};

/** The body's `model`, as OpenAI's API asks for it. */
function modelOf(request: RestRequest): { model: string } {
  const body = request.body as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('The request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') throw new InputError('you must provide a model parameter');
  return { model: body.model };
}

/**
 * The OpenAI-compatible router on the main listener (profile `openai`): `GET /v1/models` lists
 * every instance with its status; every `POST /v1/…` (chat/completions, completions,
 * embeddings, and whatever else llama-server serves under /v1) goes to the instance its body's
 * `model` names, started on demand, and its answer streams back as it comes (SSE included).
 * The body is read once to find the model and sent upstream byte for byte.
 */
export function addOpenAiRoutes(routes: RestRegistrar): void {
  routes.add({
    profile: 'openai',
    method: 'GET',
    path: '/v1/models',
    operation: 'LlamaModelList',
    reply: (data: { llamaModels: { id: string; status: string; aliases: string[]; createdAt: string }[] }) => ({
      json: {
        object: 'list',
        data: data.llamaModels.map((m) => ({ id: m.id, object: 'model', created: Math.floor(Date.parse(m.createdAt) / 1000), owned_by: 'backplane', status: m.status, aliases: m.aliases })),
      },
    }),
  });
  routes.add({
    profile: 'openai',
    method: 'POST',
    path: '/v1/{path*}',
    operation: 'LlamaRouteRequest',
    body: 'json',
    variables: modelOf,
    errors: routeErrors,
    reply: (data: { routeLlamaRequest: { baseUrl: string } }, request) => ({ proxy: { url: `${data.routeLlamaRequest.baseUrl}/v1/${request.params.path}${queryOf(request)}` } }),
  });
}
