import path from 'node:path';
import { ConflictError } from '../errors.ts';

import type { ServingBackend, ServingRegistry } from '../../packages/plugin-api/src/services/serving.ts';

/** The plugin-facing serving types live in the plugin contract (`@backplane/plugin-api`). */
export type { ServingStatus, ServingStartSpec, ServingInstance, ServingBackend, ServingRegistry } from '../../packages/plugin-api/src/services/serving.ts';

/** The daemon's serving backends: one registry view per plugin, emptied as plugins stop. */
export interface ServingBackends {
  forPlugin(pluginId: string): ServingRegistry;
  /** Removes every backend `pluginId` registered. */
  releasePlugin(pluginId: string): void;
  list(): ServingBackend[];
}

export function createServingBackends(): ServingBackends {
  const backends = new Map<string, { backend: ServingBackend; owner: string }>();
  const get = (id: string) => backends.get(id)?.backend;
  const list = () => [...backends.values()].map((entry) => entry.backend);
  const roots = new Map<string, string[]>();
  const modelRoots = () => [...new Set([...roots.values()].flat())];
  return {
    forPlugin: (pluginId) => ({
      setModelRoots(dirs) {
        roots.set(pluginId, dirs.map((dir) => path.resolve(dir)));
      },
      modelRoots,
      register(backend) {
        const taken = backends.get(backend.id);
        if (taken) throw new ConflictError(`serving backend '${backend.id}' is already registered by plugin '${taken.owner}'`, { details: { backend: backend.id, owner: taken.owner } });
        backends.set(backend.id, { backend, owner: pluginId });
      },
      get,
      list,
    }),
    releasePlugin(pluginId) {
      for (const [id, entry] of backends) if (entry.owner === pluginId) backends.delete(id);
      roots.delete(pluginId);
    },
    list,
  };
}
