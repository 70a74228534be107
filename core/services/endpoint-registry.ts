import { ConflictError } from '../errors.ts';
import type { EndpointRegistry, ModelEndpoint } from '../../packages/plugin-api/src/services/endpoints.ts';

export type { EndpointRegistry, ModelEndpoint, EndpointProtocol } from '../../packages/plugin-api/src/services/endpoints.ts';

/** The daemon's model endpoints: one registry view per plugin, emptied as plugins stop. */
export interface ModelEndpoints {
  forPlugin(pluginId: string): EndpointRegistry;
  /** Withdraws every endpoint `pluginId` published. */
  releasePlugin(pluginId: string): void;
  list(): ModelEndpoint[];
}

export function createModelEndpoints(): ModelEndpoints {
  const endpoints = new Map<string, ModelEndpoint>();
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  const list = () => [...endpoints.values()].map((e) => ({ ...e }));
  const get = (id: string) => {
    const found = endpoints.get(id);
    return found ? { ...found } : undefined;
  };
  return {
    forPlugin: (pluginId) => ({
      publish(endpoint) {
        const taken = endpoints.get(endpoint.id);
        if (taken && taken.plugin !== pluginId) throw new ConflictError(`model endpoint '${endpoint.id}' is published by plugin '${taken.plugin}'`, { details: { endpoint: endpoint.id, owner: taken.plugin } });
        endpoints.set(endpoint.id, { ...endpoint, plugin: pluginId });
        changed();
      },
      withdraw(id) {
        if (endpoints.get(id)?.plugin !== pluginId) return;
        endpoints.delete(id);
        changed();
      },
      list,
      get,
      onChange(listener) {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    }),
    releasePlugin(pluginId) {
      let any = false;
      for (const [id, e] of endpoints) {
        if (e.plugin === pluginId) {
          endpoints.delete(id);
          any = true;
        }
      }
      if (any) changed();
    },
    list,
  };
}
