import { InputError, type ModelEndpoint } from '../../core/plugin-api.ts';

/**
 * The published endpoint `model` names: an endpoint id (`llama-cpp:tiny/tiny`), `<server>/<model>`
 * or a model name exactly one endpoint serves. A 400 naming the model otherwise.
 */
export function resolveEndpoint(endpoints: readonly ModelEndpoint[], model: string): ModelEndpoint {
  const byId = endpoints.find((e) => e.id === model);
  if (byId) return byId;
  const matches = endpoints.filter((e) => e.model === model || `${e.server}/${e.model}` === model);
  if (matches.length === 1) return matches[0];
  const shown = model.slice(0, 128);
  if (matches.length > 1) {
    throw new InputError(`Model '${shown}' is served by several endpoints (${matches.map((e) => e.id).join(', ')}): name one by its id`, { details: { model: shown, endpoints: matches.map((e) => e.id) } });
  }
  throw new InputError(`Model '${shown}' is not served: no published model endpoint has that id or model name (published: ${endpoints.map((e) => e.id).join(', ') || 'none'})`, { details: { model: shown } });
}
