import type { EndpointRegistry } from '../../core/plugin-api.ts';
import type { ServerState } from './server-registry.ts';

/** `vllm-podman:<name>/<name>`: one model per server, its served name. */
export function endpointId(name: string): string {
  return `vllm-podman:${name}/${name}`;
}

/**
 * Keeps a server's model endpoint (`services.endpoints`, for the gateway) in step with its
 * status: published while it starts, loads or runs (ready once running), withdrawn otherwise.
 */
export function syncEndpoint(endpoints: EndpointRegistry, state: ServerState): void {
  if (state.status === 'starting' || state.status === 'loading' || state.status === 'running') {
    const host = state.host === '0.0.0.0' ? '127.0.0.1' : state.host;
    endpoints.publish({ id: endpointId(state.name), protocol: 'openai', server: state.name, model: state.name, baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${state.port}`, ready: state.status === 'running' });
  } else {
    endpoints.withdraw(endpointId(state.name));
  }
}
