import type { EndpointRegistry } from '../../core/plugin-api.ts';
import type { LlamaInstance } from './types.ts';

/** `llama-cpp:<instance>/<model>`: the model is the instance's first alias, else its name. */
export function endpointId(instance: Pick<LlamaInstance, 'name' | 'options'>): string {
  return `llama-cpp:${instance.name}/${modelOf(instance)}`;
}

function modelOf(instance: Pick<LlamaInstance, 'name' | 'options'>): string {
  return instance.options.aliases[0] ?? instance.name;
}

/**
 * Keeps an instance's OpenAI endpoint (`services.endpoints`, for the gateway) in step with its
 * status: published while it starts or runs (ready once running), withdrawn otherwise.
 */
export function syncEndpoint(endpoints: EndpointRegistry, instance: LlamaInstance, published: Map<string, string>): void {
  const id = endpointId(instance);
  const previous = published.get(instance.name);
  if (previous && previous !== id) endpoints.withdraw(previous);
  if (instance.status === 'starting' || instance.status === 'running') {
    const host = instance.host === '0.0.0.0' ? '127.0.0.1' : instance.host;
    endpoints.publish({ id, protocol: 'openai', server: instance.name, model: modelOf(instance), baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${instance.port}`, ready: instance.status === 'running' });
    published.set(instance.name, id);
  } else {
    endpoints.withdraw(id);
    published.delete(instance.name);
  }
}
