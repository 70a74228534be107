import type { PluginServices } from '../../core/plugin-api.ts';
import type { TritonConfig } from './config.ts';
import { ServerStore } from './server-store.ts';
import { TritonService } from './service.ts';
import { TritonClient } from './triton-client.ts';

/** The plugin's init: loads the registered servers, then probes them all on the scheduler. */
export async function initTriton(services: PluginServices<TritonConfig>): Promise<TritonService> {
  const { config, logger } = services;
  const store = new ServerStore(services.db);
  await store.load();
  const service = new TritonService({
    config,
    logger,
    store,
    client: new TritonClient({ http: services.http, timeoutMs: config.requestTimeoutMs }),
    pubsub: services.pubsub,
    // Feature checks: daemons older than these services still run the rest of the plugin.
    uploads: 'uploads' in services ? services.uploads : undefined,
    endpoints: 'endpoints' in services ? services.endpoints : undefined,
  });
  services.scheduler.schedule({
    id: 'probe',
    everyMs: config.probeIntervalMs,
    runOnStart: true,
    // Every call of a probe has its own timeout; a run over many slow servers takes batches of them.
    timeoutMs: 600_000,
    run: () => service.probeAll(),
  });
  return service;
}
